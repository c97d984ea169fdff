/* Faults with a real Samba, through the public API. Started by
 * tests/testbed/with-server.sh samba (SMBW_TEST_* variables).
 *
 *   test_faults [CASE ...]     run the named cases (default: all but disk-full)
 *
 * Cases: kill-mid-download, kill-mid-upload, kill-mid-copychunk, server-stopped,
 * permission-denied, source-missing, disk-full (needs a small tmpfs as the
 * share: tests/faults/run-disk-full.sh).
 *
 * The smbd process serving our connection is found exactly: the process that
 * owns the server end of our TCP connection (/proc/net/tcp + /proc/PID/fd). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <smbwire/copy.h>

#include "harness.h"

/* A fault must be noticed well before a wait would time out: the kill cases
 * run with a 10 s timeout, so 8 s still tells "noticed the dead socket" from
 * "waited for the timeout" and leaves room for the sanitizers and valgrind.
 * (The error code proves it too: ECLOSED/EIO, never ETIMEDOUT.) */
#define MAX_SECONDS 8.0
#define BIG_SIZE (512u << 20) /* copychunk of this takes long enough to interrupt */
#define PIECE (1u << 20)

static void open_ctx(it_ctx *c, int timeout_ms)
{
    it_opts o;
    memset(&o, 0, sizeof o);
    o.timeout_ms = timeout_ms;
    it_open_to(c, it_env("SMBW_TEST_HOST"), it_env_port(), &o);
    /* smbw_conn_errmsg() keeps the last failure: it must be empty now, so a
     * message seen after a fault was set by that fault. */
    ck_assert_msg(smbw_conn_errmsg(c->conn)[0] == '\0', "errmsg after a clean setup: %s",
                  smbw_conn_errmsg(c->conn));
}

/* Writes a server-side file of size bytes directly on disk (non-sparse). */
static void make_file(const char *rel, size_t size)
{
    char *p = it_server_path(rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_msg(fd >= 0, "open %s: %s", p, strerror(errno));
    static uint8_t block[PIECE];
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = (uint8_t)(i * 31 + 7);
    for (size_t off = 0; off < size; off += sizeof block) {
        size_t n = size - off < sizeof block ? size - off : sizeof block;
        block[0] = (uint8_t)(off >> 20); /* every MiB differs */
        ck_assert_msg(write(fd, block, n) == (ssize_t)n, "write %s: %s", p, strerror(errno));
    }
    close(fd);
    /* smbd runs as the test user: let it read and replace the file */
    ck_assert_int_eq(chmod(p, 0666), 0);
    free(p);
}

/* ---- the smbd process serving a connection ------------------------------ */

static unsigned long socket_inode(uint16_t server_port, uint16_t client_port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    unsigned long found = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned lip, lport, rip, rport, st;
        unsigned long inode;
        if (sscanf(line, " %*d: %x:%x %x:%x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &lip, &lport, &rip,
                   &rport, &st, &inode) != 6)
            continue;
        if (lport == server_port && rport == client_port && inode) {
            found = inode;
            break;
        }
    }
    fclose(f);
    return found;
}

static pid_t serving_smbd(smbw_conn *conn)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    ck_assert_int_eq(getsockname(smbw_conn_fd(conn), (struct sockaddr *)&sa, &sl), 0);
    uint16_t cport = ntohs(sa.sin_port);
    uint16_t sport = it_env_port();
    unsigned long inode = socket_inode(sport, cport);
    ck_assert_msg(inode != 0, "no server socket for client port %u", cport);
    char want[64];
    snprintf(want, sizeof want, "socket:[%lu]", inode);
    DIR *proc = opendir("/proc");
    ck_assert_ptr_nonnull(proc);
    pid_t pid = 0;
    struct dirent *de;
    while (!pid && (de = readdir(proc))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        char fddir[300];
        snprintf(fddir, sizeof fddir, "/proc/%s/fd", de->d_name);
        DIR *fds = opendir(fddir);
        if (!fds)
            continue;
        struct dirent *fe;
        while ((fe = readdir(fds))) {
            char lp[600], target[128];
            snprintf(lp, sizeof lp, "%s/%s", fddir, fe->d_name);
            ssize_t n = readlink(lp, target, sizeof target - 1);
            if (n <= 0)
                continue;
            target[n] = 0;
            if (!strcmp(target, want)) {
                pid = (pid_t)atoi(de->d_name);
                break;
            }
        }
        closedir(fds);
    }
    closedir(proc);
    ck_assert_msg(pid > 0, "no process owns %s", want);
    char commp[64], comm[64] = "";
    snprintf(commp, sizeof commp, "/proc/%d/comm", (int)pid);
    FILE *cf = fopen(commp, "r");
    if (cf) {
        if (!fgets(comm, sizeof comm, cf))
            comm[0] = 0;
        fclose(cf);
    }
    ck_assert_msg(!strncmp(comm, "smbd", 4), "pid %d serving us is \"%s\", not smbd", (int)pid,
                  comm);
    ck_assert_msg(pid != getpid(), "found our own socket");
    return pid;
}

