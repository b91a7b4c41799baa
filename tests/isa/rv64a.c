/* SPDX-License-Identifier: MIT */
/* A extension on one hart: LR/SC guarantees, every AMO in .w and .d form
 * (old value in rd, sign-extended for .w), misaligned AMOs (cause 6).
 * Unprivileged spec chapter "A". */
#include "ops.h"

static volatile u64 cell[4] __attribute__((aligned(64)));

#define AMO(op, p, v) ({ u64 r_; asm volatile(op " %0, %2, (%1)" : "=r"(r_) \
	: "r"(p), "r"((u64)(v)) : "memory"); r_; })

/* Run one AMO on a cell holding `init`; check rd and the memory word. */
static void amo_w(const char *name, const char *mname, u64 rd, u64 mem, u64 exp_rd, u64 exp_mem)
{
	check(name, rd, exp_rd);
	check(mname, mem, exp_mem);
}

#define T_AMOW(op, init, v, exp_rd, exp_mem) do { \
	cell[0] = 0x5a5a5a5a00000000UL | (u32)(init); \
	u64 r__ = AMO(op, &cell[0], v); \
	amo_w(op " rd (" #init ", " #v ")", op " mem (" #init ", " #v ")", \
	      r__, cell[0], exp_rd, 0x5a5a5a5a00000000UL | (u32)(exp_mem)); \
} while (0)

#define T_AMOD(op, init, v, exp_rd, exp_mem) do { \
	cell[0] = (init); \
	u64 r__ = AMO(op, &cell[0], v); \
	amo_w(op " rd (" #init ", " #v ")", op " mem (" #init ", " #v ")", \
	      r__, cell[0], exp_rd, exp_mem); \
} while (0)

static void test_amo_w(void)
{
	T_AMOW("amoswap.w", 0x80000001, 0x12345678, 0xffffffff80000001, 0x12345678);
	T_AMOW("amoadd.w", 0x7fffffff, 1, 0x7fffffff, 0x80000000);
	T_AMOW("amoadd.w", 0xffffffff, 0xffffffff00000002, -1, 1);
	T_AMOW("amoxor.w", 0xf0f0f0f0, 0xffff0000, 0xfffffffff0f0f0f0, 0x0f0ff0f0);
	T_AMOW("amoand.w", 0xf0f0f0f0, 0xffff0000, 0xfffffffff0f0f0f0, 0xf0f00000);
	T_AMOW("amoor.w", 0x80000000, 0x0000000f, 0xffffffff80000000, 0x8000000f);
	T_AMOW("amomin.w", 0x80000000, 1, 0xffffffff80000000, 0x80000000);
	T_AMOW("amomin.w", 5, 0xffffffff, 5, 0xffffffff);
	T_AMOW("amomax.w", 0x80000000, 1, 0xffffffff80000000, 1);
	T_AMOW("amomax.w", 0xfffffffe, 0x1ffffffff, -2, 0xffffffff);
	T_AMOW("amominu.w", 0x80000000, 1, 0xffffffff80000000, 1);
	T_AMOW("amominu.w", 3, 0xffffffff00000002, 3, 2);
	T_AMOW("amomaxu.w", 0x80000000, 1, 0xffffffff80000000, 0x80000000);
	T_AMOW("amomaxu.w", 1, 0xfffffffe, 1, 0xfffffffe);
	T_AMOW("amoadd.w.aqrl", 40, 2, 40, 42);
	T_AMOW("amoswap.w.aq", 1, 2, 1, 2);
	T_AMOW("amoor.w.rl", 1, 2, 1, 3);
}

static void test_amo_d(void)
{
	T_AMOD("amoswap.d", 0x8000000000000001, 7, 0x8000000000000001, 7);
	T_AMOD("amoadd.d", 0xffffffffffffffff, 2, -1, 1);
	T_AMOD("amoadd.d", 0xffffffff, 1, 0xffffffff, 0x100000000);
	T_AMOD("amoxor.d", 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xff00ff00ff00ff00, 0xf0f0f0f0f0f0f0f0);
	T_AMOD("amoand.d", 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xff00ff00ff00ff00, 0x0f000f000f000f00);
	T_AMOD("amoor.d", 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xff00ff00ff00ff00, 0xfff0fff0fff0fff0);
	T_AMOD("amomin.d", 0x8000000000000000, 1, 0x8000000000000000, 0x8000000000000000);
	T_AMOD("amomin.d", 0x80000000, 0xffffffff80000000, 0x80000000, 0xffffffff80000000);
	T_AMOD("amomax.d", 0x8000000000000000, 1, 0x8000000000000000, 1);
	T_AMOD("amomax.d", -5, -3, -5, -3);
	T_AMOD("amominu.d", 0x8000000000000000, 1, 0x8000000000000000, 1);
	T_AMOD("amominu.d", 1, -1, 1, 1);
	T_AMOD("amomaxu.d", 0x8000000000000000, 1, 0x8000000000000000, 0x8000000000000000);
	T_AMOD("amomaxu.d", 0x80000000, 0xffffffff, 0x80000000, 0xffffffff);
	T_AMOD("amoadd.d.aqrl", 40, 2, 40, 42);
}

