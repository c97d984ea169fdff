/* DFS against two real Samba servers (with-server.sh samba-dfs: server 1 on
 * 127.0.0.1 with the DFS root "dfs", server 2 on 127.0.0.2, both on one
 * non-default port; tests/testbed/samba-dfs.sh lists the links):
 *  - smbw_dfs_resolve names the share each link leads to: a share on server 2
 *    (reached on the referring connection's port), another share on server
 *    1, a link whose first target is down (failover), a link to a link on
 *    server 2 (interlink); a path under no link stays on the root;
 *  - a second resolution under a link comes from the referral cache (no
 *    request), a target server's connection and tree are reused, a link on
 *    server 1 uses the referring session;
 *  - a referral loop ends with SMBW_ELOOP, and so does a link whose
 *    target names the link itself (at once, "names itself");
 *  - smbw_file_open through a link (STATUS_PATH_NOT_COVERED followed by
 *    itself) writes and reads the file on the target, bytes identical;
 *  - stat, mkdir, directory listing, rename, unlink and rmdir by path follow
 *    each link (checked on the target's disk); a link lists its target; a
 *    rename between links to different shares is refused (SMBW_EINVAL);
 *  - smbw_file_create_write/_read, smbw_file_open_source and smbw_copy_file
 *    follow links (copychunk within server 2, stream between servers);
 *  - without a password callback a target on another server is refused with
 *    SMBW_EAUTH, one on the same server still works (same session). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <smbwire/copy.h>

#include "harness.h"

static int give_password(void *ud, const char *user, const char *domain, char *buf, size_t size)
{
    (void)ud;
    (void)user;
    (void)domain;
    const char *pw = it_env("SMBW_TEST_PASS");
    if (strlen(pw) >= size)
        return SMBW_EAUTH;
    strcpy(buf, pw);
    return 0;
}

/* A connection to server 1, logged in, with the DFS root connected;
 * with_password: the password callback set. */
static void open_root(it_ctx *x, bool with_password)
{
    x->conn = it_connect();
    if (with_password) {
        smbw_reconnect_opts o = SMBW_RECONNECT_OPTS_INIT;
        o.password = give_password;
        IT_OK(x->conn, smbw_conn_set_reconnect(x->conn, &o));
    }
    IT_OK(x->conn, it_login(x->conn, &x->sess));
    IT_OK(x->conn, smbw_tree_connect(&x->tree, x->sess, it_env("SMBW_TEST_DFS_SHARE")));
}

static void expect(it_ctx *x, const char *path, const char *server, const char *share,
                   const char *rest)
{
    smbw_tree *t = NULL;
    char *p = NULL;
    IT_OK(x->conn, smbw_dfs_resolve(&t, &p, x->tree, path));
    ck_assert_msg(strcmp(smbw_tree_server(t), server) == 0, "%s: server %s, wanted %s", path,
                  smbw_tree_server(t), server);
    ck_assert_msg(strcasecmp(smbw_tree_share(t), share) == 0, "%s: share %s, wanted %s", path,
                  smbw_tree_share(t), share);
    ck_assert_msg(strcmp(p, rest) == 0, "%s: path '%s', wanted '%s'", path, p, rest);
    free(p);
}

START_TEST(test_resolve)
{
    it_ctx x;
    open_root(&x, true);
    const char *h1 = it_env("SMBW_TEST_HOST"), *h2 = it_env("SMBW_TEST_HOST2");
    expect(&x, "remote/dir/f", h2, "share1", "dir\\f");
    expect(&x, "remote", h2, "share1", "");
    expect(&x, "local/f", h1, "share2", "f");
    expect(&x, "failover/f", h2, "share1", "f");
    expect(&x, "inter/a/b", h1, "share2", "a\\b");
    expect(&x, "plain/f", h1, "dfs", "plain\\f");
    /* Again: from the cache (no request on the root's connection) and on
     * the same connection to server 2 (reused). */
    smbw_conn_stats before, after;
    smbw_tree *t1 = NULL, *t2 = NULL;
    char *p1 = NULL, *p2 = NULL;
    IT_OK(x.conn, smbw_dfs_resolve(&t1, &p1, x.tree, "remote/a"));
    smbw_conn_get_stats(x.conn, &before);
    expect(&x, "remote/other", h2, "share1", "other");
    IT_OK(x.conn, smbw_dfs_resolve(&t2, &p2, x.tree, "failover/b"));
    smbw_conn_get_stats(x.conn, &after);
    ck_assert_uint_eq(after.requests, before.requests); /* both referrals cached */
    ck_assert_ptr_eq(t1, t2);                           /* one tree on server 2 */
    ck_assert_ptr_ne(smbw_tree_conn(t1), x.conn);
    ck_assert_ptr_eq(smbw_tree_session(t1), smbw_tree_session(t2));
    free(p1);
    free(p2);
    /* A link on server 1 uses the referring session. */
    IT_OK(x.conn, smbw_dfs_resolve(&t1, &p1, x.tree, "local/c"));
    ck_assert_ptr_eq(smbw_tree_session(t1), x.sess);
    free(p1);
    smbw_tree *t = NULL;
    char *p = NULL;
    IT_ERR(x.conn, smbw_dfs_resolve(&t, &p, x.tree, "loop/f"), SMBW_ELOOP);
    ck_assert_ptr_null(p);
    ck_assert_ptr_nonnull(strstr(smbw_conn_errmsg(x.conn), "loop"));
    /* A link whose target is the link itself: refused at the first referral. */
    IT_ERR(x.conn, smbw_dfs_resolve(&t, &p, x.tree, "self/f"), SMBW_ELOOP);
    ck_assert_ptr_nonnull(strstr(smbw_conn_errmsg(x.conn), "names itself"));
    IT_ERR(x.conn, smbw_dfs_resolve(&t, NULL, x.tree, "remote"), SMBW_EINVAL);
    it_close(&x);
}
END_TEST

