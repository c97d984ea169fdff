/* The copy engine: block clone, pipelined copychunk, pipelined streaming.
 * See include/smbwire/copy.h for the contract. */
#include "smbwire/copy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/api.h"
#include "../util/sized.h"

#define MAX_DEPTH 64
#define DEFAULT_CHUNK (1u << 20)
#define DEFAULT_NCHUNKS 16u
/* Windows' own limits, the ceiling we ask for unless told otherwise. */
#define MAX_NCHUNKS 256u
#define MAX_LIMIT_RETRIES 4
#define MAX_STALLS 3
#define CLONE_PIECE (1ull << 30)
#define STREAM_CHUNK (1u << 20)
#define STREAM_DEPTH 8

const char *smbw_copy_method_name(smbw_copy_method m)
{
    switch (m) {
    case SMBW_COPY_AUTO:
        return "auto";
    case SMBW_COPY_CLONE:
        return "clone";
    case SMBW_COPY_COPYCHUNK:
        return "copychunk";
    case SMBW_COPY_STREAM:
        return "stream";
    case SMBW_COPY_ODX:
        return "odx";
    default:
        return "unknown";
    }
}

/* ---- segment queue: ranges still to copy, kept in source order ----------- */

typedef struct seg {
    uint64_t src, dst, len;
} seg;

typedef struct segq {
    seg *v;
    size_t head, n, cap; /* live entries are v[head .. head+n) */
} segq;

static void segq_free(segq *q)
{
    free(q->v);
    memset(q, 0, sizeof *q);
}

static int segq_push_back(segq *q, seg s)
{
    if (!s.len)
        return 0;
    if (q->head + q->n == q->cap) {
        if (q->head > 0) {
            memmove(q->v, q->v + q->head, q->n * sizeof *q->v);
            q->head = 0;
        } else {
            size_t cap = q->cap ? q->cap * 2 : 16;
            seg *v = realloc(q->v, cap * sizeof *v);
            if (!v)
                return SMBW_ENOMEM;
            q->v = v;
            q->cap = cap;
        }
    }
    q->v[q->head + q->n++] = s;
    return 0;
}

static int segq_push_front(segq *q, seg s)
{
    if (!s.len)
        return 0;
    if (q->head == 0) {
        if (q->n == q->cap) {
            size_t cap = q->cap ? q->cap * 2 : 16;
            seg *v = realloc(q->v, cap * sizeof *v);
            if (!v)
                return SMBW_ENOMEM;
            q->v = v;
            q->cap = cap;
        }
        memmove(q->v + 1, q->v, q->n * sizeof *q->v);
        q->head = 1;
    }
    q->v[--q->head] = s;
    q->n++;
    return 0;
}

static seg *segq_front(segq *q)
{
    return q->n ? &q->v[q->head] : NULL;
}

static void segq_pop(segq *q)
{
    q->head++;
    q->n--;
    if (!q->n)
        q->head = 0;
}

static uint64_t segq_bytes(const segq *q)
{
    uint64_t t = 0;
    for (size_t i = 0; i < q->n; i++)
        t += q->v[q->head + i].len;
    return t;
}

/* ---- shared engine state -------------------------------------------------- */

typedef struct engine {
    smbw_file *src, *dst;
    smbw_conn *sc, *dc;
    const smbw_copy_opts *o;
    smbw_copy_stats *st;
    segq q;
    uint64_t range_src; /* start of the whole range, for `contiguous` */
    uint64_t total;     /* bytes to copy */
    uint64_t done;
    uint64_t by_clone, by_cc, by_stream, by_odx;
    int err;
    bool fallback; /* copychunk refused: stream the rest (AUTO) */
} engine;

/* Lowest source offset of work not yet done, for the contiguous mark. */
static uint64_t outstanding_min(const engine *e, const seg *extra, size_t nextra)
{
    uint64_t m = UINT64_MAX;
    for (size_t i = 0; i < e->q.n; i++)
        if (e->q.v[e->q.head + i].src < m)
            m = e->q.v[e->q.head + i].src;
    for (size_t i = 0; i < nextra; i++)
        if (extra[i].len && extra[i].src < m)
            m = extra[i].src;
    return m;
}

static int report(engine *e, uint64_t lowest)
{
    if (!e->o->progress)
        return 0;
    uint64_t contiguous = lowest == UINT64_MAX ? UINT64_MAX : lowest - e->range_src;
    if (contiguous == UINT64_MAX)
        contiguous = e->total == 0 ? 0 : UINT64_MAX; /* everything */
    if (e->o->progress(e->o->progress_ud, e->done, contiguous, e->total))
        return SMBW_ECANCELED;
    return 0;
}

/* Waits on a set of connections (duplicates allowed) until something
 * happened on one of them or the earliest deadline passed. */
static int wait_conn_set(smbw_conn *const *conns, int nconns)
{
    return io_wait_any(conns, nconns, -1, NULL);
}

static int wait_conns(smbw_conn *a, smbw_conn *b)
{
    smbw_conn *cs[2] = {a, b ? b : a};
    return wait_conn_set(cs, 2);
}

/* Whether a connection has requests that can still be answered: alive with
 * requests in flight, or dead with them parked for a reconnect. A dead one
 * without that has completed its requests already. */
static bool conn_waitable(smbw_conn *c)
{
    return c != NULL && core_pending_count(c) > 0 && (!c->dead || c->parked != NULL);
}

/* After a failure: waits on whichever of a and b can still answer, so that
 * no request refers to a caller's frame once it is gone. 1 when neither
 * can (the caller stops), else what the wait returned. */
static int wait_conns_left(smbw_conn *a, smbw_conn *b)
{
    smbw_conn *cs[2];
    int n = 0;
    if (conn_waitable(a))
        cs[n++] = a;
    if (b != a && conn_waitable(b))
        cs[n++] = b;
    return n ? wait_conn_set(cs, n) : 1;
}

/* ---- copychunk ------------------------------------------------------------ */

typedef struct cc_slot {
    struct cc_engine *ce;
    bool busy;
    seg ch[MAX_NCHUNKS];
    uint32_t n;
    uint64_t bytes;
    uint32_t built_chunk, built_n; /* limits the request was built with */
    uint64_t built_total;
} cc_slot;

/* One lane: a source and destination open on one connection, with its own
 * resume key, limits and requests in flight. Lanes share the work queue. */
typedef struct cc_engine {
    engine *e;
    smbw_file *src, *dst;
    smbw_conn *c;
    uint8_t key[SMB2_RESUME_KEY_SIZE];
    uint32_t ctl;
    uint32_t chunk, nchunks;
    uint64_t maxtotal;
    int inflight;
    int limit_retries;
    int stalls;
    cc_slot *slots;
    int depth;
} cc_engine;

static bool is_unsupported(uint32_t status)
{
    return status == SMBW_STATUS_INVALID_DEVICE_REQUEST || status == SMBW_STATUS_NOT_SUPPORTED ||
           status == SMBW_STATUS_NOT_IMPLEMENTED;
}

/* Puts a slot's unfinished chunks back in front of the queue, skipping the
 * first `skip` bytes (already written). */
