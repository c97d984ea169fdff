/* Bounds-checked byte cursor (reader) and growable writer.
 *
 * Reader: every getter returns false and leaves the output untouched when the
 * cursor has too few bytes. Writer: after its first failure (allocation or an
 * explicit overflow) every later call fails and the buffer stays marked failed.
 * All integers are little-endian, as on the SMB2 wire (network-order helpers
 * exist for the 4-byte transport header and DER lengths). */
#ifndef SMBW_UTIL_BYTES_H
#define SMBW_UTIL_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMBW_WUR __attribute__((warn_unused_result))

typedef struct smbw_cur {
    const uint8_t *p;
    size_t len;
} smbw_cur;

static inline smbw_cur cur_make(const void *p, size_t len)
{
    smbw_cur c = {(const uint8_t *)p, len};
    return c;
}

SMBW_WUR bool cur_skip(smbw_cur *c, size_t n);
SMBW_WUR bool cur_u8(smbw_cur *c, uint8_t *v);
SMBW_WUR bool cur_u16(smbw_cur *c, uint16_t *v);
SMBW_WUR bool cur_u32(smbw_cur *c, uint32_t *v);
SMBW_WUR bool cur_u64(smbw_cur *c, uint64_t *v);
SMBW_WUR bool cur_u16be(smbw_cur *c, uint16_t *v);
SMBW_WUR bool cur_u32be(smbw_cur *c, uint32_t *v);
/* Copy n bytes out. */
SMBW_WUR bool cur_copy(smbw_cur *c, void *out, size_t n);
/* Borrow n bytes as a sub-cursor and advance. */
SMBW_WUR bool cur_sub(smbw_cur *c, size_t n, smbw_cur *out);
/* A sub-range [off, off+len) of a base buffer, checked for overflow and
 * range, without moving anything. */
SMBW_WUR bool cur_slice(const smbw_cur *base, uint64_t off, uint64_t len, smbw_cur *out);

typedef struct smbw_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
    bool failed;
} smbw_buf;

void buf_init(smbw_buf *b);
void buf_free(smbw_buf *b);
/* Wipe contents (for secrets) then free. */
void buf_free_secret(smbw_buf *b);
void buf_reset(smbw_buf *b);
/* Make room for n more bytes; returns false (and marks failed) on error. */
SMBW_WUR bool buf_reserve(smbw_buf *b, size_t n);
/* Append n bytes, returning a pointer to them (NULL when failed). */
uint8_t *buf_grow(smbw_buf *b, size_t n);
void buf_put(smbw_buf *b, const void *p, size_t n);
void buf_zero(smbw_buf *b, size_t n);
void buf_u8(smbw_buf *b, uint8_t v);
void buf_u16(smbw_buf *b, uint16_t v);
void buf_u32(smbw_buf *b, uint32_t v);
void buf_u64(smbw_buf *b, uint64_t v);
void buf_u16be(smbw_buf *b, uint16_t v);
void buf_u32be(smbw_buf *b, uint32_t v);
/* Pad with zeros to a multiple of align, counted from the buffer start. */
void buf_align(smbw_buf *b, size_t align);
/* Patch already written bytes at offset (no-op if out of range: marks failed). */
void buf_set_u16(smbw_buf *b, size_t off, uint16_t v);
void buf_set_u32(smbw_buf *b, size_t off, uint32_t v);
void buf_set_u32be(smbw_buf *b, size_t off, uint32_t v);

/* No raw "integer at pointer" helpers here: peer bytes are read only
 * through a cursor (by lib/wire and lib/auth), and encoders append through
 * the writer or patch it with buf_set_u16/buf_set_u32. */

/* Wipe memory in a way the compiler keeps. */
void smbw_wipe(void *p, size_t n);

#endif
