/* Structures carried in FSCTL input/output buffers: resume key and
 * copychunk (MS-SMB2 2.2.31.1, 2.2.32.1, 2.2.32.3), duplicate extents
 * (MS-FSCC 2.3.8), allocated ranges (MS-FSCC 2.3.33, 2.3.34). */
#include "wire.h"

#include "enc.h"
#include <string.h>

#include "smbwire/errors.h"

#define RESUME_KEY_FIXED (SMB2_RESUME_KEY_SIZE + 4)
#define COPYCHUNK_SIZE 24
#define COPYCHUNK_RSP_SIZE 12
#define ALLOC_RANGE_SIZE 16

/* SRV_REQUEST_RESUME_KEY: ResumeKey[24] (opaque on SMB2: sent back as is),
 * ContextLength u32, Context[ContextLength]. */
int wire_decode_resume_key(const uint8_t *p, size_t len, srv_resume_key *k)
{
    smbw_cur c = cur_make(p, len);
    srv_resume_key o;

    if (!p || len < RESUME_KEY_FIXED)
        return SMBW_EPROTO;
    if (!cur_copy(&c, o.key, SMB2_RESUME_KEY_SIZE) || !cur_u32(&c, &o.context_len) ||
        !cur_skip(&c, o.context_len))
        return SMBW_EPROTO;
    *k = o;
    return 0;
}

/* SRV_COPYCHUNK_COPY: SourceKey[24], ChunkCount u32, Reserved u32, then
 * ChunkCount SRV_COPYCHUNK (SourceOffset u64, TargetOffset u64, Length u32,
 * Reserved u32). */
int wire_encode_copychunk(smbw_buf *b, const uint8_t key[SMB2_RESUME_KEY_SIZE],
                          const srv_copychunk *chunks, uint32_t count)
{
    size_t start = b->len;
    if (!key || (count && !chunks))
        return SMBW_EINVAL;
    if ((uint64_t)count * COPYCHUNK_SIZE > SIZE_MAX - 32)
        return SMBW_EINVAL;
    if (!buf_reserve(b, 32 + (size_t)count * COPYCHUNK_SIZE))
        return SMBW_ENOMEM;
    buf_put(b, key, SMB2_RESUME_KEY_SIZE);
    buf_u32(b, count);
    buf_u32(b, 0); /* Reserved */
    for (uint32_t i = 0; i < count; i++) {
        buf_u64(b, chunks[i].source_offset);
        buf_u64(b, chunks[i].target_offset);
        buf_u32(b, chunks[i].length);
        buf_u32(b, 0); /* Reserved */
    }
    return wire_enc_end(b, start, 0);
}

/* SRV_COPYCHUNK_RESPONSE: ChunksWritten, ChunkBytesWritten,
 * TotalBytesWritten (u32 each). With STATUS_INVALID_PARAMETER the same three
 * fields carry the server limits (3.3.5.15.6.2): the caller interprets. */
int wire_decode_copychunk_rsp(const uint8_t *p, size_t len, srv_copychunk_rsp *r)
{
    smbw_cur c = cur_make(p, len);
    srv_copychunk_rsp o;

    if (!p || len < COPYCHUNK_RSP_SIZE)
        return SMBW_EPROTO;
    if (!cur_u32(&c, &o.chunks_written) || !cur_u32(&c, &o.chunk_bytes_written) ||
        !cur_u32(&c, &o.total_bytes_written))
        return SMBW_EPROTO;
    *r = o;
    return 0;
}

/* DUPLICATE_EXTENTS_DATA (MS-FSCC 2.3.8): FileHandle (the SMB2 FileId of the
 * source, 16 bytes), SourceFileOffset i64, TargetFileOffset i64, ByteCount
 * i64. */
void wire_encode_duplicate_extents(smbw_buf *b, const uint8_t src_file_id[16], uint64_t src_off,
                                   uint64_t dst_off, uint64_t len)
{
    buf_put(b, src_file_id, 16);
    buf_u64(b, src_off);
    buf_u64(b, dst_off);
    buf_u64(b, len);
}

/* FILE_ALLOCATED_RANGE_BUFFER: FileOffset i64, Length i64. */
void wire_encode_allocated_range(smbw_buf *b, uint64_t off, uint64_t len)
{
    buf_u64(b, off);
    buf_u64(b, len);
}

/* The output of FSCTL_QUERY_ALLOCATED_RANGES: an array of
 * FILE_ALLOCATED_RANGE_BUFFER. Every range is checked: both values are
 * non-negative LONGLONGs, FileOffset + Length does not overflow, and ranges
 * come in ascending order without overlap (a zero Length is allowed).
 * The ranges are stored in out and *n receives their number. More than max
 * ranges is rejected too (SMBW_EPROTO): callers size max from the
 * MaxOutputResponse they asked for, so a longer answer breaks the protocol
 * (and *n never exceeds max, whatever the server sent). */
int wire_decode_allocated_ranges(const uint8_t *p, size_t len, alloc_range *out, size_t max,
                                 size_t *n)
{
    smbw_cur c = cur_make(p, len);
    uint64_t prev_end = 0;
    size_t i = 0;

    if (!n || !out)
        return SMBW_EINVAL;
    if ((!p && len) || len % ALLOC_RANGE_SIZE != 0)
        return SMBW_EPROTO;
    while (c.len) {
        uint64_t off, rlen;
        if (!cur_u64(&c, &off) || !cur_u64(&c, &rlen))
            return SMBW_EPROTO;
        if (off > INT64_MAX || rlen > INT64_MAX || rlen > INT64_MAX - off)
            return SMBW_EPROTO;
        if (off < prev_end)
            return SMBW_EPROTO; /* out of order or overlapping */
        prev_end = off + rlen;
        if (i >= max)
            return SMBW_EPROTO;
        out[i].off = off;
        out[i].len = rlen;
        i++;
    }
    *n = i;
    return 0;
}
