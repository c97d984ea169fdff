/* Public API against a real Samba, for the functions nothing else calls:
 *  - the event-loop API driving two connections from one poll() loop
 *    (smbw_conn_fd/events/next_timeout/service/pending, pread/pwrite/ioctl
 *    _async), no synchronous call while requests are in flight;
 *  - connection setup from the event loop (smbw_conn_connect_async,
 *    smbw_session_new_async, smbw_tree_connect_async): two connections
 *    connect, log in (one with a wrong password first) and connect a tree
 *    from one poll() loop;
 *  - smbw_conn_cancel on requests in flight;
 *  - smbw_file_query_info / smbw_file_set_info (raw QUERY_INFO / SET_INFO);
 *  - smbw_file_create with a create context and smbw_file_create_contexts;
 *  - smbw_file_id;
 *  - smbw_tree_share_flags / smbw_tree_capabilities (the server is started
 *    with `csc policy = documents` on share1: SMB2_SHAREFLAG_AUTO_CACHING).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define FILE_LEN (1u << 20)
#define PIECE (64u * 1024)
#define NPIECES (FILE_LEN / PIECE)

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* ---- one poll loop, two connections ------------------------------------- */

typedef struct lane {
    it_ctx ctx;
    smbw_file *f;
    uint8_t *data; /* what the file holds */
    uint8_t *back; /* what the async reads returned */
    int reads_done, writes_done, ioctls_done;
    int errors;
    size_t key_len;
} lane;

typedef struct read_req {
    lane *l;
    uint64_t off;
} read_req;

static void on_read(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    read_req *r = ud;
    if (err || status || len != PIECE)
        r->l->errors++;
    else
        memcpy(r->l->back + r->off, data, len);
    r->l->reads_done++;
}

static void on_write(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    lane *l = ud;
    if (err || status)
        l->errors++;
    l->writes_done++;
}

static void on_ioctl(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    lane *l = ud;
    if (err || status || len < 24)
        l->errors++;
    l->key_len = len;
    l->ioctls_done++;
}

/* Runs both connections from one poll() until neither has a request in
 * flight; bounded by the requests' own deadlines and a 60 s cap. */
static void loop_both(lane *ls, int n)
{
    double end = it_now() + 60;
    for (;;) {
        size_t pending = 0;
        for (int i = 0; i < n; i++)
            pending += smbw_conn_pending(ls[i].ctx.conn);
        if (!pending)
            break;
        ck_assert_msg(it_now() < end, "requests still pending after 60 s");
        struct pollfd pfd[2];
        int timeout = -1;
        for (int i = 0; i < n; i++) {
            pfd[i].fd = smbw_conn_fd(ls[i].ctx.conn);
            pfd[i].events = smbw_conn_events(ls[i].ctx.conn);
            pfd[i].revents = 0;
            int t = smbw_conn_next_timeout(ls[i].ctx.conn);
            ck_assert_int_le(t, IT_TIMEOUT_MS);
            if (t >= 0 && (timeout < 0 || t < timeout))
                timeout = t;
        }
        int rc = poll(pfd, (nfds_t)n, timeout);
        ck_assert_int_ge(rc, 0);
        for (int i = 0; i < n; i++)
            IT_OK(ls[i].ctx.conn, smbw_conn_service(ls[i].ctx.conn, pfd[i].revents));
    }
}

