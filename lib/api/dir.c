/* Public API: directory listing through QUERY_DIRECTORY. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/unicode.h"

/* The class of every listing: FileDirectoryInformation carries all that
 * smbw_stat holds, and spares the server what the larger classes add for
 * each entry (its extended attributes' size, its 8.3 name): measured, -u
 * over /usr/include on Samba 4.17 0.79 -> 0.71 s. Every server supports it
 * (MS-SMB2 2.2.33). */
#define LIST_CLASS FileDirectoryInformation

struct smbw_dir {
    smbw_file *f;
    smbw_buf data; /* the current QUERY_DIRECTORY output */
    size_t pos;
    bool have_data;
    bool end;
    bool first;
    int fetches;
    bool real_in_batch; /* the current answer had an entry other than . and .. */
    char *name;         /* current entry's UTF-8 name */
};

/* The UTF-8 name of entry e into *name (malloc'd): 0, 1 for "." and ".."
 * (skipped; *name NULL), or SMBW_EPROTO for a name that is empty or holds a
 * separator (set on c when not NULL), SMBW_ENOMEM. A name that is not valid
 * UTF-16 (an unpaired surrogate, which NTFS allows) is no reason to fail the
 * listing: *invalid is set and *name shows it with U+FFFD (the caller marks
 * the entry name_invalid). */
static int entry_name(smbw_conn *c, const smb2_dirent *e, char **name, bool *invalid)
{
    *name = NULL;
    int rc = utf16le_to_utf8_lossy(e->name_utf16, e->name_len, name, invalid);
    if (rc != 0) {
        if (c && rc == SMBW_EPROTO)
            core_set_error(c, SMBW_EPROTO, 0, "directory entry name is not valid UTF-16");
        return rc;
    }
    if (!strcmp(*name, ".") || !strcmp(*name, "..")) {
        free(*name);
        *name = NULL;
        return 1;
    }
    const char *nm = *name;
    if (nm[0] == '\0' || strchr(nm, '/') || strchr(nm, '\\')) {
        free(*name);
        *name = NULL;
        if (c)
            core_set_error(c, SMBW_EPROTO, 0, "directory entry with an invalid name");
        return SMBW_EPROTO;
    }
    return 0;
}

static void stat_from_entry(const smb2_dirent *e, smbw_stat *st)
{
    memset(st, 0, sizeof *st);
    st->size = e->t.end_of_file;
    st->alloc_size = e->t.allocation_size;
    st->creation_time = e->t.creation_time;
    st->last_access_time = e->t.last_access_time;
    st->last_write_time = e->t.last_write_time;
    st->change_time = e->t.change_time;
    st->attributes = e->t.file_attributes;
    st->is_dir = (e->t.file_attributes & SMBW_FILE_ATTRIBUTE_DIRECTORY) != 0;
}

/* The output buffer of one QUERY_DIRECTORY on c: up to 1 MiB. */
static uint32_t query_dir_len(const smbw_conn *c)
{
    return c->max_transact < (1u << 20) ? c->max_transact : (1u << 20);
}

int smbw_dir_open(smbw_dir **out, smbw_tree *t, const char *path)
{
    if (!out)
        return SMBW_EINVAL;
    *out = NULL;
    smbw_dir *d = calloc(1, sizeof *d);
    if (!d)
        return SMBW_ENOMEM;
    buf_init(&d->data);
    int rc = smbw_file_open(&d->f, t, path, SMBW_O_RDONLY | SMBW_O_DIRECTORY);
    if (rc) {
        free(d);
        return rc;
    }
    d->first = true;
    *out = d;
    return 0;
}

