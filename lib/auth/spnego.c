/* SPNEGO (RFC 4178, MS-SPNG) token encoding and strict DER decoding.
 *
 * DER rules enforced on input (X.690 section 10): single-byte tags only,
 * definite lengths only, minimal length encoding, every element exactly
 * filling its parent, no trailing bytes. */
#include "spnego.h"

#include <string.h>

#include "smbwire/errors.h"

#define DER_OCTET_STRING 0x04
#define DER_OID 0x06
#define DER_ENUMERATED 0x0a
#define DER_SEQUENCE 0x30
#define DER_APP0 0x60 /* [APPLICATION 0] constructed */
#define DER_CTX(n) (0xa0 | (n))

static const uint8_t oid_spnego[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
static const uint8_t oid_ntlmssp[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
static const uint8_t oid_ms_krb5[] = {0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02};
static const uint8_t oid_krb5[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};

const uint8_t *spnego_mech_oid(enum spnego_mech m, size_t *len)
{
    switch (m) {
    case SPNEGO_MECH_NTLMSSP:
        *len = sizeof oid_ntlmssp;
        return oid_ntlmssp;
    case SPNEGO_MECH_MS_KRB5:
        *len = sizeof oid_ms_krb5;
        return oid_ms_krb5;
    case SPNEGO_MECH_KRB5:
        *len = sizeof oid_krb5;
        return oid_krb5;
    default:
        *len = 0;
        return NULL;
    }
}

static enum spnego_mech mech_from_oid(smbw_cur oid)
{
    for (int m = SPNEGO_MECH_NTLMSSP; m <= SPNEGO_MECH_KRB5; m++) {
        size_t n;
        const uint8_t *o = spnego_mech_oid((enum spnego_mech)m, &n);
        if (oid.len == n && memcmp(oid.p, o, n) == 0)
            return (enum spnego_mech)m;
    }
    return SPNEGO_MECH_OTHER;
}

/* ---- writer ---- */

static void der_len(smbw_buf *b, size_t len)
{
    if (len < 0x80) {
        buf_u8(b, (uint8_t)len);
    } else if (len <= 0xFF) {
        buf_u8(b, 0x81);
        buf_u8(b, (uint8_t)len);
    } else if (len <= 0xFFFF) {
        buf_u8(b, 0x82);
        buf_u16be(b, (uint16_t)len);
    } else if (len <= 0xFFFFFF) {
        buf_u8(b, 0x83);
        buf_u8(b, (uint8_t)(len >> 16));
        buf_u16be(b, (uint16_t)len);
    } else if (len <= 0xFFFFFFFFu) {
        buf_u8(b, 0x84);
        buf_u32be(b, (uint32_t)len);
    } else {
        b->failed = true;
    }
}

static void der_put(smbw_buf *b, uint8_t tag, const void *p, size_t len)
{
    buf_u8(b, tag);
    der_len(b, len);
    buf_put(b, p, len);
}

/* Wraps the bytes of inner (a scratch buffer) as one TLV appended to b. */
static void der_wrap(smbw_buf *b, uint8_t tag, const smbw_buf *inner)
{
    if (inner->failed) {
        b->failed = true;
        return;
    }
    der_put(b, tag, inner->p, inner->len);
}

int spnego_encode_mech_types(const enum spnego_mech *mechs, int n, smbw_buf *out)
{
    smbw_buf seq;
    buf_init(&seq);
    if (n <= 0)
        return SMBW_EINVAL;
    for (int i = 0; i < n; i++) {
        size_t len;
        const uint8_t *oid = spnego_mech_oid(mechs[i], &len);
        if (!oid) {
            buf_free(&seq);
            return SMBW_EINVAL;
        }
        der_put(&seq, DER_OID, oid, len);
    }
    der_wrap(out, DER_SEQUENCE, &seq);
    buf_free(&seq);
    return out->failed ? SMBW_ENOMEM : 0;
}

int spnego_encode_init(const enum spnego_mech *mechs, int n, const uint8_t *tok, size_t toklen,
                       smbw_buf *out)
{
    smbw_buf a, b;
    int rc;
    buf_init(&a);
    buf_init(&b);
    /* a = [0] MechTypeList */
    rc = spnego_encode_mech_types(mechs, n, &b);
    if (rc)
        goto done;
    der_wrap(&a, DER_CTX(0), &b);
    if (tok) {
        buf_reset(&b);
        der_put(&b, DER_OCTET_STRING, tok, toklen);
        der_wrap(&a, DER_CTX(2), &b);
    }
    /* b = [0] SEQUENCE { a } */
    buf_reset(&b);
    der_wrap(&b, DER_SEQUENCE, &a);
    buf_reset(&a);
    der_put(&a, DER_OID, oid_spnego, sizeof oid_spnego);
    der_wrap(&a, DER_CTX(0), &b);
    der_wrap(out, DER_APP0, &a);
    rc = out->failed ? SMBW_ENOMEM : 0;
done:
    buf_free_secret(&a);
    buf_free_secret(&b);
    return rc;
}

int spnego_encode_resp(int neg_state, enum spnego_mech supported, const uint8_t *tok, size_t toklen,
                       const uint8_t *mic, size_t miclen, smbw_buf *out)
{
    smbw_buf a, b;
    buf_init(&a);
    buf_init(&b);
    if (neg_state > SPNEGO_REQUEST_MIC || neg_state < SPNEGO_NO_STATE)
        return SMBW_EINVAL;
    if (neg_state != SPNEGO_NO_STATE) {
        uint8_t e = (uint8_t)neg_state;
        der_put(&b, DER_ENUMERATED, &e, 1);
        der_wrap(&a, DER_CTX(0), &b);
    }
    if (supported != SPNEGO_MECH_OTHER) {
        size_t len;
        const uint8_t *oid = spnego_mech_oid(supported, &len);
        if (!oid)
            goto inval;
        buf_reset(&b);
        der_put(&b, DER_OID, oid, len);
        der_wrap(&a, DER_CTX(1), &b);
    }
    if (tok) {
        buf_reset(&b);
        der_put(&b, DER_OCTET_STRING, tok, toklen);
        der_wrap(&a, DER_CTX(2), &b);
    }
    if (mic) {
        buf_reset(&b);
        der_put(&b, DER_OCTET_STRING, mic, miclen);
        der_wrap(&a, DER_CTX(3), &b);
    }
    buf_reset(&b);
    der_wrap(&b, DER_SEQUENCE, &a);
    der_wrap(out, DER_CTX(1), &b);
    buf_free_secret(&a);
    buf_free_secret(&b);
    return out->failed ? SMBW_ENOMEM : 0;
inval:
    buf_free_secret(&a);
    buf_free_secret(&b);
    return SMBW_EINVAL;
}

/* ---- strict reader ---- */

/* Reads one TLV; *whole (optional) gets the full encoding. */
static bool der_read(smbw_cur *c, uint8_t *tag, smbw_cur *val, smbw_cur *whole)
{
    smbw_cur start = *c;
    uint8_t t, b;
    size_t len;

    if (!cur_u8(c, &t) || (t & 0x1f) == 0x1f) /* high-tag-number form */
        return false;
    if (!cur_u8(c, &b))
        return false;
    if (b < 0x80) {
        len = b;
    } else {
        unsigned n = b & 0x7fu;
        if (n == 0 || n > 4) /* indefinite, or more than we accept */
            return false;
        len = 0;
        for (unsigned i = 0; i < n; i++) {
            uint8_t d;
            if (!cur_u8(c, &d))
                return false;
            if (i == 0 && d == 0) /* not minimal */
                return false;
            len = (len << 8) | d;
        }
        if (len < 0x80) /* should have used the short form */
            return false;
    }
    if (!cur_sub(c, len, val))
        return false;
    *tag = t;
    if (whole) {
        whole->p = start.p;
        whole->len = (size_t)(c->p - start.p);
    }
    return true;
}

static bool der_expect(smbw_cur *c, uint8_t tag, smbw_cur *val)
{
    uint8_t t;
    return der_read(c, &t, val, NULL) && t == tag;
}

/* An explicit context tag [n] holding exactly one element of type inner. */
static bool der_explicit(smbw_cur field, uint8_t inner, smbw_cur *val, smbw_cur *whole)
{
    uint8_t t;
    if (!der_read(&field, &t, val, whole) || t != inner)
        return false;
    return field.len == 0;
}

static int parse_mech_types(smbw_cur field, spnego_init *out)
{
    smbw_cur seq, whole;
    if (!der_explicit(field, DER_SEQUENCE, &seq, &whole))
        return SMBW_EPROTO;
    out->mech_types = whole.p;
    out->mech_types_len = whole.len;
    while (seq.len) {
        smbw_cur oid;
        if (!der_expect(&seq, DER_OID, &oid) || oid.len == 0)
            return SMBW_EPROTO;
        enum spnego_mech m = mech_from_oid(oid);
        if (out->n_mechs == 0x7fffffff)
            return SMBW_EPROTO;
        if (out->n_mechs < SPNEGO_MAX_MECHS)
            out->mechs[out->n_mechs] = m;
        out->n_mechs++;
        if (m != SPNEGO_MECH_OTHER)
            out->offered |= 1u << m;
    }
    return 0;
}

static int decode_init(const uint8_t *p, size_t len, spnego_init *out)
{
    smbw_cur c = cur_make(p, p ? len : 0), app, oid, choice, seq;

    if (!der_expect(&c, DER_APP0, &app) || c.len != 0)
        return SMBW_EPROTO;
    if (!der_expect(&app, DER_OID, &oid) || oid.len != sizeof oid_spnego ||
        memcmp(oid.p, oid_spnego, sizeof oid_spnego) != 0)
        return SMBW_EPROTO;
    if (!der_expect(&app, DER_CTX(0), &choice) || app.len != 0)
        return SMBW_EPROTO;
    if (!der_expect(&choice, DER_SEQUENCE, &seq) || choice.len != 0)
        return SMBW_EPROTO;

    /* NegTokenInit:  mechTypes [0], reqFlags [1], mechToken [2], mechListMIC [3]
     * NegTokenInit2: mechTypes [0], reqFlags [1], mechToken [2], negHints [3],
     *                mechListMIC [4]  (MS-SPNG 2.2.1)
     * Each field at most once, in order; mechTypes is required. */
    int last = -1;
    bool have_types = false;
    while (seq.len) {
        uint8_t t;
        smbw_cur field;
        if (!der_read(&seq, &t, &field, NULL))
            return SMBW_EPROTO;
        if ((t & 0xe0) != 0xa0 || (int)(t & 0x1f) <= last || (t & 0x1f) > 4)
            return SMBW_EPROTO;
        last = t & 0x1f;
        smbw_cur v;
        uint8_t vt;
        switch (last) {
        case 0:
            if (parse_mech_types(field, out))
                return SMBW_EPROTO;
            have_types = true;
            break;
        case 1: /* ContextFlags BIT STRING */
            if (!der_explicit(field, 0x03, &v, NULL))
                return SMBW_EPROTO;
            break;
        case 2:
            if (!der_explicit(field, DER_OCTET_STRING, &v, NULL))
                return SMBW_EPROTO;
            out->have_mech_token = true;
            out->mech_token = v.p;
            out->mech_token_len = v.len;
            break;
        case 3: /* mechListMIC OCTET STRING, or NegHints SEQUENCE */
            if (!der_read(&field, &vt, &v, NULL) || field.len != 0 ||
                (vt != DER_OCTET_STRING && vt != DER_SEQUENCE))
                return SMBW_EPROTO;
            if (vt == DER_SEQUENCE) {
                /* NegHints { hintName [0] GeneralString, hintAddress [1]
                 * OCTET STRING }: checked for form, ignored. */
                int hl = -1;
                while (v.len) {
                    smbw_cur h;
                    if (!der_read(&v, &vt, &h, NULL) || (vt & 0xe0) != 0xa0 ||
                        (int)(vt & 0x1f) <= hl || (vt & 0x1f) > 1)
                        return SMBW_EPROTO;
                    hl = vt & 0x1f;
                    smbw_cur hv;
                    if (!der_explicit(h, hl == 0 ? 0x1b : DER_OCTET_STRING, &hv, NULL))
                        return SMBW_EPROTO;
                }
            }
            break;
        case 4:
            if (!der_explicit(field, DER_OCTET_STRING, &v, NULL))
                return SMBW_EPROTO;
            break;
        }
    }
    return have_types ? 0 : SMBW_EPROTO;
}

int spnego_decode_init(const uint8_t *p, size_t len, spnego_init *out)
{
    memset(out, 0, sizeof *out);
    int rc = decode_init(p, len, out);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

int spnego_decode_resp(const uint8_t *p, size_t len, spnego_resp *out)
{
    memset(out, 0, sizeof *out);
    out->neg_state = SPNEGO_NO_STATE;
    smbw_cur c = cur_make(p, p ? len : 0), choice, seq;

    if (!der_expect(&c, DER_CTX(1), &choice) || c.len != 0)
        return SMBW_EPROTO;
    if (!der_expect(&choice, DER_SEQUENCE, &seq) || choice.len != 0)
        return SMBW_EPROTO;
    int last = -1;
    while (seq.len) {
        uint8_t t;
        smbw_cur field, v;
        if (!der_read(&seq, &t, &field, NULL))
            goto bad;
        if ((t & 0xe0) != 0xa0 || (int)(t & 0x1f) <= last || (t & 0x1f) > 3)
            goto bad;
        last = t & 0x1f;
        switch (last) {
        case 0:
            if (!der_explicit(field, DER_ENUMERATED, &v, NULL) || v.len != 1 ||
                v.p[0] > SPNEGO_REQUEST_MIC)
                goto bad;
            out->neg_state = v.p[0];
            break;
        case 1:
            if (!der_explicit(field, DER_OID, &v, NULL) || v.len == 0)
                goto bad;
            out->have_supported_mech = true;
            out->supported_mech = mech_from_oid(v);
            break;
        case 2:
            if (!der_explicit(field, DER_OCTET_STRING, &v, NULL))
                goto bad;
            out->have_token = true;
            out->token = v.p;
            out->token_len = v.len;
            break;
        case 3:
            if (!der_explicit(field, DER_OCTET_STRING, &v, NULL))
                goto bad;
            out->have_mic = true;
            out->mic = v.p;
            out->mic_len = v.len;
            break;
        }
    }
    return 0;
bad:
    memset(out, 0, sizeof *out);
    out->neg_state = SPNEGO_NO_STATE;
    return SMBW_EPROTO;
}
