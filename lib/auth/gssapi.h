/* The small Kerberos surface auth.c needs, implemented with MIT GSSAPI in
 * lib/auth/gssapi.c (the only file including <gssapi/...>; compiled only when
 * SMBW_HAVE_GSSAPI is 1). The raw krb5 mechanism is used: auth.c does the
 * SPNEGO wrapping itself. */
#ifndef SMBW_AUTH_GSSAPI_H
#define SMBW_AUTH_GSSAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/bytes.h"

typedef struct smbw_gss smbw_gss;

/* Prepares a context for the service cifs@host. err (errlen bytes) receives
 * a readable message on failure. Returns 0, SMBW_EINVAL, SMBW_ENOMEM or
 * SMBW_EKRB5. */
int smbw_gss_new(smbw_gss **out, const char *host, char *err, size_t errlen);
/* One gss_init_sec_context call (in NULL/0 on the first). The token to send,
 * if any, is appended to out; *done is set once the context is established
 * with mutual authentication. Returns 0, SMBW_EKRB5 (message in err) or
 * SMBW_EAUTH (mutual authentication not obtained). */
int smbw_gss_step(smbw_gss *g, const uint8_t *in, size_t inlen, smbw_buf *out, bool *done,
                  char *err, size_t errlen);
/* The context's session key (GSS_C_INQ_SSPI_SESSION_KEY), up to *keylen
 * bytes copied; *keylen set to its size. */
int smbw_gss_session_key(smbw_gss *g, uint8_t *key, size_t *keylen);
/* gss_get_mic over msg, appended to mic. */
int smbw_gss_get_mic(smbw_gss *g, const uint8_t *msg, size_t len, smbw_buf *mic);
/* gss_verify_mic: 0 or SMBW_EAUTH. */
int smbw_gss_verify_mic(smbw_gss *g, const uint8_t *msg, size_t len, const uint8_t *mic,
                        size_t miclen);
void smbw_gss_free(smbw_gss *g);

#endif
