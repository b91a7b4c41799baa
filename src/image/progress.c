/* SPDX-License-Identifier: MIT */
/* A terminal progress bar for long image copies, drawn on stderr. */
#include "image/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void draw(struct mq_progress *p)
{
    enum { WIDTH = 30 };
    unsigned pct = p->total ? (unsigned)(p->done * 100 / p->total) : 100;
    unsigned fill = pct * WIDTH / 100;
    char bar[WIDTH + 1];

    if (pct > 100)
        pct = 100, fill = WIDTH;
    for (unsigned i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = 0;
    fprintf(stderr, "\r%s [%s] %3u%% %llu/%llu MiB", p->label, bar, pct,
            (unsigned long long)(p->done >> 20), (unsigned long long)(p->total >> 20));
    fflush(stderr);
}

void mq_progress_start(struct mq_progress *p, const char *label, uint64_t total, bool show)
{
    if (!p)
        return;
    p->label = label;
    p->total = total;
    p->done = 0;
    p->last_draw_ns = 0;
    p->enabled = show && isatty(STDERR_FILENO);
    if (p->enabled)
        draw(p);
}

void mq_progress_add(struct mq_progress *p, uint64_t n)
{
    uint64_t t;

    if (!p)
        return;
    p->done += n;
    if (!p->enabled)
        return;
    t = now_ns();
    if (t - p->last_draw_ns >= 100000000u) {
        p->last_draw_ns = t;
        draw(p);
    }
}

void mq_progress_end(struct mq_progress *p, bool ok)
{
    if (!p || !p->enabled)
        return;
    if (ok) {
        p->done = p->total;
        draw(p);
    }
    fputc('\n', stderr);
}
