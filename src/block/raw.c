/* SPDX-License-Identifier: MIT */
/*
 * Raw disk backend: a regular file or block device read and written 1:1.
 * Spec: none (flat image); discard/zero use Linux fallocate(2) semantics.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block_int.h"
#include "block/blockdev.h"
#include "util/log.h"

/* Zero buffer size for the write fallback of write_zeroes. */
#define RAW_ZERO_CHUNK (1u << 20)

struct raw {
    struct mq_blockdev bd;
    int fd;
    bool is_blk;
    bool no_punch;      /* PUNCH_HOLE known unsupported */
    bool no_zero_range; /* ZERO_RANGE known unsupported */
};

static struct raw *raw_of(struct mq_blockdev *bd)
{
    return (struct raw *)bd;
}

static int raw_pread(struct mq_blockdev *bd, void *buf, uint64_t len, uint64_t off)
{
    struct raw *r = raw_of(bd);
    int64_t n;

    if (!mq_range_ok(off, len, bd->size))
        return -EINVAL;
    n = mq_pread_full(r->fd, buf, len, off);
    if (n < 0)
        return (int)n;
    /* The file shrank under us: what is gone reads as zeroes. */
    memset((char *)buf + n, 0, len - (uint64_t)n);
    return 0;
}

static int raw_pwrite(struct mq_blockdev *bd, const void *buf, uint64_t len, uint64_t off)
{
    struct raw *r = raw_of(bd);

    if (bd->read_only)
        return -EROFS;
    if (!mq_range_ok(off, len, bd->size))
        return -EINVAL;
    return mq_pwrite_full(r->fd, buf, len, off);
}

static int raw_flush(struct mq_blockdev *bd)
{
    struct raw *r = raw_of(bd);

    if (bd->read_only)
        return 0;
    while (fdatasync(r->fd) != 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

static int raw_write_zero_buf(struct raw *r, uint64_t off, uint64_t len)
{
    size_t chunk = len < RAW_ZERO_CHUNK ? (size_t)len : RAW_ZERO_CHUNK;
    void *z = calloc(1, chunk ? chunk : 1);
    int ret = 0;

    if (!z)
        return -ENOMEM;
    while (len) {
        size_t n = len < chunk ? (size_t)len : chunk;
        ret = mq_pwrite_full(r->fd, z, n, off);
        if (ret < 0)
            break;
        off += n;
        len -= n;
    }
    free(z);
    return ret;
}

/* fallocate with EINTR retry; 0 or -errno. */
static int raw_fallocate(struct raw *r, int mode, uint64_t off, uint64_t len)
{
    while (fallocate(r->fd, mode, (off_t)off, (off_t)len) != 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

static bool unsupported(int ret)
{
    return ret == -EOPNOTSUPP || ret == -ENOSYS || ret == -EINVAL || ret == -ENODEV;
}

static int raw_write_zeroes(struct mq_blockdev *bd, uint64_t off, uint64_t len, bool may_unmap)
{
    struct raw *r = raw_of(bd);
    int ret;

    if (bd->read_only)
        return -EROFS;
    if (!mq_range_ok(off, len, bd->size))
        return -EINVAL;
    if (!len)
        return 0;
    if (may_unmap && !r->no_punch) {
        ret = raw_fallocate(r, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
        if (ret == 0)
            return 0;
        if (!unsupported(ret))
            return ret;
        r->no_punch = true;
    }
    if (!r->no_zero_range) {
        ret = raw_fallocate(r, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len);
        if (ret == 0)
            return 0;
        if (!unsupported(ret))
            return ret;
        r->no_zero_range = true;
    }
    if (r->is_blk) {
        uint64_t range[2] = {off, len};
        /* BLKZEROOUT needs 512-byte alignment; otherwise write zeroes. */
        if (!(off & 511) && !(len & 511) && ioctl(r->fd, BLKZEROOUT, range) == 0)
            return 0;
    }
    return raw_write_zero_buf(r, off, len);
}

static int raw_discard(struct mq_blockdev *bd, uint64_t off, uint64_t len)
{
    /* Our discard contract says later reads return zeroes. */
    return raw_write_zeroes(bd, off, len, true);
}

static void raw_close(struct mq_blockdev *bd)
{
    struct raw *r = raw_of(bd);
    int ret = raw_flush(bd);

    if (ret < 0)
        mq_err("block", "%s: flush on close: %s", bd->path, strerror(-ret));
    close(r->fd);
    free(bd->path);
    free(r);
}

static const struct mq_blockdev_ops raw_ops = {
    .format = "raw",
    .pread = raw_pread,
    .pwrite = raw_pwrite,
    .flush = raw_flush,
    .discard = raw_discard,
    .write_zeroes = raw_write_zeroes,
    .close = raw_close,
};

int mq_raw_open_fd(const char *path, int fd, unsigned flags, struct mq_blockdev **out,
                   char *err, size_t errlen)
{
    struct raw *r = calloc(1, sizeof(*r));
    struct stat st;
    int ret;

    if (!r) {
        ret = -ENOMEM;
        goto fail;
    }
    if (fstat(fd, &st) != 0) {
        ret = -errno;
        mq_block_seterr(err, errlen, "block: %s: fstat: %s", path, strerror(-ret));
        goto fail;
    }
    if (S_ISBLK(st.st_mode)) {
        uint64_t sz = 0;
        if (ioctl(fd, BLKGETSIZE64, &sz) != 0) {
            ret = -errno;
            mq_block_seterr(err, errlen, "block: %s: BLKGETSIZE64: %s", path,
                            strerror(-ret));
            goto fail;
        }
        r->bd.size = sz;
        r->is_blk = true;
    } else if (S_ISREG(st.st_mode)) {
        r->bd.size = (uint64_t)st.st_size;
    } else {
        mq_block_seterr(err, errlen, "block: %s: not a regular file or block device", path);
        ret = -EINVAL;
        goto fail;
    }
    r->bd.path = strdup(path);
    if (!r->bd.path) {
        ret = -ENOMEM;
        goto fail;
    }
    r->fd = fd;
    r->bd.ops = &raw_ops;
    r->bd.read_only = flags & MQ_BLOCKDEV_RDONLY;
    *out = &r->bd;
    return 0;

fail:
    if (ret == -ENOMEM)
        mq_block_seterr(err, errlen, "block: %s: out of memory", path);
    free(r);
    close(fd);
    return ret;
}
