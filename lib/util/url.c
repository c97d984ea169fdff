/* smb:// URL parsing (see include/smbwire/url.h for the accepted form). */
#include "smbwire/url.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define URL_DEFAULT_PORT 445

static void wipe_n(char *s, size_t n)
{
    volatile char *p = s;
    while (n-- > 0)
        *p++ = '\0';
}

static void url_wipe(char *s)
{
    if (s != NULL)
        wipe_n(s, strlen(s));
}

void smbw_url_free(smbw_url *u)
{
    if (u == NULL)
        return;
    url_wipe(u->password);
    free(u->domain);
    free(u->user);
    free(u->password);
    free(u->host);
    free(u->share);
    free(u->path);
    free(u);
}

bool smbw_is_url(const char *s)
{
    return s != NULL && strncasecmp(s, "smb://", 6) == 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Checks that s[0..n) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t extra;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            extra = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            extra = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= extra)
            return false;
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += extra + 1;
    }
    return true;
}

/* Percent-decodes s[0..n) into a new NUL-terminated string. Returns NULL and
 * sets *err on a bad escape, %00, a raw control character, invalid UTF-8 or
 * no memory. */
static char *decode(const char *s, size_t n, int *err)
{
    char *out = malloc(n + 1);
    if (out == NULL) {
        *err = SMBW_ENOMEM;
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F)
            goto bad;
        if (c == '%') {
            if (n - i < 3)
                goto bad;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                goto bad;
            c = (unsigned char)(hi * 16 + lo);
            if (c == 0)
                goto bad;
            i += 2;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    if (!utf8_valid((const unsigned char *)out, o))
        goto bad;
    return out;
bad:
    wipe_n(out, n + 1);
    free(out);
    *err = SMBW_EINVAL;
    return NULL;
}

/* Like decode() but an empty input gives NULL with *err == 0. */
static char *decode_opt(const char *s, size_t n, int *err)
{
    *err = 0;
    if (n == 0)
        return NULL;
    return decode(s, n, err);
}

static int parse_port(const char *s, size_t n, uint16_t *port)
{
    if (n == 0 || n > 5)
        return SMBW_EINVAL;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return SMBW_EINVAL;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return SMBW_EINVAL;
    *port = (uint16_t)v;
    return 0;
}

static bool host_char_ok(unsigned char c, bool bracketed)
{
    if (c <= 0x20 || c == 0x7F)
        return false;
    if (bracketed)
        return strchr("/\\@[]", c) == NULL;
    return strchr("/\\@[]:;", c) == NULL;
}

/* Splits the decoded path p into components, checks them and stores share
 * and the normalised rest in u. */
static int split_path(smbw_url *u, char *p)
{
    size_t n = strlen(p);
    char *rest = malloc(n + 1);
    if (rest == NULL)
        return SMBW_ENOMEM;
    size_t o = 0;
    char *share = NULL;
    char *q = p;
    while (*q != '\0') {
        while (*q == '/' || *q == '\\')
            q++;
        if (*q == '\0')
            break;
        char *start = q;
        while (*q != '\0' && *q != '/' && *q != '\\')
            q++;
        size_t len = (size_t)(q - start);
        if (len == 1 && start[0] == '.')
            continue;
        if (len == 2 && start[0] == '.' && start[1] == '.')
            goto bad;
        if (share == NULL) {
            share = strndup(start, len);
            if (share == NULL) {
                free(rest);
                return SMBW_ENOMEM;
            }
            continue;
        }
        if (o > 0)
            rest[o++] = '/';
        memcpy(rest + o, start, len);
        o += len;
    }
    if (share == NULL)
        goto bad;
    rest[o] = '\0';
    u->share = share;
    u->path = rest;
    return 0;
bad:
    free(share);
    free(rest);
    return SMBW_EINVAL;
}

/* userinfo ([DOMAIN;]USER[:PASSWORD]) of ui[0..uilen) into u. */
static int parse_userinfo(smbw_url *u, const char *ui, size_t uilen)
{
    int err = 0;
    const char *semi = memchr(ui, ';', uilen);
    if (semi != NULL) {
        u->domain = decode_opt(ui, (size_t)(semi - ui), &err);
        if (err != 0)
            return err;
        uilen -= (size_t)(semi + 1 - ui);
        ui = semi + 1;
    }
    const char *colon = memchr(ui, ':', uilen);
    size_t ulen = colon != NULL ? (size_t)(colon - ui) : uilen;
    u->user = decode_opt(ui, ulen, &err);
    if (err != 0)
        return err;
    if (colon != NULL) {
        size_t plen = uilen - ulen - 1;
        u->password = plen == 0 ? strdup("") : decode(colon + 1, plen, &err);
        if (u->password == NULL)
            return err != 0 ? err : SMBW_ENOMEM;
    }
    return 0;
}

/* Splits hp[0..hplen) into the host (*host, *hlen; without the brackets of
 * an IPv6 literal, *bracketed then) and the port text (*portp, *portlen;
 * NULL when there is none). */
static int split_hostport(const char *hp, size_t hplen, const char **host, size_t *hlen,
                          bool *bracketed, const char **portp, size_t *portlen)
{
    *host = hp;
    *portp = NULL;
    *portlen = 0;
    *bracketed = false;
    if (hplen > 0 && hp[0] == '[') {
        const char *close = memchr(hp, ']', hplen);
        if (close == NULL)
            return SMBW_EINVAL;
        *host = hp + 1;
        *hlen = (size_t)(close - *host);
        *bracketed = true;
        const char *after = close + 1;
        size_t left = hplen - (size_t)(after - hp);
        if (left > 0) {
            if (after[0] != ':')
                return SMBW_EINVAL;
            *portp = after + 1;
            *portlen = left - 1;
            if (*portlen == 0)
                return SMBW_EINVAL;
        }
        if (memchr(*host, ':', *hlen) == NULL)
            return SMBW_EINVAL; /* brackets are for IPv6 literals only */
    } else {
        const char *colon = memchr(hp, ':', hplen);
        *hlen = colon != NULL ? (size_t)(colon - hp) : hplen;
        if (colon != NULL) {
            *portp = colon + 1;
            *portlen = hplen - *hlen - 1;
            if (*portlen == 0)
                return SMBW_EINVAL;
        }
    }
    return *hlen == 0 ? SMBW_EINVAL : 0;
}

/* host[:port] of hp[0..hplen) into u (the port 445 when not given). */
static int parse_hostport(smbw_url *u, const char *hp, size_t hplen)
{
    const char *host, *portp;
    size_t hlen, portlen;
    bool bracketed;
    int err = split_hostport(hp, hplen, &host, &hlen, &bracketed, &portp, &portlen);
    if (err != 0)
        return err;
    for (size_t i = 0; i < hlen; i++)
        if (!host_char_ok((unsigned char)host[i], bracketed))
            return SMBW_EINVAL;
    u->host = decode(host, hlen, &err);
    if (u->host == NULL)
        return err;
    if (bracketed) {
        /* Only the zone may hold '%' after decoding; the address part must be
         * hex digits, ':' and '.'. */
        for (const char *c = u->host; *c != '\0' && *c != '%'; c++)
            if (hexval(*c) < 0 && *c != ':' && *c != '.')
                return SMBW_EINVAL;
    } else if (strpbrk(u->host, "/\\@[]:;%") != NULL) {
        return SMBW_EINVAL;
    }
    u->port = URL_DEFAULT_PORT;
    if (portp != NULL)
        return parse_port(portp, portlen, &u->port);
    return 0;
}

/* /SHARE[/PATH] into u. */
static int parse_path(smbw_url *u, const char *path)
{
    if (*path == '\0')
        return SMBW_EINVAL;
    int err = SMBW_EINVAL;
    char *dp = decode(path, strlen(path), &err);
    if (dp == NULL)
        return err;
    err = split_path(u, dp);
    free(dp);
    return err;
}

int smbw_url_parse(smbw_url **out, const char *s)
{
    if (out == NULL)
        return SMBW_EINVAL;
    *out = NULL;
    if (!smbw_is_url(s))
        return SMBW_EINVAL;
    smbw_url *u = calloc(1, sizeof(*u));
    if (u == NULL)
        return SMBW_ENOMEM;
    const char *auth = s + 6;
    size_t alen = strcspn(auth, "/\\");
    /* userinfo: the last '@' of the authority ends it (an unencoded '@' in
     * a password is tolerated). */
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (auth[i] == '@')
            at = auth + i;
    const char *hp = at != NULL ? at + 1 : auth;
    int err = at != NULL ? parse_userinfo(u, auth, (size_t)(at - auth)) : 0;
    if (err == 0)
        err = parse_hostport(u, hp, (size_t)(auth + alen - hp));
    if (err == 0)
        err = parse_path(u, auth + alen);
    if (err != 0) {
        smbw_url_free(u);
        return err;
    }
    *out = u;
    return 0;
}
