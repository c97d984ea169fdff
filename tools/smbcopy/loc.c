/* Locations and servers: the run's context, connections and logins per
 * server, tree connects per share, and sc_loc for an argument (see loc.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "loc.h"
#include "report.h"
#include "secrets.h"
#include "sscopy.h"

/* ---- context and messages -------------------------------------------- */

void sc_ctx_init(sc_ctx *ctx, const sc_opts *o)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->o = o;
    ctx->method_used = NULL;
    mode_t m = umask(0);
    umask(m);
    ctx->umask = m;
}

void sc_server_free(sc_server *s)
{
    for (int t = 0; t < s->ntrees; t++) {
        if (!s->borrowed)
            smbw_tree_free(s->trees[t]);
        free(s->share_names[t]);
    }
    if (!s->borrowed) {
        smbw_session_free(s->sess);
        smbw_conn_free(s->conn);
    }
    free(s->host);
    if (s->pw_mask != NULL) {
        tool_wipe(s->pw_mask, s->pw_len);
        tool_wipe(s->pw_pad, s->pw_len);
    }
    free(s->pw_mask);
    free(s->pw_pad);
    tool_creds_clear(&s->creds);
    memset(s, 0, sizeof(*s));
}

void sc_ctx_free(sc_ctx *ctx)
{
    sc_ss_lanes_end(ctx);
    for (int i = 0; i < ctx->nservers; i++)
        sc_server_free(&ctx->servers[i]);
    ctx->nservers = 0;
    free(ctx->resolved[0]);
    free(ctx->resolved[1]);
    ctx->resolved[0] = ctx->resolved[1] = NULL;
    sc_nameset_free(&ctx->dst_names);
    for (size_t i = 0; i < ctx->ncollisions; i++)
        free(ctx->collisions[i]);
    free(ctx->collisions);
    ctx->collisions = NULL;
    ctx->ncollisions = 0;
    tool_creds_clear(&ctx->cli);
    tool_creds_clear(&ctx->file);
}

static void forget_password(tool_creds *c)
{
    if (c->password != NULL) {
        tool_wipe(c->password, strlen(c->password));
        free(c->password);
        c->password = NULL;
    }
}

void sc_ctx_forget_passwords(sc_ctx *ctx, bool lanes)
{
    forget_password(&ctx->cli);
    forget_password(&ctx->file);
    /* A server's password was kept for DFS targets on other servers (asked
     * while both ends were opened); the further connections of a server-side
     * copy (lanes) still need it, unless --connections=1. */
    bool keep = lanes && ctx->o != NULL && ctx->o->connections != 1;
    for (int i = 0; !keep && i < ctx->nservers; i++)
        forget_password(&ctx->servers[i].creds);
    if (ctx->env_password != NULL) /* SMB_PASSWORD's value, in place */
        tool_wipe(ctx->env_password, strlen(ctx->env_password));
    ctx->env_password = NULL;
    for (int i = 0; i < 2; i++)
        if (ctx->args[i] != NULL)
            tool_burn_url_password(ctx->args[i]);
    tool_scrub_stack(); /* what the logins left below the caller */
}

const char *sc_ctx_dialect(const sc_ctx *ctx)
{
    for (int i = 0; i < ctx->nservers; i++)
        if (ctx->servers[i].conn != NULL && smbw_conn_dialect(ctx->servers[i].conn) != 0)
            return smbw_dialect_name(smbw_conn_dialect(ctx->servers[i].conn));
    return NULL;
}

/* ---- connections, logins, logging ----------------------------------- */

static const char *log_level_name(enum smbw_log_level level)
{
    switch (level) {
    case SMBW_LOG_ERROR:
        return "error";
    case SMBW_LOG_INFO:
        return "info";
    case SMBW_LOG_DEBUG:
        return "debug";
    default:
        return "trace";
    }
}

/* -v: one "smbcopy: [level] message" line per library message. Control
 * characters (a name sent by the server could hold some) are shown as '?'
 * so that every message stays one harmless line. */
