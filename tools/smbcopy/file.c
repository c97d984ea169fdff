/* Per-file copy room of smbcopy: one file from src to dst under the
 * temporary-name-then-rename rule, written once over the endpoint
 * operations of endpoint.h (local or SMB on either side).
 *
 * A copy is a job (sc_xfer) taken through steps in order: names, source,
 * destination checks, skip checks, temporary file, data, finish; then
 * xf_end cleans up whatever happened. Each step returns 0 to go on, or the
 * exit code of a failure it reported, and sets done when the file needs
 * nothing more. Nothing but the job carries state from one step to the
 * next, so an engine with many files in flight can later drive the same
 * steps (today they run one after the other). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endpoint.h"
#include "file.h"
#include "loc.h"
#include "sscopy.h"
#include "state.h"
#include "stream.h"

/* What is read with the open of a streamed source (open_src_read): most
 * files of a tree are smaller. */
#define SC_PREFETCH (64u * 1024u)

typedef struct sc_xfer {
    sc_ctx *ctx;
    const sc_opts *o;
    const sc_loc *src, *dst;
    const sc_epops *sops, *dops;
    const char *spath;
    const char *dpath; /* the path to replace (through a local symbolic link: its target) */
    char *sdisp, *ddisp;
    char *tdisp; /* what messages name for the file being written */
    char *tmp, *spath_state, *dfinal, *dname;
    char *name;  /* for the progress bar */
    char *ident; /* the source's identity in the resume record */
    sc_fh sh, dh;
    bool tmp_exists;
    uint64_t holes; /* bytes the stream left as holes (not read nor written) */
    /* A file that one request carries (see one_request): no resume record. */
    bool small;
    void *put;             /* a small local source read whole, sent with its create */
    bool put_done;         /* ... and written so */
    uint64_t put_wire;     /* bytes on the wire for that */
    uint64_t put_requests; /* READ and WRITE requests for that */
    /* A local FIFO or character device destination: written in place. */
    bool dst_stream;
    bool forced;    /* --method asks for a server-side method */
    bool resumable; /* --resume found a record that still describes the source */
    sc_state state;
    sc_finfo sfi, dfi;
    uint64_t size, start, rec_done;
    /* --retries: the contiguous mark of the stream (every byte below it is
     * written), the mark at the last drop, drops since the last one with
     * progress (that one included), and the error of a reconnect that
     * failed (reported instead). */
    uint64_t mark, drop_mark;
    int stalls;
    int reconnect_err;
    const char *method;
    bool done;                 /* nothing more to do for this file (skipped, dry run) */
    const sc_finfo *dst_known; /* the destination as known already: not looked up */
} sc_xfer;

/* "dir/.STEM<suffix>" for "dir/NAME" (suffix: SC_PART_SUFFIX, SC_STATE_SUFFIX).
 * STEM is NAME when the longer of the two names fits in max bytes; for a
 * longer NAME it is the part of NAME that fits (cut at a UTF-8 character
 * boundary), '~' and 16 hex digits of a hash of the whole NAME, so that
 * any name the destination can hold can be copied, and the resume record
 * (which holds NAME) tells whose partial file it is. */
char *sc_temp_name(const char *final, const char *suffix, size_t max, bool visible)
{
    const char *slash = strrchr(final, '/');
    const char *base = slash != NULL ? slash + 1 : final;
    int dlen = (int)(base - final);
    size_t blen = strlen(base);
    const size_t longest = sizeof(SC_STATE_SUFFIX) - 1;
    const char *dot = visible ? "" : ".";
    if (1 + blen + longest <= max)
        return sc_asprintf("%.*s%s%s%s", dlen, final, dot, base, suffix);
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)base; *p != '\0'; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    size_t keep = max > 1 + 1 + 16 + longest ? max - (1 + 1 + 16 + longest) : 0;
    if (keep > blen)
        keep = blen;
    while (keep > 0 && ((unsigned char)base[keep] & 0xc0) == 0x80)
        keep--;
    return sc_asprintf("%.*s%s%.*s~%016llx%s", dlen, final, dot, (int)keep, base,
                       (unsigned long long)h, suffix);
}

/* The connection of one end, or NULL for a local one. */
static smbw_conn *conn_of(const sc_loc *loc)
{
    return loc->remote ? loc->srv->conn : NULL;
}

/* --retries: after a dropped connection (err), the connections brought back
 * (sc_reconnect_dropped). A run of drops without progress of the data in
 * between ends after --retries of them. Returns whether they are back; when
 * a reconnect failed, x->reconnect_err says why. */
static bool back_after_drop(sc_xfer *x, int err)
{
    /* A request sent after the drop fails with SMBW_EDEAD: the drop it is. */
    if (err == SMBW_EDEAD && (sc_conn_dropped(conn_of(x->src)) || sc_conn_dropped(conn_of(x->dst))))
        err = SMBW_EIO;
    if (err != SMBW_EIO && err != SMBW_ECLOSED)
        return false;
    uint64_t mark = x->start;
    if (x->mark > mark)
        mark = x->mark;
    if (x->state.active && x->state.pending > mark)
        mark = x->state.pending;
    if (mark > x->drop_mark)
        x->stalls = 0; /* progress since the last drop */
    x->drop_mark = mark;
    int rerr;
    if (!sc_reconnect_dropped(x->ctx, conn_of(x->src), conn_of(x->dst), &x->stalls, false, &rerr)) {
        if (rerr != 0)
            x->reconnect_err = rerr;
        return false;
    }
    return true;
}

/* A step outside the data whose request (e) died with a dropped connection
 * that came back: it is done again. */
static bool redo(sc_xfer *x, const sc_err *e)
{
    return !e->local && back_after_drop(x, e->err);
}

/* The report of a failed step: a failed reconnect's error instead of the
 * step's own. */
static int fail_step(sc_xfer *x, sc_err *e, const char *what)
{
    if (x->reconnect_err != 0) {
        e->err = x->reconnect_err;
        e->status = 0;
    }
    return sc_fail(x->ctx, e, what);
}

