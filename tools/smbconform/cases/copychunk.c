/* FSCTL_SRV_COPYCHUNK and FSCTL_SRV_COPYCHUNK_WRITE: MS-SMB2 3.3.5.15.6
 * (handling a server-side data copy request), 3.3.5.15.6.1 (a failed range),
 * 3.3.5.15.6.2 (the limits answer), 2.2.31.1 (SRV_COPYCHUNK_COPY) and
 * 2.2.32.1 (SRV_COPYCHUNK_RESPONSE). */
#include <stdlib.h>
#include <string.h>

#include "../smbconform.h"

#define KiB 1024u
#define MiB (1024u * 1024u)
#define W SMBW_FSCTL_SRV_COPYCHUNK_WRITE
/* About the most chunks a case puts in one request: the limits come from the
 * server, and a request (and its array) must not grow with whatever it
 * claims. */
#define MAX_CHUNKS_TRIED 65536u

static smbw_conn *C(cf_env *e)
{
    return e->main.c;
}

static enum cf_result write_single_chunk(cf_env *e)
{
    cf_chunk ch[] = {{0, 0, 64 * KiB}};
    return cf_copy_and_check(e, W, SMBW_O_WRONLY, ch, 1, 64 * KiB);
}

static enum cf_result write_multi_chunks(cf_env *e)
{
    /* out of order, unaligned, with a hole in the destination */
    cf_chunk ch[] = {{200 * KiB, 0, 100 * KiB}, {0, 300 * KiB, 64 * KiB + 7}, {777, 100 * KiB, 1}};
    return cf_copy_and_check(e, W, SMBW_O_WRONLY, ch, 3, 300 * KiB);
}

static enum cf_result read_variant(cf_env *e)
{
    cf_chunk ch[] = {{0, 0, 128 * KiB}, {128 * KiB, 128 * KiB, 1000}};
    return cf_copy_and_check(e, SMBW_FSCTL_SRV_COPYCHUNK, SMBW_O_RDWR, ch, 2, 256 * KiB);
}

/* 3.3.5.15.6: FSCTL_SRV_COPYCHUNK needs read access to the destination too. */
static enum cf_result read_variant_dst_write_only(cf_env *e)
{
    return cf_refused(e, SMBW_FSCTL_SRV_COPYCHUNK, 12, (cf_chunk){0, 0, 4096},
                      SMBW_STATUS_ACCESS_DENIED);
}

/* 3.3.5.15.6: the destination must be open for writing. */
static enum cf_result dst_read_only(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_RDWR, &p);
    if (r != CF_PASS)
        return r;
    smbw_file *ro;
    int rc = cf_open(e, e->main.t, "dst.bin", SMBW_O_RDONLY, &ro);
    if (rc != 0)
        return cf_error(e, "cannot open dst.bin read-only: %s", cf_outcome(e, C(e), rc));
    cf_chunk ch = {0, 0, 4096};
    cf_cc_answer a;
    cf_copychunk(C(e), ro, W, p.key, &ch, 1, -1, 12, &a);
    return cf_expect_status(e, &a, SMBW_STATUS_ACCESS_DENIED);
}

/* 3.3.5.15.6: the source must be open for reading: a key of an open with
 * FILE_READ_ATTRIBUTES only cannot be copied from. */
static enum cf_result src_without_read(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    smbw_create_params cp = {
        .desired_access = 0x00000080u, /* FILE_READ_ATTRIBUTES */
        .share_access = 7,
        .create_disposition = 1, /* FILE_OPEN */
        .impersonation_level = 2,
    };
    smbw_file *attr;
    int rc = cf_create(e, e->main.t, "src.bin", &cp, &attr);
    if (rc != 0)
        return cf_error(e, "cannot open src.bin for attributes only: %s", cf_outcome(e, C(e), rc));
    uint8_t key[24];
    rc = cf_resume_key(attr, 32, key, NULL);
    if (rc != 0) {
        /* Refusing the key already keeps the data safe. */
        snprintf(e->expected, sizeof(e->expected), "STATUS_ACCESS_DENIED (or no key)");
        snprintf(e->got, sizeof(e->got), "the key request failed: %s", cf_outcome(e, C(e), rc));
        return smbw_conn_is_dead(C(e)) ? CF_FAIL : CF_PASS;
    }
    cf_chunk ch = {0, 0, 4096};
    cf_cc_answer a;
    cf_copychunk(C(e), p.dst, W, key, &ch, 1, -1, 12, &a);
    return cf_expect_status(e, &a, SMBW_STATUS_ACCESS_DENIED);
}

