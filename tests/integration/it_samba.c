/* Integration tests against a private Samba (tests/testbed/samba.sh), run
 * once per configuration by meson: the client's dialect range comes from
 * SMBW_TEST_CLIENT_MIN/MAX, the dialect the server must end up with from
 * SMBW_TEST_EXPECT_DIALECT, and SMBW_TEST_EXPECT_SIGNED=1 requires signing. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

static uint16_t expected_dialect(void)
{
    uint16_t client_max = it_env_dialect("SMBW_TEST_CLIENT_MAX", SMBW_SMB3_11);
    return it_env_dialect("SMBW_TEST_EXPECT_DIALECT", client_max);
}

static bool expect_signed(void)
{
    const char *v = it_env_opt("SMBW_TEST_EXPECT_SIGNED");
    return v && strcmp(v, "1") == 0;
}

/* Writes data to path through the API (created, must not exist). */
static void api_put(it_ctx *ctx, const char *path, const void *data, size_t len)
{
    smbw_file *f = NULL;
    IT_OK(ctx->conn,
          smbw_file_open(&f, ctx->tree, path, SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_EXCL));
    if (len > 0)
        IT_OK(ctx->conn, smbw_file_pwrite(f, data, len, 0));
    IT_OK(ctx->conn, smbw_file_free(f));
}

/* Asserts that the server-side file rel holds exactly data/len. */
static void server_has(const char *rel, const void *data, size_t len)
{
    size_t n = 0;
    void *got = it_server_read(rel, &n);
    ck_assert_msg(n == len, "%s: server-side size %zu, expected %zu", rel, n, len);
    ck_assert_msg(len == 0 || memcmp(got, data, len) == 0, "%s: server-side content differs", rel);
    free(got);
}

/* ---- login ------------------------------------------------------------ */

START_TEST(test_login)
{
    it_ctx ctx;
    it_open(&ctx);
    uint16_t want = expected_dialect();
    ck_assert_msg(smbw_conn_dialect(ctx.conn) == want, "negotiated %s, expected %s",
                  smbw_dialect_name(smbw_conn_dialect(ctx.conn)), smbw_dialect_name(want));
    ck_assert_uint_ge(smbw_conn_max_read(ctx.conn), 65536);
    ck_assert_uint_ge(smbw_conn_max_write(ctx.conn), 65536);
    ck_assert_uint_ge(smbw_conn_max_transact(ctx.conn), 65536);
    ck_assert(!smbw_conn_is_dead(ctx.conn));
    if (expect_signed()) {
        ck_assert_msg(smbw_session_signed(ctx.sess),
                      "server requires signing but session is not signed");
        ck_assert_str_ne(smbw_session_signing_alg(ctx.sess), "none");
    }
    if (smbw_session_signed(ctx.sess) && (want == SMBW_SMB2_02 || want == SMBW_SMB2_10))
        ck_assert_str_eq(smbw_session_signing_alg(ctx.sess), "HMAC-SHA256");
    if (smbw_session_signed(ctx.sess) && (want == SMBW_SMB3_00 || want == SMBW_SMB3_02))
        ck_assert_str_eq(smbw_session_signing_alg(ctx.sess), "AES-128-CMAC");
    IT_OK(ctx.conn, smbw_conn_echo(ctx.conn));

    /* A second tree on the same session. */
    const char *share2 = it_env("SMBW_TEST_SHARE2");
    smbw_tree *t2 = NULL;
    IT_OK(ctx.conn, smbw_tree_connect(&t2, ctx.sess, share2));
    smbw_stat st;
    IT_OK(ctx.conn, smbw_stat_path(t2, "", &st));
    ck_assert(st.is_dir);
    smbw_tree_free(t2);

    smbw_conn_stats stats;
    smbw_conn_get_stats(ctx.conn, &stats);
    ck_assert_uint_gt(stats.bytes_sent, 0);
    ck_assert_uint_gt(stats.bytes_received, 0);
    ck_assert_uint_ge(stats.requests, 4);
    it_close(&ctx);
}
END_TEST

START_TEST(test_wrong_password)
{
    char *before = it_server_listing("");
    smbw_conn *c = it_connect();
    smbw_session *s = NULL;
    IT_ERR(c, it_login_as(c, it_env("SMBW_TEST_USER"), "definitely-not-the-password", &s),
           SMBW_EAUTH);
    ck_assert_ptr_null(s);
    ck_assert_msg(smbw_last_status(c) == SMBW_STATUS_LOGON_FAILURE, "status %s",
                  smbw_status_name(smbw_last_status(c)));
    ck_assert_str_ne(smbw_conn_errmsg(c), "");
    smbw_conn_free(c);

    /* An unknown user is refused the same way (no silent guest fallback). */
    c = it_connect();
    IT_ERR(c, it_login_as(c, "no-such-user-smbw", "x", &s), SMBW_EAUTH);
    ck_assert_ptr_null(s);
    smbw_conn_free(c);

    char *after = it_server_listing("");
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
}
END_TEST

/* Explicit anonymous and guest logins must not give access to a share of a
 * `map to guest = never` server. */
