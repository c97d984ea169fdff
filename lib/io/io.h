/* Sockets and the poll loop that drives the sans-IO core. The only layer that
 * performs network I/O; it never parses SMB bytes. */
#ifndef SMBW_IO_H
#define SMBW_IO_H

#include <stdint.h>

#include "../core/core.h"

/* Resolves host (name or literal IPv4/IPv6 address) and connects a
 * non-blocking TCP socket to port within the connection timeout; tries each
 * address in turn. Sets c->fd. */
SMBW_WUR int io_connect(smbw_conn *c, const char *host, uint16_t port);
/* Event-loop connect: resolves host (this blocks like getaddrinfo does),
 * starts a non-blocking connect to the first address that takes one and
 * returns; c->connecting stays set until io_service sees the socket
 * writable and io_connect_finish checks the result. The connection timeout
 * is that of the request queued behind it (NEGOTIATE). */
SMBW_WUR int io_connect_start(smbw_conn *c, const char *host, uint16_t port);
/* After POLLOUT/POLLERR on a connecting socket: 0 (connected), or kills
 * the connection with the connect error. */
SMBW_WUR int io_connect_finish(smbw_conn *c);
void io_close(smbw_conn *c);
/* Runs the loop until *done becomes non-zero, the connection dies, or a
 * deadline passes. Returns 0 or the connection's fatal error. */
SMBW_WUR int io_wait(smbw_conn *c, const int *done);
/* The one wait of the library: services conns[0..n) (NULL entries and
 * duplicates skipped; at most IO_WAIT_MAX distinct), blocks in poll until
 * one of them has an event, the earliest request deadline passes, or max_ms
 * (-1: no limit of its own) elapses, then services each. With nothing in
 * flight and max_ms -1 it returns at once. Returns 0 (also when a signal
 * interrupted poll) or the fatal error of a connection (*which, when not
 * NULL, is its index in conns; -1 otherwise). */
#define IO_WAIT_MAX 64
SMBW_WUR int io_wait_any(smbw_conn *const *conns, int n, int max_ms, int *which);
/* The same wait for one descriptor that is not a connection's yet (the
 * synchronous connect): blocks until fd has one of events or max_ms (-1: no
 * limit) elapses. Returns the revents (> 0), 0 on timeout, or -errno
 * (-EINTR when a signal interrupted it). */
SMBW_WUR int io_wait_fd(int fd, short events, int max_ms);
/* One round of I/O for revents (POLLIN/POLLOUT/POLLERR/POLLHUP), then the
 * timeout check. */
/* Services the connection, blocking in poll at most until the next deadline,
 * until at least one event was handled. */
SMBW_WUR int io_wait_some(smbw_conn *c);
/* A dead connection with requests parked for replay (core.h): reconnected
 * through c->revive and the requests sent again (0), or they fail with the
 * error returned. 0 for a live connection; the dead error otherwise. */
SMBW_WUR int io_revive(smbw_conn *c);
SMBW_WUR int io_service(smbw_conn *c, short revents);
short io_events(const smbw_conn *c);

#endif
