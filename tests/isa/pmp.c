/* SPDX-License-Identifier: MIT */
/* Physical memory protection: NAPOT, TOR and NA4 regions, S/U access faults
 * (cause 1/5/7, mtval = address), priority of the lowest-numbered entry,
 * no-match behaviour, locked entries (enforced in M, registers frozen).
 * Privileged spec 3.7. Assumes 16 entries with 4-byte granularity (G=0). */
#include "test.h"

#define PMP_R 1UL
#define PMP_W 2UL
#define PMP_X 4UL
#define PMP_OFF   (0UL << 3)
#define PMP_TOR   (1UL << 3)
#define PMP_NA4   (2UL << 3)
#define PMP_NAPOT (3UL << 3)
#define PMP_L     (1UL << 7)
#define CATCH_ALL (0x1fUL << 56)   /* entry 15 in pmpcfg2 */

static u32 region[2048] __attribute__((aligned(4096), section(".data")));
/* The tests cover the first 4 KiB; the second is scratch for accesses
 * just past the region. */
#define BASE ((u64)region)

static u64 napot(u64 base, u64 size) { return (base >> 2) | ((size >> 3) - 1); }

static void pmp_sync(void) { asm volatile("sfence.vma" ::: "memory"); }

/* Entries 0..7 live in pmpcfg0. */
static void set_cfg0(u64 v) { csr_write(pmpcfg0, v); pmp_sync(); }

static u64 x_lw(u64 a) { return *(volatile u32 *)a; }
static u64 x_sw(u64 a) { *(volatile u32 *)a = 0x600d; return 0; }
static u64 x_jr(u64 a) { return ((u64 (*)(void))a)(); }

static void t_fault(const char *name, u64 mode, u64 (*fn)(u64), u64 a, u64 cause)
{
	expect_trap(TRAP_EXIT);
	run_mode(mode, fn, a);
	check_trap_tval(name, cause, a);
}

static void t_ok(const char *name, u64 mode, u64 (*fn)(u64), u64 a, u64 expect)
{
	u64 r;
	expect_trap(TRAP_EXIT);
	r = run_mode(mode, fn, a);
	if (trap_rec.count) {
		check_no_trap(name);
		return;
	}
	trap_expect = 0;
	check(name, r, expect);
}

static void test_napot(void)
{
	region[0] = 0x02a00513;   /* li a0, 42 */
	region[1] = 0x00008067;   /* ret */
	region[16] = 0x1234;
	asm volatile("fence.i" ::: "memory");

	csr_write(pmpaddr0, napot(BASE, 4096));
	check("pmpaddr0 NAPOT value reads back", csr_read(pmpaddr0), napot(BASE, 4096));
	set_cfg0(PMP_NAPOT | PMP_R);
	check("pmpcfg0 entry 0 reads back", csr_read(pmpcfg0) & 0xff, PMP_NAPOT | PMP_R);
	t_ok("NAPOT R: S load works", PRV_S, x_lw, BASE + 64, 0x1234);
	t_fault("NAPOT R: S store faults (7)", PRV_S, x_sw, BASE + 64, CAUSE_STORE_ACCESS);
	t_fault("NAPOT R: S fetch faults (1)", PRV_S, x_jr, BASE, CAUSE_FETCH_ACCESS);
	t_ok("NAPOT R: U load works", PRV_U, x_lw, BASE + 64, 0x1234);
	t_fault("NAPOT R: U store faults (7)", PRV_U, x_sw, BASE + 68, CAUSE_STORE_ACCESS);
	t_fault("NAPOT R: last byte of region still covered", PRV_S, x_sw, BASE + 4092,
		CAUSE_STORE_ACCESS);
	t_ok("NAPOT R: byte after region is not covered", PRV_S, x_sw, BASE + 4096, 0);
	set_cfg0(PMP_NAPOT | PMP_X);
	t_ok("NAPOT X: S fetch works", PRV_S, x_jr, BASE, 42);
	t_fault("NAPOT X: S load faults (5)", PRV_S, x_lw, BASE + 64, CAUSE_LOAD_ACCESS);
	t_ok("NAPOT X: U fetch works", PRV_U, x_jr, BASE, 42);
	set_cfg0(PMP_NAPOT | PMP_R | PMP_W);
	t_ok("NAPOT RW: S store works", PRV_S, x_sw, BASE + 64, 0);
	check("store landed", region[16], 0x600d);
	set_cfg0(PMP_NAPOT);
	expect_trap(TRAP_SKIP);
	region[17] = 5;
	check_no_trap("unlocked entry does not restrict M");
	set_cfg0(0);
}

