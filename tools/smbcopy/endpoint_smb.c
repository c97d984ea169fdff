/* The SMB endpoint (endpoint.h): paths on a share, through the public smbwire
 * API. */
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"

#define ACCESS_READ_ATTRS_ 0x00000080u  /* FILE_READ_ATTRIBUTES */
#define ACCESS_WRITE_ATTRS_ 0x00000100u /* FILE_WRITE_ATTRIBUTES */
/* MS-SMB2 2.2.10: a share in a DFS namespace */
#define SHAREFLAG_DFS_ 0x00000001u
#define SHAREFLAG_DFS_ROOT_ 0x00000002u
#define SHARE_CAP_DFS_ 0x00000008u

static int s_err(sc_err *e, int err, const sc_loc *loc, const char *op)
{
    memset(e, 0, sizeof(*e));
    e->err = err;
    e->c = loc != NULL ? loc->srv->conn : NULL;
    e->op = op;
    return err;
}

static void finfo_from_smb(sc_finfo *fi, const smbw_stat *st)
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

/* Opens an existing file or directory on a share for its attributes only
 * (access: FILE_READ_ATTRIBUTES, with FILE_WRITE_ATTRIBUTES to change them),
 * sharing everything, so that no open of another program is disturbed. */
static int open_attrs(smbw_tree *t, const char *path, uint32_t access, smbw_file **f)
{
    smbw_create_params p;
    memset(&p, 0, sizeof(p));
    p.desired_access = access;
    p.share_access = SMBW_FILE_SHARE_READ | SMBW_FILE_SHARE_WRITE | SMBW_FILE_SHARE_DELETE;
    p.create_disposition = 1u;  /* FILE_OPEN */
    p.impersonation_level = 2u; /* Impersonation */
    return smbw_file_create(f, t, path, &p);
}

/* A server may refuse to rename over a read-only file. */
static int s_clear_readonly(const sc_loc *loc, const char *path, uint32_t attrs, sc_err *e)
{
    attrs &= ~SMBW_FILE_ATTRIBUTE_READONLY;
    smbw_file *f = NULL;
    int err = open_attrs(loc->tree, path, ACCESS_READ_ATTRS_ | ACCESS_WRITE_ATTRS_, &f);
    if (err == 0)
        err = smbw_file_set_basic(f, 0, 0, 0, 0, attrs != 0 ? attrs : SMBW_FILE_ATTRIBUTE_NORMAL);
    smbw_file_free(f);
    return err == 0 ? 0 : s_err(e, err, loc, "clear the read-only attribute of");
}

static int s_stat(const sc_loc *loc, const char *path, sc_finfo *fi, sc_err *e)
{
    memset(fi, 0, sizeof(*fi));
    if (path[0] == '\0') { /* the share's root */
        fi->exists = true;
        fi->is_dir = true;
        return 0;
    }
    smbw_stat st;
    int err = smbw_stat_path(loc->tree, path, &st);
    if (err == SMBW_ENOENT)
        return 0;
    if (err != 0)
        return s_err(e, err, loc, "stat");
    finfo_from_smb(fi, &st);
    return 0;
}

/* The open of s_open_src (as a copy's source: opened with its resume key),
 * then its metadata from the CREATE answer. */
static int open_src_as(const sc_loc *loc, const char *path, sc_fh *h, sc_finfo *fi, bool copy,
                       sc_err *e)
{
    int err = copy ? smbw_file_open_source(&h->f, loc->tree, path)
                   : smbw_file_open(&h->f, loc->tree, path, SMBW_O_RDONLY);
    if (err != 0)
        return s_err(e, err, loc, "open");
    smbw_stat st; /* as the CREATE answered: no request more */
    err = smbw_file_open_stat(h->f, &st);
    if (err != 0)
        return s_err(e, err, loc, "stat");
    finfo_from_smb(fi, &st);
    if (fi->is_dir)
        return s_err(e, SMBW_EISDIR, NULL, "read");
    return 0;
}

static int s_open_src(const sc_loc *loc, const char *path, sc_fh *h, sc_finfo *fi, sc_err *e)
{
    return open_src_as(loc, path, h, fi, false, e);
}

static int s_open_src_copy(const sc_loc *loc, const char *path, sc_fh *h, sc_finfo *fi, sc_err *e)
{
    return open_src_as(loc, path, h, fi, true, e);
}