static int requeue(engine *e, cc_slot *s, uint64_t skip)
{
    for (uint32_t i = s->n; i-- > 0;) {
        seg c = s->ch[i];
        uint64_t before = 0;
        for (uint32_t j = 0; j < i; j++)
            before += s->ch[j].len;
        if (skip >= before + c.len)
            continue;
        if (skip > before) {
            uint64_t d = skip - before;
            c.src += d;
            c.dst += d;
            c.len -= d;
        }
        int rc = segq_push_front(&e->q, c);
        if (rc)
            return rc;
    }
    return 0;
}

static void cc_fail(engine *e, int err)
{
    if (!e->err)
        e->err = err;
}

static void cc_done(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    cc_slot *s = ud;
    cc_engine *ce = s->ce;
    engine *e = ce->e;
    s->busy = false;
    ce->inflight--;
    if (err && !status) {
        cc_fail(e, err); /* transport / local failure */
        return;
    }
    srv_copychunk_rsp r;
    bool have_body = len > 0 && wire_decode_copychunk_rsp(data, len, &r) == 0;
    if (status == SMBW_STATUS_SUCCESS) {
        if (!have_body) {
            core_set_error(ce->c, SMBW_EPROTO, 0, "copychunk response without a body");
            cc_fail(e, SMBW_EPROTO);
            return;
        }
        if (r.total_bytes_written > s->bytes || r.chunks_written > s->n) {
            core_set_error(ce->c, SMBW_EPROTO, 0,
                           "copychunk response claims %u bytes in %u chunks, but %llu bytes in "
                           "%u chunks were asked",
                           r.total_bytes_written, r.chunks_written, (unsigned long long)s->bytes,
                           s->n);
            cc_fail(e, SMBW_EPROTO);
            return;
        }
        e->done += r.total_bytes_written;
        e->by_cc += r.total_bytes_written;
        if (r.total_bytes_written < s->bytes) {
            e->st->retries++;
            if (r.total_bytes_written == 0 && ++ce->stalls > MAX_STALLS) {
                /* Accepted and never done: server-side copy this server
                 * does not give (a caller may stream instead). */
                core_set_error(ce->c, SMBW_ENOTSUP, 0,
                               "server-side copy makes no progress (%d answers of 0 bytes "
                               "written)",
                               ce->stalls);
                cc_fail(e, SMBW_ENOTSUP);
                return;
            }
            int rc = requeue(e, s, r.total_bytes_written);
            if (rc)
                cc_fail(e, rc);
        } else {
            ce->stalls = 0;
        }
        return;
    }
    if (status == SMBW_STATUS_INVALID_PARAMETER && have_body) {
        /* The server's limits: max chunks, max chunk size, max total. */
        if (r.chunks_written == 0 || r.chunk_bytes_written == 0 || r.total_bytes_written == 0) {
            core_set_error(ce->c, SMBW_EPROTO, status,
                           "server announced unusable copychunk limits (%u chunks, %u bytes per "
                           "chunk, %u bytes per request)",
                           r.chunks_written, r.chunk_bytes_written, r.total_bytes_written);
            cc_fail(e, SMBW_EPROTO);
            return;
        }
        bool exceeded = s->built_n > r.chunks_written || s->built_chunk > r.chunk_bytes_written ||
                        s->built_total > r.total_bytes_written;
        if (!exceeded || ++ce->limit_retries > MAX_LIMIT_RETRIES) {
            core_set_error(ce->c, SMBW_ESTATUS, status,
                           "copychunk rejected: STATUS_INVALID_PARAMETER within the server's "
                           "limits (%u chunks, %u bytes per chunk, %u per request)",
                           r.chunks_written, r.chunk_bytes_written, r.total_bytes_written);
            cc_fail(e, SMBW_ESTATUS);
            return;
        }
        e->st->retries++;
        if (r.chunks_written < ce->nchunks)
            ce->nchunks = r.chunks_written;
        if (r.chunk_bytes_written < ce->chunk)
            ce->chunk = r.chunk_bytes_written;
        if (r.total_bytes_written < ce->maxtotal)
            ce->maxtotal = r.total_bytes_written;
        smbw_tree *dt = ce->dst->tree;
        dt->cc_max_chunks = ce->nchunks;
        dt->cc_max_chunk_size = ce->chunk;
        dt->cc_max_total = (uint32_t)ce->maxtotal;
        int rc = requeue(e, s, 0);
        if (rc)
            cc_fail(e, rc);
        return;
    }
    if (is_unsupported(status) && e->o->method == SMBW_COPY_AUTO) {
        e->fallback = true;
        int rc = requeue(e, s, 0);
        if (rc)
            cc_fail(e, rc);
        return;
    }
    if (status == SMBW_STATUS_INVALID_VIEW_SIZE) {
        core_set_error(ce->c, SMBW_EIO, status,
                       "the source is shorter than the range being copied (it changed during "
                       "the copy?)");
        cc_fail(e, SMBW_EIO);
        return;
    }
    cc_fail(e, err ? err : SMBW_ESTATUS);
}

static int cc_send(cc_engine *ce, cc_slot *s)
{
    engine *e = ce->e;
    s->n = 0;
    s->bytes = 0;
    s->built_chunk = 0;
    while (s->n < ce->nchunks && s->bytes < ce->maxtotal) {
        seg *f = segq_front(&e->q);
        if (!f)
            break;
        uint64_t take = f->len;
        if (take > ce->chunk)
            take = ce->chunk;
        if (take > ce->maxtotal - s->bytes)
            take = ce->maxtotal - s->bytes;
        s->ch[s->n].src = f->src;
        s->ch[s->n].dst = f->dst;
        s->ch[s->n].len = take;
        if (take > s->built_chunk)
            s->built_chunk = (uint32_t)take;
        s->n++;
        s->bytes += take;
        f->src += take;
        f->dst += take;
        f->len -= take;
        if (!f->len)
            segq_pop(&e->q);
    }
    s->built_n = s->n;
    s->built_total = s->bytes;
    srv_copychunk cc[MAX_NCHUNKS];
    for (uint32_t i = 0; i < s->n; i++) {
        cc[i].source_offset = s->ch[i].src;
        cc[i].target_offset = s->ch[i].dst;
        cc[i].length = (uint32_t)s->ch[i].len;
    }
    smbw_buf b;
    buf_init(&b);
    int rc = wire_encode_copychunk(&b, ce->key, cc, s->n);
    if (!rc)
        rc = smbw_file_ioctl_async(ce->dst, ce->ctl, b.p, b.len, 12, cc_done, s);
    buf_free(&b);
    if (rc) {
        int r2 = requeue(e, s, 0);
        (void)r2;
        return rc;
    }
    s->busy = true;
    ce->inflight++;
    e->st->requests++;
    return 0;
}

static int get_resume_key(cc_engine *ce)
{
    engine *e = ce->e;
    if (ce->src->has_key) { /* it came with the open (smbw_file_open_source) */
        memcpy(ce->key, ce->src->key, SMB2_RESUME_KEY_SIZE);
        return 0;
    }
    void *out = NULL;
    size_t outlen = 0;
    int rc =
        smbw_file_ioctl(ce->src, SMBW_FSCTL_SRV_REQUEST_RESUME_KEY, NULL, 0, 4096, &out, &outlen);
    e->st->requests++;
    if (rc) {
        free(out);
        return rc;
    }
    srv_resume_key k;
    if (wire_decode_resume_key(out, outlen, &k) != 0) {
        free(out);
        return core_set_error(ce->c, SMBW_EPROTO, 0, "malformed SRV_REQUEST_RESUME_KEY (%zu bytes)",
                              outlen);
    }
    memcpy(ce->key, k.key, SMB2_RESUME_KEY_SIZE);
    free(out);
    return 0;
}

