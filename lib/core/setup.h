/* Connection setup as steps of the core: NEGOTIATE, the SESSION_SETUP legs
 * and TREE_CONNECT (with VALIDATE_NEGOTIATE_INFO on 3.0/3.0.2).
 *
 * Each exchange is split into a build step (state -> request message, no
 * I/O) and an apply step (response message -> state, no I/O), so each can be
 * tested by feeding it bytes and so every request of the client, setup
 * included, travels through core_submit and completes through a
 * core_done_fn. Nothing here waits: lib/api's synchronous calls wrap these
 * steps, and the event-loop API runs them from smbw_conn_service. */
#ifndef SMBW_CORE_SETUP_H
#define SMBW_CORE_SETUP_H

#include "core.h"

struct smbw_auth;

/* Sets errmsg/last_status for a server error status on `what` and returns
 * the mapped SMBW_E* code (SMBW_ESTATUS when the status has no mapping). */
int core_status_error(smbw_conn *c, uint32_t status, const char *what);

/* ---- NEGOTIATE ---------------------------------------------------------- */

/* Chooses what to offer (dialect range, signing policy, ciphers, c->host as
 * NETNAME), records it in c (client GUID, security mode, capabilities, the
 * offered dialects), resets the connection's pre-auth hash and fills *m (body,
 * command, pre-auth hash; done/ud left to the caller). Returns 0 or an error
 * (m then owns nothing). */
SMBW_WUR int setup_negotiate_build(smbw_conn *c, core_msg *m);
/* Applies the NEGOTIATE response (h, whole message msg/len) to c: dialect,
 * server capabilities and limits, cipher and signing algorithm, pre-auth
 * hash, the server's SPNEGO hint. A malformed or inconsistent answer kills
 * the connection (SMBW_EPROTO); an error status returns its error
 * (SMBW_EDIALECT for "not supported"). */
SMBW_WUR int setup_negotiate_apply(smbw_conn *c, const smb2_hdr *h, const uint8_t *msg, size_t len);

/* ---- SESSION_SETUP -------------------------------------------------------- */

/* One session being set up: the authentication mechanism, the session
 * object (linked into the connection from setup_sess_begin on, with id 0
 * until the server gives one), the server's last token. */
typedef struct setup_sess {
    smbw_conn *c;
    struct smbw_session *s;
    struct smbw_auth *a;
    int kind;          /* enum smbw_auth_kind */
    smbw_buf in;       /* server token for the next leg */
    smbw_buf tok;      /* client token of the leg in flight (secret) */
    int legs;          /* SESSION_SETUP requests built */
    int last_step;     /* auth_step result of the leg in flight */
    bool have_in;      /* in holds a token (else c->neg_token is used) */
    uint64_t previous; /* PreviousSessionId: the session a reconnect replaces, or 0 */
} setup_sess;

/* Return of setup_sess_apply: another leg is needed. */
#define SETUP_MORE 1

/* Checks the credentials, starts the mechanism and creates the session.
 * On error nothing is left to release. */
SMBW_WUR int setup_sess_begin(setup_sess *st, smbw_conn *c, const smbw_creds *creds);
/* Runs the mechanism on the server's last token and fills *m with the next
 * SESSION_SETUP request (done/ud left to the caller). */
SMBW_WUR int setup_sess_build(setup_sess *st, core_msg *m);
/* Applies a SESSION_SETUP response: SETUP_MORE when another leg follows
 * (build again), 0 when the session is established (keys derived, final
 * signature checked), or an error. */
SMBW_WUR int setup_sess_apply(setup_sess *st, const smb2_hdr *h, const uint8_t *msg, size_t len);
/* Ends the setup: with rc 0 hands the established session to *out; else
 * unlinks and frees it (an SMBW_ECRYPTO failure kills the connection: the
 * server could not prove who it is). Always releases the mechanism. Returns
 * rc. */
int setup_sess_end(setup_sess *st, int rc, struct smbw_session **out);

/* Frees a session object (unlinked) and what it holds, wiped. */
void setup_sess_destroy(struct smbw_session *s);
/* Removes a session from its connection's list. */
void setup_sess_unlink(struct smbw_session *s);

/* ---- TREE_CONNECT ------------------------------------------------------- */

/* TREE_CONNECT request for \\host\share on session s into *m. */
SMBW_WUR int setup_tree_build(struct smbw_session *s, const char *share, core_msg *m);
/* Applies a TREE_CONNECT response: a new tree (not yet linked into the
 * session) in *out. */
SMBW_WUR int setup_tree_apply(struct smbw_session *s, const char *share, const smb2_hdr *h,
                              const uint8_t *msg, size_t len, struct smbw_tree **out);
/* Whether the tree must prove the negotiation first (3.0/3.0.2, signed
 * session, not yet validated on this connection: MS-SMB2 3.2.5.5). */
bool setup_tree_needs_validate(const struct smbw_tree *t);
/* FSCTL_VALIDATE_NEGOTIATE_INFO over tree t into *m. */
SMBW_WUR int setup_validate_build(struct smbw_tree *t, core_msg *m);
/* Checks its answer; any mismatch kills the connection (SMBW_ECRYPTO). */
SMBW_WUR int setup_validate_apply(smbw_conn *c, const smb2_hdr *h, const uint8_t *msg, size_t len);
/* Links an established tree into its session. */
void setup_tree_link(struct smbw_tree *t);
/* Frees a tree that was never linked. */
void setup_tree_discard(struct smbw_tree *t);

/* ---- the steps driven by the core -------------------------------------------
 * Each start function builds and submits the first request; the rest runs
 * from the core's completion callbacks (smbw_conn_service, or any wait on
 * the connection): each answer is applied and the next leg submitted, until
 * done(ud, err) runs once with the result. A start function returns 0 (done
 * will run, also when the connection dies or is freed: then with its error)
 * or an error (done will not run). */
typedef void (*setup_done_fn)(void *ud, int err);

/* NEGOTIATE on a connection whose transport is attached (or being
 * connected: the request waits in the core's output). */
SMBW_WUR int setup_negotiate_start(smbw_conn *c, setup_done_fn done, void *ud);
/* All SESSION_SETUP legs; on success *out is the established session (out
 * must stay valid until done runs). creds are used by this call only.
 * previous: the id of the session this one replaces after a dropped
 * connection (PreviousSessionId, MS-SMB2 2.2.5: the server tears that
 * session down before it answers, so its durable opens become
 * disconnected and can be reclaimed), else 0. */
SMBW_WUR int setup_session_start(smbw_conn *c, const smbw_creds *creds, uint64_t previous,
                                 struct smbw_session **out, setup_done_fn done, void *ud);
/* TREE_CONNECT (and VALIDATE_NEGOTIATE_INFO when needed); on success *out is
 * the tree, linked into s. */
SMBW_WUR int setup_tree_start(struct smbw_session *s, const char *share, struct smbw_tree **out,
                              setup_done_fn done, void *ud);

/* Names for logs and getters. */
const char *setup_sign_alg_name(uint16_t a);
const char *setup_cipher_name(uint16_t c);

#endif
