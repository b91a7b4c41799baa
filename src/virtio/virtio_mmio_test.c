/* SPDX-License-Identifier: MIT */
/* Tests of the virtio-mmio v2 transport: Linux's init sequence, bad sequences, interrupts, empty slots. */
#include "virtio/virtio_test_driver.h"

#include "mem/bus.h"
#include "util/state_testutil.h"

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
    bool busy;      /* save reports work in flight */
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

/* Model state: its layout version and the config bytes. */
static int dummy_save(void *model, struct mq_state_writer *w)
{
    struct dummy *d = model;

    if (d->busy) {
        mq_state_writer_fail(w, -EBUSY, "dummy: a request is with the backend");
        return -EBUSY;
    }
    mq_state_put_u32(w, 1);
    mq_state_put_bytes(w, d->config, sizeof(d->config));
    return mq_state_writer_error(w);
}

static int dummy_load(void *model, struct mq_state_reader *r)
{
    struct dummy *d = model;
    uint8_t cfg[sizeof(d->config)];

    if (mq_state_get_u32(r) != 1 && !mq_state_reader_error(r))
        mq_state_reader_fail(r, -EPROTONOSUPPORT, "dummy: unknown version");
    mq_state_get_bytes(r, cfg, sizeof(cfg));
    if (mq_state_reader_error(r))
        return mq_state_reader_error(r);
    memcpy(d->config, cfg, sizeof(cfg));
    return 0;
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
    .save = dummy_save,
    .load = dummy_load,
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

/* A model that pushes every chain back empty, for making ring traffic. */
static int push_empty(void *model, struct mq_guest_mem *gm, const struct mq_virtq_chain *c,
                      uint32_t *written)
{
    *written = 0;
    return 0;
}

static void process(struct td *t, unsigned q)
{
    struct mq_virtq_seg segs[16];
    struct mq_virtq_chain chain = {.segs = segs, .cap = 16};

    mq_virtio_queue_process(t->vdev, q, &chain, 16, push_empty, NULL);
}

/* What the driver can read back, plus the ring state. */
struct mmio_view {
    uint32_t status, isr, gen, ready[2], numax, dfeat, cfg[2];
    uint16_t last_avail[2], used[2];
    uint64_t features;
};

static void view(struct td *t, struct mmio_view *v)
{
    memset(v, 0, sizeof(*v));
    /* Selectors as the driver left them: read through them without moving them. */
    v->dfeat = td_rd(t, MQ_VIRTIO_MMIO_DEVICE_FEATURES);
    v->numax = td_rd(t, MQ_VIRTIO_MMIO_QUEUE_NUM_MAX);
    v->ready[1] = td_rd(t, MQ_VIRTIO_MMIO_QUEUE_READY);
    v->status = td_status(t);
    v->isr = td_rd(t, MQ_VIRTIO_MMIO_INTERRUPT_STATUS);
    v->gen = td_rd(t, MQ_VIRTIO_MMIO_CONFIG_GENERATION);
    v->cfg[0] = td_rd(t, MQ_VIRTIO_MMIO_CONFIG);
    v->cfg[1] = td_rd(t, MQ_VIRTIO_MMIO_CONFIG + 4);
    v->ready[0] = t->vdev->queues[0].ready;
    v->features = mq_virtio_features(t->vdev);
    for (unsigned q = 0; q < 2; q++) {
        v->last_avail[q] = t->vdev->queues[q].vq.last_avail_idx;
        v->used[q] = t->vdev->queues[q].vq.used_idx;
    }
}

static void test_save_load(void)
{
    struct td t;
    struct mmio_view before, after;
    struct mqt_blob b, again;
    struct td_buf buf = {TD_DATA, 64, true};
    uint32_t id, len;
    size_t n;

    create_dummy(&t);
    CHECK_EQ(td_init(&t, ~(1ull << DUMMY_F_REFUSED), 2, 16), 0);
    for (int i = 0; i < 3; i++)
        td_add(&t, 0, &buf, 1);
    process(&t, 0);
    CHECK(t.irq_level);
    mq_virtio_notify_config(t.vdev);
    CHECK_EQ(mq_virtio_mmio_ops.write(t.mmio, MQ_VIRTIO_MMIO_CONFIG + 6, 2, 0xbeef), 0);
    td_wr(&t, MQ_VIRTIO_MMIO_QUEUE_SEL, 1);
    td_wr(&t, MQ_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    view(&t, &before);
    CHECK_EQ(before.isr, MQ_VIRTIO_ISR_QUEUE | MQ_VIRTIO_ISR_CONFIG);
    CHECK_EQ(before.used[0], 3);
    CHECK_EQ(mqt_save(mq_virtio_mmio_ops.save, t.mmio, &b), 0);
    /* Sanity of the field map used below: the model's config is field 46. */
    CHECK(mqt_field(&b, 46, &n) != NULL && n == 8);

    mq_virtio_mmio_ops.reset(t.mmio);
    CHECK(!t.irq_level);
    CHECK_EQ(td_status(&t), 0);
    dummy.config[6] = 0;
    CHECK_EQ(mqt_load(mq_virtio_mmio_ops.load, t.mmio, &b), 0);
    CHECK(t.irq_level); /* re-raised */
    view(&t, &after);
    CHECK(!memcmp(&before, &after, sizeof(before)));
    CHECK_EQ(mqt_save(mq_virtio_mmio_ops.save, t.mmio, &again), 0);
    CHECK(again.len == b.len && !memcmp(again.data, b.data, b.len));
    mqt_free(&again);

    /* The restored device carries on: used index 4 next. */
    CHECK_EQ(td_ack_irq(&t), MQ_VIRTIO_ISR_QUEUE | MQ_VIRTIO_ISR_CONFIG);
    for (int i = 0; i < 3; i++)
        CHECK(td_used(&t, 0, &id, &len));
    /* EVENT_IDX: ask for an interrupt once entry 3 is used; the restored
     * notification state (last decision at 3) makes the device honour it. */
    td_put16(&t, t.q[0].avail + 4 + 2ull * t.q[0].size, 3);
    td_add(&t, 0, &buf, 1);
    process(&t, 0);
    CHECK(td_used(&t, 0, &id, &len));
    CHECK_EQ(t.vdev->queues[0].vq.used_idx, 4);
    CHECK(t.irq_level);

    /* Resume looks at every ready queue once. */
    unsigned before_notify = dummy.notified[0] + dummy.notified[1];
    mq_virtio_dev_resume(t.vdev);
    CHECK_EQ(dummy.notified[0] + dummy.notified[1], before_notify + 2);

    /* A chain popped and not pushed: save refuses until it completes. */
    td_add(&t, 1, &buf, 1);
    struct mq_virtq_seg seg;
    struct mq_virtq_chain chain = {.segs = &seg, .cap = 1};
    struct mq_virtq *vq = mq_virtio_queue_lock(t.vdev, 1);
    CHECK(vq && mq_virtq_pop(vq, &t.gm, &chain) == 1);
    if (vq)
        mq_virtio_queue_unlock(t.vdev, 1);
    CHECK_EQ(mqt_save(mq_virtio_mmio_ops.save, t.mmio, &again), -EBUSY);
    CHECK(strstr(mqt_errmsg, "queue 1 has 1 requests in flight") != NULL);
    vq = mq_virtio_queue_lock(t.vdev, 1);
    CHECK(vq && mq_virtq_push(vq, &t.gm, chain.head, 0) == 0);
    if (vq)
        mq_virtio_queue_unlock(t.vdev, 1);
    dummy.busy = true;
    CHECK_EQ(mqt_save(mq_virtio_mmio_ops.save, t.mmio, &again), -EBUSY);
    CHECK(strstr(mqt_errmsg, "with the backend") != NULL);
    dummy.busy = false;
    CHECK_EQ(mqt_save(mq_virtio_mmio_ops.save, t.mmio, &again), 0);
    mqt_free(&again);
    mqt_free(&b);
    td_destroy(&t);
}

/* Load b with fields a and c (c may equal a) changed; the result. */
static int load_with2(struct td *t, const struct mqt_blob *good, unsigned a, uint64_t va,
                      unsigned c, uint64_t vc)
{
    struct mqt_blob b = {malloc(good->len), good->len};
    int ret;

    memcpy(b.data, good->data, good->len);
    mqt_set(&b, a, va);
    mqt_set(&b, c, vc);
    ret = mqt_load(mq_virtio_mmio_ops.load, t->mmio, &b);
    mqt_free(&b);
    return ret;
}

static void test_load_refuses(void)
{
    const uint32_t ok = MQ_VIRTIO_STATUS_ACKNOWLEDGE | MQ_VIRTIO_STATUS_DRIVER |
                        MQ_VIRTIO_STATUS_FEATURES_OK | MQ_VIRTIO_STATUS_DRIVER_OK;
    struct td t, e;
    struct mqt_blob b, empty;
    uint64_t f;
    size_t n;

    create_dummy(&t);
    CHECK_EQ(td_init(&t, ~(1ull << DUMMY_F_REFUSED), 2, 16), 0);
    CHECK_EQ(mqt_save(mq_virtio_mmio_ops.save, t.mmio, &b), 0);
    f = mq_virtio_features(t.vdev);
    CHECK(mqt_field(&b, 7, &n) && n == 8 && mq_get_le64(mqt_field(&b, 7, &n)) == f);
    /*
     * Fields: 0-2 selectors; 3 core version, 4 device ID, 5 offered, 6 driver,
     * 7 accepted features, 8 status, 9 generation, 10 ISR, 11 queue max,
     * 12 queues; per queue (16 fields from 13): ready, num, desc, driver,
     * device, then the ring: size, desc, avail, used, event_idx, indirect,
     * broken, last_avail, used, signalled, signalled_valid; 45-46 the model.
     */
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, 3, 2), -EPROTONOSUPPORT);
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, 4, 1), -EINVAL);
    CHECK(strstr(mqt_errmsg, "saved virtio device ID 1") != NULL);
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, 5, ~0ull), -EINVAL);
    CHECK(strstr(mqt_errmsg, "does not offer") != NULL);
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, 7, f | 1), -EINVAL);
    CHECK_EQ(load_with2(&t, &b, 6, f | (1ull << DUMMY_F_REFUSED), 7,
                        f | (1ull << DUMMY_F_REFUSED)), -EINVAL);
    CHECK(strstr(mqt_errmsg, "refused by the device") != NULL);
    CHECK_EQ(load_with2(&t, &b, 6, f & ~(1ull << MQ_VIRTIO_F_VERSION_1), 7,
                        f & ~(1ull << MQ_VIRTIO_F_VERSION_1)), -EINVAL);
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, 8, ok | 16), -EINVAL);
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, 8, MQ_VIRTIO_STATUS_DRIVER_OK),
             -EINVAL);
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, 8, MQ_VIRTIO_STATUS_DRIVER),
             -EINVAL); /* features accepted without FEATURES_OK */
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, 10, 4), -EINVAL);
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, 11, 32), -EINVAL);
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, 12, 3), -EINVAL);
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, 14, 8), -EINVAL);
    CHECK(strstr(mqt_errmsg, "do not match") != NULL);
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, 13, 0), -EINVAL);
    /* Rings outside RAM, registers agreeing: refused like the driver's setup. */
    CHECK_EQ(load_with2(&t, &b, 16, TD_RAM_BASE + TD_RAM_SIZE - 8, 20,
                        TD_RAM_BASE + TD_RAM_SIZE - 8), -EFAULT);
    CHECK_EQ(load_with2(&t, &b, 15, 0x1000, 19, 0x1000), -EFAULT);
    CHECK_EQ(load_with2(&t, &b, 14, 32, 18, 32), -EINVAL); /* above QueueNumMax */
    /* In flight: only in a device that needs reset. */
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, 25, 1), -EINVAL);
    CHECK(strstr(mqt_errmsg, "in flight") != NULL);
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, 25, 17), -EINVAL);
    CHECK_EQ(td_status(&t), ok); /* every refusal so far left the device alone */
    CHECK_EQ(load_with2(&t, &b, 25, 1, 8, ok | MQ_VIRTIO_STATUS_NEEDS_RESET), 0);
    CHECK(mq_virtio_queue_lock(t.vdev, 0) == NULL); /* no processing until reset */
    /* A ring flag never accepted. */
    CHECK_EQ(load_with2(&t, &b, 6, f & ~(1ull << MQ_VIRTIO_F_EVENT_IDX), 7,
                        f & ~(1ull << MQ_VIRTIO_F_EVENT_IDX)), -EINVAL);
    /* The model refuses its part: the device is reset. */
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, t.mmio, &b, 45, 9), -EPROTONOSUPPORT);
    CHECK_EQ(td_status(&t), 0);
    CHECK(!t.irq_level);
    CHECK_EQ(mqt_load(mq_virtio_mmio_ops.load, t.mmio, &b), 0);
    CHECK_EQ(td_status(&t), ok);

    /* Empty slots: round trip, and no device state loads into one. */
    CHECK_EQ(td_create(&e), 0);
    CHECK_EQ(mqt_save(mq_virtio_mmio_ops.save, e.mmio, &empty), 0);
    CHECK_EQ(mqt_load(mq_virtio_mmio_ops.load, e.mmio, &empty), 0);
    CHECK_EQ(mqt_load(mq_virtio_mmio_ops.load, e.mmio, &b), -EINVAL);
    CHECK_EQ(mqt_load(mq_virtio_mmio_ops.load, t.mmio, &empty), -EINVAL);
    td_destroy(&e);
    mqt_free(&empty);
    mqt_free(&b);
    td_destroy(&t);

    /* A model without save/load cannot be snapshotted. */
    {
        static const struct mq_virtio_dev_ops nosnap = {
            .name = "nosnap", .device_id = DUMMY_ID, .num_queues = 1,
            .queue_notify = dummy_notify, .reset = dummy_reset,
        };
        CHECK_EQ(td_create(&e), 0);
        CHECK_EQ(mq_virtio_dev_attach(e.vdev, &nosnap, &dummy, 0, 8), 0);
        CHECK_EQ(mqt_save(mq_virtio_mmio_ops.save, e.mmio, &empty), -EOPNOTSUPP);
        CHECK(strstr(mqt_errmsg, "nosnap does not support snapshots") != NULL);
        td_destroy(&e);
    }
}

int main(void)
{
    mq_log_set_level(MQ_LOG_ERROR);
    test_empty_slot();
    test_linux_init();
    test_bad_sequences();
    test_attach_checks();
    test_on_bus();
    test_save_load();
    test_load_refuses();
    return td_finish("virtio_mmio_test");
}
