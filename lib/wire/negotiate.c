/* NEGOTIATE request/response (MS-SMB2 2.2.3, 2.2.4) and the SMB 3.1.1
 * negotiate contexts (2.2.3.1, 2.2.4.1). */
#include "wire.h"

#include "enc.h"
#include <string.h>

#include "../util/unicode.h"
#include "smbwire/errors.h"

#define NEG_REQ_FIXED 36 /* StructureSize 36: no variable byte */
#define NEG_RSP_FIXED 64 /* StructureSize 65 */
#define NEG_CTX_HDR 8    /* ContextType u16, DataLength u16, Reserved u32 */
#define DIALECT_311 0x0311
#define PREAUTH_SALT_LEN 32

/* Zero-pad so that the next byte is 8-byte aligned from the SMB2 header
 * (the header is 64 bytes, so from the start of the body). */
static void pad8(smbw_buf *b, size_t start)
{
    size_t r = (b->len - start) % 8;
    if (r)
        buf_zero(b, 8 - r);
}

/* Starts a context; returns the offset of its DataLength field. */
static size_t ctx_begin(smbw_buf *b, size_t start, uint16_t type)
{
    pad8(b, start);
    buf_u16(b, type);
    size_t dl = b->len;
    buf_u16(b, 0); /* DataLength, patched by ctx_end */
    buf_u32(b, 0); /* Reserved */
    return dl;
}

static int ctx_end(smbw_buf *b, size_t dl_off)
{
    if (b->failed)
        return SMBW_ENOMEM;
    size_t n = b->len - (dl_off + 6);
    if (n > UINT16_MAX)
        return SMBW_EINVAL;
    buf_set_u16(b, dl_off, (uint16_t)n);
    return 0;
}

static int encode_contexts(smbw_buf *b, size_t start, const smb2_negotiate_req *r, uint16_t *count)
{
    size_t dl;
    int rc;
    uint16_t n = 0;

    /* PREAUTH_INTEGRITY_CAPABILITIES (2.2.3.1.1): one algorithm, SHA-512. */
    dl = ctx_begin(b, start, SMB2_PREAUTH_INTEGRITY_CAPABILITIES);
    buf_u16(b, 1);                /* HashAlgorithmCount */
    buf_u16(b, PREAUTH_SALT_LEN); /* SaltLength */
    buf_u16(b, SMB2_PREAUTH_SHA512);
    buf_put(b, r->salt, PREAUTH_SALT_LEN);
    if ((rc = ctx_end(b, dl)) != 0)
        return rc;
    n++;

    /* ENCRYPTION_CAPABILITIES (2.2.3.1.2) */
    if (r->cipher_count) {
        dl = ctx_begin(b, start, SMB2_ENCRYPTION_CAPABILITIES);
        buf_u16(b, r->cipher_count);
        for (uint16_t i = 0; i < r->cipher_count; i++)
            buf_u16(b, r->ciphers[i]);
        if ((rc = ctx_end(b, dl)) != 0)
            return rc;
        n++;
    }

    /* SIGNING_CAPABILITIES (2.2.3.1.7) */
    if (r->sign_alg_count) {
        dl = ctx_begin(b, start, SMB2_SIGNING_CAPABILITIES);
        buf_u16(b, r->sign_alg_count);
        for (uint16_t i = 0; i < r->sign_alg_count; i++)
            buf_u16(b, r->sign_algs[i]);
        if ((rc = ctx_end(b, dl)) != 0)
            return rc;
        n++;
    }

    /* NETNAME_NEGOTIATE_CONTEXT_ID (2.2.3.1.4): UTF-16LE, no terminator. */
    if (r->netname && r->netname[0]) {
        dl = ctx_begin(b, start, SMB2_NETNAME_NEGOTIATE_CONTEXT_ID);
        if ((rc = utf8_to_utf16le(r->netname, strlen(r->netname), b)) != 0)
            return rc;
        if ((rc = ctx_end(b, dl)) != 0)
            return rc;
        n++;
    }

    /* A context the caller asked for (smbw_conn_add_negotiate_context). */
    if (r->extra_ctx_type) {
        dl = ctx_begin(b, start, r->extra_ctx_type);
        buf_put(b, r->extra_ctx, r->extra_ctx_len);
        if ((rc = ctx_end(b, dl)) != 0)
            return rc;
        n++;
    }
    *count = n;
    return 0;
}

