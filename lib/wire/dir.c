/* QUERY_DIRECTORY (MS-SMB2 2.2.33, 2.2.34) and its FileDirectoryInformation
 * (MS-FSCC 2.4.10) and FileIdBothDirectoryInformation (2.4.17) entries. */
#include "wire.h"

#include "enc.h"
#include <string.h>

#include "../util/unicode.h"
#include "smbwire/errors.h"

#define QD_REQ_FIXED 32 /* StructureSize 33 */
#define QD_RSP_FIXED 8  /* StructureSize 9 */
#define ID_BOTH_FIXED 104
#define DIR_FIXED 64 /* FileDirectoryInformation */

int wire_encode_query_dir(smbw_buf *b, const smb2_query_dir_req *r)
{
    size_t start = b->len, name_start;
    int rc = 0;

    if (!r || !r->pattern)
        return SMBW_EINVAL;
    buf_u16(b, QD_REQ_FIXED + 1); /* StructureSize */
    buf_u8(b, r->info_class);
    buf_u8(b, r->flags);
    buf_u32(b, r->file_index);
    buf_put(b, r->file_id, 16);
    buf_u16(b, SMB2_HDR_SIZE + QD_REQ_FIXED); /* FileNameOffset */
    buf_u16(b, 0);                            /* FileNameLength, patched */
    buf_u32(b, r->output_buffer_length);
    name_start = b->len;
    if (r->pattern[0])
        rc = utf8_to_utf16le(r->pattern, strlen(r->pattern), b);
    if (rc == 0 && !b->failed) {
        size_t n = b->len - name_start;
        if (n > UINT16_MAX)
            rc = SMBW_EINVAL;
        else if (n == 0)
            buf_u8(b, 0); /* keep the variable byte of the odd StructureSize */
        else
            buf_set_u16(b, name_start - 6, (uint16_t)n);
    }
    return wire_enc_end(b, start, rc);
}

int wire_decode_query_dir(const uint8_t *msg, size_t len, smb2_query_dir_rsp *r)
{
    smbw_cur c = cur_make(msg, len), base = cur_make(msg, len), data;
    uint16_t ss, off;
    smb2_query_dir_rsp o;

    memset(&o, 0, sizeof o);
    if (!msg || len < SMB2_HDR_SIZE + QD_RSP_FIXED)
        return SMBW_EPROTO;
    if (!cur_skip(&c, SMB2_HDR_SIZE) || !cur_u16(&c, &ss) || ss != QD_RSP_FIXED + 1)
        return SMBW_EPROTO;
    if (!cur_u16(&c, &off) || !cur_u32(&c, &o.data_len))
        return SMBW_EPROTO;
    if (o.data_len) {
        if (off < SMB2_HDR_SIZE + QD_RSP_FIXED || !cur_slice(&base, off, o.data_len, &data))
            return SMBW_EPROTO;
        o.data = data.p;
    }
    *r = o;
    return 0;
}

/* FileDirectoryInformation: NextEntryOffset u32, FileIndex u32,
 * CreationTime, LastAccessTime, LastWriteTime, ChangeTime, EndOfFile,
 * AllocationSize (u64 each), FileAttributes u32, FileNameLength u32,
 * FileName. FileIdBothDirectoryInformation: the same up to FileNameLength,
 * then EaSize u32, ShortNameLength u8, Reserved1 u8, ShortName[24],
 * Reserved2 u16, FileId u64, FileName. Entries are 8-byte aligned (MS-FSCC
 * 2.4). */
int wire_next_dirent_of(uint8_t info_class, const uint8_t *buf, size_t len, size_t *pos,
                        smb2_dirent *e)
{
    smbw_cur all = cur_make(buf, len), c, name;
    uint32_t next, index, name_len, ea_size;
    uint8_t short_len;
    smb2_dirent o;
    size_t fixed;

    if (!pos || !e)
        return SMBW_EINVAL;
    if (info_class == FileIdBothDirectoryInformation)
        fixed = ID_BOTH_FIXED;
    else if (info_class == FileDirectoryInformation)
        fixed = DIR_FIXED;
    else
        return SMBW_EINVAL;
    if (*pos == SIZE_MAX || (len == 0 && *pos == 0))
        return 1;
    if (!buf || *pos % 8 != 0 || *pos > len || !cur_slice(&all, *pos, len - *pos, &c))
        return SMBW_EPROTO;
    memset(&o, 0, sizeof o);
    if (c.len < fixed)
        return SMBW_EPROTO;
    smbw_cur f = c;
    if (!cur_u32(&f, &next) || !cur_u32(&f, &index) || !cur_u64(&f, &o.t.creation_time) ||
        !cur_u64(&f, &o.t.last_access_time) || !cur_u64(&f, &o.t.last_write_time) ||
        !cur_u64(&f, &o.t.change_time) || !cur_u64(&f, &o.t.end_of_file) ||
        !cur_u64(&f, &o.t.allocation_size) || !cur_u32(&f, &o.t.file_attributes) ||
        !cur_u32(&f, &name_len))
        return SMBW_EPROTO;
    if (info_class == FileIdBothDirectoryInformation &&
        (!cur_u32(&f, &ea_size) || !cur_u8(&f, &short_len) || short_len > 24))
        return SMBW_EPROTO;
    if (next != 0) {
        /* forward, aligned, and the next entry starts inside the buffer */
        if (next % 8 != 0 || next < fixed || next >= c.len)
            return SMBW_EPROTO;
        c.len = next; /* this entry */
    }
    if (name_len % 2 != 0 || !cur_slice(&c, fixed, name_len, &name))
        return SMBW_EPROTO;
    o.name_utf16 = name_len ? name.p : NULL;
    o.name_len = name_len;
    *e = o;
    *pos = next ? *pos + next : SIZE_MAX;
    return 0;
}

int wire_next_dirent(const uint8_t *buf, size_t len, size_t *pos, smb2_dirent *e)
{
    return wire_next_dirent_of(FileIdBothDirectoryInformation, buf, len, pos, e);
}
