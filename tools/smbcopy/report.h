/* Reporting room of smbcopy: messages, exit codes and display names. Every
 * failure is reported once, here, as "smbcopy: OP WHAT: WHY"; the first one
 * is kept for --json. */
#ifndef SMBCOPY_REPORT_H
#define SMBCOPY_REPORT_H

#include "transfer.h"

/* Prints "smbcopy: MSG" (unless a message was already printed for the same
 * failure) and keeps the first one for --json. */
void sc_report(sc_ctx *ctx, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sc_warn(sc_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Exit code for an SMBW_E* error. */
int sc_exit_for(int err);

/* asprintf that returns the string, or NULL. */
char *sc_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* smb://host[:port] (IPv6 in brackets). */
char *sc_server_display(const char *host, uint16_t port);
/* smb://host[:port]/share[/path]. */
char *sc_remote_display(const sc_server *srv, const char *share, const char *path);
/* The URL without credentials, for messages: smb://host[:port]/share/path. */
char *sc_display_url(const smbw_url *u);
/* The argument with any URL password replaced by "***". */
char *sc_redact_arg(const char *arg);
/* path on loc as messages show it (a URL without credentials on a share). */
char *sc_loc_display(const sc_loc *loc, const char *path);
/* d, or fallback when d is NULL (a display name that could not be made). */
const char *sc_disp_or(const char *d, const char *fallback);
/* name for a message: control characters and bytes that are not valid
 * UTF-8 shown as '?'. */
char *sc_printable(const char *name);

/* A failed step (an operation of endpoint.h): what it was and why it failed. */
typedef struct sc_err {
    bool local;      /* a local error: os_errno says why */
    int err;         /* SMBW_E*; locally the nearest (SMBW_ENOENT, SMBW_EEXIST, ...) */
    int os_errno;    /* local */
    uint32_t status; /* NTSTATUS; 0: the connection's last one when reported */
    smbw_conn *c;    /* the connection (for its status and message), or NULL */
    const char *op;  /* "open", "rename to", ...; NULL: see sc_fail */
    bool in_use;     /* a temporary file another smbcopy holds (see sc_fh) */
} sc_err;

/* Reports e on what ("OP WHAT: WHY", as sc_fail_local or sc_fail_smb) and
 * returns the exit code; without an op, SMBW_ENOMEM is "out of memory" and
 * SMBW_ECANCELED "interrupted". */
int sc_fail(sc_ctx *ctx, const sc_err *e, const char *what);
/* Why e failed, for a warning. */
const char *sc_err_str(const sc_err *e);

/* Each reports "OP WHAT: WHY" and returns the exit code. An interruption
 * (SMBW_ECANCELED or EINTR while sc_interrupted is set) is said as
 * "OP WHAT: interrupted" with exit code 130. */
int sc_fail_smb(sc_ctx *ctx, int err, smbw_conn *c, uint32_t status, const char *op,
                const char *what);
int sc_fail_local(sc_ctx *ctx, int os_errno, const char *op, const char *what);
int sc_fail_nomem(sc_ctx *ctx);
/* "copy SDISP: interrupted" (exit code 130). */
int sc_fail_interrupted(sc_ctx *ctx, const char *sdisp);
/* The source changed while it was copied. */
int sc_fail_changed(sc_ctx *ctx, const char *sdisp);
/* The temporary file tdisp of a copy to ddisp is another smbcopy's (e says
 * where: the exit code of a local or of a server's refusal). */
int sc_fail_in_use(sc_ctx *ctx, const sc_err *e, const char *ddisp, const char *tdisp);
/* Reports a name the destination cannot hold (see name_ok in walk.c). */
int sc_fail_name(sc_ctx *ctx, const sc_loc *src, const char *spath, int code, const char *why);

#endif
