/* Client-side protection policy against a real Samba.
 *
 *   SMBW_SEC_POLICY=downlevel  the server is capped below SMB 3 (SMB2_10):
 *                              requiring encryption must fail with
 *                              SMBW_EPOLICY before any file is touched.
 *   SMBW_SEC_POLICY=default    an ordinary Samba (signing and encryption
 *                              offered, not required): requiring signing
 *                              works on every dialect, requiring encryption
 *                              works on every SMB 3 dialect and fails cleanly
 *                              on SMB 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sectest.h"

static const uint16_t all_dialects[] = {SMBW_SMB2_02, SMBW_SMB2_10, SMBW_SMB3_00, SMBW_SMB3_02,
                                        SMBW_SMB3_11};

/* Tries connect + session + tree with encryption required and expects
 * SMBW_EPOLICY from connect or session setup, with a message naming the
 * reason, and nothing created on the share. */
static void expect_encrypt_refused(uint16_t client_max)
{
    int before = it_share_entries();
    it_opts o;
    memset(&o, 0, sizeof o);
    o.max_dialect = client_max;
    o.encrypt = SMBW_ENCRYPT_REQUIRED;
    smbw_conn *c = NULL;
    int rc = it_connect_to(&c, it_env("SMBW_TEST_HOST"), it_env_port(), &o);
    const char *stage = "connect";
    smbw_session *s = NULL;
    if (rc == 0) {
        stage = "session setup";
        rc = it_login(c, &s);
    }
    if (rc == 0) {
        /* Must not get here; prove it by trying to use the share. */
        smbw_tree *t = NULL;
        int trc = smbw_tree_connect(&t, s, it_env("SMBW_TEST_SHARE"));
        ck_abort_msg("encryption required but %s succeeded (dialect %s, encrypted %d, tree %d)",
                     stage, smbw_dialect_name(smbw_conn_dialect(c)), smbw_session_encrypted(s),
                     trc);
    }
    const char *msg = smbw_conn_errmsg(c);
    fprintf(stderr, "client max %s: %s failed: %s: %s\n", smbw_dialect_name(client_max), stage,
            smbw_error_name(rc), msg);
    ck_assert_msg(rc == SMBW_EPOLICY, "%s -> %s (wanted SMBW_EPOLICY): %s", stage,
                  smbw_error_name(rc), msg);
    ck_assert_msg(strstr(msg, "encrypt") != NULL, "message does not say why: '%s'", msg);
    ck_assert(s == NULL);
    smbw_conn_free(c);
    ck_assert_int_eq(it_share_entries(), before);
}

START_TEST(test_encrypt_required_vs_smb21_server)
{
    const char *cap = it_env("SMBW_TEST_SERVER_MAX_PROTOCOL");
    ck_assert_msg(!strncmp(cap, "SMB2_", 5), "this case needs a server capped below SMB 3 (%s)",
                  cap);
    expect_encrypt_refused(SMBW_SMB3_11);
    expect_encrypt_refused(SMBW_SMB2_02);
}
END_TEST

/* The same downlevel server serves an ordinary session (the failure above is
 * the policy, not a broken server), and signing can be required. */
START_TEST(test_downlevel_server_still_serves_signed)
{
    it_opts o;
    memset(&o, 0, sizeof o);
    o.sign = SMBW_SIGN_REQUIRED;
    it_ctx x;
    it_open_to(&x, it_env("SMBW_TEST_HOST"), it_env_port(), &o);
    ck_assert(smbw_session_signed(x.sess));
    ck_assert(!smbw_session_encrypted(x.sess));
    unsigned char data[1000];
    it_random(data, sizeof data);
    sec_round_trip(x.tree, x.conn, "downlevel.bin", data, sizeof data);
    it_close(&x);
}
END_TEST

START_TEST(test_sign_required_every_dialect)
{
    for (size_t i = 0; i < sizeof all_dialects / sizeof all_dialects[0]; i++) {
        it_opts o;
        memset(&o, 0, sizeof o);
        o.min_dialect = all_dialects[i];
        o.max_dialect = all_dialects[i];
        o.sign = SMBW_SIGN_REQUIRED;
        it_ctx x;
        it_open_to(&x, it_env("SMBW_TEST_HOST"), it_env_port(), &o);
        ck_assert_int_eq(smbw_conn_dialect(x.conn), all_dialects[i]);
        ck_assert_msg(smbw_session_signed(x.sess), "%s session not signed",
                      smbw_dialect_name(all_dialects[i]));
        ck_assert_str_ne(smbw_session_signing_alg(x.sess), "none");
        char name[64];
        snprintf(name, sizeof name, "signreq-%s.bin", smbw_dialect_name(all_dialects[i]));
        unsigned char data[70000];
        it_random(data, sizeof data);
        sec_round_trip(x.tree, x.conn, name, data, sizeof data);
        it_close(&x);
    }
}
END_TEST

/* Default policy against a default server: authenticated sessions sign. */
START_TEST(test_default_policy_signs)
{
    it_ctx x;
    it_open_to(&x, it_env("SMBW_TEST_HOST"), it_env_port(), NULL);
    ck_assert(smbw_session_signed(x.sess));
    ck_assert(!smbw_session_encrypted(x.sess));
    ck_assert_str_eq(smbw_session_cipher(x.sess), "none");
    it_close(&x);
}
END_TEST

/* Only share1 demands encryption (smb encrypt = required on the share):
 * the session is not encrypted, the tree is, and the data still round-trips.
 * Over SMB 2.1 the tree connect is refused cleanly. */
