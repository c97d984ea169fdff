/* The runner: every case in a child process of its own, on a fresh
 * connection, session and tree, in a scratch directory of its own that is
 * removed afterwards; a case that outlives its time limit is killed and
 * reported as error, and a case whose connection the server dropped spoils
 * no other (the next one connects anew). */
#include <errno.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "smbconform.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void log_line(void *ud, enum smbw_log_level level, const char *msg)
{
    static const char *const names[] = {"none", "error", "info", "debug", "trace"};
    fprintf(stderr, "smbconform: %s[%s] %s\n", ud != NULL ? (const char *)ud : "",
            names[(int)level >= 0 && (int)level <= 4 ? (int)level : 0], msg);
}

int cf_link_open(const cf_target *tg, const char *share, cf_link *l, char *err, size_t errlen)
{
    memset(l, 0, sizeof(*l));
    int rc = smbw_conn_new(&l->c);
    if (rc != 0) {
        snprintf(err, errlen, "cannot make a connection: %s", smbw_strerror(rc));
        return rc;
    }
    if (tg->log_level != SMBW_LOG_NONE)
        smbw_conn_set_log(l->c, tg->log_level, log_line, NULL);
    if ((rc = smbw_conn_set_dialects(l->c, tg->min_proto, tg->max_proto)) != 0 ||
        (rc = smbw_conn_set_timeout(l->c, tg->wait_ms)) != 0) {
        snprintf(err, errlen, "cannot set up the connection: %s", smbw_strerror(rc));
        goto fail;
    }
    if ((rc = smbw_conn_connect(l->c, tg->host, tg->port)) != 0) {
        snprintf(err, errlen, "cannot connect to %s port %u: %s", tg->host, (unsigned)tg->port,
                 smbw_conn_errmsg(l->c));
        goto fail;
    }
    if ((rc = smbw_session_new(&l->s, l->c, &tg->creds)) != 0) {
        snprintf(err, errlen, "cannot log in to %s: %s", tg->host, smbw_conn_errmsg(l->c));
        goto fail;
    }
    const char *sh = share != NULL ? share : tg->share;
    if ((rc = smbw_tree_connect(&l->t, l->s, sh)) != 0) {
        snprintf(err, errlen, "cannot connect to the share %s: %s", sh, smbw_conn_errmsg(l->c));
        goto fail;
    }
    return 0;
fail:
    cf_link_close(l);
    return rc;
}

void cf_link_close(cf_link *l)
{
    smbw_tree_free(l->t);
    smbw_session_free(l->s);
    smbw_conn_free(l->c);
    memset(l, 0, sizeof(*l));
}

int cf_remove_tree(smbw_tree *t, const char *path, int depth)
{
    if (depth > 16)
        return SMBW_EINVAL;
    smbw_dir *d = NULL;
    int rc = smbw_dir_open(&d, t, path);
    if (rc != 0)
        return rc;
    /* Collect the names first: removing while listing is not portable. */
    char **names = NULL;
    bool *dirs = NULL;
    size_t n = 0, cap = 0;
    smbw_dirent ent;
    while ((rc = smbw_dir_next(d, &ent)) == 0) {
        if (ent.name_invalid) /* no path names it: left, the rmdir then fails */
            continue;
        if (n == cap) {
            cap = cap != 0 ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof(*nn));
            bool *nd = realloc(dirs, cap * sizeof(*nd));
            if (nn != NULL)
                names = nn;
            if (nd != NULL)
                dirs = nd;
            if (nn == NULL || nd == NULL) {
                rc = SMBW_ENOMEM;
                break;
            }
        }
        size_t len = strlen(path) + strlen(ent.name) + 2;
        names[n] = malloc(len);
        if (names[n] == NULL) {
            rc = SMBW_ENOMEM;
            break;
        }
        snprintf(names[n], len, "%s/%s", path, ent.name);
        dirs[n] = ent.st.is_dir;
        n++;
    }
    smbw_dir_free(d);
    if (rc == SMBW_ENOMORE)
        rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) {
            int r = dirs[i] ? cf_remove_tree(t, names[i], depth + 1) : smbw_unlink(t, names[i]);
            if (r != 0)
                rc = r;
        }
        free(names[i]);
    }
    free(names);
    free(dirs);
    if (rc == 0)
        rc = smbw_rmdir(t, path);
    return rc;
}

/* The runner's own connections (the check before the run, the cleanups) are
 * not bounded by a tiny per-case --timeout: at least 30 s per wait. */
static cf_target own_target(const cf_target *tg)
{
    cf_target t = *tg;
    if (t.wait_ms < 30000)
        t.wait_ms = 30000;
    return t;
}

