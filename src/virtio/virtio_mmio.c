/* SPDX-License-Identifier: MIT */
/* virtio-mmio version 2 register decoding in front of a virtio device core (virtio 1.2 section 4.2). */
#include "virtio/virtio_mmio.h"

#include <errno.h>
#include <stdlib.h>

#include "util/log.h"
#include "util/state.h"

#define SUBSYS "virtio-mmio"
#define MMIO_STATE_VERSION 1u

struct mq_virtio_mmio {
    struct mq_virtio_dev vdev;
    /* Selector registers, under vdev.lock. */
    uint32_t device_features_sel;
    uint32_t driver_features_sel;
    uint32_t queue_sel;
};

int mq_virtio_mmio_create(struct mq_guest_mem *gm, const struct mq_irq *irq,
                          struct mq_virtio_mmio **out)
{
    struct mq_virtio_mmio *mmio = calloc(1, sizeof(*mmio));

    if (!mmio)
        return -ENOMEM;
    mq_virtio_dev_init(&mmio->vdev, gm, irq);
    *out = mmio;
    return 0;
}

struct mq_virtio_dev *mq_virtio_mmio_dev(struct mq_virtio_mmio *mmio)
{
    return &mmio->vdev;
}

void mq_virtio_mmio_destroy(struct mq_virtio_mmio *mmio)
{
    if (!mmio)
        return;
    mq_virtio_dev_fini(&mmio->vdev);
    free(mmio);
}

static uint32_t read_reg(struct mq_virtio_mmio *mmio, uint64_t off)
{
    struct mq_virtio_dev *vdev = &mmio->vdev;
    bool present = mq_virtio_dev_device_id(vdev) != 0;
    struct mq_virtio_queue *qs;

    switch (off) {
    case MQ_VIRTIO_MMIO_MAGIC_VALUE:
        return MQ_VIRTIO_MMIO_MAGIC;
    case MQ_VIRTIO_MMIO_VERSION_REG:
        return MQ_VIRTIO_MMIO_VERSION;
    case MQ_VIRTIO_MMIO_DEVICE_ID:
        return mq_virtio_dev_device_id(vdev);
    case MQ_VIRTIO_MMIO_VENDOR_ID:
        return MQ_VIRTIO_MMIO_VENDOR;
    }
    if (!present)
        return 0;
    switch (off) {
    case MQ_VIRTIO_MMIO_DEVICE_FEATURES:
        return mq_virtio_dev_get_features(vdev, mmio->device_features_sel);
    case MQ_VIRTIO_MMIO_QUEUE_NUM_MAX:
        return mq_virtio_dev_queue_max(vdev, mmio->queue_sel);
    case MQ_VIRTIO_MMIO_QUEUE_READY:
        qs = mq_virtio_dev_queue(vdev, mmio->queue_sel);
        return qs && qs->ready;
    case MQ_VIRTIO_MMIO_INTERRUPT_STATUS:
        return mq_virtio_dev_get_isr(vdev);
    case MQ_VIRTIO_MMIO_STATUS:
        return mq_virtio_dev_get_status(vdev);
    case MQ_VIRTIO_MMIO_SHM_LEN_LOW:
    case MQ_VIRTIO_MMIO_SHM_LEN_HIGH:
    case MQ_VIRTIO_MMIO_SHM_BASE_LOW:
    case MQ_VIRTIO_MMIO_SHM_BASE_HIGH:
        /* No shared memory regions: length and base all ones (section 4.2.2). */
        return UINT32_MAX;
    case MQ_VIRTIO_MMIO_CONFIG_GENERATION:
        return mq_virtio_dev_config_generation(vdev);
    default:
        /* Write-only and reserved registers read as zero. */
        return 0;
    }
}

static void set_low(uint64_t *reg, uint32_t val)
{
    *reg = (*reg & ~0xffffffffull) | val;
}

static void set_high(uint64_t *reg, uint32_t val)
{
    *reg = (*reg & 0xffffffffull) | ((uint64_t)val << 32);
}