/* Whether the existing destination (x->dfi) is the source file itself (cp's
 * "are the same file"): device and inode locally; on one server the file
 * id (FileInternalInformation), asked only when the creation time and size
 * already agree (it costs requests). */
static bool is_same_file(sc_xfer *x)
{
    if (!x->dfi.exists || !sc_same_place(x->src, x->dst))
        return false;
    if (x->src->remote && (x->dfi.size != x->sfi.size || x->dfi.creation != x->sfi.creation))
        return false;
    uint64_t si[2], di[2];
    return x->sops->fh_identity(x->src, &x->sh, si) == 0 &&
           x->dops->path_identity(x->dst, x->dpath, true, di) == 0 && si[0] == di[0] &&
           si[1] == di[1];
}

/* Whether the open source no longer has the size and modification time it
 * had when the copy began (false when that cannot be told). */
static bool source_changed(sc_xfer *x)
{
    sc_finfo now;
    sc_err e;
    return x->sops->fstat(x->src, &x->sh, &now, &e) == 0 &&
           (now.size != x->sfi.size || now.write != x->sfi.write);
}

/* Done with the source (it may be the file being replaced): closed, and
 * whether it changed while it was copied (as source_changed), asked in the
 * close itself where the endpoint can. */
static bool close_source_changed(sc_xfer *x)
{
    sc_err e;
    if (x->sops->close_stat != NULL) {
        sc_finfo now;
        bool known = false;
        /* Its CLOSE lost with a dropped connection that came back: the
         * source is looked up by name instead. */
        if (x->sops->close_stat(x->src, &x->sh, &now, &known, &e) != 0 && redo(x, &e)) {
            int err;
            while ((err = x->sops->stat(x->src, x->spath, &now, &e)) != 0 && redo(x, &e))
                ;
            known = err == 0;
        }
        return known && (now.size != x->sfi.size || now.write != x->sfi.write);
    }
    bool changed = source_changed(x);
    x->sops->close(x->src, &x->sh, &e);
    return changed;
}

/* Whether the directory of the destination is there (a share's, looked up). */
static bool dir_there(sc_xfer *x)
{
    const char *slash = strrchr(x->dpath, '/');
    char *dir = slash != NULL ? strndup(x->dpath, (size_t)(slash - x->dpath)) : strdup("");
    sc_finfo fi;
    sc_err e;
    bool there = dir != NULL && x->dops->stat(x->dst, dir, &fi, &e) == 0 && fi.exists && fi.is_dir;
    free(dir);
    return there;
}

/* The temporary file next to dpath could not be created: said in terms of
 * the user's destination (the temporary name is smbcopy's business). */
static int fail_create(sc_xfer *x, const sc_err *e)
{
    sc_ctx *ctx = x->ctx;
    const char *slash = strrchr(x->dpath, '/');
    char *dir = slash != NULL ? strndup(x->dpath, (size_t)(slash - x->dpath)) : strdup("");
    char *dd = dir != NULL
                   ? (x->dst->remote || dir[0] != '\0' ? sc_loc_display(x->dst, dir) : strdup("."))
                   : NULL;
    const char *dshown = dd != NULL ? dd : "?";
    uint32_t status = e->status != 0 || e->c == NULL ? e->status : smbw_last_status(e->c);
    int rc;
    if (e->local) {
        if (e->os_errno == ENOENT || e->os_errno == ENOTDIR) {
            rc = SC_EXIT_LOCAL;
            sc_report(ctx, rc, "copy to %s: no such directory %s", x->ddisp, dshown);
        } else {
            rc = sc_fail_local(ctx, e->os_errno, "copy to", x->ddisp);
        }
    } else if (status == SMBW_STATUS_OBJECT_NAME_NOT_FOUND && dir_there(x)) {
        rc = SC_EXIT_STATUS;
        sc_report(ctx, rc,
                  "copy to %s: the share refuses the name %s though its directory is there (%s; "
                  "a name the share's \"veto files\" match?)",
                  x->ddisp, x->tdisp, smbw_status_name(status));
    } else if (status == SMBW_STATUS_OBJECT_PATH_NOT_FOUND ||
               status == SMBW_STATUS_OBJECT_NAME_NOT_FOUND) {
        rc = SC_EXIT_STATUS;
        sc_report(ctx, rc, "copy to %s: no such directory %s (%s)", x->ddisp, dshown,
                  smbw_status_name(status));
    } else if (status == SMBW_STATUS_OBJECT_NAME_INVALID) {
        rc = SC_EXIT_STATUS;
        sc_report(ctx, rc, "copy to %s: the server refused the name as invalid (%s)", x->ddisp,
                  smbw_status_name(status));
    } else {
        rc = sc_fail_smb(ctx, e->err, e->c, status, "copy to", x->ddisp);
    }
    free(dd);
    free(dir);
    return rc;
}

/* Whether one request carries the whole file. Such a file gets no resume
 * record: a record could only ever say that nothing is written (the one
 * request is acknowledged whole or not at all), and it would cost more
 * requests than the file itself. */
static bool one_request(const sc_xfer *x)
{
    sc_end se = {.fd = -1, .c = x->src->remote ? x->src->srv->conn : NULL};
    sc_end de = {.fd = -1, .c = x->dst->remote ? x->dst->srv->conn : NULL};
    return x->size <= sc_stream_chunk(&se, &de, x->o->chunk_size);
}

/* ---- the steps ------------------------------------------------------- */

/* The temporary file's and resume record's names next to x->dpath (again
 * after the share refused dot names: ctx->visible_temps), and what messages
 * call the file being written (a FIFO or device is written in place: its own
 * name). False when out of memory. */
static bool temp_names(sc_xfer *x)
{
    size_t nmax = x->dops->name_max(x->dst, x->dpath);
    free(x->tmp);
    free(x->spath_state);
    free(x->tdisp);
    x->tmp = sc_temp_name(x->dpath, SC_PART_SUFFIX, nmax, x->ctx->visible_temps);
    x->spath_state = sc_temp_name(x->dpath, SC_STATE_SUFFIX, nmax, x->ctx->visible_temps);
    x->tdisp = x->dst_stream    ? strdup(x->ddisp)
               : x->tmp != NULL ? sc_loc_display(x->dst, x->tmp)
                                : NULL;
    return x->tmp != NULL && x->spath_state != NULL && x->tdisp != NULL;
}

