/* SPDX-License-Identifier: MIT */
/*
 * Tests of virtio-input: config space answers, key events with and without
 * buffers, the statusq, bad chains, snapshots, pressing from threads.
 */
#include "virtio/virtio_input.h"

#include <pthread.h>
#include <time.h>

#include "virtio/virtio_test_driver.h"
#include "util/state_testutil.h"

#define EVQ MQ_VIRTIO_INPUT_EVENTQ
#define STQ MQ_VIRTIO_INPUT_STATUSQ
#define EVBUF(i) (TD_DATA + 0x10ull * (i))
#define STBUF (TD_DATA + 0x10000)
/* With two queues (16 fields each from 13) the model's fields start at 45. */
#define F_VERSION 45
#define F_SELECT 46
#define F_COUNT 48
#define F_EV0_TYPE 49

struct ev {
    uint16_t type, code;
    uint32_t value;
};

static void setup(struct td *t, struct mq_event_loop *loop, struct mq_virtio_input **in)
{
    CHECK_EQ(td_create(t), 0);
    CHECK_EQ(mq_virtio_input_create(t->vdev, loop, in), 0);
    CHECK_EQ(td_init(t, ~0ull, 2, 64), 0);
}

static void sleep_ms(long ms)
{
    nanosleep(&(struct timespec){0, ms * 1000000}, NULL);
}

static uint32_t cfg8(struct td *t, uint32_t off)
{
    uint64_t v = 0xdead;

    CHECK_EQ(mq_virtio_mmio_ops.read(t->mmio, MQ_VIRTIO_MMIO_CONFIG + off, 1, &v), 0);
    return (uint32_t)v;
}

static void cfg_write8(struct td *t, uint32_t off, uint8_t v)
{
    CHECK_EQ(mq_virtio_mmio_ops.write(t->mmio, MQ_VIRTIO_MMIO_CONFIG + off, 1, v), 0);
}

/* Linux virtinput_cfg_select(): write select and subsel, read size. */
static uint32_t cfg_select(struct td *t, uint8_t sel, uint8_t sub)
{
    cfg_write8(t, MQ_VIRTIO_INPUT_CFG_SELECT, sel);
    cfg_write8(t, MQ_VIRTIO_INPUT_CFG_SUBSEL, sub);
    return cfg8(t, MQ_VIRTIO_INPUT_CFG_SIZE_REG);
}

