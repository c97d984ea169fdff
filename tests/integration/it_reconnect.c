/* smbw_conn_reconnect against a real Samba, the transport cut by the test
 * (shutdown of the connection's socket, as a network drop leaves it):
 *  - a write and a read on the same smbw_file after the reconnect, the
 *    session authenticated again through the password callback (asked once),
 *    the tree and the open brought back in place; the count and the notify
 *    callback say so; the bytes on the server are what was written;
 *  - a second drop on the same connection: reconnected again (count 2);
 *  - an NTLM session with no password callback: SMBW_EAUTH, no retry loop;
 *  - a read-only open whose file changed while the connection was down is
 *    detached (SMBW_EDEAD), the other opens come back;
 *  - a client that may only negotiate a lower dialect now (the server's
 *    answer differs from the first one): SMBW_EPOLICY at the first try,
 *    whatever the retries;
 *  - the policy's argument checks. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

typedef struct pwcb {
    int calls;
    int notified, last_err;
} pwcb;

static int give_password(void *ud, const char *user, const char *domain, char *buf, size_t size)
{
    (void)domain;
    pwcb *p = ud;
    p->calls++;
    ck_assert_str_eq(user, it_env("SMBW_TEST_USER"));
    const char *pw = it_env("SMBW_TEST_PASS");
    ck_assert_uint_lt(strlen(pw), size);
    strcpy(buf, pw);
    return 0;
}

static void notify(void *ud, int attempt, int err, const char *msg)
{
    pwcb *p = ud;
    ck_assert_int_ge(attempt, 1);
    ck_assert_ptr_nonnull(msg);
    p->notified++;
    p->last_err = err;
}

static void cut(smbw_conn *c)
{
    ck_assert_int_eq(shutdown(smbw_conn_fd(c), SHUT_RDWR), 0);
}

static void set_policy(smbw_conn *c, pwcb *p, bool with_password, int retries)
{
    smbw_reconnect_opts o = SMBW_RECONNECT_OPTS_INIT;
    o.retries = retries;
    o.wait_ms = 50;
    o.password = with_password ? give_password : NULL;
    o.password_ud = p;
    o.notify = notify;
    o.notify_ud = p;
    IT_OK(c, smbw_conn_set_reconnect(c, &o));
}

/* The server-side file name holds exactly the text want. */
static void expect_server_file(const char *name, const char *want)
{
    size_t len = 0;
    char *srv = it_server_read(name, &len);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert(memcmp(srv, want, len) == 0);
    free(srv);
}

/* A reconnect policy with p's password: retries tries wait_ms apart, and
 * durable handles (shared: durable_shared), replay as asked. */
static void set_reconn(smbw_conn *c, pwcb *p, int retries, int wait_ms, bool durable, bool shared,
                       bool replay)
{
    smbw_reconnect_opts o = SMBW_RECONNECT_OPTS_INIT;
    o.retries = retries;
    o.wait_ms = wait_ms;
    o.password = give_password;
    o.password_ud = p;
    o.durable = durable;
    o.durable_shared = shared;
    o.replay = replay;
    IT_OK(c, smbw_conn_set_reconnect(c, &o));
}

/* Durable handles on (shared: durable_shared too), two tries. */
static void set_durable(smbw_conn *c, pwcb *p, bool shared)
{
    set_reconn(c, p, 2, 0, true, shared, false);
}

