/* SPNEGO DER codec and the auth_step flow against a scripted server. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smbw_config.h"
#include "smbwire/errors.h"
#include "lib/auth/auth.h"
#include "lib/auth/ntlmssp.h"
#include "lib/auth/spnego.h"
#include "lib/crypto/crypto.h"
#include "tests/common/rawbytes.h"

/* ---- an independent little DER writer for hand-made tokens ---- */

static void tlv(smbw_buf *out, uint8_t tag, const void *p, size_t n)
{
    buf_u8(out, tag);
    if (n < 0x80) {
        buf_u8(out, (uint8_t)n);
    } else if (n < 0x100) {
        buf_u8(out, 0x81);
        buf_u8(out, (uint8_t)n);
    } else {
        buf_u8(out, 0x82);
        buf_u16be(out, (uint16_t)n);
    }
    buf_put(out, p, n);
}

/* Replaces *b by TAG(b). */
static void wrap(smbw_buf *b, uint8_t tag)
{
    smbw_buf t;
    buf_init(&t);
    tlv(&t, tag, b->p, b->len);
    buf_free(b);
    *b = t;
}

static const uint8_t OID_SPNEGO[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
static const uint8_t OID_NTLM[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
static const uint8_t OID_NEGOEX[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x1e};
static const uint8_t OID_MSKRB5[] = {0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02};
static const uint8_t OID_KRB5[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
static const uint8_t OID_U2U[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x03};

/* A server NegTokenInit2 as Windows/Samba send in the NEGOTIATE response
 * (MS-SPNG 2.2.1): mechTypes, negHints { hintName }. */
static void server_init2(smbw_buf *out, bool with_ntlm, bool with_krb5)
{
    smbw_buf types, hints, seq;
    buf_init(&types);
    buf_init(&hints);
    buf_init(&seq);
    tlv(&types, 0x06, OID_NEGOEX, sizeof OID_NEGOEX);
    if (with_krb5) {
        tlv(&types, 0x06, OID_MSKRB5, sizeof OID_MSKRB5);
        tlv(&types, 0x06, OID_KRB5, sizeof OID_KRB5);
    }
    tlv(&types, 0x06, OID_U2U, sizeof OID_U2U);
    if (with_ntlm)
        tlv(&types, 0x06, OID_NTLM, sizeof OID_NTLM);
    wrap(&types, 0x30);
    wrap(&types, 0xa0);
    const char *hint = "not_defined_in_RFC4178@please_ignore";
    tlv(&hints, 0x1b, hint, strlen(hint));
    wrap(&hints, 0xa0);
    wrap(&hints, 0x30);
    wrap(&hints, 0xa3);
    buf_put(&seq, types.p, types.len);
    buf_put(&seq, hints.p, hints.len);
    wrap(&seq, 0x30);
    wrap(&seq, 0xa0);
    buf_reset(out);
    tlv(out, 0x06, OID_SPNEGO, sizeof OID_SPNEGO);
    buf_put(out, seq.p, seq.len);
    wrap(out, 0x60);
    buf_free(&types);
    buf_free(&hints);
    buf_free(&seq);
}

/* ---- codec ---- */

START_TEST(encode_init_known_bytes)
{
    static const uint8_t want[] = {0x60, 0x23, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02,
                                   0xa0, 0x19, 0x30, 0x17, 0xa0, 0x0e, 0x30, 0x0c, 0x06, 0x0a,
                                   0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a,
                                   0xa2, 0x05, 0x04, 0x03, 'a',  'b',  'c'};
    enum spnego_mech m = SPNEGO_MECH_NTLMSSP;
    smbw_buf b;
    buf_init(&b);
    ck_assert_int_eq(spnego_encode_init(&m, 1, (const uint8_t *)"abc", 3, &b), 0);
    ck_assert_uint_eq(b.len, sizeof want);
    ck_assert_mem_eq(b.p, want, sizeof want);

    spnego_init si;
    ck_assert_int_eq(spnego_decode_init(b.p, b.len, &si), 0);
    ck_assert_int_eq(si.n_mechs, 1);
    ck_assert_int_eq(si.mechs[0], SPNEGO_MECH_NTLMSSP);
    ck_assert(si.have_mech_token);
    ck_assert_uint_eq(si.mech_token_len, 3);
    ck_assert_mem_eq(si.mech_token, "abc", 3);
    ck_assert_uint_eq(si.mech_types_len, 14);
    ck_assert_mem_eq(si.mech_types, want + 16, 14);

    smbw_buf mt;
    buf_init(&mt);
    ck_assert_int_eq(spnego_encode_mech_types(&m, 1, &mt), 0);
    ck_assert_uint_eq(mt.len, 14);
    ck_assert_mem_eq(mt.p, want + 16, 14);
    buf_free(&mt);
    buf_free(&b);
}
END_TEST

START_TEST(init_round_trip_long)
{
    enum spnego_mech m[2] = {SPNEGO_MECH_MS_KRB5, SPNEGO_MECH_KRB5};
    uint8_t tok[1500];
    for (size_t i = 0; i < sizeof tok; i++)
        tok[i] = (uint8_t)(i * 7);
    smbw_buf b;
    buf_init(&b);
    ck_assert_int_eq(spnego_encode_init(m, 2, tok, sizeof tok, &b), 0);
    ck_assert_uint_eq(b.p[1], 0x82); /* long-form length */
    spnego_init si;
    ck_assert_int_eq(spnego_decode_init(b.p, b.len, &si), 0);
    ck_assert_int_eq(si.n_mechs, 2);
    ck_assert_int_eq(si.mechs[0], SPNEGO_MECH_MS_KRB5);
    ck_assert_int_eq(si.mechs[1], SPNEGO_MECH_KRB5);
    ck_assert_uint_eq(si.mech_token_len, sizeof tok);
    ck_assert_mem_eq(si.mech_token, tok, sizeof tok);
    /* unknown mechanisms cannot be encoded */
    enum spnego_mech bad = SPNEGO_MECH_OTHER;
    ck_assert_int_eq(spnego_encode_init(&bad, 1, NULL, 0, &b), SMBW_EINVAL);
    buf_free(&b);
}
END_TEST

START_TEST(resp_round_trip)
{
    smbw_buf b;
    spnego_resp r;
    buf_init(&b);
    ck_assert_int_eq(spnego_encode_resp(SPNEGO_ACCEPT_INCOMPLETE, SPNEGO_MECH_NTLMSSP,
                                        (const uint8_t *)"tok", 3, (const uint8_t *)"mic!", 4, &b),
                     0);
    ck_assert_uint_eq(b.p[0], 0xa1);
    ck_assert_int_eq(spnego_decode_resp(b.p, b.len, &r), 0);
    ck_assert_int_eq(r.neg_state, SPNEGO_ACCEPT_INCOMPLETE);
    ck_assert(r.have_supported_mech);
    ck_assert_int_eq(r.supported_mech, SPNEGO_MECH_NTLMSSP);
    ck_assert(r.have_token && r.token_len == 3 && memcmp(r.token, "tok", 3) == 0);
    ck_assert(r.have_mic && r.mic_len == 4 && memcmp(r.mic, "mic!", 4) == 0);

    buf_reset(&b);
    ck_assert_int_eq(spnego_encode_resp(SPNEGO_NO_STATE, SPNEGO_MECH_OTHER, NULL, 0, NULL, 0, &b),
                     0);
    static const uint8_t empty[] = {0xa1, 0x02, 0x30, 0x00};
    ck_assert_uint_eq(b.len, 4);
    ck_assert_mem_eq(b.p, empty, 4);
    ck_assert_int_eq(spnego_decode_resp(b.p, b.len, &r), 0);
    ck_assert_int_eq(r.neg_state, SPNEGO_NO_STATE);
    ck_assert(!r.have_supported_mech && !r.have_token && !r.have_mic);

    buf_reset(&b);
    ck_assert_int_eq(
        spnego_encode_resp(SPNEGO_ACCEPT_COMPLETED, SPNEGO_MECH_OTHER, NULL, 0, NULL, 0, &b), 0);
    static const uint8_t done[] = {0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x00};
    ck_assert_uint_eq(b.len, sizeof done);
    ck_assert_mem_eq(b.p, done, sizeof done);
    buf_free(&b);
}
END_TEST

START_TEST(server_negtokeninit2)
{
    smbw_buf b;
    spnego_init si;
    buf_init(&b);
    server_init2(&b, true, true);
    ck_assert_int_eq(spnego_decode_init(b.p, b.len, &si), 0);
    ck_assert_int_eq(si.n_mechs, 5);
    ck_assert_int_eq(si.mechs[0], SPNEGO_MECH_OTHER);
    ck_assert_int_eq(si.mechs[1], SPNEGO_MECH_MS_KRB5);
    ck_assert_int_eq(si.mechs[2], SPNEGO_MECH_KRB5);
    ck_assert_int_eq(si.mechs[3], SPNEGO_MECH_OTHER);
    ck_assert_int_eq(si.mechs[4], SPNEGO_MECH_NTLMSSP);
    ck_assert(si.offered & (1u << SPNEGO_MECH_NTLMSSP));
    ck_assert(!si.have_mech_token);
    server_init2(&b, true, false);
    ck_assert_int_eq(spnego_decode_init(b.p, b.len, &si), 0);
    ck_assert(!(si.offered & (1u << SPNEGO_MECH_KRB5)));
    ck_assert(!(si.offered & (1u << SPNEGO_MECH_MS_KRB5)));
    buf_free(&b);
}
END_TEST

START_TEST(reject_truncated_and_trailing)
{
    smbw_buf b;
    spnego_init si;
    spnego_resp r;
    buf_init(&b);
    server_init2(&b, true, true);
    for (size_t i = 0; i < b.len; i++)
        ck_assert_int_eq(spnego_decode_init(b.p, i, &si), SMBW_EPROTO);
    buf_u8(&b, 0);
    ck_assert_int_eq(spnego_decode_init(b.p, b.len, &si), SMBW_EPROTO);

    buf_reset(&b);
    ck_assert_int_eq(spnego_encode_resp(SPNEGO_ACCEPT_INCOMPLETE, SPNEGO_MECH_NTLMSSP,
                                        (const uint8_t *)"tok", 3, (const uint8_t *)"mic!", 4, &b),
                     0);
    for (size_t i = 0; i < b.len; i++)
        ck_assert_int_eq(spnego_decode_resp(b.p, i, &r), SMBW_EPROTO);
    buf_u8(&b, 0);
    ck_assert_int_eq(spnego_decode_resp(b.p, b.len, &r), SMBW_EPROTO);
    ck_assert_int_eq(spnego_decode_resp(NULL, 0, &r), SMBW_EPROTO);
    ck_assert_int_eq(spnego_decode_init(NULL, 0, &si), SMBW_EPROTO);
    buf_free(&b);
}
END_TEST

static int dec_resp_hex(const uint8_t *p, size_t n)
{
    spnego_resp r;
    return spnego_decode_resp(p, n, &r);
}

START_TEST(reject_bad_der)
{
    /* baseline: a1 07 30 05 a0 03 0a 01 01 */
    static const uint8_t ok[] = {0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x01};
    ck_assert_int_eq(dec_resp_hex(ok, sizeof ok), 0);
    /* outer length too long for the data */
    static const uint8_t over[] = {0xa1, 0x08, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x01};
    ck_assert_int_eq(dec_resp_hex(over, sizeof over), SMBW_EPROTO);
    /* inner length larger than its parent */
    static const uint8_t inner[] = {0xa1, 0x07, 0x30, 0x06, 0xa0, 0x03, 0x0a, 0x01, 0x01};
    ck_assert_int_eq(dec_resp_hex(inner, sizeof inner), SMBW_EPROTO);
    /* indefinite length */
    static const uint8_t indef[] = {0xa1, 0x80, 0x30, 0x05, 0xa0, 0x03,
                                    0x0a, 0x01, 0x01, 0x00, 0x00};
    ck_assert_int_eq(dec_resp_hex(indef, sizeof indef), SMBW_EPROTO);
    /* non-minimal long form */
    static const uint8_t nonmin[] = {0xa1, 0x81, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x01};
    ck_assert_int_eq(dec_resp_hex(nonmin, sizeof nonmin), SMBW_EPROTO);
    static const uint8_t nonmin2[] = {0xa1, 0x82, 0x00, 0x07, 0x30, 0x05,
                                      0xa0, 0x03, 0x0a, 0x01, 0x01};
    ck_assert_int_eq(dec_resp_hex(nonmin2, sizeof nonmin2), SMBW_EPROTO);
    /* 128-byte body: 0x81 0x80 is right, 0x82 0x00 0x80 is not minimal */
    uint8_t big[4 + 128];
    big[0] = 0xa1;
    big[1] = 0x81;
    big[2] = 0x80;
    big[3] = 0x30;
    big[4] = 0x7e;
    big[5] = 0xa2;
    big[6] = 0x7c;
    big[7] = 0x04;
    big[8] = 0x7a;
    memset(big + 9, 0x5a, 122);
    ck_assert_int_eq(dec_resp_hex(big, 3 + 128), 0);
    memmove(big + 4, big + 3, 128);
    big[1] = 0x82;
    big[2] = 0x00;
    big[3] = 0x80;
    ck_assert_int_eq(dec_resp_hex(big, 4 + 128), SMBW_EPROTO);
    /* huge length */
    static const uint8_t huge[] = {0xa1, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30};
    ck_assert_int_eq(dec_resp_hex(huge, sizeof huge), SMBW_EPROTO);
    static const uint8_t toolong[] = {0xa1, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00};
    ck_assert_int_eq(dec_resp_hex(toolong, sizeof toolong), SMBW_EPROTO);
    /* negState out of range, or two bytes long */
    static const uint8_t st4[] = {0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x04};
    ck_assert_int_eq(dec_resp_hex(st4, sizeof st4), SMBW_EPROTO);
    static const uint8_t st2b[] = {0xa1, 0x08, 0x30, 0x06, 0xa0, 0x04, 0x0a, 0x02, 0x00, 0x01};
    ck_assert_int_eq(dec_resp_hex(st2b, sizeof st2b), SMBW_EPROTO);
    /* negState with the wrong universal type (INTEGER) */
    static const uint8_t stint[] = {0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x01};
    ck_assert_int_eq(dec_resp_hex(stint, sizeof stint), SMBW_EPROTO);
    /* fields out of order: [2] then [0] */
    static const uint8_t order[] = {0xa1, 0x0b, 0x30, 0x09, 0xa2, 0x02, 0x04,
                                    0x00, 0xa0, 0x03, 0x0a, 0x01, 0x01};
    ck_assert_int_eq(dec_resp_hex(order, sizeof order), SMBW_EPROTO);
    /* duplicate field */
    static const uint8_t dup[] = {0xa1, 0x0c, 0x30, 0x0a, 0xa0, 0x03, 0x0a,
                                  0x01, 0x01, 0xa0, 0x03, 0x0a, 0x01, 0x01};
    ck_assert_int_eq(dec_resp_hex(dup, sizeof dup), SMBW_EPROTO);
    /* unknown field [4] */
    static const uint8_t unk[] = {0xa1, 0x06, 0x30, 0x04, 0xa4, 0x02, 0x04, 0x00};
    ck_assert_int_eq(dec_resp_hex(unk, sizeof unk), SMBW_EPROTO);
    /* two elements inside one explicit tag */
    static const uint8_t two[] = {0xa1, 0x0a, 0x30, 0x08, 0xa2, 0x06,
                                  0x04, 0x01, 0x41, 0x04, 0x01, 0x42};
    ck_assert_int_eq(dec_resp_hex(two, sizeof two), SMBW_EPROTO);
    /* high-tag-number form */
    static const uint8_t hightag[] = {0xbf, 0x1f, 0x02, 0x30, 0x00};
    ck_assert_int_eq(dec_resp_hex(hightag, sizeof hightag), SMBW_EPROTO);
    /* a NegTokenInit where a NegTokenResp is expected */
    static const uint8_t init[] = {0xa0, 0x02, 0x30, 0x00};
    ck_assert_int_eq(dec_resp_hex(init, sizeof init), SMBW_EPROTO);
}
END_TEST

START_TEST(reject_bad_init)
{
    smbw_buf b, t;
    spnego_init si;
    buf_init(&b);
    buf_init(&t);
    /* wrong outer OID */
    static const uint8_t krb_oid_init[] = {0x60, 0x0f, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                           0x12, 0x01, 0x02, 0x02, 0xa0, 0x02, 0x30, 0x00};
    ck_assert_int_eq(spnego_decode_init(krb_oid_init, sizeof krb_oid_init, &si), SMBW_EPROTO);
    /* mechTypes missing */
    tlv(&t, 0x04, "x", 1);
    wrap(&t, 0xa2);
    wrap(&t, 0x30);
    wrap(&t, 0xa0);
    tlv(&b, 0x06, OID_SPNEGO, sizeof OID_SPNEGO);
    buf_put(&b, t.p, t.len);
    wrap(&b, 0x60);
    ck_assert_int_eq(spnego_decode_init(b.p, b.len, &si), SMBW_EPROTO);
    /* mechTypes holding a non-OID */
    buf_reset(&t);
    buf_reset(&b);
    tlv(&t, 0x04, "x", 1);
    wrap(&t, 0x30);
    wrap(&t, 0xa0);
    wrap(&t, 0x30);
    wrap(&t, 0xa0);
    tlv(&b, 0x06, OID_SPNEGO, sizeof OID_SPNEGO);
    buf_put(&b, t.p, t.len);
    wrap(&b, 0x60);
    ck_assert_int_eq(spnego_decode_init(b.p, b.len, &si), SMBW_EPROTO);
    buf_free(&b);
    buf_free(&t);
}
END_TEST

/* ---- auth_step against a scripted NTLM server ---- */

static const uint8_t srv_chal[8] = {1, 2, 3, 4, 5, 6, 7, 8};

static size_t make_chal(uint8_t *out, bool with_ts)
{
    uint8_t ti[64];
    size_t tl = 0;
    put_u16(ti, MSV_AV_NB_DOMAIN_NAME);
    put_u16(ti + 2, 6);
    memcpy(ti + 4, "D\0O\0M\0", 6);
    tl = 10;
    if (with_ts) {
        put_u16(ti + tl, MSV_AV_TIMESTAMP);
        put_u16(ti + tl + 2, 8);
        put_u64(ti + tl + 4, 0x01d9aabbccddeeffull);
        tl += 12;
    }
    put_u32(ti + tl, 0);
    tl += 4;
    memcpy(out, "NTLMSSP", 8);
    put_u32(out + 8, 2);
    put_u16(out + 12, 0);
    put_u16(out + 14, 0);
    put_u32(out + 16, 56);
    put_u32(out + 20, 0xe28a8235u);
    memcpy(out + 24, srv_chal, 8);
    memset(out + 32, 0, 8);
    put_u16(out + 40, (uint16_t)tl);
    put_u16(out + 42, (uint16_t)tl);
    put_u32(out + 44, 56);
    memset(out + 48, 0, 8);
    memcpy(out + 56, ti, tl);
    return 56 + tl;
}

/* mechListMIC as an NTLM peer computes it (client: client keys). */
static void ntlm_spnego_mic(smbw_auth *a, bool client, uint8_t mic[16])
{
    uint8_t key[16], sk[16], seal[16];
    size_t keylen = sizeof key, sl;
    ck_assert_int_eq(auth_session_key(a, key, &keylen), 0);
    ck_assert_uint_eq(keylen, 16);
    enum spnego_mech m = SPNEGO_MECH_NTLMSSP;
    smbw_buf mt;
    buf_init(&mt);
    ck_assert_int_eq(spnego_encode_mech_types(&m, 1, &mt), 0);
    ck_assert_int_eq(ntlm_sign_key(key, client, sk), 0);
    ck_assert_int_eq(ntlm_seal_key(key, 0xe28a8235u, client, seal, &sl), 0);
    crypto_rc4 *r;
    ck_assert_int_eq(crypto_rc4_new(&r, seal, sl), 0);
    ck_assert_int_eq(ntlm_mac(sk, r, 0, mt.p, mt.len, mic), 0);
    crypto_rc4_free(r);
    buf_free(&mt);
}

/* Runs the NTLM exchange up to the client's final token. */
static smbw_auth *run_to_final(enum auth_mech mech, bool server_list, bool with_ts, smbw_buf *out)
{
    auth_params p = {.mech = mech,
                     .user = "alice",
                     .domain = "DOM",
                     .password = "secret",
                     .target_host = "srv.example"};
    smbw_auth *a;
    smbw_buf in;
    buf_init(&in);
    ck_assert_int_eq(auth_new(&a, &p), 0);
    if (server_list)
        server_init2(&in, true, true);
    ck_assert_int_eq(auth_step(a, in.p, in.len, out), AUTH_CONTINUE);
    spnego_init si;
    ck_assert_int_eq(spnego_decode_init(out->p, out->len, &si), 0);
    ck_assert_int_eq(si.n_mechs, 1);
    ck_assert_int_eq(si.mechs[0], SPNEGO_MECH_NTLMSSP);
    ck_assert(si.have_mech_token);
    ck_assert_uint_ge(si.mech_token_len, 12);
    ck_assert_mem_eq(si.mech_token, "NTLMSSP\0\1\0\0\0", 12);

    uint8_t chal[128];
    size_t n = make_chal(chal, with_ts);
    buf_reset(&in);
    ck_assert_int_eq(
        spnego_encode_resp(SPNEGO_ACCEPT_INCOMPLETE, SPNEGO_MECH_NTLMSSP, chal, n, NULL, 0, &in),
        0);
    ck_assert_int_eq(auth_step(a, in.p, in.len, out), AUTH_DONE);
    buf_free(&in);
    return a;
}

START_TEST(ntlm_flow_with_mic)
{
    smbw_buf out, in;
    buf_init(&out);
    buf_init(&in);
    smbw_auth *a = run_to_final(AUTH_NTLM, true, true, &out);
    spnego_resp r;
    ck_assert_int_eq(spnego_decode_resp(out.p, out.len, &r), 0);
    ck_assert(r.have_token);
    ck_assert_mem_eq(r.token, "NTLMSSP\0\3\0\0\0", 12);
    ck_assert(r.have_mic);
    ck_assert_uint_eq(r.mic_len, 16);
    uint8_t mic[16];
    ntlm_spnego_mic(a, true, mic);
    ck_assert_mem_eq(r.mic, mic, 16);

    ntlm_spnego_mic(a, false, mic);
    ck_assert_int_eq(
        spnego_encode_resp(SPNEGO_ACCEPT_COMPLETED, SPNEGO_MECH_OTHER, NULL, 0, mic, 16, &in), 0);
    ck_assert_int_eq(auth_step(a, in.p, in.len, &out), AUTH_DONE);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_int_eq(auth_mech_used(a), AUTH_NTLM);
    auth_free(a);
    buf_free(&out);
    buf_free(&in);
}
END_TEST

START_TEST(ntlm_flow_bad_server_mic)
{
    smbw_buf out, in;
    buf_init(&out);
    buf_init(&in);
    smbw_auth *a = run_to_final(AUTH_NTLM, false, true, &out);
    uint8_t mic[16];
    ntlm_spnego_mic(a, false, mic);
    mic[9] ^= 1;
    ck_assert_int_eq(
        spnego_encode_resp(SPNEGO_ACCEPT_COMPLETED, SPNEGO_MECH_OTHER, NULL, 0, mic, 16, &in), 0);
    ck_assert_int_eq(auth_step(a, in.p, in.len, &out), SMBW_EAUTH);
    ck_assert_str_ne(auth_errmsg(a), "");
    auth_free(a);

    /* The client's MIC replayed as the server's does not verify either. */
    a = run_to_final(AUTH_NTLM, false, true, &out);
    ntlm_spnego_mic(a, true, mic);
    buf_reset(&in);
    ck_assert_int_eq(
        spnego_encode_resp(SPNEGO_ACCEPT_COMPLETED, SPNEGO_MECH_OTHER, NULL, 0, mic, 16, &in), 0);
    ck_assert_int_eq(auth_step(a, in.p, in.len, &out), SMBW_EAUTH);
    auth_free(a);
    buf_free(&out);
    buf_free(&in);
}
END_TEST

START_TEST(ntlm_flow_missing_server_mic_accepted)
{
    smbw_buf out, in;
    buf_init(&out);
    buf_init(&in);
    /* One mechanism offered and taken: the acceptor's MIC is optional
     * (RFC 4178 section 5; impacket sends none). Its absence is accepted,
     * while a present MIC must verify (ntlm_flow_bad_server_mic). */
    smbw_auth *a = run_to_final(AUTH_NTLM, false, true, &out);
    ck_assert_int_eq(
        spnego_encode_resp(SPNEGO_ACCEPT_COMPLETED, SPNEGO_MECH_OTHER, NULL, 0, NULL, 0, &in), 0);
    ck_assert_int_eq(auth_step(a, in.p, in.len, &out), AUTH_DONE);
    ck_assert_uint_eq(out.len, 0);
    auth_free(a);
    a = run_to_final(AUTH_NTLM, false, true, &out);
    ck_assert_int_eq(auth_step(a, NULL, 0, &out), AUTH_DONE);
    auth_free(a);
    /* but an accept-incomplete at this point is still a protocol error */
    a = run_to_final(AUTH_NTLM, false, true, &out);
    buf_reset(&in);
    ck_assert_int_eq(
        spnego_encode_resp(SPNEGO_ACCEPT_INCOMPLETE, SPNEGO_MECH_OTHER, NULL, 0, NULL, 0, &in), 0);
    ck_assert_int_lt(auth_step(a, in.p, in.len, &out), 0);
    auth_free(a);
    buf_free(&out);
    buf_free(&in);
}
END_TEST

START_TEST(ntlm_flow_without_timestamp)
{
    /* No MsvAvTimestamp: no NTLM MIC, no SPNEGO mechListMIC required. */
    smbw_buf out, in;
    buf_init(&out);
    buf_init(&in);
    smbw_auth *a = run_to_final(AUTH_NTLM, true, false, &out);
    spnego_resp r;
    ck_assert_int_eq(spnego_decode_resp(out.p, out.len, &r), 0);
    ck_assert(r.have_token);
    ck_assert(!r.have_mic);
    ck_assert_int_eq(
        spnego_encode_resp(SPNEGO_ACCEPT_COMPLETED, SPNEGO_MECH_OTHER, NULL, 0, NULL, 0, &in), 0);
    ck_assert_int_eq(auth_step(a, in.p, in.len, &out), AUTH_DONE);
    /* extra call with nothing: still done */
    ck_assert_int_eq(auth_step(a, NULL, 0, &out), AUTH_DONE);
    auth_free(a);
    a = run_to_final(AUTH_NTLM, true, false, &out);
    ck_assert_int_eq(auth_step(a, NULL, 0, &out), AUTH_DONE);
    auth_free(a);
    buf_free(&out);
    buf_free(&in);
}
END_TEST

START_TEST(ntlm_flow_reject_and_garbage)
{
    smbw_buf out, in;
    buf_init(&out);
    buf_init(&in);
    smbw_auth *a = run_to_final(AUTH_NTLM, false, true, &out);
    ck_assert_int_eq(spnego_encode_resp(SPNEGO_REJECT, SPNEGO_MECH_OTHER, NULL, 0, NULL, 0, &in),
                     0);
    ck_assert_int_eq(auth_step(a, in.p, in.len, &out), SMBW_EAUTH);
    /* a failed context stays failed */
    ck_assert_int_lt(auth_step(a, NULL, 0, &out), 0);
    auth_free(a);

    a = run_to_final(AUTH_NTLM, false, true, &out);
    ck_assert_int_eq(auth_step(a, (const uint8_t *)"\x01\x02\x03", 3, &out), SMBW_EPROTO);
    auth_free(a);

    a = run_to_final(AUTH_NTLM, false, true, &out);
    buf_reset(&in);
    ck_assert_int_eq(
        spnego_encode_resp(SPNEGO_ACCEPT_INCOMPLETE, SPNEGO_MECH_OTHER, NULL, 0, NULL, 0, &in), 0);
    ck_assert_int_eq(auth_step(a, in.p, in.len, &out), SMBW_EPROTO);
    auth_free(a);

    /* reject in place of the challenge */
    auth_params p = {.mech = AUTH_NTLM, .user = "u", .password = "p"};
    ck_assert_int_eq(auth_new(&a, &p), 0);
    ck_assert_int_eq(auth_step(a, NULL, 0, &out), AUTH_CONTINUE);
    buf_reset(&in);
    ck_assert_int_eq(spnego_encode_resp(SPNEGO_REJECT, SPNEGO_MECH_OTHER, NULL, 0, NULL, 0, &in),
                     0);
    ck_assert_int_eq(auth_step(a, in.p, in.len, &out), SMBW_EAUTH);
    auth_free(a);

    /* a malformed CHALLENGE inside a valid NegTokenResp */
    ck_assert_int_eq(auth_new(&a, &p), 0);
    ck_assert_int_eq(auth_step(a, NULL, 0, &out), AUTH_CONTINUE);
    buf_reset(&in);
    ck_assert_int_eq(spnego_encode_resp(SPNEGO_ACCEPT_INCOMPLETE, SPNEGO_MECH_NTLMSSP,
                                        (const uint8_t *)"NTLMSSP\0\2\0\0\0", 12, NULL, 0, &in),
                     0);
    ck_assert_int_eq(auth_step(a, in.p, in.len, &out), SMBW_EPROTO);
    auth_free(a);

    /* a server choosing a mechanism we did not offer */
    ck_assert_int_eq(auth_new(&a, &p), 0);
    ck_assert_int_eq(auth_step(a, NULL, 0, &out), AUTH_CONTINUE);
    uint8_t chal[128];
    size_t n = make_chal(chal, true);
    buf_reset(&in);
    ck_assert_int_eq(
        spnego_encode_resp(SPNEGO_ACCEPT_INCOMPLETE, SPNEGO_MECH_KRB5, chal, n, NULL, 0, &in), 0);
    ck_assert_int_eq(auth_step(a, in.p, in.len, &out), SMBW_EPROTO);
    auth_free(a);

    buf_free(&out);
    buf_free(&in);
}
END_TEST

START_TEST(ntlm_not_offered)
{
    auth_params p = {.mech = AUTH_NTLM, .user = "u", .password = "p"};
    smbw_auth *a;
    smbw_buf in, out;
    buf_init(&in);
    buf_init(&out);
    server_init2(&in, false, true);
    ck_assert_int_eq(auth_new(&a, &p), 0);
    ck_assert_int_eq(auth_step(a, in.p, in.len, &out), SMBW_EAUTH);
    auth_free(a);
    /* malformed NEGOTIATE buffer */
    ck_assert_int_eq(auth_new(&a, &p), 0);
    ck_assert_int_eq(auth_step(a, in.p, in.len - 1, &out), SMBW_EPROTO);
    auth_free(a);
    buf_free(&in);
    buf_free(&out);
}
END_TEST

START_TEST(anonymous_flow)
{
    smbw_buf out, in;
    buf_init(&out);
    buf_init(&in);
    smbw_auth *a = run_to_final(AUTH_ANONYMOUS, true, true, &out);
    spnego_resp r;
    ck_assert_int_eq(spnego_decode_resp(out.p, out.len, &r), 0);
    ck_assert(r.have_token && !r.have_mic);
    /* AUTHENTICATE: empty user name */
    ck_assert_uint_eq(get_u16(r.token + 36), 0);
    uint8_t key[16], zero[16] = {0};
    size_t kl = sizeof key;
    ck_assert_int_eq(auth_session_key(a, key, &kl), 0);
    ck_assert_uint_eq(kl, 16);
    ck_assert_mem_eq(key, zero, 16);
    ck_assert_int_eq(
        spnego_encode_resp(SPNEGO_ACCEPT_COMPLETED, SPNEGO_MECH_OTHER, NULL, 0, NULL, 0, &in), 0);
    ck_assert_int_eq(auth_step(a, in.p, in.len, &out), AUTH_DONE);
    ck_assert_int_eq(auth_mech_used(a), AUTH_ANONYMOUS);
    auth_free(a);
    buf_free(&out);
    buf_free(&in);
}
END_TEST

START_TEST(params_and_key_before_done)
{
    smbw_auth *a;
    auth_params p = {.mech = AUTH_NTLM};
    ck_assert_int_eq(auth_new(&a, &p), SMBW_EINVAL); /* no user */
    p.mech = AUTH_KERBEROS;
    ck_assert_int_eq(auth_new(&a, &p), SMBW_EINVAL); /* no host */
    p.mech = (enum auth_mech)42;
    ck_assert_int_eq(auth_new(&a, &p), SMBW_EINVAL);
    p.mech = AUTH_GUEST;
    ck_assert_int_eq(auth_new(&a, &p), 0);
    uint8_t key[16];
    size_t kl = sizeof key;
    ck_assert_int_eq(auth_session_key(a, key, &kl), SMBW_EINVAL);
    auth_free(a);
    auth_free(NULL);
}
END_TEST

START_TEST(kerberos_without_ticket)
{
    setenv("KRB5CCNAME", "FILE:/nonexistent/smbwire-test-ccache", 1);
    setenv("KRB5_CONFIG", "/dev/null", 1);
    auth_params p = {.mech = AUTH_KERBEROS, .target_host = "srv.example"};
    smbw_auth *a;
    smbw_buf out;
    buf_init(&out);
#if SMBW_HAVE_GSSAPI
    ck_assert_int_eq(auth_new(&a, &p), 0);
    ck_assert_int_eq(auth_step(a, NULL, 0, &out), SMBW_EKRB5);
    const char *msg = auth_errmsg(a);
    ck_assert_msg(strstr(msg, "credentials") != NULL, "message: %s", msg);
    ck_assert_msg(strstr(msg, "cifs/srv.example") != NULL, "message: %s", msg);
    auth_free(a);

    /* With the fallback allowed: NTLM, and it says so. */
    p.user = "alice";
    p.password = "secret";
    p.krb5_allow_ntlm_fallback = true;
    ck_assert_int_eq(auth_new(&a, &p), 0);
    ck_assert_int_eq(auth_step(a, NULL, 0, &out), AUTH_CONTINUE);
    ck_assert_int_eq(auth_mech_used(a), AUTH_NTLM);
    ck_assert_msg(strstr(auth_errmsg(a), "falling back to NTLM") != NULL, "%s", auth_errmsg(a));
    spnego_init si;
    ck_assert_int_eq(spnego_decode_init(out.p, out.len, &si), 0);
    ck_assert_int_eq(si.mechs[0], SPNEGO_MECH_NTLMSSP);
    auth_free(a);

    /* A server that offers no Kerberos at all. */
    p.krb5_allow_ntlm_fallback = false;
    smbw_buf in;
    buf_init(&in);
    server_init2(&in, true, false);
    ck_assert_int_eq(auth_new(&a, &p), 0);
    ck_assert_int_eq(auth_step(a, in.p, in.len, &out), SMBW_EAUTH);
    auth_free(a);
    buf_free(&in);
#else
    ck_assert_int_eq(auth_new(&a, &p), SMBW_ENOTSUP);
#endif
    buf_free(&out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("spnego");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, encode_init_known_bytes);
    tcase_add_test(tc, init_round_trip_long);
    tcase_add_test(tc, resp_round_trip);
    tcase_add_test(tc, server_negtokeninit2);
    tcase_add_test(tc, reject_truncated_and_trailing);
    tcase_add_test(tc, reject_bad_der);
    tcase_add_test(tc, reject_bad_init);
    suite_add_tcase(s, tc);
    TCase *tf = tcase_create("flow");
    tcase_add_test(tf, ntlm_flow_with_mic);
    tcase_add_test(tf, ntlm_flow_bad_server_mic);
    tcase_add_test(tf, ntlm_flow_missing_server_mic_accepted);
    tcase_add_test(tf, ntlm_flow_without_timestamp);
    tcase_add_test(tf, ntlm_flow_reject_and_garbage);
    tcase_add_test(tf, ntlm_not_offered);
    tcase_add_test(tf, anonymous_flow);
    tcase_add_test(tf, params_and_key_before_done);
    tcase_add_test(tf, kerberos_without_ticket);
    suite_add_tcase(s, tf);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
