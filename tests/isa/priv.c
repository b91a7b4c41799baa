/* SPDX-License-Identifier: MIT */
/* Privileged architecture: ecall from U/S/M, mret/sret and the status stack,
 * exception delegation, illegal instructions (mtval = instruction bits),
 * ebreak, access faults on unmapped addresses, TW/TVM/TSR and counter
 * enables. Privileged spec chapters 3 (M-mode) and 4 (S-mode). */
#include "test.h"

/* A function that runs `insn` and returns the address of that instruction. */
#define PCFN2(name, pre, insn) static u64 name(u64 a) { u64 pc_; \
	asm volatile(".option push\n.option norvc\n" pre "\n la %0, 1f\n1: " insn "\n.option pop" \
		     : "=&r"(pc_) :: "t0", "t1", "a7", "memory"); return pc_; }
#define PCFN(name, insn) PCFN2(name, "", insn)

PCFN2(do_ecall, "li a7, 0", "ecall")
PCFN(do_ebreak, "ebreak")
PCFN(do_illegal, ".4byte 0xfe000033")
PCFN(do_mret, "mret")
PCFN(do_sret, "sret")
PCFN(do_wfi, "wfi")
PCFN(do_csrr_mstatus, "csrr t0, mstatus")
PCFN(do_csrr_mhartid, "csrr t0, mhartid")
PCFN(do_csrr_mscratch, "csrr t0, mscratch")
PCFN(do_csrr_sstatus, "csrr t0, sstatus")
PCFN(do_csrr_sscratch, "csrr t0, sscratch")
PCFN(do_csrr_satp, "csrr t0, satp")
PCFN(do_csrw_satp, "csrw satp, zero")
PCFN(do_sfence, "sfence.vma")
PCFN(do_rdcycle, "rdcycle t0")
PCFN(do_rdtime, "rdtime t0")
PCFN(do_rdinstret, "rdinstret t0")
PCFN2(do_load0, "li t1, 0", "lw t0, 0(t1)")

static u64 s_sret_test(u64 a)
{
	u64 st;
	asm volatile("li t0, %1\n csrs sstatus, t0\n csrci sstatus, 2\n"
		     "la t0, 1f\n csrw sepc, t0\n sret\n"
		     "1: csrr %0, sstatus\n csrci sstatus, 2"
		     : "=&r"(st) : "i"(MSTATUS_SPP | MSTATUS_SPIE) : "t0", "memory");
	return st;
}

static void t_trap(const char *name, u64 mode, u64 (*fn)(u64), u64 cause, u64 tval,
		   int check_tv)
{
	u64 pc;
	expect_trap(TRAP_SKIP);
	pc = run_mode(mode, fn, 0);
	if (check_tv)
		check_trap_tval(name, cause, tval == ~0UL ? pc : tval);
	else
		check_trap(name, cause);
}

static void test_ecall(void)
{
	u64 pc;

	expect_trap(TRAP_SKIP);
	pc = run_mode(PRV_U, do_ecall, 0);
	check_trap("ecall from U: cause 8", CAUSE_ECALL_U);
	check2("ecall from U: mepc = ecall, MPP = U", trap_rec.epc, pc, trap_rec.prev, PRV_U);
	expect_trap(TRAP_SKIP);
	pc = run_mode(PRV_S, do_ecall, 0);
	check_trap("ecall from S: cause 9", CAUSE_ECALL_S);
	check2("ecall from S: mepc = ecall, MPP = S", trap_rec.epc, pc, trap_rec.prev, PRV_S);
	expect_trap(TRAP_SKIP);
	pc = do_ecall(0);
	check_trap_tval("ecall from M: cause 11, mtval 0", CAUSE_ECALL_M, 0);
	check2("ecall from M: mepc = ecall, MPP = M", trap_rec.epc, pc, trap_rec.prev, PRV_M);
}

static void test_xret(void)
{
	u64 st;

	csr_clear(mstatus, MSTATUS_MIE);
	csr_set(mstatus, MSTATUS_MPIE | MSTATUS_MPP);
	asm volatile("la t0, 1f\n csrw mepc, t0\n mret\n1: csrr %0, mstatus\n csrci mstatus, 8"
		     : "=r"(st) :: "t0", "memory");
	check("mret: MIE <- MPIE, MPIE <- 1, MPP <- U",
	      st & (MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP), MSTATUS_MIE | MSTATUS_MPIE);
	csr_clear(mstatus, MSTATUS_MPIE);
	csr_set(mstatus, MSTATUS_MPP);
	csr_set(mstatus, MSTATUS_MIE);
	asm volatile("la t0, 1f\n csrw mepc, t0\n mret\n1: csrr %0, mstatus"
		     : "=r"(st) :: "t0", "memory");
	check("mret with MPIE=0: MIE <- 0, MPIE <- 1", st & (MSTATUS_MIE | MSTATUS_MPIE), MSTATUS_MPIE);

	/* Trap entry into M: MPIE <- MIE, MIE <- 0, MPP <- S. The S code runs
	 * with MIE=1 (from MPIE), which does not matter below M with mie=0. */
	csr_write(mie, 0);
	csr_set(mstatus, MSTATUS_MPIE);
	expect_trap(TRAP_SKIP);
	run_mode(PRV_S, do_ecall, 0);
	check("trap to M: MPIE = old MIE, MIE = 0, MPP = S",
	      trap_rec.status & (MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP),
	      MSTATUS_MPIE | (1UL << 11));

	/* mret to a mode below M clears MPRV. */
	csr_write(mstatus, (csr_read(mstatus) & ~MSTATUS_MPP) | MSTATUS_MPRV | (1UL << 11));
	expect_trap(TRAP_SKIP);
	run_mode(PRV_S, do_ecall, 0);
	check("mret to S clears MPRV", trap_rec.status & MSTATUS_MPRV, 0);
	csr_clear(mstatus, MSTATUS_MPRV);

	st = run_mode(PRV_S, s_sret_test, 0);
	check("sret to S: SIE <- SPIE, SPIE <- 1, SPP <- U",
	      st & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP), MSTATUS_SIE | MSTATUS_SPIE);
	csr_clear(mstatus, MSTATUS_SIE);
}

static void test_deleg(void)
{
	u64 pc;

	csr_write(medeleg, 1UL << CAUSE_ECALL_U);
	check("medeleg bit 8 is writable", csr_read(medeleg), 1UL << CAUSE_ECALL_U);
	csr_set(mstatus, MSTATUS_SIE);
	expect_trap(TRAP_SKIP);
	pc = run_mode(PRV_U, do_ecall, 0);
	check_trap_level("delegated ecall from U goes to S", CAUSE_ECALL_U, PRV_S);
	check("delegated: sepc = ecall address", trap_rec.epc, pc);
	check("trap to S: SPIE = old SIE, SIE = 0, SPP = U",
	      trap_rec.status & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP), MSTATUS_SPIE);
	csr_clear(mstatus, MSTATUS_SIE);
	expect_trap(TRAP_SKIP);
	run_mode(PRV_S, do_ecall, 0);
	check_trap_level("ecall from S is not delegated by bit 8", CAUSE_ECALL_S, PRV_M);

	csr_write(medeleg, 1UL << CAUSE_ILLEGAL);
	expect_trap(TRAP_SKIP);
	run_mode(PRV_U, do_illegal, 0);
	check_trap_level("delegated illegal from U goes to S", CAUSE_ILLEGAL, PRV_S);
	check("delegated illegal: stval = instruction", trap_rec.tval, 0xfe000033);
	expect_trap(TRAP_SKIP);
	run_mode(PRV_S, do_illegal, 0);
	check_trap_level("delegated illegal from S goes to S", CAUSE_ILLEGAL, PRV_S);
	check("delegated from S: SPP = S", trap_rec.status & MSTATUS_SPP, MSTATUS_SPP);
	expect_trap(TRAP_SKIP);
	do_illegal(0);
	check_trap_level("delegated illegal from M stays in M", CAUSE_ILLEGAL, PRV_M);

	csr_write(medeleg, 1UL << CAUSE_LOAD_ACCESS);
	expect_trap(TRAP_SKIP);
	run_mode(PRV_S, do_load0, 0);
	check_trap_level("delegated load access fault goes to S", CAUSE_LOAD_ACCESS, PRV_S);
	check("delegated load fault: stval = address", trap_rec.tval, 0);

	csr_write(medeleg, 1UL << CAUSE_BREAKPOINT);
	expect_trap(TRAP_SKIP);
	pc = run_mode(PRV_U, do_ebreak, 0);
	check_trap_level("delegated ebreak from U goes to S", CAUSE_BREAKPOINT, PRV_S);
	check("delegated ebreak: sepc = ebreak", trap_rec.epc, pc);

	csr_write(medeleg, 0);
	expect_trap(TRAP_SKIP);
	run_mode(PRV_U, do_illegal, 0);
	check_trap_level("without delegation illegal from U goes to M", CAUSE_ILLEGAL, PRV_M);
}

