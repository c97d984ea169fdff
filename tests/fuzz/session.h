/* The scripted client session that the whole-client fuzzer, the seed
 * recorder and the allocation-failure test run: negotiate (done by the
 * caller), NTLM session setup, tree connect, create/write/read/stat, server-
 * side copy (resume key + copychunk) between two opens, an FSCTL, a directory
 * listing, path stat, unlink, close, tree disconnect, logoff. */
#ifndef SMBW_FUZZ_SESSION_H
#define SMBW_FUZZ_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "smbwire/smbwire.h"

#define FZ_USER "smbwtest"
#define FZ_PASS "smbw-Pass1"
#define FZ_SHARE "share1"
#define FZ_HOST "127.0.0.1"

/* Runs every step on a negotiated connection; stops at the first failure but
 * always releases what it opened. Returns 0 when every step succeeded, else
 * the first step's error. The connection itself stays the caller's. */
int fz_session(smbw_conn *c, const char *user, const char *pass, const char *share);

/* Runs the whole client over fd (already connected; ownership passes to the
 * library): adopt, NEGOTIATE, fz_session, free. timeout_ms bounds every wait.
 * Returns 0 or the first error. */
int fz_client_over_fd(int fd, int timeout_ms);

/* Scripted server in memory: the whole client (NEGOTIATE, fz_session, free)
 * on a connection without a socket whose transport releases stream (the
 * server's bytes) frame by frame to the core as the client waits (see
 * session.c). No thread, no system call. Returns 0 or the first error. */
int fz_client_over_stream(const uint8_t *stream, size_t len, int timeout_ms);

#endif
