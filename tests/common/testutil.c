#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SMBW_TEST_BUILD_DIR
#error "SMBW_TEST_BUILD_DIR must be defined by tests/common/meson.build"
#endif

size_t it_unhex(const char *s, uint8_t *out, size_t max)
{
    size_t n = 0;
    int hi = -1;
    for (; *s; s++) {
        int v;
        if (*s >= '0' && *s <= '9')
            v = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            v = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            v = *s - 'A' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            ck_assert_msg(n < max, "hex longer than %zu bytes", max);
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    ck_assert_msg(hi == -1, "odd number of hex digits");
    return n;
}

void it_tmpdir(char *out, size_t n, const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = SMBW_TEST_BUILD_DIR;
    int len = snprintf(out, n, "%s/%s.XXXXXX", base, tag);
    ck_assert_msg(len > 0 && (size_t)len < n, "temporary directory name too long");
    ck_assert_msg(mkdtemp(out) != NULL, "mkdtemp %s: %s", out, strerror(errno));
}

double it_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void it_random(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t got = getrandom(p, len > (1u << 24) ? (1u << 24) : len, 0);
        if (got < 0 && errno == EINTR)
            continue;
        ck_assert_msg(got > 0, "getrandom: %s", strerror(errno));
        p += got;
        len -= (size_t)got;
    }
}

void *it_read_file(const char *path, size_t *len)
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

const char *it_python(void)
{
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

/* ---- helper processes ----------------------------------------------------- */

void it_child_init(it_child *ch, const char *tag)
{
    memset(ch, 0, sizeof *ch);
    it_tmpdir(ch->dir, sizeof ch->dir, tag);
    snprintf(ch->port_file, sizeof ch->port_file, "%s/port", ch->dir);
}

void it_child_start(it_child *ch, const char *const *argv)
{
    ck_assert_msg(ch->dir[0] != '\0', "it_child_start before it_child_init");
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (ch->quiet) {
            int devnull = open("/dev/null", O_WRONLY);
            if (devnull >= 0)
                dup2(devnull, STDOUT_FILENO);
        }
        execvp(argv[0], (char *const *)(uintptr_t)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    ch->pid = pid;
    /* Python starts in well under a second; allow for a loaded machine. */
    double deadline = it_now() + 15.0;
    for (;;) {
        FILE *pf = fopen(ch->port_file, "r");
        if (pf) {
            unsigned p = 0;
            int got = fscanf(pf, "%u", &p);
            fclose(pf);
            if (got == 1 && p > 0 && p < 65536) {
                ch->port = (uint16_t)p;
                return;
            }
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            ch->pid = 0;
            ck_abort_msg("%s exited before announcing its port (status 0x%x)", argv[1], st);
        }
        if (it_now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            ch->pid = 0;
            ck_abort_msg("%s did not announce its port within 15 s", argv[1]);
        }
        usleep(10000);
    }
}

int it_child_wait(it_child *ch, int timeout_ms)
{
    if (ch->pid <= 0)
        return -1;
    double deadline = it_now() + timeout_ms / 1000.0;
    int st;
    for (;;) {
        pid_t r = waitpid(ch->pid, &st, WNOHANG);
        if (r == ch->pid) {
            ch->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
        if (it_now() > deadline)
            break;
        usleep(10000);
    }
    kill(ch->pid, SIGKILL);
    waitpid(ch->pid, &st, 0);
    ch->pid = 0;
    return -1;
}

void it_child_cleanup(it_child *ch)
{
    if (ch->pid > 0)
        (void)it_child_wait(ch, 0);
    if (!ch->dir[0])
        return;
    DIR *d = opendir(ch->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char f[sizeof ch->dir + 260];
            snprintf(f, sizeof f, "%s/%s", ch->dir, e->d_name);
            unlink(f);
        }
        closedir(d);
    }
    rmdir(ch->dir);
    ch->dir[0] = '\0';
}

int it_run_suite(Suite *s)
{
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
