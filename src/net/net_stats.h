/* SPDX-License-Identifier: MIT */
/*
 * Per-backend traffic counters, for the VM's stats API. "tx" is guest to
 * backend, "rx" backend to guest, as seen from the guest NIC.
 */
#ifndef MQ_NET_NET_STATS_H
#define MQ_NET_NET_STATS_H

#include <stdint.h>

#include "net/net.h"

struct mq_net_stats {
    uint64_t tx_frames;   /* frames from the guest taken by the backend */
    uint64_t tx_bytes;
    uint64_t tx_dropped;  /* runt, oversized, queue full or link down */
    uint64_t rx_frames;   /* frames handed to the guest NIC */
    uint64_t rx_bytes;
    uint64_t rx_deferred; /* times the NIC pushed a frame back (no room) */
    uint64_t rx_dropped;  /* pending queue overflow (oldest dropped) or link down */
};

/*
 * Snapshot of nb's counters (each counter is read atomically, the set is
 * not one instant). 0, or -ENOTSUP for a backend without counters.
 * Thread-safe.
 */
int mq_net_backend_get_stats(struct mq_net_backend *nb, struct mq_net_stats *out);

#endif
