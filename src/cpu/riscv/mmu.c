/* SPDX-License-Identifier: MIT */
/*
 * Virtual memory (privileged spec 4.3-4.5: Sv39 and Sv48 page walks with
 * superpages, A/D updates, permission rules, MPRV/SUM/MXR), the software
 * TLB, the slow paths of loads and stores (MMIO, page-crossing accesses)
 * and instruction fetch into the decoded-instruction cache.
 */
#include <stdlib.h>

#include "cpu/riscv/exec.h"
#include "util/le.h"

#define PTE_V (1u << 0)
#define PTE_R (1u << 1)
#define PTE_W (1u << 2)
#define PTE_X (1u << 3)
#define PTE_U (1u << 4)
#define PTE_A (1u << 6)
#define PTE_D (1u << 7)
/* Bits 54-63: reserved (N, PBMT, bits 54-60) must be zero here. */
#define PTE_RESERVED (0x3ffull << 54)

unsigned rv_data_priv(const struct rv_hart *h)
{
    if (h->priv == RV_PRIV_M && (h->mstatus & MSTATUS_MPRV))
        return (unsigned)((h->mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
    return h->priv;
}

void rv_tlb_flush(struct rv_hart *h)
{
    memset(h->tlb_r, 0xff, sizeof(h->tlb_r));
    memset(h->tlb_w, 0xff, sizeof(h->tlb_w));
    memset(h->tlb_x, 0xff, sizeof(h->tlb_x));
    rv_invalidate_fetch(h);
}

void rv_tlb_flush_page(struct rv_hart *h, uint64_t va)
{
    /* Superpage entries are cached per 4 KiB page, so one slot per array. */
    unsigned i = rv_tlb_index(va);

    h->tlb_r[i].tag = RV_TLB_INVALID;
    h->tlb_w[i].tag = RV_TLB_INVALID;
    h->tlb_x[i].tag = RV_TLB_INVALID;
    rv_invalidate_fetch(h);
}

static int fault_cause(enum rv_access acc, bool page_fault)
{
    static const int page[] = {RV_EXC_LOAD_PAGE, RV_EXC_STORE_PAGE, RV_EXC_INSN_PAGE};
    static const int access[] = {RV_EXC_LOAD_ACCESS, RV_EXC_STORE_ACCESS, RV_EXC_INSN_ACCESS};

    return page_fault ? page[acc] : access[acc];
}

static bool leaf_permits(const struct rv_hart *h, uint64_t pte, enum rv_access acc,
                         unsigned priv)
{
    bool mxr = h->mstatus & MSTATUS_MXR;

    if (pte & PTE_U) {
        /* S may touch U pages only for data, and only with SUM. */
        if (priv == RV_PRIV_S && (acc == RV_ACC_EXEC || !(h->mstatus & MSTATUS_SUM)))
            return false;
    } else if (priv == RV_PRIV_U) {
        return false;
    }
    switch (acc) {
    case RV_ACC_READ: return (pte & PTE_R) || (mxr && (pte & PTE_X));
    case RV_ACC_WRITE: return pte & PTE_W;
    default: return pte & PTE_X;
    }
}

/* Set A (and D for writes) atomically; another hart may be changing the PTE. */
static int update_ad(struct rv_hart *h, uint64_t pte_pa, uint64_t *pte, enum rv_access acc)
{
    uint64_t want = *pte | PTE_A | (acc == RV_ACC_WRITE ? PTE_D : 0);
    uint64_t *p;

    if (want == *pte)
        return 0;
    p = mq_guest_mem_ptr(h->ram, pte_pa, 8);
    if (!p || (pte_pa & 7))
        return -1;
    if (!__atomic_compare_exchange_n(p, pte, want, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        return 1; /* changed under us: walk again */
    mq_guest_mem_written(h->ram, pte_pa, 8);
    *pte = want;
    return 0;
}

static int walk(struct rv_hart *h, uint64_t va, enum rv_access acc, unsigned priv,
                uint64_t *pa)
{
    unsigned mode = (unsigned)(h->satp >> 60);
    unsigned levels = mode == 9 ? 4 : 3;
    unsigned va_bits = 12 + 9 * levels;
    uint64_t base = (h->satp & ((1ull << 44) - 1)) << 12;

    /* The virtual address must be the sign extension of its top bit. */
    if ((uint64_t)((int64_t)(va << (64 - va_bits)) >> (64 - va_bits)) != va)
        return fault_cause(acc, true);

    for (int level = (int)levels - 1; level >= 0; level--) {
        unsigned shift = 12 + 9 * (unsigned)level;
        uint64_t pte_pa = base + ((va >> shift) & 511) * 8;
        uint64_t pte;
        const uint64_t *p;

        if (!rv_pmp_check(h, pte_pa, 8, RV_ACC_READ, RV_PRIV_S))
            return fault_cause(acc, false);
        p = mq_guest_mem_ptr(h->ram, pte_pa, 8);
        if (!p)
            return fault_cause(acc, false);
        pte = __atomic_load_n(p, __ATOMIC_ACQUIRE);
    retry:
        if (!(pte & PTE_V) || (!(pte & PTE_R) && (pte & PTE_W)) || (pte & PTE_RESERVED))
            return fault_cause(acc, true);
        if (!(pte & (PTE_R | PTE_X))) {
            /* Pointer to the next level; D, A and U are reserved here. */
            if (level == 0 || (pte & (PTE_D | PTE_A | PTE_U)))
                return fault_cause(acc, true);
            base = ((pte >> 10) & ((1ull << 44) - 1)) << 12;
            continue;
        }
        if (!leaf_permits(h, pte, acc, priv))
            return fault_cause(acc, true);
        uint64_t ppn = (pte >> 10) & ((1ull << 44) - 1);
        uint64_t low_mask = (1ull << (9 * (unsigned)level)) - 1;
        if (ppn & low_mask) /* misaligned superpage */
            return fault_cause(acc, true);
        int r = update_ad(h, pte_pa, &pte, acc);
        if (r > 0)
            goto retry;
        if (r < 0)
            return fault_cause(acc, false);
        *pa = ((ppn | ((va >> 12) & low_mask)) << 12) | (va & 0xfff);
        return 0;
    }
    return fault_cause(acc, true);
}

int rv_translate(struct rv_hart *h, uint64_t va, enum rv_access acc, unsigned priv,
                 uint64_t *pa)
{
    if (priv == RV_PRIV_M || (h->satp >> 60) == 0) {
        *pa = va;
        return 0;
    }
    return walk(h, va, acc, priv, pa);
}

/*
 * Translate and PMP-check one access that stays inside a page. On success
 * also fills the TLB when the page is RAM with uniform PMP permissions.
 */
static int access_page(struct rv_hart *h, uint64_t va, unsigned size, enum rv_access acc,
                       uint64_t *pa)
{
    unsigned priv = acc == RV_ACC_EXEC ? h->priv : rv_data_priv(h);
    int cause = rv_translate(h, va, acc, priv, pa);
    struct rv_tlb_entry *e;
    uint64_t page_pa;

    if (cause)
        return cause;
    if (!rv_pmp_check(h, *pa, size, acc, priv))
        return fault_cause(acc, false);
    page_pa = *pa & ~0xfffull;
    if (!mq_guest_mem_contains(h->ram, page_pa, 4096) ||
        !rv_pmp_page_uniform(h, page_pa, acc, priv))
        return 0;
    e = acc == RV_ACC_READ ? &h->tlb_r[rv_tlb_index(va)]
        : acc == RV_ACC_WRITE ? &h->tlb_w[rv_tlb_index(va)]
                              : &h->tlb_x[rv_tlb_index(va)];
    e->tag = (va & ~0xfffull) | (acc == RV_ACC_EXEC ? h->fetch_key : h->data_key);
    e->addend = (uintptr_t)(h->ram->host + (page_pa - h->ram->base)) - (va & ~0xfffull);
    return 0;
}

static bool load_one(struct rv_hart *h, uint64_t va, unsigned size, uint64_t *val)
{
    uint64_t pa;
    int cause = access_page(h, va, size, RV_ACC_READ, &pa);

    if (!cause && mq_bus_read(h->bus, pa, size, val) == 0)
        return true;
    rv_raise(h, cause ? (uint64_t)cause : RV_EXC_LOAD_ACCESS, va);
    return false;
}

static bool store_one(struct rv_hart *h, uint64_t va, unsigned size, uint64_t val)
{
    uint64_t pa;
    int cause = access_page(h, va, size, RV_ACC_WRITE, &pa);

    if (!cause && mq_bus_write(h->bus, pa, size, val) == 0) {
        /* A store to our own current code page must be seen by the next fetch. */
        rv_invalidate_fetch(h);
        return true;
    }
    rv_raise(h, cause ? (uint64_t)cause : RV_EXC_STORE_ACCESS, va);
    return false;
}

/*
 * Misaligned accesses are performed, not trapped. One that crosses a page
 * is split into bytes so each page is translated and checked; a store
 * checks both pages before writing anything.
 */
bool rv_load_slow(struct rv_hart *h, uint64_t va, unsigned size, uint64_t *val)
{
    uint64_t v = 0, b;

    if ((va & 0xfff) + size <= 4096 && (va & (size - 1)) == 0)
        return load_one(h, va, size, val);
    if ((va & 0xfff) + size <= 4096) {
        uint64_t pa;
        int cause = access_page(h, va, size, RV_ACC_READ, &pa);
        if (!cause && mq_guest_mem_contains(h->ram, pa, size)) {
            mq_guest_mem_read(h->ram, pa, &v, size);
            *val = v;
            return true;
        }
    }
    for (unsigned i = 0; i < size; i++) {
        if (!load_one(h, va + i, 1, &b))
            return false;
        v |= b << (8 * i);
    }
    *val = v;
    return true;
}

bool rv_store_slow(struct rv_hart *h, uint64_t va, unsigned size, uint64_t val)
{
    uint64_t pa, pa2;
    int cause;

    if ((va & 0xfff) + size <= 4096 && (va & (size - 1)) == 0)
        return store_one(h, va, size, val);
    if ((va & 0xfff) + size <= 4096) {
        cause = access_page(h, va, size, RV_ACC_WRITE, &pa);
        if (!cause && mq_guest_mem_contains(h->ram, pa, size)) {
            mq_guest_mem_write(h->ram, pa, &val, size);
            rv_invalidate_fetch(h);
            return true;
        }
    } else {
        /* Probe both pages first so a fault leaves memory untouched. */
        uint64_t second = (va | 0xfff) + 1;
        cause = access_page(h, va, 1, RV_ACC_WRITE, &pa);
        if (cause) {
            rv_raise(h, (uint64_t)cause, va);
            return false;
        }
        cause = access_page(h, second, 1, RV_ACC_WRITE, &pa2);
        if (cause) {
            rv_raise(h, (uint64_t)cause, second);
            return false;
        }
    }
    for (unsigned i = 0; i < size; i++) {
        if (!store_one(h, va + i, 1, val >> (8 * i)))
            return false;
    }
    return true;
}

void *rv_amo_ptr(struct rv_hart *h, uint64_t va, unsigned size, bool write_needed,
                 uint64_t *pa)
{
    enum rv_access acc = write_needed ? RV_ACC_WRITE : RV_ACC_READ;
    int cause;
    void *p;

    if (va & (size - 1)) {
        rv_raise(h, write_needed ? RV_EXC_STORE_MISALIGNED : RV_EXC_LOAD_MISALIGNED, va);
        return NULL;
    }
    cause = access_page(h, va, size, acc, pa);
    /* AMOs need read and write permission; PMP read is checked too. */
    if (!cause && write_needed && !rv_pmp_check(h, *pa, size, RV_ACC_READ, rv_data_priv(h)))
        cause = RV_EXC_STORE_ACCESS;
    if (cause) {
        rv_raise(h, (uint64_t)cause, va);
        return NULL;
    }
    p = mq_guest_mem_ptr(h->ram, *pa, size);
    if (!p) {
        /* Atomics are not supported on device memory (PMA): access fault. */
        rv_raise(h, write_needed ? RV_EXC_STORE_ACCESS : RV_EXC_LOAD_ACCESS, va);
        return NULL;
    }
    if (write_needed)
        rv_invalidate_fetch(h);
    return p;
}

/* ---- instruction fetch and the decoded-instruction cache ---- */

void rv_dcache_flush(struct rv_hart *h)
{
    for (unsigned i = 0; i < RV_DCACHE_PAGES; i++)
        h->dtag[i].valid = false;
    rv_invalidate_fetch(h);
}

/* Forget every decoded slot of d (only those marked used). */
static void dpage_clear(struct rv_dpage *d)
{
    for (unsigned w = 0; w < RV_DPAGE_SLOTS / 64; w++) {
        uint64_t bits = d->used[w];
        while (bits) {
            unsigned b = (unsigned)__builtin_ctzll(bits);
            bits &= bits - 1;
            d->slot[w * 64 + b].fn = NULL;
            d->slot[w * 64 + b].op = RV_OP_DECODE;
        }
        d->used[w] = 0;
    }
}

static struct rv_dpage *dcache_get(struct rv_hart *h, uint64_t page_index)
{
    unsigned i = (unsigned)(page_index % RV_DCACHE_PAGES);
    struct rv_dtag *t = &h->dtag[i];
    struct rv_dpage *d = &h->dcache[i];

    if (t->valid && t->page_index == page_index &&
        t->gen == mq_guest_mem_code_gen(h->ram, page_index))
        return d;
    dpage_clear(d);
    d->slot[RV_DPAGE_SLOTS].op = RV_OP_PAGE_END;
    /* Mark first, then read the generation: a racing write bumps it after. */
    t->gen = mq_guest_mem_mark_code(h->ram, page_index);
    t->page_index = page_index;
    t->valid = true;
    return d;
}

/* Translate pc's page for execution; on RAM, attach its decoded page. */
bool rv_fetch_page(struct rv_hart *h, uint64_t pc)
{
    const struct rv_tlb_entry *e = &h->tlb_x[rv_tlb_index(pc)];
    uint64_t page_pa;
    struct rv_dpage *d;

    if (e->tag != ((pc & ~0xfffull) | h->fetch_key)) {
        uint64_t pa;
        int cause = access_page(h, pc, 2, RV_ACC_EXEC, &pa);
        if (cause) {
            rv_raise(h, (uint64_t)cause, pc);
            return false;
        }
        if (e->tag != ((pc & ~0xfffull) | h->fetch_key)) {
            /* Executable but not cacheable (boot ROM, PMP-split page). */
            h->fetch_vpage = RV_TLB_INVALID;
            h->fetch_dpage = NULL;
            return true;
        }
    }
    page_pa = (uint64_t)((uint8_t *)(uintptr_t)((pc & ~0xfffull) + e->addend) - h->ram->host);
    d = dcache_get(h, page_pa >> MQ_PAGE_SHIFT);
    h->fetch_page_index = page_pa >> MQ_PAGE_SHIFT;
    h->fetch_vpage = pc & ~0xfffull;
    h->fetch_dpage = d;
    return true;
}

bool rv_fetch16(struct rv_hart *h, uint64_t va, uint16_t *val)
{
    uint64_t pa, v;
    int cause = access_page(h, va, 2, RV_ACC_EXEC, &pa);

    if (cause) {
        rv_raise(h, (uint64_t)cause, va);
        return false;
    }
    if (mq_bus_read(h->bus, pa, 2, &v) != 0) {
        rv_raise(h, RV_EXC_INSN_ACCESS, va);
        return false;
    }
    *val = (uint16_t)v;
    return true;
}
