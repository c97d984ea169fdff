/* Offloaded data transfer: FSCTL_OFFLOAD_READ / FSCTL_OFFLOAD_WRITE (MS-FSCC
 * 2.3.41-2.3.44) and the STORAGE_OFFLOAD_TOKEN (2.3.79). Every case skips,
 * saying why, on a server that does not do ODX (Samba answers
 * STATUS_NOT_SUPPORTED or STATUS_INVALID_DEVICE_REQUEST). The structures are
 * built here by hand: smbconform links only the public API. */
#include <stdlib.h>
#include <string.h>

#include "../smbconform.h"

#define ODX_LEN (1u << 20)
#define TOKEN_SIZE 512u
#define TOKEN_TYPE_ZERO_DATA 0xFFFF0001u

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)cf_get32(p) | ((uint64_t)cf_get32(p + 4) << 32);
}

/* Statuses that say "this server or file system does not do ODX". */
static bool unsupported(uint32_t st)
{
    return st == SMBW_STATUS_NOT_SUPPORTED || st == SMBW_STATUS_INVALID_DEVICE_REQUEST ||
           st == SMBW_STATUS_NOT_IMPLEMENTED || st == SMBW_STATUS_OFFLOAD_READ_FLT_NOT_SUPPORTED ||
           st == SMBW_STATUS_OFFLOAD_WRITE_FLT_NOT_SUPPORTED ||
           st == SMBW_STATUS_OFFLOAD_READ_FILE_NOT_SUPPORTED ||
           st == SMBW_STATUS_OFFLOAD_WRITE_FILE_NOT_SUPPORTED;
}

typedef struct odx_read {
    int rc;
    uint32_t status;
    size_t outlen;
    uint32_t size, flags;
    uint64_t transfer_length;
    uint8_t token[TOKEN_SIZE];
} odx_read;

/* FSCTL_OFFLOAD_READ_INPUT (2.3.41): Size 32, Flags 0, TokenTimeToLive 0
 * (the server's default), FileOffset, CopyLength. */
static void offload_read(cf_env *e, smbw_file *f, uint64_t off, uint64_t len, odx_read *r)
{
    memset(r, 0, sizeof(*r));
    uint8_t in[32];
    memset(in, 0, sizeof in);
    put32(in, 32);
    put64(in + 16, off);
    put64(in + 24, len);
    void *out = NULL;
    r->rc = smbw_file_ioctl(f, SMBW_FSCTL_OFFLOAD_READ, in, sizeof in, 16 + TOKEN_SIZE, &out,
                            &r->outlen);
    r->status = r->rc != 0 && !smbw_conn_is_dead(e->main.c) ? smbw_last_status(e->main.c) : 0;
    if (r->rc == 0 && r->outlen >= 16 + TOKEN_SIZE) {
        const uint8_t *p = out;
        r->size = cf_get32(p);
        r->flags = cf_get32(p + 4);
        r->transfer_length = get64(p + 8);
        memcpy(r->token, p + 16, TOKEN_SIZE);
    }
    free(out);
}

/* FSCTL_OFFLOAD_WRITE_INPUT (2.3.43). Returns the call's result; *written
 * gets LengthWritten, *status the NTSTATUS of a refusal. */
static int offload_write(cf_env *e, smbw_file *f, uint64_t off, uint64_t len, uint64_t toff,
                         const uint8_t *token, uint64_t *written, uint32_t *status)
{
    uint8_t in[32 + TOKEN_SIZE];
    memset(in, 0, sizeof in);
    put32(in, sizeof in);
    put64(in + 8, off);
    put64(in + 16, len);
    put64(in + 24, toff);
    memcpy(in + 32, token, TOKEN_SIZE);
    void *out = NULL;
    size_t outlen = 0;
    int rc = smbw_file_ioctl(f, SMBW_FSCTL_OFFLOAD_WRITE, in, sizeof in, 16, &out, &outlen);
    *status = rc != 0 && !smbw_conn_is_dead(e->main.c) ? smbw_last_status(e->main.c) : 0;
    *written = 0;
    if (rc == 0 && outlen >= 16)
        *written = get64((uint8_t *)out + 8);
    else if (rc == 0)
        rc = SMBW_EPROTO;
    free(out);
    return rc;
}

/* src.bin (ODX_LEN pattern bytes, seed 1) and dst.bin (ODX_LEN bytes: the
 * target range must lie inside the file, 2.3.43), then the OFFLOAD_READ of
 * the whole source. Returns CF_PASS, CF_SKIP when the server does not do
 * ODX, or CF_ERROR. */
