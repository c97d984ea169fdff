/* Generates docs/smbcopy.1 (roff) and docs/smbcopy.1.md from smbcopy's option
 * table (tools/smbcopy/opts.c) and the prose below, so the man page and
 * --help cannot drift apart.
 *
 *   smbcopy-mkman roff | md          print one format
 *   smbcopy-mkman --write DOCSDIR    (re)write both files
 *   smbcopy-mkman --check DOCSDIR    fail when the files are out of date
 */
#include "../tools/smbcopy/smbcopy.h"
#include "manpage.h"

volatile sig_atomic_t sc_interrupted = 0;

static const tool_man_item description[] = {
    {TOOL_MAN_PARA, NULL,
     "smbcopy copies a file or, with -r, a directory tree from SRC to DST. Either may be a local "
     "path or an smb:// URL, so it copies from a share, to a share, between two shares (on one "
     "server or on two) and between local paths."},
    {TOOL_MAN_PARA, NULL,
     "When both ends are on one server, smbcopy can ask the server to copy the data itself "
     "(server-side copy: block clone or FSCTL_SRV_COPYCHUNK) so it never crosses the network. "
     "Otherwise it streams the data, keeping many read and write requests in flight. The holes "
     "of a sparse source are neither read nor sent (SEEK_DATA/SEEK_HOLE locally, "
     "FSCTL_QUERY_ALLOCATED_RANGES on a share): the copy has the same content and size, and "
     "stays sparse where the destination can hold holes (a share is asked with "
     "FSCTL_SET_SPARSE)."},
    {TOOL_MAN_PARA, NULL,
     "When DST is an existing directory (or ends with '/', or is a share root), the copy is "
     "made inside it under the base name of SRC. Otherwise DST is the name of the copy; an "
     "existing file of that name is replaced, unless it is SRC itself: then smbcopy says "
     "'SRC and DST are the same file' and exits with 1, as cp does. An existing directory "
     "there (also in a tree copied with -r, where a file of SRC would replace it) is never "
     "replaced: 'DST is a directory: not replacing it', before any data is sent, exit 2 "
     "locally and 5 on a share (a failed file of a tree: exit 7). The same file is "
     "recognised by device and inode locally (other spellings, hard links) and, on one server "
     "(also reached by two names, such as localhost and 127.0.0.1: equal ServerGuid), by the "
     "file id the server gives (FileInternalInformation), so a name in another case on a "
     "case-insensitive share is caught too. Likewise a directory is never copied into itself "
     "(-r with DST the directory SRC, inside it, or the directory holding it, so that the "
     "copy would be SRC/SRC): smbcopy says 'cannot copy a directory, SRC, into itself, DST' "
     "(or 'SRC and DST are the same directory'), writes nothing and exits with 1, as cp does; "
     "the directories above DST are compared with SRC by the same identity (on a share also "
     "by creation time), so another spelling (case, a symbolic link on the server, '..') "
     "is caught too."},
};

static const tool_man_item urls[] = {
    {TOOL_MAN_CODE, NULL, "smb://[DOMAIN;][USER[:PASSWORD]@]HOST[:PORT]/SHARE[/PATH]"},
    {TOOL_MAN_PARA, NULL,
     "HOST is a name, an IPv4 address or an IPv6 address in brackets (smb://[::1]:4455/share). "
     "PORT defaults to 445. SHARE is required; PATH may be empty (the share root). Components "
     "are percent-decoded (%20 is a space, %40 is '@'); a malformed escape, %00 and '..' path "
     "components are refused. '/' and '\\' both separate path components. A password in a URL "
     "is accepted but discouraged: like one given with -U, it is overwritten in smbcopy's "
     "command line right after the options are read (the URL then reads "
     "smb://[DOMAIN;]USER@HOST...), but other users can see it until then."},
    {TOOL_MAN_PARA, NULL,
     "A share that is a DFS namespace root (smb://corp/dfs/projects/...) is followed to the "
     "share each DFS link leads to, as Windows does: the server's referral names the target "
     "server and share (the first one that can be reached, in the server's order; a link to "
     "another namespace is followed again, at most 8 times: a referral loop fails with exit "
     "status 6). A target server is reached on the port of the URL, with the same user, "
     "password and options (--sign, --encrypt, --cipher, dialects). Two DFS paths that lead "
     "to one server are copied server-side; --json src_resolved and dst_resolved name where "
     "SRC and DST led. Domain-based namespaces (smb://DOMAIN/...) are not supported."},
};

