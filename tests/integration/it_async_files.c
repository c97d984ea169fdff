/* The asynchronous whole-file calls against a real Samba (issue 9: many
 * small files in flight on one connection):
 *  - 64 files put with smbw_file_create_write_async all in flight, then
 *    smbw_file_commit_async (rename and times) for all of them, then
 *    smbw_file_create_read_async and smbw_file_free_stat_async for all;
 *    each phase has every request sent before the first answer is
 *    processed (counted from the library's trace), and each file is one
 *    compound;
 *  - the errors each callback gets: a missing directory (f NULL), a WRITE
 *    or READ refused after the CREATE (f the open file), a rename refused
 *    with replace false (SMBW_COMMIT_RENAME, the file closed), and the
 *    start errors (no callback; a commit's file is freed and closed);
 *  - provisional files (test_provisional);
 *  - small files copied by the server (test_server_side): 8 sources opened
 *    with their resume keys (smbw_file_open_source_async: CREATE and IOCTL
 *    in one related compound) and 8 provisional destinations (CREATE and
 *    mark, no WRITE) all in flight at once, then one copychunk each
 *    (smbw_copy_chunk_async) all in flight, kept; the refusals: a missing
 *    source, a chunk over the server's limit, the start errors;
 *  - freeing the connection with all four kinds in flight: every callback
 *    runs once with SMBW_ECANCELED and nothing leaks (the ASan build's leak
 *    check). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#include <smbwire/copy.h>

#include <smbwire/fscc.h>

#define NFILES 64

/* Requests sent, those sent as a later member of a compound, answers, and
 * requests sent before the first answer since the last reset. */
typedef struct trace_count {
    int sent, compound, answers, sent_before_answer;
} trace_count;

static void count_log(void *ud, enum smbw_log_level level, const char *msg)
{
    (void)level;
    trace_count *t = ud;
    if (strncmp(msg, "<- ", 3) == 0) {
        /* An interim STATUS_PENDING (Samba 4.22 sends them for WRITE) is
         * not the answer: the final one follows. */
        if (strstr(msg, "STATUS_PENDING") != NULL)
            return;
        if (t->answers++ == 0)
            t->sent_before_answer = t->sent;
        return;
    }
    if (strncmp(msg, "-> ", 3) != 0)
        return;
    t->sent++;
    if (strstr(msg, " compound") != NULL)
        t->compound++;
}

typedef struct cx {
    it_ctx x;
    trace_count t;
} cx;

static void cx_open(cx *c)
{
    memset(c, 0, sizeof *c);
    c->x.conn = it_connect_logged(count_log, &c->t);
    IT_OK(c->x.conn,
          it_login_as(c->x.conn, it_env("SMBW_TEST_USER"), it_env("SMBW_TEST_PASS"), &c->x.sess));
    IT_OK(c->x.conn, smbw_tree_connect(&c->x.tree, c->x.sess, it_env("SMBW_TEST_SHARE")));
    memset(&c->t, 0, sizeof c->t);
}

static void trace_reset(cx *c)
{
    memset(&c->t, 0, sizeof c->t);
}

static smbw_create_params new_file_params(void)
{
    smbw_create_params p;
    memset(&p, 0, sizeof p);
    p.desired_access = 0x00130187u; /* data, attributes, DELETE, SYNCHRONIZE */
    p.share_access = 0x1u;          /* FILE_SHARE_READ only */
    p.create_disposition = 2;       /* FILE_CREATE */
    p.create_options = 0x40u;       /* FILE_NON_DIRECTORY_FILE */
    p.impersonation_level = 2;
    return p;
}

/* One callback's outcome. */
typedef struct result {
    int calls;
    int err;
    uint32_t status;
    smbw_file *f;
    smbw_commit_step step;
    smbw_stat st;
    bool got;
    char data[256];
    size_t len;
} result;

static void file_cb(void *ud, int err, uint32_t status, smbw_file *f)
{
    result *r = ud;
    r->calls++;
    r->err = err;
    r->status = status;
    r->f = f;
}

