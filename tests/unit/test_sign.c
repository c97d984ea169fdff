/* SMB2/SMB3 signing, key derivation and TRANSFORM_HEADER encryption.
 *
 * Known answers come from Microsoft's Open Specifications blog posts:
 *  [ANAT] "SMB 2 and SMB 3 security in Windows 10: the anatomy of signing and
 *         cryptographic keys", Appendix: key derivation examples (3.0 and
 *         3.1.1 multichannel, incl. the signed final SESSION_SETUP responses
 *         and the preauth integrity hash chain);
 *  [ENC]  "SMB 3.1.1 Encryption in Windows 10", Appendix A.1 (AES-128-GCM) and
 *         A.2 (AES-128-CCM): key derivation, signed SESSION_SETUP response,
 *         and WRITE/READ requests and responses encrypted and decrypted. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/sign.h"
#include "lib/crypto/crypto.h"
#include "lib/util/bytes.h"
#include "lib/wire/wire.h"
#include "smbwire/errors.h"
#include "testutil.h"
#include "tests/common/rawbytes.h"

/* ------------------------------------------------------------------------ */
/* Key derivation */

static const struct {
    const char *what;
    uint16_t dialect, cipher;
    const char *session_key, *preauth;
    const char *signing, *enc, *dec, *app;
} kd_kat[] = {
    {"[ANAT] 3.0 master", 0x0300, 1, "7CD451825D0450D235424E44BA6E78CC", NULL,
     "0B7E9C5CAC36C0F6EA9AB275298CEDCE", "FAD27796665B313EBB578F388632B4F7",
     "B0F0427F7CEB416D1D9DCC0CD4F99447", "BB23A4575AA26C721AF525AF15A87B4F"},
    /* Second channel: only its signing key is its own; the others repeat
     * what the master's key gives (asserted only for the signing key). */
    {"[ANAT] 3.0 binding", 0x0300, 1, "4E01A2B313BCF660CC250BEF021AEDE6", NULL,
     "BA1A17DBBFEC349BCA105563D598952F", NULL, NULL, NULL},
    {"[ANAT] 3.1.1 master", 0x0311, 2, "270E1BA896585EEB7AF3472D3B4C75A7",
     "0DD13628CC3ED218EF9DF9772D436D0887AB9814BFAE63A80AA845F36909DB79"
     "28622DDDAD522D9751640A459762C5A9D6BB084CBB3CE6BDADEF5D5BCE3C6C01",
     "73FE7A9A77BEF0BDE49C650D8CCB5F76", "629BCBC54422A0F572B97F45989B6073",
     "E2AF0DCEFAC68DA71A0DFBD0D1350D74", "6D7AD7954E9EC61E907B4D473DC178FF"},
    {"[ANAT] 3.1.1 binding", 0x0311, 2, "84B9DBB730116A8FA6E9889555C265F9",
     "EA3BF912B11CBFEC5B1889E8209614218687F82FA5294521AD3063425E49E88A"
     "10BD022124CE25123BC9111F52D9566BA88BF46344E6063DC5E3FF0389026F6C",
     "C962BCA1A9DD1697B030644199705431", NULL, NULL, NULL},
    {"[ENC] A.1 GCM", 0x0311, 2, "419FDDF34C1E001909D362AE7FB6AF79",
     "B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDB"
     "A7DB256BA2EA30E977F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770",
     "8765949DFEAEE105CE9118B45BE988F0", "A2F5E80E5D59103034F32E52F698E5EC",
     "748C50868C90F302962A5C35F5F9A8BF", "099D610789FBE82055B313601C3E8CC4"},
    {"[ENC] A.2 CCM", 0x0311, 1, "07B7F69C1E2581662DF6987E88F9E891",
     "DECF98A420718718F22090D3580FCC5E484BD310FA1268210C6E86335A8891E7"
     "67F5BCD99FA5A7859D665AD07A73EA94E1BCDB7CFA69A6962A28A244138340B1",
     "3DCC82C5795AE27F383242761078C59B", "DFAAA31AAE40A2485D47AC4DF09FDA1D",
     "95C544AEF6072680DA1CE49A68A97FA6", "7A2F0F73EC2D530879B2913BBFCE242F"},
};

START_TEST(test_derive_kat)
{
    uint8_t sk[32], pa[64];
    size_t skl = it_unhex(kd_kat[_i].session_key, sk, sizeof sk);
    if (kd_kat[_i].preauth)
        ck_assert_uint_eq(it_unhex(kd_kat[_i].preauth, pa, sizeof pa), 64);
    smb2_keys k;
    ck_assert_int_eq(smb2_derive_keys(kd_kat[_i].dialect, sk, skl, kd_kat[_i].preauth ? pa : NULL,
                                      kd_kat[_i].cipher, &k),
                     0);
    ck_assert_uint_eq(k.enc_len, 16);
    it_assert_hex_len(k.signing, kd_kat[_i].signing, 16);
    if (kd_kat[_i].enc) {
        it_assert_hex_len(k.enc, kd_kat[_i].enc, 16);
        it_assert_hex_len(k.dec, kd_kat[_i].dec, 16);
        it_assert_hex_len(k.app, kd_kat[_i].app, 16);
    }
}
END_TEST

