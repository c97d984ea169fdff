/* SPNEGO-driven client authentication for SMB2 SESSION_SETUP (MS-SPNG,
 * RFC 4178): NTLMSSP (ntlmssp.c) or Kerberos (gssapi.c). */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smbw_config.h"
#include "smbwire/errors.h"
#include "../crypto/crypto.h"
#include "ntlmssp.h"
#include "spnego.h"
#if SMBW_HAVE_GSSAPI
#include "gssapi.h"
#endif

enum {
    ST_START = 0,  /* nothing sent */
    ST_INIT_SENT,  /* NegTokenInit sent, waiting for the server's reply */
    ST_FINAL_SENT, /* our last token sent, waiting for accept-completed */
    ST_DONE,       /* finished */
    ST_FAILED,     /* an earlier step failed: no more steps */
};

struct smbw_auth {
    enum auth_mech requested;
    enum auth_mech used;
    int state;
    bool kerberos; /* current mechanism is Kerberos */
    bool fallback_ok;
    bool sent_mic; /* we sent a mechListMIC: the server must answer with one */
    bool key_ready;
    ntlm_ctx *ntlm;
#if SMBW_HAVE_GSSAPI
    smbw_gss *gss;
    bool gss_done;
#endif
    char *target_host;
    enum spnego_mech mechs[2];
    int n_mechs;
    smbw_buf mech_types; /* DER MechTypeList we sent (mechListMIC input) */
    uint8_t key[32];
    size_t keylen;
    char errmsg[512];
};

static void set_msg(smbw_auth *a, const char *msg)
{
    snprintf(a->errmsg, sizeof a->errmsg, "%s", msg);
}

static int fail(smbw_auth *a, int rc, const char *msg)
{
    if (msg)
        set_msg(a, msg);
    a->state = ST_FAILED;
    return rc;
}

static int make_ntlm(smbw_auth *a, const auth_params *p, enum auth_mech mech)
{
    ntlm_creds cr = {0};
    cr.workstation = p->workstation;
    cr.target_host = p->target_host;
    cr.domain = p->domain;
    switch (mech) {
    case AUTH_ANONYMOUS:
        cr.anonymous = true;
        cr.domain = NULL;
        break;
    case AUTH_GUEST:
        cr.user = (p->user && p->user[0]) ? p->user : "guest";
        cr.password = "";
        break;
    default:
        cr.user = p->user;
        cr.password = p->password ? p->password : "";
        break;
    }
    return ntlm_new(&a->ntlm, &cr);
}

int auth_new(smbw_auth **out, const auth_params *p)
{
    int rc;
    *out = NULL;
    if (!p || (int)p->mech < AUTH_NTLM || p->mech > AUTH_KERBEROS)
        return SMBW_EINVAL;
    if (p->mech == AUTH_NTLM && (!p->user || !p->user[0]))
        return SMBW_EINVAL;
    if (p->mech == AUTH_KERBEROS && (!p->target_host || !p->target_host[0]))
        return SMBW_EINVAL;

    smbw_auth *a = calloc(1, sizeof *a);
    if (!a)
        return SMBW_ENOMEM;
    buf_init(&a->mech_types);
    a->requested = p->mech;
    a->used = p->mech;

    if (p->mech != AUTH_KERBEROS) {
        rc = make_ntlm(a, p, p->mech);
        if (rc)
            goto err;
        a->mechs[0] = SPNEGO_MECH_NTLMSSP;
        a->n_mechs = 1;
        *out = a;
        return 0;
    }

    /* Kerberos. NTLM is prepared now (so the password is not kept) when a
     * fallback is allowed and there is a user to fall back to. */
    if (p->krb5_allow_ntlm_fallback && p->user && p->user[0]) {
        a->fallback_ok = true;
        rc = make_ntlm(a, p, AUTH_NTLM);
        if (rc)
            goto err;
    }
#if SMBW_HAVE_GSSAPI
    a->target_host = strdup(p->target_host);
    if (!a->target_host) {
        rc = SMBW_ENOMEM;
        goto err;
    }
    a->kerberos = true;
    a->mechs[0] = SPNEGO_MECH_MS_KRB5;
    a->mechs[1] = SPNEGO_MECH_KRB5;
    a->n_mechs = 2;
#else
    if (!a->fallback_ok) {
        rc = SMBW_ENOTSUP;
        goto err;
    }
    set_msg(a, "Kerberos support is not built in; using NTLM instead");
    a->used = AUTH_NTLM;
    a->mechs[0] = SPNEGO_MECH_NTLMSSP;
    a->n_mechs = 1;
#endif
    *out = a;
    return 0;
err:
    auth_free(a);
    return rc;
}