static void test_lrsc(void)
{
	u64 v, sc, sc2;

	cell[1] = 0xffffffff80000000UL ^ 0xffffffff00000000UL; /* word 0x80000000 */
	asm volatile("lr.w %0, (%1)" : "=r"(v) : "r"(&cell[1]) : "memory");
	check("lr.w sign-extends", v, 0xffffffff80000000);
	asm volatile("sc.w %0, %2, (%1)" : "=r"(sc) : "r"(&cell[1]), "r"(0x1234UL) : "memory");
	check("sc.w after lr.w succeeds (rd = 0)", sc, 0);
	check("sc.w stored the word", cell[1], 0x1234);
	asm volatile("sc.w %0, %2, (%1)" : "=r"(sc) : "r"(&cell[1]), "r"(0x5678UL) : "memory");
	check_true("sc.w without reservation fails (rd != 0)", sc != 0);
	check("failed sc.w does not write", cell[1], 0x1234);

	cell[2] = 0x8000000000000007;
	asm volatile("lr.d %0, (%1)" : "=r"(v) : "r"(&cell[2]) : "memory");
	check("lr.d", v, 0x8000000000000007);
	asm volatile("sc.d %0, %2, (%1)" : "=r"(sc) : "r"(&cell[2]), "r"(0x1122334455667788UL) : "memory");
	check("sc.d after lr.d succeeds (rd = 0)", sc, 0);
	check("sc.d stored", cell[2], 0x1122334455667788);
	asm volatile("sc.d %0, %2, (%1)" : "=r"(sc) : "r"(&cell[2]), "r"(1UL) : "memory");
	check_true("sc.d without reservation fails (rd != 0)", sc != 0);
	check("failed sc.d does not write", cell[2], 0x1122334455667788);

	/* An sc that fails leaves no reservation behind either. */
	cell[3] = 5;
	asm volatile("lr.d %0, (%3)\n"
		     "sc.d %1, %4, (%3)\n"
		     "sc.d %2, %4, (%3)\n"
		     : "=&r"(v), "=&r"(sc), "=&r"(sc2) : "r"(&cell[3]), "r"(6UL) : "memory");
	check("lr.d/sc.d pair", sc, 0);
	check_true("second sc.d fails", sc2 != 0);
	check("memory holds the first sc.d value", cell[3], 6);

	/* The canonical increment loop. */
	cell[3] = 100;
	for (int i = 0; i < 10; i++) {
		asm volatile("1: lr.w.aq %0, (%1)\n addiw %0, %0, 1\n"
			     "sc.w.rl t0, %0, (%1)\n bnez t0, 1b"
			     : "=&r"(v) : "r"(&cell[3]) : "t0", "memory");
	}
	check("lr.w/sc.w increment loop", cell[3], 110);
}

static void test_misaligned(void)
{
	u64 r;
	char *base = (char *)&cell[0];

	expect_trap(TRAP_SKIP);
	asm volatile("amoadd.w %0, %2, (%1)" : "=r"(r) : "r"(base + 2), "r"(1UL) : "memory");
	check_trap_tval("misaligned amoadd.w: cause 6, tval = address", CAUSE_STORE_MISALIGNED, (u64)(base + 2));
	expect_trap(TRAP_SKIP);
	asm volatile("amoswap.d %0, %2, (%1)" : "=r"(r) : "r"(base + 4), "r"(1UL) : "memory");
	check_trap_tval("misaligned amoswap.d: cause 6, tval = address", CAUSE_STORE_MISALIGNED, (u64)(base + 4));
	expect_trap(TRAP_SKIP);
	asm volatile("amomaxu.d %0, %2, (%1)" : "=r"(r) : "r"(base + 1), "r"(1UL) : "memory");
	check_trap_tval("misaligned amomaxu.d: cause 6", CAUSE_STORE_MISALIGNED, (u64)(base + 1));
}

int main(void);
int main(void)
{
	test_amo_w();
	test_amo_d();
	test_lrsc();
	test_misaligned();
	return 0;
}
