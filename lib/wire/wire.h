/* SMB2/SMB3 message encoding and decoding (MS-SMB2 section 2.2).
 *
 * Encoders append one request body (without the 64-byte header) to a smbw_buf
 * and return 0 or SMBW_ENOMEM/SMBW_EINVAL. Decoders take the whole message
 * (header included, as received, so offsets "from the beginning of the SMB2
 * header" can be checked) and fill an out-struct whose pointers borrow from
 * that message; they return 0 or SMBW_EPROTO, having checked every length and
 * offset against the message. wire_check_response() must pass before a
 * command decoder runs. */
#ifndef SMBW_WIRE_H
#define SMBW_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/bytes.h"
#include "smbwire/fscc.h"

/* ---- constants ----------------------------------------------------------- */

#define SMB2_HDR_SIZE 64
#define SMB2_PROTO_ID 0x424D53FEu       /* 0xFE 'S' 'M' 'B' read as LE u32 */
#define SMB2_TRANSFORM_ID 0x424D53FDu   /* 0xFD 'S' 'M' 'B' */
#define SMB2_COMPRESSION_ID 0x424D53FCu /* 0xFC 'S' 'M' 'B' */

enum smb2_command {
    SMB2_NEGOTIATE = 0,
    SMB2_SESSION_SETUP = 1,
    SMB2_LOGOFF = 2,
    SMB2_TREE_CONNECT = 3,
    SMB2_TREE_DISCONNECT = 4,
    SMB2_CREATE = 5,
    SMB2_CLOSE = 6,
    SMB2_FLUSH = 7,
    SMB2_READ = 8,
    SMB2_WRITE = 9,
    SMB2_LOCK = 10,
    SMB2_IOCTL = 11,
    SMB2_CANCEL = 12,
    SMB2_ECHO = 13,
    SMB2_QUERY_DIRECTORY = 14,
    SMB2_CHANGE_NOTIFY = 15,
    SMB2_QUERY_INFO = 16,
    SMB2_SET_INFO = 17,
    SMB2_OPLOCK_BREAK = 18,
    SMB2_NCOMMANDS = 19,
};

/* Header flags */
#define SMB2_FLAGS_SERVER_TO_REDIR 0x00000001u
#define SMB2_FLAGS_ASYNC_COMMAND 0x00000002u
#define SMB2_FLAGS_RELATED_OPERATIONS 0x00000004u
#define SMB2_FLAGS_SIGNED 0x00000008u
#define SMB2_FLAGS_PRIORITY_MASK 0x00000070u
#define SMB2_FLAGS_DFS_OPERATIONS 0x10000000u
#define SMB2_FLAGS_REPLAY_OPERATION 0x20000000u

/* NEGOTIATE */
#define SMB2_NEGOTIATE_SIGNING_ENABLED 0x0001
#define SMB2_NEGOTIATE_SIGNING_REQUIRED 0x0002
#define SMB2_GLOBAL_CAP_DFS 0x00000001u
#define SMB2_GLOBAL_CAP_LEASING 0x00000002u
#define SMB2_GLOBAL_CAP_LARGE_MTU 0x00000004u
#define SMB2_GLOBAL_CAP_MULTI_CHANNEL 0x00000008u
#define SMB2_GLOBAL_CAP_PERSISTENT_HANDLES 0x00000010u
#define SMB2_GLOBAL_CAP_DIRECTORY_LEASING 0x00000020u
#define SMB2_GLOBAL_CAP_ENCRYPTION 0x00000040u
#define SMB2_PREAUTH_INTEGRITY_CAPABILITIES 0x0001
#define SMB2_ENCRYPTION_CAPABILITIES 0x0002
#define SMB2_COMPRESSION_CAPABILITIES 0x0003
#define SMB2_NETNAME_NEGOTIATE_CONTEXT_ID 0x0005
#define SMB2_TRANSPORT_CAPABILITIES 0x0006
#define SMB2_RDMA_TRANSFORM_CAPABILITIES 0x0007
#define SMB2_SIGNING_CAPABILITIES 0x0008
#define SMB2_PREAUTH_SHA512 0x0001
#define SMB2_SIGNING_HMAC_SHA256 0x0000
#define SMB2_SIGNING_AES_CMAC 0x0001
#define SMB2_SIGNING_AES_GMAC 0x0002
/* cipher ids equal CRYPTO_AES_* in crypto.h */
#define SMB2_ENCRYPTION_AES128_CCM 0x0001
#define SMB2_ENCRYPTION_AES128_GCM 0x0002
#define SMB2_ENCRYPTION_AES256_CCM 0x0003
#define SMB2_ENCRYPTION_AES256_GCM 0x0004

/* SESSION_SETUP */
#define SMB2_SESSION_FLAG_BINDING 0x01
#define SMB2_SESSION_FLAG_IS_GUEST 0x0001
#define SMB2_SESSION_FLAG_IS_NULL 0x0002
#define SMB2_SESSION_FLAG_ENCRYPT_DATA 0x0004

/* TREE_CONNECT */
#define SMB2_SHARE_TYPE_DISK 0x01
#define SMB2_SHARE_TYPE_PIPE 0x02
#define SMB2_SHARE_TYPE_PRINT 0x03
#define SMB2_SHAREFLAG_ENCRYPT_DATA 0x00008000u
#define SMB2_SHARE_CAP_DFS 0x00000008u
#define SMB2_SHAREFLAG_DFS 0x00000001u
#define SMB2_SHAREFLAG_DFS_ROOT 0x00000002u

