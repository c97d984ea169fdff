/* Known-answer tests for lib/crypto (OpenSSL paths and the internal MD4/RC4
 * fallbacks). Vectors: FIPS 180-2 examples, RFC 1320 (MD4), RFC 1321 (MD5),
 * RFC 2202 (HMAC-MD5), RFC 4231 (HMAC-SHA256), RFC 4493 (AES-CMAC), the GCM
 * specification's test cases (McGrew/Viega, as in NIST's GCM validation),
 * NIST CAVS gcmEncryptExtIV128 (GMAC), RFC 6229 (RC4), MS-SMB2 blog
 * "SMB 3.1.1 Encryption in Windows 10" Appendix A.2 (AES-128-CCM, 11-byte
 * nonce, 16-byte tag). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_internal.h"
#include "smbwire/errors.h"
#include "testutil.h"

static crypto_iov iov_str(const char *s)
{
    crypto_iov v = {s, strlen(s)};
    return v;
}

/* ------------------------------------------------------------------------ */

START_TEST(test_sha256)
{
    uint8_t out[32];
    crypto_iov v = iov_str("abc");
    ck_assert_int_eq(crypto_sha256(&v, 1, out), 0);
    it_assert_hex_len(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 32);

    /* Two-block message, fed as three pieces. */
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    crypto_iov parts[3] = {{m, 5}, {m + 5, 0}, {m + 5, strlen(m) - 5}};
    ck_assert_int_eq(crypto_sha256(parts, 3, out), 0);
    it_assert_hex_len(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", 32);

    ck_assert_int_eq(crypto_sha256(NULL, 0, out), 0);
    it_assert_hex_len(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 32);

    crypto_iov bad = {NULL, 3};
    ck_assert_int_eq(crypto_sha256(&bad, 1, out), SMBW_EINVAL);
    ck_assert_int_eq(crypto_sha256(&v, -1, out), SMBW_EINVAL);
}
END_TEST

START_TEST(test_sha512)
{
    uint8_t out[64];
    crypto_iov v = iov_str("abc");
    ck_assert_int_eq(crypto_sha512(&v, 1, out), 0);
    it_assert_hex_len(out,
                      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                      "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
                      64);
    ck_assert_int_eq(crypto_sha512(NULL, 0, out), 0);
    it_assert_hex_len(out,
                      "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
                      "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
                      64);
}
END_TEST

static const struct {
    const char *in, *md4;
} md4_kat[] = {
    /* RFC 1320 A.5 */
    {"", "31d6cfe0d16ae931b73c59d7e0c089c0"},
    {"a", "bde52cb31de33e46245e05fbdbd6fb24"},
    {"abc", "a448017aaf21d8525fc10ae87aa6729d"},
    {"message digest", "d9130a8164549fe818874806e1c7014b"},
    {"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"},
    {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
     "043f8582f241db351ce627e153e7f0e4"},
    {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
     "e33b4ddc9c38f2199c3e7b164fcc0536"},
};

START_TEST(test_md4_default)
{
    uint8_t out[16];
    const char *in = md4_kat[_i].in;
    ck_assert_int_eq(crypto_md4(in, strlen(in), out), 0);
    it_assert_hex_len(out, md4_kat[_i].md4, 16);
}
END_TEST

START_TEST(test_md4_internal)
{
    uint8_t out[16];
    const char *in = md4_kat[_i].in;
    ck_assert_int_eq(crypto_md4_internal(in, strlen(in), out), 0);
    it_assert_hex_len(out, md4_kat[_i].md4, 16);
}
END_TEST

START_TEST(test_md4_paths_agree)
{
    /* Every length around the padding boundaries, both implementations. */
    uint8_t buf[200], a[16], b[16];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    for (size_t n = 0; n <= sizeof buf; n++) {
        ck_assert_int_eq(crypto_md4(buf, n, a), 0);
        ck_assert_int_eq(crypto_md4_internal(buf, n, b), 0);
        ck_assert_mem_eq(a, b, 16);
    }
}
END_TEST

START_TEST(test_legacy_provider)
{
    /* OpenSSL 3's legacy provider is expected to be found and used; run with
     * SMBW_TEST_NO_LEGACY=1 (and e.g. OPENSSL_MODULES=/nonexistent) to check
     * that everything passes on the internal fallback instead. */
    int want = getenv("SMBW_TEST_NO_LEGACY") ? 0 : 1;
    ck_assert_int_eq(crypto_legacy_available(), want);
}
END_TEST

START_TEST(test_md5)
{
    uint8_t out[16];
    crypto_iov v = iov_str("message digest");
    ck_assert_int_eq(crypto_md5(&v, 1, out), 0);
    it_assert_hex_len(out, "f96b697d7cb7938d525a2f31aaf161d0", 16);
    ck_assert_int_eq(crypto_md5(NULL, 0, out), 0);
    it_assert_hex_len(out, "d41d8cd98f00b204e9800998ecf8427e", 16);
}
END_TEST

START_TEST(test_hmac_md5)
{
    uint8_t out[16], key[80];
    /* RFC 2202 test cases 1, 2, 6 */
    memset(key, 0x0b, 16);
    crypto_iov v = iov_str("Hi There");
    ck_assert_int_eq(crypto_hmac_md5(key, 16, &v, 1, out), 0);
    it_assert_hex_len(out, "9294727a3638bb1c13f48ef8158bfc9d", 16);

    crypto_iov w[2] = {iov_str("what do ya want "), iov_str("for nothing?")};
    ck_assert_int_eq(crypto_hmac_md5("Jefe", 4, w, 2, out), 0);
    it_assert_hex_len(out, "750c783e6ab0b503eaa86e310a5db738", 16);

    memset(key, 0xaa, 80);
    v = iov_str("Test Using Larger Than Block-Size Key - Hash Key First");
    ck_assert_int_eq(crypto_hmac_md5(key, 80, &v, 1, out), 0);
    it_assert_hex_len(out, "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd", 16);
}
END_TEST

START_TEST(test_hmac_sha256)
{
    uint8_t out[32], key[131];
    /* RFC 4231 test cases 1, 2, 6 */
    memset(key, 0x0b, 20);
    crypto_iov v = iov_str("Hi There");
    ck_assert_int_eq(crypto_hmac_sha256(key, 20, &v, 1, out), 0);
    it_assert_hex_len(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", 32);

    v = iov_str("what do ya want for nothing?");
    ck_assert_int_eq(crypto_hmac_sha256("Jefe", 4, &v, 1, out), 0);
    it_assert_hex_len(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", 32);

    memset(key, 0xaa, 131);
    v = iov_str("Test Using Larger Than Block-Size Key - Hash Key First");
    ck_assert_int_eq(crypto_hmac_sha256(key, 131, &v, 1, out), 0);
    it_assert_hex_len(out, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", 32);
}
END_TEST

START_TEST(test_aes_cmac)
{
    /* RFC 4493 section 4, all four examples. */
    uint8_t key[16], msg[64], out[16];
    it_unhex("2b7e151628aed2a6abf7158809cf4f3c", key, 16);
    it_unhex("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51"
             "30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710",
             msg, 64);
    static const struct {
        size_t len;
        const char *mac;
    } ex[4] = {
        {0, "bb1d6929e95937287fa37d129b756746"},
        {16, "070a16b46b4d4144f79bdd9dd04a287c"},
        {40, "dfa66747de9ae63030ca32611497c827"},
        {64, "51f0bebf7e3b9d92fc49741779363cfe"},
    };
    for (int i = 0; i < 4; i++) {
        crypto_iov v = {msg, ex[i].len};
        ck_assert_int_eq(crypto_aes_cmac(key, &v, 1, out), 0);
        it_assert_hex_len(out, ex[i].mac, 16);
    }
    /* Example 4 in uneven pieces. */
    crypto_iov parts[4] = {{msg, 1}, {msg + 1, 15}, {msg + 16, 17}, {msg + 33, 31}};
    ck_assert_int_eq(crypto_aes_cmac(key, parts, 4, out), 0);
    it_assert_hex_len(out, "51f0bebf7e3b9d92fc49741779363cfe", 16);
}
END_TEST

/* GCM spec test case 4 (AES-128) and 16 (AES-256): shared IV, P and A. */
static const char *gcm_iv = "cafebabefacedbaddecaf888";
static const char *gcm_p = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                           "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
static const char *gcm_a = "feedfacedeadbeeffeedfacedeadbeefabaddad2";

START_TEST(test_aes_gcm_kat)
{
    uint8_t key[32], iv[12], buf[60], aad[20], tag[16];
    it_unhex(gcm_iv, iv, 12);
    it_unhex(gcm_a, aad, 20);

    /* Test case 4, AES-128 */
    it_unhex("feffe9928665731c6d6a8f9467308308", key, 16);
    it_unhex(gcm_p, buf, 60);
    ck_assert_int_eq(crypto_aead_encrypt(CRYPTO_AES_128_GCM, key, 16, iv, aad, 20, buf, 60, tag),
                     0);
    it_assert_hex_len(buf,
                      "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
                      "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
                      60);
    it_assert_hex_len(tag, "5bc94fbc3221a5db94fae95ae7121a47", 16);
    ck_assert_int_eq(crypto_aead_decrypt(CRYPTO_AES_128_GCM, key, 16, iv, aad, 20, buf, 60, tag),
                     0);
    it_assert_hex_len(buf, gcm_p, 60);

    /* Test case 16, AES-256 */
    it_unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", key, 32);
    ck_assert_int_eq(crypto_aead_encrypt(CRYPTO_AES_256_GCM, key, 32, iv, aad, 20, buf, 60, tag),
                     0);
    it_assert_hex_len(buf,
                      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
                      60);
    it_assert_hex_len(tag, "76fc6ece0f4e1768cddf8853bb2d551b", 16);

    /* Test case 2: zero key and IV, one zero block, no AAD */
    memset(key, 0, 16);
    memset(iv, 0, 12);
    memset(buf, 0, 16);
    ck_assert_int_eq(crypto_aead_encrypt(CRYPTO_AES_128_GCM, key, 16, iv, NULL, 0, buf, 16, tag),
                     0);
    it_assert_hex_len(buf, "0388dace60b6a392f328c2b971b2fe78", 16);
    it_assert_hex_len(tag, "ab6e47d42cec13bdf53a67b21257bddf", 16);
}
END_TEST

/* GCM decryption in steps (crypto_aead_dec_*): test cases 4 and 16 in
 * pieces of odd lengths, each into an output of its own, give the
 * plaintext; a wrong tag fails at final; CCM and bad arguments refused. */
START_TEST(test_aes_gcm_steps)
{
    uint8_t key[32], iv[12], ct[60], aad[20], tag[16], pt[60], want[60];
    it_unhex(gcm_iv, iv, 12);
    it_unhex(gcm_a, aad, 20);
    it_unhex(gcm_p, want, 60);
    static const size_t cuts[][3] = {{7, 33, 20}, {0, 60, 0}, {16, 0, 44}, {59, 1, 0}};
    for (int k = 0; k < 2; k++) {
        int alg = k ? CRYPTO_AES_256_GCM : CRYPTO_AES_128_GCM;
        size_t klen = k ? 32 : 16;
        it_unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", key, 32);
        memcpy(ct, want, 60);
        ck_assert_int_eq(crypto_aead_encrypt(alg, key, klen, iv, aad, 20, ct, 60, tag), 0);
        for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
            uint8_t part[3][60];
            crypto_aead_dec *d = NULL;
            ck_assert_int_eq(crypto_aead_dec_new(&d, alg, key, klen, iv, aad, 20), 0);
            size_t at = 0;
            for (int i = 0; i < 3; i++) {
                ck_assert_int_eq(crypto_aead_dec_update(d, ct + at, part[i], cuts[c][i]), 0);
                memcpy(pt + at, part[i], cuts[c][i]);
                at += cuts[c][i];
            }
            ck_assert_int_eq(crypto_aead_dec_final(d, tag), 0);
            crypto_aead_dec_free(d);
            ck_assert_mem_eq(pt, want, 60);
        }
        /* in place, then a wrong tag */
        crypto_aead_dec *d = NULL;
        ck_assert_int_eq(crypto_aead_dec_new(&d, alg, key, klen, iv, aad, 20), 0);
        ck_assert_int_eq(crypto_aead_dec_update(d, ct, ct, 60), 0);
        tag[3] ^= 1;
        ck_assert_int_eq(crypto_aead_dec_final(d, tag), SMBW_ECRYPTO);
        crypto_aead_dec_free(d);
    }
    crypto_aead_dec *d = NULL;
    ck_assert_int_eq(crypto_aead_dec_new(&d, CRYPTO_AES_128_CCM, key, 16, iv, NULL, 0),
                     SMBW_ENOTSUP);
    ck_assert_int_eq(crypto_aead_dec_new(&d, CRYPTO_AES_256_CCM, key, 32, iv, NULL, 0),
                     SMBW_ENOTSUP);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(crypto_aead_dec_new(&d, CRYPTO_AES_128_GCM, key, 32, iv, NULL, 0),
                     SMBW_EINVAL);
    ck_assert_int_eq(crypto_aead_dec_new(NULL, CRYPTO_AES_128_GCM, key, 16, iv, NULL, 0),
                     SMBW_EINVAL);
    ck_assert_int_eq(crypto_aead_dec_new(&d, CRYPTO_AES_128_GCM, key, 16, NULL, NULL, 0),
                     SMBW_EINVAL);
    ck_assert_int_eq(crypto_aead_dec_new(&d, CRYPTO_AES_128_GCM, key, 16, iv, NULL, 0), 0);
    ck_assert_int_eq(crypto_aead_dec_update(d, NULL, pt, 5), SMBW_EINVAL);
    ck_assert_int_eq(crypto_aead_dec_update(NULL, ct, pt, 5), SMBW_EINVAL);
    ck_assert_int_eq(crypto_aead_dec_final(d, NULL), SMBW_EINVAL);
    ck_assert_int_eq(crypto_aead_dec_final(NULL, tag), SMBW_EINVAL);
    crypto_aead_dec_free(d);
    crypto_aead_dec_free(NULL);
}
END_TEST

START_TEST(test_aes_gcm_reject)
{
    uint8_t key[16], iv[12], buf[60], aad[20], tag[16];
    it_unhex("feffe9928665731c6d6a8f9467308308", key, 16);
    it_unhex(gcm_iv, iv, 12);
    it_unhex(gcm_a, aad, 20);
    it_unhex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
             "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
             buf, 60);
    it_unhex("5bc94fbc3221a5db94fae95ae7121a47", tag, 16);

    uint8_t b2[60], t2[16], a2[20];
    memcpy(t2, tag, 16);
    t2[15] ^= 1;
    memcpy(b2, buf, 60);
    ck_assert_int_eq(crypto_aead_decrypt(CRYPTO_AES_128_GCM, key, 16, iv, aad, 20, b2, 60, t2),
                     SMBW_ECRYPTO);
    memcpy(b2, buf, 60);
    b2[30] ^= 0x80;
    ck_assert_int_eq(crypto_aead_decrypt(CRYPTO_AES_128_GCM, key, 16, iv, aad, 20, b2, 60, tag),
                     SMBW_ECRYPTO);
    memcpy(b2, buf, 60);
    memcpy(a2, aad, 20);
    a2[0] ^= 1;
    ck_assert_int_eq(crypto_aead_decrypt(CRYPTO_AES_128_GCM, key, 16, iv, a2, 20, b2, 60, tag),
                     SMBW_ECRYPTO);
    /* And the untouched one still passes. */
    memcpy(b2, buf, 60);
    ck_assert_int_eq(crypto_aead_decrypt(CRYPTO_AES_128_GCM, key, 16, iv, aad, 20, b2, 60, tag), 0);
}
END_TEST

/* MS "SMB 3.1.1 Encryption in Windows 10", Appendix A.2, first WRITE request:
 * the AAD is the transform header from its Nonce field on. */
static const char *ccm_key = "DFAAA31AAE40A2485D47AC4DF09FDA1D";
static const char *ccm_nonce = "9F6F1EAAD7E9F24AACD38F";
static const char *ccm_aad = "9F6F1EAAD7E9F24AACD38F0000000000 87000000 0000 0100 2100000000100000";
static const char *ccm_plain =
    "FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000"
    "21000000001000000000000000000000000000000000000031007000170000000000000000000000"
    "0500000004000000010000000400000000000000000000007000000000000000536D623320656E63"
    "72797074696F6E2074657374696E67";
static const char *ccm_cipher =
    "56A74778199A9D2B6E9C3A376FD88D27680694FED253A313BEB07381AE8689F973ACDB8D716E4477"
    "803BCE53A92E1B81FA3E965AD9AF2C89C08CE66A344664453B8FC88118EDC9814CF58E92AA465E6E"
    "FB09958A9FDAD96FBD55B36A710C30D5E7C64AD7B9449F9F17EDD024FE8BA79154F340A82740D1D5"
    "180C69B0A2DE6A4BA893BD55D3210E";
static const char *ccm_tag = "E89551D666DAB8993488F5A97103116C";

START_TEST(test_aes_ccm_kat)
{
    uint8_t key[16], nonce[11], aad[32], buf[0x87], tag[16];
    it_unhex(ccm_key, key, 16);
    it_unhex(ccm_nonce, nonce, 11);
    ck_assert_uint_eq(it_unhex(ccm_aad, aad, 32), 32);
    ck_assert_uint_eq(it_unhex(ccm_plain, buf, sizeof buf), 0x87);
    ck_assert_int_eq(
        crypto_aead_encrypt(CRYPTO_AES_128_CCM, key, 16, nonce, aad, 32, buf, 0x87, tag), 0);
    it_assert_hex_len(buf, ccm_cipher, 0x87);
    it_assert_hex_len(tag, ccm_tag, 16);
    ck_assert_int_eq(
        crypto_aead_decrypt(CRYPTO_AES_128_CCM, key, 16, nonce, aad, 32, buf, 0x87, tag), 0);
    it_assert_hex_len(buf, ccm_plain, 0x87);
}
END_TEST

START_TEST(test_aes_ccm_reject)
{
    uint8_t key[16], nonce[11], aad[32], buf[0x87], tag[16];
    it_unhex(ccm_key, key, 16);
    it_unhex(ccm_nonce, nonce, 11);
    it_unhex(ccm_aad, aad, 32);
    it_unhex(ccm_tag, tag, 16);

    it_unhex(ccm_cipher, buf, sizeof buf);
    tag[0] ^= 0x40;
    ck_assert_int_eq(
        crypto_aead_decrypt(CRYPTO_AES_128_CCM, key, 16, nonce, aad, 32, buf, 0x87, tag),
        SMBW_ECRYPTO);
    tag[0] ^= 0x40;
    it_unhex(ccm_cipher, buf, sizeof buf);
    buf[0x86] ^= 1;
    ck_assert_int_eq(
        crypto_aead_decrypt(CRYPTO_AES_128_CCM, key, 16, nonce, aad, 32, buf, 0x87, tag),
        SMBW_ECRYPTO);
    it_unhex(ccm_cipher, buf, sizeof buf);
    aad[31] ^= 1;
    ck_assert_int_eq(
        crypto_aead_decrypt(CRYPTO_AES_128_CCM, key, 16, nonce, aad, 32, buf, 0x87, tag),
        SMBW_ECRYPTO);
    aad[31] ^= 1;
    it_unhex(ccm_cipher, buf, sizeof buf);
    ck_assert_int_eq(
        crypto_aead_decrypt(CRYPTO_AES_128_CCM, key, 16, nonce, aad, 32, buf, 0x87, tag), 0);
}
END_TEST

START_TEST(test_aead_roundtrip_all)
{
    static const int algs[4] = {CRYPTO_AES_128_CCM, CRYPTO_AES_128_GCM, CRYPTO_AES_256_CCM,
                                CRYPTO_AES_256_GCM};
    uint8_t key[32], nonce[12], aad[32], plain[1000], buf[1000], tag[16], tag2[16];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0x40 + i), aad[i] = (uint8_t)i;
    for (int i = 0; i < 12; i++)
        nonce[i] = (uint8_t)(0xA0 + i);
    for (size_t i = 0; i < sizeof plain; i++)
        plain[i] = (uint8_t)(i * 13);
    for (int a = 0; a < 4; a++) {
        int alg = algs[a];
        size_t kl = alg >= CRYPTO_AES_256_CCM ? 32 : 16;
        static const size_t lens[] = {1, 15, 16, 17, 999, 1000};
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            size_t n = lens[l];
            memcpy(buf, plain, n);
            ck_assert_int_eq(crypto_aead_encrypt(alg, key, kl, nonce, aad, 32, buf, n, tag), 0);
            ck_assert(memcmp(buf, plain, n) != 0);
            ck_assert_int_eq(crypto_aead_decrypt(alg, key, kl, nonce, aad, 32, buf, n, tag), 0);
            ck_assert_mem_eq(buf, plain, n);
            /* A flipped ciphertext bit fails. */
            ck_assert_int_eq(crypto_aead_encrypt(alg, key, kl, nonce, aad, 32, buf, n, tag), 0);
            buf[n / 2] ^= 4;
            ck_assert_int_eq(crypto_aead_decrypt(alg, key, kl, nonce, aad, 32, buf, n, tag),
                             SMBW_ECRYPTO);
        }
        /* The other key size of the same mode gives a different tag. */
        memcpy(buf, plain, 64);
        ck_assert_int_eq(crypto_aead_encrypt(alg, key, kl, nonce, aad, 32, buf, 64, tag), 0);
        memcpy(buf, plain, 64);
        int other = alg >= CRYPTO_AES_256_CCM ? alg - 2 : alg + 2;
        size_t okl = kl == 16 ? 32 : 16;
        ck_assert_int_eq(crypto_aead_encrypt(other, key, okl, nonce, aad, 32, buf, 64, tag2), 0);
        ck_assert(memcmp(tag, tag2, 16) != 0);
        /* Wrong key length for the algorithm. */
        ck_assert_int_eq(crypto_aead_encrypt(alg, key, okl, nonce, aad, 32, buf, 64, tag),
                         SMBW_EINVAL);
    }
    /* Nothing to encrypt: the tag still authenticates the AAD. Expected tags
     * computed independently (pycryptodomex 3.11, same key, nonce and AAD;
     * CCM with an 11-byte nonce). OpenSSL 3.0.x releases differ in how an
     * empty CCM payload must be fed, so this pins the value, not a round trip. */
    static const char *const empty_tags[4] = {
        "c6d059aaf5b49ead93af8d06ebb0fb5d", "bf228002e6a5754acccca748fd452cd4",
        "76c6003d5ff4f3ee9f7ec7b5ef81fb8d", "c635863062ce9fc3ca861238b074eab2"};
    for (int a = 0; a < 4; a++) {
        int alg = algs[a];
        size_t kl = alg >= CRYPTO_AES_256_CCM ? 32 : 16;
        uint8_t want[16];
        it_unhex(empty_tags[a], want, sizeof want);
        ck_assert_int_eq(crypto_aead_encrypt(alg, key, kl, nonce, aad, 32, NULL, 0, tag), 0);
        ck_assert_mem_eq(tag, want, 16);
        ck_assert_int_eq(crypto_aead_decrypt(alg, key, kl, nonce, aad, 32, NULL, 0, tag), 0);
        tag[3] ^= 1;
        ck_assert_int_eq(crypto_aead_decrypt(alg, key, kl, nonce, aad, 32, NULL, 0, tag),
                         SMBW_ECRYPTO);
    }
    ck_assert_int_eq(crypto_aead_encrypt(5, key, 16, nonce, aad, 32, buf, 16, tag), SMBW_EINVAL);
    ck_assert_int_eq(crypto_aead_encrypt(0, key, 16, nonce, aad, 32, buf, 16, tag), SMBW_EINVAL);
}
END_TEST

