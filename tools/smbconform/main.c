/* smbconform: an SMB server conformance runner built on the public smbwire
 * API (issue 11). See smbconform(1) and docs/conformance.md. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "secrets.h"
#include "smbconform.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool selected(const cf_opts *o, const cf_case *cs)
{
    if (o->nonly == 0)
        return true;
    for (int i = 0; i < o->nonly; i++)
        if (fnmatch(o->only[i], cs->name, 0) == 0)
            return true;
    return false;
}

static void print_line(FILE *f, const cf_outcome_rec *r, int verbose)
{
    static const char *const tags[] = {"PASS ", "FAIL ", "SKIP ", "ERROR"};
    fprintf(f, "%s %-48s %-22s %6.2fs\n", tags[r->result], r->cs->name, r->cs->spec, r->seconds);
    if (r->result == CF_FAIL || (verbose > 0 && r->expected[0] != '\0')) {
        fprintf(f, "      expected: %s\n", r->expected);
        fprintf(f, "      got:      %s\n", r->got);
    }
    if (r->reason[0] != '\0' && r->result != CF_PASS)
        fprintf(f, "      %s\n", r->reason);
    fflush(f);
}

/* The cases --only selects, in run order: *run (calloc'd, caller frees)
 * with *nrun of them. Returns CF_EXIT_OK, or CF_EXIT_USAGE (a pattern that
 * matches no case, said on stderr) or CF_EXIT_LOCAL. */
static int select_cases(const cf_opts *o, const cf_case ***run, size_t *nrun)
{
    size_t ncases = cf_all_cases(NULL, 0);
    const cf_case **all = calloc(ncases + 1, sizeof(*all));
    *run = calloc(ncases + 1, sizeof(**run));
    *nrun = 0;
    if (all == NULL || *run == NULL) {
        free(all);
        return CF_EXIT_LOCAL;
    }
    cf_all_cases(all, ncases);
    for (size_t i = 0; i < ncases; i++)
        if (selected(o, all[i]))
            (*run)[(*nrun)++] = all[i];
    int code = CF_EXIT_OK;
    for (int k = 0; k < o->nonly && code == CF_EXIT_OK; k++) {
        bool any = false;
        for (size_t i = 0; i < ncases && !any; i++)
            any = fnmatch(o->only[k], all[i]->name, 0) == 0;
        if (!any) {
            fprintf(stderr, "smbconform: --only='%s' matches no case (see --list)\n", o->only[k]);
            code = CF_EXIT_USAGE;
        }
    }
    free(all);
    return code;
}

/* Credentials as smbcopy takes them: -U, the URL, -A, SMB_PASSWORD, $USER,
 * the prompt. Burns the secrets of argv once read. Returns an exit code. */
static int resolve_creds(const cf_opts *o, const smbw_url *url, int argc, char **argv,
                         tool_creds *cli, tool_creds *file, tool_creds *cr)
{
    char err[512];
    int code = CF_EXIT_OK;
    if (o->user_arg != NULL && tool_parse_user_arg(o->user_arg, cli) != 0) {
        fprintf(stderr, "smbconform: -U: empty user name\n");
        code = CF_EXIT_USAGE;
    }
    if (code == 0 && o->authfile != NULL) {
        unsigned mode = 0;
        if (tool_parse_auth_file(o->authfile, file, &mode, err, sizeof(err)) != 0) {
            fprintf(stderr, "smbconform: %s: %s\n", o->authfile, err);
            code = CF_EXIT_USAGE;
        } else if (mode & 077) {
            fprintf(stderr,
                    "smbconform: warning: %s may be read by group or others (chmod 600 it)\n",
                    o->authfile);
        }
    }
    cf_opts_burn_secrets(argc, argv);
    if (code == 0 &&
        tool_resolve_creds(cli, url, file, getenv("SMB_PASSWORD"), getenv("USER"), cr) != 0)
        code = CF_EXIT_LOCAL;
    if (code == 0 && !o->kerberos && cr->user == NULL) {
        fprintf(stderr, "smbconform: no user name (-U, the URL, -A or $USER)\n");
        code = CF_EXIT_USAGE;
    }
    if (code == 0 && !o->kerberos && cr->password == NULL) {
        char prompt[300];
        snprintf(prompt, sizeof(prompt), "Password for %s@%s: ", cr->user, url->host);
        if (tool_prompt_password(prompt, &cr->password, NULL) < 0) {
            fprintf(stderr, "smbconform: cannot read the password\n");
            code = CF_EXIT_USAGE;
        }
    }
    return code;
}

/* The summary line, the --junit file and the --json report of a run. */
static int report(const cf_opts *o, FILE *lines, const cf_run *rep)
{
    size_t nbad = 0, c[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < rep->n; i++) {
        c[rep->recs[i].result]++;
        if (rep->recs[i].result == CF_FAIL || rep->recs[i].result == CF_ERROR)
            nbad++;
    }
    fprintf(lines, "smbconform: %zu passed, %zu failed, %zu skipped, %zu errors (%.1f s)\n",
            c[CF_PASS], c[CF_FAIL], c[CF_SKIP], c[CF_ERROR], rep->seconds);
    int code = CF_EXIT_OK;
    char err[512];
    if (o->junit != NULL && cf_report_junit(rep, o->junit, err, sizeof(err)) != 0) {
        fprintf(stderr, "smbconform: %s\n", err);
        code = CF_EXIT_LOCAL;
    }
    if (o->json) {
        char *js = cf_report_json(rep);
        if (js == NULL) {
            code = CF_EXIT_LOCAL;
        } else {
            fputs(js, stdout);
            fflush(stdout);
            free(js);
        }
    }
    if (code == 0 && o->strict && nbad > 0)
        code = CF_EXIT_STRICT;
    return code;
}