/* CREATE */
#define SMB2_OPLOCK_LEVEL_NONE 0x00
#define SMB2_OPLOCK_LEVEL_II 0x01
#define SMB2_OPLOCK_LEVEL_BATCH 0x09
#define SMB2_OPLOCK_LEVEL_LEASE 0xFF
/* Lease states (MS-SMB2 2.2.13.2.8) and flags. */
#define SMB2_LEASE_READ 0x01u
#define SMB2_LEASE_HANDLE 0x02u
#define SMB2_LEASE_WRITE 0x04u
#define SMB2_LEASE_FLAG_BREAK_IN_PROGRESS 0x02u
#define SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED 0x01u
#define SMB2_IMPERSONATION_IMPERSONATION 0x00000002u
#define FILE_READ_DATA 0x00000001u
#define FILE_WRITE_DATA 0x00000002u
#define FILE_APPEND_DATA 0x00000004u
#define FILE_READ_EA 0x00000008u
#define FILE_WRITE_EA 0x00000010u
#define FILE_EXECUTE 0x00000020u
#define FILE_READ_ATTRIBUTES 0x00000080u
#define FILE_WRITE_ATTRIBUTES 0x00000100u
#define DELETE_ACCESS 0x00010000u
#define READ_CONTROL 0x00020000u
#define SYNCHRONIZE 0x00100000u
#define MAXIMUM_ALLOWED 0x02000000u
#define GENERIC_ALL 0x10000000u
#define GENERIC_WRITE 0x40000000u
#define GENERIC_READ 0x80000000u
#define FILE_SHARE_READ 0x00000001u
#define FILE_SHARE_WRITE 0x00000002u
#define FILE_SHARE_DELETE 0x00000004u
#define FILE_SUPERSEDE 0u
#define FILE_OPEN 1u
#define FILE_CREATE 2u
#define FILE_OPEN_IF 3u
#define FILE_OVERWRITE 4u
#define FILE_OVERWRITE_IF 5u
#define FILE_DIRECTORY_FILE 0x00000001u
#define FILE_WRITE_THROUGH 0x00000002u
#define FILE_SEQUENTIAL_ONLY 0x00000004u
#define FILE_NON_DIRECTORY_FILE 0x00000040u
#define FILE_DELETE_ON_CLOSE 0x00001000u
#define FILE_OPEN_REPARSE_POINT 0x00200000u

/* CLOSE */
#define SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB 0x0001

/* IOCTL */
#define SMB2_0_IOCTL_IS_FSCTL 0x00000001u

/* QUERY_INFO / SET_INFO */
#define SMB2_0_INFO_FILE 0x01
#define SMB2_0_INFO_FILESYSTEM 0x02
#define SMB2_0_INFO_SECURITY 0x03
#define SMB2_0_INFO_QUOTA 0x04
#define FileBasicInformation 4
#define FileStandardInformation 5
#define FileInternalInformation 6
#define FileRenameInformation 10
#define FileDispositionInformation 13
#define FileAllInformation 18
#define FileAllocationInformation 19
#define FileEndOfFileInformation 20
#define FileNetworkOpenInformation 34
#define FileFsSizeInformation 3
#define FileFsAttributeInformation 5
#define FileFsFullSizeInformation 7
#define FILE_SUPPORTS_SPARSE_FILES 0x00000040u
#define FILE_SUPPORTS_BLOCK_REFCOUNTING 0x08000000u

/* QUERY_DIRECTORY */
#define FileIdBothDirectoryInformation 37
#define FileDirectoryInformation 1
#define FileFullDirectoryInformation 2
#define FileBothDirectoryInformation 3
#define FileNamesInformation 12
#define FileIdFullDirectoryInformation 38
#define SMB2_RESTART_SCANS 0x01
#define SMB2_RETURN_SINGLE_ENTRY 0x02
#define SMB2_INDEX_SPECIFIED 0x04
#define SMB2_REOPEN 0x10

/* READ/WRITE */
#define SMB2_CHANNEL_NONE 0x00000000u

/* ---- header -------------------------------------------------------------- */

typedef struct smb2_hdr {
    uint16_t credit_charge;
    uint32_t status; /* NTSTATUS in responses; ChannelSequence/Reserved in requests */
    uint16_t command;
    uint16_t credits; /* CreditRequest / CreditResponse */
    uint32_t flags;
    uint32_t next_command;
    uint64_t message_id;
    uint64_t async_id; /* when SMB2_FLAGS_ASYNC_COMMAND */
    uint32_t tree_id;  /* when not async */
    uint64_t session_id;
    uint8_t signature[16];
    /* Not a header field: set by the core on a READ response whose data went
     * straight to the request's buffer (core_msg.rx_dst) instead of following
     * the header in msg: that many bytes (see wire_decode_read_placed). */
    uint32_t placed;
} smb2_hdr;

#define SMB2_TRANSPORT_HDR_SIZE 4
/* Direct TCP transport header (MS-SMB2 2.1): a zero byte and a 24-bit
 * big-endian length of the frame that follows.
 * Decode: 0 with *flen set, 1 when fewer than 4 bytes are there yet,
 * SMBW_EPROTO when the first byte is not zero. */
SMBW_WUR int wire_decode_transport_hdr(const uint8_t *p, size_t len, uint32_t *flen);
/* Appends a transport header with length 0, to be set by
 * wire_patch_transport_hdr(b, off, flen) once the frame is built (SMBW_EINVAL
 * when flen does not fit 24 bits). */
void wire_encode_transport_hdr(smbw_buf *b);
SMBW_WUR int wire_patch_transport_hdr(smbw_buf *b, size_t off, size_t flen);

/* The ProtocolId that starts a frame (SMB2_PROTO_ID, SMB2_TRANSFORM_ID,
 * SMB2_COMPRESSION_ID, ...); SMBW_EPROTO when fewer than 4 bytes. */
