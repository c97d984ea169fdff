/* The sans-IO core fed scripted server bytes: no socket anywhere. Checks
 * message ids, credit accounting and waiting, compound splitting, interim
 * STATUS_PENDING, and that protocol violations kill the connection. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/core/core.h"
#include "lib/io/io.h"
#include "lib/util/status.h"
#include "tests/common/rawbytes.h"

typedef struct done_log {
    int calls;
    int err;
    uint32_t status;
    uint64_t mid;
} done_log;

static int on_done(void *ud, int err, const smb2_hdr *h, const uint8_t *msg, size_t len)
{
    done_log *d = ud;
    d->calls++;
    d->err = err;
    if (h) {
        d->status = h->status;
        d->mid = h->message_id;
    }
    return 0;
}

static smbw_conn *mkconn(uint16_t dialect, uint32_t credits)
{
    smbw_conn *c;
    ck_assert_int_eq(smbw_conn_new(&c), 0);
    c->fd = 1000; /* never used: the core does no I/O */
    c->dialect = dialect;
    c->server_caps = SMB2_GLOBAL_CAP_LARGE_MTU;
    c->max_read = c->max_write = c->max_transact = 8 << 20;
    c->max_frame = (8 << 20) + 65536;
    c->credits = credits;
    return c;
}

static void submit_echo(smbw_conn *c, done_log *d, uint32_t payload, uint16_t cmd)
{
    core_msg m;
    memset(&m, 0, sizeof m);
    m.command = cmd;
    m.payload = payload;
    buf_init(&m.body);
    ck_assert_int_eq(wire_encode_empty4(&m.body), 0);
    m.done = on_done;
    m.ud = d;
    ck_assert_int_eq(core_submit(c, &m, 1, false), 0);
}

/* An ECHO on a session (signed when the session signs). */
static void submit_echo_enc(smbw_conn *c, done_log *d, struct smbw_session *sess, bool encrypt)
{
    core_msg m;
    memset(&m, 0, sizeof m);
    m.command = SMB2_ECHO;
    m.sess = sess;
    m.encrypt = encrypt; /* as for a share that demands encryption */
    buf_init(&m.body);
    ck_assert_int_eq(wire_encode_empty4(&m.body), 0);
    m.done = on_done;
    m.ud = d;
    ck_assert_int_eq(core_submit(c, &m, 1, false), 0);
}

static void submit_echo_on(smbw_conn *c, done_log *d, struct smbw_session *sess)
{
    submit_echo_enc(c, d, sess, false);
}

/* Takes one frame from the core's output; returns its header. */
static size_t take_frame(smbw_conn *c, uint8_t *out, size_t cap)
{
    size_t len;
    const uint8_t *p = core_output(c, &len);
    ck_assert_uint_ge(len, 4);
    size_t flen = ((size_t)p[1] << 16) | ((size_t)p[2] << 8) | p[3];
    ck_assert_uint_ge(len, 4 + flen);
    ck_assert_uint_le(flen, cap);
    memcpy(out, p + 4, flen);
    core_consumed(c, 4 + flen);
    return flen;
}

/* A response message (header + body) for command/mid. */
static size_t rsp(uint8_t *m, uint16_t cmd, uint64_t mid, uint32_t status, uint16_t credits,
                  uint32_t flags, const uint8_t *body, size_t blen)
{
    memset(m, 0, 64);
    put_u32(m, SMB2_PROTO_ID);
    put_u16(m + 4, 64);
    put_u32(m + 8, status);
    put_u16(m + 12, cmd);
    put_u16(m + 14, credits);
    put_u32(m + 16, SMB2_FLAGS_SERVER_TO_REDIR | flags);
    put_u64(m + 24, mid);
    memcpy(m + 64, body, blen);
    return 64 + blen;
}

static const uint8_t echo_body[4] = {4, 0, 0, 0};

static void feed_frame(smbw_conn *c, const uint8_t *msg, size_t len, int expect)
{
    uint8_t *f = malloc(len + 4);
    f[0] = 0;
    f[1] = (uint8_t)(len >> 16);
    f[2] = (uint8_t)(len >> 8);
    f[3] = (uint8_t)len;
    memcpy(f + 4, msg, len);
    ck_assert_int_eq(core_feed(c, f, len + 4), expect);
    free(f);
}

START_TEST(test_mids_and_credits)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 1);
    done_log a = {0}, b = {0};
    submit_echo(c, &a, 0, SMB2_ECHO);
    submit_echo(c, &b, 0, SMB2_ECHO);
    /* one credit: the second request waits */
    uint8_t fr[256];
    size_t n = take_frame(c, fr, sizeof fr);
    ck_assert_uint_eq(n, 68);
    ck_assert_uint_eq(get_u64(fr + 24), 0);
    size_t left;
    core_output(c, &left);
    ck_assert_uint_eq(left, 0);
    ck_assert_uint_eq(core_pending_count(c), 2);
    /* the answer grants 10 credits: the second goes out with mid 1 */
    uint8_t m[128];
    size_t ml = rsp(m, SMB2_ECHO, 0, 0, 10, 0, echo_body, 4);
    feed_frame(c, m, ml, 0);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.err, 0);
    n = take_frame(c, fr, sizeof fr);
    ck_assert_uint_eq(get_u64(fr + 24), 1);
    ck_assert_uint_eq(c->credits, 9);
    smbw_conn_free(c);
    ck_assert_int_eq(b.calls, 1);
    ck_assert_int_eq(b.err, SMBW_ECANCELED);
}
END_TEST

START_TEST(test_credit_charge)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 100);
    done_log a = {0}, b = {0};
    submit_echo(c, &a, 1 << 20, SMB2_ECHO); /* 16 credits */
    submit_echo(c, &b, 65537, SMB2_ECHO);   /* 2 credits */
    uint8_t fr[256];
    take_frame(c, fr, sizeof fr);
    ck_assert_uint_eq(get_u16(fr + 6), 16); /* CreditCharge */
    ck_assert_uint_eq(get_u64(fr + 24), 0);
    take_frame(c, fr, sizeof fr);
    ck_assert_uint_eq(get_u16(fr + 6), 2);
    ck_assert_uint_eq(get_u64(fr + 24), 16); /* mids advance by the charge */
    ck_assert_uint_eq(c->credits, 82);
    smbw_conn_free(c);
}
END_TEST

START_TEST(test_smb2_02_charge_zero)
{
    smbw_conn *c = mkconn(SMBW_SMB2_02, 5);
    c->server_caps = 0;
    done_log a = {0};
    submit_echo(c, &a, 60000, SMB2_ECHO);
    uint8_t fr[256];
    take_frame(c, fr, sizeof fr);
    ck_assert_uint_eq(get_u16(fr + 6), 0);
    smbw_conn_free(c);
}
END_TEST

START_TEST(test_too_few_credits_fatal)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 1);
    done_log a = {0}, b = {0};
    submit_echo(c, &a, 0, SMB2_ECHO);
    submit_echo(c, &b, 1 << 20, SMB2_ECHO); /* needs 16 */
    uint8_t fr[256], m[128];
    take_frame(c, fr, sizeof fr);
    /* the server answers but grants nothing: nothing in flight, 16 needed */
    size_t ml = rsp(m, SMB2_ECHO, 0, 0, 0, 0, echo_body, 4);
    feed_frame(c, m, ml, SMBW_EPROTO);
    ck_assert(c->dead);
    ck_assert_int_eq(b.calls, 1);
    ck_assert_int_eq(b.err, SMBW_EPROTO);
    ck_assert_ptr_nonnull(strstr(c->errmsg, "credits"));
    smbw_conn_free(c);
}
END_TEST