/* Prepares a lane: resume key (on the lane's own connection: the key is
 * only known to the server process that serves it), limits, slots. */
static int lane_init(engine *e, cc_engine *ce, smbw_file *src, smbw_file *dst)
{
    memset(ce, 0, sizeof *ce);
    ce->e = e;
    ce->src = src;
    ce->dst = dst;
    ce->c = dst->tree->sess->conn;
    ce->ctl = e->o->copychunk_read ? SMBW_FSCTL_SRV_COPYCHUNK : SMBW_FSCTL_SRV_COPYCHUNK_WRITE;
    int rc = get_resume_key(ce);
    if (rc) {
        uint32_t st = smbw_last_status(ce->c);
        if (e->o->method == SMBW_COPY_AUTO && (rc == SMBW_ENOTSUP || is_unsupported(st))) {
            e->fallback = true;
            return 0;
        }
        if (rc == SMBW_ENOTSUP)
            core_set_error(ce->c, SMBW_ENOTSUP, st,
                           "the server does not support server-side copy (%s)",
                           smbw_status_name(st));
        return rc;
    }
    smbw_tree *dt = dst->tree;
    ce->chunk = e->o->chunk_size ? e->o->chunk_size : DEFAULT_CHUNK;
    ce->nchunks = e->o->chunks_per_request ? e->o->chunks_per_request : DEFAULT_NCHUNKS;
    if (ce->nchunks > MAX_NCHUNKS)
        ce->nchunks = MAX_NCHUNKS;
    ce->maxtotal = (uint64_t)ce->chunk * ce->nchunks;
    if (dt->cc_max_chunks) {
        if (ce->nchunks > dt->cc_max_chunks)
            ce->nchunks = dt->cc_max_chunks;
        if (ce->chunk > dt->cc_max_chunk_size)
            ce->chunk = dt->cc_max_chunk_size;
        if (ce->maxtotal > dt->cc_max_total)
            ce->maxtotal = dt->cc_max_total;
    }
    /* A request must fit the connection's MaxTransactSize. */
    uint64_t fit = (ce->c->max_transact - 32) / 24;
    if (ce->nchunks > fit)
        ce->nchunks = (uint32_t)fit;
    ce->depth = e->o->depth > 0 ? e->o->depth : SMBW_COPY_DEFAULT_DEPTH;
    if (ce->depth > MAX_DEPTH)
        ce->depth = MAX_DEPTH;
    ce->slots = calloc((size_t)ce->depth, sizeof *ce->slots);
    if (!ce->slots)
        return SMBW_ENOMEM;
    for (int i = 0; i < ce->depth; i++)
        ce->slots[i].ce = ce;
    return 0;
}

/* Requests in flight over every lane. */
static int lanes_inflight(const cc_engine *lanes, int n)
{
    int inflight = 0;
    for (int l = 0; l < n; l++)
        inflight += lanes[l].inflight;
    return inflight;
}

/* Whether a lane has requests that can still be answered: its connection
 * is alive, or dead with the requests parked for a reconnect. */
static bool lane_answerable(const cc_engine *ce)
{
    return ce->inflight > 0 && conn_waitable(ce->c);
}

/* The copychunk pipeline over one or more lanes sharing one work queue. */
static int run_copychunk(engine *e, smbw_file *const *srcs, smbw_file *const *dsts, int nlanes)
{
    cc_engine lanes[SMBW_COPY_MAX_LANES];
    int n = 0, rc = 0;
    for (; n < nlanes; n++) {
        rc = lane_init(e, &lanes[n], srcs[n], dsts[n]);
        if (rc || e->fallback) {
            n++;
            break;
        }
    }
    if (rc || e->fallback)
        goto out;
    for (;;) {
        int inflight = 0;
        if (!e->err && !e->fallback) {
            /* Fill the lanes in turn, one request each round, so the work
             * is spread over every connection. */
            bool sent = true;
            while (sent && e->q.n && !e->err) {
                sent = false;
                for (int l = 0; l < n && e->q.n && !e->err; l++) {
                    cc_engine *ce = &lanes[l];
                    for (int i = 0; i < ce->depth; i++) {
                        if (ce->slots[i].busy)
                            continue;
                        rc = cc_send(ce, &ce->slots[i]);
                        if (rc)
                            cc_fail(e, rc);
                        else
                            sent = true;
                        break;
                    }
                }
            }
        }
        inflight = lanes_inflight(lanes, n);
        if (inflight == 0)
            break;
        /* Wait for a completion, also after an error: requests still in
         * flight must finish before the slots (and this frame) go away. A
         * lane whose connection died without a way back has had its
         * requests completed; the others are still waited for. */
        int before = inflight;
        while (inflight == before) {
            smbw_conn *live[SMBW_COPY_MAX_LANES];
            int nl = 0;
            for (int l = 0; l < n; l++)
                if (lane_answerable(&lanes[l]))
                    live[nl++] = lanes[l].c;
            if (nl == 0)
                break;
            rc = wait_conn_set(live, nl);
            inflight = lanes_inflight(lanes, n);
            if (rc) {
                cc_fail(e, rc);
                break;
            }
        }
        bool answerable = false;
        for (int l = 0; l < n; l++)
            answerable |= lane_answerable(&lanes[l]);
        if (inflight > 0 && !answerable) {
            /* Nothing in flight can still be answered: complete what is
             * left (none, unless a connection lost track) so that no
             * request refers to this frame once it is gone. */
            for (int l = 0; l < n; l++)
                if (lanes[l].inflight > 0) {
                    cc_fail(e, SMBW_EIO);
                    core_fail_parked(lanes[l].c, SMBW_ECANCELED);
                    core_fail_all(lanes[l].c, SMBW_ECANCELED);
                }
            break;
        }
        if (!e->err) {
            seg extra[MAX_DEPTH * SMBW_COPY_MAX_LANES];
            size_t nx = 0;
            for (int l = 0; l < n; l++)
                for (int i = 0; i < lanes[l].depth; i++)
                    if (lanes[l].slots[i].busy && lanes[l].slots[i].n)
                        extra[nx++] = lanes[l].slots[i].ch[0];
            rc = report(e, outstanding_min(e, extra, nx));
            if (rc)
                cc_fail(e, rc);
        }
    }
    e->st->chunk_size = lanes[0].chunk;
    e->st->chunks_per_request = lanes[0].nchunks;
    e->st->request_bytes = lanes[0].maxtotal;
out:
    for (int l = 0; l < n; l++)
        free(lanes[l].slots);
    return rc && !e->err ? rc : e->err;
}

/* ---- block clone ----------------------------------------------------------- */

static int fs_info(smbw_file *f, uint8_t cls, void **out, size_t *len)
{
    return smbw_file_query_info(f, SMB2_0_INFO_FILESYSTEM, cls, 0, 1024, out, len);
}

