/* Connection setup as build/apply steps (lib/core/setup.c), without I/O.
 *
 * Hand-made NEGOTIATE answers check each rule of setup_negotiate_apply.
 * Recorded Samba conversations (tests/fuzz/corpus/client/samba-*, recorded
 * by record_client with the deterministic random source this test is linked
 * with, det_random.c) drive NEGOTIATE, both SESSION_SETUP legs, TREE_CONNECT
 * and, on 3.0, VALIDATE_NEGOTIATE_INFO: each request is built, submitted to
 * the core, taken from its output; the recorded answer is fed to the core
 * and applied. The final SESSION_SETUP signature is verified (the keys come
 * out as recorded), so a tampered answer must fail. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/setup.h"
#include "lib/util/status.h"
#include "tests/common/rawbytes.h"
#include "tests/unit/det_random.h"

/* ---- hand-made NEGOTIATE answers ------------------------------------------ */

static smbw_conn *newconn(void)
{
    smbw_conn *c;
    ck_assert_int_eq(smbw_conn_new(&c), 0);
    c->host = strdup("srv.example");
    ck_assert_ptr_nonnull(c->host);
    return c;
}

/* A NEGOTIATE response (header + body) with an 8-byte security buffer and,
 * for 3.1.1, a SHA-512 preauth context and an AES-128-GCM cipher context. */
static size_t neg_rsp(uint8_t *m, uint32_t status, uint16_t dialect, uint32_t max_io)
{
    memset(m, 0, 256);
    put_u32(m, SMB2_PROTO_ID);
    put_u16(m + 4, 64);
    put_u32(m + 8, status);
    put_u16(m + 12, SMB2_NEGOTIATE);
    put_u16(m + 14, 1);
    put_u32(m + 16, SMB2_FLAGS_SERVER_TO_REDIR);
    uint8_t *b = m + 64;
    put_u16(b, 65);
    put_u16(b + 2, SMB2_NEGOTIATE_SIGNING_ENABLED);
    put_u16(b + 4, dialect);
    for (int i = 0; i < 16; i++)
        b[8 + i] = (uint8_t)(0xA0 + i);
    put_u32(b + 24, SMB2_GLOBAL_CAP_LARGE_MTU | SMB2_GLOBAL_CAP_ENCRYPTION);
    put_u32(b + 28, max_io); /* MaxTransactSize */
    put_u32(b + 32, max_io); /* MaxReadSize */
    put_u32(b + 36, max_io); /* MaxWriteSize */
    put_u16(b + 56, 128);    /* SecurityBufferOffset */
    put_u16(b + 58, 8);      /* SecurityBufferLength */
    memcpy(m + 128, "SPNEGO!!", 8);
    if (dialect != SMBW_SMB3_11)
        return 136;
    put_u16(b + 6, 2);    /* NegotiateContextCount */
    put_u32(b + 60, 136); /* NegotiateContextOffset */
    uint8_t *x = m + 136;
    put_u16(x, SMB2_PREAUTH_INTEGRITY_CAPABILITIES);
    put_u16(x + 2, 38);
    put_u16(x + 8, 1);   /* HashAlgorithmCount */
    put_u16(x + 10, 32); /* SaltLength */
    put_u16(x + 12, SMB2_PREAUTH_SHA512);
    x = m + 136 + 8 + 40; /* 38 rounded up to 8 */
    put_u16(x, SMB2_ENCRYPTION_CAPABILITIES);
    put_u16(x + 2, 4);
    put_u16(x + 8, 1);
    put_u16(x + 10, SMB2_ENCRYPTION_AES128_GCM);
    return (size_t)(x + 12 - m);
}

static int apply_neg(smbw_conn *c, const uint8_t *m, size_t len)
{
    smb2_hdr h;
    ck_assert_int_eq(wire_decode_hdr(m, len, &h), 0);
    return setup_negotiate_apply(c, &h, m, len);
}

