/* Copy orchestration: the temporary-name-then-rename rule, files,
 * directories, metadata. Reporting is in report.c, servers and locations in
 * loc.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smbwire/copy.h"
#include "secrets.h"
#include "state.h"
#include "loc.h"
#include "report.h"
#include "transfer.h"

/* The attributes a copy keeps. */
#define FILE_ATTRIBUTE_COPY_MASK_                                                                  \
    (SMBW_FILE_ATTRIBUTE_READONLY | SMBW_FILE_ATTRIBUTE_HIDDEN | SMBW_FILE_ATTRIBUTE_SYSTEM |      \
     SMBW_FILE_ATTRIBUTE_ARCHIVE)
#define FILETIME_UNIX_EPOCH_ 116444736000000000ull
#define PART_SUFFIX ".smbcopy.part"
#define STATE_SUFFIX ".smbcopy.state"

/* ---- paths and metadata ---------------------------------------------- */

static char *path_join(const char *dir, const char *name, bool remote)
{
    if (dir[0] == '\0')
        return strdup(name);
    size_t n = strlen(dir);
    bool slash = dir[n - 1] == '/' || (remote && dir[n - 1] == '\\');
    return sc_asprintf("%s%s%s", dir, slash ? "" : "/", name);
}

/* Last component (trailing slashes ignored); "" when there is none. */
static char *base_name(const char *path, bool remote)
{
    size_t n = strlen(path);
    while (n > 0 && (path[n - 1] == '/' || (remote && path[n - 1] == '\\')))
        n--;
    size_t b = n;
    /* '\\' separates components only on a share: locally it is part of a name. */
    while (b > 0 && path[b - 1] != '/' && (!remote || path[b - 1] != '\\'))
        b--;
    char *r = strndup(path + b, n - b);
    if (r != NULL && (strcmp(r, ".") == 0 || strcmp(r, "..") == 0))
        r[0] = '\0';
    return r;
}

/* The longest name a temporary name may have in the directory of final:
 * 255 bytes on a share (SMB allows 255 UTF-16 code units, and servers on
 * POSIX file systems 255 bytes), the file system's limit locally. */
static size_t name_max(const char *final, bool remote)
{
    if (remote)
        return 255;
    const char *slash = strrchr(final, '/');
    char *dir = slash != NULL ? strndup(final, (size_t)(slash - final) + 1) : strdup(".");
    long m = dir != NULL ? pathconf(dir, _PC_NAME_MAX) : -1;
    free(dir);
    return m > 0 && m < 4096 ? (size_t)m : 255;
}

/* "dir/.STEM<suffix>" for "dir/NAME" (suffix: PART_SUFFIX, STATE_SUFFIX).
 * STEM is NAME when the longer of the two names fits in max bytes; for a
 * longer NAME it is the part of NAME that fits (cut at a UTF-8 character
 * boundary), '~' and 16 hex digits of a hash of the whole NAME, so that
 * any name the destination can hold can be copied, and the resume record
 * (which holds NAME) tells whose partial file it is. */
static char *temp_name(const char *final, const char *suffix, size_t max)
{
    const char *slash = strrchr(final, '/');
    const char *base = slash != NULL ? slash + 1 : final;
    int dlen = (int)(base - final);
    size_t blen = strlen(base);
    const size_t longest = sizeof(STATE_SUFFIX) - 1;
    if (1 + blen + longest <= max)
        return sc_asprintf("%.*s.%s%s", dlen, final, base, suffix);
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)base; *p != '\0'; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    size_t keep = max > 1 + 1 + 16 + longest ? max - (1 + 1 + 16 + longest) : 0;
    if (keep > blen)
        keep = blen;
    while (keep > 0 && ((unsigned char)base[keep] & 0xc0) == 0x80)
        keep--;
    return sc_asprintf("%.*s.%.*s~%016llx%s", dlen, final, (int)keep, base, (unsigned long long)h,
                       suffix);
}

typedef struct finfo {
    bool exists, is_dir, is_reg;
    uint64_t size;
    uint64_t creation, access, write, change; /* FILETIME, 0 unknown */
    uint32_t attrs;
    mode_t mode;
} finfo;

static uint64_t ft_from_ts(struct timespec ts)
{
    if (ts.tv_sec < -11644473600LL)
        return 0;
    return (uint64_t)(ts.tv_sec + 11644473600LL) * 10000000u + (uint64_t)ts.tv_nsec / 100u;
}

static struct timespec ts_from_ft(uint64_t ft)
{
    struct timespec ts;
    if (ft == 0) {
        ts.tv_sec = 0;
        ts.tv_nsec = UTIME_OMIT;
        return ts;
    }
    if (ft < FILETIME_UNIX_EPOCH_) {
        ts.tv_sec = 0;
        ts.tv_nsec = 0;
        return ts;
    }
    ft -= FILETIME_UNIX_EPOCH_;
    ts.tv_sec = (time_t)(ft / 10000000u);
    ts.tv_nsec = (long)(ft % 10000000u) * 100;
    return ts;
}

static void finfo_from_stat(finfo *fi, const struct stat *st)
{
    memset(fi, 0, sizeof(*fi));
    fi->exists = true;
    fi->is_dir = S_ISDIR(st->st_mode);
    fi->is_reg = S_ISREG(st->st_mode);
    fi->size = (uint64_t)st->st_size;
    fi->access = ft_from_ts(st->st_atim);
    fi->write = ft_from_ts(st->st_mtim);
    fi->mode = st->st_mode;
}

static void finfo_from_smb(finfo *fi, const smbw_stat *st)
{
    memset(fi, 0, sizeof(*fi));
    fi->exists = true;
    fi->is_dir = st->is_dir;
    fi->is_reg = !st->is_dir;
    fi->size = st->size;
    fi->creation = st->creation_time;
    fi->access = st->last_access_time;
    fi->write = st->last_write_time;
    fi->change = st->change_time;
    fi->attrs = st->attributes;
}

/* Fills fi (exists false when absent). Returns 0 or the reported exit code. */
static int loc_stat(sc_ctx *ctx, const sc_loc *loc, const char *path, finfo *fi)
{
    memset(fi, 0, sizeof(*fi));
    if (!loc->remote) {
        struct stat st;
        if (stat(path, &st) != 0) {
            if (errno == ENOENT)
                return 0;
            return sc_fail_local(ctx, errno, "stat", path);
        }
        finfo_from_stat(fi, &st);
        return 0;
    }
    if (path[0] == '\0') {
        fi->exists = true;
        fi->is_dir = true;
        return 0;
    }
    smbw_stat st;
    int err = smbw_stat_path(loc->tree, path, &st);
    if (err == SMBW_ENOENT)
        return 0;
    if (err != 0) {
        char *d = sc_loc_display(loc, path);
        int rc = sc_fail_smb(ctx, err, loc->srv->conn, 0, "stat", sc_disp_or(d, path));
        free(d);
        return rc;
    }
    finfo_from_smb(fi, &st);
    return 0;
}

static bool conn_dead(const sc_loc *a, const sc_loc *b)
{
    return (a->remote && smbw_conn_is_dead(a->srv->conn)) ||
           (b->remote && smbw_conn_is_dead(b->srv->conn));
}

/* ---- server-side copy ------------------------------------------------ */

typedef struct ss_progress {
    sc_progress *prog;
    sc_state *state;
    uint64_t start, size;
} ss_progress;

static int ss_progress_cb(void *ud, uint64_t done, uint64_t contiguous, uint64_t total)
{
    ss_progress *p = ud;
    (void)total;
    sc_progress_update(p->prog, p->start + done);
    uint64_t upto = contiguous >= p->size - p->start ? p->size : p->start + contiguous;
    sc_state_note(p->state, upto);
    return sc_interrupted ? 1 : 0;
}

static void stream_mark(void *ud, uint64_t upto)
{
    sc_state_note(ud, upto);
}

/* SMB bytes sent and received so far on the connections of a and b. */
static uint64_t traffic(const sc_loc *a, const sc_loc *b)
{
    smbw_conn_stats cs;
    uint64_t sum = 0;
    if (a->remote) {
        smbw_conn_get_stats(a->srv->conn, &cs);
        sum += cs.bytes_sent + cs.bytes_received;
    }
    if (b->remote && (!a->remote || b->srv != a->srv)) {
        smbw_conn_get_stats(b->srv->conn, &cs);
        sum += cs.bytes_sent + cs.bytes_received;
    }
    return sum;
}

