/* Hostile-server suite: a real smbwire client against tests/hostile/fakesmb.py,
 * a fake SMB2 server that behaves until one step and then misbehaves in one
 * way per scenario.
 *
 *   test_hostile FAKESMB.PY [SCENARIO ...]   run the named scenarios (all without names)
 *   test_hostile FAKESMB.PY --check-list     the C table and fakesmb.py --list agree
 *
 * For each scenario the client runs a fixed script (connect, guest session,
 * tree, open, read, create, write, compound stat, directory listing,
 * copychunk, read back, close) and the scenario says at which step the fault
 * must surface, with which SMBW_E* code, whether the connection must then be
 * dead (every later call SMBW_EDEAD) or still usable (an ECHO works), and the
 * step must end within HOSTILE_MAX_SECONDS. The fake server must report that
 * it delivered the fault (exit status 0), so a scenario that never reaches
 * its fault fails too. Only the public API is used. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <smbwire/copy.h>

#include "harness.h"

/* Every failing step must end within this many seconds: a bound that catches
 * a hang with room for the sanitizers and a loaded machine. That a protocol
 * error did not wait for a timeout is proved by its code (never
 * SMBW_ETIMEDOUT where the scenario expects another). */
#define HOSTILE_MAX_SECONDS 10.0
/* Per-request timeout for scenarios that go silent. */
#define SILENT_TIMEOUT_MS 1000
/* Per-request timeout for everything else (the fake server answers in ms). */
#define DEFAULT_TIMEOUT_MS 2500
/* The 1-byte-at-a-time server needs longer per request; it must work. */
#define SLOW_TIMEOUT_MS 15000

#define SRC_SIZE 65536
#define IO_SIZE 4096

enum step {
    S_CONNECT,
    S_SESSION,
    S_TREE,
    S_OPEN,
    S_READ,
    S_CREATE_DST,
    S_WRITE,
    S_STAT,
    S_DIR,
    S_COPY,
    S_VERIFY,
    S_CLOSE,
    S_DONE,
};

static const char *const step_names[] = {
    "connect", "session", "tree", "open",   "read",  "create-dst", "write",
    "stat",    "dir",     "copy", "verify", "close", "done",
};

enum dead_expect { ALIVE = 0, DEAD = 1 };

typedef struct scenario {
    const char *name;
    enum step step; /* where the fault must surface (S_DONE: everything works) */
    int err;        /* expected result of that step */
    int dead;       /* DEAD: connection dead afterwards; ALIVE: still usable */
    int timeout_ms;
} scenario;

#define T_DEF DEFAULT_TIMEOUT_MS
#define T_SIL SILENT_TIMEOUT_MS

