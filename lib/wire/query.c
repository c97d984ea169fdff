/* QUERY_INFO / SET_INFO (MS-SMB2 2.2.37 - 2.2.40) and the MS-FSCC
 * information classes the library reads and writes. */
#include "wire.h"

#include "enc.h"
#include <string.h>

#include "../util/unicode.h"
#include "smbwire/errors.h"

#define QI_REQ_FIXED 40 /* StructureSize 41 */
#define QI_RSP_FIXED 8  /* StructureSize 9 */
#define SI_REQ_FIXED 32 /* StructureSize 33 */

int wire_encode_query_info(smbw_buf *b, const smb2_query_info_req *r)
{
    size_t start = b->len;
    if (!r || (r->input_len && !r->input))
        return SMBW_EINVAL;
    buf_u16(b, QI_REQ_FIXED + 1); /* StructureSize */
    buf_u8(b, r->info_type);
    buf_u8(b, r->file_info_class);
    buf_u32(b, r->output_buffer_length);
    /* InputBufferOffset: 0 with no input (accepted by Windows and Samba). */
    buf_u16(b, r->input_len ? SMB2_HDR_SIZE + QI_REQ_FIXED : 0);
    buf_u16(b, 0); /* Reserved */
    buf_u32(b, r->input_len);
    buf_u32(b, r->additional_information);
    buf_u32(b, r->flags);
    buf_put(b, r->file_id, 16);
    if (r->input_len)
        buf_put(b, r->input, r->input_len);
    return wire_enc_end(b, start, 0);
}

int wire_decode_query_info(const uint8_t *msg, size_t len, smb2_query_info_rsp *r)
{
    smbw_cur c = cur_make(msg, len), base = cur_make(msg, len), data;
    uint16_t ss, off;
    smb2_query_info_rsp o;

    memset(&o, 0, sizeof o);
    if (!msg || len < SMB2_HDR_SIZE + QI_RSP_FIXED)
        return SMBW_EPROTO;
    if (!cur_skip(&c, SMB2_HDR_SIZE) || !cur_u16(&c, &ss) || ss != QI_RSP_FIXED + 1)
        return SMBW_EPROTO;
    if (!cur_u16(&c, &off) || !cur_u32(&c, &o.data_len))
        return SMBW_EPROTO;
    if (o.data_len) {
        if (off < SMB2_HDR_SIZE + QI_RSP_FIXED || !cur_slice(&base, off, o.data_len, &data))
            return SMBW_EPROTO;
        o.data = data.p;
    }
    *r = o;
    return 0;
}

int wire_encode_set_info(smbw_buf *b, const smb2_set_info_req *r)
{
    size_t start = b->len;
    if (!r || (r->data_len && !r->data))
        return SMBW_EINVAL;
    buf_u16(b, SI_REQ_FIXED + 1); /* StructureSize */
    buf_u8(b, r->info_type);
    buf_u8(b, r->file_info_class);
    buf_u32(b, r->data_len);                  /* BufferLength */
    buf_u16(b, SMB2_HDR_SIZE + SI_REQ_FIXED); /* BufferOffset */
    buf_u16(b, 0);                            /* Reserved */
    buf_u32(b, r->additional_information);
    buf_put(b, r->file_id, 16);
    if (r->data_len)
        buf_put(b, r->data, r->data_len);
    else
        buf_u8(b, 0); /* keep the variable byte of the odd StructureSize */
    return wire_enc_end(b, start, 0);
}

/* ---- information classes (MS-FSCC 2.4, 2.5) ------------------------------ */

#define FILE_NETWORK_OPEN_INFO_SIZE 56
#define FS_ATTRIBUTE_INFO_FIXED 12
#define FS_SIZE_INFO_SIZE 24

/* FileNetworkOpenInformation (MS-FSCC 2.4.32): four times, AllocationSize,
 * EndOfFile, FileAttributes, Reserved: 56 bytes. */
int wire_decode_network_open_info(const uint8_t *p, size_t len, smb2_file_times *t)
{
    smbw_cur c = cur_make(p, len);
    smb2_file_times o;
    uint32_t reserved;

    memset(&o, 0, sizeof o);
    if (!p || len < FILE_NETWORK_OPEN_INFO_SIZE)
        return SMBW_EPROTO;
    if (!cur_u64(&c, &o.creation_time) || !cur_u64(&c, &o.last_access_time) ||
        !cur_u64(&c, &o.last_write_time) || !cur_u64(&c, &o.change_time) ||
        !cur_u64(&c, &o.allocation_size) || !cur_u64(&c, &o.end_of_file) ||
        !cur_u32(&c, &o.file_attributes) || !cur_u32(&c, &reserved))
        return SMBW_EPROTO;
    if (t)
        *t = o;
    return 0;
}

