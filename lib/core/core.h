/* The sans-IO connection engine.
 *
 * The core never touches a socket: core_feed() gives it received bytes,
 * core_output() shows bytes waiting to be sent and core_consumed() says how
 * many went out. It assigns message ids, keeps the credit window, holds
 * requests that wait for credits, matches responses (compounded or not,
 * interim STATUS_PENDING included) to requests, signs/verifies and
 * encrypts/decrypts, keeps the pre-authentication hash, and enforces
 * per-request deadlines (core_check_timeouts()).
 *
 * lib/io drives it (sockets, poll); lib/api builds the public calls on it. */
#ifndef SMBW_CORE_H
#define SMBW_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smbwire/smbwire.h"
#include "../util/bytes.h"
#include "../wire/wire.h"
#include "sign.h"

struct smbw_auth;
typedef struct core_req core_req;

/* Called once per request: err 0 with the response (header decoded, whole
 * message msg/len, already validated by wire_check_response and signature
 * checks), or err < 0 (then h/msg are NULL) when the request failed locally,
 * timed out, or the connection died/was freed. A negative return (e.g.
 * SMBW_EPROTO from a decoder) kills the connection with that error. */
typedef int (*core_done_fn)(void *ud, int err, const smb2_hdr *h, const uint8_t *msg, size_t len);

struct smbw_session {
    smbw_conn *conn; /* NULL once the connection is gone */
    struct smbw_session *next, *prev;
    struct smbw_tree *trees;
    uint64_t id;
    bool valid;   /* setup completed */
    bool signing; /* sign requests / verify responses */
    bool encrypt; /* encrypt everything of this session */
    bool is_guest, is_anonymous;
    const char *auth_mech; /* static name of the mechanism that authenticated */
    uint16_t sign_alg;     /* SMB2_SIGN_ALG_* */
    smb2_keys keys;
    struct crypto_gmac *gmac; /* keys.signing's AES-GMAC, made at first use (core_sess_gmac) */
    uint8_t preauth[64];      /* session pre-auth hash (3.1.1) */
    /* What a reconnect needs to authenticate again (never the password). */
    int re_kind; /* enum smbw_auth_kind */
    char *re_user, *re_domain, *re_target;
    bool re_fallback;
};

struct smbw_tree {
    struct smbw_session *sess; /* NULL once detached */
    struct smbw_tree *next, *prev;
    struct smbw_file *files;
    uint32_t id;
    uint8_t share_type;
    uint32_t share_flags;
    uint32_t capabilities;
    uint32_t maximal_access;
    bool encrypt;
    char *share;
    /* Server-side copy limits learnt from the server (0 = not known yet). */
    uint32_t cc_max_chunks, cc_max_chunk_size, cc_max_total;
    /* FileFsAttributeInformation attributes (0 = not queried yet). */
    uint32_t fs_attributes;
    bool fs_attributes_known;
};

struct smbw_file {
    struct smbw_tree *tree; /* NULL once detached */
    struct smbw_file *next, *prev;
    uint8_t id[16];
    uint32_t create_action;
    smb2_file_times times;
    uint8_t *ctx; /* create response contexts */
    size_t ctx_len;
    uint64_t pos; /* for smbw_file_read/write */
    bool is_dir;
    /* A resume key the open came with (smbw_file_open_source). */
    bool has_key;
    uint8_t key[24];
    /* How it was opened, to reopen it after a reconnect (NULL path: it
     * cannot be reopened). */
    char *re_path; /* SMB path */
    uint32_t re_access, re_share, re_options, re_attrs;
    /* The server's on-disk id of the file (QFid), when it gave one. */
    bool has_disk_id;
    uint8_t disk_id[WIRE_DISK_ID_LEN];
    /* A durable open (DHnQ or DH2Q granted) and what reclaims it. */
    bool durable, durable_v2;
    uint8_t create_guid[16];
    /* The lease the durable v2 open holds (RqLs granted): its key and the
     * state left after the breaks acknowledged so far. */
    bool has_lease;
    uint8_t lease_key[16];
    uint32_t lease_state;
    uint16_t lease_epoch;
    /* The oplock level the open holds (granted, then lowered by the breaks
     * acknowledged so far; SMB2_OPLOCK_LEVEL_LEASE: a lease instead). */
    uint8_t oplock_level;
    /* Where the current reconnect is with it (lib/api/reconn.c):
     * API_RE_TODO, API_RE_BACK (reclaimed durably) or API_RE_REFUSED (its
     * reclaim refused: opened by path, durable again if the server agrees). */
    uint8_t re_state;
};

