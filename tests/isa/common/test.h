/* SPDX-License-Identifier: MIT */
/* Shared helpers of the bare-metal ISA tests: console, TAP output, CSR access,
 * trap expectations and running code in S/U mode (virt board, M-mode start). */
#ifndef ISA_TEST_H
#define ISA_TEST_H

#include <stdint.h>
#include <stddef.h>

typedef uint64_t u64;
typedef int64_t i64;
typedef uint32_t u32;
typedef int32_t i32;

/* virt board addresses (QEMU compatible). */
#define UART_BASE     0x10000000UL
#define SYSCON_BASE   0x100000UL
#define CLINT_BASE    0x2000000UL
#define CLINT_MSIP(h)     (CLINT_BASE + 4UL * (h))
#define CLINT_MTIMECMP(h) (CLINT_BASE + 0x4000UL + 8UL * (h))
#define CLINT_MTIME       (CLINT_BASE + 0xbff8UL)

#include "asm.h"

/* Privilege levels as encoded in mstatus.MPP. */
#define PRV_U 0
#define PRV_S 1
#define PRV_M 3

/* mstatus bits */
#define MSTATUS_SIE   (1UL << 1)
#define MSTATUS_MIE   (1UL << 3)
#define MSTATUS_SPIE  (1UL << 5)
#define MSTATUS_MPIE  (1UL << 7)
#define MSTATUS_SPP   (1UL << 8)
#define MSTATUS_MPP   (3UL << 11)
#define MSTATUS_FS    (3UL << 13)
#define MSTATUS_MPRV  (1UL << 17)
#define MSTATUS_SUM   (1UL << 18)
#define MSTATUS_MXR   (1UL << 19)
#define MSTATUS_TVM   (1UL << 20)
#define MSTATUS_TW    (1UL << 21)
#define MSTATUS_TSR   (1UL << 22)
#define MSTATUS_SD    (1UL << 63)

/* Interrupt numbers (mip/mie bits, mcause codes). */
#define IRQ_SSI 1
#define IRQ_MSI 3
#define IRQ_STI 5
#define IRQ_MTI 7
#define IRQ_SEI 9
#define IRQ_MEI 11
#define CAUSE_INTR (1UL << 63)

/* Exception causes. */
#define CAUSE_FETCH_MISALIGNED 0
#define CAUSE_FETCH_ACCESS     1
#define CAUSE_ILLEGAL          2
#define CAUSE_BREAKPOINT       3
#define CAUSE_LOAD_MISALIGNED  4
#define CAUSE_LOAD_ACCESS      5
#define CAUSE_STORE_MISALIGNED 6
#define CAUSE_STORE_ACCESS     7
#define CAUSE_ECALL_U          8
#define CAUSE_ECALL_S          9
#define CAUSE_ECALL_M          11
#define CAUSE_FETCH_PAGE       12
#define CAUSE_LOAD_PAGE        13
#define CAUSE_STORE_PAGE       15

#define STR_(x) #x
#define STR(x) STR_(x)

#define csr_read(csr) ({ u64 v_; asm volatile("csrr %0, " STR(csr) : "=r"(v_) :: "memory"); v_; })
#define csr_write(csr, val) ({ asm volatile("csrw " STR(csr) ", %0" :: "rK"((u64)(val)) : "memory"); })
#define csr_set(csr, val) ({ asm volatile("csrs " STR(csr) ", %0" :: "rK"((u64)(val)) : "memory"); })
#define csr_clear(csr, val) ({ asm volatile("csrc " STR(csr) ", %0" :: "rK"((u64)(val)) : "memory"); })
#define csr_swap(csr, val) ({ u64 v_; asm volatile("csrrw %0, " STR(csr) ", %1" : "=r"(v_) : "rK"((u64)(val)) : "memory"); v_; })

static inline void mmio_write32(u64 addr, u32 v) { *(volatile u32 *)addr = v; }
static inline u32 mmio_read32(u64 addr) { return *(volatile u32 *)addr; }
static inline void mmio_write64(u64 addr, u64 v) { *(volatile u64 *)addr = v; }
static inline u64 mmio_read64(u64 addr) { return *(volatile u64 *)addr; }

