/* Server-side copy room of smbcopy: one file copied by the server (clone,
 * copychunk, ODX, or the library's own streaming) when both ends are on
 * one connection, optionally over several connections (--connections). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "smbwire/copy.h"

#include "loc.h"
#include "report.h"
#include "sscopy.h"

/* ---- server-side copy ------------------------------------------------ */

typedef struct ss_progress {
    sc_progress *prog;
    sc_state *state;
    uint64_t start, end; /* the range being copied (a piece of the file, with auto lanes) */
} ss_progress;

static int ss_progress_cb(void *ud, uint64_t done, uint64_t contiguous, uint64_t total)
{
    ss_progress *p = ud;
    (void)total;
    sc_progress_update(p->prog, p->start + done);
    /* contiguous is UINT64_MAX once the whole range is done: its end, which is
     * not the file's end when the file is copied in pieces. */
    uint64_t upto = contiguous >= p->end - p->start ? p->end : p->start + contiguous;
    sc_state_note(p->state, upto);
    return sc_interrupted ? 1 : 0;
}

/* ---- one server-side copy over several connections (--connections) ---- */

#define LANE_MIN ((uint64_t)64 * 1024 * 1024) /* at least this much per connection */

typedef struct lane_conn {
    sc_server srv;       /* its own connection, session and trees (sc_server_lane) */
    smbw_copy_lane lane; /* its opens of the source and of the temporary file */
} lane_conn;

/* The further connections of the file being copied, kept from one try of
 * its copy to the next after a dropped connection: a dropped one is brought
 * back (its durable opens reclaimed) rather than replaced, so that no open
 * of the temporary file is left behind on the server. */
struct sc_lanes {
    char *spath, *tmp;
    lane_conn l[SC_MAX_CONNECTIONS]; /* l[1..]: l[0] is the files' own connection */
    bool gone[SC_MAX_CONNECTIONS];   /* dropped and not brought back: not replaced */
};

static void lane_close(lane_conn *l)
{
    if (l->lane.dst != NULL)
        smbw_file_free(l->lane.dst);
    if (l->lane.src != NULL)
        smbw_file_free(l->lane.src);
    sc_server_free(&l->srv);
    memset(l, 0, sizeof(*l));
}

void sc_ss_lanes_end(sc_ctx *ctx)
{
    sc_lanes *ls = ctx->lanes;
    if (ls == NULL)
        return;
    for (int i = 1; i < SC_MAX_CONNECTIONS; i++)
        lane_close(&ls->l[i]);
    free(ls->spath);
    free(ls->tmp);
    free(ls);
    ctx->lanes = NULL;
}

/* The lanes kept for spath -> tmp (none kept yet: new, empty ones; others
 * kept: closed first). NULL when out of memory. */
static sc_lanes *lanes_for(sc_ctx *ctx, const char *spath, const char *tmp)
{
    sc_lanes *ls = ctx->lanes;
    if (ls != NULL && strcmp(ls->spath, spath) == 0 && strcmp(ls->tmp, tmp) == 0)
        return ls;
    sc_ss_lanes_end(ctx);
    ls = calloc(1, sizeof(*ls));
    if (ls == NULL)
        return NULL;
    ls->spath = strdup(spath);
    ls->tmp = strdup(tmp);
    ctx->lanes = ls;
    if (ls->spath == NULL || ls->tmp == NULL) {
        sc_ss_lanes_end(ctx);
        return NULL;
    }
    return ls;
}

int sc_ss_lanes(const sc_opts *o, uint64_t len)
{
    int nconn = o->connections;
    if (nconn == SC_CONNECTIONS_AUTO) {
        /* Lanes only carry copychunk: a forced clone, ODX or stream copy
         * gains nothing from them. */
        bool chunks = o->method != SC_METHOD_CLONE && o->method != SC_METHOD_STREAM &&
                      o->method != SC_METHOD_ODX;
        nconn = chunks && len >= SC_AUTO_LANES_MIN ? SC_AUTO_LANES : 1;
    }
    while (nconn > 1 && len < (uint64_t)nconn * LANE_MIN)
        nconn--;
    return nconn;
}

/* One further connection to src's server with its own session, trees and
 * opens of the source and of the temporary destination: durable where the
 * files' own connection's are (with a lease R|H, sc_server_durable).
 * Returns 0, or an SMBW error with a message in why. */
