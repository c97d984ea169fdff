/* Integration tests against impacket's smbserver (SMB 2.0.2 only, 64 KiB
 * maximum I/O, no server-side copy): login, a round trip larger than one
 * READ/WRITE, a listing, a wrong password. */
#include "harness.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(test_login_dialect)
{
    it_ctx ctx;
    it_open(&ctx);
    ck_assert_msg(smbw_conn_dialect(ctx.conn) == SMBW_SMB2_02, "negotiated %s with impacket",
                  smbw_dialect_name(smbw_conn_dialect(ctx.conn)));
    ck_assert_uint_ge(smbw_conn_max_read(ctx.conn), 65536);
    it_close(&ctx);
}
END_TEST

START_TEST(test_wrong_password)
{
    smbw_conn *c = it_connect();
    smbw_session *s = NULL;
    IT_ERR(c, it_login_as(c, it_env("SMBW_TEST_USER"), "wrong-password", &s), SMBW_EAUTH);
    ck_assert_ptr_null(s);
    smbw_conn_free(c);
}
END_TEST

START_TEST(test_roundtrip)
{
    it_ctx ctx;
    it_open(&ctx);
    const size_t len = 1024 * 1024 + 12345; /* many 64 KiB requests */
    unsigned char *data = malloc(len), *back = malloc(len);
    ck_assert(data && back);
    it_random(data, len);
    smbw_file *f = NULL;
    IT_OK(ctx.conn,
          smbw_file_open(&f, ctx.tree, "rt.bin", SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_EXCL));
    IT_OK(ctx.conn, smbw_file_pwrite(f, data, len, 0));
    IT_OK(ctx.conn, smbw_file_free(f));

    size_t n = 0;
    void *disk = it_server_read("rt.bin", &n);
    ck_assert_uint_eq(n, len);
    ck_assert(memcmp(disk, data, len) == 0);
    free(disk);

    IT_OK(ctx.conn, smbw_file_open(&f, ctx.tree, "rt.bin", SMBW_O_RDONLY));
    smbw_stat st;
    IT_OK(ctx.conn, smbw_file_stat(f, &st));
    ck_assert_uint_eq(st.size, len);
    IT_OK(ctx.conn, smbw_file_pread(f, back, len, 0, &n));
    ck_assert_uint_eq(n, len);
    ck_assert(memcmp(data, back, len) == 0);
    IT_OK(ctx.conn, smbw_file_free(f));
    free(data);
    free(back);
    it_close(&ctx);
}
END_TEST

#define LIST_ENTRIES 300

START_TEST(test_listing)
{
    char *base = it_server_path("listing");
    ck_assert_int_eq(mkdir(base, 0755), 0);
    char name[64], path[4096];
    for (int i = 0; i < LIST_ENTRIES; i++) {
        snprintf(path, sizeof path, "%s/file-%04d.txt", base, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "x", 1), 1);
        close(fd);
    }
    free(base);

    it_ctx ctx;
    it_open(&ctx);
    smbw_file *f = NULL;
    IT_OK(ctx.conn, smbw_file_open(&f, ctx.tree, "listing/made-by-api.txt",
                                   SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_EXCL));
    IT_OK(ctx.conn, smbw_file_free(f));

    static bool seen[LIST_ENTRIES];
    memset(seen, 0, sizeof seen);
    bool seen_api = false;
    int count = 0, rc;
    smbw_dir *d = NULL;
    IT_OK(ctx.conn, smbw_dir_open(&d, ctx.tree, "listing"));
    smbw_dirent e;
    while ((rc = smbw_dir_next(d, &e)) == 0) {
        count++;
        if (!strcmp(e.name, "made-by-api.txt")) {
            ck_assert(!seen_api);
            seen_api = true;
            continue;
        }
        int idx = -1;
        ck_assert_msg(sscanf(e.name, "file-%4d.txt", &idx) == 1 && idx >= 0 && idx < LIST_ENTRIES,
                      "unexpected name %s", e.name);
        snprintf(name, sizeof name, "file-%04d.txt", idx);
        ck_assert_str_eq(e.name, name);
        ck_assert_msg(!seen[idx], "%s listed twice", e.name);
        seen[idx] = true;
        ck_assert_uint_eq(e.st.size, 1);
    }
    ck_assert_msg(rc == SMBW_ENOMORE, "smbw_dir_next -> %s [%s] %s", smbw_error_name(rc),
                  smbw_status_name(smbw_last_status(ctx.conn)), smbw_conn_errmsg(ctx.conn));
    smbw_dir_free(d);
    ck_assert_int_eq(count, LIST_ENTRIES + 1);
    ck_assert(seen_api);
    it_close(&ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("impacket");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"login_dialect", test_login_dialect},
        {"wrong_password", test_wrong_password},
        {"roundtrip", test_roundtrip},
        {"listing", test_listing},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, 90);
        tcase_add_test(tc, cases[i].fn);
        suite_add_tcase(s, tc);
    }
    return it_run(s);
}
