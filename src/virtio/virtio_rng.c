/* SPDX-License-Identifier: MIT */
/* virtio-rng: fills the driver's buffers with host entropy from getrandom() (virtio 1.2 section 5.4). */
#include "virtio/virtio_rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util/log.h"
#include "util/state.h"

#define SUBSYS "virtio-rng"
#define RNG_STATE_VERSION 1u
#define QUEUE_SIZE 64u

struct virtio_rng {
    struct mq_virtio_dev *vdev;
    struct mq_notifier *kick;          /* NULL: synchronous */
    uint8_t *buf;                      /* MQ_VIRTIO_RNG_MAX_REQUEST bytes */
    struct mq_virtq_seg segs[QUEUE_SIZE];
};

/* Fill buf completely; getrandom() may return less than asked on signals. */
static int fill_random(uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = getrandom(buf, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int rng_handle(void *model, struct mq_guest_mem *gm, const struct mq_virtq_chain *c,
                      uint32_t *written)
{
    struct virtio_rng *rng = model;
    uint32_t n = MQ_MIN(c->write_len, MQ_VIRTIO_RNG_MAX_REQUEST);
    int ret;

    /* Readable buffers carry nothing for this device; they are ignored. */
    *written = 0;
    if (n == 0)
        return 0;
    ret = fill_random(rng->buf, n);
    if (ret) {
        /* A host failure, not the driver's: return the buffer empty. */
        mq_guest_warn(SUBSYS, "getrandom failed: %s", strerror(-ret));
        return 0;
    }
    ret = mq_virtq_chain_write(gm, c, 0, rng->buf, n);
    if (ret)
        return ret;
    *written = n;
    return 0;
}

static void rng_run(void *opaque)
{
    struct virtio_rng *rng = opaque;
    struct mq_virtq_chain chain = {.segs = rng->segs, .cap = QUEUE_SIZE};

    while (mq_virtio_queue_process(rng->vdev, 0, &chain, QUEUE_SIZE, rng_handle, rng)) {
        if (rng->kick) {
            mq_notifier_kick(rng->kick);
            return;
        }
    }
}

static void rng_queue_notify(void *model, unsigned q)
{
    struct virtio_rng *rng = model;

    if (rng->kick)
        mq_notifier_kick(rng->kick);
    else
        rng_run(rng);
}

static void rng_reset(void *model)
{
}

/* Snapshot: the model's layout version only; requests complete under the queue lock. */
static int rng_save(void *model, struct mq_state_writer *w)
{
    mq_state_put_u32(w, RNG_STATE_VERSION);
    return mq_state_writer_error(w);
}

static int rng_load(void *model, struct mq_state_reader *r)
{
    uint32_t version = mq_state_get_u32(r);

    if (!mq_state_reader_error(r) && version != RNG_STATE_VERSION)
        mq_state_reader_fail(r, -EPROTONOSUPPORT, "virtio-rng state version %u is not "
                             "supported (this maquina reads %u)", version, RNG_STATE_VERSION);
    return mq_state_reader_error(r);
}

static void rng_free(struct virtio_rng *rng)
{
    mq_notifier_destroy(rng->kick);
    free(rng->buf);
    free(rng);
}

static void rng_destroy(void *model)
{
    rng_free(model);
}

static const struct mq_virtio_dev_ops rng_ops = {
    .name = "virtio-rng",
    .device_id = MQ_VIRTIO_ID_RNG,
    .num_queues = 1,
    .config_size = 0,
    .queue_notify = rng_queue_notify,
    .reset = rng_reset,
    .destroy = rng_destroy,
    .save = rng_save,
    .load = rng_load,
};

int mq_virtio_rng_create(struct mq_virtio_dev *vdev, struct mq_event_loop *loop)
{
    struct virtio_rng *rng = calloc(1, sizeof(*rng));
    int ret;

    if (!rng)
        return -ENOMEM;
    rng->vdev = vdev;
    rng->buf = malloc(MQ_VIRTIO_RNG_MAX_REQUEST);
    if (!rng->buf) {
        ret = -ENOMEM;
        goto err;
    }
    if (loop) {
        ret = mq_notifier_create(loop, rng_run, rng, &rng->kick);
        if (ret)
            goto err;
    }
    ret = mq_virtio_dev_attach(vdev, &rng_ops, rng, 0, QUEUE_SIZE);
    if (ret)
        goto err;
    return 0;

err:
    rng_free(rng);
    return ret;
}
