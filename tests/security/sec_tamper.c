/* An active attacker between client and Samba: tests/testbed/tamper_proxy.py
 * alters one byte of one protected server-to-client frame; the client must
 * refuse it with SMBW_ECRYPTO and the connection must be dead afterwards.
 *
 *   SMBW_SEC_TAMPER_MODE=signed     server signing mandatory, no encryption
 *   SMBW_SEC_TAMPER_MODE=encrypted  server smb encrypt required
 *   SMBW_TEST_CLIENT_MAX            dialect the client offers at most
 *   SMBW_TAMPER_PROXY               path of tamper_proxy.py
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sectest.h"

#define FILE_LEN (256 * 1024)

static bool encrypted_mode(void)
{
    const char *m = it_env("SMBW_SEC_TAMPER_MODE");
    ck_assert_msg(!strcmp(m, "signed") || !strcmp(m, "encrypted"), "bad SMBW_SEC_TAMPER_MODE %s",
                  m);
    return !strcmp(m, "encrypted");
}

static it_opts opts(void)
{
    it_opts o;
    memset(&o, 0, sizeof o);
    o.max_dialect = it_env_dialect("SMBW_TEST_CLIENT_MAX", SMBW_SMB3_11);
    /* The server demands the protection; requiring it on the client too
     * makes sure a silently unprotected session cannot pass this test. */
    if (encrypted_mode())
        o.encrypt = SMBW_ENCRYPT_REQUIRED;
    else
        o.sign = SMBW_SIGN_REQUIRED;
    return o;
}

static void check_session_protected(const it_ctx *x)
{
    if (encrypted_mode())
        ck_assert_msg(smbw_session_encrypted(x->sess), "session not encrypted");
    else
        ck_assert_msg(smbw_session_signed(x->sess) && !smbw_session_encrypted(x->sess),
                      "session not signed (or unexpectedly encrypted)");
}

/* Writes FILE_LEN random bytes as name over a direct connection (no proxy)
 * and returns them. */
static unsigned char *put_file(const char *name)
{
    unsigned char *data = malloc(FILE_LEN);
    ck_assert_ptr_nonnull(data);
    it_random(data, FILE_LEN);
    it_opts o = opts();
    it_ctx x;
    it_open_to(&x, it_env("SMBW_TEST_HOST"), it_env_port(), &o);
    sec_round_trip(x.tree, x.conn, name, data, FILE_LEN);
    it_close(&x);
    return data;
}

/* Proxy arguments that select the READ response carrying the file: by
 * command for signed frames, by size for encrypted ones (the proxy cannot
 * see the command inside a TRANSFORM frame; every other response is far
 * smaller than the file). */
static void read_selector(const char **args, size_t *n)
{
    if (encrypted_mode()) {
        args[(*n)++] = "--tamper-min-size";
        args[(*n)++] = "200000";
    } else {
        args[(*n)++] = "--tamper-command";
        args[(*n)++] = "READ";
    }
}

/* The read through the proxy that alters the response must fail with
 * SMBW_ECRYPTO; everything after it with SMBW_EDEAD. */
