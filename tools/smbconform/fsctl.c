/* Server-side copy requests for the cases: FSCTL_SRV_REQUEST_RESUME_KEY and
 * SRV_COPYCHUNK_COPY (MS-SMB2 2.2.31.1) through the library's generic IOCTL,
 * with the answer (2.2.32.1) decoded. */
#include <stdlib.h>
#include <string.h>

#include "smbconform.h"

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

uint32_t cf_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Set (in the case's process) when FSCTL_SRV_REQUEST_RESUME_KEY on a file
 * came back as not supported. */
static char copy_unsupported[64];

const char *cf_copy_unsupported(void)
{
    return copy_unsupported[0] != '\0' ? copy_unsupported : NULL;
}

int cf_resume_key_raw(smbw_file *f, const void *in, size_t inlen, uint32_t max_out, void **out,
                      size_t *outlen)
{
    int rc = smbw_file_ioctl(f, SMBW_FSCTL_SRV_REQUEST_RESUME_KEY, in, inlen, max_out, out, outlen);
    smbw_stat st;
    if (rc == SMBW_ENOTSUP && smbw_file_stat(f, &st) == 0 && !st.is_dir)
        snprintf(copy_unsupported, sizeof(copy_unsupported),
                 "FSCTL_SRV_REQUEST_RESUME_KEY on a file is not supported");
    return rc;
}

int cf_resume_key(smbw_file *f, uint32_t max_out, uint8_t key[24], size_t *outlen)
{
    void *out = NULL;
    size_t len = 0;
    int rc = cf_resume_key_raw(f, NULL, 0, max_out, &out, &len);
    if (outlen != NULL)
        *outlen = len;
    if (rc == 0 && len < 24)
        rc = SMBW_EPROTO;
    if (rc == 0)
        memcpy(key, out, 24);
    free(out);
    return rc;
}

uint8_t *cf_cc_input(const uint8_t key[24], const cf_chunk *chunks, size_t n, long claimed_count,
                     size_t *inlen)
{
    *inlen = 32 + 24 * n;
    uint8_t *in = calloc(1, *inlen);
    if (in == NULL)
        return NULL;
    memcpy(in, key, 24);
    put32(in + 24, claimed_count >= 0 ? (uint32_t)claimed_count : (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        uint8_t *row = in + 32 + 24 * i;
        put64(row, chunks[i].src);
        put64(row + 8, chunks[i].dst);
        put32(row + 16, chunks[i].len);
    }
    return in;
}

void cf_copychunk(smbw_conn *c, smbw_file *dst, uint32_t ctl, const uint8_t key[24],
                  const cf_chunk *chunks, size_t n, long claimed_count, uint32_t max_out,
                  cf_cc_answer *a)
{
    memset(a, 0, sizeof(*a));
    size_t inlen;
    uint8_t *in = cf_cc_input(key, chunks, n, claimed_count, &inlen);
    if (in == NULL) {
        a->rc = SMBW_ENOMEM;
        return;
    }
    cf_copychunk_raw(c, dst, ctl, in, inlen, max_out, a);
    free(in);
}

void cf_copychunk_raw(smbw_conn *c, smbw_file *dst, uint32_t ctl, const void *in, size_t inlen,
                      uint32_t max_out, cf_cc_answer *a)
{
    void *out = NULL;
    size_t outlen = 0;
    int rc = smbw_file_ioctl(dst, ctl, in, inlen, max_out, &out, &outlen);
    cf_cc_decode(c, rc, out, outlen, a);
    free(out);
}

const char *cf_cc_describe(cf_env *e, const cf_cc_answer *a)
{
    char *b = e->pathbuf[e->pathnext];
    e->pathnext = (e->pathnext + 1) % 4;
    size_t n = sizeof(e->pathbuf[0]);
    int k;
    if (a->dead)
        k = snprintf(b, n, "connection dropped (%s)", smbw_error_name(a->rc));
    else if (a->rc == 0 || a->rc == SMBW_ESTATUS)
        k = snprintf(b, n, "%s", smbw_status_name(a->status));
    else
        k = snprintf(b, n, "%s", smbw_error_name(a->rc));
    if (k > 0 && (size_t)k < n && a->has_body)
        snprintf(b + k, n - (size_t)k,
                 ", body {ChunksWritten %u, ChunkBytesWritten %u, "
                 "TotalBytesWritten %u}",
                 a->chunks_written, a->chunk_bytes_written, a->total_bytes_written);
    else if (k > 0 && (size_t)k < n && a->outlen != 0)
        snprintf(b + k, n - (size_t)k, ", %zu-byte body", a->outlen);
    else if (k > 0 && (size_t)k < n && !a->dead)
        snprintf(b + k, n - (size_t)k, ", no body");
    return b;
}

void cf_cc_decode(smbw_conn *c, int rc, const void *out, size_t outlen, cf_cc_answer *a)
{
    memset(a, 0, sizeof(*a));
    a->rc = rc;
    a->status = rc == 0 ? 0 : smbw_last_status(c);
    a->dead = smbw_conn_is_dead(c);
    a->outlen = outlen;
    if (out != NULL && outlen >= 12) {
        a->has_body = true;
        a->chunks_written = cf_get32(out);
        a->chunk_bytes_written = cf_get32((const uint8_t *)out + 4);
        a->total_bytes_written = cf_get32((const uint8_t *)out + 8);
    }
}

int cf_learn_limits(cf_env *e, smbw_file *dst, const uint8_t key[24], cf_limits *l)
{
    /* No server accepts a 4 GiB - 1 chunk: the answer carries the limits. */
    cf_chunk ch = {0, 0, 0xFFFFFFFFu};
    cf_cc_answer a;
    cf_copychunk(e->main.c, dst, SMBW_FSCTL_SRV_COPYCHUNK_WRITE, key, &ch, 1, -1, 12, &a);
    if (a.rc != SMBW_ESTATUS || a.status != SMBW_STATUS_INVALID_PARAMETER || !a.has_body ||
        a.chunks_written == 0 || a.chunk_bytes_written == 0 || a.total_bytes_written == 0) {
        snprintf(e->reason, sizeof(e->reason),
                 "cannot learn the server's copychunk limits: a 4 GiB chunk got %s",
                 cf_cc_describe(e, &a));
        return -1;
    }
    l->max_chunks = a.chunks_written;
    l->max_chunk_size = a.chunk_bytes_written;
    l->max_total = a.total_bytes_written;
    return 0;
}

enum cf_result cf_pair_setup(cf_env *e, uint64_t src_size, int dst_flags, cf_pair *p)
{
    memset(p, 0, sizeof(*p));
    smbw_conn *c = e->main.c;
    smbw_file *w = NULL;
    int rc = cf_open(e, e->main.t, "src.bin", SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC, &w);
    if (rc == 0)
        rc = cf_fill(w, 0, src_size, 1);
    if (rc == 0)
        rc = cf_close(e, w);
    if (rc != 0)
        return cf_error(e, "cannot write the source file: %s", cf_outcome(e, c, rc));
    if ((rc = cf_open(e, e->main.t, "src.bin", SMBW_O_RDONLY, &p->src)) != 0)
        return cf_error(e, "cannot open the source file: %s", cf_outcome(e, c, rc));
    if ((rc = cf_open(e, e->main.t, "dst.bin", dst_flags | SMBW_O_CREAT | SMBW_O_TRUNC, &p->dst)) !=
        0)
        return cf_error(e, "cannot create the destination file: %s", cf_outcome(e, c, rc));
    if ((rc = cf_resume_key(p->src, 32, p->key, NULL)) != 0)
        return cf_error(e, "FSCTL_SRV_REQUEST_RESUME_KEY on the source: %s", cf_outcome(e, c, rc));
    return CF_PASS;
}

/* ---- expectations shared by the copychunk cases --------------------- */

#define KiB 1024u
#define W SMBW_FSCTL_SRV_COPYCHUNK_WRITE

static smbw_conn *C(cf_env *e)
{
    return e->main.c;
}

/* Success with the body {n, 0, total}. */
enum cf_result cf_expect_copied(cf_env *e, const cf_cc_answer *a, uint32_t n, uint32_t total)
{
    char exp[160];
    snprintf(exp, sizeof(exp),
             "STATUS_SUCCESS, body {ChunksWritten %u, ChunkBytesWritten 0, TotalBytesWritten %u}",
             n, total);
    snprintf(e->expected, sizeof(e->expected), "%s", exp);
    snprintf(e->got, sizeof(e->got), "%s", cf_cc_describe(e, a));
    if (a->rc != 0 || !a->has_body || a->chunks_written != n || a->chunk_bytes_written != 0 ||
        a->total_bytes_written != total)
        return CF_FAIL;
    return CF_PASS;
}

/* An error status (no demand on the body). */
enum cf_result cf_expect_status(cf_env *e, const cf_cc_answer *a, uint32_t st)
{
    snprintf(e->expected, sizeof(e->expected), "%s, the connection stays up", smbw_status_name(st));
    snprintf(e->got, sizeof(e->got), "%s", cf_cc_describe(e, a));
    if (a->dead || a->rc != SMBW_ESTATUS || a->status != st)
        return CF_FAIL;
    return CF_PASS;
}

/* The file name (in the scratch directory, opened anew for reading, so the
 * destination open itself may lack read access) holds the source's bytes for
 * every chunk. */
enum cf_result cf_verify_chunks(cf_env *e, const char *name, const cf_chunk *ch, size_t n)
{
    char where[200];
    smbw_file *f;
    int rc = cf_open(e, e->main.t, name, SMBW_O_RDONLY, &f);
    if (rc != 0)
        return cf_error(e, "cannot open %s to read it back: %s", name, cf_outcome(e, C(e), rc));
    for (size_t i = 0; i < n; i++) {
        rc = cf_verify(f, ch[i].dst, ch[i].len, ch[i].src, 1, where, sizeof(where));
        if (rc < 0)
            return cf_error(e, "cannot read %s back: %s", name, cf_outcome(e, C(e), rc));
        if (rc > 0)
            return cf_fail(e, "the destination holds the source's bytes",
                           "chunk %zu: %s (the answer was %s)", i, where, e->got);
    }
    cf_close(e, f);
    return CF_PASS;
}

/* Copies the chunks with ctl (key: an open's on the main connection) to dst,
 * which is name: every chunk must be counted and its bytes arrive. */
enum cf_result cf_copied(cf_env *e, smbw_file *dst, const char *name, uint32_t ctl,
                         const uint8_t key[24], const cf_chunk *ch, size_t n)
{
    cf_cc_answer a;
    cf_copychunk(C(e), dst, ctl, key, ch, n, -1, 12, &a);
    uint32_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += ch[i].len;
    enum cf_result r = cf_expect_copied(e, &a, (uint32_t)n, total);
    if (r != CF_PASS)
        return r;
    return cf_verify_chunks(e, name, ch, n);
}

enum cf_result cf_copy_and_check(cf_env *e, uint32_t ctl, int dst_flags, const cf_chunk *ch,
                                 size_t n, uint64_t src_size)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, src_size, dst_flags, &p);
    if (r != CF_PASS)
        return r;
    return cf_copied(e, p.dst, "dst.bin", ctl, p.key, ch, n);
}

