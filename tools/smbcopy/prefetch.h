/* Listings ahead of the walk (-r): directories of a share listed before the
 * walk reaches them, several in flight at once on the connection
 * (smbw_dir_list_async), so that a tree of many directories does not wait
 * one round trip after another for each listing. */
#ifndef SMBCOPY_PREFETCH_H
#define SMBCOPY_PREFETCH_H

#include "endpoint.h"

typedef struct sc_prefetch sc_prefetch;

/* Listings in flight at once, and listings kept (asked, in flight or
 * answered, not taken yet) at most. */
#define SC_PREFETCH_FLIGHT 8
#define SC_PREFETCH_KEPT 4096

/* A new prefetcher (NULL when out of memory: then nothing is listed ahead). */
sc_prefetch *sc_prefetch_new(void);
/* Frees p and what it kept; listings still in flight finish later (their
 * answers are dropped). NULL does nothing. */
void sc_prefetch_free(sc_prefetch *p);
/* Asks for path on loc (a share) to be listed ahead. The latest asked are
 * sent first (the walk goes depth first: they are the next it enters).
 * Does nothing for a local loc, past SC_PREFETCH_KEPT, when out of memory,
 * or when p is NULL. */
void sc_prefetch_want(sc_prefetch *p, const sc_loc *loc, const char *path);
/* The listing of path on loc, when one was asked for: waits for it if it is
 * still in flight. true: *v (n entries, unsorted; the caller's) is it;
 * false: none was asked, or it failed (the caller lists path itself, which
 * says why and retries after a dropped connection). */
bool sc_prefetch_take(sc_prefetch *p, const sc_loc *loc, const char *path, sc_entry **v, size_t *n);
/* Sends what was asked, as the flight allows (after callbacks completed
 * some: the walk calls it as it goes). */
void sc_prefetch_pump(sc_prefetch *p);

#endif