static void read_cb(void *ud, int err, uint32_t status, smbw_file *f, const void *data, size_t len)
{
    result *r = ud;
    file_cb(ud, err, status, f);
    ck_assert_uint_le(len, sizeof r->data);
    if (len)
        memcpy(r->data, data, len);
    r->len = len;
}

static void commit_cb(void *ud, int err, uint32_t status, smbw_commit_step step)
{
    result *r = ud;
    r->calls++;
    r->err = err;
    r->status = status;
    r->step = step;
}

static void stat_cb(void *ud, int err, uint32_t status, const smbw_stat *st, bool got)
{
    result *r = ud;
    r->calls++;
    r->err = err;
    r->status = status;
    r->st = *st;
    r->got = got;
}

/* Runs the connection until every one of the n results has its callback. */
static void wait_all(cx *c, result *r, int n)
{
    for (;;) {
        int done = 0;
        for (int i = 0; i < n; i++)
            done += r[i].calls;
        if (done == n)
            return;
        IT_OK(c->x.conn, smbw_conn_wait(&c->x.conn, 1, 10000, NULL));
    }
}

static void file_text(int i, char *buf, size_t cap, size_t *len)
{
    int n = snprintf(buf, cap, "file %d:", i);
    /* lengths 7..200, with some bytes of its own */
    size_t want = 7 + (size_t)(i * 37) % 194;
    for (size_t k = (size_t)n; k < want; k++)
        buf[k] = (char)('a' + (int)(k + (size_t)i) % 26);
    *len = want;
}

/* Asserts the whole phase was sent before the first answer: per file,
 * per_file requests, of which per_file - 1 rode in the same compound. */
static void expect_one_batch(cx *c, int per_file, const char *what)
{
    ck_assert_msg(c->t.sent == NFILES * per_file, "%s: %d requests sent", what, c->t.sent);
    ck_assert_msg(c->t.compound == NFILES * (per_file - 1), "%s: %d compounded", what,
                  c->t.compound);
    ck_assert_msg(c->t.sent_before_answer == c->t.sent,
                  "%s: only %d of %d requests sent before the first answer", what,
                  c->t.sent_before_answer, c->t.sent);
    ck_assert_int_eq(c->t.answers, c->t.sent);
}

