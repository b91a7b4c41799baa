/* SPDX-License-Identifier: MIT */
/*
 * A virtio device as transports and device models share it: status and
 * feature negotiation, queues, interrupt status and config space (virtio
 * 1.2 sections 2.1-2.5 and 3.1), and the ops table a device model (blk,
 * rng, net, console) implements.
 *
 * Roles: a transport (virtio_mmio.c) decodes guest register accesses and
 * calls the mq_virtio_dev_* functions; a device model attaches its ops with
 * mq_virtio_dev_attach() and calls back mq_virtio_queue_lock(),
 * mq_virtio_notify_used(), mq_virtio_notify_config() and
 * mq_virtio_set_needs_reset().
 *
 * Locking, outermost first:
 *   vdev->lock    register state; held by the transport around every
 *                 mq_virtio_dev_* call (hart threads);
 *   queue lock    one per queue: the ring state (struct mq_virtq), held by
 *                 a model while it pops and pushes (usually the I/O thread)
 *                 and by the core when it sets up or resets the queue;
 *   irq_lock      interrupt status and the irq line (a leaf).
 * Models never take vdev->lock, so the core may wait for a queue lock
 * while holding it (device reset waits for the request in progress).
 */
#ifndef MQ_VIRTIO_VIRTIO_DEV_H
#define MQ_VIRTIO_VIRTIO_DEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mem/guest_mem.h"
#include "util/compiler.h"
#include "util/irq.h"
#include "virtio/virtqueue.h"

struct mq_state_writer;
struct mq_state_reader;

/* Device status bits (virtio 1.2 section 2.1). */
#define MQ_VIRTIO_STATUS_ACKNOWLEDGE 1u
#define MQ_VIRTIO_STATUS_DRIVER 2u
#define MQ_VIRTIO_STATUS_DRIVER_OK 4u
#define MQ_VIRTIO_STATUS_FEATURES_OK 8u
#define MQ_VIRTIO_STATUS_NEEDS_RESET 64u
#define MQ_VIRTIO_STATUS_FAILED 128u

/* Reserved feature bits (virtio 1.2 section 6) the core implements. */
#define MQ_VIRTIO_F_INDIRECT_DESC 28
#define MQ_VIRTIO_F_EVENT_IDX 29
#define MQ_VIRTIO_F_VERSION_1 32

/* Interrupt status bits (virtio 1.2 section 4.2.2, InterruptStatus). */
#define MQ_VIRTIO_ISR_QUEUE 1u
#define MQ_VIRTIO_ISR_CONFIG 2u

#define MQ_VIRTIO_MAX_QUEUES 8

/* Device IDs (virtio 1.2 section 5). */
#define MQ_VIRTIO_ID_NET 1
#define MQ_VIRTIO_ID_BLOCK 2
#define MQ_VIRTIO_ID_CONSOLE 3
#define MQ_VIRTIO_ID_RNG 4

struct mq_virtio_dev;

/*
 * What a device model provides. model is the pointer given to
 * mq_virtio_dev_attach(). Callbacks marked "vdev->lock held" run on a hart
 * thread inside a register access and must return quickly.
 */
struct mq_virtio_dev_ops {
    const char *name;          /* "virtio-blk": used in log messages */
    uint32_t device_id;        /* MQ_VIRTIO_ID_* */
    unsigned num_queues;       /* <= MQ_VIRTIO_MAX_QUEUES */
    uint32_t config_size;      /* bytes of device config space */
    /*
     * Read len (1, 2 or 4) bytes at off into buf, little-endian; off + len
     * <= config_size is guaranteed. vdev->lock held. Optional (reads 0).
     */
    void (*read_config)(void *model, uint32_t off, void *buf, uint32_t len);
    /* Same for writes. vdev->lock held. Optional (writes ignored). */
    void (*write_config)(void *model, uint32_t off, const void *buf, uint32_t len);
    /*
     * The driver set FEATURES_OK with these features (already checked to
     * be offered and to include VERSION_1). Return 0 to accept or -errno
     * to refuse. vdev->lock held. Optional.
     */
    int (*features_ok)(void *model, uint64_t features);
    /*
     * The driver wrote queue q's notify register. vdev->lock held: hand
     * the work to the I/O thread (mq_notifier_kick) and return.
     */
    void (*queue_notify)(void *model, unsigned q);
    /*
     * Device reset: drop all model state. vdev->lock and every queue lock
     * held, so no queue is being processed. Must not take queue locks.
     */
    void (*reset)(void *model);
    /* Free the model. Nothing else of the model may run any more. Optional. */
    void (*destroy)(void *model);
    /*
     * Snapshot support: write / read the model's own state, after the
     * core's, in the device's section. The first field is the model's own
     * layout version (u32) so it can evolve on its own. Both run with
     * vdev->lock and every queue lock held (nothing is being processed)
     * and must not take queue locks.
     * save: chains popped and not pushed are caught by the core from the
     * queue indexes; a model holding other work the indexes do not show
     * (a request handed to a backend thread, a frame half received) calls
     * mq_state_writer_fail(w, -EBUSY, ...) and returns -EBUSY, so the VM
     * drains and retries.
     * load: validate every value as a register write would be
     * (mq_state_reader_fail() and -EINVAL), then apply it. The core state
     * is already restored (mq_virtio_features() gives the saved features);
     * on failure the core resets the device.
     * A model without these cannot be snapshotted: save and load fail
     * with -EOPNOTSUPP.
     */
    int (*save)(void *model, struct mq_state_writer *w);
    int (*load)(void *model, struct mq_state_reader *r);
};

