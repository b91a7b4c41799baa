/* SPDX-License-Identifier: MIT */
/* virtio-blk device model on a struct mq_blockdev (virtio 1.2 section 5.2). */
#ifndef MQ_VIRTIO_VIRTIO_BLK_H
#define MQ_VIRTIO_VIRTIO_BLK_H

#include <stdint.h>

#include "block/blockdev.h"
#include "util/event_loop.h"
#include "virtio/virtio_dev.h"

/* Feature bits (virtio 1.2 section 5.2.3). */
#define MQ_VIRTIO_BLK_F_SIZE_MAX 1
#define MQ_VIRTIO_BLK_F_SEG_MAX 2
#define MQ_VIRTIO_BLK_F_RO 5
#define MQ_VIRTIO_BLK_F_BLK_SIZE 6
#define MQ_VIRTIO_BLK_F_FLUSH 9
#define MQ_VIRTIO_BLK_F_DISCARD 13
#define MQ_VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status values (section 5.2.6). */
#define MQ_VIRTIO_BLK_T_IN 0
#define MQ_VIRTIO_BLK_T_OUT 1
#define MQ_VIRTIO_BLK_T_FLUSH 4
#define MQ_VIRTIO_BLK_T_GET_ID 8
#define MQ_VIRTIO_BLK_T_DISCARD 11
#define MQ_VIRTIO_BLK_T_WRITE_ZEROES 13
#define MQ_VIRTIO_BLK_S_OK 0
#define MQ_VIRTIO_BLK_S_IOERR 1
#define MQ_VIRTIO_BLK_S_UNSUPP 2

#define MQ_VIRTIO_BLK_ID_BYTES 20

/* Config space offsets (struct virtio_blk_config, section 5.2.4). */
#define MQ_VIRTIO_BLK_CFG_CAPACITY 0
#define MQ_VIRTIO_BLK_CFG_SIZE_MAX 8
#define MQ_VIRTIO_BLK_CFG_SEG_MAX 12
#define MQ_VIRTIO_BLK_CFG_BLK_SIZE 20
#define MQ_VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36
#define MQ_VIRTIO_BLK_CFG_MAX_DISCARD_SEG 40
#define MQ_VIRTIO_BLK_CFG_DISCARD_ALIGNMENT 44
#define MQ_VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS 48
#define MQ_VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG 52
#define MQ_VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP 56
#define MQ_VIRTIO_BLK_CFG_SIZE 60

struct mq_virtio_blk_config {
    /* Device ID string returned by GET_ID: up to 20 bytes used; NULL: empty. */
    const char *serial;
    /* Queue size offered, a power of two; 0: 256. */
    uint32_t queue_size;
};

/*
 * Attach a virtio-blk model for bd to vdev (an empty virtio device, e.g.
 * mq_virtio_mmio_dev()). Requests run on loop's thread; with loop NULL
 * they run synchronously inside the queue notify (tests, fuzzing). bd is
 * not owned and must outlive vdev; a read-only bd gives a VIRTIO_BLK_F_RO
 * device without DISCARD and WRITE_ZEROES. 0 or -errno.
 */
/* Counters of completed requests (each read atomically). */
struct mq_virtio_blk_stats {
    uint64_t rd_reqs, rd_bytes;
    uint64_t wr_reqs, wr_bytes;
    uint64_t flush_reqs;
    uint64_t errors; /* requests answered with an I/O error */
};

/* 0, or -EINVAL when vdev does not carry a virtio-blk model. Any thread. */
int mq_virtio_blk_get_stats(struct mq_virtio_dev *vdev, struct mq_virtio_blk_stats *out);

int mq_virtio_blk_create(struct mq_virtio_dev *vdev, struct mq_event_loop *loop,
                         struct mq_blockdev *bd, const struct mq_virtio_blk_config *cfg);

#endif
