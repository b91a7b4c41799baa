/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the virtio-blk request parser (virtio 1.2 section 5.2.6):
 * well-formed rings carrying random requests (headers, types, sectors,
 * segment layouts, discard/write-zeroes ranges), direct or indirect, on an
 * in-memory disk. Every request must complete, or put the device in
 * NEEDS_RESET; completions must stay inside the chain.
 *
 * Input: byte 0 = options (bit0 EVENT_IDX, bit1 INDIRECT_DESC, bit2
 * DISCARD, bit3 WRITE_ZEROES accepted, bit4 read-only disk), then
 * requests: a byte (bits 0-2: segments - 1, bit 7: indirect table), then
 * per segment le16 length, a flags byte (bit 0: device-writable) and, for
 * readable segments, up to length bytes of contents.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/le.h"
#include "util/log.h"
#include "virtio/test_memdisk.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_mmio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_BASE 0x80000000ull
#define RAM_SIZE 0x80000ull
#define QSIZE 16u
#define Q_DESC (RAM_BASE + 0x0000)
#define Q_AVAIL (RAM_BASE + 0x1000)
#define Q_USED (RAM_BASE + 0x2000)
#define TABLES (RAM_BASE + 0x3000)   /* one 8-entry indirect table per slot */
#define DATA (RAM_BASE + 0x10000)
#define DATA_END (RAM_BASE + RAM_SIZE)
#define MAX_REQUESTS 64

#define INVARIANT(c)                                                           \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

static struct mq_guest_mem gm;

struct drv {
    struct mq_virtio_mmio *mmio;
    uint16_t avail_idx;
    uint16_t used_seen;
    uint64_t data_next;
};

static void wr(struct drv *d, uint64_t off, uint32_t v)
{
    mq_virtio_mmio_ops.write(d->mmio, off, 4, v);
}

static uint32_t rd(struct drv *d, uint64_t off)
{
    uint64_t v = 0;

    mq_virtio_mmio_ops.read(d->mmio, off, 4, &v);
    return (uint32_t)v;
}

static void probe(struct drv *d, uint8_t opts)
{
    uint64_t accept = (1ull << MQ_VIRTIO_F_VERSION_1) | (1ull << MQ_VIRTIO_BLK_F_FLUSH) |
                      (1ull << MQ_VIRTIO_BLK_F_SEG_MAX) | (1ull << MQ_VIRTIO_BLK_F_RO);

    if (opts & 1)
        accept |= 1ull << MQ_VIRTIO_F_EVENT_IDX;
    if (opts & 2)
        accept |= 1ull << MQ_VIRTIO_F_INDIRECT_DESC;
    if (opts & 4)
        accept |= 1ull << MQ_VIRTIO_BLK_F_DISCARD;
    if (opts & 8)
        accept |= 1ull << MQ_VIRTIO_BLK_F_WRITE_ZEROES;
    memset(gm.host, 0, 0x3000);
    d->avail_idx = d->used_seen = 0;
    wr(d, MQ_VIRTIO_MMIO_STATUS, 0);
    wr(d, MQ_VIRTIO_MMIO_STATUS, MQ_VIRTIO_STATUS_ACKNOWLEDGE | MQ_VIRTIO_STATUS_DRIVER);
    wr(d, MQ_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    accept &= rd(d, MQ_VIRTIO_MMIO_DEVICE_FEATURES) |
              ((uint64_t)UINT32_MAX << 32);
    wr(d, MQ_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(d, MQ_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)accept);
    wr(d, MQ_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(d, MQ_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(accept >> 32));
    wr(d, MQ_VIRTIO_MMIO_STATUS, rd(d, MQ_VIRTIO_MMIO_STATUS) | MQ_VIRTIO_STATUS_FEATURES_OK);
    INVARIANT(rd(d, MQ_VIRTIO_MMIO_STATUS) & MQ_VIRTIO_STATUS_FEATURES_OK);
    wr(d, MQ_VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(d, MQ_VIRTIO_MMIO_QUEUE_NUM, QSIZE);
    wr(d, MQ_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)Q_DESC);
    wr(d, MQ_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)Q_AVAIL);
    wr(d, MQ_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)Q_USED);
    wr(d, MQ_VIRTIO_MMIO_QUEUE_READY, 1);
    wr(d, MQ_VIRTIO_MMIO_STATUS, rd(d, MQ_VIRTIO_MMIO_STATUS) | MQ_VIRTIO_STATUS_DRIVER_OK);
    INVARIANT(rd(d, MQ_VIRTIO_MMIO_STATUS) == 0xf);
}

static void put_desc(uint64_t gpa, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t raw[16];

    mq_put_le64(raw, addr);
    mq_put_le32(raw + 8, len);
    mq_put_le16(raw + 12, flags);
    mq_put_le16(raw + 14, next);
    mq_guest_mem_write(&gm, gpa, raw, 16);
}