START_TEST(test_two_connections_one_loop)
{
    lane ls[2];
    static read_req reqs[2][NPIECES];
    memset(ls, 0, sizeof ls);
    for (int i = 0; i < 2; i++) {
        lane *l = &ls[i];
        it_open(&l->ctx);
        l->data = malloc(FILE_LEN);
        l->back = calloc(1, FILE_LEN);
        ck_assert(l->data && l->back);
        it_random(l->data, FILE_LEN);
        char name[32];
        snprintf(name, sizeof name, "loop-%d.bin", i);
        IT_OK(l->ctx.conn,
              smbw_file_open(&l->f, l->ctx.tree, name, SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC));
        ck_assert_int_ge(smbw_conn_fd(l->ctx.conn), 0);
        ck_assert_uint_eq(smbw_conn_pending(l->ctx.conn), 0);
        ck_assert_int_eq(smbw_conn_next_timeout(l->ctx.conn), -1);
    }
    /* Writes first, all asynchronous, on both connections at once. */
    int nw = (int)(FILE_LEN / PIECE);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < nw; k++)
            IT_OK(ls[i].ctx.conn,
                  smbw_file_pwrite_async(ls[i].f, ls[i].data + (size_t)k * PIECE, PIECE,
                                         (uint64_t)k * PIECE, on_write, &ls[i]));
    for (int i = 0; i < 2; i++) {
        ck_assert_uint_gt(smbw_conn_pending(ls[i].ctx.conn), 0);
        ck_assert_int_ge(smbw_conn_next_timeout(ls[i].ctx.conn), 0);
        ck_assert(smbw_conn_events(ls[i].ctx.conn) & (POLLIN | POLLOUT));
    }
    loop_both(ls, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(ls[i].writes_done, nw);
        ck_assert_int_eq(ls[i].errors, 0);
    }
    /* Then reads of every piece and a resume-key IOCTL, interleaved. */
    for (int i = 0; i < 2; i++) {
        for (int k = 0; k < (int)NPIECES; k++) {
            reqs[i][k].l = &ls[i];
            reqs[i][k].off = (uint64_t)k * PIECE;
            IT_OK(ls[i].ctx.conn,
                  smbw_file_pread_async(ls[i].f, PIECE, reqs[i][k].off, on_read, &reqs[i][k]));
        }
        IT_OK(ls[i].ctx.conn, smbw_file_ioctl_async(ls[i].f, SMBW_FSCTL_SRV_REQUEST_RESUME_KEY,
                                                    NULL, 0, 32, on_ioctl, &ls[i]));
    }
    loop_both(ls, 2);
    for (int i = 0; i < 2; i++) {
        lane *l = &ls[i];
        ck_assert_int_eq(l->reads_done, (int)NPIECES);
        ck_assert_int_eq(l->ioctls_done, 1);
        ck_assert_int_eq(l->errors, 0);
        ck_assert_uint_ge(l->key_len, 24);
        ck_assert_msg(memcmp(l->back, l->data, FILE_LEN) == 0, "connection %d read other data", i);
        ck_assert_uint_eq(smbw_conn_pending(l->ctx.conn), 0);
        ck_assert_int_eq(smbw_conn_next_timeout(l->ctx.conn), -1);
        /* What the server holds is what was written. */
        char name[32];
        snprintf(name, sizeof name, "loop-%d.bin", i);
        size_t len = 0;
        uint8_t *srv = it_server_read(name, &len);
        ck_assert_uint_eq(len, FILE_LEN);
        ck_assert(memcmp(srv, l->data, FILE_LEN) == 0);
        free(srv);
        IT_OK(l->ctx.conn, smbw_file_free(l->f));
        it_close(&l->ctx);
        free(l->data);
        free(l->back);
    }
}
END_TEST

/* ---- cancel --------------------------------------------------------------- */

typedef struct cancel_log {
    int done, ok, canceled, other;
} cancel_log;

static void on_cancel_read(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    cancel_log *c = ud;
    c->done++;
    if (err == 0 && len == PIECE)
        c->ok++;
    else if (err == SMBW_ECANCELED)
        c->canceled++;
    else
        c->other++;
}

