/* Offloaded data transfer (ODX) structures, MS-FSCC 2.3.41-2.3.44 and the
 * STORAGE_OFFLOAD_TOKEN (2.3.79). The integers of the FSCTL structures are
 * little-endian; those of the token are big-endian. */
#include "wire.h"

#include "enc.h"
#include <string.h>

#include "smbwire/errors.h"

#define ODX_READ_INPUT_SIZE 32u
#define ODX_READ_OUTPUT_SIZE (16u + ODX_TOKEN_SIZE)
#define ODX_WRITE_INPUT_SIZE (32u + ODX_TOKEN_SIZE)
#define ODX_WRITE_OUTPUT_SIZE 16u
#define ODX_TOKEN_ID_MAX (ODX_TOKEN_SIZE - 8u)

/* FSCTL_OFFLOAD_READ_INPUT: Size, Flags (0), TokenTimeToLive (ms), Reserved,
 * FileOffset, CopyLength. */
int wire_encode_offload_read(smbw_buf *b, uint32_t ttl_ms, uint64_t off, uint64_t len)
{
    size_t start = b->len;
    buf_u32(b, ODX_READ_INPUT_SIZE);
    buf_u32(b, 0);
    buf_u32(b, ttl_ms);
    buf_u32(b, 0);
    buf_u64(b, off);
    buf_u64(b, len);
    return wire_enc_end(b, start, 0);
}

/* STORAGE_OFFLOAD_TOKEN: TokenType (BE u32), Reserved[2], TokenIdLength
 * (BE u16, at most 504), TokenId[504]. */
static bool token_ok(const uint8_t *t, odx_token_info *info)
{
    smbw_cur c = cur_make(t, ODX_TOKEN_SIZE);
    uint32_t type;
    uint16_t reserved, idlen;
    if (!cur_u32be(&c, &type) || !cur_u16be(&c, &reserved) || !cur_u16be(&c, &idlen))
        return false;
    if (idlen > ODX_TOKEN_ID_MAX)
        return false;
    if (info) {
        info->type = type;
        info->id_len = idlen;
    }
    return true;
}

/* FSCTL_OFFLOAD_READ_OUTPUT: Size (at least 528), Flags, TransferLength,
 * Token[512]. */
int wire_decode_offload_read_rsp(const uint8_t *p, size_t len, odx_read_rsp *r)
{
    smbw_cur c = cur_make(p, len);
    odx_read_rsp o;
    uint32_t size;

    memset(&o, 0, sizeof o);
    if (!p || len < ODX_READ_OUTPUT_SIZE)
        return SMBW_EPROTO;
    if (!cur_u32(&c, &size) || !cur_u32(&c, &o.flags) || !cur_u64(&c, &o.transfer_length) ||
        !cur_copy(&c, o.token, ODX_TOKEN_SIZE))
        return SMBW_EPROTO;
    if (size < ODX_READ_OUTPUT_SIZE || !token_ok(o.token, &o.token_info))
        return SMBW_EPROTO;
    *r = o;
    return 0;
}

/* FSCTL_OFFLOAD_WRITE_INPUT: Size, Flags (0), FileOffset, CopyLength,
 * TransferOffset, Token[512]. */
int wire_encode_offload_write(smbw_buf *b, uint64_t off, uint64_t len, uint64_t transfer_off,
                              const uint8_t token[ODX_TOKEN_SIZE])
{
    size_t start = b->len;
    if (!token)
        return SMBW_EINVAL;
    buf_u32(b, ODX_WRITE_INPUT_SIZE);
    buf_u32(b, 0);
    buf_u64(b, off);
    buf_u64(b, len);
    buf_u64(b, transfer_off);
    buf_put(b, token, ODX_TOKEN_SIZE);
    return wire_enc_end(b, start, 0);
}

/* FSCTL_OFFLOAD_WRITE_OUTPUT: Size (at least 16), Flags, LengthWritten. */
int wire_decode_offload_write_rsp(const uint8_t *p, size_t len, odx_write_rsp *r)
{
    smbw_cur c = cur_make(p, len);
    odx_write_rsp o;
    uint32_t size;

    if (!p || len < ODX_WRITE_OUTPUT_SIZE)
        return SMBW_EPROTO;
    if (!cur_u32(&c, &size) || !cur_u32(&c, &o.flags) || !cur_u64(&c, &o.length_written))
        return SMBW_EPROTO;
    if (size < ODX_WRITE_OUTPUT_SIZE)
        return SMBW_EPROTO;
    *r = o;
    return 0;
}
