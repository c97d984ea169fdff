/* Many small files in flight on one connection (batch.c): the files of a
 * local tree copied onto a share (-r) whose copies are known not to exist,
 * each written with its CREATE and finished with its rename in one more
 * round trip, up to SC_BATCH_FILES of them at once. */
#ifndef SMBCOPY_BATCH_H
#define SMBCOPY_BATCH_H
#include "transfer.h"

typedef struct sc_batch sc_batch;

/* A batch copying from src (local) to dst (a share); NULL when out of
 * memory (then files are copied one by one). */
sc_batch *sc_batch_new(sc_ctx *ctx, const sc_loc *src, const sc_loc *dst);
/* Whether the batch copies a file of the run's options from src to dst
 * (local to a share, no --sync, --dry-run or server-side --method). */
bool sc_batch_applies(const sc_ctx *ctx, const sc_loc *src, const sc_loc *dst);
/* Takes the file spath for dpath, a destination known not to exist, when it
 * is a regular file that one request carries: *taken true, and its outcome
 * is reported and counted later (by a later call). *taken false: copy it
 * the usual way (sc_copy_file), which says what is wrong with it. Returns
 * 0, or the exit code of a failure of an earlier file that ends the run
 * (the connection is gone, interrupted). */
int sc_batch_add(sc_batch *b, const char *spath, const char *dpath, bool *taken);
/* Waits until every file taken is finished. Returns as sc_batch_add. */
int sc_batch_drain(sc_batch *b);
/* Drains and frees b (NULL: nothing). */
void sc_batch_free(sc_batch *b);
#endif
