/* SPDX-License-Identifier: MIT */
/* Tests of virtio-blk against an in-memory blockdev: I/O, flush, get-id, discard, write-zeroes, read-only, bad requests. */
#include "virtio/virtio_blk.h"

#include <stdlib.h>
#include <time.h>

#include "virtio/test_memdisk.h"
#include "virtio/virtio_test_driver.h"
#include "util/state_testutil.h"

#define DISK_SECTORS 2048u
#define DISK_BYTES (DISK_SECTORS * 512u)

static void md_init(struct memdisk *md, const struct mq_blockdev_ops *ops, bool ro)
{
    CHECK_EQ(memdisk_init(md, ops, DISK_BYTES, ro), 0);
}

/* ---- Requests ---- */

#define HDR (TD_DATA)
#define HDR2 (TD_DATA + 0x100)
#define STATUS (TD_DATA + 0x200)
#define BUF (TD_DATA + 0x1000)
#define BUF2 (TD_DATA + 0x20000)

struct env {
    struct td t;
    struct memdisk md;
};

static uint64_t blk_accept = ~0ull;

static void env_init(struct env *e, const struct mq_blockdev_ops *ops, bool ro,
                     const char *serial, struct mq_event_loop *loop)
{
    struct mq_virtio_blk_config cfg = {.serial = serial, .queue_size = 64};

    md_init(&e->md, ops, ro);
    CHECK_EQ(td_create(&e->t), 0);
    CHECK_EQ(mq_virtio_blk_create(e->t.vdev, loop, &e->md.bd, &cfg), 0);
    CHECK_EQ(td_init(&e->t, blk_accept, 1, 64), 0);
}

static void env_fini(struct env *e)
{
    td_destroy(&e->t);
    memdisk_fini(&e->md);
}

static void put_hdr(struct env *e, uint64_t gpa, uint32_t type, uint64_t sector)
{
    uint8_t h[16] = {0};

    mq_put_le32(h, type);
    mq_put_le64(h + 8, sector);
    CHECK_EQ(mq_guest_mem_write(&e->t.gm, gpa, h, sizeof(h)), 0);
}

static uint8_t status_at(struct env *e, uint64_t gpa)
{
    uint8_t s = 0xee;

    CHECK_EQ(mq_guest_mem_read(&e->t.gm, gpa, &s, 1), 0);
    return s;
}

/* Submit a chain, kick, and return the status byte at status_gpa (0xff: no completion). */
static uint8_t submit(struct env *e, const struct td_buf *b, unsigned n, uint64_t status_gpa,
                      uint32_t *used_len)
{
    uint32_t id, len;
    uint16_t head;

    CHECK_EQ(mq_guest_mem_write(&e->t.gm, status_gpa, &(uint8_t){0xff}, 1), 0);
    head = td_add(&e->t, 0, b, n);
    td_kick(&e->t, 0);
    if (!td_used(&e->t, 0, &id, &len))
        return 0xff;
    CHECK_EQ(id, head);
    if (used_len)
        *used_len = len;
    return status_at(e, status_gpa);
}

static uint8_t simple_req(struct env *e, uint32_t type, uint64_t sector, uint32_t len,
                          bool data_write, uint32_t *used_len)
{
    struct td_buf b[3] = {
        {HDR, 16, false},
        {BUF, len, data_write},
        {STATUS, 1, true},
    };

    put_hdr(e, HDR, type, sector);
    if (len == 0) {
        b[1] = b[2];
        return submit(e, b, 2, STATUS, used_len);
    }
    return submit(e, b, 3, STATUS, used_len);
}

static void fill(struct env *e, uint64_t gpa, uint32_t len, uint8_t seed)
{
    uint8_t *tmp = malloc(len);

    for (uint32_t i = 0; i < len; i++)
        tmp[i] = (uint8_t)(seed + i);
    CHECK_EQ(mq_guest_mem_write(&e->t.gm, gpa, tmp, len), 0);
    free(tmp);
}

static bool guest_equals_disk(struct env *e, uint64_t gpa, uint64_t disk_off, uint32_t len)
{
    const uint8_t *p = mq_guest_mem_ptr(&e->t.gm, gpa, len);
    return p && memcmp(p, e->md.data + disk_off, len) == 0;
}