START_TEST(test_many_files)
{
    cx c;
    cx_open(&c);
    IT_OK(c.x.conn, smbw_mkdir(c.x.tree, "many"));
    smbw_create_params p = new_file_params();
    static result r[NFILES];
    char name[64], text[256];
    size_t len;

    /* Phase 1: 64 CREATE+WRITE compounds in flight. */
    memset(r, 0, sizeof r);
    trace_reset(&c);
    for (int i = 0; i < NFILES; i++) {
        snprintf(name, sizeof name, "many/f%02d.part", i);
        file_text(i, text, sizeof text, &len);
        IT_OK(c.x.conn,
              smbw_file_create_write_async(c.x.tree, name, &p, text, len, file_cb, &r[i]));
        memset(text, 'X', sizeof text); /* copied at once */
    }
    ck_assert_uint_eq(smbw_conn_pending(c.x.conn), 2 * NFILES);
    ck_assert_int_eq(r[0].calls, 0);
    wait_all(&c, r, NFILES);
    expect_one_batch(&c, 2, "create+write");
    smbw_file *files[NFILES];
    for (int i = 0; i < NFILES; i++) {
        ck_assert_int_eq(r[i].calls, 1);
        ck_assert_msg(r[i].err == 0, "file %d: %s", i, smbw_error_name(r[i].err));
        ck_assert_ptr_nonnull(r[i].f);
        files[i] = r[i].f;
    }

    /* Phase 2: 64 SET_INFO rename + SET_INFO basic + CLOSE compounds. */
    memset(r, 0, sizeof r);
    trace_reset(&c);
    char names[NFILES][64];
    for (int i = 0; i < NFILES; i++) {
        snprintf(names[i], sizeof names[i], "many/f%02d.txt", i);
        smbw_commit cm = SMBW_COMMIT_INIT;
        cm.rename_to = names[i];
        cm.set_basic = true;
        cm.write = it_filetime(1000000000 + i);
        IT_OK(c.x.conn, smbw_file_commit_async(files[i], &cm, commit_cb, &r[i]));
        memset(names[i], 0, sizeof names[i]); /* copied at once */
    }
    wait_all(&c, r, NFILES);
    expect_one_batch(&c, 3, "commit");
    for (int i = 0; i < NFILES; i++) {
        ck_assert_msg(r[i].err == 0 && r[i].step == SMBW_COMMIT_OK, "file %d: %s step %d", i,
                      smbw_error_name(r[i].err), (int)r[i].step);
        snprintf(name, sizeof name, "many/f%02d.txt", i);
        file_text(i, text, sizeof text, &len);
        size_t got = 0;
        void *back = it_server_read(name, &got);
        ck_assert_uint_eq(got, len);
        ck_assert_int_eq(memcmp(back, text, len), 0);
        free(back);
        struct stat st;
        ck_assert_int_eq(it_server_stat(name, &st), 0);
        ck_assert_int_eq((long long)st.st_mtime, 1000000000LL + i);
        snprintf(name, sizeof name, "many/f%02d.part", i);
        ck_assert_int_eq(it_server_stat(name, &st), -1);
    }

    /* Phase 3: 64 CREATE+READ compounds, then 64 CLOSEs with the metadata. */
    smbw_create_params rd;
    smbw_create_params_from_flags(&rd, SMBW_O_RDONLY);
    memset(r, 0, sizeof r);
    trace_reset(&c);
    for (int i = 0; i < NFILES; i++) {
        snprintf(name, sizeof name, "many/f%02d.txt", i);
        IT_OK(c.x.conn,
              smbw_file_create_read_async(c.x.tree, name, &rd, sizeof r[i].data, read_cb, &r[i]));
    }
    wait_all(&c, r, NFILES);
    expect_one_batch(&c, 2, "create+read");
    for (int i = 0; i < NFILES; i++) {
        ck_assert_msg(r[i].err == 0, "file %d: %s", i, smbw_error_name(r[i].err));
        file_text(i, text, sizeof text, &len);
        ck_assert_uint_eq(r[i].len, len);
        ck_assert_int_eq(memcmp(r[i].data, text, len), 0);
        files[i] = r[i].f;
    }
    memset(r, 0, sizeof r);
    trace_reset(&c);
    for (int i = 0; i < NFILES; i++)
        IT_OK(c.x.conn, smbw_file_free_stat_async(files[i], stat_cb, &r[i]));
    wait_all(&c, r, NFILES);
    expect_one_batch(&c, 1, "close+stat");
    for (int i = 0; i < NFILES; i++) {
        file_text(i, text, sizeof text, &len);
        ck_assert_msg(r[i].err == 0, "file %d: %s", i, smbw_error_name(r[i].err));
        ck_assert(r[i].got);
        ck_assert_uint_eq(r[i].st.size, len);
        ck_assert_uint_eq(r[i].st.last_write_time, it_filetime(1000000000 + i));
    }
    it_close(&c.x);
}
END_TEST