/* The error of a connection whose server died: the socket closed or reset.
 * The connection had no failure before the fault (open_ctx checks errmsg is
 * empty and every step before the fault succeeded), so a message now is the
 * fault's. */
static void assert_dead_error(smbw_conn *conn, int rc, double elapsed, const char *what)
{
    ck_assert_msg(rc == SMBW_ECLOSED || rc == SMBW_EIO, "%s: %s (%s), wanted SMBW_ECLOSED/EIO",
                  what, smbw_error_name(rc), smbw_conn_errmsg(conn));
    ck_assert_msg(elapsed < MAX_SECONDS, "%s: took %.2f s", what, elapsed);
    ck_assert_msg(smbw_conn_errmsg(conn)[0], "%s: empty errmsg", what);
    ck_assert_msg(smbw_conn_is_dead(conn), "%s: connection not dead", what);
    ck_assert_int_eq(smbw_conn_echo(conn), SMBW_EDEAD);
    fprintf(stderr, "%s: %s: %s (%.2f s)\n", what, smbw_error_name(rc), smbw_conn_errmsg(conn),
            elapsed);
}

/* ---- cases ---------------------------------------------------------------- */

START_TEST(kill_mid_download)
{
    make_file("dl.bin", 64u << 20);
    it_ctx c;
    open_ctx(&c, 10000);
    smbw_file *f = NULL;
    IT_OK(c.conn, smbw_file_open(&f, c.tree, "dl.bin", SMBW_O_RDONLY));
    static uint8_t buf[PIECE];
    size_t n = 0;
    IT_OK(c.conn, smbw_file_pread(f, buf, sizeof buf, 0, &n));
    ck_assert_uint_eq(n, sizeof buf);
    pid_t child = serving_smbd(c.conn);
    ck_assert_int_eq(kill(child, SIGKILL), 0);
    double t0 = it_now();
    int rc = 0;
    uint64_t off = PIECE;
    /* the next reads fail; none may hang or claim success to the end */
    while (!rc && off < (64u << 20)) {
        rc = smbw_file_pread(f, buf, sizeof buf, off, &n);
        off += PIECE;
    }
    assert_dead_error(c.conn, rc, it_now() - t0, "kill-mid-download");
    ck_assert_int_eq(smbw_file_free(f), SMBW_EDEAD);
    it_close(&c);
}
END_TEST

START_TEST(kill_mid_upload)
{
    it_ctx c;
    open_ctx(&c, 10000);
    smbw_file *f = NULL;
    IT_OK(c.conn,
          smbw_file_open(&f, c.tree, "ul.bin", SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_TRUNC));
    static uint8_t buf[PIECE];
    memset(buf, 0x42, sizeof buf);
    IT_OK(c.conn, smbw_file_pwrite(f, buf, sizeof buf, 0));
    pid_t child = serving_smbd(c.conn);
    ck_assert_int_eq(kill(child, SIGKILL), 0);
    double t0 = it_now();
    int rc = 0;
    uint64_t off = PIECE;
    while (!rc && off < (64u << 20)) {
        rc = smbw_file_pwrite(f, buf, sizeof buf, off);
        off += PIECE;
    }
    assert_dead_error(c.conn, rc, it_now() - t0, "kill-mid-upload");
    ck_assert_int_eq(smbw_file_free(f), SMBW_EDEAD);
    it_close(&c);
    ck_assert_msg(it_server_size("ul.bin") < (long long)(64u << 20), "upload looks complete");
}
END_TEST

typedef struct kill_ud {
    smbw_conn *conn;
    pid_t child;
    int calls;
    uint64_t done_at_kill;
} kill_ud;

static int kill_on_progress(void *ud, uint64_t done, uint64_t contiguous, uint64_t total)
{
    kill_ud *k = ud;
    if (k->calls++ == 0 && done < total) {
        k->done_at_kill = done;
        kill(k->child, SIGKILL);
    }
    return 0;
}