static bool clone_supported(engine *e)
{
    smbw_tree *t = e->dst->tree;
    if (!t->fs_attributes_known) {
        void *d = NULL;
        size_t n = 0;
        uint32_t attrs = 0, maxname = 0;
        if (fs_info(e->dst, FileFsAttributeInformation, &d, &n) == 0 &&
            wire_decode_fs_attribute_info(d, n, &attrs, &maxname) == 0)
            t->fs_attributes = attrs;
        free(d);
        t->fs_attributes_known = true;
    }
    return (t->fs_attributes & FILE_SUPPORTS_BLOCK_REFCOUNTING) != 0;
}

static uint32_t cluster_size(engine *e)
{
    void *d = NULL;
    size_t n = 0;
    uint32_t cl = 4096;
    smb2_fs_size_info fs;
    if (fs_info(e->dst, FileFsSizeInformation, &d, &n) == 0 &&
        wire_decode_fs_size_info(d, n, &fs) == 0) {
        uint64_t c = (uint64_t)fs.sectors_per_unit * fs.bytes_per_sector;
        if (c >= 512 && c <= (1u << 20) && (c & (c - 1)) == 0)
            cl = (uint32_t)c;
    }
    free(d);
    return cl;
}

static int run_clone(engine *e, uint64_t src_size, uint64_t dst_end)
{
    uint32_t cl = cluster_size(e);
    smbw_stat dst_st;
    int rc = smbw_file_stat(e->dst, &dst_st);
    if (rc)
        return rc;
    /* The target range must lie inside the destination: size it first. */
    if (dst_st.size < dst_end) {
        rc = smbw_file_truncate(e->dst, dst_end);
        if (rc)
            return rc;
    }
    segq rest;
    memset(&rest, 0, sizeof rest);
    bool refused = false;
    while (e->q.n && !rc) {
        seg s = *segq_front(&e->q);
        segq_pop(&e->q);
        if (!refused && s.src % cl && s.src % cl == s.dst % cl) {
            /* Same misalignment on both sides: the head up to the next
             * cluster boundary goes to copychunk, the rest can be cloned. */
            uint64_t head = cl - s.src % cl;
            if (head > s.len)
                head = s.len;
            rc = segq_push_back(&rest, (seg){s.src, s.dst, head});
            s.src += head;
            s.dst += head;
            s.len -= head;
            if (rc || !s.len)
                continue;
        }
        if (refused || s.src % cl || s.dst % cl) {
            rc = segq_push_back(&rest, s);
            continue;
        }
        uint64_t n = s.len - s.len % cl;
        if (s.src + s.len == src_size)
            n = s.len; /* the tail up to the source's end may be unaligned */
        uint64_t off = 0;
        while (off < n && !refused) {
            uint64_t piece = n - off > CLONE_PIECE ? CLONE_PIECE : n - off;
            smbw_buf b;
            buf_init(&b);
            wire_encode_duplicate_extents(&b, e->src->id, s.src + off, s.dst + off, piece);
            int r = b.failed ? SMBW_ENOMEM
                             : smbw_file_ioctl(e->dst, SMBW_FSCTL_DUPLICATE_EXTENTS_TO_FILE, b.p,
                                               b.len, 0, NULL, NULL);
            buf_free(&b);
            e->st->requests++;
            if (r == SMBW_ENOMEM || r == SMBW_EDEAD || smbw_conn_is_dead(e->dc)) {
                rc = r;
                break;
            }
            if (r) {
                if (e->o->method == SMBW_COPY_CLONE) {
                    rc = core_set_error(e->dc, SMBW_ENOTSUP, smbw_last_status(e->dc),
                                        "block clone refused by the server (%s)",
                                        smbw_status_name(smbw_last_status(e->dc)));
                    break;
                }
                refused = true;
                break;
            }
            off += piece;
            e->done += piece;
            e->by_clone += piece;
            /* Everything before the lowest range not yet copied is done:
             * set-aside ranges count too. */
            uint64_t low = outstanding_min(e, rest.v + rest.head, rest.n);
            if (s.src + off < low)
                low = s.src + off;
            rc = report(e, low);
        }
        if (!rc && off < s.len) {
            seg r = {s.src + off, s.dst + off, s.len - off};
            rc = segq_push_back(&rest, r);
        }
    }
    /* What clone did not take goes back for the next strategy. */
    for (size_t i = 0; !rc && i < rest.n; i++)
        rc = segq_push_back(&e->q, rest.v[rest.head + i]);
    segq_free(&rest);
    if (!rc && e->q.n && e->o->method == SMBW_COPY_CLONE)
        rc = core_set_error(e->dc, SMBW_ENOTSUP, 0,
                            "block clone cannot copy unaligned ranges (cluster %u bytes)", cl);
    return rc;
}

/* ---- offloaded data transfer (ODX) ---------------------------------------- */

/* Bytes asked of one FSCTL_OFFLOAD_READ at most (the server may give less),
 * and at least while the copy is larger (pieces for the pipeline). */
#define ODX_PIECE (256ull << 20)
#define ODX_MIN_PIECE (1ull << 20)
/* Pieces in flight: each its own token, read and written at once. */
#define ODX_DEPTH 4
/* STATUS_INVALID_TOKEN answers in a row for one piece, without progress,
 * before giving up. */
#define ODX_MAX_REREADS 4

static bool odx_unsupported(uint32_t status)
{
    return is_unsupported(status) || status == SMBW_STATUS_OFFLOAD_READ_FLT_NOT_SUPPORTED ||
           status == SMBW_STATUS_OFFLOAD_WRITE_FLT_NOT_SUPPORTED ||
           status == SMBW_STATUS_OFFLOAD_READ_FILE_NOT_SUPPORTED ||
           status == SMBW_STATUS_OFFLOAD_WRITE_FILE_NOT_SUPPORTED;
}

struct odx_engine;

/* One piece of the copy: OFFLOAD_READ what is left of it, OFFLOAD_WRITE the
 * token (continuing partial writes), read again when the token is gone,
 * until the piece is written. */
typedef struct odx_slot {
    struct odx_engine *oe;
    int state;   /* 0 idle, 1 reading, 2 writing */
    seg s;       /* what of the piece is not written yet */
    uint64_t tl; /* the token's TransferLength (from s.src) */
    uint64_t toff;
    uint64_t asked; /* bytes asked by the request in flight */
    int rereads;
    uint8_t token[ODX_TOKEN_SIZE];
} odx_slot;

typedef struct odx_engine {
    engine *e;
    odx_slot slots[ODX_DEPTH];
    int busy;
    uint32_t refused; /* the server's refusal status, 0 when none */
    uint64_t piece;
} odx_engine;

static void odx_done_read(void *ud, int err, uint32_t status, const void *data, size_t len);
static void odx_done_write(void *ud, int err, uint32_t status, const void *data, size_t len);

