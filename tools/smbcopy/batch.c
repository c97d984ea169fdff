/* Many small files in flight on one connection (batch.h).
 *
 * A file of a local tree that one WRITE carries, whose copy on the share is
 * known not to exist, goes in two compounds: CREATE of the final name,
 * marked for deletion, with its WRITE
 * (smbw_file_create_write_provisional_async), then, once the whole file is
 * acknowledged, the mark cleared, times, attributes and CLOSE
 * (smbw_file_commit_async with keep). A file that replaces a plain one
 * the listing of its directory shows goes the same way under its temporary
 * name, and its commit renames it over the old file (a refused rename: the
 * temporary file removed, the usual way tries); so too between two shares.
 * Up to SC_BATCH_FILES files are in flight at once, so a tree of small
 * files costs the server's time rather than round trips. The rule of every
 * copy stays: a name is never left behind incomplete. Where the one-file
 * path writes a temporary name and renames it, the mark does the same here
 * (an interrupted run, a dropped connection or a refused WRITE leaves the
 * file deleted at its close), and the server looks up one name per file
 * instead of two (measured: smbd's CPU time for /usr/include about halved).
 *
 * Callbacks only record what came back; the pump handles it, so that a
 * synchronous call made meanwhile (a file copied the usual way) may run the
 * callbacks of the batch without anything happening in them. Anything but
 * success before the rename (the temporary name taken by an earlier run, a
 * refused CREATE or WRITE) sends the file the usual way (sc_copy_file),
 * which says what is wrong, or gets it right.
 *
 * Between two shares on one connection (smb -> smb on one server) a file
 * that one copychunk chunk carries (SC_SS_MAX) is copied by the server in
 * four overlapped steps, the file data never crossing the wire: the
 * source's CREATE with FSCTL_SRV_REQUEST_RESUME_KEY (one related compound,
 * smbw_file_open_source_async) sent together with the provisional
 * destination's CREATE (CREATE and delete mark, no WRITE); then one
 * FSCTL_SRV_COPYCHUNK_WRITE with one chunk (smbw_copy_chunk_async; none for
 * an empty file); then the source's CLOSE, asking for its metadata (did it
 * change while it was copied?); then the commit (mark cleared, times and
 * attributes, CLOSE). A refused copychunk (a server without server-side
 * copy: the rest of the run too), a file larger than listed, anything
 * unexpected sends the file the usual way. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "smbwire/copy.h"

#include "batch.h"
#include "endpoint.h"
#include "file.h"
#include "loc.h"
#include "stream.h"

#define SC_BATCH_FILES 64
/* Data of files whose CREATE is not answered yet (the library holds a copy
 * until it is sent). */
#define SC_BATCH_BYTES (16u << 20)
/* Server-side: the largest file copied with one copychunk chunk (Samba's
 * and Windows' limit per chunk is 1 MiB); larger ones go the one-file way
 * (pipelined chunks). */
#define SC_SS_MAX (1u << 20)

typedef enum it_state {
    IT_FREE = 0,
    IT_CREATING,   /* up: CREATE + mark + WRITE in flight */
    IT_COMMITTING, /* up: mark cleared, times, CLOSE in flight */
    IT_READING,    /* down: CREATE + READ in flight */
    IT_CLOSING,    /* down: CLOSE with the metadata in flight */
    IT_SS_OPENING, /* server-side: source CREATE + resume key, and the
                      provisional destination CREATE, in flight */
    IT_SS_COPYING, /* server-side: the copychunk in flight */
    IT_SS_CLOSING, /* server-side: the source's CLOSE with its metadata */
} it_state;

/* One connection of the batch (--connections): the first is the run's own;
 * the others are logged in by the batch (sc_server_lane), each with its own
 * session, trees, reconnect and drop count. */
typedef struct lane {
    smbw_conn *conn;
    const sc_loc *src, *dst; /* the batch's ends as seen over this connection */
    sc_loc lsrc, ldst;       /* a further lane's own ends on its server */
    sc_server srv;           /* a further lane's connection, session, trees */
    int busy;                /* its files in flight */
    int drops;               /* reconnects since one of its files finished */
    uint64_t files;          /* files it finished (-v) */
} lane;

typedef struct item {
    sc_batch *b;
    lane *ln; /* the connection it is copied over */
    it_state st;
    bool ready; /* its callback ran: the pump takes it on */
    char *spath, *dpath;
    char *tmp; /* up, replacing a file: the name written, renamed over dpath */
    int fd;
    struct stat sst;
    smbw_file *f;
    int err;
    uint32_t status;
    smbw_commit_step step;
    /* down: the data, the source as opened and as closed */
    uint8_t *data;
    size_t len;
    smbw_stat ost, cst;
    bool got;
    size_t held;  /* bytes counted in the batch's creating */
    size_t want;  /* down: the size listed */
    bool sent;    /* taken by the batch: its requests went out */
    bool ended;   /* copied, failed, or handed to the usual way */
    int tries;    /* sent again after a reconnect */
    int lingers;  /* sent again while the lost connection's open lingered */
    uint64_t gen; /* the connection's reconnects when it was sent */
    /* server-side: the open source, its outcome, callbacks still to come */
    smbw_file *sf;
    int serr;
    int pending;
    uint64_t copied;
    /* what a kept file counts: its size, the requests that carried its
     * data, and how it was copied */
    uint64_t size;
    const char *method;
    uint64_t seq; /* the batch's count of files taken before it */
} item;

