#include "bytes.h"

#include <stdlib.h>
#include <string.h>

/* Little-endian loads and stores: private to the cursor and the writer. */
static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | ((uint64_t)get_u32(p + 4) << 32);
}
static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

bool cur_skip(smbw_cur *c, size_t n)
{
    if (c->len < n)
        return false;
    c->p += n;
    c->len -= n;
    return true;
}

bool cur_u8(smbw_cur *c, uint8_t *v)
{
    if (c->len < 1)
        return false;
    *v = c->p[0];
    return cur_skip(c, 1);
}

bool cur_u16(smbw_cur *c, uint16_t *v)
{
    if (c->len < 2)
        return false;
    *v = get_u16(c->p);
    return cur_skip(c, 2);
}

bool cur_u32(smbw_cur *c, uint32_t *v)
{
    if (c->len < 4)
        return false;
    *v = get_u32(c->p);
    return cur_skip(c, 4);
}

bool cur_u64(smbw_cur *c, uint64_t *v)
{
    if (c->len < 8)
        return false;
    *v = get_u64(c->p);
    return cur_skip(c, 8);
}

bool cur_u16be(smbw_cur *c, uint16_t *v)
{
    if (c->len < 2)
        return false;
    *v = (uint16_t)((c->p[0] << 8) | c->p[1]);
    return cur_skip(c, 2);
}

bool cur_u32be(smbw_cur *c, uint32_t *v)
{
    if (c->len < 4)
        return false;
    *v = ((uint32_t)c->p[0] << 24) | ((uint32_t)c->p[1] << 16) | ((uint32_t)c->p[2] << 8) | c->p[3];
    return cur_skip(c, 4);
}

bool cur_copy(smbw_cur *c, void *out, size_t n)
{
    if (c->len < n)
        return false;
    if (n)
        memcpy(out, c->p, n);
    return cur_skip(c, n);
}

bool cur_sub(smbw_cur *c, size_t n, smbw_cur *out)
{
    if (c->len < n)
        return false;
    out->p = c->p;
    out->len = n;
    return cur_skip(c, n);
}

bool cur_slice(const smbw_cur *base, uint64_t off, uint64_t len, smbw_cur *out)
{
    if (off > base->len || len > base->len - off)
        return false;
    out->p = base->p + off;
    out->len = (size_t)len;
    return true;
}

void buf_init(smbw_buf *b)
{
    memset(b, 0, sizeof *b);
}

void buf_free(smbw_buf *b)
{
    free(b->p);
    buf_init(b);
}

void buf_free_secret(smbw_buf *b)
{
    if (b->p)
        smbw_wipe(b->p, b->cap);
    buf_free(b);
}

void buf_reset(smbw_buf *b)
{
    b->len = 0;
    b->failed = false;
}

bool buf_reserve(smbw_buf *b, size_t n)
{
    if (b->failed)
        return false;
    if (n > SIZE_MAX - b->len) {
        b->failed = true;
        return false;
    }
    size_t need = b->len + n;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

uint8_t *buf_grow(smbw_buf *b, size_t n)
{
    if (!buf_reserve(b, n))
        return NULL;
    uint8_t *p = b->p + b->len;
    b->len += n;
    return p;
}

void buf_put(smbw_buf *b, const void *p, size_t n)
{
    uint8_t *d = buf_grow(b, n);
    if (d && n)
        memcpy(d, p, n);
}

void buf_zero(smbw_buf *b, size_t n)
{
    uint8_t *d = buf_grow(b, n);
    if (d && n)
        memset(d, 0, n);
}

void buf_u8(smbw_buf *b, uint8_t v)
{
    uint8_t *d = buf_grow(b, 1);
    if (d)
        d[0] = v;
}

void buf_u16(smbw_buf *b, uint16_t v)
{
    uint8_t *d = buf_grow(b, 2);
    if (d)
        put_u16(d, v);
}

void buf_u32(smbw_buf *b, uint32_t v)
{
    uint8_t *d = buf_grow(b, 4);
    if (d)
        put_u32(d, v);
}

void buf_u64(smbw_buf *b, uint64_t v)
{
    uint8_t *d = buf_grow(b, 8);
    if (d)
        put_u64(d, v);
}

void buf_u16be(smbw_buf *b, uint16_t v)
{
    uint8_t *d = buf_grow(b, 2);
    if (d) {
        d[0] = (uint8_t)(v >> 8);
        d[1] = (uint8_t)v;
    }
}

void buf_u32be(smbw_buf *b, uint32_t v)
{
    uint8_t *d = buf_grow(b, 4);
    if (d) {
        d[0] = (uint8_t)(v >> 24);
        d[1] = (uint8_t)(v >> 16);
        d[2] = (uint8_t)(v >> 8);
        d[3] = (uint8_t)v;
    }
}

void buf_align(smbw_buf *b, size_t align)
{
    size_t r = b->len % align;
    if (r)
        buf_zero(b, align - r);
}

void buf_set_u16(smbw_buf *b, size_t off, uint16_t v)
{
    if (b->failed || off > b->len || b->len - off < 2) {
        b->failed = true;
        return;
    }
    put_u16(b->p + off, v);
}

void buf_set_u32(smbw_buf *b, size_t off, uint32_t v)
{
    if (b->failed || off > b->len || b->len - off < 4) {
        b->failed = true;
        return;
    }
    put_u32(b->p + off, v);
}

void buf_set_u32be(smbw_buf *b, size_t off, uint32_t v)
{
    if (b->failed || off > b->len || b->len - off < 4) {
        b->failed = true;
        return;
    }
    b->p[off] = (uint8_t)(v >> 24);
    b->p[off + 1] = (uint8_t)(v >> 16);
    b->p[off + 2] = (uint8_t)(v >> 8);
    b->p[off + 3] = (uint8_t)v;
}

void smbw_wipe(void *p, size_t n)
{
    /* Not optimised away (glibc); a byte loop through a volatile pointer cost
     * about 2 instructions per byte of every pooled message buffer. */
    if (p && n)
        explicit_bzero(p, n);
}
