/* smbconform's option table and the parser and --help driven by it. */
#include <stdlib.h>
#include <string.h>

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
    {CF_OPT_OTHER_SHARE, 0, "other-share", "SHARE",
     "a second share of the server, for the cross-share cases",
     "Name of a second share on the same server where smbconform may create (and remove) one "
     "file at the share root: the cases that copy across shares use it and skip without it."},
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

static int apply(cf_opts *o, const tool_optdef *d, const char *val, const char *shown, char *err,
                 size_t errlen)
{
    switch (d->id) {
    case CF_OPT_USER:
        if (val[0] == '\0' || val[0] == '%')
            return tool_opt_fail(err, errlen, "option %s: empty user name", shown);
        o->user_arg = val;
        break;
    case CF_OPT_AUTHFILE:
        if (val[0] == '\0')
            return tool_opt_fail(err, errlen, "option %s: empty file name", shown);
        o->authfile = val;
        break;
    case CF_OPT_KERBEROS:
        o->kerberos = true;
        break;
    case CF_OPT_MINPROTO:
        return tool_opt_dialect(val, shown, &o->min_proto, err, errlen);
    case CF_OPT_MAXPROTO:
        return tool_opt_dialect(val, shown, &o->max_proto, err, errlen);
    case CF_OPT_OTHER_SHARE:
        if (val[0] == '\0')
            return tool_opt_fail(err, errlen, "option %s: empty share name", shown);
        o->other_share = val;
        break;
    case CF_OPT_LIST:
        o->list = true;
        break;
    case CF_OPT_ONLY:
        if (val[0] == '\0')
            return tool_opt_fail(err, errlen, "option %s: empty pattern", shown);
        if (o->nonly >= CF_MAX_ONLY)
            return tool_opt_fail(err, errlen, "option %s: more than 64 patterns", shown);
        o->only[o->nonly++] = val;
        break;
    case CF_OPT_JSON:
        o->json = true;
        break;
    case CF_OPT_JUNIT:
        if (val[0] == '\0')
            return tool_opt_fail(err, errlen, "option %s: empty file name", shown);
        o->junit = val;
        break;
    case CF_OPT_TIMEOUT:
        return tool_opt_seconds(val, shown, 86400.0, &o->timeout_ms, err, errlen);
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

/* What a parse collects besides the options: the URL. */
typedef struct parse_ctx {
    cf_opts *o;
    const char *url;
} parse_ctx;

static int apply_cb(void *ctx, const tool_optdef *d, const char *val, const char *shown, char *err,
                    size_t errlen)
{
    return apply(((parse_ctx *)ctx)->o, d, val, shown, err, errlen);
}

static int operand_cb(void *ctx, const char *arg, char *err, size_t errlen)
{
    parse_ctx *pc = ctx;
    if (pc->url != NULL)
        return tool_opt_too_many(err, errlen, arg, "one URL");
    pc->url = arg;
    return 0;
}

static tool_optparser parser(parse_ctx *pc)
{
    return (tool_optparser){cf_optdefs, cf_noptdefs, CF_OPT_USER, apply_cb, operand_cb, pc};
}

int cf_opts_parse(cf_opts *o, int argc, char **argv, char *err, size_t errlen)
{
    parse_ctx pc = {o, NULL};
    tool_optparser p = parser(&pc);
    if (tool_opts_parse(&p, argc, argv, err, errlen) != 0)
        return -1;
    if (o->help || o->version)
        return 0;
    if (pc.url == NULL && !o->list)
        return tool_opt_fail(
            err, errlen, "missing the URL smb://[DOMAIN;][USER@]HOST[:PORT]/SHARE (try --help)");
    if (o->min_proto != 0 && o->max_proto != 0 && o->min_proto > o->max_proto)
        return tool_opt_fail(err, errlen, "--min-protocol is above --max-protocol");
    o->url = pc.url;
    return 0;
}

void cf_opts_burn_secrets(int argc, char **argv)
{
    tool_optparser p = parser(NULL);
    tool_opts_burn_secrets(&p, argc, argv);
}

void cf_opts_help(FILE *f)
{
    fprintf(f, "Usage: smbconform [OPTIONS] smb://[DOMAIN;][USER@]HOST[:PORT]/SHARE\n"
               "Check an SMB server's conformance (server-side copy first): each case runs on\n"
               "its own connection in its own scratch directory on SHARE, removed afterwards.\n"
               "\nOptions:\n");
    tool_opts_help(f, cf_optdefs, cf_noptdefs);
    fprintf(f, "\nCredentials: user from -U, the URL, -A, $USER; password from -U, the URL,\n"
               "-A, $SMB_PASSWORD, else a prompt when stdin is a terminal. With -k, the\n"
               "Kerberos credential cache ($KRB5CCNAME) instead.\n\nExit status:\n");
    tool_exits_help(f, cf_exitdocs, cf_nexitdocs);
    fprintf(f, "\nSee smbconform(1) for details.\n");
}
