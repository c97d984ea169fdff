/* Unit tests for DFS referrals (MS-DFSC 2.2.2-2.2.5): the request encoders'
 * layout, the response decoder on scripted bytes of every referral version,
 * and what a hostile server may send (offsets outside the buffer, strings
 * without terminator, zero or huge TTL, too many or no referrals). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/bytes.h"
#include "lib/wire/wire.h"
#include "smbwire/errors.h"
#include "tests/common/rawbytes.h"

/* ---- a scripted referral response ------------------------------------------ */

typedef struct ref_spec {
    const char *path, *alt, *node; /* ASCII; alt may be "" */
    uint32_t ttl;
    uint16_t server_type, flags;
} ref_spec;

/* ASCII as UTF-16LE with terminator. */
static void put_ascii16(smbw_buf *b, const char *s)
{
    for (; *s; s++)
        buf_u16(b, (uint16_t)(unsigned char)*s);
    buf_u16(b, 0);
}

/* Builds RESP_GET_DFS_REFERRAL with n entries of one version: the entries
 * first, then the strings (v2+), as Windows and Samba lay them out. */
static void build_rsp(smbw_buf *b, uint16_t version, uint16_t consumed, uint32_t hflags,
                      const ref_spec *r, size_t n)
{
    size_t fixed = version == 1 ? 0 : version == 2 ? 22 : 34;
    buf_u16(b, consumed);
    buf_u16(b, (uint16_t)n);
    buf_u32(b, hflags);
    if (version == 1) {
        for (size_t i = 0; i < n; i++) {
            size_t at = b->len;
            buf_u16(b, 1);
            buf_u16(b, 0); /* Size, patched */
            buf_u16(b, r[i].server_type);
            buf_u16(b, r[i].flags);
            put_ascii16(b, r[i].node);
            buf_set_u16(b, at + 2, (uint16_t)(b->len - at));
        }
        return;
    }
    size_t first = b->len;
    size_t strings = first + fixed * n;
    size_t str_len = 0;
    for (size_t i = 0; i < n; i++)
        str_len += (strlen(r[i].path) + strlen(r[i].alt) + strlen(r[i].node) + 3) * 2;
    buf_zero(b, fixed * n + str_len);
    size_t s = strings;
    for (size_t i = 0; i < n; i++) {
        size_t e = first + fixed * i;
        uint8_t *p = b->p + e;
        put_u16(p, version);
        put_u16(p + 2, (uint16_t)fixed);
        put_u16(p + 4, r[i].server_type);
        put_u16(p + 6, r[i].flags);
        size_t o = 8;
        if (version == 2) {
            put_u32(p + 8, 0); /* Proximity */
            o = 12;
        }
        put_u32(p + o, r[i].ttl);
        const char *str[3] = {r[i].path, r[i].alt, r[i].node};
        for (int k = 0; k < 3; k++) {
            put_u16(p + o + 4 + 2 * k, (uint16_t)(s - e));
            for (const char *c = str[k]; *c; c++, s += 2)
                put_u16(b->p + s, (uint16_t)(unsigned char)*c);
            put_u16(b->p + s, 0);
            s += 2;
        }
    }
}

static const ref_spec two_targets[2] = {
    {"\\srv1\\dfs\\link", "\\srv1\\dfs\\link", "\\srv2\\share", 600, 0, 0},
    {"\\srv1\\dfs\\link", "", "\\srv3\\data\\sub", 300, 0, 0},
};

/* Decodes a heap copy of exactly n bytes, so ASan sees any read beyond. */
static int decode(const uint8_t *p, size_t n, size_t req, dfs_referral_rsp *r)
{
    uint8_t *c = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(c);
    if (n)
        memcpy(c, p, n);
    int rc = wire_decode_dfs_referral_rsp(c, n, req, r);
    free(c);
    return rc;
}

/* Every proper prefix is refused; the whole buffer decodes. */
static void check_prefixes(const smbw_buf *b)
{
    for (size_t l = 0; l < b->len; l++) {
        dfs_referral_rsp r;
        int rc = decode(b->p, l, 1000, &r);
        ck_assert_msg(rc == SMBW_EPROTO, "accepted %zu of %zu bytes (rc %d)", l, b->len, rc);
        ck_assert_ptr_null(r.refs);
    }
}

/* ---- requests --------------------------------------------------------------- */

