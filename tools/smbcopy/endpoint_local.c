/* The local endpoint (endpoint.h): POSIX calls on paths of this machine. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "endpoint.h"

static void finfo_from_stat(sc_finfo *fi, const struct stat *st)
{
    memset(fi, 0, sizeof(*fi));
    fi->exists = true;
    fi->is_dir = S_ISDIR(st->st_mode);
    fi->is_reg = S_ISREG(st->st_mode);
    fi->size = (uint64_t)st->st_size;
    fi->access = sc_ft_from_ts(st->st_atim);
    fi->write = sc_ft_from_ts(st->st_mtim);
    fi->mode = st->st_mode;
}

const char *sc_file_kind(mode_t m)
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
static int l_check_dst(sc_ctx *ctx, const sc_loc *loc, const char *dpath, char **final,
                       bool *stream)
{
    (void)loc;
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
    sc_report(ctx, SC_EXIT_LOCAL, "%s is %s: not replacing it", dpath, sc_file_kind(st.st_mode));
    return SC_EXIT_LOCAL;
}

/* Standard output named as a path (/dev/stdout, /proc/self/fd/1) is used as
 * it is (reopening a pipe may be refused); anything else is opened, which
 * blocks until a FIFO has a reader (a signal ends the wait). */
static int l_open_stream(const sc_loc *loc, const char *dpath, sc_fh *h, sc_err *e)
{
    (void)loc;
    struct stat a, b;
    if (stat(dpath, &a) == 0 && fstat(STDOUT_FILENO, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino && a.st_rdev == b.st_rdev)
        h->fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    else
        h->fd = open(dpath, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    return h->fd >= 0 ? 0 : sc_err_os(e, "open");
}

static int l_stat(const sc_loc *loc, const char *path, sc_finfo *fi, sc_err *e)
{
    (void)loc;
    memset(fi, 0, sizeof(*fi));
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        return sc_err_os(e, "stat");
    }
    finfo_from_stat(fi, &st);
    return 0;
}

static int l_open_src(const sc_loc *loc, const char *path, sc_fh *h, sc_finfo *fi, sc_err *e)
{
    (void)loc;
    h->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    if (h->fd < 0 || fstat(h->fd, &st) != 0)
        return sc_err_os(e, "open");
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        return sc_err_os(e, "read");
    }
    finfo_from_stat(fi, &st);
    return 0;
}

/* Whether the open fd is still the file path names (nothing put another
 * file, or none, in its place). */
