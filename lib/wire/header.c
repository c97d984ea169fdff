/* SMB2 packet header (MS-SMB2 2.2.1), the response validation table and the
 * ERROR response body (2.2.2). */
#include "wire.h"

#include <string.h>

#include "enc.h"

#include "../util/status.h"
#include "smbwire/errors.h"

int wire_enc_end(smbw_buf *b, size_t start, int rc)
{
    if (rc == 0 && b->failed)
        rc = SMBW_ENOMEM;
    if (rc != 0 && !b->failed)
        b->len = start;
    return rc;
}

/* ---- Direct TCP transport (MS-SMB2 2.1) ------------------------------------ */

#define TRANSPORT_MAX_LEN 0xFFFFFFu

int wire_decode_transport_hdr(const uint8_t *p, size_t len, uint32_t *flen)
{
    smbw_cur c = cur_make(p, len);
    uint32_t v;
    if (!p || !cur_u32be(&c, &v))
        return 1; /* not all four bytes yet */
    if (v >> 24 != 0)
        return SMBW_EPROTO; /* a zero byte, then the 24-bit length */
    *flen = v;
    return 0;
}

void wire_encode_transport_hdr(smbw_buf *b)
{
    buf_u32be(b, 0);
}

int wire_patch_transport_hdr(smbw_buf *b, size_t off, size_t flen)
{
    if (flen > TRANSPORT_MAX_LEN)
        return SMBW_EINVAL;
    buf_set_u32be(b, off, (uint32_t)flen);
    return b->failed ? SMBW_ENOMEM : 0;
}

int wire_decode_protocol_id(const uint8_t *p, size_t len, uint32_t *proto)
{
    smbw_cur c = cur_make(p, len);
    if (!p || !cur_u32(&c, proto))
        return SMBW_EPROTO;
    return 0;
}

/* NextCommand sits after ProtocolId, StructureSize, CreditCharge, Status,
 * Command, CreditRequest and Flags (2.2.1.1). */
#define HDR_NEXT_COMMAND_OFF 20

int wire_compound_next(const uint8_t *p, size_t len, size_t *msg_len, size_t *next)
{
    smbw_cur c = cur_make(p, len);
    uint32_t nc;
    if (!p || len < SMB2_HDR_SIZE || !cur_skip(&c, HDR_NEXT_COMMAND_OFF) || !cur_u32(&c, &nc))
        return SMBW_EPROTO;
    *next = nc;
    if (nc == 0) {
        *msg_len = len;
        return 0;
    }
    /* 3.2.5.1.9 / 2.2.1: each message of a compound starts 8-byte aligned
     * and inside the frame, after at least a whole header. */
    if (nc % 8 || nc < SMB2_HDR_SIZE || nc >= len)
        return SMBW_EPROTO;
    *msg_len = nc;
    return 0;
}

void wire_patch_next_command(smbw_buf *b, size_t msg_start, uint32_t next)
{
    if (msg_start > SIZE_MAX - HDR_NEXT_COMMAND_OFF) {
        b->failed = true;
        return;
    }
    buf_set_u32(b, msg_start + HDR_NEXT_COMMAND_OFF, next);
}

size_t wire_trailing_zeros(const uint8_t *p, size_t len, size_t max)
{
    size_t n = 0;
    while (p && n < max && n < len && p[len - n - 1] == 0)
        n++;
    return n;
}

/* ---- SMB2 header (2.2.1) ---------------------------------------------------- */

void wire_encode_hdr(smbw_buf *b, const smb2_hdr *h)
{
    buf_u32(b, SMB2_PROTO_ID);
    buf_u16(b, SMB2_HDR_SIZE); /* StructureSize */
    buf_u16(b, h->credit_charge);
    buf_u32(b, h->status);
    buf_u16(b, h->command);
    buf_u16(b, h->credits);
    buf_u32(b, h->flags);
    buf_u32(b, h->next_command);
    buf_u64(b, h->message_id);
    if (h->flags & SMB2_FLAGS_ASYNC_COMMAND) {
        buf_u64(b, h->async_id);
    } else {
        buf_u32(b, 0); /* Reserved (ProcessId) */
        buf_u32(b, h->tree_id);
    }
    buf_u64(b, h->session_id);
    buf_put(b, h->signature, sizeof h->signature);
}