START_TEST(test_derive_smb2)
{
    uint8_t sk[20];
    for (int i = 0; i < 20; i++)
        sk[i] = (uint8_t)(i + 1);
    smb2_keys k;
    /* 2.x: the session key itself, first 16 bytes. */
    ck_assert_int_eq(smb2_derive_keys(0x0210, sk, 20, NULL, 0, &k), 0);
    ck_assert_mem_eq(k.signing, sk, 16);
    ck_assert_uint_eq(k.enc_len, 0);
    /* Shorter keys are right-padded with zeros. */
    ck_assert_int_eq(smb2_derive_keys(0x0202, sk, 8, NULL, 0, &k), 0);
    ck_assert_mem_eq(k.signing, sk, 8);
    static const uint8_t zero[8];
    ck_assert_mem_eq(k.signing + 8, zero, 8);

    /* 3.0 with a short key: KDF over the padded 16 bytes. */
    uint8_t padded[16] = {0}, want[16];
    memcpy(padded, sk, 8);
    ck_assert_int_eq(smb2_derive_keys(0x0302, sk, 8, NULL, 1, &k), 0);
    ck_assert_int_eq(
        crypto_kdf_ctr_hmac_sha256(padded, 16, "SMB2AESCMAC", 12, "SmbSign", 8, want, 16), 0);
    ck_assert_mem_eq(k.signing, want, 16);

    ck_assert_int_eq(smb2_derive_keys(0x0311, sk, 16, NULL, 2, &k), SMBW_EINVAL);
    ck_assert_int_eq(smb2_derive_keys(0x0301, sk, 16, NULL, 1, &k), SMBW_EINVAL);
    ck_assert_int_eq(smb2_derive_keys(0x0300, sk, 0, NULL, 1, &k), SMBW_EINVAL);
    ck_assert_int_eq(smb2_derive_keys(0x0300, NULL, 16, NULL, 1, &k), SMBW_EINVAL);
}
END_TEST

START_TEST(test_derive_aes256)
{
    /* MS-SMB2 3.2.5.3.1: with AES-256-CCM/GCM the cipher keys are 32 bytes
     * (L = 256) from the full session key; signing/app keys stay on the
     * 16-byte Session.SessionKey. */
    uint8_t full[32], pa[64], want[32];
    for (int i = 0; i < 32; i++)
        full[i] = (uint8_t)(0xC0 ^ i);
    for (int i = 0; i < 64; i++)
        pa[i] = (uint8_t)(i * 3);
    for (uint16_t cipher = 3; cipher <= 4; cipher++) {
        smb2_keys k;
        ck_assert_int_eq(smb2_derive_keys(0x0311, full, 32, pa, cipher, &k), 0);
        ck_assert_uint_eq(k.enc_len, 32);
        ck_assert_int_eq(
            crypto_kdf_ctr_hmac_sha256(full, 32, "SMBC2SCipherKey", 16, pa, 64, want, 32), 0);
        ck_assert_mem_eq(k.enc, want, 32);
        ck_assert_int_eq(
            crypto_kdf_ctr_hmac_sha256(full, 32, "SMBS2CCipherKey", 16, pa, 64, want, 32), 0);
        ck_assert_mem_eq(k.dec, want, 32);
        ck_assert_int_eq(
            crypto_kdf_ctr_hmac_sha256(full, 16, "SMBSigningKey", 14, pa, 64, want, 16), 0);
        ck_assert_mem_eq(k.signing, want, 16);
        ck_assert_int_eq(crypto_kdf_ctr_hmac_sha256(full, 16, "SMBAppKey", 10, pa, 64, want, 16),
                         0);
        ck_assert_mem_eq(k.app, want, 16);
    }
    /* AES-128 with the same 32-byte key: everything from the first 16. */
    smb2_keys k;
    ck_assert_int_eq(smb2_derive_keys(0x0311, full, 32, pa, 2, &k), 0);
    ck_assert_uint_eq(k.enc_len, 16);
    ck_assert_int_eq(crypto_kdf_ctr_hmac_sha256(full, 16, "SMBC2SCipherKey", 16, pa, 64, want, 16),
                     0);
    ck_assert_mem_eq(k.enc, want, 16);
}
END_TEST

