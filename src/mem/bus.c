/* SPDX-License-Identifier: MIT */
/* Physical address dispatch: RAM fast path, device regions, access fix-ups. */
#include "mem/bus.h"

#include <errno.h>
#include <string.h>

#include "util/le.h"

void mq_bus_init(struct mq_bus *bus, struct mq_guest_mem *ram)
{
    memset(bus, 0, sizeof(*bus));
    bus->ram = ram;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

int mq_bus_add(struct mq_bus *bus, uint64_t base, uint64_t size,
               const struct mq_dev_ops *ops, void *dev)
{
    if (size == 0 || base + size < base || !ops)
        return -EINVAL;
    if (bus->nregions >= MQ_BUS_MAX_REGIONS)
        return -ENOSPC;
    if (bus->ram && ranges_overlap(base, size, bus->ram->base, bus->ram->size))
        return -EEXIST;
    for (unsigned i = 0; i < bus->nregions; i++) {
        if (ranges_overlap(base, size, bus->regions[i].base, bus->regions[i].size))
            return -EEXIST;
    }
    bus->regions[bus->nregions++] = (struct mq_bus_region){
        .base = base, .size = size, .ops = ops, .dev = dev};
    return 0;
}

const struct mq_bus_region *mq_bus_find(const struct mq_bus *bus, uint64_t addr)
{
    for (unsigned i = 0; i < bus->nregions; i++) {
        const struct mq_bus_region *r = &bus->regions[i];
        if (addr >= r->base && addr - r->base < r->size)
            return r;
    }
    return NULL;
}

static unsigned min_size(const struct mq_dev_ops *ops)
{
    return ops->min_access ? ops->min_access : 1;
}

static unsigned max_size(const struct mq_dev_ops *ops)
{
    return ops->max_access ? ops->max_access : 8;
}

static int dev_read(const struct mq_bus_region *r, uint64_t off, unsigned size,
                    uint64_t *val)
{
    unsigned lo = min_size(r->ops), hi = max_size(r->ops);
    int ret;

    if (!r->ops->read)
        return -EFAULT;
    if (size > hi) {
        /* Split into little-endian pieces of the widest legal size. */
        uint64_t result = 0;
        for (unsigned done = 0; done < size; done += hi) {
            uint64_t part;
            ret = dev_read(r, off + done, hi, &part);
            if (ret)
                return ret;
            result |= part << (done * 8);
        }
        *val = result;
        return 0;
    }
    if (size < lo) {
        uint64_t wide, aligned = off & ~(uint64_t)(lo - 1);
        ret = r->ops->read(r->dev, aligned, lo, &wide);
        if (ret)
            return ret;
        wide >>= (off - aligned) * 8;
        *val = size == 8 ? wide : wide & ((1ull << (size * 8)) - 1);
        return 0;
    }
    ret = r->ops->read(r->dev, off, size, val);
    if (!ret && size < 8)
        *val &= (1ull << (size * 8)) - 1;
    return ret;
}

static int dev_write(const struct mq_bus_region *r, uint64_t off, unsigned size,
                     uint64_t val)
{
    unsigned lo = min_size(r->ops), hi = max_size(r->ops);
    int ret;

    if (!r->ops->write)
        return -EFAULT;
    if (size > hi) {
        for (unsigned done = 0; done < size; done += hi) {
            ret = dev_write(r, off + done, hi, val >> (done * 8));
            if (ret)
                return ret;
        }
        return 0;
    }
    if (size < lo) {
        uint64_t wide, aligned = off & ~(uint64_t)(lo - 1);
        unsigned shift = (unsigned)(off - aligned) * 8;
        uint64_t mask = ((1ull << (size * 8)) - 1) << shift;
        if (!r->ops->read)
            return -EFAULT;
        ret = r->ops->read(r->dev, aligned, lo, &wide);
        if (ret)
            return ret;
        wide = (wide & ~mask) | ((val << shift) & mask);
        return r->ops->write(r->dev, aligned, lo, wide);
    }
    if (size < 8)
        val &= (1ull << (size * 8)) - 1;
    return r->ops->write(r->dev, off, size, val);
}

static const struct mq_bus_region *find_dev(const struct mq_bus *bus, uint64_t addr,
                                            unsigned size, uint64_t *off)
{
    const struct mq_bus_region *r = mq_bus_find(bus, addr);

    if (!r || (size & (size - 1)) || size > 8 || (addr & (size - 1)))
        return NULL;
    *off = addr - r->base;
    if (!mq_range_ok(*off, size, r->size))
        return NULL;
    return r;
}

/*
 * Aligned RAM accesses of 1/2/4/8 bytes are single-copy atomic, as on real
 * hardware: harts on other threads may access the same word (relaxed
 * atomics compile to plain loads/stores on the hosts we target).
 */
static bool ram_atomic_read(struct mq_bus *bus, uint64_t addr, unsigned size, uint64_t *val)
{
    void *p;

    if (!bus->ram || (addr & (size - 1)) || size > 8 || (size & (size - 1)))
        return false;
    p = mq_guest_mem_ptr(bus->ram, addr, size);
    if (!p)
        return false;
    switch (size) {
    case 1: *val = __atomic_load_n((uint8_t *)p, __ATOMIC_RELAXED); break;
    case 2: *val = __atomic_load_n((uint16_t *)p, __ATOMIC_RELAXED); break;
    case 4: *val = __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED); break;
    default: *val = __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED); break;
    }
    return true;
}

