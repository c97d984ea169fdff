/* SMB2/SMB3 signing, key derivation and TRANSFORM_HEADER encryption. */
#include "sign.h"

#include "../crypto/crypto.h"
#include "../util/bytes.h"
#include "smbwire/errors.h"

#include <string.h>

enum {
    HDR_LEN = 64,
    HDR_FLAGS = 16,   /* u32 Flags */
    HDR_COMMAND = 12, /* u16 Command */
    HDR_MESSAGE_ID = 24,
    HDR_SIGNATURE = 48, /* 16 bytes */
    FLAG_SERVER_TO_REDIR = 0x00000001,
    CMD_CANCEL = 0x000C,

    /* TRANSFORM_HEADER, MS-SMB2 2.2.41 */
    TH_LEN = 52,
    TH_SIGNATURE = 4,  /* 16 bytes */
    TH_NONCE = 20,     /* 16 bytes; the AAD runs from here to the end */
    TH_ORIG_SIZE = 36, /* u32 */
    TH_RESERVED = 40,  /* u16 */
    TH_FLAGS = 42,     /* u16, 0x0001 = Encrypted */
    TH_SESSION_ID = 44,
    TH_FLAG_ENCRYPTED = 0x0001,
};

static const uint8_t transform_id[4] = {0xFD, 'S', 'M', 'B'};

/* ------------------------------------------------------------------------ */
/* Signing, MS-SMB2 3.1.4.1 */

int smb2_sign_compute(int alg, const uint8_t *key, size_t keylen, const uint8_t *msg, size_t len,
                      uint8_t sig[16])
{
    static const uint8_t zero_sig[16];
    if (!key || !msg || !sig || len < HDR_LEN)
        return SMBW_EINVAL;
    /* The message with its Signature field as zeros, without copying it. */
    crypto_iov iov[3] = {
        {msg, HDR_SIGNATURE},
        {zero_sig, sizeof zero_sig},
        {msg + HDR_LEN, len - HDR_LEN},
    };
    int rc;
    switch (alg) {
    case SMB2_SIGN_ALG_HMAC_SHA256: {
        uint8_t mac[32];
        rc = crypto_hmac_sha256(key, keylen, iov, 3, mac);
        if (rc == 0)
            memcpy(sig, mac, 16);
        crypto_cleanse(mac, sizeof mac);
        return rc;
    }
    case SMB2_SIGN_ALG_AES_CMAC:
        if (keylen != 16)
            return SMBW_EINVAL;
        return crypto_aes_cmac(key, iov, 3, sig);
    case SMB2_SIGN_ALG_AES_GMAC: {
        /* Nonce: MessageId, then a 4-byte field whose bit 0 marks a
         * server-to-client message and bit 1 a CANCEL request. */
        uint8_t nonce[12];
        memcpy(nonce, msg + HDR_MESSAGE_ID, 8);
        uint32_t role = 0;
        if (get_u32(msg + HDR_FLAGS) & FLAG_SERVER_TO_REDIR)
            role |= 1;
        if (get_u16(msg + HDR_COMMAND) == CMD_CANCEL)
            role |= 2;
        put_u32(nonce + 8, role);
        return crypto_aes_gmac(key, keylen, nonce, iov, 3, sig);
    }
    default:
        return SMBW_EINVAL;
    }
}

int smb2_sign_msg(int alg, const uint8_t *key, size_t keylen, uint8_t *msg, size_t len)
{
    uint8_t sig[16];
    int rc = smb2_sign_compute(alg, key, keylen, msg, len, sig);
    if (rc < 0)
        return rc;
    memcpy(msg + HDR_SIGNATURE, sig, 16);
    return 0;
}

int smb2_sign_verify(int alg, const uint8_t *key, size_t keylen, const uint8_t *msg, size_t len)
{
    uint8_t sig[16];
    int rc = smb2_sign_compute(alg, key, keylen, msg, len, sig);
    if (rc < 0)
        return rc;
    return crypto_memeq(sig, msg + HDR_SIGNATURE, 16) ? 0 : SMBW_ECRYPTO;
}

/* ------------------------------------------------------------------------ */
/* Key derivation, MS-SMB2 3.1.4.2 and 3.2.5.3.1 */

