/* SPDX-License-Identifier: MIT */
/*
 * The Goldfish RTC: a 64-bit nanosecond clock read as two 32-bit halves,
 * one alarm and its interrupt. The register set is the goldfish timer of
 * Android's emulator (GOLDFISH-VIRTUAL-HARDWARE.TXT) extended with
 * IRQ_ENABLED, CLEAR_ALARM and ALARM_STATUS, as Linux's
 * drivers/rtc/rtc-goldfish.c programs it:
 *
 *   0x00 TIME_LOW        R: sample the clock, latch its high half, return low
 *                        W: set the clock to (TIME_HIGH written, value)
 *   0x04 TIME_HIGH       R: high half latched by the last TIME_LOW read
 *                        W: high half for the next TIME_LOW write
 *   0x08 ALARM_LOW       R/W: low half of the alarm; a write arms it
 *   0x0c ALARM_HIGH      R/W: high half of the alarm
 *   0x10 IRQ_ENABLED     R/W: bit 0 enables the interrupt output
 *   0x14 CLEAR_ALARM     W: disarm the alarm
 *   0x18 ALARM_STATUS    R: 1 while the alarm is armed
 *   0x1c CLEAR_INTERRUPT W: acknowledge a fired alarm
 *
 * Guest time is the host wall clock plus an offset, so it keeps running
 * while the VM is paused, like a battery-backed clock; the offset survives
 * machine reset. An armed alarm is watched by one small thread per RTC that
 * sleeps in pthread_cond_timedwait() until the alarm time.
 *
 * Locking: one mutex protects the registers and is the condition
 * variable's mutex. The interrupt line is driven with it held (lock order
 * RTC -> PLIC -> hart).
 */
#include "hw/goldfish_rtc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/state.h"

enum {
    REG_TIME_LOW = 0x00,
    REG_TIME_HIGH = 0x04,
    REG_ALARM_LOW = 0x08,
    REG_ALARM_HIGH = 0x0c,
    REG_IRQ_ENABLED = 0x10,
    REG_CLEAR_ALARM = 0x14,
    REG_ALARM_STATUS = 0x18,
    REG_CLEAR_INTERRUPT = 0x1c,
};

#define RTC_STATE_VERSION 1u

/* Cap on one sleep so an alarm centuries away cannot overflow time_t maths. */
#define RTC_MAX_SLEEP_NS (3600ull * 1000000000ull)

struct mq_goldfish_rtc {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* signalled when the alarm changes or on stop */
    pthread_t thread;
    bool stop;

    struct mq_irq irq;
    bool irq_level;

    uint64_t offset_ns; /* guest time = host realtime + offset (mod 2^64) */
    uint32_t time_high_latch;
    uint32_t time_high_wr;
    bool time_high_written;

    uint64_t alarm_ns;
    bool alarm_armed;
    bool irq_pending;
    bool irq_enabled;
};

static uint64_t rtc_now(const struct mq_goldfish_rtc *r)
{
    return mq_clock_realtime_ns() + r->offset_ns;
}

static void rtc_update_irq(struct mq_goldfish_rtc *r)
{
    bool level = r->irq_pending && r->irq_enabled;

    if (level != r->irq_level) {
        r->irq_level = level;
        mq_irq_set(&r->irq, level);
    }
}

static void rtc_fire(struct mq_goldfish_rtc *r)
{
    r->alarm_armed = false;
    r->irq_pending = true;
    rtc_update_irq(r);
}

/* Fire the alarm when it is due; true when it did. Lock held. */
static bool rtc_check_alarm(struct mq_goldfish_rtc *r)
{
    if (!r->alarm_armed || rtc_now(r) < r->alarm_ns)
        return false;
    rtc_fire(r);
    return true;
}