static const scenario scenarios[] = {
    /* positive controls: must complete every step */
    {"normal", S_DONE, 0, ALIVE, T_DEF},
    {"slow-1byte", S_DONE, 0, ALIVE, SLOW_TIMEOUT_MS},
    {"read-pending-then-ok", S_DONE, 0, ALIVE, T_DEF},
    /* transport and header */
    {"neg-frame-too-long", S_CONNECT, SMBW_EPROTO, DEAD, T_DEF},
    {"neg-frame-type", S_CONNECT, SMBW_EPROTO, DEAD, T_DEF},
    {"neg-frame-zero", S_CONNECT, SMBW_EPROTO, DEAD, T_DEF},
    {"neg-truncated-header", S_CONNECT, SMBW_EPROTO, DEAD, T_DEF},
    {"neg-smb1-protocol", S_CONNECT, SMBW_EPROTO, DEAD, T_DEF},
    {"neg-compressed", S_CONNECT, SMBW_EPROTO, DEAD, T_DEF},
    {"neg-transform", S_CONNECT, SMBW_EPROTO, DEAD, T_DEF},
    {"neg-header-ss", S_CONNECT, SMBW_EPROTO, DEAD, T_DEF},
    {"neg-unknown-mid", S_CONNECT, SMBW_EPROTO, DEAD, T_DEF},
    {"neg-wrong-command", S_CONNECT, SMBW_EPROTO, DEAD, T_DEF},
    {"neg-request-flag", S_CONNECT, SMBW_EPROTO, DEAD, T_DEF},
    {"neg-silent", S_CONNECT, SMBW_ETIMEDOUT, DEAD, T_SIL},
    {"neg-close", S_CONNECT, SMBW_ECLOSED, DEAD, T_DEF},
    /* NEGOTIATE body */
    {"neg-body-ss", S_CONNECT, SMBW_EPROTO, DEAD, T_DEF},
    {"neg-dialect-not-offered", S_CONNECT, SMBW_EPROTO, DEAD, T_DEF},
    {"neg-dialect-wildcard", S_CONNECT, SMBW_EPROTO, DEAD, T_DEF},
    {"neg-zero-sizes", S_CONNECT, SMBW_EPROTO, DEAD, T_DEF},
    {"neg-secbuf-outside", S_CONNECT, SMBW_EPROTO, DEAD, T_DEF},
    {"neg-secbuf-overflow", S_CONNECT, SMBW_EPROTO, DEAD, T_DEF},
    {"neg-spnego-malformed", S_SESSION, SMBW_EPROTO, ALIVE, T_DEF},
    {"zero-credits", S_SESSION, SMBW_EPROTO, DEAD, T_DEF},
    /* SESSION_SETUP, SPNEGO, NTLMSSP */
    {"ss-spnego-malformed", S_SESSION, SMBW_EPROTO, ALIVE, T_DEF},
    {"ss-spnego-trailing", S_SESSION, SMBW_EPROTO, ALIVE, T_DEF},
    {"ss-ntlm-bad-signature", S_SESSION, SMBW_EPROTO, ALIVE, T_DEF},
    {"ss-ntlm-targetinfo-outside", S_SESSION, SMBW_EPROTO, ALIVE, T_DEF},
    {"ss-ntlm-avpair-overrun", S_SESSION, SMBW_EPROTO, ALIVE, T_DEF},
    {"ss-ntlm-no-eol", S_SESSION, SMBW_EPROTO, ALIVE, T_DEF},
    {"ss-token-outside", S_SESSION, SMBW_EPROTO, DEAD, T_DEF},
    {"ss-session-id-zero", S_SESSION, SMBW_EPROTO, DEAD, T_DEF},
    {"ss-duplicate-response", S_SESSION, SMBW_EPROTO, DEAD, T_DEF},
    {"ss-garbage-after-frame", S_SESSION, SMBW_EPROTO, DEAD, T_DEF},
    {"ss-pending-forever", S_SESSION, SMBW_ETIMEDOUT, DEAD, T_SIL},
    {"ss-not-guest", S_TREE, SMBW_ECRYPTO, DEAD, T_DEF},
    /* TREE_CONNECT, CREATE */
    {"tree-wrong-ss", S_TREE, SMBW_EPROTO, DEAD, T_DEF},
    {"tree-short-body", S_TREE, SMBW_EPROTO, DEAD, T_DEF},
    {"create-ctx-outside", S_OPEN, SMBW_EPROTO, DEAD, T_DEF},
    {"create-ctx-overflow", S_OPEN, SMBW_EPROTO, DEAD, T_DEF},
    {"create-ctx-next-loop", S_OPEN, SMBW_EPROTO, DEAD, T_DEF},
    {"create-ctx-name-outside", S_OPEN, SMBW_EPROTO, DEAD, T_DEF},
    /* READ, WRITE */
    {"read-data-outside", S_READ, SMBW_EPROTO, DEAD, T_DEF},
    {"read-offset-in-header", S_READ, SMBW_EPROTO, DEAD, T_DEF},
    {"read-length-overflow", S_READ, SMBW_EPROTO, DEAD, T_DEF},
    {"read-more-than-asked", S_READ, SMBW_EPROTO, DEAD, T_DEF},
    {"read-close-mid-response", S_READ, SMBW_ECLOSED, DEAD, T_DEF},
    {"read-pending-forever", S_READ, SMBW_ETIMEDOUT, DEAD, T_SIL},
    {"read-pending-drip", S_READ, SMBW_ETIMEDOUT, DEAD, T_SIL},
    {"read-frame-partial-stall", S_READ, SMBW_ETIMEDOUT, DEAD, T_SIL},
    {"write-count-more", S_WRITE, SMBW_EPROTO, DEAD, T_DEF},
    {"write-count-zero", S_WRITE, SMBW_ENOSPC, ALIVE, T_DEF},
    /* DFS: the open is answered STATUS_PATH_NOT_COVERED on a DFS share and
     * the referral is broken */
    {"dfs-referral-outside", S_OPEN, SMBW_EPROTO, ALIVE, T_DEF},
    {"dfs-referral-empty", S_OPEN, SMBW_EPROTO, ALIVE, T_DEF},
    {"dfs-referral-self", S_OPEN, SMBW_ELOOP, ALIVE, T_DEF},
    {"dfs-bounce", S_OPEN, SMBW_ESTATUS, ALIVE, T_DEF},
    /* compounds (stat = CREATE + CLOSE in one frame) */
    {"compound-next-misaligned", S_STAT, SMBW_EPROTO, DEAD, T_DEF},
    {"compound-next-past-end", S_STAT, SMBW_EPROTO, DEAD, T_DEF},
    {"compound-next-tiny", S_STAT, SMBW_EPROTO, DEAD, T_DEF},
    /* QUERY_DIRECTORY */
    {"dir-next-loop", S_DIR, SMBW_EPROTO, DEAD, T_DEF},
    {"dir-next-past-end", S_DIR, SMBW_EPROTO, DEAD, T_DEF},
    {"dir-name-overrun", S_DIR, SMBW_EPROTO, DEAD, T_DEF},
    {"dir-output-outside", S_DIR, SMBW_EPROTO, DEAD, T_DEF},
    {"dir-endless-dots", S_DIR, SMBW_EPROTO, DEAD, T_DEF},
    {"dir-name-unpaired-surrogate", S_DONE, 0, ALIVE, T_DEF},
    /* IOCTL: resume key and copychunk */
    {"ioctl-output-outside", S_COPY, SMBW_EPROTO, DEAD, T_DEF},
    {"ioctl-output-overflow", S_COPY, SMBW_EPROTO, DEAD, T_DEF},
    {"ioctl-output-more-than-max", S_COPY, SMBW_EPROTO, DEAD, T_DEF},
    {"resume-key-short", S_COPY, SMBW_EPROTO, ALIVE, T_DEF},
    {"resume-key-context-overflow", S_COPY, SMBW_EPROTO, ALIVE, T_DEF},
    {"copychunk-no-progress", S_COPY, SMBW_ENOTSUP, ALIVE, T_DEF},
    {"copychunk-claims-more", S_COPY, SMBW_EPROTO, ALIVE, T_DEF},
    {"copychunk-too-many-chunks", S_COPY, SMBW_EPROTO, ALIVE, T_DEF},
    {"copychunk-limits-zero", S_COPY, SMBW_EPROTO, ALIVE, T_DEF},
    {"copychunk-pending-forever", S_COPY, SMBW_ETIMEDOUT, DEAD, T_SIL},
    /* SMB 3.0 with leasing, durable handles asked for (lease-*, durable-*) */
    {"lease-ctx-bad-length", S_OPEN, SMBW_EPROTO, DEAD, T_DEF},
    {"durable-ctx-bad-length", S_OPEN, SMBW_EPROTO, DEAD, T_DEF},
    {"lease-break-unknown-key", S_DONE, 0, ALIVE, T_DEF},
    {"lease-break-storm", S_DONE, 0, ALIVE, T_DEF},
    /* SMB 2.0.2, durable handles asked for: a batch oplock and QFid (qfid-*,
     * oplock-*); what the client acknowledged is checked by fakesmb.py */
    {"qfid-ctx-bad-length", S_OPEN, SMBW_EPROTO, DEAD, T_DEF},
    {"qfid-ctx-bad-offset", S_OPEN, SMBW_EPROTO, DEAD, T_DEF},
    {"oplock-break-bad-size", S_READ, SMBW_EPROTO, DEAD, T_DEF},
    {"oplock-break-unknown-fid", S_DONE, 0, ALIVE, T_DEF},
    {"oplock-break-not-held", S_DONE, 0, ALIVE, T_DEF},
    {"oplock-break-storm", S_DONE, 0, ALIVE, T_DEF},
    {"oplock-break-in-flight", S_DONE, 0, ALIVE, T_DEF},
};