static bool disk_is_zero(struct env *e, uint64_t off, uint64_t len)
{
    for (uint64_t i = 0; i < len; i++) {
        if (e->md.data[off + i])
            return false;
    }
    return true;
}

static uint32_t cfg32(struct env *e, uint32_t off)
{
    return td_rd(&e->t, MQ_VIRTIO_MMIO_CONFIG + off);
}

static void test_config(void)
{
    struct env e;
    uint64_t f;

    env_init(&e, &md_ops, false, NULL, NULL);
    f = td_device_features(&e.t);
    CHECK(f & (1ull << MQ_VIRTIO_BLK_F_FLUSH));
    CHECK(f & (1ull << MQ_VIRTIO_BLK_F_SEG_MAX));
    CHECK(f & (1ull << MQ_VIRTIO_BLK_F_SIZE_MAX));
    CHECK(f & (1ull << MQ_VIRTIO_BLK_F_BLK_SIZE));
    CHECK(f & (1ull << MQ_VIRTIO_BLK_F_DISCARD));
    CHECK(f & (1ull << MQ_VIRTIO_BLK_F_WRITE_ZEROES));
    CHECK(!(f & (1ull << MQ_VIRTIO_BLK_F_RO)));
    CHECK_EQ(td_rd(&e.t, MQ_VIRTIO_MMIO_DEVICE_ID), MQ_VIRTIO_ID_BLOCK);
    CHECK_EQ(cfg32(&e, MQ_VIRTIO_BLK_CFG_CAPACITY), DISK_SECTORS);
    CHECK_EQ(cfg32(&e, MQ_VIRTIO_BLK_CFG_CAPACITY + 4), 0);
    CHECK_EQ(cfg32(&e, MQ_VIRTIO_BLK_CFG_SEG_MAX), 62);
    CHECK_EQ(cfg32(&e, MQ_VIRTIO_BLK_CFG_BLK_SIZE), 512);
    CHECK(cfg32(&e, MQ_VIRTIO_BLK_CFG_SIZE_MAX) >= 4096);
    CHECK(cfg32(&e, MQ_VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS) > 0);
    CHECK(cfg32(&e, MQ_VIRTIO_BLK_CFG_MAX_DISCARD_SEG) > 1);
    CHECK(cfg32(&e, MQ_VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG) > 1);
    env_fini(&e);

    env_init(&e, &md_ops, true, NULL, NULL);
    f = td_device_features(&e.t);
    CHECK(f & (1ull << MQ_VIRTIO_BLK_F_RO));
    CHECK(!(f & (1ull << MQ_VIRTIO_BLK_F_DISCARD)));
    CHECK(!(f & (1ull << MQ_VIRTIO_BLK_F_WRITE_ZEROES)));
    env_fini(&e);
}

static void test_read_write(void)
{
    struct env e;
    uint32_t used;

    env_init(&e, &md_ops, false, NULL, NULL);
    /* Read sectors 3-4. */
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_IN, 3, 1024, true, &used), MQ_VIRTIO_BLK_S_OK);
    CHECK_EQ(used, 1025);
    CHECK(guest_equals_disk(&e, BUF, 3 * 512, 1024));
    CHECK(e.t.irq_level);
    CHECK_EQ(td_ack_irq(&e.t), MQ_VIRTIO_ISR_QUEUE);

    /* Write 4 sectors at the very end of the disk, then read them back. */
    fill(&e, BUF, 2048, 0x40);
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_OUT, DISK_SECTORS - 4, 2048, false, &used),
             MQ_VIRTIO_BLK_S_OK);
    CHECK_EQ(used, 1);
    CHECK(guest_equals_disk(&e, BUF, (DISK_SECTORS - 4) * 512ull, 2048));

    /* A large read crossing several bounce buffer loads (256 KiB). */
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_IN, 100, 256 << 10, true, &used), MQ_VIRTIO_BLK_S_OK);
    CHECK(guest_equals_disk(&e, BUF, 100 * 512, 256 << 10));

    /* Any layout: header split over two buffers, data over three, status inside the last one. */
    uint8_t h[16] = {0};
    mq_put_le32(h, MQ_VIRTIO_BLK_T_IN);
    mq_put_le64(h + 8, 7);
    CHECK_EQ(mq_guest_mem_write(&e.t.gm, HDR, h, 5), 0);
    CHECK_EQ(mq_guest_mem_write(&e.t.gm, HDR2, h + 5, 11), 0);
    struct td_buf b[] = {
        {HDR, 5, false},      {HDR2, 11, false},    {BUF, 100, true},
        {BUF2, 800, true},    {BUF + 0x800, 125, true},
    };
    CHECK_EQ(submit(&e, b, 5, BUF + 0x800 + 124, &used), MQ_VIRTIO_BLK_S_OK);
    CHECK_EQ(used, 1025);
    CHECK(guest_equals_disk(&e, BUF, 7 * 512, 100));
    CHECK(guest_equals_disk(&e, BUF2, 7 * 512 + 100, 800));
    CHECK(guest_equals_disk(&e, BUF + 0x800, 7 * 512 + 900, 124));
    env_fini(&e);
}

