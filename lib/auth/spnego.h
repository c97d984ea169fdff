/* SPNEGO tokens (RFC 4178, MS-SPNG) with a minimal, strict DER codec.
 * Internal to lib/auth. Decoded pointers borrow the input buffer. */
#ifndef SMBW_AUTH_SPNEGO_H
#define SMBW_AUTH_SPNEGO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/bytes.h"

enum spnego_mech {
    SPNEGO_MECH_OTHER = 0,   /* any OID we do not implement */
    SPNEGO_MECH_NTLMSSP = 1, /* 1.3.6.1.4.1.311.2.2.10 */
    SPNEGO_MECH_MS_KRB5 = 2, /* 1.2.840.48018.1.2.2 */
    SPNEGO_MECH_KRB5 = 3,    /* 1.2.840.113554.1.2.2 */
};

/* negState; SPNEGO_NO_STATE when the field is absent. */
enum {
    SPNEGO_NO_STATE = -1,
    SPNEGO_ACCEPT_COMPLETED = 0,
    SPNEGO_ACCEPT_INCOMPLETE = 1,
    SPNEGO_REJECT = 2,
    SPNEGO_REQUEST_MIC = 3,
};

#define SPNEGO_MAX_MECHS 16

typedef struct spnego_init {
    int n_mechs;                              /* all OIDs in mechTypes */
    enum spnego_mech mechs[SPNEGO_MAX_MECHS]; /* the first SPNEGO_MAX_MECHS */
    unsigned offered;                         /* bit (1u << mech) for each known mech */
    const uint8_t *mech_types;                /* DER of the MechTypeList SEQUENCE */
    size_t mech_types_len;
    bool have_mech_token;
    const uint8_t *mech_token;
    size_t mech_token_len;
} spnego_init;

typedef struct spnego_resp {
    int neg_state;
    bool have_supported_mech;
    enum spnego_mech supported_mech;
    bool have_token;
    const uint8_t *token;
    size_t token_len;
    bool have_mic;
    const uint8_t *mic;
    size_t mic_len;
} spnego_resp;

/* DER of MechTypeList (SEQUENCE OF OID), appended to out; the mechListMIC is
 * computed over exactly these bytes. SPNEGO_MECH_OTHER is not encodable. */
int spnego_encode_mech_types(const enum spnego_mech *mechs, int n, smbw_buf *out);
/* InitialContextToken [APPLICATION 0] { spnego OID, [0] NegTokenInit
 * { mechTypes [0], mechToken [2] (when tok != NULL) } }, appended to out. */
int spnego_encode_init(const enum spnego_mech *mechs, int n, const uint8_t *tok, size_t toklen,
                       smbw_buf *out);
/* [1] NegTokenResp; neg_state SPNEGO_NO_STATE, supported SPNEGO_MECH_OTHER,
 * tok NULL and mic NULL leave the field out. Appended to out. */
int spnego_encode_resp(int neg_state, enum spnego_mech supported, const uint8_t *tok, size_t toklen,
                       const uint8_t *mic, size_t miclen, smbw_buf *out);

/* Decodes an InitialContextToken holding a NegTokenInit or the server's
 * NegTokenInit2 (reqFlags, negHints and mechListMIC are checked for form
 * and ignored). Returns 0 or SMBW_EPROTO. */
int spnego_decode_init(const uint8_t *p, size_t len, spnego_init *out);
/* Decodes a [1] NegTokenResp. Returns 0 or SMBW_EPROTO. */
int spnego_decode_resp(const uint8_t *p, size_t len, spnego_resp *out);

/* The DER content octets of a mechanism OID (NULL for OTHER). */
const uint8_t *spnego_mech_oid(enum spnego_mech m, size_t *len);

#endif
