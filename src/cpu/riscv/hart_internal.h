/* SPDX-License-Identifier: MIT */
/*
 * Hart internals shared by the interpreter files: architectural state,
 * the software TLB, the decoded-instruction cache and the inline memory
 * fast paths. Follows the RISC-V privileged specification 20211203 and the
 * unprivileged specification 20191213 (RV64GC, Zicsr, Zifencei, Zicntr, Sstc).
 */
#ifndef MQ_CPU_RISCV_HART_INTERNAL_H
#define MQ_CPU_RISCV_HART_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cpu/riscv/hart.h"
#include "mem/bus.h"
#include "mem/guest_mem.h"
#include "util/compiler.h"

enum rv_priv { RV_PRIV_U = 0, RV_PRIV_S = 1, RV_PRIV_M = 3 };

/* Synchronous exception causes (privileged spec table 3.6). */
enum rv_exc {
    RV_EXC_INSN_MISALIGNED = 0,
    RV_EXC_INSN_ACCESS = 1,
    RV_EXC_ILLEGAL = 2,
    RV_EXC_BREAKPOINT = 3,
    RV_EXC_LOAD_MISALIGNED = 4,
    RV_EXC_LOAD_ACCESS = 5,
    RV_EXC_STORE_MISALIGNED = 6,
    RV_EXC_STORE_ACCESS = 7,
    RV_EXC_ECALL_U = 8,
    RV_EXC_ECALL_S = 9,
    RV_EXC_ECALL_M = 11,
    RV_EXC_INSN_PAGE = 12,
    RV_EXC_LOAD_PAGE = 13,
    RV_EXC_STORE_PAGE = 15,
};

/* Kinds of memory access, for translation, PMP and fault causes. */
enum rv_access { RV_ACC_READ = 0, RV_ACC_WRITE = 1, RV_ACC_EXEC = 2 };

/* mstatus bits. */
#define MSTATUS_SIE (1ull << 1)
#define MSTATUS_MIE (1ull << 3)
#define MSTATUS_SPIE (1ull << 5)
#define MSTATUS_MPIE (1ull << 7)
#define MSTATUS_SPP (1ull << 8)
#define MSTATUS_MPP_SHIFT 11
#define MSTATUS_MPP (3ull << 11)
#define MSTATUS_FS_SHIFT 13
#define MSTATUS_FS (3ull << 13)
#define MSTATUS_MPRV (1ull << 17)
#define MSTATUS_SUM (1ull << 18)
#define MSTATUS_MXR (1ull << 19)
#define MSTATUS_TVM (1ull << 20)
#define MSTATUS_TW (1ull << 21)
#define MSTATUS_TSR (1ull << 22)
#define MSTATUS_UXL (3ull << 32)
#define MSTATUS_SXL (3ull << 34)
#define MSTATUS_SD (1ull << 63)

#define MENVCFG_STCE (1ull << 63)

#define RV_TLB_BITS 10
#define RV_TLB_SIZE (1u << RV_TLB_BITS)
#define RV_TLB_INVALID (~0ull)

/*
 * A TLB entry maps one 4 KiB virtual page to host RAM: host = va + addend.
 * Bits 3-7 of the tag hold the access key (effective privilege, SUM, MXR),
 * so entries made under another mode never match; bits 0-2 are zero, so
 * one compare with (va & (~0xfff | (size - 1))) | key also checks that an
 * access of size bytes is aligned.
 */
#define RV_TLB_KEY_SHIFT 3
struct rv_tlb_entry {
    uint64_t tag;
    uintptr_t addend;
};

struct rv_insn;
/*
 * Execute one instruction at pc (h->pc holds pc too, for traps) and return
 * the pc of the next one. A trap returns the handler address (h->pc).
 */
typedef uint64_t (*rv_exec_fn)(struct rv_hart *h, const struct rv_insn *in, uint64_t pc);

/*
 * One decoded instruction. 16 bytes so a decoded page stays compact.
 * imm holds the immediate, or the CSR number, or for FP arithmetic the
 * rounding mode (bits 0-2) and rs3 (bits 8-12). op selects the dispatch
 * loop's inline copy of fn (interp.c, enum rv_fast_op); 0 marks a slot
 * that is not decoded yet.
 */
struct rv_insn {
    rv_exec_fn fn;
    int32_t imm;
    uint8_t rd, rs1;
    uint8_t rs2 : 5, len : 3;
    uint8_t op;
};

#define RV_DPAGE_SLOTS 2048 /* one per 2-byte parcel of a 4 KiB page */

/*
 * Decoded instructions of one physical page of RAM. A slot whose op is
 * RV_OP_DECODE (and fn NULL) is not decoded yet. The used bitmap records
 * decoded slots so that reusing the page clears only those (a page rarely
 * has many).
 */
struct rv_dpage {
    uint64_t used[RV_DPAGE_SLOTS / 64];
    struct rv_insn slot[RV_DPAGE_SLOTS + 1]; /* + a sentinel (RV_OP_PAGE_END) */
};

/*
 * Decoded pages per hart, direct-mapped by physical page. They live in one
 * lazily committed mapping: only slots that were decoded take host memory.
 * Which page a frame holds is kept apart, in the hart (struct rv_dtag), so
 * looking a page up or dropping them all touches 16 KiB, not every frame.
 */
#define RV_DCACHE_PAGES 1024

struct rv_dtag {
    uint64_t page_index; /* RAM page number (offset from RAM base >> 12) */
    uint32_t gen;        /* guest_mem code generation when decoded */
    bool valid;
};

#define RV_PMP_COUNT 16

struct rv_hart {
    /* Hot state first. */
    uint64_t x[32];
    uint64_t pc;
    uint64_t f[32];
    uint64_t instret; /* instructions executed since reset */
    uint64_t instret_trapped; /* synchronous exceptions and interrupts taken */
    uint64_t page_faults;     /* instruction, load and store page faults taken */
    /* Nonzero: leave the inner loop to look at interrupts/exit/wfi (atomic). */
    int check;

    /* Current fetch page: virtual page, its decoded page, valid flag. */
    uint64_t fetch_vpage;
    struct rv_dpage *fetch_dpage;

    unsigned priv;
    uint64_t data_key;  /* TLB key for loads/stores (MPRV-adjusted priv, SUM, MXR) */
    uint64_t fetch_key; /* TLB key for instruction fetch */

    struct rv_tlb_entry tlb_r[RV_TLB_SIZE];
    struct rv_tlb_entry tlb_w[RV_TLB_SIZE];
    struct rv_tlb_entry tlb_x[RV_TLB_SIZE];

    struct mq_bus *bus;
    struct mq_guest_mem *ram;
    struct mq_timebase *timebase;
    unsigned hartid;
    uint64_t reset_pc;
    unsigned max_satp_mode;

    /* CSRs */
    uint64_t mstatus;
    uint64_t misa;
    uint64_t medeleg, mideleg;
    uint64_t mie;
    uint64_t mip_sw;  /* bits software may write (SSIP, STIP, SEIP) */
    uint64_t mip_hw;  /* device-driven bits (MSIP, MEIP, SEIP); atomic */
    uint64_t mtvec, stvec;
    uint64_t mscratch, sscratch;
    uint64_t mepc, sepc;
    uint64_t mcause, scause;
    uint64_t mtval, stval;
    uint64_t satp;
    uint32_t mcounteren, scounteren, mcountinhibit;
    uint64_t menvcfg, senvcfg;
    uint64_t stimecmp;
    uint64_t mtimecmp; /* atomic: written by the CLINT from other threads */
    uint64_t cycle_offset;   /* mcycle = instret + cycle_offset */
    uint64_t instret_offset; /* minstret = instret + instret_offset */
    uint32_t fflags, frm;
    uint8_t pmpcfg[RV_PMP_COUNT];
    uint64_t pmpaddr[RV_PMP_COUNT];
    bool pmp_active; /* some entry is not OFF */
    uint64_t pmp_lo[RV_PMP_COUNT], pmp_hi[RV_PMP_COUNT]; /* decoded [lo, hi) ranges */

    /* LR/SC reservation. */
    bool lr_valid;
    uint64_t lr_addr; /* physical */
    uint64_t lr_value;
    unsigned lr_size;

    /* WFI and cross-thread signalling. */
    bool wfi;
    int exit_request; /* atomic */
    pthread_mutex_t lock;
    pthread_cond_t cond;

    FILE *trace;

    struct rv_dpage *dcache; /* RV_DCACHE_PAGES entries, mmap'd */
    struct rv_dtag dtag[RV_DCACHE_PAGES];
    uint64_t fetch_page_index; /* RAM page of fetch_dpage */
};

/* ---- trap.c ---- */
/* Raise a synchronous exception for the instruction at h->pc. */
void rv_raise(struct rv_hart *h, uint64_t cause, uint64_t tval);
/* Take the highest-priority enabled interrupt, if any. True when taken. */
bool rv_check_interrupts(struct rv_hart *h);
uint64_t rv_pending_interrupts(const struct rv_hart *h);
uint64_t rv_exec_mret(struct rv_hart *h, const struct rv_insn *in, uint64_t pc);
uint64_t rv_exec_sret(struct rv_hart *h, const struct rv_insn *in, uint64_t pc);
/* Recompute derived state after priv/mstatus changes. */
void rv_update_mode(struct rv_hart *h);
uint64_t rv_mip_read(const struct rv_hart *h);
/* mip as CSRRS/CSRRC see it: the software SEIP bit only (priv spec 3.1.9). */
uint64_t rv_mip_rmw_value(const struct rv_hart *h);

/* ---- csr.c ---- */
/* Read/write a CSR for the CSR instructions. False: illegal instruction. */
bool rv_csr_read(struct rv_hart *h, unsigned csr, uint64_t *val);
bool rv_csr_write(struct rv_hart *h, unsigned csr, uint64_t val);
/* The old value CSRRS/CSRRC modify (read is what rd receives). */
uint64_t rv_csr_rmw_base(const struct rv_hart *h, unsigned csr, uint64_t read);
/* True when CSR csr exists and may be accessed at the current privilege. */
bool rv_csr_accessible(struct rv_hart *h, unsigned csr, bool write);

/* ---- mmu.c ---- */
/*
 * Translate va for access at privilege priv. On success returns 0 and sets
 * *pa; otherwise returns the exception cause to raise (page fault or access
 * fault). Sets A/D bits. Does not consult or fill the TLB.
 */
int rv_translate(struct rv_hart *h, uint64_t va, enum rv_access acc, unsigned priv,
                 uint64_t *pa);
/* Effective privilege for loads/stores (MPRV). */
unsigned rv_data_priv(const struct rv_hart *h);
void rv_tlb_flush(struct rv_hart *h);
void rv_tlb_flush_page(struct rv_hart *h, uint64_t va);
/* Slow paths: translation, TLB fill, MMIO, page-crossing. False: trap raised. */
bool rv_load_slow(struct rv_hart *h, uint64_t va, unsigned size, uint64_t *val);
bool rv_store_slow(struct rv_hart *h, uint64_t va, unsigned size, uint64_t val);
/* Host pointer for an atomic access (aligned, RAM, writable), or NULL with a trap raised. */
void *rv_amo_ptr(struct rv_hart *h, uint64_t va, unsigned size, bool write_needed,
                 uint64_t *pa);
/* Fetch 16 bits of instruction at va for decode: false with trap raised. */
bool rv_fetch16(struct rv_hart *h, uint64_t va, uint16_t *val);
/* Set up h->fetch_vpage/fetch_dpage for pc. False: trap raised. */
bool rv_fetch_page(struct rv_hart *h, uint64_t pc);
void rv_dcache_flush(struct rv_hart *h);

/* ---- pmp.c ---- */
/* True when the access [pa, pa+len) at privilege priv is allowed. */
bool rv_pmp_check(const struct rv_hart *h, uint64_t pa, uint64_t len, enum rv_access acc,
                  unsigned priv);
/* True when the whole 4 KiB page containing pa gives the same answer for every byte. */
bool rv_pmp_page_uniform(const struct rv_hart *h, uint64_t pa, enum rv_access acc,
                         unsigned priv);
void rv_pmp_recompute(struct rv_hart *h);

/* ---- decode.c / rvc.c ---- */
/* Decode a 32-bit instruction into in (len = 4). Illegal ones get rv_exec_illegal. */
void rv_decode32(uint32_t raw, struct rv_insn *in);
/* Decode a 16-bit instruction (len = 2). */
void rv_decode16(uint16_t raw, struct rv_insn *in);
/* Expand a compressed instruction to its 32-bit equivalent; 0 when illegal. */
uint32_t rv_rvc_expand(uint16_t c);

/* ---- interp.c ---- */
/*
 * Run instructions until h->instret reaches about soft_end (it may run up
 * to one page of instructions past it), an instruction asks for a check
 * (h->check) or, at the next taken jump or page change, another thread set
 * h->check. Never runs past end.
 */
void rv_interp_run(struct rv_hart *h, uint64_t soft_end, uint64_t end);
/* The dispatch loop's op for a decoded instruction (sets in->op). */
void rv_interp_set_op(struct rv_insn *in);

/* ---- hart.c ---- */
/* Fetch, decode and execute the instruction at h->pc without the decoded cache. */
void rv_exec_uncached(struct rv_hart *h);

/* ---- exec handlers referenced by the decoder ---- */
uint64_t rv_exec_illegal(struct rv_hart *h, const struct rv_insn *in, uint64_t pc);
uint64_t rv_exec_cross_page(struct rv_hart *h, const struct rv_insn *in, uint64_t pc);

/* ---- trace.c ---- */
void rv_trace_insn(struct rv_hart *h, unsigned priv, uint64_t pc, uint32_t raw,
                   unsigned len);
/* Append " xN=value" / " fN=value" for the register the instruction writes. */
void rv_trace_dest(struct rv_hart *h, uint32_t raw, unsigned len);

/* ---- helpers ---- */

static inline uint64_t rv_sext32(uint64_t v)
{
    return (uint64_t)(int64_t)(int32_t)v;
}

static inline void rv_set_x(struct rv_hart *h, unsigned rd, uint64_t v)
{
    /* x0 is written too and re-zeroed: cheaper than a branch. */
    h->x[rd] = v;
    h->x[0] = 0;
}

static inline void rv_request_check(struct rv_hart *h)
{
    __atomic_store_n(&h->check, 1, __ATOMIC_RELAXED);
}

/* Relaxed: a plain load on the hosts we target, but race-free for TSan. */
static inline int rv_check_pending(struct rv_hart *h)
{
    return __atomic_load_n(&h->check, __ATOMIC_RELAXED);
}

/* Force the next instruction fetch to re-validate its page. */
static inline void rv_invalidate_fetch(struct rv_hart *h)
{
    h->fetch_vpage = RV_TLB_INVALID;
}

static inline unsigned rv_tlb_index(uint64_t va)
{
    return (unsigned)(va >> 12) & (RV_TLB_SIZE - 1);
}

/*
 * Load fast path: aligned or not, as long as it stays inside one page of
 * RAM. name##_fast only tries the TLB and returns false when the slow path
 * is needed (nothing raised); name falls back to the slow path.
 */
#define RV_DEFINE_LOAD(name, type)                                                   \
    static MQ_ALWAYS_INLINE bool name##_fast(struct rv_hart *h, uint64_t va,         \
                                             uint64_t *out)                          \
    {                                                                                \
        const struct rv_tlb_entry *e = &h->tlb_r[rv_tlb_index(va)];                  \
        if (likely(e->tag == ((va & (~0xfffull | (sizeof(type) - 1))) | h->data_key))) { \
            /* Aligned guest accesses are single-copy atomic (relaxed): other */     \
            /* harts may access the same word; plain movs on x86 and arm64. */       \
            *out = (uint64_t)(type)__atomic_load_n(                                  \
                (const u##type *)(uintptr_t)(va + e->addend), __ATOMIC_RELAXED);     \
            return true;                                                             \
        }                                                                            \
        if (likely(e->tag == ((va & ~0xfffull) | h->data_key) &&                     \
                   (va & 0xfff) <= 4096 - sizeof(type))) {                           \
            type v;                                                                  \
            memcpy(&v, (const void *)(uintptr_t)(va + e->addend), sizeof(type));     \
            *out = (uint64_t)v;                                                      \
            return true;                                                             \
        }                                                                            \
        return false;                                                                \
    }                                                                                \
    static MQ_ALWAYS_INLINE bool name(struct rv_hart *h, uint64_t va, uint64_t *out) \
    {                                                                                \
        if (likely(name##_fast(h, va, out)))                                         \
            return true;                                                             \
        uint64_t raw;                                                                \
        if (!rv_load_slow(h, va, sizeof(type), &raw))                                \
            return false;                                                            \
        *out = (uint64_t)(type)raw;                                                  \
        return true;                                                                 \
    }

/*
 * Unsigned twin of each load type for the atomic load: u##int8_t is
 * uint8_t already; these make u##uint8_t work too.
 */
typedef uint8_t uuint8_t;
typedef uint16_t uuint16_t;
typedef uint32_t uuint32_t;
typedef uint64_t uuint64_t;

RV_DEFINE_LOAD(rv_load_u8, uint8_t)
RV_DEFINE_LOAD(rv_load_u16, uint16_t)
RV_DEFINE_LOAD(rv_load_u32, uint32_t)
RV_DEFINE_LOAD(rv_load_u64, uint64_t)
RV_DEFINE_LOAD(rv_load_s8, int8_t)
RV_DEFINE_LOAD(rv_load_s16, int16_t)
RV_DEFINE_LOAD(rv_load_s32, int32_t)

/*
 * Store fast path. A store to a page holding decoded code takes the slow
 * path, which tells the code tracker so stale decoded instructions are
 * dropped.
 */
#define RV_DEFINE_STORE(name, type)                                                  \
    static MQ_ALWAYS_INLINE bool name##_fast(struct rv_hart *h, uint64_t va,         \
                                             uint64_t val)                           \
    {                                                                                \
        const struct rv_tlb_entry *e = &h->tlb_w[rv_tlb_index(va)];                  \
        uintptr_t p = (uintptr_t)(va + e->addend);                                   \
        uint64_t page = (uint64_t)(p - (uintptr_t)h->ram->host) >> MQ_PAGE_SHIFT;    \
        if (likely(e->tag == ((va & (~0xfffull | (sizeof(type) - 1))) | h->data_key))) { \
            if (likely(!mq_guest_mem_page_has_code(h->ram, page))) {                 \
                __atomic_store_n((type *)p, (type)val, __ATOMIC_RELAXED);            \
                return true;                                                         \
            }                                                                        \
        } else if (e->tag == ((va & ~0xfffull) | h->data_key) &&                     \
                   (va & 0xfff) <= 4096 - sizeof(type)) {                            \
            if (!mq_guest_mem_page_has_code(h->ram, page)) {                         \
                type v = (type)val;                                                  \
                memcpy((void *)p, &v, sizeof(type));                                 \
                return true;                                                         \
            }                                                                        \
        }                                                                            \
        return false;                                                                \
    }                                                                                \
    static MQ_ALWAYS_INLINE bool name(struct rv_hart *h, uint64_t va, uint64_t val)  \
    {                                                                                \
        if (likely(name##_fast(h, va, val)))                                         \
            return true;                                                             \
        return rv_store_slow(h, va, sizeof(type), val);                              \
    }

RV_DEFINE_STORE(rv_store_u8, uint8_t)
RV_DEFINE_STORE(rv_store_u16, uint16_t)
RV_DEFINE_STORE(rv_store_u32, uint32_t)
RV_DEFINE_STORE(rv_store_u64, uint64_t)

#endif