#define NSCEN (sizeof scenarios / sizeof scenarios[0])

static const char *fakesmb_path;

/* --whole-list: S_DIR lists with smbw_dir_list instead of smbw_dir_next. */
static bool whole_list;

static const char *odx_mode; /* fakesmb.py --odx MODE, or NULL */
static const char *dfs_ttl;  /* fakesmb.py --dfs-ttl SECONDS, or NULL */
static int selected[NSCEN];
static int nselected;

static uint8_t src_byte(size_t i)
{
    /* fakesmb.py pattern(n, 3) */
    return (uint8_t)((i * 7 + 3 + (i >> 8)) & 0xFF);
}

/* ---- the fake server process ------------------------------------------ */

typedef it_child fake;

static void fake_start(fake *f, const char *name)
{
    it_child_init(f, "smbw-hostile");
    f->quiet = true;
    const char *argv[12];
    size_t n = 0;
    argv[n++] = it_python();
    argv[n++] = fakesmb_path;
    argv[n++] = "--port-file";
    argv[n++] = f->port_file;
    argv[n++] = "--timeout";
    argv[n++] = "30";
    if (odx_mode) {
        argv[n++] = "--odx";
        argv[n++] = odx_mode;
    }
    if (dfs_ttl) {
        argv[n++] = "--dfs-ttl";
        argv[n++] = dfs_ttl;
    }
    argv[n++] = name;
    argv[n] = NULL;
    it_child_start(f, argv);
}

/* Waits (bounded) for the fake server to exit on its own; returns its exit
 * status, or -1 when it had to be killed. */
static int fake_finish(fake *f)
{
    int status = it_child_wait(f, 5000);
    it_child_cleanup(f);
    return status;
}

/* ---- the client script ------------------------------------------------- */

typedef struct client {
    smbw_conn *conn;
    smbw_session *sess;
    smbw_tree *tree;
    smbw_file *src, *dst;
    uint8_t buf[SRC_SIZE];
    char detail[256]; /* why a step "succeeded" wrongly */
} client;

/* The lease-*, durable-*, qfid-* and oplock-* scenarios: the client asks
 * for durable handles (and so, at SMB 3.x with leasing, for leases, at 2.x
 * for a batch oplock; with its reconnect policy on, for QFid). */
static bool wants_durable(const char *name)
{
    return !strncmp(name, "lease-", 6) || !strncmp(name, "durable-", 8) ||
           !strncmp(name, "qfid-", 5) || !strncmp(name, "oplock-", 7);
}

/* An entry marked name_invalid, as dir-name-unpaired-surrogate lists it:
 * 1, shown with U+FFFD, its size as listed; -1000 for a mark on another
 * entry (the count then never matches). */
static int dirent_marked(const smbw_dirent *e)
{
    if (!e->name_invalid)
        return 0;
    return strcmp(e->name, "bad\xef\xbf\xbd.txt") == 0 && e->st.size == 10 ? 1 : -1000;
}

/* Entries a listing must mark name_invalid in scenario name. */
static int want_marked(const char *name)
{
    return strcmp(name, "dir-name-unpaired-surrogate") == 0 ? 1 : 0;
}

