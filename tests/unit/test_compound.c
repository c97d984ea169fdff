/* The asynchronous whole-file compounds of lib/api/file.c (create+write,
 * provisional create+write, create+read, commit, close with metadata, open
 * of a copy source with its resume key) against a scripted server on a
 * socketpair. The "server" is a thread that splits each frame into its
 * members, records what a demanding reader of MS-SMB2 3.2.4.1.4 checks
 * (command order, SMB2_FLAGS_RELATED_OPERATIONS, 8-byte aligned
 * NextCommand, the 0xFFFFFFFFFFFFFFFF FileId of related members, the
 * explicit FileId of unrelated ones, the SET_INFO classes and buffers), and
 * answers per scenario: success, a CREATE refused (the related members fail
 * with its status, 3.3.5.2.7.2), a short WRITE, a refused rename or key,
 * every answer in a frame of its own, a compounded answer whose NextCommand
 * points past the frame. */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/core/core.h"
#include "lib/util/status.h"
#include "smbwire/fscc.h"
#include "tests/common/rawbytes.h"

enum scenario {
    SC_OK,
    SC_CREATE_FAILS,  /* CREATE: STATUS_OBJECT_NAME_COLLISION, cascaded */
    SC_SHORT_WRITE,   /* the first WRITE writes half of what it was given */
    SC_RENAME_DENIED, /* SET_INFO FileRenameInformation: STATUS_ACCESS_DENIED */
    SC_MARK_DENIED,   /* SET_INFO FileDispositionInformation: STATUS_ACCESS_DENIED */
    SC_KEY_REFUSED,   /* the resume key: STATUS_INVALID_DEVICE_REQUEST */
    SC_SEPARATE,      /* every answer in a frame of its own */
    SC_BAD_NEXT,      /* compounded answer, first NextCommand past the frame */
};

#define MAXM 8
#define MAXF 8
#define FILE_BYTES 100 /* what a READ of the "file" gives at most */
#define CLOSE_EOF 1234u
#define CLOSE_WRITE_TIME 133000000000000000ull

typedef struct member {
    uint16_t cmd;
    uint32_t flags, next;
    uint8_t fid[16];
    uint8_t info_type, info_class;
    uint16_t close_flags;
    uint32_t ctl;
    uint32_t access; /* CREATE: DesiredAccess */
    uint32_t len;    /* WRITE: data length; READ: length asked */
    uint64_t off;
    uint8_t buf[128]; /* WRITE data or SET_INFO buffer (first bytes) */
    uint32_t buflen;
} member;

typedef struct frame_rec {
    int n;
    member m[MAXM];
} frame_rec;

typedef struct server {
    int fd;
    enum scenario sc;
    pthread_mutex_t mu;
    frame_rec fr[MAXF];
    int nfr;
    int writes;
    char bad[160]; /* the first structural fault seen in a request */
} server;

static const uint8_t FID_X[16] = {0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
                                  0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17};

static bool rd(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n) {
        ssize_t r = read(fd, b, n);
        if (r <= 0)
            return false;
        b += r;
        n -= (size_t)r;
    }
    return true;
}

static void wr(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t r = write(fd, b, n);
        if (r <= 0)
            return;
        b += r;
        n -= (size_t)r;
    }
}

static void fault(server *s, const char *why)
{
    if (!s->bad[0])
        snprintf(s->bad, sizeof s->bad, "%s", why);
}

