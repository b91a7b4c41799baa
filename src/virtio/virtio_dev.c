/* SPDX-License-Identifier: MIT */
/* Transport-independent virtio device state: status, features, queues, interrupts (virtio 1.2 sections 2.1-2.5, 3.1). */
#include "virtio/virtio_dev.h"

#include <errno.h>
#include <string.h>

#include "util/le.h"
#include "util/log.h"

#define SUBSYS "virtio"

static const char *dev_name(const struct mq_virtio_dev *vdev)
{
    return vdev->ops ? vdev->ops->name : "empty";
}

static uint32_t load_status(const struct mq_virtio_dev *vdev)
{
    return __atomic_load_n(&vdev->status, __ATOMIC_ACQUIRE);
}

static unsigned num_queues(const struct mq_virtio_dev *vdev)
{
    return vdev->ops ? vdev->ops->num_queues : 0;
}

void mq_virtio_dev_init(struct mq_virtio_dev *vdev, struct mq_guest_mem *gm,
                        const struct mq_irq *irq)
{
    memset(vdev, 0, sizeof(*vdev));
    pthread_mutex_init(&vdev->lock, NULL);
    pthread_mutex_init(&vdev->irq_lock, NULL);
    for (unsigned i = 0; i < MQ_VIRTIO_MAX_QUEUES; i++)
        pthread_mutex_init(&vdev->queues[i].lock, NULL);
    vdev->gm = gm;
    if (irq)
        vdev->irq = *irq;
}

void mq_virtio_dev_fini(struct mq_virtio_dev *vdev)
{
    if (vdev->ops && vdev->ops->destroy)
        vdev->ops->destroy(vdev->model);
    vdev->ops = NULL;
    vdev->model = NULL;
    for (unsigned i = 0; i < MQ_VIRTIO_MAX_QUEUES; i++)
        pthread_mutex_destroy(&vdev->queues[i].lock);
    pthread_mutex_destroy(&vdev->irq_lock);
    pthread_mutex_destroy(&vdev->lock);
}

int mq_virtio_dev_attach(struct mq_virtio_dev *vdev, const struct mq_virtio_dev_ops *ops,
                         void *model, uint64_t device_features, uint32_t qmax)
{
    if (!ops || !ops->queue_notify || !ops->reset || ops->device_id == 0 ||
        ops->num_queues == 0 || ops->num_queues > MQ_VIRTIO_MAX_QUEUES ||
        qmax == 0 || qmax > MQ_VIRTQ_MAX_SIZE || (qmax & (qmax - 1)))
        return -EINVAL;
    pthread_mutex_lock(&vdev->lock);
    if (vdev->ops) {
        pthread_mutex_unlock(&vdev->lock);
        return -EBUSY;
    }
    vdev->ops = ops;
    vdev->model = model;
    vdev->queue_max = qmax;
    vdev->host_features = device_features | (1ull << MQ_VIRTIO_F_VERSION_1) |
                          (1ull << MQ_VIRTIO_F_INDIRECT_DESC) |
                          (1ull << MQ_VIRTIO_F_EVENT_IDX);
    for (unsigned i = 0; i < ops->num_queues; i++)
        vdev->queues[i].num = qmax;
    pthread_mutex_unlock(&vdev->lock);
    return 0;
}

static void set_isr(struct mq_virtio_dev *vdev, uint32_t set, uint32_t clear)
{
    pthread_mutex_lock(&vdev->irq_lock);
    vdev->isr = (vdev->isr & ~clear) | set;
    mq_irq_set(&vdev->irq, vdev->isr != 0);
    pthread_mutex_unlock(&vdev->irq_lock);
}

void mq_virtio_dev_reset(struct mq_virtio_dev *vdev)
{
    unsigned n = num_queues(vdev);

    for (unsigned i = 0; i < n; i++)
        pthread_mutex_lock(&vdev->queues[i].lock);
    if (vdev->ops)
        vdev->ops->reset(vdev->model);
    for (unsigned i = 0; i < n; i++) {
        struct mq_virtio_queue *qs = &vdev->queues[i];
        mq_virtq_reset(&qs->vq);
        qs->ready = false;
        qs->num = vdev->queue_max;
        qs->desc = qs->driver = qs->device = 0;
    }
    for (unsigned i = n; i-- > 0;)
        pthread_mutex_unlock(&vdev->queues[i].lock);
    vdev->driver_features = 0;
    __atomic_store_n(&vdev->features, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&vdev->status, 0, __ATOMIC_RELEASE);
    set_isr(vdev, 0, UINT32_MAX);
}