struct sc_batch {
    sc_ctx *ctx;
    const sc_loc *src, *dst;
    bool down;       /* share -> local (else local -> share) */
    bool ss;         /* share -> share on one connection: copied by the server */
    bool ss_off;     /* the server refused a server-side copy: the rest one by one */
    size_t max_size; /* what one request carries */
    lane lanes[SC_MAX_CONNECTIONS];
    int nlanes; /* lanes open */
    int want;   /* lanes to open at most (--connections) */
    item items[SC_BATCH_FILES * SC_MAX_CONNECTIONS];
    int busy;        /* items in flight */
    size_t creating; /* bytes of files in IT_CREATING */
    uint64_t w0;     /* traffic counted up to here */
    int rc;          /* a failure that ends the run */
    bool dropped;    /* a file in flight dropped for a signal */
    uint64_t seq;    /* files taken so far (the next file's number) */
};

#define SC_BATCH_ITEMS (SC_BATCH_FILES * SC_MAX_CONNECTIONS)

bool sc_batch_applies(const sc_ctx *ctx, const sc_loc *src, const sc_loc *dst)
{
    const sc_opts *o = ctx->o;
    if (o->dry_run || o->sync)
        return false;
    if (src->remote && dst->remote) /* server-side, on one connection */
        return src->srv == dst->srv &&
               (o->method == SC_METHOD_AUTO || o->method == SC_METHOD_COPYCHUNK);
    return src->remote != dst->remote &&
           (o->method == SC_METHOD_AUTO || o->method == SC_METHOD_STREAM);
}

static int tree_connections(const sc_ctx *ctx, bool down, bool ss)
{
    int n = ctx->o->connections;
    if (n == SC_CONNECTIONS_AUTO)
        n = ss ? SC_AUTO_TREE_SS : down ? SC_AUTO_TREE_DOWN : SC_AUTO_TREE_UP;
    return n < 1 ? 1 : n > SC_MAX_CONNECTIONS ? SC_MAX_CONNECTIONS : n;
}

int sc_batch_connections(const sc_ctx *ctx, const sc_loc *src, const sc_loc *dst)
{
    bool ss = src->remote && dst->remote;
    return tree_connections(ctx, src->remote && !ss, ss);
}

sc_batch *sc_batch_new(sc_ctx *ctx, const sc_loc *src, const sc_loc *dst)
{
    sc_batch *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->ctx = ctx;
    b->src = src;
    b->dst = dst;
    b->ss = src->remote && dst->remote;
    b->down = src->remote && !b->ss;
    lane *l0 = &b->lanes[0];
    l0->conn = src->remote ? src->srv->conn : dst->srv->conn;
    l0->src = src;
    l0->dst = dst;
    b->nlanes = 1;
    b->want = tree_connections(ctx, b->down, b->ss);
    sc_end se = {.fd = -1}, de = {.fd = -1};
    if (b->down)
        se.c = l0->conn;
    else
        de.c = l0->conn;
    b->max_size = sc_stream_chunk(&se, &de, ctx->o->chunk_size);
    if (b->ss) /* one chunk per file, within what every server takes */
        b->max_size = ctx->o->chunk_size != 0 && ctx->o->chunk_size < SC_SS_MAX ? ctx->o->chunk_size
                                                                                : SC_SS_MAX;
    b->w0 = sc_traffic(src, dst);
    for (int i = 0; i < SC_BATCH_ITEMS; i++) {
        b->items[i].b = b;
        b->items[i].fd = -1;
    }
    return b;
}

static void cw_cb(void *ud, int err, uint32_t status, smbw_file *f)
{
    item *it = ud;
    it->err = err;
    it->status = status;
    it->f = f;
    it->ready = true;
}

static void commit_cb(void *ud, int err, uint32_t status, smbw_commit_step step)
{
    item *it = ud;
    it->err = err;
    it->status = status;
    it->step = step;
    it->ready = true;
}

/* The method a file was copied with, into the run's (--json method). */
static void note_method(sc_ctx *ctx, const char *m)
{
    if (ctx->method_used == NULL)
        ctx->method_used = m;
    else if (strcmp(ctx->method_used, m) != 0)
        ctx->method_used = "mixed";
}

/* The traffic since the last count goes to the run's counters. */
static uint64_t traffic(const sc_batch *b)
{
    uint64_t sum = sc_traffic(b->src, b->dst);
    smbw_conn_stats cs;
    for (int i = 1; i < b->nlanes; i++) {
        smbw_conn_get_stats(b->lanes[i].conn, &cs);
        sum += cs.bytes_sent + cs.bytes_received;
    }
    return sum;
}

static void count_traffic(sc_batch *b)
{
    uint64_t now = traffic(b);
    b->ctx->wire_bytes += now - b->w0;
    b->w0 = now;
}

static void item_done(sc_batch *b, item *it)
{
    /* A file the batch took and dropped for a signal: the run did not
     * copy everything (sc_batch_drain reports it). */
    if (it->sent && !it->ended && sc_interrupted)
        b->dropped = true;
    if (it->fd >= 0)
        close(it->fd);
    if (it->f != NULL)
        smbw_file_free(it->f);
    if (it->sf != NULL)
        smbw_file_free(it->sf);
    free(it->data);
    b->creating -= it->held;
    free(it->spath);
    free(it->dpath);
    free(it->tmp);
    it->ln->busy--;
    memset(it, 0, sizeof(*it));
    it->b = b;
    it->fd = -1;
    b->busy--;
}

static void item_failed(sc_batch *b, item *it)
{
    b->ctx->failed++;
    it->ended = true;
}

/* --retries: a dropped connection brought back (sc_reconnect_dropped), at
 * most --retries times in a row without a file finished in between. Every
 * file in flight at the drop failed with it; each then goes the usual way
 * (nothing of it is under its final name: the server deletes a marked file
 * when its open ends with the connection). Returns whether it is back
 * (*rerr: the failed reconnect's own error, else 0). */
static bool reconnected(sc_batch *b, lane *l, int *rerr)
{
    *rerr = 0;
    return sc_conn_dropped(l->conn) &&
           sc_reconnect_dropped(b->ctx, l->conn, NULL, &l->drops, true, rerr);
}

