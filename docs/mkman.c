/* Generates docs/smbcopy.1 (roff) and docs/smbcopy.1.md from smbcopy's option
 * table (tools/smbcopy/opts.c) and the prose below, so the man page and
 * --help cannot drift apart.
 *
 *   smbcopy-mkman roff | md          print one format
 *   smbcopy-mkman --write DOCSDIR    (re)write both files
 *   smbcopy-mkman --check DOCSDIR    fail when the files are out of date
 */
#include <stdlib.h>
#include <string.h>

#include "../tools/smbcopy/smbcopy.h"

volatile sig_atomic_t sc_interrupted = 0;

enum kind { PARA, TAG, CODE };
typedef struct item {
    enum kind kind;
    const char *tag; /* TAG: the term */
    const char *text;
} item;
typedef struct section {
    const char *title;
    const item *items;
    size_t n;
    bool options; /* insert the option table */
    bool exits;   /* insert the exit code table */
} section;

static const item description[] = {
    {PARA, NULL,
     "smbcopy copies a file or, with -r, a directory tree from SRC to DST. Either may be a local "
     "path or an smb:// URL, so it copies from a share, to a share, between two shares (on one "
     "server or on two) and between local paths."},
    {PARA, NULL,
     "When both ends are on one server, smbcopy can ask the server to copy the data itself "
     "(server-side copy: block clone or FSCTL_SRV_COPYCHUNK) so it never crosses the network. "
     "Otherwise it streams the data, keeping many read and write requests in flight."},
    {PARA, NULL,
     "When DST is an existing directory (or ends with '/', or is a share root), the copy is "
     "made inside it under the base name of SRC. Otherwise DST is the name of the copy; an "
     "existing file of that name is replaced, unless it is SRC itself: then smbcopy says "
     "'SRC and DST are the same file' and exits with 1, as cp does. The same file is "
     "recognised by device and inode locally (other spellings, hard links) and, on one server "
     "(also reached by two names, such as localhost and 127.0.0.1: equal ServerGuid), by the "
     "file id the server gives (FileInternalInformation), so a name in another case on a "
     "case-insensitive share is caught too."},
};

static const item urls[] = {
    {CODE, NULL, "smb://[DOMAIN;][USER[:PASSWORD]@]HOST[:PORT]/SHARE[/PATH]"},
    {PARA, NULL,
     "HOST is a name, an IPv4 address or an IPv6 address in brackets (smb://[::1]:4455/share). "
     "PORT defaults to 445. SHARE is required; PATH may be empty (the share root). Components "
     "are percent-decoded (%20 is a space, %40 is '@'); a malformed escape, %00 and '..' path "
     "components are refused. '/' and '\\' both separate path components. A password in a URL "
     "is accepted but discouraged: like one given with -U, it is overwritten in smbcopy's "
     "command line right after the options are read (the URL then reads "
     "smb://[DOMAIN;]USER@HOST...), but other users can see it until then."},
};

static const item credentials[] = {
    {PARA, NULL,
     "Each server is logged in to once; SRC and DST on the same server, port and user share "
     "one connection and session. The user name comes from, in this order: -U, the URL, the "
     "file given with -A, the USER environment variable. The password: -U (after '%'), the "
     "URL, the -A file, the SMB_PASSWORD environment variable, and finally a prompt without "
     "echo when standard input is a terminal (otherwise an empty password is tried). The "
     "domain: -U, the URL, the -A file. With -k, Kerberos tickets from the credential cache "
     "are used instead and no password is read."},
    {PARA, NULL,
     "The command line of every process is readable by every local user (ps, "
     "/proc/PID/cmdline). A password given with -U or in a URL is overwritten in smbcopy's "
     "command line right after the options are read, leaving the user name, but it is visible "
     "for the instant before that. The safe forms are the -A file (readable by its owner "
     "only: smbcopy warns otherwise), SMB_PASSWORD and the prompt."},
    {PARA, NULL,
     "smbcopy holds the password in memory until both ends are logged in (with --connections "
     "above 1, for the whole run) and overwrites every copy then; it disables core dumps and "
     "keeps other processes of the same user from reading its memory (prctl "
     "PR_SET_DUMPABLE 0, a core size limit of 0), unless SMBWIRE_ALLOW_CORE_DUMPS=1 is set. "
     "Copies of the password are overwritten before they are freed."},
};

