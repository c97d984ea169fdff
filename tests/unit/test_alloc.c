/* Allocation failure on a full session path (issue 5).
 *
 * `test_alloc STREAM` replays a recorded Samba conversation (STREAM, the
 * server's bytes; tests/fuzz/corpus/client/) to the real client fed in
 * memory (no socket), running the session script of tests/fuzz/session.c: negotiate,
 * NTLM session setup, tree connect, create, write, read, stat, copychunk,
 * FSCTL, directory listing, close, logoff. The library is the one that ships
 * (every signature and MIC verified), linked statically with
 * --wrap=malloc,calloc,realloc,free,strdup so every allocation of the library
 * and of this test goes through the wrappers below, and with
 * --wrap=crypto_random (det_random.c): the stream was recorded by
 * record_client with the same deterministic random bytes, so replaying it
 * derives the same session keys and the server's signatures verify.
 *
 * First a baseline run must succeed completely (proves the recording still
 * matches the script). Then for N = 1, 2, ...: the Nth allocation fails;
 * the run must end with 0 or a known SMBW_E* code (never crash: ASan and
 * valgrind watch), and after everything is freed no tracked allocation may
 * remain. The loop ends at the first N the path never reaches. It is capped
 * at FZ_MAX_N iterations (the path makes a few hundred allocations; the cap
 * only bounds a runaway). At least one run must have reported SMBW_ENOMEM. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smbwire/smbwire.h"
#include "tests/fuzz/session.h"
#include "tests/unit/det_random.h"

#define FZ_MAX_N 3000

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);

/* ---- the allocation tracker ------------------------------------------------
 * An open-addressing set of live pointers handed out by the wrappers. Frees of
 * pointers it does not know (allocated by libc or OpenSSL internally) pass
 * straight through. Single-threaded: the client runs in this thread only. */

#define SLOTS (1u << 16)
#define TOMB ((void *)1)
static void *slots[SLOTS];
static size_t live;
static bool armed;            /* counting allocations for injection */
static unsigned long seen;    /* allocations since arming */
static unsigned long fail_at; /* 0: never */
static bool injected;

static size_t slot_of(void *p)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 20) & (SLOTS - 1);
}

static void track(void *p)
{
    if (!p)
        return;
    if (live >= SLOTS / 2) {
        fprintf(stderr, "test_alloc: tracker full\n");
        abort();
    }
    size_t i = slot_of(p);
    while (slots[i] && slots[i] != TOMB)
        i = (i + 1) & (SLOTS - 1);
    slots[i] = p;
    live++;
}

static bool untrack(void *p)
{
    if (!p)
        return false;
    for (size_t i = slot_of(p), k = 0; slots[i] && k < SLOTS; i = (i + 1) & (SLOTS - 1), k++) {
        if (slots[i] == p) {
            slots[i] = TOMB;
            live--;
            return true;
        }
    }
    return false;
}

static bool should_fail(void)
{
    if (!armed)
        return false;
    seen++;
    if (fail_at && seen == fail_at) {
        injected = true;
        return true;
    }
    return false;
}

void *__wrap_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = __real_malloc(n);
    track(p);
    return p;
}

void *__wrap_calloc(size_t n, size_t m)
{
    if (should_fail())
        return NULL;
    void *p = __real_calloc(n, m);
    track(p);
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    if (p && n == 0) {
        untrack(p);
        return __real_realloc(p, 0);
    }
    if (should_fail())
        return NULL; /* p stays valid and tracked, as with a real failure */
    bool known = untrack(p);
    void *q = __real_realloc(p, n);
    if (q)
        track(q);
    else if (known)
        track(p);
    return q;
}

void __wrap_free(void *p)
{
    untrack(p);
    __real_free(p);
}

char *__wrap_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = __wrap_malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* ---- the test ------------------------------------------------------------- */

static uint8_t *load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static uint8_t buf[64 * 1024];
    size_t n = fread(buf, 1, sizeof buf, f);
    bool too_big = !feof(f);
    fclose(f);
    if (too_big || n == 0)
        return NULL;
    *len = n;
    return buf;
}

static int run(const uint8_t *stream, size_t len, unsigned long n, unsigned long *allocs)
{
    size_t before = live;
    seen = 0;
    fail_at = n;
    injected = false;
    det_random_reset();
    armed = true;
    int rc = fz_client_over_stream(stream, len, 2000);
    armed = false;
    *allocs = seen;
    if (live != before) {
        fprintf(stderr, "test_alloc: N=%lu: %zu allocation(s) leaked (rc %s)\n", n, live - before,
                smbw_error_name(rc));
        exit(1);
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s RECORDED-SERVER-STREAM\n", argv[0]);
        return 2;
    }
    size_t len = 0;
    const uint8_t *stream = load(argv[1], &len);
    if (!stream) {
        fprintf(stderr, "test_alloc: cannot read %s (missing, empty or > 64 KiB)\n", argv[1]);
        return 1;
    }
    unsigned long total = 0;
    int rc = run(stream, len, 0, &total);
    if (rc != 0) {
        fprintf(stderr,
                "test_alloc: the baseline run failed (%s): the recording no longer "
                "matches the session script; re-record with tests/fuzz/record-seeds.sh\n",
                smbw_error_name(rc));
        return 1;
    }
    printf("test_alloc: baseline run: %lu allocations\n", total);
    unsigned long n, nomem = 0, other = 0, ok = 0;
    for (n = 1; n <= FZ_MAX_N; n++) {
        unsigned long allocs;
        rc = run(stream, len, n, &allocs);
        if (!injected) {
            if (rc != 0) {
                fprintf(stderr, "test_alloc: N=%lu: no failure injected but the run failed (%s)\n",
                        n, smbw_error_name(rc));
                return 1;
            }
            break;
        }
        if (rc == 0) {
            ok++; /* a best-effort step (LOGOFF, TREE_DISCONNECT) absorbed it */
        } else if (!strcmp(smbw_error_name(rc), "SMBW_EUNKNOWN")) {
            fprintf(stderr, "test_alloc: N=%lu: unknown error code %d\n", n, rc);
            return 1;
        } else if (rc == SMBW_ENOMEM) {
            nomem++;
        } else {
            other++;
        }
    }
    if (n > FZ_MAX_N) {
        fprintf(stderr, "test_alloc: still injecting after %d iterations (cap)\n", FZ_MAX_N);
        return 1;
    }
    printf("test_alloc: %lu injected failures: %lu SMBW_ENOMEM, %lu other errors, %lu absorbed "
           "by best-effort steps; no crash, no leak\n",
           n - 1, nomem, other, ok);
    if (nomem == 0) {
        fprintf(stderr, "test_alloc: no run reported SMBW_ENOMEM: injection is not working\n");
        return 1;
    }
    return 0;
}
