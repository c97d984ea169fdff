/* Connection setup as build/apply steps (see setup.h). */
#include "setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../auth/auth.h"
#include "../crypto/crypto.h"
#include "../util/status.h"
#include "smbw_config.h"

static const uint16_t all_dialects[] = {SMBW_SMB2_02, SMBW_SMB2_10, SMBW_SMB3_00, SMBW_SMB3_02,
                                        SMBW_SMB3_11};

int core_status_error(smbw_conn *c, uint32_t status, const char *what)
{
    int err = smbw_status_to_error(status);
    if (!err)
        err = SMBW_ESTATUS;
    return core_set_error(c, err, status, "%s: %s (%s)", what, smbw_strerror(err),
                          smbw_status_name(status));
}

const char *setup_sign_alg_name(uint16_t a)
{
    switch (a) {
    case SMB2_SIGN_ALG_HMAC_SHA256:
        return "HMAC-SHA256";
    case SMB2_SIGN_ALG_AES_CMAC:
        return "AES-128-CMAC";
    case SMB2_SIGN_ALG_AES_GMAC:
        return "AES-128-GMAC";
    default:
        return "unknown";
    }
}

const char *setup_cipher_name(uint16_t c)
{
    switch (c) {
    case SMB2_ENCRYPTION_AES128_CCM:
        return "AES-128-CCM";
    case SMB2_ENCRYPTION_AES128_GCM:
        return "AES-128-GCM";
    case SMB2_ENCRYPTION_AES256_CCM:
        return "AES-256-CCM";
    case SMB2_ENCRYPTION_AES256_GCM:
        return "AES-256-GCM";
    default:
        return "none";
    }
}

/* ---- NEGOTIATE -------------------------------------------------------------- */

static void msg_init(core_msg *m, uint16_t command)
{
    memset(m, 0, sizeof *m);
    m->command = command;
    buf_init(&m->body);
}

int setup_negotiate_build(smbw_conn *c, core_msg *m)
{
    msg_init(m, SMB2_NEGOTIATE);
    uint16_t dialects[5];
    uint16_t nd = 0;
    for (size_t i = 0; i < sizeof all_dialects / sizeof all_dialects[0]; i++)
        if (all_dialects[i] >= c->dialect_min && all_dialects[i] <= c->dialect_max)
            dialects[nd++] = all_dialects[i];
    smb2_negotiate_req req;
    memset(&req, 0, sizeof req);
    c->client_security_mode = SMB2_NEGOTIATE_SIGNING_ENABLED;
    if (c->sign_policy == SMBW_SIGN_REQUIRED)
        c->client_security_mode |= SMB2_NEGOTIATE_SIGNING_REQUIRED;
    req.security_mode = c->client_security_mode;
    c->client_caps = 0;
    if (c->dialect_max >= SMBW_SMB2_10)
        c->client_caps |= SMB2_GLOBAL_CAP_LARGE_MTU;
    if (c->dialect_max >= SMBW_SMB3_00)
        c->client_caps |= SMB2_GLOBAL_CAP_ENCRYPTION;
    req.capabilities = c->client_caps;
    if ((!c->keep_client_guid && crypto_random(c->client_guid, 16)) ||
        crypto_random(req.salt, sizeof req.salt))
        return core_set_error(c, SMBW_ECRYPTO, 0, "no random bytes");
    memcpy(req.client_guid, c->client_guid, 16);
    req.dialects = dialects;
    req.dialect_count = nd;
    memcpy(c->offered, dialects, sizeof dialects);
    c->noffered = nd;
    req.ciphers = c->ciphers;
    req.cipher_count = (uint16_t)c->ncipher;
    req.sign_algs = c->sign_algs;
    req.sign_alg_count = (uint16_t)c->nsign_alg;
    req.netname = c->host;
    req.extra_ctx_type = c->extra_ctx_type;
    req.extra_ctx = c->extra_ctx;
    req.extra_ctx_len = c->extra_ctx_len;
    memset(c->preauth, 0, 64);
    m->preauth_hash = c->preauth;
    if (wire_encode_negotiate(&m->body, &req) != 0 || m->body.failed) {
        buf_free(&m->body);
        return core_set_error(c, SMBW_ENOMEM, 0, "cannot build NEGOTIATE");
    }
    return 0;
}