/* ---- one server-side copy over several connections (--connections) ---- */

#define LANE_MIN ((uint64_t)64 * 1024 * 1024) /* at least this much per connection */

typedef struct lane_conn {
    smbw_conn *c;
    smbw_session *sess;
    smbw_tree *st, *dt;
    smbw_copy_lane lane;
} lane_conn;

static void lane_close(lane_conn *l)
{
    if (l->lane.dst != NULL)
        smbw_file_free(l->lane.dst);
    if (l->lane.src != NULL)
        smbw_file_free(l->lane.src);
    smbw_tree_free(l->dt);
    smbw_tree_free(l->st);
    smbw_session_free(l->sess);
    smbw_conn_free(l->c);
    memset(l, 0, sizeof(*l));
}

/* One further connection to src's server with its own session, trees and
 * opens of the source and of the temporary destination. Returns 0, or an
 * SMBW error with a message in why. */
static int lane_open(sc_ctx *ctx, const sc_loc *src, const char *spath, const sc_loc *dst,
                     const char *tmp, lane_conn *l, char *why, size_t whylen)
{
    const sc_opts *o = ctx->o;
    const sc_server *srv = src->srv;
    const char *op = "connect";
    memset(l, 0, sizeof(*l));
    int err = smbw_conn_new(&l->c);
    if (err == 0)
        err = sc_conn_setup(ctx, l->c);
    if (err == 0)
        err = smbw_conn_connect(l->c, srv->host, srv->port);
    if (err == 0) {
        op = "log in";
        smbw_creds cr = sc_login_creds(ctx, srv);
        err = smbw_session_new(&l->sess, l->c, &cr);
    }
    if (err == 0) {
        op = "connect to share";
        err = smbw_tree_connect(&l->st, l->sess, src->share);
        if (err == 0 && strcasecmp(src->share, dst->share) != 0)
            err = smbw_tree_connect(&l->dt, l->sess, dst->share);
    }
    if (err == 0) {
        sc_note_protection(ctx, l->c, l->sess, l->st);
        if (l->dt != NULL)
            sc_note_protection(ctx, l->c, l->sess, l->dt);
    }
    if (err == 0) {
        op = "open source";
        err = smbw_file_open(&l->lane.src, l->st, spath, SMBW_O_RDONLY);
    }
    if (err == 0) {
        op = "open destination";
        err = smbw_file_open(&l->lane.dst, l->dt != NULL ? l->dt : l->st, tmp,
                             o->copychunk_read ? SMBW_O_RDWR : SMBW_O_WRONLY);
    }
    if (err != 0) {
        const char *m = l->c != NULL ? smbw_conn_errmsg(l->c) : "";
        snprintf(why, whylen, "%s: %s%s%s%s", op, smbw_strerror(err), m[0] != '\0' ? " (" : "", m,
                 m[0] != '\0' ? ")" : "");
        lane_close(l);
    }
    return err;
}

/* Copies [start, size) with the library's copy engine (clone, copychunk, or
 * its own streaming fallback) when both files are on one connection.
 * Returns SMBW_ENOTSUP when that is not the case (smbcopy then streams). */
static int try_server_side(sc_ctx *ctx, const sc_loc *src, const char *spath, smbw_file *sf,
                           const sc_loc *dst, const char *tmp, smbw_file *df, uint64_t start,
                           uint64_t size, sc_state *state, const char **method)
{
    if (!src->remote || !dst->remote || src->srv != dst->srv)
        return SMBW_ENOTSUP;
    const sc_opts *o = ctx->o;
    smbw_copy_opts co = SMBW_COPY_OPTS_INIT;
    switch (o->method) {
    case SC_METHOD_CLONE:
        co.method = SMBW_COPY_CLONE;
        break;
    case SC_METHOD_COPYCHUNK:
        co.method = SMBW_COPY_COPYCHUNK;
        break;
    case SC_METHOD_STREAM:
        co.method = SMBW_COPY_STREAM;
        break;
    case SC_METHOD_ODX:
        co.method = SMBW_COPY_ODX;
        break;
    default:
        co.method = SMBW_COPY_AUTO;
        break;
    }
    co.depth = o->depth_set ? o->depth : 0;
    co.chunk_size = o->chunk_size;
    co.copychunk_read = o->copychunk_read;
    co.no_preserve = true; /* smbcopy sets times and attributes itself */
    ss_progress sp = {.prog = &ctx->prog, .state = state, .start = start, .size = size};
    co.progress = ss_progress_cb;
    co.progress_ud = &sp;
    smbw_copy_stats stats;
    memset(&stats, 0, sizeof(stats));
    int err = 0;
    int nconn = o->connections;
    while (nconn > 1 && size - start < (uint64_t)nconn * LANE_MIN)
        nconn--;
    if (nconn > 1) {
        /* The library spreads the copychunk work over the lanes (each its own
         * connection, session, opens and resume key) from this thread. */
        lane_conn extra[SC_MAX_CONNECTIONS];
        smbw_copy_lane lanes[SC_MAX_CONNECTIONS];
        int n = 1;
        lanes[0].src = sf;
        lanes[0].dst = df;
        for (; n < nconn; n++) {
            char why[512];
            err = lane_open(ctx, src, spath, dst, tmp, &extra[n], why, sizeof(why));
            if (err != 0) {
                /* Go on with the connections there are. */
                sc_warn(ctx, "copy %s: connection %d of %d: %s; copying over %d", spath, n + 1,
                        nconn, why, n);
                err = 0;
                break;
            }
            lanes[n] = extra[n].lane;
        }
        if (err == 0)
            err = smbw_copy_range_multi(lanes, n, start, start, size - start, &co, &stats);
        for (int i = 1; i < n; i++)
            lane_close(&extra[i]);
    } else if (size > start)
        err = smbw_copy_range(sf, df, start, start, size - start, &co, &stats);
    else
        stats.method = co.method == SMBW_COPY_AUTO ? SMBW_COPY_COPYCHUNK : co.method;
    ctx->requests += stats.requests;
    ctx->wire_bytes += stats.wire_bytes;
    if (err == 0)
        *method = smbw_copy_method_name(stats.method);
    return err;
}

/* ---- one file -------------------------------------------------------- */

static const char *file_kind(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    if (S_ISLNK(m))
        return "a symbolic link";
    return "not a regular file";
}

/* Looks at an existing local destination before anything is written, so
 * that nothing but a regular file is ever replaced (as cp(1) does): a
 * symbolic link is written through (the file it points to is replaced, the
 * link stays; a dangling link is refused), a FIFO or character device is
 * written into as a stream, anything else that is not a regular file is
 * refused. *final gets the path to replace (NULL: dpath itself). Returns 0 or
 * the reported exit code. */
static int local_dst_check(sc_ctx *ctx, const char *dpath, char **final, bool *stream)
{
    struct stat lst, st;
    *final = NULL;
    *stream = false;
    if (lstat(dpath, &lst) != 0)
        return errno == ENOENT ? 0 : sc_fail_local(ctx, errno, "stat", dpath);
    st = lst;
    if (S_ISLNK(lst.st_mode)) {
        if (stat(dpath, &st) != 0) {
            if (errno != ENOENT)
                return sc_fail_local(ctx, errno, "stat", dpath);
            sc_report(ctx, SC_EXIT_LOCAL,
                      "not writing through dangling symbolic link %s (remove it or name "
                      "another destination)",
                      dpath);
            return SC_EXIT_LOCAL;
        }
        if (S_ISREG(st.st_mode)) {
            *final = realpath(dpath, NULL);
            if (*final == NULL)
                return sc_fail_local(ctx, errno, "resolve symbolic link", dpath);
        }
    }
    if (S_ISREG(st.st_mode)) {
        const char *shown = *final != NULL ? *final : dpath;
        if ((st.st_mode & S_IWUSR) == 0 && !ctx->o->force) {
            sc_report(ctx, SC_EXIT_LOCAL,
                      "%s is read-only (mode %04o): not replacing it (-f replaces it)", shown,
                      (unsigned)(st.st_mode & 07777));
            return SC_EXIT_LOCAL;
        }
        if (st.st_nlink > 1)
            sc_warn(ctx,
                    "%s has %lu hard links: only this name gets the copy, the other links keep "
                    "the old data",
                    shown, (unsigned long)st.st_nlink);
        return 0;
    }
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        *stream = true;
        return 0;
    }
    sc_report(ctx, SC_EXIT_LOCAL, "%s is %s: not replacing it", dpath, file_kind(st.st_mode));
    return SC_EXIT_LOCAL;
}

