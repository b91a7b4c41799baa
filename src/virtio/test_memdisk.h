/* SPDX-License-Identifier: MIT */
/*
 * Test-only: an in-memory struct mq_blockdev for the virtio-blk unit test
 * and fuzz targets. Not part of mq_virtio_lib.
 */
#ifndef MQ_VIRTIO_TEST_MEMDISK_H
#define MQ_VIRTIO_TEST_MEMDISK_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/blockdev.h"
#include "util/compiler.h"


struct memdisk {
    struct mq_blockdev bd;
    uint8_t *data;
    unsigned flushes;
    unsigned discards;
    unsigned write_zeroes;
    int fail_io;          /* nonzero: pread/pwrite return it */
};

static int md_pread(struct mq_blockdev *bd, void *buf, uint64_t len, uint64_t off)
{
    struct memdisk *md = (struct memdisk *)bd;

    if (md->fail_io)
        return md->fail_io;
    if (!mq_range_ok(off, len, bd->size))
        return -EINVAL;
    memcpy(buf, md->data + off, len);
    return 0;
}

static int md_pwrite(struct mq_blockdev *bd, const void *buf, uint64_t len, uint64_t off)
{
    struct memdisk *md = (struct memdisk *)bd;

    if (md->fail_io)
        return md->fail_io;
    if (bd->read_only)
        return -EROFS;
    if (!mq_range_ok(off, len, bd->size))
        return -EINVAL;
    memcpy(md->data + off, buf, len);
    return 0;
}

static int md_flush(struct mq_blockdev *bd)
{
    ((struct memdisk *)bd)->flushes++;
    return 0;
}

static int md_discard(struct mq_blockdev *bd, uint64_t off, uint64_t len)
{
    struct memdisk *md = (struct memdisk *)bd;

    if (!mq_range_ok(off, len, bd->size))
        return -EINVAL;
    memset(md->data + off, 0, len);
    md->discards++;
    return 0;
}

static int md_write_zeroes(struct mq_blockdev *bd, uint64_t off, uint64_t len, bool unmap)
{
    struct memdisk *md = (struct memdisk *)bd;

    if (!mq_range_ok(off, len, bd->size))
        return -EINVAL;
    memset(md->data + off, 0, len);
    md->write_zeroes++;
    return 0;
}

static MQ_UNUSED const struct mq_blockdev_ops md_ops = {
    .format = "mem",
    .pread = md_pread,
    .pwrite = md_pwrite,
    .flush = md_flush,
    .discard = md_discard,
    .write_zeroes = md_write_zeroes,
};

/* Without discard and write_zeroes: the device falls back to writing zeroes. */
static MQ_UNUSED const struct mq_blockdev_ops md_ops_basic = {
    .format = "mem",
    .pread = md_pread,
    .pwrite = md_pwrite,
    .flush = md_flush,
};

/* size bytes with a fixed pattern (i * 7 + 3). 0 or -ENOMEM. */
static MQ_UNUSED int memdisk_init(struct memdisk *md, const struct mq_blockdev_ops *ops,
                                  uint64_t size, bool ro)
{
    memset(md, 0, sizeof(*md));
    md->bd.ops = ops;
    md->bd.size = size;
    md->bd.read_only = ro;
    md->data = malloc(size ? size : 1);
    if (!md->data)
        return -ENOMEM;
    /* The pattern repeats every 256 bytes: build one period, copy it. */
    for (uint64_t i = 0; i < MQ_MIN(size, 256u); i++)
        md->data[i] = (uint8_t)(i * 7 + 3);
    for (uint64_t off = 256; off < size; off += 256)
        memcpy(md->data + off, md->data, MQ_MIN(size - off, 256u));
    return 0;
}

static MQ_UNUSED void memdisk_fini(struct memdisk *md)
{
    free(md->data);
    md->data = NULL;
}

#endif