START_TEST(test_preauth_hash)
{
    /* [ANAT] 3.1.1 master channel: SHA-512(64 zero bytes || NEGOTIATE request). */
    uint8_t zero[64] = {0}, pkt[512], out[64];
    size_t n =
        it_unhex("FE534D4240000100000000000000800000000000000000000100000000000000FFFE000000000000"
                 "00000000000000000000000000000000000000000000000024000500000000003F000000ECD86F32"
                 "6276024F9F7752B89BB33F3A70000000020000000202100200030203110300000100260000000000"
                 "010020000100FA49E6578F1F3A9F4CD3E9CC14A67AA884B3D05844E0E5A118225C15887F32FF0000"
                 "0200060000000000020002000100",
                 pkt, sizeof pkt);
    crypto_iov v[2] = {{zero, 64}, {pkt, n}};
    ck_assert_int_eq(crypto_sha512(v, 2, out), 0);
    it_assert_hex_len(out,
                      "DD94EFC5321BB618A2E208BA8920D2F422992526947A409B5037DE1E0FE8C7362B8C4712"
                      "2594CDE0CE26AA9DFC8BCDBDE0621957672623351A7540F1E54A0426",
                      64);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Signing known answers: AES-CMAC signed SESSION_SETUP messages */

static const struct {
    const char *what, *key, *msg;
} sign_kat[] = {
    {"[ANAT] 3.1.1 final SESSION_SETUP response", "73FE7A9A77BEF0BDE49C650D8CCB5F76",
     "FE534D4240000100000000000100800009000000000000000300000000000000FFFE000000000000"
     "1900000000100000EBE146DA120BA25FC3376A49DFE31BC10900000048001D00A11B3019A0030A01"
     "00A3120410010000003B453CDC3524164200000000"},
    {"[ANAT] binding: final SESSION_SETUP response (channel key)",
     "C962BCA1A9DD1697B030644199705431",
     "FE534D4240000100000000000100800009000000000000000300000000000000FFFE000000000000"
     "19000000001000008D604217FFBACF40635BF9D8729921500900000048001D00A11B3019A0030A01"
     "00A312041001000000CFB046FC5D368E2200000000"},
    {"[ANAT] binding: first SESSION_SETUP request (master session key)",
     "73FE7A9A77BEF0BDE49C650D8CCB5F76",
     "FE534D4240000100000000000100800008000000000000000200000000000000FFFE000000000000"
     "190000000010000068BD0C58F613CE1334B1EB51C68D39EA19000101010000000000000058004A00"
     "0000000000000000604806062B0601050502A03E303CA00E300C060A2B06010401823702020AA22A"
     "04284E544C4D5353500001000000978208E200000000000000000000000000000000060380250000"
     "000F"},
    {"[ENC] A.1 final SESSION_SETUP response", "8765949DFEAEE105CE9118B45BE988F0",
     "FE534D4240000100000000000100800009000000000000000200000000000000FFFE000000000000"
     "25000000001000006B85A4519A0F3EEA35BA946DD3AFE6B80900000048001D00A11B3019A0030A01"
     "00A3120410010000003932A87523AB660100000000"},
    {"[ENC] A.2 final SESSION_SETUP response", "3DCC82C5795AE27F383242761078C59B",
     "FE534D4240000100000000000100800009000000000000000200000000000000FFFE000000000000"
     "21000000001000003676196AEE8CA17E5D50A53642EF2BE40900000048001D00A11B3019A0030A01"
     "00A3120410010000000F57444342A2717E00000000"},
};

START_TEST(test_sign_kat)
{
    uint8_t key[16], msg[512], copy[512], sig[16];
    it_unhex(sign_kat[_i].key, key, 16);
    size_t n = it_unhex(sign_kat[_i].msg, msg, sizeof msg);
    ck_assert_uint_ge(n, 64);
    memcpy(copy, msg, n);

    ck_assert_int_eq(smb2_sign_compute(SMB2_SIGN_ALG_AES_CMAC, key, 16, msg, n, sig), 0);
    ck_assert_mem_eq(sig, msg + 48, 16);
    ck_assert_int_eq(smb2_sign_verify(SMB2_SIGN_ALG_AES_CMAC, key, 16, msg, n), 0);
    ck_assert_mem_eq(msg, copy, n); /* verify leaves the message alone */

    /* Re-signing a copy with a wiped signature field gives the same bytes. */
    memset(copy + 48, 0, 16);
    ck_assert_int_eq(smb2_sign_msg(SMB2_SIGN_ALG_AES_CMAC, key, 16, copy, n), 0);
    ck_assert_mem_eq(copy, msg, n);

    /* Any changed byte outside the signature breaks it. */
    msg[n - 1] ^= 0x01;
    ck_assert_int_eq(smb2_sign_verify(SMB2_SIGN_ALG_AES_CMAC, key, 16, msg, n), SMBW_ECRYPTO);
    msg[n - 1] ^= 0x01;
    msg[20] ^= 0x80;
    ck_assert_int_eq(smb2_sign_verify(SMB2_SIGN_ALG_AES_CMAC, key, 16, msg, n), SMBW_ECRYPTO);
    msg[20] ^= 0x80;
    key[0] ^= 1;
    ck_assert_int_eq(smb2_sign_verify(SMB2_SIGN_ALG_AES_CMAC, key, 16, msg, n), SMBW_ECRYPTO);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Signing: the other algorithms and round trips */

static size_t make_msg(uint8_t *m, size_t bodylen, uint16_t cmd, uint32_t flags, uint64_t mid)
{
    memset(m, 0, 64);
    m[0] = 0xFE, m[1] = 'S', m[2] = 'M', m[3] = 'B';
    put_u16(m + 4, 64);
    put_u16(m + 12, cmd);
    put_u32(m + 16, flags | 0x00000008u);
    put_u64(m + 24, mid);
    put_u64(m + 40, 0x100000000025ull);
    for (size_t i = 0; i < bodylen; i++)
        m[64 + i] = (uint8_t)(i * 5 + 1);
    return 64 + bodylen;
}

START_TEST(test_sign_hmac_sha256)
{
    uint8_t key[16], msg[200], sig[16], mac[32];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)(0x30 + i);
    size_t n = make_msg(msg, 100, 5, 0, 7);
    memset(msg + 48, 0xEE, 16); /* garbage where the signature goes */
    ck_assert_int_eq(smb2_sign_compute(SMB2_SIGN_ALG_HMAC_SHA256, key, 16, msg, n, sig), 0);
    /* MS-SMB2 3.1.4.1: HMAC-SHA256 over the message with a zero signature
     * field, truncated to 16 bytes. */
    uint8_t z[200];
    memcpy(z, msg, n);
    memset(z + 48, 0, 16);
    crypto_iov v = {z, n};
    ck_assert_int_eq(crypto_hmac_sha256(key, 16, &v, 1, mac), 0);
    ck_assert_mem_eq(sig, mac, 16);

    ck_assert_int_eq(smb2_sign_msg(SMB2_SIGN_ALG_HMAC_SHA256, key, 16, msg, n), 0);
    ck_assert_mem_eq(msg + 48, mac, 16);
    ck_assert_int_eq(smb2_sign_verify(SMB2_SIGN_ALG_HMAC_SHA256, key, 16, msg, n), 0);
    msg[100] ^= 2;
    ck_assert_int_eq(smb2_sign_verify(SMB2_SIGN_ALG_HMAC_SHA256, key, 16, msg, n), SMBW_ECRYPTO);
}
END_TEST

START_TEST(test_sign_gmac_nonce)
{
    uint8_t key[16], msg[200], sig[16], want[16], z[200], nonce[12];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)(0x90 + i);
    static const struct {
        uint16_t cmd;
        uint32_t flags;
        uint32_t role;
    } cases[] = {
        {5, 0, 0},          /* client request */
        {5, 1, 1},          /* server response: SMB2_FLAGS_SERVER_TO_REDIR */
        {12, 0, 2},         /* CANCEL request */
        {12, 1, 3},         /* (a CANCEL from the server side) */
        {8, 0x10000000, 0}, /* other flag bits do not matter */
    };
    uint8_t sigs[5][16];
    crypto_gmac *gm = NULL;
    ck_assert_int_eq(crypto_gmac_new(&gm, key, 16), 0);
    for (int c = 0; c < 5; c++) {
        size_t n = make_msg(msg, 90, cases[c].cmd, cases[c].flags, 0x0807060504030201ull);
        memcpy(z, msg, n);
        memset(z + 48, 0, 16);
        for (int i = 0; i < 8; i++)
            nonce[i] = (uint8_t)(i + 1); /* MessageId, little-endian */
        put_u32(nonce + 8, cases[c].role);
        crypto_iov v = {z, n};
        ck_assert_int_eq(crypto_aes_gmac(key, 16, nonce, &v, 1, want), 0);
        ck_assert_int_eq(smb2_sign_compute(SMB2_SIGN_ALG_AES_GMAC, key, 16, msg, n, sig), 0);
        ck_assert_mem_eq(sig, want, 16);
        memcpy(sigs[c], sig, 16);
        /* the same with a GMAC keyed once for every message (a session's) */
        ck_assert_int_eq(
            smb2_sign_compute3(SMB2_SIGN_ALG_AES_GMAC, key, 16, gm, msg, 64, msg + 64, n - 64, sig),
            0);
        ck_assert_mem_eq(sig, want, 16);
        ck_assert_int_eq(smb2_sign_msg(SMB2_SIGN_ALG_AES_GMAC, key, 16, msg, n), 0);
        ck_assert_int_eq(smb2_sign_verify(SMB2_SIGN_ALG_AES_GMAC, key, 16, msg, n), 0);
        msg[70] ^= 1;
        ck_assert_int_eq(smb2_sign_verify(SMB2_SIGN_ALG_AES_GMAC, key, 16, msg, n), SMBW_ECRYPTO);
        ck_assert_int_eq(smb2_sign_verify3(SMB2_SIGN_ALG_AES_GMAC, key, 16, gm, msg, n, NULL, 0),
                         SMBW_ECRYPTO);
        msg[70] ^= 1;
        ck_assert_int_eq(smb2_sign_verify3(SMB2_SIGN_ALG_AES_GMAC, key, 16, gm, msg, n, NULL, 0),
                         0);
    }
    crypto_gmac_free(gm);
    /* Direction and CANCEL change the nonce, so the signature. */
    ck_assert(memcmp(sigs[0], sigs[1], 16) != 0);
    ck_assert(memcmp(sigs[0], sigs[2], 16) != 0);
    ck_assert(memcmp(sigs[1], sigs[3], 16) != 0);
}
END_TEST