/* 3.3.5.15.6: MaxOutputResponse below the 12-byte answer. */
static enum cf_result max_output_too_small(cf_env *e)
{
    return cf_refused(e, W, 8, (cf_chunk){0, 0, 4096}, SMBW_STATUS_INVALID_PARAMETER);
}

/* 3.3.5.15.6.2: the limits answer is well formed. */
static enum cf_result limits_answer(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    cf_chunk ch = {0, 0, 0xFFFFFFFFu};
    cf_cc_answer a;
    cf_copychunk(C(e), p.dst, W, p.key, &ch, 1, -1, 12, &a);
    snprintf(e->expected, sizeof(e->expected),
             "STATUS_INVALID_PARAMETER, a 12-byte body with non-zero limits, "
             "TotalBytesWritten >= ChunkBytesWritten");
    snprintf(e->got, sizeof(e->got), "%s", cf_cc_describe(e, &a));
    if (a.dead || a.rc != SMBW_ESTATUS || a.status != SMBW_STATUS_INVALID_PARAMETER ||
        a.outlen != 12 || a.chunks_written == 0 || a.chunk_bytes_written == 0 ||
        a.total_bytes_written < a.chunk_bytes_written)
        return CF_FAIL;
    return CF_PASS;
}

/* Sends the chunks (ChunkCount claimed, or n when negative): the answer must
 * be the limits answer. */
static enum cf_result over_limits(cf_env *e, const cf_pair *p, const cf_limits *l,
                                  const cf_chunk *ch, size_t n, long claimed)
{
    cf_cc_answer a;
    cf_copychunk(C(e), p->dst, W, p->key, ch, n, claimed, 12, &a);
    return cf_expect_limits(e, &a, l);
}

/* Sets up a pair and learns the limits. */
static enum cf_result with_limits(cf_env *e, uint64_t src_size, cf_pair *p, cf_limits *l)
{
    enum cf_result r = cf_pair_setup(e, src_size, SMBW_O_WRONLY, p);
    if (r != CF_PASS)
        return r;
    if (cf_learn_limits(e, p->dst, p->key, l) != 0)
        return CF_ERROR;
    return CF_PASS;
}

static enum cf_result too_many_chunks(cf_env *e)
{
    cf_pair p;
    cf_limits l;
    enum cf_result r = with_limits(e, 64 * KiB, &p, &l);
    if (r != CF_PASS)
        return r;
    if (l.max_chunks > MAX_CHUNKS_TRIED)
        return cf_skip(e, "the server allows %u chunks per request", l.max_chunks);
    size_t n = (size_t)l.max_chunks + 1;
    cf_chunk *ch = calloc(n, sizeof(*ch));
    if (ch == NULL)
        return cf_error(e, "out of memory");
    for (size_t i = 0; i < n; i++)
        ch[i] = (cf_chunk){0, 4096 * (uint64_t)i, 4096};
    r = over_limits(e, &p, &l, ch, n, -1);
    free(ch);
    return r;
}

static enum cf_result chunk_too_large(cf_env *e)
{
    cf_pair p;
    cf_limits l;
    enum cf_result r = with_limits(e, 64 * KiB, &p, &l);
    if (r != CF_PASS)
        return r;
    if (l.max_chunk_size == 0xFFFFFFFFu)
        return cf_skip(e, "the server allows chunks of 4 GiB - 1");
    cf_chunk ch = {0, 0, l.max_chunk_size + 1};
    return over_limits(e, &p, &l, &ch, 1, -1);
}