START_TEST(test_interim_pending)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
    done_log a = {0};
    submit_echo(c, &a, 0, SMB2_ECHO);
    uint8_t fr[256], m[128];
    take_frame(c, fr, sizeof fr);
    uint8_t err9[9] = {9, 0};
    size_t ml = rsp(m, SMB2_ECHO, 0, SMBW_STATUS_PENDING, 1, SMB2_FLAGS_ASYNC_COMMAND, err9, 9);
    put_u64(m + 32, 0x55); /* AsyncId */
    feed_frame(c, m, ml, 0);
    ck_assert_int_eq(a.calls, 0); /* still waiting */
    ck_assert_uint_eq(core_pending_count(c), 1);
    ml = rsp(m, SMB2_ECHO, 0, 0, 0, SMB2_FLAGS_ASYNC_COMMAND, echo_body, 4);
    feed_frame(c, m, ml, 0);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.err, 0);
    smbw_conn_free(c);
}
END_TEST

START_TEST(test_cancel)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
    done_log a = {0}, b = {0};
    submit_echo(c, &a, 0, SMB2_ECHO);
    submit_echo(c, &b, 0, SMB2_ECHO);
    uint8_t fr[256], m[128];
    take_frame(c, fr, sizeof fr);
    take_frame(c, fr, sizeof fr);
    uint32_t credits = c->credits;
    uint64_t next = c->next_mid;
    /* the second went async */
    uint8_t err9[9] = {9, 0};
    size_t ml = rsp(m, SMB2_ECHO, 1, SMBW_STATUS_PENDING, 1, SMB2_FLAGS_ASYNC_COMMAND, err9, 9);
    put_u64(m + 32, 0x77);
    feed_frame(c, m, ml, 0);
    credits += 1;
    ck_assert_int_eq(core_cancel_all(c), 2);
    /* CANCELs take neither credits nor message ids */
    ck_assert_uint_eq(c->credits, credits);
    ck_assert_uint_eq(c->next_mid, next);
    int seen_async = 0, seen_sync = 0;
    for (int i = 0; i < 2; i++) {
        size_t n = take_frame(c, fr, sizeof fr);
        ck_assert_uint_eq(n, 68);
        ck_assert_uint_eq(get_u16(fr + 12), SMB2_CANCEL);
        if (get_u32(fr + 16) & SMB2_FLAGS_ASYNC_COMMAND) {
            ck_assert(get_u64(fr + 32) == 0x77);
            /* the MessageId stays (the AES-GMAC nonce is made of it) */
            ck_assert_uint_eq(get_u64(fr + 24), 1);
            seen_async++;
        } else {
            ck_assert_uint_eq(get_u64(fr + 24), 0);
            seen_sync++;
        }
    }
    ck_assert_int_eq(seen_async, 1);
    ck_assert_int_eq(seen_sync, 1);
    /* the requests complete with the server's answer */
    ml = rsp(m, SMB2_ECHO, 1, SMBW_STATUS_CANCELLED, 0, SMB2_FLAGS_ASYNC_COMMAND, err9, 9);
    feed_frame(c, m, ml, 0);
    ck_assert_int_eq(b.calls, 1);
    ck_assert_uint_eq(b.status, SMBW_STATUS_CANCELLED);
    smbw_conn_free(c);
}
END_TEST

START_TEST(test_unknown_mid_fatal)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
    done_log a = {0};
    submit_echo(c, &a, 0, SMB2_ECHO);
    uint8_t fr[256], m[128];
    take_frame(c, fr, sizeof fr);
    size_t ml = rsp(m, SMB2_ECHO, 7, 0, 1, 0, echo_body, 4);
    feed_frame(c, m, ml, SMBW_EPROTO);
    ck_assert(c->dead);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.err, SMBW_EPROTO);
    /* everything after death fails at once */
    core_msg mm;
    memset(&mm, 0, sizeof mm);
    buf_init(&mm.body);
    buf_u32(&mm.body, 4);
    ck_assert_int_eq(core_submit(c, &mm, 1, false), SMBW_EDEAD);
    smbw_conn_free(c);
}
END_TEST

START_TEST(test_duplicate_response_fatal)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
    done_log a = {0}, b = {0};
    submit_echo(c, &a, 0, SMB2_ECHO);
    submit_echo(c, &b, 0, SMB2_ECHO);
    uint8_t m[128];
    size_t ml = rsp(m, SMB2_ECHO, 0, 0, 1, 0, echo_body, 4);
    feed_frame(c, m, ml, 0);
    ck_assert_int_eq(a.calls, 1);
    feed_frame(c, m, ml, SMBW_EPROTO); /* mid 0 again */
    ck_assert_int_eq(b.err, SMBW_EPROTO);
    smbw_conn_free(c);
}
END_TEST

START_TEST(test_command_mismatch_fatal)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
    done_log a = {0};
    submit_echo(c, &a, 0, SMB2_ECHO);
    uint8_t m[128];
    size_t ml = rsp(m, SMB2_LOGOFF, 0, 0, 1, 0, echo_body, 4);
    feed_frame(c, m, ml, SMBW_EPROTO);
    ck_assert_int_eq(a.err, SMBW_EPROTO);
    smbw_conn_free(c);
}
END_TEST

START_TEST(test_compound_request_and_response)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
    done_log d[3] = {{0}};
    core_msg m[3];
    for (int i = 0; i < 3; i++) {
        memset(&m[i], 0, sizeof m[i]);
        m[i].command = SMB2_ECHO;
        buf_init(&m[i].body);
        ck_assert_int_eq(wire_encode_empty4(&m[i].body), 0);
        m[i].done = on_done;
        m[i].ud = &d[i];
    }
    ck_assert_int_eq(core_submit(c, m, 3, true), 0);
    uint8_t fr[1024];
    size_t n = take_frame(c, fr, sizeof fr);
    /* three messages: 68 bytes each, first two padded to 72 */
    ck_assert_uint_eq(n, 72 + 72 + 68);
    ck_assert_uint_eq(get_u32(fr + 20), 72);
    ck_assert_uint_eq(get_u32(fr + 72 + 16) & SMB2_FLAGS_RELATED_OPERATIONS,
                      SMB2_FLAGS_RELATED_OPERATIONS);
    ck_assert_uint_eq(get_u32(fr + 144 + 20), 0);
    /* a compounded answer, in one frame */
    uint8_t r[512];
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        size_t l = rsp(r + off, SMB2_ECHO, (uint64_t)i, 0, 1, 0, echo_body, 4);
        if (i < 2) {
            put_u32(r + off + 20, 72);
            memset(r + off + l, 0, 72 - l);
            l = 72;
        }
        off += l;
    }
    feed_frame(c, r, off, 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(d[i].calls, 1);
        ck_assert_int_eq(d[i].err, 0);
        ck_assert_uint_eq(d[i].mid, (uint64_t)i);
    }
    smbw_conn_free(c);
}
END_TEST

START_TEST(test_bad_next_command_fatal)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
    done_log a = {0}, b = {0};
    submit_echo(c, &a, 0, SMB2_ECHO);
    submit_echo(c, &b, 0, SMB2_ECHO);
    uint8_t r[256];
    size_t l = rsp(r, SMB2_ECHO, 0, 0, 1, 0, echo_body, 4);
    memset(r + l, 0, 8);
    put_u32(r + 20, 70); /* not 8-aligned */
    feed_frame(c, r, 80, SMBW_EPROTO);
    ck_assert(c->dead);
    put_u32(r + 20, 4000); /* past the end */
    smbw_conn_free(c);
    c = mkconn(SMBW_SMB3_11, 10);
    submit_echo(c, &a, 0, SMB2_ECHO);
    feed_frame(c, r, 80, SMBW_EPROTO);
    smbw_conn_free(c);
}
END_TEST

START_TEST(test_frame_limits)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
    done_log a = {0};
    submit_echo(c, &a, 0, SMB2_ECHO);
    c->max_frame = 1000;
    uint8_t big[4] = {0, 0x01, 0x00, 0x00}; /* 65536 > 1000 */
    ck_assert_int_eq(core_feed(c, big, 4), SMBW_EPROTO);
    ck_assert_int_eq(a.err, SMBW_EPROTO);
    smbw_conn_free(c);

    c = mkconn(SMBW_SMB3_11, 10);
    submit_echo(c, &a, 0, SMB2_ECHO);
    uint8_t nbss[4] = {0x85, 0, 0, 0}; /* keepalive type: not SMB */
    ck_assert_int_eq(core_feed(c, nbss, 4), SMBW_EPROTO);
    smbw_conn_free(c);

    c = mkconn(SMBW_SMB3_11, 10);
    submit_echo(c, &a, 0, SMB2_ECHO);
    uint8_t shortf[8] = {0, 0, 0, 4, 0xfe, 'S', 'M', 'B'};
    ck_assert_int_eq(core_feed(c, shortf, 8), SMBW_EPROTO);
    smbw_conn_free(c);
}
END_TEST

