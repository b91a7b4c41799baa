/* SPDX-License-Identifier: MIT */
/* virtio-blk: block requests from a virtqueue served by a struct mq_blockdev (virtio 1.2 section 5.2). */
#include "virtio/virtio_blk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/le.h"
#include "util/log.h"
#include "util/state.h"

#define SUBSYS "virtio-blk"
#define BLK_STATE_VERSION 1u

#define SECTOR_SIZE 512u
#define DEFAULT_QUEUE_SIZE 256u
#define HDR_BYTES 16u
#define DWZ_SEG_BYTES 16u
/* Advertised limits. size_max bounds one segment, not a request. */
#define SIZE_MAX_BYTES (1u << 20)
#define MAX_DISCARD_SECTORS (1u << 22) /* 2 GiB per segment */
#define MAX_DISCARD_SEG 32u
#define DISCARD_ALIGN_SECTORS 8u       /* 4 KiB: a hint for the guest's splitting */
#define MAX_WRITE_ZEROES_SECTORS (1u << 22)
#define MAX_WRITE_ZEROES_SEG 32u
/* Data moves through a bounce buffer of this size, one backend call per piece. */
#define BOUNCE_BYTES (128u << 10)

struct virtio_blk {
    struct mq_virtio_dev *vdev;
    struct mq_event_loop *loop;     /* NULL: synchronous */
    struct mq_notifier *kick;
    struct mq_blockdev *bd;
    uint64_t capacity;              /* sectors */
    uint32_t queue_size;
    uint8_t config[MQ_VIRTIO_BLK_CFG_SIZE];
    char id[MQ_VIRTIO_BLK_ID_BYTES];
    uint8_t *bounce;                /* used by one request at a time (queue lock) */
    struct mq_virtq_seg *segs;      /* queue_size entries, same */
    struct mq_virtio_blk_stats stats; /* updated atomically */
};

struct dwz_seg {
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t flags;
};

#define DWZ_F_UNMAP 1u

static bool sectors_ok(const struct virtio_blk *blk, uint64_t sector, uint64_t count)
{
    return mq_range_ok(sector, count, blk->capacity);
}

/* IN (read from disk into the writable data) or OUT (readable data to disk). */
static uint8_t blk_rw(struct virtio_blk *blk, struct mq_guest_mem *gm,
                      const struct mq_virtq_chain *c, uint64_t sector, bool write,
                      uint32_t *data_written)
{
    uint64_t len = write ? c->read_len - HDR_BYTES : c->write_len - 1u;
    uint64_t off = sector * SECTOR_SIZE;
    int ret = 0;

    if (write && blk->bd->read_only)
        return MQ_VIRTIO_BLK_S_IOERR;
    if (len % SECTOR_SIZE || !sectors_ok(blk, sector, len / SECTOR_SIZE)) {
        mq_guest_warn(SUBSYS, "%s of %llu bytes at sector %llu beyond %llu sectors or unaligned",
                      write ? "write" : "read", (unsigned long long)len,
                      (unsigned long long)sector, (unsigned long long)blk->capacity);
        return MQ_VIRTIO_BLK_S_IOERR;
    }
    for (uint64_t done = 0; done < len && !ret;) {
        uint64_t n = MQ_MIN(len - done, BOUNCE_BYTES);
        if (write) {
            ret = mq_virtq_chain_read(gm, c, HDR_BYTES + done, blk->bounce, n);
            if (!ret)
                ret = mq_blockdev_pwrite(blk->bd, blk->bounce, n, off + done);
        } else {
            ret = mq_blockdev_pread(blk->bd, blk->bounce, n, off + done);
            if (!ret)
                ret = mq_virtq_chain_write(gm, c, done, blk->bounce, n);
        }
        done += n;
        if (!write && !ret)
            *data_written = (uint32_t)done;
    }
    if (ret) {
        mq_guest_warn(SUBSYS, "%s: %s at byte %llu failed: %s", blk->bd->path ? blk->bd->path : "disk",
                      write ? "write" : "read", (unsigned long long)off, strerror(-ret));
        return MQ_VIRTIO_BLK_S_IOERR;
    }
    return MQ_VIRTIO_BLK_S_OK;
}

