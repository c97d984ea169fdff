/* The sans-IO engine: message ids, credits, pending requests, compounding,
 * signing/encryption, response matching, deadlines. See core.h. */
#include "core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../crypto/crypto.h"
#include "../util/status.h"
#include "smbw_config.h"

struct core_req {
    core_req *next, *prev; /* pending list or wait list */
    uint64_t mid;
    uint16_t command;
    uint16_t charge;
    uint64_t sid;
    struct smbw_session *sess;
    bool async;
    uint64_t async_id;
    uint64_t deadline;
    core_done_fn done;
    void *ud;
    /* unsent state */
    smbw_buf body;
    uint32_t tree_id;
    uint32_t hdr_flags; /* core_msg.hdr_flags */
    uint8_t *preauth;
    bool encrypt;
    /* smbw_conn_override_next (SMBW_HDR_* in ovr): header fields the caller
     * chose; plain: sent in the clear on an encrypted session or share (set
     * on every member of the submission). */
    uint32_t ovr;
    uint16_t ovr_charge, ovr_credit_request;
    bool plain;
    core_req *batch_next; /* members of one compound, in order */
    int batch_n;          /* on the batch head */
    bool related;         /* on the batch head */
    /* Set while core_submit flushes its own batch: a failure then frees the
     * request without its callback, since core_submit reports the error. */
    bool quiet;
    core_req *submit_next; /* core_submit's own list of the batch */
    /* Replay: the file of a READ/WRITE that may be resent (its body is then
     * kept after sending), whether it went out, how often it was resent. */
    struct smbw_file *replay_file;
    bool sent;
    int replays;
    /* core_msg.tx_data/tx_len: sent from there; tx_queued while a segment
     * of the output still refers to it. */
    const uint8_t *tx_data;
    uint32_t tx_len;
    bool tx_queued;
    uint8_t *rx_dst; /* core_msg.rx_dst/rx_cap */
    uint32_t rx_cap;
    bool rx_counted; /* in c->rx_want: its answer may be placed (not encrypted) */
};

/* Where READ and WRITE requests carry their FileId (MS-SMB2 2.2.19, 2.2.21). */
#define REPLAY_FID_OFF 16

/* Desired credit balance; we ask for more until we have about this many. */
#define CREDIT_TARGET 512
#define MAX_CREDITS 65535u

uint64_t core_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void core_init(smbw_conn *c)
{
    buf_init(&c->out);
    buf_init(&c->in);
    c->out_off = 0;
    c->nseg = c->seg_first = 0;
    c->seg_off = 0;
    c->rx_r = NULL;
    c->rx_dst = NULL;
    c->rx_need = c->rx_got = c->rx_want = 0;
    c->pending = NULL;
    c->npending = 0;
    c->wait_head = c->wait_tail = NULL;
    c->next_mid = 0;
    c->credits = 1;
    c->ovr_set = 0; /* an override not used is not for a new transport's NEGOTIATE */
    c->dead = false;
    c->dead_err = 0;
    c->max_frame = 1u << 20; /* until negotiate tells the sizes */
    memset(c->preauth, 0, sizeof c->preauth);
}

const char *core_command_name(uint16_t cmd)
{
    static const char *const names[] = {
        "NEGOTIATE",     "SESSION_SETUP", "LOGOFF",   "TREE_CONNECT", "TREE_DISCONNECT",
        "CREATE",        "CLOSE",         "FLUSH",    "READ",         "WRITE",
        "LOCK",          "IOCTL",         "CANCEL",   "ECHO",         "QUERY_DIRECTORY",
        "CHANGE_NOTIFY", "QUERY_INFO",    "SET_INFO", "OPLOCK_BREAK"};
    return cmd < sizeof names / sizeof names[0] ? names[cmd] : "UNKNOWN";
}

void core_log(const smbw_conn *c, int level, const char *fmt, ...)
{
    if (!c || !c->log_fn || level > c->log_level)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->log_fn(c->log_ud, (enum smbw_log_level)level, msg);
}

int core_set_error(smbw_conn *c, int err, uint32_t status, const char *fmt, ...)
{
    if (!c)
        return err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
    va_end(ap);
    c->last_status = status;
    return err;
}

static void req_free(core_req *r)
{
    buf_free(&r->body);
    free(r);
}

static void complete(core_req *r, int err)
{
    if (r->done && !r->quiet)
        (void)r->done(r->ud, err, NULL, NULL, 0);
    req_free(r);
}

/* Forgets what waits to be sent and what is being received (the transport
 * is ending): no segment may point into a caller's buffer once its request
 * completed, and a parked request is sent anew in full after a reconnect. */
static void rx_forget(smbw_conn *c)
{
    /* seg[0..seg_first) are sent: their requests may be answered and freed */
    for (int i = c->seg_first; i < c->nseg; i++)
        c->seg[i].r->tx_queued = false;
    c->nseg = c->seg_first = 0;
    c->seg_off = 0;
    c->out.len = 0;
    c->out_off = 0;
    c->rx_r = NULL; /* a READ being received into its buffer completes or is parked */
    c->rx_dst = NULL;
    c->rx_need = c->rx_got = c->rx_want = 0;
}

void core_fail_all(smbw_conn *c, int err)
{
    rx_forget(c);
    /* Detach both lists first: callbacks may submit or inspect. */
    core_req *p = c->pending;
    core_req *w = c->wait_head;
    c->pending = NULL;
    c->npending = 0;
    c->wait_head = c->wait_tail = NULL;
    while (p) {
        core_req *n = p->next;
        complete(p, err);
        p = n;
    }
    while (w) {
        core_req *n = w->next;
        core_req *m = w;
        while (m) {
            core_req *bn = m->batch_next;
            complete(m, err);
            m = bn;
        }
        w = n;
    }
}

/* ---- replay ---------------------------------------------------------- */

/* Whether r may wait for a reconnect to be sent again. */
static bool parkable(const smbw_conn *c, const core_req *r)
{
    return r->replay_file && r->batch_n <= 1 && !r->batch_next && !r->ovr && !r->quiet &&
           r->replays < c->re_retries;
}

/* A dropped transport (err) with every request in flight a READ or WRITE
 * that may be resent: all of them parked for io_revive, none completed.
 * Otherwise (anything else in flight, or nothing) false: they fail as
 * before, and the caller goes on from what it knows was done. */
static bool park_all(smbw_conn *c, int err)
{
    if (!c->revive || c->reviving || !c->re_replay || c->dialect < SMBW_SMB3_00 ||
        (err != SMBW_EIO && err != SMBW_ECLOSED) || (!c->pending && !c->wait_head))
        return false;
    for (core_req *r = c->pending; r; r = r->next)
        if (!parkable(c, r))
            return false;
    for (core_req *r = c->wait_head; r; r = r->next)
        if (!parkable(c, r))
            return false;
    core_req **tail = &c->parked;
    while (*tail)
        tail = &(*tail)->next;
    /* Oldest first: the pending list is newest first. */
    core_req *rev = NULL;
    for (core_req *r = c->pending, *n; r; r = n) {
        n = r->next;
        r->next = rev;
        rev = r;
    }
    *tail = rev;
    while (*tail)
        tail = &(*tail)->next;
    *tail = c->wait_head;
    for (core_req *r = c->parked; r; r = r->next)
        r->prev = NULL;
    c->pending = NULL;
    c->npending = 0;
    c->wait_head = c->wait_tail = NULL;
    core_log(c, SMBW_LOG_INFO, "%zu request(s) in flight kept to be sent again",
             core_parked_count(c));
    return true;
}

size_t core_parked_count(const smbw_conn *c)
{
    size_t n = 0;
    for (const core_req *r = c->parked; r; r = r->next)
        n++;
    return n;
}

