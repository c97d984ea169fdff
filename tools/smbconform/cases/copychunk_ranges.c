/* FSCTL_SRV_COPYCHUNK(_WRITE) ranges and request shapes: end-of-file
 * boundaries, overlaps, chunks that target one range, data around the
 * target kept, requests refused before anything is copied, MaxOutputResponse
 * and InputCount extremes, large and randomised chunk lists (MS-SMB2
 * 3.3.5.15.6, 3.3.5.15.6.2, 2.2.31.1). */
#include <stdlib.h>
#include <string.h>

#include "../smbconform.h"

#define KiB 1024u
#define MiB (1024u * 1024u)
#define W SMBW_FSCTL_SRV_COPYCHUNK_WRITE

static smbw_conn *C(cf_env *e)
{
    return e->main.c;
}

/* A source range that ends exactly at end of file is whole: copied. */
static enum cf_result src_ends_at_eof(cf_env *e)
{
    cf_chunk ch = {60 * KiB, 0, 4 * KiB};
    return cf_copy_and_check(e, W, SMBW_O_WRONLY, &ch, 1, 64 * KiB);
}

/* A source range that starts at end of file: STATUS_INVALID_VIEW_SIZE. */
static enum cf_result src_at_eof(cf_env *e)
{
    return cf_refused(e, W, 12, (cf_chunk){64 * KiB, 0, 1}, SMBW_STATUS_INVALID_VIEW_SIZE);
}

/* An empty source has no range at all. */
static enum cf_result empty_source(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 0, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    cf_chunk ch = {0, 0, 4096};
    cf_cc_answer a;
    cf_copychunk(C(e), p.dst, W, p.key, &ch, 1, -1, 12, &a);
    return cf_expect_status(e, &a, SMBW_STATUS_INVALID_VIEW_SIZE);
}

/* One open as source and destination, the target before the source range
 * and overlapping it. */
static enum cf_result same_handle_overlap_backwards(cf_env *e)
{
    smbw_file *f;
    uint8_t key[24];
    int rc = cf_make_source(e, "one.bin", 0, 256 * KiB, &f, key);
    if (rc != 0)
        return cf_error(e, "cannot set up one.bin: %s", cf_outcome(e, C(e), rc));
    cf_chunk ch = {8192, 4096, 64 * KiB};
    return cf_copied(e, f, "one.bin", W, key, &ch, 1);
}

/* Two opens of one file, overlapping ranges (the key of one, the other the
 * destination). */
static enum cf_result overlap_two_opens(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 256 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    smbw_file *w;
    int rc = cf_open(e, e->main.t, "src.bin", SMBW_O_RDWR, &w);
    if (rc != 0)
        return cf_error(e, "cannot open src.bin for writing: %s", cf_outcome(e, C(e), rc));
    cf_chunk ch = {0, 32 * KiB, 64 * KiB};
    return cf_copied(e, w, "src.bin", W, p.key, &ch, 1);
}

/* The same open as source and destination with FSCTL_SRV_COPYCHUNK (an open
 * with read and write access: both variants' demands met). */
static enum cf_result read_variant_same_handle(cf_env *e)
{
    smbw_file *f;
    uint8_t key[24];
    int rc = cf_make_source(e, "one.bin", 0, 128 * KiB, &f, key);
    if (rc != 0)
        return cf_error(e, "cannot set up one.bin: %s", cf_outcome(e, C(e), rc));
    cf_chunk ch = {0, 128 * KiB, 64 * KiB};
    return cf_copied(e, f, "one.bin", SMBW_FSCTL_SRV_COPYCHUNK, key, &ch, 1);
}

/* 3.3.5.15.6: the chunks are copied in order: two chunks to one target, the
 * second's bytes stay. */
static enum cf_result chunks_same_target(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    cf_chunk ch[] = {{0, 0, 8192}, {32 * KiB, 0, 8192}};
    cf_cc_answer a;
    cf_copychunk(C(e), p.dst, W, p.key, ch, 2, -1, 12, &a);
    if ((r = cf_expect_copied(e, &a, 2, 16384)) != CF_PASS)
        return r;
    return cf_verify_chunks(e, "dst.bin", &ch[1], 1);
}

