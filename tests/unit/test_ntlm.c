/* NTLMSSP: MS-NLMP 4.2.4 known answers, message layout, hostile CHALLENGEs. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smbwire/errors.h"
#include "testutil.h"
#include "lib/auth/ntlmssp.h"
#include "lib/crypto/crypto.h"
#include "lib/util/unicode.h"
#include "tests/common/rawbytes.h"

/* MS-NLMP 4.2.4.3: the CHALLENGE_MESSAGE of the NTLMv2 example. */
static const char *chal_424 = "4e544c4d53535000 02000000 0c000c00 38000000 33828ae2"
                              "0123456789abcdef 0000000000000000 24002400 44000000"
                              "060070170000000f"
                              "530065007200760065007200"
                              "02000c00 44006f006d00610069006e00"
                              "01000c00 530065007200760065007200 00000000";

static const uint8_t server_chal[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
static const uint8_t client_chal[8] = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};
static const uint8_t random_key[16] = {0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
                                       0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55};

/* buf holds 256 bytes. */
static size_t load_chal(uint8_t *buf)
{
    return it_unhex(chal_424, buf, 256);
}

START_TEST(kat_ntowfv2)
{
    uint8_t k[16];
    ck_assert_int_eq(ntlm_ntowfv2("Password", "User", "Domain", k), 0);
    it_assert_hex(k, "0c868a403bfd7a93a3001ef22ef02e3f");
    /* UPPER() applies to the user only: a lower-case user gives the same key,
     * a different-case domain does not. */
    uint8_t k2[16];
    ck_assert_int_eq(ntlm_ntowfv2("Password", "user", "Domain", k2), 0);
    ck_assert_mem_eq(k, k2, 16);
    ck_assert_int_eq(ntlm_ntowfv2("Password", "User", "DOMAIN", k2), 0);
    ck_assert(memcmp(k, k2, 16) != 0);
}
END_TEST

START_TEST(kat_lmv2)
{
    uint8_t k[16], lm[24];
    ck_assert_int_eq(ntlm_ntowfv2("Password", "User", "Domain", k), 0);
    ck_assert_int_eq(ntlm_lmv2_response(k, server_chal, client_chal, lm), 0);
    it_assert_hex(lm, "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa");
}
END_TEST

START_TEST(kat_ntlmv2_response)
{
    uint8_t chal[256], k[16], sbk[16];
    size_t n = load_chal(chal);
    ck_assert_uint_eq(n, 0x68);
    ntlm_challenge ch;
    ck_assert_int_eq(ntlm_parse_challenge(chal, n, &ch), 0);
    ck_assert_int_eq(ntlm_ntowfv2("Password", "User", "Domain", k), 0);
    smbw_buf nt;
    buf_init(&nt);
    ck_assert_int_eq(ntlm_v2_response(k, ch.server_challenge, client_chal, 0, ch.target_info,
                                      ch.target_info_len, &nt, sbk),
                     0);
    ck_assert_uint_eq(nt.len, 16 + 28 + 36 + 4);
    it_assert_hex(nt.p, "68cd0ab851e51c96aabc927bebef6a1c");
    it_assert_hex(nt.p + 16, "0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000");
    it_assert_hex(sbk, "8de40ccadbc14a82f15cb0ad0de95ca3");
    buf_free(&nt);
}
END_TEST

START_TEST(parse_424_challenge)
{
    uint8_t chal[256];
    size_t n = load_chal(chal);
    ntlm_challenge ch;
    ck_assert_int_eq(ntlm_parse_challenge(chal, n, &ch), 0);
    ck_assert_uint_eq(ch.flags, 0xe28a8233u);
    ck_assert_mem_eq(ch.server_challenge, server_chal, 8);
    ck_assert_uint_eq(ch.target_name_len, 12);
    it_assert_hex(ch.target_name, "530065007200760065007200");
    ck_assert_uint_eq(ch.target_info_len, 36);
    ck_assert(!ch.have_timestamp);
    ck_assert(!ch.have_av_flags);
}
END_TEST