SMBW_WUR int wire_decode_protocol_id(const uint8_t *p, size_t len, uint32_t *proto);

/* Compounded responses (2.2.1 NextCommand, 3.2.5.1.9): p/len is what is left
 * of a frame starting with an SMB2 header. Sets *msg_len to the length of the
 * first message and *next to the offset of the following one (0 when it is
 * the last). SMBW_EPROTO when fewer than 64 bytes remain or NextCommand is not
 * 8-byte aligned, shorter than a header or past the frame. */
SMBW_WUR int wire_compound_next(const uint8_t *p, size_t len, size_t *msg_len, size_t *next);
/* Sets NextCommand of the message that starts at msg_start in b (encoder
 * side of compounding); marks b failed when out of range. */
void wire_patch_next_command(smbw_buf *b, size_t msg_start, uint32_t next);
/* How many of the last bytes of p/len (at most max) are zero: the padding a
 * compounded message may carry. */
size_t wire_trailing_zeros(const uint8_t *p, size_t len, size_t max);

/* Appends a 64-byte header. */
void wire_encode_hdr(smbw_buf *b, const smb2_hdr *h);
/* Decodes the 64-byte header at the start of msg (msg->len >= 64 is checked).
 * Checks ProtocolId and StructureSize 64. */
SMBW_WUR int wire_decode_hdr(const uint8_t *msg, size_t len, smb2_hdr *h);

/* The response validation table (as Linux's smb2_check_message): checks that
 * msg (one message of a possibly compounded frame, len bytes, NextCommand
 * already used to cut it) is a server response, that its StructureSize matches
 * the command (or is the 9-byte error response when status is an error), and
 * that the fixed part fits. Returns 0 or SMBW_EPROTO. */
SMBW_WUR int wire_check_response(const uint8_t *msg, size_t len, const smb2_hdr *h);
/* True when status is an error for this command (not SUCCESS, and not one of
 * the statuses that carry a normal body: STATUS_MORE_PROCESSING_REQUIRED for
 * SESSION_SETUP, STATUS_BUFFER_OVERFLOW for READ/IOCTL/QUERY_INFO,
 * STATUS_INVALID_PARAMETER for copychunk IOCTL is the caller's business). */
bool wire_status_is_error_response(uint16_t command, uint32_t status);

/* SMB2 ERROR response body (2.2.2): ErrorData borrowed. */
typedef struct smb2_error_rsp {
    uint8_t error_context_count;
    const uint8_t *data;
    uint32_t data_len;
} smb2_error_rsp;
SMBW_WUR int wire_decode_error(const uint8_t *msg, size_t len, smb2_error_rsp *r);

/* ---- NEGOTIATE (2.2.3 / 2.2.4) ------------------------------------------- */

typedef struct smb2_negotiate_req {
    uint16_t security_mode;
    uint32_t capabilities;
    uint8_t client_guid[16];
    const uint16_t *dialects;
    uint16_t dialect_count;
    /* 3.1.1 contexts, only encoded when 0x0311 is in dialects */
    uint8_t salt[32];
    const uint16_t *ciphers; /* preference order */
    uint16_t cipher_count;
    const uint16_t *sign_algs; /* preference order */
    uint16_t sign_alg_count;
    const char *netname; /* server name for NETNAME context (UTF-8), may be NULL */
    /* one more context, encoded last as given (0 type: none) */
    uint16_t extra_ctx_type;
    const uint8_t *extra_ctx;
    uint16_t extra_ctx_len;
} smb2_negotiate_req;
SMBW_WUR int wire_encode_negotiate(smbw_buf *b, const smb2_negotiate_req *r);

typedef struct smb2_negotiate_rsp {
    uint16_t security_mode;
    uint16_t dialect;
    uint8_t server_guid[16];
    uint32_t capabilities;
    uint32_t max_transact;
    uint32_t max_read;
    uint32_t max_write;
    uint64_t system_time;
    uint64_t server_start_time;
    const uint8_t *security_buffer; /* borrowed */
    uint16_t security_buffer_len;
    /* 3.1.1 contexts (0 when absent) */
    bool have_preauth;
    uint16_t preauth_hash_alg;
    bool have_cipher;
    uint16_t cipher; /* 0 = none chosen */
    bool have_signing;
    uint16_t signing_alg;
} smb2_negotiate_rsp;
/* Decodes and validates; for 3.1.1 walks the context list (each context
 * 8-byte aligned, lengths in range), requiring exactly one preauth context. */
SMBW_WUR int wire_decode_negotiate(const uint8_t *msg, size_t len, smb2_negotiate_rsp *r);

/* ---- SESSION_SETUP (2.2.5 / 2.2.6), LOGOFF --------------------------------- */

typedef struct smb2_session_setup_req {
    uint8_t flags;
    uint8_t security_mode;
    uint32_t capabilities;
    uint64_t previous_session_id;
    const uint8_t *token;
    size_t token_len; /* <= 65535 - header - fixed */
} smb2_session_setup_req;
SMBW_WUR int wire_encode_session_setup(smbw_buf *b, const smb2_session_setup_req *r);

typedef struct smb2_session_setup_rsp {
    uint16_t session_flags;
    const uint8_t *token;
    uint16_t token_len;
} smb2_session_setup_rsp;
SMBW_WUR int wire_decode_session_setup(const uint8_t *msg, size_t len, smb2_session_setup_rsp *r);

/* LOGOFF, TREE_DISCONNECT, ECHO, CANCEL requests all have a 4-byte body
 * (StructureSize 4, Reserved). */
SMBW_WUR int wire_encode_empty4(smbw_buf *b);