static uint8_t blk_get_id(struct virtio_blk *blk, struct mq_guest_mem *gm,
                          const struct mq_virtq_chain *c, uint32_t *data_written)
{
    uint32_t n = MQ_MIN(c->write_len - 1u, (uint32_t)MQ_VIRTIO_BLK_ID_BYTES);

    if (mq_virtq_chain_write(gm, c, 0, blk->id, n))
        return MQ_VIRTIO_BLK_S_IOERR;
    *data_written = n;
    return MQ_VIRTIO_BLK_S_OK;
}

/* Fallback for backends without write_zeroes: write zeroes from the bounce buffer. */
static int write_zeroes_slow(struct virtio_blk *blk, uint64_t off, uint64_t len)
{
    int ret = 0;

    memset(blk->bounce, 0, BOUNCE_BYTES);
    for (uint64_t done = 0; done < len && !ret; done += BOUNCE_BYTES)
        ret = mq_blockdev_pwrite(blk->bd, blk->bounce, MQ_MIN(len - done, BOUNCE_BYTES),
                                 off + done);
    return ret;
}

static int apply_dwz(struct virtio_blk *blk, bool discard, const struct dwz_seg *s)
{
    uint64_t off = s->sector * SECTOR_SIZE;
    uint64_t len = (uint64_t)s->num_sectors * SECTOR_SIZE;
    int ret;

    if (discard) {
        /* Discard is advisory (section 5.2.6.2: the device MAY deallocate). */
        ret = mq_blockdev_discard(blk->bd, off, len);
        return ret == -EOPNOTSUPP ? 0 : ret;
    }
    ret = mq_blockdev_write_zeroes(blk->bd, off, len, s->flags & DWZ_F_UNMAP);
    if (ret == -EOPNOTSUPP)
        ret = write_zeroes_slow(blk, off, len);
    return ret;
}

/* DISCARD and WRITE_ZEROES: every segment is read once and checked before any is applied. */
static uint8_t blk_dwz(struct virtio_blk *blk, struct mq_guest_mem *gm,
                       const struct mq_virtq_chain *c, bool discard)
{
    unsigned bit = discard ? MQ_VIRTIO_BLK_F_DISCARD : MQ_VIRTIO_BLK_F_WRITE_ZEROES;
    uint32_t max_seg = discard ? MAX_DISCARD_SEG : MAX_WRITE_ZEROES_SEG;
    uint32_t max_sectors = discard ? MAX_DISCARD_SECTORS : MAX_WRITE_ZEROES_SECTORS;
    struct dwz_seg segs[MQ_MAX(MAX_DISCARD_SEG, MAX_WRITE_ZEROES_SEG)];
    uint32_t dlen = c->read_len - HDR_BYTES, nseg;
    uint8_t raw[DWZ_SEG_BYTES];
    int ret;

    if (!(mq_virtio_features(blk->vdev) & (1ull << bit)))
        return MQ_VIRTIO_BLK_S_UNSUPP;
    if (blk->bd->read_only)
        return MQ_VIRTIO_BLK_S_IOERR;
    if (dlen == 0 || dlen % DWZ_SEG_BYTES)
        return MQ_VIRTIO_BLK_S_IOERR;
    nseg = dlen / DWZ_SEG_BYTES;
    if (nseg > max_seg)
        return MQ_VIRTIO_BLK_S_UNSUPP;
    for (uint32_t i = 0; i < nseg; i++) {
        if (mq_virtq_chain_read(gm, c, HDR_BYTES + i * DWZ_SEG_BYTES, raw, sizeof(raw)))
            return MQ_VIRTIO_BLK_S_IOERR;
        segs[i].sector = mq_get_le64(raw);
        segs[i].num_sectors = mq_get_le32(raw + 8);
        segs[i].flags = mq_get_le32(raw + 12);
        /* Section 5.2.6.2: unknown flags, or unmap on a discard, are UNSUPP. */
        if ((segs[i].flags & ~DWZ_F_UNMAP) || (discard && (segs[i].flags & DWZ_F_UNMAP)))
            return MQ_VIRTIO_BLK_S_UNSUPP;
        if (segs[i].num_sectors > max_sectors ||
            !sectors_ok(blk, segs[i].sector, segs[i].num_sectors))
            return MQ_VIRTIO_BLK_S_IOERR;
    }
    for (uint32_t i = 0; i < nseg; i++) {
        ret = apply_dwz(blk, discard, &segs[i]);
        if (ret) {
            mq_guest_warn(SUBSYS, "%s at sector %llu failed: %s",
                          discard ? "discard" : "write zeroes",
                          (unsigned long long)segs[i].sector, strerror(-ret));
            return MQ_VIRTIO_BLK_S_IOERR;
        }
    }
    return MQ_VIRTIO_BLK_S_OK;
}

