/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: the only place a guest physical address becomes a host pointer.
 *
 * Every accessor takes (gpa, len) and either succeeds for all len bytes or
 * fails; the range check is written so it cannot overflow (STYLE.md §3).
 * Addresses and lengths are 64-bit, as wide as any guest field they carry.
 *
 * Code tracking: harts cache decoded instructions per physical page. A page
 * from which some hart decoded instructions is marked in code_map; any write
 * to a marked page (by a hart or by device DMA through these accessors)
 * clears the mark and bumps that page's generation in code_gen, which the
 * harts compare before reusing decoded instructions.
 */
#ifndef MQ_MEM_GUEST_MEM_H
#define MQ_MEM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

#define MQ_PAGE_SHIFT 12
#define MQ_PAGE_SIZE (1ull << MQ_PAGE_SHIFT)

struct mq_guest_mem {
    uint64_t base;    /* guest physical address of the first byte */
    uint64_t size;    /* bytes; a multiple of MQ_PAGE_SIZE */
    uint8_t *host;    /* host mapping of size bytes */
    uint8_t *code_map;  /* one byte per page, accessed atomically */
    uint32_t *code_gen; /* one counter per page, accessed atomically */
    unsigned code_users; /* harts that cache decoded code from this RAM (atomic) */
};

/* Map size bytes of zeroed RAM at guest address base. 0 or -errno. */
int mq_guest_mem_init(struct mq_guest_mem *gm, uint64_t base, uint64_t size);
void mq_guest_mem_destroy(struct mq_guest_mem *gm);

/* True when [gpa, gpa + len) is entirely RAM. */
static inline bool mq_guest_mem_contains(const struct mq_guest_mem *gm, uint64_t gpa,
                                         uint64_t len)
{
    return gpa >= gm->base && mq_range_ok(gpa - gm->base, len, gm->size);
}

/*
 * Host pointer to len bytes at gpa, or NULL when any byte is outside RAM.
 * For reading. Writers use mq_guest_mem_write() or call
 * mq_guest_mem_written() after writing through the pointer.
 */
static inline void *mq_guest_mem_ptr(const struct mq_guest_mem *gm, uint64_t gpa,
                                     uint64_t len)
{
    if (!mq_guest_mem_contains(gm, gpa, len))
        return NULL;
    return gm->host + (gpa - gm->base);
}

/*
 * Make all of RAM read as zero again (machine reset) without touching it:
 * the pages go back to the host. Harts must not be running.
 */
void mq_guest_mem_clear(struct mq_guest_mem *gm);

/* Copy out of / into guest RAM. 0, or -EFAULT when the range is not RAM. */
int mq_guest_mem_read(const struct mq_guest_mem *gm, uint64_t gpa, void *buf,
                      uint64_t len);
int mq_guest_mem_write(struct mq_guest_mem *gm, uint64_t gpa, const void *buf,
                       uint64_t len);

/* Tell the code tracker that [gpa, gpa + len) was written. */
void mq_guest_mem_written(struct mq_guest_mem *gm, uint64_t gpa, uint64_t len);

/* Slow path of the above for one page known to hold decoded code. */
void mq_guest_mem_code_page_written(struct mq_guest_mem *gm, uint64_t page_index);

static inline bool mq_guest_mem_page_has_code(const struct mq_guest_mem *gm,
                                              uint64_t page_index)
{
    return __atomic_load_n(&gm->code_map[page_index], __ATOMIC_RELAXED) != 0;
}

/* Mark a page as holding decoded code; returns its current generation. */
uint32_t mq_guest_mem_mark_code(struct mq_guest_mem *gm, uint64_t page_index);

/*
 * Harts register as users of the code tracker. With a single user every
 * write that could change decoded code is seen by the tracker in program
 * order; with several, a store that checked the mark just before another
 * hart marked the page may land after that hart decoded it, which only
 * that hart's fence.i repairs.
 */
static inline void mq_guest_mem_code_users_add(struct mq_guest_mem *gm, int delta)
{
    __atomic_fetch_add(&gm->code_users, (unsigned)delta, __ATOMIC_SEQ_CST);
}

static inline unsigned mq_guest_mem_code_users(const struct mq_guest_mem *gm)
{
    return __atomic_load_n(&gm->code_users, __ATOMIC_SEQ_CST);
}

static inline uint32_t mq_guest_mem_code_gen(const struct mq_guest_mem *gm,
                                             uint64_t page_index)
{
    return __atomic_load_n(&gm->code_gen[page_index], __ATOMIC_ACQUIRE);
}

#endif
