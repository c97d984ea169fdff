/* The compounded whole-file calls against a real Samba (issue 9: few round
 * trips per small file):
 *  - smbw_file_create_write: CREATE and the first WRITE in one compound (the
 *    WRITE sent as a related member), the rest of a larger file after it;
 *    a failed CREATE leaves *out NULL and writes nothing, a WRITE refused
 *    after a CREATE that made the file leaves it open in *out;
 *  - smbw_file_commit: SET_INFO basic, SET_INFO rename and CLOSE in one
 *    compound; a refused rename still closes the file (it can be deleted
 *    right after, which an open handle without FILE_SHARE_DELETE forbids).
 *  - smbw_file_create_read: CREATE and a READ in one compound;
 * Round trips are counted from the library's trace: every request that is
 * not sent as a later member of a compound starts one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#include <smbwire/copy.h>
#include <smbwire/fscc.h>

/* Requests sent, and those sent as a member of a compound after the first. */
typedef struct trace_count {
    int sent, compound;
} trace_count;

static void count_log(void *ud, enum smbw_log_level level, const char *msg)
{
    (void)level;
    trace_count *t = ud;
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
    c->t.sent = c->t.compound = 0;
}

/* Round trips since the last reset: requests that did not ride along. */
static int round_trips(cx *c)
{
    int n = c->t.sent - c->t.compound;
    c->t.sent = c->t.compound = 0;
    return n;
}

static smbw_create_params new_file_params(void)
{
    smbw_create_params p;
    memset(&p, 0, sizeof p);
    /* read/write/append data, read/write attributes, DELETE, READ_CONTROL,
     * SYNCHRONIZE */
    p.desired_access = 0x00130187u;
    p.share_access = 0x1u;    /* FILE_SHARE_READ only */
    p.create_disposition = 2; /* FILE_CREATE */
    p.create_options = 0x40u; /* FILE_NON_DIRECTORY_FILE */
    p.impersonation_level = 2;
    return p;
}

static void expect_server_file(const char *rel, const void *data, size_t len)
{
    size_t got = 0;
    void *back = it_server_read(rel, &got);
    ck_assert_uint_eq(got, len);
    ck_assert_int_eq(memcmp(back, data, len), 0);
    free(back);
}

START_TEST(test_create_write_small)
{
    cx c;
    cx_open(&c);
    const char text[] = "six bytes and a little more";
    smbw_create_params p = new_file_params();
    smbw_file *f = NULL;
    /* No directory cw: the CREATE fails, nothing is made. */
    ck_assert_int_lt(smbw_file_create_write(&f, c.x.tree, "cw/small.txt", &p, text, sizeof text),
                     0);
    ck_assert_ptr_null(f);
    round_trips(&c);
    IT_OK(c.x.conn, smbw_mkdir(c.x.tree, "cw"));
    round_trips(&c);
    IT_OK(c.x.conn, smbw_file_create_write(&f, c.x.tree, "cw/small.txt", &p, text, sizeof text));
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(round_trips(&c), 1);
    IT_OK(c.x.conn, smbw_file_free(f));
    expect_server_file("cw/small.txt", text, sizeof text);
    /* FILE_CREATE on an existing name: the server's collision, *out NULL,
     * the file as it was. */
    f = (smbw_file *)1;
    IT_ERR(c.x.conn, smbw_file_create_write(&f, c.x.tree, "cw/small.txt", &p, "XX", 2),
           SMBW_EEXIST);
    ck_assert_ptr_null(f);
    ck_assert_uint_eq(smbw_last_status(c.x.conn), SMBW_STATUS_OBJECT_NAME_COLLISION);
    expect_server_file("cw/small.txt", text, sizeof text);
    /* Made without write access: the CREATE succeeds, the WRITE is refused,
     * and the file stays open for the caller to remove. */
    smbw_create_params ro = p;
    ro.desired_access = 0x00010081u; /* read data, read attributes, DELETE */
    f = NULL;
    IT_ERR(c.x.conn, smbw_file_create_write(&f, c.x.tree, "cw/ro.txt", &ro, "XX", 2), SMBW_EACCES);
    ck_assert_ptr_nonnull(f);
    struct stat rst;
    ck_assert_int_eq(it_server_stat("cw/ro.txt", &rst), 0);
    ck_assert_int_eq((int)rst.st_size, 0);
    IT_OK(c.x.conn, smbw_file_delete_on_close(f));
    IT_OK(c.x.conn, smbw_file_free(f));
    ck_assert_int_eq(it_server_stat("cw/ro.txt", &rst), -1);
    it_close(&c.x);
}
END_TEST

