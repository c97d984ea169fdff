/* FSCTL_SRV_COPYCHUNK(_WRITE) and the opens involved: directories, a named
 * pipe, another share, access rights, keys that outlived their open's
 * session or tree, a key used twice, and copies in flight at the same time
 * (MS-SMB2 3.3.5.15.5, 3.3.5.15.6). */
#include <stdlib.h>
#include <string.h>

#include "../smbconform.h"

#define KiB 1024u
#define W SMBW_FSCTL_SRV_COPYCHUNK_WRITE

static smbw_conn *C(cf_env *e)
{
    return e->main.c;
}

/* Any error status with the connection up: a server may refuse an open that
 * is no data file in more than one way; what it must not do is copy or drop
 * the connection. */
static enum cf_result expect_refusal(cf_env *e, const cf_cc_answer *a, const char *why)
{
    snprintf(e->expected, sizeof(e->expected), "an error status (%s), the connection stays up",
             why);
    snprintf(e->got, sizeof(e->got), "%s", cf_cc_describe(e, a));
    if (a->dead || a->rc == 0 || a->status == 0)
        return CF_FAIL;
    return CF_PASS;
}

static int open_dir(cf_env *e, const char *name, smbw_file **d)
{
    int rc = smbw_mkdir(e->main.t, cf_path(e, name));
    if (rc == 0)
        rc = cf_open(e, e->main.t, name, SMBW_O_RDONLY | SMBW_O_DIRECTORY, d);
    return rc;
}

/* 3.3.5.15.6: the destination is a directory. */
static enum cf_result dst_directory(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    smbw_file *d;
    int rc = open_dir(e, "d", &d);
    if (rc != 0)
        return cf_error(e, "cannot make and open a directory: %s", cf_outcome(e, C(e), rc));
    cf_chunk ch = {0, 0, 4096};
    cf_cc_answer a;
    cf_copychunk(C(e), d, W, p.key, &ch, 1, -1, 12, &a);
    return expect_refusal(e, &a, "a directory is no copy destination");
}

/* The key of a directory open: refused when asked for, or the copy refused. */
static enum cf_result src_directory(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    smbw_file *d;
    int rc = open_dir(e, "d", &d);
    if (rc != 0)
        return cf_error(e, "cannot make and open a directory: %s", cf_outcome(e, C(e), rc));
    uint8_t key[24];
    rc = cf_resume_key(d, 32, key, NULL);
    if (rc != 0) {
        snprintf(e->expected, sizeof(e->expected), "no key, or the copy refused");
        snprintf(e->got, sizeof(e->got), "the key request failed: %s", cf_outcome(e, C(e), rc));
        return smbw_conn_is_dead(C(e)) ? CF_FAIL : CF_PASS;
    }
    cf_chunk ch = {0, 0, 4096};
    cf_cc_answer a;
    cf_copychunk(C(e), p.dst, W, key, &ch, 1, -1, 12, &a);
    return expect_refusal(e, &a, "a directory has no data to copy");
}

/* A tree connect to IPC$ on the main session (so on the connection that
 * already asked for a key) and an open of the srvsvc pipe there. */
static int open_pipe(cf_env *e, smbw_tree **t, smbw_file **pipe)
{
    *t = NULL;
    *pipe = NULL;
    int rc = smbw_tree_connect(t, e->main.s, "IPC$");
    if (rc != 0)
        return rc;
    smbw_create_params cp = {
        .desired_access = 0x0012019Fu, /* generic read/write on a pipe */
        .share_access = 3,
        .create_disposition = 1, /* FILE_OPEN */
        .impersonation_level = 2,
    };
    return smbw_file_create(pipe, *t, "srvsvc", &cp);
}

/* A named pipe (IPC$) as the copy's destination. */
static enum cf_result dst_pipe(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    smbw_tree *t;
    smbw_file *pipe;
    int rc = open_pipe(e, &t, &pipe);
    if (rc != 0) {
        r = cf_skip(e, "cannot open the srvsvc pipe on IPC$: %s", cf_outcome(e, C(e), rc));
    } else {
        cf_chunk ch = {0, 0, 4096};
        cf_cc_answer a;
        cf_copychunk(C(e), pipe, W, p.key, &ch, 1, -1, 12, &a);
        r = expect_refusal(e, &a, "a pipe is no copy destination");
    }
    smbw_file_free(pipe);
    smbw_tree_free(t);
    return r;
}

