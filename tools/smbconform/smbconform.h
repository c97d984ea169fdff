/* smbconform internals: options, the case table, what a case gets to work
 * with, and the runner. smbconform links only the public smbwire API. */
#ifndef SMBCONFORM_H
#define SMBCONFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "smbwire/smbwire.h"
#include "smbwire/url.h"

#include "buf.h"
#include "creds.h"
#include "optparse.h"

/* Exit codes (documented in --help and smbconform(1)). */
enum cf_exit {
    CF_EXIT_OK = 0,     /* the run completed, whatever the case results */
    CF_EXIT_STRICT = 1, /* --strict: some case failed or ended in error */
    CF_EXIT_USAGE = 2,  /* bad options or URL */
    CF_EXIT_SERVER = 3, /* cannot connect, log in, reach the share or make the scratch directory */
    CF_EXIT_LOCAL = 4,  /* a local failure: --junit file, out of memory, fork */
};

/* ---- options (opts.c) ------------------------------------------------- */

enum cf_optid {
    CF_OPT_USER = 1,
    CF_OPT_AUTHFILE,
    CF_OPT_KERBEROS,
    CF_OPT_MINPROTO,
    CF_OPT_MAXPROTO,
    CF_OPT_OTHER_SHARE,
    CF_OPT_LIST,
    CF_OPT_ONLY,
    CF_OPT_JSON,
    CF_OPT_JUNIT,
    CF_OPT_TIMEOUT,
    CF_OPT_STRICT,
    CF_OPT_VERBOSE,
    CF_OPT_HELP,
    CF_OPT_VERSION,
};

/* The declarative option table (tools/common/optparse.h): it drives the
 * parser, --help and the man page (mkman.c). */
typedef tool_optdef cf_optdef;

extern const cf_optdef cf_optdefs[];
extern const size_t cf_noptdefs;

typedef tool_exitdoc cf_exitdoc;
extern const cf_exitdoc cf_exitdocs[];
extern const size_t cf_nexitdocs;

#define CF_MAX_ONLY 64
#define CF_DEFAULT_TIMEOUT_MS 60000

typedef struct cf_opts {
    const char *user_arg; /* -U as given */
    const char *authfile;
    bool kerberos;
    uint16_t min_proto, max_proto; /* 0: library default */
    bool list, json, strict;
    const char *junit;
    const char *other_share; /* --other-share */
    const char *only[CF_MAX_ONLY];
    int nonly;
    int timeout_ms; /* per case */
    int verbose;
    bool help, version;
    const char *url; /* the operand */
} cf_opts;

void cf_opts_init(cf_opts *o);
/* Parses argv. Returns 0, or -1 with a message in err (usage error). */
int cf_opts_parse(cf_opts *o, int argc, char **argv, char *err, size_t errlen);
/* Burns the password of -U values and of the URL operand in argv in place
 * (tools/common/secrets.h); call once what is needed was copied. */
void cf_opts_burn_secrets(int argc, char **argv);
void cf_opts_help(FILE *f);

/* ---- cases ------------------------------------------------------------ */

enum cf_result { CF_PASS = 0, CF_FAIL, CF_SKIP, CF_ERROR };
const char *cf_result_name(enum cf_result r);

/* Where and as whom to connect; shared by the runner and the cases. */
typedef struct cf_target {
    const char *host;
    uint16_t port;
    const char *share;
    const char
        *base; /* directory on the share under which the scratch root goes ("" for the root) */
    smbw_creds creds; /* points into the resolved credentials */
    uint16_t min_proto, max_proto;
    int wait_ms;             /* timeout of every network wait */
    const char *other_share; /* a second share (--other-share) or NULL */
    enum smbw_log_level log_level;
} cf_target;

/* A connection, session and tree. */
typedef struct cf_link {
    smbw_conn *c;
    smbw_session *s;
    smbw_tree *t;
} cf_link;

#define CF_MAX_FILES 32
#define CF_MAX_LINKS 8
#define CF_TEXT 512

/* What a case works with: its own fresh link to the share and its own empty
 * scratch directory there; the expected/got text of a failure. Files opened
 * with cf_open/cf_create and links made with cf_connect are closed by the
 * runner after the case, so a case may simply return. */
