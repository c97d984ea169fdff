/* Helpers shared by the public API implementation (lib/api/). */
#ifndef SMBW_API_H
#define SMBW_API_H

#include "../core/core.h"
#include "../io/io.h"
#include "../util/status.h"

/* A synchronous call's result: the whole response message copied. */
typedef struct api_rsp {
    int done;
    int err;
    smb2_hdr h;
    smbw_buf msg;
} api_rsp;

void api_rsp_init(api_rsp *r);
void api_rsp_free(api_rsp *r);
/* core_done_fn that fills an api_rsp (ud) */
int api_rsp_done(void *ud, int err, const smb2_hdr *h, const uint8_t *msg, size_t len);

/* Submits n messages (their done/ud are set to fill rsps[i]) and waits for
 * all answers. Returns 0 when every message got a response (statuses are
 * in rsps[i].h.status) or the transport/core error. */
SMBW_WUR int api_call(smbw_conn *c, core_msg *msgs, int n, bool related, api_rsp *rsps);

/* A synchronous setup step: started on the core (api_setup_done as its
 * done callback, the wait as its ud), waited for with api_setup_wait_for,
 * which returns the step's result. */
typedef struct api_setup_wait {
    int done;
    int err;
} api_setup_wait;
void api_setup_done(void *ud, int err);
SMBW_WUR int api_setup_wait_for(smbw_conn *c, api_setup_wait *w);

/* NEGOTIATE on a connected c (c->fd set, c->host set): offers the configured
 * dialects and records the result. smbw_conn_connect calls it after connecting;
 * the fuzzers call it on a socket adopted with io_adopt_fd. */
SMBW_WUR int api_negotiate(smbw_conn *c);

/* Sets errmsg/last_status for a server error status on `what` and returns
 * the mapped SMBW_E* code. */
int api_status_error(smbw_conn *c, uint32_t status, const char *what);

/* Connection of a tree/file, or NULL (and error) when detached/dead. */
SMBW_WUR int api_tree_conn(smbw_tree *t, smbw_conn **c);
SMBW_WUR int api_file_conn(smbw_file *f, smbw_conn **c);

/* A core_msg for a tree (session, tree id, encryption flag). */
void api_msg_for_tree(core_msg *m, smbw_tree *t, uint16_t command);

/* UTF-8 path -> SMB path ('/' -> '\\', no leading separator, no empty
 * components). *out malloc'd. */
SMBW_WUR int api_path(const char *in, char **out);
/* A new connection (*out) with from's settings: dialects, timeout, signing
 * and encryption policies, ciphers, reconnect tries, wait and password
 * callback (a DFS target's connection; copy lanes add the rest). */
SMBW_WUR int api_conn_like(smbw_conn **out, const smbw_conn *from);

/* CREATE request body for path with the given parameters. */
SMBW_WUR int api_encode_create(smbw_buf *b, const char *smbpath, const smbw_create_params *p);
/* The same, asking for the file's on-disk id (QFid) first when qfid is set
 * (reconnects compare it). */
SMBW_WUR int api_encode_create_ex(smbw_buf *b, const char *smbpath, const smbw_create_params *p,
                                  bool qfid);
/* The same with a durable handle context dur (NULL: none) first, then a
 * lease context when lease is not NULL and asks for a state (the oplock
 * level is then SMB2_OPLOCK_LEVEL_LEASE), else a batch oplock when p asks
 * for none. */
SMBW_WUR int api_encode_create_dur(smbw_buf *b, const char *smbpath, const smbw_create_params *p,
                                   bool qfid, const smb2_durable_req *dur, const smb2_lease *lease);
/* Whether a CREATE with p asks for a durable handle (the policy's durable
 * flag; not for directories, nor when p brings its own oplock level or
 * contexts); fills *dur (a new CreateGuid for v2) and *lease: on SMB 3.x
 * with a server that announced SMB2_GLOBAL_CAP_LEASING and p asking for no
 * oplock, a version 2 lease R|W|H under a new random key (what durability
 * v2 needs instead of the batch oplock: MS-SMB2 3.3.5.9.10); else state 0,
 * no lease. */
bool api_durable_req(smbw_conn *c, const smbw_create_params *p, smb2_durable_req *dur,
                     smb2_lease *lease);
/* Records whether the server granted f's durable handle (its answer's
 * contexts), with the CreateGuid of dur, and the lease it granted under the
 * key of lease (NULL or state 0: none asked). */
void api_file_durable(smbw_conn *c, smbw_file *f, const smb2_durable_req *dur,
                      const smb2_lease *lease);
/* Whether the CREATEs of c ask for QFid (its reconnect policy is on). */
#define API_QFID(c) ((c)->re_retries > 0)

/* Keeps how f was opened (sp: its SMB path, malloc'd, now f's) so that a
 * reconnect can open it again. */
void api_file_remember(smbw_file *f, char *sp, const smbw_create_params *p);

/* The CREATE of path (UTF-8) on t with p into m (the DFS path form on a
 * DFS share; no durable or lease context; QFid as API_QFID). Returns 0 or
 * an error set on c (m then freed). */
SMBW_WUR int api_create_msg(smbw_conn *c, smbw_tree *t, const char *path,
                            const smbw_create_params *p, core_msg *m);
/* The answer r to such a CREATE: *f the new open, linked to t; or the
 * server's error (set on c, the message naming verb and path), SMBW_EPROTO
 * (a malformed answer: the connection is killed), SMBW_ENOMEM. */
SMBW_WUR int api_create_answer(smbw_conn *c, smbw_tree *t, const api_rsp *r, const char *verb,
                               const char *path, smbw_file **f);
/* Frees f; its CLOSE is sent when the connection can take it, the answer
 * not awaited. */
void api_close_nowait(smbw_file *f);

/* Registers/unregisters children (detaching support). */
void api_file_link(smbw_tree *t, smbw_file *f);
void api_file_unlink(smbw_file *f);
/* Replay (smbw_reconnect_opts.replay, SMB 3.x): whether a READ of f, or a
 * WRITE of len bytes at off, may be resent after a reconnect. Reads are
 * idempotent; a write only inside the end of file known at open (or set
 * since) on a durable handle, so a resent one never extends the file. */
bool api_replayable_read(const smbw_file *f);
bool api_replayable_write(const smbw_file *f, uint64_t off, size_t len);

/* DFS (dfs.c): where SMB path sp on t leads (*out borrowed: t itself, or a
 * tree the resolver keeps on root's state; *opath malloc'd); errors are set
 * on root. api_dfs_free releases root's DFS state (smbw_conn_free). */
SMBW_WUR int api_dfs_resolve(smbw_conn *root, smbw_tree *t, const char *sp, smbw_tree **out,
                             char **opath);
void api_dfs_free(smbw_conn *c);

#define FILE_ID_RELATED "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"

#endif
