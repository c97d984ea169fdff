/* SESSION_SETUP (MS-SMB2 2.2.5, 2.2.6) and the 4-byte bodies of LOGOFF,
 * TREE_DISCONNECT, ECHO and CANCEL requests (2.2.7, 2.2.11, 2.2.28, 2.2.30). */
#include "wire.h"

#include "enc.h"
#include <string.h>

#include "smbwire/errors.h"

#define SS_REQ_FIXED 24 /* StructureSize 25 */
#define SS_RSP_FIXED 8  /* StructureSize 9 */

int wire_encode_session_setup(smbw_buf *b, const smb2_session_setup_req *r)
{
    size_t start = b->len;

    if (!r || (r->token_len && !r->token))
        return SMBW_EINVAL;
    if (r->token_len > UINT16_MAX - SMB2_HDR_SIZE - SS_REQ_FIXED)
        return SMBW_EINVAL;
    buf_u16(b, SS_REQ_FIXED + 1); /* StructureSize */
    buf_u8(b, r->flags);
    buf_u8(b, r->security_mode);
    buf_u32(b, r->capabilities);
    buf_u32(b, 0);                            /* Channel */
    buf_u16(b, SMB2_HDR_SIZE + SS_REQ_FIXED); /* SecurityBufferOffset */
    buf_u16(b, (uint16_t)r->token_len);
    buf_u64(b, r->previous_session_id);
    if (r->token_len)
        buf_put(b, r->token, r->token_len);
    else
        buf_u8(b, 0); /* the variable part is never absent in a request */
    return wire_enc_end(b, start, 0);
}

int wire_decode_session_setup(const uint8_t *msg, size_t len, smb2_session_setup_rsp *r)
{
    smbw_cur c = cur_make(msg, len), base = cur_make(msg, len), tok;
    uint16_t ss, off, tlen;
    smb2_session_setup_rsp o;

    memset(&o, 0, sizeof o);
    if (!msg || len < SMB2_HDR_SIZE + SS_RSP_FIXED)
        return SMBW_EPROTO;
    if (!cur_skip(&c, SMB2_HDR_SIZE) || !cur_u16(&c, &ss) || ss != SS_RSP_FIXED + 1)
        return SMBW_EPROTO;
    if (!cur_u16(&c, &o.session_flags) || !cur_u16(&c, &off) || !cur_u16(&c, &tlen))
        return SMBW_EPROTO;
    if (tlen) {
        if (off < SMB2_HDR_SIZE + SS_RSP_FIXED || !cur_slice(&base, off, tlen, &tok))
            return SMBW_EPROTO;
        o.token = tok.p;
        o.token_len = tlen;
    }
    *r = o;
    return 0;
}

int wire_encode_empty4(smbw_buf *b)
{
    size_t start = b->len;
    buf_u16(b, 4); /* StructureSize */
    buf_u16(b, 0); /* Reserved */
    return wire_enc_end(b, start, 0);
}