START_TEST(test_sign_args)
{
    uint8_t key[16] = {1}, msg[64] = {0}, sig[16];
    ck_assert_int_eq(smb2_sign_compute(SMB2_SIGN_ALG_AES_CMAC, key, 16, msg, 63, sig), SMBW_EINVAL);
    ck_assert_int_eq(smb2_sign_compute(SMB2_SIGN_ALG_AES_CMAC, key, 15, msg, 64, sig), SMBW_EINVAL);
    ck_assert_int_eq(smb2_sign_compute(3, key, 16, msg, 64, sig), SMBW_EINVAL);
    /* GMAC takes its nonce from the header, so it needs a real one. */
    ck_assert_int_eq(smb2_sign_compute(SMB2_SIGN_ALG_AES_GMAC, key, 16, msg, 64, sig), SMBW_EINVAL);
    ck_assert_int_eq(
        smb2_sign_compute(SMB2_SIGN_ALG_AES_GMAC, key, 16, msg, make_msg(msg, 0, 1, 0, 1), sig), 0);
    ck_assert_int_eq(smb2_sign_verify(SMB2_SIGN_ALG_AES_CMAC, key, 16, msg, 10), SMBW_EINVAL);
}
END_TEST

/* A message in two pieces (header+body, then a payload elsewhere) signs and
 * verifies as the same bytes in one piece, for every algorithm. */
