/* smbwire — an SMB2/SMB3 client library.
 *
 * Object model: smbw_conn (one TCP connection, negotiated dialect, credits)
 *   -> smbw_session (one authenticated user, keys, signing state)
 *   -> smbw_tree (one share) -> smbw_file (one open).
 *
 * Conventions
 *  - Functions return 0 on success or a negative SMBW_E* code (errors.h).
 *    When the server answered with an error NTSTATUS, smbw_last_status(conn)
 *    returns it and smbw_status_name() names it. smbw_conn_errmsg(conn) holds
 *    a one-line description of the last failure on that connection.
 *  - Constructors (`smbw_X_new`, `smbw_X_connect`, `smbw_file_open`) give the
 *    caller ownership of *out; release it with the matching smbw_X_free (the one
 *    destructor verb: it also says goodbye to the server, best effort —
 *    LOGOFF, TREE_DISCONNECT, CLOSE). *out is set to NULL on failure.
 *  - Parameter order: a function that makes a new object (the constructors,
 *    smbw_url_parse) takes its **out first; an operation on an object takes
 *    the object first, then its inputs, then what it fills in.
 *  - Getters returning pointers return borrowed memory owned by the object and
 *    valid until it is freed.
 *  - Freeing a parent before its children is allowed: children are detached
 *    (every later call on them fails with SMBW_EDEAD) but still need their own
 *    free. Freeing a connection completes its pending async requests with
 *    SMBW_ECANCELED first.
 *  - Threads: a connection and everything under it is used by one thread at a
 *    time. Different connections may be used concurrently from different
 *    threads. There is no global mutable state.
 *  - Paths are UTF-8 with '/' or '\\' separators, relative to the share root.
 *  - Every wait is bounded by the connection timeout (smbw_conn_set_timeout).
 *  - After a fatal protocol or crypto error the connection is dead: every
 *    later call fails with SMBW_EDEAD and smbw_conn_errmsg() says why.
 *  - Errors. Each function's comment lists what it returns ("Errors: ...";
 *    a comment above a group of declarations covers the group). Two groups
 *    recur:
 *    "the request errors", from any call that sends a request and waits:
 *      SMBW_EDEAD (the connection died earlier), SMBW_ETIMEDOUT, SMBW_EIO,
 *      SMBW_ECLOSED (the server closed the connection), SMBW_ECANCELED
 *      (the interrupt check, smbw_conn_set_interrupt), SMBW_EPROTO and
 *      SMBW_ECRYPTO (a malformed answer, or one failing its signature or
 *      decryption: the connection is then dead), SMBW_EBUSY (called from an
 *      asynchronous callback), SMBW_ENOMEM;
 *    "the server's errors", when the server answers with an error status
 *      (kept in smbw_last_status): SMBW_ENOENT, SMBW_EEXIST, SMBW_EACCES,
 *      SMBW_ENOSPC, SMBW_ENOTDIR, SMBW_EISDIR, SMBW_ENOTEMPTY, SMBW_EAUTH,
 *      SMBW_ENOTSUP, SMBW_ECANCELED, SMBW_ETIMEDOUT, or SMBW_ESTATUS for any
 *      other status.
 *    SMBW_EINVAL always means a NULL or out-of-range argument, or a call in
 *    the wrong state (smbw_conn_errmsg says which when there is a connection).
 *    Functions that return something other than a status (getters, names)
 *    never fail; they say what they return for NULL.
 */
#ifndef SMBWIRE_SMBWIRE_H
#define SMBWIRE_SMBWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "fscc.h"
#include "ntstatus.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility: what is declared here is its
 * exported API, and nothing else is. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* The version of the headers a program is compiled against (meson.build's
 * project version; the build checks that they agree). */
#define SMBW_VERSION "0.1.0"
#define SMBW_VERSION_MAJOR 0
#define SMBW_VERSION_MINOR 1
#define SMBW_VERSION_PATCH 0

/* The version of the library the program runs with, e.g. "0.1.0" (static
 * string); with a shared library it may differ from SMBW_VERSION. Never
 * fails. */
const char *smbw_version(void);

typedef struct smbw_conn smbw_conn;
typedef struct smbw_session smbw_session;
typedef struct smbw_tree smbw_tree;
typedef struct smbw_file smbw_file;
typedef struct smbw_dir smbw_dir;

/* ---- errors ---------------------------------------------------------- */

/* Static message for an SMBW_E* code ("unknown error" for others). */
const char *smbw_strerror(int err);
/* Symbolic name of an SMBW_E* code, e.g. "SMBW_EAUTH". */
const char *smbw_error_name(int err);
/* Category of an SMBW_E* code: SMBW_CAT_NONE for 0, SMBW_CAT_USAGE for a
 * value that is not an SMBW_E* code. */
enum smbw_error_category smbw_error_category(int err);
/* Name of an NTSTATUS: "STATUS_OBJECT_NAME_NOT_FOUND" for 0xC0000034
 * (SMBW_STATUS_OBJECT_NAME_NOT_FOUND), every row of SMBW_NTSTATUS_TABLE
 * (ntstatus.h); "STATUS_UNKNOWN" for other values. Static string. */
const char *smbw_status_name(uint32_t status);

/* ---- dialects -------------------------------------------------------- */

#define SMBW_SMB2_02 0x0202
#define SMBW_SMB2_10 0x0210
#define SMBW_SMB3_00 0x0300
#define SMBW_SMB3_02 0x0302
#define SMBW_SMB3_11 0x0311

/* "SMB2_02" etc. to a dialect; 0 when unknown. Accepts "2.0.2", "3.1.1" too. */
uint16_t smbw_dialect_parse(const char *name);
/* Dialect to "SMB2_02" .. "SMB3_11" (static string). */
const char *smbw_dialect_name(uint16_t dialect);

/* ---- connection ------------------------------------------------------ */

/* Signing policy (smbw_conn_set_signing). */
enum smbw_sign_policy {
    SMBW_SIGN_AUTO = 0,     /* sign when the server offers or requires it */
    SMBW_SIGN_REQUIRED = 1, /* fail unless the session is signed */
};
/* Encryption policy (smbw_conn_set_encryption). */
enum smbw_encrypt_policy {
    SMBW_ENCRYPT_AUTO = 0,     /* encrypt when the server/share demands it */
    SMBW_ENCRYPT_REQUIRED = 1, /* fail unless the session is encrypted */
};

/* A new, unconnected connection object with default settings:
 * dialects 2.0.2 .. 3.1.1, timeout 30 s, signing auto.
 * Errors: SMBW_EINVAL (out NULL), SMBW_ENOMEM. */
int smbw_conn_new(smbw_conn **out);
/* Allowed dialect range; both inclusive; 0 keeps the current bound.
 * Errors: SMBW_EINVAL (c NULL, an unknown dialect, min > max). */
int smbw_conn_set_dialects(smbw_conn *c, uint16_t min, uint16_t max);
/* Timeout for every wait (connect, each request) in milliseconds (> 0).
 * Errors: SMBW_EINVAL (c NULL, timeout_ms <= 0). */
int smbw_conn_set_timeout(smbw_conn *c, int timeout_ms);
/* Lets a program end waits early, e.g. on SIGINT: every function that waits
 * on c (synchronous calls, smbw_conn_service, smbw_conn_drain, connecting)
 * calls interrupted(ud) at least every 100 ms while it waits (as long as the
 * check is set, smbw_conn_next_timeout never says more than 100 ms). When
 * it returns nonzero, the requests in flight get grace_ms (0-60000) more to
 * complete (so a cancelled copy can still end cleanly on a server that
 * answers); if any is still unanswered then, the connection is ended: it is
 * dead with SMBW_ECANCELED ("interrupted"), every request completes with
 * that error and every wait returns. A connect in progress ends at once. NULL
 * removes the check.
 * Errors: SMBW_EINVAL (c NULL, grace_ms out of range). */
int smbw_conn_set_interrupt(smbw_conn *c, int (*interrupted)(void *ud), void *ud, int grace_ms);
/* Signing and encryption policies (before smbw_conn_connect). Errors:
 * SMBW_EINVAL (c NULL, an unknown policy). */
int smbw_conn_set_signing(smbw_conn *c, enum smbw_sign_policy p);
int smbw_conn_set_encryption(smbw_conn *c, enum smbw_encrypt_policy p);
/* Encryption ciphers (the SMB 3.1.1 cipher ids, MS-SMB2 2.2.3.1.2). */
enum smbw_cipher {
    SMBW_CIPHER_NONE = 0, /* smbw_cipher_parse: unknown name */
    SMBW_CIPHER_AES_128_CCM = 1,
    SMBW_CIPHER_AES_128_GCM = 2,
    SMBW_CIPHER_AES_256_CCM = 3,
    SMBW_CIPHER_AES_256_GCM = 4,
};
/* SMB 3.1.1 cipher preference, most preferred first: 1 to 4 distinct
 * SMBW_CIPHER_* other than NONE. SMB 3.0/3.0.2 always use AES-128-CCM.
 * Call before smbw_conn_connect. Errors: SMBW_EINVAL (c or ciphers NULL, n
 * out of range, an unknown or repeated cipher, or already connected). */
