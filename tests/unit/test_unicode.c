/* UTF-8 <-> UTF-16LE conversion. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "smbwire/errors.h"
#include "lib/util/unicode.h"

static int enc(const char *s, size_t n, smbw_buf *b)
{
    buf_reset(b);
    return utf8_to_utf16le(s, n, b);
}

#define ENC_OK(str, hexbytes)                                                                      \
    do {                                                                                           \
        smbw_buf b_;                                                                               \
        buf_init(&b_);                                                                             \
        ck_assert_int_eq(enc(str, sizeof(str) - 1, &b_), 0);                                       \
        ck_assert_uint_eq(b_.len, sizeof(hexbytes) - 1);                                           \
        ck_assert_mem_eq(b_.p, hexbytes, sizeof(hexbytes) - 1);                                    \
        buf_free(&b_);                                                                             \
    } while (0)

START_TEST(ascii_and_empty)
{
    smbw_buf e;
    buf_init(&e);
    ck_assert_int_eq(utf8_to_utf16le("", 0, &e), 0);
    ck_assert_uint_eq(e.len, 0);
    ck_assert_int_eq(utf8_to_utf16le(NULL, 0, &e), 0);
    ck_assert_int_eq(utf8_to_utf16le(NULL, 1, &e), SMBW_EINVAL);
    buf_free(&e);
    ENC_OK("Ab~", "A\0b\0~\0");
    char *s = (char *)1;
    ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"", 0, &s), 0);
    ck_assert_str_eq(s, "");
    free(s);
    ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"H\0i\0", 4, &s), 0);
    ck_assert_str_eq(s, "Hi");
    free(s);
}
END_TEST

START_TEST(bmp)
{
    ENC_OK("\xc3\xa9", "\xe9\x00");                     /* U+00E9 */
    ENC_OK("\xe2\x82\xac", "\xac\x20");                 /* U+20AC */
    ENC_OK("\xef\xbf\xbd", "\xfd\xff");                 /* U+FFFD */
    ENC_OK("\xd0\x96\xe4\xb8\xad", "\x16\x04\x2d\x4e"); /* U+0416 U+4E2D */
    char *s;
    ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"\xac\x20\xe9\x00\x7f\x00", 6, &s), 0);
    ck_assert_str_eq(s, "\xe2\x82\xac\xc3\xa9\x7f");
    free(s);
}
END_TEST

START_TEST(non_bmp)
{
    /* U+1F600 = D83D DE00; U+10000 = D800 DC00; U+10FFFF = DBFF DFFF */
    ENC_OK("\xf0\x9f\x98\x80", "\x3d\xd8\x00\xde");
    ENC_OK("\xf0\x90\x80\x80", "\x00\xd8\x00\xdc");
    ENC_OK("\xf4\x8f\xbf\xbf", "\xff\xdb\xff\xdf");
    char *s;
    ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"\x3d\xd8\x00\xde"
                                                      "a\0",
                                     6, &s),
                     0);
    ck_assert_str_eq(s, "\xf0\x9f\x98\x80"
                        "a");
    free(s);
    ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"\xff\xdb\xff\xdf", 4, &s), 0);
    ck_assert_str_eq(s, "\xf4\x8f\xbf\xbf");
    free(s);
}
END_TEST

START_TEST(invalid_utf8)
{
    static const char *bad[] = {
        "\xc0\xaf",             /* overlong '/' */
        "\xc1\xbf",             /* overlong */
        "\xe0\x80\xaf",         /* overlong 3-byte */
        "\xe0\x9f\xbf",         /* overlong 3-byte (U+07FF) */
        "\xf0\x8f\xbf\xbf",     /* overlong 4-byte (U+FFFF) */
        "\x80",                 /* lone continuation */
        "a\xbf!",               /* continuation in the middle */
        "\xed\xa0\x80",         /* U+D800 */
        "\xed\xbf\xbf",         /* U+DFFF */
        "\xf4\x90\x80\x80",     /* U+110000 */
        "\xf5\x80\x80\x80",     /* lead byte beyond range */
        "\xff",                 /* never valid */
        "\xc3",                 /* truncated 2-byte */
        "\xe2\x82",             /* truncated 3-byte */
        "\xf0\x9f\x98",         /* truncated 4-byte */
        "\xe2\x28\xa1",         /* bad continuation */
        "\xf8\x88\x80\x80\x80", /* 5-byte form */
    };
    smbw_buf b;
    buf_init(&b);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf_reset(&b);
        buf_put(&b, "XY", 2);
        ck_assert_msg(utf8_to_utf16le(bad[i], strlen(bad[i]), &b) == SMBW_EINVAL, "case %zu", i);
        /* Nothing appended on failure. */
        ck_assert_uint_eq(b.len, 2);
        buf_reset(&b);
        ck_assert_int_eq(utf8_to_utf16le_upper(bad[i], strlen(bad[i]), &b), SMBW_EINVAL);
    }
    /* Embedded NUL is rejected. */
    buf_reset(&b);
    ck_assert_int_eq(utf8_to_utf16le("a\0b", 3, &b), SMBW_EINVAL);
    /* A length cut inside a valid sequence is a truncation. */
    buf_reset(&b);
    ck_assert_int_eq(utf8_to_utf16le("\xe2\x82\xac", 2, &b), SMBW_EINVAL);
    buf_free(&b);
}
END_TEST

