/* Helpers shared by the C benchmarks (bench/ccbench.c, bench/xferbench.c). */
#ifndef SMBW_BENCH_BENCHUTIL_H
#define SMBW_BENCH_BENCHUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <smbwire/smbwire.h>

/* The program's name in messages; set by main. */
static const char *bench_prog = "bench";

static inline double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reports what failed (with c's status and message when given) and exits 1. */
static inline void die(const char *what, int err, smbw_conn *c)
{
    fprintf(stderr, "%s: %s: %s", bench_prog, what, smbw_error_name(err));
    if (c != NULL)
        fprintf(stderr, " (%s; %s)", smbw_status_name(smbw_last_status(c)), smbw_conn_errmsg(c));
    fputc('\n', stderr);
    exit(1);
}

static inline const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : dflt;
}

/* The server: -H HOST -P PORT -U USER -S SHARE, else the SMBW_TEST_*
 * environment of tests/testbed/with-server.sh; the password from
 * SMB_PASSWORD (else SMBW_TEST_PASS). */
static const char *host, *port_s, *user, *share, *pass;

static inline void bench_server_defaults(void)
{
    host = env_or("SMBW_TEST_HOST", "127.0.0.1");
    port_s = env_or("SMBW_TEST_PORT", "445");
    user = env_or("SMBW_TEST_USER", "guest");
    share = env_or("SMBW_TEST_SHARE", "share1");
    pass = env_or("SMB_PASSWORD", env_or("SMBW_TEST_PASS", ""));
}

/* Takes a server option (H, P, U, S) of getopt; 1 when it was one. */
static inline int bench_server_opt(int opt, const char *arg)
{
    switch (opt) {
    case 'H':
        host = arg;
        return 1;
    case 'P':
        port_s = arg;
        return 1;
    case 'U':
        user = arg;
        return 1;
    case 'S':
        share = arg;
        return 1;
    default:
        return 0;
    }
}

#endif