/* Dialect-dependent choices: the pre-auth hash, cipher and signing algorithm. */
static int negotiate_security(smbw_conn *c, const smb2_negotiate_rsp *nr, const uint8_t *msg,
                              size_t len)
{
    if (c->dialect == SMBW_SMB3_11) {
        if (!nr->have_preauth || nr->preauth_hash_alg != SMB2_PREAUTH_SHA512) {
            core_kill(c, SMBW_EPROTO, "SMB 3.1.1 NEGOTIATE response without SHA-512 preauth");
            return SMBW_EPROTO;
        }
        crypto_iov iov[2] = {{c->preauth, 64}, {msg, len}};
        if (crypto_sha512(iov, 2, c->preauth) != 0)
            return core_set_error(c, SMBW_ECRYPTO, 0, "SHA-512 failed");
        c->cipher = nr->have_cipher ? nr->cipher : 0;
        if (c->cipher) {
            bool ok = false;
            for (int i = 0; i < c->ncipher; i++)
                ok |= c->ciphers[i] == c->cipher;
            if (!ok) {
                core_kill(c, SMBW_EPROTO, "server chose cipher %u which was not offered",
                          c->cipher);
                return SMBW_EPROTO;
            }
        }
        c->sign_alg = SMB2_SIGN_ALG_AES_CMAC;
        if (nr->have_signing) {
            bool offered = false;
            for (int i = 0; i < c->nsign_alg; i++)
                offered |= c->sign_algs[i] == nr->signing_alg;
            if (!offered) {
                core_kill(c, SMBW_EPROTO,
                          "server chose signing algorithm %u, which was not offered",
                          nr->signing_alg);
                return SMBW_EPROTO;
            }
            c->sign_alg = nr->signing_alg;
        }
    } else if (c->dialect >= SMBW_SMB3_00) {
        c->sign_alg = SMB2_SIGN_ALG_AES_CMAC;
        c->cipher = (c->server_caps & SMB2_GLOBAL_CAP_ENCRYPTION) ? SMB2_ENCRYPTION_AES128_CCM : 0;
    } else {
        c->sign_alg = SMB2_SIGN_ALG_HMAC_SHA256;
        c->cipher = 0;
    }
    return 0;
}

int setup_negotiate_apply(smbw_conn *c, const smb2_hdr *h, const uint8_t *msg, size_t len)
{
    if (h->status != SMBW_STATUS_SUCCESS) {
        int rc = core_status_error(c, h->status, "NEGOTIATE");
        return rc == SMBW_ENOTSUP ? SMBW_EDIALECT : rc;
    }
    smb2_negotiate_rsp nr;
    if (wire_decode_negotiate(msg, len, &nr) != 0) {
        core_kill(c, SMBW_EPROTO, "malformed NEGOTIATE response");
        return SMBW_EPROTO;
    }
    bool offered = false;
    for (int i = 0; i < c->noffered; i++)
        offered |= c->offered[i] == nr.dialect;
    if (!offered) {
        core_kill(c, SMBW_EPROTO, "server chose dialect 0x%04x which was not offered", nr.dialect);
        return SMBW_EPROTO;
    }
    if (nr.max_read < 4096 || nr.max_write < 4096 || nr.max_transact < 4096) {
        core_kill(c, SMBW_EPROTO, "server announced unusable maximum sizes (%u/%u/%u)", nr.max_read,
                  nr.max_write, nr.max_transact);
        return SMBW_EPROTO;
    }
    c->dialect = nr.dialect;
    c->server_security_mode = nr.security_mode;
    c->server_caps = nr.capabilities;
    memcpy(c->server_guid, nr.server_guid, 16);
    /* Our own ceilings: 8 MiB per READ/WRITE, 64 KiB without LARGE_MTU. */
    uint32_t cap = (c->dialect >= SMBW_SMB2_10 && (c->server_caps & SMB2_GLOBAL_CAP_LARGE_MTU))
                       ? (8u << 20)
                       : 65536u;
    c->max_read = nr.max_read < cap ? nr.max_read : cap;
    c->max_write = nr.max_write < cap ? nr.max_write : cap;
    c->max_transact = nr.max_transact < cap ? nr.max_transact : cap;
    uint32_t mx = c->max_read;
    if (c->max_write > mx)
        mx = c->max_write;
    if (c->max_transact > mx)
        mx = c->max_transact;
    c->max_frame = (size_t)mx + 65536 + 128;
    int rc = negotiate_security(c, &nr, msg, len);
    if (rc)
        return rc;
    free(c->neg_token);
    c->neg_token = NULL;
    c->neg_token_len = 0;
    if (nr.security_buffer_len) {
        c->neg_token = malloc(nr.security_buffer_len);
        if (!c->neg_token)
            return SMBW_ENOMEM;
        memcpy(c->neg_token, nr.security_buffer, nr.security_buffer_len);
        c->neg_token_len = nr.security_buffer_len;
    }
    core_log(c, SMBW_LOG_INFO,
             "negotiated %s: capabilities 0x%x, security mode 0x%x, max read/write/transact "
             "%u/%u/%u, signing %s, cipher %s",
             smbw_dialect_name(c->dialect), c->server_caps, c->server_security_mode, c->max_read,
             c->max_write, c->max_transact, setup_sign_alg_name(c->sign_alg),
             setup_cipher_name(c->cipher));
    if (c->encrypt_policy == SMBW_ENCRYPT_REQUIRED && !c->cipher) {
        core_kill(c, SMBW_EPOLICY,
                  "encryption required, but dialect %s with this server "
                  "offers no encryption",
                  smbw_dialect_name(c->dialect));
        return SMBW_EPOLICY;
    }
    return 0;
}