static int run_step(client *c, enum step s, const fake *f, int timeout_ms, const char *name)
{
    int rc = 0;
    switch (s) {
    case S_CONNECT:
        rc = smbw_conn_new(&c->conn);
        if (!rc)
            rc = smbw_conn_set_timeout(c->conn, timeout_ms);
        if (!rc && wants_durable(name)) {
            smbw_reconnect_opts ro = SMBW_RECONNECT_OPTS_INIT;
            ro.retries = 1;
            ro.durable = true;
            rc = smbw_conn_set_reconnect(c->conn, &ro);
        }
        if (!rc)
            rc = smbw_conn_connect(c->conn, "127.0.0.1", f->port);
        break;
    case S_SESSION: {
        smbw_creds cr = SMBW_CREDS_INIT;
        cr.kind = SMBW_AUTH_GUEST;
        rc = smbw_session_new(&c->sess, c->conn, &cr);
        break;
    }
    case S_TREE:
        rc = smbw_tree_connect(&c->tree, c->sess, "share");
        break;
    case S_OPEN:
        rc = smbw_file_open(&c->src, c->tree, "src.bin", SMBW_O_RDONLY);
        break;
    case S_READ: {
        size_t n = 0;
        rc = smbw_file_pread(c->src, c->buf, IO_SIZE, 0, &n);
        if (!rc && n != IO_SIZE) {
            snprintf(c->detail, sizeof c->detail, "read %zu bytes, wanted %d", n, IO_SIZE);
            rc = 1;
        }
        for (size_t i = 0; !rc && i < n; i++)
            if (c->buf[i] != src_byte(i)) {
                snprintf(c->detail, sizeof c->detail, "read data differs at byte %zu", i);
                rc = 1;
            }
        break;
    }
    case S_CREATE_DST:
        rc = smbw_file_open(&c->dst, c->tree, "dst.bin", SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC);
        break;
    case S_WRITE:
        memset(c->buf, 0x5a, IO_SIZE);
        rc = smbw_file_pwrite(c->dst, c->buf, IO_SIZE, 0);
        break;
    case S_STAT: {
        smbw_stat st;
        rc = smbw_stat_path(c->tree, "src.bin", &st);
        if (!rc && st.size != SRC_SIZE) {
            snprintf(c->detail, sizeof c->detail, "stat size %llu", (unsigned long long)st.size);
            rc = 1;
        }
        break;
    }
    case S_DIR: {
        if (whole_list) {
            /* smbw_dir_list: CREATE + two QUERY_DIRECTORY compounded. */
            smbw_dirent *v = NULL;
            size_t nv = 0;
            rc = smbw_dir_list(c->tree, "", &v, &nv);
            int found = 0, marked = 0;
            for (size_t i = 0; i < nv; i++) {
                if (!strcmp(v[i].name, "src.bin") && v[i].st.size == SRC_SIZE && !v[i].name_invalid)
                    found = 1;
                marked += dirent_marked(&v[i]);
            }
            free(v);
            if (!rc && !found) {
                snprintf(c->detail, sizeof c->detail, "src.bin missing from the listing");
                rc = 1;
            }
            if (!rc && marked != want_marked(name)) {
                snprintf(c->detail, sizeof c->detail, "%d entries marked name_invalid", marked);
                rc = 1;
            }
            break;
        }
        smbw_dir *d = NULL;
        rc = smbw_dir_open(&d, c->tree, "");
        int found = 0, n = 0, marked = 0;
        while (!rc) {
            smbw_dirent e;
            int r = smbw_dir_next(d, &e);
            if (r == SMBW_ENOMORE)
                break;
            if (r < 0) {
                rc = r;
                break;
            }
            n++;
            if (!strcmp(e.name, "src.bin") && e.st.size == SRC_SIZE && !e.name_invalid)
                found = 1;
            marked += dirent_marked(&e);
            if (n > 1000) {
                snprintf(c->detail, sizeof c->detail, "directory listing does not end");
                rc = 1;
            }
        }
        smbw_dir_free(d);
        if (!rc && !found) {
            snprintf(c->detail, sizeof c->detail, "src.bin missing from the listing");
            rc = 1;
        }
        if (!rc && marked != want_marked(name)) {
            snprintf(c->detail, sizeof c->detail, "%d entries marked name_invalid", marked);
            rc = 1;
        }
        break;
    }
    case S_COPY: {
        smbw_copy_opts o = SMBW_COPY_OPTS_INIT;
        o.method = SMBW_COPY_COPYCHUNK;
        smbw_copy_stats st;
        rc = smbw_copy_range(c->src, c->dst, 0, 0, SRC_SIZE, &o, &st);
        if (!rc && (!st.used_copychunk || st.bytes != SRC_SIZE)) {
            snprintf(c->detail, sizeof c->detail, "copy stats: copychunk %d bytes %llu",
                     st.used_copychunk, (unsigned long long)st.bytes);
            rc = 1;
        }
        break;
    }
    case S_VERIFY: {
        size_t n = 0;
        memset(c->buf, 0, sizeof c->buf);
        rc = smbw_file_pread(c->dst, c->buf, SRC_SIZE, 0, &n);
        if (!rc && n != SRC_SIZE) {
            snprintf(c->detail, sizeof c->detail, "read back %zu bytes", n);
            rc = 1;
        }
        for (size_t i = 0; !rc && i < n; i++)
            if (c->buf[i] != src_byte(i)) {
                snprintf(c->detail, sizeof c->detail, "copied data differs at byte %zu", i);
                rc = 1;
            }
        break;
    }
    case S_CLOSE: {
        int r1 = smbw_file_free(c->dst);
        int r2 = smbw_file_free(c->src);
        c->dst = c->src = NULL;
        rc = r1 ? r1 : r2;
        break;
    }
    case S_DONE:
        break;
    }
    return rc;
}

