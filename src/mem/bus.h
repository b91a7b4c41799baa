/* SPDX-License-Identifier: MIT */
/*
 * The physical address bus: RAM plus memory-mapped devices. The board fills
 * it in; harts and DMA-capable devices read and write through it without
 * knowing which devices exist.
 *
 * Each device is a small ops table (STYLE.md §2). The bus checks the access
 * width and alignment before calling a device, so handlers only ever see
 * accesses of a size in [min_access, max_access], naturally aligned, fully
 * inside the region: wider accesses are split, narrower ones are widened
 * (read-modify-write for stores), misaligned ones fail with an access fault.
 */
#ifndef MQ_MEM_BUS_H
#define MQ_MEM_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "mem/guest_mem.h"

struct mq_state_writer;
struct mq_state_reader;

struct mq_dev_ops {
    const char *name;
    /* Legal access sizes in bytes (1, 2, 4 or 8); 0 means 1 and 8. */
    uint8_t min_access;
    uint8_t max_access;
    /*
     * off is relative to the region base. Return 0, or a negative errno to
     * make the access fault (the hart raises an access-fault exception).
     * Called from hart threads, possibly several at once: devices lock.
     */
    int (*read)(void *dev, uint64_t off, unsigned size, uint64_t *val);
    int (*write)(void *dev, uint64_t off, unsigned size, uint64_t val);
    /* Back to power-on state (machine reset). Optional. */
    void (*reset)(void *dev);
    /* Machine-state snapshot support. Optional until snapshots need them. */
    int (*save)(void *dev, struct mq_state_writer *w);
    int (*load)(void *dev, struct mq_state_reader *r);
    /* Free the device. Optional. */
    void (*destroy)(void *dev);
};

struct mq_bus_region {
    uint64_t base;
    uint64_t size;
    const struct mq_dev_ops *ops;
    void *dev;
};

#define MQ_BUS_MAX_REGIONS 64

struct mq_bus {
    struct mq_guest_mem *ram;
    unsigned nregions;
    struct mq_bus_region regions[MQ_BUS_MAX_REGIONS];
};

void mq_bus_init(struct mq_bus *bus, struct mq_guest_mem *ram);

/*
 * Map a device at [base, base + size). -EEXIST when it overlaps RAM or
 * another region, -ENOSPC when the bus is full, -EINVAL for a bad range.
 */
int mq_bus_add(struct mq_bus *bus, uint64_t base, uint64_t size,
               const struct mq_dev_ops *ops, void *dev);

/* The region holding addr, or NULL. */
const struct mq_bus_region *mq_bus_find(const struct mq_bus *bus, uint64_t addr);

/*
 * Read or write size (1, 2, 4, 8) bytes at a physical address, RAM or
 * device. 0, or -EFAULT when nothing answers there or the device refused.
 */
int mq_bus_read(struct mq_bus *bus, uint64_t addr, unsigned size, uint64_t *val);
int mq_bus_write(struct mq_bus *bus, uint64_t addr, unsigned size, uint64_t val);

/* Call every device's reset. */
void mq_bus_reset_devices(struct mq_bus *bus);

/* Call every device's destroy and empty the bus. */
void mq_bus_destroy_devices(struct mq_bus *bus);

#endif