static enum cf_result setup(cf_env *e, smbw_file **src, smbw_file **dst, odx_read *r)
{
    int rc = cf_open(e, e->main.t, "src.bin", SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC, src);
    if (rc == 0)
        rc = cf_fill(*src, 0, ODX_LEN, 1);
    if (rc == 0)
        rc = cf_open(e, e->main.t, "dst.bin", SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC, dst);
    if (rc == 0)
        rc = smbw_file_truncate(*dst, ODX_LEN);
    if (rc != 0)
        return cf_error(e, "cannot create the files: %s", cf_outcome(e, e->main.c, rc));
    offload_read(e, *src, 0, ODX_LEN, r);
    if (r->rc != 0 && unsupported(r->status))
        return cf_skip(e, "the server does not do offloaded data transfer (FSCTL_OFFLOAD_READ: %s)",
                       smbw_status_name(r->status));
    return CF_PASS;
}

static const char *read_got(cf_env *e, const odx_read *r)
{
    if (r->rc != 0)
        return cf_outcome(e, e->main.c, r->rc);
    static char buf[160];
    snprintf(buf, sizeof buf, "success, %zu bytes, Size %u, TransferLength %llu, TokenIdLength %u",
             r->outlen, r->size, (unsigned long long)r->transfer_length,
             ((unsigned)r->token[6] << 8) | r->token[7]);
    return buf;
}

/* 2.3.42 and 2.3.79: the answer holds Size (528), TransferLength (not more
 * than asked, not 0 for a range inside the file) and a token whose
 * big-endian TokenIdLength fits its 504 bytes. */
static enum cf_result read_output(cf_env *e)
{
    smbw_file *src, *dst;
    odx_read r;
    enum cf_result res = setup(e, &src, &dst, &r);
    if (res != CF_PASS)
        return res;
    unsigned idlen = ((unsigned)r.token[6] << 8) | r.token[7];
    const char *exp = "success, 528 bytes, Size 528, 0 < TransferLength <= 1048576, "
                      "TokenIdLength <= 504";
    snprintf(e->expected, sizeof e->expected, "%s", exp);
    snprintf(e->got, sizeof e->got, "%s", read_got(e, &r));
    if (r.rc != 0 || r.outlen < 16 + TOKEN_SIZE || r.size < 16 + TOKEN_SIZE ||
        r.transfer_length == 0 || r.transfer_length > ODX_LEN || idlen > TOKEN_SIZE - 8)
        return CF_FAIL;
    return CF_PASS;
}

/* Writes the token's TransferLength to dst at 0, continuing partial
 * LengthWritten (2.3.44). Returns CF_PASS or a failure with text. */
static enum cf_result write_all(cf_env *e, smbw_file *dst, const odx_read *r, uint64_t *done)
{
    *done = 0;
    while (*done < r->transfer_length) {
        uint64_t w = 0;
        uint32_t st = 0;
        int rc = offload_write(e, dst, *done, r->transfer_length - *done, *done, r->token, &w, &st);
        if (rc != 0)
            return cf_fail(e, "FSCTL_OFFLOAD_WRITE of the token succeeds", "%s after %llu bytes",
                           cf_outcome(e, e->main.c, rc), (unsigned long long)*done);
        if (w == 0 || w > r->transfer_length - *done)
            return cf_fail(e, "0 < LengthWritten <= the length asked",
                           "LengthWritten %llu of %llu asked", (unsigned long long)w,
                           (unsigned long long)(r->transfer_length - *done));
        *done += w;
    }
    return CF_PASS;
}

/* 2.3.43-2.3.44: OFFLOAD_WRITE of the token copies the source's bytes. */
static enum cf_result roundtrip(cf_env *e)
{
    smbw_file *src, *dst;
    odx_read r;
    enum cf_result res = setup(e, &src, &dst, &r);
    if (res != CF_PASS)
        return res;
    if (r.rc != 0 || r.transfer_length == 0 || r.transfer_length > ODX_LEN)
        return cf_fail(e, "a token for the range", "%s", read_got(e, &r));
    uint64_t done;
    if ((res = write_all(e, dst, &r, &done)) != CF_PASS)
        return res;
    char where[128];
    int v = cf_verify(dst, 0, done, 0, 1, where, sizeof where);
    if (v < 0)
        return cf_error(e, "cannot read dst.bin back: %s", cf_outcome(e, e->main.c, v));
    if (v > 0)
        return cf_fail(e, "the source's bytes in the destination", "%s", where);
    snprintf(e->expected, sizeof e->expected, "the source's bytes in the destination");
    snprintf(e->got, sizeof e->got, "%llu bytes copied and equal", (unsigned long long)done);
    return CF_PASS;
}