static void test_config(void)
{
    struct td t;
    struct mq_virtio_input *in;
    char name[129] = {0};
    uint32_t size;

    setup(&t, NULL, &in);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_DEVICE_ID), MQ_VIRTIO_ID_INPUT);
    /* No device feature bits (section 5.8.3). */
    CHECK_EQ(td_device_features(&t) & 0xffffffull, 0);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
    CHECK_EQ(cfg8(&t, MQ_VIRTIO_INPUT_CFG_SIZE_REG), 0);   /* UNSET after reset */

    size = cfg_select(&t, MQ_VIRTIO_INPUT_CFG_ID_NAME, 0);
    CHECK_EQ(size, strlen(MQ_VIRTIO_INPUT_NAME));
    for (uint32_t i = 0; i < size; i++)
        name[i] = (char)cfg8(&t, MQ_VIRTIO_INPUT_CFG_U + i);
    CHECK(strcmp(name, MQ_VIRTIO_INPUT_NAME) == 0);
    CHECK_EQ(cfg8(&t, MQ_VIRTIO_INPUT_CFG_SELECT), MQ_VIRTIO_INPUT_CFG_ID_NAME);
    CHECK_EQ(cfg_select(&t, MQ_VIRTIO_INPUT_CFG_ID_NAME, 1), 0);   /* subsel must be 0 */

    CHECK_EQ(cfg_select(&t, MQ_VIRTIO_INPUT_CFG_ID_SERIAL, 0), 0);
    CHECK_EQ(cfg_select(&t, MQ_VIRTIO_INPUT_CFG_ID_DEVIDS, 0), 8);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_CONFIG + MQ_VIRTIO_INPUT_CFG_U),
             MQ_INPUT_BUS_VIRTUAL);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_CONFIG + MQ_VIRTIO_INPUT_CFG_U + 4), 0x00010001);
    CHECK_EQ(cfg_select(&t, MQ_VIRTIO_INPUT_CFG_PROP_BITS, 0), 0);

    /* EV_KEY: only KEY_POWER (116: byte 14, bit 4). */
    CHECK_EQ(cfg_select(&t, MQ_VIRTIO_INPUT_CFG_EV_BITS, MQ_INPUT_EV_KEY), 15);
    for (uint32_t i = 0; i < 128; i++)
        CHECK_EQ(cfg8(&t, MQ_VIRTIO_INPUT_CFG_U + i), i == 14 ? 0x10 : 0);
    CHECK_EQ(cfg_select(&t, MQ_VIRTIO_INPUT_CFG_EV_BITS, MQ_INPUT_EV_SYN), 1);
    CHECK_EQ(cfg8(&t, MQ_VIRTIO_INPUT_CFG_U), 1);            /* SYN_REPORT */
    for (unsigned type = 2; type < 256; type++)             /* EV_REL, EV_ABS, EV_LED, EV_REP... */
        CHECK_EQ(cfg_select(&t, MQ_VIRTIO_INPUT_CFG_EV_BITS, (uint8_t)type), 0);
    for (unsigned axis = 0; axis < 64; axis++)
        CHECK_EQ(cfg_select(&t, MQ_VIRTIO_INPUT_CFG_ABS_INFO, (uint8_t)axis), 0);
    CHECK_EQ(cfg_select(&t, 0x04, 0), 0);
    CHECK_EQ(cfg_select(&t, 0xff, 0xff), 0);
    CHECK_EQ(cfg8(&t, MQ_VIRTIO_INPUT_CFG_U), 0);            /* nothing left from before */

    /* A 16-bit write sets select and subsel at once; size and u stay the device's. */
    CHECK_EQ(mq_virtio_mmio_ops.write(t.mmio, MQ_VIRTIO_MMIO_CONFIG, 2,
                                      MQ_VIRTIO_INPUT_CFG_EV_BITS | MQ_INPUT_EV_KEY << 8), 0);
    CHECK_EQ(cfg8(&t, MQ_VIRTIO_INPUT_CFG_SIZE_REG), 15);
    cfg_write8(&t, MQ_VIRTIO_INPUT_CFG_SIZE_REG, 99);
    cfg_write8(&t, MQ_VIRTIO_INPUT_CFG_U + 14, 0xff);
    CHECK_EQ(cfg8(&t, MQ_VIRTIO_INPUT_CFG_SIZE_REG), 15);
    CHECK_EQ(cfg8(&t, MQ_VIRTIO_INPUT_CFG_U + 14), 0x10);
    /* Past the end: reads 0. */
    CHECK_EQ(cfg8(&t, MQ_VIRTIO_INPUT_CFG_SIZE), 0);

    /* A device reset forgets the selection. */
    CHECK_EQ(td_init(&t, ~0ull, 2, 64), 0);
    CHECK_EQ(cfg8(&t, MQ_VIRTIO_INPUT_CFG_SELECT), 0);
    CHECK_EQ(cfg8(&t, MQ_VIRTIO_INPUT_CFG_SIZE_REG), 0);
    td_destroy(&t);
}

/* Post one one-event buffer: descriptor slot s (the used id) holds EVBUF(s). */
static void post_one(struct td *t)
{
    struct td_buf b = {EVBUF(t->q[EVQ].next_desc), 8, true};

    td_add(t, EVQ, &b, 1);
}

/* Post n one-event buffers on the eventq and kick. */
static void post_events(struct td *t, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        post_one(t);
    td_kick(t, EVQ);
}

static struct ev read_event(struct td *t, uint64_t gpa)
{
    const uint8_t *p = mq_guest_mem_ptr(&t->gm, gpa, 8);

    return (struct ev){mq_get_le16(p), mq_get_le16(p + 2), mq_get_le32(p + 4)};
}

/* Take up to max used eventq buffers (up to 5 s for the first want) and decode them. */
static unsigned take_events(struct td *t, struct ev *out, unsigned max, unsigned want)
{
    unsigned n = 0;
    uint32_t id, len;

    for (int i = 0; i < 5000 && n < want; i++) {
        while (n < max && td_used(t, EVQ, &id, &len)) {
            CHECK_EQ(len, 8);
            out[n++] = read_event(t, EVBUF(id));
        }
        if (n < want)
            sleep_ms(1);
    }
    while (n < max && td_used(t, EVQ, &id, &len))
        out[n++] = read_event(t, EVBUF(id));
    return n;
}

static void check_press(const struct ev *e)
{
    CHECK(e[0].type == MQ_INPUT_EV_KEY && e[0].code == MQ_INPUT_KEY_POWER && e[0].value == 1);
    CHECK(e[1].type == MQ_INPUT_EV_SYN && e[1].code == MQ_INPUT_SYN_REPORT && e[1].value == 0);
    CHECK(e[2].type == MQ_INPUT_EV_KEY && e[2].code == MQ_INPUT_KEY_POWER && e[2].value == 0);
    CHECK(e[3].type == MQ_INPUT_EV_SYN && e[3].code == MQ_INPUT_SYN_REPORT && e[3].value == 0);
}

static void test_events(struct mq_event_loop *loop)
{
    struct td t;
    struct mq_virtio_input *in;
    struct ev e[64];

    CHECK_EQ(td_create(&t), 0);
    CHECK_EQ(mq_virtio_input_create(t.vdev, loop, &in), 0);
    /* No driver yet: refused, nothing kept for later. */
    CHECK_EQ(mq_virtio_input_press_key(in, MQ_INPUT_KEY_POWER), -ENODEV);
    CHECK_EQ(td_init(&t, ~0ull, 2, 64), 0);
    CHECK_EQ(mq_virtio_input_pending(in), 0);
    CHECK_EQ(mq_virtio_input_press_key(in, 30 /* KEY_A */), -EINVAL);

    /* Buffers first: the press goes out at once, with an interrupt. */
    post_events(&t, 8);
    CHECK_EQ(mq_virtio_input_press_key(in, MQ_INPUT_KEY_POWER), 0);
    CHECK_EQ(take_events(&t, e, 64, 4), 4);
    check_press(e);
    CHECK(t.irq_level);
    CHECK_EQ(td_ack_irq(&t), MQ_VIRTIO_ISR_QUEUE);
    CHECK_EQ(mq_virtio_input_pending(in), 0);

    /* Four buffers left: the second press fills them, the third waits for buffers. */
    CHECK_EQ(mq_virtio_input_press_key(in, MQ_INPUT_KEY_POWER), 0);
    CHECK_EQ(mq_virtio_input_press_key(in, MQ_INPUT_KEY_POWER), 0);
    CHECK_EQ(mq_virtio_input_pending(in), 4);
    CHECK_EQ(take_events(&t, e, 64, 4), 4);
    check_press(e);
    post_events(&t, 2);
    CHECK_EQ(take_events(&t, e, 64, 2), 2);
    CHECK_EQ(mq_virtio_input_pending(in), 2);
    post_events(&t, 2);
    CHECK_EQ(take_events(&t, e + 2, 62, 2), 2);
    check_press(e);
    CHECK_EQ(mq_virtio_input_pending(in), 0);

    /* The bounded queue: 16 presses wait, the 17th is refused whole. */
    for (unsigned i = 0; i < MQ_VIRTIO_INPUT_PENDING_MAX / 4; i++)
        CHECK_EQ(mq_virtio_input_press_key(in, MQ_INPUT_KEY_POWER), 0);
    CHECK_EQ(mq_virtio_input_pending(in), MQ_VIRTIO_INPUT_PENDING_MAX);
    CHECK_EQ(mq_virtio_input_press_key(in, MQ_INPUT_KEY_POWER), -ENOBUFS);
    post_events(&t, 48);
    CHECK_EQ(take_events(&t, e, 64, 48), 48);
    for (unsigned i = 0; i < 48; i += 4)
        check_press(e + i);
    post_events(&t, 16);
    CHECK_EQ(take_events(&t, e, 64, 16), 16);
    for (unsigned i = 0; i < 16; i += 4)
        check_press(e + i);
    CHECK_EQ(mq_virtio_input_pending(in), 0);
    CHECK(!(td_status(&t) & MQ_VIRTIO_STATUS_NEEDS_RESET));

    /* A reset drops what waits. */
    CHECK_EQ(mq_virtio_input_press_key(in, MQ_INPUT_KEY_POWER), 0);
    CHECK_EQ(mq_virtio_input_pending(in), 4);
    td_wr(&t, MQ_VIRTIO_MMIO_STATUS, 0);
    CHECK_EQ(mq_virtio_input_pending(in), 0);
    CHECK_EQ(mq_virtio_input_press_key(in, MQ_INPUT_KEY_POWER), -ENODEV);
    td_destroy(&t);
}

static void wait_needs_reset(struct td *t)
{
    for (int i = 0; i < 5000 && !(td_status(t) & MQ_VIRTIO_STATUS_NEEDS_RESET); i++)
        sleep_ms(1);
    CHECK(td_status(t) & MQ_VIRTIO_STATUS_NEEDS_RESET);
}

/* One bad chain on queue q after probing again: the device needs reset. */
static void bad_chain(struct td *t, struct mq_virtio_input *in, unsigned q,
                      const struct td_buf *b, unsigned n)
{
    struct ev e[4];

    CHECK_EQ(td_init(t, ~0ull, 2, 64), 0);
    CHECK_EQ(mq_virtio_input_press_key(in, MQ_INPUT_KEY_POWER), 0);
    td_add(t, q, b, n);
    td_kick(t, q);
    wait_needs_reset(t);
    CHECK_EQ(take_events(t, e, 4, 0), 0);
    /* Refused now, and nothing waits once the driver resets. */
    CHECK_EQ(mq_virtio_input_press_key(in, MQ_INPUT_KEY_POWER), -ENODEV);
    td_wr(t, MQ_VIRTIO_MMIO_STATUS, 0);
    CHECK_EQ(mq_virtio_input_pending(in), 0);
}

static void test_status_and_errors(struct mq_event_loop *loop)
{
    struct td t;
    struct mq_virtio_input *in;
    uint32_t id, len;

    setup(&t, loop, &in);
    /* A status event (an LED update): taken, nothing written, no error. */
    struct td_buf led = {STBUF, 8, false};
    uint16_t head = td_add(&t, STQ, &led, 1);
    td_kick(&t, STQ);
    bool got = false;
    for (int i = 0; i < 5000 && !(got = td_used(&t, STQ, &id, &len)); i++)
        sleep_ms(1);
    CHECK(got);
    CHECK_EQ(id, head);
    CHECK_EQ(len, 0);
    /* Two events in one buffer are fine too. */
    struct td_buf two = {STBUF, 16, false};
    td_add(&t, STQ, &two, 1);
    td_kick(&t, STQ);
    got = false;
    for (int i = 0; i < 5000 && !(got = td_used(&t, STQ, &id, &len)); i++)
        sleep_ms(1);
    CHECK(got);
    CHECK(!(td_status(&t) & MQ_VIRTIO_STATUS_NEEDS_RESET));

    /* Status buffers: short, not whole events, empty, writable. */
    struct td_buf short_st = {STBUF, 5, false};
    bad_chain(&t, in, STQ, &short_st, 1);
    struct td_buf odd_st = {STBUF, 12, false};
    bad_chain(&t, in, STQ, &odd_st, 1);
    struct td_buf empty_st = {STBUF, 0, false};
    bad_chain(&t, in, STQ, &empty_st, 1);
    struct td_buf wr_st[] = {{STBUF, 8, false}, {STBUF + 8, 8, true}};
    bad_chain(&t, in, STQ, wr_st, 2);

    /* Event buffers: too short, readable, outside RAM, a descriptor loop. */
    struct td_buf short_ev = {EVBUF(0), 7, true};
    bad_chain(&t, in, EVQ, &short_ev, 1);
    struct td_buf ro_ev = {EVBUF(0), 8, false};
    bad_chain(&t, in, EVQ, &ro_ev, 1);
    struct td_buf mixed_ev[] = {{EVBUF(0), 8, false}, {EVBUF(1), 8, true}};
    bad_chain(&t, in, EVQ, mixed_ev, 2);
    struct td_buf out_ev = {TD_RAM_BASE + TD_RAM_SIZE - 4, 8, true};
    bad_chain(&t, in, EVQ, &out_ev, 1);
    CHECK_EQ(td_init(&t, ~0ull, 2, 64), 0);
    td_put_desc(&t, t.q[EVQ].desc, 0, EVBUF(0), 8,
                MQ_VIRTQ_DESC_F_WRITE | MQ_VIRTQ_DESC_F_NEXT, 0);
    td_put16(&t, t.q[EVQ].avail + 4, 0);
    td_put16(&t, t.q[EVQ].avail + 2, 1);
    CHECK_EQ(mq_virtio_input_press_key(in, MQ_INPUT_KEY_POWER), 0);
    wait_needs_reset(&t);

    /* A larger buffer gets one event of 8 bytes, and the device recovers after a reset. */
    CHECK_EQ(td_init(&t, ~0ull, 2, 64), 0);
    struct td_buf big = {EVBUF(0), 64, true};
    head = td_add(&t, EVQ, &big, 1);
    td_kick(&t, EVQ);
    CHECK_EQ(mq_virtio_input_press_key(in, MQ_INPUT_KEY_POWER), 0);
    got = false;
    for (int i = 0; i < 5000 && !(got = td_used(&t, EVQ, &id, &len)); i++)
        sleep_ms(1);
    CHECK(got);
    CHECK_EQ(id, head);
    CHECK_EQ(len, 8);
    CHECK_EQ(mq_virtio_input_pending(in), 3);
    CHECK(!(td_status(&t) & MQ_VIRTIO_STATUS_NEEDS_RESET));
    td_destroy(&t);
}

