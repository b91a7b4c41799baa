/* SPDX-License-Identifier: MIT */
/* Tests of the virtio-mmio v2 transport: Linux's init sequence, bad sequences, interrupts, empty slots. */
#include "virtio/virtio_test_driver.h"

#include "mem/bus.h"

/* A dummy device model: two queues, 8 bytes of config, counters. */
#define DUMMY_ID 0x42
#define DUMMY_F_A 3
#define DUMMY_F_REFUSED 7

struct dummy {
    struct mq_virtio_dev *vdev;
    uint8_t config[8];
    unsigned notified[2];
    unsigned resets;
    bool destroyed;
};

static struct dummy dummy;

static void dummy_read_config(void *model, uint32_t off, void *buf, uint32_t len)
{
    struct dummy *d = model;
    memcpy(buf, d->config + off, len);
}

static void dummy_write_config(void *model, uint32_t off, const void *buf, uint32_t len)
{
    struct dummy *d = model;
    memcpy(d->config + off, buf, len);
}

static int dummy_features_ok(void *model, uint64_t f)
{
    return f & (1ull << DUMMY_F_REFUSED) ? -EINVAL : 0;
}

static void dummy_notify(void *model, unsigned q)
{
    struct dummy *d = model;
    d->notified[q]++;
}

static void dummy_reset(void *model)
{
    struct dummy *d = model;
    d->resets++;
}

static void dummy_destroy(void *model)
{
    struct dummy *d = model;
    d->destroyed = true;
}

static const struct mq_virtio_dev_ops dummy_ops = {
    .name = "dummy",
    .device_id = DUMMY_ID,
    .num_queues = 2,
    .config_size = sizeof(dummy.config),
    .read_config = dummy_read_config,
    .write_config = dummy_write_config,
    .features_ok = dummy_features_ok,
    .queue_notify = dummy_notify,
    .reset = dummy_reset,
    .destroy = dummy_destroy,
};

static const uint64_t all_features = ~0ull;

static void create_dummy(struct td *t)
{
    CHECK_EQ(td_create(t), 0);
    memset(&dummy, 0, sizeof(dummy));
    dummy.vdev = t->vdev;
    for (unsigned i = 0; i < sizeof(dummy.config); i++)
        dummy.config[i] = (uint8_t)(0x10 + i);
    CHECK_EQ(mq_virtio_dev_attach(t->vdev, &dummy_ops, &dummy,
                                  (1ull << DUMMY_F_A) | (1ull << DUMMY_F_REFUSED), 16),
             0);
}

static void test_empty_slot(void)
{
    struct td t;

    CHECK_EQ(td_create(&t), 0);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_MAGIC_VALUE), MQ_VIRTIO_MMIO_MAGIC);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_VERSION_REG), 2);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_DEVICE_ID), 0);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_VENDOR_ID), MQ_VIRTIO_MMIO_VENDOR);
    td_wr(&t, MQ_VIRTIO_MMIO_STATUS, 7);
    CHECK_EQ(td_status(&t), 0);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_CONFIG), 0);
    td_wr(&t, MQ_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK_EQ(td_init(&t, all_features, 1, 8), -ENODEV);
    mq_virtio_mmio_ops.reset(t.mmio);
    td_destroy(&t);
}