/* Queue setup registers: only while the selected queue is not ready. */
static void write_queue_reg(struct mq_virtio_mmio *mmio, uint64_t off, uint32_t val)
{
    struct mq_virtio_queue *qs = mq_virtio_dev_queue(&mmio->vdev, mmio->queue_sel);

    if (!qs) {
        mq_guest_warn(SUBSYS, "setup of queue %u that does not exist", mmio->queue_sel);
        return;
    }
    if (qs->ready) {
        mq_guest_warn(SUBSYS, "register 0x%03llx written while queue %u is ready",
                      (unsigned long long)off, mmio->queue_sel);
        return;
    }
    switch (off) {
    case MQ_VIRTIO_MMIO_QUEUE_NUM: qs->num = val; break;
    case MQ_VIRTIO_MMIO_QUEUE_DESC_LOW: set_low(&qs->desc, val); break;
    case MQ_VIRTIO_MMIO_QUEUE_DESC_HIGH: set_high(&qs->desc, val); break;
    case MQ_VIRTIO_MMIO_QUEUE_DRIVER_LOW: set_low(&qs->driver, val); break;
    case MQ_VIRTIO_MMIO_QUEUE_DRIVER_HIGH: set_high(&qs->driver, val); break;
    case MQ_VIRTIO_MMIO_QUEUE_DEVICE_LOW: set_low(&qs->device, val); break;
    case MQ_VIRTIO_MMIO_QUEUE_DEVICE_HIGH: set_high(&qs->device, val); break;
    }
}

static void write_reg(struct mq_virtio_mmio *mmio, uint64_t off, uint32_t val)
{
    struct mq_virtio_dev *vdev = &mmio->vdev;

    if (mq_virtio_dev_device_id(vdev) == 0)
        return;
    switch (off) {
    case MQ_VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        mmio->device_features_sel = val;
        break;
    case MQ_VIRTIO_MMIO_DRIVER_FEATURES:
        mq_virtio_dev_set_driver_features(vdev, mmio->driver_features_sel, val);
        break;
    case MQ_VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        mmio->driver_features_sel = val;
        break;
    case MQ_VIRTIO_MMIO_QUEUE_SEL:
        mmio->queue_sel = val;
        break;
    case MQ_VIRTIO_MMIO_QUEUE_NUM:
    case MQ_VIRTIO_MMIO_QUEUE_DESC_LOW:
    case MQ_VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case MQ_VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case MQ_VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
    case MQ_VIRTIO_MMIO_QUEUE_DEVICE_LOW:
    case MQ_VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        write_queue_reg(mmio, off, val);
        break;
    case MQ_VIRTIO_MMIO_QUEUE_READY:
        mq_virtio_dev_set_queue_ready(vdev, mmio->queue_sel, val & 1);
        break;
    case MQ_VIRTIO_MMIO_QUEUE_NOTIFY:
        /* Without VIRTIO_F_NOTIFICATION_DATA the value is the queue index. */
        mq_virtio_dev_queue_notify(vdev, val);
        break;
    case MQ_VIRTIO_MMIO_INTERRUPT_ACK:
        mq_virtio_dev_ack_isr(vdev, val);
        break;
    case MQ_VIRTIO_MMIO_STATUS:
        mq_virtio_dev_set_status(vdev, val);
        break;
    case MQ_VIRTIO_MMIO_SHM_SEL:
        break;
    default:
        mq_guest_warn(SUBSYS, "write 0x%x to read-only or reserved register 0x%03llx", val,
                      (unsigned long long)off);
        break;
    }
}

/*
 * Control registers take 32-bit aligned accesses only (section 4.2.2.2);
 * others are ignored (reads return 0) instead of faulting the hart, like a
 * bus that drops bad cycles. Config space takes 8-, 16- and 32-bit
 * accesses; the bus splits 64-bit ones.
 */
static int mmio_read(void *dev, uint64_t off, unsigned size, uint64_t *val)
{
    struct mq_virtio_mmio *mmio = dev;

    *val = 0;
    pthread_mutex_lock(&mmio->vdev.lock);
    if (off >= MQ_VIRTIO_MMIO_CONFIG)
        *val = mq_virtio_dev_read_config(&mmio->vdev, (uint32_t)(off - MQ_VIRTIO_MMIO_CONFIG),
                                         size);
    else if (size == 4 && !(off & 3))
        *val = read_reg(mmio, off);
    else
        mq_guest_warn(SUBSYS, "%u-byte read of register 0x%03llx ignored", size,
                      (unsigned long long)off);
    pthread_mutex_unlock(&mmio->vdev.lock);
    return 0;
}

static int mmio_write(void *dev, uint64_t off, unsigned size, uint64_t val)
{
    struct mq_virtio_mmio *mmio = dev;

    pthread_mutex_lock(&mmio->vdev.lock);
    if (off >= MQ_VIRTIO_MMIO_CONFIG)
        mq_virtio_dev_write_config(&mmio->vdev, (uint32_t)(off - MQ_VIRTIO_MMIO_CONFIG),
                                   size, (uint32_t)val);
    else if (size == 4 && !(off & 3))
        write_reg(mmio, off, (uint32_t)val);
    else
        mq_guest_warn(SUBSYS, "%u-byte write of register 0x%03llx ignored", size,
                      (unsigned long long)off);
    pthread_mutex_unlock(&mmio->vdev.lock);
    return 0;
}

static void mmio_reset(void *dev)
{
    struct mq_virtio_mmio *mmio = dev;

    pthread_mutex_lock(&mmio->vdev.lock);
    mq_virtio_dev_reset(&mmio->vdev);
    mmio->device_features_sel = 0;
    mmio->driver_features_sel = 0;
    mmio->queue_sel = 0;
    pthread_mutex_unlock(&mmio->vdev.lock);
}

/*
 * Snapshot, section version 1: the selector registers DeviceFeaturesSel,
 * DriverFeaturesSel and QueueSel (u32; every value is legal, accesses
 * through them are range-checked), then the device core and its model
 * (mq_virtio_dev_save). An empty slot saves its device ID 0 only.
 */
static int mmio_save(void *dev, struct mq_state_writer *w)
{
    struct mq_virtio_mmio *mmio = dev;
    int ret;

    pthread_mutex_lock(&mmio->vdev.lock);
    mq_state_set_version(w, MMIO_STATE_VERSION);
    mq_state_put_u32(w, mmio->device_features_sel);
    mq_state_put_u32(w, mmio->driver_features_sel);
    mq_state_put_u32(w, mmio->queue_sel);
    ret = mq_virtio_dev_save(&mmio->vdev, w);
    pthread_mutex_unlock(&mmio->vdev.lock);
    return ret;
}

static int mmio_load(void *dev, struct mq_state_reader *r)
{
    struct mq_virtio_mmio *mmio = dev;
    uint32_t dfsel, drfsel, qsel;

    if (mq_state_expect_version(r, MMIO_STATE_VERSION, MMIO_STATE_VERSION))
        return mq_state_reader_error(r);
    dfsel = mq_state_get_u32(r);
    drfsel = mq_state_get_u32(r);
    qsel = mq_state_get_u32(r);
    if (mq_state_reader_error(r))
        return mq_state_reader_error(r);
    pthread_mutex_lock(&mmio->vdev.lock);
    if (!mq_virtio_dev_load(&mmio->vdev, r)) {
        mmio->device_features_sel = dfsel;
        mmio->driver_features_sel = drfsel;
        mmio->queue_sel = qsel;
    }
    pthread_mutex_unlock(&mmio->vdev.lock);
    return mq_state_reader_error(r);
}

static void mmio_destroy(void *dev)
{
    mq_virtio_mmio_destroy(dev);
}

const struct mq_dev_ops mq_virtio_mmio_ops = {
    .name = "virtio-mmio",
    .min_access = 1,
    .max_access = 4,
    .read = mmio_read,
    .write = mmio_write,
    .reset = mmio_reset,
    .save = mmio_save,
    .load = mmio_load,
    .destroy = mmio_destroy,
};