/* Whether the connection of it is gone for good: then the run ends
 * (reported once). A dropped one comes back when --retries allows (each
 * connection of the batch on its own): false then, and the caller sends
 * the file the usual way. */
static bool conn_lost(sc_batch *b, item *it, int err, const char *op, const char *what)
{
    lane *l = it->ln;
    if (!smbw_conn_is_dead(l->conn))
        return false;
    int rerr = 0;
    if (b->rc == 0 && reconnected(b, l, &rerr))
        return false;
    if (rerr != 0)
        err = rerr;
    if (b->rc == 0)
        b->rc = sc_fail_smb(b->ctx, err != 0 ? err : SMBW_EDEAD, l->conn, 0, op, what);
    return true;
}

static bool resend(sc_batch *b, item *it, bool again);

/* What follows a file's failed request (it->err): 1 when it was sent
 * again the batch's way (its request died with a dropped connection that
 * has come back), -1 when the run ends (the connection is gone for good),
 * 0 otherwise (the caller sends it the usual way, which says what is
 * wrong). */
static int after_failure(sc_batch *b, item *it, const char *op, const char *what)
{
    if (conn_lost(b, it, it->err, op, what))
        return -1;
    if (it->err != SMBW_ESTATUS && smbw_conn_reconnects(it->ln->conn) != it->gen &&
        resend(b, it, false))
        return 1;
    return 0;
}

/* The usual way for a file the batch could not finish before its rename
 * (nothing of it is under the final name). */
static void fall_back(sc_batch *b, item *it)
{
    it->ended = true;
    count_traffic(b);
    int rc = sc_copy_file(b->ctx, it->ln->src, it->spath, it->ln->dst, it->dpath, NULL);
    b->w0 = traffic(b);
    if (rc != 0) {
        b->ctx->failed++;
        if (rc == SC_EXIT_INTR || rc == SC_EXIT_AUTH || smbw_conn_is_dead(it->ln->conn))
            b->rc = b->rc != 0 ? b->rc : rc;
    }
}

/* The name the batch creates for it: its final name, or (replacing a file)
 * its temporary name. */
static const char *written_name(const item *it)
{
    return it->tmp != NULL ? it->tmp : it->dpath;
}

/* A file replacing another: its commit (after the mark is cleared) renames
 * it over the old one. */
static void replace_at_commit(const item *it, smbw_commit *cm)
{
    if (it->tmp != NULL) {
        cm->rename_to = it->dpath;
        cm->replace = true;
    }
}

/* Removes a file the batch made but will not keep (marked already; the
 * mark again, in case the server refused it). */
static void discard_open(item *it)
{
    if (it->f == NULL)
        return;
    smbw_file_delete_on_close(it->f);
    smbw_file_free(it->f);
    it->f = NULL;
}

/* Whether the source still has the size and time it had when it was read. */
static bool source_same(const item *it)
{
    struct stat now;
    return fstat(it->fd, &now) == 0 && now.st_size == it->sst.st_size &&
           now.st_mtim.tv_sec == it->sst.st_mtim.tv_sec &&
           now.st_mtim.tv_nsec == it->sst.st_mtim.tv_nsec;
}

/* A file of the local tree is on the share. */
static void count_copied(sc_batch *b, item *it)
{
    it->ended = true;
    sc_ctx *ctx = b->ctx;
    it->ln->drops = 0;
    it->ln->files++;
    ctx->files++;
    if (it->method == NULL) { /* up: as a file written with its CREATE in file.c */
        ctx->bytes += (uint64_t)it->sst.st_size;
        ctx->requests += 1;
        note_method(ctx, "stream");
        return;
    }
    ctx->bytes += it->size; /* server-side: one FSCTL (none when empty) */
    ctx->requests += it->size > 0 ? 1 : 0;
    note_method(ctx, it->method);
}

/* A file sent again after a reconnect may find its name held by what the
 * lost connection left behind. Still being removed (STATUS_DELETE_PENDING,
 * or a sharing violation while the old open lingers on the server; Samba
 * answers the CREATE with a name collision and the lookup with
 * STATUS_DELETE_PENDING): sent again a little later, up to about two
 * seconds. Taken by this very copy, its commit having got through before
 * the drop (a regular file of the same size and, with -p, the source's
 * write time to the microsecond): done. Returns 1 (sent again), 2 (done)
 * or 0 (neither: it failed). */
static int after_resend(sc_batch *b, item *it)
{
    /* The library says a refusal in its own terms (SMBW_EEXIST, ...):
     * the server's status tells. A file replacing another: its own name
     * tells nothing (it was there before); the usual way sorts it out. */
    if (it->tries == 0 || it->status == 0 || it->tmp != NULL)
        return 0;
    const sc_opts *o = b->ctx->o;
    uint32_t held = it->status;
    bool gone = false;
    if (held == SMBW_STATUS_OBJECT_NAME_COLLISION) {
        smbw_stat st;
        int err = smbw_stat_path(it->ln->dst->tree, it->dpath, &st);
        if (err == 0) {
            uint64_t want = sc_ft_from_ts(it->sst.st_mtim);
            uint64_t dt =
                st.last_write_time > want ? st.last_write_time - want : want - st.last_write_time;
            if (!o->preserve || st.is_dir || st.size != (uint64_t)it->sst.st_size || dt > 10)
                return 0;
            if (o->verbose > 0 && !o->quiet)
                fprintf(stderr, "smbcopy: %s: its commit got through before the drop: copied\n",
                        it->dpath);
            return 2;
        }
        /* gone meanwhile: the name is free now */
        held = err == SMBW_ENOENT ? 0 : smbw_last_status(it->ln->conn);
        gone = err == SMBW_ENOENT;
    }
    if (gone || held == SMBW_STATUS_DELETE_PENDING || held == SMBW_STATUS_SHARING_VIOLATION) {
        if (it->lingers >= 40)
            return 0;
        if (it->lingers == 0 && !gone && o->verbose > 0 && !o->quiet)
            fprintf(stderr, "smbcopy: %s: the name is still held after the drop (%s): sent again\n",
                    it->dpath, smbw_status_name(held));
        it->lingers++;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        return resend(b, it, true) ? 1 : 0;
    }
    return 0;
}