/* Records member m (header h, body b of blen bytes). */
static void parse_member(server *s, member *m, const uint8_t *h, const uint8_t *b, size_t blen)
{
    memset(m, 0, sizeof *m);
    m->cmd = get_u16(h + 12);
    m->flags = get_u32(h + 16);
    m->next = get_u32(h + 20);
    size_t fid_at = 0;
    switch (m->cmd) {
    case SMB2_CREATE:
        if (blen < 56)
            return fault(s, "short CREATE");
        m->access = get_u32(b + 24);
        break;
    case SMB2_WRITE:
        if (blen < 48)
            return fault(s, "short WRITE");
        m->len = get_u32(b + 4);
        m->off = get_u64(b + 8);
        fid_at = 16;
        {
            uint16_t doff = get_u16(b + 2);
            if (doff < 64 + 48 || doff - 64 + (size_t)m->len > blen)
                return fault(s, "WRITE data outside its message");
            m->buflen = m->len < sizeof m->buf ? m->len : sizeof m->buf;
            memcpy(m->buf, b + (doff - 64), m->buflen);
        }
        break;
    case SMB2_READ:
        if (blen < 48)
            return fault(s, "short READ");
        m->len = get_u32(b + 4);
        m->off = get_u64(b + 8);
        fid_at = 16;
        break;
    case SMB2_SET_INFO: {
        if (blen < 32)
            return fault(s, "short SET_INFO");
        m->info_type = b[2];
        m->info_class = b[3];
        uint32_t l = get_u32(b + 4);
        uint16_t o = get_u16(b + 8);
        if (o < 64 + 32 || o - 64 + (size_t)l > blen)
            return fault(s, "SET_INFO buffer outside its message");
        m->buflen = l < sizeof m->buf ? l : sizeof m->buf;
        memcpy(m->buf, b + (o - 64), m->buflen);
        fid_at = 16;
        break;
    }
    case SMB2_CLOSE:
        if (blen < 24)
            return fault(s, "short CLOSE");
        m->close_flags = get_u16(b + 2);
        fid_at = 8;
        break;
    case SMB2_IOCTL:
        if (blen < 56)
            return fault(s, "short IOCTL");
        m->ctl = get_u32(b + 4);
        fid_at = 8;
        break;
    default:
        break;
    }
    if (fid_at)
        memcpy(m->fid, b + fid_at, 16);
}

static size_t put_hdr(uint8_t *o, const uint8_t *req, uint32_t status, bool related)
{
    memcpy(o, req, 64);
    put_u32(o + 8, status);
    put_u16(o + 14, 64); /* credits granted */
    put_u32(o + 16, SMB2_FLAGS_SERVER_TO_REDIR | (related ? SMB2_FLAGS_RELATED_OPERATIONS : 0));
    put_u32(o + 20, 0);
    return 64;
}

/* The answer body to member m (request header req) into o; *status. */
static size_t answer_body(server *s, const member *m, uint32_t *status, uint32_t cascade,
                          uint8_t *o)
{
    *status = cascade;
    if (cascade) {
        put_u16(o, 9);
        memset(o + 2, 0, 7);
        return 9;
    }
    switch (m->cmd) {
    case SMB2_CREATE:
        if (s->sc == SC_CREATE_FAILS) {
            *status = SMBW_STATUS_OBJECT_NAME_COLLISION;
            return answer_body(s, m, status, *status, o);
        }
        memset(o, 0, 88);
        put_u16(o, 89);
        put_u32(o + 4, 2); /* FILE_CREATED */
        put_u64(o + 48, 0);
        put_u32(o + 56, SMBW_FILE_ATTRIBUTE_ARCHIVE);
        memcpy(o + 64, FID_X, 16);
        return 88;
    case SMB2_WRITE: {
        uint32_t n = m->len;
        if (s->sc == SC_SHORT_WRITE && s->writes == 0)
            n /= 2;
        s->writes++;
        memset(o, 0, 16);
        put_u16(o, 17);
        put_u32(o + 4, n);
        return 16;
    }
    case SMB2_READ: {
        uint32_t n = m->len < FILE_BYTES ? m->len : FILE_BYTES;
        memset(o, 0, 16);
        put_u16(o, 17);
        o[2] = 64 + 16;
        put_u32(o + 4, n);
        for (uint32_t i = 0; i < n; i++)
            o[16 + i] = (uint8_t)('a' + i % 26);
        return 16 + n;
    }
    case SMB2_SET_INFO:
        if ((s->sc == SC_RENAME_DENIED && m->info_class == FileRenameInformation) ||
            (s->sc == SC_MARK_DENIED && m->info_class == FileDispositionInformation)) {
            *status = SMBW_STATUS_ACCESS_DENIED;
            return answer_body(s, m, status, *status, o);
        }
        put_u16(o, 2);
        return 2;
    case SMB2_CLOSE:
        memset(o, 0, 60);
        put_u16(o, 60);
        if (m->close_flags & SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB) {
            put_u16(o + 2, SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB);
            put_u64(o + 24, CLOSE_WRITE_TIME);
            put_u64(o + 40, 4096);
            put_u64(o + 48, CLOSE_EOF);
            put_u32(o + 56, SMBW_FILE_ATTRIBUTE_ARCHIVE);
        }
        return 60;
    case SMB2_IOCTL:
        if (s->sc == SC_KEY_REFUSED) {
            *status = SMBW_STATUS_INVALID_DEVICE_REQUEST;
            return answer_body(s, m, status, *status, o);
        }
        memset(o, 0, 48 + 32);
        put_u16(o, 49);
        put_u32(o + 4, m->ctl);
        memcpy(o + 8, FID_X, 16);
        put_u32(o + 24, 64 + 48);
        put_u32(o + 32, 64 + 48);
        put_u32(o + 36, 32); /* 24-byte key, 4-byte context length, 4 reserved */
        memset(o + 48, 0x5a, 24);
        return 48 + 32;
    default:
        fault(s, "unexpected command");
        *status = SMBW_STATUS_NOT_SUPPORTED;
        return answer_body(s, m, status, *status, o);
    }
}

/* Answers the n members of one request frame (starts in hdrs[]). */
static void answer(server *s, const member *m, const uint8_t *const *hdrs, int n)
{
    uint8_t *out = calloc(1, 4 + (size_t)n * (64 + 8 + 256));
    size_t len = 0, prev_hdr = 0;
    uint32_t cascade = 0;
    for (int i = 0; i < n; i++) {
        bool related = m[i].flags & SMB2_FLAGS_RELATED_OPERATIONS;
        if (!related)
            cascade = 0;
        uint8_t body[256];
        uint32_t status;
        size_t bl = answer_body(s, &m[i], &status, cascade, body);
        if (related || i + 1 < n)
            cascade = (status & 0xC0000000u) == 0xC0000000u ? status : cascade;
        if (s->sc == SC_SEPARATE) {
            uint8_t *f = out + 4;
            size_t l = put_hdr(f, hdrs[i], status, false);
            memcpy(f + l, body, bl);
            l += bl;
            out[1] = (uint8_t)(l >> 16);
            out[2] = (uint8_t)(l >> 8);
            out[3] = (uint8_t)l;
            wr(s->fd, out, 4 + l);
            continue;
        }
        if (i > 0) {
            size_t pad = (8 - len % 8) % 8;
            memset(out + 4 + len, 0, pad);
            len += pad;
            put_u32(out + 4 + prev_hdr + 20, (uint32_t)(len - prev_hdr));
        }
        prev_hdr = len;
        len += put_hdr(out + 4 + len, hdrs[i], status, related);
        memcpy(out + 4 + len, body, bl);
        len += bl;
    }
    if (s->sc != SC_SEPARATE) {
        if (s->sc == SC_BAD_NEXT && n > 1)
            put_u32(out + 4 + 20, (uint32_t)len + 64); /* past the frame */
        out[1] = (uint8_t)(len >> 16);
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        wr(s->fd, out, 4 + len);
    }
    free(out);
}