START_TEST(test_cancel_in_flight)
{
    it_ctx x;
    it_open(&x);
    uint8_t *data = malloc(FILE_LEN);
    it_random(data, FILE_LEN);
    smbw_file *f = NULL;
    IT_OK(x.conn, smbw_file_open(&f, x.tree, "cancel.bin", SMBW_O_RDWR | SMBW_O_CREAT));
    IT_OK(x.conn, smbw_file_pwrite(f, data, FILE_LEN, 0));
    /* Nothing in flight: nothing to cancel. */
    ck_assert_int_eq(smbw_conn_cancel(x.conn), 0);
    cancel_log log = {0};
    for (int k = 0; k < 8; k++)
        IT_OK(x.conn, smbw_file_pread_async(f, PIECE, (uint64_t)k * PIECE, on_cancel_read, &log));
    size_t pending = smbw_conn_pending(x.conn);
    ck_assert_uint_eq(pending, 8);
    int n = smbw_conn_cancel(x.conn);
    /* One CANCEL per request in flight (none waits for credits here). */
    ck_assert_msg(n >= 1 && (size_t)n <= pending, "smbw_conn_cancel -> %d for %zu pending", n,
                  pending);
    IT_OK(x.conn, smbw_conn_drain(x.conn));
    ck_assert_int_eq(log.done, 8);
    ck_assert_int_eq(log.other, 0);
    ck_assert_int_eq(log.ok + log.canceled, 8);
    fprintf(stderr, "cancel: %d CANCELs for %zu reads: %d completed, %d canceled\n", n, pending,
            log.ok, log.canceled);
    /* The connection stays usable. */
    ck_assert(!smbw_conn_is_dead(x.conn));
    IT_OK(x.conn, smbw_conn_echo(x.conn));
    uint8_t back[16];
    size_t got = 0;
    IT_OK(x.conn, smbw_file_pread(f, back, sizeof back, 0, &got));
    ck_assert_uint_eq(got, sizeof back);
    ck_assert(memcmp(back, data, sizeof back) == 0);
    IT_OK(x.conn, smbw_file_free(f));
    it_close(&x);
    free(data);
}
END_TEST

/* ---- raw QUERY_INFO / SET_INFO -------------------------------------------- */

#define SMB2_0_INFO_FILE 1
#define FILE_STANDARD_INFORMATION 5
#define FILE_END_OF_FILE_INFORMATION 20

START_TEST(test_query_and_set_info)
{
    it_ctx x;
    it_open(&x);
    smbw_file *f = NULL;
    IT_OK(x.conn,
          smbw_file_open(&f, x.tree, "info.bin", SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC));
    uint8_t buf[1000];
    memset(buf, 7, sizeof buf);
    IT_OK(x.conn, smbw_file_pwrite(f, buf, sizeof buf, 0));
    void *out = NULL;
    size_t outlen = 0;
    IT_OK(x.conn, smbw_file_query_info(f, SMB2_0_INFO_FILE, FILE_STANDARD_INFORMATION, 0, 1024,
                                       &out, &outlen));
    /* MS-FSCC 2.4.41: AllocationSize, EndOfFile, NumberOfLinks, DeletePending,
     * Directory. */
    ck_assert_uint_ge(outlen, 22);
    ck_assert_uint_eq(get64((uint8_t *)out + 8), sizeof buf);
    ck_assert_uint_eq(get32((uint8_t *)out + 16), 1);
    ck_assert_uint_eq(((uint8_t *)out)[21], 0); /* not a directory */
    free(out);
    /* FileEndOfFileInformation: the server-side file changes size. */
    uint8_t eof[8] = {0};
    eof[0] = 0x39; /* 12345 = 0x3039 */
    eof[1] = 0x30;
    IT_OK(x.conn, smbw_file_set_info(f, SMB2_0_INFO_FILE, FILE_END_OF_FILE_INFORMATION, 0, eof,
                                     sizeof eof));
    struct stat st;
    ck_assert_int_eq(it_server_stat("info.bin", &st), 0);
    ck_assert_int_eq(st.st_size, 12345);
    out = NULL;
    IT_OK(x.conn, smbw_file_query_info(f, SMB2_0_INFO_FILE, FILE_STANDARD_INFORMATION, 0, 1024,
                                       &out, &outlen));
    ck_assert_uint_eq(get64((uint8_t *)out + 8), 12345);
    free(out);
    /* An output buffer too small for the answer is the server's error, and
     * the connection survives it. */
    out = NULL;
    int rc =
        smbw_file_query_info(f, SMB2_0_INFO_FILE, FILE_STANDARD_INFORMATION, 0, 4, &out, &outlen);
    ck_assert_msg(rc < 0, "a 4-byte buffer for 24 bytes of answer -> %s", smbw_error_name(rc));
    free(out);
    ck_assert(!smbw_conn_is_dead(x.conn));
    IT_OK(x.conn, smbw_file_free(f));
    it_close(&x);
}
END_TEST

