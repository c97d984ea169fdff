/* The one harness of the tests that use a server (integration, copy,
 * security, conformance, faults, hostile): connection, login and tree setup
 * from the SMBW_TEST_* variables that tests/testbed/with-server.sh exports
 * (a missing variable fails the test: it is never skipped), the server-side
 * view of the share, and testutil.h's helpers. Only the public API
 * (smbwire/smbwire.h) is used. The it_ prefix is the harness's. */
#ifndef SMBW_TESTS_HARNESS_H
#define SMBW_TESTS_HARNESS_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <smbwire/smbwire.h>

#include "testutil.h"

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

/* Connection options for it_connect_to / it_open_to; all zero: dialects
 * 2.0.2..3.1.1, IT_TIMEOUT_MS, signing and encryption as the server asks. */
typedef struct it_opts {
    uint16_t min_dialect; /* 0: SMB2_02 */
    uint16_t max_dialect; /* 0: SMB3_11 */
    enum smbw_sign_policy sign;
    enum smbw_encrypt_policy encrypt;
    int timeout_ms;  /* 0: IT_TIMEOUT_MS */
    smbw_log_fn log; /* non-NULL: everything at SMBW_LOG_TRACE to log(log_ud) */
    void *log_ud;
} it_opts;

/* Value of a required variable; fails the current test when unset or empty. */
const char *it_env(const char *name);
/* Value of an optional variable, or NULL when unset or empty. */
const char *it_env_opt(const char *name);
/* Checks that every SMBW_TEST_* variable the tests need is set; prints what
 * is missing and returns false otherwise (for main()). */
bool it_env_complete(void);
/* Dialect named by variable name (SMB2_02 ...), or dflt when unset. */
uint16_t it_env_dialect(const char *name, uint16_t dflt);
/* SMBW_TEST_PORT as a number. */
uint16_t it_env_port(void);

/* smbw_conn_new + options o (NULL: all defaults) + connect to host:port;
 * *out is always set (so the caller can read the error message); returns
 * the connect result. */
int it_connect_to(smbw_conn **out, const char *host, uint16_t port, const it_opts *o);
/* A connected conn to SMBW_TEST_HOST:PORT with the dialect range from
 * SMBW_TEST_CLIENT_MIN/MAX; fails the test otherwise. */
smbw_conn *it_connect(void);
/* The same, logging everything at SMBW_LOG_TRACE to fn. */
smbw_conn *it_connect_logged(smbw_log_fn fn, void *ud);
/* Tries an NTLM login; returns the smbwire result. */
int it_login_as(smbw_conn *c, const char *user, const char *password, smbw_session **out);
/* The same as SMBW_TEST_USER / SMBW_TEST_PASS. */
int it_login(smbw_conn *c, smbw_session **out);
/* it_connect + login as SMBW_TEST_USER + tree connect to SMBW_TEST_SHARE. */
void it_open(it_ctx *ctx);
/* The same to host:port with options o (NULL: defaults, full dialect range). */
void it_open_to(it_ctx *ctx, const char *host, uint16_t port, const it_opts *o);
void it_close(it_ctx *ctx);

/* malloc'd "SMBW_TEST_SHARE_PATH/rel" (the server-side file system path). */
char *it_server_path(const char *rel);
/* stat() of the server-side path of rel; returns 0 or -1. */
int it_server_stat(const char *rel, struct stat *st);
/* Reads the whole server-side file rel (malloc'd, *len set), fails the test
 * when it cannot be read. */
void *it_server_read(const char *rel, size_t *len);
/* Writes len bytes of data as the server-side file rel (created or
 * truncated); fails the test when it cannot. */
void it_server_write(const char *rel, const void *data, size_t len);
/* Names in a server-side directory, sorted and joined with '\n' (malloc'd). */
char *it_server_listing(const char *rel);
/* Size of a server-side file, or -1 when it does not exist. */
long long it_server_size(const char *rel);
/* Number of entries in the share's directory ("." and ".." excluded). */
int it_share_entries(void);

/* Unix time to FILETIME. */
uint64_t it_filetime(int64_t unix_seconds);

/* it_run_suite, after checking that every SMBW_TEST_* variable is set. */
int it_run(Suite *s);

#endif
