/* Public API: connections, negotiate, sessions, trees, the event loop. */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/setup.h"
#include "../crypto/crypto.h"
#include "../util/sized.h"

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
    return core_status_error(c, status, what);
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
    if (!f->tree) /* detached: its tree is gone, or a reconnect lost it */
        return SMBW_EDEAD;
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

/* See api.h. */
int api_conn_like(smbw_conn **out, const smbw_conn *from)
{
    int rc = smbw_conn_new(out);
    if (rc)
        return rc;
    smbw_conn *c = *out;
    c->dialect_min = from->dialect_min;
    c->dialect_max = from->dialect_max;
    c->timeout_ms = from->timeout_ms;
    c->sign_policy = from->sign_policy;
    c->encrypt_policy = from->encrypt_policy;
    memcpy(c->ciphers, from->ciphers, sizeof c->ciphers);
    c->ncipher = from->ncipher;
    c->re_retries = from->re_retries;
    c->re_wait_ms = from->re_wait_ms;
    c->re_password = from->re_password;
    c->re_password_ud = from->re_password_ud;
    return 0;
}

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
    c->sign_algs[0] = SMB2_SIGNING_AES_GMAC;
    c->sign_algs[1] = SMB2_SIGNING_AES_CMAC;
    c->sign_algs[2] = SMB2_SIGNING_HMAC_SHA256;
    c->nsign_alg = 3;
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

