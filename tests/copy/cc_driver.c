/* Server-side copy through the library against the real Samba of
 * tests/testbed (run through with-server.sh):
 *  - the two copychunk FSCTLs and their access rules: FSCTL_SRV_COPYCHUNK_WRITE
 *    into a destination opened for writing only works; FSCTL_SRV_COPYCHUNK
 *    (copychunk_read) into the same is refused with the server's status;
 *    with read and write access it works;
 *  - limits adaptation: starting above Samba's limits (4 MiB chunks, 512
 *    chunks per request) ends in success after STATUS_INVALID_PARAMETER
 *    answers, with the server's 1 MiB chunk size in effect, and a second copy
 *    on the same tree starts with the remembered limits (no retry).
 * Every copy is compared byte for byte with the source on the server's disk.
 *
 *   copy_cc_driver                    runs the tests above
 *   copy_cc_driver set-sparse NAME    marks NAME on the share sparse
 *                                     (FSCTL_SET_SPARSE), for the scripts */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smbwire/copy.h>

/* Access masks and dispositions (MS-SMB2 2.2.13, 2.2.13.1). */
#define GENERIC_READ_ 0x80000000u
#define GENERIC_WRITE_ 0x40000000u
#define FILE_READ_ATTRIBUTES_ 0x00000080u
#define SYNCHRONIZE_ 0x00100000u
#define FILE_SHARE_ALL_ 0x00000007u
#define FILE_OVERWRITE_IF_ 5u
#define FILE_NON_DIRECTORY_FILE_ 0x00000040u

/* What Samba 4.17 answers to FSCTL_SRV_COPYCHUNK on a destination without
 * read access (measured; MS-SMB2 3.3.5.15.6 says the same). */

#define MIB (1024u * 1024u)

/* Writes size random bytes to name on the share; returns them (malloc'd). */
static unsigned char *put_random(it_ctx *ctx, const char *name, size_t size)
{
    unsigned char *data = malloc(size ? size : 1);
    ck_assert(data != NULL);
    it_random(data, size);
    smbw_file *f = NULL;
    IT_OK(ctx->conn,
          smbw_file_open(&f, ctx->tree, name, SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_TRUNC));
    IT_OK(ctx->conn, smbw_file_pwrite(f, data, size, 0));
    IT_OK(ctx->conn, smbw_file_free(f));
    return data;
}

static smbw_file *create_dst(it_ctx *ctx, const char *name, uint32_t access)
{
    smbw_create_params p;
    memset(&p, 0, sizeof(p));
    p.desired_access = access;
    p.share_access = FILE_SHARE_ALL_;
    p.file_attributes = SMBW_FILE_ATTRIBUTE_NORMAL;
    p.create_disposition = FILE_OVERWRITE_IF_;
    p.create_options = FILE_NON_DIRECTORY_FILE_;
    smbw_file *f = NULL;
    IT_OK(ctx->conn, smbw_file_create(&f, ctx->tree, name, &p));
    return f;
}

/* The server-side file name equals data. */
static void expect_on_server(const char *name, const unsigned char *data, size_t size)
{
    size_t len = 0;
    void *got = it_server_read(name, &len);
    ck_assert_msg(len == size, "%s: %zu bytes on the server, expected %zu", name, len, size);
    ck_assert_msg(size == 0 || memcmp(got, data, size) == 0, "%s differs from the source", name);
    free(got);
}

static void copy_ok(it_ctx *ctx, smbw_file *src, smbw_file *dst, uint64_t len,
                    const smbw_copy_opts *o, smbw_copy_stats *st)
{
    IT_OK(ctx->conn, smbw_copy_range(src, dst, 0, 0, len, o, st));
    printf("copied %llu bytes: method %s, requests %llu, retries %llu, wire %llu bytes, "
           "chunk %u x %u\n",
           (unsigned long long)st->bytes, smbw_copy_method_name(st->method),
           (unsigned long long)st->requests, (unsigned long long)st->retries,
           (unsigned long long)st->wire_bytes, st->chunks_per_request, st->chunk_size);
    ck_assert_uint_eq(st->bytes, len);
    ck_assert_int_eq(st->method, SMBW_COPY_COPYCHUNK);
    ck_assert_msg(!st->used_stream, "data was streamed");
}

