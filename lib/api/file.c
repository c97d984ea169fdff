/* Public API: opens, reads/writes (pipelined), info, path operations, IOCTL. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/crypto.h"
#include "../util/sized.h"
#include "../util/unicode.h"

/* Requests kept in flight by the synchronous pread/pwrite. */
#define IO_DEPTH 16
/* Size of one READ/WRITE issued by the synchronous calls. */
#define IO_CHUNK (1u << 20)

void api_file_link(smbw_tree *t, smbw_file *f)
{
    f->tree = t;
    f->prev = NULL;
    f->next = t->files;
    if (t->files)
        t->files->prev = f;
    t->files = f;
}

void api_file_unlink(smbw_file *f)
{
    smbw_tree *t = f->tree;
    if (!t)
        return;
    if (f->prev)
        f->prev->next = f->next;
    else if (t->files == f)
        t->files = f->next;
    if (f->next)
        f->next->prev = f->prev;
    f->next = f->prev = NULL;
}

int api_encode_create(smbw_buf *b, const char *smbpath, const smbw_create_params *p)
{
    return api_encode_create_ex(b, smbpath, p, false);
}

int api_encode_create_dur(smbw_buf *b, const char *smbpath, const smbw_create_params *p, bool qfid,
                          const smb2_durable_req *dur, const smb2_lease *lease)
{
    if (!dur)
        return api_encode_create_ex(b, smbpath, p, qfid);
    bool want_lease = lease && lease->state;
    /* The durable context first, then the lease, QFid and the caller's. */
    smbw_buf all;
    buf_init(&all);
    int rc = wire_encode_ctx_durable(&all, dur, want_lease || qfid || p->create_contexts_len > 0);
    if (!rc && want_lease)
        rc = wire_encode_ctx_lease(&all, lease, qfid || p->create_contexts_len > 0);
    if (!rc && qfid)
        rc = wire_encode_ctx_qfid(&all, p->create_contexts_len > 0);
    if (!rc && p->create_contexts_len)
        buf_put(&all, p->create_contexts, p->create_contexts_len);
    if (!rc && all.failed)
        rc = SMBW_ENOMEM;
    smbw_create_params q = *p;
    q.create_contexts = all.p;
    q.create_contexts_len = all.len;
    if (want_lease)
        q.oplock_level = SMB2_OPLOCK_LEVEL_LEASE; /* the lease instead of an oplock */
    else if (!q.oplock_level)
        q.oplock_level = SMB2_OPLOCK_LEVEL_BATCH; /* what durability needs */
    if (!rc)
        rc = api_encode_create_ex(b, smbpath, &q, false);
    buf_free(&all);
    return rc;
}

int api_encode_create_ex(smbw_buf *b, const char *smbpath, const smbw_create_params *p, bool qfid)
{
    if (qfid) { /* QFid first, then the caller's contexts */
        smbw_buf all;
        buf_init(&all);
        int rc = wire_encode_ctx_qfid(&all, p->create_contexts_len > 0);
        if (!rc && p->create_contexts_len)
            buf_put(&all, p->create_contexts, p->create_contexts_len);
        if (!rc && all.failed)
            rc = SMBW_ENOMEM;
        smbw_create_params q = *p;
        q.create_contexts = all.p;
        q.create_contexts_len = all.len;
        if (!rc)
            rc = api_encode_create_ex(b, smbpath, &q, false);
        buf_free(&all);
        return rc;
    }
    smb2_create_req cr;
    memset(&cr, 0, sizeof cr);
    cr.oplock_level = p->oplock_level;
    cr.impersonation_level =
        p->impersonation_level ? p->impersonation_level : SMB2_IMPERSONATION_IMPERSONATION;
    cr.desired_access = p->desired_access;
    cr.file_attributes = p->file_attributes;
    cr.share_access = p->share_access;
    cr.create_disposition = p->create_disposition;
    cr.create_options = p->create_options;
    cr.name = smbpath;
    cr.contexts = p->create_contexts;
    cr.contexts_len = p->create_contexts_len;
    return wire_encode_create(b, &cr);
}

static int file_from_create(smbw_tree *t, const uint8_t *msg, size_t len, smbw_file **out)
{
    smb2_create_rsp cr;
    if (wire_decode_create(msg, len, &cr) != 0)
        return SMBW_EPROTO;
    smbw_file *f = calloc(1, sizeof *f);
    if (!f)
        return SMBW_ENOMEM;
    memcpy(f->id, cr.file_id, 16);
    f->create_action = cr.create_action;
    f->oplock_level = cr.oplock_level;
    f->times = cr.t;
    f->is_dir = (cr.t.file_attributes & SMBW_FILE_ATTRIBUTE_DIRECTORY) != 0;
    /* Every context this client reads is checked here, whoever asked for
     * it: a malformed QFid, durable or lease answer is a malformed CREATE
     * response (api_file_durable reads the last two again). */
    smb2_durable_rsp dur;
    smb2_lease lease;
    if (cr.contexts_len &&
        (wire_decode_qfid(cr.contexts, cr.contexts_len, f->disk_id, &f->has_disk_id) != 0 ||
         wire_decode_durable(cr.contexts, cr.contexts_len, &dur) != 0 ||
         wire_decode_lease(cr.contexts, cr.contexts_len, &lease) != 0)) {
        free(f);
        return SMBW_EPROTO;
    }
    if (cr.contexts_len) {
        f->ctx = malloc(cr.contexts_len);
        if (!f->ctx) {
            free(f);
            return SMBW_ENOMEM;
        }
        memcpy(f->ctx, cr.contexts, cr.contexts_len);
        f->ctx_len = cr.contexts_len;
    }
    api_file_link(t, f);
    *out = f;
    return 0;
}

/* The answer to the CREATE of a call on path (verb names the call in the
 * message): *f the new open, linked to t; or the server's error,
 * SMBW_EPROTO (a malformed answer: the connection is killed), SMBW_ENOMEM. */
static int create_answer(smbw_conn *c, smbw_tree *t, const api_rsp *r, const char *verb,
                         const char *path, smbw_file **f)
{
    *f = NULL;
    if (r->h.status != SMBW_STATUS_SUCCESS) {
        char what[600];
        snprintf(what, sizeof what, "%s %s", verb, path);
        return api_status_error(c, r->h.status, what);
    }
    int rc = file_from_create(t, r->msg.p, r->msg.len, f);
    if (rc == SMBW_EPROTO)
        core_kill(c, SMBW_EPROTO, "malformed CREATE response");
    return rc;
}

int api_create_answer(smbw_conn *c, smbw_tree *t, const api_rsp *r, const char *verb,
                      const char *path, smbw_file **f)
{
    return create_answer(c, t, r, verb, path, f);
}

static int file_create(smbw_file **out, smbw_tree *t, const char *path, const smbw_create_params *p,
                       bool follow);

/* STATUS_PATH_NOT_COVERED for sp (freed here) on t: the open again where
 * DFS says the path lives (MS-DFSC 3.1.4.1), or the first error (rc) when
 * it lives on t itself. Errors of the target are reported on c too. */
static int create_via_dfs(smbw_file **out, smbw_conn *c, smbw_tree *t, char *sp,
                          const smbw_create_params *p, int rc)
{
    smbw_tree *nt = NULL;
    char *np = NULL;
    int r = api_dfs_resolve(c, t, sp, &nt, &np);
    free(sp);
    if (r)
        return r;
    if (nt == t) {
        free(np);
        return rc;
    }
    r = file_create(out, nt, np, p, false); /* the target holds it: once only */
    smbw_conn *tc = nt->sess ? nt->sess->conn : NULL;
    if (r && tc && tc != c)
        core_set_error(c, r, tc->last_status, "%s", tc->errmsg);
    free(np);
    return r;
}

/* The name a CREATE of SMB path sp on t sends: on a DFS share
 * (SMB2_SHARE_CAP_DFS) the DFS path form server\\share\\path, with
 * SMB2_FLAGS_DFS_OPERATIONS set on m (MS-SMB2 3.2.4.3; *dp malloc'd),
 * else sp itself (*dp NULL). */
static int dfs_name(smbw_conn *c, const smbw_tree *t, const char *sp, core_msg *m, char **dp)
{
    *dp = NULL;
    if (!(t->capabilities & SMB2_SHARE_CAP_DFS) || !c->host)
        return 0;
    size_t n = strlen(c->host) + strlen(t->share) + strlen(sp) + 3;
    if (!(*dp = malloc(n)))
        return SMBW_ENOMEM;
    snprintf(*dp, n, "%s\\%s%s%s", c->host, t->share, *sp ? "\\" : "", sp);
    m->hdr_flags = SMB2_FLAGS_DFS_OPERATIONS;
    return 0;
}

int api_create_msg(smbw_conn *c, smbw_tree *t, const char *path, const smbw_create_params *p,
                   core_msg *m)
{
    char *sp;
    int rc = api_path(path, &sp);
    if (rc)
        return core_set_error(c, rc, 0, "open %s: invalid path", path);
    char *dp = NULL;
    api_msg_for_tree(m, t, SMB2_CREATE);
    rc = dfs_name(c, t, sp, m, &dp);
    if (!rc)
        rc = api_encode_create_ex(&m->body, dp ? dp : sp, p, API_QFID(c));
    free(dp);
    free(sp);
    if (rc) {
        buf_free(&m->body);
        return core_set_error(c, rc, 0, "open %s: cannot build request", path);
    }
    return 0;
}

/* A compound that began with the CREATE of path on t came back
 * STATUS_PATH_NOT_COVERED: where DFS says path lives, *nt (another tree)
 * and *np (malloc'd), for the caller to run it again there. Errors: the
 * resolution's, or the first answer's when path lives on t after all. */
static int dfs_elsewhere(smbw_conn *c, smbw_tree *t, const char *verb, const char *path,
                         smbw_tree **nt, char **np)
{
    char *sp;
    int rc = api_path(path, &sp);
    if (rc)
        return rc;
    rc = api_dfs_resolve(c, t, sp, nt, np);
    free(sp);
    if (rc == 0 && *nt == t) {
        free(*np);
        char what[600];
        snprintf(what, sizeof what, "%s %s", verb, path);
        return api_status_error(c, SMBW_STATUS_PATH_NOT_COVERED, what);
    }
    return rc;
}

/* rc of a call run again on the DFS target nt: its error reported on c too. */
static int dfs_report(smbw_conn *c, smbw_tree *nt, int rc)
{
    smbw_conn *tc = nt->sess ? nt->sess->conn : NULL;
    if (rc && tc && tc != c)
        core_set_error(c, rc, tc->last_status, "%s", tc->errmsg);
    return rc;
}

int smbw_file_create(smbw_file **out, smbw_tree *t, const char *path, const smbw_create_params *p)
{
    return file_create(out, t, path, p, true);
}

/* smbw_file_create; follow: a STATUS_PATH_NOT_COVERED is followed (a call
 * made again on the tree a resolution named does not follow it again: a
 * server that would send it on and on gets no endless recursion). */
static int file_create(smbw_file **out, smbw_tree *t, const char *path, const smbw_create_params *p,
                       bool follow)
{
    if (!out)
        return SMBW_EINVAL;
    *out = NULL;
    smbw_conn *c;
    int rc = api_tree_conn(t, &c);
    if (rc)
        return rc;
    if (!p)
        return SMBW_EINVAL;
    char *sp;
    if ((rc = api_path(path, &sp)) != 0)
        return rc;
    core_msg m;
    api_msg_for_tree(&m, t, SMB2_CREATE);
    smb2_durable_req dur;
    smb2_lease lease;
    bool want_dur = api_durable_req(c, p, &dur, &lease);
    char *dp = NULL;
    rc = dfs_name(c, t, sp, &m, &dp);
    if (!rc)
        rc = api_encode_create_dur(&m.body, dp ? dp : sp, p, API_QFID(c), want_dur ? &dur : NULL,
                                   &lease);
    free(dp);
    if (rc) {
        buf_free(&m.body);
        core_set_error(c, rc, 0, "open %s: invalid path", path);
        free(sp);
        return rc;
    }
    api_rsp rsp;
    rc = api_call(c, &m, 1, false, &rsp);
    if (!rc)
        rc = create_answer(c, t, &rsp, "open", path, out);
    bool not_covered = rc && rsp.h.status == SMBW_STATUS_PATH_NOT_COVERED;
    api_rsp_free(&rsp);
    if (!rc) {
        api_file_remember(*out, sp, p); /* sp is the file's now */
        if (want_dur)
            api_file_durable(c, *out, &dur, &lease);
    } else if (not_covered && follow)
        rc = create_via_dfs(out, c, t, sp, p, rc);
    else
        free(sp);
    return rc;
}

void api_file_remember(smbw_file *f, char *sp, const smbw_create_params *p)
{
    free(f->re_path);
    f->re_path = sp;
    f->re_access = p->desired_access;
    f->re_share = p->share_access;
    f->re_options = p->create_options;
    f->re_attrs = p->file_attributes;
}

bool api_durable_req(smbw_conn *c, const smbw_create_params *p, smb2_durable_req *dur,
                     smb2_lease *lease)
{
    memset(dur, 0, sizeof *dur);
    memset(lease, 0, sizeof *lease);
    if (!c->re_durable || (p->create_options & FILE_DIRECTORY_FILE) ||
        (p->oplock_level && p->oplock_level != SMB2_OPLOCK_LEVEL_BATCH) || p->create_contexts_len)
        return false; /* the caller's own oplock or contexts: left alone */
    dur->v2 = c->dialect >= SMBW_SMB3_00;
    if (!dur->v2)
        return true;
    if (crypto_random(dur->create_guid, sizeof dur->create_guid) != 0)
        return false;
    /* An open that cannot write asks for R|H only: other readers (another
     * connection of the same client included) then break nothing, as
     * breaks go only to a Write state or, on a sharing conflict, to H. So
     * does one that writes under durable_shared, for other writers. */
    bool writes = !c->re_durable_shared &&
                  (p->desired_access & (FILE_WRITE_DATA | FILE_APPEND_DATA | GENERIC_WRITE |
                                        GENERIC_ALL | MAXIMUM_ALLOWED));
    if (!p->oplock_level && (c->server_caps & SMB2_GLOBAL_CAP_LEASING) &&
        crypto_random(lease->key, sizeof lease->key) == 0)
        lease->state = SMB2_LEASE_READ | SMB2_LEASE_HANDLE | (writes ? SMB2_LEASE_WRITE : 0);
    return true;
}

/* The lease granted to f under the key asked for (its answer's contexts);
 * none when the server gave none, another key, or a malformed context. */
static void file_lease(smbw_conn *c, smbw_file *f, const smb2_lease *asked)
{
    smb2_lease l;
    f->has_lease = false;
    if (!asked || !asked->state)
        return;
    if (wire_decode_lease(f->ctx, f->ctx_len, &l) != 0 || !l.granted ||
        memcmp(l.key, asked->key, 16) != 0) {
        core_log(c, SMBW_LOG_DEBUG, "%s: no lease", f->re_path ? f->re_path : "open");
        return;
    }
    f->has_lease = true;
    memcpy(f->lease_key, l.key, 16);
    f->lease_state = l.state;
    f->lease_epoch = l.epoch;
    core_log(c, SMBW_LOG_DEBUG, "%s: lease granted (state %s%s%s, v%d)",
             f->re_path ? f->re_path : "open", (l.state & SMB2_LEASE_READ) ? "R" : "",
             (l.state & SMB2_LEASE_WRITE) ? "W" : "", (l.state & SMB2_LEASE_HANDLE) ? "H" : "",
             l.v2 ? 2 : 1);
}

void api_file_durable(smbw_conn *c, smbw_file *f, const smb2_durable_req *dur,
                      const smb2_lease *lease)
{
    smb2_durable_rsp d;
    file_lease(c, f, lease);
    if (wire_decode_durable(f->ctx, f->ctx_len, &d) != 0 || !d.granted) {
        core_log(c, SMBW_LOG_DEBUG, "%s: no durable handle", f->re_path ? f->re_path : "open");
        return;
    }
    f->durable = true;
    f->durable_v2 = d.v2;
    memcpy(f->create_guid, dur->create_guid, sizeof f->create_guid);
    core_log(c, SMBW_LOG_DEBUG, "%s: durable handle (%s)", f->re_path ? f->re_path : "open",
             d.v2 ? "v2" : "v1");
}

/* api_file_remember for a user path (not kept when it cannot be made). */
static void remember_path(smbw_file *f, const char *path, const smbw_create_params *p)
{
    char *sp;
    if (f && api_path(path, &sp) == 0)
        api_file_remember(f, sp, p);
}

/* Closes f after a failure, leaving the connection's error message and
 * status those of the failure, not the close's. */
static void close_keeping_error(smbw_conn *c, smbw_file *f)
{
    char msg[sizeof c->errmsg];
    memcpy(msg, c->errmsg, sizeof msg);
    uint32_t status = c->last_status;
    (void)smbw_file_free(f);
    memcpy(c->errmsg, msg, sizeof msg);
    c->last_status = status;
}

/* A related SET_INFO FileDispositionInformation (DeletePending as
 * pending) into m, for the open that f_id names. Returns 0 or SMBW_ENOMEM. */
static int disposition_msg(smbw_tree *t, const void *f_id, bool pending, core_msg *m)
{
    api_msg_for_tree(m, t, SMB2_SET_INFO);
    smb2_set_info_req s;
    memset(&s, 0, sizeof s);
    uint8_t v = pending ? 1 : 0;
    s.info_type = SMB2_0_INFO_FILE;
    s.file_info_class = FileDispositionInformation;
    s.data = &v;
    s.data_len = 1;
    memcpy(s.file_id, f_id, 16);
    m->payload = 1;
    return wire_encode_set_info(&m->body, &s) != 0 ? SMBW_ENOMEM : 0;
}

/* The requests of smbw_file_create_write (and its asynchronous forms) into
 * m: the CREATE of path, when provisional a related SET_INFO that marks it
 * for deletion, and, when len > 0, a related WRITE of data (len at most
 * max_write) at offset 0; *n says how many. Returns 0 or an error (m then
 * freed). */
static int create_write_msgs(smbw_conn *c, smbw_tree *t, const char *path,
                             const smbw_create_params *p, const void *data, size_t len,
                             bool provisional, core_msg m[3], int *n)
{
    char *sp;
    int rc = api_path(path, &sp);
    if (rc)
        return rc;
    char *dp = NULL;
    api_msg_for_tree(&m[0], t, SMB2_CREATE);
    rc = dfs_name(c, t, sp, &m[0], &dp);
    if (!rc)
        rc = api_encode_create_ex(&m[0].body, dp ? dp : sp, p, API_QFID(c));
    free(dp);
    free(sp);
    *n = 1;
    if (provisional) {
        int r = disposition_msg(t, FILE_ID_RELATED, true, &m[1]);
        rc = rc ? rc : r;
        *n = 2;
    }
    if (len) {
        core_msg *w_m = &m[*n];
        api_msg_for_tree(w_m, t, SMB2_WRITE);
        core_buf_take(c, &w_m->body, 64 + len);
        smb2_write_req w;
        memset(&w, 0, sizeof w);
        memcpy(w.file_id, FILE_ID_RELATED, 16);
        w.data = data;
        w.length = (uint32_t)len;
        w_m->payload = (uint32_t)len;
        if (!rc && wire_encode_write(&w_m->body, &w) != 0)
            rc = SMBW_ENOMEM;
        (*n)++;
    }
    if (rc) {
        for (int i = 0; i < *n; i++)
            buf_free(&m[i].body);
        return core_set_error(c, rc, 0, "create %s: cannot build request", path);
    }
    return 0;
}

/* The answer to a WRITE of asked bytes to path: *count written (at least
 * 1, at most asked), or the server's error, SMBW_EPROTO (a malformed
 * answer: the connection is killed), SMBW_EIO (the server wrote nothing). */
static int write_answer(smbw_conn *c, const api_rsp *r, const char *path, size_t asked,
                        size_t *count)
{
    char what[600];
    snprintf(what, sizeof what, "write %s", path);
    *count = 0;
    if (r->h.status != SMBW_STATUS_SUCCESS)
        return api_status_error(c, r->h.status, what);
    smb2_write_rsp wr;
    if (wire_decode_write(r->msg.p, r->msg.len, &wr) != 0 || wr.count > asked) {
        core_kill(c, SMBW_EPROTO, "malformed WRITE response");
        return SMBW_EPROTO;
    }
    if (wr.count == 0)
        return core_set_error(c, SMBW_EIO, 0, "%s: the server wrote nothing", what);
    *count = wr.count;
    return 0;
}

static int create_write(smbw_file **out, smbw_tree *t, const char *path,
                        const smbw_create_params *p, const void *data, size_t len, bool follow);

int smbw_file_create_write(smbw_file **out, smbw_tree *t, const char *path,
                           const smbw_create_params *p, const void *data, size_t len)
{
    return create_write(out, t, path, p, data, len, true);
}

/* smbw_file_create_write; follow as for file_create. */
static int create_write(smbw_file **out, smbw_tree *t, const char *path,
                        const smbw_create_params *p, const void *data, size_t len, bool follow)
{
    if (!out)
        return SMBW_EINVAL;
    *out = NULL;
    smbw_conn *c;
    int rc = api_tree_conn(t, &c);
    if (rc)
        return rc;
    if (!p || (!data && len))
        return SMBW_EINVAL;
    if (len == 0)
        return file_create(out, t, path, p, follow);
    size_t first = len < c->max_write ? len : c->max_write;
    core_msg m[3];
    int n;
    if ((rc = create_write_msgs(c, t, path, p, data, first, false, m, &n)) != 0)
        return rc;
    api_rsp rsp[2];
    rc = api_call(c, m, 2, true, rsp);
    if (!rc && follow && rsp[0].h.status == SMBW_STATUS_PATH_NOT_COVERED) {
        for (int i = 0; i < 2; i++)
            api_rsp_free(&rsp[i]);
        smbw_tree *nt;
        char *np;
        if ((rc = dfs_elsewhere(c, t, "create", path, &nt, &np)) != 0)
            return rc;
        rc = dfs_report(c, nt, create_write(out, nt, np, p, data, len, false));
        free(np);
        return rc;
    }
    smbw_file *f = NULL;
    if (!rc)
        rc = create_answer(c, t, &rsp[0], "create", path, &f);
    if (!rc)
        remember_path(f, path, p);
    size_t wrote = 0;
    if (!rc)
        rc = write_answer(c, &rsp[1], path, first, &wrote);
    if (!rc && wrote < len) {
        const uint8_t *rest = data;
        rc = smbw_file_pwrite(f, rest + wrote, len - wrote, wrote);
    }
    for (int i = 0; i < 2; i++)
        api_rsp_free(&rsp[i]);
    /* After a failed WRITE the file stays open for the caller, who alone
     * knows whether it must be removed (smbw_file_delete_on_close). */
    if (f)
        f->pos = rc ? 0 : len;
    *out = f;
    return rc;
}

/* The requests of smbw_file_create_read (and its asynchronous form) into
 * m: the CREATE of path and, when len > 0, a related READ of len bytes
 * (at most max_read) from offset 0; *n says how many. Returns 0 or an
 * error (m then freed). */
static int create_read_msgs(smbw_conn *c, smbw_tree *t, const char *path,
                            const smbw_create_params *p, size_t len, core_msg m[2], int *n,
                            const smb2_durable_req *dur, const smb2_lease *lease)
{
    char *sp;
    int rc = api_path(path, &sp);
    if (rc)
        return rc;
    char *dp = NULL;
    api_msg_for_tree(&m[0], t, SMB2_CREATE);
    rc = dfs_name(c, t, sp, &m[0], &dp);
    if (!rc)
        rc = api_encode_create_dur(&m[0].body, dp ? dp : sp, p, API_QFID(c), dur, lease);
    free(dp);
    free(sp);
    *n = 1;
    if (len) {
        api_msg_for_tree(&m[1], t, SMB2_READ);
        smb2_read_req r;
        memset(&r, 0, sizeof r);
        r.length = (uint32_t)len;
        memcpy(r.file_id, FILE_ID_RELATED, 16);
        m[1].payload = (uint32_t)len;
        if (!rc && wire_encode_read(&m[1].body, &r) != 0)
            rc = SMBW_ENOMEM;
        *n = 2;
    }
    if (rc) {
        for (int i = 0; i < *n; i++)
            buf_free(&m[i].body);
        return core_set_error(c, rc, 0, "open %s: cannot build request", path);
    }
    return 0;
}

/* The answer to the READ of create_read_msgs (asked bytes): *data (borrowed
 * from r) and *nread, 0 at the end of the file; or the server's error,
 * SMBW_EPROTO (a malformed answer: the connection is killed). */
static int read_answer(smbw_conn *c, const api_rsp *r, const char *path, size_t asked,
                       const uint8_t **data, size_t *nread)
{
    *data = NULL;
    *nread = 0;
    if (r->h.status == SMBW_STATUS_END_OF_FILE)
        return 0;
    if (r->h.status != SMBW_STATUS_SUCCESS) {
        char what[600];
        snprintf(what, sizeof what, "read %s", path);
        return api_status_error(c, r->h.status, what);
    }
    smb2_read_rsp rd;
    if (wire_decode_read(r->msg.p, r->msg.len, &rd) != 0 || rd.data_len > asked) {
        core_kill(c, SMBW_EPROTO, "malformed READ response");
        return SMBW_EPROTO;
    }
    *data = rd.data;
    *nread = rd.data_len;
    return 0;
}

static int create_read(smbw_file **out, smbw_tree *t, const char *path, const smbw_create_params *p,
                       void *buf, size_t len, size_t *nread, bool follow);

int smbw_file_create_read(smbw_file **out, smbw_tree *t, const char *path,
                          const smbw_create_params *p, void *buf, size_t len, size_t *nread)
{
    return create_read(out, t, path, p, buf, len, nread, true);
}

/* smbw_file_create_read; follow as for file_create. */
static int create_read(smbw_file **out, smbw_tree *t, const char *path, const smbw_create_params *p,
                       void *buf, size_t len, size_t *nread, bool follow)
{
    if (!out || !nread)
        return SMBW_EINVAL;
    *out = NULL;
    *nread = 0;
    smbw_conn *c;
    int rc = api_tree_conn(t, &c);
    if (rc)
        return rc;
    if (!p || (!buf && len))
        return SMBW_EINVAL;
    if (len == 0)
        return file_create(out, t, path, p, follow);
    size_t first = len < c->max_read ? len : c->max_read;
    core_msg m[2];
    int n;
    smb2_durable_req dur;
    smb2_lease lease;
    bool want_dur = api_durable_req(c, p, &dur, &lease);
    if ((rc = create_read_msgs(c, t, path, p, first, m, &n, want_dur ? &dur : NULL, &lease)) != 0)
        return rc;
    api_rsp rsp[2];
    rc = api_call(c, m, 2, true, rsp);
    if (!rc && follow && rsp[0].h.status == SMBW_STATUS_PATH_NOT_COVERED) {
        for (int i = 0; i < 2; i++)
            api_rsp_free(&rsp[i]);
        smbw_tree *nt;
        char *np;
        if ((rc = dfs_elsewhere(c, t, "open", path, &nt, &np)) != 0)
            return rc;
        rc = dfs_report(c, nt, create_read(out, nt, np, p, buf, len, nread, false));
        free(np);
        return rc;
    }
    smbw_file *f = NULL;
    if (!rc)
        rc = create_answer(c, t, &rsp[0], "open", path, &f);
    if (!rc)
        remember_path(f, path, p);
    if (!rc && want_dur)
        api_file_durable(c, f, &dur, &lease);
    const uint8_t *data = NULL;
    if (!rc)
        rc = read_answer(c, &rsp[1], path, first, &data, nread);
    if (!rc && *nread)
        memcpy(buf, data, *nread);
    for (int i = 0; i < 2; i++)
        api_rsp_free(&rsp[i]);
    /* After a failed READ the file stays open for the caller. */
    if (f)
        f->pos = *nread;
    *out = f;
    return rc;
}

int smbw_file_open_source(smbw_file **out, smbw_tree *t, const char *path)
{
    smbw_create_params p;
    smbw_create_params_from_flags(&p, SMBW_O_RDONLY);
    void *key = NULL;
    size_t n = 0;
    int rc = smbw_file_create_ioctl(out, t, path, &p, SMBW_FSCTL_SRV_REQUEST_RESUME_KEY, NULL, 0,
                                    4096, &key, &n);
    if (!*out) {
        free(key);
        return rc;
    }
    srv_resume_key k;
    if (!rc && wire_decode_resume_key(key, n, &k) == 0) {
        memcpy((*out)->key, k.key, sizeof(*out)->key);
        (*out)->has_key = true;
    }
    /* Without a key (refused, malformed) the open stands: a copy asks for
     * one itself, and falls back as it would. */
    free(key);
    return 0;
}

void smbw_create_params_from_flags(smbw_create_params *p, int flags)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    int acc = flags & SMBW_O_RDWR;
    bool dir = flags & SMBW_O_DIRECTORY;
    p->desired_access = FILE_READ_ATTRIBUTES | SYNCHRONIZE;
    if (acc == SMBW_O_RDONLY || acc == SMBW_O_RDWR || acc == 0)
        p->desired_access |= dir ? (FILE_READ_DATA | FILE_READ_ATTRIBUTES) : GENERIC_READ;
    if (acc == SMBW_O_WRONLY || acc == SMBW_O_RDWR)
        p->desired_access |= dir ? (FILE_WRITE_ATTRIBUTES) : GENERIC_WRITE;
    if (flags & SMBW_O_DELETE)
        p->desired_access |= DELETE_ACCESS;
    p->share_access = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    p->file_attributes = dir ? SMBW_FILE_ATTRIBUTE_DIRECTORY : SMBW_FILE_ATTRIBUTE_NORMAL;
    if ((flags & SMBW_O_CREAT) && (flags & SMBW_O_EXCL))
        p->create_disposition = FILE_CREATE;
    else if ((flags & SMBW_O_CREAT) && (flags & SMBW_O_TRUNC))
        p->create_disposition = FILE_OVERWRITE_IF;
    else if (flags & SMBW_O_CREAT)
        p->create_disposition = FILE_OPEN_IF;
    else if (flags & SMBW_O_TRUNC)
        p->create_disposition = FILE_OVERWRITE;
    else
        p->create_disposition = FILE_OPEN;
    p->create_options = dir ? FILE_DIRECTORY_FILE : 0;
}

int smbw_file_open(smbw_file **out, smbw_tree *t, const char *path, int flags)
{
    smbw_create_params p;
    smbw_create_params_from_flags(&p, flags);
    return smbw_file_create(out, t, path, &p);
}

uint32_t smbw_file_create_action(const smbw_file *f)
{
    return f ? f->create_action : 0;
}

bool smbw_file_attached(const smbw_file *f)
{
    return f && f->tree;
}

const void *smbw_file_create_contexts(const smbw_file *f, size_t *len)
{
    if (len)
        *len = f ? f->ctx_len : 0;
    return f ? f->ctx : NULL;
}

void smbw_file_id(const smbw_file *f, uint8_t out[16])
{
    if (f)
        memcpy(out, f->id, 16);
    else
        memset(out, 0, 16);
}

static void stat_from_times(const smb2_file_times *t, smbw_stat *st);

/* Frees f's memory (no request: its open is closed or gone). */
static void file_release(smbw_file *f)
{
    if (f->tree && f->tree->sess && f->tree->sess->conn)
        core_forget_file(f->tree->sess->conn, f);
    api_file_unlink(f);
    free(f->ctx);
    free(f->re_path);
    free(f);
}

/* The CLOSE of f into m, with SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB when stat.
 * Returns 0 or SMBW_ENOMEM (m then freed). */
static int close_msg(smbw_file *f, bool stat, core_msg *m)
{
    api_msg_for_tree(m, f->tree, SMB2_CLOSE);
    if (wire_encode_close(&m->body, stat ? SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB : 0, f->id) != 0) {
        buf_free(&m->body);
        return SMBW_ENOMEM;
    }
    return 0;
}

/* The answer to close_msg: 0 or the server's error; when st is not NULL,
 * *got says whether the server gave the attributes (then in *st), and a
 * malformed answer is SMBW_EPROTO (the connection is killed). */
static int close_answer(smbw_conn *c, const api_rsp *r, smbw_stat *st, bool *got)
{
    if (r->h.status != SMBW_STATUS_SUCCESS)
        return api_status_error(c, r->h.status, "close");
    smb2_close_rsp cr;
    if (!st)
        return 0;
    if (wire_decode_close(r->msg.p, r->msg.len, &cr) != 0) {
        core_kill(c, SMBW_EPROTO, "malformed CLOSE response");
        return SMBW_EPROTO;
    }
    if (cr.flags & SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB) {
        stat_from_times(&cr.t, st);
        *got = true;
    }
    return 0;
}

/* CLOSE (with SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB when st is not NULL: *got
 * then says whether the server gave the attributes) and free. */
static int file_close(smbw_file *f, smbw_stat *st, bool *got)
{
    if (got)
        *got = false;
    if (!f)
        return 0;
    smbw_conn *c;
    int rc = api_file_conn(f, &c);
    core_msg m;
    if (!rc)
        rc = close_msg(f, st != NULL, &m);
    if (!rc) {
        api_rsp rsp;
        rc = api_call(c, &m, 1, false, &rsp);
        if (!rc)
            rc = close_answer(c, &rsp, st, got);
        api_rsp_free(&rsp);
    }
    file_release(f);
    return rc;
}

int smbw_file_free(smbw_file *f)
{
    return file_close(f, NULL, NULL);
}

int smbw_file_free_stat(smbw_file *f, smbw_stat *st, bool *got)
{
    if (!st || !got) {
        (void)file_close(f, NULL, NULL);
        return SMBW_EINVAL;
    }
    memset(st, 0, sizeof *st);
    return file_close(f, st, got);
}

/* The requests of smbw_file_commit into m (*n of them): the SET_INFO
 * requests cm asks for (keep, rename, basic), then the CLOSE. Returns 0 or the error (m then
 * freed; *failed RENAME when the new name is not valid). */
static int commit_build(smbw_conn *c, smbw_file *f, const smbw_commit *cm, core_msg m[4], int *n,
                        smbw_commit_step *failed)
{
    /* info[0]: the rename, info[1]: the basic information; sent in that
     * order, so attributes a server derives from a name (Samba marks a new
     * dot file hidden) are replaced by the ones asked for. */
    smbw_buf info[2];
    buf_init(&info[0]);
    buf_init(&info[1]);
    int rc = 0;
    if (cm->rename_to) {
        char *sp;
        rc = api_path(cm->rename_to, &sp);
        if (!rc) {
            rc = wire_encode_rename_info(&info[0], cm->replace, sp);
            free(sp);
        }
        if (rc && rc != SMBW_ENOMEM) {
            core_set_error(c, rc, 0, "rename to %s: not a valid name", cm->rename_to);
            *failed = SMBW_COMMIT_RENAME; /* nothing is sent: the name stays */
        }
    }
    if (!rc && cm->set_basic) {
        wire_encode_basic_info(&info[1], cm->creation, cm->access, cm->write, cm->change,
                               cm->attributes);
        if (info[1].failed)
            rc = SMBW_ENOMEM;
    }
    *n = 0;
    if (!rc && cm->keep) /* first: whatever follows, the file stays */
        rc = disposition_msg(f->tree, f->id, false, &m[(*n)++]);
    for (int i = 0; i < 2 && !rc; i++) {
        if ((i == 0 && !cm->rename_to) || (i == 1 && !cm->set_basic))
            continue;
        if (info[i].len > c->max_transact) {
            rc = core_set_error(c, SMBW_EINVAL, 0, "SET_INFO buffer larger than MaxTransactSize");
            break;
        }
        api_msg_for_tree(&m[*n], f->tree, SMB2_SET_INFO);
        smb2_set_info_req si;
        memset(&si, 0, sizeof si);
        si.info_type = SMB2_0_INFO_FILE;
        si.file_info_class = i == 0 ? FileRenameInformation : FileBasicInformation;
        si.data = info[i].p;
        si.data_len = (uint32_t)info[i].len;
        memcpy(si.file_id, f->id, 16);
        m[*n].payload = (uint32_t)info[i].len;
        if (wire_encode_set_info(&m[*n].body, &si) != 0)
            rc = SMBW_ENOMEM;
        (*n)++;
    }
    buf_free(&info[0]);
    buf_free(&info[1]);
    if (!rc) {
        api_msg_for_tree(&m[*n], f->tree, SMB2_CLOSE);
        if (wire_encode_close(&m[*n].body, 0, f->id) != 0)
            rc = SMBW_ENOMEM;
        (*n)++;
    }
    if (rc) {
        for (int i = 0; i < *n; i++)
            buf_free(&m[i].body);
        if (rc == SMBW_ENOMEM)
            core_set_error(c, rc, 0, "commit: cannot build request");
    }
    return rc;
}

/* The answers to commit_build's requests: the first failure in the order
 * keep, rename, basic information, close (*failed says which, *status its
 * NTSTATUS; 0 when none failed). */
static int commit_answers(smbw_conn *c, const smbw_commit *cm, const api_rsp *rsp,
                          smbw_commit_step *failed, uint32_t *status)
{
    *failed = SMBW_COMMIT_OK;
    *status = 0;
    int rc = 0, i = 0;
    char what[600];
    bool renamed = false;
    if (cm->keep) {
        uint32_t st = rsp[i++].h.status;
        if (st != SMBW_STATUS_SUCCESS) {
            rc = api_status_error(c, st, "keep the file (clear its delete mark)");
            *failed = SMBW_COMMIT_KEEP;
            *status = st;
        }
    }
    if (cm->rename_to) {
        uint32_t st = rsp[i++].h.status;
        renamed = st == SMBW_STATUS_SUCCESS;
        if (!renamed && !rc) {
            snprintf(what, sizeof what, "rename to %s", cm->rename_to);
            rc = api_status_error(c, st, what);
            *failed = SMBW_COMMIT_RENAME;
            *status = st;
        }
    }
    if (cm->set_basic) {
        uint32_t st = rsp[i++].h.status;
        if (st != SMBW_STATUS_SUCCESS && !rc) {
            snprintf(what, sizeof what, "set times and attributes%s",
                     renamed ? " (the file was renamed)" : "");
            rc = api_status_error(c, st, what);
            *failed = SMBW_COMMIT_BASIC;
            *status = st;
        }
    }
    if (rsp[i].h.status != SMBW_STATUS_SUCCESS && !rc) {
        rc = api_status_error(c, rsp[i].h.status, "close");
        *failed = SMBW_COMMIT_CLOSE;
        *status = rsp[i].h.status;
    }
    return rc;
}

/* cm as this library knows it, into *cmv (*out is cmv, or NULL for cm
 * NULL). Returns 0, SMBW_EINVAL (not from SMBW_COMMIT_INIT) or
 * SMBW_ENOTSUP (fields this library does not know, set). */
static int commit_load(const smbw_commit *cm, smbw_commit *cmv, const smbw_commit **out)
{
    *out = NULL;
    if (!cm)
        return 0;
    int rc = sized_load(cmv, sizeof *cmv, cm, SIZED_END(smbw_commit, keep));
    if (!rc)
        *out = cmv;
    return rc;
}

int smbw_file_commit(smbw_file *f, const smbw_commit *cm, smbw_commit_step *failed)
{
    smbw_commit_step dummy;
    if (!failed)
        failed = &dummy;
    *failed = SMBW_COMMIT_REQUEST;
    if (!f)
        return SMBW_EINVAL;
    smbw_commit cmv;
    int rc = commit_load(cm, &cmv, &cm);
    if (rc) {
        (void)smbw_file_free(f);
        return rc;
    }
    if (!cm || (!cm->set_basic && !cm->rename_to && !cm->keep)) {
        int frc = smbw_file_free(f);
        *failed = frc ? SMBW_COMMIT_CLOSE : SMBW_COMMIT_OK;
        return frc;
    }
    smbw_conn *c;
    if ((rc = api_file_conn(f, &c)) != 0) {
        (void)smbw_file_free(f); /* frees it; nothing can be sent */
        return rc;
    }
    core_msg m[4];
    int n = 0;
    if ((rc = commit_build(c, f, cm, m, &n, failed)) != 0) {
        close_keeping_error(c, f);
        return rc;
    }
    /* Unrelated: every request names the file itself, and the CLOSE is
     * processed whatever the SET_INFO requests answered (in a related chain
     * a server may fail every request after a failed one, MS-SMB2
     * 3.3.5.2.7.2, and the file would stay open). */
    api_rsp rsp[4];
    rc = api_call(c, m, n, false, rsp);
    uint32_t status;
    if (!rc)
        rc = commit_answers(c, cm, rsp, failed, &status);
    for (int i = 0; i < n; i++)
        api_rsp_free(&rsp[i]);
    file_release(f);
    return rc;
}

/* ---- info ---------------------------------------------------------------- */

static void stat_from_times(const smb2_file_times *t, smbw_stat *st)
{
    memset(st, 0, sizeof *st);
    st->size = t->end_of_file;
    st->alloc_size = t->allocation_size;
    st->creation_time = t->creation_time;
    st->last_access_time = t->last_access_time;
    st->last_write_time = t->last_write_time;
    st->change_time = t->change_time;
    st->attributes = t->file_attributes;
    st->is_dir = (t->file_attributes & SMBW_FILE_ATTRIBUTE_DIRECTORY) != 0;
}

static void query_info_msg(core_msg *m, smbw_tree *t, const uint8_t *fid, uint8_t type, uint8_t cls,
                           uint32_t add, uint32_t max_out)
{
    api_msg_for_tree(m, t, SMB2_QUERY_INFO);
    smb2_query_info_req q;
    memset(&q, 0, sizeof q);
    q.info_type = type;
    q.file_info_class = cls;
    q.output_buffer_length = max_out;
    q.additional_information = add;
    memcpy(q.file_id, fid, 16);
    m->payload = max_out;
    if (wire_encode_query_info(&m->body, &q) != 0)
        m->body.failed = true;
}

int smbw_file_query_info(smbw_file *f, uint8_t info_type, uint8_t info_class, uint32_t additional,
                         uint32_t max_out, void **out, size_t *outlen)
{
    if (out)
        *out = NULL;
    if (outlen)
        *outlen = 0;
    smbw_conn *c;
    int rc = api_file_conn(f, &c);
    if (rc)
        return rc;
    if (max_out == 0 || max_out > c->max_transact)
        max_out = c->max_transact;
    core_msg m;
    query_info_msg(&m, f->tree, f->id, info_type, info_class, additional, max_out);
    api_rsp rsp;
    rc = api_call(c, &m, 1, false, &rsp);
    if (!rc && wire_status_is_error_response(SMB2_QUERY_INFO, rsp.h.status))
        rc = api_status_error(c, rsp.h.status, "QUERY_INFO");
    else if (!rc) {
        smb2_query_info_rsp qr;
        if (wire_decode_query_info(rsp.msg.p, rsp.msg.len, &qr) != 0 || qr.data_len > max_out) {
            core_kill(c, SMBW_EPROTO, "malformed QUERY_INFO response");
            rc = SMBW_EPROTO;
        } else if (out) {
            *out = malloc(qr.data_len ? qr.data_len : 1);
            if (!*out)
                rc = SMBW_ENOMEM;
            else {
                if (qr.data_len) /* an empty answer may carry no buffer at all */
                    memcpy(*out, qr.data, qr.data_len);
                if (outlen)
                    *outlen = qr.data_len;
            }
        }
        if (!rc && rsp.h.status == SMBW_STATUS_BUFFER_OVERFLOW)
            rc = api_status_error(c, rsp.h.status, "QUERY_INFO (output truncated)");
    }
    api_rsp_free(&rsp);
    return rc;
}

int smbw_file_stat(smbw_file *f, smbw_stat *st)
{
    if (!st)
        return SMBW_EINVAL;
    void *d = NULL;
    size_t n = 0;
    int rc = smbw_file_query_info(f, SMB2_0_INFO_FILE, FileNetworkOpenInformation, 0, 56, &d, &n);
    if (rc)
        return rc;
    smb2_file_times t;
    rc = wire_decode_network_open_info(d, n, &t);
    free(d);
    if (rc) {
        smbw_conn *c;
        if (api_file_conn(f, &c) == 0)
            core_set_error(c, SMBW_EPROTO, 0, "malformed FileNetworkOpenInformation");
        return SMBW_EPROTO;
    }
    stat_from_times(&t, st);
    return 0;
}

int smbw_file_open_stat(smbw_file *f, smbw_stat *st)
{
    if (!f || !st)
        return SMBW_EINVAL;
    stat_from_times(&f->times, st);
    return 0;
}

int smbw_file_index(smbw_file *f, uint64_t *index)
{
    if (!index)
        return SMBW_EINVAL;
    void *d = NULL;
    size_t n = 0;
    int rc = smbw_file_query_info(f, SMB2_0_INFO_FILE, FileInternalInformation, 0, 8, &d, &n);
    if (rc)
        return rc;
    rc = wire_decode_internal_info(d, n, index);
    free(d);
    if (rc) {
        smbw_conn *c;
        if (api_file_conn(f, &c) == 0)
            core_set_error(c, SMBW_EPROTO, 0, "malformed FileInternalInformation");
        return SMBW_EPROTO;
    }
    return 0;
}

int smbw_file_set_info(smbw_file *f, uint8_t info_type, uint8_t info_class, uint32_t additional,
                       const void *in, size_t inlen)
{
    smbw_conn *c;
    int rc = api_file_conn(f, &c);
    if (rc)
        return rc;
    if (inlen > c->max_transact)
        return core_set_error(c, SMBW_EINVAL, 0, "SET_INFO buffer larger than MaxTransactSize");
    core_msg m;
    api_msg_for_tree(&m, f->tree, SMB2_SET_INFO);
    smb2_set_info_req s;
    memset(&s, 0, sizeof s);
    s.info_type = info_type;
    s.file_info_class = info_class;
    s.data = in;
    s.data_len = (uint32_t)inlen;
    s.additional_information = additional;
    memcpy(s.file_id, f->id, 16);
    m.payload = (uint32_t)inlen;
    if (wire_encode_set_info(&m.body, &s) != 0) {
        buf_free(&m.body);
        return SMBW_ENOMEM;
    }
    api_rsp rsp;
    rc = api_call(c, &m, 1, false, &rsp);
    if (!rc && rsp.h.status != SMBW_STATUS_SUCCESS)
        rc = api_status_error(c, rsp.h.status, "SET_INFO");
    api_rsp_free(&rsp);
    return rc;
}

int smbw_file_truncate(smbw_file *f, uint64_t size)
{
    smbw_buf b;
    buf_init(&b);
    wire_encode_eof_info(&b, size);
    int rc = b.failed
                 ? SMBW_ENOMEM
                 : smbw_file_set_info(f, SMB2_0_INFO_FILE, FileEndOfFileInformation, 0, b.p, b.len);
    buf_free(&b);
    if (!rc)
        f->times.end_of_file = size; /* what replay knows of the end of file */
    return rc;
}

int smbw_file_set_basic(smbw_file *f, uint64_t creation, uint64_t access, uint64_t write,
                        uint64_t change, uint32_t attributes)
{
    smbw_buf b;
    buf_init(&b);
    wire_encode_basic_info(&b, creation, access, write, change, attributes);
    int rc = b.failed
                 ? SMBW_ENOMEM
                 : smbw_file_set_info(f, SMB2_0_INFO_FILE, FileBasicInformation, 0, b.p, b.len);
    buf_free(&b);
    return rc;
}

int smbw_file_rename(smbw_file *f, const char *new_path, bool replace)
{
    char *sp;
    int rc = api_path(new_path, &sp);
    if (rc)
        return rc;
    smbw_buf b;
    buf_init(&b);
    rc = wire_encode_rename_info(&b, replace, sp);
    free(sp);
    if (!rc)
        rc = smbw_file_set_info(f, SMB2_0_INFO_FILE, FileRenameInformation, 0, b.p, b.len);
    buf_free(&b);
    return rc;
}

int smbw_file_delete_on_close(smbw_file *f)
{
    uint8_t one = 1;
    return smbw_file_set_info(f, SMB2_0_INFO_FILE, FileDispositionInformation, 0, &one, 1);
}

int smbw_file_flush(smbw_file *f)
{
    smbw_conn *c;
    int rc = api_file_conn(f, &c);
    if (rc)
        return rc;
    core_msg m;
    api_msg_for_tree(&m, f->tree, SMB2_FLUSH);
    if (wire_encode_flush(&m.body, f->id) != 0) {
        buf_free(&m.body);
        return SMBW_ENOMEM;
    }
    api_rsp rsp;
    rc = api_call(c, &m, 1, false, &rsp);
    if (!rc && rsp.h.status != SMBW_STATUS_SUCCESS)
        rc = api_status_error(c, rsp.h.status, "FLUSH");
    api_rsp_free(&rsp);
    return rc;
}

/* ---- LOCK ---------------------------------------------------------------- */

static bool lock_flags_ok(uint32_t flags)
{
    uint32_t kind = flags & ~SMBW_LOCK_FAIL_IMMEDIATELY;
    if (kind == SMBW_LOCK_UNLOCK)
        return flags == SMBW_LOCK_UNLOCK; /* 2.2.26.1: unlock stands alone */
    return kind == SMBW_LOCK_SHARED || kind == SMBW_LOCK_EXCLUSIVE;
}

static int lock_msg(core_msg *m, smbw_file *f, smbw_conn *c, uint64_t off, uint64_t len,
                    uint32_t flags)
{
    if (!lock_flags_ok(flags))
        return core_set_error(c, SMBW_EINVAL, 0, "LOCK flags 0x%x are not a valid combination",
                              flags);
    api_msg_for_tree(m, f->tree, SMB2_LOCK);
    if (wire_encode_lock(&m->body, f->id, off, len, flags) != 0) {
        buf_free(&m->body);
        return SMBW_ENOMEM;
    }
    return 0;
}

int smbw_file_lock(smbw_file *f, uint64_t off, uint64_t len, uint32_t flags)
{
    smbw_conn *c;
    int rc = api_file_conn(f, &c);
    if (rc)
        return rc;
    core_msg m;
    if ((rc = lock_msg(&m, f, c, off, len, flags)) != 0)
        return rc;
    api_rsp rsp;
    rc = api_call(c, &m, 1, false, &rsp);
    if (!rc && rsp.h.status != SMBW_STATUS_SUCCESS)
        rc = api_status_error(c, rsp.h.status, "LOCK");
    api_rsp_free(&rsp);
    return rc;
}

/* ---- IOCTL --------------------------------------------------------------- */

static int ioctl_msg(core_msg *m, smbw_file *f, smbw_conn *c, uint32_t ctl, const void *in,
                     size_t inlen, uint32_t max_out)
{
    if (inlen > c->max_transact || max_out > c->max_transact)
        return core_set_error(c, SMBW_EINVAL, 0, "IOCTL buffers exceed MaxTransactSize (%u)",
                              c->max_transact);
    api_msg_for_tree(m, f->tree, SMB2_IOCTL);
    smb2_ioctl_req r;
    memset(&r, 0, sizeof r);
    r.ctl_code = ctl;
    memcpy(r.file_id, f->id, 16);
    r.input = in;
    r.input_len = (uint32_t)inlen;
    r.max_output_response = max_out;
    r.flags = SMB2_0_IOCTL_IS_FSCTL;
    m->payload = (uint32_t)(inlen > max_out ? inlen : max_out);
    if (wire_encode_ioctl(&m->body, &r) != 0) {
        buf_free(&m->body);
        return SMBW_ENOMEM;
    }
    return 0;
}

/* Decodes an IOCTL response that may carry a body with an error status
 * (e.g. STATUS_INVALID_PARAMETER with copychunk limits). Returns 0 with
 * out/outlen set (possibly empty) or SMBW_EPROTO. */
static int ioctl_output(const smb2_hdr *h, const uint8_t *msg, size_t len, uint32_t max_out,
                        const uint8_t **out, uint32_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (wire_status_is_error_response(h->command, h->status)) {
        smb2_error_rsp e;
        if (wire_decode_error(msg, len, &e) == 0)
            return 0; /* plain error response */
        /* else an error status with a whole IOCTL body: copychunk's
         * STATUS_INVALID_PARAMETER with the server's limits (3.3.5.15.6). */
    }
    smb2_ioctl_rsp r;
    if (wire_decode_ioctl(msg, len, &r) != 0)
        return SMBW_EPROTO;
    if (r.output_len > max_out)
        return SMBW_EPROTO;
    *out = r.output;
    *outlen = r.output_len;
    return 0;
}

static int range_push(smbw_range **v, size_t *n, size_t *cap, uint64_t off, uint64_t len)
{
    if (*n > 0 && (*v)[*n - 1].off + (*v)[*n - 1].len == off) {
        (*v)[*n - 1].len += len;
        return 0;
    }
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        smbw_range *nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return SMBW_ENOMEM;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = (smbw_range){off, len};
    return 0;
}

int smbw_file_allocated_ranges(smbw_file *f, uint64_t off, uint64_t len, smbw_range **out,
                               size_t *n)
{
    if (!out || !n)
        return SMBW_EINVAL;
    *out = NULL;
    *n = 0;
    smbw_conn *c;
    int rc = api_file_conn(f, &c);
    if (rc)
        return rc;
    if (off > UINT64_MAX - len || off + len > (uint64_t)INT64_MAX)
        return core_set_error(c, SMBW_EINVAL, 0, "allocated ranges: range out of bounds");
    smbw_range *v = NULL;
    size_t nv = 0, cap = 0;
    uint64_t pos = off, end = off + len;
    alloc_range *r = malloc(4096 * sizeof *r);
    if (!r)
        return SMBW_ENOMEM;
    while (pos < end && !rc) {
        smbw_buf in;
        buf_init(&in);
        wire_encode_allocated_range(&in, pos, end - pos);
        void *o = NULL;
        size_t olen = 0;
        rc = in.failed ? SMBW_ENOMEM
                       : smbw_file_ioctl(f, SMBW_FSCTL_QUERY_ALLOCATED_RANGES, in.p, in.len,
                                         64 * 1024, &o, &olen);
        buf_free(&in);
        uint32_t status = smbw_last_status(c);
        bool more = rc == SMBW_ESTATUS && status == SMBW_STATUS_BUFFER_OVERFLOW;
        if (rc && !more) {
            free(o);
            if (rc != SMBW_ENOMEM && !smbw_conn_is_dead(c) &&
                (status == SMBW_STATUS_NOT_SUPPORTED ||
                 status == SMBW_STATUS_INVALID_DEVICE_REQUEST)) {
                rc = range_push(&v, &nv, &cap, pos, end - pos); /* cannot tell: all data */
            }
            break;
        }
        size_t k = 0;
        rc = wire_decode_allocated_ranges(o, olen, r, 4096, &k);
        free(o);
        if (rc) {
            rc = core_set_error(c, SMBW_EPROTO, 0, "malformed allocated ranges");
            break;
        }
        uint64_t last = pos;
        for (size_t i = 0; i < k && !rc; i++) {
            uint64_t a = r[i].off < pos ? pos : r[i].off;
            uint64_t b = r[i].off + r[i].len > end ? end : r[i].off + r[i].len;
            if (a < last && a < b) {
                rc = core_set_error(c, SMBW_EPROTO, 0, "allocated ranges out of order");
                break;
            }
            if (a < b) {
                rc = range_push(&v, &nv, &cap, a, b - a);
                last = b;
            }
        }
        /* Continue after the last range given; a server that says "more"
         * without moving on is not followed further. */
        if (!more || k == 0 || last <= pos)
            break;
        pos = last;
    }
    free(r);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = nv;
    return 0;
}

/* The outcome of an IOCTL answer as smbw_file_ioctl returns it: the output
 * (also with an error status) copied to *out, the status as an error. */
static int ioctl_answer(smbw_conn *c, uint32_t ctl_code, const api_rsp *rsp, uint32_t max_out,
                        void **out, size_t *outlen)
{
    const uint8_t *o;
    uint32_t olen;
    if (ioctl_output(&rsp->h, rsp->msg.p, rsp->msg.len, max_out, &o, &olen) != 0) {
        core_kill(c, SMBW_EPROTO, "malformed IOCTL response");
        return SMBW_EPROTO;
    }
    if (out && olen) {
        *out = malloc(olen);
        if (!*out)
            return SMBW_ENOMEM;
        memcpy(*out, o, olen);
    }
    if (outlen)
        *outlen = olen;
    int rc = 0;
    if (rsp->h.status != SMBW_STATUS_SUCCESS) {
        char what[64];
        snprintf(what, sizeof what, "IOCTL 0x%08x", ctl_code);
        rc = api_status_error(c, rsp->h.status, what);
        if (rc != SMBW_ENOTSUP)
            rc = SMBW_ESTATUS;
    }
    return rc;
}

int smbw_file_ioctl(smbw_file *f, uint32_t ctl_code, const void *in, size_t inlen, uint32_t max_out,
                    void **out, size_t *outlen)
{
    if (out)
        *out = NULL;
    if (outlen)
        *outlen = 0;
    smbw_conn *c;
    int rc = api_file_conn(f, &c);
    if (rc)
        return rc;
    core_msg m;
    if ((rc = ioctl_msg(&m, f, c, ctl_code, in, inlen, max_out)) != 0)
        return rc;
    api_rsp rsp;
    rc = api_call(c, &m, 1, false, &rsp);
    if (!rc)
        rc = ioctl_answer(c, ctl_code, &rsp, max_out, out, outlen);
    api_rsp_free(&rsp);
    return rc;
}

int smbw_tree_ioctl(smbw_tree *t, uint32_t ctl_code, const void *in, size_t inlen, uint32_t max_out,
                    void **out, size_t *outlen)
{
    if (out)
        *out = NULL;
    if (outlen)
        *outlen = 0;
    smbw_conn *c;
    int rc = api_tree_conn(t, &c);
    if (rc)
        return rc;
    if (!in && inlen)
        return SMBW_EINVAL;
    if (inlen > c->max_transact || max_out > c->max_transact)
        return core_set_error(c, SMBW_EINVAL, 0, "IOCTL buffers exceed MaxTransactSize (%u)",
                              c->max_transact);
    core_msg m;
    api_msg_for_tree(&m, t, SMB2_IOCTL);
    smb2_ioctl_req r;
    memset(&r, 0, sizeof r);
    r.ctl_code = ctl_code;
    memset(r.file_id, 0xff, 16); /* no open (MS-SMB2 2.2.31) */
    r.input = in;
    r.input_len = (uint32_t)inlen;
    r.max_output_response = max_out;
    r.flags = SMB2_0_IOCTL_IS_FSCTL;
    m.payload = (uint32_t)(inlen > max_out ? inlen : max_out);
    if (wire_encode_ioctl(&m.body, &r) != 0) {
        buf_free(&m.body);
        return SMBW_ENOMEM;
    }
    api_rsp rsp;
    rc = api_call(c, &m, 1, false, &rsp);
    if (!rc)
        rc = ioctl_answer(c, ctl_code, &rsp, max_out, out, outlen);
    api_rsp_free(&rsp);
    return rc;
}

/* The requests of smbw_file_create_ioctl into m: the CREATE of path and a
 * related IOCTL (FileId 0xFFFFFFFFFFFFFFFF: the open just made). Returns 0
 * or an error (m then freed). */
static int create_ioctl_msgs(smbw_conn *c, smbw_tree *t, const char *path,
                             const smbw_create_params *p, uint32_t ctl_code, const void *in,
                             size_t inlen, uint32_t max_out, core_msg m[2],
                             const smb2_durable_req *dur, const smb2_lease *lease)
{
    char *sp;
    int rc = api_path(path, &sp);
    if (rc)
        return rc;
    char *dp = NULL;
    api_msg_for_tree(&m[0], t, SMB2_CREATE);
    rc = dfs_name(c, t, sp, &m[0], &dp);
    if (!rc)
        rc = api_encode_create_dur(&m[0].body, dp ? dp : sp, p, API_QFID(c), dur, lease);
    free(dp);
    free(sp);
    api_msg_for_tree(&m[1], t, SMB2_IOCTL);
    smb2_ioctl_req r;
    memset(&r, 0, sizeof r);
    r.ctl_code = ctl_code;
    memcpy(r.file_id, FILE_ID_RELATED, 16);
    r.input = in;
    r.input_len = (uint32_t)inlen;
    r.max_output_response = max_out;
    r.flags = SMB2_0_IOCTL_IS_FSCTL;
    m[1].payload = (uint32_t)(inlen > max_out ? inlen : max_out);
    if (!rc && wire_encode_ioctl(&m[1].body, &r) != 0)
        rc = SMBW_ENOMEM;
    if (rc) {
        buf_free(&m[0].body);
        buf_free(&m[1].body);
        return core_set_error(c, rc, 0, "open %s: cannot build request", path);
    }
    return 0;
}

static int create_ioctl(smbw_file **out, smbw_tree *t, const char *path,
                        const smbw_create_params *p, uint32_t ctl_code, const void *in,
                        size_t inlen, uint32_t max_out, void **ioctl_out, size_t *ioctl_outlen,
                        bool follow);

int smbw_file_create_ioctl(smbw_file **out, smbw_tree *t, const char *path,
                           const smbw_create_params *p, uint32_t ctl_code, const void *in,
                           size_t inlen, uint32_t max_out, void **ioctl_out, size_t *ioctl_outlen)
{
    return create_ioctl(out, t, path, p, ctl_code, in, inlen, max_out, ioctl_out, ioctl_outlen,
                        true);
}

/* smbw_file_create_ioctl; follow as for file_create. */
static int create_ioctl(smbw_file **out, smbw_tree *t, const char *path,
                        const smbw_create_params *p, uint32_t ctl_code, const void *in,
                        size_t inlen, uint32_t max_out, void **ioctl_out, size_t *ioctl_outlen,
                        bool follow)
{
    if (ioctl_out)
        *ioctl_out = NULL;
    if (ioctl_outlen)
        *ioctl_outlen = 0;
    if (!out)
        return SMBW_EINVAL;
    *out = NULL;
    smbw_conn *c;
    int rc = api_tree_conn(t, &c);
    if (rc)
        return rc;
    if (!p || (!in && inlen))
        return SMBW_EINVAL;
    if (inlen > c->max_transact || max_out > c->max_transact)
        return core_set_error(c, SMBW_EINVAL, 0, "IOCTL buffers exceed MaxTransactSize (%u)",
                              c->max_transact);
    core_msg m[2];
    smb2_durable_req dur;
    smb2_lease lease;
    bool want_dur = api_durable_req(c, p, &dur, &lease);
    if ((rc = create_ioctl_msgs(c, t, path, p, ctl_code, in, inlen, max_out, m,
                                want_dur ? &dur : NULL, &lease)) != 0)
        return rc;
    api_rsp rsp[2];
    rc = api_call(c, m, 2, true, rsp);
    if (!rc && follow && rsp[0].h.status == SMBW_STATUS_PATH_NOT_COVERED) {
        for (int i = 0; i < 2; i++)
            api_rsp_free(&rsp[i]);
        smbw_tree *nt;
        char *np;
        if ((rc = dfs_elsewhere(c, t, "open", path, &nt, &np)) != 0)
            return rc;
        rc = dfs_report(c, nt,
                        create_ioctl(out, nt, np, p, ctl_code, in, inlen, max_out, ioctl_out,
                                     ioctl_outlen, false));
        free(np);
        return rc;
    }
    smbw_file *f = NULL;
    if (!rc)
        rc = create_answer(c, t, &rsp[0], "open", path, &f);
    if (!rc)
        remember_path(f, path, p);
    if (!rc && want_dur)
        api_file_durable(c, f, &dur, &lease);
    if (!rc)
        rc = ioctl_answer(c, ctl_code, &rsp[1], max_out, ioctl_out, ioctl_outlen);
    for (int i = 0; i < 2; i++)
        api_rsp_free(&rsp[i]);
    *out = f; /* after a failed IOCTL the file stays open for the caller */
    return rc;
}

/* ---- async READ/WRITE/IOCTL ----------------------------------------------- */

typedef struct async_ctx {
    smbw_cb cb;
    void *ud;
    uint32_t max_out;
    smbw_conn *c;
    uint8_t *dst; /* smbw_file_pread_into_async */
} async_ctx;

/* Completes an async request that the server answered with an error status. */
static void async_status_fail(async_ctx *a, uint32_t status, const char *what)
{
    int e = smbw_status_to_error(status);
    if (!e)
        e = SMBW_ESTATUS;
    core_set_error(a->c, e, status, "%s: %s", what, smbw_status_name(status));
    a->cb(a->ud, e, status, NULL, 0);
}

static int async_read_done(void *ud, int err, const smb2_hdr *h, const uint8_t *msg, size_t len)
{
    async_ctx *a = ud;
    int rc = 0;
    if (err) {
        a->cb(a->ud, err, 0, NULL, 0);
    } else if (h->status == SMBW_STATUS_SUCCESS) {
        smb2_read_rsp r;
        if (wire_decode_read(msg, len, &r) != 0 || r.data_len > a->max_out) {
            rc = SMBW_EPROTO;
            a->cb(a->ud, SMBW_EPROTO, 0, NULL, 0);
        } else {
            a->cb(a->ud, 0, 0, r.data, r.data_len);
        }
    } else if (h->status == SMBW_STATUS_END_OF_FILE) {
        a->cb(a->ud, 0, 0, NULL, 0);
    } else {
        async_status_fail(a, h->status, "READ");
    }
    free(a);
    return rc;
}

/* A READ into the caller's buffer: the data is there already when the core
 * received it straight into it (h->placed), else it is copied from msg. */
static int async_read_into_done(void *ud, int err, const smb2_hdr *h, const uint8_t *msg,
                                size_t len)
{
    async_ctx *a = ud;
    int rc = 0;
    smb2_read_rsp r;
    if (err) {
        a->cb(a->ud, err, 0, NULL, 0);
    } else if (h->status == SMBW_STATUS_SUCCESS) {
        if (h->placed
                ? wire_decode_read_placed(msg, len, h->placed, &r) != 0 || r.data_len > a->max_out
                : wire_decode_read(msg, len, &r) != 0 || r.data_len > a->max_out) {
            rc = SMBW_EPROTO;
            a->cb(a->ud, SMBW_EPROTO, 0, NULL, 0);
        } else {
            if (!h->placed && r.data_len)
                memcpy(a->dst, r.data, r.data_len);
            a->cb(a->ud, 0, 0, a->dst, r.data_len);
        }
    } else if (h->status == SMBW_STATUS_END_OF_FILE) {
        a->cb(a->ud, 0, 0, NULL, 0);
    } else {
        async_status_fail(a, h->status, "READ");
    }
    free(a);
    return rc;
}

static int async_write_done(void *ud, int err, const smb2_hdr *h, const uint8_t *msg, size_t len)
{
    async_ctx *a = ud;
    int rc = 0;
    if (err) {
        a->cb(a->ud, err, 0, NULL, 0);
    } else if (h->status == SMBW_STATUS_SUCCESS) {
        smb2_write_rsp w;
        if (wire_decode_write(msg, len, &w) != 0 || w.count > a->max_out) {
            rc = SMBW_EPROTO;
            a->cb(a->ud, SMBW_EPROTO, 0, NULL, 0);
        } else {
            /* data NULL, len = bytes written */
            a->cb(a->ud, 0, 0, NULL, w.count);
        }
    } else {
        async_status_fail(a, h->status, "WRITE");
    }
    free(a);
    return rc;
}

static int async_ioctl_done(void *ud, int err, const smb2_hdr *h, const uint8_t *msg, size_t len)
{
    async_ctx *a = ud;
    int rc = 0;
    if (err) {
        a->cb(a->ud, err, 0, NULL, 0);
    } else {
        const uint8_t *o;
        uint32_t olen;
        if (ioctl_output(h, msg, len, a->max_out, &o, &olen) != 0) {
            rc = SMBW_EPROTO;
            a->cb(a->ud, SMBW_EPROTO, 0, NULL, 0);
        } else {
            int e = 0;
            if (h->status != SMBW_STATUS_SUCCESS) {
                e = smbw_status_to_error(h->status);
                if (e != SMBW_ENOTSUP)
                    e = SMBW_ESTATUS;
                core_set_error(a->c, e, h->status, "IOCTL: %s", smbw_status_name(h->status));
            }
            a->cb(a->ud, e, h->status, o, olen);
        }
    }
    free(a);
    return rc;
}

static async_ctx *async_new(smbw_conn *c, smbw_cb cb, void *ud, uint32_t max_out)
{
    async_ctx *a = malloc(sizeof *a);
    if (a) {
        a->cb = cb;
        a->ud = ud;
        a->max_out = max_out;
        a->c = c;
        a->dst = NULL;
    }
    return a;
}

static int pread_start(smbw_file *f, void *buf, size_t len, uint64_t off, smbw_cb cb, void *ud)
{
    smbw_conn *c;
    int rc = api_file_conn(f, &c);
    if (rc)
        return rc;
    if (!cb || len == 0 || len > c->max_read || off > INT64_MAX - len)
        return core_set_error(c, SMBW_EINVAL, 0, "bad READ size or offset");
    async_ctx *a = async_new(c, cb, ud, (uint32_t)len);
    if (!a)
        return SMBW_ENOMEM;
    a->dst = buf;
    core_msg m;
    api_msg_for_tree(&m, f->tree, SMB2_READ);
    smb2_read_req r;
    memset(&r, 0, sizeof r);
    r.length = (uint32_t)len;
    r.offset = off;
    memcpy(r.file_id, f->id, 16);
    m.payload = (uint32_t)len;
    m.done = buf ? async_read_into_done : async_read_done;
    m.ud = a;
    m.replay_file = api_replayable_read(f) ? f : NULL;
    m.rx_dst = buf;
    m.rx_cap = buf ? (uint32_t)len : 0;
    if (wire_encode_read(&m.body, &r) != 0) {
        buf_free(&m.body);
        free(a);
        return SMBW_ENOMEM;
    }
    rc = core_submit(c, &m, 1, false);
    if (rc)
        free(a);
    return rc;
}

int smbw_file_pread_async(smbw_file *f, size_t len, uint64_t off, smbw_cb cb, void *ud)
{
    return pread_start(f, NULL, len, off, cb, ud);
}

int smbw_file_pread_into_async(smbw_file *f, void *buf, size_t len, uint64_t off, smbw_cb cb,
                               void *ud)
{
    if (!buf)
        return SMBW_EINVAL;
    return pread_start(f, buf, len, off, cb, ud);
}

/* nocopy: the payload is sent from buf (core_msg.tx_data), which the caller
 * keeps until cb runs; otherwise it is copied into the message at once. */
static int pwrite_start(smbw_file *f, const void *buf, size_t len, uint64_t off, smbw_cb cb,
                        void *ud, bool nocopy)
{
    smbw_conn *c;
    int rc = api_file_conn(f, &c);
    if (rc)
        return rc;
    if (!cb || (!buf && len) || len > c->max_write || off > INT64_MAX - len)
        return core_set_error(c, SMBW_EINVAL, 0, "bad WRITE size or offset");
    nocopy = nocopy && len > 0;
    async_ctx *a = async_new(c, cb, ud, (uint32_t)len);
    if (!a)
        return SMBW_ENOMEM;
    core_msg m;
    api_msg_for_tree(&m, f->tree, SMB2_WRITE);
    core_buf_take(c, &m.body, 64 + (nocopy ? 0 : len));
    smb2_write_req w;
    memset(&w, 0, sizeof w);
    w.offset = off;
    memcpy(w.file_id, f->id, 16);
    w.data = buf;
    w.length = (uint32_t)len;
    m.payload = (uint32_t)len;
    m.done = async_write_done;
    m.ud = a;
    m.replay_file = api_replayable_write(f, off, len) ? f : NULL;
    if (nocopy) {
        m.tx_data = buf;
        m.tx_len = (uint32_t)len;
    }
    if ((nocopy ? wire_encode_write_hdr(&m.body, &w) : wire_encode_write(&m.body, &w)) != 0) {
        buf_free(&m.body);
        free(a);
        return SMBW_ENOMEM;
    }
    rc = core_submit(c, &m, 1, false);
    if (rc)
        free(a);
    return rc;
}

int smbw_file_pwrite_async(smbw_file *f, const void *buf, size_t len, uint64_t off, smbw_cb cb,
                           void *ud)
{
    return pwrite_start(f, buf, len, off, cb, ud, false);
}

int smbw_file_pwrite_nocopy_async(smbw_file *f, const void *buf, size_t len, uint64_t off,
                                  smbw_cb cb, void *ud)
{
    return pwrite_start(f, buf, len, off, cb, ud, true);
}

int smbw_file_ioctl_async(smbw_file *f, uint32_t ctl_code, const void *in, size_t inlen,
                          uint32_t max_out, smbw_cb cb, void *ud)
{
    smbw_conn *c;
    int rc = api_file_conn(f, &c);
    if (rc)
        return rc;
    if (!cb)
        return SMBW_EINVAL;
    async_ctx *a = async_new(c, cb, ud, max_out);
    if (!a)
        return SMBW_ENOMEM;
    core_msg m;
    if ((rc = ioctl_msg(&m, f, c, ctl_code, in, inlen, max_out)) != 0) {
        free(a);
        return rc;
    }
    m.done = async_ioctl_done;
    m.ud = a;
    rc = core_submit(c, &m, 1, false);
    if (rc)
        free(a);
    return rc;
}

static int async_lock_done(void *ud, int err, const smb2_hdr *h, const uint8_t *msg, size_t len)
{
    async_ctx *a = ud;
    (void)msg;
    (void)len;
    if (err)
        a->cb(a->ud, err, 0, NULL, 0);
    else if (h->status == SMBW_STATUS_SUCCESS)
        a->cb(a->ud, 0, 0, NULL, 0);
    else
        async_status_fail(a, h->status, "LOCK");
    free(a);
    return 0;
}

int smbw_file_lock_async(smbw_file *f, uint64_t off, uint64_t len, uint32_t flags, smbw_cb cb,
                         void *ud)
{
    smbw_conn *c;
    int rc = api_file_conn(f, &c);
    if (rc)
        return rc;
    if (!cb)
        return SMBW_EINVAL;
    async_ctx *a = async_new(c, cb, ud, 0);
    if (!a)
        return SMBW_ENOMEM;
    core_msg m;
    if ((rc = lock_msg(&m, f, c, off, len, flags)) != 0) {
        free(a);
        return rc;
    }
    m.done = async_lock_done;
    m.ud = a;
    rc = core_submit(c, &m, 1, false);
    if (rc)
        free(a);
    return rc;
}

/* ---- async compounds: create+write, create+read, commit, close+stat ------ */

typedef struct acall acall;
/* Runs once every member of the call's compound is complete (answered, or
 * failed locally): completes the call, or sends its next request. */
typedef void (*acall_finish_fn)(acall *a);

/* A member's done callback finds its call and answer through this. */
typedef struct acall_ref {
    acall *a;
    int i;
} acall_ref;

struct acall {
    smbw_conn *c;
    smbw_tree *t; /* create: where the open is made */
    smbw_file *f; /* commit, free_stat, a WRITE after the first: the file */
    acall_finish_fn finish;
    union {
        smbw_file_cb file;
        smbw_file_read_cb read;
        smbw_commit_cb commit;
        smbw_stat_cb stat;
        smbw_done_cb done;
    } cb;
    void *ud;
    int n, left; /* members, members not complete yet */
    acall_ref ref[4];
    api_rsp rsp[4];
    size_t len;     /* create+write: bytes of data; create+read: asked */
    size_t done;    /* create+write: bytes written */
    bool mark;      /* create+write: a SET_INFO marks the file (provisional) */
    smbw_commit cm; /* commit: the options (rename_to points to name) */
    char *name;     /* the path (create) or new name (commit), in tail */
    uint8_t *data;  /* create+write: the caller's data, copied, in tail */
    uint8_t tail[];
};

/* A call on c with a copy of name (may be NULL) and of len bytes of data. */
static acall *acall_new(smbw_conn *c, const char *name, const void *data, size_t len)
{
    size_t nlen = name ? strlen(name) + 1 : 0;
    if (len > SIZE_MAX - sizeof(acall) - nlen)
        return NULL;
    acall *a = calloc(1, sizeof *a + nlen + len);
    if (!a)
        return NULL;
    a->c = c;
    if (name) {
        memcpy(a->tail, name, nlen);
        a->name = (char *)a->tail;
    }
    a->data = &a->tail[nlen];
    if (len)
        memcpy(a->data, data, len);
    a->len = len;
    return a;
}

static void acall_free_answers(acall *a)
{
    for (int i = 0; i < a->n; i++)
        api_rsp_free(&a->rsp[i]);
    a->n = 0;
}

static void acall_free(acall *a)
{
    acall_free_answers(a);
    free(a);
}

static int acall_member_done(void *ud, int err, const smb2_hdr *h, const uint8_t *msg, size_t len)
{
    acall_ref *r = ud;
    acall *a = r->a;
    smbw_conn *c = a->c;
    (void)api_rsp_done(&a->rsp[r->i], err, h, msg, len);
    if (--a->left > 0)
        return 0;
    a->finish(a);
    /* A malformed answer killed the connection in the decoders: stop
     * dispatching what followed it. */
    return c->dead && !err ? c->dead_err : 0;
}

/* Submits m[0..n) for a (finish runs once all are complete). Returns 0 or
 * the error of core_submit (no member's callback runs then). */
static int acall_submit(acall *a, core_msg *m, int n, bool related, acall_finish_fn finish)
{
    a->n = a->left = n;
    a->finish = finish;
    for (int i = 0; i < n; i++) {
        api_rsp_init(&a->rsp[i]);
        a->ref[i].a = a;
        a->ref[i].i = i;
        m[i].done = acall_member_done;
        m[i].ud = &a->ref[i];
    }
    return core_submit(a->c, m, n, related);
}

/* The first member that failed locally (the connection died or was
 * freed), or 0. */
static int acall_err(const acall *a)
{
    for (int i = 0; i < a->n; i++)
        if (a->rsp[i].err)
            return a->rsp[i].err;
    return 0;
}

/* Frees f after a start error of an asynchronous call that owns it: its
 * CLOSE is sent when the connection can take it, its answer not awaited. */
static void close_nowait(smbw_file *f);

void api_close_nowait(smbw_file *f)
{
    close_nowait(f);
}

static void close_nowait(smbw_file *f)
{
    smbw_conn *c;
    core_msg m;
    if (api_file_conn(f, &c) == 0 && close_msg(f, false, &m) == 0 && core_submit(c, &m, 1, false))
        core_log(c, SMBW_LOG_DEBUG, "close not sent");
    file_release(f);
}

static void cw_finish_more(acall *a);

/* Completes a create+write: the callback gets f, which is its own. */
static void cw_complete(acall *a, int rc, uint32_t status, smbw_file *f)
{
    if (f)
        f->pos = rc ? 0 : a->len;
    a->cb.file(a->ud, rc, status, f);
    acall_free(a);
}

/* After a short WRITE: the rest, one WRITE at a time on the open (as
 * smbw_file_pwrite would send it). */
static void cw_write_more(acall *a)
{
    acall_free_answers(a);
    size_t rest = a->len - a->done;
    core_msg m;
    api_msg_for_tree(&m, a->f->tree, SMB2_WRITE);
    core_buf_take(a->c, &m.body, 64 + rest);
    smb2_write_req w;
    memset(&w, 0, sizeof w);
    w.offset = a->done;
    memcpy(w.file_id, a->f->id, 16);
    w.data = a->data + a->done;
    w.length = (uint32_t)rest;
    m.payload = (uint32_t)rest;
    int rc = SMBW_ENOMEM;
    if (wire_encode_write(&m.body, &w) != 0)
        buf_free(&m.body);
    else
        rc = acall_submit(a, &m, 1, false, cw_finish_more);
    if (rc)
        cw_complete(a, rc, 0, a->f);
}

static void cw_finish_more(acall *a)
{
    uint32_t status = a->rsp[0].h.status;
    size_t wrote = 0;
    int rc = acall_err(a);
    if (!rc)
        rc = write_answer(a->c, &a->rsp[0], a->name, a->len - a->done, &wrote);
    a->done += wrote;
    if (!rc && a->done < a->len)
        cw_write_more(a);
    else
        cw_complete(a, rc, rc ? status : 0, a->f);
}

static void cw_finish(acall *a)
{
    smbw_file *f = NULL;
    uint32_t status = a->rsp[0].h.status;
    int rc = a->rsp[0].err;
    if (!rc)
        rc = create_answer(a->c, a->t, &a->rsp[0], "create", a->name, &f);
    int w = 1;
    if (!rc && a->mark) {
        w = 2;
        status = a->rsp[1].h.status;
        rc = a->rsp[1].err;
        if (!rc && status != SMBW_STATUS_SUCCESS)
            rc = api_status_error(a->c, status, "mark the new file for deletion until it is kept");
    }
    size_t wrote = 0;
    if (!rc && a->n > w) {
        status = a->rsp[w].h.status;
        rc = a->rsp[w].err;
        if (!rc)
            rc = write_answer(a->c, &a->rsp[w], a->name, a->len, &wrote);
    }
    if (!rc && wrote < a->len) {
        a->f = f;
        a->done = wrote;
        cw_write_more(a);
        return;
    }
    cw_complete(a, rc, rc ? status : 0, f);
}

static int create_write_start(smbw_tree *t, const char *path, const smbw_create_params *p,
                              const void *data, size_t len, bool provisional, smbw_file_cb cb,
                              void *ud)
{
    smbw_conn *c;
    int rc = api_tree_conn(t, &c);
    if (rc)
        return rc;
    if (!p || !cb || !path || (!data && len))
        return SMBW_EINVAL;
    if (len > c->max_write)
        return core_set_error(c, SMBW_EINVAL, 0, "create %s: %zu bytes, more than one WRITE (%u)",
                              path, len, c->max_write);
    acall *a = acall_new(c, path, data, len);
    if (!a)
        return SMBW_ENOMEM;
    a->t = t;
    a->cb.file = cb;
    a->ud = ud;
    a->mark = provisional;
    core_msg m[3];
    int n;
    if ((rc = create_write_msgs(c, t, path, p, data, len, provisional, m, &n)) == 0)
        rc = acall_submit(a, m, n, true, cw_finish);
    if (rc)
        free(a);
    return rc;
}

int smbw_file_create_write_async(smbw_tree *t, const char *path, const smbw_create_params *p,
                                 const void *data, size_t len, smbw_file_cb cb, void *ud)
{
    return create_write_start(t, path, p, data, len, false, cb, ud);
}