int wire_encode_negotiate(smbw_buf *b, const smb2_negotiate_req *r)
{
    size_t start = b->len;
    bool smb311 = false;
    uint16_t nctx = 0;
    int rc = 0;

    if (!r || r->dialect_count == 0 || !r->dialects)
        return SMBW_EINVAL;
    if ((r->cipher_count && !r->ciphers) || (r->sign_alg_count && !r->sign_algs))
        return SMBW_EINVAL;
    for (uint16_t i = 0; i < r->dialect_count; i++)
        if (r->dialects[i] == DIALECT_311)
            smb311 = true;

    buf_u16(b, NEG_REQ_FIXED); /* StructureSize */
    buf_u16(b, r->dialect_count);
    buf_u16(b, r->security_mode);
    buf_u16(b, 0); /* Reserved */
    buf_u32(b, r->capabilities);
    buf_put(b, r->client_guid, 16);
    /* NegotiateContextOffset u32, NegotiateContextCount u16, Reserved2 u16
     * (or ClientStartTime u64 = 0 without 3.1.1); patched below. */
    size_t ctx_fields = b->len;
    buf_u64(b, 0);
    for (uint16_t i = 0; i < r->dialect_count; i++)
        buf_u16(b, r->dialects[i]);

    if (smb311 && !b->failed) {
        pad8(b, start);
        size_t ctx_off = SMB2_HDR_SIZE + (b->len - start);
        if (ctx_off > UINT32_MAX) {
            rc = SMBW_EINVAL;
        } else {
            rc = encode_contexts(b, start, r, &nctx);
            buf_set_u32(b, ctx_fields, (uint32_t)ctx_off);
            buf_set_u16(b, ctx_fields + 4, nctx);
        }
    }
    return wire_enc_end(b, start, rc);
}

/* Range [off, off+n) of the message, which must not start inside the header
 * or the fixed part of the body (min_off). */
static int msg_range(const uint8_t *msg, size_t len, uint64_t off, uint64_t n, uint64_t min_off,
                     smbw_cur *out)
{
    smbw_cur base = cur_make(msg, len);
    if (off < min_off || !cur_slice(&base, off, n, out))
        return SMBW_EPROTO;
    return 0;
}

/* PREAUTH_INTEGRITY_CAPABILITIES in a response: exactly one hash
 * algorithm, SHA-512 (3.2.5.2); the salt must fit in the data. */
static int parse_preauth(smbw_cur d, smb2_negotiate_rsp *r)
{
    uint16_t count, salt_len, alg;
    if (!cur_u16(&d, &count) || !cur_u16(&d, &salt_len))
        return SMBW_EPROTO;
    if (count != 1 || !cur_u16(&d, &alg) || alg != SMB2_PREAUTH_SHA512)
        return SMBW_EPROTO;
    if (!cur_skip(&d, salt_len))
        return SMBW_EPROTO;
    r->have_preauth = true;
    r->preauth_hash_alg = alg;
    return 0;
}

/* ENCRYPTION_CAPABILITIES / SIGNING_CAPABILITIES in a response: the server
 * picks exactly one (cipher 0 means "none in common"). */
static int parse_one_of(smbw_cur d, uint16_t *out)
{
    uint16_t count;
    if (!cur_u16(&d, &count) || count != 1 || !cur_u16(&d, out))
        return SMBW_EPROTO;
    return 0;
}

