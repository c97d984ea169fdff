/* CREATE (MS-SMB2 2.2.13, 2.2.14) with create contexts (2.2.13.2), CLOSE
 * (2.2.15, 2.2.16) and FLUSH (2.2.17). */
#include "wire.h"

#include "enc.h"
#include <string.h>

#include "../util/unicode.h"
#include "smbwire/errors.h"

#define CREATE_REQ_FIXED 56 /* StructureSize 57 */
#define CREATE_RSP_FIXED 88 /* StructureSize 89 */
#define CLOSE_RSP_FIXED 60  /* StructureSize 60 */
#define CTX_HDR 16          /* Next, NameOffset, NameLength, Reserved, DataOffset, DataLength */

static int ctx_ok_cb(void *ud, const uint8_t *name, size_t namelen, const uint8_t *data,
                     size_t datalen)
{
    return 0;
}

/* Create context chain (2.2.13.2). Each context starts 8-byte aligned (Next
 * is a multiple of 8, the chain itself starts aligned: the callers check
 * that); the name is 4 or more bytes after the 16-byte fixed part; the data,
 * when present, is 8-byte aligned and follows the name; both stay inside the
 * context (up to Next, or the end of the chain for the last one). */
int wire_walk_create_contexts(const uint8_t *p, size_t len, wire_ctx_cb cb, void *ud)
{
    smbw_cur chain = cur_make(p, len);

    if (!p && len)
        return SMBW_EPROTO;
    if (len == 0)
        return 0;
    for (;;) {
        smbw_cur c = chain, ctx, name, data;
        uint32_t next, data_len;
        uint16_t name_off, name_len, reserved, data_off;
        int rc;

        if (!cur_u32(&c, &next) || !cur_u16(&c, &name_off) || !cur_u16(&c, &name_len) ||
            !cur_u16(&c, &reserved) || !cur_u16(&c, &data_off) || !cur_u32(&c, &data_len))
            return SMBW_EPROTO;
        if (next != 0) {
            if (next % 8 != 0 || next < CTX_HDR || next >= chain.len)
                return SMBW_EPROTO;
        }
        if (!cur_slice(&chain, 0, next ? next : chain.len, &ctx))
            return SMBW_EPROTO;
        if (name_off < CTX_HDR || name_len < 4 || !cur_slice(&ctx, name_off, name_len, &name))
            return SMBW_EPROTO;
        data.p = NULL;
        data.len = 0;
        if (data_len) {
            if (data_off % 8 != 0 || (uint32_t)data_off < (uint32_t)name_off + name_len ||
                !cur_slice(&ctx, data_off, data_len, &data))
                return SMBW_EPROTO;
        }
        if (cb && (rc = cb(ud, name.p, name.len, data.p, data.len)) != 0)
            return rc;
        if (next == 0)
            return 0;
        if (!cur_skip(&chain, next))
            return SMBW_EPROTO;
    }
}

int wire_encode_ctx_qfid(smbw_buf *b, bool more)
{
    size_t at = b->len;
    if (at % 8 != 0)
        return SMBW_EINVAL;
    buf_u32(b, more ? WIRE_QFID_REQ_LEN : 0); /* Next */
    buf_u16(b, CTX_HDR);                      /* NameOffset */
    buf_u16(b, 4);                            /* NameLength */
    buf_u16(b, 0);                            /* Reserved */
    buf_u16(b, 0);                            /* DataOffset */
    buf_u32(b, 0);                            /* DataLength */
    buf_put(b, "QFid", 4);
    buf_u32(b, 0); /* padding to 8 */
    return b->failed ? SMBW_ENOMEM : 0;
}

