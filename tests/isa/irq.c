/* SPDX-License-Identifier: MIT */
/* Interrupts: CLINT timer (MTI) and software (MSI) in M, STIP injected by M
 * and delegated to S, Sstc stimecmp in S, wfi wake-up, vectored mtvec and
 * interrupt priority. Privileged spec 3.1.6.1, 3.1.7, 3.1.9, 3.3.3 and the
 * Sstc extension. */
#include "test.h"

#define CSR_STIMECMP 0x14d
#define CSR_MENVCFG  0x30a
#define MENVCFG_STCE (1UL << 63)

static volatile u64 order[8];
static volatile unsigned norder;
static volatile u64 irq_mtime;
extern volatile u64 vec_last;

static u64 mtime(void) { return mmio_read64(CLINT_MTIME); }
static void set_cmp(u64 v) { mmio_write64(CLINT_MTIMECMP(0), v); }

/* Clears the source of each interrupt taken in M and logs its cause. */
static void m_hook(struct trap_frame *f)
{
	u64 code = f->cause & ~CAUSE_INTR;
	if (norder < ARRAY_SIZE(order))
		order[norder++] = f->cause;
	switch (code) {
	case IRQ_MSI:
		mmio_write32(CLINT_MSIP(0), 0);
		break;
	case IRQ_MTI:
		irq_mtime = mtime();
		set_cmp(~0UL);
		break;
	case IRQ_SSI:
		csr_clear(mip, 1UL << IRQ_SSI);
		break;
	case IRQ_STI:
		csr_clear(mip, 1UL << IRQ_STI);
		break;
	default:
		csr_clear(mie, 1UL << code);
	}
}

/* S-mode: SSIP is cleared through sip, STI is masked in sie (S cannot
 * clear an M-injected STIP) or its stimecmp pushed away. */
static void s_hook(struct trap_frame *f)
{
	u64 code = f->cause & ~CAUSE_INTR;
	if (norder < ARRAY_SIZE(order))
		order[norder++] = f->cause | (1UL << 62);   /* bit 62 marks "taken in S" */
	if (code == IRQ_SSI)
		csr_clear(sip, 1UL << IRQ_SSI);
	else if (code == IRQ_STI) {
		csr_clear(sie, 1UL << IRQ_STI);
	}
}

static void reset_log(void)
{
	norder = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(order); i++)
		order[i] = 0;
}

/* Spin until n interrupts were logged or ~20 ms passed. */
static void wait_irqs(unsigned n)
{
	u64 end = mtime() + 200000;
	while (norder < n && mtime() < end)
		;
}

static void test_timer_soft(void)
{
	u64 cmp;

	set_cmp(~0UL);
	check("mip.MTIP clear with mtimecmp = max", csr_read(mip) & (1UL << IRQ_MTI), 0);
	set_cmp(0);
	check("mip.MTIP set with mtimecmp in the past", csr_read(mip) & (1UL << IRQ_MTI),
	      1UL << IRQ_MTI);
	set_cmp(~0UL);
	csr_set(mip, 1UL << IRQ_MTI);
	check("mip.MTIP is read-only", csr_read(mip) & (1UL << IRQ_MTI), 0);

	reset_log();
	m_irq_hook = m_hook;
	cmp = mtime() + 2000;
	set_cmp(cmp);
	csr_write(mie, 1UL << IRQ_MTI);
	csr_set(mstatus, MSTATUS_MIE);
	wait_irqs(1);
	csr_clear(mstatus, MSTATUS_MIE);
	check("MTI taken in M: mcause", order[0], CAUSE_INTR | IRQ_MTI);
	check_true("MTI not before mtimecmp", irq_mtime >= cmp);
	check("exactly one MTI", norder, 1);

	mmio_write32(CLINT_MSIP(0), 1);
	check("msip sets mip.MSIP", csr_read(mip) & (1UL << IRQ_MSI), 1UL << IRQ_MSI);
	check("msip reads back 1", mmio_read32(CLINT_MSIP(0)), 1);
	reset_log();
	csr_write(mie, 1UL << IRQ_MSI);
	csr_set(mstatus, MSTATUS_MIE);
	wait_irqs(1);
	csr_clear(mstatus, MSTATUS_MIE);
	check("MSI taken in M: mcause", order[0], CAUSE_INTR | IRQ_MSI);
	check("MSI handler cleared mip.MSIP", csr_read(mip) & (1UL << IRQ_MSI), 0);

	mmio_write32(CLINT_MSIP(0), 1);
	reset_log();
	csr_write(mie, 0);
	csr_set(mstatus, MSTATUS_MIE);
	for (volatile int i = 0; i < 1000; i++)
		;
	csr_clear(mstatus, MSTATUS_MIE);
	check("pending MSI not taken while mie.MSIE = 0", norder, 0);
	csr_write(mie, 1UL << IRQ_MSI);
	for (volatile int i = 0; i < 1000; i++)
		;
	check("pending MSI not taken while mstatus.MIE = 0", norder, 0);
	mmio_write32(CLINT_MSIP(0), 0);
	csr_write(mie, 0);
}

