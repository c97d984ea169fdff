/* TCP connection setup: resolution, non-blocking connect with a deadline. */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A non-blocking TCP socket connecting to ai: 0 connected, 1 in progress
 * (*out_fd set either way), or an error with *sys_err. */
static int start_one(const struct addrinfo *ai, int *out_fd, int *sys_err)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
        *sys_err = errno;
        return SMBW_EIO;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int bufsz = 4 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
    *out_fd = fd;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return 0;
    if (errno == EINPROGRESS)
        return 1;
    *sys_err = errno;
    close(fd);
    *out_fd = -1;
    return *sys_err == ECONNREFUSED ? SMBW_ECONNREFUSED : SMBW_EIO;
}

static int connect_one(const smbw_conn *c, const struct addrinfo *ai, uint64_t deadline,
                       int *out_fd, int *sys_err)
{
    int fd = -1;
    int rc = start_one(ai, &fd, sys_err);
    if (rc <= 0) {
        *out_fd = fd;
        return rc;
    }
    for (;;) {
        uint64_t now = core_now_ms();
        if (now >= deadline) {
            close(fd);
            *sys_err = ETIMEDOUT;
            return SMBW_ETIMEDOUT;
        }
        if (core_interrupted(c)) {
            close(fd);
            *sys_err = EINTR;
            return SMBW_ECANCELED;
        }
        uint64_t wait = deadline - now;
        if (c->intr_check && wait > CORE_INTR_POLL_MS)
            wait = CORE_INTR_POLL_MS;
        int ev = io_wait_fd(fd, POLLOUT, (int)wait);
        if (ev == -EINTR || ev == 0)
            continue;
        if (ev < 0) {
            *sys_err = -ev;
            close(fd);
            return SMBW_EIO;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            soerr = errno;
        if (soerr) {
            *sys_err = soerr;
            close(fd);
            return soerr == ECONNREFUSED ? SMBW_ECONNREFUSED : SMBW_EIO;
        }
        *out_fd = fd;
        return 0;
    }
}

static int resolve(smbw_conn *c, const char *host, uint16_t port, struct addrinfo **res)
{
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%u", port ? port : 445u);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
    int gerr = getaddrinfo(host, portstr, &hints, res);
    if (gerr == EAI_ADDRFAMILY || gerr == EAI_NONAME) {
        /* AI_ADDRCONFIG hides ::1 on hosts with only loopback IPv6. */
        hints.ai_flags = AI_NUMERICSERV;
        gerr = getaddrinfo(host, portstr, &hints, res);
    }
    if (gerr != 0)
        return core_set_error(c, SMBW_ERESOLVE, 0, "cannot resolve %s: %s", host,
                              gai_strerror(gerr));
    return 0;
}

int io_connect_start(smbw_conn *c, const char *host, uint16_t port)
{
    struct addrinfo *res = NULL;
    int rc = resolve(c, host, port, &res);
    if (rc)
        return rc;
    int sys_err = 0;
    rc = SMBW_EIO;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = -1;
        rc = start_one(ai, &fd, &sys_err);
        if (rc >= 0) {
            c->fd = fd;
            c->connecting = rc == 1;
            rc = 0;
            break;
        }
    }
    freeaddrinfo(res);
    if (rc)
        return core_set_error(c, rc, 0, "connect to %s port %u: %s", host, port ? port : 445u,
                              strerror(sys_err));
    return 0;
}

int io_connect_finish(smbw_conn *c)
{
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        soerr = errno;
    if (soerr == EINPROGRESS || soerr == EALREADY)
        return 0;
    c->connecting = false;
    if (soerr) {
        int err = soerr == ECONNREFUSED ? SMBW_ECONNREFUSED : SMBW_EIO;
        core_kill(c, err, "connect to %s port %u: %s", c->host ? c->host : "?", c->port,
                  strerror(soerr));
        return err;
    }
    return 0;
}

int io_connect(smbw_conn *c, const char *host, uint16_t port)
{
    struct addrinfo *res = NULL;
    int gerr = resolve(c, host, port, &res);
    if (gerr)
        return gerr;
    uint64_t deadline = core_now_ms() + (uint64_t)c->timeout_ms;
    int rc = SMBW_EIO, sys_err = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = -1;
        rc = connect_one(c, ai, deadline, &fd, &sys_err);
        if (rc == 0) {
            c->fd = fd;
            break;
        }
        if (rc == SMBW_ETIMEDOUT || rc == SMBW_ECANCELED)
            break;
    }
    freeaddrinfo(res);
    if (rc == SMBW_ECANCELED)
        return core_set_error(c, rc, 0, "connect to %s port %u: interrupted", host,
                              port ? port : 445u);
    if (rc)
        return core_set_error(c, rc, 0, "connect to %s port %u: %s", host, port ? port : 445u,
                              strerror(sys_err));
    return 0;
}

void io_close(smbw_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}
