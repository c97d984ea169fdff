/* What only the security tests need on top of tests/common/harness.h: a
 * round trip checked on the server's disk, and tests/testbed/tamper_proxy.py
 * (SMBW_TAMPER_PROXY) between the client and the Samba of with-server.sh. */
#ifndef SMBW_SECTEST_H
#define SMBW_SECTEST_H

#include <stdbool.h>
#include <stddef.h>

#include "harness.h"

/* Writes len bytes as path (created/truncated), reads them back through the
 * same tree and compares; also compares with the server-side file. */
void sec_round_trip(smbw_tree *t, smbw_conn *c, const char *path, const void *data, size_t len);

/* A running tamper_proxy.py. */
typedef struct sec_proxy {
    it_child child;
    uint16_t port;
    char log[700];    /* --log file (when asked) */
    char report[700]; /* --report file */
} sec_proxy;

/* Starts the proxy towards SMBW_TEST_HOST:SMBW_TEST_PORT with the extra
 * arguments args (NULL-terminated, may be NULL); with_log adds --log. Waits
 * (bounded) until it listens. */
void sec_proxy_start(sec_proxy *p, bool with_log, const char *const *args);
/* Waits up to timeout_ms for the proxy to exit (it does once its client has
 * gone), kills it after that; returns true when it exited by itself with
 * status 0. */
bool sec_proxy_wait(sec_proxy *p, int timeout_ms);
/* Contents of the report file ("" when nothing was altered; malloc'd). */
char *sec_proxy_report(const sec_proxy *p);
/* Stops the proxy and removes its files. */
void sec_proxy_cleanup(sec_proxy *p);

#endif