static void log_cb(void *ud, enum smbw_log_level level, const char *message)
{
    sc_ctx *ctx = ud;
    char line[1024];
    size_t n = 0;
    for (const char *p = message != NULL ? message : ""; *p != '\0' && n < sizeof(line) - 1; p++)
        line[n++] = ((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p;
    line[n] = '\0';
    sc_progress_end(&ctx->prog);
    fprintf(stderr, "smbcopy: [%s] %s\n", log_level_name(level), line);
}

/* Requests in flight when a signal comes get this long to complete (so a
 * cancelled copy ends cleanly on a server that answers) before their
 * connection is given up. */
#define SC_INTR_GRACE_MS 300

static int interrupted_cb(void *ud)
{
    (void)ud;
    return sc_interrupted != 0;
}

int sc_conn_setup(sc_ctx *ctx, smbw_conn *c)
{
    const sc_opts *o = ctx->o;
    int err = 0;
    if (o->verbose > 0 && !o->quiet) {
        static const enum smbw_log_level levels[] = {SMBW_LOG_ERROR, SMBW_LOG_INFO, SMBW_LOG_DEBUG,
                                                     SMBW_LOG_TRACE};
        enum smbw_log_level level = levels[o->verbose < 3 ? o->verbose : 3];
        err = smbw_conn_set_log(c, level, log_cb, ctx);
    }
    if (err == 0 && (o->min_proto != 0 || o->max_proto != 0))
        err = smbw_conn_set_dialects(c, o->min_proto, o->max_proto);
    if (err == 0 && o->timeout_ms > 0)
        err = smbw_conn_set_timeout(c, o->timeout_ms);
    /* SIGINT/SIGTERM end a wait on a silent server within about a second. */
    if (err == 0)
        err = smbw_conn_set_interrupt(c, interrupted_cb, NULL, SC_INTR_GRACE_MS);
    if (err == 0 && o->sign)
        err = smbw_conn_set_signing(c, SMBW_SIGN_REQUIRED);
    if (err == 0 && o->encrypt)
        err = smbw_conn_set_encryption(c, SMBW_ENCRYPT_REQUIRED);
    if (err == 0 && o->nciphers > 0)
        err = smbw_conn_set_ciphers(c, o->ciphers, o->nciphers);
    return err;
}

smbw_creds sc_login_creds(const sc_ctx *ctx, const sc_server *srv)
{
    const sc_opts *o = ctx->o;
    /* With -k the password is handed over only for an allowed fallback. */
    bool pw = !o->kerberos || o->kerberos_fallback;
    smbw_creds cr = {
        .size = sizeof(smbw_creds),
        .kind = o->kerberos    ? SMBW_AUTH_KERBEROS
                : o->guest     ? SMBW_AUTH_GUEST
                : o->anonymous ? SMBW_AUTH_ANONYMOUS
                               : SMBW_AUTH_NTLM,
        .user = srv->creds.user != NULL ? srv->creds.user : "",
        .domain = srv->creds.domain,
        .password = pw && srv->creds.password != NULL ? srv->creds.password : "",
        /* A DFS target server (borrowed) is asked for by its own name, as
         * the library does for its first connection there. */
        .target_host = o->kerberos && !srv->borrowed ? o->service_host : NULL,
        .kerberos_fallback_ntlm = o->kerberos && o->kerberos_fallback,
    };
    return cr;
}

void sc_note_protection(sc_ctx *ctx, const smbw_conn *c, const smbw_session *s, const smbw_tree *t)
{
    /* A tree may be encrypted because the share demands it even when the
     * session is not: then it uses the connection's cipher. */
    bool enc = t != NULL ? smbw_tree_encrypted(t) : smbw_session_encrypted(s);
    const char *cipher = enc ? smbw_conn_cipher(c) : "none";
    sc_prot_note(&ctx->prot, smbw_session_signed(s), smbw_session_signing_alg(s), enc, cipher);
}

/* ---- reconnect (--retries) ------------------------------------------ */

/* The library asks for the password again: unmasked into its buffer. */
static int reconnect_password(void *ud, const char *user, const char *domain, char *buf,
                              size_t size)
{
    (void)user;
    (void)domain;
    const sc_server *s = ud;
    if (s->pw_mask == NULL || s->pw_len >= size)
        return SMBW_EAUTH;
    for (size_t i = 0; i < s->pw_len; i++)
        buf[i] = (char)(s->pw_mask[i] ^ s->pw_pad[i]);
    buf[s->pw_len] = '\0';
    return 0;
}

/* Keeps the password masked for reconnects. Returns 0 or -1 (no memory or
 * no random bytes: then no reconnect can log in again). */
static int keep_password(sc_server *s)
{
    size_t n = strlen(s->creds.password);
    s->pw_mask = malloc(n + 1);
    s->pw_pad = malloc(n + 1);
    if (s->pw_mask == NULL || s->pw_pad == NULL ||
        getrandom(s->pw_pad, n + 1, 0) != (ssize_t)(n + 1)) {
        free(s->pw_mask);
        free(s->pw_pad);
        s->pw_mask = s->pw_pad = NULL;
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        s->pw_mask[i] = (unsigned char)s->creds.password[i] ^ s->pw_pad[i];
    s->pw_len = n;
    return 0;
}

/* Each reconnect try of a server's connection: smbcopy's own after a failed
 * step (file.c) and the library's when it sends requests again (replay). */
static void reconnect_notify(void *ud, int attempt, int err, const char *msg)
{
    sc_ctx *ctx = ud;
    if (err == 0)
        ctx->reconnects++;
    /* The last try failed (the library's own reconnect when it replays):
     * smbcopy does not start another round. */
    ctx->reconnect_gave_up = err != 0 && attempt >= ctx->o->retries ? err : 0;
    if (ctx->o->quiet)
        return;
    if (err == 0) {
        sc_progress_end(&ctx->prog);
        fprintf(stderr, "smbcopy: connection dropped; reconnected\n");
        return;
    }
    sc_progress_end(&ctx->prog);
    fprintf(stderr, "smbcopy: reconnect try %d failed: %s\n", attempt,
            msg != NULL && msg[0] != '\0' ? msg : smbw_strerror(err));
}

bool sc_conn_dropped(const smbw_conn *c)
{
    int why = smbw_conn_dead_error(c); /* 0 while it lives */
    return why == SMBW_EIO || why == SMBW_ECLOSED;
}

bool sc_reconnect_dropped(sc_ctx *ctx, smbw_conn *a, smbw_conn *b, int *drops, bool say_limit,
                          int *rerr)
{
    const sc_opts *o = ctx->o;
    *rerr = 0;
    if (o->retries == 0 || sc_interrupted)
        return false;
    bool limit = drops != NULL && *drops >= o->retries;
    if (ctx->reconnect_gave_up != 0 || limit) {
        *rerr = ctx->reconnect_gave_up;
        ctx->reconnect_gave_up = 0;
        if (!o->quiet && (*rerr != 0 || say_limit))
            fprintf(stderr, "smbcopy: giving up after %d reconnect tries\n", o->retries);
        return false;
    }
    if (drops != NULL)
        (*drops)++;
    smbw_conn *ends[2] = {a, b != a ? b : NULL};
    for (int i = 0; i < 2 && *rerr == 0; i++)
        if (ends[i] != NULL && smbw_conn_is_dead(ends[i]))
            *rerr = smbw_conn_reconnect(ends[i]); /* counted and told by reconnect_notify */
    ctx->reconnect_gave_up = 0;
    return *rerr == 0;
}

static void reconnect_opts(sc_ctx *ctx, sc_server *s, smbw_reconnect_opts *ro);

/* The reconnect policy of a server's connection (after its login). */
static int set_reconnect(sc_ctx *ctx, sc_server *s)
{
    const sc_opts *o = ctx->o;
    if (o->retries == 0)
        return 0;
    if ((!o->kerberos || o->kerberos_fallback) && s->creds.password != NULL &&
        keep_password(s) != 0)
        return SMBW_ENOMEM;
    smbw_reconnect_opts ro = SMBW_RECONNECT_OPTS_INIT;
    reconnect_opts(ctx, s, &ro);
    return smbw_conn_set_reconnect(s->conn, &ro);
}

int sc_server_durable(sc_ctx *ctx, sc_server *s, bool on, bool shared)
{
    shared = on && shared;
    if (ctx->o->retries == 0 || s->borrowed || s->conn == NULL ||
        (s->durable == on && s->durable_shared == shared))
        return 0;
    smbw_reconnect_opts ro = SMBW_RECONNECT_OPTS_INIT;
    reconnect_opts(ctx, s, &ro);
    ro.durable = on;
    ro.durable_shared = shared;
    int err = smbw_conn_set_reconnect(s->conn, &ro);
    if (err == 0) {
        s->durable = on;
        s->durable_shared = shared;
    }
    return err;
}

bool sc_server_leases(const sc_server *s)
{
    return s->conn != NULL && smbw_conn_dialect(s->conn) >= SMBW_SMB3_00 &&
           (smbw_conn_server_capabilities(s->conn) & SC_CAP_LEASING) != 0;
}

static void reconnect_opts(sc_ctx *ctx, sc_server *s, smbw_reconnect_opts *pro)
{
    const sc_opts *o = ctx->o;
    smbw_reconnect_opts ro = *pro;
    ro.retries = o->retries;
    ro.wait_ms = o->retry_wait_ms;
    ro.password = reconnect_password;
    ro.password_ud = s;
    ro.notify = reconnect_notify;
    ro.notify_ud = ctx;
    ro.replay = true; /* reads in flight are sent again (SMB 3.x) */
    ro.durable = s->durable;
    ro.durable_shared = s->durable_shared;
    *pro = ro;
}

/* ---- further connections (--connections, trees) --------------------- */

static char *dup_or_null(const char *v, bool *nomem)
{
    char *d = v != NULL ? strdup(v) : NULL;
    if (v != NULL && d == NULL)
        *nomem = true;
    return d;
}

int sc_server_lane(sc_ctx *ctx, const sc_server *from, sc_server *to, char *why, size_t whylen)
{
    memset(to, 0, sizeof(*to));
    bool nomem = false;
    to->port = from->port;
    to->host = dup_or_null(from->host, &nomem);
    to->creds.user = dup_or_null(from->creds.user, &nomem);
    to->creds.domain = dup_or_null(from->creds.domain, &nomem);
    to->creds.password = dup_or_null(from->creds.password, &nomem);
    const char *op = "connect";
    int err = nomem ? SMBW_ENOMEM : smbw_conn_new(&to->conn);
    if (err == 0)
        err = sc_conn_setup(ctx, to->conn);
    if (err == 0)
        err = smbw_conn_connect(to->conn, to->host, to->port);
    if (err == 0) {
        op = "log in";
        /* As from logs in (a DFS target by its own name with Kerberos). */
        smbw_creds cr = sc_login_creds(ctx, from);
        err = smbw_session_new(&to->sess, to->conn, &cr);
    }
    if (err == 0) {
        op = "set up reconnecting";
        err = set_reconnect(ctx, to);
    }
    if (err != 0) {
        const char *m = to->conn != NULL ? smbw_conn_errmsg(to->conn) : "";
        snprintf(why, whylen, "%s: %s%s%s%s", op, smbw_strerror(err), m[0] != '\0' ? " (" : "", m,
                 m[0] != '\0' ? ")" : "");
        sc_server_free(to);
    }
    return err;
}

int sc_server_lane_tree(sc_ctx *ctx, sc_server *s, const char *share, smbw_tree **out, char *why,
                        size_t whylen)
{
    for (int i = 0; i < s->ntrees; i++)
        if (strcasecmp(s->share_names[i], share) == 0) {
            *out = s->trees[i];
            return 0;
        }
    int err = s->ntrees < SC_MAX_TREES ? 0 : SMBW_ENOMEM;
    if (err == 0)
        err = smbw_tree_connect(&s->trees[s->ntrees], s->sess, share);
    if (err == 0) {
        s->share_names[s->ntrees] = strdup(share);
        if (s->share_names[s->ntrees] == NULL) {
            smbw_tree_free(s->trees[s->ntrees]);
            err = SMBW_ENOMEM;
        }
    }
    if (err != 0) {
        const char *m = smbw_conn_errmsg(s->conn);
        snprintf(why, whylen, "connect to share %s: %s%s%s%s", share, smbw_strerror(err),
                 m[0] != '\0' ? " (" : "", m, m[0] != '\0' ? ")" : "");
        return err;
    }
    sc_note_protection(ctx, s->conn, s->sess, s->trees[s->ntrees]);
    *out = s->trees[s->ntrees++];
    return 0;
}

/* ---- servers and locations ------------------------------------------- */

static bool str_eq_ci(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcasecmp(a, b) == 0;
}

/* The library asks for the password of a DFS target on another server
 * (smbw_dfs_resolve): the one this server's login used. */
static int dfs_password(void *ud, const char *user, const char *domain, char *buf, size_t size)
{
    (void)user;
    (void)domain;
    const sc_server *s = ud;
    if (s->creds.password == NULL || strlen(s->creds.password) >= size)
        return SMBW_EAUTH;
    memcpy(buf, s->creds.password, strlen(s->creds.password) + 1);
    return 0;
}

/* One try at s's connection and login (NEGOTIATE, SESSION_SETUP): 0, or
 * the library's error with *verb naming the step that failed (NULL: the
 * login). */
static int connect_once(sc_ctx *ctx, sc_server *s, const char **verb)
{
    *verb = "create connection for";
    int err = smbw_conn_new(&s->conn);
    if (err != 0)
        return err;
    *verb = "set up the connection to";
    if ((err = sc_conn_setup(ctx, s->conn)) != 0)
        return err;
    smbw_reconnect_opts ro = SMBW_RECONNECT_OPTS_INIT;
    ro.password = dfs_password; /* retries 0: only the callback */
    ro.password_ud = s;
    if ((err = smbw_conn_set_reconnect(s->conn, &ro)) != 0)
        return err;
    *verb = "connect to";
    if ((err = smbw_conn_connect(s->conn, s->host, s->port)) != 0)
        return err;
    *verb = NULL;
    smbw_creds cr = sc_login_creds(ctx, s);
    return smbw_session_new(&s->sess, s->conn, &cr);
}

/* --retries for the first connection to s: when its setup died of a
 * dropped connection (SMBW_EIO, SMBW_ECLOSED; never a refusal such as a
 * wrong password), it is said, the connection freed and, after the wait a
 * later drop's reconnect makes (--retry-wait, doubled each time), made
 * again from the start, at most --retries times. Whether to try again. */
static bool connect_again(sc_ctx *ctx, sc_server *s, const char *disp, int *tries, int *wait_ms)
{
    const sc_opts *o = ctx->o;
    if (s->conn == NULL || !sc_conn_dropped(s->conn) || *tries >= o->retries || sc_interrupted)
        return false;
    (*tries)++;
    if (!o->quiet) {
        sc_progress_end(&ctx->prog);
        fprintf(stderr,
                "smbcopy: connection dropped while connecting to %s (%s); try %d of %d in %.1f s\n",
                disp, smbw_conn_errmsg(s->conn), *tries, o->retries, *wait_ms / 1000.0);
    }
    smbw_session_free(s->sess);
    s->sess = NULL;
    smbw_conn_free(s->conn);
    s->conn = NULL;
    for (int left = *wait_ms; left > 0 && !sc_interrupted; left -= 50) {
        struct timespec ts = {0, (long)(left < 50 ? left : 50) * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    *wait_ms = *wait_ms > 30000 ? 60000 : *wait_ms * 2;
    return !sc_interrupted;
}

static int server_login(sc_ctx *ctx, sc_server *s)
{
    bool empty_pw = false;
    const sc_opts *o = ctx->o;
    char *disp = sc_server_display(s->host, s->port);
    if (disp == NULL)
        return sc_fail_nomem(ctx);
    int rc = 0;
    bool keyless = o->guest || o->anonymous; /* no credentials, no password to ask for */
    if (!o->kerberos && !keyless && s->creds.password == NULL) {
        char *prompt =
            sc_asprintf("Password for %s%s%s@%s: ", s->creds.domain != NULL ? s->creds.domain : "",
                        s->creds.domain != NULL ? "\\" : "", s->creds.user, disp + 6);
        int pr =
            prompt != NULL ? tool_prompt_password(prompt, &s->creds.password, &sc_interrupted) : -1;
        free(prompt);
        if (pr < 0) {
            rc = sc_interrupted ? SC_EXIT_INTR : SC_EXIT_AUTH;
            sc_report(ctx, rc, "reading the password for %s: %s", disp,
                      sc_interrupted ? "interrupted" : "failed");
            goto out;
        }
        if (pr == 1) {
            /* Not a terminal and no password from anywhere: try an empty one. */
            empty_pw = true;
            s->creds.password = strdup("");
            if (s->creds.password == NULL) {
                rc = sc_fail_nomem(ctx);
                goto out;
            }
        }
    }
    const char *verb = NULL;
    int err, tries = 0, wait_ms = o->retry_wait_ms;
    while ((err = connect_once(ctx, s, &verb)) != 0 &&
           connect_again(ctx, s, disp, &tries, &wait_ms))
        ;
    if (err != 0 && verb != NULL) {
        rc = sc_fail_smb(ctx, err, s->conn, 0, verb, disp);
        goto out;
    }
    if (err != 0) {
        char *what =
            o->kerberos ? sc_asprintf("%s with Kerberos (service cifs/%s%s)", disp,
                                      o->service_host != NULL ? o->service_host : s->host,
                                      o->kerberos_fallback ? ", NTLM fallback allowed" : "")
            : keyless   ? sc_asprintf("%s %s", disp, o->guest ? "as guest" : "anonymously")
                        : sc_asprintf("%s as %s%s%s", disp, s->creds.domain ? s->creds.domain : "",
                                    s->creds.domain ? "\\" : "",
                                    s->creds.user ? s->creds.user : "(unknown user)");
        if (empty_pw && sc_exit_for(err) == SC_EXIT_AUTH) {
            rc = SC_EXIT_AUTH;
            sc_report(ctx, rc,
                      "log in to %s: no password given and no terminal to ask on (give one "
                      "with SMB_PASSWORD, -A FILE or -U USER%%PASSWORD)",
                      sc_disp_or(what, disp));
        } else {
            rc = sc_fail_smb(ctx, err, s->conn, 0, "log in to", sc_disp_or(what, disp));
        }
        free(what);
        goto out;
    }
    if ((err = set_reconnect(ctx, s)) != 0)
        rc = sc_fail_smb(ctx, err, s->conn, 0, "set up reconnecting to", disp);
    if (rc == 0 && keyless)
        sc_warn(ctx, "%s session with %s: nothing is signed or encrypted",
                o->guest ? "guest" : "anonymous", disp + 6);
out:
    /* The password is kept after a login for DFS targets on other servers
     * until both ends are open (sc_ctx_forget_passwords), or for
     * --connections until sc_ctx_free. */
    if (s->creds.password != NULL && rc != 0) {
        tool_wipe(s->creds.password, strlen(s->creds.password));
        free(s->creds.password);
        s->creds.password = NULL;
    }
    free(disp);
    return rc;
}

static int get_server(sc_ctx *ctx, const smbw_url *u, sc_server **out)
{
    tool_creds cr;
    if (ctx->o->guest || ctx->o->anonymous) { /* no credentials at all */
        if (u->user != NULL || u->password != NULL) {
            sc_report(ctx, SC_EXIT_USAGE, "%s: the URL for %s names a user; leave it out",
                      ctx->o->guest ? "--guest" : "--anonymous", u->host);
            return SC_EXIT_USAGE;
        }
        memset(&cr, 0, sizeof(cr));
    } else if (tool_resolve_creds(&ctx->cli, u, &ctx->file, ctx->env_password, ctx->env_user,
                                  &cr) != 0) {
        return sc_fail_nomem(ctx);
    } else if (cr.user == NULL && !ctx->o->kerberos) {
        tool_creds_clear(&cr);
        sc_report(ctx, SC_EXIT_USAGE, "no user name for %s: use -U, the URL or -A", u->host);
        return SC_EXIT_USAGE;
    }
    for (int i = 0; i < ctx->nservers; i++) {
        sc_server *s = &ctx->servers[i];
        if (strcasecmp(s->host, u->host) == 0 && s->port == u->port &&
            str_eq_ci(s->creds.user, cr.user) && str_eq_ci(s->creds.domain, cr.domain)) {
            tool_creds_clear(&cr);
            *out = s;
            return 0;
        }
    }
    if (ctx->nservers >= SC_MAX_SERVERS) {
        tool_creds_clear(&cr);
        return sc_fail_nomem(ctx);
    }
    sc_server *s = &ctx->servers[ctx->nservers++];
    memset(s, 0, sizeof(*s));
    s->creds = cr;
    s->port = u->port;
    s->host = strdup(u->host);
    if (s->host == NULL)
        return sc_fail_nomem(ctx);
    int rc = server_login(ctx, s);
    if (rc != 0)
        return rc;
    *out = s;
    return 0;
}

static int get_tree(sc_ctx *ctx, sc_server *s, const char *share, smbw_tree **out)
{
    for (int i = 0; i < s->ntrees; i++)
        if (strcasecmp(s->share_names[i], share) == 0) {
            *out = s->trees[i];
            return 0;
        }
    if (s->ntrees >= SC_MAX_TREES)
        return sc_fail_nomem(ctx);
    /* A drop while connecting the share: the connection brought back
     * (--retries, as after a later drop) and the share asked for again. */
    int err, drops = 0, rerr = 0;
    while ((err = smbw_tree_connect(&s->trees[s->ntrees], s->sess, share)) != 0 &&
           sc_conn_dropped(s->conn) &&
           sc_reconnect_dropped(ctx, s->conn, NULL, &drops, true, &rerr))
        ;
    if (err != 0) {
        char *d = sc_remote_display(s, share, "");
        int rc;
        if (smbw_last_status(s->conn) == SMBW_STATUS_BAD_NETWORK_NAME) {
            rc = SC_EXIT_STATUS;
            sc_report(ctx, rc, "connect to share %s: no such share (STATUS_BAD_NETWORK_NAME)",
                      sc_disp_or(d, share));
        } else {
            rc = sc_fail_smb(ctx, err, s->conn, 0, "connect to share", sc_disp_or(d, share));
        }
        free(d);
        return rc;
    }
    sc_note_protection(ctx, s->conn, s->sess, s->trees[s->ntrees]);
    s->share_names[s->ntrees] = strdup(share);
    if (s->share_names[s->ntrees] == NULL) {
        smbw_tree_free(s->trees[s->ntrees]);
        return sc_fail_nomem(ctx);
    }
    *out = s->trees[s->ntrees++];
    return 0;
}

/* The sc_server for a DFS target tree t: the server of conn, or a new
 * borrowed entry for the library's connection to another server. */
static int dfs_server(sc_ctx *ctx, const sc_server *from, smbw_tree *t, sc_server **out)
{
    smbw_conn *c = smbw_tree_conn(t);
    for (int i = 0; i < ctx->nservers; i++)
        if (ctx->servers[i].conn == c) {
            *out = &ctx->servers[i];
            return 0;
        }
    if (ctx->nservers >= SC_MAX_SERVERS)
        return sc_fail_nomem(ctx);
    sc_server *s = &ctx->servers[ctx->nservers++];
    memset(s, 0, sizeof(*s));
    s->borrowed = true;
    s->port = from->port;
    s->conn = c;
    s->sess = smbw_tree_session(t);
    s->host = strdup(smbw_tree_server(t));
    s->creds.user = from->creds.user != NULL ? strdup(from->creds.user) : NULL;
    s->creds.domain = from->creds.domain != NULL ? strdup(from->creds.domain) : NULL;
    /* --connections (and auto) logs in more connections to this server later. */
    if (ctx->o->connections != 1 && from->creds.password != NULL)
        s->creds.password = strdup(from->creds.password);
    if (s->host == NULL)
        return sc_fail_nomem(ctx);
    sc_note_protection(ctx, s->conn, s->sess, t);
    *out = s;
    return 0;
}

/* Where loc leads through DFS (smbw_dfs_resolve: t itself for a share that
 * is no DFS root); loc then names the target share and path. */
static int loc_resolve(sc_ctx *ctx, sc_loc *loc)
{
    smbw_tree *t = NULL;
    char *p = NULL;
    int err = smbw_dfs_resolve(&t, &p, loc->tree, loc->path);
    if (err != 0) {
        char *d = sc_remote_display(loc->srv, loc->share, loc->path);
        int rc = sc_fail_smb(ctx, err, loc->srv->conn, 0, "resolve the DFS path",
                             sc_disp_or(d, loc->path));
        free(d);
        return rc;
    }
    for (char *q = p; *q; q++)
        if (*q == '\\')
            *q = '/';
    int rc = 0;
    if (t != loc->tree) {
        sc_server *s = loc->srv;
        if (smbw_tree_conn(t) != s->conn)
            rc = dfs_server(ctx, s, t, &s);
        if (rc == 0) {
            loc->srv = s;
            loc->tree = t;
            loc->share = smbw_tree_share(t);
        }
    }
    if (rc == 0) {
        free(loc->path);
        loc->path = p;
    } else {
        free(p);
    }
    return rc;
}

int sc_loc_open(sc_ctx *ctx, const char *arg, sc_loc *loc)
{
    memset(loc, 0, sizeof(*loc));
    if (!smbw_is_url(arg)) {
        if (arg[0] == '\0') {
            sc_report(ctx, SC_EXIT_USAGE, "empty path");
            return SC_EXIT_USAGE;
        }
        loc->path = strdup(arg);
        return loc->path != NULL ? 0 : sc_fail_nomem(ctx);
    }
    smbw_url *u = NULL;
    int err = smbw_url_parse(&u, arg);
    if (err != 0) {
        char *r = sc_redact_arg(arg);
        sc_report(ctx, SC_EXIT_USAGE,
                  "invalid URL '%s' (expected "
                  "smb://[DOMAIN;][USER@]HOST[:PORT]/SHARE[/PATH]; no '..', %%XX escapes only)",
                  r != NULL ? r : "?");
        free(r);
        return err == SMBW_ENOMEM ? SC_EXIT_LOCAL : SC_EXIT_USAGE;
    }
    loc->remote = true;
    int rc = get_server(ctx, u, &loc->srv);
    if (rc == 0)
        rc = get_tree(ctx, loc->srv, u->share, &loc->tree);
    if (rc == 0) {
        loc->share = loc->srv->share_names[0];
        for (int i = 0; i < loc->srv->ntrees; i++)
            if (loc->srv->trees[i] == loc->tree)
                loc->share = loc->srv->share_names[i];
        loc->path = strdup(u->path);
        if (loc->path == NULL)
            rc = sc_fail_nomem(ctx);
    }
    if (rc == 0)
        rc = loc_resolve(ctx, loc);
    smbw_url_free(u);
    return rc;
}

void sc_loc_free(sc_loc *loc)
{
    free(loc->path);
    loc->path = NULL;
}

/* SMB bytes sent and received so far on the connections of a and b. */
uint64_t sc_traffic(const sc_loc *a, const sc_loc *b)
{
    smbw_conn_stats cs;
    uint64_t sum = 0;
    if (a->remote) {
        smbw_conn_get_stats(a->srv->conn, &cs);
        sum += cs.bytes_sent + cs.bytes_received;
    }
    if (b->remote && (!a->remote || b->srv != a->srv)) {
        smbw_conn_get_stats(b->srv->conn, &cs);
        sum += cs.bytes_sent + cs.bytes_received;
    }
    return sum;
}

/* Whether two connections reach one server (the same one, or equal
 * nonzero ServerGuids: "localhost" and "127.0.0.1" are one server). */
static bool same_server(const sc_server *a, const sc_server *b)
{
    if (a == b)
        return true;
    uint8_t ga[16], gb[16];
    static const uint8_t zero[16];
    return smbw_conn_server_guid(a->conn, ga) == 0 && smbw_conn_server_guid(b->conn, gb) == 0 &&
           memcmp(ga, zero, 16) != 0 && memcmp(ga, gb, 16) == 0;
}

bool sc_same_place(const sc_loc *a, const sc_loc *b)
{
    if (!a->remote || !b->remote)
        return !a->remote && !b->remote;
    return same_server(a->srv, b->srv);
}