/* A named pipe as the source: no key for it, or the copy refused. */
static enum cf_result src_pipe(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    smbw_tree *t;
    smbw_file *pipe;
    uint8_t key[24];
    int rc = open_pipe(e, &t, &pipe);
    if (rc != 0) {
        r = cf_skip(e, "cannot open the srvsvc pipe on IPC$: %s", cf_outcome(e, C(e), rc));
    } else if ((rc = cf_resume_key(pipe, 32, key, NULL)) != 0) {
        snprintf(e->expected, sizeof(e->expected), "no key, or the copy refused");
        snprintf(e->got, sizeof(e->got), "the key request failed: %s", cf_outcome(e, C(e), rc));
        r = smbw_conn_is_dead(C(e)) ? CF_FAIL : CF_PASS;
    } else {
        cf_chunk ch = {0, 0, 16};
        cf_cc_answer a;
        cf_copychunk(C(e), p.dst, W, key, &ch, 1, -1, 12, &a);
        r = expect_refusal(e, &a, "a pipe has no data range to copy");
    }
    smbw_file_free(pipe);
    smbw_tree_free(t);
    return r;
}

/* A file at the root of --other-share on the main session, removed when its
 * open closes. */
static enum cf_result other_share_file(cf_env *e, smbw_tree **t, smbw_file **f)
{
    if (e->tg->other_share == NULL)
        return cf_skip(e, "no second share given (--other-share)");
    int rc = smbw_tree_connect(t, e->main.s, e->tg->other_share);
    if (rc != 0)
        return cf_error(e, "cannot connect to %s: %s", e->tg->other_share, cf_outcome(e, C(e), rc));
    char root[160], name[200];
    snprintf(root, sizeof(root), "%s", e->dir);
    char *slash = strrchr(root, '/'); /* e->dir is ROOT/CASE */
    if (slash != NULL)
        *slash = '\0';
    cf_other_share_file(root, name, sizeof(name));
    smbw_create_params cp = {
        .desired_access = 0x0012019Fu | 0x00010000u, /* read/write, DELETE */
        .share_access = 7,
        .create_disposition = 5,       /* FILE_OVERWRITE_IF */
        .create_options = 0x00001000u, /* FILE_DELETE_ON_CLOSE */
        .impersonation_level = 2,
    };
    rc = smbw_file_create(f, *t, name, &cp);
    if (rc == 0)
        rc = cf_fill(*f, 0, 64 * KiB, 1);
    if (rc != 0)
        return cf_error(e, "cannot write %s on %s: %s", name, e->tg->other_share,
                        cf_outcome(e, C(e), rc));
    return CF_PASS;
}

/* 3.3.5.15.6: the key is looked up among the server's opens: a source on
 * another share of the same session copies. */
static enum cf_result across_shares(cf_env *e)
{
    smbw_tree *t = NULL;
    smbw_file *src = NULL, *dst;
    enum cf_result r = other_share_file(e, &t, &src);
    uint8_t key[24];
    int rc;
    if (r == CF_PASS && (rc = cf_resume_key(src, 32, key, NULL)) != 0)
        r = cf_error(e, "FSCTL_SRV_REQUEST_RESUME_KEY on the other share: %s",
                     cf_outcome(e, C(e), rc));
    if (r == CF_PASS &&
        (rc = cf_open(e, e->main.t, "dst.bin", SMBW_O_WRONLY | SMBW_O_CREAT, &dst)) != 0)
        r = cf_error(e, "cannot create dst.bin: %s", cf_outcome(e, C(e), rc));
    if (r == CF_PASS) {
        cf_chunk ch[] = {{0, 0, 32 * KiB}, {40 * KiB, 32 * KiB, 24 * KiB}};
        r = cf_copied(e, dst, "dst.bin", W, key, ch, 2);
    }
    smbw_file_free(src);
    smbw_tree_free(t);
    return r;
}

/* 3.3.5.15.6: a destination opened with FILE_APPEND_DATA but without
 * FILE_WRITE_DATA: STATUS_ACCESS_DENIED. */
