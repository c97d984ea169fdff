/* Progress bar with rate and ETA on stderr. */
#include <string.h>
#include <sys/ioctl.h>
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
    /* Fit the terminal's width now (so a resize, SIGWINCH, is followed at
     * the next redraw), leaving the last column free so the line never wraps:
     * the bar and the name shrink first, then the sizes, the rate and the
     * bar are left out. */
    size_t width = 80;
    struct winsize ws;
    if (ioctl(fileno(p->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        width = ws.ws_col;
    size_t avail = width > 1 ? width - 1 : 1;
    char sizes[72], rates[40], etas[40], pcts[8];
    snprintf(sizes, sizeof(sizes), " %s/%s", done, total);
    snprintf(rates, sizeof(rates), " %s/s", rs);
    snprintf(etas, sizeof(etas), " ETA %s", eta);
    snprintf(pcts, sizeof(pcts), " %3u%%", pct);
    /* Levels, richest first: which parts are shown. */
    static const struct {
        bool bar, sizes, rate;
    } levels[] = {
        {true, true, true}, {true, false, true}, {false, false, true}, {false, false, false}};
    size_t nl = sizeof(levels) / sizeof(levels[0]);
    size_t lv = 0, fixed = 0, namew = 0, barw = 0;
    for (lv = 0; lv < nl; lv++) {
        fixed = strlen(pcts) + strlen(etas) + (levels[lv].sizes ? strlen(sizes) : 0) +
                (levels[lv].rate ? strlen(rates) : 0);
        size_t need = fixed + 8 + (levels[lv].bar ? 3 + 10 : 0); /* name >= 8, " []" + bar >= 10 */
        if (need <= avail)
            break;
    }
    char line[512];
    size_t rest = avail;
    if (lv == nl) {
        /* Too narrow for anything but the percentage. */
        snprintf(line, sizeof(line), "%.*s", (int)avail, pcts + 1);
    } else {
        rest = avail - fixed;
        namew = rest - (levels[lv].bar ? 3 + 10 : 0);
        if (namew > 40)
            namew = 40;
        if (levels[lv].bar) {
            barw = rest - namew - 3;
            if (barw > 50)
                barw = 50;
        }
        /* Only printable ASCII of the name is shown, cut to fit the line. */
        char name[41];
        size_t k = 0;
        for (const char *c = p->name != NULL ? p->name : ""; *c != '\0' && k < namew; c++)
            name[k++] = (*c >= 0x20 && *c < 0x7F) ? *c : '?';
        name[k] = '\0';
        char bar[51];
        size_t fill = barw * pct / 100;
        memset(bar, '#', fill);
        memset(bar + fill, '-', barw - fill);
        bar[barw] = '\0';
        snprintf(line, sizeof(line), "%-*s%s%s%s%s%s%s%s", (int)namew, name,
                 levels[lv].bar ? " [" : "", bar, levels[lv].bar ? "]" : "", pcts,
                 levels[lv].sizes ? sizes : "", levels[lv].rate ? rates : "", etas);
    }
    fprintf(p->out, "\r%s\033[K", line);
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
