/* Block clone (FSCTL_DUPLICATE_EXTENTS_TO_FILE: MS-SMB2 3.3.5.15.17,
 * MS-FSCC 2.3.7/2.3.8, MS-FSA 2.1.5.10.4) and FSCTL_QUERY_ALLOCATED_RANGES
 * (MS-FSCC 2.3.37/2.3.38). The clone cases need a share that reports
 * FILE_SUPPORTS_BLOCK_REFCOUNTING (Samba: vfs objects = btrfs on btrfs) and
 * skip elsewhere, where clone_unsupported_volume checks the refusal. */
#include <stdlib.h>
#include <string.h>

#include "../smbconform.h"

#define KiB 1024u
#define MiB (1024u * 1024u)
#define FILE_SUPPORTS_BLOCK_REFCOUNTING 0x08000000u
#define FS_INFO 2                  /* SMB2_0_INFO_FILESYSTEM */
#define FS_ATTRIBUTE_INFORMATION 5 /* FileFsAttributeInformation */

static smbw_conn *C(cf_env *e)
{
    return e->main.c;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* FileSystemAttributes of the share (through the open f), or -1. */
static int64_t fs_attributes(smbw_file *f)
{
    void *out = NULL;
    size_t len = 0;
    int rc = smbw_file_query_info(f, FS_INFO, FS_ATTRIBUTE_INFORMATION, 0, 4096, &out, &len);
    int64_t v = rc == 0 && len >= 4 ? (int64_t)cf_get32(out) : -1;
    free(out);
    return v;
}

/* SMB2_DUPLICATE_EXTENTS_DATA (MS-FSCC 2.3.7.2) sent on dst: the answer's
 * rc (the status is the connection's). */
static int duplicate(smbw_file *dst, const uint8_t src_id[16], uint64_t so, uint64_t to,
                     uint64_t count, size_t inlen)
{
    uint8_t in[40];
    memcpy(in, src_id, 16);
    put64(in + 16, so);
    put64(in + 24, to);
    put64(in + 32, count);
    return smbw_file_ioctl(dst, SMBW_FSCTL_DUPLICATE_EXTENTS_TO_FILE, in, inlen, 0, NULL, NULL);
}

/* A source of 256 KiB pattern bytes and a destination of the same size,
 * both open read/write; *refcounting tells whether the share clones. */
static enum cf_result clone_setup(cf_env *e, smbw_file **s, smbw_file **d, bool *refcounting)
{
    int rc = cf_open(e, e->main.t, "src.bin", SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC, s);
    if (rc == 0)
        rc = cf_fill(*s, 0, 256 * KiB, 1);
    if (rc == 0)
        rc = cf_open(e, e->main.t, "dst.bin", SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC, d);
    if (rc == 0)
        rc = smbw_file_truncate(*d, 256 * KiB);
    if (rc != 0)
        return cf_error(e, "cannot set up the files: %s", cf_outcome(e, C(e), rc));
    int64_t attrs = fs_attributes(*d);
    if (attrs < 0)
        return cf_error(e, "cannot query FileFsAttributeInformation: %s",
                        cf_outcome(e, C(e), SMBW_ESTATUS));
    *refcounting = ((uint64_t)attrs & FILE_SUPPORTS_BLOCK_REFCOUNTING) != 0;
    return CF_PASS;
}

static enum cf_result expect_clone_status(cf_env *e, int rc, uint32_t st)
{
    snprintf(e->expected, sizeof(e->expected), "%s, the connection stays up", smbw_status_name(st));
    snprintf(e->got, sizeof(e->got), "%s", cf_outcome(e, C(e), rc));
    return rc != 0 && !smbw_conn_is_dead(C(e)) && smbw_last_status(C(e)) == st ? CF_PASS : CF_FAIL;
}

/* MS-FSA 2.1.5.10.4: a file system without block cloning fails it with
 * STATUS_INVALID_DEVICE_REQUEST. */
static enum cf_result unsupported_volume(cf_env *e)
{
    smbw_file *s, *d;
    bool rcnt;
    enum cf_result r = clone_setup(e, &s, &d, &rcnt);
    if (r != CF_PASS)
        return r;
    if (rcnt)
        return cf_skip(e, "the share reports FILE_SUPPORTS_BLOCK_REFCOUNTING");
    uint8_t id[16];
    smbw_file_id(s, id);
    return expect_clone_status(e, duplicate(d, id, 0, 0, 64 * KiB, 40),
                               SMBW_STATUS_INVALID_DEVICE_REQUEST);
}

/* A cluster-aligned range clones: the target holds the source's bytes. */
static enum cf_result aligned(cf_env *e)
{
    smbw_file *s, *d;
    bool rcnt;
    enum cf_result r = clone_setup(e, &s, &d, &rcnt);
    if (r != CF_PASS)
        return r;
    if (!rcnt)
        return cf_skip(e, "the share does not report FILE_SUPPORTS_BLOCK_REFCOUNTING");
    uint8_t id[16];
    smbw_file_id(s, id);
    int rc = duplicate(d, id, 64 * KiB, 128 * KiB, 64 * KiB, 40);
    if (rc != 0)
        return cf_fail(e, "STATUS_SUCCESS", "%s", cf_outcome(e, C(e), rc));
    cf_chunk ch = {64 * KiB, 128 * KiB, 64 * KiB};
    return cf_verify_chunks(e, "dst.bin", &ch, 1);
}

/* MS-FSA 2.1.5.10.4: offsets and count not multiples of the cluster size:
 * STATUS_INVALID_PARAMETER. */
static enum cf_result unaligned(cf_env *e)
{
    smbw_file *s, *d;
    bool rcnt;
    enum cf_result r = clone_setup(e, &s, &d, &rcnt);
    if (r != CF_PASS)
        return r;
    if (!rcnt)
        return cf_skip(e, "the share does not report FILE_SUPPORTS_BLOCK_REFCOUNTING");
    uint8_t id[16];
    smbw_file_id(s, id);
    return expect_clone_status(e, duplicate(d, id, 1, 0, 4096, 40), SMBW_STATUS_INVALID_PARAMETER);
}

/* MS-FSCC 2.3.8: overlapping ranges of one file: STATUS_NOT_SUPPORTED. */
static enum cf_result overlap_same_file(cf_env *e)
{
    smbw_file *s, *d;
    bool rcnt;
    enum cf_result r = clone_setup(e, &s, &d, &rcnt);
    if (r != CF_PASS)
        return r;
    if (!rcnt)
        return cf_skip(e, "the share does not report FILE_SUPPORTS_BLOCK_REFCOUNTING");
    uint8_t id[16];
    smbw_file_id(s, id);
    return expect_clone_status(e, duplicate(s, id, 0, 64 * KiB, 128 * KiB, 40),
                               SMBW_STATUS_NOT_SUPPORTED);
}

/* MS-SMB2 3.3.5.15.17: InputCount below SMB2_DUPLICATE_EXTENTS_DATA:
 * STATUS_INVALID_PARAMETER. */
static enum cf_result input_short(cf_env *e)
{
    smbw_file *s, *d;
    bool rcnt;
    enum cf_result r = clone_setup(e, &s, &d, &rcnt);
    if (r != CF_PASS)
        return r;
    if (!rcnt)
        return cf_skip(e, "the share does not report FILE_SUPPORTS_BLOCK_REFCOUNTING");
    uint8_t id[16];
    smbw_file_id(s, id);
    return expect_clone_status(e, duplicate(d, id, 0, 0, 4096, 32), SMBW_STATUS_INVALID_PARAMETER);
}

/* MS-SMB2 3.3.5.15.17: a SourceFileID of no open: STATUS_INVALID_HANDLE. */
static enum cf_result unknown_source(cf_env *e)
{
    smbw_file *s, *d;
    bool rcnt;
    enum cf_result r = clone_setup(e, &s, &d, &rcnt);
    if (r != CF_PASS)
        return r;
    if (!rcnt)
        return cf_skip(e, "the share does not report FILE_SUPPORTS_BLOCK_REFCOUNTING");
    uint8_t id[16];
    smbw_file_id(s, id);
    for (int i = 0; i < 16; i++)
        id[i] ^= 0x5A;
    return expect_clone_status(e, duplicate(d, id, 0, 0, 4096, 40), SMBW_STATUS_INVALID_HANDLE);
}

/* ---- FSCTL_QUERY_ALLOCATED_RANGES ------------------------------------- */

/* A sparse 2 MiB file with data at [0, 64 KiB) and [1 MiB, 1 MiB + 64 KiB). */
static enum cf_result sparse_file(cf_env *e, smbw_file **f)
{
    int rc = cf_open(e, e->main.t, "sparse.bin", SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC, f);
    if (rc == 0)
        rc = smbw_file_ioctl(*f, SMBW_FSCTL_SET_SPARSE, NULL, 0, 0, NULL, NULL);
    if (rc == SMBW_ENOTSUP || (rc == SMBW_ESTATUS && !smbw_conn_is_dead(C(e))))
        return cf_skip(e, "FSCTL_SET_SPARSE: %s", cf_outcome(e, C(e), rc));
    if (rc == 0)
        rc = cf_fill(*f, 0, 64 * KiB, 1);
    if (rc == 0)
        rc = cf_fill(*f, 1 * MiB, 64 * KiB, 1);
    if (rc == 0)
        rc = smbw_file_truncate(*f, 2 * MiB);
    if (rc == 0)
        rc = smbw_file_flush(*f);
    if (rc != 0)
        return cf_error(e, "cannot make the sparse file: %s", cf_outcome(e, C(e), rc));
    return CF_PASS;
}

/* FSCTL_QUERY_ALLOCATED_RANGES for [0, 2 MiB) with max_out. */
static int query_ranges(smbw_file *f, uint32_t max_out, void **out, size_t *len)
{
    uint8_t in[16];
    put64(in, 0);
    put64(in + 8, 2 * MiB);
    return smbw_file_ioctl(f, SMBW_FSCTL_QUERY_ALLOCATED_RANGES, in, sizeof(in), max_out, out, len);
}

/* MS-FSCC 2.3.38: the ranges, in order, cover both data pieces and leave
 * out the hole between them. */
static enum cf_result ranges_sparse(cf_env *e)
{
    smbw_file *f;
    enum cf_result r = sparse_file(e, &f);
    if (r != CF_PASS)
        return r;
    void *out = NULL;
    size_t len = 0;
    int rc = query_ranges(f, 64 * KiB, &out, &len);
    char got[CF_TEXT] = "";
    size_t k = 0;
    bool first = false, second = false, hole = false, order = true;
    uint64_t last = 0;
    for (size_t i = 0; rc == 0 && i + 16 <= len; i += 16) {
        uint64_t off = get64((uint8_t *)out + i), n = get64((uint8_t *)out + i + 8);
        k += (size_t)snprintf(got + k, k < sizeof(got) ? sizeof(got) - k : 0, "%s[%llu, +%llu)",
                              i ? " " : "", (unsigned long long)off, (unsigned long long)n);
        first |= off <= 0 && off + n >= 64 * KiB;
        second |= off <= 1 * MiB && off + n >= 1 * MiB + 64 * KiB;
        hole |= off < 768 * KiB && off + n > 256 * KiB;
        order &= off >= last;
        last = off + n;
    }
    free(out);
    snprintf(e->expected, sizeof(e->expected),
             "ranges in order covering [0, 64 KiB) and [1 MiB, +64 KiB), none in [256, 768) KiB");
    if (rc != 0)
        return cf_fail(e, e->expected, "%s", cf_outcome(e, C(e), rc));
    snprintf(e->got, sizeof(e->got), "%s", k != 0 ? got : "no range");
    return len % 16 == 0 && first && second && !hole && order ? CF_PASS : CF_FAIL;
}

/* MS-FSCC 2.3.38: an output buffer with room for one of two ranges:
 * STATUS_BUFFER_OVERFLOW with the first range. */
static enum cf_result ranges_overflow(cf_env *e)
{
    smbw_file *f;
    enum cf_result r = sparse_file(e, &f);
    if (r != CF_PASS)
        return r;
    void *out = NULL;
    size_t len = 0;
    int rc = query_ranges(f, 16, &out, &len);
    uint64_t off = len >= 16 ? get64(out) : 0, n = len >= 16 ? get64((uint8_t *)out + 8) : 0;
    free(out);
    snprintf(e->expected, sizeof(e->expected),
             "STATUS_BUFFER_OVERFLOW with one range covering [0, 64 KiB)");
    snprintf(e->got, sizeof(e->got), "%s, %zu bytes, [%llu, +%llu)", cf_outcome(e, C(e), rc), len,
             (unsigned long long)off, (unsigned long long)n);
    return rc == SMBW_ESTATUS && smbw_last_status(C(e)) == SMBW_STATUS_BUFFER_OVERFLOW &&
                   len == 16 && off == 0 && n >= 64 * KiB
               ? CF_PASS
               : CF_FAIL;
}

const cf_case cf_cases_clone[] = {
    {"clone_unsupported_volume", "MS-FSA 2.1.5.10.4",
     "a share without block refcounting: STATUS_INVALID_DEVICE_REQUEST", unsupported_volume},
    {"clone_aligned", "MS-FSCC 2.3.7", "a cluster-aligned 64 KiB range clones into another file",
     aligned},
    {"clone_unaligned", "MS-FSA 2.1.5.10.4",
     "a source offset not a multiple of the cluster size: STATUS_INVALID_PARAMETER", unaligned},
    {"clone_overlap_same_file", "MS-FSCC 2.3.8",
     "overlapping ranges of one file: STATUS_NOT_SUPPORTED", overlap_same_file},
    {"clone_input_short", "MS-SMB2 3.3.5.15.17", "InputCount 32 (< 40): STATUS_INVALID_PARAMETER",
     input_short},
    {"clone_unknown_source", "MS-SMB2 3.3.5.15.17",
     "a SourceFileID of no open: STATUS_INVALID_HANDLE", unknown_source},
    {"allocated_ranges_sparse", "MS-FSCC 2.3.38",
     "a sparse file's two data pieces are listed in order, the hole between them is not",
     ranges_sparse},
    {"allocated_ranges_overflow", "MS-FSCC 2.3.38",
     "room for one of two ranges: STATUS_BUFFER_OVERFLOW with the first", ranges_overflow},
    {NULL, NULL, NULL, NULL},
};