static enum cf_result dst_append_only(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    smbw_create_params cp = {
        .desired_access = 0x00100084u, /* FILE_APPEND_DATA | READ_ATTRIBUTES | SYNCHRONIZE */
        .share_access = 7,
        .create_disposition = 1,
        .impersonation_level = 2,
    };
    smbw_file *ap;
    int rc = cf_create(e, e->main.t, "dst.bin", &cp, &ap);
    if (rc != 0)
        return cf_error(e, "cannot open dst.bin for appending: %s", cf_outcome(e, C(e), rc));
    cf_chunk ch = {0, 0, 4096};
    cf_cc_answer a;
    cf_copychunk(C(e), ap, W, p.key, &ch, 1, -1, 12, &a);
    return cf_expect_status(e, &a, SMBW_STATUS_ACCESS_DENIED);
}

/* A key of all zero bytes names no open. */
static enum cf_result key_zero(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    static const uint8_t zero[24];
    cf_chunk ch = {0, 0, 4096};
    cf_cc_answer a;
    cf_copychunk(C(e), p.dst, W, zero, &ch, 1, -1, 12, &a);
    return cf_expect_status(e, &a, SMBW_STATUS_OBJECT_NAME_NOT_FOUND);
}

/* One key serves any number of requests. */
static enum cf_result key_reused(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    cf_chunk a = {0, 0, 16 * KiB}, b = {16 * KiB, 16 * KiB, 48 * KiB};
    if ((r = cf_copied(e, p.dst, "dst.bin", W, p.key, &a, 1)) != CF_PASS)
        return r;
    return cf_copied(e, p.dst, "dst.bin", W, p.key, &b, 1);
}

/* The key of an open on a second session that logged off (its opens are
 * closed with it): STATUS_OBJECT_NAME_NOT_FOUND on the main session. */
static enum cf_result key_after_logoff(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    smbw_session *s = NULL;
    smbw_tree *t = NULL;
    smbw_file *f = NULL;
    uint8_t key[24];
    int rc = smbw_session_new(&s, C(e), &e->tg->creds);
    if (rc == 0)
        rc = smbw_tree_connect(&t, s, e->tg->share);
    if (rc == 0)
        rc = smbw_file_open(&f, t, cf_path(e, "src.bin"), SMBW_O_RDONLY);
    if (rc == 0)
        rc = cf_resume_key(f, 32, key, NULL);
    smbw_session_free(s); /* LOGOFF: the open goes with the session */
    smbw_tree_free(t);    /* detached by now: nothing is sent */
    smbw_file_free(f);
    if (rc != 0)
        return cf_error(e, "a key on a second session: %s", cf_outcome(e, C(e), rc));
    cf_chunk ch = {0, 0, 4096};
    cf_cc_answer a;
    cf_copychunk(C(e), p.dst, W, key, &ch, 1, -1, 12, &a);
    return cf_expect_status(e, &a, SMBW_STATUS_OBJECT_NAME_NOT_FOUND);
}

/* The key of an open on a tree that was disconnected (its opens are closed
 * with it). */
static enum cf_result key_after_tree_disconnect(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    smbw_tree *t = NULL;
    smbw_file *f = NULL;
    uint8_t key[24];
    int rc = smbw_tree_connect(&t, e->main.s, e->tg->share);
    if (rc == 0)
        rc = smbw_file_open(&f, t, cf_path(e, "src.bin"), SMBW_O_RDONLY);
    if (rc == 0)
        rc = cf_resume_key(f, 32, key, NULL);
    smbw_tree_free(t); /* TREE_DISCONNECT: the open goes with the tree */
    smbw_file_free(f);
    if (rc != 0)
        return cf_error(e, "a key on a second tree: %s", cf_outcome(e, C(e), rc));
    cf_chunk ch = {0, 0, 4096};
    cf_cc_answer a;
    cf_copychunk(C(e), p.dst, W, key, &ch, 1, -1, 12, &a);
    return cf_expect_status(e, &a, SMBW_STATUS_OBJECT_NAME_NOT_FOUND);
}

/* ---- byte-range locks --------------------------------------------------- */

/* A lock (flags) on [0, 8 KiB) of name by an open of its own (registered),
 * or by the open given. */
static int lock_range(cf_env *e, const char *name, smbw_file *by, uint32_t flags)
{
    int rc = 0;
    if (by == NULL)
        rc = cf_open(e, e->main.t, name, SMBW_O_RDWR, &by);
    if (rc == 0)
        rc = smbw_file_lock(by, 0, 8192, flags | SMBW_LOCK_FAIL_IMMEDIATELY);
    return rc;
}

