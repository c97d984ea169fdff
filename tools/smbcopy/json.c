/* A growable buffer and the --json summary. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "smbcopy.h"

void sc_buf_free(sc_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static bool reserve(sc_buf *b, size_t extra)
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

void sc_buf_putc(sc_buf *b, char c)
{
    if (!reserve(b, 1))
        return;
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

void sc_buf_puts(sc_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (!reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

void sc_buf_printf(sc_buf *b, const char *fmt, ...)
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

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s)
{
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

void sc_json_str(sc_buf *b, const char *s)
{
    if (s == NULL) {
        sc_buf_puts(b, "null");
        return;
    }
    sc_buf_putc(b, '"');
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        unsigned char c = *p;
        switch (c) {
        case '"':
            sc_buf_puts(b, "\\\"");
            p++;
            continue;
        case '\\':
            sc_buf_puts(b, "\\\\");
            p++;
            continue;
        case '\n':
            sc_buf_puts(b, "\\n");
            p++;
            continue;
        case '\r':
            sc_buf_puts(b, "\\r");
            p++;
            continue;
        case '\t':
            sc_buf_puts(b, "\\t");
            p++;
            continue;
        default:
            break;
        }
        if (c < 0x20 || c == 0x7F) {
            sc_buf_printf(b, "\\u%04x", c);
            p++;
            continue;
        }
        size_t n = utf8_seq(p);
        if (n == 0) {
            sc_buf_puts(b, "\\ufffd");
            p++;
            continue;
        }
        for (size_t i = 0; i < n; i++)
            sc_buf_putc(b, (char)p[i]);
        p += n;
    }
    sc_buf_putc(b, '"');
}

char *sc_summary_json(const sc_summary *s)
{
    sc_buf b = {0};
    sc_buf_puts(&b, "{\"ok\":");
    sc_buf_puts(&b, s->ok ? "true" : "false");
    sc_buf_puts(&b, ",\"method\":");
    sc_json_str(&b, s->method);
    sc_buf_puts(&b, ",\"src\":");
    sc_json_str(&b, s->src);
    sc_buf_puts(&b, ",\"dst\":");
    sc_json_str(&b, s->dst);
    double secs = s->seconds >= 0 ? s->seconds : 0;
    sc_buf_printf(&b,
                  ",\"bytes\":%llu,\"files\":%llu,\"failed\":%llu,\"skipped\":%llu,"
                  "\"seconds\":%.3f",
                  (unsigned long long)s->bytes, (unsigned long long)s->files,
                  (unsigned long long)s->failed, (unsigned long long)s->skipped, secs);
    if (s->counters)
        sc_buf_printf(&b, ",\"requests\":%llu,\"wire_bytes\":%llu,\"resumed_bytes\":%llu",
                      (unsigned long long)s->requests, (unsigned long long)s->wire_bytes,
                      (unsigned long long)s->resumed_bytes);
    sc_buf_puts(&b, ",\"dialect\":");
    sc_json_str(&b, s->dialect);
    sc_buf_printf(&b, ",\"exit_code\":%d", s->exit_code);
    if (!s->ok || s->error != NULL) {
        sc_buf_puts(&b, ",\"error\":");
        sc_json_str(&b, s->error);
    }
    sc_buf_puts(&b, "}\n");
    if (b.failed) {
        sc_buf_free(&b);
        return NULL;
    }
    return b.p;
}