static const item safety[] = {
    {PARA, NULL,
     "smbcopy never writes to the final name directly. It writes .NAME.smbcopy.part in the "
     "destination directory, copies the times and attributes to it and, with --sync, makes it "
     "durable (fsync locally, FLUSH on a share); only then does it rename it over NAME. When "
     "the copy fails or is "
     "interrupted (SIGINT, SIGTERM), the temporary file is removed, so no destination that "
     "looks complete is left behind. With --resume it is kept instead, and the next run with "
     "--resume continues it. Next to it, .NAME.smbcopy.state records which source the partial "
     "file belongs to and how much of it is known to be complete (see --resume); it is "
     "removed with the temporary file, or after the rename. When NAME is so long that these "
     "names would not fit the destination's limit (255 bytes on a share, the file system's "
     "limit locally), a shortened .PREFIX~HASH.smbcopy.part and .PREFIX~HASH.smbcopy.state "
     "are used instead (PREFIX: the start of NAME, HASH: 16 hex digits computed from NAME), so "
     "every name the destination can hold can be copied and resumed."},
    {PARA, NULL,
     "What a finished run guarantees depends on --sync. By default (as cp, rsync and "
     "smbclient) smbcopy does not wait for the destination to write the file to stable "
     "storage: after it exits, the final name holds the complete copy for every reader, but a "
     "crash or power loss of the destination machine in the next seconds may leave that name "
     "with missing data. With --sync the file is on stable storage before it gets its final "
     "name (and, locally, the rename is synced too), so the final name never shows an "
     "incomplete copy, whatever happens afterwards. Either way, an interrupted or failed run "
     "never leaves a final name that looks complete."},
    {PARA, NULL,
     "SIGINT or SIGTERM ends the run within about a second even when a server has stopped "
     "answering (requests in flight get 0.3 s to complete; then the connection is given up), "
     "with exit status 130. smbcopy then says what became of the partial copy: removed, kept "
     "for --resume, or, when the server can no longer be reached, that it could not be "
     "removed (the line names it). A second signal ends smbcopy at once. Files that got their "
     "final name before the signal count as copied (--json files, bytes); a signal that comes "
     "once everything is copied changes nothing (exit 0, with a note)."},
    {PARA, NULL,
     "A source that changes while it is copied (its size or modification time differ after "
     "the copy from before it, or it became shorter during it) is reported as 'source changed "
     "during copy' with exit 2, and the copy never gets the final name (the partial file is "
     "removed, or kept with --resume, whose record then no longer matches: the next --resume "
     "run starts over). Run again to copy the file as it is then."},
    {PARA, NULL,
     "Only a regular file is ever replaced. A local DST that is a symbolic link to a regular "
     "file is written through, as cp(1) does: the file it points to gets the copy (by the same "
     "temporary name and rename, in that file's directory) and the link stays. A dangling "
     "link is refused. A FIFO or a character device (also through a link) is written into "
     "directly, in order, as a stream, and stays what it is: there is no temporary name, no "
     "--resume and no metadata then; /dev/stdout (standard output, also a pipe) is written the "
     "same way. A socket or block device is refused (exit 2). The same holds for each file of "
     "a tree copied with -r into an existing directory. A SRC that is not a regular file (a "
     "FIFO, a device such as /dev/zero) is refused with 'not a regular file' (exit 2). '-' is "
     "not taken for standard input or output, nor silently for a file of that name: it is "
     "refused (exit 1); write ./- for such a file."},
    {PARA, NULL,
     "A local name is never written to a share under another name. A local file whose name "
     "holds a character an SMB share cannot store in a name ('\\', which the server would take "
     "for a separator, ':', '*', '?', '\"', '<', '>', '|' or a control character) is not "
     "copied: copied alone (into a directory DST) it is an error with exit 1 (give DST in full "
     "to choose another name); in a tree it is reported on a line of its own, counted as "
     "failed, and the rest is copied (exit 7). In a URL, '\\' stays a separator."},
    {PARA, NULL,
     "Every failure is reported as one line 'smbcopy: WHAT: REASON (STATUS)' on standard "
     "error, naming the operation, the path or URL, the reason and, when the server gave one, "
     "its NTSTATUS name. Messages name the user's paths, not smbcopy's temporary files, and "
     "the cause in words where it is known: 'no such directory', 'no such share', 'the server "
     "refused the name as invalid', 'no password given and no terminal to ask on'. Shares are "
     "named only by smb:// URLs: a cifs://... or //HOST/SHARE/... argument that is not an "
     "existing local path is refused with a hint (exit 1)."},
};