/* A file whose CREATE and WRITE were answered: kept, with its times. */
static void created(sc_batch *b, item *it)
{
    sc_ctx *ctx = b->ctx;
    b->creating -= it->held;
    it->held = 0;
    it->st = IT_FREE;
    if (it->err != 0) {
        discard_open(it);
        int a = after_resend(b, it);
        if (a == 1)
            return;
        if (a == 2) {
            count_copied(b, it);
            item_done(b, it);
            return;
        }
        char *d = sc_loc_display(it->ln->dst, it->dpath);
        int r = after_failure(b, it, "copy to", sc_disp_or(d, it->dpath));
        free(d);
        if (r > 0)
            return;
        if (r == 0 && !sc_interrupted)
            fall_back(b, it);
        item_done(b, it);
        return;
    }
    if (sc_interrupted || b->rc != 0) { /* the run ends: never renamed */
        discard_open(it);
        item_done(b, it);
        return;
    }
    if (!source_same(it)) {
        discard_open(it);
        char *s = sc_loc_display(it->ln->src, it->spath);
        sc_fail_changed(ctx, sc_disp_or(s, it->spath));
        free(s);
        item_failed(b, it);
        item_done(b, it);
        return;
    }
    smbw_commit cm = SMBW_COMMIT_INIT;
    cm.keep = true;
    cm.set_basic = true;
    if (ctx->o->preserve) {
        cm.access = sc_ft_from_ts(it->sst.st_atim);
        cm.write = sc_ft_from_ts(it->sst.st_mtim);
    }
    cm.attributes = SMBW_FILE_ATTRIBUTE_ARCHIVE; /* a local source has none */
    replace_at_commit(it, &cm);
    it->size = (uint64_t)it->sst.st_size;
    smbw_file *f = it->f;
    it->f = NULL;
    it->ready = false;
    it->st = IT_COMMITTING;
    int err = smbw_file_commit_async(f, &cm, commit_cb, it);
    if (err != 0) { /* f is freed (closed) already */
        it->err = err;
        it->step = SMBW_COMMIT_REQUEST;
        it->ready = true;
    }
}

/* A file whose commit was answered. */
static void committed(sc_batch *b, item *it)
{
    sc_ctx *ctx = b->ctx;
    char *d = NULL;
    switch (it->step) {
    case SMBW_COMMIT_OK:
        break;
    case SMBW_COMMIT_BASIC:
    case SMBW_COMMIT_CLOSE:
        d = sc_loc_display(it->ln->dst, it->dpath);
        sc_warn(ctx, "%s %s: %s",
                it->step == SMBW_COMMIT_BASIC ? "set times and attributes of" : "close",
                sc_disp_or(d, it->dpath), smbw_strerror(it->err));
        break;
    case SMBW_COMMIT_RENAME:
        /* The mark was cleared before the rename was refused: the
         * temporary file stays unless removed now. */
        if (it->tmp != NULL)
            (void)smbw_unlink(it->ln->dst->tree, it->tmp);
        /* fall through */
    case SMBW_COMMIT_KEEP:
    case SMBW_COMMIT_REQUEST:
    default:
        /* Not kept: the close removed it (or, the connection lost, the
         * server removes it when it notices); the usual way tries again
         * and says what is wrong. */
        d = sc_loc_display(it->ln->dst, it->dpath);
        int r = after_failure(b, it, "copy to", sc_disp_or(d, it->dpath));
        free(d);
        if (r > 0)
            return;
        if (r < 0 || sc_interrupted)
            item_failed(b, it);
        else
            fall_back(b, it);
        item_done(b, it);
        return;
    }
    free(d);
    count_copied(b, it);
    item_done(b, it);
}

/* ---- share -> local ---------------------------------------------------- */

static void read_cb(void *ud, int err, uint32_t status, smbw_file *f, const void *data, size_t len)
{
    item *it = ud;
    it->err = err;
    it->status = status;
    it->f = f;
    if (err == 0 && len > 0) {
        it->data = malloc(len);
        if (it->data == NULL)
            it->err = SMBW_ENOMEM;
        else
            memcpy(it->data, data, len);
    }
    it->len = len;
    it->ready = true;
}

static void stat_cb(void *ud, int err, uint32_t status, const smbw_stat *st, bool got)
{
    item *it = ud;
    it->err = err;
    it->status = status;
    it->got = got;
    if (got)
        it->cst = *st;
    it->ready = true;
}

/* Closes f (the item's source on the share), asking for its metadata at
 * the close (stat_cb); the item is then in state st. */
static void close_with_stat(item *it, smbw_file *f, it_state st)
{
    it->st = st;
    int err = smbw_file_free_stat_async(f, stat_cb, it);
    if (err != 0) { /* f is freed: the change is not known */
        it->err = err;
        it->got = false;
        it->ready = true;
    }
}

/* A file whose CREATE and READ were answered: closed, asking for its
 * metadata at the close (did it change while it was read?). Anything but a
 * whole regular file read goes the usual way. */
static void read_done(sc_batch *b, item *it)
{
    bool whole = it->err == 0 && it->f != NULL && smbw_file_open_stat(it->f, &it->ost) == 0 &&
                 !it->ost.is_dir && it->ost.size == it->len;
    if (!whole) {
        if (it->f != NULL) {
            smbw_file_free(it->f);
            it->f = NULL;
        }
        char *sd = sc_loc_display(it->ln->src, it->spath);
        int r = after_failure(b, it, "copy", sc_disp_or(sd, it->spath));
        free(sd);
        if (r > 0)
            return;
        if (r == 0 && !sc_interrupted && b->rc == 0)
            fall_back(b, it);
        item_done(b, it);
        return;
    }
    smbw_file *f = it->f;
    it->f = NULL;
    close_with_stat(it, f, IT_CLOSING);
}

