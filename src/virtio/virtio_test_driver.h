/* SPDX-License-Identifier: MIT */
/*
 * Test-only: a tiny virtio-mmio driver (the register sequence Linux's
 * virtio_mmio.c and virtio_ring.c use) over guest RAM, for the unit tests
 * of the transport and device models. Not part of mq_virtio_lib.
 */
#ifndef MQ_VIRTIO_TEST_DRIVER_H
#define MQ_VIRTIO_TEST_DRIVER_H

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/le.h"
#include "util/log.h"
#include "virtio/virtio_mmio.h"

static int failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_) {                                                        \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n",        \
                    __FILE__, __LINE__, #a, a_, #b, b_);                       \
            failures++;                                                        \
        }                                                                      \
    } while (0)

#define TD_RAM_BASE 0x80000000ull
#define TD_RAM_SIZE (4ull << 20)
/* Queue q's rings live at TD_RING(q); buffers from TD_DATA up. */
#define TD_RING(q) (TD_RAM_BASE + 0x10000ull * (q))
#define TD_DATA (TD_RAM_BASE + 0x100000ull)

struct td_queue {
    uint32_t size;
    uint64_t desc, avail, used;
    uint16_t avail_idx;
    uint16_t used_seen;
    uint16_t next_desc;
};

struct td {
    struct mq_guest_mem gm;
    struct mq_virtio_mmio *mmio;
    struct mq_virtio_dev *vdev;
    bool irq_level;
    unsigned irq_raises;
    struct td_queue q[MQ_VIRTIO_MAX_QUEUES];
};

struct td_buf {
    uint64_t gpa;
    uint32_t len;
    bool write;
};

static void td_irq_set(void *opaque, unsigned line, bool level)
{
    struct td *t = opaque;

    if (level && !t->irq_level)
        t->irq_raises++;
    t->irq_level = level;
}

static MQ_UNUSED int td_create(struct td *t)
{
    struct mq_irq irq = {.set = td_irq_set, .opaque = t, .line = 1};
    int ret;

    memset(t, 0, sizeof(*t));
    ret = mq_guest_mem_init(&t->gm, TD_RAM_BASE, TD_RAM_SIZE);
    if (ret)
        return ret;
    ret = mq_virtio_mmio_create(&t->gm, &irq, &t->mmio);
    if (ret)
        return ret;
    t->vdev = mq_virtio_mmio_dev(t->mmio);
    return 0;
}

static MQ_UNUSED void td_destroy(struct td *t)
{
    mq_virtio_mmio_ops.destroy(t->mmio);
    mq_guest_mem_destroy(&t->gm);
}

static MQ_UNUSED uint32_t td_rd(struct td *t, uint64_t off)
{
    uint64_t v = 0xdeadbeef;

    CHECK_EQ(mq_virtio_mmio_ops.read(t->mmio, off, 4, &v), 0);
    return (uint32_t)v;
}

static MQ_UNUSED void td_wr(struct td *t, uint64_t off, uint32_t v)
{
    CHECK_EQ(mq_virtio_mmio_ops.write(t->mmio, off, 4, v), 0);
}

static MQ_UNUSED uint32_t td_status(struct td *t)
{
    return td_rd(t, MQ_VIRTIO_MMIO_STATUS);
}

static MQ_UNUSED void td_set_status(struct td *t, uint32_t bits)
{
    td_wr(t, MQ_VIRTIO_MMIO_STATUS, td_status(t) | bits);
}

static MQ_UNUSED uint64_t td_device_features(struct td *t)
{
    uint64_t f;

    td_wr(t, MQ_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    f = (uint64_t)td_rd(t, MQ_VIRTIO_MMIO_DEVICE_FEATURES) << 32;
    td_wr(t, MQ_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    return f | td_rd(t, MQ_VIRTIO_MMIO_DEVICE_FEATURES);
}

static MQ_UNUSED void td_write_features(struct td *t, uint64_t f)
{
    td_wr(t, MQ_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    td_wr(t, MQ_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
    td_wr(t, MQ_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    td_wr(t, MQ_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
}

/* Linux vm_setup_vq(): select, check not ready, size, addresses, ready. */
static MQ_UNUSED void td_setup_queue(struct td *t, unsigned qi, uint32_t size)
{
    struct td_queue *q = &t->q[qi];

    memset(q, 0, sizeof(*q));
    q->size = size;
    q->desc = TD_RING(qi);
    q->avail = q->desc + 16ull * size;
    q->used = (q->avail + 6 + 2ull * size + 4095) & ~4095ull;
    /* Fresh, zeroed rings, as Linux allocates them. */
    CHECK(mq_guest_mem_contains(&t->gm, q->desc, q->used + 6 + 8ull * size - q->desc));
    memset(mq_guest_mem_ptr(&t->gm, q->desc, q->used + 6 + 8ull * size - q->desc), 0,
           q->used + 6 + 8ull * size - q->desc);
    mq_guest_mem_written(&t->gm, q->desc, q->used + 6 + 8ull * size - q->desc);
    td_wr(t, MQ_VIRTIO_MMIO_QUEUE_SEL, qi);
    CHECK_EQ(td_rd(t, MQ_VIRTIO_MMIO_QUEUE_READY), 0);
    CHECK(td_rd(t, MQ_VIRTIO_MMIO_QUEUE_NUM_MAX) >= size);
    td_wr(t, MQ_VIRTIO_MMIO_QUEUE_NUM, size);
    td_wr(t, MQ_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc);
    td_wr(t, MQ_VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(q->desc >> 32));
    td_wr(t, MQ_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)q->avail);
    td_wr(t, MQ_VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(q->avail >> 32));
    td_wr(t, MQ_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)q->used);
    td_wr(t, MQ_VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(q->used >> 32));
    td_wr(t, MQ_VIRTIO_MMIO_QUEUE_READY, 1);
}

/*
 * The whole Linux probe: reset, ACKNOWLEDGE, DRIVER, features (the offered
 * ones masked by accept), FEATURES_OK, nq queues of qsize, DRIVER_OK.
 * Returns 0 or -EPROTO when a step the device should accept failed.
 */
static MQ_UNUSED int td_init(struct td *t, uint64_t accept, unsigned nq, uint32_t qsize)
{
    uint64_t f;

    if (td_rd(t, MQ_VIRTIO_MMIO_MAGIC_VALUE) != MQ_VIRTIO_MMIO_MAGIC ||
        td_rd(t, MQ_VIRTIO_MMIO_VERSION_REG) != 2 || td_rd(t, MQ_VIRTIO_MMIO_DEVICE_ID) == 0)
        return -ENODEV;
    td_wr(t, MQ_VIRTIO_MMIO_STATUS, 0);
    if (td_status(t) != 0)
        return -EPROTO;
    td_set_status(t, MQ_VIRTIO_STATUS_ACKNOWLEDGE);
    td_set_status(t, MQ_VIRTIO_STATUS_DRIVER);
    f = td_device_features(t) & accept;
    td_write_features(t, f);
    td_set_status(t, MQ_VIRTIO_STATUS_FEATURES_OK);
    if (!(td_status(t) & MQ_VIRTIO_STATUS_FEATURES_OK))
        return -EPROTO;
    for (unsigned i = 0; i < nq; i++)
        td_setup_queue(t, i, qsize);
    td_set_status(t, MQ_VIRTIO_STATUS_DRIVER_OK);
    return td_status(t) & MQ_VIRTIO_STATUS_NEEDS_RESET ? -EPROTO : 0;
}

static MQ_UNUSED void td_put16(struct td *t, uint64_t gpa, uint16_t v)
{
    uint8_t raw[2];

    mq_put_le16(raw, v);
    CHECK_EQ(mq_guest_mem_write(&t->gm, gpa, raw, 2), 0);
}

static MQ_UNUSED uint32_t td_get32(struct td *t, uint64_t gpa)
{
    uint8_t raw[4] = {0};

    CHECK_EQ(mq_guest_mem_read(&t->gm, gpa, raw, 4), 0);
    return mq_get_le32(raw);
}

static MQ_UNUSED void td_put_desc(struct td *t, uint64_t table, uint32_t i, uint64_t addr,
                                  uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t raw[16];

    mq_put_le64(raw, addr);
    mq_put_le32(raw + 8, len);
    mq_put_le16(raw + 12, flags);
    mq_put_le16(raw + 14, next);
    CHECK_EQ(mq_guest_mem_write(&t->gm, table + 16ull * i, raw, 16), 0);
}

/* Make a chain of n buffers available on queue qi (not kicked). Returns the head. */
static MQ_UNUSED uint16_t td_add(struct td *t, unsigned qi, const struct td_buf *b, unsigned n)
{
    struct td_queue *q = &t->q[qi];
    uint16_t head = q->next_desc;

    for (unsigned i = 0; i < n; i++) {
        uint16_t idx = (uint16_t)((head + i) % q->size);
        uint16_t next = (uint16_t)((idx + 1) % q->size);
        uint16_t flags = (b[i].write ? MQ_VIRTQ_DESC_F_WRITE : 0) |
                         (i + 1 < n ? MQ_VIRTQ_DESC_F_NEXT : 0);
        td_put_desc(t, q->desc, idx, b[i].gpa, b[i].len, flags, next);
    }
    q->next_desc = (uint16_t)((head + n) % q->size);
    td_put16(t, q->avail + 4 + 2ull * (q->avail_idx % q->size), head);
    q->avail_idx++;
    /* Publish like a driver: release store of the index, then a full barrier. */
    __atomic_store_n((uint16_t *)mq_guest_mem_ptr(&t->gm, q->avail + 2, 2),
                     htole16(q->avail_idx), __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return head;
}

static MQ_UNUSED void td_kick(struct td *t, unsigned qi)
{
    td_wr(t, MQ_VIRTIO_MMIO_QUEUE_NOTIFY, qi);
}

/* Take the next used element of queue qi; false when there is none. */
static MQ_UNUSED bool td_used(struct td *t, unsigned qi, uint32_t *id, uint32_t *len)
{
    struct td_queue *q = &t->q[qi];
    const uint16_t *idx = mq_guest_mem_ptr(&t->gm, q->used + 2, 2);
    uint64_t elem;

    /* Acquire: the element and the data the device wrote are visible after it. */
    if (le16toh(__atomic_load_n(idx, __ATOMIC_ACQUIRE)) == q->used_seen)
        return false;
    elem = q->used + 4 + 8ull * (q->used_seen % q->size);
    *id = td_get32(t, elem);
    *len = td_get32(t, elem + 4);
    q->used_seen++;
    return true;
}

/* Linux vm_interrupt(): read InterruptStatus, ack it. Returns what was read. */
static MQ_UNUSED uint32_t td_ack_irq(struct td *t)
{
    uint32_t isr = td_rd(t, MQ_VIRTIO_MMIO_INTERRUPT_STATUS);

    td_wr(t, MQ_VIRTIO_MMIO_INTERRUPT_ACK, isr);
    return isr;
}

static MQ_UNUSED int td_finish(const char *name)
{
    if (failures) {
        fprintf(stderr, "%s: %d failures\n", name, failures);
        return 1;
    }
    printf("%s: ok\n", name);
    return 0;
}

#endif
