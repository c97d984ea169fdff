/* The resume record .NAME.smbcopy.state kept next to .NAME.smbcopy.part
 * (see --resume in smbcopy(1); for a long NAME both use a shortened stem,
 * see temp_name in file.c). It is a short versioned text record:
 *
 *   smbcopy-resume 2
 *   source <URL without credentials, or absolute local path; '\' and newlines escaped>
 *   target <the final name NAME the partial file is for, escaped the same way>
 *   size <source size>
 *   mtime <source last-write time, FILETIME>
 *   done <20 digits: every byte below this offset is written>
 *   end
 *
 * Only the done digits change while a copy runs, so the record keeps its
 * length and each update is one write at offset 0; a record cut short (no
 * "end" line) or naming another source is ignored and the copy starts over.
 */
#ifndef SMBCOPY_STATE_H
#define SMBCOPY_STATE_H

#include "transfer.h"

/* Update the record at most this often (whichever comes first). */
#define SC_STATE_EVERY_BYTES (64ull * 1024 * 1024)
#define SC_STATE_EVERY_SECONDS 1.0

typedef struct sc_state {
    bool active;
    bool remote;
    int fd;            /* local */
    smbw_file *f;      /* remote */
    smbw_conn *c;      /* remote */
    char *head;        /* the record up to "done " */
    uint64_t recorded; /* done in the record on disk */
    uint64_t pending;  /* best known done */
    uint64_t limit;    /* done never exceeds it (the source size) */
    double last;
    bool busy; /* remote: an update is in flight */
    int err;   /* first failure; the record is then left alone */
} sc_state;

/* Reads the record at path on loc. Returns true and sets *done when it is
 * intact and describes (source, target, size, mtime); false otherwise. */
bool sc_state_load(const sc_loc *loc, const char *path, const char *source, const char *target,
                   uint64_t size, uint64_t mtime, uint64_t *done);

/* Creates or replaces the record at path on loc with done. Returns 0, or
 * -1 with a message in why (the copy can go on without a record). */
int sc_state_open(sc_state *st, const sc_loc *loc, const char *path, const char *source,
                  const char *target, uint64_t size, uint64_t mtime, uint64_t done, char *why,
                  size_t whylen);

/* Notes that every byte below done is written; updates the record when due
 * (cheap: at most every SC_STATE_EVERY_BYTES or SC_STATE_EVERY_SECONDS; a
 * remote update is sent without waiting for it). */
void sc_state_note(sc_state *st, uint64_t done);

/* Writes the best known done now and waits for it (interruption path). */
void sc_state_sync(sc_state *st);

/* Waits for an update in flight, closes the record and, when remove is
 * set, deletes it (path on loc). */
void sc_state_close(sc_state *st, const sc_loc *loc, const char *path, bool remove);

#endif