/* Names: what messages show, the temporary file and the resume record; a
 * local destination is looked at first (check_dst: never replace a
 * symbolic link, FIFO or device, see endpoint_local.c). */
static int xf_names(sc_xfer *x)
{
    const sc_loc *src = x->src, *dst = x->dst;
    int rc;
    x->sdisp = sc_loc_display(src, x->spath);
    x->ddisp = sc_loc_display(dst, x->dpath);
    x->name = sc_base_name(x->spath[0] != '\0' ? x->spath : src->share, src->remote);
    /* The source's identity in the resume record: its URL without
     * credentials, or its absolute path. */
    x->ident = src->remote ? sc_loc_display(src, x->spath) : realpath(x->spath, NULL);
    if (x->ident == NULL && !src->remote)
        x->ident = strdup(x->spath);
    if (x->sdisp == NULL || x->ddisp == NULL || x->name == NULL || x->ident == NULL)
        return sc_fail_nomem(x->ctx);
    if (x->dops->check_dst != NULL) {
        if ((rc = x->dops->check_dst(x->ctx, dst, x->dpath, &x->dfinal, &x->dst_stream)) != 0)
            return rc;
        if (x->dfinal != NULL)
            x->dpath = x->dfinal;
    }
    x->dname = sc_base_name(x->dpath, dst->remote);
    if (x->dname == NULL || !temp_names(x))
        return sc_fail_nomem(x->ctx);
    return 0;
}

/* Whether the source is read with its open (open_src_read): a file that
 * will be streamed through this process (not copied by the server), from
 * an endpoint that can, to a destination written at once (not a FIFO). */
static bool server_side(const sc_xfer *x)
{
    return x->src->remote && x->dst->remote && x->src->srv == x->dst->srv &&
           x->o->method != SC_METHOD_STREAM;
}

static bool prefetches(const sc_xfer *x)
{
    return !server_side(x) && !x->dst_stream && x->sops->open_src_read != NULL &&
           (x->dops->create_put != NULL || x->dops->put != NULL);
}

/* The source opened with its first SC_PREFETCH bytes read; kept (x->put)
 * when that is the whole file, which is then written in one step. Returns
 * 0, -1 (*e says why) or the exit code of a failure it reported. */
static int open_src_read(sc_xfer *x, sc_err *e)
{
    void *buf = malloc(SC_PREFETCH);
    if (buf == NULL)
        return sc_fail_nomem(x->ctx);
    size_t got = 0;
    uint64_t w0 = sc_traffic(x->src, x->dst);
    if (x->sops->open_src_read(x->src, x->spath, &x->sh, &x->sfi, buf, SC_PREFETCH, &got, e) != 0) {
        free(buf);
        return -1;
    }
    x->put_wire = sc_traffic(x->src, x->dst) - w0;
    x->put_requests = 1;
    if (x->sfi.is_reg && got == x->sfi.size)
        x->put = buf;
    else
        free(buf); /* larger: streamed (the bytes read are read again) */
    return 0;
}

/* The source opened once (as xf_open_src); 0, -1 (*e says why) or the
 * exit code of a failure it reported. A failed open leaves nothing open
 * (a prefetch whose READ failed: its open is closed). */
static int open_src_once(sc_xfer *x, sc_err *e)
{
    int rc;
    if (prefetches(x))
        rc = open_src_read(x, e);
    else if (server_side(x) && !x->dst_stream && x->sops->open_src_copy != NULL)
        rc = x->sops->open_src_copy(x->src, x->spath, &x->sh, &x->sfi, e) != 0 ? -1 : 0;
    else
        rc = x->sops->open_src(x->src, x->spath, &x->sh, &x->sfi, e) != 0 ? -1 : 0;
    if (rc != 0 && sc_fh_open(&x->sh)) {
        sc_err ce;
        x->sops->close(x->src, &x->sh, &ce);
    }
    return rc;
}

/* Whether a server-side copy spreads over further connections (lanes),
 * which open the same files: judged on the whole file (a resumed one
 * copies less, over as many lanes or fewer). */
static bool has_lanes(const sc_xfer *x, uint64_t size)
{
    return server_side(x) && !x->dst_stream && sc_ss_lanes(x->o, size) > 1;
}

/* Whether the source is opened durable (reclaimed after a drop, not opened
 * again by name). Read-only, it holds a lease R|H on SMB 3.x, which the
 * lanes' opens of the same file do not break. Without leases (2.x, or a
 * server without leasing) durability needs a batch oplock, which any other
 * open breaks, and a lane's open would wait for the break of a connection
 * not serviced meanwhile; the size (and so the lanes) is not known before
 * the open: a server-side copy's source is a plain open there. */
static bool src_durable(const sc_xfer *x)
{
    return !server_side(x) || sc_server_leases(x->src->srv);
}

/* Source: opened and looked at once (again after a dropped connection that
 * came back: opening changes nothing); only a regular file is copied. */
static int xf_open_src(sc_xfer *x)
{
    sc_err e;
    if (x->src->remote)
        (void)sc_server_durable(x->ctx, x->src->srv, src_durable(x), false);
    int rc;
    while ((rc = open_src_once(x, &e)) == -1 && redo(x, &e))
        ;
    if (rc == -1)
        return fail_step(x, &e, x->sdisp);
    if (rc != 0)
        return rc;
    if (!x->sfi.is_reg) {
        sc_report(x->ctx, SC_EXIT_LOCAL,
                  "copy %s: not a regular file (%s); smbcopy copies regular files", x->sdisp,
                  sc_file_kind(x->sfi.mode));
        return SC_EXIT_LOCAL;
    }
    x->size = x->sfi.size;
    return 0;
}

/* path on the destination looked up (again after a dropped connection that
 * came back). Returns 0 or the reported exit code. */