START_TEST(test_anonymous_and_guest_refused)
{
    char *before = it_server_listing("");
    const enum smbw_auth_kind kinds[] = {SMBW_AUTH_ANONYMOUS, SMBW_AUTH_GUEST};
    for (size_t i = 0; i < 2; i++) {
        smbw_conn *c = it_connect();
        smbw_creds cr = SMBW_CREDS_INIT;
        cr.kind = kinds[i];
        if (kinds[i] == SMBW_AUTH_GUEST)
            cr.user = "guest";
        smbw_session *s = NULL;
        int rc = smbw_session_new(&s, c, &cr);
        if (rc == 0) {
            /* Samba accepts a null session for IPC$ but not for a share. */
            smbw_tree *t = NULL;
            int trc = smbw_tree_connect(&t, s, it_env("SMBW_TEST_SHARE"));
            ck_assert_msg(trc < 0, "%s session could connect to the share",
                          i == 0 ? "anonymous" : "guest");
            ck_assert_ptr_null(t);
            ck_assert_uint_ne(smbw_last_status(c), 0);
            smbw_session_free(s);
        } else {
            ck_assert_msg(rc < 0, "bad return %d", rc);
            ck_assert_ptr_null(s);
        }
        smbw_conn_free(c);
    }
    char *after = it_server_listing("");
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
}
END_TEST

/* ---- trees -------------------------------------------------------------- */

START_TEST(test_bad_share)
{
    smbw_conn *c = it_connect();
    smbw_session *s = NULL;
    IT_OK(c, it_login_as(c, it_env("SMBW_TEST_USER"), it_env("SMBW_TEST_PASS"), &s));
    smbw_tree *t = NULL;
    int rc = smbw_tree_connect(&t, s, "no-such-share-smbw");
    ck_assert_msg(rc < 0, "tree connect to a missing share succeeded");
    ck_assert_ptr_null(t);
    ck_assert_msg(smbw_last_status(c) == SMBW_STATUS_BAD_NETWORK_NAME, "status %s",
                  smbw_status_name(smbw_last_status(c)));
    ck_assert_str_eq(smbw_status_name(smbw_last_status(c)), "STATUS_BAD_NETWORK_NAME");
    /* The session is still usable afterwards. */
    IT_OK(c, smbw_tree_connect(&t, s, it_env("SMBW_TEST_SHARE")));
    smbw_tree_free(t);
    smbw_session_free(s);
    smbw_conn_free(c);
}
END_TEST

/* ---- file operations ---------------------------------------------------- */

/* test_file_ops: ops/a.txt created, written with a gap, read, truncated,
 * written in sequence. */
static void ops_write_read(it_ctx *ctx)
{
    smbw_conn *c = ctx->conn;
    smbw_tree *t = ctx->tree;
    struct stat sst;
    /* create + pwrite with a gap + pread */
    smbw_file *f = NULL;
    IT_OK(c, smbw_file_open(&f, t, "ops/a.txt", SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_EXCL));
    ck_assert_uint_eq(smbw_file_create_action(f), 2); /* FILE_CREATED */
    IT_OK(c, smbw_file_pwrite(f, "hello world", 11, 0));
    IT_OK(c, smbw_file_pwrite(f, "tail", 4, 100));
    IT_OK(c, smbw_file_flush(f));
    char buf[256];
    size_t n = 0;
    IT_OK(c, smbw_file_pread(f, buf, sizeof buf, 0, &n));
    ck_assert_uint_eq(n, 104);
    ck_assert(memcmp(buf, "hello world", 11) == 0);
    for (size_t i = 11; i < 100; i++)
        ck_assert_msg(buf[i] == 0, "gap byte %zu is %d", i, buf[i]);
    ck_assert(memcmp(buf + 100, "tail", 4) == 0);
    IT_OK(c, smbw_file_pread(f, buf, 10, 1000, &n));
    ck_assert_uint_eq(n, 0);
    smbw_stat st;
    IT_OK(c, smbw_file_stat(f, &st));
    ck_assert_uint_eq(st.size, 104);
    ck_assert(!st.is_dir);
    ck_assert(it_server_stat("ops/a.txt", &sst) == 0);
    ck_assert_int_eq(sst.st_size, 104);

    /* truncate */
    IT_OK(c, smbw_file_truncate(f, 5));
    IT_OK(c, smbw_file_stat(f, &st));
    ck_assert_uint_eq(st.size, 5);
    IT_OK(c, smbw_file_truncate(f, 0));
    IT_OK(c, smbw_file_stat(f, &st));
    ck_assert_uint_eq(st.size, 0);
    /* sequential writes continue from the file position */
    IT_OK(c, smbw_file_write(f, "abc", 3));
    IT_OK(c, smbw_file_write(f, "def", 3));
    IT_OK(c, smbw_file_free(f));
    server_has("ops/a.txt", "abcdef", 6);
}

/* test_file_ops: sequential reads of ops/a.txt. */
static void ops_read_seq(it_ctx *ctx)
{
    smbw_conn *c = ctx->conn;
    smbw_tree *t = ctx->tree;
    char buf[256];
    size_t n = 0;
    smbw_file *f = NULL;
    /* sequential reads */
    IT_OK(c, smbw_file_open(&f, t, "ops/a.txt", SMBW_O_RDONLY));
    ck_assert_uint_eq(smbw_file_create_action(f), 1); /* FILE_OPENED */
    IT_OK(c, smbw_file_read(f, buf, 4, &n));
    ck_assert_uint_eq(n, 4);
    IT_OK(c, smbw_file_read(f, buf + 4, 100, &n));
    ck_assert_uint_eq(n, 2);
    ck_assert(memcmp(buf, "abcdef", 6) == 0);
    IT_OK(c, smbw_file_read(f, buf, 100, &n));
    ck_assert_uint_eq(n, 0);
    IT_OK(c, smbw_file_free(f));
}

