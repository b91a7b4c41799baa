/* SPDX-License-Identifier: MIT */
/*
 * The hart's life: creation and reset, the interpreter loop over decoded
 * instructions, timer and interrupt checks between batches, WFI parking,
 * and the thread-safe calls the board uses to deliver interrupts.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "cpu/riscv/exec.h"

/* Instructions between two looks at timers, interrupts and exit requests. */
#define RV_BATCH 4096

struct rv_hart *rv_hart_create(const struct rv_hart_config *cfg)
{
    struct rv_hart *h;

    if (!cfg->bus || !cfg->bus->ram || !cfg->timebase)
        return NULL;
    h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->bus = cfg->bus;
    h->ram = cfg->bus->ram;
    h->timebase = cfg->timebase;
    h->hartid = cfg->hartid;
    h->reset_pc = cfg->reset_pc;
    h->max_satp_mode = cfg->max_satp_mode ? cfg->max_satp_mode : 9;
    /* Lazily committed: untouched decoded slots cost no host memory. */
    h->dcache = mmap(NULL, RV_DCACHE_PAGES * sizeof(struct rv_dpage), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (h->dcache == MAP_FAILED) {
        free(h);
        return NULL;
    }
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cond, NULL);
    mq_guest_mem_code_users_add(h->ram, 1);
    rv_hart_reset(h);
    return h;
}

