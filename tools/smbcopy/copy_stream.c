/* Pipelined streaming copy through the async API (local ends use
 * pread/pwrite). Each slot owns one chunk-sized buffer and one range; a
 * slot's range is read, written, and read again for the rest after a short
 * read. New ranges are handed out in increasing order and only within a
 * window above the lowest range not yet written, so the lowest offset still
 * held by a slot (or the next one to hand out) is the resume point: every
 * byte below it is written. */
#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream.h"

enum slot_state { S_FREE, S_NEEDREAD, S_READING, S_READY, S_WRITING };

struct stream;

typedef struct slot {
    struct stream *st;
    enum slot_state state;
    uint64_t off; /* start of the range still to copy */
    size_t len;   /* bytes of the range still to copy */
    size_t got;   /* bytes in buf (READY / WRITING) */
    uint8_t *buf;
} slot;

typedef struct stream {
    const sc_end *src, *dst;
    slot *slots;
    int n;
    size_t chunk;
    uint64_t next, end;
    uint64_t copied;
    sc_xerr *e;
    int err;
    sc_stream_hooks *hooks; /* may be NULL */
    uint64_t window;        /* bytes handed out above the lowest unwritten one */
    uint64_t marked;        /* the last offset given to hooks->mark */
    /* A sparse source: only its data ranges are handed out. */
    bool holes;
    smbw_range *data;
    size_t ndata, ri; /* ri: the first range not wholly below next */
    uint64_t skipped; /* bytes stepped over as holes */
} stream;

static void set_err(stream *st, int err, uint32_t status, int os_errno, enum sc_side side,
                    const char *op, const char *msg)
{
    if (st->err != 0)
        return;
    st->err = err;
    st->e->err = err;
    st->e->status = status;
    st->e->os_errno = os_errno;
    st->e->side = side;
    st->e->op = op;
    st->e->msg = msg;
}

static void after_write(slot *s)
{
    s->st->copied += s->got;
    s->off += s->got;
    s->len -= s->got;
    s->got = 0;
    s->state = s->len > 0 ? S_NEEDREAD : S_FREE;
}

static void got_data(slot *s, size_t n)
{
    if (n == 0) {
        set_err(s->st, SMBW_EIO, 0, 0, SC_SIDE_SRC, "read",
                "the source file became shorter during the copy");
        s->state = S_FREE;
        return;
    }
    s->got = n;
    s->state = S_READY;
}

static void read_cb(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    slot *s = ud;
    if (err == 0 && len > s->len) {
        set_err(s->st, SMBW_EPROTO, 0, 0, SC_SIDE_SRC, "read",
                "the server returned more data than asked for");
        s->state = S_FREE;
        return;
    }
    if (err != 0 && status == SMBW_STATUS_END_OF_FILE) {
        err = 0;
        len = 0;
    }
    if (err != 0) {
        set_err(s->st, err, status, 0, SC_SIDE_SRC, "read", NULL);
        s->state = S_FREE;
        return;
    }
    if (len > 0 && data != s->buf)
        memcpy(s->buf, data, len);
    got_data(s, len);
}

static void write_cb(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    slot *s = ud;
    if (err != 0) {
        set_err(s->st, err, status, 0, SC_SIDE_DST, "write", NULL);
        s->state = S_FREE;
        return;
    }
    after_write(s);
}

static void local_read(stream *st, slot *s)
{
    size_t want = s->len < st->chunk ? s->len : st->chunk;
    for (;;) {
        ssize_t n = pread(st->src->fd, s->buf, want, (off_t)s->off);
        if (n < 0 && errno == EINTR && !sc_interrupted)
            continue;
        if (n < 0) {
            set_err(st, SMBW_ELOCAL, 0, errno, SC_SIDE_SRC, "read", NULL);
            s->state = S_FREE;
            return;
        }
        got_data(s, (size_t)n);
        return;
    }
}

