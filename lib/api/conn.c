/* Public API: connections, negotiate, sessions, trees, the event loop. */
#include "api.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../auth/auth.h"
#include "../crypto/crypto.h"
#include "smbw_config.h"

static const char *sign_alg_name(uint16_t a);
static const char *cipher_name(uint16_t c);

/* ---- helpers -------------------------------------------------------------- */

void api_rsp_init(api_rsp *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->msg);
}

void api_rsp_free(api_rsp *r)
{
    buf_free(&r->msg);
}

int api_rsp_done(void *ud, int err, const smb2_hdr *h, const uint8_t *msg, size_t len)
{
    api_rsp *r = ud;
    r->done = 1;
    r->err = err;
    if (!err) {
        r->h = *h;
        buf_reset(&r->msg);
        buf_put(&r->msg, msg, len);
        if (r->msg.failed)
            r->err = SMBW_ENOMEM;
    }
    return 0;
}

int api_call(smbw_conn *c, core_msg *msgs, int n, bool related, api_rsp *rsps)
{
    for (int i = 0; i < n; i++) {
        api_rsp_init(&rsps[i]);
        msgs[i].done = api_rsp_done;
        msgs[i].ud = &rsps[i];
    }
    int rc = core_submit(c, msgs, n, related);
    if (rc) {
        if (rc == SMBW_EDEAD)
            return SMBW_EDEAD;
        return core_set_error(c, rc, 0, "cannot send request: %s", smbw_strerror(rc));
    }
    for (int i = 0; i < n; i++) {
        rc = io_wait(c, &rsps[i].done);
        if (rc)
            break;
    }
    /* A dead connection completes everything; wait results are consistent. */
    if (rc)
        return rc;
    for (int i = 0; i < n; i++)
        if (rsps[i].err)
            return rsps[i].err;
    return 0;
}

int api_status_error(smbw_conn *c, uint32_t status, const char *what)
{
    int err = smbw_status_to_error(status);
    if (!err)
        err = SMBW_ESTATUS;
    return core_set_error(c, err, status, "%s: %s (%s)", what, smbw_strerror(err),
                          smbw_status_name(status));
}

int api_tree_conn(smbw_tree *t, smbw_conn **c)
{
    if (!t)
        return SMBW_EINVAL;
    if (!t->sess || !t->sess->conn)
        return SMBW_EDEAD;
    *c = t->sess->conn;
    if ((*c)->dead)
        return SMBW_EDEAD;
    return 0;
}

int api_file_conn(smbw_file *f, smbw_conn **c)
{
    if (!f)
        return SMBW_EINVAL;
    return api_tree_conn(f->tree, c);
}

void api_msg_for_tree(core_msg *m, smbw_tree *t, uint16_t command)
{
    memset(m, 0, sizeof *m);
    buf_init(&m->body);
    m->command = command;
    m->sess = t->sess;
    m->tree_id = t->id;
    m->encrypt = t->encrypt;
}

int api_path(const char *in, char **out)
{
    if (!in)
        in = "";
    size_t n = strlen(in);
    char *p = malloc(n + 1);
    if (!p)
        return SMBW_ENOMEM;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = in[i] == '/' ? '\\' : in[i];
        if (ch == '\\' && (j == 0 || p[j - 1] == '\\'))
            continue;
        p[j++] = ch;
    }
    while (j > 0 && p[j - 1] == '\\')
        j--;
    p[j] = 0;
    *out = p;
    return 0;
}

/* ---- connection ----------------------------------------------------------- */

static const uint16_t all_dialects[] = {SMBW_SMB2_02, SMBW_SMB2_10, SMBW_SMB3_00, SMBW_SMB3_02,
                                        SMBW_SMB3_11};

uint16_t smbw_dialect_parse(const char *name)
{
    static const struct {
        const char *a, *b, *c;
        uint16_t d;
    } t[] = {{"SMB2_02", "2.0.2", "SMB2", SMBW_SMB2_02},
             {"SMB2_10", "2.1", "2.1.0", SMBW_SMB2_10},
             {"SMB3_00", "3.0", "SMB3", SMBW_SMB3_00},
             {"SMB3_02", "3.0.2", "3.02", SMBW_SMB3_02},
             {"SMB3_11", "3.1.1", "3.11", SMBW_SMB3_11}};
    if (!name)
        return 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcasecmp(name, t[i].a) || !strcmp(name, t[i].b) || !strcasecmp(name, t[i].c))
            return t[i].d;
    return 0;
}