static void *server_main(void *arg)
{
    server *s = arg;
    for (;;) {
        uint8_t nb[4];
        if (!rd(s->fd, nb, 4))
            break;
        size_t len = ((size_t)nb[1] << 16) | ((size_t)nb[2] << 8) | nb[3];
        uint8_t *req = malloc(len);
        if (!rd(s->fd, req, len)) {
            free(req);
            break;
        }
        member m[MAXM];
        const uint8_t *hdrs[MAXM];
        int n = 0;
        size_t o = 0;
        pthread_mutex_lock(&s->mu);
        for (;;) {
            if (n == MAXM || o + 64 > len) {
                fault(s, "member outside the frame");
                break;
            }
            uint32_t next = get_u32(req + o + 20);
            size_t end = next ? o + next : len;
            if (next && (next % 8 || end > len || next < 64)) {
                fault(s, "NextCommand not 8-aligned or past the frame");
                break;
            }
            hdrs[n] = req + o;
            parse_member(s, &m[n], req + o, req + o + 64, end - o - 64);
            n++;
            if (!next)
                break;
            o = end;
        }
        if (s->nfr < MAXF) {
            s->fr[s->nfr].n = n;
            memcpy(s->fr[s->nfr].m, m, sizeof m[0] * (size_t)n);
        }
        s->nfr++;
        pthread_mutex_unlock(&s->mu);
        answer(s, m, hdrs, n);
        free(req);
    }
    return NULL;
}

typedef struct fixture {
    smbw_conn *c;
    struct smbw_session sess;
    struct smbw_tree tree;
    server srv;
    pthread_t th;
    int sv[2];
} fixture;

static fixture F;

static void setup_sc(enum scenario sc)
{
    fixture *f = &F;
    memset(f, 0, sizeof *f);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, f->sv), 0);
    ck_assert_int_eq(smbw_conn_new(&f->c), 0);
    smbw_conn *c = f->c;
    c->fd = f->sv[0];
    ck_assert_int_eq(fcntl(f->sv[0], F_SETFL, O_NONBLOCK), 0);
    c->dialect = SMBW_SMB3_11;
    c->server_caps = SMB2_GLOBAL_CAP_LARGE_MTU;
    c->max_read = c->max_write = c->max_transact = 1 << 20;
    c->max_frame = (1 << 20) + 65536;
    c->credits = 512;
    c->timeout_ms = 5000;
    f->sess.conn = c;
    f->sess.id = 0x1122334455667788ull;
    f->sess.valid = true;
    c->sessions = &f->sess;
    f->tree.sess = &f->sess;
    f->tree.id = 7;
    f->sess.trees = &f->tree;
    f->srv.fd = f->sv[1];
    f->srv.sc = sc;
    pthread_mutex_init(&f->srv.mu, NULL);
    ck_assert_int_eq(pthread_create(&f->th, NULL, server_main, &f->srv), 0);
}

static void teardown(void)
{
    fixture *f = &F;
    /* Files the tests kept open: closed while the server answers (or freed
     * without a CLOSE on a dead connection). */
    while (f->tree.files) {
        smbw_file *x = f->tree.files;
        int rc = smbw_file_free(x);
        ck_assert(rc == 0 || f->c->dead);
        ck_assert_ptr_ne(f->tree.files, x);
    }
    close(f->sv[0]);
    f->c->fd = -1;
    pthread_join(f->th, NULL);
    close(f->sv[1]);
    f->sess.trees = NULL;
    f->c->sessions = NULL;
    smbw_conn_free(f->c);
    pthread_mutex_destroy(&f->srv.mu);
}

/* The callbacks' results. */
typedef struct got {
    int calls;
    int err;
    uint32_t status;
    smbw_file *f;
    uint8_t data[FILE_BYTES];
    size_t len;
    smbw_commit_step step;
    smbw_stat st;
    bool stat_got;
} got;

static void file_cb(void *ud, int err, uint32_t status, smbw_file *f)
{
    got *g = ud;
    g->calls++;
    g->err = err;
    g->status = status;
    g->f = f;
}

static void read_cb(void *ud, int err, uint32_t status, smbw_file *f, const void *data, size_t len)
{
    got *g = ud;
    file_cb(ud, err, status, f);
    g->len = len;
    if (len <= sizeof g->data)
        memcpy(g->data, data, len);
}