static void local_write(stream *st, slot *s)
{
    size_t done = 0;
    while (done < s->got) {
        ssize_t n = st->dst->seq
                        ? write(st->dst->fd, s->buf + done, s->got - done)
                        : pwrite(st->dst->fd, s->buf + done, s->got - done, (off_t)(s->off + done));
        if (n < 0 && errno == EINTR && !sc_interrupted)
            continue;
        if (n > 0)
            done += (size_t)n;
        /* A signal ends a write blocked on a full FIFO or pipe: as EINTR, or
         * as a short write that would otherwise block again. */
        if (sc_interrupted && done < s->got) {
            set_err(st, SMBW_ECANCELED, 0, 0, SC_SIDE_NONE, "copy", "interrupted");
            s->state = S_FREE;
            return;
        }
        if (n <= 0) {
            set_err(st, SMBW_ELOCAL, 0, n < 0 ? errno : EIO, SC_SIDE_DST, "write", NULL);
            s->state = S_FREE;
            return;
        }
    }
    after_write(s);
}

static bool any_async(const stream *st)
{
    for (int i = 0; i < st->n; i++)
        if (st->slots[i].state == S_READING || st->slots[i].state == S_WRITING)
            return true;
    return false;
}

/* Whether a connection can still answer something: alive, or dead with
 * requests parked for its reconnect. A dead one with nothing pending (its
 * requests completed with the error) has nothing to wait for, and waiting
 * on it would return its error at once, again and again. */
static bool answers(smbw_conn *c)
{
    return !smbw_conn_is_dead(c) || smbw_conn_pending(c) > 0;
}

/* Waits for and dispatches completions on the (one or two) connections.
 * False when none of them can answer any more. */
static bool service(stream *st)
{
    smbw_conn *cs[2];
    int nc = 0;
    if (st->src->f != NULL && answers(st->src->c))
        cs[nc++] = st->src->c;
    if (st->dst->f != NULL && (nc == 0 || st->dst->c != cs[0]) && answers(st->dst->c))
        cs[nc++] = st->dst->c;
    if (nc == 0)
        return false;
    /* Wake up now and then to notice an interrupt even if nothing arrives. */
    int which = -1;
    int err = smbw_conn_wait(cs, nc, 500, &which);
    if (err != 0 && which >= 0) {
        enum sc_side side =
            cs[which] == st->src->c && st->src->f != NULL ? SC_SIDE_SRC : SC_SIDE_DST;
        set_err(st, err, smbw_last_status(cs[which]), 0, side, "transfer", NULL);
    } else if (err != 0) {
        set_err(st, err, 0, 0, SC_SIDE_NONE, "transfer", NULL);
    }
    return true;
}

/* Gives up on the requests that can still be in flight when service()
 * cannot make progress (fatal poll failure): drain each connection. */
static void drain_all(stream *st)
{
    if (st->src->f != NULL)
        smbw_conn_drain(st->src->c);
    if (st->dst->f != NULL && st->dst->c != st->src->c)
        smbw_conn_drain(st->dst->c);
}

/* ---- holes ----------------------------------------------------------------- */

static int push_range(smbw_range **v, size_t *n, size_t *cap, uint64_t a, uint64_t b)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        smbw_range *nv = realloc(*v, nc * sizeof(*nv));
        if (nv == NULL)
            return -1;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = (smbw_range){a, b - a};
    return 0;
}

/* The data of [start, end) of a local file by SEEK_DATA/SEEK_HOLE. Returns
 * false when that cannot be told (then everything is data). */