static int fetch(smbw_dir *d)
{
    smbw_conn *c;
    int rc = api_file_conn(d->f, &c);
    if (rc)
        return rc;
    uint32_t outlen = query_dir_len(c);
    core_msg m;
    api_msg_for_tree(&m, d->f->tree, SMB2_QUERY_DIRECTORY);
    smb2_query_dir_req q;
    memset(&q, 0, sizeof q);
    q.info_class = LIST_CLASS;
    q.flags = d->first ? SMB2_RESTART_SCANS : 0;
    memcpy(q.file_id, d->f->id, 16);
    q.pattern = "*";
    q.output_buffer_length = outlen;
    m.payload = outlen;
    if (wire_encode_query_dir(&m.body, &q) != 0) {
        buf_free(&m.body);
        return SMBW_ENOMEM;
    }
    d->first = false;
    api_rsp rsp;
    rc = api_call(c, &m, 1, false, &rsp);
    if (!rc) {
        if (rsp.h.status == SMBW_STATUS_NO_MORE_FILES) {
            d->end = true;
        } else if (rsp.h.status != SMBW_STATUS_SUCCESS) {
            rc = api_status_error(c, rsp.h.status, "list directory");
        } else {
            smb2_query_dir_rsp qr;
            if (wire_decode_query_dir(rsp.msg.p, rsp.msg.len, &qr) != 0 || qr.data_len > outlen) {
                core_kill(c, SMBW_EPROTO, "malformed QUERY_DIRECTORY response");
                rc = SMBW_EPROTO;
            } else if (qr.data_len == 0) {
                d->end = true;
            } else {
                buf_reset(&d->data);
                buf_put(&d->data, qr.data, qr.data_len);
                if (d->data.failed)
                    rc = SMBW_ENOMEM;
                d->pos = 0;
                d->have_data = !rc;
                d->fetches++;
                d->real_in_batch = false;
            }
        }
    }
    api_rsp_free(&rsp);
    return rc;
}

int smbw_dir_next(smbw_dir *d, smbw_dirent *ent)
{
    if (!d || !ent)
        return SMBW_EINVAL;
    for (;;) {
        if (!d->have_data) {
            if (d->end)
                return SMBW_ENOMORE;
            int rc = fetch(d);
            if (rc)
                return rc;
            continue;
        }
        smb2_dirent e;
        int rc = wire_next_dirent_of(LIST_CLASS, d->data.p, d->data.len, &d->pos, &e);
        if (rc == 1) {
            d->have_data = false;
            if (d->fetches > 1 && !d->real_in_batch) {
                /* Only . and .. again: a server that would never end. */
                smbw_conn *c;
                if (api_file_conn(d->f, &c) == 0)
                    core_kill(c, SMBW_EPROTO,
                              "QUERY_DIRECTORY keeps answering with no new entries");
                return SMBW_EPROTO;
            }
            continue;
        }
        if (rc) {
            smbw_conn *c;
            if (api_file_conn(d->f, &c) == 0)
                core_kill(c, SMBW_EPROTO, "malformed directory entry");
            return SMBW_EPROTO;
        }
        free(d->name);
        d->name = NULL;
        smbw_conn *c = NULL;
        if (api_file_conn(d->f, &c) != 0)
            c = NULL;
        bool invalid;
        rc = entry_name(c, &e, &d->name, &invalid);
        if (rc == 1)
            continue;
        if (rc)
            return rc;
        d->real_in_batch = true;
        memset(ent, 0, sizeof *ent);
        ent->name = d->name;
        ent->name_invalid = invalid;
        stat_from_entry(&e, &ent->st);
        return 0;
    }
}

void smbw_dir_free(smbw_dir *d)
{
    if (!d)
        return;
    (void)smbw_file_free(d->f);
    buf_free(&d->data);
    free(d->name);
    free(d);
}

/* ---- a whole listing at once: smbw_dir_list_async, smbw_dir_list ------ */

/* More entries than this in one directory: SMBW_ENOMEM (a server that
 * would send names without end cannot exhaust the program's memory). */
#define LIST_MAX_ENTRIES (1u << 24)
/* The output buffers of the compound's two QUERY_DIRECTORY requests: the
 * first for the entries, the second (which finds the end of a directory
 * that fit) small, so that the whole compound's answer stays inside the
 * largest frame the connection accepts even without LARGE_MTU (64 KiB + 64
 * KiB). */
#define LIST_FIRST_LEN (60u * 1024)
#define LIST_SECOND_LEN (4u * 1024)

typedef struct lister lister;

typedef struct lister_ref {
    lister *l;
    int i;
} lister_ref;

struct lister {
    smbw_conn *c;
    smbw_tree *t;
    smbw_file *f;
    smbw_list_cb cb;
    void *ud;
    uint32_t outlen[3]; /* the output buffer of each request of the step */
    int n, left;        /* requests of the current step, not answered yet */
    lister_ref ref[3];
    api_rsp rsp[3];
    int fetches;       /* QUERY_DIRECTORY answers with entries */
    smbw_buf names;    /* the names, each NUL-terminated */
    smbw_dirent *ents; /* the entries but their names (set at the end) */
    size_t *off;       /* where each entry's name starts in names */
    size_t count, cap;
    char path[];
};

