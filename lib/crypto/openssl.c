/* The one implementation of lib/crypto/crypto.h, on OpenSSL 3.
 *
 * Everything is fetched from a library-private OSSL_LIB_CTX holding the
 * "default" provider and, when it can be loaded, the "legacy" provider (MD4
 * and RC4 live there). The application's own OpenSSL state is never touched:
 * no provider is loaded into the default context, and errors pushed by our
 * calls are popped again (ERR_set_mark/ERR_pop_to_mark) so that the calling
 * thread's error queue looks as it did before.
 *
 * Algorithms and MAC templates are fetched once (pthread_once) and shared
 * read-only between threads; each call works on its own EVP context. */
#include "crypto.h"
#include "crypto_internal.h"

#include "smbwire/errors.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

/* ------------------------------------------------------------------------ */
/* Private library context */

/* OpenSSL takes some read-only inputs (a parameter string, the expected
 * AEAD tag) through non-const pointers; it does not write through them. */
static void *unconst(const void *p)
{
    return (void *)(uintptr_t)p;
}

static struct {
    int ok;     /* 1 when the default provider and every modern algorithm are there */
    int legacy; /* 1 when MD4 and RC4 come from OpenSSL */
    OSSL_LIB_CTX *libctx;
    OSSL_PROVIDER *prov_default;
    OSSL_PROVIDER *prov_legacy;
    EVP_MD *sha256, *sha512, *md5, *md4;
    EVP_CIPHER *aes128gcm, *aes256gcm, *aes128ccm, *aes256ccm, *rc4;
    EVP_MAC *hmac, *cmac;
    /* Keyless HMAC contexts with the digest already chosen; every call
     * duplicates one and keys the copy. (An unkeyed CMAC context cannot be
     * duplicated, so CMAC gets its cipher as a parameter on each init.) */
    EVP_MAC_CTX *hmac_sha256_tmpl, *hmac_md5_tmpl;
} g;

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static EVP_MAC_CTX *mac_template(EVP_MAC *mac, const char *key, const char *value)
{
    if (!mac)
        return NULL;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    if (!ctx)
        return NULL;
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(key, unconst(value), 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_CTX_set_params(ctx, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static void crypto_init_once(void)
{
    ERR_set_mark();
    g.libctx = OSSL_LIB_CTX_new();
    if (!g.libctx)
        goto out;
    g.prov_default = OSSL_PROVIDER_load(g.libctx, "default");
    if (!g.prov_default)
        goto out;
    /* Optional: where it is missing, MD4 and RC4 use the code below. */
    g.prov_legacy = OSSL_PROVIDER_load(g.libctx, "legacy");

    g.sha256 = EVP_MD_fetch(g.libctx, "SHA256", NULL);
    g.sha512 = EVP_MD_fetch(g.libctx, "SHA512", NULL);
    g.md5 = EVP_MD_fetch(g.libctx, "MD5", NULL);
    g.aes128gcm = EVP_CIPHER_fetch(g.libctx, "AES-128-GCM", NULL);
    g.aes256gcm = EVP_CIPHER_fetch(g.libctx, "AES-256-GCM", NULL);
    g.aes128ccm = EVP_CIPHER_fetch(g.libctx, "AES-128-CCM", NULL);
    g.aes256ccm = EVP_CIPHER_fetch(g.libctx, "AES-256-CCM", NULL);
    g.hmac = EVP_MAC_fetch(g.libctx, "HMAC", NULL);
    g.cmac = EVP_MAC_fetch(g.libctx, "CMAC", NULL);
    g.hmac_sha256_tmpl = mac_template(g.hmac, OSSL_MAC_PARAM_DIGEST, "SHA256");
    g.hmac_md5_tmpl = mac_template(g.hmac, OSSL_MAC_PARAM_DIGEST, "MD5");

    if (g.prov_legacy) {
        g.md4 = EVP_MD_fetch(g.libctx, "MD4", NULL);
        g.rc4 = EVP_CIPHER_fetch(g.libctx, "RC4", NULL);
    }
    g.legacy = g.md4 && g.rc4;

    g.ok = g.sha256 && g.sha512 && g.md5 && g.aes128gcm && g.aes256gcm && g.aes128ccm &&
           g.aes256ccm && g.hmac_sha256_tmpl && g.hmac_md5_tmpl && g.cmac;
out:
    ERR_pop_to_mark();
}

static int crypto_ready(void)
{
    if (pthread_once(&g_once, crypto_init_once) != 0)
        return SMBW_ECRYPTO;
    return g.ok ? 0 : SMBW_ECRYPTO;
}

int crypto_legacy_available(void)
{
    int rc = crypto_ready();
    if (rc < 0)
        return rc;
    return g.legacy;
}

static int check_iov(const crypto_iov *iov, int n)
{
    if (n < 0 || (n > 0 && !iov))
        return SMBW_EINVAL;
    for (int i = 0; i < n; i++)
        if (iov[i].len && !iov[i].p)
            return SMBW_EINVAL;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Hashes */

static int digest_iov(const EVP_MD *md, const crypto_iov *iov, int n, uint8_t *out,
                      unsigned int outlen)
{
    int rc = check_iov(iov, n);
    if (rc < 0 || !out)
        return rc < 0 ? rc : SMBW_EINVAL;
    if (!md)
        return SMBW_ECRYPTO;
    ERR_set_mark();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) {
        ERR_pop_to_mark();
        return SMBW_ENOMEM;
    }
    rc = SMBW_ECRYPTO;
    if (EVP_DigestInit_ex2(ctx, md, NULL) != 1)
        goto out;
    for (int i = 0; i < n; i++)
        if (iov[i].len && EVP_DigestUpdate(ctx, iov[i].p, iov[i].len) != 1)
            goto out;
    unsigned int got = 0;
    if (EVP_DigestFinal_ex(ctx, out, &got) != 1 || got != outlen)
        goto out;
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    ERR_pop_to_mark();
    return rc;
}

int crypto_sha256(const crypto_iov *iov, int n, uint8_t out[32])
{
    int rc = crypto_ready();
    return rc < 0 ? rc : digest_iov(g.sha256, iov, n, out, 32);
}

int crypto_sha512(const crypto_iov *iov, int n, uint8_t out[64])
{
    int rc = crypto_ready();
    return rc < 0 ? rc : digest_iov(g.sha512, iov, n, out, 64);
}

int crypto_md5(const crypto_iov *iov, int n, uint8_t out[16])
{
    int rc = crypto_ready();
    return rc < 0 ? rc : digest_iov(g.md5, iov, n, out, 16);
}

/* MD4, RFC 1320, for when the legacy provider is not there. */
static uint32_t rol32(uint32_t v, int s)
{
    return (v << s) | (v >> (32 - s));
}

static uint32_t md4_load32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void md4_store_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void md4_block(uint32_t h[4], const uint8_t *blk)
{
    static const int s1[4] = {3, 7, 11, 19}, s2[4] = {3, 5, 9, 13}, s3[4] = {3, 9, 11, 15};
    static const int k2[16] = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};
    static const int k3[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
    uint32_t x[16];
    for (int i = 0; i < 16; i++)
        x[i] = md4_load32(blk + 4 * i);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], t;
    /* Each step updates the first of (a, b, c, d), then the roles rotate:
     * [abcd] [dabc] [cdab] [bcda], as in the RFC's round tables. */
    for (int i = 0; i < 16; i++) {
        t = rol32(a + ((b & c) | (~b & d)) + x[i], s1[i % 4]);
        a = d, d = c, c = b, b = t;
    }
    for (int i = 0; i < 16; i++) {
        t = rol32(a + ((b & c) | (b & d) | (c & d)) + x[k2[i]] + 0x5A827999u, s2[i % 4]);
        a = d, d = c, c = b, b = t;
    }
    for (int i = 0; i < 16; i++) {
        t = rol32(a + (b ^ c ^ d) + x[k3[i]] + 0x6ED9EBA1u, s3[i % 4]);
        a = d, d = c, c = b, b = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d;
    smbw_wipe(x, sizeof x);
}

int crypto_md4_internal(const void *p, size_t len, uint8_t out[16])
{
    if ((len && !p) || !out)
        return SMBW_EINVAL;
    uint32_t h[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
    const uint8_t *in = p;
    size_t left = len;
    for (; left >= 64; in += 64, left -= 64)
        md4_block(h, in);
    uint8_t tail[128] = {0};
    if (left)
        memcpy(tail, in, left);
    tail[left] = 0x80;
    size_t tlen = left < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)len << 3;
    md4_store_le(tail + tlen - 8, bits, 8);
    md4_block(h, tail);
    if (tlen == 128)
        md4_block(h, tail + 64);
    for (int i = 0; i < 4; i++)
        md4_store_le(out + 4 * i, h[i], 4);
    smbw_wipe(tail, sizeof tail);
    smbw_wipe(h, sizeof h);
    return 0;
}

int crypto_md4(const void *p, size_t len, uint8_t out[16])
{
    if ((len && !p) || !out)
        return SMBW_EINVAL;
    int rc = crypto_ready();
    if (rc < 0 || !g.legacy)
        return crypto_md4_internal(p, len, out);
    crypto_iov iov = {p, len};
    return digest_iov(g.md4, &iov, 1, out, 16);
}

/* ------------------------------------------------------------------------ */
/* MACs */

/* Either duplicates tmpl, or makes a fresh context of mac initialised with
 * params. */
static int mac_iov(const EVP_MAC_CTX *tmpl, EVP_MAC *mac, const OSSL_PARAM *params, const void *key,
                   size_t keylen, const crypto_iov *iov, int n, uint8_t *out, size_t outlen)
{
    static const uint8_t empty_key[1];
    int rc = check_iov(iov, n);
    if (rc < 0)
        return rc;
    if (!out || (keylen && !key))
        return SMBW_EINVAL;
    if (!keylen)
        key = empty_key; /* a NULL key would mean "keep the old one" */
    ERR_set_mark();
    EVP_MAC_CTX *ctx = tmpl ? EVP_MAC_CTX_dup(tmpl) : EVP_MAC_CTX_new(mac);
    if (!ctx) {
        ERR_pop_to_mark();
        return SMBW_ENOMEM;
    }
    rc = SMBW_ECRYPTO;
    if (EVP_MAC_init(ctx, key, keylen, params) != 1)
        goto out;
    for (int i = 0; i < n; i++)
        if (iov[i].len && EVP_MAC_update(ctx, iov[i].p, iov[i].len) != 1)
            goto out;
    size_t got = 0;
    if (EVP_MAC_final(ctx, out, &got, outlen) != 1 || got != outlen)
        goto out;
    rc = 0;
out:
    EVP_MAC_CTX_free(ctx);
    ERR_pop_to_mark();
    return rc;
}

int crypto_hmac_sha256(const void *key, size_t keylen, const crypto_iov *iov, int n,
                       uint8_t out[32])
{
    int rc = crypto_ready();
    return rc < 0 ? rc : mac_iov(g.hmac_sha256_tmpl, NULL, NULL, key, keylen, iov, n, out, 32);
}

int crypto_hmac_md5(const void *key, size_t keylen, const crypto_iov *iov, int n, uint8_t out[16])
{
    int rc = crypto_ready();
    return rc < 0 ? rc : mac_iov(g.hmac_md5_tmpl, NULL, NULL, key, keylen, iov, n, out, 16);
}

int crypto_aes_cmac(const uint8_t key[16], const crypto_iov *iov, int n, uint8_t out[16])
{
    if (!key)
        return SMBW_EINVAL;
    int rc = crypto_ready();
    if (rc < 0)
        return rc;
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0),
        OSSL_PARAM_construct_end(),
    };
    return mac_iov(NULL, g.cmac, params, key, 16, iov, n, out, 16);
}

/* Feeds len bytes of additional data (no output) in int-sized pieces. */
static int aad_update(EVP_CIPHER_CTX *ctx, const void *p, size_t len)
{
    const uint8_t *in = p;
    while (len) {
        int chunk = len > (size_t)(INT_MAX / 2) ? INT_MAX / 2 : (int)len;
        int outl = 0;
        if (EVP_CipherUpdate(ctx, NULL, &outl, in, chunk) != 1)
            return -1;
        in += chunk;
        len -= (size_t)chunk;
    }
    return 0;
}

struct crypto_gmac {
    EVP_CIPHER_CTX *ctx; /* keyed once; each tag sets the nonce */
};

int crypto_gmac_new(crypto_gmac **out, const uint8_t *key, size_t keylen)
{
    if (!out)
        return SMBW_EINVAL;
    *out = NULL;
    if (!key || (keylen != 16 && keylen != 32))
        return SMBW_EINVAL;
    int rc = crypto_ready();
    if (rc < 0)
        return rc;
    crypto_gmac *gm = calloc(1, sizeof *gm);
    if (!gm)
        return SMBW_ENOMEM;
    ERR_set_mark();
    gm->ctx = EVP_CIPHER_CTX_new();
    if (!gm->ctx) {
        rc = SMBW_ENOMEM;
    } else if (EVP_EncryptInit_ex2(gm->ctx, keylen == 16 ? g.aes128gcm : g.aes256gcm, key, NULL,
                                   NULL) != 1) {
        rc = SMBW_ECRYPTO;
    }
    ERR_pop_to_mark();
    if (rc) {
        crypto_gmac_free(gm);
        return rc;
    }
    *out = gm;
    return 0;
}

int crypto_gmac_tag(crypto_gmac *gm, const uint8_t nonce[12], const crypto_iov *iov, int n,
                    uint8_t out[16])
{
    int rc = check_iov(iov, n);
    if (rc < 0)
        return rc;
    if (!gm || !nonce || !out)
        return SMBW_EINVAL;
    ERR_set_mark();
    rc = SMBW_ECRYPTO;
    /* A new nonce on the keyed context starts a new message. */
    if (EVP_EncryptInit_ex2(gm->ctx, NULL, NULL, nonce, NULL) != 1)
        goto out;
    for (int i = 0; i < n; i++)
        if (aad_update(gm->ctx, iov[i].p, iov[i].len) < 0)
            goto out;
    uint8_t dummy[16];
    int outl = 0;
    if (EVP_EncryptFinal_ex(gm->ctx, dummy, &outl) != 1 ||
        EVP_CIPHER_CTX_ctrl(gm->ctx, EVP_CTRL_AEAD_GET_TAG, 16, out) != 1)
        goto out;
    rc = 0;
out:
    ERR_pop_to_mark();
    return rc;
}

void crypto_gmac_free(crypto_gmac *gm)
{
    if (!gm)
        return;
    EVP_CIPHER_CTX_free(gm->ctx); /* erases the key schedule */
    free(gm);
}

int crypto_aes_gmac(const uint8_t *key, size_t keylen, const uint8_t nonce[12],
                    const crypto_iov *iov, int n, uint8_t out[16])
{
    int rc = check_iov(iov, n);
    if (rc < 0)
        return rc;
    if (!nonce || !out)
        return SMBW_EINVAL;
    /* One message: a context keyed for it alone. */
    crypto_gmac *gm = NULL;
    if ((rc = crypto_gmac_new(&gm, key, keylen)) == 0)
        rc = crypto_gmac_tag(gm, nonce, iov, n, out);
    crypto_gmac_free(gm);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* RC4 */

struct crypto_rc4 {
    EVP_CIPHER_CTX *ctx; /* NULL: the internal implementation below */
    uint8_t s[256];
    uint8_t i, j;
};

static int rc4_new_internal(crypto_rc4 **out, const uint8_t *key, size_t keylen)
{
    crypto_rc4 *c = calloc(1, sizeof *c);
    if (!c)
        return SMBW_ENOMEM;
    for (int k = 0; k < 256; k++)
        c->s[k] = (uint8_t)k;
    uint8_t j = 0;
    for (int k = 0; k < 256; k++) {
        j = (uint8_t)(j + c->s[k] + key[(size_t)k % keylen]);
        uint8_t t = c->s[k];
        c->s[k] = c->s[j];
        c->s[j] = t;
    }
    *out = c;
    return 0;
}

int crypto_rc4_new_internal(crypto_rc4 **out, const uint8_t *key, size_t keylen)
{
    if (!out)
        return SMBW_EINVAL;
    *out = NULL;
    if (!key || keylen == 0 || keylen > 256)
        return SMBW_EINVAL;
    return rc4_new_internal(out, key, keylen);
}

int crypto_rc4_new(crypto_rc4 **out, const uint8_t *key, size_t keylen)
{
    if (!out)
        return SMBW_EINVAL;
    *out = NULL;
    if (!key || keylen == 0 || keylen > 256)
        return SMBW_EINVAL;
    if (crypto_ready() < 0 || !g.legacy)
        return rc4_new_internal(out, key, keylen);

    crypto_rc4 *c = calloc(1, sizeof *c);
    if (!c)
        return SMBW_ENOMEM;
    ERR_set_mark();
    int rc = SMBW_ENOMEM;
    c->ctx = EVP_CIPHER_CTX_new();
    if (!c->ctx)
        goto fail;
    rc = SMBW_ECRYPTO;
    if (EVP_EncryptInit_ex2(c->ctx, g.rc4, NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_set_key_length(c->ctx, (int)keylen) != 1 ||
        EVP_EncryptInit_ex2(c->ctx, NULL, key, NULL, NULL) != 1)
        goto fail;
    ERR_pop_to_mark();
    *out = c;
    return 0;
fail:
    EVP_CIPHER_CTX_free(c->ctx);
    free(c);
    ERR_pop_to_mark();
    return rc;
}

int crypto_rc4_update(crypto_rc4 *c, const uint8_t *in, uint8_t *out, size_t len)
{
    if (!c || (len && (!in || !out)))
        return SMBW_EINVAL;
    if (!c->ctx) {
        uint8_t i = c->i, j = c->j;
        for (size_t k = 0; k < len; k++) {
            i = (uint8_t)(i + 1);
            j = (uint8_t)(j + c->s[i]);
            uint8_t t = c->s[i];
            c->s[i] = c->s[j];
            c->s[j] = t;
            out[k] = in[k] ^ c->s[(uint8_t)(c->s[i] + c->s[j])];
        }
        c->i = i;
        c->j = j;
        return 0;
    }
    int rc = 0;
    ERR_set_mark();
    while (len) {
        int chunk = len > (size_t)(INT_MAX / 2) ? INT_MAX / 2 : (int)len;
        int outl = 0;
        if (EVP_EncryptUpdate(c->ctx, out, &outl, in, chunk) != 1 || outl != chunk) {
            rc = SMBW_ECRYPTO;
            break;
        }
        in += chunk;
        out += chunk;
        len -= (size_t)chunk;
    }
    ERR_pop_to_mark();
    return rc;
}

void crypto_rc4_free(crypto_rc4 *c)
{
    if (!c)
        return;
    EVP_CIPHER_CTX_free(c->ctx);
    OPENSSL_cleanse(c, sizeof *c);
    free(c);
}

/* ------------------------------------------------------------------------ */
/* AEAD */

static int aead_pick(int alg, size_t keylen, const EVP_CIPHER **cipher, int *ccm)
{
    switch (alg) {
    case CRYPTO_AES_128_CCM:
        *cipher = g.aes128ccm, *ccm = 1;
        return keylen == 16 ? 0 : SMBW_EINVAL;
    case CRYPTO_AES_128_GCM:
        *cipher = g.aes128gcm, *ccm = 0;
        return keylen == 16 ? 0 : SMBW_EINVAL;
    case CRYPTO_AES_256_CCM:
        *cipher = g.aes256ccm, *ccm = 1;
        return keylen == 32 ? 0 : SMBW_EINVAL;
    case CRYPTO_AES_256_GCM:
        *cipher = g.aes256gcm, *ccm = 0;
        return keylen == 32 ? 0 : SMBW_EINVAL;
    default:
        return SMBW_EINVAL;
    }
}

static int aead_args(int alg, const uint8_t *key, size_t keylen, const uint8_t *nonce,
                     const void *aad, size_t aadlen, const uint8_t *buf, size_t len,
                     const uint8_t *tag, const EVP_CIPHER **cipher, int *ccm)
{
    if (!key || !nonce || !tag || (aadlen && !aad) || (len && !buf))
        return SMBW_EINVAL;
    /* The whole payload goes through one EVP update call (CCM needs that). */
    if (len > (size_t)INT_MAX || aadlen > (size_t)INT_MAX)
        return SMBW_EINVAL;
    int rc = crypto_ready();
    if (rc < 0)
        return rc;
    return aead_pick(alg, keylen, cipher, ccm);
}

/* Key, nonce and (CCM) lengths; for CCM decryption the expected tag too. */
static int aead_setup(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher, int ccm, int enc,
                      const uint8_t *key, const uint8_t *nonce, const uint8_t *tag, size_t len)
{
    if (EVP_CipherInit_ex2(ctx, cipher, NULL, NULL, enc, NULL) != 1)
        return -1;
    if (ccm) {
        /* RFC 4309 style: 11-byte nonce (L = 4), 16-byte tag. */
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 11, NULL) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, enc ? NULL : unconst(tag)) != 1)
            return -1;
    }
    if (EVP_CipherInit_ex2(ctx, NULL, key, nonce, enc, NULL) != 1)
        return -1;
    if (ccm) {
        int outl = 0;
        if (EVP_CipherUpdate(ctx, NULL, &outl, NULL, (int)len) != 1)
            return -1;
    }
    return 0;
}

int crypto_aead_encrypt(int alg, const uint8_t *key, size_t keylen, const uint8_t *nonce,
                        const void *aad, size_t aadlen, uint8_t *buf, size_t len, uint8_t tag[16])
{
    crypto_iov in = {buf, len};
    return crypto_aead_encrypt_iov(alg, key, keylen, nonce, aad, aadlen, &in, 1, buf, tag);
}

int crypto_aead_encrypt_iov(int alg, const uint8_t *key, size_t keylen, const uint8_t *nonce,
                            const void *aad, size_t aadlen, const crypto_iov *in, int n,
                            uint8_t *out, uint8_t tag[16])
{
    const EVP_CIPHER *cipher = NULL;
    int ccm = 0;
    size_t len = 0;
    if (n < 1 || !in)
        return SMBW_EINVAL;
    for (int i = 0; i < n; i++) {
        if (in[i].len > SIZE_MAX - len || (in[i].len && !in[i].p))
            return SMBW_EINVAL;
        len += in[i].len;
    }
    int rc = aead_args(alg, key, keylen, nonce, aad, aadlen, out, len, tag, &cipher, &ccm);
    if (rc < 0)
        return rc;
    if (ccm && n > 1) /* CCM takes its payload in one update call */
        return SMBW_EINVAL;
    ERR_set_mark();
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) {
        ERR_pop_to_mark();
        return SMBW_ENOMEM;
    }
    rc = SMBW_ECRYPTO;
    uint8_t dummy[16];
    int outl = 0;
    if (aead_setup(ctx, cipher, ccm, 1, key, nonce, NULL, len) < 0)
        goto out;
    if (aadlen && aad_update(ctx, aad, aadlen) < 0)
        goto out;
    if (len) {
        size_t done = 0;
        for (int i = 0; i < n; i++) {
            if (!in[i].len)
                continue;
            if (EVP_EncryptUpdate(ctx, out + done, &outl, in[i].p, (int)in[i].len) != 1 ||
                (size_t)outl != in[i].len)
                goto out;
            done += in[i].len;
        }
    } else if (ccm) {
        /* CCM computes its tag inside the payload update, so an empty payload
         * still needs one update call; both pointers must be non-NULL (a NULL
         * input is taken as "final" and leaves the tag unset). */
        static const uint8_t none_in[1];
        if (EVP_EncryptUpdate(ctx, dummy, &outl, none_in, 0) != 1 || outl != 0)
            goto out;
    }
    if (EVP_EncryptFinal_ex(ctx, dummy, &outl) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1)
        goto out;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    ERR_pop_to_mark();
    return rc;
}