START_TEST(test_create_write_larger_than_one_write)
{
    cx c;
    cx_open(&c);
    size_t len = (size_t)smbw_conn_max_write(c.x.conn) * 2 + 12345;
    uint8_t *data = malloc(len);
    ck_assert_ptr_nonnull(data);
    it_random(data, len);
    smbw_create_params p = new_file_params();
    smbw_file *f = NULL;
    IT_OK(c.x.conn, smbw_file_create_write(&f, c.x.tree, "big.bin", &p, data, len));
    /* The file position follows the data (sequential writes go on from it). */
    IT_OK(c.x.conn, smbw_file_write(f, "tail", 4));
    IT_OK(c.x.conn, smbw_file_free(f));
    uint8_t *want = malloc(len + 4);
    ck_assert_ptr_nonnull(want);
    memcpy(want, data, len);
    memcpy(want + len, "tail", 4);
    expect_server_file("big.bin", want, len + 4);
    free(want);
    free(data);
    it_close(&c.x);
}
END_TEST

START_TEST(test_commit_times_and_rename)
{
    cx c;
    cx_open(&c);
    smbw_create_params p = new_file_params();
    smbw_file *f = NULL;
    IT_OK(c.x.conn, smbw_file_create_write(&f, c.x.tree, ".part", &p, "data", 4));
    /* Samba (hide dot files, store dos attributes) stores a new dot file as
     * hidden; the attributes given to commit must replace that. */
    smbw_stat sst;
    IT_OK(c.x.conn, smbw_stat_path(c.x.tree, ".part", &sst));
    ck_assert_msg(sst.attributes & SMBW_FILE_ATTRIBUTE_HIDDEN, "attributes 0x%x", sst.attributes);
    round_trips(&c);
    smbw_commit cm = SMBW_COMMIT_INIT;
    cm.set_basic = true;
    cm.write = it_filetime(1000000000); /* 2001-09-09 */
    cm.access = cm.write;
    cm.attributes = SMBW_FILE_ATTRIBUTE_ARCHIVE;
    cm.rename_to = "final.txt";
    smbw_commit_step step = SMBW_COMMIT_REQUEST;
    IT_OK(c.x.conn, smbw_file_commit(f, &cm, &step));
    ck_assert_int_eq(round_trips(&c), 1);
    ck_assert_int_eq(step, SMBW_COMMIT_OK);
    struct stat st;
    ck_assert_int_eq(it_server_stat(".part", &st), -1);
    ck_assert_int_eq(it_server_stat("final.txt", &st), 0);
    ck_assert_int_eq((long long)st.st_mtime, 1000000000LL);
    expect_server_file("final.txt", "data", 4);
    IT_OK(c.x.conn, smbw_stat_path(c.x.tree, "final.txt", &sst));
    ck_assert_uint_eq(sst.attributes & (SMBW_FILE_ATTRIBUTE_HIDDEN | SMBW_FILE_ATTRIBUTE_ARCHIVE),
                      SMBW_FILE_ATTRIBUTE_ARCHIVE);
    /* What the CREATE answered, without a request: the same as a stat. */
    smbw_file *rf = NULL;
    IT_OK(c.x.conn, smbw_file_open(&rf, c.x.tree, "final.txt", SMBW_O_RDONLY));
    round_trips(&c);
    smbw_stat ost;
    IT_OK(c.x.conn, smbw_file_open_stat(rf, &ost));
    ck_assert_int_eq(round_trips(&c), 0);
    IT_OK(c.x.conn, smbw_file_stat(rf, &sst));
    ck_assert_uint_eq(ost.size, 4);
    ck_assert_uint_eq(ost.size, sst.size);
    ck_assert_uint_eq(ost.last_write_time, sst.last_write_time);
    ck_assert_uint_eq(ost.creation_time, sst.creation_time);
    ck_assert_uint_eq(ost.attributes, sst.attributes);
    ck_assert(!ost.is_dir);
    ck_assert_int_eq(smbw_file_open_stat(NULL, &ost), SMBW_EINVAL);
    /* The metadata at the close, in the CLOSE answer: one round trip. */
    round_trips(&c);
    smbw_stat cst;
    bool got = false;
    IT_OK(c.x.conn, smbw_file_free_stat(rf, &cst, &got));
    ck_assert_int_eq(round_trips(&c), 1);
    ck_assert(got);
    ck_assert_uint_eq(cst.size, 4);
    ck_assert_uint_eq(cst.last_write_time, sst.last_write_time);
    ck_assert_uint_eq(cst.attributes, sst.attributes);
    /* A plain close through commit (NULL and nothing asked). */
    IT_OK(c.x.conn, smbw_file_create_write(&f, c.x.tree, "plain.txt", &p, "x", 1));
    IT_OK(c.x.conn, smbw_file_commit(f, NULL, NULL));
    IT_OK(c.x.conn, smbw_unlink(c.x.tree, "plain.txt"));
    it_close(&c.x);
}
END_TEST

