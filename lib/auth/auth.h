/* Client authentication as the SMB2 SESSION_SETUP exchange needs it:
 * SPNEGO (MS-SPNG / RFC 4178) wrapping NTLMSSP (MS-NLMP, NTLMv2 only) or
 * Kerberos (through lib/auth/gssapi.c, the only file that includes GSSAPI).
 *
 * Usage from the core:
 *   auth_new(&a, &params);
 *   in = security buffer of the NEGOTIATE response (may be empty)
 *   loop: rc = auth_step(a, in, inlen, &out);
 *         rc == AUTH_CONTINUE: send out in a SESSION_SETUP request, feed the
 *               response's security buffer as the next in
 *         rc == AUTH_DONE: authentication finished on the client side; out may
 *               hold a last token to send (then the server answer must still
 *               be fed with a final auth_step that returns AUTH_DONE and no
 *               output); when out is empty and the server has answered
 *               STATUS_SUCCESS we are done
 *         rc < 0: SMBW_EAUTH (bad token / MIC mismatch), SMBW_EPROTO (malformed
 *               DER or NTLMSSP), SMBW_ENOMEM, SMBW_EKRB5 ...
 * When the server answers STATUS_SUCCESS the core calls auth_step once more
 * with the response's security buffer (possibly empty): this verifies the
 * server's mechListMIC / Kerberos mutual-auth reply, and must return AUTH_DONE.
 *
 * auth_session_key gives the key SMB2 uses (NTLM: ExportedSessionKey,
 * 16 bytes; Kerberos: the GSS session key, 16 or 32 bytes). */
#ifndef SMBW_AUTH_H
#define SMBW_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/bytes.h"

enum auth_mech {
    AUTH_NTLM = 0,      /* NTLMv2 with a user name and password */
    AUTH_ANONYMOUS = 1, /* NTLMSSP anonymous (empty user, empty password) */
    AUTH_GUEST = 2,     /* NTLMv2 as the given (or "guest") user with an empty password */
    AUTH_KERBEROS = 3,  /* GSSAPI krb5 from the credential cache */
};

typedef struct auth_params {
    enum auth_mech mech;
    const char *user;        /* UTF-8 */
    const char *domain;      /* UTF-8, may be NULL or "" */
    const char *password;    /* UTF-8, may be NULL for anonymous/kerberos */
    const char *workstation; /* may be NULL */
    const char *target_host; /* Kerberos: host part of the service principal cifs@HOST */
    /* Kerberos only: allow falling back to NTLM when Kerberos is unavailable
     * (never silently). */
    bool krb5_allow_ntlm_fallback;
} auth_params;

enum { AUTH_CONTINUE = 1, AUTH_DONE = 0 };

typedef struct smbw_auth smbw_auth;

SMBW_WUR int auth_new(smbw_auth **out, const auth_params *p);
/* out is reset and filled with the token to send (may end empty). */
SMBW_WUR int auth_step(smbw_auth *a, const uint8_t *in, size_t inlen, smbw_buf *out);
/* Copies up to *keylen bytes; sets *keylen to the key size. Fails before
 * AUTH_DONE. */
SMBW_WUR int auth_session_key(smbw_auth *a, uint8_t *key, size_t *keylen);
/* Human-readable detail of the last failure (static or owned by a). */
const char *auth_errmsg(const smbw_auth *a);
/* Mechanism actually used (AUTH_NTLM / AUTH_KERBEROS / ...). */
enum auth_mech auth_mech_used(const smbw_auth *a);
/* Wipes all secrets and frees. NULL is fine. */
void auth_free(smbw_auth *a);

#endif
