/* smbcopy's option table and the parser and --help driven by it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smbcopy.h"

const sc_optdef sc_optdefs[] = {
    {SC_OPT_USER, 'U', "user", "[DOMAIN\\]USER[%PASSWORD]", "user name, domain and password",
     "Log in as USER, optionally in DOMAIN (DOMAIN/USER works too) and with PASSWORD after a "
     "'%'. smbcopy overwrites the password in its command line right after reading its options, "
     "so ps and /proc/PID/cmdline then show only [DOMAIN\\]USER; but every local user can "
     "read it for the instant before that (and the shell may keep it in its history). On a "
     "shared machine use -A, SMB_PASSWORD or the prompt instead."},
    {SC_OPT_AUTHFILE, 'A', "authentication-file", "FILE",
     "read username, password, domain from FILE",
     "Read credentials from FILE in smbclient's format: lines 'username = NAME', 'password = "
     "SECRET' and 'domain = NAME'; blank lines and lines starting with '#' or ';' are ignored. "
     "The file should be readable by its owner only: smbcopy warns when its group or others "
     "may read it (chmod 600 it), and a file it cannot open is an error (exit status 2)."},
    {SC_OPT_KERBEROS, 'k', "kerberos", NULL, "authenticate with Kerberos (credential cache)",
     "Authenticate with Kerberos using the credential cache (KRB5CCNAME, see kinit(1)) instead "
     "of NTLM; no password is needed. The service principal is cifs/HOST, HOST being the URL's "
     "host unless --service-host names another. When no ticket can be had (no credential cache, "
     "an expired ticket, an unknown service), the login fails with a message saying why; it "
     "never falls back to NTLM unless --kerberos-fallback is given."},
    {SC_OPT_KRB_FALLBACK, 0, "kerberos-fallback", NULL,
     "with -k: use NTLM when Kerberos is not possible",
     "With -k: when no Kerberos ticket can be had or the server does not offer Kerberos, log in "
     "with NTLM using the user name and password found as for a login without -k (-U, the URL, "
     "-A, SMB_PASSWORD; there is no prompt). Off by default, so that a missing ticket is never "
     "silently replaced by a weaker password login. Only valid together with -k."},
    {SC_OPT_SERVICE_HOST, 0, "service-host", "NAME", "with -k: Kerberos service host (cifs/NAME)",
     "With -k: ask the KDC for a ticket to cifs/NAME instead of cifs/HOST, HOST being the host of "
     "the URL. Use it when a server is reached by an address or a name other than the one its "
     "service principal is registered under (e.g. smb://192.0.2.7/share with "
     "--service-host=files.example.com). It applies to every server named in SRC or DST; a "
     "server a DFS link leads to is asked for as cifs/TARGET, its own name. Only valid "
     "together with -k."},
    {SC_OPT_GUEST, 0, "guest", NULL, "log in as guest (no user, no password)",
     "Log in as guest, as a share open to everyone (Samba's 'guest ok', a NAS's public share) "
     "allows: no user name and no password are sent or asked for. A guest session has no "
     "key: nothing is signed or encrypted, so nothing protects the data or the requests "
     "against tampering on the way; smbcopy says so once for each server. Without this option "
     "a server that logs a user in as guest is refused. Not together with -U, -A, -k, "
     "--anonymous, --sign, --encrypt or a user in the URL."},
    {SC_OPT_ANONYMOUS, 0, "anonymous", NULL, "log in anonymously (null session)",
     "Log in anonymously (a null session: an empty user name and password), for the shares "
     "a server opens to anonymous users. Like --guest, nothing is signed or encrypted. Not "
     "together with -U, -A, -k, --guest, --sign, --encrypt or a user in the URL."},
    {SC_OPT_MINPROTO, 0, "min-protocol", "DIALECT", "lowest dialect to offer (default SMB2_02)",
     "Lowest SMB dialect to negotiate: SMB2_02, SMB2_10, SMB3_00, SMB3_02 or SMB3_11."},
    {SC_OPT_MAXPROTO, 0, "max-protocol", "DIALECT", "highest dialect to offer (default SMB3_11)",
     "Highest SMB dialect to negotiate (same names as --min-protocol)."},
    {SC_OPT_SIGN, 0, "sign", NULL, "require signed sessions",
     "Fail unless every session is signed."},
    {SC_OPT_ENCRYPT, 0, "encrypt", NULL, "require encrypted sessions (SMB 3)",
     "Fail unless every session is encrypted (needs SMB 3.0 or later). The check happens when "
     "logging in, before any file is opened or created, and the failure says why (for example a "
     "server that only speaks SMB 2.1)."},
    {SC_OPT_CIPHER, 0, "cipher", "LIST", "SMB 3.1.1 cipher preference (comma-separated)",
     "Offer the SMB 3.1.1 encryption ciphers in LIST, most preferred first: a comma-separated "
     "list of AES-128-GCM, AES-128-CCM, AES-256-GCM and AES-256-CCM (case does not matter, no "
     "duplicates). The server picks one of them; a server that supports none of them cannot "
     "encrypt the session (fatal with --encrypt or when the server demands encryption). SMB "
     "3.0 and 3.0.2 always use AES-128-CCM. Ciphers are used only when the session is "
     "encrypted (--encrypt, or the server or share demands it); --json reports the one used."},
    {SC_OPT_TIMEOUT, 0, "timeout", "SECONDS", "time limit for every network wait (default 30)",
     "Give up on any single network wait (connecting, each request) after SECONDS (a positive "
     "number, fractions allowed). The default is 30."},
    {SC_OPT_RETRIES, 0, "retries", "N", "reconnect tries after a dropped connection (default 3)",
     "When a connection to a server drops in the middle of a run (reset, closed), make up to N "
     "tries (0 to 100; default 3) to connect again with the same protection: the same dialect, "
     "signing and encryption, the session logged in again with the same credentials (the "
     "password is then kept in memory for the whole run; with -k the Kerberos ticket cache is "
     "used again), the share and the open files opened again (a source that is no longer the "
     "same file fails the copy). The temporary file of a streamed copy to a share is a "
     "durable open (reclaimed after the drop when the server kept it) set to its final size "
     "first; the source and temporary file of a server-side copy are durable opens too (SMB "
     "3.x), on every connection of --connections, whose dropped connections are brought back "
     "the same way, never replaced. On SMB 3.x, reads and such writes that were in flight are sent "
     "again (marked as "
     "replays) and the copy goes on as if nothing happened; otherwise (server-side copy, SMB "
     "2.x) the file being copied continues from the last offset below which everything was "
     "written, with identical results. A server that "
     "comes back "
     "with a lower dialect or weaker protection is refused, never used. Each drop gets N tries "
     "again as long as the copy moved on since the previous one. 0 turns reconnecting off: a "
     "drop then ends the run (exit 3) as it always did, and --resume can continue later. "
     "--json counts the reconnects. A drop while first connecting to a server (its "
     "NEGOTIATE, login or share connect) is tried again the same way, up to N times, after "
     "the wait of --retry-wait (doubled each time); a refused login (a wrong password) is "
     "never tried again."},
    {SC_OPT_RETRY_WAIT, 0, "retry-wait", "SECONDS",
     "wait before the second reconnect try (default 1, doubled each try)",
     "The first reconnect try after a drop starts at once; the wait before the second one is "
     "SECONDS (0 or a positive number, fractions allowed, at most 3600; default 1), and each "
     "later wait is twice the one before, at most 30 s."},
    {SC_OPT_METHOD, 0, "method", "auto|clone|copychunk|odx|stream", "copy strategy (default auto)",
     "How to copy. 'stream' reads the data and writes it back through smbcopy with many "
     "requests in flight. 'copychunk' asks the server to copy (FSCTL_SRV_COPYCHUNK_WRITE, see "
     "--copychunk-ioctl); both ends must be on one server as one user, so that they share one "
     "connection (any shares of it). 'clone' asks the server to share blocks "
     "(FSCTL_DUPLICATE_EXTENTS_TO_FILE; the destination share must report block refcounting). "
     "'odx' asks for an offloaded data transfer (FSCTL_OFFLOAD_READ then FSCTL_OFFLOAD_WRITE "
     "with a token, for servers that refuse copychunk; both ends on one connection; tested "
     "against a specification-faithful fake server, not yet a real one). "
     "'auto' uses clone where the destination share supports it, else copychunk when both ends "
     "share a connection, else odx when the server refused copychunk, else stream, and falls "
     "back to stream when the server refuses server-side copy. A forced method that cannot be used "
     "fails with one message and removes "
     "the temporary file: exit status 1 when SRC and DST do not share a connection, 5 when the "
     "server refuses. The method actually used is reported by --json."},
    {SC_OPT_DEPTH, 0, "depth", "N", "requests in flight per file (1-32; default 16, server-side 8)",
     "Keep up to N requests in flight per file (1 to 32): read and write requests when "
     "streaming (default 16), FSCTL_SRV_COPYCHUNK requests in a server-side copy (default: the "
     "library's, 8)."},
    {SC_OPT_CHUNK_SIZE, 0, "chunk-size", "SIZE", "bytes per request or copychunk chunk",
     "Bytes per read or write request when streaming, and per chunk of a server-side copy "
     "(each copychunk request carries up to 16 chunks). SIZE is a number of bytes with an "
     "optional K or M suffix (binary), from 4K to 1M; the default is 1M, lowered to what the "
     "server allows. Small values make a copy slower; they are meant for testing."},
    {SC_OPT_COPYCHUNK_IOCTL, 0, "copychunk-ioctl", "write|read",
     "FSCTL for server-side copy (default write)",
     "Which request a server-side copy uses: 'write' (the default) sends "
     "FSCTL_SRV_COPYCHUNK_WRITE, which needs only write access to the destination; 'read' "
     "sends FSCTL_SRV_COPYCHUNK, for which the temporary destination file is also opened "
     "with read access, as that request requires."},
    {SC_OPT_CONNECTIONS, 0, "connections", "N|auto",
     "spread a large server-side copy, and a tree's small files, over N connections (1-8, auto)",
     "Spread each server-side copy of at least N x 64 MiB over N connections to the server "
     "(1 to 8), each with its own session, opens and resume key. A server such as Samba copies "
     "the requests of one connection one after the other on one core, so several connections "
     "can finish sooner, when the server has idle cores. The default, auto, opens a second "
     "connection for a copychunk copy of at least 2 GiB (what is left to copy, with --resume), "
     "copies the first 64 MiB over one connection and the next 64 MiB over two, and copies the "
     "rest over two only if that was at least 10% faster (with -v it says which); a smaller copy "
     "uses one. The figures come from bench/lanes.sh (docs/performance.md). --connections=1 "
     "never opens a second connection. "
     "The resume record still holds one offset below which everything is written. "
     "With -r, the small files of a tree (those that one request carries, copied up to 64 at "
     "a time on each connection) are dealt out over N connections to the share's server, each "
     "logged in as the first, with its own session and reconnecting on its own (--retries); "
     "a further connection is opened when every open one has files in flight. Listings, "
     "directories and larger files stay on the first connection. For trees, auto uses one "
     "connection (measured with bench/tree.sh: docs/performance.md). -v says how many files "
     "went over each connection."},
    {SC_OPT_RECURSIVE, 'r', "recursive", NULL, "copy directories recursively",
     "Copy a directory and everything below it, at any depth. Regular files and directories are "
     "copied; other kinds of entries are skipped with a warning, and so are the files of an "
     "unfinished smbcopy run (its temporary files .NAME.smbcopy.part and resume records "
     ".NAME.smbcopy.state, left by an interrupted run or written by one still going on: "
     "never a finished file), counted as skipped. A failure on one file or "
     "directory is reported and the copy goes on; the exit status is then 7. Names that the "
     "destination cannot hold apart "
     "(two source names that differ only in case, e.g. xt_CONNMARK.h and xt_connmark.h, "
     "copied to a case-insensitive share or file system) are never written over one another: "
     "the first is copied, each later one is reported as 'not copied: its name collides with "
     "...', counted as failed and listed in --json collisions (a colliding directory is not "
     "copied at all). A case-sensitive destination gets both. A file on a share whose name is "
     "not valid UTF-16 (an unpaired surrogate, which NTFS allows) cannot be named in any "
     "request: it is reported ('its name on the server is not valid UTF-16'), shown with "
     "U+FFFD, and counted as failed; the rest of its directory is copied."},
    {SC_OPT_RESUME, 0, "resume", NULL, "continue a partial copy; keep partials on failure",
     "Continue a copy that an earlier run left in the temporary file .NAME.smbcopy.part, "
     "instead of starting over, and keep that file when this run fails or is interrupted so a "
     "later --resume can continue it. For every file larger than one request (--chunk-size, "
     "at most 1 MiB, within the server's limits; a smaller file is written in one request, so "
     "there is nothing to continue and it is copied again) a run keeps a resume record "
     ".NAME.smbcopy.state next to the temporary file (locally or on the share): the source's "
     "URL or absolute path, the "
     "destination's name, the source's size and modification time, and an offset below which every "
     "byte is known to be written. "
     "It is updated as the copy goes on (about every 64 MiB or every second) and once more when "
     "the run is interrupted (SIGINT, SIGTERM). --resume continues from that offset (at most "
     "the temporary file's size; what lies past it is copied again) when the record is intact "
     "and still describes the source; otherwise the copy starts over. The record guards "
     "against interruptions and killed processes; after a crash of the machine holding the "
     "destination, data the record counts as written may have been lost, so start over. The "
     "record is removed after the final rename, and both files are removed when a run without "
     "--resume fails. With -r, files whose destination already has the source's size and "
     "modification time are skipped."},
    {SC_OPT_UPDATE, 'u', "update", NULL, "skip files whose copy is already up to date",
     "Skip a file when its destination already exists as a regular file with the source's "
     "size and modification time (within 2 seconds, the coarsest file system time), as rsync "
     "and robocopy do by default; with --no-preserve, when it has the source's size and is "
     "not older than the source. Skipped files count in the skipped member of --json. Run "
     "again with -u after an interrupted tree copy to finish it. On a share each directory "
     "of copies is listed once for this, and a source on a share is judged from its "
     "directory's listing without being opened, so an unchanged tree costs a request per "
     "directory, not per file, in every direction."},
    {SC_OPT_DRY_RUN, 'n', "dry-run", NULL, "show what would be copied; write nothing",
     "Walk the source and print, one line each on standard output, the files that would be "
     "copied ('SRC -> DST'; with --json the lines go to standard error); create, write and "
     "remove nothing. With -u, files already up to date are not listed. Name collisions on "
     "the destination are only found by a real copy."},
    {SC_OPT_EXCLUDE, 0, "exclude", "GLOB", "leave out entries matching GLOB (repeatable)",
     "With -r, leave out every file or directory (and what is below it) whose path relative "
     "to SRC matches GLOB (fnmatch(3) with '*' and '?' not crossing '/'); a GLOB without '/' "
     "is matched against the entry's name alone, at any depth, e.g. --exclude='*.o' or "
     "--exclude=.git. At most 64. Left-out entries count in the skipped member of --json."},
    {SC_OPT_NO_FOLLOW, 0, "no-follow", NULL, "skip symbolic links in a local source tree",
     "By default symbolic links in a local source tree are followed (a share cannot hold a "
     "link, as with robocopy and smbclient's mput): a link to a file copies the file, a link "
     "to a directory copies the directory. A link that leads back to a directory being "
     "copied (a loop) and a dangling link are reported as failed entries (exit status 7). "
     "--no-follow skips every symbolic link with a warning instead."},
    {SC_OPT_FORCE, 'f', "force", NULL, "replace read-only destinations too",
     "Replace an existing destination file that is read-only: locally one whose owner has no "
     "write permission (such as mode 0444), on a share one with the DOS read-only attribute. "
     "Without -f such a file is not replaced: it is reported as 'read-only' (exit 2; in a "
     "tree a failed file, exit 7), as cp does for a file it cannot write. A local destination "
     "with more than one hard link is replaced under its name only (the other links keep the "
     "old data), with a warning."},
    {SC_OPT_NOPRESERVE, 0, "no-preserve", NULL, "do not copy times and attributes",
     "Do not copy modification and access times (and, between SMB shares, creation time and "
     "attributes); by default they are copied. With -r a directory's times are copied too, "
     "once the files copied into it are finished (a new name changes them); a run that is "
     "interrupted or loses its connection leaves them as they are (-u sets them)."},
    {SC_OPT_SYNC, 0, "sync", NULL, "make each copy durable before renaming it",
     "Make the temporary file durable before it is renamed over the final name: fsync for a "
     "local destination (and of its directory after the rename), SMB2 FLUSH for a share, which "
     "makes the server write the file to stable storage. Then even a crash or power loss of "
     "the destination machine right after smbcopy finished cannot leave the final name with "
     "missing data. It costs the time the destination's disk takes to write the whole file "
     "(for a server-side copy on a fast server, most of the run; see docs/performance.md)."},
    {SC_OPT_NOSYNC, 0, "no-sync", NULL, "do not wait for durability (the default)",
     "The default, as with cp, rsync and smbclient: each copy is renamed over the final name "
     "as soon as all of it has been written, without waiting for the destination to put it on "
     "stable storage. An interrupted or failed run still never leaves a final name that looks "
     "complete, but a crash or power loss of the destination machine shortly after the run "
     "may leave the final name with missing data. Cancels an earlier --sync."},
    {SC_OPT_JSON, 0, "json", NULL, "print a JSON summary on stdout",
     "When done, print one JSON object on standard output with the members ok, method, src, "
     "dst, src_resolved, dst_resolved (the smb:// URL each share end leads to, through DFS "
     "links when SRC or DST is on a DFS namespace; null for a local end), bytes, files, "
     "failed, skipped, seconds, requests, wire_bytes, resumed_bytes, reconnects, "
     "dialect, signing, encryption, cipher, collisions (the sources that -r did not copy "
     "because their names collide on the destination), exit_code and, on failure, error. "
     "method is what "
     "actually copied the data: "
     "clone, copychunk or stream ('mixed' when files of a tree differed). requests counts the "
     "read, write and FSCTL requests of the copies and wire_bytes the SMB bytes sent and "
     "received meanwhile, so a server-side copy shows that its data did not cross the network. "
     "resumed_bytes counts bytes kept from an earlier run (--resume); reconnects counts the "
     "connections brought back after a drop (--retries), further connections of "
     "--connections included. signing (the signing "
     "algorithm, e.g. AES-128-GMAC, or \"none\"), encryption (true or false) and cipher (e.g. "
     "AES-128-GCM, or \"none\") describe what protected the copy; when several SMB sessions "
     "were used (SRC and DST on different servers, --connections) they describe the weakest: "
     "signing is \"none\" when any session was unsigned, encryption false when any was not "
     "encrypted. An encrypted session is also integrity-protected by its cipher. All three are "
     "null when no SMB session was made."},
    {SC_OPT_QUIET, 'q', "quiet", NULL, "no progress bar and no warnings",
     "Print nothing on standard error except the one line describing a failure."},
    {SC_OPT_VERBOSE, 'v', "verbose", NULL, "log protocol events to stderr (-vv, -vvv: more)",
     "Log what the SMB library does on every connection to standard error, one line 'smbcopy: "
     "[LEVEL] MESSAGE' each: -v connections, negotiation results, logins and shares (info), "
     "-vv more detail (debug), -vvv every request and answer (trace). Passwords, hashes, keys, "
     "tickets and file data are never logged. -q turns it off. The progress bar is off with -v "
     "unless --progress is given."},
    {SC_OPT_PROGRESS, 0, "progress", NULL, "show a progress bar on stderr",
     "Show a progress bar with rate and time left on standard error. This is the default when "
     "standard error is a terminal. The line fits the terminal's width (followed when the "
     "terminal is resized), dropping the sizes, the rate and the bar on narrow terminals."},
    {SC_OPT_NOPROGRESS, 0, "no-progress", NULL, "no progress bar", "Do not show a progress bar."},
    {SC_OPT_HELP, 'h', "help", NULL, "show this help and exit", "Show a summary of the options."},
    {SC_OPT_VERSION, 0, "version", NULL, "show the version and exit",
     "Show the versions of smbcopy and of the smbwire library."},
};
const size_t sc_noptdefs = sizeof(sc_optdefs) / sizeof(sc_optdefs[0]);

const sc_exitdoc sc_exitdocs[] = {
    {SC_EXIT_OK, "success"},
    {SC_EXIT_USAGE, "usage error (bad option, bad URL, nothing to do)"},
    {SC_EXIT_LOCAL, "local file error"},
    {SC_EXIT_NET, "connection, network or timeout error"},
    {SC_EXIT_AUTH, "authentication failed"},
    {SC_EXIT_STATUS, "the server refused an operation (not found, access denied, ...)"},
    {SC_EXIT_PROTO, "protocol, signing or encryption error"},
    {SC_EXIT_PARTIAL, "some files of a recursive copy failed"},
    {SC_EXIT_INTR, "interrupted (SIGINT or SIGTERM)"},
};
const size_t sc_nexitdocs = sizeof(sc_exitdocs) / sizeof(sc_exitdocs[0]);

const char *sc_method_name(enum sc_method m)
{
    switch (m) {
    case SC_METHOD_CLONE:
        return "clone";
    case SC_METHOD_COPYCHUNK:
        return "copychunk";
    case SC_METHOD_STREAM:
        return "stream";
    case SC_METHOD_ODX:
        return "odx";
    default:
        return "auto";
    }
}

void sc_opts_init(sc_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->method = SC_METHOD_AUTO;
    o->depth = SC_DEFAULT_DEPTH;
    o->connections = SC_CONNECTIONS_AUTO;
    o->retries = SC_DEFAULT_RETRIES;
    o->retry_wait_ms = SC_DEFAULT_RETRY_WAIT_MS;
    o->preserve = true;
    o->progress = -1;
}

#define SC_CIPHERS "AES-128-GCM, AES-128-CCM, AES-256-GCM, AES-256-CCM"

/* --cipher=LIST: comma-separated cipher names, most preferred first. */
static int parse_ciphers(sc_opts *o, const char *val, const char *shown, char *err, size_t errlen)
{
    int n = 0;
    const char *p = val;
    for (;;) {
        size_t len = strcspn(p, ",");
        char name[32];
        if (len == 0 || len >= sizeof(name))
            return tool_opt_fail(err, errlen,
                                 "option %s: '%s' is not a comma-separated list of " SC_CIPHERS,
                                 shown, val);
        memcpy(name, p, len);
        name[len] = '\0';
        enum smbw_cipher c = smbw_cipher_parse(name);
        if (c == SMBW_CIPHER_NONE)
            return tool_opt_fail(err, errlen, "option %s: unknown cipher '%s' (" SC_CIPHERS ")",
                                 shown, name);
        for (int i = 0; i < n; i++)
            if (o->ciphers[i] == c)
                return tool_opt_fail(err, errlen, "option %s: cipher '%s' given twice", shown,
                                     name);
        if (n >= SC_MAX_CIPHERS) /* unreachable with distinct known names */
            return tool_opt_fail(err, errlen, "option %s: too many ciphers in '%s'", shown, val);
        o->ciphers[n++] = c;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    o->nciphers = n;
    return 0;
}

/* --method=NAME. */
static int parse_method(sc_opts *o, const char *val, const char *shown, char *err, size_t errlen)
{
    if (strcmp(val, "auto") == 0)
        o->method = SC_METHOD_AUTO;
    else if (strcmp(val, "clone") == 0)
        o->method = SC_METHOD_CLONE;
    else if (strcmp(val, "copychunk") == 0)
        o->method = SC_METHOD_COPYCHUNK;
    else if (strcmp(val, "stream") == 0)
        o->method = SC_METHOD_STREAM;
    else if (strcmp(val, "odx") == 0)
        o->method = SC_METHOD_ODX;
    else
        return tool_opt_fail(err, errlen,
                             "option %s: unknown method '%s' (auto, clone, copychunk, odx, stream)",
                             shown, val);
    return 0;
}

/* A whole number from 1 to max (--depth, --connections). */
static int parse_count(const char *val, const char *shown, long max, int *out, char *err,
                       size_t errlen)
{
    char *end;
    errno = 0;
    long n = strtol(val, &end, 10);
    if (errno != 0 || end == val || *end != '\0' || n < 1 || n > max)
        return tool_opt_fail(err, errlen, "option %s: '%s' is not a number from 1 to %ld", shown,
                             val, max);
    *out = (int)n;
    return 0;
}

/* --timeout=SECONDS, --retries=N (0 to SC_MAX_RETRIES), --retry-wait=SECONDS
 * (0 or positive). */
static int parse_retry(sc_opts *o, int id, const char *val, const char *shown, char *err,
                       size_t errlen)
{
    if (id == SC_OPT_TIMEOUT)
        return tool_opt_seconds(val, shown, 2000000.0, &o->timeout_ms, err, errlen);
    bool zero = strcmp(val, "0") == 0;
    if (id == SC_OPT_RETRIES) {
        if (zero) {
            o->retries = 0;
            return 0;
        }
        return parse_count(val, shown, SC_MAX_RETRIES, &o->retries, err, errlen);
    }
    if (zero) {
        o->retry_wait_ms = 0;
        return 0;
    }
    return tool_opt_seconds(val, shown, 3600.0, &o->retry_wait_ms, err, errlen);
}

/* --connections=N (1 to SC_MAX_CONNECTIONS) or auto. */
static int parse_connections(sc_opts *o, const char *val, const char *shown, char *err,
                             size_t errlen)
{
    if (strcmp(val, "auto") == 0) {
        o->connections = SC_CONNECTIONS_AUTO;
        return 0;
    }
    return parse_count(val, shown, SC_MAX_CONNECTIONS, &o->connections, err, errlen);
}

/* --chunk-size=N[K|M], from 4K to 1M. */
static int parse_chunk_size(sc_opts *o, const char *val, const char *shown, char *err,
                            size_t errlen)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(val, &end, 10);
    unsigned long long mul = 1;
    if (end != val && (*end == 'K' || *end == 'k'))
        mul = 1024, end++;
    else if (end != val && (*end == 'M' || *end == 'm'))
        mul = 1024 * 1024, end++;
    if (errno != 0 || end == val || *end != '\0' || val[0] == '-' || n > SC_MAX_CHUNK_SIZE ||
        n * mul < SC_MIN_CHUNK_SIZE || n * mul > SC_MAX_CHUNK_SIZE)
        return tool_opt_fail(err, errlen, "option %s: '%s' is not a size from 4K to 1M", shown,
                             val);
    o->chunk_size = (uint32_t)(n * mul);
    return 0;
}