void core_fail_parked(smbw_conn *c, int err)
{
    core_req *p = c->parked;
    c->parked = NULL;
    while (p) {
        core_req *n = p->next;
        complete(p, err);
        p = n;
    }
}

void core_forget_file(smbw_conn *c, const struct smbw_file *f)
{
    for (core_req *r = c->pending; r; r = r->next)
        if (r->replay_file == f)
            r->replay_file = NULL;
    for (core_req *r = c->wait_head; r; r = r->next)
        if (r->replay_file == f)
            r->replay_file = NULL;
    for (core_req *r = c->parked; r; r = r->next)
        if (r->replay_file == f)
            r->replay_file = NULL;
}

/* One parked request back in the queue with its file's ids of now; false
 * when the file did not come back. */
static bool replay_one(smbw_conn *c, core_req *r)
{
    const struct smbw_file *f = r->replay_file;
    if (!f || !f->tree || !f->tree->sess || !f->tree->sess->valid)
        return false;
    r->sess = f->tree->sess;
    r->sid = r->sess->id;
    r->tree_id = f->tree->id;
    memcpy(r->body.p + REPLAY_FID_OFF, f->id, 16);
    if (r->sent)
        r->hdr_flags |= SMB2_FLAGS_REPLAY_OPERATION; /* MS-SMB2 3.2.4.1.x: resent */
    r->replays++;
    r->async = false;
    r->next = NULL;
    r->batch_n = 1;
    if (c->wait_tail)
        c->wait_tail->next = r;
    else
        c->wait_head = r;
    c->wait_tail = r;
    c->replays++;
    return true;
}

int core_replay_parked(smbw_conn *c)
{
    core_req *p = c->parked;
    c->parked = NULL;
    size_t sent = 0, lost = 0;
    while (p) {
        core_req *n = p->next;
        if (c->dead || !replay_one(c, p)) {
            complete(p, c->dead ? c->dead_err : SMBW_EDEAD);
            lost++;
        } else {
            sent++;
        }
        p = n;
    }
    core_log(c, SMBW_LOG_INFO, "%zu request(s) sent again after the reconnect, %zu failed", sent,
             lost);
    return core_flush(c);
}

struct crypto_gmac *core_sess_gmac(struct smbw_session *s)
{
    if (s->sign_alg != SMB2_SIGN_ALG_AES_GMAC)
        return NULL;
    if (!s->gmac && crypto_gmac_new(&s->gmac, s->keys.signing, sizeof s->keys.signing) != 0)
        s->gmac = NULL;
    return s->gmac;
}

void core_sess_gmac_reset(struct smbw_session *s)
{
    crypto_gmac_free(s->gmac);
    s->gmac = NULL;
}

void core_kill(smbw_conn *c, int err, const char *fmt, ...)
{
    if (c->dead)
        return;
    c->dead = true;
    c->dead_err = err;
    c->last_status = 0; /* a transport failure has no server status */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
    va_end(ap);
    core_log(c, SMBW_LOG_ERROR, "connection dead (%s): %s", smbw_error_name(err), c->errmsg);
    rx_forget(c); /* also for requests parked below: a new transport sends them anew */
    if (park_all(c, err))
        return;
    core_fail_all(c, err);
}

void core_reset(smbw_conn *c)
{
    core_fail_parked(c, SMBW_ECANCELED);
    core_fail_all(c, SMBW_ECANCELED);
    buf_free(&c->out);
    buf_free(&c->in);
    c->out_off = 0;
    while (c->npool > 0)
        buf_free_secret(&c->pool[--c->npool]);
}

void core_restart(smbw_conn *c)
{
    core_fail_all(c, SMBW_ECLOSED);
    buf_free(&c->out);
    buf_free(&c->in);
    core_init(c);
    c->connecting = false;
    c->intr_since = 0;
    c->dialect = 0;
    c->server_security_mode = 0;
    c->server_caps = 0;
    c->cipher = 0;
    c->negotiate_validated = false;
    free(c->neg_token);
    c->neg_token = NULL;
    c->neg_token_len = 0;
}

void core_buf_take(smbw_conn *c, smbw_buf *b, size_t need)
{
    if (c->npool > 0) {
        *b = c->pool[--c->npool];
        buf_reset(b);
    } else {
        buf_init(b);
    }
    if (!buf_reserve(b, need))
        b->failed = true;
}

void core_buf_give(smbw_conn *c, smbw_buf *b)
{
    if (b->p && !b->failed && b->cap <= (16u << 20) &&
        c->npool < (int)(sizeof c->pool / sizeof c->pool[0])) {
        c->pool[c->npool++] = *b;
        buf_init(b);
    } else {
        buf_free(b);
    }
}

static uint16_t charge_for(const smbw_conn *c, uint32_t payload)
{
    if (c->dialect < SMBW_SMB2_10 || !(c->server_caps & SMB2_GLOBAL_CAP_LARGE_MTU))
        return 1;
    if (payload == 0)
        return 1;
    return (uint16_t)(1 + (payload - 1) / 65536);
}

static core_req *find_pending(smbw_conn *c, uint64_t mid);

/* smbw_conn_override_next: the caller's header fields go on the first
 * request of this submission (sending in the clear, on all of it); they are
 * used once. A MessageId of a request in flight is refused: its answer could
 * not be told from the other's. */
static int apply_override(smbw_conn *c, core_req *head)
{
    uint32_t set = c->ovr_set;
    c->ovr_set = 0;
    if ((set & SMBW_HDR_MESSAGE_ID) && find_pending(c, c->ovr_mid))
        return core_set_error(c, SMBW_EINVAL, 0, "MessageId %llu belongs to a request in flight",
                              (unsigned long long)c->ovr_mid);
    head->ovr = set;
    head->mid = c->ovr_mid;
    head->ovr_charge = c->ovr_charge;
    head->ovr_credit_request = c->ovr_credit_request;
    if (set & SMBW_HDR_CREDIT_CHARGE)
        head->charge = c->ovr_charge ? c->ovr_charge : 1; /* a charge of 0 counts as 1 */
    if (set & SMBW_HDR_UNENCRYPTED)
        for (core_req *r = head; r; r = r->batch_next)
            r->plain = true;
    return 0;
}

static void free_batch(core_req *head)
{
    while (head) {
        core_req *x = head->batch_next;
        req_free(head);
        head = x;
    }
}