int smbw_conn_set_log(smbw_conn *c, enum smbw_log_level level, smbw_log_fn fn, void *ud)
{
    if (!c || (int)level < SMBW_LOG_NONE || (int)level > SMBW_LOG_TRACE)
        return SMBW_EINVAL;
    c->log_level = fn ? (int)level : 0;
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

int smbw_conn_set_ciphers(smbw_conn *c, const enum smbw_cipher *ciphers, int n)
{
    if (!c || !ciphers || n < 1 || n > 4)
        return SMBW_EINVAL;
    for (int i = 0; i < n; i++) {
        if (ciphers[i] < SMBW_CIPHER_AES_128_CCM || ciphers[i] > SMBW_CIPHER_AES_256_GCM)
            return core_set_error(c, SMBW_EINVAL, 0, "unknown cipher id %d", (int)ciphers[i]);
        for (int j = 0; j < i; j++)
            if (ciphers[j] == ciphers[i])
                return core_set_error(c, SMBW_EINVAL, 0, "cipher %d listed twice", (int)ciphers[i]);
    }
    if (c->dialect)
        return core_set_error(c, SMBW_EINVAL, 0, "ciphers must be set before connecting");
    for (int i = 0; i < n; i++)
        c->ciphers[i] = (uint16_t)ciphers[i];
    c->ncipher = n;
    return 0;
}

int smbw_conn_set_signing_algs(smbw_conn *c, const enum smbw_sign_alg *algs, int n)
{
    if (!c || !algs || n < 1 || n > 3)
        return SMBW_EINVAL;
    for (int i = 0; i < n; i++) {
        if ((int)algs[i] < SMBW_SIGN_ALG_HMAC_SHA256 || algs[i] > SMBW_SIGN_ALG_AES_128_GMAC)
            return core_set_error(c, SMBW_EINVAL, 0, "unknown signing algorithm %d", (int)algs[i]);
        for (int j = 0; j < i; j++)
            if (algs[j] == algs[i])
                return core_set_error(c, SMBW_EINVAL, 0, "signing algorithm %d listed twice",
                                      (int)algs[i]);
    }
    if (c->dialect)
        return core_set_error(c, SMBW_EINVAL, 0,
                              "signing algorithms must be set before connecting");
    for (int i = 0; i < n; i++)
        c->sign_algs[i] = (uint16_t)algs[i];
    c->nsign_alg = n;
    return 0;
}

int smbw_conn_add_negotiate_context(smbw_conn *c, uint16_t type, const void *data, size_t len)
{
    if (!c || (!data && len))
        return SMBW_EINVAL;
    /* The ones the library sends itself (MS-SMB2 2.2.3.1): preauth, cipher,
     * netname, signing. */
    if (type == 0 || type == 1 || type == 2 || type == 5 || type == 8 || len > sizeof c->extra_ctx)
        return core_set_error(c, SMBW_EINVAL, 0, "negotiate context 0x%x of %zu bytes refused",
                              type, len);
    if (c->dialect)
        return core_set_error(c, SMBW_EINVAL, 0, "contexts must be added before connecting");
    c->extra_ctx_type = type;
    if (len)
        memcpy(c->extra_ctx, data, len);
    c->extra_ctx_len = (uint16_t)len;
    return 0;
}

enum smbw_cipher smbw_cipher_parse(const char *name)
{
    static const struct {
        const char *name;
        enum smbw_cipher id;
    } names[] = {{"AES-128-CCM", SMBW_CIPHER_AES_128_CCM},
                 {"AES-128-GCM", SMBW_CIPHER_AES_128_GCM},
                 {"AES-256-CCM", SMBW_CIPHER_AES_256_CCM},
                 {"AES-256-GCM", SMBW_CIPHER_AES_256_GCM}};
    if (!name)
        return SMBW_CIPHER_NONE;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(name, names[i].name))
            return names[i].id;
    return SMBW_CIPHER_NONE;
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
int smbw_conn_dead_error(const smbw_conn *c)
{
    return c && c->dead ? c->dead_err : 0;
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

uint32_t smbw_conn_credits(const smbw_conn *c)
{
    return c && c->dialect ? c->credits : 0;
}

uint64_t smbw_conn_next_message_id(const smbw_conn *c)
{
    return c ? c->next_mid : 0;
}

int smbw_conn_override_next(smbw_conn *c, const smbw_header_override *o)
{
    if (!c || !o)
        return SMBW_EINVAL;
    smbw_header_override v;
    int rc = sized_load(&v, sizeof v, o, SIZED_END(smbw_header_override, credit_request));
    if (rc)
        return rc;
    const uint32_t known = SMBW_HDR_MESSAGE_ID | SMBW_HDR_CREDIT_CHARGE | SMBW_HDR_CREDIT_REQUEST |
                           SMBW_HDR_UNENCRYPTED;
    if (v.set & ~known)
        return core_set_error(c, SMBW_EINVAL, 0, "unknown header override bits 0x%x",
                              v.set & ~known);
    if (c->dead)
        return SMBW_EDEAD;
    if (!c->dialect)
        return core_set_error(c, SMBW_EINVAL, 0, "header overrides need a connection");
    c->ovr_set = v.set;
    c->ovr_mid = v.message_id;
    c->ovr_charge = v.credit_charge;
    c->ovr_credit_request = v.credit_request;
    return 0;
}

void api_setup_done(void *ud, int err)
{
    api_setup_wait *w = ud;
    w->done = 1;
    w->err = err;
}

/* Every way out of io_wait but completion (a timeout, an interrupt, an I/O
 * error) kills the connection, which completes the step first; w never
 * outlives this frame with the step pending. */
int api_setup_wait_for(smbw_conn *c, api_setup_wait *w)
{
    int rc = io_wait(c, &w->done);
    if (!w->done)
        core_kill(c, rc ? rc : SMBW_EINVAL, "setup step abandoned: %s", smbw_strerror(rc));
    return w->err;
}

int api_negotiate(smbw_conn *c)
{
    if (c->dispatching)
        return core_set_error(c, SMBW_EBUSY, 0,
                              "a callback called a waiting function on its own connection");
    api_setup_wait w = {0, 0};
    int rc = setup_negotiate_start(c, api_setup_done, &w);
    return rc ? rc : api_setup_wait_for(c, &w);
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
    api_dfs_free(c);
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

/* The caller's credentials, as far as its struct's size covers them. */
static int api_load_creds(smbw_conn *c, const smbw_creds *creds, smbw_creds *cr)
{
    int rc = sized_load(cr, sizeof *cr, creds, SIZED_END(smbw_creds, kerberos_fallback_ntlm));
    if (rc)
        return core_set_error(c, rc, 0,
                              rc == SMBW_EINVAL
                                  ? "credentials not set up with SMBW_CREDS_INIT"
                                  : "credentials with fields unknown to this library");
    return 0;
}

int smbw_session_new(smbw_session **out, smbw_conn *c, const smbw_creds *creds)
{
    if (!out)
        return SMBW_EINVAL;
    *out = NULL;
    if (!c || !creds)
        return SMBW_EINVAL;
    smbw_creds cr;
    int rc = api_load_creds(c, creds, &cr);
    if (rc)
        return rc;
    if (c->dead)
        return SMBW_EDEAD;
    if (!c->dialect)
        return core_set_error(c, SMBW_EINVAL, 0, "not connected");
    if (c->dispatching)
        return core_set_error(c, SMBW_EBUSY, 0,
                              "a callback called a waiting function on its own connection");
    api_setup_wait w = {0, 0};
    rc = setup_session_start(c, &cr, 0, out, api_setup_done, &w);
    return rc ? rc : api_setup_wait_for(c, &w);
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
    return s && s->signing ? setup_sign_alg_name(s->sign_alg) : "none";
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
    return c ? setup_cipher_name(c->cipher) : "none";
}

const char *smbw_session_cipher(const smbw_session *s)
{
    return s && s->encrypt && s->conn ? setup_cipher_name(s->conn->cipher) : "none";
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
    setup_sess_unlink(s);
    setup_sess_destroy(s);
}

/* ---- trees ---------------------------------------------------------------- */

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
    if (c->dispatching)
        return core_set_error(c, SMBW_EBUSY, 0,
                              "a callback called a waiting function on its own connection");
    api_setup_wait w = {0, 0};
    int rc = setup_tree_start(s, share, out, api_setup_done, &w);
    return rc ? rc : api_setup_wait_for(c, &w);
}

uint32_t smbw_tree_share_flags(const smbw_tree *t)
{
    return t ? t->share_flags : 0;
}
uint32_t smbw_tree_capabilities(const smbw_tree *t)
{
    return t ? t->capabilities : 0;
}

void smbw_tree_free(smbw_tree *t)
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

/* The public callback of a setup step started from the event loop. */
typedef struct api_setup_cb {
    smbw_conn *c;
    smbw_cb cb;
    void *ud;
} api_setup_cb;

static void api_setup_cb_done(void *ud, int err)
{
    api_setup_cb a = *(api_setup_cb *)ud;
    free(ud);
    a.cb(a.ud, err, err ? a.c->last_status : 0, NULL, 0);
}

static api_setup_cb *api_setup_cb_new(smbw_conn *c, smbw_cb cb, void *ud)
{
    api_setup_cb *a = malloc(sizeof *a);
    if (a) {
        a->c = c;
        a->cb = cb;
        a->ud = ud;
    }
    return a;
}

int smbw_conn_connect_async(smbw_conn *c, const char *host, uint16_t port, smbw_cb cb, void *ud)
{
    if (!c || !host || !*host || !cb)
        return SMBW_EINVAL;
    if (c->fd >= 0 || c->dialect)
        return core_set_error(c, SMBW_EINVAL, 0, "connection already connected");
    free(c->host);
    c->host = strdup(host);
    if (!c->host)
        return SMBW_ENOMEM;
    c->port = port ? port : 445;
    api_setup_cb *a = api_setup_cb_new(c, cb, ud);
    if (!a)
        return SMBW_ENOMEM;
    int rc = io_connect_start(c, host, c->port);
    if (!rc)
        rc = setup_negotiate_start(c, api_setup_cb_done, a);
    if (rc) {
        free(a);
        io_close(c);
        c->connecting = false;
    }
    return rc;
}

int smbw_session_new_async(smbw_session **out, smbw_conn *c, const smbw_creds *creds, smbw_cb cb,
                           void *ud)
{
    if (!out || !c || !creds || !cb)
        return SMBW_EINVAL;
    *out = NULL;
    if (c->dead)
        return SMBW_EDEAD;
    if (!c->dialect)
        return core_set_error(c, SMBW_EINVAL, 0, "not connected");
    smbw_creds cr;
    int rc = api_load_creds(c, creds, &cr);
    if (rc)
        return rc;
    api_setup_cb *a = api_setup_cb_new(c, cb, ud);
    if (!a)
        return SMBW_ENOMEM;
    rc = setup_session_start(c, &cr, 0, out, api_setup_cb_done, a);
    if (rc)
        free(a);
    return rc;
}

int smbw_tree_connect_async(smbw_tree **out, smbw_session *s, const char *share, smbw_cb cb,
                            void *ud)
{
    if (!out || !s || !share || !*share || !cb)
        return SMBW_EINVAL;
    *out = NULL;
    smbw_conn *c = s->conn;
    if (!c || c->dead)
        return SMBW_EDEAD;
    api_setup_cb *a = api_setup_cb_new(c, cb, ud);
    if (!a)
        return SMBW_ENOMEM;
    int rc = setup_tree_start(s, share, out, api_setup_cb_done, a);
    if (rc)
        free(a);
    return rc;
}

int smbw_conn_drain(smbw_conn *c)
{
    if (!c)
        return SMBW_EINVAL;
    while (core_pending_count(c) > 0 || c->parked) {
        int rc = io_revive(c);
        if (rc)
            return rc;
        rc = io_wait_any(&c, 1, -1, NULL);
        if (rc)
            return rc;
    }
    return c->dead ? c->dead_err : 0;
}

int smbw_conn_wait(smbw_conn *const *conns, int n, int max_ms, int *which)
{
    if (which)
        *which = -1;
    if (!conns || n < 0 || n > IO_WAIT_MAX || max_ms < -1)
        return SMBW_EINVAL;
    for (int i = 0; i < n; i++)
        if (conns[i] && io_revive(conns[i]) != 0) {
            if (which)
                *which = i;
            return conns[i]->dead_err;
        }
    return io_wait_any(conns, n, max_ms, which);
}