int wire_decode_hdr(const uint8_t *msg, size_t len, smb2_hdr *h)
{
    smbw_cur c = cur_make(msg, len);
    uint32_t proto, reserved;
    uint16_t ss;
    smb2_hdr o;

    memset(&o, 0, sizeof o);
    if (!msg || len < SMB2_HDR_SIZE)
        return SMBW_EPROTO;
    if (!cur_u32(&c, &proto) || proto != SMB2_PROTO_ID)
        return SMBW_EPROTO;
    if (!cur_u16(&c, &ss) || ss != SMB2_HDR_SIZE)
        return SMBW_EPROTO;
    if (!cur_u16(&c, &o.credit_charge) || !cur_u32(&c, &o.status) || !cur_u16(&c, &o.command) ||
        !cur_u16(&c, &o.credits) || !cur_u32(&c, &o.flags) || !cur_u32(&c, &o.next_command) ||
        !cur_u64(&c, &o.message_id))
        return SMBW_EPROTO;
    if (o.flags & SMB2_FLAGS_ASYNC_COMMAND) {
        if (!cur_u64(&c, &o.async_id))
            return SMBW_EPROTO;
    } else {
        if (!cur_u32(&c, &reserved) || !cur_u32(&c, &o.tree_id))
            return SMBW_EPROTO;
    }
    if (!cur_u64(&c, &o.session_id) || !cur_copy(&c, o.signature, sizeof o.signature))
        return SMBW_EPROTO;
    *h = o;
    return 0;
}

/* Response StructureSize per command (MS-SMB2 2.2.4 - 2.2.36). 0 means the
 * command has no response (CANCEL). OPLOCK_BREAK has several forms and is
 * handled separately. */
static const uint16_t rsp_struct_size[SMB2_NCOMMANDS] = {
    [SMB2_NEGOTIATE] = 65,
    [SMB2_SESSION_SETUP] = 9,
    [SMB2_LOGOFF] = 4,
    [SMB2_TREE_CONNECT] = 16,
    [SMB2_TREE_DISCONNECT] = 4,
    [SMB2_CREATE] = 89,
    [SMB2_CLOSE] = 60,
    [SMB2_FLUSH] = 4,
    [SMB2_READ] = 17,
    [SMB2_WRITE] = 17,
    [SMB2_LOCK] = 4,
    [SMB2_IOCTL] = 49,
    [SMB2_CANCEL] = 0,
    [SMB2_ECHO] = 4,
    [SMB2_QUERY_DIRECTORY] = 9,
    [SMB2_CHANGE_NOTIFY] = 9,
    [SMB2_QUERY_INFO] = 9,
    [SMB2_SET_INFO] = 2,
    [SMB2_OPLOCK_BREAK] = 24,
};

#define SMB2_ERROR_STRUCT_SIZE 9

/* The fixed part a StructureSize announces. For odd sizes the last byte is
 * the first byte of the variable Buffer, which servers omit when it is empty
 * (a READ with no data, an error with ByteCount 0 from some servers), so only
 * StructureSize & ~1 bytes are required. */
static bool fixed_fits(size_t len, uint16_t ss)
{
    return len - SMB2_HDR_SIZE >= (size_t)(ss & ~1u);
}