/* A copy into the middle of a file leaves the bytes around it alone. */
static enum cf_result into_existing_data(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_RDWR, &p);
    if (r != CF_PASS)
        return r;
    int rc = cf_fill(p.dst, 0, 128 * KiB, 2);
    if (rc != 0)
        return cf_error(e, "cannot fill dst.bin: %s", cf_outcome(e, C(e), rc));
    cf_chunk ch = {100, 50 * KiB + 3, 10 * KiB};
    if ((r = cf_copied(e, p.dst, "dst.bin", W, p.key, &ch, 1)) != CF_PASS)
        return r;
    char where[200];
    const uint64_t end = ch.dst + ch.len;
    rc = cf_verify(p.dst, 0, ch.dst, 0, 2, where, sizeof(where));
    if (rc == 0)
        rc = cf_verify(p.dst, end, 128 * KiB - end, end, 2, where, sizeof(where));
    if (rc < 0)
        return cf_error(e, "cannot read dst.bin back: %s", cf_outcome(e, C(e), rc));
    if (rc > 0)
        return cf_fail(e, "the bytes before and after the target unchanged", "%s", where);
    return CF_PASS;
}

/* 3.3.5.15.6.2: a request over the limits is refused as a whole: a good
 * first chunk is not copied either. */
static enum cf_result limits_copy_nothing(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    cf_chunk ch[] = {{0, 0, 4096}, {0, 4096, 0xFFFFFFFFu}};
    cf_cc_answer a;
    cf_copychunk(C(e), p.dst, W, p.key, ch, 2, -1, 12, &a);
    snprintf(e->expected, sizeof(e->expected),
             "STATUS_INVALID_PARAMETER with the limits, the destination still empty");
    snprintf(e->got, sizeof(e->got), "%s", cf_cc_describe(e, &a));
    if (a.dead || a.rc != SMBW_ESTATUS || a.status != SMBW_STATUS_INVALID_PARAMETER)
        return CF_FAIL;
    smbw_stat st;
    int rc = smbw_file_stat(p.dst, &st);
    if (rc != 0)
        return cf_error(e, "cannot stat dst.bin: %s", cf_outcome(e, C(e), rc));
    if (st.size != 0)
        return cf_fail(e, e->expected, "%s; the destination has %llu bytes", e->got,
                       (unsigned long long)st.size);
    return CF_PASS;
}

/* 3.3.5.15.6: MaxOutputResponse 0 cannot hold the answer. */
static enum cf_result max_output_zero(cf_env *e)
{
    return cf_refused(e, W, 0, (cf_chunk){0, 0, 4096}, SMBW_STATUS_INVALID_PARAMETER);
}

/* A MaxOutputResponse far above the answer: still the 12-byte answer. */
static enum cf_result max_output_large(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    uint32_t max_out = smbw_conn_max_transact(C(e));
    if (max_out > 64 * KiB)
        max_out = 64 * KiB;
    cf_chunk ch = {0, 0, 4096};
    cf_cc_answer a;
    cf_copychunk(C(e), p.dst, W, p.key, &ch, 1, -1, max_out, &a);
    if ((r = cf_expect_copied(e, &a, 1, 4096)) != CF_PASS)
        return r;
    if (a.outlen != 12)
        return cf_fail(e, "a 12-byte SRV_COPYCHUNK_RESPONSE", "%zu bytes", a.outlen);
    return cf_verify_chunks(e, "dst.bin", &ch, 1);
}

/* 3.3.5.15.6: an InputCount below the size of SRV_COPYCHUNK_COPY (here the
 * key alone, 24 bytes; or nothing at all) gets the limits answer of
 * 3.3.5.15.6.2. */
static enum cf_result short_input(cf_env *e, size_t inlen)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    cf_limits l;
    if (cf_learn_limits(e, p.dst, p.key, &l) != 0)
        return CF_ERROR;
    cf_cc_answer a;
    cf_copychunk_raw(C(e), p.dst, W, inlen != 0 ? p.key : NULL, inlen, 12, &a);
    return cf_expect_limits(e, &a, &l);
}

static enum cf_result input_key_only(cf_env *e)
{
    return short_input(e, 24);
}

static enum cf_result input_empty(cf_env *e)
{
    return short_input(e, 0);
}

/* Pike's big copy: four chunks of the server's maximum chunk size (at most
 * 1 MiB each). */