static int s_open_src_read(const sc_loc *loc, const char *path, sc_fh *h, sc_finfo *fi, void *buf,
                           size_t len, size_t *got, sc_err *e)
{
    smbw_create_params p;
    smbw_create_params_from_flags(&p, SMBW_O_RDONLY); /* as s_open_src */
    int err = smbw_file_create_read(&h->f, loc->tree, path, &p, buf, len, got);
    if (err != 0 && h->f == NULL)
        return s_err(e, err, loc, "open");
    smbw_stat st;
    if (smbw_file_open_stat(h->f, &st) != 0)
        return s_err(e, SMBW_EINVAL, loc, "read");
    finfo_from_smb(fi, &st);
    if (fi->is_dir) /* its READ failed: a directory is said as such */
        return s_err(e, SMBW_EISDIR, NULL, "read");
    if (err != 0)
        return s_err(e, err, loc, "read");
    return 0;
}

/* A refusal because another open stands in the way: a temporary file
 * another smbcopy holds (see sc_fh). */
static int s_err_shared(sc_err *e, int err, const sc_loc *loc, const char *op)
{
    s_err(e, err, loc, op);
    e->in_use =
        err == SMBW_EACCES && smbw_last_status(loc->srv->conn) == SMBW_STATUS_SHARING_VIOLATION;
    return err;
}

/* The temporary file's open: DELETE access, which the open does not share
 * with others (see sc_fh); FSCTL_SRV_COPYCHUNK needs it open for reading
 * too. */
void sc_tmp_params(smbw_create_params *p, bool create, bool read_too)
{
    int acc = (read_too ? SMBW_O_RDWR : SMBW_O_WRONLY) | SMBW_O_DELETE;
    if (create)
        acc |= SMBW_O_CREAT | SMBW_O_EXCL;
    smbw_create_params_from_flags(p, acc);
    p->share_access &= ~(uint32_t)SMBW_FILE_SHARE_DELETE;
}

static int s_open_tmp(const sc_loc *loc, const char *path, bool create, bool read_too, sc_fh *h,
                      sc_err *e)
{
    smbw_create_params p;
    sc_tmp_params(&p, create, read_too);
    int err = smbw_file_create(&h->f, loc->tree, path, &p);
    return err == 0 ? 0 : s_err_shared(e, err, loc, "open");
}

static int s_create_put(const sc_loc *loc, const char *path, bool read_too, const void *data,
                        size_t len, sc_fh *h, sc_err *e)
{
    /* The open s_open_tmp makes with create, and the data with it. */
    smbw_create_params p;
    sc_tmp_params(&p, true, read_too);
    int err = smbw_file_create_write(&h->f, loc->tree, path, &p, data, len);
    if (err == 0)
        return 0;
    return s_err(e, err, loc, h->f != NULL ? "write" : "open");
}

static int s_check_tmp(const sc_loc *loc, sc_fh *h, uint64_t *size, bool *ours, sc_err *e)
{
    *ours = true;
    if (size == NULL)
        return 0;
    smbw_stat st;
    int err = smbw_file_stat(h->f, &st);
    if (err != 0)
        return s_err(e, err, loc, "stat");
    *size = st.size;
    return 0;
}

/* An open file's metadata; nothing is asked of a connection that is gone. */
static int s_fstat(const sc_loc *loc, sc_fh *h, sc_finfo *fi, sc_err *e)
{
    if (h->f == NULL || smbw_conn_is_dead(loc->srv->conn))
        return s_err(e, SMBW_EDEAD, loc, "stat");
    smbw_stat st;
    int err = smbw_file_stat(h->f, &st);
    if (err != 0)
        return s_err(e, err, loc, "stat");
    finfo_from_smb(fi, &st);
    return 0;
}

static int s_truncate(const sc_loc *loc, sc_fh *h, uint64_t size, sc_err *e)
{
    int err = smbw_file_truncate(h->f, size);
    return err == 0 ? 0 : s_err(e, err, loc, "truncate");
}

/* Times, and the attributes but read-only (a server may refuse to rename
 * a read-only file over the final name: that one comes after the rename). */
static int s_set_times(const sc_loc *loc, sc_fh *h, const sc_meta *m, sc_err *e)
{
    int err = smbw_file_set_basic(h->f, m->creation, m->access, m->write, 0,
                                  m->attrs & ~SMBW_FILE_ATTRIBUTE_READONLY);
    return err == 0 ? 0 : s_err(e, err, loc, "set times of");
}