START_TEST(test_negotiate_build)
{
    smbw_conn *c = newconn();
    ck_assert_int_eq(smbw_conn_set_dialects(c, SMBW_SMB2_10, SMBW_SMB3_02), 0);
    c->sign_policy = SMBW_SIGN_REQUIRED;
    core_msg m;
    ck_assert_int_eq(setup_negotiate_build(c, &m), 0);
    ck_assert_uint_eq(m.command, SMB2_NEGOTIATE);
    ck_assert_ptr_eq(m.preauth_hash, c->preauth);
    ck_assert_uint_eq(c->noffered, 3);
    ck_assert_uint_eq(c->offered[0], SMBW_SMB2_10);
    ck_assert_uint_eq(c->offered[2], SMBW_SMB3_02);
    ck_assert_uint_eq(c->client_security_mode,
                      SMB2_NEGOTIATE_SIGNING_ENABLED | SMB2_NEGOTIATE_SIGNING_REQUIRED);
    ck_assert_uint_eq(c->client_caps, SMB2_GLOBAL_CAP_LARGE_MTU | SMB2_GLOBAL_CAP_ENCRYPTION);
    /* The body: StructureSize 36, DialectCount, SecurityMode, the dialects. */
    ck_assert_uint_eq(get_u16(m.body.p), 36);
    ck_assert_uint_eq(get_u16(m.body.p + 2), 3);
    ck_assert_uint_eq(get_u16(m.body.p + 4), c->client_security_mode);
    ck_assert_mem_eq(m.body.p + 12, c->client_guid, 16);
    ck_assert_uint_eq(get_u16(m.body.p + 36), SMBW_SMB2_10);
    ck_assert_uint_eq(get_u16(m.body.p + 40), SMBW_SMB3_02);
    buf_free(&m.body);
    smbw_conn_free(c);
}
END_TEST

/* Starts an NTLM session setup of the test user on c. */
static void begin_ntlm(setup_sess *st, smbw_conn *c)
{
    smbw_creds cr = SMBW_CREDS_INIT;
    cr.kind = SMBW_AUTH_NTLM;
    cr.user = "smbwtest";
    cr.password = "smbw-Pass1";
    ck_assert_int_eq(setup_sess_begin(st, c, &cr), 0);
}

/* A SESSION_SETUP request carries the PreviousSessionId it was given (a
 * reconnect names the session it replaces, MS-SMB2 2.2.5: body offset 16),
 * and 0 otherwise. */
START_TEST(test_session_previous_id)
{
    for (int k = 0; k < 2; k++) {
        smbw_conn *c = newconn();
        setup_sess st;
        begin_ntlm(&st, c);
        uint64_t prev = k ? 0x0123456789abcdefULL : 0;
        st.previous = prev;
        core_msg m;
        ck_assert_int_eq(setup_sess_build(&st, &m), 0);
        ck_assert_uint_eq(m.command, SMB2_SESSION_SETUP);
        ck_assert_uint_ge(m.body.len, 24);
        ck_assert_uint_eq(get_u16(m.body.p), 25);
        ck_assert_uint_eq(get_u64(m.body.p + 16), prev);
        buf_free(&m.body);
        struct smbw_session *out = NULL;
        ck_assert_int_eq(setup_sess_end(&st, SMBW_ECANCELED, &out), SMBW_ECANCELED);
        ck_assert_ptr_null(out);
        smbw_conn_free(c);
    }
}
END_TEST