/* test_file_ops: O_EXCL, a missing file, O_TRUNC. */
static void ops_open_flags(it_ctx *ctx)
{
    smbw_conn *c = ctx->conn;
    smbw_tree *t = ctx->tree;
    smbw_file *f = NULL;
    smbw_stat st;
    /* O_EXCL on an existing file, O_RDONLY on a missing one */
    f = NULL;
    IT_ERR(c, smbw_file_open(&f, t, "ops/a.txt", SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_EXCL),
           SMBW_EEXIST);
    ck_assert_ptr_null(f);
    ck_assert_uint_eq(smbw_last_status(c), SMBW_STATUS_OBJECT_NAME_COLLISION);
    IT_ERR(c, smbw_file_open(&f, t, "ops/missing.txt", SMBW_O_RDONLY), SMBW_ENOENT);
    ck_assert_ptr_null(f);
    ck_assert_uint_eq(smbw_last_status(c), SMBW_STATUS_OBJECT_NAME_NOT_FOUND);
    ck_assert_str_eq(smbw_status_name(smbw_last_status(c)), "STATUS_OBJECT_NAME_NOT_FOUND");
    IT_ERR(c, smbw_stat_path(t, "ops/missing.txt", &st), SMBW_ENOENT);

    /* O_TRUNC */
    IT_OK(c, smbw_file_open(&f, t, "ops/a.txt", SMBW_O_WRONLY | SMBW_O_TRUNC));
    IT_OK(c, smbw_file_pwrite(f, "xy", 2, 0));
    IT_OK(c, smbw_file_free(f));
    server_has("ops/a.txt", "xy", 2);
}

/* test_file_ops: times set on ops/a.txt. */
/* ops_times: what a smbw_set_basic_async callback saw. */
typedef struct basic_seen {
    int calls;
    int err;
    uint32_t status;
} basic_seen;

static void basic_cb(void *ud, int err, uint32_t status)
{
    basic_seen *b = ud;
    b->calls++;
    b->err = err;
    b->status = status;
}

static void ops_times(it_ctx *ctx)
{
    smbw_conn *c = ctx->conn;
    smbw_tree *t = ctx->tree;
    struct stat sst;
    smbw_stat st;
    smbw_file *f = NULL;
    /* set times on a fresh open (no writes on it, so the time sticks) */
    const int64_t mtime = 1000000000, atime = 1000000100;
    IT_OK(c, smbw_file_open(&f, t, "ops/a.txt", SMBW_O_RDWR));
    IT_OK(c, smbw_file_set_basic(f, 0, it_filetime(atime), it_filetime(mtime), 0, 0));
    IT_OK(c, smbw_file_free(f));
    IT_OK(c, smbw_stat_path(t, "ops/a.txt", &st));
    ck_assert_uint_eq(st.last_write_time, it_filetime(mtime));
    ck_assert_uint_eq(st.last_access_time, it_filetime(atime));
    ck_assert(it_server_stat("ops/a.txt", &sst) == 0);
    ck_assert_int_eq(sst.st_mtime, mtime);
    ck_assert_int_eq(sst.st_atime, atime);
    /* by path in one round trip, on a file and on a directory; a missing
     * path is an error */
    const int64_t m2 = 1100000000, m3 = 1200000000;
    IT_OK(c, smbw_set_basic(t, "ops/a.txt", 0, 0, it_filetime(m2), 0, 0));
    ck_assert(it_server_stat("ops/a.txt", &sst) == 0);
    ck_assert_int_eq(sst.st_mtime, m2);
    ck_assert_int_eq(sst.st_atime, atime); /* 0: unchanged */
    IT_OK(c, smbw_set_basic(t, "ops", 0, it_filetime(m3), it_filetime(m3), 0, 0));
    ck_assert(it_server_stat("ops", &sst) == 0);
    ck_assert_int_eq(sst.st_mtime, m3);
    IT_ERR(c, smbw_set_basic(t, "ops/none.txt", 0, 0, it_filetime(m2), 0, 0), SMBW_ENOENT);
    /* without waiting: both sent, each callback once with its outcome */
    basic_seen ok = {0, -1, 0}, missing = {0, -1, 0};
    const int64_t m4 = 1300000000;
    IT_OK(c, smbw_set_basic_async(t, "ops/a.txt", 0, 0, it_filetime(m4), 0, 0, basic_cb, &ok));
    IT_OK(c,
          smbw_set_basic_async(t, "ops/nothere", 0, 0, it_filetime(m4), 0, 0, basic_cb, &missing));
    ck_assert_int_eq(ok.calls + missing.calls, 0); /* not before a wait */
    IT_OK(c, smbw_conn_drain(c));
    ck_assert_int_eq(ok.calls, 1);
    ck_assert_int_eq(ok.err, 0);
    ck_assert_int_eq(missing.calls, 1);
    ck_assert_int_eq(missing.err, SMBW_ENOENT);
    ck_assert_uint_eq(missing.status, 0xC0000034u); /* STATUS_OBJECT_NAME_NOT_FOUND */
    ck_assert(it_server_stat("ops/a.txt", &sst) == 0);
    ck_assert_int_eq(sst.st_mtime, m4);
    ck_assert_int_eq(smbw_set_basic_async(t, "ops/a.txt", 0, 0, 1, 0, 0, NULL, NULL), SMBW_EINVAL);
}

