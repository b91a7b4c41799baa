/* SPDX-License-Identifier: MIT */
/*
 * Disk image conversion between raw and qcow2 (`maquina img convert`),
 * and the sparse block copy that clone uses. qcow2: QEMU
 * docs/interop/qcow2.txt.
 */
#ifndef MQ_IMAGE_CONVERT_H
#define MQ_IMAGE_CONVERT_H

#include <stddef.h>

#include "block/blockdev.h"
#include "image/progress.h"
#include "util/compiler.h"

/*
 * Copy the whole virtual disk of src into dst (same size; dst reads as
 * zeroes beforehand), skipping blocks that are all zero so the result stays
 * sparse. progress may be NULL. 0 or -errno with err.
 */
MQ_PUBLIC int mq_image_copy_disk(struct mq_blockdev *src, struct mq_blockdev *dst,
                                 struct mq_progress *progress, char *err, size_t errlen);

/*
 * Convert src (format "raw", "qcow2" or NULL: detect) into a new file dst
 * of format dst_format ("raw" or "qcow2"), written under a temporary name
 * and renamed at the end; an existing dst is replaced only then. A qcow2
 * source is read through its backing chain (the result stands alone);
 * snapshots are not copied. 0 or -errno with err.
 */
MQ_PUBLIC int mq_image_convert(const char *src, const char *src_format, const char *dst,
                               const char *dst_format, struct mq_progress *progress,
                               char *err, size_t errlen);

/*
 * The backing file name recorded in the qcow2 header of path (read
 * directly, without following it). *out is NULL when there is none;
 * otherwise malloc'ed. -EINVAL for a file that is not qcow2. 0 or -errno.
 */
MQ_PUBLIC int mq_image_qcow2_backing_name(const char *path, char **out);

#endif