/* Switches from Kerberos to NTLM before anything was sent (never silently:
 * the reason stays in errmsg and auth_mech_used says NTLM). */
static bool try_fallback(smbw_auth *a, const char *why)
{
    if (!a->fallback_ok || !a->ntlm)
        return false;
    char msg[sizeof a->errmsg];
    snprintf(msg, sizeof msg, "%s; falling back to NTLM", why);
    set_msg(a, msg);
    a->kerberos = false;
    a->used = AUTH_NTLM;
    a->mechs[0] = SPNEGO_MECH_NTLMSSP;
    a->n_mechs = 1;
    return true;
}

static int step_start(smbw_auth *a, const uint8_t *in, size_t inlen, smbw_buf *out)
{
    spnego_init si = {0};
    smbw_buf tok;
    int rc;

    /* The NEGOTIATE response's buffer may be empty (MS-SMB2 3.2.5.2); when
     * present it is the server's NegTokenInit2 listing its mechanisms. */
    bool have_list = false;
    if (inlen) {
        if (spnego_decode_init(in, inlen, &si))
            return fail(a, SMBW_EPROTO, "malformed SPNEGO token in the NEGOTIATE response");
        have_list = si.n_mechs > 0;
    }
    if (a->kerberos && have_list &&
        !(si.offered & ((1u << SPNEGO_MECH_MS_KRB5) | (1u << SPNEGO_MECH_KRB5)))) {
        if (!try_fallback(a, "the server does not offer Kerberos"))
            return fail(a, SMBW_EAUTH, "the server does not offer Kerberos");
    }

    buf_init(&tok);
#if SMBW_HAVE_GSSAPI
    if (a->kerberos) {
        char err[sizeof a->errmsg];
        err[0] = 0;
        bool done = false;
        rc = smbw_gss_new(&a->gss, a->target_host, err, sizeof err);
        if (!rc)
            rc = smbw_gss_step(a->gss, NULL, 0, &tok, &done, err, sizeof err);
        if (!rc && done) /* mutual auth cannot be done in one leg */
            rc = SMBW_EAUTH;
        if (rc) {
            smbw_gss_free(a->gss);
            a->gss = NULL;
            buf_free(&tok);
            if (rc == SMBW_ENOMEM)
                return fail(a, rc, "out of memory");
            if (!try_fallback(a, err[0] ? err : "Kerberos failed"))
                return fail(a, rc, err[0] ? err : "Kerberos failed");
            buf_init(&tok);
        }
    }
#endif
    if (!a->kerberos) {
        if (have_list && !(si.offered & (1u << SPNEGO_MECH_NTLMSSP))) {
            buf_free(&tok);
            return fail(a, SMBW_EAUTH, "the server does not offer NTLMSSP");
        }
        rc = ntlm_negotiate(a->ntlm, &tok);
        if (rc) {
            buf_free(&tok);
            return fail(a, rc, "cannot build the NTLM NEGOTIATE message");
        }
    }
    buf_reset(&a->mech_types);
    rc = spnego_encode_mech_types(a->mechs, a->n_mechs, &a->mech_types);
    if (!rc)
        rc = spnego_encode_init(a->mechs, a->n_mechs, tok.p, tok.len, out);
    buf_free(&tok);
    if (rc)
        return fail(a, rc, "cannot encode the SPNEGO NegTokenInit");
    a->state = ST_INIT_SENT;
    return AUTH_CONTINUE;
}

static int check_reject(smbw_auth *a, const spnego_resp *r)
{
    if (r->neg_state == SPNEGO_REJECT)
        return fail(a, SMBW_EAUTH, "the server rejected the authentication (SPNEGO reject)");
    return 0;
}

