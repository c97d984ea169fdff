/* NTLMSSP client (MS-NLMP), NTLMv2 only, with extended session security,
 * key exchange and the MIC. Internal to lib/auth; the pieces below the
 * context API are exposed for known-answer tests. */
#ifndef SMBW_AUTH_NTLMSSP_H
#define SMBW_AUTH_NTLMSSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/bytes.h"

/* NegotiateFlags (MS-NLMP 2.2.2.5) */
#define NTLMSSP_NEGOTIATE_UNICODE 0x00000001u
#define NTLMSSP_NEGOTIATE_OEM 0x00000002u
#define NTLMSSP_REQUEST_TARGET 0x00000004u
#define NTLMSSP_NEGOTIATE_SIGN 0x00000010u
#define NTLMSSP_NEGOTIATE_SEAL 0x00000020u
#define NTLMSSP_NEGOTIATE_LM_KEY 0x00000080u
#define NTLMSSP_NEGOTIATE_NTLM 0x00000200u
#define NTLMSSP_NEGOTIATE_ANONYMOUS 0x00000800u
#define NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED 0x00001000u
#define NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED 0x00002000u
#define NTLMSSP_NEGOTIATE_ALWAYS_SIGN 0x00008000u
#define NTLMSSP_TARGET_TYPE_DOMAIN 0x00010000u
#define NTLMSSP_TARGET_TYPE_SERVER 0x00020000u
#define NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY 0x00080000u
#define NTLMSSP_NEGOTIATE_IDENTIFY 0x00100000u
#define NTLMSSP_REQUEST_NON_NT_SESSION_KEY 0x00400000u
#define NTLMSSP_NEGOTIATE_TARGET_INFO 0x00800000u
#define NTLMSSP_NEGOTIATE_VERSION 0x02000000u
#define NTLMSSP_NEGOTIATE_128 0x20000000u
#define NTLMSSP_NEGOTIATE_KEY_EXCH 0x40000000u
#define NTLMSSP_NEGOTIATE_56 0x80000000u

/* AV_PAIR ids (MS-NLMP 2.2.2.1) */
enum {
    MSV_AV_EOL = 0,
    MSV_AV_NB_COMPUTER_NAME = 1,
    MSV_AV_NB_DOMAIN_NAME = 2,
    MSV_AV_DNS_COMPUTER_NAME = 3,
    MSV_AV_DNS_DOMAIN_NAME = 4,
    MSV_AV_DNS_TREE_NAME = 5,
    MSV_AV_FLAGS = 6,
    MSV_AV_TIMESTAMP = 7,
    MSV_AV_SINGLE_HOST = 8,
    MSV_AV_TARGET_NAME = 9,
    MSV_AV_CHANNEL_BINDINGS = 10,
};
#define MSV_AV_FLAG_MIC_PRESENT 0x00000002u

#define NTLM_MIC_OFFSET 72 /* AUTHENTICATE: 64-byte fixed part + VERSION */

/* A parsed CHALLENGE_MESSAGE; pointers borrow the input buffer. */
typedef struct ntlm_challenge {
    uint32_t flags;
    uint8_t server_challenge[8];
    const uint8_t *target_name;
    size_t target_name_len;
    const uint8_t *target_info; /* AV pairs, up to and including MsvAvEOL */
    size_t target_info_len;
    bool have_timestamp;
    uint64_t timestamp; /* FILETIME from MsvAvTimestamp */
    bool have_av_flags;
    uint32_t av_flags;
} ntlm_challenge;

/* Parses and validates a CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2). Every
 * offset/length is range checked and the AV_PAIR list must end with
 * MsvAvEOL; the first occurrence of a repeated AV id wins. Returns 0 or
 * SMBW_EPROTO. */
int ntlm_parse_challenge(const uint8_t *msg, size_t len, ntlm_challenge *out);

/* NTOWFv2 (MS-NLMP 3.3.2): HMAC_MD5(MD4(UTF16LE(password)),
 * UTF16LE(UPPER(user) || domain)). */
int ntlm_ntowfv2(const char *password, const char *user, const char *domain, uint8_t out[16]);

