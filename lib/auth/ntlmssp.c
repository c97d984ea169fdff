/* NTLMSSP client, NTLMv2 only (MS-NLMP). */
#include "ntlmssp.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smbwire/errors.h"
#include "../crypto/crypto.h"
#include "../util/unicode.h"

static const uint8_t ntlm_signature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

#define NTLM_NEGOTIATE_LEN 40    /* 2.2.1.1 with VERSION */
#define NTLM_AUTHENTICATE_LEN 88 /* 2.2.1.3 with VERSION and MIC */
#define NTLM_CHALLENGE_MIN 32    /* 2.2.1.2 up to ServerChallenge + Reserved */

/* What this client asks for (MS-NLMP 3.1.5.1.1). */
#define NTLM_CLIENT_FLAGS                                                                          \
    (NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_REQUEST_TARGET | NTLMSSP_NEGOTIATE_SIGN |                 \
     NTLMSSP_NEGOTIATE_SEAL | NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_ALWAYS_SIGN |             \
     NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_VERSION |                      \
     NTLMSSP_NEGOTIATE_128 | NTLMSSP_NEGOTIATE_KEY_EXCH | NTLMSSP_NEGOTIATE_56)

/* FILETIME of the Unix epoch. */
#define FILETIME_UNIX_EPOCH 116444736000000000ull

struct ntlm_ctx {
    bool anonymous;
    int state; /* 0: new, 1: NEGOTIATE produced, 2: AUTHENTICATE produced */
    uint8_t response_key[16];
    smbw_buf user16, domain16, ws16, target16;
    smbw_buf negotiate_msg;

    bool test_cc, test_time, test_key;
    uint8_t test_client_challenge[8];
    uint64_t test_time_val;
    uint8_t test_session_key[16];

    uint32_t flags;
    bool mic_sent;
    bool have_keys;
    uint8_t exported_key[16];
    uint8_t client_sign[16], server_sign[16];
    crypto_rc4 *client_seal, *server_seal;
    uint32_t client_seq, server_seq;
};

/* ---- CHALLENGE_MESSAGE ---- */

/* A security buffer (Len, MaxLen, Offset) pointing into msg. */
static bool read_field(smbw_cur *c, const smbw_cur *msg, smbw_cur *out)
{
    uint16_t len, maxlen;
    uint32_t off;
    if (!cur_u16(c, &len) || !cur_u16(c, &maxlen) || !cur_u32(c, &off))
        return false;
    if (len == 0) {
        out->p = msg->p;
        out->len = 0;
        return true;
    }
    return cur_slice(msg, off, len, out);
}

static int parse_av_pairs(smbw_cur ti, ntlm_challenge *out)
{
    const uint8_t *start = ti.p;
    bool seen_ts = false, seen_flags = false;

    for (;;) {
        uint16_t id, len;
        smbw_cur val;
        if (!cur_u16(&ti, &id) || !cur_u16(&ti, &len))
            return SMBW_EPROTO; /* ran out before MsvAvEOL */
        if (!cur_sub(&ti, len, &val))
            return SMBW_EPROTO;
        if (id == MSV_AV_EOL) {
            if (len != 0)
                return SMBW_EPROTO;
            /* Bytes after EOL (padding) are ignored and not echoed. */
            out->target_info_len = (size_t)(ti.p - start);
            return 0;
        }
        if (id == MSV_AV_TIMESTAMP) {
            if (len != 8)
                return SMBW_EPROTO;
            if (!seen_ts) {
                out->have_timestamp = true;
                if (!cur_u64(&val, &out->timestamp))
                    return SMBW_EPROTO;
                seen_ts = true;
            }
        } else if (id == MSV_AV_FLAGS) {
            if (len != 4)
                return SMBW_EPROTO;
            if (!seen_flags) {
                out->have_av_flags = true;
                if (!cur_u32(&val, &out->av_flags))
                    return SMBW_EPROTO;
                seen_flags = true;
            }
        }
    }
}