START_TEST(test_commit_refused_rename_closes)
{
    cx c;
    cx_open(&c);
    smbw_create_params p = new_file_params();
    smbw_file *f = NULL;
    IT_OK(c.x.conn, smbw_file_create_write(&f, c.x.tree, "taken.txt", &p, "old", 3));
    IT_OK(c.x.conn, smbw_file_free(f));
    IT_OK(c.x.conn, smbw_file_create_write(&f, c.x.tree, ".new", &p, "new", 3));
    smbw_commit cm = SMBW_COMMIT_INIT;
    cm.rename_to = "taken.txt";
    cm.replace = false;
    round_trips(&c);
    smbw_commit_step step = SMBW_COMMIT_OK;
    IT_ERR(c.x.conn, smbw_file_commit(f, &cm, &step), SMBW_EEXIST);
    ck_assert_int_eq(round_trips(&c), 1);
    ck_assert_int_eq(step, SMBW_COMMIT_RENAME);
    ck_assert_uint_eq(smbw_last_status(c.x.conn), SMBW_STATUS_OBJECT_NAME_COLLISION);
    ck_assert_msg(strstr(smbw_conn_errmsg(c.x.conn), "rename to taken.txt") != NULL, "%s",
                  smbw_conn_errmsg(c.x.conn));
    expect_server_file("taken.txt", "old", 3);
    expect_server_file(".new", "new", 3);
    /* Closed: the handle allowed no delete while open. */
    IT_OK(c.x.conn, smbw_unlink(c.x.tree, ".new"));
    /* An invalid target: nothing sent, the file closed all the same. */
    IT_OK(c.x.conn, smbw_file_create_write(&f, c.x.tree, ".new2", &p, "n", 1));
    cm.rename_to = "bad\xff\xfename"; /* not UTF-8 */
    step = SMBW_COMMIT_OK;
    ck_assert_int_lt(smbw_file_commit(f, &cm, &step), 0);
    ck_assert_int_eq(step, SMBW_COMMIT_RENAME);
    IT_OK(c.x.conn, smbw_unlink(c.x.tree, ".new2"));
    /* A struct not started from SMBW_COMMIT_INIT: refused, the file closed. */
    IT_OK(c.x.conn, smbw_file_create_write(&f, c.x.tree, ".new3", &p, "n", 1));
    smbw_commit zero;
    memset(&zero, 0, sizeof zero);
    zero.rename_to = "never.txt";
    ck_assert_int_eq(smbw_file_commit(f, &zero, NULL), SMBW_EINVAL);
    IT_OK(c.x.conn, smbw_unlink(c.x.tree, ".new3"));
    struct stat nst;
    ck_assert_int_eq(it_server_stat("never.txt", &nst), -1);
    it_close(&c.x);
}
END_TEST

