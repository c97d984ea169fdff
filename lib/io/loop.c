/* The poll loop: moves bytes between the socket and the core. */
#include "io.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

short io_events(const smbw_conn *c)
{
    if (c->fd < 0 || c->dead)
        return 0;
    if (c->connecting)
        return POLLOUT;
    short ev = POLLIN;
    if (c->out.len > c->out_off)
        ev |= POLLOUT;
    return ev;
}

static int do_write(smbw_conn *c)
{
    for (;;) {
        size_t len;
        const uint8_t *p = core_output(c, &len);
        if (!len)
            return 0;
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
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

int io_service(smbw_conn *c, short revents)
{
    if (c->dead)
        return c->dead_err;
    if (c->dispatching)
        return core_set_error(c, SMBW_EBUSY, 0,
                              "a callback called a waiting function on its own connection");
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

int io_wait_some(smbw_conn *c)
{
    if (c->dead)
        return c->dead_err;
    int rc = io_service(c, 0);
    if (rc)
        return rc;
    int to = core_next_timeout(c);
    if (to < 0)
        return 0;
    for (;;) {
        struct pollfd pfd = {c->fd, io_events(c), 0};
        int n = poll(&pfd, 1, to);
        if (n < 0 && errno == EINTR)
            return 0;
        if (n < 0) {
            core_kill(c, SMBW_EIO, "poll failed: %s", strerror(errno));
            return SMBW_EIO;
        }
        return io_service(c, n > 0 ? pfd.revents : 0);
    }
}

int io_wait(smbw_conn *c, const int *done)
{
    while (!*done) {
        if (c->dead)
            return c->dead_err;
        int rc = io_service(c, 0); /* flush output first */
        if (rc)
            return rc;
        if (*done)
            break;
        int to = core_next_timeout(c);
        if (to < 0) {
            /* Nothing in flight and not done: a logic error upstream. */
            return core_set_error(c, SMBW_EINVAL, 0, "waiting with no request in flight");
        }
        struct pollfd pfd = {c->fd, io_events(c), 0};
        int n = poll(&pfd, 1, to);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            core_kill(c, SMBW_EIO, "poll failed: %s", strerror(errno));
            return SMBW_EIO;
        }
        rc = io_service(c, n > 0 ? pfd.revents : 0);
        if (rc)
            return rc;
    }
    return 0;
}