START_TEST(test_errors)
{
    cx c;
    cx_open(&c);
    smbw_create_params p = new_file_params();
    result r[8];
    memset(r, 0, sizeof r);
    /* A missing directory: the CREATE's error, no file. */
    IT_OK(c.x.conn,
          smbw_file_create_write_async(c.x.tree, "nodir/a.txt", &p, "abc", 3, file_cb, &r[0]));
    /* Made without write access: the WRITE refused, the file open. */
    smbw_create_params ro = p;
    ro.desired_access = 0x00010081u; /* read data, read attributes, DELETE */
    IT_OK(c.x.conn,
          smbw_file_create_write_async(c.x.tree, "ro.txt", &ro, "abc", 3, file_cb, &r[1]));
    /* An existing file opened without read access: the READ refused. */
    smbw_file *f = NULL;
    IT_OK(c.x.conn, smbw_file_create_write(&f, c.x.tree, "r.txt", &p, "0123456789", 10));
    IT_OK(c.x.conn, smbw_file_free(f));
    smbw_create_params na;
    smbw_create_params_from_flags(&na, SMBW_O_RDONLY);
    na.desired_access = 0x00100080u; /* read attributes, SYNCHRONIZE */
    IT_OK(c.x.conn, smbw_file_create_read_async(c.x.tree, "r.txt", &na, 64, read_cb, &r[2]));
    /* A missing file read: the CREATE's error. */
    IT_OK(c.x.conn, smbw_file_create_read_async(c.x.tree, "none.txt", &na, 64, read_cb, &r[3]));
    wait_all(&c, r, 4);
    ck_assert_int_eq(r[0].err, SMBW_ENOENT);
    ck_assert_uint_eq(r[0].status, SMBW_STATUS_OBJECT_PATH_NOT_FOUND);
    ck_assert_ptr_null(r[0].f);
    ck_assert_int_eq(r[1].err, SMBW_EACCES);
    ck_assert_uint_eq(r[1].status, SMBW_STATUS_ACCESS_DENIED);
    ck_assert_ptr_nonnull(r[1].f);
    struct stat st;
    ck_assert_int_eq(it_server_stat("ro.txt", &st), 0);
    ck_assert_int_eq((int)st.st_size, 0);
    IT_OK(c.x.conn, smbw_file_delete_on_close(r[1].f));
    IT_OK(c.x.conn, smbw_file_free(r[1].f));
    ck_assert_int_eq(it_server_stat("ro.txt", &st), -1);
    ck_assert_int_eq(r[2].err, SMBW_EACCES);
    ck_assert_ptr_nonnull(r[2].f);
    ck_assert_uint_eq(r[2].len, 0);
    IT_OK(c.x.conn, smbw_file_free(r[2].f));
    ck_assert_int_eq(r[3].err, SMBW_ENOENT);
    ck_assert_ptr_null(r[3].f);

    /* A rename refused (replace false onto an existing file): the step,
     * the status, and the file closed under its old name. */
    IT_OK(c.x.conn, smbw_file_create_write(&f, c.x.tree, ".new", &p, "new", 3));
    smbw_commit cm = SMBW_COMMIT_INIT;
    cm.rename_to = "r.txt";
    cm.replace = false;
    memset(r, 0, sizeof r);
    IT_OK(c.x.conn, smbw_file_commit_async(f, &cm, commit_cb, &r[0]));
    wait_all(&c, r, 1);
    ck_assert_int_eq(r[0].err, SMBW_EEXIST);
    ck_assert_uint_eq(r[0].status, SMBW_STATUS_OBJECT_NAME_COLLISION);
    ck_assert_int_eq(r[0].step, SMBW_COMMIT_RENAME);
    IT_OK(c.x.conn, smbw_unlink(c.x.tree, ".new")); /* not open any more */

    /* Start errors: no callback. */
    size_t maxw = (size_t)smbw_conn_max_write(c.x.conn);
    char *big = calloc(1, maxw + 1);
    ck_assert_ptr_nonnull(big);
    memset(r, 0, sizeof r);
    IT_ERR(c.x.conn,
           smbw_file_create_write_async(c.x.tree, "big.bin", &p, big, maxw + 1, file_cb, &r[0]),
           SMBW_EINVAL);
    free(big);
    IT_ERR(c.x.conn, smbw_file_create_write_async(c.x.tree, "x", &p, NULL, 1, file_cb, &r[0]),
           SMBW_EINVAL);
    IT_ERR(c.x.conn, smbw_file_create_write_async(c.x.tree, "x", &p, "a", 1, NULL, NULL),
           SMBW_EINVAL);
    IT_ERR(c.x.conn, smbw_file_create_read_async(c.x.tree, "x", NULL, 1, read_cb, &r[0]),
           SMBW_EINVAL);
    IT_ERR(c.x.conn, smbw_file_commit_async(NULL, NULL, commit_cb, &r[0]), SMBW_EINVAL);
    IT_ERR(c.x.conn, smbw_file_free_stat_async(NULL, stat_cb, &r[0]), SMBW_EINVAL);
    /* A commit or free_stat refused at the start still frees and closes its
     * file: it can be deleted right after (an open handle without
     * FILE_SHARE_DELETE would forbid it). */
    IT_OK(c.x.conn, smbw_file_create_write(&f, c.x.tree, "s1.txt", &p, "s", 1));
    IT_ERR(c.x.conn, smbw_file_commit_async(f, &cm, NULL, NULL), SMBW_EINVAL);
    IT_OK(c.x.conn, smbw_unlink(c.x.tree, "s1.txt"));
    IT_OK(c.x.conn, smbw_file_create_write(&f, c.x.tree, "s2.txt", &p, "s", 1));
    cm.rename_to = "bad\xffname"; /* not UTF-8 */
    IT_ERR(c.x.conn, smbw_file_commit_async(f, &cm, commit_cb, &r[0]), SMBW_EINVAL);
    IT_OK(c.x.conn, smbw_unlink(c.x.tree, "s2.txt"));
    IT_OK(c.x.conn, smbw_file_create_write(&f, c.x.tree, "s3.txt", &p, "s", 1));
    IT_ERR(c.x.conn, smbw_file_free_stat_async(f, NULL, NULL), SMBW_EINVAL);
    IT_OK(c.x.conn, smbw_unlink(c.x.tree, "s3.txt"));
    ck_assert_int_eq(r[0].calls, 0);
    /* len 0: the CREATE alone (an empty file, read back as empty). */
    IT_OK(c.x.conn, smbw_file_create_write_async(c.x.tree, "e.txt", &p, NULL, 0, file_cb, &r[0]));
    wait_all(&c, r, 1);
    IT_OK(c.x.conn, r[0].err);
    IT_OK(c.x.conn, smbw_file_free(r[0].f));
    smbw_create_params rd;
    smbw_create_params_from_flags(&rd, SMBW_O_RDONLY);
    memset(r, 0, sizeof r);
    IT_OK(c.x.conn, smbw_file_create_read_async(c.x.tree, "e.txt", &rd, 64, read_cb, &r[0]));
    wait_all(&c, r, 1);
    IT_OK(c.x.conn, r[0].err);
    ck_assert_uint_eq(r[0].len, 0);
    IT_OK(c.x.conn, smbw_file_free(r[0].f));
    it_close(&c.x);
}
END_TEST