static void *rtc_thread(void *arg)
{
    struct mq_goldfish_rtc *r = arg;

    pthread_mutex_lock(&r->lock);
    while (!r->stop) {
        if (!r->alarm_armed) {
            pthread_cond_wait(&r->cond, &r->lock);
            continue;
        }
        uint64_t host = mq_clock_realtime_ns();
        uint64_t now = host + r->offset_ns;
        if (now >= r->alarm_ns) {
            rtc_fire(r);
            continue;
        }
        /* The condition variable waits on CLOCK_REALTIME, the clock the
         * alarm is defined on, so a host clock step moves the wake-up too. */
        uint64_t wake = host + MQ_MIN(r->alarm_ns - now, RTC_MAX_SLEEP_NS);
        struct timespec ts = {
            .tv_sec = (time_t)(wake / 1000000000u),
            .tv_nsec = (long)(wake % 1000000000u),
        };
        pthread_cond_timedwait(&r->cond, &r->lock, &ts);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static uint32_t rtc_read_reg(struct mq_goldfish_rtc *r, uint64_t off)
{
    uint64_t now;

    switch (off) {
    case REG_TIME_LOW:
        now = rtc_now(r);
        r->time_high_latch = (uint32_t)(now >> 32);
        return (uint32_t)now;
    case REG_TIME_HIGH:
        return r->time_high_latch;
    case REG_ALARM_LOW:
        return (uint32_t)r->alarm_ns;
    case REG_ALARM_HIGH:
        return (uint32_t)(r->alarm_ns >> 32);
    case REG_IRQ_ENABLED:
        return r->irq_enabled;
    case REG_ALARM_STATUS:
        return r->alarm_armed;
    default:
        return 0;
    }
}

static void rtc_set_time(struct mq_goldfish_rtc *r, uint32_t low)
{
    uint32_t high = r->time_high_written ? r->time_high_wr : (uint32_t)(rtc_now(r) >> 32);
    uint64_t t = ((uint64_t)high << 32) | low;

    r->time_high_written = false;
    r->offset_ns = t - mq_clock_realtime_ns();
}

static void rtc_write_reg(struct mq_goldfish_rtc *r, uint64_t off, uint32_t val)
{
    switch (off) {
    case REG_TIME_LOW:
        rtc_set_time(r, val);
        break;
    case REG_TIME_HIGH:
        r->time_high_wr = val;
        r->time_high_written = true;
        return;
    case REG_ALARM_LOW:
        r->alarm_ns = (r->alarm_ns & ~(uint64_t)UINT32_MAX) | val;
        r->alarm_armed = true;
        break;
    case REG_ALARM_HIGH:
        r->alarm_ns = (r->alarm_ns & UINT32_MAX) | ((uint64_t)val << 32);
        return;
    case REG_IRQ_ENABLED:
        r->irq_enabled = val & 1u;
        rtc_update_irq(r);
        return;
    case REG_CLEAR_ALARM:
        r->alarm_armed = false;
        break;
    case REG_CLEAR_INTERRUPT:
        r->irq_pending = false;
        rtc_update_irq(r);
        return;
    default:
        mq_guest_warn("goldfish-rtc", "write 0x%x to read-only or reserved offset "
                      "0x%llx ignored", val, (unsigned long long)off);
        return;
    }
    /* The alarm or the clock changed: a due alarm fires now, otherwise the
     * thread recomputes its sleep. */
    if (!rtc_check_alarm(r))
        pthread_cond_signal(&r->cond);
}

static int rtc_read(void *dev, uint64_t off, unsigned size, uint64_t *val)
{
    struct mq_goldfish_rtc *r = dev;

    if (size != 4 || (off & 3))
        return -EINVAL;
    pthread_mutex_lock(&r->lock);
    *val = rtc_read_reg(r, off);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

static int rtc_write(void *dev, uint64_t off, unsigned size, uint64_t val)
{
    struct mq_goldfish_rtc *r = dev;

    if (size != 4 || (off & 3))
        return -EINVAL;
    pthread_mutex_lock(&r->lock);
    rtc_write_reg(r, off, (uint32_t)val);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

static void rtc_reset(void *dev)
{
    struct mq_goldfish_rtc *r = dev;

    pthread_mutex_lock(&r->lock);
    r->alarm_ns = 0;
    r->alarm_armed = false;
    r->irq_pending = false;
    r->irq_enabled = false;
    r->time_high_latch = 0;
    r->time_high_written = false;
    rtc_update_irq(r);
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

/*
 * Snapshot, section version 1: the offset of guest time from the host wall
 * clock (u64 ns), the TIME_HIGH latch and pending TIME_HIGH write (u32,
 * u32, bool), the alarm (u64 ns of guest time, armed bool), interrupt
 * pending and enabled (bool). Storing the offset, not a time, keeps guest
 * time tracking the host wall clock across a restore, as it does across a
 * pause: an alarm that fell due meanwhile fires at load.
 */
static int rtc_save(void *dev, struct mq_state_writer *w)
{
    struct mq_goldfish_rtc *r = dev;

    pthread_mutex_lock(&r->lock);
    mq_state_set_version(w, RTC_STATE_VERSION);
    mq_state_put_u64(w, r->offset_ns);
    mq_state_put_u32(w, r->time_high_latch);
    mq_state_put_u32(w, r->time_high_wr);
    mq_state_put_bool(w, r->time_high_written);
    mq_state_put_u64(w, r->alarm_ns);
    mq_state_put_bool(w, r->alarm_armed);
    mq_state_put_bool(w, r->irq_pending);
    mq_state_put_bool(w, r->irq_enabled);
    pthread_mutex_unlock(&r->lock);
    return mq_state_writer_error(w);
}

static int rtc_load(void *dev, struct mq_state_reader *rd)
{
    struct mq_goldfish_rtc *r = dev;
    uint64_t offset, alarm;
    uint32_t latch, high_wr;
    bool high_written, armed, pending, enabled;

    if (mq_state_expect_version(rd, RTC_STATE_VERSION, RTC_STATE_VERSION))
        return mq_state_reader_error(rd);
    offset = mq_state_get_u64(rd);
    latch = mq_state_get_u32(rd);
    high_wr = mq_state_get_u32(rd);
    high_written = mq_state_get_bool(rd);
    alarm = mq_state_get_u64(rd);
    armed = mq_state_get_bool(rd);
    pending = mq_state_get_bool(rd);
    enabled = mq_state_get_bool(rd);
    /* Every 64-bit time and offset is legal (guest time wraps modulo 2^64). */
    if (mq_state_reader_error(rd))
        return mq_state_reader_error(rd);
    pthread_mutex_lock(&r->lock);
    r->offset_ns = offset;
    r->time_high_latch = latch;
    r->time_high_wr = high_wr;
    r->time_high_written = high_written;
    r->alarm_ns = alarm;
    r->alarm_armed = armed;
    r->irq_pending = pending;
    r->irq_enabled = enabled;
    /* Drive the line even when the level looks unchanged: the receiver was reset too. */
    r->irq_level = pending && enabled;
    mq_irq_set(&r->irq, r->irq_level);
    /* A due alarm fires now; otherwise the thread recomputes its sleep. */
    if (!rtc_check_alarm(r))
        pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

static void rtc_destroy(void *dev)
{
    struct mq_goldfish_rtc *r = dev;

    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = true;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

struct mq_goldfish_rtc *mq_goldfish_rtc_create(struct mq_irq irq)
{
    struct mq_goldfish_rtc *r = calloc(1, sizeof(*r));
    int err;

    if (!r)
        return NULL;
    r->irq = irq;
    err = pthread_mutex_init(&r->lock, NULL);
    if (err)
        goto fail_free;
    err = pthread_cond_init(&r->cond, NULL);
    if (err)
        goto fail_mutex;
    err = pthread_create(&r->thread, NULL, rtc_thread, r);
    if (err)
        goto fail_cond;
    return r;

fail_cond:
    pthread_cond_destroy(&r->cond);
fail_mutex:
    pthread_mutex_destroy(&r->lock);
fail_free:
    free(r);
    errno = err;
    return NULL;
}

const struct mq_dev_ops mq_goldfish_rtc_ops = {
    .name = "goldfish-rtc",
    .min_access = 4,
    .max_access = 4,
    .read = rtc_read,
    .write = rtc_write,
    .reset = rtc_reset,
    .save = rtc_save,
    .load = rtc_load,
    .destroy = rtc_destroy,
};
