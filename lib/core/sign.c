/* SMB2/SMB3 signing, key derivation and TRANSFORM_HEADER encryption. */
#include "sign.h"

#include "../crypto/crypto.h"
#include "../util/bytes.h"
#include "../wire/wire.h"
#include "smbwire/errors.h"

#include <string.h>

enum {
    HDR_LEN = SMB2_HDR_SIZE,
    HDR_SIGNATURE = 48, /* 16 bytes, zeroed for the MAC (3.1.4.1) */
};

/* ------------------------------------------------------------------------ */
/* Signing, MS-SMB2 3.1.4.1 */

int smb2_sign_compute(int alg, const uint8_t *key, size_t keylen, const uint8_t *msg, size_t len,
                      uint8_t sig[16])
{
    return smb2_sign_compute2(alg, key, keylen, msg, len, NULL, 0, sig);
}

int smb2_sign_compute2(int alg, const uint8_t *key, size_t keylen, const uint8_t *msg, size_t len,
                       const uint8_t *tail, size_t tail_len, uint8_t sig[16])
{
    return smb2_sign_compute3(alg, key, keylen, NULL, msg, len, tail, tail_len, sig);
}

int smb2_sign_compute3(int alg, const uint8_t *key, size_t keylen, struct crypto_gmac *gm,
                       const uint8_t *msg, size_t len, const uint8_t *tail, size_t tail_len,
                       uint8_t sig[16])
{
    static const uint8_t zero_sig[16];
    if (!key || !msg || !sig || len < HDR_LEN || (tail_len && !tail))
        return SMBW_EINVAL;
    /* The message with its Signature field as zeros, without copying it. */
    crypto_iov iov[4] = {
        {msg, HDR_SIGNATURE},
        {zero_sig, sizeof zero_sig},
        {msg + HDR_LEN, len - HDR_LEN},
        {tail, tail_len},
    };
    int niov = tail_len ? 4 : 3;
    int rc;
    switch (alg) {
    case SMB2_SIGN_ALG_HMAC_SHA256: {
        uint8_t mac[32];
        rc = crypto_hmac_sha256(key, keylen, iov, niov, mac);
        if (rc == 0)
            memcpy(sig, mac, 16);
        crypto_cleanse(mac, sizeof mac);
        return rc;
    }
    case SMB2_SIGN_ALG_AES_CMAC:
        if (keylen != 16)
            return SMBW_EINVAL;
        return crypto_aes_cmac(key, iov, niov, sig);
    case SMB2_SIGN_ALG_AES_GMAC: {
        /* Nonce: MessageId, then a 4-byte field whose bit 0 marks a
         * server-to-client message and bit 1 a CANCEL request. */
        smb2_hdr h;
        if (wire_decode_hdr(msg, len, &h) != 0)
            return SMBW_EINVAL;
        uint8_t nonce[12] = {0};
        for (int i = 0; i < 8; i++)
            nonce[i] = (uint8_t)(h.message_id >> (8 * i));
        if (h.flags & SMB2_FLAGS_SERVER_TO_REDIR)
            nonce[8] |= 1;
        if (h.command == SMB2_CANCEL)
            nonce[8] |= 2;
        if (gm)
            return crypto_gmac_tag(gm, nonce, iov, niov, sig);
        return crypto_aes_gmac(key, keylen, nonce, iov, niov, sig);
    }
    default:
        return SMBW_EINVAL;
    }
}

int smb2_sign_msg(int alg, const uint8_t *key, size_t keylen, uint8_t *msg, size_t len)
{
    return smb2_sign_msg2(alg, key, keylen, msg, len, NULL, 0);
}

int smb2_sign_msg2(int alg, const uint8_t *key, size_t keylen, uint8_t *msg, size_t len,
                   const uint8_t *tail, size_t tail_len)
{
    return smb2_sign_msg3(alg, key, keylen, NULL, msg, len, tail, tail_len);
}

