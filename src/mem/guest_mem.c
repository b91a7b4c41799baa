/* SPDX-License-Identifier: MIT */
/* Guest RAM mapping, bounds-checked copies and code-page tracking. */
#include "mem/guest_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

/*
 * Guard bytes mapped PROT_NONE on each side of RAM: an access that escapes
 * guest RAM through a checking bug faults at once instead of reading or
 * corrupting a neighbouring host mapping.
 */
#define GUARD_SIZE (2ull << 20)

static void *map_ram(uint64_t size)
{
    uint8_t *p = mmap(NULL, size + 2 * GUARD_SIZE, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (p == MAP_FAILED)
        return NULL;
    if (mprotect(p + GUARD_SIZE, size, PROT_READ | PROT_WRITE) != 0) {
        munmap(p, size + 2 * GUARD_SIZE);
        return NULL;
    }
    return p + GUARD_SIZE;
}

static void *map_anon(uint64_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int mq_guest_mem_init(struct mq_guest_mem *gm, uint64_t base, uint64_t size)
{
    uint64_t pages;

    memset(gm, 0, sizeof(*gm));
    if (size == 0 || size % MQ_PAGE_SIZE || base % MQ_PAGE_SIZE || base + size < base)
        return -EINVAL;
    pages = size >> MQ_PAGE_SHIFT;
    gm->host = map_ram(size);
    gm->code_map = map_anon(pages);
    gm->code_gen = map_anon(pages * sizeof(uint32_t));
    if (!gm->host || !gm->code_map || !gm->code_gen) {
        int err = errno ? -errno : -ENOMEM;
        gm->size = size;
        mq_guest_mem_destroy(gm);
        return err;
    }
    gm->base = base;
    gm->size = size;
    return 0;
}

void mq_guest_mem_destroy(struct mq_guest_mem *gm)
{
    uint64_t pages = gm->size >> MQ_PAGE_SHIFT;

    if (gm->host)
        munmap(gm->host - GUARD_SIZE, gm->size + 2 * GUARD_SIZE);
    if (gm->code_map)
        munmap(gm->code_map, pages);
    if (gm->code_gen)
        munmap(gm->code_gen, pages * sizeof(uint32_t));
    memset(gm, 0, sizeof(*gm));
}

void mq_guest_mem_clear(struct mq_guest_mem *gm)
{
    /* Private anonymous memory reads as zero after MADV_DONTNEED. */
    if (madvise(gm->host, gm->size, MADV_DONTNEED) != 0)
        memset(gm->host, 0, gm->size);
    mq_guest_mem_written(gm, gm->base, gm->size);
}

int mq_guest_mem_read(const struct mq_guest_mem *gm, uint64_t gpa, void *buf,
                      uint64_t len)
{
    const void *src = mq_guest_mem_ptr(gm, gpa, len);

    if (!src)
        return -EFAULT;
    memcpy(buf, src, len);
    return 0;
}

int mq_guest_mem_write(struct mq_guest_mem *gm, uint64_t gpa, const void *buf,
                       uint64_t len)
{
    void *dst = mq_guest_mem_ptr(gm, gpa, len);

    if (!dst)
        return -EFAULT;
    memcpy(dst, buf, len);
    mq_guest_mem_written(gm, gpa, len);
    return 0;
}

void mq_guest_mem_code_page_written(struct mq_guest_mem *gm, uint64_t page_index)
{
    __atomic_store_n(&gm->code_map[page_index], 0, __ATOMIC_RELAXED);
    __atomic_fetch_add(&gm->code_gen[page_index], 1, __ATOMIC_RELEASE);
}

void mq_guest_mem_written(struct mq_guest_mem *gm, uint64_t gpa, uint64_t len)
{
    uint64_t first, last;

    if (len == 0 || !mq_guest_mem_contains(gm, gpa, len))
        return;
    first = (gpa - gm->base) >> MQ_PAGE_SHIFT;
    last = (gpa - gm->base + len - 1) >> MQ_PAGE_SHIFT;
    for (uint64_t p = first; p <= last; p++) {
        if (mq_guest_mem_page_has_code(gm, p))
            mq_guest_mem_code_page_written(gm, p);
    }
}

uint32_t mq_guest_mem_mark_code(struct mq_guest_mem *gm, uint64_t page_index)
{
    __atomic_store_n(&gm->code_map[page_index], 1, __ATOMIC_SEQ_CST);
    return mq_guest_mem_code_gen(gm, page_index);
}