/* Save with events waiting and a config selection, reset, load: both come back. */
static void test_save_load(struct mq_event_loop *loop)
{
    struct td t;
    struct mq_virtio_input *in;
    struct mqt_blob b;
    struct ev e[8];

    setup(&t, loop, &in);
    cfg_select(&t, MQ_VIRTIO_INPUT_CFG_EV_BITS, MQ_INPUT_EV_KEY);
    post_events(&t, 2);
    CHECK_EQ(mq_virtio_input_press_key(in, MQ_INPUT_KEY_POWER), 0);
    CHECK_EQ(take_events(&t, e, 8, 2), 2);
    CHECK_EQ(mq_virtio_input_pending(in), 2);
    CHECK_EQ(mqt_save(mq_virtio_mmio_ops.save, t.mmio, &b), 0);
    mq_virtio_mmio_ops.reset(t.mmio);
    CHECK_EQ(mq_virtio_input_pending(in), 0);
    CHECK_EQ(cfg8(&t, MQ_VIRTIO_INPUT_CFG_SIZE_REG), 0);
    CHECK_EQ(mqt_load(mq_virtio_mmio_ops.load, t.mmio, &b), 0);
    CHECK_EQ(mq_virtio_input_pending(in), 2);
    CHECK_EQ(cfg8(&t, MQ_VIRTIO_INPUT_CFG_SELECT), MQ_VIRTIO_INPUT_CFG_EV_BITS);
    CHECK_EQ(cfg8(&t, MQ_VIRTIO_INPUT_CFG_SIZE_REG), 15);
    CHECK_EQ(cfg8(&t, MQ_VIRTIO_INPUT_CFG_U + 14), 0x10);
    post_events(&t, 2);
    CHECK_EQ(take_events(&t, e + 2, 6, 2), 2);
    check_press(e);
    CHECK_EQ(mq_virtio_input_pending(in), 0);

    /* Refusals: version, count, an event the device never sends. */
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, F_VERSION, 7),
             -EPROTONOSUPPORT);
    CHECK(strstr(mqt_errmsg, "virtio-input state version 7") != NULL);
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, F_COUNT, 65), -EINVAL);
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, F_EV0_TYPE, 3), -EINVAL);
    CHECK(strstr(mqt_errmsg, "not one this device sends") != NULL);
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, F_EV0_TYPE + 2, 2), -EINVAL);
    /* Any select value is legal, as a register write is. */
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, F_SELECT, 0xee), 0);
    CHECK_EQ(cfg8(&t, MQ_VIRTIO_INPUT_CFG_SELECT), 0xee);
    CHECK_EQ(cfg8(&t, MQ_VIRTIO_INPUT_CFG_SIZE_REG), 0);
    mqt_free(&b);
    td_destroy(&t);
}