START_TEST(test_negotiate_apply_311)
{
    smbw_conn *c = newconn();
    core_msg m;
    ck_assert_int_eq(setup_negotiate_build(c, &m), 0);
    buf_free(&m.body);
    uint8_t zero[64] = {0}, r[256];
    size_t n = neg_rsp(r, 0, SMBW_SMB3_11, 16u << 20);
    ck_assert_int_eq(apply_neg(c, r, n), 0);
    ck_assert_uint_eq(c->dialect, SMBW_SMB3_11);
    ck_assert_uint_eq(c->max_read, 8u << 20); /* our ceiling */
    ck_assert_uint_eq(c->cipher, SMB2_ENCRYPTION_AES128_GCM);
    ck_assert_uint_eq(c->sign_alg, SMB2_SIGN_ALG_AES_CMAC);
    ck_assert_uint_eq(c->neg_token_len, 8);
    ck_assert_mem_eq(c->neg_token, "SPNEGO!!", 8);
    ck_assert_mem_eq(c->server_guid, r + 64 + 8, 16);
    ck_assert(memcmp(c->preauth, zero, 64) != 0); /* the answer was hashed */
    ck_assert(!c->dead);
    smbw_conn_free(c);
}
END_TEST

START_TEST(test_negotiate_apply_older)
{
    smbw_conn *c = newconn();
    core_msg m;
    ck_assert_int_eq(setup_negotiate_build(c, &m), 0);
    buf_free(&m.body);
    uint8_t r[256];
    size_t n = neg_rsp(r, 0, SMBW_SMB3_00, 1u << 20);
    ck_assert_int_eq(apply_neg(c, r, n), 0);
    ck_assert_uint_eq(c->cipher, SMB2_ENCRYPTION_AES128_CCM);
    ck_assert_uint_eq(c->max_write, 1u << 20);
    smbw_conn_free(c);

    c = newconn();
    ck_assert_int_eq(setup_negotiate_build(c, &m), 0);
    buf_free(&m.body);
    n = neg_rsp(r, 0, SMBW_SMB2_10, 1u << 20);
    ck_assert_int_eq(apply_neg(c, r, n), 0);
    ck_assert_uint_eq(c->cipher, 0);
    ck_assert_uint_eq(c->sign_alg, SMB2_SIGN_ALG_HMAC_SHA256);
    smbw_conn_free(c);
}
END_TEST

/* smbw_conn_set_signing_algs: the NEGOTIATE's SIGNING_CAPABILITIES lists
 * what was set, in order; the server's choice must be one of them; the
 * arguments it refuses. */
static size_t neg_rsp_signing(uint8_t *m, uint16_t alg)
{
    size_t n = neg_rsp(m, 0, SMBW_SMB3_11, 1u << 20);
    uint8_t *x = m + ((n + 7) & ~(size_t)7);
    put_u16(m + 64 + 6, 3); /* NegotiateContextCount */
    memset(x, 0, 12);
    put_u16(x, SMB2_SIGNING_CAPABILITIES);
    put_u16(x + 2, 4);
    put_u16(x + 8, 1);
    put_u16(x + 10, alg);
    return (size_t)(x + 12 - m);
}

