/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the virtio-input model (virtio 1.2 section 5.8): event
 * buffers and status buffers of random layout, key presses, config
 * accesses of any offset and width, resets and snapshot round trips, with
 * or without EVENT_IDX and INDIRECT_DESC. Checks that every event the
 * driver gets is the next one pressed (KEY_POWER down, SYN, up, SYN) in an
 * 8-byte write, that the device's pending count matches what was pressed
 * and not delivered, that the config space answers only the supported
 * select/subsel pairs with zeros past size, and that a bad buffer sets
 * NEEDS_RESET without delivering anything into it.
 *
 * Input: byte 0 = options (bit0 EVENT_IDX, bit1 INDIRECT_DESC), then
 * operations, each a byte whose low 3 bits pick:
 *   0 post an event chain: bits 3-4 segments - 1; per segment le16 length
 *     (cut to 64) and a flags byte (bit 0 readable);
 *   1 press: bit 3 set = an unsupported key code;
 *   2 status chain: bits 3-4 segments - 1; per segment le16 length (cut to
 *     64) and a flags byte (bit 0 writable);
 *   3 select: a select byte and a subsel byte, then the whole config read
 *     back in accesses of width 1 << (bits 3-4) (1, 2, 4; 8 reads 1);
 *   4 config write: offset byte, width byte (1, 2 or 4 after % 3), le32 value;
 *   5 control: bits 3-4 = 0 reset and probe again, 1 kick both queues,
 *     2 save, reset and load, 3 nothing;
 *   6, 7 as 1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/le.h"
#include "util/log.h"
#include "util/state_testutil.h"
#include "virtio/virtio_input.h"
#include "virtio/virtio_mmio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_BASE 0x80000000ull
#define RAM_SIZE 0x40000ull
#define QSIZE 16u
#define EVQ MQ_VIRTIO_INPUT_EVENTQ
#define STQ MQ_VIRTIO_INPUT_STATUSQ
#define RING(q) (RAM_BASE + 0x4000ull * (q))   /* desc, avail at +0x1000, used at +0x2000 */
#define TABLES (RAM_BASE + 0x8000)             /* indirect tables: 8 entries per slot and queue */
#define DATA(q, slot, seg) (RAM_BASE + 0x10000 + (((q) * QSIZE + (slot)) * 4ull + (seg)) * 64)
#define MAX_OPS 256
#define SEG_MAX 64u
#define EXPECT_MAX 4096

#define INVARIANT(c)                                                           \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

static struct mq_guest_mem gm;