/* The options that say how to log in. */
static int apply_login(sc_opts *o, int id, const char *val, const char *shown, char *err,
                       size_t errlen)
{
    switch (id) {
    case SC_OPT_USER:
        if (val[0] == '\0' || val[0] == '%')
            return tool_opt_fail(err, errlen, "option %s: empty user name", shown);
        o->user_arg = val;
        break;
    case SC_OPT_AUTHFILE:
        if (val[0] == '\0')
            return tool_opt_fail(err, errlen, "option %s: empty file name", shown);
        o->authfile = val;
        break;
    case SC_OPT_KERBEROS:
        o->kerberos = true;
        break;
    case SC_OPT_KRB_FALLBACK:
        o->kerberos_fallback = true;
        break;
    case SC_OPT_GUEST:
        o->guest = true;
        break;
    case SC_OPT_ANONYMOUS:
        o->anonymous = true;
        break;
    case SC_OPT_SERVICE_HOST:
        if (val[0] == '\0' || strpbrk(val, "/@ \t\\") != NULL)
            return tool_opt_fail(err, errlen, "option %s: '%s' is not a host name", shown, val);
        o->service_host = val;
        break;
    }
    return 0;
}

static int apply(sc_opts *o, const tool_optdef *d, const char *val, const char *shown, char *err,
                 size_t errlen)
{
    switch (d->id) {
    case SC_OPT_USER:
    case SC_OPT_AUTHFILE:
    case SC_OPT_KERBEROS:
    case SC_OPT_KRB_FALLBACK:
    case SC_OPT_GUEST:
    case SC_OPT_ANONYMOUS:
    case SC_OPT_SERVICE_HOST:
        return apply_login(o, d->id, val, shown, err, errlen);
    case SC_OPT_CIPHER:
        return parse_ciphers(o, val, shown, err, errlen);
    case SC_OPT_MINPROTO:
        return tool_opt_dialect(val, shown, &o->min_proto, err, errlen);
    case SC_OPT_MAXPROTO:
        return tool_opt_dialect(val, shown, &o->max_proto, err, errlen);
    case SC_OPT_SIGN:
        o->sign = true;
        break;
    case SC_OPT_ENCRYPT:
        o->encrypt = true;
        break;
    case SC_OPT_TIMEOUT:
    case SC_OPT_RETRIES:
    case SC_OPT_RETRY_WAIT:
        return parse_retry(o, d->id, val, shown, err, errlen);
    case SC_OPT_METHOD:
        return parse_method(o, val, shown, err, errlen);
    case SC_OPT_DEPTH:
        if (parse_count(val, shown, SC_MAX_DEPTH, &o->depth, err, errlen) != 0)
            return -1;
        o->depth_set = true;
        break;
    case SC_OPT_CHUNK_SIZE:
        return parse_chunk_size(o, val, shown, err, errlen);
    case SC_OPT_CONNECTIONS:
        return parse_connections(o, val, shown, err, errlen);
    case SC_OPT_COPYCHUNK_IOCTL:
        if (strcmp(val, "write") == 0)
            o->copychunk_read = false;
        else if (strcmp(val, "read") == 0)
            o->copychunk_read = true;
        else
            return tool_opt_fail(err, errlen, "option %s: unknown value '%s' (write, read)", shown,
                                 val);
        break;
    case SC_OPT_RECURSIVE:
        o->recursive = true;
        break;
    case SC_OPT_RESUME:
        o->resume = true;
        break;
    case SC_OPT_UPDATE:
        o->update = true;
        break;
    case SC_OPT_DRY_RUN:
        o->dry_run = true;
        break;
    case SC_OPT_NO_FOLLOW:
        o->no_follow = true;
        break;
    case SC_OPT_EXCLUDE:
        if (val[0] == '\0')
            return tool_opt_fail(err, errlen, "option %s: empty pattern", shown);
        if (o->nexcludes == SC_MAX_EXCLUDES)
            return tool_opt_fail(err, errlen, "option %s: more than 64 patterns", shown);
        o->excludes[o->nexcludes++] = val;
        break;
    case SC_OPT_NOPRESERVE:
        o->preserve = false;
        break;
    case SC_OPT_FORCE:
        o->force = true;
        break;
    case SC_OPT_SYNC:
        o->sync = true;
        break;
    case SC_OPT_NOSYNC:
        o->sync = false;
        break;
    case SC_OPT_JSON:
        o->json = true;
        break;
    case SC_OPT_QUIET:
        o->quiet = true;
        break;
    case SC_OPT_VERBOSE:
        if (o->verbose < SC_MAX_VERBOSE)
            o->verbose++;
        break;
    case SC_OPT_PROGRESS:
        o->progress = 1;
        break;
    case SC_OPT_NOPROGRESS:
        o->progress = 0;
        break;
    case SC_OPT_HELP:
        o->help = true;
        break;
    case SC_OPT_VERSION:
        o->version = true;
        break;
    }
    return 0;
}

