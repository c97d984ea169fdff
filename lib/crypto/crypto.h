/* Exactly the cryptography SMB needs. lib/crypto/openssl.c is the only
 * implementation and the only file in the project that includes OpenSSL.
 * All functions return 0 on success or a negative SMBW_E* code (SMBW_ECRYPTO
 * on a primitive failure, SMBW_ENOMEM on allocation failure, SMBW_EINVAL on a
 * bad argument). Decryption/verification failures return SMBW_ECRYPTO. */
#ifndef SMBW_CRYPTO_H
#define SMBW_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "../util/bytes.h"

/* A scatter list: the MAC/hash functions process the pieces in order as if
 * they were one buffer. */
typedef struct crypto_iov {
    const void *p;
    size_t len;
} crypto_iov;

SMBW_WUR int crypto_sha256(const crypto_iov *iov, int n, uint8_t out[32]);
SMBW_WUR int crypto_sha512(const crypto_iov *iov, int n, uint8_t out[64]);
SMBW_WUR int crypto_md4(const void *p, size_t len, uint8_t out[16]);
SMBW_WUR int crypto_md5(const crypto_iov *iov, int n, uint8_t out[16]);
SMBW_WUR int crypto_hmac_sha256(const void *key, size_t keylen, const crypto_iov *iov, int n,
                                uint8_t out[32]);
SMBW_WUR int crypto_hmac_md5(const void *key, size_t keylen, const crypto_iov *iov, int n,
                             uint8_t out[16]);
/* AES-128-CMAC (RFC 4493); key is 16 bytes. */
SMBW_WUR int crypto_aes_cmac(const uint8_t key[16], const crypto_iov *iov, int n, uint8_t out[16]);
/* AES-GMAC: AES-GCM with the whole message as AAD and no plaintext.
 * keylen 16 or 32, nonce 12 bytes, 16-byte tag out. */
SMBW_WUR int crypto_aes_gmac(const uint8_t *key, size_t keylen, const uint8_t nonce[12],
                             const crypto_iov *iov, int n, uint8_t out[16]);

/* AES-GMAC with a key set once: the key schedule is made at crypto_gmac_new
 * and each tag only sets its nonce (a session's signatures, one per
 * message). Tags are those of crypto_aes_gmac. Not for use by two threads
 * at once. crypto_gmac_free erases the key schedule (NULL is fine). */
typedef struct crypto_gmac crypto_gmac;
SMBW_WUR int crypto_gmac_new(crypto_gmac **out, const uint8_t *key, size_t keylen);
SMBW_WUR int crypto_gmac_tag(crypto_gmac *g, const uint8_t nonce[12], const crypto_iov *iov, int n,
                             uint8_t out[16]);
void crypto_gmac_free(crypto_gmac *g);

/* RC4 stream (NTLM key exchange and NTLMSSP sealing of the SPNEGO MIC). */
typedef struct crypto_rc4 crypto_rc4;
SMBW_WUR int crypto_rc4_new(crypto_rc4 **out, const uint8_t *key, size_t keylen);
/* in and out may be the same buffer. */
SMBW_WUR int crypto_rc4_update(crypto_rc4 *c, const uint8_t *in, uint8_t *out, size_t len);
void crypto_rc4_free(crypto_rc4 *c);

/* AEAD for the SMB3 TRANSFORM_HEADER.
 * alg: CRYPTO_AES_128_CCM, CRYPTO_AES_128_GCM, CRYPTO_AES_256_CCM, CRYPTO_AES_256_GCM
 * (the SMB2 cipher ids 1..4). keylen must be 16 for 128 and 32 for 256.
 * nonce: 11 bytes for CCM, 12 for GCM. tag: 16 bytes.
 * Encrypt in place: buf[len] -> ciphertext, tag out.
 * Decrypt in place: verifies tag; on mismatch returns SMBW_ECRYPTO and the
 * buffer content is unspecified (callers discard it). */
