/* A growable buffer and the --json summary. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

static int rank_in(const char *name, const char *const *names, size_t n)
{
    if (name == NULL || name[0] == '\0' || strcasecmp(name, "none") == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(name, names[i]) == 0)
            return (int)i + 2;
    return 1;
}

int sc_sign_rank(const char *alg)
{
    static const char *const names[] = {"HMAC-SHA256", "AES-128-CMAC", "AES-128-GMAC"};
    return rank_in(alg, names, sizeof(names) / sizeof(names[0]));
}

int sc_cipher_rank(const char *cipher)
{
    static const char *const names[] = {"AES-128-CCM", "AES-128-GCM", "AES-256-CCM", "AES-256-GCM"};
    return rank_in(cipher, names, sizeof(names) / sizeof(names[0]));
}

void sc_prot_note(sc_prot *p, bool is_signed, const char *alg, bool encrypted, const char *cipher)
{
    int sr = is_signed ? sc_sign_rank(alg) : 0;
    int cr = encrypted ? sc_cipher_rank(cipher) : 0;
    /* Signed or encrypted without a name: still the weakest known kind. */
    if (is_signed && sr == 0)
        sr = 1;
    if (encrypted && cr == 0)
        cr = 1;
    if (p->nsessions == 0 || sr < p->sign_rank) {
        p->sign_rank = sr;
        snprintf(p->sign_alg, sizeof(p->sign_alg), "%s",
                 sr == 0 ? "none" : (alg != NULL && alg[0] != '\0' ? alg : "unknown"));
    }
    if (p->nsessions == 0 || cr < p->cipher_rank) {
        p->cipher_rank = cr;
        snprintf(p->cipher, sizeof(p->cipher), "%s",
                 cr == 0 ? "none"
                         : (cipher != NULL && cipher[0] != '\0' && strcasecmp(cipher, "none") != 0
                                ? cipher
                                : "unknown"));
    }
    p->nsessions++;
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
    if (s->prot != NULL && s->prot->nsessions > 0) {
        sc_buf_puts(&b, ",\"signing\":");
        sc_json_str(&b, s->prot->sign_alg);
        sc_buf_puts(&b,
                    s->prot->cipher_rank > 0 ? ",\"encryption\":true" : ",\"encryption\":false");
        sc_buf_puts(&b, ",\"cipher\":");
        sc_json_str(&b, s->prot->cipher);
    } else {
        sc_buf_puts(&b, ",\"signing\":null,\"encryption\":null,\"cipher\":null");
    }
    sc_buf_puts(&b, ",\"collisions\":[");
    for (size_t i = 0; i < s->ncollisions; i++) {
        if (i > 0)
            sc_buf_putc(&b, ',');
        sc_json_str(&b, s->collisions[i]);
    }
    sc_buf_putc(&b, ']');
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