int core_submit(smbw_conn *c, core_msg *msgs, int n, bool related)
{
    int err = 0;
    if (c->dead)
        err = SMBW_EDEAD;
    else if (c->fd < 0 && !c->pump)
        err = SMBW_EINVAL; /* no transport */
    for (int i = 0; i < n && !err; i++)
        if (msgs[i].body.failed)
            err = SMBW_ENOMEM;
    if (err) {
        for (int i = 0; i < n; i++)
            buf_free(&msgs[i].body);
        return err;
    }
    core_req *head = NULL, *tail = NULL;
    uint64_t deadline = core_now_ms() + (uint64_t)c->timeout_ms;
    for (int i = 0; i < n; i++) {
        core_req *r = calloc(1, sizeof *r);
        if (!r) {
            for (int j = i; j < n; j++)
                buf_free(&msgs[j].body);
            free_batch(head);
            return SMBW_ENOMEM;
        }
        r->command = msgs[i].command;
        r->sess = msgs[i].sess;
        r->sid = msgs[i].sess ? msgs[i].sess->id : 0;
        if (msgs[i].session_id_override)
            r->sid = msgs[i].session_id_override;
        r->tree_id = msgs[i].tree_id;
        r->hdr_flags = msgs[i].hdr_flags & SMB2_FLAGS_DFS_OPERATIONS;
        r->charge = charge_for(c, msgs[i].payload);
        r->body = msgs[i].body;
        buf_init(&msgs[i].body);
        r->done = msgs[i].done;
        r->ud = msgs[i].ud;
        r->preauth = msgs[i].preauth_hash;
        r->encrypt = msgs[i].encrypt;
        if (n == 1 && (r->command == SMB2_READ || r->command == SMB2_WRITE) &&
            r->body.len >= REPLAY_FID_OFF + 16)
            r->replay_file = msgs[i].replay_file;
        r->tx_data = msgs[i].tx_len ? msgs[i].tx_data : NULL;
        r->tx_len = r->tx_data ? msgs[i].tx_len : 0;
        r->rx_dst = msgs[i].rx_cap ? msgs[i].rx_dst : NULL;
        r->rx_cap = r->rx_dst ? msgs[i].rx_cap : 0;
        r->deadline = deadline;
        if (!head)
            head = r;
        else
            tail->batch_next = r;
        tail = r;
    }
    if (c->ovr_set) {
        int oerr = apply_override(c, head);
        if (oerr) {
            free_batch(head);
            return oerr;
        }
    }
    head->batch_n = n;
    head->related = related;
    if (c->wait_tail)
        c->wait_tail->next = head;
    else
        c->wait_head = head;
    c->wait_tail = head;
    head->next = NULL;
    /* The contract is "an error and no callback, or 0 and one callback per
     * message". A flush that fails (no memory to build the frame, or a kill
     * for lack of credits) completes every request, this batch included:
     * keep this batch quiet meanwhile. Dead afterwards means this batch was
     * freed too; alive means every member is still queued or pending. */
    for (core_req *r = head; r; r = r->batch_next) {
        r->quiet = true;
        r->submit_next = r->batch_next;
    }
    int rc = core_flush(c);
    if (c->dead)
        return rc ? rc : c->dead_err;
    for (core_req *r = head; r; r = r->submit_next)
        r->quiet = false;
    return rc;
}

static bool req_encrypts(const core_req *r)
{
    const struct smbw_session *s = r->sess;
    return s && s->valid && (s->encrypt || r->encrypt) && s->keys.enc_len && !r->plain;
}

static void pending_add(smbw_conn *c, core_req *r)
{
    r->prev = NULL;
    r->next = c->pending;
    if (c->pending)
        c->pending->prev = r;
    c->pending = r;
    c->npending++;
    /* An encrypted answer is never placed: no need to receive frame by frame. */
    r->rx_counted = r->rx_dst && !req_encrypts(r);
    if (r->rx_counted)
        c->rx_want++;
}

static void pending_remove(smbw_conn *c, core_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        c->pending = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->next = r->prev = NULL;
    c->npending--;
    if (r->rx_counted && c->rx_want)
        c->rx_want--;
    r->rx_counted = false;
}

static struct smbw_session *find_session(smbw_conn *c, uint64_t sid)
{
    for (struct smbw_session *s = c->sessions; s; s = s->next)
        if (s->id == sid && sid != 0)
            return s;
    return NULL;
}

static int preauth_update(uint8_t hash[64], const uint8_t *msg, size_t len)
{
    crypto_iov iov[2] = {{hash, 64}, {msg, len}};
    return crypto_sha512(iov, 2, hash);
}

/* Whether r's payload (core_msg.tx_data) goes out from the caller's memory:
 * a message in the clear that ends its frame and is not hashed, while the
 * output has room for one more segment. Otherwise it is copied into the
 * frame. */
static bool tx_external(smbw_conn *c, const core_req *r, bool encrypted)
{
    if (!r->tx_len || encrypted || r->batch_next || r->preauth)
        return false;
    if (c->nseg == CORE_MAX_SEGS && c->seg_first > 0) {
        /* Sent segments make room. */
        int keep = c->nseg - c->seg_first;
        memmove(c->seg, c->seg + c->seg_first, (size_t)keep * sizeof c->seg[0]);
        c->nseg = keep;
        c->seg_first = 0;
    }
    return c->nseg < CORE_MAX_SEGS;
}

/* Header, body and (copied or not) payload of one message of a batch into
 * dst; *tail_len is set to the payload bytes that follow it from the
 * caller's memory: a segment of c->out in the clear, or the second piece
 * smb2_encrypt2 encrypts from there. */
static int put_msg(smbw_conn *c, smbw_buf *dst, core_req *r, const smb2_hdr *h, bool sign,
                   bool encrypted, size_t *tail_len)
{
    size_t start = dst->len;
    bool ext = tx_external(c, r, encrypted);
    bool etail = encrypted && r->tx_len && !r->batch_next && !r->preauth;
    *tail_len = 0;
    wire_encode_hdr(dst, h);
    buf_put(dst, r->body.p, r->body.len);
    if (!r->replay_file) /* else kept to be sent again after a reconnect */
        core_buf_give(c, &r->body);
    r->sent = true;
    if (r->tx_len && !ext && !etail)
        buf_put(dst, r->tx_data, r->tx_len);
    if (r->batch_next) {
        /* 8-byte alignment of the next message, counted from this one */
        buf_zero(dst, (8 - (dst->len - start) % 8) % 8);
        wire_patch_next_command(dst, start, (uint32_t)(dst->len - start));
    }
    if (dst->failed)
        return SMBW_ENOMEM;
    const uint8_t *tail = ext ? r->tx_data : NULL;
    size_t tlen = ext ? r->tx_len : 0;
    int err = 0;
    if (sign)
        err = smb2_sign_msg3(r->sess->sign_alg, r->sess->keys.signing, 16, core_sess_gmac(r->sess),
                             dst->p + start, dst->len - start, tail, tlen);
    if (!err && r->preauth)
        err = preauth_update(r->preauth, dst->p + start, dst->len - start);
    if (!err && ext) {
        /* dst is c->out here (in the clear) */
        c->seg[c->nseg++] = (core_seg){dst->len, tail, tlen, r};
        r->tx_queued = true;
        *tail_len = tlen;
    }
    if (!err && etail)
        *tail_len = r->tx_len;
    return err;
}

/* Builds the frame of one batch into c->out: in place when it is sent in
 * the clear (one copy of the body; a WRITE payload that ends the frame is
 * sent from the caller's memory), through a plaintext buffer when it is
 * encrypted. Message ids are taken here, so a failure kills the connection
 * (ids the server will never see would leave holes in its window). */
