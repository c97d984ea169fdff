/* Server-side copy with libsmbclient's smbc_splice, for comparison with
 * smbwire's copy engine.
 *
 *   splice SRC_URL DST_URL
 *
 * URLs are smb://HOST:PORT/SHARE/PATH; the user and password come from
 * SMB_USER and SMB_PASSWORD. Both files are opened on the same server through
 * the context API (libsmbclient exports smbc_splice only there), which is what
 * smbc_splice needs to copy server-side. Prints the seconds spent in
 * smbc_splice alone on stdout.
 *
 * Build: gcc -std=c11 -O2 -Wall -Wextra -Werror bench/splice.c \
 *            $(pkg-config --cflags --libs smbclient)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libsmbclient.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void copy_str(char *dst, int dstlen, const char *src)
{
    if (dstlen <= 0)
        return;
    snprintf(dst, (size_t)dstlen, "%s", src != NULL ? src : "");
}

static void auth_fn(SMBCCTX *ctx, const char *srv, const char *shr, char *wg, int wglen, char *un,
                    int unlen, char *pw, int pwlen)
{
    (void)ctx;
    (void)srv;
    (void)shr;
    copy_str(wg, wglen, "WORKGROUP");
    copy_str(un, unlen, getenv("SMB_USER"));
    copy_str(pw, pwlen, getenv("SMB_PASSWORD"));
}

/* libsmbclient calls this after every copychunk answer without checking for
 * NULL; non-zero means go on. */
static int splice_progress(off_t n, void *priv)
{
    (void)n;
    (void)priv;
    return 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SRC_URL DST_URL\n", argv[0]);
        return 2;
    }
    SMBCCTX *ctx = smbc_new_context();
    if (ctx == NULL) {
        perror("smbc_new_context");
        return 1;
    }
    smbc_setFunctionAuthDataWithContext(ctx, auth_fn);
    if (smbc_init_context(ctx) == NULL) {
        perror("smbc_init_context");
        return 1;
    }
    /* libsmbclient exports smbc_splice only through the context API. */
    SMBCFILE *src = smbc_getFunctionOpen(ctx)(ctx, argv[1], O_RDONLY, 0);
    if (src == NULL) {
        fprintf(stderr, "open %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    struct stat st;
    if (smbc_getFunctionFstat(ctx)(ctx, src, &st) != 0) {
        fprintf(stderr, "fstat %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    SMBCFILE *dst = smbc_getFunctionOpen(ctx)(ctx, argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (dst == NULL) {
        fprintf(stderr, "open %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    double t0 = now();
    off_t n = smbc_getFunctionSplice(ctx)(ctx, src, dst, st.st_size, splice_progress, NULL);
    double t1 = now();
    if (n != st.st_size) {
        fprintf(stderr, "smbc_splice: %lld of %lld bytes: %s\n", (long long)n,
                (long long)st.st_size, strerror(errno));
        return 1;
    }
    smbc_getFunctionClose(ctx)(ctx, dst);
    smbc_getFunctionClose(ctx)(ctx, src);
    smbc_free_context(ctx, 1);
    printf("%.3f\n", t1 - t0);
    return 0;
}
