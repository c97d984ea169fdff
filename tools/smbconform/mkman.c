/* Generates docs/smbconform.1 (roff) and docs/smbconform.1.md from
 * smbconform's option table (opts.c), its catalogue of cases (cases/) and the
 * prose below, so that the man page, --help and --list cannot drift apart;
 * and the catalogue table of docs/conformance.md (between its markers).
 *
 *   smbconform-mkman roff | md          print one format
 *   smbconform-mkman --write DOCSDIR    (re)write both files
 *   smbconform-mkman --check DOCSDIR    fail when the files are out of date
 */
#include <stdlib.h>
#include <string.h>

#include "manpage.h"
#include "smbconform.h"

static const tool_man_item description[] = {
    {TOOL_MAN_PARA, NULL,
     "smbconform checks how an SMB2/SMB3 server answers requests whose answers the "
     "specifications fix (MS-SMB2, MS-FSCC), starting with server-side copy "
     "(FSCTL_SRV_REQUEST_RESUME_KEY, FSCTL_SRV_COPYCHUNK and FSCTL_SRV_COPYCHUNK_WRITE). It is "
     "meant for server developers and for anyone who wants to know what a server does before "
     "relying on it."},
    {TOOL_MAN_PARA, NULL,
     "Each case runs in a process of its own, on a fresh connection, session and tree connect "
     "to SHARE, in a scratch directory of its own below smbconform-PID-TIME at the share's root "
     "(or below PATH when the URL names one); the directory is removed afterwards, and so is the "
     "scratch root at the end. A server that drops the connection or stops answering in one "
     "case spoils no other: a case that does not finish within --timeout is ended and reported "
     "as error."},
    {TOOL_MAN_PARA, NULL,
     "Every case has a result: pass; fail, with what the specification expects and what came "
     "back (NTSTATUS names, fields of the answer, the data); skip, with the reason (for example "
     "a limit the server does not have); or error, when the case could not get to what it "
     "checks (the reason says why). A failure is a finding about the server, not a failure of "
     "smbconform."},
};

static const tool_man_item credentials[] = {
    {TOOL_MAN_PARA, NULL,
     "As smbcopy(1): the user name comes from -U, the URL, the -A file or USER; the password "
     "from -U, the URL, the -A file, SMB_PASSWORD, else a prompt without echo when standard "
     "input is a terminal. With -k the Kerberos credential cache is used. Every connection of "
     "the run logs in with the same credentials. Passwords in the command line are overwritten "
     "right after the options are read, and core dumps are disabled while smbconform runs "
     "(unless SMBWIRE_ALLOW_CORE_DUMPS=1)."},
};

static const tool_man_item examples[] = {
    {TOOL_MAN_CODE, NULL, "smbconform -A ~/.smbcred smb://fileserver/scratch"},
    {TOOL_MAN_CODE, NULL,
     "SMB_PASSWORD=secret smbconform --only='copychunk_*' --json smb://alice@127.0.0.1:4455/share"},
    {TOOL_MAN_CODE, NULL,
     "smbconform --strict --junit=conform.xml --timeout=30 -U 'WORK\\alice' smb://nas/test"},
    {TOOL_MAN_CODE, NULL, "smbconform --list"},
};

/* The cases, for the CASES section's body. */
typedef struct catalogue {
    const cf_case **cs;
    size_t n;
} catalogue;

/* The catalogue as a Markdown table (the man page's and docs/conformance.md's). */
static void md_catalogue(tool_buf *b, const catalogue *c)
{
    tool_buf_puts(b, "| name | section | what it checks |\n|---|---|---|\n");
    for (size_t i = 0; i < c->n; i++) {
        tool_buf_printf(b, "| `%s` | %s | ", c->cs[i]->name, c->cs[i]->spec);
        tool_man_md_cell(b, c->cs[i]->what);
        tool_buf_puts(b, " |\n");
    }
}

static void cases_body(tool_buf *b, bool md, const void *arg)
{
    const catalogue *c = arg;
    if (md) {
        tool_buf_printf(b, "%zu cases, in the order they run:\n\n", c->n);
        md_catalogue(b, c);
        tool_buf_puts(b, "\n");
        return;
    }
    tool_buf_printf(b,
                    ".PP\n%zu cases, in the order they run (name, the section checked, what it "
                    "checks):\n",
                    c->n);
    for (size_t i = 0; i < c->n; i++) {
        tool_buf_puts(b, ".TP\n.B ");
        tool_man_roff_text(b, c->cs[i]->name);
        tool_buf_puts(b, "\n");
        tool_man_roff_text(b, c->cs[i]->spec);
        tool_buf_puts(b, ": ");
        tool_man_roff_text(b, c->cs[i]->what);
        tool_buf_putc(b, '\n');
    }
}