static void test_illegal(void)
{
	t_trap("illegal 0xfe000033 in M: mtval = bits", PRV_M, do_illegal, CAUSE_ILLEGAL, 0xfe000033, 1);
	t_trap("mret in U is illegal, mtval = bits", PRV_U, do_mret, CAUSE_ILLEGAL, 0x30200073, 1);
	t_trap("mret in S is illegal", PRV_S, do_mret, CAUSE_ILLEGAL, 0x30200073, 1);
	t_trap("sret in U is illegal", PRV_U, do_sret, CAUSE_ILLEGAL, 0x10200073, 1);
	t_trap("csrr mstatus in S is illegal, mtval = bits", PRV_S, do_csrr_mstatus, CAUSE_ILLEGAL,
	       0x300022f3, 1);
	t_trap("csrr mhartid in S is illegal", PRV_S, do_csrr_mhartid, CAUSE_ILLEGAL, 0, 0);
	t_trap("csrr mscratch in U is illegal", PRV_U, do_csrr_mscratch, CAUSE_ILLEGAL, 0, 0);
	t_trap("csrr sstatus in U is illegal", PRV_U, do_csrr_sstatus, CAUSE_ILLEGAL, 0, 0);
	t_trap("csrr sscratch in U is illegal", PRV_U, do_csrr_sscratch, CAUSE_ILLEGAL, 0, 0);
	t_trap("csrr satp in U is illegal", PRV_U, do_csrr_satp, CAUSE_ILLEGAL, 0, 0);
	t_trap("sfence.vma in U is illegal", PRV_U, do_sfence, CAUSE_ILLEGAL, 0x12000073, 1);
	expect_trap(TRAP_SKIP);
	run_mode(PRV_S, do_csrr_sstatus, 0);
	check_no_trap("csrr sstatus in S works");
	expect_trap(TRAP_SKIP);
	u64 pc = do_ebreak(0);
	check_trap("ebreak: cause 3", CAUSE_BREAKPOINT);
	check("ebreak: mepc = pc", trap_rec.epc, pc);
	check("ebreak: mtval = pc", trap_rec.tval, pc);
}

static void test_access_faults(void)
{
	u64 v;
	static const u64 addrs[] = { 0x0, 0x8, 0x1000000000UL };
	static const char *const ln[] = { "load from 0x0: cause 5, mtval",
		"load from 0x8: cause 5, mtval", "load from 64 GiB: cause 5, mtval" };
	static const char *const sn[] = { "store to 0x0: cause 7, mtval",
		"store to 0x8: cause 7, mtval", "store to 64 GiB: cause 7, mtval" };

	for (unsigned i = 0; i < ARRAY_SIZE(addrs); i++) {
		expect_trap(TRAP_SKIP);
		asm volatile("ld %0, 0(%1)" : "=r"(v) : "r"(addrs[i]) : "memory");
		check_trap_tval(ln[i], CAUSE_LOAD_ACCESS, addrs[i]);
		expect_trap(TRAP_SKIP);
		asm volatile("sw zero, 0(%0)" :: "r"(addrs[i]) : "memory");
		check_trap_tval(sn[i], CAUSE_STORE_ACCESS, addrs[i]);
	}
	expect_trap(TRAP_SKIP);
	asm volatile("amoadd.w %0, %0, (%1)" : "=&r"(v) : "r"(0x8UL) : "memory");
	check_trap_tval("amoadd.w to 0x8: cause 7", CAUSE_STORE_ACCESS, 8);
	expect_trap(TRAP_SKIP);
	asm volatile("lr.d %0, (%1)" : "=&r"(v) : "r"(0x8UL) : "memory");
	check_trap_tval("lr.d from 0x8: cause 5", CAUSE_LOAD_ACCESS, 8);
	expect_trap(TRAP_RET_RA);
	asm volatile("li t0, 0\n jalr ra, 0(t0)" ::: "ra", "t0", "memory");
	check_trap_tval("fetch from 0x0: cause 1, mtval 0", CAUSE_FETCH_ACCESS, 0);
	check("fetch fault: mepc = 0", trap_rec.epc, 0);
	expect_trap(TRAP_RET_RA);
	asm volatile("li t0, 0x1000000000\n jalr ra, 0(t0)" ::: "ra", "t0", "memory");
	check_trap_tval("fetch from 64 GiB: cause 1", CAUSE_FETCH_ACCESS, 0x1000000000UL);
	t_trap("load from 0x0 in U: cause 5", PRV_U, do_load0, CAUSE_LOAD_ACCESS, 0, 1);
}

