/* Shared helpers for the libFuzzer targets (tests/fuzz/fuzz_*.c). Each target
 * defines LLVMFuzzerTestOneInput; replay.c runs it over a corpus without
 * libFuzzer, so every committed corpus is an ordinary test under any compiler. */
#ifndef SMBW_FUZZ_H
#define SMBW_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/bytes.h"
#include "lib/wire/wire.h"
#include "smbw_config.h"

/* The fuzz targets are only meaningful against a library built with the
 * fuzzing configuration (signature checks skipped): tests/fuzz/meson.build
 * generates its own smbw_config.h with SMBW_FUZZING 1. */
#if !SMBW_FUZZING
#error "tests/fuzz must see the fuzzing smbw_config.h (SMBW_FUZZING 1)"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Discards a warn_unused_result value (gcc does not accept a (void) cast). */
#define FZ_IGNORE(x)                                                                               \
    do {                                                                                           \
        if (x) {                                                                                   \
        }                                                                                          \
    } while (0)

/* Aborts (a finding for libFuzzer and a failure for the replay test) when a
 * decoder's borrowed range [p, p+n) is not inside [base, base+len). */
static inline void fz_inside(const void *p, size_t n, const void *base, size_t len,
                             const char *what)
{
    if (n == 0)
        return;
    const uint8_t *q = p, *b = base;
    if (!q || q < b || (size_t)(q - b) > len || n > len - (size_t)(q - b)) {
        fprintf(stderr, "fuzz: %s: borrowed range outside the input\n", what);
        abort();
    }
}

static inline void fz_check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz: invariant violated: %s\n", what);
        abort();
    }
}

/* Touches every byte of a borrowed range so ASan/valgrind see an overread. */
static inline uint8_t fz_touch(const uint8_t *p, size_t n)
{
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= p[i];
    return x;
}

/* A heap message: a valid 64-byte response header for command (status,
 * flags SERVER_TO_REDIR) followed by body[0..n), allocated with the exact
 * size so ASan catches any read past its end. Caller frees. */
static inline uint8_t *fz_response(uint16_t command, uint32_t status, const uint8_t *body, size_t n,
                                   size_t *len)
{
    smbw_buf b;
    buf_init(&b);
    smb2_hdr h;
    memset(&h, 0, sizeof h);
    h.command = command;
    h.status = status;
    h.flags = SMB2_FLAGS_SERVER_TO_REDIR;
    h.credits = 1;
    h.message_id = 1;
    h.session_id = 1;
    h.tree_id = 1;
    wire_encode_hdr(&b, &h);
    buf_put(&b, body, n);
    if (b.failed) {
        buf_free(&b);
        return NULL;
    }
    uint8_t *m = malloc(b.len);
    if (m)
        memcpy(m, b.p, b.len);
    *len = b.len;
    buf_free(&b);
    return m;
}

#endif
