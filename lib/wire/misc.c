/* TRANSFORM_HEADER (MS-SMB2 2.2.41) and VALIDATE_NEGOTIATE_INFO
 * (2.2.31.4, 2.2.32.6). */
#include "wire.h"

#include "enc.h"
#include <string.h>

#include "smbwire/errors.h"

#define VNEG_RSP_SIZE 24
#define OPLOCK_BREAK_SIZE 24 /* notification and acknowledgment */
#define LEASE_BREAK_SIZE 44

int wire_decode_oplock_break(const uint8_t *msg, size_t len, uint8_t *level, uint8_t file_id[16])
{
    smbw_cur c = cur_make(msg, len);
    uint16_t ss;
    uint8_t reserved;
    uint32_t reserved2;
    if (!cur_skip(&c, SMB2_HDR_SIZE) || !cur_u16(&c, &ss))
        return SMBW_EPROTO;
    if (ss == LEASE_BREAK_SIZE)
        return len >= SMB2_HDR_SIZE + LEASE_BREAK_SIZE ? 1 : SMBW_EPROTO;
    if (ss != OPLOCK_BREAK_SIZE || !cur_u8(&c, level) || !cur_u8(&c, &reserved) ||
        !cur_u32(&c, &reserved2) || !cur_copy(&c, file_id, 16))
        return SMBW_EPROTO;
    if (*level != SMB2_OPLOCK_LEVEL_NONE && *level != SMB2_OPLOCK_LEVEL_II)
        return SMBW_EPROTO; /* a break is to level II or none (2.2.23.1) */
    return 0;
}

int wire_encode_oplock_ack(smbw_buf *b, uint8_t level, const uint8_t file_id[16])
{
    buf_u16(b, OPLOCK_BREAK_SIZE);
    buf_u8(b, level);
    buf_u8(b, 0);  /* Reserved */
    buf_u32(b, 0); /* Reserved2 */
    buf_put(b, file_id, 16);
    return b->failed ? SMBW_ENOMEM : 0;
}

#define LEASE_ACK_SIZE 36 /* acknowledgment and its answer */
#define LEASE_STATES (SMB2_LEASE_READ | SMB2_LEASE_HANDLE | SMB2_LEASE_WRITE)

int wire_decode_lease_break(const uint8_t *msg, size_t len, smb2_lease_break *out)
{
    smbw_cur c = cur_make(msg, len);
    uint16_t ss;
    uint32_t access_hint, share_hint;
    smb2_lease_break o;
    memset(&o, 0, sizeof o);
    memset(out, 0, sizeof *out);
    if (!msg || !cur_skip(&c, SMB2_HDR_SIZE) || !cur_u16(&c, &ss) || ss != LEASE_BREAK_SIZE ||
        !cur_u16(&c, &o.new_epoch) || !cur_u32(&c, &o.flags) || !cur_copy(&c, o.key, 16) ||
        !cur_u32(&c, &o.current_state) || !cur_u32(&c, &o.new_state) || !cur_u32(&c, &o.reason) ||
        !cur_u32(&c, &access_hint) || !cur_u32(&c, &share_hint))
        return SMBW_EPROTO;
    if ((o.current_state & ~LEASE_STATES) || (o.new_state & ~o.current_state))
        return SMBW_EPROTO;
    *out = o;
    return 0;
}

int wire_encode_lease_ack(smbw_buf *b, const uint8_t key[16], uint32_t state)
{
    size_t start = b->len;
    if (!key)
        return SMBW_EINVAL;
    buf_u16(b, LEASE_ACK_SIZE);
    buf_u16(b, 0); /* Reserved */
    buf_u32(b, 0); /* Flags */
    buf_put(b, key, 16);
    buf_u32(b, state);
    buf_u64(b, 0); /* LeaseDuration */
    return wire_enc_end(b, start, 0);
}