static int lane_open(sc_ctx *ctx, const sc_loc *src, const char *spath, const sc_loc *dst,
                     const char *tmp, lane_conn *l, char *why, size_t whylen)
{
    const sc_opts *o = ctx->o;
    memset(l, 0, sizeof(*l));
    int err = sc_server_lane(ctx, src->srv, &l->srv, why, whylen);
    if (err != 0)
        return err;
    smbw_tree *st = NULL, *dt = NULL;
    err = sc_server_lane_tree(ctx, &l->srv, src->share, &st, why, whylen);
    if (err == 0)
        err = sc_server_lane_tree(ctx, &l->srv, dst->share, &dt, why, whylen);
    if (err == 0 && sc_server_leases(&l->srv) && dst->srv->durable)
        err = sc_server_durable(ctx, &l->srv, true, true);
    const char *op = NULL;
    if (err == 0) {
        op = "open source";
        err = smbw_file_open(&l->lane.src, st, spath, SMBW_O_RDONLY);
    }
    if (err == 0) {
        op = "open destination";
        err =
            smbw_file_open(&l->lane.dst, dt, tmp, o->copychunk_read ? SMBW_O_RDWR : SMBW_O_WRONLY);
    }
    if (err != 0 && op != NULL) {
        const char *m = smbw_conn_errmsg(l->srv.conn);
        snprintf(why, whylen, "%s: %s%s%s%s", op, smbw_strerror(err), m[0] != '\0' ? " (" : "", m,
                 m[0] != '\0' ? ")" : "");
    }
    if (err != 0)
        lane_close(l);
    return err;
}

/* Lane i of the copy ready: kept and alive; kept, dropped and brought back
 * with both its files (reclaimed, or reopened by path and found the same);
 * or opened now. One that cannot be brought back is not replaced (a new
 * connection could be weaker than the lost one's). Returns 0, or an SMBW
 * error with a message in why (the copy goes on without the lane). */
static int lane_ready(sc_ctx *ctx, const sc_loc *src, const char *spath, const sc_loc *dst,
                      const char *tmp, lane_conn *l, char *why, size_t whylen)
{
    why[0] = '\0';
    if (l->srv.conn == NULL)
        return lane_open(ctx, src, spath, dst, tmp, l, why, whylen);
    if (!smbw_conn_is_dead(l->srv.conn))
        return 0;
    int err = SMBW_EDEAD;
    if (ctx->o->retries > 0 && !sc_interrupted && sc_conn_dropped(l->srv.conn)) {
        err = smbw_conn_reconnect(l->srv.conn); /* counted and told by its notify */
        ctx->reconnect_gave_up = 0;             /* the copy goes on without it */
    }
    if (err == 0 && smbw_file_attached(l->lane.src) && smbw_file_attached(l->lane.dst))
        return 0;
    if (err == 0)
        snprintf(why, whylen, "its open files did not come back after the reconnect");
    else
        snprintf(why, whylen, "%s: %s", smbw_strerror(err), smbw_conn_errmsg(l->srv.conn));
    lane_close(l);
    return err != 0 ? err : SMBW_EDEAD;
}

/* ---- --connections=auto: measure, then keep the faster ---------------- */

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void add_stats(smbw_copy_stats *total, const smbw_copy_stats *s)
{
    total->method = s->method;
    total->bytes += s->bytes;
    total->requests += s->requests;
    total->retries += s->retries;
    total->wire_bytes += s->wire_bytes;
}

/* One piece [off, off + len) over lanes[0..n-1] (one lane: smbw_copy_range);
 * the progress base moves to off; *secs gets the piece's time. */
static int copy_piece(const smbw_copy_lane *lanes, int n, uint64_t off, uint64_t len,
                      const smbw_copy_opts *co, ss_progress *sp, smbw_copy_stats *total,
                      double *secs)
{
    smbw_copy_stats s;
    memset(&s, 0, sizeof(s));
    sp->start = off;
    sp->end = off + len;
    double t0 = mono_seconds();
    int err = n == 1 ? smbw_copy_range(lanes[0].src, lanes[0].dst, off, off, len, co, &s)
                     : smbw_copy_range_multi(lanes, n, off, off, len, co, &s);
    *secs = mono_seconds() - t0;
    add_stats(total, &s);
    return err;
}

/* --connections=auto with lanes open: SC_AUTO_PROBE bytes over one lane, the
 * next SC_AUTO_PROBE over all n, then the rest over whichever was at least
 * 10% faster, so a server that gains nothing from lanes (busy cores, one
 * disk) loses no more than the second probe's difference. */
static int copy_auto(sc_ctx *ctx, const char *spath, const smbw_copy_lane *lanes, int n,
                     uint64_t start, uint64_t size, const smbw_copy_opts *co, ss_progress *sp,
                     smbw_copy_stats *stats)
{
    double t1 = 0, tn = 0, rest = 0;
    uint64_t off = start;
    int err = copy_piece(lanes, 1, off, SC_AUTO_PROBE, co, sp, stats, &t1);
    off += SC_AUTO_PROBE;
    if (err == 0)
        err = copy_piece(lanes, n, off, SC_AUTO_PROBE, co, sp, stats, &tn);
    off += SC_AUTO_PROBE;
    int use = tn < 0.9 * t1 ? n : 1;
    if (err == 0 && ctx->o->verbose > 0 && !ctx->o->quiet)
        fprintf(stderr,
                "smbcopy: %s: 1 connection %.1f ms, %d connections %.1f ms per %llu MiB: "
                "the rest over %d\n",
                spath, t1 * 1e3, n, tn * 1e3, (unsigned long long)(SC_AUTO_PROBE >> 20), use);
    if (err == 0)
        err = copy_piece(lanes, use, off, size - off, co, sp, stats, &rest);
    return err;
}

