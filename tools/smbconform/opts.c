/* smbconform's option table and the parser and --help driven by it. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "secrets.h"
#include "smbconform.h"

const cf_optdef cf_optdefs[] = {
    {CF_OPT_USER, 'U', "user", "[DOMAIN\\]USER[%PASSWORD]", "user name, domain and password",
     "Log in as USER, optionally in DOMAIN (DOMAIN/USER works too) and with PASSWORD after a "
     "'%'. As with smbcopy, the password is overwritten in the command line right after the "
     "options are read, but other local users can see it until then: prefer -A, SMB_PASSWORD "
     "or the prompt."},
    {CF_OPT_AUTHFILE, 'A', "authentication-file", "FILE",
     "read username, password, domain from FILE",
     "Read credentials from FILE in smbclient's format: lines 'username = NAME', 'password = "
     "SECRET' and 'domain = NAME'; blank lines and lines starting with '#' or ';' are ignored. "
     "smbconform warns when group or others may read the file."},
    {CF_OPT_KERBEROS, 'k', "kerberos", NULL, "authenticate with Kerberos (credential cache)",
     "Authenticate every connection with Kerberos from the credential cache (KRB5CCNAME) "
     "instead of NTLM; the service principal is cifs/HOST. No password is read."},
    {CF_OPT_MINPROTO, 0, "min-protocol", "DIALECT", "lowest dialect to offer (default SMB2_02)",
     "Lowest SMB dialect every connection of the run offers: SMB2_02, SMB2_10, SMB3_00, "
     "SMB3_02 or SMB3_11."},
    {CF_OPT_MAXPROTO, 0, "max-protocol", "DIALECT", "highest dialect to offer (default SMB3_11)",
     "Highest SMB dialect every connection of the run offers (same names as --min-protocol)."},
    {CF_OPT_LIST, 0, "list", NULL, "list the cases (after --only) and exit",
     "Print the cases that would run, one a line: name, spec section and what it checks, "
     "separated by tabs; then exit without connecting. The URL may be left out."},
    {CF_OPT_ONLY, 0, "only", "GLOB", "run only the cases whose name matches GLOB (repeatable)",
     "Run only the cases whose name matches the shell pattern GLOB (fnmatch(3): *, ? and "
     "[...]), for example --only='copychunk_*'. Given several times, a case runs when it "
     "matches any of them. A pattern that matches no case is a usage error."},
    {CF_OPT_JSON, 0, "json", NULL, "print the report as JSON, last on stdout",
     "Print the report as one JSON object, the last thing on standard output: \"server\" (the "
     "dialect, capabilities, security mode, maximum sizes, share flags and capabilities, "
     "signing algorithm and cipher of the first connection), \"cases\" (for each case run: "
     "name, spec, result pass/fail/skip/error, expected, got, reason and seconds) and "
     "\"summary\" (counts per result, total, seconds). The per-case lines then go to standard "
     "error."},
    {CF_OPT_JUNIT, 0, "junit", "FILE", "also write a JUnit XML report to FILE",
     "Also write the results as JUnit XML to FILE (one testsuite, one testcase per case, with "
     "failure, error or skipped elements), for CI systems that read it."},
    {CF_OPT_TIMEOUT, 0, "timeout", "SECONDS", "time limit for each case (default 60)",
     "End a case that has not finished after SECONDS (a positive number, fractions allowed; "
     "default 60) and report it as error. Every network wait of a case is bounded by the same "
     "limit."},
    {CF_OPT_STRICT, 0, "strict", NULL, "exit 1 when any case failed or ended in error",
     "Exit with status 1 when any case failed or ended in error (for CI). Without it the exit "
     "status is 0 whenever the run completed."},
    {CF_OPT_VERBOSE, 'v', "verbose", NULL, "show expected/got for every case (-vv: SMB log)",
     "Show what was expected and what came back for passing cases too; -vv also logs what "
     "the SMB library does (connections, negotiation, sessions) to standard error, -vvv every "
     "request and answer. Passwords and keys are never logged."},
    {CF_OPT_HELP, 'h', "help", NULL, "show this help and exit", "Show a summary of the options."},
    {CF_OPT_VERSION, 0, "version", NULL, "show the version and exit",
     "Show the versions of smbconform and of the smbwire library."},
};
const size_t cf_noptdefs = sizeof(cf_optdefs) / sizeof(cf_optdefs[0]);

const cf_exitdoc cf_exitdocs[] = {
    {CF_EXIT_OK, "the run completed (whatever the case results, unless --strict)"},
    {CF_EXIT_STRICT, "--strict: some case failed or ended in error"},
    {CF_EXIT_USAGE, "usage error (bad option, bad URL, --only matching nothing)"},
    {CF_EXIT_SERVER,
     "the run could not start: cannot connect, log in, reach the share or create the scratch "
     "directory"},
    {CF_EXIT_LOCAL, "local error (cannot write the --junit file, out of memory)"},
};
const size_t cf_nexitdocs = sizeof(cf_exitdocs) / sizeof(cf_exitdocs[0]);

void cf_opts_init(cf_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->timeout_ms = CF_DEFAULT_TIMEOUT_MS;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int apply(cf_opts *o, const cf_optdef *d, const char *val, const char *shown, char *err,
                 size_t errlen)
{
    switch (d->id) {
    case CF_OPT_USER:
        if (val[0] == '\0' || val[0] == '%')
            return fail(err, errlen, "option %s: empty user name%s", shown, "");
        o->user_arg = val;
        break;
    case CF_OPT_AUTHFILE:
        if (val[0] == '\0')
            return fail(err, errlen, "option %s: empty file name%s", shown, "");
        o->authfile = val;
        break;
    case CF_OPT_KERBEROS:
        o->kerberos = true;
        break;
    case CF_OPT_MINPROTO:
    case CF_OPT_MAXPROTO: {
        uint16_t dl = smbw_dialect_parse(val);
        if (dl == 0)
            return fail(err, errlen,
                        "option %s: unknown dialect '%s' (SMB2_02 SMB2_10 SMB3_00 SMB3_02 SMB3_11)",
                        shown, val);
        if (d->id == CF_OPT_MINPROTO)
            o->min_proto = dl;
        else
            o->max_proto = dl;
        break;
    }
    case CF_OPT_LIST:
        o->list = true;
        break;
    case CF_OPT_ONLY:
        if (val[0] == '\0')
            return fail(err, errlen, "option %s: empty pattern%s", shown, "");
        if (o->nonly >= CF_MAX_ONLY)
            return fail(err, errlen, "option %s: more than 64 patterns%s", shown, "");
        o->only[o->nonly++] = val;
        break;
    case CF_OPT_JSON:
        o->json = true;
        break;
    case CF_OPT_JUNIT:
        if (val[0] == '\0')
            return fail(err, errlen, "option %s: empty file name%s", shown, "");
        o->junit = val;
        break;
    case CF_OPT_TIMEOUT: {
        char *end;
        errno = 0;
        double s = strtod(val, &end);
        if (errno != 0 || end == val || *end != '\0' || !(s > 0) || s > 86400.0)
            return fail(err, errlen, "option %s: '%s' is not a positive number of seconds", shown,
                        val);
        int ms = (int)(s * 1000.0 + 0.5);
        o->timeout_ms = ms < 1 ? 1 : ms;
        break;
    }
    case CF_OPT_STRICT:
        o->strict = true;
        break;
    case CF_OPT_VERBOSE:
        if (o->verbose < 3)
            o->verbose++;
        break;
    case CF_OPT_HELP:
        o->help = true;
        break;
    case CF_OPT_VERSION:
        o->version = true;
        break;
    }
    return 0;
}

static const cf_optdef *find_long(const char *name, size_t len)
{
    for (size_t i = 0; i < cf_noptdefs; i++)
        if (strlen(cf_optdefs[i].longopt) == len && strncmp(cf_optdefs[i].longopt, name, len) == 0)
            return &cf_optdefs[i];
    return NULL;
}

static const cf_optdef *find_short(char c)
{
    for (size_t i = 0; i < cf_noptdefs; i++)
        if (cf_optdefs[i].shortopt != 0 && cf_optdefs[i].shortopt == c)
            return &cf_optdefs[i];
    return NULL;
}

/* Walks argv with the option grammar; with o == NULL it burns the secrets
 * instead (the password of -U values and of the smb:// operand). */
