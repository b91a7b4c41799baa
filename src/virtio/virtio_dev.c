/* SPDX-License-Identifier: MIT */
/* Transport-independent virtio device state: status, features, queues, interrupts (virtio 1.2 sections 2.1-2.5, 3.1). */
#include "virtio/virtio_dev.h"

#include <errno.h>
#include <string.h>

#include "util/le.h"
#include "util/log.h"
#include "util/state.h"

#define SUBSYS "virtio"
/* Layout of the core's fields in a transport's section (see mq_virtio_dev_save). */
#define CORE_STATE_VERSION 1u
#define STATUS_KNOWN                                                                     \
    (MQ_VIRTIO_STATUS_ACKNOWLEDGE | MQ_VIRTIO_STATUS_DRIVER | MQ_VIRTIO_STATUS_DRIVER_OK | \
     MQ_VIRTIO_STATUS_FEATURES_OK | MQ_VIRTIO_STATUS_NEEDS_RESET | MQ_VIRTIO_STATUS_FAILED)

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
    if (__atomic_load_n(&vdev->quiesced, __ATOMIC_ACQUIRE) || qs->vq.size == 0 || !(status & MQ_VIRTIO_STATUS_DRIVER_OK) ||
        (status & MQ_VIRTIO_STATUS_NEEDS_RESET)) {
        pthread_mutex_unlock(&qs->lock);
        return NULL;
    }
    return &qs->vq;
}

void mq_virtio_dev_quiesce(struct mq_virtio_dev *vdev, bool on)
{
    __atomic_store_n(&vdev->quiesced, on, __ATOMIC_RELEASE);
    if (!on)
        return;
    /* Whoever holds a queue lock now started before the flag: wait for them. */
    for (unsigned q = 0; q < MQ_VIRTIO_MAX_QUEUES; q++) {
        pthread_mutex_lock(&vdev->queues[q].lock);
        pthread_mutex_unlock(&vdev->queues[q].lock);
    }
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

/* ---- Snapshots ---- */

static void lock_queues(struct mq_virtio_dev *vdev, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        pthread_mutex_lock(&vdev->queues[i].lock);
}

static void unlock_queues(struct mq_virtio_dev *vdev, unsigned n)
{
    for (unsigned i = n; i-- > 0;)
        pthread_mutex_unlock(&vdev->queues[i].lock);
}

/* Chains popped and not pushed are only legal in a device the driver must reset. */
static bool in_flight_ok(const struct mq_virtq *vq, uint32_t status)
{
    return mq_virtq_in_flight(vq) == 0 || vq->broken ||
           (status & MQ_VIRTIO_STATUS_NEEDS_RESET);
}

/*
 * Fields: core layout version, device ID (u32); for a device with a model,
 * offered, driver-written and accepted features (u64), status, config
 * generation, interrupt status, queue size maximum, number of queues
 * (u32); per queue ready (bool), the num/desc/driver/device registers
 * (u32, u64 x3) and the ring state (mq_virtq_save); then the model's.
 */
int mq_virtio_dev_save(struct mq_virtio_dev *vdev, struct mq_state_writer *w)
{
    unsigned n = num_queues(vdev);
    uint32_t status;
    int ret;

    mq_state_put_u32(w, CORE_STATE_VERSION);
    mq_state_put_u32(w, mq_virtio_dev_device_id(vdev));
    if (!vdev->ops)
        return mq_state_writer_error(w);
    if (!vdev->ops->save || !vdev->ops->load) {
        mq_state_writer_fail(w, -EOPNOTSUPP, "%s does not support snapshots", dev_name(vdev));
        return mq_state_writer_error(w);
    }
    /* With every queue lock held nothing is processed and status is stable. */
    lock_queues(vdev, n);
    status = load_status(vdev);
    for (unsigned i = 0; i < n; i++) {
        const struct mq_virtq *vq = &vdev->queues[i].vq;

        if (!in_flight_ok(vq, status)) {
            mq_state_writer_fail(w, -EBUSY, "%s: queue %u has %u requests in flight; "
                                 "drain the device before saving", dev_name(vdev), i,
                                 mq_virtq_in_flight(vq));
            goto out;
        }
    }
    mq_state_put_u64(w, vdev->host_features);
    mq_state_put_u64(w, vdev->driver_features);
    mq_state_put_u64(w, mq_virtio_features(vdev));
    mq_state_put_u32(w, status);
    mq_state_put_u32(w, mq_virtio_dev_config_generation(vdev));
    mq_state_put_u32(w, mq_virtio_dev_get_isr(vdev));
    mq_state_put_u32(w, vdev->queue_max);
    mq_state_put_u32(w, n);
    for (unsigned i = 0; i < n; i++) {
        const struct mq_virtio_queue *qs = &vdev->queues[i];

        mq_state_put_bool(w, qs->ready);
        mq_state_put_u32(w, qs->num);
        mq_state_put_u64(w, qs->desc);
        mq_state_put_u64(w, qs->driver);
        mq_state_put_u64(w, qs->device);
        mq_virtq_save(&qs->vq, w);
    }
    ret = vdev->ops->save(vdev->model, w);
    if (ret && !mq_state_writer_error(w))
        mq_state_writer_fail(w, ret, "%s: model state not saved: %s", dev_name(vdev),
                             strerror(-ret));
out:
    unlock_queues(vdev, n);
    return mq_state_writer_error(w);
}

struct saved_queue {
    bool ready;
    uint32_t num;
    uint64_t desc, driver, device;
    struct mq_virtq vq;
};

struct saved_core {
    uint64_t host_features, driver_features, features;
    uint32_t status, generation, isr, queue_max, nqueues;
    struct saved_queue q[MQ_VIRTIO_MAX_QUEUES];
};

/* Status, features, interrupt status and sizes as the register writes allow them. */
static int check_core(struct mq_virtio_dev *vdev, struct mq_state_reader *r,
                      const struct saved_core *s)
{
    const char *name = dev_name(vdev);
    uint64_t f = s->features;
    bool fok = s->status & MQ_VIRTIO_STATUS_FEATURES_OK;
    int ret;

    if (s->host_features & ~vdev->host_features)
        mq_state_reader_fail(r, -EINVAL, "%s: saved device offered features 0x%llx this "
                             "build does not offer", name,
                             (unsigned long long)(s->host_features & ~vdev->host_features));
    else if (s->status & ~STATUS_KNOWN)
        mq_state_reader_fail(r, -EINVAL, "%s: status 0x%x has undefined bits", name,
                             s->status);
    else if ((s->status & MQ_VIRTIO_STATUS_DRIVER_OK) && !fok)
        mq_state_reader_fail(r, -EINVAL, "%s: status 0x%x: DRIVER_OK without FEATURES_OK",
                             name, s->status);
    else if (!fok && f)
        mq_state_reader_fail(r, -EINVAL, "%s: features 0x%llx accepted without FEATURES_OK",
                             name, (unsigned long long)f);
    else if (fok && (f != s->driver_features || (f & ~s->host_features) ||
                     !(f & (1ull << MQ_VIRTIO_F_VERSION_1))))
        mq_state_reader_fail(r, -EINVAL, "%s: accepted features 0x%llx are not a valid "
                             "choice among 0x%llx", name, (unsigned long long)f,
                             (unsigned long long)s->host_features);
    else if (s->isr & ~(MQ_VIRTIO_ISR_QUEUE | MQ_VIRTIO_ISR_CONFIG))
        mq_state_reader_fail(r, -EINVAL, "%s: interrupt status 0x%x has undefined bits",
                             name, s->isr);
    else if (s->queue_max != vdev->queue_max || s->nqueues != vdev->ops->num_queues)
        mq_state_reader_fail(r, -EINVAL, "%s: saved with %u queues of up to %u entries, "
                             "this device has %u of up to %u", name, s->nqueues,
                             s->queue_max, vdev->ops->num_queues, vdev->queue_max);
    if (mq_state_reader_error(r) || !fok || !vdev->ops->features_ok)
        return mq_state_reader_error(r);
    ret = vdev->ops->features_ok(vdev->model, f);
    if (ret)
        mq_state_reader_fail(r, -EINVAL, "%s: features 0x%llx refused by the device: %s",
                             name, (unsigned long long)f, strerror(-ret));
    return mq_state_reader_error(r);
}

/* One queue: registers, ring state, and their agreement. */
static int read_queue(struct mq_virtio_dev *vdev, struct mq_state_reader *r,
                      const struct saved_core *s, unsigned i, struct saved_queue *q)
{
    const struct mq_virtq *vq = &q->vq;

    q->ready = mq_state_get_bool(r);
    q->num = mq_state_get_u32(r);
    q->desc = mq_state_get_u64(r);
    q->driver = mq_state_get_u64(r);
    q->device = mq_state_get_u64(r);
    if (mq_state_reader_error(r) || mq_virtq_load(&q->vq, vdev->gm, r))
        return mq_state_reader_error(r);
    if (!q->ready) {
        /* Setup registers hold whatever the driver wrote; QueueReady checks them. */
        if (vq->size)
            mq_state_reader_fail(r, -EINVAL, "queue %u is not ready but has rings", i);
        return mq_state_reader_error(r);
    }
    if (vq->size == 0 || vq->size != q->num || q->num > vdev->queue_max ||
        vq->desc_gpa != q->desc || vq->avail_gpa != q->driver || vq->used_gpa != q->device)
        mq_state_reader_fail(r, -EINVAL, "queue %u: rings do not match its registers "
                             "(num %u)", i, q->num);
    /* Ring flags come from the features at QueueReady: never more than accepted. */
    else if ((vq->event_idx && !(s->features & (1ull << MQ_VIRTIO_F_EVENT_IDX))) ||
             (vq->indirect && !(s->features & (1ull << MQ_VIRTIO_F_INDIRECT_DESC))))
        mq_state_reader_fail(r, -EINVAL, "queue %u uses ring features never accepted", i);
    else if (!in_flight_ok(vq, s->status))
        mq_state_reader_fail(r, -EINVAL, "queue %u has %u requests in flight in a working "
                             "device", i, mq_virtq_in_flight(vq));
    return mq_state_reader_error(r);
}

static int read_core(struct mq_virtio_dev *vdev, struct mq_state_reader *r,
                     struct saved_core *s)
{
    uint32_t version = mq_state_get_u32(r), id = mq_state_get_u32(r);

    if (mq_state_reader_error(r))
        return mq_state_reader_error(r);
    if (version != CORE_STATE_VERSION) {
        mq_state_reader_fail(r, -EPROTONOSUPPORT, "virtio core state version %u is not "
                             "supported (this maquina reads %u)", version, CORE_STATE_VERSION);
        return mq_state_reader_error(r);
    }
    if (id != mq_virtio_dev_device_id(vdev)) {
        mq_state_reader_fail(r, -EINVAL, "saved virtio device ID %u, this slot has %s "
                             "(device ID %u)", id, dev_name(vdev),
                             mq_virtio_dev_device_id(vdev));
        return mq_state_reader_error(r);
    }
    if (!vdev->ops)
        return 0;
    if (!vdev->ops->save || !vdev->ops->load) {
        mq_state_reader_fail(r, -EOPNOTSUPP, "%s does not support snapshots", dev_name(vdev));
        return mq_state_reader_error(r);
    }
    s->host_features = mq_state_get_u64(r);
    s->driver_features = mq_state_get_u64(r);
    s->features = mq_state_get_u64(r);
    s->status = mq_state_get_u32(r);
    s->generation = mq_state_get_u32(r);
    s->isr = mq_state_get_u32(r);
    s->queue_max = mq_state_get_u32(r);
    s->nqueues = mq_state_get_u32(r);
    if (mq_state_reader_error(r) || check_core(vdev, r, s))
        return mq_state_reader_error(r);
    for (unsigned i = 0; i < s->nqueues; i++) {
        if (read_queue(vdev, r, s, i, &s->q[i]))
            break;
    }
    return mq_state_reader_error(r);
}

int mq_virtio_dev_load(struct mq_virtio_dev *vdev, struct mq_state_reader *r)
{
    struct saved_core s;
    unsigned n = num_queues(vdev);
    int ret;

    memset(&s, 0, sizeof(s));
    if (read_core(vdev, r, &s) || !vdev->ops)
        return mq_state_reader_error(r);
    lock_queues(vdev, n);
    for (unsigned i = 0; i < n; i++) {
        struct mq_virtio_queue *qs = &vdev->queues[i];

        qs->ready = s.q[i].ready;
        qs->num = s.q[i].num;
        qs->desc = s.q[i].desc;
        qs->driver = s.q[i].driver;
        qs->device = s.q[i].device;
        qs->vq = s.q[i].vq;
    }
    vdev->driver_features = s.driver_features;
    __atomic_store_n(&vdev->features, s.features, __ATOMIC_RELEASE);
    __atomic_store_n(&vdev->status, s.status, __ATOMIC_RELEASE);
    __atomic_store_n(&vdev->config_generation, s.generation, __ATOMIC_RELEASE);
    /* Drive the line even when the level looks unchanged: the receiver was reset too. */
    pthread_mutex_lock(&vdev->irq_lock);
    vdev->isr = s.isr;
    mq_irq_set(&vdev->irq, s.isr != 0);
    pthread_mutex_unlock(&vdev->irq_lock);
    ret = vdev->ops->load(vdev->model, r);
    unlock_queues(vdev, n);
    if (ret && !mq_state_reader_error(r))
        mq_state_reader_fail(r, ret, "%s: model state refused: %s", dev_name(vdev),
                             strerror(-ret));
    if (mq_state_reader_error(r)) {
        /* The core is restored but the model is not: start over from a clean device. */
        mq_virtio_dev_reset(vdev);
    }
    return mq_state_reader_error(r);
}

void mq_virtio_dev_resume(struct mq_virtio_dev *vdev)
{
    pthread_mutex_lock(&vdev->lock);
    for (unsigned i = 0; i < num_queues(vdev); i++)
        mq_virtio_dev_queue_notify(vdev, i);
    pthread_mutex_unlock(&vdev->lock);
}
