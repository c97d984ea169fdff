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

    size_t ncases = cf_all_cases(NULL, 0);
    const cf_case **all = calloc(ncases + 1, sizeof(*all));
    const cf_case **run = calloc(ncases + 1, sizeof(*run));
    if (all == NULL || run == NULL) {
        free(all);
        free(run);
        return CF_EXIT_LOCAL;
    }
    cf_all_cases(all, ncases);
    size_t nrun = 0;
    for (size_t i = 0; i < ncases; i++)
        if (selected(&o, all[i]))
            run[nrun++] = all[i];
    for (int k = 0; k < o.nonly; k++) {
        bool any = false;
        for (size_t i = 0; i < ncases && !any; i++)
            any = fnmatch(o.only[k], all[i]->name, 0) == 0;
        if (!any) {
            fprintf(stderr, "smbconform: --only='%s' matches no case (see --list)\n", o.only[k]);
            cf_opts_burn_secrets(argc, argv);
            free(all);
            free(run);
            return CF_EXIT_USAGE;
        }
    }
    if (o.list) {
        cf_opts_burn_secrets(argc, argv);
        for (size_t i = 0; i < nrun; i++)
            printf("%s\t%s\t%s\n", run[i]->name, run[i]->spec, run[i]->what);
        free(all);
        free(run);
        return CF_EXIT_OK;
    }

    /* Credentials, as smbcopy takes them. */
    smbw_url *url = NULL;
    char *url_shown = strdup(o.url);
    if (url_shown != NULL)
        tool_burn_url_password(url_shown);
    if (smbw_url_parse(&url, o.url) != 0 || url_shown == NULL) {
        cf_opts_burn_secrets(argc, argv);
        fprintf(stderr, "smbconform: '%s' is not a URL smb://[DOMAIN;][USER@]HOST[:PORT]/SHARE\n",
                url_shown != NULL ? url_shown : "?");
        free(url_shown);
        free(all);
        free(run);
        return CF_EXIT_USAGE;
    }
    tool_creds cli = {0}, file = {0}, cr = {0};
    int code = CF_EXIT_OK;
    if (o.user_arg != NULL && tool_parse_user_arg(o.user_arg, &cli) != 0) {
        fprintf(stderr, "smbconform: -U: empty user name\n");
        code = CF_EXIT_USAGE;
    }
    if (code == 0 && o.authfile != NULL) {
        unsigned mode = 0;
        if (tool_parse_auth_file(o.authfile, &file, &mode, err, sizeof(err)) != 0) {
            fprintf(stderr, "smbconform: %s: %s\n", o.authfile, err);
            code = CF_EXIT_USAGE;
        } else if (mode & 077) {
            fprintf(stderr,
                    "smbconform: warning: %s may be read by group or others (chmod 600 it)\n",
                    o.authfile);
        }
    }
    cf_opts_burn_secrets(argc, argv);
    if (code == 0 &&
        tool_resolve_creds(&cli, url, &file, getenv("SMB_PASSWORD"), getenv("USER"), &cr) != 0)
        code = CF_EXIT_LOCAL;
    if (code == 0 && !o.kerberos && cr.user == NULL) {
        fprintf(stderr, "smbconform: no user name (-U, the URL, -A or $USER)\n");
        code = CF_EXIT_USAGE;
    }
    if (code == 0 && !o.kerberos && cr.password == NULL) {
        char prompt[300];
        snprintf(prompt, sizeof(prompt), "Password for %s@%s: ", cr.user, url->host);
        if (tool_prompt_password(prompt, &cr.password, NULL) < 0) {
            fprintf(stderr, "smbconform: cannot read the password\n");
            code = CF_EXIT_USAGE;
        }
    }
    if (code != 0)
        goto out;

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

    cf_server_info info;
    char rootbuf[200], root[400];
    if (cf_runner_start(&tg, &info, rootbuf, sizeof(rootbuf), err, sizeof(err)) != 0) {
        fprintf(stderr, "smbconform: %s\n", err);
        code = CF_EXIT_SERVER;
        goto out;
    }
    snprintf(root, sizeof(root), "%s", rootbuf);
    FILE *lines = o.json ? stderr : stdout;
    fprintf(lines, "smbconform: %s: %s, %zu case%s\n", url_shown, smbw_dialect_name(info.dialect),
            nrun, nrun == 1 ? "" : "s");
    cf_outcome_rec *recs = calloc(nrun + 1, sizeof(*recs));
    if (recs == NULL) {
        code = CF_EXIT_LOCAL;
        cf_runner_finish(&tg, root);
        goto out;
    }
    double t0 = now();
    for (size_t i = 0; i < nrun; i++) {
        cf_run_case(&tg, root, run[i], o.timeout_ms, &recs[i]);
        print_line(lines, &recs[i], o.verbose);
    }
    double secs = now() - t0;
    cf_runner_finish(&tg, root);
    size_t nbad = 0, c[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < nrun; i++) {
        c[recs[i].result]++;
        if (recs[i].result == CF_FAIL || recs[i].result == CF_ERROR)
            nbad++;
    }
    fprintf(lines, "smbconform: %zu passed, %zu failed, %zu skipped, %zu errors (%.1f s)\n",
            c[CF_PASS], c[CF_FAIL], c[CF_SKIP], c[CF_ERROR], secs);
    cf_run rep = {&info, url_shown, recs, nrun, secs};
    if (o.junit != NULL && cf_report_junit(&rep, o.junit, err, sizeof(err)) != 0) {
        fprintf(stderr, "smbconform: %s\n", err);
        code = CF_EXIT_LOCAL;
    }
    if (o.json) {
        char *js = cf_report_json(&rep);
        if (js == NULL) {
            code = CF_EXIT_LOCAL;
        } else {
            fputs(js, stdout);
            fflush(stdout);
            free(js);
        }
    }
    if (code == 0 && o.strict && nbad > 0)
        code = CF_EXIT_STRICT;
    free(recs);
out:
    tool_creds_clear(&cli);
    tool_creds_clear(&file);
    tool_creds_clear(&cr);
    smbw_url_free(url);
    free(url_shown);
    free(all);
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
