/* Top level of smbcopy's transfer: SRC and DST made into locations, then a
 * file (file.c) or a tree (walk.c) copied. The rooms: report.c (messages,
 * exit codes), loc.c (servers, locations), endpoint.h with endpoint_local.c and
 * endpoint_smb.c (the operations on either side), file.c (one file), sscopy.c
 * (server-side copy), walk.c (directories). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "batch.h"
#include "endpoint.h"
#include "file.h"
#include "loc.h"
#include "walk.h"

/* ---- top level ------------------------------------------------------- */

static bool ends_with_slash(const char *arg)
{
    size_t n = strlen(arg);
    return n > 0 && (arg[n - 1] == '/' || (smbw_is_url(arg) && arg[n - 1] == '\\'));
}

/* Other spellings of a share that would otherwise be taken for local paths
 * (when no such local path exists), and '-'. Returns 0 or the reported exit
 * code. */
static int check_args(sc_ctx *ctx, const char *src_arg, const char *dst_arg)
{
    const char *args[2] = {src_arg, dst_arg};
    for (int i = 0; i < 2; i++) {
        const char *a = args[i];
        bool cifs = strncasecmp(a, "cifs://", 7) == 0;
        bool unc = (a[0] == '/' && a[1] == '/' && a[2] != '/' && a[2] != '\0') ||
                   (a[0] == '\\' && a[1] == '\\');
        /* As a local path its first component ("cifs:", "//HOST") would
         * have to exist (a DST is created only in an existing directory). */
        struct stat st;
        char *first = NULL;
        if (cifs)
            first = strdup("cifs:");
        else if (unc)
            first = strndup(a, 2 + strcspn(a + 2, "/\\"));
        bool local = first != NULL && stat(first, &st) == 0;
        free(first);
        if ((cifs || unc) && !local) {
            sc_report(ctx, SC_EXIT_USAGE,
                      "%s argument is not a local path (none exists), and smbcopy takes a share "
                      "only as smb://[USER@]HOST/SHARE/PATH: write it that way",
                      cifs ? "the cifs://" : "the //HOST/SHARE");
            return SC_EXIT_USAGE;
        }
    }
    /* '-' is not taken for a file named "-" by surprise. */
    if (strcmp(src_arg, "-") == 0 || strcmp(dst_arg, "-") == 0) {
        sc_report(ctx, SC_EXIT_USAGE,
                  "'-' (standard input or output) is not supported: SRC must be a file (./- for "
                  "a file named '-'); DST /dev/stdout writes to standard output");
        return SC_EXIT_USAGE;
    }
    return 0;
}

/* Reports that path on loc does not exist (op: "open", "open directory"). */
static int fail_absent(sc_ctx *ctx, const sc_loc *loc, const char *op)
{
    char *d = sc_loc_display(loc, loc->path);
    int rc;
    if (loc->remote)
        rc = sc_fail_smb(ctx, SMBW_ENOENT, loc->srv->conn, 0, op, sc_disp_or(d, loc->path));
    else
        rc = sc_fail_local(ctx, ENOENT, op, sc_disp_or(d, loc->path));
    free(d);
    return rc;
}

/* The path the copy of src gets: DST itself, or SRC's name in the
 * directory DST (dst_dir). Returns 0 or the reported exit code. */
static int target_path(sc_ctx *ctx, const sc_loc *src, const sc_loc *dst, bool dst_dir,
                       char **target)
{
    *target = NULL;
    if (!dst_dir) {
        *target = strdup(dst->path);
        return *target != NULL ? 0 : sc_fail_nomem(ctx);
    }
    char *name = sc_base_name(src->path[0] != '\0' ? src->path : (src->remote ? src->share : ""),
                              src->remote);
    int rc = 0;
    char why[128];
    if (name == NULL) {
        rc = sc_fail_nomem(ctx);
    } else if (name[0] == '\0') {
        rc = SC_EXIT_USAGE;
        sc_report(ctx, rc, "cannot tell a name for the copy of SRC; give DST in full");
    } else if (!sc_name_ok(name, dst->remote && !src->remote, why, sizeof(why))) {
        rc = sc_fail_name(ctx, src, src->path, SC_EXIT_USAGE, why);
    } else {
        *target = sc_path_join(dst->path, name, dst->remote);
        if (*target == NULL)
            rc = sc_fail_nomem(ctx);
    }
    free(name);
    return rc;
}

