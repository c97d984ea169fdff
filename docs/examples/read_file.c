/* Reads the start of a file on a share and prints what was negotiated.
 *
 *   SMB_PASSWORD=secret ./read_file HOST PORT USER SHARE PATH
 *
 * Build: cc read_file.c $(pkg-config --cflags --libs smbwire) */
#include <stdio.h>
#include <stdlib.h>

#include <smbwire/smbwire.h>

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s HOST PORT USER SHARE PATH\n", argv[0]);
        return 2;
    }
    smbw_conn *c = NULL;
    smbw_session *s = NULL;
    smbw_tree *t = NULL;
    smbw_file *f = NULL;
    char buf[4096];
    size_t n = 0;
    int rc;

    if ((rc = smbw_conn_new(&c)) < 0)
        return 1;
    smbw_conn_set_dialects(c, SMBW_SMB2_10, SMBW_SMB3_11);
    smbw_creds cr = SMBW_CREDS_INIT; /* kind NTLM */
    cr.user = argv[3];
    cr.password = getenv("SMB_PASSWORD");

    if ((rc = smbw_conn_connect(c, argv[1], (uint16_t)atoi(argv[2]))) < 0 ||
        (rc = smbw_session_new(&s, c, &cr)) < 0 || (rc = smbw_tree_connect(&t, s, argv[4])) < 0 ||
        (rc = smbw_file_open(&f, t, argv[5], SMBW_O_RDONLY)) < 0 ||
        (rc = smbw_file_pread(f, buf, sizeof buf, 0, &n)) < 0) {
        fprintf(stderr, "%s: %s\n", smbw_error_name(rc), smbw_conn_errmsg(c));
    } else {
        printf("%s, signed: %s, read %zu bytes: %.*s\n", smbw_dialect_name(smbw_conn_dialect(c)),
               smbw_session_signing_alg(s), n, (int)(n > 64 ? 64 : n), buf);
    }
    smbw_file_free(f);
    smbw_tree_free(t);
    smbw_session_free(s);
    smbw_conn_free(c);
    return rc < 0;
}