int crypto_aead_decrypt(int alg, const uint8_t *key, size_t keylen, const uint8_t *nonce,
                        const void *aad, size_t aadlen, uint8_t *buf, size_t len,
                        const uint8_t tag[16])
{
    return crypto_aead_decrypt_to(alg, key, keylen, nonce, aad, aadlen, buf, buf, len, tag);
}

int crypto_aead_decrypt_to(int alg, const uint8_t *key, size_t keylen, const uint8_t *nonce,
                           const void *aad, size_t aadlen, const uint8_t *in, uint8_t *out,
                           size_t len, const uint8_t tag[16])
{
    const EVP_CIPHER *cipher = NULL;
    int ccm = 0;
    if (len && !in)
        return SMBW_EINVAL;
    int rc = aead_args(alg, key, keylen, nonce, aad, aadlen, out, len, tag, &cipher, &ccm);
    if (rc < 0)
        return rc;
    ERR_set_mark();
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) {
        ERR_pop_to_mark();
        return SMBW_ENOMEM;
    }
    rc = SMBW_ECRYPTO;
    uint8_t dummy[16];
    int outl = 0;
    if (aead_setup(ctx, cipher, ccm, 0, key, nonce, tag, len) < 0)
        goto out;
    if (aadlen && aad_update(ctx, aad, aadlen) < 0)
        goto out;
    if (ccm) {
        /* CCM checks the tag inside this one update call (even for len 0). */
        static uint8_t none[1];
        if (EVP_DecryptUpdate(ctx, len ? out : none, &outl, len ? in : none, (int)len) != 1)
            goto out;
    } else {
        if (len && (EVP_DecryptUpdate(ctx, out, &outl, in, (int)len) != 1 || (size_t)outl != len))
            goto out;
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, unconst(tag)) != 1 ||
            EVP_DecryptFinal_ex(ctx, dummy, &outl) != 1)
            goto out;
    }
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    ERR_pop_to_mark();
    return rc;
}