static void test_bad_requests(void)
{
    struct env e;
    uint8_t before[512];

    env_init(&e, &md_ops, false, NULL, NULL);
    /* Out of range: starting at capacity, crossing it, absurd sectors. */
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_IN, DISK_SECTORS, 512, true, NULL),
             MQ_VIRTIO_BLK_S_IOERR);
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 1024, true, NULL),
             MQ_VIRTIO_BLK_S_IOERR);
    memcpy(before, e.md.data + (DISK_BYTES - 512), 512);
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_OUT, DISK_SECTORS - 1, 1024, false, NULL),
             MQ_VIRTIO_BLK_S_IOERR);
    CHECK(memcmp(before, e.md.data + (DISK_BYTES - 512), 512) == 0);
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_IN, 1ull << 63, 512, true, NULL),
             MQ_VIRTIO_BLK_S_IOERR);
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_IN, UINT64_MAX, 512, true, NULL),
             MQ_VIRTIO_BLK_S_IOERR);
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_OUT, (UINT64_MAX / 512) + 1, 512, false, NULL),
             MQ_VIRTIO_BLK_S_IOERR);
    /* Lengths not a multiple of 512. */
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_IN, 0, 100, true, NULL), MQ_VIRTIO_BLK_S_IOERR);
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_OUT, 0, 513, false, NULL), MQ_VIRTIO_BLK_S_IOERR);
    /* Unknown type. */
    CHECK_EQ(simple_req(&e, 0x77, 0, 0, false, NULL), MQ_VIRTIO_BLK_S_UNSUPP);
    /* Backend failure. */
    e.md.fail_io = -EIO;
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_IN, 0, 512, true, NULL), MQ_VIRTIO_BLK_S_IOERR);
    e.md.fail_io = 0;
    CHECK(!(td_status(&e.t) & MQ_VIRTIO_STATUS_NEEDS_RESET));

    /* A header shorter than 16 bytes cannot be answered: needs reset. */
    struct td_buf shorthdr[] = {{HDR, 8, false}, {STATUS, 1, true}};
    CHECK_EQ(submit(&e, shorthdr, 2, STATUS, NULL), 0xff);
    CHECK(td_status(&e.t) & MQ_VIRTIO_STATUS_NEEDS_RESET);
    CHECK(td_ack_irq(&e.t) & MQ_VIRTIO_ISR_CONFIG);
    env_fini(&e);

    /* No writable byte for the status: needs reset. */
    env_init(&e, &md_ops, false, NULL, NULL);
    put_hdr(&e, HDR, MQ_VIRTIO_BLK_T_FLUSH, 0);
    struct td_buf nostatus[] = {{HDR, 16, false}};
    CHECK_EQ(submit(&e, nostatus, 1, STATUS, NULL), 0xff);
    CHECK(td_status(&e.t) & MQ_VIRTIO_STATUS_NEEDS_RESET);
    CHECK_EQ(e.md.flushes, 0);
    /* A reset and a new probe bring it back. */
    CHECK_EQ(td_init(&e.t, blk_accept, 1, 64), 0);
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), MQ_VIRTIO_BLK_S_OK);
    env_fini(&e);

    /* A buffer outside guest RAM: needs reset, nothing written to the disk. */
    env_init(&e, &md_ops, false, NULL, NULL);
    memcpy(before, e.md.data, 512);
    put_hdr(&e, HDR, MQ_VIRTIO_BLK_T_OUT, 0);
    struct td_buf outside[] = {{HDR, 16, false}, {TD_RAM_BASE - 512, 512, false}, {STATUS, 1, true}};
    CHECK_EQ(submit(&e, outside, 3, STATUS, NULL), 0xff);
    CHECK(td_status(&e.t) & MQ_VIRTIO_STATUS_NEEDS_RESET);
    CHECK(memcmp(before, e.md.data, 512) == 0);
    env_fini(&e);
}