START_TEST(test_sign_two_pieces)
{
    uint8_t key[16] = {9, 8, 7}, msg[200], sig1[16], sig2[16];
    memset(msg, 0, sizeof msg);
    size_t len = make_msg(msg, 0, 1, 0, 1);
    ck_assert_uint_ge(len, 64);
    for (size_t i = 64; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 3);
    len = sizeof msg;
    for (int alg = 0; alg <= SMB2_SIGN_ALG_AES_GMAC; alg++) {
        ck_assert_int_eq(smb2_sign_compute(alg, key, 16, msg, len, sig1), 0);
        ck_assert_int_eq(smb2_sign_compute2(alg, key, 16, msg, 100, msg + 100, len - 100, sig2), 0);
        ck_assert_mem_eq(sig1, sig2, 16);
        ck_assert_int_eq(smb2_sign_msg2(alg, key, 16, msg, 100, msg + 100, len - 100), 0);
        ck_assert_int_eq(smb2_sign_verify(alg, key, 16, msg, len), 0);
        ck_assert_int_eq(smb2_sign_verify2(alg, key, 16, msg, 64, msg + 64, len - 64), 0);
        msg[150] ^= 1;
        ck_assert_int_eq(smb2_sign_verify2(alg, key, 16, msg, 64, msg + 64, len - 64),
                         SMBW_ECRYPTO);
        msg[150] ^= 1;
    }
    ck_assert_int_eq(smb2_sign_compute2(SMB2_SIGN_ALG_AES_CMAC, key, 16, msg, 64, NULL, 5, sig2),
                     SMBW_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Encryption known answers: [ENC] WRITE and READ, each way. The transformed
 * messages are the blog's, header fields and ciphertext concatenated. */

static const struct {
    const char *what;
    uint16_t cipher;
    const char *key, *plain, *frame;
} enc_kat[] = {
    {"A.1 GCM WRITE request", 2, "A2F5E80E5D59103034F32E52F698E5EC",
     "FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000"
     "25000000001000000000000000000000000000000000000031007000170000000000000000000000"
     "0600000004000000010000000400000000000000000000007000000000000000536D623320656E63"
     "72797074696F6E2074657374696E67",
     "FD534D42 BD73D97D2BC9001BCAFAC0FDFF5FEEBC C7D6822D269CAF48904C664C00000000 87000000"
     "0000 0100 2500000000100000"
     "6ECDD2A7AFC7B47763057A041B8FD4DAFFE990B70C9E09D36C084E02D14EF247F8BDE38ACF6256F8"
     "B1D3B56F77FBDEB312FEA5E92CBCC1ED8FB2EBBFAA75E49A4A394BB44576545567C24D4C014D47C9"
     "FBDFDAFD2C4F9B72F8D256452620A299F48E29E53D6B61D1C13A19E91AF013F00D17E3ABC2FC3D36"
     "C8C1B6B93973253852DBD442E46EE8"},
    {"A.1 GCM WRITE response", 2, "748C50868C90F302962A5C35F5F9A8BF",
     "FE534D4240000100000000000900010001000000000000000500000000000000FFFE000001000000"
     "25000000001000000000000000000000000000000000000011000000170000000000000000000000",
     "FD534D42ACBE1CB7ED343ADF1725EF144D90D4B0E06831DD2E8EB7B4000000000000000050000000"
     "00000100250000000010000026BBBF949983A6C1C796559D0F2C510CB651D1F7B6AC8DED32A2A0B8"
     "F2D793A815C6F6B848D69767A215841A42D400AE6DDB5F0B44173A014973321FDD7950DA6179159B"
     "82E03C9E18A050FF0EA1C967"},
    {"A.1 GCM READ request", 2, "A2F5E80E5D59103034F32E52F698E5EC",
     "FE534D4240000100000000000800010008000000000000000600000000000000FFFE000001000000"
     "25000000001000000000000000000000000000000000000031000000170000000000000000000000"
     "060000000400000001000000040000000000000000000000000000000000000000",
     "FD534D42 6DAC0B6FD85A3ED42BB917DA38FE0386 D7AA8C6D36859243B715E0A600000000 71000000"
     "0000 0100 2500000000100000"
     "88A47BF09CA3C3141CDD7306BE9D9475AB24FCCB833D77461C041F8FB983D0C188F0729272B31D9D"
     "3D0DC6B687C069EEE0CC8EACA2C536D019ACC9E185D1EB630E0FCB793EEECEB06D82A1D77706E700"
     "DBEBFB4FEB54D7AD2D97E7288804F90757FE4D08D6A84A3FF433E7451E768E4699"},
    {"A.1 GCM READ response", 2, "748C50868C90F302962A5C35F5F9A8BF",
     "FE534D4240000100000000000800010001000000000000000600000000000000FFFE000001000000"
     "25000000001000000000000000000000000000000000000011005000170000000000000000000000"
     "536D623320656E6372797074696F6E2074657374696E67",
     "FD534D427F714B3B9D8FA1198584E71C2BAA1CB6E16831DD2E8EB7B4000000000000000067000000"
     "000001002500000000100000FECEDF4D03BB11A6CC5D8A53BE33D6D8701986342B4197D306E16F9C"
     "BB218E92F7F8281F51CE68BB85A20D87DE90EBBF80538066D1C37513C0A58D70936D537B624F5500"
     "202A612B6CD30D448A82791A0B2E049ED512AFAEFB06E98AB3D6F931D7D50DB2DBD36A"},
    {"A.2 CCM WRITE request", 1, "DFAAA31AAE40A2485D47AC4DF09FDA1D",
     "FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000"
     "21000000001000000000000000000000000000000000000031007000170000000000000000000000"
     "0500000004000000010000000400000000000000000000007000000000000000536D623320656E63"
     "72797074696F6E2074657374696E67",
     "FD534D42 E89551D666DAB8993488F5A97103116C 9F6F1EAAD7E9F24AACD38F0000000000 87000000"
     "0000 0100 2100000000100000"
     "56A74778199A9D2B6E9C3A376FD88D27680694FED253A313BEB07381AE8689F973ACDB8D716E4477"
     "803BCE53A92E1B81FA3E965AD9AF2C89C08CE66A344664453B8FC88118EDC9814CF58E92AA465E6E"
     "FB09958A9FDAD96FBD55B36A710C30D5E7C64AD7B9449F9F17EDD024FE8BA79154F340A82740D1D5"
     "180C69B0A2DE6A4BA893BD55D3210E"},
    {"A.2 CCM WRITE response", 1, "95C544AEF6072680DA1CE49A68A97FA6",
     "FE534D4240000100000000000900010001000000000000000500000000000000FFFE000001000000"
     "21000000001000000000000000000000000000000000000011000000170000000000000000000000",
     "FD534D42DD33EC41A927DD51476FE887C2D3C136D96831DD2E8EB7B4000000000000000050000000"
     "000001002100000000100000F783157E0F6F1C055D746753CA16D20C21088E2A67564E056C2F68A7"
     "F14F226C3BD809B7A2D52E5FE4ECF49821BC6001733430CF174E2764B3CCB213AAD8BB9FBAF6C15E"
     "13D9120965390E004A96A3F7"},
    {"A.2 CCM READ request", 1, "DFAAA31AAE40A2485D47AC4DF09FDA1D",
     "FE534D4240000100000000000800010008000000000000000600000000000000FFFE000001000000"
     "21000000001000000000000000000000000000000000000031000000170000000000000000000000"
     "050000000400000001000000040000000000000000000000000000000000000000",
     "FD534D42 35BF9600C841F0CDA9BD1BC3727B7E36 A0F92E964EDC3049B86E190000000000 71000000"
     "0000 0100 2100000000100000"
     "C4CCD3EB483A0638E69C99E391E7F64BCC10D6BEE46FEEA258C4BCAF792CB5A6E69283924081806D"
     "AB64827E9D14A5345D5221AB6DAFCB0E89FC2606B63D92163F4F6C93D1213D86ABF123B93EAD3AEF"
     "9A3471EFD68A423A00A6E0064D9AE3C842EFFFAD236A3BF25D37F4CD054C97DE18"},
    {"A.2 CCM READ response", 1, "95C544AEF6072680DA1CE49A68A97FA6",
     "FE534D4240000100000000000800010001000000000000000600000000000000FFFE000001000000"
     "21000000001000000000000000000000000000000000000011005000170000000000000000000000"
     "536D623320656E6372797074696F6E2074657374696E67",
     "FD534D42E241A13C7E1EE42ECF1FD69F3B8668C6DA6831DD2E8EB7B4000000000000000067000000"
     "00000100210000000010000015D67234FC8358D7BA1BF037ABC8EFD41A0A8F9BB04B16DEB1E85606"
     "BD8C2770823FE6239A286CB3E3D5762ABBD53FD8DE11ED491FE905E146A8FFCE09414AB741103D63"
     "7E28B19C6BA759B399DCC21FAE24CF2A455A13B215FC2857ABB513927F9F271D1C208B"},
};

START_TEST(test_encrypt_kat)
{
    uint8_t key[16], plain[512], frame[600];
    it_unhex(enc_kat[_i].key, key, 16);
    size_t pl = it_unhex(enc_kat[_i].plain, plain, sizeof plain);
    size_t fl = it_unhex(enc_kat[_i].frame, frame, sizeof frame);
    ck_assert_uint_eq(fl, pl + 52);
    smb2_transform_hdr th;
    ck_assert_int_eq(wire_decode_transform_hdr(frame, fl, &th), 0);
    uint64_t sid = th.session_id;
    ck_assert_uint_eq(sid, get_u64(plain + 40)); /* the inner header's SessionId */

    /* Decrypt the published frame. */
    smbw_buf out;
    buf_init(&out);
    ck_assert_int_eq(smb2_decrypt(enc_kat[_i].cipher, key, 16, frame, fl, &out), 0);
    ck_assert_uint_eq(out.len, pl);
    ck_assert_mem_eq(out.p, plain, pl);

    /* Encrypt the plaintext with the frame's nonce: the same frame. */
    buf_reset(&out);
    ck_assert_int_eq(
        smb2_encrypt_nonce(enc_kat[_i].cipher, key, 16, sid, frame + 20, plain, pl, &out), 0);
    ck_assert_uint_eq(out.len, fl);
    ck_assert_mem_eq(out.p, frame, fl);
    buf_free(&out);
}
END_TEST

/* The A.1 GCM WRITE response: a frame as a server sends it. */
static void kat_gcm_frame(size_t *n, uint8_t *frame, size_t max, uint8_t key[16])
{
    it_unhex(enc_kat[1].key, key, 16);
    *n = it_unhex(enc_kat[1].frame, frame, max);
}

START_TEST(test_decrypt_rejects)
{
    uint8_t key[16], frame[600], f[600];
    size_t n;
    kat_gcm_frame(&n, frame, sizeof frame, key);
    smbw_buf out;
    buf_init(&out);
    buf_put(&out, "abc", 3);

    /* Truncated frames: shorter than the header, header only, one byte cut. */
    for (size_t cut = 0; cut <= 52; cut += 13)
        ck_assert_int_eq(smb2_decrypt(2, key, 16, frame, cut, &out), SMBW_EPROTO);
    ck_assert_int_eq(smb2_decrypt(2, key, 16, frame, 51, &out), SMBW_EPROTO);
    ck_assert_int_eq(smb2_decrypt(2, key, 16, frame, 52, &out), SMBW_EPROTO);
    ck_assert_int_eq(smb2_decrypt(2, key, 16, frame, n - 1, &out), SMBW_EPROTO);
    smb2_transform_hdr th;
    ck_assert_int_eq(wire_decode_transform_hdr(frame, 51, &th), SMBW_EPROTO);

    /* Bad ProtocolId (a plain SMB2 header), Flags, OriginalMessageSize. */
    memcpy(f, frame, n);
    f[0] = 0xFE;
    ck_assert_int_eq(smb2_decrypt(2, key, 16, f, n, &out), SMBW_EPROTO);
    ck_assert_int_eq(wire_decode_transform_hdr(f, n, &th), SMBW_EPROTO);
    memcpy(f, frame, n);
    put_u16(f + 42, 0);
    ck_assert_int_eq(smb2_decrypt(2, key, 16, f, n, &out), SMBW_EPROTO);
    memcpy(f, frame, n);
    put_u32(f + 36, get_u32(f + 36) + 1);
    ck_assert_int_eq(smb2_decrypt(2, key, 16, f, n, &out), SMBW_EPROTO);
    memcpy(f, frame, n);
    put_u32(f + 36, 0xFFFFFFFFu);
    ck_assert_int_eq(smb2_decrypt(2, key, 16, f, n, &out), SMBW_EPROTO);

    /* Authentication failures: ciphertext, tag, nonce, AAD (SessionId), key,
     * cipher. */
    static const size_t flip[] = {52, 90, 4, 19, 20, 44};
    for (size_t i = 0; i < sizeof flip / sizeof flip[0]; i++) {
        memcpy(f, frame, n);
        f[flip[i]] ^= 0x01;
        ck_assert_int_eq(smb2_decrypt(2, key, 16, f, n, &out), SMBW_ECRYPTO);
    }
    key[5] ^= 0x10;
    ck_assert_int_eq(smb2_decrypt(2, key, 16, frame, n, &out), SMBW_ECRYPTO);
    key[5] ^= 0x10;
    ck_assert_int_eq(smb2_decrypt(1, key, 16, frame, n, &out), SMBW_ECRYPTO);
    ck_assert_int_eq(smb2_decrypt(4, key, 16, frame, n, &out), SMBW_EINVAL);
    ck_assert_int_eq(smb2_decrypt(0, key, 16, frame, n, &out), SMBW_EINVAL);

    /* None of this touched out. */
    ck_assert_uint_eq(out.len, 3);
    ck_assert_mem_eq(out.p, "abc", 3);
    ck_assert(!out.failed);
    /* And the genuine frame still decrypts, appended after what was there. */
    ck_assert_int_eq(smb2_decrypt(2, key, 16, frame, n, &out), 0);
    ck_assert_uint_eq(out.len, 3 + n - 52);
    ck_assert_mem_eq(out.p, "abc", 3);
    buf_free(&out);
}
END_TEST

/* A message in two pieces (header+body, then a WRITE payload elsewhere)
 * encrypts into a frame that decrypts to the two pieces in order, for every
 * cipher (GCM from where the pieces are, CCM after copying them), and one
 * piece of the payload changed fails the tag. CCM's primitive refuses two
 * pieces; the primitive's pieces match its one-piece form. */
START_TEST(test_encrypt_two_pieces)
{
    uint8_t key[32], msg[200], pay[5000];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0x21 * i + 5);
    size_t n = make_msg(msg, 100, 9, 0, 7);
    for (size_t i = 0; i < sizeof pay; i++)
        pay[i] = (uint8_t)(i * 11);
    for (uint16_t cipher = 1; cipher <= 4; cipher++) {
        size_t kl = cipher >= 3 ? 32 : 16;
        smbw_buf f, p;
        buf_init(&f);
        buf_init(&p);
        ck_assert_int_eq(smb2_encrypt2(cipher, key, kl, 0x99, msg, n, pay, sizeof pay, &f), 0);
        ck_assert_uint_eq(f.len, 52 + n + sizeof pay);
        ck_assert_uint_eq(get_u32(f.p + 36), n + sizeof pay);
        ck_assert_int_eq(smb2_decrypt(cipher, key, kl, f.p, f.len, &p), 0);
        ck_assert_uint_eq(p.len, n + sizeof pay);
        ck_assert_mem_eq(p.p, msg, n);
        ck_assert_mem_eq(p.p + n, pay, sizeof pay);
        buf_reset(&p);
        f.p[52 + n + 4000] ^= 1;
        ck_assert_int_eq(smb2_decrypt(cipher, key, kl, f.p, f.len, &p), SMBW_ECRYPTO);
        buf_free(&f);
        buf_free(&p);
    }
    uint8_t nonce[12] = {1}, tag1[16], tag2[16], out1[300], out2[300];
    crypto_iov two[2] = {{msg, 100}, {pay, 200}};
    memcpy(out1, msg, 100);
    memcpy(out1 + 100, pay, 200);
    ck_assert_int_eq(
        crypto_aead_encrypt(CRYPTO_AES_128_GCM, key, 16, nonce, "a", 1, out1, 300, tag1), 0);
    ck_assert_int_eq(
        crypto_aead_encrypt_iov(CRYPTO_AES_128_GCM, key, 16, nonce, "a", 1, two, 2, out2, tag2), 0);
    ck_assert_mem_eq(out1, out2, 300);
    ck_assert_mem_eq(tag1, tag2, 16);
    ck_assert_int_eq(
        crypto_aead_encrypt_iov(CRYPTO_AES_128_CCM, key, 16, nonce, "a", 1, two, 2, out2, tag2),
        SMBW_EINVAL);
    ck_assert_int_eq(
        crypto_aead_decrypt_to(CRYPTO_AES_128_GCM, key, 16, nonce, "a", 1, out1, out2, 300, tag1),
        0);
    ck_assert_mem_eq(out2, msg, 100);
    ck_assert_mem_eq(out2 + 100, pay, 200);
}
END_TEST

/* smb2_decrypt_begin/next/end (GCM): a frame decrypted in steps into two
 * outputs gives the message; a flipped byte fails at the end
 * (SMBW_ECRYPTO); too many bytes, ending early, CCM, a malformed frame
 * and bad arguments refused. */
START_TEST(test_decrypt_steps)
{
    uint8_t key[32], msg[200], pay[5000], a[300], b[5000];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0x13 * i + 1);
    size_t n = make_msg(msg, 100, 9, 0, 7);
    for (size_t i = 0; i < sizeof pay; i++)
        pay[i] = (uint8_t)(i * 5);
    for (uint16_t cipher = 2; cipher <= 4; cipher += 2) {
        size_t kl = cipher == 4 ? 32 : 16;
        smbw_buf f;
        buf_init(&f);
        ck_assert_int_eq(smb2_encrypt2(cipher, key, kl, 0x99, msg, n, pay, sizeof pay, &f), 0);
        smb2_dec d;
        ck_assert_int_eq(smb2_decrypt_begin(&d, cipher, key, kl, f.p, f.len), 0);
        ck_assert_uint_eq(d.len, n + sizeof pay);
        ck_assert_int_eq(smb2_decrypt_next(&d, a, 30), 0);
        ck_assert_int_eq(smb2_decrypt_next(&d, a + 30, n - 30), 0);
        ck_assert_int_eq(smb2_decrypt_next(&d, b, sizeof pay + 1), SMBW_EINVAL);
        ck_assert_int_eq(smb2_decrypt_next(&d, b, sizeof pay), 0);
        ck_assert_int_eq(smb2_decrypt_end(&d), 0);
        ck_assert_mem_eq(a, msg, n);
        ck_assert_mem_eq(b, pay, sizeof pay);
        /* ended before the last byte */
        ck_assert_int_eq(smb2_decrypt_begin(&d, cipher, key, kl, f.p, f.len), 0);
        ck_assert_int_eq(smb2_decrypt_next(&d, a, n), 0);
        ck_assert_int_eq(smb2_decrypt_end(&d), SMBW_EINVAL);
        ck_assert_int_eq(smb2_decrypt_end(&d), SMBW_EINVAL); /* freed by end */
        ck_assert_int_eq(smb2_decrypt_next(&d, a, 1), SMBW_EINVAL);
        /* a flipped byte */
        f.p[52 + n + 4000] ^= 1;
        ck_assert_int_eq(smb2_decrypt_begin(&d, cipher, key, kl, f.p, f.len), 0);
        ck_assert_int_eq(smb2_decrypt_next(&d, a, d.len > 300 ? 300 : d.len), 0);
        ck_assert_int_eq(smb2_decrypt_next(&d, b, d.len - 300), 0);
        ck_assert_int_eq(smb2_decrypt_end(&d), SMBW_ECRYPTO);
        /* aborted halfway */
        ck_assert_int_eq(smb2_decrypt_begin(&d, cipher, key, kl, f.p, f.len), 0);
        ck_assert_int_eq(smb2_decrypt_next(&d, a, 10), 0);
        smb2_decrypt_abort(&d);
        ck_assert_int_eq(smb2_decrypt_begin(&d, cipher, key, kl, f.p, 51), SMBW_EPROTO);
        ck_assert_int_eq(smb2_decrypt_begin(&d, cipher, key, kl, NULL, f.len), SMBW_EINVAL);
        ck_assert_int_eq(smb2_decrypt_begin(&d, cipher, key, 24, f.p, f.len), SMBW_EINVAL);
        ck_assert_int_eq(smb2_decrypt_begin(&d, cipher - 1, key, kl, f.p, f.len), SMBW_ENOTSUP);
        buf_free(&f);
    }
    ck_assert_int_eq(smb2_decrypt_begin(NULL, 2, key, 16, msg, 100), SMBW_EINVAL);
    ck_assert_int_eq(smb2_decrypt_end(NULL), SMBW_EINVAL);
    smb2_decrypt_abort(NULL);
}
END_TEST

