/* SPDX-License-Identifier: MIT */
/* Virtual memory: Sv39 and Sv48 page tables, identity and non-identity maps,
 * superpages, permission faults (cause 12/13/15, stval = VA), hardware A/D
 * updates, MXR, SUM, MPRV, sfence.vma and satp WARL behaviour.
 * Privileged spec 4.3 (Sv32 algorithm), 4.4 (Sv39), 4.5 (Sv48). */
#include "test.h"

#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_G (1UL << 5)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
#define RWX (PTE_R | PTE_W | PTE_X)
#define AD (PTE_A | PTE_D)

#define SATP_SV39 (8UL << 60)
#define SATP_SV48 (9UL << 60)

#define PTE(pa, fl) ((((u64)(pa)) >> 12) << 10 | (fl))

typedef u64 ptable[512] __attribute__((aligned(4096)));
static ptable tables[16];
static unsigned ntables;
static u64 data[4][512] __attribute__((aligned(4096)));
static u32 code[1024] __attribute__((aligned(4096), section(".data")));

static u64 *new_table(void)
{
	u64 *t = tables[ntables++];
	memset(t, 0, 4096);
	return t;
}

static u64 satp_of(u64 mode, u64 *root) { return mode | ((u64)root >> 12); }

static void flush(void) { asm volatile("sfence.vma" ::: "memory"); }

/* S/U helpers: one access each. */
static u64 x_ld(u64 va) { return *(volatile u64 *)va; }
static u64 x_sd(u64 va) { *(volatile u64 *)va = 0x5d5d5d5d; return 0; }
static u64 x_jr(u64 va) { return ((u64 (*)(void))va)(); }
static u64 x_amo(u64 va)
{
	u64 r;
	asm volatile("amoadd.d %0, %1, (%2)" : "=r"(r) : "r"(1UL), "r"(va) : "memory");
	return r;
}

/* Expect a fault that leaves the lower-mode function. */
static void t_fault(const char *name, u64 mode, u64 (*fn)(u64), u64 va, u64 cause)
{
	u64 r;
	expect_trap(TRAP_EXIT);
	r = run_mode(mode, fn, va);
	if (r != RUN_TRAPPED && trap_rec.count == 0) {
		tap_result(name, 0, "no fault");
		trap_expect = 0;
		return;
	}
	check_trap_tval(name, cause, va);
}

/* Same, for an access at va whose fault reports tval (a misaligned access's faulting part). */
static void t_fault_at(const char *name, u64 mode, u64 (*fn)(u64), u64 va, u64 cause, u64 tval)
{
	u64 r;
	expect_trap(TRAP_EXIT);
	r = run_mode(mode, fn, va);
	if (r != RUN_TRAPPED && trap_rec.count == 0) {
		tap_result(name, 0, "no fault");
		trap_expect = 0;
		return;
	}
	check_trap_tval(name, cause, tval);
}

static void t_ok(const char *name, u64 mode, u64 (*fn)(u64), u64 va, u64 expect)
{
	u64 r;
	expect_trap(TRAP_EXIT);
	r = run_mode(mode, fn, va);
	if (trap_rec.count) {
		check_no_trap(name);
		return;
	}
	trap_expect = 0;
	check(name, r, expect);
}

/* Sv39 layout:
 *   root[2]: identity gigapage for RAM at 0x80000000 (S: no U; U root: U)
 *   root[1] -> l1: l1[0] -> l0 (4 KiB slots at 0x40000000 + n * 4 KiB),
 *                  l1[1] megapage at 0x40200000, l1[2] misaligned megapage
 *   root[4]: gigapage 0x100000000 -> 0x80000000
 *   root[5]: misaligned gigapage */
static u64 *root, *l1, *l0, *uroot;
#define SLOT(n) (0x40000000UL + (n) * 0x1000UL)

static void set_slot(unsigned n, u64 pa, u64 flags)
{
	l0[n] = PTE(pa, flags);
	flush();
}

static void build_sv39(void)
{
	root = new_table();
	l1 = new_table();
	l0 = new_table();
	uroot = new_table();
	root[2] = PTE(0x80000000UL, PTE_V | RWX | AD);
	root[1] = PTE(l1, PTE_V);
	l1[0] = PTE(l0, PTE_V);
	l1[1] = PTE(0x80400000UL, PTE_V | PTE_R | PTE_W | AD);
	l1[2] = PTE(0x80401000UL, PTE_V | PTE_R | PTE_W | AD);   /* PPN[0] != 0 */
	root[4] = PTE(0x80000000UL, PTE_V | PTE_R | PTE_W | AD);
	root[5] = PTE(0x80200000UL, PTE_V | PTE_R | PTE_W | AD); /* PPN[1] != 0 */
	/* The U root shares l1 but maps RAM as a U gigapage. */
	uroot[2] = PTE(0x80000000UL, PTE_V | RWX | PTE_U | AD);
	uroot[1] = PTE(l1, PTE_V);
}

static void test_sv39_maps(void)
{
	static volatile u64 ident = 0x1dea1dea;
	volatile u64 *mega = (volatile u64 *)0x80401238UL;

	csr_write(satp, satp_of(SATP_SV39, root));
	flush();
	t_ok("Sv39 identity gigapage read", PRV_S, x_ld, (u64)&ident, 0x1dea1dea);
	data[0][3] = 0xabcdef;
	set_slot(0, (u64)data[0], PTE_V | PTE_R | PTE_W | AD);
	t_ok("Sv39 4 KiB non-identity read", PRV_S, x_ld, SLOT(0) + 24, 0xabcdef);
	t_ok("Sv39 4 KiB non-identity write", PRV_S, x_sd, SLOT(0) + 32, 0);
	check("write landed in the physical page", data[0][4], 0x5d5d5d5d);
	set_slot(1, (u64)data[1], PTE_V | PTE_R | PTE_W | AD);
	data[1][0] = 0x1111;
	t_ok("two VAs map two different pages", PRV_S, x_ld, SLOT(1), 0x1111);
	*mega = 0x3e6a;
	t_ok("Sv39 2 MiB megapage", PRV_S, x_ld, 0x40201238UL, 0x3e6a);
	t_ok("Sv39 1 GiB gigapage non-identity", PRV_S, x_ld,
	     0x100000000UL + ((u64)&ident - 0x80000000UL), 0x1dea1dea);
	t_fault("misaligned megapage faults", PRV_S, x_ld, 0x40400000UL, CAUSE_LOAD_PAGE);
	t_fault("misaligned gigapage faults", PRV_S, x_ld, 0x140000000UL, CAUSE_LOAD_PAGE);
	t_fault("misaligned gigapage store faults (15)", PRV_S, x_sd, 0x140000008UL, CAUSE_STORE_PAGE);
	t_fault("unmapped VA (root V=0) faults", PRV_S, x_ld, 0xc0000000UL, CAUSE_LOAD_PAGE);
	t_fault("non-canonical Sv39 VA faults", PRV_S, x_ld, 0x8000000000UL, CAUSE_LOAD_PAGE);
	t_fault("non-canonical high VA faults", PRV_S, x_ld, 0xffff000080000000UL, CAUSE_LOAD_PAGE);
}