static int stat_dst(sc_xfer *x, const char *path, sc_finfo *fi)
{
    sc_err e;
    int err;
    while ((err = x->dops->stat(x->dst, path, fi, &e)) != 0 && redo(x, &e))
        ;
    if (err == 0)
        return 0;
    char *d = sc_loc_display(x->dst, path);
    int rc = fail_step(x, &e, sc_disp_or(d, path));
    free(d);
    return rc;
}

/* The destination as it is now: one stat for every check below. */
static int xf_check_dst(sc_xfer *x)
{
    sc_ctx *ctx = x->ctx;
    int rc;
    if (x->dst_known != NULL) /* made by this run, or listed */
        x->dfi = *x->dst_known;
    else if ((rc = stat_dst(x, x->dpath, &x->dfi)) != 0)
        return rc;
    /* Never copy a file onto itself (a copy there would only replace it). */
    if (is_same_file(x)) {
        sc_report(ctx, SC_EXIT_USAGE, "%s and %s are the same file", x->sdisp, x->ddisp);
        return SC_EXIT_USAGE;
    }
    /* A directory on a share is never replaced by a file (a local one was
     * refused by check_dst), and said so before any data is sent. */
    if (x->dst->remote && x->dfi.exists && x->dfi.is_dir) {
        sc_report(ctx, SC_EXIT_STATUS, "%s is a directory: not replacing it", x->ddisp);
        return SC_EXIT_STATUS;
    }
    /* A read-only file on a share is replaced only with -f (its attribute is
     * cleared first: a server may refuse to rename over it). A local
     * read-only file was refused by check_dst. */
    if (x->dops->clear_readonly != NULL && x->dfi.exists && x->dfi.is_reg &&
        (x->dfi.attrs & SMBW_FILE_ATTRIBUTE_READONLY)) {
        if (!x->o->force) {
            sc_report(ctx, SC_EXIT_LOCAL,
                      "%s is read-only (DOS read-only attribute): not replacing it (-f "
                      "replaces it)",
                      x->ddisp);
            return SC_EXIT_LOCAL;
        }
        sc_err e;
        while ((rc = x->dops->clear_readonly(x->dst, x->dpath, x->dfi.attrs, &e)) != 0 &&
               redo(x, &e))
            ;
        if (rc != 0)
            return fail_step(x, &e, x->ddisp);
    }
    return 0;
}

/* See file.h. */
bool sc_up_to_date(const sc_opts *o, const sc_finfo *s, uint64_t size, const sc_finfo *d)
{
    if (!((o->resume && o->preserve) || o->update))
        return false;
    uint64_t dt = d->write > s->write ? d->write - s->write : s->write - d->write;
    /* Within 2 s: FAT and some servers keep times that coarsely. */
    bool same_time = o->preserve ? dt <= 20000000u : d->write + 20000000u >= s->write;
    return d->exists && d->is_reg && d->size == size && same_time;
}

/* -u, --resume, --dry-run, --method: whether and how the file is copied. */
static int xf_plan(sc_xfer *x)
{
    const sc_opts *o = x->o;
    sc_ctx *ctx = x->ctx;
    /* -u, --resume: a destination that already matches is left alone. */
    if (sc_up_to_date(o, &x->sfi, x->size, &x->dfi)) {
        ctx->skipped++;
        x->done = true;
        return 0;
    }
    if (o->dry_run) {
        FILE *out = o->json ? stderr : stdout;
        fprintf(out, "%s -> %s\n", x->sdisp, x->ddisp);
        ctx->files++;
        ctx->bytes += x->size;
        x->done = true;
        return 0;
    }
    /* A forced server-side method needs both ends on one connection. */
    bool same_server = x->src->remote && x->dst->remote && x->src->srv == x->dst->srv;
    x->forced = o->method == SC_METHOD_CLONE || o->method == SC_METHOD_COPYCHUNK ||
                o->method == SC_METHOD_ODX;
    if (x->forced && !same_server) {
        sc_report(ctx, SC_EXIT_USAGE,
                  "copy %s: --method=%s needs SRC and DST on one SMB server "
                  "(same host, port and user)",
                  x->sdisp, sc_method_name(o->method));
        return SC_EXIT_USAGE;
    }
    x->small = one_request(x);
    /* --resume: continue from the record when it still describes the source. */
    x->resumable = o->resume && !x->dst_stream && !x->small &&
                   sc_state_load(x->dst, x->spath_state, x->ident, x->dname, x->size, x->sfi.write,
                                 &x->rec_done);
    return 0;
}

/* A small local file copied onto an endpoint that creates a file with its
 * data in one step (create_put): read whole now. Returns 0 (x->put set
 * when it applies) or the exit code of a failure it reported. */
static int read_small(sc_xfer *x)
{
    if (x->put != NULL || !x->small || x->dst_stream || x->resumable || x->src->remote ||
        x->dops->create_put == NULL || x->o->method != SC_METHOD_AUTO)
        return 0;
    uint8_t *buf = malloc(x->size > 0 ? x->size : 1);
    if (buf == NULL)
        return sc_fail_nomem(x->ctx);
    size_t got = 0;
    while (got < x->size) {
        ssize_t r = pread(x->sh.fd, buf + got, x->size - got, (off_t)got);
        if (r < 0 && errno == EINTR && !sc_interrupted)
            continue;
        if (r <= 0) {
            int en = errno;
            free(buf);
            if (r < 0 && sc_interrupted)
                return sc_fail_interrupted(x->ctx, x->sdisp);
            if (r == 0) /* shorter than it was: changed under us */
                return sc_fail_changed(x->ctx, x->sdisp);
            return sc_fail_local(x->ctx, en, "read", x->sdisp);
        }
        got += (size_t)r;
    }
    x->put = buf;
    return 0;
}

/* Whether the temporary name was refused as not found though its directory
 * is there: a share that refuses names starting with a dot (Samba answers
 * STATUS_OBJECT_NAME_NOT_FOUND for a name its "veto files" match). Asked
 * once a run. */
static bool dots_refused(sc_xfer *x)
{
    return x->dst->remote && !x->ctx->visible_temps && dir_there(x);
}