static void test_linux_init(void)
{
    struct td t;
    uint64_t f;
    uint64_t v;

    create_dummy(&t);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_DEVICE_ID), DUMMY_ID);
    f = td_device_features(&t);
    CHECK(f & (1ull << MQ_VIRTIO_F_VERSION_1));
    CHECK(f & (1ull << MQ_VIRTIO_F_EVENT_IDX));
    CHECK(f & (1ull << MQ_VIRTIO_F_INDIRECT_DESC));
    CHECK(f & (1ull << DUMMY_F_A));
    td_wr(&t, MQ_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_DEVICE_FEATURES), 0);

    CHECK_EQ(td_init(&t, ~(1ull << DUMMY_F_REFUSED), 2, 16), 0);
    CHECK_EQ(td_status(&t), MQ_VIRTIO_STATUS_ACKNOWLEDGE | MQ_VIRTIO_STATUS_DRIVER |
                                MQ_VIRTIO_STATUS_FEATURES_OK | MQ_VIRTIO_STATUS_DRIVER_OK);
    CHECK(mq_virtio_features(t.vdev) & (1ull << DUMMY_F_A));
    CHECK(mq_virtio_features(t.vdev) & (1ull << MQ_VIRTIO_F_EVENT_IDX));
    td_wr(&t, MQ_VIRTIO_MMIO_QUEUE_SEL, 1);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_QUEUE_READY), 1);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
    td_wr(&t, MQ_VIRTIO_MMIO_QUEUE_SEL, 2);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_QUEUE_READY), 0);
    /* No shared memory regions. */
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_SHM_LEN_LOW), UINT32_MAX);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_SHM_LEN_HIGH), UINT32_MAX);

    /* The driver made queue 1 ready before DRIVER_OK: both queues were looked at. */
    CHECK_EQ(dummy.notified[0], 1);
    CHECK_EQ(dummy.notified[1], 1);
    td_kick(&t, 1);
    CHECK_EQ(dummy.notified[1], 2);
    td_kick(&t, 5); /* no such queue: ignored */
    CHECK_EQ(dummy.notified[0] + dummy.notified[1], 3);

    /* Config space: 8-, 16- and 32-bit accesses, writes reach the model. */
    CHECK_EQ(mq_virtio_mmio_ops.read(t.mmio, MQ_VIRTIO_MMIO_CONFIG + 1, 1, &v), 0);
    CHECK_EQ(v, 0x11);
    CHECK_EQ(mq_virtio_mmio_ops.read(t.mmio, MQ_VIRTIO_MMIO_CONFIG + 2, 2, &v), 0);
    CHECK_EQ(v, 0x1312);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_CONFIG + 4), 0x17161514);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_CONFIG + 8), 0); /* beyond config_size */
    CHECK_EQ(mq_virtio_mmio_ops.write(t.mmio, MQ_VIRTIO_MMIO_CONFIG + 6, 2, 0xbeef), 0);
    CHECK_EQ(dummy.config[6], 0xef);
    CHECK_EQ(dummy.config[7], 0xbe);

    /* Interrupts: level while InterruptStatus != 0. */
    CHECK(!t.irq_level);
    mq_virtio_notify_used(t.vdev, 0);
    CHECK(t.irq_level);
    CHECK_EQ(td_ack_irq(&t), MQ_VIRTIO_ISR_QUEUE);
    CHECK(!t.irq_level);
    unsigned gen = td_rd(&t, MQ_VIRTIO_MMIO_CONFIG_GENERATION);
    mq_virtio_notify_config(t.vdev);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
    mq_virtio_notify_used(t.vdev, 1);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_INTERRUPT_STATUS), MQ_VIRTIO_ISR_QUEUE | MQ_VIRTIO_ISR_CONFIG);
    td_wr(&t, MQ_VIRTIO_MMIO_INTERRUPT_ACK, MQ_VIRTIO_ISR_CONFIG);
    CHECK(t.irq_level);
    td_wr(&t, MQ_VIRTIO_MMIO_INTERRUPT_ACK, MQ_VIRTIO_ISR_QUEUE);
    CHECK(!t.irq_level);

    /* Features cannot change after FEATURES_OK. */
    td_write_features(&t, 0);
    CHECK(mq_virtio_features(t.vdev) & (1ull << DUMMY_F_A));

    /* Queue registers are frozen while the queue is ready. */
    td_wr(&t, MQ_VIRTIO_MMIO_QUEUE_SEL, 0);
    td_wr(&t, MQ_VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
    CHECK_EQ(t.vdev->queues[0].desc, t.q[0].desc);

    /* Reset: status 0, queues not ready, interrupt low, model told. */
    mq_virtio_notify_used(t.vdev, 0);
    unsigned resets = dummy.resets; /* td_init resets first, like Linux */
    td_wr(&t, MQ_VIRTIO_MMIO_STATUS, 0);
    CHECK_EQ(td_status(&t), 0);
    CHECK_EQ(dummy.resets, resets + 1);
    CHECK(!t.irq_level);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_QUEUE_READY), 0);
    CHECK_EQ(mq_virtio_features(t.vdev), 0);
    CHECK(mq_virtio_queue_lock(t.vdev, 0) == NULL);
    /* And it can be brought up again. */
    CHECK_EQ(td_init(&t, ~(1ull << DUMMY_F_REFUSED), 2, 8), 0);
    struct mq_virtq *vq = mq_virtio_queue_lock(t.vdev, 0);
    CHECK(vq != NULL);
    if (vq) {
        CHECK_EQ(vq->size, 8);
        CHECK(vq->event_idx);
        mq_virtio_queue_unlock(t.vdev, 0);
    }
    td_destroy(&t);
    CHECK(dummy.destroyed);
}

