/* Unit tests for lib/wire: every encoder's layout, every decoder's round
 * trip, and rejection of truncated or inconsistent input. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/bytes.h"
#include "lib/util/status.h"
#include "lib/wire/wire.h"
#include "smbwire/errors.h"
#include "tests/common/rawbytes.h"

/* ---- helpers --------------------------------------------------------------- */

/* An exact-size heap copy, so ASan sees any read past the given length. */
static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(c);
    if (n)
        memcpy(c, p, n);
    return c;
}

/* A response header (SERVER_TO_REDIR set) for command cmd. */
static void rsp_hdr(smbw_buf *b, uint16_t cmd, uint32_t status)
{
    smb2_hdr h;
    memset(&h, 0, sizeof h);
    h.command = cmd;
    h.status = status;
    h.flags = SMB2_FLAGS_SERVER_TO_REDIR;
    h.credits = 1;
    h.message_id = 7;
    h.session_id = 0x1122334455667788ull;
    h.tree_id = 5;
    wire_encode_hdr(b, &h);
}

/* Checks that a (msg, len, out) decoder accepts the full message, rejects
 * every shorter prefix, and rejects a wrong StructureSize (msg decoders). */
#define CHECK_TRUNC(fn, T, msg, n)                                                                 \
    do {                                                                                           \
        size_t n_ = (n);                                                                           \
        for (size_t l_ = 0; l_ < n_; l_++) {                                                       \
            uint8_t *c_ = dup_bytes((msg), l_);                                                    \
            T o_;                                                                                  \
            int rc_ = fn(c_, l_, &o_);                                                             \
            ck_assert_msg(rc_ == SMBW_EPROTO, #fn " accepted %zu of %zu bytes (rc %d)", l_, n_,    \
                          rc_);                                                                    \
            free(c_);                                                                              \
        }                                                                                          \
        uint8_t *c_ = dup_bytes((msg), n_);                                                        \
        T o_;                                                                                      \
        ck_assert_int_eq(fn(c_, n_, &o_), 0);                                                      \
        free(c_);                                                                                  \
    } while (0)

#define CHECK_BAD_SS(fn, T, msg, n)                                                                \
    do {                                                                                           \
        uint8_t *c_ = dup_bytes((msg), (n));                                                       \
        T o_;                                                                                      \
        uint16_t ss_ = get_u16(c_ + 64);                                                           \
        put_u16(c_ + 64, (uint16_t)(ss_ + 2));                                                     \
        ck_assert_int_eq(fn(c_, (n), &o_), SMBW_EPROTO);                                           \
        put_u16(c_ + 64, (uint16_t)(ss_ - 1));                                                     \
        ck_assert_int_eq(fn(c_, (n), &o_), SMBW_EPROTO);                                           \
        put_u16(c_ + 64, ss_);                                                                     \
        ck_assert_int_eq(fn(c_, (n), &o_), 0);                                                     \
        free(c_);                                                                                  \
    } while (0)

/* Decode msg after patching a little-endian field at off. */
static int patched32(int (*fn)(const uint8_t *, size_t, void *), const smbw_buf *b, size_t off,
                     uint32_t v, void *out)
{
    uint8_t *c = dup_bytes(b->p, b->len);
    put_u32(c + off, v);
    int rc = fn(c, b->len, out);
    free(c);
    return rc;
}
static int patched16(int (*fn)(const uint8_t *, size_t, void *), const smbw_buf *b, size_t off,
                     uint16_t v, void *out)
{
    uint8_t *c = dup_bytes(b->p, b->len);
    put_u16(c + off, v);
    int rc = fn(c, b->len, out);
    free(c);
    return rc;
}
static int patched8(int (*fn)(const uint8_t *, size_t, void *), const smbw_buf *b, size_t off,
                    uint8_t v, void *out)
{
    uint8_t *c = dup_bytes(b->p, b->len);
    c[off] = v;
    int rc = fn(c, b->len, out);
    free(c);
    return rc;
}

/* void* adapters for the patch helpers */
#define ADAPT(name, T)                                                                             \
    static int a_##name(const uint8_t *p, size_t n, void *o)                                       \
    {                                                                                              \
        return wire_decode_##name(p, n, (T *)o);                                                   \
    }
ADAPT(hdr, smb2_hdr)
ADAPT(error, smb2_error_rsp)
ADAPT(negotiate, smb2_negotiate_rsp)
ADAPT(session_setup, smb2_session_setup_rsp)
ADAPT(create, smb2_create_rsp)
ADAPT(read, smb2_read_rsp)
ADAPT(ioctl, smb2_ioctl_rsp)
ADAPT(query_dir, smb2_query_dir_rsp)
ADAPT(query_info, smb2_query_info_rsp)
ADAPT(transform_hdr, smb2_transform_hdr)
ADAPT(resume_key, srv_resume_key)

typedef struct {
    uint32_t attrs, maxlen;
} fsattr;
static int dec_fs_attr(const uint8_t *p, size_t n, fsattr *o)
{
    return wire_decode_fs_attribute_info(p, n, &o->attrs, &o->maxlen);
}

static const uint8_t FID[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* ---- header ------------------------------------------------------------------ */

START_TEST(test_hdr_roundtrip)
{
    smbw_buf b;
    smb2_hdr h, d;
    buf_init(&b);
    memset(&h, 0, sizeof h);
    h.credit_charge = 3;
    h.status = 0xC0000022;
    h.command = SMB2_CREATE;
    h.credits = 64;
    h.flags = SMB2_FLAGS_SIGNED;
    h.next_command = 0x98;
    h.message_id = 0x0102030405060708ull;
    h.tree_id = 0xAABBCCDD;
    h.session_id = 0x1122334455667788ull;
    for (int i = 0; i < 16; i++)
        h.signature[i] = (uint8_t)(0xA0 + i);
    wire_encode_hdr(&b, &h);
    ck_assert_uint_eq(b.len, 64);
    ck_assert(!b.failed);
    static const uint8_t start[] = {0xFE, 'S', 'M', 'B', 64, 0, 3, 0, 0x22, 0, 0, 0xC0, 5, 0};
    ck_assert_mem_eq(b.p, start, sizeof start);
    ck_assert_uint_eq(get_u32(b.p + 36), 0xAABBCCDD);
    ck_assert_int_eq(wire_decode_hdr(b.p, b.len, &d), 0);
    ck_assert_uint_eq(d.credit_charge, 3);
    ck_assert_uint_eq(d.status, 0xC0000022);
    ck_assert_uint_eq(d.command, SMB2_CREATE);
    ck_assert_uint_eq(d.credits, 64);
    ck_assert_uint_eq(d.flags, SMB2_FLAGS_SIGNED);
    ck_assert_uint_eq(d.next_command, 0x98);
    ck_assert_uint_eq(d.message_id, h.message_id);
    ck_assert_uint_eq(d.tree_id, 0xAABBCCDD);
    ck_assert_uint_eq(d.async_id, 0);
    ck_assert_uint_eq(d.session_id, h.session_id);
    ck_assert_mem_eq(d.signature, h.signature, 16);
    CHECK_TRUNC(wire_decode_hdr, smb2_hdr, b.p, b.len);

    /* async form */
    buf_reset(&b);
    h.flags = SMB2_FLAGS_ASYNC_COMMAND | SMB2_FLAGS_SERVER_TO_REDIR;
    h.async_id = 0xDEADBEEFCAFEull;
    wire_encode_hdr(&b, &h);
    ck_assert_uint_eq(get_u64(b.p + 32), 0xDEADBEEFCAFEull);
    ck_assert_int_eq(wire_decode_hdr(b.p, b.len, &d), 0);
    ck_assert_uint_eq(d.async_id, 0xDEADBEEFCAFEull);
    ck_assert_uint_eq(d.tree_id, 0);
    buf_free(&b);
}
END_TEST

START_TEST(test_hdr_bad)
{
    smbw_buf b;
    smb2_hdr d;
    buf_init(&b);
    rsp_hdr(&b, SMB2_ECHO, 0);
    ck_assert_int_eq(patched8(a_hdr, &b, 0, 0xFF, &d), SMBW_EPROTO); /* SMB1 id */
    ck_assert_int_eq(patched8(a_hdr, &b, 0, 0xFD, &d), SMBW_EPROTO); /* transform id */
    ck_assert_int_eq(patched8(a_hdr, &b, 3, 'X', &d), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_hdr, &b, 4, 65, &d), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_hdr, &b, 4, 0, &d), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_hdr, &b, 4, 64, &d), 0);
    buf_free(&b);
}
END_TEST

/* A minimal response for cmd with a body of StructureSize ss and n bytes. */
static void mk_rsp(smbw_buf *b, uint16_t cmd, uint32_t status, uint16_t ss, size_t n)
{
    buf_reset(b);
    rsp_hdr(b, cmd, status);
    buf_u16(b, ss);
    if (n > 2)
        buf_zero(b, n - 2);
    else
        b->len = SMB2_HDR_SIZE + n;
}

static int check(const smbw_buf *b)
{
    smb2_hdr h;
    ck_assert_int_eq(wire_decode_hdr(b->p, b->len, &h), 0);
    uint8_t *c = dup_bytes(b->p, b->len);
    int rc = wire_check_response(c, b->len, &h);
    free(c);
    return rc;
}

START_TEST(test_check_response)
{
    static const struct {
        uint16_t cmd, ss;
    } t[] = {
        {SMB2_NEGOTIATE, 65},
        {SMB2_SESSION_SETUP, 9},
        {SMB2_LOGOFF, 4},
        {SMB2_TREE_CONNECT, 16},
        {SMB2_TREE_DISCONNECT, 4},
        {SMB2_CREATE, 89},
        {SMB2_CLOSE, 60},
        {SMB2_FLUSH, 4},
        {SMB2_READ, 17},
        {SMB2_WRITE, 17},
        {SMB2_LOCK, 4},
        {SMB2_IOCTL, 49},
        {SMB2_ECHO, 4},
        {SMB2_QUERY_DIRECTORY, 9},
        {SMB2_CHANGE_NOTIFY, 9},
        {SMB2_QUERY_INFO, 9},
        {SMB2_SET_INFO, 2},
        {SMB2_OPLOCK_BREAK, 24},
        {SMB2_OPLOCK_BREAK, 44},
        {SMB2_OPLOCK_BREAK, 36},
    };
    smbw_buf b;
    buf_init(&b);
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t fixed = t[i].ss & ~1u;
        /* exact fixed part (odd sizes: variable byte absent) */
        mk_rsp(&b, t[i].cmd, 0, t[i].ss, fixed);
        ck_assert_msg(check(&b) == 0, "cmd %u ss %u", t[i].cmd, t[i].ss);
        /* with the variable byte */
        mk_rsp(&b, t[i].cmd, 0, t[i].ss, fixed + 1);
        ck_assert_int_eq(check(&b), 0);
        /* one byte short */
        mk_rsp(&b, t[i].cmd, 0, t[i].ss, fixed - 1);
        ck_assert_msg(check(&b) == SMBW_EPROTO, "cmd %u short accepted", t[i].cmd);
        /* wrong StructureSize */
        mk_rsp(&b, t[i].cmd, 0, (uint16_t)(t[i].ss + 2), fixed + 2);
        ck_assert_int_eq(check(&b), SMBW_EPROTO);
        /* an error body is fine with an error status ... */
        mk_rsp(&b, t[i].cmd, SMBW_STATUS_ACCESS_DENIED, 9, 9);
        ck_assert_int_eq(check(&b), 0);
        mk_rsp(&b, t[i].cmd, SMBW_STATUS_NO_MORE_FILES, 9, 8);
        ck_assert_int_eq(check(&b), 0);
        mk_rsp(&b, t[i].cmd, SMBW_STATUS_ACCESS_DENIED, 9, 7);
        ck_assert_int_eq(check(&b), SMBW_EPROTO);
        /* ... but not with STATUS_SUCCESS unless 9 is the command's size */
        mk_rsp(&b, t[i].cmd, 0, 9, 9);
        ck_assert_int_eq(check(&b), t[i].ss == 9 ? 0 : SMBW_EPROTO);
        /* a request (no SERVER_TO_REDIR) is rejected */
        mk_rsp(&b, t[i].cmd, 0, t[i].ss, fixed + 1);
        b.p[16] &= (uint8_t)~SMB2_FLAGS_SERVER_TO_REDIR;
        ck_assert_int_eq(check(&b), SMBW_EPROTO);
    }
    /* copychunk limits reply: INVALID_PARAMETER with a full IOCTL body */
    mk_rsp(&b, SMB2_IOCTL, SMBW_STATUS_INVALID_PARAMETER, 49, 49 + 12);
    ck_assert_int_eq(check(&b), 0);
    /* READ with STATUS_BUFFER_OVERFLOW and a full body */
    mk_rsp(&b, SMB2_READ, SMBW_STATUS_BUFFER_OVERFLOW, 17, 16);
    ck_assert_int_eq(check(&b), 0);
    /* CANCEL has no response; unknown commands */
    mk_rsp(&b, SMB2_CANCEL, 0, 4, 4);
    ck_assert_int_eq(check(&b), SMBW_EPROTO);
    mk_rsp(&b, SMB2_NCOMMANDS, 0, 4, 4);
    ck_assert_int_eq(check(&b), SMBW_EPROTO);
    mk_rsp(&b, 0xFFFF, 0, 4, 4);
    ck_assert_int_eq(check(&b), SMBW_EPROTO);
    mk_rsp(&b, SMB2_OPLOCK_BREAK, 0, 26, 26);
    ck_assert_int_eq(check(&b), SMBW_EPROTO);
    /* wrong protocol id in the bytes even with a good h */
    mk_rsp(&b, SMB2_ECHO, 0, 4, 4);
    {
        smb2_hdr h;
        ck_assert_int_eq(wire_decode_hdr(b.p, b.len, &h), 0);
        b.p[0] = 0xFD;
        ck_assert_int_eq(wire_check_response(b.p, b.len, &h), SMBW_EPROTO);
        b.p[0] = 0xFE;
        put_u16(b.p + 4, 63);
        ck_assert_int_eq(wire_check_response(b.p, b.len, &h), SMBW_EPROTO);
        put_u16(b.p + 4, 64);
        ck_assert_int_eq(wire_check_response(b.p, b.len, &h), 0);
        ck_assert_int_eq(wire_check_response(b.p, 65, &h), SMBW_EPROTO);
        ck_assert_int_eq(wire_check_response(b.p, 64, &h), SMBW_EPROTO);
    }
    buf_free(&b);
}
END_TEST

START_TEST(test_status_is_error)
{
    ck_assert(!wire_status_is_error_response(SMB2_CREATE, SMBW_STATUS_SUCCESS));
    ck_assert(wire_status_is_error_response(SMB2_CREATE, SMBW_STATUS_ACCESS_DENIED));
    ck_assert(
        !wire_status_is_error_response(SMB2_SESSION_SETUP, SMBW_STATUS_MORE_PROCESSING_REQUIRED));
    ck_assert(
        wire_status_is_error_response(SMB2_TREE_CONNECT, SMBW_STATUS_MORE_PROCESSING_REQUIRED));
    ck_assert(!wire_status_is_error_response(SMB2_READ, SMBW_STATUS_BUFFER_OVERFLOW));
    ck_assert(!wire_status_is_error_response(SMB2_IOCTL, SMBW_STATUS_BUFFER_OVERFLOW));
    ck_assert(!wire_status_is_error_response(SMB2_QUERY_INFO, SMBW_STATUS_BUFFER_OVERFLOW));
    ck_assert(!wire_status_is_error_response(SMB2_QUERY_DIRECTORY, SMBW_STATUS_BUFFER_OVERFLOW));
    ck_assert(wire_status_is_error_response(SMB2_CREATE, SMBW_STATUS_BUFFER_OVERFLOW));
    ck_assert(wire_status_is_error_response(SMB2_QUERY_DIRECTORY, SMBW_STATUS_NO_MORE_FILES));
    ck_assert(wire_status_is_error_response(SMB2_CREATE, SMBW_STATUS_STOPPED_ON_SYMLINK));
    ck_assert(wire_status_is_error_response(SMB2_CREATE, SMBW_STATUS_PENDING));
    ck_assert(!wire_status_is_error_response(SMB2_CHANGE_NOTIFY, SMBW_STATUS_NOTIFY_ENUM_DIR));
    ck_assert(wire_status_is_error_response(SMB2_IOCTL, SMBW_STATUS_INVALID_PARAMETER));
}
END_TEST