static void test_tor_na4(void)
{
	region[32] = 0x77;
	region[600] = 0x88;
	csr_write(pmpaddr0, BASE >> 2);
	csr_write(pmpaddr1, (BASE + 0x800) >> 2);
	set_cfg0((PMP_TOR | PMP_R) << 8);
	t_fault("TOR R: store inside faults", PRV_S, x_sw, BASE + 0x100, CAUSE_STORE_ACCESS);
	t_ok("TOR R: load inside works", PRV_S, x_lw, BASE + 128, 0x77);
	t_fault("TOR: top - 4 is inside", PRV_S, x_sw, BASE + 0x7fc, CAUSE_STORE_ACCESS);
	t_ok("TOR: top is outside", PRV_S, x_sw, BASE + 0x800, 0);
	t_ok("TOR: below bottom is outside", PRV_S, x_sw, BASE - 4, 0);
	t_fault("TOR: U store inside faults", PRV_U, x_sw, BASE, CAUSE_STORE_ACCESS);

	csr_write(pmpaddr0, (BASE + 0x10) >> 2);
	set_cfg0(PMP_NA4);
	t_fault("NA4 none: load of the word faults", PRV_S, x_lw, BASE + 0x10, CAUSE_LOAD_ACCESS);
	t_ok("NA4: next word not covered", PRV_S, x_lw, BASE + 0x14, region[5]);
	t_ok("NA4: previous word not covered", PRV_S, x_lw, BASE + 0x0c, region[3]);
	set_cfg0(0);
}

static void test_priority(void)
{
	region[40] = 0x99;
	csr_write(pmpaddr0, napot(BASE, 4096));
	csr_write(pmpaddr1, napot(BASE, 4096));
	set_cfg0(PMP_NAPOT | ((PMP_NAPOT | PMP_R | PMP_W) << 8));
	t_fault("entry 0 (none) wins over entry 1 (RW)", PRV_S, x_lw, BASE + 160, CAUSE_LOAD_ACCESS);
	set_cfg0((PMP_NAPOT | PMP_R) | (PMP_NAPOT << 8));
	t_ok("entry 0 (R) wins over entry 1 (none)", PRV_S, x_lw, BASE + 160, 0x99);
	/* A smaller region in entry 0 overrides the larger one in entry 1. */
	csr_write(pmpaddr0, napot(BASE, 8));
	csr_write(pmpaddr1, napot(BASE, 4096));
	set_cfg0((PMP_NAPOT) | ((PMP_NAPOT | PMP_R | PMP_W) << 8));
	t_fault("8-byte NAPOT entry 0 overrides 4 KiB entry 1", PRV_S, x_lw, BASE + 4,
		CAUSE_LOAD_ACCESS);
	t_ok("outside the 8 bytes entry 1 applies", PRV_S, x_lw, BASE + 8, region[2]);
	set_cfg0(0);
}

static u64 s_nop(u64 a) { return a + 1; }

