/* Internal hooks of lib/crypto/openssl.c, for the unit tests only.
 *
 * OpenSSL 3 keeps MD4 and RC4 in its "legacy" provider. When that provider
 * cannot be loaded into the library's private OSSL_LIB_CTX, openssl.c falls
 * back to the small implementations below. They are exposed here so that the
 * tests can run the same known answers through both paths. */
#ifndef SMBW_CRYPTO_INTERNAL_H
#define SMBW_CRYPTO_INTERNAL_H

#include "crypto.h"

/* MD4 (RFC 1320) without OpenSSL. */
SMBW_WUR int crypto_md4_internal(const void *p, size_t len, uint8_t out[16]);

/* An RC4 stream that always uses the internal implementation; update and
 * free it with the ordinary crypto_rc4_update()/crypto_rc4_free(). */
SMBW_WUR int crypto_rc4_new_internal(crypto_rc4 **out, const uint8_t *key, size_t keylen);

/* 1 when OpenSSL's legacy provider was loaded (crypto_md4/crypto_rc4_new use
 * OpenSSL), 0 when they use the internal fallback, negative when the crypto
 * layer could not be initialised at all. */
int crypto_legacy_available(void);

#endif
