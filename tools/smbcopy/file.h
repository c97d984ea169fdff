/* Per-file copy room of smbcopy (file.c). */
#ifndef SMBCOPY_FILE_H
#define SMBCOPY_FILE_H

#include "endpoint.h"
#include "transfer.h"

/* Copies the regular file spath on src to dpath on dst: written under a
 * temporary name next to dpath and renamed over it only when complete
 * (see smbcopy(1)). dst_known: what dpath is known to be (not there, when
 * its directory was just made by this run; or as a listing of its directory
 * gave it), so it is not looked up; NULL: it is. Returns 0, or the exit code
 * of the reported failure. */
int sc_copy_file(sc_ctx *ctx, const sc_loc *src, const char *spath, const sc_loc *dst,
                 const char *dpath, const sc_finfo *dst_known);

/* -u, --resume (with times kept): whether the destination d already matches
 * the source s of size bytes (a regular file of that size, its modification
 * time within 2 s of the source's, or with --no-preserve not older), so the
 * file is skipped. False without those options. */
bool sc_up_to_date(const sc_opts *o, const sc_finfo *s, uint64_t size, const sc_finfo *d);

/* The temporary name a copy is written under next to final. */
#define SC_PART_SUFFIX ".smbcopy.part"
/* The resume record (--resume) kept next to it. */
#define SC_STATE_SUFFIX ".smbcopy.state"
/* "dir/.NAME<suffix>" for final "dir/NAME", shortened (with a hash of NAME)
 * to fit max bytes; visible: without the leading dot ("dir/NAME<suffix>",
 * for a share that refuses dot names); malloc'd, NULL when out of memory. */
char *sc_temp_name(const char *final, const char *suffix, size_t max, bool visible);
#endif