/* From now on the temporary file and resume record go without the leading
 * dot (for every file of the run; open_tmp says so once it worked); with
 * --resume a record under the new name (an earlier run's on such a share) is
 * read. Returns 0 or the
 * exit code of a failure it reported. */
static int visible_temps(sc_xfer *x)
{
    x->ctx->visible_temps = true;
    if (!temp_names(x))
        return sc_fail_nomem(x->ctx);
    if (x->o->resume && !x->dst_stream && !x->small)
        x->resumable = sc_state_load(x->dst, x->spath_state, x->ident, x->dname, x->size,
                                     x->sfi.write, &x->rec_done);
    return 0;
}

/* The temporary file: created exclusively next to the destination (a stale
 * one from an earlier run is removed once), or with --resume the partial
 * file reopened and cut to what the record says is written. */
static int open_tmp(sc_xfer *x)
{
    const sc_epops *d = x->dops;
    bool rd = x->o->copychunk_read;
    bool visible_before = x->ctx->visible_temps; /* this copy may find dot names refused */
    sc_err e;
    int err;
    if (x->resumable && x->put != NULL) { /* continued instead */
        free(x->put);
        x->put = NULL;
    }
    for (int attempt = 0;; attempt++) {
        if (x->resumable) {
            while ((err = d->open_tmp(x->dst, x->tmp, false, rd, &x->dh, &e)) != 0 && redo(x, &e))
                ;
            if (err != SMBW_ENOENT)
                break;
            x->resumable = false; /* no partial file: start over */
        }
        if (x->put != NULL && d->create_put != NULL) {
            uint64_t w0 = sc_traffic(x->src, x->dst);
            err = d->create_put(x->dst, x->tmp, rd, x->put, x->size, &x->dh, &e);
            x->put_wire += sc_traffic(x->src, x->dst) - w0;
            x->put_requests++;
            x->put_done = err == 0;
        } else {
            err = d->open_tmp(x->dst, x->tmp, true, rd, &x->dh, &e);
        }
        if (err == SMBW_ENOENT && dots_refused(x)) {
            int rc = visible_temps(x);
            if (rc != 0)
                return rc;
            attempt = -1; /* the new names: from the start */
            continue;
        }
        /* Lost with a dropped connection that came back: the create may
         * have got through before the drop, so its file is removed as a
         * stale one is, and made again. */
        if (err != 0 && !e.local && sc_conn_dropped(conn_of(x->dst))) {
            sc_err ce;
            d->close(x->dst, &x->dh, &ce); /* made, its data lost */
            if (redo(x, &e)) {
                attempt = -1;
                err = SMBW_EEXIST;
            }
        }
        if (err != SMBW_EEXIST || attempt > 0)
            break;
        sc_err ue;
        int uerr;
        while ((uerr = d->unlink(x->dst, x->tmp, &ue)) != 0 && redo(x, &ue))
            ;
        if (uerr != 0 && uerr != SMBW_ENOENT) {
            /* locally the removal's errno is what is said, and another
             * smbcopy's hold on the file; after a drop its error is all
             * there is */
            if (ue.local || ue.in_use || attempt < 0)
                e = ue;
            break;
        }
    }
    if (err == 0 && x->ctx->visible_temps && !visible_before) /* the undotted name went through */
        sc_warn(x->ctx,
                "the share refuses names that start with a dot: temporary files are named "
                "NAME%s instead of .NAME%s",
                SC_PART_SUFFIX, SC_PART_SUFFIX);
    if (err != 0 && x->reconnect_err != 0) {
        e.err = x->reconnect_err;
        e.status = 0;
    }
    if (err != 0 && e.in_use && !sc_fh_open(&x->dh))
        return sc_fail_in_use(x->ctx, &e, x->ddisp, x->tdisp);
    if (err != 0 && sc_fh_open(&x->dh)) { /* made, but its data not written */
        x->tmp_exists = true;
        return sc_fail(x->ctx, &e, x->tdisp);
    }
    if (err != 0)
        return fail_create(x, &e);
    x->tmp_exists = true;
    uint64_t have = 0;
    bool ours = true;
    /* The open stands again after a dropped connection that came back (the
     * library opens it again): each of these is simply done again. */
    while ((err = d->check_tmp(x->dst, &x->dh, x->resumable ? &have : NULL, &ours, &e)) != 0 &&
           ours && redo(x, &e))
        ;
    if (err != 0) {
        if (!ours)
            x->tmp_exists = false; /* not ours to remove */
        return fail_step(x, &e, x->tdisp);
    }
    if (x->resumable) {
        x->start = x->rec_done < have ? x->rec_done : have;
        while (have != x->start && (err = d->truncate(x->dst, &x->dh, x->start, &e)) != 0 &&
               redo(x, &e))
            ;
        if (have != x->start && err != 0)
            return fail_step(x, &e, x->tdisp);
    }
    if (x->put != NULL && !x->put_done && d->put != NULL) { /* read with the source's open */
        while ((err = d->put(x->dst, &x->dh, x->put, x->size, &e)) != 0 && redo(x, &e))
            ;
        if (err != 0)
            return fail_step(x, &e, x->tdisp);
        x->put_done = true;
    }
    return 0;
}

/* The resume record made (again after a dropped connection that came back:
 * it is written whole). Returns 0 or -1 (why says why). */
static int open_record(sc_xfer *x, char *why, size_t whylen)
{
    sc_err e = {.err = SMBW_EIO};
    int rc;
    while ((rc = sc_state_open(&x->state, x->dst, x->spath_state, x->ident, x->dname, x->size,
                               x->sfi.write, x->start, why, whylen)) != 0 &&
           x->dst->remote && sc_conn_dropped(conn_of(x->dst)) && redo(x, &e))
        ;
    return rc;
}

/* Temporary destination (or the FIFO or device itself), and the resume
 * record. */
static int xf_open_dst(sc_xfer *x)
{
    sc_ctx *ctx = x->ctx;
    int rc;
    /* Durable (sc_server_durable) for a streamed copy and a server-side
     * one. With lanes, which open the temporary file for writing too, only
     * with a lease R|H (shared: the lanes' opens break nothing); with a batch
     * oplock (2.x) each lane's open would break it and wait for the
     * acknowledgment of a connection not serviced meanwhile: not durable. */
    bool lanes = has_lanes(x, x->size);
    if (x->dst->remote)
        (void)sc_server_durable(ctx, x->dst->srv,
                                !x->dst_stream && (!lanes || sc_server_leases(x->dst->srv)), lanes);
    if (x->dst_stream) {
        sc_err e;
        if (x->dops->open_stream(x->dst, x->dpath, &x->dh, &e) != 0)
            return sc_fail(ctx, &e, x->ddisp);
    } else {
        if ((rc = read_small(x)) != 0 || (rc = open_tmp(x)) != 0)
            return rc;
        char why[256];
        if (!x->small && open_record(x, why, sizeof(why)) != 0) {
            char *sd = sc_loc_display(x->dst, x->spath_state);
            sc_warn(ctx, "cannot keep the resume record %s: %s", sc_disp_or(sd, x->spath_state),
                    why);
            free(sd);
        }
    }
    if (x->start > 0) {
        ctx->resumed += x->start;
        if (!x->o->quiet)
            fprintf(stderr, "smbcopy: resuming %s at byte %llu of %llu\n", x->ddisp,
                    (unsigned long long)x->start, (unsigned long long)x->size);
    }
    return 0;
}

static void stream_mark(void *ud, uint64_t upto)
{
    sc_xfer *x = ud;
    if (upto > x->mark)
        x->mark = upto;
    sc_state_note(&x->state, upto);
}

/* The error a failed copy is reported with: a failed reconnect's own. */
static int reported_err(const sc_xfer *x, int err)
{
    return x->reconnect_err != 0 ? x->reconnect_err : err;
}

/* After a dropped connection (err) in the data, the connections brought
 * back and x->start set to the contiguous mark, from which the copy
 * continues. Returns whether to go on. */
static bool retry_after(sc_xfer *x, int err)
{
    if (!back_after_drop(x, err))
        return false;
    uint64_t mark = x->drop_mark;
    if (x->state.err == SMBW_EIO || x->state.err == SMBW_ECLOSED)
        x->state.err = 0; /* its update died with the connection */
    x->start = mark;
    if (!x->o->quiet)
        fprintf(stderr, "smbcopy: continuing %s at byte %llu of %llu\n", x->ddisp,
                (unsigned long long)mark, (unsigned long long)x->size);
    return true;
}

/* What a data step returns to be run again after a reconnect. */
#define SC_RETRY (-1000)

static sc_end end_of(const sc_loc *loc, const sc_fh *h, bool seq)
{
    sc_end e = {.fd = h->fd, .f = h->f, .c = loc->remote ? loc->srv->conn : NULL, .seq = seq};
    return e;
}

/* Streams the data through this process (sc_stream_copy). */
static int stream_data(sc_xfer *x)
{
    sc_ctx *ctx = x->ctx;
    sc_end se = end_of(x->src, &x->sh, false);
    sc_end de = end_of(x->dst, &x->dh, x->dst_stream);
    sc_xerr xe;
    uint64_t copied = 0;
    sc_stream_hooks hk = {
        .mark = stream_mark,
        .ud = x,
        .chunk = x->o->chunk_size,
        .sparse = !x->dst_stream,
        /* Asked when the attributes say sparse, and of any file large
         * enough for one more request not to matter: servers do not
         * all report the attribute (Samba 4.17 keeps it to itself). */
        .src_sparse = x->src->remote && ((x->sfi.attrs & SMBW_FILE_ATTRIBUTE_SPARSE_FILE) != 0 ||
                                         x->size - x->start >= 4u * SC_MAX_CHUNK),
    };
    /* The temporary file at its final size first: on a durable open the
     * library may then send writes in flight again after a drop (replay),
     * which it never does for a write that extends the file. */
    if (x->dst->remote && x->dst->srv->durable && de.f != NULL && x->size > 0)
        (void)smbw_file_truncate(de.f, x->size);
    uint64_t w0 = sc_traffic(x->src, x->dst);
    int err =
        sc_stream_copy(&se, &de, x->start, x->size, x->o->depth, &ctx->prog, &hk, &copied, &xe);
    ctx->requests += hk.requests;
    ctx->wire_bytes += sc_traffic(x->src, x->dst) - w0;
    x->holes = hk.holes;
    sc_progress_end(&ctx->prog);
    if (err == 0)
        return 0;
    if (retry_after(x, err))
        return SC_RETRY;
    err = reported_err(x, err);
    const char *what = xe.side == SC_SIDE_DST ? x->tdisp : x->sdisp;
    smbw_conn *c = xe.side == SC_SIDE_DST ? de.c : se.c;
    bool intr = err == SMBW_ECANCELED && sc_interrupted;
    if (!intr && source_changed(x))
        return sc_fail_changed(ctx, x->sdisp);
    if (intr)
        return sc_fail_interrupted(ctx, x->sdisp);
    if (err == SMBW_ELOCAL)
        return sc_fail_local(ctx, xe.os_errno, xe.op, what);
    if (xe.msg != NULL) {
        int rc = sc_exit_for(err);
        sc_report(ctx, rc, "%s %s: %s", xe.op, what, xe.msg);
        return rc;
    }
    return sc_fail_smb(ctx, err, c, xe.status, xe.op, what);
}

/* A server-side copy (sscopy.c) failed with err. */
static int server_side_failed(sc_xfer *x, int err)
{
    sc_ctx *ctx = x->ctx;
    sc_progress_end(&ctx->prog);
    if (err == SMBW_ENOTSUP) { /* forced */
        const char *why = smbw_conn_errmsg(x->dst->srv->conn);
        sc_report(ctx, SC_EXIT_STATUS, "copy %s: --method=%s is not available: %s", x->sdisp,
                  sc_method_name(x->o->method),
                  why != NULL && why[0] != '\0' ? why : "the server refused it");
        return SC_EXIT_STATUS;
    }
    if (err == SMBW_ECANCELED && sc_interrupted)
        return sc_fail_interrupted(ctx, x->sdisp);
    if (retry_after(x, err))
        return SC_RETRY;
    sc_ss_lanes_end(ctx);
    err = reported_err(x, err);
    if (source_changed(x))
        return sc_fail_changed(ctx, x->sdisp);
    return sc_fail_smb(ctx, err, x->dst->srv->conn, 0, "copy", x->sdisp);
}

