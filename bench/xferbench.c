/* Download or upload of one file over one or several connections, on
 * smbwire's public asynchronous API, one thread driving them all (as
 * smbcopy's stream engine does with one).
 *
 *   xferbench [OPTIONS] get REMOTE LOCAL    (paths on the share; password in SMB_PASSWORD)
 *   xferbench [OPTIONS] put LOCAL REMOTE
 *
 *   -H HOST -P PORT -U USER -S SHARE   server (defaults: SMBW_TEST_* environment)
 *   -j LIST    connections, comma separated (default 1,2); each its own
 *              session, tree and open, carrying one contiguous part
 *   -d N       requests in flight per connection (default 16)
 *   -b BYTES   bytes per request (default 1048576; lowered to the server's)
 *   -e         encrypt (SMB 3.x); otherwise signed (as smbcopy by default)
 *   -r N       rounds (default 5); every round runs every LIST entry, the
 *              order rotating from round to round
 *
 * One line per transfer:
 *   op=get conns=2 round=1 seconds=0.912 setup=0.021 bytes=1073741824
 * seconds: from the first connect to the last byte written (file closed);
 * setup: the part of it spent connecting, logging in and opening.
 * The result of the last transfer is left in place for checking.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <smbwire/smbwire.h>

#include "benchutil.h"

#define MAX_CONNS 8
#define MAX_DEPTH 64

typedef struct slot {
    struct lane *ln;
    uint8_t *buf;
    uint64_t off;
    size_t len;
    int busy;
} slot;

typedef struct lane {
    smbw_conn *c;
    smbw_session *s;
    smbw_tree *t;
    smbw_file *f;
    uint64_t next, end; /* the part still to send */
    slot slots[MAX_DEPTH];
    int inflight;
} lane;

static int depth = 16, encrypt_on;
static size_t reqsize = 1 << 20;
static int local_fd = -1, failed;
static int put_mode;

static void lane_open(lane *l, const char *remote, int flags)
{
    memset(l, 0, sizeof *l);
    int err = smbw_conn_new(&l->c);
    if (err)
        die("smbw_conn_new", err, NULL);
    smbw_conn_set_timeout(l->c, 120000);
    if (encrypt_on && (err = smbw_conn_set_encryption(l->c, SMBW_ENCRYPT_REQUIRED)) != 0)
        die("encryption", err, l->c);
    if (!encrypt_on && (err = smbw_conn_set_signing(l->c, SMBW_SIGN_REQUIRED)) != 0)
        die("signing", err, l->c);
    if ((err = smbw_conn_connect(l->c, host, (uint16_t)atoi(port_s))) != 0)
        die("connect", err, l->c);
    smbw_creds cr = SMBW_CREDS_INIT;
    cr.kind = SMBW_AUTH_NTLM;
    cr.user = user;
    cr.password = pass;
    if ((err = smbw_session_new(&l->s, l->c, &cr)) != 0)
        die("session setup", err, l->c);
    if ((err = smbw_tree_connect(&l->t, l->s, share)) != 0)
        die("tree connect", err, l->c);
    if ((err = smbw_file_open(&l->f, l->t, remote, flags)) != 0)
        die("open", err, l->c);
}

static void lane_close(lane *l)
{
    int err = smbw_file_free(l->f);
    if (err)
        die("close", err, l->c);
    smbw_tree_free(l->t);
    smbw_session_free(l->s);
    smbw_conn_free(l->c);
    for (int i = 0; i < MAX_DEPTH; i++)
        free(l->slots[i].buf);
}

static void issue(lane *l, slot *s);

static void done(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    slot *s = ud;
    lane *l = s->ln;
    (void)status;
    s->busy = 0;
    l->inflight--;
    if (err) {
        fprintf(stderr, "xferbench: %s at %llu: %s (%s)\n", put_mode ? "write" : "read",
                (unsigned long long)s->off, smbw_error_name(err), smbw_conn_errmsg(l->c));
        failed = 1;
        return;
    }
    if (!put_mode) {
        if (len != s->len || (data != NULL && data != s->buf) ||
            pwrite(local_fd, s->buf, len, (off_t)s->off) != (ssize_t)len) {
            fprintf(stderr, "xferbench: short read or local write at %llu\n",
                    (unsigned long long)s->off);
            failed = 1;
            return;
        }
    } else if (len != s->len) {
        fprintf(stderr, "xferbench: short write at %llu\n", (unsigned long long)s->off);
        failed = 1;
        return;
    }
    issue(l, s);
}

/* Sends the next piece of l's part from slot s, if any is left. */
static void issue(lane *l, slot *s)
{
    if (failed || l->next >= l->end)
        return;
    size_t n = l->end - l->next < reqsize ? (size_t)(l->end - l->next) : reqsize;
    s->off = l->next;
    s->len = n;
    int err;
    if (put_mode) {
        if (pread(local_fd, s->buf, n, (off_t)s->off) != (ssize_t)n) {
            fprintf(stderr, "xferbench: local read at %llu failed\n", (unsigned long long)s->off);
            failed = 1;
            return;
        }
        err = smbw_file_pwrite_nocopy_async(l->f, s->buf, n, s->off, done, s);
    } else {
        err = smbw_file_pread_into_async(l->f, s->buf, n, s->off, done, s);
    }
    if (err)
        die("send", err, l->c);
    l->next += n;
    s->busy = 1;
    l->inflight++;
}