START_TEST(test_signing_algs)
{
    smbw_conn *c = newconn();
    enum smbw_sign_alg bad[4] = {SMBW_SIGN_ALG_AES_128_CMAC, SMBW_SIGN_ALG_AES_128_CMAC,
                                 (enum smbw_sign_alg)3, SMBW_SIGN_ALG_HMAC_SHA256};
    ck_assert_int_eq(smbw_conn_set_signing_algs(NULL, bad, 1), SMBW_EINVAL);
    ck_assert_int_eq(smbw_conn_set_signing_algs(c, NULL, 1), SMBW_EINVAL);
    ck_assert_int_eq(smbw_conn_set_signing_algs(c, bad, 0), SMBW_EINVAL);
    ck_assert_int_eq(smbw_conn_set_signing_algs(c, bad, 4), SMBW_EINVAL);
    ck_assert_int_eq(smbw_conn_set_signing_algs(c, bad, 2), SMBW_EINVAL);     /* repeated */
    ck_assert_int_eq(smbw_conn_set_signing_algs(c, bad + 2, 1), SMBW_EINVAL); /* unknown */
    enum smbw_sign_alg two[2] = {SMBW_SIGN_ALG_HMAC_SHA256, SMBW_SIGN_ALG_AES_128_CMAC};
    ck_assert_int_eq(smbw_conn_set_signing_algs(c, two, 2), 0);
    core_msg m;
    ck_assert_int_eq(setup_negotiate_build(c, &m), 0);
    /* Find SIGNING_CAPABILITIES among the contexts (offsets from the header). */
    uint32_t off = get_u32(m.body.p + 28);
    uint16_t count = get_u16(m.body.p + 32);
    bool found = false;
    for (uint16_t i = 0; i < count; i++) {
        ck_assert_uint_ge(off, 64);
        const uint8_t *x = m.body.p + off - 64;
        uint16_t type = get_u16(x), len = get_u16(x + 2);
        if (type == SMB2_SIGNING_CAPABILITIES) {
            ck_assert_uint_eq(len, 6);
            ck_assert_uint_eq(get_u16(x + 8), 2);
            ck_assert_uint_eq(get_u16(x + 10), SMB2_SIGNING_HMAC_SHA256);
            ck_assert_uint_eq(get_u16(x + 12), SMB2_SIGNING_AES_CMAC);
            found = true;
        }
        off += (uint32_t)((8 + len + 7) & ~7);
    }
    ck_assert(found);
    buf_free(&m.body);
    uint8_t r[256];
    size_t n = neg_rsp_signing(r, SMB2_SIGNING_HMAC_SHA256);
    ck_assert_int_eq(apply_neg(c, r, n), 0);
    ck_assert_uint_eq(c->sign_alg, SMB2_SIGN_ALG_HMAC_SHA256);
    ck_assert_int_eq(smbw_conn_set_signing_algs(c, two, 1), SMBW_EINVAL); /* connected */
    smbw_conn_free(c);

    /* GMAC chosen, but only HMAC-SHA256 and CMAC offered. */
    c = newconn();
    ck_assert_int_eq(smbw_conn_set_signing_algs(c, two, 2), 0);
    ck_assert_int_eq(setup_negotiate_build(c, &m), 0);
    buf_free(&m.body);
    n = neg_rsp_signing(r, SMB2_SIGNING_AES_GMAC);
    ck_assert_int_eq(apply_neg(c, r, n), SMBW_EPROTO);
    ck_assert(c->dead);
    ck_assert_ptr_nonnull(strstr(c->errmsg, "not offered"));
    smbw_conn_free(c);
}
END_TEST

/* Each bad answer: the expected error, and whether it kills the connection. */
START_TEST(test_negotiate_apply_refusals)
{
    struct {
        uint32_t status;
        uint16_t dialect, dmax;
        uint32_t max_io;
        int enc_required;
        int err;
        bool dead;
    } t[] = {
        {SMBW_STATUS_NOT_SUPPORTED, SMBW_SMB3_11, 0, 1 << 20, 0, SMBW_EDIALECT, false},
        {SMBW_STATUS_ACCESS_DENIED, SMBW_SMB3_11, 0, 1 << 20, 0, SMBW_EACCES, false},
        {0, SMBW_SMB3_11, SMBW_SMB3_02, 1 << 20, 0, SMBW_EPROTO, true}, /* not offered */
        {0, 0x0333, 0, 1 << 20, 0, SMBW_EPROTO, true},                  /* unknown */
        {0, SMBW_SMB3_11, 0, 4095, 0, SMBW_EPROTO, true},               /* unusable sizes */
        {0, SMBW_SMB2_10, 0, 1 << 20, 1, SMBW_EPOLICY, true},           /* no encryption */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        smbw_conn *c = newconn();
        if (t[i].dmax)
            ck_assert_int_eq(smbw_conn_set_dialects(c, 0, t[i].dmax), 0);
        c->encrypt_policy = t[i].enc_required;
        core_msg m;
        ck_assert_int_eq(setup_negotiate_build(c, &m), 0);
        buf_free(&m.body);
        uint8_t r[256];
        size_t n = neg_rsp(r, t[i].status, t[i].dialect, t[i].max_io);
        ck_assert_msg(apply_neg(c, r, n) == t[i].err, "case %zu", i);
        ck_assert_msg(c->dead == t[i].dead, "case %zu", i);
        smbw_conn_free(c);
    }
}
END_TEST