#define STAT_ADD(blk, field, n) __atomic_fetch_add(&(blk)->stats.field, (n), __ATOMIC_RELAXED)

static void count_request(struct virtio_blk *blk, uint32_t type, uint8_t status,
                          uint32_t data_in, uint32_t data_out)
{
    if (status == MQ_VIRTIO_BLK_S_IOERR)
        STAT_ADD(blk, errors, 1);
    if (status != MQ_VIRTIO_BLK_S_OK)
        return;
    if (type == MQ_VIRTIO_BLK_T_IN) {
        STAT_ADD(blk, rd_reqs, 1);
        STAT_ADD(blk, rd_bytes, data_in);
    } else if (type == MQ_VIRTIO_BLK_T_OUT) {
        STAT_ADD(blk, wr_reqs, 1);
        STAT_ADD(blk, wr_bytes, data_out);
    } else if (type == MQ_VIRTIO_BLK_T_FLUSH) {
        STAT_ADD(blk, flush_reqs, 1);
    }
}

static int blk_handle(void *model, struct mq_guest_mem *gm, const struct mq_virtq_chain *c,
                      uint32_t *written)
{
    struct virtio_blk *blk = model;
    uint8_t hdr[HDR_BYTES], status;
    uint32_t type, data_written = 0;
    uint64_t sector;
    int ret;

    /* Framing the device cannot answer at all is a driver error. */
    if (c->read_len < HDR_BYTES || c->write_len < 1) {
        mq_guest_warn(SUBSYS, "request with %u readable and %u writable bytes", c->read_len,
                      c->write_len);
        return -EINVAL;
    }
    ret = mq_virtq_chain_read(gm, c, 0, hdr, sizeof(hdr));
    if (ret)
        return ret;
    type = mq_get_le32(hdr);
    sector = mq_get_le64(hdr + 8);
    switch (type) {
    case MQ_VIRTIO_BLK_T_IN:
    case MQ_VIRTIO_BLK_T_OUT:
        status = blk_rw(blk, gm, c, sector, type == MQ_VIRTIO_BLK_T_OUT, &data_written);
        break;
    case MQ_VIRTIO_BLK_T_FLUSH:
        status = mq_blockdev_flush(blk->bd) ? MQ_VIRTIO_BLK_S_IOERR : MQ_VIRTIO_BLK_S_OK;
        break;
    case MQ_VIRTIO_BLK_T_GET_ID:
        status = blk_get_id(blk, gm, c, &data_written);
        break;
    case MQ_VIRTIO_BLK_T_DISCARD:
    case MQ_VIRTIO_BLK_T_WRITE_ZEROES:
        status = blk_dwz(blk, gm, c, type == MQ_VIRTIO_BLK_T_DISCARD);
        break;
    default:
        status = MQ_VIRTIO_BLK_S_UNSUPP;
        break;
    }
    count_request(blk, type, status, data_written, c->read_len - HDR_BYTES);
    /* The status byte is the last writable byte, whatever the data length. */
    ret = mq_virtq_chain_write(gm, c, c->write_len - 1u, &status, 1);
    if (ret)
        return ret;
    *written = data_written + 1;
    return 0;
}