int wire_decode_lease_ack(const uint8_t *msg, size_t len, uint8_t key[16], uint32_t *state)
{
    smbw_cur c = cur_make(msg, len);
    uint16_t ss, reserved;
    uint32_t flags;
    uint64_t duration;
    if (!msg || !cur_skip(&c, SMB2_HDR_SIZE) || !cur_u16(&c, &ss) || ss != LEASE_ACK_SIZE ||
        !cur_u16(&c, &reserved) || !cur_u32(&c, &flags) || !cur_copy(&c, key, 16) ||
        !cur_u32(&c, state) || !cur_u64(&c, &duration) || (*state & ~LEASE_STATES))
        return SMBW_EPROTO;
    return 0;
}

void wire_encode_transform_hdr(smbw_buf *b, const smb2_transform_hdr *h)
{
    buf_u32(b, SMB2_TRANSFORM_ID);
    buf_put(b, h->signature, 16);
    buf_put(b, h->nonce, 16);
    buf_u32(b, h->original_size);
    buf_u16(b, 0); /* Reserved */
    buf_u16(b, h->flags);
    buf_u64(b, h->session_id);
}

/* p/len is the whole transformed message: the 52-byte header followed by
 * the encrypted SMB2 message. Per 3.2.5.1.1.1 the message must be longer than
 * the header and Flags/EncryptionAlgorithm must be 0x0001 (both dialect
 * families use that value); OriginalMessageSize must equal the size of what
 * follows the header (with compression the encrypted payload is the
 * compressed message and OriginalMessageSize is its size). */
int wire_decode_transform_hdr(const uint8_t *p, size_t len, smb2_transform_hdr *h)
{
    smbw_cur c = cur_make(p, len);
    uint32_t proto;
    uint16_t reserved;
    smb2_transform_hdr o;

    memset(&o, 0, sizeof o);
    if (!p || len <= SMB2_TRANSFORM_HDR_SIZE)
        return SMBW_EPROTO;
    if (!cur_u32(&c, &proto) || proto != SMB2_TRANSFORM_ID)
        return SMBW_EPROTO;
    if (!cur_copy(&c, o.signature, 16))
        return SMBW_EPROTO;
    o.aad = c.p; /* from Nonce to the end of the header */
    if (!cur_copy(&c, o.nonce, 16) || !cur_u32(&c, &o.original_size) || !cur_u16(&c, &reserved) ||
        !cur_u16(&c, &o.flags) || !cur_u64(&c, &o.session_id))
        return SMBW_EPROTO;
    o.aad_len = (size_t)(c.p - o.aad);
    o.payload = c.p;
    o.payload_len = c.len;
    if (o.flags != SMB2_TRANSFORM_FLAG_ENCRYPTED)
        return SMBW_EPROTO;
    if (o.original_size != len - SMB2_TRANSFORM_HDR_SIZE)
        return SMBW_EPROTO;
    *h = o;
    return 0;
}

/* VALIDATE_NEGOTIATE_INFO request: Capabilities u32, Guid[16], SecurityMode
 * u16, DialectCount u16, Dialects[]. */
int wire_encode_validate_negotiate(smbw_buf *b, const validate_negotiate_info *v)
{
    size_t start = b->len;
    if (!v || v->dialect_count == 0 || !v->dialects)
        return SMBW_EINVAL;
    buf_u32(b, v->capabilities);
    buf_put(b, v->guid, 16);
    buf_u16(b, v->security_mode);
    buf_u16(b, v->dialect_count);
    for (uint16_t i = 0; i < v->dialect_count; i++)
        buf_u16(b, v->dialects[i]);
    return wire_enc_end(b, start, 0);
}

/* VALIDATE_NEGOTIATE_INFO response: Capabilities u32, Guid[16],
 * SecurityMode u16, Dialect u16 (24 bytes). */
int wire_decode_validate_negotiate(const uint8_t *p, size_t len, validate_negotiate_info *v)
{
    smbw_cur c = cur_make(p, len);
    validate_negotiate_info o;

    memset(&o, 0, sizeof o);
    if (!p || len < VNEG_RSP_SIZE)
        return SMBW_EPROTO;
    if (!cur_u32(&c, &o.capabilities) || !cur_copy(&c, o.guid, 16) ||
        !cur_u16(&c, &o.security_mode) || !cur_u16(&c, &o.dialect))
        return SMBW_EPROTO;
    *v = o;
    return 0;
}