struct mq_virtio_queue {
    pthread_mutex_t lock;      /* protects vq */
    struct mq_virtq vq;        /* size 0 while not ready */
    /* Driver-written setup values, under vdev->lock; applied on QueueReady. */
    uint32_t num;
    uint64_t desc, driver, device;
    bool ready;                /* under vdev->lock */
};

/* Fields are private to virtio_dev.c and the transports. */
struct mq_virtio_dev {
    pthread_mutex_t lock;
    struct mq_guest_mem *gm;
    const struct mq_virtio_dev_ops *ops;   /* NULL: empty slot */
    void *model;
    uint64_t host_features;                /* offered */
    uint64_t driver_features;              /* as written by the driver */
    uint64_t features;                     /* accepted at FEATURES_OK; atomic */
    uint32_t queue_max;                    /* QueueNumMax of every queue */
    uint32_t status;                       /* atomic: models set NEEDS_RESET */
    uint32_t config_generation;            /* atomic */
    bool quiesced;                         /* atomic: no queue processing */
    pthread_mutex_t irq_lock;
    uint32_t isr;                          /* under irq_lock */
    struct mq_irq irq;
    struct mq_virtio_queue queues[MQ_VIRTIO_MAX_QUEUES];
};

/* ---- For transports and the board ---- */

/* Initialize an empty device (device ID 0) raising irq. gm must outlive it. */
void mq_virtio_dev_init(struct mq_virtio_dev *vdev, struct mq_guest_mem *gm,
                        const struct mq_irq *irq);

/* Destroy the attached model (ops->destroy) and free the locks. */
void mq_virtio_dev_fini(struct mq_virtio_dev *vdev);

/*
 * Attach a device model offering device_features (device-specific bits;
 * the core adds VERSION_1, INDIRECT_DESC and EVENT_IDX) and queues of up
 * to queue_max entries (a power of two). The device then owns model:
 * ops->destroy is called by mq_virtio_dev_fini(). Call before the guest
 * runs. 0, -EBUSY (already attached) or -EINVAL (bad ops or queue_max).
 */
int mq_virtio_dev_attach(struct mq_virtio_dev *vdev, const struct mq_virtio_dev_ops *ops,
                         void *model, uint64_t device_features, uint32_t queue_max);

/* The calls below require vdev->lock held by the caller. */
void mq_virtio_dev_reset(struct mq_virtio_dev *vdev);
uint32_t mq_virtio_dev_device_id(const struct mq_virtio_dev *vdev);
uint32_t mq_virtio_dev_get_features(const struct mq_virtio_dev *vdev, uint32_t sel);
void mq_virtio_dev_set_driver_features(struct mq_virtio_dev *vdev, uint32_t sel,
                                       uint32_t val);
uint32_t mq_virtio_dev_get_status(const struct mq_virtio_dev *vdev);
void mq_virtio_dev_set_status(struct mq_virtio_dev *vdev, uint32_t val);
uint32_t mq_virtio_dev_queue_max(const struct mq_virtio_dev *vdev, uint32_t q);
/* Setup registers of queue q, or NULL when q does not exist. */
struct mq_virtio_queue *mq_virtio_dev_queue(struct mq_virtio_dev *vdev, uint32_t q);
void mq_virtio_dev_set_queue_ready(struct mq_virtio_dev *vdev, uint32_t q, bool ready);
void mq_virtio_dev_queue_notify(struct mq_virtio_dev *vdev, uint32_t q);
uint32_t mq_virtio_dev_get_isr(struct mq_virtio_dev *vdev);
void mq_virtio_dev_ack_isr(struct mq_virtio_dev *vdev, uint32_t bits);
uint32_t mq_virtio_dev_config_generation(const struct mq_virtio_dev *vdev);
/* size 1, 2 or 4; out-of-range reads return 0, writes are ignored. */
uint32_t mq_virtio_dev_read_config(struct mq_virtio_dev *vdev, uint32_t off, unsigned size);
void mq_virtio_dev_write_config(struct mq_virtio_dev *vdev, uint32_t off, unsigned size,
                                uint32_t val);

