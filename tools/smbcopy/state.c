/* The resume record (state.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"

#define STATE_MAGIC "smbcopy-resume 2\n"
#define STATE_MAX 8192
#define DONE_DIGITS 20
#define WAIT_LIMIT_SECONDS 60.0

static void put_escaped(tool_buf *b, const char *s)
{
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '\\')
            tool_buf_puts(b, "\\\\");
        else if (*p == '\n')
            tool_buf_puts(b, "\\n");
        else if (*p == '\r')
            tool_buf_puts(b, "\\r");
        else
            tool_buf_putc(b, *p);
    }
}

/* "smbcopy-resume 2\nsource S\ntarget T\nsize N\nmtime N\ndone " with S
 * and T escaped. */
static char *make_head(const char *source, const char *target, uint64_t size, uint64_t mtime)
{
    tool_buf b = {0};
    tool_buf_puts(&b, STATE_MAGIC "source ");
    put_escaped(&b, source);
    tool_buf_puts(&b, "\ntarget ");
    put_escaped(&b, target);
    tool_buf_printf(&b, "\nsize %llu\nmtime %llu\ndone ", (unsigned long long)size,
                    (unsigned long long)mtime);
    if (b.failed) {
        tool_buf_free(&b);
        return NULL;
    }
    return b.p;
}

/* The whole record for done into out (returns its length, 0 on overflow). */
static size_t make_record(const char *head, uint64_t done, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%0*llu\nend\n", head, DONE_DIGITS, (unsigned long long)done);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

bool sc_state_load(const sc_loc *loc, const char *path, const char *source, const char *target,
                   uint64_t size, uint64_t mtime, uint64_t *done)
{
    char buf[STATE_MAX + 1];
    size_t len = 0;
    *done = 0;
    if (!loc->remote) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
            return false;
        while (len < STATE_MAX) {
            ssize_t n = read(fd, buf + len, STATE_MAX - len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            len += (size_t)n;
        }
        close(fd);
    } else {
        smbw_file *f = NULL;
        if (smbw_file_open(&f, loc->tree, path, SMBW_O_RDONLY) != 0)
            return false;
        if (smbw_file_pread(f, buf, STATE_MAX, 0, &len) != 0)
            len = 0;
        smbw_file_free(f);
    }
    buf[len] = '\0';
    char *head = make_head(source, target, size, mtime);
    if (head == NULL)
        return false;
    size_t hl = strlen(head);
    bool ok = false;
    /* The record must be exactly head + 20 digits + "\nend\n". */
    if (len == hl + DONE_DIGITS + 5 && memcmp(buf, head, hl) == 0 &&
        memcmp(buf + hl + DONE_DIGITS, "\nend\n", 5) == 0) {
        uint64_t v = 0;
        ok = true;
        for (size_t i = 0; i < DONE_DIGITS && ok; i++) {
            char c = buf[hl + i];
            if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10)
                ok = false;
            else
                v = v * 10 + (uint64_t)(c - '0');
        }
        if (ok && v > size)
            ok = false;
        if (ok)
            *done = v;
    }
    free(head);
    return ok;
}

static void write_done(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    sc_state *st = ud;
    (void)status;
    (void)data;
    (void)len;
    st->busy = false;
    if (err != 0 && st->err == 0)
        st->err = err;
}

/* Writes the record for done: locally at once, remotely sync or async. */
static int put(sc_state *st, uint64_t done, bool wait)
{
    char rec[STATE_MAX];
    size_t n = make_record(st->head, done, rec, sizeof(rec));
    if (n == 0)
        return SMBW_ENOMEM;
    int err = 0;
    if (!st->remote) {
        ssize_t w;
        do
            w = pwrite(st->fd, rec, n, 0);
        while (w < 0 && errno == EINTR);
        err = w == (ssize_t)n ? 0 : SMBW_ELOCAL;
    } else if (wait) {
        err = smbw_file_pwrite(st->f, rec, n, 0);
    } else {
        err = smbw_file_pwrite_async(st->f, rec, n, 0, write_done, st);
        if (err == 0)
            st->busy = true;
    }
    if (err != 0) {
        if (st->err == 0)
            st->err = err;
        return err;
    }
    st->recorded = done;
    st->last = sc_now();
    return 0;
}