static void test_bad_sequences(void)
{
    struct td t;

    /* A driver that does not accept VERSION_1 fails FEATURES_OK. */
    create_dummy(&t);
    CHECK_EQ(td_init(&t, ~(1ull << MQ_VIRTIO_F_VERSION_1), 1, 8), -EPROTO);
    CHECK(!(td_status(&t) & MQ_VIRTIO_STATUS_FEATURES_OK));
    td_destroy(&t);

    /* Features never offered, or refused by the model. */
    create_dummy(&t);
    td_wr(&t, MQ_VIRTIO_MMIO_STATUS, MQ_VIRTIO_STATUS_ACKNOWLEDGE | MQ_VIRTIO_STATUS_DRIVER);
    td_write_features(&t, (1ull << MQ_VIRTIO_F_VERSION_1) | (1ull << 20));
    td_set_status(&t, MQ_VIRTIO_STATUS_FEATURES_OK);
    CHECK(!(td_status(&t) & MQ_VIRTIO_STATUS_FEATURES_OK));
    td_write_features(&t, (1ull << MQ_VIRTIO_F_VERSION_1) | (1ull << DUMMY_F_REFUSED));
    td_set_status(&t, MQ_VIRTIO_STATUS_FEATURES_OK);
    CHECK(!(td_status(&t) & MQ_VIRTIO_STATUS_FEATURES_OK));
    /* DRIVER_OK without FEATURES_OK: needs reset, DRIVER_OK not taken. */
    td_set_status(&t, MQ_VIRTIO_STATUS_DRIVER_OK);
    CHECK(td_status(&t) & MQ_VIRTIO_STATUS_NEEDS_RESET);
    CHECK(!(td_status(&t) & MQ_VIRTIO_STATUS_DRIVER_OK));
    /* The driver cannot clear NEEDS_RESET except by reset. */
    td_wr(&t, MQ_VIRTIO_MMIO_STATUS, MQ_VIRTIO_STATUS_ACKNOWLEDGE);
    CHECK(td_status(&t) & MQ_VIRTIO_STATUS_NEEDS_RESET);
    td_wr(&t, MQ_VIRTIO_MMIO_STATUS, 0);
    CHECK_EQ(td_status(&t), 0);
    td_destroy(&t);

    /* Bad queue setups: size not a power of two, above max, rings outside RAM, misaligned. */
    static const struct {
        uint32_t num;
        uint64_t desc;
    } bad[] = {
        {12, TD_RAM_BASE},
        {32, TD_RAM_BASE},
        {0, TD_RAM_BASE},
        {8, 0x1000},
        {8, TD_RAM_BASE + TD_RAM_SIZE - 64},
        {8, TD_RAM_BASE + 8},
        {8, 0xfffffffffffffff0ull},
    };
    for (unsigned i = 0; i < MQ_ARRAY_SIZE(bad); i++) {
        create_dummy(&t);
        td_wr(&t, MQ_VIRTIO_MMIO_STATUS, MQ_VIRTIO_STATUS_ACKNOWLEDGE | MQ_VIRTIO_STATUS_DRIVER);
        td_write_features(&t, 1ull << MQ_VIRTIO_F_VERSION_1);
        td_set_status(&t, MQ_VIRTIO_STATUS_FEATURES_OK);
        td_wr(&t, MQ_VIRTIO_MMIO_QUEUE_SEL, 0);
        td_wr(&t, MQ_VIRTIO_MMIO_QUEUE_NUM, bad[i].num);
        td_wr(&t, MQ_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)bad[i].desc);
        td_wr(&t, MQ_VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(bad[i].desc >> 32));
        td_wr(&t, MQ_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(TD_RAM_BASE + 0x8000));
        td_wr(&t, MQ_VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(TD_RAM_BASE >> 32));
        td_wr(&t, MQ_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(TD_RAM_BASE + 0x9000));
        td_wr(&t, MQ_VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(TD_RAM_BASE >> 32));
        td_wr(&t, MQ_VIRTIO_MMIO_QUEUE_READY, 1);
        CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_QUEUE_READY), 0);
        CHECK(td_status(&t) & MQ_VIRTIO_STATUS_NEEDS_RESET);
        /* No DRIVER_OK yet: no config interrupt. */
        CHECK(!t.irq_level);
        td_destroy(&t);
    }

    /* A model reporting a driver error after DRIVER_OK: config interrupt. */
    create_dummy(&t);
    CHECK_EQ(td_init(&t, ~(1ull << DUMMY_F_REFUSED), 2, 8), 0);
    mq_virtio_set_needs_reset(t.vdev, -EINVAL);
    CHECK(td_status(&t) & MQ_VIRTIO_STATUS_NEEDS_RESET);
    CHECK(t.irq_level);
    CHECK_EQ(td_ack_irq(&t), MQ_VIRTIO_ISR_CONFIG);
    /* Notifies are dropped and the queues refuse to be locked until reset. */
    unsigned before = dummy.notified[0];
    td_kick(&t, 0);
    CHECK_EQ(dummy.notified[0], before);
    CHECK(mq_virtio_queue_lock(t.vdev, 0) == NULL);
    mq_virtio_set_needs_reset(t.vdev, -EINVAL); /* idempotent: no second interrupt */
    CHECK(!t.irq_level);
    td_wr(&t, MQ_VIRTIO_MMIO_STATUS, 0);
    CHECK_EQ(td_init(&t, ~(1ull << DUMMY_F_REFUSED), 2, 8), 0);
    CHECK(mq_virtio_queue_lock(t.vdev, 0) != NULL);
    mq_virtio_queue_unlock(t.vdev, 0);

    /* Control registers only take aligned 32-bit accesses; others are dropped. */
    uint64_t v = 1;
    CHECK_EQ(mq_virtio_mmio_ops.read(t.mmio, MQ_VIRTIO_MMIO_MAGIC_VALUE, 2, &v), 0);
    CHECK_EQ(v, 0);
    CHECK_EQ(mq_virtio_mmio_ops.write(t.mmio, MQ_VIRTIO_MMIO_STATUS, 1, 0), 0);
    CHECK(td_status(&t) & MQ_VIRTIO_STATUS_DRIVER_OK);
    /* Writes to read-only registers are ignored. */
    td_wr(&t, MQ_VIRTIO_MMIO_MAGIC_VALUE, 0);
    td_wr(&t, MQ_VIRTIO_MMIO_INTERRUPT_STATUS, 3);
    CHECK_EQ(td_rd(&t, MQ_VIRTIO_MMIO_MAGIC_VALUE), MQ_VIRTIO_MMIO_MAGIC);
    td_destroy(&t);
}