/* Opens an existing file or directory on a share for its attributes only
 * (access: FILE_READ_ATTRIBUTES, with FILE_WRITE_ATTRIBUTES to change them),
 * sharing everything, so that no open of another program is disturbed. */
static int open_attrs(smbw_tree *t, const char *path, uint32_t access, smbw_file **f)
{
    smbw_create_params p;
    memset(&p, 0, sizeof(p));
    p.desired_access = access;
    p.share_access = 0x00000007u; /* read, write, delete */
    p.create_disposition = 1u;    /* FILE_OPEN */
    p.impersonation_level = 2u;   /* Impersonation */
    return smbw_file_create(f, t, path, &p);
}

#define ACCESS_READ_ATTRS_ 0x00000080u  /* FILE_READ_ATTRIBUTES */
#define ACCESS_WRITE_ATTRS_ 0x00000100u /* FILE_WRITE_ATTRIBUTES */

/* Whether two connections reach one server (the same one, or equal
 * nonzero ServerGuids: "localhost" and "127.0.0.1" are one server). */
static bool same_server(const sc_server *a, const sc_server *b)
{
    if (a == b)
        return true;
    uint8_t ga[16], gb[16];
    static const uint8_t zero[16];
    return smbw_conn_server_guid(a->conn, ga) == 0 && smbw_conn_server_guid(b->conn, gb) == 0 &&
           memcmp(ga, zero, 16) != 0 && memcmp(ga, gb, 16) == 0;
}

/* Whether the existing destination dpath (dfi: its stat) is the source file
 * itself (cp's "are the same file"): device and inode locally; on one server
 * the file id (FileInternalInformation), asked only when the creation time
 * and size already agree. A local path and a share are never taken for the
 * same file (it cannot be told). */
static bool is_same_file(const sc_loc *src, int sfd, smbw_file *sf, const finfo *sfi,
                         const sc_loc *dst, const char *dpath, const finfo *dfi)
{
    if (!dfi->exists)
        return false;
    if (!src->remote && !dst->remote) {
        struct stat a, b;
        return fstat(sfd, &a) == 0 && stat(dpath, &b) == 0 && a.st_dev == b.st_dev &&
               a.st_ino == b.st_ino;
    }
    if (!src->remote || !dst->remote || dfi->size != sfi->size || dfi->creation != sfi->creation ||
        !same_server(src->srv, dst->srv))
        return false;
    uint64_t si = 0, di = 0;
    if (smbw_file_index(sf, &si) != 0 || si == 0)
        return false;
    smbw_file *f = NULL;
    if (open_attrs(dst->tree, dpath, ACCESS_READ_ATTRS_, &f) != 0)
        return false;
    bool same = smbw_file_index(f, &di) == 0 && di == si;
    smbw_file_free(f);
    return same;
}

/* Whether the open source no longer has the size and modification time it
 * had when the copy began (false when that cannot be told). */
static bool source_changed(const sc_loc *src, int sfd, smbw_file *sf, const finfo *sfi)
{
    if (!src->remote) {
        struct stat st;
        return sfd >= 0 && fstat(sfd, &st) == 0 &&
               ((uint64_t)st.st_size != sfi->size || ft_from_ts(st.st_mtim) != sfi->write);
    }
    smbw_stat st;
    return sf != NULL && !smbw_conn_is_dead(src->srv->conn) && smbw_file_stat(sf, &st) == 0 &&
           (st.size != sfi->size || st.last_write_time != sfi->write);
}

/* The temporary file next to dpath could not be created: said in terms of
 * the user's destination (the temporary name is smbcopy's business). */
static int fail_create(sc_ctx *ctx, const sc_loc *dst, const char *dpath, const char *ddisp,
                       int os_errno, int err, uint32_t status)
{
    const char *slash = strrchr(dpath, '/');
    char *dir = slash != NULL ? strndup(dpath, (size_t)(slash - dpath)) : strdup("");
    char *dd = dir != NULL
                   ? (dst->remote || dir[0] != '\0' ? sc_loc_display(dst, dir) : strdup("."))
                   : NULL;
    const char *dshown = dd != NULL ? dd : "?";
    int rc;
    if (!dst->remote) {
        if (os_errno == ENOENT || os_errno == ENOTDIR) {
            rc = SC_EXIT_LOCAL;
            sc_report(ctx, rc, "copy to %s: no such directory %s", ddisp, dshown);
        } else {
            rc = sc_fail_local(ctx, os_errno, "copy to", ddisp);
        }
    } else if (status == SMBW_STATUS_OBJECT_PATH_NOT_FOUND ||
               status == SMBW_STATUS_OBJECT_NAME_NOT_FOUND) {
        /* STATUS_OBJECT_PATH_NOT_FOUND, STATUS_OBJECT_NAME_NOT_FOUND */
        rc = SC_EXIT_STATUS;
        sc_report(ctx, rc, "copy to %s: no such directory %s (%s)", ddisp, dshown,
                  smbw_status_name(status));
    } else if (status == SMBW_STATUS_OBJECT_NAME_INVALID) {
        rc = SC_EXIT_STATUS;
        sc_report(ctx, rc, "copy to %s: the server refused the name as invalid (%s)", ddisp,
                  smbw_status_name(status));
    } else {
        rc = sc_fail_smb(ctx, err, dst->srv->conn, status, "copy to", ddisp);
    }
    free(dd);
    free(dir);
    return rc;
}