static void lister_free(lister *l)
{
    for (int i = 0; i < l->n; i++)
        api_rsp_free(&l->rsp[i]);
    buf_free(&l->names);
    free(l->ents);
    free(l->off);
    free(l);
}

/* Ends the listing: the directory's handle closed without waiting, cb run
 * with the entries (err 0) or the error. */
static void lister_end(lister *l, int err, uint32_t status)
{
    if (l->f) {
        api_close_nowait(l->f);
        l->f = NULL;
    }
    smbw_dirent *v = NULL;
    size_t n = 0;
    if (!err && l->count) {
        size_t head = l->count * sizeof *v;
        /* count <= LIST_MAX_ENTRIES; still, a 32-bit size_t must not wrap */
        v = l->names.len <= SIZE_MAX - head ? malloc(head + l->names.len) : NULL;
        if (!v) {
            err = SMBW_ENOMEM;
        } else {
            char *names = (char *)&v[l->count]; /* after the array */
            memcpy(names, l->names.p, l->names.len);
            for (size_t i = 0; i < l->count; i++) {
                v[i] = l->ents[i];
                v[i].name = names + l->off[i];
            }
            n = l->count;
        }
    }
    l->cb(l->ud, err, err ? status : 0, v, n);
    lister_free(l);
}

/* Takes the entries of one QUERY_DIRECTORY answer r. Returns 0, 1 when the
 * answer ends the listing (STATUS_NO_MORE_FILES, or no data), or an error
 * (a malformed answer has killed the connection). */
static int lister_take(lister *l, const api_rsp *r, uint32_t outlen)
{
    smbw_conn *c = l->c;
    if (r->err)
        return r->err;
    if (r->h.status == SMBW_STATUS_NO_MORE_FILES)
        return 1;
    if (r->h.status != SMBW_STATUS_SUCCESS) {
        char what[600];
        snprintf(what, sizeof what, "list directory %s", l->path);
        return api_status_error(c, r->h.status, what);
    }
    smb2_query_dir_rsp qr;
    if (wire_decode_query_dir(r->msg.p, r->msg.len, &qr) != 0 || qr.data_len > outlen) {
        core_kill(c, SMBW_EPROTO, "malformed QUERY_DIRECTORY response");
        return SMBW_EPROTO;
    }
    if (qr.data_len == 0)
        return 1;
    l->fetches++;
    bool real = false;
    size_t pos = 0;
    for (;;) {
        smb2_dirent e;
        int rc = wire_next_dirent_of(LIST_CLASS, qr.data, qr.data_len, &pos, &e);
        if (rc == 1)
            break;
        if (rc) {
            core_kill(c, SMBW_EPROTO, "malformed directory entry");
            return SMBW_EPROTO;
        }
        char *name;
        bool invalid;
        rc = entry_name(c, &e, &name, &invalid);
        if (rc == 1)
            continue;
        if (rc)
            return rc;
        real = true;
        if (l->count == LIST_MAX_ENTRIES) {
            free(name);
            return core_set_error(c, SMBW_ENOMEM, 0, "list directory %s: more than %u entries",
                                  l->path, LIST_MAX_ENTRIES);
        }
        if (l->count == l->cap) {
            size_t ncap = l->cap ? l->cap * 2 : 64;
            smbw_dirent *ents = realloc(l->ents, ncap * sizeof *ents);
            if (ents)
                l->ents = ents;
            size_t *off = ents ? realloc(l->off, ncap * sizeof *off) : NULL;
            if (!off) {
                free(name);
                return SMBW_ENOMEM;
            }
            l->off = off;
            l->cap = ncap;
        }
        l->off[l->count] = l->names.len;
        buf_put(&l->names, name, strlen(name) + 1);
        free(name);
        if (l->names.failed)
            return SMBW_ENOMEM;
        stat_from_entry(&e, &l->ents[l->count].st);
        l->ents[l->count].name_invalid = invalid;
        l->count++;
    }
    if (l->fetches > 1 && !real) {
        /* Only . and .. again: a server that would never end. */
        core_kill(c, SMBW_EPROTO, "QUERY_DIRECTORY keeps answering with no new entries");
        return SMBW_EPROTO;
    }
    return 0;
}