int smbw_conn_set_ciphers(smbw_conn *c, const enum smbw_cipher *ciphers, int n);
/* Signing algorithms (the SMB 3.1.1 ids, MS-SMB2 2.2.3.1.7). */
enum smbw_sign_alg {
    SMBW_SIGN_ALG_HMAC_SHA256 = 0,
    SMBW_SIGN_ALG_AES_128_CMAC = 1,
    SMBW_SIGN_ALG_AES_128_GMAC = 2,
};
/* SMB 3.1.1 signing algorithms offered in SIGNING_CAPABILITIES, most
 * preferred first: 1 to 3 distinct SMBW_SIGN_ALG_* (default GMAC, CMAC,
 * HMAC-SHA256). A server that chooses one not offered is a protocol error;
 * one that sends no choice means AES-128-CMAC. Earlier dialects have fixed
 * algorithms (HMAC-SHA256 for 2.x, AES-128-CMAC for 3.0/3.0.2). Call before
 * smbw_conn_connect. Errors: SMBW_EINVAL (c or algs NULL, n out of range, an
 * unknown or repeated algorithm, or already connected). */
int smbw_conn_set_signing_algs(smbw_conn *c, const enum smbw_sign_alg *algs, int n);
/* One more SMB 3.1.1 negotiate context (MS-SMB2 2.2.3.1) of the given type
 * and data (at most 64 bytes), sent after the library's own in NEGOTIATE when
 * 3.1.1 is offered; a later call replaces it. For programs that check a
 * server (smbconform: a server ignores a context type it does not know,
 * 3.3.5.4). Call before smbw_conn_connect. Errors: SMBW_EINVAL (c NULL, data
 * NULL with len > 0, len over 64, type 0 or one the library sends itself:
 * 1 preauth, 2 encryption, 5 netname, 8 signing; or already connected). */
int smbw_conn_add_negotiate_context(smbw_conn *c, uint16_t type, const void *data, size_t len);
/* "AES-128-GCM" etc. (any case) to SMBW_CIPHER_*; SMBW_CIPHER_NONE when
 * unknown or NULL. */
enum smbw_cipher smbw_cipher_parse(const char *name);
/* Connects over TCP (IPv4 or IPv6; host is a name or a literal address,
 * without brackets) and negotiates. port 0 means 445.
 * Errors: SMBW_EINVAL, SMBW_ERESOLVE, SMBW_ECONNREFUSED, SMBW_EDIALECT (no dialect in the
 * allowed range), SMBW_EPOLICY (the dialect cannot sign or encrypt as required), the request
 * errors. */
int smbw_conn_connect(smbw_conn *c, const char *host, uint16_t port);
/* Negotiated dialect (0 before negotiate). */
uint16_t smbw_conn_dialect(const smbw_conn *c);
/* The ServerGuid of the NEGOTIATE answer (tells whether two connections
 * reach one server). Errors: SMBW_EINVAL (a NULL argument, before a
 * negotiate). */
int smbw_conn_server_guid(const smbw_conn *c, uint8_t guid[16]);
/* The Capabilities (SMB2_GLOBAL_CAP_*) and SecurityMode (SMB2_NEGOTIATE_SIGNING_*)
 * fields of the server's NEGOTIATE answer, as sent (0 before a negotiate).
 * For programs that report on a server, such as smbconform. */
uint32_t smbw_conn_server_capabilities(const smbw_conn *c);
uint16_t smbw_conn_server_security_mode(const smbw_conn *c);
/* The cipher the connection negotiated for encryption ("AES-128-GCM" ...,
 * "none" when it has none); whether a session or tree uses it is told by
 * smbw_session_encrypted / smbw_tree_encrypted. */
const char *smbw_conn_cipher(const smbw_conn *c);
/* Negotiated maximum sizes. */
uint32_t smbw_conn_max_read(const smbw_conn *c);
uint32_t smbw_conn_max_write(const smbw_conn *c);
uint32_t smbw_conn_max_transact(const smbw_conn *c);
/* Last failure message (never NULL; "" when none). */
const char *smbw_conn_errmsg(const smbw_conn *c);
/* NTSTATUS of the last server error answer (0 when the last failure had none). */
uint32_t smbw_last_status(const smbw_conn *c);
/* True once a fatal error has killed the connection. */
bool smbw_conn_is_dead(const smbw_conn *c);
/* The error that killed the connection (SMBW_EIO, SMBW_ECLOSED,
 * SMBW_ETIMEDOUT, SMBW_EPROTO ...), 0 while it lives or for NULL: after
 * SMBW_EDEAD from a call, tells whether a reconnect makes sense (a dropped
 * transport) or not (a server that broke the protocol). Errors: none of
 * its own (it returns the recorded one). */
int smbw_conn_dead_error(const smbw_conn *c);
/* Sends an ECHO and waits for its answer.
 * Errors: SMBW_EINVAL (c NULL or not connected), the request errors, the server's errors. */
int smbw_conn_echo(smbw_conn *c);
/* Closes the socket, cancels pending requests, frees. NULL is fine. */
void smbw_conn_free(smbw_conn *c);

/* Credits the server has granted that the connection has not spent yet:
 * how many more MessageIds it may use now (MS-SMB2 3.2.4.1.6). 0 for NULL
 * or before a connect. */
uint32_t smbw_conn_credits(const smbw_conn *c);
/* The MessageId the connection's next request gets: the lowest it has not
 * used (0 for NULL). With smbw_conn_credits, the server's window is
 * [next, next + credits) while nothing is in flight. */
uint64_t smbw_conn_next_message_id(const smbw_conn *c);

/* ---- checking servers: one request with chosen header fields ----------
 * For programs that test how a server answers what a correct client never
 * sends (smbconform: a reused MessageId, one beyond the credit window, a
 * CreditCharge too small for the payload, a request in the clear on a
 * session that must encrypt). A program that only uses servers never needs
 * it. smbw_conn_override_next sets fields for the NEXT request submitted on
 * the connection by any call (smbw_conn_echo, smbw_file_pread,
 * smbw_tree_connect ...; for a compound, its first message), once: the
 * request after it is built as usual again. Bits of `set`: */
/* MessageId = message_id. The connection's own numbering does not advance
 * (a later request may get the same id). It must not be the id of a request
 * in flight (the call that submits it then fails with SMBW_EINVAL). */
#define SMBW_HDR_MESSAGE_ID 0x01u
/* CreditCharge = credit_charge; the request takes that many MessageIds and
 * credits of the connection (0 counts as 1). */
#define SMBW_HDR_CREDIT_CHARGE 0x02u
/* CreditRequest = credit_request. */
#define SMBW_HDR_CREDIT_REQUEST 0x04u
/* Sent in the clear, signed with the session's key, on a session or share
 * that encrypts (for a compound: all of it); its answer is accepted
 * unencrypted when it is signed and verifies. */
#define SMBW_HDR_UNENCRYPTED 0x08u
typedef struct smbw_header_override {
    size_t size;  /* sizeof(smbw_header_override): set by SMBW_HEADER_OVERRIDE_INIT */
    uint32_t set; /* SMBW_HDR_* bits: which fields below apply (0: none) */
    uint64_t message_id;
    uint16_t credit_charge;
    uint16_t credit_request;
} smbw_header_override;
#define SMBW_HEADER_OVERRIDE_INIT SMBW_SIZED_INIT_(smbw_header_override)
/* Makes o (copied at once) apply to the next request submitted on c; a
 * later call replaces an override not used yet, and set 0 removes it (so
 * does a reconnect: the new NEGOTIATE never takes it). The
 * server's answer, or its ending the connection, comes back through that
 * request's call as usual. Errors: SMBW_EINVAL (c or o NULL, o not from
 * SMBW_HEADER_OVERRIDE_INIT, unknown bits in set, c not connected),
 * SMBW_ENOTSUP (o has fields this library does not know, set), SMBW_EDEAD. */
int smbw_conn_override_next(smbw_conn *c, const smbw_header_override *o);

/* Logging. Messages describe protocol events (connect, negotiate results,
 * session/tree setup, each request and answer at TRACE); they never contain
 * passwords, hashes, keys, tickets or file data, at any level. The callback
 * runs on the thread using the connection. level 0 disables logging. */
enum smbw_log_level {
    SMBW_LOG_NONE = 0,
    SMBW_LOG_ERROR = 1,
    SMBW_LOG_INFO = 2,
    SMBW_LOG_DEBUG = 3,
    SMBW_LOG_TRACE = 4,
};
typedef void (*smbw_log_fn)(void *userdata, enum smbw_log_level level, const char *message);
/* Messages up to level go to fn (NULL fn or SMBW_LOG_NONE: no logging).
 * Errors: SMBW_EINVAL (c NULL, level not an smbw_log_level). */
int smbw_conn_set_log(smbw_conn *c, enum smbw_log_level level, smbw_log_fn fn, void *userdata);

/* Traffic counters since connect (bytes of SMB2 messages, excluding the
 * 4-byte transport header). */