/* A piece of the output that is not in smbw_conn.out: a WRITE payload sent
 * from the caller's buffer (core_msg.tx_data), between out[at - 1] and
 * out[at]. */
typedef struct core_seg {
    size_t at;
    const uint8_t *p;
    size_t len;
    core_req *r; /* the request it belongs to (r->tx_queued until it is sent) */
} core_seg;
#define CORE_MAX_SEGS 32

struct smbw_conn {
    /* settings */
    uint16_t dialect_min, dialect_max;
    int timeout_ms;
    int (*intr_check)(void *); /* smbw_conn_set_interrupt */
    void *intr_ud;
    int intr_grace_ms;
    uint64_t intr_since; /* when an interrupt was first seen with requests in flight; 0 none */
    int sign_policy, encrypt_policy;
    uint16_t ciphers[4];
    int ncipher;
    uint16_t sign_algs[3]; /* SMB 3.1.1 SIGNING_CAPABILITIES, most preferred first */
    int nsign_alg;
    uint16_t extra_ctx_type; /* smbw_conn_add_negotiate_context; 0: none */
    uint8_t extra_ctx[64];
    uint16_t extra_ctx_len;
    /* smbw_conn_override_next: header fields for the next submitted request
     * (SMBW_HDR_* bits in ovr_set; 0: none), cleared by core_submit. */
    uint32_t ovr_set;
    uint64_t ovr_mid;
    uint16_t ovr_charge, ovr_credit_request;
    char *host;
    uint16_t port;
    uint8_t client_guid[16];
    bool keep_client_guid; /* NEGOTIATE again with the same ClientGuid (reconnect) */
    /* reconnect policy (smbw_conn_set_reconnect) and count */
    int re_retries, re_wait_ms;
    int (*re_password)(void *, const char *, const char *, char *, size_t);
    void *re_password_ud;
    void (*re_notify)(void *, int, int, const char *);
    void *re_notify_ud;
    uint64_t reconnects;
    bool re_durable;        /* ask for durable handles */
    bool re_replay;         /* resend requests in flight */
    bool re_durable_shared; /* durable opens that write ask for R|H, not R|W|H */
    uint16_t re_was_dialect, re_was_sign_alg, re_was_cipher; /* before the first drop */

    /* socket (owned by lib/io) */
    int fd;
    bool connecting; /* non-blocking connect in progress (smbw_conn_connect_async) */
    /* A transport in memory instead of the socket (tests and the whole-client
     * fuzzer; lib/io/adopt.h): called where the library would block in poll. */
    int (*pump)(smbw_conn *c, void *ud);
    void *pump_ud;

    /* negotiated */
    uint16_t dialect;
    uint16_t server_security_mode;
    uint32_t server_caps;
    uint8_t server_guid[16];
    uint32_t max_read, max_write, max_transact;
    uint16_t cipher;   /* 3.1.1 negotiated cipher, or CCM for 3.0/3.0.2 with encryption cap */
    uint16_t sign_alg; /* SMB2_SIGN_ALG_* used by sessions */
    uint8_t preauth[64];
    uint8_t *neg_token; /* server's SPNEGO hint */
    size_t neg_token_len;
    uint16_t client_security_mode;
    uint32_t client_caps;
    uint16_t offered[5]; /* dialects offered in NEGOTIATE, for VALIDATE_NEGOTIATE_INFO */
    uint16_t noffered;
    bool negotiate_validated;

