/* FSCTL_SRV_REQUEST_RESUME_KEY: MS-SMB2 3.3.5.15.5 (handling it) and
 * 2.2.32.3 (the answer). */
#include <stdlib.h>
#include <string.h>

#include "../smbconform.h"

static enum cf_result make_file(cf_env *e, const char *name, smbw_file **f)
{
    int rc = cf_open(e, e->main.t, name, SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC, f);
    if (rc == 0)
        rc = cf_fill(*f, 0, 4096, 1);
    if (rc != 0)
        return cf_error(e, "cannot create %s: %s", name, cf_outcome(e, e->main.c, rc));
    return CF_PASS;
}

/* 3.3.5.15.5: OutputCount MUST be 32; 2.2.32.3: ContextLength is unused and 0. */
static enum cf_result output_size(cf_env *e)
{
    smbw_file *f;
    enum cf_result r = make_file(e, "a.bin", &f);
    if (r != CF_PASS)
        return r;
    void *out = NULL;
    size_t len = 0;
    int rc = cf_resume_key_raw(f, NULL, 0, 4096, &out, &len);
    uint32_t ctxlen = rc == 0 && len >= 28 ? cf_get32((uint8_t *)out + 24) : 0;
    free(out);
    const char *exp = "success, 32 bytes: a 24-byte key and ContextLength 0";
    if (rc != 0)
        return cf_fail(e, exp, "%s", cf_outcome(e, e->main.c, rc));
    if (len != 32 || ctxlen != 0)
        return cf_fail(e, exp, "success, %zu bytes, ContextLength %u", len, ctxlen);
    snprintf(e->expected, sizeof(e->expected), "%s", exp);
    snprintf(e->got, sizeof(e->got), "success, %zu bytes, ContextLength %u", len, ctxlen);
    return CF_PASS;
}

/* 3.3.5.15.5: a MaxOutputResponse exactly the answer's size is enough. */
static enum cf_result max_output_exact(cf_env *e)
{
    smbw_file *f;
    enum cf_result r = make_file(e, "a.bin", &f);
    if (r != CF_PASS)
        return r;
    uint8_t key[24];
    size_t len = 0;
    int rc = cf_resume_key(f, 32, key, &len);
    const char *exp = "success with MaxOutputResponse 32, 32 bytes";
    if (rc != 0)
        return cf_fail(e, exp, "%s", cf_outcome(e, e->main.c, rc));
    if (len != 32)
        return cf_fail(e, exp, "success, %zu bytes", len);
    return CF_PASS;
}

static enum cf_result too_small(cf_env *e, uint32_t max_out)
{
    smbw_file *f;
    enum cf_result r = make_file(e, "a.bin", &f);
    if (r != CF_PASS)
        return r;
    uint8_t key[24];
    int rc = cf_resume_key(f, max_out, key, NULL);
    const char *exp = "STATUS_INVALID_PARAMETER (the answer does not fit)";
    snprintf(e->expected, sizeof(e->expected), "%s", exp);
    snprintf(e->got, sizeof(e->got), "%s", cf_outcome(e, e->main.c, rc));
    if (rc == SMBW_ESTATUS && !smbw_conn_is_dead(e->main.c) &&
        smbw_last_status(e->main.c) == SMBW_STATUS_INVALID_PARAMETER)
        return CF_PASS;
    return CF_FAIL;
}

/* 3.3.5.15.5: "too small to contain an SRV_REQUEST_RESUME_KEY" fails with
 * STATUS_INVALID_PARAMETER. */
static enum cf_result max_output_16(cf_env *e)
{
    return too_small(e, 16);
}

static enum cf_result max_output_zero(cf_env *e)
{
    return too_small(e, 0);
}

/* 3.3.5.15.5: the key identifies the open uniquely among all opens of the
 * server: two opens of one file, an open of another file and an open of the
 * same file on another connection get four different keys. */
static enum cf_result unique_per_open(cf_env *e)
{
    smbw_file *a, *b, *c, *d;
    enum cf_result r = make_file(e, "a.bin", &a);
    if (r != CF_PASS || (r = make_file(e, "b.bin", &c)) != CF_PASS)
        return r;
    int rc = cf_open(e, e->main.t, "a.bin", SMBW_O_RDONLY, &b);
    if (rc != 0)
        return cf_error(e, "cannot open a.bin again: %s", cf_outcome(e, e->main.c, rc));
    cf_link *l;
    if ((rc = cf_connect(e, NULL, &l)) != 0)
        return cf_error(e, "second connection: %s", e->reason);
    if ((rc = cf_open(e, l->t, "a.bin", SMBW_O_RDONLY, &d)) != 0)
        return cf_error(e, "cannot open a.bin on the second connection: %s",
                        cf_outcome(e, l->c, rc));
    uint8_t k[4][24];
    smbw_file *fs[4] = {a, b, c, d};
    const char *what[4] = {"a.bin", "a.bin (second open)", "b.bin", "a.bin (second connection)"};
    for (int i = 0; i < 4; i++) {
        rc = cf_resume_key(fs[i], 32, k[i], NULL);
        if (rc != 0)
            return cf_fail(e, "a key for every open", "FSCTL_SRV_REQUEST_RESUME_KEY on %s: %s",
                           what[i], cf_outcome(e, i == 3 ? l->c : e->main.c, rc));
    }
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            if (memcmp(k[i], k[j], 24) == 0)
                return cf_fail(e, "four different keys", "the same key for %s and %s", what[i],
                               what[j]);
    return CF_PASS;
}

