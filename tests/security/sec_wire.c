/* Proof on the wire: every byte between client and Samba goes through a
 * passive tests/testbed/tamper_proxy.py that logs it. A file with a unique
 * marker, under a unique name, is written and read back:
 *  - with encryption, neither the marker nor the name (UTF-16LE, as CREATE
 *    carries it) appears anywhere in the captured bytes;
 *  - in the unencrypted control run (signed only) both do, which shows the
 *    capture would have seen them.
 *
 *   SMBW_TEST_CLIENT_MAX   dialect the client offers at most (SMB 3.x)
 *   SMBW_TAMPER_PROXY      path of tamper_proxy.py
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sectest.h"

#define DATA_LEN (200 * 1024)

typedef struct capture {
    unsigned char *wire;
    size_t wire_len;
    char marker[64];
    char name[64];
    unsigned char name16[128];
    size_t name16_len;
    bool encrypted;
    char cipher[32];
} capture;

static void random_hex(char *out, size_t nbytes)
{
    unsigned char r[32];
    ck_assert(nbytes <= sizeof r);
    it_random(r, nbytes);
    for (size_t i = 0; i < nbytes; i++)
        sprintf(out + 2 * i, "%02x", r[i]);
}

/* Copies a marked file to the server and back through the logging proxy. */
static void run_capture(capture *cap, enum smbw_encrypt_policy enc)
{
    memset(cap, 0, sizeof *cap);
    char hex[33];
    random_hex(hex, 16);
    snprintf(cap->marker, sizeof cap->marker, "SMBW-MARKER-%s", hex);
    random_hex(hex, 8);
    snprintf(cap->name, sizeof cap->name, "wire-secret-%s.txt", hex);
    for (size_t i = 0; cap->name[i]; i++) {
        cap->name16[2 * i] = (unsigned char)cap->name[i];
        cap->name16[2 * i + 1] = 0;
        cap->name16_len += 2;
    }

    /* Random data with the marker placed at several offsets, including the
     * very start and across what would be a 64 KiB read boundary. */
    unsigned char *data = malloc(DATA_LEN);
    ck_assert_ptr_nonnull(data);
    it_random(data, DATA_LEN);
    size_t mlen = strlen(cap->marker);
    const size_t offsets[] = {0, 4096, 65536 - 10, DATA_LEN - mlen};
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++)
        memcpy(data + offsets[i], cap->marker, mlen);
    /* Random data could contain the TRANSFORM_HEADER magic by chance, also
     * as a random 0xFD right before a marker ("SMBW-..."); the control run
     * checks its absence, so scrub it. */
    for (unsigned char *q = data; (q = memmem(q, DATA_LEN - (size_t)(q - data), "\xfdSMB", 4));)
        q[0] = 0;

    sec_proxy p;
    sec_proxy_start(&p, true, NULL);
    it_opts o;
    memset(&o, 0, sizeof o);
    o.max_dialect = it_env_dialect("SMBW_TEST_CLIENT_MAX", SMBW_SMB3_11);
    o.encrypt = enc;
    it_ctx x;
    it_open_to(&x, "127.0.0.1", p.port, &o);
    cap->encrypted = smbw_session_encrypted(x.sess);
    snprintf(cap->cipher, sizeof cap->cipher, "%s", smbw_session_cipher(x.sess));
    sec_round_trip(x.tree, x.conn, cap->name, data, DATA_LEN);
    smbw_stat st;
    IT_OK(x.conn, smbw_stat_path(x.tree, cap->name, &st));
    ck_assert_uint_eq(st.size, DATA_LEN);
    it_close(&x);
    ck_assert_msg(sec_proxy_wait(&p, 20000), "proxy did not exit after the client left");

    cap->wire = it_read_file(p.log, &cap->wire_len);
    ck_assert_msg(cap->wire != NULL, "no capture file %s", p.log);
    fprintf(stderr, "%s: %s session (%s), %zu bytes captured\n", smbw_dialect_name(o.max_dialect),
            cap->encrypted ? "encrypted" : "plain", cap->cipher, cap->wire_len);
    /* The file went there and back: at least twice its size crossed. */
    ck_assert_msg(cap->wire_len > 2 * DATA_LEN, "capture too small (%zu bytes)", cap->wire_len);
    free(data);
    sec_proxy_cleanup(&p);
}

static bool captured(const capture *cap, const void *needle, size_t len)
{
    return memmem(cap->wire, cap->wire_len, needle, len) != NULL;
}

START_TEST(test_encrypted_hides_content_and_names)
{
    capture cap;
    run_capture(&cap, SMBW_ENCRYPT_REQUIRED);
    ck_assert_msg(cap.encrypted, "session not encrypted");
    ck_assert_msg(!captured(&cap, cap.marker, strlen(cap.marker)),
                  "marker %s visible on the wire of an encrypted session", cap.marker);
    ck_assert_msg(!captured(&cap, cap.name16, cap.name16_len),
                  "file name visible on the wire of an encrypted session");
    /* Not even a fragment of the marker's random part. */
    ck_assert_msg(!captured(&cap, cap.marker + 12, 12), "marker fragment visible on the wire");
    ck_assert_msg(captured(&cap, "\xfdSMB", 4), "no TRANSFORM_HEADER in the capture");
    free(cap.wire);
}
END_TEST

START_TEST(test_unencrypted_control_shows_them)
{
    capture cap;
    run_capture(&cap, SMBW_ENCRYPT_AUTO);
    ck_assert_msg(!cap.encrypted, "control session unexpectedly encrypted");
    ck_assert_msg(captured(&cap, cap.marker, strlen(cap.marker)),
                  "marker not visible in the unencrypted control run: the capture is blind");
    ck_assert_msg(captured(&cap, cap.name16, cap.name16_len),
                  "file name not visible in the unencrypted control run");
    const unsigned char *th = memmem(cap.wire, cap.wire_len, "\xfdSMB", 4);
    ck_assert_msg(th == NULL, "TRANSFORM_HEADER magic at offset %zu of %zu in an unencrypted run",
                  th ? (size_t)(th - cap.wire) : 0, cap.wire_len);
    free(cap.wire);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("security-wire");
    TCase *tc = tcase_create("wire");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_encrypted_hides_content_and_names);
    tcase_add_test(tc, test_unencrypted_control_shows_them);
    suite_add_tcase(s, tc);
    return it_run(s);
}