START_TEST(kill_mid_copychunk)
{
    make_file("cc-src.bin", BIG_SIZE);
    it_ctx c;
    open_ctx(&c, 10000);
    kill_ud k;
    memset(&k, 0, sizeof k);
    k.conn = c.conn;
    k.child = serving_smbd(c.conn);
    smbw_copy_opts o = SMBW_COPY_OPTS_INIT;
    o.method = SMBW_COPY_COPYCHUNK;
    o.depth = 1;
    o.progress = kill_on_progress;
    o.progress_ud = &k;
    smbw_copy_stats st;
    double t0 = it_now();
    int rc = smbw_copy_file(c.tree, "cc-src.bin", c.tree, "cc-dst.bin", &o, &st);
    double el = it_now() - t0;
    ck_assert_msg(k.calls > 0 && k.done_at_kill < BIG_SIZE,
                  "the copy finished before the fault (progress calls %d)", k.calls);
    assert_dead_error(c.conn, rc, el, "kill-mid-copychunk");
    it_close(&c);
    long long sz = it_server_size("cc-dst.bin");
    ck_assert_msg(sz < (long long)BIG_SIZE, "destination looks complete (%lld bytes)", sz);
    fprintf(stderr, "kill-mid-copychunk: destination %lld of %u bytes\n", sz, BIG_SIZE);
}
END_TEST

START_TEST(server_stopped)
{
    make_file("stop.bin", 4u << 20);
    it_ctx c;
    open_ctx(&c, 1000);
    smbw_file *f = NULL;
    IT_OK(c.conn, smbw_file_open(&f, c.tree, "stop.bin", SMBW_O_RDONLY));
    pid_t child = serving_smbd(c.conn);
    ck_assert_int_eq(kill(child, SIGSTOP), 0);
    static uint8_t buf[PIECE];
    size_t n = 0;
    double t0 = it_now();
    int rc = smbw_file_pread(f, buf, sizeof buf, 0, &n);
    double el = it_now() - t0;
    kill(child, SIGKILL);
    kill(child, SIGCONT);
    ck_assert_msg(rc == SMBW_ETIMEDOUT, "stopped server: %s (%s)", smbw_error_name(rc),
                  smbw_conn_errmsg(c.conn));
    /* The 1 s timeout, not the library's default (60 s) nor a hang; the upper
     * bound leaves room for a loaded machine. */
    ck_assert_msg(el >= 0.9 && el < 20.0, "timeout after %.2f s (set 1 s)", el);
    ck_assert_msg(smbw_conn_is_dead(c.conn), "connection not dead after a timeout");
    ck_assert_msg(strstr(smbw_conn_errmsg(c.conn), "no answer from the server"), "errmsg: %s",
                  smbw_conn_errmsg(c.conn));
    fprintf(stderr, "server-stopped: %s (%.2f s)\n", smbw_conn_errmsg(c.conn), el);
    ck_assert_int_eq(smbw_file_free(f), SMBW_EDEAD);
    it_close(&c);
}
END_TEST

START_TEST(permission_denied)
{
    /* a root-owned file with mode 000 and a root-owned read-only directory */
    char *p = it_server_path("secret.bin");
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0000);
    ck_assert_msg(fd >= 0, "open %s: %s", p, strerror(errno));
    ck_assert_int_eq(write(fd, "x", 1), 1);
    close(fd);
    ck_assert_int_eq(chmod(p, 0000), 0);
    free(p);
    p = it_server_path("rodir");
    mkdir(p, 0755);
    ck_assert_int_eq(chmod(p, 0755), 0);
    free(p);
    ck_assert_msg(geteuid() == 0, "must run as root so the files belong to another user");

    it_ctx c;
    open_ctx(&c, 10000);
    smbw_file *f = NULL;
    int rc = smbw_file_open(&f, c.tree, "secret.bin", SMBW_O_RDONLY);
    ck_assert_msg(rc == SMBW_EACCES, "open mode-000 file: %s [%s] %s", smbw_error_name(rc),
                  smbw_status_name(smbw_last_status(c.conn)), smbw_conn_errmsg(c.conn));
    ck_assert_msg(strstr(smbw_conn_errmsg(c.conn), "STATUS_ACCESS_DENIED"), "errmsg: %s",
                  smbw_conn_errmsg(c.conn));
    rc = smbw_file_open(&f, c.tree, "rodir/new.bin", SMBW_O_WRONLY | SMBW_O_CREAT);
    ck_assert_msg(rc == SMBW_EACCES, "create in read-only dir: %s [%s]", smbw_error_name(rc),
                  smbw_status_name(smbw_last_status(c.conn)));
    /* a copy onto a file we may not write leaves it untouched */
    make_file("ok-src.bin", 1u << 20);
    rc = smbw_copy_file(c.tree, "ok-src.bin", c.tree, "secret.bin", NULL, NULL);
    ck_assert_msg(rc == SMBW_EACCES, "copy onto mode-000 file: %s", smbw_error_name(rc));
    ck_assert_int_eq(it_server_size("secret.bin"), 1);
    ck_assert(!smbw_conn_is_dead(c.conn));
    it_close(&c);
}
END_TEST

