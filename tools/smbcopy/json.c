/* A growable buffer and the --json summary. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smbcopy.h"

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
    tool_buf b = {0};
    tool_buf_puts(&b, "{\"ok\":");
    tool_buf_puts(&b, s->ok ? "true" : "false");
    tool_buf_puts(&b, ",\"method\":");
    tool_json_str(&b, s->method);
    tool_buf_puts(&b, ",\"src\":");
    tool_json_str(&b, s->src);
    tool_buf_puts(&b, ",\"dst\":");
    tool_json_str(&b, s->dst);
    tool_buf_puts(&b, ",\"src_resolved\":");
    tool_json_str(&b, s->src_resolved);
    tool_buf_puts(&b, ",\"dst_resolved\":");
    tool_json_str(&b, s->dst_resolved);
    double secs = s->seconds >= 0 ? s->seconds : 0;
    tool_buf_printf(&b,
                    ",\"bytes\":%llu,\"files\":%llu,\"failed\":%llu,\"skipped\":%llu,"
                    "\"seconds\":%.3f",
                    (unsigned long long)s->bytes, (unsigned long long)s->files,
                    (unsigned long long)s->failed, (unsigned long long)s->skipped, secs);
    if (s->counters)
        tool_buf_printf(&b,
                        ",\"requests\":%llu,\"wire_bytes\":%llu,\"resumed_bytes\":%llu,"
                        "\"reconnects\":%llu",
                        (unsigned long long)s->requests, (unsigned long long)s->wire_bytes,
                        (unsigned long long)s->resumed_bytes, (unsigned long long)s->reconnects);
    tool_buf_puts(&b, ",\"dialect\":");
    tool_json_str(&b, s->dialect);
    if (s->prot != NULL && s->prot->nsessions > 0) {
        tool_buf_puts(&b, ",\"signing\":");
        tool_json_str(&b, s->prot->sign_alg);
        tool_buf_puts(&b,
                      s->prot->cipher_rank > 0 ? ",\"encryption\":true" : ",\"encryption\":false");
        tool_buf_puts(&b, ",\"cipher\":");
        tool_json_str(&b, s->prot->cipher);
    } else {
        tool_buf_puts(&b, ",\"signing\":null,\"encryption\":null,\"cipher\":null");
    }
    tool_buf_puts(&b, ",\"collisions\":[");
    for (size_t i = 0; i < s->ncollisions; i++) {
        if (i > 0)
            tool_buf_putc(&b, ',');
        tool_json_str(&b, s->collisions[i]);
    }
    tool_buf_putc(&b, ']');
    tool_buf_printf(&b, ",\"exit_code\":%d", s->exit_code);
    if (!s->ok || s->error != NULL) {
        tool_buf_puts(&b, ",\"error\":");
        tool_json_str(&b, s->error);
    }
    tool_buf_puts(&b, "}\n");
    if (b.failed) {
        tool_buf_free(&b);
        return NULL;
    }
    return b.p;
}
