/* The byte cursor and writer: bounds, overflow, sticky failure. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/bytes.h"
#include "lib/util/sized.h"
#include "tests/common/rawbytes.h"

START_TEST(test_cursor_reads)
{
    const uint8_t d[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    smbw_cur c = cur_make(d, sizeof d);
    uint8_t a;
    uint16_t b;
    uint32_t w;
    uint64_t q;
    ck_assert(cur_u8(&c, &a));
    ck_assert_uint_eq(a, 1);
    ck_assert(cur_u16(&c, &b));
    ck_assert_uint_eq(b, 0x0302);
    ck_assert(cur_u32(&c, &w));
    ck_assert_uint_eq(w, 0x07060504);
    ck_assert(cur_u64(&c, &q));
    ck_assert(q == 0x0f0e0d0c0b0a0908ULL);
    ck_assert_uint_eq(c.len, 0);
    ck_assert(!cur_u8(&c, &a));
    ck_assert_uint_eq(a, 1); /* untouched on failure */
}
END_TEST

START_TEST(test_cursor_short)
{
    const uint8_t d[] = {0xaa, 0xbb, 0xcc};
    smbw_cur c = cur_make(d, sizeof d);
    uint32_t w = 77;
    ck_assert(!cur_u32(&c, &w));
    ck_assert_uint_eq(w, 77);
    ck_assert_uint_eq(c.len, 3); /* no progress on failure */
    uint16_t be;
    ck_assert(cur_u16be(&c, &be));
    ck_assert_uint_eq(be, 0xaabb);
    smbw_cur sub;
    ck_assert(!cur_sub(&c, 2, &sub));
    ck_assert(cur_sub(&c, 1, &sub));
    ck_assert_uint_eq(sub.len, 1);
    ck_assert_uint_eq(sub.p[0], 0xcc);
    ck_assert(!cur_skip(&c, 1));
}
END_TEST

START_TEST(test_cursor_slice)
{
    uint8_t d[16] = {0};
    smbw_cur base = cur_make(d, sizeof d), s;
    ck_assert(cur_slice(&base, 0, 16, &s));
    ck_assert(cur_slice(&base, 16, 0, &s));
    ck_assert(!cur_slice(&base, 17, 0, &s));
    ck_assert(!cur_slice(&base, 8, 9, &s));
    ck_assert(!cur_slice(&base, UINT64_MAX, 2, &s));
    ck_assert(!cur_slice(&base, 2, UINT64_MAX, &s));
    ck_assert(cur_slice(&base, 4, 4, &s));
    ck_assert(s.p == d + 4 && s.len == 4);
}
END_TEST

START_TEST(test_writer)
{
    smbw_buf b;
    buf_init(&b);
    buf_u8(&b, 1);
    buf_u16(&b, 0x0302);
    buf_u32(&b, 0x07060504);
    buf_u64(&b, 0x0f0e0d0c0b0a0908ULL);
    buf_u32be(&b, 0x10111213);
    ck_assert(!b.failed);
    ck_assert_uint_eq(b.len, 19);
    for (int i = 0; i < 15; i++)
        ck_assert_uint_eq(b.p[i], (unsigned)(i + 1));
    ck_assert_uint_eq(b.p[15], 0x10);
    buf_align(&b, 8);
    ck_assert_uint_eq(b.len, 24);
    buf_set_u16(&b, 0, 0xbeef);
    ck_assert_uint_eq(get_u16(b.p), 0xbeef);
    ck_assert(!b.failed);
    buf_set_u32(&b, 22, 1); /* would run past the end */
    ck_assert(b.failed);
    /* sticky: later writes do nothing */
    size_t len = b.len;
    buf_u32(&b, 5);
    ck_assert_uint_eq(b.len, len);
    ck_assert(buf_grow(&b, 1) == NULL);
    buf_free(&b);
}
END_TEST

START_TEST(test_writer_overflow)
{
    smbw_buf b;
    buf_init(&b);
    buf_u8(&b, 1);
    ck_assert(!buf_reserve(&b, SIZE_MAX));
    ck_assert(b.failed);
    buf_free(&b);
    buf_init(&b);
    ck_assert(!b.failed);
    uint8_t *p = buf_grow(&b, 1000);
    ck_assert(p != NULL);
    memset(p, 7, 1000);
    ck_assert_uint_eq(b.len, 1000);
    buf_free_secret(&b);
    ck_assert(b.p == NULL && b.len == 0);
}
END_TEST

/* The SMBW_*_INIT convention: a struct that begins with its size, read by a
 * library whose struct is older or newer than the caller's. */
typedef struct v1_opts {
    size_t size;
    int a, b;
} v1_opts;
typedef struct v2_opts {
    size_t size;
    int a, b;
    long c; /* added in version 2 */
} v2_opts;
typedef struct v3_opts {
    size_t size;
    int a, b;
    long c;
    long d; /* added in version 3 */
} v3_opts;

START_TEST(test_sized_load)
{
    v2_opts lib;
    /* An older caller: its fields, and zero for the rest. */
    v1_opts old = {sizeof(v1_opts), 7, 8};
    memset(&lib, 0xAA, sizeof lib);
    ck_assert_int_eq(sized_load(&lib, sizeof lib, &old, SIZED_END(v2_opts, b)), 0);
    ck_assert_uint_eq(lib.size, sizeof lib);
    ck_assert_int_eq(lib.a, 7);
    ck_assert_int_eq(lib.b, 8);
    ck_assert_int_eq(lib.c, 0);
    /* Not started from the _INIT macro. */
    v2_opts zero;
    memset(&zero, 0, sizeof zero);
    ck_assert_int_eq(sized_load(&lib, sizeof lib, &zero, SIZED_END(v2_opts, b)), SMBW_EINVAL);
    /* A newer caller: fields unknown here must be zero. */
    v3_opts newer;
    memset(&newer, 0, sizeof newer);
    newer.size = sizeof newer;
    newer.a = 1;
    newer.c = 3;
    ck_assert_int_eq(sized_load(&lib, sizeof lib, &newer, SIZED_END(v2_opts, b)), 0);
    ck_assert_int_eq(lib.a, 1);
    ck_assert_int_eq(lib.c, 3);
    ck_assert_uint_eq(lib.size, sizeof lib);
    newer.d = 4;
    ck_assert_int_eq(sized_load(&lib, sizeof lib, &newer, SIZED_END(v2_opts, b)), SMBW_ENOTSUP);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bytes");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_cursor_reads);
    tcase_add_test(tc, test_cursor_short);
    tcase_add_test(tc, test_cursor_slice);
    tcase_add_test(tc, test_writer);
    tcase_add_test(tc, test_writer_overflow);
    tcase_add_test(tc, test_sized_load);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