static bool same_file(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

/* Takes the temporary file's lock (see sc_fh): a second descriptor of h->fd's
 * open with an exclusive flock. Returns 0, or -1 with errno EBUSY when
 * another holds it or put another file in its place meanwhile. A file system
 * without flock: unlocked, as before. */
static int take_lock(sc_fh *h, const char *path)
{
    int l = fcntl(h->fd, F_DUPFD_CLOEXEC, 3);
    if (l < 0)
        return -1;
    if (flock(l, LOCK_EX | LOCK_NB) != 0) {
        int en = errno;
        close(l);
        if (en != EWOULDBLOCK)
            return 0;
        errno = EBUSY;
        return -1;
    }
    /* Another's unlink between the open and the lock: ours is gone. */
    if (!same_file(l, path)) {
        close(l);
        errno = EBUSY;
        return -1;
    }
    h->lock = l;
    return 0;
}

static void drop_lock(sc_fh *h)
{
    if (h->lock >= 0) {
        close(h->lock);
        h->lock = -1;
    }
}

static int in_use(sc_err *e, const char *op)
{
    errno = EBUSY;
    sc_err_os(e, op);
    e->in_use = true;
    return e->err;
}

static int l_open_tmp(const sc_loc *loc, const char *path, bool create, bool read_too, sc_fh *h,
                      sc_err *e)
{
    (void)loc;
    (void)read_too;
    if (create)
        h->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    else
        h->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (h->fd < 0)
        return sc_err_os(e, "open");
    if (take_lock(h, path) != 0) {
        int en = errno;
        close(h->fd);
        h->fd = -1;
        errno = en;
        return en == EBUSY ? in_use(e, "open") : sc_err_os(e, "open");
    }
    return 0;
}

static int l_check_tmp(const sc_loc *loc, sc_fh *h, uint64_t *size, bool *ours, sc_err *e)
{
    (void)loc;
    struct stat st;
    *ours = true;
    if (fstat(h->fd, &st) != 0)
        return sc_err_os(e, "stat");
    if (!S_ISREG(st.st_mode)) {
        *ours = false; /* not ours to remove */
        errno = EINVAL;
        return sc_err_os(e, "open");
    }
    if (size != NULL)
        *size = (uint64_t)st.st_size;
    return 0;
}

static int l_fstat(const sc_loc *loc, sc_fh *h, sc_finfo *fi, sc_err *e)
{
    (void)loc;
    struct stat st;
    if (h->fd < 0 || fstat(h->fd, &st) != 0)
        return sc_err_os(e, "stat");
    finfo_from_stat(fi, &st);
    return 0;
}

static int l_truncate(const sc_loc *loc, sc_fh *h, uint64_t size, sc_err *e)
{
    (void)loc;
    return ftruncate(h->fd, (off_t)size) == 0 ? 0 : sc_err_os(e, "truncate");
}

static int l_set_times(const sc_loc *loc, sc_fh *h, const sc_meta *m, sc_err *e)
{
    (void)loc;
    struct timespec ts[2] = {sc_ts_from_ft(m->access), sc_ts_from_ft(m->write)};
    return futimens(h->fd, ts) == 0 ? 0 : sc_err_os(e, "set times of");
}

static int l_set_mode(const sc_loc *loc, sc_fh *h, const sc_meta *m, sc_err *e)
{
    (void)loc;
    return fchmod(h->fd, m->mode) == 0 ? 0 : sc_err_os(e, "chmod");
}

static int l_sync(const sc_loc *loc, sc_fh *h, sc_err *e)
{
    (void)loc;
    return fsync(h->fd) == 0 ? 0 : sc_err_os(e, "fsync");
}

static int l_put(const sc_loc *loc, sc_fh *h, const void *data, size_t len, sc_err *e)
{
    (void)loc;
    const char *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t w = pwrite(h->fd, p + done, len - done, (off_t)done);
        if (w < 0 && errno == EINTR && !sc_interrupted)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return sc_err_os(e, "write");
        }
        done += (size_t)w;
    }
    return 0;
}

static int l_close(const sc_loc *loc, sc_fh *h, sc_err *e)
{
    (void)loc;
    if (h->fd < 0) { /* closed already: the lock let go of too */
        drop_lock(h);
        return 0;
    }
    int cr = close(h->fd);
    h->fd = -1;
    return cr == 0 ? 0 : sc_err_os(e, "close");
}

static int l_rename(const sc_loc *loc, sc_fh *h, const char *tmp, const char *final, bool sync_dir,
                    sc_err *e)
{
    (void)loc;
    /* Held all along, the temporary file is still ours: checked even so,
     * as nothing but the lock keeps another program from it. */
    if (h->lock >= 0 && !same_file(h->lock, tmp))
        return in_use(e, "rename to"); /* the lock kept: discard sees it */
    int rr = rename(tmp, final);
    int en = errno;
    drop_lock(h);
    errno = en;
    if (rr != 0)
        return sc_err_os(e, "rename to");
    /* --sync: make the rename durable too (best effort). */
    const char *slash = strrchr(final, '/');
    char *dir = !sync_dir       ? NULL
                : slash != NULL ? strndup(final, (size_t)(slash - final) + 1)
                                : strdup(".");
    if (dir != NULL) {
        int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd >= 0) {
            fsync(dirfd);
            close(dirfd);
        }
        free(dir);
    }
    return 0;
}

static bool l_discard(const sc_loc *loc, sc_fh *h, const char *tmp)
{
    (void)loc;
    if (h->fd >= 0) {
        close(h->fd);
        h->fd = -1;
    }
    /* Another's file in its place (see l_rename) is not ours to remove. */
    bool gone = h->lock >= 0 && !same_file(h->lock, tmp);
    if (!gone)
        gone = unlink(tmp) == 0 || errno == ENOENT;
    drop_lock(h);
    return gone;
}

/* A regular file is removed only when no other smbcopy holds it (see
 * sc_fh): its lock is taken for the removal. */
static int l_unlink(const sc_loc *loc, const char *path, sc_err *e)
{
    (void)loc;
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        sc_fh h = SC_FH_NONE;
        h.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (h.fd >= 0) {
            int lr = take_lock(&h, path);
            int en = errno;
            if (lr == 0 && unlink(path) != 0)
                en = errno, lr = -1;
            close(h.fd);
            drop_lock(&h);
            if (lr != 0) {
                errno = en;
                return en == EBUSY ? in_use(e, "remove") : sc_err_os(e, "remove");
            }
            return 0;
        }
    }
    return unlink(path) == 0 ? 0 : sc_err_os(e, "remove");
}