static void test_nomatch(void)
{
	csr_write(pmpaddr0, napot(BASE, 4096));
	set_cfg0(PMP_NAPOT | PMP_R | PMP_W | PMP_X);
	csr_write(pmpcfg2, 0);         /* drop the catch-all entry 15 */
	pmp_sync();
	/* Code inside the region that returns to M by itself. */
	region[0] = 0x02a00513;   /* li a0, 42 */
	region[1] = 0x000058b7;   /* lui a7, 5 */
	region[2] = 0x25488893;   /* addi a7, a7, 0x254: MAGIC_RET */
	region[3] = 0x00000073;   /* ecall */
	asm volatile("fence.i" ::: "memory");
	expect_trap(TRAP_EXIT);
	u64 r = run_mode(PRV_S, (u64 (*)(u64))region, 0);
	check_no_trap("S code inside the only entry runs");
	check("and returns through ecall", r, 42);
	/* x_lw itself is outside every entry: the fetch fails. */
	expect_trap(TRAP_EXIT);
	run_mode(PRV_S, s_nop, 0);
	check_trap_tval("no matching entry: S fetch faults", CAUSE_FETCH_ACCESS, (u64)s_nop);
	expect_trap(TRAP_EXIT);
	run_mode(PRV_U, s_nop, 0);
	check_trap_tval("no matching entry: U fetch faults", CAUSE_FETCH_ACCESS, (u64)s_nop);
	expect_trap(TRAP_SKIP);
	region[100] = region[99];
	check_no_trap("no matching entry: M accesses succeed");
	csr_write(pmpcfg2, CATCH_ALL);
	set_cfg0(0);
	expect_trap(TRAP_SKIP);
	asm volatile("csrr t0, pmpcfg1" ::: "t0");
	check_trap("pmpcfg1 does not exist on RV64", CAUSE_ILLEGAL);
}

static void test_locked(void)
{
	u64 cfg2;

	region[50] = 0xab;
	/* Entry 13 (OFF) is the bottom of the locked TOR entry 14. */
	csr_write(pmpaddr13, BASE >> 2);
	csr_write(pmpaddr14, (BASE + 0x1000) >> 2);
	csr_write(pmpcfg2, CATCH_ALL | ((PMP_L | PMP_TOR | PMP_R) << 48));
	pmp_sync();
	cfg2 = csr_read(pmpcfg2);
	check("locked entry 14 cfg reads back", (cfg2 >> 48) & 0xff, PMP_L | PMP_TOR | PMP_R);
	expect_trap(TRAP_SKIP);
	u64 v = region[50];
	check_no_trap("locked R: M load works");
	check("locked R: M load value", v, 0xab);
	expect_trap(TRAP_SKIP);
	asm volatile("sw %0, 0(%1)" :: "r"(1UL), "r"(&region[51]) : "memory");
	check_trap_tval("locked R: M store faults (7)", CAUSE_STORE_ACCESS, (u64)&region[51]);
	expect_trap(TRAP_RET_RA);
	asm volatile("jalr ra, 0(%0)" :: "r"(region) : "ra", "memory");
	check_trap_tval("locked R: M fetch faults (1)", CAUSE_FETCH_ACCESS, (u64)region);
	t_fault("locked R: S store faults too", PRV_S, x_sw, BASE + 8, CAUSE_STORE_ACCESS);

	csr_write(pmpaddr14, 0x1234);
	check("locked: pmpaddr14 write ignored", csr_read(pmpaddr14), (BASE + 0x1000) >> 2);
	csr_write(pmpaddr13, 0x1234);
	check("locked TOR: pmpaddr13 (its bottom) write ignored", csr_read(pmpaddr13), BASE >> 2);
	csr_write(pmpcfg2, CATCH_ALL | ((PMP_NAPOT | PMP_R | PMP_W | PMP_X) << 48) |
			   ((PMP_NAPOT | PMP_R) << 40));
	cfg2 = csr_read(pmpcfg2);
	check("locked: pmpcfg byte of entry 14 unchanged", (cfg2 >> 48) & 0xff,
	      PMP_L | PMP_TOR | PMP_R);
	check("unlocked bytes of the same pmpcfg2 still written", (cfg2 >> 40) & 0xff,
	      PMP_NAPOT | PMP_R);
	csr_write(pmpcfg2, CATCH_ALL);
	expect_trap(TRAP_SKIP);
	asm volatile("sw %0, 0(%1)" :: "r"(1UL), "r"(&region[52]) : "memory");
	check_trap("locked entry survives a pmpcfg2 rewrite", CAUSE_STORE_ACCESS);
}

int main(void);
int main(void)
{
	check("catch-all entry 15 set up by crt", csr_read(pmpcfg2) >> 56, 0x1f);
	test_napot();
	test_tor_na4();
	test_priority();
	test_nomatch();
	test_locked();   /* last: locked entries stay until reset */
	return 0;
}