/* Complete AUTHENTICATE for the 4.2.4 example (no timestamp: LMv2, no MIC). */
START_TEST(kat_authenticate_424)
{
    uint8_t chal[256];
    size_t n = load_chal(chal);
    ntlm_creds cr = {
        .user = "User", .domain = "Domain", .password = "Password", .workstation = "COMPUTER"};
    ntlm_ctx *c;
    smbw_buf neg, auth;
    buf_init(&neg);
    buf_init(&auth);
    ck_assert_int_eq(ntlm_new(&c, &cr), 0);
    uint64_t t0 = 0;
    ntlm_set_test_params(c, client_chal, &t0, random_key);
    ck_assert_int_eq(ntlm_negotiate(c, &neg), 0);
    ck_assert_uint_eq(neg.len, 40);
    it_assert_hex(neg.p, "4e544c4d53535000 01000000");
    ck_assert_uint_eq(get_u32(neg.p + 12), 0xe2088235u);
    ck_assert_int_eq(ntlm_authenticate(c, chal, n, &auth), 0);

    const uint8_t *m = auth.p;
    ck_assert_uint_ge(auth.len, 88);
    it_assert_hex(m, "4e544c4d53535000 03000000");
    /* field i: len at 12+8i, offset at 16+8i */
#define FIELD(i) (m + get_u32(m + 16 + 8 * (i)))
#define FLEN(i) get_u16(m + 12 + 8 * (i))
    for (int i = 0; i < 6; i++)
        ck_assert_uint_le((size_t)get_u32(m + 16 + 8 * i) + FLEN(i), auth.len);
    ck_assert_uint_eq(FLEN(0), 24);
    it_assert_hex(FIELD(0), "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa");
    ck_assert_uint_eq(FLEN(1), 16 + 28 + 36 + 4);
    it_assert_hex(FIELD(1), "68cd0ab851e51c96aabc927bebef6a1c");
    ck_assert_uint_eq(FLEN(2), 12);
    it_assert_hex(FIELD(2), "44006f006d00610069006e00");
    ck_assert_uint_eq(FLEN(3), 8);
    it_assert_hex(FIELD(3), "5500730065007200");
    ck_assert_uint_eq(FLEN(4), 16);
    it_assert_hex(FIELD(4), "43004f004d0050005500540045005200");
    ck_assert_uint_eq(FLEN(5), 16);
    it_assert_hex(FIELD(5), "c5dad2544fc9799094ce1ce90bc9d03e");
    uint32_t flags = get_u32(m + 60);
    ck_assert(flags & NTLMSSP_NEGOTIATE_KEY_EXCH);
    ck_assert(flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY);
    ck_assert(!(flags & NTLMSSP_NEGOTIATE_OEM));
    static const uint8_t zero16[16];
    ck_assert_mem_eq(m + NTLM_MIC_OFFSET, zero16, 16);
    ck_assert(!ntlm_mic_sent(c));

    uint8_t key[16];
    ck_assert_int_eq(ntlm_session_key(c, key), 0);
    ck_assert_mem_eq(key, random_key, 16);
#undef FIELD
#undef FLEN
    ntlm_free(c);
    buf_free(&neg);
    buf_free(&auth);
}
END_TEST