enum {
    CRYPTO_AES_128_CCM = 1,
    CRYPTO_AES_128_GCM = 2,
    CRYPTO_AES_256_CCM = 3,
    CRYPTO_AES_256_GCM = 4
};
SMBW_WUR int crypto_aead_encrypt(int alg, const uint8_t *key, size_t keylen, const uint8_t *nonce,
                                 const void *aad, size_t aadlen, uint8_t *buf, size_t len,
                                 uint8_t tag[16]);
SMBW_WUR int crypto_aead_decrypt(int alg, const uint8_t *key, size_t keylen, const uint8_t *nonce,
                                 const void *aad, size_t aadlen, uint8_t *buf, size_t len,
                                 const uint8_t tag[16]);
/* Encrypts the pieces in[0..n) in order into out (their total length;
 * out may be where one piece is, not overlapping the others). CCM takes
 * exactly one piece (SMBW_EINVAL otherwise). */
SMBW_WUR int crypto_aead_encrypt_iov(int alg, const uint8_t *key, size_t keylen,
                                     const uint8_t *nonce, const void *aad, size_t aadlen,
                                     const crypto_iov *in, int n, uint8_t *out, uint8_t tag[16]);
/* Decrypts in[len] into out[len] (the same buffer or not overlapping);
 * as crypto_aead_decrypt otherwise: on a tag mismatch SMBW_ECRYPTO and out
 * unspecified. */
SMBW_WUR int crypto_aead_decrypt_to(int alg, const uint8_t *key, size_t keylen,
                                    const uint8_t *nonce, const void *aad, size_t aadlen,
                                    const uint8_t *in, uint8_t *out, size_t len,
                                    const uint8_t tag[16]);

/* AEAD decryption in steps, GCM only (CRYPTO_AES_128_GCM, CRYPTO_AES_256_GCM;
 * SMBW_ENOTSUP for CCM, whose cipher takes its payload in one call): the
 * ciphertext is passed in order through any number of update calls, each
 * into an output of its own (in and out the same or not overlapping), and
 * the tag is checked by crypto_aead_dec_final (SMBW_ECRYPTO on a mismatch).
 * Nothing that update wrote is authenticated before final returned 0: a
 * caller may look at it only to choose where the next bytes go, and must
 * discard all of it when final fails. new: SMBW_EINVAL (bad arguments),
 * SMBW_ENOTSUP, SMBW_ENOMEM, SMBW_ECRYPTO (library failure); update:
 * SMBW_EINVAL, SMBW_ECRYPTO. free accepts NULL and erases the state. */
typedef struct crypto_aead_dec crypto_aead_dec;
SMBW_WUR int crypto_aead_dec_new(crypto_aead_dec **out, int alg, const uint8_t *key, size_t keylen,
                                 const uint8_t *nonce, const void *aad, size_t aadlen);
SMBW_WUR int crypto_aead_dec_update(crypto_aead_dec *d, const uint8_t *in, uint8_t *out,
                                    size_t len);
SMBW_WUR int crypto_aead_dec_final(crypto_aead_dec *d, const uint8_t tag[16]);
void crypto_aead_dec_free(crypto_aead_dec *d);

/* NIST SP800-108 KDF in counter mode with HMAC-SHA256, r=32, L = outlen*8,
 * as MS-SMB2 3.1.4.2 uses it: Ko = PRF(Ki, [i]2 || Label || 0x00 || Context || [L]2).
 * label and context are passed exactly as given (callers include the trailing
 * NUL of the SMB label strings in labellen). outlen is 16 or 32. */
SMBW_WUR int crypto_kdf_ctr_hmac_sha256(const uint8_t *key, size_t keylen, const void *label,
                                        size_t labellen, const void *context, size_t contextlen,
                                        uint8_t *out, size_t outlen);

/* Constant-time comparison: 1 when equal, 0 otherwise. */
int crypto_memeq(const void *a, const void *b, size_t n);
SMBW_WUR int crypto_random(void *buf, size_t n);
/* Wipe a secret. */
void crypto_cleanse(void *p, size_t n);

#endif
