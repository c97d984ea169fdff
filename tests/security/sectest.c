#include "sectest.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const required_vars[] = {
    "SMBW_TEST_HOST", "SMBW_TEST_PORT",  "SMBW_TEST_USER",
    "SMBW_TEST_PASS", "SMBW_TEST_SHARE", "SMBW_TEST_SHARE_PATH",
};

const char *sec_env_opt(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

const char *sec_env(const char *name)
{
    const char *v = sec_env_opt(name);
    if (!v)
        ck_abort_msg("%s is not set: run this test through tests/testbed/with-server.sh", name);
    return v;
}

uint16_t sec_env_dialect(const char *name, uint16_t dflt)
{
    const char *v = sec_env_opt(name);
    if (!v)
        return dflt;
    uint16_t d = smbw_dialect_parse(v);
    ck_assert_msg(d != 0, "%s=%s is not a dialect name", name, v);
    return d;
}

uint16_t sec_server_port(void)
{
    const char *s = sec_env("SMBW_TEST_PORT");
    char *end = NULL;
    long port = strtol(s, &end, 10);
    ck_assert_msg(*end == '\0' && port > 0 && port < 65536, "bad SMBW_TEST_PORT %s", s);
    return (uint16_t)port;
}

int sec_connect_to(smbw_conn **out_conn, const char *host, uint16_t port, const sec_opts *o)
{
    static const sec_opts dflt;
    if (!o)
        o = &dflt;
    smbw_conn *c = NULL;
    int rc = smbw_conn_new(&c);
    ck_assert_msg(rc == 0 && c, "smbw_conn_new -> %s", smbw_error_name(rc));
    *out_conn = c;
    SEC_OK(c, smbw_conn_set_timeout(c, SEC_TIMEOUT_MS));
    SEC_OK(c, smbw_conn_set_dialects(c, o->min_dialect ? o->min_dialect : SMBW_SMB2_02,
                                     o->max_dialect ? o->max_dialect : SMBW_SMB3_11));
    SEC_OK(c, smbw_conn_set_signing(c, o->sign));
    SEC_OK(c, smbw_conn_set_encryption(c, o->encrypt));
    return smbw_conn_connect(c, host, port);
}

int sec_login(smbw_conn *c, smbw_session **out)
{
    smbw_creds cr;
    memset(&cr, 0, sizeof cr);
    cr.kind = SMBW_AUTH_NTLM;
    cr.user = sec_env("SMBW_TEST_USER");
    cr.password = sec_env("SMBW_TEST_PASS");
    return smbw_session_new(out, c, &cr);
}

void sec_open(sec_ctx *x, const char *host, uint16_t port, const sec_opts *o)
{
    memset(x, 0, sizeof *x);
    SEC_OK(x->conn, sec_connect_to(&x->conn, host, port, o));
    SEC_OK(x->conn, sec_login(x->conn, &x->sess));
    SEC_OK(x->conn, smbw_tree_connect(&x->tree, x->sess, sec_env("SMBW_TEST_SHARE")));
}

void sec_close(sec_ctx *x)
{
    smbw_tree_free(x->tree);
    smbw_session_free(x->sess);
    smbw_conn_free(x->conn);
    memset(x, 0, sizeof *x);
}

void sec_random(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t got = getrandom(p, len, 0);
        if (got < 0 && errno == EINTR)
            continue;
        ck_assert_msg(got > 0, "getrandom: %s", strerror(errno));
        p += got;
        len -= (size_t)got;
    }
}

char *sec_server_path(const char *rel)
{
    const char *base = sec_env("SMBW_TEST_SHARE_PATH");
    size_t n = strlen(base) + strlen(rel) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", base, rel);
    return p;
}