/* test_file_ops: ops/a.txt renamed to ops/b.txt, over ops/other.txt, then by
 * handle to ops/c.txt. */
static void ops_rename(it_ctx *ctx)
{
    smbw_conn *c = ctx->conn;
    smbw_tree *t = ctx->tree;
    struct stat sst;
    smbw_file *f = NULL;
    /* rename by path, then by handle */
    IT_OK(c, smbw_rename(t, "ops/a.txt", "ops/b.txt", false));
    ck_assert(it_server_stat("ops/a.txt", &sst) != 0);
    server_has("ops/b.txt", "xy", 2);
    api_put(ctx, "ops/other.txt", "other", 5);
    IT_ERR(c, smbw_rename(t, "ops/b.txt", "ops/other.txt", false), SMBW_EEXIST);
    IT_OK(c, smbw_rename(t, "ops/b.txt", "ops/other.txt", true));
    server_has("ops/other.txt", "xy", 2);
    IT_OK(c, smbw_file_open(&f, t, "ops/other.txt", SMBW_O_RDWR | SMBW_O_DELETE));
    IT_OK(c, smbw_file_rename(f, "ops/c.txt", false));
    IT_OK(c, smbw_file_free(f));
    ck_assert(it_server_stat("ops/other.txt", &sst) != 0);
    server_has("ops/c.txt", "xy", 2);
}

/* test_file_ops: ops/sub and a listing of ops. */
static void ops_listing(it_ctx *ctx)
{
    smbw_conn *c = ctx->conn;
    smbw_tree *t = ctx->tree;
    smbw_stat st;
    /* subdirectory, stat of a directory, listing with sizes */
    IT_OK(c, smbw_mkdir(t, "ops/sub"));
    IT_OK(c, smbw_stat_path(t, "ops/sub", &st));
    ck_assert(st.is_dir);
    api_put(ctx, "ops/sub/d.bin", "0123456789", 10);
    smbw_dir *d = NULL;
    IT_OK(c, smbw_dir_open(&d, t, "ops"));
    smbw_dirent e;
    int seen_c = 0, seen_sub = 0, others = 0, rc;
    while ((rc = smbw_dir_next(d, &e)) == 0) {
        if (!strcmp(e.name, "c.txt")) {
            seen_c++;
            ck_assert_uint_eq(e.st.size, 2);
            ck_assert(!e.st.is_dir);
        } else if (!strcmp(e.name, "sub")) {
            seen_sub++;
            ck_assert(e.st.is_dir);
        } else {
            others++;
        }
    }
    ck_assert_int_eq(rc, SMBW_ENOMORE);
    smbw_dir_free(d);
    ck_assert_int_eq(seen_c, 1);
    ck_assert_int_eq(seen_sub, 1);
    ck_assert_int_eq(others, 0);
}

/* test_file_ops: rmdir, unlink, delete on close; ops is gone after. */
static void ops_remove(it_ctx *ctx)
{
    smbw_conn *c = ctx->conn;
    smbw_tree *t = ctx->tree;
    struct stat sst;
    smbw_file *f = NULL;
    /* rmdir of a non-empty directory fails; unlink; rmdir */
    IT_ERR(c, smbw_rmdir(t, "ops/sub"), SMBW_ENOTEMPTY);
    IT_OK(c, smbw_unlink(t, "ops/sub/d.bin"));
    ck_assert(it_server_stat("ops/sub/d.bin", &sst) != 0);
    IT_ERR(c, smbw_unlink(t, "ops/sub/d.bin"), SMBW_ENOENT);
    IT_OK(c, smbw_rmdir(t, "ops/sub"));
    ck_assert(it_server_stat("ops/sub", &sst) != 0);

    /* delete on close */
    IT_OK(c, smbw_file_open(&f, t, "ops/c.txt", SMBW_O_RDWR | SMBW_O_DELETE));
    IT_OK(c, smbw_file_delete_on_close(f));
    IT_OK(c, smbw_file_free(f));
    ck_assert(it_server_stat("ops/c.txt", &sst) != 0);
    IT_OK(c, smbw_rmdir(t, "ops"));
    ck_assert(it_server_stat("ops", &sst) != 0);
}

START_TEST(test_file_ops)
{
    it_ctx ctx;
    it_open(&ctx);
    smbw_conn *c = ctx.conn;
    struct stat sst;

    IT_OK(c, smbw_mkdir(ctx.tree, "ops"));
    ck_assert(it_server_stat("ops", &sst) == 0 && S_ISDIR(sst.st_mode));
    IT_ERR(c, smbw_mkdir(ctx.tree, "ops"), SMBW_EEXIST);
    ops_write_read(&ctx);
    ops_read_seq(&ctx);
    ops_open_flags(&ctx);
    ops_times(&ctx);
    ops_rename(&ctx);
    ops_listing(&ctx);
    ops_remove(&ctx);
    ck_assert(!smbw_conn_is_dead(c));
    it_close(&ctx);
}
END_TEST

