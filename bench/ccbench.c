/* Server-side copy benchmark on smbwire's public copy API.
 *
 *   ccbench [OPTIONS] SRC DST      (paths on the share; password in SMB_PASSWORD)
 *
 *   -H HOST -P PORT -U USER -S SHARE   server (defaults: SMBW_TEST_* environment)
 *   -d LIST    pipeline depths, comma separated (default 4)
 *   -c LIST    request shapes N or N:CHUNKBYTES, comma separated: chunks per
 *              request and bytes per chunk (default 0 = the library's default)
 *   -j N       split the copy across N connections (each its own session, tree
 *              and opens, one thread each, disjoint ranges); default 1
 *   -R         use smbw_copy_range (open, size, copy, close) even with -j 1;
 *              otherwise -j 1 uses smbw_copy_file
 *   -r N       rounds (default 5); every round runs every configuration
 *   -s         sync() after deleting the destination, before each timed copy
 *
 * For each copy it prints one line:
 *   conns=1 api=file depth=4 cpr=16 chunk=1048576 round=1 seconds=0.512 requests=65 ...
 * The destination of the last copy is left in place for checking.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <smbwire/copy.h>
#include <smbwire/smbwire.h>

#include "benchutil.h"

#define MAX_CONNS 8
#define MAX_LIST 16

typedef struct shape {
    uint32_t cpr;
    uint32_t chunk;
} shape;

typedef struct bconn {
    smbw_conn *c;
    smbw_session *s;
    smbw_tree *t;
} bconn;

typedef struct job {
    bconn *bc;
    const char *src, *dst;
    uint64_t off, len;
    smbw_copy_opts opts;
    smbw_copy_stats stats;
    int err;
    const char *what;
} job;

static void bconn_open(bconn *b)
{
    int err = smbw_conn_new(&b->c);
    if (err)
        die("smbw_conn_new", err, NULL);
    smbw_conn_set_timeout(b->c, 120000);
    err = smbw_conn_connect(b->c, host, (uint16_t)atoi(port_s));
    if (err)
        die("connect", err, b->c);
    smbw_creds cr = {
        .size = sizeof(smbw_creds), .kind = SMBW_AUTH_NTLM, .user = user, .password = pass};
    err = smbw_session_new(&b->s, b->c, &cr);
    if (err)
        die("session setup", err, b->c);
    err = smbw_tree_connect(&b->t, b->s, share);
    if (err)
        die("tree connect", err, b->c);
}

static void bconn_close(bconn *b)
{
    smbw_tree_free(b->t);
    smbw_session_free(b->s);
    smbw_conn_free(b->c);
}

static int parse_list(const char *arg, int *out, int max)
{
    int n = 0;
    char *copy = strdup(arg);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL && n < max;
         tok = strtok_r(NULL, ",", &save))
        out[n++] = atoi(tok);
    free(copy);
    return n;
}

static int parse_shapes(const char *arg, shape *out, int max)
{
    int n = 0;
    char *copy = strdup(arg);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL && n < max;
         tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        out[n].cpr = (uint32_t)strtoul(tok, NULL, 10);
        out[n].chunk = colon != NULL ? (uint32_t)strtoul(colon + 1, NULL, 10) : 0;
        n++;
    }
    free(copy);
    return n;
}

/* One connection's share of a range copy: open both files, copy, close. */
static void *run_range(void *arg)
{
    job *j = arg;
    smbw_file *sf = NULL, *df = NULL;
    j->err = smbw_file_open(&sf, j->bc->t, j->src, SMBW_O_RDONLY);
    j->what = "open source";
    if (j->err == 0) {
        j->err = smbw_file_open(&df, j->bc->t, j->dst, SMBW_O_WRONLY);
        j->what = "open destination";
    }
    if (j->err == 0) {
        j->err = smbw_copy_range(sf, df, j->off, j->off, j->len, &j->opts, &j->stats);
        j->what = "smbw_copy_range";
    }
    int e1 = df != NULL ? smbw_file_free(df) : 0;
    int e2 = sf != NULL ? smbw_file_free(sf) : 0;
    if (j->err == 0 && (e1 != 0 || e2 != 0)) {
        j->err = e1 != 0 ? e1 : e2;
        j->what = "close";
    }
    return NULL;
}

