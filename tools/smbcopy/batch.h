/* Many small files in flight on one connection (batch.c): the small files
 * of a tree copied (-r) from a local directory onto a share, from a share
 * into a local directory, or between shares on one connection (copied by
 * the server), whose copies are known not to exist, up to SC_BATCH_FILES of
 * them at once: onto a share each written with its CREATE and finished in
 * one more round trip; from a share each read with its CREATE and closed in
 * one more, then written locally; share to share opened (source with its
 * resume key, destination provisional) together, copied with one
 * copychunk, the source closed, the destination kept. */
#ifndef SMBCOPY_BATCH_H
#define SMBCOPY_BATCH_H
#include "endpoint.h"
#include "transfer.h"

typedef struct sc_batch sc_batch;

/* A batch copying from src to dst (one local, one a share, or two shares on
 * one connection); NULL when out
 * of memory (then files are copied one by one). */
sc_batch *sc_batch_new(sc_ctx *ctx, const sc_loc *src, const sc_loc *dst);
/* Whether the batch copies a file of the run's options from src to dst
 * (local to a share or a share to local, --method auto or stream; share to
 * share on one connection, --method auto or copychunk; no --sync or
 * --dry-run). */
bool sc_batch_applies(const sc_ctx *ctx, const sc_loc *src, const sc_loc *dst);
/* The connections a batch from src to dst spreads its files over:
 * --connections, or for auto SC_AUTO_TREE_UP, SC_AUTO_TREE_DOWN or
 * SC_AUTO_TREE_SS (docs/performance.md section 6); further ones are opened
 * as files need them. */
int sc_batch_connections(const sc_ctx *ctx, const sc_loc *src, const sc_loc *dst);
/* Takes the file spath for dpath, a destination known not to exist (or,
 * with replace, on a share: a plain writable file there,
 * which the copy replaces: written under the temporary name and renamed
 * over it), when it is a regular file that one request carries (from a
 * share: as sfi, its entry in the listing, says; NULL: not known, not
 * taken): *taken true, and its outcome is reported and counted later (by a
 * later call). *taken false: copy it the usual way (sc_copy_file), which
 * says what is wrong with it. Returns 0, or the exit code of a failure of
 * an earlier file that ends the run (the connection is gone,
 * interrupted). */
int sc_batch_add(sc_batch *b, const char *spath, const char *dpath, const sc_finfo *sfi,
                 bool replace, bool *taken);
/* A mark of the files taken so far (NULL: 0), and whether every file taken
 * before mark is finished (NULL: true); neither waits. A directory's times
 * are set once the files written into it are finished (walk.c). */
uint64_t sc_batch_mark(const sc_batch *b);
bool sc_batch_done_to(sc_batch *b, uint64_t mark);
/* Takes the answers that have come, without waiting. Returns as
 * sc_batch_add. */
int sc_batch_poll(sc_batch *b);
/* Waits until every file taken is finished. Returns as sc_batch_add. */
int sc_batch_drain(sc_batch *b);
/* Drains and frees b (NULL: nothing). */
void sc_batch_free(sc_batch *b);
#endif