START_TEST(test_aes_gmac)
{
    uint8_t key[32], nonce[12], aad[16], out[16];
    /* GCM test case 1: zero key/IV, nothing at all */
    memset(key, 0, 16);
    memset(nonce, 0, 12);
    ck_assert_int_eq(crypto_aes_gmac(key, 16, nonce, NULL, 0, out), 0);
    it_assert_hex_len(out, "58e2fccefa7e3061367f1d57a4e7455a", 16);

    /* NIST CAVS gcmEncryptExtIV128, PTlen=0 AADlen=128, Count 0 */
    it_unhex("77be63708971c4e240d1cb79e8d77feb", key, 16);
    it_unhex("e0e00f19fed7ba0136a797f3", nonce, 12);
    it_unhex("7a43ec1d9c0a5a78a0b16533a6213cab", aad, 16);
    crypto_iov v = {aad, 16};
    ck_assert_int_eq(crypto_aes_gmac(key, 16, nonce, &v, 1, out), 0);
    it_assert_hex_len(out, "209fcc8d3675ed938e9c7166709dd946", 16);
    crypto_iov parts[3] = {{aad, 3}, {aad + 3, 0}, {aad + 3, 13}};
    ck_assert_int_eq(crypto_aes_gmac(key, 16, nonce, parts, 3, out), 0);
    it_assert_hex_len(out, "209fcc8d3675ed938e9c7166709dd946", 16);

    /* GMAC equals the tag of GCM with the data as AAD and nothing to encrypt,
     * for AES-256 too (GCM test case 16 key). */
    uint8_t big[100], tag[16];
    for (int i = 0; i < 100; i++)
        big[i] = (uint8_t)(i ^ 0x5a);
    it_unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", key, 32);
    crypto_iov b = {big, 100};
    ck_assert_int_eq(crypto_aes_gmac(key, 32, nonce, &b, 1, out), 0);
    ck_assert_int_eq(
        crypto_aead_encrypt(CRYPTO_AES_256_GCM, key, 32, nonce, big, 100, NULL, 0, tag), 0);
    ck_assert_mem_eq(out, tag, 16);
    big[99] ^= 1;
    ck_assert_int_eq(crypto_aes_gmac(key, 32, nonce, &b, 1, tag), 0);
    ck_assert(memcmp(out, tag, 16) != 0);

    ck_assert_int_eq(crypto_aes_gmac(key, 24, nonce, &b, 1, out), SMBW_EINVAL);
}
END_TEST

/* A GMAC keyed once gives, message after message, the tags of one keyed
 * per message: the nonce of each starts it anew (nothing of the previous
 * message's AAD or tag carries over, also after a failed call). */
START_TEST(test_gmac_keyed_once)
{
    uint8_t key[32], nonce[12], msg[300], want[16], got[16];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(7 * i + 3);
    for (int i = 0; i < 300; i++)
        msg[i] = (uint8_t)(i * 31 + 1);
    for (size_t kl = 16; kl <= 32; kl += 16) {
        crypto_gmac *gm = NULL;
        ck_assert_int_eq(crypto_gmac_new(&gm, key, kl), 0);
        ck_assert_ptr_nonnull(gm);
        for (int m = 0; m < 6; m++) {
            memset(nonce, 0, 12);
            nonce[0] = (uint8_t)m;
            nonce[8] = (uint8_t)(m & 1);
            crypto_iov v[2] = {{msg, (size_t)(17 * m)}, {msg + 17 * m, (size_t)(40 + m)}};
            ck_assert_int_eq(crypto_aes_gmac(key, kl, nonce, v, 2, want), 0);
            ck_assert_int_eq(crypto_gmac_tag(gm, nonce, v, 2, got), 0);
            ck_assert_mem_eq(got, want, 16);
            /* a bad call in between changes nothing */
            ck_assert_int_eq(crypto_gmac_tag(gm, nonce, NULL, 1, got), SMBW_EINVAL);
        }
        /* the NIST vector above, through the keyed context, for AES-128 */
        crypto_gmac_free(gm);
        gm = NULL;
    }
    uint8_t k[16], a[16], n[12];
    it_unhex("77be63708971c4e240d1cb79e8d77feb", k, 16);
    it_unhex("e0e00f19fed7ba0136a797f3", n, 12);
    it_unhex("7a43ec1d9c0a5a78a0b16533a6213cab", a, 16);
    crypto_gmac *gm = NULL;
    ck_assert_int_eq(crypto_gmac_new(&gm, k, 16), 0);
    crypto_iov v = {a, 16};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(crypto_gmac_tag(gm, n, &v, 1, got), 0);
        it_assert_hex_len(got, "209fcc8d3675ed938e9c7166709dd946", 16);
    }
    crypto_gmac_free(gm);
    crypto_gmac_free(NULL);
    ck_assert_int_eq(crypto_gmac_new(&gm, k, 24), SMBW_EINVAL);
    ck_assert_ptr_null(gm);
}
END_TEST

