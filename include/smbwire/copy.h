/* smbwire copy engine: server-side copy (block clone, pipelined copychunk)
 * with a pipelined streaming fallback.
 *
 * Strategies, in the order SMBW_COPY_AUTO tries them for a range:
 *  1. clone      FSCTL_DUPLICATE_EXTENTS_TO_FILE, when the destination's volume
 *                reports FILE_SUPPORTS_BLOCK_REFCOUNTING and both files are on
 *                one connection; ranges are aligned to the cluster size, the
 *                unaligned tail goes to the next strategy; any refusal falls
 *                back to copychunk.
 *  2. copychunk  FSCTL_SRV_REQUEST_RESUME_KEY on the source, then several
 *                FSCTL_SRV_COPYCHUNK_WRITE (or _COPYCHUNK) requests in flight at
 *                once; needs both files on one connection (any tree of it).
 *                The server's limits (STATUS_INVALID_PARAMETER answer) are
 *                adopted and remembered on the destination tree; partial
 *                answers are continued.
 *  3. odx        offloaded data transfer (MS-FSCC 2.3.41-2.3.44): FSCTL_OFFLOAD_READ
 *                on the source gives a token for a range, FSCTL_OFFLOAD_WRITE on
 *                the destination writes it; tried when the server refuses
 *                copychunk (AUTO) or when asked (SMBW_COPY_ODX); both files on
 *                one connection. Up to 4 pieces are in flight at once, each
 *                with its own token. Partial transfer lengths and partial
 *                writes are continued; a token the server no longer honours
 *                (STATUS_INVALID_TOKEN: expired, or the source changed) is read
 *                again; the zero-data token is written like any other.
 *  4. stream     pipelined READ + WRITE through this process, between any two
 *                connections.
 * Copychunk falls back to ODX, and ODX to stream, on STATUS_INVALID_DEVICE_REQUEST,
 * STATUS_NOT_SUPPORTED or STATUS_NOT_IMPLEMENTED (ODX also on
 * STATUS_OFFLOAD_*_NOT_SUPPORTED) when the method is AUTO. A forced method
 * that cannot be had fails with SMBW_ENOTSUP. ODX is tested against a
 * specification-faithful fake server (tests/hostile/fakesmb.py --odx), not yet
 * against a real one.
 *
 * Threads: the files (and their connections) are used by the calling thread
 * for the whole call.
 */
#ifndef SMBWIRE_COPY_H
#define SMBWIRE_COPY_H

#include "smbwire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility: what is declared here is its
 * exported API, and nothing else is. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

typedef enum smbw_copy_method {
    SMBW_COPY_AUTO = 0,
    SMBW_COPY_CLONE = 1,
    SMBW_COPY_COPYCHUNK = 2,
    SMBW_COPY_STREAM = 3,
    SMBW_COPY_ODX = 4,
} smbw_copy_method;

/* "auto", "clone", "copychunk", "stream", "odx". */
const char *smbw_copy_method_name(smbw_copy_method m);

/* Progress, called after each completion: done = bytes copied so far (holes
 * not counted); contiguous = every byte of the range before range start +
 * contiguous is copied (useful to record a resume point); total = bytes to
 * copy. Returning non-zero cancels the copy: it is the one way to, and the
 * copy then fails with SMBW_ECANCELED (requests already in flight are
 * answered first). A program that cancels from a signal handler sets a flag
 * there and returns it here. (smbw_conn_set_interrupt is for the connection:
 * it ends every wait on it, a copy's included, and kills the connection when
 * the grace time runs out.) */
typedef int (*smbw_copy_progress_fn)(void *ud, uint64_t done, uint64_t contiguous, uint64_t total);

/* Start from SMBW_COPY_OPTS_INIT (smbwire.h: "Option structs that may grow");
 * NULL options mean the defaults. */
typedef struct smbw_copy_opts {
    size_t size;                 /* sizeof(smbw_copy_opts): set by SMBW_COPY_OPTS_INIT */
    smbw_copy_method method;     /* AUTO by default */
    int depth;                   /* requests in flight; 0 = default (SMBW_COPY_DEFAULT_DEPTH) */
    uint32_t chunk_size;         /* bytes per copychunk chunk; 0 = 1 MiB */
    uint32_t chunks_per_request; /* 0 = 16 */
    bool copychunk_read;         /* use FSCTL_SRV_COPYCHUNK (destination needs read access) */
    bool no_sparse;              /* copy holes as data */
    bool no_preserve;            /* smbw_copy_file: do not copy times and attributes */
    smbw_copy_progress_fn progress;
    void *progress_ud;
} smbw_copy_opts;
/* Every option at its default (method AUTO, default depth and chunk sizes). */
#define SMBW_COPY_OPTS_INIT SMBW_SIZED_INIT_(smbw_copy_opts)

