/* A server-side copy spread over several connections (smbw_copy_range_multi)
 * against a real Samba: each lane has its own session, opens and resume key;
 * the result is identical and almost nothing crosses the wire. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smbwire/copy.h>

#include "harness.h"

#define LANES 3

static void run_lanes(int nlanes, size_t size, const char *dst_name)
{
    it_ctx ctx[LANES];
    smbw_copy_lane lanes[LANES];
    for (int i = 0; i < nlanes; i++) {
        it_open(&ctx[i]);
        IT_OK(ctx[i].conn,
              smbw_file_open(&lanes[i].src, ctx[i].tree, "lanes-src.bin", SMBW_O_RDONLY));
        IT_OK(ctx[i].conn,
              smbw_file_open(&lanes[i].dst, ctx[i].tree, dst_name, SMBW_O_WRONLY | SMBW_O_CREAT));
    }
    smbw_copy_opts o = SMBW_COPY_OPTS_INIT;
    o.method = SMBW_COPY_COPYCHUNK;
    smbw_copy_stats st;
    uint64_t before[LANES];
    for (int i = 0; i < nlanes; i++) {
        smbw_conn_stats cs;
        smbw_conn_get_stats(ctx[i].conn, &cs);
        before[i] = cs.requests;
    }
    IT_OK(ctx[0].conn, smbw_copy_range_multi(lanes, nlanes, 0, 0, size, &o, &st));
    /* The work was split: every lane's own connection asked for its resume
     * key and sent at least one copychunk request. */
    for (int i = 0; i < nlanes; i++) {
        smbw_conn_stats cs;
        smbw_conn_get_stats(ctx[i].conn, &cs);
        fprintf(stderr, "lane %d of %d: %llu requests\n", i + 1, nlanes,
                (unsigned long long)(cs.requests - before[i]));
        ck_assert_msg(cs.requests - before[i] >= 2, "lane %d of %d sent %llu requests", i + 1,
                      nlanes, (unsigned long long)(cs.requests - before[i]));
    }
    ck_assert_uint_eq(st.bytes, size);
    ck_assert_int_eq(st.method, SMBW_COPY_COPYCHUNK);
    /* one resume key per lane plus the copychunk requests */
    ck_assert_uint_ge(st.requests, (uint64_t)nlanes + size / (16u << 20));
    ck_assert_uint_lt(st.wire_bytes * 100, size);
    for (int i = 0; i < nlanes; i++) {
        IT_OK(ctx[i].conn, smbw_file_free(lanes[i].src));
        IT_OK(ctx[i].conn, smbw_file_free(lanes[i].dst));
        it_close(&ctx[i]);
    }
}

START_TEST(test_multilane_copy)
{
    size_t size = (80u << 20) + 4097;
    uint8_t *data = malloc(size);
    it_random(data, size);
    it_server_write("lanes-src.bin", data, size);
    for (int n = 1; n <= LANES; n++) {
        char name[32];
        snprintf(name, sizeof name, "lanes-dst-%d.bin", n);
        run_lanes(n, size, name);
        size_t got = 0;
        void *back = it_server_read(name, &got);
        ck_assert_uint_eq(got, size);
        ck_assert(memcmp(back, data, size) == 0);
        free(back);
    }
    free(data);
}
END_TEST

START_TEST(test_multilane_rejects_mixed_connections)
{
    it_ctx a, b;
    it_open(&a);
    it_open(&b);
    smbw_file *fa = NULL, *fb = NULL;
    IT_OK(a.conn, smbw_write_file(a.tree, "mixed.bin", "xyz", 3));
    IT_OK(a.conn, smbw_file_open(&fa, a.tree, "mixed.bin", SMBW_O_RDONLY));
    IT_OK(b.conn, smbw_file_open(&fb, b.tree, "mixed-dst.bin", SMBW_O_WRONLY | SMBW_O_CREAT));
    smbw_copy_lane l = {fa, fb};
    ck_assert_int_eq(smbw_copy_range_multi(&l, 1, 0, 0, 3, NULL, NULL), SMBW_EINVAL);
    ck_assert_int_eq(smbw_copy_range_multi(&l, 0, 0, 0, 3, NULL, NULL), SMBW_EINVAL);
    IT_OK(a.conn, smbw_file_free(fa));
    IT_OK(b.conn, smbw_file_free(fb));
    it_close(&a);
    it_close(&b);
}
END_TEST

/* smbw_copy_lanes_open: the library opens the further lanes itself (new
 * connections with the first one's settings, logged in with the same
 * credentials, the same paths opened again); the copy over them is
 * identical and each lane carried part of it; a wrong password opens
 * nothing and says which lane; bad arguments are refused. */
static void count_negotiated(void *ud, enum smbw_log_level level, const char *msg)
{
    (void)level;
    if (strncmp(msg, "negotiated ", 11) == 0)
        (*(int *)ud)++;
}