START_TEST(test_negotiate_apply_truncated)
{
    smbw_conn *c = newconn();
    core_msg m;
    ck_assert_int_eq(setup_negotiate_build(c, &m), 0);
    buf_free(&m.body);
    uint8_t r[256];
    size_t n = neg_rsp(r, 0, SMBW_SMB3_11, 1 << 20);
    ck_assert_int_eq(apply_neg(c, r, n - 20), SMBW_EPROTO);
    ck_assert(c->dead);
    smbw_conn_free(c);
}
END_TEST

/* ---- recorded conversations --------------------------------------------- */

typedef struct stream {
    uint8_t *p;
    size_t len, off;
} stream;

static void stream_load(stream *s, const char *name)
{
    const char *dir = getenv("SMBW_CLIENT_CORPUS");
    ck_assert_ptr_nonnull(dir);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    s->p = malloc(1 << 16);
    s->len = fread(s->p, 1, 1 << 16, f);
    s->off = 0;
    fclose(f);
    ck_assert_uint_gt(s->len, 64);
}

/* The next recorded frame (transport header included) into *len. */
static uint8_t *stream_next(stream *s, size_t *len)
{
    ck_assert_uint_ge(s->len - s->off, 4);
    uint8_t *p = s->p + s->off;
    size_t n = 4 + ((size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3]);
    ck_assert_uint_le(n, s->len - s->off);
    s->off += n;
    *len = n;
    return p;
}

typedef struct answer {
    int calls, err;
    smb2_hdr h;
    smbw_buf msg;
} answer;

static int on_answer(void *ud, int err, const smb2_hdr *h, const uint8_t *msg, size_t len)
{
    answer *a = ud;
    a->calls++;
    a->err = err;
    if (!err) {
        a->h = *h;
        buf_reset(&a->msg);
        buf_put(&a->msg, msg, len);
    }
    return 0;
}

/* Submits m, takes the request from the core's output, feeds the next
 * recorded frame (with byte `flip` of the message inverted when >= 0) and
 * returns the answer the core delivered. */
static void exchange(smbw_conn *c, core_msg *m, stream *s, answer *a, long flip)
{
    a->calls = 0;
    m->done = on_answer;
    m->ud = a;
    ck_assert_int_eq(core_submit(c, m, 1, false), 0);
    size_t olen;
    (void)core_output(c, &olen);
    ck_assert_uint_gt(olen, 64);
    core_consumed(c, olen);
    size_t n;
    uint8_t *f = stream_next(s, &n);
    if (flip >= 0)
        f[4 + flip] ^= 0xff;
    ck_assert_int_eq(core_feed(c, f, n), 0);
    if (flip >= 0)
        f[4 + flip] ^= 0xff;
    ck_assert_int_eq(a->calls, 1);
    ck_assert_int_eq(a->err, 0);
}

/* NEGOTIATE, session setup and tree connect of a recorded conversation;
 * flip_final >= 0 corrupts that byte of the final SESSION_SETUP answer.
 * Returns the session setup's result. */
