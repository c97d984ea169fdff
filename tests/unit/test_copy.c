/* The copy engine against a scripted server on a socketpair: partial
 * copychunk answers, odd and hostile limits, 64-bit offsets, fallback to
 * streaming. The "server" is a thread that decodes just enough of each
 * request and answers per scenario; it records every chunk it "copied". */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/core/core.h"
#include "lib/util/status.h"
#include "smbwire/copy.h"
#include "tests/common/rawbytes.h"

enum scenario {
    SC_NORMAL,          /* Samba-like: limits 256 / 1 MiB / 16 MiB */
    SC_PARTIAL,         /* every request: only part of the bytes written */
    SC_ODD_LIMITS,      /* limits 3 chunks, 65536+512 bytes, 150000 per request */
    SC_CLAIMS_TOO_MUCH, /* answers more bytes than asked */
    SC_ZERO_LIMITS,     /* limits answer with zeros */
    SC_INVALID_ALWAYS,  /* STATUS_INVALID_PARAMETER within its own limits */
    SC_NO_PROGRESS,     /* success with 0 bytes, forever */
    SC_UNSUPPORTED,     /* resume key: STATUS_INVALID_DEVICE_REQUEST */
    SC_CC_UNSUPPORTED,  /* copychunk itself: STATUS_NOT_SUPPORTED */
};

typedef struct rec {
    uint64_t src, dst, len;
} rec;

typedef struct server {
    int fd;
    enum scenario sc;
    uint64_t src_size;
    rec *recs;
    size_t nrecs, cap;
    uint64_t stream_written;
    int copychunk_requests;
    int bad;
} server;

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

static void respond(server *s, const uint8_t *req, uint32_t status, const uint8_t *body,
                    size_t blen)
{
    uint8_t *m = calloc(1, 4 + 64 + blen);
    size_t len = 64 + blen;
    m[1] = (uint8_t)(len >> 16);
    m[2] = (uint8_t)(len >> 8);
    m[3] = (uint8_t)len;
    uint8_t *h = m + 4;
    memcpy(h, req, 64);
    put_u32(h + 8, status);
    put_u16(h + 14, 64);
    put_u32(h + 16, SMB2_FLAGS_SERVER_TO_REDIR);
    memcpy(h + 64, body, blen);
    wr(s->fd, m, 4 + len);
    free(m);
}

static void error_rsp(server *s, const uint8_t *req, uint32_t status)
{
    uint8_t b[9] = {9, 0};
    respond(s, req, status, b, 9);
}

static void ioctl_rsp(server *s, const uint8_t *req, uint32_t status, const uint8_t *out,
                      size_t olen)
{
    uint8_t b[48 + 64];
    memset(b, 0, sizeof b);
    put_u16(b, 49);
    put_u32(b + 4, get_u32(req + 64 + 4));
    memcpy(b + 8, req + 64 + 8, 16);
    put_u32(b + 24, 64 + 48); /* InputOffset */
    put_u32(b + 32, 64 + 48); /* OutputOffset */
    put_u32(b + 36, (uint32_t)olen);
    memcpy(b + 48, out, olen);
    respond(s, req, status, b, 48 + olen);
}

static void cc_rsp(server *s, const uint8_t *req, uint32_t status, uint32_t a, uint32_t b,
                   uint32_t c)
{
    uint8_t o[12];
    put_u32(o, a);
    put_u32(o + 4, b);
    put_u32(o + 8, c);
    ioctl_rsp(s, req, status, o, 12);
}

static void record(server *s, uint64_t src, uint64_t dst, uint64_t len)
{
    if (s->nrecs == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->recs = realloc(s->recs, s->cap * sizeof *s->recs);
    }
    s->recs[s->nrecs++] = (rec){src, dst, len};
}

