/* Credentials of smbwire's command-line tools, one grammar for all of them:
 * -U [DOMAIN\]USER[%PASSWORD], smbclient's authentication files (-A), the
 * order in which the sources win, and a password prompt without echo. */
#ifndef SMBWIRE_TOOLS_CREDS_H
#define SMBWIRE_TOOLS_CREDS_H

#include <signal.h>

#include "smbwire/smbwire.h"
#include "smbwire/url.h"

typedef struct tool_creds {
    char *domain;
    char *user;
    char *password;
} tool_creds;

/* Wipes and frees the members (not c itself). */
void tool_creds_clear(tool_creds *c);
/* "[DOMAIN\]USER[%PASSWORD]" ('/' also separates the domain). Returns 0 or
 * -1 for an empty user. */
int tool_parse_user_arg(const char *arg, tool_creds *out);
/* smbclient's authentication file format. Returns 0, or -1 with a message in
 * err ("line N: ..." or the OS error). *mode gets the permission bits of the
 * file that was read (st_mode & 07777), so the caller can warn when group or
 * others may read it. */
int tool_parse_auth_file(const char *path, tool_creds *out, unsigned *mode, char *err,
                         size_t errlen);
int tool_parse_auth_text(const char *text, size_t len, tool_creds *out, char *err, size_t errlen);

/* Resolves the credentials for one server from the sources in their order of
 * precedence: user from cli, url, file, user_env ($USER); password from cli,
 * url, file, password_env ($SMB_PASSWORD); domain from cli, url, file (each
 * may be NULL). Fields of out are malloc'd; password stays NULL when no
 * source has one (the caller may then prompt). Returns 0 or SMBW_ENOMEM. */
int tool_resolve_creds(const tool_creds *cli, const smbw_url *url, const tool_creds *file,
                       const char *password_env, const char *user_env, tool_creds *out);

/* Reads a password from the terminal on stdin without echo, prompting on
 * stderr. A signal that sets *interrupted (may be NULL) ends the read.
 * Returns 0 with a malloc'd *out, 1 when stdin is not a terminal, -1 on
 * error/interrupt. */
int tool_prompt_password(const char *prompt, char **out, const volatile sig_atomic_t *interrupted);

#endif