void *sec_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    unsigned char *buf = malloc(cap + 1);
    ck_assert_ptr_nonnull(buf);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            ck_assert_ptr_nonnull(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    ck_assert_msg(!ferror(f), "read error on %s", path);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

int sec_share_entries(void)
{
    const char *base = sec_env("SMBW_TEST_SHARE_PATH");
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

void sec_round_trip(smbw_tree *t, smbw_conn *c, const char *path, const void *data, size_t len)
{
    smbw_file *f = NULL;
    SEC_OK(c, smbw_file_open(&f, t, path, SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC));
    SEC_OK(c, smbw_file_pwrite(f, data, len, 0));
    SEC_OK(c, smbw_file_flush(f));
    unsigned char *back = malloc(len + 1);
    ck_assert_ptr_nonnull(back);
    size_t got = 0;
    SEC_OK(c, smbw_file_pread(f, back, len + 1, 0, &got));
    ck_assert_msg(got == len, "read back %zu bytes of %zu", got, len);
    ck_assert_msg(memcmp(back, data, len) == 0, "read-back content differs");
    free(back);
    SEC_OK(c, smbw_file_free(f));

    char *sp = sec_server_path(path);
    size_t slen = 0;
    void *server = sec_read_file(sp, &slen);
    ck_assert_msg(server != NULL, "%s missing on the server side", sp);
    ck_assert_msg(slen == len && memcmp(server, data, len) == 0,
                  "server-side %s differs (%zu bytes, wanted %zu)", sp, slen, len);
    free(server);
    free(sp);
}

/* ---- the proxy ----------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sec_proxy_start(sec_proxy *p, bool with_log, const char *const *args)
{
    memset(p, 0, sizeof *p);
    const char *script = sec_env("SMBW_TAMPER_PROXY");
    const char *tmp = sec_env_opt("TMPDIR") ? sec_env_opt("TMPDIR") : "/tmp";
    snprintf(p->dir, sizeof p->dir, "%s/smbw-proxy.XXXXXX", tmp);
    ck_assert_msg(mkdtemp(p->dir) != NULL, "mkdtemp: %s", strerror(errno));
    char portfile[300], target[300];
    snprintf(portfile, sizeof portfile, "%s/port", p->dir);
    snprintf(p->report, sizeof p->report, "%s/report", p->dir);
    snprintf(p->log, sizeof p->log, "%s/wire.log", p->dir);
    snprintf(target, sizeof target, "%s:%s", sec_env("SMBW_TEST_HOST"), sec_env("SMBW_TEST_PORT"));
    const char *python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";

    const char *argv[40];
    size_t n = 0;
    argv[n++] = python;
    argv[n++] = script;
    argv[n++] = "--target";
    argv[n++] = target;
    argv[n++] = "--port-file";
    argv[n++] = portfile;
    argv[n++] = "--report";
    argv[n++] = p->report;
    argv[n++] = "--timeout";
    argv[n++] = "90";
    if (with_log) {
        argv[n++] = "--log";
        argv[n++] = p->log;
    }
    for (size_t i = 0; args && args[i]; i++) {
        ck_assert_msg(n < 39, "too many proxy arguments");
        argv[n++] = args[i];
    }
    argv[n] = NULL;

    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        execvp(argv[0], (char *const *)(uintptr_t)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    p->pid = pid;

    double deadline = now_s() + 15.0;
    for (;;) {
        size_t len = 0;
        char *s = sec_read_file(portfile, &len);
        if (s) {
            long port = strtol(s, NULL, 10);
            free(s);
            ck_assert_msg(port > 0 && port < 65536, "bad port in %s", portfile);
            p->port = (uint16_t)port;
            return;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            p->pid = 0;
            ck_abort_msg("tamper_proxy.py exited before listening (status %d)", st);
        }
        if (now_s() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            p->pid = 0;
            ck_abort_msg("tamper_proxy.py did not listen within 15 s");
        }
        usleep(20000);
    }
}

bool sec_proxy_wait(sec_proxy *p, int timeout_ms)
{
    if (p->pid <= 0)
        return true;
    double deadline = now_s() + timeout_ms / 1000.0;
    int st;
    for (;;) {
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) {
            p->pid = 0;
            return WIFEXITED(st) && WEXITSTATUS(st) == 0;
        }
        if (now_s() > deadline)
            break;
        usleep(20000);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &st, 0);
    p->pid = 0;
    return false;
}

char *sec_proxy_report(const sec_proxy *p)
{
    size_t len = 0;
    char *s = sec_read_file(p->report, &len);
    if (!s) {
        s = strdup("");
        ck_assert_ptr_nonnull(s);
    }
    return s;
}

void sec_proxy_cleanup(sec_proxy *p)
{
    if (p->pid > 0)
        sec_proxy_wait(p, 0);
    if (!p->dir[0])
        return;
    const char *names[] = {"port", "report", "wire.log"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char f[400];
        snprintf(f, sizeof f, "%s/%s", p->dir, names[i]);
        unlink(f);
    }
    rmdir(p->dir);
    p->dir[0] = '\0';
}

int sec_run(Suite *s)
{
    bool ok = true;
    for (size_t i = 0; i < sizeof required_vars / sizeof required_vars[0]; i++) {
        if (!sec_env_opt(required_vars[i])) {
            fprintf(stderr, "security test: %s is not set (a missing server is a failure)\n",
                    required_vars[i]);
            ok = false;
        }
    }
    if (!ok)
        return 1;
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    int run = srunner_ntests_run(sr);
    srunner_free(sr);
    if (run == 0) {
        fprintf(stderr, "no test ran\n");
        return 1;
    }
    return failed == 0 ? 0 : 1;
}