static double one(int nconns, const char *remote, const char *local, double *setup_s,
                  uint64_t *bytes)
{
    lane lanes[MAX_CONNS];
    uint64_t size = 0;
    double t0 = now();
    if (put_mode) {
        local_fd = open(local, O_RDONLY);
        struct stat st;
        if (local_fd < 0 || fstat(local_fd, &st) != 0) {
            perror(local);
            exit(1);
        }
        size = (uint64_t)st.st_size;
    } else {
        local_fd = open(local, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (local_fd < 0) {
            perror(local);
            exit(1);
        }
    }
    for (int i = 0; i < nconns; i++)
        lane_open(&lanes[i], remote,
                  put_mode ? SMBW_O_WRONLY | SMBW_O_CREAT | (i == 0 ? SMBW_O_TRUNC : 0)
                           : SMBW_O_RDONLY);
    if (!put_mode) {
        smbw_stat st;
        int err = smbw_file_stat(lanes[0].f, &st);
        if (err)
            die("stat", err, lanes[0].c);
        size = st.size;
    }
    size_t maxio = put_mode ? smbw_conn_max_write(lanes[0].c) : smbw_conn_max_read(lanes[0].c);
    if (reqsize > maxio)
        reqsize = maxio;
    *setup_s = now() - t0;
    uint64_t part = (size + (uint64_t)nconns - 1) / (uint64_t)nconns;
    smbw_conn *conns[MAX_CONNS];
    for (int i = 0; i < nconns; i++) {
        lane *l = &lanes[i];
        conns[i] = l->c;
        l->next = part * (uint64_t)i < size ? part * (uint64_t)i : size;
        l->end = l->next + part < size ? l->next + part : size;
        for (int k = 0; k < depth; k++) {
            slot *s = &l->slots[k];
            s->ln = l;
            s->buf = malloc(reqsize);
            if (s->buf == NULL)
                die("malloc", SMBW_ENOMEM, NULL);
            issue(l, s);
        }
    }
    for (;;) {
        int pending = 0;
        for (int i = 0; i < nconns; i++)
            pending += lanes[i].inflight;
        if (pending == 0 || failed)
            break;
        int which = -1;
        int err = smbw_conn_wait(conns, nconns, 1000, &which);
        if (err)
            die("wait", err, which >= 0 ? conns[which] : NULL);
    }
    if (failed)
        exit(1);
    for (int i = 0; i < nconns; i++)
        lane_close(&lanes[i]);
    if (close(local_fd) != 0) {
        perror(local);
        exit(1);
    }
    *bytes = size;
    return now() - t0;
}

int main(int argc, char **argv)
{
    bench_prog = "xferbench";
    bench_server_defaults();
    const char *list = "1,2";
    int rounds = 5, opt;
    while ((opt = getopt(argc, argv, "H:P:U:S:j:d:b:er:")) != -1) {
        if (bench_server_opt(opt, optarg))
            continue;
        switch (opt) {
        case 'j':
            list = optarg;
            break;
        case 'd':
            depth = atoi(optarg);
            break;
        case 'b':
            reqsize = (size_t)strtoul(optarg, NULL, 10);
            break;
        case 'e':
            encrypt_on = 1;
            break;
        case 'r':
            rounds = atoi(optarg);
            break;
        default:
            fprintf(stderr,
                    "usage: xferbench [-H -P -U -S] [-j LIST] [-d N] [-b BYTES] [-e] [-r N] "
                    "get REMOTE LOCAL | put LOCAL REMOTE\n");
            return 2;
        }
    }
    if (argc - optind != 3 || depth < 1 || depth > MAX_DEPTH || reqsize < 4096) {
        fprintf(stderr, "xferbench: bad arguments\n");
        return 2;
    }
    put_mode = strcmp(argv[optind], "put") == 0;
    if (!put_mode && strcmp(argv[optind], "get") != 0) {
        fprintf(stderr, "xferbench: get or put\n");
        return 2;
    }
    const char *remote = put_mode ? argv[optind + 2] : argv[optind + 1];
    const char *local = put_mode ? argv[optind + 1] : argv[optind + 2];
    int conns[MAX_CONNS], n = 0;
    char *copy = strdup(list), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL && n < MAX_CONNS;
         tok = strtok_r(NULL, ",", &save)) {
        conns[n] = atoi(tok);
        if (conns[n] < 1 || conns[n] > MAX_CONNS) {
            fprintf(stderr, "xferbench: connections 1..%d\n", MAX_CONNS);
            return 2;
        }
        n++;
    }
    free(copy);
    for (int r = 1; r <= rounds; r++) {
        for (int i = 0; i < n; i++) {
            int j = conns[(r - 1 + i) % n];
            double setup = 0;
            uint64_t bytes = 0;
            double secs = one(j, remote, local, &setup, &bytes);
            printf("op=%s conns=%d round=%d seconds=%.3f setup=%.3f bytes=%llu\n",
                   put_mode ? "put" : "get", j, r, secs, setup, (unsigned long long)bytes);
            fflush(stdout);
        }
    }
    return 0;
}