typedef struct cf_env {
    const cf_target *tg;
    cf_link main;
    char dir[160]; /* the scratch directory, relative to the share root */
    char expected[CF_TEXT], got[CF_TEXT], reason[CF_TEXT];
    smbw_file *files[CF_MAX_FILES];
    cf_link *links[CF_MAX_LINKS];
    char pathbuf[4][320];
    int pathnext;
} cf_env;

typedef enum cf_result (*cf_run_fn)(cf_env *e);

typedef struct cf_case {
    const char *name; /* unique; server-side copy cases contain copychunk, resume_key or odx */
    const char *spec; /* the section it checks, e.g. "MS-SMB2 3.3.5.15.6" */
    const char *what; /* one line: what it checks */
    cf_run_fn run;
} cf_case;

/* The areas, one file each in cases/, each a table ended by a row with name
 * NULL; cases/cases.c lists them in run order. */
extern const cf_case cf_cases_resume_key[];
extern const cf_case cf_cases_copychunk[];
extern const cf_case cf_cases_copychunk_ranges[];
extern const cf_case cf_cases_copychunk_handles[];
extern const cf_case cf_cases_odx[];
extern const cf_case cf_cases_negotiate[];
extern const cf_case cf_cases_clone[];
extern const cf_case cf_cases_transport[];
extern const cf_case *const cf_areas[];
/* Every case in run order: fills out (up to max) and returns the count. */
size_t cf_all_cases(const cf_case **out, size_t max);

/* ---- helpers for cases (env.c) ---------------------------------------- */

/* "DIR/name" in a rotating buffer (valid for the next three calls). */
const char *cf_path(cf_env *e, const char *name);
/* Results with text: the expected and got strings are printf formats. */
enum cf_result cf_fail(cf_env *e, const char *expected, const char *gotfmt, ...)
    __attribute__((format(printf, 3, 4)));