int wire_encode_ctx_durable(smbw_buf *b, const smb2_durable_req *r, bool more)
{
    size_t at = b->len;
    if (at % 8 != 0)
        return SMBW_EINVAL;
    /* Data lengths: DHnQ 16, DHnC 16, DH2Q 32, DH2C 36. */
    uint32_t dlen = r->v2 ? (r->reconnect ? 36u : 32u) : 16u;
    const char *name = r->v2 ? (r->reconnect ? "DH2C" : "DH2Q") : (r->reconnect ? "DHnC" : "DHnQ");
    uint32_t total = CTX_HDR + 8 + dlen; /* name padded to 8 */
    uint32_t padded = (total + 7u) & ~7u;
    buf_u32(b, more ? padded : 0); /* Next */
    buf_u16(b, CTX_HDR);           /* NameOffset */
    buf_u16(b, 4);                 /* NameLength */
    buf_u16(b, 0);                 /* Reserved */
    buf_u16(b, CTX_HDR + 8);       /* DataOffset */
    buf_u32(b, dlen);              /* DataLength */
    buf_put(b, name, 4);
    buf_u32(b, 0); /* padding of the name */
    if (!r->v2 && !r->reconnect) {
        static const uint8_t zero[16];
        buf_put(b, zero, sizeof zero);
    } else if (!r->v2) {
        buf_put(b, r->file_id, 16);
    } else if (!r->reconnect) {
        buf_u32(b, r->timeout_ms);
        buf_u32(b, r->flags);
        buf_u64(b, 0); /* Reserved */
        buf_put(b, r->create_guid, 16);
    } else {
        buf_put(b, r->file_id, 16);
        buf_put(b, r->create_guid, 16);
        buf_u32(b, r->flags);
    }
    if (more)
        while ((b->len - at) % 8 != 0)
            buf_u8(b, 0);
    return b->failed ? SMBW_ENOMEM : 0;
}

static int durable_cb(void *ud, const uint8_t *name, size_t namelen, const uint8_t *data,
                      size_t datalen)
{
    smb2_durable_rsp *o = ud;
    bool v1 = namelen == 4 && memcmp(name, "DHnQ", 4) == 0;
    bool v2 = namelen == 4 && memcmp(name, "DH2Q", 4) == 0;
    if (!v1 && !v2)
        return 0;
    if (o->granted || datalen < 8)
        return SMBW_EPROTO; /* twice, or too short */
    smbw_cur c = cur_make(data, datalen);
    o->granted = true;
    o->v2 = v2;
    if (v2 && (!cur_u32(&c, &o->timeout_ms) || !cur_u32(&c, &o->flags)))
        return SMBW_EPROTO;
    return 0;
}