uint32_t mq_virtio_dev_device_id(const struct mq_virtio_dev *vdev)
{
    return vdev->ops ? vdev->ops->device_id : 0;
}

uint32_t mq_virtio_dev_get_features(const struct mq_virtio_dev *vdev, uint32_t sel)
{
    return sel < 2 ? (uint32_t)(vdev->host_features >> (32 * sel)) : 0;
}

void mq_virtio_dev_set_driver_features(struct mq_virtio_dev *vdev, uint32_t sel,
                                       uint32_t val)
{
    uint32_t status = load_status(vdev);

    if (sel >= 2 || !vdev->ops)
        return;
    if (status & MQ_VIRTIO_STATUS_FEATURES_OK) {
        mq_guest_warn(SUBSYS, "%s: driver features written after FEATURES_OK, ignored",
                      dev_name(vdev));
        return;
    }
    if (sel == 0)
        vdev->driver_features = (vdev->driver_features & ~0xffffffffull) | val;
    else
        vdev->driver_features = (vdev->driver_features & 0xffffffffull) |
                                ((uint64_t)val << 32);
}

uint32_t mq_virtio_dev_get_status(const struct mq_virtio_dev *vdev)
{
    return load_status(vdev);
}

/* May the driver's feature selection be accepted at FEATURES_OK? */
static bool features_acceptable(struct mq_virtio_dev *vdev)
{
    uint64_t f = vdev->driver_features;
    int ret;

    if (f & ~vdev->host_features) {
        mq_guest_warn(SUBSYS, "%s: driver accepted features 0x%llx never offered",
                      dev_name(vdev), (unsigned long long)(f & ~vdev->host_features));
        return false;
    }
    /* A virtio-mmio version 2 / modern device requires VERSION_1. */
    if (!(f & (1ull << MQ_VIRTIO_F_VERSION_1))) {
        mq_guest_warn(SUBSYS, "%s: driver did not accept VIRTIO_F_VERSION_1",
                      dev_name(vdev));
        return false;
    }
    if (vdev->ops->features_ok) {
        ret = vdev->ops->features_ok(vdev->model, f);
        if (ret) {
            mq_guest_warn(SUBSYS, "%s: features 0x%llx refused: %s", dev_name(vdev),
                          (unsigned long long)f, strerror(-ret));
            return false;
        }
    }
    return true;
}