/* ---- CREATE with a context, FileId, tree flags ----------------------------- */

START_TEST(test_create_contexts_and_file_id)
{
    it_ctx x;
    it_open(&x);
    /* SMB2_CREATE_QUERY_MAXIMAL_ACCESS_REQUEST ("MxAc", MS-SMB2 2.2.13.2.5),
     * no data: Next 0, NameOffset 16, NameLength 4, Reserved, DataOffset 0,
     * DataLength 0, the name, padding to 8. */
    uint8_t ctx[24];
    memset(ctx, 0, sizeof ctx);
    ctx[4] = 16;
    ctx[6] = 4;
    memcpy(ctx + 16, "MxAc", 4);
    smbw_create_params p;
    memset(&p, 0, sizeof p);
    p.desired_access = 0x0012019Fu; /* generic read/write on a file */
    p.share_access = 7;
    p.create_disposition = 5; /* FILE_OVERWRITE_IF */
    p.create_options = 0x40;  /* FILE_NON_DIRECTORY_FILE */
    p.impersonation_level = 2;
    p.create_contexts = ctx;
    p.create_contexts_len = sizeof ctx;
    smbw_file *f = NULL, *g = NULL;
    IT_OK(x.conn, smbw_file_create(&f, x.tree, "ctx.bin", &p));
    size_t clen = 0;
    const uint8_t *c = smbw_file_create_contexts(f, &clen);
    ck_assert_msg(c != NULL && clen >= 24, "no create contexts in the answer (%zu bytes)", clen);
    /* Find the MxAc response: QueryStatus 0 and a MaximalAccess that grants
     * at least what was asked. */
    bool found = false;
    for (size_t off = 0; off + 16 <= clen;) {
        uint32_t next = get32(c + off);
        uint16_t noff = (uint16_t)(c[off + 4] | c[off + 5] << 8);
        uint16_t nlen = (uint16_t)(c[off + 6] | c[off + 7] << 8);
        uint16_t doff = (uint16_t)(c[off + 10] | c[off + 11] << 8);
        uint32_t dlen = get32(c + off + 12);
        ck_assert_uint_le(off + noff + nlen, clen);
        ck_assert_uint_le(off + doff + dlen, clen);
        if (nlen == 4 && !memcmp(c + off + noff, "MxAc", 4)) {
            ck_assert_uint_ge(dlen, 8);
            ck_assert_uint_eq(get32(c + off + doff), 0);
            uint32_t max = get32(c + off + doff + 4);
            ck_assert_msg((max & p.desired_access) == p.desired_access, "MaximalAccess 0x%x", max);
            found = true;
        }
        if (!next)
            break;
        off += next;
    }
    ck_assert_msg(found, "no MxAc context in the CREATE answer");
    /* FileId: two opens of one file have different ids. */
    uint8_t id1[16], id2[16], zero[16] = {0};
    smbw_file_id(f, id1);
    ck_assert(memcmp(id1, zero, 16) != 0);
    IT_OK(x.conn, smbw_file_open(&g, x.tree, "ctx.bin", SMBW_O_RDONLY));
    smbw_file_id(g, id2);
    ck_assert(memcmp(id1, id2, 16) != 0);
    size_t glen = 1;
    smbw_file_create_contexts(g, &glen);
    ck_assert_uint_eq(glen, 0); /* nothing asked, nothing answered */
    IT_OK(x.conn, smbw_file_free(g));
    IT_OK(x.conn, smbw_file_free(f));

    /* share1 has `csc policy = documents`: CSC flags AUTO_CACHING (0x10);
     * no encryption demanded; a non-clustered Samba reports no share
     * capability (no DFS, continuous availability, scale-out, cluster). */
    uint32_t flags = smbw_tree_share_flags(x.tree);
    fprintf(stderr, "share flags 0x%08x, capabilities 0x%08x\n", flags,
            smbw_tree_capabilities(x.tree));
    ck_assert_uint_eq(flags & 0x30u, 0x10u);
    ck_assert_uint_eq(flags & 0x8000u, 0);
    ck_assert_uint_eq(smbw_tree_capabilities(x.tree) & 0x78u, 0);
    it_close(&x);
}
END_TEST