/* 2.3.79: a token stands for the data as it was when it was read. After a
 * WRITE into the source range, the server either refuses the token
 * (STATUS_INVALID_TOKEN) or still writes the old data; never the new. */
static enum cf_result token_after_source_write(cf_env *e)
{
    smbw_file *src, *dst;
    odx_read r;
    enum cf_result res = setup(e, &src, &dst, &r);
    if (res != CF_PASS)
        return res;
    if (r.rc != 0 || r.transfer_length == 0 || r.transfer_length > ODX_LEN)
        return cf_fail(e, "a token for the range", "%s", read_got(e, &r));
    static const char mark[] = "written after the token";
    int wr = smbw_file_pwrite(src, mark, sizeof mark - 1, 0);
    if (wr != 0)
        return cf_error(e, "cannot write src.bin: %s", cf_outcome(e, e->main.c, wr));
    const char *exp = "STATUS_INVALID_TOKEN, or the data as it was when the token was read";
    snprintf(e->expected, sizeof e->expected, "%s", exp);
    uint64_t w = 0;
    uint32_t st = 0;
    int rc = offload_write(e, dst, 0, r.transfer_length, 0, r.token, &w, &st);
    if (rc != 0 && st == SMBW_STATUS_INVALID_TOKEN) {
        snprintf(e->got, sizeof e->got, "STATUS_INVALID_TOKEN");
        return CF_PASS;
    }
    if (rc != 0)
        return cf_fail(e, exp, "%s", cf_outcome(e, e->main.c, rc));
    if (w == 0 || w > r.transfer_length)
        return cf_fail(e, exp, "LengthWritten %llu of %llu asked", (unsigned long long)w,
                       (unsigned long long)r.transfer_length);
    char where[128];
    int v = cf_verify(dst, 0, w, 0, 1, where, sizeof where);
    if (v < 0)
        return cf_error(e, "cannot read dst.bin back: %s", cf_outcome(e, e->main.c, v));
    if (v > 0)
        return cf_fail(e, exp, "the destination differs from the old data: %s", where);
    snprintf(e->got, sizeof e->got, "success, the old data (%llu bytes)", (unsigned long long)w);
    return CF_PASS;
}

/* 2.3.79: a token whose TokenId the server never gave is refused with
 * STATUS_INVALID_TOKEN, and nothing is written. */
static enum cf_result forged_token(cf_env *e)
{
    smbw_file *src, *dst;
    odx_read r;
    enum cf_result res = setup(e, &src, &dst, &r);
    if (res != CF_PASS)
        return res;
    uint8_t token[TOKEN_SIZE];
    memset(token, 0, sizeof token);
    memcpy(token, r.token, 4); /* the server's own token type */
    token[7] = 32;             /* TokenIdLength 32, big-endian */
    for (int i = 0; i < 32; i++)
        token[8 + i] = (uint8_t)(0xA5 ^ i);
    uint64_t w = 0;
    uint32_t st = 0;
    int rc = offload_write(e, dst, 0, 4096, 0, token, &w, &st);
    const char *exp = "STATUS_INVALID_TOKEN";
    snprintf(e->expected, sizeof e->expected, "%s", exp);
    snprintf(e->got, sizeof e->got, "%s", cf_outcome(e, e->main.c, rc));
    if (rc != 0 && st == SMBW_STATUS_INVALID_TOKEN)
        return CF_PASS;
    return CF_FAIL;
}

const cf_case cf_cases_odx[] = {
    {"odx_read_output", "MS-FSCC 2.3.42",
     "FSCTL_OFFLOAD_READ answers Size 528, a TransferLength within the range and a valid token",
     read_output},
    {"odx_read_write_roundtrip", "MS-FSCC 2.3.43",
     "FSCTL_OFFLOAD_WRITE of the token (partial LengthWritten continued) copies the bytes",
     roundtrip},
    {"odx_token_after_source_write", "MS-FSCC 2.3.79",
     "after the source range is written, the token is refused or still gives the old data",
     token_after_source_write},
    {"odx_forged_token", "MS-FSCC 2.3.79",
     "a token the server never gave is refused with STATUS_INVALID_TOKEN", forged_token},
    {NULL, NULL, NULL, NULL},
};
