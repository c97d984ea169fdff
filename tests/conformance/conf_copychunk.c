/* Server conformance: server-side copy, MS-SMB2 3.3.5.15.6 (handling a
 * copychunk request) and 2.2.32.1/2.2.32.3, through the generic IOCTL call of
 * the public API. Run against the server that with-server.sh started; each
 * check names the section it follows. Expected values are the spec's, with
 * the Samba specifics of TESTBED.md where the spec leaves a choice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rawbytes.h"

typedef struct cx {
    smbw_conn *c;
    smbw_session *s;
    smbw_tree *t;
    smbw_file *src, *dst;
    unsigned char key[24];
} cx;

/* A new connection, session and tree of the test share in x. */
static void connect_cx(cx *x)
{
    memset(x, 0, sizeof *x);
    it_ctx ctx;
    it_open(&ctx);
    x->c = ctx.conn;
    x->s = ctx.sess;
    x->t = ctx.tree;
}

static void setup(cx *x)
{
    connect_cx(x);
    static unsigned char data[1 << 20];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 31 + 7);
    IT_OK(x->c, smbw_write_file(x->t, "conf-src.bin", data, sizeof data));
    IT_OK(x->c, smbw_file_open(&x->src, x->t, "conf-src.bin", SMBW_O_RDONLY));
    IT_OK(x->c, smbw_file_open(&x->dst, x->t, "conf-dst.bin",
                               SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_TRUNC));
    void *out = NULL;
    size_t len = 0;
    IT_OK(x->c,
          smbw_file_ioctl(x->src, SMBW_FSCTL_SRV_REQUEST_RESUME_KEY, NULL, 0, 32, &out, &len));
    ck_assert_uint_ge(len, 28);
    memcpy(x->key, out, 24);
    free(out);
}

static void disconnect_cx(cx *x)
{
    smbw_tree_free(x->t);
    smbw_session_free(x->s);
    smbw_conn_free(x->c);
}

static void teardown(cx *x)
{
    smbw_file_free(x->src);
    smbw_file_free(x->dst);
    smbw_unlink(x->t, "conf-dst.bin");
    smbw_unlink(x->t, "conf-src.bin");
    disconnect_cx(x);
}

/* SRV_COPYCHUNK_COPY with n chunks (src, dst, len). */
static size_t build(unsigned char *b, const unsigned char key[24], const uint64_t (*ch)[3], int n)
{
    memcpy(b, key, 24);
    put_u32(b + 24, (uint32_t)n);
    put_u32(b + 28, 0);
    for (int i = 0; i < n; i++) {
        unsigned char *c = b + 32 + 24 * i;
        put_u64(c, ch[i][0]);
        put_u64(c + 8, ch[i][1]);
        put_u32(c + 16, (uint32_t)ch[i][2]);
        put_u32(c + 20, 0);
    }
    return 32 + 24 * (size_t)n;
}

/* 2.2.32.3: SRV_REQUEST_RESUME_KEY = 24-byte key, ContextLength, Context. */
START_TEST(test_resume_key_shape)
{
    cx x;
    setup(&x);
    void *out = NULL;
    size_t len = 0;
    IT_OK(x.c,
          smbw_file_ioctl(x.src, SMBW_FSCTL_SRV_REQUEST_RESUME_KEY, NULL, 0, 4096, &out, &len));
    ck_assert_uint_ge(len, 28);
    /* Context fits; Samba pads the structure to 32 bytes (ContextLength 0). */
    ck_assert_uint_le(28 + (size_t)get_u32((unsigned char *)out + 24), len);
    free(out);
    teardown(&x);
}
END_TEST

/* 3.3.5.15.6: an output buffer too small for the key fails. */
START_TEST(test_resume_key_small_buffer)
{
    cx x;
    setup(&x);
    void *out = NULL;
    size_t len = 0;
    int rc = smbw_file_ioctl(x.src, SMBW_FSCTL_SRV_REQUEST_RESUME_KEY, NULL, 0, 16, &out, &len);
    free(out);
    ck_assert_int_lt(rc, 0);
    uint32_t st = smbw_last_status(x.c);
    ck_assert_msg(st == SMBW_STATUS_BUFFER_TOO_SMALL || st == SMBW_STATUS_INVALID_PARAMETER,
                  "got %s", smbw_status_name(st));
    teardown(&x);
}
END_TEST