typedef struct smbw_conn_stats {
    uint64_t bytes_sent;
    uint64_t bytes_received;
    uint64_t requests;
} smbw_conn_stats;
void smbw_conn_get_stats(const smbw_conn *c, smbw_conn_stats *st);

/* ---- sessions -------------------------------------------------------- */

enum smbw_auth_kind {
    SMBW_AUTH_NTLM = 0,      /* NTLMv2 with user/password */
    SMBW_AUTH_ANONYMOUS = 1, /* explicit anonymous (null session) */
    SMBW_AUTH_GUEST = 2,     /* explicit guest */
    SMBW_AUTH_KERBEROS = 3,  /* Kerberos from the credential cache (KRB5CCNAME) */
};

/* Option structs that may grow (smbw_creds, smbw_copy_opts) begin with their
 * size as the caller was compiled: start each from its _INIT macro
 *   smbw_creds cr = SMBW_CREDS_INIT;
 * and set fields by name. The library reads only the fields the caller's size
 * covers (later fields count as zero), so a program built against an older
 * header keeps working with a newer library; a size smaller than the first
 * version's (e.g. a plain {0}) is refused with SMBW_EINVAL. Fields this
 * library does not know must be zero (SMBW_ENOTSUP otherwise). */
#ifdef __cplusplus
#define SMBW_SIZED_INIT_(type)                                                                     \
    ([] {                                                                                          \
        type v_ = type();                                                                          \
        v_.size = sizeof(type);                                                                    \
        return v_;                                                                                 \
    }())
#else
#define SMBW_SIZED_INIT_(type)                                                                     \
    {                                                                                              \
        .size = sizeof(type)                                                                       \
    }
#endif

typedef struct smbw_creds {
    size_t size; /* sizeof(smbw_creds): set by SMBW_CREDS_INIT */
    enum smbw_auth_kind kind;
    const char *user;     /* UTF-8 */
    const char *domain;   /* NULL or "" for none */
    const char *password; /* UTF-8; read during the call only, never kept */
    /* Kerberos: the host part of the service principal (cifs/HOST). NULL means
     * the host given to smbw_conn_connect. */
    const char *target_host;
    /* Kerberos only: when no ticket can be had, fall back to NTLMv2 with
     * user/password instead of failing. Off by default: never a silent
     * downgrade. */
    bool kerberos_fallback_ntlm;
} smbw_creds;
/* Kind NTLM, everything else empty; see "Option structs" above. */
#define SMBW_CREDS_INIT SMBW_SIZED_INIT_(smbw_creds)

/* Authenticates a new session on c (SESSION_SETUP). A server that answers a
 * user login as guest or anonymous is refused unless that kind was asked.
 * creds must come from SMBW_CREDS_INIT. Errors: SMBW_EINVAL (a NULL
 * argument, creds->size unset, not connected), SMBW_ENOTSUP (creds fields
 * unknown to this library set), SMBW_EDEAD, SMBW_EAUTH (refused, or a
 * guest/anonymous answer to a user login), SMBW_EKRB5, SMBW_EPOLICY (the
 * server cannot sign or encrypt as required), SMBW_ECRYPTO, SMBW_ENOMEM, and
 * the waiting errors (SMBW_ETIMEDOUT, SMBW_EIO, SMBW_ECLOSED, SMBW_ECANCELED). */
int smbw_session_new(smbw_session **out, smbw_conn *c, const smbw_creds *creds);
/* True when messages of this session are signed. */
bool smbw_session_signed(const smbw_session *s);
/* True when messages of this session are encrypted. */
bool smbw_session_encrypted(const smbw_session *s);
/* Signing algorithm name ("HMAC-SHA256", "AES-128-CMAC", "AES-128-GMAC") or "none". */
const char *smbw_session_signing_alg(const smbw_session *s);
/* Cipher name ("AES-128-CCM" ...) or "none". */
const char *smbw_session_cipher(const smbw_session *s);
/* How the session authenticated: "NTLMv2", "Kerberos", "guest",
 * "anonymous" (static string; "none" for NULL). With
 * smbw_creds.kerberos_fallback_ntlm this tells whether the fallback was
 * taken; the reason is then logged at SMBW_LOG_INFO. */
const char *smbw_session_auth_mech(const smbw_session *s);
/* Logs off (best effort) and frees. NULL is fine. */
void smbw_session_free(smbw_session *s);

/* ---- reconnect ------------------------------------------------------- */

/* Asked for the password of user (domain may be "") when a session has to
 * authenticate again after a reconnect: write it, NUL-terminated and UTF-8,
 * into buf (size bytes, the library's own, wiped after use) and return 0, or
 * return a negative SMBW_E* to give up (SMBW_EAUTH is a good choice). The
 * caller keeps the secret; the library never keeps a password. Sessions that
 * use Kerberos, guest or anonymous never call it. */
typedef int (*smbw_password_fn)(void *ud, const char *user, const char *domain, char *buf,
                                size_t size);
/* Told about each try of smbw_conn_reconnect: try (1, 2, ...), err (0 when
 * the connection, its sessions, trees and open files are back), and a
 * message (the error's detail, or "reconnected"). */
typedef void (*smbw_reconnect_fn)(void *ud, int attempt, int err, const char *msg);
typedef struct smbw_reconnect_opts {
    size_t size; /* sizeof(smbw_reconnect_opts): set by SMBW_RECONNECT_OPTS_INIT */
    /* Tries per reconnect (0: the policy is off; smbw_conn_reconnect still
     * makes one try when called). */
    int retries;
    /* The wait before the second try in ms; each later wait is twice the
     * one before, at most 30 s. The first try starts at once. */
    int wait_ms;
    smbw_password_fn password;
    void *password_ud;
    smbw_reconnect_fn notify;
    void *notify_ud;
    /* Ask for durable handles (MS-SMB2 3.2.4.3.5: DH2Q on SMB 3.x with a
     * lease when the server announces leasing (R|W|H; R|H for an open
     * without write access, or with durable_shared), else with a batch
     * oplock; DHnQ on 2.x, with a batch oplock) for the opens of
     * smbw_file_create and smbw_file_open, and reclaim them (DH2C with the
     * same lease key, DHnC) on reconnect before falling back to opening by
     * path. The library acknowledges the lease and oplock breaks its own
     * connection receives; another connection of the same
     * program opening such a file waits for the break until this connection
     * is serviced (or the server's break timeout). Needs retries > 0. */
    bool durable;
    /* Replay (SMB 3.x; needs retries > 0): when the transport drops while
     * every request in flight on c is a READ or WRITE of smbw_file_pread*,
     * smbw_file_pwrite* that may be sent again (any READ of a file opened by
     * path; a WRITE only on a durable handle and inside the end of file known
     * at open or set since), the function waiting on c (smbw_conn_wait,
     * smbw_conn_drain, any blocking call) reconnects by itself as
     * smbw_conn_reconnect does and sends them again, with
     * SMB2_FLAGS_REPLAY_OPERATION on those that had gone out and the new
     * ChannelSequence (one more per reconnect, MS-SMB2 3.2.4.1.x, 3.3.5.2.10);
     * their callbacks then run with the answers as if nothing happened. A
     * request is sent again at most retries times. Anything else in flight
     * (a WRITE past the end of file, an IOCTL such as copychunk, a CREATE, a
     * compound) makes every request fail as without replay: the caller goes
     * on from what it knows was done. A reconnect that fails completes them
     * with its error. */
    bool replay;
    /* With durable on SMB 3.x and a server that announces leasing: the
     * durable opens that may write ask for a lease R|H as read-only ones do,
     * without the Write state (the library caches nothing, so it gains
     * nothing from it). Another connection's open of the same file, for
     * writing too, then breaks nothing and never waits for this connection
     * to be serviced: for a file written over several connections at once,
     * as the lanes of smbw_copy_range_multi do (each lane's connection with
     * this policy). Off: R|W|H, so that the server tells of any other open
     * (its Write state broken) before another client writes. */
    bool durable_shared;
} smbw_reconnect_opts;
#define SMBW_RECONNECT_OPTS_INIT SMBW_SIZED_INIT_(smbw_reconnect_opts)
/* Sets the reconnect policy of c (copied; NULL turns it off). Errors:
 * SMBW_EINVAL (c NULL, opts->size unset, retries or wait_ms negative or
 * retries over 100), SMBW_ENOTSUP (opts fields unknown to this library set). */