static int send_batch(smbw_conn *c, core_req *head)
{
    struct smbw_session *enc_sess = NULL;
    size_t total_credits = 0, total_body = 0, ext_len = 0, enc_tail_len = 0;
    const uint8_t *enc_tail = NULL;
    for (core_req *r = head; r; r = r->batch_next) {
        total_credits += r->charge;
        total_body += SMB2_HDR_SIZE + r->body.len + r->tx_len + 8;
        if (req_encrypts(r))
            enc_sess = r->sess;
    }
    uint16_t want = 0;
    if (c->credits - total_credits < CREDIT_TARGET)
        want = 64;

    smbw_buf plain;
    if (enc_sess)
        core_buf_take(c, &plain, total_body);
    else
        buf_init(&plain);
    smbw_buf *dst = enc_sess ? &plain : &c->out;
    size_t frame_start = c->out.len;
    int err = 0;
    if (!enc_sess)
        wire_encode_transport_hdr(&c->out);
    size_t msgs_start = dst->len;
    if (!buf_reserve(dst, total_body))
        err = SMBW_ENOMEM;

    size_t idx = 0;
    for (core_req *r = head; r && !err; r = r->batch_next, idx++) {
        size_t start = dst->len;
        smb2_hdr h;
        memset(&h, 0, sizeof h);
        h.credit_charge = c->dialect >= SMBW_SMB2_10 ? r->charge : 0;
        h.command = r->command;
        h.credits = (uint16_t)(r->charge + (r->batch_next ? 0 : want));
        if (idx > 0 && head->related)
            h.flags |= SMB2_FLAGS_RELATED_OPERATIONS;
        h.flags |= r->hdr_flags;
        if (c->dialect >= SMBW_SMB3_00)
            h.status = c->channel_seq; /* ChannelSequence, Reserved (2.2.1.2) */
        if (r->ovr & SMBW_HDR_CREDIT_CHARGE)
            h.credit_charge = r->ovr_charge;
        if (r->ovr & SMBW_HDR_CREDIT_REQUEST)
            h.credits = r->ovr_credit_request;
        if (!(r->ovr & SMBW_HDR_MESSAGE_ID)) { /* else chosen by the caller, set at submit */
            r->mid = c->next_mid;
            c->next_mid += r->charge;
        }
        h.message_id = r->mid;
        h.tree_id = r->tree_id;
        h.session_id = r->sid;
        struct smbw_session *s = r->sess;
        bool sign = s && s->signing && s->valid && !enc_sess && r->command != SMB2_SESSION_SETUP;
        if (sign)
            h.flags |= SMB2_FLAGS_SIGNED;
        size_t tail = 0;
        err = put_msg(c, dst, r, &h, sign, enc_sess != NULL, &tail);
        if (tail && enc_sess) {
            enc_tail = r->tx_data;
            enc_tail_len = tail;
        } else {
            ext_len += tail;
        }
        core_log(c, SMBW_LOG_TRACE, "-> %s mid %llu charge %u len %zu%s%s%s%s",
                 core_command_name(r->command), (unsigned long long)r->mid, r->charge,
                 dst->len - start + tail, sign ? " signed" : "", enc_sess ? " encrypted" : "",
                 idx > 0 ? " compound" : "",
                 (h.flags & SMB2_FLAGS_REPLAY_OPERATION) ? " replay" : "");
    }
    size_t msgs_len = dst->len - msgs_start + ext_len + enc_tail_len;
    if (!err && enc_sess) {
        wire_encode_transport_hdr(&c->out);
        err = smb2_encrypt2(c->cipher, enc_sess->keys.enc, enc_sess->keys.enc_len, enc_sess->id,
                            plain.p, plain.len, enc_tail, enc_tail_len, &c->out);
        if (!err && c->out.failed)
            err = SMBW_ENOMEM;
    }
    if (enc_sess)
        core_buf_give(c, &plain);
    if (!err)
        err = wire_patch_transport_hdr(
            &c->out, frame_start, c->out.len - frame_start - SMB2_TRANSPORT_HDR_SIZE + ext_len);
    if (err) {
        c->out.failed = false;
        c->out.len = frame_start;
        core_kill(c, err, "cannot build a request: %s", smbw_strerror(err));
        return err;
    }
    c->stats.bytes_sent += msgs_len;
    c->stats.requests += (uint64_t)head->batch_n;
    return 0;
}

/* Sends what the credit window allows, in submission order. */
int core_flush(smbw_conn *c)
{
    while (c->wait_head && !c->dead) {
        core_req *head = c->wait_head;
        uint32_t need = 0;
        for (core_req *r = head; r; r = r->batch_next)
            need += r->charge;
        if (need > c->credits) {
            if (c->npending == 0) {
                core_kill(c, SMBW_EPROTO,
                          "server granted too few credits (%u available, %u needed, none in "
                          "flight)",
                          c->credits, need);
                return SMBW_EPROTO;
            }
            return 0;
        }
        c->wait_head = head->next;
        if (!c->wait_head)
            c->wait_tail = NULL;
        int err = send_batch(c, head);
        if (err) {
            core_req *m = head;
            while (m) {
                core_req *bn = m->batch_next;
                complete(m, err);
                m = bn;
            }
            continue;
        }
        c->credits -= need;
        uint64_t now = core_now_ms();
        for (core_req *r = head, *bn; r; r = bn) {
            bn = r->batch_next;
            r->batch_next = NULL;
            r->deadline = now + (uint64_t)c->timeout_ms;
            pending_add(c, r);
        }
    }
    return c->dead ? c->dead_err : 0;
}

/* The output is out[out_off..] with the unsent segments seg[seg_first..]
 * between its bytes: seg[i] goes right before out[seg[i].at]. */
const uint8_t *core_output(smbw_conn *c, size_t *len)
{
    if (c->seg_first < c->nseg) {
        const core_seg *sg = &c->seg[c->seg_first];
        if (c->out_off == sg->at) {
            *len = sg->len - c->seg_off;
            return sg->p + c->seg_off;
        }
        *len = sg->at - c->out_off;
        return c->out.p + c->out_off;
    }
    *len = c->out.len - c->out_off;
    return c->out.p + c->out_off;
}

int core_output_iov(smbw_conn *c, core_iov *iov, int max)
{
    int n = 0, k = c->seg_first;
    size_t pos = c->out_off, skip = c->seg_off;
    while (n < max) {
        size_t end = k < c->nseg ? c->seg[k].at : c->out.len;
        if (end > pos) {
            iov[n++] = (core_iov){c->out.p + pos, end - pos};
            pos = end;
            continue;
        }
        if (k >= c->nseg)
            break;
        iov[n++] = (core_iov){c->seg[k].p + skip, c->seg[k].len - skip};
        skip = 0;
        k++;
    }
    return n;
}

bool core_output_pending(const smbw_conn *c)
{
    return c->out_off < c->out.len || c->seg_first < c->nseg;
}

void core_consumed(smbw_conn *c, size_t n)
{
    while (n > 0) {
        if (c->seg_first < c->nseg && c->out_off == c->seg[c->seg_first].at) {
            core_seg *sg = &c->seg[c->seg_first];
            size_t k = sg->len - c->seg_off < n ? sg->len - c->seg_off : n;
            c->seg_off += k;
            n -= k;
            if (c->seg_off == sg->len) {
                sg->r->tx_queued = false; /* its bytes are all sent */
                c->seg_first++;
                c->seg_off = 0;
            }
            continue;
        }
        size_t end = c->seg_first < c->nseg ? c->seg[c->seg_first].at : c->out.len;
        size_t k = end - c->out_off < n ? end - c->out_off : n;
        if (k == 0)
            break; /* more than was there: nothing more to count */
        c->out_off += k;
        n -= k;
    }
    if (c->out_off >= c->out.len && c->seg_first >= c->nseg) {
        c->out.len = 0;
        c->out_off = 0;
        c->nseg = c->seg_first = 0;
    } else if (c->out_off > (1u << 20) && c->out_off > c->out.len / 2) {
        memmove(c->out.p, c->out.p + c->out_off, c->out.len - c->out_off);
        c->out.len -= c->out_off;
        int keep = c->nseg - c->seg_first;
        memmove(c->seg, c->seg + c->seg_first, (size_t)keep * sizeof c->seg[0]);
        for (int i = 0; i < keep; i++)
            c->seg[i].at -= c->out_off;
        c->nseg = keep;
        c->seg_first = 0;
        c->out_off = 0;
    }
}

int core_next_timeout(const smbw_conn *c)
{
    uint64_t best = UINT64_MAX;
    for (core_req *r = c->pending; r; r = r->next)
        if (r->deadline < best)
            best = r->deadline;
    for (core_req *r = c->wait_head; r; r = r->next)
        if (r->deadline < best)
            best = r->deadline;
    if (best == UINT64_MAX)
        return -1;
    uint64_t now = core_now_ms();
    if (best <= now)
        return 0;
    uint64_t d = best - now;
    /* Come back often enough to notice an interrupt. */
    uint64_t cap = c->intr_check ? CORE_INTR_POLL_MS : 60000;
    return d > cap ? (int)cap : (int)d;
}