static int parse_contexts(const uint8_t *msg, size_t len, uint32_t off, uint16_t count,
                          smb2_negotiate_rsp *r)
{
    uint64_t pos = off;
    int rc;

    /* 2.2.4: the first context is 8-byte aligned from the header start, and
     * the preauth context is mandatory, so count >= 1. */
    if (count == 0 || off % 8 != 0 || off < SMB2_HDR_SIZE + NEG_RSP_FIXED)
        return SMBW_EPROTO;
    for (uint16_t i = 0; i < count; i++) {
        smbw_cur hdr, data;
        uint16_t type, dlen;
        uint32_t reserved;

        if (i > 0)
            pos = (pos + 7) & ~(uint64_t)7; /* 2.2.4.1: each context 8-byte aligned */
        if (msg_range(msg, len, pos, NEG_CTX_HDR, off, &hdr) != 0)
            return SMBW_EPROTO;
        if (!cur_u16(&hdr, &type) || !cur_u16(&hdr, &dlen) || !cur_u32(&hdr, &reserved))
            return SMBW_EPROTO;
        if (msg_range(msg, len, pos + NEG_CTX_HDR, dlen, off, &data) != 0)
            return SMBW_EPROTO;
        pos += NEG_CTX_HDR + (uint64_t)dlen;

        switch (type) {
        case SMB2_PREAUTH_INTEGRITY_CAPABILITIES:
            if (r->have_preauth)
                return SMBW_EPROTO;
            if ((rc = parse_preauth(data, r)) != 0)
                return rc;
            break;
        case SMB2_ENCRYPTION_CAPABILITIES:
            if (r->have_cipher)
                return SMBW_EPROTO;
            if ((rc = parse_one_of(data, &r->cipher)) != 0)
                return rc;
            r->have_cipher = true;
            break;
        case SMB2_SIGNING_CAPABILITIES:
            if (r->have_signing)
                return SMBW_EPROTO;
            if ((rc = parse_one_of(data, &r->signing_alg)) != 0)
                return rc;
            r->have_signing = true;
            break;
        default:
            break; /* unknown or unused (compression, RDMA, transport): skipped */
        }
    }
    if (!r->have_preauth)
        return SMBW_EPROTO;
    return 0;
}

int wire_decode_negotiate(const uint8_t *msg, size_t len, smb2_negotiate_rsp *r)
{
    smbw_cur c = cur_make(msg, len), sec;
    uint16_t ss, ctx_count, sec_off, sec_len;
    uint32_t ctx_off;
    smb2_negotiate_rsp o;
    int rc;

    memset(&o, 0, sizeof o);
    if (!msg || len < SMB2_HDR_SIZE + NEG_RSP_FIXED)
        return SMBW_EPROTO;
    if (!cur_skip(&c, SMB2_HDR_SIZE) || !cur_u16(&c, &ss) || ss != NEG_RSP_FIXED + 1)
        return SMBW_EPROTO;
    if (!cur_u16(&c, &o.security_mode) || !cur_u16(&c, &o.dialect) || !cur_u16(&c, &ctx_count) ||
        !cur_copy(&c, o.server_guid, 16) || !cur_u32(&c, &o.capabilities) ||
        !cur_u32(&c, &o.max_transact) || !cur_u32(&c, &o.max_read) || !cur_u32(&c, &o.max_write) ||
        !cur_u64(&c, &o.system_time) || !cur_u64(&c, &o.server_start_time) ||
        !cur_u16(&c, &sec_off) || !cur_u16(&c, &sec_len) || !cur_u32(&c, &ctx_off))
        return SMBW_EPROTO;

    if (sec_len) {
        if (msg_range(msg, len, sec_off, sec_len, SMB2_HDR_SIZE + NEG_RSP_FIXED, &sec) != 0)
            return SMBW_EPROTO;
        o.security_buffer = sec.p;
        o.security_buffer_len = sec_len;
    }
    /* NegotiateContextOffset/Count are Reserved fields below 3.1.1. */
    if (o.dialect == DIALECT_311) {
        if ((rc = parse_contexts(msg, len, ctx_off, ctx_count, &o)) != 0)
            return rc;
    }
    *r = o;
    return 0;
}
