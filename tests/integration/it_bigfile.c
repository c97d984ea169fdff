/* A 100 MiB + 12345-byte random file written and read back through the API
 * (one pwrite and one pread, pipelined inside the library), compared byte
 * for byte with what was sent and with the file on the server's disk. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG_SIZE ((size_t)100 * 1024 * 1024 + 12345)

START_TEST(test_big_roundtrip)
{
    unsigned char *data = malloc(BIG_SIZE);
    unsigned char *back = malloc(BIG_SIZE);
    ck_assert(data && back);
    it_random(data, BIG_SIZE);

    it_ctx ctx;
    it_open(&ctx);
    smbw_conn *c = ctx.conn;
    smbw_file *f = NULL;
    IT_OK(c, smbw_file_open(&f, ctx.tree, "big.bin", SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_EXCL));
    double t0 = it_now();
    IT_OK(c, smbw_file_pwrite(f, data, BIG_SIZE, 0));
    double t1 = it_now();
    IT_OK(c, smbw_file_free(f));
    printf("upload: %zu bytes in %.2f s (%.1f MiB/s), dialect %s, signed %d\n", BIG_SIZE, t1 - t0,
           (double)BIG_SIZE / 1048576.0 / (t1 - t0), smbw_dialect_name(smbw_conn_dialect(c)),
           (int)smbw_session_signed(ctx.sess));

    /* The server's copy on disk, compared in pieces. */
    char *sp = it_server_path("big.bin");
    FILE *fp = fopen(sp, "rb");
    ck_assert_msg(fp != NULL, "%s missing on the server", sp);
    size_t off = 0, got;
    while ((got = fread(back, 1, 8 * 1024 * 1024, fp)) > 0) {
        ck_assert_msg(off + got <= BIG_SIZE, "server file is longer than what was written");
        ck_assert_msg(memcmp(back, data + off, got) == 0, "server file differs near offset %zu",
                      off);
        off += got;
    }
    fclose(fp);
    free(sp);
    ck_assert_uint_eq(off, BIG_SIZE);

    /* Read it back whole. */
    memset(back, 0xA5, BIG_SIZE);
    IT_OK(c, smbw_file_open(&f, ctx.tree, "big.bin", SMBW_O_RDONLY));
    smbw_stat st;
    IT_OK(c, smbw_file_stat(f, &st));
    ck_assert_uint_eq(st.size, BIG_SIZE);
    size_t n = 0;
    t0 = it_now();
    IT_OK(c, smbw_file_pread(f, back, BIG_SIZE, 0, &n));
    t1 = it_now();
    printf("download: %zu bytes in %.2f s (%.1f MiB/s)\n", n, t1 - t0,
           (double)n / 1048576.0 / (t1 - t0));
    ck_assert_uint_eq(n, BIG_SIZE);
    ck_assert_msg(memcmp(data, back, BIG_SIZE) == 0, "data read back differs");

    /* A read that runs past the end stops at the end. */
    IT_OK(c, smbw_file_pread(f, back, 100000, BIG_SIZE - 345, &n));
    ck_assert_uint_eq(n, 345);
    ck_assert(memcmp(back, data + BIG_SIZE - 345, 345) == 0);
    IT_OK(c, smbw_file_free(f));
    IT_OK(c, smbw_unlink(ctx.tree, "big.bin"));
    it_close(&ctx);
    free(data);
    free(back);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bigfile");
    TCase *tc = tcase_create("big_roundtrip");
    tcase_set_timeout(tc, 280);
    tcase_add_test(tc, test_big_roundtrip);
    suite_add_tcase(s, tc);
    return it_run(s);
}