bool core_interrupted(const smbw_conn *c)
{
    return c->intr_check && c->intr_check(c->intr_ud) != 0;
}

/* An interrupt ends the connection once the requests in flight have had
 * their grace time. */
static int check_interrupt(smbw_conn *c, uint64_t now)
{
    if (!c->intr_check)
        return 0;
    if (!(c->pending || c->wait_head) || !core_interrupted(c)) {
        c->intr_since = 0;
        return 0;
    }
    if (!c->intr_since)
        c->intr_since = now ? now : 1;
    if (now - c->intr_since < (uint64_t)c->intr_grace_ms)
        return 0;
    core_kill(c, SMBW_ECANCELED, "interrupted (no answer within %d ms of the interrupt)",
              c->intr_grace_ms);
    return SMBW_ECANCELED;
}

int core_check_timeouts(smbw_conn *c)
{
    if (c->dead)
        return c->dead_err;
    uint64_t now = core_now_ms();
    int irc = check_interrupt(c, now);
    if (irc)
        return irc;
    for (core_req *r = c->pending; r; r = r->next)
        if (r->deadline <= now) {
            core_kill(c, SMBW_ETIMEDOUT, "no answer from the server within %d ms (command %u)",
                      c->timeout_ms, r->command);
            return SMBW_ETIMEDOUT;
        }
    for (core_req *r = c->wait_head; r; r = r->next)
        if (r->deadline <= now) {
            core_kill(c, SMBW_ETIMEDOUT, "no credits from the server within %d ms", c->timeout_ms);
            return SMBW_ETIMEDOUT;
        }
    return 0;
}

static core_req *find_pending(smbw_conn *c, uint64_t mid)
{
    for (core_req *r = c->pending; r; r = r->next)
        if (r->mid == mid)
            return r;
    return NULL;
}

/* Server quirk (impacket's smbserver.py): it signs each message of a
 * compounded response before it sets NextCommand and pads the message to 8
 * bytes, so its signatures cover NextCommand = 0 and the unpadded length.
 * Only for a message that is not the last of a compound (NextCommand != 0),
 * and only after the standard check failed, verify that form: the message
 * with NextCommand zeroed and up to 7 trailing zero bytes of padding removed.
 * Every byte that carries meaning is still covered by the signature. */
static bool compound_quirk_verifies(const struct smbw_session *s, const smb2_hdr *h,
                                    const uint8_t *msg, size_t len)
{
    if (len < SMB2_HDR_SIZE || h->next_command == 0 || len > (1u << 20))
        return false;
    smbw_buf copy;
    buf_init(&copy);
    buf_put(&copy, msg, len);
    wire_patch_next_command(&copy, 0, 0);
    if (copy.failed) {
        buf_free(&copy);
        return false;
    }
    size_t zeros = wire_trailing_zeros(msg, len, 7);
    bool ok = false;
    for (size_t pad = 0; pad <= zeros && len - pad > SMB2_HDR_SIZE && !ok; pad++)
        ok = smb2_sign_verify(s->sign_alg, s->keys.signing, 16, copy.p, len - pad) == 0;
    buf_free(&copy);
    return ok;
}

static int ack_done(void *ud, int err, const smb2_hdr *h, const uint8_t *msg, size_t len)
{
    (void)ud;
    (void)err;
    (void)h;
    (void)msg;
    (void)len;
    return 0; /* the server's answer to an acknowledgment changes nothing */
}

static int lease_ack_done(void *ud, int err, const smb2_hdr *h, const uint8_t *msg, size_t len)
{
    smbw_conn *c = ud;
    uint8_t key[16];
    uint32_t state;
    if (err || !h)
        return 0;
    if (h->status != SMBW_STATUS_SUCCESS)
        core_log(c, SMBW_LOG_DEBUG, "lease break acknowledgment refused (status 0x%08x)",
                 h->status);
    else if (wire_decode_lease_ack(msg, len, key, &state) != 0)
        core_log(c, SMBW_LOG_DEBUG, "malformed lease break acknowledgment answer ignored");
    else
        core_log(c, SMBW_LOG_DEBUG, "lease break acknowledgment answered (state 0x%x)", state);
    return 0;
}

/* The open a break notification names: by its FileId, or by its lease
 * key. NULL when this connection has no such open. */
static struct smbw_file *break_target(smbw_conn *c, const uint8_t key[16], bool lease)
{
    for (struct smbw_session *s = c->sessions; s; s = s->next)
        for (struct smbw_tree *t = s->trees; t; t = t->next)
            for (struct smbw_file *f = t->files; f; f = f->next)
                if (lease ? f->has_lease && memcmp(f->lease_key, key, 16) == 0
                          : memcmp(f->id, key, 16) == 0)
                    return f;
    return NULL;
}

/* Sends m, a break acknowledgment whose body is encoded, on the session
 * and tree of the open f. Only a dead connection is an error. */
static int send_break_ack(smbw_conn *c, const struct smbw_file *f, core_msg *m)
{
    m->command = SMB2_OPLOCK_BREAK;
    m->sess = f->tree->sess;
    m->tree_id = f->tree->id;
    m->encrypt = f->tree->encrypt;
    int rc = core_submit(c, m, 1, false);
    return rc == SMBW_EDEAD ? SMBW_EDEAD : 0;
}

/* A lease break notification (MS-SMB2 3.2.5.19.2): the open holding the
 * lease key keeps the new state; when the server asks for it, the state is
 * acknowledged at once on that open's session and tree, so that whoever
 * opened the file meanwhile does not wait for the break timeout. A break of
 * an unknown key, or one that takes nothing away from the state held (a
 * repeated break, say), is logged and ignored: a lease is acknowledged at
 * most once per state it loses, whatever a server sends. */
static int lease_break(smbw_conn *c, const uint8_t *msg, size_t len)
{
    smb2_lease_break lb;
    if (wire_decode_lease_break(msg, len, &lb) != 0) {
        core_kill(c, SMBW_EPROTO, "malformed lease break notification");
        return SMBW_EPROTO;
    }
    struct smbw_file *f = break_target(c, lb.key, true);
    if (!f) {
        core_log(c, SMBW_LOG_DEBUG, "lease break for an unknown lease key ignored");
        return 0;
    }
    if ((lb.new_state & ~f->lease_state) || lb.new_state == f->lease_state) {
        core_log(c, SMBW_LOG_DEBUG, "lease break from 0x%x to 0x%x ignored (state held 0x%x)",
                 lb.current_state, lb.new_state, f->lease_state);
        return 0;
    }
    f->lease_state = lb.new_state;
    f->lease_epoch = lb.new_epoch;
    if (!(lb.flags & SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED)) {
        core_log(c, SMBW_LOG_DEBUG, "lease broken to state 0x%x", lb.new_state);
        return 0;
    }
    core_msg m;
    memset(&m, 0, sizeof m);
    m.done = lease_ack_done;
    m.ud = c;
    buf_init(&m.body);
    if (wire_encode_lease_ack(&m.body, lb.key, lb.new_state) != 0) {
        buf_free(&m.body);
        return 0;
    }
    core_log(c, SMBW_LOG_DEBUG, "lease break to state 0x%x acknowledged", lb.new_state);
    return send_break_ack(c, f, &m);
}