/* A pair (a 64 KiB source, a write-only destination) and one chunk sent with
 * ctl and max_out: the answer must be the error status st. */
enum cf_result cf_refused(cf_env *e, uint32_t ctl, uint32_t max_out, cf_chunk ch, uint32_t st)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    cf_cc_answer a;
    cf_copychunk(C(e), p.dst, ctl, p.key, &ch, 1, -1, max_out, &a);
    return cf_expect_status(e, &a, st);
}

/* A file name of len pattern bytes at off, open for reading and writing,
 * and its resume key. */
int cf_make_source(cf_env *e, const char *name, uint64_t off, uint64_t len, smbw_file **f,
                   uint8_t key[24])
{
    int rc = cf_open(e, e->main.t, name, SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC, f);
    if (rc == 0)
        rc = cf_fill(*f, off, len, 1);
    if (rc == 0)
        rc = cf_resume_key(*f, 32, key, NULL);
    return rc;
}

/* 3.3.5.15.6.2: STATUS_INVALID_PARAMETER with the server's limits. */
enum cf_result cf_expect_limits(cf_env *e, const cf_cc_answer *a, const cf_limits *l)
{
    snprintf(e->expected, sizeof(e->expected),
             "STATUS_INVALID_PARAMETER, body {ChunksWritten %u, ChunkBytesWritten %u, "
             "TotalBytesWritten %u} (the server's limits)",
             l->max_chunks, l->max_chunk_size, l->max_total);
    snprintf(e->got, sizeof(e->got), "%s", cf_cc_describe(e, a));
    if (a->dead || a->rc != SMBW_ESTATUS || a->status != SMBW_STATUS_INVALID_PARAMETER ||
        !a->has_body || a->chunks_written != l->max_chunks ||
        a->chunk_bytes_written != l->max_chunk_size || a->total_bytes_written != l->max_total)
        return CF_FAIL;
    return CF_PASS;
}
