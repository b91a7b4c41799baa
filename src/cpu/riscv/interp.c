/* SPDX-License-Identifier: MIT */
/*
 * The interpreter's dispatch loop: threaded code over the decoded page.
 *
 * Each decoded slot carries an op (enum rv_fast_op). The common integer
 * instructions (ALU, M, branches, jumps, loads and stores that hit the
 * TLB) have inline copies here, built from the same macros as their
 * handlers in exec.c, and each copy jumps straight to the next slot's copy
 * (GNU C computed goto: one indirect jump per copy, so the host predicts
 * each from its own history). While control stays inside the current
 * physical page nothing else runs between two instructions: the count
 * lives in a register, pc is the slot's address (slot i of a page is the
 * parcel at byte 2i), a fall-through is the next slot and falling off the
 * page lands on a sentinel slot past the last one. The budget and
 * h->check are looked at on taken jumps and page changes only.
 *
 * Everything else goes through the full path ("lookup"): a look at
 * h->check, the fetch page check and, for an op without an inline copy or
 * a load/store that misses the TLB fast path, a call of in->fn with h->pc
 * and h->instret up to date. Any change of hart state that could affect
 * fetch (traps, CSR writes, fence.i, sfence.vma, stores to code pages,
 * MMIO) happens only inside such a call, so the next instruction is always
 * looked up afresh after it. Requests from other threads (h->check) are
 * therefore seen at the next page change, call or batch end, at most
 * RV_BATCH plus one page of instructions later (hart.c).
 */
#include "cpu/riscv/exec.h"
#include "util/le.h"

void rv_interp_set_op(struct rv_insn *in)
{
    unsigned op;

#define OP_IF(n, x) if (in->fn == rv_exec_##n) op = RV_OP_##n; else
    if (in->fn == rv_exec_jal)
        op = RV_OP_jal;
    else if (in->fn == rv_exec_jalr)
        op = RV_OP_jalr;
    else
        RV_ALU_OPS(OP_IF) RV_BRANCH_OPS(OP_IF) RV_LOAD_OPS(OP_IF) RV_STORE_OPS(OP_IF)
        op = RV_OP_CALL;
#undef OP_IF
#define OP_IS(n, x) || op == RV_OP_##n
    /*
     * The inline copies never write x0: an ALU instruction writing it has
     * no effect (nop, hints), a load to it (rare) runs its handler, and
     * jumps without a link have their own copies.
     */
    if (in->rd == 0) {
        if (0 RV_ALU_OPS(OP_IS))
            op = RV_OP_NOP;
        else if (0 RV_LOAD_OPS(OP_IS))
            op = RV_OP_CALL;
        else if (op == RV_OP_jal)
            op = RV_OP_j;
        else if (op == RV_OP_jalr)
            op = RV_OP_jr;
    }
#undef OP_IS
    in->op = (uint8_t)(op | (in->len == 2 ? RV_OP_C : 0));
}

/* First execution of a cached slot at pc in the current fetch page: decode it in place. */
static void decode_slot(struct rv_hart *h, struct rv_insn *slot, uint64_t pc)
{
    struct rv_dpage *d = h->fetch_dpage;
    unsigned off = (unsigned)(pc & 0xfff);
    const uint8_t *code = h->ram->host + (h->fetch_page_index << MQ_PAGE_SHIFT) + off;
    uint16_t lo = mq_get_le16(code);

    if ((lo & 3) != 3) {
        rv_decode16(lo, slot);
    } else if (off == 4094) {
        slot->fn = rv_exec_cross_page;
        slot->len = 4;
    } else {
        rv_decode32(mq_get_le32(code), slot);
    }
    rv_interp_set_op(slot);
    d->used[off >> 7] |= 1ull << ((off >> 1) & 63);
}

/*
 * rv_fetch_page for the common case, inline: pc's page is in the fetch TLB
 * and its decoded page is cached and current. False: ask rv_fetch_page.
 */
static MQ_ALWAYS_INLINE bool fetch_page_hit(struct rv_hart *h, uint64_t pc)
{
    const struct rv_tlb_entry *e = &h->tlb_x[rv_tlb_index(pc)];
    uint64_t page_index;
    const struct rv_dtag *t;

    if (e->tag != ((pc & ~0xfffull) | h->fetch_key))
        return false;
    page_index = ((uintptr_t)((pc & ~0xfffull) + e->addend) - (uintptr_t)h->ram->host) >>
                 MQ_PAGE_SHIFT;
    t = &h->dtag[page_index % RV_DCACHE_PAGES];
    if (!t->valid || t->page_index != page_index ||
        t->gen != mq_guest_mem_code_gen(h->ram, page_index))
        return false;
    h->fetch_page_index = page_index;
    h->fetch_vpage = pc & ~0xfffull;
    h->fetch_dpage = &h->dcache[page_index % RV_DCACHE_PAGES];
    return true;
}