static bool local_data(int fd, uint64_t start, uint64_t end, smbw_range **out, size_t *n)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_blocks * 512u >= (uint64_t)st.st_size)
        return false; /* no holes worth looking for */
    size_t cap = 0;
    uint64_t pos = start;
    while (pos < end) {
        off_t d = lseek(fd, (off_t)pos, SEEK_DATA);
        if (d < 0 && errno == ENXIO)
            break; /* a hole up to the end of the file */
        if (d < 0)
            goto cannot;
        if ((uint64_t)d >= end)
            break;
        off_t h = lseek(fd, d, SEEK_HOLE);
        uint64_t b = h < 0 || (uint64_t)h > end ? end : (uint64_t)h;
        if (b <= (uint64_t)d || push_range(out, n, &cap, (uint64_t)d, b) != 0)
            goto cannot;
        pos = b;
    }
    return true;
cannot:
    free(*out);
    *out = NULL;
    *n = 0;
    return false;
}

/* The source's data within [start, end): true with the ranges (possibly
 * none) when it has holes there, false to copy everything. */
static bool source_data(const sc_end *src, uint64_t start, uint64_t end, bool src_sparse,
                        smbw_range **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    bool known;
    if (src->f == NULL)
        known = local_data(src->fd, start, end, out, n);
    else
        known = src_sparse && smbw_file_allocated_ranges(src->f, start, end - start, out, n) == 0;
    uint64_t data = 0;
    for (size_t i = 0; known && i < *n; i++)
        data += (*out)[i].len;
    if (!known || data == end - start) {
        free(*out);
        *out = NULL;
        *n = 0;
        return false;
    }
    return true;
}

/* The destination's size after a copy that left holes (the last of which
 * may reach the end). */
static int set_size(const sc_end *dst, uint64_t end, sc_xerr *e)
{
    if (dst->f != NULL) {
        int rc = smbw_file_truncate(dst->f, end);
        if (rc != 0) {
            e->err = rc;
            e->status = smbw_last_status(dst->c);
            e->side = SC_SIDE_DST;
            e->op = "set the size of";
        }
        return rc;
    }
    struct stat st;
    if (fstat(dst->fd, &st) == 0 && (uint64_t)st.st_size == end)
        return 0;
    if (ftruncate(dst->fd, (off_t)end) != 0) {
        e->err = SMBW_ELOCAL;
        e->os_errno = errno;
        e->side = SC_SIDE_DST;
        e->op = "set the size of";
        return SMBW_ELOCAL;
    }
    return 0;
}

/* ---- the copy ------------------------------------------------------------- */

/* Requests in flight: depth within 1..SC_MAX_DEPTH, no more than the
 * chunks of need. */
static int pick_depth(const sc_end *src, const sc_end *dst, int depth, size_t chunk, uint64_t need)
{
    if (depth < 1)
        depth = 1;
    if (depth > SC_MAX_DEPTH)
        depth = SC_MAX_DEPTH;
    /* Local to local needs no pipeline; a FIFO or device is written in
     * order, one range at a time. */
    if ((src->f == NULL && dst->f == NULL) || dst->seq)
        depth = 1;
    if ((uint64_t)depth * chunk > need) {
        uint64_t d = (need + chunk - 1) / chunk;
        depth = (int)(d < 1 ? 1 : d);
    }
    return depth;
}

/* The slots and their buffers (*mem, one block). */
static int alloc_slots(stream *st, int depth, size_t chunk, uint8_t **mem)
{
    st->chunk = chunk;
    st->n = depth;
    st->window = (uint64_t)depth * chunk;
    st->slots = calloc((size_t)depth, sizeof(slot));
    *mem = malloc((size_t)depth * chunk);
    if (st->slots == NULL || *mem == NULL) {
        free(st->slots);
        free(*mem);
        st->slots = NULL;
        *mem = NULL;
        st->e->err = SMBW_ENOMEM;
        st->e->op = "allocate buffers";
        return SMBW_ENOMEM;
    }
    for (int i = 0; i < depth; i++) {
        st->slots[i].st = st;
        st->slots[i].buf = *mem + (size_t)i * chunk;
    }
    return 0;
}

/* The lowest offset not yet written: with no error so far, no slot has
 * dropped its range, so everything below it is written. */
