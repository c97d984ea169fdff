/* Downgrade attacks on the unprotected NEGOTIATE exchange, through
 * tests/testbed/tamper_proxy.py --alter-negotiate, against an ordinary Samba:
 *  - 3.1.1: an altered NEGOTIATE response changes the client's pre-auth hash,
 *    so the signature of the final SESSION_SETUP response cannot verify;
 *  - 3.0 / 3.0.2: VALIDATE_NEGOTIATE_INFO after the tree connect shows the
 *    server's real answer and the client must notice the difference;
 *  - a client that offers 3.1.1 but is pushed to 3.0.2 (the request is
 *    rewritten): validation of the offered dialect list must fail.
 *   SMBW_TAMPER_PROXY  path of tamper_proxy.py */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sectest.h"

static void check_dead(smbw_conn *c)
{
    ck_assert_msg(smbw_conn_is_dead(c), "connection still alive after a detected downgrade");
    int rc = smbw_conn_echo(c);
    ck_assert_msg(rc == SMBW_EDEAD, "echo -> %s (wanted SMBW_EDEAD)", smbw_error_name(rc));
}

static char *expect_report(sec_proxy *p, const char *what)
{
    char *report = sec_proxy_report(p);
    ck_assert_msg(strstr(report, what) != NULL, "the proxy did not alter %s (report '%s')", what,
                  report);
    return report;
}

START_TEST(test_guid_altered_311)
{
    const char *args[] = {"--alter-negotiate", "guid", NULL};
    sec_proxy p;
    sec_proxy_start(&p, false, args);
    it_opts o;
    memset(&o, 0, sizeof o);
    o.min_dialect = SMBW_SMB3_11;
    smbw_conn *c = NULL;
    IT_OK(c, it_connect_to(&c, "127.0.0.1", p.port, &o));
    char *report = expect_report(&p, "ServerGuid");
    smbw_session *s = NULL;
    int rc = it_login(c, &s);
    fprintf(stderr, "3.1.1, altered NEGOTIATE response: login -> %s: %s\n", smbw_error_name(rc),
            smbw_conn_errmsg(c));
    ck_assert_msg(rc == SMBW_ECRYPTO, "login -> %s (wanted SMBW_ECRYPTO): %s", smbw_error_name(rc),
                  smbw_conn_errmsg(c));
    ck_assert(s == NULL);
    ck_assert_msg(smbw_conn_errmsg(c)[0] != '\0', "no error message");
    check_dead(c);
    smbw_conn_free(c);
    ck_assert(sec_proxy_wait(&p, 20000));
    free(report);
    sec_proxy_cleanup(&p);
}
END_TEST

static void guid_altered_3x(uint16_t dialect)
{
    const char *args[] = {"--alter-negotiate", "guid", NULL};
    sec_proxy p;
    sec_proxy_start(&p, false, args);
    it_opts o;
    memset(&o, 0, sizeof o);
    o.min_dialect = dialect;
    o.max_dialect = dialect;
    smbw_conn *c = NULL;
    IT_OK(c, it_connect_to(&c, "127.0.0.1", p.port, &o));
    char *report = expect_report(&p, "ServerGuid");
    smbw_session *s = NULL;
    IT_OK(c, it_login(c, &s));
    ck_assert(smbw_session_signed(s));
    int before = it_share_entries();
    smbw_tree *t = NULL;
    int rc = smbw_tree_connect(&t, s, it_env("SMBW_TEST_SHARE"));
    fprintf(stderr, "%s, altered NEGOTIATE response: tree connect -> %s: %s\n",
            smbw_dialect_name(dialect), smbw_error_name(rc), smbw_conn_errmsg(c));
    ck_assert_msg(rc == SMBW_ECRYPTO, "tree connect -> %s (wanted SMBW_ECRYPTO): %s",
                  smbw_error_name(rc), smbw_conn_errmsg(c));
    ck_assert(t == NULL);
    check_dead(c);
    ck_assert_int_eq(it_share_entries(), before);
    smbw_session_free(s);
    smbw_conn_free(c);
    ck_assert(sec_proxy_wait(&p, 20000));
    free(report);
    sec_proxy_cleanup(&p);
}

START_TEST(test_guid_altered_300)
{
    guid_altered_3x(SMBW_SMB3_00);
}
END_TEST

START_TEST(test_guid_altered_302)
{
    guid_altered_3x(SMBW_SMB3_02);
}
END_TEST

/* The client offers 2.0.2 .. 3.1.1, the proxy turns 3.1.1 into 3.0.2 in the
 * request; the server (which speaks 3.1.1) answers 3.0.2. The signed
 * VALIDATE_NEGOTIATE_INFO carries the real offer: the server sees the
 * mismatch (and drops the connection) or the client does. Either way no
 * tree, no file, and a dead connection. */
START_TEST(test_dialect_downgrade)
{
    const char *args[] = {"--alter-negotiate", "downgrade", NULL};
    sec_proxy p;
    sec_proxy_start(&p, false, args);
    smbw_conn *c = NULL;
    IT_OK(c, it_connect_to(&c, "127.0.0.1", p.port, NULL));
    char *report = expect_report(&p, "0x0311->0x0302");
    ck_assert_msg(smbw_conn_dialect(c) == SMBW_SMB3_02, "dialect %s (the proxy should force 3.0.2)",
                  smbw_dialect_name(smbw_conn_dialect(c)));
    smbw_session *s = NULL;
    IT_OK(c, it_login(c, &s));
    int before = it_share_entries();
    smbw_tree *t = NULL;
    int rc = smbw_tree_connect(&t, s, it_env("SMBW_TEST_SHARE"));
    fprintf(stderr, "3.1.1 offer rewritten to 3.0.2: tree connect -> %s: %s\n", smbw_error_name(rc),
            smbw_conn_errmsg(c));
    ck_assert_msg(rc != 0, "tree connect succeeded after a dialect downgrade");
    ck_assert(t == NULL);
    check_dead(c);
    ck_assert_int_eq(it_share_entries(), before);
    smbw_session_free(s);
    smbw_conn_free(c);
    ck_assert(sec_proxy_wait(&p, 20000));
    free(report);
    sec_proxy_cleanup(&p);
}
END_TEST

/* Control: the same proxy without alterations lets 3.0.2 validate. */
START_TEST(test_control_302_validates)
{
    sec_proxy p;
    sec_proxy_start(&p, false, NULL);
    it_opts o;
    memset(&o, 0, sizeof o);
    o.max_dialect = SMBW_SMB3_02;
    it_ctx x;
    it_open_to(&x, "127.0.0.1", p.port, &o);
    unsigned char data[5000];
    it_random(data, sizeof data);
    sec_round_trip(x.tree, x.conn, "downgrade-control.bin", data, sizeof data);
    it_close(&x);
    ck_assert(sec_proxy_wait(&p, 20000));
    sec_proxy_cleanup(&p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("security-downgrade");
    TCase *tc = tcase_create("downgrade");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_control_302_validates);
    tcase_add_test(tc, test_guid_altered_311);
    tcase_add_test(tc, test_guid_altered_300);
    tcase_add_test(tc, test_guid_altered_302);
    tcase_add_test(tc, test_dialect_downgrade);
    suite_add_tcase(s, tc);
    return it_run(s);
}