static void tampered_read(const char *where)
{
    unsigned char *data = put_file("tamper.bin");
    const char *args[8];
    size_t n = 0;
    read_selector(args, &n);
    args[n++] = "--tamper-where";
    args[n++] = where;
    args[n] = NULL;
    sec_proxy p;
    sec_proxy_start(&p, false, args);

    it_opts o = opts();
    it_ctx x;
    it_open_to(&x, "127.0.0.1", p.port, &o);
    check_session_protected(&x);
    smbw_file *f = NULL;
    IT_OK(x.conn, smbw_file_open(&f, x.tree, "tamper.bin", SMBW_O_RDONLY));
    unsigned char *back = malloc(FILE_LEN);
    ck_assert_ptr_nonnull(back);
    size_t got = 0;
    int rc = smbw_file_pread(f, back, FILE_LEN, 0, &got);
    const char *msg = smbw_conn_errmsg(x.conn);
    fprintf(stderr, "%s %s, tampered %s: read -> %s: %s\n",
            smbw_dialect_name(smbw_conn_dialect(x.conn)), encrypted_mode() ? "encrypted" : "signed",
            where, smbw_error_name(rc), msg);
    char *report = sec_proxy_report(&p);
    ck_assert_msg(strstr(report, "tampered") != NULL, "the proxy altered nothing (report '%s')",
                  report);
    ck_assert_msg(rc == SMBW_ECRYPTO, "read of a tampered response -> %s (wanted SMBW_ECRYPTO): %s",
                  smbw_error_name(rc), msg);
    ck_assert_msg(msg[0] != '\0', "no error message");
    /* No tampered byte may have reached the caller as data. */
    ck_assert_msg(got == 0 || memcmp(back, data, got) == 0, "tampered data was returned");
    ck_assert_msg(smbw_conn_is_dead(x.conn), "connection still alive after a crypto failure");
    rc = smbw_conn_echo(x.conn);
    ck_assert_msg(rc == SMBW_EDEAD, "echo after the failure -> %s (wanted SMBW_EDEAD)",
                  smbw_error_name(rc));
    rc = smbw_file_pread(f, back, 16, 0, &got);
    ck_assert_msg(rc == SMBW_EDEAD, "read after the failure -> %s (wanted SMBW_EDEAD)",
                  smbw_error_name(rc));
    smbw_file_free(f);
    it_close(&x);
    ck_assert_msg(sec_proxy_wait(&p, 20000), "proxy did not exit after the client left");
    free(report);
    free(back);
    free(data);
    sec_proxy_cleanup(&p);
}

/* Control: the same path through the proxy without tampering works, so the
 * failures below come from the altered byte and nothing else. */
START_TEST(test_proxy_is_transparent)
{
    unsigned char *data = put_file("plain.bin");
    sec_proxy p;
    sec_proxy_start(&p, false, NULL);
    it_opts o = opts();
    it_ctx x;
    it_open_to(&x, "127.0.0.1", p.port, &o);
    check_session_protected(&x);
    smbw_file *f = NULL;
    IT_OK(x.conn, smbw_file_open(&f, x.tree, "plain.bin", SMBW_O_RDONLY));
    unsigned char *back = malloc(FILE_LEN);
    ck_assert_ptr_nonnull(back);
    size_t got = 0;
    IT_OK(x.conn, smbw_file_pread(f, back, FILE_LEN, 0, &got));
    ck_assert_uint_eq(got, FILE_LEN);
    ck_assert(memcmp(back, data, FILE_LEN) == 0);
    IT_OK(x.conn, smbw_file_free(f));
    it_close(&x);
    ck_assert_msg(sec_proxy_wait(&p, 20000), "proxy did not exit after the client left");
    char *report = sec_proxy_report(&p);
    ck_assert_str_eq(report, "");
    free(report);
    free(back);
    free(data);
    sec_proxy_cleanup(&p);
}
END_TEST

START_TEST(test_tampered_read_body)
{
    tampered_read("body");
}
END_TEST

START_TEST(test_tampered_read_signature)
{
    tampered_read("signature");
}
END_TEST

/* The final SESSION_SETUP response is signed on SMB 3.x (on 3.1.1 its
 * signature also covers the pre-authentication hash): altering it must fail
 * the login, not yield a session. With where "signature" the SPNEGO token is
 * intact and only the SMB2 signature check can notice (SMBW_ECRYPTO, fatal);
 * with "body" the last byte of the token changes and either the SPNEGO
 * mechListMIC (SMBW_EAUTH) or the signature (SMBW_ECRYPTO) must catch it. */