START_TEST(test_copychunk_write_needs_write_only)
{
    it_ctx ctx;
    it_open(&ctx);
    const size_t size = 5 * MIB + 7;
    unsigned char *data = put_random(&ctx, "acc-src.bin", size);
    smbw_file *src = NULL;
    IT_OK(ctx.conn, smbw_file_open(&src, ctx.tree, "acc-src.bin", SMBW_O_RDONLY));
    smbw_file *dst = create_dst(&ctx, "acc-w.bin", GENERIC_WRITE_ | SYNCHRONIZE_);
    smbw_copy_opts o = SMBW_COPY_OPTS_INIT;
    o.method = SMBW_COPY_COPYCHUNK;
    smbw_copy_stats st;
    copy_ok(&ctx, src, dst, size, &o, &st);
    ck_assert_msg(st.wire_bytes < size / 100, "%llu bytes crossed the wire",
                  (unsigned long long)st.wire_bytes);
    IT_OK(ctx.conn, smbw_file_free(dst));
    IT_OK(ctx.conn, smbw_file_free(src));
    expect_on_server("acc-w.bin", data, size);
    free(data);
    it_close(&ctx);
}
END_TEST

START_TEST(test_copychunk_read_needs_read_access)
{
    it_ctx ctx;
    it_open(&ctx);
    const size_t size = 3 * MIB + 1;
    unsigned char *data = put_random(&ctx, "acc-src2.bin", size);
    smbw_file *src = NULL;
    IT_OK(ctx.conn, smbw_file_open(&src, ctx.tree, "acc-src2.bin", SMBW_O_RDONLY));
    smbw_copy_opts o = SMBW_COPY_OPTS_INIT;
    o.method = SMBW_COPY_COPYCHUNK;
    o.copychunk_read = true;
    smbw_copy_stats st;

    /* Write access only: refused with the server's status, nothing copied. */
    smbw_file *dst = create_dst(&ctx, "acc-r-denied.bin", GENERIC_WRITE_ | SYNCHRONIZE_);
    int rc = smbw_copy_range(src, dst, 0, 0, size, &o, &st);
    uint32_t status = smbw_last_status(ctx.conn);
    printf("SMBW_FSCTL_SRV_COPYCHUNK into a write-only open: %s (%s) %s\n", smbw_error_name(rc),
           smbw_status_name(status), smbw_conn_errmsg(ctx.conn));
    ck_assert_msg(rc != 0, "FSCTL_SRV_COPYCHUNK into a write-only open succeeded");
    ck_assert_msg(status == SMBW_STATUS_ACCESS_DENIED, "status %s, expected STATUS_ACCESS_DENIED",
                  smbw_status_name(status));
    ck_assert_msg(!st.used_stream && st.bytes == 0, "the forced copychunk moved %llu bytes",
                  (unsigned long long)st.bytes);
    ck_assert(!smbw_conn_is_dead(ctx.conn));
    IT_OK(ctx.conn, smbw_file_free(dst));

    /* Read and write access: works. */
    dst = create_dst(&ctx, "acc-r.bin", GENERIC_READ_ | GENERIC_WRITE_ | SYNCHRONIZE_);
    copy_ok(&ctx, src, dst, size, &o, &st);
    IT_OK(ctx.conn, smbw_file_free(dst));
    IT_OK(ctx.conn, smbw_file_free(src));
    expect_on_server("acc-r.bin", data, size);
    free(data);
    it_close(&ctx);
}
END_TEST