void rv_hart_destroy(struct rv_hart *h)
{
    if (!h)
        return;
    mq_guest_mem_code_users_add(h->ram, -1);
    munmap(h->dcache, RV_DCACHE_PAGES * sizeof(struct rv_dpage));
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

void rv_hart_reset(struct rv_hart *h)
{
    memset(h->x, 0, sizeof(h->x));
    memset(h->f, 0, sizeof(h->f));
    h->pc = h->reset_pc;
    h->priv = RV_PRIV_M;
    /* UXL = SXL = 64 bits; everything else zero (priv spec 3.4). */
    h->mstatus = (2ull << 32) | (2ull << 34);
    h->medeleg = h->mideleg = h->mie = 0;
    h->mip_sw = 0;
    __atomic_store_n(&h->mip_hw, 0, __ATOMIC_SEQ_CST);
    h->mtvec = h->stvec = 0;
    h->mscratch = h->sscratch = h->mepc = h->sepc = 0;
    h->mcause = h->scause = h->mtval = h->stval = 0;
    h->satp = 0;
    h->mcounteren = h->scounteren = h->mcountinhibit = 0;
    h->menvcfg = h->senvcfg = 0;
    h->stimecmp = UINT64_MAX;
    __atomic_store_n(&h->mtimecmp, UINT64_MAX, __ATOMIC_SEQ_CST);
    h->instret = 0;
    h->cycle_offset = h->instret_offset = 0;
    h->fflags = h->frm = 0;
    memset(h->pmpcfg, 0, sizeof(h->pmpcfg));
    memset(h->pmpaddr, 0, sizeof(h->pmpaddr));
    rv_pmp_recompute(h);
    h->lr_valid = false;
    h->wfi = false;
    rv_tlb_flush(h);
    rv_dcache_flush(h);
    rv_update_mode(h);
}

uint64_t rv_hart_get_pc(const struct rv_hart *h)
{
    return h->pc;
}

void rv_hart_set_pc(struct rv_hart *h, uint64_t pc)
{
    h->pc = pc & ~1ull;
}

uint64_t rv_hart_get_xreg(const struct rv_hart *h, unsigned idx)
{
    return idx < 32 ? h->x[idx] : 0;
}

void rv_hart_set_xreg(struct rv_hart *h, unsigned idx, uint64_t val)
{
    if (idx > 0 && idx < 32)
        h->x[idx] = val;
}

unsigned rv_hart_get_priv(const struct rv_hart *h)
{
    return h->priv;
}

unsigned rv_hart_id(const struct rv_hart *h)
{
    return h->hartid;
}

uint64_t rv_hart_retired(const struct rv_hart *h)
{
    return h->instret;
}

void rv_hart_get_counters(const struct rv_hart *h, struct rv_hart_counters *out)
{
    /* Written by the hart's thread only; relaxed reads give a recent value. */
    out->instret = __atomic_load_n(&h->instret, __ATOMIC_RELAXED);
    out->traps = __atomic_load_n(&h->instret_trapped, __ATOMIC_RELAXED);
    out->page_faults = __atomic_load_n(&h->page_faults, __ATOMIC_RELAXED);
}

static void wake(struct rv_hart *h)
{
    __atomic_store_n(&h->check, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&h->lock);
    pthread_cond_signal(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

void rv_hart_set_irq(struct rv_hart *h, unsigned irq_bit, bool level)
{
    uint64_t bit = 1ull << irq_bit;

    if (level)
        __atomic_fetch_or(&h->mip_hw, bit, __ATOMIC_SEQ_CST);
    else
        __atomic_fetch_and(&h->mip_hw, ~bit, __ATOMIC_SEQ_CST);
    wake(h);
}

void rv_hart_set_mtimecmp(struct rv_hart *h, uint64_t value)
{
    __atomic_store_n(&h->mtimecmp, value, __ATOMIC_SEQ_CST);
    wake(h);
}

uint64_t rv_hart_get_mtimecmp(const struct rv_hart *h)
{
    return __atomic_load_n(&h->mtimecmp, __ATOMIC_SEQ_CST);
}

void rv_hart_request_exit(struct rv_hart *h)
{
    __atomic_store_n(&h->exit_request, 1, __ATOMIC_SEQ_CST);
    wake(h);
}

void rv_hart_clear_exit(struct rv_hart *h)
{
    __atomic_store_n(&h->exit_request, 0, __ATOMIC_SEQ_CST);
}

void rv_hart_set_trace(struct rv_hart *h, FILE *trace)
{
    h->trace = trace;
}

/* MTIP from mtimecmp and, with Sstc enabled, STIP from stimecmp. */
static void update_timers(struct rv_hart *h)
{
    uint64_t now = mq_timebase_read(h->timebase);
    bool mtip = now >= rv_hart_get_mtimecmp(h);
    uint64_t mbit = 1ull << RV_IRQ_MTI, sbit = 1ull << RV_IRQ_STI;

    if (mtip != !!(__atomic_load_n(&h->mip_hw, __ATOMIC_RELAXED) & mbit)) {
        if (mtip)
            __atomic_fetch_or(&h->mip_hw, mbit, __ATOMIC_SEQ_CST);
        else
            __atomic_fetch_and(&h->mip_hw, ~mbit, __ATOMIC_SEQ_CST);
    }
    if (h->menvcfg & MENVCFG_STCE)
        h->mip_sw = (h->mip_sw & ~sbit) | (now >= h->stimecmp ? sbit : 0);
}

/* Only timers whose interrupt is enabled in mie can end a WFI. */
static uint64_t next_timer_deadline_ns(const struct rv_hart *h)
{
    uint64_t deadline = UINT64_MAX;

    if (h->mie & (1ull << RV_IRQ_MTI))
        deadline = mq_timebase_deadline_ns(h->timebase, rv_hart_get_mtimecmp(h));
    if ((h->menvcfg & MENVCFG_STCE) && (h->mie & (1ull << RV_IRQ_STI))) {
        uint64_t s = mq_timebase_deadline_ns(h->timebase, h->stimecmp);
        if (s < deadline)
            deadline = s;
    }
    return deadline;
}

void rv_hart_wait_for_interrupt(struct rv_hart *h)
{
    uint64_t deadline = next_timer_deadline_ns(h);
    uint64_t now = mq_clock_monotonic_ns();
    uint64_t delay, abs;
    struct timespec ts;

    /*
     * A deadline already reached means the timer fired since the hart last
     * looked: return and let rv_hart_run raise it. Otherwise sleep at most
     * one second so clock changes (mtime writes) are noticed.
     */
    if (deadline <= now)
        return;
    delay = deadline - now;
    if (delay > 1000000000ull)
        delay = 1000000000ull;
    deadline = now + delay;
    /* pthread_cond_timedwait takes CLOCK_REALTIME: convert the delay. */
    abs = mq_clock_realtime_ns() + delay;
    ts.tv_sec = (time_t)(abs / 1000000000ull);
    ts.tv_nsec = (long)(abs % 1000000000ull);
    pthread_mutex_lock(&h->lock);
    while (!__atomic_load_n(&h->exit_request, __ATOMIC_SEQ_CST) &&
           !(rv_mip_read(h) & h->mie) && mq_clock_monotonic_ns() < deadline) {
        if (pthread_cond_timedwait(&h->cond, &h->lock, &ts) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&h->lock);
}

void rv_exec_uncached(struct rv_hart *h)
{
    struct rv_insn in;
    uint16_t lo, hi;

    if (!rv_fetch16(h, h->pc, &lo))
        return;
    if ((lo & 3) != 3) {
        rv_decode16(lo, &in);
    } else {
        if (!rv_fetch16(h, h->pc + 2, &hi))
            return;
        rv_decode32((uint32_t)lo | (uint32_t)hi << 16, &in);
    }
    h->pc = in.fn(h, &in, h->pc);
}

uint64_t rv_exec_cross_page(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    rv_exec_uncached(h);
    return h->pc;
}

static void exec_traced(struct rv_hart *h, uint64_t end)
{
    while (h->instret < end && !rv_check_pending(h)) {
        uint64_t pc = h->pc, trapped_before = h->instret_trapped;
        unsigned priv = h->priv;
        uint16_t lo = 0, hi = 0;
        uint32_t raw;
        unsigned len;

        h->instret++;
        /* Fetch again for the log only; faults are raised by rv_exec_uncached. */
        uint64_t pa;
        if (rv_translate(h, pc, RV_ACC_EXEC, h->priv, &pa) == 0) {
            uint64_t v;
            if (mq_bus_read(h->bus, pa, 2, &v) == 0)
                lo = (uint16_t)v;
            if ((lo & 3) == 3 && rv_translate(h, pc + 2, RV_ACC_EXEC, h->priv, &pa) == 0 &&
                mq_bus_read(h->bus, pa, 2, &v) == 0)
                hi = (uint16_t)v;
        }
        len = (lo & 3) == 3 ? 4 : 2;
        raw = len == 4 ? ((uint32_t)lo | (uint32_t)hi << 16) : lo;
        rv_exec_uncached(h);
        rv_trace_insn(h, priv, pc, raw, len);
        /* A trapping instruction wrote nothing: print its destination only on success. */
        if (h->instret_trapped == trapped_before)
            rv_trace_dest(h, raw, len);
        fputc('\n', h->trace);
    }
}

enum rv_run_status rv_hart_run(struct rv_hart *h, uint64_t max_insns)
{
    uint64_t end = h->instret + max_insns;

    if (end < h->instret)
        end = UINT64_MAX;
    while (h->instret < end) {
        if (__atomic_load_n(&h->exit_request, __ATOMIC_SEQ_CST))
            return RV_RUN_EXIT;
        __atomic_store_n(&h->check, 0, __ATOMIC_SEQ_CST);
        /*
         * Re-validate the decoded page at every batch: code rewritten by
         * another hart or by DMA is picked up within one batch even without
         * the fence.i the specification asks software for.
         */
        rv_invalidate_fetch(h);
        update_timers(h);
        rv_check_interrupts(h);
        if (h->wfi) {
            if (!(rv_mip_read(h) & h->mie))
                return RV_RUN_WFI;
            h->wfi = false;
        }
        uint64_t batch_end = end - h->instret > RV_BATCH ? h->instret + RV_BATCH : end;
        if (unlikely(h->trace))
            exec_traced(h, batch_end);
        else
            rv_interp_run(h, batch_end, end);
    }
    return RV_RUN_BUDGET;
}

bool rv_hart_in_wfi(const struct rv_hart *h)
{
    return h->wfi;
}

void rv_hart_describe(const struct rv_hart *h, char *buf, size_t len)
{
    snprintf(buf, len,
             "pc 0x%llx mode %c%s retired %llu mstatus 0x%llx mip 0x%llx mie 0x%llx "
             "mcause 0x%llx mepc 0x%llx scause 0x%llx sepc 0x%llx stval 0x%llx",
             (unsigned long long)h->pc, "US?M"[h->priv & 3], h->wfi ? " (wfi)" : "",
             (unsigned long long)h->instret, (unsigned long long)h->mstatus,
             (unsigned long long)rv_mip_read(h), (unsigned long long)h->mie,
             (unsigned long long)h->mcause, (unsigned long long)h->mepc,
             (unsigned long long)h->scause, (unsigned long long)h->sepc,
             (unsigned long long)h->stval);
}