/* The local copy: the temporary name, the data, times and mode, the rename
 * (the order of xf_finish in file.c). Returns false when it was not made
 * and the usual way should try (the temporary name is taken). */
static bool write_local(sc_batch *b, item *it)
{
    sc_ctx *ctx = b->ctx;
    const sc_epops *d = sc_ops(it->ln->dst);
    char *tmp = sc_temp_name(it->dpath, SC_PART_SUFFIX, d->name_max(it->ln->dst, it->dpath),
                             b->ctx->visible_temps);
    char *dd = sc_loc_display(it->ln->dst, it->dpath);
    const char *disp = sc_disp_or(dd, it->dpath);
    sc_fh h = SC_FH_NONE;
    sc_err e;
    bool made = false;
    if (tmp == NULL) {
        sc_fail_nomem(ctx);
        item_failed(b, it);
        goto out;
    }
    if (d->open_tmp(it->ln->dst, tmp, true, false, &h, &e) != 0) {
        free(tmp);
        free(dd);
        return false;
    }
    made = true;
    sc_meta m = {.access = it->ost.last_access_time,
                 .write = it->ost.last_write_time,
                 .mode = 0666 & ~ctx->umask};
    if (ctx->o->preserve && (it->ost.attributes & SMBW_FILE_ATTRIBUTE_READONLY))
        m.mode &= ~(mode_t)0222;
    if (d->put(it->ln->dst, &h, it->data, it->len, &e) != 0 ||
        (d->set_mode != NULL && d->set_mode(it->ln->dst, &h, &m, &e) != 0)) {
        sc_fail(ctx, &e, disp);
        item_failed(b, it);
        goto out;
    }
    sc_err w;
    if (ctx->o->preserve && d->set_times(it->ln->dst, &h, &m, &w) != 0)
        sc_warn(ctx, "set times of %s: %s", disp, sc_err_str(&w));
    if (d->close(it->ln->dst, &h, &e) != 0 ||
        d->rename(it->ln->dst, &h, tmp, it->dpath, false, &e) != 0) {
        sc_fail(ctx, &e, disp);
        item_failed(b, it);
        goto out;
    }
    made = false;
    it->ln->drops = 0;
    it->ln->files++;
    it->ended = true;
    ctx->files++;
    ctx->bytes += it->len;
    ctx->requests += 1;
    note_method(ctx, "stream");
out:
    if (made)
        d->discard(it->ln->dst, &h, tmp);
    d->close(it->ln->dst, &h, &e);
    free(tmp);
    free(dd);
    return true;
}

/* A file closed: written locally unless it changed while it was read. */
static void close_done(sc_batch *b, item *it)
{
    char *sd = NULL;
    if (it->err != 0) {
        sd = sc_loc_display(it->ln->src, it->spath);
        int r = after_failure(b, it, "close", sc_disp_or(sd, it->spath));
        free(sd);
        if (r > 0)
            return;
        if (r < 0) {
            item_failed(b, it);
            item_done(b, it);
            return;
        }
        it->got = false; /* a failed close: the change is not known */
    }
    if (sc_interrupted || b->rc != 0) {
        item_done(b, it);
        return;
    }
    if (it->got &&
        (it->cst.size != it->ost.size || it->cst.last_write_time != it->ost.last_write_time)) {
        sd = sc_loc_display(it->ln->src, it->spath);
        sc_fail_changed(b->ctx, sc_disp_or(sd, it->spath));
        free(sd);
        item_failed(b, it);
        item_done(b, it);
        return;
    }
    if (!write_local(b, it))
        fall_back(b, it);
    item_done(b, it);
}

/* ---- share -> share on one server ------------------------------------ */

static void settle(sc_batch *b);

/* The source's open answered (with its resume key, when the server gave
 * one). */
static void ss_src_cb(void *ud, int err, uint32_t status, smbw_file *f)
{
    item *it = ud;
    it->serr = err;
    if (it->err == 0)
        it->status = status;
    it->sf = f;
    it->ready = --it->pending == 0;
}

/* The provisional destination's CREATE answered. */
static void ss_dst_cb(void *ud, int err, uint32_t status, smbw_file *f)
{
    item *it = ud;
    it->err = err;
    it->status = status;
    it->f = f;
    it->ready = --it->pending == 0;
}

static void copied_cb(void *ud, int err, uint32_t status, uint64_t bytes)
{
    item *it = ud;
    it->err = err;
    it->status = status;
    it->copied = bytes;
    it->ready = true;
}

/* Whether a refusal says the server copies nothing server-side here. */
static bool ss_unsupported(int err, uint32_t status)
{
    return err == SMBW_ENOTSUP || status == SMBW_STATUS_NOT_SUPPORTED ||
           status == SMBW_STATUS_INVALID_DEVICE_REQUEST || status == SMBW_STATUS_NOT_IMPLEMENTED;
}

/* A server-side file not finished by the batch: both opens closed (the
 * destination, provisional, removed), then the usual way, which says what
 * is wrong or gets it right; nothing more after a lost connection (the
 * file counted as failed, the run ends) or an interruption. A connection
 * that came back (--retries): the usual way. */
static void ss_abandon(sc_batch *b, item *it, int err, const char *op)
{
    discard_open(it);
    if (it->sf != NULL) {
        smbw_file_free(it->sf);
        it->sf = NULL;
    }
    char *sd = sc_loc_display(it->ln->src, it->spath);
    bool lost = conn_lost(b, it, err, op, sc_disp_or(sd, it->spath));
    free(sd);
    if (lost)
        item_failed(b, it);
    else if (!sc_interrupted && b->rc == 0)
        fall_back(b, it);
    item_done(b, it);
}