/* The same open asked twice gets the same key (it names the open). */
static enum cf_result stable(cf_env *e)
{
    smbw_file *f;
    enum cf_result r = make_file(e, "a.bin", &f);
    if (r != CF_PASS)
        return r;
    uint8_t k1[24], k2[24];
    int rc = cf_resume_key(f, 32, k1, NULL);
    if (rc == 0)
        rc = cf_resume_key(f, 32, k2, NULL);
    if (rc != 0)
        return cf_fail(e, "two keys", "%s", cf_outcome(e, e->main.c, rc));
    if (memcmp(k1, k2, 24) != 0)
        return cf_fail(e, "the same key twice", "two different keys");
    return CF_PASS;
}

/* 3.3.5.15.5 asks for no access right: a write-only open gets a key too. */
static enum cf_result write_only_open(cf_env *e)
{
    smbw_file *f, *w;
    enum cf_result r = make_file(e, "a.bin", &f);
    if (r != CF_PASS)
        return r;
    int rc = cf_open(e, e->main.t, "a.bin", SMBW_O_WRONLY, &w);
    if (rc != 0)
        return cf_error(e, "cannot open a.bin write-only: %s", cf_outcome(e, e->main.c, rc));
    uint8_t key[24];
    size_t len = 0;
    rc = cf_resume_key(w, 32, key, &len);
    if (rc != 0)
        return cf_fail(e, "success, 32 bytes", "%s", cf_outcome(e, e->main.c, rc));
    return CF_PASS;
}

/* The request has no input; input sent anyway is not looked at. */
static enum cf_result input_ignored(cf_env *e)
{
    smbw_file *f;
    enum cf_result r = make_file(e, "a.bin", &f);
    if (r != CF_PASS)
        return r;
    uint8_t junk[32];
    memset(junk, 0x5A, sizeof(junk));
    void *out = NULL;
    size_t len = 0;
    int rc = cf_resume_key_raw(f, junk, sizeof(junk), 32, &out, &len);
    free(out);
    snprintf(e->expected, sizeof(e->expected), "success, 32 bytes");
    snprintf(e->got, sizeof(e->got), "%s, %zu bytes", cf_outcome(e, e->main.c, rc), len);
    return rc == 0 && len == 32 ? CF_PASS : CF_FAIL;
}

/* The key names the open, not the path: after the source is renamed through
 * its open, the key still copies from it. */
static enum cf_result survives_rename(cf_env *e)
{
    smbw_file *s, *d;
    uint8_t key[24];
    int rc = cf_make_source(e, "a.bin", 0, 64 * 1024, &s, key);
    if (rc == 0)
        rc = smbw_file_rename(s, cf_path(e, "b.bin"), false);
    if (rc == 0)
        rc = cf_open(e, e->main.t, "dst.bin", SMBW_O_WRONLY | SMBW_O_CREAT, &d);
    if (rc != 0)
        return cf_error(e, "cannot set up the renamed source: %s", cf_outcome(e, e->main.c, rc));
    cf_chunk ch = {0, 0, 64 * 1024};
    return cf_copied(e, d, "dst.bin", SMBW_FSCTL_SRV_COPYCHUNK_WRITE, key, &ch, 1);
}

const cf_case cf_cases_resume_key[] = {
    {"resume_key_output_size", "MS-SMB2 3.3.5.15.5",
     "the answer is 32 bytes: a 24-byte key and ContextLength 0", output_size},
    {"resume_key_max_output_exact", "MS-SMB2 3.3.5.15.5",
     "MaxOutputResponse 32 (exactly the answer) is enough", max_output_exact},
    {"resume_key_max_output_too_small", "MS-SMB2 3.3.5.15.5",
     "MaxOutputResponse 16 fails with STATUS_INVALID_PARAMETER", max_output_16},
    {"resume_key_max_output_zero", "MS-SMB2 3.3.5.15.5",
     "MaxOutputResponse 0 fails with STATUS_INVALID_PARAMETER", max_output_zero},
    {"resume_key_unique_per_open", "MS-SMB2 3.3.5.15.5",
     "two opens of a file, another file and another connection's open get distinct keys",
     unique_per_open},
    {"resume_key_stable", "MS-SMB2 3.3.5.15.5", "the same open asked twice gets the same key",
     stable},
    {"resume_key_write_only_open", "MS-SMB2 3.3.5.15.5",
     "a write-only open gets a key (the request needs no access right)", write_only_open},
    {"resume_key_input_ignored", "MS-SMB2 2.2.31",
     "32 bytes of input (the request has none) are ignored: the 32-byte answer", input_ignored},
    {"resume_key_survives_rename", "MS-SMB2 3.3.5.15.6",
     "a key copies from its open after the file was renamed through that open", survives_rename},
    {NULL, NULL, NULL, NULL},
};