static void test_attach_checks(void)
{
    struct td t;
    struct mq_virtio_dev_ops bad = dummy_ops;

    CHECK_EQ(td_create(&t), 0);
    CHECK_EQ(mq_virtio_dev_attach(t.vdev, &dummy_ops, &dummy, 0, 12), -EINVAL);
    CHECK_EQ(mq_virtio_dev_attach(t.vdev, &dummy_ops, &dummy, 0, 65536), -EINVAL);
    bad.num_queues = MQ_VIRTIO_MAX_QUEUES + 1;
    CHECK_EQ(mq_virtio_dev_attach(t.vdev, &bad, &dummy, 0, 8), -EINVAL);
    CHECK_EQ(mq_virtio_dev_attach(t.vdev, &dummy_ops, &dummy, 0, 8), 0);
    CHECK_EQ(mq_virtio_dev_attach(t.vdev, &dummy_ops, &dummy, 0, 8), -EBUSY);
    td_destroy(&t);
}

/* Through the bus, as a hart sees it: 64-bit config reads are split. */
static void test_on_bus(void)
{
    struct td t;
    struct mq_bus bus;
    uint64_t v;
    const uint64_t base = 0x10001000;

    create_dummy(&t);
    mq_bus_init(&bus, &t.gm);
    CHECK_EQ(mq_bus_add(&bus, base, MQ_VIRTIO_MMIO_SIZE, &mq_virtio_mmio_ops, t.mmio), 0);
    CHECK_EQ(mq_bus_read(&bus, base, 4, &v), 0);
    CHECK_EQ(v, MQ_VIRTIO_MMIO_MAGIC);
    CHECK_EQ(mq_bus_read(&bus, base + MQ_VIRTIO_MMIO_CONFIG, 8, &v), 0);
    CHECK_EQ(v, 0x1716151413121110ull);
    CHECK_EQ(mq_bus_write(&bus, base + MQ_VIRTIO_MMIO_STATUS, 4, 1), 0);
    CHECK_EQ(td_status(&t), 1);
    mq_bus_reset_devices(&bus);
    CHECK_EQ(td_status(&t), 0);
    mq_bus_destroy_devices(&bus);
    CHECK(dummy.destroyed);
    mq_guest_mem_destroy(&t.gm);
}

int main(void)
{
    mq_log_set_level(MQ_LOG_ERROR);
    test_empty_slot();
    test_linux_init();
    test_bad_sequences();
    test_attach_checks();
    test_on_bus();
    return td_finish("virtio_mmio_test");
}