START_TEST(test_encrypt_roundtrip_all)
{
    uint8_t key[32], msg[3000];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0x11 * i + 3);
    size_t n = make_msg(msg, 2900, 9, 0, 42);
    for (uint16_t cipher = 1; cipher <= 4; cipher++) {
        size_t kl = cipher >= 3 ? 32 : 16;
        size_t noncelen = (cipher == 1 || cipher == 3) ? 11 : 12;
        smbw_buf a, b, p;
        buf_init(&a);
        buf_init(&b);
        buf_init(&p);
        buf_put(&a, "\0\0\0\0", 4); /* e.g. the transport header in front */
        ck_assert_int_eq(smb2_encrypt(cipher, key, kl, 0x1122334455667788ull, msg, n, &a), 0);
        ck_assert_int_eq(smb2_encrypt(cipher, key, kl, 0x1122334455667788ull, msg, n, &b), 0);
        ck_assert_uint_eq(a.len, 4 + 52 + n);
        ck_assert_uint_eq(b.len, 52 + n);
        const uint8_t *fa = a.p + 4, *fb = b.p;
        /* Header fields */
        ck_assert_mem_eq(fa, "\xFDSMB", 4);
        ck_assert_uint_eq(get_u32(fa + 36), n);
        ck_assert_uint_eq(get_u16(fa + 40), 0);
        ck_assert_uint_eq(get_u16(fa + 42), 1);
        ck_assert_uint_eq(get_u64(fa + 44), 0x1122334455667788ull);
        /* Random nonce of the cipher's size, the rest of the field zero. */
        static const uint8_t zero[16];
        ck_assert_mem_eq(fa + 20 + noncelen, zero, 16 - noncelen);
        ck_assert(memcmp(fa + 20, fb + 20, noncelen) != 0);
        ck_assert(memcmp(fa + 52, fb + 52, n) != 0);
        ck_assert(memcmp(fa + 52, msg, 64) != 0);

        smb2_transform_hdr th;
        ck_assert_int_eq(wire_decode_transform_hdr(fa, 52 + n, &th), 0);
        ck_assert_uint_eq(th.session_id, 0x1122334455667788ull);
        ck_assert_int_eq(smb2_decrypt(cipher, key, kl, fa, 52 + n, &p), 0);
        ck_assert_uint_eq(p.len, n);
        ck_assert_mem_eq(p.p, msg, n);

        /* A flipped ciphertext byte fails with SMBW_ECRYPTO. */
        b.p[52 + n / 3] ^= 0x20;
        buf_reset(&p);
        ck_assert_int_eq(smb2_decrypt(cipher, key, kl, b.p, b.len, &p), SMBW_ECRYPTO);
        ck_assert_uint_eq(p.len, 0);

        /* Key length must match the cipher. */
        ck_assert_int_eq(smb2_encrypt(cipher, key, kl == 16 ? 32 : 16, 1, msg, n, &b), SMBW_EINVAL);
        buf_free(&a);
        buf_free(&b);
        buf_free(&p);
    }
    smbw_buf x;
    buf_init(&x);
    ck_assert_int_eq(smb2_encrypt(0, key, 16, 1, msg, n, &x), SMBW_EINVAL);
    ck_assert_int_eq(smb2_encrypt(5, key, 32, 1, msg, n, &x), SMBW_EINVAL);
    ck_assert_int_eq(smb2_encrypt(2, key, 16, 1, msg, 0, &x), SMBW_EINVAL);
    ck_assert_uint_eq(x.len, 0);
    buf_free(&x);
}
END_TEST