static const tool_man_item credentials[] = {
    {TOOL_MAN_PARA, NULL,
     "Each server is logged in to once; SRC and DST on the same server, port and user share "
     "one connection and session. The user name comes from, in this order: -U, the URL, the "
     "file given with -A, the USER environment variable. The password: -U (after '%'), the "
     "URL, the -A file, the SMB_PASSWORD environment variable, and finally a prompt without "
     "echo when standard input is a terminal (otherwise an empty password is tried). The "
     "domain: -U, the URL, the -A file. With -k, Kerberos tickets from the credential cache "
     "are used instead and no password is read."},
    {TOOL_MAN_PARA, NULL,
     "The command line of every process is readable by every local user (ps, "
     "/proc/PID/cmdline). A password given with -U or in a URL is overwritten in smbcopy's "
     "command line right after the options are read, leaving the user name, but it is visible "
     "for the instant before that. The safe forms are the -A file (readable by its owner "
     "only: smbcopy warns otherwise), SMB_PASSWORD and the prompt."},
    {TOOL_MAN_PARA, NULL,
     "smbcopy holds the password in memory until both ends are logged in (with --connections "
     "above 1, for the whole run) and overwrites every copy then; it disables core dumps and "
     "keeps other processes of the same user from reading its memory (prctl "
     "PR_SET_DUMPABLE 0, a core size limit of 0), unless SMBWIRE_ALLOW_CORE_DUMPS=1 is set. "
     "Copies of the password are overwritten before they are freed."},
};