START_TEST(test_byte_at_a_time)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
    done_log a = {0};
    submit_echo(c, &a, 0, SMB2_ECHO);
    uint8_t m[128], f[132];
    size_t ml = rsp(m, SMB2_ECHO, 0, 0, 1, 0, echo_body, 4);
    f[0] = 0;
    f[1] = 0;
    f[2] = 0;
    f[3] = (uint8_t)ml;
    memcpy(f + 4, m, ml);
    for (size_t i = 0; i < ml + 4; i++) {
        ck_assert_int_eq(a.calls, 0);
        ck_assert_int_eq(core_feed(c, f + i, 1), 0);
    }
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.err, 0);
    smbw_conn_free(c);
}
END_TEST

START_TEST(test_request_flag_fatal)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
    done_log a = {0};
    submit_echo(c, &a, 0, SMB2_ECHO);
    uint8_t m[128];
    size_t ml = rsp(m, SMB2_ECHO, 0, 0, 1, 0, echo_body, 4);
    put_u32(m + 16, 0); /* no SERVER_TO_REDIR */
    feed_frame(c, m, ml, SMBW_EPROTO);
    smbw_conn_free(c);
}
END_TEST

START_TEST(test_unsigned_on_signed_session_fatal)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
    struct smbw_session s;
    memset(&s, 0, sizeof s);
    s.conn = c;
    s.id = 0x1234;
    s.valid = true;
    s.signing = true;
    s.sign_alg = SMB2_SIGN_ALG_AES_CMAC;
    c->sessions = &s;
    done_log a = {0};
    submit_echo_on(c, &a, &s);
    uint8_t fr[256];
    take_frame(c, fr, sizeof fr);
    /* our request is signed */
    ck_assert_uint_eq(get_u32(fr + 16) & SMB2_FLAGS_SIGNED, SMB2_FLAGS_SIGNED);
    ck_assert_int_eq(smb2_sign_verify(SMB2_SIGN_ALG_AES_CMAC, s.keys.signing, 16, fr, 68), 0);
    uint8_t m[128];
    size_t ml = rsp(m, SMB2_ECHO, 0, 0, 1, 0, echo_body, 4);
    put_u64(m + 40, 0x1234);
    /* a correctly signed answer passes... */
    put_u32(m + 16, get_u32(m + 16) | SMB2_FLAGS_SIGNED);
    ck_assert_int_eq(smb2_sign_msg(SMB2_SIGN_ALG_AES_CMAC, s.keys.signing, 16, m, ml), 0);
    uint8_t good[128];
    memcpy(good, m, ml);
    m[66] ^= 1; /* ...one with a flipped byte does not */
    feed_frame(c, m, ml, SMBW_ECRYPTO);
    ck_assert_int_eq(a.err, SMBW_ECRYPTO);
    c->sessions = NULL;
    smbw_conn_free(c);

    c = mkconn(SMBW_SMB3_11, 10);
    s.conn = c;
    c->sessions = &s;
    memset(&a, 0, sizeof a);
    submit_echo_on(c, &a, &s);
    feed_frame(c, good, ml, 0);
    ck_assert_int_eq(a.err, 0);
    ck_assert_int_eq(a.calls, 1);
    /* an unsigned answer on a signing session is fatal */
    submit_echo_on(c, &a, &s);
    ml = rsp(m, SMB2_ECHO, 1, 0, 1, 0, echo_body, 4);
    put_u64(m + 40, 0x1234);
    feed_frame(c, m, ml, SMBW_ECRYPTO);
    c->sessions = NULL;
    smbw_conn_free(c);
}
END_TEST

/* docs/security.md: on a session that encrypts, a plaintext response is
 * fatal even when it is correctly signed; the same answer encrypted with the
 * session's ServerOut key is accepted. The same holds for a request encrypted
 * because its share demands it on a session that does not encrypt
 * (SMB2_SHAREFLAG_ENCRYPT_DATA). */
START_TEST(test_plaintext_on_encrypted_session_fatal)
{
    for (int run = 0; run < 4; run++) {
        int plain = run & 1;
        bool by_share = run >= 2;
        smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
        c->cipher = SMB2_ENCRYPTION_AES128_GCM;
        struct smbw_session s;
        memset(&s, 0, sizeof s);
        s.conn = c;
        s.id = 0x77;
        s.valid = true;
        s.signing = true;
        s.encrypt = !by_share;
        s.sign_alg = SMB2_SIGN_ALG_AES_CMAC;
        memset(s.keys.signing, 0x11, 16);
        memset(s.keys.enc, 0x22, 16);
        memset(s.keys.dec, 0x33, 16);
        s.keys.enc_len = 16;
        c->sessions = &s;
        done_log a = {0};
        submit_echo_enc(c, &a, &s, by_share);
        uint8_t fr[512];
        take_frame(c, fr, sizeof fr);
        ck_assert_uint_eq(get_u32(fr), SMB2_TRANSFORM_ID); /* our request is encrypted */
        uint8_t m[128];
        size_t ml = rsp(m, SMB2_ECHO, 0, 0, 1, SMB2_FLAGS_SIGNED, echo_body, 4);
        put_u64(m + 40, 0x77);
        ck_assert_int_eq(smb2_sign_msg(SMB2_SIGN_ALG_AES_CMAC, s.keys.signing, 16, m, ml), 0);
        if (plain) {
            feed_frame(c, m, ml, SMBW_ECRYPTO);
            ck_assert_int_eq(a.calls, 1);
            ck_assert_int_eq(a.err, SMBW_ECRYPTO);
            ck_assert(c->dead);
        } else {
            smbw_buf out;
            buf_init(&out);
            ck_assert_int_eq(smb2_encrypt(c->cipher, s.keys.dec, 16, s.id, m, ml, &out), 0);
            feed_frame(c, out.p, out.len, 0);
            buf_free(&out);
            ck_assert_int_eq(a.calls, 1);
            ck_assert_int_eq(a.err, 0);
            ck_assert(!c->dead);
        }
        c->sessions = NULL;
        smbw_conn_free(c);
    }
}
END_TEST

/* smbw_conn_override_next: the header fields go on the next request only;
 * a MessageId of its own leaves the connection's numbering alone; a charge
 * of 0 is sent as 0 and counts as 1; a MessageId in flight is refused; the
 * arguments it refuses. */
