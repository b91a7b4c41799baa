/* SPDX-License-Identifier: MIT */
/* Start code, M/S trap entries and run_mode() for the ISA test programs.
 * Every hart starts here in M-mode (a0 = hartid); tp holds the hartid for
 * the whole run. Privileged spec: 3.1 (M CSRs), 3.3 (mret), 4.1 (S CSRs). */
#include "asm.h"

#define STACK_MAIN  16384
#define STACK_TRAP  4096
#define STACK_HART  (STACK_MAIN + 2 * STACK_TRAP)
#define FRAME       288

	.section .text.init, "ax"
	.globl _start
_start:
	.option push
	.option norelax
	la	gp, __global_pointer$
	.option pop
	csrr	tp, mhartid
	li	t0, MAX_HARTS
	bgeu	tp, t0, park
	li	t0, STACK_HART
	mul	t1, tp, t0
	la	t2, stack_area
	add	t2, t2, t1
	li	t0, STACK_MAIN
	add	sp, t2, t0
	li	t0, STACK_MAIN + STACK_TRAP
	add	t1, t2, t0
	csrw	mscratch, t1
	li	t0, STACK_HART
	add	t1, t2, t0
	csrw	sscratch, t1
	la	t0, m_trap_entry
	csrw	mtvec, t0
	la	t0, s_trap_entry
	csrw	stvec, t0
	csrw	mie, zero
	csrw	medeleg, zero
	csrw	mideleg, zero
	csrw	satp, zero
	li	t0, (1 << 13)		/* FS = Initial, all else 0 */
	csrw	mstatus, t0
	fscsr	zero
	/* Catch-all PMP entry 15 (NAPOT, whole space, RWX) so that S and U
	 * can reach memory; the PMP test reprograms it. */
	li	t0, -1
	csrw	pmpaddr15, t0
	li	t0, (0x1f << 56)
	csrw	pmpcfg2, t0
	bnez	tp, secondary
	la	t0, __bss_start
	la	t1, __bss_end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	1b
2:	fence
	la	t0, boot_ready
	li	t1, 1
	sw	t1, 0(t0)
	call	main
	call	tap_done
secondary:
	la	t0, boot_ready
1:	lw	t1, 0(t0)
	beqz	t1, 1b
	fence
	mv	a0, tp
	call	secondary_main
park:
	wfi
	j	park

/* Save x1, x3..x31 and the CSRs into a frame; x2 gets the interrupted sp
 * that the entry swapped into the scratch register. */
.macro SAVE_FRAME ep, st, ca, tv, scratch
	addi	sp, sp, -FRAME
	sd	x1, 8(sp)
	sd	x3, 24(sp)
	sd	x4, 32(sp)
	sd	x5, 40(sp)
	sd	x6, 48(sp)
	sd	x7, 56(sp)
	sd	x8, 64(sp)
	sd	x9, 72(sp)
	sd	x10, 80(sp)
	sd	x11, 88(sp)
	sd	x12, 96(sp)
	sd	x13, 104(sp)
	sd	x14, 112(sp)
	sd	x15, 120(sp)
	sd	x16, 128(sp)
	sd	x17, 136(sp)
	sd	x18, 144(sp)
	sd	x19, 152(sp)
	sd	x20, 160(sp)
	sd	x21, 168(sp)
	sd	x22, 176(sp)
	sd	x23, 184(sp)
	sd	x24, 192(sp)
	sd	x25, 200(sp)
	sd	x26, 208(sp)
	sd	x27, 216(sp)
	sd	x28, 224(sp)
	sd	x29, 232(sp)
	sd	x30, 240(sp)
	sd	x31, 248(sp)
	csrr	t0, \scratch
	sd	t0, 16(sp)
	csrr	t0, \ep
	sd	t0, 256(sp)
	csrr	t0, \st
	sd	t0, 264(sp)
	csrr	t0, \ca
	sd	t0, 272(sp)
	csrr	t0, \tv
	sd	t0, 280(sp)
	/* gp and tp are never changed by tests, but reload them in case the
	 * trap came from code that did. */
	.option push
	.option norelax
	la	gp, __global_pointer$
	.option pop
.endm

.macro RESTORE_FRAME ep, st, scratch
	ld	t0, 256(sp)
	csrw	\ep, t0
	ld	t0, 264(sp)
	csrw	\st, t0
	addi	t0, sp, FRAME
	csrw	\scratch, t0
	ld	x1, 8(sp)
	ld	x3, 24(sp)
	ld	x4, 32(sp)
	ld	x5, 40(sp)
	ld	x6, 48(sp)
	ld	x7, 56(sp)
	ld	x8, 64(sp)
	ld	x9, 72(sp)
	ld	x10, 80(sp)
	ld	x11, 88(sp)
	ld	x12, 96(sp)
	ld	x13, 104(sp)
	ld	x14, 112(sp)
	ld	x15, 120(sp)
	ld	x16, 128(sp)
	ld	x17, 136(sp)
	ld	x18, 144(sp)
	ld	x19, 152(sp)
	ld	x20, 160(sp)
	ld	x21, 168(sp)
	ld	x22, 176(sp)
	ld	x23, 184(sp)
	ld	x24, 192(sp)
	ld	x25, 200(sp)
	ld	x26, 208(sp)
	ld	x27, 216(sp)
	ld	x28, 224(sp)
	ld	x29, 232(sp)
	ld	x30, 240(sp)
	ld	x31, 248(sp)
	ld	sp, 16(sp)
.endm

	.text
	.balign 64
	.globl m_trap_entry
m_trap_entry:
	csrrw	sp, mscratch, sp
	SAVE_FRAME mepc, mstatus, mcause, mtval, mscratch
	mv	a0, sp
	call	m_trap_c
	RESTORE_FRAME mepc, mstatus, mscratch
	mret

	.balign 64
	.globl s_trap_entry
s_trap_entry:
	csrrw	sp, sscratch, sp
	SAVE_FRAME sepc, sstatus, scause, stval, sscratch
	mv	a0, sp
	call	s_trap_c
	RESTORE_FRAME sepc, sstatus, sscratch
	sret

/* u64 run_mode(u64 mode, u64 (*fn)(u64), u64 arg) */
	.globl run_mode
run_mode:
	la	t0, mode_ctx
	slli	t1, tp, 7
	add	t0, t0, t1
	sd	ra, 0(t0)
	sd	sp, 8(t0)
	sd	s0, 16(t0)
	sd	s1, 24(t0)
	sd	s2, 32(t0)
	sd	s3, 40(t0)
	sd	s4, 48(t0)
	sd	s5, 56(t0)
	sd	s6, 64(t0)
	sd	s7, 72(t0)
	sd	s8, 80(t0)
	sd	s9, 88(t0)
	sd	s10, 96(t0)
	sd	s11, 104(t0)
	li	t1, (3 << 11)
	csrc	mstatus, t1
	slli	t2, a0, 11
	csrs	mstatus, t2
	csrw	mepc, a1
	mv	a0, a2
	la	ra, run_mode_tramp
	mret

/* Lower-mode code returns here; the ecall brings it back to M. */
	.globl run_mode_tramp
run_mode_tramp:
	li	a7, MAGIC_RET
	ecall
1:	j	1b

	.data
	.balign 8
	.globl boot_ready
boot_ready:
	.word	0

	.bss
	.balign 64
	.globl mode_ctx
mode_ctx:
	.space	128 * MAX_HARTS

	.section .stack, "aw", @nobits
	.balign 4096
stack_area:
	.space	STACK_HART * MAX_HARTS