static int replay_setup(const char *name, uint16_t dialect, long flip_final)
{
    stream s;
    stream_load(&s, name);
    det_random_reset();
    smbw_conn *c;
    ck_assert_int_eq(smbw_conn_new(&c), 0);
    c->host = strdup("127.0.0.1");                 /* as record_client names the server */
    c->fd = open("/dev/null", O_RDWR | O_CLOEXEC); /* never used: no I/O here */
    ck_assert_int_ge(c->fd, 0);
    struct smbw_session *sess = NULL;
    struct smbw_tree *t = NULL;
    answer a;
    memset(&a, 0, sizeof a);
    buf_init(&a.msg);

    core_msg m;
    ck_assert_int_eq(setup_negotiate_build(c, &m), 0);
    exchange(c, &m, &s, &a, -1);
    ck_assert_int_eq(setup_negotiate_apply(c, &a.h, a.msg.p, a.msg.len), 0);
    ck_assert_uint_eq(c->dialect, dialect);

    setup_sess st;
    begin_ntlm(&st, c);
    ck_assert_ptr_eq(c->sessions, st.s);
    int rc;
    int legs = 0;
    do {
        ck_assert_int_eq(setup_sess_build(&st, &m), 0);
        legs++;
        exchange(c, &m, &s, &a, legs == 2 ? flip_final : -1);
        rc = setup_sess_apply(&st, &a.h, a.msg.p, a.msg.len);
    } while (rc == SETUP_MORE);
    ck_assert_int_eq(legs, 2);
    ck_assert_int_eq(setup_sess_end(&st, rc, &sess), rc);
    if (rc) {
        ck_assert_ptr_null(sess);
        ck_assert_ptr_null(c->sessions);
        ck_assert(rc != SMBW_ECRYPTO || c->dead);
        goto out;
    }
    ck_assert(sess->valid && sess->signing);
    ck_assert_str_eq(sess->auth_mech, "NTLMv2");

    ck_assert_int_eq(setup_tree_build(sess, "share1", &m), 0);
    exchange(c, &m, &s, &a, -1);
    ck_assert_int_eq(setup_tree_apply(sess, "share1", &a.h, a.msg.p, a.msg.len, &t), 0);
    ck_assert_uint_ne(t->id, 0);
    bool validate = dialect == SMBW_SMB3_00 || dialect == SMBW_SMB3_02;
    ck_assert(setup_tree_needs_validate(t) == validate);
    if (validate) {
        ck_assert_int_eq(setup_validate_build(t, &m), 0);
        exchange(c, &m, &s, &a, -1);
        ck_assert_int_eq(setup_validate_apply(c, &a.h, a.msg.p, a.msg.len), 0);
        ck_assert(c->negotiate_validated);
        ck_assert(!setup_tree_needs_validate(t));
    }
    setup_tree_link(t);
    ck_assert_ptr_eq(sess->trees, t);
    ck_assert(!c->dead);
out:
    buf_free(&a.msg);
    free(s.p);
    smbw_conn_free(c); /* detaches the session and its tree */
    if (sess) {
        sess->trees = NULL;
        free(t->share);
        free(t);
        setup_sess_destroy(sess); /* frees the kept user, domain and target names too */
    }
    return rc;
}

START_TEST(test_recorded_311)
{
    ck_assert_int_eq(replay_setup("samba-SMB3_11", SMBW_SMB3_11, -1), 0);
}
END_TEST

START_TEST(test_recorded_300_validates)
{
    ck_assert_int_eq(replay_setup("samba-SMB3_00", SMBW_SMB3_00, -1), 0);
}
END_TEST

START_TEST(test_recorded_202)
{
    ck_assert_int_eq(replay_setup("samba-SMB2_02", SMBW_SMB2_02, -1), 0);
}
END_TEST

/* Byte 48 is inside the header's Signature: the final answer's MAC. */
START_TEST(test_recorded_tampered_final)
{
    ck_assert_int_eq(replay_setup("samba-SMB3_11", SMBW_SMB3_11, 48), SMBW_ECRYPTO);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("setup");
    TCase *tc = tcase_create("setup");
    tcase_add_test(tc, test_negotiate_build);
    tcase_add_test(tc, test_negotiate_apply_311);
    tcase_add_test(tc, test_session_previous_id);
    tcase_add_test(tc, test_negotiate_apply_older);
    tcase_add_test(tc, test_negotiate_apply_refusals);
    tcase_add_test(tc, test_signing_algs);
    tcase_add_test(tc, test_negotiate_apply_truncated);
    tcase_add_test(tc, test_recorded_311);
    tcase_add_test(tc, test_recorded_300_validates);
    tcase_add_test(tc, test_recorded_202);
    tcase_add_test(tc, test_recorded_tampered_final);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