static void do_copychunk(server *s, const uint8_t *req, size_t len)
{
    s->copychunk_requests++;
    uint32_t in_off = get_u32(req + 64 + 24), in_len = get_u32(req + 64 + 28);
    if (in_off + in_len > len || in_len < 32) {
        s->bad = 1;
        error_rsp(s, req, SMBW_STATUS_INVALID_PARAMETER);
        return;
    }
    const uint8_t *in = req + in_off;
    uint32_t n = get_u32(in + 24);
    if (32 + (uint64_t)n * 24 != in_len) {
        s->bad = 1;
        error_rsp(s, req, SMBW_STATUS_INVALID_PARAMETER);
        return;
    }
    uint32_t maxn = 256, maxc = 1 << 20, maxt = 16 << 20;
    if (s->sc == SC_ODD_LIMITS) {
        maxn = 3;
        maxc = 65536 + 512;
        maxt = 150000;
    }
    uint64_t total = 0, biggest = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l = get_u32(in + 32 + 24 * i + 16);
        total += l;
        if (l > biggest)
            biggest = l;
        if (l == 0)
            biggest = UINT32_MAX; /* zero-length chunks are invalid */
    }
    if (s->sc == SC_ZERO_LIMITS) {
        cc_rsp(s, req, SMBW_STATUS_INVALID_PARAMETER, 0, 0, 0);
        return;
    }
    if (s->sc == SC_INVALID_ALWAYS) {
        cc_rsp(s, req, SMBW_STATUS_INVALID_PARAMETER, 256, 1 << 20, 16 << 20);
        return;
    }
    if (s->sc == SC_CC_UNSUPPORTED) {
        error_rsp(s, req, SMBW_STATUS_NOT_SUPPORTED);
        return;
    }
    if (n > maxn || biggest > maxc || total > maxt) {
        cc_rsp(s, req, SMBW_STATUS_INVALID_PARAMETER, maxn, maxc, maxt);
        return;
    }
    if (s->sc == SC_CLAIMS_TOO_MUCH) {
        cc_rsp(s, req, SMBW_STATUS_SUCCESS, n, 0, (uint32_t)total + 1);
        return;
    }
    if (s->sc == SC_NO_PROGRESS) {
        cc_rsp(s, req, SMBW_STATUS_SUCCESS, 0, 0, 0);
        return;
    }
    /* write chunks in order; SC_PARTIAL stops halfway through the request */
    uint64_t budget = s->sc == SC_PARTIAL ? (total / 2 + 1) : total;
    uint64_t written = 0;
    uint32_t full = 0, part = 0;
    for (uint32_t i = 0; i < n && written < budget; i++) {
        const uint8_t *c = in + 32 + 24 * i;
        uint64_t so = get_u64(c), to = get_u64(c + 8);
        uint32_t l = get_u32(c + 16);
        if (so + l > s->src_size) {
            cc_rsp(s, req, SMBW_STATUS_INVALID_VIEW_SIZE, full, 0, (uint32_t)written);
            return;
        }
        uint64_t w = l;
        if (w > budget - written)
            w = budget - written;
        record(s, so, to, w);
        written += w;
        if (w == l)
            full++;
        else
            part = (uint32_t)w;
    }
    cc_rsp(s, req, SMBW_STATUS_SUCCESS, full, part, (uint32_t)written);
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
        uint16_t cmd = get_u16(req + 12);
        uint32_t ctl = get_u32(req + 64 + 4);
        if (cmd == SMB2_QUERY_INFO && req[64 + 2] == SMB2_0_INFO_FILE) {
            uint8_t b[8 + 56];
            memset(b, 0, sizeof b);
            put_u16(b, 9);
            put_u16(b + 2, 64 + 8);
            put_u32(b + 4, 56);
            put_u64(b + 8 + 40, s->src_size); /* EndOfFile */
            put_u32(b + 8 + 48, SMBW_FILE_ATTRIBUTE_ARCHIVE);
            respond(s, req, 0, b, sizeof b);
        } else if (cmd == SMB2_QUERY_INFO) {
            error_rsp(s, req, SMBW_STATUS_NOT_SUPPORTED); /* no fs info: no clone */
        } else if (cmd == SMB2_IOCTL && ctl == SMBW_FSCTL_SRV_REQUEST_RESUME_KEY) {
            if (s->sc == SC_UNSUPPORTED) {
                error_rsp(s, req, SMBW_STATUS_INVALID_DEVICE_REQUEST);
            } else {
                uint8_t k[28];
                memset(k, 0x5a, 24);
                put_u32(k + 24, 0);
                ioctl_rsp(s, req, 0, k, 28);
            }
        } else if (cmd == SMB2_IOCTL && ctl == SMBW_FSCTL_SRV_COPYCHUNK_WRITE) {
            do_copychunk(s, req, len);
        } else if (cmd == SMB2_READ) {
            uint32_t l = get_u32(req + 64 + 4);
            uint8_t *b = calloc(1, 16 + l);
            put_u16(b, 17);
            b[2] = 64 + 16;
            put_u32(b + 4, l);
            respond(s, req, 0, b, 16 + l);
            free(b);
        } else if (cmd == SMB2_WRITE) {
            uint32_t l = get_u32(req + 64 + 4);
            s->stream_written += l;
            uint8_t b[16] = {17, 0};
            put_u32(b + 4, l);
            respond(s, req, 0, b, 16);
        } else if (cmd == SMB2_SET_INFO) {
            uint8_t b[2] = {2, 0};
            respond(s, req, 0, b, 2);
        } else {
            s->bad = 1;
            error_rsp(s, req, SMBW_STATUS_NOT_SUPPORTED);
        }
        free(req);
    }
    return NULL;
}