static void commit_cb(void *ud, int err, uint32_t status, smbw_commit_step step)
{
    got *g = ud;
    file_cb(ud, err, status, NULL);
    g->step = step;
}

static void stat_cb(void *ud, int err, uint32_t status, const smbw_stat *st, bool have)
{
    got *g = ud;
    file_cb(ud, err, status, NULL);
    g->stat_got = have;
    if (have)
        g->st = *st;
}

static void drain(void)
{
    int rc = smbw_conn_drain(F.c);
    (void)rc; /* a killed connection is checked through the callbacks */
    ck_assert_msg(!F.srv.bad[0], "request fault: %s", F.srv.bad);
}

static const frame_rec *frame(int i)
{
    ck_assert_int_gt(F.srv.nfr, i);
    return &F.srv.fr[i];
}

static bool all_ff(const uint8_t *id)
{
    for (int i = 0; i < 16; i++)
        if (id[i] != 0xff)
            return false;
    return true;
}

/* Member i of a related chain: its command, the flag, the FileId. */
static void check_related(const frame_rec *fr, int i, uint16_t cmd)
{
    ck_assert_int_eq(fr->m[i].cmd, cmd);
    ck_assert_msg(fr->m[i].flags & SMB2_FLAGS_RELATED_OPERATIONS, "member %d not related", i);
    ck_assert_msg(all_ff(fr->m[i].fid), "member %d: FileId not 0xFF..FF", i);
    if (i + 1 < fr->n)
        ck_assert_uint_eq(fr->m[i].next % 8, 0);
    else
        ck_assert_uint_eq(fr->m[i].next, 0);
}

/* Member i of an unrelated compound (or alone): the flag off, FID_X. */
static void check_unrelated(const frame_rec *fr, int i, uint16_t cmd)
{
    ck_assert_int_eq(fr->m[i].cmd, cmd);
    ck_assert_msg(!(fr->m[i].flags & SMB2_FLAGS_RELATED_OPERATIONS), "member %d related", i);
    ck_assert_msg(memcmp(fr->m[i].fid, FID_X, 16) == 0, "member %d: FileId not the open's", i);
}

static void write_params(smbw_create_params *p, int extra)
{
    smbw_create_params_from_flags(p, SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_EXCL | extra);
}

static const char DATA[] = "six bytes and then some more of them";

START_TEST(test_create_write_then_commit)
{
    setup_sc(SC_OK);
    smbw_create_params p;
    write_params(&p, 0);
    got g = {0};
    ck_assert_int_eq(
        smbw_file_create_write_async(&F.tree, "d\\a.tmp", &p, DATA, sizeof DATA, file_cb, &g), 0);
    drain();
    ck_assert_int_eq(g.calls, 1);
    ck_assert_int_eq(g.err, 0);
    ck_assert_ptr_nonnull(g.f);
    ck_assert_mem_eq(g.f->id, FID_X, 16);
    ck_assert_uint_eq(g.f->pos, sizeof DATA);
    const frame_rec *fr = frame(0);
    ck_assert_int_eq(fr->n, 2);
    ck_assert_int_eq(fr->m[0].cmd, SMB2_CREATE);
    ck_assert(!(fr->m[0].flags & SMB2_FLAGS_RELATED_OPERATIONS));
    ck_assert_uint_eq(fr->m[0].next % 8, 0);
    check_related(fr, 1, SMB2_WRITE);
    ck_assert_uint_eq(fr->m[1].off, 0);
    ck_assert_uint_eq(fr->m[1].len, sizeof DATA);
    ck_assert_mem_eq(fr->m[1].buf, DATA, sizeof DATA);

    /* the commit: rename, basic information, CLOSE, not related */
    smbw_commit cm = SMBW_COMMIT_INIT;
    cm.rename_to = "d\\a.txt";
    cm.replace = false;
    cm.set_basic = true;
    cm.write = CLOSE_WRITE_TIME;
    got c = {0};
    ck_assert_int_eq(smbw_file_commit_async(g.f, &cm, commit_cb, &c), 0);
    drain();
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(c.err, 0);
    ck_assert_int_eq(c.step, SMBW_COMMIT_OK);
    ck_assert_ptr_null(F.tree.files); /* freed */
    fr = frame(1);
    ck_assert_int_eq(fr->n, 3);
    check_unrelated(fr, 0, SMB2_SET_INFO);
    ck_assert_int_eq(fr->m[0].info_type, SMB2_0_INFO_FILE);
    ck_assert_int_eq(fr->m[0].info_class, FileRenameInformation);
    ck_assert_int_eq(fr->m[0].buf[0], 0); /* ReplaceIfExists FALSE */
    /* FileName (UTF-16LE) at 20, its length at 16 */
    ck_assert_uint_eq(get_u32(fr->m[0].buf + 16), 2 * strlen("d\\a.txt"));
    ck_assert_int_eq(fr->m[0].buf[20], 'd');
    ck_assert_int_eq(fr->m[0].buf[22], '\\');
    check_unrelated(fr, 1, SMB2_SET_INFO);
    ck_assert_int_eq(fr->m[1].info_class, FileBasicInformation);
    ck_assert_uint_eq(get_u64(fr->m[1].buf + 16), CLOSE_WRITE_TIME); /* LastWriteTime */
    ck_assert_uint_eq(get_u64(fr->m[1].buf + 0), 0);                 /* creation unchanged */
    check_unrelated(fr, 2, SMB2_CLOSE);
    ck_assert_uint_eq(fr->m[2].next, 0);
    teardown();
}
END_TEST