START_TEST(test_error_rsp)
{
    smbw_buf b;
    smb2_error_rsp e;
    buf_init(&b);
    rsp_hdr(&b, SMB2_CREATE, SMBW_STATUS_BUFFER_TOO_SMALL);
    buf_u16(&b, 9);
    buf_u8(&b, 0);
    buf_u8(&b, 0);
    buf_u32(&b, 4);
    buf_u32(&b, 0x1234);
    ck_assert_int_eq(wire_decode_error(b.p, b.len, &e), 0);
    ck_assert_uint_eq(e.data_len, 4);
    ck_assert_ptr_eq(e.data, b.p + 72);
    ck_assert_uint_eq(get_u32(e.data), 0x1234);
    CHECK_TRUNC(wire_decode_error, smb2_error_rsp, b.p, b.len);
    CHECK_BAD_SS(wire_decode_error, smb2_error_rsp, b.p, b.len);
    ck_assert_int_eq(patched32(a_error, &b, 68, 5, &e), SMBW_EPROTO);
    ck_assert_int_eq(patched32(a_error, &b, 68, 0xFFFFFFFF, &e), SMBW_EPROTO);
    ck_assert_int_eq(patched32(a_error, &b, 68, 0, &e), 0);
    ck_assert_ptr_null(e.data);
    buf_free(&b);
}
END_TEST

/* ---- NEGOTIATE ------------------------------------------------------------- */

static const uint16_t DIALECTS[] = {0x0202, 0x0210, 0x0300, 0x0302, 0x0311};

START_TEST(test_negotiate_req)
{
    smbw_buf b;
    smb2_negotiate_req r;
    uint16_t ciphers[] = {SMB2_ENCRYPTION_AES128_GCM, SMB2_ENCRYPTION_AES256_GCM,
                          SMB2_ENCRYPTION_AES128_CCM};
    uint16_t signs[] = {SMB2_SIGNING_AES_GMAC, SMB2_SIGNING_AES_CMAC};
    buf_init(&b);
    buf_zero(&b, 68); /* pretend a header and a transport prefix precede the body */
    memset(&r, 0, sizeof r);
    r.security_mode = SMB2_NEGOTIATE_SIGNING_ENABLED;
    r.capabilities = 0x7F;
    memset(r.client_guid, 0x42, 16);
    r.dialects = DIALECTS;
    r.dialect_count = 5;
    for (int i = 0; i < 32; i++)
        r.salt[i] = (uint8_t)i;
    r.ciphers = ciphers;
    r.cipher_count = 3;
    r.sign_algs = signs;
    r.sign_alg_count = 2;
    r.netname = "srv";
    ck_assert_int_eq(wire_encode_negotiate(&b, &r), 0);
    const uint8_t *p = b.p + 68;
    size_t n = b.len - 68;
    ck_assert_uint_eq(get_u16(p), 36);
    ck_assert_uint_eq(get_u16(p + 2), 5);
    ck_assert_uint_eq(get_u16(p + 4), SMB2_NEGOTIATE_SIGNING_ENABLED);
    ck_assert_uint_eq(get_u32(p + 8), 0x7F);
    ck_assert_uint_eq(p[12], 0x42);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(get_u16(p + 36 + 2 * i), DIALECTS[i]);
    uint32_t off = get_u32(p + 28);
    ck_assert_uint_eq(off, 112); /* 64 + 36 + 10, aligned up to 8 */
    ck_assert_uint_eq(get_u16(p + 32), 4);
    /* walk the contexts: aligned from the header start, lengths exact */
    static const uint16_t types[] = {1, 2, 8, 5};
    size_t pos = off - 64;
    for (int i = 0; i < 4; i++) {
        pos = (pos + 7) & ~(size_t)7;
        ck_assert_uint_eq((pos + 64) % 8, 0);
        ck_assert_uint_le(pos + 8, n);
        ck_assert_uint_eq(get_u16(p + pos), types[i]);
        uint16_t dl = get_u16(p + pos + 2);
        const uint8_t *d = p + pos + 8;
        ck_assert_uint_le(pos + 8 + dl, n);
        switch (i) {
        case 0:
            ck_assert_uint_eq(dl, 38);
            ck_assert_uint_eq(get_u16(d), 1);
            ck_assert_uint_eq(get_u16(d + 2), 32);
            ck_assert_uint_eq(get_u16(d + 4), SMB2_PREAUTH_SHA512);
            ck_assert_mem_eq(d + 6, r.salt, 32);
            break;
        case 1:
            ck_assert_uint_eq(dl, 8);
            ck_assert_uint_eq(get_u16(d), 3);
            ck_assert_uint_eq(get_u16(d + 2), SMB2_ENCRYPTION_AES128_GCM);
            ck_assert_uint_eq(get_u16(d + 6), SMB2_ENCRYPTION_AES128_CCM);
            break;
        case 2:
            ck_assert_uint_eq(dl, 6);
            ck_assert_uint_eq(get_u16(d), 2);
            ck_assert_uint_eq(get_u16(d + 2), SMB2_SIGNING_AES_GMAC);
            ck_assert_uint_eq(get_u16(d + 4), SMB2_SIGNING_AES_CMAC);
            break;
        case 3: {
            static const uint8_t srv[] = {'s', 0, 'r', 0, 'v', 0};
            ck_assert_uint_eq(dl, 6);
            ck_assert_mem_eq(d, srv, 6);
            break;
        }
        }
        pos += 8 + dl;
    }
    ck_assert_uint_eq(pos, n); /* nothing after the last context */

    /* a caller's extra context goes last, as given */
    static const uint8_t odd[3] = {0xA1, 0xB2, 0xC3};
    r.extra_ctx_type = 0xF0F0;
    r.extra_ctx = odd;
    r.extra_ctx_len = 3;
    buf_reset(&b);
    buf_zero(&b, 68);
    ck_assert_int_eq(wire_encode_negotiate(&b, &r), 0);
    p = b.p + 68;
    n = b.len - 68;
    ck_assert_uint_eq(get_u16(p + 32), 5);
    ck_assert_uint_eq(get_u16(p + n - 11), 0xF0F0);
    ck_assert_uint_eq(get_u16(p + n - 9), 3);
    ck_assert_mem_eq(p + n - 3, odd, 3);
    r.extra_ctx_type = 0;

    /* without 3.1.1: no contexts, offset/count zero (ClientStartTime) */
    buf_reset(&b);
    r.dialect_count = 4;
    ck_assert_int_eq(wire_encode_negotiate(&b, &r), 0);
    ck_assert_uint_eq(b.len, 36 + 8);
    ck_assert_uint_eq(get_u64(b.p + 28), 0);

    /* 3.1.1 alone, no ciphers/signing/netname: preauth only */
    buf_reset(&b);
    r.dialects = DIALECTS + 4;
    r.dialect_count = 1;
    r.cipher_count = 0;
    r.sign_alg_count = 0;
    r.netname = NULL;
    ck_assert_int_eq(wire_encode_negotiate(&b, &r), 0);
    ck_assert_uint_eq(get_u32(b.p + 28), 104);
    ck_assert_uint_eq(get_u16(b.p + 32), 1);
    ck_assert_uint_eq(b.len, 40 + 8 + 38);

    /* invalid arguments leave the buffer untouched */
    size_t before = b.len;
    r.dialect_count = 0;
    ck_assert_int_eq(wire_encode_negotiate(&b, &r), SMBW_EINVAL);
    ck_assert_uint_eq(b.len, before);
    buf_free(&b);
}
END_TEST

typedef struct {
    uint16_t type;
    const uint8_t *data;
    uint16_t len;
} tctx;

static const uint8_t PREAUTH_OK[38] = {1, 0, 32, 0, 1, 0, 0xAA}; /* count 1, salt 32, SHA512 */
static const uint8_t CIPHER_GCM[4] = {1, 0, 2, 0};
static const uint8_t SIGN_GMAC[4] = {1, 0, 2, 0};
static const uint8_t COMPRESS[10] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 0};

/* NEGOTIATE response: 10-byte security buffer at 128, then contexts. */
static void build_neg(smbw_buf *b, uint16_t dialect, const tctx *ctx, int n)
{
    buf_reset(b);
    rsp_hdr(b, SMB2_NEGOTIATE, 0);
    buf_u16(b, 65);
    buf_u16(b, 1);       /* SecurityMode */
    buf_u16(b, dialect); /* DialectRevision */
    buf_u16(b, (uint16_t)n);
    for (int i = 0; i < 16; i++)
        buf_u8(b, (uint8_t)(0x10 + i));
    buf_u32(b, 0x2F);    /* Capabilities */
    buf_u32(b, 8388608); /* MaxTransactSize */
    buf_u32(b, 8388608); /* MaxReadSize */
    buf_u32(b, 1048576); /* MaxWriteSize */
    buf_u64(b, 1234567); /* SystemTime */
    buf_u64(b, 7654321); /* ServerStartTime */
    buf_u16(b, 128);     /* SecurityBufferOffset */
    buf_u16(b, 10);      /* SecurityBufferLength */
    buf_u32(b, 0);       /* NegotiateContextOffset, patched */
    ck_assert_uint_eq(b->len, 128);
    for (int i = 0; i < 10; i++)
        buf_u8(b, (uint8_t)(0x60 + i));
    for (int i = 0; i < n; i++) {
        buf_align(b, 8);
        if (i == 0)
            buf_set_u32(b, 124, (uint32_t)b->len);
        buf_u16(b, ctx[i].type);
        buf_u16(b, ctx[i].len);
        buf_u32(b, 0);
        buf_put(b, ctx[i].data, ctx[i].len);
    }
    ck_assert(!b->failed);
}

static const tctx NEG_GOOD[] = {
    {SMB2_PREAUTH_INTEGRITY_CAPABILITIES, PREAUTH_OK, 38},
    {SMB2_ENCRYPTION_CAPABILITIES, CIPHER_GCM, 4},
    {SMB2_COMPRESSION_CAPABILITIES, COMPRESS, 10},
    {SMB2_SIGNING_CAPABILITIES, SIGN_GMAC, 4},
};