int cf_runner_start(const cf_target *tg_case, cf_server_info *info, char *root, size_t rootlen,
                    char *err, size_t errlen)
{
    cf_target own = own_target(tg_case);
    const cf_target *tg = &own;
    cf_link l;
    if (cf_link_open(tg, NULL, &l, err, errlen) != 0)
        return -1;
    memset(info, 0, sizeof(*info));
    info->dialect = smbw_conn_dialect(l.c);
    info->capabilities = smbw_conn_server_capabilities(l.c);
    info->security_mode = smbw_conn_server_security_mode(l.c);
    info->max_read = smbw_conn_max_read(l.c);
    info->max_write = smbw_conn_max_write(l.c);
    info->max_transact = smbw_conn_max_transact(l.c);
    info->share_flags = smbw_tree_share_flags(l.t);
    info->share_capabilities = smbw_tree_capabilities(l.t);
    snprintf(info->signing, sizeof(info->signing), "%s", smbw_session_signing_alg(l.s));
    snprintf(info->cipher, sizeof(info->cipher), "%s",
             smbw_session_encrypted(l.s) ? smbw_session_cipher(l.s) : "none");
    snprintf(info->auth, sizeof(info->auth), "%s", smbw_session_auth_mech(l.s));
    if (smbw_conn_server_guid(l.c, info->guid) != 0)
        memset(info->guid, 0, sizeof(info->guid));
    snprintf(root, rootlen, "%s%ssmbconform-%ld-%ld", tg->base, tg->base[0] != '\0' ? "/" : "",
             (long)getpid(), (long)time(NULL));
    int rc = smbw_mkdir(l.t, root);
    if (rc != 0) {
        snprintf(err, errlen, "cannot create the scratch directory %s on the share: %s (%s)", root,
                 smbw_conn_errmsg(l.c), smbw_status_name(smbw_last_status(l.c)));
        cf_link_close(&l);
        return -1;
    }
    cf_link_close(&l);
    return 0;
}

void cf_runner_finish(const cf_target *tg_case, const char *root)
{
    cf_target own = own_target(tg_case);
    const cf_target *tg = &own;
    cf_link l;
    char err[256];
    if (cf_link_open(tg, NULL, &l, err, sizeof(err)) != 0) {
        fprintf(stderr, "smbconform: warning: cannot remove %s: %s\n", root, err);
        return;
    }
    int rc = cf_remove_tree(l.t, root, 0);
    if (rc != 0)
        fprintf(stderr, "smbconform: warning: cannot remove %s: %s\n", root, smbw_conn_errmsg(l.c));
    cf_link_close(&l);
    /* A case whose connection died leaves its file on the other share. */
    if (tg->other_share != NULL && cf_link_open(tg, tg->other_share, &l, err, sizeof(err)) == 0) {
        char name[200];
        cf_other_share_file(root, name, sizeof(name));
        smbw_stat st;
        if (smbw_stat_path(l.t, name, &st) == 0)
            (void)smbw_unlink(l.t, name);
        cf_link_close(&l);
    }
}

void cf_other_share_file(const char *root, char *out, size_t n)
{
    const char *slash = strrchr(root, '/');
    snprintf(out, n, "%s-across.bin", slash != NULL ? slash + 1 : root);
}

/* What the child sends back: one write, well below PIPE_BUF. */
typedef struct child_msg {
    int result;
    int cleaned;
    char expected[CF_TEXT], got[CF_TEXT], reason[CF_TEXT];
} child_msg;

static void child(const cf_target *tg, const char *root, const cf_case *cs, int fd)
{
    static child_msg m;
    static cf_env e;
    memset(&m, 0, sizeof(m));
    memset(&e, 0, sizeof(e));
    e.tg = tg;
    snprintf(e.dir, sizeof(e.dir), "%s/%s", root, cs->name);
    char err[CF_TEXT];
    enum cf_result r;
    if (cf_link_open(tg, NULL, &e.main, err, sizeof(err)) != 0) {
        r = cf_error(&e, "%s", err);
    } else if (smbw_mkdir(e.main.t, e.dir) != 0) {
        r = cf_error(&e, "cannot create the scratch directory %s: %s", e.dir,
                     smbw_conn_errmsg(e.main.c));
    } else {
        /* Test hook (tests/conformance/smbconform.sh): a case whose name
         * matches SMBCONFORM_TEST_HANG hangs here, with its scratch directory
         * made, so the time limit and the cleanup after a kill can be seen. */
        const char *hang = getenv("SMBCONFORM_TEST_HANG");
        if (hang != NULL && hang[0] != '\0' && fnmatch(hang, cs->name, 0) == 0)
            for (;;)
                pause();
        r = cs->run(&e);
        const char *why = cf_copy_unsupported();
        if ((r == CF_FAIL || r == CF_ERROR) && why != NULL) {
            /* The server has no server-side copy: a finding about none of
             * the copy cases. */
            r = cf_skip(&e, "the server does not do server-side copy (%s)", why);
            e.expected[0] = e.got[0] = '\0';
        }
        cf_env_release(&e);
        if (!smbw_conn_is_dead(e.main.c) && cf_remove_tree(e.main.t, e.dir, 0) == 0)
            m.cleaned = 1;
    }
    cf_link_close(&e.main);
    m.result = (int)r;
    memcpy(m.expected, e.expected, sizeof(m.expected));
    memcpy(m.got, e.got, sizeof(m.got));
    memcpy(m.reason, e.reason, sizeof(m.reason));
    const char *p = (const char *)&m;
    size_t left = sizeof(m);
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    close(fd);
}