START_TEST(test_req)
{
    smbw_buf b;
    buf_init(&b);
    ck_assert_int_eq(wire_encode_dfs_referral_req(&b, 4, "\\s\\r"), 0);
    static const uint8_t want[] = {4, 0, '\\', 0, 's', 0, '\\', 0, 'r', 0, 0, 0};
    ck_assert_uint_eq(b.len, sizeof want);
    ck_assert_mem_eq(b.p, want, sizeof want);
    /* Bad arguments leave the buffer as it was. */
    ck_assert_int_eq(wire_encode_dfs_referral_req(&b, 0, "\\s"), SMBW_EINVAL);
    ck_assert_int_eq(wire_encode_dfs_referral_req(&b, 5, "\\s"), SMBW_EINVAL);
    ck_assert_int_eq(wire_encode_dfs_referral_req(&b, 4, ""), SMBW_EINVAL);
    ck_assert_int_eq(wire_encode_dfs_referral_req(&b, 4, NULL), SMBW_EINVAL);
    ck_assert_int_eq(wire_encode_dfs_referral_req(&b, 4, "\xff"), SMBW_EINVAL);
    ck_assert_uint_eq(b.len, sizeof want);
    char *big = malloc(20000);
    memset(big, 'a', 19999);
    big[19999] = 0;
    ck_assert_int_eq(wire_encode_dfs_referral_req(&b, 4, big), SMBW_EINVAL);
    ck_assert_uint_eq(b.len, sizeof want);
    free(big);
    buf_free(&b);
}
END_TEST

START_TEST(test_req_ex)
{
    smbw_buf b;
    buf_init(&b);
    ck_assert_int_eq(wire_encode_dfs_referral_req_ex(&b, 4, "\\s", NULL), 0);
    /* Level, flags 0, RequestDataLength 6 = name length field + 4 bytes. */
    static const uint8_t want[] = {4, 0, 0, 0, 6, 0, 0, 0, 4, 0, '\\', 0, 's', 0};
    ck_assert_uint_eq(b.len, sizeof want);
    ck_assert_mem_eq(b.p, want, sizeof want);
    buf_reset(&b);
    ck_assert_int_eq(wire_encode_dfs_referral_req_ex(&b, 3, "\\s", "x"), 0);
    static const uint8_t want2[] = {3, 0, 1, 0, 10, 0, 0, 0, 4, 0, '\\', 0, 's', 0, 2, 0, 'x', 0};
    ck_assert_uint_eq(b.len, sizeof want2);
    ck_assert_mem_eq(b.p, want2, sizeof want2);
    ck_assert_int_eq(wire_encode_dfs_referral_req_ex(&b, 3, "\\s", ""), SMBW_EINVAL);
    ck_assert_int_eq(wire_encode_dfs_referral_req_ex(&b, 9, "\\s", NULL), SMBW_EINVAL);
    ck_assert_uint_eq(b.len, sizeof want2);
    buf_free(&b);
}
END_TEST

/* ---- responses of each version ---------------------------------------------- */

START_TEST(test_rsp_v1)
{
    smbw_buf b;
    buf_init(&b);
    build_rsp(&b, 1, 20, DFS_HDR_STORAGE_SERVERS, two_targets, 2);
    dfs_referral_rsp r;
    ck_assert_int_eq(decode(b.p, b.len, 40, &r), 0);
    ck_assert_uint_eq(r.version, 1);
    ck_assert_uint_eq(r.count, 2);
    ck_assert_uint_eq(r.path_consumed, 20);
    ck_assert_uint_eq(r.header_flags, DFS_HDR_STORAGE_SERVERS);
    ck_assert_str_eq(r.refs[0].node, "\\srv2\\share");
    ck_assert_str_eq(r.refs[1].node, "\\srv3\\data\\sub");
    ck_assert_ptr_null(r.refs[0].dfs_path);
    ck_assert_uint_eq(r.refs[0].ttl, DFS_TTL_V1);
    wire_dfs_referral_rsp_free(&r);
    check_prefixes(&b);
    /* A ShareName whose terminator lies outside its entry. */
    buf_reset(&b);
    build_rsp(&b, 1, 0, 0, two_targets, 1);
    put_u16(b.p + 10, (uint16_t)(get_u16(b.p + 10) - 2));
    ck_assert_int_eq(decode(b.p, b.len, 40, &r), SMBW_EPROTO);
    buf_free(&b);
}
END_TEST

