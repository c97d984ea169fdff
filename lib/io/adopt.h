/* Hands the library an already-connected stream socket (fuzzers and tests
 * that script the server over a socketpair). Internal. */
#ifndef SMBW_IO_ADOPT_H
#define SMBW_IO_ADOPT_H

#include "io.h"

/* Takes ownership of fd (made non-blocking; closed by smbw_conn_free) and
 * records host (copied) as the server name for NETNAME and TREE_CONNECT
 * paths. c must not be connected yet. Returns 0, SMBW_EINVAL or
 * SMBW_ENOMEM; on failure fd stays the caller's. */
SMBW_WUR int io_adopt_fd(smbw_conn *c, int fd, const char *host);

/* A connection without a socket: pump(c, ud) is called each time the
 * library would wait for the server (instead of poll); it takes what the
 * core wants sent (core_output/core_consumed) and gives it the server's
 * bytes (core_feed), or kills the connection (e.g. SMBW_ECLOSED at the end
 * of a scripted stream). host (copied) names the server as for io_adopt_fd.
 * Returns 0, SMBW_EINVAL or SMBW_ENOMEM. */
SMBW_WUR int io_adopt_pump(smbw_conn *c, const char *host, int (*pump)(smbw_conn *c, void *ud),
                           void *ud);

#endif
