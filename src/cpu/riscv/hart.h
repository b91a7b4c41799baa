/* SPDX-License-Identifier: MIT */
/*
 * One RISC-V RV64GC hart (public interface for the board and tests).
 *
 * The hart reaches memory and devices only through the bus it is given
 * (mem/bus.h) and learns about interrupts only through the calls below,
 * which the board wires to its interrupt controllers. It never knows which
 * devices exist.
 *
 * Threading: one host thread runs a hart (rv_hart_run and every call not
 * marked thread-safe). The calls marked thread-safe may come from any
 * thread, e.g. a device raising an interrupt or the VM pausing the hart.
 */
#ifndef MQ_CPU_RISCV_HART_H
#define MQ_CPU_RISCV_HART_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mem/bus.h"
#include "util/clock.h"

struct rv_hart;
struct mq_state_writer;
struct mq_state_reader;

/* Bits of mip/mie (privileged spec, "Machine Interrupt Registers"). */
enum {
    RV_IRQ_SSI = 1,
    RV_IRQ_MSI = 3,
    RV_IRQ_STI = 5,
    RV_IRQ_MTI = 7,
    RV_IRQ_SEI = 9,
    RV_IRQ_MEI = 11,
};

struct rv_hart_config {
    unsigned hartid;
    struct mq_bus *bus;          /* RAM and devices; outlives the hart */
    struct mq_timebase *timebase; /* the machine's mtime; outlives the hart */
    uint64_t reset_pc;
    /* Highest paging mode offered in satp: 8 = Sv39, 9 = Sv48 (default). */
    unsigned max_satp_mode;
};

/* Create a hart in its reset state. NULL on allocation failure. */
struct rv_hart *rv_hart_create(const struct rv_hart_config *cfg);
void rv_hart_destroy(struct rv_hart *h);

/* Reset: M mode, pc = reset_pc, CSRs to their reset values. */
void rv_hart_reset(struct rv_hart *h);

uint64_t rv_hart_get_pc(const struct rv_hart *h);
void rv_hart_set_pc(struct rv_hart *h, uint64_t pc);
uint64_t rv_hart_get_xreg(const struct rv_hart *h, unsigned idx);
void rv_hart_set_xreg(struct rv_hart *h, unsigned idx, uint64_t val);
unsigned rv_hart_get_priv(const struct rv_hart *h);
unsigned rv_hart_id(const struct rv_hart *h);
/* Instructions retired since reset (minstret without guest writes). */
uint64_t rv_hart_retired(const struct rv_hart *h);

/* Counters since reset, for statistics. Thread-safe (a recent value while the hart runs). */
struct rv_hart_counters {
    uint64_t instret;     /* instructions retired */
    uint64_t traps;       /* exceptions and interrupts taken */
    uint64_t page_faults; /* instruction, load and store page faults */
};
void rv_hart_get_counters(const struct rv_hart *h, struct rv_hart_counters *out);

/* Raise or lower an external interrupt input (MSIP, MEIP, SEIP). Thread-safe. */
void rv_hart_set_irq(struct rv_hart *h, unsigned irq_bit, bool level);
/* New machine timer compare value (from the CLINT). Thread-safe. */
void rv_hart_set_mtimecmp(struct rv_hart *h, uint64_t value);
uint64_t rv_hart_get_mtimecmp(const struct rv_hart *h);

enum rv_run_status {
    RV_RUN_BUDGET,  /* executed the instruction budget */
    RV_RUN_EXIT,    /* rv_hart_request_exit() was called */
    RV_RUN_WFI,     /* in WFI with nothing pending: call rv_hart_wait_for_interrupt */
};

/*
 * Execute up to max_insns instructions. Returns early with RV_RUN_WFI when
 * the hart waits for an interrupt and nothing is pending.
 */
enum rv_run_status rv_hart_run(struct rv_hart *h, uint64_t max_insns);

/*
 * Park the calling thread (no busy loop) until an interrupt is pending, an
 * enabled timer is due, an exit is requested, or at most one second passed.
 */
void rv_hart_wait_for_interrupt(struct rv_hart *h);

/*
 * One line describing the hart for humans (pc, mode, trap CSRs, pending
 * interrupts). Racy when the hart runs: a debugging aid only.
 */
void rv_hart_describe(const struct rv_hart *h, char *buf, size_t len);

/* True while the hart sits in WFI. */
bool rv_hart_in_wfi(const struct rv_hart *h);

/* Make rv_hart_run return soon (also from WFI). Thread-safe. */
void rv_hart_request_exit(struct rv_hart *h);
/* Clear a previous exit request before the next rv_hart_run. */
void rv_hart_clear_exit(struct rv_hart *h);

/*
 * Instruction trace: one line per retired instruction with pc, instruction
 * word, and the register written. NULL turns tracing off. The file stays
 * owned by the caller.
 */
void rv_hart_set_trace(struct rv_hart *h, FILE *trace);

/*
 * Snapshot support. The caller (the board) has opened the hart's section
 * ("hart.<id>") and closes it; these set / check its version and move the
 * fields. The hart must not be running (neither call is thread-safe).
 *
 * rv_hart_save writes every piece of architectural state: x and f
 * registers, pc, privilege mode, the WFI flag, every CSR the hart
 * implements, the PMP entries and the counters (mcycle/minstret continue
 * from the saved values). 0 or the writer's sticky error.
 *
 * rv_hart_load checks everything before it changes anything: the hart ID,
 * misa and the highest satp mode must be this hart's, the privilege mode
 * must exist, and every CSR value must be one a CSR write could have left
 * (WARL rules, PMP cfg, satp mode, mstatus MPP/FS/UXL/SXL...). A refusal
 * is recorded in r (mq_state_reader_fail, -EINVAL) and leaves the hart
 * exactly as it was; on success TLBs and decoded instructions are
 * flushed and the derived state recomputed. 0 or the reader's sticky
 * error.
 *
 * Not in the section, by design:
 *   mtimecmp   owned and saved by the CLINT, whose load hands it to the
 *              hart (rv_hart_set_mtimecmp); rv_hart_load leaves it alone;
 *   mip lines  MSIP/MEIP/SEIP as devices drive them: rv_hart_load leaves
 *              them alone, and the CLINT and PLIC loads re-drive every
 *              line; MTIP is recomputed from mtimecmp when the hart runs.
 *              So the order of hart and device loads does not matter;
 *   LR/SC      the reservation is dropped (a later SC fails, which the
 *              architecture allows; LR/SC loops retry).
 */
int rv_hart_save(struct rv_hart *h, struct mq_state_writer *w);
int rv_hart_load(struct rv_hart *h, struct mq_state_reader *r);

#endif
