/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues seen from the device side: a hardened walker for
 * descriptor chains (direct and indirect), the used ring and notification
 * suppression (virtio 1.2 section 2.7, VIRTIO_F_INDIRECT_DESC 2.7.5.3,
 * VIRTIO_F_EVENT_IDX 2.7.7 and 2.7.10).
 *
 * Every guest field is read once into a local before it is checked and
 * used; every guest address goes through mem/guest_mem.h. A driver error
 * makes mq_virtq_pop() return a negative errno and marks the queue broken;
 * the transport then sets DEVICE_NEEDS_RESET. Nothing here aborts on guest
 * input.
 *
 * Threading: a struct mq_virtq is used by one thread at a time (the virtio
 * core serializes with a per-queue lock); the guest writes the rings
 * concurrently, which the memory barriers below account for.
 */
#ifndef MQ_VIRTIO_VIRTQUEUE_H
#define MQ_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "mem/guest_mem.h"

struct mq_state_writer;
struct mq_state_reader;

/* Largest split queue (virtio 1.2 section 2.7: Queue Size up to 32768). */
#define MQ_VIRTQ_MAX_SIZE 32768u

#define MQ_VIRTQ_DESC_F_NEXT 1u
#define MQ_VIRTQ_DESC_F_WRITE 2u
#define MQ_VIRTQ_DESC_F_INDIRECT 4u
#define MQ_VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define MQ_VIRTQ_USED_F_NO_NOTIFY 1u

/* Ring layout: bytes of each part for a queue of size entries. */
#define MQ_VIRTQ_DESC_BYTES(size) (16ull * (size))
#define MQ_VIRTQ_AVAIL_BYTES(size) (6ull + 2ull * (size))
#define MQ_VIRTQ_USED_BYTES(size) (6ull + 8ull * (size))

struct mq_virtq {
    uint32_t size;           /* entries, a power of two; 0: not set up */
    bool event_idx;          /* VIRTIO_F_EVENT_IDX negotiated */
    bool indirect;           /* VIRTIO_F_INDIRECT_DESC negotiated */
    bool broken;             /* a driver error was seen; pops fail until reset */
    uint64_t desc_gpa;
    uint64_t avail_gpa;      /* "driver area" */
    uint64_t used_gpa;       /* "device area" */
    uint16_t last_avail_idx; /* next avail ring entry to pop */
    uint16_t used_idx;       /* next used ring entry to fill */
    uint16_t signalled_used; /* used_idx at the last notification decision */
    bool signalled_used_valid;
};

/* One buffer of a chain: a guest range the device reads or writes. */
struct mq_virtq_seg {
    uint64_t gpa;
    uint32_t len;
    bool write;              /* device-writable */
};

/*
 * A popped chain. The caller provides segs and cap; pop fills the rest.
 * Readable segments come first (nread of them), writable ones after.
 */
struct mq_virtq_chain {
    struct mq_virtq_seg *segs;
    unsigned cap;
    unsigned nsegs;
    unsigned nread;
    uint16_t head;           /* give back to mq_virtq_push() */
    uint32_t read_len;       /* total bytes of the readable segments */
    uint32_t write_len;      /* total bytes of the writable segments */
};

/*
 * Set up q for the rings the driver configured. Checks that size is a
 * power of two in [1, MQ_VIRTQ_MAX_SIZE], that the rings are aligned as
 * virtio 1.2 section 2.7 requires (16, 2, 4) and that they lie in RAM.
 * 0, -EINVAL (size or alignment) or -EFAULT (outside RAM); q is left
 * reset on failure.
 */
int mq_virtq_setup(struct mq_virtq *q, const struct mq_guest_mem *gm, uint32_t size,
                   uint64_t desc_gpa, uint64_t avail_gpa, uint64_t used_gpa,
                   bool event_idx, bool indirect);

/* Forget everything (device reset, queue disabled). */
void mq_virtq_reset(struct mq_virtq *q);

/*
 * Pop the next available chain into chain. Returns 1 when a chain was
 * popped, 0 when the ring is empty, or a driver error (q becomes broken):
 *   -EBADMSG   avail idx ahead of last_avail_idx by more than the size
 *   -ERANGE    head or next index >= the size of its table
 *   -ELOOP     chain longer than its table (a loop)
 *   -EINVAL    bad indirect descriptor: feature not negotiated, nested,
 *              with NEXT set, length zero or not a multiple of 16
 *   -EPROTO    a readable descriptor after a writable one
 *   -EFAULT    a ring, table or buffer outside guest RAM
 *   -EOVERFLOW total readable or writable length above 4 GiB - 1
 *   -ENOBUFS   more segments than chain->cap
 *   -EIO       the queue was already broken
 * When q was set up with event_idx, publishes avail_event so the driver
 * kicks for the next buffer, and rechecks the ring when it looked empty.
 */
int mq_virtq_pop(struct mq_virtq *q, struct mq_guest_mem *gm, struct mq_virtq_chain *chain);

/*
 * Return chain head to the driver with written bytes written into its
 * writable buffers. 0, -ERANGE (head >= size) or -EFAULT.
 */
int mq_virtq_push(struct mq_virtq *q, struct mq_guest_mem *gm, uint16_t head,
                  uint32_t written);

/*
 * After pushes: should the driver be interrupted? Implements
 * VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event when event_idx is on. Each call
 * records the used index it decided for.
 */
bool mq_virtq_should_notify(struct mq_virtq *q, struct mq_guest_mem *gm);

/*
 * Copy len bytes from the chain's readable bytes starting at byte off into
 * buf, or buf into its writable bytes at off. 0, -ERANGE when the chain
 * has fewer bytes than off + len in that direction, -EFAULT.
 */
int mq_virtq_chain_read(const struct mq_guest_mem *gm, const struct mq_virtq_chain *c,
                        uint64_t off, void *buf, uint64_t len);
int mq_virtq_chain_write(struct mq_guest_mem *gm, const struct mq_virtq_chain *c,
                         uint64_t off, const void *buf, uint64_t len);

/* Chains popped and not yet pushed back. */
static inline uint16_t mq_virtq_in_flight(const struct mq_virtq *q)
{
    return (uint16_t)(q->last_avail_idx - q->used_idx);
}

/*
 * Snapshot support. mq_virtq_save() appends q's ring addresses, flags and
 * indexes as fields of the open section; the caller holds the queue lock
 * and decides what requests in flight mean (mq_virtq_in_flight()).
 * mq_virtq_load() reads them back into q, re-validating the rings exactly
 * as mq_virtq_setup() validates a driver's setup against gm, and refusing
 * more chains in flight than the queue holds. On error (recorded in r,
 * also returned) q is left untouched. The caller holds the queue lock.
 */
void mq_virtq_save(const struct mq_virtq *q, struct mq_state_writer *w);
int mq_virtq_load(struct mq_virtq *q, const struct mq_guest_mem *gm, struct mq_state_reader *r);

#endif
