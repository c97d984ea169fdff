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

#endif
