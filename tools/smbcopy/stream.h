/* The streaming copy engine: pipelined reads and writes between two ends,
 * each a local file descriptor or an open SMB file. */
#ifndef SMBCOPY_STREAM_H
#define SMBCOPY_STREAM_H

#include "smbcopy.h"

/* At most this many bytes are ever in flight beyond the lowest offset not
 * yet written, so a partial destination is complete below
 * (its size - SC_RESUME_BACKOFF). --resume relies on this. */
#define SC_MAX_CHUNK (1024u * 1024u)
#define SC_RESUME_BACKOFF ((uint64_t)SC_MAX_DEPTH * SC_MAX_CHUNK)

typedef struct sc_end {
    int fd;       /* local: the descriptor; remote: -1 */
    smbw_file *f; /* remote: the open file */
    smbw_conn *c; /* remote: its connection */
} sc_end;

enum sc_side { SC_SIDE_NONE = 0, SC_SIDE_SRC, SC_SIDE_DST };

/* What failed, for the one-line message. */
typedef struct sc_xerr {
    int err;         /* SMBW_E*; SMBW_ELOCAL for a local error */
    uint32_t status; /* NTSTATUS when the server answered one */
    int os_errno;    /* local errors */
    enum sc_side side;
    const char *op;  /* "read", "write", ... */
    const char *msg; /* replaces the generic message when set */
} sc_xerr;

/* Copies [start, end) from src to dst at the same offsets with up to depth
 * requests in flight. *copied counts bytes written (from start).
 * Returns 0 or a negative SMBW_E* with e filled. Stops with SMBW_ECANCELED
 * when sc_interrupted is set; in every case it returns only once no request
 * of its own is in flight. */
int sc_stream_copy(const sc_end *src, const sc_end *dst, uint64_t start, uint64_t end, int depth,
                   sc_progress *prog, uint64_t *copied, sc_xerr *e);

#endif
