/* SPDX-License-Identifier: MIT */
/*
 * Interpreter handlers for RV64I and M (unprivileged spec chapters 2, 5, 7),
 * plus the Zifencei and privileged instructions (privileged spec 3.3).
 */
#include <sched.h>

#include "cpu/riscv/exec.h"

#define RS1 RV_RS1
#define RS2 RV_RS2
#define IMM RV_IMM

/* An instruction that writes rd and falls through. */
#define DEF_ALU(name, expr)                                                   \
    uint64_t rv_exec_##name(struct rv_hart *h, const struct rv_insn *in, uint64_t pc) \
    {                                                                         \
        rv_set_x(h, in->rd, (expr));                                          \
        return pc + in->len;                                                  \
    }

RV_ALU_OPS(DEF_ALU)

/*
 * With C implemented IALIGN is 16: jump and branch targets are always
 * 2-byte aligned here (immediates are even, jalr clears bit 0), so the
 * instruction-address-misaligned exception cannot occur.
 */
uint64_t rv_exec_jal(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    rv_set_x(h, in->rd, pc + in->len);
    return pc + (uint64_t)IMM;
}

uint64_t rv_exec_jalr(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    uint64_t target = (RS1 + (uint64_t)IMM) & ~1ull;

    rv_set_x(h, in->rd, pc + in->len);
    return target;
}

#define DEF_BRANCH(name, cond)                                                \
    uint64_t rv_exec_##name(struct rv_hart *h, const struct rv_insn *in, uint64_t pc) \
    {                                                                         \
        return pc + ((cond) ? (uint64_t)RV_IMM : in->len);                    \
    }

RV_BRANCH_OPS(DEF_BRANCH)

#define DEF_LOAD(name, fn)                                                    \
    uint64_t rv_exec_##name(struct rv_hart *h, const struct rv_insn *in, uint64_t pc) \
    {                                                                         \
        uint64_t v;                                                           \
        if (!fn(h, RV_RS1 + (uint64_t)RV_IMM, &v))                            \
            return h->pc;                                                     \
        rv_set_x(h, in->rd, v);                                               \
        return pc + in->len;                                                  \
    }

RV_LOAD_OPS(DEF_LOAD)

#define DEF_STORE(name, fn)                                                   \
    uint64_t rv_exec_##name(struct rv_hart *h, const struct rv_insn *in, uint64_t pc) \
    {                                                                         \
        if (!fn(h, RV_RS1 + (uint64_t)RV_IMM, RV_RS2))                        \
            return h->pc;                                                     \
        return pc + in->len;                                                  \
    }

RV_STORE_OPS(DEF_STORE)

uint64_t rv_exec_illegal(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    rv_raise(h, RV_EXC_ILLEGAL, (uint32_t)in->imm);
    return h->pc;
}

/* Host accesses are sequentially consistent enough: one host thread per hart. */
uint64_t rv_exec_fence(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return pc + in->len;
}

/*
 * pause marks a spin-wait loop (Linux's cpu_relax()). Give the host CPU
 * away: the hart holding the lock may be waiting for a host core, and with
 * more hart threads than host cores a spinning hart would otherwise burn
 * the time the lock holder needs (lock-holder preemption).
 */
uint64_t rv_exec_pause(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    sched_yield();
    return pc + in->len;
}

/*
 * Every write to a page holding decoded code bumps its generation, which
 * is checked on entering the page, so stores of this hart are seen without
 * a flush. Only a store of another hart that raced with our decode of its
 * page can leave stale decoded instructions (guest_mem.h): with other harts
 * present, drop ours.
 */
uint64_t rv_exec_fence_i(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    if (mq_guest_mem_code_users(h->ram) > 1)
        rv_dcache_flush(h);
    else
        rv_invalidate_fetch(h);
    return pc + in->len;
}

uint64_t rv_exec_ecall(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    static const uint64_t cause[4] = {RV_EXC_ECALL_U, RV_EXC_ECALL_S, 0, RV_EXC_ECALL_M};

    rv_raise(h, cause[h->priv], 0);
    return h->pc;
}

uint64_t rv_exec_ebreak(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    rv_raise(h, RV_EXC_BREAKPOINT, pc);
    return h->pc;
}

uint64_t rv_exec_wfi(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    /* TW traps wfi below M; in U mode wfi is always illegal here (no time limit). */
    if ((h->priv < RV_PRIV_M && (h->mstatus & MSTATUS_TW)) || h->priv == RV_PRIV_U) {
        rv_raise(h, RV_EXC_ILLEGAL, 0x10500073);
        return h->pc;
    }
    h->wfi = true;
    rv_request_check(h);
    return pc + in->len;
}

uint64_t rv_exec_sfence_vma(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    if (h->priv == RV_PRIV_U || (h->priv == RV_PRIV_S && (h->mstatus & MSTATUS_TVM))) {
        rv_raise(h, RV_EXC_ILLEGAL,
                 0x12000073u | (uint32_t)in->rs2 << 20 | (uint32_t)in->rs1 << 15);
        return h->pc;
    }
    if (in->rs1 == 0)
        rv_tlb_flush(h);
    else
        rv_tlb_flush_page(h, RS1);
    return pc + in->len;
}

/* ---- CSR instructions (Zicsr) ---- */

static uint32_t csr_insn_bits(const struct rv_insn *in, unsigned f3)
{
    return (uint32_t)in->imm << 20 | (uint32_t)in->rs1 << 15 | f3 << 12 |
           (uint32_t)in->rd << 7 | 0x73;
}

/*
 * Common body: read unless this is csrrw/csrrwi with rd = x0, write unless
 * this is a set/clear with rs1/uimm = 0, as the spec requires for side
 * effects and read-only CSRs.
 */
static uint64_t csr_op(struct rv_hart *h, const struct rv_insn *in, unsigned f3, uint64_t src,
                   bool do_read, bool do_write)
{
    unsigned csr = (unsigned)in->imm & 0xfff;
    uint64_t old = 0, val;

    if (!rv_csr_accessible(h, csr, do_write) || (do_read && !rv_csr_read(h, csr, &old))) {
        rv_raise(h, RV_EXC_ILLEGAL, csr_insn_bits(in, f3));
        return h->pc;
    }
    if (do_write) {
        uint64_t base = (f3 & 3) == 1 ? old : rv_csr_rmw_base(h, csr, old);
        switch (f3 & 3) {
        case 1: val = src; break;
        case 2: val = base | src; break;
        default: val = base & ~src; break;
        }
        if (!rv_csr_write(h, csr, val)) {
            rv_raise(h, RV_EXC_ILLEGAL, csr_insn_bits(in, f3));
            return h->pc;
        }
    }
    rv_set_x(h, in->rd, old);
    return h->pc + in->len;
}

uint64_t rv_exec_csrrw(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    return csr_op(h, in, 1, RS1, in->rd != 0, true);
}

uint64_t rv_exec_csrrs(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    return csr_op(h, in, 2, RS1, true, in->rs1 != 0);
}

uint64_t rv_exec_csrrc(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    return csr_op(h, in, 3, RS1, true, in->rs1 != 0);
}

uint64_t rv_exec_csrrwi(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    return csr_op(h, in, 5, in->rs1, in->rd != 0, true);
}

uint64_t rv_exec_csrrsi(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    return csr_op(h, in, 6, in->rs1, true, in->rs1 != 0);
}

uint64_t rv_exec_csrrci(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    return csr_op(h, in, 7, in->rs1, true, in->rs1 != 0);
}
