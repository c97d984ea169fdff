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
/* One round of I/O for revents (POLLIN/POLLOUT/POLLERR/POLLHUP), then the
 * timeout check. */
/* Services the connection, blocking in poll at most until the next deadline,
 * until at least one event was handled. */
SMBW_WUR int io_wait_some(smbw_conn *c);
SMBW_WUR int io_service(smbw_conn *c, short revents);
short io_events(const smbw_conn *c);

#endif