static int s_sync(const sc_loc *loc, sc_fh *h, sc_err *e)
{
    int err = smbw_file_flush(h->f);
    return err == 0 ? 0 : s_err(e, err, loc, "flush");
}

static int s_rename(const sc_loc *loc, sc_fh *h, const char *tmp, const char *final, bool sync_dir,
                    sc_err *e)
{
    (void)tmp;
    (void)sync_dir;
    int err = smbw_file_rename(h->f, final, true);
    return err == 0 ? 0 : s_err(e, err, loc, "rename to");
}

static int s_commit(const sc_loc *loc, sc_fh *h, const char *final, const sc_meta *m, bool times,
                    uint32_t attrs, sc_err *e, sc_err *warn)
{
    memset(warn, 0, sizeof(*warn));
    smbw_commit cm = SMBW_COMMIT_INIT;
    cm.rename_to = final;
    cm.replace = true;
    cm.set_basic = true;
    if (times) {
        cm.creation = m->creation;
        cm.access = m->access;
        cm.write = m->write;
    }
    cm.attributes = attrs;
    smbw_commit_step failed = SMBW_COMMIT_REQUEST;
    int err = smbw_file_commit(h->f, &cm, &failed);
    h->f = NULL;
    switch (failed) {
    case SMBW_COMMIT_OK:
        return 0;
    case SMBW_COMMIT_BASIC:
        s_err(warn, err, loc, "set times and attributes of");
        return 0;
    case SMBW_COMMIT_CLOSE:
        s_err(warn, err, loc, "close");
        return 0;
    case SMBW_COMMIT_RENAME:
    case SMBW_COMMIT_REQUEST:
    default:
        return s_err(e, err, loc, "rename to");
    }
}

static int s_set_attrs(const sc_loc *loc, sc_fh *h, uint32_t attrs, sc_err *e)
{
    int err = smbw_file_set_basic(h->f, 0, 0, 0, 0, attrs);
    return err == 0 ? 0 : s_err(e, err, loc, "set attributes of");
}

static int s_close(const sc_loc *loc, sc_fh *h, sc_err *e)
{
    if (h->f == NULL)
        return 0;
    int err = smbw_file_free(h->f);
    h->f = NULL;
    return err == 0 ? 0 : s_err(e, err, loc, "close");
}

static int s_close_stat(const sc_loc *loc, sc_fh *h, sc_finfo *fi, bool *known, sc_err *e)
{
    *known = false;
    if (h->f == NULL)
        return 0;
    smbw_stat st;
    bool got = false;
    int err = smbw_file_free_stat(h->f, &st, &got);
    h->f = NULL;
    if (err != 0)
        return s_err(e, err, loc, "close");
    if (got) {
        finfo_from_smb(fi, &st);
        *known = true;
    }
    return 0;
}

/* Delete-on-close through the open handle (the close that follows removes
 * it), when the connection still stands. */
static bool s_discard(const sc_loc *loc, sc_fh *h, const char *tmp)
{
    (void)tmp;
    return h->f != NULL && !smbw_conn_is_dead(loc->srv->conn) &&
           smbw_file_delete_on_close(h->f) == 0;
}

static int s_unlink(const sc_loc *loc, const char *path, sc_err *e)
{
    int err = smbw_unlink(loc->tree, path);
    return err == 0 ? 0 : s_err_shared(e, err, loc, "remove");
}

/* The entries of a listing (the library's) as smbcopy's. Returns 0 or an
 * error (e set). */
int sc_entries_from_smb(const smbw_dirent *ents, size_t n, sc_entry **out, size_t *nout, sc_err *e)
{
    sc_entry *v = NULL;
    size_t cnt = 0, cap = 0;
    for (size_t i = 0; i < n; i++) {
        sc_entry k;
        memset(&k, 0, sizeof(k));
        k.is_dir = ents[i].st.is_dir;
        k.is_reg = !ents[i].st.is_dir;
        finfo_from_smb(&k.fi, &ents[i].st);
        k.has_fi = true;
        k.name_invalid = ents[i].name_invalid;
        if (!sc_push_entry(&v, &cnt, &cap, ents[i].name, &k)) {
            sc_free_entries(v, cnt);
            return s_err(e, SMBW_ENOMEM, NULL, NULL);
        }
    }
    *out = v;
    *nout = cnt;
    return 0;
}