/* The source's CLOSE: the destination kept with the source's times and
 * attributes unless the source changed while it was copied. */
static void ss_closed(sc_batch *b, item *it)
{
    sc_ctx *ctx = b->ctx;
    if (it->err != 0) {
        char *sd = sc_loc_display(it->ln->src, it->spath);
        bool lost = conn_lost(b, it, it->err, "close", sc_disp_or(sd, it->spath));
        free(sd);
        if (lost) {
            discard_open(it);
            item_failed(b, it);
            item_done(b, it);
            return;
        }
        it->got = false; /* a failed close: the change is not known */
    }
    if (sc_interrupted || b->rc != 0) {
        discard_open(it);
        item_done(b, it);
        return;
    }
    if (it->got &&
        (it->cst.size != it->ost.size || it->cst.last_write_time != it->ost.last_write_time)) {
        discard_open(it);
        char *sd = sc_loc_display(it->ln->src, it->spath);
        sc_fail_changed(ctx, sc_disp_or(sd, it->spath));
        free(sd);
        item_failed(b, it);
        item_done(b, it);
        return;
    }
    smbw_commit cm = SMBW_COMMIT_INIT;
    cm.keep = true;
    cm.set_basic = true;
    if (ctx->o->preserve) {
        cm.creation = it->ost.creation_time;
        cm.access = it->ost.last_access_time;
        cm.write = it->ost.last_write_time;
        cm.attributes = it->ost.attributes & SC_FILE_ATTRIBUTE_COPY_MASK;
    }
    if (cm.attributes == 0)
        cm.attributes = SMBW_FILE_ATTRIBUTE_ARCHIVE;
    replace_at_commit(it, &cm);
    it->size = it->ost.size;
    it->method = "copychunk";
    smbw_file *f = it->f;
    it->f = NULL;
    it->ready = false;
    it->st = IT_COMMITTING;
    int err = smbw_file_commit_async(f, &cm, commit_cb, it);
    if (err != 0) { /* f is freed (closed) already */
        it->err = err;
        it->step = SMBW_COMMIT_REQUEST;
        it->ready = true;
    }
}

/* The source closed, asking for its metadata at the close. */
static void ss_close_source(item *it)
{
    smbw_file *sf = it->sf;
    it->sf = NULL;
    it->err = 0;
    it->ready = false;
    close_with_stat(it, sf, IT_SS_CLOSING);
}

/* The copychunk answered: the whole file copied, or the usual way. */
static void ss_copied(sc_batch *b, item *it)
{
    if (it->err != 0 || it->copied != it->ost.size) {
        if (ss_unsupported(it->err, it->status))
            b->ss_off = true;
        ss_abandon(b, it, it->err, "copy");
        return;
    }
    ss_close_source(it);
}

/* Both opens answered: the copychunk (an empty file needs none). Anything
 * but a regular file that one chunk carries goes the usual way. */
static void ss_opened(sc_batch *b, item *it)
{
    if (it->serr != 0 || it->err != 0 || it->sf == NULL || it->f == NULL) {
        ss_abandon(b, it, it->serr != 0 ? it->serr : it->err, "copy");
        return;
    }
    if (sc_interrupted || b->rc != 0 || b->ss_off || smbw_file_open_stat(it->sf, &it->ost) != 0 ||
        it->ost.is_dir || it->ost.size > b->max_size) {
        ss_abandon(b, it, 0, "copy");
        return;
    }
    if (it->ost.size == 0) {
        ss_close_source(it);
        return;
    }
    it->ready = false;
    it->st = IT_SS_COPYING;
    int err = smbw_copy_chunk_async(it->sf, it->f, 0, 0, (uint32_t)it->ost.size,
                                    b->ctx->o->copychunk_read, copied_cb, it);
    if (err != 0) {
        if (ss_unsupported(err, 0))
            b->ss_off = true;
        ss_abandon(b, it, err, "copy");
    }
}

/* smb -> smb: the source's open with its resume key and the provisional
 * destination, sent together (sfi: the listing's entry). */
static int add_ss(sc_batch *b, item *it, bool *taken)
{
    it->st = IT_SS_OPENING;
    it->pending = 2;
    it->sent = true;
    int err = smbw_file_open_source_async(it->ln->src->tree, it->spath, ss_src_cb, it);
    if (err != 0) { /* nothing sent: the usual way says why */
        item_done(b, it);
        return b->rc;
    }
    *taken = true;
    smbw_create_params p;
    sc_tmp_params(&p, true, b->ctx->o->copychunk_read);
    err = smbw_file_create_write_provisional_async(it->ln->dst->tree, written_name(it), &p, NULL, 0,
                                                   ss_dst_cb, it);
    if (err != 0) { /* the source's answer finishes it (the usual way) */
        it->err = err;
        it->ready = --it->pending == 0;
    }
    settle(b);
    return b->rc;
}

/* Takes on every item whose callback ran. */
static void settle(sc_batch *b)
{
    for (int i = 0; i < SC_BATCH_ITEMS; i++) {
        item *it = &b->items[i];
        if (!it->ready || it->st == IT_FREE)
            continue;
        it->ready = false;
        if (it->st == IT_CREATING)
            created(b, it);
        else if (it->st == IT_COMMITTING)
            committed(b, it);
        else if (it->st == IT_READING)
            read_done(b, it);
        else if (it->st == IT_CLOSING)
            close_done(b, it);
        else if (it->st == IT_SS_OPENING)
            ss_opened(b, it);
        else if (it->st == IT_SS_COPYING)
            ss_copied(b, it);
        else
            ss_closed(b, it);
    }
}