/* ---- connection setup from the event loop ------------------------------- */

typedef struct step_result {
    int calls;
    int err;
    uint32_t status;
} step_result;

static void on_step(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    step_result *r = ud;
    (void)data;
    (void)len;
    r->calls++;
    r->err = err;
    r->status = status;
}

/* Services n connections from one poll() until every result has its call. */
static void loop_steps(smbw_conn **cs, step_result *rs, int n)
{
    double end = it_now() + 60;
    for (;;) {
        int waiting = 0;
        for (int i = 0; i < n; i++)
            waiting += rs[i].calls == 0;
        if (!waiting)
            break;
        ck_assert_msg(it_now() < end, "setup still pending after 60 s");
        struct pollfd pfd[2];
        int timeout = -1;
        for (int i = 0; i < n; i++) {
            pfd[i].fd = smbw_conn_fd(cs[i]);
            pfd[i].events = smbw_conn_events(cs[i]);
            pfd[i].revents = 0;
            int t = smbw_conn_next_timeout(cs[i]);
            ck_assert_int_le(t, IT_TIMEOUT_MS);
            if (t >= 0 && (timeout < 0 || t < timeout))
                timeout = t;
        }
        ck_assert_int_ge(poll(pfd, (nfds_t)n, timeout), 0);
        for (int i = 0; i < n; i++)
            if (!smbw_conn_is_dead(cs[i]))
                (void)smbw_conn_service(cs[i], pfd[i].revents);
    }
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(rs[i].calls, 1);
}

/* smbw_conn_add_negotiate_context: the arguments it refuses, and an unknown
 * context type that the server ignores on a signed 3.1.1 session (whose keys
 * come from a pre-auth hash over the NEGOTIATE as sent). */
START_TEST(test_extra_negotiate_context)
{
    static const uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t big[65] = {0};
    smbw_conn *c;
    ck_assert_int_eq(smbw_conn_new(&c), 0);
    ck_assert_int_eq(smbw_conn_add_negotiate_context(NULL, 0xF0F0, data, 8), SMBW_EINVAL);
    ck_assert_int_eq(smbw_conn_add_negotiate_context(c, 1, data, 8), SMBW_EINVAL);
    ck_assert_int_eq(smbw_conn_add_negotiate_context(c, 0, data, 8), SMBW_EINVAL);
    ck_assert_int_eq(smbw_conn_add_negotiate_context(c, 0xF0F0, big, sizeof big), SMBW_EINVAL);
    ck_assert_int_eq(smbw_conn_add_negotiate_context(c, 0xF0F0, NULL, 8), SMBW_EINVAL);
    IT_OK(c, smbw_conn_add_negotiate_context(c, 0xF0F0, data, sizeof data));
    IT_OK(c, smbw_conn_set_dialects(c, SMBW_SMB3_11, SMBW_SMB3_11));
    IT_OK(c, smbw_conn_set_signing(c, SMBW_SIGN_REQUIRED));
    IT_OK(c, smbw_conn_set_timeout(c, IT_TIMEOUT_MS));
    IT_OK(c, smbw_conn_connect(c, it_env("SMBW_TEST_HOST"), it_env_port()));
    ck_assert_int_eq(smbw_conn_add_negotiate_context(c, 0xF0F1, data, 8), SMBW_EINVAL);
    smbw_creds cr = SMBW_CREDS_INIT;
    cr.user = it_env("SMBW_TEST_USER");
    cr.password = it_env("SMBW_TEST_PASS");
    smbw_session *s = NULL;
    smbw_tree *t = NULL;
    IT_OK(c, smbw_session_new(&s, c, &cr));
    ck_assert(smbw_session_signed(s));
    IT_OK(c, smbw_tree_connect(&t, s, it_env("SMBW_TEST_SHARE")));
    smbw_stat st;
    IT_OK(c, smbw_stat_path(t, "", &st));
    smbw_tree_free(t);
    smbw_session_free(s);
    smbw_conn_free(c);
}
END_TEST

