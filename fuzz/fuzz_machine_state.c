/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the snapshot loader: the machine-state reader
 * (util/state.c) and the load function of every device that has one. Each
 * section found is loaded into a fresh device; a device that accepted its
 * state must then work (register reads, queue kicks over RAM filled with
 * the input) and save again, and that save must load into another fresh
 * device and save to the same bytes (save and load are inverses).
 *
 * Input: byte 0 selects how the rest is read, so that both the checksum
 * and what lies behind it are reached:
 *   0  a whole stream, as a snapshot's vmstate would hold it;
 *   1  a whole stream whose trailer checksum the harness recomputes;
 *   2  one section: byte 1 picks the device, bytes 2-5 the section
 *      version (le32), the rest is the payload, wrapped by the harness in
 *      a valid stream.
 * Section names: uart@10000000, plic@c000000, aclint@2000000,
 * syscon@100000, rtc@101000, virtio-mmio@10001000 (blk), @10002000 (rng),
 * @10003000 (empty slot), hart.0 (a hart offering Sv39 only, so both
 * satp checks are reached), virtio-mmio@10004000 (net), @10005000
 * (console) and ram (a RAM field of RAM_PAGES pages). A restored hart runs
 * a few thousand instructions of the RAM (the input) to show its state is
 * one the interpreter can execute from.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cpu/riscv/hart.h"
#include "hw/aclint.h"
#include "hw/goldfish_rtc.h"
#include "hw/plic.h"
#include "hw/syscon.h"
#include "hw/uart16550.h"
#include "util/le.h"
#include "util/log.h"
#include "util/state.h"
#include "virtio/test_memdisk.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_console.h"
#include "virtio/virtio_mmio.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_rng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INVARIANT(c)                                                           \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

#define RAM_BASE 0x80000000ull
#define RAM_SIZE 0x40000ull
#define RAM_PAGES 20u
#define PLIC_SOURCES 96u
#define PLIC_CONTEXTS 4u
#define HARTS 2u
#define MAX_STREAM (1u << 20)

static struct mq_guest_mem gm;
static struct mq_timebase tb;
static struct memdisk disk;
static struct mq_bus bus;

static void irq_set(void *opaque, unsigned line, bool level)
{
}

static void ctx_irq(void *opaque, unsigned ctx, bool level)
{
    INVARIANT(ctx < PLIC_CONTEXTS);
}

static void set_msip(void *opaque, unsigned hart, bool level)
{
    INVARIANT(hart < HARTS);
}

static void set_mtimecmp(void *opaque, unsigned hart, uint64_t v)
{
    INVARIANT(hart < HARTS);
}

/* ---- the hart, the net backend and the console host end ---- */

static int hart_save(void *dev, struct mq_state_writer *w)
{
    return rv_hart_save(dev, w);
}

static int hart_load(void *dev, struct mq_state_reader *r)
{
    return rv_hart_load(dev, r);
}

static void hart_destroy(void *dev)
{
    rv_hart_destroy(dev);
}

/* The hart is no bus device; this table only gives the harness one shape for all. */
static const struct mq_dev_ops hart_ops = {
    .name = "hart",
    .save = hart_save,
    .load = hart_load,
    .destroy = hart_destroy,
};

static int nb_send(struct mq_net_backend *nb, const uint8_t *frame, size_t len)
{
    return 0;
}

static void nb_close(struct mq_net_backend *nb)
{
    free(nb);
}

static const struct mq_net_backend_ops nb_ops = {
    .kind = "fuzz",
    .send = nb_send,
    .close = nb_close,
};

static void console_to_host(void *opaque, const uint8_t *buf, size_t len)
{
}

/* ---- devices: create fresh, exercise ---- */

/* New kinds go at the end so that mode 2 inputs keep selecting the same section. */
enum dev_kind {
    D_UART, D_PLIC, D_ACLINT, D_SYSCON, D_RTC, D_BLK, D_RNG, D_EMPTY, D_HART, D_NET,
    D_CONSOLE, D_COUNT
};

static const char *const dev_names[D_COUNT] = {
    "uart@10000000", "plic@c000000", "aclint@2000000", "syscon@100000", "rtc@101000",
    "virtio-mmio@10001000", "virtio-mmio@10002000", "virtio-mmio@10003000", "hart.0",
    "virtio-mmio@10004000", "virtio-mmio@10005000",
};

static const uint8_t fuzz_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static const struct mq_dev_ops *dev_ops(enum dev_kind k)
{
    switch (k) {
    case D_UART: return &mq_uart16550_ops;
    case D_PLIC: return &mq_plic_ops;
    case D_ACLINT: return &mq_aclint_ops;
    case D_SYSCON: return &mq_syscon_ops;
    case D_RTC: return &mq_goldfish_rtc_ops;
    case D_HART: return &hart_ops;
    default: return &mq_virtio_mmio_ops;
    }
}

static void *hart_create(void)
{
    struct rv_hart_config cfg = {
        .hartid = 0, .bus = &bus, .timebase = &tb, .reset_pc = RAM_BASE, .max_satp_mode = 8,
    };

    return rv_hart_create(&cfg);
}

/* A virtio-net or virtio-console model on vdev. 0 or -errno. */
static int virtio_model_create(enum dev_kind k, struct mq_virtio_dev *vdev)
{
    struct mq_virtio_console_host host = {.to_host = console_to_host};
    struct mq_virtio_console *con;
    struct mq_net_backend *nb;
    int ret;

    if (k == D_CONSOLE)
        return mq_virtio_console_create(vdev, NULL, &host, &con);
    nb = calloc(1, sizeof(*nb));
    if (!nb)
        return -ENOMEM;
    nb->ops = &nb_ops;
    ret = mq_virtio_net_create(vdev, NULL, nb, fuzz_mac);
    if (ret)
        free(nb);
    return ret;
}

static void *dev_create(enum dev_kind k)
{
    struct mq_irq irq = {.set = irq_set};
    struct mq_virtio_mmio *mmio = NULL;

    switch (k) {
    case D_UART: return mq_uart16550_create(irq, NULL, NULL);
    case D_PLIC: return mq_plic_create(PLIC_SOURCES, PLIC_CONTEXTS, ctx_irq, NULL);
    case D_ACLINT: return mq_aclint_create(&tb, HARTS, set_msip, set_mtimecmp, NULL);
    case D_SYSCON: return mq_syscon_create(NULL, NULL);
    case D_RTC: return mq_goldfish_rtc_create(irq);
    case D_HART: return hart_create();
    default: break;
    }
    if (mq_virtio_mmio_create(&gm, &irq, &mmio))
        return NULL;
    if ((k == D_BLK && mq_virtio_blk_create(mq_virtio_mmio_dev(mmio), NULL, &disk.bd,
                                            &(struct mq_virtio_blk_config){.queue_size = 16})) ||
        (k == D_RNG && mq_virtio_rng_create(mq_virtio_mmio_dev(mmio), NULL)) ||
        ((k == D_NET || k == D_CONSOLE) && virtio_model_create(k, mq_virtio_mmio_dev(mmio)))) {
        mq_virtio_mmio_destroy(mmio);
        return NULL;
    }
    return mmio;
}

