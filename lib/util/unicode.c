/* UTF-8 <-> UTF-16LE conversion (RFC 3629, RFC 2781).
 *
 * Both directions are strict: overlong UTF-8 forms, encoded surrogates,
 * code points above U+10FFFF, truncated sequences and unpaired UTF-16
 * surrogates are rejected. U+0000 is rejected too: an embedded NUL can never
 * be part of an SMB name or NTLM string, and the decoder produces C strings
 * where it would silently truncate. */
#include "unicode.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "smbwire/errors.h"

/* Decodes one code point at s[*i..len). Returns false on invalid UTF-8. */
static bool utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp)
{
    unsigned char b = s[*i];
    uint32_t c, min;
    size_t n;

    if (b < 0x80) {
        *cp = b;
        *i += 1;
        return true;
    }
    if (b >= 0xC2 && b <= 0xDF) {
        n = 1;
        c = b & 0x1Fu;
        min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 2;
        c = b & 0x0Fu;
        min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 3;
        c = b & 0x07u;
        min = 0x10000;
    } else {
        /* 0x80..0xBF lone continuation, 0xC0/0xC1 always overlong,
         * 0xF5..0xFF beyond U+10FFFF. */
        return false;
    }
    if (len - *i - 1 < n)
        return false;
    for (size_t k = 1; k <= n; k++) {
        unsigned char cb = s[*i + k];
        if ((cb & 0xC0) != 0x80)
            return false;
        c = (c << 6) | (cb & 0x3Fu);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return false;
    *cp = c;
    *i += n + 1;
    return true;
}

/* Upper-case mapping used for NTOWFv2's UPPER(user). Windows uses its own
 * upcase table; this covers the ranges user names realistically use, by
 * simple rules:
 *   ASCII a-z; Latin-1 U+00E0-U+00FE (not U+00F7), U+00FF -> U+0178,
 *   U+00B5 -> U+039C; Latin Extended-A case pairs (U+0100-U+017F, except
 *   U+0131 dotless i, U+0138 kra, U+0149 and U+017F, which stay);
 *   basic Greek (U+03AC-U+03CE, final sigma -> U+03A3);
 *   Cyrillic U+0430-U+045F and the paired ranges U+0460-U+0481,
 *   U+048A-U+04BF, U+04C1-U+04CE, U+04D0-U+052F.
 * Everything else is left unchanged. */
static uint32_t upcase(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') ? c - 0x20 : c;
    if (c == 0xB5)
        return 0x39C;
    if (c >= 0xE0 && c <= 0xFE && c != 0xF7)
        return c - 0x20;
    if (c == 0xFF)
        return 0x178;
    if (c >= 0x100 && c <= 0x17F) {
        if ((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
            return (c & 1) ? c - 1 : c;
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
            return (c & 1) ? c : c - 1;
        return c;
    }
    if (c >= 0x3AC && c <= 0x3CE) {
        if (c == 0x3AC)
            return 0x386;
        if (c >= 0x3AD && c <= 0x3AF)
            return c - 0x25;
        if (c == 0x3C2)
            return 0x3A3;
        if (c >= 0x3B1 && c <= 0x3CB)
            return c - 0x20;
        if (c == 0x3CC)
            return 0x38C;
        if (c >= 0x3CD)
            return c - 0x3F;
        return c;
    }
    if (c >= 0x430 && c <= 0x44F)
        return c - 0x20;
    if (c >= 0x450 && c <= 0x45F)
        return c - 0x50;
    if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F))
        return (c & 1) ? c - 1 : c;
    if (c >= 0x4C1 && c <= 0x4CE)
        return (c & 1) ? c : c - 1;
    if (c == 0x4CF)
        return 0x4C0;
    return c;
}

static int convert(const char *s, size_t len, smbw_buf *out, bool upper)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t start = out->len;
    size_t i = 0;

    if (!s && len)
        return SMBW_EINVAL;
    if (out->failed)
        return SMBW_ENOMEM;
    /* Every UTF-8 byte yields at most 2 bytes of UTF-16 (4-byte sequences
     * give 4 bytes). */
    if (len > SIZE_MAX / 2 || !buf_reserve(out, len * 2))
        return SMBW_ENOMEM;
    while (i < len) {
        uint32_t cp;
        if (!utf8_next(u, len, &i, &cp) || cp == 0) {
            out->len = start;
            return SMBW_EINVAL;
        }
        if (upper)
            cp = upcase(cp);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            buf_u16(out, (uint16_t)(0xD800 | (cp >> 10)));
            buf_u16(out, (uint16_t)(0xDC00 | (cp & 0x3FF)));
        } else {
            buf_u16(out, (uint16_t)cp);
        }
    }
    return out->failed ? SMBW_ENOMEM : 0;
}

int utf8_to_utf16le(const char *s, size_t len, smbw_buf *out)
{
    return convert(s, len, out, false);
}

int utf8_to_utf16le_upper(const char *s, size_t len, smbw_buf *out)
{
    return convert(s, len, out, true);
}

/* lossy NULL: strict (utf16le_to_utf8). */
int utf16le_to_utf8_lossy(const uint8_t *p, size_t len, char **out, bool *lossy)
{
    *out = NULL;
    if (lossy)
        *lossy = false;
    if (len % 2)
        return SMBW_EPROTO;
    if (!p && len)
        return SMBW_EINVAL;
    /* Each UTF-16 unit gives at most 3 UTF-8 bytes (a pair: 4 for 2 units). */
    size_t units = len / 2;
    if (units > (SIZE_MAX - 1) / 3)
        return SMBW_ENOMEM;
    char *s = malloc(units * 3 + 1);
    if (!s)
        return SMBW_ENOMEM;
    size_t o = 0;
    smbw_cur in = cur_make(p, len);
    uint16_t u, lo;
    while (cur_u16(&in, &u)) {
        uint32_t c = u;
        bool ok = true;
        if (c >= 0xD800 && c <= 0xDBFF) {
            /* a pair; a lone high surrogate: the next unit is read again */
            smbw_cur at = in;
            if (cur_u16(&in, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                c = 0x10000 + ((c - 0xD800) << 10) + (uint32_t)(lo - 0xDC00);
            } else {
                in = at;
                ok = false;
            }
        } else if ((c >= 0xDC00 && c <= 0xDFFF) || c == 0) {
            ok = false;
        }
        if (!ok) {
            if (!lossy) {
                free(s);
                return SMBW_EPROTO;
            }
            *lossy = true;
            c = 0xFFFD;
        }
        if (c < 0x80) {
            s[o++] = (char)c;
        } else if (c < 0x800) {
            s[o++] = (char)(0xC0 | (c >> 6));
            s[o++] = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            s[o++] = (char)(0xE0 | (c >> 12));
            s[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
            s[o++] = (char)(0x80 | (c & 0x3F));
        } else {
            s[o++] = (char)(0xF0 | (c >> 18));
            s[o++] = (char)(0x80 | ((c >> 12) & 0x3F));
            s[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
            s[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    s[o] = '\0';
    *out = s;
    return 0;
}

int utf16le_to_utf8(const uint8_t *p, size_t len, char **out)
{
    return utf16le_to_utf8_lossy(p, len, out, NULL);
}