/* The open lane with the fewest files in flight. */
static lane *least_busy(sc_batch *b)
{
    lane *best = &b->lanes[0];
    for (int i = 1; i < b->nlanes; i++)
        if (b->lanes[i].busy < best->busy)
            best = &b->lanes[i];
    return best;
}

/* Runs the connections until room (slot: a lane with fewer than
 * SC_BATCH_FILES files in flight, or one more lane to open; and size more
 * bytes fit), or until nothing is in flight (size NULL). */
static void pump(sc_batch *b, bool slot, const size_t *size)
{
    for (;;) {
        settle(b);
        if (b->busy == 0)
            return;
        if (size != NULL &&
            (!slot || b->nlanes < b->want || least_busy(b)->busy < SC_BATCH_FILES) &&
            (b->creating == 0 || b->creating + *size <= SC_BATCH_BYTES))
            return;
        /* A dead connection has completed all its requests: only the
         * live ones are waited on (all of them when none lives). */
        smbw_conn *c[SC_MAX_CONNECTIONS];
        int n = 0;
        for (int i = 0; i < b->nlanes; i++)
            if (!smbw_conn_is_dead(b->lanes[i].conn))
                c[n++] = b->lanes[i].conn;
        for (int i = 0; n == 0 && i < b->nlanes; i++)
            c[i] = b->lanes[i].conn;
        n = n > 0 ? n : b->nlanes;
        int which = -1;
        int err = smbw_conn_wait(c, n, 1000, &which);
        if (err != 0 && which >= 0 && !smbw_conn_is_dead(c[which]))
            continue; /* a wait refused (from a callback): try again */
    }
}

/* The end loc of a further lane l, on its own connection, as the batch's
 * end e (a share): *out. Returns 0 or an SMBW error (why says it). */
static int lane_end(sc_ctx *ctx, lane *l, const sc_loc *e, sc_loc *out, char *why, size_t n)
{
    memset(out, 0, sizeof(*out));
    out->remote = true;
    out->path = e->path; /* not the lane's: never freed through it */
    out->srv = &l->srv;
    out->share = e->share;
    return sc_server_lane_tree(ctx, &l->srv, e->share, &out->tree, why, n);
}

/* Opens one more lane: a further connection to the server of the batch,
 * logged in as the run's, with its own trees. false when that fails (then
 * said once, and the batch goes on over the lanes it has). */
static bool open_lane(sc_batch *b)
{
    sc_ctx *ctx = b->ctx;
    lane *l = &b->lanes[b->nlanes];
    const sc_loc *r = b->src->remote ? b->src : b->dst;
    char why[512] = "";
    memset(l, 0, sizeof(*l));
    int err = sc_server_lane(ctx, r->srv, &l->srv, why, sizeof(why));
    if (err == 0 && b->src->remote)
        err = lane_end(ctx, l, b->src, &l->lsrc, why, sizeof(why));
    if (err == 0 && b->dst->remote)
        err = lane_end(ctx, l, b->dst, &l->ldst, why, sizeof(why));
    if (err != 0) {
        if (!sc_interrupted)
            sc_warn(ctx, "small files: connection %d of %d: %s; copying over %d", b->nlanes + 1,
                    b->want, why, b->nlanes);
        sc_server_free(&l->srv);
        memset(l, 0, sizeof(*l));
        b->want = b->nlanes;
        return false;
    }
    l->conn = l->srv.conn;
    l->src = b->src->remote ? &l->lsrc : b->src;
    l->dst = b->dst->remote ? &l->ldst : b->dst;
    b->nlanes++;
    return true;
}

/* The lane for the next file: the least busy one, or a new one when none
 * is idle and --connections allows one more. */
static lane *pick_lane(sc_batch *b)
{
    lane *l = least_busy(b);
    if (l->busy > 0 && b->nlanes < b->want && !sc_interrupted && open_lane(b))
        return &b->lanes[b->nlanes - 1];
    return l->busy < SC_BATCH_FILES ? l : NULL;
}

/* Reads the open source whole (it->sst.st_size bytes) into *data
 * (malloc'd). Returns false when that fails (the usual way says why). */
static bool load_source(item *it, void **data)
{
    size_t size = (size_t)it->sst.st_size;
    uint8_t *buf = malloc(size > 0 ? size : 1);
    if (buf == NULL)
        return false;
    size_t got = 0;
    while (got < size) {
        ssize_t r = pread(it->fd, buf + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR && !sc_interrupted)
            continue;
        if (r <= 0) {
            free(buf);
            return false;
        }
        got += (size_t)r;
    }
    *data = buf;
    return true;
}

/* Opens the regular file spath and reads it whole when one request carries
 * it: *data (malloc'd), the open fd and its stat. Returns false when it is
 * not for the batch (the usual way says why). */
