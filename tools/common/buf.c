/* A growable text buffer and JSON string literals: see buf.h. */
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tool_buf_free(tool_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static bool reserve(tool_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->cap - b->len > extra)
        return true;
    size_t cap = b->cap != 0 ? b->cap : 256;
    while (cap - b->len <= extra) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void tool_buf_putc(tool_buf *b, char c)
{
    if (!reserve(b, 1))
        return;
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

void tool_buf_puts(tool_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (!reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

void tool_buf_printf(tool_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n)) {
        b->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

size_t tool_utf8_len(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0; /* also stops at the terminating NUL */
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void tool_json_str(tool_buf *b, const char *s)
{
    if (s == NULL) {
        tool_buf_puts(b, "null");
        return;
    }
    tool_buf_putc(b, '"');
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        unsigned char c = *p;
        switch (c) {
        case '"':
            tool_buf_puts(b, "\\\"");
            p++;
            continue;
        case '\\':
            tool_buf_puts(b, "\\\\");
            p++;
            continue;
        case '\n':
            tool_buf_puts(b, "\\n");
            p++;
            continue;
        case '\r':
            tool_buf_puts(b, "\\r");
            p++;
            continue;
        case '\t':
            tool_buf_puts(b, "\\t");
            p++;
            continue;
        default:
            break;
        }
        if (c < 0x20 || c == 0x7F) {
            tool_buf_printf(b, "\\u%04x", c);
            p++;
            continue;
        }
        size_t n = tool_utf8_len((const char *)p);
        if (n == 0) {
            tool_buf_puts(b, "\\ufffd");
            p++;
            continue;
        }
        for (size_t i = 0; i < n; i++)
            tool_buf_putc(b, (char)p[i]);
        p += n;
    }
    tool_buf_putc(b, '"');
}