/* OPLOCK_BREAK (2.2.23.1 notification, 2.2.24.1 acknowledgment): the
 * notification in a whole message (64-byte header first) into *level and
 * file_id: 0, 1 when it is a lease break notification (StructureSize 44, not
 * decoded here: wire_decode_lease_break), or SMBW_EPROTO. */
SMBW_WUR int wire_decode_oplock_break(const uint8_t *msg, size_t len, uint8_t *level,
                                      uint8_t file_id[16]);
/* The acknowledgment of a break to level for file_id. */
SMBW_WUR int wire_encode_oplock_ack(smbw_buf *b, uint8_t level, const uint8_t file_id[16]);

/* Lease break notification (2.2.23.2, StructureSize 44) in a whole message:
 * 0 or SMBW_EPROTO (short, another StructureSize, a state with bits other
 * than R|H|W, or a new state that is not part of the current one: a break
 * only takes away). */
typedef struct smb2_lease_break {
    uint16_t new_epoch;
    uint32_t flags; /* SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED */
    uint8_t key[16];
    uint32_t current_state, new_state;
    uint32_t reason;
} smb2_lease_break;
SMBW_WUR int wire_decode_lease_break(const uint8_t *msg, size_t len, smb2_lease_break *out);
/* Lease break acknowledgment (2.2.24.2) of key with the state kept. */
SMBW_WUR int wire_encode_lease_ack(smbw_buf *b, const uint8_t key[16], uint32_t state);
/* Its answer (2.2.25.2, StructureSize 36) in a whole message: 0 with the
 * key and state, or SMBW_EPROTO. */
SMBW_WUR int wire_decode_lease_ack(const uint8_t *msg, size_t len, uint8_t key[16],
                                   uint32_t *state);

/* ---- TREE_CONNECT (2.2.9 / 2.2.10) ---------------------------------------- */

/* path is "\\\\server\\share" in UTF-8. */
SMBW_WUR int wire_encode_tree_connect(smbw_buf *b, uint16_t flags, const char *path);
typedef struct smb2_tree_connect_rsp {
    uint8_t share_type;
    uint32_t share_flags;
    uint32_t capabilities;
    uint32_t maximal_access;
} smb2_tree_connect_rsp;
SMBW_WUR int wire_decode_tree_connect(const uint8_t *msg, size_t len, smb2_tree_connect_rsp *r);

/* ---- CREATE / CLOSE / FLUSH (2.2.13 - 2.2.18) ----------------------------- */

typedef struct smb2_create_req {
    uint8_t oplock_level;
    uint32_t impersonation_level;
    uint32_t desired_access;
    uint32_t file_attributes;
    uint32_t share_access;
    uint32_t create_disposition;
    uint32_t create_options;
    const char *name;        /* UTF-8, already relative ('\\' separators); "" for the root */
    const uint8_t *contexts; /* raw chained create contexts or NULL */
    size_t contexts_len;
} smb2_create_req;
SMBW_WUR int wire_encode_create(smbw_buf *b, const smb2_create_req *r);

typedef struct smb2_file_times {
    uint64_t creation_time;
    uint64_t last_access_time;
    uint64_t last_write_time;
    uint64_t change_time;
    uint64_t allocation_size;
    uint64_t end_of_file;
    uint32_t file_attributes;
} smb2_file_times;

typedef struct smb2_create_rsp {
    uint8_t oplock_level;
    uint8_t flags;
    uint32_t create_action;
    smb2_file_times t;
    uint8_t file_id[16];
    const uint8_t *contexts; /* borrowed raw list, each context validated */
    uint32_t contexts_len;
} smb2_create_rsp;
SMBW_WUR int wire_decode_create(const uint8_t *msg, size_t len, smb2_create_rsp *r);

/* Walk a create context chain: calls cb for each (name, data) after checking
 * Next/NameOffset/NameLength/DataOffset/DataLength. Returns 0 or SMBW_EPROTO,
 * or cb's negative return. */
typedef int (*wire_ctx_cb)(void *ud, const uint8_t *name, size_t namelen, const uint8_t *data,
                           size_t datalen);
SMBW_WUR int wire_walk_create_contexts(const uint8_t *p, size_t len, wire_ctx_cb cb, void *ud);

/* SMB2_CREATE_QUERY_ON_DISK_ID ("QFid", 2.2.13.2.9): the request context
 * (no data), appended to b at an 8-byte aligned offset; with more set its
 * Next field says another context follows right after its 24 bytes. */
#define WIRE_QFID_REQ_LEN 24
SMBW_WUR int wire_encode_ctx_qfid(smbw_buf *b, bool more);
/* The QFid answer (2.2.14.2.9: DiskFileId, VolumeId, Reserved) in a
 * response's context chain: its first WIRE_DISK_ID_LEN bytes into id and
 * *found true, or *found false when the chain has none. A QFid whose data is
 * shorter than WIRE_DISK_ID_LEN or longer than 64 bytes is SMBW_EPROTO (as is
 * a malformed chain). */
#define WIRE_DISK_ID_LEN 16

/* Durable handle create contexts (MS-SMB2 2.2.13.2.3 DHnQ, 2.2.13.2.4 DHnC,
 * 2.2.13.2.11 DH2Q, 2.2.13.2.12 DH2C). A request asks for durability (v2:
 * DH2Q with timeout, flags and create_guid; else DHnQ, 16 zero bytes) or,
 * with reconnect, reclaims the open file_id (v2: DH2C with file_id,
 * create_guid and flags; else DHnC with file_id). */