/* A few MiB, not a multiple of anything, through pipelined multi-credit
 * writes and reads; also on signed sessions. */
START_TEST(test_io_roundtrip)
{
    it_ctx ctx;
    it_open(&ctx);
    const size_t len = 3 * 1024 * 1024 + 7;
    unsigned char *data = malloc(len), *back = malloc(len);
    ck_assert(data && back);
    it_random(data, len);
    api_put(&ctx, "io.bin", data, len);
    server_has("io.bin", data, len);
    smbw_file *f = NULL;
    IT_OK(ctx.conn, smbw_file_open(&f, ctx.tree, "io.bin", SMBW_O_RDONLY));
    size_t n = 0;
    IT_OK(ctx.conn, smbw_file_pread(f, back, len, 0, &n));
    ck_assert_uint_eq(n, len);
    ck_assert(memcmp(data, back, len) == 0);
    /* an unaligned range in the middle */
    IT_OK(ctx.conn, smbw_file_pread(f, back, 100000, 1234567, &n));
    ck_assert_uint_eq(n, 100000);
    ck_assert(memcmp(data + 1234567, back, 100000) == 0);
    IT_OK(ctx.conn, smbw_file_free(f));
    if (expect_signed())
        ck_assert(smbw_session_signed(ctx.sess));
    IT_OK(ctx.conn, smbw_unlink(ctx.tree, "io.bin"));
    free(data);
    free(back);
    it_close(&ctx);
}
END_TEST

/* ---- names ---------------------------------------------------------------- */

static const char *const unicode_names[] = {
    "héllo wörld €.txt", "日本語のファイル名.txt", "한국어 파일.txt",
    "emoji-😀🎉.txt",      "Ωmega ∑ ß ﬁ.txt",
};

START_TEST(test_unicode_names)
{
    it_ctx ctx;
    it_open(&ctx);
    smbw_conn *c = ctx.conn;
    const char *dir = "dïr-中文-🗂";
    IT_OK(c, smbw_mkdir(ctx.tree, dir));
    struct stat sst;
    ck_assert_msg(it_server_stat(dir, &sst) == 0 && S_ISDIR(sst.st_mode),
                  "directory %s not found on the server with that UTF-8 name", dir);
    const size_t count = sizeof unicode_names / sizeof unicode_names[0];
    char path[512];
    for (size_t i = 0; i < count; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, unicode_names[i]);
        api_put(&ctx, path, unicode_names[i], strlen(unicode_names[i]));
        ck_assert_msg(it_server_stat(path, &sst) == 0, "%s not on the server file system", path);
        server_has(path, unicode_names[i], strlen(unicode_names[i]));
        smbw_stat st;
        IT_OK(c, smbw_stat_path(ctx.tree, path, &st));
        ck_assert_uint_eq(st.size, strlen(unicode_names[i]));
    }
    /* A name made on the server side is found through the API. */
    const char *server_made = "серверная-сторона-名前.dat";
    snprintf(path, sizeof path, "%s/%s", dir, server_made);
    char *sp = it_server_path(path);
    int fd = open(sp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "srv", 3), 3);
    close(fd);
    free(sp);
    smbw_stat st;
    IT_OK(c, smbw_stat_path(ctx.tree, path, &st));
    ck_assert_uint_eq(st.size, 3);

    /* The listing gives back exactly the same UTF-8 names. */
    bool seen[8] = {false};
    bool seen_server = false;
    smbw_dir *d = NULL;
    IT_OK(c, smbw_dir_open(&d, ctx.tree, dir));
    smbw_dirent e;
    int rc;
    while ((rc = smbw_dir_next(d, &e)) == 0) {
        bool known = false;
        for (size_t i = 0; i < count; i++) {
            if (!strcmp(e.name, unicode_names[i])) {
                ck_assert_msg(!seen[i], "%s listed twice", e.name);
                seen[i] = known = true;
            }
        }
        if (!strcmp(e.name, server_made)) {
            ck_assert(!seen_server);
            seen_server = known = true;
        }
        ck_assert_msg(known, "unexpected name in listing: %s", e.name);
    }
    ck_assert_int_eq(rc, SMBW_ENOMORE);
    smbw_dir_free(d);
    for (size_t i = 0; i < count; i++)
        ck_assert_msg(seen[i], "%s missing from the listing", unicode_names[i]);
    ck_assert(seen_server);

    /* Rename to a unicode name and remove everything again. */
    char to[512];
    snprintf(path, sizeof path, "%s/%s", dir, unicode_names[0]);
    snprintf(to, sizeof to, "%s/renamed-ñandú-🚀.txt", dir);
    IT_OK(c, smbw_rename(ctx.tree, path, to, false));
    ck_assert(it_server_stat(to, &sst) == 0);
    ck_assert(it_server_stat(path, &sst) != 0);
    IT_OK(c, smbw_unlink(ctx.tree, to));
    for (size_t i = 1; i < count; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, unicode_names[i]);
        IT_OK(c, smbw_unlink(ctx.tree, path));
    }
    snprintf(path, sizeof path, "%s/%s", dir, server_made);
    IT_OK(c, smbw_unlink(ctx.tree, path));
    IT_OK(c, smbw_rmdir(ctx.tree, dir));
    ck_assert(it_server_stat(dir, &sst) != 0);
    it_close(&ctx);
}
END_TEST