static void check_v(uint16_t version)
{
    smbw_buf b;
    buf_init(&b);
    ref_spec t[2];
    memcpy(t, two_targets, sizeof t);
    t[1].server_type = DFS_SERVER_TYPE_ROOT;
    if (version == 4)
        t[0].flags = DFS_ENTRY_TARGET_SET_BOUNDARY;
    build_rsp(&b, version, 28, DFS_HDR_STORAGE_SERVERS | DFS_HDR_TARGET_FAILBACK, t, 2);
    dfs_referral_rsp r;
    ck_assert_int_eq(decode(b.p, b.len, 28, &r), 0);
    ck_assert_uint_eq(r.version, version);
    ck_assert_uint_eq(r.count, 2);
    ck_assert_uint_eq(r.path_consumed, 28);
    ck_assert_str_eq(r.refs[0].dfs_path, "\\srv1\\dfs\\link");
    ck_assert_str_eq(r.refs[0].alt_path, "\\srv1\\dfs\\link");
    ck_assert_str_eq(r.refs[0].node, "\\srv2\\share");
    ck_assert_uint_eq(r.refs[0].ttl, 600);
    ck_assert_ptr_null(r.refs[1].alt_path); /* empty alternate path */
    ck_assert_str_eq(r.refs[1].node, "\\srv3\\data\\sub");
    ck_assert_uint_eq(r.refs[1].ttl, 300);
    ck_assert_uint_eq(r.refs[1].server_type, DFS_SERVER_TYPE_ROOT);
    ck_assert_uint_eq(r.refs[0].entry_flags, version == 4 ? DFS_ENTRY_TARGET_SET_BOUNDARY : 0);
    wire_dfs_referral_rsp_free(&r);
    ck_assert_ptr_null(r.refs);
    check_prefixes(&b);
    /* PathConsumed longer than the path asked about, or odd. */
    ck_assert_int_eq(decode(b.p, b.len, 26, &r), SMBW_EPROTO);
    put_u16(b.p, 27);
    ck_assert_int_eq(decode(b.p, b.len, 28, &r), SMBW_EPROTO);
    buf_free(&b);
}

START_TEST(test_rsp_v2)
{
    check_v(2);
}
END_TEST

START_TEST(test_rsp_v3)
{
    check_v(3);
}
END_TEST

START_TEST(test_rsp_v4)
{
    check_v(4);
}
END_TEST

/* A v3 name-list entry (domain or DC referral, 2.2.5.3.2). */
START_TEST(test_rsp_name_list)
{
    smbw_buf b;
    buf_init(&b);
    buf_u16(&b, 0);
    buf_u16(&b, 1);
    buf_u32(&b, 0);
    size_t e = b.len;
    buf_u16(&b, 3);
    buf_u16(&b, 18);
    buf_u16(&b, 0);
    buf_u16(&b, DFS_ENTRY_NAME_LIST_REFERRAL);
    buf_u32(&b, 60);
    buf_u16(&b, 18);           /* SpecialNameOffset */
    buf_u16(&b, 2);            /* NumberOfExpandedNames */
    buf_u16(&b, 18 + 12);      /* ExpandedNameOffset */
    put_ascii16(&b, "\\corp"); /* 12 bytes */
    put_ascii16(&b, "\\dc1");  /* 10 */
    put_ascii16(&b, "\\dc2");  /* 10 */
    (void)e;
    dfs_referral_rsp r;
    ck_assert_int_eq(decode(b.p, b.len, 0, &r), 0);
    ck_assert_uint_eq(r.refs[0].expanded_names, 2);
    ck_assert_str_eq(r.refs[0].node, "\\corp");
    ck_assert_ptr_null(r.refs[0].dfs_path);
    wire_dfs_referral_rsp_free(&r);
    /* One expanded name more than the buffer holds. */
    put_u16(b.p + 8 + 14, 3);
    ck_assert_int_eq(decode(b.p, b.len, 0, &r), SMBW_EPROTO);
    buf_free(&b);
}
END_TEST

/* ---- hostile servers --------------------------------------------------------- */

START_TEST(test_rsp_offsets)
{
    smbw_buf b;
    buf_init(&b);
    static const size_t field[3] = {12, 14, 16}; /* DFSPath, Alternate, NetworkAddress (v3) */
    for (int k = 0; k < 3; k++) {
        buf_reset(&b);
        build_rsp(&b, 3, 0, 0, two_targets, 2);
        dfs_referral_rsp r;
        uint8_t *e1 = b.p + 8 + 34;
        /* Past the end, exactly at the end, and to the last byte (no room
         * for a terminator). */
        uint16_t bad[3] = {0xFFFF, (uint16_t)(b.len - 8 - 34), (uint16_t)(b.len - 8 - 34 - 1)};
        for (int j = 0; j < 3; j++) {
            put_u16(e1 + field[k], bad[j]);
            ck_assert_msg(decode(b.p, b.len, 0, &r) == SMBW_EPROTO, "field %d offset %u", k,
                          bad[j]);
            ck_assert_ptr_null(r.refs);
        }
    }
    /* A string running to the end of the buffer without its terminator. */
    buf_reset(&b);
    build_rsp(&b, 3, 0, 0, two_targets, 1);
    dfs_referral_rsp r;
    ck_assert_int_eq(decode(b.p, b.len - 2, 0, &r), SMBW_EPROTO);
    /* An empty target (NetworkAddress "") and an empty DFS path. */
    buf_reset(&b);
    ref_spec t = two_targets[0];
    t.node = "";
    build_rsp(&b, 3, 0, 0, &t, 1);
    ck_assert_int_eq(decode(b.p, b.len, 0, &r), SMBW_EPROTO);
    buf_reset(&b);
    t = two_targets[0];
    t.path = "";
    build_rsp(&b, 2, 0, 0, &t, 1);
    ck_assert_int_eq(decode(b.p, b.len, 0, &r), SMBW_EPROTO);
    /* An unpaired surrogate in the target. */
    buf_reset(&b);
    build_rsp(&b, 3, 0, 0, two_targets, 1);
    put_u16(b.p + b.len - 4, 0xD800);
    ck_assert_int_eq(decode(b.p, b.len, 0, &r), SMBW_EPROTO);
    buf_free(&b);
}
END_TEST