START_TEST(test_create_read)
{
    cx c;
    cx_open(&c);
    smbw_create_params p = new_file_params();
    smbw_file *f = NULL;
    IT_OK(c.x.conn, smbw_file_create_write(&f, c.x.tree, "r.txt", &p, "0123456789", 10));
    IT_OK(c.x.conn, smbw_file_free(f));
    IT_OK(c.x.conn, smbw_file_create_write(&f, c.x.tree, "empty.txt", &p, NULL, 0));
    IT_OK(c.x.conn, smbw_file_free(f));
    smbw_create_params rd;
    smbw_create_params_from_flags(&rd, SMBW_O_RDONLY);
    char buf[64];
    size_t n = 99;
    /* The whole file and its metadata in one round trip. */
    round_trips(&c);
    IT_OK(c.x.conn, smbw_file_create_read(&f, c.x.tree, "r.txt", &rd, buf, sizeof buf, &n));
    ck_assert_int_eq(round_trips(&c), 1);
    ck_assert_uint_eq(n, 10);
    ck_assert_int_eq(memcmp(buf, "0123456789", 10), 0);
    smbw_stat st;
    IT_OK(c.x.conn, smbw_file_open_stat(f, &st));
    ck_assert_uint_eq(st.size, 10);
    IT_OK(c.x.conn, smbw_file_free(f));
    /* Less than the file: what was asked. */
    IT_OK(c.x.conn, smbw_file_create_read(&f, c.x.tree, "r.txt", &rd, buf, 4, &n));
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(memcmp(buf, "0123", 4), 0);
    IT_OK(c.x.conn, smbw_file_free(f));
    /* An empty file: STATUS_END_OF_FILE is 0 bytes, not an error. */
    n = 99;
    IT_OK(c.x.conn, smbw_file_create_read(&f, c.x.tree, "empty.txt", &rd, buf, sizeof buf, &n));
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_nonnull(f);
    IT_OK(c.x.conn, smbw_file_free(f));
    /* No such file: the CREATE's error, nothing open. */
    f = (smbw_file *)1;
    IT_ERR(c.x.conn, smbw_file_create_read(&f, c.x.tree, "none.txt", &rd, buf, sizeof buf, &n),
           SMBW_ENOENT);
    ck_assert_ptr_null(f);
    /* Opened without read access: the READ is refused, the file stays open. */
    smbw_create_params na = rd;
    na.desired_access = 0x00100080u; /* read attributes, SYNCHRONIZE */
    f = NULL;
    IT_ERR(c.x.conn, smbw_file_create_read(&f, c.x.tree, "r.txt", &na, buf, sizeof buf, &n),
           SMBW_EACCES);
    ck_assert_ptr_nonnull(f);
    IT_OK(c.x.conn, smbw_file_free(f));
    ck_assert_int_eq(smbw_file_create_read(&f, c.x.tree, "r.txt", &rd, buf, 1, NULL), SMBW_EINVAL);
    it_close(&c.x);
}
END_TEST