START_TEST(test_provisional_then_keep)
{
    setup_sc(SC_OK);
    smbw_create_params p;
    write_params(&p, SMBW_O_DELETE);
    got g = {0};
    ck_assert_int_eq(
        smbw_file_create_write_provisional_async(&F.tree, "b.txt", &p, DATA, 6, file_cb, &g), 0);
    drain();
    ck_assert_int_eq(g.err, 0);
    ck_assert_ptr_nonnull(g.f);
    const frame_rec *fr = frame(0);
    ck_assert_int_eq(fr->n, 3);
    ck_assert_int_eq(fr->m[0].cmd, SMB2_CREATE);
    ck_assert_uint_eq(fr->m[0].access & 0x00010000u, 0x00010000u); /* DELETE */
    check_related(fr, 1, SMB2_SET_INFO);
    ck_assert_int_eq(fr->m[1].info_class, FileDispositionInformation);
    ck_assert_uint_eq(fr->m[1].buflen, 1);
    ck_assert_int_eq(fr->m[1].buf[0], 1); /* DeletePending TRUE */
    check_related(fr, 2, SMB2_WRITE);
    ck_assert_uint_eq(fr->m[2].len, 6);

    smbw_commit cm = SMBW_COMMIT_INIT;
    cm.keep = true;
    got c = {0};
    ck_assert_int_eq(smbw_file_commit_async(g.f, &cm, commit_cb, &c), 0);
    drain();
    ck_assert_int_eq(c.err, 0);
    fr = frame(1);
    ck_assert_int_eq(fr->n, 2);
    check_unrelated(fr, 0, SMB2_SET_INFO);
    ck_assert_int_eq(fr->m[0].info_class, FileDispositionInformation);
    ck_assert_int_eq(fr->m[0].buf[0], 0); /* the mark cleared */
    check_unrelated(fr, 1, SMB2_CLOSE);
    teardown();
}
END_TEST

/* The mark refused (an open without DELETE access, on a real server): the
 * related WRITE fails with the same status; the callback gets the mark's
 * error and the open file, nothing written. */