static int odx_send(odx_slot *sl, bool read)
{
    engine *e = sl->oe->e;
    smbw_buf b;
    buf_init(&b);
    int r;
    if (read) {
        sl->asked = sl->s.len > ODX_PIECE ? ODX_PIECE : sl->s.len;
        r = wire_encode_offload_read(&b, 0, sl->s.src, sl->asked);
        if (!r)
            r = smbw_file_ioctl_async(e->src, SMBW_FSCTL_OFFLOAD_READ, b.p, b.len,
                                      16 + ODX_TOKEN_SIZE, odx_done_read, sl);
    } else {
        sl->asked = sl->tl - sl->toff;
        r = wire_encode_offload_write(&b, sl->s.dst, sl->asked, sl->toff, sl->token);
        if (!r)
            r = smbw_file_ioctl_async(e->dst, SMBW_FSCTL_OFFLOAD_WRITE, b.p, b.len, 16,
                                      odx_done_write, sl);
    }
    buf_free(&b);
    if (r)
        return r;
    e->st->requests++;
    sl->state = read ? 1 : 2;
    sl->oe->busy++;
    return 0;
}

/* A request of sl failed: a refusal stops the engine (the rest is queued
 * for the next strategy), anything else fails the copy. */
static void odx_refused_or_fail(odx_slot *sl, int err, uint32_t status, const char *what)
{
    engine *e = sl->oe->e;
    if (status && odx_unsupported(status)) {
        if (!sl->oe->refused)
            sl->oe->refused = status;
        return;
    }
    if (status)
        core_set_error(e->dc, err, status, "%s: %s", what, smbw_status_name(status));
    cc_fail(e, err);
}

static void odx_next(odx_slot *sl, bool read)
{
    engine *e = sl->oe->e;
    if (e->err || sl->oe->refused)
        return;
    int r = odx_send(sl, read);
    if (r)
        cc_fail(e, r);
}

static void odx_done_read(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    odx_slot *sl = ud;
    engine *e = sl->oe->e;
    sl->state = 0;
    sl->oe->busy--;
    if (err) {
        odx_refused_or_fail(sl, err, status, "FSCTL_OFFLOAD_READ");
        return;
    }
    odx_read_rsp rr;
    if (wire_decode_offload_read_rsp(data, len, &rr) != 0) {
        core_set_error(e->sc, SMBW_EPROTO, 0, "malformed FSCTL_OFFLOAD_READ output");
        cc_fail(e, SMBW_EPROTO);
        return;
    }
    if (rr.transfer_length == 0 || rr.transfer_length > sl->asked) {
        core_set_error(e->sc, SMBW_EPROTO, 0,
                       "FSCTL_OFFLOAD_READ: transfer length %llu for a %llu-byte range",
                       (unsigned long long)rr.transfer_length, (unsigned long long)sl->asked);
        cc_fail(e, SMBW_EPROTO);
        return;
    }
    memcpy(sl->token, rr.token, ODX_TOKEN_SIZE);
    sl->tl = rr.transfer_length;
    sl->toff = 0;
    odx_next(sl, false);
}

static void odx_done_write(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    odx_slot *sl = ud;
    engine *e = sl->oe->e;
    sl->state = 0;
    sl->oe->busy--;
    if (err) {
        /* Expired or invalidated (the source changed): read the rest of
         * the piece again, for a token of what the source holds now. */
        if (status == SMBW_STATUS_INVALID_TOKEN && sl->rereads < ODX_MAX_REREADS) {
            sl->rereads++;
            e->st->retries++;
            odx_next(sl, true);
            return;
        }
        odx_refused_or_fail(sl, err, status, "FSCTL_OFFLOAD_WRITE");
        return;
    }
    odx_write_rsp wr;
    if (wire_decode_offload_write_rsp(data, len, &wr) != 0) {
        core_set_error(e->dc, SMBW_EPROTO, 0, "malformed FSCTL_OFFLOAD_WRITE output");
        cc_fail(e, SMBW_EPROTO);
        return;
    }
    if (wr.length_written == 0 || wr.length_written > sl->asked) {
        core_set_error(e->dc, SMBW_EPROTO, 0,
                       "FSCTL_OFFLOAD_WRITE: %llu bytes written of %llu asked",
                       (unsigned long long)wr.length_written, (unsigned long long)sl->asked);
        cc_fail(e, SMBW_EPROTO);
        return;
    }
    uint64_t w = wr.length_written;
    sl->rereads = 0;
    sl->toff += w;
    sl->s.src += w;
    sl->s.dst += w;
    sl->s.len -= w;
    e->done += w;
    e->by_odx += w;
    if (sl->s.len)
        odx_next(sl, sl->toff >= sl->tl); /* the token's rest, else a new token */
}

/* Copies the queued ranges by ODX, ODX_DEPTH pieces at once, each with its
 * own token (MS-FSCC 2.3.41-2.3.44). A refusal leaves the rest queued for
 * the next strategy (AUTO) or fails (SMBW_COPY_ODX). */
static int run_odx(engine *e, uint64_t dst_end)
{
    smbw_stat dst_st;
    int rc = smbw_file_stat(e->dst, &dst_st);
    if (rc)
        return rc;
    /* The target range must lie inside the destination (MS-FSCC 2.3.43). */
    if (dst_st.size < dst_end && (rc = smbw_file_truncate(e->dst, dst_end)) != 0)
        return rc;
    odx_engine oe;
    memset(&oe, 0, sizeof oe);
    oe.e = e;
    uint64_t per = segq_bytes(&e->q) / ODX_DEPTH / ODX_MIN_PIECE * ODX_MIN_PIECE;
    oe.piece = per < ODX_MIN_PIECE ? ODX_MIN_PIECE : per > ODX_PIECE ? ODX_PIECE : per;
    for (int i = 0; i < ODX_DEPTH; i++)
        oe.slots[i].oe = &oe;
    for (;;) {
        for (int i = 0; i < ODX_DEPTH && !e->err && !oe.refused && e->q.n; i++) {
            odx_slot *sl = &oe.slots[i];
            if (sl->state || sl->s.len)
                continue;
            seg *f = segq_front(&e->q);
            uint64_t take = f->len > oe.piece ? oe.piece : f->len;
            sl->s = (seg){f->src, f->dst, take};
            sl->rereads = 0;
            rc = odx_send(sl, true);
            if (rc) {
                sl->s.len = 0;
                cc_fail(e, rc);
                break;
            }
            f->src += take;
            f->dst += take;
            f->len -= take;
            if (!f->len)
                segq_pop(&e->q);
        }
        if (oe.busy == 0)
            break;
        rc = e->err ? wait_conns_left(e->sc, e->dc) : wait_conns(e->sc, e->dc);
        if (rc > 0)
            break; /* none of the pieces in flight can be answered any more */
        if (rc)
            cc_fail(e, rc);
        if (!e->err) {
            seg extra[ODX_DEPTH];
            for (int i = 0; i < ODX_DEPTH; i++)
                extra[i] = oe.slots[i].s;
            rc = report(e, outstanding_min(e, extra, ODX_DEPTH));
            if (rc)
                cc_fail(e, rc);
        }
    }
    if (e->err)
        return e->err;
    /* Refused: what the pieces did not write goes back to the queue for the
     * next strategy. */
    for (int i = ODX_DEPTH; i-- > 0;) {
        odx_slot *sl = &oe.slots[i];
        if (sl->s.len && (rc = segq_push_front(&e->q, sl->s)) != 0)
            return rc;
    }
    if (oe.refused && e->o->method == SMBW_COPY_ODX)
        return core_set_error(e->dc, SMBW_ENOTSUP, oe.refused,
                              "offloaded data transfer refused by the server (%s)",
                              smbw_status_name(oe.refused));
    return 0;
}

/* ---- streaming ----------------------------------------------------------- */

