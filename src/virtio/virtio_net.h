/* SPDX-License-Identifier: MIT */
/* virtio-net (network card) model on a struct mq_net_backend (virtio 1.2 section 5.1). */
#ifndef MQ_VIRTIO_VIRTIO_NET_H
#define MQ_VIRTIO_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "net/net.h"
#include "util/event_loop.h"
#include "virtio/virtio_dev.h"

/* Feature bits offered (virtio 1.2 section 5.1.3). */
#define MQ_VIRTIO_NET_F_MAC 5
#define MQ_VIRTIO_NET_F_MRG_RXBUF 15
#define MQ_VIRTIO_NET_F_STATUS 16

/* Config space (struct virtio_net_config, section 5.1.4): mac, then status. */
#define MQ_VIRTIO_NET_CFG_MAC 0
#define MQ_VIRTIO_NET_CFG_STATUS 6
#define MQ_VIRTIO_NET_CFG_SIZE 8
#define MQ_VIRTIO_NET_S_LINK_UP 1u

/* struct virtio_net_hdr with VERSION_1 (section 5.1.6): always 12 bytes. */
#define MQ_VIRTIO_NET_HDR_BYTES 12u
#define MQ_VIRTIO_NET_HDR_F_NEEDS_CSUM 1u
#define MQ_VIRTIO_NET_HDR_GSO_NONE 0u

/* Queues: one receive/transmit pair, no control queue (section 5.1.2). */
#define MQ_VIRTIO_NET_RXQ 0
#define MQ_VIRTIO_NET_TXQ 1

/* Frame sizes accepted from the driver: an Ethernet header up to 64 KiB - 1. */
#define MQ_VIRTIO_NET_MIN_FRAME 14u
#define MQ_VIRTIO_NET_MAX_FRAME 65535u

/* Counters, guest-NIC view: "tx" is guest to backend, "rx" backend to guest. */
struct mq_virtio_net_stats {
    uint64_t tx_frames;    /* frames the backend accepted */
    uint64_t tx_bytes;
    uint64_t tx_dropped;   /* malformed, link down or refused by the backend */
    uint64_t rx_frames;    /* frames written into guest buffers */
    uint64_t rx_bytes;
    uint64_t rx_dropped;   /* link down, bad size or too big for the buffers */
    uint64_t rx_no_buffer; /* frames pushed back to the backend (ring empty) */
};

/*
 * Attach a virtio-net model to vdev (an empty virtio device) with the MAC
 * address mac, sending and receiving through nb. Transmit chains run on
 * loop's thread; received frames are written into the guest's buffers on
 * the backend's thread (under the receive queue's lock). With loop NULL
 * everything runs inline (tests, fuzzing).
 *
 * Ownership: on success the device owns nb: mq_virtio_dev_fini() closes it
 * (which stops the backend's thread) before freeing the model, so no
 * receive callback can run on freed memory. On failure nb is untouched and
 * stays the caller's. The receiver of nb is replaced. The link starts up.
 * 0, -EINVAL or -ENOMEM.
 */
int mq_virtio_net_create(struct mq_virtio_dev *vdev, struct mq_event_loop *loop,
                         struct mq_net_backend *nb, const uint8_t mac[6]);

/*
 * Set the link state the driver sees in the status field and raise a
 * configuration change interrupt when it changes. While the link is down
 * frames are dropped both ways (counted). The backend's own link state is
 * not touched. Any thread. vdev must carry a virtio-net model.
 */
void mq_virtio_net_set_link(struct mq_virtio_dev *vdev, bool up);

/* The link state the driver sees; false when vdev is not a virtio-net. Any thread. */
bool mq_virtio_net_link_up(struct mq_virtio_dev *vdev);

/* Snapshot of the counters (each read atomically). 0, or -EINVAL when vdev is not a virtio-net. */
int mq_virtio_net_get_stats(struct mq_virtio_dev *vdev, struct mq_virtio_net_stats *out);

#endif