START_TEST(test_header_override)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 100);
    ck_assert_uint_eq(smbw_conn_credits(c), 100);
    ck_assert_uint_eq(smbw_conn_next_message_id(c), 0);
    ck_assert_uint_eq(smbw_conn_credits(NULL), 0);
    ck_assert_uint_eq(smbw_conn_next_message_id(NULL), 0);
    smbw_header_override o = SMBW_HEADER_OVERRIDE_INIT;
    o.set = SMBW_HDR_MESSAGE_ID | SMBW_HDR_CREDIT_CHARGE | SMBW_HDR_CREDIT_REQUEST;
    o.message_id = 40;
    o.credit_charge = 3;
    o.credit_request = 0;
    ck_assert_int_eq(smbw_conn_override_next(c, &o), 0);
    done_log a = {0}, b = {0}, d = {0};
    submit_echo(c, &a, 0, SMB2_ECHO);
    submit_echo(c, &b, 0, SMB2_ECHO); /* built as usual again */
    uint8_t fr[256];
    take_frame(c, fr, sizeof fr);
    ck_assert_uint_eq(get_u16(fr + 6), 3);  /* CreditCharge */
    ck_assert_uint_eq(get_u16(fr + 14), 0); /* CreditRequest */
    ck_assert_uint_eq(get_u64(fr + 24), 40);
    take_frame(c, fr, sizeof fr);
    ck_assert_uint_eq(get_u16(fr + 6), 1);
    ck_assert_uint_ge(get_u16(fr + 14), 1);
    ck_assert_uint_eq(get_u64(fr + 24), 0); /* the numbering did not move for mid 40 */
    ck_assert_uint_eq(smbw_conn_next_message_id(c), 1);
    ck_assert_uint_eq(smbw_conn_credits(c), 96); /* 3 + 1 spent */
    /* mid 40 is in flight: a request that would reuse it is refused */
    o.set = SMBW_HDR_MESSAGE_ID;
    ck_assert_int_eq(smbw_conn_override_next(c, &o), 0);
    core_msg m;
    memset(&m, 0, sizeof m);
    m.command = SMB2_ECHO;
    buf_init(&m.body);
    ck_assert_int_eq(wire_encode_empty4(&m.body), 0);
    m.done = on_done;
    m.ud = &d;
    ck_assert_int_eq(core_submit(c, &m, 1, false), SMBW_EINVAL);
    ck_assert_ptr_nonnull(strstr(c->errmsg, "in flight"));
    ck_assert_int_eq(d.calls, 0);
    /* the answer to mid 40 finds its request */
    uint8_t r[128];
    size_t rl = rsp(r, SMB2_ECHO, 40, 0, 5, 0, echo_body, 4);
    feed_frame(c, r, rl, 0);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.err, 0);
    ck_assert_uint_eq(a.mid, 40);
    /* CreditCharge 0: sent as 0, spends one */
    o.set = SMBW_HDR_CREDIT_CHARGE;
    o.credit_charge = 0;
    ck_assert_int_eq(smbw_conn_override_next(c, &o), 0);
    uint32_t before = smbw_conn_credits(c);
    submit_echo(c, &d, 1 << 20, SMB2_ECHO);
    take_frame(c, fr, sizeof fr);
    ck_assert_uint_eq(get_u16(fr + 6), 0);
    ck_assert_uint_eq(get_u64(fr + 24), 1);
    ck_assert_uint_eq(smbw_conn_credits(c), before - 1);
    ck_assert_uint_eq(smbw_conn_next_message_id(c), 2);
    /* set 0 removes an override not used yet */
    o.set = SMBW_HDR_CREDIT_REQUEST;
    ck_assert_int_eq(smbw_conn_override_next(c, &o), 0);
    o.set = 0;
    ck_assert_int_eq(smbw_conn_override_next(c, &o), 0);
    ck_assert_uint_eq(c->ovr_set, 0);
    /* a new transport (reconnect) drops an override not used */
    smbw_conn *again;
    ck_assert_int_eq(smbw_conn_new(&again), 0);
    again->ovr_set = SMBW_HDR_CREDIT_REQUEST;
    core_restart(again);
    ck_assert_uint_eq(again->ovr_set, 0);
    smbw_conn_free(again);
    /* refused arguments */
    ck_assert_int_eq(smbw_conn_override_next(NULL, &o), SMBW_EINVAL);
    ck_assert_int_eq(smbw_conn_override_next(c, NULL), SMBW_EINVAL);
    smbw_header_override plain0 = {0};
    ck_assert_int_eq(smbw_conn_override_next(c, &plain0), SMBW_EINVAL);
    o.set = 0x100;
    ck_assert_int_eq(smbw_conn_override_next(c, &o), SMBW_EINVAL);
    struct {
        smbw_header_override o;
        uint64_t newer;
    } grown = {SMBW_HEADER_OVERRIDE_INIT, 1};
    grown.o.size = sizeof grown;
    ck_assert_int_eq(smbw_conn_override_next(c, &grown.o), SMBW_ENOTSUP);
    smbw_conn *fresh;
    ck_assert_int_eq(smbw_conn_new(&fresh), 0);
    o.set = SMBW_HDR_CREDIT_REQUEST;
    ck_assert_int_eq(smbw_conn_override_next(fresh, &o), SMBW_EINVAL); /* not connected */
    ck_assert_uint_eq(smbw_conn_credits(fresh), 0);
    smbw_conn_free(fresh);
    core_kill(c, SMBW_EIO, "test");
    ck_assert_int_eq(smbw_conn_override_next(c, &o), SMBW_EDEAD);
    smbw_conn_free(c);
}
END_TEST

/* SMBW_HDR_UNENCRYPTED on a session that encrypts (and on one whose share
 * demands it): the request goes in the clear, signed; a signed answer in
 * the clear is accepted, an unsigned one is fatal; the next request is
 * encrypted again. */
START_TEST(test_override_unencrypted)
{
    for (int run = 0; run < 4; run++) {
        bool unsigned_answer = run & 1;
        bool by_share = run >= 2;
        smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
        c->cipher = SMB2_ENCRYPTION_AES128_GCM;
        struct smbw_session s;
        memset(&s, 0, sizeof s);
        s.conn = c;
        s.id = 0x77;
        s.valid = true;
        s.signing = true;
        s.encrypt = !by_share;
        s.sign_alg = SMB2_SIGN_ALG_AES_CMAC;
        memset(s.keys.signing, 0x11, 16);
        memset(s.keys.enc, 0x22, 16);
        memset(s.keys.dec, 0x33, 16);
        s.keys.enc_len = 16;
        c->sessions = &s;
        smbw_header_override o = SMBW_HEADER_OVERRIDE_INIT;
        o.set = SMBW_HDR_UNENCRYPTED;
        ck_assert_int_eq(smbw_conn_override_next(c, &o), 0);
        done_log a = {0}, b = {0};
        submit_echo_enc(c, &a, &s, by_share);
        uint8_t fr[512];
        size_t fl = take_frame(c, fr, sizeof fr);
        ck_assert_uint_eq(get_u32(fr), SMB2_PROTO_ID); /* in the clear */
        ck_assert(get_u32(fr + 16) & SMB2_FLAGS_SIGNED);
        ck_assert_int_eq(smb2_sign_verify(SMB2_SIGN_ALG_AES_CMAC, s.keys.signing, 16, fr, fl), 0);
        uint8_t m[128];
        size_t ml = rsp(m, SMB2_ECHO, 0, SMBW_STATUS_ACCESS_DENIED, 1,
                        unsigned_answer ? 0 : SMB2_FLAGS_SIGNED, echo_body, 4);
        put_u64(m + 40, 0x77);
        if (!unsigned_answer)
            ck_assert_int_eq(smb2_sign_msg(SMB2_SIGN_ALG_AES_CMAC, s.keys.signing, 16, m, ml), 0);
        feed_frame(c, m, ml, unsigned_answer ? SMBW_ECRYPTO : 0);
        ck_assert_int_eq(a.calls, 1);
        if (unsigned_answer) {
            ck_assert_int_eq(a.err, SMBW_ECRYPTO);
        } else {
            ck_assert_int_eq(a.err, 0);
            ck_assert_uint_eq(a.status, SMBW_STATUS_ACCESS_DENIED);
            submit_echo_enc(c, &b, &s, by_share);
            take_frame(c, fr, sizeof fr);
            ck_assert_uint_eq(get_u32(fr), SMB2_TRANSFORM_ID); /* encrypted again */
        }
        c->sessions = NULL;
        smbw_conn_free(c);
    }
}
END_TEST

/* impacket signs a compounded message before setting NextCommand and
 * padding: accepted, but only that exact form. */