static const item environment[] = {
    {TAG, "SMB_PASSWORD",
     "Password, when none was given with -U, in the URL or in the -A file. smbcopy overwrites "
     "the value in its own environment once it is logged in."},
    {TAG, "USER", "User name, when none was given otherwise."},
    {TAG, "KRB5CCNAME", "Kerberos credential cache used with -k."},
    {TAG, "KRB5_CONFIG", "Kerberos configuration (realms, KDCs) used with -k."},
    {TAG, "SMBWIRE_ALLOW_CORE_DUMPS",
     "Set to 1 to leave core dumps and debugger access enabled (for debugging; a core dump may "
     "then contain the password)."},
};

static const item examples[] = {
    {PARA, NULL, "Upload a file, reading the password from a protected file:"},
    {CODE, NULL, "smbcopy -A ~/.smbcred big.iso smb://fileserver/public/isos/"},
    {PARA, NULL, "Download from a server on another port, with a JSON summary:"},
    {CODE, NULL, "SMB_PASSWORD=secret smbcopy --json smb://alice@127.0.0.1:4455/data/report.pdf ."},
    {PARA, NULL, "Copy between two shares of one server (server-side when possible):"},
    {CODE, NULL, "smbcopy -U 'WORK\\alice' smb://nas/projects/a.vmdk smb://nas/backup/a.vmdk"},
    {PARA, NULL, "Copy a directory tree from an IPv6 host, continuing an interrupted run:"},
    {CODE, NULL, "smbcopy -r --resume smb://[fd00::5]/media/photos /srv/photos"},
    {PARA, NULL,
     "Kerberos to a server reached by address, requiring AES-256-GCM encryption, and showing "
     "what protected the copy:"},
    {CODE, NULL,
     "smbcopy -k --service-host=files.example.com --encrypt --cipher=AES-256-GCM --json "
     "report.pdf smb://192.0.2.7/data/"},
};

static const item seealso[] = {
    {PARA, NULL, "smbclient(1), kinit(1), mount.cifs(8)"},
};

#define SEC(t, a)                                                                                  \
    {                                                                                              \
        t, a, sizeof(a) / sizeof(a[0]), false, false                                               \
    }
static const section sections[] = {
    SEC("DESCRIPTION", description),   SEC("URLS", urls),
    {"OPTIONS", NULL, 0, true, false}, SEC("CREDENTIALS", credentials),
    SEC("SAFETY AND ERRORS", safety),  {"EXIT STATUS", NULL, 0, false, true},
    SEC("ENVIRONMENT", environment),   SEC("EXAMPLES", examples),
    SEC("SEE ALSO", seealso),
};

/* ---- roff ------------------------------------------------------------ */