/* Cuts path (on a share when remote) to its parent in place; false when it
 * has none left to cut (a share root "", or a local "." or "/"). */
static bool cut_to_parent(char *path, bool remote)
{
    size_t n = strlen(path);
    if (n == 0 || (!remote && (strcmp(path, ".") == 0 || strcmp(path, "/") == 0)))
        return false;
    while (n > 0 && (path[n - 1] == '/' || (remote && path[n - 1] == '\\')))
        n--;
    while (n > 0 && path[n - 1] != '/' && (!remote || path[n - 1] != '\\'))
        n--;
    bool absolute = n > 0 && path[0] == '/';
    while (n > 0 && (path[n - 1] == '/' || (remote && path[n - 1] == '\\')))
        n--;
    if (remote || n > 0)
        path[n] = '\0';
    else
        strcpy(path, absolute ? "/" : ".");
    return true;
}

/* Whether directory p on dst, of identity id, is the source directory of
 * identity sid: on a share (where a file index alone may repeat across the
 * server's file systems) its creation time must be the source's too. */
static bool is_source_dir(const sc_loc *dst, const char *p, const uint64_t id[2],
                          const uint64_t sid[2], uint64_t screation)
{
    if (id[0] != sid[0] || id[1] != sid[1])
        return false;
    if (!dst->remote)
        return true;
    sc_finfo fi;
    sc_err e;
    return sc_ops(dst)->stat(dst, p, &fi, &e) == 0 && fi.exists && fi.is_dir &&
           fi.creation == screation;
}

/* cp's "cannot copy a directory into itself": whether target on dst is the
 * source directory src or lies inside it (told by identity, so also through
 * another spelling: case on a case-insensitive share, a link, ".."); false
 * also when it cannot be told. Only for two ends in one place
 * (one server, or both local). The parents of a local target are walked
 * through "..", those on a share by cutting the path: one lookup per
 * level. */
static bool inside_source(const sc_loc *src, const sc_finfo *sfi, const sc_loc *dst,
                          const char *target, bool *itself)
{
    const sc_epops *d = sc_ops(dst);
    uint64_t sid[2];
    if (sc_ops(src)->path_identity(src, src->path, true, sid) != 0)
        return false;
    size_t cap = strlen(target) + 4096;
    char *p = malloc(cap);
    if (p == NULL)
        return false;
    snprintf(p, cap, "%s", target[0] != '\0' || dst->remote ? target : ".");
    /* The deepest part of target that exists. */
    uint64_t id[2];
    int r;
    *itself = true;
    while ((r = d->path_identity(dst, p, true, id)) == 1) {
        *itself = false;
        if (!cut_to_parent(p, dst->remote))
            break;
    }
    bool inside = false;
    for (int depth = 0; r == 0 && depth < 1024; depth++) {
        if (is_source_dir(dst, p, id, sid, sfi->creation)) {
            inside = true;
            break;
        }
        *itself = false;
        if (dst->remote) {
            if (!cut_to_parent(p, true))
                break;
            r = d->path_identity(dst, p, true, id);
        } else {
            /* p/.. until the root (whose ".." is itself). */
            uint64_t up[2];
            size_t n = strlen(p);
            if (n + 4 >= cap)
                break;
            strcpy(p + n, n > 0 && p[n - 1] == '/' ? ".." : "/..");
            r = d->path_identity(dst, p, true, up);
            if (r == 0 && up[0] == id[0] && up[1] == id[1])
                break;
            memcpy(id, up, sizeof(id));
        }
    }
    free(p);
    return inside;
}