const char *smbw_dialect_name(uint16_t d)
{
    switch (d) {
    case SMBW_SMB2_02:
        return "SMB2_02";
    case SMBW_SMB2_10:
        return "SMB2_10";
    case SMBW_SMB3_00:
        return "SMB3_00";
    case SMBW_SMB3_02:
        return "SMB3_02";
    case SMBW_SMB3_11:
        return "SMB3_11";
    default:
        return "none";
    }
}

int smbw_conn_new(smbw_conn **out)
{
    if (!out)
        return SMBW_EINVAL;
    *out = NULL;
    smbw_conn *c = calloc(1, sizeof *c);
    if (!c)
        return SMBW_ENOMEM;
    c->fd = -1;
    c->dialect_min = SMBW_SMB2_02;
    c->dialect_max = SMBW_SMB3_11;
    c->timeout_ms = 30000;
    c->ciphers[0] = SMB2_ENCRYPTION_AES128_GCM;
    c->ciphers[1] = SMB2_ENCRYPTION_AES128_CCM;
    c->ciphers[2] = SMB2_ENCRYPTION_AES256_GCM;
    c->ciphers[3] = SMB2_ENCRYPTION_AES256_CCM;
    c->ncipher = 4;
    core_init(c);
    *out = c;
    return 0;
}

static bool dialect_known(uint16_t d)
{
    for (size_t i = 0; i < sizeof all_dialects / sizeof all_dialects[0]; i++)
        if (all_dialects[i] == d)
            return true;
    return false;
}

int smbw_conn_set_dialects(smbw_conn *c, uint16_t min, uint16_t max)
{
    if (!c)
        return SMBW_EINVAL;
    uint16_t nmin = min ? min : c->dialect_min, nmax = max ? max : c->dialect_max;
    if (!dialect_known(nmin) || !dialect_known(nmax) || nmin > nmax)
        return core_set_error(c, SMBW_EINVAL, 0, "invalid dialect range 0x%04x..0x%04x", nmin,
                              nmax);
    c->dialect_min = nmin;
    c->dialect_max = nmax;
    return 0;
}

int smbw_conn_set_log(smbw_conn *c, int level, smbw_log_fn fn, void *ud)
{
    if (!c || level < SMBW_LOG_NONE || level > SMBW_LOG_TRACE)
        return SMBW_EINVAL;
    c->log_level = fn ? level : 0;
    c->log_fn = fn;
    c->log_ud = ud;
    return 0;
}

int smbw_conn_set_timeout(smbw_conn *c, int ms)
{
    if (!c || ms <= 0)
        return SMBW_EINVAL;
    c->timeout_ms = ms;
    return 0;
}

int smbw_conn_set_interrupt(smbw_conn *c, int (*interrupted)(void *ud), void *ud, int grace_ms)
{
    if (!c || grace_ms < 0 || grace_ms > 60000)
        return SMBW_EINVAL;
    c->intr_check = interrupted;
    c->intr_ud = interrupted ? ud : NULL;
    c->intr_grace_ms = grace_ms;
    c->intr_since = 0;
    return 0;
}

int smbw_conn_set_signing(smbw_conn *c, enum smbw_sign_policy p)
{
    if (!c || (p != SMBW_SIGN_AUTO && p != SMBW_SIGN_REQUIRED))
        return SMBW_EINVAL;
    c->sign_policy = (int)p;
    return 0;
}

int smbw_conn_set_encryption(smbw_conn *c, enum smbw_encrypt_policy p)
{
    if (!c || (p != SMBW_ENCRYPT_AUTO && p != SMBW_ENCRYPT_REQUIRED))
        return SMBW_EINVAL;
    c->encrypt_policy = (int)p;
    return 0;
}

int smbw_conn_set_ciphers(smbw_conn *c, const uint16_t *ciphers, int n)
{
    if (!c || !ciphers || n < 1 || n > 4)
        return SMBW_EINVAL;
    for (int i = 0; i < n; i++) {
        if (ciphers[i] < SMBW_CIPHER_AES_128_CCM || ciphers[i] > SMBW_CIPHER_AES_256_GCM)
            return core_set_error(c, SMBW_EINVAL, 0, "unknown cipher id %u", ciphers[i]);
        for (int j = 0; j < i; j++)
            if (ciphers[j] == ciphers[i])
                return core_set_error(c, SMBW_EINVAL, 0, "cipher %u listed twice", ciphers[i]);
    }
    if (c->dialect)
        return core_set_error(c, SMBW_EINVAL, 0, "ciphers must be set before connecting");
    for (int i = 0; i < n; i++)
        c->ciphers[i] = ciphers[i];
    c->ncipher = n;
    return 0;
}

uint16_t smbw_cipher_parse(const char *name)
{
    static const char *const names[] = {"AES-128-CCM", "AES-128-GCM", "AES-256-CCM", "AES-256-GCM"};
    if (!name)
        return 0;
    for (int i = 0; i < 4; i++)
        if (!strcasecmp(name, names[i]))
            return (uint16_t)(i + 1);
    return 0;
}