int smbw_conn_set_reconnect(smbw_conn *c, const smbw_reconnect_opts *opts);
/* After the transport of c died (or at any time: the old transport is
 * closed first): a new TCP connection to the same host and port, NEGOTIATE
 * with the same ClientGuid, then every session authenticated again (NTLM asks
 * the password callback; Kerberos uses the credential cache again; the
 * SESSION_SETUP names the old session as PreviousSessionId, so a server
 * that has not yet seen the drop ends the old session and disconnects its
 * durable opens before it answers), every
 * tree connected again and every open file back: a durable one reclaimed
 * (smbw_reconnect_opts.durable), the others, and a durable one whose reclaim
 * the server refused, reopened by path (durable again where it was, unless
 * durable_shared) and
 * checked to be the same file (on-disk id, else creation time; for an open
 * without write access also size and last write time). A refused reclaim
 * is asked again every 20 ms for up to 1 s per connection (the server may
 * not have disconnected the old open yet). When the server still
 * refused a reclaim, the connection is made once more before any open by
 * path, unless durable_shared (a server may tie the refused open's record to
 * the connection that asked: docs/robustness.md). The objects keep their addresses: the caller's
 * smbw_session, smbw_tree and smbw_file pointers stay valid. A file that
 * cannot be reopened, or is no longer the same file, is detached (its calls
 * fail with SMBW_EDEAD). Requests that were in flight when the transport died
 * have already failed (unless replay sent them again: see
 * smbw_reconnect_opts.replay); the caller sends again what it still needs. Up to
 * retries tries (at least one) with the policy's waits, each bounded by the
 * connection's timeout; smbw_conn_set_interrupt stops the waits.
 * Never a silent downgrade: a server that now negotiates another dialect,
 * another signing algorithm or no encryption cipher where there was one, or
 * a session that no longer signs or encrypts where it did, is refused with
 * SMBW_EPOLICY at once (no further try). Errors: SMBW_EINVAL (c NULL or never
 * connected), SMBW_EBUSY (called from a callback of c), SMBW_EPOLICY,
 * SMBW_EAUTH (no password callback for an NTLM session, or refused),
 * SMBW_ECANCELED (interrupted), and the errors of smbw_conn_connect,
 * smbw_session_new and smbw_tree_connect of the last try. */
int smbw_conn_reconnect(smbw_conn *c);
/* How many times smbw_conn_reconnect brought c back (the reconnects of
 * replay included). */
uint64_t smbw_conn_reconnects(const smbw_conn *c);
/* How many requests replay (smbw_reconnect_opts.replay) sent again on c;
 * 0 for NULL. */
uint64_t smbw_conn_replays(const smbw_conn *c);

/* ---- trees ----------------------------------------------------------- */

/* TREE_CONNECT to \\host\share (share is just the share name).
 * Errors: SMBW_EINVAL (a NULL argument, an invalid share name), SMBW_EPOLICY (the share cannot
 * be encrypted as required), the request errors, the server's errors (a missing share:
 * SMBW_ESTATUS with SMBW_STATUS_BAD_NETWORK_NAME). */
int smbw_tree_connect(smbw_tree **out, smbw_session *s, const char *share);
/* Share flags and capabilities as the server sent them. */
uint32_t smbw_tree_share_flags(const smbw_tree *t);
uint32_t smbw_tree_capabilities(const smbw_tree *t);
/* True when messages on this tree are encrypted (the session encrypts, or
 * the share demanded it with SMB2_SHAREFLAG_ENCRYPT_DATA). */
bool smbw_tree_encrypted(const smbw_tree *t);
/* TREE_DISCONNECT (best effort) and free. NULL is fine. */
void smbw_tree_free(smbw_tree *t);
/* The server a tree's connection reaches (the host given to
 * smbw_conn_connect, or the one a DFS referral named) and its share name.
 * Borrowed from t; NULL when t is NULL (server: or detached). */
const char *smbw_tree_server(const smbw_tree *t);
const char *smbw_tree_share(const smbw_tree *t);
/* The session and the connection a tree belongs to (borrowed from t; NULL
 * when t is NULL or detached). For a tree smbw_dfs_resolve gave, they are
 * the library's own, freed with the referring connection. */
smbw_session *smbw_tree_session(const smbw_tree *t);
smbw_conn *smbw_tree_conn(const smbw_tree *t);

/* ---- DFS (MS-DFSC) ------------------------------------------------------ */

/* Where path leads on t through DFS namespaces: *target is the tree that
 * holds it and *target_path the path on that tree (backslashes, "" for its
 * root; malloc'd, the caller frees it). A share that is not a DFS root, or a
 * path no DFS link covers, resolves to t itself. Otherwise the server of t is
 * asked for a referral (FSCTL_DFS_GET_REFERRALS on IPC$, cached for the TTL
 * the server gives), and the first of its targets that can be reached is
 * used, in the server's order (failover); a target on another server is
 * reached on the port of t's connection, with its settings (dialects,
 * signing, encryption, ciphers, timeout) and its session's user: Kerberos
 * asks for cifs/SERVER, NTLM asks the password callback of
 * smbw_conn_set_reconnect (the library keeps no password). A connection,
 * session and tree to a server are made once and reused. A target that is
 * itself a DFS path (interlink) is resolved again, at most 8 times.
 * *target is borrowed: t itself, or a tree kept by t's connection until
 * smbw_conn_free of that connection (files opened on it then become
 * detached). Use smbw_tree_server and smbw_tree_share to name it. Not thread
 * safe: t's connection and the targets' are used by one thread at a time.
 * smbw_file_create, smbw_file_open and the calls built on them follow a
 * STATUS_PATH_NOT_COVERED answer in the same way by themselves.
 * Errors: SMBW_EINVAL (an argument NULL, an invalid path), SMBW_EDEAD,
 * SMBW_ELOOP (more than 8 referrals: a referral loop), SMBW_EPROTO (a
 * malformed referral), SMBW_EAUTH (no password for another server, or
 * refused there), SMBW_EPOLICY (a target would sign or encrypt less than
 * t's session), SMBW_ENOMEM, and for the last target tried the errors of
 * smbw_conn_connect, smbw_session_new and smbw_tree_connect. */
int smbw_dfs_resolve(smbw_tree **target, char **target_path, smbw_tree *t, const char *path);

/* ---- files ----------------------------------------------------------- */

/* smbw_file_open flags */
#define SMBW_O_RDONLY 0x0001
#define SMBW_O_WRONLY 0x0002
#define SMBW_O_RDWR 0x0003
#define SMBW_O_CREAT 0x0010
#define SMBW_O_EXCL 0x0020
#define SMBW_O_TRUNC 0x0040
#define SMBW_O_DIRECTORY 0x0080 /* open must be a directory */
#define SMBW_O_DELETE 0x0100    /* also ask for DELETE access */

/* Opens path with POSIX-like flags.
 * Errors: SMBW_EINVAL (a NULL argument, invalid flags or path), the request errors, the server's
 * errors (SMBW_ENOENT, SMBW_EEXIST with SMBW_O_EXCL, SMBW_EACCES, SMBW_EISDIR, SMBW_ENOTDIR
 * ...). */
int smbw_file_open(smbw_file **out, smbw_tree *t, const char *path, int flags);

/* Full control over CREATE (MS-SMB2 2.2.13). create_contexts is the raw,
 * already-chained SMB2_CREATE_CONTEXT list (8-byte aligned) or NULL. */
typedef struct smbw_create_params {
    uint32_t desired_access;
    uint32_t file_attributes;
    uint32_t share_access;
    uint32_t create_disposition;
    uint32_t create_options;
    uint8_t oplock_level;
    uint32_t impersonation_level;
    const void *create_contexts;
    size_t create_contexts_len;
} smbw_create_params;
/* The CREATE parameters smbw_file_open sends for flags (SMBW_O_*), to
 * start from for smbw_file_create or smbw_file_create_write. p NULL: nothing. */
void smbw_create_params_from_flags(smbw_create_params *p, int flags);
/* Errors: as smbw_file_open. */
int smbw_file_create(smbw_file **out, smbw_tree *t, const char *path, const smbw_create_params *p);
/* smbw_file_create, then data written at offset 0, in one round trip for the
 * first smbw_conn_max_write bytes (CREATE and WRITE compounded, related, as
 * MS-SMB2 3.2.4.1.4 allows); any rest follows as smbw_file_pwrite would send
 * it. The way to put a small file with few round trips (see smbw_file_commit).
 * A DFS link (STATUS_PATH_NOT_COVERED) is followed as smbw_file_create
 * follows it: the compound runs again on the target. On success *out is the open file, positioned
 * after the data. Errors: those of smbw_file_create (then *out is NULL and nothing was written);
 * when the CREATE succeeded but a WRITE failed (or wrote nothing), the WRITE's error with *out
 * still the open file, which the CREATE may have made and which may hold part of data: free it
 * (after smbw_file_delete_on_close if it must not stay). SMBW_EINVAL for data NULL with len > 0. */
int smbw_file_create_write(smbw_file **out, smbw_tree *t, const char *path,
                           const smbw_create_params *p, const void *data, size_t len);
/* Create action from the response (FILE_OPENED=1, FILE_CREATED=2, ...). */
/* smbw_file_create, then up to len bytes read from offset 0 into buf, in one
 * round trip (CREATE and READ compounded, related): at most
 * smbw_conn_max_read bytes; *nread says how many (fewer than asked only at
 * the end of the file; 0 for an empty file). The way to get a small file
 * with its metadata (smbw_file_open_stat) in one round trip. A DFS link is
 * followed as by smbw_file_create_write. On success *out
 * is the open file, positioned after the data. Errors: those of
 * smbw_file_create (then *out is NULL); when the CREATE succeeded but the
 * READ failed, the READ's error with *out still the open file (free it).
 * SMBW_EINVAL for out or nread NULL, or buf NULL with len > 0. */