/* Copies what src names to what dst names once both are open. */
static int copy_locs(sc_ctx *ctx, const char *src_arg, const char *dst_arg, const sc_loc *src,
                     const sc_loc *dst)
{
    sc_finfo sfi, dfi;
    int rc;
    if ((rc = sc_loc_stat(ctx, src, src->path, &sfi)) != 0)
        return rc;
    if (!sfi.exists)
        return fail_absent(ctx, src, "open");
    if ((rc = sc_loc_stat(ctx, dst, dst->path, &dfi)) != 0)
        return rc;
    bool dst_dir = dfi.exists && dfi.is_dir;
    if (!dfi.exists && ends_with_slash(dst_arg))
        return fail_absent(ctx, dst, "open directory");
    if (sfi.is_dir && !ctx->o->recursive) {
        char *r = sc_redact_arg(src_arg);
        sc_report(ctx, SC_EXIT_USAGE, "%s is a directory (use -r to copy it)",
                  r != NULL ? r : "SRC");
        free(r);
        return SC_EXIT_USAGE;
    }
    char *target = NULL;
    bool itself = false;
    if ((rc = target_path(ctx, src, dst, dst_dir, &target)) != 0)
        return rc;
    if (dst->remote && target[0] == '\0') {
        rc = SC_EXIT_USAGE;
        sc_report(ctx, rc, "DST names a share root; name a file or a directory in it");
    } else if (sfi.is_dir && sc_same_place(src, dst) &&
               inside_source(src, &sfi, dst, target, &itself)) {
        char *sd = sc_loc_display(src, src->path), *td = sc_loc_display(dst, target);
        rc = SC_EXIT_USAGE;
        if (itself)
            sc_report(ctx, rc, "%s and %s are the same directory", sc_disp_or(sd, src->path),
                      sc_disp_or(td, target));
        else
            sc_report(ctx, rc, "cannot copy a directory, %s, into itself, %s",
                      sc_disp_or(sd, src->path), sc_disp_or(td, target));
        free(sd);
        free(td);
    } else if (sfi.is_dir) {
        rc = sc_copy_dir(ctx, src, src->path, dst, target);
        if (rc != SC_EXIT_INTR && ctx->failed > 0)
            rc = SC_EXIT_PARTIAL;
    } else {
        rc = sc_copy_file(ctx, src, src->path, dst, target, NULL);
    }
    free(target);
    return rc;
}

int sc_run(sc_ctx *ctx, const char *src_arg, const char *dst_arg)
{
    sc_loc src, dst;
    memset(&dst, 0, sizeof(dst));
    int rc = check_args(ctx, src_arg, dst_arg);
    if (rc != 0)
        return rc;
    rc = sc_loc_open(ctx, src_arg, &src);
    if (rc != 0) {
        sc_loc_free(&src);
        return rc;
    }
    rc = sc_loc_open(ctx, dst_arg, &dst);
    if (rc == 0) {
        /* Both ends are logged in; only a copy inside one server, or a
         * tree (-r) to or from a share, may open more connections
         * (--connections, auto by default). */
        bool lanes = (src.remote && dst.remote && src.srv == dst.srv) ||
                     (ctx->o->recursive && src.remote != dst.remote &&
                      sc_batch_connections(ctx, &src, &dst) > 1);
        sc_ctx_forget_passwords(ctx, lanes);
        if (src.remote)
            ctx->resolved[0] = sc_remote_display(src.srv, src.share, src.path);
        if (dst.remote)
            ctx->resolved[1] = sc_remote_display(dst.srv, dst.share, dst.path);
        rc = copy_locs(ctx, src_arg, dst_arg, &src, &dst);
    }
    sc_loc_free(&src);
    sc_loc_free(&dst);
    return rc;
}