enum cf_result cf_skip(cf_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The case could not get to what it checks (setup failed): an error, not a
 * finding about the server. */
enum cf_result cf_error(cf_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Describes a call's outcome for "got": "success", "STATUS_X", or
 * "connection dropped (...)". */
const char *cf_outcome(cf_env *e, smbw_conn *c, int rc);

/* A further link to the share (or to another share when share is not NULL),
 * registered for cleanup. */
int cf_connect(cf_env *e, const char *share, cf_link **out);
/* A link of the case's own choosing: dialects, signing and encryption
 * policy, one cipher (NONE: the library's preference), whether to log in
 * and connect the share, and one more negotiate context (type 0: none). */
typedef struct neg_want {
    uint16_t min, max;
    enum smbw_sign_policy sign;
    enum smbw_encrypt_policy enc;
    enum smbw_cipher cipher;
    bool session, tree;
    uint16_t extra_ctx;
    int sign_alg; /* 0: the library's list; else one SMBW_SIGN_ALG_* + 1, offered alone */
} neg_want;
/* (cases/negotiate.c) Connects as w says, registered in e for cleanup. Returns the first failing
 * call's result (e->reason then says which step; *out is set either way,
 * NULL only when out of memory). */
int cf_neg_link(cf_env *e, const neg_want *w, cf_link **out);
/* CREATE with full control / smbw_file_open flags, registered for cleanup. */
int cf_create(cf_env *e, smbw_tree *t, const char *name, const smbw_create_params *p,
              smbw_file **out);
int cf_open(cf_env *e, smbw_tree *t, const char *name, int flags, smbw_file **out);
/* Closes a registered file now. */
int cf_close(cf_env *e, smbw_file *f);
/* Closes every registered file and link (the runner calls it). */
void cf_env_release(cf_env *e);

/* The byte at offset off of the test pattern (a function of the offset and a
 * seed, so misplaced data shows). */
static inline uint8_t cf_pattern(uint64_t off, unsigned seed)
{
    uint64_t x = off * 0x9E3779B97F4A7C15ull + seed * 0xBF58476D1CE4E5B9ull;
    return (uint8_t)((x >> 29) ^ (x >> 47) ^ off);
}
/* Writes len pattern bytes (seed) at off of f. */
int cf_fill(smbw_file *f, uint64_t off, uint64_t len, unsigned seed);
/* Compares len bytes at off of f with the pattern (seed) at pat_off. Returns 0
 * when equal, 1 with the first difference described in where, or a negative
 * error. */
int cf_verify(smbw_file *f, uint64_t off, uint64_t len, uint64_t pat_off, unsigned seed,
              char *where, size_t wherelen);

/* ---- server-side copy requests (fsctl.c) ------------------------------ */

typedef struct cf_chunk {
    uint64_t src, dst;
    uint32_t len;
} cf_chunk;

/* What came back from a copychunk request. */
typedef struct cf_cc_answer {
    int rc;          /* the call's result */
    uint32_t status; /* the NTSTATUS (0 on success) */
    bool dead;       /* the connection died */
    size_t outlen;   /* bytes of the IOCTL output */
    bool has_body;   /* a 12-byte SRV_COPYCHUNK_RESPONSE came back */
    uint32_t chunks_written, chunk_bytes_written, total_bytes_written;
} cf_cc_answer;

/* After a case: a text saying why, when FSCTL_SRV_REQUEST_RESUME_KEY on a
 * file came back not supported during it (the runner then reports a failed
 * case as skipped: the server has no server-side copy); NULL otherwise. */
const char *cf_copy_unsupported(void);
/* The little-endian 32-bit number at p (of an answer). */
uint32_t cf_get32(const uint8_t *p);
/* FSCTL_SRV_REQUEST_RESUME_KEY on f with the input given, as
 * smbw_file_ioctl sends it (noting a server without it for
 * cf_copy_unsupported). */
int cf_resume_key_raw(smbw_file *f, const void *in, size_t inlen, uint32_t max_out, void **out,
                      size_t *outlen);
/* FSCTL_SRV_REQUEST_RESUME_KEY on f with max_out; copies the 24-byte key.
 * Returns the call's result; *outlen (may be NULL) gets the answer's size. */
int cf_resume_key(smbw_file *f, uint32_t max_out, uint8_t key[24], size_t *outlen);
/* Builds SRV_COPYCHUNK_COPY (MS-SMB2 2.2.31.1) for key and chunks, sends
 * ctl (FSCTL_SRV_COPYCHUNK or _WRITE) on dst with max_out and decodes the
 * answer. claimed_count, when not negative, is written as ChunkCount instead
 * of n (for malformed requests). c is dst's connection (for the status). */
void cf_copychunk(smbw_conn *c, smbw_file *dst, uint32_t ctl, const uint8_t key[24],
                  const cf_chunk *chunks, size_t n, long claimed_count, uint32_t max_out,
                  cf_cc_answer *a);
/* A source file src.bin of src_size pattern bytes (seed 1) opened read-only,
 * a new empty dst.bin opened with dst_flags (smbw_file_open flags), and the
 * source's resume key, all on e->main. Returns CF_PASS, or CF_ERROR with the
 * reason set. */
typedef struct cf_pair {
    smbw_file *src, *dst;
    uint8_t key[24];
} cf_pair;
enum cf_result cf_pair_setup(cf_env *e, uint64_t src_size, int dst_flags, cf_pair *p);

/* The SRV_COPYCHUNK_COPY cf_copychunk sends (malloc'd, *inlen bytes; NULL
 * when out of memory). */
uint8_t *cf_cc_input(const uint8_t key[24], const cf_chunk *chunks, size_t n, long claimed_count,
                     size_t *inlen);
/* The same with the IOCTL input as given (for malformed SRV_COPYCHUNK_COPY
 * buffers). */
void cf_copychunk_raw(smbw_conn *c, smbw_file *dst, uint32_t ctl, const void *in, size_t inlen,
                      uint32_t max_out, cf_cc_answer *a);
/* Fills a from an IOCTL's result rc and output (for asynchronous copies:
 * the status is read from c, so call it before c is used again). */
void cf_cc_decode(smbw_conn *c, int rc, const void *out, size_t outlen, cf_cc_answer *a);

/* The server's limits, learnt from the limits answer to a chunk longer than
 * any server accepts (3.3.5.15.6.2). Returns 0 or -1 (with a reason in e). */
typedef struct cf_limits {
    uint32_t max_chunks, max_chunk_size, max_total;
} cf_limits;
int cf_learn_limits(cf_env *e, smbw_file *dst, const uint8_t key[24], cf_limits *l);
/* "STATUS_X, body {chunks, bytes, total}" for got texts. */
const char *cf_cc_describe(cf_env *e, const cf_cc_answer *a);

/* Expectations shared by the copychunk cases (fsctl.c); each fills the
 * expected/got texts of e. Success with the body {n, 0, total}: */
enum cf_result cf_expect_copied(cf_env *e, const cf_cc_answer *a, uint32_t n, uint32_t total);
/* The error status st (any body), the connection still up. */
enum cf_result cf_expect_status(cf_env *e, const cf_cc_answer *a, uint32_t st);
/* 3.3.5.15.6.2: STATUS_INVALID_PARAMETER with the 12-byte answer carrying
 * the limits l. */
enum cf_result cf_expect_limits(cf_env *e, const cf_cc_answer *a, const cf_limits *l);
/* name (in the scratch directory, opened anew for reading) holds the
 * source's pattern (seed 1) for every chunk. */
enum cf_result cf_verify_chunks(cf_env *e, const char *name, const cf_chunk *ch, size_t n);
/* Copies the chunks with ctl (key: an open's on the main link) to dst, which
 * is name: every chunk must be counted and its bytes arrive. */
enum cf_result cf_copied(cf_env *e, smbw_file *dst, const char *name, uint32_t ctl,
                         const uint8_t key[24], const cf_chunk *ch, size_t n);
/* cf_pair_setup (dst_flags), then cf_copied to dst.bin. */
enum cf_result cf_copy_and_check(cf_env *e, uint32_t ctl, int dst_flags, const cf_chunk *ch,
                                 size_t n, uint64_t src_size);
/* A pair (a 64 KiB source, a write-only destination) and one chunk sent with
 * ctl and max_out: the answer must be the error status st. */
enum cf_result cf_refused(cf_env *e, uint32_t ctl, uint32_t max_out, cf_chunk ch, uint32_t st);
/* A file name of len pattern bytes (seed 1) at off, open for reading and
 * writing, and its resume key. Returns the first failing call's result. */
int cf_make_source(cf_env *e, const char *name, uint64_t off, uint64_t len, smbw_file **f,
                   uint8_t key[24]);

/* ---- the runner (runner.c) -------------------------------------------- */

typedef struct cf_outcome_rec {
    const cf_case *cs;
    enum cf_result result;
    char expected[CF_TEXT], got[CF_TEXT], reason[CF_TEXT];
    double seconds;
} cf_outcome_rec;

typedef struct cf_server_info {
    uint16_t dialect;
    uint32_t capabilities;
    uint16_t security_mode;
    uint32_t max_read, max_write, max_transact;
    uint32_t share_flags, share_capabilities;
    char signing[32], cipher[32], auth[32];
    uint8_t guid[16];
} cf_server_info;

/* Connects once to check that the run can happen (connect, log in, tree
 * connect, make the scratch root). Returns 0 or -1 with a message in err. */
int cf_runner_start(const cf_target *tg, cf_server_info *info, char *root, size_t rootlen,
                    char *err, size_t errlen);
/* Runs one case in a child process with a fresh link and scratch directory
 * root/NAME, bounded by timeout_ms, then removes the directory. */
void cf_run_case(const cf_target *tg, const char *root, const cf_case *cs, int timeout_ms,
                 cf_outcome_rec *out);
/* The name of the one file a run may make at the root of --other-share:
 * the scratch root's last component + "-across.bin" (cf_runner_finish
 * removes it). */
void cf_other_share_file(const char *root, char *out, size_t n);
/* Removes the scratch root (best effort). */
void cf_runner_finish(const cf_target *tg, const char *root);
/* Removes a directory and everything below it on t. Returns 0 or an error. */
int cf_remove_tree(smbw_tree *t, const char *path, int depth);
/* Connects l to tg (share: NULL for tg's). */
int cf_link_open(const cf_target *tg, const char *share, cf_link *l, char *err, size_t errlen);
void cf_link_close(cf_link *l);

/* ---- reports (report.c) ----------------------------------------------- */

typedef struct cf_run {
    const cf_server_info *server;
    const char *url_shown; /* without password */
    const cf_outcome_rec *recs;
    size_t n;
    double seconds;
} cf_run;
char *cf_report_json(const cf_run *r);
int cf_report_junit(const cf_run *r, const char *path, char *err, size_t errlen);

#endif