static int l_list(const sc_loc *loc, const char *path, sc_entry **out, size_t *nout, sc_err *e)
{
    (void)loc;
    sc_entry *v = NULL;
    size_t n = 0, cap = 0;
    int err = 0;
    DIR *d = opendir(path);
    if (d == NULL)
        return sc_err_os(e, "open directory");
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (de == NULL) {
            if (errno != 0)
                err = sc_err_os(e, "read directory");
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *child = sc_path_join(path, de->d_name, false);
        struct stat st;
        bool ok = child != NULL;
        sc_entry k;
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
        if (!ok || !sc_push_entry(&v, &n, &cap, de->d_name, &k)) {
            memset(e, 0, sizeof(*e));
            err = e->err = SMBW_ENOMEM;
            break;
        }
    }
    closedir(d);
    if (err != 0) {
        sc_free_entries(v, n);
        return err;
    }
    *out = v;
    *nout = n;
    return 0;
}

static int l_mkdir(const sc_loc *loc, const char *path, sc_err *e)
{
    (void)loc;
    return mkdir(path, 0777) == 0 ? 0 : sc_err_os(e, "create directory");
}

static void l_settle(const sc_loc *loc)
{
    (void)loc; /* nothing is left in flight locally */
}

static void l_set_dir_times(const sc_loc *loc, const char *path, const sc_meta *m)
{
    (void)loc;
    struct timespec ts[2] = {sc_ts_from_ft(m->access), sc_ts_from_ft(m->write)};
    utimensat(AT_FDCWD, path, ts, 0);
}

static bool l_replaceable(const sc_loc *loc, const char *path)
{
    (void)loc;
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT;
    return S_ISREG(st.st_mode) && st.st_nlink == 1 && (st.st_mode & S_IWUSR) != 0;
}

static int l_path_identity(const sc_loc *loc, const char *path, bool follow, uint64_t id[2])
{
    (void)loc;
    struct stat st;
    if ((follow ? stat(path, &st) : lstat(path, &st)) != 0)
        return errno == ENOENT || errno == ENOTDIR ? 1 : -1;
    id[0] = (uint64_t)st.st_dev;
    id[1] = (uint64_t)st.st_ino;
    return 0;
}

static int l_fh_identity(const sc_loc *loc, sc_fh *h, uint64_t id[2])
{
    (void)loc;
    struct stat st;
    if (fstat(h->fd, &st) != 0)
        return -1;
    id[0] = (uint64_t)st.st_dev;
    id[1] = (uint64_t)st.st_ino;
    return 0;
}

/* The file system's limit in the directory of path. */
static size_t l_name_max(const sc_loc *loc, const char *path)
{
    (void)loc;
    const char *slash = strrchr(path, '/');
    char *dir = slash != NULL ? strndup(path, (size_t)(slash - path) + 1) : strdup(".");
    long m = dir != NULL ? pathconf(dir, _PC_NAME_MAX) : -1;
    free(dir);
    return m > 0 && m < 4096 ? (size_t)m : 255;
}

static bool l_alive(const sc_loc *loc)
{
    (void)loc;
    return true;
}

const sc_epops sc_ep_local = {
    .check_dst = l_check_dst,
    .open_stream = l_open_stream,
    .clear_readonly = NULL,
    .stat = l_stat,
    .open_src = l_open_src,
    .open_tmp = l_open_tmp,
    .put = l_put,
    .check_tmp = l_check_tmp,
    .replaceable = l_replaceable,
    .fstat = l_fstat,
    .truncate = l_truncate,
    .set_times = l_set_times,
    .set_mode = l_set_mode,
    .sync = l_sync,
    .rename = l_rename,
    .set_attrs = NULL,
    .close = l_close,
    .discard = l_discard,
    .not_removed = "could not be removed",
    .unlink = l_unlink,
    .list = l_list,
    .mkdir = l_mkdir,
    .set_dir_times = l_set_dir_times,
    .settle = l_settle,
    .path_identity = l_path_identity,
    .fh_identity = l_fh_identity,
    .name_max = l_name_max,
    .alive = l_alive,
    .sync_first = false,
    .close_before_rename = true,
    .backslash_sep = false,
};
