/* SPDX-License-Identifier: MIT */
/* virtio-rng (entropy device) model (virtio 1.2 section 5.4). */
#ifndef MQ_VIRTIO_VIRTIO_RNG_H
#define MQ_VIRTIO_VIRTIO_RNG_H

#include "util/event_loop.h"
#include "virtio/virtio_dev.h"

/*
 * Bytes of entropy given for one request at most. A request may describe
 * up to 4 GiB of buffers; filling that would hold the I/O thread (and the
 * queue lock, which a device reset waits for) for seconds and needs as
 * much host buffer. The driver simply asks again: Linux asks for at most
 * a few KiB per request anyway.
 */
#define MQ_VIRTIO_RNG_MAX_REQUEST (64u << 10)

/*
 * Attach a virtio-rng model to vdev (an empty virtio device). Entropy
 * comes from getrandom(2). Requests run on loop's thread, or inside the
 * queue notify when loop is NULL. 0 or -errno.
 */
int mq_virtio_rng_create(struct mq_virtio_dev *vdev, struct mq_event_loop *loop);

#endif