/* A restored device must answer register accesses and, for virtio, process its queues. */
static void dev_exercise(enum dev_kind k, void *dev)
{
    const struct mq_dev_ops *ops = dev_ops(k);
    uint64_t v;

    switch (k) {
    case D_UART:
        for (unsigned off = 0; off < 8; off++)
            ops->read(dev, off, 1, &v);
        mq_uart16550_rx(dev, (const uint8_t *)"zz", 2);
        ops->read(dev, 0, 1, &v);
        break;
    case D_PLIC:
        for (unsigned c = 0; c < PLIC_CONTEXTS; c++) {
            INVARIANT(ops->read(dev, 0x200004u + 0x1000u * c, 4, &v) == 0);
            INVARIANT(v < PLIC_SOURCES);
            ops->write(dev, 0x200004u + 0x1000u * c, 4, v);
        }
        mq_plic_set_irq(dev, 7, true);
        break;
    case D_ACLINT:
        for (unsigned h = 0; h < HARTS; h++) {
            ops->read(dev, 4u * h, 4, &v);
            ops->read(dev, 0x4000u + 8u * h, 8, &v);
        }
        break;
    case D_SYSCON:
        ops->read(dev, 0, 4, &v);
        break;
    case D_RTC:
        for (unsigned off = 0; off < 0x20; off += 4)
            ops->read(dev, off, 4, &v);
        break;
    case D_HART: {
        uint64_t before = rv_hart_retired(dev);
        rv_hart_run(dev, 3000);
        INVARIANT(rv_hart_get_xreg(dev, 0) == 0 && !(rv_hart_get_pc(dev) & 1));
        INVARIANT(rv_hart_retired(dev) - before <= 3000);
        break;
    }
    default:
        for (unsigned off = 0; off < 0x100; off += 4)
            ops->read(dev, off, 4, &v);
        /* Kick every queue: the walker must stay inside RAM whatever was restored. */
        for (unsigned q = 0; q < 3; q++)
            ops->write(dev, MQ_VIRTIO_MMIO_QUEUE_NOTIFY, 4, q);
        break;
    }
}

/* ---- streams ---- */

struct saved {
    uint8_t *data;
    size_t len;
};

/* Save dev as the only section of a new stream. 0 or the save's error. */
static int save_one(enum dev_kind k, void *dev, struct saved *out)
{
    struct mq_state_writer *w;
    const void *p;
    size_t len;
    int ret;

    out->data = NULL;
    out->len = 0;
    if (mq_state_writer_create(&w))
        return -1;
    ret = mq_state_begin_section(w, dev_names[k]);
    if (!ret)
        ret = dev_ops(k)->save(dev, w);
    if (!ret)
        ret = mq_state_end_section(w);
    if (!ret)
        ret = mq_state_writer_finish(w, &p, &len);
    if (!ret) {
        out->data = malloc(len);
        INVARIANT(out->data);
        memcpy(out->data, p, len);
        out->len = len;
    }
    mq_state_writer_free(w);
    return ret;
}

/* Open section name of r, load it into dev, close. */
static int load_section(struct mq_state_reader *r, const char *name,
                        const struct mq_dev_ops *ops, void *dev)
{
    int ret = mq_state_open_section(r, name);

    if (ret)
        return ret;
    ret = ops->load(dev, r);
    /* Every refusal is recorded with its message; every success leaves none. */
    INVARIANT((ret == 0) == (mq_state_reader_error(r) == 0));
    if (mq_state_close_section(r))
        ret = ret ? ret : -1;
    return ret;
}

/* A successfully loaded device saves, and its save round-trips bit for bit. */
static void check_round_trip(enum dev_kind k, void *dev)
{
    struct saved s1, s2;
    struct mq_state_reader *r;
    void *fresh;
    int ret;

    ret = save_one(k, dev, &s1);
    /* The loader refuses chains in flight in a working device, so save cannot be busy. */
    INVARIANT(ret == 0);
    fresh = dev_create(k);
    INVARIANT(fresh);
    INVARIANT(mq_state_reader_open(s1.data, s1.len, &r) == 0);
    INVARIANT(load_section(r, dev_names[k], dev_ops(k), fresh) == 0);
    INVARIANT(mq_state_check_all_opened(r) == 0);
    mq_state_reader_free(r);
    INVARIANT(save_one(k, fresh, &s2) == 0);
    /* The RTC's alarm may fire between the two saves: timing, not a bug. */
    if (k != D_RTC)
        INVARIANT(s1.len == s2.len && !memcmp(s1.data, s2.data, s1.len));
    dev_ops(k)->destroy(fresh);
    free(s1.data);
    free(s2.data);
}

static bool has_section(const struct mq_state_reader *r, const char *name)
{
    for (unsigned i = 0; i < mq_state_section_count(r); i++) {
        if (!strcmp(mq_state_section_name(r, i, &(bool){false}), name))
            return true;
    }
    return false;
}

