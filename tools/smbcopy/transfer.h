/* Copy orchestration: connections, locations, files, directories. */
#ifndef SMBCOPY_TRANSFER_H
#define SMBCOPY_TRANSFER_H

#include "names.h"
#include "smbcopy.h"
#include "stream.h"

#define SC_MAX_SERVERS 2
#define SC_MAX_TREES 4

typedef struct sc_server {
    char *host;
    uint16_t port;
    tool_creds creds;
    smbw_conn *conn;
    smbw_session *sess;
    char *share_names[SC_MAX_TREES];
    smbw_tree *trees[SC_MAX_TREES];
    int ntrees;
} sc_server;

/* A place: a local path, or a path on a share. */
typedef struct sc_loc {
    bool remote;
    char *path; /* local path, or path below the share root ("" = root) */
    sc_server *srv;
    smbw_tree *tree;
    const char *share;
} sc_loc;

typedef struct sc_ctx {
    const sc_opts *o;
    tool_creds cli, file; /* from -U and -A */
    char *args[2];        /* main's copies of SRC and DST (a URL may hold a password) */
    char *env_password;   /* $SMB_PASSWORD, in the environment (wiped there after login) */
    const char *env_user;
    sc_server servers[SC_MAX_SERVERS];
    int nservers;
    mode_t umask;
    sc_progress prog;
    uint64_t bytes, files, failed, skipped;
    uint64_t requests, wire_bytes, resumed; /* --json counters */
    const char *method_used;
    sc_prot prot;     /* --json: the weakest protection of the sessions used */
    char error[1024]; /* first failure, without the "smbcopy: " prefix */
    int exit_code;
    sc_nameset dst_names; /* -r: destination paths this run wrote or kept */
    char **collisions;    /* -r: sources not copied because of a name collision */
    size_t ncollisions;
} sc_ctx;

void sc_ctx_init(sc_ctx *ctx, const sc_opts *o);
void sc_ctx_free(sc_ctx *ctx);
/* Once every login of the run is done: wipes the passwords of -U, -A,
 * SMB_PASSWORD (in the environment itself) and of the URLs in ctx->args (the
 * servers keep their own copy when --connections needs it). */
void sc_ctx_forget_passwords(sc_ctx *ctx);
/* Prints "smbcopy: MSG" (unless a message was already printed for the same
 * failure) and keeps the first one for --json. */
void sc_report(sc_ctx *ctx, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sc_warn(sc_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Exit code for an SMBW_E* error. */
int sc_exit_for(int err);
/* The URL without credentials, for messages: smb://host[:port]/share/path. */
char *sc_display_url(const smbw_url *u);
/* The argument with any URL password replaced by "***". */
char *sc_redact_arg(const char *arg);

/* Makes loc for a URL (connecting and logging in as needed) or a local path.
 * Returns an exit code (0 on success; the failure already reported). */
int sc_loc_open(sc_ctx *ctx, const char *arg, sc_loc *loc);
void sc_loc_free(sc_loc *loc);

/* Copies SRC to DST as smbcopy(1) describes. Returns the exit code. */
int sc_run(sc_ctx *ctx, const char *src_arg, const char *dst_arg);

/* Prepares a new connection as the options ask (dialects, timeout, signing,
 * encryption, ciphers, logging). Returns 0 or an SMBW error. */
int sc_conn_setup(sc_ctx *ctx, smbw_conn *c);
/* Credentials for a login to srv as the options ask. */
smbw_creds sc_login_creds(const sc_ctx *ctx, const sc_server *srv);
/* Folds the protection of a session and one of its shares into ctx->prot. */
void sc_note_protection(sc_ctx *ctx, const smbw_conn *c, const smbw_session *s, const smbw_tree *t);

/* Dialect of the first connection, or NULL. */
const char *sc_ctx_dialect(const sc_ctx *ctx);

#endif