/* Carve len bytes out of the data area, wrapping around. */
static uint64_t alloc_buf(struct drv *d, uint32_t len)
{
    uint64_t gpa;

    if (d->data_next + len > DATA_END)
        d->data_next = DATA;
    gpa = d->data_next;
    d->data_next += (len + 15) & ~15u;
    return gpa;
}

/* Parse one request from the input and submit it. Returns bytes consumed or 0 at the end. */
static size_t submit(struct drv *d, const uint8_t *in, size_t n, uint32_t *write_total)
{
    unsigned nseg = (in[0] & 7) + 1;
    bool indirect = in[0] & 0x80;
    uint16_t slot = d->avail_idx % QSIZE;
    /* Direct chains use descriptors slot, slot+1, ... (mod QSIZE); only one request is in flight. */
    uint64_t table = indirect ? TABLES + slot * 8 * 16ull : Q_DESC;
    uint32_t first = indirect ? 0 : slot;
    size_t pos = 1;
    uint8_t raw[2];

    *write_total = 0;
    for (unsigned i = 0; i < nseg; i++) {
        if (pos + 3 > n)
            return 0;
        uint32_t len = mq_get_le16(in + pos);
        bool w = in[pos + 2] & 1;
        uint64_t gpa = alloc_buf(d, len);
        pos += 3;
        if (!w) {
            size_t c = MQ_MIN((size_t)len, n - pos);
            mq_guest_mem_write(&gm, gpa, in + pos, c);
            pos += c;
        } else {
            *write_total += len;
        }
        uint32_t idx = indirect ? i : (first + i) % QSIZE;
        uint32_t next = indirect ? i + 1 : (first + i + 1) % QSIZE;
        put_desc(table + 16ull * idx, gpa, len,
                 (uint16_t)((w ? MQ_VIRTQ_DESC_F_WRITE : 0) |
                            (i + 1 < nseg ? MQ_VIRTQ_DESC_F_NEXT : 0)),
                 (uint16_t)next);
    }
    if (indirect)
        put_desc(Q_DESC + 16ull * slot, table, nseg * 16, MQ_VIRTQ_DESC_F_INDIRECT, 0);
    mq_put_le16(raw, slot);
    mq_guest_mem_write(&gm, Q_AVAIL + 4 + 2ull * slot, raw, 2);
    d->avail_idx++;
    mq_put_le16(raw, d->avail_idx);
    mq_guest_mem_write(&gm, Q_AVAIL + 2, raw, 2);
    wr(d, MQ_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    return pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mq_irq irq = {0};
    struct drv d = {.data_next = DATA};
    struct memdisk md;
    size_t pos = 1;
    uint8_t opts;

    if (!gm.host) {
        mq_log_set_level(MQ_LOG_ERROR);
        if (mq_guest_mem_init(&gm, RAM_BASE, RAM_SIZE))
            abort();
    }
    if (size < 1)
        return 0;
    opts = data[0];
    memset(gm.host, 0, RAM_SIZE);
    if (memdisk_init(&md, &md_ops, 256 * 512, opts & 0x10))
        abort();
    if (mq_virtio_mmio_create(&gm, &irq, &d.mmio))
        abort();
    if (mq_virtio_blk_create(mq_virtio_mmio_dev(d.mmio), NULL, &md.bd,
                             &(struct mq_virtio_blk_config){.serial = "fuzz-serial",
                                                            .queue_size = QSIZE}))
        abort();
    probe(&d, opts);

    for (int r = 0; r < MAX_REQUESTS && pos < size; r++) {
        uint32_t write_total, used_len;
        uint8_t raw[4];
        size_t used = submit(&d, data + pos, size - pos, &write_total);

        if (!used)
            break;
        pos += used;
        mq_guest_mem_read(&gm, Q_USED + 2, raw, 2);
        if (rd(&d, MQ_VIRTIO_MMIO_STATUS) & MQ_VIRTIO_STATUS_NEEDS_RESET) {
            /* Nothing may complete after the error; the driver resets. */
            INVARIANT(mq_get_le16(raw) == d.used_seen);
            probe(&d, opts);
            continue;
        }
        /* Synchronous device: the request completed inside the notify. */
        INVARIANT(mq_get_le16(raw) == (uint16_t)(d.used_seen + 1));
        mq_guest_mem_read(&gm, Q_USED + 4 + 8ull * (d.used_seen % QSIZE) + 4, raw, 4);
        used_len = mq_get_le32(raw);
        INVARIANT(used_len >= 1 && used_len <= write_total);
        d.used_seen++;
    }
    mq_virtio_mmio_destroy(d.mmio);
    memdisk_fini(&md);
    return 0;
}