/* 3.3.5.15.6: a chunk over a range another open holds locked (source or
 * target) fails with STATUS_FILE_LOCK_CONFLICT; without the lock the same
 * request copies. */
static enum cf_result locked_by_other(cf_env *e, bool on_src)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    smbw_file *holder;
    int rc = cf_open(e, e->main.t, on_src ? "src.bin" : "dst.bin", SMBW_O_RDWR, &holder);
    if (rc == 0)
        rc = lock_range(e, NULL, holder, SMBW_LOCK_EXCLUSIVE);
    if (rc != 0)
        return cf_error(e, "cannot lock the %s: %s", on_src ? "source" : "destination",
                        cf_outcome(e, C(e), rc));
    cf_chunk ch = {0, 0, 4096};
    cf_cc_answer a;
    cf_copychunk(C(e), p.dst, W, p.key, &ch, 1, -1, 12, &a);
    if ((r = cf_expect_status(e, &a, SMBW_STATUS_FILE_LOCK_CONFLICT)) != CF_PASS)
        return r;
    if ((rc = smbw_file_lock(holder, 0, 8192, SMBW_LOCK_UNLOCK)) != 0)
        return cf_error(e, "cannot unlock: %s", cf_outcome(e, C(e), rc));
    return cf_copied(e, p.dst, "dst.bin", W, p.key, &ch, 1);
}

static enum cf_result src_locked(cf_env *e)
{
    return locked_by_other(e, true);
}

static enum cf_result dst_locked(cf_env *e)
{
    return locked_by_other(e, false);
}

/* A shared lock by another open on the source allows reading: copied. */
static enum cf_result src_shared_lock(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    int rc = lock_range(e, "src.bin", NULL, SMBW_LOCK_SHARED);
    if (rc != 0)
        return cf_error(e, "cannot lock the source: %s", cf_outcome(e, C(e), rc));
    cf_chunk ch = {0, 0, 4096};
    return cf_copied(e, p.dst, "dst.bin", W, p.key, &ch, 1);
}

/* Locks held by the opens the copy goes through (the key's source open, the
 * destination open) do not stand in its way. */
static enum cf_result locked_by_own_opens(cf_env *e)
{
    smbw_file *s, *d;
    uint8_t key[24];
    int rc = cf_make_source(e, "src.bin", 0, 64 * KiB, &s, key);
    if (rc == 0)
        rc = cf_open(e, e->main.t, "dst.bin", SMBW_O_RDWR | SMBW_O_CREAT, &d);
    if (rc == 0)
        rc = lock_range(e, NULL, s, SMBW_LOCK_EXCLUSIVE);
    if (rc == 0)
        rc = lock_range(e, NULL, d, SMBW_LOCK_EXCLUSIVE);
    if (rc != 0)
        return cf_error(e, "cannot set up the locked opens: %s", cf_outcome(e, C(e), rc));
    cf_chunk ch = {0, 0, 4096};
    cf_cc_answer a;
    cf_copychunk(C(e), d, W, key, &ch, 1, -1, 12, &a);
    enum cf_result r = cf_expect_copied(e, &a, 1, 4096);
    if (r != CF_PASS)
        return r;
    /* Read back through the lock holder itself (others may not read). */
    char where[200];
    rc = cf_verify(d, 0, 4096, 0, 1, where, sizeof(where));
    if (rc < 0)
        return cf_error(e, "cannot read dst.bin back: %s", cf_outcome(e, C(e), rc));
    return rc > 0 ? cf_fail(e, "the source's bytes", "%s", where) : CF_PASS;
}

/* ---- inside a compound ------------------------------------------------ */

/* 3.3.5.2.7.2: a CREATE of the destination and a copychunk on it as one
 * related compound (the IOCTL names the CREATE's open): copied. */