    /* engine state */
    uint64_t next_mid;
    uint32_t credits;
    smbw_buf out;                /* frames ready to send */
    size_t out_off;              /* bytes of out already sent */
    core_seg seg[CORE_MAX_SEGS]; /* payloads sent from the caller's memory, in order */
    int nseg;                    /* seg[0..nseg) */
    int seg_first;               /* seg[0..seg_first) are sent */
    size_t seg_off;              /* bytes of seg[seg_first] sent (then out_off == its at) */
    /* Zero-copy receive: the data of the READ response being received goes
     * straight to its request's buffer (core_msg.rx_dst); rx_r is NULL
     * otherwise. The message up to DataOffset stays in `in`. */
    core_req *rx_r;
    uint8_t *rx_dst;
    size_t rx_need, rx_got;
    size_t rx_want;    /* requests in flight with a buffer of their own (rx_dst) */
    smbw_buf in;       /* received, not yet processed */
    core_req *pending; /* sent, waiting for a response (doubly linked) */
    size_t npending;
    core_req *wait_head, *wait_tail; /* built, waiting for credits */
    size_t max_frame;
    bool dead;
    int dead_err;
    int dispatching; /* > 0 while response callbacks run (re-entrancy guard) */
    /* Replay (smbw_reconnect_opts.replay): requests in flight when the
     * transport dropped, kept for io_revive to resend after a reconnect;
     * the reconnect itself (set by lib/api) and whether it runs now. */
    core_req *parked;
    int (*revive)(smbw_conn *c);
    bool reviving;
    uint16_t channel_seq;  /* ChannelSequence of 3.x requests: reconnects so far */
    uint64_t replays;      /* requests resent after a reconnect */
    struct dfs_state *dfs; /* referral cache and DFS targets (lib/api/dfs.c) */
    bool dfs_no_ex;        /* the server refused FSCTL_DFS_GET_REFERRALS_EX */

    struct smbw_session *sessions;

    /* errors */
    char errmsg[512];
    uint32_t last_status;

    smbw_conn_stats stats;

    /* Recycled message buffers (bodies, plaintext for encryption and
     * decryption): a 1 MiB WRITE every few hundred microseconds would
     * otherwise malloc and free (and page-fault) its buffer each time. */
    smbw_buf pool[8];
    int npool;

    /* logging */
    int log_level;
    smbw_log_fn log_fn;
    void *log_ud;
};

/* One message to submit. body is the command body (after the 64-byte header);
 * ownership passes to the core on core_submit (even on failure). */
typedef struct core_msg {
    uint16_t command;
    struct smbw_session *sess; /* NULL: session id 0, unsigned */
    uint32_t tree_id;
    uint32_t payload; /* bytes of READ/WRITE/IOCTL payload, for CreditCharge */
    smbw_buf body;
    core_done_fn done;
    void *ud;
    /* When set, the message as sent is folded into this pre-auth hash:
     * H = SHA-512(H || message) (NEGOTIATE and SESSION_SETUP, 3.1.1). */
    uint8_t *preauth_hash;
    uint64_t session_id_override; /* session setup before the session has an id */
    bool encrypt;                 /* encrypt even if the session does not (share demands it) */
    uint32_t hdr_flags;           /* more SMB2 header Flags (SMB2_FLAGS_DFS_OPERATIONS) */
    /* A READ or WRITE of this file that may be resent after a reconnect
     * (alone, not compounded): the FileId at body offset 16 then becomes
     * the file's new id, the session and tree ids its tree's. */
    struct smbw_file *replay_file;
    /* Bytes that follow the body on the wire, sent from this memory (not
     * copied when the message goes in the clear as the last of its frame):
     * they must stay valid and unchanged until done runs. */
    const uint8_t *tx_data;
    uint32_t tx_len;
    /* A READ's own buffer: when the response comes alone, in the clear (or
     * signed), its data is received straight into rx_dst (at most rx_cap
     * bytes), or decrypted straight into it when it comes alone in an
     * AES-GCM TRANSFORM frame, and done gets h->placed = its length with
     * msg ending at DataOffset; otherwise done gets the whole message as
     * usual. The buffer
     * must stay valid until done runs; after an error its content is
     * unspecified. */
    uint8_t *rx_dst;
    uint32_t rx_cap;
} core_msg;

/* Submits n messages; n > 1 makes a compound (related when `related`).
 * Returns 0 (callbacks will run) or an error (no callback runs). */
