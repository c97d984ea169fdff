/* Locations and servers room of smbcopy: the run's context, one connection
 * and session per server (and user), one tree per share, and sc_loc. */
#ifndef SMBCOPY_LOC_H
#define SMBCOPY_LOC_H

#include "transfer.h"

void sc_ctx_init(sc_ctx *ctx, const sc_opts *o);
void sc_ctx_free(sc_ctx *ctx);
/* Once every login of the run is done: wipes the passwords of -U, -A,
 * SMB_PASSWORD (in the environment itself) and of the URLs in ctx->args (the
 * servers keep their own copy when lanes is true, a copy inside one server
 * or a tree to or from a share, and --connections is not 1: its further
 * connections log in later). */
void sc_ctx_forget_passwords(sc_ctx *ctx, bool lanes);
/* Dialect of the first connection, or NULL. */
const char *sc_ctx_dialect(const sc_ctx *ctx);

/* Makes loc for a URL (connecting and logging in as needed) or a local path.
 * Returns an exit code (0 on success; the failure already reported). */
int sc_loc_open(sc_ctx *ctx, const char *arg, sc_loc *loc);
void sc_loc_free(sc_loc *loc);

/* Closes and frees what s holds (its trees, session and connection unless
 * borrowed, its kept passwords); s is zeroed. */
void sc_server_free(sc_server *s);
/* A further connection to from's server (--connections: the small files of
 * a tree): *to gets its own connection and session, logged in as from is,
 * with the run's reconnect policy (--retries), no trees yet. Returns 0, or
 * an SMBW error with a message in why (*to freed). */
int sc_server_lane(sc_ctx *ctx, const sc_server *from, sc_server *to, char *why, size_t whylen);
/* The tree of share on s (connected once; its protection noted). Returns 0
 * or an SMBW error with a message in why. */
int sc_server_lane_tree(sc_ctx *ctx, sc_server *s, const char *share, smbw_tree **out, char *why,
                        size_t whylen);
/* Prepares a new connection as the options ask (dialects, timeout, signing,
 * encryption, ciphers, logging). Returns 0 or an SMBW error. */
int sc_conn_setup(sc_ctx *ctx, smbw_conn *c);
/* Credentials for a login to srv as the options ask. */
smbw_creds sc_login_creds(const sc_ctx *ctx, const sc_server *srv);
/* Folds the protection of a session and one of its shares into ctx->prot. */
void sc_note_protection(sc_ctx *ctx, const smbw_conn *c, const smbw_session *s, const smbw_tree *t);

/* Whether c died of a dropped connection (SMBW_EIO or SMBW_ECLOSED), the
 * kind --retries brings back; false while it lives. */
bool sc_conn_dropped(const smbw_conn *c);
/* --retries, after a dropped connection (the caller's judgment): brings
 * back those of a and b (either may be NULL or both the same) that are dead
 * (smbw_conn_reconnect: same protection, same open files; each try counted
 * and told by reconnect_notify). Nothing is tried when --retries is 0, the
 * run is interrupted, the library's own reconnect (replay) already tried
 * --retries times (then "giving up" is said and *rerr is its error), or
 * *drops (the caller's count of drops; NULL: none kept) has reached
 * --retries ("giving up" said when say_limit); else *drops is counted up.
 * Returns whether the connections are back; *rerr: a failed reconnect's
 * error, else 0. */
bool sc_reconnect_dropped(sc_ctx *ctx, smbw_conn *a, smbw_conn *b, int *drops, bool say_limit,
                          int *rerr);

/* SMB bytes sent and received so far on the connections of a and b. */
uint64_t sc_traffic(const sc_loc *a, const sc_loc *b);
/* Whether a and b can name one file: both local, or both on one server
 * (the same connection, or equal nonzero ServerGuids). A local path and a
 * share are never taken for the same file (it cannot be told). */
bool sc_same_place(const sc_loc *a, const sc_loc *b);

#endif