START_TEST(test_create_ioctl_and_tree_ioctl)
{
    cx c;
    cx_open(&c);
    smbw_create_params p = new_file_params();
    smbw_file *f = NULL;
    IT_OK(c.x.conn, smbw_file_create_write(&f, c.x.tree, "k.bin", &p, "key", 3));
    IT_OK(c.x.conn, smbw_file_free(f));
    smbw_create_params rd;
    smbw_create_params_from_flags(&rd, SMBW_O_RDONLY);
    /* CREATE + FSCTL_SRV_REQUEST_RESUME_KEY in one round trip: a 24-byte
     * key, a context length and the context (MS-SMB2 2.2.32.3). */
    void *out = NULL;
    size_t n = 0;
    round_trips(&c);
    IT_OK(c.x.conn,
          smbw_file_create_ioctl(&f, c.x.tree, "k.bin", &rd, SMBW_FSCTL_SRV_REQUEST_RESUME_KEY,
                                 NULL, 0, 32, &out, &n));
    ck_assert_int_eq(round_trips(&c), 1);
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_ge(n, 28);
    free(out);
    IT_OK(c.x.conn, smbw_file_free(f));
    /* No such file: the CREATE's error, nothing open. */
    f = (smbw_file *)1;
    ck_assert_int_lt(smbw_file_create_ioctl(&f, c.x.tree, "none.bin", &rd,
                                            SMBW_FSCTL_SRV_REQUEST_RESUME_KEY, NULL, 0, 32, NULL,
                                            NULL),
                     0);
    ck_assert_ptr_null(f);
    /* The IOCTL refused (an FSCTL no server knows): the file stays open. */
    f = NULL;
    ck_assert_int_lt(
        smbw_file_create_ioctl(&f, c.x.tree, "k.bin", &rd, 0x00ff0000u, NULL, 0, 32, NULL, NULL),
        0);
    ck_assert_ptr_nonnull(f);
    IT_OK(c.x.conn, smbw_file_free(f));
    /* smbw_file_open_source: the key with the open, and a copy from it
     * asks for none (one request: the copychunk). */
    round_trips(&c);
    IT_OK(c.x.conn, smbw_file_open_source(&f, c.x.tree, "k.bin"));
    ck_assert_int_eq(round_trips(&c), 1);
    smbw_file *d = NULL;
    IT_OK(c.x.conn, smbw_file_create(&d, c.x.tree, "k2.bin", &p));
    smbw_copy_opts co = SMBW_COPY_OPTS_INIT;
    co.method = SMBW_COPY_COPYCHUNK;
    smbw_copy_stats cs;
    IT_OK(c.x.conn, smbw_copy_range(f, d, 0, 0, 3, &co, &cs));
    ck_assert_uint_eq(cs.requests, 1);
    IT_OK(c.x.conn, smbw_file_free(d));
    IT_OK(c.x.conn, smbw_file_free(f));
    expect_server_file("k2.bin", "key", 3);
    IT_OK(c.x.conn, smbw_unlink(c.x.tree, "k2.bin"));
    ck_assert_int_lt(smbw_file_open_source(&f, c.x.tree, "none.bin"), 0);
    ck_assert_ptr_null(f);
    /* An FSCTL on the tree, naming no open: answered (with data or the
     * server's refusal), never a local error. */
    int rc = smbw_tree_ioctl(c.x.tree, 0x001401FCu /* QUERY_NETWORK_INTERFACE_INFO */, NULL, 0,
                             65536, &out, &n);
    ck_assert_msg(rc == 0 || smbw_last_status(c.x.conn) != 0, "rc %d: %s", rc,
                  smbw_conn_errmsg(c.x.conn));
    if (rc == 0)
        free(out);
    ck_assert_int_eq(
        smbw_tree_ioctl(NULL, SMBW_FSCTL_VALIDATE_NEGOTIATE_INFO, NULL, 0, 0, NULL, NULL),
        SMBW_EINVAL);
    IT_OK(c.x.conn, smbw_unlink(c.x.tree, "k.bin"));
    it_close(&c.x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("compound");
    TCase *tc = tcase_create("compound");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_create_write_small);
    tcase_add_test(tc, test_create_write_larger_than_one_write);
    tcase_add_test(tc, test_commit_times_and_rename);
    tcase_add_test(tc, test_commit_refused_rename_closes);
    tcase_add_test(tc, test_create_read);
    tcase_add_test(tc, test_create_ioctl_and_tree_ioctl);
    suite_add_tcase(s, tc);
    return it_run(s);
}
