/* DFS referral request encoding and response decoding (MS-DFSC 2.2.2-2.2.5).
 * The response is the output buffer of FSCTL_DFS_GET_REFERRALS(_EX): a
 * referral header, NumberOfReferrals entries each Size bytes long, then the
 * strings the entries point to by offsets counted from each entry's start. */
#include "wire.h"

#include "enc.h"
#include <stdlib.h>
#include <string.h>

#include "../util/unicode.h"
#include "smbwire/errors.h"

#define DFS_REQ_PATH_MAX 32768u /* bytes of UTF-16, terminator excluded */
#define DFS_HDR_SIZE 8u
#define DFS_V1_FIXED 8u  /* Version, Size, ServerType, Flags; ShareName follows */
#define DFS_V2_FIXED 22u /* + Proximity, TTL, three offsets */
#define DFS_V3_FIXED 18u /* + TTL, three offsets (ServiceSiteGuid or padding may follow) */

/* Appends path as UTF-16LE; *n gets its byte length. */
static int put_path(smbw_buf *b, const char *path, size_t *n)
{
    size_t before = b->len;
    if (!path || !*path)
        return SMBW_EINVAL;
    int rc = utf8_to_utf16le(path, strlen(path), b);
    if (rc)
        return rc;
    *n = b->len - before;
    return *n >= DFS_REQ_PATH_MAX ? SMBW_EINVAL : 0;
}

int wire_encode_dfs_referral_req(smbw_buf *b, uint16_t max_level, const char *path)
{
    size_t start = b->len, n = 0;
    if (max_level < 1 || max_level > DFS_REFERRAL_MAX_LEVEL)
        return SMBW_EINVAL;
    buf_u16(b, max_level);
    int rc = put_path(b, path, &n);
    if (rc == 0)
        buf_u16(b, 0);
    return wire_enc_end(b, start, rc);
}

int wire_encode_dfs_referral_req_ex(smbw_buf *b, uint16_t max_level, const char *path,
                                    const char *site)
{
    size_t start = b->len, n = 0, sn = 0;
    if (max_level < 1 || max_level > DFS_REFERRAL_MAX_LEVEL)
        return SMBW_EINVAL;
    buf_u16(b, max_level);
    buf_u16(b, site ? 1 : 0); /* RequestFlags: SiteName present */
    size_t len_at = b->len;
    buf_u32(b, 0); /* RequestDataLength, patched below */
    size_t name_len_at = b->len;
    buf_u16(b, 0);
    int rc = put_path(b, path, &n);
    if (rc == 0) {
        buf_set_u16(b, name_len_at, (uint16_t)n);
        if (site) {
            size_t site_len_at = b->len;
            buf_u16(b, 0);
            rc = put_path(b, site, &sn);
            if (rc == 0)
                buf_set_u16(b, site_len_at, (uint16_t)sn);
        }
    }
    if (rc == 0 && !b->failed)
        buf_set_u32(b, len_at, (uint32_t)(b->len - name_len_at));
    return wire_enc_end(b, start, rc);
}

/* A NUL-terminated UTF-16 string at entry_off + off in the whole buffer,
 * converted to UTF-8; *bytes (when not NULL) gets its size with the
 * terminator. An empty string is refused when !may_be_empty. */
static int get_string(const smbw_cur *all, size_t entry_off, size_t off, bool may_be_empty,
                      char **out, size_t *bytes)
{
    smbw_cur s;
    uint64_t at = (uint64_t)entry_off + off;
    *out = NULL;
    if (at >= all->len || !cur_slice(all, at, all->len - at, &s))
        return SMBW_EPROTO;
    size_t units = 0;
    smbw_cur scan = s;
    uint16_t u;
    for (;;) {
        if (!cur_u16(&scan, &u))
            return SMBW_EPROTO; /* no terminator inside the buffer */
        if (u == 0)
            break;
        units++;
    }
    if (bytes)
        *bytes = (units + 1) * 2;
    if (units == 0)
        return may_be_empty ? 0 : SMBW_EPROTO;
    return utf16le_to_utf8(s.p, units * 2, out);
}

/* 2.2.5.3.2: the SpecialName, then NumberOfExpandedNames names one after
 * the other from ExpandedNameOffset; each must lie inside the buffer. */
