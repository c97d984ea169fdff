/* Tree walk room of smbcopy: a directory copied entry by entry (-r), over
 * the endpoint operations of endpoint.h; each file by sc_copy_file (file.c). */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "batch.h"
#include "buf.h"
#include "endpoint.h"
#include "file.h"
#include "loc.h"
#include "prefetch.h"
#include "walk.h"

/* ---- directories ----------------------------------------------------- */

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const sc_entry *)a)->name, ((const sc_entry *)b)->name);
}

/* --retries: whether a share's connection dropped and came back
 * (sc_reconnect_dropped), at most --retries times for one listing. Listing
 * changes nothing, so it is simply asked again. */
static bool came_back(sc_ctx *ctx, const sc_loc *loc, int *tries)
{
    int rerr;
    return loc->remote && sc_conn_dropped(loc->srv->conn) &&
           sc_reconnect_dropped(ctx, loc->srv->conn, NULL, tries, false, &rerr);
}

/* Lists path into a sorted array (the listing pf made ahead, when it has
 * one). Returns 0 or the reported exit code. */
static int list_dir(sc_ctx *ctx, sc_prefetch *pf, const sc_loc *loc, const char *path,
                    sc_entry **out, size_t *nout)
{
    sc_err e;
    *out = NULL;
    *nout = 0;
    int tries = 0;
    int lrc;
    if (sc_prefetch_take(pf, loc, path, out, nout)) {
        if (*nout > 1)
            qsort(*out, *nout, sizeof(sc_entry), entry_cmp);
        return 0;
    }
    while ((lrc = sc_ops(loc)->list(loc, path, out, nout, &e)) != 0 && came_back(ctx, loc, &tries))
        ;
    if (lrc != 0) {
        char *disp = sc_loc_display(loc, path);
        int rc = sc_fail(ctx, &e, sc_disp_or(disp, path));
        free(disp);
        return rc;
    }
    if (*nout > 1)
        qsort(*out, *nout, sizeof(sc_entry), entry_cmp);
    return 0;
}

/* Makes directory path; one that is there already will do. *made: it
 * did not exist (so nothing in it does but what this run puts there). */
static int make_dir(sc_ctx *ctx, const sc_loc *loc, const char *path, bool *made)
{
    sc_finfo fi;
    sc_err e;
    *made = false;
    if (sc_ops(loc)->mkdir(loc, path, &e) == 0) {
        /* The root of a share is "made" by s_mkdir without a request. */
        *made = path[0] != '\0';
        return 0;
    }
    if (e.err == SMBW_EEXIST && sc_loc_stat(ctx, loc, path, &fi) == 0 && fi.is_dir)
        return 0;
    if (e.err == SMBW_EEXIST) { /* something else by that name */
        e.err = SMBW_ENOTDIR;
        e.os_errno = ENOTDIR;
    }
    char *d = sc_loc_display(loc, path);
    int rc = sc_fail(ctx, &e, sc_disp_or(d, path));
    free(d);
    return rc;
}

/* The device name Windows reserves that name is (CON, PRN, AUX, NUL, COM0-9,
 * LPT0-9, COM and LPT with a superscript 1, 2 or 3), also with an extension
 * ("nul.txt") and in any case, or NULL. */
