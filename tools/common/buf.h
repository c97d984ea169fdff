/* A growable text buffer and JSON string literals, shared by smbwire's
 * command-line tools (their --json reports, the man page generators). */
#ifndef SMBWIRE_TOOLS_BUF_H
#define SMBWIRE_TOOLS_BUF_H

#include <stdbool.h>
#include <stddef.h>

/* A NUL-terminated string that grows; the first failed allocation sets
 * failed, after which every append does nothing. Zero-initialise it. */
typedef struct tool_buf {
    char *p;
    size_t len, cap;
    bool failed;
} tool_buf;
void tool_buf_free(tool_buf *b);
void tool_buf_putc(tool_buf *b, char c);
void tool_buf_puts(tool_buf *b, const char *s);
void tool_buf_printf(tool_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal (quotes included); invalid UTF-8 bytes
 * become U+FFFD. NULL gives null. */
void tool_json_str(tool_buf *b, const char *s);

/* Length of the valid UTF-8 sequence at s (1..4; 1 for an ASCII byte and
 * for the terminating NUL), or 0 when the bytes there are not valid UTF-8
 * (overlong, a surrogate, above U+10FFFF, cut short). */
size_t tool_utf8_len(const char *s);

#endif