static enum cf_result total_too_large(cf_env *e)
{
    cf_pair p;
    cf_limits l;
    enum cf_result r = with_limits(e, 64 * KiB, &p, &l);
    if (r != CF_PASS)
        return r;
    uint64_t n = (uint64_t)l.max_total / l.max_chunk_size + 1;
    if (n > l.max_chunks)
        return cf_skip(e, "%u chunks of %u bytes cannot exceed %u bytes", l.max_chunks,
                       l.max_chunk_size, l.max_total);
    if (n > MAX_CHUNKS_TRIED)
        return cf_skip(e,
                       "exceeding %u bytes in chunks of %u bytes takes %llu chunks (more than "
                       "%u tried)",
                       l.max_total, l.max_chunk_size, (unsigned long long)n, MAX_CHUNKS_TRIED);
    cf_chunk *ch = calloc((size_t)n, sizeof(*ch));
    if (ch == NULL)
        return cf_error(e, "out of memory");
    for (uint64_t i = 0; i < n; i++)
        ch[i] = (cf_chunk){0, i * l.max_chunk_size, l.max_chunk_size};
    r = over_limits(e, &p, &l, ch, (size_t)n, -1);
    free(ch);
    return r;
}

/* 3.3.5.15.6: a chunk of length zero is invalid. */
static enum cf_result zero_length_chunk(cf_env *e)
{
    cf_pair p;
    cf_limits l;
    enum cf_result r = with_limits(e, 64 * KiB, &p, &l);
    if (r != CF_PASS)
        return r;
    cf_chunk ch[] = {{0, 0, 4096}, {4096, 4096, 0}};
    return over_limits(e, &p, &l, ch, 2, -1);
}

/* 3.3.5.15.6: InputCount smaller than ChunkCount chunks. */
static enum cf_result input_truncated(cf_env *e)
{
    cf_pair p;
    cf_limits l;
    enum cf_result r = with_limits(e, 64 * KiB, &p, &l);
    if (r != CF_PASS)
        return r;
    cf_chunk ch = {0, 0, 4096};
    return over_limits(e, &p, &l, &ch, 1, 2); /* says 2, holds 1 */
}

/* ChunkCount 0 is not among the invalid requests of 3.3.5.15.6: nothing to
 * copy, success with an empty count. */
static enum cf_result zero_chunks(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    cf_cc_answer a;
    cf_copychunk(C(e), p.dst, W, p.key, NULL, 0, -1, 12, &a);
    return cf_expect_copied(e, &a, 0, 0);
}

/* Exactly the server's chunk count and total are accepted. */
static enum cf_result max_chunks_accepted(cf_env *e)
{
    cf_pair p;
    cf_limits l;
    enum cf_result r = with_limits(e, 1 * MiB, &p, &l);
    if (r != CF_PASS)
        return r;
    if (l.max_chunks > 4096)
        return cf_skip(e, "the server allows %u chunks per request (more than 4096 tried)",
                       l.max_chunks);
    uint32_t len = l.max_total / l.max_chunks;
    if (len > 4096)
        len = 4096;
    if (len == 0)
        return cf_skip(e, "limits %u chunks, %u bytes leave no room", l.max_chunks, l.max_total);
    cf_chunk *ch = calloc(l.max_chunks, sizeof(*ch));
    if (ch == NULL)
        return cf_error(e, "out of memory");
    for (uint32_t i = 0; i < l.max_chunks; i++) /* backwards through the source */
        ch[i] = (cf_chunk){(uint64_t)(l.max_chunks - 1 - i) * len % (1 * MiB - len),
                           (uint64_t)i * len, len};
    r = cf_copied(e, p.dst, "dst.bin", W, p.key, ch, l.max_chunks);
    free(ch);
    return r;
}

