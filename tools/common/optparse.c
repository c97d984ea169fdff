/* The table-driven option walker shared by the tools (optparse.h). */
#include "optparse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "secrets.h"
#include "smbwire/smbwire.h"

int tool_opt_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

int tool_opt_too_many(char *err, size_t errlen, const char *arg, const char *expected)
{
    char *shown = strdup(arg);
    if (shown != NULL)
        tool_burn_url_password(shown);
    tool_opt_fail(err, errlen, "too many arguments ('%s'); expected %s",
                  shown != NULL ? shown : "?", expected);
    free(shown);
    return -1;
}

int tool_opt_dialect(const char *val, const char *shown, uint16_t *out, char *err, size_t errlen)
{
    uint16_t dl = smbw_dialect_parse(val);
    if (dl == 0)
        return tool_opt_fail(
            err, errlen,
            "option %s: unknown dialect '%s' (SMB2_02 SMB2_10 SMB3_00 SMB3_02 SMB3_11)", shown,
            val);
    *out = dl;
    return 0;
}

int tool_opt_seconds(const char *val, const char *shown, double max_s, int *ms, char *err,
                     size_t errlen)
{
    char *end;
    errno = 0;
    double s = strtod(val, &end);
    if (errno != 0 || end == val || *end != '\0' || !(s > 0) || s > max_s)
        return tool_opt_fail(err, errlen, "option %s: '%s' is not a positive number of seconds",
                             shown, val);
    int v = (int)(s * 1000.0 + 0.5);
    *ms = v < 1 ? 1 : v;
    return 0;
}

static const tool_optdef *find_long(const tool_optparser *p, const char *name, size_t len)
{
    for (size_t i = 0; i < p->ndefs; i++)
        if (strlen(p->defs[i].longopt) == len && strncmp(p->defs[i].longopt, name, len) == 0)
            return &p->defs[i];
    return NULL;
}

static const tool_optdef *find_short(const tool_optparser *p, char c)
{
    for (size_t i = 0; i < p->ndefs; i++)
        if (p->defs[i].shortopt != 0 && p->defs[i].shortopt == c)
            return &p->defs[i];
    return NULL;
}

/* One option with its value (NULL when it takes none): applied, or in burn
 * mode its password burnt. */
static int take(const tool_optparser *p, bool burn, const tool_optdef *d, char *val,
                const char *shown, char *err, size_t errlen)
{
    if (burn) {
        if (d->id == p->user_id && val != NULL)
            tool_burn_user_password(val);
        return 0;
    }
    return p->apply(p->ctx, d, val, shown, err, errlen);
}

/* With burn, nothing is applied and no error is reported: what can be
 * recognised has its secret burnt. */
static int walk(const tool_optparser *p, bool burn, int argc, char **argv, char *err, size_t errlen)
{
    bool only_pos = false;
    char shown[64];
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (burn)
                tool_burn_url_password(a);
            else if (p->operand(p->ctx, a, err, errlen) != 0)
                return -1;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (a[1] == '-') {
            char *name = a + 2;
            char *eq = strchr(name, '=');
            size_t nlen = eq != NULL ? (size_t)(eq - name) : strlen(name);
            const tool_optdef *d = find_long(p, name, nlen);
            snprintf(shown, sizeof(shown), "--%.*s", (int)(nlen > 40 ? 40 : nlen), name);
            if (d == NULL) {
                if (burn)
                    continue;
                return tool_opt_fail(err, errlen, "unknown option '%s'", shown);
            }
            char *val = NULL;
            if (d->argname != NULL) {
                if (eq != NULL)
                    val = eq + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
                else if (burn)
                    continue;
                else
                    return tool_opt_fail(err, errlen, "option %s needs an argument (%s)", shown,
                                         d->argname);
            } else if (eq != NULL) {
                if (burn)
                    continue;
                return tool_opt_fail(err, errlen, "option %s takes no argument", shown);
            }
            if (take(p, burn, d, val, shown, err, errlen) != 0)
                return -1;
            continue;
        }
        for (char *c = a + 1; *c != '\0'; c++) {
            const tool_optdef *d = find_short(p, *c);
            snprintf(shown, sizeof(shown), "-%c", *c);
            if (d == NULL) {
                if (burn)
                    continue;
                return tool_opt_fail(err, errlen, "unknown option '%s'", shown);
            }
            if (d->argname == NULL) {
                if (take(p, burn, d, NULL, shown, err, errlen) != 0)
                    return -1;
                continue;
            }
            /* The rest of the argument, else the next one, is the value. */
            char *val;
            if (c[1] != '\0')
                val = c + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else if (burn)
                break;
            else
                return tool_opt_fail(err, errlen, "option %s needs an argument (%s)", shown,
                                     d->argname);
            if (take(p, burn, d, val, shown, err, errlen) != 0)
                return -1;
            break;
        }
    }
    return 0;
}

int tool_opts_parse(const tool_optparser *p, int argc, char **argv, char *err, size_t errlen)
{
    return walk(p, false, argc, argv, err, errlen);
}

void tool_opts_burn_secrets(const tool_optparser *p, int argc, char **argv)
{
    walk(p, true, argc, argv, NULL, 0);
}

void tool_opts_help(FILE *f, const tool_optdef *defs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const tool_optdef *d = &defs[i];
        char left[80];
        int k;
        if (d->shortopt != 0)
            k = snprintf(left, sizeof(left), "  -%c, --%s", d->shortopt, d->longopt);
        else
            k = snprintf(left, sizeof(left), "      --%s", d->longopt);
        if (d->argname != NULL && k > 0 && (size_t)k < sizeof(left))
            snprintf(left + k, sizeof(left) - (size_t)k, "=%s", d->argname);
        if (strlen(left) > 32)
            fprintf(f, "%s\n%34s%s\n", left, "", d->help);
        else
            fprintf(f, "%-34s%s\n", left, d->help);
    }
}

void tool_exits_help(FILE *f, const tool_exitdoc *docs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %3d  %s\n", docs[i].code, docs[i].text);
}
