/* smbwire — smb:// URL parsing.
 *
 *   smb://[DOMAIN;][USER[:PASSWORD]@]HOST[:PORT]/SHARE[/PATH]
 *
 * - The scheme is case-insensitive.
 * - Every component is percent-decoded (%XX, either case). A malformed escape
 *   or an encoded NUL (%00) is an error. Raw control characters are errors.
 * - HOST is a name, an IPv4 literal or an IPv6 literal in brackets
 *   ("smb://[::1]:4455/share"); the brackets are removed in smbw_url.host so
 *   it can be passed to smbw_conn_connect() as is. A zone ("%25eth0") is kept.
 * - PORT is 1..65535; when absent, port is 445.
 * - SHARE is required. PATH may be empty (the share root). Both '/' and '\\'
 *   (also when percent-encoded) separate PATH components; empty and "."
 *   components are dropped; a ".." component is an error (the URL may never
 *   name anything above the share root). smbw_url.path uses '/' and has no
 *   leading or trailing slash. A literal '?' or '#' is part of the path (there
 *   is no query or fragment).
 * - Every decoded component must be valid UTF-8.
 * - Passwords in URLs are accepted but discouraged: they show up in process
 *   listings and shell history. Prefer an authentication file, an environment
 *   variable or a prompt. smbw_url_free() wipes the password before freeing.
 *
 * Thread safety: both functions are reentrant and touch no global state.
 */
#ifndef SMBWIRE_URL_H
#define SMBWIRE_URL_H

#include <stdbool.h>
#include <stdint.h>

#include "errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility: what is declared here is its
 * exported API, and nothing else is. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

typedef struct smbw_url {
    char *domain;   /* NULL when absent */
    char *user;     /* NULL when absent */
    char *password; /* NULL when absent; "" for an explicit empty password */
    char *host;     /* never NULL or empty; no brackets */
    char *share;    /* never NULL or empty */
    char *path;     /* never NULL; "" for the share root */
    uint16_t port;  /* 445 unless given */
} smbw_url;

/* Parses s. On success returns 0 and gives the caller ownership of *out
 * (release with smbw_url_free). On failure sets *out to NULL. Errors:
 * SMBW_EINVAL (a malformed URL; out or s NULL), SMBW_ENOMEM. */
int smbw_url_parse(smbw_url **out, const char *s);

/* Wipes the password and frees everything. NULL is fine. */
void smbw_url_free(smbw_url *u);

/* True when s starts with "smb://" (case-insensitive); says nothing about
 * whether the rest is valid. */
bool smbw_is_url(const char *s);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif
