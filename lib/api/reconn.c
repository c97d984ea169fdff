/* Reconnect after the transport died: the connection, its sessions, trees
 * and open files brought back in place (the caller's pointers stay valid),
 * with the same protection as before or not at all. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/setup.h"
#include "../crypto/crypto.h"
#include "../util/sized.h"

#define RECONN_MAX_WAIT_MS 30000
#define RECONN_MAX_RETRIES 100

enum { API_RE_TODO, API_RE_BACK, API_RE_REFUSED }; /* smbw_file.re_state */

static int revive(smbw_conn *c);

int smbw_conn_set_reconnect(smbw_conn *c, const smbw_reconnect_opts *opts)
{
    if (!c)
        return SMBW_EINVAL;
    if (!opts) {
        c->re_retries = 0;
        c->re_wait_ms = 0;
        c->re_password = NULL;
        c->re_notify = NULL;
        c->re_durable = false;
        c->re_replay = false;
        c->re_durable_shared = false;
        c->revive = NULL;
        return 0;
    }
    smbw_reconnect_opts o;
    int rc = sized_load(&o, sizeof o, opts, SIZED_END(smbw_reconnect_opts, replay));
    if (rc)
        return rc;
    if (o.retries < 0 || o.retries > RECONN_MAX_RETRIES || o.wait_ms < 0)
        return SMBW_EINVAL;
    c->re_retries = o.retries;
    c->re_wait_ms = o.wait_ms;
    c->re_password = o.password;
    c->re_password_ud = o.password_ud;
    c->re_notify = o.notify;
    c->re_notify_ud = o.notify_ud;
    c->re_durable = o.durable && o.retries > 0;
    c->re_replay = o.replay && o.retries > 0;
    c->re_durable_shared = o.durable_shared;
    c->revive = c->re_replay ? revive : NULL;
    return 0;
}

uint64_t smbw_conn_reconnects(const smbw_conn *c)
{
    return c ? c->reconnects : 0;
}

uint64_t smbw_conn_replays(const smbw_conn *c)
{
    return c ? c->replays : 0;
}

bool api_replayable_read(const smbw_file *f)
{
    const smbw_conn *c = f->tree && f->tree->sess ? f->tree->sess->conn : NULL;
    return c && c->re_replay && c->dialect >= SMBW_SMB3_00 && f->re_path;
}

bool api_replayable_write(const smbw_file *f, uint64_t off, size_t len)
{
    return api_replayable_read(f) && f->durable && off + len <= f->times.end_of_file;
}

/* What the connection had before: the new one must match it. */
typedef struct reconn_was {
    uint16_t dialect, sign_alg, cipher;
} reconn_was;

/* Authenticates s again: a new session object whose state then replaces
 * s's own (same address for the caller). The request names s's old id as
 * PreviousSessionId (MS-SMB2 2.2.5, 3.3.5.5.3), so the server ends the old
 * session before it answers: its durable opens are then disconnected and
 * the reclaims that follow are not refused because the server has not yet
 * seen the old connection drop (Samba waits for the old session to go). */
static int reauth(smbw_conn *c, struct smbw_session *s)
{
    char pw[512];
    smbw_creds cr = SMBW_CREDS_INIT;
    cr.kind = (enum smbw_auth_kind)s->re_kind;
    cr.user = s->re_user;
    cr.domain = s->re_domain;
    cr.target_host = s->re_target;
    cr.kerberos_fallback_ntlm = s->re_fallback;
    bool need_pw = cr.kind == SMBW_AUTH_NTLM || (cr.kind == SMBW_AUTH_KERBEROS && s->re_fallback);
    if (need_pw) {
        if (!c->re_password)
            return core_set_error(c, SMBW_EAUTH, 0,
                                  "reconnect: no password callback to log in %s again",
                                  s->re_user ? s->re_user : "");
        memset(pw, 0, sizeof pw);
        int rc = c->re_password(c->re_password_ud, s->re_user ? s->re_user : "",
                                s->re_domain ? s->re_domain : "", pw, sizeof pw);
        pw[sizeof pw - 1] = 0;
        if (rc) {
            crypto_cleanse(pw, sizeof pw);
            return core_set_error(c, rc < 0 ? rc : SMBW_EAUTH, 0,
                                  "reconnect: the password callback gave up");
        }
        cr.password = pw;
    }
    struct smbw_session *ns = NULL;
    api_setup_wait w = {0, 0};
    int rc = setup_session_start(c, &cr, s->id, &ns, api_setup_done, &w);
    if (!rc)
        rc = api_setup_wait_for(c, &w);
    crypto_cleanse(pw, sizeof pw);
    if (rc)
        return rc;
    if ((s->signing && !ns->signing) || (s->encrypt && !ns->encrypt) ||
        (s->signing && ns->sign_alg != s->sign_alg))
        rc = core_set_error(c, SMBW_EPOLICY, 0,
                            "reconnect: the new session would not sign or encrypt as before");
    if (!rc) {
        s->id = ns->id;
        s->valid = ns->valid;
        s->signing = ns->signing;
        s->encrypt = ns->encrypt;
        s->is_guest = ns->is_guest;
        s->is_anonymous = ns->is_anonymous;
        s->auth_mech = ns->auth_mech;
        s->sign_alg = ns->sign_alg;
        s->keys = ns->keys;
        core_sess_gmac_reset(s); /* made again from the new signing key */
        memcpy(s->preauth, ns->preauth, sizeof s->preauth);
    }
    setup_sess_unlink(ns);
    setup_sess_destroy(ns);
    return rc;
}

/* Connects tree t again: a new tree whose id and flags replace t's. */
static int retree(smbw_conn *c, struct smbw_session *s, struct smbw_tree *t)
{
    struct smbw_tree *nt = NULL;
    api_setup_wait w = {0, 0};
    int rc = setup_tree_start(s, t->share, &nt, api_setup_done, &w);
    if (!rc)
        rc = api_setup_wait_for(c, &w);
    if (rc)
        return rc;
    /* setup_tree_link put nt first in s's list: take it out again. */
    s->trees = nt->next;
    if (nt->next)
        nt->next->prev = NULL;
    if (t->encrypt && !nt->encrypt && !s->encrypt)
        rc = core_set_error(c, SMBW_EPOLICY, 0, "reconnect: share %s no longer asks for encryption",
                            t->share);
    if (!rc) {
        t->id = nt->id;
        t->share_type = nt->share_type;
        t->share_flags = nt->share_flags;
        t->capabilities = nt->capabilities;
        t->maximal_access = nt->maximal_access;
        t->encrypt = nt->encrypt;
    }
    setup_tree_discard(nt);
    return rc;
}

static bool writable(uint32_t access)
{
    return (access & (GENERIC_WRITE | FILE_WRITE_DATA | FILE_APPEND_DATA | GENERIC_ALL)) != 0;
}

/* Whether the reopened file (cr) is f's: the same on-disk id when the
 * server gave one (else the same creation time: servers without birth times
 * may report another); for an open without write access also the same size
 * and last write time. 0 (same), 2 (another file) or SMBW_EPROTO. */
static int same_file(smbw_conn *c, const struct smbw_file *f, const smb2_create_rsp *cr)
{
    bool same;
    if (f->has_disk_id) {
        uint8_t id[WIRE_DISK_ID_LEN];
        bool found = false;
        if (wire_decode_qfid(cr->contexts, cr->contexts_len, id, &found) != 0) {
            core_kill(c, SMBW_EPROTO, "malformed QFid create context");
            return SMBW_EPROTO;
        }
        same = found && memcmp(id, f->disk_id, sizeof id) == 0;
    } else {
        same = cr->t.creation_time == f->times.creation_time;
    }
    if (!writable(f->re_access))
        same = same && cr->t.last_write_time == f->times.last_write_time &&
               cr->t.end_of_file == f->times.end_of_file;
    if (same)
        return 0;
    core_log(c, SMBW_LOG_INFO,
             "reconnect: %s is not the file it was (%s; written %llu/%llu, size %llu/%llu)",
             f->re_path, f->has_disk_id ? "by its on-disk id" : "by its creation time",
             (unsigned long long)f->times.last_write_time,
             (unsigned long long)cr->t.last_write_time, (unsigned long long)f->times.end_of_file,
             (unsigned long long)cr->t.end_of_file);
    return 2; /* open, but not ours: closed by the caller of reopen */
}

/* A durable open reclaimed (DH2C/DHnC, MS-SMB2 3.2.4.4): 0 with f's new
 * id, 1 when the server refused (the caller opens by path then), or the
 * connection's fatal error. again: reclaimed before in this reconnect. */
static int reclaim(smbw_conn *c, struct smbw_tree *t, struct smbw_file *f, bool again)
{
    smbw_create_params p;
    memset(&p, 0, sizeof p);
    p.desired_access = f->re_access;
    p.share_access = f->re_share;
    p.create_options = f->re_options;
    p.file_attributes = f->re_attrs;
    p.create_disposition = FILE_OPEN;
    smb2_durable_req dur;
    memset(&dur, 0, sizeof dur);
    dur.v2 = f->durable_v2;
    dur.reconnect = true;
    memcpy(dur.file_id, f->id, 16);
    memcpy(dur.create_guid, f->create_guid, 16);
    /* The lease the open holds, under the same key (MS-SMB2 3.2.4.4). */
    smb2_lease lease;
    memset(&lease, 0, sizeof lease);
    if (f->has_lease) {
        memcpy(lease.key, f->lease_key, 16);
        lease.state = f->lease_state ? f->lease_state : SMB2_LEASE_READ;
        lease.epoch = f->lease_epoch;
    }
    core_msg m;
    api_msg_for_tree(&m, t, SMB2_CREATE);
    if (api_encode_create_dur(&m.body, f->re_path, &p, false, &dur, &lease) != 0) {
        buf_free(&m.body);
        return SMBW_ENOMEM;
    }
    api_rsp rsp;
    int rc = api_call(c, &m, 1, false, &rsp);
    smb2_create_rsp cr;
    smb2_lease got;
    if (!rc && rsp.h.status != SMBW_STATUS_SUCCESS) {
        core_log(c, SMBW_LOG_INFO, "reconnect: durable %s not reclaimed (status 0x%08x)",
                 f->re_path, rsp.h.status);
        rc = 1;
    } else if (!rc && wire_decode_create(rsp.msg.p, rsp.msg.len, &cr) != 0) {
        core_kill(c, SMBW_EPROTO, "malformed CREATE response");
        rc = SMBW_EPROTO;
    } else if (!rc && wire_decode_lease(cr.contexts, cr.contexts_len, &got) != 0) {
        core_kill(c, SMBW_EPROTO, "malformed lease in a CREATE response");
        rc = SMBW_EPROTO;
    } else if (!rc) {
        memcpy(f->id, cr.file_id, 16);
        f->oplock_level = cr.oplock_level;
        f->has_key = false;
        f->has_lease = f->has_lease && got.granted && memcmp(got.key, f->lease_key, 16) == 0;
        if (f->has_lease)
            f->lease_state = got.state;
        core_log(c, SMBW_LOG_INFO, "reconnect: %s reclaimed durably%s%s", f->re_path,
                 again ? " once more" : "", f->has_lease ? " with its lease" : "");
    }
    api_rsp_free(&rsp);
    return rc;
}

/* The answer to a reopen that asked for durability again (dur, lease):
 * f's create contexts replaced by the new open's, its durability and lease
 * taken from them. 0, SMBW_ENOMEM or SMBW_EPROTO (malformed contexts). */
static int durable_again(smbw_conn *c, struct smbw_file *f, const smb2_create_rsp *cr,
                         const smb2_durable_req *dur, const smb2_lease *lease)
{
    smb2_durable_rsp d;
    smb2_lease l;
    if (wire_decode_durable(cr->contexts, cr->contexts_len, &d) != 0 ||
        wire_decode_lease(cr->contexts, cr->contexts_len, &l) != 0) {
        core_kill(c, SMBW_EPROTO, "malformed durable or lease context in a CREATE response");
        return SMBW_EPROTO;
    }
    uint8_t *ctx = NULL;
    if (cr->contexts_len && !(ctx = malloc(cr->contexts_len)))
        return SMBW_ENOMEM;
    if (ctx)
        memcpy(ctx, cr->contexts, cr->contexts_len);
    free(f->ctx);
    f->ctx = ctx;
    f->ctx_len = cr->contexts_len;
    api_file_durable(c, f, dur, lease);
    return 0;
}

/* Opens f again by its path unless reclaim_all brought it back: 0 with f's
 * new id, 1 when f cannot come back (no path, gone, another file now), or
 * the connection's fatal error. A file whose reclaim was refused asks for
 * durability again (as its first open did), so that a later drop finds it
 * durable, except under durable_shared. */
static int reopen(smbw_conn *c, struct smbw_tree *t, struct smbw_file *f)
{
    if (!f->re_path)
        return 1;
    if (f->re_state == API_RE_BACK)
        return 0;
    smbw_create_params p;
    memset(&p, 0, sizeof p);
    p.desired_access = f->re_access;
    p.share_access = f->re_share;
    p.create_options = f->re_options;
    p.file_attributes = f->re_attrs;
    p.create_disposition = FILE_OPEN;
    smb2_durable_req dur;
    smb2_lease lease;
    /* Not under durable_shared: there other connections of the program
     * hold the file (the lanes), and Samba, which refuses the reclaim then,
     * answered such an open with a lease break to one of them, unanswered
     * while this reconnect runs (its 35 s break timeout; seen under ASan). */
    bool want = f->re_state == API_RE_REFUSED && !c->re_durable_shared &&
                api_durable_req(c, &p, &dur, &lease);
    core_msg m;
    api_msg_for_tree(&m, t, SMB2_CREATE);
    if (api_encode_create_dur(&m.body, f->re_path, &p, f->has_disk_id, want ? &dur : NULL,
                              &lease) != 0) {
        buf_free(&m.body);
        return SMBW_ENOMEM;
    }
    api_rsp rsp;
    int rc = api_call(c, &m, 1, false, &rsp);
    smb2_create_rsp cr;
    if (!rc && rsp.h.status != SMBW_STATUS_SUCCESS) {
        core_log(c, SMBW_LOG_INFO, "reconnect: %s cannot be opened again (status 0x%08x)",
                 f->re_path, rsp.h.status);
        rc = 1;
    } else if (!rc && wire_decode_create(rsp.msg.p, rsp.msg.len, &cr) != 0) {
        core_kill(c, SMBW_EPROTO, "malformed CREATE response");
        rc = SMBW_EPROTO;
    } else if (!rc) {
        memcpy(f->id, cr.file_id, 16);
        f->oplock_level = cr.oplock_level;
        f->has_key = false; /* a resume key names the old open */
        rc = same_file(c, f, &cr);
        if (rc == 0)
            core_log(c, SMBW_LOG_INFO, "reconnect: %s opened again by its path (the same file)",
                     f->re_path);
        if (rc == 0 && want)
            rc = durable_again(c, f, &cr, &dur, &lease);
    }
    api_rsp_free(&rsp);
    return rc;
}

/* Closes the open reopen found to be another file (best effort). */
static void close_other(smbw_conn *c, struct smbw_tree *t, struct smbw_file *f)
{
    core_msg m;
    api_msg_for_tree(&m, t, SMB2_CLOSE);
    if (wire_encode_close(&m.body, 0, f->id) != 0) {
        buf_free(&m.body);
        return;
    }
    api_rsp rsp;
    int rc = api_call(c, &m, 1, false, &rsp);
    (void)rc;
    api_rsp_free(&rsp);
}

/* Reopens t's files; those that cannot come back are detached. */
static int reopen_all(smbw_conn *c, struct smbw_tree *t)
{
    for (struct smbw_file *f = t->files, *n; f; f = n) {
        n = f->next;
        int rc = reopen(c, t, f);
        if (rc < 0)
            return rc;
        if (rc == 2)
            close_other(c, t, f);
        if (rc > 0) {
            api_file_unlink(f);
            f->tree = NULL;
        }
    }
    return c->dead ? c->dead_err : 0;
}

static int check_same(smbw_conn *c, const reconn_was *was)
{
    if (c->dialect != was->dialect)
        return core_set_error(c, SMBW_EPOLICY, 0,
                              "reconnect refused: the server now negotiates %s (was %s)",
                              smbw_dialect_name(c->dialect), smbw_dialect_name(was->dialect));
    if (was->cipher && c->cipher != was->cipher)
        return core_set_error(c, SMBW_EPOLICY, 0,
                              "reconnect refused: the server now offers cipher %s (was %s)",
                              setup_cipher_name(c->cipher), setup_cipher_name(was->cipher));
    if (c->sign_alg != was->sign_alg)
        return core_set_error(c, SMBW_EPOLICY, 0,
                              "reconnect refused: the server now signs with %s (was %s)",
                              setup_sign_alg_name(c->sign_alg), setup_sign_alg_name(was->sign_alg));
    return 0;
}

/* Transport, NEGOTIATE, sessions and trees again. */
static int connect_all(smbw_conn *c, const reconn_was *was)
{
    io_close(c);
    core_restart(c);
    c->keep_client_guid = true;
    int rc = io_connect(c, c->host, c->port);
    if (!rc)
        rc = api_negotiate(c);
    c->keep_client_guid = false;
    if (!rc)
        rc = check_same(c, was);
    for (struct smbw_session *s = c->sessions; s && !rc; s = s->next)
        if (s->valid)
            rc = reauth(c, s);
    for (struct smbw_session *s = c->sessions; s && !rc; s = s->next)
        for (struct smbw_tree *t = s->trees; t && !rc; t = t->next)
            rc = retree(c, s, t);
    return rc;
}

static int backoff(smbw_conn *c, int ms);

/* Reclaims t's durable opens; one the server refuses is opened by its path
 * later (reopen_all), and sets *refused. A refused reclaim is asked again
 * every RECLAIM_AGAIN_STEP_MS while *budget_ms (shared by every file of
 * this reconnect) lasts: the server may not have marked the old open
 * disconnected yet. Samba ends the session a reconnect names
 * (PreviousSessionId) by deleting its record first and closing its files
 * after, and answers the new login as soon as the record is gone, so a
 * first reclaim can still find the old open live; one reclaimed earlier in
 * this reconnect, over a connection given up since, likewise. */
#define RECLAIM_AGAIN_MS 1000
#define RECLAIM_AGAIN_STEP_MS 20
static int reclaim_all(smbw_conn *c, struct smbw_tree *t, bool *refused, int *budget_ms)
{
    for (struct smbw_file *f = t->files; f; f = f->next) {
        if (!f->re_path || !f->durable)
            continue;
        bool before = f->re_state == API_RE_BACK;
        f->re_state = API_RE_TODO;
        int rc = reclaim(c, t, f, before);
        while (rc == 1 && *budget_ms >= RECLAIM_AGAIN_STEP_MS) {
            *budget_ms -= RECLAIM_AGAIN_STEP_MS;
            if ((rc = backoff(c, RECLAIM_AGAIN_STEP_MS)) != 0)
                return rc;
            rc = reclaim(c, t, f, before);
        }
        if (rc < 0)
            return rc;
        if (rc == 1) {
            f->durable = false; /* opened by path (reopen) */
            f->has_lease = false;
            f->re_state = API_RE_REFUSED;
            *refused = true;
        } else {
            f->re_state = API_RE_BACK;
        }
    }
    return c->dead ? c->dead_err : 0;
}

/* One try: transport, NEGOTIATE, sessions, trees, then the files: durable
 * opens reclaimed, the others opened by path. When the server refused a
 * reclaim, the connection is made once more before any open by path: a
 * server may keep a record of the refused open tied to the connection
 * that asked (Samba 4.17 takes the open over for that connection's process
 * before it checks the file, and leaves it there when the check fails, e.g.
 * when writes landed after the drop); an open by path would then wait for
 * a lease break that process never answers (Samba's 30 s break timeout).
 * With that connection gone the record is stale and the open proceeds. */
static int reconnect_once(smbw_conn *c, const reconn_was *was)
{
    for (struct smbw_session *s = c->sessions; s; s = s->next)
        for (struct smbw_tree *t = s->trees; t; t = t->next)
            for (struct smbw_file *f = t->files; f; f = f->next)
                f->re_state = API_RE_TODO;
    int rc = connect_all(c, was);
    bool refused = false;
    int budget = RECLAIM_AGAIN_MS;
    for (struct smbw_session *s = c->sessions; s && !rc; s = s->next)
        for (struct smbw_tree *t = s->trees; t && !rc; t = t->next)
            rc = reclaim_all(c, t, &refused, &budget);
    /* Not under durable_shared: there the program's other connections
     * hold the file, Samba refuses the reclaim before it takes the record
     * over (no stale record), and connecting once more was seen (CI, ASan
     * stage, twice) to leave an open by path waiting for a lease break to
     * another connection of the program that could not answer meanwhile. */
    if (!rc && refused && !c->re_durable_shared) {
        core_log(c, SMBW_LOG_INFO,
                 "reconnect: a durable open was refused: connecting once more before opening "
                 "files by their paths");
        rc = connect_all(c, was);
        bool again = false;
        budget = RECLAIM_AGAIN_MS;
        for (struct smbw_session *s = c->sessions; s && !rc; s = s->next)
            for (struct smbw_tree *t = s->trees; t && !rc; t = t->next)
                rc = reclaim_all(c, t, &again, &budget);
    }
    for (struct smbw_session *s = c->sessions; s && !rc; s = s->next)
        for (struct smbw_tree *t = s->trees; t && !rc; t = t->next)
            rc = reopen_all(c, t);
    return rc;
}

/* Waits ms (interruptible through smbw_conn_set_interrupt). */
static int backoff(smbw_conn *c, int ms)
{
    uint64_t end = core_now_ms() + (uint64_t)ms;
    for (;;) {
        if (core_interrupted(c))
            return core_set_error(c, SMBW_ECANCELED, 0, "reconnect interrupted");
        uint64_t now = core_now_ms();
        if (now >= end)
            return 0;
        uint64_t left = end - now;
        int r = io_wait_fd(-1, 0, left < CORE_INTR_POLL_MS ? (int)left : CORE_INTR_POLL_MS);
        (void)r;
    }
}

static bool final_error(int rc)
{
    return rc == SMBW_EPOLICY || rc == SMBW_ECRYPTO || rc == SMBW_ECANCELED || rc == SMBW_ENOMEM ||
           rc == SMBW_EINVAL;
}

int smbw_conn_reconnect(smbw_conn *c)
{
    if (!c)
        return SMBW_EINVAL;
    if (!c->host || (!c->dialect && !c->re_was_dialect))
        return core_set_error(c, SMBW_EINVAL, 0, "reconnect: never connected");
    if (c->dispatching)
        return core_set_error(c, SMBW_EBUSY, 0,
                              "a callback called a waiting function on its own connection");
    if (c->dialect) { /* else a reconnect failed before: match what was */
        c->re_was_dialect = c->dialect;
        c->re_was_sign_alg = c->sign_alg;
        c->re_was_cipher = c->cipher;
    }
    reconn_was was = {c->re_was_dialect, c->re_was_sign_alg, c->re_was_cipher};
    int tries = c->re_retries > 0 ? c->re_retries : 1;
    int wait = c->re_wait_ms;
    int rc = 0;
    for (int i = 1; i <= tries; i++) {
        if (i > 1) {
            if ((rc = backoff(c, wait)) != 0)
                break;
            wait = wait > RECONN_MAX_WAIT_MS / 2 ? RECONN_MAX_WAIT_MS : wait * 2;
        }
        core_log(c, SMBW_LOG_INFO, "reconnecting to %s port %u (try %d of %d)", c->host,
                 (unsigned)c->port, i, tries);
        rc = reconnect_once(c, &was);
        if (c->re_notify)
            c->re_notify(c->re_notify_ud, i, rc, rc ? c->errmsg : "reconnected");
        if (!rc) {
            c->reconnects++;
            if (c->dialect >= SMBW_SMB3_00)
                c->channel_seq++; /* requests from now on are told apart (3.3.5.2.10) */
            core_log(c, SMBW_LOG_INFO, "reconnected (%llu so far)",
                     (unsigned long long)c->reconnects);
            return 0;
        }
        if (!c->dead) { /* refused on a live transport: leave it dead */
            char why[sizeof c->errmsg];
            snprintf(why, sizeof why, "%s", c->errmsg);
            core_kill(c, rc, "%s", why);
        }
        if (final_error(rc))
            break;
    }
    return rc;
}

/* io_revive: the transport dropped with only resendable requests in flight
 * (parked by the core): reconnect, then send them again. */
static int revive(smbw_conn *c)
{
    core_log(c, SMBW_LOG_INFO, "connection dropped with %zu request(s) to send again",
             core_parked_count(c));
    int rc = smbw_conn_reconnect(c);
    if (!rc)
        rc = core_replay_parked(c);
    return rc;
}