/* As a paragraph, but the Markdown file ends without a blank line. */
static void see_also_body(tool_buf *b, bool md, const void *arg)
{
    (void)arg;
    tool_buf_puts(b, md ? "smbcopy(1), smbtorture(1)\n" : ".PP\nsmbcopy(1), smbtorture(1)\n");
}

#define SEC(t, a)                                                                                  \
    {                                                                                              \
        t, a, sizeof(a) / sizeof(a[0]), false, false, NULL                                         \
    }
static const tool_man_section sections[] = {
    SEC("DESCRIPTION", description),
    {"OPTIONS", NULL, 0, true, false, NULL},
    SEC("CREDENTIALS", credentials),
    {"CASES", NULL, 0, false, false, cases_body},
    {"EXIT STATUS", NULL, 0, false, true, NULL},
    SEC("EXAMPLES", examples),
    {"SEE ALSO", NULL, 0, false, false, see_also_body},
};

#define CAT_BEGIN "<!-- smbconform catalogue: generated by tools/smbconform/mkman.c -->\n"
#define CAT_END "<!-- end of the smbconform catalogue -->\n"

static catalogue cat;

/* docs/conformance.md holds the catalogue between two markers. */
static int sync_conformance(const char *dir, bool write)
{
    tool_buf t = {0};
    tool_buf_puts(&t, CAT_BEGIN);
    md_catalogue(&t, &cat);
    tool_buf_puts(&t, CAT_END);
    if (t.failed)
        return 2;
    int rc = 0;
    char path[4096];
    snprintf(path, sizeof(path), "%s/conformance.md", dir);
    char *doc = tool_man_slurp(path);
    char *a = doc != NULL ? strstr(doc, CAT_BEGIN) : NULL;
    char *z = a != NULL ? strstr(a, CAT_END) : NULL;
    if (z == NULL) {
        fprintf(stderr, "mkman: %s has no catalogue markers\n", path);
        rc = 1;
    } else {
        z += strlen(CAT_END);
        bool same = (size_t)(z - a) == t.len && memcmp(a, t.p, t.len) == 0;
        if (!same && !write) {
            fprintf(stderr,
                    "mkman: the catalogue in %s is out of date; run `ninja "
                    "smbconform-man`\n",
                    path);
            rc = 1;
        } else if (!same) {
            FILE *f = fopen(path, "wb");
            if (f == NULL || fwrite(doc, 1, (size_t)(a - doc), f) != (size_t)(a - doc) ||
                fputs(t.p, f) < 0 || fputs(z, f) < 0 || fclose(f) != 0) {
                fprintf(stderr, "mkman: cannot write %s\n", path);
                rc = 1;
            }
        }
    }
    free(doc);
    tool_buf_free(&t);
    return rc;
}

int main(int argc, char **argv)
{
    cat.n = cf_all_cases(NULL, 0);
    cat.cs = calloc(cat.n + 1, sizeof(*cat.cs));
    if (cat.cs == NULL)
        return 2;
    cf_all_cases(cat.cs, cat.n);
    const tool_manpage page = {
        .name = "smbconform",
        .summary = "check an SMB server's conformance",
        .synopsis_roff =
            "\\fBsmbconform\\fR [\\fIOPTIONS\\fR] "
            "\\fBsmb://\\fR[\\fIDOMAIN\\fR;][\\fIUSER\\fR@]\\fIHOST\\fR[:\\fIPORT\\fR]/"
            "\\fISHARE\\fR[/\\fIPATH\\fR]",
        .synopsis_md = "smbconform [OPTIONS] smb://[DOMAIN;][USER@]HOST[:PORT]/SHARE[/PATH]",
        .generator = "tools/smbconform/mkman.c",
        .opts = cf_optdefs,
        .nopts = cf_noptdefs,
        .exits = cf_exitdocs,
        .nexits = cf_nexitdocs,
        .sections = sections,
        .nsections = sizeof(sections) / sizeof(sections[0]),
        .arg = &cat,
    };
    int rc = tool_man_main(argc, argv, &page, sync_conformance);
    free(cat.cs);
    return rc;
}
