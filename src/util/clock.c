/* SPDX-License-Identifier: MIT */
/* Host clocks and the machine timebase. */
#include "util/clock.h"

#include <time.h>

uint64_t mq_clock_monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t mq_clock_realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t host_ticks(const struct mq_timebase *tb)
{
    uint64_t ns = mq_clock_monotonic_ns();

    /* 128-bit product: ns * freq overflows 64 bits after ~30 minutes at 10 MHz. */
    return (uint64_t)(((unsigned __int128)ns * tb->freq_hz) / 1000000000u);
}

void mq_timebase_init(struct mq_timebase *tb, uint64_t freq_hz)
{
    tb->freq_hz = freq_hz;
    tb->offset_ticks = 0;
    tb->offset_ticks = -(int64_t)host_ticks(tb);
}

uint64_t mq_timebase_read(const struct mq_timebase *tb)
{
    return host_ticks(tb) + (uint64_t)tb->offset_ticks;
}

void mq_timebase_set(struct mq_timebase *tb, uint64_t value)
{
    tb->offset_ticks = (int64_t)(value - host_ticks(tb));
}

uint64_t mq_timebase_deadline_ns(const struct mq_timebase *tb, uint64_t value)
{
    uint64_t now_ticks = mq_timebase_read(tb);
    uint64_t now_ns = mq_clock_monotonic_ns();
    uint64_t delta;

    /* The counter never wraps in practice (64 bits at 10 MHz: 58000 years):
     * compare unsigned, so UINT64_MAX ("never") is far in the future. */
    if (value <= now_ticks)
        return now_ns;
    delta = value - now_ticks;
    /* Round up so a sleeper never wakes just before the deadline. */
    unsigned __int128 ns = ((unsigned __int128)delta * 1000000000u + tb->freq_hz - 1) /
                           tb->freq_hz;
    if (ns > UINT64_MAX - now_ns)
        return UINT64_MAX;
    return now_ns + (uint64_t)ns;
}