/* An oplock break notification (MS-SMB2 3.2.5.19.1): acknowledged at once
 * with the level the server asks for, on the session and tree of the open,
 * so that whoever opened the file meanwhile does not wait for the break
 * timeout. One for an open this connection does not know, or one that does
 * not lower the oplock the open holds (a repeated break, a break of an open
 * holding a lease or no oplock), is logged and dropped: an open is
 * acknowledged at most once per level it loses. A break from level II to
 * none is not acknowledged (2.2.24.1). A lease break goes to lease_break; a
 * malformed one kills the connection. */
static int oplock_break(smbw_conn *c, const uint8_t *msg, size_t len)
{
    uint8_t level, id[16];
    int rc = wire_decode_oplock_break(msg, len, &level, id);
    if (rc < 0) {
        core_kill(c, SMBW_EPROTO, "malformed oplock break notification");
        return SMBW_EPROTO;
    }
    if (rc > 0)
        return lease_break(c, msg, len);
    struct smbw_file *f = break_target(c, id, false);
    if (!f) {
        core_log(c, SMBW_LOG_DEBUG, "oplock break for an unknown open ignored");
        return 0;
    }
    uint8_t held = f->oplock_level;
    if (held == SMB2_OPLOCK_LEVEL_LEASE || level >= held) {
        core_log(c, SMBW_LOG_DEBUG, "oplock break to level %u ignored (level held %u)", level,
                 held);
        return 0;
    }
    f->oplock_level = level;
    if (held == SMB2_OPLOCK_LEVEL_II) {
        core_log(c, SMBW_LOG_DEBUG, "oplock broken from level II to none");
        return 0;
    }
    core_msg m;
    memset(&m, 0, sizeof m);
    m.done = ack_done;
    buf_init(&m.body);
    if (wire_encode_oplock_ack(&m.body, level, id) != 0) {
        buf_free(&m.body);
        return 0;
    }
    core_log(c, SMBW_LOG_DEBUG, "oplock break to level %u acknowledged", level);
    return send_break_ack(c, f, &m);
}

/* One message of a (possibly compounded) plaintext frame; tail/tail_len:
 * the data of a READ response received into its request's buffer (the
 * message is msg followed by it). */
static int dispatch_msg(smbw_conn *c, const uint8_t *msg, size_t len, bool encrypted,
                        const uint8_t *tail, size_t tail_len)
{
    smb2_hdr h;
    if (wire_decode_hdr(msg, len, &h) != 0) {
        core_kill(c, SMBW_EPROTO, "malformed SMB2 header from the server");
        return SMBW_EPROTO;
    }
    if (!(h.flags & SMB2_FLAGS_SERVER_TO_REDIR)) {
        core_kill(c, SMBW_EPROTO, "server sent a request, not a response");
        return SMBW_EPROTO;
    }
    if (h.command == SMB2_OPLOCK_BREAK && h.message_id == UINT64_MAX)
        return oplock_break(c, msg, len);
    core_req *r = find_pending(c, h.message_id);
    if (!r) {
        core_kill(c, SMBW_EPROTO, "response with unknown message id %llu",
                  (unsigned long long)h.message_id);
        return SMBW_EPROTO;
    }
    if (r->command != h.command) {
        core_kill(c, SMBW_EPROTO, "response command %u does not match request command %u",
                  h.command, r->command);
        return SMBW_EPROTO;
    }
    if (r->tx_queued) {
        /* Its payload is still being sent from the caller's memory, which the
         * caller may reuse once it has the answer: no honest server answers
         * a request it has not received. */
        core_kill(c, SMBW_EPROTO, "response to message id %llu before the request was sent",
                  (unsigned long long)h.message_id);
        return SMBW_EPROTO;
    }
    c->credits += h.credits;
    if (c->credits > MAX_CREDITS)
        c->credits = MAX_CREDITS;

    bool interim = h.status == SMBW_STATUS_PENDING && (h.flags & SMB2_FLAGS_ASYNC_COMMAND);
    struct smbw_session *s = find_session(c, h.session_id);
    if (s && s->valid) {
        /* An encrypted request (its session's or its share's policy) must be
         * answered encrypted; one sent in the clear on purpose
         * (smbw_conn_override_next) may be answered either way, signed. */
        if (!encrypted && ((s->encrypt && !r->plain) || req_encrypts(r))) {
            core_kill(c, SMBW_ECRYPTO, "unencrypted response on an encrypted session");
            return SMBW_ECRYPTO;
        }
        if (s->signing && !encrypted && !interim) {
            if (!(h.flags & SMB2_FLAGS_SIGNED)) {
                core_kill(c, SMBW_ECRYPTO, "unsigned response on a signed session");
                return SMBW_ECRYPTO;
            }
            /* A fuzzing build (tests/fuzz only, never installed) computes the
             * MAC but ignores a mismatch: recorded streams were signed with
             * other session keys. Every other check stays on. */
            if (smb2_sign_verify3(s->sign_alg, s->keys.signing, 16, core_sess_gmac(s), msg, len,
                                  tail, tail_len) != 0 &&
                (tail_len || !compound_quirk_verifies(s, &h, msg, len)) && !SMBW_FUZZING) {
                core_kill(c, SMBW_ECRYPTO, "response signature check failed (command %u)",
                          h.command);
                return SMBW_ECRYPTO;
            }
        }
    }
    core_log(c, SMBW_LOG_TRACE, "<- %s mid %llu status 0x%08x (%s) credits +%u len %zu",
             core_command_name(h.command), (unsigned long long)h.message_id, h.status,
             smbw_status_name(h.status), h.credits, len + tail_len);
    if (interim) {
        /* The first interim answer restarts the clock once; later ones do
         * not, so a server that drips STATUS_PENDING still times out. */
        if (!r->async)
            r->deadline = core_now_ms() + (uint64_t)c->timeout_ms;
        r->async = true;
        r->async_id = h.async_id;
        return 0;
    }
    if (wire_check_response(msg, len, &h) != 0) {
        core_kill(c, SMBW_EPROTO, "malformed response to command %u", h.command);
        return SMBW_EPROTO;
    }
    pending_remove(c, r);
    h.placed = (uint32_t)tail_len;
    int rc = 0;
    c->dispatching++;
    if (r->done)
        rc = r->done(r->ud, 0, &h, msg, len);
    c->dispatching--;
    core_buf_give(c, &r->body); /* a body kept for replay */
    req_free(r);
    if (rc < 0) {
        if (!c->dead)
            core_kill(c, rc, "bad response to command %u: %s", h.command, smbw_strerror(rc));
        return rc;
    }
    return 0;
}

static int dispatch_plain(smbw_conn *c, const uint8_t *p, size_t len, bool encrypted)
{
    size_t off = 0;
    for (;;) {
        size_t rest = len - off;
        if (rest < SMB2_HDR_SIZE) {
            core_kill(c, SMBW_EPROTO, "truncated SMB2 message (%zu bytes)", rest);
            return SMBW_EPROTO;
        }
        size_t mlen, next;
        if (wire_compound_next(p + off, rest, &mlen, &next) != 0) {
            core_kill(c, SMBW_EPROTO, "bad NextCommand offset in a compound response");
            return SMBW_EPROTO;
        }
        int rc = dispatch_msg(c, p + off, mlen, encrypted, NULL, 0);
        if (rc)
            return rc;
        if (!next)
            return 0;
        off += next;
    }
}

/* The READ request whose buffer the data of this decrypted answer may go
 * to: q[0..have) is the start of a plaintext of plen bytes (not yet
 * authenticated: it only chooses where the data is decrypted to; everything
 * is checked by dispatch_msg as usual). */
static core_req *gcm_place(smbw_conn *c, const uint8_t *q, size_t have, size_t plen, uint32_t *off,
                           uint32_t *dlen)
{
    uint64_t mid;
    if (wire_read_placement(q, have, plen, &mid, off, dlen) != 0)
        return NULL;
    core_req *r = find_pending(c, mid);
    if (!r || r->command != SMB2_READ || !r->rx_dst || *dlen > r->rx_cap || r->tx_queued)
        return NULL;
    return r;
}