START_TEST(test_zero_byte_file)
{
    it_ctx ctx;
    it_open(&ctx);
    api_put(&ctx, "empty.bin", "", 0);
    struct stat sst;
    ck_assert(it_server_stat("empty.bin", &sst) == 0);
    ck_assert_int_eq(sst.st_size, 0);
    smbw_stat st;
    IT_OK(ctx.conn, smbw_stat_path(ctx.tree, "empty.bin", &st));
    ck_assert_uint_eq(st.size, 0);
    smbw_file *f = NULL;
    IT_OK(ctx.conn, smbw_file_open(&f, ctx.tree, "empty.bin", SMBW_O_RDONLY));
    char buf[16];
    size_t n = 99;
    IT_OK(ctx.conn, smbw_file_pread(f, buf, sizeof buf, 0, &n));
    ck_assert_uint_eq(n, 0);
    IT_OK(ctx.conn, smbw_file_stat(f, &st));
    ck_assert_uint_eq(st.size, 0);
    IT_OK(ctx.conn, smbw_file_free(f));
    IT_OK(ctx.conn, smbw_unlink(ctx.tree, "empty.bin"));
    it_close(&ctx);
}
END_TEST

START_TEST(test_whole_file)
{
    it_ctx ctx;
    it_open(&ctx);
    smbw_conn *c = ctx.conn;
    size_t n = (3u << 20) + 11;
    uint8_t *data = malloc(n);
    it_random(data, n);
    IT_OK(c, smbw_write_file(ctx.tree, "whole.bin", data, n));
    size_t slen = 0;
    void *srv = it_server_read("whole.bin", &slen);
    ck_assert_uint_eq(slen, n);
    ck_assert(memcmp(srv, data, n) == 0);
    free(srv);
    void *back = NULL;
    size_t blen = 0;
    IT_OK(c, smbw_read_file(ctx.tree, "whole.bin", &back, &blen, 0));
    ck_assert_uint_eq(blen, n);
    ck_assert(memcmp(back, data, n) == 0);
    free(back);
    /* the size limit is honoured, nothing allocated */
    back = (void *)1;
    IT_ERR(c, smbw_read_file(ctx.tree, "whole.bin", &back, &blen, 1000), SMBW_EINVAL);
    ck_assert_ptr_null(back);
    IT_ERR(c, smbw_read_file(ctx.tree, "no-such.bin", &back, &blen, 0), SMBW_ENOENT);
    /* replacing shrinks */
    IT_OK(c, smbw_write_file(ctx.tree, "whole.bin", "abc", 3));
    struct stat sst;
    ck_assert(it_server_stat("whole.bin", &sst) == 0);
    ck_assert_int_eq(sst.st_size, 3);
    IT_OK(c, smbw_unlink(ctx.tree, "whole.bin"));
    free(data);
    it_close(&ctx);
}
END_TEST

/* The same server over IPv6 loopback (the testbed's smbd listens on ::1). */
START_TEST(test_ipv6)
{
    smbw_conn *c = NULL;
    ck_assert_int_eq(smbw_conn_new(&c), 0);
    IT_OK(c, smbw_conn_set_timeout(c, IT_TIMEOUT_MS));
    IT_OK(c, smbw_conn_connect(c, "::1", (uint16_t)atoi(it_env("SMBW_TEST_PORT"))));
    smbw_session *s = NULL;
    IT_OK(c, it_login_as(c, it_env("SMBW_TEST_USER"), it_env("SMBW_TEST_PASS"), &s));
    smbw_tree *t = NULL;
    IT_OK(c, smbw_tree_connect(&t, s, it_env("SMBW_TEST_SHARE")));
    IT_OK(c, smbw_write_file(t, "v6.txt", "over ipv6", 9));
    size_t n = 0;
    void *srv = it_server_read("v6.txt", &n);
    ck_assert_uint_eq(n, 9);
    ck_assert(memcmp(srv, "over ipv6", 9) == 0);
    free(srv);
    IT_OK(c, smbw_unlink(t, "v6.txt"));
    smbw_tree_free(t);
    smbw_session_free(s);
    smbw_conn_free(c);
}
END_TEST

typedef struct log_sink {
    char *text;
    size_t len;
    int lines;
} log_sink;

static void log_collect(void *ud, enum smbw_log_level level, const char *msg)
{
    log_sink *ls = ud;
    size_t n = strlen(msg);
    ls->text = realloc(ls->text, ls->len + n + 2);
    memcpy(ls->text + ls->len, msg, n);
    ls->len += n;
    ls->text[ls->len++] = '\n';
    ls->text[ls->len] = 0;
    ls->lines++;
}

/* The highest log level shows protocol events but never the password. */
START_TEST(test_log_has_no_secrets)
{
    log_sink ls = {0};
    smbw_conn *c = it_connect_logged(log_collect, &ls);
    smbw_session *s = NULL;
    IT_OK(c, it_login_as(c, it_env("SMBW_TEST_USER"), it_env("SMBW_TEST_PASS"), &s));
    smbw_tree *t = NULL;
    IT_OK(c, smbw_tree_connect(&t, s, it_env("SMBW_TEST_SHARE")));
    IT_OK(c, smbw_write_file(t, "logged.txt", "secret-file-data", 16));
    IT_OK(c, smbw_unlink(t, "logged.txt"));
    smbw_tree_free(t);
    smbw_session_free(s);
    /* a failed login is logged too */
    smbw_session *bad = NULL;
    IT_ERR(c, it_login_as(c, it_env("SMBW_TEST_USER"), "Wr0ng-Pa55word", &bad), SMBW_EAUTH);
    smbw_conn_free(c);
    ck_assert_int_gt(ls.lines, 10);
    ck_assert_ptr_nonnull(strstr(ls.text, "SESSION_SETUP"));
    ck_assert_ptr_nonnull(strstr(ls.text, it_env("SMBW_TEST_USER")));
    ck_assert_ptr_null(strstr(ls.text, it_env("SMBW_TEST_PASS")));
    ck_assert_ptr_null(strstr(ls.text, "Wr0ng-Pa55word"));
    ck_assert_ptr_null(strstr(ls.text, "secret-file-data"));
    free(ls.text);
}
END_TEST

/* ---- a large directory ------------------------------------------------------ */

#define DIR_ENTRIES 5000

START_TEST(test_dir_5000)
{
    /* Made directly on the server's file system (fast); names of varied
     * length so entries straddle QUERY_DIRECTORY response boundaries. */
    char *base = it_server_path("many");
    ck_assert_int_eq(mkdir(base, 0755), 0);
    char name[128], path[4096];
    for (int i = 0; i < DIR_ENTRIES; i++) {
        int pad = i % 37;
        snprintf(name, sizeof name, "entry-%05d-%.*s.dat", i, pad,
                 "ppppppppppppppppppppppppppppppppppppppppp");
        snprintf(path, sizeof path, "%s/%s", base, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        ck_assert_msg(fd >= 0, "creating %s", path);
        close(fd);
    }
    free(base);

    it_ctx ctx;
    it_open(&ctx);
    static bool seen[DIR_ENTRIES];
    memset(seen, 0, sizeof seen);
    int count = 0, rc;
    smbw_dir *d = NULL;
    IT_OK(ctx.conn, smbw_dir_open(&d, ctx.tree, "many"));
    smbw_dirent e;
    while ((rc = smbw_dir_next(d, &e)) == 0) {
        int idx = -1, consumed = 0;
        ck_assert_msg(sscanf(e.name, "entry-%5d-%n", &idx, &consumed) == 1 && consumed == 12,
                      "unexpected name %s", e.name);
        ck_assert_msg(idx >= 0 && idx < DIR_ENTRIES, "unexpected name %s", e.name);
        snprintf(name, sizeof name, "entry-%05d-%.*s.dat", idx, idx % 37,
                 "ppppppppppppppppppppppppppppppppppppppppp");
        ck_assert_str_eq(e.name, name);
        ck_assert_msg(!seen[idx], "%s listed twice", e.name);
        seen[idx] = true;
        ck_assert(!e.st.is_dir);
        ck_assert_uint_eq(e.st.size, 0);
        count++;
    }
    ck_assert_msg(rc == SMBW_ENOMORE, "smbw_dir_next -> %d %s [%s] %s", rc, smbw_error_name(rc),
                  smbw_status_name(smbw_last_status(ctx.conn)), smbw_conn_errmsg(ctx.conn));
    /* Past the end it stays at the end. */
    ck_assert_int_eq(smbw_dir_next(d, &e), SMBW_ENOMORE);
    smbw_dir_free(d);
    ck_assert_int_eq(count, DIR_ENTRIES);
    for (int i = 0; i < DIR_ENTRIES; i++)
        ck_assert_msg(seen[i], "entry %d missing from the listing", i);

    /* Listing a file or a missing directory fails cleanly. */
    d = NULL;
    ck_assert_int_lt(smbw_dir_open(&d, ctx.tree, "no-such-dir"), 0);
    ck_assert_ptr_null(d);

    /* The whole listing at once (one compound, then larger answers: 5000
     * entries are more than the first 64 KiB) gives the same entries. */
    smbw_dirent *v = NULL;
    size_t n = 0;
    IT_OK(ctx.conn, smbw_dir_list(ctx.tree, "many", &v, &n));
    ck_assert_uint_eq(n, DIR_ENTRIES);
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < n; i++) {
        int idx = -1;
        ck_assert_msg(sscanf(v[i].name, "entry-%5d-", &idx) == 1 && idx >= 0 && idx < DIR_ENTRIES,
                      "unexpected name %s", v[i].name);
        snprintf(name, sizeof name, "entry-%05d-%.*s.dat", idx, idx % 37,
                 "ppppppppppppppppppppppppppppppppppppppppp");
        ck_assert_str_eq(v[i].name, name);
        ck_assert_msg(!seen[idx], "%s listed twice", v[i].name);
        seen[idx] = true;
        ck_assert(!v[i].st.is_dir);
    }
    free(v);
    it_close(&ctx);
}
END_TEST

/* smbw_dir_list_async: results of several listings in flight at once. */
typedef struct list_res {
    int calls, err;
    uint32_t status;
    smbw_dirent *v;
    size_t n;
} list_res;

static void list_res_cb(void *ud, int err, uint32_t status, smbw_dirent *ents, size_t n)
{
    list_res *r = ud;
    r->calls++;
    r->err = err;
    r->status = status;
    r->v = ents;
    r->n = n;
}

/* Whether name is among v's n entries, as a directory (want_dir) or a file
 * of size bytes. */
static bool listed_as(const smbw_dirent *v, size_t n, const char *name, bool want_dir,
                      uint64_t size)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].name, name))
            return v[i].st.is_dir == want_dir && (want_dir || v[i].st.size == size);
    return false;
}

START_TEST(test_dir_list_async)
{
    it_ctx ctx;
    it_open(&ctx);
    smbw_conn *c = ctx.conn;
    smbw_tree *t = ctx.tree;
    IT_OK(c, smbw_mkdir(t, "la"));
    IT_OK(c, smbw_mkdir(t, "la/empty"));
    IT_OK(c, smbw_mkdir(t, "la/sub"));
    IT_OK(c, smbw_write_file(t, "la/a.txt", "abc", 3));
    IT_OK(c, smbw_write_file(t, "la/sub/b.bin", "0123456789", 10));
    const char *paths[] = {"la", "la/empty", "la/sub", "la/nope", "la/a.txt", "la/sub/"};
    enum { N = sizeof paths / sizeof paths[0] };
    list_res r[N];
    memset(r, 0, sizeof r);
    for (int i = 0; i < N; i++)
        IT_OK(c, smbw_dir_list_async(t, paths[i], list_res_cb, &r[i]));
    ck_assert_uint_ge(smbw_conn_pending(c), N);
    IT_OK(c, smbw_conn_drain(c));
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(r[i].calls, 1);
    /* la: a.txt, empty, sub; no "." or "..". */
    ck_assert_int_eq(r[0].err, 0);
    ck_assert_uint_eq(r[0].n, 3);
    ck_assert(listed_as(r[0].v, r[0].n, "a.txt", false, 3));
    ck_assert(listed_as(r[0].v, r[0].n, "empty", true, 0));
    ck_assert(listed_as(r[0].v, r[0].n, "sub", true, 0));
    ck_assert_int_eq(r[1].err, 0);
    ck_assert_uint_eq(r[1].n, 0);
    ck_assert_ptr_null(r[1].v);
    ck_assert_int_eq(r[2].err, 0);
    ck_assert_uint_eq(r[2].n, 1);
    ck_assert(listed_as(r[2].v, r[2].n, "b.bin", false, 10));
    ck_assert_int_eq(r[3].err, SMBW_ENOENT);
    ck_assert_uint_eq(r[3].status, SMBW_STATUS_OBJECT_NAME_NOT_FOUND);
    ck_assert_ptr_null(r[3].v);
    ck_assert_int_eq(r[4].err, SMBW_ENOTDIR);
    ck_assert_int_eq(r[5].err, 0);
    ck_assert_uint_eq(r[5].n, 1);
    for (int i = 0; i < N; i++)
        free(r[i].v);
    /* Every directory handle was closed: the directories can go. */
    IT_OK(c, smbw_unlink(t, "la/sub/b.bin"));
    IT_OK(c, smbw_rmdir(t, "la/sub"));
    IT_OK(c, smbw_rmdir(t, "la/empty"));
    IT_OK(c, smbw_unlink(t, "la/a.txt"));
    IT_OK(c, smbw_rmdir(t, "la"));
    /* Freed with listings in flight: each callback runs once, canceled. */
    memset(r, 0, sizeof r);
    IT_OK(c, smbw_dir_list_async(t, "", list_res_cb, &r[0]));
    IT_OK(c, smbw_dir_list_async(t, "no-such", list_res_cb, &r[1]));
    ck_assert_uint_eq(smbw_conn_pending(c), 6);
    smbw_conn_free(c);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(r[i].calls, 1);
        ck_assert_int_eq(r[i].err, SMBW_ECANCELED);
        ck_assert_ptr_null(r[i].v);
    }
    smbw_tree_free(t);
    smbw_session_free(ctx.sess);
}
END_TEST

static Suite *samba_suite(void)
{
    Suite *s = suite_create("samba");
    struct {
        const char *name;
        const TTest *fn;
        int timeout;
    } cases[] = {
        {"login", test_login, 60},
        {"wrong_password", test_wrong_password, 60},
        {"anonymous_guest", test_anonymous_and_guest_refused, 60},
        {"bad_share", test_bad_share, 60},
        {"file_ops", test_file_ops, 90},
        {"io_roundtrip", test_io_roundtrip, 90},
        {"unicode", test_unicode_names, 60},
        {"zero_byte", test_zero_byte_file, 60},
        {"whole_file", test_whole_file, 60},
        {"log_no_secrets", test_log_has_no_secrets, 60},
        {"ipv6", test_ipv6, 60},
        {"dir_5000", test_dir_5000, 150},
        {"dir_list_async", test_dir_list_async, 60},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, cases[i].timeout);
        tcase_add_test(tc, cases[i].fn);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    return it_run(samba_suite());
}
