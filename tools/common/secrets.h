/* Secrets on the command line and in the process, shared by smbwire's
 * command-line tools (smbcopy; any later tool that takes -U or smb:// URLs
 * should use the same helpers).
 *
 * A password given as `-U USER%PASSWORD` or in a URL's `USER:PASSWORD@` sits
 * in the process's argument strings, which every local user can read
 * (/proc/PID/cmdline, ps). A tool copies what it needs from them right after
 * parsing its options and then burns the secret part in place, so only the
 * instant between exec and the burn exposes it. */
#ifndef SMBWIRE_TOOLS_SECRETS_H
#define SMBWIRE_TOOLS_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

/* Environment variable that keeps core dumps enabled (value "1"). */
#define TOOL_CORE_DUMPS_ENV "SMBWIRE_ALLOW_CORE_DUMPS"

/* Overwrites n bytes with zeros in a way the compiler keeps. */
void tool_wipe(void *p, size_t n);

/* "[DOMAIN\]USER%PASSWORD" in place: the first '%' and everything after it
 * become NUL bytes, leaving "[DOMAIN\]USER". Returns true when there was a
 * '%' (a password, possibly empty). */
bool tool_burn_user_password(char *arg);

/* An smb:// URL in place: the ":PASSWORD" of its user part (as
 * smbw_url_parse() finds it: the authority ends at the first '/' or '\',
 * the user part at its last '@', an optional "DOMAIN;" comes first and the
 * password follows the first ':' after it) is removed by moving the rest of
 * the string over it; the freed tail becomes NUL bytes. The result is the
 * same URL without the password. Returns true when a password (possibly
 * empty) was removed; anything that is not an smb:// URL is left alone. */
bool tool_burn_url_password(char *arg);

/* Where that ":PASSWORD" is: *colon gets the offset of its ':', *at the
 * offset of the '@' that ends it. Returns false when arg has none. */
bool tool_url_password_span(const char *arg, size_t *colon, size_t *at);

/* Zeroes 64 KiB of stack below the caller. Code that ran before main (the
 * dynamic loader, libc, a sanitizer runtime) may have left copies of the
 * argument strings there: call it first thing in a main whose own frame is
 * small (the copies would otherwise survive in the unused slots of a big
 * frame), and again right after the burn. */
void tool_scrub_stack(void);

/* Keeps the process from writing core dumps and from being inspected by
 * other processes of the same user (prctl PR_SET_DUMPABLE 0, RLIMIT_CORE 0),
 * unless TOOL_CORE_DUMPS_ENV is "1". Returns 0 when disabled, 1 when left
 * enabled on request, -1 (errno set) when it could not be done. */
int tool_disable_core_dumps(void);

#endif