int smb2_sign_msg3(int alg, const uint8_t *key, size_t keylen, struct crypto_gmac *gm, uint8_t *msg,
                   size_t len, const uint8_t *tail, size_t tail_len)
{
    uint8_t sig[16];
    int rc = smb2_sign_compute3(alg, key, keylen, gm, msg, len, tail, tail_len, sig);
    if (rc < 0)
        return rc;
    memcpy(msg + HDR_SIGNATURE, sig, 16);
    return 0;
}

int smb2_sign_verify(int alg, const uint8_t *key, size_t keylen, const uint8_t *msg, size_t len)
{
    return smb2_sign_verify2(alg, key, keylen, msg, len, NULL, 0);
}

int smb2_sign_verify2(int alg, const uint8_t *key, size_t keylen, const uint8_t *msg, size_t len,
                      const uint8_t *tail, size_t tail_len)
{
    return smb2_sign_verify3(alg, key, keylen, NULL, msg, len, tail, tail_len);
}

int smb2_sign_verify3(int alg, const uint8_t *key, size_t keylen, struct crypto_gmac *gm,
                      const uint8_t *msg, size_t len, const uint8_t *tail, size_t tail_len)
{
    uint8_t sig[16];
    int rc = smb2_sign_compute3(alg, key, keylen, gm, msg, len, tail, tail_len, sig);
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
                          const uint8_t *nonce_in, const uint8_t *msg, size_t len,
                          const uint8_t *tail, size_t tail_len, smbw_buf *out)
{
    size_t noncelen = 0;
    int rc = cipher_check(cipher, key, keylen, &noncelen);
    if (rc < 0)
        return rc;
    if (!out || !msg || len == 0 || (tail_len && !tail) || tail_len > UINT32_MAX - len ||
        len > UINT32_MAX || out->failed)
        return SMBW_EINVAL;
    bool gcm = cipher == CRYPTO_AES_128_GCM || cipher == CRYPTO_AES_256_GCM;

    smb2_transform_hdr th;
    memset(&th, 0, sizeof th);
    if (nonce_in)
        memcpy(th.nonce, nonce_in, noncelen);
    else if ((rc = crypto_random(th.nonce, noncelen)) < 0)
        return rc;
    th.original_size = (uint32_t)(len + tail_len);
    th.flags = SMB2_TRANSFORM_FLAG_ENCRYPTED;
    th.session_id = session_id;

    size_t base = out->len;
    wire_encode_transform_hdr(out, &th);
    if (gcm) {
        /* Encrypted from where the pieces are: the ciphertext is the only
         * copy. */
        (void)buf_grow(out, len + tail_len);
    } else {
        /* CCM takes one piece: plaintext into place, encrypted there. */
        buf_put(out, msg, len);
        if (tail_len)
            buf_put(out, tail, tail_len);
    }
    if (out->failed) {
        out->failed = false;
        out->len = base;
        crypto_cleanse(&th, sizeof th);
        return SMBW_ENOMEM;
    }
    uint8_t *p = out->p + base;
    crypto_iov in[2] = {{msg, len}, {tail, tail_len}};
    if (!gcm)
        in[0] = (crypto_iov){p + SMB2_TRANSFORM_HDR_SIZE, len + tail_len};
    /* AAD: the header from Nonce to the end (ProtocolId and Signature are
     * left out); the tag becomes the Signature. */
    rc = crypto_aead_encrypt_iov(cipher, key, keylen, th.nonce, p + SMB2_TRANSFORM_AAD_OFFSET,
                                 SMB2_TRANSFORM_AAD_SIZE, in, gcm && tail_len ? 2 : 1,
                                 p + SMB2_TRANSFORM_HDR_SIZE, p + SMB2_TRANSFORM_SIGNATURE_OFFSET);
    crypto_cleanse(&th, sizeof th);
    if (rc < 0) {
        crypto_cleanse(p, SMB2_TRANSFORM_HDR_SIZE + len + tail_len);
        out->len = base;
        return rc;
    }
    return 0;
}

