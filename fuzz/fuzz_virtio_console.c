/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the virtio-console port parsers (virtio 1.2 section
 * 5.3.6): transmit chains of random layout and contents, receive buffers
 * of random layout, and host input of random sizes, with or without
 * EVENT_IDX and INDIRECT_DESC. Checks that the host gets exactly the
 * readable bytes of each transmit chain (up to the per-chain cap), and
 * that host input lands, in order, in the buffers reported used, with the
 * count from_host() returned.
 *
 * Input: byte 0 = options (bit0 EVENT_IDX, bit1 INDIRECT_DESC), then
 * operations, each a byte whose low 2 bits pick:
 *   0 transmit: bits 2-4 segments - 1; per segment le16 length, a flags
 *     byte (bit 0 writable) and, for readable ones, up to length bytes;
 *   1 post a receive chain: bits 2-3 segments - 1; per segment le16
 *     length (cut to 4 KiB) and a flags byte (bit 0 readable);
 *   2 host input: le16 length, + 64 KiB when bit 2 is set;
 *   3 control: bits 2-3 = 0 reset and probe again, 1 kick the receive
 *     queue, 2 and 3 empty host input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/le.h"
#include "util/log.h"
#include "virtio/virtio_console.h"
#include "virtio/virtio_mmio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_BASE 0x80000000ull
#define RAM_SIZE 0x100000ull
#define QSIZE 16u
#define RXQ MQ_VIRTIO_CONSOLE_RXQ
#define TXQ MQ_VIRTIO_CONSOLE_TXQ
#define RING(q) (RAM_BASE + 0x4000ull * (q))   /* desc, avail at +0x1000, used at +0x2000 */
#define TABLES (RAM_BASE + 0x8000)             /* indirect tables: 8 entries per slot and queue */
#define RX_DATA (RAM_BASE + 0x10000)           /* 16 slots x 4 segments x 4 KiB */
#define TX_DATA (RAM_BASE + 0x50000)
#define TX_DATA_END (RAM_BASE + RAM_SIZE)
#define MAX_OPS 256
#define RX_SEG_MAX 4096u

#define INVARIANT(c)                                                           \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

static struct mq_guest_mem gm;
static uint8_t in_buf[2 * 65536 + 16];
static uint8_t scratch[2 * 65536 + 64];

/* ---- host end: collects output ---- */

static uint8_t out_buf[9 * 65536];
static size_t out_len;

static void host_to_host(void *opaque, const uint8_t *buf, size_t len)
{
    INVARIANT(len > 0 && len <= sizeof(out_buf) - out_len);
    memcpy(out_buf + out_len, buf, len);
    out_len += len;
}

static void host_rx_space(void *opaque)
{
}

/* ---- driver ---- */

struct rx_slot {
    unsigned nseg;
    uint64_t gpa[4];
    uint32_t len[4];
    bool write[4];
};

struct qstate {
    uint16_t avail_idx;
    uint16_t used_seen;
};

struct drv {
    struct mq_virtio_mmio *mmio;
    struct mq_virtio_console *c;
    uint8_t opts;
    struct qstate q[2];
    struct rx_slot rx[QSIZE];
    uint64_t tx_next;
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

static bool needs_reset(struct drv *d)
{
    return rd(d, MQ_VIRTIO_MMIO_STATUS) & MQ_VIRTIO_STATUS_NEEDS_RESET;
}

static void probe(struct drv *d)
{
    uint64_t accept = 1ull << MQ_VIRTIO_F_VERSION_1;

    if (d->opts & 1)
        accept |= 1ull << MQ_VIRTIO_F_EVENT_IDX;
    if (d->opts & 2)
        accept |= 1ull << MQ_VIRTIO_F_INDIRECT_DESC;
    memset(gm.host, 0, 0x10000);
    memset(d->q, 0, sizeof(d->q));
    memset(d->rx, 0, sizeof(d->rx));
    wr(d, MQ_VIRTIO_MMIO_STATUS, 0);
    wr(d, MQ_VIRTIO_MMIO_STATUS, MQ_VIRTIO_STATUS_ACKNOWLEDGE | MQ_VIRTIO_STATUS_DRIVER);
    wr(d, MQ_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(d, MQ_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)accept);
    wr(d, MQ_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(d, MQ_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(accept >> 32));
    wr(d, MQ_VIRTIO_MMIO_STATUS, rd(d, MQ_VIRTIO_MMIO_STATUS) | MQ_VIRTIO_STATUS_FEATURES_OK);
    INVARIANT(rd(d, MQ_VIRTIO_MMIO_STATUS) & MQ_VIRTIO_STATUS_FEATURES_OK);
    for (unsigned q = 0; q < 2; q++) {
        wr(d, MQ_VIRTIO_MMIO_QUEUE_SEL, q);
        wr(d, MQ_VIRTIO_MMIO_QUEUE_NUM, QSIZE);
        wr(d, MQ_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)RING(q));
        wr(d, MQ_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(RING(q) + 0x1000));
        wr(d, MQ_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(RING(q) + 0x2000));
        wr(d, MQ_VIRTIO_MMIO_QUEUE_READY, 1);
    }
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

/*
 * Publish a chain of n segments on queue q in slot (avail_idx % QSIZE):
 * with INDIRECT negotiated a multi-segment chain goes through the slot's
 * table, otherwise it takes descriptors slot, slot + 1, ... (mod QSIZE).
 */
static uint16_t publish(struct drv *d, unsigned q, const uint64_t *gpa, const uint32_t *len,
                        const bool *w, unsigned n)
{
    struct qstate *qs = &d->q[q];
    uint16_t slot = qs->avail_idx % QSIZE;
    bool indirect = (d->opts & 2) && n > 1;
    uint64_t table = indirect ? TABLES + (q * QSIZE + slot) * 8 * 16ull : RING(q);
    uint8_t raw[2];

    for (unsigned i = 0; i < n; i++) {
        uint32_t idx = indirect ? i : (slot + i) % QSIZE;
        uint32_t next = indirect ? i + 1 : (slot + i + 1) % QSIZE;
        put_desc(table + 16ull * idx, gpa[i], len[i],
                 (uint16_t)((w[i] ? MQ_VIRTQ_DESC_F_WRITE : 0) |
                            (i + 1 < n ? MQ_VIRTQ_DESC_F_NEXT : 0)),
                 (uint16_t)next);
    }
    if (indirect)
        put_desc(RING(q) + 16ull * slot, table, n * 16, MQ_VIRTQ_DESC_F_INDIRECT, 0);
    mq_put_le16(raw, slot);
    mq_guest_mem_write(&gm, RING(q) + 0x1000 + 4 + 2ull * slot, raw, 2);
    qs->avail_idx++;
    mq_put_le16(raw, qs->avail_idx);
    mq_guest_mem_write(&gm, RING(q) + 0x1000 + 2, raw, 2);
    return slot;
}

static uint16_t used_idx(unsigned q)
{
    uint8_t raw[2];

    mq_guest_mem_read(&gm, RING(q) + 0x2000 + 2, raw, 2);
    return mq_get_le16(raw);
}

static void used_elem(unsigned q, uint16_t i, uint32_t *id, uint32_t *len)
{
    uint8_t raw[8];

    mq_guest_mem_read(&gm, RING(q) + 0x2000 + 4 + 8ull * (i % QSIZE), raw, 8);
    *id = mq_get_le32(raw);
    *len = mq_get_le32(raw + 4);
}

/* ---- operations ---- */

static uint64_t tx_alloc(struct drv *d, uint32_t len)
{
    uint64_t gpa;

    if (d->tx_next + len > TX_DATA_END)
        d->tx_next = TX_DATA;
    gpa = d->tx_next;
    d->tx_next += (len + 15) & ~15u;
    return gpa;
}

static size_t op_tx(struct drv *d, const uint8_t *in, size_t n)
{
    unsigned nseg = ((in[0] >> 2) & 7) + 1;
    uint64_t gpa[8];
    uint32_t len[8], read_total = 0;
    bool w[8];
    size_t pos = 1;
    uint16_t before = used_idx(TXQ);

    for (unsigned i = 0; i < nseg; i++) {
        if (pos + 3 > n)
            return 0;
        len[i] = mq_get_le16(in + pos);
        w[i] = in[pos + 2] & 1;
        gpa[i] = tx_alloc(d, len[i]);
        pos += 3;
        if (!w[i]) {
            size_t c = MQ_MIN((size_t)len[i], n - pos);
            mq_guest_mem_write(&gm, gpa[i], in + pos, c);
            pos += c;
            read_total += len[i];
        }
    }
    out_len = 0;
    publish(d, TXQ, gpa, len, w, nseg);
    wr(d, MQ_VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
    if (needs_reset(d)) {
        INVARIANT(used_idx(TXQ) == before);
        probe(d);
        return pos;
    }
    INVARIANT(used_idx(TXQ) == (uint16_t)(before + 1));
    uint32_t id, ulen;
    used_elem(TXQ, before, &id, &ulen);
    INVARIANT(ulen == 0);
    d->q[TXQ].used_seen++;
    /* Exactly the readable bytes, in order, up to the cap. */
    uint32_t want = MQ_MIN(read_total, MQ_VIRTIO_CONSOLE_MAX_TX_CHAIN);
    INVARIANT(out_len == want);
    uint32_t off = 0;
    for (unsigned i = 0; i < nseg && off < want; i++) {
        if (w[i])
            continue;
        uint32_t c = MQ_MIN(len[i], want - off);
        mq_guest_mem_read(&gm, gpa[i], scratch, c);
        INVARIANT(memcmp(scratch, out_buf + off, c) == 0);
        off += c;
    }
    return pos;
}

static size_t op_rx_post(struct drv *d, const uint8_t *in, size_t n)
{
    unsigned nseg = ((in[0] >> 2) & 3) + 1;
    struct qstate *qs = &d->q[RXQ];
    struct rx_slot s = {.nseg = nseg};
    size_t pos = 1;
    uint16_t slot;

    /* A driver never has more chains out than the ring holds. */
    if ((uint16_t)(qs->avail_idx - qs->used_seen) >= QSIZE)
        return 1;
    /* Direct chains of several descriptors would overlap the next slots: indirect only. */
    if (!(d->opts & 2))
        nseg = s.nseg = 1;
    slot = qs->avail_idx % QSIZE;
    for (unsigned i = 0; i < nseg; i++) {
        if (pos + 3 > n)
            return 0;
        s.len[i] = mq_get_le16(in + pos) % (RX_SEG_MAX + 1);
        s.write[i] = !(in[pos + 2] & 1);
        s.gpa[i] = RX_DATA + (slot * 4ull + i) * RX_SEG_MAX;
        pos += 3;
    }
    d->rx[slot] = s;
    publish(d, RXQ, s.gpa, s.len, s.write, nseg);
    wr(d, MQ_VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
    return pos;
}

/* Copy up to max of chain slot's writable bytes into out. */
static uint32_t gather(const struct rx_slot *s, uint8_t *out, uint32_t max)
{
    uint32_t got = 0;

    for (unsigned i = 0; i < s->nseg && got < max; i++) {
        if (!s->write[i])
            continue;
        uint32_t c = MQ_MIN(s->len[i], max - got);
        mq_guest_mem_read(&gm, s->gpa[i], out + got, c);
        got += c;
    }
    return got;
}

static void host_input(struct drv *d, uint32_t len, uint8_t seed)
{
    struct qstate *qs = &d->q[RXQ];
    uint16_t before, after;
    size_t taken;

    for (uint32_t i = 0; i < len; i++)
        in_buf[i] = (uint8_t)(i * 7 + seed);
    before = used_idx(RXQ);
    taken = mq_virtio_console_from_host(d->c, in_buf, len);
    after = used_idx(RXQ);
    INVARIANT(taken <= len);
    if (needs_reset(d)) {
        /* Chains before the bad one may have been completed. */
        probe(d);
        return;
    }
    uint32_t total = 0;
    for (uint16_t i = before; i != after; i++) {
        uint32_t id, ulen;
        used_elem(RXQ, i, &id, &ulen);
        INVARIANT(id < QSIZE);
        INVARIANT(ulen > 0 && total + ulen <= taken);
        INVARIANT(gather(&d->rx[id], scratch, ulen) == ulen);
        INVARIANT(memcmp(scratch, in_buf + total, ulen) == 0);
        total += ulen;
    }
    INVARIANT(total == taken);
    qs->used_seen = after;
}

static size_t op_input(struct drv *d, const uint8_t *in, size_t n)
{
    if (n < 3)
        return 0;
    host_input(d, mq_get_le16(in + 1) + ((in[0] & 4) ? 65536u : 0), in[2]);
    return 3;
}

static size_t op_control(struct drv *d, const uint8_t *in)
{
    switch ((in[0] >> 2) & 3) {
    case 0:
        probe(d);
        break;
    case 1:
        wr(d, MQ_VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
        break;
    default:
        host_input(d, 0, 0);
        break;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct mq_virtio_console_host host = {host_to_host, host_rx_space, NULL};
    struct mq_irq irq = {0};
    struct drv d = {.tx_next = TX_DATA};
    size_t pos = 1;

    if (!gm.host) {
        mq_log_set_level(MQ_LOG_ERROR);
        if (mq_guest_mem_init(&gm, RAM_BASE, RAM_SIZE))
            abort();
    }
    if (size < 1)
        return 0;
    d.opts = data[0];
    memset(gm.host, 0, RAM_SIZE);
    if (mq_virtio_mmio_create(&gm, &irq, &d.mmio))
        abort();
    if (mq_virtio_console_create(mq_virtio_mmio_dev(d.mmio), NULL, &host, &d.c))
        abort();
    probe(&d);

    for (int op = 0; op < MAX_OPS && pos < size; op++) {
        size_t used;

        switch (data[pos] & 3) {
        case 0:
            used = op_tx(&d, data + pos, size - pos);
            break;
        case 1:
            used = op_rx_post(&d, data + pos, size - pos);
            break;
        case 2:
            used = op_input(&d, data + pos, size - pos);
            break;
        default:
            used = op_control(&d, data + pos);
            break;
        }
        if (!used)
            break;
        pos += used;
    }
    mq_virtio_mmio_destroy(d.mmio);
    return 0;
}