/* A TRANSFORM frame with AES-GCM, decrypted in steps: the start of the
 * message first; when it is the only answer, successful, to a READ with a
 * buffer of its own (core_msg.rx_dst) and its data ends the message, the data
 * is decrypted straight into that buffer and the rest of the message ends
 * at DataOffset (as a placed answer in the clear, see rx_try_place);
 * otherwise all of it goes to one plaintext buffer. The tag is checked
 * before anything is dispatched; when it fails the placed bytes are erased
 * and the connection dies (SMBW_ECRYPTO), failing the request. CCM decrypts
 * in one call (dispatch_frame) and its data is copied from the plaintext. */
static int dispatch_gcm(smbw_conn *c, struct smbw_session *s, const uint8_t *p, size_t len)
{
    /* Enough for a READ answer's header up to any DataOffset (one byte). */
    enum { HEAD = SMB2_HDR_SIZE + 16, HEAD_MAX = 256 };
    smb2_dec d;
    int rc = smb2_decrypt_begin(&d, c->cipher, s->keys.dec, s->keys.enc_len, p, len);
    if (rc) {
        core_kill(c, rc == SMBW_ENOMEM ? rc : SMBW_EPROTO, "cannot decrypt a server message");
        return c->dead_err;
    }
    size_t plen = d.len;
    smbw_buf plain;
    core_buf_take(c, &plain, plen);
    uint8_t *q = buf_grow(&plain, plen);
    if (!q) {
        smb2_decrypt_abort(&d);
        core_buf_give(c, &plain);
        core_kill(c, SMBW_ENOMEM, "out of memory decrypting a server message");
        return SMBW_ENOMEM;
    }
    size_t got = plen < HEAD ? plen : HEAD;
    rc = smb2_decrypt_next(&d, q, got);
    uint32_t off = 0, dlen = 0;
    core_req *r = NULL;
    if (!rc && got == HEAD) {
        if (wire_read_placement(q, got, plen, &(uint64_t){0}, &off, &dlen) == 1) {
            size_t more = (plen < HEAD_MAX ? plen : HEAD_MAX) - got;
            rc = smb2_decrypt_next(&d, q + got, more);
            got += more;
        }
        r = rc ? NULL : gcm_place(c, q, got, plen, &off, &dlen);
    }
    uint8_t *dst = r ? r->rx_dst : NULL;
    if (!rc && dst) {
        size_t early = got - off; /* data decrypted with the header (DataOffset < HEAD_MAX) */
        memcpy(dst, q + off, early);
        rc = smb2_decrypt_next(&d, dst + early, dlen - early);
        plain.len = off;
    } else if (!rc) {
        rc = smb2_decrypt_next(&d, q + got, plen - got);
    }
    rc = rc ? rc : smb2_decrypt_end(&d);
    smb2_decrypt_abort(&d);
    if (rc) {
        crypto_cleanse(plain.p, plen);
        if (dst)
            crypto_cleanse(dst, dlen);
        core_buf_give(c, &plain);
        core_kill(c, SMBW_ECRYPTO, "decryption of a server message failed");
        return c->dead_err;
    }
    rc = dst ? dispatch_msg(c, plain.p, plain.len, true, dst, dlen)
             : dispatch_plain(c, plain.p, plain.len, true);
    core_buf_give(c, &plain);
    return rc;
}

static int dispatch_frame(smbw_conn *c, const uint8_t *p, size_t len)
{
    uint32_t proto;
    if (wire_decode_protocol_id(p, len, &proto) != 0) {
        core_kill(c, SMBW_EPROTO, "frame too short (%zu bytes)", len);
        return SMBW_EPROTO;
    }
    c->stats.bytes_received += len;
    if (proto == SMB2_PROTO_ID)
        return dispatch_plain(c, p, len, false);
    if (proto == SMB2_TRANSFORM_ID) {
        smb2_transform_hdr th;
        if (wire_decode_transform_hdr(p, len, &th) != 0) {
            core_kill(c, SMBW_EPROTO, "malformed transform header");
            return SMBW_EPROTO;
        }
        struct smbw_session *s = find_session(c, th.session_id);
        if (!s || !s->keys.enc_len) {
            core_kill(c, SMBW_EPROTO, "encrypted message for an unknown session");
            return SMBW_EPROTO;
        }
        if (c->cipher == SMB2_ENCRYPTION_AES128_GCM || c->cipher == SMB2_ENCRYPTION_AES256_GCM)
            return dispatch_gcm(c, s, p, len);
        smbw_buf plain;
        core_buf_take(c, &plain, len);
        int rc = smb2_decrypt(c->cipher, s->keys.dec, s->keys.enc_len, p, len, &plain);
        if (rc) {
            buf_free_secret(&plain);
            core_kill(c, rc == SMBW_ECRYPTO ? SMBW_ECRYPTO : SMBW_EPROTO,
                      "decryption of a server message failed");
            return c->dead_err;
        }
        rc = dispatch_plain(c, plain.p, plain.len, true);
        core_buf_give(c, &plain);
        return rc;
    }
    if (proto == SMB2_COMPRESSION_ID) {
        core_kill(c, SMBW_EPROTO, "compressed message, but compression was not negotiated");
        return SMBW_EPROTO;
    }
    core_kill(c, SMBW_EPROTO, "unknown protocol id 0x%08x", proto);
    return SMBW_EPROTO;
}

/* Zero-copy receive. With READs in flight that have buffers of their own,
 * each frame is received on its own (core_recv_space never asks past its
 * end) and first only up to RX_PEEK bytes: the transport header, the SMB2
 * header and a READ response's fixed part. When that is the answer to such
 * a READ (wire_read_placement), the data already received is moved to the
 * request's buffer and the rest of the frame is received straight into it;
 * rx_finish then dispatches the message (signature checked over both
 * pieces). */
#define RX_PEEK (SMB2_TRANSPORT_HDR_SIZE + SMB2_HDR_SIZE + 16)
/* A frame with at least this much still to come is received up to its end
 * only (core_recv_space). */
#define RX_TO_END (64 * 1024)

static void rx_try_place(smbw_conn *c)
{
    uint32_t flen, off, dlen;
    uint64_t mid;
    if (!c->rx_want || c->rx_r || c->in.len < RX_PEEK ||
        wire_decode_transport_hdr(c->in.p, c->in.len, &flen) != 0 || flen > c->max_frame ||
        c->in.len - SMB2_TRANSPORT_HDR_SIZE >= flen)
        return;
    if (wire_read_placement(c->in.p + SMB2_TRANSPORT_HDR_SIZE, c->in.len - SMB2_TRANSPORT_HDR_SIZE,
                            flen, &mid, &off, &dlen) != 0)
        return;
    core_req *r = find_pending(c, mid);
    if (!r || r->command != SMB2_READ || !r->rx_dst || dlen > r->rx_cap || req_encrypts(r) ||
        r->tx_queued)
        return;
    size_t hdr_end = SMB2_TRANSPORT_HDR_SIZE + (size_t)off;
    size_t have = c->in.len - hdr_end; /* < dlen: the frame is not complete */
    if (have)
        memcpy(r->rx_dst, c->in.p + hdr_end, have);
    c->in.len = hdr_end;
    c->rx_r = r;
    c->rx_dst = r->rx_dst;
    c->rx_need = dlen;
    c->rx_got = have;
}

static int process_input(smbw_conn *c);