static void test_wfi(void)
{
	u64 cmp;

	/* MIE = 0: wfi wakes up on the pending+enabled MTI, no trap. */
	reset_log();
	cmp = mtime() + 5000;
	set_cmp(cmp);
	csr_write(mie, 1UL << IRQ_MTI);
	asm volatile("wfi");
	u64 now = mtime();
	/* wfi may return early (spurious wake-up is allowed): wait in a loop. */
	while (!(csr_read(mip) & (1UL << IRQ_MTI)) && mtime() < cmp + 200000)
		asm volatile("wfi");
	now = mtime();
	check_true("wfi with MIE=0 wakes on timer, mtime >= mtimecmp", now >= cmp);
	check("wfi with MIE=0 takes no interrupt", norder, 0);
	set_cmp(~0UL);

	/* MIE = 1: the interrupt is taken right after wfi. */
	reset_log();
	cmp = mtime() + 5000;
	set_cmp(cmp);
	csr_set(mstatus, MSTATUS_MIE);
	while (norder == 0 && mtime() < cmp + 200000)
		asm volatile("wfi");
	csr_clear(mstatus, MSTATUS_MIE);
	check("wfi with MIE=1: timer interrupt handled", order[0], CAUSE_INTR | IRQ_MTI);
	csr_write(mie, 0);
}

asm(".text\n"
    ".macro VEC n\n"
    "	csrrw sp, mscratch, sp\n"
    "	sd t0, -8(sp)\n"
    "	sd t1, -16(sp)\n"
    "	la t0, vec_last\n"
    "	li t1, \\n\n"
    "	sd t1, 0(t0)\n"
    "	ld t1, -16(sp)\n"
    "	ld t0, -8(sp)\n"
    "	csrrw sp, mscratch, sp\n"
    "	j m_trap_entry\n"
    ".endm\n"
    ".balign 256\n"
    ".option push\n.option norvc\n"   /* 4-byte slots */
    "vec_table:\n"
    "	j m_trap_entry\n"        /* 0: exceptions */
    "	j vec1\n j vec2\n j vec3\n j vec4\n j vec5\n j vec6\n j vec7\n"
    "	j vec8\n j vec9\n j vec10\n j vec11\n"
    ".option pop\n"
    "vec1: VEC 1\n vec2: VEC 2\n vec3: VEC 3\n vec4: VEC 4\n vec5: VEC 5\n"
    "vec6: VEC 6\n vec7: VEC 7\n vec8: VEC 8\n vec9: VEC 9\n vec10: VEC 10\n vec11: VEC 11\n"
    ".data\n .balign 8\n .globl vec_last\nvec_last: .dword 0\n .text\n");
extern char vec_table[];

static void test_vectored(void)
{
	u64 saved = csr_read(mtvec);

	csr_write(mtvec, (u64)vec_table | 1);
	check("mtvec vectored mode set", csr_read(mtvec), (u64)vec_table | 1);
	reset_log();
	vec_last = 0;
	mmio_write32(CLINT_MSIP(0), 1);
	csr_write(mie, 1UL << IRQ_MSI);
	csr_set(mstatus, MSTATUS_MIE);
	wait_irqs(1);
	csr_clear(mstatus, MSTATUS_MIE);
	check2("vectored MSI enters at base + 4*3", vec_last, 3, order[0], CAUSE_INTR | IRQ_MSI);
	reset_log();
	vec_last = 0;
	set_cmp(0);
	csr_write(mie, 1UL << IRQ_MTI);
	csr_set(mstatus, MSTATUS_MIE);
	wait_irqs(1);
	csr_clear(mstatus, MSTATUS_MIE);
	check2("vectored MTI enters at base + 4*7", vec_last, 7, order[0], CAUSE_INTR | IRQ_MTI);
	vec_last = 0;
	expect_trap(TRAP_SKIP);
	asm volatile("li a7, 0\n ecall" ::: "a7");
	check_trap("vectored mode: exceptions enter at base", CAUSE_ECALL_M);
	check("exception did not use a vector slot", vec_last, 0);
	csr_write(mie, 0);
	csr_write(mtvec, saved);
}