/*
 * Snapshot support for transports, vdev->lock held by the caller. save
 * appends the core state (device ID, offered, driver and accepted
 * features, status, config generation, interrupt status, every queue's
 * setup registers and ring indexes) and the model's, as fields of the open
 * section. It fails with -EBUSY when a queue has chains in flight (popped,
 * not pushed) while the device is healthy: the VM must drain its I/O
 * threads first. load checks the same state against this device exactly
 * as the driver's register writes would be checked (device ID, features a
 * subset of what this build offers and accepted by the model, legal
 * status, queue rings re-validated against guest RAM, indexes), then
 * applies it and drives the interrupt line to the restored level. On a
 * refusal the device is unchanged, unless the model's load failed, which
 * resets the device. Errors are recorded in w / r and returned.
 */
int mq_virtio_dev_save(struct mq_virtio_dev *vdev, struct mq_state_writer *w);
int mq_virtio_dev_load(struct mq_virtio_dev *vdev, struct mq_state_reader *r);

/*
 * Quiesce (on) or release (off) the device for a machine snapshot: while
 * quiesced, mq_virtio_queue_lock() gives NULL, so models neither take nor
 * complete buffers (a NIC's backend keeps its frames). Turning it on waits
 * for queue processing under way to finish. Release does not kick the
 * queues: mq_virtio_dev_resume() does. Any thread but a model's own; takes
 * the queue locks, not vdev->lock.
 */
void mq_virtio_dev_quiesce(struct mq_virtio_dev *vdev, bool on);

/*
 * After the whole machine is restored (RAM included) and before the harts
 * run: notify the model of every ready queue once, as the driver's kick
 * would, so buffers made available before the snapshot are not left
 * waiting for a kick that already happened. Spurious notifies are
 * harmless. Takes vdev->lock itself.
 */
void mq_virtio_dev_resume(struct mq_virtio_dev *vdev);

/* ---- For device models (any thread, vdev->lock not held) ---- */

/*
 * Lock queue q for processing and return its ring state, or NULL (and no
 * lock held) when q does not exist, is not ready, the driver is not
 * DRIVER_OK or the device needs reset.
 */
struct mq_virtq *mq_virtio_queue_lock(struct mq_virtio_dev *vdev, unsigned q);
void mq_virtio_queue_unlock(struct mq_virtio_dev *vdev, unsigned q);

struct mq_guest_mem *mq_virtio_guest_mem(const struct mq_virtio_dev *vdev);

/* Features accepted at FEATURES_OK (0 before). */
uint64_t mq_virtio_features(const struct mq_virtio_dev *vdev);

/* Used buffers were added to queue q: raise the used-buffer interrupt. */
void mq_virtio_notify_used(struct mq_virtio_dev *vdev, unsigned q);

/* The model changed its config space: bump the generation, interrupt. */
void mq_virtio_notify_config(struct mq_virtio_dev *vdev);

/*
 * The driver broke the protocol (err says how): set DEVICE_NEEDS_RESET
 * and, when DRIVER_OK is set, raise a config-change interrupt (virtio 1.2
 * section 2.1.2). Processing stops until the driver resets the device.
 */
void mq_virtio_set_needs_reset(struct mq_virtio_dev *vdev, int err);

/*
 * Handler for one popped chain: fill *written with the bytes written into
 * the chain's writable part; return 0, or -errno for a driver error (the
 * device then needs reset).
 */
typedef int mq_virtio_chain_fn(void *model, struct mq_guest_mem *gm,
                               const struct mq_virtq_chain *chain, uint32_t *written);

/*
 * Process up to budget chains of queue q: pop each into chain (the caller
 * sets chain->segs and chain->cap), call fn, push, and interrupt the
 * driver once at the end when the ring asks for it. Returns 1 when budget
 * ran out with chains possibly left (the caller should schedule another
 * run), 0 otherwise.
 */
int mq_virtio_queue_process(struct mq_virtio_dev *vdev, unsigned q,
                            struct mq_virtq_chain *chain, unsigned budget,
                            mq_virtio_chain_fn *fn, void *model);

#endif