START_TEST(test_rsp_counts)
{
    smbw_buf b;
    buf_init(&b);
    dfs_referral_rsp r;
    /* No referral at all: an empty target list. */
    build_rsp(&b, 3, 0, 0, two_targets, 0);
    ck_assert_uint_eq(b.len, 8);
    ck_assert_int_eq(decode(b.p, b.len, 0, &r), SMBW_EPROTO);
    /* More entries announced than present. */
    buf_reset(&b);
    build_rsp(&b, 3, 0, 0, two_targets, 2);
    put_u16(b.p + 2, 3);
    ck_assert_int_eq(decode(b.p, b.len, 0, &r), SMBW_EPROTO);
    /* DFS_MAX_REFERRALS entries are fine, one more is refused. */
    ref_spec many[DFS_MAX_REFERRALS + 1];
    for (size_t i = 0; i <= DFS_MAX_REFERRALS; i++)
        many[i] = two_targets[0];
    buf_reset(&b);
    build_rsp(&b, 4, 0, 0, many, DFS_MAX_REFERRALS);
    ck_assert_int_eq(decode(b.p, b.len, 0, &r), 0);
    ck_assert_uint_eq(r.count, DFS_MAX_REFERRALS);
    wire_dfs_referral_rsp_free(&r);
    buf_reset(&b);
    build_rsp(&b, 4, 0, 0, many, DFS_MAX_REFERRALS + 1);
    ck_assert_int_eq(decode(b.p, b.len, 0, &r), SMBW_EPROTO);
    /* Versions mixed, unknown, and an entry smaller than its fixed part. */
    buf_reset(&b);
    build_rsp(&b, 3, 0, 0, two_targets, 2);
    put_u16(b.p + 8 + 34, 4);
    ck_assert_int_eq(decode(b.p, b.len, 0, &r), SMBW_EPROTO);
    put_u16(b.p + 8 + 34, 3);
    ck_assert_int_eq(decode(b.p, b.len, 0, &r), 0);
    wire_dfs_referral_rsp_free(&r);
    put_u16(b.p + 8, 5);
    put_u16(b.p + 8 + 34, 5);
    ck_assert_int_eq(decode(b.p, b.len, 0, &r), SMBW_EPROTO);
    put_u16(b.p + 8, 0);
    ck_assert_int_eq(decode(b.p, b.len, 0, &r), SMBW_EPROTO);
    put_u16(b.p + 8, 3);
    put_u16(b.p + 8 + 34, 3);
    put_u16(b.p + 10, 17);
    ck_assert_int_eq(decode(b.p, b.len, 0, &r), SMBW_EPROTO);
    /* An entry Size reaching past the buffer. */
    put_u16(b.p + 10, 0xFFFF);
    ck_assert_int_eq(decode(b.p, b.len, 0, &r), SMBW_EPROTO);
    buf_free(&b);
}
END_TEST

START_TEST(test_rsp_ttl)
{
    smbw_buf b;
    buf_init(&b);
    ref_spec t[2] = {two_targets[0], two_targets[1]};
    t[0].ttl = 0;
    t[1].ttl = 0xFFFFFFFFu;
    build_rsp(&b, 3, 0, 0, t, 2);
    dfs_referral_rsp r;
    ck_assert_int_eq(decode(b.p, b.len, 0, &r), 0);
    ck_assert_uint_eq(r.refs[0].ttl, 0); /* kept: the cache does not keep it */
    ck_assert_uint_eq(r.refs[1].ttl, DFS_TTL_MAX);
    wire_dfs_referral_rsp_free(&r);
    buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dfs");
    TCase *tc = tcase_create("referrals");
    tcase_add_test(tc, test_req);
    tcase_add_test(tc, test_req_ex);
    tcase_add_test(tc, test_rsp_v1);
    tcase_add_test(tc, test_rsp_v2);
    tcase_add_test(tc, test_rsp_v3);
    tcase_add_test(tc, test_rsp_v4);
    tcase_add_test(tc, test_rsp_name_list);
    tcase_add_test(tc, test_rsp_offsets);
    tcase_add_test(tc, test_rsp_counts);
    tcase_add_test(tc, test_rsp_ttl);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