static void client_free(client *c)
{
    (void)smbw_file_free(c->dst);
    (void)smbw_file_free(c->src);
    smbw_tree_free(c->tree);
    smbw_session_free(c->sess);
    smbw_conn_free(c->conn);
    memset(c, 0, offsetof(client, buf));
}

START_TEST(t_scenario)
{
    const scenario *sc = &scenarios[selected[_i]];
    fake f;
    fake_start(&f, sc->name);

    static client c; /* 64 KiB buffer: keep it off the stack */
    memset(&c, 0, sizeof c);
    enum step s;
    int rc = 0;
    double elapsed = 0, slowest = 0, start = it_now();
    enum step slowest_step = S_CONNECT;
    /* smbw_conn_errmsg() keeps the last failure: remember it before each step
     * so the failing step is shown to have set its own message. */
    char before[1024] = "";
    for (s = S_CONNECT; s < S_DONE; s++) {
        snprintf(before, sizeof before, "%s", c.conn ? smbw_conn_errmsg(c.conn) : "");
        double t0 = it_now();
        rc = run_step(&c, s, &f, sc->timeout_ms, sc->name);
        elapsed = it_now() - t0;
        if (elapsed > slowest) {
            slowest = elapsed;
            slowest_step = s;
        }
        if (rc)
            break;
    }
    double total = it_now() - start;
    const char *msg = c.conn ? smbw_conn_errmsg(c.conn) : "(no connection)";
    char got[600];
    snprintf(got, sizeof got,
             "%s: step %s -> %d %s (%.2f s; total %.2f s, slowest step %s %.2f s) status %s "
             "errmsg \"%s\" %s",
             sc->name, step_names[s], rc, rc < 0 ? smbw_error_name(rc) : "", elapsed, total,
             step_names[slowest_step], slowest,
             c.conn ? smbw_status_name(smbw_last_status(c.conn)) : "-", msg, c.detail);
    fprintf(stderr, "%s\n", got);

    bool ok_step = s == sc->step && rc == sc->err;
    bool ok_time = elapsed < HOSTILE_MAX_SECONDS || sc->step == S_DONE;
    bool ok_msg = sc->step == S_DONE || (msg && msg[0] && strcmp(msg, before) != 0);
    bool ok_dead = true;
    int echo = 0;
    bool was_dead = c.conn && smbw_conn_is_dead(c.conn);
    if (sc->step != S_DONE && c.conn) {
        if (sc->dead == DEAD) {
            echo = smbw_conn_echo(c.conn);
            ok_dead = smbw_conn_is_dead(c.conn) && echo == SMBW_EDEAD;
        } else {
            ok_dead = !smbw_conn_is_dead(c.conn);
            if (ok_dead) {
                echo = smbw_conn_echo(c.conn);
                ok_dead = echo == 0;
            }
        }
    }
    client_free(&c);
    int fstatus = fake_finish(&f);

    ck_assert_msg(ok_step, "%s: wanted step %s -> %s; got %s", sc->name, step_names[sc->step],
                  sc->err ? smbw_error_name(sc->err) : "0", got);
    ck_assert_msg(ok_time, "%s: the failing step took %.2f s (limit %.1f s)", sc->name, elapsed,
                  HOSTILE_MAX_SECONDS);
    ck_assert_msg(ok_msg, "%s: smbw_conn_errmsg() empty or left from an earlier step", sc->name);
    ck_assert_msg(ok_dead, "%s: connection should be %s afterwards (is_dead %d, echo %d %s)",
                  sc->name, sc->dead == DEAD ? "dead" : "usable", was_dead, echo,
                  smbw_error_name(echo));
    ck_assert_msg(fstatus == 0,
                  "%s: fakesmb.py exit status %d (3: fault never delivered, 4: its timeout, "
                  "5: the client broke a rule, 1: server error, -1: killed)",
                  sc->name, fstatus);
}
END_TEST

/* fakesmb.py --list and the table above name the same scenarios. */
static int check_list(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "python3 '%s' --list", fakesmb_path);
    FILE *p = popen(cmd, "r");
    if (!p) {
        perror("popen");
        return 1;
    }
    int seen[NSCEN];
    memset(seen, 0, sizeof seen);
    int bad = 0, lines = 0;
    char line[512];
    while (fgets(line, sizeof line, p)) {
        char name[128];
        if (sscanf(line, "%127s", name) != 1)
            continue;
        lines++;
        size_t i;
        for (i = 0; i < NSCEN; i++)
            if (!strcmp(scenarios[i].name, name))
                break;
        if (i == NSCEN) {
            fprintf(stderr, "fakesmb.py scenario %s has no expectation in test_hostile.c\n", name);
            bad = 1;
        } else {
            seen[i] = 1;
        }
    }
    int st = pclose(p);
    if (st != 0 || lines == 0) {
        fprintf(stderr, "fakesmb.py --list failed (status %d, %d lines)\n", st, lines);
        return 1;
    }
    for (size_t i = 0; i < NSCEN; i++)
        if (!seen[i]) {
            fprintf(stderr, "%s is not a fakesmb.py scenario\n", scenarios[i].name);
            bad = 1;
        }
    printf("%d scenarios, %zu expectations: %s\n", lines, NSCEN, bad ? "MISMATCH" : "ok");
    return bad;
}

