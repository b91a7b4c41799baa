/* SPDX-License-Identifier: MIT */
/*
 * Trap entry and return (privileged spec 3.1.6-3.1.9, 3.3.2, 4.1.1):
 * delegation through medeleg/mideleg, the xPIE/xPP stack in mstatus,
 * direct and vectored tvec, and interrupt priority.
 */
#include "cpu/riscv/exec.h"

uint64_t rv_mip_read(const struct rv_hart *h)
{
    uint64_t hw = __atomic_load_n(&h->mip_hw, __ATOMIC_ACQUIRE);

    /* SEIP reads as the OR of the software-writable bit and the PLIC line. */
    return h->mip_sw | hw;
}

uint64_t rv_mip_rmw_value(const struct rv_hart *h)
{
    uint64_t hw = __atomic_load_n(&h->mip_hw, __ATOMIC_ACQUIRE);

    return h->mip_sw | (hw & ~(1ull << RV_IRQ_SEI));
}

static uint64_t data_key(const struct rv_hart *h)
{
    unsigned priv = rv_data_priv(h);

    return ((uint64_t)(priv + 1) | ((h->mstatus & MSTATUS_SUM) ? 8 : 0) |
            ((h->mstatus & MSTATUS_MXR) ? 16 : 0))
           << RV_TLB_KEY_SHIFT;
}

void rv_update_mode(struct rv_hart *h)
{
    h->data_key = data_key(h);
    h->fetch_key = (uint64_t)(h->priv + 1) << RV_TLB_KEY_SHIFT;
    rv_invalidate_fetch(h);
    rv_request_check(h);
}

void rv_raise(struct rv_hart *h, uint64_t cause, uint64_t tval)
{
    bool interrupt = cause >> 63;
    uint64_t code = cause & ~(1ull << 63);
    uint64_t deleg = interrupt ? h->mideleg : h->medeleg;
    uint64_t tvec;

    h->instret_trapped++;
    if (!interrupt && (code == RV_EXC_INSN_PAGE || code == RV_EXC_LOAD_PAGE ||
                       code == RV_EXC_STORE_PAGE))
        h->page_faults++;
    if (h->priv <= RV_PRIV_S && code < 64 && ((deleg >> code) & 1)) {
        h->scause = cause;
        h->sepc = h->pc;
        h->stval = tval;
        h->mstatus = (h->mstatus & ~(MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SIE)) |
                     ((h->mstatus & MSTATUS_SIE) ? MSTATUS_SPIE : 0) |
                     (h->priv == RV_PRIV_S ? MSTATUS_SPP : 0);
        h->priv = RV_PRIV_S;
        tvec = h->stvec;
    } else {
        h->mcause = cause;
        h->mepc = h->pc;
        h->mtval = tval;
        h->mstatus = (h->mstatus & ~(MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MIE)) |
                     ((h->mstatus & MSTATUS_MIE) ? MSTATUS_MPIE : 0) |
                     ((uint64_t)h->priv << MSTATUS_MPP_SHIFT);
        h->priv = RV_PRIV_M;
        tvec = h->mtvec;
    }
    h->pc = (tvec & ~3ull) + ((interrupt && (tvec & 1)) ? 4 * code : 0);
    rv_update_mode(h);
}

uint64_t rv_pending_interrupts(const struct rv_hart *h)
{
    uint64_t pending = rv_mip_read(h) & h->mie;
    uint64_t m_irqs = pending & ~h->mideleg;
    uint64_t s_irqs = pending & h->mideleg;
    uint64_t take = 0;
    bool m_enabled = h->priv < RV_PRIV_M || (h->mstatus & MSTATUS_MIE);
    bool s_enabled = h->priv < RV_PRIV_S || (h->priv == RV_PRIV_S && (h->mstatus & MSTATUS_SIE));

    if (m_enabled)
        take |= m_irqs;
    if (s_enabled)
        take |= s_irqs;
    /* M-level interrupts win over S-level ones whatever their numbers. */
    if (take & m_irqs)
        take &= m_irqs;
    return take;
}

bool rv_check_interrupts(struct rv_hart *h)
{
    static const unsigned order[] = {RV_IRQ_MEI, RV_IRQ_MSI, RV_IRQ_MTI,
                                     RV_IRQ_SEI, RV_IRQ_SSI, RV_IRQ_STI};
    uint64_t take = rv_pending_interrupts(h);

    if (!take)
        return false;
    for (unsigned i = 0; i < MQ_ARRAY_SIZE(order); i++) {
        if (take & (1ull << order[i])) {
            h->wfi = false;
            rv_raise(h, (1ull << 63) | order[i], 0);
            return true;
        }
    }
    return false;
}

uint64_t rv_exec_mret(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    unsigned mpp;

    if (h->priv != RV_PRIV_M) {
        rv_raise(h, RV_EXC_ILLEGAL, 0x30200073);
        return h->pc;
    }
    mpp = (unsigned)((h->mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
    h->mstatus = (h->mstatus & ~(MSTATUS_MIE | MSTATUS_MPP)) |
                 ((h->mstatus & MSTATUS_MPIE) ? MSTATUS_MIE : 0) | MSTATUS_MPIE;
    /* Leaving M for a lower mode clears MPRV (priv spec 3.1.6.3). */
    if (mpp != RV_PRIV_M)
        h->mstatus &= ~MSTATUS_MPRV;
    h->priv = mpp;
    h->pc = h->mepc;
    rv_update_mode(h);
    return h->pc;
}

uint64_t rv_exec_sret(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    if (h->priv == RV_PRIV_U || (h->priv == RV_PRIV_S && (h->mstatus & MSTATUS_TSR))) {
        rv_raise(h, RV_EXC_ILLEGAL, 0x10200073);
        return h->pc;
    }
    h->priv = (h->mstatus & MSTATUS_SPP) ? RV_PRIV_S : RV_PRIV_U;
    h->mstatus = (h->mstatus & ~(MSTATUS_SIE | MSTATUS_SPP)) |
                 ((h->mstatus & MSTATUS_SPIE) ? MSTATUS_SIE : 0) | MSTATUS_SPIE;
    h->mstatus &= ~MSTATUS_MPRV;
    h->pc = h->sepc;
    rv_update_mode(h);
    return h->pc;
}