START_TEST(test_negotiate_rsp)
{
    smbw_buf b;
    smb2_negotiate_rsp r;
    buf_init(&b);
    build_neg(&b, 0x0311, NEG_GOOD, 4);
    ck_assert_uint_eq(get_u32(b.p + 124), 144);
    ck_assert_int_eq(wire_decode_negotiate(b.p, b.len, &r), 0);
    ck_assert_uint_eq(r.security_mode, 1);
    ck_assert_uint_eq(r.dialect, 0x0311);
    ck_assert_uint_eq(r.server_guid[0], 0x10);
    ck_assert_uint_eq(r.capabilities, 0x2F);
    ck_assert_uint_eq(r.max_transact, 8388608);
    ck_assert_uint_eq(r.max_read, 8388608);
    ck_assert_uint_eq(r.max_write, 1048576);
    ck_assert_uint_eq(r.system_time, 1234567);
    ck_assert_uint_eq(r.server_start_time, 7654321);
    ck_assert_ptr_eq(r.security_buffer, b.p + 128);
    ck_assert_uint_eq(r.security_buffer_len, 10);
    ck_assert(r.have_preauth);
    ck_assert_uint_eq(r.preauth_hash_alg, SMB2_PREAUTH_SHA512);
    ck_assert(r.have_cipher);
    ck_assert_uint_eq(r.cipher, SMB2_ENCRYPTION_AES128_GCM);
    ck_assert(r.have_signing);
    ck_assert_uint_eq(r.signing_alg, SMB2_SIGNING_AES_GMAC);
    CHECK_TRUNC(wire_decode_negotiate, smb2_negotiate_rsp, b.p, b.len);
    CHECK_BAD_SS(wire_decode_negotiate, smb2_negotiate_rsp, b.p, b.len);

    /* context list problems */
    ck_assert_int_eq(patched32(a_negotiate, &b, 124, 140, &r), SMBW_EPROTO); /* misaligned */
    ck_assert_int_eq(patched32(a_negotiate, &b, 124, 0xFFFFFFF8u, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched32(a_negotiate, &b, 124, 64, &r), SMBW_EPROTO); /* in the header */
    ck_assert_int_eq(patched16(a_negotiate, &b, 70, 5, &r), SMBW_EPROTO);   /* count too big */
    ck_assert_int_eq(patched16(a_negotiate, &b, 70, 0, &r), SMBW_EPROTO);   /* no preauth */
    ck_assert_int_eq(patched16(a_negotiate, &b, 70, 1, &r), 0);             /* preauth only */
    ck_assert(!r.have_cipher && !r.have_signing);
    /* last context's DataLength beyond the message */
    ck_assert_int_eq(patched16(a_negotiate, &b, 232 + 2, 5, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_negotiate, &b, 232 + 2, 0xFFFF, &r), SMBW_EPROTO);
    /* preauth: count, algorithm, salt length */
    ck_assert_int_eq(patched16(a_negotiate, &b, 152, 2, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_negotiate, &b, 152, 0, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_negotiate, &b, 156, 2, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_negotiate, &b, 154, 33, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_negotiate, &b, 154, 0, &r), 0);
    /* cipher / signing counts must be 1 */
    ck_assert_int_eq(patched16(a_negotiate, &b, 200, 2, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_negotiate, &b, 200, 0, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_negotiate, &b, 240, 2, &r), SMBW_EPROTO);
    /* cipher 0: none in common, still valid */
    ck_assert_int_eq(patched16(a_negotiate, &b, 202, 0, &r), 0);
    ck_assert(r.have_cipher);
    ck_assert_uint_eq(r.cipher, 0);
    /* security buffer out of range / inside the fixed part */
    ck_assert_int_eq(patched16(a_negotiate, &b, 120, 240, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_negotiate, &b, 120, 64, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_negotiate, &b, 122, 0xFFFF, &r), SMBW_EPROTO);

    /* duplicate preauth; missing preauth */
    {
        tctx two[] = {NEG_GOOD[0], NEG_GOOD[1], NEG_GOOD[0]};
        build_neg(&b, 0x0311, two, 3);
        ck_assert_int_eq(wire_decode_negotiate(b.p, b.len, &r), SMBW_EPROTO);
        tctx twoc[] = {NEG_GOOD[0], NEG_GOOD[1], NEG_GOOD[1]};
        build_neg(&b, 0x0311, twoc, 3);
        ck_assert_int_eq(wire_decode_negotiate(b.p, b.len, &r), SMBW_EPROTO);
        tctx none[] = {NEG_GOOD[1], NEG_GOOD[3]};
        build_neg(&b, 0x0311, none, 2);
        ck_assert_int_eq(wire_decode_negotiate(b.p, b.len, &r), SMBW_EPROTO);
        /* unknown context types are skipped */
        static const uint8_t odd[3] = {9, 9, 9};
        tctx unk[] = {{0x7777, odd, 3}, NEG_GOOD[0], {0x0006, odd, 0}};
        build_neg(&b, 0x0311, unk, 3);
        ck_assert_int_eq(wire_decode_negotiate(b.p, b.len, &r), 0);
        ck_assert(r.have_preauth && !r.have_cipher);
    }

    /* below 3.1.1 the context fields are reserved and ignored */
    build_neg(&b, 0x0302, NULL, 0);
    put_u16(b.p + 70, 3);
    put_u32(b.p + 124, 0xFFFFFFFF);
    ck_assert_int_eq(wire_decode_negotiate(b.p, b.len, &r), 0);
    ck_assert(!r.have_preauth && !r.have_cipher && !r.have_signing);
    /* no security buffer */
    put_u16(b.p + 122, 0);
    ck_assert_int_eq(wire_decode_negotiate(b.p, 128, &r), 0);
    ck_assert_ptr_null(r.security_buffer);
    buf_free(&b);
}
END_TEST

/* ---- SESSION_SETUP / empty bodies ------------------------------------------ */

START_TEST(test_session_setup)
{
    smbw_buf b;
    smb2_session_setup_req q;
    smb2_session_setup_rsp r;
    static const uint8_t tok[5] = {0x60, 1, 2, 3, 4};
    buf_init(&b);
    memset(&q, 0, sizeof q);
    q.flags = SMB2_SESSION_FLAG_BINDING;
    q.security_mode = 1;
    q.capabilities = 1;
    q.previous_session_id = 0x99;
    q.token = tok;
    q.token_len = 5;
    ck_assert_int_eq(wire_encode_session_setup(&b, &q), 0);
    ck_assert_uint_eq(b.len, 24 + 5);
    ck_assert_uint_eq(get_u16(b.p), 25);
    ck_assert_uint_eq(b.p[2], 1);
    ck_assert_uint_eq(b.p[3], 1);
    ck_assert_uint_eq(get_u32(b.p + 4), 1);
    ck_assert_uint_eq(get_u32(b.p + 8), 0);
    ck_assert_uint_eq(get_u16(b.p + 12), 88);
    ck_assert_uint_eq(get_u16(b.p + 14), 5);
    ck_assert_uint_eq(get_u64(b.p + 16), 0x99);
    ck_assert_mem_eq(b.p + 24, tok, 5);
    q.token_len = 70000;
    ck_assert_int_eq(wire_encode_session_setup(&b, &q), SMBW_EINVAL);
    ck_assert_uint_eq(b.len, 29);

    buf_reset(&b);
    rsp_hdr(&b, SMB2_SESSION_SETUP, SMBW_STATUS_MORE_PROCESSING_REQUIRED);
    buf_u16(&b, 9);
    buf_u16(&b, SMB2_SESSION_FLAG_IS_GUEST);
    buf_u16(&b, 72);
    buf_u16(&b, 5);
    buf_put(&b, tok, 5);
    ck_assert_int_eq(wire_decode_session_setup(b.p, b.len, &r), 0);
    ck_assert_uint_eq(r.session_flags, SMB2_SESSION_FLAG_IS_GUEST);
    ck_assert_ptr_eq(r.token, b.p + 72);
    ck_assert_uint_eq(r.token_len, 5);
    CHECK_TRUNC(wire_decode_session_setup, smb2_session_setup_rsp, b.p, b.len);
    CHECK_BAD_SS(wire_decode_session_setup, smb2_session_setup_rsp, b.p, b.len);
    ck_assert_int_eq(patched16(a_session_setup, &b, 68, 70, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_session_setup, &b, 68, 0, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_session_setup, &b, 68, 73, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_session_setup, &b, 70, 6, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_session_setup, &b, 70, 0, &r), 0);
    ck_assert_ptr_null(r.token);

    buf_reset(&b);
    ck_assert_int_eq(wire_encode_empty4(&b), 0);
    static const uint8_t e4[] = {4, 0, 0, 0};
    ck_assert_uint_eq(b.len, 4);
    ck_assert_mem_eq(b.p, e4, 4);
    buf_free(&b);
}
END_TEST

/* ---- TREE_CONNECT ---------------------------------------------------------- */

START_TEST(test_tree_connect)
{
    smbw_buf b;
    smb2_tree_connect_rsp r;
    buf_init(&b);
    ck_assert_int_eq(wire_encode_tree_connect(&b, 0, "\\\\srv\\sh"), 0);
    ck_assert_uint_eq(get_u16(b.p), 9);
    ck_assert_uint_eq(get_u16(b.p + 4), 72);
    ck_assert_uint_eq(get_u16(b.p + 6), 16);
    ck_assert_uint_eq(b.len, 8 + 16);
    static const uint8_t path[] = {'\\', 0, '\\', 0, 's', 0, 'r', 0,
                                   'v',  0, '\\', 0, 's', 0, 'h', 0};
    ck_assert_mem_eq(b.p + 8, path, 16);
    ck_assert_int_eq(wire_encode_tree_connect(&b, 0, ""), SMBW_EINVAL);
    ck_assert_int_eq(wire_encode_tree_connect(&b, 0, NULL), SMBW_EINVAL);
    ck_assert_int_eq(wire_encode_tree_connect(&b, 0, "\\\\srv\\\xC0\x80"), SMBW_EINVAL);
    ck_assert_uint_eq(b.len, 24); /* failures leave nothing behind */

    buf_reset(&b);
    rsp_hdr(&b, SMB2_TREE_CONNECT, 0);
    buf_u16(&b, 16);
    buf_u8(&b, SMB2_SHARE_TYPE_DISK);
    buf_u8(&b, 0);
    buf_u32(&b, SMB2_SHAREFLAG_ENCRYPT_DATA);
    buf_u32(&b, SMB2_SHARE_CAP_DFS);
    buf_u32(&b, 0x001F01FF);
    ck_assert_int_eq(wire_decode_tree_connect(b.p, b.len, &r), 0);
    ck_assert_uint_eq(r.share_type, SMB2_SHARE_TYPE_DISK);
    ck_assert_uint_eq(r.share_flags, SMB2_SHAREFLAG_ENCRYPT_DATA);
    ck_assert_uint_eq(r.capabilities, SMB2_SHARE_CAP_DFS);
    ck_assert_uint_eq(r.maximal_access, 0x001F01FF);
    CHECK_TRUNC(wire_decode_tree_connect, smb2_tree_connect_rsp, b.p, b.len);
    CHECK_BAD_SS(wire_decode_tree_connect, smb2_tree_connect_rsp, b.p, b.len);
    buf_free(&b);
}
END_TEST

/* ---- CREATE / CLOSE / FLUSH ------------------------------------------------ */

/* Appends one create context; returns its offset in b. */
static size_t add_ctx(smbw_buf *b, const char *name, const uint8_t *data, uint32_t dlen, bool last)
{
    buf_align(b, 8);
    size_t at = b->len;
    size_t nlen = strlen(name);
    buf_u32(b, 0);
    buf_u16(b, 16);
    buf_u16(b, (uint16_t)nlen);
    buf_u16(b, 0);
    buf_u16(b, dlen ? (uint16_t)((16 + nlen + 7) & ~(size_t)7) : 0);
    buf_u32(b, dlen);
    buf_put(b, name, nlen);
    if (dlen) {
        buf_align(b, 8);
        buf_put(b, data, dlen);
    }
    if (!last) {
        buf_align(b, 8);
        buf_set_u32(b, at, (uint32_t)(b->len - at));
    }
    return at;
}

static void ctx_chain(smbw_buf *b)
{
    static const uint8_t lease[32] = {0xAB};
    buf_reset(b);
    add_ctx(b, "MxAc", NULL, 0, false);
    add_ctx(b, "RqLs", lease, 32, false);
    add_ctx(b, "QFid", NULL, 0, true);
}

typedef struct {
    int n;
    char names[4][8];
    size_t dlen[4];
} ctx_seen;

static int collect(void *ud, const uint8_t *name, size_t namelen, const uint8_t *data,
                   size_t datalen)
{
    ctx_seen *s = ud;
    if (s->n >= 4 || namelen >= 8)
        return -100;
    memcpy(s->names[s->n], name, namelen);
    s->names[s->n][namelen] = 0;
    s->dlen[s->n] = datalen;
    if (datalen)
        ck_assert_ptr_nonnull(data);
    s->n++;
    return 0;
}

static int stop_cb(void *ud, const uint8_t *name, size_t namelen, const uint8_t *data,
                   size_t datalen)
{
    return -42;
}

static int walk(const uint8_t *p, size_t n)
{
    uint8_t *c = dup_bytes(p, n);
    ctx_seen s;
    memset(&s, 0, sizeof s);
    int rc = wire_walk_create_contexts(c, n, collect, &s);
    free(c);
    return rc;
}

/* QFid: the request context's bytes, and the answer found (or not) in a
 * chain, with its length checked. */
START_TEST(test_qfid)
{
    smbw_buf b;
    buf_init(&b);
    ck_assert_int_eq(wire_encode_ctx_qfid(&b, true), 0);
    ck_assert_uint_eq(b.len, WIRE_QFID_REQ_LEN);
    ck_assert_uint_eq(get_u32(b.p), WIRE_QFID_REQ_LEN);
    ck_assert(memcmp(b.p + 16, "QFid", 4) == 0);
    add_ctx(&b, "MxAc", NULL, 0, true);
    ctx_seen s;
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(wire_walk_create_contexts(b.p, b.len, collect, &s), 0);
    ck_assert_int_eq(s.n, 2);
    ck_assert_str_eq(s.names[0], "QFid");
    ck_assert_str_eq(s.names[1], "MxAc");
    buf_reset(&b);
    ck_assert_int_eq(wire_encode_ctx_qfid(&b, false), 0);
    ck_assert_uint_eq(get_u32(b.p), 0);
    buf_u8(&b, 1); /* not 8-byte aligned any more */
    ck_assert_int_eq(wire_encode_ctx_qfid(&b, false), SMBW_EINVAL);

    uint8_t data[65], id[WIRE_DISK_ID_LEN];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(0x40 + i);
    bool found = true;
    buf_reset(&b);
    add_ctx(&b, "MxAc", data, 8, true);
    ck_assert_int_eq(wire_decode_qfid(b.p, b.len, id, &found), 0);
    ck_assert(!found);
    ck_assert_int_eq(wire_decode_qfid(NULL, 0, id, &found), 0);
    ck_assert(!found);
    static const uint32_t ok_lens[] = {16, 32, 56, 64};
    for (size_t k = 0; k < 4; k++) {
        buf_reset(&b);
        add_ctx(&b, "MxAc", data, 8, false);
        add_ctx(&b, "QFid", data, ok_lens[k], true);
        memset(id, 0, sizeof id);
        ck_assert_int_eq(wire_decode_qfid(b.p, b.len, id, &found), 0);
        ck_assert(found);
        ck_assert(memcmp(id, data, sizeof id) == 0);
    }
    static const uint32_t bad_lens[] = {0, 8, 15, 65};
    for (size_t k = 0; k < 4; k++) {
        buf_reset(&b);
        add_ctx(&b, "QFid", data, bad_lens[k], true);
        ck_assert_msg(wire_decode_qfid(b.p, b.len, id, &found) == SMBW_EPROTO, "length %u",
                      bad_lens[k]);
    }
    /* A chain cut short: refused. */
    buf_reset(&b);
    add_ctx(&b, "QFid", data, 32, true);
    ck_assert_int_eq(wire_decode_qfid(b.p, b.len - 1, id, &found), SMBW_EPROTO);
    buf_free(&b);
}
END_TEST

/* Durable contexts: the four request forms byte by byte (name, offsets,
 * data), chained with Next, and the answers (DHnQ, DH2Q) with their lengths
 * checked. */
START_TEST(test_durable_ctx)
{
    smbw_buf b;
    buf_init(&b);
    smb2_durable_req r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < 16; i++) {
        r.create_guid[i] = (uint8_t)(0xA0 + i);
        r.file_id[i] = (uint8_t)(0x10 + i);
    }
    r.timeout_ms = 60000;
    r.flags = 0;
    static const struct {
        bool v2, reconnect;
        const char *name;
        uint32_t dlen;
    } forms[] = {{false, false, "DHnQ", 16},
                 {false, true, "DHnC", 16},
                 {true, false, "DH2Q", 32},
                 {true, true, "DH2C", 36}};
    for (size_t k = 0; k < 4; k++) {
        buf_reset(&b);
        r.v2 = forms[k].v2;
        r.reconnect = forms[k].reconnect;
        ck_assert_int_eq(wire_encode_ctx_durable(&b, &r, false), 0);
        ck_assert_uint_eq(get_u32(b.p), 0);
        ck_assert(memcmp(b.p + 16, forms[k].name, 4) == 0);
        ck_assert_uint_eq(get_u32(b.p + 12), forms[k].dlen);
        ck_assert_uint_eq(b.len, 24 + forms[k].dlen);
        const uint8_t *d = b.p + 24;
        if (!r.v2 && !r.reconnect)
            for (int i = 0; i < 16; i++)
                ck_assert_uint_eq(d[i], 0);
        if (!r.v2 && r.reconnect)
            ck_assert(memcmp(d, r.file_id, 16) == 0);
        if (r.v2 && !r.reconnect) {
            ck_assert_uint_eq(get_u32(d), 60000);
            ck_assert(memcmp(d + 16, r.create_guid, 16) == 0);
        }
        if (r.v2 && r.reconnect) {
            ck_assert(memcmp(d, r.file_id, 16) == 0);
            ck_assert(memcmp(d + 16, r.create_guid, 16) == 0);
        }
        /* Chained before another context, the walk sees both. */
        buf_reset(&b);
        ck_assert_int_eq(wire_encode_ctx_durable(&b, &r, true), 0);
        ck_assert_uint_eq(get_u32(b.p), b.len);
        ck_assert_uint_eq(b.len % 8, 0);
        ck_assert_int_eq(wire_encode_ctx_qfid(&b, false), 0);
        ctx_seen s;
        memset(&s, 0, sizeof s);
        ck_assert_int_eq(wire_walk_create_contexts(b.p, b.len, collect, &s), 0);
        ck_assert_int_eq(s.n, 2);
        ck_assert_str_eq(s.names[0], forms[k].name);
        ck_assert_uint_eq(s.dlen[0], forms[k].dlen);
    }
    buf_reset(&b);
    buf_u8(&b, 1);
    ck_assert_int_eq(wire_encode_ctx_durable(&b, &r, false), SMBW_EINVAL);

    /* Answers. */
    uint8_t data[16] = {0x30, 0x75, 0, 0, 2, 0, 0, 0};
    smb2_durable_rsp o;
    buf_reset(&b);
    add_ctx(&b, "DH2Q", data, 8, true);
    ck_assert_int_eq(wire_decode_durable(b.p, b.len, &o), 0);
    ck_assert(o.granted && o.v2);
    ck_assert_uint_eq(o.timeout_ms, 30000);
    ck_assert_uint_eq(o.flags, SMB2_DHANDLE_FLAG_PERSISTENT);
    buf_reset(&b);
    add_ctx(&b, "MxAc", data, 8, false);
    add_ctx(&b, "DHnQ", data, 8, true);
    ck_assert_int_eq(wire_decode_durable(b.p, b.len, &o), 0);
    ck_assert(o.granted && !o.v2);
    buf_reset(&b);
    add_ctx(&b, "MxAc", data, 8, true);
    ck_assert_int_eq(wire_decode_durable(b.p, b.len, &o), 0);
    ck_assert(!o.granted);
    ck_assert_int_eq(wire_decode_durable(NULL, 0, &o), 0);
    ck_assert(!o.granted);
    buf_reset(&b);
    add_ctx(&b, "DH2Q", data, 4, true); /* too short */
    ck_assert_int_eq(wire_decode_durable(b.p, b.len, &o), SMBW_EPROTO);
    ck_assert(!o.granted);
    buf_reset(&b);
    add_ctx(&b, "DHnQ", data, 4, true); /* too short */
    ck_assert_int_eq(wire_decode_durable(b.p, b.len, &o), SMBW_EPROTO);
    buf_reset(&b);
    add_ctx(&b, "DHnQ", NULL, 0, true); /* no data */
    ck_assert_int_eq(wire_decode_durable(b.p, b.len, &o), SMBW_EPROTO);
    buf_reset(&b);
    add_ctx(&b, "DHnQ", data, 8, false);
    add_ctx(&b, "DH2Q", data, 8, true); /* both */
    ck_assert_int_eq(wire_decode_durable(b.p, b.len, &o), SMBW_EPROTO);
    buf_free(&b);
}
END_TEST

/* OPLOCK_BREAK: the notification decoded (levels II and none), a lease
 * break told apart, malformed ones refused; the acknowledgment's bytes. */
START_TEST(test_oplock_break)
{
    uint8_t msg[64 + 44];
    memset(msg, 0, sizeof msg);
    uint8_t id[16], fid[16];
    for (int i = 0; i < 16; i++)
        fid[i] = (uint8_t)(0x70 + i);
    msg[64] = 24;
    msg[66] = SMB2_OPLOCK_LEVEL_II;
    memcpy(msg + 72, fid, 16);
    uint8_t level = 0xEE;
    ck_assert_int_eq(wire_decode_oplock_break(msg, 64 + 24, &level, id), 0);
    ck_assert_uint_eq(level, SMB2_OPLOCK_LEVEL_II);
    ck_assert(memcmp(id, fid, 16) == 0);
    msg[66] = SMB2_OPLOCK_LEVEL_NONE;
    ck_assert_int_eq(wire_decode_oplock_break(msg, 64 + 24, &level, id), 0);
    ck_assert_uint_eq(level, SMB2_OPLOCK_LEVEL_NONE);
    ck_assert_int_eq(wire_decode_oplock_break(msg, 64 + 23, &level, id), SMBW_EPROTO);
    ck_assert_int_eq(wire_decode_oplock_break(msg, 63, &level, id), SMBW_EPROTO);
    msg[66] = SMB2_OPLOCK_LEVEL_BATCH; /* a break is never up to batch */
    ck_assert_int_eq(wire_decode_oplock_break(msg, 64 + 24, &level, id), SMBW_EPROTO);
    msg[66] = 0;
    msg[64] = 25;
    ck_assert_int_eq(wire_decode_oplock_break(msg, 64 + 24, &level, id), SMBW_EPROTO);
    msg[64] = 44; /* lease break notification */
    ck_assert_int_eq(wire_decode_oplock_break(msg, sizeof msg, &level, id), 1);
    ck_assert_int_eq(wire_decode_oplock_break(msg, sizeof msg - 1, &level, id), SMBW_EPROTO);

    smbw_buf b;
    buf_init(&b);
    ck_assert_int_eq(wire_encode_oplock_ack(&b, SMB2_OPLOCK_LEVEL_II, fid), 0);
    ck_assert_uint_eq(b.len, 24);
    ck_assert_uint_eq(get_u16(b.p), 24);
    ck_assert_uint_eq(b.p[2], SMB2_OPLOCK_LEVEL_II);
    ck_assert(memcmp(b.p + 8, fid, 16) == 0);
    buf_free(&b);
}
END_TEST

