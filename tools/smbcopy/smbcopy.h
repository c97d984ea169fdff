/* smbcopy internals shared between its source files. smbcopy uses only the
 * public smbwire API. */
#ifndef SMBCOPY_H
#define SMBCOPY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "smbwire/smbwire.h"
#include "smbwire/url.h"

#include "buf.h"
#include "creds.h"
#include "optparse.h"
#include "secrets.h"

/* Exit codes (documented in --help and smbcopy(1)). */
enum sc_exit {
    SC_EXIT_OK = 0,
    SC_EXIT_USAGE = 1,
    SC_EXIT_LOCAL = 2,
    SC_EXIT_NET = 3,
    SC_EXIT_AUTH = 4,
    SC_EXIT_STATUS = 5,
    SC_EXIT_PROTO = 6,
    SC_EXIT_PARTIAL = 7,
    SC_EXIT_INTR = 130,
};

enum sc_method {
    SC_METHOD_AUTO = 0,
    SC_METHOD_CLONE,
    SC_METHOD_COPYCHUNK,
    SC_METHOD_STREAM,
    SC_METHOD_ODX,
};
const char *sc_method_name(enum sc_method m);

/* ---- options (opts.c) ------------------------------------------------- */

enum sc_optid {
    SC_OPT_USER = 1,
    SC_OPT_AUTHFILE,
    SC_OPT_KERBEROS,
    SC_OPT_KRB_FALLBACK,
    SC_OPT_SERVICE_HOST,
    SC_OPT_GUEST,
    SC_OPT_ANONYMOUS,
    SC_OPT_MINPROTO,
    SC_OPT_MAXPROTO,
    SC_OPT_SIGN,
    SC_OPT_ENCRYPT,
    SC_OPT_CIPHER,
    SC_OPT_TIMEOUT,
    SC_OPT_RETRIES,
    SC_OPT_RETRY_WAIT,
    SC_OPT_METHOD,
    SC_OPT_DEPTH,
    SC_OPT_CHUNK_SIZE,
    SC_OPT_COPYCHUNK_IOCTL,
    SC_OPT_CONNECTIONS,
    SC_OPT_RECURSIVE,
    SC_OPT_RESUME,
    SC_OPT_UPDATE,
    SC_OPT_DRY_RUN,
    SC_OPT_EXCLUDE,
    SC_OPT_NO_FOLLOW,
    SC_OPT_NOPRESERVE,
    SC_OPT_FORCE,
    SC_OPT_SYNC,
    SC_OPT_NOSYNC,
    SC_OPT_JSON,
    SC_OPT_QUIET,
    SC_OPT_VERBOSE,
    SC_OPT_PROGRESS,
    SC_OPT_NOPROGRESS,
    SC_OPT_HELP,
    SC_OPT_VERSION,
};

/* The declarative option table (tools/common/optparse.h): it drives the
 * parser, --help and the man page (docs/mkman.c). */
typedef tool_optdef sc_optdef;

extern const sc_optdef sc_optdefs[];
extern const size_t sc_noptdefs;

#define SC_MAX_DEPTH 32
#define SC_DEFAULT_DEPTH 16
#define SC_MAX_CONNECTIONS 8
#define SC_MAX_RETRIES 100
#define SC_DEFAULT_RETRIES 3
#define SC_DEFAULT_RETRY_WAIT_MS 1000
/* --connections=auto (the default): a server-side copy of at least
 * SC_AUTO_LANES_MIN bytes (still to copy) opens SC_AUTO_LANES connections,
 * a smaller one uses one. Chosen with bench/lanes.sh (docs/performance.md
 * section "Automatic lanes"). */
#define SC_CONNECTIONS_AUTO 0
#define SC_AUTO_LANES 2
#define SC_AUTO_LANES_MIN ((uint64_t)2048 * 1024 * 1024)
/* auto: the first SC_AUTO_PROBE bytes go over one connection, the next over
 * SC_AUTO_LANES, the rest over the faster (sscopy.c, copy_auto). */
#define SC_AUTO_PROBE ((uint64_t)64 * 1024 * 1024)
/* --connections=auto for the small files of a tree (-r, batch.c): the
 * connections an upload, a download and a server-side tree spread them
 * over. Chosen with bench/tree.sh (docs/performance.md section 6). */
#define SC_AUTO_TREE_UP 1
#define SC_AUTO_TREE_DOWN 1
#define SC_AUTO_TREE_SS 1
#define SC_MIN_CHUNK_SIZE 4096u
#define SC_MAX_CHUNK_SIZE (1024u * 1024u)
#define SC_MAX_CIPHERS 4
#define SC_MAX_EXCLUDES 64
#define SC_MAX_VERBOSE 3 /* -vvv: SMBW_LOG_TRACE */