START_TEST(test_mark_refused)
{
    setup_sc(SC_MARK_DENIED);
    smbw_create_params p;
    write_params(&p, SMBW_O_DELETE);
    got g = {0};
    ck_assert_int_eq(
        smbw_file_create_write_provisional_async(&F.tree, "m.txt", &p, DATA, 6, file_cb, &g), 0);
    drain();
    ck_assert_int_eq(g.calls, 1);
    ck_assert_int_eq(g.err, SMBW_EACCES);
    ck_assert_uint_eq(g.status, SMBW_STATUS_ACCESS_DENIED);
    ck_assert_ptr_nonnull(g.f);
    ck_assert_uint_eq(g.f->pos, 0);
    ck_assert_int_eq(F.srv.writes, 0);
    teardown();
}
END_TEST

START_TEST(test_create_refused)
{
    setup_sc(SC_CREATE_FAILS);
    smbw_create_params p;
    write_params(&p, SMBW_O_DELETE);
    got g = {0};
    ck_assert_int_eq(
        smbw_file_create_write_provisional_async(&F.tree, "c.txt", &p, DATA, 10, file_cb, &g), 0);
    drain();
    ck_assert_int_eq(g.calls, 1);
    ck_assert_int_eq(g.err, SMBW_EEXIST);
    ck_assert_uint_eq(g.status, SMBW_STATUS_OBJECT_NAME_COLLISION);
    ck_assert_ptr_null(g.f);
    ck_assert_ptr_null(F.tree.files);
    ck_assert_int_eq(F.srv.nfr, 1); /* nothing after the refused compound */
    teardown();
}
END_TEST

/* A short WRITE: the rest follows on the open, unrelated, at its offset. */
START_TEST(test_short_write_continued)
{
    setup_sc(SC_SHORT_WRITE);
    smbw_create_params p;
    write_params(&p, 0);
    got g = {0};
    ck_assert_int_eq(
        smbw_file_create_write_async(&F.tree, "s.txt", &p, DATA, sizeof DATA, file_cb, &g), 0);
    drain();
    ck_assert_int_eq(g.err, 0);
    ck_assert_ptr_nonnull(g.f);
    ck_assert_uint_eq(g.f->pos, sizeof DATA);
    ck_assert_int_eq(F.srv.nfr, 2);
    const frame_rec *fr = frame(1);
    ck_assert_int_eq(fr->n, 1);
    check_unrelated(fr, 0, SMB2_WRITE);
    size_t half = sizeof DATA / 2;
    ck_assert_uint_eq(fr->m[0].off, half);
    ck_assert_uint_eq(fr->m[0].len, sizeof DATA - half);
    ck_assert_mem_eq(fr->m[0].buf, DATA + half, sizeof DATA - half);
    teardown();
}
END_TEST

START_TEST(test_create_read)
{
    setup_sc(_i ? SC_SEPARATE : SC_OK);
    smbw_create_params p;
    smbw_create_params_from_flags(&p, SMBW_O_RDONLY);
    got g = {0};
    ck_assert_int_eq(smbw_file_create_read_async(&F.tree, "r.txt", &p, 4096, read_cb, &g), 0);
    drain();
    ck_assert_int_eq(g.err, 0);
    ck_assert_ptr_nonnull(g.f);
    ck_assert_uint_eq(g.len, FILE_BYTES);
    ck_assert_int_eq(g.data[0], 'a');
    ck_assert_int_eq(g.data[FILE_BYTES - 1], 'a' + (FILE_BYTES - 1) % 26);
    ck_assert_uint_eq(g.f->pos, FILE_BYTES);
    const frame_rec *fr = frame(0);
    ck_assert_int_eq(fr->n, 2);
    ck_assert_int_eq(fr->m[0].cmd, SMB2_CREATE);
    check_related(fr, 1, SMB2_READ);
    ck_assert_uint_eq(fr->m[1].len, 4096);
    ck_assert_uint_eq(fr->m[1].off, 0);

    /* the close with metadata */
    got s = {0};
    ck_assert_int_eq(smbw_file_free_stat_async(g.f, stat_cb, &s), 0);
    drain();
    ck_assert_int_eq(s.err, 0);
    ck_assert(s.stat_got);
    ck_assert_uint_eq(s.st.size, CLOSE_EOF);
    ck_assert_uint_eq(s.st.last_write_time, CLOSE_WRITE_TIME);
    fr = frame(1);
    ck_assert_int_eq(fr->n, 1);
    check_unrelated(fr, 0, SMB2_CLOSE);
    ck_assert_uint_eq(fr->m[0].close_flags, SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB);
    teardown();
}
END_TEST