static void test_sv39_perms(void)
{
	u64 cva = SLOT(8);

	code[0] = 0x02a00513;   /* li a0, 42 */
	code[1] = 0x00008067;   /* ret */
	asm volatile("fence.i" ::: "memory");

	set_slot(2, (u64)data[2], PTE_V | AD);   /* V, no RWX: non-leaf at level 0 */
	t_fault("non-leaf PTE at the last level faults", PRV_S, x_ld, SLOT(2), CAUSE_LOAD_PAGE);
	set_slot(2, (u64)data[2], PTE_R | PTE_W | AD);
	t_fault("V=0 load faults (13)", PRV_S, x_ld, SLOT(2), CAUSE_LOAD_PAGE);
	t_fault("V=0 store faults (15)", PRV_S, x_sd, SLOT(2) + 8, CAUSE_STORE_PAGE);
	set_slot(2, (u64)data[2], PTE_V | PTE_W | AD);
	t_fault("W without R: load faults", PRV_S, x_ld, SLOT(2), CAUSE_LOAD_PAGE);
	t_fault("W without R: store faults", PRV_S, x_sd, SLOT(2), CAUSE_STORE_PAGE);
	set_slot(2, (u64)data[2], PTE_V | PTE_W | PTE_X | AD);
	t_fault("W+X without R: store faults", PRV_S, x_sd, SLOT(2) + 16, CAUSE_STORE_PAGE);
	set_slot(2, (u64)data[2], PTE_V | PTE_R | AD | (1UL << 54));
	t_fault("reserved PTE bit 54 faults", PRV_S, x_ld, SLOT(2), CAUSE_LOAD_PAGE);
	data[2][0] = 77;
	set_slot(2, (u64)data[2], PTE_V | PTE_R | AD);
	t_ok("R page: load works", PRV_S, x_ld, SLOT(2), 77);
	t_fault("R page: store faults (15)", PRV_S, x_sd, SLOT(2), CAUSE_STORE_PAGE);
	t_fault("R page: AMO faults (15)", PRV_S, x_amo, SLOT(2), CAUSE_STORE_PAGE);
	t_fault("R page: fetch faults (12)", PRV_S, x_jr, SLOT(2), CAUSE_FETCH_PAGE);

	set_slot(8, (u64)code, PTE_V | PTE_X | AD);
	t_ok("X page: fetch works", PRV_S, x_jr, cva, 42);
	t_fault("X-only page: load faults (MXR=0)", PRV_S, x_ld, cva, CAUSE_LOAD_PAGE);
	csr_set(mstatus, MSTATUS_MXR);
	t_ok("X-only page: load works with MXR=1", PRV_S, x_ld, cva, 0x0000806702a00513UL);
	csr_clear(mstatus, MSTATUS_MXR);
	set_slot(8, (u64)code, PTE_V | PTE_R | PTE_W | AD);
	t_fault("RW page: fetch faults (12), stval = VA", PRV_S, x_jr, cva, CAUSE_FETCH_PAGE);

	/* A misaligned store whose second page faults reports that page (priv 3.1.16). */
	set_slot(9, (u64)data[2], PTE_V | PTE_R | PTE_W | AD);
	set_slot(10, (u64)data[3], PTE_V | PTE_R | AD);
	t_fault_at("misaligned store, second page read-only: stval = second page", PRV_S, x_sd,
		   SLOT(10) - 4, CAUSE_STORE_PAGE, SLOT(10));

	/* U pages from S: SUM. */
	data[3][0] = 0x5ab;
	set_slot(3, (u64)data[3], PTE_V | PTE_R | PTE_W | PTE_U | AD);
	t_fault("S load from U page with SUM=0 faults", PRV_S, x_ld, SLOT(3), CAUSE_LOAD_PAGE);
	t_fault("S store to U page with SUM=0 faults", PRV_S, x_sd, SLOT(3), CAUSE_STORE_PAGE);
	csr_set(mstatus, MSTATUS_SUM);
	t_ok("S load from U page with SUM=1 works", PRV_S, x_ld, SLOT(3), 0x5ab);
	set_slot(8, (u64)code, PTE_V | PTE_X | PTE_U | AD);
	t_fault("S fetch from U page faults even with SUM=1", PRV_S, x_jr, cva, CAUSE_FETCH_PAGE);
	csr_clear(mstatus, MSTATUS_SUM);

	/* U mode (RAM is a U gigapage in uroot). */
	csr_write(satp, satp_of(SATP_SV39, uroot));
	flush();
	t_ok("U load from U page works", PRV_U, x_ld, SLOT(3), 0x5ab);
	t_ok("U fetch from U+X page works", PRV_U, x_jr, cva, 42);
	set_slot(3, (u64)data[3], PTE_V | PTE_R | PTE_W | AD);
	t_fault("U load from S page faults", PRV_U, x_ld, SLOT(3), CAUSE_LOAD_PAGE);
	t_fault("U store to S page faults", PRV_U, x_sd, SLOT(3), CAUSE_STORE_PAGE);
	set_slot(8, (u64)code, PTE_V | PTE_X | AD);
	t_fault("U fetch from S page faults", PRV_U, x_jr, cva, CAUSE_FETCH_PAGE);
	csr_write(satp, satp_of(SATP_SV39, root));
	flush();
}

static void test_ad(void)
{
	u64 pte;

	set_slot(4, (u64)data[0], PTE_V | PTE_R | PTE_W);
	t_ok("load through a PTE with A=0", PRV_S, x_ld, SLOT(4), data[0][0]);
	pte = l0[4];
	check("load sets A, leaves D clear", pte & AD, PTE_A);
	t_ok("store through a PTE with D=0", PRV_S, x_sd, SLOT(4) + 8, 0);
	pte = l0[4];
	check("store sets A and D", pte & AD, AD);
	set_slot(4, (u64)data[0], PTE_V | PTE_R | PTE_W);
	t_ok("store with A=0 D=0", PRV_S, x_sd, SLOT(4) + 8, 0);
	check("store sets both A and D", l0[4] & AD, AD);
	set_slot(5, (u64)code, PTE_V | PTE_X);
	t_ok("fetch through a PTE with A=0", PRV_S, x_jr, SLOT(5), 42);
	check("fetch sets A", l0[5] & AD, PTE_A);
	set_slot(6, (u64)data[1], PTE_V | PTE_R);
	t_fault("store to R page with A=0: fault, no D", PRV_S, x_sd, SLOT(6), CAUSE_STORE_PAGE);
	check("faulting store leaves D clear", l0[6] & PTE_D, 0);
}