static int walk(cf_opts *o, int argc, char **argv, char *err, size_t errlen)
{
    const bool burn = o == NULL;
    const char *url = NULL;
    bool only_pos = false;
    char shown[64];
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (burn) {
                tool_burn_url_password(a);
                continue;
            }
            if (url != NULL) {
                char *shown_arg = strdup(a);
                if (shown_arg != NULL)
                    tool_burn_url_password(shown_arg);
                fail(err, errlen, "too many arguments ('%s'); expected one URL%s",
                     shown_arg != NULL ? shown_arg : "?", "");
                free(shown_arg);
                return -1;
            }
            url = a;
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
            const cf_optdef *d = find_long(name, nlen);
            snprintf(shown, sizeof(shown), "--%.*s", (int)(nlen > 40 ? 40 : nlen), name);
            if (d == NULL) {
                if (burn)
                    continue;
                return fail(err, errlen, "unknown option '%s'%s", shown, "");
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
                    return fail(err, errlen, "option %s needs an argument (%s)", shown, d->argname);
            } else if (eq != NULL) {
                if (burn)
                    continue;
                return fail(err, errlen, "option %s takes no argument%s", shown, "");
            }
            if (burn) {
                if (d->id == CF_OPT_USER)
                    tool_burn_user_password(val);
                continue;
            }
            if (apply(o, d, val, shown, err, errlen) != 0)
                return -1;
            continue;
        }
        for (char *p = a + 1; *p != '\0'; p++) {
            const cf_optdef *d = find_short(*p);
            snprintf(shown, sizeof(shown), "-%c", *p);
            if (d == NULL) {
                if (burn)
                    continue;
                return fail(err, errlen, "unknown option '%s'%s", shown, "");
            }
            if (d->argname == NULL) {
                if (!burn && apply(o, d, NULL, shown, err, errlen) != 0)
                    return -1;
                continue;
            }
            char *val;
            if (p[1] != '\0')
                val = p + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else if (burn)
                break;
            else
                return fail(err, errlen, "option %s needs an argument (%s)", shown, d->argname);
            if (burn) {
                if (d->id == CF_OPT_USER)
                    tool_burn_user_password(val);
            } else if (apply(o, d, val, shown, err, errlen) != 0) {
                return -1;
            }
            break;
        }
    }
    if (burn || o->help || o->version)
        return 0;
    if (url == NULL && !o->list)
        return fail(err, errlen, "missing the URL smb://[DOMAIN;][USER@]HOST[:PORT]/SHARE%s%s",
                    " (try --help)", "");
    if (o->min_proto != 0 && o->max_proto != 0 && o->min_proto > o->max_proto)
        return fail(err, errlen, "--min-protocol is above --max-protocol%s%s", "", "");
    o->url = url;
    return 0;
}

int cf_opts_parse(cf_opts *o, int argc, char **argv, char *err, size_t errlen)
{
    return walk(o, argc, argv, err, errlen);
}

void cf_opts_burn_secrets(int argc, char **argv)
{
    char err[8];
    walk(NULL, argc, argv, err, sizeof(err));
}

void cf_opts_help(FILE *f)
{
    fprintf(f, "Usage: smbconform [OPTIONS] smb://[DOMAIN;][USER@]HOST[:PORT]/SHARE\n"
               "Check an SMB server's conformance (server-side copy first): each case runs on\n"
               "its own connection in its own scratch directory on SHARE, removed afterwards.\n"
               "\nOptions:\n");
    for (size_t i = 0; i < cf_noptdefs; i++) {
        const cf_optdef *d = &cf_optdefs[i];
        char left[80];
        int n;
        if (d->shortopt != 0)
            n = snprintf(left, sizeof(left), "  -%c, --%s", d->shortopt, d->longopt);
        else
            n = snprintf(left, sizeof(left), "      --%s", d->longopt);
        if (d->argname != NULL && n > 0 && (size_t)n < sizeof(left))
            snprintf(left + n, sizeof(left) - (size_t)n, "=%s", d->argname);
        if (strlen(left) > 32)
            fprintf(f, "%s\n%34s%s\n", left, "", d->help);
        else
            fprintf(f, "%-34s%s\n", left, d->help);
    }
    fprintf(f, "\nCredentials: user from -U, the URL, -A, $USER; password from -U, the URL,\n"
               "-A, $SMB_PASSWORD, else a prompt when stdin is a terminal. With -k, the\n"
               "Kerberos credential cache ($KRB5CCNAME) instead.\n\nExit status:\n");
    for (size_t i = 0; i < cf_nexitdocs; i++)
        fprintf(f, "  %3d  %s\n", cf_exitdocs[i].code, cf_exitdocs[i].text);
    fprintf(f, "\nSee smbconform(1) for details.\n");
}