static void lister_step(lister *l);

static int lister_member_done(void *ud, int err, const smb2_hdr *h, const uint8_t *msg, size_t len)
{
    lister_ref *r = ud;
    lister *l = r->l;
    smbw_conn *c = l->c;
    (void)api_rsp_done(&l->rsp[r->i], err, h, msg, len);
    if (--l->left > 0)
        return 0;
    lister_step(l);
    /* A malformed answer killed the connection in the decoders: stop
     * dispatching what followed it. */
    return c->dead && !err ? c->dead_err : 0;
}

/* One QUERY_DIRECTORY into m: of the open f, or of the open the CREATE
 * before it in the compound made (f NULL); restart: from the start. */
static int query_msg(lister *l, core_msg *m, bool restart, uint32_t outlen)
{
    api_msg_for_tree(m, l->t, SMB2_QUERY_DIRECTORY);
    smb2_query_dir_req q;
    memset(&q, 0, sizeof q);
    q.info_class = LIST_CLASS;
    q.flags = restart ? SMB2_RESTART_SCANS : 0;
    memcpy(q.file_id, l->f ? l->f->id : (const uint8_t *)FILE_ID_RELATED, 16);
    q.pattern = "*";
    q.output_buffer_length = outlen;
    m->payload = outlen;
    if (wire_encode_query_dir(&m->body, &q) != 0) {
        buf_free(&m->body);
        return SMBW_ENOMEM;
    }
    return 0;
}

static int lister_submit(lister *l, core_msg *m, int n, bool related)
{
    for (int i = 0; i < l->n; i++)
        api_rsp_free(&l->rsp[i]);
    l->n = l->left = n;
    for (int i = 0; i < n; i++) {
        api_rsp_init(&l->rsp[i]);
        l->ref[i].l = l;
        l->ref[i].i = i;
        m[i].done = lister_member_done;
        m[i].ud = &l->ref[i];
    }
    return core_submit(l->c, m, n, related);
}

/* Every request of the step answered: the open (first step), the entries;
 * then the end, or one more QUERY_DIRECTORY. */
static void lister_step(lister *l)
{
    int first = 0;
    if (!l->f) {
        /* CREATE, QUERY_DIRECTORY, QUERY_DIRECTORY */
        if (l->rsp[0].err) {
            lister_end(l, l->rsp[0].err, 0);
            return;
        }
        int rc = api_create_answer(l->c, l->t, &l->rsp[0], "open directory", l->path, &l->f);
        if (rc) {
            lister_end(l, rc, l->rsp[0].h.status);
            return;
        }
        first = 1;
    }
    for (int i = first; i < l->n; i++) {
        int rc = lister_take(l, &l->rsp[i], l->outlen[i]);
        if (rc == 1) {
            lister_end(l, 0, 0);
            return;
        }
        if (rc) {
            lister_end(l, rc, l->rsp[i].h.status);
            return;
        }
    }
    /* Not at the end yet: one more, with the largest buffer. */
    l->outlen[0] = query_dir_len(l->c);
    core_msg m;
    int rc = query_msg(l, &m, false, l->outlen[0]);
    if (!rc)
        rc = lister_submit(l, &m, 1, false);
    if (rc)
        lister_end(l, rc, 0);
}

int smbw_dir_list_async(smbw_tree *t, const char *path, smbw_list_cb cb, void *ud)
{
    smbw_conn *c;
    int rc = api_tree_conn(t, &c);
    if (rc)
        return rc;
    if (!path || !cb)
        return SMBW_EINVAL;
    size_t plen = strlen(path) + 1;
    lister *l = calloc(1, sizeof *l + plen);
    if (!l)
        return SMBW_ENOMEM;
    memcpy(l->path, path, plen);
    l->c = c;
    l->t = t;
    l->cb = cb;
    l->ud = ud;
    uint32_t most = query_dir_len(c);
    l->outlen[1] = most < LIST_FIRST_LEN ? most : LIST_FIRST_LEN;
    l->outlen[2] = most < LIST_SECOND_LEN ? most : LIST_SECOND_LEN;
    buf_init(&l->names);
    smbw_create_params p;
    smbw_create_params_from_flags(&p, SMBW_O_RDONLY | SMBW_O_DIRECTORY);
    core_msg m[3];
    rc = api_create_msg(c, t, path, &p, &m[0]);
    if (rc) {
        free(l);
        return rc;
    }
    if ((rc = query_msg(l, &m[1], true, l->outlen[1])) != 0) {
        buf_free(&m[0].body);
    } else if ((rc = query_msg(l, &m[2], false, l->outlen[2])) != 0) {
        buf_free(&m[0].body);
        buf_free(&m[1].body);
    }
    if (!rc)
        rc = lister_submit(l, m, 3, true);
    if (rc) {
        buf_free(&l->names);
        free(l);
    }
    return rc;
}