static int s_list(const sc_loc *loc, const char *path, sc_entry **out, size_t *nout, sc_err *e)
{
    smbw_dirent *ents = NULL;
    size_t n = 0;
    int err = smbw_dir_list(loc->tree, path, &ents, &n);
    if (err != 0)
        return s_err(e, err, loc, "open directory");
    err = sc_entries_from_smb(ents, n, out, nout, e);
    free(ents);
    return err;
}

static int s_mkdir(const sc_loc *loc, const char *path, sc_err *e)
{
    if (path[0] == '\0')
        return 0;
    int err = smbw_mkdir(loc->tree, path);
    return err == 0 ? 0 : s_err(e, err, loc, "create directory");
}

/* Best effort: the outcome of a directory's times is not looked at. */
static void dir_times_done(void *ud, int err, uint32_t status)
{
    (void)ud;
    (void)err;
    (void)status;
}

static void s_set_dir_times(const sc_loc *loc, const char *path, const sc_meta *m)
{
    if (path[0] == '\0')
        return;
    /* Not waited for (s_settle waits), unless the share is in a DFS
     * namespace: only the waiting form follows a link. A failure leaves the
     * times as they are. */
    bool dfs = (smbw_tree_capabilities(loc->tree) & SHARE_CAP_DFS_) ||
               (smbw_tree_share_flags(loc->tree) & (SHAREFLAG_DFS_ | SHAREFLAG_DFS_ROOT_));
    if (dfs || smbw_set_basic_async(loc->tree, path, m->creation, m->access, m->write, 0, 0,
                                    dir_times_done, NULL) != 0)
        (void)smbw_set_basic(loc->tree, path, m->creation, m->access, m->write, 0, 0);
}

static void s_settle(const sc_loc *loc)
{
    (void)smbw_conn_drain(smbw_tree_conn(loc->tree));
}

/* FileInternalInformation's IndexNumber (0: the server does not tell). */
static int s_path_identity(const sc_loc *loc, const char *path, bool follow, uint64_t id[2])
{
    (void)follow;
    smbw_file *f = NULL;
    int err = open_attrs(loc->tree, path, ACCESS_READ_ATTRS_, &f);
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

static int s_fh_identity(const sc_loc *loc, sc_fh *h, uint64_t id[2])
{
    (void)loc;
    uint64_t index = 0;
    if (smbw_file_index(h->f, &index) != 0 || index == 0)
        return -1;
    id[0] = 0;
    id[1] = index;
    return 0;
}

/* SMB allows 255 UTF-16 code units, and servers on POSIX file systems 255
 * bytes. */
static size_t s_name_max(const sc_loc *loc, const char *path)
{
    (void)loc;
    (void)path;
    return 255;
}

static bool s_alive(const sc_loc *loc)
{
    return !smbw_conn_is_dead(loc->srv->conn);
}

const sc_epops sc_ep_smb = {
    .check_dst = NULL,
    .open_stream = NULL,
    .clear_readonly = s_clear_readonly,
    .stat = s_stat,
    .open_src = s_open_src,
    .open_src_read = s_open_src_read,
    .open_src_copy = s_open_src_copy,
    .open_tmp = s_open_tmp,
    .create_put = s_create_put,
    .check_tmp = s_check_tmp,
    .replaceable = NULL,
    .fstat = s_fstat,
    .truncate = s_truncate,
    .set_times = s_set_times,
    .set_mode = NULL,
    .sync = s_sync,
    .rename = s_rename,
    .commit = s_commit,
    .set_attrs = s_set_attrs,
    .close = s_close,
    .close_stat = s_close_stat,
    .discard = s_discard,
    .not_removed = "could not be removed (the connection to the server ended): remove it or "
                   "continue it with --resume",
    .unlink = s_unlink,
    .list = s_list,
    .mkdir = s_mkdir,
    .set_dir_times = s_set_dir_times,
    .settle = s_settle,
    .path_identity = s_path_identity,
    .fh_identity = s_fh_identity,
    .name_max = s_name_max,
    .alive = s_alive,
    .sync_first = true,
    .close_before_rename = false,
    .backslash_sep = true,
};