typedef struct fixture {
    smbw_conn *c;
    struct smbw_session sess;
    struct smbw_tree tree;
    smbw_file src, dst;
    server srv;
    pthread_t th;
    int sv[2];
} fixture;

static void setup(fixture *f, enum scenario sc, uint64_t src_size)
{
    memset(f, 0, sizeof *f);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, f->sv), 0);
    ck_assert_int_eq(smbw_conn_new(&f->c), 0);
    smbw_conn *c = f->c;
    c->fd = f->sv[0];
    ck_assert_int_eq(fcntl(f->sv[0], F_SETFL, O_NONBLOCK), 0); /* as io_connect does */
    c->dialect = SMBW_SMB3_11;
    c->server_caps = SMB2_GLOBAL_CAP_LARGE_MTU;
    c->max_read = c->max_write = c->max_transact = 8 << 20;
    c->max_frame = (8 << 20) + 65536;
    c->credits = 512;
    c->timeout_ms = 5000;
    f->sess.conn = c;
    f->sess.id = 1;
    f->sess.valid = true;
    c->sessions = &f->sess;
    f->tree.sess = &f->sess;
    f->tree.id = 1;
    f->src.tree = &f->tree;
    f->dst.tree = &f->tree;
    memset(f->src.id, 1, 16);
    memset(f->dst.id, 2, 16);
    f->srv.fd = f->sv[1];
    f->srv.sc = sc;
    f->srv.src_size = src_size;
    ck_assert_int_eq(pthread_create(&f->th, NULL, server_main, &f->srv), 0);
}

static void teardown(fixture *f)
{
    f->c->sessions = NULL;
    close(f->sv[0]);
    f->c->fd = -1;
    pthread_join(f->th, NULL);
    close(f->sv[1]);
    smbw_conn_free(f->c);
    free(f->srv.recs);
}

static int cmp_rec(const void *a, const void *b)
{
    const rec *x = a, *y = b;
    return x->dst < y->dst ? -1 : x->dst > y->dst;
}

/* Every destination byte of the range written exactly once, from the
 * matching source byte. */
static void check_coverage(server *s, uint64_t src_off, uint64_t dst_off, uint64_t len)
{
    qsort(s->recs, s->nrecs, sizeof *s->recs, cmp_rec);
    uint64_t pos = dst_off;
    for (size_t i = 0; i < s->nrecs; i++) {
        rec r = s->recs[i];
        if (!r.len)
            continue;
        ck_assert_uint_eq(r.dst, pos);
        ck_assert_uint_eq(r.src - src_off, r.dst - dst_off);
        pos += r.len;
    }
    ck_assert_uint_eq(pos, dst_off + len);
}