static void test_flush_get_id(void)
{
    struct env e;
    uint32_t used;
    char id[21] = {0};

    env_init(&e, &md_ops, false, "maquina-disk-01", NULL);
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_FLUSH, 0, 0, false, &used), MQ_VIRTIO_BLK_S_OK);
    CHECK_EQ(e.md.flushes, 1);
    CHECK_EQ(used, 1);
    memset(id, 'x', 20);
    CHECK_EQ(mq_guest_mem_write(&e.t.gm, BUF, id, 20), 0);
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_GET_ID, 0, 20, true, &used), MQ_VIRTIO_BLK_S_OK);
    CHECK_EQ(used, 21);
    CHECK_EQ(mq_guest_mem_read(&e.t.gm, BUF, id, 20), 0);
    CHECK(strcmp(id, "maquina-disk-01") == 0);
    CHECK_EQ(id[19], 0); /* NUL padded */
    env_fini(&e);

    /* Exactly 20 bytes: no terminator; longer serials are cut. */
    env_init(&e, &md_ops, false, "0123456789abcdefghijKLM", NULL);
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_GET_ID, 0, 20, true, &used), MQ_VIRTIO_BLK_S_OK);
    memset(id, 0, sizeof(id));
    CHECK_EQ(mq_guest_mem_read(&e.t.gm, BUF, id, 20), 0);
    CHECK(memcmp(id, "0123456789abcdefghij", 20) == 0);
    /* A short buffer gets what fits. */
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_GET_ID, 0, 4, true, &used), MQ_VIRTIO_BLK_S_OK);
    CHECK_EQ(used, 5);
    env_fini(&e);
}

static void put_dwz(struct env *e, uint64_t gpa, uint64_t sector, uint32_t num, uint32_t flags)
{
    uint8_t s[16];

    mq_put_le64(s, sector);
    mq_put_le32(s + 8, num);
    mq_put_le32(s + 12, flags);
    CHECK_EQ(mq_guest_mem_write(&e->t.gm, gpa, s, 16), 0);
}

static uint8_t dwz_req(struct env *e, uint32_t type, unsigned nseg)
{
    return simple_req(e, type, 0, nseg * 16, false, NULL);
}

