/* SPDX-License-Identifier: MIT */
/* Host clocks and the machine timebase (the RISC-V mtime counter). */
#ifndef MQ_UTIL_CLOCK_H
#define MQ_UTIL_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t mq_clock_monotonic_ns(void);

/* CLOCK_REALTIME in nanoseconds since the Unix epoch. */
uint64_t mq_clock_realtime_ns(void);

/*
 * A machine timebase: a counter running at freq_hz from the host monotonic
 * clock, with an offset so it starts at 0 when the machine is created and
 * can be set to any value (snapshot restore, mtime writes). Reads are
 * lock-free; the offset is written only while the harts are paused or by
 * an mtime write (a rare guest action, torn reads there are harmless).
 */
struct mq_timebase {
    uint64_t freq_hz;
    int64_t offset_ticks; /* counter = host_ticks + offset_ticks */
};

void mq_timebase_init(struct mq_timebase *tb, uint64_t freq_hz);
uint64_t mq_timebase_read(const struct mq_timebase *tb);
void mq_timebase_set(struct mq_timebase *tb, uint64_t value);
/* Host monotonic time (ns) at which the counter reaches value. */
uint64_t mq_timebase_deadline_ns(const struct mq_timebase *tb, uint64_t value);

#endif
