/* READ and WRITE (MS-SMB2 2.2.19 - 2.2.22). */
#include "wire.h"

#include "enc.h"
#include <string.h>

#include "smbwire/errors.h"
#include "smbwire/ntstatus.h"

#define READ_REQ_FIXED 48  /* StructureSize 49 */
#define READ_RSP_FIXED 16  /* StructureSize 17 */
#define WRITE_REQ_FIXED 48 /* StructureSize 49 */
#define WRITE_RSP_FIXED 16 /* StructureSize 17 */

int wire_encode_read(smbw_buf *b, const smb2_read_req *r)
{
    size_t start = b->len;
    if (!r)
        return SMBW_EINVAL;
    buf_u16(b, READ_REQ_FIXED + 1); /* StructureSize */
    /* Padding: where we would like the data in the response (header + fixed
     * response body); a hint only. */
    buf_u8(b, SMB2_HDR_SIZE + READ_RSP_FIXED);
    buf_u8(b, r->flags);
    buf_u32(b, r->length);
    buf_u64(b, r->offset);
    buf_put(b, r->file_id, 16);
    buf_u32(b, r->minimum_count);
    buf_u32(b, SMB2_CHANNEL_NONE); /* Channel */
    buf_u32(b, 0);                 /* RemainingBytes */
    buf_u16(b, 0);                 /* ReadChannelInfoOffset */
    buf_u16(b, 0);                 /* ReadChannelInfoLength */
    buf_u8(b, 0); /* 2.2.19: Buffer is one byte of zero when there is no channel info */
    return wire_enc_end(b, start, 0);
}

/* The fixed part of a READ response (MS-SMB2 2.2.20) after the header:
 * its DataOffset in *off, DataLength and DataRemaining in *o. */
static int read_rsp_fixed(const uint8_t *msg, size_t len, uint8_t *off, smb2_read_rsp *o)
{
    smbw_cur c = cur_make(msg, len);
    uint16_t ss;
    uint8_t reserved;
    uint32_t reserved2;

    memset(o, 0, sizeof *o);
    if (!msg || len < SMB2_HDR_SIZE + READ_RSP_FIXED)
        return SMBW_EPROTO;
    if (!cur_skip(&c, SMB2_HDR_SIZE) || !cur_u16(&c, &ss) || ss != READ_RSP_FIXED + 1)
        return SMBW_EPROTO;
    if (!cur_u8(&c, off) || !cur_u8(&c, &reserved) || !cur_u32(&c, &o->data_len) ||
        !cur_u32(&c, &o->data_remaining) || !cur_u32(&c, &reserved2))
        return SMBW_EPROTO;
    return 0;
}

int wire_decode_read(const uint8_t *msg, size_t len, smb2_read_rsp *r)
{
    smbw_cur base = cur_make(msg, len), data;
    uint8_t off;
    smb2_read_rsp o;

    if (read_rsp_fixed(msg, len, &off, &o) != 0)
        return SMBW_EPROTO;
    /* DataOffset is only meaningful when there is data (servers send 0 or
     * 0x50 with an empty read). */
    if (o.data_len) {
        if (off < SMB2_HDR_SIZE + READ_RSP_FIXED || !cur_slice(&base, off, o.data_len, &data))
            return SMBW_EPROTO;
        o.data = data.p;
    }
    *r = o;
    return 0;
}

int wire_decode_read_placed(const uint8_t *msg, size_t len, uint32_t placed, smb2_read_rsp *r)
{
    uint8_t off;
    smb2_read_rsp o;

    if (placed == 0 || read_rsp_fixed(msg, len, &off, &o) != 0)
        return SMBW_EPROTO;
    if (off != len || o.data_len != placed)
        return SMBW_EPROTO;
    *r = o;
    return 0;
}

int wire_read_placement(const uint8_t *frame, size_t have, size_t frame_len, uint64_t *mid,
                        uint32_t *data_off, uint32_t *data_len)
{
    smb2_hdr h;
    if (!frame || frame_len < SMB2_HDR_SIZE + READ_RSP_FIXED || have > frame_len)
        return -1;
    if (have < SMB2_HDR_SIZE + READ_RSP_FIXED)
        return 1;
    if (wire_decode_hdr(frame, have, &h) != 0 || h.command != SMB2_READ ||
        h.status != SMBW_STATUS_SUCCESS || !(h.flags & SMB2_FLAGS_SERVER_TO_REDIR) ||
        h.next_command != 0)
        return -1;
    smbw_cur c = cur_make(frame + SMB2_HDR_SIZE, have - SMB2_HDR_SIZE);
    uint16_t ss;
    uint8_t off, reserved;
    uint32_t len;
    if (!cur_u16(&c, &ss) || ss != READ_RSP_FIXED + 1 || !cur_u8(&c, &off) ||
        !cur_u8(&c, &reserved) || !cur_u32(&c, &len))
        return -1;
    if (off < SMB2_HDR_SIZE + READ_RSP_FIXED || len == 0 || off > frame_len ||
        (uint64_t)off + len != frame_len)
        return -1;
    if (have < off)
        return 1;
    *mid = h.message_id;
    *data_off = off;
    *data_len = len;
    return 0;
}

static int write_fixed(smbw_buf *b, const smb2_write_req *r)
{
    buf_u16(b, WRITE_REQ_FIXED + 1);             /* StructureSize */
    buf_u16(b, SMB2_HDR_SIZE + WRITE_REQ_FIXED); /* DataOffset */
    buf_u32(b, r->length);
    buf_u64(b, r->offset);
    buf_put(b, r->file_id, 16);
    buf_u32(b, SMB2_CHANNEL_NONE); /* Channel */
    buf_u32(b, 0);                 /* RemainingBytes */
    buf_u16(b, 0);                 /* WriteChannelInfoOffset */
    buf_u16(b, 0);                 /* WriteChannelInfoLength */
    buf_u32(b, r->flags);
    return 0;
}

int wire_encode_write_hdr(smbw_buf *b, const smb2_write_req *r)
{
    size_t start = b->len;
    if (!r || !r->length)
        return SMBW_EINVAL;
    (void)write_fixed(b, r);
    return wire_enc_end(b, start, 0);
}

int wire_encode_write(smbw_buf *b, const smb2_write_req *r)
{
    size_t start = b->len;
    if (!r || (r->length && !r->data))
        return SMBW_EINVAL;
    (void)write_fixed(b, r);
    if (r->length)
        buf_put(b, r->data, r->length);
    else
        buf_u8(b, 0); /* keep the variable byte of the odd StructureSize */
    return wire_enc_end(b, start, 0);
}

int wire_decode_write(const uint8_t *msg, size_t len, smb2_write_rsp *r)
{
    smbw_cur c = cur_make(msg, len);
    uint16_t ss, reserved, ch_off, ch_len;
    smb2_write_rsp o;

    memset(&o, 0, sizeof o);
    if (!msg || len < SMB2_HDR_SIZE + WRITE_RSP_FIXED)
        return SMBW_EPROTO;
    if (!cur_skip(&c, SMB2_HDR_SIZE) || !cur_u16(&c, &ss) || ss != WRITE_RSP_FIXED + 1)
        return SMBW_EPROTO;
    if (!cur_u16(&c, &reserved) || !cur_u32(&c, &o.count) || !cur_u32(&c, &o.remaining) ||
        !cur_u16(&c, &ch_off) || !cur_u16(&c, &ch_len))
        return SMBW_EPROTO;
    *r = o;
    return 0;
}