static int run(fixture *f, uint64_t so, uint64_t dof, uint64_t len, smbw_copy_method m,
               smbw_copy_stats *st)
{
    smbw_copy_opts o = SMBW_COPY_OPTS_INIT;
    o.method = m;
    o.depth = 4;
    return smbw_copy_range(&f->src, &f->dst, so, dof, len, &o, st);
}

START_TEST(test_normal_odd_size)
{
    fixture f;
    uint64_t len = (40u << 20) + 12345;
    setup(&f, SC_NORMAL, len);
    smbw_copy_stats st;
    ck_assert_int_eq(run(&f, 0, 0, len, SMBW_COPY_AUTO, &st), 0);
    ck_assert_int_eq(st.method, SMBW_COPY_COPYCHUNK);
    ck_assert_uint_eq(st.bytes, len);
    ck_assert_uint_eq(st.retries, 0);
    check_coverage(&f.srv, 0, 0, len);
    /* well under 1% of the data crossed the wire */
    ck_assert_uint_lt(st.wire_bytes * 100, len);
    ck_assert_int_eq(f.srv.copychunk_requests, 3);
    ck_assert_int_eq(f.srv.bad, 0);
    teardown(&f);
}
END_TEST

START_TEST(test_partial_results_continued)
{
    fixture f;
    uint64_t len = (20u << 20) + 7;
    setup(&f, SC_PARTIAL, len);
    smbw_copy_stats st;
    ck_assert_int_eq(run(&f, 0, 0, len, SMBW_COPY_COPYCHUNK, &st), 0);
    ck_assert_uint_eq(st.bytes, len);
    ck_assert_uint_gt(st.retries, 0);
    check_coverage(&f.srv, 0, 0, len);
    teardown(&f);
}
END_TEST

START_TEST(test_odd_limits_adopted)
{
    fixture f;
    uint64_t len = 1000000;
    setup(&f, SC_ODD_LIMITS, len);
    smbw_copy_stats st;
    ck_assert_int_eq(run(&f, 0, 0, len, SMBW_COPY_COPYCHUNK, &st), 0);
    ck_assert_uint_eq(st.bytes, len);
    ck_assert_uint_ge(st.retries, 1);
    ck_assert_uint_le(st.retries, 8); /* bounded: adopted, not looping */
    ck_assert_uint_eq(st.chunk_size, 65536 + 512);
    ck_assert_uint_eq(st.chunks_per_request, 3);
    check_coverage(&f.srv, 0, 0, len);
    /* remembered on the tree: a second copy starts within the limits */
    ck_assert_uint_eq(f.tree.cc_max_chunks, 3);
    ck_assert_uint_eq(f.tree.cc_max_total, 150000);
    f.srv.nrecs = 0;
    ck_assert_int_eq(run(&f, 0, 0, len, SMBW_COPY_COPYCHUNK, &st), 0);
    ck_assert_uint_eq(st.retries, 0);
    check_coverage(&f.srv, 0, 0, len);
    teardown(&f);
}
END_TEST

START_TEST(test_large_offsets)
{
    fixture f;
    uint64_t so = 5ull << 30, dof = (6ull << 30) + 4096, len = (17u << 20) + 3;
    setup(&f, SC_NORMAL, so + len);
    smbw_copy_stats st;
    ck_assert_int_eq(run(&f, so, dof, len, SMBW_COPY_COPYCHUNK, &st), 0);
    check_coverage(&f.srv, so, dof, len);
    teardown(&f);
}
END_TEST

START_TEST(test_claims_too_much)
{
    fixture f;
    setup(&f, SC_CLAIMS_TOO_MUCH, 1 << 20);
    smbw_copy_stats st;
    ck_assert_int_eq(run(&f, 0, 0, 1 << 20, SMBW_COPY_COPYCHUNK, &st), SMBW_EPROTO);
    ck_assert_ptr_nonnull(strstr(smbw_conn_errmsg(f.c), "claims"));
    teardown(&f);
}
END_TEST

