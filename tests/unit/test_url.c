/* Unit tests for smb:// URL parsing (lib/util/url.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "smbwire/url.h"

static smbw_url *parse_ok(const char *s)
{
    smbw_url *u = (smbw_url *)0x1;
    int rc = smbw_url_parse(&u, s);
    ck_assert_msg(rc == 0, "parse failed for %s: %d", s, rc);
    ck_assert_ptr_nonnull(u);
    return u;
}

static void parse_bad(const char *s)
{
    smbw_url *u = (smbw_url *)0x1;
    int rc = smbw_url_parse(&u, s);
    ck_assert_msg(rc == SMBW_EINVAL, "expected EINVAL for %s, got %d", s, rc);
    ck_assert_ptr_null(u);
}

START_TEST(test_minimal)
{
    smbw_url *u = parse_ok("smb://host/share");
    ck_assert_str_eq(u->host, "host");
    ck_assert_str_eq(u->share, "share");
    ck_assert_str_eq(u->path, "");
    ck_assert_uint_eq(u->port, 445);
    ck_assert_ptr_null(u->user);
    ck_assert_ptr_null(u->domain);
    ck_assert_ptr_null(u->password);
    smbw_url_free(u);

    u = parse_ok("SMB://host/share/");
    ck_assert_str_eq(u->share, "share");
    ck_assert_str_eq(u->path, "");
    smbw_url_free(u);
}
END_TEST

START_TEST(test_full)
{
    smbw_url *u = parse_ok("smb://WORK;alice:s%40cr%3At@files.example:4455/data/a/b/c.txt");
    ck_assert_str_eq(u->domain, "WORK");
    ck_assert_str_eq(u->user, "alice");
    ck_assert_str_eq(u->password, "s@cr:t");
    ck_assert_str_eq(u->host, "files.example");
    ck_assert_uint_eq(u->port, 4455);
    ck_assert_str_eq(u->share, "data");
    ck_assert_str_eq(u->path, "a/b/c.txt");
    smbw_url_free(u);
}
END_TEST

START_TEST(test_user_forms)
{
    smbw_url *u = parse_ok("smb://bob@h/s/x");
    ck_assert_str_eq(u->user, "bob");
    ck_assert_ptr_null(u->password);
    smbw_url_free(u);

    u = parse_ok("smb://bob:@h/s/x");
    ck_assert_str_eq(u->user, "bob");
    ck_assert_str_eq(u->password, "");
    smbw_url_free(u);

    /* unencoded '@' in the password: the last '@' ends the userinfo */
    u = parse_ok("smb://bob:p@ss@h/s");
    ck_assert_str_eq(u->password, "p@ss");
    ck_assert_str_eq(u->host, "h");
    smbw_url_free(u);

    u = parse_ok("smb://D%20X;b%C3%A9b@h/s");
    ck_assert_str_eq(u->domain, "D X");
    ck_assert_str_eq(u->user, "b\xc3\xa9"
                              "b");
    smbw_url_free(u);
}
END_TEST

START_TEST(test_ipv6)
{
    smbw_url *u = parse_ok("smb://[::1]:4455/share/x");
    ck_assert_str_eq(u->host, "::1");
    ck_assert_uint_eq(u->port, 4455);
    ck_assert_str_eq(u->share, "share");
    ck_assert_str_eq(u->path, "x");
    smbw_url_free(u);

    u = parse_ok("smb://u@[fe80::1%25eth0]/s");
    ck_assert_str_eq(u->host, "fe80::1%eth0");
    ck_assert_uint_eq(u->port, 445);
    smbw_url_free(u);

    u = parse_ok("smb://127.0.0.1:1/s");
    ck_assert_str_eq(u->host, "127.0.0.1");
    ck_assert_uint_eq(u->port, 1);
    smbw_url_free(u);

    parse_bad("smb://[::1/s");
    parse_bad("smb://[::1]x/s");
    parse_bad("smb://[::1]:/s");
    parse_bad("smb://[]/s");
    parse_bad("smb://[host]/s");
    parse_bad("smb://[::g1]/s");
    parse_bad("smb://::1/s");
}
END_TEST

START_TEST(test_path_normalise)
{
    smbw_url *u = parse_ok("smb://h/s//a/./b\\c%5Cd/");
    ck_assert_str_eq(u->share, "s");
    ck_assert_str_eq(u->path, "a/b/c/d");
    smbw_url_free(u);

    u = parse_ok("smb://h/s/na%20me%23%3F/f#1?x");
    ck_assert_str_eq(u->path, "na me#?/f#1?x");
    smbw_url_free(u);

    u = parse_ok("smb://h/s/%E6%97%A5%E6%9C%AC.txt");
    ck_assert_str_eq(u->path, "\xe6\x97\xa5\xe6\x9c\xac.txt");
    smbw_url_free(u);

    u = parse_ok("smb://h/s/..a/b..");
    ck_assert_str_eq(u->path, "..a/b..");
    smbw_url_free(u);
}
END_TEST

START_TEST(test_reject)
{
    parse_bad("");
    parse_bad("smb:/h/s");
    parse_bad("http://h/s");
    parse_bad("smb://");
    parse_bad("smb:///s");
    parse_bad("smb://h");
    parse_bad("smb://h/");
    parse_bad("smb://h//");
    parse_bad("smb://u@/s");
    parse_bad("smb://h:0/s");
    parse_bad("smb://h:65536/s");
    parse_bad("smb://h:99999999999999999999/s");
    parse_bad("smb://h:-1/s");
    parse_bad("smb://h:44a/s");
    parse_bad("smb://h:/s");
    parse_bad("smb://h/s/%zz");
    parse_bad("smb://h/s/%4");
    parse_bad("smb://h/s/%");
    parse_bad("smb://h/s/a%00b");
    parse_bad("smb://u%00@h/s");
    parse_bad("smb://h/s/../x");
    parse_bad("smb://h/s/a/..");
    parse_bad("smb://h/s/a/%2E%2E/b");
    parse_bad("smb://h/s/a%2F..%2Fb");
    parse_bad("smb://h/s/a%5C..%5Cb");
    parse_bad("smb://h/../x");
    parse_bad("smb://h/s/a\tb");
    parse_bad("smb://h/s/\xff");
    parse_bad("smb://h/s/%C0%AF");
    parse_bad("smb://h/s/%ED%A0%80");
    parse_bad("smb://h%2F/s");
    parse_bad("smb://h%40x/s");
    parse_bad("smb://h;x/s");
}
END_TEST

START_TEST(test_is_url)
{
    ck_assert(smbw_is_url("smb://x"));
    ck_assert(smbw_is_url("SmB://x"));
    ck_assert(!smbw_is_url("/tmp/smb://x"));
    ck_assert(!smbw_is_url("smb:/x"));
    ck_assert(!smbw_is_url(NULL));
    smbw_url_free(NULL);
    ck_assert_int_eq(smbw_url_parse(NULL, "smb://h/s"), SMBW_EINVAL);
    smbw_url *u = (smbw_url *)0x1;
    ck_assert_int_eq(smbw_url_parse(&u, NULL), SMBW_EINVAL);
    ck_assert_ptr_null(u);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("url");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_minimal);
    tcase_add_test(tc, test_full);
    tcase_add_test(tc, test_user_forms);
    tcase_add_test(tc, test_ipv6);
    tcase_add_test(tc, test_path_normalise);
    tcase_add_test(tc, test_reject);
    tcase_add_test(tc, test_is_url);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
