#include "sectest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sec_round_trip(smbw_tree *t, smbw_conn *c, const char *path, const void *data, size_t len)
{
    smbw_file *f = NULL;
    IT_OK(c, smbw_file_open(&f, t, path, SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC));
    IT_OK(c, smbw_file_pwrite(f, data, len, 0));
    IT_OK(c, smbw_file_flush(f));
    unsigned char *back = malloc(len + 1);
    ck_assert_ptr_nonnull(back);
    size_t got = 0;
    IT_OK(c, smbw_file_pread(f, back, len + 1, 0, &got));
    ck_assert_msg(got == len, "read back %zu bytes of %zu", got, len);
    ck_assert_msg(memcmp(back, data, len) == 0, "read-back content differs");
    free(back);
    IT_OK(c, smbw_file_free(f));

    char *sp = it_server_path(path);
    size_t slen = 0;
    void *server = it_read_file(sp, &slen);
    ck_assert_msg(server != NULL, "%s missing on the server side", sp);
    ck_assert_msg(slen == len && memcmp(server, data, len) == 0,
                  "server-side %s differs (%zu bytes, wanted %zu)", sp, slen, len);
    free(server);
    free(sp);
}

void sec_proxy_start(sec_proxy *p, bool with_log, const char *const *args)
{
    memset(p, 0, sizeof *p);
    const char *script = it_env("SMBW_TAMPER_PROXY");
    it_child_init(&p->child, "smbw-proxy");
    char target[300];
    snprintf(p->report, sizeof p->report, "%s/report", p->child.dir);
    snprintf(p->log, sizeof p->log, "%s/wire.log", p->child.dir);
    snprintf(target, sizeof target, "%s:%s", it_env("SMBW_TEST_HOST"), it_env("SMBW_TEST_PORT"));

    const char *argv[40];
    size_t n = 0;
    argv[n++] = it_python();
    argv[n++] = script;
    argv[n++] = "--target";
    argv[n++] = target;
    argv[n++] = "--port-file";
    argv[n++] = p->child.port_file;
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
    it_child_start(&p->child, argv);
    p->port = p->child.port;
}

bool sec_proxy_wait(sec_proxy *p, int timeout_ms)
{
    if (p->child.pid <= 0)
        return true;
    return it_child_wait(&p->child, timeout_ms) == 0;
}

char *sec_proxy_report(const sec_proxy *p)
{
    size_t len = 0;
    char *s = it_read_file(p->report, &len);
    if (!s) {
        s = strdup("");
        ck_assert_ptr_nonnull(s);
    }
    return s;
}

void sec_proxy_cleanup(sec_proxy *p)
{
    it_child_cleanup(&p->child);
}