static uint64_t low_water(const stream *st)
{
    uint64_t low = st->next;
    for (int i = 0; i < st->n; i++)
        if (st->slots[i].state != S_FREE && st->slots[i].off < low)
            low = st->slots[i].off;
    return low;
}

/* Gives free slots new ranges, in order, within the window above low;
 * steps over the holes of a sparse source. */
static void hand_out(stream *st, uint64_t low)
{
    for (int i = 0; i < st->n && st->next < st->end; i++) {
        slot *s = &st->slots[i];
        if (s->state != S_FREE)
            continue;
        uint64_t stop = st->end;
        if (st->holes) {
            /* Step over a hole (everything below next counts as done). */
            while (st->ri < st->ndata && st->data[st->ri].off + st->data[st->ri].len <= st->next)
                st->ri++;
            uint64_t at = st->ri < st->ndata ? st->data[st->ri].off : st->end;
            if (at > st->next) {
                st->skipped += at - st->next;
                st->next = at;
                if (st->next >= st->end)
                    return;
            }
            stop = st->data[st->ri].off + st->data[st->ri].len;
        }
        uint64_t len = stop - st->next < st->chunk ? stop - st->next : st->chunk;
        if (st->next + len - low > st->window)
            return;
        s->off = st->next;
        s->len = (size_t)len;
        s->got = 0;
        s->state = S_NEEDREAD;
        st->next += len;
    }
}

/* Reads the slots that need data: a local source at once, a remote one
 * asynchronously. */
static void start_reads(stream *st)
{
    for (int i = 0; i < st->n && st->err == 0; i++) {
        slot *s = &st->slots[i];
        if (s->state != S_NEEDREAD)
            continue;
        if (st->src->f == NULL) {
            local_read(st, s);
            continue;
        }
        size_t want = s->len < st->chunk ? s->len : st->chunk;
        s->state = S_READING;
        if (st->hooks != NULL)
            st->hooks->requests++;
        /* The slot's buffer is kept until the request completes. */
        int rc = smbw_file_pread_into_async(st->src->f, s->buf, want, s->off, read_cb, s);
        if (rc != 0) {
            set_err(st, rc, smbw_last_status(st->src->c), 0, SC_SIDE_SRC, "read", NULL);
            s->state = S_FREE;
        }
    }
}

/* Writes the slots that hold data: a local destination at once, a remote
 * one asynchronously. */
static void start_writes(stream *st)
{
    for (int i = 0; i < st->n && st->err == 0; i++) {
        slot *s = &st->slots[i];
        if (s->state != S_READY)
            continue;
        if (st->dst->f == NULL) {
            local_write(st, s);
            continue;
        }
        s->state = S_WRITING;
        if (st->hooks != NULL)
            st->hooks->requests++;
        int rc = smbw_file_pwrite_nocopy_async(st->dst->f, s->buf, s->got, s->off, write_cb, s);
        if (rc != 0) {
            set_err(st, rc, smbw_last_status(st->dst->c), 0, SC_SIDE_DST, "write", NULL);
            s->state = S_FREE;
        }
    }
}

static bool all_free(const stream *st)
{
    for (int i = 0; i < st->n; i++)
        if (st->slots[i].state != S_FREE)
            return false;
    return true;
}

static void mark(stream *st, uint64_t upto)
{
    if (st->hooks != NULL && st->hooks->mark != NULL && upto > st->marked) {
        st->marked = upto;
        st->hooks->mark(st->hooks->ud, upto);
    }
}

/* After an error: waits until no request of this copy is in flight. */
static void wind_down(stream *st)
{
    while (any_async(st)) {
        if (!service(st))
            return; /* nothing in flight can be answered: none is left */
        if (st->e->err == SMBW_ELOCAL && st->e->side == SC_SIDE_NONE) {
            drain_all(st);
            return;
        }
    }
}

