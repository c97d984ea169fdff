/* delay_proxy: a TCP proxy that adds a fixed one-way delay in each direction
 * without limiting the bandwidth (bench/latency_proxy.py's job at full
 * speed: that one is Python and measures itself once bulk data goes
 * through it).
 *
 *     delay_proxy --delay-ms MS --upstream HOST:PORT [--listen-port P]
 *                 [--port-file FILE]
 *
 * Every byte read from one side is written to the other side MS
 * milliseconds after it was read, in order (one queue per direction), so a
 * round trip grows by twice the delay. At most 64 MiB wait per direction
 * (the proxy stops reading that side until the queue drains): far above
 * what a round trip at 10 ms holds at loopback speed. The listening port is
 * printed on stdout (and written to FILE, atomically) once it accepts. One
 * thread, poll(2); runs until killed. Built by the bench scripts:
 *
 *     gcc -std=c11 -O2 -Wall -Wextra -Werror -o delay_proxy bench/delay_proxy.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_MAX (64u << 20)
#define READ_MAX (1u << 20)

typedef struct chunk {
    struct chunk *next;
    uint64_t due_ns;
    size_t len, off;
    unsigned char data[];
} chunk;

typedef struct dir {
    int from, to;
    chunk *head, *tail;
    size_t queued;
    bool eof;  /* from sent its FIN */
    bool shut; /* FIN passed on to to */
} dir;

typedef struct link {
    int c, s;
    dir d[2]; /* 0: client -> server, 1: server -> client */
    bool dead;
} link_t;

