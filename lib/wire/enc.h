/* Private to lib/wire: how every encoder finishes. */
#ifndef SMBW_WIRE_ENC_H
#define SMBW_WIRE_ENC_H

#include <stddef.h>

#include "../util/bytes.h"

/* Ends an encoder that began appending at offset start: a failed writer
 * turns success into SMBW_ENOMEM, and on any error the bytes appended since
 * start are dropped (a failed writer stays failed). Returns the result. */
SMBW_WUR int wire_enc_end(smbw_buf *b, size_t start, int rc);

#endif