int smb2_encrypt(uint16_t cipher, const uint8_t *key, size_t keylen, uint64_t session_id,
                 const uint8_t *msg, size_t len, smbw_buf *out)
{
    return encrypt_common(cipher, key, keylen, session_id, NULL, msg, len, NULL, 0, out);
}

int smb2_encrypt2(uint16_t cipher, const uint8_t *key, size_t keylen, uint64_t session_id,
                  const uint8_t *msg, size_t len, const uint8_t *tail, size_t tail_len,
                  smbw_buf *out)
{
    return encrypt_common(cipher, key, keylen, session_id, NULL, msg, len, tail, tail_len, out);
}

int smb2_encrypt_nonce(uint16_t cipher, const uint8_t *key, size_t keylen, uint64_t session_id,
                       const uint8_t nonce[16], const uint8_t *msg, size_t len, smbw_buf *out)
{
    if (!nonce)
        return SMBW_EINVAL;
    return encrypt_common(cipher, key, keylen, session_id, nonce, msg, len, NULL, 0, out);
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
    smb2_transform_hdr th;
    if (wire_decode_transform_hdr(frame, len, &th) != 0)
        return SMBW_EPROTO;

    size_t base = out->len;
    uint8_t *p = buf_grow(out, th.payload_len);
    if (!p)
        return SMBW_ENOMEM;
    /* Decrypted from the frame into out: no copy of the ciphertext. */
    rc = crypto_aead_decrypt_to(cipher, key, keylen, th.nonce, th.aad, th.aad_len, th.payload, p,
                                th.payload_len, th.signature);
    if (rc < 0) {
        /* Never hand out unauthenticated plaintext. */
        crypto_cleanse(p, th.payload_len);
        out->len = base;
        return rc == SMBW_EINVAL ? rc : SMBW_ECRYPTO;
    }
    return 0;
}

int smb2_decrypt_begin(smb2_dec *d, uint16_t cipher, const uint8_t *key, size_t keylen,
                       const uint8_t *frame, size_t len)
{
    size_t noncelen = 0;
    if (!d)
        return SMBW_EINVAL;
    memset(d, 0, sizeof *d);
    int rc = cipher_check(cipher, key, keylen, &noncelen);
    if (rc < 0)
        return rc;
    if (noncelen != 12)
        return SMBW_ENOTSUP;
    if (!frame)
        return SMBW_EINVAL;
    smb2_transform_hdr th;
    if (wire_decode_transform_hdr(frame, len, &th) != 0)
        return SMBW_EPROTO;
    rc = crypto_aead_dec_new(&d->aead, cipher, key, keylen, th.nonce, th.aad, th.aad_len);
    if (rc < 0)
        return rc == SMBW_ENOMEM || rc == SMBW_ENOTSUP ? rc : SMBW_EINVAL;
    d->payload = th.payload;
    memcpy(d->tag, th.signature, 16);
    d->len = th.payload_len;
    return 0;
}

int smb2_decrypt_next(smb2_dec *d, uint8_t *out, size_t n)
{
    if (!d || !d->aead || n > d->len - d->done)
        return SMBW_EINVAL;
    int rc = crypto_aead_dec_update(d->aead, d->payload + d->done, out, n);
    if (rc < 0)
        return rc;
    d->done += n;
    return 0;
}

int smb2_decrypt_end(smb2_dec *d)
{
    if (!d || !d->aead)
        return SMBW_EINVAL;
    int rc = d->done == d->len ? crypto_aead_dec_final(d->aead, d->tag) : SMBW_EINVAL;
    smb2_decrypt_abort(d);
    return rc < 0 && rc != SMBW_EINVAL ? SMBW_ECRYPTO : rc;
}

void smb2_decrypt_abort(smb2_dec *d)
{
    if (!d)
        return;
    crypto_aead_dec_free(d->aead);
    memset(d, 0, sizeof *d);
}