static const char *reserved_device(const char *name)
{
    static const char *const names[] = {"CON", "PRN", "AUX", "NUL"};
    size_t base = strcspn(name, ".");
    while (base > 0 && name[base - 1] == ' ')
        base--;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (base == 3 && strncasecmp(name, names[i], 3) == 0)
            return names[i];
    if (strncasecmp(name, "COM", 3) != 0 && strncasecmp(name, "LPT", 3) != 0)
        return NULL;
    bool com = strncasecmp(name, "COM", 3) == 0;
    if (base == 4 && name[3] >= '0' && name[3] <= '9') {
        static const char *const com_n[] = {"COM0", "COM1", "COM2", "COM3", "COM4",
                                            "COM5", "COM6", "COM7", "COM8", "COM9"};
        static const char *const lpt_n[] = {"LPT0", "LPT1", "LPT2", "LPT3", "LPT4",
                                            "LPT5", "LPT6", "LPT7", "LPT8", "LPT9"};
        return com ? com_n[name[3] - '0'] : lpt_n[name[3] - '0'];
    }
    /* superscript one, two, three: U+00B9, U+00B2, U+00B3 */
    static const char *const com_s[] = {"COM\u00b9", "COM\u00b2", "COM\u00b3"};
    static const char *const lpt_s[] = {"LPT\u00b9", "LPT\u00b2", "LPT\u00b3"};
    static const unsigned char sup[] = {0xB9, 0xB2, 0xB3};
    for (int i = 0; i < 3 && base == 5 && (unsigned char)name[3] == 0xC2; i++)
        if ((unsigned char)name[4] == sup[i])
            return com ? com_s[i] : lpt_s[i];
    return NULL;
}

/* Why name cannot be the name of a copy on the destination side, or NULL
 * when it can. A name on a share cannot hold '\\' (the server takes it for a
 * separator: the data would go to another file), ':' (a stream name), the
 * wildcards * ? " < > | or control characters, bytes that are not UTF-8
 * (names travel as UTF-16), a trailing dot or space (a Windows server drops
 * them: the data would land under another name) or be a device name that
 * Windows reserves (reserved_device); no name may hold '/' or be "." or
 * "..". why gets the reason (for a message). */