SMBW_WUR int core_submit(smbw_conn *c, core_msg *msgs, int n, bool related);
/* Sends what the credit window allows (called after submit and after input). */
SMBW_WUR int core_flush(smbw_conn *c);
/* Zero-copy receive: space to read into, then how many bytes arrived. */
SMBW_WUR int core_recv_space(smbw_conn *c, uint8_t **p, size_t *space);
SMBW_WUR int core_recv_commit(smbw_conn *c, size_t n);
/* A message buffer with room for at least `need` bytes, from the
 * connection's pool when it has one (b is initialised either way), and the
 * way back: buffers above 16 MiB or beyond the pool's size are freed. */
void core_buf_take(smbw_conn *c, smbw_buf *b, size_t need);
void core_buf_give(smbw_conn *c, smbw_buf *b);
/* Requests in flight or waiting for credits. */
size_t core_pending_count(const smbw_conn *c);
void core_forget_session(smbw_conn *c, struct smbw_session *s);
/* Sends SMB2 CANCEL for every request in flight; returns how many or an error. */
int core_cancel_all(smbw_conn *c);
/* Feed received bytes. Returns 0 or the fatal error that killed the connection. */
SMBW_WUR int core_feed(smbw_conn *c, const uint8_t *p, size_t len);
/* Bytes waiting to be sent: the next contiguous piece of them (more may
 * follow once it is consumed). */
const uint8_t *core_output(smbw_conn *c, size_t *len);
/* All of them as a scatter list (up to max pieces, in order): the count. */
typedef struct core_iov {
    const uint8_t *p;
    size_t len;
} core_iov;
int core_output_iov(smbw_conn *c, core_iov *iov, int max);
/* Whether anything waits to be sent. */
bool core_output_pending(const smbw_conn *c);
void core_consumed(smbw_conn *c, size_t n);
/* Monotonic milliseconds. */
uint64_t core_now_ms(void);
/* ms until the earliest deadline, -1 when nothing is pending. */
#define CORE_INTR_POLL_MS 100
int core_next_timeout(const smbw_conn *c);
/* Whether the program asked to stop waiting (smbw_conn_set_interrupt). */
bool core_interrupted(const smbw_conn *c);
/* Kills the connection with SMBW_ETIMEDOUT when a deadline passed. */
SMBW_WUR int core_check_timeouts(smbw_conn *c);
/* Marks the connection dead with err and completes every request with it. */
void core_kill(smbw_conn *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The session's AES-GMAC keyed with its signing key, made at its first use;
 * NULL when it signs otherwise or it could not be made (each message then
 * keys its own). core_sess_gmac_reset drops it (new keys, the session's end). */
struct crypto_gmac *core_sess_gmac(struct smbw_session *s);
void core_sess_gmac_reset(struct smbw_session *s);
/* Completes every request with err without killing (used by free). */
void core_fail_all(smbw_conn *c, int err);
/* Sets the connection's error message / status (returns err for chaining). */
int core_set_error(smbw_conn *c, int err, uint32_t status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void core_init(smbw_conn *c);
/* Logs when level <= the connection's level. Never pass secrets. */
void core_log(const smbw_conn *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *core_command_name(uint16_t cmd);
void core_reset(smbw_conn *c);
/* Back to the state of a new connection's engine (message ids, credits,
 * buffers, the negotiated facts), for a reconnect: requests still pending
 * are completed with SMBW_ECLOSED first. Settings, sessions and the
 * ClientGuid stay. The transport must be closed already. */
void core_restart(smbw_conn *c);
/* Replay: resends the parked requests (SMB2_FLAGS_REPLAY_OPERATION on those
 * sent before) with their file's new ids; a request whose file did not come
 * back completes with SMBW_EDEAD. Returns 0 or the connection's error. */
SMBW_WUR int core_replay_parked(smbw_conn *c);
/* Completes every parked request with err. */
void core_fail_parked(smbw_conn *c, int err);
size_t core_parked_count(const smbw_conn *c);
/* f is going away: no request may be resent for it any more. */
void core_forget_file(smbw_conn *c, const struct smbw_file *f);

#endif