START_TEST(test_rename_refused)
{
    setup_sc(SC_RENAME_DENIED);
    smbw_create_params p;
    write_params(&p, 0);
    got g = {0};
    ck_assert_int_eq(smbw_file_create_write_async(&F.tree, "t.tmp", &p, DATA, 4, file_cb, &g), 0);
    drain();
    ck_assert_int_eq(g.err, 0);
    smbw_commit cm = SMBW_COMMIT_INIT;
    cm.rename_to = "t.txt";
    cm.set_basic = true;
    cm.write = 1;
    got c = {0};
    ck_assert_int_eq(smbw_file_commit_async(g.f, &cm, commit_cb, &c), 0);
    drain();
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(c.err, SMBW_EACCES);
    ck_assert_uint_eq(c.status, SMBW_STATUS_ACCESS_DENIED);
    ck_assert_int_eq(c.step, SMBW_COMMIT_RENAME);
    ck_assert_ptr_null(F.tree.files); /* freed all the same */
    /* unrelated: the basic information and the CLOSE still ran */
    const frame_rec *fr = frame(1);
    ck_assert_int_eq(fr->n, 3);
    check_unrelated(fr, 2, SMB2_CLOSE);
    teardown();
}
END_TEST

START_TEST(test_open_source_key)
{
    setup_sc(_i ? SC_KEY_REFUSED : SC_OK);
    got g = {0};
    ck_assert_int_eq(smbw_file_open_source_async(&F.tree, "src.bin", file_cb, &g), 0);
    drain();
    ck_assert_int_eq(g.calls, 1);
    ck_assert_int_eq(g.err, 0);
    ck_assert_ptr_nonnull(g.f);
    const frame_rec *fr = frame(0);
    ck_assert_int_eq(fr->n, 2);
    ck_assert_int_eq(fr->m[0].cmd, SMB2_CREATE);
    check_related(fr, 1, SMB2_IOCTL);
    ck_assert_uint_eq(fr->m[1].ctl, SMBW_FSCTL_SRV_REQUEST_RESUME_KEY);
    if (_i) {
        ck_assert(!g.f->has_key);
    } else {
        ck_assert(g.f->has_key);
        uint8_t k[24];
        memset(k, 0x5a, 24);
        ck_assert_mem_eq(g.f->key, k, 24);
    }
    teardown();
}
END_TEST

/* A compounded answer whose NextCommand leads past its frame kills the
 * connection: the call fails with SMBW_EPROTO, nothing else is sent. */
START_TEST(test_bad_next_command)
{
    setup_sc(SC_BAD_NEXT);
    smbw_create_params p;
    write_params(&p, 0);
    got g = {0};
    ck_assert_int_eq(smbw_file_create_write_async(&F.tree, "x.txt", &p, DATA, 8, file_cb, &g), 0);
    drain();
    ck_assert_int_eq(g.calls, 1);
    ck_assert_int_eq(g.err, SMBW_EPROTO);
    ck_assert(F.c->dead);
    ck_assert_int_eq(F.srv.nfr, 1);
    teardown();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("compound");
    TCase *tc = tcase_create("compound");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_create_write_then_commit);
    tcase_add_test(tc, test_provisional_then_keep);
    tcase_add_test(tc, test_mark_refused);
    tcase_add_test(tc, test_create_refused);
    tcase_add_test(tc, test_short_write_continued);
    tcase_add_loop_test(tc, test_create_read, 0, 2);
    tcase_add_test(tc, test_rename_refused);
    tcase_add_loop_test(tc, test_open_source_key, 0, 2);
    tcase_add_test(tc, test_bad_next_command);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