static const struct {
    const char *key, *plain, *cipher;
} rc4_kat[] = {
    /* RFC 6229: 40-bit and 128-bit keys, keystream at offset 0 */
    {"0102030405", "00000000000000000000000000000000", "b2396305f03dc027ccc3524a0a1118a8"},
    {"0102030405060708090a0b0c0d0e0f10", "00000000000000000000000000000000",
     "9ac7cc9a609d1ef7b2932899cde41b97"},
    /* The classic "Key"/"Plaintext" example */
    {"4b6579", "506c61696e74657874", "bbf316e8d940af0ad3"},
};

static void rc4_check(int internal, int i)
{
    uint8_t key[32], in[32], out[32];
    size_t kl = it_unhex(rc4_kat[i].key, key, sizeof key);
    size_t n = it_unhex(rc4_kat[i].plain, in, sizeof in);
    crypto_rc4 *c = NULL;
    ck_assert_int_eq(internal ? crypto_rc4_new_internal(&c, key, kl) : crypto_rc4_new(&c, key, kl),
                     0);
    /* In two calls, the second in place: the stream must continue. */
    ck_assert_int_eq(crypto_rc4_update(c, in, out, 5), 0);
    memcpy(out + 5, in + 5, n - 5);
    ck_assert_int_eq(crypto_rc4_update(c, out + 5, out + 5, n - 5), 0);
    it_assert_hex_len(out, rc4_kat[i].cipher, n);
    crypto_rc4_free(c);
}