int smbw_file_create_read(smbw_file **out, smbw_tree *t, const char *path,
                          const smbw_create_params *p, void *buf, size_t len, size_t *nread);
/* smbw_file_create, then one IOCTL (FSCTL) on the new open, in one round
 * trip (CREATE and IOCTL compounded, related: the IOCTL names the open as
 * "the previous one", MS-SMB2 3.2.4.1.4); for programs that check how a
 * server handles such a compound (smbconform sends a copychunk in one). A
 * DFS link is followed as by smbw_file_create_write. The
 * IOCTL's output is returned as smbw_file_ioctl returns it (*ioctl_out
 * malloc'd, also with an error status that carries a body; either may be
 * NULL to discard). On success *out is the open file. Errors: those of
 * smbw_file_create (then *out is NULL); when the CREATE succeeded but the
 * IOCTL failed, the IOCTL's error as smbw_file_ioctl gives it with *out still
 * the open file (free it). SMBW_EINVAL for out or p NULL, in NULL with
 * inlen > 0, or buffers over smbw_conn_max_transact. */
int smbw_file_create_ioctl(smbw_file **out, smbw_tree *t, const char *path,
                           const smbw_create_params *p, uint32_t ctl_code, const void *in,
                           size_t inlen, uint32_t max_out, void **ioctl_out, size_t *ioctl_outlen);
/* Opens path for reading (as smbw_file_open with SMBW_O_RDONLY) as the source
 * of a server-side copy: the CREATE and FSCTL_SRV_REQUEST_RESUME_KEY in one
 * round trip (related compound). A copy from *out on this connection
 * (smbw_copy_range ...) then uses that key instead of asking for one. A
 * server that refuses the key still gives the open (the copy asks again
 * and falls back as usual). Errors: those of smbw_file_open. */
int smbw_file_open_source(smbw_file **out, smbw_tree *t, const char *path);
uint32_t smbw_file_create_action(const smbw_file *f);
/* Whether f is still attached to a tree: false once a reconnect could not
 * bring it back (neither its durable handle nor an open by path of the same
 * file; its calls then fail with SMBW_EDEAD) or its tree was freed, and for
 * NULL. */
bool smbw_file_attached(const smbw_file *f);
/* Raw create contexts of the CREATE response (borrowed; may be empty). */
const void *smbw_file_create_contexts(const smbw_file *f, size_t *len);
/* The 16-byte SMB2 FileId (persistent then volatile). */
void smbw_file_id(const smbw_file *f, uint8_t out[16]);

typedef struct smbw_stat {
    uint64_t size;          /* EndOfFile */
    uint64_t alloc_size;    /* AllocationSize */
    uint64_t creation_time; /* FILETIME (100 ns since 1601) */
    uint64_t last_access_time;
    uint64_t last_write_time;
    uint64_t change_time;
    uint32_t attributes; /* SMBW_FILE_ATTRIBUTE_* (fscc.h) */
    bool is_dir;
} smbw_stat;

/* FileAllInformation of the open file. Errors: SMBW_EINVAL (a NULL argument),
 * SMBW_EPROTO (a malformed answer), the request errors, the server's errors. */
int smbw_file_stat(smbw_file *f, smbw_stat *st);
/* The metadata the server gave in its answer to the CREATE that opened f
 * (no request is sent): the file as it was when opened. Errors:
 * SMBW_EINVAL (a NULL argument). */
int smbw_file_open_stat(smbw_file *f, smbw_stat *st);
/* The file system's identity of the open file: FileInternalInformation's
 * IndexNumber (MS-FSCC 2.4.22), the same for every open of one file on one
 * share (Samba: the inode). Servers whose file system has no such number may
 * answer 0. Errors: SMBW_EINVAL (index NULL), SMBW_EPROTO (malformed answer,
 * the connection stays usable), the QUERY_INFO errors. */
int smbw_file_index(smbw_file *f, uint64_t *index);
/* Reads up to len bytes at off; *nread < len only at end of file. Large reads
 * are split into pipelined READ requests; their data is received straight
 * into buf where the protection allows (in the clear or signed: the
 * signature is checked after the data arrived). After an error the content
 * of buf is unspecified: it may hold bytes that failed their signature check.
 * Errors (for this and the other read, write, truncate, flush, set and rename calls on an open
 * file below): SMBW_EINVAL (a NULL argument), the request errors, the server's errors
 * (SMBW_EACCES without the access, SMBW_ENOSPC when full ...). */
int smbw_file_pread(smbw_file *f, void *buf, size_t len, uint64_t off, size_t *nread);
/* Writes len bytes at off (pipelined WRITE requests); all or an error.
 * Errors: as smbw_file_pread. */
int smbw_file_pwrite(smbw_file *f, const void *buf, size_t len, uint64_t off);
/* Sequential read/write from the file's own position (starts at 0), then
 * truncate (set the end of file) and flush. Errors: as smbw_file_pread. */
int smbw_file_read(smbw_file *f, void *buf, size_t len, size_t *nread);
int smbw_file_write(smbw_file *f, const void *buf, size_t len);
int smbw_file_truncate(smbw_file *f, uint64_t size);
int smbw_file_flush(smbw_file *f);
/* Sets times (FILETIME; 0 leaves one unchanged) and attributes (0 unchanged).
 * Errors: as smbw_file_pread. */
int smbw_file_set_basic(smbw_file *f, uint64_t creation, uint64_t access, uint64_t write,
                        uint64_t change, uint32_t attributes);
/* Renames the open file (FileRenameInformation); new_path relative to the share
 * root. Errors: as smbw_file_pread (SMBW_EEXIST when the target exists and
 * replace is false). */
int smbw_file_rename(smbw_file *f, const char *new_path, bool replace);
/* Marks the open file for deletion on close (FileDispositionInformation).
 * Errors: as smbw_file_pread; SMBW_ENOTEMPTY for a directory that is not empty. */
int smbw_file_delete_on_close(smbw_file *f);

/* Generic IOCTL/FSCTL on the open (MS-SMB2 2.2.31): the DeviceIoControl of
 * this library. *out is malloc'd (caller frees) with *outlen bytes; out may be
 * NULL to discard. When the server answers an error status but still sends a
 * body (e.g. copychunk limits), the body is returned too and the function
 * returns SMBW_ESTATUS with smbw_last_status set. Errors: SMBW_EINVAL (a NULL
 * file, inlen or max_out over smbw_conn_max_transact), the request errors, the
 * server's errors. */
int smbw_file_ioctl(smbw_file *f, uint32_t ctl_code, const void *in, size_t inlen, uint32_t max_out,
                    void **out, size_t *outlen);
/* Byte-range locks (SMB2 LOCK, MS-SMB2 2.2.26): flags for smbw_file_lock,
 * as the SMB2_LOCK_ELEMENT carries them. Lock with SMBW_LOCK_SHARED or
 * SMBW_LOCK_EXCLUSIVE, adding SMBW_LOCK_FAIL_IMMEDIATELY not to wait for a
 * conflicting lock to go away; release with SMBW_LOCK_UNLOCK alone. */
#define SMBW_LOCK_SHARED 0x00000001u
#define SMBW_LOCK_EXCLUSIVE 0x00000002u
#define SMBW_LOCK_UNLOCK 0x00000004u
#define SMBW_LOCK_FAIL_IMMEDIATELY 0x00000010u
/* Locks or unlocks [off, off + len) of the open (one lock element; len 0 is
 * allowed, as on Windows). Without SMBW_LOCK_FAIL_IMMEDIATELY the server may
 * hold the request until the conflicting lock goes (it answers
 * STATUS_PENDING first): the call then waits up to the connection timeout;
 * smbw_file_lock_async (below) waits without blocking, and smbw_conn_cancel
 * gives up. Errors: SMBW_EINVAL (f NULL, flags not one of the combinations
 * above), the request errors, the server's errors (a conflicting lock:
 * SMBW_ESTATUS with STATUS_LOCK_NOT_GRANTED or STATUS_FILE_LOCK_CONFLICT;
 * an unlock of a range not locked: STATUS_RANGE_NOT_LOCKED). */
int smbw_file_lock(smbw_file *f, uint64_t off, uint64_t len, uint32_t flags);
/* smbw_file_ioctl for the FSCTLs that name no open (FileId
 * 0xFFFFFFFFFFFFFFFF: FSCTL_VALIDATE_NEGOTIATE_INFO, FSCTL_DFS_GET_REFERRALS,
 * FSCTL_QUERY_NETWORK_INTERFACE_INFO ...), sent on the tree t; the library
 * itself validates the negotiation on 3.0/3.0.2, this is for programs that
 * check a server (smbconform sends a VALIDATE_NEGOTIATE_INFO that does not
 * match). Errors: as smbw_file_ioctl (SMBW_EINVAL for t NULL). */
int smbw_tree_ioctl(smbw_tree *t, uint32_t ctl_code, const void *in, size_t inlen, uint32_t max_out,
                    void **out, size_t *outlen);