typedef struct st_slot {
    struct st_engine *se;
    int state; /* 0 free, 1 reading, 2 writing */
    seg s;
    uint8_t *buf;
} st_slot;

typedef struct st_engine {
    engine *e;
    st_slot slots[STREAM_DEPTH];
    int busy;
    uint32_t chunk;
} st_engine;

static void st_write_done(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    st_slot *sl = ud;
    engine *e = sl->se->e;
    sl->state = 0;
    sl->se->busy--;
    if (err) {
        cc_fail(e, err);
        return;
    }
    if (len != sl->s.len) {
        core_set_error(e->dc, SMBW_ENOSPC, 0, "short write (%zu of %llu bytes)", len,
                       (unsigned long long)sl->s.len);
        cc_fail(e, SMBW_ENOSPC);
        return;
    }
    e->done += len;
    e->by_stream += len;
    sl->s.len = 0;
}

static void st_read_done(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    st_slot *sl = ud;
    engine *e = sl->se->e;
    if (err || len != sl->s.len) {
        sl->state = 0;
        sl->se->busy--;
        if (!err)
            core_set_error(e->sc, SMBW_EIO, 0,
                           "the source ended early (read %zu of %llu bytes at %llu)", len,
                           (unsigned long long)sl->s.len, (unsigned long long)sl->s.src);
        cc_fail(e, err ? err : SMBW_EIO);
        return;
    }
    memcpy(sl->buf, data, len);
    int rc = smbw_file_pwrite_async(e->dst, sl->buf, len, sl->s.dst, st_write_done, sl);
    e->st->requests++;
    if (rc) {
        sl->state = 0;
        sl->se->busy--;
        cc_fail(e, rc);
        return;
    }
    sl->state = 2;
}

static int run_stream(engine *e)
{
    st_engine se;
    memset(&se, 0, sizeof se);
    se.e = e;
    uint32_t chunk = STREAM_CHUNK;
    if (e->sc->max_read < chunk)
        chunk = e->sc->max_read;
    if (e->dc->max_write < chunk)
        chunk = e->dc->max_write;
    se.chunk = chunk;
    int rc = 0;
    for (int i = 0; i < STREAM_DEPTH; i++) {
        se.slots[i].se = &se;
        se.slots[i].buf = malloc(chunk);
        if (!se.slots[i].buf)
            rc = SMBW_ENOMEM;
    }
    if (rc)
        cc_fail(e, rc);
    for (;;) {
        for (int i = 0; i < STREAM_DEPTH && !e->err && e->q.n; i++) {
            st_slot *sl = &se.slots[i];
            if (sl->state)
                continue;
            seg *f = segq_front(&e->q);
            uint64_t take = f->len > chunk ? chunk : f->len;
            sl->s.src = f->src;
            sl->s.dst = f->dst;
            sl->s.len = take;
            rc = smbw_file_pread_async(e->src, (size_t)take, f->src, st_read_done, sl);
            if (rc) {
                cc_fail(e, rc);
                break;
            }
            e->st->requests++;
            sl->state = 1;
            se.busy++;
            f->src += take;
            f->dst += take;
            f->len -= take;
            if (!f->len)
                segq_pop(&e->q);
        }
        if (se.busy == 0)
            break;
        int before = se.busy;
        while (se.busy == before) {
            /* A slot moving from reading to writing does not change busy: wait
             * on both connections until a write finishes. After a failure,
             * only on those that can still answer (the slots stay until
             * every request on them is done). */
            rc = e->err ? wait_conns_left(e->sc, e->dc) : wait_conns(e->sc, e->dc);
            if (rc > 0)
                break; /* neither can answer any more */
            if (rc) {
                cc_fail(e, rc);
                break;
            }
        }
        if (e->err && se.busy > 0 && !conn_waitable(e->sc) && !conn_waitable(e->dc))
            break; /* none of them can be answered any more */
        if (!e->err) {
            seg extra[STREAM_DEPTH];
            size_t nx = 0;
            for (int i = 0; i < STREAM_DEPTH; i++)
                if (se.slots[i].state)
                    extra[nx++] = se.slots[i].s;
            rc = report(e, outstanding_min(e, extra, nx));
            if (rc)
                cc_fail(e, rc);
        }
    }
    for (int i = 0; i < STREAM_DEPTH; i++)
        free(se.slots[i].buf);
    return e->err;
}

/* ---- planning ------------------------------------------------------------- */

/* Source ranges that hold data (FSCTL_QUERY_ALLOCATED_RANGES), or the whole
 * range when the server cannot tell. */
static int plan_ranges(engine *e, uint64_t src_off, uint64_t dst_off, uint64_t len, bool sparse)
{
    if (!sparse)
        return segq_push_back(&e->q, (seg){src_off, dst_off, len});
    smbw_range *r = NULL;
    size_t n = 0;
    int rc = smbw_file_allocated_ranges(e->src, src_off, len, &r, &n);
    e->st->requests++;
    if (rc) {
        if (rc == SMBW_ENOMEM || rc == SMBW_EPROTO || smbw_conn_is_dead(e->sc))
            return rc;
        /* The server could not say: copy everything. */
        return segq_push_back(&e->q, (seg){src_off, dst_off, len});
    }
    for (size_t i = 0; i < n && !rc; i++)
        rc = segq_push_back(&e->q, (seg){r[i].off, dst_off + (r[i].off - src_off), r[i].len});
    free(r);
    return rc;
}

static void conn_traffic(smbw_conn *a, smbw_conn *b, uint64_t *out)
{
    smbw_conn_stats s1, s2;
    smbw_conn_get_stats(a, &s1);
    *out = s1.bytes_sent + s1.bytes_received;
    if (b && b != a) {
        smbw_conn_get_stats(b, &s2);
        *out += s2.bytes_sent + s2.bytes_received;
    }
}

static int copy_lanes(smbw_file *const *srcs, smbw_file *const *dsts, int nlanes, uint64_t src_off,
                      uint64_t dst_off, uint64_t len, const smbw_copy_opts *opts,
                      smbw_copy_stats *stats);

/* The caller's options (SMBW_COPY_OPTS_INIT, or NULL for the defaults) in
 * this library's layout. */
static int copy_opts_load(smbw_copy_opts *o, const smbw_copy_opts *opts)
{
    if (!opts) {
        memset(o, 0, sizeof *o);
        o->size = sizeof *o;
        return 0;
    }
    return sized_load(o, sizeof *o, opts, SIZED_END(smbw_copy_opts, progress_ud));
}

int smbw_copy_range(smbw_file *src, smbw_file *dst, uint64_t src_off, uint64_t dst_off,
                    uint64_t len, const smbw_copy_opts *opts, smbw_copy_stats *stats)
{
    return copy_lanes(&src, &dst, 1, src_off, dst_off, len, opts, stats);
}