#define SMB2_DHANDLE_FLAG_PERSISTENT 0x00000002u
typedef struct smb2_durable_req {
    bool v2;
    bool reconnect;
    uint32_t timeout_ms; /* DH2Q: 0 lets the server choose */
    uint32_t flags;      /* DH2Q, DH2C */
    uint8_t create_guid[16];
    uint8_t file_id[16]; /* DHnC, DH2C */
} smb2_durable_req;
/* Appends the context at an 8-byte aligned offset of b (SMBW_EINVAL
 * otherwise); with more, its Next says another follows right after it. */
SMBW_WUR int wire_encode_ctx_durable(smbw_buf *b, const smb2_durable_req *r, bool more);
/* The server's answer in a CREATE response's context chain (2.2.14.2.3
 * DHnQ: 8 reserved bytes; 2.2.14.2.12 DH2Q: Timeout, Flags): granted false
 * when neither is there. Data shorter than 8 bytes, or both kinds in one
 * answer, is SMBW_EPROTO (as is a malformed chain). */
typedef struct smb2_durable_rsp {
    bool granted;
    bool v2;
    uint32_t timeout_ms; /* v2 */
    uint32_t flags;      /* v2 */
} smb2_durable_rsp;
SMBW_WUR int wire_decode_durable(const uint8_t *ctx, size_t len, smb2_durable_rsp *out);
SMBW_WUR int wire_decode_qfid(const uint8_t *ctx, size_t len, uint8_t id[WIRE_DISK_ID_LEN],
                              bool *found);

/* Lease contexts (2.2.13.2.10 SMB2_CREATE_REQUEST_LEASE_V2 "RqLs", 52 bytes
 * of data; the answer 2.2.14.2.11 has the same layout, or 2.2.14.2.10's 32
 * bytes from a server that gives a version 1 lease). The request asks for
 * state under key (ParentLeaseKey zero, epoch as given: 0 for a new lease). */
typedef struct smb2_lease {
    bool granted; /* answers: a lease context was there */
    bool v2;      /* answers: its data was the 52-byte version 2 */
    uint8_t key[16];
    uint32_t state;
    uint32_t flags;
    uint16_t epoch;
} smb2_lease;
/* Appends the request context at an 8-byte aligned offset of b (SMBW_EINVAL
 * otherwise); with more, its Next says another follows right after it. */
SMBW_WUR int wire_encode_ctx_lease(smbw_buf *b, const smb2_lease *l, bool more);
/* The lease in a CREATE response's context chain: granted false when there
 * is none. Data of another length than 32 or 52, a state with bits other
 * than R|H|W, or two lease contexts: SMBW_EPROTO (as is a malformed chain). */
SMBW_WUR int wire_decode_lease(const uint8_t *ctx, size_t len, smb2_lease *out);

SMBW_WUR int wire_encode_close(smbw_buf *b, uint16_t flags, const uint8_t file_id[16]);
typedef struct smb2_close_rsp {
    uint16_t flags;
    smb2_file_times t;
} smb2_close_rsp;
SMBW_WUR int wire_decode_close(const uint8_t *msg, size_t len, smb2_close_rsp *r);

SMBW_WUR int wire_encode_flush(smbw_buf *b, const uint8_t file_id[16]);
/* LOCK (2.2.26) with one SMB2_LOCK_ELEMENT; flags as in 2.2.26.1
 * (SMB2_LOCKFLAG_*: shared 0x1, exclusive 0x2, unlock 0x4, fail
 * immediately 0x10). The answer (2.2.27) is the header's status alone. */
SMBW_WUR int wire_encode_lock(smbw_buf *b, const uint8_t file_id[16], uint64_t off, uint64_t len,
                              uint32_t flags);

/* ---- READ / WRITE (2.2.19 - 2.2.22) ---------------------------------------- */

typedef struct smb2_read_req {
    uint8_t flags;
    uint32_t length;
    uint64_t offset;
    uint8_t file_id[16];
    uint32_t minimum_count;
} smb2_read_req;
SMBW_WUR int wire_encode_read(smbw_buf *b, const smb2_read_req *r);
typedef struct smb2_read_rsp {
    const uint8_t *data; /* borrowed */
    uint32_t data_len;
    uint32_t data_remaining;
} smb2_read_rsp;
SMBW_WUR int wire_decode_read(const uint8_t *msg, size_t len, smb2_read_rsp *r);
/* A READ response whose data did not follow it in memory (the core put it
 * in the request's buffer): msg/len is the message up to DataOffset, which
 * must be len, and DataLength must be placed. r->data is NULL. */
SMBW_WUR int wire_decode_read_placed(const uint8_t *msg, size_t len, uint32_t placed,
                                     smb2_read_rsp *r);
/* Whether the frame being received can have its READ data placed straight
 * into a buffer (the core's zero-copy receive): have bytes of one frame of
 * frame_len bytes are at frame (starting at the SMB2 header). 0 when it is a
 * single (NextCommand 0) READ response with STATUS_SUCCESS (the final
 * answer of an async READ too: Samba's come so), a
 * DataOffset of at least 80 and DataLength > 0 bytes ending exactly at
 * frame_len, and the bytes up to DataOffset are there: *mid, *data_off and
 * *data_len are set. 1 when more bytes (at most 255) are needed to tell.
 * -1 for anything else (it is then received and checked as usual). Nothing
 * here is trusted: the message is validated and its signature checked in
 * full when its data has arrived. */
SMBW_WUR int wire_read_placement(const uint8_t *frame, size_t have, size_t frame_len, uint64_t *mid,
                                 uint32_t *data_off, uint32_t *data_len);

typedef struct smb2_write_req {
    uint64_t offset;
    uint8_t file_id[16];
    uint32_t flags;
    const uint8_t *data;
    uint32_t length;
} smb2_write_req;
SMBW_WUR int wire_encode_write(smbw_buf *b, const smb2_write_req *r);
/* The same request without its data: Length says r->length bytes, which the
 * caller sends right after the body (r->data is not read; length > 0). */