static enum cf_result max_total_accepted(cf_env *e)
{
    cf_pair p;
    cf_limits l;
    enum cf_result r = cf_pair_setup(e, 0, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    if (cf_learn_limits(e, p.dst, p.key, &l) != 0)
        return CF_ERROR;
    if (l.max_total > 64 * MiB)
        return cf_skip(e, "the server allows %u bytes per request (more than 64 MiB tried)",
                       l.max_total);
    /* 64-bit: a chunk size near 4 GiB must not wrap the sum around. */
    uint64_t n64 = ((uint64_t)l.max_total + l.max_chunk_size - 1) / l.max_chunk_size;
    if (n64 > l.max_chunks)
        return cf_skip(e, "%u chunks of %u bytes cannot reach %u bytes", l.max_chunks,
                       l.max_chunk_size, l.max_total);
    if (n64 > MAX_CHUNKS_TRIED)
        return cf_skip(e, "%u bytes in chunks of %u bytes take %llu chunks (more than %u tried)",
                       l.max_total, l.max_chunk_size, (unsigned long long)n64, MAX_CHUNKS_TRIED);
    uint32_t n = (uint32_t)n64;
    /* A source as large as the total. */
    smbw_file *w;
    uint8_t key[24];
    int rc = cf_make_source(e, "big.bin", 0, l.max_total, &w, key);
    if (rc != 0)
        return cf_error(e, "cannot make a %u-byte source: %s", l.max_total,
                        cf_outcome(e, C(e), rc));
    cf_chunk *ch = calloc(n, sizeof(*ch));
    if (ch == NULL)
        return cf_error(e, "out of memory");
    uint32_t left = l.max_total;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = left < l.max_chunk_size ? left : l.max_chunk_size;
        ch[i] = (cf_chunk){(uint64_t)i * l.max_chunk_size, (uint64_t)i * l.max_chunk_size, len};
        left -= len;
    }
    r = cf_copied(e, p.dst, "dst.bin", W, key, ch, n);
    free(ch);
    return r;
}

/* A source range past the end of the source: STATUS_INVALID_VIEW_SIZE. */
static enum cf_result src_past_eof(cf_env *e)
{
    return cf_refused(e, W, 12, (cf_chunk){64 * KiB - 100, 0, 4096}, SMBW_STATUS_INVALID_VIEW_SIZE);
}

/* 3.3.5.15.6.1: the chunks before the failing one are copied and counted. */
static enum cf_result partial_then_past_eof(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    cf_chunk ch[] = {{0, 0, 8192}, {60 * KiB, 8192, 8192}};
    cf_cc_answer a;
    cf_copychunk(C(e), p.dst, W, p.key, ch, 2, -1, 12, &a);
    snprintf(e->expected, sizeof(e->expected),
             "STATUS_INVALID_VIEW_SIZE, body {ChunksWritten 1, ChunkBytesWritten 0, "
             "TotalBytesWritten 8192}, the first chunk copied");
    snprintf(e->got, sizeof(e->got), "%s", cf_cc_describe(e, &a));
    if (a.dead || a.rc != SMBW_ESTATUS || a.status != SMBW_STATUS_INVALID_VIEW_SIZE ||
        !a.has_body || a.chunks_written != 1 || a.chunk_bytes_written != 0 ||
        a.total_bytes_written != 8192)
        return CF_FAIL;
    return cf_verify_chunks(e, "dst.bin", ch, 1);
}

/* A target range past the destination's end extends it. */
static enum cf_result dst_past_eof(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    cf_chunk ch = {0, 1 * MiB + 3, 64 * KiB};
    if ((r = cf_copied(e, p.dst, "dst.bin", W, p.key, &ch, 1)) != CF_PASS)
        return r;
    smbw_stat st;
    int rc = smbw_file_stat(p.dst, &st);
    if (rc != 0)
        return cf_error(e, "cannot stat the destination: %s", cf_outcome(e, C(e), rc));
    if (st.size != 1 * MiB + 3 + 64 * KiB)
        return cf_fail(e, "the destination grows to 1114115 bytes", "%llu bytes",
                       (unsigned long long)st.size);
    return CF_PASS;
}