struct chain {
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
    struct mq_virtio_input *in;
    uint8_t opts;
    struct qstate q[2];
    struct chain ev[QSIZE];
    /* Events pressed and not yet seen, as (type, code, value) triples. */
    uint32_t expect[EXPECT_MAX][3];
    unsigned exp_head, exp_count;
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
    memset(d->ev, 0, sizeof(d->ev));
    d->exp_head = d->exp_count = 0;
    wr(d, MQ_VIRTIO_MMIO_STATUS, 0);
    INVARIANT(mq_virtio_input_pending(d->in) == 0);
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
 * Publish chain c on queue q in slot (avail_idx % QSIZE): through the
 * slot's indirect table when negotiated, else as one direct descriptor
 * (multi-segment direct chains would overlap the next slots).
 */
static uint16_t publish(struct drv *d, unsigned q, struct chain *c)
{
    struct qstate *qs = &d->q[q];
    uint16_t slot = qs->avail_idx % QSIZE;
    uint8_t raw[2];

    if (!(d->opts & 2))
        c->nseg = 1;
    if (c->nseg > 1) {
        uint64_t table = TABLES + (q * QSIZE + slot) * 8 * 16ull;
        for (unsigned i = 0; i < c->nseg; i++)
            put_desc(table + 16ull * i, c->gpa[i], c->len[i],
                     (uint16_t)((c->write[i] ? MQ_VIRTQ_DESC_F_WRITE : 0) |
                                (i + 1 < c->nseg ? MQ_VIRTQ_DESC_F_NEXT : 0)),
                     (uint16_t)(i + 1));
        put_desc(RING(q) + 16ull * slot, table, c->nseg * 16, MQ_VIRTQ_DESC_F_INDIRECT, 0);
    } else {
        put_desc(RING(q) + 16ull * slot, c->gpa[0], c->len[0],
                 c->write[0] ? MQ_VIRTQ_DESC_F_WRITE : 0, 0);
    }
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

/* Check every newly used event buffer against the next expected event. */
static void check_events(struct drv *d)
{
    struct qstate *qs = &d->q[EVQ];
    uint16_t end = used_idx(EVQ);

    INVARIANT((uint16_t)(end - qs->used_seen) <= (uint16_t)(qs->avail_idx - qs->used_seen));
    for (; qs->used_seen != end; qs->used_seen++) {
        uint32_t id, len;
        uint8_t raw[8];
        const struct chain *c;

        used_elem(EVQ, qs->used_seen, &id, &len);
        INVARIANT(id < QSIZE && len == 8 && d->exp_count > 0);
        c = &d->ev[id];
        /*
         * A good chain has no readable bytes (zero-length readable
         * descriptors are no bytes) and the event in its first 8 writable ones.
         */
        for (unsigned i = 0, got = 0; i < c->nseg && got < 8; i++) {
            uint32_t n = MQ_MIN(c->len[i], 8 - got);
            if (!c->len[i])
                continue;
            INVARIANT(c->write[i]);
            mq_guest_mem_read(&gm, c->gpa[i], raw + got, n);
            got += n;
        }
        const uint32_t *e = d->expect[d->exp_head];
        INVARIANT(mq_get_le16(raw) == e[0] && mq_get_le16(raw + 2) == e[1] &&
                  mq_get_le32(raw + 4) == e[2]);
        d->exp_head = (d->exp_head + 1) % EXPECT_MAX;
        d->exp_count--;
    }
    if (!needs_reset(d))
        INVARIANT(mq_virtio_input_pending(d->in) == d->exp_count);
}

static size_t read_chain(const uint8_t *in, size_t n, unsigned q, uint16_t slot, bool flag_w,
                         struct chain *c)
{
    size_t pos = 1;

    c->nseg = ((in[0] >> 3) & 3) + 1;
    for (unsigned i = 0; i < c->nseg; i++) {
        if (pos + 3 > n)
            return 0;
        c->len[i] = mq_get_le16(in + pos) % (SEG_MAX + 1);
        c->write[i] = flag_w ? (in[pos + 2] & 1) : !(in[pos + 2] & 1);
        c->gpa[i] = DATA(q, slot, i);
        pos += 3;
    }
    return pos;
}

static size_t op_event_buf(struct drv *d, const uint8_t *in, size_t n)
{
    struct qstate *qs = &d->q[EVQ];
    uint16_t slot = qs->avail_idx % QSIZE;
    struct chain c;
    size_t pos;

    if ((uint16_t)(qs->avail_idx - qs->used_seen) >= QSIZE)
        return 1;
    pos = read_chain(in, n, EVQ, slot, false, &c);
    if (!pos)
        return 0;
    memset(gm.host + (DATA(EVQ, slot, 0) - RAM_BASE), 0xa5, 4 * 64);
    publish(d, EVQ, &c);
    d->ev[slot] = c;
    wr(d, MQ_VIRTIO_MMIO_QUEUE_NOTIFY, EVQ);
    if (needs_reset(d)) {
        /* Nothing was written into the bad chain. */
        check_events(d);
        probe(d);
        return pos;
    }
    check_events(d);
    return pos;
}

static size_t op_press(struct drv *d, const uint8_t *in)
{
    bool other = in[0] & 8;
    int ret = mq_virtio_input_press_key(d->in, other ? 30 : MQ_INPUT_KEY_POWER);
    static const uint32_t seq[4][3] = {
        {MQ_INPUT_EV_KEY, MQ_INPUT_KEY_POWER, 1}, {MQ_INPUT_EV_SYN, MQ_INPUT_SYN_REPORT, 0},
        {MQ_INPUT_EV_KEY, MQ_INPUT_KEY_POWER, 0}, {MQ_INPUT_EV_SYN, MQ_INPUT_SYN_REPORT, 0}};

    if (other) {
        INVARIANT(ret == -EINVAL);
        return 1;
    }
    if (ret == 0) {
        /* Pending and in-flight events together never exceed the device's bound plus the ring. */
        INVARIANT(d->exp_count + 4 <= MQ_VIRTIO_INPUT_PENDING_MAX + QSIZE);
        for (unsigned i = 0; i < 4; i++)
            memcpy(d->expect[(d->exp_head + d->exp_count++) % EXPECT_MAX], seq[i],
                   sizeof(seq[i]));
    } else if (ret == -ENOBUFS) {
        INVARIANT(mq_virtio_input_pending(d->in) > MQ_VIRTIO_INPUT_PENDING_MAX - 4);
    } else {
        INVARIANT(ret == -ENODEV && needs_reset(d));
    }
    if (needs_reset(d)) {
        check_events(d);
        probe(d);
        return 1;
    }
    check_events(d);
    return 1;
}

static size_t op_status_buf(struct drv *d, const uint8_t *in, size_t n)
{
    struct qstate *qs = &d->q[STQ];
    uint16_t slot = qs->avail_idx % QSIZE, before = used_idx(STQ);
    struct chain c;
    size_t pos = read_chain(in, n, STQ, slot, true, &c);

    if (!pos)
        return 0;
    publish(d, STQ, &c);
    wr(d, MQ_VIRTIO_MMIO_QUEUE_NOTIFY, STQ);
    if (needs_reset(d)) {
        check_events(d);
        probe(d);
        return pos;
    }
    INVARIANT(used_idx(STQ) == (uint16_t)(before + 1));
    uint32_t id, len;
    used_elem(STQ, before, &id, &len);
    INVARIANT(id == slot && len == 0);
    qs->used_seen++;
    return pos;
}

static uint32_t cfg_read(struct drv *d, uint32_t off, unsigned width)
{
    uint64_t v = 0;

    mq_virtio_mmio_ops.read(d->mmio, MQ_VIRTIO_MMIO_CONFIG + off, width, &v);
    return (uint32_t)v;
}

/* The size the spec makes the device answer for select/subsel. */
static unsigned expected_size(uint8_t sel, uint8_t sub)
{
    switch (sel) {
    case MQ_VIRTIO_INPUT_CFG_ID_NAME:
        return sub == 0 ? strlen(MQ_VIRTIO_INPUT_NAME) : 0;
    case MQ_VIRTIO_INPUT_CFG_ID_DEVIDS:
        return sub == 0 ? 8 : 0;
    case MQ_VIRTIO_INPUT_CFG_EV_BITS:
        return sub == MQ_INPUT_EV_SYN ? 1 : sub == MQ_INPUT_EV_KEY ? 15 : 0;
    default:
        return 0;
    }
}

static void check_config(struct drv *d, unsigned width)
{
    uint8_t cfg[MQ_VIRTIO_INPUT_CFG_SIZE + 4];

    if (width > 4)
        width = 1;
    for (uint32_t off = 0; off < MQ_VIRTIO_INPUT_CFG_SIZE; off += width)
        mq_put_le32(cfg + off, cfg_read(d, off, width));
    INVARIANT(cfg[2] == expected_size(cfg[0], cfg[1]));
    for (unsigned i = MQ_VIRTIO_INPUT_CFG_U + cfg[2]; i < MQ_VIRTIO_INPUT_CFG_SIZE; i++)
        INVARIANT(cfg[i] == 0);
    for (unsigned i = 3; i < MQ_VIRTIO_INPUT_CFG_U; i++)
        INVARIANT(cfg[i] == 0);
    if (cfg[0] == MQ_VIRTIO_INPUT_CFG_EV_BITS && cfg[1] == MQ_INPUT_EV_KEY)
        INVARIANT(cfg[MQ_VIRTIO_INPUT_CFG_U + 14] == 0x10);
    /* Past the end: zero. */
    INVARIANT(cfg_read(d, MQ_VIRTIO_INPUT_CFG_SIZE, 1) == 0);
}

static size_t op_select(struct drv *d, const uint8_t *in, size_t n)
{
    if (n < 3)
        return 0;
    mq_virtio_mmio_ops.write(d->mmio, MQ_VIRTIO_MMIO_CONFIG + MQ_VIRTIO_INPUT_CFG_SELECT, 1,
                             in[1]);
    mq_virtio_mmio_ops.write(d->mmio, MQ_VIRTIO_MMIO_CONFIG + MQ_VIRTIO_INPUT_CFG_SUBSEL, 1,
                             in[2]);
    INVARIANT(cfg_read(d, 0, 2) == (uint32_t)(in[1] | in[2] << 8));
    check_config(d, 1u << ((in[0] >> 3) & 3));
    return 3;
}

static size_t op_cfg_write(struct drv *d, const uint8_t *in, size_t n)
{
    static const unsigned widths[3] = {1, 2, 4};

    if (n < 7)
        return 0;
    mq_virtio_mmio_ops.write(d->mmio, MQ_VIRTIO_MMIO_CONFIG + in[1], widths[in[2] % 3],
                             mq_get_le32(in + 3));
    check_config(d, 4);
    return 7;
}

static void save_load(struct drv *d)
{
    struct mqt_blob b;
    uint32_t sel = cfg_read(d, 0, 2);

    /* A healthy device has no chain in flight here: the save must succeed. */
    INVARIANT(mqt_save(mq_virtio_mmio_ops.save, d->mmio, &b) == 0);
    mq_virtio_mmio_ops.reset(d->mmio);
    INVARIANT(mq_virtio_input_pending(d->in) == 0);
    INVARIANT(mqt_load(mq_virtio_mmio_ops.load, d->mmio, &b) == 0);
    mqt_free(&b);
    INVARIANT(cfg_read(d, 0, 2) == sel);
    INVARIANT(mq_virtio_input_pending(d->in) == d->exp_count);
    check_config(d, 4);
}

static size_t op_control(struct drv *d, const uint8_t *in)
{
    switch ((in[0] >> 3) & 3) {
    case 0:
        probe(d);
        break;
    case 1:
        wr(d, MQ_VIRTIO_MMIO_QUEUE_NOTIFY, EVQ);
        wr(d, MQ_VIRTIO_MMIO_QUEUE_NOTIFY, STQ);
        check_events(d);
        break;
    case 2:
        save_load(d);
        check_events(d);
        break;
    default:
        break;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mq_irq irq = {0};
    static struct drv d;
    size_t pos = 1;

    if (!gm.host) {
        mq_log_set_level(MQ_LOG_ERROR);
        if (mq_guest_mem_init(&gm, RAM_BASE, RAM_SIZE))
            abort();
    }
    if (size < 1)
        return 0;
    memset(&d, 0, sizeof(d));
    d.opts = data[0];
    memset(gm.host, 0, RAM_SIZE);
    if (mq_virtio_mmio_create(&gm, &irq, &d.mmio))
        abort();
    if (mq_virtio_input_create(mq_virtio_mmio_dev(d.mmio), NULL, &d.in))
        abort();
    probe(&d);

    for (int op = 0; op < MAX_OPS && pos < size; op++) {
        size_t used;

        switch (data[pos] & 7) {
        case 0:
            used = op_event_buf(&d, data + pos, size - pos);
            break;
        case 2:
            used = op_status_buf(&d, data + pos, size - pos);
            break;
        case 3:
            used = op_select(&d, data + pos, size - pos);
            break;
        case 4:
            used = op_cfg_write(&d, data + pos, size - pos);
            break;
        case 5:
            used = op_control(&d, data + pos);
            break;
        default:
            used = op_press(&d, data + pos);
            break;
        }
        if (!used)
            break;
        pos += used;
    }
    mq_virtio_mmio_destroy(d.mmio);
    return 0;
}
