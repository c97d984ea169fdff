/* Shared helpers for the integration tests. They talk to a real server that
 * tests/testbed/with-server.sh started and described in SMBW_TEST_* variables;
 * a missing variable fails the test (it is never skipped). Only the public API
 * (smbwire/smbwire.h) is used. */
#ifndef SMBW_ITEST_H
#define SMBW_ITEST_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <smbwire/smbwire.h>

/* Per-call timeout used by every test connection. */
#define IT_TIMEOUT_MS 60000

/* Asserts that expr (an smbwire call on connection conn) returned 0. */
#define IT_OK(conn, expr)                                                                          \
    do {                                                                                           \
        int it_rc_ = (expr);                                                                       \
        ck_assert_msg(it_rc_ == 0, "%s -> %d %s [%s] %s", #expr, it_rc_, smbw_error_name(it_rc_),  \
                      smbw_status_name(smbw_last_status(conn)), smbw_conn_errmsg(conn));           \
    } while (0)

/* Asserts that expr returned exactly the negative code err. */
#define IT_ERR(conn, expr, err)                                                                    \
    do {                                                                                           \
        int it_rc_ = (expr);                                                                       \
        ck_assert_msg(it_rc_ == (err), "%s -> %d %s (wanted %s) [%s] %s", #expr, it_rc_,           \
                      smbw_error_name(it_rc_), smbw_error_name(err),                               \
                      smbw_status_name(smbw_last_status(conn)), smbw_conn_errmsg(conn));           \
    } while (0)

typedef struct it_ctx {
    smbw_conn *conn;
    smbw_session *sess;
    smbw_tree *tree;
} it_ctx;

/* Value of a required variable; fails the current test when unset or empty. */
const char *it_env(const char *name);
/* Value of an optional variable, or NULL when unset or empty. */
const char *it_env_opt(const char *name);
/* Checks that every SMBW_TEST_* variable the tests need is set; prints what
 * is missing and returns false otherwise (for main()). */
bool it_env_complete(void);
/* Dialect named by variable name (SMB2_02 ...), or dflt when unset. */
uint16_t it_env_dialect(const char *name, uint16_t dflt);

/* A connected conn with the dialect range from SMBW_TEST_CLIENT_MIN/MAX. */
smbw_conn *it_connect(void);
/* The same, logging everything at SMBW_LOG_TRACE to fn. */
smbw_conn *it_connect_logged(smbw_log_fn fn, void *ud);
/* Tries an NTLM login; returns the smbwire result. */
int it_login_as(smbw_conn *c, const char *user, const char *password, smbw_session **out);
/* connect + login as SMBW_TEST_USER + tree connect to SMBW_TEST_SHARE. */
void it_open(it_ctx *ctx);
void it_close(it_ctx *ctx);

/* malloc'd "SMBW_TEST_SHARE_PATH/rel" (the server-side file system path). */
char *it_server_path(const char *rel);
/* stat() of the server-side path of rel; returns 0 or -1. */
int it_server_stat(const char *rel, struct stat *st);
/* Reads the whole server-side file rel (malloc'd, *len set), fails the test
 * when it cannot be read. */
void *it_server_read(const char *rel, size_t *len);
/* Names in a server-side directory, sorted and joined with '\n' (malloc'd). */
char *it_server_listing(const char *rel);

/* Fills buf with random bytes. */
void it_random(void *buf, size_t len);
/* Seconds from a monotonic clock. */
double it_now(void);
/* Unix time to FILETIME. */
uint64_t it_filetime(int64_t unix_seconds);

/* Runs suite s in fork mode with verbose output; returns the exit status for
 * main() (0 only when every test passed and the environment was complete). */
int it_run(Suite *s);

#endif