int wire_decode_internal_info(const uint8_t *p, size_t len, uint64_t *index)
{
    smbw_cur c = cur_make(p, len);
    uint64_t v;

    if (!p || len < 8 || !cur_u64(&c, &v))
        return SMBW_EPROTO;
    if (index)
        *index = v;
    return 0;
}

/* FileFsAttributeInformation (MS-FSCC 2.5.1): FileSystemAttributes u32,
 * MaximumComponentNameLength i32, FileSystemNameLength u32, FileSystemName. */
int wire_decode_fs_attribute_info(const uint8_t *p, size_t len, uint32_t *attributes,
                                  uint32_t *max_name_len)
{
    smbw_cur c = cur_make(p, len);
    uint32_t attrs, maxlen, name_len;

    if (!p || len < FS_ATTRIBUTE_INFO_FIXED)
        return SMBW_EPROTO;
    if (!cur_u32(&c, &attrs) || !cur_u32(&c, &maxlen) || !cur_u32(&c, &name_len) ||
        !cur_skip(&c, name_len))
        return SMBW_EPROTO;
    if (attributes)
        *attributes = attrs;
    if (max_name_len)
        *max_name_len = maxlen;
    return 0;
}

/* FileBasicInformation (MS-FSCC 2.4.7): 40 bytes. A time of 0 leaves that
 * time unchanged on the server. */
/* FileFsSizeInformation (MS-FSCC 2.5.8): TotalAllocationUnits u64,
 * AvailableAllocationUnits u64, SectorsPerAllocationUnit u32, BytesPerSector
 * u32. */
int wire_decode_fs_size_info(const uint8_t *p, size_t len, smb2_fs_size_info *o)
{
    smbw_cur c = cur_make(p, len);
    smb2_fs_size_info v;

    memset(&v, 0, sizeof v);
    if (!p || len < FS_SIZE_INFO_SIZE)
        return SMBW_EPROTO;
    if (!cur_u64(&c, &v.total_units) || !cur_u64(&c, &v.available_units) ||
        !cur_u32(&c, &v.sectors_per_unit) || !cur_u32(&c, &v.bytes_per_sector))
        return SMBW_EPROTO;
    *o = v;
    return 0;
}

/* FileEndOfFileInformation (MS-FSCC 2.4.14): EndOfFile u64. */
void wire_encode_eof_info(smbw_buf *b, uint64_t end_of_file)
{
    buf_u64(b, end_of_file);
}

void wire_encode_basic_info(smbw_buf *b, uint64_t creation, uint64_t access, uint64_t write,
                            uint64_t change, uint32_t attributes)
{
    buf_u64(b, creation);
    buf_u64(b, access);
    buf_u64(b, write);
    buf_u64(b, change);
    buf_u32(b, attributes);
    buf_u32(b, 0); /* Reserved */
}

/* FileRenameInformation for SMB2 (MS-FSCC 2.4.42.2): ReplaceIfExists u8,
 * Reserved 7, RootDirectory u64 (0), FileNameLength u32, FileName. A UTF-16
 * NUL (not counted in FileNameLength) follows the name, so the structure is
 * never shorter than the 24 bytes Windows' FILE_RENAME_INFORMATION has with a
 * one-character name (servers check that minimum). */
int wire_encode_rename_info(smbw_buf *b, bool replace, const char *new_name)
{
    size_t start = b->len, name_start;
    int rc;

    if (!new_name || !new_name[0])
        return SMBW_EINVAL;
    buf_u8(b, replace ? 1 : 0);
    buf_zero(b, 7); /* Reserved */
    buf_u64(b, 0);  /* RootDirectory */
    buf_u32(b, 0);  /* FileNameLength, patched */
    name_start = b->len;
    rc = utf8_to_utf16le(new_name, strlen(new_name), b);
    if (rc == 0 && !b->failed) {
        size_t n = b->len - name_start;
        if (n > UINT32_MAX)
            rc = SMBW_EINVAL;
        else
            buf_set_u32(b, name_start - 4, (uint32_t)n);
        buf_u16(b, 0); /* terminator */
    }
    return wire_enc_end(b, start, rc);
}
