/* Seed recorder's client: `record_client HOST PORT USER PASS SHARE` runs the
 * session script of session.c over TCP (through record_proxy.py, which keeps
 * the server's bytes). Built against the library as shipped with the
 * deterministic crypto_random of tests/unit/det_random.c, like test_alloc: it
 * sends exactly what the fuzz targets and test_alloc send, and test_alloc's
 * replay derives the same session keys. Exit status 0 when every step
 * succeeded. */
#include <stdio.h>
#include <stdlib.h>

#include "session.h"

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s HOST PORT USER PASS SHARE\n", argv[0]);
        return 2;
    }
    smbw_conn *c = NULL;
    int rc = smbw_conn_new(&c);
    if (!rc)
        rc = smbw_conn_set_timeout(c, 10000);
    if (!rc)
        rc = smbw_conn_connect(c, argv[1], (uint16_t)atoi(argv[2]));
    if (!rc)
        rc = fz_session(c, argv[3], argv[4], argv[5]);
    if (rc)
        fprintf(stderr, "record_client: %s: %s\n", smbw_error_name(rc), smbw_conn_errmsg(c));
    else
        printf("record_client: dialect %s, all steps passed\n",
               smbw_dialect_name(smbw_conn_dialect(c)));
    smbw_conn_free(c);
    return rc ? 1 : 0;
}