uint16_t smbw_conn_dialect(const smbw_conn *c)
{
    return c ? c->dialect : 0;
}
int smbw_conn_server_guid(const smbw_conn *c, uint8_t guid[16])
{
    if (!c || !guid || !c->dialect)
        return SMBW_EINVAL;
    memcpy(guid, c->server_guid, 16);
    return 0;
}
uint32_t smbw_conn_server_capabilities(const smbw_conn *c)
{
    return c && c->dialect ? c->server_caps : 0;
}
uint16_t smbw_conn_server_security_mode(const smbw_conn *c)
{
    return c && c->dialect ? (uint16_t)c->server_security_mode : 0;
}

uint32_t smbw_conn_max_read(const smbw_conn *c)
{
    return c ? c->max_read : 0;
}
uint32_t smbw_conn_max_write(const smbw_conn *c)
{
    return c ? c->max_write : 0;
}
uint32_t smbw_conn_max_transact(const smbw_conn *c)
{
    return c ? c->max_transact : 0;
}
const char *smbw_conn_errmsg(const smbw_conn *c)
{
    return c ? c->errmsg : "no connection";
}
uint32_t smbw_last_status(const smbw_conn *c)
{
    return c ? c->last_status : 0;
}
bool smbw_conn_is_dead(const smbw_conn *c)
{
    return !c || c->dead;
}

void smbw_conn_get_stats(const smbw_conn *c, smbw_conn_stats *st)
{
    if (c && st)
        *st = c->stats;
}