START_TEST(test_lanes_opened_by_library)
{
    size_t size = (40u << 20) + 12345;
    uint8_t *data = malloc(size);
    ck_assert_ptr_nonnull(data);
    it_random(data, size);
    it_server_write("lo-src.bin", data, size);
    it_ctx a;
    it_open(&a);
    int negotiated = 0;
    IT_OK(a.conn, smbw_conn_set_log(a.conn, SMBW_LOG_INFO, count_negotiated, &negotiated));
    smbw_file *src = NULL, *dst = NULL;
    IT_OK(a.conn, smbw_file_open(&src, a.tree, "lo-src.bin", SMBW_O_RDONLY));
    IT_OK(a.conn, smbw_file_open(&dst, a.tree, "lo-dst.bin", SMBW_O_WRONLY | SMBW_O_CREAT));
    smbw_creds cr = SMBW_CREDS_INIT;
    cr.user = it_env("SMBW_TEST_USER");
    cr.password = it_env("SMBW_TEST_PASS");
    smbw_copy_lanes *ls = NULL;
    /* arguments */
    ck_assert_int_eq(smbw_copy_lanes_open(&ls, src, dst, 0, &cr, false), SMBW_EINVAL);
    ck_assert_int_eq(smbw_copy_lanes_open(&ls, src, dst, 17, &cr, false), SMBW_EINVAL);
    ck_assert_int_eq(smbw_copy_lanes_open(&ls, src, NULL, 2, &cr, false), SMBW_EINVAL);
    ck_assert_int_eq(smbw_copy_lanes_open(NULL, src, dst, 2, &cr, false), SMBW_EINVAL);
    ck_assert_ptr_null(ls);
    ck_assert_int_eq(smbw_copy_lanes_count(NULL), 0);
    ck_assert_ptr_null(smbw_copy_lanes_get(NULL));
    smbw_copy_lanes_free(NULL);
    /* a wrong password: nothing opened, the lane named */
    smbw_creds bad = cr;
    bad.password = "not-the-password";
    ck_assert_int_eq(smbw_copy_lanes_open(&ls, src, dst, 3, &bad, false), SMBW_EAUTH);
    ck_assert_ptr_null(ls);
    ck_assert_msg(strstr(smbw_conn_errmsg(a.conn), "lane 2 of 3") != NULL, "message: %s",
                  smbw_conn_errmsg(a.conn));
    /* three lanes */
    negotiated = 0;
    IT_OK(a.conn, smbw_copy_lanes_open(&ls, src, dst, 3, &cr, false));
    ck_assert_int_eq(smbw_copy_lanes_count(ls), 3);
    /* two new connections, with the first one's log among its settings */
    ck_assert_int_eq(negotiated, 2);
    const smbw_copy_lane *l = smbw_copy_lanes_get(ls);
    ck_assert_ptr_eq(l[0].src, src);
    ck_assert_ptr_eq(l[0].dst, dst);
    for (int i = 1; i < 3; i++) {
        ck_assert_ptr_nonnull(l[i].src);
        ck_assert_ptr_nonnull(l[i].dst);
        ck_assert_ptr_ne(l[i].src, src);
    }
    smbw_copy_opts o = SMBW_COPY_OPTS_INIT;
    o.method = SMBW_COPY_COPYCHUNK;
    o.chunk_size = 256 * 1024; /* many requests, so that every lane gets some */
    smbw_copy_stats st;
    IT_OK(a.conn, smbw_copy_range_multi(l, 3, 0, 0, size, &o, &st));
    ck_assert_uint_eq(st.bytes, size);
    ck_assert_uint_lt(st.wire_bytes * 100, size);
    /* one resume key per lane: every lane's own connection did its part */
    ck_assert_uint_ge(st.requests, 3u + 3u);
    smbw_copy_lanes_free(ls);
    /* the caller's files and connection go on */
    IT_OK(a.conn, smbw_file_truncate(dst, size));
    IT_OK(a.conn, smbw_file_free(src));
    IT_OK(a.conn, smbw_file_free(dst));
    size_t got = 0;
    void *back = it_server_read("lo-dst.bin", &got);
    ck_assert_uint_eq(got, size);
    ck_assert(memcmp(back, data, size) == 0);
    free(back);
    free(data);
    IT_OK(a.conn, smbw_unlink(a.tree, "lo-src.bin"));
    IT_OK(a.conn, smbw_unlink(a.tree, "lo-dst.bin"));
    it_close(&a);
}
END_TEST

int main(void)
{
    if (!it_env_complete())
        return EXIT_FAILURE;
    Suite *s = suite_create("multilane");
    TCase *tc = tcase_create("multilane");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_multilane_copy);
    tcase_add_test(tc, test_multilane_rejects_mixed_connections);
    tcase_add_test(tc, test_lanes_opened_by_library);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
