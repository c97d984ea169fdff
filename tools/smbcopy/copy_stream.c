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
    if (len > 0)
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

/* Waits for and dispatches completions on the (one or two) connections. */
static void service(stream *st)
{
    smbw_conn *cs[2];
    int nc = 0;
    if (st->src->f != NULL)
        cs[nc++] = st->src->c;
    if (st->dst->f != NULL && (nc == 0 || st->dst->c != cs[0]))
        cs[nc++] = st->dst->c;
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

int sc_stream_copy(const sc_end *src, const sc_end *dst, uint64_t start, uint64_t end, int depth,
                   sc_progress *prog, sc_stream_hooks *hooks, uint64_t *copied, sc_xerr *e)
{
    memset(e, 0, sizeof(*e));
    *copied = 0;
    if (start >= end)
        return 0;
    stream st = {.src = src, .dst = dst, .next = start, .end = end, .e = e};
    size_t chunk = SC_MAX_CHUNK;
    if (hooks != NULL && hooks->chunk > 0 && hooks->chunk < chunk)
        chunk = hooks->chunk;
    if (src->f != NULL) {
        uint32_t m = smbw_conn_max_read(src->c);
        if (m > 0 && m < chunk)
            chunk = m;
    }
    if (dst->f != NULL) {
        uint32_t m = smbw_conn_max_write(dst->c);
        if (m > 0 && m < chunk)
            chunk = m;
    }
    if (chunk < 4096)
        chunk = 4096;
    if (depth < 1)
        depth = 1;
    if (depth > SC_MAX_DEPTH)
        depth = SC_MAX_DEPTH;
    /* Local to local needs no pipeline; a FIFO or device is written in
     * order, one range at a time. */
    if ((src->f == NULL && dst->f == NULL) || dst->seq)
        depth = 1;
    uint64_t need = end - start;
    if ((uint64_t)depth * chunk > need) {
        uint64_t d = (need + chunk - 1) / chunk;
        depth = (int)(d < 1 ? 1 : d);
    }
    st.chunk = chunk;
    st.n = depth;
    st.slots = calloc((size_t)depth, sizeof(slot));
    uint8_t *mem = malloc((size_t)depth * chunk);
    if (st.slots == NULL || mem == NULL) {
        free(st.slots);
        free(mem);
        e->err = SMBW_ENOMEM;
        e->op = "allocate buffers";
        return SMBW_ENOMEM;
    }
    for (int i = 0; i < depth; i++) {
        st.slots[i].st = &st;
        st.slots[i].buf = mem + (size_t)i * chunk;
    }
    const uint64_t window = (uint64_t)depth * chunk;
    uint64_t marked = start;
    /* A sparse source: only its data ranges are handed out. */
    smbw_range *data = NULL;
    size_t ndata = 0, ri = 0;
    bool holes = hooks != NULL && hooks->sparse && !dst->seq &&
                 source_data(src, start, end, hooks->src_sparse, &data, &ndata);
    uint64_t skipped = 0;
    if (holes && dst->f != NULL)
        (void)smbw_file_ioctl(dst->f, SMBW_FSCTL_SET_SPARSE, NULL, 0, 0, NULL, NULL);

    for (;;) {
        if (sc_interrupted)
            set_err(&st, SMBW_ECANCELED, 0, 0, SC_SIDE_NONE, "copy", "interrupted");
        if (st.err != 0) {
            if (!any_async(&st))
                break;
            service(&st);
            if (e->err == SMBW_ELOCAL && e->side == SC_SIDE_NONE) {
                drain_all(&st);
                break;
            }
            continue;
        }
        /* Hand out new ranges within the window. With no error so far, no
         * slot has dropped its range: everything below low is written. */
        uint64_t low = st.next;
        for (int i = 0; i < st.n; i++)
            if (st.slots[i].state != S_FREE && st.slots[i].off < low)
                low = st.slots[i].off;
        if (hooks != NULL && hooks->mark != NULL && low > marked) {
            marked = low;
            hooks->mark(hooks->ud, low);
        }
        for (int i = 0; i < st.n && st.next < st.end; i++) {
            slot *s = &st.slots[i];
            if (s->state != S_FREE)
                continue;
            uint64_t stop = st.end;
            if (holes) {
                /* Step over a hole (everything below next counts as done). */
                while (ri < ndata && data[ri].off + data[ri].len <= st.next)
                    ri++;
                uint64_t at = ri < ndata ? data[ri].off : st.end;
                if (at > st.next) {
                    skipped += at - st.next;
                    st.next = at;
                    if (st.next >= st.end)
                        break;
                }
                stop = data[ri].off + data[ri].len;
            }
            uint64_t len = stop - st.next < chunk ? stop - st.next : chunk;
            if (st.next + len - low > window)
                break;
            s->off = st.next;
            s->len = (size_t)len;
            s->got = 0;
            s->state = S_NEEDREAD;
            st.next += len;
        }
        /* Start reads, then writes. */
        for (int i = 0; i < st.n && st.err == 0; i++) {
            slot *s = &st.slots[i];
            if (s->state != S_NEEDREAD)
                continue;
            if (src->f == NULL) {
                local_read(&st, s);
                continue;
            }
            size_t want = s->len < chunk ? s->len : chunk;
            s->state = S_READING;
            if (hooks != NULL)
                hooks->requests++;
            int rc = smbw_file_pread_async(src->f, want, s->off, read_cb, s);
            if (rc != 0) {
                set_err(&st, rc, smbw_last_status(src->c), 0, SC_SIDE_SRC, "read", NULL);
                s->state = S_FREE;
            }
        }
        for (int i = 0; i < st.n && st.err == 0; i++) {
            slot *s = &st.slots[i];
            if (s->state != S_READY)
                continue;
            if (dst->f == NULL) {
                local_write(&st, s);
                continue;
            }
            s->state = S_WRITING;
            if (hooks != NULL)
                hooks->requests++;
            int rc = smbw_file_pwrite_async(dst->f, s->buf, s->got, s->off, write_cb, s);
            if (rc != 0) {
                set_err(&st, rc, smbw_last_status(dst->c), 0, SC_SIDE_DST, "write", NULL);
                s->state = S_FREE;
            }
        }
        if (prog != NULL)
            sc_progress_update(prog, start + st.copied + skipped);
        if (st.err != 0)
            continue;
        bool idle = true;
        for (int i = 0; i < st.n; i++)
            if (st.slots[i].state != S_FREE)
                idle = false;
        if (idle && st.next >= st.end) {
            if (hooks != NULL && hooks->mark != NULL && st.end > marked)
                hooks->mark(hooks->ud, st.end);
            break;
        }
        if (any_async(&st))
            service(&st);
    }
    if (holes && st.err == 0)
        st.err = set_size(dst, end, e);
    if (hooks != NULL)
        hooks->holes = skipped;
    *copied = st.copied;
    free(data);
    free(mem);
    free(st.slots);
    return st.err;
}