/* Checks that the run can happen, runs the cases one by one and reports. */
static int run_cases(const cf_opts *o, const cf_target *tg, const char *url_shown,
                     const cf_case *const *run, size_t nrun)
{
    cf_server_info info;
    char err[512], root[200];
    if (cf_runner_start(tg, &info, root, sizeof(root), err, sizeof(err)) != 0) {
        fprintf(stderr, "smbconform: %s\n", err);
        return CF_EXIT_SERVER;
    }
    FILE *lines = o->json ? stderr : stdout;
    fprintf(lines, "smbconform: %s: %s, %zu case%s\n", url_shown, smbw_dialect_name(info.dialect),
            nrun, nrun == 1 ? "" : "s");
    cf_outcome_rec *recs = calloc(nrun + 1, sizeof(*recs));
    if (recs == NULL) {
        cf_runner_finish(tg, root);
        return CF_EXIT_LOCAL;
    }
    double t0 = now();
    for (size_t i = 0; i < nrun; i++) {
        cf_run_case(tg, root, run[i], o->timeout_ms, &recs[i]);
        print_line(lines, &recs[i], o->verbose);
    }
    double secs = now() - t0;
    cf_runner_finish(tg, root);
    cf_run rep = {&info, url_shown, recs, nrun, secs};
    int code = report(o, lines, &rep);
    free(recs);
    return code;
}

static __attribute__((noinline)) int smbconform_main(int argc, char **argv)
{
    cf_opts o;
    cf_opts_init(&o);
    char err[512];
    tool_disable_core_dumps();
    if (cf_opts_parse(&o, argc, argv, err, sizeof(err)) != 0) {
        cf_opts_burn_secrets(argc, argv);
        fprintf(stderr, "smbconform: %s\n", err);
        return CF_EXIT_USAGE;
    }
    if (o.help) {
        cf_opts_help(stdout);
        return CF_EXIT_OK;
    }
    if (o.version) {
        printf("smbconform %s (smbwire %s)\n", SMBW_VERSION, smbw_version());
        return CF_EXIT_OK;
    }
    const cf_case **run = NULL;
    size_t nrun = 0;
    int code = select_cases(&o, &run, &nrun);
    if (code != CF_EXIT_OK || o.list) {
        cf_opts_burn_secrets(argc, argv);
        for (size_t i = 0; code == CF_EXIT_OK && i < nrun; i++)
            printf("%s\t%s\t%s\n", run[i]->name, run[i]->spec, run[i]->what);
        free(run);
        return code;
    }

    smbw_url *url = NULL;
    char *url_shown = strdup(o.url);
    if (url_shown != NULL)
        tool_burn_url_password(url_shown);
    if (smbw_url_parse(&url, o.url) != 0 || url_shown == NULL) {
        cf_opts_burn_secrets(argc, argv);
        fprintf(stderr, "smbconform: '%s' is not a URL smb://[DOMAIN;][USER@]HOST[:PORT]/SHARE\n",
                url_shown != NULL ? url_shown : "?");
        free(url_shown);
        free(run);
        return CF_EXIT_USAGE;
    }
    tool_creds cli = {0}, file = {0}, cr = {0};
    code = resolve_creds(&o, url, argc, argv, &cli, &file, &cr);
    if (code == CF_EXIT_OK) {
        cf_target tg = {
            .host = url->host,
            .port = url->port,
            .share = url->share,
            .base = url->path,
            .min_proto = o.min_proto,
            .max_proto = o.max_proto,
            .wait_ms = o.timeout_ms,
            .other_share = o.other_share,
            .log_level = o.verbose >= 3   ? SMBW_LOG_TRACE
                         : o.verbose == 2 ? SMBW_LOG_INFO
                                          : SMBW_LOG_NONE,
            .creds = SMBW_CREDS_INIT,
        };
        tg.creds.kind = o.kerberos ? SMBW_AUTH_KERBEROS : SMBW_AUTH_NTLM;
        tg.creds.user = cr.user;
        tg.creds.domain = cr.domain;
        tg.creds.password = cr.password != NULL ? cr.password : "";
        code = run_cases(&o, &tg, url_shown, run, nrun);
    }
    tool_creds_clear(&cli);
    tool_creds_clear(&file);
    tool_creds_clear(&cr);
    smbw_url_free(url);
    free(url_shown);
    free(run);
    return code;
}

/* Code that ran before main (the loader, libc, a sanitizer runtime) may have
 * left copies of the arguments, passwords included, on the stack where the
 * real main's frame will lie; a frame's unused slots are never overwritten,
 * so they are zeroed before that frame exists. */
int main(int argc, char **argv)
{
    tool_scrub_stack();
    return smbconform_main(argc, argv);
}