static uint64_t delay_ns;
static unsigned char rbuf[READ_MAX];

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static int nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void nodelay(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void link_free(link_t *l)
{
    for (int i = 0; i < 2; i++) {
        for (chunk *k = l->d[i].head, *n; k; k = n) {
            n = k->next;
            free(k);
        }
        l->d[i].head = l->d[i].tail = NULL;
        l->d[i].queued = 0;
    }
    close(l->c);
    close(l->s);
    l->dead = true;
}

/* What a read or write that returned n (with errno) means: 1 try again
 * now (EINTR), 0 try again when poll says so (EAGAIN), -1 drop the link,
 * 2 n bytes moved (or end of file). */
static int io_outcome(ssize_t n)
{
    if (n >= 0)
        return 2;
    if (errno == EINTR)
        return 1;
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
}

/* Reads what from has (up to the queue limit) into timed chunks. 0, or -1
 * when the link is to be dropped. */
static int pump_in(dir *d)
{
    while (!d->eof && d->queued < QUEUE_MAX) {
        ssize_t n = read(d->from, rbuf, sizeof rbuf);
        int o = io_outcome(n);
        if (o == 1)
            continue;
        if (o <= 0)
            return o;
        if (n == 0) {
            d->eof = true;
            return 0;
        }
        chunk *k = malloc(sizeof *k + (size_t)n);
        if (!k)
            return -1;
        k->next = NULL;
        k->due_ns = now_ns() + delay_ns;
        k->len = (size_t)n;
        k->off = 0;
        memcpy(k->data, rbuf, (size_t)n);
        if (d->tail)
            d->tail->next = k;
        else
            d->head = k;
        d->tail = k;
        d->queued += (size_t)n;
    }
    return 0;
}

/* Writes the chunks that are due. 0, or -1 when the link is to be dropped. */
static int pump_out(dir *d, uint64_t now)
{
    while (d->head && d->head->due_ns <= now) {
        chunk *k = d->head;
        ssize_t n = write(d->to, k->data + k->off, k->len - k->off);
        int o = io_outcome(n);
        if (o == 1)
            continue;
        if (o <= 0)
            return o;
        k->off += (size_t)n;
        d->queued -= (size_t)n;
        if (k->off == k->len) {
            d->head = k->next;
            if (!d->head)
                d->tail = NULL;
            free(k);
        }
    }
    if (d->eof && !d->head && !d->shut) {
        (void)shutdown(d->to, SHUT_WR);
        d->shut = true;
    }
    return 0;
}

static int parse_upstream(const char *s, struct sockaddr_in *sa)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return -1;
    char host[64];
    size_t hl = (size_t)(colon - s);
    if (hl >= sizeof host)
        return -1;
    memcpy(host, s, hl);
    host[hl] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 65535)
        return -1;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    double delay_ms = -1;
    const char *upstream = NULL, *port_file = NULL;
    int listen_port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--delay-ms"))
            delay_ms = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--upstream"))
            upstream = argv[i + 1];
        else if (!strcmp(argv[i], "--port-file"))
            port_file = argv[i + 1];
        else if (!strcmp(argv[i], "--listen-port"))
            listen_port = atoi(argv[i + 1]);
        else
            break;
    }
    struct sockaddr_in up;
    if (delay_ms < 0 || !upstream || parse_upstream(upstream, &up) != 0 || listen_port < 0 ||
        listen_port > 65535) {
        fprintf(stderr,
                "usage: %s --delay-ms MS --upstream HOST:PORT [--listen-port P] "
                "[--port-file FILE]\n",
                argv[0]);
        return 2;
    }
    delay_ns = (uint64_t)(delay_ms * 1e6);
    signal(SIGPIPE, SIG_IGN);

    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0)
        die("socket");
    int one = 1;
    (void)setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in la;
    memset(&la, 0, sizeof la);
    la.sin_family = AF_INET;
    la.sin_port = htons((uint16_t)listen_port);
    la.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof la;
    if (bind(ls, (struct sockaddr *)&la, sizeof la) != 0 || listen(ls, 64) != 0 ||
        getsockname(ls, (struct sockaddr *)&la, &sl) != 0 || nonblock(ls) != 0)
        die("listen");
    unsigned port = ntohs(la.sin_port);
    if (port_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0 || rename(tmp, port_file) != 0)
            die("port file");
    }
    printf("%u\n", port);
    fflush(stdout);

    link_t *links = NULL;
    size_t nlinks = 0;
    struct pollfd *pfd = NULL;
    for (;;) {
        /* Drop dead links (swap with the last). */
        for (size_t i = 0; i < nlinks;)
            if (links[i].dead)
                links[i] = links[--nlinks];
            else
                i++;
        pfd = realloc(pfd, (1 + 2 * nlinks) * sizeof *pfd);
        if (!pfd)
            die("realloc");
        uint64_t now = now_ns(), next_due = UINT64_MAX;
        pfd[0] = (struct pollfd){.fd = ls, .events = POLLIN};
        for (size_t i = 0; i < nlinks; i++) {
            link_t *l = &links[i];
            pfd[1 + 2 * i] = (struct pollfd){.fd = l->c};
            pfd[2 + 2 * i] = (struct pollfd){.fd = l->s};
            for (int k = 0; k < 2; k++) {
                dir *d = &l->d[k];
                struct pollfd *in = &pfd[1 + 2 * i + k], *out = &pfd[1 + 2 * i + (1 - k)];
                if (!d->eof && d->queued < QUEUE_MAX)
                    in->events |= POLLIN;
                if (d->head && d->head->due_ns <= now)
                    out->events |= POLLOUT;
                else if (d->head && d->head->due_ns < next_due)
                    next_due = d->head->due_ns;
            }
        }
        struct timespec ts, *tp = NULL;
        if (next_due != UINT64_MAX) {
            uint64_t wait = next_due > now ? next_due - now : 0;
            ts.tv_sec = (time_t)(wait / 1000000000u);
            ts.tv_nsec = (long)(wait % 1000000000u);
            tp = &ts;
        }
        if (ppoll(pfd, 1 + 2 * nlinks, tp, NULL) < 0 && errno != EINTR)
            die("ppoll");
        if (pfd[0].revents & POLLIN) {
            int c = accept(ls, NULL, NULL);
            if (c >= 0) {
                int s = socket(AF_INET, SOCK_STREAM, 0);
                if (s < 0 || connect(s, (struct sockaddr *)&up, sizeof up) != 0 ||
                    nonblock(c) != 0 || nonblock(s) != 0) {
                    close(c);
                    if (s >= 0)
                        close(s);
                } else {
                    nodelay(c);
                    nodelay(s);
                    link_t *nl = realloc(links, (nlinks + 1) * sizeof *links);
                    if (!nl)
                        die("realloc");
                    links = nl;
                    link_t *l = &links[nlinks++];
                    memset(l, 0, sizeof *l);
                    l->c = c;
                    l->s = s;
                    l->d[0].from = c;
                    l->d[0].to = s;
                    l->d[1].from = s;
                    l->d[1].to = c;
                    continue; /* pfd has no entries for it yet */
                }
            }
        }
        now = now_ns();
        for (size_t i = 0; i < nlinks; i++) {
            link_t *l = &links[i];
            if (l->dead)
                continue;
            int bad = 0;
            for (int k = 0; k < 2 && !bad; k++)
                bad = pump_in(&l->d[k]) || pump_out(&l->d[k], now);
            if (bad || (l->d[0].shut && l->d[1].shut))
                link_free(l);
        }
    }
}