static void test_discard_write_zeroes(void)
{
    struct env e;

    env_init(&e, &md_ops, false, NULL, NULL);
    put_dwz(&e, BUF, 10, 2, 0);
    put_dwz(&e, BUF + 16, 20, 1, 0);
    CHECK_EQ(dwz_req(&e, MQ_VIRTIO_BLK_T_DISCARD, 2), MQ_VIRTIO_BLK_S_OK);
    CHECK_EQ(e.md.discards, 2);
    CHECK(disk_is_zero(&e, 10 * 512, 1024));
    CHECK(disk_is_zero(&e, 20 * 512, 512));
    CHECK(!disk_is_zero(&e, 12 * 512, 512));

    /* unmap on a discard, unknown flags: UNSUPP, nothing done. */
    put_dwz(&e, BUF, 30, 1, 1);
    CHECK_EQ(dwz_req(&e, MQ_VIRTIO_BLK_T_DISCARD, 1), MQ_VIRTIO_BLK_S_UNSUPP);
    put_dwz(&e, BUF, 30, 1, 2);
    CHECK_EQ(dwz_req(&e, MQ_VIRTIO_BLK_T_WRITE_ZEROES, 1), MQ_VIRTIO_BLK_S_UNSUPP);
    CHECK(!disk_is_zero(&e, 30 * 512, 512));
    /* Out of range, even in a later segment: IOERR, nothing done. */
    put_dwz(&e, BUF, 30, 1, 0);
    put_dwz(&e, BUF + 16, DISK_SECTORS - 1, 2, 0);
    CHECK_EQ(dwz_req(&e, MQ_VIRTIO_BLK_T_WRITE_ZEROES, 2), MQ_VIRTIO_BLK_S_IOERR);
    CHECK(!disk_is_zero(&e, 30 * 512, 512));
    put_dwz(&e, BUF, UINT64_MAX, 1, 0);
    CHECK_EQ(dwz_req(&e, MQ_VIRTIO_BLK_T_DISCARD, 1), MQ_VIRTIO_BLK_S_IOERR);
    /* More segments than max_discard_seg. */
    uint32_t max = cfg32(&e, MQ_VIRTIO_BLK_CFG_MAX_DISCARD_SEG);
    for (uint32_t i = 0; i <= max; i++)
        put_dwz(&e, BUF + 16 * i, i, 1, 0);
    CHECK_EQ(dwz_req(&e, MQ_VIRTIO_BLK_T_DISCARD, max + 1), MQ_VIRTIO_BLK_S_UNSUPP);
    /* Data not a multiple of 16. */
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_DISCARD, 0, 20, false, NULL), MQ_VIRTIO_BLK_S_IOERR);

    /* Write zeroes with unmap. */
    put_dwz(&e, BUF, 40, 3, 1);
    CHECK_EQ(dwz_req(&e, MQ_VIRTIO_BLK_T_WRITE_ZEROES, 1), MQ_VIRTIO_BLK_S_OK);
    CHECK_EQ(e.md.write_zeroes, 1);
    CHECK(disk_is_zero(&e, 40 * 512, 3 * 512));
    env_fini(&e);

    /* Backend without write_zeroes or discard: zeroes are written; discard is a no-op. */
    env_init(&e, &md_ops_basic, false, NULL, NULL);
    put_dwz(&e, BUF, 50, 600, 0);
    CHECK_EQ(dwz_req(&e, MQ_VIRTIO_BLK_T_WRITE_ZEROES, 1), MQ_VIRTIO_BLK_S_OK);
    CHECK(disk_is_zero(&e, 50 * 512, 600 * 512));
    put_dwz(&e, BUF, 1000, 1, 0);
    CHECK_EQ(dwz_req(&e, MQ_VIRTIO_BLK_T_DISCARD, 1), MQ_VIRTIO_BLK_S_OK);
    env_fini(&e);

    /* A driver that did not negotiate DISCARD gets UNSUPP. */
    blk_accept = ~(1ull << MQ_VIRTIO_BLK_F_DISCARD);
    env_init(&e, &md_ops, false, NULL, NULL);
    put_dwz(&e, BUF, 10, 1, 0);
    CHECK_EQ(dwz_req(&e, MQ_VIRTIO_BLK_T_DISCARD, 1), MQ_VIRTIO_BLK_S_UNSUPP);
    env_fini(&e);
    blk_accept = ~0ull;
}

static void test_read_only(void)
{
    struct env e;
    uint8_t before[1024];

    env_init(&e, &md_ops, true, NULL, NULL);
    memcpy(before, e.md.data + 512, sizeof(before));
    fill(&e, BUF, 1024, 1);
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_OUT, 1, 1024, false, NULL), MQ_VIRTIO_BLK_S_IOERR);
    CHECK(memcmp(before, e.md.data + 512, sizeof(before)) == 0);
    put_dwz(&e, BUF, 1, 2, 0);
    CHECK_EQ(dwz_req(&e, MQ_VIRTIO_BLK_T_WRITE_ZEROES, 1), MQ_VIRTIO_BLK_S_UNSUPP);
    CHECK_EQ(dwz_req(&e, MQ_VIRTIO_BLK_T_DISCARD, 1), MQ_VIRTIO_BLK_S_UNSUPP);
    CHECK(memcmp(before, e.md.data + 512, sizeof(before)) == 0);
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_IN, 1, 1024, true, NULL), MQ_VIRTIO_BLK_S_OK);
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), MQ_VIRTIO_BLK_S_OK);
    env_fini(&e);
}