START_TEST(test_compound_signature_quirk)
{
    for (int tamper = 0; tamper < 2; tamper++) {
        smbw_conn *c = mkconn(SMBW_SMB2_02, 10);
        struct smbw_session s;
        memset(&s, 0, sizeof s);
        s.conn = c;
        s.id = 0x99;
        s.valid = true;
        s.signing = true;
        s.sign_alg = SMB2_SIGN_ALG_HMAC_SHA256;
        memset(s.keys.signing, 0x42, 16);
        c->sessions = &s;
        done_log d[2] = {{0}};
        core_msg m[2];
        for (int i = 0; i < 2; i++) {
            memset(&m[i], 0, sizeof m[i]);
            m[i].command = SMB2_ECHO;
            m[i].sess = &s;
            buf_init(&m[i].body);
            ck_assert_int_eq(wire_encode_empty4(&m[i].body), 0);
            m[i].done = on_done;
            m[i].ud = &d[i];
        }
        ck_assert_int_eq(core_submit(c, m, 2, true), 0);
        uint8_t r[256];
        memset(r, 0, sizeof r);
        /* first: signed as 68 bytes with NextCommand 0, then padded to 72 */
        size_t l = rsp(r, SMB2_ECHO, 0, 0, 1, SMB2_FLAGS_SIGNED, echo_body, 4);
        put_u64(r + 40, 0x99);
        ck_assert_int_eq(smb2_sign_msg(SMB2_SIGN_ALG_HMAC_SHA256, s.keys.signing, 16, r, l), 0);
        put_u32(r + 20, 72);
        if (tamper)
            r[66] ^= 1;
        size_t l2 = rsp(r + 72, SMB2_ECHO, 1, 0, 1, SMB2_FLAGS_SIGNED, echo_body, 4);
        put_u64(r + 72 + 40, 0x99);
        ck_assert_int_eq(smb2_sign_msg(SMB2_SIGN_ALG_HMAC_SHA256, s.keys.signing, 16, r + 72, l2),
                         0);
        feed_frame(c, r, 72 + l2, tamper ? SMBW_ECRYPTO : 0);
        ck_assert_int_eq(d[0].err, tamper ? SMBW_ECRYPTO : 0);
        c->sessions = NULL;
        smbw_conn_free(c);
    }
}
END_TEST

static int reentrant_rc;
static smbw_conn *reentrant_conn;
static int on_done_reenter(void *ud, int err, const smb2_hdr *h, const uint8_t *msg, size_t len)
{
    reentrant_rc = smbw_conn_service(reentrant_conn, 0);
    return on_done(ud, err, h, msg, len);
}

/* A callback that waits on its own connection gets SMBW_EBUSY instead of
 * re-entering the input loop. */
START_TEST(test_reentrancy_guard)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
    reentrant_conn = c;
    reentrant_rc = 0;
    done_log a = {0};
    core_msg m;
    memset(&m, 0, sizeof m);
    m.command = SMB2_ECHO;
    buf_init(&m.body);
    ck_assert_int_eq(wire_encode_empty4(&m.body), 0);
    m.done = on_done_reenter;
    m.ud = &a;
    ck_assert_int_eq(core_submit(c, &m, 1, false), 0);
    uint8_t r[128];
    size_t l = rsp(r, SMB2_ECHO, 0, 0, 1, 0, echo_body, 4);
    feed_frame(c, r, l, 0);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(reentrant_rc, SMBW_EBUSY);
    ck_assert(!c->dead);
    smbw_conn_free(c);
}
END_TEST

/* Deadlines without wall-clock races: a request with a 60 s timeout is
 * certainly not expired right after submission; one with a 50 ms timeout is
 * waited for until core_next_timeout() says its deadline has come (however
 * late this thread is scheduled), and then it must expire. */
START_TEST(test_timeout)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
    c->timeout_ms = 60000;
    done_log a = {0};
    submit_echo(c, &a, 0, SMB2_ECHO);
    int to = core_next_timeout(c);
    ck_assert_int_gt(to, 0);
    ck_assert_int_le(to, 60000);
    ck_assert_int_eq(core_check_timeouts(c), 0);
    ck_assert_int_eq(a.calls, 0);
    ck_assert(!c->dead);
    smbw_conn_free(c);

    c = mkconn(SMBW_SMB3_11, 10);
    c->timeout_ms = 50;
    memset(&a, 0, sizeof a);
    submit_echo(c, &a, 0, SMB2_ECHO);
    to = core_next_timeout(c);
    ck_assert_int_ge(to, 0);
    ck_assert_int_le(to, 50);
    for (int i = 0; i < 1000 && (to = core_next_timeout(c)) > 0; i++) {
        struct timespec ts = {0, (long)to * 1000000L};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_eq(to, 0);
    ck_assert_int_eq(core_check_timeouts(c), SMBW_ETIMEDOUT);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.err, SMBW_ETIMEDOUT);
    ck_assert(c->dead);
    smbw_conn_free(c);
}
END_TEST

/* ---- replay (smbw_reconnect_opts.replay) ------------------------------- */

typedef struct replay_env {
    struct smbw_session s;
    struct smbw_tree t;
    struct smbw_file f;
    int revived;
    int revive_rc;
} replay_env;

static replay_env *g_env;

/* What lib/api's revive does, without a network: the "reconnect" gives the
 * session, tree and file new ids, then the parked requests go again. */
static int fake_revive(smbw_conn *c)
{
    g_env->revived++;
    if (g_env->revive_rc)
        return g_env->revive_rc;
    c->dead = false;
    c->dead_err = 0;
    c->out.len = c->out_off = 0; /* a new transport: nothing of the old one's output */
    c->credits = 10;
    c->channel_seq++;
    g_env->s.id = 0x2222;
    g_env->t.id = 7;
    memset(g_env->f.id, 0xbb, 16);
    return core_replay_parked(c);
}

static void replay_setup(smbw_conn *c, replay_env *e)
{
    memset(e, 0, sizeof *e);
    g_env = e;
    e->s.conn = c;
    e->s.id = 0x1111;
    e->s.valid = true;
    e->t.sess = &e->s;
    e->t.id = 3;
    e->f.tree = &e->t;
    memset(e->f.id, 0xaa, 16);
    c->re_replay = true;
    c->re_retries = 2;
    c->revive = fake_revive;
}

static void submit_read(smbw_conn *c, done_log *d, smbw_file *f)
{
    core_msg m;
    memset(&m, 0, sizeof m);
    m.command = SMB2_READ;
    m.sess = f->tree->sess;
    m.tree_id = f->tree->id;
    m.payload = 4096;
    m.replay_file = f;
    buf_init(&m.body);
    smb2_read_req r;
    memset(&r, 0, sizeof r);
    r.length = 4096;
    memcpy(r.file_id, f->id, 16);
    ck_assert_int_eq(wire_encode_read(&m.body, &r), 0);
    m.done = on_done;
    m.ud = d;
    ck_assert_int_eq(core_submit(c, &m, 1, false), 0);
}

/* A drop with only resendable READs in flight parks them (no callback);
 * io_revive brings them back with the new ids, the replay flag and the new
 * ChannelSequence; a failed revive completes them with its error. */