/* Source and destination the same open, overlapping ranges: the target gets
 * the source range's bytes as they were before the copy. */
static enum cf_result same_handle_overlap(cf_env *e)
{
    smbw_file *f;
    uint8_t key[24];
    int rc = cf_make_source(e, "one.bin", 0, 256 * KiB, &f, key);
    if (rc != 0)
        return cf_error(e, "cannot set up one.bin: %s", cf_outcome(e, C(e), rc));
    cf_chunk ch = {0, 4096, 64 * KiB};
    return cf_copied(e, f, "one.bin", W, key, &ch, 1);
}

/* Two opens of one file, disjoint ranges. */
static enum cf_result same_file_two_opens(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 256 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    smbw_file *w;
    int rc = cf_open(e, e->main.t, "src.bin", SMBW_O_RDWR, &w);
    if (rc != 0)
        return cf_error(e, "cannot open src.bin for writing: %s", cf_outcome(e, C(e), rc));
    cf_chunk ch = {0, 128 * KiB, 64 * KiB};
    return cf_copied(e, w, "src.bin", W, p.key, &ch, 1);
}

/* 3.3.5.15.6: a key that names no open: STATUS_OBJECT_NAME_NOT_FOUND. */
static enum cf_result unknown_key(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    uint8_t bad[24];
    for (int i = 0; i < 24; i++)
        bad[i] = (uint8_t)(p.key[i] ^ 0xA5);
    cf_chunk ch = {0, 0, 4096};
    cf_cc_answer a;
    cf_copychunk(C(e), p.dst, W, bad, &ch, 1, -1, 12, &a);
    return cf_expect_status(e, &a, SMBW_STATUS_OBJECT_NAME_NOT_FOUND);
}

/* The key of an open that was closed names no open any more. */
static enum cf_result key_of_closed_open(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    int rc = cf_close(e, p.src);
    if (rc != 0)
        return cf_error(e, "cannot close the source: %s", cf_outcome(e, C(e), rc));
    cf_chunk ch = {0, 0, 4096};
    cf_cc_answer a;
    cf_copychunk(C(e), p.dst, W, p.key, &ch, 1, -1, 12, &a);
    return cf_expect_status(e, &a, SMBW_STATUS_OBJECT_NAME_NOT_FOUND);
}

/* A key used where the source open is not (dst2.bin elsewhere): the server
 * looks the key up among its opens (Windows: server-wide), so it either
 * copies correctly or refuses: STATUS_OBJECT_NAME_NOT_FOUND (no such open
 * here) or STATUS_ACCESS_DENIED (the open is not this session's). The
 * connection must survive either way. */
static enum cf_result key_elsewhere(cf_env *e, smbw_conn *c, smbw_file *dst, const uint8_t key[24])
{
    cf_chunk ch = {0, 0, 4096};
    cf_cc_answer a;
    cf_copychunk(c, dst, W, key, &ch, 1, -1, 12, &a);
    snprintf(e->expected, sizeof(e->expected),
             "STATUS_OBJECT_NAME_NOT_FOUND, STATUS_ACCESS_DENIED or a copy {1, 0, 4096}; the "
             "connection stays up");
    snprintf(e->got, sizeof(e->got), "%s", cf_cc_describe(e, &a));
    if (a.dead || smbw_conn_is_dead(C(e)))
        return CF_FAIL;
    if (a.rc == SMBW_ESTATUS &&
        (a.status == SMBW_STATUS_OBJECT_NAME_NOT_FOUND || a.status == SMBW_STATUS_ACCESS_DENIED))
        return CF_PASS;
    if (a.rc == 0 && a.has_body && a.chunks_written == 1 && a.chunk_bytes_written == 0 &&
        a.total_bytes_written == 4096)
        return cf_verify_chunks(e, "dst2.bin", &ch, 1);
    return CF_FAIL;
}

/* Another connection of the same user that never asked for a key itself
 * (Samba 4.17 drops that connection). */
static enum cf_result key_other_connection(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    cf_link *l;
    smbw_file *d;
    int rc = cf_connect(e, NULL, &l);
    if (rc != 0)
        return cf_error(e, "second connection: %s", e->reason);
    if ((rc = cf_open(e, l->t, "dst2.bin", SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_TRUNC, &d)) != 0)
        return cf_error(e, "cannot create dst2.bin: %s", cf_outcome(e, l->c, rc));
    return key_elsewhere(e, l->c, d, p.key);
}

/* The same, on a connection that obtained a key of its own first. */
static enum cf_result key_other_connection_keyed(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    cf_link *l;
    smbw_file *d;
    uint8_t own[24];
    int rc = cf_connect(e, NULL, &l);
    if (rc != 0)
        return cf_error(e, "second connection: %s", e->reason);
    if ((rc = cf_open(e, l->t, "dst2.bin", SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC, &d)) != 0 ||
        (rc = cf_resume_key(d, 32, own, NULL)) != 0)
        return cf_error(e, "dst2.bin on the second connection: %s", cf_outcome(e, l->c, rc));
    return key_elsewhere(e, l->c, d, p.key);
}

/* Another session on the same connection. */
static enum cf_result key_other_session(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    smbw_session *s = NULL;
    smbw_tree *t = NULL;
    smbw_file *d = NULL;
    int rc = smbw_session_new(&s, C(e), &e->tg->creds);
    if (rc == 0)
        rc = smbw_tree_connect(&t, s, e->tg->share);
    if (rc == 0)
        rc = smbw_file_open(&d, t, cf_path(e, "dst2.bin"),
                            SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_TRUNC);
    if (rc != 0) {
        r = cf_error(e, "second session: %s", cf_outcome(e, C(e), rc));
    } else {
        r = key_elsewhere(e, C(e), d, p.key);
    }
    smbw_file_free(d);
    smbw_tree_free(t);
    smbw_session_free(s);
    return r;
}

/* Another tree connect of the same session. */
static enum cf_result key_other_tree(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    smbw_tree *t = NULL;
    smbw_file *d = NULL;
    int rc = smbw_tree_connect(&t, e->main.s, e->tg->share);
    if (rc == 0)
        rc = smbw_file_open(&d, t, cf_path(e, "dst2.bin"),
                            SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_TRUNC);
    if (rc != 0)
        r = cf_error(e, "second tree: %s", cf_outcome(e, C(e), rc));
    else
        r = key_elsewhere(e, C(e), d, p.key);
    smbw_file_free(d);
    smbw_tree_free(t);
    return r;
}

/* 64-bit offsets: source and target ranges beyond 4 GiB (sparse files). */
static enum cf_result offsets_beyond_4g(cf_env *e)
{
    const uint64_t so = (4ull << 30) + 12345, dof = (5ull << 30) + 777;
    smbw_file *s, *d;
    uint8_t key[24];
    int rc = cf_make_source(e, "src.bin", so, 64 * KiB, &s, key);
    if (rc == 0)
        rc = cf_open(e, e->main.t, "dst.bin", SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_TRUNC, &d);
    if (rc != 0)
        return cf_skip(e, "the share cannot hold a sparse file past 4 GiB: %s",
                       cf_outcome(e, C(e), rc));
    cf_chunk ch = {so, dof, 64 * KiB};
    return cf_copied(e, d, "dst.bin", W, key, &ch, 1);
}