/* Console (M-mode, physical addresses). */
void putch(char c);
void puts_raw(const char *s);
void put_hex(u64 v);
void put_dec(u64 v);
__attribute__((noreturn)) void syscon_exit(int code);

/* TAP: results are collected and printed at tap_done() with the plan first,
 * so a test program never has to count its cases by hand. An unexpected trap
 * prints what was collected plus one "not ok" and exits with status 1. */
void check(const char *name, u64 got, u64 expected);
void check_true(const char *name, int cond);
/* Two values checked as one case (e.g. an FP result and fflags). */
void check2(const char *name, u64 got, u64 expected, u64 got2, u64 expected2);
__attribute__((noreturn)) void tap_done(void);
/* Cases that pass or fail with a note instead of got/expected. */
void tap_result(const char *name, int ok, const char *note);

/* Trap expectations.
 * expect_trap(action) arms the handler for exactly one trap (in M or S);
 * the handler records it into trap_rec and then resumes as asked:
 *   TRAP_SKIP:   past the trapping instruction (2 or 4 bytes)
 *   TRAP_RET_RA: at the address in ra (for fetch faults after a jalr)
 *   TRAP_EXIT:   leaves the code started by run_mode() which returns
 *                RUN_TRAPPED (only for traps taken in M, or in S when
 *                the S handler can ecall to M) */
enum { TRAP_SKIP = 0, TRAP_RET_RA = 1, TRAP_EXIT = 2 };
#define RUN_TRAPPED 0xdead7a9dUL

struct trap_rec {
	u64 count;
	u64 cause;
	u64 epc;
	u64 tval;
	u64 level;   /* PRV_M or PRV_S: the mode that took the trap */
	u64 prev;    /* privilege the trap came from (MPP / SPP) */
	u64 status;  /* mstatus/sstatus value at trap entry */
};
extern volatile struct trap_rec trap_rec;
extern volatile int trap_expect;
extern volatile int trap_action;

static inline void expect_trap(int action)
{
	trap_rec.count = 0;
	trap_rec.cause = ~0UL;
	trap_rec.epc = 0;
	trap_rec.tval = 0;
	trap_rec.level = ~0UL;
	trap_action = action;
	asm volatile("" ::: "memory");
	trap_expect = 1;
	asm volatile("" ::: "memory");
}

/* Check that exactly one trap with this cause happened (and nothing when
 * cause is ~0). */
void check_trap(const char *name, u64 cause);
void check_trap_tval(const char *name, u64 cause, u64 tval);
/* Like check_trap, also checks the handling mode (PRV_M / PRV_S). */
void check_trap_level(const char *name, u64 cause, u64 level);
void check_no_trap(const char *name);

/* Interrupt hooks: called for interrupts taken in M / S. They must clear the
 * source. When NULL an interrupt is an unexpected trap. */
struct trap_frame {
	u64 x[32];   /* x[2] is the interrupted sp */
	u64 epc;
	u64 status;
	u64 cause;
	u64 tval;
};
extern void (*volatile m_irq_hook)(struct trap_frame *f);
extern void (*volatile s_irq_hook)(struct trap_frame *f);
/* Called after an expected trap was recorded, before resuming. */
extern void (*volatile trap_hook)(struct trap_frame *f);

/* Run fn(arg) in privilege mode `mode` (PRV_U / PRV_S / PRV_M) with the
 * current satp, sp and PMP; returns fn's result, or RUN_TRAPPED when a
 * TRAP_EXIT trap left it. Callable from M-mode only. */
u64 run_mode(u64 mode, u64 (*fn)(u64), u64 arg);

/* Installed trap vectors (for tests that change mtvec and restore it). */
extern char m_trap_entry[], s_trap_entry[];

u64 hartid(void);

/* Optional entry for harts other than 0 (weak; default parks them). */
void secondary_main(u64 hart);

/* Simple helpers */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