START_TEST(test_rc4_default)
{
    rc4_check(0, _i);
}
END_TEST

START_TEST(test_rc4_internal)
{
    rc4_check(1, _i);
}
END_TEST

START_TEST(test_rc4_paths_agree)
{
    uint8_t key[16], in[3000], a[3000], b[3000];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)(i * 31 + 1);
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)i;
    crypto_rc4 *x = NULL, *y = NULL;
    ck_assert_int_eq(crypto_rc4_new(&x, key, 16), 0);
    ck_assert_int_eq(crypto_rc4_new_internal(&y, key, 16), 0);
    ck_assert_int_eq(crypto_rc4_update(x, in, a, sizeof in), 0);
    ck_assert_int_eq(crypto_rc4_update(y, in, b, 1000), 0);
    ck_assert_int_eq(crypto_rc4_update(y, in + 1000, b + 1000, 2000), 0);
    ck_assert_mem_eq(a, b, sizeof a);
    crypto_rc4_free(x);
    crypto_rc4_free(y);

    ck_assert_int_eq(crypto_rc4_new(&x, key, 0), SMBW_EINVAL);
    ck_assert_ptr_null(x);
    crypto_rc4_free(NULL);
}
END_TEST

START_TEST(test_kdf)
{
    /* MS blog "SMB 2 and SMB 3 security in Windows 10", SMB 3.0 example:
     * SigningKey = KDF(SessionKey, "SMB2AESCMAC\0", "SmbSign\0"). */
    uint8_t ki[16], out[32], out32[32];
    it_unhex("7CD451825D0450D235424E44BA6E78CC", ki, 16);
    ck_assert_int_eq(crypto_kdf_ctr_hmac_sha256(ki, 16, "SMB2AESCMAC", 12, "SmbSign", 8, out, 16),
                     0);
    it_assert_hex_len(out, "0B7E9C5CAC36C0F6EA9AB275298CEDCE", 16);

    /* L is part of the PRF input: a 32-byte output does not start with the
     * 16-byte one, and equals HMAC(i=1 || label || 0 || context || L=256). */
    ck_assert_int_eq(crypto_kdf_ctr_hmac_sha256(ki, 16, "SMB2AESCMAC", 12, "SmbSign", 8, out32, 32),
                     0);
    ck_assert(memcmp(out32, out, 16) != 0);
    static const uint8_t one[4] = {0, 0, 0, 1}, l256[4] = {0, 0, 1, 0}, zero[1] = {0};
    crypto_iov v[5] = {{one, 4}, {"SMB2AESCMAC", 12}, {zero, 1}, {"SmbSign", 8}, {l256, 4}};
    uint8_t mac[32];
    ck_assert_int_eq(crypto_hmac_sha256(ki, 16, v, 5, mac), 0);
    ck_assert_mem_eq(out32, mac, 32);

    ck_assert_int_eq(crypto_kdf_ctr_hmac_sha256(ki, 16, "x", 1, "y", 1, NULL, 16), SMBW_EINVAL);
    ck_assert_int_eq(crypto_kdf_ctr_hmac_sha256(ki, 16, "x", 1, "y", 1, out, 0), SMBW_EINVAL);
}
END_TEST