/* Chosen by bench/depth.sh (docs/performance.md): one 16 MiB request takes
 * Samba about 5 ms, so 8 in flight keep it busy up to ~35 ms round trip. */
#define SMBW_COPY_DEFAULT_DEPTH 8

typedef struct smbw_copy_stats {
    smbw_copy_method method; /* the strategy that copied most of the data */
    bool used_clone, used_copychunk, used_stream;
    uint64_t bytes;      /* bytes copied (data ranges) */
    uint64_t requests;   /* FSCTL / READ / WRITE requests sent by the copy */
    uint64_t retries;    /* limit adaptations and partial-result continuations */
    uint64_t wire_bytes; /* SMB2 bytes sent + received on the connections during the copy */
    uint32_t chunk_size, chunks_per_request; /* limits in effect at the end */
    uint64_t request_bytes;                  /* most bytes one copychunk request may carry */
    bool used_odx; /* offloaded data transfer (FSCTL_OFFLOAD_READ/WRITE) */
} smbw_copy_stats;

/* Copies len bytes from src at src_off to dst at dst_off. The destination is
 * not truncated; it is extended when the range ends past its end. stats may
 * be NULL. Errors: SMBW_EINVAL (a NULL file, opts not started from
 * SMBW_COPY_OPTS_INIT), SMBW_ENOTSUP (forced method impossible, opts fields
 * unknown to this library set, or a server whose copychunk answers keep
 * saying 0 bytes written: nothing was gained, the caller may stream the range
 * instead), SMBW_ECANCELED (the progress callback),
 * SMBW_EPROTO (a server answer that claims more than was asked, or unusable
 * limits), the request errors and the server's errors (smbwire.h). */
int smbw_copy_range(smbw_file *src, smbw_file *dst, uint64_t src_off, uint64_t dst_off,
                    uint64_t len, const smbw_copy_opts *opts, smbw_copy_stats *stats);

/* One lane of a multi-connection copy: the same source file and the same
 * destination file, each opened on one further connection (its own session
 * and tree) to the same server. */
typedef struct smbw_copy_lane {
    smbw_file *src;
    smbw_file *dst;
} smbw_copy_lane;

/* smbw_copied_cb: bytes is what the server copied (0 with an error;
 * fewer than asked when it copied part: continue from there or fall back).
 * err is 0 or a negative SMBW_E* code; status the NTSTATUS of a refusal
 * (STATUS_INVALID_PARAMETER: more than the server's limits for one chunk,
 * 1 MiB on Samba; STATUS_NOT_SUPPORTED, STATUS_INVALID_DEVICE_REQUEST: no
 * server-side copy here), 0 otherwise. */
typedef void (*smbw_copied_cb)(void *ud, int err, uint32_t status, uint64_t bytes);
/* One server-side copy request without waiting: FSCTL_SRV_COPYCHUNK_WRITE
 * (FSCTL_SRV_COPYCHUNK when copychunk_read: dst needs read access then) on
 * dst with one chunk of len bytes from src at src_off to dst at dst_off,
 * with src's resume key (src opened by smbw_file_open_source or
 * smbw_file_open_source_async). For many small files in flight on one
 * connection (a tree copied on one server: the whole file in one request);
 * smbw_copy_range copies ranges of any size and adapts to the server's
 * limits. cb runs exactly once (from smbw_conn_service or any wait on the
 * connection; SMBW_ECANCELED when the connection is freed first), unless
 * the start fails. Both files must stay open until cb ran. Errors of the
 * start (cb is not called): SMBW_EINVAL (a NULL argument, len 0, the files
 * on two connections), SMBW_ENOTSUP (src has no resume key), SMBW_EDEAD,
 * SMBW_EBUSY, SMBW_ENOMEM; in cb also SMBW_EPROTO (an answer without a body
 * or claiming more than asked; the connection stays usable), SMBW_ESTATUS
 * and SMBW_ENOTSUP for refusals, the request errors. */