/*
 * One instruction at a time, each through its handler, stopping exactly at
 * end: the last instructions before a hard limit.
 */
static void run_precise(struct rv_hart *h, uint64_t end)
{
    uint64_t pc = h->pc, n = h->instret;

    while (n < end && !rv_check_pending(h)) {
        h->instret = ++n;
        h->pc = pc;
        if (unlikely((pc & ~0xfffull) != h->fetch_vpage)) {
            if (!rv_fetch_page(h, pc)) {
                pc = h->pc; /* fetch fault: the trap was taken */
                continue;
            }
            if (!h->fetch_dpage || h->fetch_vpage != (pc & ~0xfffull)) {
                rv_exec_uncached(h); /* executable but not cacheable (ROM, MMIO) */
                pc = h->pc;
                continue;
            }
        }
        struct rv_insn *in = &h->fetch_dpage->slot[(pc & 0xfff) >> 1];
        if (in->op == RV_OP_DECODE)
            decode_slot(h, in, pc);
        pc = in->fn(h, in, pc);
    }
    h->pc = pc;
}

void rv_interp_run(struct rv_hart *h, uint64_t soft_end, uint64_t end)
{
    /* Inline copies: one label for the 4-byte and one for the 2-byte form. */
#define LABELS2(n, x) [RV_OP_##n] = &&op_##n##_4, [RV_OP_##n | RV_OP_C] = &&op_##n##_2,
    static const void *const labels[256] = {
        [RV_OP_DECODE] = &&op_decode, [RV_OP_DECODE | RV_OP_C] = &&op_decode,
        [RV_OP_CALL] = &&op_call, [RV_OP_CALL | RV_OP_C] = &&op_call,
        [RV_OP_NOP] = &&op_nop_4, [RV_OP_NOP | RV_OP_C] = &&op_nop_2,
        [RV_OP_PAGE_END] = &&op_page_end,
        LABELS2(jal, 0) LABELS2(jalr, 0) LABELS2(j, 0) LABELS2(jr, 0)
        RV_ALU_OPS(LABELS2) RV_BRANCH_OPS(LABELS2) RV_LOAD_OPS(LABELS2) RV_STORE_OPS(LABELS2)
    };
#undef LABELS2
    /* lpc: the pc at lookup and exit; inside a page pc is derived from in. */
    uint64_t lpc = h->pc, n = h->instret, vpage = 0, stop;
    struct rv_insn *slot0 = NULL, *in = NULL;

    /*
     * Between two check points (lookup, a taken jump) at most one page of
     * straight-line code runs, RV_DPAGE_SLOTS instructions: stop early
     * enough that end is never passed, and finish the last stretch exactly.
     */
    if (end - n <= RV_DPAGE_SLOTS) {
        run_precise(h, soft_end < end ? soft_end : end);
        return;
    }
    stop = soft_end < end - RV_DPAGE_SLOTS ? soft_end : end - RV_DPAGE_SLOTS;

#define PC() (vpage | (uint64_t)(in - slot0) << 1)
/* Count the instruction at in and run its copy. */
#define DISPATCH()                          \
    do {                                    \
        n++;                                \
        goto *labels[in->op];               \
    } while (0)
/* Fall through to the next instruction of length L (past the page: the sentinel). */
#define NEXT(L)                             \
    do {                                    \
        in += (L) / 2;                      \
        DISPATCH();                         \
    } while (0)
/* Continue at target: directly when it is in the same page and no check is due. */
#define JUMP(target)                                             \
    do {                                                         \
        uint64_t t_ = (target);                                  \
        if (unlikely((t_ & ~0xfffull) != vpage || n >= stop)) {  \
            lpc = t_;                                            \
            goto lookup;                                         \
        }                                                        \
        in = slot0 + ((t_ & 0xfff) >> 1);                        \
        DISPATCH();                                              \
    } while (0)

lookup:
    if (n >= stop || rv_check_pending(h))
        goto out;
    if ((lpc & ~0xfffull) != h->fetch_vpage && !fetch_page_hit(h, lpc)) {
        h->pc = lpc;
        if (!rv_fetch_page(h, lpc)) {
            n++; /* the fetch fault counts as an instruction; the trap was taken */
            lpc = h->pc;
            goto lookup;
        }
        if (!h->fetch_dpage || h->fetch_vpage != (lpc & ~0xfffull)) {
            h->instret = ++n;
            rv_exec_uncached(h); /* executable but not cacheable (ROM, MMIO) */
            lpc = h->pc;
            goto lookup;
        }
    }
    vpage = lpc & ~0xfffull;
    slot0 = h->fetch_dpage->slot;
    in = &slot0[(lpc & 0xfff) >> 1];
    DISPATCH();

op_page_end: /* the sentinel past the last slot: not an instruction */
    n--;
    lpc = vpage + 4096;
    goto lookup;

op_decode:
    decode_slot(h, in, PC());
    goto *labels[in->op];

op_call:
    lpc = PC();
    h->pc = lpc;
    h->instret = n;
    lpc = in->fn(h, in, lpc);
    goto lookup;

op_nop_4:
    NEXT(4);
op_nop_2:
    NEXT(2);

    /* rd is never x0 here (rv_interp_set_op): x0 needs no re-zeroing. */
#define ALU2(name, expr)                  \
    op_##name##_4 : {                     \
        const uint64_t pc = PC();         \
        (void)pc;                         \
        h->x[in->rd] = (expr);            \
        NEXT(4);                          \
    }                                     \
    op_##name##_2 : {                     \
        const uint64_t pc = PC();         \
        (void)pc;                         \
        h->x[in->rd] = (expr);            \
        NEXT(2);                          \
    }
    RV_ALU_OPS(ALU2)