/* Waits (bounded) for a remote update in flight. */
static void wait_idle(sc_state *st)
{
    double deadline = sc_now() + WAIT_LIMIT_SECONDS;
    while (st->busy && !smbw_conn_is_dead(st->c) && sc_now() < deadline) {
        if (smbw_conn_wait(&st->c, 1, 200, NULL) != 0)
            break;
    }
    if (st->busy) {
        /* Gone with the connection; the callback will not come. */
        st->busy = false;
        if (st->err == 0)
            st->err = SMBW_EIO;
    }
}

int sc_state_open(sc_state *st, const sc_loc *loc, const char *path, const char *source,
                  const char *target, uint64_t size, uint64_t mtime, uint64_t done, char *why,
                  size_t whylen)
{
    memset(st, 0, sizeof(*st));
    st->fd = -1;
    st->remote = loc->remote;
    st->limit = size;
    st->head = make_head(source, target, size, mtime);
    if (st->head == NULL) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    if (!loc->remote) {
        st->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (st->fd < 0) {
            snprintf(why, whylen, "%s", strerror(errno));
            goto fail;
        }
    } else {
        st->c = loc->srv->conn;
        int err = smbw_file_open(&st->f, loc->tree, path,
                                 SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_TRUNC | SMBW_O_DELETE);
        if (err != 0) {
            snprintf(why, whylen, "%s (%s)", smbw_strerror(err),
                     smbw_status_name(smbw_last_status(st->c)));
            goto fail;
        }
        /* Every record has the same length: at that size at once, each
         * later write lies inside the end of file, which the library may
         * send again after a drop (replay) on a durable open. */
        char rec[STATE_MAX];
        size_t n = make_record(st->head, done, rec, sizeof(rec));
        if (n > 0)
            (void)smbw_file_truncate(st->f, n);
    }
    if (put(st, done, true) != 0) {
        snprintf(why, whylen, "%s", st->remote ? smbw_strerror(st->err) : strerror(errno));
        sc_state_close(st, loc, path, true);
        return -1;
    }
    st->pending = done;
    st->active = true;
    return 0;
fail:
    free(st->head);
    st->head = NULL;
    return -1;
}

void sc_state_note(sc_state *st, uint64_t done)
{
    if (!st->active || st->err != 0)
        return;
    if (done > st->limit)
        done = st->limit;
    if (done <= st->pending)
        return;
    st->pending = done;
    if (st->busy)
        return;
    if (done - st->recorded < SC_STATE_EVERY_BYTES && sc_now() - st->last < SC_STATE_EVERY_SECONDS)
        return;
    (void)put(st, done, false);
}

void sc_state_sync(sc_state *st)
{
    if (!st->active)
        return;
    if (st->remote)
        wait_idle(st);
    if (st->err == 0 && st->pending != st->recorded)
        (void)put(st, st->pending, true);
}

void sc_state_close(sc_state *st, const sc_loc *loc, const char *path, bool remove)
{
    if (st->remote && st->c != NULL)
        wait_idle(st);
    if (st->fd >= 0) {
        close(st->fd);
        st->fd = -1;
        if (remove)
            unlink(path);
    }
    if (st->f != NULL) {
        bool dead = smbw_conn_is_dead(st->c);
        if (remove && !dead)
            (void)smbw_file_delete_on_close(st->f);
        (void)smbw_file_free(st->f);
        st->f = NULL;
    }
    (void)loc;
    free(st->head);
    st->head = NULL;
    st->active = false;
}