static int copy_file(sc_ctx *ctx, const sc_loc *src, const char *spath, const sc_loc *dst,
                     const char *dpath)
{
    const sc_opts *o = ctx->o;
    int rc = 0;
    char *sdisp = sc_loc_display(src, spath);
    char *ddisp = sc_loc_display(dst, dpath);
    char *tmp = NULL, *spath_state = NULL, *tdisp = NULL, *dfinal = NULL, *dname = NULL;
    char *name = base_name(spath[0] != '\0' ? spath : src->share, src->remote);
    /* The source's identity in the resume record: its URL without
     * credentials, or its absolute path. */
    char *ident = src->remote ? sc_loc_display(src, spath) : realpath(spath, NULL);
    if (ident == NULL && !src->remote)
        ident = strdup(spath);
    int sfd = -1, dfd = -1;
    smbw_file *sf = NULL, *df = NULL;
    bool tmp_exists = false;
    /* A local FIFO or character device destination: written in place. */
    bool dst_stream = false;
    sc_state state;
    memset(&state, 0, sizeof(state));
    state.fd = -1;
    finfo sfi;
    int err;

    if (sdisp == NULL || ddisp == NULL || name == NULL || ident == NULL) {
        rc = sc_fail_nomem(ctx);
        goto out;
    }
    if (!dst->remote) {
        if ((rc = local_dst_check(ctx, dpath, &dfinal, &dst_stream)) != 0)
            goto out;
        if (dfinal != NULL)
            dpath = dfinal;
    }
    size_t nmax = name_max(dpath, dst->remote);
    tmp = temp_name(dpath, PART_SUFFIX, nmax);
    spath_state = temp_name(dpath, STATE_SUFFIX, nmax);
    dname = base_name(dpath, dst->remote);
    /* What messages name for the file being written: a FIFO or device is
     * written in place, so its own name. */
    tdisp = dst_stream ? strdup(ddisp) : tmp != NULL ? sc_loc_display(dst, tmp) : NULL;
    if (tmp == NULL || spath_state == NULL || tdisp == NULL || dname == NULL) {
        rc = sc_fail_nomem(ctx);
        goto out;
    }

    /* Source. */
    if (src->remote) {
        err = smbw_file_open(&sf, src->tree, spath, SMBW_O_RDONLY);
        if (err != 0) {
            rc = sc_fail_smb(ctx, err, src->srv->conn, 0, "open", sdisp);
            goto out;
        }
        smbw_stat st;
        err = smbw_file_stat(sf, &st);
        if (err != 0) {
            rc = sc_fail_smb(ctx, err, src->srv->conn, 0, "stat", sdisp);
            goto out;
        }
        finfo_from_smb(&sfi, &st);
        if (sfi.is_dir) {
            rc = sc_fail_smb(ctx, SMBW_EISDIR, NULL, 0, "read", sdisp);
            goto out;
        }
    } else {
        sfd = open(spath, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct stat st;
        if (sfd < 0 || fstat(sfd, &st) != 0) {
            rc = sc_fail_local(ctx, errno, "open", sdisp);
            goto out;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = sc_fail_local(ctx, EISDIR, "read", sdisp);
            goto out;
        }
        if (!S_ISREG(st.st_mode)) {
            rc = SC_EXIT_LOCAL;
            sc_report(ctx, rc, "copy %s: not a regular file (%s); smbcopy copies regular files",
                      sdisp, file_kind(st.st_mode));
            goto out;
        }
        finfo_from_stat(&sfi, &st);
    }
    uint64_t size = sfi.size;

    /* The destination as it is now: one stat for every check below. */
    finfo dfi;
    if ((rc = loc_stat(ctx, dst, dpath, &dfi)) != 0)
        goto out;
    /* Never copy a file onto itself (a copy there would only replace it). */
    if (is_same_file(src, sfd, sf, &sfi, dst, dpath, &dfi)) {
        rc = SC_EXIT_USAGE;
        sc_report(ctx, rc, "%s and %s are the same file", sdisp, ddisp);
        goto out;
    }
    /* A read-only file on a share is replaced only with -f (its attribute is
     * cleared first: a server may refuse to rename over it). */
    if (dst->remote) {
        if (dfi.exists && dfi.is_reg && (dfi.attrs & SMBW_FILE_ATTRIBUTE_READONLY)) {
            if (!o->force) {
                rc = SC_EXIT_LOCAL;
                sc_report(ctx, rc,
                          "%s is read-only (DOS read-only attribute): not replacing it (-f "
                          "replaces it)",
                          ddisp);
                goto out;
            }
            smbw_file *f = NULL;
            uint32_t attrs = dfi.attrs & ~SMBW_FILE_ATTRIBUTE_READONLY;
            err = open_attrs(dst->tree, dpath, ACCESS_READ_ATTRS_ | ACCESS_WRITE_ATTRS_, &f);
            if (err == 0)
                err = smbw_file_set_basic(f, 0, 0, 0, 0, attrs != 0 ? attrs : 0x80u);
            smbw_file_free(f);
            if (err != 0) {
                rc = sc_fail_smb(ctx, err, dst->srv->conn, 0, "clear the read-only attribute of",
                                 ddisp);
                goto out;
            }
        }
    }

    /* -u, --resume: a destination that already matches is left alone. */
    if ((o->resume && o->preserve) || o->update) {
        uint64_t dt = dfi.write > sfi.write ? dfi.write - sfi.write : sfi.write - dfi.write;
        /* Within 2 s: FAT and some servers keep times that coarsely. */
        bool same_time = o->preserve ? dt <= 20000000u : dfi.write + 20000000u >= sfi.write;
        if (dfi.exists && dfi.is_reg && dfi.size == size && same_time) {
            ctx->skipped++;
            goto out;
        }
    }
    if (o->dry_run) {
        FILE *out = o->json ? stderr : stdout;
        fprintf(out, "%s -> %s\n", sdisp, ddisp);
        ctx->files++;
        ctx->bytes += size;
        goto out;
    }

    /* A forced server-side method needs both ends on one connection. */
    bool same_server = src->remote && dst->remote && src->srv == dst->srv;
    bool forced = o->method == SC_METHOD_CLONE || o->method == SC_METHOD_COPYCHUNK ||
                  o->method == SC_METHOD_ODX;
    if (forced && !same_server) {
        rc = SC_EXIT_USAGE;
        sc_report(ctx, rc,
                  "copy %s: --method=%s needs SRC and DST on one SMB server "
                  "(same host, port and user)",
                  sdisp, sc_method_name(o->method));
        goto out;
    }

    /* --resume: continue from the record when it still describes the source. */
    uint64_t rec_done = 0;
    bool resumable = o->resume && !dst_stream &&
                     sc_state_load(dst, spath_state, ident, dname, size, sfi.write, &rec_done);

    /* Temporary destination. */
    uint64_t start = 0;
    if (dst_stream) {
        /* Standard output named as a path (/dev/stdout, /proc/self/fd/1) is
         * used as it is (reopening a pipe may be refused); anything else is
         * opened, which blocks until a FIFO has a reader (a signal ends the
         * wait). */
        struct stat a, b;
        if (stat(dpath, &a) == 0 && fstat(STDOUT_FILENO, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino && a.st_rdev == b.st_rdev)
            dfd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        else
            dfd = open(dpath, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (dfd < 0) {
            rc = sc_fail_local(ctx, errno, "open", ddisp);
            goto out;
        }
    } else if (!dst->remote) {
        for (int attempt = 0;; attempt++) {
            if (resumable) {
                dfd = open(tmp, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
                if (dfd >= 0 || errno != ENOENT)
                    break;
                resumable = false; /* no partial file: start over */
            }
            dfd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
            if (dfd >= 0 || errno != EEXIST || attempt > 0)
                break;
            if (unlink(tmp) != 0 && errno != ENOENT)
                break;
        }
        if (dfd < 0) {
            rc = fail_create(ctx, dst, dpath, ddisp, errno, 0, 0);
            goto out;
        }
        tmp_exists = true;
        struct stat st;
        if (fstat(dfd, &st) != 0) {
            rc = sc_fail_local(ctx, errno, "stat", tdisp);
            goto out;
        }
        if (!S_ISREG(st.st_mode)) {
            tmp_exists = false; /* not ours to remove */
            rc = sc_fail_local(ctx, EINVAL, "open", tdisp);
            goto out;
        }
        if (resumable) {
            uint64_t have = (uint64_t)st.st_size;
            start = rec_done < have ? rec_done : have;
            if (have != start && ftruncate(dfd, (off_t)start) != 0) {
                rc = sc_fail_local(ctx, errno, "truncate", tdisp);
                goto out;
            }
        }
    } else {
        smbw_conn *dc = dst->srv->conn;
        /* FSCTL_SRV_COPYCHUNK needs the destination open for reading too. */
        int acc = (o->copychunk_read ? SMBW_O_RDWR : SMBW_O_WRONLY) | SMBW_O_DELETE;
        for (int attempt = 0;; attempt++) {
            if (resumable) {
                err = smbw_file_open(&df, dst->tree, tmp, acc);
                if (err != SMBW_ENOENT)
                    break;
                resumable = false;
            }
            err = smbw_file_open(&df, dst->tree, tmp, acc | SMBW_O_CREAT | SMBW_O_EXCL);
            if (err != SMBW_EEXIST || attempt > 0)
                break;
            int uerr = smbw_unlink(dst->tree, tmp);
            if (uerr != 0 && uerr != SMBW_ENOENT)
                break;
        }
        if (err != 0) {
            rc = fail_create(ctx, dst, dpath, ddisp, 0, err, smbw_last_status(dc));
            goto out;
        }
        tmp_exists = true;
        if (resumable) {
            smbw_stat st;
            err = smbw_file_stat(df, &st);
            if (err != 0) {
                rc = sc_fail_smb(ctx, err, dc, 0, "stat", tdisp);
                goto out;
            }
            start = rec_done < st.size ? rec_done : st.size;
            if (st.size != start && (err = smbw_file_truncate(df, start)) != 0) {
                rc = sc_fail_smb(ctx, err, dc, 0, "truncate", tdisp);
                goto out;
            }
        }
    }
    if (!dst_stream) {
        char why[256];
        if (sc_state_open(&state, dst, spath_state, ident, dname, size, sfi.write, start, why,
                          sizeof(why)) != 0) {
            char *sd = sc_loc_display(dst, spath_state);
            sc_warn(ctx, "cannot keep the resume record %s: %s", sc_disp_or(sd, spath_state), why);
            free(sd);
        }
    }
    if (start > 0) {
        ctx->resumed += start;
        if (!o->quiet)
            fprintf(stderr, "smbcopy: resuming %s at byte %llu of %llu\n", ddisp,
                    (unsigned long long)start, (unsigned long long)size);
    }

    /* Data. */
    const char *method = "stream";
    err = SMBW_ENOTSUP;
    sc_progress_start(&ctx->prog, name, size, start);
    if (o->method != SC_METHOD_STREAM)
        err = try_server_side(ctx, src, spath, sf, dst, tmp, df, start, size, &state, &method);
    if (err == SMBW_ENOTSUP && !forced) {
        method = "stream";
        sc_end se = {.fd = sfd, .f = sf, .c = src->remote ? src->srv->conn : NULL};
        sc_end de = {
            .fd = dfd, .f = df, .c = dst->remote ? dst->srv->conn : NULL, .seq = dst_stream};
        sc_xerr xe;
        uint64_t copied = 0;
        sc_stream_hooks hk = {
            .mark = stream_mark,
            .ud = &state,
            .chunk = o->chunk_size,
            .sparse = !dst_stream,
            /* Asked when the attributes say sparse, and of any file large
             * enough for one more request not to matter: servers do not
             * all report the attribute (Samba 4.17 keeps it to itself). */
            .src_sparse = src->remote && ((sfi.attrs & SMBW_FILE_ATTRIBUTE_SPARSE_FILE) != 0 ||
                                          size - start >= 4u * SC_MAX_CHUNK),
        };
        uint64_t w0 = traffic(src, dst);
        err = sc_stream_copy(&se, &de, start, size, o->depth, &ctx->prog, &hk, &copied, &xe);
        ctx->requests += hk.requests;
        ctx->wire_bytes += traffic(src, dst) - w0;
        sc_progress_end(&ctx->prog);
        if (err != 0) {
            const char *what = xe.side == SC_SIDE_DST ? tdisp : sdisp;
            smbw_conn *c = xe.side == SC_SIDE_DST ? de.c : se.c;
            if (!(err == SMBW_ECANCELED && sc_interrupted) && source_changed(src, sfd, sf, &sfi)) {
                rc = sc_fail_changed(ctx, sdisp);
            } else if (err == SMBW_ECANCELED && sc_interrupted) {
                rc = sc_fail_interrupted(ctx, sdisp);
            } else if (err == SMBW_ELOCAL) {
                rc = sc_fail_local(ctx, xe.os_errno, xe.op, what);
            } else if (xe.msg != NULL) {
                rc = sc_exit_for(err);
                sc_report(ctx, rc, "%s %s: %s", xe.op, what, xe.msg);
            } else {
                rc = sc_fail_smb(ctx, err, c, xe.status, xe.op, what);
            }
            goto out;
        }
    } else if (err == SMBW_ENOTSUP && forced) {
        sc_progress_end(&ctx->prog);
        rc = SC_EXIT_STATUS;
        const char *why = smbw_conn_errmsg(dst->srv->conn);
        sc_report(ctx, rc, "copy %s: --method=%s is not available: %s", sdisp,
                  sc_method_name(o->method),
                  why != NULL && why[0] != '\0' ? why : "the server refused it");
        goto out;
    } else if (err != 0) {
        sc_progress_end(&ctx->prog);
        if (err == SMBW_ECANCELED && sc_interrupted) {
            rc = sc_fail_interrupted(ctx, sdisp);
        } else if (source_changed(src, sfd, sf, &sfi)) {
            rc = sc_fail_changed(ctx, sdisp);
        } else {
            rc = sc_fail_smb(ctx, err, dst->srv->conn, 0, "copy", sdisp);
        }
        goto out;
    }
    sc_progress_end(&ctx->prog);
    /* A source written to while it was copied: the copy may hold a mix of
     * old and new data, so it never gets the final name. */
    if (source_changed(src, sfd, sf, &sfi)) {
        rc = sc_fail_changed(ctx, sdisp);
        goto out;
    }
    if (ctx->method_used == NULL)
        ctx->method_used = method;
    else if (strcmp(ctx->method_used, method) != 0)
        ctx->method_used = "mixed";

    /* Done with the source (it may be the file being replaced). */
    if (sf != NULL) {
        smbw_file_free(sf);
        sf = NULL;
    }
    if (sfd >= 0) {
        close(sfd);
        sfd = -1;
    }
    if (sc_interrupted) {
        rc = sc_fail_interrupted(ctx, sdisp);
        goto out;
    }

    /* Finish: metadata, flush, rename over the final name. */
    if (dst_stream) {
        int cr = close(dfd);
        dfd = -1;
        if (cr != 0) {
            rc = sc_fail_local(ctx, errno, "close", ddisp);
            goto out;
        }
    } else if (!dst->remote) {
        mode_t mode = 0666 & ~ctx->umask;
        if (o->preserve && !src->remote)
            mode = sfi.mode & 0777;
        if (o->preserve && src->remote && (sfi.attrs & SMBW_FILE_ATTRIBUTE_READONLY))
            mode &= ~(mode_t)0222;
        if (o->preserve) {
            struct timespec ts[2] = {ts_from_ft(sfi.access), ts_from_ft(sfi.write)};
            if (futimens(dfd, ts) != 0)
                sc_warn(ctx, "set times of %s: %s", tdisp, strerror(errno));
        }
        if (fchmod(dfd, mode) != 0) {
            rc = sc_fail_local(ctx, errno, "chmod", tdisp);
            goto out;
        }
        if (o->sync && fsync(dfd) != 0) {
            rc = sc_fail_local(ctx, errno, "fsync", tdisp);
            goto out;
        }
        int cr = close(dfd);
        dfd = -1;
        if (cr != 0) {
            rc = sc_fail_local(ctx, errno, "close", tdisp);
            goto out;
        }
        if (rename(tmp, dpath) != 0) {
            rc = sc_fail_local(ctx, errno, "rename to", ddisp);
            goto out;
        }
        tmp_exists = false;
        /* --sync: make the rename durable too (best effort). */
        const char *slash = strrchr(dpath, '/');
        char *dir = !o->sync        ? NULL
                    : slash != NULL ? strndup(dpath, (size_t)(slash - dpath) + 1)
                                    : strdup(".");
        if (dir != NULL) {
            int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dirfd >= 0) {
                fsync(dirfd);
                close(dirfd);
            }
            free(dir);
        }
    } else {
        smbw_conn *dc = dst->srv->conn;
        err = o->sync ? smbw_file_flush(df) : 0;
        if (err != 0) {
            rc = sc_fail_smb(ctx, err, dc, 0, "flush", tdisp);
            goto out;
        }
        uint32_t attrs = src->remote ? (sfi.attrs & FILE_ATTRIBUTE_COPY_MASK_) : 0;
        if (o->preserve) {
            err = smbw_file_set_basic(df, src->remote ? sfi.creation : 0, sfi.access, sfi.write, 0,
                                      attrs & ~SMBW_FILE_ATTRIBUTE_READONLY);
            if (err != 0)
                sc_warn(ctx, "set times of %s: %s", tdisp, smbw_strerror(err));
        }
        err = smbw_file_rename(df, dpath, true);
        if (err != 0) {
            rc = sc_fail_smb(ctx, err, dc, 0, "rename to", ddisp);
            goto out;
        }
        tmp_exists = false;
        if (o->preserve && (attrs & SMBW_FILE_ATTRIBUTE_READONLY)) {
            err = smbw_file_set_basic(df, 0, 0, 0, 0, attrs);
            if (err != 0)
                sc_warn(ctx, "set attributes of %s: %s", ddisp, smbw_strerror(err));
        }
        err = smbw_file_free(df);
        df = NULL;
        if (err != 0)
            sc_warn(ctx, "close %s: %s", ddisp, smbw_strerror(err));
    }
    ctx->files++;
    ctx->bytes += size;

out:
    /* The resume record: gone after success; on failure kept (brought up to
     * date) with --resume, else removed with the temporary file. */
    if (rc != 0 && o->resume)
        sc_state_sync(&state);
    sc_state_close(&state, dst, spath_state, rc == 0 || !o->resume);
    if (sf != NULL)
        smbw_file_free(sf);
    if (sfd >= 0)
        close(sfd);
    if (dfd >= 0)
        close(dfd);
    {
        /* What became of the partial file: said after an interrupt, and
         * whenever it could not be removed. */
        bool intr = rc == SC_EXIT_INTR;
        const char *fate = NULL;
        if (tmp_exists && o->resume) {
            fate = "kept for --resume";
        } else if (tmp_exists && !dst->remote) {
            fate = unlink(tmp) == 0 || errno == ENOENT ? "removed" : "could not be removed";
        } else if (tmp_exists) {
            if (!smbw_conn_is_dead(dst->srv->conn) && smbw_file_delete_on_close(df) == 0)
                fate = "removed";
            else
                fate = "could not be removed (the connection to the server ended): remove it "
                       "or continue it with --resume";
        }
        if (df != NULL)
            smbw_file_free(df);
        if (fate != NULL && (intr || fate[0] == 'c') && !o->quiet) {
            sc_progress_end(&ctx->prog);
            fprintf(stderr, "smbcopy: the partial copy %s %s\n", tdisp, fate);
        }
    }
    free(sdisp);
    free(ddisp);
    free(tmp);
    free(dfinal);
    free(dname);
    free(spath_state);
    free(ident);
    free(tdisp);
    free(name);
    return rc;
}

/* ---- directories ----------------------------------------------------- */

typedef struct entry {
    char *name;
    bool is_dir, is_reg;
    bool is_link; /* a symbolic link of a local tree (is_dir/is_reg: its target) */
    int link_err; /* errno when the link cannot be followed (dangling, loop) */
    dev_t dev;    /* a local entry's identity (its target's for a link) */
    ino_t ino;
} entry;

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

static void free_entries(entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].name);
    free(e);
}

static bool push_entry(entry **v, size_t *n, size_t *cap, const char *name, const entry *kind)
{
    if (*n == *cap) {
        size_t nc = *cap != 0 ? *cap * 2 : 64;
        entry *p = realloc(*v, nc * sizeof(entry));
        if (p == NULL)
            return false;
        *v = p;
        *cap = nc;
    }
    char *copy = strdup(name);
    if (copy == NULL)
        return false;
    (*v)[*n] = *kind;
    (*v)[*n].name = copy;
    (*n)++;
    return true;
}

/* Lists path into a sorted array. Returns 0 or the reported exit code. */
static int list_dir(sc_ctx *ctx, const sc_loc *loc, const char *path, entry **out, size_t *nout)
{
    entry *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    *out = NULL;
    *nout = 0;
    if (!loc->remote) {
        DIR *d = opendir(path);
        if (d == NULL)
            return sc_fail_local(ctx, errno, "open directory", path);
        for (;;) {
            errno = 0;
            struct dirent *de = readdir(d);
            if (de == NULL) {
                if (errno != 0)
                    rc = sc_fail_local(ctx, errno, "read directory", path);
                break;
            }
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char *child = path_join(path, de->d_name, false);
            struct stat st;
            bool ok = child != NULL;
            entry k;
            memset(&k, 0, sizeof(k));
            if (ok && lstat(child, &st) == 0) {
                /* A link stands for its target; loops are caught by the walk. */
                if (S_ISLNK(st.st_mode)) {
                    k.is_link = true;
                    if (stat(child, &st) != 0)
                        k.link_err = errno != 0 ? errno : ENOENT;
                }
                if (k.link_err == 0) {
                    k.is_dir = S_ISDIR(st.st_mode);
                    k.is_reg = S_ISREG(st.st_mode);
                    k.dev = st.st_dev;
                    k.ino = st.st_ino;
                }
            }
            free(child);
            if (!ok || !push_entry(&v, &n, &cap, de->d_name, &k)) {
                rc = sc_fail_nomem(ctx);
                break;
            }
        }
        closedir(d);
    } else {
        smbw_dir *d = NULL;
        int err = smbw_dir_open(&d, loc->tree, path);
        if (err != 0) {
            char *disp = sc_loc_display(loc, path);
            rc = sc_fail_smb(ctx, err, loc->srv->conn, 0, "open directory", sc_disp_or(disp, path));
            free(disp);
            return rc;
        }
        for (;;) {
            smbw_dirent ent;
            err = smbw_dir_next(d, &ent);
            if (err == SMBW_ENOMORE)
                break;
            if (err != 0) {
                char *disp = sc_loc_display(loc, path);
                rc = sc_fail_smb(ctx, err, loc->srv->conn, 0, "read directory",
                                 sc_disp_or(disp, path));
                free(disp);
                break;
            }
            if (sc_interrupted) {
                rc = SC_EXIT_INTR;
                sc_report(ctx, rc, "interrupted");
                break;
            }
            entry k;
            memset(&k, 0, sizeof(k));
            k.is_dir = ent.st.is_dir;
            k.is_reg = !ent.st.is_dir;
            if (!push_entry(&v, &n, &cap, ent.name, &k)) {
                rc = sc_fail_nomem(ctx);
                break;
            }
        }
        smbw_dir_free(d);
    }
    if (rc != 0) {
        free_entries(v, n);
        return rc;
    }
    if (n > 1)
        qsort(v, n, sizeof(entry), entry_cmp);
    *out = v;
    *nout = n;
    return 0;
}

static int make_dir(sc_ctx *ctx, const sc_loc *loc, const char *path)
{
    finfo fi;
    int rc;
    if (!loc->remote) {
        if (mkdir(path, 0777) == 0)
            return 0;
        int e = errno;
        if (e == EEXIST && (rc = loc_stat(ctx, loc, path, &fi)) == 0 && fi.is_dir)
            return 0;
        return sc_fail_local(ctx, e == EEXIST ? ENOTDIR : e, "create directory", path);
    }
    if (path[0] == '\0')
        return 0;
    int err = smbw_mkdir(loc->tree, path);
    if (err == 0)
        return 0;
    if (err == SMBW_EEXIST && loc_stat(ctx, loc, path, &fi) == 0 && fi.is_dir)
        return 0;
    char *d = sc_loc_display(loc, path);
    rc = sc_fail_smb(ctx, err == SMBW_EEXIST ? SMBW_ENOTDIR : err, loc->srv->conn, 0,
                     "create directory", sc_disp_or(d, path));
    free(d);
    return rc;
}

/* Why name cannot be the name of a copy on the destination side, or NULL
 * when it can. A name on a share cannot hold '\\' (the server takes it for a
 * separator: the data would go to another file), ':' (a stream name), the
 * wildcards * ? " < > | or control characters; no name may hold '/' or be
 * "." or "..". why gets the reason (for a message). */
static bool name_ok(const char *name, bool to_remote, char *why, size_t whylen)
{
    if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        snprintf(why, whylen, "not a usable file name");
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
        if (*p == '/') {
            snprintf(why, whylen, "the name holds '/'");
            return false;
        }
        if (!to_remote)
            continue;
        if (*p < 0x20 || *p == 0x7f) {
            snprintf(why, whylen,
                     "the name holds the control character 0x%02x, which an SMB share cannot "
                     "store in a name",
                     *p);
            return false;
        }
        if (strchr("\\:*?\"<>|", *p) != NULL) {
            snprintf(why, whylen, "the name holds '%c', which an SMB share cannot store in a name",
                     *p);
            return false;
        }
    }
    return true;
}

/* The destination's identity of path: device and inode locally,
 * FileInternalInformation's IndexNumber on a share. Returns 0, 1 when path does
 * not exist, or -1 when it cannot be told. */
static int dst_identity(const sc_loc *dst, const char *path, uint64_t id[2])
{
    if (!dst->remote) {
        struct stat st;
        if (lstat(path, &st) != 0)
            return errno == ENOENT || errno == ENOTDIR ? 1 : -1;
        id[0] = (uint64_t)st.st_dev;
        id[1] = (uint64_t)st.st_ino;
        return 0;
    }
    smbw_file *f = NULL;
    int err = open_attrs(dst->tree, path, ACCESS_READ_ATTRS_, &f);
    if (err == SMBW_ENOENT)
        return 1;
    if (err != 0)
        return -1;
    uint64_t index = 0;
    err = smbw_file_index(f, &index);
    smbw_file_free(f);
    if (err != 0 || index == 0)
        return -1;
    id[0] = 0;
    id[1] = index;
    return 0;
}

/* -r: whether dpath, about to be written, is a name that the destination
 * takes for another file or directory of this run (two source names that
 * differ only in case, on a case-insensitive share or file system). Then the
 * entry is reported and not copied: nothing this run wrote is overwritten.
 * Returns true for a collision. */
