/* SPDX-License-Identifier: MIT */
/* Unit tests of the Goldfish RTC as Linux's rtc-goldfish driver programs it. */
#include "hw/goldfish_rtc.h"

#include <time.h>

#include "hw/hw_test.h"
#include "util/clock.h"
#include "util/state_testutil.h"

enum {
    TIME_LOW = 0x00,
    TIME_HIGH = 0x04,
    ALARM_LOW = 0x08,
    ALARM_HIGH = 0x0c,
    IRQ_ENABLED = 0x10,
    CLEAR_ALARM = 0x14,
    ALARM_STATUS = 0x18,
    CLEAR_INTERRUPT = 0x1c,
};

#define MS 1000000ull

static uint32_t rd(struct mq_goldfish_rtc *r, uint64_t off)
{
    return (uint32_t)dev_rd(&mq_goldfish_rtc_ops, r, off, 4);
}

static void wr(struct mq_goldfish_rtc *r, uint64_t off, uint32_t v)
{
    dev_wr(&mq_goldfish_rtc_ops, r, off, 4, v);
}

/* The driver's read: TIME_LOW first, which latches TIME_HIGH. */
static uint64_t read_time(struct mq_goldfish_rtc *r)
{
    uint64_t low = rd(r, TIME_LOW);
    return low | ((uint64_t)rd(r, TIME_HIGH) << 32);
}

static void set_alarm(struct mq_goldfish_rtc *r, uint64_t t)
{
    wr(r, ALARM_HIGH, (uint32_t)(t >> 32));
    wr(r, ALARM_LOW, (uint32_t)t);
    wr(r, IRQ_ENABLED, 1);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wait up to limit_ms for the line to rise; returns the time waited. */
static uint64_t wait_level(struct rec_irq *irq, unsigned limit_ms)
{
    uint64_t start = mq_clock_monotonic_ns();

    while (!rec_irq_level(irq) && mq_clock_monotonic_ns() - start < limit_ms * MS)
        sleep_ms(1);
    return mq_clock_monotonic_ns() - start;
}

static void test_time(void)
{
    struct rec_irq irq = {0};
    struct mq_goldfish_rtc *r = mq_goldfish_rtc_create(rec_irq_line(&irq));
    uint64_t host, t;

    CHECK(r != NULL);
    host = mq_clock_realtime_ns();
    t = read_time(r);
    CHECK(t >= host && t - host < 1000 * MS);

    /* Setting the time: high half first, the low write commits. */
    uint64_t want = 0x0000123400000000ull + 5 * MS;
    wr(r, TIME_HIGH, (uint32_t)(want >> 32));
    wr(r, TIME_LOW, (uint32_t)want);
    t = read_time(r);
    CHECK(t >= want && t - want < 1000 * MS);
    /* The clock runs. */
    sleep_ms(20);
    CHECK(read_time(r) >= t + 20 * MS);
    /* TIME_HIGH returns the latched value until the next TIME_LOW read. */
    CHECK_EQ(rd(r, TIME_HIGH), 0x1234);

    /* A lone TIME_LOW write keeps the current high half. */
    wr(r, TIME_LOW, 0);
    t = read_time(r);
    CHECK_EQ(t >> 32, 0x1234);
    CHECK(t < 0x0000123400000000ull + 1000 * MS);

    /* Reset keeps the time (battery-backed clock). */
    mq_goldfish_rtc_ops.reset(r);
    CHECK_EQ(read_time(r) >> 32, 0x1234);
    CHECK(!irq.level);
    mq_goldfish_rtc_ops.destroy(r);
}

static void test_alarm_fires(void)
{
    struct rec_irq irq = {0};
    struct mq_goldfish_rtc *r = mq_goldfish_rtc_create(rec_irq_line(&irq));
    uint64_t waited, alarm;

    CHECK(r != NULL);
    alarm = read_time(r) + 50 * MS;
    set_alarm(r, alarm);
    CHECK_EQ(rd(r, ALARM_STATUS), 1);
    CHECK_EQ(rd(r, ALARM_LOW), (uint32_t)alarm);
    CHECK_EQ(rd(r, ALARM_HIGH), (uint32_t)(alarm >> 32));
    CHECK_EQ(rd(r, IRQ_ENABLED), 1);
    CHECK(!rec_irq_level(&irq));

    waited = wait_level(&irq, 2000);
    CHECK(rec_irq_level(&irq));
    /*
     * Fires about 50 ms after being armed. The bound is loose on purpose:
     * sanitizer builds on a loaded CI host can delay the timer thread;
     * "never fires" is caught by the level check above.
     */
    CHECK(waited < 1500 * MS);
    CHECK(read_time(r) >= alarm);
    CHECK_EQ(rd(r, ALARM_STATUS), 0);

    /* The driver's interrupt handler acknowledges. */
    wr(r, CLEAR_INTERRUPT, 1);
    CHECK(!rec_irq_level(&irq));
    mq_goldfish_rtc_ops.destroy(r);
}

static void test_alarm_past_and_masking(void)
{
    struct rec_irq irq = {0};
    struct mq_goldfish_rtc *r = mq_goldfish_rtc_create(rec_irq_line(&irq));

    /* An alarm already in the past fires at once, but only drives the
     * line while IRQ_ENABLED is set. */
    wr(r, ALARM_HIGH, 0);
    wr(r, ALARM_LOW, 1);
    CHECK_EQ(rd(r, ALARM_STATUS), 0);
    CHECK(!rec_irq_level(&irq));
    wr(r, IRQ_ENABLED, 1);
    CHECK(rec_irq_level(&irq));
    wr(r, IRQ_ENABLED, 0);
    CHECK(!rec_irq_level(&irq));
    wr(r, CLEAR_INTERRUPT, 1);
    wr(r, IRQ_ENABLED, 1);
    CHECK(!rec_irq_level(&irq));
    mq_goldfish_rtc_ops.destroy(r);
}

static void test_clear_alarm(void)
{
    struct rec_irq irq = {0};
    struct mq_goldfish_rtc *r = mq_goldfish_rtc_create(rec_irq_line(&irq));

    set_alarm(r, read_time(r) + 30 * MS);
    CHECK_EQ(rd(r, ALARM_STATUS), 1);
    /* rtc-goldfish cancels with CLEAR_ALARM when ALARM_STATUS is set. */
    wr(r, CLEAR_ALARM, 1);
    CHECK_EQ(rd(r, ALARM_STATUS), 0);
    sleep_ms(80);
    CHECK(!rec_irq_level(&irq));
    CHECK_EQ(irq.raises, 0);

    /* Moving the clock past an armed alarm fires it. */
    uint64_t now = read_time(r);
    set_alarm(r, now + 3600ull * 1000 * MS);
    CHECK(!rec_irq_level(&irq));
    wr(r, TIME_HIGH, (uint32_t)((now + 7200ull * 1000 * MS) >> 32));
    wr(r, TIME_LOW, (uint32_t)(now + 7200ull * 1000 * MS));
    CHECK(rec_irq_level(&irq));

    /* Reset disarms and lowers the line. */
    set_alarm(r, read_time(r) + 20 * MS);
    mq_goldfish_rtc_ops.reset(r);
    CHECK(!rec_irq_level(&irq));
    CHECK_EQ(rd(r, ALARM_STATUS), 0);
    CHECK_EQ(rd(r, IRQ_ENABLED), 0);
    sleep_ms(60);
    CHECK(!rec_irq_level(&irq));

    /* Only aligned 32-bit accesses reach the device; holes read 0. */
    uint64_t v;
    CHECK(mq_goldfish_rtc_ops.read(r, 1, 4, &v) < 0);
    CHECK_EQ(rd(r, 0x20), 0);
    CHECK_EQ(rd(r, CLEAR_ALARM), 0);
    wr(r, ALARM_STATUS, 1); /* read-only */
    CHECK_EQ(rd(r, ALARM_STATUS), 0);
    mq_goldfish_rtc_ops.destroy(r);
}

static void test_destroy_while_armed(void)
{
    struct rec_irq irq = {0};
    struct mq_goldfish_rtc *r = mq_goldfish_rtc_create(rec_irq_line(&irq));

    /* The thread sleeps until a far alarm; destroy must wake and join it. */
    set_alarm(r, read_time(r) + 3600ull * 1000 * MS);
    uint64_t start = mq_clock_monotonic_ns();
    mq_goldfish_rtc_ops.destroy(r);
    CHECK(mq_clock_monotonic_ns() - start < 1000 * MS);
}

static void test_save_load(void)
{
    struct rec_irq irq = {0}, irq2 = {0};
    struct mq_goldfish_rtc *r = mq_goldfish_rtc_create(rec_irq_line(&irq));
    struct mq_goldfish_rtc *c = mq_goldfish_rtc_create(rec_irq_line(&irq2));
    uint64_t year = 365ull * 24 * 3600 * 1000 * MS, t, alarm;
    struct mqt_blob b;

    /* Guest time a year ahead of the host, a fired alarm not yet
     * acknowledged, and a new alarm armed an hour ahead. */
    t = read_time(r) + year;
    wr(r, TIME_HIGH, (uint32_t)(t >> 32));
    wr(r, TIME_LOW, (uint32_t)t);
    set_alarm(r, 1);
    CHECK(rec_irq_level(&irq));
    alarm = read_time(r) + 3600ull * 1000 * MS;
    wr(r, ALARM_HIGH, (uint32_t)(alarm >> 32));
    wr(r, ALARM_LOW, (uint32_t)alarm);
    CHECK_EQ(rd(r, ALARM_STATUS), 1);
    CHECK_EQ(mqt_save(mq_goldfish_rtc_ops.save, r, &b), 0);

    mq_goldfish_rtc_ops.reset(r);
    CHECK(!rec_irq_level(&irq));
    CHECK_EQ(mqt_load(mq_goldfish_rtc_ops.load, r, &b), 0);
    CHECK(rec_irq_level(&irq));
    CHECK_EQ(mqt_load(mq_goldfish_rtc_ops.load, c, &b), 0);
    CHECK(rec_irq_level(&irq2));
    for (unsigned i = 0; i < 2; i++) {
        struct mq_goldfish_rtc *d = i ? c : r;

        CHECK_EQ(rd(d, ALARM_STATUS), 1);
        CHECK_EQ(rd(d, ALARM_LOW), (uint32_t)alarm);
        CHECK_EQ(rd(d, ALARM_HIGH), (uint32_t)(alarm >> 32));
        CHECK_EQ(rd(d, IRQ_ENABLED), 1);
        /* The offset came back: still a year ahead of the host. */
        t = read_time(d);
        CHECK(t - mq_clock_realtime_ns() > year - 1000 * MS);
        CHECK(t - mq_clock_realtime_ns() < year + 1000 * MS);
    }
    wr(c, CLEAR_INTERRUPT, 1);
    CHECK(!rec_irq_level(&irq2));

    /* Field 5 is the armed flag; field 7 the interrupt enable. */
    CHECK_EQ(mqt_load_with(mq_goldfish_rtc_ops.load, c, &b, 5, 2), -EINVAL);
    CHECK_EQ(mqt_load_with(mq_goldfish_rtc_ops.load, c, &b, 7, 255), -EINVAL);
    CHECK(!rec_irq_level(&irq2));
    /* An alarm saved armed and due by now fires at load. */
    CHECK_EQ(mqt_load_with(mq_goldfish_rtc_ops.load, c, &b, 4, 5), 0);
    CHECK(rec_irq_level(&irq2));
    CHECK_EQ(rd(c, ALARM_STATUS), 0);
    mqt_free(&b);
    mq_goldfish_rtc_ops.destroy(c);
    mq_goldfish_rtc_ops.destroy(r);
}

int main(void)
{
    RUN(test_time);
    RUN(test_alarm_fires);
    RUN(test_alarm_past_and_masking);
    RUN(test_clear_alarm);
    RUN(test_destroy_while_armed);
    RUN(test_save_load);
    return hw_test_failures ? 1 : 0;
}