START_TEST(test_zero_limits)
{
    fixture f;
    setup(&f, SC_ZERO_LIMITS, 1 << 20);
    smbw_copy_stats st;
    ck_assert_int_eq(run(&f, 0, 0, 1 << 20, SMBW_COPY_COPYCHUNK, &st), SMBW_EPROTO);
    ck_assert_ptr_nonnull(strstr(smbw_conn_errmsg(f.c), "unusable"));
    teardown(&f);
}
END_TEST

START_TEST(test_invalid_within_limits_no_loop)
{
    fixture f;
    setup(&f, SC_INVALID_ALWAYS, 64 << 20);
    smbw_copy_stats st;
    ck_assert_int_eq(run(&f, 0, 0, 64 << 20, SMBW_COPY_COPYCHUNK, &st), SMBW_ESTATUS);
    ck_assert_uint_eq(smbw_last_status(f.c), SMBW_STATUS_INVALID_PARAMETER);
    ck_assert_int_le(f.srv.copychunk_requests, 4); /* the first round only */
    teardown(&f);
}
END_TEST

START_TEST(test_no_progress_bounded)
{
    fixture f;
    setup(&f, SC_NO_PROGRESS, 4 << 20);
    smbw_copy_stats st;
    /* nothing gained: server-side copy this server does not give */
    ck_assert_int_eq(run(&f, 0, 0, 4 << 20, SMBW_COPY_COPYCHUNK, &st), SMBW_ENOTSUP);
    ck_assert_int_lt(f.srv.copychunk_requests, 20);
    teardown(&f);
}
END_TEST

START_TEST(test_unsupported_falls_back)
{
    fixture f;
    uint64_t len = (3u << 20) + 5;
    setup(&f, SC_UNSUPPORTED, len);
    smbw_copy_stats st;
    ck_assert_int_eq(run(&f, 0, 0, len, SMBW_COPY_AUTO, &st), 0);
    ck_assert_int_eq(st.method, SMBW_COPY_STREAM);
    ck_assert_uint_eq(f.srv.stream_written, len);
    teardown(&f);

    setup(&f, SC_UNSUPPORTED, len);
    ck_assert_int_eq(run(&f, 0, 0, len, SMBW_COPY_COPYCHUNK, &st), SMBW_ENOTSUP);
    ck_assert_uint_eq(f.srv.stream_written, 0);
    teardown(&f);
}
END_TEST

START_TEST(test_copychunk_unsupported_falls_back)
{
    fixture f;
    uint64_t len = (2u << 20) + 1;
    setup(&f, SC_CC_UNSUPPORTED, len);
    smbw_copy_stats st;
    ck_assert_int_eq(run(&f, 0, 0, len, SMBW_COPY_AUTO, &st), 0);
    ck_assert_int_eq(st.method, SMBW_COPY_STREAM);
    ck_assert_uint_eq(f.srv.stream_written, len);
    teardown(&f);
}
END_TEST

START_TEST(test_zero_bytes)
{
    fixture f;
    setup(&f, SC_NORMAL, 0);
    smbw_copy_stats st;
    ck_assert_int_eq(run(&f, 0, 0, 0, SMBW_COPY_AUTO, &st), 0);
    ck_assert_uint_eq(st.bytes, 0);
    ck_assert_int_eq(f.srv.copychunk_requests, 0);
    teardown(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("copy");
    TCase *tc = tcase_create("copy");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_normal_odd_size);
    tcase_add_test(tc, test_partial_results_continued);
    tcase_add_test(tc, test_odd_limits_adopted);
    tcase_add_test(tc, test_large_offsets);
    tcase_add_test(tc, test_claims_too_much);
    tcase_add_test(tc, test_zero_limits);
    tcase_add_test(tc, test_invalid_within_limits_no_loop);
    tcase_add_test(tc, test_no_progress_bounded);
    tcase_add_test(tc, test_unsupported_falls_back);
    tcase_add_test(tc, test_copychunk_unsupported_falls_back);
    tcase_add_test(tc, test_zero_bytes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
