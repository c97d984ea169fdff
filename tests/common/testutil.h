/* The part of the tests' harness that needs no server and no library: hex
 * test vectors, private temporary directories, clocks, random bytes, helper
 * processes that announce a port, and running a Check suite. The unit tests
 * link it alone (testutil_dep); harness.h adds the server side on top. */
#ifndef SMBW_TESTS_TESTUTIL_H
#define SMBW_TESTS_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Hex (white space ignored) to bytes; returns the length. Fails the test on
 * an odd number of digits or more than max bytes. */
size_t it_unhex(const char *hex, uint8_t *out, size_t max);

/* got's first bytes are hex's bytes. */
#define it_assert_hex(got, hex)                                                                    \
    do {                                                                                           \
        uint8_t it_want_[512];                                                                     \
        size_t it_wl_ = it_unhex(hex, it_want_, sizeof it_want_);                                  \
        ck_assert_mem_eq(got, it_want_, it_wl_);                                                   \
    } while (0)
/* The same, and hex is exactly len bytes. */
#define it_assert_hex_len(got, hex, len)                                                           \
    do {                                                                                           \
        uint8_t it_want_[512];                                                                     \
        size_t it_wl_ = it_unhex(hex, it_want_, sizeof it_want_);                                  \
        ck_assert_uint_eq(it_wl_, (size_t)(len));                                                  \
        ck_assert_mem_eq(got, it_want_, it_wl_);                                                   \
    } while (0)

/* A new private directory "<base>/<tag>.XXXXXX" in out (n bytes), base being
 * $TMPDIR or, when unset, the build directory (never a fixed /tmp). Fails
 * the test when it cannot be made. */
void it_tmpdir(char *out, size_t n, const char *tag);

/* Seconds from a monotonic clock. */
double it_now(void);
/* Fills buf with random bytes. */
void it_random(void *buf, size_t len);
/* Reads a whole local file (malloc'd, NUL-terminated past *len); NULL when
 * it cannot be opened. */
void *it_read_file(const char *path, size_t *len);
/* The Python 3 interpreter to run the test helpers with. */
const char *it_python(void);

/* A helper process (a fake server, a proxy) that writes the port it listens
 * on into port_file once it is ready. */
typedef struct it_child {
    pid_t pid;
    uint16_t port;
    bool quiet;          /* its stdout goes to /dev/null */
    char dir[512];       /* private directory, removed by it_child_cleanup */
    char port_file[600]; /* dir/port */
} it_child;

/* Makes ch->dir (it_tmpdir with tag) and ch->port_file; then build the
 * command line (which names ch->port_file) and call it_child_start. */
void it_child_init(it_child *ch, const char *tag);
/* Runs argv (NULL-terminated) and waits (bounded, 15 s) until the port file
 * holds a port; fails the test when the program exits or stays silent. */
void it_child_start(it_child *ch, const char *const *argv);
/* Waits up to timeout_ms for the process to exit by itself and returns its
 * exit status; kills it after that and returns -1 (also when a signal ended
 * it). */
int it_child_wait(it_child *ch, int timeout_ms);
/* Kills a process still running and removes ch->dir with the files in it. */
void it_child_cleanup(it_child *ch);

/* Runs suite s in fork mode with verbose output; returns the exit status for
 * main(): 0 only when at least one test ran and every test passed. */
int it_run_suite(Suite *s);

#endif