START_TEST(test_misc)
{
    uint8_t a[64], b[64];
    memset(a, 0x11, sizeof a);
    memcpy(b, a, sizeof b);
    ck_assert_int_eq(crypto_memeq(a, b, 64), 1);
    b[63] ^= 1;
    ck_assert_int_eq(crypto_memeq(a, b, 64), 0);
    ck_assert_int_eq(crypto_memeq(a, b, 63), 1);

    uint8_t r1[32] = {0}, r2[32] = {0}, z[32] = {0};
    ck_assert_int_eq(crypto_random(r1, 32), 0);
    ck_assert_int_eq(crypto_random(r2, 32), 0);
    ck_assert(memcmp(r1, r2, 32) != 0);
    ck_assert(memcmp(r1, z, 32) != 0);
    ck_assert_int_eq(crypto_random(NULL, 0), 0);

    crypto_cleanse(r1, 32);
    ck_assert_mem_eq(r1, z, 32);
    crypto_cleanse(NULL, 0);
}
END_TEST

static Suite *crypto_suite(void)
{
    Suite *s = suite_create("crypto");
    TCase *tc = tcase_create("kat");
    tcase_add_test(tc, test_sha256);
    tcase_add_test(tc, test_sha512);
    tcase_add_loop_test(tc, test_md4_default, 0, (int)(sizeof md4_kat / sizeof md4_kat[0]));
    tcase_add_loop_test(tc, test_md4_internal, 0, (int)(sizeof md4_kat / sizeof md4_kat[0]));
    tcase_add_test(tc, test_md4_paths_agree);
    tcase_add_test(tc, test_legacy_provider);
    tcase_add_test(tc, test_md5);
    tcase_add_test(tc, test_hmac_md5);
    tcase_add_test(tc, test_hmac_sha256);
    tcase_add_test(tc, test_aes_cmac);
    tcase_add_test(tc, test_aes_gcm_kat);
    tcase_add_test(tc, test_aes_gcm_steps);
    tcase_add_test(tc, test_aes_gcm_reject);
    tcase_add_test(tc, test_aes_ccm_kat);
    tcase_add_test(tc, test_aes_ccm_reject);
    tcase_add_test(tc, test_aead_roundtrip_all);
    tcase_add_test(tc, test_aes_gmac);
    tcase_add_test(tc, test_gmac_keyed_once);
    tcase_add_loop_test(tc, test_rc4_default, 0, (int)(sizeof rc4_kat / sizeof rc4_kat[0]));
    tcase_add_loop_test(tc, test_rc4_internal, 0, (int)(sizeof rc4_kat / sizeof rc4_kat[0]));
    tcase_add_test(tc, test_rc4_paths_agree);
    tcase_add_test(tc, test_kdf);
    tcase_add_test(tc, test_misc);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(crypto_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