static bool name_collides(sc_ctx *ctx, const sc_loc *src, const char *spath, const sc_loc *dst,
                          const char *dpath)
{
    const char *other = sc_nameset_other(&ctx->dst_names, dpath);
    if (other == NULL) {
        if (!sc_nameset_add(&ctx->dst_names, dpath))
            sc_warn(ctx, "out of memory: name collisions may go undetected");
        return false;
    }
    /* A case-sensitive destination holds both names apart: then dpath does
     * not exist, or it is a different file from the one this run wrote. */
    uint64_t a[2], b[2];
    int ra = dst_identity(dst, dpath, a);
    if (ra == 1)
        return false;
    int rb = ra == 0 ? dst_identity(dst, other, b) : -1;
    if (ra == 0 && rb == 0 && (a[0] != b[0] || a[1] != b[1]))
        return false;
    /* The same file, or no way to tell: never risk overwriting. */
    char *sd = sc_loc_display(src, spath);
    char *od = sc_loc_display(dst, other);
    sc_report(ctx, SC_EXIT_PARTIAL, "%s: not copied: its name collides with %s on the destination",
              sc_disp_or(sd, spath), sc_disp_or(od, other));
    char **v = realloc(ctx->collisions, (ctx->ncollisions + 1) * sizeof(*v));
    if (v != NULL) {
        ctx->collisions = v;
        v[ctx->ncollisions] = sd != NULL ? sd : strdup(spath);
        if (v[ctx->ncollisions] != NULL)
            ctx->ncollisions++;
        sd = NULL;
    }
    free(sd);
    free(od);
    ctx->failed++;
    return true;
}