void mq_virtio_dev_set_status(struct mq_virtio_dev *vdev, uint32_t val)
{
    uint32_t cur, new;
    bool going_ok;

    if (!vdev->ops)
        return;
    val &= 0xff;
    if (val == 0) {
        mq_virtio_dev_reset(vdev);
        return;
    }
    cur = load_status(vdev);
    do {
        /* NEEDS_RESET is the device's: the driver can only clear it by reset. */
        new = (val & ~MQ_VIRTIO_STATUS_NEEDS_RESET) | (cur & MQ_VIRTIO_STATUS_NEEDS_RESET);
        if ((new & MQ_VIRTIO_STATUS_FEATURES_OK) && !(cur & MQ_VIRTIO_STATUS_FEATURES_OK)) {
            if (features_acceptable(vdev))
                __atomic_store_n(&vdev->features, vdev->driver_features, __ATOMIC_RELEASE);
            else
                new &= ~MQ_VIRTIO_STATUS_FEATURES_OK;
        }
        going_ok = (new & MQ_VIRTIO_STATUS_DRIVER_OK) && !(cur & MQ_VIRTIO_STATUS_DRIVER_OK);
        if (going_ok && !(new & MQ_VIRTIO_STATUS_FEATURES_OK)) {
            new &= ~MQ_VIRTIO_STATUS_DRIVER_OK;
            going_ok = false;
            mq_guest_warn(SUBSYS, "%s: DRIVER_OK without FEATURES_OK", dev_name(vdev));
            __atomic_store_n(&vdev->status, new, __ATOMIC_RELEASE);
            mq_virtio_set_needs_reset(vdev, -EPROTO);
            return;
        }
    } while (!__atomic_compare_exchange_n(&vdev->status, &cur, new, false,
                                          __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    if (!going_ok)
        return;
    /* Buffers made available before DRIVER_OK were not processed: look now. */
    for (unsigned i = 0; i < vdev->ops->num_queues; i++) {
        if (vdev->queues[i].ready)
            vdev->ops->queue_notify(vdev->model, i);
    }
}

uint32_t mq_virtio_dev_queue_max(const struct mq_virtio_dev *vdev, uint32_t q)
{
    return q < num_queues(vdev) ? vdev->queue_max : 0;
}

struct mq_virtio_queue *mq_virtio_dev_queue(struct mq_virtio_dev *vdev, uint32_t q)
{
    return q < num_queues(vdev) ? &vdev->queues[q] : NULL;
}

static int enable_queue(struct mq_virtio_dev *vdev, struct mq_virtio_queue *qs)
{
    uint64_t features = mq_virtio_features(vdev);
    bool event_idx = features & (1ull << MQ_VIRTIO_F_EVENT_IDX);
    bool indirect = features & (1ull << MQ_VIRTIO_F_INDIRECT_DESC);
    int ret;

    if (qs->num > vdev->queue_max)
        return -EINVAL;
    pthread_mutex_lock(&qs->lock);
    ret = mq_virtq_setup(&qs->vq, vdev->gm, qs->num, qs->desc, qs->driver, qs->device,
                         event_idx, indirect);
    pthread_mutex_unlock(&qs->lock);
    return ret;
}

void mq_virtio_dev_set_queue_ready(struct mq_virtio_dev *vdev, uint32_t q, bool ready)
{
    struct mq_virtio_queue *qs = mq_virtio_dev_queue(vdev, q);
    int ret;

    if (!qs || ready == qs->ready)
        return;
    if (!ready) {
        pthread_mutex_lock(&qs->lock);
        mq_virtq_reset(&qs->vq);
        pthread_mutex_unlock(&qs->lock);
        qs->ready = false;
        return;
    }
    ret = enable_queue(vdev, qs);
    if (ret) {
        mq_guest_warn(SUBSYS,
                      "%s: queue %u setup refused (num %u desc 0x%llx driver 0x%llx "
                      "device 0x%llx): %s",
                      dev_name(vdev), q, qs->num, (unsigned long long)qs->desc,
                      (unsigned long long)qs->driver, (unsigned long long)qs->device,
                      strerror(-ret));
        mq_virtio_set_needs_reset(vdev, ret);
        return;
    }
    qs->ready = true;
}

void mq_virtio_dev_queue_notify(struct mq_virtio_dev *vdev, uint32_t q)
{
    uint32_t status = load_status(vdev);

    if (!vdev->ops)
        return;
    if (q >= vdev->ops->num_queues) {
        mq_guest_warn(SUBSYS, "%s: notify for queue %u of %u", dev_name(vdev), q,
                      vdev->ops->num_queues);
        return;
    }
    if (!vdev->queues[q].ready || !(status & MQ_VIRTIO_STATUS_DRIVER_OK) ||
        (status & MQ_VIRTIO_STATUS_NEEDS_RESET))
        return;
    vdev->ops->queue_notify(vdev->model, q);
}

uint32_t mq_virtio_dev_get_isr(struct mq_virtio_dev *vdev)
{
    uint32_t isr;

    pthread_mutex_lock(&vdev->irq_lock);
    isr = vdev->isr;
    pthread_mutex_unlock(&vdev->irq_lock);
    return isr;
}

void mq_virtio_dev_ack_isr(struct mq_virtio_dev *vdev, uint32_t bits)
{
    set_isr(vdev, 0, bits);
}

uint32_t mq_virtio_dev_config_generation(const struct mq_virtio_dev *vdev)
{
    return __atomic_load_n(&vdev->config_generation, __ATOMIC_ACQUIRE);
}

static bool config_access_ok(const struct mq_virtio_dev *vdev, uint32_t off, unsigned size)
{
    return vdev->ops && (size == 1 || size == 2 || size == 4) &&
           mq_range_ok(off, size, vdev->ops->config_size);
}

uint32_t mq_virtio_dev_read_config(struct mq_virtio_dev *vdev, uint32_t off, unsigned size)
{
    uint8_t buf[4] = {0};

    if (!config_access_ok(vdev, off, size) || !vdev->ops->read_config)
        return 0;
    vdev->ops->read_config(vdev->model, off, buf, size);
    return mq_get_le32(buf);
}

void mq_virtio_dev_write_config(struct mq_virtio_dev *vdev, uint32_t off, unsigned size,
                                uint32_t val)
{
    uint8_t buf[4];

    if (!config_access_ok(vdev, off, size) || !vdev->ops->write_config)
        return;
    mq_put_le32(buf, val);
    vdev->ops->write_config(vdev->model, off, buf, size);
}

struct mq_virtq *mq_virtio_queue_lock(struct mq_virtio_dev *vdev, unsigned q)
{
    struct mq_virtio_queue *qs;
    uint32_t status;

    if (q >= num_queues(vdev))
        return NULL;
    qs = &vdev->queues[q];
    pthread_mutex_lock(&qs->lock);
    status = load_status(vdev);
    if (qs->vq.size == 0 || !(status & MQ_VIRTIO_STATUS_DRIVER_OK) ||
        (status & MQ_VIRTIO_STATUS_NEEDS_RESET)) {
        pthread_mutex_unlock(&qs->lock);
        return NULL;
    }
    return &qs->vq;
}

void mq_virtio_queue_unlock(struct mq_virtio_dev *vdev, unsigned q)
{
    pthread_mutex_unlock(&vdev->queues[q].lock);
}

struct mq_guest_mem *mq_virtio_guest_mem(const struct mq_virtio_dev *vdev)
{
    return vdev->gm;
}

uint64_t mq_virtio_features(const struct mq_virtio_dev *vdev)
{
    return __atomic_load_n(&vdev->features, __ATOMIC_ACQUIRE);
}

void mq_virtio_notify_used(struct mq_virtio_dev *vdev, unsigned q)
{
    set_isr(vdev, MQ_VIRTIO_ISR_QUEUE, 0);
}

void mq_virtio_notify_config(struct mq_virtio_dev *vdev)
{
    __atomic_fetch_add(&vdev->config_generation, 1, __ATOMIC_ACQ_REL);
    if (load_status(vdev) & MQ_VIRTIO_STATUS_DRIVER_OK)
        set_isr(vdev, MQ_VIRTIO_ISR_CONFIG, 0);
}

void mq_virtio_set_needs_reset(struct mq_virtio_dev *vdev, int err)
{
    uint32_t old = __atomic_fetch_or(&vdev->status, MQ_VIRTIO_STATUS_NEEDS_RESET,
                                     __ATOMIC_ACQ_REL);

    if (old & MQ_VIRTIO_STATUS_NEEDS_RESET)
        return;
    mq_guest_warn(SUBSYS, "%s: driver error (%s): device needs reset", dev_name(vdev),
                  strerror(err < 0 ? -err : err));
    if (old & MQ_VIRTIO_STATUS_DRIVER_OK)
        set_isr(vdev, MQ_VIRTIO_ISR_CONFIG, 0);
}

int mq_virtio_queue_process(struct mq_virtio_dev *vdev, unsigned q,
                            struct mq_virtq_chain *chain, unsigned budget,
                            mq_virtio_chain_fn *fn, void *model)
{
    struct mq_guest_mem *gm = vdev->gm;
    struct mq_virtq *vq = mq_virtio_queue_lock(vdev, q);
    bool pushed = false;
    int more = 0, ret;

    if (!vq)
        return 0;
    for (unsigned n = 0;; n++) {
        uint32_t written = 0;

        if (n == budget) {
            more = 1;
            break;
        }
        ret = mq_virtq_pop(vq, gm, chain);
        if (ret == 0)
            break;
        if (ret > 0)
            ret = fn(model, gm, chain, &written);
        if (ret == 0)
            ret = mq_virtq_push(vq, gm, chain->head, written);
        if (ret < 0) {
            mq_virtio_set_needs_reset(vdev, ret);
            break;
        }
        pushed = true;
    }
    if (pushed && mq_virtq_should_notify(vq, gm))
        mq_virtio_notify_used(vdev, q);
    mq_virtio_queue_unlock(vdev, q);
    return more;
}