/* ---- offloaded data transfer against fakesmb.py --odx MODE -------------- */

/* fakesmb.py's big.bin: bytes 0..255 repeated to 8 MiB, then "tail!". */
#define ODX_BIG_SIZE ((size_t)(8u << 20) + 5u)
static uint8_t big_byte(size_t i)
{
    return i < ((size_t)8u << 20) ? (uint8_t)(i & 0xFF) : (uint8_t)("tail!"[i - (8u << 20)]);
}

typedef struct odx_client {
    fake f;
    smbw_conn *c;
    smbw_session *s;
    smbw_tree *t;
} odx_client;

static void odx_connect(odx_client *x)
{
    fake_start(&x->f, "normal");
    ck_assert_int_eq(smbw_conn_new(&x->c), 0);
    ck_assert_int_eq(smbw_conn_set_timeout(x->c, 20000), 0);
    ck_assert_int_eq(smbw_conn_connect(x->c, "127.0.0.1", x->f.port), 0);
    smbw_creds cr = SMBW_CREDS_INIT;
    cr.kind = SMBW_AUTH_GUEST;
    ck_assert_int_eq(smbw_session_new(&x->s, x->c, &cr), 0);
    ck_assert_int_eq(smbw_tree_connect(&x->t, x->s, "share"), 0);
}

static void odx_disconnect(odx_client *x)
{
    smbw_tree_free(x->t);
    smbw_session_free(x->s);
    smbw_conn_free(x->c);
    fake_finish(&x->f);
}

/* Copies src to dst with method m; returns the result, stats filled. */
static int odx_copy(odx_client *x, const char *src, const char *dst, smbw_copy_method m,
                    smbw_copy_stats *st)
{
    smbw_copy_opts o = SMBW_COPY_OPTS_INIT;
    o.method = m;
    o.no_preserve = true;
    return smbw_copy_file(x->t, src, x->t, dst, &o, st);
}

static void odx_check_big(odx_client *x, const char *name)
{
    void *data = NULL;
    size_t n = 0;
    ck_assert_int_eq(smbw_read_file(x->t, name, &data, &n, 64u << 20), 0);
    ck_assert_uint_eq(n, ODX_BIG_SIZE);
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++)
        if (p[i] != big_byte(i))
            ck_abort_msg("%s: byte %zu is 0x%02x, want 0x%02x", name, i, p[i], big_byte(i));
    free(data);
}

/* A counter from fakesmb.py's odx-stats.txt ("invalid=N peak=N reads=N ..."). */
static unsigned long odx_stat(odx_client *x, const char *key)
{
    void *data = NULL;
    size_t n = 0;
    ck_assert_int_eq(smbw_read_file(x->t, "odx-stats.txt", &data, &n, 4096), 0);
    char text[512];
    ck_assert_uint_lt(n, sizeof text);
    memcpy(text, data, n);
    text[n] = 0;
    free(data);
    char pat[64];
    snprintf(pat, sizeof pat, "%s=", key);
    const char *at = strstr(text, pat);
    ck_assert_msg(at != NULL, "no %s in odx-stats.txt: %s", key, text);
    return strtoul(at + strlen(pat), NULL, 10);
}

/* The server refuses copychunk: AUTO copies by ODX (tokens of at most 1 MiB,
 * writes of at most 384 KiB: partial lengths continued, several pieces in
 * flight), the data never crosses the wire, and a forced --method=odx does the
 * same. */
START_TEST(t_odx_auto)
{
    odx_client x;
    odx_connect(&x);
    smbw_copy_stats st;
    ck_assert_int_eq(odx_copy(&x, "big.bin", "copy.bin", SMBW_COPY_AUTO, &st), 0);
    ck_assert_str_eq(smbw_copy_method_name(st.method), "odx");
    ck_assert(st.used_odx && !st.used_stream && !st.used_copychunk);
    ck_assert_uint_eq(st.bytes, ODX_BIG_SIZE);
    ck_assert_msg(st.wire_bytes * 100 < ODX_BIG_SIZE, "%llu bytes on the wire",
                  (unsigned long long)st.wire_bytes);
    /* 9 tokens (1 MiB each, the last 5 bytes) and 3 writes per full token. */
    ck_assert_uint_ge(st.requests, 9 + 8 * 3);
    /* Pipelined as copychunk is: several ODX requests in flight at once. */
    ck_assert_uint_ge(odx_stat(&x, "peak"), 2);
    odx_check_big(&x, "copy.bin");
    ck_assert_int_eq(odx_copy(&x, "big.bin", "copy2.bin", SMBW_COPY_ODX, &st), 0);
    ck_assert_int_eq(st.method, SMBW_COPY_ODX);
    odx_check_big(&x, "copy2.bin");
    /* The zero-data token is written like any other. */
    ck_assert_int_eq(odx_copy(&x, "zero.bin", "zcopy.bin", SMBW_COPY_ODX, &st), 0);
    void *data = NULL;
    size_t n = 0;
    ck_assert_int_eq(smbw_read_file(x.t, "zcopy.bin", &data, &n, 8u << 20), 0);
    ck_assert_uint_eq(n, 2u << 20);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(((uint8_t *)data)[i], 0);
    free(data);
    odx_disconnect(&x);
}
END_TEST