START_TEST(source_missing)
{
    it_ctx c;
    open_ctx(&c, 10000);
    smbw_file *f = NULL;
    int rc = smbw_file_open(&f, c.tree, "does-not-exist.bin", SMBW_O_RDONLY);
    ck_assert_msg(rc == SMBW_ENOENT, "open missing: %s", smbw_error_name(rc));
    ck_assert_msg(strstr(smbw_conn_errmsg(c.conn), "STATUS_OBJECT_NAME_NOT_FOUND"), "errmsg: %s",
                  smbw_conn_errmsg(c.conn));
    rc = smbw_copy_file(c.tree, "does-not-exist.bin", c.tree, "never.bin", NULL, NULL);
    ck_assert_msg(rc == SMBW_ENOENT, "copy missing: %s", smbw_error_name(rc));
    ck_assert_int_eq(it_server_size("never.bin"), -1);
    ck_assert(!smbw_conn_is_dead(c.conn));
    it_close(&c);
}
END_TEST

START_TEST(disk_full)
{
    it_ctx c;
    open_ctx(&c, 10000);
    smbw_file *f = NULL;
    IT_OK(c.conn,
          smbw_file_open(&f, c.tree, "full.bin", SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_TRUNC));
    static uint8_t buf[PIECE];
    memset(buf, 0x17, sizeof buf);
    int rc = 0;
    double t0 = it_now();
    for (uint64_t off = 0; !rc && off < (64u << 20); off += PIECE)
        rc = smbw_file_pwrite(f, buf, sizeof buf, off);
    double el = it_now() - t0;
    ck_assert_msg(rc == SMBW_ENOSPC, "writing 64 MiB to a small share: %s [%s] %s",
                  smbw_error_name(rc), smbw_status_name(smbw_last_status(c.conn)),
                  smbw_conn_errmsg(c.conn));
    ck_assert_msg(smbw_last_status(c.conn) == SMBW_STATUS_DISK_FULL,
                  "status %s, wanted STATUS_DISK_FULL", smbw_status_name(smbw_last_status(c.conn)));
    ck_assert_msg(strstr(smbw_conn_errmsg(c.conn), "STATUS_DISK_FULL"), "errmsg: %s",
                  smbw_conn_errmsg(c.conn));
    ck_assert_msg(el < 10.0, "took %.2f s", el);
    ck_assert(!smbw_conn_is_dead(c.conn));
    fprintf(stderr, "disk-full: %s\n", smbw_conn_errmsg(c.conn));
    (void)smbw_file_free(f);
    /* a copy that does not fit fails with ENOSPC and removes its destination */
    IT_OK(c.conn, smbw_unlink(c.tree, "full.bin"));
    IT_OK(c.conn,
          smbw_file_open(&f, c.tree, "fits.bin", SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_TRUNC));
    for (uint64_t off = 0; off < (5u << 20); off += PIECE)
        IT_OK(c.conn, smbw_file_pwrite(f, buf, sizeof buf, off));
    IT_OK(c.conn, smbw_file_free(f));
    smbw_copy_opts o = SMBW_COPY_OPTS_INIT;
    o.method = SMBW_COPY_STREAM;
    rc = smbw_copy_file(c.tree, "fits.bin", c.tree, "copy.bin", &o, NULL);
    ck_assert_msg(rc == SMBW_ENOSPC, "copy to a full share: %s (%s)", smbw_error_name(rc),
                  smbw_conn_errmsg(c.conn));
    ck_assert_msg(it_server_size("copy.bin") == -1, "the failed copy's destination is still there");
    it_close(&c);
}
END_TEST

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    const struct {
        const char *name;
        const TTest *test;
        bool dflt;
    } cases[] = {
        {"kill-mid-download", kill_mid_download, true},
        {"kill-mid-upload", kill_mid_upload, true},
        {"kill-mid-copychunk", kill_mid_copychunk, true},
        {"server-stopped", server_stopped, true},
        {"permission-denied", permission_denied, true},
        {"source-missing", source_missing, true},
        {"disk-full", disk_full, false},
    };
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("samba");
    tcase_set_timeout(tc, 120);
    int n = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool want = argc < 2 && cases[i].dflt;
        for (int a = 1; a < argc; a++)
            want |= !strcmp(argv[a], cases[i].name);
        if (want) {
            tcase_add_test(tc, cases[i].test);
            n++;
        }
    }
    if (n == 0 || n < argc - 1) {
        fprintf(stderr, "unknown case name\n");
        return 2;
    }
    suite_add_tcase(s, tc);
    return it_run(s);
}