/* smbw_dir_list: the callback's result, kept for the waiting call. */
typedef struct list_wait {
    int done;
    int err;
    uint32_t status;
    smbw_dirent *v;
    size_t n;
} list_wait;

static void list_wait_cb(void *ud, int err, uint32_t status, smbw_dirent *v, size_t n)
{
    list_wait *w = ud;
    w->err = err;
    w->status = status;
    w->v = v;
    w->n = n;
    w->done = 1;
}

/* The listing the step-by-step way (smbw_dir_open follows a DFS link). */
static int list_by_steps(smbw_tree *t, const char *path, smbw_dirent **out, size_t *n)
{
    smbw_dir *d;
    int rc = smbw_dir_open(&d, t, path);
    if (rc)
        return rc;
    smbw_buf names;
    buf_init(&names);
    smbw_dirent *st = NULL; /* names set at the end */
    size_t cnt = 0, cap = 0;
    smbw_dirent e;
    while ((rc = smbw_dir_next(d, &e)) == 0) {
        if (cnt == LIST_MAX_ENTRIES) { /* the same bound as the compound way */
            smbw_conn *c;
            rc = api_tree_conn(t, &c)
                     ? SMBW_ENOMEM
                     : core_set_error(c, SMBW_ENOMEM, 0, "list directory %s: more than %u entries",
                                      path, LIST_MAX_ENTRIES);
            break;
        }
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            smbw_dirent *nst = realloc(st, ncap * sizeof *nst);
            if (!nst) {
                rc = SMBW_ENOMEM;
                break;
            }
            st = nst;
            cap = ncap;
        }
        st[cnt++] = e;
        buf_put(&names, e.name, strlen(e.name) + 1);
        if (names.failed) {
            rc = SMBW_ENOMEM;
            break;
        }
    }
    smbw_dir_free(d);
    if (rc == SMBW_ENOMORE && cnt) {
        smbw_dirent *v = NULL;
        if (cnt <= (SIZE_MAX - names.len) / sizeof *v) /* no wrap */
            v = malloc(cnt * sizeof *v + names.len);
        if (!v) {
            rc = SMBW_ENOMEM;
        } else {
            char *p = (char *)&v[cnt]; /* after the array */
            memcpy(p, names.p, names.len);
            for (size_t i = 0; i < cnt; i++) {
                v[i] = st[i];
                v[i].name = p;
                p += strlen(p) + 1;
            }
            *out = v;
            *n = cnt;
            rc = 0;
        }
    } else if (rc == SMBW_ENOMORE) {
        rc = 0;
    }
    free(st);
    buf_free(&names);
    return rc;
}

int smbw_dir_list(smbw_tree *t, const char *path, smbw_dirent **out, size_t *n)
{
    if (!out || !n)
        return SMBW_EINVAL;
    *out = NULL;
    *n = 0;
    smbw_conn *c;
    int rc = api_tree_conn(t, &c);
    if (rc)
        return rc;
    if (c->dispatching)
        return core_set_error(c, SMBW_EBUSY, 0,
                              "a callback called a waiting function on its own connection");
    list_wait w = {0, 0, 0, NULL, 0};
    rc = smbw_dir_list_async(t, path, list_wait_cb, &w);
    if (rc)
        return rc;
    rc = io_wait(c, &w.done);
    if (!w.done) /* the connection is dead: killing it ends the listing too */
        core_kill(c, rc ? rc : SMBW_EINVAL, "listing abandoned: %s", smbw_strerror(rc));
    if (!w.done)
        return rc ? rc : SMBW_EIO;
    if (w.err == 0) {
        *out = w.v;
        *n = w.n;
        return 0;
    }
    /* A DFS link: the step-by-step way follows it. */
    if (w.status == SMBW_STATUS_PATH_NOT_COVERED && !c->dead)
        return list_by_steps(t, path, out, n);
    return w.err;
}