/* Tokens honoured for one write only (STATUS_INVALID_TOKEN after): the rest of
 * each range is read again and the copy is whole. */
START_TEST(t_odx_expire)
{
    odx_client x;
    odx_connect(&x);
    smbw_copy_stats st;
    ck_assert_int_eq(odx_copy(&x, "big.bin", "copy.bin", SMBW_COPY_AUTO, &st), 0);
    ck_assert_int_eq(st.method, SMBW_COPY_ODX);
    ck_assert(!st.used_stream);
    odx_check_big(&x, "copy.bin");
    /* Tokens expired under the copy, and were read again: more than the 9
     * reads a copy without expiry takes. */
    ck_assert_uint_gt(odx_stat(&x, "invalid"), 0);
    ck_assert_uint_gt(odx_stat(&x, "reads"), 9);
    odx_disconnect(&x);
}
END_TEST

/* Another writer changes big.bin inside the first token's range right after
 * OFFLOAD_READ: the token is invalidated, the engine reads the range again,
 * and the copy holds the source as it is now (the changed bytes). */
START_TEST(t_odx_invalidate)
{
    odx_client x;
    odx_connect(&x);
    smbw_copy_stats st;
    ck_assert_int_eq(odx_copy(&x, "big.bin", "copy.bin", SMBW_COPY_AUTO, &st), 0);
    ck_assert_int_eq(st.method, SMBW_COPY_ODX);
    ck_assert(!st.used_stream);
    ck_assert_uint_gt(odx_stat(&x, "invalid"), 0);
    void *src = NULL, *dst = NULL;
    size_t ns = 0, nd = 0;
    ck_assert_int_eq(smbw_read_file(x.t, "big.bin", &src, &ns, 64u << 20), 0);
    ck_assert_int_eq(smbw_read_file(x.t, "copy.bin", &dst, &nd, 64u << 20), 0);
    ck_assert_uint_eq(ns, ODX_BIG_SIZE);
    ck_assert_uint_eq(nd, ns);
    static const char changed[] = "changed by another writer";
    ck_assert_mem_eq((uint8_t *)src + 700000, changed, sizeof changed - 1);
    for (size_t i = 0; i < ns; i++)
        if (((uint8_t *)src)[i] != ((uint8_t *)dst)[i])
            ck_abort_msg("copy.bin: byte %zu is 0x%02x, the source's 0x%02x", i,
                         ((uint8_t *)dst)[i], ((uint8_t *)src)[i]);
    free(src);
    free(dst);
    odx_disconnect(&x);
}
END_TEST

/* Tokens are given but OFFLOAD_WRITE is refused
 * (STATUS_OFFLOAD_WRITE_FLT_NOT_SUPPORTED): AUTO streams the whole file, a
 * forced ODX fails with SMBW_ENOTSUP naming the status. */
START_TEST(t_odx_refuse_write)
{
    odx_client x;
    odx_connect(&x);
    smbw_copy_stats st;
    ck_assert_int_eq(odx_copy(&x, "big.bin", "copy.bin", SMBW_COPY_AUTO, &st), 0);
    ck_assert_int_eq(st.method, SMBW_COPY_STREAM);
    ck_assert(!st.used_odx);
    ck_assert_uint_gt(odx_stat(&x, "reads"), 0);
    odx_check_big(&x, "copy.bin");
    ck_assert_int_eq(odx_copy(&x, "big.bin", "copy2.bin", SMBW_COPY_ODX, &st), SMBW_ENOTSUP);
    ck_assert_msg(strstr(smbw_conn_errmsg(x.c), "STATUS_OFFLOAD_WRITE_FLT_NOT_SUPPORTED") != NULL,
                  "message: %s", smbw_conn_errmsg(x.c));
    odx_disconnect(&x);
}
END_TEST

/* ODX refused as well: AUTO streams, a forced ODX fails with SMBW_ENOTSUP
 * and says why. */
START_TEST(t_odx_refuse)
{
    odx_client x;
    odx_connect(&x);
    smbw_copy_stats st;
    ck_assert_int_eq(odx_copy(&x, "big.bin", "copy.bin", SMBW_COPY_AUTO, &st), 0);
    ck_assert_int_eq(st.method, SMBW_COPY_STREAM);
    ck_assert(!st.used_odx);
    odx_check_big(&x, "copy.bin");
    ck_assert_int_eq(odx_copy(&x, "big.bin", "copy2.bin", SMBW_COPY_ODX, &st), SMBW_ENOTSUP);
    ck_assert_msg(strstr(smbw_conn_errmsg(x.c), "STATUS_OFFLOAD_READ_FLT_NOT_SUPPORTED") != NULL,
                  "message: %s", smbw_conn_errmsg(x.c));
    odx_disconnect(&x);
}
END_TEST

/* A TransferLength larger than the range asked: a protocol error, never a
 * copy that looks complete. */
START_TEST(t_odx_badlen)
{
    odx_client x;
    odx_connect(&x);
    smbw_copy_stats st;
    int rc = odx_copy(&x, "big.bin", "copy.bin", SMBW_COPY_AUTO, &st);
    ck_assert_int_eq(rc, SMBW_EPROTO);
    ck_assert_msg(strstr(smbw_conn_errmsg(x.c), "transfer length") != NULL, "message: %s",
                  smbw_conn_errmsg(x.c));
    odx_disconnect(&x);
}
END_TEST