int api_negotiate(smbw_conn *c)
{
    uint16_t dialects[5];
    uint16_t nd = 0;
    for (size_t i = 0; i < sizeof all_dialects / sizeof all_dialects[0]; i++)
        if (all_dialects[i] >= c->dialect_min && all_dialects[i] <= c->dialect_max)
            dialects[nd++] = all_dialects[i];
    static const uint16_t sign_algs[] = {SMB2_SIGNING_AES_GMAC, SMB2_SIGNING_AES_CMAC,
                                         SMB2_SIGNING_HMAC_SHA256};
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
    if (crypto_random(c->client_guid, 16) || crypto_random(req.salt, sizeof req.salt))
        return core_set_error(c, SMBW_ECRYPTO, 0, "no random bytes");
    memcpy(req.client_guid, c->client_guid, 16);
    req.dialects = dialects;
    req.dialect_count = nd;
    memcpy(c->offered, dialects, sizeof dialects);
    c->noffered = nd;
    req.ciphers = c->ciphers;
    req.cipher_count = (uint16_t)c->ncipher;
    req.sign_algs = sign_algs;
    req.sign_alg_count = 3;
    req.netname = c->host;

    core_msg m;
    memset(&m, 0, sizeof m);
    m.command = SMB2_NEGOTIATE;
    memset(c->preauth, 0, 64);
    m.preauth_hash = c->preauth;
    buf_init(&m.body);
    if (wire_encode_negotiate(&m.body, &req) != 0 || m.body.failed) {
        buf_free(&m.body);
        return core_set_error(c, SMBW_ENOMEM, 0, "cannot build NEGOTIATE");
    }
    api_rsp rsp;
    int rc = api_call(c, &m, 1, false, &rsp);
    if (rc) {
        api_rsp_free(&rsp);
        if (rc == SMBW_ECLOSED)
            core_set_error(c, rc, 0,
                           "the server closed the connection during NEGOTIATE (no common "
                           "dialect, or not an SMB2 server)");
        return rc;
    }
    if (rsp.h.status != SMBW_STATUS_SUCCESS) {
        rc = api_status_error(c, rsp.h.status, "NEGOTIATE");
        api_rsp_free(&rsp);
        return rc == SMBW_ENOTSUP ? SMBW_EDIALECT : rc;
    }
    smb2_negotiate_rsp nr;
    rc = wire_decode_negotiate(rsp.msg.p, rsp.msg.len, &nr);
    if (rc) {
        api_rsp_free(&rsp);
        core_kill(c, SMBW_EPROTO, "malformed NEGOTIATE response");
        return SMBW_EPROTO;
    }
    bool offered = false;
    for (int i = 0; i < nd; i++)
        offered |= dialects[i] == nr.dialect;
    if (!offered) {
        api_rsp_free(&rsp);
        core_kill(c, SMBW_EPROTO, "server chose dialect 0x%04x which was not offered", nr.dialect);
        return SMBW_EPROTO;
    }
    if (nr.max_read < 4096 || nr.max_write < 4096 || nr.max_transact < 4096) {
        api_rsp_free(&rsp);
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
    if (c->dialect == SMBW_SMB3_11) {
        if (!nr.have_preauth || nr.preauth_hash_alg != SMB2_PREAUTH_SHA512) {
            api_rsp_free(&rsp);
            core_kill(c, SMBW_EPROTO, "SMB 3.1.1 NEGOTIATE response without SHA-512 preauth");
            return SMBW_EPROTO;
        }
        crypto_iov iov[2] = {{c->preauth, 64}, {rsp.msg.p, rsp.msg.len}};
        if (crypto_sha512(iov, 2, c->preauth) != 0) {
            api_rsp_free(&rsp);
            return core_set_error(c, SMBW_ECRYPTO, 0, "SHA-512 failed");
        }
        c->cipher = nr.have_cipher ? nr.cipher : 0;
        if (c->cipher) {
            bool ok = false;
            for (int i = 0; i < c->ncipher; i++)
                ok |= c->ciphers[i] == c->cipher;
            if (!ok) {
                api_rsp_free(&rsp);
                core_kill(c, SMBW_EPROTO, "server chose cipher %u which was not offered",
                          c->cipher);
                return SMBW_EPROTO;
            }
        }
        c->sign_alg = SMB2_SIGN_ALG_AES_CMAC;
        if (nr.have_signing) {
            if (nr.signing_alg > SMB2_SIGNING_AES_GMAC) {
                api_rsp_free(&rsp);
                core_kill(c, SMBW_EPROTO, "server chose unknown signing algorithm %u",
                          nr.signing_alg);
                return SMBW_EPROTO;
            }
            c->sign_alg = nr.signing_alg;
        }
    } else if (c->dialect >= SMBW_SMB3_00) {
        c->sign_alg = SMB2_SIGN_ALG_AES_CMAC;
        c->cipher = (c->server_caps & SMB2_GLOBAL_CAP_ENCRYPTION) ? SMB2_ENCRYPTION_AES128_CCM : 0;
    } else {
        c->sign_alg = SMB2_SIGN_ALG_HMAC_SHA256;
        c->cipher = 0;
    }
    free(c->neg_token);
    c->neg_token = NULL;
    c->neg_token_len = 0;
    if (nr.security_buffer_len) {
        c->neg_token = malloc(nr.security_buffer_len);
        if (!c->neg_token) {
            api_rsp_free(&rsp);
            return SMBW_ENOMEM;
        }
        memcpy(c->neg_token, nr.security_buffer, nr.security_buffer_len);
        c->neg_token_len = nr.security_buffer_len;
    }
    api_rsp_free(&rsp);
    core_log(c, SMBW_LOG_INFO,
             "negotiated %s: capabilities 0x%x, security mode 0x%x, max read/write/transact "
             "%u/%u/%u, signing %s, cipher %s",
             smbw_dialect_name(c->dialect), c->server_caps, c->server_security_mode, c->max_read,
             c->max_write, c->max_transact, sign_alg_name(c->sign_alg), cipher_name(c->cipher));
    if (c->encrypt_policy == SMBW_ENCRYPT_REQUIRED && !c->cipher) {
        core_kill(c, SMBW_EPOLICY,
                  "encryption required, but dialect %s with this server "
                  "offers no encryption",
                  smbw_dialect_name(c->dialect));
        return SMBW_EPOLICY;
    }
    return 0;
}

int smbw_conn_connect(smbw_conn *c, const char *host, uint16_t port)
{
    if (!c || !host || !*host)
        return SMBW_EINVAL;
    if (c->fd >= 0 || c->dialect)
        return core_set_error(c, SMBW_EINVAL, 0, "connection already connected");
    free(c->host);
    c->host = strdup(host);
    if (!c->host)
        return SMBW_ENOMEM;
    c->port = port ? port : 445;
    int rc = io_connect(c, host, c->port);
    if (rc)
        return rc;
    return api_negotiate(c);
}

int smbw_conn_echo(smbw_conn *c)
{
    if (!c)
        return SMBW_EINVAL;
    if (c->dead)
        return SMBW_EDEAD;
    core_msg m;
    memset(&m, 0, sizeof m);
    m.command = SMB2_ECHO;
    buf_init(&m.body);
    if (wire_encode_empty4(&m.body) != 0) {
        buf_free(&m.body);
        return SMBW_ENOMEM;
    }
    api_rsp rsp;
    int rc = api_call(c, &m, 1, false, &rsp);
    if (!rc && rsp.h.status)
        rc = api_status_error(c, rsp.h.status, "ECHO");
    api_rsp_free(&rsp);
    return rc;
}

void smbw_conn_free(smbw_conn *c)
{
    if (!c)
        return;
    core_reset(c);
    io_close(c);
    for (struct smbw_session *s = c->sessions, *n; s; s = n) {
        n = s->next;
        s->conn = NULL;
        s->next = s->prev = NULL;
    }
    free(c->neg_token);
    free(c->host);
    crypto_cleanse(c, sizeof *c);
    free(c);
}

/* ---- sessions --------------------------------------------------------- */

static void session_unlink(struct smbw_session *s)
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

static const char *sign_alg_name(uint16_t a)
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

static const char *cipher_name(uint16_t c)
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

/* Completes a successful session setup: keys, signing, encryption, and the
 * check of the final response's signature. */
static int session_activate(smbw_conn *c, struct smbw_session *s, smbw_auth *a, const smb2_hdr *h,
                            const uint8_t *msg, size_t len, uint16_t session_flags,
                            enum smbw_auth_kind kind)
{
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
        int rc = auth_session_key(a, key, &keylen);
        if (rc)
            return core_set_error(c, SMBW_EAUTH, 0, "no session key after authentication");
        rc = smb2_derive_keys(c->dialect, key, keylen, s->preauth, c->cipher, &s->keys);
        crypto_cleanse(key, sizeof key);
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
             s->signing ? "signed " : "unsigned ", s->signing ? sign_alg_name(s->sign_alg) : "",
             s->encrypt ? ", encrypted " : "", s->encrypt ? cipher_name(c->cipher) : "");
    return 0;
}

