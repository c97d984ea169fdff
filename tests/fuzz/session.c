/* The scripted client session (see session.h). */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/api/api.h"
#include "lib/io/adopt.h"
#include "smbwire/copy.h"

#define FZ_DATA 8192

static int keep(int rc, int first)
{
    return first ? first : rc;
}

int fz_session(smbw_conn *c, const char *user, const char *pass, const char *share)
{
    smbw_session *s = NULL;
    smbw_tree *t = NULL;
    smbw_file *src = NULL, *dst = NULL;
    smbw_dir *d = NULL;
    uint8_t *data = malloc(FZ_DATA), *back = malloc(FZ_DATA);
    int rc = (data && back) ? 0 : SMBW_ENOMEM;
    if (rc)
        goto out;
    for (size_t i = 0; i < FZ_DATA; i++)
        data[i] = (uint8_t)(i * 7 + 3);

    smbw_creds cr = SMBW_CREDS_INIT;
    cr.kind = SMBW_AUTH_NTLM;
    cr.user = user;
    cr.password = pass;
    if ((rc = smbw_session_new(&s, c, &cr)) != 0)
        goto out;
    if ((rc = smbw_tree_connect(&t, s, share)) != 0)
        goto out;
    if ((rc = smbw_file_open(&src, t, "fz_src.bin", SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC)) !=
        0)
        goto out;
    if ((rc = smbw_file_pwrite(src, data, FZ_DATA, 0)) != 0)
        goto out;
    size_t got = 0;
    if ((rc = smbw_file_pread(src, back, FZ_DATA, 0, &got)) != 0)
        goto out;
    smbw_stat st;
    if ((rc = smbw_file_stat(src, &st)) != 0)
        goto out;
    if ((rc = smbw_file_open(&dst, t, "fz_dst.bin", SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC)) !=
        0)
        goto out;
    smbw_copy_opts o = SMBW_COPY_OPTS_INIT;
    o.chunk_size = 4096; /* two chunks: exercises the chunk list */
    smbw_copy_stats cs;
    if ((rc = smbw_copy_range(src, dst, 0, 0, FZ_DATA, &o, &cs)) != 0)
        goto out;
    /* FSCTL_QUERY_ALLOCATED_RANGES over the whole file. */
    uint8_t in[16];
    memset(in, 0, sizeof in);
    in[8] = (uint8_t)(FZ_DATA & 0xff);
    in[9] = (uint8_t)(FZ_DATA >> 8);
    void *out = NULL;
    size_t outlen = 0;
    rc = smbw_file_ioctl(src, 0x000940CFu, in, sizeof in, 1024, &out, &outlen);
    free(out);
    if (rc)
        goto out;
    if ((rc = smbw_dir_open(&d, t, "")) != 0)
        goto out;
    for (int i = 0; i < 10000; i++) {
        smbw_dirent e;
        rc = smbw_dir_next(d, &e);
        if (rc) {
            if (rc == SMBW_ENOMORE)
                rc = 0;
            break;
        }
    }
    if (rc)
        goto out;
    if ((rc = smbw_stat_path(t, "fz_dst.bin", &st)) != 0)
        goto out;
out:
    smbw_dir_free(d);
    if (dst) {
        rc = keep(smbw_file_free(dst), rc);
        if (!rc)
            rc = smbw_unlink(t, "fz_dst.bin");
    }
    if (src) {
        rc = keep(smbw_file_free(src), rc);
        if (!rc)
            rc = smbw_unlink(t, "fz_src.bin");
    }
    smbw_tree_free(t);
    smbw_session_free(s);
    free(data);
    free(back);
    return rc;
}

int fz_client_over_fd(int fd, int timeout_ms)
{
    smbw_conn *c = NULL;
    int rc = smbw_conn_new(&c);
    if (rc) {
        close(fd);
        return rc;
    }
    rc = smbw_conn_set_timeout(c, timeout_ms);
    if (!rc) {
        rc = io_adopt_fd(c, fd, FZ_HOST);
        if (rc)
            close(fd);
    } else {
        close(fd);
    }
    if (!rc)
        rc = api_negotiate(c);
    if (!rc)
        rc = fz_session(c, FZ_USER, FZ_PASS, FZ_SHARE);
    if (rc && getenv("FZ_DEBUG"))
        fprintf(stderr, "fz_client: %s: %s\n", smbw_error_name(rc), smbw_conn_errmsg(c));
    smbw_conn_free(c);
    return rc;
}

