/* SMB2/SMB3 message signing, key derivation and the SMB3 TRANSFORM_HEADER
 * (encryption), MS-SMB2 3.1.4.1-3.1.4.3 and 3.2.5.3.1. Pure functions over
 * byte buffers: no connection state lives here. */
#ifndef SMBW_CORE_SIGN_H
#define SMBW_CORE_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "../util/bytes.h"

enum { SMB2_SIGN_ALG_HMAC_SHA256 = 0, SMB2_SIGN_ALG_AES_CMAC = 1, SMB2_SIGN_ALG_AES_GMAC = 2 };

/* Computes the SMB2 signature of one message (64-byte header + body, len
 * bytes; the signature field msg[48..64) is treated as zero), MS-SMB2
 * 3.1.4.1. For GMAC the 12-byte nonce is MessageId (LE, from msg[24..32])
 * followed by 4 bytes whose bit 0 is 1 for a server-to-client message
 * (SMB2_FLAGS_SERVER_TO_REDIR in header Flags) and bit 1 is 1 when Command is
 * CANCEL. HMAC-SHA256 signature = first 16 bytes of the MAC.
 * Key length: CMAC 16; GMAC 16 (or 32); HMAC any. */
SMBW_WUR int smb2_sign_compute(int alg, const uint8_t *key, size_t keylen, const uint8_t *msg,
                               size_t len, uint8_t sig[16]);
/* The same over a message in two pieces: msg/len (at least the 64-byte
 * header) followed by tail/tail_len (tail may be NULL when tail_len is 0),
 * e.g. a WRITE payload sent from the caller's buffer or READ data received
 * into it. */
SMBW_WUR int smb2_sign_compute2(int alg, const uint8_t *key, size_t keylen, const uint8_t *msg,
                                size_t len, const uint8_t *tail, size_t tail_len, uint8_t sig[16]);
/* smb2_sign_compute2 with gm, when not NULL and alg is AES-GMAC, an AES-GMAC
 * already keyed with key (crypto_gmac_new): its key schedule is reused
 * instead of made again for this one message. */
struct crypto_gmac;
SMBW_WUR int smb2_sign_compute3(int alg, const uint8_t *key, size_t keylen, struct crypto_gmac *gm,
                                const uint8_t *msg, size_t len, const uint8_t *tail,
                                size_t tail_len, uint8_t sig[16]);
/* Writes the signature into msg[48..64). Caller already set SMB2_FLAGS_SIGNED. */
SMBW_WUR int smb2_sign_msg(int alg, const uint8_t *key, size_t keylen, uint8_t *msg, size_t len);
/* Verifies msg's signature in constant time; SMBW_ECRYPTO on mismatch.
 * Does not modify msg. */
SMBW_WUR int smb2_sign_verify(int alg, const uint8_t *key, size_t keylen, const uint8_t *msg,
                              size_t len);
/* smb2_sign_msg and smb2_sign_verify over msg followed by tail. */
SMBW_WUR int smb2_sign_msg2(int alg, const uint8_t *key, size_t keylen, uint8_t *msg, size_t len,
                            const uint8_t *tail, size_t tail_len);
SMBW_WUR int smb2_sign_verify2(int alg, const uint8_t *key, size_t keylen, const uint8_t *msg,
                               size_t len, const uint8_t *tail, size_t tail_len);
/* The same two with a keyed AES-GMAC to reuse (smb2_sign_compute3). */
SMBW_WUR int smb2_sign_msg3(int alg, const uint8_t *key, size_t keylen, struct crypto_gmac *gm,
                            uint8_t *msg, size_t len, const uint8_t *tail, size_t tail_len);
SMBW_WUR int smb2_sign_verify3(int alg, const uint8_t *key, size_t keylen, struct crypto_gmac *gm,
                               const uint8_t *msg, size_t len, const uint8_t *tail,
                               size_t tail_len);

typedef struct smb2_keys {
    uint8_t signing[16];
    uint8_t enc[32]; /* client->server (ServerIn) */
    uint8_t dec[32]; /* server->client (ServerOut) */
    uint8_t app[16];
    size_t enc_len; /* 16 or 32 depending on cipher; 0 for 2.x */
} smb2_keys;

/* MS-SMB2 3.2.5.3.1 / 3.1.4.2 key derivation.
 * 0x0202/0x0210: signing = session key (first 16 bytes, zero padded); no
 * encryption or application keys (enc_len 0).
 * 0x0300/0x0302: fixed labels/contexts, AES-128 keys.
 * 0x0311: context = the 64-byte session preauth hash (required). With
 * cipher 3 or 4 (AES-256-CCM/GCM) enc/dec are 32 bytes derived from the
 * FULL session key; otherwise all keys come from the session key truncated
 * or zero-padded to 16 bytes. */
SMBW_WUR int smb2_derive_keys(uint16_t dialect, const uint8_t *session_key, size_t session_key_len,
                              const uint8_t preauth_hash[64], uint16_t cipher, smb2_keys *out);

/* SMB3 encryption of one (possibly compound) message, MS-SMB2 3.1.4.3.
 * Appends TRANSFORM_HEADER (52 bytes) + ciphertext to out (whatever out
 * already holds, e.g. a transport header, stays in front). The nonce is
 * random: 11 bytes (CCM) or 12 bytes (GCM), the rest of the 16-byte Nonce
 * field zero. cipher is the SMB2 cipher id 1..4; keylen 16 or 32 to match.
 * On failure out is left as it was. */
SMBW_WUR int smb2_encrypt(uint16_t cipher, const uint8_t *key, size_t keylen, uint64_t session_id,
                          const uint8_t *msg, size_t len, smbw_buf *out);
/* The same for a message in two pieces (msg then tail, e.g. a WRITE payload
 * in the caller's memory): with GCM each piece is encrypted from where it
 * is into out; CCM copies them into out first (its cipher takes one piece). */
SMBW_WUR int smb2_encrypt2(uint16_t cipher, const uint8_t *key, size_t keylen, uint64_t session_id,
                           const uint8_t *msg, size_t len, const uint8_t *tail, size_t tail_len,
                           smbw_buf *out);
/* Same with a caller-chosen nonce (11 or 12 significant bytes of nonce[16]
 * are used; the rest of the field is written as zero). For known-answer
 * tests and for callers with their own nonce scheme: a nonce MUST never be
 * reused with the same key. */
SMBW_WUR int smb2_encrypt_nonce(uint16_t cipher, const uint8_t *key, size_t keylen,
                                uint64_t session_id, const uint8_t nonce[16], const uint8_t *msg,
                                size_t len, smbw_buf *out);
/* Decrypts a TRANSFORM message (the whole frame, starting at 0xFD 'S' 'M'
 * 'B'), decoded by wire_decode_transform_hdr (ProtocolId, a non-empty
 * payload, OriginalMessageSize == len - 52, Flags == 0x0001), then checks the
 * tag; appends the plaintext to out. SMBW_EPROTO when
 * malformed, SMBW_ECRYPTO when authentication fails (out then unchanged). */
SMBW_WUR int smb2_decrypt(uint16_t cipher, const uint8_t *key, size_t keylen, const uint8_t *frame,
                          size_t len, smbw_buf *out);
/* The same in steps, GCM only (SMBW_ENOTSUP for CCM: its cipher takes the
 * whole payload at once), so that parts of the plaintext can go to different
 * places (a READ answer's data to the caller's buffer): begin checks the
 * frame as smb2_decrypt does (SMBW_EINVAL, SMBW_EPROTO, SMBW_ENOTSUP,
 * SMBW_ENOMEM) and sets d->len to the payload length; next decrypts the next
 * n bytes of the payload into out (in order, n at most what is left:
 * SMBW_EINVAL otherwise); end checks that the whole payload was decrypted
 * and the tag (SMBW_ECRYPTO) and frees d, as abort does (which checks
 * nothing). What next wrote is unauthenticated until end returned 0: it may
 * only choose where the next bytes go, and must be discarded otherwise. */
typedef struct smb2_dec {
    struct crypto_aead_dec *aead;
    const uint8_t *payload;
    uint8_t tag[16];
    size_t len, done;
} smb2_dec;
SMBW_WUR int smb2_decrypt_begin(smb2_dec *d, uint16_t cipher, const uint8_t *key, size_t keylen,
                                const uint8_t *frame, size_t len);
SMBW_WUR int smb2_decrypt_next(smb2_dec *d, uint8_t *out, size_t n);
SMBW_WUR int smb2_decrypt_end(smb2_dec *d);
void smb2_decrypt_abort(smb2_dec *d);
#endif