#define S6 "MS-SMB2 3.3.5.15.6"
const cf_case cf_cases_copychunk[] = {
    {"copychunk_write_single_chunk", S6, "one 64 KiB chunk: {1, 0, 65536}, the data arrives",
     write_single_chunk},
    {"copychunk_write_multi_chunks", "MS-SMB2 2.2.32.1",
     "three unaligned chunks out of order with a hole: counted and copied", write_multi_chunks},
    {"copychunk_read_variant", S6, "FSCTL_SRV_COPYCHUNK with a read/write destination copies",
     read_variant},
    {"copychunk_read_variant_dst_write_only", S6,
     "FSCTL_SRV_COPYCHUNK to a destination without read access: STATUS_ACCESS_DENIED",
     read_variant_dst_write_only},
    {"copychunk_dst_read_only", S6, "a destination opened read-only: STATUS_ACCESS_DENIED",
     dst_read_only},
    {"copychunk_src_without_read", S6,
     "a key of a source open without FILE_READ_DATA: STATUS_ACCESS_DENIED", src_without_read},
    {"copychunk_max_output_too_small", S6, "MaxOutputResponse 8 (< 12): STATUS_INVALID_PARAMETER",
     max_output_too_small},
    {"copychunk_limits_answer", "MS-SMB2 3.3.5.15.6.2",
     "an oversized chunk: STATUS_INVALID_PARAMETER with a 12-byte body of sane limits",
     limits_answer},
    {"copychunk_too_many_chunks", "MS-SMB2 3.3.5.15.6.2",
     "one chunk more than the server's maximum: the limits answer", too_many_chunks},
    {"copychunk_chunk_too_large", "MS-SMB2 3.3.5.15.6.2",
     "a chunk one byte over the maximum chunk size: the limits answer", chunk_too_large},
    {"copychunk_total_too_large", "MS-SMB2 3.3.5.15.6.2",
     "chunks adding up past the maximum total: the limits answer", total_too_large},
    {"copychunk_zero_length_chunk", "MS-SMB2 3.3.5.15.6.2",
     "a chunk of length 0: the limits answer", zero_length_chunk},
    {"copychunk_input_truncated", "MS-SMB2 3.3.5.15.6.2",
     "ChunkCount 2 with one chunk in the buffer: the limits answer", input_truncated},
    {"copychunk_zero_chunks", S6, "ChunkCount 0: success, {0, 0, 0}", zero_chunks},
    {"copychunk_max_chunks_accepted", S6,
     "exactly the maximum number of chunks: all copied, in any order", max_chunks_accepted},
    {"copychunk_max_total_accepted", S6, "exactly the maximum total in maximum-size chunks",
     max_total_accepted},
    {"copychunk_src_past_eof", S6, "a source range past end of file: STATUS_INVALID_VIEW_SIZE",
     src_past_eof},
    {"copychunk_partial_then_past_eof", "MS-SMB2 3.3.5.15.6.1",
     "a good chunk then one past EOF: STATUS_INVALID_VIEW_SIZE, {1, 0, 8192}, first copied",
     partial_then_past_eof},
    {"copychunk_dst_past_eof", S6, "a target range past the destination's end extends it",
     dst_past_eof},
    {"copychunk_same_handle_overlap", S6,
     "source = destination open, overlapping ranges: the original bytes arrive",
     same_handle_overlap},
    {"copychunk_same_file_two_opens", S6, "two opens of one file, disjoint ranges",
     same_file_two_opens},
    {"copychunk_unknown_key", S6, "a key that names no open: STATUS_OBJECT_NAME_NOT_FOUND",
     unknown_key},
    {"copychunk_key_of_closed_open", S6, "the key of a closed open: STATUS_OBJECT_NAME_NOT_FOUND",
     key_of_closed_open},
    {"copychunk_key_other_connection", S6,
     "a key used on another connection that never asked for one: not found or a copy, "
     "the connection survives",
     key_other_connection},
    {"copychunk_key_other_connection_keyed", S6,
     "a key used on another connection that has a key of its own: not found or a copy",
     key_other_connection_keyed},
    {"copychunk_key_other_session", S6, "a key used on another session of the connection",
     key_other_session},
    {"copychunk_key_other_tree", S6, "a key used on another tree connect of the session",
     key_other_tree},
    {"copychunk_offsets_beyond_4g", "MS-SMB2 2.2.31.1.1",
     "64-bit source and target offsets past 4 GiB (sparse files)", offsets_beyond_4g},
    {NULL, NULL, NULL, NULL},
};