START_TEST(test_share_demands_encryption)
{
    it_ctx x;
    it_open_to(&x, it_env("SMBW_TEST_HOST"), it_env_port(), NULL);
    ck_assert(!smbw_session_encrypted(x.sess));
    ck_assert(smbw_tree_encrypted(x.tree));
    ck_assert_str_ne(smbw_conn_cipher(x.conn), "none");
    unsigned char data[70000];
    it_random(data, sizeof data);
    sec_round_trip(x.tree, x.conn, "share-enc.bin", data, sizeof data);
    it_close(&x);

    it_opts o;
    memset(&o, 0, sizeof o);
    o.max_dialect = SMBW_SMB2_10;
    smbw_conn *c = NULL;
    IT_OK(c, it_connect_to(&c, it_env("SMBW_TEST_HOST"), it_env_port(), &o));
    smbw_session *s = NULL;
    smbw_creds cr = SMBW_CREDS_INIT;
    cr.kind = SMBW_AUTH_NTLM;
    cr.user = it_env("SMBW_TEST_USER");
    cr.password = it_env("SMBW_TEST_PASS");
    IT_OK(c, smbw_session_new(&s, c, &cr));
    smbw_tree *t = NULL;
    int rc = smbw_tree_connect(&t, s, it_env("SMBW_TEST_SHARE"));
    ck_assert_msg(rc == SMBW_EACCES || rc == SMBW_EPOLICY, "SMB 2.1 tree connect: %s: %s",
                  smbw_error_name(rc), smbw_conn_errmsg(c));
    ck_assert_ptr_null(t);
    smbw_session_free(s);
    smbw_conn_free(c);
}
END_TEST

START_TEST(test_encrypt_required_smb3)
{
    for (size_t i = 2; i < sizeof all_dialects / sizeof all_dialects[0]; i++) {
        it_opts o;
        memset(&o, 0, sizeof o);
        o.min_dialect = all_dialects[i];
        o.max_dialect = all_dialects[i];
        o.encrypt = SMBW_ENCRYPT_REQUIRED;
        it_ctx x;
        it_open_to(&x, it_env("SMBW_TEST_HOST"), it_env_port(), &o);
        ck_assert_msg(smbw_session_encrypted(x.sess), "%s session not encrypted",
                      smbw_dialect_name(all_dialects[i]));
        if (all_dialects[i] != SMBW_SMB3_11)
            ck_assert_str_eq(smbw_session_cipher(x.sess), "AES-128-CCM");
        else
            ck_assert_str_ne(smbw_session_cipher(x.sess), "none");
        char name[64];
        snprintf(name, sizeof name, "encreq-%s.bin", smbw_dialect_name(all_dialects[i]));
        unsigned char data[70000];
        it_random(data, sizeof data);
        sec_round_trip(x.tree, x.conn, name, data, sizeof data);
        it_close(&x);
    }
}
END_TEST

/* A failed login says why, but never repeats the password. */
START_TEST(test_wrong_password_message)
{
    static const char secret[] = "Wr0ng-Secret-4711";
    smbw_conn *c = NULL;
    IT_OK(c, it_connect_to(&c, it_env("SMBW_TEST_HOST"), it_env_port(), NULL));
    smbw_creds cr = SMBW_CREDS_INIT;
    cr.kind = SMBW_AUTH_NTLM;
    cr.user = it_env("SMBW_TEST_USER");
    cr.password = secret;
    smbw_session *s = NULL;
    int rc = smbw_session_new(&s, c, &cr);
    const char *msg = smbw_conn_errmsg(c);
    fprintf(stderr, "wrong password -> %s: %s\n", smbw_error_name(rc), msg);
    ck_assert_msg(rc == SMBW_EAUTH, "-> %s (wanted SMBW_EAUTH)", smbw_error_name(rc));
    ck_assert(s == NULL);
    ck_assert_msg(msg[0] != '\0', "no error message");
    ck_assert_msg(strstr(msg, secret) == NULL && strstr(msg, "4711") == NULL,
                  "the password appears in the error message: %s", msg);
    smbw_conn_free(c);
}
END_TEST

/* An ordinary server, but the client itself offers only SMB 2. */
START_TEST(test_encrypt_required_client_smb2)
{
    expect_encrypt_refused(SMBW_SMB2_10);
}
END_TEST

int main(void)
{
    const char *which = getenv("SMBW_SEC_POLICY");
    if (!which ||
        (strcmp(which, "downlevel") && strcmp(which, "default") && strcmp(which, "share"))) {
        fprintf(stderr, "SMBW_SEC_POLICY must be 'downlevel', 'default' or 'share'\n");
        return 1;
    }
    Suite *s = suite_create("security-policy");
    TCase *tc = tcase_create(which);
    tcase_set_timeout(tc, 120);
    if (!strcmp(which, "share")) {
        tcase_add_test(tc, test_share_demands_encryption);
    } else if (!strcmp(which, "downlevel")) {
        tcase_add_test(tc, test_encrypt_required_vs_smb21_server);
        tcase_add_test(tc, test_downlevel_server_still_serves_signed);
    } else {
        tcase_add_test(tc, test_sign_required_every_dialect);
        tcase_add_test(tc, test_default_policy_signs);
        tcase_add_test(tc, test_encrypt_required_smb3);
        tcase_add_test(tc, test_encrypt_required_client_smb2);
        tcase_add_test(tc, test_wrong_password_message);
    }
    suite_add_tcase(s, tc);
    return it_run(s);
}