int ntlm_parse_challenge(const uint8_t *p, size_t len, ntlm_challenge *out)
{
    memset(out, 0, sizeof *out);
    if (!p)
        return SMBW_EPROTO;
    smbw_cur msg = cur_make(p, len);
    smbw_cur c = msg;
    uint8_t sig[8];
    uint32_t type;
    smbw_cur tname, tinfo;

    if (len < NTLM_CHALLENGE_MIN)
        return SMBW_EPROTO;
    if (!cur_copy(&c, sig, 8) || memcmp(sig, ntlm_signature, 8) != 0)
        return SMBW_EPROTO;
    if (!cur_u32(&c, &type) || type != 2)
        return SMBW_EPROTO;
    if (!read_field(&c, &msg, &tname))
        return SMBW_EPROTO;
    if (!cur_u32(&c, &out->flags) || !cur_copy(&c, out->server_challenge, 8) || !cur_skip(&c, 8))
        return SMBW_EPROTO;
    /* TargetInfoFields follow; a very old server might stop here, but we
     * need the AV pairs for NTLMv2: required. */
    if (!read_field(&c, &msg, &tinfo))
        return SMBW_EPROTO;
    if (tinfo.len == 0)
        return SMBW_EPROTO;
    out->target_name = tname.p;
    out->target_name_len = tname.len;
    out->target_info = tinfo.p;
    int rc = parse_av_pairs(tinfo, out);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

/* ---- NTLMv2 primitives ---- */

int ntlm_ntowfv2(const char *password, const char *user, const char *domain, uint8_t out[16])
{
    smbw_buf pw, ud;
    uint8_t nthash[16];
    int rc;

    buf_init(&pw);
    buf_init(&ud);
    if (!password)
        password = "";
    if (!user)
        user = "";
    if (!domain)
        domain = "";
    rc = utf8_to_utf16le(password, strlen(password), &pw);
    if (!rc)
        rc = utf8_to_utf16le_upper(user, strlen(user), &ud);
    if (!rc)
        rc = utf8_to_utf16le(domain, strlen(domain), &ud);
    if (!rc)
        rc = crypto_md4(pw.p, pw.len, nthash);
    if (!rc) {
        crypto_iov iov = {ud.p, ud.len};
        rc = crypto_hmac_md5(nthash, 16, &iov, 1, out);
    }
    crypto_cleanse(nthash, sizeof nthash);
    buf_free_secret(&pw);
    buf_free_secret(&ud);
    return rc;
}

int ntlm_v2_response(const uint8_t response_key[16], const uint8_t server_challenge[8],
                     const uint8_t client_challenge[8], uint64_t time, const uint8_t *avpairs,
                     size_t avpairs_len, smbw_buf *nt_response, uint8_t session_base_key[16])
{
    size_t start = nt_response->len;
    uint8_t *proof = buf_grow(nt_response, 16);
    if (!proof)
        return SMBW_ENOMEM;
    size_t temp_off = nt_response->len;
    /* temp = RespType, HiRespType, Z(6), Time, ClientChallenge, Z(4),
     * AV pairs, Z(4) */
    buf_u8(nt_response, 1);
    buf_u8(nt_response, 1);
    buf_zero(nt_response, 6);
    buf_u64(nt_response, time);
    buf_put(nt_response, client_challenge, 8);
    buf_zero(nt_response, 4);
    buf_put(nt_response, avpairs, avpairs_len);
    buf_zero(nt_response, 4);
    if (nt_response->failed)
        return SMBW_ENOMEM;

    uint8_t ntproof[16];
    crypto_iov iov[2] = {{server_challenge, 8},
                         {nt_response->p + temp_off, nt_response->len - temp_off}};
    int rc = crypto_hmac_md5(response_key, 16, iov, 2, ntproof);
    if (rc) {
        nt_response->len = start;
        return rc;
    }
    memcpy(nt_response->p + start, ntproof, 16);
    crypto_iov kiov = {ntproof, 16};
    rc = crypto_hmac_md5(response_key, 16, &kiov, 1, session_base_key);
    crypto_cleanse(ntproof, sizeof ntproof);
    return rc;
}

int ntlm_lmv2_response(const uint8_t response_key[16], const uint8_t server_challenge[8],
                       const uint8_t client_challenge[8], uint8_t out[24])
{
    crypto_iov iov[2] = {{server_challenge, 8}, {client_challenge, 8}};
    int rc = crypto_hmac_md5(response_key, 16, iov, 2, out);
    if (rc)
        return rc;
    memcpy(out + 16, client_challenge, 8);
    return 0;
}

/* The magic constants include their terminating NUL (MS-NLMP 3.4.5.2). */
static const char c2s_sign[] = "session key to client-to-server signing key magic constant";
static const char s2c_sign[] = "session key to server-to-client signing key magic constant";
static const char c2s_seal[] = "session key to client-to-server sealing key magic constant";
static const char s2c_seal[] = "session key to server-to-client sealing key magic constant";

int ntlm_sign_key(const uint8_t session_key[16], bool client, uint8_t out[16])
{
    const char *k = client ? c2s_sign : s2c_sign;
    crypto_iov iov[2] = {{session_key, 16}, {k, sizeof c2s_sign}};
    return crypto_md5(iov, 2, out);
}

int ntlm_seal_key(const uint8_t session_key[16], uint32_t flags, bool client, uint8_t out[16],
                  size_t *outlen)
{
    /* MS-NLMP 3.4.5.3: the key is cut before hashing for 56/40 bits. */
    size_t n = 5;
    if (flags & NTLMSSP_NEGOTIATE_128)
        n = 16;
    else if (flags & NTLMSSP_NEGOTIATE_56)
        n = 7;
    const char *k = client ? c2s_seal : s2c_seal;
    crypto_iov iov[2] = {{session_key, n}, {k, sizeof c2s_seal}};
    *outlen = 16;
    return crypto_md5(iov, 2, out);
}

int ntlm_mac(const uint8_t sign_key[16], struct crypto_rc4 *seal, uint32_t seqnum,
             const uint8_t *msg, size_t len, uint8_t sig[16])
{
    uint8_t seq[4], mac[16];
    for (int i = 0; i < 4; i++)
        seq[i] = (uint8_t)(seqnum >> (8 * i));
    crypto_iov iov[2] = {{seq, 4}, {msg, len}};
    int rc = crypto_hmac_md5(sign_key, 16, iov, 2, mac);
    if (rc)
        return rc;
    /* NTLMSSP_MESSAGE_SIGNATURE (MS-NLMP 2.2.2.9.1): Version 1, Checksum,
     * SeqNum, all little-endian. */
    static const uint8_t version1[4] = {1, 0, 0, 0};
    memcpy(sig, version1, 4);
    if (seal) {
        rc = crypto_rc4_update(seal, mac, sig + 4, 8);
        if (rc)
            return rc;
    } else {
        memcpy(sig + 4, mac, 8);
    }
    memcpy(sig + 12, seq, 4);
    crypto_cleanse(mac, sizeof mac);
    return 0;
}

/* ---- context ---- */

static int to16(const char *s, smbw_buf *out)
{
    if (!s)
        return 0;
    return utf8_to_utf16le(s, strlen(s), out);
}

int ntlm_new(ntlm_ctx **out, const ntlm_creds *cr)
{
    *out = NULL;
    ntlm_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return SMBW_ENOMEM;
    buf_init(&c->user16);
    buf_init(&c->domain16);
    buf_init(&c->ws16);
    buf_init(&c->target16);
    buf_init(&c->negotiate_msg);
    c->anonymous = cr->anonymous;
    int rc = 0;
    if (!c->anonymous) {
        rc = to16(cr->user, &c->user16);
        if (!rc)
            rc = to16(cr->domain, &c->domain16);
        if (!rc)
            rc = ntlm_ntowfv2(cr->password, cr->user, cr->domain, c->response_key);
    }
    if (!rc)
        rc = to16(cr->workstation, &c->ws16);
    if (!rc && cr->target_host && cr->target_host[0]) {
        rc = to16("cifs/", &c->target16);
        if (!rc)
            rc = to16(cr->target_host, &c->target16);
    }
    if (rc) {
        ntlm_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void ntlm_set_test_params(ntlm_ctx *c, const uint8_t client_challenge[8], const uint64_t *time,
                          const uint8_t session_key[16])
{
    if (client_challenge) {
        c->test_cc = true;
        memcpy(c->test_client_challenge, client_challenge, 8);
    }
    if (time) {
        c->test_time = true;
        c->test_time_val = *time;
    }
    if (session_key) {
        c->test_key = true;
        memcpy(c->test_session_key, session_key, 16);
    }
}

static void put_version(smbw_buf *b)
{
    /* VERSION (2.2.2.10): 6.1 build 7601, NTLMSSP_REVISION_W2K3 (15). Only
     * informational. */
    buf_u8(b, 6);
    buf_u8(b, 1);
    buf_u16(b, 7601);
    buf_zero(b, 3);
    buf_u8(b, 15);
}

int ntlm_negotiate(ntlm_ctx *c, smbw_buf *out)
{
    if (c->state != 0)
        return SMBW_EINVAL;
    smbw_buf *m = &c->negotiate_msg;
    buf_reset(m);
    buf_put(m, ntlm_signature, 8);
    buf_u32(m, 1);
    buf_u32(m, NTLM_CLIENT_FLAGS);
    /* DomainNameFields, WorkstationFields: empty (no OEM_*_SUPPLIED). */
    for (int i = 0; i < 2; i++) {
        buf_u16(m, 0);
        buf_u16(m, 0);
        buf_u32(m, NTLM_NEGOTIATE_LEN);
    }
    put_version(m);
    if (m->failed)
        return SMBW_ENOMEM;
    buf_put(out, m->p, m->len);
    if (out->failed)
        return SMBW_ENOMEM;
    c->state = 1;
    return 0;
}

/* Builds the AV pairs for the NTLMv2 client blob (MS-NLMP 3.1.5.1.2): the
 * server's pairs, MsvAvFlags with the MIC bit when a MIC is sent, and
 * MsvAvTargetName when known. */
static int client_av_pairs(ntlm_ctx *c, const ntlm_challenge *ch, bool mic, smbw_buf *out)
{
    smbw_cur ti = cur_make(ch->target_info, ch->target_info_len);
    for (;;) {
        uint16_t id, len;
        smbw_cur val;
        if (!cur_u16(&ti, &id) || !cur_u16(&ti, &len) || !cur_sub(&ti, len, &val))
            return SMBW_EPROTO; /* validated by the parser already */
        if (id == MSV_AV_EOL)
            break;
        if (id == MSV_AV_FLAGS || id == MSV_AV_TARGET_NAME)
            continue; /* replaced below */
        buf_u16(out, id);
        buf_u16(out, len);
        buf_put(out, val.p, val.len);
    }
    uint32_t avflags = ch->have_av_flags ? ch->av_flags : 0;
    if (mic)
        avflags |= MSV_AV_FLAG_MIC_PRESENT;
    if (avflags || ch->have_av_flags) {
        buf_u16(out, MSV_AV_FLAGS);
        buf_u16(out, 4);
        buf_u32(out, avflags);
    }
    if (c->target16.len && c->target16.len <= 0xFFFF) {
        buf_u16(out, MSV_AV_TARGET_NAME);
        buf_u16(out, (uint16_t)c->target16.len);
        buf_put(out, c->target16.p, c->target16.len);
    }
    buf_u16(out, MSV_AV_EOL);
    buf_u16(out, 0);
    return out->failed ? SMBW_ENOMEM : 0;
}

static uint64_t filetime_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return FILETIME_UNIX_EPOCH;
    return FILETIME_UNIX_EPOCH + (uint64_t)ts.tv_sec * 10000000u + (uint64_t)ts.tv_nsec / 100u;
}

static int derive_keys(ntlm_ctx *c)
{
    uint8_t k[16];
    size_t klen;
    int rc = ntlm_sign_key(c->exported_key, true, c->client_sign);
    if (!rc)
        rc = ntlm_sign_key(c->exported_key, false, c->server_sign);
    if (!rc)
        rc = ntlm_seal_key(c->exported_key, c->flags, true, k, &klen);
    if (!rc)
        rc = crypto_rc4_new(&c->client_seal, k, klen);
    if (!rc)
        rc = ntlm_seal_key(c->exported_key, c->flags, false, k, &klen);
    if (!rc)
        rc = crypto_rc4_new(&c->server_seal, k, klen);
    crypto_cleanse(k, sizeof k);
    if (!rc)
        c->have_keys = true;
    return rc;
}

/* Appends one payload field: writes Len/MaxLen/Offset at hdr_off. */
static void put_payload(smbw_buf *m, size_t hdr_off, const void *p, size_t len)
{
    if (len > 0xFFFF || m->len > 0xFFFFFFFFu) {
        m->failed = true;
        return;
    }
    buf_set_u16(m, hdr_off, (uint16_t)len);
    buf_set_u16(m, hdr_off + 2, (uint16_t)len);
    buf_set_u32(m, hdr_off + 4, (uint32_t)m->len);
    buf_put(m, p, len);
}

/* What an AUTHENTICATE message carries besides names, and the key it came
 * from: all wiped when the message is built. */
typedef struct auth_parts {
    uint8_t lm[24];
    size_t lm_len;
    smbw_buf nt;
    uint8_t session_base_key[16];
    uint8_t enc_key[16]; /* EncryptedRandomSessionKey */
    size_t enc_len;
} auth_parts;

/* NTLMv2: KeyExchangeKey = SessionBaseKey (MS-NLMP 3.4.5.1); with key
 * exchange the exported key is random and sent RC4-encrypted under it. */
static int key_exchange(ntlm_ctx *c, auth_parts *a)
{
    if (!(c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH)) {
        memcpy(c->exported_key, a->session_base_key, 16);
        return 0;
    }
    int rc;
    crypto_rc4 *r = NULL;
    if (c->test_key)
        memcpy(c->exported_key, c->test_session_key, 16);
    else if ((rc = crypto_random(c->exported_key, 16)) != 0)
        return rc;
    rc = crypto_rc4_new(&r, a->session_base_key, 16);
    if (!rc)
        rc = crypto_rc4_update(r, c->exported_key, a->enc_key, 16);
    if (r)
        crypto_rc4_free(r);
    if (!rc)
        a->enc_len = 16;
    return rc;
}

/* The NTLMv2 and LMv2 responses to the challenge, and the keys. */
static int v2_responses(ntlm_ctx *c, const ntlm_challenge *ch, auth_parts *a)
{
    uint8_t client_challenge[8];
    smbw_buf avp;
    int rc;
    c->mic_sent = ch->have_timestamp;
    if (c->test_cc)
        memcpy(client_challenge, c->test_client_challenge, 8);
    else if ((rc = crypto_random(client_challenge, 8)) != 0)
        return rc;
    uint64_t t =
        ch->have_timestamp ? ch->timestamp : (c->test_time ? c->test_time_val : filetime_now());
    buf_init(&avp);
    rc = client_av_pairs(c, ch, c->mic_sent, &avp);
    if (!rc)
        rc = ntlm_v2_response(c->response_key, ch->server_challenge, client_challenge, t, avp.p,
                              avp.len, &a->nt, a->session_base_key);
    buf_free(&avp);
    if (rc)
        return rc;
    a->lm_len = 24;
    if (!ch->have_timestamp) {
        rc = ntlm_lmv2_response(c->response_key, ch->server_challenge, client_challenge, a->lm);
        if (rc)
            return rc;
    }
    return key_exchange(c, a);
}

/* The AUTHENTICATE message into m, with its MIC over the NEGOTIATE and
 * CHALLENGE (chmsg) messages and itself when one is sent. */
static int build_authenticate(ntlm_ctx *c, const auth_parts *a, const uint8_t *chmsg, size_t chlen,
                              smbw_buf *m)
{
    /* Fixed part; the payload fields are patched as they are appended. */
    buf_put(m, ntlm_signature, 8);
    buf_u32(m, 3);
    buf_zero(m, 6 * 8);
    buf_u32(m, c->flags);
    put_version(m);
    buf_zero(m, 16); /* MIC */
    put_payload(m, 12, a->lm, a->lm_len);
    put_payload(m, 20, a->nt.p, a->nt.len);
    put_payload(m, 28, c->domain16.p, c->domain16.len);
    put_payload(m, 36, c->user16.p, c->user16.len);
    put_payload(m, 44, c->ws16.p, c->ws16.len);
    put_payload(m, 52, a->enc_key, a->enc_len);
    if (m->failed)
        return SMBW_ENOMEM;
    if (c->mic_sent) {
        uint8_t mic[16];
        crypto_iov iov[3] = {
            {c->negotiate_msg.p, c->negotiate_msg.len}, {chmsg, chlen}, {m->p, m->len}};
        int rc = crypto_hmac_md5(c->exported_key, 16, iov, 3, mic);
        if (rc)
            return rc;
        memcpy(m->p + NTLM_MIC_OFFSET, mic, 16);
    }
    return 0;
}

int ntlm_authenticate(ntlm_ctx *c, const uint8_t *chmsg, size_t chlen, smbw_buf *out)
{
    ntlm_challenge ch;
    auth_parts a;
    smbw_buf m;
    int rc;

    if (c->state != 1)
        return SMBW_EINVAL;
    rc = ntlm_parse_challenge(chmsg, chlen, &ch);
    if (rc)
        return rc;
    /* Unicode and extended session security are required: every server
     * that does NTLMv2 grants them. */
    if (!(ch.flags & NTLMSSP_NEGOTIATE_UNICODE) ||
        !(ch.flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY))
        return SMBW_ENOTSUP;

    memset(&a, 0, sizeof a);
    buf_init(&a.nt);
    buf_init(&m);
    c->flags = (ch.flags & NTLM_CLIENT_FLAGS) | NTLMSSP_NEGOTIATE_UNICODE;

    if (c->anonymous) {
        /* MS-NLMP 3.3.2 anonymous: LM = Z(1), NT empty, no key exchange,
         * session key all zero, no MIC. */
        c->flags |= NTLMSSP_NEGOTIATE_ANONYMOUS;
        c->flags &= ~NTLMSSP_NEGOTIATE_KEY_EXCH;
        a.lm_len = 1;
        c->mic_sent = false;
        memset(c->exported_key, 0, 16);
        rc = 0;
    } else {
        rc = v2_responses(c, &ch, &a);
    }
    if (!rc)
        rc = build_authenticate(c, &a, chmsg, chlen, &m);
    if (!rc && !c->anonymous)
        rc = derive_keys(c);
    if (!rc) {
        buf_put(out, m.p, m.len);
        if (out->failed)
            rc = SMBW_ENOMEM;
    }
    if (!rc)
        c->state = 2;
    crypto_cleanse(a.session_base_key, sizeof a.session_base_key);
    crypto_cleanse(a.enc_key, sizeof a.enc_key);
    crypto_cleanse(a.lm, sizeof a.lm);
    buf_free_secret(&a.nt);
    buf_free_secret(&m);
    return rc;
}

bool ntlm_mic_sent(const ntlm_ctx *c)
{
    return c->state == 2 && c->mic_sent;
}

bool ntlm_can_sign(const ntlm_ctx *c)
{
    return c->state == 2 && c->have_keys;
}

int ntlm_session_key(const ntlm_ctx *c, uint8_t key[16])
{
    if (c->state != 2)
        return SMBW_EINVAL;
    memcpy(key, c->exported_key, 16);
    return 0;
}

int ntlm_sign(ntlm_ctx *c, const uint8_t *msg, size_t len, uint8_t sig[16])
{
    if (!ntlm_can_sign(c))
        return SMBW_EINVAL;
    crypto_rc4 *seal = (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH) ? c->client_seal : NULL;
    return ntlm_mac(c->client_sign, seal, c->client_seq++, msg, len, sig);
}

int ntlm_verify(ntlm_ctx *c, const uint8_t *msg, size_t len, const uint8_t *sig, size_t siglen)
{
    uint8_t want[16];
    if (!ntlm_can_sign(c))
        return SMBW_EINVAL;
    if (siglen != 16)
        return SMBW_EAUTH;
    crypto_rc4 *seal = (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH) ? c->server_seal : NULL;
    int rc = ntlm_mac(c->server_sign, seal, c->server_seq++, msg, len, want);
    if (rc)
        return rc;
    return crypto_memeq(want, sig, 16) ? 0 : SMBW_EAUTH;
}

void ntlm_free(ntlm_ctx *c)
{
    if (!c)
        return;
    buf_free_secret(&c->user16);
    buf_free_secret(&c->domain16);
    buf_free(&c->ws16);
    buf_free(&c->target16);
    buf_free(&c->negotiate_msg);
    if (c->client_seal)
        crypto_rc4_free(c->client_seal);
    if (c->server_seal)
        crypto_rc4_free(c->server_seal);
    crypto_cleanse(c, sizeof *c);
    free(c);
}