/* Freeing the connection with every kind in flight: each callback once,
 * with SMBW_ECANCELED; the files given to commit and free_stat freed by the
 * library (the ASan build's leak check sees the rest). */
START_TEST(test_free_in_flight)
{
    cx c;
    cx_open(&c);
    smbw_create_params p = new_file_params();
    smbw_file *f[4];
    char name[32];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "fl%d.txt", i);
        IT_OK(c.x.conn, smbw_file_create_write(&f[i], c.x.tree, name, &p, "abc", 3));
    }
    result r[16];
    memset(r, 0, sizeof r);
    smbw_commit cm = SMBW_COMMIT_INIT;
    cm.rename_to = "fl-renamed.txt";
    smbw_create_params rd;
    smbw_create_params_from_flags(&rd, SMBW_O_RDONLY);
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "new%d.txt", i);
        IT_OK(c.x.conn, smbw_file_create_write_async(c.x.tree, name, &p, "abc", 3, file_cb, &r[i]));
        IT_OK(c.x.conn,
              smbw_file_create_read_async(c.x.tree, "fl0.txt", &rd, 64, read_cb, &r[4 + i]));
    }
    IT_OK(c.x.conn, smbw_file_commit_async(f[0], &cm, commit_cb, &r[8]));
    IT_OK(c.x.conn, smbw_file_commit_async(f[1], NULL, commit_cb, &r[9]));
    IT_OK(c.x.conn, smbw_file_free_stat_async(f[2], stat_cb, &r[10]));
    IT_OK(c.x.conn, smbw_file_free_stat_async(f[3], stat_cb, &r[11]));
    ck_assert_uint_eq(smbw_conn_pending(c.x.conn), 8 + 8 + 2 + 1 + 1 + 1);
    smbw_conn_free(c.x.conn);
    for (int i = 0; i < 12; i++) {
        ck_assert_msg(r[i].calls == 1, "callback %d ran %d times", i, r[i].calls);
        ck_assert_msg(r[i].err == SMBW_ECANCELED, "callback %d: %s", i, smbw_error_name(r[i].err));
        ck_assert_ptr_null(r[i].f);
    }
    ck_assert_int_eq(r[8].step, SMBW_COMMIT_REQUEST);
    ck_assert(!r[10].got);
    smbw_tree_free(c.x.tree);
    smbw_session_free(c.x.sess);
}
END_TEST

