/* SPDX-License-Identifier: MIT */
/*
 * Sparse disk copy and raw <-> qcow2 conversion through the block layer
 * (QEMU docs/interop/qcow2.txt for the qcow2 side).
 */
#include "image/convert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/qcow2.h"
#include "image/image_int.h"

#define COPY_CHUNK (1u << 20)
/* Zero detection granularity: a qcow2 cluster (64 KiB) covers several raw blocks. */
#define ZERO_BLOCK 4096u

int mq_image_copy_disk(struct mq_blockdev *src, struct mq_blockdev *dst,
                       struct mq_progress *progress, char *err, size_t errlen)
{
    uint8_t *buf;
    int ret = 0;

    if (src->size != dst->size) {
        mq_image_err(err, errlen, "%s and %s differ in size", src->path, dst->path);
        return -EINVAL;
    }
    buf = malloc(COPY_CHUNK);
    if (!buf)
        return -ENOMEM;
    for (uint64_t off = 0; off < src->size && !ret;) {
        uint64_t n = MQ_MIN((uint64_t)COPY_CHUNK, src->size - off);

        ret = mq_blockdev_pread(src, buf, n, off);
        if (ret) {
            mq_image_err(err, errlen, "%s: read at %llu: %s", src->path,
                         (unsigned long long)off, strerror(-ret));
            break;
        }
        /* Write runs of non-zero blocks; zero blocks stay holes. */
        for (uint64_t b = 0; b < n && !ret;) {
            uint64_t e = b;

            while (e < n && mq_image_is_zero(buf + e, MQ_MIN(ZERO_BLOCK, n - e)))
                e += MQ_MIN(ZERO_BLOCK, n - e);
            b = e;
            while (e < n && !mq_image_is_zero(buf + e, MQ_MIN(ZERO_BLOCK, n - e)))
                e += MQ_MIN(ZERO_BLOCK, n - e);
            if (e > b) {
                ret = mq_blockdev_pwrite(dst, buf + b, e - b, off + b);
                if (ret)
                    mq_image_err(err, errlen, "%s: write at %llu: %s", dst->path,
                                 (unsigned long long)(off + b), strerror(-ret));
            }
            b = e;
        }
        off += n;
        mq_progress_add(progress, n);
    }
    if (!ret) {
        ret = mq_blockdev_flush(dst);
        if (ret)
            mq_image_err(err, errlen, "%s: flush: %s", dst->path, strerror(-ret));
    }
    free(buf);
    return ret;
}

static int create_raw(const char *path, uint64_t size, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ret = 0;

    if (fd < 0 || ftruncate(fd, (off_t)size))
        ret = -errno;
    if (fd >= 0)
        close(fd);
    if (ret)
        mq_image_err(err, errlen, "%s: cannot create: %s", path, strerror(-ret));
    return ret;
}

int mq_image_convert(const char *src, const char *src_format, const char *dst,
                     const char *dst_format, struct mq_progress *progress, char *err,
                     size_t errlen)
{
    struct mq_blockdev *in = NULL, *out = NULL;
    struct stat sst, dst_st;
    char *tmp = NULL;
    int ret;

    if (strcmp(dst_format, "raw") && strcmp(dst_format, "qcow2")) {
        mq_image_err(err, errlen, "unknown output format '%s' (raw or qcow2)", dst_format);
        return -EINVAL;
    }
    ret = mq_blockdev_open(src, src_format, MQ_BLOCKDEV_RDONLY, &in, err, (unsigned)errlen);
    if (ret)
        return ret;
    if (!stat(src, &sst) && !stat(dst, &dst_st) && sst.st_dev == dst_st.st_dev &&
        sst.st_ino == dst_st.st_ino) {
        mq_image_err(err, errlen, "%s: source and destination are the same file", dst);
        ret = -EINVAL;
        goto out;
    }
    ret = mq_image_tmp_name(dst, &tmp);
    if (ret)
        goto out;
    if (!strcmp(dst_format, "raw")) {
        ret = create_raw(tmp, in->size, err, errlen);
    } else {
        char qerr[256];

        ret = mq_qcow2_create(tmp, in->size, NULL, qerr, sizeof(qerr));
        if (ret)
            mq_image_err(err, errlen, "%s", qerr);
    }
    if (ret)
        goto out;
    ret = mq_blockdev_open(tmp, dst_format, 0, &out, err, (unsigned)errlen);
    mq_progress_start(progress, "convert", in->size, true);
    if (!ret)
        ret = mq_image_copy_disk(in, out, progress, err, errlen);
    mq_progress_end(progress, !ret);
    mq_blockdev_close(out);
    if (!ret && rename(tmp, dst)) {
        ret = -errno;
        mq_image_err(err, errlen, "%s: cannot rename into place: %s", dst, strerror(-ret));
    }
    if (ret)
        unlink(tmp);
out:
    free(tmp);
    mq_blockdev_close(in);
    return ret;
}