int main(int argc, char **argv)
{
    bench_prog = "ccbench";
    bench_server_defaults();
    int depths[MAX_LIST] = {4}, ndepths = 1;
    shape shapes[MAX_LIST] = {{0, 0}};
    int nshapes = 1, nconns = 1, rounds = 5;
    int use_range = 0, do_sync = 0, opt;
    while ((opt = getopt(argc, argv, "H:P:U:S:d:c:j:Rr:s")) != -1) {
        if (bench_server_opt(opt, optarg))
            continue;
        switch (opt) {
        case 'd':
            ndepths = parse_list(optarg, depths, MAX_LIST);
            break;
        case 'c':
            nshapes = parse_shapes(optarg, shapes, MAX_LIST);
            break;
        case 'j':
            nconns = atoi(optarg);
            break;
        case 'R':
            use_range = 1;
            break;
        case 'r':
            rounds = atoi(optarg);
            break;
        case 's':
            do_sync = 1;
            break;
        default:
            fprintf(stderr,
                    "usage: %s [-H host -P port -U user -S share] [-d depths] "
                    "[-c shapes] [-j conns] [-R] [-r rounds] [-s] SRC DST\n",
                    argv[0]);
            return 2;
        }
    }
    if (argc - optind != 2 || ndepths < 1 || nshapes < 1 || nconns < 1 || nconns > MAX_CONNS ||
        rounds < 1) {
        fprintf(stderr, "ccbench: bad arguments (see the comment at the top of ccbench.c)\n");
        return 2;
    }
    const char *src = argv[optind], *dst = argv[optind + 1];
    if (nconns > 1)
        use_range = 1;

    bconn conns[MAX_CONNS];
    for (int i = 0; i < nconns; i++)
        bconn_open(&conns[i]);
    printf("# dialect=%s signing=%s cipher=%s max_transact=%u\n",
           smbw_dialect_name(smbw_conn_dialect(conns[0].c)), smbw_session_signing_alg(conns[0].s),
           smbw_session_cipher(conns[0].s), smbw_conn_max_transact(conns[0].c));
    smbw_stat sst;
    int err = smbw_stat_path(conns[0].t, src, &sst);
    if (err)
        die("stat source", err, conns[0].c);

    for (int r = 1; r <= rounds; r++) {
        for (int di = 0; di < ndepths; di++) {
            for (int si = 0; si < nshapes; si++) {
                smbw_copy_opts o = SMBW_COPY_OPTS_INIT;
                o.method = SMBW_COPY_COPYCHUNK;
                o.depth = depths[di];
                o.chunks_per_request = shapes[si].cpr;
                o.chunk_size = shapes[si].chunk;
                o.no_preserve = true;
                err = smbw_unlink(conns[0].t, dst);
                if (err && smbw_last_status(conns[0].c) != SMBW_STATUS_OBJECT_NAME_NOT_FOUND)
                    die("delete destination", err, conns[0].c);
                if (do_sync)
                    sync();
                job jobs[MAX_CONNS];
                memset(jobs, 0, sizeof(jobs));
                double t0 = now();
                if (!use_range) {
                    jobs[0].err =
                        smbw_copy_file(conns[0].t, src, conns[0].t, dst, &o, &jobs[0].stats);
                    jobs[0].what = "smbw_copy_file";
                    jobs[0].bc = &conns[0];
                } else {
                    /* Create and size the destination, then copy disjoint
                     * parts, one connection (and thread) each. */
                    smbw_file *df = NULL;
                    err = smbw_file_open(&df, conns[0].t, dst,
                                         SMBW_O_WRONLY | SMBW_O_CREAT | SMBW_O_TRUNC);
                    if (err)
                        die("create destination", err, conns[0].c);
                    err = smbw_file_truncate(df, sst.size);
                    if (err)
                        die("size destination", err, conns[0].c);
                    err = smbw_file_free(df);
                    if (err)
                        die("close destination", err, conns[0].c);
                    /* Parts are 1 MiB multiples so chunks stay whole. */
                    uint64_t part = sst.size / (uint64_t)nconns;
                    part -= part % (1u << 20);
                    pthread_t th[MAX_CONNS];
                    for (int i = 0; i < nconns; i++) {
                        jobs[i].bc = &conns[i];
                        jobs[i].src = src;
                        jobs[i].dst = dst;
                        jobs[i].off = part * (uint64_t)i;
                        jobs[i].len = i == nconns - 1 ? sst.size - jobs[i].off : part;
                        jobs[i].opts = o;
                        if (nconns == 1)
                            run_range(&jobs[i]);
                        else if (pthread_create(&th[i], NULL, run_range, &jobs[i]) != 0)
                            die("pthread_create", SMBW_ENOMEM, NULL);
                    }
                    if (nconns > 1)
                        for (int i = 0; i < nconns; i++)
                            pthread_join(th[i], NULL);
                }
                double t1 = now();
                uint64_t bytes = 0, requests = 0, retries = 0, wire = 0;
                for (int i = 0; i < nconns; i++) {
                    if (jobs[i].err)
                        die(jobs[i].what, jobs[i].err, jobs[i].bc->c);
                    bytes += jobs[i].stats.bytes;
                    requests += jobs[i].stats.requests;
                    retries += jobs[i].stats.retries;
                    wire += jobs[i].stats.wire_bytes;
                }
                printf("conns=%d api=%s depth=%d cpr=%u chunk=%u round=%d seconds=%.3f "
                       "bytes=%llu requests=%llu retries=%llu wire_bytes=%llu method=%s "
                       "final_cpr=%u final_chunk=%u\n",
                       nconns, use_range ? "range" : "file", o.depth, o.chunks_per_request,
                       o.chunk_size, r, t1 - t0, (unsigned long long)bytes,
                       (unsigned long long)requests, (unsigned long long)retries,
                       (unsigned long long)wire, smbw_copy_method_name(jobs[0].stats.method),
                       jobs[0].stats.chunks_per_request, jobs[0].stats.chunk_size);
                fflush(stdout);
            }
        }
    }
    for (int i = 0; i < nconns; i++)
        bconn_close(&conns[i]);
    return 0;
}