/* Provisional files (smbw_file_create_write_provisional_async): the delete
 * mark rides in the CREATE's related compound (CREATE, SET_INFO, WRITE); a
 * file kept by its commit stays with its data and times; one freed without
 * keep, one committed without keep, and one still open when its connection
 * is freed are all gone; an existing name is refused (FILE_CREATE) and left
 * as it was. */
START_TEST(test_provisional)
{
    cx c;
    cx_open(&c);
    smbw_create_params p = new_file_params();
    static const char *const names[4] = {"pv-keep.txt", "pv-free.txt", "pv-nokeep.txt",
                                         "pv-lost.txt"};
    result r[4];
    memset(r, 0, sizeof r);
    trace_reset(&c);
    for (int i = 0; i < 4; i++)
        IT_OK(c.x.conn, smbw_file_create_write_provisional_async(
                            c.x.tree, names[i], &p, "provisional", 11, file_cb, &r[i]));
    wait_all(&c, r, 4);
    ck_assert_int_eq(c.t.sent, 12);
    ck_assert_int_eq(c.t.compound, 8);
    struct stat st;
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(r[i].err == 0, "%s: %s", names[i], smbw_error_name(r[i].err));
        ck_assert_ptr_nonnull(r[i].f);
        ck_assert_int_eq(it_server_stat(names[i], &st), 0); /* there while open */
    }

    result k[2];
    memset(k, 0, sizeof k);
    smbw_commit keep = SMBW_COMMIT_INIT;
    keep.keep = true;
    keep.set_basic = true;
    keep.write = it_filetime(1200000000);
    IT_OK(c.x.conn, smbw_file_commit_async(r[0].f, &keep, commit_cb, &k[0]));
    smbw_commit nokeep = SMBW_COMMIT_INIT;
    nokeep.set_basic = true;
    nokeep.write = it_filetime(1200000000);
    IT_OK(c.x.conn, smbw_file_commit_async(r[2].f, &nokeep, commit_cb, &k[1]));
    IT_OK(c.x.conn, smbw_file_free(r[1].f));
    wait_all(&c, k, 2);
    for (int i = 0; i < 2; i++)
        ck_assert_msg(k[i].err == 0 && k[i].step == SMBW_COMMIT_OK, "commit %d: %s step %d", i,
                      smbw_error_name(k[i].err), (int)k[i].step);
    size_t got = 0;
    void *back = it_server_read("pv-keep.txt", &got);
    ck_assert_uint_eq(got, 11);
    ck_assert_int_eq(memcmp(back, "provisional", 11), 0);
    free(back);
    ck_assert_int_eq(it_server_stat("pv-keep.txt", &st), 0);
    ck_assert_int_eq((long long)st.st_mtime, 1200000000LL);
    ck_assert_int_eq(it_server_stat("pv-free.txt", &st), -1);
    ck_assert_int_eq(it_server_stat("pv-nokeep.txt", &st), -1);

    /* The connection goes with pv-lost.txt open: the server removes it when
     * it closes the open (give it up to 10 s to notice). */
    smbw_conn_free(c.x.conn);
    smbw_file_free(r[3].f);
    smbw_tree_free(c.x.tree);
    smbw_session_free(c.x.sess);
    int gone = 0;
    for (int i = 0; i < 100 && !(gone = it_server_stat("pv-lost.txt", &st) == -1); i++)
        nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 100000000}, NULL);
    ck_assert_msg(gone, "pv-lost.txt stayed after its connection went");

    cx_open(&c);
    memset(r, 0, sizeof r);
    IT_OK(c.x.conn, smbw_file_create_write_provisional_async(c.x.tree, "pv-keep.txt", &p, "X", 1,
                                                             file_cb, &r[0]));
    wait_all(&c, r, 1);
    ck_assert_int_eq(r[0].err, SMBW_EEXIST);
    ck_assert_ptr_null(r[0].f);
    back = it_server_read("pv-keep.txt", &got);
    ck_assert_uint_eq(got, 11);
    free(back);
    it_close(&c.x);
}
END_TEST