static void tampered_session_setup(const char *where)
{
    const char *args[] = {"--tamper-command", "SESSION_SETUP", "--tamper-where", where, NULL};
    sec_proxy p;
    sec_proxy_start(&p, false, args);
    it_opts o = opts();
    smbw_conn *c = NULL;
    IT_OK(c, it_connect_to(&c, "127.0.0.1", p.port, &o));
    smbw_session *s = NULL;
    int rc = it_login(c, &s);
    fprintf(stderr, "%s: tampered SESSION_SETUP %s -> %s: %s\n",
            smbw_dialect_name(smbw_conn_dialect(c)), where, smbw_error_name(rc),
            smbw_conn_errmsg(c));
    char *report = sec_proxy_report(&p);
    ck_assert_msg(strstr(report, "SESSION_SETUP") != NULL,
                  "the proxy altered no SESSION_SETUP response (report '%s')", report);
    ck_assert(s == NULL);
    if (!strcmp(where, "signature")) {
        ck_assert_msg(rc == SMBW_ECRYPTO, "login -> %s (wanted SMBW_ECRYPTO): %s",
                      smbw_error_name(rc), smbw_conn_errmsg(c));
        ck_assert(smbw_conn_is_dead(c));
    } else {
        ck_assert_msg(rc == SMBW_ECRYPTO || rc == SMBW_EAUTH,
                      "login -> %s (wanted SMBW_ECRYPTO or SMBW_EAUTH): %s", smbw_error_name(rc),
                      smbw_conn_errmsg(c));
    }
    ck_assert_msg(smbw_conn_errmsg(c)[0] != '\0', "no error message");
    smbw_conn_free(c);
    ck_assert_msg(sec_proxy_wait(&p, 20000), "proxy did not exit after the client left");
    free(report);
    sec_proxy_cleanup(&p);
}

START_TEST(test_tampered_session_setup_signature)
{
    tampered_session_setup("signature");
}
END_TEST

START_TEST(test_tampered_session_setup_body)
{
    tampered_session_setup("body");
}
END_TEST

/* Encryption stripped: the proxy answers the first encrypted request (TREE
 * CONNECT) with a plaintext response for the right message id and session.
 * docs/security.md: a plaintext response on an encrypted session is fatal. */
START_TEST(test_stripped_transform)
{
    const char *args[] = {"--strip-transform", NULL};
    sec_proxy p;
    sec_proxy_start(&p, false, args);
    it_opts o = opts();
    smbw_conn *c = NULL;
    IT_OK(c, it_connect_to(&c, "127.0.0.1", p.port, &o));
    smbw_session *s = NULL;
    IT_OK(c, it_login(c, &s));
    ck_assert_msg(smbw_session_encrypted(s), "session not encrypted");
    smbw_tree *t = NULL;
    int rc = smbw_tree_connect(&t, s, it_env("SMBW_TEST_SHARE"));
    const char *msg = smbw_conn_errmsg(c);
    fprintf(stderr, "%s: plaintext TREE_CONNECT answer -> %s: %s\n",
            smbw_dialect_name(smbw_conn_dialect(c)), smbw_error_name(rc), msg);
    char *report = sec_proxy_report(&p);
    ck_assert_msg(strstr(report, "stripped transform") != NULL,
                  "the proxy stripped nothing (report '%s')", report);
    ck_assert(t == NULL);
    ck_assert_msg(rc == SMBW_ECRYPTO, "tree connect -> %s (wanted SMBW_ECRYPTO): %s",
                  smbw_error_name(rc), msg);
    ck_assert_msg(strstr(msg, "unencrypted response on an encrypted session") != NULL,
                  "refused for another reason: %s", msg);
    ck_assert(smbw_conn_is_dead(c));
    smbw_session_free(s);
    smbw_conn_free(c);
    ck_assert_msg(sec_proxy_wait(&p, 20000), "proxy did not exit after the client left");
    free(report);
    sec_proxy_cleanup(&p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("security-tamper");
    TCase *tc = tcase_create("tamper");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_proxy_is_transparent);
    tcase_add_test(tc, test_tampered_read_body);
    tcase_add_test(tc, test_tampered_read_signature);
    const char *mode = getenv("SMBW_SEC_TAMPER_MODE");
    if (mode && !strcmp(mode, "encrypted"))
        tcase_add_test(tc, test_stripped_transform);
    /* Below SMB 3 Samba signs the final SESSION_SETUP response only
     * sometimes; the SMB 3 runs cover it. */
    const char *max = getenv("SMBW_TEST_CLIENT_MAX");
    if (!max || smbw_dialect_parse(max) >= SMBW_SMB3_00) {
        tcase_add_test(tc, test_tampered_session_setup_signature);
        tcase_add_test(tc, test_tampered_session_setup_body);
    }
    suite_add_tcase(s, tc);
    return it_run(s);
}