START_TEST(test_reconnect_write_read)
{
    it_ctx a;
    it_open(&a);
    pwcb p = {0};
    set_policy(a.conn, &p, true, 3);
    smbw_file *f = NULL;
    IT_OK(a.conn, smbw_file_open(&f, a.tree, "reconn.bin", SMBW_O_RDWR | SMBW_O_CREAT));
    size_t n = 1u << 20;
    uint8_t *data = malloc(2 * n), *back = malloc(2 * n);
    ck_assert_ptr_nonnull(data);
    ck_assert_ptr_nonnull(back);
    for (size_t i = 0; i < 2 * n; i++)
        data[i] = (uint8_t)(i * 7 + (i >> 12));
    IT_OK(a.conn, smbw_file_pwrite(f, data, n, 0));
    uint16_t dialect = smbw_conn_dialect(a.conn);

    cut(a.conn);
    ck_assert_int_lt(smbw_file_pwrite(f, data + n, n, n), 0);
    ck_assert(smbw_conn_is_dead(a.conn));
    IT_OK(a.conn, smbw_conn_reconnect(a.conn));
    ck_assert(!smbw_conn_is_dead(a.conn));
    ck_assert_int_eq(p.calls, 1);
    ck_assert_int_eq(p.notified, 1);
    ck_assert_int_eq(p.last_err, 0);
    ck_assert_uint_eq(smbw_conn_reconnects(a.conn), 1);
    ck_assert_uint_eq(smbw_conn_dialect(a.conn), dialect);
    /* The same objects carry on. */
    IT_OK(a.conn, smbw_file_pwrite(f, data + n, n, n));
    size_t got = 0;
    IT_OK(a.conn, smbw_file_pread(f, back, 2 * n, 0, &got));
    ck_assert_uint_eq(got, 2 * n);
    ck_assert(memcmp(back, data, 2 * n) == 0);

    /* A second drop. */
    cut(a.conn);
    IT_OK(a.conn, smbw_conn_reconnect(a.conn));
    ck_assert_uint_eq(smbw_conn_reconnects(a.conn), 2);
    ck_assert_int_eq(p.calls, 2);
    got = 0;
    IT_OK(a.conn, smbw_file_pread(f, back, 2 * n, 0, &got));
    ck_assert_uint_eq(got, 2 * n);
    IT_OK(a.conn, smbw_file_free(f));
    size_t len = 0;
    void *srv = it_server_read("reconn.bin", &len);
    ck_assert_uint_eq(len, 2 * n);
    ck_assert(memcmp(srv, data, 2 * n) == 0);
    free(srv);
    IT_OK(a.conn, smbw_unlink(a.tree, "reconn.bin"));
    free(data);
    free(back);
    it_close(&a);
}
END_TEST

START_TEST(test_reconnect_no_password)
{
    it_ctx a;
    it_open(&a);
    pwcb p = {0};
    set_policy(a.conn, &p, false, 5);
    cut(a.conn);
    IT_ERR(a.conn, smbw_conn_reconnect(a.conn), SMBW_EAUTH);
    ck_assert_int_eq(p.calls, 0);
    ck_assert_int_ge(p.notified, 1);
    ck_assert_int_eq(p.last_err, SMBW_EAUTH);
    ck_assert_uint_eq(smbw_conn_reconnects(a.conn), 0);
    ck_assert(smbw_conn_is_dead(a.conn));
    it_close(&a);
}
END_TEST