static int run_odx_mode(const char *mode)
{
    odx_mode = mode;
    Suite *s = suite_create("hostile-odx");
    TCase *tc = tcase_create(mode);
    tcase_set_timeout(tc, 60);
    if (!strcmp(mode, "ok"))
        tcase_add_test(tc, t_odx_auto);
    else if (!strcmp(mode, "expire"))
        tcase_add_test(tc, t_odx_expire);
    else if (!strcmp(mode, "invalidate"))
        tcase_add_test(tc, t_odx_invalidate);
    else if (!strcmp(mode, "refuse"))
        tcase_add_test(tc, t_odx_refuse);
    else if (!strcmp(mode, "refuse-write"))
        tcase_add_test(tc, t_odx_refuse_write);
    else if (!strcmp(mode, "badlen"))
        tcase_add_test(tc, t_odx_badlen);
    else {
        fprintf(stderr, "unknown ODX mode %s\n", mode);
        return 2;
    }
    suite_add_tcase(s, tc);
    return it_run_suite(s);
}

/* ---- the DFS referral cache (fakesmb.py --dfs-ttl N) -------------------- */

/* Resolves path on the DFS root t: it must lead to \\127.0.0.1\share\want;
 * returns the requests the connection sent for it. */
static uint64_t dfs_resolve_count(odx_client *x, const char *path, const char *want)
{
    smbw_conn_stats before, after;
    smbw_conn_get_stats(x->c, &before);
    smbw_tree *t = NULL;
    char *p = NULL;
    int rc = smbw_dfs_resolve(&t, &p, x->t, path);
    ck_assert_msg(rc == 0, "resolve %s: %s", path, smbw_conn_errmsg(x->c));
    smbw_conn_get_stats(x->c, &after);
    ck_assert_str_eq(smbw_tree_share(t), "share");
    ck_assert_str_eq(p, want);
    free(p);
    return after.requests - before.requests;
}

/* Referrals with a TimeToLive of 1 s are used from the cache within that
 * second and asked for again after it; a TimeToLive of 0 is never cached. */
START_TEST(t_dfs_ttl)
{
    odx_client x;
    fake_start(&x.f, "normal");
    ck_assert_int_eq(smbw_conn_new(&x.c), 0);
    ck_assert_int_eq(smbw_conn_connect(x.c, "127.0.0.1", x.f.port), 0);
    smbw_creds cr = SMBW_CREDS_INIT;
    cr.kind = SMBW_AUTH_GUEST;
    ck_assert_int_eq(smbw_session_new(&x.s, x.c, &cr), 0);
    ck_assert_int_eq(smbw_tree_connect(&x.t, x.s, "dfs"), 0);
    /* The first: IPC$, the referral, the target share. */
    ck_assert_uint_eq(dfs_resolve_count(&x, "link/a", "a"), 3);
    uint64_t again = dfs_resolve_count(&x, "link/b", "b");
    if (!strcmp(dfs_ttl, "0")) {
        ck_assert_uint_eq(again, 1); /* not cached: the referral again */
        ck_assert_uint_eq(dfs_resolve_count(&x, "link/c", "c"), 1);
    } else {
        ck_assert_uint_eq(again, 0); /* from the cache */
        struct timespec ts = {1, 300 * 1000 * 1000};
        nanosleep(&ts, NULL);
        ck_assert_uint_eq(dfs_resolve_count(&x, "link/c", "c"), 1); /* expired */
        ck_assert_uint_eq(dfs_resolve_count(&x, "link/d", "d"), 0);
    }
    odx_disconnect(&x);
}
END_TEST

static int run_dfs_ttl(const char *ttl)
{
    dfs_ttl = ttl;
    Suite *s = suite_create("hostile-dfs-ttl");
    TCase *tc = tcase_create(ttl);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t_dfs_ttl);
    suite_add_tcase(s, tc);
    return it_run_suite(s);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FAKESMB.PY [SCENARIO ...|--check-list]\n", argv[0]);
        return 2;
    }
    fakesmb_path = argv[1];
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 3 && !strcmp(argv[2], "--whole-list")) {
        /* the dir-* scenarios through smbw_dir_list */
        whole_list = true;
        argv[2] = argv[1];
        argv++;
        argc--;
    }
    if (argc == 3 && !strcmp(argv[2], "--check-list"))
        return check_list();
    if (argc == 4 && !strcmp(argv[2], "--odx"))
        return run_odx_mode(argv[3]);
    if (argc == 4 && !strcmp(argv[2], "--dfs-ttl"))
        return run_dfs_ttl(argv[3]);
    if (argc == 2) {
        for (size_t i = 0; i < NSCEN; i++)
            selected[nselected++] = (int)i;
    } else {
        for (int a = 2; a < argc; a++) {
            size_t i;
            for (i = 0; i < NSCEN; i++)
                if (!strcmp(scenarios[i].name, argv[a]))
                    break;
            if (i == NSCEN) {
                fprintf(stderr, "unknown scenario %s\n", argv[a]);
                return 2;
            }
            selected[nselected++] = (int)i;
        }
    }
    Suite *s = suite_create("hostile");
    TCase *tc = tcase_create("scenarios");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, t_scenario, 0, nselected);
    suite_add_tcase(s, tc);
    return it_run_suite(s);
}