static enum cf_result compound_related(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 64 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    cf_chunk ch[] = {{0, 0, 32 * KiB}, {32 * KiB, 40 * KiB, 32 * KiB}};
    size_t inlen;
    uint8_t *in = cf_cc_input(p.key, ch, 2, -1, &inlen);
    if (in == NULL)
        return cf_error(e, "out of memory");
    smbw_create_params cp = {
        .desired_access = 0x0012019Fu, /* read/write */
        .share_access = 7,
        .create_disposition = 5, /* FILE_OVERWRITE_IF */
        .impersonation_level = 2,
    };
    smbw_file *d = NULL;
    void *out = NULL;
    size_t outlen = 0;
    int rc = smbw_file_create_ioctl(&d, e->main.t, cf_path(e, "cdst.bin"), &cp, W, in, inlen, 12,
                                    &out, &outlen);
    free(in);
    cf_cc_answer a;
    cf_cc_decode(C(e), rc, out, outlen, &a);
    free(out);
    if (d != NULL) {
        for (size_t i = 0; i < CF_MAX_FILES; i++)
            if (e->files[i] == NULL) {
                e->files[i] = d;
                d = NULL;
                break;
            }
        smbw_file_free(d);
    }
    if ((r = cf_expect_copied(e, &a, 2, 64 * KiB)) != CF_PASS)
        return r;
    return cf_verify_chunks(e, "cdst.bin", ch, 2);
}

/* ---- copies in flight at the same time -------------------------------- */

typedef struct pending {
    smbw_conn *c;
    bool done;
    cf_cc_answer a;
} pending;

static void on_copy(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    pending *p = ud;
    (void)status;
    cf_cc_decode(p->c, err, data, len, &p->a);
    p->done = true;
}

/* Starts a copy of ch with key on dst (connection c). */
static int start_copy(smbw_conn *c, smbw_file *dst, const uint8_t key[24], const cf_chunk *ch,
                      size_t n, pending *p)
{
    size_t inlen;
    uint8_t *in = cf_cc_input(key, ch, n, -1, &inlen);
    if (in == NULL)
        return SMBW_ENOMEM;
    p->c = c;
    p->done = false;
    int rc = smbw_file_ioctl_async(dst, W, in, inlen, 12, on_copy, p);
    free(in);
    return rc;
}

/* Waits for both, checks each answer and the data. */
static enum cf_result both_copied(cf_env *e, smbw_conn *const conns[2], pending p[2],
                                  const cf_chunk ch[2][4], size_t n)
{
    for (int guard = 0; (!p[0].done || !p[1].done) && guard < 100000; guard++) {
        int rc = smbw_conn_wait(conns, conns[0] == conns[1] ? 1 : 2, e->tg->wait_ms, NULL);
        if (rc != 0)
            return cf_fail(e, "both copies answered", "waiting: %s", cf_outcome(e, C(e), rc));
    }
    uint32_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += ch[0][i].len;
    for (int k = 0; k < 2; k++) {
        enum cf_result r = cf_expect_copied(e, &p[k].a, (uint32_t)n, total);
        if (r != CF_PASS)
            return r;
    }
    enum cf_result r = cf_verify_chunks(e, "dst.bin", ch[0], n);
    return r != CF_PASS ? r : cf_verify_chunks(e, "dst.bin", ch[1], n);
}

/* Pike's concurrent copies: two requests in flight on one connection to one
 * destination, disjoint targets; both complete and both ranges arrive. */
static enum cf_result concurrent_one_connection(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 1024 * KiB, SMBW_O_WRONLY, &p);
    if (r != CF_PASS)
        return r;
    cf_chunk ch[2][4];
    for (int i = 0; i < 4; i++) {
        ch[0][i] = (cf_chunk){(uint64_t)i * 128 * KiB, (uint64_t)i * 128 * KiB, 128 * KiB};
        ch[1][i] = (cf_chunk){(uint64_t)i * 64 * KiB, (uint64_t)(4 + i) * 128 * KiB, 128 * KiB};
    }
    pending pd[2];
    smbw_conn *conns[2] = {C(e), C(e)};
    int rc = start_copy(C(e), p.dst, p.key, ch[0], 4, &pd[0]);
    if (rc == 0)
        rc = start_copy(C(e), p.dst, p.key, ch[1], 4, &pd[1]);
    if (rc != 0) {
        smbw_conn_drain(C(e));
        return cf_error(e, "cannot start the copies: %s", cf_outcome(e, C(e), rc));
    }
    return both_copied(e, conns, pd, (const cf_chunk(*)[4])ch, 4);
}

/* Two connections, each with its own key and open of the destination, copy
 * into one file at once. */
