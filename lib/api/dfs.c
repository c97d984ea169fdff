/* DFS path resolution (MS-DFSC 3.1.4, 3.1.5; MS-SMB2 3.2.4.3): a path on a
 * share that is a DFS root (or answers STATUS_PATH_NOT_COVERED) is looked up
 * with FSCTL_DFS_GET_REFERRALS on IPC$ of the same session; the referral names
 * targets \server\share[\path] in the server's order. The first target that
 * can be reached is used (failover); a target that is itself a DFS path
 * (interlink) is resolved again on its own server, at most DFS_MAX_HOPS
 * times. Referrals are cached with the server's TTL, keyed by the path prefix
 * they cover. Targets are reached on the port of the connection that gave the
 * referral, with that connection's settings (dialects, signing, encryption,
 * ciphers, timeout) and the session's user: an existing connection to the
 * server is reused, with its session.
 *
 * All of it hangs off the connection the caller's tree belongs to (c->dfs) and
 * is released by smbw_conn_free. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../crypto/crypto.h"
#include "../util/unicode.h"
#include "../wire/wire.h"
#include "api.h"
#include "smbwire/errors.h"
#include "smbwire/ntstatus.h"
#include "smbwire/smbwire.h"

#define DFS_MAX_HOPS 8
#define DFS_MAX_OUT 16384u
#define DFS_CACHE_MAX 64

typedef struct dfs_ent {
    char *prefix; /* \server\share[\link...], as the referral consumed it */
    char **targets;
    size_t ntargets;
    size_t good;      /* the target that worked last */
    uint64_t expires; /* core_now_ms() */
    bool root;        /* a root referral (the share itself, no link) */
    struct dfs_ent *next;
} dfs_ent;

/* A tree the resolver connected (owned), or IPC$ of a session. */
typedef struct dfs_tree {
    smbw_session *sess; /* the session it was connected on */
    char *share;        /* lower-case key */
    smbw_tree *tree;
    struct dfs_tree *next;
} dfs_tree;

/* A connection (and its session) to another server (owned). */
typedef struct dfs_peer {
    char *host;
    smbw_conn *conn;
    smbw_session *sess;
    struct dfs_peer *next;
} dfs_peer;

struct dfs_state {
    dfs_ent *cache;
    size_t ncache;
    dfs_tree *trees;
    dfs_peer *peers;
};

static void ent_free(dfs_ent *e)
{
    for (size_t i = 0; i < e->ntargets; i++)
        free(e->targets[i]);
    free(e->targets);
    free(e->prefix);
    free(e);
}

void api_dfs_free(smbw_conn *c)
{
    struct dfs_state *d = c ? c->dfs : NULL;
    if (!d)
        return;
    c->dfs = NULL;
    for (dfs_ent *e = d->cache, *n; e; e = n) {
        n = e->next;
        ent_free(e);
    }
    for (dfs_tree *t = d->trees, *n; t; t = n) {
        n = t->next;
        smbw_tree_free(t->tree);
        free(t->share);
        free(t);
    }
    for (dfs_peer *p = d->peers, *n; p; p = n) {
        n = p->next;
        smbw_session_free(p->sess);
        smbw_conn_free(p->conn);
        free(p->host);
        free(p);
    }
    free(d);
}

static struct dfs_state *state_of(smbw_conn *c)
{
    if (!c->dfs)
        c->dfs = calloc(1, sizeof(struct dfs_state));
    return c->dfs;
}

/* Case-insensitive (ASCII) comparison of n bytes. */
static bool same_ci(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
            return false;
    return true;
}

/* The cache entry whose prefix covers unc (whole components), the longest;
 * expired entries are dropped on the way. */
static dfs_ent *cache_find(struct dfs_state *d, const char *unc)
{
    uint64_t now = core_now_ms();
    dfs_ent *best = NULL;
    for (dfs_ent **pp = &d->cache; *pp;) {
        dfs_ent *e = *pp;
        if (e->expires <= now) {
            *pp = e->next;
            ent_free(e);
            d->ncache--;
            continue;
        }
        size_t n = strlen(e->prefix);
        if (strlen(unc) >= n && same_ci(unc, e->prefix, n) && (unc[n] == 0 || unc[n] == '\\') &&
            (!best || n > strlen(best->prefix)))
            best = e;
        pp = &e->next;
    }
    return best;
}

