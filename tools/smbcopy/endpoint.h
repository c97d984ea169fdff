/* Endpoints of smbcopy: one table of operations on a place (sc_loc), with a
 * local implementation (endpoint_local.c, POSIX calls) and an SMB one (endpoint_smb.c,
 * the public smbwire API). The per-file copy (file.c) and the tree walk
 * (walk.c) are written once on top of it.
 *
 * Every operation is one step that either completes or fails with an sc_err
 * (report.h) that the caller reports against the name it shows (the
 * temporary file, the destination, ...). No operation prints anything or
 * keeps state between calls, so a later engine can run the steps of many
 * files interleaved. */
#ifndef SMBCOPY_ENDPOINT_H
#define SMBCOPY_ENDPOINT_H

#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "report.h"

/* The attributes a copy keeps. */
#define SC_FILE_ATTRIBUTE_COPY_MASK                                                                \
    (SMBW_FILE_ATTRIBUTE_READONLY | SMBW_FILE_ATTRIBUTE_HIDDEN | SMBW_FILE_ATTRIBUTE_SYSTEM |      \
     SMBW_FILE_ATTRIBUTE_ARCHIVE)

/* What smbcopy knows of a file on either side. */
typedef struct sc_finfo {
    bool exists, is_dir, is_reg;
    uint64_t size;
    uint64_t creation, access, write, change; /* FILETIME, 0 unknown */
    uint32_t attrs;                           /* SMB: FILE_ATTRIBUTE_* */
    mode_t mode;                              /* local: st_mode */
} sc_finfo;

/* An open file: a descriptor locally, an smbw_file on a share. A local
 * temporary file is also held by lock, a second descriptor of the same open
 * with an exclusive flock(2): another smbcopy then sees it in use and leaves
 * it alone (on a share the open itself does that: it does not share DELETE).
 * lock outlives close (which may have to come before the rename); rename,
 * discard, or a close of a handle already closed let go of it. */
typedef struct sc_fh {
    int fd;
    int lock;
    smbw_file *f;
} sc_fh;
#define SC_FH_NONE ((sc_fh){.fd = -1, .lock = -1, .f = NULL})

static inline bool sc_fh_open(const sc_fh *h)
{
    return h->fd >= 0 || h->f != NULL;
}

/* The metadata a copy gets (from its source; see sc_meta_for in file.c). */
typedef struct sc_meta {
    uint64_t creation, access, write; /* FILETIME, 0: leave */
    uint32_t attrs;                   /* SMB attributes to keep */
    mode_t mode;                      /* local permission bits */
} sc_meta;

/* One entry of a directory listing. */
typedef struct sc_entry {
    char *name;
    bool is_dir, is_reg;
    bool is_link; /* a symbolic link of a local tree (is_dir/is_reg: its target) */
    int link_err; /* errno when the link cannot be followed (dangling, loop) */
    dev_t dev;    /* a local entry's identity (its target's for a link) */
    ino_t ino;
    bool has_fi; /* fi holds the entry's metadata from the listing (a share's) */
    sc_finfo fi;
    /* A share's name that is not valid UTF-16: name shows it with U+FFFD
     * and leads to no file (smbw_dirent's name_invalid). */
    bool name_invalid;
} sc_entry;