static char *server_file(const char *var, const char *name, size_t *len)
{
    char *path = NULL;
    ck_assert_int_gt(asprintf(&path, "%s/%s", it_env(var), name), 0);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s missing", path);
    char *buf = malloc(1 << 16);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    free(path);
    return buf;
}

START_TEST(test_open_through_links)
{
    it_ctx x;
    open_root(&x, true);
    static const char data[] = "bytes through a DFS link\n";
    static const struct {
        const char *path, *var, *name;
    } cases[] = {
        {"remote/it-remote.txt", "SMBW_TEST_S2_SHARE_PATH", "it-remote.txt"},
        {"local/it-local.txt", "SMBW_TEST_SHARE2_PATH", "it-local.txt"},
        {"failover/it-failover.txt", "SMBW_TEST_S2_SHARE_PATH", "it-failover.txt"},
        {"inter/it-inter.txt", "SMBW_TEST_SHARE2_PATH", "it-inter.txt"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        IT_OK(x.conn, smbw_write_file(x.tree, cases[i].path, data, sizeof data - 1));
        size_t n = 0;
        char *got = server_file(cases[i].var, cases[i].name, &n);
        ck_assert_uint_eq(n, sizeof data - 1);
        ck_assert_mem_eq(got, data, n);
        free(got);
        void *back = NULL;
        IT_OK(x.conn, smbw_read_file(x.tree, cases[i].path, &back, &n, 1 << 20));
        ck_assert_uint_eq(n, sizeof data - 1);
        ck_assert_mem_eq(back, data, n);
        free(back);
    }
    /* A file in the root itself, beside the links: opened with the DFS path
     * form (server\share\path) and SMB2_FLAGS_DFS_OPERATIONS. */
    IT_OK(x.conn, smbw_write_file(x.tree, "in-root.txt", data, sizeof data - 1));
    size_t n = 0;
    char *got = server_file("SMBW_TEST_DFS_PATH", "in-root.txt", &n);
    ck_assert_uint_eq(n, sizeof data - 1);
    ck_assert_mem_eq(got, data, n);
    free(got);
    smbw_file *f = NULL;
    IT_ERR(x.conn, smbw_file_open(&f, x.tree, "loop/x", SMBW_O_RDONLY), SMBW_ELOOP);
    it_close(&x);
}
END_TEST

/* Whether name exists on the server's disk under the directory in var. */
static bool on_server(const char *var, const char *name)
{
    char *path = NULL;
    ck_assert_int_gt(asprintf(&path, "%s/%s", it_env(var), name), 0);
    struct stat sb;
    bool there = stat(path, &sb) == 0;
    free(path);
    return there;
}

/* The names smbw_dir_open/next list in path, joined with '/'. */
static char *listing(it_ctx *x, const char *path)
{
    smbw_dir *d = NULL;
    IT_OK(x->conn, smbw_dir_open(&d, x->tree, path));
    char *all = calloc(1, 1);
    smbw_dirent e;
    int rc;
    while ((rc = smbw_dir_next(d, &e)) == 0) {
        char *n = NULL;
        ck_assert_int_gt(asprintf(&n, "%s/%s", all, e.name), 0);
        free(all);
        all = n;
    }
    ck_assert_int_eq(rc, SMBW_ENOMORE);
    smbw_dir_free(d);
    return all;
}

/* stat, mkdir, listing, rename, unlink and rmdir by path through each link,
 * checked on the target server's disk. */
START_TEST(test_path_ops)
{
    it_ctx x;
    open_root(&x, true);
    static const char data[] = "path operations through DFS\n";
    static const struct {
        const char *link, *var;
    } cases[] = {
        {"remote", "SMBW_TEST_S2_SHARE_PATH"},
        {"local", "SMBW_TEST_SHARE2_PATH"},
        {"failover", "SMBW_TEST_S2_SHARE_PATH"},
        {"inter", "SMBW_TEST_SHARE2_PATH"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *l = cases[i].link, *var = cases[i].var;
        char d[64], f[96], g[96], sd[64], sf[96], sg[96];
        snprintf(d, sizeof d, "%s/pd-%s", l, l);
        snprintf(f, sizeof f, "%s/f.txt", d);
        snprintf(g, sizeof g, "%s/g.txt", d);
        snprintf(sd, sizeof sd, "pd-%s", l);
        snprintf(sf, sizeof sf, "%s/f.txt", sd);
        snprintf(sg, sizeof sg, "%s/g.txt", sd);
        IT_OK(x.conn, smbw_mkdir(x.tree, d));
        ck_assert_msg(on_server(var, sd), "mkdir %s: not on the target", d);
        smbw_stat st;
        IT_OK(x.conn, smbw_stat_path(x.tree, d, &st));
        ck_assert(st.is_dir);
        IT_OK(x.conn, smbw_write_file(x.tree, f, data, sizeof data - 1));
        IT_OK(x.conn, smbw_stat_path(x.tree, f, &st));
        ck_assert(!st.is_dir);
        ck_assert_uint_eq(st.size, sizeof data - 1);
        char *names = listing(&x, d);
        ck_assert_str_eq(names, "/f.txt");
        free(names);
        IT_OK(x.conn, smbw_rename(x.tree, f, g, false));
        ck_assert_msg(on_server(var, sg) && !on_server(var, sf), "rename %s: not on the target", f);
        IT_ERR(x.conn, smbw_rmdir(x.tree, d), SMBW_ENOTEMPTY);
        IT_OK(x.conn, smbw_unlink(x.tree, g));
        ck_assert_msg(!on_server(var, sg), "unlink %s: still on the target", g);
        IT_ERR(x.conn, smbw_stat_path(x.tree, g, &st), SMBW_ENOENT);
        IT_OK(x.conn, smbw_rmdir(x.tree, d));
        ck_assert_msg(!on_server(var, sd), "rmdir %s: still on the target", d);
    }
    /* A link itself, listed: the target share's root. */
    IT_OK(x.conn, smbw_write_file(x.tree, "remote/only-on-s2.txt", data, sizeof data - 1));
    char *names = listing(&x, "remote");
    ck_assert_msg(strstr(names, "/only-on-s2.txt") != NULL, "remote lists %s", names);
    free(names);
    smbw_stat st;
    IT_OK(x.conn, smbw_stat_path(x.tree, "remote", &st));
    ck_assert(st.is_dir);
    /* A rename between two links that lead to different shares: refused,
     * nothing moved. */
    IT_ERR(x.conn, smbw_rename(x.tree, "remote/only-on-s2.txt", "local/moved.txt", false),
           SMBW_EINVAL);
    ck_assert_ptr_nonnull(strstr(smbw_conn_errmsg(x.conn), "different shares"));
    ck_assert(on_server("SMBW_TEST_S2_SHARE_PATH", "only-on-s2.txt"));
    /* Two links to one share: the rename is made there. */
    IT_OK(x.conn, smbw_rename(x.tree, "remote/only-on-s2.txt", "failover/renamed.txt", false));
    ck_assert(on_server("SMBW_TEST_S2_SHARE_PATH", "renamed.txt"));
    IT_OK(x.conn, smbw_unlink(x.tree, "failover/renamed.txt"));
    /* In the root beside the links (the DFS path form), and a loop. */
    IT_OK(x.conn, smbw_mkdir(x.tree, "root-dir"));
    ck_assert(on_server("SMBW_TEST_DFS_PATH", "root-dir"));
    IT_OK(x.conn, smbw_rename(x.tree, "root-dir", "root-dir2", false));
    ck_assert(on_server("SMBW_TEST_DFS_PATH", "root-dir2"));
    IT_OK(x.conn, smbw_rmdir(x.tree, "root-dir2"));
    ck_assert(!on_server("SMBW_TEST_DFS_PATH", "root-dir2"));
    names = listing(&x, "");
    ck_assert_msg(strstr(names, "/remote") != NULL, "the root lists %s", names);
    free(names);
    IT_ERR(x.conn, smbw_stat_path(x.tree, "loop/x", &st), SMBW_ELOOP);
    IT_ERR(x.conn, smbw_mkdir(x.tree, "loop/x"), SMBW_ELOOP);
    it_close(&x);
}
END_TEST

/* The one-round-trip opens (CREATE+WRITE, CREATE+READ, CREATE+IOCTL behind
 * smbw_file_open_source) and smbw_copy_file follow links too; a copy between
 * two links to one share is server-side, between two servers streamed. */
START_TEST(test_compounds_and_copy)
{
    it_ctx x;
    open_root(&x, true);
    static const char data[] = "one round trip through DFS\n";
    smbw_create_params p;
    smbw_create_params_from_flags(&p, SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_TRUNC);
    smbw_file *f = NULL;
    IT_OK(x.conn, smbw_file_create_write(&f, x.tree, "remote/cw.txt", &p, data, sizeof data - 1));
    IT_OK(x.conn, smbw_file_free(f));
    size_t n = 0;
    char *got = server_file("SMBW_TEST_S2_SHARE_PATH", "cw.txt", &n);
    ck_assert_uint_eq(n, sizeof data - 1);
    ck_assert_mem_eq(got, data, n);
    free(got);
    IT_OK(x.conn, smbw_file_create_write(&f, x.tree, "inter/cw.txt", &p, data, sizeof data - 1));
    IT_OK(x.conn, smbw_file_free(f));
    ck_assert(on_server("SMBW_TEST_SHARE2_PATH", "cw.txt"));
    char buf[64];
    smbw_create_params_from_flags(&p, SMBW_O_RDONLY);
    IT_OK(x.conn, smbw_file_create_read(&f, x.tree, "failover/cw.txt", &p, buf, sizeof buf, &n));
    IT_OK(x.conn, smbw_file_free(f));
    ck_assert_uint_eq(n, sizeof data - 1);
    ck_assert_mem_eq(buf, data, n);
    IT_OK(x.conn, smbw_file_open_source(&f, x.tree, "remote/cw.txt"));
    IT_OK(x.conn, smbw_file_free(f));
    smbw_copy_opts o = SMBW_COPY_OPTS_INIT;
    smbw_copy_stats st;
    IT_OK(x.conn, smbw_copy_file(x.tree, "remote/cw.txt", x.tree, "failover/cw-ss.txt", &o, &st));
    ck_assert_str_eq(smbw_copy_method_name(st.method), "copychunk");
    got = server_file("SMBW_TEST_S2_SHARE_PATH", "cw-ss.txt", &n);
    ck_assert_uint_eq(n, sizeof data - 1);
    ck_assert_mem_eq(got, data, n);
    free(got);
    IT_OK(x.conn, smbw_copy_file(x.tree, "remote/cw.txt", x.tree, "local/cw-st.txt", &o, &st));
    ck_assert_str_eq(smbw_copy_method_name(st.method), "stream");
    got = server_file("SMBW_TEST_SHARE2_PATH", "cw-st.txt", &n);
    ck_assert_uint_eq(n, sizeof data - 1);
    ck_assert_mem_eq(got, data, n);
    free(got);
    smbw_create_params_from_flags(&p, SMBW_O_WRONLY | SMBW_O_CREAT);
    IT_ERR(x.conn, smbw_file_create_write(&f, x.tree, "loop/x", &p, data, 4), SMBW_ELOOP);
    it_close(&x);
}
END_TEST

START_TEST(test_no_password)
{
    it_ctx x;
    open_root(&x, false);
    smbw_tree *t = NULL;
    char *p = NULL;
    IT_ERR(x.conn, smbw_dfs_resolve(&t, &p, x.tree, "remote/f"), SMBW_EAUTH);
    ck_assert_ptr_nonnull(strstr(smbw_conn_errmsg(x.conn), "password"));
    IT_OK(x.conn, smbw_dfs_resolve(&t, &p, x.tree, "local/f"));
    ck_assert_str_eq(p, "f");
    free(p);
    it_close(&x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dfs");
    TCase *tc = tcase_create("dfs");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_resolve);
    tcase_add_test(tc, test_open_through_links);
    tcase_add_test(tc, test_path_ops);
    tcase_add_test(tc, test_compounds_and_copy);
    tcase_add_test(tc, test_no_password);
    suite_add_tcase(s, tc);
    return it_run(s);
}