/* The UTF-8 prefix of unc that covers its first consumed bytes of UTF-16. */
static int consumed_prefix(const char *unc, size_t consumed, char **out)
{
    smbw_buf b;
    buf_init(&b);
    int rc = utf8_to_utf16le(unc, strlen(unc), &b);
    if (rc == 0 && consumed > b.len)
        rc = SMBW_EPROTO;
    if (rc == 0)
        rc = consumed ? utf16le_to_utf8(b.p, consumed, out) : SMBW_EPROTO;
    buf_free(&b);
    if (rc == 0 && (*out)[strlen(*out) - 1] == '\\')
        (*out)[strlen(*out) - 1] = 0;
    return rc;
}

/* IPC$ of session s (connected once, kept). */
static int ipc_tree(struct dfs_state *d, smbw_session *s, smbw_tree **out)
{
    for (dfs_tree *t = d->trees; t; t = t->next)
        if (t->sess == s && t->tree->sess == s && strcmp(t->share, "ipc$") == 0) {
            *out = t->tree;
            return 0;
        }
    dfs_tree *n = calloc(1, sizeof *n);
    if (!n || !(n->share = strdup("ipc$"))) {
        free(n);
        return SMBW_ENOMEM;
    }
    int rc = smbw_tree_connect(&n->tree, s, "IPC$");
    if (rc) {
        free(n->share);
        free(n);
        return rc;
    }
    n->sess = s;
    n->next = d->trees;
    d->trees = n;
    *out = n->tree;
    return 0;
}

/* The referral for unc from IPC$ tree ipc of connection c: on SMB 3.x
 * FSCTL_DFS_GET_REFERRALS_EX (MS-DFSC 2.2.3) until the server refuses it as
 * unknown (Samba 4.17 and 4.22: STATUS_FS_DRIVER_REQUIRED), then (and below
 * 3.0) FSCTL_DFS_GET_REFERRALS (2.2.2). *req_bytes
 * gets the UTF-16 size of the path asked about. */
static int ask(smbw_tree *ipc, smbw_conn *c, const char *unc, void **outb, size_t *outlen,
               size_t *req_bytes)
{
    bool ex = c->dialect >= SMBW_SMB3_00 && !c->dfs_no_ex;
    for (;;) {
        smbw_buf req;
        buf_init(&req);
        int rc = ex ? wire_encode_dfs_referral_req_ex(&req, DFS_REFERRAL_MAX_LEVEL, unc, NULL)
                    : wire_encode_dfs_referral_req(&req, DFS_REFERRAL_MAX_LEVEL, unc);
        if (rc == 0)
            rc = smbw_tree_ioctl(ipc, ex ? FSCTL_DFS_GET_REFERRALS_EX : FSCTL_DFS_GET_REFERRALS,
                                 req.p, req.len, DFS_MAX_OUT, outb, outlen);
        /* _EX: level, flags, data length, name length; plain: level, NUL. */
        *req_bytes = req.len >= 10 ? req.len - (ex ? 10 : 4) : 0;
        buf_free(&req);
        uint32_t st = c->last_status;
        if (rc && ex &&
            (st == SMBW_STATUS_FS_DRIVER_REQUIRED || st == SMBW_STATUS_INVALID_DEVICE_REQUEST ||
             st == SMBW_STATUS_NOT_SUPPORTED || st == SMBW_STATUS_INVALID_PARAMETER)) {
            c->dfs_no_ex = true;
            ex = false;
            continue;
        }
        return rc;
    }
}