typedef struct sc_epops {
    /* path's metadata; an absent path is not an error (fi->exists false). */
    int (*stat)(const sc_loc *loc, const char *path, sc_finfo *fi, sc_err *e);
    /* Looks at an existing destination path before anything is written and
     * reports (with ctx) what must not be replaced; *final: the path to
     * replace instead (NULL: path), *stream: write into path in place.
     * Returns 0 or the reported exit code. NULL: nothing to check. */
    int (*check_dst)(sc_ctx *ctx, const sc_loc *loc, const char *path, char **final, bool *stream);
    /* Opens path for writing in place (check_dst said *stream). */
    int (*open_stream)(const sc_loc *loc, const char *path, sc_fh *h, sc_err *e);
    /* Clears the read-only attribute of path (attrs: its attributes), so
     * that it can be replaced (-f). NULL: no such attribute. */
    int (*clear_readonly)(const sc_loc *loc, const char *path, uint32_t attrs, sc_err *e);
    /* Opens an existing regular file for reading and stats it (a directory
     * fails with "read": is a directory). */
    int (*open_src)(const sc_loc *loc, const char *path, sc_fh *h, sc_finfo *fi, sc_err *e);
    /* Where the endpoint has it (else NULL): open_src for a source the
     * server copies itself, with what that copy needs (a share: the resume
     * key) in the same step. */
    int (*open_src_copy)(const sc_loc *loc, const char *path, sc_fh *h, sc_finfo *fi, sc_err *e);
    /* Where the endpoint has it (else NULL): open_src, and in the same step
     * up to len bytes from offset 0 read into buf (*got: fewer only at the
     * end of the file). */
    int (*open_src_read)(const sc_loc *loc, const char *path, sc_fh *h, sc_finfo *fi, void *buf,
                         size_t len, size_t *got, sc_err *e);
    /* The temporary file: with create, creates it exclusively (it must not
     * exist yet); without, opens an existing one for writing (--resume).
     * read_too: open it for reading as well (FSCTL_SRV_COPYCHUNK). Held so
     * that another smbcopy's unlink fails with an error sc_err_in_use
     * tells (see sc_fh); one in use by another is refused the same way. */
    int (*open_tmp)(const sc_loc *loc, const char *path, bool create, bool read_too, sc_fh *h,
                    sc_err *e);
    /* Where the endpoint has it (else NULL): open_tmp with create, and the
     * whole content (len bytes, from offset 0) written, in one step. On a
     * failure after the file was made, h is left open so that it can be
     * discarded. */
    int (*create_put)(const sc_loc *loc, const char *path, bool read_too, const void *data,
                      size_t len, sc_fh *h, sc_err *e);
    /* Where the endpoint has it (else NULL): the whole content (len bytes)
     * written at offset 0 of the open temporary file h. */
    int (*put)(const sc_loc *loc, sc_fh *h, const void *data, size_t len, sc_err *e);
    /* Right after open_tmp: checks that what was opened is a regular file
     * (*ours false when it is not: it is then not ours to remove) and, when
     * size is not NULL, reads its size. */
    int (*check_tmp)(const sc_loc *loc, sc_fh *h, uint64_t *size, bool *ours, sc_err *e);
    /* Whether a copy may simply be renamed to path: nothing is there, or a
     * plain regular file (not a symbolic link, one name, writable) that
     * check_dst would let be replaced; NULL: the endpoint cannot tell
     * cheaply. */
    bool (*replaceable)(const sc_loc *loc, const char *path);
    /* Metadata of an open file. */
    int (*fstat)(const sc_loc *loc, sc_fh *h, sc_finfo *fi, sc_err *e);
    int (*truncate)(const sc_loc *loc, sc_fh *h, uint64_t size, sc_err *e);
    /* Times (and on a share the attributes but read-only) of the copy. */
    int (*set_times)(const sc_loc *loc, sc_fh *h, const sc_meta *m, sc_err *e);
    /* Permission bits of the copy (NULL: the endpoint has none). */
    int (*set_mode)(const sc_loc *loc, sc_fh *h, const sc_meta *m, sc_err *e);
    /* Makes the written data durable (fsync, SMB2 FLUSH). */
    int (*sync)(const sc_loc *loc, sc_fh *h, sc_err *e);
    /* Gives the temporary file tmp (open as h) the final name, replacing
     * what is there; sync_dir: make the rename durable too (best effort). */
    int (*rename)(const sc_loc *loc, sc_fh *h, const char *tmp, const char *final, bool sync_dir,
                  sc_err *e);
    /* Where the endpoint has it (else NULL): the finish in one step —
     * rename h to final (replacing what is there), then set m's times (when
     * times) and the attributes attrs, then close h (closed in every case).
     * Returns 0 once renamed, *warn then holding a later step's failure
     * (warn->err 0: none); else the failure in e: the file keeps its
     * temporary name (or, when the connection ended before the answer, may
     * or may not have been renamed). */
    int (*commit)(const sc_loc *loc, sc_fh *h, const char *final, const sc_meta *m, bool times,
                  uint32_t attrs, sc_err *e, sc_err *warn);
    /* After the rename: attributes that would have stood in its way (the
     * read-only attribute on a share; NULL locally). */
    int (*set_attrs)(const sc_loc *loc, sc_fh *h, uint32_t attrs, sc_err *e);
    /* Closes h (h is then closed whatever the result). */
    int (*close)(const sc_loc *loc, sc_fh *h, sc_err *e);
    /* Where the endpoint has it (else NULL): close h (closed in every
     * case) and, in the same step, its metadata as it is at the close (*known
     * false when the other end does not tell). */
    int (*close_stat)(const sc_loc *loc, sc_fh *h, sc_finfo *fi, bool *known, sc_err *e);
    /* Removes the partial file tmp (open as h, or closed). Returns true
     * when it is gone; not_removed says otherwise why in a message. */
    bool (*discard)(const sc_loc *loc, sc_fh *h, const char *tmp);
    const char *not_removed;
    /* Removes path; a temporary file another smbcopy holds is left alone
     * (an error sc_err_in_use tells). */
    int (*unlink)(const sc_loc *loc, const char *path, sc_err *e);
    /* Lists path (unsorted, without "." and ".."). */
    int (*list)(const sc_loc *loc, const char *path, sc_entry **v, size_t *n, sc_err *e);
    int (*mkdir)(const sc_loc *loc, const char *path, sc_err *e);
    /* Best effort: the times of directory path, maybe not yet done when it
     * returns (settle waits for that). */
    void (*set_dir_times)(const sc_loc *loc, const char *path, const sc_meta *m);
    void (*settle)(const sc_loc *loc);
    /* Identity of path (follow: through a symbolic link) or of an open
     * file: device and inode locally, {0, file index} on a share. Returns 0,
     * 1 when path does not exist, -1 when it cannot be told. */
    int (*path_identity)(const sc_loc *loc, const char *path, bool follow, uint64_t id[2]);
    int (*fh_identity)(const sc_loc *loc, sc_fh *h, uint64_t id[2]);
    /* The longest name the directory of path can hold. */
    size_t (*name_max)(const sc_loc *loc, const char *path);
    /* Whether the endpoint can still be used (its connection is alive). */
    bool (*alive)(const sc_loc *loc);
    /* The finishing steps in their order: SMB flushes the data before it
     * sets times (sync_first) and renames through the open handle, closing
     * it after (a failed close is then only a warning); locally the times
     * and mode go first so that fsync covers them, and the file is closed
     * before the rename (a failed close is an error: data may be lost). */
    bool sync_first;
    bool close_before_rename;
    /* Names are separated by '\\' too (on a share). */
    bool backslash_sep;
} sc_epops;

extern const sc_epops sc_ep_local;
extern const sc_epops sc_ep_smb;

static inline const sc_epops *sc_ops(const sc_loc *loc)
{
    return loc->remote ? &sc_ep_smb : &sc_ep_local;
}

/* "a FIFO", "a directory", ... for a local file's st_mode. */
const char *sc_file_kind(mode_t m);

/* An sc_err for errno (op named), for the local implementation. */
int sc_err_os(sc_err *e, const char *op);

/* ---- helpers shared by both implementations (endpoint.c) ---- */

uint64_t sc_ft_from_ts(struct timespec ts);
struct timespec sc_ts_from_ft(uint64_t ft);
/* Appends a copy of kind named name to *v. */
bool sc_push_entry(sc_entry **v, size_t *n, size_t *cap, const char *name, const sc_entry *kind);
/* The entries of a share's listing (the library's) as smbcopy's: *out (the
 * caller's, *nout entries). Returns 0 or an error (e set). */
/* The CREATE of a temporary file on a share (see open_tmp), for the batch
 * too. */
void sc_tmp_params(smbw_create_params *p, bool create, bool read_too);
int sc_entries_from_smb(const smbw_dirent *ents, size_t n, sc_entry **out, size_t *nout, sc_err *e);
void sc_free_entries(sc_entry *v, size_t n);

/* dir/name; remote: '\\' ends dir too. */
char *sc_path_join(const char *dir, const char *name, bool remote);
/* Last component (trailing slashes ignored); "" when there is none. */
char *sc_base_name(const char *path, bool remote);

/* Stats path and reports a failure. Returns 0 or the exit code. */
int sc_loc_stat(sc_ctx *ctx, const sc_loc *loc, const char *path, sc_finfo *fi);

#endif