#undef ALU2

#define BRANCH2(name, cond)            \
    op_##name##_4 : if (cond)          \
        JUMP(PC() + (uint64_t)RV_IMM); \
    NEXT(4);                           \
    op_##name##_2 : if (cond)          \
        JUMP(PC() + (uint64_t)RV_IMM); \
    NEXT(2);
    RV_BRANCH_OPS(BRANCH2)
#undef BRANCH2

    /* A miss of the fast path runs the handler, which takes the slow path; rd is not x0. */
#define LOAD2(name, fn)                                                       \
    op_##name##_4 : {                                                         \
        uint64_t v_;                                                          \
        if (unlikely(!fn##_fast(h, RV_RS1 + (uint64_t)RV_IMM, &v_)))          \
            goto op_call;                                                     \
        h->x[in->rd] = v_;                                                    \
        NEXT(4);                                                              \
    }                                                                         \
    op_##name##_2 : {                                                         \
        uint64_t v_;                                                          \
        if (unlikely(!fn##_fast(h, RV_RS1 + (uint64_t)RV_IMM, &v_)))          \
            goto op_call;                                                     \
        h->x[in->rd] = v_;                                                    \
        NEXT(2);                                                              \
    }
    RV_LOAD_OPS(LOAD2)
#undef LOAD2

#define STORE2(name, fn)                                                      \
    op_##name##_4 : if (unlikely(!fn##_fast(h, RV_RS1 + (uint64_t)RV_IMM, RV_RS2))) \
        goto op_call;                                                         \
    NEXT(4);                                                                  \
    op_##name##_2 : if (unlikely(!fn##_fast(h, RV_RS1 + (uint64_t)RV_IMM, RV_RS2))) \
        goto op_call;                                                         \
    NEXT(2);
    RV_STORE_OPS(STORE2)
#undef STORE2

    /* IALIGN is 16 with C: targets are even, no misaligned-fetch trap (exec.c). */
op_jal_4 : {
    uint64_t t = PC() + (uint64_t)RV_IMM;
    h->x[in->rd] = PC() + 4;
    JUMP(t);
}
op_jal_2 : {
    uint64_t t = PC() + (uint64_t)RV_IMM;
    h->x[in->rd] = PC() + 2;
    JUMP(t);
}
op_jalr_4 : {
    uint64_t t = (RV_RS1 + (uint64_t)RV_IMM) & ~1ull;
    h->x[in->rd] = PC() + 4;
    JUMP(t);
}
op_jalr_2 : {
    uint64_t t = (RV_RS1 + (uint64_t)RV_IMM) & ~1ull;
    h->x[in->rd] = PC() + 2;
    JUMP(t);
}
op_j_4:
op_j_2:
    JUMP(PC() + (uint64_t)RV_IMM);
op_jr_4:
op_jr_2:
    JUMP((RV_RS1 + (uint64_t)RV_IMM) & ~1ull);

out:
    h->pc = lpc;
    h->instret = n;
#undef PC
#undef DISPATCH
#undef NEXT
#undef JUMP
}