START_TEST(test_replay_parks_and_resends)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 1); /* the second READ waits for credits */
    replay_env e;
    replay_setup(c, &e);
    done_log a = {0}, b = {0};
    submit_read(c, &a, &e.f);
    submit_read(c, &b, &e.f);
    uint8_t fr[512];
    take_frame(c, fr, sizeof fr);
    ck_assert_uint_eq(get_u32(fr + 8), 0); /* ChannelSequence 0 before any reconnect */
    core_kill(c, SMBW_EIO, "cut");
    ck_assert(c->dead);
    ck_assert_int_eq(a.calls + b.calls, 0);
    ck_assert_uint_eq(core_parked_count(c), 2);
    ck_assert_uint_eq(core_pending_count(c), 2);
    ck_assert_int_eq(io_revive(c), 0);
    ck_assert_int_eq(e.revived, 1);
    ck_assert_uint_eq(core_parked_count(c), 0);
    ck_assert_uint_eq(c->replays, 2);
    for (int i = 0; i < 2; i++) {
        take_frame(c, fr, sizeof fr);
        ck_assert_uint_eq(get_u16(fr + 12), SMB2_READ);
        /* the first went out: replay flag; the second never did: none */
        ck_assert_uint_eq(get_u32(fr + 16) & SMB2_FLAGS_REPLAY_OPERATION,
                          i == 0 ? SMB2_FLAGS_REPLAY_OPERATION : 0);
        ck_assert_uint_eq(get_u16(fr + 8), 1);  /* ChannelSequence */
        ck_assert_uint_eq(get_u32(fr + 36), 7); /* TreeId */
        ck_assert_uint_eq(get_u64(fr + 40), 0x2222);
        for (int k = 0; k < 16; k++)
            ck_assert_uint_eq(fr[64 + 16 + k], 0xbb);
    }
    /* Answers complete them as usual. */
    uint8_t body[17] = {17, 0, 0x50};
    uint8_t m[128];
    size_t ml = rsp(m, SMB2_READ, get_u64(fr + 24) - 1, 0, 1, 0, body, sizeof body);
    feed_frame(c, m, ml, 0);
    ml = rsp(m, SMB2_READ, get_u64(fr + 24), 0, 1, 0, body, sizeof body);
    feed_frame(c, m, ml, 0);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.err, 0);
    ck_assert_int_eq(b.calls, 1);
    ck_assert_int_eq(b.err, 0);

    /* A revive that fails: the parked requests get its error. */
    memset(&a, 0, sizeof a);
    submit_read(c, &a, &e.f);
    core_kill(c, SMBW_ECLOSED, "cut");
    ck_assert_int_eq(a.calls, 0);
    e.revive_rc = SMBW_EAUTH;
    ck_assert_int_eq(io_revive(c), SMBW_EAUTH);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.err, SMBW_EAUTH);
    ck_assert_uint_eq(core_parked_count(c), 0);
    smbw_conn_free(c);
}
END_TEST

/* What is not parked: anything else in flight (an ECHO beside a READ), a
 * protocol error, SMB 2.x, a request resent retries times already, and a
 * READ of a file that went away is completed with SMBW_EDEAD at replay;
 * freeing the connection completes parked requests with SMBW_ECANCELED. */
START_TEST(test_replay_not_parked)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
    replay_env e;
    replay_setup(c, &e);
    done_log a = {0}, b = {0};
    submit_read(c, &a, &e.f);
    submit_echo(c, &b, 0, SMB2_ECHO);
    core_kill(c, SMBW_EIO, "cut");
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.err, SMBW_EIO);
    ck_assert_int_eq(b.calls, 1);
    ck_assert_int_eq(io_revive(c), SMBW_EIO); /* nothing parked: stays dead */
    ck_assert_int_eq(e.revived, 0);
    smbw_conn_free(c);

    c = mkconn(SMBW_SMB3_11, 10);
    replay_setup(c, &e);
    memset(&a, 0, sizeof a);
    submit_read(c, &a, &e.f);
    core_kill(c, SMBW_EPROTO, "bad answer");
    ck_assert_int_eq(a.calls, 1);
    smbw_conn_free(c);

    c = mkconn(SMBW_SMB2_10, 10);
    replay_setup(c, &e);
    memset(&a, 0, sizeof a);
    submit_read(c, &a, &e.f);
    core_kill(c, SMBW_EIO, "cut");
    ck_assert_int_eq(a.calls, 1);
    smbw_conn_free(c);

    /* Resent retries (2) times already: the third drop fails it. */
    c = mkconn(SMBW_SMB3_11, 10);
    replay_setup(c, &e);
    memset(&a, 0, sizeof a);
    submit_read(c, &a, &e.f);
    for (int i = 0; i < 2; i++) {
        core_kill(c, SMBW_EIO, "cut");
        ck_assert_int_eq(a.calls, 0);
        ck_assert_int_eq(io_revive(c), 0);
    }
    core_kill(c, SMBW_EIO, "cut");
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.err, SMBW_EIO);
    smbw_conn_free(c);

    /* The file is freed (core_forget_file) or detached while parked. */
    c = mkconn(SMBW_SMB3_11, 10);
    replay_setup(c, &e);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    submit_read(c, &a, &e.f);
    core_forget_file(c, &e.f);
    core_kill(c, SMBW_EIO, "cut");
    ck_assert_int_eq(a.calls, 1); /* no file to resend it for: not parked */
    smbw_conn_free(c);
    c = mkconn(SMBW_SMB3_11, 10);
    replay_setup(c, &e);
    memset(&a, 0, sizeof a);
    submit_read(c, &a, &e.f);
    submit_read(c, &b, &e.f);
    core_kill(c, SMBW_EIO, "cut");
    core_forget_file(c, &e.f);
    ck_assert_int_eq(io_revive(c), 0);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.err, SMBW_EDEAD);
    ck_assert_int_eq(b.err, SMBW_EDEAD);
    smbw_conn_free(c);

    c = mkconn(SMBW_SMB3_11, 10);
    replay_setup(c, &e);
    memset(&a, 0, sizeof a);
    submit_read(c, &a, &e.f);
    core_kill(c, SMBW_EIO, "cut");
    ck_assert_int_eq(a.calls, 0);
    smbw_conn_free(c);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.err, SMBW_ECANCELED);
}
END_TEST

/* ---- zero-copy READ and WRITE payloads ------------------------------------ */

typedef struct read_log {
    int calls;
    int err;
    uint32_t placed;
    size_t len;
} read_log;

static int on_read(void *ud, int err, const smb2_hdr *h, const uint8_t *msg, size_t len)
{
    read_log *d = ud;
    d->calls++;
    d->err = err;
    d->placed = h ? h->placed : 0;
    d->len = len;
    return 0;
}

static void signing_session(struct smbw_session *s, smbw_conn *c)
{
    memset(s, 0, sizeof *s);
    s->conn = c;
    s->id = 0x1234;
    s->valid = true;
    s->signing = true;
    s->sign_alg = SMB2_SIGN_ALG_AES_GMAC;
    memset(s->keys.signing, 0x5a, 16);
    c->sessions = s;
}

/* A READ (body encoded by lib/wire) with the data going to dst. */
static void submit_read_into(smbw_conn *c, struct smbw_session *s, read_log *d, uint8_t *dst,
                             uint32_t cap)
{
    core_msg m;
    memset(&m, 0, sizeof m);
    m.command = SMB2_READ;
    m.sess = s;
    m.payload = cap;
    buf_init(&m.body);
    smb2_read_req r;
    memset(&r, 0, sizeof r);
    r.length = cap;
    ck_assert_int_eq(wire_encode_read(&m.body, &r), 0);
    m.rx_dst = dst;
    m.rx_cap = dst ? cap : 0;
    m.done = on_read;
    m.ud = d;
    ck_assert_int_eq(core_submit(c, &m, 1, false), 0);
}

/* A signed READ response of n data bytes (pattern from seed) for mid; the
 * final answer of an async request when async_id is not 0 (as Samba's). */
static size_t read_rsp(uint8_t *m, uint64_t mid, uint32_t n, uint8_t seed, const uint8_t *key,
                       uint64_t async_id)
{
    uint8_t body[16] = {17, 0, 80, 0};
    put_u32(body + 4, n);
    size_t ml =
        rsp(m, SMB2_READ, mid, 0, 1, SMB2_FLAGS_SIGNED | (async_id ? SMB2_FLAGS_ASYNC_COMMAND : 0),
            body, sizeof body);
    put_u64(m + 32, async_id);
    put_u64(m + 40, 0x1234);
    for (uint32_t i = 0; i < n; i++)
        m[ml + i] = (uint8_t)(seed + i * 7);
    ml += n;
    ck_assert_int_eq(smb2_sign_msg(SMB2_SIGN_ALG_AES_GMAC, key, 16, m, ml), 0);
    return ml;
}

/* Feeds a frame in pieces of step bytes (what a socket might deliver). */
static int feed_pieces(smbw_conn *c, const uint8_t *msg, size_t len, size_t step)
{
    uint8_t *f = malloc(len + 4);
    f[0] = 0;
    f[1] = (uint8_t)(len >> 16);
    f[2] = (uint8_t)(len >> 8);
    f[3] = (uint8_t)len;
    memcpy(f + 4, msg, len);
    int rc = 0;
    for (size_t off = 0; off < len + 4 && rc == 0; off += step)
        rc = core_feed(c, f + off, len + 4 - off < step ? len + 4 - off : step);
    free(f);
    return rc;
}