/* After the source failed (say, a dropped connection that did not come
 * back): what was read whole already goes to a local destination, in order
 * from the mark, so that the mark (and a --resume record) keeps it. */
static void salvage(stream *st)
{
    if (st->dst->f != NULL || st->e->side != SC_SIDE_SRC || sc_interrupted)
        return;
    uint64_t m = st->marked;
    for (;;) {
        slot *s = NULL;
        for (int i = 0; i < st->n && s == NULL; i++)
            if (st->slots[i].state == S_READY && st->slots[i].off == m && st->slots[i].got > 0)
                s = &st->slots[i];
        if (s == NULL)
            break;
        uint64_t end = s->off + s->got;
        local_write(st, s); /* got back to 0 once written */
        if (s->got != 0)
            break;
        m = end;
    }
    mark(st, m);
}

/* The pipeline: hand out ranges, start reads and writes, wait for
 * completions, until every range is written or an error (or an interrupt)
 * ends it. */
static void run(stream *st, sc_progress *prog, uint64_t start)
{
    for (;;) {
        if (sc_interrupted)
            set_err(st, SMBW_ECANCELED, 0, 0, SC_SIDE_NONE, "copy", "interrupted");
        if (st->err != 0)
            break;
        uint64_t low = low_water(st);
        mark(st, low);
        hand_out(st, low);
        start_reads(st);
        start_writes(st);
        if (prog != NULL)
            sc_progress_update(prog, start + st->copied + st->skipped);
        if (st->err != 0)
            break;
        if (all_free(st) && st->next >= st->end) {
            mark(st, st->end);
            return;
        }
        if (any_async(st)) {
            mark(st, low_water(st)); /* exact while there is no error */
            if (!service(st))        /* not expected: each request answers or fails */
                set_err(st, SMBW_EIO, 0, 0, SC_SIDE_NONE, "transfer", "no connection can answer");
        }
    }
    wind_down(st);
    salvage(st);
}

int sc_stream_copy(const sc_end *src, const sc_end *dst, uint64_t start, uint64_t end, int depth,
                   sc_progress *prog, sc_stream_hooks *hooks, uint64_t *copied, sc_xerr *e)
{
    memset(e, 0, sizeof(*e));
    *copied = 0;
    if (start >= end)
        return 0;
    stream st = {
        .src = src, .dst = dst, .next = start, .end = end, .e = e, .hooks = hooks, .marked = start};
    size_t chunk = sc_stream_chunk(src, dst, hooks != NULL ? hooks->chunk : 0);
    uint8_t *mem = NULL;
    int rc = alloc_slots(&st, pick_depth(src, dst, depth, chunk, end - start), chunk, &mem);
    if (rc != 0)
        return rc;
    st.holes = hooks != NULL && hooks->sparse && !dst->seq &&
               source_data(src, start, end, hooks->src_sparse, &st.data, &st.ndata);
    if (st.holes && dst->f != NULL)
        (void)smbw_file_ioctl(dst->f, SMBW_FSCTL_SET_SPARSE, NULL, 0, 0, NULL, NULL);
    run(&st, prog, start);
    if (st.holes && st.err == 0)
        st.err = set_size(dst, end, e);
    if (hooks != NULL)
        hooks->holes = st.skipped;
    *copied = st.copied;
    free(st.data);
    free(mem);
    free(st.slots);
    return st.err;
}

size_t sc_stream_chunk(const sc_end *src, const sc_end *dst, size_t want)
{
    size_t chunk = want > 0 && want < SC_MAX_CHUNK ? want : SC_MAX_CHUNK;
    if (src->c != NULL) {
        uint32_t m = smbw_conn_max_read(src->c);
        if (m > 0 && m < chunk)
            chunk = m;
    }
    if (dst->c != NULL) {
        uint32_t m = smbw_conn_max_write(dst->c);
        if (m > 0 && m < chunk)
            chunk = m;
    }
    return chunk < 4096 ? 4096 : chunk;
}