static u64 s_spin(u64 n)
{
	u64 end = csr_read(time) + 200000;
	csr_set(sstatus, MSTATUS_SIE);
	while (norder < n && csr_read(time) < end)
		;
	csr_clear(sstatus, MSTATUS_SIE);
	return norder;
}

static u64 u_spin(u64 n)
{
	for (volatile int i = 0; i < 200000 && norder < n; i++)
		;
	return norder;
}

static void test_priority(void)
{
	/* MSI and MTI pending together: MSI first. */
	reset_log();
	set_cmp(0);
	mmio_write32(CLINT_MSIP(0), 1);
	csr_write(mie, (1UL << IRQ_MSI) | (1UL << IRQ_MTI));
	csr_set(mstatus, MSTATUS_MIE);
	wait_irqs(2);
	csr_clear(mstatus, MSTATUS_MIE);
	check2("MSI before MTI", order[0], CAUSE_INTR | IRQ_MSI, order[1], CAUSE_INTR | IRQ_MTI);

	/* All four pending in M, none delegated: MSI > MTI > SSI > STI. */
	reset_log();
	mmio_write32(CLINT_MSIP(0), 1);
	set_cmp(0);
	csr_set(mip, (1UL << IRQ_SSI) | (1UL << IRQ_STI));
	csr_write(mie, (1UL << IRQ_MSI) | (1UL << IRQ_MTI) | (1UL << IRQ_SSI) | (1UL << IRQ_STI));
	csr_set(mstatus, MSTATUS_MIE);
	wait_irqs(4);
	csr_clear(mstatus, MSTATUS_MIE);
	check("priority 1st: MSI", order[0], CAUSE_INTR | IRQ_MSI);
	check("priority 2nd: MTI", order[1], CAUSE_INTR | IRQ_MTI);
	check("priority 3rd: SSI", order[2], CAUSE_INTR | IRQ_SSI);
	check("priority 4th: STI", order[3], CAUSE_INTR | IRQ_STI);
	csr_write(mie, 0);

	/* SSI and STI delegated to S, both pending: SSI first. */
	reset_log();
	s_irq_hook = s_hook;
	csr_write(mideleg, (1UL << IRQ_SSI) | (1UL << IRQ_STI));
	csr_set(mip, (1UL << IRQ_SSI) | (1UL << IRQ_STI));
	csr_write(mie, (1UL << IRQ_SSI) | (1UL << IRQ_STI));
	run_mode(PRV_S, s_spin, 2);
	check("delegated SSI before STI (1st)", order[0], (1UL << 62) | CAUSE_INTR | IRQ_SSI);
	check("delegated SSI before STI (2nd)", order[1], (1UL << 62) | CAUSE_INTR | IRQ_STI);
	csr_clear(mip, 1UL << IRQ_STI);

	/* MTI (to M) and SSI (delegated) pending while in S: MTI first, in M. */
	reset_log();
	set_cmp(0);
	csr_set(mip, 1UL << IRQ_SSI);
	csr_write(mie, (1UL << IRQ_SSI) | (1UL << IRQ_MTI));
	run_mode(PRV_S, s_spin, 2);
	check("in S: M-level MTI taken first, in M", order[0], CAUSE_INTR | IRQ_MTI);
	check("in S: then SSI taken in S", order[1], (1UL << 62) | CAUSE_INTR | IRQ_SSI);
	csr_write(mie, 0);
	csr_write(mideleg, 0);
}

static void test_sti_deleg(void)
{
	u64 n;

	csr_write(mideleg, 1UL << IRQ_STI);
	check("mideleg STI writable", csr_read(mideleg) & 0x2aa, 1UL << IRQ_STI);
	/* In M, a delegated interrupt is never taken. */
	reset_log();
	csr_set(mip, 1UL << IRQ_STI);
	check("M can set mip.STIP", csr_read(mip) & (1UL << IRQ_STI), 1UL << IRQ_STI);
	check("sip.STIP shows it", csr_read(sip) & (1UL << IRQ_STI), 1UL << IRQ_STI);
	csr_write(mie, 1UL << IRQ_STI);
	csr_set(mstatus, MSTATUS_MIE);
	for (volatile int i = 0; i < 1000; i++)
		;
	csr_clear(mstatus, MSTATUS_MIE);
	check("delegated STI not taken in M", norder, 0);
	n = run_mode(PRV_S, s_spin, 1);
	check("injected STIP delegated to S: scause", order[0],
	      (1UL << 62) | CAUSE_INTR | IRQ_STI);
	check("one STI in S", n, 1);
	/* In S with SIE = 0 it stays pending; in U it is taken regardless. */
	reset_log();
	csr_write(mie, 1UL << IRQ_STI);
	csr_clear(mstatus, MSTATUS_SIE);
	n = run_mode(PRV_U, u_spin, 1);
	check("delegated STI taken from U even with SIE=0", n, 1);
	csr_clear(mip, 1UL << IRQ_STI);
	csr_write(mie, 0);
	csr_write(mideleg, 0);
}

static u64 s_sstc(u64 arg)
{
	u64 t = csr_read(time);
	csr_write(0x14d, t + 3000);
	csr_set(sie, 1UL << IRQ_STI);
	return s_spin(1);
}

static u64 s_read_stimecmp(u64 a)
{
	return csr_read(0x14d);
}

static void test_sstc(void)
{
	u64 n;

	csr_write(mcounteren, 7);
	csr_write(CSR_MENVCFG, 0);
	expect_trap(TRAP_SKIP);
	run_mode(PRV_S, s_read_stimecmp, 0);
	check_trap("STCE=0: stimecmp in S is illegal", CAUSE_ILLEGAL);
	csr_write(CSR_MENVCFG, MENVCFG_STCE);
	check("menvcfg.STCE writable", csr_read(CSR_MENVCFG) & MENVCFG_STCE, MENVCFG_STCE);
	csr_write(0x14d, ~0UL);
	check("STCE=1: STIP clear with stimecmp = max", csr_read(mip) & (1UL << IRQ_STI), 0);
	csr_write(0x14d, 0);
	check("STCE=1: STIP follows stimecmp <= time", csr_read(mip) & (1UL << IRQ_STI),
	      1UL << IRQ_STI);
	csr_write(0x14d, ~0UL);
	expect_trap(TRAP_SKIP);
	run_mode(PRV_S, s_read_stimecmp, 0);
	check_no_trap("STCE=1: stimecmp readable in S");

	reset_log();
	csr_write(mideleg, 1UL << IRQ_STI);
	s_irq_hook = s_hook;
	n = run_mode(PRV_S, s_sstc, 0);
	check("Sstc: stimecmp interrupt taken in S", order[0], (1UL << 62) | CAUSE_INTR | IRQ_STI);
	check("Sstc: exactly one", n, 1);
	csr_write(0x14d, ~0UL);
	csr_write(mie, 0);
	csr_write(mideleg, 0);
	csr_write(CSR_MENVCFG, 0);
}

static u64 s_wfi(u64 a)
{
	asm volatile("wfi");
	return 1;
}

static void test_wfi_s(void)
{
	/* TW = 0, SSI pending and enabled in sie, SIE = 0: wfi returns. */
	reset_log();
	csr_write(mideleg, 1UL << IRQ_SSI);
	csr_write(mie, 1UL << IRQ_SSI);
	csr_set(mip, 1UL << IRQ_SSI);
	csr_clear(mstatus, MSTATUS_SIE | MSTATUS_TW);
	expect_trap(TRAP_SKIP);
	run_mode(PRV_S, s_wfi, 0);
	check_no_trap("TW=0: wfi in S with a pending interrupt returns");
	check("no interrupt taken (SIE=0)", norder, 0);
	csr_clear(mip, 1UL << IRQ_SSI);
	csr_write(mie, 0);
	csr_write(mideleg, 0);
	csr_set(mip, 1UL << IRQ_MSI);
	check("mip.MSIP not writable through csrs", csr_read(mip) & (1UL << IRQ_MSI), 0);
}

int main(void);
int main(void)
{
	csr_write(mcounteren, 7);   /* S code reads time */
	test_timer_soft();
	test_wfi();
	test_vectored();
	test_priority();
	test_sti_deleg();
	test_sstc();
	test_wfi_s();
	m_irq_hook = 0;
	s_irq_hook = 0;
	return 0;
}