/* 2.2.32.1 + 3.3.5.15.6: a valid request copies and reports what it did. */
START_TEST(test_copychunk_success_fields)
{
    cx x;
    setup(&x);
    uint64_t ch[3][3] = {{0, 0, 65536}, {65536, 65536, 65536}, {131072, 131072, 1000}};
    unsigned char in[32 + 24 * 3];
    size_t n = build(in, x.key, ch, 3);
    void *out = NULL;
    size_t len = 0;
    IT_OK(x.c, smbw_file_ioctl(x.dst, SMBW_FSCTL_SRV_COPYCHUNK_WRITE, in, n, 12, &out, &len));
    ck_assert_uint_eq(len, 12);
    ck_assert_uint_eq(get_u32(out), 3);                           /* ChunksWritten */
    ck_assert_uint_eq(get_u32((unsigned char *)out + 8), 132072); /* TotalBytesWritten */
    free(out);
    smbw_stat st;
    IT_OK(x.c, smbw_file_stat(x.dst, &st));
    ck_assert_uint_eq(st.size, 132072);
    teardown(&x);
}
END_TEST

/* 3.3.5.15.6: a request over the limits fails with STATUS_INVALID_PARAMETER
 * and a response whose three fields are the server's limits. */
START_TEST(test_copychunk_limits_answer)
{
    cx x;
    setup(&x);
    uint64_t ch[1][3] = {{0, 0, 4u << 20}}; /* one 4 MiB chunk: over 1 MiB */
    unsigned char in[32 + 24];
    size_t n = build(in, x.key, ch, 1);
    void *out = NULL;
    size_t len = 0;
    int rc = smbw_file_ioctl(x.dst, SMBW_FSCTL_SRV_COPYCHUNK_WRITE, in, n, 12, &out, &len);
    ck_assert_int_eq(rc, SMBW_ESTATUS);
    ck_assert_uint_eq(smbw_last_status(x.c), SMBW_STATUS_INVALID_PARAMETER);
    ck_assert_uint_eq(len, 12);
    uint32_t maxc = get_u32(out), maxs = get_u32((unsigned char *)out + 4),
             maxt = get_u32((unsigned char *)out + 8);
    fprintf(stderr, "server copychunk limits: %u chunks, %u bytes per chunk, %u per request\n",
            maxc, maxs, maxt);
    ck_assert_uint_gt(maxc, 0);
    ck_assert_uint_gt(maxs, 0);
    ck_assert_uint_ge(maxt, maxs);
    free(out);
    /* zero-length chunks are invalid too */
    uint64_t z[1][3] = {{0, 0, 0}};
    n = build(in, x.key, z, 1);
    rc = smbw_file_ioctl(x.dst, SMBW_FSCTL_SRV_COPYCHUNK_WRITE, in, n, 12, &out, &len);
    free(out);
    ck_assert_int_eq(rc, SMBW_ESTATUS);
    ck_assert_uint_eq(smbw_last_status(x.c), SMBW_STATUS_INVALID_PARAMETER);
    teardown(&x);
}
END_TEST

/* 3.3.5.15.6: an unknown resume key is STATUS_OBJECT_NAME_NOT_FOUND. */
START_TEST(test_copychunk_unknown_key)
{
    cx x;
    setup(&x);
    unsigned char bad[24];
    for (int i = 0; i < 24; i++)
        bad[i] = (unsigned char)(x.key[i] ^ 0xA5);
    uint64_t ch[1][3] = {{0, 0, 4096}};
    unsigned char in[32 + 24];
    size_t n = build(in, bad, ch, 1);
    void *out = NULL;
    size_t len = 0;
    int rc = smbw_file_ioctl(x.dst, SMBW_FSCTL_SRV_COPYCHUNK_WRITE, in, n, 12, &out, &len);
    free(out);
    ck_assert_int_lt(rc, 0);
    ck_assert_uint_eq(smbw_last_status(x.c), SMBW_STATUS_OBJECT_NAME_NOT_FOUND);
    ck_assert(!smbw_conn_is_dead(x.c));
    teardown(&x);
}
END_TEST

/* A resume key used on another connection of the same user, one that never
 * sent FSCTL_SRV_REQUEST_RESUME_KEY itself. MS-SMB2 3.3.5.15.6: the server
 * looks the source open up by its key; the key names an open of another
 * connection, so a server may copy (keys are server-wide on Windows) or answer
 * STATUS_OBJECT_NAME_NOT_FOUND — but the connection must survive.
 * Known, by version: Samba 4.17 crashes the smbd process serving that
 * connection (the connection dies; TESTBED.md); Samba 4.22 answers
 * STATUS_OBJECT_NAME_NOT_FOUND. The test says which it expects from
 * SMBW_TEST_SAMBA_VERSION and fails on anything else. */