/* Lease contexts: the RqLs v2 request byte by byte (52 bytes of data, key,
 * state, zero parent key, epoch) and chained; the answers (v2 52 bytes, v1
 * 32 bytes) decoded, and every bad length, bad state or second context
 * refused. */
START_TEST(test_lease_ctx)
{
    smbw_buf b;
    buf_init(&b);
    smb2_lease l;
    memset(&l, 0, sizeof l);
    for (int i = 0; i < 16; i++)
        l.key[i] = (uint8_t)(0xC0 + i);
    l.state = SMB2_LEASE_READ | SMB2_LEASE_WRITE | SMB2_LEASE_HANDLE;
    l.epoch = 3;
    ck_assert_int_eq(wire_encode_ctx_lease(&b, &l, false), 0);
    ck_assert_uint_eq(b.len, 24 + 52);
    ck_assert_uint_eq(get_u32(b.p), 0);       /* Next */
    ck_assert_uint_eq(get_u16(b.p + 4), 16);  /* NameOffset */
    ck_assert_uint_eq(get_u16(b.p + 6), 4);   /* NameLength */
    ck_assert_uint_eq(get_u16(b.p + 10), 24); /* DataOffset */
    ck_assert_uint_eq(get_u32(b.p + 12), 52); /* DataLength */
    ck_assert(memcmp(b.p + 16, "RqLs", 4) == 0);
    const uint8_t *d = b.p + 24;
    ck_assert(memcmp(d, l.key, 16) == 0);
    ck_assert_uint_eq(get_u32(d + 16), 7); /* LeaseState */
    ck_assert_uint_eq(get_u32(d + 20), 0); /* Flags */
    for (int i = 24; i < 48; i++)          /* LeaseDuration, ParentLeaseKey */
        ck_assert_uint_eq(d[i], 0);
    ck_assert_uint_eq(get_u16(d + 48), 3); /* Epoch */
    /* Chained: Next is the padded length, the walk sees both. */
    buf_reset(&b);
    ck_assert_int_eq(wire_encode_ctx_lease(&b, &l, true), 0);
    ck_assert_uint_eq(b.len, 80);
    ck_assert_uint_eq(get_u32(b.p), 80);
    ck_assert_int_eq(wire_encode_ctx_qfid(&b, false), 0);
    ctx_seen s;
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(wire_walk_create_contexts(b.p, b.len, collect, &s), 0);
    ck_assert_int_eq(s.n, 2);
    ck_assert_str_eq(s.names[0], "RqLs");
    ck_assert_uint_eq(s.dlen[0], 52);
    /* The server's answer is the same layout: decoded back. */
    smb2_lease o;
    buf_reset(&b);
    ck_assert_int_eq(wire_encode_ctx_lease(&b, &l, false), 0);
    ck_assert_int_eq(wire_decode_lease(b.p, b.len, &o), 0);
    ck_assert(o.granted && o.v2);
    ck_assert(memcmp(o.key, l.key, 16) == 0);
    ck_assert_uint_eq(o.state, 7);
    ck_assert_uint_eq(o.epoch, 3);
    buf_reset(&b);
    ck_assert_int_eq(wire_encode_ctx_lease(&b, &l, true), 0);
    ck_assert_int_eq(wire_encode_ctx_lease(&b, &l, false), 0); /* twice */
    ck_assert_int_eq(wire_decode_lease(b.p, b.len, &o), SMBW_EPROTO);
    ck_assert(!o.granted);
    buf_reset(&b);
    buf_u8(&b, 1);
    ck_assert_int_eq(wire_encode_ctx_lease(&b, &l, false), SMBW_EINVAL);

    uint8_t data[56];
    memset(data, 0, sizeof data);
    memcpy(data, l.key, 16);
    data[16] = SMB2_LEASE_READ | SMB2_LEASE_HANDLE;
    buf_reset(&b);
    add_ctx(&b, "MxAc", data, 8, false);
    add_ctx(&b, "RqLs", data, 32, true); /* version 1 */
    ck_assert_int_eq(wire_decode_lease(b.p, b.len, &o), 0);
    ck_assert(o.granted && !o.v2);
    ck_assert_uint_eq(o.state, SMB2_LEASE_READ | SMB2_LEASE_HANDLE);
    buf_reset(&b);
    add_ctx(&b, "MxAc", data, 8, true);
    ck_assert_int_eq(wire_decode_lease(b.p, b.len, &o), 0);
    ck_assert(!o.granted);
    ck_assert_int_eq(wire_decode_lease(NULL, 0, &o), 0);
    static const uint32_t bad[] = {0, 16, 31, 33, 51, 53, 56};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        buf_reset(&b);
        add_ctx(&b, "RqLs", bad[k] ? data : NULL, bad[k], true);
        ck_assert_int_eq(wire_decode_lease(b.p, b.len, &o), SMBW_EPROTO);
        ck_assert(!o.granted);
    }
    data[16] = 0x08; /* no such state */
    buf_reset(&b);
    add_ctx(&b, "RqLs", data, 52, true);
    ck_assert_int_eq(wire_decode_lease(b.p, b.len, &o), SMBW_EPROTO);
    buf_free(&b);
}
END_TEST

/* Lease break notification (2.2.23.2) from scripted bytes: decoded field by
 * field; short, other sizes, unknown state bits and a "break" that adds
 * state refused. The acknowledgment's bytes (2.2.24.2) and its answer. */
START_TEST(test_lease_break)
{
    uint8_t msg[64 + 44];
    memset(msg, 0, sizeof msg);
    uint8_t key[16];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)(0x50 + i);
    msg[64] = 44;
    msg[66] = 5; /* NewEpoch */
    msg[68] = 1; /* Flags: ACK_REQUIRED */
    memcpy(msg + 72, key, 16);
    msg[88] = 7; /* CurrentLeaseState RWH */
    msg[92] = 3; /* NewLeaseState RH */
    msg[96] = 0; /* BreakReason */
    smb2_lease_break lb;
    uint8_t level, id[16];
    ck_assert_int_eq(wire_decode_oplock_break(msg, sizeof msg, &level, id), 1);
    ck_assert_int_eq(wire_decode_lease_break(msg, sizeof msg, &lb), 0);
    ck_assert_uint_eq(lb.new_epoch, 5);
    ck_assert_uint_eq(lb.flags, SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED);
    ck_assert(memcmp(lb.key, key, 16) == 0);
    ck_assert_uint_eq(lb.current_state, 7);
    ck_assert_uint_eq(lb.new_state, 3);
    ck_assert_int_eq(wire_decode_lease_break(msg, sizeof msg - 1, &lb), SMBW_EPROTO);
    ck_assert_int_eq(wire_decode_lease_break(msg, 63, &lb), SMBW_EPROTO);
    ck_assert_int_eq(wire_decode_lease_break(NULL, 0, &lb), SMBW_EPROTO);
    msg[92] = 8; /* a state that is not one */
    ck_assert_int_eq(wire_decode_lease_break(msg, sizeof msg, &lb), SMBW_EPROTO);
    msg[88] = 3;
    msg[92] = 5; /* W was not held: a break never adds */
    ck_assert_int_eq(wire_decode_lease_break(msg, sizeof msg, &lb), SMBW_EPROTO);
    msg[88] = 0x17;
    msg[92] = 0;
    ck_assert_int_eq(wire_decode_lease_break(msg, sizeof msg, &lb), SMBW_EPROTO);
    msg[88] = 7;
    msg[64] = 24; /* an oplock break is not a lease break */
    ck_assert_int_eq(wire_decode_lease_break(msg, sizeof msg, &lb), SMBW_EPROTO);

    smbw_buf b;
    buf_init(&b);
    ck_assert_int_eq(wire_encode_lease_ack(&b, key, SMB2_LEASE_READ), 0);
    ck_assert_uint_eq(b.len, 36);
    ck_assert_uint_eq(get_u16(b.p), 36);
    ck_assert_uint_eq(get_u32(b.p + 4), 0);
    ck_assert(memcmp(b.p + 8, key, 16) == 0);
    ck_assert_uint_eq(get_u32(b.p + 24), SMB2_LEASE_READ);
    /* Its answer has the same layout after the header. */
    uint8_t rsp[64 + 36];
    memset(rsp, 0, 64);
    memcpy(rsp + 64, b.p, 36);
    uint8_t k2[16];
    uint32_t st = 99;
    ck_assert_int_eq(wire_decode_lease_ack(rsp, sizeof rsp, k2, &st), 0);
    ck_assert_uint_eq(st, SMB2_LEASE_READ);
    ck_assert(memcmp(k2, key, 16) == 0);
    ck_assert_int_eq(wire_decode_lease_ack(rsp, sizeof rsp - 1, k2, &st), SMBW_EPROTO);
    rsp[64] = 44;
    ck_assert_int_eq(wire_decode_lease_ack(rsp, sizeof rsp, k2, &st), SMBW_EPROTO);
    rsp[64] = 36;
    rsp[88] = 0x10;
    ck_assert_int_eq(wire_decode_lease_ack(rsp, sizeof rsp, k2, &st), SMBW_EPROTO);
    buf_free(&b);
}
END_TEST

START_TEST(test_create_contexts)
{
    smbw_buf b;
    ctx_seen s;
    buf_init(&b);
    ctx_chain(&b);
    ck_assert_uint_eq(b.len, 24 + 56 + 20);
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(wire_walk_create_contexts(b.p, b.len, collect, &s), 0);
    ck_assert_int_eq(s.n, 3);
    ck_assert_str_eq(s.names[0], "MxAc");
    ck_assert_str_eq(s.names[1], "RqLs");
    ck_assert_str_eq(s.names[2], "QFid");
    ck_assert_uint_eq(s.dlen[1], 32);
    ck_assert_int_eq(wire_walk_create_contexts(b.p, b.len, stop_cb, NULL), -42);
    ck_assert_int_eq(wire_walk_create_contexts(NULL, 0, collect, &s), 0);
    /* every truncation of the chain is rejected */
    for (size_t l = 1; l < b.len; l++)
        ck_assert_msg(walk(b.p, l) == SMBW_EPROTO, "chain prefix %zu accepted", l);
    ck_assert_int_eq(walk(b.p, b.len), 0);

    uint8_t *c = dup_bytes(b.p, b.len);
#define BAD16(off, v)                                                                              \
    do {                                                                                           \
        memcpy(c, b.p, b.len);                                                                     \
        put_u16(c + (off), (v));                                                                   \
        ck_assert_int_eq(walk(c, b.len), SMBW_EPROTO);                                             \
    } while (0)
#define BAD32(off, v)                                                                              \
    do {                                                                                           \
        memcpy(c, b.p, b.len);                                                                     \
        put_u32(c + (off), (v));                                                                   \
        ck_assert_int_eq(walk(c, b.len), SMBW_EPROTO);                                             \
    } while (0)
    BAD32(0, 20);              /* Next not a multiple of 8 */
    BAD32(0, 8);               /* Next inside the fixed part */
    BAD32(0, (uint32_t)b.len); /* Next at/after the end */
    BAD32(0, 0xFFFFFFF8u);     /* Next far away */
    BAD16(4, 8);               /* NameOffset inside the fixed part */
    BAD16(4, 22);              /* name runs past the context */
    BAD16(6, 3);               /* name shorter than 4 */
    BAD16(6, 9);               /* name longer than the context */
    BAD16(24 + 10, 28);        /* DataOffset misaligned */
    BAD16(24 + 10, 16);        /* data overlaps the name */
    BAD16(24 + 10, 40);        /* data past the context (Next 56) */
    BAD32(24 + 12, 33);        /* DataLength past the context */
    BAD32(24 + 12, 0xFFFFFFFFu);
    BAD32(80 + 12, 8); /* last context: data past the end of the chain */
#undef BAD16
#undef BAD32
    free(c);
    buf_free(&b);
}
END_TEST

START_TEST(test_create_contexts_last_data_offset_ignored)
{
    smbw_buf b;
    buf_init(&b);
    ctx_chain(&b);
    uint8_t *c = dup_bytes(b.p, b.len);
    /* DataOffset is irrelevant when DataLength is 0 */
    put_u16(c + 80 + 10, 0x1234);
    ck_assert_int_eq(walk(c, b.len), 0);
    free(c);
    buf_free(&b);
}
END_TEST

START_TEST(test_create_req)
{
    smbw_buf b, ctx;
    smb2_create_req q;
    buf_init(&b);
    buf_init(&ctx);
    ctx_chain(&ctx);
    memset(&q, 0, sizeof q);
    q.oplock_level = 0;
    q.impersonation_level = SMB2_IMPERSONATION_IMPERSONATION;
    q.desired_access = GENERIC_READ | SYNCHRONIZE;
    q.file_attributes = SMBW_FILE_ATTRIBUTE_NORMAL;
    q.share_access = FILE_SHARE_READ | FILE_SHARE_WRITE;
    q.create_disposition = FILE_OPEN;
    q.create_options = FILE_NON_DIRECTORY_FILE;
    q.name = "d\\abc";
    q.contexts = ctx.p;
    q.contexts_len = ctx.len;
    buf_u8(&b, 0xEE); /* something already in the buffer, unaligned */
    ck_assert_int_eq(wire_encode_create(&b, &q), 0);
    const uint8_t *p = b.p + 1;
    ck_assert_uint_eq(get_u16(p), 57);
    ck_assert_uint_eq(get_u32(p + 4), SMB2_IMPERSONATION_IMPERSONATION);
    ck_assert_uint_eq(get_u32(p + 24), GENERIC_READ | SYNCHRONIZE);
    ck_assert_uint_eq(get_u32(p + 28), SMBW_FILE_ATTRIBUTE_NORMAL);
    ck_assert_uint_eq(get_u32(p + 32), FILE_SHARE_READ | FILE_SHARE_WRITE);
    ck_assert_uint_eq(get_u32(p + 36), FILE_OPEN);
    ck_assert_uint_eq(get_u32(p + 40), FILE_NON_DIRECTORY_FILE);
    ck_assert_uint_eq(get_u16(p + 44), 120);
    ck_assert_uint_eq(get_u16(p + 46), 10);
    static const uint8_t nm[] = {'d', 0, '\\', 0, 'a', 0, 'b', 0, 'c', 0};
    ck_assert_mem_eq(p + 56, nm, 10);
    uint32_t coff = get_u32(p + 48);
    ck_assert_uint_eq(coff, 136); /* 120 + 10 aligned to 8 */
    ck_assert_uint_eq(coff % 8, 0);
    ck_assert_uint_eq(get_u32(p + 52), ctx.len);
    ck_assert_mem_eq(p + coff - 64, ctx.p, ctx.len);
    ck_assert_uint_eq(b.len, 1 + coff - 64 + ctx.len);

    /* root open: empty name, no contexts: the Buffer is one zero byte */
    buf_reset(&b);
    q.name = "";
    q.contexts = NULL;
    q.contexts_len = 0;
    ck_assert_int_eq(wire_encode_create(&b, &q), 0);
    ck_assert_uint_eq(b.len, 57);
    ck_assert_uint_eq(get_u16(b.p + 46), 0);
    ck_assert_uint_eq(get_u32(b.p + 48), 0);
    ck_assert_uint_eq(get_u32(b.p + 52), 0);
    /* empty name with contexts: contexts right at 120 */
    buf_reset(&b);
    q.contexts = ctx.p;
    q.contexts_len = ctx.len;
    ck_assert_int_eq(wire_encode_create(&b, &q), 0);
    ck_assert_uint_eq(get_u32(b.p + 48), 120);
    ck_assert_uint_eq(b.len, 56 + ctx.len);
    /* malformed contexts are refused and nothing is appended */
    size_t before = b.len;
    uint8_t *bad = dup_bytes(ctx.p, ctx.len);
    put_u32(bad, 20);
    q.contexts = bad;
    ck_assert_int_eq(wire_encode_create(&b, &q), SMBW_EINVAL);
    ck_assert_uint_eq(b.len, before);
    free(bad);
    q.contexts = NULL;
    ck_assert_int_eq(wire_encode_create(&b, &q), SMBW_EINVAL);
    q.contexts_len = 0;
    q.name = "bad\xFF";
    ck_assert_int_eq(wire_encode_create(&b, &q), SMBW_EINVAL);
    ck_assert_uint_eq(b.len, before);
    buf_free(&ctx);
    buf_free(&b);
}
END_TEST

