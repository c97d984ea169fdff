/* NTSTATUS helpers: the values are the public SMBW_STATUS_* (smbwire/ntstatus.h);
 * here the severity test and the mapping to SMBW_E* codes. */
#ifndef SMBW_UTIL_STATUS_H
#define SMBW_UTIL_STATUS_H

#include <stdint.h>

#include "smbwire/ntstatus.h"

/* True for severity "error" (top two bits 11). Warnings (10) are not errors
 * in themselves; commands decide. */
static inline int nt_is_error(uint32_t s)
{
    return (s >> 30) == 3;
}
/* Maps an NTSTATUS to the closest SMBW_E* (SMBW_ESTATUS when nothing closer). */
int smbw_status_to_error(uint32_t status);

#endif