START_TEST(test_limits_adaptation)
{
    it_ctx ctx;
    it_open(&ctx);
    const size_t size = 40 * MIB + 4097;
    unsigned char *data = put_random(&ctx, "lim-src.bin", size);
    smbw_file *src = NULL;
    IT_OK(ctx.conn, smbw_file_open(&src, ctx.tree, "lim-src.bin", SMBW_O_RDONLY));
    smbw_copy_opts o = SMBW_COPY_OPTS_INIT;
    o.method = SMBW_COPY_COPYCHUNK;
    o.chunk_size = 4 * MIB;     /* Samba: 1 MiB per chunk */
    o.chunks_per_request = 512; /* Samba: 256 chunks, 16 MiB per request */
    smbw_copy_stats st;
    smbw_file *dst = create_dst(&ctx, "lim-dst.bin", GENERIC_WRITE_ | SYNCHRONIZE_);
    copy_ok(&ctx, src, dst, size, &o, &st);
    ck_assert_msg(st.retries >= 1, "no limit adaptation happened (retries %llu)",
                  (unsigned long long)st.retries);
    ck_assert_uint_eq(st.chunk_size, 1 * MIB);
    ck_assert_msg(st.chunks_per_request >= 1 && st.chunks_per_request <= 256,
                  "chunks per request %u", st.chunks_per_request);
    IT_OK(ctx.conn, smbw_file_free(dst));
    expect_on_server("lim-dst.bin", data, size);

    /* The limits are remembered on the tree: the next copy needs no retry. */
    dst = create_dst(&ctx, "lim-dst2.bin", GENERIC_WRITE_ | SYNCHRONIZE_);
    copy_ok(&ctx, src, dst, size, &o, &st);
    ck_assert_msg(st.retries == 0, "the second copy retried %llu times",
                  (unsigned long long)st.retries);
    ck_assert_uint_eq(st.chunk_size, 1 * MIB);
    IT_OK(ctx.conn, smbw_file_free(dst));
    IT_OK(ctx.conn, smbw_file_free(src));
    expect_on_server("lim-dst2.bin", data, size);
    free(data);
    it_close(&ctx);
}
END_TEST

/* Samba reports a file as sparse (and answers FSCTL_QUERY_ALLOCATED_RANGES
 * with its real data ranges) only once it was marked sparse over SMB. */
static const char *sparse_name;

START_TEST(test_set_sparse)
{
    it_ctx ctx;
    it_open(&ctx);
    smbw_file *f = NULL;
    IT_OK(ctx.conn, smbw_file_open(&f, ctx.tree, sparse_name, SMBW_O_RDWR));
    IT_OK(ctx.conn, smbw_file_ioctl(f, SMBW_FSCTL_SET_SPARSE, NULL, 0, 0, NULL, NULL));
    smbw_stat st;
    IT_OK(ctx.conn, smbw_file_stat(f, &st));
    ck_assert_msg(st.attributes & SMBW_FILE_ATTRIBUTE_SPARSE_FILE, "%s is not sparse after %s",
                  sparse_name, "FSCTL_SET_SPARSE");
    IT_OK(ctx.conn, smbw_file_free(f));
    it_close(&ctx);
}
END_TEST

static int set_sparse(const char *name)
{
    sparse_name = name;
    Suite *s = suite_create("set-sparse");
    TCase *tc = tcase_create("set-sparse");
    tcase_add_test(tc, test_set_sparse);
    suite_add_tcase(s, tc);
    return it_run_suite(s);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "set-sparse") == 0)
        return set_sparse(argv[2]);
    Suite *s = suite_create("copy-fsctl");
    TCase *tc = tcase_create("copychunk");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_copychunk_write_needs_write_only);
    tcase_add_test(tc, test_copychunk_read_needs_read_access);
    tcase_add_test(tc, test_limits_adaptation);
    suite_add_tcase(s, tc);
    return it_run(s);
}
