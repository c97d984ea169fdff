/* Tree walk room of smbcopy (walk.c). */
#ifndef SMBCOPY_WALK_H
#define SMBCOPY_WALK_H

#include "transfer.h"

/* Copies the tree at spath to dpath (-r). The walk is iterative, so any
 * depth is copied; a directory or file that fails is reported and counted
 * and the rest is copied. Returns 0 or an exit code. */
int sc_copy_dir(sc_ctx *ctx, const sc_loc *src, const char *spath, const sc_loc *dst,
                const char *dpath);

/* Whether name can be the name of a copy on the destination side (to_remote:
 * a share written from a local tree); why gets the reason when it cannot. */
bool sc_name_ok(const char *name, bool to_remote, char *why, size_t whylen);

#endif