static void build_create_rsp(smbw_buf *b, const smbw_buf *ctx)
{
    buf_reset(b);
    rsp_hdr(b, SMB2_CREATE, 0);
    buf_u16(b, 89);
    buf_u8(b, 0);  /* OplockLevel */
    buf_u8(b, 0);  /* Flags */
    buf_u32(b, 1); /* CreateAction: opened */
    for (uint64_t i = 1; i <= 6; i++)
        buf_u64(b, i * 1000);
    buf_u32(b, SMBW_FILE_ATTRIBUTE_ARCHIVE);
    buf_u32(b, 0);
    buf_put(b, FID, 16);
    buf_u32(b, ctx ? 152 : 0);
    buf_u32(b, ctx ? (uint32_t)ctx->len : 0);
    ck_assert_uint_eq(b->len, 152);
    if (ctx)
        buf_put(b, ctx->p, ctx->len);
}

START_TEST(test_create_rsp)
{
    smbw_buf b, ctx;
    smb2_create_rsp r;
    buf_init(&b);
    buf_init(&ctx);
    ctx_chain(&ctx);
    build_create_rsp(&b, &ctx);
    ck_assert_int_eq(wire_decode_create(b.p, b.len, &r), 0);
    ck_assert_uint_eq(r.create_action, 1);
    ck_assert_uint_eq(r.t.creation_time, 1000);
    ck_assert_uint_eq(r.t.last_access_time, 2000);
    ck_assert_uint_eq(r.t.last_write_time, 3000);
    ck_assert_uint_eq(r.t.change_time, 4000);
    ck_assert_uint_eq(r.t.allocation_size, 5000);
    ck_assert_uint_eq(r.t.end_of_file, 6000);
    ck_assert_uint_eq(r.t.file_attributes, SMBW_FILE_ATTRIBUTE_ARCHIVE);
    ck_assert_mem_eq(r.file_id, FID, 16);
    ck_assert_ptr_eq(r.contexts, b.p + 152);
    ck_assert_uint_eq(r.contexts_len, ctx.len);
    CHECK_TRUNC(wire_decode_create, smb2_create_rsp, b.p, b.len);
    CHECK_BAD_SS(wire_decode_create, smb2_create_rsp, b.p, b.len);
    ck_assert_int_eq(patched32(a_create, &b, 144, 156, &r), SMBW_EPROTO); /* misaligned */
    ck_assert_int_eq(patched32(a_create, &b, 144, 144, &r), SMBW_EPROTO); /* in the fixed part */
    ck_assert_int_eq(patched32(a_create, &b, 144, 0xFFFFFFF8u, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched32(a_create, &b, 148, (uint32_t)ctx.len + 8, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched32(a_create, &b, 148, 0xFFFFFFFFu, &r), SMBW_EPROTO);
    /* a bad chain inside the response */
    ck_assert_int_eq(patched32(a_create, &b, 152, 12, &r), SMBW_EPROTO);
    /* chain shorter than announced: last context cut */
    ck_assert_int_eq(patched32(a_create, &b, 148, (uint32_t)ctx.len - 4, &r), SMBW_EPROTO);
    /* no contexts */
    build_create_rsp(&b, NULL);
    ck_assert_int_eq(wire_decode_create(b.p, b.len, &r), 0);
    ck_assert_ptr_null(r.contexts);
    ck_assert_uint_eq(r.contexts_len, 0);
    CHECK_TRUNC(wire_decode_create, smb2_create_rsp, b.p, b.len);
    buf_free(&ctx);
    buf_free(&b);
}
END_TEST

START_TEST(test_close_flush)
{
    smbw_buf b;
    smb2_close_rsp r;
    buf_init(&b);
    ck_assert_int_eq(wire_encode_close(&b, SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB, FID), 0);
    ck_assert_uint_eq(b.len, 24);
    ck_assert_uint_eq(get_u16(b.p), 24);
    ck_assert_uint_eq(get_u16(b.p + 2), 1);
    ck_assert_uint_eq(get_u32(b.p + 4), 0);
    ck_assert_mem_eq(b.p + 8, FID, 16);
    buf_reset(&b);
    ck_assert_int_eq(wire_encode_flush(&b, FID), 0);
    ck_assert_uint_eq(b.len, 24);
    ck_assert_uint_eq(get_u16(b.p), 24);
    ck_assert_uint_eq(get_u16(b.p + 2), 0);
    ck_assert_mem_eq(b.p + 8, FID, 16);
    buf_reset(&b);
    ck_assert_int_eq(wire_encode_lock(&b, FID, 0x1122334455667788ull, 4096, 0x12), 0);
    ck_assert_uint_eq(b.len, 48);
    ck_assert_uint_eq(get_u16(b.p), 48);
    ck_assert_uint_eq(get_u16(b.p + 2), 1);
    ck_assert_uint_eq(get_u32(b.p + 4), 0);
    ck_assert_mem_eq(b.p + 8, FID, 16);
    ck_assert_uint_eq(get_u64(b.p + 24), 0x1122334455667788ull);
    ck_assert_uint_eq(get_u64(b.p + 32), 4096);
    ck_assert_uint_eq(get_u32(b.p + 40), 0x12);
    ck_assert_uint_eq(get_u32(b.p + 44), 0);
    ck_assert_int_eq(wire_encode_lock(&b, NULL, 0, 1, 2), SMBW_EINVAL);

    buf_reset(&b);
    rsp_hdr(&b, SMB2_CLOSE, 0);
    buf_u16(&b, 60);
    buf_u16(&b, 1);
    buf_u32(&b, 0);
    for (uint64_t i = 1; i <= 6; i++)
        buf_u64(&b, i + 10);
    buf_u32(&b, SMBW_FILE_ATTRIBUTE_DIRECTORY);
    ck_assert_int_eq(wire_decode_close(b.p, b.len, &r), 0);
    ck_assert_uint_eq(r.flags, 1);
    ck_assert_uint_eq(r.t.creation_time, 11);
    ck_assert_uint_eq(r.t.end_of_file, 16);
    ck_assert_uint_eq(r.t.file_attributes, SMBW_FILE_ATTRIBUTE_DIRECTORY);
    CHECK_TRUNC(wire_decode_close, smb2_close_rsp, b.p, b.len);
    CHECK_BAD_SS(wire_decode_close, smb2_close_rsp, b.p, b.len);
    buf_free(&b);
}
END_TEST

/* ---- READ / WRITE ------------------------------------------------------------ */

START_TEST(test_read)
{
    smbw_buf b;
    smb2_read_req q;
    smb2_read_rsp r;
    buf_init(&b);
    memset(&q, 0, sizeof q);
    q.length = 65536;
    q.offset = 0x100000000ull;
    memcpy(q.file_id, FID, 16);
    q.minimum_count = 1;
    ck_assert_int_eq(wire_encode_read(&b, &q), 0);
    ck_assert_uint_eq(b.len, 49); /* 48 fixed + the 1-byte Buffer */
    ck_assert_uint_eq(get_u16(b.p), 49);
    ck_assert_uint_eq(get_u32(b.p + 4), 65536);
    ck_assert_uint_eq(get_u64(b.p + 8), 0x100000000ull);
    ck_assert_mem_eq(b.p + 16, FID, 16);
    ck_assert_uint_eq(get_u32(b.p + 32), 1);
    ck_assert_uint_eq(get_u32(b.p + 36), 0);
    ck_assert_uint_eq(get_u16(b.p + 44), 0);
    ck_assert_uint_eq(get_u16(b.p + 46), 0);
    ck_assert_uint_eq(b.p[48], 0);

    buf_reset(&b);
    rsp_hdr(&b, SMB2_READ, 0);
    buf_u16(&b, 17);
    buf_u8(&b, 80);
    buf_u8(&b, 0);
    buf_u32(&b, 6);
    buf_u32(&b, 0);
    buf_u32(&b, 0);
    buf_put(&b, "abcdef", 6);
    ck_assert_int_eq(wire_decode_read(b.p, b.len, &r), 0);
    ck_assert_ptr_eq(r.data, b.p + 80);
    ck_assert_uint_eq(r.data_len, 6);
    CHECK_TRUNC(wire_decode_read, smb2_read_rsp, b.p, b.len);
    CHECK_BAD_SS(wire_decode_read, smb2_read_rsp, b.p, b.len);
    ck_assert_int_eq(patched8(a_read, &b, 66, 64, &r), SMBW_EPROTO); /* into the header */
    ck_assert_int_eq(patched8(a_read, &b, 66, 79, &r), SMBW_EPROTO); /* into the fixed part */
    ck_assert_int_eq(patched8(a_read, &b, 66, 81, &r), SMBW_EPROTO); /* past the end */
    ck_assert_int_eq(patched8(a_read, &b, 66, 0xFF, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched32(a_read, &b, 68, 7, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched32(a_read, &b, 68, 0xFFFFFFFFu, &r), SMBW_EPROTO);
    /* empty read: the variable byte may be absent, DataOffset ignored */
    {
        uint8_t *c = dup_bytes(b.p, 80);
        put_u32(c + 68, 0);
        c[66] = 0;
        ck_assert_int_eq(wire_decode_read(c, 80, &r), 0);
        ck_assert_uint_eq(r.data_len, 0);
        ck_assert_ptr_null(r.data);
        free(c);
    }
    buf_free(&b);
}
END_TEST

/* The zero-copy READ path: which frames can have their data placed, and the
 * decoder of a message whose data went elsewhere; a WRITE without its data. */
START_TEST(test_read_placement_wire)
{
    smbw_buf b;
    buf_init(&b);
    rsp_hdr(&b, SMB2_READ, 0);
    buf_u16(&b, 17);
    buf_u8(&b, 80);
    buf_u8(&b, 0);
    buf_u32(&b, 1000);
    buf_u32(&b, 0);
    buf_u32(&b, 0);
    uint64_t mid = 0;
    uint32_t off = 0, dlen = 0;
    ck_assert_int_eq(wire_read_placement(b.p, 80, 1080, &mid, &off, &dlen), 0);
    ck_assert_uint_eq(mid, 7);
    ck_assert_uint_eq(off, 80);
    ck_assert_uint_eq(dlen, 1000);
    ck_assert_int_eq(wire_read_placement(b.p, 79, 1080, &mid, &off, &dlen), 1);
    ck_assert_int_eq(wire_read_placement(b.p, 80, 1081, &mid, &off, &dlen),
                     -1); /* not at the end */
    ck_assert_int_eq(wire_read_placement(b.p, 80, 1079, &mid, &off, &dlen), -1);
    ck_assert_int_eq(wire_read_placement(b.p, 80, 70, &mid, &off, &dlen), -1);
    ck_assert_int_eq(wire_read_placement(b.p, 90, 80, &mid, &off, &dlen), -1); /* have > frame */
    smb2_read_rsp r;
    ck_assert_int_eq(wire_decode_read_placed(b.p, 80, 1000, &r), 0);
    ck_assert_uint_eq(r.data_len, 1000);
    ck_assert_ptr_null(r.data);
    ck_assert_int_eq(wire_decode_read_placed(b.p, 80, 999, &r), SMBW_EPROTO);
    ck_assert_int_eq(wire_decode_read_placed(b.p, 80, 0, &r), SMBW_EPROTO);
    ck_assert_int_eq(wire_decode_read_placed(b.p, 79, 1000, &r), SMBW_EPROTO);
    /* DataOffset past what is there yet, into the header, or 0 data */
    b.p[66] = 96;
    ck_assert_int_eq(wire_read_placement(b.p, 80, 1096, &mid, &off, &dlen), 1);
    ck_assert_int_eq(wire_decode_read_placed(b.p, 80, 1000, &r), SMBW_EPROTO);
    b.p[66] = 64;
    ck_assert_int_eq(wire_read_placement(b.p, 80, 1064, &mid, &off, &dlen), -1);
    b.p[66] = 80;
    put_u32(b.p + 68, 0);
    ck_assert_int_eq(wire_read_placement(b.p, 80, 80, &mid, &off, &dlen), -1);
    put_u32(b.p + 68, 1000);
    /* not a plain successful single READ answer */
    uint8_t *c = dup_bytes(b.p, 80);
    put_u32(c + 8, SMBW_STATUS_END_OF_FILE);
    ck_assert_int_eq(wire_read_placement(c, 80, 1080, &mid, &off, &dlen), -1);
    put_u32(c + 8, 0);
    put_u16(c + 12, SMB2_WRITE);
    ck_assert_int_eq(wire_read_placement(c, 80, 1080, &mid, &off, &dlen), -1);
    put_u16(c + 12, SMB2_READ);
    put_u32(c + 20, 1088);
    ck_assert_int_eq(wire_read_placement(c, 80, 1080, &mid, &off, &dlen), -1); /* compound */
    put_u32(c + 20, 0);
    put_u32(c + 16, 0);
    ck_assert_int_eq(wire_read_placement(c, 80, 1080, &mid, &off, &dlen), -1); /* a request */
    put_u32(c + 16, SMB2_FLAGS_SERVER_TO_REDIR);
    put_u16(c + 64, 9);
    ck_assert_int_eq(wire_read_placement(c, 80, 1080, &mid, &off, &dlen), -1);
    ck_assert_int_eq(wire_decode_read_placed(c, 80, 1000, &r), SMBW_EPROTO);
    free(c);

    smb2_write_req q;
    memset(&q, 0, sizeof q);
    q.offset = 4096;
    memcpy(q.file_id, FID, 16);
    q.data = (const uint8_t *)"hello";
    q.length = 5;
    buf_reset(&b);
    ck_assert_int_eq(wire_encode_write(&b, &q), 0);
    smbw_buf h;
    buf_init(&h);
    ck_assert_int_eq(wire_encode_write_hdr(&h, &q), 0);
    ck_assert_uint_eq(h.len, 48);
    ck_assert_mem_eq(h.p, b.p, 48);
    q.length = 0;
    ck_assert_int_eq(wire_encode_write_hdr(&h, &q), SMBW_EINVAL);
    buf_free(&h);
    buf_free(&b);
}
END_TEST

START_TEST(test_write)
{
    smbw_buf b;
    smb2_write_req q;
    smb2_write_rsp r;
    buf_init(&b);
    memset(&q, 0, sizeof q);
    q.offset = 4096;
    memcpy(q.file_id, FID, 16);
    q.flags = 0;
    q.data = (const uint8_t *)"hello";
    q.length = 5;
    ck_assert_int_eq(wire_encode_write(&b, &q), 0);
    ck_assert_uint_eq(b.len, 48 + 5);
    ck_assert_uint_eq(get_u16(b.p), 49);
    ck_assert_uint_eq(get_u16(b.p + 2), 112);
    ck_assert_uint_eq(get_u32(b.p + 4), 5);
    ck_assert_uint_eq(get_u64(b.p + 8), 4096);
    ck_assert_mem_eq(b.p + 16, FID, 16);
    ck_assert_mem_eq(b.p + 48, "hello", 5);
    q.data = NULL;
    ck_assert_int_eq(wire_encode_write(&b, &q), SMBW_EINVAL);
    ck_assert_uint_eq(b.len, 53);

    buf_reset(&b);
    rsp_hdr(&b, SMB2_WRITE, 0);
    buf_u16(&b, 17);
    buf_u16(&b, 0);
    buf_u32(&b, 5);
    buf_u32(&b, 0);
    buf_u16(&b, 0);
    buf_u16(&b, 0);
    ck_assert_int_eq(wire_decode_write(b.p, b.len, &r), 0);
    ck_assert_uint_eq(r.count, 5);
    ck_assert_uint_eq(r.remaining, 0);
    CHECK_TRUNC(wire_decode_write, smb2_write_rsp, b.p, b.len);
    CHECK_BAD_SS(wire_decode_write, smb2_write_rsp, b.p, b.len);
    buf_free(&b);
}
END_TEST

/* ---- IOCTL ------------------------------------------------------------------ */

START_TEST(test_ioctl)
{
    smbw_buf b;
    smb2_ioctl_req q;
    smb2_ioctl_rsp r;
    static const uint8_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    buf_init(&b);
    memset(&q, 0, sizeof q);
    q.ctl_code = SMBW_FSCTL_SRV_COPYCHUNK_WRITE;
    memcpy(q.file_id, FID, 16);
    q.input = in;
    q.input_len = 8;
    q.max_output_response = 12;
    q.flags = SMB2_0_IOCTL_IS_FSCTL;
    ck_assert_int_eq(wire_encode_ioctl(&b, &q), 0);
    ck_assert_uint_eq(b.len, 56 + 8);
    ck_assert_uint_eq(get_u16(b.p), 57);
    ck_assert_uint_eq(get_u32(b.p + 4), SMBW_FSCTL_SRV_COPYCHUNK_WRITE);
    ck_assert_mem_eq(b.p + 8, FID, 16);
    ck_assert_uint_eq(get_u32(b.p + 24), 120);
    ck_assert_uint_eq(get_u32(b.p + 28), 8);
    ck_assert_uint_eq(get_u32(b.p + 32), 0);
    ck_assert_uint_eq(get_u32(b.p + 44), 12);
    ck_assert_uint_eq(get_u32(b.p + 48), SMB2_0_IOCTL_IS_FSCTL);
    ck_assert_mem_eq(b.p + 56, in, 8);
    q.input = NULL;
    ck_assert_int_eq(wire_encode_ioctl(&b, &q), SMBW_EINVAL);
    q.input_len = 0;
    buf_reset(&b);
    ck_assert_int_eq(wire_encode_ioctl(&b, &q), 0);
    ck_assert_uint_eq(b.len, 56);

    buf_reset(&b);
    rsp_hdr(&b, SMB2_IOCTL, 0);
    buf_u16(&b, 49);
    buf_u16(&b, 0);
    buf_u32(&b, SMBW_FSCTL_SRV_COPYCHUNK);
    buf_put(&b, FID, 16);
    buf_u32(&b, 112); /* InputOffset */
    buf_u32(&b, 0);   /* InputCount */
    buf_u32(&b, 112); /* OutputOffset */
    buf_u32(&b, 12);  /* OutputCount */
    buf_u32(&b, 0);
    buf_u32(&b, 0);
    buf_u32(&b, 1);
    buf_u32(&b, 1048576);
    buf_u32(&b, 1048576);
    ck_assert_int_eq(wire_decode_ioctl(b.p, b.len, &r), 0);
    ck_assert_uint_eq(r.ctl_code, SMBW_FSCTL_SRV_COPYCHUNK);
    ck_assert_mem_eq(r.file_id, FID, 16);
    ck_assert_ptr_null(r.input);
    ck_assert_ptr_eq(r.output, b.p + 112);
    ck_assert_uint_eq(r.output_len, 12);
    CHECK_TRUNC(wire_decode_ioctl, smb2_ioctl_rsp, b.p, b.len);
    CHECK_BAD_SS(wire_decode_ioctl, smb2_ioctl_rsp, b.p, b.len);
    ck_assert_int_eq(patched32(a_ioctl, &b, 96, 104, &r), SMBW_EPROTO);         /* fixed part */
    ck_assert_int_eq(patched32(a_ioctl, &b, 96, 113, &r), SMBW_EPROTO);         /* past end */
    ck_assert_int_eq(patched32(a_ioctl, &b, 96, 0xFFFFFFF8u, &r), SMBW_EPROTO); /* overflow */
    ck_assert_int_eq(patched32(a_ioctl, &b, 100, 13, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched32(a_ioctl, &b, 100, 0xFFFFFFFFu, &r), SMBW_EPROTO);
    /* input: checked the same way when InputCount > 0 */
    ck_assert_int_eq(patched32(a_ioctl, &b, 92, 12, &r), 0);
    ck_assert_ptr_nonnull(r.input);
    ck_assert_uint_eq(r.input_len, 12);
    ck_assert_int_eq(patched32(a_ioctl, &b, 92, 13, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched32(a_ioctl, &b, 88, 0, &r), 0); /* count 0: offset ignored */
    {
        uint8_t *c = dup_bytes(b.p, b.len);
        put_u32(c + 92, 4);
        put_u32(c + 88, 0xFFFFFFFEu);
        ck_assert_int_eq(wire_decode_ioctl(c, b.len, &r), SMBW_EPROTO);
        /* OutputCount 0: offset ignored */
        put_u32(c + 92, 0);
        put_u32(c + 100, 0);
        put_u32(c + 96, 0xFFFFFFFFu);
        ck_assert_int_eq(wire_decode_ioctl(c, 112, &r), 0);
        ck_assert_ptr_null(r.output);
        free(c);
    }
    buf_free(&b);
}
END_TEST

/* ---- QUERY_DIRECTORY ---------------------------------------------------------- */

static void add_dirent(smbw_buf *b, const char *name, uint64_t eof, bool last)
{
    buf_align(b, 8);
    size_t at = b->len;
    size_t n = strlen(name);
    buf_u32(b, 0); /* NextEntryOffset */
    buf_u32(b, 0); /* FileIndex */
    buf_u64(b, 1); /* CreationTime */
    buf_u64(b, 2); /* LastAccessTime */
    buf_u64(b, 3); /* LastWriteTime */
    buf_u64(b, 4); /* ChangeTime */
    buf_u64(b, eof);
    buf_u64(b, 4096);
    buf_u32(b, SMBW_FILE_ATTRIBUTE_ARCHIVE);
    buf_u32(b, (uint32_t)(2 * n));
    buf_u32(b, 0); /* EaSize */
    buf_u8(b, 0);  /* ShortNameLength */
    buf_u8(b, 0);
    buf_zero(b, 24);
    buf_u16(b, 0);
    buf_u64(b, 77); /* FileId */
    for (size_t i = 0; i < n; i++)
        buf_u16(b, (uint8_t)name[i]);
    if (!last) {
        buf_align(b, 8);
        buf_set_u32(b, at, (uint32_t)(b->len - at));
    }
}

/* A FileDirectoryInformation entry: the fixed part ends at FileNameLength. */
static void add_dir_entry(smbw_buf *b, const char *name, uint64_t eof, uint32_t attrs, bool last)
{
    buf_align(b, 8);
    size_t at = b->len;
    size_t n = strlen(name);
    buf_u32(b, 0);  /* NextEntryOffset */
    buf_u32(b, 0);  /* FileIndex */
    buf_u64(b, 11); /* CreationTime */
    buf_u64(b, 12); /* LastAccessTime */
    buf_u64(b, 13); /* LastWriteTime */
    buf_u64(b, 14); /* ChangeTime */
    buf_u64(b, eof);
    buf_u64(b, 8192);
    buf_u32(b, attrs);
    buf_u32(b, (uint32_t)(2 * n));
    for (size_t i = 0; i < n; i++)
        buf_u16(b, (uint8_t)name[i]);
    if (!last) {
        buf_align(b, 8);
        buf_set_u32(b, at, (uint32_t)(b->len - at));
    }
}

static int iterate_of(uint8_t cls, const uint8_t *p, size_t n, int *count)
{
    uint8_t *c = dup_bytes(p, n);
    size_t pos = 0;
    smb2_dirent e;
    int rc;
    *count = 0;
    while ((rc = wire_next_dirent_of(cls, c, n, &pos, &e)) == 0)
        (*count)++;
    free(c);
    return rc;
}

/* FileDirectoryInformation entries (smbw_dir_next and smbw_dir_list ask for
 * them): the same fields, 64 bytes before the name, checked alike. */
START_TEST(test_dirent_class1)
{
    smbw_buf d;
    buf_init(&d);
    add_dir_entry(&d, "abc", 7, SMBW_FILE_ATTRIBUTE_ARCHIVE, false);
    add_dir_entry(&d, "sub", 0, SMBW_FILE_ATTRIBUTE_DIRECTORY, true);
    const uint8_t C = FileDirectoryInformation;
    size_t pos = 0;
    smb2_dirent e;
    ck_assert_int_eq(wire_next_dirent_of(C, d.p, d.len, &pos, &e), 0);
    ck_assert_uint_eq(pos, 72); /* 64 + 6 aligned */
    ck_assert_uint_eq(e.t.creation_time, 11);
    ck_assert_uint_eq(e.t.last_access_time, 12);
    ck_assert_uint_eq(e.t.last_write_time, 13);
    ck_assert_uint_eq(e.t.change_time, 14);
    ck_assert_uint_eq(e.t.end_of_file, 7);
    ck_assert_uint_eq(e.t.allocation_size, 8192);
    ck_assert_uint_eq(e.t.file_attributes, SMBW_FILE_ATTRIBUTE_ARCHIVE);
    ck_assert_uint_eq(e.name_len, 6);
    ck_assert_ptr_eq(e.name_utf16, d.p + 64);
    ck_assert_int_eq(wire_next_dirent_of(C, d.p, d.len, &pos, &e), 0);
    ck_assert_uint_eq(pos, SIZE_MAX);
    ck_assert_uint_eq(e.t.file_attributes, SMBW_FILE_ATTRIBUTE_DIRECTORY);
    ck_assert_ptr_eq(e.name_utf16, d.p + 72 + 64);
    ck_assert_int_eq(wire_next_dirent_of(C, d.p, d.len, &pos, &e), 1);
    /* Another class is refused; the same bytes read as FileIdBoth fail. */
    pos = 0;
    ck_assert_int_eq(wire_next_dirent_of(FileNamesInformation, d.p, d.len, &pos, &e), SMBW_EINVAL);
    int count;
    ck_assert_int_eq(iterate_of(C, d.p, d.len, &count), 1);
    ck_assert_int_eq(count, 2);
    ck_assert_int_eq(iterate_of(FileIdBothDirectoryInformation, d.p, d.len, &count), SMBW_EPROTO);
    for (size_t l = 1; l < d.len; l++)
        ck_assert_msg(iterate_of(C, d.p, l, &count) == SMBW_EPROTO, "prefix %zu accepted", l);
    uint8_t *c = dup_bytes(d.p, d.len);
#define BADD(stmt)                                                                                 \
    do {                                                                                           \
        memcpy(c, d.p, d.len);                                                                     \
        stmt;                                                                                      \
        ck_assert_int_eq(iterate_of(C, c, d.len, &count), SMBW_EPROTO);                            \
    } while (0)
    BADD(put_u32(c, 68));              /* NextEntryOffset not aligned */
    BADD(put_u32(c, 56));              /* inside the fixed part */
    BADD(put_u32(c, (uint32_t)d.len)); /* at the end */
    BADD(put_u32(c, 0xFFFFFFF8u));
    BADD(put_u32(c + 60, 10));     /* name past the entry */
    BADD(put_u32(c + 60, 5));      /* odd name length */
    BADD(put_u32(c + 72 + 60, 8)); /* last entry's name past the buffer */
#undef BADD
    free(c);
    buf_free(&d);
}
END_TEST

static int iterate(const uint8_t *p, size_t n, int *count)
{
    uint8_t *c = dup_bytes(p, n);
    size_t pos = 0;
    smb2_dirent e;
    int rc;
    *count = 0;
    while ((rc = wire_next_dirent(c, n, &pos, &e)) == 0)
        (*count)++;
    free(c);
    return rc;
}

START_TEST(test_query_dir)
{
    smbw_buf b, d;
    smb2_query_dir_req q;
    smb2_query_dir_rsp r;
    buf_init(&b);
    buf_init(&d);
    memset(&q, 0, sizeof q);
    q.info_class = FileIdBothDirectoryInformation;
    q.flags = SMB2_RESTART_SCANS;
    memcpy(q.file_id, FID, 16);
    q.pattern = "*";
    q.output_buffer_length = 65536;
    ck_assert_int_eq(wire_encode_query_dir(&b, &q), 0);
    ck_assert_uint_eq(b.len, 32 + 2);
    ck_assert_uint_eq(get_u16(b.p), 33);
    ck_assert_uint_eq(b.p[2], FileIdBothDirectoryInformation);
    ck_assert_uint_eq(b.p[3], SMB2_RESTART_SCANS);
    ck_assert_mem_eq(b.p + 8, FID, 16);
    ck_assert_uint_eq(get_u16(b.p + 24), 96);
    ck_assert_uint_eq(get_u16(b.p + 26), 2);
    ck_assert_uint_eq(get_u32(b.p + 28), 65536);
    ck_assert_uint_eq(get_u16(b.p + 32), '*');
    q.pattern = NULL;
    ck_assert_int_eq(wire_encode_query_dir(&b, &q), SMBW_EINVAL);
    ck_assert_uint_eq(b.len, 34);

    add_dirent(&d, "a.txt", 5, false);
    add_dirent(&d, "bb", 123456, true);
    buf_reset(&b);
    rsp_hdr(&b, SMB2_QUERY_DIRECTORY, 0);
    buf_u16(&b, 9);
    buf_u16(&b, 72);
    buf_u32(&b, (uint32_t)d.len);
    buf_put(&b, d.p, d.len);
    ck_assert_int_eq(wire_decode_query_dir(b.p, b.len, &r), 0);
    ck_assert_ptr_eq(r.data, b.p + 72);
    ck_assert_uint_eq(r.data_len, d.len);
    CHECK_TRUNC(wire_decode_query_dir, smb2_query_dir_rsp, b.p, b.len);
    CHECK_BAD_SS(wire_decode_query_dir, smb2_query_dir_rsp, b.p, b.len);
    ck_assert_int_eq(patched16(a_query_dir, &b, 66, 70, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_query_dir, &b, 66, 80, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched32(a_query_dir, &b, 68, 0xFFFFFFFFu, &r), SMBW_EPROTO);

    /* entries */
    size_t pos = 0;
    smb2_dirent e;
    ck_assert_int_eq(wire_next_dirent(d.p, d.len, &pos, &e), 0);
    ck_assert_uint_eq(pos, 120); /* 104 + 10 aligned */
    ck_assert_uint_eq(e.t.creation_time, 1);
    ck_assert_uint_eq(e.t.last_access_time, 2);
    ck_assert_uint_eq(e.t.last_write_time, 3);
    ck_assert_uint_eq(e.t.change_time, 4);
    ck_assert_uint_eq(e.t.end_of_file, 5);
    ck_assert_uint_eq(e.t.allocation_size, 4096);
    ck_assert_uint_eq(e.t.file_attributes, SMBW_FILE_ATTRIBUTE_ARCHIVE);
    ck_assert_uint_eq(e.name_len, 10);
    ck_assert_ptr_eq(e.name_utf16, d.p + 104);
    ck_assert_int_eq(wire_next_dirent(d.p, d.len, &pos, &e), 0);
    ck_assert_uint_eq(pos, SIZE_MAX);
    ck_assert_uint_eq(e.t.end_of_file, 123456);
    ck_assert_uint_eq(e.name_len, 4);
    ck_assert_ptr_eq(e.name_utf16, d.p + 120 + 104);
    ck_assert_int_eq(wire_next_dirent(d.p, d.len, &pos, &e), 1);
    ck_assert_int_eq(wire_next_dirent(d.p, d.len, &pos, &e), 1);
    pos = 0;
    ck_assert_int_eq(wire_next_dirent(d.p, 0, &pos, &e), 1);

    int count;
    ck_assert_int_eq(iterate(d.p, d.len, &count), 1);
    ck_assert_int_eq(count, 2);
    for (size_t l = 1; l < d.len; l++)
        ck_assert_msg(iterate(d.p, l, &count) == SMBW_EPROTO, "dirents prefix %zu accepted", l);

    uint8_t *c = dup_bytes(d.p, d.len);
#define BADD(stmt)                                                                                 \
    do {                                                                                           \
        memcpy(c, d.p, d.len);                                                                     \
        stmt;                                                                                      \
        ck_assert_int_eq(iterate(c, d.len, &count), SMBW_EPROTO);                                  \
    } while (0)
    BADD(put_u32(c, 116));             /* NextEntryOffset not aligned */
    BADD(put_u32(c, 96));              /* inside the fixed part */
    BADD(put_u32(c, (uint32_t)d.len)); /* at the end */
    BADD(put_u32(c, 0xFFFFFFF8u));
    BADD(put_u32(c + 60, 18)); /* name past the entry */
    BADD(put_u32(c + 60, 9));  /* odd name length */
    BADD(put_u32(c + 60, 0xFFFFFFFEu));
    BADD(put_u32(c + 120 + 60, 6)); /* last entry's name past the buffer */
    BADD(c[68] = 25);               /* ShortNameLength > 24 */
#undef BADD
    free(c);
    pos = 4;
    ck_assert_int_eq(wire_next_dirent(d.p, d.len, &pos, &e), SMBW_EPROTO);
    pos = d.len + 8;
    ck_assert_int_eq(wire_next_dirent(d.p, d.len, &pos, &e), SMBW_EPROTO);
    buf_free(&d);
    buf_free(&b);
}
END_TEST

/* ---- QUERY_INFO / SET_INFO -------------------------------------------------- */

/* Inputs that are wrong only by their alignment: everything else fits. */
static void raw_ctx(smbw_buf *b, uint32_t next, uint16_t data_off, const char *name,
                    uint32_t data_len)
{
    buf_u32(b, next);
    buf_u16(b, 16);
    buf_u16(b, (uint16_t)strlen(name));
    buf_u16(b, 0);
    buf_u16(b, data_off);
    buf_u32(b, data_len);
    buf_put(b, name, strlen(name));
}

START_TEST(test_alignment)
{
    smbw_buf b, m;
    buf_init(&b);
    buf_init(&m);

    /* create contexts: second context packed at 20 */
    raw_ctx(&b, 20, 0, "MxAc", 0);
    raw_ctx(&b, 0, 0, "QFid", 0);
    ck_assert_int_eq(walk(b.p, b.len), SMBW_EPROTO);
    buf_reset(&b);
    raw_ctx(&b, 24, 0, "MxAc", 0);
    buf_zero(&b, 4);
    raw_ctx(&b, 0, 0, "QFid", 0);
    ck_assert_int_eq(walk(b.p, b.len), 0);
    /* create context data at 20 instead of 24 */
    buf_reset(&b);
    raw_ctx(&b, 0, 20, "RqLs", 8);
    buf_zero(&b, 8);
    ck_assert_int_eq(walk(b.p, b.len), SMBW_EPROTO);
    buf_reset(&b);
    raw_ctx(&b, 0, 24, "RqLs", 8);
    buf_zero(&b, 12);
    ck_assert_int_eq(walk(b.p, b.len), 0);

    /* CREATE response whose context list starts at 156 */
    {
        smbw_buf ctx;
        smb2_create_rsp r;
        buf_init(&ctx);
        ctx_chain(&ctx);
        build_create_rsp(&b, NULL);
        put_u32(b.p + 144, 156);
        put_u32(b.p + 148, (uint32_t)ctx.len);
        buf_zero(&b, 4);
        buf_put(&b, ctx.p, ctx.len);
        ck_assert_int_eq(wire_decode_create(b.p, b.len, &r), SMBW_EPROTO);
        buf_free(&ctx);
    }

    /* NEGOTIATE response: contexts right after a 12-byte security buffer (140) */
    {
        smb2_negotiate_rsp r;
        build_neg(&b, 0x0311, NEG_GOOD, 1);
        ck_assert_int_eq(wire_decode_negotiate(b.p, b.len, &r), 0);
        buf_reset(&m);
        buf_put(&m, b.p, 128);
        buf_zero(&m, 12);
        buf_put(&m, b.p + 144, b.len - 144);
        put_u16(m.p + 122, 12);
        put_u32(m.p + 124, 140);
        ck_assert_int_eq(wire_decode_negotiate(m.p, m.len, &r), SMBW_EPROTO);
        put_u32(m.p + 124, 144); /* and at 144 it is the wrong bytes */
        ck_assert_int_eq(wire_decode_negotiate(m.p, m.len, &r), SMBW_EPROTO);
    }

    /* directory entries: second entry packed at 114 */
    {
        int count;
        buf_reset(&b);
        add_dirent(&b, "a.txt", 1, true);
        ck_assert_uint_eq(b.len, 114);
        put_u32(b.p, 114);
        add_dirent(&b, "bb", 2, true);
        ck_assert_uint_eq(b.len, 120 + 108); /* add_dirent aligned it: move it back */
        memmove(b.p + 114, b.p + 120, b.len - 120);
        b.len -= 6;
        ck_assert_int_eq(iterate(b.p, b.len, &count), SMBW_EPROTO);
        ck_assert_int_eq(count, 0);
    }
    buf_free(&m);
    buf_free(&b);
}
END_TEST

START_TEST(test_query_set_info)
{
    smbw_buf b;
    smb2_query_info_req q;
    smb2_set_info_req s;
    smb2_query_info_rsp r;
    buf_init(&b);
    memset(&q, 0, sizeof q);
    q.info_type = SMB2_0_INFO_FILE;
    q.file_info_class = FileAllInformation;
    q.output_buffer_length = 4096;
    memcpy(q.file_id, FID, 16);
    ck_assert_int_eq(wire_encode_query_info(&b, &q), 0);
    ck_assert_uint_eq(b.len, 40);
    ck_assert_uint_eq(get_u16(b.p), 41);
    ck_assert_uint_eq(b.p[2], SMB2_0_INFO_FILE);
    ck_assert_uint_eq(b.p[3], FileAllInformation);
    ck_assert_uint_eq(get_u32(b.p + 4), 4096);
    ck_assert_uint_eq(get_u16(b.p + 8), 0);
    ck_assert_uint_eq(get_u32(b.p + 12), 0);
    ck_assert_mem_eq(b.p + 24, FID, 16);
    buf_reset(&b);
    q.input = (const uint8_t *)"xyz";
    q.input_len = 3;
    q.additional_information = 7;
    ck_assert_int_eq(wire_encode_query_info(&b, &q), 0);
    ck_assert_uint_eq(b.len, 43);
    ck_assert_uint_eq(get_u16(b.p + 8), 104);
    ck_assert_uint_eq(get_u32(b.p + 12), 3);
    ck_assert_uint_eq(get_u32(b.p + 16), 7);
    ck_assert_mem_eq(b.p + 40, "xyz", 3);

    buf_reset(&b);
    memset(&s, 0, sizeof s);
    s.info_type = SMB2_0_INFO_FILE;
    s.file_info_class = FileEndOfFileInformation;
    s.data = (const uint8_t *)"\x10\0\0\0\0\0\0\0";
    s.data_len = 8;
    memcpy(s.file_id, FID, 16);
    ck_assert_int_eq(wire_encode_set_info(&b, &s), 0);
    ck_assert_uint_eq(b.len, 40);
    ck_assert_uint_eq(get_u16(b.p), 33);
    ck_assert_uint_eq(b.p[3], FileEndOfFileInformation);
    ck_assert_uint_eq(get_u32(b.p + 4), 8);
    ck_assert_uint_eq(get_u16(b.p + 8), 96);
    ck_assert_mem_eq(b.p + 16, FID, 16);
    ck_assert_uint_eq(get_u64(b.p + 32), 16);
    s.data = NULL;
    ck_assert_int_eq(wire_encode_set_info(&b, &s), SMBW_EINVAL);
    ck_assert_uint_eq(b.len, 40);

    buf_reset(&b);
    rsp_hdr(&b, SMB2_QUERY_INFO, 0);
    buf_u16(&b, 9);
    buf_u16(&b, 72);
    buf_u32(&b, 5);
    buf_put(&b, "12345", 5);
    ck_assert_int_eq(wire_decode_query_info(b.p, b.len, &r), 0);
    ck_assert_ptr_eq(r.data, b.p + 72);
    ck_assert_uint_eq(r.data_len, 5);
    CHECK_TRUNC(wire_decode_query_info, smb2_query_info_rsp, b.p, b.len);
    CHECK_BAD_SS(wire_decode_query_info, smb2_query_info_rsp, b.p, b.len);
    ck_assert_int_eq(patched16(a_query_info, &b, 66, 64, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_query_info, &b, 66, 73, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched32(a_query_info, &b, 68, 0xFFFFFFFFu, &r), SMBW_EPROTO);
    ck_assert_int_eq(patched32(a_query_info, &b, 68, 0, &r), 0);
    ck_assert_ptr_null(r.data);
    buf_free(&b);
}
END_TEST

START_TEST(test_info_classes)
{
    smbw_buf b;
    smb2_file_times t;
    buf_init(&b);
    /* FileFsSizeInformation (what the clone path sizes its ranges by) */
    buf_u64(&b, 1000000); /* TotalAllocationUnits */
    buf_u64(&b, 4000);    /* AvailableAllocationUnits */
    buf_u32(&b, 8);       /* SectorsPerAllocationUnit */
    buf_u32(&b, 512);     /* BytesPerSector */
    smb2_fs_size_info fss;
    ck_assert_int_eq(wire_decode_fs_size_info(b.p, b.len, &fss), 0);
    ck_assert_uint_eq(fss.total_units, 1000000);
    ck_assert_uint_eq(fss.available_units, 4000);
    ck_assert_uint_eq(fss.sectors_per_unit, 8);
    ck_assert_uint_eq(fss.bytes_per_sector, 512);
    CHECK_TRUNC(wire_decode_fs_size_info, smb2_fs_size_info, b.p, b.len);

    /* FileNetworkOpenInformation */
    buf_reset(&b);
    for (uint64_t i = 1; i <= 6; i++)
        buf_u64(&b, i);
    buf_u32(&b, SMBW_FILE_ATTRIBUTE_SPARSE_FILE);
    buf_u32(&b, 0);
    ck_assert_int_eq(wire_decode_network_open_info(b.p, b.len, &t), 0);
    ck_assert_uint_eq(t.creation_time, 1);
    ck_assert_uint_eq(t.change_time, 4);
    ck_assert_uint_eq(t.allocation_size, 5);
    ck_assert_uint_eq(t.end_of_file, 6);
    ck_assert_uint_eq(t.file_attributes, SMBW_FILE_ATTRIBUTE_SPARSE_FILE);
    CHECK_TRUNC(wire_decode_network_open_info, smb2_file_times, b.p, b.len);

    /* FileInternalInformation */
    buf_reset(&b);
    buf_u64(&b, 0x1122334455667788ull);
    uint64_t index = 0;
    ck_assert_int_eq(wire_decode_internal_info(b.p, b.len, &index), 0);
    ck_assert_uint_eq(index, 0x1122334455667788ull);
    CHECK_TRUNC(wire_decode_internal_info, uint64_t, b.p, b.len);

    /* FileFsAttributeInformation */
    buf_reset(&b);
    buf_u32(&b, FILE_SUPPORTS_BLOCK_REFCOUNTING | FILE_SUPPORTS_SPARSE_FILES);
    buf_u32(&b, 255);
    buf_u32(&b, 8);
    buf_put(&b, "N\0T\0F\0S\0", 8);
    fsattr fa;
    ck_assert_int_eq(dec_fs_attr(b.p, b.len, &fa), 0);
    ck_assert_uint_eq(fa.attrs, FILE_SUPPORTS_BLOCK_REFCOUNTING | FILE_SUPPORTS_SPARSE_FILES);
    ck_assert_uint_eq(fa.maxlen, 255);
    CHECK_TRUNC(dec_fs_attr, fsattr, b.p, b.len);

    /* FileBasicInformation */
    buf_reset(&b);
    wire_encode_basic_info(&b, 1, 2, 3, 4, SMBW_FILE_ATTRIBUTE_HIDDEN);
    ck_assert_uint_eq(b.len, 40);
    ck_assert_uint_eq(get_u64(b.p), 1);
    ck_assert_uint_eq(get_u64(b.p + 8), 2);
    ck_assert_uint_eq(get_u64(b.p + 16), 3);
    ck_assert_uint_eq(get_u64(b.p + 24), 4);
    ck_assert_uint_eq(get_u32(b.p + 32), SMBW_FILE_ATTRIBUTE_HIDDEN);
    ck_assert_uint_eq(get_u32(b.p + 36), 0);

    /* FileRenameInformation, SMB2 form */
    buf_reset(&b);
    ck_assert_int_eq(wire_encode_rename_info(&b, true, "d\\new"), 0);
    ck_assert_uint_eq(b.p[0], 1);
    for (int i = 1; i < 16; i++)
        ck_assert_uint_eq(b.p[i], 0);
    ck_assert_uint_eq(get_u32(b.p + 16), 10);
    ck_assert_mem_eq(b.p + 20, "d\0\\\0n\0e\0w\0", 10);
    ck_assert_uint_eq(b.len, 20 + 10 + 2);
    ck_assert_uint_eq(get_u16(b.p + 30), 0);
    buf_reset(&b);
    ck_assert_int_eq(wire_encode_rename_info(&b, false, "x"), 0);
    ck_assert_uint_eq(b.p[0], 0);
    ck_assert_uint_eq(get_u32(b.p + 16), 2);
    ck_assert_uint_eq(b.len, 24);
    ck_assert_int_eq(wire_encode_rename_info(&b, false, ""), SMBW_EINVAL);
    ck_assert_int_eq(wire_encode_rename_info(&b, false, "\xC3"), SMBW_EINVAL);
    ck_assert_uint_eq(b.len, 24);
    buf_free(&b);
}
END_TEST

/* ---- FSCTL structures ---------------------------------------------------------- */

START_TEST(test_resume_key)
{
    smbw_buf b;
    srv_resume_key k;
    buf_init(&b);
    for (int i = 0; i < 24; i++)
        buf_u8(&b, (uint8_t)(0xC0 + i));
    buf_u32(&b, 4);
    buf_u32(&b, 0xAABBCCDD);
    ck_assert_int_eq(wire_decode_resume_key(b.p, b.len, &k), 0);
    ck_assert_mem_eq(k.key, b.p, 24);
    ck_assert_uint_eq(k.context_len, 4);
    CHECK_TRUNC(wire_decode_resume_key, srv_resume_key, b.p, b.len);
    ck_assert_int_eq(patched32(a_resume_key, &b, 24, 5, &k), SMBW_EPROTO);
    ck_assert_int_eq(patched32(a_resume_key, &b, 24, 0xFFFFFFFFu, &k), SMBW_EPROTO);
    ck_assert_int_eq(patched32(a_resume_key, &b, 24, 0, &k), 0);
    ck_assert_int_eq(wire_decode_resume_key(b.p, 28, &k), SMBW_EPROTO); /* ContextLength 4 */
    put_u32(b.p + 24, 0);
    ck_assert_int_eq(wire_decode_resume_key(b.p, 28, &k), 0);
    ck_assert_int_eq(wire_decode_resume_key(b.p, 27, &k), SMBW_EPROTO);
    buf_free(&b);
}
END_TEST

/* ODX: FSCTL_OFFLOAD_READ/WRITE structures (MS-FSCC 2.3.41-2.3.44) and the
 * big-endian STORAGE_OFFLOAD_TOKEN header (2.3.79). */
START_TEST(test_odx)
{
    smbw_buf b;
    buf_init(&b);
    ck_assert_int_eq(wire_encode_offload_read(&b, 5000, 0x100000000ull, 1u << 20), 0);
    ck_assert_uint_eq(b.len, 32);
    ck_assert_uint_eq(get_u32(b.p), 32);
    ck_assert_uint_eq(get_u32(b.p + 4), 0);
    ck_assert_uint_eq(get_u32(b.p + 8), 5000);
    ck_assert_uint_eq(get_u64(b.p + 16), 0x100000000ull);
    ck_assert_uint_eq(get_u64(b.p + 24), 1u << 20);

    uint8_t out[528];
    memset(out, 0, sizeof out);
    put_u32(out, 528);
    put_u32(out + 4, ODX_READ_FLAG_ALL_ZERO_BEYOND_CURRENT_RANGE);
    put_u64(out + 8, 65536);
    /* Token: type ZERO_DATA and TokenIdLength 32, both big-endian. */
    out[16] = 0xFF, out[17] = 0xFF, out[18] = 0x00, out[19] = 0x01;
    out[22] = 0x00, out[23] = 32;
    out[24] = 0xAB;
    odx_read_rsp rr;
    ck_assert_int_eq(wire_decode_offload_read_rsp(out, sizeof out, &rr), 0);
    ck_assert_uint_eq(rr.flags, 1);
    ck_assert_uint_eq(rr.transfer_length, 65536);
    ck_assert_uint_eq(rr.token_info.type, ODX_TOKEN_TYPE_ZERO_DATA);
    ck_assert_uint_eq(rr.token_info.id_len, 32);
    ck_assert_mem_eq(rr.token, out + 16, 512);
    CHECK_TRUNC(wire_decode_offload_read_rsp, odx_read_rsp, out, sizeof out);
    out[22] = 0x01, out[23] = 0xF9; /* TokenIdLength 505 > 504 */
    ck_assert_int_eq(wire_decode_offload_read_rsp(out, sizeof out, &rr), SMBW_EPROTO);
    out[22] = 0x01, out[23] = 0xF8; /* 504: the most */
    ck_assert_int_eq(wire_decode_offload_read_rsp(out, sizeof out, &rr), 0);
    put_u32(out, 527); /* Size below the structure */
    ck_assert_int_eq(wire_decode_offload_read_rsp(out, sizeof out, &rr), SMBW_EPROTO);

    buf_reset(&b);
    ck_assert_int_eq(wire_encode_offload_write(&b, 4096, 8192, 512, rr.token), 0);
    ck_assert_uint_eq(b.len, 544);
    ck_assert_uint_eq(get_u32(b.p), 544);
    ck_assert_uint_eq(get_u64(b.p + 8), 4096);
    ck_assert_uint_eq(get_u64(b.p + 16), 8192);
    ck_assert_uint_eq(get_u64(b.p + 24), 512);
    ck_assert_mem_eq(b.p + 32, rr.token, 512);
    ck_assert_int_eq(wire_encode_offload_write(&b, 0, 1, 0, NULL), SMBW_EINVAL);
    ck_assert_uint_eq(b.len, 544);

    uint8_t wout[16];
    put_u32(wout, 16);
    put_u32(wout + 4, 0);
    put_u64(wout + 8, 393216);
    odx_write_rsp wr;
    ck_assert_int_eq(wire_decode_offload_write_rsp(wout, sizeof wout, &wr), 0);
    ck_assert_uint_eq(wr.length_written, 393216);
    CHECK_TRUNC(wire_decode_offload_write_rsp, odx_write_rsp, wout, sizeof wout);
    put_u32(wout, 8);
    ck_assert_int_eq(wire_decode_offload_write_rsp(wout, sizeof wout, &wr), SMBW_EPROTO);
    buf_free(&b);
}
END_TEST

START_TEST(test_copychunk)
{
    smbw_buf b;
    uint8_t key[24];
    srv_copychunk ch[2] = {{0, 1 << 20, 1 << 20}, {0x100000000ull, 0x200000000ull, 4096}};
    srv_copychunk_rsp r;
    for (int i = 0; i < 24; i++)
        key[i] = (uint8_t)(i * 3);
    buf_init(&b);
    ck_assert_int_eq(wire_encode_copychunk(&b, key, ch, 2), 0);
    ck_assert_uint_eq(b.len, 32 + 48);
    ck_assert_mem_eq(b.p, key, 24);
    ck_assert_uint_eq(get_u32(b.p + 24), 2);
    ck_assert_uint_eq(get_u32(b.p + 28), 0);
    ck_assert_uint_eq(get_u64(b.p + 32), 0);
    ck_assert_uint_eq(get_u64(b.p + 40), 1 << 20);
    ck_assert_uint_eq(get_u32(b.p + 48), 1 << 20);
    ck_assert_uint_eq(get_u32(b.p + 52), 0);
    ck_assert_uint_eq(get_u64(b.p + 56), 0x100000000ull);
    ck_assert_uint_eq(get_u64(b.p + 64), 0x200000000ull);
    ck_assert_uint_eq(get_u32(b.p + 72), 4096);
    ck_assert_int_eq(wire_encode_copychunk(&b, key, NULL, 1), SMBW_EINVAL);
    ck_assert_uint_eq(b.len, 80);

    static const uint8_t rsp[12] = {16, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 1};
    ck_assert_int_eq(wire_decode_copychunk_rsp(rsp, 12, &r), 0);
    ck_assert_uint_eq(r.chunks_written, 16);
    ck_assert_uint_eq(r.chunk_bytes_written, 1048576);
    ck_assert_uint_eq(r.total_bytes_written, 16777216);
    CHECK_TRUNC(wire_decode_copychunk_rsp, srv_copychunk_rsp, rsp, 12);

    buf_reset(&b);
    wire_encode_duplicate_extents(&b, FID, 4096, 8192, 65536);
    ck_assert_uint_eq(b.len, 40);
    ck_assert_mem_eq(b.p, FID, 16);
    ck_assert_uint_eq(get_u64(b.p + 16), 4096);
    ck_assert_uint_eq(get_u64(b.p + 24), 8192);
    ck_assert_uint_eq(get_u64(b.p + 32), 65536);
    buf_free(&b);
}
END_TEST

START_TEST(test_allocated_ranges)
{
    smbw_buf b;
    alloc_range out[4];
    size_t n = 99;
    buf_init(&b);
    wire_encode_allocated_range(&b, 0, 4096);
    wire_encode_allocated_range(&b, 4096, 0); /* zero length, adjacent */
    wire_encode_allocated_range(&b, 65536, 8192);
    ck_assert_uint_eq(b.len, 48);
    ck_assert_uint_eq(get_u64(b.p + 32), 65536);
    ck_assert_uint_eq(get_u64(b.p + 40), 8192);
    ck_assert_int_eq(wire_decode_allocated_ranges(b.p, b.len, out, 4, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(out[2].off, 65536);
    ck_assert_uint_eq(out[2].len, 8192);
    /* more ranges than the caller's array: rejected, nothing written past max */
    memset(out, 0, sizeof out);
    n = 99;
    ck_assert_int_eq(wire_decode_allocated_ranges(b.p, b.len, out, 2, &n), SMBW_EPROTO);
    ck_assert_uint_eq(out[2].off, 0);
    ck_assert_uint_eq(n, 99);
    ck_assert_int_eq(wire_decode_allocated_ranges(b.p, b.len, out, 3, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(wire_decode_allocated_ranges(b.p, b.len, NULL, 0, &n), SMBW_EINVAL);
    ck_assert_int_eq(wire_decode_allocated_ranges(b.p, 0, out, 4, &n), 0);
    ck_assert_uint_eq(n, 0);
    for (size_t l = 1; l < b.len; l++) {
        if (l % 16 == 0)
            continue;
        uint8_t *c = dup_bytes(b.p, l);
        ck_assert_int_eq(wire_decode_allocated_ranges(c, l, out, 4, &n), SMBW_EPROTO);
        free(c);
    }
    uint8_t *c = dup_bytes(b.p, b.len);
    put_u64(c + 32, 2048); /* overlaps the first */
    ck_assert_int_eq(wire_decode_allocated_ranges(c, b.len, out, 4, &n), SMBW_EPROTO);
    memcpy(c, b.p, b.len);
    put_u64(c + 16, 0); /* goes backwards */
    ck_assert_int_eq(wire_decode_allocated_ranges(c, b.len, out, 4, &n), SMBW_EPROTO);
    memcpy(c, b.p, b.len);
    put_u64(c + 32, 0x7FFFFFFFFFFFF000ull); /* off + len overflows int64 */
    ck_assert_int_eq(wire_decode_allocated_ranges(c, b.len, out, 4, &n), SMBW_EPROTO);
    memcpy(c, b.p, b.len);
    put_u64(c + 32, 0xFFFFFFFFFFFFF000ull); /* negative offset / u64 overflow */
    ck_assert_int_eq(wire_decode_allocated_ranges(c, b.len, out, 4, &n), SMBW_EPROTO);
    memcpy(c, b.p, b.len);
    put_u64(c + 40, 0x8000000000000000ull); /* negative length */
    ck_assert_int_eq(wire_decode_allocated_ranges(c, b.len, out, 4, &n), SMBW_EPROTO);
    memcpy(c, b.p, b.len);
    put_u64(c + 32, 0x7FFFFFFFFFFFE000ull); /* ends exactly at INT64_MAX: fine */
    put_u64(c + 40, 0x1FFF);
    ck_assert_int_eq(wire_decode_allocated_ranges(c, b.len, out, 4, &n), 0);
    free(c);
    buf_free(&b);
}
END_TEST

/* ---- VALIDATE_NEGOTIATE_INFO, transform header ---------------------------------- */

START_TEST(test_validate_negotiate)
{
    smbw_buf b;
    validate_negotiate_info v, d;
    buf_init(&b);
    memset(&v, 0, sizeof v);
    v.capabilities = 0x44;
    memset(v.guid, 0x5A, 16);
    v.security_mode = 1;
    v.dialects = DIALECTS;
    v.dialect_count = 4;
    ck_assert_int_eq(wire_encode_validate_negotiate(&b, &v), 0);
    ck_assert_uint_eq(b.len, 24 + 8);
    ck_assert_uint_eq(get_u32(b.p), 0x44);
    ck_assert_uint_eq(b.p[4], 0x5A);
    ck_assert_uint_eq(get_u16(b.p + 20), 1);
    ck_assert_uint_eq(get_u16(b.p + 22), 4);
    ck_assert_uint_eq(get_u16(b.p + 30), 0x0302);
    v.dialect_count = 0;
    ck_assert_int_eq(wire_encode_validate_negotiate(&b, &v), SMBW_EINVAL);

    buf_reset(&b);
    buf_u32(&b, 0x44);
    buf_zero(&b, 16);
    buf_u16(&b, 1);
    buf_u16(&b, 0x0302);
    ck_assert_int_eq(wire_decode_validate_negotiate(b.p, b.len, &d), 0);
    ck_assert_uint_eq(d.capabilities, 0x44);
    ck_assert_uint_eq(d.security_mode, 1);
    ck_assert_uint_eq(d.dialect, 0x0302);
    CHECK_TRUNC(wire_decode_validate_negotiate, validate_negotiate_info, b.p, b.len);
    buf_free(&b);
}
END_TEST

START_TEST(test_transform_hdr)
{
    smbw_buf b;
    smb2_transform_hdr h, d;
    buf_init(&b);
    memset(&h, 0, sizeof h);
    for (int i = 0; i < 16; i++) {
        h.signature[i] = (uint8_t)i;
        h.nonce[i] = (uint8_t)(0x80 + i);
    }
    h.original_size = 70;
    h.flags = 1;
    h.session_id = 0x8e40014000011ull;
    wire_encode_transform_hdr(&b, &h);
    ck_assert_uint_eq(b.len, SMB2_TRANSFORM_HDR_SIZE);
    static const uint8_t id[] = {0xFD, 'S', 'M', 'B'};
    ck_assert_mem_eq(b.p, id, 4);
    ck_assert_uint_eq(get_u32(b.p + 36), 70);
    ck_assert_uint_eq(get_u16(b.p + 40), 0);
    ck_assert_uint_eq(get_u16(b.p + 42), 1);
    ck_assert_uint_eq(get_u64(b.p + 44), h.session_id);
    buf_zero(&b, 70); /* the encrypted message */
    ck_assert_int_eq(wire_decode_transform_hdr(b.p, b.len, &d), 0);
    ck_assert_mem_eq(d.signature, h.signature, 16);
    ck_assert_mem_eq(d.nonce, h.nonce, 16);
    ck_assert_uint_eq(d.original_size, 70);
    ck_assert_uint_eq(d.flags, 1);
    ck_assert_uint_eq(d.session_id, h.session_id);
    CHECK_TRUNC(wire_decode_transform_hdr, smb2_transform_hdr, b.p, b.len);
    ck_assert_int_eq(patched8(a_transform_hdr, &b, 0, 0xFE, &d), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_transform_hdr, &b, 42, 0, &d), SMBW_EPROTO);
    ck_assert_int_eq(patched16(a_transform_hdr, &b, 42, 2, &d), SMBW_EPROTO);
    ck_assert_int_eq(patched32(a_transform_hdr, &b, 36, 71, &d), SMBW_EPROTO);
    ck_assert_int_eq(patched32(a_transform_hdr, &b, 36, 0xFFFFFFFFu, &d), SMBW_EPROTO);
    /* the header alone is not a message */
    ck_assert_int_eq(wire_decode_transform_hdr(b.p, SMB2_TRANSFORM_HDR_SIZE, &d), SMBW_EPROTO);
    buf_free(&b);
}
END_TEST

/* Framing the core relies on: the transport header, compound cutting, the
 * NextCommand patch and the padding count of the impacket quirk. */
START_TEST(test_framing)
{
    static const uint8_t th[4] = {0, 0x01, 0x02, 0x03};
    uint32_t flen = 0;
    for (size_t l = 0; l < 4; l++)
        ck_assert_int_eq(wire_decode_transport_hdr(th, l, &flen), 1);
    ck_assert_int_eq(wire_decode_transport_hdr(th, 4, &flen), 0);
    ck_assert_uint_eq(flen, 0x010203);
    static const uint8_t nb[4] = {0x85, 0, 0, 0}; /* NetBIOS keepalive: not ours */
    ck_assert_int_eq(wire_decode_transport_hdr(nb, 4, &flen), SMBW_EPROTO);

    smbw_buf b;
    buf_init(&b);
    wire_encode_transport_hdr(&b);
    buf_zero(&b, 10);
    ck_assert_int_eq(wire_patch_transport_hdr(&b, 0, 10), 0);
    ck_assert_int_eq(wire_decode_transport_hdr(b.p, b.len, &flen), 0);
    ck_assert_uint_eq(flen, 10);
    ck_assert_int_eq(wire_patch_transport_hdr(&b, 0, 0x1000000), SMBW_EINVAL);

    uint32_t proto = 0;
    ck_assert_int_eq(wire_decode_protocol_id((const uint8_t *)"\xfeSM", 3, &proto), SMBW_EPROTO);
    ck_assert_int_eq(wire_decode_protocol_id((const uint8_t *)"\xfeSMB", 4, &proto), 0);
    ck_assert_uint_eq(proto, SMB2_PROTO_ID);

    /* Two compounded responses: 72 bytes (64 + 4 body + 4 padding), then 68. */
    buf_reset(&b);
    rsp_hdr(&b, SMB2_ECHO, 0);
    buf_u16(&b, 4);
    buf_u16(&b, 0);
    buf_zero(&b, 4);
    wire_patch_next_command(&b, 0, 72);
    rsp_hdr(&b, SMB2_ECHO, 0);
    buf_u16(&b, 4);
    buf_u16(&b, 0);
    ck_assert(!b.failed);
    size_t mlen = 0, next = 0;
    ck_assert_int_eq(wire_compound_next(b.p, b.len, &mlen, &next), 0);
    ck_assert_uint_eq(mlen, 72);
    ck_assert_uint_eq(next, 72);
    /* padding 4 + Reserved 2 + the high byte of StructureSize 4 */
    ck_assert_uint_eq(wire_trailing_zeros(b.p, mlen, 8), 7);
    ck_assert_uint_eq(wire_trailing_zeros(b.p, mlen, 3), 3);
    ck_assert_int_eq(wire_compound_next(b.p + 72, b.len - 72, &mlen, &next), 0);
    ck_assert_uint_eq(mlen, 68);
    ck_assert_uint_eq(next, 0);
    for (size_t l = 0; l < 64; l++)
        ck_assert_int_eq(wire_compound_next(b.p, l, &mlen, &next), SMBW_EPROTO);
    /* NextCommand unaligned, shorter than a header, at or past the end. */
    static const uint32_t bad[] = {70, 56, 140, 0xFFFFFFF8u};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wire_patch_next_command(&b, 0, bad[i]);
        ck_assert_int_eq(wire_compound_next(b.p, b.len, &mlen, &next), SMBW_EPROTO);
    }
    wire_patch_next_command(&b, b.len - 2, 0); /* out of range: marks failed */
    ck_assert(b.failed);
    buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("header");
    tcase_add_test(tc, test_hdr_roundtrip);
    tcase_add_test(tc, test_hdr_bad);
    tcase_add_test(tc, test_check_response);
    tcase_add_test(tc, test_status_is_error);
    tcase_add_test(tc, test_error_rsp);
    suite_add_tcase(s, tc);
    tc = tcase_create("commands");
    tcase_add_test(tc, test_negotiate_req);
    tcase_add_test(tc, test_negotiate_rsp);
    tcase_add_test(tc, test_session_setup);
    tcase_add_test(tc, test_tree_connect);
    tcase_add_test(tc, test_create_contexts);
    tcase_add_test(tc, test_qfid);
    tcase_add_test(tc, test_durable_ctx);
    tcase_add_test(tc, test_oplock_break);
    tcase_add_test(tc, test_lease_ctx);
    tcase_add_test(tc, test_lease_break);
    tcase_add_test(tc, test_create_contexts_last_data_offset_ignored);
    tcase_add_test(tc, test_create_req);
    tcase_add_test(tc, test_create_rsp);
    tcase_add_test(tc, test_close_flush);
    tcase_add_test(tc, test_read);
    tcase_add_test(tc, test_write);
    tcase_add_test(tc, test_read_placement_wire);
    tcase_add_test(tc, test_ioctl);
    tcase_add_test(tc, test_query_dir);
    tcase_add_test(tc, test_dirent_class1);
    tcase_add_test(tc, test_query_set_info);
    tcase_add_test(tc, test_alignment);
    suite_add_tcase(s, tc);
    tc = tcase_create("structures");
    tcase_add_test(tc, test_info_classes);
    tcase_add_test(tc, test_resume_key);
    tcase_add_test(tc, test_copychunk);
    tcase_add_test(tc, test_odx);
    tcase_add_test(tc, test_allocated_ranges);
    tcase_add_test(tc, test_validate_negotiate);
    tcase_add_test(tc, test_transform_hdr);
    tcase_add_test(tc, test_framing);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