int smbw_copy_range_multi(const smbw_copy_lane *lanes, int nlanes, uint64_t src_off,
                          uint64_t dst_off, uint64_t len, const smbw_copy_opts *opts,
                          smbw_copy_stats *stats)
{
    if (!lanes || nlanes < 1 || nlanes > SMBW_COPY_MAX_LANES)
        return SMBW_EINVAL;
    smbw_file *srcs[SMBW_COPY_MAX_LANES], *dsts[SMBW_COPY_MAX_LANES];
    for (int i = 0; i < nlanes; i++) {
        smbw_conn *a, *b;
        int rc = api_file_conn(lanes[i].src, &a);
        if (!rc)
            rc = api_file_conn(lanes[i].dst, &b);
        if (rc)
            return rc;
        if (a != b)
            return core_set_error(b, SMBW_EINVAL, 0,
                                  "copy lane %d: source and destination on different connections",
                                  i);
        srcs[i] = lanes[i].src;
        dsts[i] = lanes[i].dst;
    }
    return copy_lanes(srcs, dsts, nlanes, src_off, dst_off, len, opts, stats);
}

/* Bytes sent and received so far on the lanes' connections (dc counted
 * once, with the first lane). */
static uint64_t lanes_traffic(smbw_file *const *srcs, int nlanes, smbw_conn *dc)
{
    uint64_t sum = 0;
    for (int i = 0; i < nlanes; i++) {
        uint64_t w;
        smbw_conn *lc = srcs[i]->tree && srcs[i]->tree->sess ? srcs[i]->tree->sess->conn : NULL;
        if (!lc)
            continue;
        conn_traffic(lc, i == 0 ? dc : NULL, &w);
        sum += w;
    }
    return sum;
}

/* Whether the copy of a sparse source (sst) keeps its holes: the
 * destination is marked sparse and [dst_off, dst_off+len) of what it holds
 * already is made a hole (FSCTL_SET_ZERO_DATA) so old data there cannot
 * show through. False (holes copied as zeros) where the server refuses. */
static bool prepare_sparse(smbw_file *dst, const smbw_stat *sst, uint64_t dst_off, uint64_t len,
                           const smbw_copy_opts *opts)
{
    if (opts->no_sparse || !(sst->attributes & SMBW_FILE_ATTRIBUTE_SPARSE_FILE))
        return false;
    int r = smbw_file_ioctl(dst, SMBW_FSCTL_SET_SPARSE, NULL, 0, 0, NULL, NULL);
    (void)r;
    smbw_stat dst_st;
    if (smbw_file_stat(dst, &dst_st) != 0 || dst_st.size <= dst_off)
        return true;
    smbw_buf z;
    buf_init(&z);
    buf_u64(&z, dst_off);
    buf_u64(&z, dst_st.size < dst_off + len ? dst_st.size : dst_off + len);
    r = z.failed ? SMBW_ENOMEM
                 : smbw_file_ioctl(dst, SMBW_FSCTL_SET_ZERO_DATA, z.p, z.len, 0, NULL, NULL);
    buf_free(&z);
    return r == 0;
}

/* The planned ranges (e->q) copied by each method in turn, as m allows:
 * clone, copychunk, ODX, then streaming for what is left. src_size: the
 * source's size; end: where the destination range ends. */
static int run_methods(engine *e, smbw_copy_method m, smbw_file *const *srcs,
                       smbw_file *const *dsts, int nlanes, uint64_t src_size, uint64_t end)
{
    bool same_conn = e->sc == e->dc;
    int rc;
    if (same_conn && (m == SMBW_COPY_AUTO || m == SMBW_COPY_CLONE) && e->q.n) {
        if (clone_supported(e)) {
            rc = run_clone(e, src_size, end);
            if (rc)
                return rc;
        } else if (m == SMBW_COPY_CLONE) {
            return core_set_error(e->dc, SMBW_ENOTSUP, 0,
                                  "the destination share does not support block cloning "
                                  "(no FILE_SUPPORTS_BLOCK_REFCOUNTING)");
        }
    }
    if (same_conn && m != SMBW_COPY_STREAM && m != SMBW_COPY_ODX && e->q.n) {
        rc = run_copychunk(e, srcs, dsts, nlanes);
        if (rc)
            return rc;
    }
    /* ODX where copychunk was refused (AUTO), or when asked. */
    if (same_conn && e->q.n && (m == SMBW_COPY_ODX || (m == SMBW_COPY_AUTO && e->fallback))) {
        rc = run_odx(e, end);
        if (rc)
            return rc;
    }
    if (!e->q.n)
        return 0;
    if (m == SMBW_COPY_COPYCHUNK || m == SMBW_COPY_CLONE || m == SMBW_COPY_ODX)
        return core_set_error(e->dc, SMBW_ENOTSUP, smbw_last_status(e->dc),
                              "the server refused server-side copy");
    return run_stream(e);
}

/* What the copy did: bytes, the methods used, the one that moved most. */
static void fill_stats(const engine *e, smbw_copy_method m, smbw_copy_stats *stats)
{
    bool same_conn = e->sc == e->dc;
    stats->bytes = e->done;
    stats->used_clone = e->by_clone > 0;
    stats->used_copychunk = e->by_cc > 0;
    stats->used_stream = e->by_stream > 0;
    stats->used_odx = e->by_odx > 0;
    if (e->by_clone >= e->by_cc && e->by_clone >= e->by_stream && e->by_clone >= e->by_odx &&
        e->by_clone)
        stats->method = SMBW_COPY_CLONE;
    else if (e->by_cc >= e->by_stream && e->by_cc >= e->by_odx && e->by_cc)
        stats->method = SMBW_COPY_COPYCHUNK;
    else if (e->by_odx >= e->by_stream && e->by_odx)
        stats->method = SMBW_COPY_ODX;
    else if (e->by_stream)
        stats->method = SMBW_COPY_STREAM;
    else
        stats->method =
            m == SMBW_COPY_AUTO ? (same_conn ? SMBW_COPY_COPYCHUNK : SMBW_COPY_STREAM) : m;
}

/* The checks before a copy: both files' connections, the range, the
 * method. */
static int check_copy(smbw_file *src, smbw_file *dst, uint64_t src_off, uint64_t dst_off,
                      uint64_t len, const smbw_copy_opts *opts, smbw_conn **sc, smbw_conn **dc)
{
    int rc = api_file_conn(src, sc);
    if (!rc)
        rc = api_file_conn(dst, dc);
    if (rc)
        return rc;
    if (src_off > INT64_MAX - len || dst_off > INT64_MAX - len)
        return core_set_error(*dc, SMBW_EINVAL, 0, "copy range overflows");
    if (opts->method < SMBW_COPY_AUTO || opts->method > SMBW_COPY_ODX)
        return core_set_error(*dc, SMBW_EINVAL, 0, "unknown copy method");
    smbw_copy_method m = opts->method;
    if ((m == SMBW_COPY_CLONE || m == SMBW_COPY_COPYCHUNK || m == SMBW_COPY_ODX) && *sc != *dc)
        return core_set_error(*dc, SMBW_ENOTSUP, 0,
                              "%s needs both files on one connection to one server",
                              smbw_copy_method_name(m));
    return 0;
}