static int name_list(const smbw_cur *all, size_t entry_off, uint16_t o_special, uint16_t o_expanded,
                     dfs_referral *d)
{
    int rc = get_string(all, entry_off, o_special, false, &d->node, NULL);
    size_t at = o_expanded;
    for (uint16_t i = 0; rc == 0 && i < d->expanded_names; i++) {
        char *name = NULL;
        size_t n = 0;
        rc = get_string(all, entry_off, at, false, &name, &n);
        free(name);
        at += n;
    }
    return rc;
}

/* The part of an entry after Version and Size; e is the entry (Size bytes),
 * at entry_off in the buffer all. */
static int decode_entry(const smbw_cur *all, size_t entry_off, smbw_cur e, uint16_t version,
                        dfs_referral *d)
{
    uint16_t o_path, o_alt, o_node;
    uint32_t proximity;
    int rc;
    d->version = version;
    if (!cur_u16(&e, &d->server_type) || !cur_u16(&e, &d->entry_flags))
        return SMBW_EPROTO;
    if (version == 1) {
        /* ShareName: NUL-terminated, inside the entry itself (offset 8). */
        d->ttl = DFS_TTL_V1;
        smbw_cur inner = cur_make(all->p, entry_off + DFS_V1_FIXED + e.len);
        return get_string(&inner, entry_off, DFS_V1_FIXED, false, &d->node, NULL);
    }
    if (version == 2 && !cur_u32(&e, &proximity))
        return SMBW_EPROTO;
    if (!cur_u32(&e, &d->ttl) || !cur_u16(&e, &o_path) || !cur_u16(&e, &o_alt) ||
        !cur_u16(&e, &o_node))
        return SMBW_EPROTO;
    if (d->ttl > DFS_TTL_MAX)
        d->ttl = DFS_TTL_MAX;
    if (version >= 3 && (d->entry_flags & DFS_ENTRY_NAME_LIST_REFERRAL)) {
        /* SpecialNameOffset, NumberOfExpandedNames, ExpandedNameOffset. */
        d->expanded_names = o_alt;
        return name_list(all, entry_off, o_path, o_node, d);
    }
    if ((rc = get_string(all, entry_off, o_path, false, &d->dfs_path, NULL)) != 0 ||
        (rc = get_string(all, entry_off, o_alt, true, &d->alt_path, NULL)) != 0)
        return rc;
    return get_string(all, entry_off, o_node, false, &d->node, NULL);
}

void wire_dfs_referral_rsp_free(dfs_referral_rsp *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->refs && i < r->count; i++) {
        free(r->refs[i].dfs_path);
        free(r->refs[i].alt_path);
        free(r->refs[i].node);
    }
    free(r->refs);
    memset(r, 0, sizeof *r);
}

static size_t fixed_size(uint16_t version)
{
    return version == 1 ? DFS_V1_FIXED : version == 2 ? DFS_V2_FIXED : DFS_V3_FIXED;
}

int wire_decode_dfs_referral_rsp(const uint8_t *p, size_t len, size_t req_path_bytes,
                                 dfs_referral_rsp *r)
{
    smbw_cur all = cur_make(p, len), c = all;
    uint16_t count;
    int rc = 0;
    memset(r, 0, sizeof *r);
    if (!p || !cur_u16(&c, &r->path_consumed) || !cur_u16(&c, &count) ||
        !cur_u32(&c, &r->header_flags))
        return SMBW_EPROTO;
    if (count == 0 || count > DFS_MAX_REFERRALS || (r->path_consumed % 2) != 0 ||
        r->path_consumed > req_path_bytes)
        return SMBW_EPROTO;
    r->refs = calloc(count, sizeof *r->refs);
    if (!r->refs)
        return SMBW_ENOMEM;
    size_t off = DFS_HDR_SIZE;
    for (uint16_t i = 0; i < count && rc == 0; i++) {
        uint16_t version, size;
        smbw_cur e;
        rc = SMBW_EPROTO;
        if (!cur_u16(&c, &version) || !cur_u16(&c, &size))
            break;
        if (version < 1 || version > DFS_REFERRAL_MAX_LEVEL || (i > 0 && version != r->version))
            break;
        if (size < fixed_size(version) || !cur_sub(&c, (size_t)size - 4, &e))
            break;
        r->version = version;
        r->count = (size_t)i + 1;
        rc = decode_entry(&all, off, e, version, &r->refs[i]);
        off += size;
    }
    if (rc)
        wire_dfs_referral_rsp_free(r);
    return rc;
}