SMBW_WUR int wire_encode_write_hdr(smbw_buf *b, const smb2_write_req *r);
typedef struct smb2_write_rsp {
    uint32_t count;
    uint32_t remaining;
} smb2_write_rsp;
SMBW_WUR int wire_decode_write(const uint8_t *msg, size_t len, smb2_write_rsp *r);

/* ---- IOCTL (2.2.31 / 2.2.32) ---------------------------------------------- */

typedef struct smb2_ioctl_req {
    uint32_t ctl_code;
    uint8_t file_id[16];
    const uint8_t *input;
    uint32_t input_len;
    uint32_t max_input_response;
    uint32_t max_output_response;
    uint32_t flags; /* SMB2_0_IOCTL_IS_FSCTL */
} smb2_ioctl_req;
SMBW_WUR int wire_encode_ioctl(smbw_buf *b, const smb2_ioctl_req *r);
typedef struct smb2_ioctl_rsp {
    uint32_t ctl_code;
    uint8_t file_id[16];
    const uint8_t *input; /* borrowed */
    uint32_t input_len;
    const uint8_t *output; /* borrowed */
    uint32_t output_len;
    uint32_t flags;
} smb2_ioctl_rsp;
SMBW_WUR int wire_decode_ioctl(const uint8_t *msg, size_t len, smb2_ioctl_rsp *r);

/* ---- QUERY_DIRECTORY (2.2.33 / 2.2.34) ------------------------------------- */

typedef struct smb2_query_dir_req {
    uint8_t info_class;
    uint8_t flags;
    uint32_t file_index;
    uint8_t file_id[16];
    const char *pattern; /* UTF-8, e.g. "*" */
    uint32_t output_buffer_length;
} smb2_query_dir_req;
SMBW_WUR int wire_encode_query_dir(smbw_buf *b, const smb2_query_dir_req *r);
typedef struct smb2_query_dir_rsp {
    const uint8_t *data; /* borrowed */
    uint32_t data_len;
} smb2_query_dir_rsp;
SMBW_WUR int wire_decode_query_dir(const uint8_t *msg, size_t len, smb2_query_dir_rsp *r);

/* One FileIdBothDirectoryInformation (or FileDirectoryInformation family)
 * entry as decoded by wire_next_dirent. */
typedef struct smb2_dirent {
    smb2_file_times t;
    const uint8_t *name_utf16; /* borrowed */
    uint32_t name_len;         /* bytes */
} smb2_dirent;
/* Iterates entries of a FileIdBothDirectoryInformation buffer: *pos is the
 * offset of the next entry (start at 0; set to SIZE_MAX after the last).
 * Checks NextEntryOffset (8-byte aligned, forward, in range) and
 * FileNameLength. Returns 0 with *e filled, 1 at the end, or SMBW_EPROTO. */
SMBW_WUR int wire_next_dirent(const uint8_t *buf, size_t len, size_t *pos, smb2_dirent *e);
/* The same for a buffer of info_class entries: FileIdBothDirectoryInformation
 * or FileDirectoryInformation (another class: SMBW_EINVAL). */
SMBW_WUR int wire_next_dirent_of(uint8_t info_class, const uint8_t *buf, size_t len, size_t *pos,
                                 smb2_dirent *e);

/* ---- QUERY_INFO / SET_INFO (2.2.37 - 2.2.40) -------------------------------- */

typedef struct smb2_query_info_req {
    uint8_t info_type;
    uint8_t file_info_class;
    uint32_t output_buffer_length;
    const uint8_t *input;
    uint32_t input_len;
    uint32_t additional_information;
    uint32_t flags;
    uint8_t file_id[16];
} smb2_query_info_req;
SMBW_WUR int wire_encode_query_info(smbw_buf *b, const smb2_query_info_req *r);
typedef struct smb2_query_info_rsp {
    const uint8_t *data; /* borrowed */
    uint32_t data_len;
} smb2_query_info_rsp;
SMBW_WUR int wire_decode_query_info(const uint8_t *msg, size_t len, smb2_query_info_rsp *r);

typedef struct smb2_set_info_req {
    uint8_t info_type;
    uint8_t file_info_class;
    const uint8_t *data;
    uint32_t data_len;
    uint32_t additional_information;
    uint8_t file_id[16];
} smb2_set_info_req;
SMBW_WUR int wire_encode_set_info(smbw_buf *b, const smb2_set_info_req *r);

/* Responses whose body is just StructureSize (+reserved): LOGOFF, TREE_DISCONNECT,
 * FLUSH, ECHO, SET_INFO: validated by wire_check_response alone. */

/* ---- information classes (MS-FSCC) ----------------------------------------- */

/* FileInternalInformation (MS-FSCC 2.4.22): IndexNumber, 8 bytes. */
SMBW_WUR int wire_decode_internal_info(const uint8_t *p, size_t len, uint64_t *index);
/* FileNetworkOpenInformation (56 bytes). */
SMBW_WUR int wire_decode_network_open_info(const uint8_t *p, size_t len, smb2_file_times *t);
/* FileFsAttributeInformation: attributes, max name length. */
SMBW_WUR int wire_decode_fs_attribute_info(const uint8_t *p, size_t len, uint32_t *attributes,
                                           uint32_t *max_name_len);
/* FileFsSizeInformation (MS-FSCC 2.5.8, 24 bytes). */
typedef struct smb2_fs_size_info {
    uint64_t total_units;
    uint64_t available_units;
    uint32_t sectors_per_unit;
    uint32_t bytes_per_sector;
} smb2_fs_size_info;
SMBW_WUR int wire_decode_fs_size_info(const uint8_t *p, size_t len, smb2_fs_size_info *o);
/* FileEndOfFileInformation (MS-FSCC 2.4.14, 8 bytes) for SET_INFO. */
void wire_encode_eof_info(smbw_buf *b, uint64_t end_of_file);
/* FileBasicInformation (40 bytes) for SET_INFO. */
void wire_encode_basic_info(smbw_buf *b, uint64_t creation, uint64_t access, uint64_t write,
                            uint64_t change, uint32_t attributes);
/* FileRenameInformation (SMB2 form: ReplaceIfExists, 7 reserved, RootDirectory 0,
 * FileNameLength, FileName UTF-16). */
SMBW_WUR int wire_encode_rename_info(smbw_buf *b, bool replace, const char *new_name);

/* ---- FSCTL structures (MS-SMB2 2.2.31.1, 2.2.32.3, MS-FSCC 2.3) ------------ */

#define SMB2_RESUME_KEY_SIZE 24

typedef struct srv_resume_key {
    uint8_t key[SMB2_RESUME_KEY_SIZE];
    uint32_t context_len;
} srv_resume_key;
/* Whole SRV_REQUEST_RESUME_KEY: key + ContextLength + Context (ContextLength
 * must fit in the buffer). */
SMBW_WUR int wire_decode_resume_key(const uint8_t *p, size_t len, srv_resume_key *k);

typedef struct srv_copychunk {
    uint64_t source_offset;
    uint64_t target_offset;
    uint32_t length;
} srv_copychunk;
SMBW_WUR int wire_encode_copychunk(smbw_buf *b, const uint8_t key[SMB2_RESUME_KEY_SIZE],
                                   const srv_copychunk *chunks, uint32_t count);
typedef struct srv_copychunk_rsp {
    uint32_t chunks_written;
    uint32_t chunk_bytes_written;
    uint32_t total_bytes_written;
} srv_copychunk_rsp;
SMBW_WUR int wire_decode_copychunk_rsp(const uint8_t *p, size_t len, srv_copychunk_rsp *r);

/* FSCTL_DUPLICATE_EXTENTS_TO_FILE input (MS-FSCC 2.3.8). */
void wire_encode_duplicate_extents(smbw_buf *b, const uint8_t src_file_id[16], uint64_t src_off,
                                   uint64_t dst_off, uint64_t len);
/* FSCTL_QUERY_ALLOCATED_RANGES: FILE_ALLOCATED_RANGE_BUFFER pairs. */
void wire_encode_allocated_range(smbw_buf *b, uint64_t off, uint64_t len);
typedef struct alloc_range {
    uint64_t off;
    uint64_t len;
} alloc_range;
/* Checks each range (len > 0? allowed 0; off+len no overflow, ascending). *n set. */
SMBW_WUR int wire_decode_allocated_ranges(const uint8_t *p, size_t len, alloc_range *out,
                                          size_t max, size_t *n);

/* Offloaded data transfer (MS-FSCC 2.3.41-2.3.44, 2.3.79). */
#define ODX_TOKEN_SIZE 512u
#define ODX_TOKEN_TYPE_ZERO_DATA 0xFFFF0001u /* STORAGE_OFFLOAD_TOKEN_TYPE_ZERO_DATA */
#define ODX_READ_FLAG_ALL_ZERO_BEYOND_CURRENT_RANGE 0x00000001u
typedef struct odx_token_info {
    uint32_t type;   /* TokenType (big-endian on the wire) */
    uint16_t id_len; /* TokenIdLength, at most 504 */
} odx_token_info;
typedef struct odx_read_rsp {
    uint32_t flags;
    uint64_t transfer_length;
    uint8_t token[ODX_TOKEN_SIZE]; /* opaque: sent back as is */
    odx_token_info token_info;
} odx_read_rsp;
typedef struct odx_write_rsp {
    uint32_t flags;
    uint64_t length_written;
} odx_write_rsp;
SMBW_WUR int wire_encode_offload_read(smbw_buf *b, uint32_t ttl_ms, uint64_t off, uint64_t len);
SMBW_WUR int wire_decode_offload_read_rsp(const uint8_t *p, size_t len, odx_read_rsp *r);
SMBW_WUR int wire_encode_offload_write(smbw_buf *b, uint64_t off, uint64_t len,
                                       uint64_t transfer_off, const uint8_t token[ODX_TOKEN_SIZE]);
SMBW_WUR int wire_decode_offload_write_rsp(const uint8_t *p, size_t len, odx_write_rsp *r);

/* VALIDATE_NEGOTIATE_INFO request/response (2.2.31.4 / 2.2.32.6). */
typedef struct validate_negotiate_info {
    uint32_t capabilities;
    uint8_t guid[16];
    uint16_t security_mode;
    uint16_t dialect;         /* response only */
    const uint16_t *dialects; /* request only */
    uint16_t dialect_count;
} validate_negotiate_info;
SMBW_WUR int wire_encode_validate_negotiate(smbw_buf *b, const validate_negotiate_info *v);
SMBW_WUR int wire_decode_validate_negotiate(const uint8_t *p, size_t len,
                                            validate_negotiate_info *v);

/* ---- transform header (2.2.41) ------------------------------------------- */

