/* The scripted client session (see session.h). */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
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
 * Releases the recorded stream one transport frame at a time, as a server
 * would: one frame for each request frame the client sends, plus one more
 * whenever the client is provably waiting (blocked in poll, nothing unread
 * on its socket, no request unanswered): that covers interim responses,
 * unsolicited frames and fuzzed streams that answer less than asked. After
 * the last frame the next release is end-of-stream (shutdown). Releasing
 * everything at once would not do: the client would read answers to requests
 * it has not sent yet. The thread allocates nothing (test_alloc counts the
 * client's allocations and its wrappers are not thread-safe). */

typedef struct fz_server {
    const uint8_t *stream;
    size_t len, off;  /* next byte of the stream to release */
    int fd;           /* server end */
    int client_fd;    /* client end (for FIONREAD only) */
    pid_t client_tid; /* the thread running the client */
    unsigned credit;  /* frames owed to the client */
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

static void release(fz_server *s)
{
    if (s->eof_sent)
        return;
    if (s->off >= s->len) {
        (void)shutdown(s->fd, SHUT_WR);
        s->eof_sent = true;
        return;
    }
    size_t n = next_frame_len(s);
    const uint8_t *p = s->stream + s->off;
    s->off += n;
    while (n > 0) {
        ssize_t w = write(s->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) { /* client gone */
            s->eof_sent = true;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Counts complete client frames in newly read bytes. */
static void parse_client(fz_server *s, const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (s->body_left) {
            size_t k = n < s->body_left ? n : s->body_left;
            s->body_left -= k;
            p += k;
            n -= k;
            if (!s->body_left)
                s->credit++;
            continue;
        }
        s->hdr[s->hdr_have++] = *p++;
        n--;
        if (s->hdr_have == 4) {
            s->hdr_have = 0;
            s->body_left = (size_t)s->hdr[1] << 16 | (size_t)s->hdr[2] << 8 | s->hdr[3];
            if (!s->body_left)
                s->credit++;
        }
    }
}

/* True when the client thread sits in poll() (Linux: /proc/.../syscall). */
static bool client_in_poll(const fz_server *s)
{
    char path[64], buf[32];
    snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", (long)s->client_tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = 0;
    long nr = strtol(buf, NULL, 10);
#ifdef SYS_poll
    if (nr == SYS_poll)
        return true;
#endif
#ifdef SYS_ppoll
    if (nr == SYS_ppoll)
        return true;
#endif
    return false;
}

static bool client_waiting(const fz_server *s)
{
    if (s->credit || s->hdr_have || s->body_left)
        return false;
    int unread = 0;
    if (ioctl(s->client_fd, FIONREAD, &unread) != 0 || unread > 0)
        return false;
    /* Twice, a little apart: entering poll with data on its way counts not. */
    if (!client_in_poll(s))
        return false;
    struct pollfd pfd = {s->fd, POLLIN, 0};
    if (poll(&pfd, 1, 1) != 0)
        return false;
    return client_in_poll(s) && ioctl(s->client_fd, FIONREAD, &unread) == 0 && unread == 0;
}

static void *server_main(void *arg)
{
    fz_server *s = arg;
    uint8_t buf[16384];
    for (;;) {
        struct pollfd pfd = {s->fd, POLLIN, 0};
        int r = poll(&pfd, 1, 1);
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0) {
            ssize_t n = read(s->fd, buf, sizeof buf);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0)
                break; /* the client closed its socket: the run is over */
            parse_client(s, buf, (size_t)n);
        } else if (!s->eof_sent && client_waiting(s)) {
            s->credit++;
        }
        while (s->credit > 0) {
            s->credit--;
            release(s);
        }
    }
    return NULL;
}

int fz_client_over_stream(const uint8_t *stream, size_t len, int timeout_ms)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return SMBW_EIO;
    /* Room for what either side sends, so the server thread never blocks
     * long in a write. */
    int sz = 1 << 20;
    for (int i = 0; i < 2; i++) {
        (void)setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
        (void)setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    }
    fz_server s;
    memset(&s, 0, sizeof s);
    s.stream = stream;
    s.len = len;
    s.fd = sv[0];
    s.client_fd = sv[1];
    s.client_tid = (pid_t)syscall(SYS_gettid);
    /* The client's fd must stay valid until the server thread is joined
     * (FIONREAD on it): hand the library a duplicate. */
    int cfd = fcntl(sv[1], F_DUPFD_CLOEXEC, 0);
    pthread_t th;
    if (cfd < 0 || pthread_create(&th, NULL, server_main, &s) != 0) {
        if (cfd >= 0)
            close(cfd);
        close(sv[0]);
        close(sv[1]);
        return SMBW_EIO;
    }
    int rc = fz_client_over_fd(cfd, timeout_ms);
    /* cfd is closed by now; closing sv[1] too ends the server's read. */
    close(sv[1]);
    pthread_join(th, NULL);
    close(sv[0]);
    return rc;
}