/* Copies a directory's times to its copy (after its contents). */
static void copy_dir_times(const sc_loc *src, const char *spath, const sc_loc *dst,
                           const char *dpath)
{
    finfo sfi;
    if (!src->remote) {
        struct stat st;
        if (stat(spath, &st) == 0)
            finfo_from_stat(&sfi, &st);
        else
            sfi.exists = false;
    } else {
        smbw_stat st;
        if (spath[0] != '\0' && smbw_stat_path(src->tree, spath, &st) == 0)
            finfo_from_smb(&sfi, &st);
        else
            sfi.exists = false;
    }
    if (sfi.exists && !dst->remote) {
        struct timespec ts[2] = {ts_from_ft(sfi.access), ts_from_ft(sfi.write)};
        utimensat(AT_FDCWD, dpath, ts, 0);
    } else if (sfi.exists && dpath[0] != '\0') {
        smbw_file *f = NULL;
        if (smbw_file_open(&f, dst->tree, dpath, SMBW_O_RDWR | SMBW_O_DIRECTORY) == 0) {
            smbw_file_set_basic(f, src->remote ? sfi.creation : 0, sfi.access, sfi.write, 0, 0);
            smbw_file_free(f);
        }
    }
}

/* One directory being copied: its listing and how far the copy got. */
typedef struct dir_frame {
    char *spath, *dpath;
    entry *v;
    size_t n, i;
    dev_t dev; /* a local source directory's identity (loop detection) */
    ino_t ino;
    int rc;    /* first failure below this directory (its times are then left) */
    bool stop; /* the whole run stops (interrupted, connection lost, login) */
} dir_frame;

/* Makes the copy of directory spath and lists it into f (taking the paths);
 * e is its entry in the parent's listing (NULL for the root).
 * Returns 0 or the reported exit code (the paths are freed then). */
static int dir_enter(sc_ctx *ctx, const sc_loc *src, char *spath, const sc_loc *dst, char *dpath,
                     const entry *e, dir_frame *f)
{
    memset(f, 0, sizeof(*f));
    int rc = ctx->o->dry_run ? 0 : make_dir(ctx, dst, dpath);
    if (rc == 0 && e != NULL) {
        f->dev = e->dev; /* from the listing */
        f->ino = e->ino;
    } else if (rc == 0 && !src->remote) {
        struct stat st;
        if (stat(spath, &st) != 0) {
            rc = sc_fail_local(ctx, errno, "open directory", spath);
        } else {
            f->dev = st.st_dev;
            f->ino = st.st_ino;
        }
    }
    if (rc == 0)
        rc = list_dir(ctx, src, spath, &f->v, &f->n);
    if (rc != 0) {
        free(spath);
        free(dpath);
        return rc;
    }
    f->spath = spath;
    f->dpath = dpath;
    return 0;
}

/* The path of an entry below the tree's root, as --exclude matches it. */
static const char *rel_path(const char *root, const char *path)
{
    size_t n = strlen(root);
    if (n == 0)
        return path;
    return path[n] == '/' || path[n] == '\\' ? path + n + 1 : path + n;
}

/* --exclude: a GLOB with '/' matches the relative path, one without the
 * entry's name (at any depth). */
static bool excluded(const sc_opts *o, const char *rel, const char *name)
{
    for (int i = 0; i < o->nexcludes; i++) {
        const char *g = o->excludes[i];
        if (strchr(g, '/') != NULL ? fnmatch(g, rel, FNM_PATHNAME) == 0 : fnmatch(g, name, 0) == 0)
            return true;
    }
    return false;
}

/* A link of a local tree that cannot be followed: a failed entry. */
static void fail_link(sc_ctx *ctx, const char *spath, int err)
{
    sc_report(ctx, SC_EXIT_PARTIAL, "%s: not copied: symbolic link cannot be followed (%s)", spath,
              err == ENOENT ? "dangling: its target does not exist" : strerror(err));
    ctx->failed++;
}

/* A local directory entry e about to be entered that is one of those being
 * copied (a link back up the tree): entering it would never end. Reports it
 * as a failed entry and returns true. */
static bool leads_back(sc_ctx *ctx, const char *spath, const entry *e, const dir_frame *stack,
                       size_t sp)
{
    for (size_t i = 0; i < sp; i++) {
        if (stack[i].dev == e->dev && stack[i].ino == e->ino) {
            sc_report(ctx, SC_EXIT_PARTIAL,
                      "%s: not copied: symbolic link loop (it leads back to %s)", spath,
                      stack[i].spath);
            ctx->failed++;
            return true;
        }
    }
    return false;
}

/* Whether a failure r ends the whole run rather than one entry. */
static bool run_ends(int r, const sc_loc *src, const sc_loc *dst)
{
    return r == SC_EXIT_INTR || r == SC_EXIT_AUTH || conn_dead(src, dst);
}

/* Copies the tree at spath to dpath. The walk is iterative (an explicit stack
 * of directories, in memory on the heap), so any depth is copied; a
 * directory or file that fails is reported and counted and the rest is
 * copied. Returns 0 or an exit code. */
