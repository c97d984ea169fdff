/* What a case works with: paths in its scratch directory, registered opens
 * and links, result texts, and the test pattern. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "smbconform.h"

const char *cf_result_name(enum cf_result r)
{
    switch (r) {
    case CF_PASS:
        return "pass";
    case CF_FAIL:
        return "fail";
    case CF_SKIP:
        return "skip";
    default:
        return "error";
    }
}

const char *cf_path(cf_env *e, const char *name)
{
    char *b = e->pathbuf[e->pathnext];
    e->pathnext = (e->pathnext + 1) % 4;
    snprintf(b, sizeof(e->pathbuf[0]), "%s/%s", e->dir, name);
    return b;
}

enum cf_result cf_fail(cf_env *e, const char *expected, const char *gotfmt, ...)
{
    char got[CF_TEXT]; /* the arguments may point into e's texts */
    va_list ap;
    va_start(ap, gotfmt);
    vsnprintf(got, sizeof(got), gotfmt, ap);
    va_end(ap);
    if (expected != e->expected)
        snprintf(e->expected, sizeof(e->expected), "%s", expected);
    memcpy(e->got, got, sizeof(got));
    return CF_FAIL;
}

enum cf_result cf_skip(cf_env *e, const char *fmt, ...)
{
    char why[CF_TEXT]; /* the arguments may point into e->reason */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    memcpy(e->reason, why, sizeof(why));
    return CF_SKIP;
}

enum cf_result cf_error(cf_env *e, const char *fmt, ...)
{
    char why[CF_TEXT]; /* the arguments may point into e->reason */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    memcpy(e->reason, why, sizeof(why));
    return CF_ERROR;
}

const char *cf_outcome(cf_env *e, smbw_conn *c, int rc)
{
    char *b = e->pathbuf[e->pathnext];
    e->pathnext = (e->pathnext + 1) % 4;
    size_t n = sizeof(e->pathbuf[0]);
    if (rc == 0)
        snprintf(b, n, "success");
    else if (smbw_conn_is_dead(c))
        snprintf(b, n, "connection dropped (%s: %s)", smbw_error_name(rc), smbw_conn_errmsg(c));
    else if (rc == SMBW_ESTATUS)
        snprintf(b, n, "%s", smbw_status_name(smbw_last_status(c)));
    else
        snprintf(b, n, "%s: %s", smbw_error_name(rc), smbw_conn_errmsg(c));
    return b;
}

int cf_connect(cf_env *e, const char *share, cf_link **out)
{
    *out = NULL;
    size_t slot = 0;
    while (slot < CF_MAX_LINKS && e->links[slot] != NULL)
        slot++;
    if (slot == CF_MAX_LINKS)
        return SMBW_EINVAL;
    cf_link *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return SMBW_ENOMEM;
    char err[256];
    int rc = cf_link_open(e->tg, share, l, err, sizeof(err));
    if (rc != 0) {
        snprintf(e->reason, sizeof(e->reason), "%s", err);
        free(l);
        return rc;
    }
    e->links[slot] = l;
    *out = l;
    return 0;
}

static int track(cf_env *e, smbw_file *f)
{
    for (size_t i = 0; i < CF_MAX_FILES; i++)
        if (e->files[i] == NULL) {
            e->files[i] = f;
            return 0;
        }
    smbw_file_free(f);
    return SMBW_EINVAL;
}

int cf_create(cf_env *e, smbw_tree *t, const char *name, const smbw_create_params *p,
              smbw_file **out)
{
    int rc = smbw_file_create(out, t, cf_path(e, name), p);
    if (rc != 0)
        return rc;
    rc = track(e, *out);
    if (rc != 0)
        *out = NULL;
    return rc;
}

int cf_open(cf_env *e, smbw_tree *t, const char *name, int flags, smbw_file **out)
{
    int rc = smbw_file_open(out, t, cf_path(e, name), flags);
    if (rc != 0)
        return rc;
    rc = track(e, *out);
    if (rc != 0)
        *out = NULL;
    return rc;
}

int cf_close(cf_env *e, smbw_file *f)
{
    for (size_t i = 0; i < CF_MAX_FILES; i++)
        if (e->files[i] == f)
            e->files[i] = NULL;
    return smbw_file_free(f);
}

void cf_env_release(cf_env *e)
{
    for (size_t i = 0; i < CF_MAX_FILES; i++) {
        smbw_file_free(e->files[i]);
        e->files[i] = NULL;
    }
    for (size_t i = 0; i < CF_MAX_LINKS; i++) {
        if (e->links[i] != NULL) {
            cf_link_close(e->links[i]);
            free(e->links[i]);
            e->links[i] = NULL;
        }
    }
}

#define FILL_BLOCK (256 * 1024)

int cf_fill(smbw_file *f, uint64_t off, uint64_t len, unsigned seed)
{
    uint8_t *buf = malloc(FILL_BLOCK);
    if (buf == NULL)
        return SMBW_ENOMEM;
    int rc = 0;
    for (uint64_t done = 0; done < len && rc == 0;) {
        size_t n = len - done < FILL_BLOCK ? (size_t)(len - done) : FILL_BLOCK;
        for (size_t i = 0; i < n; i++)
            buf[i] = cf_pattern(off + done + i, seed);
        rc = smbw_file_pwrite(f, buf, n, off + done);
        done += n;
    }
    free(buf);
    return rc;
}

int cf_verify(smbw_file *f, uint64_t off, uint64_t len, uint64_t pat_off, unsigned seed,
              char *where, size_t wherelen)
{
    uint8_t *buf = malloc(FILL_BLOCK);
    if (buf == NULL)
        return SMBW_ENOMEM;
    int rc = 0;
    for (uint64_t done = 0; done < len && rc == 0;) {
        size_t want = len - done < FILL_BLOCK ? (size_t)(len - done) : FILL_BLOCK;
        size_t got = 0;
        rc = smbw_file_pread(f, buf, want, off + done, &got);
        if (rc != 0)
            break;
        if (got < want) {
            snprintf(where, wherelen, "the file ends at %llu, before %llu",
                     (unsigned long long)(off + done + got), (unsigned long long)(off + len));
            rc = 1;
            break;
        }
        for (size_t i = 0; i < want; i++)
            if (buf[i] != cf_pattern(pat_off + done + i, seed)) {
                snprintf(where, wherelen, "byte %llu differs from the source's byte %llu",
                         (unsigned long long)(off + done + i),
                         (unsigned long long)(pat_off + done + i));
                rc = 1;
                break;
            }
        done += want;
    }
    free(buf);
    return rc;
}