/* MS-NLMP 4.2.4.4: keys and the signature of the sealed "Plaintext". */
START_TEST(kat_wrapex)
{
    uint8_t sign[16], seal[16];
    size_t seallen;
    ck_assert_int_eq(ntlm_sign_key(random_key, true, sign), 0);
    it_assert_hex(sign, "4788dc861b4782f35d43fd98fe1a2d39");
    ck_assert_int_eq(ntlm_seal_key(random_key, 0xe28a8233u, true, seal, &seallen), 0);
    ck_assert_uint_eq(seallen, 16);
    it_assert_hex(seal, "59f600973cc4960a25480a7c196e4c58");

    smbw_buf pt;
    buf_init(&pt);
    ck_assert_int_eq(utf8_to_utf16le("Plaintext", 9, &pt), 0);
    uint8_t data[18], sig[16];
    crypto_rc4 *rc4;
    ck_assert_int_eq(crypto_rc4_new(&rc4, seal, seallen), 0);
    ck_assert_int_eq(crypto_rc4_update(rc4, pt.p, data, 18), 0);
    it_assert_hex(data, "54e50165bf1936dc996020c1811b0f06fb5f");
    ck_assert_int_eq(ntlm_mac(sign, rc4, 0, pt.p, pt.len, sig), 0);
    it_assert_hex(sig, "010000007fb38ec5c55d497600000000");
    crypto_rc4_free(rc4);

    /* Without key exchange the checksum is not RC4'd. */
    ck_assert_int_eq(ntlm_mac(sign, NULL, 0, pt.p, pt.len, sig), 0);
    it_assert_hex(sig, "01000000 703528 51f2564309 00000000");
    buf_free(&pt);
}
END_TEST

/* A CHALLENGE built by hand: target info given as raw AV bytes. */
static size_t make_chal(uint8_t *out, uint32_t flags, const uint8_t *ti, size_t tilen)
{
    memcpy(out, "NTLMSSP", 8);
    put_u32(out + 8, 2);
    put_u16(out + 12, 0);
    put_u16(out + 14, 0);
    put_u32(out + 16, 56);
    put_u32(out + 20, flags);
    memcpy(out + 24, server_chal, 8);
    memset(out + 32, 0, 8);
    put_u16(out + 40, (uint16_t)tilen);
    put_u16(out + 42, (uint16_t)tilen);
    put_u32(out + 44, 56);
    memcpy(out + 48, "\x06\x01\xb1\x1d\x00\x00\x00\x0f", 8);
    memcpy(out + 56, ti, tilen);
    return 56 + tilen;
}

static size_t av(uint8_t *p, uint16_t id, const void *v, uint16_t len)
{
    put_u16(p, id);
    put_u16(p + 2, len);
    memcpy(p + 4, v, len);
    return 4u + len;
}

static const uint32_t srv_flags = 0xe28a8235u;