static void load_all(struct mq_state_reader *r)
{
    uint8_t *ram;

    for (unsigned k = 0; k < D_COUNT; k++) {
        void *dev;
        int ret;

        /* Only for sections the stream has: a fresh hart costs its decoded-page cache. */
        if (!has_section(r, dev_names[k]))
            continue;
        dev = dev_create(k);
        INVARIANT(dev);
        ret = load_section(r, dev_names[k], dev_ops(k), dev);
        if (ret == 0) {
            check_round_trip(k, dev);
            dev_exercise(k, dev);
        }
        dev_ops(k)->destroy(dev);
        /* After a failed load the reader is dead: nothing more opens. */
        if (ret && ret != -ENOENT) {
            INVARIANT(mq_state_reader_error(r) != 0);
            return;
        }
    }
    ram = malloc(RAM_PAGES * 4096u);
    INVARIANT(ram);
    memset(ram, 0xa5, RAM_PAGES * 4096u);
    if (mq_state_open_section(r, "ram") == 0) {
        mq_state_get_ram(r, ram, RAM_PAGES * 4096u);
        mq_state_close_section(r);
    }
    free(ram);
    mq_state_check_all_opened(r);
}

static void fix_crc(uint8_t *p, size_t len)
{
    if (len >= 4)
        mq_put_le32(p + len - 4, (uint32_t)crc32(crc32(0, Z_NULL, 0), p, (uInt)(len - 4)));
}

/* Mode 2: header, one section around the payload, end marker, checksum. */
static size_t wrap_section(uint8_t *out, const char *name, uint32_t version,
                           const uint8_t *payload, size_t plen)
{
    size_t nlen = strlen(name), pos = 0;

    memcpy(out, "MQSTATE", 8);
    mq_put_le32(out + 8, MQ_STATE_FORMAT_VERSION);
    mq_put_le32(out + 12, 0);
    pos = 16;
    out[pos++] = (uint8_t)nlen;
    memcpy(out + pos, name, nlen);
    pos += nlen;
    mq_put_le32(out + pos, version);
    mq_put_le64(out + pos + 4, plen);
    pos += 12;
    memcpy(out + pos, payload, plen);
    pos += plen;
    out[pos++] = 0;
    pos += 4;
    fix_crc(out, pos);
    return pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mq_state_reader *r;
    uint8_t *buf;
    size_t len;

    if (!gm.host) {
        mq_log_set_level(MQ_LOG_ERROR);
        if (mq_guest_mem_init(&gm, RAM_BASE, RAM_SIZE) ||
            memdisk_init(&disk, &md_ops, 64 * 512, false))
            abort();
        mq_timebase_init(&tb, 10000000);
        mq_bus_init(&bus, &gm);
    }
    if (size < 1 || size > MAX_STREAM)
        return 0;
    /* RAM holds the input over and over: rings the restored queues point at are fuzzed too. */
    for (size_t off = 0; off < RAM_SIZE; off += size)
        memcpy(gm.host + off, data, MQ_MIN(size, RAM_SIZE - off));
    buf = malloc(size + 128);
    INVARIANT(buf);
    switch (data[0] % 3) {
    case 0:
    case 1:
        len = size - 1;
        memcpy(buf, data + 1, len);
        if (data[0] % 3 == 1)
            fix_crc(buf, len);
        break;
    default:
        if (size < 6) {
            free(buf);
            return 0;
        }
        len = wrap_section(buf, data[1] % (D_COUNT + 1) == D_COUNT ? "ram"
                                                                    : dev_names[data[1] % (D_COUNT + 1)],
                           mq_get_le32(data + 2), data + 6, size - 6);
        break;
    }
    /* An exact-size copy, so ASan sees any read past the stream. */
    {
        uint8_t *exact = malloc(len ? len : 1);
        INVARIANT(exact);
        memcpy(exact, buf, len);
        free(buf);
        buf = exact;
    }
    if (mq_state_reader_open(buf, len, &r) == 0)
        load_all(r);
    else if (r)
        INVARIANT(mq_state_reader_error(r) != 0 && mq_state_reader_errmsg(r)[0]);
    mq_state_reader_free(r);
    free(buf);
    return 0;
}