/* Removes what a killed or cut-off case left, on a connection of its own. */
static void cleanup_after(const cf_target *tg_case, const char *dir)
{
    cf_target own = own_target(tg_case);
    const cf_target *tg = &own;
    cf_link l;
    char err[256];
    for (int attempt = 0; attempt < 5; attempt++) {
        if (attempt > 0) {
            struct timespec ts = {0, 300 * 1000000L}; /* the server may still close the opens */
            nanosleep(&ts, NULL);
        }
        if (cf_link_open(tg, NULL, &l, err, sizeof(err)) != 0)
            continue;
        smbw_stat st;
        int rc = smbw_stat_path(l.t, dir, &st);
        if (rc == SMBW_ESTATUS && smbw_last_status(l.c) == SMBW_STATUS_OBJECT_NAME_NOT_FOUND) {
            cf_link_close(&l); /* never made or already gone */
            return;
        }
        rc = cf_remove_tree(l.t, dir, 0);
        cf_link_close(&l);
        if (rc == 0)
            return;
    }
    fprintf(stderr, "smbconform: warning: cannot remove %s (it goes with the scratch root)\n", dir);
}

void cf_run_case(const cf_target *tg, const char *root, const cf_case *cs, int timeout_ms,
                 cf_outcome_rec *out)
{
    memset(out, 0, sizeof(*out));
    out->cs = cs;
    double t0 = now();
    int fds[2];
    if (pipe(fds) != 0) {
        out->result = CF_ERROR;
        snprintf(out->reason, sizeof(out->reason), "pipe: %s", strerror(errno));
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        out->result = CF_ERROR;
        snprintf(out->reason, sizeof(out->reason), "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        signal(SIGPIPE, SIG_IGN);
        child(tg, root, cs, fds[1]);
        /* exit, not _exit: stdio was flushed before the fork, and a coverage
         * build writes what the case ran of the library at exit (the CI
         * coverage of lib/ counts smbconform's cases). */
        exit(0);
    }
    close(fds[1]);
    child_msg m;
    size_t got = 0;
    bool timed_out = false;
    double deadline = t0 + timeout_ms / 1000.0;
    for (;;) {
        double left = deadline - now();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd pfd = {fds[0], POLLIN, 0};
        int pr = poll(&pfd, 1, (int)(left * 1000.0) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            break;
        if (pr == 0)
            continue;
        ssize_t n = read(fds[0], (char *)&m + got, sizeof(m) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got == sizeof(m))
            break;
    }
    close(fds[0]);
    /* Without its whole result the child is ended, so that waitpid cannot
     * block: also when poll failed or the pipe closed early. */
    if (got != sizeof(m))
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    out->seconds = now() - t0;
    bool cleaned = false;
    if (timed_out) {
        out->result = CF_ERROR;
        snprintf(out->reason, sizeof(out->reason), "did not finish within its time limit (%.1f s)",
                 timeout_ms / 1000.0);
    } else if (got != sizeof(m)) {
        out->result = CF_ERROR;
        if (WIFSIGNALED(status))
            snprintf(out->reason, sizeof(out->reason), "the case's process died (signal %d)",
                     WTERMSIG(status));
        else
            snprintf(out->reason, sizeof(out->reason), "the case's process gave no result");
    } else {
        out->result =
            m.result >= CF_PASS && m.result <= CF_ERROR ? (enum cf_result)m.result : CF_ERROR;
        m.expected[CF_TEXT - 1] = m.got[CF_TEXT - 1] = m.reason[CF_TEXT - 1] = '\0';
        memcpy(out->expected, m.expected, CF_TEXT);
        memcpy(out->got, m.got, CF_TEXT);
        memcpy(out->reason, m.reason, CF_TEXT);
        cleaned = m.cleaned != 0;
    }
    if (!cleaned) {
        char dir[400];
        snprintf(dir, sizeof(dir), "%s/%s", root, cs->name);
        cleanup_after(tg, dir);
    }
}