struct presser {
    struct mq_virtio_input *in;
    unsigned ok;
    bool done;
};

static void *press_thread(void *arg)
{
    struct presser *p = arg;

    for (int i = 0; i < 200; i++) {
        int ret = mq_virtio_input_press_key(p->in, MQ_INPUT_KEY_POWER);
        CHECK(ret == 0 || ret == -ENOBUFS);
        if (ret == 0)
            p->ok++;
        if (i % 16 == 0)
            sleep_ms(1);
    }
    __atomic_store_n(&p->done, true, __ATOMIC_RELEASE);
    return NULL;
}

/* Count the used event buffers and give them back, as Linux's virtinput_recv_events() does. */
static void recycle(struct td *t, unsigned *got, unsigned *keys)
{
    uint32_t id, len;

    while (td_used(t, EVQ, &id, &len)) {
        struct ev e = read_event(t, EVBUF(id));
        *keys += e.type == MQ_INPUT_EV_KEY && e.code == MQ_INPUT_KEY_POWER;
        (*got)++;
        post_one(t);
    }
    td_kick(t, EVQ);
}

/* Two threads press while the driver (this thread) recycles buffers: every event arrives. */
static void test_threads(struct mq_event_loop *loop)
{
    struct td t;
    struct mq_virtio_input *in;
    struct presser p[2];
    pthread_t th[2];
    unsigned got = 0, keys = 0, ok;

    setup(&t, loop, &in);
    post_events(&t, 64);
    for (int i = 0; i < 2; i++) {
        p[i] = (struct presser){in, 0, false};
        CHECK_EQ(pthread_create(&th[i], NULL, press_thread, &p[i]), 0);
    }
    while (!__atomic_load_n(&p[0].done, __ATOMIC_ACQUIRE) ||
           !__atomic_load_n(&p[1].done, __ATOMIC_ACQUIRE))
        recycle(&t, &got, &keys);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    ok = p[0].ok + p[1].ok;
    for (int i = 0; i < 5000 && got < 4 * ok; i++) {
        recycle(&t, &got, &keys);
        sleep_ms(1);
    }
    CHECK(ok > 0);
    CHECK_EQ(got, 4 * ok);
    CHECK_EQ(keys, 2 * ok);
    CHECK_EQ(mq_virtio_input_pending(in), 0);
    CHECK(!(td_status(&t) & MQ_VIRTIO_STATUS_NEEDS_RESET));
    td_destroy(&t);
}

int main(void)
{
    struct mq_event_loop *loop;

    mq_log_set_level(MQ_LOG_ERROR);
    test_config();
    test_events(NULL);
    test_status_and_errors(NULL);
    test_save_load(NULL);
    test_threads(NULL);
    CHECK_EQ(mq_event_loop_create(&loop), 0);
    CHECK_EQ(mq_event_loop_start(loop, "input-test"), 0);
    test_events(loop);
    test_status_and_errors(loop);
    test_save_load(loop);
    test_threads(loop);
    mq_event_loop_destroy(loop);
    return td_finish("virtio_input_test");
}
