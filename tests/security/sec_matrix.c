/* Signing and encryption matrix against a real Samba.
 *
 * The server is configured by the meson test (SAMBA_SIGNING, SAMBA_ENCRYPT,
 * "server smb3 signing/encryption algorithms" in SAMBA_EXTRA_GLOBAL); this
 * program checks what the session ended up with and that data survives:
 *
 *   SMBW_TEST_CLIENT_MAX       highest dialect the client offers
 *   SMBW_SEC_EXPECT_DIALECT    dialect that must be negotiated
 *   SMBW_SEC_EXPECT_SIGN_ALG   smbw_session_signing_alg() ("none" = unsigned)
 *   SMBW_SEC_EXPECT_CIPHER     smbw_session_cipher() ("none" = unencrypted)
 *   SMBW_SEC_CLIENT_SIGN       "required" to set SMBW_SIGN_REQUIRED
 *   SMBW_SEC_CLIENT_ENCRYPT    "required" to set SMBW_ENCRYPT_REQUIRED
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sectest.h"

static it_opts opts_from_env(void)
{
    it_opts o;
    memset(&o, 0, sizeof o);
    o.max_dialect = it_env_dialect("SMBW_TEST_CLIENT_MAX", SMBW_SMB3_11);
    const char *s = it_env_opt("SMBW_SEC_CLIENT_SIGN");
    const char *e = it_env_opt("SMBW_SEC_CLIENT_ENCRYPT");
    o.sign = s && !strcmp(s, "required") ? SMBW_SIGN_REQUIRED : SMBW_SIGN_AUTO;
    o.encrypt = e && !strcmp(e, "required") ? SMBW_ENCRYPT_REQUIRED : SMBW_ENCRYPT_AUTO;
    return o;
}

static void check_protection(const it_ctx *x)
{
    uint16_t want_dialect = it_env_dialect("SMBW_SEC_EXPECT_DIALECT", 0);
    const char *want_alg = it_env("SMBW_SEC_EXPECT_SIGN_ALG");
    const char *want_cipher = it_env("SMBW_SEC_EXPECT_CIPHER");
    uint16_t d = smbw_conn_dialect(x->conn);
    if (want_dialect)
        ck_assert_msg(d == want_dialect, "dialect %s, wanted %s", smbw_dialect_name(d),
                      smbw_dialect_name(want_dialect));

    const char *alg = smbw_session_signing_alg(x->sess);
    const char *cipher = smbw_session_cipher(x->sess);
    fprintf(stderr, "dialect %s, signed %d (%s), encrypted %d (%s)\n", smbw_dialect_name(d),
            smbw_session_signed(x->sess), alg, smbw_session_encrypted(x->sess), cipher);

    bool want_encrypted = strcmp(want_cipher, "none") != 0;
    ck_assert_msg(smbw_session_encrypted(x->sess) == want_encrypted, "encrypted=%d, wanted %d",
                  smbw_session_encrypted(x->sess), want_encrypted);
    ck_assert_msg(!strcmp(cipher, want_cipher), "cipher %s, wanted %s", cipher, want_cipher);
    /* An encrypted session is protected by the AEAD instead of a signature;
     * smbw_session_signed() may report either, but the key-derived algorithm
     * must still be right for unencrypted sessions. */
    if (!want_encrypted) {
        bool want_signed = strcmp(want_alg, "none") != 0;
        ck_assert_msg(smbw_session_signed(x->sess) == want_signed, "signed=%d, wanted %d",
                      smbw_session_signed(x->sess), want_signed);
        ck_assert_msg(!strcmp(alg, want_alg), "signing algorithm %s, wanted %s", alg, want_alg);
    }
}

START_TEST(test_protection_and_round_trip)
{
    it_opts o = opts_from_env();
    it_ctx x;
    it_open_to(&x, it_env("SMBW_TEST_HOST"), it_env_port(), &o);
    check_protection(&x);

    /* Sizes around the usual boundaries: tiny, one AES block off, a large
     * multi-request transfer (several READ/WRITE messages). */
    static const size_t sizes[] = {1, 17, 65537, 3 * 1024 * 1024 + 5};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *data = malloc(sizes[i]);
        ck_assert_ptr_nonnull(data);
        it_random(data, sizes[i]);
        char name[64];
        snprintf(name, sizeof name, "matrix-%zu.bin", sizes[i]);
        sec_round_trip(x.tree, x.conn, name, data, sizes[i]);
        free(data);
    }
    /* The connection must still be healthy (no late verification failure). */
    IT_OK(x.conn, smbw_conn_echo(x.conn));
    ck_assert(!smbw_conn_is_dead(x.conn));
    it_close(&x);
}
END_TEST

/* A second session on the same connection gets its own keys and the same
 * protection (keys are per session, the algorithm per connection). */
START_TEST(test_second_session)
{
    it_opts o = opts_from_env();
    it_ctx x;
    it_open_to(&x, it_env("SMBW_TEST_HOST"), it_env_port(), &o);
    smbw_session *s2 = NULL;
    IT_OK(x.conn, it_login(x.conn, &s2));
    smbw_tree *t2 = NULL;
    IT_OK(x.conn, smbw_tree_connect(&t2, s2, it_env("SMBW_TEST_SHARE")));
    ck_assert_str_eq(smbw_session_cipher(s2), smbw_session_cipher(x.sess));
    ck_assert_int_eq(smbw_session_encrypted(s2), smbw_session_encrypted(x.sess));
    if (!smbw_session_encrypted(s2))
        ck_assert_str_eq(smbw_session_signing_alg(s2), smbw_session_signing_alg(x.sess));
    unsigned char data[4096];
    it_random(data, sizeof data);
    sec_round_trip(t2, x.conn, "second-session.bin", data, sizeof data);
    sec_round_trip(x.tree, x.conn, "first-session.bin", data, sizeof data);
    smbw_tree_free(t2);
    smbw_session_free(s2);
    it_close(&x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("security-matrix");
    TCase *tc = tcase_create("matrix");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_protection_and_round_trip);
    tcase_add_test(tc, test_second_session);
    suite_add_tcase(s, tc);
    return it_run(s);
}