static void roff_text(tool_buf *b, const char *s)
{
    bool bol = true;
    for (; *s != '\0'; s++) {
        if (bol && (*s == '.' || *s == '\''))
            tool_buf_puts(b, "\\&");
        bol = false;
        if (*s == '\\')
            tool_buf_puts(b, "\\e");
        else if (*s == '-')
            tool_buf_puts(b, "\\-");
        else
            tool_buf_putc(b, *s);
        if (*s == '\n')
            bol = true;
    }
}

static void roff_opt_tag(tool_buf *b, const sc_optdef *d)
{
    if (d->shortopt != 0) {
        tool_buf_printf(b, "\\fB\\-%c\\fR, ", d->shortopt);
    }
    tool_buf_puts(b, "\\fB\\-\\-");
    roff_text(b, d->longopt);
    tool_buf_puts(b, "\\fR");
    if (d->argname != NULL) {
        tool_buf_puts(b, "=\\fI");
        roff_text(b, d->argname);
        tool_buf_puts(b, "\\fR");
    }
    tool_buf_putc(b, '\n');
}

static void gen_roff(tool_buf *b)
{
    tool_buf_puts(b, ".\\\" Generated by docs/mkman.c from tools/smbcopy/opts.c; do not edit.\n");
    tool_buf_printf(b, ".TH SMBCOPY 1 \"\" \"smbwire %s\" \"User Commands\"\n", SMBW_VERSION);
    tool_buf_puts(b, ".SH NAME\nsmbcopy \\- copy files to, from and between SMB shares\n");
    tool_buf_puts(b, ".SH SYNOPSIS\n\\fBsmbcopy\\fR [\\fIOPTIONS\\fR] \\fISRC\\fR \\fIDST\\fR\n");
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        const section *s = &sections[i];
        tool_buf_printf(b, ".SH %s\n", s->title);
        if (s->options) {
            for (size_t k = 0; k < sc_noptdefs; k++) {
                tool_buf_puts(b, ".TP\n");
                roff_opt_tag(b, &sc_optdefs[k]);
                roff_text(b, sc_optdefs[k].doc);
                tool_buf_putc(b, '\n');
            }
        }
        if (s->exits) {
            for (size_t k = 0; k < sc_nexitdocs; k++) {
                tool_buf_printf(b, ".TP\n.B %d\n", sc_exitdocs[k].code);
                roff_text(b, sc_exitdocs[k].text);
                tool_buf_putc(b, '\n');
            }
        }
        for (size_t k = 0; k < s->n; k++) {
            const item *it = &s->items[k];
            if (it->kind == PARA) {
                tool_buf_puts(b, ".PP\n");
                roff_text(b, it->text);
                tool_buf_putc(b, '\n');
            } else if (it->kind == TAG) {
                tool_buf_puts(b, ".TP\n.B ");
                roff_text(b, it->tag);
                tool_buf_putc(b, '\n');
                roff_text(b, it->text);
                tool_buf_putc(b, '\n');
            } else {
                tool_buf_puts(b, ".PP\n.RS 4\n.nf\n");
                roff_text(b, it->text);
                tool_buf_puts(b, "\n.fi\n.RE\n");
            }
        }
    }
}

/* ---- markdown -------------------------------------------------------- */

static void md_text(tool_buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        if (strchr("\\*_`<>[]", *s) != NULL)
            tool_buf_putc(b, '\\');
        tool_buf_putc(b, *s);
    }
}