/* Asks s's server for the referral of unc and caches it. */
static int fetch(struct dfs_state *d, smbw_session *s, const char *unc, dfs_ent **out, bool *cached)
{
    smbw_tree *ipc;
    int rc = ipc_tree(d, s, &ipc);
    if (rc)
        return rc;
    void *outb = NULL;
    size_t outlen = 0, req_bytes = 0;
    if ((rc = ask(ipc, s->conn, unc, &outb, &outlen, &req_bytes)) != 0)
        return rc;
    dfs_referral_rsp r;
    rc = wire_decode_dfs_referral_rsp(outb, outlen, req_bytes, &r);
    free(outb);
    if (rc)
        return core_set_error(s->conn, rc, 0, "DFS referral for %s: malformed answer", unc);
    dfs_ent *e = calloc(1, sizeof *e);
    if (e)
        e->targets = calloc(r.count, sizeof *e->targets);
    rc = e && e->targets ? consumed_prefix(unc, r.path_consumed, &e->prefix) : SMBW_ENOMEM;
    for (size_t i = 0; rc == 0 && i < r.count; i++, e->ntargets++)
        if (!(e->targets[i] = strdup(r.refs[i].node)))
            rc = SMBW_ENOMEM;
    if (rc == 0) {
        e->root = r.refs[0].server_type == DFS_SERVER_TYPE_ROOT;
        e->expires = core_now_ms() + (uint64_t)r.refs[0].ttl * 1000u;
        *cached = r.refs[0].ttl > 0 && d->ncache < DFS_CACHE_MAX;
        if (*cached) {
            e->next = d->cache;
            d->cache = e;
            d->ncache++;
        }
    }
    wire_dfs_referral_rsp_free(&r);
    if (rc) {
        if (e)
            ent_free(e);
        return rc == SMBW_EPROTO
                   ? core_set_error(s->conn, rc, 0, "DFS referral for %s: bad path", unc)
                   : rc;
    }
    *out = e;
    return 0;
}

/* Splits \server\share[\rest] (one leading backslash or two). */
static int split_unc(const char *unc, char **server, char **share, const char **rest)
{
    while (*unc == '\\')
        unc++;
    const char *a = strchr(unc, '\\');
    if (!a || a == unc || a[1] == 0 || a[1] == '\\')
        return SMBW_EPROTO;
    const char *b = strchr(a + 1, '\\');
    size_t sl = b ? (size_t)(b - a - 1) : strlen(a + 1);
    *server = strndup(unc, (size_t)(a - unc));
    *share = strndup(a + 1, sl);
    *rest = b ? b + 1 : "";
    if (!*server || !*share) {
        free(*server);
        free(*share);
        return SMBW_ENOMEM;
    }
    return 0;
}

/* A session on c for from's user (Kerberos: the service principal names
 * host); an NTLM password comes from the referring connection's password
 * callback (smbw_conn_set_reconnect). It must sign and encrypt at least as
 * from does. */
static int session_like(smbw_session **out, smbw_conn *c, const smbw_session *from,
                        const char *host)
{
    char pw[512];
    smbw_conn *fc = from->conn;
    smbw_creds cr = SMBW_CREDS_INIT;
    cr.kind = (enum smbw_auth_kind)from->re_kind;
    cr.user = from->re_user;
    cr.domain = from->re_domain;
    cr.target_host = host;
    cr.kerberos_fallback_ntlm = from->re_fallback;
    memset(pw, 0, sizeof pw);
    if (cr.kind == SMBW_AUTH_NTLM || (cr.kind == SMBW_AUTH_KERBEROS && from->re_fallback)) {
        if (!fc->re_password)
            return core_set_error(c, SMBW_EAUTH, 0,
                                  "no password for %s on another server (the DFS target "
                                  "needs a password callback: smbw_conn_set_reconnect)",
                                  from->re_user ? from->re_user : "");
        int rc = fc->re_password(fc->re_password_ud, from->re_user ? from->re_user : "",
                                 from->re_domain ? from->re_domain : "", pw, sizeof pw);
        pw[sizeof pw - 1] = 0;
        if (rc) {
            crypto_cleanse(pw, sizeof pw);
            return core_set_error(c, rc < 0 ? rc : SMBW_EAUTH, 0, "the password callback gave up");
        }
        cr.password = pw;
    }
    int rc = smbw_session_new(out, c, &cr);
    crypto_cleanse(pw, sizeof pw);
    if (rc == 0 && ((from->signing && !(*out)->signing) || (from->encrypt && !(*out)->encrypt))) {
        smbw_session_free(*out);
        *out = NULL;
        rc = core_set_error(c, SMBW_EPOLICY, 0,
                            "the DFS target would not sign or encrypt as the referring server");
    }
    return rc;
}

/* A session on host: the referring one when host is its server, the
 * session the resolution started from (root) when host is its server, an
 * existing peer, or a new connection with the referring connection's
 * settings. */