static Suite *sign_suite(void)
{
    Suite *s = suite_create("sign");
    TCase *kd = tcase_create("keys");
    tcase_add_loop_test(kd, test_derive_kat, 0, (int)(sizeof kd_kat / sizeof kd_kat[0]));
    tcase_add_test(kd, test_derive_smb2);
    tcase_add_test(kd, test_derive_aes256);
    tcase_add_test(kd, test_preauth_hash);
    suite_add_tcase(s, kd);

    TCase *sg = tcase_create("signing");
    tcase_add_loop_test(sg, test_sign_kat, 0, (int)(sizeof sign_kat / sizeof sign_kat[0]));
    tcase_add_test(sg, test_sign_hmac_sha256);
    tcase_add_test(sg, test_sign_gmac_nonce);
    tcase_add_test(sg, test_sign_args);
    tcase_add_test(sg, test_sign_two_pieces);
    suite_add_tcase(s, sg);

    TCase *en = tcase_create("encryption");
    tcase_add_loop_test(en, test_encrypt_kat, 0, (int)(sizeof enc_kat / sizeof enc_kat[0]));
    tcase_add_test(en, test_decrypt_rejects);
    tcase_add_test(en, test_encrypt_roundtrip_all);
    tcase_add_test(en, test_encrypt_two_pieces);
    tcase_add_test(en, test_decrypt_steps);
    suite_add_tcase(s, en);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sign_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
