/* The streaming copy engine: pipelined reads and writes between two ends,
 * each a local file descriptor or an open SMB file. */
#ifndef SMBCOPY_STREAM_H
#define SMBCOPY_STREAM_H

#include "smbcopy.h"

#define SC_MAX_CHUNK (1024u * 1024u)

typedef struct sc_end {
    int fd;       /* local: the descriptor; remote: -1 */
    smbw_file *f; /* remote: the open file */
    smbw_conn *c; /* remote: its connection */
    bool seq;     /* local: written in order with write() (a FIFO, a device) */
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

/* Optional extras of a streaming copy. */
typedef struct sc_stream_hooks {
    /* Called as the copy goes on with an offset below which every byte of
     * [start, end) is written (completions may come out of order). */
    void (*mark)(void *ud, uint64_t upto);
    void *ud;
    size_t chunk;      /* bytes per request; 0: SC_MAX_CHUNK (lowered to the server's limits) */
    uint64_t requests; /* out: READ and WRITE requests sent */
    /* Holes of a sparse source are neither read nor written: a local source
     * is asked with SEEK_DATA/SEEK_HOLE (when it has fewer blocks than its
     * size), a remote one with FSCTL_QUERY_ALLOCATED_RANGES (when
     * src_sparse). A remote destination is then
     * marked sparse (FSCTL_SET_SPARSE; where the server refuses, the holes
     * are still zeros, only allocated) and every destination gets its size
     * at the end. Not for a destination written in order (seq). */
    bool sparse;
    bool src_sparse;
    uint64_t holes; /* out: bytes of [start, end) skipped as holes */
} sc_stream_hooks;

/* The bytes one request of sc_stream_copy carries between src and dst:
 * want (0: SC_MAX_CHUNK), lowered to the servers' limits. */
size_t sc_stream_chunk(const sc_end *src, const sc_end *dst, size_t want);

/* Copies [start, end) from src to dst at the same offsets with up to depth
 * requests in flight. *copied counts bytes written (from start). hooks may
 * be NULL. Returns 0 or a negative SMBW_E* with e filled. Stops with
 * SMBW_ECANCELED when sc_interrupted is set; in every case it returns only
 * once no request of its own is in flight. */
int sc_stream_copy(const sc_end *src, const sc_end *dst, uint64_t start, uint64_t end, int depth,
                   sc_progress *prog, sc_stream_hooks *hooks, uint64_t *copied, sc_xerr *e);

#endif