int smbw_session_new(smbw_session **out, smbw_conn *c, const smbw_creds *creds)
{
    if (!out)
        return SMBW_EINVAL;
    *out = NULL;
    if (!c || !creds)
        return SMBW_EINVAL;
    if (c->dead)
        return SMBW_EDEAD;
    if (!c->dialect)
        return core_set_error(c, SMBW_EINVAL, 0, "not connected");
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
    ap.user = creds->user;
    ap.domain = creds->domain;
    ap.password = creds->password;
    ap.target_host = creds->target_host ? creds->target_host : c->host;
    ap.krb5_allow_ntlm_fallback =
        creds->kind == SMBW_AUTH_KERBEROS && creds->kerberos_fallback_ntlm;
    core_log(c, SMBW_LOG_INFO, "authenticating as %s%s%s (%s)",
             ap.domain && *ap.domain ? ap.domain : "", ap.domain && *ap.domain ? "\\" : "",
             ap.user ? ap.user : "",
             creds->kind == SMBW_AUTH_NTLM       ? "NTLMv2"
             : creds->kind == SMBW_AUTH_KERBEROS ? "Kerberos"
             : creds->kind == SMBW_AUTH_GUEST    ? "guest"
                                                 : "anonymous");
    smbw_auth *a = NULL;
    int rc = auth_new(&a, &ap);
    if (rc)
        return core_set_error(c, rc, 0, "authentication setup failed: %s", smbw_strerror(rc));

    struct smbw_session *s = calloc(1, sizeof *s);
    if (!s) {
        auth_free(a);
        return SMBW_ENOMEM;
    }
    s->conn = c;
    memcpy(s->preauth, c->preauth, 64);
    s->next = c->sessions;
    if (c->sessions)
        c->sessions->prev = s;
    c->sessions = s;

    smbw_buf tok;
    buf_init(&tok);
    const uint8_t *in = c->neg_token;
    size_t inlen = c->neg_token_len;
    api_rsp rsp;
    api_rsp_init(&rsp);
    int legs = 0;
    for (;;) {
        int st = auth_step(a, in, inlen, &tok);
        if (st < 0) {
            rc = core_set_error(c, st, 0, "authentication failed: %s", auth_errmsg(a));
            break;
        }
        if (++legs > 8) {
            rc = core_set_error(c, SMBW_EPROTO, 0, "too many SESSION_SETUP round trips");
            break;
        }
        core_msg m;
        memset(&m, 0, sizeof m);
        m.command = SMB2_SESSION_SETUP;
        m.session_id_override = s->id;
        if (c->dialect == SMBW_SMB3_11)
            m.preauth_hash = s->preauth;
        buf_init(&m.body);
        smb2_session_setup_req sr;
        memset(&sr, 0, sizeof sr);
        sr.security_mode = (uint8_t)c->client_security_mode; /* the flags fit one byte (2.2.5) */
        sr.token = tok.p;
        sr.token_len = tok.len;
        if (wire_encode_session_setup(&m.body, &sr) != 0) {
            buf_free(&m.body);
            rc = core_set_error(c, SMBW_EINVAL, 0, "security token too large");
            break;
        }
        api_rsp_free(&rsp);
        rc = api_call(c, &m, 1, false, &rsp);
        if (rc)
            break;
        smb2_session_setup_rsp ssr;
        uint32_t status = rsp.h.status;
        if (status != SMBW_STATUS_SUCCESS && status != SMBW_STATUS_MORE_PROCESSING_REQUIRED) {
            rc = api_status_error(c, status, "SESSION_SETUP");
            if (rc == SMBW_ESTATUS || rc == SMBW_EACCES)
                rc = core_set_error(c, SMBW_EAUTH, status, "authentication failed: %s",
                                    smbw_status_name(status));
            break;
        }
        if (wire_decode_session_setup(rsp.msg.p, rsp.msg.len, &ssr) != 0) {
            core_kill(c, SMBW_EPROTO, "malformed SESSION_SETUP response");
            rc = SMBW_EPROTO;
            break;
        }
        if (rsp.h.session_id == 0 || (s->id && rsp.h.session_id != s->id)) {
            core_kill(c, SMBW_EPROTO, "SESSION_SETUP response with a bad session id");
            rc = SMBW_EPROTO;
            break;
        }
        s->id = rsp.h.session_id;
        if (status == SMBW_STATUS_MORE_PROCESSING_REQUIRED) {
            if (st == AUTH_DONE && legs > 4) {
                rc = core_set_error(c, SMBW_EPROTO, 0, "server wants more legs than possible");
                break;
            }
            if (c->dialect == SMBW_SMB3_11) {
                crypto_iov iov[2] = {{s->preauth, 64}, {rsp.msg.p, rsp.msg.len}};
                if (crypto_sha512(iov, 2, s->preauth) != 0) {
                    rc = SMBW_ECRYPTO;
                    break;
                }
            }
            in = ssr.token;
            inlen = ssr.token_len;
            continue;
        }
        /* STATUS_SUCCESS: let the mechanism check the server's last token. */
        st = auth_step(a, ssr.token, ssr.token_len, &tok);
        if (st != AUTH_DONE || tok.len) {
            rc = core_set_error(c, st < 0 ? st : SMBW_EAUTH, 0,
                                "server's final authentication token rejected: %s", auth_errmsg(a));
            break;
        }
        rc = session_activate(c, s, a, &rsp.h, rsp.msg.p, rsp.msg.len, ssr.session_flags,
                              creds->kind);
        switch (auth_mech_used(a)) {
        case AUTH_KERBEROS:
            s->auth_mech = "Kerberos";
            break;
        case AUTH_GUEST:
            s->auth_mech = "guest";
            break;
        case AUTH_ANONYMOUS:
            s->auth_mech = "anonymous";
            break;
        default:
            s->auth_mech = "NTLMv2";
            break;
        }
        if (creds->kind == SMBW_AUTH_KERBEROS && auth_mech_used(a) != AUTH_KERBEROS)
            core_log(c, SMBW_LOG_INFO, "Kerberos was not used: %s", auth_errmsg(a));
        break;
    }
    api_rsp_free(&rsp);
    buf_free_secret(&tok);
    auth_free(a);
    if (rc) {
        if (rc == SMBW_ECRYPTO && !c->dead) {
            char why[sizeof c->errmsg];
            snprintf(why, sizeof why, "%s", c->errmsg);
            core_kill(c, SMBW_ECRYPTO, "%s", why);
        }
        session_unlink(s);
        crypto_cleanse(s, sizeof *s);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

bool smbw_session_signed(const smbw_session *s)
{
    return s && s->signing;
}
bool smbw_session_encrypted(const smbw_session *s)
{
    return s && s->encrypt;
}
const char *smbw_session_signing_alg(const smbw_session *s)
{
    return s && s->signing ? sign_alg_name(s->sign_alg) : "none";
}
const char *smbw_session_auth_mech(const smbw_session *s)
{
    return s && s->auth_mech ? s->auth_mech : "none";
}

bool smbw_tree_encrypted(const smbw_tree *t)
{
    return t && (t->encrypt || (t->sess && t->sess->encrypt));
}

const char *smbw_conn_cipher(const smbw_conn *c)
{
    return c ? cipher_name(c->cipher) : "none";
}

const char *smbw_session_cipher(const smbw_session *s)
{
    return s && s->encrypt && s->conn ? cipher_name(s->conn->cipher) : "none";
}

void smbw_session_free(smbw_session *s)
{
    if (!s)
        return;
    smbw_conn *c = s->conn;
    for (struct smbw_tree *t = s->trees, *n; t; t = n) {
        n = t->next;
        t->sess = NULL;
        t->next = t->prev = NULL;
    }
    if (c && !c->dead && s->valid) {
        core_msg m;
        memset(&m, 0, sizeof m);
        m.command = SMB2_LOGOFF;
        m.sess = s;
        buf_init(&m.body);
        if (wire_encode_empty4(&m.body) == 0) {
            api_rsp rsp;
            int rc = api_call(c, &m, 1, false, &rsp); /* best effort */
            (void)rc;
            api_rsp_free(&rsp);
        } else {
            buf_free(&m.body);
        }
    }
    if (c)
        core_forget_session(c, s);
    session_unlink(s);
    crypto_cleanse(s, sizeof *s);
    free(s);
}

/* ---- trees ---------------------------------------------------------------- */

/* MS-SMB2 3.2.5.5 / 3.2.5.14.12: on 3.0 and 3.0.2 the client proves, over a
 * signed IOCTL, that nobody tampered with NEGOTIATE. Any mismatch, or an
 * error other than "not supported" (from a server without it), kills the
 * connection. 3.1.1 is covered by the pre-auth hash instead. */
static int validate_negotiate(smbw_conn *c, struct smbw_tree *t)
{
    validate_negotiate_info v;
    memset(&v, 0, sizeof v);
    v.capabilities = c->client_caps;
    memcpy(v.guid, c->client_guid, 16);
    v.security_mode = c->client_security_mode;
    v.dialects = c->offered;
    v.dialect_count = c->noffered;
    core_msg m;
    api_msg_for_tree(&m, t, SMB2_IOCTL);
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
        rc = wire_encode_ioctl(&m.body, &r);
    buf_free(&in);
    if (rc) {
        buf_free(&m.body);
        return SMBW_ENOMEM;
    }
    api_rsp rsp;
    rc = api_call(c, &m, 1, false, &rsp);
    if (rc) {
        api_rsp_free(&rsp);
        return rc;
    }
    uint32_t st = rsp.h.status;
    if (st == SMBW_STATUS_NOT_SUPPORTED || st == SMBW_STATUS_INVALID_DEVICE_REQUEST) {
        /* The answer was signed (the core checked it): an older server. */
        api_rsp_free(&rsp);
        c->negotiate_validated = true;
        return 0;
    }
    smb2_ioctl_rsp ir;
    validate_negotiate_info got;
    memset(&got, 0, sizeof got);
    if (st != SMBW_STATUS_SUCCESS || wire_decode_ioctl(rsp.msg.p, rsp.msg.len, &ir) != 0 ||
        wire_decode_validate_negotiate(ir.output, ir.output_len, &got) != 0 ||
        got.capabilities != c->server_caps || memcmp(got.guid, c->server_guid, 16) != 0 ||
        got.security_mode != c->server_security_mode || got.dialect != c->dialect) {
        api_rsp_free(&rsp);
        core_kill(c, SMBW_ECRYPTO,
                  "VALIDATE_NEGOTIATE_INFO failed (%s): the negotiation was tampered with",
                  smbw_status_name(st));
        return SMBW_ECRYPTO;
    }
    api_rsp_free(&rsp);
    c->negotiate_validated = true;
    return 0;
}

int smbw_tree_connect(smbw_tree **out, smbw_session *s, const char *share)
{
    if (!out)
        return SMBW_EINVAL;
    *out = NULL;
    if (!s || !share || !*share)
        return SMBW_EINVAL;
    smbw_conn *c = s->conn;
    if (!c || c->dead)
        return SMBW_EDEAD;
    if (strchr(share, '\\') || strchr(share, '/'))
        return core_set_error(c, SMBW_EINVAL, 0, "share name must not contain separators");
    size_t n = strlen(c->host) + strlen(share) + 8;
    char *path = malloc(n);
    if (!path)
        return SMBW_ENOMEM;
    bool v6 = strchr(c->host, ':') != NULL;
    snprintf(path, n, v6 ? "\\\\[%s]\\%s" : "\\\\%s\\%s", c->host, share);
    core_msg m;
    memset(&m, 0, sizeof m);
    m.command = SMB2_TREE_CONNECT;
    m.sess = s;
    buf_init(&m.body);
    if (wire_encode_tree_connect(&m.body, 0, path) != 0) {
        buf_free(&m.body);
        free(path);
        return core_set_error(c, SMBW_EINVAL, 0, "bad share name");
    }
    free(path);
    api_rsp rsp;
    int rc = api_call(c, &m, 1, false, &rsp);
    if (rc) {
        api_rsp_free(&rsp);
        return rc;
    }
    if (rsp.h.status != SMBW_STATUS_SUCCESS) {
        rc = api_status_error(c, rsp.h.status, "TREE_CONNECT");
        api_rsp_free(&rsp);
        return rc;
    }
    smb2_tree_connect_rsp tr;
    if (wire_decode_tree_connect(rsp.msg.p, rsp.msg.len, &tr) != 0) {
        api_rsp_free(&rsp);
        core_kill(c, SMBW_EPROTO, "malformed TREE_CONNECT response");
        return SMBW_EPROTO;
    }
    struct smbw_tree *t = calloc(1, sizeof *t);
    if (!t || !(t->share = strdup(share))) {
        free(t);
        api_rsp_free(&rsp);
        return SMBW_ENOMEM;
    }
    t->id = rsp.h.tree_id;
    api_rsp_free(&rsp);
    t->share_type = tr.share_type;
    t->share_flags = tr.share_flags;
    t->capabilities = tr.capabilities;
    t->maximal_access = tr.maximal_access;
    t->sess = s;
    if ((tr.share_flags & SMB2_SHAREFLAG_ENCRYPT_DATA) && !s->encrypt) {
        if (!s->keys.enc_len || c->dialect < SMBW_SMB3_00) {
            free(t->share);
            free(t);
            return core_set_error(c, SMBW_EPOLICY, 0,
                                  "share %s requires encryption, which this session cannot do",
                                  share);
        }
        t->encrypt = true;
    }
    if ((c->dialect == SMBW_SMB3_00 || c->dialect == SMBW_SMB3_02) && s->signing &&
        !c->negotiate_validated) {
        rc = validate_negotiate(c, t);
        if (rc) {
            free(t->share);
            free(t);
            return rc;
        }
    }
    t->next = s->trees;
    if (s->trees)
        s->trees->prev = t;
    s->trees = t;
    core_log(c, SMBW_LOG_INFO, "tree %s connected: id 0x%x, flags 0x%x, capabilities 0x%x%s", share,
             t->id, t->share_flags, t->capabilities, t->encrypt ? ", encrypted" : "");
    *out = t;
    return 0;
}

uint32_t smbw_tree_share_flags(const smbw_tree *t)
{
    return t ? t->share_flags : 0;
}
uint32_t smbw_tree_capabilities(const smbw_tree *t)
{
    return t ? t->capabilities : 0;
}

void smbw_tree_disconnect(smbw_tree *t)
{
    if (!t)
        return;
    for (struct smbw_file *f = t->files, *n; f; f = n) {
        n = f->next;
        f->tree = NULL;
        f->next = f->prev = NULL;
    }
    smbw_conn *c = NULL;
    if (api_tree_conn(t, &c) == 0) {
        core_msg m;
        api_msg_for_tree(&m, t, SMB2_TREE_DISCONNECT);
        if (wire_encode_empty4(&m.body) == 0) {
            api_rsp rsp;
            int rc = api_call(c, &m, 1, false, &rsp); /* best effort */
            (void)rc;
            api_rsp_free(&rsp);
        } else {
            buf_free(&m.body);
        }
    }
    if (t->sess) {
        if (t->prev)
            t->prev->next = t->next;
        else if (t->sess->trees == t)
            t->sess->trees = t->next;
        if (t->next)
            t->next->prev = t->prev;
    }
    free(t->share);
    free(t);
}

/* ---- event-loop API ---------------------------------------------------- */

int smbw_conn_fd(const smbw_conn *c)
{
    return c ? c->fd : -1;
}

short smbw_conn_events(const smbw_conn *c)
{
    return c ? io_events(c) : 0;
}

int smbw_conn_next_timeout(const smbw_conn *c)
{
    return c ? core_next_timeout(c) : -1;
}

int smbw_conn_service(smbw_conn *c, short revents)
{
    if (!c)
        return SMBW_EINVAL;
    return io_service(c, revents);
}

size_t smbw_conn_pending(const smbw_conn *c)
{
    return c ? core_pending_count(c) : 0;
}

int smbw_conn_cancel(smbw_conn *c)
{
    if (!c)
        return SMBW_EINVAL;
    int n = core_cancel_all(c);
    if (n < 0)
        return n;
    int rc = io_service(c, 0);
    return rc ? rc : n;
}

int smbw_conn_drain(smbw_conn *c)
{
    if (!c)
        return SMBW_EINVAL;
    while (core_pending_count(c) > 0) {
        if (c->dead)
            return c->dead_err;
        int rc = io_service(c, 0);
        if (rc)
            return rc;
        if (!core_pending_count(c))
            break;
        struct pollfd pfd = {c->fd, io_events(c), 0};
        int to = core_next_timeout(c);
        int n = poll(&pfd, 1, to);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            core_kill(c, SMBW_EIO, "poll failed: %s", strerror(errno));
            return SMBW_EIO;
        }
        rc = io_service(c, n > 0 ? pfd.revents : 0);
        if (rc)
            return rc;
    }
    return c->dead ? c->dead_err : 0;
}
