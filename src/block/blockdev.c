/* SPDX-License-Identifier: MIT */
/*
 * Opening a disk image: format detection (qcow2 magic "QFI\xfb", else raw),
 * backing-chain bookkeeping and the full-transfer I/O helpers the backends
 * share. Spec: QEMU docs/interop/qcow2.txt, section "Header" (magic).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block_int.h"
#include "block/blockdev.h"
#include "util/log.h"

void mq_block_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int64_t mq_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (int64_t)done;
}

int mq_pread_exact(int fd, void *buf, size_t len, uint64_t off)
{
    int64_t n = mq_pread_full(fd, buf, len, off);

    if (n < 0)
        return (int)n;
    return (uint64_t)n == len ? 0 : -EIO;
}

int mq_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        done += (size_t)n;
    }
    return 0;
}

static int open_file(const char *path, unsigned flags, int *fd_out, char *err, size_t errlen)
{
    bool ro = flags & MQ_BLOCKDEV_RDONLY;
    int fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);

    if (fd < 0) {
        int e = errno;
        mq_block_seterr(err, errlen, "block: %s: cannot open%s: %s", path,
                        ro ? "" : " read-write", strerror(e));
        return -e;
    }
    *fd_out = fd;
    return 0;
}

int mq_block_open_chain(const char *path, const char *format, unsigned flags,
                        const struct mq_open_chain *chain, struct mq_blockdev **out,
                        char *err, size_t errlen)
{
    struct mq_open_chain link;
    uint8_t magic[4] = {0};
    bool is_qcow2;
    struct stat st;
    int fd = -1, ret;

    *out = NULL;
    if (format && strcmp(format, "raw") != 0 && strcmp(format, "qcow2") != 0) {
        mq_block_seterr(err, errlen, "block: %s: unknown format '%s'", path, format);
        return -EINVAL;
    }
    ret = open_file(path, flags, &fd, err, errlen);
    if (ret < 0)
        return ret;
    if (fstat(fd, &st) != 0) {
        ret = -errno;
        mq_block_seterr(err, errlen, "block: %s: fstat: %s", path, strerror(-ret));
        goto fail;
    }
    /* Loop detection: the same file twice in one chain is refused. */
    for (const struct mq_open_chain *c = chain; c; c = c->prev) {
        if (c->dev == st.st_dev && c->ino == st.st_ino) {
            mq_block_seterr(err, errlen, "block: %s: backing chain loops back to itself",
                            path);
            ret = -ELOOP;
            goto fail;
        }
    }
    link.dev = st.st_dev;
    link.ino = st.st_ino;
    link.depth = chain ? chain->depth + 1 : 0;
    link.prev = chain;
    if (link.depth > MQ_BLOCK_MAX_CHAIN) {
        mq_block_seterr(err, errlen, "block: %s: backing chain deeper than %d", path,
                        MQ_BLOCK_MAX_CHAIN);
        ret = -ELOOP;
        goto fail;
    }

    ret = (int)mq_pread_full(fd, magic, sizeof(magic), 0);
    if (ret < 0) {
        mq_block_seterr(err, errlen, "block: %s: read: %s", path, strerror(-ret));
        goto fail;
    }
    is_qcow2 = memcmp(magic, "QFI\xfb", 4) == 0;
    if (!format)
        format = is_qcow2 ? "qcow2" : "raw";
    if (strcmp(format, "qcow2") == 0)
        return qcow2_open_fd(path, fd, flags, &link, out, err, errlen);
    if (is_qcow2)
        mq_warn("block", "%s: qcow2 image opened as raw: the guest sees the qcow2 metadata",
                path);
    return mq_raw_open_fd(path, fd, flags, out, err, errlen);

fail:
    close(fd);
    return ret;
}

int mq_blockdev_open(const char *path, const char *format, unsigned flags,
                     struct mq_blockdev **out, char *err, unsigned errlen)
{
    if (!path || !out) {
        mq_block_seterr(err, errlen, "block: no path given");
        return -EINVAL;
    }
    return mq_block_open_chain(path, format, flags, NULL, out, err, errlen);
}

void mq_blockdev_close(struct mq_blockdev *bd)
{
    if (bd)
        bd->ops->close(bd);
}
