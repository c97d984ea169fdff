/* The poll loop: moves bytes between the socket and the core. */
#include "io.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

short io_events(const smbw_conn *c)
{
    if (c->fd < 0 || c->dead)
        return 0;
    if (c->connecting)
        return POLLOUT;
    short ev = POLLIN;
    if (core_output_pending(c))
        ev |= POLLOUT;
    return ev;
}

/* Sends the output with one sendmsg per round: headers from the core's
 * buffer, WRITE payloads from the caller's memory. */
#define IO_IOV 16
static int do_write(smbw_conn *c)
{
    for (;;) {
        core_iov v[IO_IOV];
        struct iovec iov[IO_IOV];
        int k = core_output_iov(c, v, IO_IOV);
        if (k == 0)
            return 0;
        for (int i = 0; i < k; i++) {
            iov[i].iov_base = (void *)(uintptr_t)v[i].p;
            iov[i].iov_len = v[i].len;
        }
        struct msghdr mh;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)k;
        ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            core_kill(c, SMBW_EIO, "send failed: %s", strerror(errno));
            return SMBW_EIO;
        }
        core_consumed(c, (size_t)n);
    }
}

static int do_read(smbw_conn *c)
{
    /* Bounded number of reads per call so writes interleave. */
    for (int i = 0; i < 64 && !c->dead; i++) {
        uint8_t *p;
        size_t space;
        int rc = core_recv_space(c, &p, &space);
        if (rc) {
            core_kill(c, rc, "out of memory buffering input");
            return rc;
        }
        ssize_t n = recv(c->fd, p, space, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            core_kill(c, SMBW_EIO, "receive failed: %s", strerror(errno));
            return SMBW_EIO;
        }
        if (n == 0) {
            core_kill(c, SMBW_ECLOSED, "the server closed the connection");
            return SMBW_ECLOSED;
        }
        rc = core_recv_commit(c, (size_t)n);
        if (rc)
            return rc;
        if ((size_t)n < space)
            return 0;
    }
    return 0;
}

int io_revive(smbw_conn *c)
{
    if (!c->dead)
        return 0;
    if (!c->parked || !c->revive || c->reviving || c->dispatching)
        return c->dead_err;
    c->reviving = true;
    int rc = c->revive(c);
    c->reviving = false;
    if (rc) {
        core_fail_parked(c, rc);
        return rc;
    }
    return c->dead ? c->dead_err : 0;
}

int io_service(smbw_conn *c, short revents)
{
    if (c->dead)
        return c->dead_err;
    if (c->dispatching)
        return core_set_error(c, SMBW_EBUSY, 0,
                              "a callback called a waiting function on its own connection");
    if (c->pump) /* bytes move only when the pump runs (io_wait_any) */
        return core_check_timeouts(c);
    if (c->fd < 0)
        return SMBW_EINVAL;
    int rc = 0;
    if (c->connecting) {
        if (revents & (POLLOUT | POLLERR | POLLHUP))
            rc = io_connect_finish(c);
        if (c->connecting || rc)
            return rc ? rc : core_check_timeouts(c);
        revents = 0;
    }
    if (revents & (POLLIN | POLLERR | POLLHUP))
        rc = do_read(c);
    if (!rc && !c->dead)
        rc = do_write(c);
    if (!rc && !c->dead)
        rc = core_check_timeouts(c);
    return c->dead ? c->dead_err : rc;
}

/* The library's only poll() call: io_wait_any and io_wait_fd block here. */
static int poll_fds(struct pollfd *pfd, nfds_t n, int to)
{
    return poll(pfd, n, to);
}

int io_wait_fd(int fd, short events, int max_ms)
{
    struct pollfd pfd = {fd, events, 0};
    int r = poll_fds(&pfd, 1, max_ms);
    if (r < 0)
        return -errno;
    return r == 0 ? 0 : pfd.revents;
}

int io_wait_any(smbw_conn *const *conns, int nconns, int max_ms, int *which)
{
    smbw_conn *cs[IO_WAIT_MAX];
    int idx[IO_WAIT_MAX];
    struct pollfd pfd[IO_WAIT_MAX];
    int n = 0, to = -1;
    if (which)
        *which = -1;
    for (int i = 0; i < nconns; i++) {
        smbw_conn *c = conns[i];
        bool dup = c == NULL;
        for (int j = 0; j < n && !dup; j++)
            dup = cs[j] == c;
        if (dup)
            continue;
        if (n == IO_WAIT_MAX)
            return SMBW_EINVAL;
        int rc = io_service(c, 0); /* flush output, check deadlines */
        if (rc && c->parked && io_revive(c) == 0)
            return 0; /* back, its requests sent again: the caller looks again */
        if (rc) {
            if (which)
                *which = i;
            return rc;
        }
        cs[n] = c;
        idx[n] = i;
        pfd[n].fd = c->fd;
        pfd[n].events = io_events(c);
        pfd[n].revents = 0;
        int t = core_next_timeout(c);
        if (t >= 0 && (to < 0 || t < to))
            to = t;
        n++;
    }
    if (max_ms >= 0 && (to < 0 || max_ms < to))
        to = max_ms;
    if (to < 0 || n == 0)
        return 0; /* nothing in flight: nothing to wait for */
    /* Transports in memory are not polled: their pump moves the bytes. */
    bool pumped = false;
    for (int i = 0; i < n; i++) {
        if (!cs[i]->pump)
            continue;
        pumped = true;
        int rc = cs[i]->pump(cs[i], cs[i]->pump_ud);
        if (!rc && cs[i]->dead)
            rc = cs[i]->dead_err;
        if (rc) {
            if (which)
                *which = idx[i];
            return rc;
        }
    }
    if (pumped)
        return 0;
    /* n is within 1..IO_WAIT_MAX here; said as an unsigned count so that
     * gcc's object-size check (with the sanitizers) sees it too. */
    nfds_t nfds = (nfds_t)(unsigned)n % (IO_WAIT_MAX + 1);
    int r = poll_fds(pfd, nfds, to);
    if (r < 0 && errno == EINTR)
        return 0; /* let the caller look at its flags */
    if (r < 0) {
        int e = errno;
        for (int i = 0; i < n; i++)
            core_kill(cs[i], SMBW_EIO, "poll failed: %s", strerror(e));
        if (which)
            *which = idx[0];
        return SMBW_EIO;
    }
    for (int i = 0; i < n; i++) {
        int rc = io_service(cs[i], r > 0 ? pfd[i].revents : 0);
        if (rc && cs[i]->parked && io_revive(cs[i]) == 0)
            continue;
        if (rc) {
            if (which)
                *which = idx[i];
            return rc;
        }
    }
    return 0;
}

int io_wait_some(smbw_conn *c)
{
    int rc = io_revive(c);
    if (rc)
        return rc;
    return io_wait_any(&c, 1, -1, NULL);
}

int io_wait(smbw_conn *c, const int *done)
{
    while (!*done) {
        int rc = io_revive(c); /* dead: back with its requests, or the error */
        if (rc)
            return rc;
        rc = io_service(c, 0); /* flush output first */
        if (rc && c->parked && io_revive(c) == 0)
            continue;
        if (rc)
            return rc;
        if (*done)
            break;
        if (core_next_timeout(c) < 0) {
            /* Nothing in flight and not done: a logic error upstream. */
            return core_set_error(c, SMBW_EINVAL, 0, "waiting with no request in flight");
        }
        rc = io_wait_any(&c, 1, -1, NULL);
        if (rc)
            return rc;
    }
    return 0;
}