int smbw_copy_chunk_async(smbw_file *src, smbw_file *dst, uint64_t src_off, uint64_t dst_off,
                          uint32_t len, bool copychunk_read, smbw_copied_cb cb, void *ud);

/* The most lanes smbw_copy_range_multi and smbw_copy_lanes_open take. */
#define SMBW_COPY_MAX_LANES 16

/* Like smbw_copy_range, with the copychunk work spread over 1..16 lanes
 * (SMBW_COPY_MAX_LANES).
 * A server that serves each connection in its own process (Samba) then
 * copies on several cores at once. Each lane gets its own resume key on its
 * own connection. Clone and stream (when needed) use the first lane. All
 * lanes' connections are driven by the calling thread.
 * Errors: as smbw_copy_range; SMBW_EINVAL also for nlanes out of range or a lane whose files are
 * on different connections. */
int smbw_copy_range_multi(const smbw_copy_lane *lanes, int nlanes, uint64_t src_off,
                          uint64_t dst_off, uint64_t len, const smbw_copy_opts *opts,
                          smbw_copy_stats *stats);

/* Lanes opened for the program: for a copy from src to dst (files opened by
 * path on one connection, which stay the caller's), nlanes - 1 further
 * connections to the same server and port, each with the settings of src's
 * connection (dialects, timeout, interrupt check, signing and encryption
 * policies, ciphers, signing algorithms, log, reconnect policy), its own
 * ClientGuid, a session logged in with creds (the program's credentials
 * again: the library keeps no password; for Kerberos its ticket cache is
 * used again), the trees of src's and dst's shares, and src's and dst's
 * paths opened again: src for reading, dst for writing (and reading with
 * copychunk_read, for FSCTL_SRV_COPYCHUNK). Then
 *
 *     smbw_copy_range_multi(smbw_copy_lanes_get(l), smbw_copy_lanes_count(l), ...)
 *
 * spreads a copy over them, and smbw_copy_lanes_free(l) closes the further
 * connections (never src, dst or their connection). Everything or nothing:
 * when a lane cannot be opened, those opened are closed again, *out stays
 * NULL and the error is returned, its message on src's connection
 * (smbw_conn_errmsg: "lane N of M: ..."). nlanes 1 gives src and dst alone.
 * Lanes gain where the server serves each connection with its own worker
 * (Samba: a process per connection) and has idle cores (docs/performance.md).
 * Thread rules: as for src's connection; the lanes belong to the thread that
 * drives it. Errors: SMBW_EINVAL (a NULL argument, nlanes outside 1..16,
 * files on two connections or not opened by path), SMBW_EDEAD (a file
 * detached), SMBW_ENOMEM, and those of smbw_conn_connect, smbw_session_new,
 * smbw_tree_connect and smbw_file_open for a lane. */
typedef struct smbw_copy_lanes smbw_copy_lanes;
int smbw_copy_lanes_open(smbw_copy_lanes **out, smbw_file *src, smbw_file *dst, int nlanes,
                         const smbw_creds *creds, bool copychunk_read);
/* The number of lanes (the nlanes of smbw_copy_lanes_open; 0 for NULL).
 * Never fails. */
int smbw_copy_lanes_count(const smbw_copy_lanes *l);
/* The lanes, count of them, the first {src, dst} (borrowed, valid until
 * smbw_copy_lanes_free; NULL for NULL). */
const smbw_copy_lane *smbw_copy_lanes_get(const smbw_copy_lanes *l);
/* Closes and frees the further lanes (their files, trees, sessions and
 * connections). NULL is fine. */
void smbw_copy_lanes_free(smbw_copy_lanes *l);

/* Copies a whole file: opens src_path on src_tree for reading, creates or
 * overwrites dst_path on dst_tree, copies (sparse-aware), sets the size, and
 * unless opts->no_preserve copies times and attributes. On failure the
 * destination file is deleted when this call created it; an existing
 * destination is overwritten in place, so for an atomic replacement copy to
 * a temporary name and smbw_file_rename it (as smbcopy does).
 * Errors: as smbw_copy_range, and as smbw_file_open for the two paths (SMBW_EISDIR when src_path
 * is a directory). */
int smbw_copy_file(smbw_tree *src_tree, const char *src_path, smbw_tree *dst_tree,
                   const char *dst_path, const smbw_copy_opts *opts, smbw_copy_stats *stats);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif
