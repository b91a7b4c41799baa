/* SPDX-License-Identifier: MIT */
/*
 * Control and status registers (privileged spec chapter 2 listing, 3.1,
 * 4.1; Zicntr; Sstc): access rules, WARL legalisation and side effects.
 */
#include "cpu/riscv/exec.h"

enum {
    CSR_FFLAGS = 0x001, CSR_FRM = 0x002, CSR_FCSR = 0x003,
    CSR_SSTATUS = 0x100, CSR_SIE = 0x104, CSR_STVEC = 0x105, CSR_SCOUNTEREN = 0x106,
    CSR_SENVCFG = 0x10a, CSR_SSCRATCH = 0x140, CSR_SEPC = 0x141, CSR_SCAUSE = 0x142,
    CSR_STVAL = 0x143, CSR_SIP = 0x144, CSR_STIMECMP = 0x14d, CSR_SATP = 0x180,
    CSR_MSTATUS = 0x300, CSR_MISA = 0x301, CSR_MEDELEG = 0x302, CSR_MIDELEG = 0x303,
    CSR_MIE = 0x304, CSR_MTVEC = 0x305, CSR_MCOUNTEREN = 0x306, CSR_MENVCFG = 0x30a,
    CSR_MCOUNTINHIBIT = 0x320, CSR_MHPMEVENT3 = 0x323, CSR_MHPMEVENT31 = 0x33f,
    CSR_MSCRATCH = 0x340, CSR_MEPC = 0x341, CSR_MCAUSE = 0x342, CSR_MTVAL = 0x343,
    CSR_MIP = 0x344, CSR_PMPCFG0 = 0x3a0, CSR_PMPCFG15 = 0x3af, CSR_PMPADDR0 = 0x3b0,
    CSR_PMPADDR63 = 0x3ef,
    CSR_MCYCLE = 0xb00, CSR_MINSTRET = 0xb02, CSR_MHPMCOUNTER3 = 0xb03,
    CSR_MHPMCOUNTER31 = 0xb1f,
    CSR_CYCLE = 0xc00, CSR_TIME = 0xc01, CSR_INSTRET = 0xc02, CSR_HPMCOUNTER3 = 0xc03,
    CSR_HPMCOUNTER31 = 0xc1f,
    CSR_MVENDORID = 0xf11, CSR_MARCHID = 0xf12, CSR_MIMPID = 0xf13, CSR_MHARTID = 0xf14,
    CSR_MCONFIGPTR = 0xf15,
};

#define SSTATUS_MASK                                                                  \
    (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | MSTATUS_SUM | MSTATUS_MXR | \
     MSTATUS_UXL | MSTATUS_SD)
#define MSTATUS_WRITABLE                                                              \
    (MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP |          \
     MSTATUS_MPP | MSTATUS_FS | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | \
     MSTATUS_TW | MSTATUS_TSR)
#define SSTATUS_WRITABLE                                                              \
    (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | MSTATUS_SUM | MSTATUS_MXR)

/* Exceptions that may be delegated: all but ecall from M (11) and reserved 10, 14. */
#define MEDELEG_WRITABLE 0xb3ffull
#define MIDELEG_WRITABLE ((1ull << RV_IRQ_SSI) | (1ull << RV_IRQ_STI) | (1ull << RV_IRQ_SEI))
#define MIE_WRITABLE 0xaaaull

static uint64_t mstatus_read(const struct rv_hart *h)
{
    uint64_t v = h->mstatus;

    if ((v & MSTATUS_FS) == MSTATUS_FS)
        v |= MSTATUS_SD;
    return v;
}

static void mstatus_write(struct rv_hart *h, uint64_t val, uint64_t writable)
{
    uint64_t old = h->mstatus;
    uint64_t v = (old & ~writable) | (val & writable);

    /* MPP is WARL: 2 (hypervisor) does not exist, keep the old value. */
    if (((v & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT) == 2)
        v = (v & ~MSTATUS_MPP) | (old & MSTATUS_MPP);
    h->mstatus = v;
    rv_update_mode(h);
}

static uint64_t tvec_legalise(uint64_t old, uint64_t val)
{
    /* Modes 2 and 3 are reserved: keep the old mode. */
    if ((val & 3) >= 2)
        val = (val & ~3ull) | (old & 3);
    return val;
}

static void satp_write(struct rv_hart *h, uint64_t val)
{
    unsigned mode = (unsigned)(val >> 60);

    /* Unsupported modes leave satp unchanged (WARL, priv spec 4.1.11). */
    if (mode != 0 && mode != 8 && !(mode == 9 && h->max_satp_mode >= 9))
        return;
    /* 16 ASID bits are kept (Linux probes them); translation ignores ASIDs. */
    h->satp = val & ((0xfull << 60) | (0xffffull << 44) | ((1ull << 44) - 1));
    rv_tlb_flush(h);
}

static bool pmp_locked(const struct rv_hart *h, unsigned i)
{
    return h->pmpcfg[i] & 0x80;
}

static void pmpcfg_write(struct rv_hart *h, unsigned reg, uint64_t val)
{
    for (unsigned b = 0; b < 8; b++) {
        unsigned i = reg * 4 + b;
        uint8_t cfg = (uint8_t)(val >> (8 * b));
        if (i >= RV_PMP_COUNT || pmp_locked(h, i))
            continue;
        cfg &= 0x9f; /* bits 5-6 are reserved, read as zero */
        if ((cfg & 3) == 2) /* W without R is reserved: clear both */
            cfg &= ~3;
        h->pmpcfg[i] = cfg;
    }
    rv_pmp_recompute(h);
    rv_tlb_flush(h);
}

static void pmpaddr_write(struct rv_hart *h, unsigned i, uint64_t val)
{
    if (i >= RV_PMP_COUNT || pmp_locked(h, i))
        return;
    /* A locked TOR entry also locks the address below it. */
    if (i + 1 < RV_PMP_COUNT && pmp_locked(h, i + 1) && ((h->pmpcfg[i + 1] >> 3) & 3) == 1)
        return;
    h->pmpaddr[i] = val & ((1ull << 54) - 1);
    rv_pmp_recompute(h);
    rv_tlb_flush(h);
}

static uint64_t pmpcfg_read(const struct rv_hart *h, unsigned reg)
{
    uint64_t v = 0;

    for (unsigned b = 0; b < 8; b++) {
        unsigned i = reg * 4 + b;
        if (i < RV_PMP_COUNT)
            v |= (uint64_t)h->pmpcfg[i] << (8 * b);
    }
    return v;
}

static bool counter_enabled(const struct rv_hart *h, unsigned csr)
{
    unsigned bit = csr & 31;

    if (h->priv < RV_PRIV_M && !((h->mcounteren >> bit) & 1))
        return false;
    if (h->priv < RV_PRIV_S && !((h->scounteren >> bit) & 1))
        return false;
    return true;
}

static bool fp_enabled(const struct rv_hart *h)
{
    return (h->mstatus & MSTATUS_FS) != 0;
}

bool rv_csr_accessible(struct rv_hart *h, unsigned csr, bool write)
{
    if (h->priv < ((csr >> 8) & 3))
        return false;
    if (write && (csr >> 10) == 3)
        return false;
    if (csr >= CSR_CYCLE && csr <= CSR_HPMCOUNTER31)
        return counter_enabled(h, csr);
    switch (csr) {
    case CSR_FFLAGS:
    case CSR_FRM:
    case CSR_FCSR:
        return fp_enabled(h);
    case CSR_SATP:
        return !(h->priv == RV_PRIV_S && (h->mstatus & MSTATUS_TVM));
    case CSR_STIMECMP:
        if (h->priv == RV_PRIV_M)
            return true;
        return (h->menvcfg & MENVCFG_STCE) && (h->mcounteren & 2);
    default:
        return true;
    }
}

static uint64_t misa_value(void)
{
    /* MXL = 64, extensions A C D F I M S U. */
    return (2ull << 62) | (1u << 0) | (1u << 2) | (1u << 3) | (1u << 5) | (1u << 8) |
           (1u << 12) | (1u << 18) | (1u << 20);
}

static bool csr_read_counters(struct rv_hart *h, unsigned csr, uint64_t *val)
{
    if ((csr >= CSR_HPMCOUNTER3 && csr <= CSR_HPMCOUNTER31) ||
        (csr >= CSR_MHPMCOUNTER3 && csr <= CSR_MHPMCOUNTER31) ||
        (csr >= CSR_MHPMEVENT3 && csr <= CSR_MHPMEVENT31)) {
        *val = 0; /* no hardware performance counters: hardwired to zero */
        return true;
    }
    switch (csr) {
    case CSR_CYCLE:
    case CSR_MCYCLE: *val = h->instret + h->cycle_offset; return true;
    case CSR_INSTRET:
    case CSR_MINSTRET: *val = h->instret + h->instret_offset; return true;
    case CSR_TIME: *val = mq_timebase_read(h->timebase); return true;
    default: return false;
    }
}

bool rv_csr_read(struct rv_hart *h, unsigned csr, uint64_t *val)
{
    if (csr >= CSR_PMPCFG0 && csr <= CSR_PMPCFG15) {
        if (csr & 1) /* odd pmpcfg registers do not exist on RV64 */
            return false;
        *val = pmpcfg_read(h, csr - CSR_PMPCFG0);
        return true;
    }
    if (csr >= CSR_PMPADDR0 && csr <= CSR_PMPADDR63) {
        unsigned i = csr - CSR_PMPADDR0;
        *val = i < RV_PMP_COUNT ? h->pmpaddr[i] : 0;
        /* NAPOT reads with G=0 return the stored value unchanged. */
        return true;
    }
    switch (csr) {
    case CSR_FFLAGS: *val = h->fflags; return true;
    case CSR_FRM: *val = h->frm; return true;
    case CSR_FCSR: *val = h->fflags | (h->frm << 5); return true;
    case CSR_SSTATUS: *val = mstatus_read(h) & SSTATUS_MASK; return true;
    case CSR_SIE: *val = h->mie & h->mideleg; return true;
    case CSR_STVEC: *val = h->stvec; return true;
    case CSR_SCOUNTEREN: *val = h->scounteren; return true;
    case CSR_SENVCFG: *val = h->senvcfg; return true;
    case CSR_SSCRATCH: *val = h->sscratch; return true;
    case CSR_SEPC: *val = h->sepc; return true;
    case CSR_SCAUSE: *val = h->scause; return true;
    case CSR_STVAL: *val = h->stval; return true;
    case CSR_SIP: *val = rv_mip_read(h) & h->mideleg; return true;
    case CSR_STIMECMP: *val = h->stimecmp; return true;
    case CSR_SATP: *val = h->satp; return true;
    case CSR_MSTATUS: *val = mstatus_read(h); return true;
    case CSR_MISA: *val = misa_value(); return true;
    case CSR_MEDELEG: *val = h->medeleg; return true;
    case CSR_MIDELEG: *val = h->mideleg; return true;
    case CSR_MIE: *val = h->mie; return true;
    case CSR_MTVEC: *val = h->mtvec; return true;
    case CSR_MCOUNTEREN: *val = h->mcounteren; return true;
    case CSR_MENVCFG: *val = h->menvcfg; return true;
    case CSR_MCOUNTINHIBIT: *val = 0; return true;
    case CSR_MSCRATCH: *val = h->mscratch; return true;
    case CSR_MEPC: *val = h->mepc; return true;
    case CSR_MCAUSE: *val = h->mcause; return true;
    case CSR_MTVAL: *val = h->mtval; return true;
    case CSR_MIP: *val = rv_mip_read(h); return true;
    case CSR_MVENDORID:
    case CSR_MARCHID:
    case CSR_MIMPID:
    case CSR_MCONFIGPTR: *val = 0; return true;
    case CSR_MHARTID: *val = h->hartid; return true;
    default: return csr_read_counters(h, csr, val);
    }
}

uint64_t rv_csr_rmw_base(const struct rv_hart *h, unsigned csr, uint64_t read)
{
    /*
     * Priv spec 3.1.9: CSRRS/CSRRC on mip use only the software-writable
     * SEIP bit as the old value, not the PLIC signal ORed into reads;
     * otherwise setting SSIP would latch a passing external interrupt.
     */
    return csr == CSR_MIP ? rv_mip_rmw_value(h) : read;
}

static void fp_csr_write(struct rv_hart *h, unsigned csr, uint64_t val)
{
    if (csr == CSR_FFLAGS)
        h->fflags = val & 0x1f;
    else if (csr == CSR_FRM)
        h->frm = val & 7;
    else {
        h->fflags = val & 0x1f;
        h->frm = (val >> 5) & 7;
    }
    h->mstatus |= MSTATUS_FS;
}

static void mip_write(struct rv_hart *h, uint64_t val, uint64_t mask)
{
    /* With Sstc enabled, STIP follows stimecmp and is read-only. */
    if (h->menvcfg & MENVCFG_STCE)
        mask &= ~(1ull << RV_IRQ_STI);
    h->mip_sw = (h->mip_sw & ~mask) | (val & mask);
    rv_request_check(h);
}

static bool csr_write_counters(struct rv_hart *h, unsigned csr, uint64_t val)
{
    if ((csr >= CSR_MHPMCOUNTER3 && csr <= CSR_MHPMCOUNTER31) ||
        (csr >= CSR_MHPMEVENT3 && csr <= CSR_MHPMEVENT31) || csr == CSR_MCOUNTINHIBIT)
        return true; /* hardwired to zero */
    if (csr == CSR_MCYCLE) {
        /* The write happens before this instruction retires. */
        h->cycle_offset = val - h->instret - 1;
        return true;
    }
    if (csr == CSR_MINSTRET) {
        h->instret_offset = val - h->instret - 1;
        return true;
    }
    return false;
}

static bool csr_write_pmp(struct rv_hart *h, unsigned csr, uint64_t val)
{
    if (csr >= CSR_PMPCFG0 && csr <= CSR_PMPCFG15) {
        if (csr & 1)
            return false;
        pmpcfg_write(h, csr - CSR_PMPCFG0, val);
        return true;
    }
    if (csr >= CSR_PMPADDR0 && csr <= CSR_PMPADDR63) {
        pmpaddr_write(h, csr - CSR_PMPADDR0, val);
        return true;
    }
    return csr_write_counters(h, csr, val);
}

bool rv_csr_write(struct rv_hart *h, unsigned csr, uint64_t val)
{
    switch (csr) {
    case CSR_FFLAGS:
    case CSR_FRM:
    case CSR_FCSR: fp_csr_write(h, csr, val); return true;
    case CSR_SSTATUS: mstatus_write(h, val, SSTATUS_WRITABLE); return true;
    case CSR_SIE:
        h->mie = (h->mie & ~h->mideleg) | (val & h->mideleg & MIE_WRITABLE);
        rv_request_check(h);
        return true;
    case CSR_STVEC: h->stvec = tvec_legalise(h->stvec, val); return true;
    case CSR_SCOUNTEREN: h->scounteren = (uint32_t)val; return true;
    case CSR_SENVCFG: h->senvcfg = val & 1; return true;
    case CSR_SSCRATCH: h->sscratch = val; return true;
    case CSR_SEPC: h->sepc = val & ~1ull; return true;
    case CSR_SCAUSE: h->scause = val; return true;
    case CSR_STVAL: h->stval = val; return true;
    case CSR_SIP: mip_write(h, val, h->mideleg & (1ull << RV_IRQ_SSI)); return true;
    case CSR_STIMECMP: h->stimecmp = val; rv_request_check(h); return true;
    case CSR_SATP: satp_write(h, val); return true;
    case CSR_MSTATUS: mstatus_write(h, val, MSTATUS_WRITABLE); return true;
    case CSR_MISA: return true; /* WARL: the extensions cannot be turned off */
    case CSR_MEDELEG: h->medeleg = val & MEDELEG_WRITABLE; return true;
    case CSR_MIDELEG: h->mideleg = val & MIDELEG_WRITABLE; rv_request_check(h); return true;
    case CSR_MIE: h->mie = val & MIE_WRITABLE; rv_request_check(h); return true;
    case CSR_MTVEC: h->mtvec = tvec_legalise(h->mtvec, val); return true;
    case CSR_MCOUNTEREN: h->mcounteren = (uint32_t)val; return true;
    case CSR_MENVCFG:
        h->menvcfg = val & (MENVCFG_STCE | 1);
        rv_request_check(h);
        return true;
    case CSR_MSCRATCH: h->mscratch = val; return true;
    case CSR_MEPC: h->mepc = val & ~1ull; return true;
    case CSR_MCAUSE: h->mcause = val; return true;
    case CSR_MTVAL: h->mtval = val; return true;
    case CSR_MIP:
        mip_write(h, val, (1ull << RV_IRQ_SSI) | (1ull << RV_IRQ_STI) | (1ull << RV_IRQ_SEI));
        return true;
    default: return csr_write_pmp(h, csr, val);
    }
}
