/* Lanes opened for the caller of a multi-connection server-side copy
 * (smbw_copy_lanes_open). See include/smbwire/copy.h for the contract. */
#include "smbwire/copy.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../api/api.h"

/* A further connection of its own: connection, session, the trees of the
 * source's and the destination's shares (one when they are the same). */
typedef struct lane_own {
    smbw_conn *c;
    smbw_session *s;
    smbw_tree *st, *dt;
} lane_own;

struct smbw_copy_lanes {
    int n;
    smbw_copy_lane lane[SMBW_COPY_MAX_LANES];
    lane_own own[SMBW_COPY_MAX_LANES]; /* own[0] is the caller's: empty */
};

static void own_free(smbw_copy_lane *l, lane_own *o)
{
    if (l->dst)
        (void)smbw_file_free(l->dst);
    if (l->src)
        (void)smbw_file_free(l->src);
    if (o->dt && o->dt != o->st)
        (void)smbw_tree_free(o->dt);
    if (o->st)
        (void)smbw_tree_free(o->st);
    if (o->s)
        smbw_session_free(o->s);
    if (o->c)
        smbw_conn_free(o->c);
    memset(l, 0, sizeof *l);
    memset(o, 0, sizeof *o);
}

/* A new connection with the settings of like: those of a DFS target's
 * (api_conn_like), and the interrupt check, signing algorithms, log and the
 * whole reconnect policy. */
static int conn_like(smbw_conn **out, const smbw_conn *like)
{
    smbw_conn *c = NULL;
    int rc = api_conn_like(&c, like);
    if (rc)
        return rc;
    c->intr_check = like->intr_check;
    c->intr_ud = like->intr_ud;
    c->intr_grace_ms = like->intr_grace_ms;
    memcpy(c->sign_algs, like->sign_algs, sizeof c->sign_algs);
    c->nsign_alg = like->nsign_alg;
    c->log_level = like->log_level;
    c->log_fn = like->log_fn;
    c->log_ud = like->log_ud;
    smbw_reconnect_opts ro = SMBW_RECONNECT_OPTS_INIT;
    ro.retries = like->re_retries;
    ro.wait_ms = like->re_wait_ms;
    ro.password = like->re_password;
    ro.password_ud = like->re_password_ud;
    ro.notify = like->re_notify;
    ro.notify_ud = like->re_notify_ud;
    ro.durable = like->re_durable;
    ro.replay = like->re_replay;
    ro.durable_shared = like->re_durable_shared;
    rc = smbw_conn_set_reconnect(c, &ro);
    if (rc) {
        smbw_conn_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Lane i: its connection, login, trees and opens. */
static int lane_open(smbw_copy_lanes *ls, int i, smbw_file *src, smbw_file *dst,
                     const smbw_creds *creds, bool copychunk_read)
{
    smbw_conn *like = src->tree->sess->conn;
    lane_own *o = &ls->own[i];
    smbw_copy_lane *l = &ls->lane[i];
    int rc = conn_like(&o->c, like);
    if (!rc)
        rc = smbw_conn_connect(o->c, like->host, like->port);
    if (!rc)
        rc = smbw_session_new(&o->s, o->c, creds);
    if (!rc)
        rc = smbw_tree_connect(&o->st, o->s, src->tree->share);
    if (!rc && strcasecmp(src->tree->share, dst->tree->share) != 0)
        rc = smbw_tree_connect(&o->dt, o->s, dst->tree->share);
    else if (!rc)
        o->dt = o->st;
    if (!rc)
        rc = smbw_file_open(&l->src, o->st, src->re_path, SMBW_O_RDONLY);
    if (!rc)
        rc = smbw_file_open(&l->dst, o->dt, dst->re_path,
                            copychunk_read ? SMBW_O_RDWR : SMBW_O_WRONLY);
    if (rc && o->c) /* the reason, on the caller's connection */
        core_set_error(like, rc, smbw_last_status(o->c), "lane %d of %d: %s", i + 1, ls->n,
                       smbw_conn_errmsg(o->c));
    return rc;
}

int smbw_copy_lanes_open(smbw_copy_lanes **out, smbw_file *src, smbw_file *dst, int nlanes,
                         const smbw_creds *creds, bool copychunk_read)
{
    if (!out)
        return SMBW_EINVAL;
    *out = NULL;
    if (!src || !dst || !creds || nlanes < 1 || nlanes > SMBW_COPY_MAX_LANES)
        return SMBW_EINVAL;
    if (!src->tree || !dst->tree || !src->tree->sess || !dst->tree->sess)
        return SMBW_EDEAD;
    smbw_conn *c = src->tree->sess->conn;
    if (!c || c != dst->tree->sess->conn || !c->host)
        return SMBW_EINVAL;
    if (!src->re_path || !dst->re_path || !src->tree->share || !dst->tree->share)
        return core_set_error(c, SMBW_EINVAL, 0,
                              "copy lanes: the files were not opened by path on a share");
    smbw_copy_lanes *ls = calloc(1, sizeof *ls);
    if (!ls)
        return SMBW_ENOMEM;
    ls->n = nlanes;
    ls->lane[0].src = src;
    ls->lane[0].dst = dst;
    for (int i = 1; i < nlanes; i++) {
        int rc = lane_open(ls, i, src, dst, creds, copychunk_read);
        if (rc) {
            for (int j = 1; j <= i; j++)
                own_free(&ls->lane[j], &ls->own[j]);
            free(ls);
            return rc;
        }
    }
    *out = ls;
    return 0;
}

int smbw_copy_lanes_count(const smbw_copy_lanes *ls)
{
    return ls ? ls->n : 0;
}

const smbw_copy_lane *smbw_copy_lanes_get(const smbw_copy_lanes *ls)
{
    return ls ? ls->lane : NULL;
}

void smbw_copy_lanes_free(smbw_copy_lanes *ls)
{
    if (!ls)
        return;
    for (int i = 1; i < ls->n; i++)
        own_free(&ls->lane[i], &ls->own[i]);
    free(ls);
}