static int session_for(struct dfs_state *d, smbw_session *root, smbw_session *from,
                       const char *host, smbw_session **out)
{
    smbw_conn *fc = from->conn;
    if (fc->host && strcasecmp(fc->host, host) == 0) {
        *out = from;
        return 0;
    }
    if (root->conn && root->conn->host && strcasecmp(root->conn->host, host) == 0) {
        *out = root;
        return 0;
    }
    for (dfs_peer *p = d->peers; p; p = p->next)
        if (strcasecmp(p->host, host) == 0 && p->sess && p->conn && !p->conn->dead) {
            *out = p->sess;
            return 0;
        }
    dfs_peer *p = calloc(1, sizeof *p);
    if (!p || !(p->host = strdup(host))) {
        free(p);
        return SMBW_ENOMEM;
    }
    int rc = api_conn_like(&p->conn, fc);
    if (rc == 0)
        rc = smbw_conn_connect(p->conn, host, fc->port);
    if (rc == 0)
        rc = session_like(&p->sess, p->conn, from, host);
    if (rc) {
        if (p->conn)
            core_set_error(fc, rc, p->conn->last_status, "DFS target %s: %s", host,
                           p->conn->errmsg[0] ? p->conn->errmsg : smbw_strerror(rc));
        smbw_session_free(p->sess);
        smbw_conn_free(p->conn);
        free(p->host);
        free(p);
        return rc;
    }
    p->next = d->peers;
    d->peers = p;
    *out = p->sess;
    return 0;
}

/* share on session s: the tree the resolver keeps for it, or a new one. */
static int tree_for(struct dfs_state *d, smbw_session *s, const char *share, smbw_tree **out)
{
    for (dfs_tree *t = d->trees; t; t = t->next)
        if (t->sess == s && t->tree->sess == s && strcasecmp(t->share, share) == 0) {
            *out = t->tree;
            return 0;
        }
    dfs_tree *n = calloc(1, sizeof *n);
    if (!n || !(n->share = strdup(share))) {
        free(n);
        return SMBW_ENOMEM;
    }
    int rc = smbw_tree_connect(&n->tree, s, share);
    if (rc) {
        free(n->share);
        free(n);
        return rc;
    }
    n->sess = s;
    n->next = d->trees;
    d->trees = n;
    *out = n->tree;
    return 0;
}

static bool is_dfs_tree(const smbw_tree *t)
{
    return (t->share_flags & (SMB2_SHAREFLAG_DFS | SMB2_SHAREFLAG_DFS_ROOT)) ||
           (t->capabilities & SMB2_SHARE_CAP_DFS);
}

/* Joins a and b with a backslash (either may be empty). */
static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 2);
    if (!s)
        return NULL;
    memcpy(s, a, la);
    size_t o = la;
    if (la && lb)
        s[o++] = '\\';
    memcpy(s + o, b, lb);
    s[o + lb] = 0;
    return s;
}

/* Whether two UNC names are one (leading backslashes and ASCII case aside). */
static bool same_path(const char *a, const char *b)
{
    while (*a == '\\')
        a++;
    while (*b == '\\')
        b++;
    return strlen(a) == strlen(b) && same_ci(a, b, strlen(a));
}

/* One target of e for unc (whose part beyond e->prefix is rest): its tree
 * and the path on it, trying the targets in order from the last good one. */
static int follow(struct dfs_state *d, smbw_session *root, smbw_session *s, dfs_ent *e,
                  const char *rest, smbw_tree **tree, char **path)
{
    int rc = SMBW_EPROTO;
    for (size_t k = 0; k < e->ntargets; k++) {
        size_t i = (e->good + k) % e->ntargets;
        char *server, *share;
        const char *sub;
        if (same_path(e->targets[i], e->prefix)) {
            rc = core_set_error(s->conn, SMBW_ELOOP, 0, "DFS: the referral for %s names itself",
                                e->prefix);
            continue; /* a target naming the path it was asked for */
        }
        if ((rc = split_unc(e->targets[i], &server, &share, &sub)) != 0)
            continue;
        smbw_session *ts;
        rc = session_for(d, root, s, server, &ts);
        if (rc == 0)
            rc = tree_for(d, ts, share, tree);
        if (rc == 0 && !(*path = join(sub, rest)))
            rc = SMBW_ENOMEM;
        free(server);
        free(share);
        if (rc == 0) {
            e->good = i;
            return 0;
        }
        if (rc == SMBW_ENOMEM)
            return rc;
    }
    return rc;
}

