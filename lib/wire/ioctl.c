/* IOCTL request/response (MS-SMB2 2.2.31, 2.2.32). */
#include "wire.h"

#include "enc.h"
#include <string.h>

#include "smbwire/errors.h"

#define IOCTL_REQ_FIXED 56 /* StructureSize 57 */
#define IOCTL_RSP_FIXED 48 /* StructureSize 49 */

int wire_encode_ioctl(smbw_buf *b, const smb2_ioctl_req *r)
{
    size_t start = b->len;
    if (!r || (r->input_len && !r->input))
        return SMBW_EINVAL;
    buf_u16(b, IOCTL_REQ_FIXED + 1); /* StructureSize */
    buf_u16(b, 0);                   /* Reserved */
    buf_u32(b, r->ctl_code);
    buf_put(b, r->file_id, 16);
    /* InputOffset always names the Buffer field (Samba checks it even when
     * InputCount is 0); there is no output data in a request. */
    buf_u32(b, SMB2_HDR_SIZE + IOCTL_REQ_FIXED); /* InputOffset */
    buf_u32(b, r->input_len);                    /* InputCount */
    buf_u32(b, r->max_input_response);
    buf_u32(b, 0); /* OutputOffset */
    buf_u32(b, 0); /* OutputCount */
    buf_u32(b, r->max_output_response);
    buf_u32(b, r->flags);
    buf_u32(b, 0); /* Reserved2 */
    if (r->input_len)
        buf_put(b, r->input, r->input_len);
    return wire_enc_end(b, start, 0);
}

/* A response buffer: when count is 0 the offset is ignored (3.2.5.14). */
static int rsp_buf(const uint8_t *msg, size_t len, uint32_t off, uint32_t count,
                   const uint8_t **out)
{
    smbw_cur base = cur_make(msg, len), s;
    *out = NULL;
    if (count == 0)
        return 0;
    if (off < SMB2_HDR_SIZE + IOCTL_RSP_FIXED || !cur_slice(&base, off, count, &s))
        return SMBW_EPROTO;
    *out = s.p;
    return 0;
}

int wire_decode_ioctl(const uint8_t *msg, size_t len, smb2_ioctl_rsp *r)
{
    smbw_cur c = cur_make(msg, len);
    uint16_t ss, reserved;
    uint32_t in_off, out_off, reserved2;
    smb2_ioctl_rsp o;

    memset(&o, 0, sizeof o);
    if (!msg || len < SMB2_HDR_SIZE + IOCTL_RSP_FIXED)
        return SMBW_EPROTO;
    if (!cur_skip(&c, SMB2_HDR_SIZE) || !cur_u16(&c, &ss) || ss != IOCTL_RSP_FIXED + 1)
        return SMBW_EPROTO;
    if (!cur_u16(&c, &reserved) || !cur_u32(&c, &o.ctl_code) || !cur_copy(&c, o.file_id, 16) ||
        !cur_u32(&c, &in_off) || !cur_u32(&c, &o.input_len) || !cur_u32(&c, &out_off) ||
        !cur_u32(&c, &o.output_len) || !cur_u32(&c, &o.flags) || !cur_u32(&c, &reserved2))
        return SMBW_EPROTO;
    if (rsp_buf(msg, len, in_off, o.input_len, &o.input) != 0 ||
        rsp_buf(msg, len, out_off, o.output_len, &o.output) != 0)
        return SMBW_EPROTO;
    *r = o;
    return 0;
}