/* Data: by the server when both ends are on one (unless --method=stream),
 * else streamed; after a dropped connection that came back, again from the
 * contiguous mark. */
static int xf_data_once(sc_xfer *x);
static int xf_data(sc_xfer *x)
{
    int rc;
    while ((rc = xf_data_once(x)) == SC_RETRY)
        ;
    return rc;
}

static int xf_data_once(sc_xfer *x)
{
    sc_ctx *ctx = x->ctx;
    int rc;
    x->method = "stream";
    int err = SMBW_ENOTSUP;
    sc_progress_start(&ctx->prog, x->name, x->size, x->start);
    if (x->put_done) { /* read with its open or written with its create */
        ctx->requests += x->put_requests;
        ctx->wire_bytes += x->put_wire;
        sc_progress_update(&ctx->prog, x->size);
        err = 0;
    } else if (x->o->method != SC_METHOD_STREAM)
        err = sc_try_server_side(ctx, x->src, x->spath, x->sh.f, x->dst, x->tmp, x->dh.f, x->start,
                                 x->size, &x->state, &x->method);
    if (err == SMBW_ENOTSUP && !x->forced) {
        x->method = "stream";
        if ((rc = stream_data(x)) != 0)
            return rc;
    } else if (err != 0) {
        return server_side_failed(x, err);
    }
    sc_progress_end(&ctx->prog);
    /* A source written to while it was copied: the copy may hold a mix of
     * old and new data, so it never gets the final name. */
    if (close_source_changed(x))
        return sc_fail_changed(ctx, x->sdisp);
    if (ctx->method_used == NULL)
        ctx->method_used = x->method;
    else if (strcmp(ctx->method_used, x->method) != 0)
        ctx->method_used = "mixed";
    if (sc_interrupted)
        return sc_fail_interrupted(ctx, x->sdisp);
    return 0;
}

/* The metadata the copy gets: with -p (the default) the source's times,
 * and its permission bits locally or its attributes on a share (a share's
 * read-only attribute makes a local copy read-only); else the umask's. */
static sc_meta meta_for(const sc_xfer *x)
{
    const sc_finfo *s = &x->sfi;
    sc_meta m = {.creation = x->src->remote ? s->creation : 0,
                 .access = s->access,
                 .write = s->write,
                 .attrs = x->src->remote ? (s->attrs & SC_FILE_ATTRIBUTE_COPY_MASK) : 0,
                 .mode = 0666 & ~x->ctx->umask};
    if (x->o->preserve && !x->src->remote)
        m.mode = s->mode & 0777;
    if (x->o->preserve && x->src->remote && (s->attrs & SMBW_FILE_ATTRIBUTE_READONLY))
        m.mode &= ~(mode_t)0222;
    return m;
}

/* The commit's request lost with a dropped connection that came back: what
 * the server did, told by the names. The temporary file still there: the
 * rename was not done (-1: reopened, to commit again). It gone and the final
 * name with this copy's size (and with -p its write time, set with the
 * rename): done (0). Anything else: the exit code of a failure reported. */
static int after_lost_commit(sc_xfer *x, const sc_meta *m)
{
    const sc_epops *d = x->dops;
    sc_finfo tf, ff;
    int rc;
    if ((rc = stat_dst(x, x->tmp, &tf)) != 0 || (rc = stat_dst(x, x->dpath, &ff)) != 0)
        return rc;
    if (tf.exists) {
        sc_err e;
        int err;
        while ((err = d->open_tmp(x->dst, x->tmp, false, x->o->copychunk_read, &x->dh, &e)) != 0 &&
               redo(x, &e))
            ;
        return err == 0 ? -1 : fail_step(x, &e, x->tdisp);
    }
    x->tmp_exists = false;
    if (ff.exists && ff.is_reg && ff.size == x->size && (!x->o->preserve || ff.write == m->write)) {
        if (x->o->verbose > 0 && !x->o->quiet)
            fprintf(stderr, "smbcopy: %s: its rename got through before the drop\n", x->ddisp);
        return 0;
    }
    sc_report(x->ctx, SC_EXIT_NET,
              "rename to %s: the connection dropped and %s is gone, but %s is not this copy",
              x->ddisp, x->tdisp, x->ddisp);
    return SC_EXIT_NET;
}

/* Finish where the destination does it in one step (commit: rename, then
 * times and attributes, then close): the attributes go after the rename,
 * so what a server derived from the temporary dot name (Samba: hidden) is
 * replaced, and the read-only one no longer stands in the rename's way.
 * Lost with a dropped connection that came back: see after_lost_commit; a
 * lost answer to the times or the close (the rename answered) is only
 * followed by the reconnect, the times looked at again. */
static int finish_commit(sc_xfer *x, const sc_meta *m)
{
    sc_ctx *ctx = x->ctx;
    const sc_epops *d = x->dops;
    uint32_t attrs = x->o->preserve ? m->attrs : 0;
    if (attrs == 0)
        attrs = SMBW_FILE_ATTRIBUTE_ARCHIVE;
    sc_err e, w;
    int rc = -1;
    while (rc == -1) {
        if (d->commit(x->dst, &x->dh, x->dpath, m, x->o->preserve, attrs, &e, &w) == 0)
            break;
        if (!redo(x, &e)) {
            /* Closed under its temporary name: removed by name (kept with
             * --resume, as after any failure). */
            sc_err ue;
            if (!x->o->resume && !sc_conn_dropped(conn_of(x->dst)) &&
                d->unlink(x->dst, x->tmp, &ue) == 0)
                x->tmp_exists = false;
            return fail_step(x, &e, x->ddisp);
        }
        if ((rc = after_lost_commit(x, m)) > 0)
            return rc;
    }
    x->tmp_exists = false;
    if (w.err != 0 && redo(x, &w)) { /* renamed; the rest's answer lost */
        sc_finfo ff;
        if (stat_dst(x, x->dpath, &ff) == 0 && (!x->o->preserve || ff.write == m->write))
            w.err = 0;
    }
    if (w.err != 0)
        sc_warn(ctx, "%s %s: %s", w.op, x->ddisp, sc_err_str(&w));
    return 0;
}