int wire_check_response(const uint8_t *msg, size_t len, const smb2_hdr *h)
{
    smbw_cur c = cur_make(msg, len);
    uint32_t proto;
    uint16_t hs, ss, want;

    if (!msg || !h || len < SMB2_HDR_SIZE + 2)
        return SMBW_EPROTO;
    /* The header fields come from h, but the two constants are re-checked on
     * the bytes so a caller cannot validate one message with another's h. */
    if (!cur_u32(&c, &proto) || !cur_u16(&c, &hs) || proto != SMB2_PROTO_ID || hs != SMB2_HDR_SIZE)
        return SMBW_EPROTO;
    if (!(h->flags & SMB2_FLAGS_SERVER_TO_REDIR))
        return SMBW_EPROTO; /* a request, not a response */
    if (h->command >= SMB2_NCOMMANDS)
        return SMBW_EPROTO;
    if (!cur_skip(&c, SMB2_HDR_SIZE - 6) || !cur_u16(&c, &ss))
        return SMBW_EPROTO;

    /* Any failure may come as an ERROR response (2.2.2, 3.3.4.4), whatever
     * the command; a STATUS_SUCCESS never does. */
    if (h->status != SMBW_STATUS_SUCCESS && ss == SMB2_ERROR_STRUCT_SIZE)
        return fixed_fits(len, ss) ? 0 : SMBW_EPROTO;

    if (h->command == SMB2_OPLOCK_BREAK) {
        /* Oplock break notification/acknowledgment response 24 (2.2.23.1,
         * 2.2.25.1), lease break notification 44 (2.2.23.2), lease break
         * acknowledgment response 36 (2.2.25.2). */
        if (ss != 24 && ss != 36 && ss != 44)
            return SMBW_EPROTO;
        return fixed_fits(len, ss) ? 0 : SMBW_EPROTO;
    }
    want = rsp_struct_size[h->command];
    if (want == 0 || ss != want)
        return SMBW_EPROTO;
    return fixed_fits(len, ss) ? 0 : SMBW_EPROTO;
}

/* MS-SMB2 3.3.4.4: every status other than STATUS_SUCCESS is a failure sent
 * with an ERROR response body, except:
 *  - STATUS_MORE_PROCESSING_REQUIRED on SESSION_SETUP (a full 2.2.6 body);
 *  - STATUS_BUFFER_OVERFLOW on QUERY_INFO, IOCTL (pipe transceive/peek, DFS
 *    referrals) and READ (named pipes): a full body with partial data. We
 *    also accept it on QUERY_DIRECTORY: its body has the same StructureSize
 *    (9) as an ERROR body, so the status alone has to pick the decoder, and a
 *    real ERROR body read as a QUERY_DIRECTORY body yields an empty buffer
 *    (OutputBufferOffset 0, OutputBufferLength = ByteCount, normally 0);
 *  - STATUS_NOTIFY_ENUM_DIR on CHANGE_NOTIFY.
 * So warnings such as STATUS_NO_MORE_FILES or STATUS_STOPPED_ON_SYMLINK and
 * the interim STATUS_PENDING are error responses (9-byte body).
 * STATUS_INVALID_PARAMETER on a copychunk IOCTL carries a full IOCTL body
 * with the server limits; that case is the caller's: this returns true and
 * wire_check_response accepts both body forms for it. */
bool wire_status_is_error_response(uint16_t command, uint32_t status)
{
    if (status == SMBW_STATUS_SUCCESS)
        return false;
    switch (status) {
    case SMBW_STATUS_MORE_PROCESSING_REQUIRED:
        return command != SMB2_SESSION_SETUP;
    case SMBW_STATUS_BUFFER_OVERFLOW:
        return !(command == SMB2_READ || command == SMB2_IOCTL || command == SMB2_QUERY_INFO ||
                 command == SMB2_QUERY_DIRECTORY);
    case SMBW_STATUS_NOTIFY_ENUM_DIR:
        return command != SMB2_CHANGE_NOTIFY;
    default:
        return true;
    }
}

/* ERROR response (2.2.2): StructureSize 9, ErrorContextCount u8, Reserved u8,
 * ByteCount u32, ErrorData[ByteCount]. When ByteCount is 0 the spec asks
 * for one byte of ErrorData; it is not required here. */
int wire_decode_error(const uint8_t *msg, size_t len, smb2_error_rsp *r)
{
    smbw_cur c = cur_make(msg, len), data;
    uint16_t ss;
    uint8_t reserved;
    smb2_error_rsp o;

    memset(&o, 0, sizeof o);
    if (!msg || !cur_skip(&c, SMB2_HDR_SIZE) || !cur_u16(&c, &ss) || ss != SMB2_ERROR_STRUCT_SIZE)
        return SMBW_EPROTO;
    if (!cur_u8(&c, &o.error_context_count) || !cur_u8(&c, &reserved) || !cur_u32(&c, &o.data_len))
        return SMBW_EPROTO;
    if (!cur_sub(&c, o.data_len, &data))
        return SMBW_EPROTO;
    o.data = o.data_len ? data.p : NULL;
    *r = o;
    return 0;
}
