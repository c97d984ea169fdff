#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const required_vars[] = {
    "SMBW_TEST_HOST",  "SMBW_TEST_PORT",       "SMBW_TEST_USER",   "SMBW_TEST_PASS",
    "SMBW_TEST_SHARE", "SMBW_TEST_SHARE_PATH", "SMBW_TEST_SERVER",
};

const char *it_env_opt(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

const char *it_env(const char *name)
{
    const char *v = it_env_opt(name);
    if (!v)
        ck_abort_msg("%s is not set: run the test through tests/testbed/with-server.sh", name);
    return v;
}

bool it_env_complete(void)
{
    bool ok = true;
    for (size_t i = 0; i < sizeof required_vars / sizeof required_vars[0]; i++) {
        if (!it_env_opt(required_vars[i])) {
            fprintf(stderr, "test: %s is not set (a missing server is a failure)\n",
                    required_vars[i]);
            ok = false;
        }
    }
    return ok;
}

uint16_t it_env_dialect(const char *name, uint16_t dflt)
{
    const char *v = it_env_opt(name);
    if (!v)
        return dflt;
    uint16_t d = smbw_dialect_parse(v);
    ck_assert_msg(d != 0, "%s=%s is not a dialect name", name, v);
    return d;
}

uint16_t it_env_port(void)
{
    const char *s = it_env("SMBW_TEST_PORT");
    char *end = NULL;
    long port = strtol(s, &end, 10);
    ck_assert_msg(*end == '\0' && port > 0 && port < 65536, "bad SMBW_TEST_PORT %s", s);
    return (uint16_t)port;
}

int it_connect_to(smbw_conn **out, const char *host, uint16_t port, const it_opts *o)
{
    static const it_opts dflt;
    if (!o)
        o = &dflt;
    smbw_conn *c = NULL;
    int rc = smbw_conn_new(&c);
    ck_assert_msg(rc == 0 && c != NULL, "smbw_conn_new -> %s", smbw_error_name(rc));
    *out = c;
    IT_OK(c, smbw_conn_set_timeout(c, o->timeout_ms ? o->timeout_ms : IT_TIMEOUT_MS));
    IT_OK(c, smbw_conn_set_dialects(c, o->min_dialect ? o->min_dialect : SMBW_SMB2_02,
                                    o->max_dialect ? o->max_dialect : SMBW_SMB3_11));
    IT_OK(c, smbw_conn_set_signing(c, o->sign));
    IT_OK(c, smbw_conn_set_encryption(c, o->encrypt));
    if (o->log)
        IT_OK(c, smbw_conn_set_log(c, SMBW_LOG_TRACE, o->log, o->log_ud));
    return smbw_conn_connect(c, host, port);
}

smbw_conn *it_connect(void)
{
    return it_connect_logged(NULL, NULL);
}

smbw_conn *it_connect_logged(smbw_log_fn fn, void *ud)
{
    it_opts o;
    memset(&o, 0, sizeof o);
    o.min_dialect = it_env_dialect("SMBW_TEST_CLIENT_MIN", SMBW_SMB2_02);
    o.max_dialect = it_env_dialect("SMBW_TEST_CLIENT_MAX", SMBW_SMB3_11);
    o.log = fn;
    o.log_ud = ud;
    smbw_conn *c = NULL;
    IT_OK(c, it_connect_to(&c, it_env("SMBW_TEST_HOST"), it_env_port(), &o));
    return c;
}

int it_login_as(smbw_conn *c, const char *user, const char *password, smbw_session **out)
{
    smbw_creds cr = SMBW_CREDS_INIT;
    cr.kind = SMBW_AUTH_NTLM;
    cr.user = user;
    cr.domain = NULL;
    cr.password = password;
    return smbw_session_new(out, c, &cr);
}

int it_login(smbw_conn *c, smbw_session **out)
{
    return it_login_as(c, it_env("SMBW_TEST_USER"), it_env("SMBW_TEST_PASS"), out);
}

static void open_tree(it_ctx *ctx)
{
    IT_OK(ctx->conn, it_login(ctx->conn, &ctx->sess));
    IT_OK(ctx->conn, smbw_tree_connect(&ctx->tree, ctx->sess, it_env("SMBW_TEST_SHARE")));
}

void it_open(it_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->conn = it_connect();
    open_tree(ctx);
}

void it_open_to(it_ctx *ctx, const char *host, uint16_t port, const it_opts *o)
{
    memset(ctx, 0, sizeof *ctx);
    IT_OK(ctx->conn, it_connect_to(&ctx->conn, host, port, o));
    open_tree(ctx);
}

void it_close(it_ctx *ctx)
{
    smbw_tree_free(ctx->tree);
    smbw_session_free(ctx->sess);
    smbw_conn_free(ctx->conn);
    memset(ctx, 0, sizeof *ctx);
}

char *it_server_path(const char *rel)
{
    const char *base = it_env("SMBW_TEST_SHARE_PATH");
    size_t n = strlen(base) + strlen(rel) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", base, rel);
    return p;
}

int it_server_stat(const char *rel, struct stat *st)
{
    char *p = it_server_path(rel);
    int rc = lstat(p, st);
    free(p);
    return rc;
}

void *it_server_read(const char *rel, size_t *len)
{
    char *p = it_server_path(rel);
    void *buf = it_read_file(p, len);
    ck_assert_msg(buf != NULL, "cannot open %s on the server side: %s", p, strerror(errno));
    free(p);
    return buf;
}

void it_server_write(const char *rel, const void *data, size_t len)
{
    char *p = it_server_path(rel);
    FILE *f = fopen(p, "wb");
    ck_assert_msg(f != NULL, "cannot create %s on the server side: %s", p, strerror(errno));
    ck_assert_msg(fwrite(data, 1, len, f) == len && fclose(f) == 0, "cannot write %s: %s", p,
                  strerror(errno));
    free(p);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *it_server_listing(const char *rel)
{
    char *p = it_server_path(rel);
    DIR *d = opendir(p);
    ck_assert_msg(d != NULL, "opendir %s: %s", p, strerror(errno));
    size_t cap = 64, n = 0, total = 1;
    char **names = malloc(cap * sizeof *names);
    ck_assert_ptr_nonnull(names);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (n == cap) {
            cap *= 2;
            names = realloc(names, cap * sizeof *names);
            ck_assert_ptr_nonnull(names);
        }
        names[n] = strdup(e->d_name);
        ck_assert_ptr_nonnull(names[n]);
        total += strlen(names[n]) + 1;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    char *out = malloc(total);
    ck_assert_ptr_nonnull(out);
    out[0] = '\0';
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(names[i]);
        memcpy(out + pos, names[i], l);
        out[pos + l] = '\n';
        pos += l + 1;
        free(names[i]);
    }
    out[pos] = '\0';
    free(names);
    free(p);
    return out;
}

long long it_server_size(const char *rel)
{
    struct stat st;
    return it_server_stat(rel, &st) == 0 ? (long long)st.st_size : -1;
}

int it_share_entries(void)
{
    const char *base = it_env("SMBW_TEST_SHARE_PATH");
    DIR *d = opendir(base);
    ck_assert_msg(d != NULL, "opendir %s: %s", base, strerror(errno));
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

uint64_t it_filetime(int64_t unix_seconds)
{
    return (uint64_t)(unix_seconds + 11644473600LL) * 10000000ULL;
}

int it_run(Suite *s)
{
    if (!it_env_complete())
        return 1;
    fprintf(stderr, "server %s at %s:%s, share %s (%s), client dialects %s..%s\n",
            getenv("SMBW_TEST_SERVER"), getenv("SMBW_TEST_HOST"), getenv("SMBW_TEST_PORT"),
            getenv("SMBW_TEST_SHARE"), getenv("SMBW_TEST_SHARE_PATH"),
            it_env_opt("SMBW_TEST_CLIENT_MIN") ? getenv("SMBW_TEST_CLIENT_MIN") : "SMB2_02",
            it_env_opt("SMBW_TEST_CLIENT_MAX") ? getenv("SMBW_TEST_CLIENT_MAX") : "SMB3_11");
    return it_run_suite(s);
}
