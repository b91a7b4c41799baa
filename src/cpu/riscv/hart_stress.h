/* SPDX-License-Identifier: MIT */
/*
 * A small fake board and a random machine-state generator shared by the
 * random-instruction test and the hart fuzz target: RAM with guard pages,
 * one MMIO register block, and a hart put into a random privilege mode,
 * paging mode, PMP and CSR state before running random instruction words.
 * Test scaffolding only: not part of the hart library.
 */
#ifndef MQ_CPU_RISCV_HART_STRESS_H
#define MQ_CPU_RISCV_HART_STRESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/riscv/hart_internal.h"
#include "util/le.h"

#define STRESS_RAM_BASE 0x80000000ull
#define STRESS_RAM_SIZE (2ull << 20)
#define STRESS_CODE_SIZE 0x40000ull      /* random instructions live here */
#define STRESS_PT_OFFSET 0x100000ull     /* page tables */
#define STRESS_MMIO_BASE 0x10000000ull

struct stress_rng {
    uint64_t s;
};

/* splitmix64: small, deterministic, good enough to spread bits. */
static inline uint64_t stress_next(struct stress_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

struct stress_mmio {
    uint64_t regs[64];
};

static inline int stress_mmio_read(void *dev, uint64_t off, unsigned size, uint64_t *val)
{
    struct stress_mmio *m = dev;
    *val = m->regs[(off / 8) % 64];
    return (off & 0x800) ? -1 : 0; /* the upper half faults */
}

static inline int stress_mmio_write(void *dev, uint64_t off, unsigned size, uint64_t val)
{
    struct stress_mmio *m = dev;
    m->regs[(off / 8) % 64] = val;
    return 0;
}

static const struct mq_dev_ops stress_mmio_ops = {
    .name = "stress-mmio",
    .min_access = 4,
    .max_access = 8,
    .read = stress_mmio_read,
    .write = stress_mmio_write,
};

struct stress_board {
    struct mq_guest_mem ram;
    struct mq_bus bus;
    struct mq_timebase tb;
    struct stress_mmio mmio;
    struct rv_hart *hart;
};

static inline int stress_board_init(struct stress_board *b)
{
    struct rv_hart_config hc = {0};

    memset(b, 0, sizeof(*b));
    if (mq_guest_mem_init(&b->ram, STRESS_RAM_BASE, STRESS_RAM_SIZE) != 0)
        return -1;
    mq_bus_init(&b->bus, &b->ram);
    if (mq_bus_add(&b->bus, STRESS_MMIO_BASE, 0x1000, &stress_mmio_ops, &b->mmio) != 0)
        return -1;
    mq_timebase_init(&b->tb, 10000000);
    hc.bus = &b->bus;
    hc.timebase = &b->tb;
    hc.reset_pc = STRESS_RAM_BASE;
    b->hart = rv_hart_create(&hc);
    return b->hart ? 0 : -1;
}

static inline void stress_board_destroy(struct stress_board *b)
{
    rv_hart_destroy(b->hart);
    mq_guest_mem_destroy(&b->ram);
}

/* One random instruction word: often a plausible encoding, sometimes noise. */
static inline uint32_t stress_insn(struct stress_rng *r)
{
    static const uint8_t majors[] = {0x03, 0x07, 0x0f, 0x13, 0x17, 0x1b, 0x23, 0x27,
                                     0x2f, 0x33, 0x37, 0x3b, 0x43, 0x47, 0x4b, 0x4f,
                                     0x53, 0x63, 0x67, 0x6f, 0x73};
    uint64_t v = stress_next(r);
    uint32_t w = (uint32_t)(v >> 8);

    switch (v & 7) {
    case 0: return w; /* pure noise */
    case 1:
    case 2: /* two compressed instructions: quadrants 0-2 in both halves */
        return (w & ~0x00030003u) | (uint32_t)((v >> 40) % 3) |
               ((uint32_t)((v >> 42) % 3) << 16);
    case 3: /* system: CSR accesses to real CSR numbers, xRET, wfi, sfence */
        return (w & 0xfff0707fu & ~0x7fu) | 0x73 | (((uint32_t)(v >> 50) & 7) << 12);
    default:
        return (w & ~0x7fu) | majors[(v >> 3) % sizeof(majors)];
    }
}

static inline uint64_t stress_reg_value(struct stress_rng *r)
{
    uint64_t v = stress_next(r);

    switch (v & 7) {
    case 0:
    case 1:
    case 2: return STRESS_RAM_BASE + (stress_next(r) % STRESS_RAM_SIZE);
    case 3: return STRESS_RAM_BASE + STRESS_RAM_SIZE - (v >> 60); /* RAM end edge */
    case 4: return STRESS_MMIO_BASE + ((v >> 8) & 0xfff);
    case 5: return (v >> 8) & 0xffff; /* small numbers */
    default: return stress_next(r);
    }
}

static inline uint64_t stress_code_addr(struct stress_rng *r)
{
    return STRESS_RAM_BASE + (stress_next(r) % STRESS_CODE_SIZE & ~3ull);
}

/* Sv39/Sv48 tables mapping RAM and MMIO with random leaf permissions. */
static inline uint64_t stress_page_tables(struct stress_board *b, struct stress_rng *r,
                                          bool sv48)
{
    uint64_t root = STRESS_RAM_BASE + STRESS_PT_OFFSET;
    uint8_t *pt = b->ram.host + STRESS_PT_OFFSET;
    uint64_t perms = (stress_next(r) & 0xfe) | 1; /* V plus random R W X U G A D */
    uint64_t ram_leaf = ((STRESS_RAM_BASE >> 12) << 10) | perms;

    memset(pt, 0, 3 * 4096);
    if (sv48) {
        /* Level 3 -> level 2 table at root + 4 KiB, gigapages there. */
        mq_put_le64(pt, (((root + 4096) >> 12) << 10) | 1);
        pt += 4096;
    }
    mq_put_le64(pt + 2 * 8, ram_leaf);                /* 0x80000000 identity gigapage */
    mq_put_le64(pt + 0, (0ull << 10) | 0xcf);          /* MMIO gigapage, RWX A D */
    mq_put_le64(pt + 3 * 8, ram_leaf ^ (stress_next(r) & 0x3ff)); /* random perms */
    for (unsigned i = 0; i < 8; i++) /* sprinkle garbage entries */
        mq_put_le64(pt + 8 * (4 + stress_next(r) % 500), stress_next(r));
    return root;
}

/* Put the hart into a random architectural state at a random code address. */
static inline void stress_randomize(struct stress_board *b, struct stress_rng *r)
{
    struct rv_hart *h = b->hart;
    static const unsigned privs[3] = {RV_PRIV_U, RV_PRIV_S, RV_PRIV_M};
    uint64_t v = stress_next(r);

    for (unsigned i = 1; i < 32; i++)
        h->x[i] = stress_reg_value(r);
    for (unsigned i = 0; i < 32; i++)
        h->f[i] = stress_next(r);
    rv_csr_write(h, 0x300, stress_next(r));                       /* mstatus */
    rv_csr_write(h, 0x302, stress_next(r));                       /* medeleg */
    rv_csr_write(h, 0x303, stress_next(r));                       /* mideleg */
    rv_csr_write(h, 0x304, stress_next(r));                       /* mie */
    /* Trap vectors mostly land in random code too, so traps keep executing it. */
    rv_csr_write(h, 0x305, stress_code_addr(r) | (v & 1));        /* mtvec */
    rv_csr_write(h, 0x105, stress_code_addr(r) | ((v >> 1) & 1)); /* stvec */
    rv_csr_write(h, 0x30a, stress_next(r));                       /* menvcfg */
    rv_csr_write(h, 0x306, stress_next(r));                       /* mcounteren */
    rv_csr_write(h, 0x14d, mq_timebase_read(&b->tb) + (v & 0xffff)); /* stimecmp */
    switch ((v >> 16) & 3) {
    case 0: rv_csr_write(h, 0x180, 0); break;
    case 1: rv_csr_write(h, 0x180, (8ull << 60) | (stress_page_tables(b, r, false) >> 12)); break;
    case 2: rv_csr_write(h, 0x180, (9ull << 60) | (stress_page_tables(b, r, true) >> 12)); break;
    default: rv_csr_write(h, 0x180, stress_next(r)); break;
    }
    if ((v >> 18) & 1) {
        /* Random PMP, then one entry granting everything so S/U can run at all. */
        rv_csr_write(h, 0x3b0, stress_next(r));
        rv_csr_write(h, 0x3b1, stress_next(r));
        rv_csr_write(h, 0x3b2, ~0ull);
        rv_csr_write(h, 0x3a0, (stress_next(r) & 0x1f1f) | (0x1full << 16));
    }
    h->priv = privs[(v >> 20) % 3];
    h->wfi = false;
    h->lr_valid = (v >> 22) & 1;
    h->lr_addr = stress_reg_value(r);
    rv_update_mode(h);
    h->pc = STRESS_RAM_BASE + (stress_next(r) % STRESS_CODE_SIZE & ~1ull);
}

/* Fill the code region with random instruction words. */
static inline void stress_fill_code(struct stress_board *b, struct stress_rng *r)
{
    for (uint64_t off = 0; off < STRESS_CODE_SIZE; off += 4)
        mq_put_le32(b->ram.host + off, stress_insn(r));
    mq_guest_mem_written(&b->ram, STRESS_RAM_BASE, STRESS_CODE_SIZE);
}

/*
 * Run up to budget instructions; WFI is woken by a software interrupt.
 * Returns the number executed, or UINT64_MAX when an invariant broke.
 */
static inline uint64_t stress_run(struct stress_board *b, uint64_t budget)
{
    struct rv_hart *h = b->hart;
    uint64_t start = rv_hart_retired(h);

    for (unsigned tries = 0; tries < 4; tries++) {
        uint64_t done = rv_hart_retired(h) - start;
        if (done >= budget)
            break;
        if (rv_hart_run(h, budget - done) == RV_RUN_WFI) {
            rv_hart_set_irq(h, RV_IRQ_MSI, true);
            rv_hart_set_irq(h, RV_IRQ_MSI, false);
            h->wfi = false;
        }
    }
    if (h->x[0] != 0 || rv_hart_retired(h) - start > budget || (h->pc & 1))
        return UINT64_MAX;
    return rv_hart_retired(h) - start;
}

#endif