bool sc_name_ok(const char *name, bool to_remote, char *why, size_t whylen)
{
    if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        snprintf(why, whylen, "not a usable file name");
        return false;
    }
    if (to_remote) {
        size_t n = strlen(name);
        for (size_t i = 0; i < n;) {
            size_t l = tool_utf8_len(name + i);
            if (l == 0) {
                snprintf(why, whylen,
                         "the name is not valid UTF-8 (byte 0x%02x), which an SMB share cannot "
                         "store in a name",
                         (unsigned char)name[i]);
                return false;
            }
            i += l;
        }
        if (name[n - 1] == '.' || name[n - 1] == ' ') {
            snprintf(why, whylen,
                     "the name ends with a %s, which a Windows share drops (the data would land "
                     "under another name)",
                     name[n - 1] == '.' ? "dot" : "space");
            return false;
        }
        const char *dev = reserved_device(name);
        if (dev != NULL) {
            snprintf(why, whylen,
                     "%s is a device name that Windows reserves, which a share cannot store as "
                     "a file name",
                     dev);
            return false;
        }
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

/* The destination's identity of path (see path_identity in endpoint.h). Returns 0,
 * 1 when path does not exist, or -1 when it cannot be told. */
static int dst_identity(const sc_loc *dst, const char *path, uint64_t id[2])
{
    return sc_ops(dst)->path_identity(dst, path, false, id);
}

/* -r: whether dpath, about to be written, is a name that the destination
 * takes for another file or directory of this run (two source names that
 * differ only in case, on a case-insensitive share or file system). Then the
 * entry is reported and not copied: nothing this run wrote is overwritten.
 * Returns true for a collision. */
static bool name_collides(sc_ctx *ctx, sc_batch *batch, const sc_loc *src, const char *spath,
                          const sc_loc *dst, const char *dpath)
{
    const char *other = sc_nameset_other(&ctx->dst_names, dpath);
    if (other == NULL) {
        if (!sc_nameset_add(&ctx->dst_names, dpath))
            sc_warn(ctx, "out of memory: name collisions may go undetected");
        return false;
    }
    /* The other file may still be in flight: finished first, so that the
     * lookups below see it under its final name. */
    sc_batch_drain(batch);
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

/* Copies a directory's times to its copy (after its contents). listed:
 * the copy's metadata as its parent's listing gave it, when nothing was
 * written in it since (NULL otherwise): times that already match are not
 * set again (-u over an unchanged tree). */
static void copy_dir_times(const sc_loc *src, const char *spath, const sc_finfo *sgiven,
                           const sc_loc *dst, const char *dpath, const sc_finfo *listed)
{
    sc_finfo sfi;
    sc_err e;
    /* The root of a share has no times to give. */
    if (src->remote && spath[0] == '\0')
        return;
    /* A share's directory as its parent's listing gave it (reading it
     * changes none of its times): no request of its own. */
    if (sgiven != NULL)
        sfi = *sgiven;
    else if (sc_ops(src)->stat(src, spath, &sfi, &e) != 0 || !sfi.exists)
        return;
    sc_meta m = {
        .creation = src->remote ? sfi.creation : 0, .access = sfi.access, .write = sfi.write};
    if (listed != NULL && listed->write == m.write &&
        (m.creation == 0 || listed->creation == m.creation))
        return;
    sc_ops(dst)->set_dir_times(dst, dpath, &m);
}

/* One directory being copied: its listing and how far the copy got. */
typedef struct dir_frame {
    char *spath, *dpath;
    sc_entry *v;
    size_t n, i;
    bool made; /* the copy's directory was made by this run (was not there) */
    /* The copy's directory as its parent's listing gave it (have_listed),
     * and the run's count of changes (sc_changes) on entry: when that count
     * has not moved at the end, nothing was written in it. */
    bool have_listed;
    sc_finfo listed;
    uint64_t changes;
    /* -u, --resume on a share: the copy's directory as listed on entry (its
     * files' size and times without a lookup each), sorted; dlisted: the
     * listing is there. */
    sc_entry *dv;
    size_t dn;
    bool dlisted;
    /* The source directory as its parent's listing on a share gave it
     * (have_src: there is one; its times go to the copy). */
    bool have_src;
    sc_finfo src_fi;
    dev_t dev; /* a local source directory's identity (loop detection) */
    ino_t ino;
    int rc;    /* first failure below this directory (its times are then left) */
    bool stop; /* the whole run stops (interrupted, connection lost, login) */
} dir_frame;

/* An existing copy directory on a share is listed once, so that no file
 * needs a lookup of its own: -u and --resume skip from the listing, a name
 * not there goes to the batch of small files, an existing one the usual way
 * with what the listing says of it. A listing that fails only means
 * lookups. */
static void list_copies(sc_ctx *ctx, sc_prefetch *pf, const sc_loc *dst, const char *dpath,
                        dir_frame *f)
{
    if (f->made || !dst->remote)
        return;
    sc_err e;
    if (!sc_prefetch_take(pf, dst, dpath, &f->dv, &f->dn) &&
        sc_ops(dst)->list(dst, dpath, &f->dv, &f->dn, &e) != 0)
        return;
    if (f->dn > 1)
        qsort(f->dv, f->dn, sizeof(sc_entry), entry_cmp);
    f->dlisted = true;
}

static int name_cmp(const void *key, const void *e)
{
    return strcmp(key, ((const sc_entry *)e)->name);
}

static bool ascii(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/* What the destination name of a file in f is known to be without a
 * lookup: absent in a directory this run made; else, from the listing, the
 * entry of that name, or absent when no entry has the name in any case (an
 * ASCII name: other names may fold differently on the server); NULL: a
 * lookup must tell. */
static const sc_finfo *known_copy(const dir_frame *f, const char *name, const sc_finfo *absent)
{
    if (f->made)
        return absent;
    if (!f->dlisted)
        return NULL;
    const sc_entry *hit = bsearch(name, f->dv, f->dn, sizeof(sc_entry), name_cmp);
    if (hit != NULL) /* an entry whose shown name is not its own: a lookup tells */
        return hit->has_fi && !hit->name_invalid ? &hit->fi : NULL;
    if (!ascii(name))
        return NULL;
    for (size_t i = 0; i < f->dn; i++)
        if (strcasecmp(f->dv[i].name, name) == 0)
            return NULL;
    return absent;
}

/* What this run has done that may change a directory on the destination:
 * files copied or failed (a failed copy may have made and removed a
 * temporary name), directories made. */
static uint64_t sc_changes(const sc_ctx *ctx, uint64_t made_dirs)
{
    return ctx->files + ctx->failed + made_dirs;
}

/* Makes the copy of directory spath and lists it into f (taking the paths);
 * e is its entry in the source's listing (NULL for the root); known the
 * copy as the destination's listing of the parent gave it (NULL: not
 * known): a directory there is not made or looked up again.
 * Returns 0 or the reported exit code (the paths are freed then). */
static int dir_enter(sc_ctx *ctx, sc_prefetch *pf, const sc_loc *src, char *spath,
                     const sc_loc *dst, char *dpath, const sc_entry *e, const sc_finfo *known,
                     dir_frame *f)
{
    memset(f, 0, sizeof(*f));
    int rc = 0;
    if (known != NULL && known->exists && known->is_dir) {
        f->have_listed = true;
        f->listed = *known;
    } else if (!ctx->o->dry_run) {
        rc = make_dir(ctx, dst, dpath, &f->made);
    }
    if (rc == 0 && e != NULL && src->remote && e->has_fi) {
        f->have_src = true;
        f->src_fi = e->fi;
        f->src_fi.exists = true;
    }
    if (rc == 0 && e != NULL) {
        f->dev = e->dev; /* from the listing */
        f->ino = e->ino;
    } else if (rc == 0 && !src->remote) { /* only a local tree can loop (links) */
        struct stat st;
        if (stat(spath, &st) != 0) {
            rc = sc_fail_local(ctx, errno, "open directory", spath);
        } else {
            f->dev = st.st_dev;
            f->ino = st.st_ino;
        }
    }
    if (rc == 0)
        rc = list_dir(ctx, pf, src, spath, &f->v, &f->n);
    if (rc != 0) {
        free(spath);
        free(dpath);
        return rc;
    }
    list_copies(ctx, pf, dst, dpath, f);
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
static bool leads_back(sc_ctx *ctx, const char *spath, const sc_entry *e, const dir_frame *stack,
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
    return r == SC_EXIT_INTR || r == SC_EXIT_AUTH || !sc_ops(src)->alive(src) ||
           !sc_ops(dst)->alive(dst);
}

/* A directory whose times wait for its files still in flight in the batch
 * (every file taken before mark): they are set once those are finished, and
 * meanwhile the walk goes on, so small files of many directories are in
 * flight together. */
typedef struct dir_later {
    char *spath, *dpath;
    bool have_src;
    sc_finfo src_fi;
    bool have_listed;
    sc_finfo listed;
    uint64_t changes; /* sc_changes on entry */
    uint64_t mark;    /* sc_batch_mark when it was left */
} dir_later;

/* A walk of one tree: an explicit stack of the directories being copied
 * (on the heap), so any depth is copied. */
typedef struct walk {
    sc_ctx *ctx;
    sc_batch *batch; /* small files in flight (NULL: one by one) */
    const sc_loc *src, *dst;
    sc_prefetch *pf;  /* listings ahead (NULL: none) */
    const char *root; /* the tree's source path (--exclude matches below it) */
    dir_frame *stack;
    size_t sp, cap;
    uint64_t made_dirs; /* directories this run made (sc_changes) */
    dir_later *later;   /* directories left, times not set yet, in the order left */
    size_t nlater, later_head, later_cap;
} walk;

/* Sets the times of the directory d left earlier. When nothing was written
 * into the copy since it was entered (the run's count of changes has not
 * moved, and it was listed), they are left as they are if they match. */
static void later_apply(walk *w, dir_later *d)
{
    bool untouched = d->have_listed && sc_changes(w->ctx, w->made_dirs) == d->changes;
    copy_dir_times(w->src, d->spath, d->have_src ? &d->src_fi : NULL, w->dst, d->dpath,
                   untouched ? &d->listed : NULL);
    free(d->spath);
    free(d->dpath);
    d->spath = d->dpath = NULL;
}

/* Sets the times of the directories left whose files are finished, in the
 * order they were left (all: every one, the batch being drained). */
static void later_run(walk *w, bool all)
{
    while (w->later_head < w->nlater &&
           (all || sc_batch_done_to(w->batch, w->later[w->later_head].mark)))
        later_apply(w, &w->later[w->later_head++]);
    if (w->later_head == w->nlater)
        w->later_head = w->nlater = 0;
}

/* Drops the directories whose times were not set yet (the run stops). */
static void later_drop(walk *w)
{
    for (size_t i = w->later_head; i < w->nlater; i++) {
        free(w->later[i].spath);
        free(w->later[i].dpath);
    }
    free(w->later);
    w->later = NULL;
    w->nlater = w->later_head = w->later_cap = 0;
}

/* The times of the directory f, left with files of it maybe still in
 * flight: queued, or (out of memory) set once every file is finished. Its
 * paths are taken from f either way. */
static void later_add(walk *w, dir_frame *f)
{
    dir_later d = {.spath = f->spath,
                   .dpath = f->dpath,
                   .have_src = f->have_src,
                   .src_fi = f->src_fi,
                   .have_listed = f->have_listed,
                   .listed = f->listed,
                   .changes = f->changes,
                   .mark = sc_batch_mark(w->batch)};
    f->spath = f->dpath = NULL; /* taken */
    if (w->nlater == w->later_cap) {
        size_t ncap = w->later_cap ? w->later_cap * 2 : 16;
        dir_later *nv = realloc(w->later, ncap * sizeof(*nv));
        if (nv == NULL) {
            sc_batch_drain(w->batch);
            later_run(w, true);
            later_apply(w, &d);
            return;
        }
        w->later = nv;
        w->later_cap = ncap;
    }
    w->later[w->nlater++] = d;
}

/* Done with the directory on top: its times, then back to the parent
 * (which learns of a failure below it). Returns true when that was the
 * root (*result: the walk's result). */
static bool dir_leave(walk *w, int *result)
{
    dir_frame *f = &w->stack[w->sp - 1];
    /* A failure of a file in flight that ends the run */
    int br = sc_batch_poll(w->batch);
    if (br != 0 && f->rc == 0)
        f->rc = br;
    sc_free_entries(f->v, f->n);
    sc_free_entries(f->dv, f->dn);
    if (f->rc == 0 && w->ctx->o->preserve && !w->ctx->o->dry_run) {
        /* Its times once its files are finished (a new name changes them),
         * without waiting for them here. */
        later_add(w, f);
        later_run(w, false);
    }
    int r = f->rc;
    free(f->spath);
    free(f->dpath);
    w->sp--;
    if (w->sp == 0) {
        *result = r;
        return true;
    }
    dir_frame *p = &w->stack[w->sp - 1];
    if (run_ends(r, w->src, w->dst)) {
        p->stop = true;
        p->rc = r != 0 ? r : SC_EXIT_NET;
    } else if (r != 0 && p->rc == 0) {
        p->rc = r;
    }
    return false;
}

/* Whether name is one smbcopy writes while a copy is unfinished: the
 * temporary file .NAME.smbcopy.part or the resume record .NAME.smbcopy.state
 * (of an interrupted run, or of a run still going on). */
static bool unfinished_copy(const char *name)
{
    size_t n = strlen(name), p = strlen(SC_PART_SUFFIX), s = strlen(SC_STATE_SUFFIX);
    return name[0] == '.' && ((n > p + 1 && strcmp(name + n - p, SC_PART_SUFFIX) == 0) ||
                              (n > s + 1 && strcmp(name + n - s, SC_STATE_SUFFIX) == 0));
}

/* Entries left out on purpose: --exclude, an unfinished copy's files,
 * symbolic links not followed, links back up the tree. Returns true when e
 * (at source path sc) is one. */
static bool left_out(walk *w, const sc_entry *e, const char *sc)
{
    sc_ctx *ctx = w->ctx;
    if (excluded(ctx->o, rel_path(w->root, sc), e->name)) {
        ctx->skipped++;
        return true;
    }
    if (!e->is_dir && unfinished_copy(e->name)) {
        char *d = sc_loc_display(w->src, sc), *p = d != NULL ? sc_printable(d) : NULL;
        sc_warn(ctx,
                "skipping %s: an unfinished copy of smbcopy's (its temporary file or resume "
                "record), not a file of the tree",
                p != NULL ? p : sc);
        free(p);
        free(d);
        ctx->skipped++;
        return true;
    }
    if (e->is_link && (ctx->o->no_follow || e->link_err != 0)) {
        if (ctx->o->no_follow) {
            sc_warn(ctx, "skipping symbolic link %s (--no-follow)", sc);
            ctx->skipped++;
        } else {
            fail_link(ctx, sc, e->link_err);
        }
        return true;
    }
    return e->is_dir && !w->src->remote && leads_back(ctx, sc, e, w->stack, w->sp);
}

/* sc_name_ok for an entry of a listing, whose name may also be one no
 * request can name (a share's name that is not valid UTF-16). */
static bool entry_name_ok(const sc_entry *e, bool to_remote, char *why, size_t whylen)
{
    if (e->name_invalid) {
        snprintf(why, whylen,
                 "its name on the server is not valid UTF-16 (shown with U+FFFD), so no request "
                 "can name it");
        return false;
    }
    return sc_name_ok(e->name, to_remote, why, whylen);
}

/* Room on the stack for one more directory. */
static bool stack_room(walk *w)
{
    if (w->sp < w->cap)
        return true;
    dir_frame *ns = realloc(w->stack, w->cap * 2 * sizeof(*w->stack));
    if (ns == NULL)
        return false;
    w->stack = ns;
    w->cap *= 2;
    return true;
}

/* Asks for the listings the walk will need in the directories below f
 * (entered next, depth first): of the source's, when it is a share, and of
 * the copies' where they exist on a share. */
static void list_ahead(walk *w, const dir_frame *f)
{
    if (w->pf == NULL)
        return;
    const sc_loc *src = w->src, *dst = w->dst;
    bool copies = !f->made && f->dlisted && dst->remote;
    if (!src->remote && !copies)
        return;
    char why[128];
    /* The first entered is asked last (sent first). */
    for (size_t i = f->n; i-- > 0;) {
        const sc_entry *e = &f->v[i];
        if (!e->is_dir || (e->is_link && (w->ctx->o->no_follow || e->link_err != 0)) ||
            !entry_name_ok(e, dst->remote && !src->remote, why, sizeof(why)))
            continue;
        char *sc = sc_path_join(f->spath, e->name, src->remote);
        char *dc = sc_path_join(f->dpath, e->name, dst->remote);
        if (sc != NULL && dc != NULL && !excluded(w->ctx->o, rel_path(w->root, sc), e->name)) {
            const sc_finfo absent = {.exists = false};
            const sc_finfo *known = copies ? known_copy(f, e->name, &absent) : NULL;
            if (known != NULL && known->exists && known->is_dir)
                sc_prefetch_want(w->pf, dst, dc);
            if (src->remote)
                sc_prefetch_want(w->pf, src, sc);
        }
        free(sc);
        free(dc);
    }
    sc_prefetch_pump(w->pf);
}

/* The copy dc as known (listed, or absent) or else looked up, into *d;
 * false when the lookup failed. A copy on a share looked up is kept in
 * *store and *known then points there, so that the rest of the way
 * (sc_copy_file) does not ask again. */
static bool copy_as_known(walk *w, const char *dc, const sc_finfo **known, sc_finfo *store,
                          sc_finfo *d)
{
    sc_err err;
    if (*known != NULL) {
        *d = **known;
        return true;
    }
    if (sc_ops(w->dst)->stat(w->dst, dc, d, &err) != 0)
        return false;
    if (w->dst->remote) {
        *store = *d;
        *known = store;
    }
    return true;
}

/* -u, --resume: whether the copy dc of the file e is up to date, told from
 * the source's listing (a share's: size and times) and the destination as
 * known (listed, or absent) or looked up (see copy_as_known), without
 * opening the source (a round trip per file on a share). False when the
 * listing does not tell: sc_copy_file then looks. */
static bool up_to_date(walk *w, const sc_entry *e, const char *dc, const sc_finfo **known,
                       sc_finfo *store)
{
    const sc_opts *o = w->ctx->o;
    sc_finfo d;
    if (!e->has_fi || (*known != NULL && !(*known)->exists))
        return false;
    if (!((o->resume && o->preserve) || o->update) || !copy_as_known(w, dc, known, store, &d))
        return false;
    return sc_up_to_date(o, &e->fi, e->fi.size, &d);
}

/* --dry-run: a file of a share's listing whose copy does not exist is
 * listed as one the run would copy without opening it (a round trip per
 * file). False (sc_copy_file then looks) for a copy that exists (the run
 * could refuse it, skip it, find it the same file), or when the listing does
 * not tell. */
static bool dry_run_listed(walk *w, const sc_entry *e, const char *sc, const char *dc,
                           const sc_finfo **known, sc_finfo *store)
{
    sc_ctx *ctx = w->ctx;
    sc_finfo d;
    if (!ctx->o->dry_run || !e->has_fi || !copy_as_known(w, dc, known, store, &d) || d.exists)
        return false;
    char *sd = sc_loc_display(w->src, sc), *dd = sc_loc_display(w->dst, dc);
    if (sd == NULL || dd == NULL) {
        free(sd);
        free(dd);
        return false;
    }
    fprintf(ctx->o->json ? stderr : stdout, "%s -> %s\n", sd, dd);
    free(sd);
    free(dd);
    ctx->files++;
    ctx->bytes += e->fi.size;
    return true;
}

/* The next entry of the directory on top: entered (a directory), copied (a
 * file), or skipped; a failure is reported and counted. */
static void walk_entry(walk *w)
{
    sc_ctx *ctx = w->ctx;
    const sc_loc *src = w->src, *dst = w->dst;
    dir_frame *f = &w->stack[w->sp - 1];
    sc_entry *e = &f->v[f->i++];
    char why[128];
    if (!entry_name_ok(e, dst->remote && !src->remote, why, sizeof(why))) {
        /* Never written under another name: reported, counted as failed. */
        char *sc = sc_path_join(f->spath, e->name, src->remote);
        if (sc == NULL)
            sc_fail_nomem(ctx);
        else
            sc_fail_name(ctx, src, sc, SC_EXIT_PARTIAL, why);
        free(sc);
        ctx->failed++;
        return;
    }
    char *sc = sc_path_join(f->spath, e->name, src->remote);
    char *dc = sc_path_join(f->dpath, e->name, dst->remote);
    int r = 0;
    if ((sc != NULL && left_out(w, e, sc)) ||
        (sc != NULL && dc != NULL && (e->is_dir || e->is_reg) &&
         name_collides(ctx, w->batch, src, sc, dst, dc))) {
        free(sc);
        free(dc);
        return;
    }
    if (sc == NULL || dc == NULL) {
        r = sc_fail_nomem(ctx);
    } else if (e->is_dir) {
        if (!stack_room(w)) {
            free(sc);
            free(dc);
            f->rc = sc_fail_nomem(ctx);
            f->stop = true;
            return;
        }
        f = &w->stack[w->sp - 1]; /* the stack may have moved */
        const sc_finfo absent = {.exists = false};
        const sc_finfo *known = known_copy(f, e->name, &absent);
        dir_frame *nf = &w->stack[w->sp];
        r = dir_enter(ctx, w->pf, src, sc, dst, dc, e, known, nf);
        sc = dc = NULL; /* taken (or freed) by dir_enter */
        if (r == 0) {
            if (nf->made)
                w->made_dirs++;
            nf->changes = sc_changes(ctx, w->made_dirs);
            w->sp++;
            list_ahead(w, nf);
            return;
        }
        ctx->failed++;
    } else if (e->is_reg) {
        const sc_finfo absent = {.exists = false};
        const sc_finfo *known = known_copy(f, e->name, &absent);
        sc_finfo looked;
        bool taken = false;
        if (up_to_date(w, e, dc, &known, &looked)) {
            ctx->skipped++;
            taken = true;
        } else if (dry_run_listed(w, e, sc, dc, &known, &looked)) {
            taken = true;
        } else if (w->batch != NULL) {
            /* Taken by the batch of small files: a copy that is not there;
             * locally, in a directory this run did not make, nothing or a
             * plain file there (the batch's rename replaces it as the usual
             * way's would); on a share, a plain file the listing shows
             * (not read-only: the usual way clears that only with -f),
             * replaced by a rename of the batch's temporary file; not with
             * -u or --resume, whose checks of a local source are the usual
             * way's. */
            const sc_opts *o = ctx->o;
            bool replace = known != NULL && known->exists && known->is_reg &&
                           !(known->attrs & SMBW_FILE_ATTRIBUTE_READONLY) && dst->remote &&
                           !o->update && !o->resume;
            if (known == &absent || replace ||
                (known == NULL && sc_ops(dst)->replaceable != NULL &&
                 sc_ops(dst)->replaceable(dst, dc)))
                r = sc_batch_add(w->batch, sc, dc, e->has_fi ? &e->fi : NULL, replace, &taken);
        }
        if (!taken && r == 0) {
            r = sc_copy_file(ctx, src, sc, dst, dc, known);
            if (r != 0)
                ctx->failed++;
        }
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

/* See walk.h. */
int sc_copy_dir(sc_ctx *ctx, const sc_loc *src, const char *spath, const sc_loc *dst,
                const char *dpath)
{
    walk w = {.ctx = ctx, .src = src, .dst = dst, .root = spath, .cap = 16};
    char *s0 = strdup(spath), *d0 = strdup(dpath);
    w.stack = malloc(w.cap * sizeof(*w.stack));
    if (s0 == NULL || d0 == NULL || w.stack == NULL) {
        free(s0);
        free(d0);
        free(w.stack);
        return sc_fail_nomem(ctx);
    }
    w.pf = sc_prefetch_new();
    int result = dir_enter(ctx, w.pf, src, s0, dst, d0, NULL, NULL, &w.stack[0]);
    if (result != 0) {
        sc_prefetch_free(w.pf);
        free(w.stack);
        return result;
    }
    w.sp = 1;
    list_ahead(&w, &w.stack[0]);
    if (sc_batch_applies(ctx, src, dst))
        w.batch = sc_batch_new(ctx, src, dst);
    while (w.sp > 0) {
        dir_frame *f = &w.stack[w.sp - 1];
        if (f->stop || f->i == f->n) {
            if (dir_leave(&w, &result))
                break;
            continue;
        }
        if (sc_interrupted) {
            f->rc = SC_EXIT_INTR;
            f->stop = true;
            sc_report(ctx, SC_EXIT_INTR, "interrupted");
            continue;
        }
        walk_entry(&w);
    }
    int br = sc_batch_drain(w.batch);
    /* The directories left with files in flight: their times now, unless
     * the run was stopped (interrupted, connection lost). */
    if (br == 0 && !sc_interrupted)
        later_run(&w, true);
    later_drop(&w);
    sc_ops(dst)->settle(dst); /* the directories' times sent without waiting */
    sc_batch_free(w.batch);
    sc_prefetch_free(w.pf);
    free(w.stack);
    return result != 0 ? result : br;
}