/* With an I/O thread: the notify returns at once, the loop completes the request. */
static void test_event_loop(void)
{
    struct mq_event_loop *loop;
    struct env e;
    uint32_t id, len;
    bool done = false;

    CHECK_EQ(mq_event_loop_create(&loop), 0);
    CHECK_EQ(mq_event_loop_start(loop, "blk-test"), 0);
    env_init(&e, &md_ops, false, NULL, loop);
    for (int round = 0; round < 3; round++) {
        struct td_buf b[] = {{HDR, 16, false}, {BUF, 4096, true}, {STATUS, 1, true}};
        put_hdr(&e, HDR, MQ_VIRTIO_BLK_T_IN, 8 * round);
        uint16_t head = td_add(&e.t, 0, b, 3);
        td_kick(&e.t, 0);
        done = false;
        for (int i = 0; i < 5000 && !done; i++) {
            struct timespec ts = {0, 1000000};
            done = td_used(&e.t, 0, &id, &len);
            if (!done)
                nanosleep(&ts, NULL);
        }
        CHECK(done);
        CHECK_EQ(id, head);
        CHECK_EQ(status_at(&e, STATUS), MQ_VIRTIO_BLK_S_OK);
        CHECK(guest_equals_disk(&e, BUF, 8 * 512 * round, 4096));
        td_ack_irq(&e.t);
    }
    /* Reset while the loop runs, then tear down. */
    td_wr(&e.t, MQ_VIRTIO_MMIO_STATUS, 0);
    env_fini(&e);
    mq_event_loop_destroy(loop);
}

static void test_save_load(void)
{
    struct env e, ro;
    struct mqt_blob b;
    struct memdisk small;
    struct td t2;
    struct mq_virtio_blk_config cfg = {.queue_size = 64};

    env_init(&e, &md_ops, false, "snap", NULL);
    fill(&e, BUF, 4096, 7);
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_OUT, 8, 4096, false, NULL), MQ_VIRTIO_BLK_S_OK);
    CHECK_EQ(mqt_save(mq_virtio_mmio_ops.save, e.t.mmio, &b), 0);
    mq_virtio_mmio_ops.reset(e.t.mmio);
    CHECK_EQ(td_status(&e.t), 0);
    CHECK_EQ(mqt_load(mq_virtio_mmio_ops.load, e.t.mmio, &b), 0);
    CHECK(td_status(&e.t) & MQ_VIRTIO_STATUS_DRIVER_OK);
    /* The restored device serves the next request in order. */
    CHECK_EQ(simple_req(&e, MQ_VIRTIO_BLK_T_IN, 8, 4096, true, NULL), MQ_VIRTIO_BLK_S_OK);
    CHECK(guest_equals_disk(&e, BUF, 8 * 512, 4096));
    CHECK_EQ(cfg32(&e, MQ_VIRTIO_BLK_CFG_CAPACITY), DISK_SECTORS);

    /* Another disk size: refused with both sizes named. */
    CHECK_EQ(memdisk_init(&small, &md_ops, DISK_BYTES / 2, false), 0);
    CHECK_EQ(td_create(&t2), 0);
    CHECK_EQ(mq_virtio_blk_create(t2.vdev, NULL, &small.bd, &cfg), 0);
    CHECK_EQ(mqt_load(mq_virtio_mmio_ops.load, t2.mmio, &b), -EINVAL);
    CHECK(strstr(mqt_errmsg, "the disk has 1024 sectors, the snapshot was taken with 2048"));
    CHECK_EQ(td_status(&t2), 0);
    td_destroy(&t2);
    memdisk_fini(&small);

    /* A read-only disk offers other features: refused. */
    blk_accept = ~0ull;
    md_init(&ro.md, &md_ops, true);
    CHECK_EQ(td_create(&ro.t), 0);
    CHECK_EQ(mq_virtio_blk_create(ro.t.vdev, NULL, &ro.md.bd, &cfg), 0);
    CHECK_EQ(mqt_load(mq_virtio_mmio_ops.load, ro.t.mmio, &b), -EINVAL);
    CHECK(strstr(mqt_errmsg, "does not offer"));
    env_fini(&ro);
    mqt_free(&b);
    env_fini(&e);
}

int main(void)
{
    mq_log_set_level(MQ_LOG_ERROR);
    test_config();
    test_read_write();
    test_bad_requests();
    test_flush_get_id();
    test_discard_write_zeroes();
    test_read_only();
    test_event_loop();
    test_save_load();
    return td_finish("virtio_blk_test");
}
