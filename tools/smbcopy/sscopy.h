/* Server-side copy room of smbcopy (sscopy.c). */
#ifndef SMBCOPY_SSCOPY_H
#define SMBCOPY_SSCOPY_H

#include "state.h"

/* Copies [start, size) of sf (spath on src) to df (tmp on dst) with the
 * library's copy engine (clone, copychunk, or its own streaming fallback)
 * when both files are on one connection; --connections spreads the work.
 * Returns SMBW_ENOTSUP when that is not the case (smbcopy then streams),
 * else 0 (*method: what copied) or an SMBW error. */
int sc_try_server_side(sc_ctx *ctx, const sc_loc *src, const char *spath, smbw_file *sf,
                       const sc_loc *dst, const char *tmp, smbw_file *df, uint64_t start,
                       uint64_t size, sc_state *state, const char **method);

/* How many connections (lanes) a server-side copy of len bytes spreads
 * over (--connections; 1: none but the one the files are open on). */
int sc_ss_lanes(const sc_opts *o, uint64_t len);

/* Closes the further connections sc_try_server_side kept for the next try
 * of a copy whose connection dropped (nothing when none are kept). Called
 * when the file's copy ends, whatever its outcome. */
void sc_ss_lanes_end(sc_ctx *ctx);

#endif