static u64 s_sfence_read(u64 va)
{
	u64 a = *(volatile u64 *)va;
	/* M changes the PTE between the two reads through this hook. */
	register u64 a7 asm("a7") = 0;
	asm volatile("ecall" :: "r"(a7) : "memory");
	asm volatile("sfence.vma" ::: "memory");
	return a * 1000 + *(volatile u64 *)va;
}

static u64 s_satp_write(u64 v)
{
	u64 old = csr_read(satp);
	csr_write(satp, v);
	u64 now = csr_read(satp);
	csr_write(satp, old);
	return now;
}

static u64 s_sfence_va(u64 va)
{
	asm volatile("sfence.vma %0, zero" :: "r"(va) : "memory");
	return *(volatile u64 *)va;
}

static void swap_pte(struct trap_frame *f)
{
	l0[7] = PTE(data[1], PTE_V | PTE_R | AD);
}

static void test_sfence(void)
{
	data[0][0] = 1;
	data[1][0] = 2;
	set_slot(7, (u64)data[0], PTE_V | PTE_R | AD);
	/* The ecall in s_sfence_read traps to M (expected), which swaps the
	 * PTE to data[1] before skipping it. */
	expect_trap(TRAP_SKIP);
	trap_hook = swap_pte;
	u64 r = run_mode(PRV_S, s_sfence_read, SLOT(7));
	trap_hook = 0;
	check("sfence.vma makes the changed PTE visible", r, 1002);
	set_slot(7, (u64)data[0], PTE_V | PTE_R | AD);
	t_ok("warm the TLB", PRV_S, x_ld, SLOT(7), 1);
	l0[7] = PTE(data[1], PTE_V | PTE_R | AD);
	t_ok("sfence.vma rs1=VA flushes that page", PRV_S, s_sfence_va, SLOT(7), 2);
	l0[7] = PTE(data[1], PTE_R | AD);
	flush();
	t_fault("cleared V after sfence.vma faults", PRV_S, x_ld, SLOT(7), CAUSE_LOAD_PAGE);

	u64 cur = satp_of(SATP_SV39, root);
	t_ok("S write of satp mode 1 leaves satp unchanged", PRV_S, s_satp_write, (1UL << 60) | 5, cur);
	t_ok("S write of satp mode 12 leaves satp unchanged", PRV_S, s_satp_write,
	     (12UL << 60) | 5, cur);
}

static void test_mprv(void)
{
	u64 v;

	data[2][0] = 0x4242;
	set_slot(9, (u64)data[2], PTE_V | PTE_R | PTE_W | AD);
	/* One asm block: with MPRV set, every M load/store is translated. */
	asm volatile("csrs mstatus, %2\n ld %0, 0(%1)\n csrc mstatus, %3"
		     : "=&r"(v) : "r"(SLOT(9)), "r"(MSTATUS_MPRV | (1UL << 11)),
		       "r"(MSTATUS_MPRV | MSTATUS_MPP) : "memory");
	check("MPRV=1 MPP=S: M load is translated", v, 0x4242);
	csr_clear(mstatus, MSTATUS_MPP);
	expect_trap(TRAP_SKIP);
	asm volatile("csrs mstatus, %2\n ld %0, 0(%1)\n csrc mstatus, %3"
		     : "=&r"(v) : "r"(SLOT(9)), "r"(MSTATUS_MPRV),
		       "r"(MSTATUS_MPRV | MSTATUS_MPP) : "memory");
	check_trap_tval("MPRV=1 MPP=U: load from S page faults", CAUSE_LOAD_PAGE, SLOT(9));
	set_slot(9, (u64)data[2], PTE_V | PTE_R | PTE_W | PTE_U | AD);
	csr_clear(mstatus, MSTATUS_MPP);
	expect_trap(TRAP_SKIP);
	asm volatile("csrs mstatus, %2\n ld %0, 0(%1)\n csrc mstatus, %3"
		     : "=&r"(v) : "r"(SLOT(9)), "r"(MSTATUS_MPRV | (1UL << 11)),
		       "r"(MSTATUS_MPRV | MSTATUS_MPP) : "memory");
	check_trap_tval("MPRV=1 MPP=S SUM=0: load from U page faults", CAUSE_LOAD_PAGE, SLOT(9));
	asm volatile("csrs mstatus, %2\n ld %0, 0(%1)\n csrc mstatus, %3"
		     : "=&r"(v) : "r"(SLOT(9)), "r"(MSTATUS_MPRV | MSTATUS_SUM | (1UL << 11)),
		       "r"(MSTATUS_MPRV | MSTATUS_MPP | MSTATUS_SUM) : "memory");
	check("MPRV=1 MPP=S SUM=1: load from U page works", v, 0x4242);
	v = *(volatile u64 *)data[2];
	check("MPRV=0: M accesses are physical", v, 0x4242);
}

