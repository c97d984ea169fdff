/* TREE_CONNECT request/response (MS-SMB2 2.2.9, 2.2.10). */
#include "wire.h"

#include "enc.h"
#include <string.h>

#include "../util/unicode.h"
#include "smbwire/errors.h"

#define TC_REQ_FIXED 8  /* StructureSize 9 */
#define TC_RSP_FIXED 16 /* StructureSize 16 */

int wire_encode_tree_connect(smbw_buf *b, uint16_t flags, const char *path)
{
    size_t start = b->len, name_start;
    int rc;

    if (!path || !path[0])
        return SMBW_EINVAL;
    buf_u16(b, TC_REQ_FIXED + 1);             /* StructureSize */
    buf_u16(b, flags);                        /* Flags (3.1.1) / Reserved */
    buf_u16(b, SMB2_HDR_SIZE + TC_REQ_FIXED); /* PathOffset */
    buf_u16(b, 0);                            /* PathLength, patched */
    name_start = b->len;
    rc = utf8_to_utf16le(path, strlen(path), b);
    if (rc == 0 && !b->failed) {
        size_t n = b->len - name_start;
        if (n > UINT16_MAX)
            rc = SMBW_EINVAL;
        else
            buf_set_u16(b, name_start - 2, (uint16_t)n);
    }
    return wire_enc_end(b, start, rc);
}

int wire_decode_tree_connect(const uint8_t *msg, size_t len, smb2_tree_connect_rsp *r)
{
    smbw_cur c = cur_make(msg, len);
    uint16_t ss;
    uint8_t reserved;
    smb2_tree_connect_rsp o;

    memset(&o, 0, sizeof o);
    if (!msg || len < SMB2_HDR_SIZE + TC_RSP_FIXED)
        return SMBW_EPROTO;
    if (!cur_skip(&c, SMB2_HDR_SIZE) || !cur_u16(&c, &ss) || ss != TC_RSP_FIXED)
        return SMBW_EPROTO;
    if (!cur_u8(&c, &o.share_type) || !cur_u8(&c, &reserved) || !cur_u32(&c, &o.share_flags) ||
        !cur_u32(&c, &o.capabilities) || !cur_u32(&c, &o.maximal_access))
        return SMBW_EPROTO;
    *r = o;
    return 0;
}