static void blk_run(void *opaque)
{
    struct virtio_blk *blk = opaque;
    struct mq_virtq_chain chain = {.segs = blk->segs, .cap = blk->queue_size};

    /* Yield after a queue's worth so other devices on the loop get a turn. */
    while (mq_virtio_queue_process(blk->vdev, 0, &chain, blk->queue_size, blk_handle, blk)) {
        if (blk->kick) {
            mq_notifier_kick(blk->kick);
            return;
        }
    }
}

static void blk_queue_notify(void *model, unsigned q)
{
    struct virtio_blk *blk = model;

    if (blk->kick)
        mq_notifier_kick(blk->kick);
    else
        blk_run(blk);
}

static void blk_read_config(void *model, uint32_t off, void *buf, uint32_t len)
{
    struct virtio_blk *blk = model;

    memcpy(buf, blk->config + off, len);
}

static void blk_reset(void *model)
{
    /* Requests complete before the queue lock is dropped: nothing in flight. */
}

/*
 * Snapshot: the model's layout version (u32), the capacity in sectors (u64)
 * and the queue size (u32). Nothing else is state: requests complete
 * before the queue lock is dropped and the config space is derived from
 * the disk. The two values are saved only to refuse a restore onto a disk
 * of another size, which the guest would not expect.
 */
static int blk_save(void *model, struct mq_state_writer *w)
{
    struct virtio_blk *blk = model;

    mq_state_put_u32(w, BLK_STATE_VERSION);
    mq_state_put_u64(w, blk->capacity);
    mq_state_put_u32(w, blk->queue_size);
    return mq_state_writer_error(w);
}

static int blk_load(void *model, struct mq_state_reader *r)
{
    struct virtio_blk *blk = model;
    uint32_t version = mq_state_get_u32(r);
    uint64_t capacity = mq_state_get_u64(r);
    uint32_t qsize = mq_state_get_u32(r);

    if (mq_state_reader_error(r))
        return mq_state_reader_error(r);
    if (version != BLK_STATE_VERSION)
        mq_state_reader_fail(r, -EPROTONOSUPPORT, "virtio-blk state version %u is not "
                             "supported (this maquina reads %u)", version, BLK_STATE_VERSION);
    else if (capacity != blk->capacity)
        mq_state_reader_fail(r, -EINVAL, "virtio-blk: the disk has %llu sectors, the "
                             "snapshot was taken with %llu",
                             (unsigned long long)blk->capacity, (unsigned long long)capacity);
    else if (qsize != blk->queue_size)
        mq_state_reader_fail(r, -EINVAL, "virtio-blk: queue size %u, the snapshot was taken "
                             "with %u", blk->queue_size, qsize);
    return mq_state_reader_error(r);
}

static void blk_free(struct virtio_blk *blk)
{
    mq_notifier_destroy(blk->kick);
    free(blk->segs);
    free(blk->bounce);
    free(blk);
}

static void blk_destroy(void *model)
{
    blk_free(model);
}

static const struct mq_virtio_dev_ops blk_ops = {
    .name = "virtio-blk",
    .device_id = MQ_VIRTIO_ID_BLOCK,
    .num_queues = 1,
    .config_size = MQ_VIRTIO_BLK_CFG_SIZE,
    .read_config = blk_read_config,
    .queue_notify = blk_queue_notify,
    .reset = blk_reset,
    .destroy = blk_destroy,
    .save = blk_save,
    .load = blk_load,
};