START_TEST(authenticate_with_timestamp_and_mic)
{
    uint8_t ti[128], chal[256];
    size_t tl = 0;
    uint8_t ts[8];
    put_u64(ts, 0x01d9000000000000ull);
    tl += av(ti + tl, MSV_AV_NB_DOMAIN_NAME, "D\0O\0M\0", 6);
    tl += av(ti + tl, MSV_AV_TIMESTAMP, ts, 8);
    tl += av(ti + tl, MSV_AV_EOL, "", 0);
    size_t n = make_chal(chal, srv_flags, ti, tl);

    ntlm_creds cr = {
        .user = "alice", .domain = "DOM", .password = "secret", .target_host = "srv.example"};
    ntlm_ctx *c;
    smbw_buf neg, auth;
    buf_init(&neg);
    buf_init(&auth);
    ck_assert_int_eq(ntlm_new(&c, &cr), 0);
    ntlm_set_test_params(c, client_chal, NULL, random_key);
    ck_assert_int_eq(ntlm_negotiate(c, &neg), 0);
    ck_assert_int_eq(ntlm_authenticate(c, chal, n, &auth), 0);
    ck_assert(ntlm_mic_sent(c));

    const uint8_t *m = auth.p;
    /* LmChallengeResponse is Z(24) when the server sent a timestamp. */
    static const uint8_t zero24[24];
    ck_assert_uint_eq(get_u16(m + 12), 24);
    ck_assert_mem_eq(m + get_u32(m + 16), zero24, 24);

    /* NT response: the blob uses the server's time and carries MsvAvFlags
     * (MIC bit) and MsvAvTargetName. */
    const uint8_t *nt = m + get_u32(m + 24);
    size_t ntlen = get_u16(m + 20);
    ck_assert_uint_gt(ntlen, 16 + 28);
    ck_assert_mem_eq(nt + 16 + 8, ts, 8);
    ck_assert_mem_eq(nt + 16 + 16, client_chal, 8);
    smbw_cur avc = cur_make(nt + 16 + 28, ntlen - 16 - 28 - 4);
    bool saw_flags = false, saw_target = false, saw_eol = false, saw_ts = false;
    while (avc.len) {
        uint16_t id, len;
        smbw_cur v;
        ck_assert(cur_u16(&avc, &id) && cur_u16(&avc, &len) && cur_sub(&avc, len, &v));
        if (id == MSV_AV_FLAGS) {
            ck_assert_uint_eq(len, 4);
            ck_assert_uint_eq(get_u32(v.p) & MSV_AV_FLAG_MIC_PRESENT, MSV_AV_FLAG_MIC_PRESENT);
            saw_flags = true;
        } else if (id == MSV_AV_TARGET_NAME) {
            smbw_buf want;
            buf_init(&want);
            ck_assert_int_eq(utf8_to_utf16le("cifs/srv.example", 16, &want), 0);
            ck_assert_uint_eq(len, want.len);
            ck_assert_mem_eq(v.p, want.p, want.len);
            buf_free(&want);
            saw_target = true;
        } else if (id == MSV_AV_TIMESTAMP) {
            saw_ts = true;
        } else if (id == MSV_AV_EOL) {
            saw_eol = true;
            ck_assert_uint_eq(avc.len, 0);
        }
    }
    ck_assert(saw_flags && saw_target && saw_eol && saw_ts);

    /* NTProofStr recomputed from the blob as a server would. */
    uint8_t k[16], proof[16];
    ck_assert_int_eq(ntlm_ntowfv2("secret", "alice", "DOM", k), 0);
    crypto_iov iov[2] = {{server_chal, 8}, {nt + 16, ntlen - 16}};
    ck_assert_int_eq(crypto_hmac_md5(k, 16, iov, 2, proof), 0);
    ck_assert_mem_eq(proof, nt, 16);

    /* MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE ||
     * AUTHENTICATE with a zero MIC). */
    uint8_t mic[16], copy[1024];
    ck_assert_uint_le(auth.len, sizeof copy);
    memcpy(copy, auth.p, auth.len);
    memset(copy + NTLM_MIC_OFFSET, 0, 16);
    crypto_iov miov[3] = {{neg.p, neg.len}, {chal, n}, {copy, auth.len}};
    ck_assert_int_eq(crypto_hmac_md5(random_key, 16, miov, 3, mic), 0);
    ck_assert_mem_eq(m + NTLM_MIC_OFFSET, mic, 16);

    ntlm_free(c);
    buf_free(&neg);
    buf_free(&auth);
}
END_TEST

