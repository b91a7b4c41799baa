/* SPDX-License-Identifier: MIT */
/*
 * The L2 learning switch of a virtual network (IEEE 802.1D transparent
 * bridging, without spanning tree): a MAC table with aging, flooding of
 * broadcast, multicast and unknown unicast, and one bounded frame queue
 * per port. Pure: no sockets, no clock (callers pass the time), no
 * threads, so unit tests drive it with fake ports. The switch process
 * (switchd.c) moves frames between the queues and the sockets.
 *
 * Not thread-safe: one thread owns a switch.
 */
#ifndef MQ_NET_SWITCH_CORE_H
#define MQ_NET_SWITCH_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Frame size limits (Ethernet header to payload end, no FCS). The upper
 * one leaves room for a 9000-byte MTU, a header and a VLAN tag. */
#define MQ_SWITCH_MIN_FRAME 14u
#define MQ_SWITCH_MAX_FRAME 9216u

struct mq_switch;

struct mq_switch_config {
    unsigned max_ports;    /* 0: 256 */
    unsigned queue_frames; /* per-port queue bound in frames; 0: 256 */
    size_t queue_bytes;    /* and in bytes; 0: 1 MiB */
    unsigned mac_capacity; /* MAC table slots, rounded up to a power of two; 0: 4096 */
    uint64_t aging_ns;     /* entries unseen this long are forgotten; 0: 300 s */
};

struct mq_switch_port_stats {
    uint64_t rx_frames;      /* frames received from the port and accepted */
    uint64_t rx_bytes;
    uint64_t rx_malformed;   /* dropped: bad size or source address */
    uint64_t tx_frames;      /* frames queued to the port */
    uint64_t tx_bytes;
    uint64_t tx_queue_full;  /* dropped: the port's queue was full */
};

/* New switch; NULL config: defaults. NULL on out of memory. */
struct mq_switch *mq_switch_new(const struct mq_switch_config *cfg);
void mq_switch_free(struct mq_switch *sw);

/* A new port (the lowest free number). Returns it, or -ENOSPC. */
int mq_switch_port_add(struct mq_switch *sw);
/* Drop the port, its queue and the MAC entries pointing at it. */
void mq_switch_port_remove(struct mq_switch *sw, int port);
/* Ports in use. */
unsigned mq_switch_port_count(const struct mq_switch *sw);

/*
 * A frame received on port: checked, its source learned, then copied
 * into the queues of the ports it goes to. Returns the number of ports it
 * was queued to (0: filtered, or every queue full), or -EINVAL for a
 * malformed frame (dropped and counted), -ENOENT for a bad port.
 */
int mq_switch_input(struct mq_switch *sw, int port, const uint8_t *frame, size_t len,
                    uint64_t now_ns);

/* The oldest frame queued to port, or NULL; *len gets its size. */
const uint8_t *mq_switch_port_peek(const struct mq_switch *sw, int port, size_t *len);
/* Drop the oldest frame queued to port (after it was sent). */
void mq_switch_port_pop(struct mq_switch *sw, int port);
unsigned mq_switch_port_queued(const struct mq_switch *sw, int port);

/* The port that mac was last seen on, or -1 (unknown or aged out). */
int mq_switch_mac_lookup(const struct mq_switch *sw, const uint8_t mac[6], uint64_t now_ns);
/* Forget entries older than the aging time and compact the table. */
void mq_switch_age(struct mq_switch *sw, uint64_t now_ns);
/* Live MAC table entries at now_ns. */
unsigned mq_switch_mac_count(const struct mq_switch *sw, uint64_t now_ns);

/* Counters of port; zeros for a bad port. */
struct mq_switch_port_stats mq_switch_port_stats(const struct mq_switch *sw, int port);

#endif