/* A byte range of a file. */
typedef struct smbw_range {
    uint64_t off;
    uint64_t len;
} smbw_range;
/* The parts of [off, off + len) that hold data, in increasing order
 * (FSCTL_QUERY_ALLOCATED_RANGES, MS-FSCC 2.3.42; continued while the server
 * answers STATUS_BUFFER_OVERFLOW), clipped to the range asked for; the rest
 * reads as zeros. A server or file system that cannot tell
 * (STATUS_NOT_SUPPORTED, STATUS_INVALID_DEVICE_REQUEST) gives the whole range
 * as one. *out is malloc'd (free() it; NULL when *n is 0). Errors:
 * SMBW_EINVAL (NULL arguments, off + len overflows), SMBW_ENOMEM, SMBW_EPROTO
 * (ranges out of order, overlapping or overflowing: the connection stays
 * usable), the server's other statuses. */
int smbw_file_allocated_ranges(smbw_file *f, uint64_t off, uint64_t len, smbw_range **out,
                               size_t *n);
/* Raw QUERY_INFO / SET_INFO (MS-SMB2 2.2.37 / 2.2.39). *out malloc'd.
 * Errors: SMBW_EINVAL (a NULL argument), the request errors, the server's errors. */
int smbw_file_query_info(smbw_file *f, uint8_t info_type, uint8_t info_class, uint32_t additional,
                         uint32_t max_out, void **out, size_t *outlen);
int smbw_file_set_info(smbw_file *f, uint8_t info_type, uint8_t info_class, uint32_t additional,
                       const void *in, size_t inlen);
/* CLOSE and free (the file's one destructor). NULL is fine (returns 0).
 * Errors: the CLOSE's: the request errors, the server's errors; f is freed
 * whatever they are. */
int smbw_file_free(smbw_file *f);
/* smbw_file_free that also asks for the file's metadata as it is at the
 * close (SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB: times, sizes, attributes in the
 * CLOSE answer, no request more): *got says whether the server gave them
 * (then *st holds them). f is freed in every case. Errors: SMBW_EINVAL (st
 * or got NULL), SMBW_EPROTO (a malformed answer: the connection ends), as
 * smbw_file_free otherwise. */
int smbw_file_free_stat(smbw_file *f, smbw_stat *st, bool *got);
/* What smbw_file_commit does before it closes; an option struct that may
 * grow: start from SMBW_COMMIT_INIT. */
typedef struct smbw_commit {
    size_t size; /* sizeof(smbw_commit): set by SMBW_COMMIT_INIT */
    /* When not NULL, the file is renamed to this path on its share first
     * (replacing an existing file when replace). */
    const char *rename_to;
    bool replace;
    /* Then, when set_basic, FileBasicInformation: times as FILETIME (0
     * leaves one unchanged), attributes (0 unchanged). Set after the rename
     * because a server may derive attributes from a name (Samba's hidden
     * dot files): the ones given here are what the file keeps. */
    bool set_basic;
    uint64_t creation, access, write, change;
    uint32_t attributes;
    /* When keep, the delete mark of a file made provisional (see
     * smbw_file_create_write_provisional_async) is cleared first
     * (FileDispositionInformation, DeletePending FALSE), so the file stays
     * after the close. When the server refuses that, the file is removed at
     * the close (step SMBW_COMMIT_KEEP). */
    bool keep;
} smbw_commit;
#define SMBW_COMMIT_INIT SMBW_SIZED_INIT_(smbw_commit)
/* Which step of smbw_file_commit failed. */
typedef enum smbw_commit_step {
    SMBW_COMMIT_OK = 0,  /* none: every step succeeded */
    SMBW_COMMIT_REQUEST, /* the compound could not be built, sent or answered:
                            whether the server did any step is not known */
    SMBW_COMMIT_RENAME,  /* the rename was refused: the file keeps its name */
    SMBW_COMMIT_BASIC,   /* the basic information was refused (the rename,
                            if asked for, stands) */
    SMBW_COMMIT_CLOSE,   /* only the CLOSE failed (every other step stands) */
    SMBW_COMMIT_KEEP,    /* the delete mark could not be cleared (cm.keep): the
                            close removed the file */
} smbw_commit_step;
/* Finishes a written file in one round trip: the SET_INFO requests cm asks
 * for (in the order keep, rename, basic information), then CLOSE,
 * compounded without relation so the CLOSE runs whatever the others answer
 * (cm NULL: a plain close). f is freed in every case.
 * Returns 0, or the first failure in the order keep, rename, basic
 * information, close, and, when failed is not NULL, says in *failed which
 * step that was (after a refused keep the file is gone, whatever followed):
 * after a failed rename the file is closed under its old name (with the
 * basic information applied there); after a failed basic information the
 * rename stands (the message says so, smbw_conn_errmsg). Errors:
 * SMBW_EINVAL (cm not from SMBW_COMMIT_INIT, or rename_to not a valid
 * name: nothing is sent and f is closed), SMBW_ENOTSUP (cm has fields this
 * library does not know, set: f is closed), the request errors, the
 * server's statuses. */
int smbw_file_commit(smbw_file *f, const smbw_commit *cm, smbw_commit_step *failed);

/* ---- path operations ------------------------------------------------- */

/* Path operations, each one round trip (CREATE, the operation and CLOSE
 * compounded). On a DFS root they follow links (STATUS_PATH_NOT_COVERED:
 * the call runs again on the target, as smbw_dfs_resolve finds it);
 * smbw_rename resolves both names first, and both must lead to one share.
 * Errors: SMBW_EINVAL (a NULL argument, an invalid path; for smbw_rename two
 * names that DFS leads to different shares: nothing is renamed), the
 * smbw_dfs_resolve errors (SMBW_ELOOP ...), the request errors, the server's
 * errors (SMBW_ENOENT, SMBW_EEXIST, SMBW_EACCES, SMBW_ENOTEMPTY for rmdir,
 * SMBW_EISDIR for unlink ...). */
int smbw_stat_path(smbw_tree *t, const char *path, smbw_stat *st);
int smbw_mkdir(smbw_tree *t, const char *path);
int smbw_rmdir(smbw_tree *t, const char *path);
int smbw_unlink(smbw_tree *t, const char *path);
int smbw_rename(smbw_tree *t, const char *from, const char *to, bool replace);
/* Sets the times (FILETIME; 0 leaves one unchanged) and attributes (0
 * unchanged) of path, a file or a directory, as smbw_file_set_basic does on
 * an open file, in one round trip (the open asks for FILE_WRITE_ATTRIBUTES
 * only). Errors: as the other path operations. */
int smbw_set_basic(smbw_tree *t, const char *path, uint64_t creation, uint64_t access,
                   uint64_t write, uint64_t change, uint32_t attributes);
/* The outcome of a request sent without waiting: err 0, or the error and the
 * server's status (0 when the server did not answer with one). */
typedef void (*smbw_done_cb)(void *userdata, int err, uint32_t status);
/* smbw_set_basic without waiting: the request goes out (or waits for
 * credits) and cb runs once from the connection's event loop (any wait on
 * it; smbw_conn_drain waits for all) with the outcome; not run when this
 * returns an error. A DFS link is not followed: on a DFS root a path under
 * a link fails with status STATUS_PATH_NOT_COVERED (0xC0000257), then call
 * smbw_set_basic (not from the callback). Errors: SMBW_EINVAL (a NULL
 * argument, an invalid path), SMBW_ENOMEM, SMBW_EDEAD (the connection is
 * gone); in cb also the server's errors as for smbw_set_basic. */
int smbw_set_basic_async(smbw_tree *t, const char *path, uint64_t creation, uint64_t access,
                         uint64_t write, uint64_t change, uint32_t attributes, smbw_done_cb cb,
                         void *ud);

/* Reads a whole file into a new buffer (*data malloc'd, caller frees; a
 * NUL byte is appended after *len bytes for convenience). Files larger than
 * max_size (0: 1 GiB) fail with SMBW_EINVAL rather than exhausting memory.
 * Errors: SMBW_EINVAL (a NULL argument, a file over max_size), the request errors, the server's
 * errors. */
int smbw_read_file(smbw_tree *t, const char *path, void **data, size_t *len, size_t max_size);
/* Creates or replaces path with len bytes (pipelined writes). On failure the
 * file is removed when this call created it.
 * Errors: SMBW_EINVAL (a NULL argument), the request errors, the server's errors. */
int smbw_write_file(smbw_tree *t, const char *path, const void *data, size_t len);

/* ---- directories ----------------------------------------------------- */

typedef struct smbw_dirent {
    const char *name; /* UTF-8, borrowed until the next smbw_dir_next/free */
    smbw_stat st;
    /* The server's name is not valid UTF-16 (an unpaired surrogate, which
     * NTFS allows, or U+0000): name shows it with U+FFFD in place of each
     * such unit, for messages only. No path made from it names this entry
     * (it may name another file, or none): leave such an entry alone. The
     * rest of the listing is unaffected. */
    bool name_invalid;
} smbw_dirent;