static int copy_lanes(smbw_file *const *srcs, smbw_file *const *dsts, int nlanes, uint64_t src_off,
                      uint64_t dst_off, uint64_t len, const smbw_copy_opts *opts,
                      smbw_copy_stats *stats)
{
    smbw_file *src = srcs[0], *dst = dsts[0];
    smbw_copy_opts oo;
    smbw_copy_stats dummy;
    if (!stats)
        stats = &dummy;
    memset(stats, 0, sizeof *stats);
    int rc = copy_opts_load(&oo, opts);
    if (rc)
        return rc;
    opts = &oo;
    smbw_conn *sc, *dc;
    rc = check_copy(src, dst, src_off, dst_off, len, opts, &sc, &dc);
    if (rc)
        return rc;
    engine e;
    memset(&e, 0, sizeof e);
    e.src = src;
    e.dst = dst;
    e.sc = sc;
    e.dc = dc;
    e.o = opts;
    e.st = stats;
    e.range_src = src_off;
    uint64_t wire0 = lanes_traffic(srcs, nlanes, dc);
    smbw_stat sst;
    rc = smbw_file_stat(src, &sst);
    if (rc)
        return rc;
    bool sparse = prepare_sparse(dst, &sst, dst_off, len, opts);
    rc = plan_ranges(&e, src_off, dst_off, len, sparse);
    if (!rc) {
        e.total = segq_bytes(&e.q);
        rc = run_methods(&e, opts->method, srcs, dsts, nlanes, sst.size, dst_off + len);
    }
    /* The destination must reach the end of the range even when it ends in
     * a hole. */
    if (!rc && (sparse || e.total < len)) {
        smbw_stat dst_st;
        rc = smbw_file_stat(dst, &dst_st);
        if (!rc && dst_st.size < dst_off + len)
            rc = smbw_file_truncate(dst, dst_off + len);
    }
    if (!rc)
        rc = e.err;
    fill_stats(&e, opts->method, stats);
    uint64_t wire1 = lanes_traffic(srcs, nlanes, dc);
    stats->wire_bytes = wire1 > wire0 ? wire1 - wire0 : 0;
    segq_free(&e.q);
    if (!rc && e.total == 0)
        (void)report(&e, UINT64_MAX);
    return rc;
}

int smbw_copy_file(smbw_tree *src_tree, const char *src_path, smbw_tree *dst_tree,
                   const char *dst_path, const smbw_copy_opts *opts, smbw_copy_stats *stats)
{
    smbw_copy_opts oo;
    int lrc = copy_opts_load(&oo, opts);
    if (lrc)
        return lrc;
    opts = &oo;
    smbw_file *src = NULL, *dst = NULL;
    int rc = smbw_file_open(&src, src_tree, src_path, SMBW_O_RDONLY);
    if (rc)
        return rc;
    smbw_stat st;
    rc = smbw_file_stat(src, &st);
    if (!rc && st.is_dir) {
        smbw_conn *c;
        if (api_tree_conn(src_tree, &c) == 0)
            core_set_error(c, SMBW_EISDIR, 0, "%s is a directory", src_path);
        rc = SMBW_EISDIR;
    }
    if (rc) {
        (void)smbw_file_free(src);
        return rc;
    }
    smbw_create_params p;
    memset(&p, 0, sizeof p);
    p.desired_access = GENERIC_WRITE | FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES |
                       DELETE_ACCESS | SYNCHRONIZE | (opts->copychunk_read ? GENERIC_READ : 0);
    p.share_access = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    p.file_attributes = SMBW_FILE_ATTRIBUTE_NORMAL;
    p.create_disposition = FILE_OVERWRITE_IF;
    p.create_options = FILE_NON_DIRECTORY_FILE;
    rc = smbw_file_create(&dst, dst_tree, dst_path, &p);
    if (rc) {
        (void)smbw_file_free(src);
        return rc;
    }
    bool created = dst->create_action == 2; /* FILE_CREATED */
    rc = smbw_copy_range(src, dst, 0, 0, st.size, opts, stats);
    if (!rc) {
        smbw_stat dst_st;
        rc = smbw_file_stat(dst, &dst_st);
        if (!rc && dst_st.size != st.size)
            rc = smbw_file_truncate(dst, st.size);
    }
    if (!rc && !opts->no_preserve) {
        uint32_t attrs =
            st.attributes & (SMBW_FILE_ATTRIBUTE_READONLY | SMBW_FILE_ATTRIBUTE_HIDDEN |
                             SMBW_FILE_ATTRIBUTE_SYSTEM | SMBW_FILE_ATTRIBUTE_ARCHIVE);
        rc = smbw_file_set_basic(dst, st.creation_time, st.last_access_time, st.last_write_time, 0,
                                 attrs ? attrs : SMBW_FILE_ATTRIBUTE_NORMAL);
    }
    if (rc && created && !smbw_conn_is_dead(dst_tree->sess ? dst_tree->sess->conn : NULL)) {
        int r = smbw_file_delete_on_close(dst);
        (void)r;
    }
    int r1 = smbw_file_free(dst);
    int r2 = smbw_file_free(src);
    if (!rc)
        rc = r1 ? r1 : r2;
    return rc;
}

/* ---- one copychunk without waiting (smbw_copy_chunk_async) ---------------- */

typedef struct chunk_call {
    smbw_copied_cb cb;
    void *ud;
    smbw_conn *c;
    uint32_t len;
} chunk_call;

static void chunk_done(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    chunk_call *k = ud;
    uint64_t wrote = 0;
    if (!err) {
        srv_copychunk_rsp r;
        if (len == 0 || wire_decode_copychunk_rsp(data, len, &r) != 0) {
            err = core_set_error(k->c, SMBW_EPROTO, 0, "copychunk response without a body");
        } else if (r.total_bytes_written > k->len || r.chunks_written > 1) {
            err = core_set_error(k->c, SMBW_EPROTO, 0,
                                 "copychunk response claims %u bytes in %u chunks, but %u bytes "
                                 "in 1 chunk were asked",
                                 r.total_bytes_written, r.chunks_written, k->len);
        } else {
            wrote = r.total_bytes_written;
        }
    }
    k->cb(k->ud, err, err ? status : 0, wrote);
    free(k);
}

int smbw_copy_chunk_async(smbw_file *src, smbw_file *dst, uint64_t src_off, uint64_t dst_off,
                          uint32_t len, bool copychunk_read, smbw_copied_cb cb, void *ud)
{
    smbw_conn *sc, *dc;
    if (!src || !dst || !cb || len == 0)
        return SMBW_EINVAL;
    int rc = api_file_conn(src, &sc);
    if (!rc)
        rc = api_file_conn(dst, &dc);
    if (rc)
        return rc;
    if (sc != dc)
        return core_set_error(dc, SMBW_EINVAL, 0, "copychunk: the files are on two connections");
    if (!src->has_key)
        return core_set_error(dc, SMBW_ENOTSUP, 0,
                              "copychunk: the source has no resume key (open it with "
                              "smbw_file_open_source)");
    chunk_call *k = malloc(sizeof *k);
    if (!k)
        return SMBW_ENOMEM;
    k->cb = cb;
    k->ud = ud;
    k->c = dc;
    k->len = len;
    srv_copychunk ch = {.source_offset = src_off, .target_offset = dst_off, .length = len};
    smbw_buf b;
    buf_init(&b);
    rc = wire_encode_copychunk(&b, src->key, &ch, 1);
    if (!rc)
        rc = smbw_file_ioctl_async(
            dst, copychunk_read ? SMBW_FSCTL_SRV_COPYCHUNK : SMBW_FSCTL_SRV_COPYCHUNK_WRITE, b.p,
            b.len, 12, chunk_done, k);
    buf_free(&b);
    if (rc)
        free(k);
    return rc;
}
