/* SPDX-License-Identifier: MIT */
/*
 * Block device backends (raw files, qcow2) behind one interface, used by
 * virtio-blk and by the image tools.
 *
 * Threading: a blockdev is used by one thread at a time (the VM's I/O
 * thread); callers serialize. Offsets and lengths are in bytes; pread and
 * pwrite transfer everything or fail.
 */
#ifndef MQ_BLOCK_BLOCKDEV_H
#define MQ_BLOCK_BLOCKDEV_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

struct mq_blockdev;

struct mq_blockdev_ops {
    const char *format; /* "raw", "qcow2" */
    /* 0 or -errno. Reads past the end fail with -EINVAL. */
    int (*pread)(struct mq_blockdev *bd, void *buf, uint64_t len, uint64_t off);
    int (*pwrite)(struct mq_blockdev *bd, const void *buf, uint64_t len, uint64_t off);
    /* Make every completed write durable (reaches the disk: fdatasync). */
    int (*flush)(struct mq_blockdev *bd);
    /* Deallocate; later reads return zeroes (optional, -EOPNOTSUPP). */
    int (*discard)(struct mq_blockdev *bd, uint64_t off, uint64_t len);
    /* Write zeroes, deallocating where may_unmap and the format allows. */
    int (*write_zeroes)(struct mq_blockdev *bd, uint64_t off, uint64_t len,
                        bool may_unmap);
    /* Flush and free everything. */
    void (*close)(struct mq_blockdev *bd);
};

struct mq_blockdev {
    const struct mq_blockdev_ops *ops;
    uint64_t size;    /* virtual size in bytes */
    bool read_only;
    char *path;       /* as opened, owned */
};

/* Open read-only; writes fail with -EROFS. */
#define MQ_BLOCKDEV_RDONLY 1u
/*
 * Do not follow a qcow2 backing file: unallocated clusters read as zeroes.
 * For fuzzing and for tools that inspect one layer. An image that has a
 * backing file is then opened read-only (writes would lose the base data).
 */
#define MQ_BLOCKDEV_NO_BACKING 2u

/*
 * Open path. format is "raw", "qcow2" or NULL to detect from the contents
 * (qcow2 magic "QFI\xfb", else raw); an explicit format wins, opening a
 * qcow2 file as "raw" is allowed with a warning. flags: MQ_BLOCKDEV_*.
 * On failure returns -errno and, when err is non-NULL, a one-line reason.
 * A qcow2 file that fails validation is never written to.
 */
int mq_blockdev_open(const char *path, const char *format, unsigned flags,
                     struct mq_blockdev **out, char *err, unsigned errlen);

static inline int mq_blockdev_pread(struct mq_blockdev *bd, void *buf, uint64_t len,
                                    uint64_t off)
{
    return bd->ops->pread(bd, buf, len, off);
}

static inline int mq_blockdev_pwrite(struct mq_blockdev *bd, const void *buf,
                                     uint64_t len, uint64_t off)
{
    return bd->ops->pwrite(bd, buf, len, off);
}

static inline int mq_blockdev_flush(struct mq_blockdev *bd)
{
    return bd->ops->flush(bd);
}

/* Optional ops: -EOPNOTSUPP when the backend has none. */
static inline int mq_blockdev_discard(struct mq_blockdev *bd, uint64_t off, uint64_t len)
{
    return bd->ops->discard ? bd->ops->discard(bd, off, len) : -EOPNOTSUPP;
}

static inline int mq_blockdev_write_zeroes(struct mq_blockdev *bd, uint64_t off,
                                           uint64_t len, bool may_unmap)
{
    return bd->ops->write_zeroes ? bd->ops->write_zeroes(bd, off, len, may_unmap)
                                 : -EOPNOTSUPP;
}

/* Flush (errors are logged) and free bd; NULL is allowed. */
void mq_blockdev_close(struct mq_blockdev *bd);

#endif