static bool read_source(sc_batch *b, item *it, void **data)
{
    it->fd = open(it->spath, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (it->fd < 0 || fstat(it->fd, &it->sst) != 0 || !S_ISREG(it->sst.st_mode) ||
        (uint64_t)it->sst.st_size > b->max_size)
        return false;
    return load_source(it, data);
}

/* Sends CREATE+READ of the share's file it->spath (it->want bytes
 * listed). 0, or the library's error (nothing sent). */
static int send_down(sc_batch *b, item *it)
{
    smbw_create_params p;
    smbw_create_params_from_flags(&p, SMBW_O_RDONLY);
    it->st = IT_READING;
    it->ready = false;
    it->held = it->want;
    b->creating += it->want;
    it->gen = smbw_conn_reconnects(it->ln->conn);
    it->sent = true;
    /* One byte more than listed: a file that grew is seen (not whole). */
    size_t ask = it->want < b->max_size ? it->want + 1 : it->want;
    return smbw_file_create_read_async(it->ln->src->tree, it->spath, &p, ask, read_cb, it);
}

/* Sends CREATE (marked) + WRITE of data, the whole local file, to
 * it->dpath on the share. 0, or the library's error (nothing sent). */
static int send_up(sc_batch *b, item *it, const void *data)
{
    size_t size = (size_t)it->sst.st_size;
    smbw_create_params p;
    sc_tmp_params(&p, true, b->ctx->o->copychunk_read);
    it->st = IT_CREATING;
    it->ready = false;
    it->held = size;
    b->creating += size;
    it->gen = smbw_conn_reconnects(it->ln->conn);
    it->sent = true;
    return smbw_file_create_write_provisional_async(it->ln->dst->tree, written_name(it), &p, data,
                                                    size, cw_cb, it);
}

/* A file whose request died with a dropped connection that came back:
 * sent again from the start, at most --retries times (nothing of it is
 * under its final name, or, if its commit did get through, the CREATE
 * finds the name taken and the usual way copies it again). */
static bool resend(sc_batch *b, item *it, bool again)
{
    /* server-side: the usual way (its opens died with the connection) */
    if (b->ss || (!again && it->tries >= b->ctx->o->retries) || sc_interrupted || b->rc != 0)
        return false;
    if (!again)
        it->tries++;
    discard_open(it);
    b->creating -= it->held;
    it->held = 0;
    free(it->data);
    it->data = NULL;
    it->len = 0;
    it->got = false;
    it->err = 0;
    int err;
    if (b->down) {
        err = send_down(b, it);
    } else {
        void *data = NULL;
        if (!load_source(it, &data))
            return false;
        err = send_up(b, it, data);
        free(data);
    }
    if (err != 0) {
        b->creating -= it->held;
        it->held = 0;
        it->st = IT_FREE;
        return false;
    }
    return true;
}

int sc_batch_add(sc_batch *b, const char *spath, const char *dpath, const sc_finfo *sfi,
                 bool replace, bool *taken)
{
    *taken = false;
    settle(b);
    if (b->rc != 0 || sc_interrupted)
        return b->rc;
    if (replace && b->down)
        return 0;
    item *it = NULL;
    size_t need = 0;
    if ((b->down || b->ss) && (sfi == NULL || !sfi->is_reg || sfi->size > b->max_size))
        return 0;
    if (b->ss && b->ss_off)
        return 0;
    pump(b, true, &need);
    for (int i = 0; i < SC_BATCH_ITEMS && it == NULL; i++)
        if (b->items[i].st == IT_FREE && !b->items[i].ready && b->items[i].spath == NULL)
            it = &b->items[i];
    lane *l = it != NULL && b->rc == 0 ? pick_lane(b) : NULL;
    if (l == NULL || b->rc != 0)
        return b->rc;
    void *data = NULL;
    it->spath = strdup(spath);
    it->dpath = strdup(dpath);
    it->seq = b->seq++;
    it->ln = l;
    l->busy++;
    b->busy++;
    if (replace && it->dpath != NULL &&
        (it->tmp =
             sc_temp_name(it->dpath, SC_PART_SUFFIX, sc_ops(l->dst)->name_max(l->dst, it->dpath),
                          b->ctx->visible_temps)) == NULL) {
        item_done(b, it);
        return 0;
    }
    if (b->ss && (it->spath == NULL || it->dpath == NULL)) {
        item_done(b, it);
        return 0;
    }
    if (b->ss)
        return add_ss(b, it, taken);
    if (it->spath == NULL || it->dpath == NULL || (!b->down && !read_source(b, it, &data))) {
        item_done(b, it);
        return 0;
    }
    size_t size = b->down ? (size_t)sfi->size : (size_t)it->sst.st_size;
    pump(b, false, &size);
    int err;
    if (b->down) {
        it->want = size;
        err = send_down(b, it);
    } else {
        err = send_up(b, it, data);
        free(data);
    }
    if (err != 0) { /* nothing sent: the usual way says why */
        item_done(b, it);
        return b->rc;
    }
    *taken = true;
    settle(b);
    return b->rc;
}

uint64_t sc_batch_mark(const sc_batch *b)
{
    return b == NULL ? 0 : b->seq;
}

bool sc_batch_done_to(sc_batch *b, uint64_t mark)
{
    if (b == NULL)
        return true;
    settle(b);
    for (int i = 0; i < SC_BATCH_ITEMS; i++) {
        const item *it = &b->items[i];
        if ((it->st != IT_FREE || it->ready || it->spath != NULL) && it->seq < mark)
            return false;
    }
    return true;
}

int sc_batch_poll(sc_batch *b)
{
    if (b == NULL)
        return 0;
    settle(b);
    return b->rc;
}

int sc_batch_drain(sc_batch *b)
{
    if (b == NULL)
        return 0;
    pump(b, false, NULL);
    count_traffic(b);
    if (b->dropped && b->rc == 0) {
        b->rc = SC_EXIT_INTR;
        sc_report(b->ctx, SC_EXIT_INTR, "interrupted");
    }
    return b->rc;
}

void sc_batch_free(sc_batch *b)
{
    if (b == NULL)
        return;
    sc_batch_drain(b);
    const sc_opts *o = b->ctx->o;
    if (b->nlanes > 1 && o->verbose > 0 && !o->quiet) {
        /* -v: how the files went (tests count on it) */
        char line[256];
        size_t n = 0;
        for (int i = 0; i < b->nlanes && n < sizeof(line); i++)
            n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%llu", i > 0 ? ", " : "",
                                  (unsigned long long)b->lanes[i].files);
        sc_progress_end(&b->ctx->prog);
        fprintf(stderr, "smbcopy: small files over %d connections: %s files\n", b->nlanes, line);
    }
    for (int i = 1; i < b->nlanes; i++)
        sc_server_free(&b->lanes[i].srv);
    free(b);
}