int wire_decode_durable(const uint8_t *ctx, size_t len, smb2_durable_rsp *out)
{
    memset(out, 0, sizeof *out);
    int rc = wire_walk_create_contexts(ctx, len, durable_cb, out);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

#define LEASE_V1_LEN 32
#define LEASE_V2_LEN 52
#define LEASE_STATES (SMB2_LEASE_READ | SMB2_LEASE_HANDLE | SMB2_LEASE_WRITE)

int wire_encode_ctx_lease(smbw_buf *b, const smb2_lease *l, bool more)
{
    static const uint8_t zero[16];
    size_t at = b->len;
    if (at % 8 != 0 || !l)
        return SMBW_EINVAL;
    uint32_t padded = (CTX_HDR + 8 + LEASE_V2_LEN + 7u) & ~7u;
    buf_u32(b, more ? padded : 0); /* Next */
    buf_u16(b, CTX_HDR);           /* NameOffset */
    buf_u16(b, 4);                 /* NameLength */
    buf_u16(b, 0);                 /* Reserved */
    buf_u16(b, CTX_HDR + 8);       /* DataOffset */
    buf_u32(b, LEASE_V2_LEN);      /* DataLength */
    buf_put(b, "RqLs", 4);
    buf_u32(b, 0); /* padding of the name */
    buf_put(b, l->key, 16);
    buf_u32(b, l->state);
    buf_u32(b, 0);        /* Flags: no parent lease key */
    buf_u64(b, 0);        /* LeaseDuration */
    buf_put(b, zero, 16); /* ParentLeaseKey */
    buf_u16(b, l->epoch); /* Epoch */
    buf_u16(b, 0);        /* Reserved */
    if (more)
        while ((b->len - at) % 8 != 0)
            buf_u8(b, 0);
    return b->failed ? SMBW_ENOMEM : 0;
}

static int lease_cb(void *ud, const uint8_t *name, size_t namelen, const uint8_t *data,
                    size_t datalen)
{
    smb2_lease *o = ud;
    uint64_t duration;
    if (namelen != 4 || memcmp(name, "RqLs", 4) != 0)
        return 0;
    if (o->granted || (datalen != LEASE_V1_LEN && datalen != LEASE_V2_LEN))
        return SMBW_EPROTO; /* twice, or neither version's length */
    smbw_cur c = cur_make(data, datalen);
    if (!cur_copy(&c, o->key, 16) || !cur_u32(&c, &o->state) || !cur_u32(&c, &o->flags) ||
        !cur_u64(&c, &duration))
        return SMBW_EPROTO;
    if (o->state & ~LEASE_STATES)
        return SMBW_EPROTO;
    o->v2 = datalen == LEASE_V2_LEN;
    if (o->v2 && (!cur_skip(&c, 16) || !cur_u16(&c, &o->epoch)))
        return SMBW_EPROTO; /* ParentLeaseKey, Epoch */
    o->granted = true;
    return 0;
}

int wire_decode_lease(const uint8_t *ctx, size_t len, smb2_lease *out)
{
    memset(out, 0, sizeof *out);
    int rc = wire_walk_create_contexts(ctx, len, lease_cb, out);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

typedef struct qfid_find {
    uint8_t *id;
    bool *found;
} qfid_find;

static int qfid_cb(void *ud, const uint8_t *name, size_t namelen, const uint8_t *data,
                   size_t datalen)
{
    qfid_find *q = ud;
    if (namelen != 4 || memcmp(name, "QFid", 4) != 0 || *q->found)
        return 0;
    if (datalen < WIRE_DISK_ID_LEN || datalen > 64)
        return SMBW_EPROTO;
    memcpy(q->id, data, WIRE_DISK_ID_LEN);
    *q->found = true;
    return 0;
}

int wire_decode_qfid(const uint8_t *ctx, size_t len, uint8_t id[WIRE_DISK_ID_LEN], bool *found)
{
    *found = false;
    qfid_find q = {id, found};
    return wire_walk_create_contexts(ctx, len, qfid_cb, &q);
}

int wire_encode_create(smbw_buf *b, const smb2_create_req *r)
{
    size_t start = b->len, name_start, ctx_start = 0;
    int rc = 0;

    if (!r || (r->contexts_len && !r->contexts) || r->contexts_len > UINT32_MAX)
        return SMBW_EINVAL;
    /* Passed through as given, but only if well formed. */
    if (r->contexts_len &&
        wire_walk_create_contexts(r->contexts, r->contexts_len, ctx_ok_cb, NULL) != 0)
        return SMBW_EINVAL;

    buf_u16(b, CREATE_REQ_FIXED + 1); /* StructureSize */
    buf_u8(b, 0);                     /* SecurityFlags */
    buf_u8(b, r->oplock_level);       /* RequestedOplockLevel */
    buf_u32(b, r->impersonation_level);
    buf_u64(b, 0); /* SmbCreateFlags */
    buf_u64(b, 0); /* Reserved */
    buf_u32(b, r->desired_access);
    buf_u32(b, r->file_attributes);
    buf_u32(b, r->share_access);
    buf_u32(b, r->create_disposition);
    buf_u32(b, r->create_options);
    buf_u16(b, SMB2_HDR_SIZE + CREATE_REQ_FIXED); /* NameOffset */
    buf_u16(b, 0);                                /* NameLength, patched */
    buf_u32(b, 0);                                /* CreateContextsOffset, patched */
    buf_u32(b, 0);                                /* CreateContextsLength, patched */
    name_start = b->len;
    if (r->name && r->name[0])
        rc = utf8_to_utf16le(r->name, strlen(r->name), b);
    if (rc == 0 && !b->failed) {
        size_t n = b->len - name_start;
        if (n > UINT16_MAX)
            rc = SMBW_EINVAL;
        else
            buf_set_u16(b, name_start - 10, (uint16_t)n);
    }
    if (rc == 0 && r->contexts_len) {
        /* The first context is 8-byte aligned from the header start. */
        size_t pad = (b->len - start) % 8;
        if (pad)
            buf_zero(b, 8 - pad);
        ctx_start = b->len;
        buf_put(b, r->contexts, r->contexts_len);
        if (!b->failed) {
            buf_set_u32(b, name_start - 8, (uint32_t)(SMB2_HDR_SIZE + (ctx_start - start)));
            buf_set_u32(b, name_start - 4, (uint32_t)r->contexts_len);
        }
    }
    /* 2.2.13: the Buffer of a request is at least one byte long. */
    if (rc == 0 && b->len == name_start)
        buf_u8(b, 0);
    return wire_enc_end(b, start, rc);
}

static bool read_times(smbw_cur *c, smb2_file_times *t, bool attrs)
{
    return cur_u64(c, &t->creation_time) && cur_u64(c, &t->last_access_time) &&
           cur_u64(c, &t->last_write_time) && cur_u64(c, &t->change_time) &&
           cur_u64(c, &t->allocation_size) && cur_u64(c, &t->end_of_file) &&
           (!attrs || cur_u32(c, &t->file_attributes));
}

int wire_decode_create(const uint8_t *msg, size_t len, smb2_create_rsp *r)
{
    smbw_cur c = cur_make(msg, len), base = cur_make(msg, len), ctx;
    uint16_t ss;
    uint32_t reserved2, ctx_off, ctx_len;
    smb2_create_rsp o;
    int rc;

    memset(&o, 0, sizeof o);
    if (!msg || len < SMB2_HDR_SIZE + CREATE_RSP_FIXED)
        return SMBW_EPROTO;
    if (!cur_skip(&c, SMB2_HDR_SIZE) || !cur_u16(&c, &ss) || ss != CREATE_RSP_FIXED + 1)
        return SMBW_EPROTO;
    if (!cur_u8(&c, &o.oplock_level) || !cur_u8(&c, &o.flags) || !cur_u32(&c, &o.create_action) ||
        !read_times(&c, &o.t, true) || !cur_u32(&c, &reserved2) || !cur_copy(&c, o.file_id, 16) ||
        !cur_u32(&c, &ctx_off) || !cur_u32(&c, &ctx_len))
        return SMBW_EPROTO;
    if (ctx_len) {
        if (ctx_off < SMB2_HDR_SIZE + CREATE_RSP_FIXED || ctx_off % 8 != 0 ||
            !cur_slice(&base, ctx_off, ctx_len, &ctx))
            return SMBW_EPROTO;
        if ((rc = wire_walk_create_contexts(ctx.p, ctx.len, ctx_ok_cb, NULL)) != 0)
            return rc;
        o.contexts = ctx.p;
        o.contexts_len = ctx_len;
    }
    *r = o;
    return 0;
}

int wire_encode_close(smbw_buf *b, uint16_t flags, const uint8_t file_id[16])
{
    size_t start = b->len;
    if (!file_id)
        return SMBW_EINVAL;
    buf_u16(b, 24); /* StructureSize */
    buf_u16(b, flags);
    buf_u32(b, 0); /* Reserved */
    buf_put(b, file_id, 16);
    return wire_enc_end(b, start, 0);
}

int wire_decode_close(const uint8_t *msg, size_t len, smb2_close_rsp *r)
{
    smbw_cur c = cur_make(msg, len);
    uint16_t ss;
    uint32_t reserved;
    smb2_close_rsp o;

    memset(&o, 0, sizeof o);
    if (!msg || len < SMB2_HDR_SIZE + CLOSE_RSP_FIXED)
        return SMBW_EPROTO;
    if (!cur_skip(&c, SMB2_HDR_SIZE) || !cur_u16(&c, &ss) || ss != CLOSE_RSP_FIXED)
        return SMBW_EPROTO;
    if (!cur_u16(&c, &o.flags) || !cur_u32(&c, &reserved) || !read_times(&c, &o.t, true))
        return SMBW_EPROTO;
    *r = o;
    return 0;
}

int wire_encode_flush(smbw_buf *b, const uint8_t file_id[16])
{
    size_t start = b->len;
    if (!file_id)
        return SMBW_EINVAL;
    buf_u16(b, 24); /* StructureSize */
    buf_u16(b, 0);  /* Reserved1 */
    buf_u32(b, 0);  /* Reserved2 */
    buf_put(b, file_id, 16);
    return wire_enc_end(b, start, 0);
}

int wire_encode_lock(smbw_buf *b, const uint8_t file_id[16], uint64_t off, uint64_t len,
                     uint32_t flags)
{
    size_t start = b->len;
    if (!file_id)
        return SMBW_EINVAL;
    buf_u16(b, 48); /* StructureSize */
    buf_u16(b, 1);  /* LockCount */
    buf_u32(b, 0);  /* LockSequenceNumber/Index (resilient handles only) */
    buf_put(b, file_id, 16);
    buf_u64(b, off); /* SMB2_LOCK_ELEMENT: Offset, Length, Flags, Reserved */
    buf_u64(b, len);
    buf_u32(b, flags);
    buf_u32(b, 0);
    return wire_enc_end(b, start, 0);
}