static void build_config(struct virtio_blk *blk)
{
    uint8_t *cfg = blk->config;

    memset(cfg, 0, sizeof(blk->config));
    mq_put_le64(cfg + MQ_VIRTIO_BLK_CFG_CAPACITY, blk->capacity);
    mq_put_le32(cfg + MQ_VIRTIO_BLK_CFG_SIZE_MAX, SIZE_MAX_BYTES);
    /* Two descriptors of every request carry the header and the status. */
    mq_put_le32(cfg + MQ_VIRTIO_BLK_CFG_SEG_MAX, blk->queue_size - 2);
    mq_put_le32(cfg + MQ_VIRTIO_BLK_CFG_BLK_SIZE, SECTOR_SIZE);
    mq_put_le32(cfg + MQ_VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, MAX_DISCARD_SECTORS);
    mq_put_le32(cfg + MQ_VIRTIO_BLK_CFG_MAX_DISCARD_SEG, MAX_DISCARD_SEG);
    mq_put_le32(cfg + MQ_VIRTIO_BLK_CFG_DISCARD_ALIGNMENT, DISCARD_ALIGN_SECTORS);
    mq_put_le32(cfg + MQ_VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS, MAX_WRITE_ZEROES_SECTORS);
    mq_put_le32(cfg + MQ_VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG, MAX_WRITE_ZEROES_SEG);
    cfg[MQ_VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP] = 1;
}

static uint64_t blk_features(const struct mq_blockdev *bd)
{
    uint64_t f = (1ull << MQ_VIRTIO_BLK_F_SIZE_MAX) | (1ull << MQ_VIRTIO_BLK_F_SEG_MAX) |
                 (1ull << MQ_VIRTIO_BLK_F_BLK_SIZE) | (1ull << MQ_VIRTIO_BLK_F_FLUSH);

    if (bd->read_only)
        f |= 1ull << MQ_VIRTIO_BLK_F_RO;
    else
        f |= (1ull << MQ_VIRTIO_BLK_F_DISCARD) | (1ull << MQ_VIRTIO_BLK_F_WRITE_ZEROES);
    return f;
}

int mq_virtio_blk_create(struct mq_virtio_dev *vdev, struct mq_event_loop *loop,
                         struct mq_blockdev *bd, const struct mq_virtio_blk_config *cfg)
{
    uint32_t qsize = cfg && cfg->queue_size ? cfg->queue_size : DEFAULT_QUEUE_SIZE;
    struct virtio_blk *blk;
    int ret;

    /* seg_max = qsize - 2 must leave room for data. */
    if (!bd || qsize < 4 || qsize > MQ_VIRTQ_MAX_SIZE || (qsize & (qsize - 1)))
        return -EINVAL;
    blk = calloc(1, sizeof(*blk));
    if (!blk)
        return -ENOMEM;
    blk->vdev = vdev;
    blk->loop = loop;
    blk->bd = bd;
    blk->queue_size = qsize;
    blk->capacity = bd->size / SECTOR_SIZE;
    if (cfg && cfg->serial)
        memcpy(blk->id, cfg->serial, strnlen(cfg->serial, sizeof(blk->id)));
    blk->bounce = malloc(BOUNCE_BYTES);
    blk->segs = calloc(qsize, sizeof(*blk->segs));
    if (!blk->bounce || !blk->segs) {
        ret = -ENOMEM;
        goto err;
    }
    if (loop) {
        ret = mq_notifier_create(loop, blk_run, blk, &blk->kick);
        if (ret)
            goto err;
    }
    build_config(blk);
    ret = mq_virtio_dev_attach(vdev, &blk_ops, blk, blk_features(bd), qsize);
    if (ret)
        goto err;
    return 0;

err:
    blk_free(blk);
    return ret;
}

int mq_virtio_blk_get_stats(struct mq_virtio_dev *vdev, struct mq_virtio_blk_stats *out)
{
    /* ops and model are set once before the guest runs. */
    const struct virtio_blk *blk = vdev && vdev->ops == &blk_ops ? vdev->model : NULL;

    if (!blk)
        return -EINVAL;
    out->rd_reqs = __atomic_load_n(&blk->stats.rd_reqs, __ATOMIC_RELAXED);
    out->rd_bytes = __atomic_load_n(&blk->stats.rd_bytes, __ATOMIC_RELAXED);
    out->wr_reqs = __atomic_load_n(&blk->stats.wr_reqs, __ATOMIC_RELAXED);
    out->wr_bytes = __atomic_load_n(&blk->stats.wr_bytes, __ATOMIC_RELAXED);
    out->flush_reqs = __atomic_load_n(&blk->stats.flush_reqs, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&blk->stats.errors, __ATOMIC_RELAXED);
    return 0;
}