static void gen_md(tool_buf *b)
{
    tool_buf_puts(b,
                  "<!-- Generated by docs/mkman.c from tools/smbcopy/opts.c; do not edit. -->\n");
    tool_buf_printf(b, "# smbcopy(1) — smbwire %s\n\n", SMBW_VERSION);
    tool_buf_puts(b, "## NAME\n\nsmbcopy - copy files to, from and between SMB shares\n\n");
    tool_buf_puts(b, "## SYNOPSIS\n\n`smbcopy [OPTIONS] SRC DST`\n\n");
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        const section *s = &sections[i];
        tool_buf_printf(b, "## %s\n\n", s->title);
        if (s->options) {
            for (size_t k = 0; k < sc_noptdefs; k++) {
                const sc_optdef *d = &sc_optdefs[k];
                tool_buf_puts(b, "- `");
                if (d->shortopt != 0)
                    tool_buf_printf(b, "-%c`, `", d->shortopt);
                tool_buf_printf(b, "--%s%s%s`  \n  ", d->longopt, d->argname ? "=" : "",
                                d->argname ? d->argname : "");
                md_text(b, d->doc);
                tool_buf_puts(b, "\n");
            }
            tool_buf_puts(b, "\n");
        }
        if (s->exits) {
            tool_buf_puts(b, "| code | meaning |\n|---|---|\n");
            for (size_t k = 0; k < sc_nexitdocs; k++) {
                tool_buf_printf(b, "| %d | ", sc_exitdocs[k].code);
                md_text(b, sc_exitdocs[k].text);
                tool_buf_puts(b, " |\n");
            }
            tool_buf_puts(b, "\n");
        }
        for (size_t k = 0; k < s->n; k++) {
            const item *it = &s->items[k];
            if (it->kind == PARA) {
                md_text(b, it->text);
                tool_buf_puts(b, "\n\n");
            } else if (it->kind == TAG) {
                tool_buf_printf(b, "- `%s`  \n  ", it->tag);
                md_text(b, it->text);
                tool_buf_puts(b, "\n");
                if (k + 1 == s->n || s->items[k + 1].kind != TAG)
                    tool_buf_puts(b, "\n");
            } else {
                tool_buf_printf(b, "```\n%s\n```\n\n", it->text);
            }
        }
    }
}

/* ---- driver ---------------------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    tool_buf b = {0};
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp) - 1, f)) > 0) {
        tmp[n] = '\0';
        if (memchr(tmp, '\0', n) != NULL)
            break;
        tool_buf_puts(&b, tmp);
    }
    fclose(f);
    if (b.p == NULL)
        tool_buf_puts(&b, "");
    return b.p;
}

int main(int argc, char **argv)
{
    tool_buf roff = {0}, md = {0};
    gen_roff(&roff);
    gen_md(&md);
    if (roff.failed || md.failed)
        return 2;
    int rc = 0;
    if (argc == 2 && strcmp(argv[1], "roff") == 0) {
        fputs(roff.p, stdout);
    } else if (argc == 2 && strcmp(argv[1], "md") == 0) {
        fputs(md.p, stdout);
    } else if (argc == 3 && (strcmp(argv[1], "--write") == 0 || strcmp(argv[1], "--check") == 0)) {
        bool write = strcmp(argv[1], "--write") == 0;
        const char *names[2] = {"smbcopy.1", "smbcopy.1.md"};
        const char *bodies[2] = {roff.p, md.p};
        for (int i = 0; i < 2; i++) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[2], names[i]);
            if (write) {
                FILE *f = fopen(path, "wb");
                if (f == NULL || fputs(bodies[i], f) < 0 || fclose(f) != 0) {
                    fprintf(stderr, "mkman: cannot write %s\n", path);
                    rc = 1;
                }
            } else {
                char *have = slurp(path);
                if (have == NULL || strcmp(have, bodies[i]) != 0) {
                    fprintf(stderr,
                            "mkman: %s is out of date; run `ninja smbcopy-man` (or "
                            "smbcopy-mkman --write docs)\n",
                            path);
                    rc = 1;
                }
                free(have);
            }
        }
    } else {
        fprintf(stderr, "usage: smbcopy-mkman roff|md|--write DOCSDIR|--check DOCSDIR\n");
        rc = 2;
    }
    tool_buf_free(&roff);
    tool_buf_free(&md);
    return rc;
}
