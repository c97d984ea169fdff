/* The command-line grammar shared by smbwire's tools: a declarative option
 * table drives the parser, --help and the man page. The walker knows long
 * options (--name, --name=VALUE, --name VALUE), bundled short options (-vk,
 * -UVALUE, -U VALUE), "--" and operands; what an option or operand means is
 * the tool's apply/operand callback. The same walk, in burn mode, overwrites
 * the secrets in argv (tools/common/secrets.h). */
#ifndef SMBWIRE_TOOLS_OPTPARSE_H
#define SMBWIRE_TOOLS_OPTPARSE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One row of an option table. */
typedef struct tool_optdef {
    int id;              /* the tool's option id (an enum) */
    char shortopt;       /* 0 when none */
    const char *longopt; /* without the leading "--" */
    const char *argname; /* NULL: the option takes no argument */
    const char *help;    /* one line for --help */
    const char *doc;     /* paragraph for the man page */
} tool_optdef;

/* One row of an exit status table (--help and the man page). */
typedef struct tool_exitdoc {
    int code;
    const char *text;
} tool_exitdoc;

typedef struct tool_optparser {
    const tool_optdef *defs;
    size_t ndefs;
    int user_id; /* the id of the option whose value may hold a password (-U) */
    /* Applies option d with val (NULL for an option without argument); shown
     * is the option as given ("-U", "--user"). Returns 0 or -1 with err set. */
    int (*apply)(void *ctx, const tool_optdef *d, const char *val, const char *shown, char *err,
                 size_t errlen);
    /* Takes one operand. Returns 0 or -1 with err set. */
    int (*operand)(void *ctx, const char *arg, char *err, size_t errlen);
    void *ctx;
} tool_optparser;

/* Walks argv[1..] calling p's callbacks. Returns 0, or -1 with a message in
 * err (a usage error). */
int tool_opts_parse(const tool_optparser *p, int argc, char **argv, char *err, size_t errlen);
/* Walks argv with the same grammar calling no callback, and burns in place
 * the password of every value of p->user_id and of every smb:// operand. */
void tool_opts_burn_secrets(const tool_optparser *p, int argc, char **argv);

/* vsnprintf into err; returns -1. */
int tool_opt_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "too many arguments ('ARG'); expected WHAT" with ARG's URL password
 * never shown. Returns -1. */
int tool_opt_too_many(char *err, size_t errlen, const char *arg, const char *expected);

/* Values both tools take; each returns 0, or -1 with err naming shown. */
/* A dialect name (SMB2_02 ... SMB3_11) into *out. */
int tool_opt_dialect(const char *val, const char *shown, uint16_t *out, char *err, size_t errlen);
/* A positive number of seconds, at most max_s (fractions allowed), into *ms
 * (at least 1). */
int tool_opt_seconds(const char *val, const char *shown, double max_s, int *ms, char *err,
                     size_t errlen);

/* The option lines of --help, one or two per row. */
void tool_opts_help(FILE *f, const tool_optdef *defs, size_t n);
/* The exit status lines of --help. */
void tool_exits_help(FILE *f, const tool_exitdoc *docs, size_t n);

#endif