/* A signed READ response (async, as Samba sends them) lands in the
 * request's buffer: the callback gets
 * the header part only (80 bytes) and h->placed, the data is in dst, the
 * signature is checked over both; a flipped data byte fails it (ECRYPTO)
 * although the bytes went to dst; a READ without a buffer, or with a smaller
 * one, gets the whole message as before. */
START_TEST(test_read_placement)
{
    enum { N = 70000 };
    uint8_t *m = malloc(64 + 16 + N), *dst = malloc(N), *want = malloc(N);
    struct smbw_session s;
    for (int run = 0; run < 4; run++) {
        smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
        signing_session(&s, c);
        read_log d = {0};
        memset(dst, 0, N);
        bool own = run != 2;
        submit_read_into(c, &s, &d, own ? dst : NULL, run == 3 ? N - 1 : N);
        uint8_t fr[256];
        take_frame(c, fr, sizeof fr);
        size_t ml = read_rsp(m, 0, N, (uint8_t)run, s.keys.signing, run == 0 ? 0x77 : 0);
        memcpy(want, m + 80, N);
        if (run == 1)
            m[80 + N / 2] ^= 1;
        int rc = feed_pieces(c, m, ml, run == 0 ? 1000 : 65536);
        ck_assert_int_eq(rc, run == 1 ? SMBW_ECRYPTO : 0);
        ck_assert_int_eq(d.calls, 1);
        if (run == 1) {
            ck_assert_int_eq(d.err, SMBW_ECRYPTO);
        } else if (run == 0) {
            ck_assert_int_eq(d.err, 0);
            ck_assert_uint_eq(d.placed, N);
            ck_assert_uint_eq(d.len, 80);
            ck_assert_mem_eq(dst, want, N);
        } else {
            ck_assert_uint_eq(d.placed, 0);
            ck_assert_uint_eq(d.len, 80 + N);
        }
        c->sessions = NULL;
        core_sess_gmac_reset(&s); /* the session's keyed GMAC, made at its first signature */
        smbw_conn_free(c);
    }
    free(m);
    free(dst);
    free(want);
}
END_TEST

/* Receive space: without a frame under way at most 256 KiB; the rest of a
 * large frame (64 KiB or more to come) and nothing past it, so the next
 * frame starts at the front of the input buffer (no partial frame moved
 * there); a small rest leaves room for the frames after it. */
START_TEST(test_recv_space)
{
    smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
    uint8_t *p;
    size_t space;
    ck_assert_int_eq(core_recv_space(c, &p, &space), 0);
    ck_assert_uint_eq(space, 256 * 1024);
    uint8_t hdr[4] = {0, 0x10, 0, 0}; /* a frame of 1 MiB */
    memcpy(p, hdr, 4);
    memset(p + 4, 0, 1000);
    ck_assert_int_eq(core_recv_commit(c, 1004), 0);
    ck_assert_int_eq(core_recv_space(c, &p, &space), 0);
    ck_assert_uint_eq(space, (1u << 20) - 1000);
    smbw_conn_free(c);
    c = mkconn(SMBW_SMB3_11, 10);
    ck_assert_int_eq(core_recv_space(c, &p, &space), 0);
    uint8_t small[4] = {0, 0, 0x40, 0}; /* 16 KiB */
    memcpy(p, small, 4);
    ck_assert_int_eq(core_recv_commit(c, 4), 0);
    ck_assert_int_eq(core_recv_space(c, &p, &space), 0);
    ck_assert_uint_eq(space, 256 * 1024);
    smbw_conn_free(c);
}
END_TEST

/* An encrypting session with cipher (keys of its length). */
static void encrypting_session(struct smbw_session *s, smbw_conn *c, uint16_t cipher)
{
    signing_session(s, c);
    c->cipher = cipher;
    s->encrypt = true;
    s->keys.enc_len =
        cipher == SMB2_ENCRYPTION_AES256_CCM || cipher == SMB2_ENCRYPTION_AES256_GCM ? 32 : 16;
    memset(s->keys.enc, 0x22, 32);
    memset(s->keys.dec, 0x33, 32);
}

/* An encrypted READ answer of n data bytes at DataOffset doff (padding up
 * to it) for mid: the TRANSFORM frame in out; the data in want. */
static void enc_read_rsp(smbw_buf *out, const struct smbw_session *s, uint16_t cipher, uint64_t mid,
                         uint32_t n, uint8_t doff, uint8_t *want)
{
    uint8_t *m = calloc(1, (size_t)doff + n);
    uint8_t body[16] = {17, 0, doff, 0};
    put_u32(body + 4, n);
    rsp(m, SMB2_READ, mid, 0, 1, 0, body, sizeof body);
    put_u64(m + 40, s->id);
    for (uint32_t i = 0; i < n; i++)
        want[i] = m[doff + i] = (uint8_t)(mid + i * 11);
    buf_init(out);
    ck_assert_int_eq(smb2_encrypt(cipher, s->keys.dec, s->keys.enc_len, s->id, m, doff + n, out),
                     0);
    free(m);
}

/* Encrypted READ answers with AES-GCM: the data is decrypted straight into
 * the request's buffer (the callback gets the message up to DataOffset and
 * h->placed), also with padding before DataOffset and for AES-256-GCM; the
 * whole message goes to the callback for a READ without a buffer, with a
 * smaller one, and with CCM (one-call cipher: decrypted, then copied by the
 * caller). A flipped ciphertext byte fails the tag: SMBW_ECRYPTO for the
 * request, the connection dead, and the bytes placed before the check are
 * erased. */
START_TEST(test_read_placement_encrypted)
{
    enum { N = 70000 };
    static const struct {
        uint16_t cipher;
        bool own, small, flip, placed;
        uint8_t doff;
    } runs[] = {
        {SMB2_ENCRYPTION_AES128_GCM, true, false, false, true, 80},
        {SMB2_ENCRYPTION_AES128_GCM, true, false, false, true, 200},
        {SMB2_ENCRYPTION_AES256_GCM, true, false, false, true, 80},
        {SMB2_ENCRYPTION_AES128_GCM, false, false, false, false, 80},
        {SMB2_ENCRYPTION_AES128_GCM, true, true, false, false, 80},
        {SMB2_ENCRYPTION_AES128_GCM, true, false, true, true, 80},
        {SMB2_ENCRYPTION_AES256_GCM, true, false, true, true, 120},
        {SMB2_ENCRYPTION_AES128_CCM, true, false, false, false, 80},
        {SMB2_ENCRYPTION_AES256_CCM, true, false, true, false, 80},
    };
    uint8_t *dst = malloc(N), *want = malloc(N);
    struct smbw_session s;
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
        encrypting_session(&s, c, runs[i].cipher);
        read_log d = {0};
        memset(dst, 0, N);
        submit_read_into(c, &s, &d, runs[i].own ? dst : NULL, runs[i].small ? N - 1 : N);
        uint8_t fr[256];
        take_frame(c, fr, sizeof fr);
        ck_assert_uint_eq(get_u32(fr), SMB2_TRANSFORM_ID);
        smbw_buf out;
        enc_read_rsp(&out, &s, runs[i].cipher, 0, N, runs[i].doff, want);
        if (runs[i].flip)
            out.p[out.len - 100] ^= 1;
        int rc = feed_pieces(c, out.p, out.len, 65536);
        buf_free(&out);
        ck_assert_int_eq(d.calls, 1);
        if (runs[i].flip) {
            ck_assert_int_eq(rc, SMBW_ECRYPTO);
            ck_assert_int_eq(d.err, SMBW_ECRYPTO);
            ck_assert(c->dead);
            for (int k = 0; k < N; k++) /* nothing unauthenticated left */
                ck_assert_uint_eq(dst[k], 0);
        } else {
            ck_assert_int_eq(rc, 0);
            ck_assert_int_eq(d.err, 0);
            ck_assert_uint_eq(d.placed, runs[i].placed ? N : 0);
            ck_assert_uint_eq(d.len, (size_t)runs[i].doff + (runs[i].placed ? 0u : (size_t)N));
            if (runs[i].placed)
                ck_assert_mem_eq(dst, want, N);
            ck_assert(!c->dead);
        }
        c->sessions = NULL;
        core_sess_gmac_reset(&s); /* the session's keyed GMAC, made at its first signature */
        smbw_conn_free(c);
    }
    free(dst);
    free(want);
}
END_TEST

