/* Copy orchestration: connections, locations, files, directories. */
#ifndef SMBCOPY_TRANSFER_H
#define SMBCOPY_TRANSFER_H

#include "names.h"
#include "smbcopy.h"
#include "stream.h"

#define SC_MAX_SERVERS 6 /* SRC, DST and up to four DFS targets */
#define SC_MAX_TREES 4

typedef struct sc_server {
    char *host;
    uint16_t port;
    tool_creds creds;
    smbw_conn *conn;
    smbw_session *sess;
    char *share_names[SC_MAX_TREES];
    smbw_tree *trees[SC_MAX_TREES];
    int ntrees;
    /* A server reached through a DFS referral: conn, sess and trees are the
     * library's (kept by the referring connection), not freed here. */
    bool borrowed;
    /* For a reconnect (--retries): the password XORed with a random pad of
     * the same length, never kept in plain sight. NULL: none kept. */
    unsigned char *pw_mask, *pw_pad;
    size_t pw_len;
    /* The opens that follow ask for durable handles, with a lease R|H also
     * when they write (shared) (sc_server_durable). */
    bool durable, durable_shared;
} sc_server;

/* A place: a local path, or a path on a share. */
typedef struct sc_loc {
    bool remote;
    char *path; /* local path, or path below the share root ("" = root) */
    sc_server *srv;
    smbw_tree *tree;
    const char *share;
} sc_loc;

typedef struct sc_lanes sc_lanes; /* sscopy.c */

typedef struct sc_ctx {
    const sc_opts *o;
    tool_creds cli, file; /* from -U and -A */
    char *args[2];        /* main's copies of SRC and DST (a URL may hold a password) */
    char *env_password;   /* $SMB_PASSWORD, in the environment (wiped there after login) */
    const char *env_user;
    sc_server servers[SC_MAX_SERVERS];
    int nservers;
    mode_t umask;
    sc_progress prog;
    uint64_t bytes, files, failed, skipped;
    uint64_t requests, wire_bytes, resumed; /* --json counters */
    uint64_t reconnects;                    /* --json: connections brought back */
    int reconnect_gave_up; /* the error of a reconnect whose --retries tries all failed */
    const char *method_used;
    char *resolved[2]; /* --json: where SRC and DST lead through DFS (NULL: local) */
    sc_prot prot;      /* --json: the weakest protection of the sessions used */
    char error[1024];  /* first failure, without the "smbcopy: " prefix */
    int exit_code;
    sc_nameset dst_names; /* -r: destination paths this run wrote or kept */
    char **collisions;    /* -r: sources not copied because of a name collision */
    size_t ncollisions;
    sc_lanes *lanes; /* a server-side copy's further connections, kept across its retries */
    /* The destination share refused a dot name (a Samba share whose "veto
     * files" match names that start with a dot): temporary names from then
     * on without the leading dot. */
    bool visible_temps;
} sc_ctx;

/* Copies SRC to DST as smbcopy(1) describes. Returns the exit code. */
int sc_run(sc_ctx *ctx, const char *src_arg, const char *dst_arg);
/* Durable handles (DH2Q on SMB 3.x, with a lease where the server has
 * leasing, else a batch oplock; DHnQ on 2.x, with a batch oplock) for the
 * opens that follow on s's connection, reclaimed after a reconnect; with
 * shared, the opens that write ask for a lease R|H too (no Write state), so
 * that the same file opened for writing on other connections (the lanes of
 * a server-side copy) breaks nothing (smbw_reconnect_opts.durable_shared).
 * No-op with --retries=0 and for DFS targets. 0 or the library's error. */
int sc_server_durable(sc_ctx *ctx, sc_server *s, bool on, bool shared);
/* Whether durability on s comes with a lease (SMB 3.x, a server with
 * leasing), which opens of the same file on other connections need not
 * break: a batch oplock (2.x) is broken by any other open. */
bool sc_server_leases(const sc_server *s);
/* SMB2_GLOBAL_CAP_LEASING of the NEGOTIATE answer (MS-SMB2 2.2.4). */
#define SC_CAP_LEASING 0x00000002u
#endif
