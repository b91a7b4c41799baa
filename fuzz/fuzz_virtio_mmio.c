/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the virtio-mmio v2 register decoder (virtio 1.2 section
 * 4.2) with a virtio-blk model behind it: random register accesses of any
 * width through the bus, guest RAM writes (so rings get contents), queue
 * kicks, machine resets and a scripted Linux-style probe.
 *
 * Input: records of 7 bytes: op, offset (le16), value (le32).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem/bus.h"
#include "util/le.h"
#include "util/log.h"
#include "virtio/test_memdisk.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_mmio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_BASE 0x80000000ull
#define RAM_SIZE 0x10000ull
#define MMIO_BASE 0x10001000ull
#define RECORD 7
#define MAX_RECORDS 4096
/* Rings used by the scripted probe. */
#define Q_DESC (RAM_BASE + 0x0000)
#define Q_AVAIL (RAM_BASE + 0x1000)
#define Q_USED (RAM_BASE + 0x2000)

static struct mq_guest_mem gm;

static void wr(struct mq_bus *bus, uint64_t off, uint32_t v)
{
    mq_bus_write(bus, MMIO_BASE + off, 4, v);
}

static uint32_t rd(struct mq_bus *bus, uint64_t off)
{
    uint64_t v = 0;

    mq_bus_read(bus, MMIO_BASE + off, 4, &v);
    return (uint32_t)v;
}

/* The probe Linux does, with features masked by accept and queue size qsize. */
static void probe(struct mq_bus *bus, uint32_t accept_lo, uint32_t qsize)
{
    wr(bus, MQ_VIRTIO_MMIO_STATUS, 0);
    wr(bus, MQ_VIRTIO_MMIO_STATUS, MQ_VIRTIO_STATUS_ACKNOWLEDGE);
    wr(bus, MQ_VIRTIO_MMIO_STATUS, MQ_VIRTIO_STATUS_ACKNOWLEDGE | MQ_VIRTIO_STATUS_DRIVER);
    wr(bus, MQ_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint32_t lo = rd(bus, MQ_VIRTIO_MMIO_DEVICE_FEATURES) & accept_lo;
    wr(bus, MQ_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    uint32_t hi = rd(bus, MQ_VIRTIO_MMIO_DEVICE_FEATURES);
    wr(bus, MQ_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(bus, MQ_VIRTIO_MMIO_DRIVER_FEATURES, hi);
    wr(bus, MQ_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(bus, MQ_VIRTIO_MMIO_DRIVER_FEATURES, lo);
    wr(bus, MQ_VIRTIO_MMIO_STATUS, rd(bus, MQ_VIRTIO_MMIO_STATUS) | MQ_VIRTIO_STATUS_FEATURES_OK);
    wr(bus, MQ_VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(bus, MQ_VIRTIO_MMIO_QUEUE_NUM, qsize);
    wr(bus, MQ_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)Q_DESC);
    wr(bus, MQ_VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
    wr(bus, MQ_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)Q_AVAIL);
    wr(bus, MQ_VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
    wr(bus, MQ_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)Q_USED);
    wr(bus, MQ_VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
    wr(bus, MQ_VIRTIO_MMIO_QUEUE_READY, 1);
    wr(bus, MQ_VIRTIO_MMIO_STATUS, rd(bus, MQ_VIRTIO_MMIO_STATUS) | MQ_VIRTIO_STATUS_DRIVER_OK);
}

static void irq_set(void *opaque, unsigned line, bool level)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mq_irq irq = {.set = irq_set};
    struct mq_virtio_mmio *mmio;
    struct memdisk md;
    struct mq_bus bus;
    size_t nrec = MQ_MIN(size / RECORD, (size_t)MAX_RECORDS);

    if (!gm.host) {
        mq_log_set_level(MQ_LOG_ERROR);
        if (mq_guest_mem_init(&gm, RAM_BASE, RAM_SIZE))
            abort();
    }
    memset(gm.host, 0, RAM_SIZE);
    if (memdisk_init(&md, &md_ops, 64 * 512, false))
        abort();
    if (mq_virtio_mmio_create(&gm, &irq, &mmio))
        abort();
    if (mq_virtio_blk_create(mq_virtio_mmio_dev(mmio), NULL, &md.bd,
                             &(struct mq_virtio_blk_config){.serial = "fuzz", .queue_size = 16}))
        abort();
    mq_bus_init(&bus, &gm);
    if (mq_bus_add(&bus, MMIO_BASE, MQ_VIRTIO_MMIO_SIZE, &mq_virtio_mmio_ops, mmio))
        abort();

    for (size_t i = 0; i < nrec; i++) {
        const uint8_t *r = data + i * RECORD;
        uint32_t off = mq_get_le16(r + 1);
        uint32_t val = mq_get_le32(r + 3);
        unsigned width = 1u << ((r[0] >> 3) & 3);
        uint64_t v;

        switch (r[0] & 7) {
        case 0:
            mq_bus_read(&bus, MMIO_BASE + (off & 0x1fc), 4, &v);
            break;
        case 1:
            mq_bus_write(&bus, MMIO_BASE + (off & 0x1fc), 4, val);
            break;
        case 2:
            mq_bus_read(&bus, MMIO_BASE + (off & 0x1ff), width, &v);
            break;
        case 3:
            mq_bus_write(&bus, MMIO_BASE + (off & 0x1ff), width,
                         (uint64_t)val << 32 | val);
            break;
        case 4:
            /* Guest RAM: anywhere in the first 64 KiB (rings and buffers). */
            mq_guest_mem_write(&gm, RAM_BASE + (off & 0xfffc), r + 3, 4);
            break;
        case 5:
            mq_bus_reset_devices(&bus);
            break;
        case 6:
            probe(&bus, val, 1u << (off & 7));
            break;
        case 7:
            wr(&bus, MQ_VIRTIO_MMIO_QUEUE_NOTIFY, val & 1);
            break;
        }
    }
    mq_bus_destroy_devices(&bus);
    memdisk_fini(&md);
    return 0;
}