/* See sscopy.h. */
int sc_try_server_side(sc_ctx *ctx, const sc_loc *src, const char *spath, smbw_file *sf,
                       const sc_loc *dst, const char *tmp, smbw_file *df, uint64_t start,
                       uint64_t size, sc_state *state, const char **method)
{
    if (!src->remote || !dst->remote || src->srv != dst->srv)
        return SMBW_ENOTSUP;
    const sc_opts *o = ctx->o;
    smbw_copy_opts co = SMBW_COPY_OPTS_INIT;
    switch (o->method) {
    case SC_METHOD_CLONE:
        co.method = SMBW_COPY_CLONE;
        break;
    case SC_METHOD_COPYCHUNK:
        co.method = SMBW_COPY_COPYCHUNK;
        break;
    case SC_METHOD_STREAM:
        co.method = SMBW_COPY_STREAM;
        break;
    case SC_METHOD_ODX:
        co.method = SMBW_COPY_ODX;
        break;
    default:
        co.method = SMBW_COPY_AUTO;
        break;
    }
    co.depth = o->depth_set ? o->depth : 0;
    co.chunk_size = o->chunk_size;
    co.copychunk_read = o->copychunk_read;
    co.no_preserve = true; /* smbcopy sets times and attributes itself */
    ss_progress sp = {.prog = &ctx->prog, .state = state, .start = start, .end = size};
    co.progress = ss_progress_cb;
    co.progress_ud = &sp;
    smbw_copy_stats stats;
    memset(&stats, 0, sizeof(stats));
    int err = 0;
    int nconn = sc_ss_lanes(o, size - start);
    if (nconn > 1) {
        /* The library spreads the copychunk work over the lanes (each its own
         * connection, session, opens and resume key) from this thread. */
        sc_lanes *ls = lanes_for(ctx, spath, tmp);
        smbw_copy_lane lanes[SC_MAX_CONNECTIONS];
        lanes[0].src = sf;
        lanes[0].dst = df;
        int n = 1;
        bool opens_fail = false; /* a new lane could not be had: no more are tried */
        for (int i = 1; ls != NULL && i < SC_MAX_CONNECTIONS; i++) {
            lane_conn *l = &ls->l[i];
            if (i >= nconn || ls->gone[i] || (opens_fail && l->srv.conn == NULL)) {
                lane_close(l); /* fewer needed for what is left, or lost */
                continue;
            }
            bool fresh = l->srv.conn == NULL;
            char why[512];
            if (lane_ready(ctx, src, spath, dst, tmp, l, why, sizeof(why)) != 0) {
                /* Go on with the connections there are. */
                sc_warn(ctx, "copy %s: connection %d of %d: %s; copying over fewer", spath, i + 1,
                        nconn, why);
                opens_fail |= fresh;
                ls->gone[i] = !fresh;
                continue;
            }
            lanes[n++] = l->lane;
        }
        if (n > 1 && o->connections == SC_CONNECTIONS_AUTO)
            err = copy_auto(ctx, spath, lanes, n, start, size, &co, &sp, &stats);
        else if (n > 1)
            err = smbw_copy_range_multi(lanes, n, start, start, size - start, &co, &stats);
        else
            err = smbw_copy_range(sf, df, start, start, size - start, &co, &stats);
        /* A dropped connection (this one or a lane) is brought back and the
         * copy goes on from its contiguous mark (the file's retry): the
         * lanes are kept for it. Otherwise they are done. */
        bool lane_dropped = false;
        for (int i = 1; ls != NULL && i < SC_MAX_CONNECTIONS; i++)
            lane_dropped |= ls->l[i].srv.conn != NULL && sc_conn_dropped(ls->l[i].srv.conn);
        /* A copychunk sent on a lane found dead: its drop. */
        if (err == SMBW_EDEAD && lane_dropped)
            err = SMBW_EIO;
        if (err == 0 || o->retries == 0 || !(lane_dropped || sc_conn_dropped(src->srv->conn)))
            sc_ss_lanes_end(ctx);
    } else if (size > start)
        err = smbw_copy_range(sf, df, start, start, size - start, &co, &stats);
    else
        stats.method = co.method == SMBW_COPY_AUTO ? SMBW_COPY_COPYCHUNK : co.method;
    ctx->requests += stats.requests;
    ctx->wire_bytes += stats.wire_bytes;
    if (err == 0)
        *method = smbw_copy_method_name(stats.method);
    return err;
}
