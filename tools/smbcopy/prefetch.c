/* Listings ahead of the walk: see prefetch.h. */
#include <stdlib.h>
#include <string.h>

#include "prefetch.h"
#include "smbcopy.h"

typedef enum { PF_ASKED, PF_FLIGHT, PF_DONE, PF_FAILED } pf_state;

typedef struct pf_item {
    struct sc_prefetch *p; /* NULL once p is freed: the answer is dropped */
    const sc_loc *loc;
    char *path;
    pf_state state;
    smbw_dirent *ents; /* PF_DONE: the library's listing */
    size_t n;
} pf_item;

struct sc_prefetch {
    pf_item **v; /* asked, in flight or answered; the latest asked last */
    size_t n, cap;
    int flight;
};

sc_prefetch *sc_prefetch_new(void)
{
    return calloc(1, sizeof(sc_prefetch));
}

static void item_free(pf_item *it)
{
    free(it->ents);
    free(it->path);
    free(it);
}

void sc_prefetch_free(sc_prefetch *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        if (p->v[i]->state == PF_FLIGHT)
            p->v[i]->p = NULL; /* its callback frees it */
        else
            item_free(p->v[i]);
    }
    free(p->v);
    free(p);
}

static void listed(void *ud, int err, uint32_t status, smbw_dirent *ents, size_t n)
{
    (void)status;
    pf_item *it = ud;
    if (it->p == NULL) {
        free(ents);
        item_free(it);
        return;
    }
    it->p->flight--;
    it->state = err == 0 ? PF_DONE : PF_FAILED;
    it->ents = ents;
    it->n = n;
}

void sc_prefetch_pump(sc_prefetch *p)
{
    if (p == NULL)
        return;
    /* The latest asked first: from the end. */
    for (size_t i = p->n; i-- > 0 && p->flight < SC_PREFETCH_FLIGHT;) {
        pf_item *it = p->v[i];
        if (it->state != PF_ASKED)
            continue;
        if (smbw_conn_is_dead(it->loc->srv->conn) ||
            smbw_dir_list_async(it->loc->tree, it->path, listed, it) != 0) {
            it->state = PF_FAILED;
            continue;
        }
        it->state = PF_FLIGHT;
        p->flight++;
    }
}

void sc_prefetch_want(sc_prefetch *p, const sc_loc *loc, const char *path)
{
    if (p == NULL || !loc->remote || p->n >= SC_PREFETCH_KEPT)
        return;
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 64;
        pf_item **nv = realloc(p->v, ncap * sizeof(*nv));
        if (nv == NULL)
            return;
        p->v = nv;
        p->cap = ncap;
    }
    pf_item *it = calloc(1, sizeof(*it));
    if (it == NULL || (it->path = strdup(path)) == NULL) {
        free(it);
        return;
    }
    it->p = p;
    it->loc = loc;
    it->state = PF_ASKED;
    p->v[p->n++] = it;
}

bool sc_prefetch_take(sc_prefetch *p, const sc_loc *loc, const char *path, sc_entry **v, size_t *n)
{
    if (p == NULL || !loc->remote)
        return false;
    size_t i = p->n;
    while (i-- > 0)
        if (p->v[i]->loc == loc && strcmp(p->v[i]->path, path) == 0)
            break;
    if (i == SIZE_MAX)
        return false;
    pf_item *it = p->v[i];
    smbw_conn *c = loc->srv->conn;
    if (it->state == PF_ASKED) {
        /* Not sent yet: the caller's own listing is as quick. */
        it->state = PF_FAILED;
    }
    while (it->state == PF_FLIGHT && !sc_interrupted) {
        /* A dead connection has completed its requests (the callback ran). */
        if (smbw_conn_wait(&c, 1, 1000, NULL) != 0 && smbw_conn_is_dead(c) &&
            it->state == PF_FLIGHT)
            break;
    }
    bool ok = false;
    if (it->state == PF_DONE) {
        sc_err e;
        ok = sc_entries_from_smb(it->ents, it->n, v, n, &e) == 0;
    }
    if (it->state == PF_FLIGHT) {
        it->p = NULL; /* interrupted: its callback frees it, uncounted */
        p->flight--;
    } else {
        item_free(it);
    }
    memmove(&p->v[i], &p->v[i + 1], (p->n - i - 1) * sizeof(*p->v));
    p->n--;
    sc_prefetch_pump(p);
    return ok;
}
