/* UTF-8 <-> UTF-16LE conversion for SMB names and NTLM strings. */
#ifndef SMBW_UTIL_UNICODE_H
#define SMBW_UTIL_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

/* Appends the UTF-16LE form of s[0..len) to out (no terminator). Rejects
 * invalid UTF-8 (overlong forms, surrogates, > U+10FFFF) with SMBW_EINVAL. */
SMBW_WUR int utf8_to_utf16le(const char *s, size_t len, smbw_buf *out);
/* Same, upper-casing ASCII and Latin-1/basic ranges as NTLM's NTOWFv2 needs
 * (towupper semantics for the BMP via a simple table is enough: ASCII a-z). */
SMBW_WUR int utf8_to_utf16le_upper(const char *s, size_t len, smbw_buf *out);
/* Converts len bytes of UTF-16LE (len even) into a new NUL-terminated UTF-8
 * string (*out malloc'd). Unpaired surrogates are rejected (SMBW_EPROTO). */
SMBW_WUR int utf16le_to_utf8(const uint8_t *p, size_t len, char **out);
/* Same, but each unit that is not valid (an unpaired surrogate, U+0000)
 * becomes U+FFFD, and *lossy says whether any did (lossy NULL: as
 * utf16le_to_utf8). Odd len: SMBW_EPROTO. */
SMBW_WUR int utf16le_to_utf8_lossy(const uint8_t *p, size_t len, char **out, bool *lossy);

#endif