static int step_ntlm_challenge(smbw_auth *a, const spnego_resp *r, smbw_buf *out)
{
    smbw_buf tok;
    uint8_t sig[16];
    int rc;

    if (r->neg_state != SPNEGO_ACCEPT_INCOMPLETE && r->neg_state != SPNEGO_REQUEST_MIC &&
        r->neg_state != SPNEGO_NO_STATE)
        return fail(a, SMBW_EPROTO, "unexpected SPNEGO state instead of the NTLM challenge");
    if (r->have_supported_mech && r->supported_mech != SPNEGO_MECH_NTLMSSP)
        return fail(a, SMBW_EPROTO, "the server selected a mechanism we did not offer");
    if (!r->have_token || r->token_len == 0)
        return fail(a, SMBW_EPROTO, "SPNEGO reply without the NTLM CHALLENGE message");
    buf_init(&tok);
    rc = ntlm_authenticate(a->ntlm, r->token, r->token_len, &tok);
    if (rc) {
        buf_free_secret(&tok);
        if (rc == SMBW_EPROTO)
            return fail(a, rc, "malformed NTLM CHALLENGE message");
        if (rc == SMBW_ENOTSUP)
            return fail(a, rc, "the server refused NTLMv2 with extended session security");
        return fail(a, rc, "cannot build the NTLM AUTHENTICATE message");
    }
    /* mechListMIC (MS-SPNG 3.2.5.1): sent when NTLM put a MIC in the
     * AUTHENTICATE message, or when the server asks for one. */
    bool mic =
        ntlm_can_sign(a->ntlm) && (ntlm_mic_sent(a->ntlm) || r->neg_state == SPNEGO_REQUEST_MIC);
    if (mic) {
        rc = ntlm_sign(a->ntlm, a->mech_types.p, a->mech_types.len, sig);
        if (rc) {
            buf_free_secret(&tok);
            return fail(a, rc, "cannot sign the SPNEGO mechListMIC");
        }
    }
    rc = spnego_encode_resp(SPNEGO_NO_STATE, SPNEGO_MECH_OTHER, tok.p, tok.len, mic ? sig : NULL,
                            16, out);
    buf_free_secret(&tok);
    if (rc)
        return fail(a, rc, "cannot encode the SPNEGO NegTokenResp");
    a->sent_mic = mic;
    a->keylen = 16;
    rc = ntlm_session_key(a->ntlm, a->key);
    if (rc)
        return fail(a, rc, NULL);
    a->key_ready = true;
    a->state = ST_FINAL_SENT;
    return AUTH_DONE;
}

/* The server's last NegTokenResp after our final token (or, for Kerberos,
 * a reply with nothing more to process). */
static int step_final(smbw_auth *a, const uint8_t *in, size_t inlen, smbw_buf *out)
{
    spnego_resp r;
    if (inlen == 0) {
        /* Some servers (impacket) send no token on success. We offer a
         * single mechanism family, so the mechListMIC guards no choice a
         * downgrade could change (RFC 4178 section 5: optional when the
         * initiator's first mechanism was taken); the server's proof of the
         * session key is the signed final SESSION_SETUP response. */
        a->state = ST_DONE;
        return AUTH_DONE;
    }
    if (spnego_decode_resp(in, inlen, &r))
        return fail(a, SMBW_EPROTO, "malformed SPNEGO NegTokenResp");
    if (check_reject(a, &r))
        return SMBW_EAUTH;
    if (r.neg_state != SPNEGO_ACCEPT_COMPLETED)
        return fail(a, SMBW_EPROTO, "the server did not complete SPNEGO");
    if (r.have_token && r.token_len)
        return fail(a, SMBW_EPROTO, "unexpected mechanism token after authentication");
    if (r.have_mic) {
        int rc = SMBW_EAUTH;
        if (!a->kerberos && ntlm_can_sign(a->ntlm))
            rc = ntlm_verify(a->ntlm, a->mech_types.p, a->mech_types.len, r.mic, r.mic_len);
#if SMBW_HAVE_GSSAPI
        else if (a->kerberos && a->gss)
            rc = smbw_gss_verify_mic(a->gss, a->mech_types.p, a->mech_types.len, r.mic, r.mic_len);
#endif
        /* A fuzzing build (tests/fuzz only) ignores a MIC mismatch like an
         * SMB2 signature mismatch: a recorded server stream carries a MIC
         * over other session keys. */
        if (rc && !SMBW_FUZZING)
            return fail(a, SMBW_EAUTH, "the server's SPNEGO mechListMIC does not verify");
    } else if (a->sent_mic) {
        /* Optional for the same reason as above: one mechanism offered and
         * taken, nothing for a MIC to protect. A MIC that is present must
         * verify. */
    }
    a->state = ST_DONE;
    return AUTH_DONE;
}