typedef struct smb2_transform_hdr {
    uint8_t signature[16];
    uint8_t nonce[16];
    uint32_t original_size;
    uint16_t flags; /* 0x0001 Encrypted (3.1.1) / EncryptionAlgorithm (3.0) */
    uint64_t session_id;
    /* Filled by the decoder, borrowed from the frame: */
    const uint8_t *aad; /* Nonce .. SessionId, the authenticated header bytes */
    size_t aad_len;
    const uint8_t *payload; /* the encrypted message after the header */
    size_t payload_len;
} smb2_transform_hdr;
#define SMB2_TRANSFORM_HDR_SIZE 52
#define SMB2_TRANSFORM_FLAG_ENCRYPTED 0x0001
/* Where an encoder's output keeps the tag and the AAD (for in-place AEAD). */
#define SMB2_TRANSFORM_SIGNATURE_OFFSET 4
#define SMB2_TRANSFORM_AAD_OFFSET 20
#define SMB2_TRANSFORM_AAD_SIZE 32
/* Appends the 52-byte header (aad/payload are ignored). */
void wire_encode_transform_hdr(smbw_buf *b, const smb2_transform_hdr *h);
/* p/len is the whole frame. Requires a non-empty payload, Flags 0x0001 and
 * OriginalMessageSize equal to the payload size. */
SMBW_WUR int wire_decode_transform_hdr(const uint8_t *p, size_t len, smb2_transform_hdr *h);

/* ---- DFS referrals (MS-DFSC 2.2.2-2.2.5), carried by FSCTL_DFS_GET_REFERRALS
 * (0x00060194) and FSCTL_DFS_GET_REFERRALS_EX (0x000601B0) on IPC$ ------------ */

#define FSCTL_DFS_GET_REFERRALS 0x00060194u
#define FSCTL_DFS_GET_REFERRALS_EX 0x000601B0u
#define DFS_REFERRAL_MAX_LEVEL 4u
/* More entries than this in one response is refused (a namespace link with
 * more targets than anyone configures is a hostile or broken server). */
#define DFS_MAX_REFERRALS 64u
/* A TimeToLive above this (seconds, one day) is taken as this. */
#define DFS_TTL_MAX 86400u
/* Version 1 entries carry no TimeToLive: this many seconds are assumed. */
#define DFS_TTL_V1 300u
/* ReferralHeaderFlags (2.2.4) */
#define DFS_HDR_REFERRAL_SERVERS 0x00000001u /* R: the targets are DFS root servers */
#define DFS_HDR_STORAGE_SERVERS 0x00000002u  /* S: the targets hold the data */
#define DFS_HDR_TARGET_FAILBACK 0x00000004u  /* T */
/* ServerType (2.2.5.x) */
#define DFS_SERVER_TYPE_ROOT 0x0001u
/* ReferralEntryFlags (2.2.5.3, 2.2.5.4) */
#define DFS_ENTRY_NAME_LIST_REFERRAL 0x0002u
#define DFS_ENTRY_TARGET_SET_BOUNDARY 0x0004u

typedef struct dfs_referral {
    uint16_t version; /* 1..4, the same for every entry of a response */
    uint16_t server_type;
    uint16_t entry_flags;
    uint32_t ttl;            /* seconds, at most DFS_TTL_MAX; DFS_TTL_V1 for version 1 */
    char *dfs_path;          /* UTF-8 (v2+; NULL for v1), e.g. \\server\root\link */
    char *alt_path;          /* UTF-8 (v2+ without a name list; NULL otherwise) */
    char *node;              /* the target (v1 ShareName, v2+ NetworkAddress) or, for a
                              * name-list entry (domain/DC referral), its SpecialName */
    uint16_t expanded_names; /* name-list entries: NumberOfExpandedNames */
} dfs_referral;

typedef struct dfs_referral_rsp {
    uint16_t path_consumed; /* bytes of the UTF-16 request path the referral covers */
    uint32_t header_flags;
    uint16_t version;
    size_t count; /* at least 1, at most DFS_MAX_REFERRALS */
    dfs_referral *refs;
} dfs_referral_rsp;

/* REQ_GET_DFS_REFERRAL (2.2.2): MaxReferralLevel, RequestFileName (UTF-16,
 * NUL-terminated). path is UTF-8; SMBW_EINVAL for a NULL, empty, invalid or
 * over-long (>= 32 KiB of UTF-16) path or a level outside 1..4. */
SMBW_WUR int wire_encode_dfs_referral_req(smbw_buf *b, uint16_t max_level, const char *path);
/* REQ_GET_DFS_REFERRAL_EX (2.2.3): MaxReferralLevel, RequestFlags (SiteName
 * when site is not NULL), RequestDataLength, RequestFileNameLength,
 * RequestFileName, [SiteNameLength, SiteName]. Same errors. */
SMBW_WUR int wire_encode_dfs_referral_req_ex(smbw_buf *b, uint16_t max_level, const char *path,
                                             const char *site);
/* RESP_GET_DFS_REFERRAL (2.2.4) with entries of versions 1-4 (2.2.5.x), the
 * FSCTL's output buffer. req_path_bytes is the UTF-16 byte length of the path
 * that was asked about (PathConsumed must not exceed it, and be even). Every
 * entry's Size and every string offset is checked against the buffer; strings
 * are NUL-terminated UTF-16 and are converted to UTF-8. Refused (SMBW_EPROTO):
 * no entry, more than DFS_MAX_REFERRALS, versions mixed or outside 1-4, an
 * entry shorter than its version's fixed part, an offset outside the buffer,
 * a string without terminator or with an unpaired surrogate, an empty target.
 * On success *r owns its strings: release with wire_dfs_referral_rsp_free;
 * on failure *r is zeroed and owns nothing. SMBW_ENOMEM when out of memory. */
SMBW_WUR int wire_decode_dfs_referral_rsp(const uint8_t *p, size_t len, size_t req_path_bytes,
                                          dfs_referral_rsp *r);
void wire_dfs_referral_rsp_free(dfs_referral_rsp *r);

#endif