START_TEST(test_reconnect_changed_file)
{
    it_ctx a;
    it_open(&a);
    pwcb p = {0};
    set_policy(a.conn, &p, true, 2);
    smbw_file *w = NULL, *r = NULL;
    IT_OK(a.conn, smbw_file_open(&w, a.tree, "reconn-a.bin", SMBW_O_RDWR | SMBW_O_CREAT));
    IT_OK(a.conn, smbw_file_pwrite(w, "hello", 5, 0));
    IT_OK(a.conn, smbw_file_free(w));
    IT_OK(a.conn, smbw_file_open(&r, a.tree, "reconn-a.bin", SMBW_O_RDONLY));
    IT_OK(a.conn, smbw_file_open(&w, a.tree, "reconn-b.bin", SMBW_O_RDWR | SMBW_O_CREAT));
    /* A file open for writing: after the reconnect only its on-disk id
     * (QFid) tells it from another file of the same name, size and times. */
    smbw_file *x = NULL;
    IT_OK(a.conn, smbw_file_open(&x, a.tree, "reconn-c.bin", SMBW_O_RDWR | SMBW_O_CREAT));
    IT_OK(a.conn, smbw_file_pwrite(x, "before", 6, 0));
    cut(a.conn);
    /* While the connection is down, the file changes on the server. */
    char *path = it_server_path("reconn-a.bin");
    FILE *fp = fopen(path, "ab");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fputs(" world", fp) >= 0, 1);
    ck_assert_int_eq(fclose(fp), 0);
    free(path);
    /* ... and reconn-c.bin is replaced by another file (a new inode,
     * renamed over it, same size and times). */
    char *cpath = it_server_path("reconn-c.bin");
    size_t cl = strlen(cpath);
    char *tpath = malloc(cl + 5);
    ck_assert_ptr_nonnull(tpath);
    memcpy(tpath, cpath, cl);
    memcpy(tpath + cl, ".new", 5);
    struct stat st;
    ck_assert_int_eq(stat(cpath, &st), 0);
    fp = fopen(tpath, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fputs("AFTER!", fp) >= 0, 1);
    ck_assert_int_eq(fclose(fp), 0);
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    ck_assert_int_eq(utimensat(AT_FDCWD, tpath, ts, 0), 0);
    ck_assert_int_eq(chown(tpath, st.st_uid, st.st_gid), 0);
    ck_assert_int_eq(chmod(tpath, st.st_mode & 07777), 0);
    ck_assert_int_eq(rename(tpath, cpath), 0);
    IT_OK(a.conn, smbw_conn_reconnect(a.conn));
    char buf[16];
    size_t got = 0;
    IT_ERR(a.conn, smbw_file_pread(r, buf, sizeof buf, 0, &got), SMBW_EDEAD);
    ck_assert(!smbw_file_attached(r));
    ck_assert(!smbw_file_attached(x));
    ck_assert(smbw_file_attached(w));
    ck_assert(!smbw_file_attached(NULL));
    IT_OK(a.conn, smbw_file_pwrite(w, "still here", 10, 0));
    /* The other file is never written through the old open. */
    IT_ERR(a.conn, smbw_file_pwrite(x, "WRONG!", 6, 0), SMBW_EDEAD);
    fp = fopen(cpath, "rb");
    ck_assert_ptr_nonnull(fp);
    memset(buf, 0, sizeof buf);
    ck_assert_int_eq((int)fread(buf, 1, sizeof buf, fp), 6);
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_str_eq(buf, "AFTER!");
    free(tpath);
    free(cpath);
    (void)smbw_file_free(x);
    (void)smbw_file_free(r);
    IT_OK(a.conn, smbw_file_free(w));
    ck_assert_int_eq((int)it_server_size("reconn-b.bin"), 10);
    IT_OK(a.conn, smbw_unlink(a.tree, "reconn-a.bin"));
    IT_OK(a.conn, smbw_unlink(a.tree, "reconn-b.bin"));
    IT_OK(a.conn, smbw_unlink(a.tree, "reconn-c.bin"));
    it_close(&a);
}
END_TEST

START_TEST(test_reconnect_downgrade_refused)
{
    it_ctx a;
    it_open(&a);
    uint16_t d = smbw_conn_dialect(a.conn);
    if (d <= SMBW_SMB2_02) {
        it_close(&a);
        ck_abort_msg("the server negotiated the lowest dialect: nothing lower to refuse");
    }
    pwcb p = {0};
    set_policy(a.conn, &p, true, 4);
    /* From now on the client offers only SMB 2.0.2: the answer differs. */
    IT_OK(a.conn, smbw_conn_set_dialects(a.conn, SMBW_SMB2_02, SMBW_SMB2_02));
    cut(a.conn);
    IT_ERR(a.conn, smbw_conn_reconnect(a.conn), SMBW_EPOLICY);
    ck_assert_int_eq(p.notified, 1); /* refused at once: no second try */
    ck_assert_msg(strstr(smbw_conn_errmsg(a.conn), "refused: the server now negotiates") != NULL,
                  "%s", smbw_conn_errmsg(a.conn));
    ck_assert(smbw_conn_is_dead(a.conn));
    it_close(&a);
}
END_TEST

typedef struct logbuf {
    int durable_granted, reclaimed, acks, leases, lease_reclaimed, rh_leases, by_path, once_more;
} logbuf;

static void log_cb(void *ud, enum smbw_log_level level, const char *msg)
{
    (void)level;
    logbuf *l = ud;
    if (getenv("IT_RECONN_DEBUG"))
        fprintf(stderr, "log: %s\n", msg);
    if (strstr(msg, "durable handle (v"))
        l->durable_granted++;
    if (strstr(msg, "reclaimed durably"))
        l->reclaimed++;
    if (strstr(msg, "reclaimed durably with its lease"))
        l->lease_reclaimed++;
    if (strstr(msg, "oplock break to level") || strstr(msg, "lease break to state"))
        l->acks++;
    if (strstr(msg, "lease granted (state RWH, v2)"))
        l->leases++;
    if (strstr(msg, "lease granted (state RH, v2)"))
        l->rh_leases++;
    if (strstr(msg, "opened again by its path"))
        l->by_path++;
    if (strstr(msg, "connecting once more"))
        l->once_more++;
}

/* Durable handles (smbw_reconnect_opts.durable) at dialect d: with
 * SMBW_TEST_DURABLE set (a Samba configured for them) the open is durable,
 * with a lease R|W|H on 3.x (Samba 4.17 grants leases by default), a second
 * open of the file on the same connection makes the server break the lease
 * (3.x: to R|H, then the lease break answer) or the batch oplock (2.x),
 * which is acknowledged at once (the open completes within
 * 5 s, not at the break timeout), and after a cut the handle is reclaimed
 * (DH2C on 3.x, DHnC on 2.x) and the writes go on; without it the file is
 * opened again by path (Samba 4.17's defaults grant durability too, but
 * the reclaim is not counted there). */
static void durable_at(uint16_t d)
{
    bool want = it_env_opt("SMBW_TEST_DURABLE") != NULL;
    it_opts io;
    memset(&io, 0, sizeof io);
    io.max_dialect = d;
    it_ctx a;
    it_open_to(&a, it_env("SMBW_TEST_HOST"), it_env_port(), &io);
    logbuf lg = {0};
    IT_OK(a.conn, smbw_conn_set_log(a.conn, SMBW_LOG_DEBUG, log_cb, &lg));
    pwcb p = {0};
    set_durable(a.conn, &p, false);
    smbw_file *f = NULL, *g = NULL;
    IT_OK(a.conn, smbw_file_open(&f, a.tree, "durable.bin", SMBW_O_RDWR | SMBW_O_CREAT));
    if (want)
        ck_assert_int_eq(lg.durable_granted, 1);
    /* On 3.x durability comes with a lease R|W|H (a batch oplock on 2.x). */
    ck_assert_int_eq(lg.leases, d >= SMBW_SMB3_00 ? 1 : 0);
    IT_OK(a.conn, smbw_file_pwrite(f, "0123456789", 10, 0));
    cut(a.conn);
    IT_OK(a.conn, smbw_conn_reconnect(a.conn));
    if (want)
        ck_assert_int_eq(lg.reclaimed, 1);
    if (want) /* DH2C with the same lease key (MS-SMB2 3.2.4.4) */
        ck_assert_int_eq(lg.lease_reclaimed, d >= SMBW_SMB3_00 ? 1 : 0);
    IT_OK(a.conn, smbw_file_pwrite(f, "abcdef", 6, 10));
    /* A second open breaks the batch oplock (which also ends durability):
     * acknowledged at once, so the open completes well before Samba's 30 s
     * break timeout. */
    time_t t0 = time(NULL);
    IT_OK(a.conn, smbw_file_open(&g, a.tree, "durable.bin", SMBW_O_RDONLY));
    ck_assert_int_le(time(NULL) - t0, 5);
    if (want)
        ck_assert_int_ge(lg.acks, 1);
    IT_OK(a.conn, smbw_file_free(g));
    IT_OK(a.conn, smbw_file_free(f));
    expect_server_file("durable.bin", "0123456789abcdef");
    IT_OK(a.conn, smbw_unlink(a.tree, "durable.bin"));
    it_close(&a);
}

START_TEST(test_reconnect_durable_v2)
{
    durable_at(SMBW_SMB3_11);
}
END_TEST

START_TEST(test_reconnect_durable_v1)
{
    durable_at(SMBW_SMB2_10);
}
END_TEST

/* A drop the server has not seen: the server's end of the old connection
 * stays open (a duplicate of the socket is kept, so closing the library's
 * descriptor sends nothing), as when the network path fails. The
 * reconnect's login names the old session (PreviousSessionId), so the server
 * ends it before it answers: the durable open is disconnected and reclaimed
 * at the first ask, without connecting once more and without waiting for
 * the server's break timeout (without PreviousSessionId Samba refuses the
 * reclaim, the old open being live, and an open by path waits for a lease
 * break the old connection never answers). */
START_TEST(test_reconnect_durable_unnoticed)
{
    if (!it_env_opt("SMBW_TEST_DURABLE"))
        return;
    it_ctx a;
    it_open(&a);
    logbuf lg = {0};
    IT_OK(a.conn, smbw_conn_set_log(a.conn, SMBW_LOG_DEBUG, log_cb, &lg));
    pwcb p = {0};
    set_durable(a.conn, &p, false);
    smbw_file *f = NULL;
    IT_OK(a.conn, smbw_file_open(&f, a.tree, "unnoticed.bin", SMBW_O_RDWR | SMBW_O_CREAT));
    ck_assert_int_eq(lg.durable_granted, 1);
    IT_OK(a.conn, smbw_file_pwrite(f, "0123456789", 10, 0));
    int keep = dup(smbw_conn_fd(a.conn));
    ck_assert_int_ge(keep, 0);
    time_t t0 = time(NULL);
    IT_OK(a.conn, smbw_conn_reconnect(a.conn));
    ck_assert_int_le(time(NULL) - t0, 5);
    ck_assert_int_eq(lg.reclaimed, 1);
    ck_assert_int_eq(lg.once_more, 0);
    ck_assert_int_eq(lg.by_path, 0);
    IT_OK(a.conn, smbw_file_pwrite(f, "abcdef", 6, 10));
    IT_OK(a.conn, smbw_file_free(f));
    expect_server_file("unnoticed.bin", "0123456789abcdef");
    IT_OK(a.conn, smbw_unlink(a.tree, "unnoticed.bin"));
    ck_assert_int_eq(close(keep), 0);
    it_close(&a);
}
END_TEST

/* durable_shared: one file opened for writing on two connections, each
 * durable with a lease R|H. The second connection's open is answered at
 * once although the first connection is not serviced meanwhile (with R|W|H
 * the server would break the first lease's Write state and wait for its
 * acknowledgment: Samba's 30 s break timeout). After a cut of the first
 * connection its open comes back (reclaimed, or by path where the server
 * kept no durable open: Samba keeps none while another open exists) and
 * both write on. */
START_TEST(test_reconnect_durable_shared)
{
    it_ctx a, b;
    it_open(&a);
    it_open(&b);
    if (smbw_conn_dialect(a.conn) < SMBW_SMB3_00) {
        it_close(&b);
        it_close(&a);
        return;
    }
    logbuf la = {0}, lb = {0};
    IT_OK(a.conn, smbw_conn_set_log(a.conn, SMBW_LOG_DEBUG, log_cb, &la));
    IT_OK(b.conn, smbw_conn_set_log(b.conn, SMBW_LOG_DEBUG, log_cb, &lb));
    pwcb p = {0};
    set_durable(a.conn, &p, true);
    set_durable(b.conn, &p, true);
    smbw_file *f = NULL, *g = NULL;
    IT_OK(a.conn, smbw_file_open(&f, a.tree, "shared.bin", SMBW_O_RDWR | SMBW_O_CREAT));
    ck_assert_int_eq(la.rh_leases, 1);
    ck_assert_int_eq(la.leases, 0);
    time_t t0 = time(NULL);
    IT_OK(b.conn, smbw_file_open(&g, b.tree, "shared.bin", SMBW_O_WRONLY));
    ck_assert_int_le(time(NULL) - t0, 5);
    ck_assert_int_eq(lb.rh_leases, 1);
    IT_OK(a.conn, smbw_file_pwrite(f, "0123456789", 10, 0));
    IT_OK(b.conn, smbw_file_pwrite(g, "abcdef", 6, 10));
    cut(a.conn);
    IT_OK(a.conn, smbw_conn_reconnect(a.conn));
    ck_assert(smbw_file_attached(f));
    ck_assert_int_eq(la.reclaimed + la.by_path, 1);
    IT_OK(a.conn, smbw_file_pwrite(f, "ABCDEF", 6, 16));
    IT_OK(b.conn, smbw_file_pwrite(g, "!", 1, 22));
    IT_OK(b.conn, smbw_file_free(g));
    IT_OK(a.conn, smbw_file_free(f));
    expect_server_file("shared.bin", "0123456789abcdefABCDEF!");
    IT_OK(a.conn, smbw_unlink(a.tree, "shared.bin"));
    it_close(&b);
    it_close(&a);
}
END_TEST

/* A reclaim the server refuses after taking the open over: the file's
 * times changed on the server while the durable open was disconnected (as
 * when writes in flight land after the drop), so Samba refuses the DH2C,
 * but only after it made the open's record its new connection's; an open by
 * path on that connection then waits for a break of the lease R|W|H that
 * nobody answers (Samba's 30 s break timeout). The library connects once
 * more first: the file is opened by path at once, the same file, durable
 * again, and written on. */
START_TEST(test_reconnect_refused_reclaim)
{
    it_ctx a;
    it_open(&a);
    if (smbw_conn_dialect(a.conn) < SMBW_SMB3_00) {
        it_close(&a);
        return;
    }
    logbuf lg = {0};
    IT_OK(a.conn, smbw_conn_set_log(a.conn, SMBW_LOG_DEBUG, log_cb, &lg));
    pwcb p = {0};
    set_durable(a.conn, &p, false);
    smbw_file *f = NULL;
    IT_OK(a.conn, smbw_file_open(&f, a.tree, "refused.bin", SMBW_O_RDWR | SMBW_O_CREAT));
    ck_assert_int_eq(lg.durable_granted, 1);
    ck_assert_int_eq(lg.leases, 1);
    IT_OK(a.conn, smbw_file_pwrite(f, "0123456789", 10, 0));
    cut(a.conn);
    /* The server marks the open disconnected (its state saved), then the
     * file's times move. */
    struct timespec nap = {0, 300 * 1000 * 1000};
    nanosleep(&nap, NULL);
    char *path = it_server_path("refused.bin");
    struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
    ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
    free(path);
    time_t t0 = time(NULL);
    IT_OK(a.conn, smbw_conn_reconnect(a.conn));
    ck_assert_int_le(time(NULL) - t0, 10);
    ck_assert(smbw_file_attached(f));
    ck_assert_int_eq(lg.reclaimed, 0);
    ck_assert_int_eq(lg.once_more, 1);
    ck_assert_int_eq(lg.by_path, 1);
    /* Opened by path, it asked for durability again: a second drop finds it
     * durable, reclaimed this time. */
    ck_assert_int_eq(lg.durable_granted, 2);
    ck_assert_int_eq(lg.leases, 2);
    IT_OK(a.conn, smbw_file_pwrite(f, "abc", 3, 10));
    cut(a.conn);
    IT_OK(a.conn, smbw_conn_reconnect(a.conn));
    ck_assert_int_eq(lg.lease_reclaimed, 1);
    ck_assert_int_eq(lg.once_more, 1);
    IT_OK(a.conn, smbw_file_pwrite(f, "de", 2, 13));
    IT_OK(a.conn, smbw_file_free(f));
    expect_server_file("refused.bin", "0123456789abcde");
    IT_OK(a.conn, smbw_unlink(a.tree, "refused.bin"));
    it_close(&a);
}
END_TEST

/* ---- replay (smbw_reconnect_opts.replay) ------------------------------- */

typedef struct rd_slot {
    uint64_t off;
    size_t len;
    int err, calls;
    uint8_t *expect;
    bool same;
} rd_slot;

static void rd_done(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    (void)status;
    rd_slot *s = ud;
    s->calls++;
    s->err = err;
    s->same = err == 0 && len == s->len && memcmp(data, s->expect + s->off, len) == 0;
}

static void wr_done(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    (void)status;
    (void)data;
    rd_slot *s = ud;
    s->calls++;
    s->err = err;
    s->same = err == 0 && len == s->len;
}

typedef struct trace {
    int replay_flag, parked, resent;
} trace;

static void trace_cb(void *ud, enum smbw_log_level level, const char *msg)
{
    (void)level;
    trace *t = ud;
    if (getenv("IT_RECONN_DEBUG"))
        fprintf(stderr, "log: %s\n", msg);
    if (strncmp(msg, "-> ", 3) == 0 && strstr(msg, " replay"))
        t->replay_flag++;
    if (strstr(msg, "kept to be sent again"))
        t->parked++;
    if (strstr(msg, "sent again after the reconnect"))
        t->resent++;
}

static void set_replay(smbw_conn *c, pwcb *p, bool durable)
{
    set_reconn(c, p, 3, 50, durable, false, true);
}

#define RP_N 8
#define RP_PIECE (256u * 1024u)

/* Reads in flight when the transport drops come back by themselves: the
 * wait (smbw_conn_drain) reconnects, sends them again with the replay flag
 * (SMB 3.x) and their callbacks get the right bytes; the program never sees
 * the drop. At SMB 2.1 (no replay there) the same reads fail as before. */
static void replay_reads_at(uint16_t d)
{
    it_opts io;
    memset(&io, 0, sizeof io);
    io.max_dialect = d;
    it_ctx a;
    it_open_to(&a, it_env("SMBW_TEST_HOST"), it_env_port(), &io);
    pwcb p = {0};
    set_replay(a.conn, &p, false);
    size_t n = RP_N * RP_PIECE;
    uint8_t *data = malloc(n);
    ck_assert_ptr_nonnull(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i * 13 + (i >> 10));
    smbw_file *f = NULL;
    IT_OK(a.conn, smbw_file_open(&f, a.tree, "replay-r.bin", SMBW_O_RDWR | SMBW_O_CREAT));
    IT_OK(a.conn, smbw_file_pwrite(f, data, n, 0));
    trace tr = {0};
    IT_OK(a.conn, smbw_conn_set_log(a.conn, SMBW_LOG_TRACE, trace_cb, &tr));
    rd_slot sl[RP_N];
    for (int i = 0; i < RP_N; i++) {
        sl[i] = (rd_slot){.off = (uint64_t)i * RP_PIECE, .len = RP_PIECE, .expect = data};
        IT_OK(a.conn, smbw_file_pread_async(f, RP_PIECE, sl[i].off, rd_done, &sl[i]));
    }
    cut(a.conn); /* before they went out: sending them fails */
    int rc = smbw_conn_drain(a.conn);
    bool replay = d >= SMBW_SMB3_00;
    for (int i = 0; i < RP_N; i++) {
        ck_assert_int_eq(sl[i].calls, 1);
        if (replay)
            ck_assert_msg(sl[i].err == 0 && sl[i].same, "read %d: %d", i, sl[i].err);
        else
            ck_assert_int_lt(sl[i].err, 0);
    }
    if (replay) {
        IT_OK(a.conn, rc);
        ck_assert_uint_eq(smbw_conn_reconnects(a.conn), 1);
        ck_assert_uint_eq(smbw_conn_replays(a.conn), RP_N);
        ck_assert_int_eq(tr.parked, 1);
        ck_assert_int_eq(tr.resent, 1);
        ck_assert_int_eq(tr.replay_flag, RP_N);
    } else {
        ck_assert_int_lt(rc, 0);
        ck_assert(smbw_conn_is_dead(a.conn));
        ck_assert_uint_eq(smbw_conn_replays(a.conn), 0);
        IT_OK(a.conn, smbw_conn_reconnect(a.conn));
    }
    /* A WRITE past the end of file in flight: nothing is sent again, the
     * calls fail as without replay (the caller goes on from its mark). */
    rd_slot w = {.len = 4096};
    rd_slot r0 = {.off = 0, .len = RP_PIECE, .expect = data};
    IT_OK(a.conn, smbw_file_pread_async(f, RP_PIECE, 0, rd_done, &r0));
    IT_OK(a.conn, smbw_file_pwrite_async(f, data, 4096, n, wr_done, &w));
    uint64_t before = smbw_conn_replays(a.conn);
    cut(a.conn);
    ck_assert_int_lt(smbw_conn_drain(a.conn), 0);
    ck_assert_int_eq(w.calls, 1);
    ck_assert_int_lt(w.err, 0);
    ck_assert_int_eq(r0.calls, 1);
    ck_assert_int_lt(r0.err, 0);
    ck_assert_uint_eq(smbw_conn_replays(a.conn), before);
    ck_assert(smbw_conn_is_dead(a.conn));
    IT_OK(a.conn, smbw_conn_reconnect(a.conn));
    IT_OK(a.conn, smbw_conn_set_log(a.conn, SMBW_LOG_ERROR, NULL, NULL));
    IT_OK(a.conn, smbw_file_free(f));
    IT_OK(a.conn, smbw_unlink(a.tree, "replay-r.bin"));
    free(data);
    it_close(&a);
}

START_TEST(test_replay_reads_311)
{
    replay_reads_at(SMBW_SMB3_11);
}
END_TEST

START_TEST(test_replay_reads_21)
{
    replay_reads_at(SMBW_SMB2_10);
}
END_TEST

/* Writes inside the end of file on a durable handle (SMB 3.x: DH2Q) come
 * back too: reclaimed with DH2C and sent again; the file on the server holds
 * every byte. Needs a Samba that grants durability (SMBW_TEST_DURABLE). */
START_TEST(test_replay_writes_durable)
{
    if (!it_env_opt("SMBW_TEST_DURABLE"))
        return;
    it_ctx a;
    it_open(&a);
    pwcb p = {0};
    set_replay(a.conn, &p, true);
    size_t n = RP_N * RP_PIECE;
    uint8_t *data = malloc(n);
    ck_assert_ptr_nonnull(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i * 29 + (i >> 9));
    smbw_file *f = NULL;
    IT_OK(a.conn, smbw_file_open(&f, a.tree, "replay-w.bin", SMBW_O_RDWR | SMBW_O_CREAT));
    IT_OK(a.conn, smbw_file_truncate(f, n));
    trace tr = {0};
    IT_OK(a.conn, smbw_conn_set_log(a.conn, SMBW_LOG_TRACE, trace_cb, &tr));
    rd_slot sl[RP_N];
    for (int i = 0; i < RP_N; i++) {
        sl[i] = (rd_slot){.off = (uint64_t)i * RP_PIECE, .len = RP_PIECE};
        IT_OK(a.conn,
              smbw_file_pwrite_async(f, data + sl[i].off, RP_PIECE, sl[i].off, wr_done, &sl[i]));
    }
    cut(a.conn);
    IT_OK(a.conn, smbw_conn_drain(a.conn));
    for (int i = 0; i < RP_N; i++)
        ck_assert_msg(sl[i].calls == 1 && sl[i].err == 0 && sl[i].same, "write %d: %d", i,
                      sl[i].err);
    ck_assert_uint_eq(smbw_conn_reconnects(a.conn), 1);
    ck_assert_uint_eq(smbw_conn_replays(a.conn), RP_N);
    ck_assert_int_eq(tr.replay_flag, RP_N);
    IT_OK(a.conn, smbw_conn_set_log(a.conn, SMBW_LOG_ERROR, NULL, NULL));
    IT_OK(a.conn, smbw_file_free(f));
    size_t len = 0;
    uint8_t *srv = it_server_read("replay-w.bin", &len);
    ck_assert_uint_eq(len, n);
    ck_assert(memcmp(srv, data, n) == 0);
    free(srv);
    IT_OK(a.conn, smbw_unlink(a.tree, "replay-w.bin"));
    free(data);
    it_close(&a);
}
END_TEST

START_TEST(test_reconnect_args)
{
    smbw_reconnect_opts o = SMBW_RECONNECT_OPTS_INIT;
    ck_assert_int_eq(smbw_conn_set_reconnect(NULL, &o), SMBW_EINVAL);
    ck_assert_int_eq(smbw_conn_reconnect(NULL), SMBW_EINVAL);
    ck_assert_uint_eq(smbw_conn_reconnects(NULL), 0);
    smbw_conn *c = NULL;
    ck_assert_int_eq(smbw_conn_new(&c), 0);
    o.retries = -1;
    ck_assert_int_eq(smbw_conn_set_reconnect(c, &o), SMBW_EINVAL);
    o.retries = 101;
    ck_assert_int_eq(smbw_conn_set_reconnect(c, &o), SMBW_EINVAL);
    o.retries = 1;
    o.wait_ms = -5;
    ck_assert_int_eq(smbw_conn_set_reconnect(c, &o), SMBW_EINVAL);
    smbw_reconnect_opts z;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(smbw_conn_set_reconnect(c, &z), SMBW_EINVAL);
    ck_assert_int_eq(smbw_conn_set_reconnect(c, NULL), 0);
    /* Never connected: nothing to reconnect to. */
    ck_assert_int_eq(smbw_conn_reconnect(c), SMBW_EINVAL);
    smbw_conn_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("reconnect");
    TCase *tc = tcase_create("reconnect");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_reconnect_write_read);
    tcase_add_test(tc, test_reconnect_no_password);
    tcase_add_test(tc, test_reconnect_changed_file);
    tcase_add_test(tc, test_reconnect_downgrade_refused);
    tcase_add_test(tc, test_reconnect_args);
    tcase_add_test(tc, test_reconnect_durable_v2);
    tcase_add_test(tc, test_reconnect_durable_unnoticed);
    tcase_add_test(tc, test_reconnect_durable_v1);
    tcase_add_test(tc, test_reconnect_durable_shared);
    tcase_add_test(tc, test_reconnect_refused_reclaim);
    tcase_add_test(tc, test_replay_reads_311);
    tcase_add_test(tc, test_replay_reads_21);
    tcase_add_test(tc, test_replay_writes_durable);
    suite_add_tcase(s, tc);
    return it_run(s);
}