static int copy_dir(sc_ctx *ctx, const sc_loc *src, const char *spath, const sc_loc *dst,
                    const char *dpath)
{
    dir_frame *stack = NULL;
    size_t sp = 0, cap = 0;
    char *s0 = strdup(spath), *d0 = strdup(dpath);
    if (s0 == NULL || d0 == NULL) {
        free(s0);
        free(d0);
        return sc_fail_nomem(ctx);
    }
    cap = 16;
    stack = malloc(cap * sizeof(*stack));
    if (stack == NULL) {
        free(s0);
        free(d0);
        return sc_fail_nomem(ctx);
    }
    int result = dir_enter(ctx, src, s0, dst, d0, NULL, &stack[0]);
    if (result != 0) {
        free(stack);
        return result;
    }
    sp = 1;
    while (sp > 0) {
        dir_frame *f = &stack[sp - 1];
        if (f->stop || f->i == f->n) {
            /* Done with this directory: its times, then back to the parent. */
            free_entries(f->v, f->n);
            if (f->rc == 0 && ctx->o->preserve && !ctx->o->dry_run)
                copy_dir_times(src, f->spath, dst, f->dpath);
            int r = f->rc;
            free(f->spath);
            free(f->dpath);
            sp--;
            if (sp == 0) {
                result = r;
                break;
            }
            dir_frame *p = &stack[sp - 1];
            if (run_ends(r, src, dst)) {
                p->stop = true;
                p->rc = r != 0 ? r : SC_EXIT_NET;
            } else if (r != 0 && p->rc == 0) {
                p->rc = r;
            }
            continue;
        }
        if (sc_interrupted) {
            f->rc = SC_EXIT_INTR;
            f->stop = true;
            sc_report(ctx, SC_EXIT_INTR, "interrupted");
            continue;
        }
        entry *e = &f->v[f->i++];
        char why[128];
        if (!name_ok(e->name, dst->remote && !src->remote, why, sizeof(why))) {
            /* Never written under another name: reported, counted as failed. */
            char *sc = path_join(f->spath, e->name, src->remote);
            if (sc == NULL)
                sc_fail_nomem(ctx);
            else
                sc_fail_name(ctx, src, sc, SC_EXIT_PARTIAL, why);
            free(sc);
            ctx->failed++;
            continue;
        }
        char *sc = path_join(f->spath, e->name, src->remote);
        char *dc = path_join(f->dpath, e->name, dst->remote);
        int r = 0;
        if (sc != NULL && excluded(ctx->o, rel_path(spath, sc), e->name)) {
            ctx->skipped++;
            free(sc);
            free(dc);
            continue;
        }
        if (sc != NULL && e->is_link && (ctx->o->no_follow || e->link_err != 0)) {
            if (ctx->o->no_follow) {
                sc_warn(ctx, "skipping symbolic link %s (--no-follow)", sc);
                ctx->skipped++;
            } else {
                fail_link(ctx, sc, e->link_err);
            }
            free(sc);
            free(dc);
            continue;
        }
        if (sc != NULL && e->is_dir && !src->remote && leads_back(ctx, sc, e, stack, sp)) {
            free(sc);
            free(dc);
            continue;
        }
        if (sc == NULL || dc == NULL) {
            r = sc_fail_nomem(ctx);
        } else if ((e->is_dir || e->is_reg) && name_collides(ctx, src, sc, dst, dc)) {
            free(sc);
            free(dc);
            continue;
        } else if (e->is_dir) {
            if (sp == cap) {
                dir_frame *ns = realloc(stack, cap * 2 * sizeof(*stack));
                if (ns == NULL) {
                    free(sc);
                    free(dc);
                    r = sc_fail_nomem(ctx);
                    f->rc = r;
                    f->stop = true;
                    continue;
                }
                stack = ns;
                cap *= 2;
                f = &stack[sp - 1];
            }
            r = dir_enter(ctx, src, sc, dst, dc, e, &stack[sp]);
            sc = dc = NULL; /* taken (or freed) by dir_enter */
            if (r == 0) {
                sp++;
                continue;
            }
            ctx->failed++;
        } else if (e->is_reg) {
            r = copy_file(ctx, src, sc, dst, dc);
            if (r != 0)
                ctx->failed++;
        } else {
            sc_warn(ctx, "skipping %s: not a regular file or directory", sc);
            ctx->skipped++;
        }
        free(sc);
        free(dc);
        if (run_ends(r, src, dst)) {
            f->rc = r != 0 ? r : SC_EXIT_NET;
            f->stop = true;
        } else if (r != 0 && e->is_dir && f->rc == 0) {
            f->rc = r;
        }
    }
    free(stack);
    return result;
}

/* ---- top level ------------------------------------------------------- */

static bool ends_with_slash(const char *arg)
{
    size_t n = strlen(arg);
    return n > 0 && (arg[n - 1] == '/' || (smbw_is_url(arg) && arg[n - 1] == '\\'));
}

int sc_run(sc_ctx *ctx, const char *src_arg, const char *dst_arg)
{
    sc_loc src, dst;
    memset(&dst, 0, sizeof(dst));
    /* Other spellings of a share that would otherwise be taken for local
     * paths (when no such local path exists). */
    const char *args[2] = {src_arg, dst_arg};
    for (int i = 0; i < 2; i++) {
        const char *a = args[i];
        bool cifs = strncasecmp(a, "cifs://", 7) == 0;
        bool unc = (a[0] == '/' && a[1] == '/' && a[2] != '/' && a[2] != '\0') ||
                   (a[0] == '\\' && a[1] == '\\');
        /* As a local path its first component ("cifs:", "//HOST") would
         * have to exist (a DST is created only in an existing directory). */
        struct stat st;
        char *first = NULL;
        if (cifs)
            first = strdup("cifs:");
        else if (unc)
            first = strndup(a, 2 + strcspn(a + 2, "/\\"));
        bool local = first != NULL && stat(first, &st) == 0;
        free(first);
        if ((cifs || unc) && !local) {
            sc_report(ctx, SC_EXIT_USAGE,
                      "%s argument is not a local path (none exists), and smbcopy takes a share "
                      "only as smb://[USER@]HOST/SHARE/PATH: write it that way",
                      cifs ? "the cifs://" : "the //HOST/SHARE");
            return SC_EXIT_USAGE;
        }
    }
    /* '-' is not taken for a file named "-" by surprise. */
    if (strcmp(src_arg, "-") == 0 || strcmp(dst_arg, "-") == 0) {
        sc_report(ctx, SC_EXIT_USAGE,
                  "'-' (standard input or output) is not supported: SRC must be a file (./- for "
                  "a file named '-'); DST /dev/stdout writes to standard output");
        return SC_EXIT_USAGE;
    }
    int rc = sc_loc_open(ctx, src_arg, &src);
    if (rc != 0) {
        sc_loc_free(&src);
        return rc;
    }
    char *target = NULL, *name = NULL;
    rc = sc_loc_open(ctx, dst_arg, &dst);
    if (rc != 0)
        goto out;
    sc_ctx_forget_passwords(ctx); /* both ends are logged in */

    finfo sfi, dfi;
    if ((rc = loc_stat(ctx, &src, src.path, &sfi)) != 0)
        goto out;
    if (!sfi.exists) {
        char *d = sc_loc_display(&src, src.path);
        if (src.remote)
            rc = sc_fail_smb(ctx, SMBW_ENOENT, src.srv->conn, 0, "open", sc_disp_or(d, src.path));
        else
            rc = sc_fail_local(ctx, ENOENT, "open", sc_disp_or(d, src.path));
        free(d);
        goto out;
    }
    if ((rc = loc_stat(ctx, &dst, dst.path, &dfi)) != 0)
        goto out;
    bool dst_dir = dfi.exists && dfi.is_dir;
    if (!dfi.exists && ends_with_slash(dst_arg)) {
        char *d = sc_loc_display(&dst, dst.path);
        if (dst.remote)
            rc = sc_fail_smb(ctx, SMBW_ENOENT, dst.srv->conn, 0, "open directory",
                             sc_disp_or(d, dst.path));
        else
            rc = sc_fail_local(ctx, ENOENT, "open directory", sc_disp_or(d, dst.path));
        free(d);
        goto out;
    }
    if (sfi.is_dir && !ctx->o->recursive) {
        char *r = sc_redact_arg(src_arg);
        rc = SC_EXIT_USAGE;
        sc_report(ctx, rc, "%s is a directory (use -r to copy it)", r != NULL ? r : "SRC");
        free(r);
        goto out;
    }
    if (dst_dir) {
        name =
            base_name(src.path[0] != '\0' ? src.path : (src.remote ? src.share : ""), src.remote);
        if (name == NULL) {
            rc = sc_fail_nomem(ctx);
            goto out;
        }
        if (name[0] == '\0') {
            rc = SC_EXIT_USAGE;
            sc_report(ctx, rc, "cannot tell a name for the copy of SRC; give DST in full");
            goto out;
        }
        char why[128];
        if (!name_ok(name, dst.remote && !src.remote, why, sizeof(why))) {
            rc = sc_fail_name(ctx, &src, src.path, SC_EXIT_USAGE, why);
            goto out;
        }
        target = path_join(dst.path, name, dst.remote);
    } else {
        target = strdup(dst.path);
    }
    if (target == NULL) {
        rc = sc_fail_nomem(ctx);
        goto out;
    }
    if (dst.remote && target[0] == '\0') {
        rc = SC_EXIT_USAGE;
        sc_report(ctx, rc, "DST names a share root; name a file or a directory in it");
        goto out;
    }
    if (sfi.is_dir) {
        rc = copy_dir(ctx, &src, src.path, &dst, target);
        if (rc != SC_EXIT_INTR && ctx->failed > 0)
            rc = SC_EXIT_PARTIAL;
    } else {
        rc = copy_file(ctx, &src, src.path, &dst, target);
    }
out:
    free(target);
    free(name);
    sc_loc_free(&src);
    sc_loc_free(&dst);
    return rc;
}
