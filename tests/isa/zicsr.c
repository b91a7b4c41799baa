/* SPDX-License-Identifier: MIT */
/* Zicsr and Zifencei: the six CSR instructions, read-only CSRs, the rule that
 * csrrs/csrrc with rs1=x0 (and the immediate forms with 0) do not write,
 * WARL fields (mtvec mode, mepc bit 0, misa, satp mode), counters and
 * fence.i on modified code. Unprivileged spec "Zicsr", "Zifencei"; privileged
 * spec 2.1 (CSR address map), 3.1. */
#include "test.h"

static void test_ops(void)
{
	u64 old, v;
	/* mscratch holds the trap stack: nothing may trap until it is restored. */
	u64 saved = csr_read(mscratch);

	csr_write(mscratch, 0x1234);
	asm volatile("csrrw %0, mscratch, %1" : "=r"(old) : "r"(0xf0f0UL));
	check2("csrrw returns old, writes new", old, 0x1234, csr_read(mscratch), 0xf0f0);
	asm volatile("csrrs %0, mscratch, %1" : "=r"(old) : "r"(0x000fUL));
	check2("csrrs sets bits", old, 0xf0f0, csr_read(mscratch), 0xf0ff);
	asm volatile("csrrc %0, mscratch, %1" : "=r"(old) : "r"(0x00f0UL));
	check2("csrrc clears bits", old, 0xf0ff, csr_read(mscratch), 0xf00f);
	asm volatile("csrrwi %0, mscratch, 31" : "=r"(old));
	check2("csrrwi", old, 0xf00f, csr_read(mscratch), 31);
	asm volatile("csrrci %0, mscratch, 5" : "=r"(old));
	check2("csrrci", old, 31, csr_read(mscratch), 26);
	asm volatile("csrrsi %0, mscratch, 1" : "=r"(old));
	check2("csrrsi", old, 26, csr_read(mscratch), 27);
	asm volatile("csrrw x0, mscratch, %0" :: "r"(-1UL));
	check("csrrw with rd=x0 still writes", csr_read(mscratch), -1UL);
	asm volatile("li t0, 5\n csrrw t0, mscratch, t0\n mv %0, t0" : "=r"(v) :: "t0");
	u64 last = csr_read(mscratch);
	csr_write(mscratch, saved);
	check2("csrrw rd == rs1", v, -1UL, last, 5);
}

static void test_readonly(void)
{
	u64 v;

	expect_trap(TRAP_SKIP);
	asm volatile("csrrs %0, cycle, x0" : "=r"(v));
	check_no_trap("csrrs rd, cycle, x0 reads without trap");
	expect_trap(TRAP_SKIP);
	asm volatile("csrrs %0, mvendorid, x0\n csrrc %0, mvendorid, x0\n"
		     "csrrsi %0, mvendorid, 0\n csrrci %0, mimpid, 0" : "=r"(v));
	check_no_trap("csrrs/csrrc/csrrsi/csrrci with 0 on read-only CSRs: no trap");
	expect_trap(TRAP_SKIP);
	asm volatile("csrr %0, mhartid\n csrr %0, marchid\n csrr %0, time\n csrr %0, instret" : "=r"(v));
	check_no_trap("reads of mhartid, marchid, time, instret");
	expect_trap(TRAP_SKIP);
	asm volatile("li t0, 0\n csrw cycle, t0" ::: "t0");
	check_trap_tval("csrw cycle is illegal, mtval = insn", CAUSE_ILLEGAL, 0xc0029073);
	expect_trap(TRAP_SKIP);
	asm volatile("csrw mvendorid, %0" :: "r"(1UL));
	check_trap("csrw mvendorid is illegal", CAUSE_ILLEGAL);
	expect_trap(TRAP_SKIP);
	asm volatile("csrwi mhartid, 0");
	check_trap("csrwi mhartid is illegal", CAUSE_ILLEGAL);
	expect_trap(TRAP_SKIP);
	asm volatile("li t1, 0\n csrrs t0, mvendorid, t1" ::: "t0", "t1");
	check_trap("csrrs with rs1!=x0 holding 0 on read-only is illegal", CAUSE_ILLEGAL);
	expect_trap(TRAP_SKIP);
	asm volatile("csrrci t0, instret, 1" ::: "t0");
	check_trap("csrrci with uimm!=0 on instret is illegal", CAUSE_ILLEGAL);
	expect_trap(TRAP_SKIP);
	asm volatile("csrrw x0, time, x0");
	check_trap("csrrw x0, time, x0 is illegal (always writes)", CAUSE_ILLEGAL);
	expect_trap(TRAP_SKIP);
	asm volatile("csrr t0, 0x0ff" ::: "t0");
	check_trap("unallocated CSR 0x0ff is illegal", CAUSE_ILLEGAL);
	check("mhartid of the boot hart", csr_read(mhartid), 0);
	expect_trap(TRAP_SKIP);
	asm volatile("csrr t0, mconfigptr" ::: "t0");
	check_no_trap("mconfigptr reads (privileged 1.12)");
}

static void test_warl(void)
{
	u64 saved = csr_read(mtvec), v;

	csr_write(mtvec, 0x80100000UL | 2);
	v = csr_read(mtvec);
	check_true("mtvec mode 2 reads back a legal mode", (v & 3) < 2);
	csr_write(mtvec, 0x80100000UL | 3);
	v = csr_read(mtvec);
	check_true("mtvec mode 3 reads back a legal mode", (v & 3) < 2);
	csr_write(mtvec, 0x80100100UL | 1);
	check("mtvec vectored mode", csr_read(mtvec), 0x80100101);
	csr_write(mtvec, saved);
	check("mtvec restored", csr_read(mtvec), saved);

	csr_write(mepc, 0x80000123UL);
	check("mepc bit 0 is zero (IALIGN=16)", csr_read(mepc), 0x80000122);
	csr_write(sepc, 0x80000457UL);
	check("sepc bit 0 is zero", csr_read(sepc), 0x80000456);

	v = csr_read(misa);
	check("misa MXL = 2 (RV64)", v >> 62, 2);
	u64 want = (1 << ('I' - 'A')) | (1 << ('M' - 'A')) | (1 << ('A' - 'A')) |
		   (1 << ('F' - 'A')) | (1 << ('D' - 'A')) | (1 << ('C' - 'A')) |
		   (1 << ('S' - 'A')) | (1 << ('U' - 'A'));
	check("misa has IMAFDC S U", v & want, want);
	expect_trap(TRAP_SKIP);
	csr_write(misa, v);
	check_no_trap("writing misa's own value does not trap");
	check("misa unchanged", csr_read(misa), v);

	csr_write(satp, 0);
	csr_write(satp, (1UL << 60) | 0x1234);
	check("satp write of reserved mode 1 is ignored", csr_read(satp), 0);
	u64 sv39 = (8UL << 60) | 0x80123;
	csr_write(satp, sv39);
	check("satp Sv39 accepted", csr_read(satp), sv39);
	csr_write(satp, (12UL << 60) | 0x5555);
	check("satp mode 12 (Sv64, unsupported) leaves satp unchanged", csr_read(satp), sv39);
	csr_write(satp, (15UL << 60) | 0x5555);
	check("satp mode 15 leaves satp unchanged", csr_read(satp), sv39);
	csr_write(satp, 0);
	check("satp Bare", csr_read(satp), 0);

	check("mstatus.UXL/SXL = 2 (64-bit)", (csr_read(mstatus) >> 32) & 0xf, 0xa);
	csr_write(mstatus, csr_read(mstatus) | (3UL << 32) | (3UL << 34));
	check("mstatus.UXL/SXL stay 2 after writing 3", (csr_read(mstatus) >> 32) & 0xf, 0xa);
	csr_set(sstatus, MSTATUS_SIE | MSTATUS_SUM);
	check("sstatus writes reach mstatus", csr_read(mstatus) & (MSTATUS_SIE | MSTATUS_SUM),
	      MSTATUS_SIE | MSTATUS_SUM);
	csr_clear(mstatus, MSTATUS_SIE | MSTATUS_SUM);
	csr_set(mstatus, MSTATUS_MPRV | MSTATUS_TVM);
	check("sstatus hides M-only fields", csr_read(sstatus) & (MSTATUS_MPRV | MSTATUS_TVM |
	      MSTATUS_MPP | MSTATUS_MIE), 0);
	csr_clear(mstatus, MSTATUS_MPRV | MSTATUS_TVM);
	csr_write(medeleg, 1UL << 11);
	check("medeleg bit 11 (ecall from M) is read-only 0", csr_read(medeleg) & (1UL << 11), 0);
	csr_write(medeleg, 0);
}

static void test_counters(void)
{
	u64 a, b, t0, t1, m;

	a = csr_read(cycle);
	for (volatile int i = 0; i < 100; i++)
		;
	b = csr_read(cycle);
	check_true("cycle advances", b > a);
	a = csr_read(instret);
	asm volatile("nop\n nop\n nop\n nop\n nop\n nop\n nop\n nop");
	b = csr_read(instret);
	check_true("instret advances over 8 nops", b - a >= 8);
	check_true("minstret matches instret", csr_read(minstret) - a >= 8);
	t0 = csr_read(time);
	m = mmio_read64(CLINT_MTIME);
	t1 = csr_read(time);
	check_true("time CSR follows CLINT mtime", t0 <= m && m <= t1);
	csr_write(mcycle, 0);
	check_true("mcycle is writable", csr_read(mcycle) < 1000000);
}

static u32 code[4] __attribute__((aligned(16), section(".data")));

static void test_fencei(void)
{
	u64 r;

	code[0] = 0x02a00513;   /* li a0, 42 */
	code[1] = 0x00008067;   /* ret */
	asm volatile("fence.i\n jalr ra, 0(%1)\n mv %0, a0" : "=r"(r) : "r"(code) : "ra", "a0", "memory");
	check("fence.i: run code just written", r, 42);
	code[0] = 0x06300513;   /* li a0, 99 */
	asm volatile("fence.i\n jalr ra, 0(%1)\n mv %0, a0" : "=r"(r) : "r"(code) : "ra", "a0", "memory");
	check("fence.i: modified code runs the new instruction", r, 99);
	code[0] = 0x00700513;   /* li a0, 7 */
	code[1] = 0x00150513;   /* addi a0, a0, 1 */
	code[2] = 0x00008067;
	asm volatile("fence.i\n jalr ra, 0(%1)\n mv %0, a0" : "=r"(r) : "r"(code) : "ra", "a0", "memory");
	check("fence.i: longer modified sequence", r, 8);
}

int main(void);
int main(void)
{
	test_ops();
	test_readonly();
	test_warl();
	test_counters();
	test_fencei();
	return 0;
}