START_TEST(test_copychunk_key_of_other_connection)
{
    cx x, y;
    setup(&x);
    /* y: a second connection with its own destination and no key request. */
    connect_cx(&y);
    IT_OK(y.c, smbw_file_open(&y.dst, y.t, "conf-dst2.bin",
                              SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_TRUNC));
    uint64_t ch[1][3] = {{0, 0, 4096}};
    unsigned char in[32 + 24];
    size_t n = build(in, x.key, ch, 1);
    void *out = NULL;
    size_t len = 0;
    int rc = smbw_file_ioctl(y.dst, SMBW_FSCTL_SRV_COPYCHUNK_WRITE, in, n, 12, &out, &len);
    free(out);
    const char *ver = getenv("SMBW_TEST_SAMBA_VERSION");
    ck_assert_msg(ver != NULL && *ver, "SMBW_TEST_SAMBA_VERSION is not set (testbed/samba.sh)");
    if (strncmp(ver, "4.17.", 5) == 0) {
        /* Samba 4.17's known crash. */
        ck_assert_int_lt(rc, 0);
        ck_assert_msg(smbw_conn_is_dead(y.c), "Samba %s: connection survived (%s)", ver,
                      smbw_error_name(rc));
    } else {
        ck_assert_msg(rc < 0 && smbw_last_status(y.c) == SMBW_STATUS_OBJECT_NAME_NOT_FOUND,
                      "Samba %s: rc %s status 0x%08x", ver, smbw_error_name(rc),
                      (unsigned)smbw_last_status(y.c));
        ck_assert(!smbw_conn_is_dead(y.c));
    }
    /* The connection that owns the key is untouched either way. */
    ck_assert(!smbw_conn_is_dead(x.c));
    smbw_file_free(y.dst);
    smbw_unlink(x.t, "conf-dst2.bin");
    disconnect_cx(&y);
    teardown(&x);
}
END_TEST

/* A source range past the end of the source: Samba answers
 * STATUS_INVALID_VIEW_SIZE (the copy of what exists may be reported). */
START_TEST(test_copychunk_past_eof)
{
    cx x;
    setup(&x);
    uint64_t ch[1][3] = {{(1u << 20) - 100, 0, 4096}};
    unsigned char in[32 + 24];
    size_t n = build(in, x.key, ch, 1);
    void *out = NULL;
    size_t len = 0;
    int rc = smbw_file_ioctl(x.dst, SMBW_FSCTL_SRV_COPYCHUNK_WRITE, in, n, 12, &out, &len);
    free(out);
    ck_assert_int_lt(rc, 0);
    ck_assert_uint_eq(smbw_last_status(x.c), SMBW_STATUS_INVALID_VIEW_SIZE);
    teardown(&x);
}
END_TEST

/* Overlapping ranges inside one file (source = destination open). */
START_TEST(test_copychunk_same_file_overlap)
{
    cx x;
    setup(&x);
    smbw_file *rw = NULL;
    IT_OK(x.c, smbw_file_open(&rw, x.t, "conf-src.bin", SMBW_O_RDWR));
    void *out = NULL;
    size_t len = 0;
    IT_OK(x.c, smbw_file_ioctl(rw, SMBW_FSCTL_SRV_REQUEST_RESUME_KEY, NULL, 0, 32, &out, &len));
    unsigned char key[24];
    memcpy(key, out, 24);
    free(out);
    uint64_t ch[1][3] = {{0, 4096, 65536}};
    unsigned char in[32 + 24];
    size_t n = build(in, key, ch, 1);
    IT_OK(x.c, smbw_file_ioctl(rw, SMBW_FSCTL_SRV_COPYCHUNK_WRITE, in, n, 12, &out, &len));
    free(out);
    unsigned char buf[65536];
    size_t got = 0;
    IT_OK(x.c, smbw_file_pread(rw, buf, sizeof buf, 4096, &got));
    ck_assert_uint_eq(got, sizeof buf);
    /* memmove semantics: the destination holds the original source bytes */
    for (size_t i = 0; i < sizeof buf; i++)
        ck_assert_uint_eq(buf[i], (unsigned char)(i * 31 + 7));
    IT_OK(x.c, smbw_file_free(rw));
    teardown(&x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conformance-copychunk");
    TCase *tc = tcase_create("ms-smb2-3.3.5.15.6");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_resume_key_shape);
    tcase_add_test(tc, test_resume_key_small_buffer);
    tcase_add_test(tc, test_copychunk_success_fields);
    tcase_add_test(tc, test_copychunk_limits_answer);
    tcase_add_test(tc, test_copychunk_unknown_key);
    tcase_add_test(tc, test_copychunk_past_eof);
    tcase_add_test(tc, test_copychunk_key_of_other_connection);
    tcase_add_test(tc, test_copychunk_same_file_overlap);
    suite_add_tcase(s, tc);
    return it_run(s);
}
