/* Option structs that grow (the SMBW_*_INIT convention of smbwire.h): the
 * caller's struct begins with its size as it was compiled. */
#ifndef SMBW_UTIL_SIZED_H
#define SMBW_UTIL_SIZED_H

#include <stddef.h>
#include <string.h>

#include "smbwire/errors.h"

/* Copies the caller's struct src into the library's own dst (dst_size bytes),
 * zero-filling what an older caller's struct lacks. min_size is the size of
 * the struct's first published version: a smaller size (0 from a plain {0})
 * means the caller did not start from the _INIT macro. Bytes past dst_size
 * (fields of a newer header) must be zero. dst's size field is set to
 * dst_size. Returns 0, SMBW_EINVAL or SMBW_ENOTSUP. */
static inline int sized_load(void *dst, size_t dst_size, const void *src, size_t min_size)
{
    /* The struct's first member is its size (C11 6.7.2.1p15: a pointer to a
     * struct, converted, points to its first member). */
    size_t n = *(const size_t *)src;
    if (n < min_size)
        return SMBW_EINVAL;
    for (size_t i = dst_size; i < n; i++)
        if (((const unsigned char *)src)[i] != 0)
            return SMBW_ENOTSUP;
    memset(dst, 0, dst_size);
    memcpy(dst, src, n < dst_size ? n : dst_size);
    *(size_t *)dst = dst_size;
    return 0;
}

/* The end of a struct's last field of its first version. */
#define SIZED_END(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

#endif