static const tool_man_item safety[] = {
    {TOOL_MAN_PARA, NULL,
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
    {TOOL_MAN_PARA, NULL,
     "A share that refuses names starting with a dot (a Samba share whose 'veto files' match "
     "them) answers the first temporary name with STATUS_OBJECT_NAME_NOT_FOUND though its "
     "directory is there: smbcopy says once 'the share refuses names that start with a dot' "
     "and names the temporary files and records of the rest of the run NAME.smbcopy.part and "
     "NAME.smbcopy.state, without the dot (--resume finds the record under either name; a "
     "tree copied from such a share after an interrupted run takes these as ordinary files, "
     "as it would a file of the user's with such a name). A file whose own name "
     "the share refuses is reported as 'the share refuses the name', not as a missing "
     "directory."},
    {TOOL_MAN_PARA, NULL,
     "Two runs copying to the same destination at once never take each other's temporary "
     "file: a run holds its .NAME.smbcopy.part while it writes it (locally with an exclusive "
     "flock(2), on a share with an open that does not let others delete it), and another run "
     "that finds it, with or without --resume, stops with 'copy to NAME: its temporary file "
     ".NAME.smbcopy.part is in use (another smbcopy copying to the same file?); left alone, "
     "not copied' (exit 2 locally, 5 on a share) and touches nothing; the first run finishes "
     "as usual. A temporary file that nobody holds any more (its run was killed) is removed "
     "as stale, or continued with --resume. Before it renames the file locally, smbcopy "
     "checks that the name still leads to the file it wrote, and leaves alone one that "
     "another program put in its place."},
    {TOOL_MAN_PARA, NULL,
     "With -r, a small file of a local tree (one request of data) whose name is known to be "
     "free on the share is written under NAME directly, marked for deletion in the same "
     "compound as its CREATE and WRITE (FileDispositionInformation); only when the whole file "
     "is acknowledged is the mark cleared, with the times and attributes, before the close. "
     "If the run is interrupted, the connection drops or the server refuses a step before "
     "that, the server removes the file at its close, so here too no destination that looks "
     "complete is left behind (a reader may see the name while it is being written, marked "
     "for deletion). With --sync such files take the temporary name and rename."},
    {TOOL_MAN_PARA, NULL,
     "What a finished run guarantees depends on --sync. By default (as cp, rsync and "
     "smbclient) smbcopy does not wait for the destination to write the file to stable "
     "storage: after it exits, the final name holds the complete copy for every reader, but a "
     "crash or power loss of the destination machine in the next seconds may leave that name "
     "with missing data. With --sync the file is on stable storage before it gets its final "
     "name (and, locally, the rename is synced too), so the final name never shows an "
     "incomplete copy, whatever happens afterwards. Either way, an interrupted or failed run "
     "never leaves a final name that looks complete."},
    {TOOL_MAN_PARA, NULL,
     "SIGINT or SIGTERM ends the run within about a second even when a server has stopped "
     "answering (requests in flight get 0.3 s to complete; then the connection is given up), "
     "with exit status 130. smbcopy then says what became of the partial copy: removed, kept "
     "for --resume, or, when the server can no longer be reached, that it could not be "
     "removed (the line names it). A second signal ends smbcopy at once. Files that got their "
     "final name before the signal count as copied (--json files, bytes); a signal that comes "
     "once everything is copied changes nothing (exit 0, with a note)."},
    {TOOL_MAN_PARA, NULL,
     "A source that changes while it is copied (its size or modification time differ after "
     "the copy from before it, or it became shorter during it) is reported as 'source changed "
     "during copy' with exit 2, and the copy never gets the final name (the partial file is "
     "removed, or kept with --resume, whose record then no longer matches: the next --resume "
     "run starts over). Run again to copy the file as it is then."},
    {TOOL_MAN_PARA, NULL,
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
    {TOOL_MAN_PARA, NULL,
     "A local name is never written to a share under another name. A local file whose name "
     "holds a character an SMB share cannot store in a name ('\\', which the server would take "
     "for a separator, ':', '*', '?', '\"', '<', '>', '|' or a control character), whose name "
     "is not valid UTF-8 (names travel as UTF-16), ends with a dot or a space (a Windows "
     "server drops them, so the data would land under another name), or is a device name "
     "Windows reserves (CON, PRN, AUX, NUL, COM0-COM9, LPT0-LPT9 and COM or LPT with a "
     "superscript 1, 2 or 3; in any case, also with an extension such as nul.txt; a directory "
     "likewise) is not copied, to any share (Samba could hold some of these names, a Windows "
     "server cannot; the rule does not depend on the server): copied alone (into a directory DST) "
     "it is an error with exit 1 (give DST in full "
     "to choose another name); in a tree it is reported on a line of its own, counted as "
     "failed, and the rest is copied (exit 7). In a URL, '\\' stays a separator."},
    {TOOL_MAN_PARA, NULL,
     "Every failure is reported as one line 'smbcopy: WHAT: REASON (STATUS)' on standard "
     "error, naming the operation, the path or URL, the reason and, when the server gave one, "
     "its NTSTATUS name. Messages name the user's paths, not smbcopy's temporary files, and "
     "the cause in words where it is known: 'no such directory', 'no such share', 'the server "
     "refused the name as invalid', 'no password given and no terminal to ask on'. Shares are "
     "named only by smb:// URLs: a cifs://... or //HOST/SHARE/... argument that is not an "
     "existing local path is refused with a hint (exit 1)."},
};

static const tool_man_item environment[] = {
    {TOOL_MAN_TAG, "SMB_PASSWORD",
     "Password, when none was given with -U, in the URL or in the -A file. smbcopy overwrites "
     "the value in its own environment once it is logged in."},
    {TOOL_MAN_TAG, "USER", "User name, when none was given otherwise."},
    {TOOL_MAN_TAG, "KRB5CCNAME", "Kerberos credential cache used with -k."},
    {TOOL_MAN_TAG, "KRB5_CONFIG", "Kerberos configuration (realms, KDCs) used with -k."},
    {TOOL_MAN_TAG, "SMBWIRE_ALLOW_CORE_DUMPS",
     "Set to 1 to leave core dumps and debugger access enabled (for debugging; a core dump may "
     "then contain the password)."},
};

static const tool_man_item examples[] = {
    {TOOL_MAN_PARA, NULL, "Upload a file, reading the password from a protected file:"},
    {TOOL_MAN_CODE, NULL, "smbcopy -A ~/.smbcred big.iso smb://fileserver/public/isos/"},
    {TOOL_MAN_PARA, NULL, "Download from a server on another port, with a JSON summary:"},
    {TOOL_MAN_CODE, NULL,
     "SMB_PASSWORD=secret smbcopy --json smb://alice@127.0.0.1:4455/data/report.pdf ."},
    {TOOL_MAN_PARA, NULL, "Copy between two shares of one server (server-side when possible):"},
    {TOOL_MAN_CODE, NULL,
     "smbcopy -U 'WORK\\alice' smb://nas/projects/a.vmdk smb://nas/backup/a.vmdk"},
    {TOOL_MAN_PARA, NULL,
     "Copy a directory tree from an IPv6 host, continuing an interrupted run:"},
    {TOOL_MAN_CODE, NULL, "smbcopy -r --resume smb://[fd00::5]/media/photos /srv/photos"},
    {TOOL_MAN_PARA, NULL,
     "Kerberos to a server reached by address, requiring AES-256-GCM encryption, and showing "
     "what protected the copy:"},
    {TOOL_MAN_CODE, NULL,
     "smbcopy -k --service-host=files.example.com --encrypt --cipher=AES-256-GCM --json "
     "report.pdf smb://192.0.2.7/data/"},
};

static const tool_man_item seealso[] = {
    {TOOL_MAN_PARA, NULL, "smbclient(1), kinit(1), mount.cifs(8)"},
};

#define SEC(t, a)                                                                                  \
    {                                                                                              \
        t, a, sizeof(a) / sizeof(a[0]), false, false, NULL                                         \
    }
static const tool_man_section sections[] = {
    SEC("DESCRIPTION", description),
    SEC("URLS", urls),
    {"OPTIONS", NULL, 0, true, false, NULL},
    SEC("CREDENTIALS", credentials),
    SEC("SAFETY AND ERRORS", safety),
    {"EXIT STATUS", NULL, 0, false, true, NULL},
    SEC("ENVIRONMENT", environment),
    SEC("EXAMPLES", examples),
    SEC("SEE ALSO", seealso),
};

int main(int argc, char **argv)
{
    const tool_manpage page = {
        .name = "smbcopy",
        .summary = "copy files to, from and between SMB shares",
        .synopsis_roff = "\\fBsmbcopy\\fR [\\fIOPTIONS\\fR] \\fISRC\\fR \\fIDST\\fR",
        .synopsis_md = "smbcopy [OPTIONS] SRC DST",
        .generator = "docs/mkman.c from tools/smbcopy/opts.c",
        .opts = sc_optdefs,
        .nopts = sc_noptdefs,
        .exits = sc_exitdocs,
        .nexits = sc_nexitdocs,
        .sections = sections,
        .nsections = sizeof(sections) / sizeof(sections[0]),
    };
    return tool_man_main(argc, argv, &page, NULL);
}