static enum cf_result concurrent_two_connections(cf_env *e)
{
    cf_pair p;
    enum cf_result r = cf_pair_setup(e, 1024 * KiB, SMBW_O_RDWR, &p);
    if (r != CF_PASS)
        return r;
    cf_link *l;
    smbw_file *src2, *dst2;
    uint8_t key2[24];
    int rc = cf_connect(e, NULL, &l);
    if (rc != 0)
        return cf_error(e, "second connection: %s", e->reason);
    if ((rc = cf_open(e, l->t, "src.bin", SMBW_O_RDONLY, &src2)) != 0 ||
        (rc = cf_open(e, l->t, "dst.bin", SMBW_O_WRONLY, &dst2)) != 0 ||
        (rc = cf_resume_key(src2, 32, key2, NULL)) != 0)
        return cf_error(e, "the second connection's opens: %s", cf_outcome(e, l->c, rc));
    cf_chunk ch[2][4];
    for (int i = 0; i < 4; i++) {
        ch[0][i] = (cf_chunk){(uint64_t)i * 128 * KiB, (uint64_t)i * 256 * KiB, 128 * KiB};
        ch[1][i] = (cf_chunk){(uint64_t)(7 - i) * 128 * KiB, (uint64_t)i * 256 * KiB + 128 * KiB,
                              128 * KiB};
    }
    pending pd[2];
    smbw_conn *conns[2] = {C(e), l->c};
    rc = start_copy(C(e), p.dst, p.key, ch[0], 4, &pd[0]);
    if (rc == 0)
        rc = start_copy(l->c, dst2, key2, ch[1], 4, &pd[1]);
    if (rc != 0) {
        smbw_conn_drain(C(e));
        return cf_error(e, "cannot start the copies: %s", cf_outcome(e, C(e), rc));
    }
    return both_copied(e, conns, pd, (const cf_chunk(*)[4])ch, 4);
}

#define S6 "MS-SMB2 3.3.5.15.6"
const cf_case cf_cases_copychunk_handles[] = {
    {"copychunk_dst_directory", S6, "a directory open as destination: an error status",
     dst_directory},
    {"copychunk_src_directory", S6, "the key of a directory open: no key, or the copy refused",
     src_directory},
    {"copychunk_dst_pipe", S6, "a named pipe (IPC$ srvsvc) as destination: an error status",
     dst_pipe},
    {"copychunk_src_pipe", S6, "a named pipe as source: no key, or the copy refused", src_pipe},
    {"copychunk_across_shares", S6,
     "a source on another share of the session (--other-share): copied", across_shares},
    {"copychunk_dst_append_only", S6,
     "a destination with FILE_APPEND_DATA but not FILE_WRITE_DATA: STATUS_ACCESS_DENIED",
     dst_append_only},
    {"copychunk_key_zero", S6, "a key of 24 zero bytes: STATUS_OBJECT_NAME_NOT_FOUND", key_zero},
    {"copychunk_key_reused", S6, "one key used for two requests: both copy", key_reused},
    {"copychunk_key_after_logoff", S6,
     "the key of an open whose session logged off: STATUS_OBJECT_NAME_NOT_FOUND", key_after_logoff},
    {"copychunk_key_after_tree_disconnect", S6,
     "the key of an open whose tree was disconnected: STATUS_OBJECT_NAME_NOT_FOUND",
     key_after_tree_disconnect},
    {"copychunk_src_locked", S6,
     "the source range locked by another open: STATUS_FILE_LOCK_CONFLICT; unlocked: copied",
     src_locked},
    {"copychunk_dst_locked", S6,
     "the target range locked by another open: STATUS_FILE_LOCK_CONFLICT; unlocked: copied",
     dst_locked},
    {"copychunk_src_shared_lock", S6, "a shared lock by another open on the source: copied",
     src_shared_lock},
    {"copychunk_locked_by_own_opens", S6,
     "exclusive locks held by the source (key) open and the destination open: copied",
     locked_by_own_opens},
    {"copychunk_compound_related", "MS-SMB2 3.3.5.2.7.2",
     "CREATE of the destination + copychunk on it as one related compound: copied",
     compound_related},
    {"copychunk_concurrent_one_connection", S6,
     "two copies in flight on one connection into one file: both complete, both arrive",
     concurrent_one_connection},
    {"copychunk_concurrent_two_connections", S6,
     "two connections copying into one file at once, each with its own key",
     concurrent_two_connections},
    {NULL, NULL, NULL, NULL},
};