/* Labels and contexts are used with their terminating NUL (sizeof). */
static int kdf(const uint8_t *ki, size_t kilen, const char *label, size_t labellen, const void *ctx,
               size_t ctxlen, uint8_t *out, size_t outlen)
{
    return crypto_kdf_ctr_hmac_sha256(ki, kilen, label, labellen, ctx, ctxlen, out, outlen);
}
#define LBL(s) s, sizeof(s)

int smb2_derive_keys(uint16_t dialect, const uint8_t *session_key, size_t session_key_len,
                     const uint8_t preauth_hash[64], uint16_t cipher, smb2_keys *out)
{
    if (!out)
        return SMBW_EINVAL;
    memset(out, 0, sizeof *out);
    if (!session_key || session_key_len == 0)
        return SMBW_EINVAL;

    /* Session.SessionKey: the first 16 bytes of the cryptographic key,
     * right-padded with zeros when shorter (MS-SMB2 3.2.1.3). */
    uint8_t sk[16] = {0};
    memcpy(sk, session_key, session_key_len < 16 ? session_key_len : 16);

    int rc = 0;
    switch (dialect) {
    case 0x0202:
    case 0x0210:
        memcpy(out->signing, sk, 16);
        break;
    case 0x0300:
    case 0x0302:
        /* 3.0.x always encrypts with AES-128-CCM. */
        out->enc_len = 16;
        if ((rc = kdf(sk, 16, LBL("SMB2AESCMAC"), LBL("SmbSign"), out->signing, 16)) < 0 ||
            (rc = kdf(sk, 16, LBL("SMB2AESCCM"), LBL("ServerIn "), out->enc, 16)) < 0 ||
            (rc = kdf(sk, 16, LBL("SMB2AESCCM"), LBL("ServerOut"), out->dec, 16)) < 0 ||
            (rc = kdf(sk, 16, LBL("SMB2APP"), LBL("SmbRpc"), out->app, 16)) < 0)
            break;
        break;
    case 0x0311: {
        if (!preauth_hash) {
            rc = SMBW_EINVAL;
            break;
        }
        /* AES-256 ciphers: L = 256 and the full session key as Ki. */
        int big = cipher == CRYPTO_AES_256_CCM || cipher == CRYPTO_AES_256_GCM;
        const uint8_t *eki = big ? session_key : sk;
        size_t ekilen = big ? session_key_len : 16;
        out->enc_len = big ? 32 : 16;
        if ((rc = kdf(sk, 16, LBL("SMBSigningKey"), preauth_hash, 64, out->signing, 16)) < 0 ||
            (rc = kdf(eki, ekilen, LBL("SMBC2SCipherKey"), preauth_hash, 64, out->enc,
                      out->enc_len)) < 0 ||
            (rc = kdf(eki, ekilen, LBL("SMBS2CCipherKey"), preauth_hash, 64, out->dec,
                      out->enc_len)) < 0 ||
            (rc = kdf(sk, 16, LBL("SMBAppKey"), preauth_hash, 64, out->app, 16)) < 0)
            break;
        break;
    }
    default:
        rc = SMBW_EINVAL;
        break;
    }
    crypto_cleanse(sk, sizeof sk);
    if (rc < 0)
        crypto_cleanse(out, sizeof *out);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* TRANSFORM_HEADER, MS-SMB2 2.2.41 and 3.1.4.3 */

static int cipher_check(uint16_t cipher, const uint8_t *key, size_t keylen, size_t *noncelen)
{
    if (!key)
        return SMBW_EINVAL;
    switch (cipher) {
    case CRYPTO_AES_128_CCM:
        *noncelen = 11;
        return keylen == 16 ? 0 : SMBW_EINVAL;
    case CRYPTO_AES_256_CCM:
        *noncelen = 11;
        return keylen == 32 ? 0 : SMBW_EINVAL;
    case CRYPTO_AES_128_GCM:
        *noncelen = 12;
        return keylen == 16 ? 0 : SMBW_EINVAL;
    case CRYPTO_AES_256_GCM:
        *noncelen = 12;
        return keylen == 32 ? 0 : SMBW_EINVAL;
    default:
        return SMBW_EINVAL;
    }
}

static int encrypt_common(uint16_t cipher, const uint8_t *key, size_t keylen, uint64_t session_id,
                          const uint8_t *nonce_in, const uint8_t *msg, size_t len, smbw_buf *out)
{
    size_t noncelen = 0;
    int rc = cipher_check(cipher, key, keylen, &noncelen);
    if (rc < 0)
        return rc;
    if (!out || !msg || len == 0 || len > UINT32_MAX || out->failed)
        return SMBW_EINVAL;

    size_t base = out->len;
    uint8_t *p = buf_grow(out, TH_LEN + len);
    if (!p)
        return SMBW_ENOMEM;
    memcpy(p, transform_id, 4);
    memset(p + TH_SIGNATURE, 0, 16);
    memset(p + TH_NONCE, 0, 16);
    if (nonce_in)
        memcpy(p + TH_NONCE, nonce_in, noncelen);
    else if ((rc = crypto_random(p + TH_NONCE, noncelen)) < 0)
        goto fail;
    put_u32(p + TH_ORIG_SIZE, (uint32_t)len);
    put_u16(p + TH_RESERVED, 0);
    put_u16(p + TH_FLAGS, TH_FLAG_ENCRYPTED);
    put_u64(p + TH_SESSION_ID, session_id);
    memcpy(p + TH_LEN, msg, len);
    /* AAD: the header from Nonce to the end (ProtocolId and Signature are
     * left out); the tag becomes the Signature. */
    rc = crypto_aead_encrypt(cipher, key, keylen, p + TH_NONCE, p + TH_NONCE, TH_LEN - TH_NONCE,
                             p + TH_LEN, len, p + TH_SIGNATURE);
    if (rc < 0)
        goto fail;
    return 0;
fail:
    crypto_cleanse(p, TH_LEN + len);
    out->len = base;
    return rc;
}

int smb2_encrypt(uint16_t cipher, const uint8_t *key, size_t keylen, uint64_t session_id,
                 const uint8_t *msg, size_t len, smbw_buf *out)
{
    return encrypt_common(cipher, key, keylen, session_id, NULL, msg, len, out);
}

int smb2_encrypt_nonce(uint16_t cipher, const uint8_t *key, size_t keylen, uint64_t session_id,
                       const uint8_t nonce[16], const uint8_t *msg, size_t len, smbw_buf *out)
{
    if (!nonce)
        return SMBW_EINVAL;
    return encrypt_common(cipher, key, keylen, session_id, nonce, msg, len, out);
}

int smb2_transform_session_id(const uint8_t *frame, size_t len, uint64_t *sid)
{
    if (!frame || !sid)
        return SMBW_EINVAL;
    if (len < TH_LEN || memcmp(frame, transform_id, 4) != 0)
        return SMBW_EPROTO;
    *sid = get_u64(frame + TH_SESSION_ID);
    return 0;
}

int smb2_decrypt(uint16_t cipher, const uint8_t *key, size_t keylen, const uint8_t *frame,
                 size_t len, smbw_buf *out)
{
    size_t noncelen = 0;
    int rc = cipher_check(cipher, key, keylen, &noncelen);
    if (rc < 0)
        return rc;
    if (!frame || !out || out->failed)
        return SMBW_EINVAL;
    if (len < TH_LEN || memcmp(frame, transform_id, 4) != 0)
        return SMBW_EPROTO;
    size_t body = len - TH_LEN;
    if (body == 0 || get_u32(frame + TH_ORIG_SIZE) != body ||
        get_u16(frame + TH_FLAGS) != TH_FLAG_ENCRYPTED)
        return SMBW_EPROTO;

    size_t base = out->len;
    uint8_t *p = buf_grow(out, body);
    if (!p)
        return SMBW_ENOMEM;
    memcpy(p, frame + TH_LEN, body);
    rc = crypto_aead_decrypt(cipher, key, keylen, frame + TH_NONCE, frame + TH_NONCE,
                             TH_LEN - TH_NONCE, p, body, frame + TH_SIGNATURE);
    if (rc < 0) {
        /* Never hand out unauthenticated plaintext. */
        crypto_cleanse(p, body);
        out->len = base;
        return rc == SMBW_EINVAL ? rc : SMBW_ECRYPTO;
    }
    return 0;
}