#if SMBW_HAVE_GSSAPI
static int step_krb5_reply(smbw_auth *a, const spnego_resp *r, smbw_buf *out)
{
    int rc;
    if (r->have_supported_mech && r->supported_mech != SPNEGO_MECH_MS_KRB5 &&
        r->supported_mech != SPNEGO_MECH_KRB5)
        return fail(a, SMBW_EPROTO, "the server selected a mechanism we did not offer");
    if (r->neg_state == SPNEGO_NO_STATE)
        return fail(a, SMBW_EPROTO, "SPNEGO reply without negState");
    if (!a->gss_done) {
        smbw_buf tok;
        bool done = false;
        char err[sizeof a->errmsg];
        err[0] = 0;
        if (!r->have_token)
            return fail(a, SMBW_EAUTH,
                        "the server sent no Kerberos reply (no mutual "
                        "authentication)");
        buf_init(&tok);
        rc = smbw_gss_step(a->gss, r->token, r->token_len, &tok, &done, err, sizeof err);
        if (rc) {
            buf_free(&tok);
            return fail(a, rc, err[0] ? err : "Kerberos failed");
        }
        if (!done) {
            if (r->neg_state == SPNEGO_ACCEPT_COMPLETED) {
                buf_free(&tok);
                return fail(a, SMBW_EAUTH, "SPNEGO completed before Kerberos did");
            }
            rc = spnego_encode_resp(SPNEGO_NO_STATE, SPNEGO_MECH_OTHER, tok.p, tok.len, NULL, 0,
                                    out);
            buf_free(&tok);
            if (rc)
                return fail(a, rc, "cannot encode the SPNEGO NegTokenResp");
            return AUTH_CONTINUE;
        }
        buf_free(&tok);
        a->gss_done = true;
        a->keylen = sizeof a->key;
        rc = smbw_gss_session_key(a->gss, a->key, &a->keylen);
        if (rc || a->keylen > sizeof a->key || a->keylen == 0)
            return fail(a, SMBW_EKRB5, "Kerberos: no session key in the security context");
        a->key_ready = true;
    } else if (r->have_token && r->token_len) {
        return fail(a, SMBW_EPROTO, "unexpected Kerberos token after authentication");
    }
    if (r->have_mic &&
        smbw_gss_verify_mic(a->gss, a->mech_types.p, a->mech_types.len, r->mic, r->mic_len))
        return fail(a, SMBW_EAUTH, "the server's SPNEGO mechListMIC does not verify");
    if (r->neg_state == SPNEGO_ACCEPT_COMPLETED) {
        a->state = ST_DONE;
        return AUTH_DONE;
    }
    /* accept-incomplete / request-mic with the context established: the
     * server wants our mechListMIC (RFC 4178 section 5). */
    smbw_buf mic;
    buf_init(&mic);
    rc = smbw_gss_get_mic(a->gss, a->mech_types.p, a->mech_types.len, &mic);
    if (!rc)
        rc = spnego_encode_resp(SPNEGO_NO_STATE, SPNEGO_MECH_OTHER, NULL, 0, mic.p, mic.len, out);
    buf_free(&mic);
    if (rc)
        return fail(a, rc, "cannot produce the SPNEGO mechListMIC");
    a->sent_mic = true;
    a->state = ST_FINAL_SENT;
    return AUTH_DONE;
}
#endif

int auth_step(smbw_auth *a, const uint8_t *in, size_t inlen, smbw_buf *out)
{
    spnego_resp r;

    if (!a || !out || (inlen && !in))
        return SMBW_EINVAL;
    buf_reset(out);
    switch (a->state) {
    case ST_START:
        return step_start(a, in, inlen, out);
    case ST_INIT_SENT:
        if (inlen == 0)
            return fail(a, SMBW_EPROTO, "empty SPNEGO reply from the server");
        if (spnego_decode_resp(in, inlen, &r))
            return fail(a, SMBW_EPROTO, "malformed SPNEGO NegTokenResp");
        if (check_reject(a, &r))
            return SMBW_EAUTH;
#if SMBW_HAVE_GSSAPI
        if (a->kerberos)
            return step_krb5_reply(a, &r, out);
#endif
        if (r.neg_state == SPNEGO_ACCEPT_COMPLETED)
            return fail(a, SMBW_EPROTO, "SPNEGO completed before NTLM did");
        return step_ntlm_challenge(a, &r, out);
    case ST_FINAL_SENT:
        return step_final(a, in, inlen, out);
    case ST_DONE:
        /* Nothing more to process; only an empty buffer is acceptable. */
        return inlen ? SMBW_EINVAL : AUTH_DONE;
    default:
        return SMBW_EINVAL;
    }
}

int auth_session_key(smbw_auth *a, uint8_t *key, size_t *keylen)
{
    if (!a || !keylen || !a->key_ready)
        return SMBW_EINVAL;
    size_t n = a->keylen < *keylen ? a->keylen : *keylen;
    if (n)
        memcpy(key, a->key, n);
    *keylen = a->keylen;
    return 0;
}

const char *auth_errmsg(const smbw_auth *a)
{
    if (!a)
        return "";
    return a->errmsg;
}

enum auth_mech auth_mech_used(const smbw_auth *a)
{
    return a ? a->used : AUTH_NTLM;
}

void auth_free(smbw_auth *a)
{
    if (!a)
        return;
    ntlm_free(a->ntlm);
#if SMBW_HAVE_GSSAPI
    smbw_gss_free(a->gss);
#endif
    free(a->target_host);
    buf_free(&a->mech_types);
    crypto_cleanse(a, sizeof *a);
    free(a);
}