/* Finish: metadata, flush, rename over the final name (see sync_first and
 * close_before_rename in endpoint.h for the order on each side). */
static int xf_finish(sc_xfer *x)
{
    sc_ctx *ctx = x->ctx;
    const sc_opts *o = x->o;
    const sc_epops *d = x->dops;
    sc_err e;
    if (x->dst_stream) {
        if (d->close(x->dst, &x->dh, &e) != 0)
            return sc_fail(ctx, &e, x->ddisp);
        goto done;
    }
    sc_meta m = meta_for(x);
    if (o->sync && d->sync_first && d->sync(x->dst, &x->dh, &e) != 0)
        return sc_fail(ctx, &e, x->tdisp);
    if (d->commit != NULL) {
        int rc = finish_commit(x, &m);
        if (rc != 0)
            return rc;
        goto done;
    }
    if (o->preserve && d->set_times(x->dst, &x->dh, &m, &e) != 0)
        sc_warn(ctx, "set times of %s: %s", x->tdisp, sc_err_str(&e));
    if (d->set_mode != NULL && d->set_mode(x->dst, &x->dh, &m, &e) != 0)
        return sc_fail(ctx, &e, x->tdisp);
    if (o->sync && !d->sync_first && d->sync(x->dst, &x->dh, &e) != 0)
        return sc_fail(ctx, &e, x->tdisp);
    if (d->close_before_rename && d->close(x->dst, &x->dh, &e) != 0)
        return sc_fail(ctx, &e, x->tdisp);
    if (d->rename(x->dst, &x->dh, x->tmp, x->dpath, o->sync, &e) != 0)
        return e.in_use ? sc_fail_in_use(ctx, &e, x->ddisp, x->tdisp) : sc_fail(ctx, &e, x->ddisp);
    x->tmp_exists = false;
    /* Attributes set under the final name: the read-only one (which would
     * have stopped the rename), and after a sparse copy all of them — a
     * server may have stored with FSCTL_SET_SPARSE what it derived from the
     * temporary dot name (Samba: hidden). */
    uint32_t attrs = o->preserve ? m.attrs : 0;
    bool set = (attrs & SMBW_FILE_ATTRIBUTE_READONLY) != 0 || x->holes > 0;
    if (attrs == 0)
        attrs = SMBW_FILE_ATTRIBUTE_ARCHIVE;
    if (set && d->set_attrs != NULL && d->set_attrs(x->dst, &x->dh, attrs, &e) != 0)
        sc_warn(ctx, "set attributes of %s: %s", x->ddisp, sc_err_str(&e));
    if (sc_fh_open(&x->dh) && d->close(x->dst, &x->dh, &e) != 0)
        sc_warn(ctx, "close %s: %s", x->ddisp, sc_err_str(&e));
done:
    ctx->files++;
    ctx->bytes += x->size;
    return 0;
}

/* Whatever happened (rc): the resume record, the open files, the partial
 * file. */
static void xf_end(sc_xfer *x, int rc)
{
    const sc_opts *o = x->o;
    const sc_epops *d = x->dops;
    sc_err e;
    /* The resume record: gone after success; on failure kept (brought up to
     * date) with --resume, else removed with the temporary file. */
    if (rc != 0 && o->resume)
        sc_state_sync(&x->state);
    bool had_record = x->state.active;
    sc_state_close(&x->state, x->dst, x->spath_state, rc == 0 || !o->resume);
    /* Its removal lost with a dropped connection that came back: by name. */
    sc_err re = {.err = SMBW_EIO};
    if (rc == 0 && had_record && x->dst->remote && sc_conn_dropped(conn_of(x->dst)) && redo(x, &re))
        while (d->unlink(x->dst, x->spath_state, &re) != 0 && redo(x, &re))
            ;
    x->sops->close(x->src, &x->sh, &e);
    if (d->close_before_rename)
        d->close(x->dst, &x->dh, &e);
    /* What became of the partial file: said after an interrupt, and
     * whenever it could not be removed. */
    const char *fate = NULL;
    if (x->tmp_exists && o->resume)
        fate = "kept for --resume";
    else if (x->tmp_exists)
        fate = d->discard(x->dst, &x->dh, x->tmp) ? "removed" : d->not_removed;
    d->close(x->dst, &x->dh, &e);
    if (fate != NULL && (rc == SC_EXIT_INTR || fate[0] == 'c') && !o->quiet) {
        sc_progress_end(&x->ctx->prog);
        fprintf(stderr, "smbcopy: the partial copy %s %s\n", x->tdisp, fate);
    }
    free(x->put);
    free(x->sdisp);
    free(x->ddisp);
    free(x->tmp);
    free(x->dfinal);
    free(x->dname);
    free(x->spath_state);
    free(x->ident);
    free(x->tdisp);
    free(x->name);
}

int sc_copy_file(sc_ctx *ctx, const sc_loc *src, const char *spath, const sc_loc *dst,
                 const char *dpath, const sc_finfo *dst_known)
{
    static int (*const steps[])(sc_xfer *) = {
        xf_names, xf_open_src, xf_check_dst, xf_plan, xf_open_dst, xf_data, xf_finish,
    };
    sc_xfer x;
    memset(&x, 0, sizeof(x));
    x.ctx = ctx;
    x.o = ctx->o;
    x.src = src;
    x.dst = dst;
    x.sops = sc_ops(src);
    x.dops = sc_ops(dst);
    x.spath = spath;
    x.dpath = dpath;
    x.sh = SC_FH_NONE;
    x.dh = SC_FH_NONE;
    x.state.fd = -1;
    x.dst_known = dst_known;
    int rc = 0;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]) && rc == 0 && !x.done; i++)
        rc = steps[i](&x);
    xf_end(&x, rc);
    return rc;
}