/* smbw_copied_cb's outcome. */
typedef struct copied {
    int calls;
    int err;
    uint32_t status;
    uint64_t bytes;
} copied;

static void copied_cb(void *ud, int err, uint32_t status, uint64_t bytes)
{
    copied *k = ud;
    k->calls++;
    k->err = err;
    k->status = status;
    k->bytes = bytes;
}

static void wait_copied(cx *c, copied *k, int n)
{
    for (;;) {
        int done = 0;
        for (int i = 0; i < n; i++)
            done += k[i].calls;
        if (done == n)
            return;
        IT_OK(c->x.conn, smbw_conn_wait(&c->x.conn, 1, 10000, NULL));
    }
}

#define NSS 8

/* Small files copied by the server, many in flight (issue 9: smb -> smb
 * trees). */
START_TEST(test_server_side)
{
    cx c;
    cx_open(&c);
    smbw_create_params p = new_file_params();
    char name[NSS][32], text[NSS][256];
    size_t len[NSS];
    result r[2 * NSS];
    memset(r, 0, sizeof r);
    for (int i = 0; i < NSS; i++) {
        file_text(i, text[i], sizeof text[i], &len[i]);
        snprintf(name[i], sizeof name[i], "ss-src%d.txt", i);
        IT_OK(c.x.conn,
              smbw_file_create_write_async(c.x.tree, name[i], &p, text[i], len[i], file_cb, &r[i]));
    }
    wait_all(&c, r, NSS);
    for (int i = 0; i < NSS; i++) {
        ck_assert_int_eq(r[i].err, 0);
        IT_OK(c.x.conn, smbw_file_free(r[i].f));
    }

    /* Every open in flight at once: 2 requests per compound, 2 compounds
     * per file. */
    memset(r, 0, sizeof r);
    trace_reset(&c);
    for (int i = 0; i < NSS; i++) {
        char dn[32];
        snprintf(dn, sizeof dn, "ss-dst%d.txt", i);
        IT_OK(c.x.conn, smbw_file_open_source_async(c.x.tree, name[i], file_cb, &r[i]));
        IT_OK(c.x.conn, smbw_file_create_write_provisional_async(c.x.tree, dn, &p, NULL, 0, file_cb,
                                                                 &r[NSS + i]));
    }
    wait_all(&c, r, 2 * NSS);
    ck_assert_int_eq(c.t.sent, 4 * NSS);
    ck_assert_int_eq(c.t.compound, 2 * NSS);
    ck_assert_int_eq(c.t.sent_before_answer, 4 * NSS);
    for (int i = 0; i < 2 * NSS; i++) {
        ck_assert_msg(r[i].err == 0, "open %d: %s", i, smbw_error_name(r[i].err));
        ck_assert_ptr_nonnull(r[i].f);
    }
    copied k[NSS];
    memset(k, 0, sizeof k);
    trace_reset(&c);
    for (int i = 0; i < NSS; i++)
        IT_OK(c.x.conn, smbw_copy_chunk_async(r[i].f, r[NSS + i].f, 0, 0, (uint32_t)len[i], false,
                                              copied_cb, &k[i]));
    wait_copied(&c, k, NSS);
    ck_assert_int_eq(c.t.sent_before_answer, NSS);
    result cm[NSS];
    memset(cm, 0, sizeof cm);
    smbw_commit keep = SMBW_COMMIT_INIT;
    keep.keep = true;
    for (int i = 0; i < NSS; i++) {
        ck_assert_msg(k[i].err == 0, "copy %d: %s", i, smbw_error_name(k[i].err));
        ck_assert_uint_eq(k[i].bytes, len[i]);
        IT_OK(c.x.conn, smbw_file_commit_async(r[NSS + i].f, &keep, commit_cb, &cm[i]));
    }
    wait_all(&c, cm, NSS);
    for (int i = 0; i < NSS; i++) {
        ck_assert_int_eq(cm[i].err, 0);
        char dn[32];
        snprintf(dn, sizeof dn, "ss-dst%d.txt", i);
        size_t got = 0;
        void *back = it_server_read(dn, &got);
        ck_assert_uint_eq(got, len[i]);
        ck_assert_int_eq(memcmp(back, text[i], got), 0);
        free(back);
    }

    /* Start errors: nothing sent, no callback. */
    copied none = {0};
    ck_assert_int_eq(smbw_copy_chunk_async(NULL, r[0].f, 0, 0, 1, false, copied_cb, &none),
                     SMBW_EINVAL);
    ck_assert_int_eq(smbw_copy_chunk_async(r[0].f, r[1].f, 0, 0, 0, false, copied_cb, &none),
                     SMBW_EINVAL);
    ck_assert_int_eq(smbw_file_open_source_async(c.x.tree, NULL, file_cb, &r[0]), SMBW_EINVAL);
    /* A source opened without its key: SMBW_ENOTSUP. */
    smbw_file *plain;
    IT_OK(c.x.conn, smbw_file_open(&plain, c.x.tree, name[1], SMBW_O_RDONLY));
    ck_assert_int_eq(smbw_copy_chunk_async(plain, r[1].f, 0, 0, 1, false, copied_cb, &none),
                     SMBW_ENOTSUP);
    IT_OK(c.x.conn, smbw_file_free(plain));
    /* A chunk over Samba's limit (1 MiB per chunk): refused with its
     * status; the destination was opened for reading too: the FSCTL that
     * needs it (copychunk_read). */
    smbw_file *dst;
    IT_OK(c.x.conn, smbw_file_open(&dst, c.x.tree, "ss-big.txt", SMBW_O_RDWR | SMBW_O_CREAT));
    memset(k, 0, sizeof k);
    IT_OK(c.x.conn, smbw_copy_chunk_async(r[0].f, dst, 0, 0, 4u << 20, true, copied_cb, &k[0]));
    wait_copied(&c, k, 1);
    ck_assert_int_ne(k[0].err, 0);
    ck_assert_uint_eq(k[0].status, SMBW_STATUS_INVALID_PARAMETER);
    ck_assert_uint_eq(k[0].bytes, 0);
    IT_OK(c.x.conn, smbw_file_free(dst));
    ck_assert_int_eq(none.calls, 0);
    for (int i = 0; i < NSS; i++)
        IT_OK(c.x.conn, smbw_file_free(r[i].f));

    /* A missing source: the CREATE's error, f NULL. */
    memset(r, 0, sizeof r);
    IT_OK(c.x.conn, smbw_file_open_source_async(c.x.tree, "ss-missing.txt", file_cb, &r[0]));
    wait_all(&c, r, 1);
    ck_assert_int_eq(r[0].err, SMBW_ENOENT);
    ck_assert_ptr_null(r[0].f);
    it_close(&c.x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("async_files");
    TCase *tc = tcase_create("async_files");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_many_files);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_free_in_flight);
    tcase_add_test(tc, test_provisional);
    tcase_add_test(tc, test_server_side);
    suite_add_tcase(s, tc);
    return it_run(s);
}