static void test_tw_tvm_tsr(void)
{
	csr_write(mie, 0);
	csr_set(mstatus, MSTATUS_TW);
	t_trap("TW=1: wfi in S is illegal", PRV_S, do_wfi, CAUSE_ILLEGAL, 0x10500073, 1);
	t_trap("TW=1: wfi in U is illegal", PRV_U, do_wfi, CAUSE_ILLEGAL, 0, 0);
	expect_trap(TRAP_SKIP);
	csr_set(mip, 1UL << IRQ_SSI);   /* let wfi in M return at once */
	csr_set(mie, 1UL << IRQ_SSI);
	do_wfi(0);
	csr_clear(mie, 1UL << IRQ_SSI);
	csr_clear(mip, 1UL << IRQ_SSI);
	check_no_trap("TW=1: wfi in M does not trap");
	csr_clear(mstatus, MSTATUS_TW);

	csr_set(mstatus, MSTATUS_TVM);
	t_trap("TVM=1: csrr satp in S is illegal", PRV_S, do_csrr_satp, CAUSE_ILLEGAL, 0, 0);
	t_trap("TVM=1: csrw satp in S is illegal", PRV_S, do_csrw_satp, CAUSE_ILLEGAL, 0, 0);
	t_trap("TVM=1: sfence.vma in S is illegal", PRV_S, do_sfence, CAUSE_ILLEGAL, 0x12000073, 1);
	expect_trap(TRAP_SKIP);
	csr_read(satp);
	check_no_trap("TVM=1: satp still accessible in M");
	csr_clear(mstatus, MSTATUS_TVM);
	expect_trap(TRAP_SKIP);
	run_mode(PRV_S, do_csrr_satp, 0);
	run_mode(PRV_S, do_sfence, 0);
	check_no_trap("TVM=0: satp and sfence.vma work in S");

	csr_set(mstatus, MSTATUS_TSR);
	t_trap("TSR=1: sret in S is illegal", PRV_S, do_sret, CAUSE_ILLEGAL, 0x10200073, 1);
	csr_clear(mstatus, MSTATUS_TSR);
}

static void test_counteren(void)
{
	static u64 (*const fns[3])(u64) = { do_rdcycle, do_rdtime, do_rdinstret };
	static const char *const sdeny[3] = { "mcounteren.CY=0: rdcycle in S is illegal",
		"mcounteren.TM=0: rdtime in S is illegal", "mcounteren.IR=0: rdinstret in S is illegal" };
	static const char *const sallow[3] = { "mcounteren.CY=1: rdcycle in S works",
		"mcounteren.TM=1: rdtime in S works", "mcounteren.IR=1: rdinstret in S works" };
	static const char *const udeny[3] = { "scounteren.CY=0: rdcycle in U is illegal",
		"scounteren.TM=0: rdtime in U is illegal", "scounteren.IR=0: rdinstret in U is illegal" };
	static const char *const uallow[3] = { "both set: rdcycle in U works",
		"both set: rdtime in U works", "both set: rdinstret in U works" };
	static const char *const umdeny[3] = { "mcounteren.CY=0 blocks U even with scounteren",
		"mcounteren.TM=0 blocks U even with scounteren",
		"mcounteren.IR=0 blocks U even with scounteren" };

	for (int i = 0; i < 3; i++) {
		u64 bit = 1UL << i;
		csr_write(mcounteren, ~bit & 7);
		csr_write(scounteren, 7);
		t_trap(sdeny[i], PRV_S, fns[i], CAUSE_ILLEGAL, 0, 0);
		t_trap(umdeny[i], PRV_U, fns[i], CAUSE_ILLEGAL, 0, 0);
		csr_write(mcounteren, 7);
		expect_trap(TRAP_SKIP);
		run_mode(PRV_S, fns[i], 0);
		check_no_trap(sallow[i]);
		csr_write(scounteren, ~bit & 7);
		t_trap(udeny[i], PRV_U, fns[i], CAUSE_ILLEGAL, 0, 0);
		csr_write(scounteren, 7);
		expect_trap(TRAP_SKIP);
		run_mode(PRV_U, fns[i], 0);
		check_no_trap(uallow[i]);
	}
	csr_write(mcounteren, 0);
	csr_write(scounteren, 0);
}

int main(void);
int main(void)
{
	test_ecall();
	test_xret();
	test_deleg();
	test_illegal();
	test_access_faults();
	test_tw_tvm_tsr();
	test_counteren();
	return 0;
}