/* ---- the scripted server ---------------------------------------------------
 * No socket and no thread: the connection's transport is a pump (io/adopt.h)
 * that the library calls exactly where it would wait for the server. It
 * takes the frames the client sent and releases the recorded stream one
 * transport frame at a time, as a server would: one frame for each request
 * frame, or, when the client waits having sent nothing new, one more (that
 * covers interim responses, unsolicited frames and fuzzed streams that
 * answer less than asked). After the last frame the next release is
 * end-of-stream (SMBW_ECLOSED, as recv() returning 0 would be). Releasing
 * everything at once would not do: the client would read answers to
 * requests it has not sent yet. The pump allocates nothing (test_alloc
 * counts the client's allocations). */

typedef struct fz_server {
    const uint8_t *stream;
    size_t len, off; /* next byte of the stream to release */
    bool eof_sent;
    /* client frame parser */
    uint8_t hdr[4];
    size_t hdr_have;
    size_t body_left;
} fz_server;

/* Length of the frame at s->off: a 4-byte header (zero, 24-bit big-endian
 * length) and its body; anything else releases the rest of the stream. */
static size_t next_frame_len(const fz_server *s)
{
    size_t left = s->len - s->off;
    const uint8_t *p = s->stream + s->off;
    if (left < 4 || p[0] != 0)
        return left;
    size_t n = 4 + ((size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3]);
    return n <= left ? n : left;
}

/* Counts complete client frames in the bytes the client sent. */
static unsigned parse_client(fz_server *s, const uint8_t *p, size_t n)
{
    unsigned frames = 0;
    while (n > 0) {
        if (s->body_left) {
            size_t k = n < s->body_left ? n : s->body_left;
            s->body_left -= k;
            p += k;
            n -= k;
            if (!s->body_left)
                frames++;
            continue;
        }
        s->hdr[s->hdr_have++] = *p++;
        n--;
        if (s->hdr_have == 4) {
            s->hdr_have = 0;
            s->body_left = (size_t)s->hdr[1] << 16 | (size_t)s->hdr[2] << 8 | s->hdr[3];
            if (!s->body_left)
                frames++;
        }
    }
    return frames;
}

static int pump(smbw_conn *c, void *ud)
{
    fz_server *s = ud;
    size_t len;
    const uint8_t *out = core_output(c, &len);
    unsigned owed = parse_client(s, out, len);
    core_consumed(c, len);
    if (owed == 0 && !s->hdr_have && !s->body_left)
        owed = 1; /* waiting, nothing unanswered from this side */
    while (owed-- > 0 && !c->dead) {
        if (s->off >= s->len) {
            s->eof_sent = true;
            core_kill(c, SMBW_ECLOSED, "the server closed the connection");
            return SMBW_ECLOSED;
        }
        size_t n = next_frame_len(s);
        const uint8_t *p = s->stream + s->off;
        s->off += n;
        int rc = core_feed(c, p, n);
        if (rc)
            return rc;
    }
    return 0;
}

int fz_client_over_stream(const uint8_t *stream, size_t len, int timeout_ms)
{
    fz_server s;
    memset(&s, 0, sizeof s);
    s.stream = stream;
    s.len = len;
    smbw_conn *c = NULL;
    int rc = smbw_conn_new(&c);
    if (rc)
        return rc;
    rc = smbw_conn_set_timeout(c, timeout_ms);
    if (!rc)
        rc = io_adopt_pump(c, FZ_HOST, pump, &s);
    if (!rc)
        rc = api_negotiate(c);
    if (!rc)
        rc = fz_session(c, FZ_USER, FZ_PASS, FZ_SHARE);
    if (rc && getenv("FZ_DEBUG"))
        fprintf(stderr, "fz_client: %s: %s\n", smbw_error_name(rc), smbw_conn_errmsg(c));
    smbw_conn_free(c);
    return rc;
}
