/* SPDX-License-Identifier: MIT */
/* Tests of virtio-rng: buffers filled with entropy, the per-request cap, bad chains, the I/O thread. */
#include "virtio/virtio_rng.h"

#include <time.h>

#include "virtio/virtio_test_driver.h"
#include "util/state_testutil.h"

#define BUF (TD_DATA)

static void setup(struct td *t, struct mq_event_loop *loop)
{
    CHECK_EQ(td_create(t), 0);
    CHECK_EQ(mq_virtio_rng_create(t->vdev, loop), 0);
    CHECK_EQ(td_init(t, ~0ull, 1, 64), 0);
}

/* Submit, kick, wait (up to 5 s for the I/O thread); returns the used length or -1. */
static long long request(struct td *t, const struct td_buf *b, unsigned n)
{
    uint32_t id, len;
    uint16_t head = td_add(t, 0, b, n);

    td_kick(t, 0);
    for (int i = 0; i < 5000; i++) {
        if (td_used(t, 0, &id, &len)) {
            CHECK_EQ(id, head);
            return len;
        }
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return -1;
}

static bool all_zero(struct td *t, uint64_t gpa, uint64_t len)
{
    const uint8_t *p = mq_guest_mem_ptr(&t->gm, gpa, len);

    for (uint64_t i = 0; p && i < len; i++) {
        if (p[i])
            return false;
    }
    return true;
}

static void test_basic(struct mq_event_loop *loop)
{
    struct td t;

    setup(&t, loop);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_DEVICE_ID), MQ_VIRTIO_ID_RNG);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_CONFIG), 0);

    struct td_buf one[] = {{BUF, 64, true}};
    CHECK_EQ(request(&t, one, 1), 64);
    CHECK(!all_zero(&t, BUF, 64)); /* 2^-512 chance of a false failure */
    CHECK(all_zero(&t, BUF + 64, 64));
    CHECK(t.irq_level);
    CHECK_EQ(td_ack_irq(&t), MQ_VIRTIO_ISR_QUEUE);

    /* Scattered buffers are all filled. */
    struct td_buf two[] = {{BUF + 0x1000, 10, true}, {BUF + 0x2000, 20, true}};
    CHECK_EQ(request(&t, two, 2), 30);
    CHECK(!all_zero(&t, BUF + 0x2000, 20));

    /* One huge request gets at most MQ_VIRTIO_RNG_MAX_REQUEST bytes. */
    struct td_buf huge[] = {{BUF + 0x10000, 1u << 20, true}};
    CHECK_EQ(request(&t, huge, 1), MQ_VIRTIO_RNG_MAX_REQUEST);
    CHECK(all_zero(&t, BUF + 0x10000 + MQ_VIRTIO_RNG_MAX_REQUEST, 4096));

    /* A readable-only buffer gets nothing, without an error. */
    struct td_buf ro[] = {{BUF + 0x3000, 16, false}};
    CHECK_EQ(request(&t, ro, 1), 0);
    CHECK(all_zero(&t, BUF + 0x3000, 16));
    CHECK(!(td_status(&t) & MQ_VIRTIO_STATUS_NEEDS_RESET));

    /* A buffer outside RAM: device needs reset, nothing written. */
    struct td_buf bad[] = {{TD_RAM_BASE + TD_RAM_SIZE - 8, 16, true}};
    td_add(&t, 0, bad, 1);
    td_kick(&t, 0);
    for (int i = 0; i < 5000 && !(td_status(&t) & MQ_VIRTIO_STATUS_NEEDS_RESET); i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    CHECK(td_status(&t) & MQ_VIRTIO_STATUS_NEEDS_RESET);
    CHECK(all_zero(&t, TD_RAM_BASE + TD_RAM_SIZE - 8, 8));
    /* And it recovers after a reset. */
    CHECK_EQ(td_init(&t, ~0ull, 1, 64), 0);
    CHECK_EQ(request(&t, one, 1), 64);
    td_destroy(&t);
}

/* Save with the I/O thread running, reset, load, and carry on. */
static void test_save_load(struct mq_event_loop *loop)
{
    struct td t;
    struct mqt_blob b;
    struct td_buf one[] = {{BUF, 32, true}};

    setup(&t, loop);
    CHECK_EQ(request(&t, one, 1), 32);
    CHECK_EQ(mqt_save(mq_virtio_mmio_ops.save, t.mmio, &b), 0);
    mq_virtio_mmio_ops.reset(t.mmio);
    CHECK(!t.irq_level);
    CHECK_EQ(mqt_load(mq_virtio_mmio_ops.load, t.mmio, &b), 0);
    CHECK(t.irq_level); /* the unacknowledged used-buffer interrupt is back */
    CHECK_EQ(td_ack_irq(&t), MQ_VIRTIO_ISR_QUEUE);
    CHECK_EQ(request(&t, one, 1), 32);
    CHECK_EQ(t.vdev->queues[0].vq.used_idx, 2);
    /* With one queue (16 fields from 13) the model's version is field 29. */
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, 29, 5), -EPROTONOSUPPORT);
    CHECK(strstr(mqt_errmsg, "virtio-rng state version 5") != NULL);
    mqt_free(&b);
    td_destroy(&t);
}

int main(void)
{
    struct mq_event_loop *loop;

    mq_log_set_level(MQ_LOG_ERROR);
    test_basic(NULL);
    test_save_load(NULL);
    CHECK_EQ(mq_event_loop_create(&loop), 0);
    CHECK_EQ(mq_event_loop_start(loop, "rng-test"), 0);
    test_basic(loop);
    test_save_load(loop);
    mq_event_loop_destroy(loop);
    return td_finish("virtio_rng_test");
}