START_TEST(anonymous_authenticate)
{
    uint8_t ti[64], chal[256];
    size_t tl = 0;
    uint8_t ts[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    tl += av(ti + tl, MSV_AV_TIMESTAMP, ts, 8);
    tl += av(ti + tl, MSV_AV_EOL, "", 0);
    size_t n = make_chal(chal, srv_flags, ti, tl);
    ntlm_creds cr = {.anonymous = true};
    ntlm_ctx *c;
    smbw_buf neg, auth;
    buf_init(&neg);
    buf_init(&auth);
    ck_assert_int_eq(ntlm_new(&c, &cr), 0);
    ck_assert_int_eq(ntlm_negotiate(c, &neg), 0);
    ck_assert_int_eq(ntlm_authenticate(c, chal, n, &auth), 0);
    const uint8_t *m = auth.p;
    ck_assert_uint_eq(get_u16(m + 12), 1); /* LM = Z(1) */
    ck_assert_uint_eq(m[get_u32(m + 16)], 0);
    ck_assert_uint_eq(get_u16(m + 20), 0); /* NT empty */
    ck_assert_uint_eq(get_u16(m + 28), 0); /* domain */
    ck_assert_uint_eq(get_u16(m + 36), 0); /* user */
    ck_assert_uint_eq(get_u16(m + 52), 0); /* no encrypted session key */
    uint32_t flags = get_u32(m + 60);
    ck_assert(flags & NTLMSSP_NEGOTIATE_ANONYMOUS);
    ck_assert(!(flags & NTLMSSP_NEGOTIATE_KEY_EXCH));
    static const uint8_t zero16[16];
    ck_assert_mem_eq(m + NTLM_MIC_OFFSET, zero16, 16);
    ck_assert(!ntlm_mic_sent(c));
    ck_assert(!ntlm_can_sign(c));
    uint8_t key[16];
    memset(key, 0xff, 16);
    ck_assert_int_eq(ntlm_session_key(c, key), 0);
    ck_assert_mem_eq(key, zero16, 16);
    ntlm_free(c);
    buf_free(&neg);
    buf_free(&auth);
}
END_TEST

START_TEST(sign_and_verify)
{
    uint8_t ti[64], chal[256];
    size_t tl = av(ti, MSV_AV_EOL, "", 0);
    size_t n = make_chal(chal, srv_flags, ti, tl);
    ntlm_creds cr = {.user = "u", .password = "p"};
    ntlm_ctx *c;
    smbw_buf neg, auth;
    buf_init(&neg);
    buf_init(&auth);
    ck_assert_int_eq(ntlm_new(&c, &cr), 0);
    ntlm_set_test_params(c, NULL, NULL, random_key);
    ck_assert_int_eq(ntlm_negotiate(c, &neg), 0);
    ck_assert_int_eq(ntlm_authenticate(c, chal, n, &auth), 0);

    /* Client signature: seq 0 with the client keys, as in 4.2.4.4. */
    const uint8_t msg[] = "mechTypes";
    uint8_t sig[16], want[16], sk[16], sealk[16];
    size_t sl;
    ck_assert_int_eq(ntlm_sign(c, msg, sizeof msg, sig), 0);
    crypto_rc4 *r;
    ck_assert_int_eq(ntlm_sign_key(random_key, true, sk), 0);
    ck_assert_int_eq(ntlm_seal_key(random_key, srv_flags, true, sealk, &sl), 0);
    ck_assert_int_eq(crypto_rc4_new(&r, sealk, sl), 0);
    ck_assert_int_eq(ntlm_mac(sk, r, 0, msg, sizeof msg, want), 0);
    crypto_rc4_free(r);
    ck_assert_mem_eq(sig, want, 16);

    /* Server signature with the server keys verifies; a changed byte or a
     * second use of seq 0 does not. */
    ck_assert_int_eq(ntlm_sign_key(random_key, false, sk), 0);
    ck_assert_int_eq(ntlm_seal_key(random_key, srv_flags, false, sealk, &sl), 0);
    ck_assert_int_eq(crypto_rc4_new(&r, sealk, sl), 0);
    ck_assert_int_eq(ntlm_mac(sk, r, 0, msg, sizeof msg, want), 0);
    crypto_rc4_free(r);
    ck_assert_int_eq(ntlm_verify(c, msg, sizeof msg, want, 16), 0);
    ck_assert_int_eq(ntlm_verify(c, msg, sizeof msg, want, 16), SMBW_EAUTH);
    ck_assert_int_eq(ntlm_verify(c, msg, sizeof msg, want, 15), SMBW_EAUTH);
    ntlm_free(c);
    buf_free(&neg);
    buf_free(&auth);
}
END_TEST

START_TEST(refuses_without_ess)
{
    uint8_t ti[16], chal[128];
    size_t tl = av(ti, MSV_AV_EOL, "", 0);
    size_t n = make_chal(chal, srv_flags & ~NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY, ti, tl);
    ntlm_creds cr = {.user = "u", .password = "p"};
    ntlm_ctx *c;
    smbw_buf b;
    buf_init(&b);
    ck_assert_int_eq(ntlm_new(&c, &cr), 0);
    ck_assert_int_eq(ntlm_negotiate(c, &b), 0);
    buf_reset(&b);
    ck_assert_int_eq(ntlm_authenticate(c, chal, n, &b), SMBW_ENOTSUP);
    ck_assert_uint_eq(b.len, 0);
    ntlm_free(c);
    buf_free(&b);
}
END_TEST

/* ---- hostile CHALLENGE messages ---- */

static int parse(const uint8_t *p, size_t n)
{
    ntlm_challenge ch;
    return ntlm_parse_challenge(p, n, &ch);
}

START_TEST(reject_bad_header)
{
    uint8_t chal[256], ti[16];
    size_t tl = av(ti, MSV_AV_EOL, "", 0);
    size_t n = make_chal(chal, srv_flags, ti, tl);
    ck_assert_int_eq(parse(chal, n), 0);
    chal[6] = 'Q'; /* signature */
    ck_assert_int_eq(parse(chal, n), SMBW_EPROTO);
    chal[6] = 'P';
    put_u32(chal + 8, 3); /* MessageType */
    ck_assert_int_eq(parse(chal, n), SMBW_EPROTO);
    put_u32(chal + 8, 2);
    /* Every truncation is rejected. */
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(parse(chal, i), SMBW_EPROTO);
    ck_assert_int_eq(parse(NULL, 0), SMBW_EPROTO);
}
END_TEST

START_TEST(reject_bad_fields)
{
    uint8_t chal[256], ti[16];
    size_t tl = av(ti, MSV_AV_EOL, "", 0);
    size_t n = make_chal(chal, srv_flags, ti, tl);
    /* TargetInfo offset past the end */
    put_u32(chal + 44, (uint32_t)n);
    ck_assert_int_eq(parse(chal, n), SMBW_EPROTO);
    /* offset near 2^32: no wrap-around */
    put_u32(chal + 44, 0xFFFFFFFEu);
    ck_assert_int_eq(parse(chal, n), SMBW_EPROTO);
    put_u32(chal + 44, 56);
    /* length running past the end */
    put_u16(chal + 40, (uint16_t)(tl + 1));
    ck_assert_int_eq(parse(chal, n), SMBW_EPROTO);
    put_u16(chal + 40, (uint16_t)tl);
    /* empty TargetInfo: NTLMv2 needs it */
    put_u16(chal + 40, 0);
    ck_assert_int_eq(parse(chal, n), SMBW_EPROTO);
    put_u16(chal + 40, (uint16_t)tl);
    /* TargetName out of range */
    put_u16(chal + 12, 8);
    put_u32(chal + 16, (uint32_t)n - 4);
    ck_assert_int_eq(parse(chal, n), SMBW_EPROTO);
    put_u32(chal + 16, 56);
    ck_assert_int_eq(parse(chal, n), SMBW_EPROTO); /* 56 + 8 > n */
    put_u16(chal + 12, 4);
    ck_assert_int_eq(parse(chal, n), 0);
}
END_TEST

START_TEST(reject_bad_av_pairs)
{
    uint8_t chal[256], ti[64];
    size_t tl;
    uint8_t ts[8] = {0};

    /* missing EOL */
    tl = av(ti, MSV_AV_NB_DOMAIN_NAME, "D\0", 2);
    ck_assert_int_eq(parse(chal, make_chal(chal, srv_flags, ti, tl)), SMBW_EPROTO);
    /* pair length past TargetInfo end */
    tl = av(ti, MSV_AV_NB_DOMAIN_NAME, "D\0", 2);
    tl += av(ti + tl, MSV_AV_EOL, "", 0);
    put_u16(ti + 2, 40);
    ck_assert_int_eq(parse(chal, make_chal(chal, srv_flags, ti, tl)), SMBW_EPROTO);
    /* header cut in half */
    tl = av(ti, MSV_AV_NB_DOMAIN_NAME, "D\0", 2);
    tl += 2;
    ti[tl - 2] = 0;
    ti[tl - 1] = 0;
    ck_assert_int_eq(parse(chal, make_chal(chal, srv_flags, ti, tl)), SMBW_EPROTO);
    /* EOL with a length */
    tl = av(ti, MSV_AV_EOL, "ab", 2);
    ck_assert_int_eq(parse(chal, make_chal(chal, srv_flags, ti, tl)), SMBW_EPROTO);
    /* timestamp of the wrong size */
    tl = av(ti, MSV_AV_TIMESTAMP, ts, 4);
    tl += av(ti + tl, MSV_AV_EOL, "", 0);
    ck_assert_int_eq(parse(chal, make_chal(chal, srv_flags, ti, tl)), SMBW_EPROTO);
    /* flags of the wrong size */
    tl = av(ti, MSV_AV_FLAGS, ts, 8);
    tl += av(ti + tl, MSV_AV_EOL, "", 0);
    ck_assert_int_eq(parse(chal, make_chal(chal, srv_flags, ti, tl)), SMBW_EPROTO);
}
END_TEST

START_TEST(av_duplicates_and_padding)
{
    uint8_t chal[256], ti[96];
    uint8_t t1[8] = {1, 0, 0, 0, 0, 0, 0, 0}, t2[8] = {2, 0, 0, 0, 0, 0, 0, 0};
    size_t tl = av(ti, MSV_AV_TIMESTAMP, t1, 8);
    tl += av(ti + tl, MSV_AV_TIMESTAMP, t2, 8);
    tl += av(ti + tl, MSV_AV_FLAGS, "\x01\0\0\0", 4);
    tl += av(ti + tl, MSV_AV_EOL, "", 0);
    size_t eol_end = tl;
    memset(ti + tl, 0xEE, 6); /* trailing junk after EOL */
    tl += 6;
    ntlm_challenge ch;
    ck_assert_int_eq(ntlm_parse_challenge(chal, make_chal(chal, srv_flags, ti, tl), &ch), 0);
    ck_assert(ch.have_timestamp);
    ck_assert_uint_eq(ch.timestamp, 1); /* first occurrence wins */
    ck_assert(ch.have_av_flags);
    ck_assert_uint_eq(ch.av_flags, 1);
    ck_assert_uint_eq(ch.target_info_len, eol_end);
}
END_TEST

START_TEST(state_machine_misuse)
{
    ntlm_creds cr = {.user = "u", .password = "p"};
    ntlm_ctx *c;
    smbw_buf b;
    uint8_t key[16], sig[16];
    buf_init(&b);
    ck_assert_int_eq(ntlm_new(&c, &cr), 0);
    ck_assert_int_eq(ntlm_session_key(c, key), SMBW_EINVAL);
    ck_assert_int_eq(ntlm_sign(c, (const uint8_t *)"x", 1, sig), SMBW_EINVAL);
    ck_assert_int_eq(ntlm_authenticate(c, NULL, 0, &b), SMBW_EINVAL);
    ck_assert_int_eq(ntlm_negotiate(c, &b), 0);
    ck_assert_int_eq(ntlm_negotiate(c, &b), SMBW_EINVAL);
    ntlm_free(c);
    buf_free(&b);
    ntlm_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ntlm");
    TCase *tc = tcase_create("ntlm");
    tcase_add_test(tc, kat_ntowfv2);
    tcase_add_test(tc, kat_lmv2);
    tcase_add_test(tc, kat_ntlmv2_response);
    tcase_add_test(tc, parse_424_challenge);
    tcase_add_test(tc, kat_authenticate_424);
    tcase_add_test(tc, kat_wrapex);
    tcase_add_test(tc, authenticate_with_timestamp_and_mic);
    tcase_add_test(tc, anonymous_authenticate);
    tcase_add_test(tc, sign_and_verify);
    tcase_add_test(tc, refuses_without_ess);
    tcase_add_test(tc, reject_bad_header);
    tcase_add_test(tc, reject_bad_fields);
    tcase_add_test(tc, reject_bad_av_pairs);
    tcase_add_test(tc, av_duplicates_and_padding);
    tcase_add_test(tc, state_machine_misuse);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
