/* Progress bar with rate and ETA on stderr. */
#include <string.h>
#include <time.h>

#include "smbcopy.h"

#define REDRAW_INTERVAL 0.2

double sc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sc_fmt_bytes(char *buf, size_t n, double bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    size_t u = 0;
    while (bytes >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        bytes /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, n, "%.0f %s", bytes, units[u]);
    else
        snprintf(buf, n, "%.1f %s", bytes, units[u]);
}

static void draw(sc_progress *p, double now)
{
    double el = now - p->start;
    uint64_t moved = p->done > p->base ? p->done - p->base : 0;
    double rate = el > 0.05 ? (double)moved / el : 0;
    char done[32], total[32], rs[32], eta[32];
    sc_fmt_bytes(done, sizeof(done), (double)p->done);
    sc_fmt_bytes(total, sizeof(total), (double)p->total);
    sc_fmt_bytes(rs, sizeof(rs), rate);
    unsigned pct = p->total > 0 ? (unsigned)((double)p->done * 100.0 / (double)p->total) : 100;
    if (pct > 100)
        pct = 100;
    if (rate > 0 && p->total > p->done) {
        double left = (double)(p->total - p->done) / rate;
        if (left > 359999)
            left = 359999;
        unsigned s = (unsigned)left;
        snprintf(eta, sizeof(eta), "%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
    } else {
        snprintf(eta, sizeof(eta), "--:--:--");
    }
    char bar[21];
    size_t fill = pct / 5;
    memset(bar, '#', fill);
    memset(bar + fill, '-', 20 - fill);
    bar[20] = '\0';
    /* Only printable ASCII of the name is shown, cut to fit the line. */
    char name[25];
    size_t k = 0;
    for (const char *c = p->name != NULL ? p->name : ""; *c != '\0' && k < sizeof(name) - 1; c++)
        name[k++] = (*c >= 0x20 && *c < 0x7F) ? *c : '?';
    name[k] = '\0';
    fprintf(p->out, "\r%-24s [%s] %3u%% %s/%s %s/s ETA %s\033[K", name, bar, pct, done, total, rs,
            eta);
    fflush(p->out);
    p->drawn = true;
    p->last_draw = now;
}

void sc_progress_start(sc_progress *p, const char *name, uint64_t total, uint64_t done)
{
    p->name = name;
    p->total = total;
    p->done = done;
    p->base = done;
    p->start = sc_now();
    p->last_draw = 0;
    if (p->out == NULL)
        p->out = stderr;
    if (p->enabled)
        draw(p, p->start);
}

void sc_progress_update(sc_progress *p, uint64_t done)
{
    p->done = done;
    if (!p->enabled)
        return;
    double now = sc_now();
    if (now - p->last_draw >= REDRAW_INTERVAL)
        draw(p, now);
}

void sc_progress_end(sc_progress *p)
{
    if (p->enabled && p->drawn) {
        fprintf(p->out, "\r\033[K");
        fflush(p->out);
    }
    p->drawn = false;
}