/* The UNC name of sp on t: \server\share[\sp]. */
static char *unc_of(const smbw_tree *t, const char *sp)
{
    const char *host = t->sess->conn->host ? t->sess->conn->host : "";
    size_t n = strlen(host) + strlen(t->share) + strlen(sp) + 4;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "\\%s\\%s%s%s", host, t->share, *sp ? "\\" : "", sp);
    return s;
}

/* One step: where sp on t leads, or *next NULL when t itself holds it. */
static int step(smbw_session *root, smbw_tree *t, const char *sp, smbw_tree **next, char **npath)
{
    struct dfs_state *d = state_of(root->conn);
    if (!d)
        return SMBW_ENOMEM;
    *next = NULL;
    char *unc = unc_of(t, sp);
    if (!unc)
        return SMBW_ENOMEM;
    dfs_ent *e = cache_find(d, unc);
    bool owned = false;
    int rc = 0;
    if (!e) {
        bool cached = false;
        rc = fetch(d, t->sess, unc, &e, &cached);
        owned = rc == 0 && !cached;
    }
    if (rc) {
        /* No referral because the path is not under a link (STATUS_NOT_FOUND;
         * Samba: STATUS_OBJECT_PATH_NOT_FOUND) or the server does no DFS:
         * t holds it. Any other
         * refusal is the caller's error. */
        uint32_t st = t->sess && t->sess->conn ? t->sess->conn->last_status : 0;
        free(unc);
        bool none =
            rc == SMBW_ENOENT ||
            (rc == SMBW_ESTATUS &&
             (st == SMBW_STATUS_NOT_FOUND || st == SMBW_STATUS_OBJECT_PATH_NOT_FOUND ||
              st == SMBW_STATUS_OBJECT_NAME_NOT_FOUND || st == SMBW_STATUS_FS_DRIVER_REQUIRED));
        return none ? 0 : rc;
    }
    const char *rest = unc + strlen(e->prefix);
    if (*rest == '\\')
        rest++;
    if (e->root)
        rc = 0; /* the root itself: t holds the path */
    else
        rc = follow(d, root, t->sess, e, rest, next, npath);
    if (owned)
        ent_free(e);
    free(unc);
    return rc;
}

int api_dfs_resolve(smbw_conn *root, smbw_tree *t, const char *sp, smbw_tree **out, char **opath)
{
    char *cur = strdup(sp);
    if (!cur)
        return SMBW_ENOMEM;
    smbw_tree *ct = t;
    for (int hops = 0;; hops++) {
        if (!ct->sess || !ct->sess->conn)
            break;
        if (!is_dfs_tree(ct))
            break;
        smbw_tree *nt;
        char *np = NULL;
        int rc = step(t->sess, ct, cur, &nt, &np);
        if (rc) {
            free(cur);
            return rc;
        }
        if (!nt)
            break;
        free(cur);
        cur = np;
        ct = nt;
        if (hops + 1 >= DFS_MAX_HOPS) {
            free(cur);
            return core_set_error(root, SMBW_ELOOP, 0,
                                  "DFS: more than %d referrals for %s (a referral loop?)",
                                  DFS_MAX_HOPS, sp);
        }
    }
    *out = ct;
    *opath = cur;
    return 0;
}

int smbw_dfs_resolve(smbw_tree **target, char **target_path, smbw_tree *t, const char *path)
{
    if (!target || !target_path)
        return SMBW_EINVAL;
    *target = NULL;
    *target_path = NULL;
    smbw_conn *c;
    int rc = api_tree_conn(t, &c);
    if (rc)
        return rc;
    if (!path)
        return SMBW_EINVAL;
    char *sp;
    if ((rc = api_path(path, &sp)) != 0)
        return rc;
    rc = api_dfs_resolve(c, t, sp, target, target_path);
    free(sp);
    return rc;
}

const char *smbw_tree_server(const smbw_tree *t)
{
    return t && t->sess && t->sess->conn ? t->sess->conn->host : NULL;
}

const char *smbw_tree_share(const smbw_tree *t)
{
    return t ? t->share : NULL;
}

smbw_session *smbw_tree_session(const smbw_tree *t)
{
    return t ? t->sess : NULL;
}

smbw_conn *smbw_tree_conn(const smbw_tree *t)
{
    return t && t->sess ? t->sess->conn : NULL;
}