/* NTLMv2 responses (MS-NLMP 3.3.2). avpairs is the AV_PAIR list put into the
 * client challenge blob (including its MsvAvEOL). nt_response receives
 * NTProofStr || temp; session_base_key gets HMAC_MD5(ResponseKeyNT,
 * NTProofStr). */
int ntlm_v2_response(const uint8_t response_key[16], const uint8_t server_challenge[8],
                     const uint8_t client_challenge[8], uint64_t time, const uint8_t *avpairs,
                     size_t avpairs_len, smbw_buf *nt_response, uint8_t session_base_key[16]);
int ntlm_lmv2_response(const uint8_t response_key[16], const uint8_t server_challenge[8],
                       const uint8_t client_challenge[8], uint8_t out[24]);

/* SIGNKEY/SEALKEY (MS-NLMP 3.4.5.2/3.4.5.3) with extended session security.
 * client: true for the client-to-server constants. flags decide the seal key
 * length (128 / 56 / 40 bits). */
int ntlm_sign_key(const uint8_t session_key[16], bool client, uint8_t out[16]);
int ntlm_seal_key(const uint8_t session_key[16], uint32_t flags, bool client, uint8_t out[16],
                  size_t *outlen);

struct crypto_rc4;
/* NTLMSSP_MESSAGE_SIGNATURE with extended session security (MS-NLMP
 * 3.4.4.2): Version 1 || checksum || SeqNum, where checksum is the first
 * 8 bytes of HMAC_MD5(sign_key, SeqNum || msg), RC4'd with seal when seal
 * is not NULL (key exchange negotiated). */
int ntlm_mac(const uint8_t sign_key[16], struct crypto_rc4 *seal, uint32_t seqnum,
             const uint8_t *msg, size_t len, uint8_t sig[16]);

/* Client context. */
typedef struct ntlm_ctx ntlm_ctx;

typedef struct ntlm_creds {
    const char *user;        /* NULL or "" with anonymous */
    const char *domain;      /* may be NULL */
    const char *password;    /* may be NULL (= empty) */
    const char *workstation; /* may be NULL */
    const char *target_host; /* for MsvAvTargetName "cifs/<host>"; may be NULL */
    bool anonymous;
} ntlm_creds;

int ntlm_new(ntlm_ctx **out, const ntlm_creds *creds);
/* Test hook: fixes the client challenge, the time used when the challenge
 * carries no MsvAvTimestamp, and the random ExportedSessionKey. Any may be
 * NULL to keep the default (random / current time). */
void ntlm_set_test_params(ntlm_ctx *c, const uint8_t client_challenge[8], const uint64_t *time,
                          const uint8_t session_key[16]);
/* NEGOTIATE_MESSAGE, appended to out. */
int ntlm_negotiate(ntlm_ctx *c, smbw_buf *out);
/* Consumes the CHALLENGE_MESSAGE and appends the AUTHENTICATE_MESSAGE to
 * out. Derives the session keys. */
int ntlm_authenticate(ntlm_ctx *c, const uint8_t *challenge, size_t len, smbw_buf *out);
/* True when the AUTHENTICATE carried a MIC (so SPNEGO must exchange
 * mechListMICs). */
bool ntlm_mic_sent(const ntlm_ctx *c);
/* True when message signing keys exist (not anonymous). */
bool ntlm_can_sign(const ntlm_ctx *c);
/* ExportedSessionKey (16 bytes; zeros for anonymous). Fails before
 * ntlm_authenticate. */
int ntlm_session_key(const ntlm_ctx *c, uint8_t key[16]);
/* Signs with the client keys (next client sequence number). */
int ntlm_sign(ntlm_ctx *c, const uint8_t *msg, size_t len, uint8_t sig[16]);
/* Verifies a server signature (server keys, next server sequence number).
 * Returns 0 or SMBW_EAUTH. */
int ntlm_verify(ntlm_ctx *c, const uint8_t *msg, size_t len, const uint8_t *sig, size_t siglen);
void ntlm_free(ntlm_ctx *c);

#endif