/* A WRITE payload goes out from the caller's memory (a second piece of the
 * output, not a copy), signed over header and payload; the output can be
 * consumed in any steps. An answer to a request still being sent is fatal:
 * the caller could reuse its buffer while the rest is still to go. */
START_TEST(test_write_segments)
{
    enum { N = 5000 };
    uint8_t *pay = malloc(N);
    for (int i = 0; i < N; i++)
        pay[i] = (uint8_t)(i * 13);
    smbw_conn *c = mkconn(SMBW_SMB3_11, 10);
    struct smbw_session s;
    signing_session(&s, c);
    done_log a = {0};
    core_msg m;
    memset(&m, 0, sizeof m);
    m.command = SMB2_WRITE;
    m.sess = &s;
    m.payload = N;
    buf_init(&m.body);
    smb2_write_req w;
    memset(&w, 0, sizeof w);
    w.length = N;
    ck_assert_int_eq(wire_encode_write_hdr(&m.body, &w), 0);
    m.tx_data = pay;
    m.tx_len = N;
    m.done = on_done;
    m.ud = &a;
    ck_assert_int_eq(core_submit(c, &m, 1, false), 0);
    core_iov v[4];
    ck_assert_int_eq(core_output_iov(c, v, 4), 2);
    ck_assert_uint_eq(v[0].len, 4 + 64 + 48);
    ck_assert_ptr_eq(v[1].p, pay);
    ck_assert_uint_eq(v[1].len, N);
    /* the transport length counts the payload, the signature covers it */
    size_t flen = ((size_t)v[0].p[1] << 16) | ((size_t)v[0].p[2] << 8) | v[0].p[3];
    ck_assert_uint_eq(flen, 64 + 48 + N);
    uint8_t *whole = malloc(flen);
    memcpy(whole, v[0].p + 4, 64 + 48);
    memcpy(whole + 64 + 48, pay, N);
    ck_assert_int_eq(smb2_sign_verify(SMB2_SIGN_ALG_AES_GMAC, s.keys.signing, 16, whole, flen), 0);
    whole[64 + 48 + 7] ^= 1;
    ck_assert_int_eq(smb2_sign_verify(SMB2_SIGN_ALG_AES_GMAC, s.keys.signing, 16, whole, flen),
                     SMBW_ECRYPTO);
    /* consumed in steps across the boundary */
    ck_assert(core_output_pending(c));
    core_consumed(c, 100);
    size_t len;
    const uint8_t *p = core_output(c, &len);
    ck_assert_uint_eq(len, 16);
    core_consumed(c, 20);
    p = core_output(c, &len);
    ck_assert_ptr_eq(p, pay + 4);
    ck_assert_uint_eq(len, N - 4);
    /* an answer before the last byte went out is fatal */
    uint8_t r[128];
    uint8_t wbody[16] = {17, 0};
    size_t rl = rsp(r, SMB2_WRITE, 0, 0, 1, SMB2_FLAGS_SIGNED, wbody, sizeof wbody);
    put_u64(r + 40, 0x1234);
    ck_assert_int_eq(smb2_sign_msg(SMB2_SIGN_ALG_AES_GMAC, s.keys.signing, 16, r, rl), 0);
    uint8_t early[128];
    memcpy(early, r, rl);
    core_consumed(c, N - 5);
    ck_assert(core_output_pending(c));
    smbw_conn *c2 = c;
    feed_frame(c2, early, rl, SMBW_EPROTO);
    ck_assert_int_eq(a.err, SMBW_EPROTO);
    ck_assert(!core_output_pending(c));
    c->sessions = NULL;
    core_sess_gmac_reset(&s); /* the session's keyed GMAC, made at its first signature */
    smbw_conn_free(c);
    /* once sent in full, the same answer completes it */
    c = mkconn(SMBW_SMB3_11, 10);
    signing_session(&s, c);
    memset(&a, 0, sizeof a);
    memset(&m, 0, sizeof m);
    m.command = SMB2_WRITE;
    m.sess = &s;
    m.payload = N;
    buf_init(&m.body);
    ck_assert_int_eq(wire_encode_write_hdr(&m.body, &w), 0);
    m.tx_data = pay;
    m.tx_len = N;
    m.done = on_done;
    m.ud = &a;
    ck_assert_int_eq(core_submit(c, &m, 1, false), 0);
    core_consumed(c, 4 + 64 + 48 + N);
    ck_assert(!core_output_pending(c));
    feed_frame(c, r, rl, 0);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.err, 0);
    c->sessions = NULL;
    core_sess_gmac_reset(&s); /* the session's keyed GMAC, made at its first signature */
    smbw_conn_free(c);
    /* the first of two is sent in full and answered (and freed) while the
     * second is still being sent; then the transport dies: what is forgotten
     * is only the second (ASan and valgrind saw a use after free, CI) */
    c = mkconn(SMBW_SMB3_11, 10);
    signing_session(&s, c);
    memset(&a, 0, sizeof a);
    done_log b = {0};
    for (int k = 0; k < 2; k++) {
        memset(&m, 0, sizeof m);
        m.command = SMB2_WRITE;
        m.sess = &s;
        m.payload = N;
        buf_init(&m.body);
        ck_assert_int_eq(wire_encode_write_hdr(&m.body, &w), 0);
        m.tx_data = pay;
        m.tx_len = N;
        m.done = on_done;
        m.ud = k ? &b : &a;
        ck_assert_int_eq(core_submit(c, &m, 1, false), 0);
    }
    core_consumed(c, 4 + 64 + 48 + N + 10);
    ck_assert(core_output_pending(c));
    feed_frame(c, r, rl, 0);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.err, 0);
    core_kill(c, SMBW_EIO, "test");
    ck_assert_int_eq(b.calls, 1);
    ck_assert_int_eq(b.err, SMBW_EIO);
    ck_assert(!core_output_pending(c));
    c->sessions = NULL;
    core_sess_gmac_reset(&s); /* the session's keyed GMAC, made at its first signature */
    smbw_conn_free(c);
    free(whole);
    free(pay);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_mids_and_credits);
    tcase_add_test(tc, test_credit_charge);
    tcase_add_test(tc, test_smb2_02_charge_zero);
    tcase_add_test(tc, test_too_few_credits_fatal);
    tcase_add_test(tc, test_interim_pending);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_unknown_mid_fatal);
    tcase_add_test(tc, test_duplicate_response_fatal);
    tcase_add_test(tc, test_command_mismatch_fatal);
    tcase_add_test(tc, test_compound_request_and_response);
    tcase_add_test(tc, test_bad_next_command_fatal);
    tcase_add_test(tc, test_frame_limits);
    tcase_add_test(tc, test_byte_at_a_time);
    tcase_add_test(tc, test_request_flag_fatal);
    tcase_add_test(tc, test_unsigned_on_signed_session_fatal);
    tcase_add_test(tc, test_plaintext_on_encrypted_session_fatal);
    tcase_add_test(tc, test_header_override);
    tcase_add_test(tc, test_override_unencrypted);
    tcase_add_test(tc, test_compound_signature_quirk);
    tcase_add_test(tc, test_reentrancy_guard);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_read_placement);
    tcase_add_test(tc, test_read_placement_encrypted);
    tcase_add_test(tc, test_recv_space);
    tcase_add_test(tc, test_write_segments);
    tcase_add_test(tc, test_replay_parks_and_resends);
    tcase_add_test(tc, test_replay_not_parked);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