static enum cf_result big_chunks(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 0, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    cf_limits l;
    if (cf_learn_limits(e, p.dst, p.key, &l) != 0)
        return CF_ERROR;
    uint32_t len = l.max_chunk_size < MiB ? l.max_chunk_size : MiB;
    uint32_t n = l.max_chunks < 4 ? l.max_chunks : 4;
    while (n > 1 && (uint64_t)n * len > l.max_total)
        n--;
    if ((uint64_t)n * len > l.max_total)
        len = l.max_total;
    smbw_file *s;
    uint8_t key[24];
    int rc = cf_make_source(e, "big.bin", 0, (uint64_t)n * len, &s, key);
    if (rc != 0)
        return cf_error(e, "cannot make the source: %s", cf_outcome(e, C(e), rc));
    cf_chunk ch[4];
    for (uint32_t i = 0; i < n; i++) /* the source's pieces in reverse */
        ch[i] = (cf_chunk){(uint64_t)(n - 1 - i) * len, (uint64_t)i * len, len};
    return cf_copied(e, p.dst, "dst.bin", W, key, ch, n);
}

/* Randomised (a fixed seed, so a failure repeats): up to 64 chunks of odd
 * sizes and offsets within the limits, disjoint targets. */
static enum cf_result random_chunks(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 1 * MiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    cf_limits l;
    if (cf_learn_limits(e, p.dst, p.key, &l) != 0)
        return CF_ERROR;
    cf_chunk ch[64];
    uint32_t n = l.max_chunks < 64 ? l.max_chunks : 64;
    uint64_t x = 0x5EEDull, dst = 0, total = 0;
    size_t k = 0;
    for (; k < n; k++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t len = 1 + (uint32_t)(x >> 33) % (16 * KiB);
        if (len > l.max_chunk_size)
            len = l.max_chunk_size;
        if (total + len > l.max_total)
            break;
        uint64_t src = (x >> 11) % (1 * MiB - len + 1);
        dst += (x >> 40) % 3000; /* a gap now and then */
        ch[k] = (cf_chunk){src, dst, len};
        dst += len;
        total += len;
    }
    return cf_copied(e, p.dst, "dst.bin", W, p.key, ch, k);
}

#define S6 "MS-SMB2 3.3.5.15.6"
const cf_case cf_cases_copychunk_ranges[] = {
    {"copychunk_src_ends_at_eof", S6, "a source range ending exactly at end of file is copied",
     src_ends_at_eof},
    {"copychunk_src_at_eof", S6, "a source range starting at end of file: STATUS_INVALID_VIEW_SIZE",
     src_at_eof},
    {"copychunk_empty_source", S6, "any range of an empty source: STATUS_INVALID_VIEW_SIZE",
     empty_source},
    {"copychunk_same_handle_overlap_backwards", S6,
     "source = destination open, target before and overlapping the source: original bytes",
     same_handle_overlap_backwards},
    {"copychunk_overlap_two_opens", S6,
     "two opens of one file (the key's and the destination), overlapping ranges",
     overlap_two_opens},
    {"copychunk_read_variant_same_handle", S6,
     "FSCTL_SRV_COPYCHUNK with source = destination (read/write open)", read_variant_same_handle},
    {"copychunk_chunks_same_target", S6,
     "two chunks to one target range: both counted, the second's bytes stay", chunks_same_target},
    {"copychunk_into_existing_data", S6,
     "a copy into the middle of a file leaves the bytes around it unchanged", into_existing_data},
    {"copychunk_limits_copy_nothing", "MS-SMB2 3.3.5.15.6.2",
     "a good chunk then an oversized one: the limits answer and nothing copied",
     limits_copy_nothing},
    {"copychunk_max_output_zero", S6, "MaxOutputResponse 0: STATUS_INVALID_PARAMETER",
     max_output_zero},
    {"copychunk_max_output_large", "MS-SMB2 2.2.32.1",
     "MaxOutputResponse 64 KiB: the copy and a 12-byte answer", max_output_large},
    {"copychunk_input_key_only", S6, "InputCount 24 (the key, no ChunkCount): the limits answer",
     input_key_only},
    {"copychunk_input_empty", S6, "InputCount 0: the limits answer", input_empty},
    {"copychunk_big_chunks", S6,
     "four chunks of the maximum chunk size (at most 1 MiB), source pieces reversed", big_chunks},
    {"copychunk_random_chunks", "MS-SMB2 2.2.31.1",
     "up to 64 chunks of random sizes and offsets (fixed seed) within the limits", random_chunks},
    {NULL, NULL, NULL, NULL},
};