static bool ram_atomic_write(struct mq_bus *bus, uint64_t addr, unsigned size, uint64_t val)
{
    void *p;

    if (!bus->ram || (addr & (size - 1)) || size > 8 || (size & (size - 1)))
        return false;
    p = mq_guest_mem_ptr(bus->ram, addr, size);
    if (!p)
        return false;
    switch (size) {
    case 1: __atomic_store_n((uint8_t *)p, (uint8_t)val, __ATOMIC_RELAXED); break;
    case 2: __atomic_store_n((uint16_t *)p, (uint16_t)val, __ATOMIC_RELAXED); break;
    case 4: __atomic_store_n((uint32_t *)p, (uint32_t)val, __ATOMIC_RELAXED); break;
    default: __atomic_store_n((uint64_t *)p, val, __ATOMIC_RELAXED); break;
    }
    mq_guest_mem_written(bus->ram, addr, size);
    return true;
}

int mq_bus_read(struct mq_bus *bus, uint64_t addr, unsigned size, uint64_t *val)
{
    const struct mq_bus_region *r;
    uint64_t off;
    uint8_t buf[8] = {0};

    if (ram_atomic_read(bus, addr, size, val))
        return 0;
    if (bus->ram && mq_guest_mem_read(bus->ram, addr, buf, size) == 0) {
        *val = mq_get_le64(buf);
        return 0;
    }
    r = find_dev(bus, addr, size, &off);
    if (!r)
        return -EFAULT;
    return dev_read(r, off, size, val) ? -EFAULT : 0;
}

int mq_bus_write(struct mq_bus *bus, uint64_t addr, unsigned size, uint64_t val)
{
    const struct mq_bus_region *r;
    uint64_t off;
    uint8_t buf[8];

    if (size > 8)
        return -EFAULT;
    if (ram_atomic_write(bus, addr, size, val))
        return 0;
    mq_put_le64(buf, val);
    if (bus->ram && mq_guest_mem_write(bus->ram, addr, buf, size) == 0)
        return 0;
    r = find_dev(bus, addr, size, &off);
    if (!r)
        return -EFAULT;
    return dev_write(r, off, size, val) ? -EFAULT : 0;
}

void mq_bus_reset_devices(struct mq_bus *bus)
{
    for (unsigned i = 0; i < bus->nregions; i++) {
        if (bus->regions[i].ops->reset)
            bus->regions[i].ops->reset(bus->regions[i].dev);
    }
}

void mq_bus_destroy_devices(struct mq_bus *bus)
{
    for (unsigned i = 0; i < bus->nregions; i++) {
        if (bus->regions[i].ops->destroy)
            bus->regions[i].ops->destroy(bus->regions[i].dev);
    }
    bus->nregions = 0;
}
