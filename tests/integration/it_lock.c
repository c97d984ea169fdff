/* Byte-range locks against a real Samba (smbw_file_lock, smbw_file_lock_async):
 *  - a lock that conflicts with another open's is refused at once with
 *    SMBW_LOCK_FAIL_IMMEDIATELY (STATUS_LOCK_NOT_GRANTED or
 *    STATUS_FILE_LOCK_CONFLICT), one that does not overlap is granted;
 *  - unlocking a range not locked is the server's error; invalid flag
 *    combinations are refused before anything is sent;
 *  - a waiting lock stays pending until the conflicting lock goes (from
 *    another connection), then completes through its callback;
 *  - a waiting lock given up with smbw_conn_cancel completes with
 *    SMBW_ECANCELED. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

typedef struct lk {
    bool done;
    int err;
    uint32_t status;
} lk;

static void lock_cb(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    (void)data;
    (void)len;
    lk *k = ud;
    k->done = true;
    k->err = err;
    k->status = status;
}

/* Services c for up to ms; returns whether k completed. */
static bool wait_for(smbw_conn *c, lk *k, int ms)
{
    for (int waited = 0; !k->done && waited < ms; waited += 50)
        ck_assert_int_eq(smbw_conn_wait(&c, 1, 50, NULL), 0);
    return k->done;
}

START_TEST(test_locks)
{
    it_ctx a, b;
    it_open(&a);
    it_open(&b);
    smbw_file *fa = NULL, *fb = NULL;
    char data[100];
    memset(data, 'x', sizeof data);
    IT_OK(a.conn, smbw_file_open(&fa, a.tree, "lock.bin", SMBW_O_RDWR | SMBW_O_CREAT));
    IT_OK(a.conn, smbw_file_pwrite(fa, data, sizeof data, 0));
    IT_OK(b.conn, smbw_file_open(&fb, b.tree, "lock.bin", SMBW_O_RDWR));

    /* Conflict refused at once; a range beside it granted. */
    IT_OK(a.conn, smbw_file_lock(fa, 0, 50, SMBW_LOCK_EXCLUSIVE | SMBW_LOCK_FAIL_IMMEDIATELY));
    ck_assert_int_lt(smbw_file_lock(fb, 10, 5, SMBW_LOCK_SHARED | SMBW_LOCK_FAIL_IMMEDIATELY), 0);
    uint32_t st = smbw_last_status(b.conn);
    ck_assert_msg(st == SMBW_STATUS_LOCK_NOT_GRANTED || st == SMBW_STATUS_FILE_LOCK_CONFLICT,
                  "status %s", smbw_status_name(st));
    IT_OK(b.conn, smbw_file_lock(fb, 60, 10, SMBW_LOCK_EXCLUSIVE | SMBW_LOCK_FAIL_IMMEDIATELY));
    IT_OK(b.conn, smbw_file_lock(fb, 60, 10, SMBW_LOCK_UNLOCK));
    /* Unlocking what is not locked: the server says so. */
    ck_assert_int_lt(smbw_file_lock(fb, 60, 10, SMBW_LOCK_UNLOCK), 0);
    ck_assert_uint_eq(smbw_last_status(b.conn), SMBW_STATUS_RANGE_NOT_LOCKED);
    /* Invalid combinations: refused here. */
    ck_assert_int_eq(smbw_file_lock(fb, 0, 1, SMBW_LOCK_UNLOCK | SMBW_LOCK_SHARED), SMBW_EINVAL);
    ck_assert_int_eq(smbw_file_lock(fb, 0, 1, 0), SMBW_EINVAL);
    ck_assert_int_eq(smbw_file_lock(fb, 0, 1, SMBW_LOCK_SHARED | SMBW_LOCK_EXCLUSIVE), SMBW_EINVAL);
    ck_assert_int_eq(smbw_file_lock_async(fb, 0, 1, SMBW_LOCK_SHARED, NULL, NULL), SMBW_EINVAL);
    lk bad = {0};
    ck_assert_int_eq(smbw_file_lock_async(fb, 0, 1, 0, lock_cb, &bad), SMBW_EINVAL);

    /* A waiting lock: pending while a's lock stands, granted once it goes. */
    lk k = {0};
    IT_OK(b.conn, smbw_file_lock_async(fb, 0, 10, SMBW_LOCK_EXCLUSIVE, lock_cb, &k));
    ck_assert_msg(!wait_for(b.conn, &k, 500), "granted while the conflicting lock stood");
    ck_assert_uint_gt(smbw_conn_pending(b.conn), 0);
    IT_OK(a.conn, smbw_file_lock(fa, 0, 50, SMBW_LOCK_UNLOCK));
    ck_assert_msg(wait_for(b.conn, &k, 10000), "never granted");
    ck_assert_int_eq(k.err, 0);
    /* Now a waits for b's lock, and gives up. */
    lk c = {0};
    IT_OK(a.conn, smbw_file_lock_async(fa, 5, 10, SMBW_LOCK_SHARED, lock_cb, &c));
    ck_assert(!wait_for(a.conn, &c, 300));
    ck_assert_int_ge(smbw_conn_cancel(a.conn), 1);
    ck_assert_msg(wait_for(a.conn, &c, 10000), "the cancelled lock never completed");
    ck_assert_int_eq(c.err, SMBW_ECANCELED);
    IT_OK(b.conn, smbw_file_lock(fb, 0, 10, SMBW_LOCK_UNLOCK));

    IT_OK(a.conn, smbw_file_free(fa));
    IT_OK(b.conn, smbw_file_free(fb));
    IT_OK(a.conn, smbw_unlink(a.tree, "lock.bin"));
    it_close(&b);
    it_close(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lock");
    TCase *tc = tcase_create("lock");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_locks);
    suite_add_tcase(s, tc);
    return it_run(s);
}