/* ---- SESSION_SETUP ---------------------------------------------------------- */

void setup_sess_unlink(struct smbw_session *s)
{
    smbw_conn *c = s->conn;
    if (!c)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else if (c->sessions == s)
        c->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

void setup_sess_destroy(struct smbw_session *s)
{
    free(s->re_user);
    free(s->re_domain);
    free(s->re_target);
    core_sess_gmac_reset(s);
    crypto_cleanse(s, sizeof *s);
    free(s);
}

static const char *kind_name(int kind)
{
    return kind == SMBW_AUTH_NTLM       ? "NTLMv2"
           : kind == SMBW_AUTH_KERBEROS ? "Kerberos"
           : kind == SMBW_AUTH_GUEST    ? "guest"
                                        : "anonymous";
}

int setup_sess_begin(setup_sess *st, smbw_conn *c, const smbw_creds *creds)
{
    memset(st, 0, sizeof *st);
    buf_init(&st->in);
    buf_init(&st->tok);
    st->c = c;
    auth_params ap;
    memset(&ap, 0, sizeof ap);
    switch (creds->kind) {
    case SMBW_AUTH_NTLM:
        ap.mech = AUTH_NTLM;
        if (!creds->user || !*creds->user)
            return core_set_error(c, SMBW_EINVAL, 0, "no user name given");
        break;
    case SMBW_AUTH_ANONYMOUS:
        ap.mech = AUTH_ANONYMOUS;
        break;
    case SMBW_AUTH_GUEST:
        ap.mech = AUTH_GUEST;
        break;
    case SMBW_AUTH_KERBEROS:
        ap.mech = AUTH_KERBEROS;
        break;
    default:
        return SMBW_EINVAL;
    }
    st->kind = (int)creds->kind;
    ap.user = creds->user;
    ap.domain = creds->domain;
    ap.password = creds->password;
    ap.target_host = creds->target_host ? creds->target_host : c->host;
    ap.krb5_allow_ntlm_fallback =
        creds->kind == SMBW_AUTH_KERBEROS && creds->kerberos_fallback_ntlm;
    core_log(c, SMBW_LOG_INFO, "authenticating as %s%s%s (%s)",
             ap.domain && *ap.domain ? ap.domain : "", ap.domain && *ap.domain ? "\\" : "",
             ap.user ? ap.user : "", kind_name(st->kind));
    int rc = auth_new(&st->a, &ap);
    if (rc)
        return core_set_error(c, rc, 0, "authentication setup failed: %s", smbw_strerror(rc));
    struct smbw_session *s = calloc(1, sizeof *s);
    if (!s) {
        auth_free(st->a);
        st->a = NULL;
        return SMBW_ENOMEM;
    }
    s->conn = c;
    memcpy(s->preauth, c->preauth, 64);
    s->re_kind = (int)creds->kind;
    s->re_fallback = creds->kerberos_fallback_ntlm;
    if ((creds->user && !(s->re_user = strdup(creds->user))) ||
        (creds->domain && !(s->re_domain = strdup(creds->domain))) ||
        (creds->target_host && !(s->re_target = strdup(creds->target_host)))) {
        setup_sess_destroy(s);
        auth_free(st->a);
        st->a = NULL;
        return SMBW_ENOMEM;
    }
    s->next = c->sessions;
    if (c->sessions)
        c->sessions->prev = s;
    c->sessions = s;
    st->s = s;
    return 0;
}

int setup_sess_build(setup_sess *st, core_msg *m)
{
    smbw_conn *c = st->c;
    msg_init(m, SMB2_SESSION_SETUP);
    const uint8_t *in = st->have_in ? st->in.p : c->neg_token;
    size_t inlen = st->have_in ? st->in.len : c->neg_token_len;
    int step = auth_step(st->a, in, inlen, &st->tok);
    if (step < 0)
        return core_set_error(c, step, 0, "authentication failed: %s", auth_errmsg(st->a));
    if (++st->legs > 8)
        return core_set_error(c, SMBW_EPROTO, 0, "too many SESSION_SETUP round trips");
    st->last_step = step;
    m->session_id_override = st->s->id;
    if (c->dialect == SMBW_SMB3_11)
        m->preauth_hash = st->s->preauth;
    smb2_session_setup_req sr;
    memset(&sr, 0, sizeof sr);
    sr.security_mode = (uint8_t)c->client_security_mode; /* the flags fit one byte (2.2.5) */
    sr.token = st->tok.p;
    sr.token_len = st->tok.len;
    sr.previous_session_id = st->previous;
    if (wire_encode_session_setup(&m->body, &sr) != 0) {
        buf_free(&m->body);
        return core_set_error(c, SMBW_EINVAL, 0, "security token too large");
    }
    return 0;
}

/* Completes a successful session setup: keys, signing, encryption, and the
 * check of the final response's signature. */
static int session_activate(setup_sess *st, const smb2_hdr *h, const uint8_t *msg, size_t len,
                            uint16_t session_flags)
{
    smbw_conn *c = st->c;
    struct smbw_session *s = st->s;
    int kind = st->kind;
    s->is_guest = (session_flags & SMB2_SESSION_FLAG_IS_GUEST) != 0;
    s->is_anonymous = (session_flags & SMB2_SESSION_FLAG_IS_NULL) != 0;
    if ((kind == SMBW_AUTH_NTLM || kind == SMBW_AUTH_KERBEROS) && (s->is_guest || s->is_anonymous))
        return core_set_error(c, SMBW_EAUTH, 0,
                              "the server logged the user in as %s; refused (ask for guest or "
                              "anonymous explicitly)",
                              s->is_guest ? "guest" : "anonymous");
    bool have_key = !(s->is_guest || s->is_anonymous || kind == SMBW_AUTH_ANONYMOUS);
    uint8_t key[64];
    size_t keylen = sizeof key;
    if (have_key) {
        int rc = auth_session_key(st->a, key, &keylen);
        if (rc)
            return core_set_error(c, SMBW_EAUTH, 0, "no session key after authentication");
        rc = smb2_derive_keys(c->dialect, key, keylen, s->preauth, c->cipher, &s->keys);
        crypto_cleanse(key, sizeof key);
        core_sess_gmac_reset(s); /* made again from the new signing key */
        if (rc)
            return core_set_error(c, rc, 0, "key derivation failed");
        s->sign_alg = c->sign_alg;
    }
    bool server_requires = (c->server_security_mode & SMB2_NEGOTIATE_SIGNING_REQUIRED) != 0;
    bool want_encrypt = c->encrypt_policy == SMBW_ENCRYPT_REQUIRED ||
                        (session_flags & SMB2_SESSION_FLAG_ENCRYPT_DATA);
    if (!have_key) {
        if (c->sign_policy == SMBW_SIGN_REQUIRED || want_encrypt || server_requires)
            return core_set_error(c, SMBW_EPOLICY, 0,
                                  "a %s session has no key, but signing or encryption is "
                                  "required",
                                  s->is_anonymous || kind == SMBW_AUTH_ANONYMOUS ? "anonymous"
                                                                                 : "guest");
        s->signing = false;
    } else {
        /* Sign whenever the session has a key: the server always offers it. */
        s->signing = true;
        if (want_encrypt) {
            if (c->dialect < SMBW_SMB3_00 || !c->cipher)
                return core_set_error(c, SMBW_EPOLICY, 0,
                                      "encryption required, but not available with %s",
                                      smbw_dialect_name(c->dialect));
            s->encrypt = true;
        }
    }
    /* The final response: verify its signature when it carries one (always
     * for 3.1.1 with a key: it proves the pre-auth hash matched). */
    if (have_key) {
        bool is_signed = (h->flags & SMB2_FLAGS_SIGNED) != 0;
        if (!is_signed &&
            (c->dialect == SMBW_SMB3_11 || c->sign_policy == SMBW_SIGN_REQUIRED || server_requires))
            return core_set_error(c, SMBW_ECRYPTO, 0,
                                  "the final SESSION_SETUP response is not signed");
        /* A fuzzing build ignores only a MAC mismatch (see lib/core/conn.c). */
        if (is_signed && smb2_sign_verify(s->sign_alg, s->keys.signing, 16, msg, len) != 0 &&
            !SMBW_FUZZING)
            return core_set_error(c, SMBW_ECRYPTO, 0,
                                  "the final SESSION_SETUP response signature is wrong "
                                  "(tampering or pre-authentication mismatch)");
    }
    s->valid = true;
    core_log(c, SMBW_LOG_INFO, "session 0x%llx established: %s%s%s%s", (unsigned long long)s->id,
             s->signing ? "signed " : "unsigned ",
             s->signing ? setup_sign_alg_name(s->sign_alg) : "", s->encrypt ? ", encrypted " : "",
             s->encrypt ? setup_cipher_name(c->cipher) : "");
    return 0;
}

static const char *mech_name(enum auth_mech mech)
{
    switch (mech) {
    case AUTH_KERBEROS:
        return "Kerberos";
    case AUTH_GUEST:
        return "guest";
    case AUTH_ANONYMOUS:
        return "anonymous";
    default:
        return "NTLMv2";
    }
}

int setup_sess_apply(setup_sess *st, const smb2_hdr *h, const uint8_t *msg, size_t len)
{
    smbw_conn *c = st->c;
    struct smbw_session *s = st->s;
    uint32_t status = h->status;
    if (status != SMBW_STATUS_SUCCESS && status != SMBW_STATUS_MORE_PROCESSING_REQUIRED) {
        int rc = core_status_error(c, status, "SESSION_SETUP");
        if (rc == SMBW_ESTATUS || rc == SMBW_EACCES)
            rc = core_set_error(c, SMBW_EAUTH, status, "authentication failed: %s",
                                smbw_status_name(status));
        return rc;
    }
    smb2_session_setup_rsp ssr;
    if (wire_decode_session_setup(msg, len, &ssr) != 0) {
        core_kill(c, SMBW_EPROTO, "malformed SESSION_SETUP response");
        return SMBW_EPROTO;
    }
    if (h->session_id == 0 || (s->id && h->session_id != s->id)) {
        core_kill(c, SMBW_EPROTO, "SESSION_SETUP response with a bad session id");
        return SMBW_EPROTO;
    }
    s->id = h->session_id;
    if (status == SMBW_STATUS_MORE_PROCESSING_REQUIRED) {
        if (st->last_step == AUTH_DONE && st->legs > 4)
            return core_set_error(c, SMBW_EPROTO, 0, "server wants more legs than possible");
        if (c->dialect == SMBW_SMB3_11) {
            crypto_iov iov[2] = {{s->preauth, 64}, {msg, len}};
            if (crypto_sha512(iov, 2, s->preauth) != 0)
                return SMBW_ECRYPTO;
        }
        buf_reset(&st->in);
        if (ssr.token_len) /* an empty token may come with a NULL pointer */
            buf_put(&st->in, ssr.token, ssr.token_len);
        if (st->in.failed)
            return SMBW_ENOMEM;
        st->have_in = true;
        return SETUP_MORE;
    }
    /* SMBW_STATUS_SUCCESS: let the mechanism check the server's last token. */
    int step = auth_step(st->a, ssr.token, ssr.token_len, &st->tok);
    if (step != AUTH_DONE || st->tok.len)
        return core_set_error(c, step < 0 ? step : SMBW_EAUTH, 0,
                              "server's final authentication token rejected: %s",
                              auth_errmsg(st->a));
    int rc = session_activate(st, h, msg, len, ssr.session_flags);
    s->auth_mech = mech_name(auth_mech_used(st->a));
    if (st->kind == SMBW_AUTH_KERBEROS && auth_mech_used(st->a) != AUTH_KERBEROS)
        core_log(c, SMBW_LOG_INFO, "Kerberos was not used: %s", auth_errmsg(st->a));
    return rc;
}

int setup_sess_end(setup_sess *st, int rc, struct smbw_session **out)
{
    smbw_conn *c = st->c;
    buf_free(&st->in);
    buf_free_secret(&st->tok);
    if (st->a)
        auth_free(st->a);
    st->a = NULL;
    if (!st->s)
        return rc;
    if (rc) {
        if (rc == SMBW_ECRYPTO && !c->dead) {
            char why[sizeof c->errmsg];
            snprintf(why, sizeof why, "%s", c->errmsg);
            core_kill(c, SMBW_ECRYPTO, "%s", why);
        }
        setup_sess_unlink(st->s);
        setup_sess_destroy(st->s);
    } else {
        *out = st->s;
    }
    st->s = NULL;
    return rc;
}

/* ---- TREE_CONNECT ----------------------------------------------------------- */

int setup_tree_build(struct smbw_session *s, const char *share, core_msg *m)
{
    smbw_conn *c = s->conn;
    msg_init(m, SMB2_TREE_CONNECT);
    if (strchr(share, '\\') || strchr(share, '/'))
        return core_set_error(c, SMBW_EINVAL, 0, "share name must not contain separators");
    size_t n = strlen(c->host) + strlen(share) + 8;
    char *path = malloc(n);
    if (!path)
        return SMBW_ENOMEM;
    bool v6 = strchr(c->host, ':') != NULL;
    snprintf(path, n, v6 ? "\\\\[%s]\\%s" : "\\\\%s\\%s", c->host, share);
    m->sess = s;
    int rc = wire_encode_tree_connect(&m->body, 0, path);
    free(path);
    if (rc != 0) {
        buf_free(&m->body);
        return core_set_error(c, SMBW_EINVAL, 0, "bad share name");
    }
    return 0;
}

int setup_tree_apply(struct smbw_session *s, const char *share, const smb2_hdr *h,
                     const uint8_t *msg, size_t len, struct smbw_tree **out)
{
    smbw_conn *c = s->conn;
    *out = NULL;
    if (h->status != SMBW_STATUS_SUCCESS)
        return core_status_error(c, h->status, "TREE_CONNECT");
    smb2_tree_connect_rsp tr;
    if (wire_decode_tree_connect(msg, len, &tr) != 0) {
        core_kill(c, SMBW_EPROTO, "malformed TREE_CONNECT response");
        return SMBW_EPROTO;
    }
    if ((tr.share_flags & SMB2_SHAREFLAG_ENCRYPT_DATA) && !s->encrypt &&
        (!s->keys.enc_len || c->dialect < SMBW_SMB3_00))
        return core_set_error(c, SMBW_EPOLICY, 0,
                              "share %s requires encryption, which this session cannot do", share);
    struct smbw_tree *t = calloc(1, sizeof *t);
    if (!t || !(t->share = strdup(share))) {
        free(t);
        return SMBW_ENOMEM;
    }
    t->id = h->tree_id;
    t->share_type = tr.share_type;
    t->share_flags = tr.share_flags;
    t->capabilities = tr.capabilities;
    t->maximal_access = tr.maximal_access;
    t->sess = s;
    t->encrypt = (tr.share_flags & SMB2_SHAREFLAG_ENCRYPT_DATA) && !s->encrypt;
    *out = t;
    return 0;
}

bool setup_tree_needs_validate(const struct smbw_tree *t)
{
    const struct smbw_session *s = t->sess;
    const smbw_conn *c = s->conn;
    return (c->dialect == SMBW_SMB3_00 || c->dialect == SMBW_SMB3_02) && s->signing &&
           !c->negotiate_validated;
}

int setup_validate_build(struct smbw_tree *t, core_msg *m)
{
    smbw_conn *c = t->sess->conn;
    validate_negotiate_info v;
    memset(&v, 0, sizeof v);
    v.capabilities = c->client_caps;
    memcpy(v.guid, c->client_guid, 16);
    v.security_mode = c->client_security_mode;
    v.dialects = c->offered;
    v.dialect_count = c->noffered;
    msg_init(m, SMB2_IOCTL);
    m->sess = t->sess;
    m->tree_id = t->id;
    m->encrypt = t->encrypt;
    smbw_buf in;
    buf_init(&in);
    int rc = wire_encode_validate_negotiate(&in, &v);
    smb2_ioctl_req r;
    memset(&r, 0, sizeof r);
    r.ctl_code = SMBW_FSCTL_VALIDATE_NEGOTIATE_INFO;
    memset(r.file_id, 0xff, 16);
    r.input = in.p;
    r.input_len = (uint32_t)in.len;
    r.max_output_response = 24;
    r.flags = SMB2_0_IOCTL_IS_FSCTL;
    if (!rc)
        rc = wire_encode_ioctl(&m->body, &r);
    buf_free(&in);
    if (rc) {
        buf_free(&m->body);
        return SMBW_ENOMEM;
    }
    return 0;
}

/* MS-SMB2 3.2.5.5 / 3.2.5.14.12: on 3.0 and 3.0.2 the client proves, over a
 * signed IOCTL, that nobody tampered with NEGOTIATE. Any mismatch, or an
 * error other than "not supported" (from a server without it), kills the
 * connection. 3.1.1 is covered by the pre-auth hash instead. */
int setup_validate_apply(smbw_conn *c, const smb2_hdr *h, const uint8_t *msg, size_t len)
{
    uint32_t st = h->status;
    if (st == SMBW_STATUS_NOT_SUPPORTED || st == SMBW_STATUS_INVALID_DEVICE_REQUEST) {
        /* The answer was signed (the core checked it): an older server. */
        c->negotiate_validated = true;
        return 0;
    }
    smb2_ioctl_rsp ir;
    validate_negotiate_info got;
    memset(&got, 0, sizeof got);
    if (st != SMBW_STATUS_SUCCESS || wire_decode_ioctl(msg, len, &ir) != 0 ||
        wire_decode_validate_negotiate(ir.output, ir.output_len, &got) != 0 ||
        got.capabilities != c->server_caps || memcmp(got.guid, c->server_guid, 16) != 0 ||
        got.security_mode != c->server_security_mode || got.dialect != c->dialect) {
        core_kill(c, SMBW_ECRYPTO,
                  "VALIDATE_NEGOTIATE_INFO failed (%s): the negotiation was tampered with",
                  smbw_status_name(st));
        return SMBW_ECRYPTO;
    }
    c->negotiate_validated = true;
    return 0;
}

void setup_tree_link(struct smbw_tree *t)
{
    struct smbw_session *s = t->sess;
    t->next = s->trees;
    if (s->trees)
        s->trees->prev = t;
    s->trees = t;
    core_log(s->conn, SMBW_LOG_INFO, "tree %s connected: id 0x%x, flags 0x%x, capabilities 0x%x%s",
             t->share, t->id, t->share_flags, t->capabilities, t->encrypt ? ", encrypted" : "");
}

void setup_tree_discard(struct smbw_tree *t)
{
    if (!t)
        return;
    free(t->share);
    free(t);
}

/* ---- the steps driven by the core ------------------------------------------ */

enum { OP_NEGOTIATE, OP_SESSION, OP_TREE, OP_VALIDATE };

typedef struct setup_op {
    smbw_conn *c;
    int stage; /* OP_* of the request in flight */
    setup_done_fn done;
    void *ud;
    setup_sess sess;                 /* OP_SESSION */
    struct smbw_session **sess_out;  /* OP_SESSION */
    struct smbw_session *s;          /* OP_TREE, OP_VALIDATE */
    char *share;                     /* OP_TREE */
    struct smbw_tree *t, **tree_out; /* OP_TREE, OP_VALIDATE */
} setup_op;

static int op_answer(void *ud, int err, const smb2_hdr *h, const uint8_t *msg, size_t len);

/* Submits m for op; on failure m's body is gone. */
static int op_submit(setup_op *op, core_msg *m)
{
    m->done = op_answer;
    m->ud = op;
    int rc = core_submit(op->c, m, 1, false);
    if (rc && rc != SMBW_EDEAD)
        rc = core_set_error(op->c, rc, 0, "cannot send request: %s", smbw_strerror(rc));
    return rc;
}

static void op_free(setup_op *op)
{
    free(op->share);
    free(op);
}

static void op_finish(setup_op *op, int rc)
{
    smbw_conn *c = op->c;
    switch (op->stage) {
    case OP_NEGOTIATE:
        if (rc == SMBW_ECLOSED)
            core_set_error(c, rc, 0,
                           "the server closed the connection during NEGOTIATE (no common "
                           "dialect, or not an SMB2 server)");
        break;
    case OP_SESSION: {
        struct smbw_session *s = NULL;
        rc = setup_sess_end(&op->sess, rc, &s);
        if (!rc)
            *op->sess_out = s;
        break;
    }
    default:
        if (rc) {
            setup_tree_discard(op->t);
        } else {
            setup_tree_link(op->t);
            *op->tree_out = op->t;
        }
        break;
    }
    setup_done_fn done = op->done;
    void *ud = op->ud;
    op_free(op);
    done(ud, rc);
}

/* Applies an answer; returns 1 when the next leg went out, else the result. */
static int op_step(setup_op *op, const smb2_hdr *h, const uint8_t *msg, size_t len)
{
    core_msg m;
    int rc;
    switch (op->stage) {
    case OP_NEGOTIATE:
        return setup_negotiate_apply(op->c, h, msg, len);
    case OP_SESSION:
        rc = setup_sess_apply(&op->sess, h, msg, len);
        if (rc != SETUP_MORE)
            return rc;
        rc = setup_sess_build(&op->sess, &m);
        if (!rc)
            rc = op_submit(op, &m);
        return rc ? rc : 1;
    case OP_TREE:
        rc = setup_tree_apply(op->s, op->share, h, msg, len, &op->t);
        if (rc || !setup_tree_needs_validate(op->t))
            return rc;
        op->stage = OP_VALIDATE;
        rc = setup_validate_build(op->t, &m);
        if (!rc)
            rc = op_submit(op, &m);
        return rc ? rc : 1;
    default:
        return setup_validate_apply(op->c, h, msg, len);
    }
}

static int op_answer(void *ud, int err, const smb2_hdr *h, const uint8_t *msg, size_t len)
{
    setup_op *op = ud;
    smbw_conn *c = op->c;
    int rc = err ? err : op_step(op, h, msg, len);
    if (rc == 1)
        return 0;
    op_finish(op, rc);
    /* Only a dead connection ends the dispatch; a refused login does not. */
    return c->dead ? c->dead_err : 0;
}

static setup_op *op_new(smbw_conn *c, int stage, setup_done_fn done, void *ud)
{
    setup_op *op = calloc(1, sizeof *op);
    if (op) {
        op->c = c;
        op->stage = stage;
        op->done = done;
        op->ud = ud;
    }
    return op;
}

int setup_negotiate_start(smbw_conn *c, setup_done_fn done, void *ud)
{
    setup_op *op = op_new(c, OP_NEGOTIATE, done, ud);
    if (!op)
        return SMBW_ENOMEM;
    core_msg m;
    int rc = setup_negotiate_build(c, &m);
    if (!rc)
        rc = op_submit(op, &m);
    if (rc)
        op_free(op);
    return rc;
}

int setup_session_start(smbw_conn *c, const smbw_creds *creds, uint64_t previous,
                        struct smbw_session **out, setup_done_fn done, void *ud)
{
    setup_op *op = op_new(c, OP_SESSION, done, ud);
    if (!op)
        return SMBW_ENOMEM;
    op->sess_out = out;
    int rc = setup_sess_begin(&op->sess, c, creds);
    if (rc) {
        op_free(op);
        return rc;
    }
    op->sess.previous = previous;
    core_msg m;
    rc = setup_sess_build(&op->sess, &m);
    if (!rc)
        rc = op_submit(op, &m);
    if (rc) {
        struct smbw_session *s = NULL;
        (void)setup_sess_end(&op->sess, rc, &s);
        op_free(op);
    }
    return rc;
}

int setup_tree_start(struct smbw_session *s, const char *share, struct smbw_tree **out,
                     setup_done_fn done, void *ud)
{
    setup_op *op = op_new(s->conn, OP_TREE, done, ud);
    if (!op)
        return SMBW_ENOMEM;
    op->s = s;
    op->tree_out = out;
    op->share = strdup(share);
    core_msg m;
    int rc = op->share ? setup_tree_build(s, share, &m) : SMBW_ENOMEM;
    if (!rc)
        rc = op_submit(op, &m);
    if (rc)
        op_free(op);
    return rc;
}