int smbw_file_create_write_provisional_async(smbw_tree *t, const char *path,
                                             const smbw_create_params *p, const void *data,
                                             size_t len, smbw_file_cb cb, void *ud)
{
    return create_write_start(t, path, p, data, len, true, cb, ud);
}

static void cr_finish(acall *a)
{
    smbw_file *f = NULL;
    uint32_t status = a->rsp[0].h.status;
    int rc = a->rsp[0].err;
    if (!rc)
        rc = create_answer(a->c, a->t, &a->rsp[0], "open", a->name, &f);
    const uint8_t *data = NULL;
    size_t nread = 0;
    if (!rc && a->n > 1) {
        status = a->rsp[1].h.status;
        rc = a->rsp[1].err;
        if (!rc)
            rc = read_answer(a->c, &a->rsp[1], a->name, a->len, &data, &nread);
    }
    if (f)
        f->pos = nread;
    a->cb.read(a->ud, rc, rc ? status : 0, f, data, nread);
    acall_free(a);
}

int smbw_file_create_read_async(smbw_tree *t, const char *path, const smbw_create_params *p,
                                size_t len, smbw_file_read_cb cb, void *ud)
{
    smbw_conn *c;
    int rc = api_tree_conn(t, &c);
    if (rc)
        return rc;
    if (!p || !cb || !path)
        return SMBW_EINVAL;
    acall *a = acall_new(c, path, NULL, 0);
    if (!a)
        return SMBW_ENOMEM;
    a->t = t;
    a->cb.read = cb;
    a->ud = ud;
    a->len = len < c->max_read ? len : c->max_read;
    core_msg m[2];
    int n;
    if ((rc = create_read_msgs(c, t, path, p, a->len, m, &n, NULL, NULL)) == 0)
        rc = acall_submit(a, m, n, true, cr_finish);
    if (rc)
        free(a);
    return rc;
}

/* The open of smbw_file_open_source_async answered: the key, when the
 * server gave one, goes with the file. */
static void os_finish(acall *a)
{
    smbw_file *f = NULL;
    uint32_t status = a->rsp[0].h.status;
    int rc = a->rsp[0].err;
    if (!rc)
        rc = create_answer(a->c, a->t, &a->rsp[0], "open", a->name, &f);
    if (!rc && a->rsp[1].err) {
        rc = a->rsp[1].err;
        status = 0;
    } else if (!rc) {
        void *key = NULL;
        size_t n = 0;
        int r = ioctl_answer(a->c, SMBW_FSCTL_SRV_REQUEST_RESUME_KEY, &a->rsp[1], 4096, &key, &n);
        srv_resume_key k;
        if (r == 0 && wire_decode_resume_key(key, n, &k) == 0) {
            memcpy(f->key, k.key, sizeof f->key);
            f->has_key = true;
        } else if (r == SMBW_EPROTO || r == SMBW_ENOMEM) {
            rc = r; /* a malformed answer killed the connection */
        }
        /* A key refused: the open stands without one (as the synchronous
         * call). */
        free(key);
    }
    a->cb.file(a->ud, rc, rc ? status : 0, f);
    acall_free(a);
}

int smbw_file_open_source_async(smbw_tree *t, const char *path, smbw_file_cb cb, void *ud)
{
    smbw_conn *c;
    int rc = api_tree_conn(t, &c);
    if (rc)
        return rc;
    if (!cb || !path)
        return SMBW_EINVAL;
    acall *a = acall_new(c, path, NULL, 0);
    if (!a)
        return SMBW_ENOMEM;
    a->t = t;
    a->cb.file = cb;
    a->ud = ud;
    smbw_create_params p;
    smbw_create_params_from_flags(&p, SMBW_O_RDONLY);
    core_msg m[2];
    if ((rc = create_ioctl_msgs(c, t, path, &p, SMBW_FSCTL_SRV_REQUEST_RESUME_KEY, NULL, 0, 4096, m,
                                NULL, NULL)) == 0) /* not durable: many files in flight */
        rc = acall_submit(a, m, 2, true, os_finish);
    if (rc)
        free(a);
    return rc;
}

static void commit_finish(acall *a)
{
    smbw_commit_step step = SMBW_COMMIT_REQUEST;
    uint32_t status = 0;
    int rc = acall_err(a);
    if (!rc)
        rc = commit_answers(a->c, &a->cm, a->rsp, &step, &status);
    file_release(a->f);
    a->cb.commit(a->ud, rc, status, step);
    acall_free(a);
}

int smbw_file_commit_async(smbw_file *f, const smbw_commit *cm, smbw_commit_cb cb, void *ud)
{
    if (!f)
        return SMBW_EINVAL;
    smbw_conn *c;
    int rc = api_file_conn(f, &c);
    if (rc) {
        file_release(f);
        return rc;
    }
    smbw_commit cmv;
    if (!cb)
        rc = SMBW_EINVAL;
    else
        rc = commit_load(cm, &cmv, &cm);
    acall *a = NULL;
    if (!rc && !(a = acall_new(c, cm ? cm->rename_to : NULL, NULL, 0)))
        rc = SMBW_ENOMEM;
    if (rc) {
        close_nowait(f);
        return rc;
    }
    if (cm) {
        a->cm = *cm;
        a->cm.rename_to = a->name;
    }
    a->f = f;
    a->cb.commit = cb;
    a->ud = ud;
    core_msg m[4];
    int n = 0;
    smbw_commit_step step;
    rc = commit_build(c, f, &a->cm, m, &n, &step);
    if (!rc)
        rc = acall_submit(a, m, n, false, commit_finish);
    if (rc) {
        free(a);
        close_nowait(f);
    }
    return rc;
}

static void free_stat_finish(acall *a)
{
    smbw_stat st;
    memset(&st, 0, sizeof st);
    bool got = false;
    uint32_t status = a->rsp[0].h.status;
    int rc = acall_err(a);
    if (!rc)
        rc = close_answer(a->c, &a->rsp[0], &st, &got);
    file_release(a->f);
    a->cb.stat(a->ud, rc, rc ? status : 0, &st, got);
    acall_free(a);
}

int smbw_file_free_stat_async(smbw_file *f, smbw_stat_cb cb, void *ud)
{
    if (!f)
        return SMBW_EINVAL;
    smbw_conn *c;
    int rc = api_file_conn(f, &c);
    if (rc) {
        file_release(f);
        return rc;
    }
    acall *a = NULL;
    if (!cb)
        rc = SMBW_EINVAL;
    else if (!(a = acall_new(c, NULL, NULL, 0)))
        rc = SMBW_ENOMEM;
    if (rc) {
        close_nowait(f);
        return rc;
    }
    a->f = f;
    a->cb.stat = cb;
    a->ud = ud;
    core_msg m;
    if ((rc = close_msg(f, true, &m)) == 0)
        rc = acall_submit(a, &m, 1, false, free_stat_finish);
    if (rc) {
        free(a);
        close_nowait(f);
    }
    return rc;
}

/* ---- synchronous pipelined pread/pwrite ----------------------------------- */

typedef struct piece {
    struct xfer *x;
    uint64_t off; /* relative to the transfer start */
    uint32_t len;
} piece;

typedef struct xfer {
    smbw_conn *c;
    uint8_t *rbuf;       /* read destination */
    const uint8_t *wbuf; /* write source */
    size_t len;
    uint64_t base;
    size_t next;   /* next byte to request */
    size_t eof_at; /* smallest known end (reads) */
    int inflight;
    int err;
    uint32_t status;
    piece pieces[IO_DEPTH];
    int free_idx[IO_DEPTH];
    int nfree;
    piece *cur; /* piece of the callback being run */
} xfer;

static void read_piece_cb(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    piece *p = ud;
    xfer *x = p->x;
    x->inflight--;
    x->free_idx[x->nfree++] = (int)(p - x->pieces);
    if (err) {
        if (!x->err) {
            x->err = err;
            x->status = status;
        }
        return;
    }
    if (len > p->len) {
        if (!x->err)
            x->err = SMBW_EPROTO;
        return;
    }
    if (len && data != x->rbuf + p->off)
        memcpy(x->rbuf + p->off, data, len);
    if (len < p->len && p->off + len < x->eof_at)
        x->eof_at = (size_t)(p->off + len);
}

static void write_piece_cb(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    piece *p = ud;
    xfer *x = p->x;
    x->inflight--;
    x->free_idx[x->nfree++] = (int)(p - x->pieces);
    if (err) {
        if (!x->err) {
            x->err = err;
            x->status = status;
        }
        return;
    }
    if (len != p->len && !x->err) {
        /* A short write without an error status: report it, never loop. */
        x->err = SMBW_ENOSPC;
        core_set_error(x->c, SMBW_ENOSPC, 0,
                       "WRITE: the server wrote %zu of %u bytes at offset %llu (out of space?)",
                       len, p->len, (unsigned long long)(x->base + p->off));
    }
}

static int xfer_run(smbw_file *f, smbw_conn *c, xfer *x, bool is_read)
{
    /* Requests that could not be waited for would keep using buf. */
    if (c->dispatching)
        return core_set_error(c, SMBW_EBUSY, 0,
                              "a callback called a waiting function on its own connection");
    uint32_t chunk = is_read ? c->max_read : c->max_write;
    if (chunk > IO_CHUNK)
        chunk = IO_CHUNK;
    x->nfree = IO_DEPTH;
    for (int i = 0; i < IO_DEPTH; i++) {
        x->free_idx[i] = IO_DEPTH - 1 - i;
        x->pieces[i].x = x;
    }
    while (!x->err) {
        while (!x->err && x->nfree > 0 && x->next < x->len && x->next < x->eof_at) {
            piece *p = &x->pieces[x->free_idx[--x->nfree]];
            size_t n = x->len - x->next;
            p->off = x->next;
            p->len = (uint32_t)(n > chunk ? chunk : n);
            /* The caller's buffer outlives every request of the call. */
            int rc = is_read ? smbw_file_pread_into_async(f, x->rbuf + p->off, p->len,
                                                          x->base + p->off, read_piece_cb, p)
                             : smbw_file_pwrite_nocopy_async(f, x->wbuf + p->off, p->len,
                                                             x->base + p->off, write_piece_cb, p);
            if (rc) {
                x->free_idx[x->nfree++] = (int)(p - x->pieces);
                x->err = rc;
                break;
            }
            x->inflight++;
            x->next += p->len;
        }
        if (x->inflight == 0)
            break;
        /* Wait for at least one completion. */
        int before = x->inflight;
        while (x->inflight == before) {
            int rc = io_wait_some(c);
            if (rc)
                return rc;
        }
    }
    /* Drain what is still in flight after an error. */
    while (x->inflight > 0) {
        int rc = io_wait_some(c);
        if (rc)
            return rc;
    }
    return x->err;
}

int smbw_file_pread(smbw_file *f, void *buf, size_t len, uint64_t off, size_t *nread)
{
    if (nread)
        *nread = 0;
    smbw_conn *c;
    int rc = api_file_conn(f, &c);
    if (rc)
        return rc;
    if (!buf && len)
        return SMBW_EINVAL;
    if (len == 0)
        return 0;
    xfer x;
    memset(&x, 0, sizeof x);
    x.c = c;
    x.rbuf = buf;
    x.len = len;
    x.base = off;
    x.eof_at = len;
    rc = xfer_run(f, c, &x, true);
    if (rc)
        return rc;
    if (nread)
        *nread = x.eof_at < len ? x.eof_at : len;
    return 0;
}

int smbw_file_pwrite(smbw_file *f, const void *buf, size_t len, uint64_t off)
{
    smbw_conn *c;
    int rc = api_file_conn(f, &c);
    if (rc)
        return rc;
    if (!buf && len)
        return SMBW_EINVAL;
    if (len == 0)
        return 0;
    xfer x;
    memset(&x, 0, sizeof x);
    x.c = c;
    x.wbuf = buf;
    x.len = len;
    x.base = off;
    x.eof_at = len;
    return xfer_run(f, c, &x, false);
}

int smbw_file_read(smbw_file *f, void *buf, size_t len, size_t *nread)
{
    size_t n = 0;
    if (!f)
        return SMBW_EINVAL;
    int rc = smbw_file_pread(f, buf, len, f->pos, &n);
    if (!rc)
        f->pos += n;
    if (nread)
        *nread = n;
    return rc;
}

int smbw_file_write(smbw_file *f, const void *buf, size_t len)
{
    if (!f)
        return SMBW_EINVAL;
    int rc = smbw_file_pwrite(f, buf, len, f->pos);
    if (!rc)
        f->pos += len;
    return rc;
}

/* ---- path operations (compounded: CREATE + op + CLOSE in one round trip) -- */

/* Builds the middle request of a path operation for tree t into m (m is
 * set up even on failure, so that its body can be freed). */
typedef int (*path_mid_fn)(core_msg *m, smbw_tree *t, const void *arg);

typedef struct path_op {
    const smbw_create_params *p;
    path_mid_fn mid; /* NULL: CREATE and CLOSE only */
    const void *arg;
    const char *what; /* "stat", "mkdir" ... */
    const char *path; /* the caller's path, for messages */
    smbw_stat *st;    /* stat: filled from the CLOSE answer */
} path_op;

/* The answers of a path compound of n requests. */
static int compound_answer(smbw_conn *c, const path_op *op, api_rsp *rsp, int n)
{
    char desc[600];
    snprintf(desc, sizeof desc, "%s %s", op->what, op->path);
    if (rsp[0].h.status != SMBW_STATUS_SUCCESS)
        return api_status_error(c, rsp[0].h.status, desc);
    if (op->mid && rsp[1].h.status != SMBW_STATUS_SUCCESS)
        return api_status_error(c, rsp[1].h.status, desc);
    if (rsp[n - 1].h.status != SMBW_STATUS_SUCCESS)
        return api_status_error(c, rsp[n - 1].h.status, desc);
    if (op->st) {
        smb2_close_rsp cr;
        if (wire_decode_close(rsp[n - 1].msg.p, rsp[n - 1].msg.len, &cr) != 0) {
            core_kill(c, SMBW_EPROTO, "malformed CLOSE response");
            return SMBW_EPROTO;
        }
        stat_from_times(&cr.t, op->st);
    }
    return 0;
}

/* CREATE of SMB path sp on t (in the DFS path form on a DFS share), op's
 * middle request and CLOSE, in one round trip on c (t's connection).
 * *not_covered: the CREATE was answered STATUS_PATH_NOT_COVERED. */
static int compound_build(smbw_conn *c, smbw_tree *t, const char *sp, const path_op *op,
                          core_msg m[3], int *nm)
{
    char *dp = NULL;
    api_msg_for_tree(&m[0], t, SMB2_CREATE);
    int rc = dfs_name(c, t, sp, &m[0], &dp);
    if (!rc)
        rc = api_encode_create(&m[0].body, dp ? dp : sp, op->p);
    free(dp);
    int n = 1;
    if (op->mid) {
        int r = op->mid(&m[n++], t, op->arg);
        if (!rc)
            rc = r;
    }
    api_msg_for_tree(&m[n], t, SMB2_CLOSE);
    if (wire_encode_close(&m[n].body, op->st ? SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB : 0,
                          (const uint8_t *)FILE_ID_RELATED) != 0 &&
        !rc)
        rc = SMBW_ENOMEM;
    n++;
    if (rc) {
        for (int i = 0; i < n; i++)
            buf_free(&m[i].body);
        return core_set_error(c, rc, 0, "%s %s: cannot build request", op->what, op->path);
    }
    *nm = n;
    return 0;
}

static int compound_once(smbw_conn *c, smbw_tree *t, const char *sp, const path_op *op,
                         bool *not_covered)
{
    *not_covered = false;
    core_msg m[3];
    int n;
    int rc = compound_build(c, t, sp, op, m, &n);
    if (rc)
        return rc;
    api_rsp rsp[3];
    rc = api_call(c, m, n, true, rsp);
    *not_covered = !rc && rsp[0].h.status == SMBW_STATUS_PATH_NOT_COVERED;
    if (!rc)
        rc = compound_answer(c, op, rsp, n);
    for (int i = 0; i < n; i++)
        api_rsp_free(&rsp[i]);
    return rc;
}

/* compound_once on tree t2 (a DFS target of a tree of c): its errors are
 * reported on c too. */
static int compound_on(smbw_conn *c, smbw_tree *t2, const char *sp, const path_op *op)
{
    smbw_conn *tc = NULL;
    bool nc;
    int rc = api_tree_conn(t2, &tc);
    if (!rc)
        rc = compound_once(tc, t2, sp, op, &nc);
    if (rc && tc && tc != c)
        core_set_error(c, rc, tc->last_status, "%s", tc->errmsg);
    return rc;
}

/* op on the caller's path on t; a CREATE answered STATUS_PATH_NOT_COVERED
 * runs again where DFS says the path lives (MS-DFSC 3.1.4.1). */
static int path_compound(smbw_tree *t, const path_op *op)
{
    smbw_conn *c;
    int rc = api_tree_conn(t, &c);
    if (rc)
        return rc;
    char *sp;
    if ((rc = api_path(op->path, &sp)) != 0)
        return rc;
    bool not_covered;
    rc = compound_once(c, t, sp, op, &not_covered);
    if (not_covered) {
        smbw_tree *nt = NULL;
        char *np = NULL;
        int r = api_dfs_resolve(c, t, sp, &nt, &np);
        if (r == 0)
            r = nt != t ? compound_on(c, nt, np, op) : rc; /* on t: the first answer stands */
        free(np);
        rc = r;
    }
    free(sp);
    return rc;
}

int smbw_stat_path(smbw_tree *t, const char *path, smbw_stat *st)
{
    if (!st)
        return SMBW_EINVAL;
    smbw_create_params p;
    memset(&p, 0, sizeof p);
    p.desired_access = FILE_READ_ATTRIBUTES | SYNCHRONIZE;
    p.share_access = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    p.create_disposition = FILE_OPEN;
    path_op op = {&p, NULL, NULL, "stat", path, st};
    return path_compound(t, &op);
}

int smbw_mkdir(smbw_tree *t, const char *path)
{
    smbw_create_params p;
    memset(&p, 0, sizeof p);
    p.desired_access = FILE_READ_ATTRIBUTES | SYNCHRONIZE;
    p.share_access = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    p.file_attributes = SMBW_FILE_ATTRIBUTE_DIRECTORY;
    p.create_disposition = FILE_CREATE;
    p.create_options = FILE_DIRECTORY_FILE;
    path_op op = {&p, NULL, NULL, "mkdir", path, NULL};
    return path_compound(t, &op);
}

/* A related SET_INFO of file information class cls with data b (a
 * smbw_buf: FileDispositionInformation, FileRenameInformation). */
typedef struct info_arg {
    uint8_t cls;
    const smbw_buf *b;
} info_arg;

static int set_info_mid(core_msg *m, smbw_tree *t, const void *arg)
{
    const info_arg *a = arg;
    api_msg_for_tree(m, t, SMB2_SET_INFO);
    smb2_set_info_req s;
    memset(&s, 0, sizeof s);
    s.info_type = SMB2_0_INFO_FILE;
    s.file_info_class = a->cls;
    s.data = a->b->p;
    s.data_len = (uint32_t)a->b->len;
    memcpy(s.file_id, FILE_ID_RELATED, 16);
    return wire_encode_set_info(&m->body, &s) != 0 ? SMBW_ENOMEM : 0;
}

static int delete_path(smbw_tree *t, const char *path, bool dir)
{
    smbw_create_params p;
    memset(&p, 0, sizeof p);
    p.desired_access = DELETE_ACCESS | FILE_READ_ATTRIBUTES | SYNCHRONIZE;
    p.share_access = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    p.create_disposition = FILE_OPEN;
    p.create_options = (dir ? FILE_DIRECTORY_FILE : FILE_NON_DIRECTORY_FILE);
    /* Set delete-on-close through SET_INFO (not the create option) so a
     * non-empty directory reports STATUS_DIRECTORY_NOT_EMPTY. */
    uint8_t one = 1;
    smbw_buf b = {.p = &one, .len = 1};
    info_arg a = {FileDispositionInformation, &b};
    path_op op = {&p, set_info_mid, &a, dir ? "rmdir" : "unlink", path, NULL};
    return path_compound(t, &op);
}

int smbw_unlink(smbw_tree *t, const char *path)
{
    return delete_path(t, path, false);
}

int smbw_rmdir(smbw_tree *t, const char *path)
{
    return delete_path(t, path, true);
}

/* smbw_set_basic[_async]: the open (attributes only) and the
 * FileBasicInformation into *b (b->failed when out of memory). */
static void basic_op(smbw_create_params *p, smbw_buf *b, uint64_t creation, uint64_t access,
                     uint64_t write, uint64_t change, uint32_t attributes)
{
    memset(p, 0, sizeof *p);
    p->desired_access = FILE_WRITE_ATTRIBUTES | FILE_READ_ATTRIBUTES | SYNCHRONIZE;
    p->share_access = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    p->create_disposition = FILE_OPEN;
    buf_init(b);
    wire_encode_basic_info(b, creation, access, write, change, attributes);
}

int smbw_set_basic(smbw_tree *t, const char *path, uint64_t creation, uint64_t access,
                   uint64_t write, uint64_t change, uint32_t attributes)
{
    smbw_create_params p;
    smbw_buf b;
    basic_op(&p, &b, creation, access, write, change, attributes);
    int rc = SMBW_ENOMEM;
    if (!b.failed) {
        info_arg a = {FileBasicInformation, &b};
        path_op op = {&p, set_info_mid, &a, "set times of", path, NULL};
        rc = path_compound(t, &op);
    }
    buf_free(&b);
    return rc;
}

/* smbw_set_basic_async: the three answers, then the caller's callback. */
static void basic_finish(acall *a)
{
    int rc = acall_err(a);
    uint32_t status = 0;
    if (!rc) {
        for (int i = 0; i < a->n && !status; i++)
            status = a->rsp[i].h.status;
        /* mid set: the SET_INFO's answer is checked too */
        path_op op = {NULL, set_info_mid, NULL, "set times of", a->name, NULL};
        rc = compound_answer(a->c, &op, a->rsp, a->n);
    }
    a->cb.done(a->ud, rc, rc ? status : 0);
    acall_free(a);
}

int smbw_set_basic_async(smbw_tree *t, const char *path, uint64_t creation, uint64_t access,
                         uint64_t write, uint64_t change, uint32_t attributes, smbw_done_cb cb,
                         void *ud)
{
    smbw_conn *c;
    int rc = api_tree_conn(t, &c);
    if (rc)
        return rc;
    if (!cb || !path)
        return SMBW_EINVAL;
    char *sp;
    if ((rc = api_path(path, &sp)) != 0)
        return rc;
    acall *a = acall_new(c, path, NULL, 0);
    smbw_create_params p;
    smbw_buf d;
    basic_op(&p, &d, creation, access, write, change, attributes);
    if (!a || d.failed) {
        free(a);
        free(sp);
        buf_free(&d);
        return SMBW_ENOMEM;
    }
    a->cb.done = cb;
    a->ud = ud;
    info_arg arg = {FileBasicInformation, &d};
    path_op op = {&p, set_info_mid, &arg, "set times of", path, NULL};
    core_msg m[3];
    int n = 0;
    rc = compound_build(c, t, sp, &op, m, &n);
    free(sp);
    buf_free(&d);
    if (!rc)
        rc = acall_submit(a, m, n, true, basic_finish);
    if (rc)
        free(a);
    return rc;
}

/* Where the SMB paths sf and sp on t lead through DFS (*ft, *ff and *tf
 * malloc'd): one tree for both, or SMBW_EINVAL (a rename stays within one
 * share). */
static int rename_targets(smbw_conn *c, smbw_tree *t, const char *sf, const char *st,
                          smbw_tree **ft, char **ff, char **tf)
{
    smbw_tree *tt = NULL;
    int rc = api_dfs_resolve(c, t, sf, ft, ff);
    if (!rc)
        rc = api_dfs_resolve(c, t, st, &tt, tf);
    if (!rc && tt != *ft)
        rc = core_set_error(c, SMBW_EINVAL, 0,
                            "rename %s -> %s: DFS leads them to different shares (\\\\%s\\%s and "
                            "\\\\%s\\%s); a rename stays within one share",
                            sf, st, smbw_tree_server(*ft), (*ft)->share, smbw_tree_server(tt),
                            tt->share);
    return rc;
}

int smbw_rename(smbw_tree *t, const char *from, const char *to, bool replace)
{
    smbw_conn *c;
    int rc = api_tree_conn(t, &c);
    if (rc)
        return rc;
    smbw_create_params p;
    memset(&p, 0, sizeof p);
    p.desired_access = DELETE_ACCESS | FILE_READ_ATTRIBUTES | SYNCHRONIZE;
    p.share_access = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    p.create_disposition = FILE_OPEN;
    char *sf = NULL, *st = NULL, *ff = NULL, *tf = NULL;
    smbw_tree *ft = t;
    smbw_buf b;
    buf_init(&b);
    rc = api_path(from, &sf);
    if (!rc)
        rc = api_path(to, &st);
    /* Both names through DFS first: the new name is sent relative to the
     * share that holds the file (SMB2 rename names are never DFS paths). */
    if (!rc)
        rc = rename_targets(c, t, sf, st, &ft, &ff, &tf);
    if (!rc)
        rc = wire_encode_rename_info(&b, replace, tf);
    if (!rc) {
        info_arg a = {FileRenameInformation, &b};
        path_op op = {&p, set_info_mid, &a, "rename", from, NULL};
        rc = ft == t ? path_compound(t, &op) : compound_on(c, ft, ff, &op);
    }
    buf_free(&b);
    free(sf);
    free(st);
    free(ff);
    free(tf);
    return rc;
}

/* ---- whole files ----------------------------------------------------------- */

int smbw_read_file(smbw_tree *t, const char *path, void **data, size_t *len, size_t max_size)
{
    if (!data || !len)
        return SMBW_EINVAL;
    *data = NULL;
    *len = 0;
    if (max_size == 0)
        max_size = (size_t)1 << 30;
    smbw_file *f;
    int rc = smbw_file_open(&f, t, path, SMBW_O_RDONLY);
    if (rc)
        return rc;
    smbw_stat st;
    rc = smbw_file_stat(f, &st);
    if (!rc && (st.is_dir || st.size > max_size || st.size >= SIZE_MAX)) {
        smbw_conn *c;
        rc = st.is_dir ? SMBW_EISDIR : SMBW_EINVAL;
        if (api_tree_conn(t, &c) == 0)
            core_set_error(c, rc, 0, "read %s: %s", path,
                           st.is_dir ? "is a directory" : "larger than the size limit");
    }
    uint8_t *buf = NULL;
    size_t got = 0;
    if (!rc) {
        buf = malloc((size_t)st.size + 1);
        if (!buf)
            rc = SMBW_ENOMEM;
    }
    if (!rc)
        rc = smbw_file_pread(f, buf, (size_t)st.size, 0, &got);
    int rc2 = smbw_file_free(f);
    if (!rc)
        rc = rc2;
    if (rc) {
        free(buf);
        return rc;
    }
    buf[got] = 0;
    *data = buf;
    *len = got;
    return 0;
}

int smbw_write_file(smbw_tree *t, const char *path, const void *data, size_t len)
{
    if (!data && len)
        return SMBW_EINVAL;
    smbw_file *f;
    int rc =
        smbw_file_open(&f, t, path, SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_TRUNC | SMBW_O_DELETE);
    if (rc)
        return rc;
    bool created = f->create_action == 2; /* FILE_CREATED */
    rc = smbw_file_pwrite(f, data, len, 0);
    if (rc && created) {
        int r = smbw_file_delete_on_close(f);
        (void)r;
    }
    int rc2 = smbw_file_free(f);
    return rc ? rc : rc2;
}
