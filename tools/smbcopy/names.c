/* Destination names created by a run, looked up by a case-folded key. */
#include "names.h"

#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

struct sc_name_slot {
    char *key;   /* folded; NULL: empty slot */
    char *exact; /* as created */
};

/* towupper in a UTF-8 locale of its own, so that the program's locale is
 * not changed; ASCII only when no such locale exists. */
static locale_t fold_locale(void)
{
    static locale_t loc = (locale_t)0;
    static bool tried = false;
    if (!tried) {
        tried = true;
        loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    }
    return loc;
}

static uint32_t upper(uint32_t c)
{
    if (c < 0x80)
        return c >= 'a' && c <= 'z' ? c - 32 : c;
    locale_t loc = fold_locale();
    if (loc == (locale_t)0)
        return c;
    wint_t u = towupper_l((wint_t)c, loc);
    return (uint32_t)u;
}

/* Decodes one UTF-8 character at s (n bytes left). Returns its length, or 0
 * when the bytes are not a valid, shortest-form encoding. */
static size_t utf8_dec(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len;
    uint32_t c, min;
    if ((s[0] & 0xE0) == 0xC0)
        len = 2, c = s[0] & 0x1Fu, min = 0x80;
    else if ((s[0] & 0xF0) == 0xE0)
        len = 3, c = s[0] & 0x0Fu, min = 0x800;
    else if ((s[0] & 0xF8) == 0xF0)
        len = 4, c = s[0] & 0x07u, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

static size_t utf8_enc(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

char *sc_name_fold(const char *path)
{
    size_t n = strlen(path);
    /* An upper-case form is at most 4 bytes per input byte. */
    if (n > (SIZE_MAX - 1) / 4)
        return NULL;
    char *out = malloc(4 * n + 1);
    if (out == NULL)
        return NULL;
    const unsigned char *s = (const unsigned char *)path;
    size_t i = 0, o = 0;
    while (i < n) {
        uint32_t cp;
        size_t l = utf8_dec(s + i, n - i, &cp);
        if (l == 0) {
            out[o++] = (char)s[i++];
            continue;
        }
        uint32_t u = upper(cp);
        if (u == 0 || u > 0x10FFFF || (u >= 0xD800 && u <= 0xDFFF))
            u = cp;
        o += utf8_enc(u, out + o);
        i += l;
    }
    out[o] = '\0';
    return out;
}

/* FNV-1a */
static size_t hash_key(const char *k)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)k; *p != '\0'; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

static struct sc_name_slot *find_slot(struct sc_name_slot *slots, size_t cap, const char *key)
{
    size_t i = hash_key(key) & (cap - 1);
    while (slots[i].key != NULL && strcmp(slots[i].key, key) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static bool grow(sc_nameset *s)
{
    size_t nc = s->cap != 0 ? s->cap * 2 : 256;
    struct sc_name_slot *ns = calloc(nc, sizeof(*ns));
    if (ns == NULL)
        return false;
    for (size_t i = 0; i < s->cap; i++) {
        if (s->slots[i].key != NULL)
            *find_slot(ns, nc, s->slots[i].key) = s->slots[i];
    }
    free(s->slots);
    s->slots = ns;
    s->cap = nc;
    return true;
}

bool sc_nameset_add(sc_nameset *s, const char *path)
{
    if ((s->n + 1) * 2 > s->cap && !grow(s)) {
        s->failed = true;
        return false;
    }
    char *key = sc_name_fold(path);
    if (key == NULL) {
        s->failed = true;
        return false;
    }
    struct sc_name_slot *slot = find_slot(s->slots, s->cap, key);
    if (slot->key != NULL) {
        /* The first spelling stays: it is the one on the destination. */
        free(key);
        return true;
    }
    char *exact = strdup(path);
    if (exact == NULL) {
        free(key);
        s->failed = true;
        return false;
    }
    slot->key = key;
    slot->exact = exact;
    s->n++;
    return true;
}

const char *sc_nameset_other(const sc_nameset *s, const char *path)
{
    if (s->cap == 0)
        return NULL;
    char *key = sc_name_fold(path);
    if (key == NULL)
        return NULL;
    const struct sc_name_slot *slot = find_slot(s->slots, s->cap, key);
    free(key);
    if (slot->key == NULL || strcmp(slot->exact, path) == 0)
        return NULL;
    return slot->exact;
}

void sc_nameset_free(sc_nameset *s)
{
    for (size_t i = 0; i < s->cap; i++) {
        free(s->slots[i].key);
        free(s->slots[i].exact);
    }
    free(s->slots);
    memset(s, 0, sizeof(*s));
}