/* smbw_conn_override_next against Samba: a 1 MiB READ with CreditCharge 1
 * refused (STATUS_INVALID_PARAMETER), the next one built as usual again;
 * an ECHO asking for 9 credits gets them (smbw_conn_credits); a request in
 * the clear on a session the client encrypts is served and the session
 * carries on encrypted; a reused MessageId ends the connection. */
START_TEST(test_header_override)
{
    it_opts o = {.encrypt = SMBW_ENCRYPT_REQUIRED, .min_dialect = SMBW_SMB3_11};
    it_ctx ctx;
    it_open_to(&ctx, it_env("SMBW_TEST_HOST"), it_env_port(), &o);
    smbw_conn *c = ctx.conn;
    ck_assert(smbw_session_encrypted(ctx.sess));
    smbw_file *f;
    IT_OK(c,
          smbw_file_open(&f, ctx.tree, "override.bin", SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC));
    uint8_t *buf = calloc(1, FILE_LEN);
    ck_assert_ptr_nonnull(buf);
    IT_OK(c, smbw_file_pwrite(f, buf, FILE_LEN, 0));
    smbw_header_override ov = SMBW_HEADER_OVERRIDE_INIT;
    ov.set = SMBW_HDR_CREDIT_CHARGE;
    ov.credit_charge = 1;
    IT_OK(c, smbw_conn_override_next(c, &ov));
    size_t got = 0;
    ck_assert_int_eq(smbw_file_pread(f, buf, FILE_LEN, 0, &got), SMBW_ESTATUS);
    ck_assert_uint_eq(smbw_last_status(c), SMBW_STATUS_INVALID_PARAMETER);
    IT_OK(c, smbw_file_pread(f, buf, FILE_LEN, 0, &got));
    ck_assert_uint_eq(got, FILE_LEN);

    ov.set = SMBW_HDR_CREDIT_REQUEST;
    ov.credit_request = 10;
    IT_OK(c, smbw_conn_override_next(c, &ov));
    uint32_t before = smbw_conn_credits(c);
    IT_OK(c, smbw_conn_echo(c));
    ck_assert_uint_eq(smbw_conn_credits(c), before + 9);

    ov.set = SMBW_HDR_UNENCRYPTED;
    IT_OK(c, smbw_conn_override_next(c, &ov));
    smbw_stat st;
    IT_OK(c, smbw_file_stat(f, &st));
    ck_assert_uint_eq(st.size, FILE_LEN);
    IT_OK(c, smbw_file_stat(f, &st));
    IT_OK(c, smbw_file_free(f));
    IT_OK(c, smbw_unlink(ctx.tree, "override.bin"));

    uint64_t used = smbw_conn_next_message_id(c);
    IT_OK(c, smbw_conn_echo(c));
    ov.set = SMBW_HDR_MESSAGE_ID;
    ov.message_id = used;
    IT_OK(c, smbw_conn_override_next(c, &ov));
    ck_assert_int_eq(smbw_conn_echo(c), SMBW_ECLOSED); /* Samba ends the connection */
    ck_assert(smbw_conn_is_dead(c));
    ck_assert_int_eq(smbw_conn_override_next(c, &ov), SMBW_EDEAD);
    free(buf);
    it_close(&ctx);
}
END_TEST

START_TEST(test_setup_from_event_loop)
{
    const char *port_s = it_env("SMBW_TEST_PORT");
    uint16_t port = (uint16_t)atoi(port_s);
    smbw_conn *cs[2];
    smbw_session *ss[2] = {NULL, NULL};
    smbw_tree *ts[2] = {NULL, NULL};
    step_result rs[2];
    memset(rs, 0, sizeof rs);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(smbw_conn_new(&cs[i]), 0);
        IT_OK(cs[i], smbw_conn_set_timeout(cs[i], IT_TIMEOUT_MS));
        IT_OK(cs[i],
              smbw_conn_connect_async(cs[i], it_env("SMBW_TEST_HOST"), port, on_step, &rs[i]));
        ck_assert_int_ge(smbw_conn_fd(cs[i]), 0);
        ck_assert_uint_eq(smbw_conn_dialect(cs[i]), 0); /* nothing waited for yet */
        ck_assert_uint_eq(smbw_conn_pending(cs[i]), 1); /* NEGOTIATE queued */
    }
    loop_steps(cs, rs, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(rs[i].err == 0, "connect %d: %s", i, smbw_conn_errmsg(cs[i]));
        ck_assert_uint_ne(smbw_conn_dialect(cs[i]), 0);
    }

    /* Log in: connection 1 first with a wrong password. */
    memset(rs, 0, sizeof rs);
    for (int i = 0; i < 2; i++) {
        smbw_creds cr = SMBW_CREDS_INIT;
        cr.kind = SMBW_AUTH_NTLM;
        cr.user = it_env("SMBW_TEST_USER");
        cr.password = i == 1 ? "not-the-password" : it_env("SMBW_TEST_PASS");
        IT_OK(cs[i], smbw_session_new_async(&ss[i], cs[i], &cr, on_step, &rs[i]));
        ck_assert_ptr_null(ss[i]);
    }
    loop_steps(cs, rs, 2);
    ck_assert_msg(rs[0].err == 0, "login: %s", smbw_conn_errmsg(cs[0]));
    ck_assert_ptr_nonnull(ss[0]);
    ck_assert_int_eq(rs[1].err, SMBW_EAUTH);
    ck_assert_uint_eq(rs[1].status, SMBW_STATUS_LOGON_FAILURE);
    ck_assert_ptr_null(ss[1]);
    ck_assert(!smbw_conn_is_dead(cs[1])); /* a refused login keeps the connection */
    memset(rs, 0, sizeof rs);
    smbw_creds cr = SMBW_CREDS_INIT;
    cr.kind = SMBW_AUTH_NTLM;
    cr.user = it_env("SMBW_TEST_USER");
    cr.password = it_env("SMBW_TEST_PASS");
    IT_OK(cs[1], smbw_session_new_async(&ss[1], cs[1], &cr, on_step, &rs[1]));
    rs[0].calls = 1; /* nothing started on connection 0 */
    loop_steps(cs, rs, 2);
    ck_assert_msg(rs[1].err == 0, "login: %s", smbw_conn_errmsg(cs[1]));
    ck_assert(smbw_session_signed(ss[1]));

    /* Trees, then a synchronous call on each to show they work. */
    memset(rs, 0, sizeof rs);
    for (int i = 0; i < 2; i++)
        IT_OK(cs[i],
              smbw_tree_connect_async(&ts[i], ss[i], it_env("SMBW_TEST_SHARE"), on_step, &rs[i]));
    loop_steps(cs, rs, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(rs[i].err == 0, "tree %d: %s", i, smbw_conn_errmsg(cs[i]));
        ck_assert_ptr_nonnull(ts[i]);
        smbw_stat st;
        IT_OK(cs[i], smbw_stat_path(ts[i], "", &st));
        smbw_tree_free(ts[i]);
        smbw_session_free(ss[i]);
        smbw_conn_free(cs[i]);
    }
}
END_TEST

/* A session setup still in flight when the connection is freed completes
 * with SMBW_ECANCELED and leaves nothing behind (valgrind/ASan runs watch). */
START_TEST(test_setup_cancelled_by_free)
{
    smbw_conn *c = it_connect();
    step_result r;
    memset(&r, 0, sizeof r);
    smbw_session *s = NULL;
    smbw_creds cr = SMBW_CREDS_INIT;
    cr.kind = SMBW_AUTH_NTLM;
    cr.user = it_env("SMBW_TEST_USER");
    cr.password = it_env("SMBW_TEST_PASS");
    IT_OK(c, smbw_session_new_async(&s, c, &cr, on_step, &r));
    smbw_conn_free(c);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.err, SMBW_ECANCELED);
    ck_assert_ptr_null(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_two_connections_one_loop);
    tcase_add_test(tc, test_setup_from_event_loop);
    tcase_add_test(tc, test_extra_negotiate_context);
    tcase_add_test(tc, test_header_override);
    tcase_add_test(tc, test_setup_cancelled_by_free);
    tcase_add_test(tc, test_cancel_in_flight);
    tcase_add_test(tc, test_query_and_set_info);
    tcase_add_test(tc, test_create_contexts_and_file_id);
    suite_add_tcase(s, tc);
    return it_run(s);
}
