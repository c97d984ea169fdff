/* Helpers for the security tests. They run against a real Samba started by
 * tests/testbed/with-server.sh (SMBW_TEST_* variables) and, for the tamper
 * and wire tests, through tests/testbed/tamper_proxy.py (SMBW_TAMPER_PROXY).
 * A missing variable fails the test: a missing server is never a skip. Only
 * the public API (smbwire/smbwire.h) is used. */
#ifndef SMBW_SECTEST_H
#define SMBW_SECTEST_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <smbwire/smbwire.h>

/* Per-request timeout of every test connection (ms). */
#define SEC_TIMEOUT_MS 30000

/* Asserts that expr (an smbwire call on connection conn) returned 0. */
#define SEC_OK(conn, expr)                                                                         \
    do {                                                                                           \
        int sec_rc_ = (expr);                                                                      \
        ck_assert_msg(sec_rc_ == 0, "%s -> %d %s [%s] %s", #expr, sec_rc_,                         \
                      smbw_error_name(sec_rc_), smbw_status_name(smbw_last_status(conn)),          \
                      smbw_conn_errmsg(conn));                                                     \
    } while (0)

/* Value of a required variable; fails the current test when unset or empty. */
const char *sec_env(const char *name);
/* Value of an optional variable, or NULL when unset or empty. */
const char *sec_env_opt(const char *name);
/* Dialect named by variable name, or dflt when unset. */
uint16_t sec_env_dialect(const char *name, uint16_t dflt);
/* SMBW_TEST_PORT as a number. */
uint16_t sec_server_port(void);

/* Connection options for sec_connect_to. */
typedef struct sec_opts {
    uint16_t min_dialect; /* 0: SMB2_02 */
    uint16_t max_dialect; /* 0: SMB3_11 */
    enum smbw_sign_policy sign;
    enum smbw_encrypt_policy encrypt;
} sec_opts;

/* smbw_conn_new + options; *out_conn is always set (so the caller can read
 * the error message); returns the connect result. */
int sec_connect_to(smbw_conn **out_conn, const char *host, uint16_t port, const sec_opts *o);
/* NTLM login as SMBW_TEST_USER; returns the smbwire result. */
int sec_login(smbw_conn *c, smbw_session **out);

/* A connection, session and tree; everything must succeed. */
typedef struct sec_ctx {
    smbw_conn *conn;
    smbw_session *sess;
    smbw_tree *tree;
} sec_ctx;
void sec_open(sec_ctx *x, const char *host, uint16_t port, const sec_opts *o);
void sec_close(sec_ctx *x);

/* Writes len bytes as path (created/truncated), reads them back through the
 * same tree and compares; also compares with the server-side file. */
void sec_round_trip(smbw_tree *t, smbw_conn *c, const char *path, const void *data, size_t len);
/* Fills buf with random bytes. */
void sec_random(void *buf, size_t len);
/* malloc'd "SMBW_TEST_SHARE_PATH/rel". */
char *sec_server_path(const char *rel);
/* Reads a whole local file (malloc'd, NUL-terminated past *len); NULL when
 * it cannot be opened. */
void *sec_read_file(const char *path, size_t *len);
/* Number of entries in the server-side share directory (".." excluded). */
int sec_share_entries(void);

/* A running tamper_proxy.py. */
typedef struct sec_proxy {
    pid_t pid;
    uint16_t port;
    char dir[256];    /* private temporary directory */
    char log[300];    /* --log file (when asked) */
    char report[300]; /* --report file */
} sec_proxy;

/* Starts the proxy towards SMBW_TEST_HOST:SMBW_TEST_PORT with the extra
 * arguments args (NULL-terminated, may be NULL); with_log adds --log. Waits
 * (bounded) until it listens. */
void sec_proxy_start(sec_proxy *p, bool with_log, const char *const *args);
/* Waits up to timeout_ms for the proxy to exit (it does once its client has
 * gone), kills it after that; returns true when it exited by itself. */
bool sec_proxy_wait(sec_proxy *p, int timeout_ms);
/* Contents of the report file ("" when nothing was altered; malloc'd). */
char *sec_proxy_report(const sec_proxy *p);
/* Removes the proxy's files. */
void sec_proxy_cleanup(sec_proxy *p);

/* Runs suite s in fork mode; returns main()'s exit status. Fails when the
 * SMBW_TEST_* variables are missing or no test ran. */
int sec_run(Suite *s);

#endif