struct crypto_aead_dec {
    EVP_CIPHER_CTX *ctx;
};

int crypto_aead_dec_new(crypto_aead_dec **out, int alg, const uint8_t *key, size_t keylen,
                        const uint8_t *nonce, const void *aad, size_t aadlen)
{
    const EVP_CIPHER *cipher = NULL;
    int ccm = 0;
    if (!out)
        return SMBW_EINVAL;
    *out = NULL;
    /* (the tag comes at final: nonce stands in for it in the check) */
    int rc = aead_args(alg, key, keylen, nonce, aad, aadlen, NULL, 0, nonce, &cipher, &ccm);
    if (rc < 0)
        return rc;
    if (ccm)
        return SMBW_ENOTSUP;
    crypto_aead_dec *d = calloc(1, sizeof *d);
    if (!d)
        return SMBW_ENOMEM;
    ERR_set_mark();
    d->ctx = EVP_CIPHER_CTX_new();
    if (!d->ctx) {
        ERR_pop_to_mark();
        free(d);
        return SMBW_ENOMEM;
    }
    rc = 0;
    if (aead_setup(d->ctx, cipher, 0, 0, key, nonce, NULL, 0) < 0 ||
        (aadlen && aad_update(d->ctx, aad, aadlen) < 0))
        rc = SMBW_ECRYPTO;
    ERR_pop_to_mark();
    if (rc < 0) {
        crypto_aead_dec_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

int crypto_aead_dec_update(crypto_aead_dec *d, const uint8_t *in, uint8_t *out, size_t len)
{
    if (!d || (len && (!in || !out)))
        return SMBW_EINVAL;
    int rc = 0;
    ERR_set_mark();
    while (len && rc == 0) {
        int chunk = len > (size_t)(INT_MAX / 2) ? INT_MAX / 2 : (int)len;
        int outl = 0;
        if (EVP_DecryptUpdate(d->ctx, out, &outl, in, chunk) != 1 || outl != chunk)
            rc = SMBW_ECRYPTO;
        in += chunk;
        out += chunk;
        len -= (size_t)chunk;
    }
    ERR_pop_to_mark();
    return rc;
}

int crypto_aead_dec_final(crypto_aead_dec *d, const uint8_t tag[16])
{
    if (!d || !tag)
        return SMBW_EINVAL;
    uint8_t dummy[16];
    int outl = 0;
    ERR_set_mark();
    int rc = EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_AEAD_SET_TAG, 16, unconst(tag)) == 1 &&
                     EVP_DecryptFinal_ex(d->ctx, dummy, &outl) == 1
                 ? 0
                 : SMBW_ECRYPTO;
    ERR_pop_to_mark();
    return rc;
}

void crypto_aead_dec_free(crypto_aead_dec *d)
{
    if (!d)
        return;
    EVP_CIPHER_CTX_free(d->ctx); /* erases the key schedule */
    free(d);
}

/* ------------------------------------------------------------------------ */
/* SP800-108 counter-mode KDF, PRF = HMAC-SHA256, r = 32 */

int crypto_kdf_ctr_hmac_sha256(const uint8_t *key, size_t keylen, const void *label,
                               size_t labellen, const void *context, size_t contextlen,
                               uint8_t *out, size_t outlen)
{
    if (!out || outlen == 0 || outlen > 1024 || (keylen && !key) || (labellen && !label) ||
        (contextlen && !context))
        return SMBW_EINVAL;
    static const uint8_t sep[1] = {0};
    uint8_t ibuf[4], lbuf[4], block[32];
    uint32_t bits = (uint32_t)outlen * 8;
    lbuf[0] = (uint8_t)(bits >> 24), lbuf[1] = (uint8_t)(bits >> 16);
    lbuf[2] = (uint8_t)(bits >> 8), lbuf[3] = (uint8_t)bits;
    size_t done = 0;
    int rc = 0;
    for (uint32_t i = 1; done < outlen; i++) {
        ibuf[0] = (uint8_t)(i >> 24), ibuf[1] = (uint8_t)(i >> 16);
        ibuf[2] = (uint8_t)(i >> 8), ibuf[3] = (uint8_t)i;
        crypto_iov iov[5] = {
            {ibuf, 4}, {label, labellen}, {sep, 1}, {context, contextlen}, {lbuf, 4},
        };
        if ((rc = crypto_hmac_sha256(key, keylen, iov, 5, block)) < 0)
            break;
        size_t take = outlen - done < sizeof block ? outlen - done : sizeof block;
        memcpy(out + done, block, take);
        done += take;
    }
    OPENSSL_cleanse(block, sizeof block);
    if (rc < 0)
        OPENSSL_cleanse(out, outlen);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Small helpers */

int crypto_memeq(const void *a, const void *b, size_t n)
{
    if (n == 0)
        return 1;
    return CRYPTO_memcmp(a, b, n) == 0;
}

int crypto_random(void *buf, size_t n)
{
    if (n == 0)
        return 0;
    if (!buf)
        return SMBW_EINVAL;
    int rc = crypto_ready();
    if (rc < 0)
        return rc;
    ERR_set_mark();
    rc = RAND_bytes_ex(g.libctx, buf, n, 0) == 1 ? 0 : SMBW_ECRYPTO;
    ERR_pop_to_mark();
    return rc;
}

void crypto_cleanse(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}