/* The data of the placed READ response is all there: dispatch it. */
static int rx_finish(smbw_conn *c)
{
    const uint8_t *dst = c->rx_dst;
    size_t dlen = c->rx_need;
    c->rx_r = NULL;
    c->rx_dst = NULL;
    c->rx_need = c->rx_got = 0;
    size_t plen = c->in.len - SMB2_TRANSPORT_HDR_SIZE;
    c->stats.bytes_received += plen + dlen;
    int rc = dispatch_msg(c, c->in.p + SMB2_TRANSPORT_HDR_SIZE, plen, false, dst, dlen);
    c->in.len = 0;
    if (rc)
        return rc;
    return process_input(c);
}

/* Processes every complete frame in c->in. */
static int process_input(smbw_conn *c)
{
    size_t off = 0;
    int rc = 0;
    while (!c->dead) {
        const uint8_t *p = c->in.p + off;
        uint32_t flen;
        int hrc = wire_decode_transport_hdr(p, c->in.len - off, &flen);
        if (hrc == 1)
            break; /* the rest of the transport header is still to come */
        if (hrc != 0) {
            core_kill(c, SMBW_EPROTO, "bad transport frame type (not a session message)");
            rc = SMBW_EPROTO;
            break;
        }
        if (flen > c->max_frame) {
            core_kill(c, SMBW_EPROTO, "frame of %u bytes exceeds the negotiated maximum", flen);
            rc = SMBW_EPROTO;
            break;
        }
        if (c->in.len - off - SMB2_TRANSPORT_HDR_SIZE < flen)
            break;
        off += SMB2_TRANSPORT_HDR_SIZE + flen;
        rc = dispatch_frame(c, p + SMB2_TRANSPORT_HDR_SIZE, flen);
        if (rc)
            break;
    }
    if (c->dead) {
        c->in.len = 0;
        return c->dead_err;
    }
    if (off) {
        memmove(c->in.p, c->in.p + off, c->in.len - off);
        c->in.len -= off;
    }
    rx_try_place(c);
    /* Responses bring credits: send what waited. */
    return core_flush(c);
}

int core_recv_space(smbw_conn *c, uint8_t **p, size_t *space)
{
    if (c->rx_r) {
        *p = c->rx_dst + c->rx_got;
        *space = c->rx_need - c->rx_got;
        return 0;
    }
    size_t want = 256 * 1024;
    bool exact = c->rx_want > 0; /* one frame at a time, see rx_try_place */
    uint32_t flen;
    int hrc = wire_decode_transport_hdr(c->in.p, c->in.len, &flen);
    if (hrc == 0 && flen <= c->max_frame && (size_t)flen + SMB2_TRANSPORT_HDR_SIZE > c->in.len) {
        size_t rest = (size_t)flen + SMB2_TRANSPORT_HDR_SIZE - c->in.len;
        /* The rest of a large frame, and nothing past it: the next frame
         * then starts at the front of `in` and process_input has no partial
         * frame to move there (callgrind, encrypted 1 MiB READ answers: that
         * memmove cost about one instruction per byte downloaded). */
        if (rest > want || exact || rest >= RX_TO_END)
            want = rest;
        if (exact && c->in.len < RX_PEEK && rest > RX_PEEK - c->in.len)
            want = RX_PEEK - c->in.len;
    } else if (hrc == 1 && exact) {
        want = RX_PEEK - c->in.len;
    }
    if (!buf_reserve(&c->in, want)) {
        c->in.failed = false;
        return SMBW_ENOMEM;
    }
    *p = c->in.p + c->in.len;
    /* Never more than want: without a frame under way at most 256 KiB,
     * several small frames at once but little of a large one. */
    *space = want;
    return 0;
}

int core_recv_commit(smbw_conn *c, size_t n)
{
    if (c->rx_r) {
        if (n > c->rx_need - c->rx_got) {
            core_kill(c, SMBW_EINVAL, "received more than the space given");
            return SMBW_EINVAL;
        }
        c->rx_got += n;
        return c->rx_got < c->rx_need ? 0 : rx_finish(c);
    }
    c->in.len += n;
    return process_input(c);
}

int core_feed(smbw_conn *c, const uint8_t *p, size_t len)
{
    if (c->dead)
        return c->dead_err;
    if (len == 0)
        return process_input(c);
    /* The same path as bytes from a socket (zero-copy receive included). */
    while (len > 0) {
        uint8_t *dst;
        size_t space;
        if (core_recv_space(c, &dst, &space) != 0) {
            core_kill(c, SMBW_ENOMEM, "out of memory buffering input");
            return SMBW_ENOMEM;
        }
        size_t k = space < len ? space : len;
        memcpy(dst, p, k);
        p += k;
        len -= k;
        int rc = core_recv_commit(c, k);
        if (rc)
            return rc;
        if (c->dead)
            return c->dead_err;
    }
    return 0;
}

size_t core_pending_count(const smbw_conn *c)
{
    size_t n = c->npending + core_parked_count(c);
    for (core_req *r = c->wait_head; r; r = r->next)
        n += (size_t)r->batch_n;
    return n;
}

/* SMB2 CANCEL (MS-SMB2 3.2.4.24) for every request in flight: same
 * MessageId (and the AsyncId too once an interim answer came), no credits,
 * no answer of its own; the requests then complete with the server's answer
 * (normally STATUS_CANCELLED). The MessageId is kept for an async CANCEL as
 * well: AES-GMAC signing takes its nonce from it (3.1.4.1), and Samba
 * refuses a GMAC-signed CANCEL with MessageId 0 (STATUS_ACCESS_DENIED, with
 * no request left to cancel). */
int core_cancel_all(smbw_conn *c)
{
    if (c->dead)
        return c->dead_err;
    int n = 0;
    for (core_req *r = c->pending; r; r = r->next) {
        smb2_hdr h;
        memset(&h, 0, sizeof h);
        h.command = SMB2_CANCEL;
        h.message_id = r->mid;
        if (r->async) {
            h.flags |= SMB2_FLAGS_ASYNC_COMMAND;
            h.async_id = r->async_id;
        }
        h.session_id = r->sid;
        struct smbw_session *s = r->sess;
        bool sign = s && s->signing && s->valid && !req_encrypts(r);
        if (sign)
            h.flags |= SMB2_FLAGS_SIGNED;
        smbw_buf m;
        buf_init(&m);
        wire_encode_hdr(&m, &h);
        int err = wire_encode_empty4(&m);
        if (!err && m.failed)
            err = SMBW_ENOMEM;
        if (!err && sign)
            err = smb2_sign_msg(s->sign_alg, s->keys.signing, 16, m.p, m.len);
        if (!err) {
            size_t fs = c->out.len;
            wire_encode_transport_hdr(&c->out);
            if (req_encrypts(r))
                err = smb2_encrypt(c->cipher, s->keys.enc, s->keys.enc_len, s->id, m.p, m.len,
                                   &c->out);
            else
                buf_put(&c->out, m.p, m.len);
            if (!err && c->out.failed)
                err = SMBW_ENOMEM;
            if (!err)
                err = wire_patch_transport_hdr(&c->out, fs,
                                               c->out.len - fs - SMB2_TRANSPORT_HDR_SIZE);
            if (err) {
                c->out.failed = false;
                c->out.len = fs;
            }
        }
        buf_free(&m);
        if (err)
            return err;
        n++;
    }
    return n;
}

/* Detach a session from requests that are waiting to be sent. */
void core_forget_session(smbw_conn *c, struct smbw_session *s)
{
    for (core_req *r = c->pending; r; r = r->next)
        if (r->sess == s)
            r->sess = NULL;
    for (core_req *h = c->wait_head; h; h = h->next)
        for (core_req *r = h; r; r = r->batch_next)
            if (r->sess == s)
                r->sess = NULL;
}