/* Opens a directory for listing. Errors: as smbw_file_open (SMBW_ENOTDIR
 * when path is not a directory). */
int smbw_dir_open(smbw_dir **out, smbw_tree *t, const char *path);
/* Next entry ("." and ".." are skipped). Returns 0 with *ent set, or
 * SMBW_ENOMORE at the end of the listing (and on every later call).
 * Errors: SMBW_EINVAL (d or ent NULL), SMBW_EPROTO (a
 * malformed or endless answer), SMBW_ENOMEM, the QUERY_DIRECTORY errors. */
int smbw_dir_next(smbw_dir *d, smbw_dirent *ent);
void smbw_dir_free(smbw_dir *d);

/* A whole directory in one go: the CREATE of the directory and two
 * QUERY_DIRECTORY requests (FileDirectoryInformation; output buffers of 60
 * and 4 KiB, one credit each) in one related compound, more QUERY_DIRECTORY
 * requests (1 MiB, at most the server's MaxTransactSize) only while the
 * server has more, then its CLOSE sent without waiting for the answer. A
 * directory whose entries fit in 60 KiB (some 600) costs one round trip.
 *
 * smbw_list_cb: err 0 and the n entries ("." and ".." left out, in the
 * server's order), or the error (n 0, ents NULL) with status the NTSTATUS
 * of the refused request. ents is the callback's own: one block (names
 * included), freed with free(); NULL when n is 0.
 *
 * smbw_dir_list_async starts it and returns at once: 0 (cb will run exactly
 * once, from smbw_conn_service or any wait on the connection, also with
 * SMBW_ECANCELED when the connection is freed first, or with the error
 * that killed it) or an error (cb will not run). A DFS link is not followed
 * (STATUS_PATH_NOT_COVERED is the error). Errors (cb's or the start's):
 * SMBW_EINVAL (a NULL argument, an invalid path), SMBW_EDEAD, SMBW_ENOMEM
 * (also more than 16,777,216 entries), SMBW_EPROTO (a malformed or endless
 * answer: the connection is killed), the CREATE's and QUERY_DIRECTORY's
 * errors (SMBW_ENOENT, SMBW_ENOTDIR, ...). The tree must not be freed
 * before cb ran. */
typedef void (*smbw_list_cb)(void *userdata, int err, uint32_t status, smbw_dirent *ents, size_t n);
int smbw_dir_list_async(smbw_tree *t, const char *path, smbw_list_cb cb, void *ud);
/* The same, waiting: *out (n entries, one block freed with free(); NULL
 * when *n is 0). A DFS link is followed (as smbw_dir_open). Errors: those
 * of smbw_dir_list_async (SMBW_EINVAL also for out or n NULL), SMBW_EBUSY
 * from a callback on t's connection. */
int smbw_dir_list(smbw_tree *t, const char *path, smbw_dirent **out, size_t *n);

/* ---- event-loop API ---------------------------------------------------
 * For programs with their own poll/epoll loop. After smbw_conn_connect (and
 * session/tree setup, which are synchronous), requests may be started
 * asynchronously; each completes through its callback from inside
 * smbw_conn_service() (or from a synchronous call on the same connection).
 *
 *   fd = smbw_conn_fd(c);
 *   poll for smbw_conn_events(c) (POLLIN/POLLOUT bits) with a timeout of
 *   smbw_conn_next_timeout(c) ms (-1: none pending);
 *   smbw_conn_service(c, revents) — revents 0 after a poll timeout.
 *
 * Callback: err is 0 or a negative SMBW_E*; status is the NTSTATUS (0 on
 * success); for reads, data/len is the data (borrowed for the call only);
 * for IOCTL, data/len is the output buffer (borrowed, may be present with an
 * error status). A callback may start new asynchronous requests; it must
 * not free the connection, and it must not call functions that wait on the
 * same connection (synchronous calls, smbw_conn_service, smbw_conn_drain):
 * those fail with SMBW_EBUSY. */
typedef void (*smbw_cb)(void *userdata, int err, uint32_t status, const void *data, size_t len);

/* The socket (-1 when c is NULL or has none). Never fails. */
int smbw_conn_fd(const smbw_conn *c);
/* POLLIN / POLLOUT bits wanted now.
 * 0 for NULL. */
short smbw_conn_events(const smbw_conn *c);
/* Milliseconds until the earliest request deadline, or -1.
 * Never fails. */
int smbw_conn_next_timeout(const smbw_conn *c);
/* Performs pending I/O and dispatches completed requests. Errors: SMBW_EINVAL
 * (c NULL), SMBW_EBUSY (from a callback), and the fatal request errors
 * (SMBW_EIO, SMBW_ECLOSED, SMBW_ETIMEDOUT, SMBW_EPROTO, SMBW_ECRYPTO,
 * SMBW_ECANCELED, SMBW_EDEAD): the connection is then dead and all requests
 * completed. */
int smbw_conn_service(smbw_conn *c, short revents);
/* Number of requests in flight on the connection.
 * 0 for NULL. */
size_t smbw_conn_pending(const smbw_conn *c);
/* Asks the server to cancel every request in flight (SMB2 CANCEL). The
 * requests still complete through their callbacks, normally with
 * SMBW_ECANCELED / STATUS_CANCELLED, or with their result when the server
 * finished them first. Requests waiting for credits are not affected.
 * Returns the number of CANCELs queued (>= 0). Errors: SMBW_EINVAL (c NULL),
 * SMBW_ENOMEM, and the fatal errors of smbw_conn_service (sending them). */
int smbw_conn_cancel(smbw_conn *c);
/* Runs the loop until no request is pending (or timeout/error).
 * Errors: SMBW_EINVAL (c NULL), the request errors (a request's own failure goes to its
 * callback). */
int smbw_conn_drain(smbw_conn *c);
/* The library's own wait, for programs that drive several connections
 * without a loop of their own: services conns[0..n) (NULL entries and
 * duplicates are skipped; n at most 64), blocks until one of them has an
 * event, the earliest request deadline passes, or max_ms elapses (-1: no
 * limit of its own; then it returns at once when nothing is in flight),
 * and services each again, running the callbacks of what completed. Returns
 * 0 (also when a signal interrupted the wait) or the fatal error of a
 * connection, which is then dead; *which (when not NULL) is its index, or
 * -1. Errors: SMBW_EINVAL (conns NULL, n out of range), SMBW_EBUSY (from a
 * callback), and the fatal errors of smbw_conn_service. */
int smbw_conn_wait(smbw_conn *const *conns, int n, int max_ms, int *which);

/* Connection setup without blocking: each starts what smbw_conn_connect,
 * smbw_session_new and smbw_tree_connect do, returns at once, and finishes
 * from smbw_conn_service (or any wait on c) by calling cb once: err 0 and
 * *out set (the session or tree is the caller's), or the error the
 * synchronous call would return, with status the server's NTSTATUS when it
 * refused. A start returns 0 (cb will run, also with SMBW_ECANCELED when c
 * is freed first) or an error (cb will not run). out must stay valid and
 * the session must not be freed until cb ran. Each step needs the previous
 * one finished: connect, then session, then tree.
 *
 * smbw_conn_connect_async resolves host (blocking, as getaddrinfo does),
 * starts a non-blocking TCP connect to the first address that accepts one
 * and queues NEGOTIATE; the connection timeout bounds connect and NEGOTIATE
 * together. smbw_conn_fd is valid once it returned 0.
 *
 * Errors of a start (cb gets the rest): SMBW_EINVAL (a NULL argument, a step
 * out of order), SMBW_EDEAD, SMBW_EBUSY, SMBW_ENOMEM; smbw_conn_connect_async
 * also SMBW_ERESOLVE, SMBW_ECONNREFUSED, SMBW_EIO; smbw_session_new_async
 * also creds refused as by smbw_session_new (SMBW_EINVAL, SMBW_ENOTSUP). */
int smbw_conn_connect_async(smbw_conn *c, const char *host, uint16_t port, smbw_cb cb, void *ud);
/* creds is used by this call only. Errors: as above. */
int smbw_session_new_async(smbw_session **out, smbw_conn *c, const smbw_creds *creds, smbw_cb cb,
                           void *ud);
/* Errors: as above. */
int smbw_tree_connect_async(smbw_tree **out, smbw_session *s, const char *share, smbw_cb cb,
                            void *ud);

/* One READ of at most smbw_conn_max_read bytes.
 * Errors (here and in the two below; the request's own result goes to cb): SMBW_EINVAL (a NULL
 * argument, len over the maximum), SMBW_EDEAD, SMBW_EBUSY, SMBW_ENOMEM; nothing is sent then and
 * cb is never called. */
int smbw_file_pread_async(smbw_file *f, size_t len, uint64_t off, smbw_cb cb, void *ud);
/* One WRITE of at most smbw_conn_max_write bytes; buf is copied at once.
 * Errors: as smbw_file_pread_async. */
int smbw_file_pwrite_async(smbw_file *f, const void *buf, size_t len, uint64_t off, smbw_cb cb,
                           void *ud);
