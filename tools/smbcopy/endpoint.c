/* Endpoints: helpers shared by the local and the SMB implementation of
 * endpoint.h, and the path rules both sides follow. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "loc.h"

#define FILETIME_UNIX_EPOCH_ 116444736000000000ull

int sc_err_os(sc_err *e, const char *op)
{
    int os = errno;
    memset(e, 0, sizeof(*e));
    e->local = true;
    e->os_errno = os;
    e->op = op;
    switch (os) {
    case ENOENT:
        e->err = SMBW_ENOENT;
        break;
    case EEXIST:
        e->err = SMBW_EEXIST;
        break;
    case ENOTDIR:
        e->err = SMBW_ENOTDIR;
        break;
    case EISDIR:
        e->err = SMBW_EISDIR;
        break;
    case ENOMEM:
        e->err = SMBW_ENOMEM;
        break;
    default:
        e->err = SMBW_ELOCAL;
        break;
    }
    return e->err;
}

uint64_t sc_ft_from_ts(struct timespec ts)
{
    if (ts.tv_sec < -11644473600LL)
        return 0;
    return (uint64_t)(ts.tv_sec + 11644473600LL) * 10000000u + (uint64_t)ts.tv_nsec / 100u;
}

struct timespec sc_ts_from_ft(uint64_t ft)
{
    struct timespec ts;
    if (ft == 0) {
        ts.tv_sec = 0;
        ts.tv_nsec = UTIME_OMIT;
        return ts;
    }
    if (ft < FILETIME_UNIX_EPOCH_) {
        ts.tv_sec = 0;
        ts.tv_nsec = 0;
        return ts;
    }
    ft -= FILETIME_UNIX_EPOCH_;
    ts.tv_sec = (time_t)(ft / 10000000u);
    ts.tv_nsec = (long)(ft % 10000000u) * 100;
    return ts;
}

void sc_free_entries(sc_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].name);
    free(e);
}

bool sc_push_entry(sc_entry **v, size_t *n, size_t *cap, const char *name, const sc_entry *kind)
{
    if (*n == *cap) {
        size_t nc = *cap != 0 ? *cap * 2 : 64;
        sc_entry *p = realloc(*v, nc * sizeof(sc_entry));
        if (p == NULL)
            return false;
        *v = p;
        *cap = nc;
    }
    char *copy = strdup(name);
    if (copy == NULL)
        return false;
    (*v)[*n] = *kind;
    (*v)[*n].name = copy;
    (*n)++;
    return true;
}

char *sc_path_join(const char *dir, const char *name, bool remote)
{
    if (dir[0] == '\0')
        return strdup(name);
    size_t n = strlen(dir);
    bool slash = dir[n - 1] == '/' || (remote && dir[n - 1] == '\\');
    return sc_asprintf("%s%s%s", dir, slash ? "" : "/", name);
}

char *sc_base_name(const char *path, bool remote)
{
    size_t n = strlen(path);
    while (n > 0 && (path[n - 1] == '/' || (remote && path[n - 1] == '\\')))
        n--;
    size_t b = n;
    /* '\\' separates components only on a share: locally it is part of a name. */
    while (b > 0 && path[b - 1] != '/' && (!remote || path[b - 1] != '\\'))
        b--;
    char *r = strndup(path + b, n - b);
    if (r != NULL && (strcmp(r, ".") == 0 || strcmp(r, "..") == 0))
        r[0] = '\0';
    return r;
}

int sc_loc_stat(sc_ctx *ctx, const sc_loc *loc, const char *path, sc_finfo *fi)
{
    sc_err e;
    int tries = 0, rerr = 0;
    /* A lookup changes nothing: after a dropped connection that came back
     * it is simply asked again (--retries). */
    while (sc_ops(loc)->stat(loc, path, fi, &e) != 0) {
        if (e.local || !loc->remote || !sc_conn_dropped(loc->srv->conn) ||
            !sc_reconnect_dropped(ctx, loc->srv->conn, NULL, &tries, false, &rerr)) {
            if (rerr != 0) {
                e.err = rerr;
                e.status = 0;
            }
            char *d = sc_loc_display(loc, path);
            int rc = sc_fail(ctx, &e, sc_disp_or(d, path));
            free(d);
            return rc;
        }
    }
    return 0;
}
