/* SPDX-License-Identifier: MIT */
/* virtio-console model with a single port and no MULTIPORT, i.e. hvc0 (virtio 1.2 section 5.3). */
#ifndef MQ_VIRTIO_VIRTIO_CONSOLE_H
#define MQ_VIRTIO_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "util/event_loop.h"
#include "virtio/virtio_dev.h"

/* Queues of port 0 (section 5.3.2). */
#define MQ_VIRTIO_CONSOLE_RXQ 0
#define MQ_VIRTIO_CONSOLE_TXQ 1

/* Config space (struct virtio_console_config, section 5.3.4). */
#define MQ_VIRTIO_CONSOLE_CFG_COLS 0
#define MQ_VIRTIO_CONSOLE_CFG_ROWS 2
#define MQ_VIRTIO_CONSOLE_CFG_MAX_NR_PORTS 4
#define MQ_VIRTIO_CONSOLE_CFG_EMERG_WR 8
#define MQ_VIRTIO_CONSOLE_CFG_SIZE 12

/*
 * Bytes taken from one transmit chain at most; the rest is dropped (and
 * counted). A chain may describe up to 4 GiB, and copying that would hold
 * the I/O thread and the queue lock (which a device reset waits for) for
 * seconds. Linux's hvc writes a few bytes to a page per chain.
 */
#define MQ_VIRTIO_CONSOLE_MAX_TX_CHAIN (64u << 10)

struct mq_virtio_console;

/* The host end of the port. */
struct mq_virtio_console_host {
    /*
     * Guest output: len bytes the driver transmitted, in order. Called on
     * the loop thread (inside the queue notify when loop is NULL), with the
     * transmit queue's lock held: must not block for long and must not
     * call back into the console. Required.
     */
    void (*to_host)(void *opaque, const uint8_t *buf, size_t len);
    /*
     * The driver made receive buffers available after
     * mq_virtio_console_from_host() took less than offered: offer the rest
     * again. Called on the loop thread (inside the queue notify when loop
     * is NULL); may call mq_virtio_console_from_host(). May be called when
     * nothing is pending. Optional.
     */
    void (*rx_space)(void *opaque);
    void *opaque;
};

struct mq_virtio_console_stats {
    uint64_t tx_bytes;     /* guest to host */
    uint64_t tx_dropped;   /* bytes beyond MQ_VIRTIO_CONSOLE_MAX_TX_CHAIN in a chain */
    uint64_t rx_bytes;     /* host to guest */
};

/*
 * Attach a virtio-console model to vdev (an empty virtio device). host is
 * copied; its opaque must outlive vdev. Transmit chains run on loop's
 * thread, or inside the queue notify when loop is NULL. *out stays valid
 * until mq_virtio_dev_fini(vdev). 0, -EINVAL or -ENOMEM.
 */
int mq_virtio_console_create(struct mq_virtio_dev *vdev, struct mq_event_loop *loop,
                             const struct mq_virtio_console_host *host,
                             struct mq_virtio_console **out);

/*
 * Host input for the guest: copy up to len bytes into the driver's receive
 * buffers and return how many were taken (0 when the driver is not ready
 * or has no buffer posted; host->rx_space is called once it has).
 * Thread-safe; must not be called any more once mq_virtio_dev_fini(vdev)
 * has started.
 */
size_t mq_virtio_console_from_host(struct mq_virtio_console *c, const uint8_t *buf,
                                   size_t len);

/* Snapshot of the counters. Thread-safe. */
void mq_virtio_console_get_stats(struct mq_virtio_console *c,
                                 struct mq_virtio_console_stats *out);

#endif