START_TEST(invalid_utf16)
{
    char *s = (char *)1;
    /* lone high surrogate at the end */
    ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"a\0\x3d\xd8", 4, &s), SMBW_EPROTO);
    ck_assert_ptr_null(s);
    /* high surrogate followed by a non-surrogate */
    ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"\x3d\xd8"
                                                      "a\0",
                                     4, &s),
                     SMBW_EPROTO);
    /* two high surrogates */
    ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"\x3d\xd8\x3d\xd8", 4, &s), SMBW_EPROTO);
    /* lone low surrogate */
    ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"\x00\xde", 2, &s), SMBW_EPROTO);
    /* reversed pair */
    ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"\x00\xde\x3d\xd8", 4, &s), SMBW_EPROTO);
    /* odd length */
    ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"a\0b", 3, &s), SMBW_EPROTO);
    /* embedded NUL */
    ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"a\0\0\0b\0", 6, &s), SMBW_EPROTO);
    ck_assert_ptr_null(s);
}
END_TEST

/* The lossy form (directory entries): each invalid unit becomes U+FFFD,
 * said by *lossy; a valid name is as the strict form gives it. */
START_TEST(lossy_utf16)
{
    static const struct {
        const char *in;
        size_t len;
        const char *out;
        bool lossy;
    } cases[] = {
        {"a\0\x3d\xd8", 4, "a\xef\xbf\xbd", true}, /* lone high at the end */
        {"\x3d\xd8"
         "a\0",
         4,
         "\xef\xbf\xbd"
         "a",
         true}, /* high, then 'a' kept */
        {"\x3d\xd8\x3d\xd8\x00\xde", 6, "\xef\xbf\xbd\xf0\x9f\x98\x80", true}, /* high, pair */
        {"\x00\xde", 2, "\xef\xbf\xbd", true},                                 /* lone low */
        {"\x00\xde\x3d\xd8", 4, "\xef\xbf\xbd\xef\xbf\xbd", true},             /* reversed pair */
        {"a\0\0\0b\0", 6,
         "a\xef\xbf\xbd"
         "b",
         true},                                                 /* embedded NUL */
        {"a\0\x3d\xd8\x00\xde", 6, "a\xf0\x9f\x98\x80", false}, /* valid */
        {"", 0, "", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = NULL;
        bool lossy = !cases[i].lossy;
        ck_assert_int_eq(
            utf16le_to_utf8_lossy((const uint8_t *)cases[i].in, cases[i].len, &s, &lossy), 0);
        ck_assert_msg(s != NULL && strcmp(s, cases[i].out) == 0, "case %zu: %s", i, s);
        ck_assert_msg(lossy == cases[i].lossy, "case %zu: lossy %d", i, lossy);
        free(s);
    }
    char *s = (char *)1;
    bool lossy;
    /* odd length: malformed, not lossy */
    ck_assert_int_eq(utf16le_to_utf8_lossy((const uint8_t *)"a\0b", 3, &s, &lossy), SMBW_EPROTO);
    ck_assert_ptr_null(s);
}
END_TEST

START_TEST(round_trip)
{
    const char *samples[] = {"plain", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac",
                             "x\xf0\x9f\x98\x80y\xf4\x8f\xbf\xbf", "\xef\xbf\xbf"};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        smbw_buf b;
        char *s;
        buf_init(&b);
        ck_assert_int_eq(utf8_to_utf16le(samples[i], strlen(samples[i]), &b), 0);
        ck_assert_int_eq(utf16le_to_utf8(b.p, b.len, &s), 0);
        ck_assert_str_eq(s, samples[i]);
        free(s);
        buf_free(&b);
    }
}
END_TEST

START_TEST(upper)
{
    smbw_buf b, want;
    buf_init(&b);
    buf_init(&want);
    /* ASCII, Latin-1 (e-acute, y-diaeresis -> U+0178), division sign kept,
     * sharp s kept, Latin Extended-A, Greek (final sigma), Cyrillic, and a
     * non-BMP character passing through. */
    const char *in = "user-\xc3\xa9\xc3\xbf\xc3\xb7\xc3\x9f\xc4\x81\xc5\x82\xcf\x82\xce\xb1\xd0\xb6"
                     "\xd1\x91\xf0\x9f\x98\x80";
    const char *out =
        "USER-\xc3\x89\xc5\xb8\xc3\xb7\xc3\x9f\xc4\x80\xc5\x81\xce\xa3\xce\x91\xd0\x96"
        "\xd0\x81\xf0\x9f\x98\x80";
    ck_assert_int_eq(utf8_to_utf16le_upper(in, strlen(in), &b), 0);
    ck_assert_int_eq(utf8_to_utf16le(out, strlen(out), &want), 0);
    ck_assert_uint_eq(b.len, want.len);
    ck_assert_mem_eq(b.p, want.p, b.len);
    /* Already upper-case text is unchanged. */
    buf_reset(&b);
    ck_assert_int_eq(utf8_to_utf16le_upper(out, strlen(out), &b), 0);
    ck_assert_mem_eq(b.p, want.p, b.len);
    buf_free(&b);
    buf_free(&want);
}
END_TEST

START_TEST(appends)
{
    smbw_buf b;
    buf_init(&b);
    ck_assert_int_eq(utf8_to_utf16le("a", 1, &b), 0);
    ck_assert_int_eq(utf8_to_utf16le("b", 1, &b), 0);
    ck_assert_uint_eq(b.len, 4);
    ck_assert_mem_eq(b.p, "a\0b\0", 4);
    buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("unicode");
    TCase *tc = tcase_create("unicode");
    tcase_add_test(tc, ascii_and_empty);
    tcase_add_test(tc, bmp);
    tcase_add_test(tc, non_bmp);
    tcase_add_test(tc, invalid_utf8);
    tcase_add_test(tc, invalid_utf16);
    tcase_add_test(tc, lossy_utf16);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, upper);
    tcase_add_test(tc, appends);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