/* What a parse collects besides the options: SRC and DST. */
typedef struct parse_ctx {
    sc_opts *o;
    const char *pos[2];
    int npos;
} parse_ctx;

static int apply_cb(void *ctx, const tool_optdef *d, const char *val, const char *shown, char *err,
                    size_t errlen)
{
    return apply(((parse_ctx *)ctx)->o, d, val, shown, err, errlen);
}

static int operand_cb(void *ctx, const char *arg, char *err, size_t errlen)
{
    parse_ctx *pc = ctx;
    if (pc->npos >= 2)
        return tool_opt_too_many(err, errlen, arg, "SRC DST");
    pc->pos[pc->npos++] = arg;
    return 0;
}

static tool_optparser parser(parse_ctx *pc)
{
    return (tool_optparser){sc_optdefs, sc_noptdefs, SC_OPT_USER, apply_cb, operand_cb, pc};
}

int sc_opts_parse(sc_opts *o, int argc, char **argv, char *err, size_t errlen)
{
    parse_ctx pc = {o, {NULL, NULL}, 0};
    tool_optparser p = parser(&pc);
    if (tool_opts_parse(&p, argc, argv, err, errlen) != 0)
        return -1;
    if (o->help || o->version)
        return 0;
    if (pc.npos < 2)
        return tool_opt_fail(err, errlen, "%s (try --help)",
                             pc.npos == 0 ? "missing SRC and DST" : "missing DST");
    if (o->min_proto != 0 && o->max_proto != 0 && o->min_proto > o->max_proto)
        return tool_opt_fail(err, errlen, "--min-protocol is above --max-protocol");
    if (o->kerberos_fallback && !o->kerberos)
        return tool_opt_fail(err, errlen, "--kerberos-fallback needs -k/--kerberos");
    if (o->service_host != NULL && !o->kerberos)
        return tool_opt_fail(err, errlen, "--service-host needs -k/--kerberos");
    if (o->guest || o->anonymous) {
        const char *which = o->guest ? "--guest" : "--anonymous";
        const char *other = o->guest && o->anonymous ? "--anonymous"
                            : o->user_arg != NULL    ? "-U"
                            : o->authfile != NULL    ? "-A"
                            : o->kerberos            ? "-k"
                            : o->sign                ? "--sign"
                            : o->encrypt             ? "--encrypt"
                                                     : NULL;
        if (other != NULL)
            return tool_opt_fail(err, errlen, "%s and %s do not go together%s", which, other,
                                 strcmp(other, "--sign") == 0 || strcmp(other, "--encrypt") == 0
                                     ? " (such a session has no key to sign or encrypt with)"
                                     : "");
    }
    if ((o->nexcludes > 0 || o->no_follow) && !o->recursive)
        return tool_opt_fail(err, errlen, "%s needs -r/--recursive",
                             o->nexcludes > 0 ? "--exclude" : "--no-follow");
    if (o->dry_run && o->resume)
        return tool_opt_fail(err, errlen, "--dry-run and --resume do not go together");
    o->src = pc.pos[0];
    o->dst = pc.pos[1];
    return 0;
}

void sc_opts_burn_secrets(int argc, char **argv)
{
    tool_optparser p = parser(NULL);
    tool_opts_burn_secrets(&p, argc, argv);
}

void sc_opts_help(FILE *f)
{
    fprintf(f, "Usage: smbcopy [OPTIONS] SRC DST\n"
               "Copy files between local paths and SMB shares (server-side when possible).\n"
               "SRC and DST are local paths or URLs "
               "smb://[DOMAIN;][USER@]HOST[:PORT]/SHARE[/PATH].\n"
               "When DST is an existing directory, SRC is copied into it.\n\nOptions:\n");
    tool_opts_help(f, sc_optdefs, sc_noptdefs);
    fprintf(f, "\nCredentials: user from -U, the URL, -A, $USER; password from -U, the URL,\n"
               "-A, $SMB_PASSWORD, else a prompt when stdin is a terminal. With -k, the\n"
               "Kerberos credential cache ($KRB5CCNAME) instead.\n\nExit status:\n");
    tool_exits_help(f, sc_exitdocs, sc_nexitdocs);
    fprintf(f, "\nSee smbcopy(1) for details.\n");
}