typedef struct sc_opts {
    const char *user_arg; /* -U as given */
    const char *authfile;
    bool kerberos;
    bool kerberos_fallback;        /* --kerberos-fallback: NTLM when Kerberos cannot be used */
    bool guest, anonymous;         /* --guest, --anonymous: log in without credentials */
    const char *service_host;      /* --service-host: host part of cifs/HOST; NULL: the URL's */
    uint16_t min_proto, max_proto; /* 0: library default */
    bool sign, encrypt;
    enum smbw_cipher ciphers[SC_MAX_CIPHERS]; /* --cipher: SMBW_CIPHER_* preference */
    int nciphers;                             /* 0: library default */
    int timeout_ms;                           /* 0: library default */
    int retries;       /* --retries: reconnect tries per drop (0: no reconnect) */
    int retry_wait_ms; /* --retry-wait: the wait before the second try */
    enum sc_method method;
    int depth;
    bool depth_set;      /* --depth given (else the library's default for server-side copy) */
    uint32_t chunk_size; /* --chunk-size; 0: default */
    bool copychunk_read; /* --copychunk-ioctl=read: FSCTL_SRV_COPYCHUNK */
    int connections;     /* --connections: server-side copies and trees; 0: auto */
    bool recursive, resume, preserve;
    bool force;     /* -f: replace read-only destinations too */
    bool update;    /* -u: skip files whose destination has the same size and time */
    bool dry_run;   /* --dry-run: say what would be copied, write nothing */
    bool no_follow; /* --no-follow: skip symbolic links of a local source tree */
    const char *excludes[SC_MAX_EXCLUDES]; /* --exclude GLOBs */
    int nexcludes;
    bool sync; /* --sync: fsync / SMB2 FLUSH before the rename (default off) */
    bool json, quiet;
    int verbose;  /* -v count: 1 INFO, 2 DEBUG, 3 TRACE (capped) */
    int progress; /* -1 auto (terminal), 0 off, 1 on */
    bool help, version;
    const char *src, *dst;
} sc_opts;

void sc_opts_init(sc_opts *o);
/* Parses argv. Returns 0, or -1 with a message in err (usage error). */
int sc_opts_parse(sc_opts *o, int argc, char **argv, char *err, size_t errlen);
/* Burns, in place, the password of every -U value and of every smb:// URL
 * operand in argv (the rest of each argument stays readable), using the same
 * grammar as sc_opts_parse. Call it right after everything needed from those
 * arguments was copied: the pointers in sc_opts then see the burnt text. */
void sc_opts_burn_secrets(int argc, char **argv);
void sc_opts_help(FILE *f);

/* ---- exit code / prose tables shared with the man page ------------------ */

typedef tool_exitdoc sc_exitdoc;
extern const sc_exitdoc sc_exitdocs[];
extern const size_t sc_nexitdocs;

/* ---- credentials: tools/common/creds.h (tool_creds, tool_parse_user_arg, ...) */

/* ---- JSON (json.c) ---------------------------------------------------- */

/* The buffer and JSON strings: tools/common/buf.h (tool_buf, tool_json_str). */

/* What protected the SMB sessions of a run, the weakest of all seen:
 * unsigned beats any signing algorithm, unencrypted beats any cipher, and
 * among algorithms and ciphers the weaker one wins. */
typedef struct sc_prot {
    int nsessions;   /* 0: no SMB session (the JSON members are then null) */
    int sign_rank;   /* 0 none (some session unsigned), else sc_sign_rank() */
    int cipher_rank; /* 0 none (some session unencrypted), else sc_cipher_rank() */
    char sign_alg[32];
    char cipher[32];
} sc_prot;
/* Rank of a signing algorithm / cipher name: higher is stronger, 0 for
 * "none", 1 for a name this smbcopy does not know (the weakest known). */
int sc_sign_rank(const char *alg);
int sc_cipher_rank(const char *cipher);
/* Folds one session in (signed with alg, encrypted with cipher). */
void sc_prot_note(sc_prot *p, bool is_signed, const char *alg, bool encrypted, const char *cipher);

typedef struct sc_summary {
    bool ok;
    const char *method;
    const char *src, *dst;
    const char *src_resolved, *dst_resolved; /* smb:// where they lead (DFS), or NULL */
    uint64_t bytes;
    uint64_t files;
    uint64_t failed;
    uint64_t skipped;
    double seconds;
    const char *dialect;    /* NULL when no SMB connection */
    const sc_prot *prot;    /* NULL or no sessions: signing/encryption/cipher null */
    bool counters;          /* print requests, wire_bytes and resumed_bytes */
    uint64_t requests;      /* requests sent by the copies */
    uint64_t wire_bytes;    /* SMB bytes sent and received during the copies */
    uint64_t resumed_bytes; /* bytes kept from earlier runs (--resume) */
    uint64_t reconnects;    /* connections brought back after a drop */
    const char *error;      /* NULL on success */
    int exit_code;
    char *const *collisions; /* -r: sources not copied because their names collide */
    size_t ncollisions;
} sc_summary;
/* One JSON object and a newline. Returns a malloc'd string or NULL. */
char *sc_summary_json(const sc_summary *s);

/* ---- progress (progress.c) ------------------------------------------- */

typedef struct sc_progress {
    bool enabled;
    FILE *out;
    double start, last_draw;
    uint64_t total, done; /* bytes */
    uint64_t base;        /* done at start (resumed bytes) */
    const char *name;
    bool drawn;
} sc_progress;
double sc_now(void);
void sc_progress_start(sc_progress *p, const char *name, uint64_t total, uint64_t done);
void sc_progress_update(sc_progress *p, uint64_t done);
/* Erases the bar line. */
void sc_progress_end(sc_progress *p);
/* Formats "12.3 MiB" into buf. */
void sc_fmt_bytes(char *buf, size_t n, double bytes);

/* ---- runtime --------------------------------------------------------- */

extern volatile sig_atomic_t sc_interrupted;

#endif