static void test_deleg(void)
{
	set_slot(10, (u64)data[0], PTE_R | AD);
	flush();
	csr_write(medeleg, (1UL << CAUSE_LOAD_PAGE) | (1UL << CAUSE_STORE_PAGE));
	expect_trap(TRAP_SKIP);
	run_mode(PRV_S, x_ld, SLOT(10));
	check_trap_level("delegated load page fault goes to S", CAUSE_LOAD_PAGE, PRV_S);
	check("delegated: stval = VA", trap_rec.tval, SLOT(10));
	expect_trap(TRAP_SKIP);
	run_mode(PRV_S, x_sd, SLOT(10) + 0x10);
	check_trap_level("delegated store page fault goes to S", CAUSE_STORE_PAGE, PRV_S);
	check("delegated: stval = store VA", trap_rec.tval, SLOT(10) + 0x10);
	csr_write(medeleg, 0);
}

static void test_sv48(void)
{
	u64 *r4 = new_table(), *l2 = new_table(), *l1b = new_table(), *l0b = new_table();
	static volatile u64 ident = 0x48484848;

	r4[0] = PTE(l2, PTE_V);
	l2[2] = PTE(0x80000000UL, PTE_V | RWX | AD);      /* identity gigapage */
	l2[1] = PTE(l1b, PTE_V);
	l1b[0] = PTE(l0b, PTE_V);
	l0b[0] = PTE(data[1], PTE_V | PTE_R | PTE_W | AD);
	l0b[1] = PTE(data[1], PTE_V | PTE_R | AD);
	r4[1] = PTE(0, PTE_V | PTE_R | PTE_W | AD);        /* 512 GiB terapage at 512 GiB */
	r4[2] = PTE(0x80000000UL, PTE_V | PTE_R | AD);     /* misaligned terapage */
	r4[256] = PTE(l2, PTE_V);                          /* upper half shares l2 */
	csr_write(satp, satp_of(SATP_SV48, r4));
	check("satp accepts Sv48", csr_read(satp) >> 60, 9);
	flush();
	data[1][5] = 0x5678;
	t_ok("Sv48 identity gigapage read", PRV_S, x_ld, (u64)&ident, 0x48484848);
	t_ok("Sv48 4-level 4 KiB page read", PRV_S, x_ld, 0x40000000UL + 40, 0x5678);
	t_ok("Sv48 4 KiB page write", PRV_S, x_sd, 0x40000000UL + 48, 0);
	check("Sv48 write landed", data[1][6], 0x5d5d5d5d);
	t_ok("Sv48 terapage", PRV_S, x_ld, 0x8000000000UL + (u64)&ident, 0x48484848);
	t_fault("Sv48 misaligned terapage faults", PRV_S, x_ld, 0x10000000000UL + 8, CAUSE_LOAD_PAGE);
	t_fault("Sv48 store to R page faults", PRV_S, x_sd, 0x40001000UL, CAUSE_STORE_PAGE);
	t_ok("Sv48 upper-half canonical VA", PRV_S, x_ld,
	     0xffff800000000000UL + (u64)&ident, 0x48484848);
	t_fault("Sv48 non-canonical VA faults", PRV_S, x_ld, 0x0000800000000000UL + (u64)&ident,
		CAUSE_LOAD_PAGE);
	csr_write(satp, 0);
	flush();
}

int main(void);
int main(void)
{
	build_sv39();
	test_sv39_maps();
	test_sv39_perms();
	test_ad();
	test_sfence();
	test_mprv();
	test_deleg();
	test_sv48();
	csr_write(satp, 0);
	return 0;
}
