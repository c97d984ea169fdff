/* Kerberos through MIT GSSAPI (RFC 2743, RFC 4121), krb5 mechanism only. */
#include "gssapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>

#include "smbwire/errors.h"
#include "../crypto/crypto.h"

/* 1.2.840.113554.1.2.2 (RFC 1964) */
/* gss_buffer_desc is not const-correct; GSSAPI only reads input buffers. */
static void *unconst(const void *p)
{
    return (void *)(uintptr_t)p;
}

static gss_OID_desc krb5_mech_oid = {9, (void *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"};
/* GSS_C_INQ_SSPI_SESSION_KEY 1.2.840.113554.1.2.2.5.5 */
static gss_OID_desc sspi_session_key_oid = {11,
                                            (void *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x05\x05"};

/* SMB needs integrity and mutual authentication (MS-SMB2 3.2.5.3.1). */
#define REQ_FLAGS (GSS_C_MUTUAL_FLAG | GSS_C_INTEG_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_REPLAY_FLAG)

struct smbw_gss {
    gss_name_t target;
    gss_ctx_id_t ctx;
    bool done;
    char *spn; /* "cifs/host" for messages */
};

/* Appends the text of one status kind to err. */
static void append_status(char *err, size_t errlen, OM_uint32 code, int type)
{
    OM_uint32 minor, msgctx = 0;
    int guard = 0;
    do {
        gss_buffer_desc msg = GSS_C_EMPTY_BUFFER;
        if (GSS_ERROR(gss_display_status(&minor, code, type, GSS_C_NO_OID, &msgctx, &msg)))
            break;
        size_t used = strlen(err);
        if (used + 3 < errlen)
            snprintf(err + used, errlen - used, "%s%.*s", used ? ": " : "", (int)msg.length,
                     (const char *)msg.value);
        gss_release_buffer(&minor, &msg);
    } while (msgctx != 0 && ++guard < 8);
}

static void set_err(char *err, size_t errlen, const char *what, OM_uint32 major, OM_uint32 minor)
{
    if (!err || !errlen)
        return;
    snprintf(err, errlen, "%s", what);
    if (GSS_ROUTINE_ERROR(major) == GSS_S_NO_CRED) {
        size_t used = strlen(err);
        snprintf(err + used, errlen - used,
                 ": no Kerberos credentials (run kinit or set "
                 "KRB5CCNAME)");
    }
    if (GSS_ROUTINE_ERROR(major) || GSS_CALLING_ERROR(major))
        append_status(err, errlen, major, GSS_C_GSS_CODE);
    if (minor)
        append_status(err, errlen, minor, GSS_C_MECH_CODE);
}

int smbw_gss_new(smbw_gss **out, const char *host, char *err, size_t errlen)
{
    OM_uint32 major, minor;
    *out = NULL;
    if (!host || !host[0]) {
        if (err && errlen)
            snprintf(err, errlen, "Kerberos needs the server host name");
        return SMBW_EINVAL;
    }
    smbw_gss *g = calloc(1, sizeof *g);
    if (!g)
        return SMBW_ENOMEM;
    g->target = GSS_C_NO_NAME;
    g->ctx = GSS_C_NO_CONTEXT;
    size_t n = strlen(host) + sizeof "cifs@";
    char *svc = malloc(n);
    g->spn = malloc(n);
    if (!svc || !g->spn) {
        free(svc);
        smbw_gss_free(g);
        return SMBW_ENOMEM;
    }
    snprintf(svc, n, "cifs@%s", host);
    snprintf(g->spn, n, "cifs/%s", host);
    gss_buffer_desc name = {strlen(svc), svc};
    major = gss_import_name(&minor, &name, GSS_C_NT_HOSTBASED_SERVICE, &g->target);
    free(svc);
    if (GSS_ERROR(major)) {
        set_err(err, errlen, "Kerberos: cannot import the service name", major, minor);
        smbw_gss_free(g);
        return SMBW_EKRB5;
    }
    *out = g;
    return 0;
}

int smbw_gss_step(smbw_gss *g, const uint8_t *in, size_t inlen, smbw_buf *out, bool *done,
                  char *err, size_t errlen)
{
    OM_uint32 major, minor, ret_flags = 0;
    gss_buffer_desc input = {inlen, unconst(in)};
    gss_buffer_desc output = GSS_C_EMPTY_BUFFER;
    int rc = 0;

    *done = false;
    if (g->done)
        return SMBW_EINVAL;
    major = gss_init_sec_context(&minor, GSS_C_NO_CREDENTIAL, &g->ctx, g->target, &krb5_mech_oid,
                                 REQ_FLAGS, 0, GSS_C_NO_CHANNEL_BINDINGS,
                                 in ? &input : GSS_C_NO_BUFFER, NULL, &output, &ret_flags, NULL);
    if (GSS_ERROR(major)) {
        char what[300];
        snprintf(what, sizeof what, "Kerberos authentication to %s failed", g->spn);
        set_err(err, errlen, what, major, minor);
        rc = SMBW_EKRB5;
        goto done;
    }
    if (output.length) {
        buf_put(out, output.value, output.length);
        if (out->failed) {
            rc = SMBW_ENOMEM;
            goto done;
        }
    }
    if (major == GSS_S_COMPLETE) {
        if (!(ret_flags & GSS_C_MUTUAL_FLAG) || !(ret_flags & GSS_C_INTEG_FLAG)) {
            if (err && errlen)
                snprintf(err, errlen, "Kerberos: %s did not provide mutual authentication", g->spn);
            rc = SMBW_EAUTH;
            goto done;
        }
        g->done = true;
        *done = true;
    }
done:
    gss_release_buffer(&minor, &output);
    return rc;
}

int smbw_gss_session_key(smbw_gss *g, uint8_t *key, size_t *keylen)
{
    OM_uint32 major, minor;
    gss_buffer_set_t set = GSS_C_NO_BUFFER_SET;
    if (!g->done)
        return SMBW_EINVAL;
    major = gss_inquire_sec_context_by_oid(&minor, g->ctx, &sspi_session_key_oid, &set);
    if (GSS_ERROR(major) || set == GSS_C_NO_BUFFER_SET || set->count < 1 ||
        set->elements[0].length == 0) {
        if (set != GSS_C_NO_BUFFER_SET)
            gss_release_buffer_set(&minor, &set);
        return SMBW_EKRB5;
    }
    size_t n = set->elements[0].length;
    memcpy(key, set->elements[0].value, n < *keylen ? n : *keylen);
    *keylen = n;
    crypto_cleanse(set->elements[0].value, n);
    gss_release_buffer_set(&minor, &set);
    return 0;
}

int smbw_gss_get_mic(smbw_gss *g, const uint8_t *msg, size_t len, smbw_buf *mic)
{
    OM_uint32 major, minor;
    gss_buffer_desc in = {len, unconst(msg)};
    gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;
    if (!g->done)
        return SMBW_EINVAL;
    major = gss_get_mic(&minor, g->ctx, GSS_C_QOP_DEFAULT, &in, &tok);
    if (GSS_ERROR(major))
        return SMBW_EKRB5;
    buf_put(mic, tok.value, tok.length);
    gss_release_buffer(&minor, &tok);
    return mic->failed ? SMBW_ENOMEM : 0;
}

int smbw_gss_verify_mic(smbw_gss *g, const uint8_t *msg, size_t len, const uint8_t *mic,
                        size_t miclen)
{
    OM_uint32 major, minor;
    gss_buffer_desc in = {len, unconst(msg)};
    gss_buffer_desc tok = {miclen, unconst(mic)};
    if (!g->done)
        return SMBW_EINVAL;
    major = gss_verify_mic(&minor, g->ctx, &in, &tok, NULL);
    return (major == GSS_S_COMPLETE) ? 0 : SMBW_EAUTH;
}

void smbw_gss_free(smbw_gss *g)
{
    OM_uint32 minor;
    if (!g)
        return;
    if (g->ctx != GSS_C_NO_CONTEXT)
        gss_delete_sec_context(&minor, &g->ctx, GSS_C_NO_BUFFER);
    if (g->target != GSS_C_NO_NAME)
        gss_release_name(&minor, &g->target);
    free(g->spn);
    free(g);
}
