/* Destination names a tree copy has created, kept to find names that a
 * case-insensitive destination cannot hold apart (xt_CONNMARK.h and
 * xt_connmark.h on a default Samba or Windows share, or a casefolded local
 * file system). */
#ifndef SMBCOPY_NAMES_H
#define SMBCOPY_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* A set of destination paths (as created, exact spelling), looked up by a
 * case-folded key. */
typedef struct sc_nameset {
    struct sc_name_slot *slots;
    size_t cap, n;
    bool failed; /* an allocation failed: lookups stay correct, adds are lost */
} sc_nameset;

void sc_nameset_free(sc_nameset *s);

/* Case-folds a UTF-8 path: each character mapped to its upper case (the
 * simple mapping that SMB servers use to compare names); bytes that are not
 * valid UTF-8 are kept as they are. Returns a malloc'd string or NULL. */
char *sc_name_fold(const char *path);

/* Records path (exact spelling) as created by this run. Returns false when
 * out of memory. */
bool sc_nameset_add(sc_nameset *s, const char *path);

/* When the set holds a path that folds to the same key as path but is spelled
 * differently, returns it (borrowed, valid until the set changes); NULL when
 * there is none. A hit means that a case-insensitive destination would take
 * path for that earlier file; whether it does is for the caller to find out
 * (the destination's own answer: path then exists). */
const char *sc_nameset_other(const sc_nameset *s, const char *path);

#endif