/* One READ of at most smbw_conn_max_read bytes into buf (len bytes), which
 * must stay valid until cb runs: on a connection in the clear or signed the
 * data is received straight into it (no copy; the signature is checked once
 * it is all there); encrypted with AES-GCM it is decrypted straight into it
 * (the tag is checked before cb runs); otherwise it is copied there. cb gets
 * data == buf and the bytes read (data NULL, len 0 at end of file). After an
 * error (cb's err != 0, e.g. SMBW_ECRYPTO for a failed signature or tag
 * check) the content of buf is unspecified. Errors: as smbw_file_pread_async. */
int smbw_file_pread_into_async(smbw_file *f, void *buf, size_t len, uint64_t off, smbw_cb cb,
                               void *ud);
/* smbw_file_pwrite_async without copying buf: on a connection in the clear
 * or signed it is sent from buf itself (sendmsg with the header in front),
 * otherwise it is encrypted from there. buf must stay valid and unchanged
 * until cb runs. Errors: as smbw_file_pread_async. */
int smbw_file_pwrite_nocopy_async(smbw_file *f, const void *buf, size_t len, uint64_t off,
                                  smbw_cb cb, void *ud);
/* smbw_file_lock without waiting: cb gets the outcome (data NULL, len 0), also
 * STATUS_CANCELLED after smbw_conn_cancel. Errors of the start (cb is not
 * called then): as smbw_file_pread_async. */
int smbw_file_lock_async(smbw_file *f, uint64_t off, uint64_t len, uint32_t flags, smbw_cb cb,
                         void *ud);
/* One IOCTL; in is copied at once. Errors: as smbw_file_pread_async. */
int smbw_file_ioctl_async(smbw_file *f, uint32_t ctl_code, const void *in, size_t inlen,
                          uint32_t max_out, smbw_cb cb, void *ud);

/* Small whole files without blocking: the asynchronous forms of
 * smbw_file_create_write, smbw_file_create_read, smbw_file_commit and
 * smbw_file_free_stat, each one compound (one round trip), so a program can
 * keep many files in flight on one connection (as credits allow). Each
 * start returns 0 (cb will run exactly once, from smbw_conn_service or any
 * wait on the connection, also with SMBW_ECANCELED when the connection is
 * freed first, or with the error that killed it) or an error (cb will not
 * run). The tree (and its session) must not be freed until cb ran. In a
 * callback, err is 0 or a negative SMBW_E* code (those of the synchronous
 * call), status the NTSTATUS of the refused request (0 otherwise).
 *
 * smbw_file_cb: f is the open file, the callback's own (free it with
 * smbw_file_free, smbw_file_commit[_async] or smbw_file_free_stat[_async],
 * in the callback or later); NULL when no file was opened. */
typedef void (*smbw_file_cb)(void *userdata, int err, uint32_t status, smbw_file *f);
/* smbw_file_read_cb: f as for smbw_file_cb; data/len the bytes read from
 * offset 0, borrowed for the call only (len 0 for an empty file or with an
 * error). */
typedef void (*smbw_file_read_cb)(void *userdata, int err, uint32_t status, smbw_file *f,
                                  const void *data, size_t len);
/* smbw_commit_cb: step as smbw_file_commit's *failed (SMBW_COMMIT_REQUEST
 * with an error of the connection: whether the server did any step is not
 * known). */
typedef void (*smbw_commit_cb)(void *userdata, int err, uint32_t status, smbw_commit_step step);
/* smbw_stat_cb: got says whether the server gave the file's metadata at
 * the close (then in *st, borrowed for the call only). */
typedef void (*smbw_stat_cb)(void *userdata, int err, uint32_t status, const smbw_stat *st,
                             bool got);
/* smbw_file_create_write without waiting: CREATE and one WRITE of data at
 * offset 0, compounded (related); len is at most smbw_conn_max_write (a
 * larger file: write the rest with smbw_file_pwrite_async after the
 * callback); data and path are copied at once (len 0: the CREATE alone).
 * cb gets the file positioned after the data, or, as the synchronous call:
 * the CREATE's error with f NULL (nothing written), or, when the CREATE
 * succeeded but the WRITE failed (or wrote nothing: SMBW_EIO), the WRITE's
 * error with f the open file, which may hold part of data (free it, after
 * smbw_file_delete_on_close if it must not stay). With an error of the
 * connection (SMBW_ECANCELED when it is freed) f is the open file when the
 * CREATE's answer had come, NULL otherwise. Errors of the start: SMBW_EINVAL
 * (a NULL argument, data NULL with len > 0, len over smbw_conn_max_write, an
 * invalid path), SMBW_EDEAD, SMBW_ENOMEM. */
int smbw_file_create_write_async(smbw_tree *t, const char *path, const smbw_create_params *p,
                                 const void *data, size_t len, smbw_file_cb cb, void *ud);
/* smbw_file_create_write_async for a provisional file: a SET_INFO
 * FileDispositionInformation (DeletePending TRUE) rides between the CREATE
 * and the WRITE in the same related compound, so the server removes the
 * file when its handle closes, also when the program or the connection dies
 * first, unless smbw_file_commit[_async] with cm.keep clears the mark. The
 * way to write a small file straight under its final name with what a
 * temporary name and a rename guarantee (the name never stays behind
 * incomplete) and less work for the server (no second name to look up).
 * p must ask for DELETE access (SMBW_O_DELETE); FILE_CREATE (SMBW_O_EXCL)
 * keeps an existing file out of it. cb as for smbw_file_create_write_async;
 * when the mark is refused, its error with f the open file, which is not
 * marked and may hold data (mark it with smbw_file_delete_on_close before
 * freeing it). A file freed without keep (smbw_file_free, a commit without
 * keep) is removed. len 0 (data may be NULL): the CREATE and the mark alone,
 * a provisional open to be filled otherwise (a server-side copy:
 * smbw_copy_chunk_async). Errors of the start: as
 * smbw_file_create_write_async. */
int smbw_file_create_write_provisional_async(smbw_tree *t, const char *path,
                                             const smbw_create_params *p, const void *data,
                                             size_t len, smbw_file_cb cb, void *ud);
/* smbw_file_create_read without waiting: CREATE and one READ of up to len
 * bytes (at most smbw_conn_max_read; len 0: the CREATE alone) from offset 0,
 * compounded (related). cb gets the file positioned after the bytes read and
 * the bytes; the CREATE's error with f NULL; or the READ's error with f the
 * open file (free it). f for errors of the connection as in
 * smbw_file_create_write_async. Errors of the start: SMBW_EINVAL (a NULL
 * argument, an invalid path), SMBW_EDEAD, SMBW_ENOMEM. */
int smbw_file_create_read_async(smbw_tree *t, const char *path, const smbw_create_params *p,
                                size_t len, smbw_file_read_cb cb, void *ud);
/* smbw_file_commit without waiting (the same compound; cm NULL: a plain
 * close). f belongs to the call from the start: do not use it again. It is
 * freed before cb runs; cb gets the first failure in the order rename, basic
 * information, close and its step, as smbw_file_commit. On a start error cb
 * does not run and f is freed at once: its CLOSE is sent (answer not
 * awaited) when the connection is alive, except for SMBW_EDEAD. Errors of
 * the start: SMBW_EINVAL (f or cb NULL, cm not from SMBW_COMMIT_INIT,
 * rename_to not a valid name), SMBW_ENOTSUP (cm has fields this library does
 * not know, set), SMBW_EDEAD, SMBW_ENOMEM. */
int smbw_file_commit_async(smbw_file *f, const smbw_commit *cm, smbw_commit_cb cb, void *ud);
/* smbw_file_free_stat without waiting: f belongs to the call from the
 * start and is freed before cb runs (on a start error at once, as for
 * smbw_file_commit_async). cb gets the CLOSE's outcome, st and got.
 * Errors of the start: SMBW_EINVAL (f or cb NULL), SMBW_EDEAD, SMBW_ENOMEM. */
int smbw_file_free_stat_async(smbw_file *f, smbw_stat_cb cb, void *ud);
/* smbw_file_open_source without waiting: the CREATE (for reading) and
 * FSCTL_SRV_REQUEST_RESUME_KEY in one related compound (the IOCTL names the
 * open as FileId 0xFFFFFFFFFFFFFFFF). cb gets f, the open source, with the
 * key the server gave (a copy from it, smbw_copy_range or
 * smbw_copy_chunk_async, uses it); a server that refuses the key still gives
 * the open, without a key (smbw_copy_chunk_async then refuses to start, with
 * SMBW_ENOTSUP). cb gets the CREATE's error with f NULL; an error of the
 * connection (SMBW_EPROTO for a malformed answer to the key, which kills
 * it) with f the open file when the CREATE's answer had come. A DFS link is
 * not followed (STATUS_PATH_NOT_COVERED is the CREATE's error). Errors of
 * the start: SMBW_EINVAL (a NULL argument, an invalid path), SMBW_EDEAD,
 * SMBW_ENOMEM. */
int smbw_file_open_source_async(smbw_tree *t, const char *path, smbw_file_cb cb, void *ud);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif
