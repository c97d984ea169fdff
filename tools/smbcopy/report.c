/* Reporting: one-line messages and warnings, exit codes, the names shown
 * for files and servers, and the fail_* helpers that turn a failure into a
 * message and an exit code (see report.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "report.h"
#include "secrets.h"

void sc_report(sc_ctx *ctx, int exit_code, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    sc_progress_end(&ctx->prog);
    fprintf(stderr, "smbcopy: %s\n", line);
    fflush(stderr);
    if (ctx->error[0] == '\0') {
        snprintf(ctx->error, sizeof(ctx->error), "%s", line);
        ctx->exit_code = exit_code;
    }
}

void sc_warn(sc_ctx *ctx, const char *fmt, ...)
{
    if (ctx->o->quiet)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    sc_progress_end(&ctx->prog);
    fprintf(stderr, "smbcopy: warning: %s\n", line);
}

int sc_exit_for(int err)
{
    if (err == SMBW_ECANCELED)
        return sc_interrupted ? SC_EXIT_INTR : SC_EXIT_NET;
    if (err == SMBW_ELOCAL || err == SMBW_ENOMEM)
        return SC_EXIT_LOCAL;
    if (err == SMBW_EPOLICY || err == SMBW_EBUSY)
        return SC_EXIT_PROTO;
    switch (smbw_error_category(err)) {
    case SMBW_CAT_USAGE:
        return SC_EXIT_USAGE;
    case SMBW_CAT_IO:
    case SMBW_CAT_TIMEOUT:
        return SC_EXIT_NET;
    case SMBW_CAT_AUTH:
        return SC_EXIT_AUTH;
    case SMBW_CAT_STATUS:
        return SC_EXIT_STATUS;
    case SMBW_CAT_NOMEM:
        return SC_EXIT_LOCAL;
    default:
        return SC_EXIT_PROTO;
    }
}

char *sc_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

char *sc_server_display(const char *host, uint16_t port)
{
    bool v6 = strchr(host, ':') != NULL;
    if (port == 445)
        return sc_asprintf(v6 ? "smb://[%s]" : "smb://%s", host);
    return sc_asprintf(v6 ? "smb://[%s]:%u" : "smb://%s:%u", host, (unsigned)port);
}

char *sc_remote_display(const sc_server *srv, const char *share, const char *path)
{
    char *s = sc_server_display(srv->host, srv->port);
    if (s == NULL)
        return NULL;
    char *r = sc_asprintf("%s/%s%s%s", s, share, path[0] != '\0' ? "/" : "", path);
    free(s);
    return r;
}

char *sc_display_url(const smbw_url *u)
{
    sc_server tmp = {.host = u->host, .port = u->port};
    return sc_remote_display(&tmp, u->share, u->path);
}

char *sc_redact_arg(const char *arg)
{
    size_t colon, at;
    if (!tool_url_password_span(arg, &colon, &at))
        return strdup(arg);
    return sc_asprintf("%.*s:***%s", (int)colon, arg, arg + at);
}

const char *sc_disp_or(const char *d, const char *fallback)
{
    return d != NULL ? d : fallback;
}

/* Reports an smbwire failure of op on what. */
int sc_fail_smb(sc_ctx *ctx, int err, smbw_conn *c, uint32_t status, const char *op,
                const char *what)
{
    if (status == 0 && c != NULL)
        status = smbw_last_status(c);
    const char *detail = NULL;
    if (status != 0)
        detail = smbw_status_name(status);
    else if (c != NULL && smbw_error_category(err) != SMBW_CAT_STATUS && err != SMBW_ECANCELED &&
             smbw_conn_errmsg(c)[0] != '\0')
        detail = smbw_conn_errmsg(c);
    int code = sc_exit_for(err);
    if (err == SMBW_ECANCELED && sc_interrupted)
        sc_report(ctx, code, "%s %s: interrupted", op, what);
    else if (status == SMBW_STATUS_OBJECT_NAME_INVALID)
        sc_report(ctx, code, "%s %s: the server refused the name as invalid (%s)", op, what,
                  detail);
    else if (detail != NULL)
        sc_report(ctx, code, "%s %s: %s (%s)", op, what, smbw_strerror(err), detail);
    else
        sc_report(ctx, code, "%s %s: %s", op, what, smbw_strerror(err));
    return code;
}

int sc_fail_local(sc_ctx *ctx, int os_errno, const char *op, const char *what)
{
    if (os_errno == EINTR && sc_interrupted) {
        sc_report(ctx, SC_EXIT_INTR, "%s %s: interrupted", op, what);
        return SC_EXIT_INTR;
    }
    sc_report(ctx, SC_EXIT_LOCAL, "%s %s: %s", op, what, strerror(os_errno));
    return SC_EXIT_LOCAL;
}

int sc_fail_nomem(sc_ctx *ctx)
{
    sc_report(ctx, SC_EXIT_LOCAL, "out of memory");
    return SC_EXIT_LOCAL;
}

char *sc_loc_display(const sc_loc *loc, const char *path)
{
    if (!loc->remote)
        return strdup(path);
    return sc_remote_display(loc->srv, loc->share, path);
}

int sc_fail_interrupted(sc_ctx *ctx, const char *sdisp)
{
    sc_report(ctx, SC_EXIT_INTR, "copy %s: interrupted", sdisp);
    return SC_EXIT_INTR;
}

int sc_fail_changed(sc_ctx *ctx, const char *sdisp)
{
    sc_report(ctx, SC_EXIT_LOCAL,
              "copy %s: source changed during copy (its size or modification time); not copied, "
              "run again to copy it as it is now",
              sdisp);
    return SC_EXIT_LOCAL;
}

int sc_fail_in_use(sc_ctx *ctx, const sc_err *e, const char *ddisp, const char *tdisp)
{
    int code = e->local ? SC_EXIT_LOCAL : sc_exit_for(e->err);
    sc_report(ctx, code,
              "copy to %s: its temporary file %s is in use (another smbcopy copying to the same "
              "file?); left alone, not copied",
              ddisp, tdisp);
    return code;
}

/* name for a message: control characters shown as '?'. */
char *sc_printable(const char *name)
{
    char *r = strdup(name);
    if (r != NULL)
        for (char *p = r; *p != '\0';) {
            size_t n = tool_utf8_len(p);
            if (n == 0 || (unsigned char)*p < 0x20 || *p == 0x7f) {
                *p++ = '?';
                continue;
            }
            p += n;
        }
    return r;
}

/* Reports a name the destination cannot hold (see name_ok). */
int sc_fail_name(sc_ctx *ctx, const sc_loc *src, const char *spath, int code, const char *why)
{
    char *d = sc_loc_display(src, spath);
    char *p = d != NULL ? sc_printable(d) : NULL;
    sc_report(ctx, code, "copy %s: %s; not copied", p != NULL ? p : "?", why);
    free(p);
    free(d);
    return code;
}

int sc_fail(sc_ctx *ctx, const sc_err *e, const char *what)
{
    if (e->op == NULL && e->err == SMBW_ENOMEM)
        return sc_fail_nomem(ctx);
    if (e->op == NULL && e->err == SMBW_ECANCELED) {
        sc_report(ctx, SC_EXIT_INTR, "interrupted");
        return SC_EXIT_INTR;
    }
    if (e->local)
        return sc_fail_local(ctx, e->os_errno, e->op, what);
    return sc_fail_smb(ctx, e->err, e->c, e->status, e->op, what);
}

const char *sc_err_str(const sc_err *e)
{
    return e->local ? strerror(e->os_errno) : smbw_strerror(e->err);
}
