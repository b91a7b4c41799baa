/* SPDX-License-Identifier: MIT */
/* D extension: double-precision arithmetic, rounding, flags, canonical NaN,
 * fmin/fmax, fclass, conversions (including to and from single with
 * NaN boxing), fused multiply-add, fld/fsd. Unprivileged spec chapter "D". */
#include "fp.h"

#define M32 0xffffffffUL
#define ONE    0x3ff0000000000000UL
#define TWO    0x4000000000000000UL
#define THREE  0x4008000000000000UL
#define HALF   0x3fe0000000000000UL
#define MONE   0xbff0000000000000UL
#define PINF   0x7ff0000000000000UL
#define NINF   0xfff0000000000000UL
#define QNAN   0x7ff8000000000000UL
#define SNAN   0x7ff0000000000001UL
#define DMAX   0x7fefffffffffffffUL
#define MINNORM 0x0010000000000000UL
#define MINSUB 0x0000000000000001UL
#define NZERO  0x8000000000000000UL
#define ULP_HALF 0x3ca0000000000000UL  /* 2^-53 */

#define D "fmv.d.x"
#define DX "fmv.x.d"
#define T1(name, op, a, rm, exp, fl) check_fres(name, FOP1(D, DX, op, a, rm), ~0UL, exp, fl)
#define T2(name, op, a, b, rm, exp, fl) check_fres(name, FOP2(D, DX, op, a, b, rm), ~0UL, exp, fl)
#define T3(name, op, a, b, c, rm, exp, fl) check_fres(name, FOP3(D, DX, op, a, b, c, rm), ~0UL, exp, fl)
#define TI(name, op, a, rm, exp, fl) check_fres(name, FTOI(D, op, a, rm), ~0UL, exp, fl)
#define TC(name, op, a, b, exp, fl) check_fres(name, FCMP(D, op, a, b), ~0UL, exp, fl)
#define TF(name, op, x, rm, exp, fl) check_fres(name, ITOF(DX, op, x, rm), ~0UL, exp, fl)

static void test_arith(void)
{
	T2("fadd.d 1+2", "fadd.d", ONE, TWO, "", THREE, 0);
	T2("fsub.d 1-2", "fsub.d", ONE, TWO, "", MONE, 0);
	T2("fmul.d 2*3", "fmul.d", TWO, THREE, "", 0x4018000000000000, 0);
	T2("fdiv.d 1/3 rne", "fdiv.d", ONE, THREE, ", rne", 0x3fd5555555555555, NX);
	T2("fdiv.d 1/3 rup", "fdiv.d", ONE, THREE, ", rup", 0x3fd5555555555556, NX);
	T2("fdiv.d 1/0 DZ", "fdiv.d", ONE, 0, "", PINF, DZ);
	T2("fdiv.d 0/0 NV", "fdiv.d", 0, 0, "", QNAN, NV);
	T2("fsub.d inf-inf NV", "fsub.d", PINF, PINF, "", QNAN, NV);
	T1("fsqrt.d 2", "fsqrt.d", TWO, "", 0x3ff6a09e667f3bcd, NX);
	T1("fsqrt.d 9", "fsqrt.d", 0x4022000000000000, "", THREE, 0);
	T1("fsqrt.d -1 NV", "fsqrt.d", MONE, "", QNAN, NV);
	T1("fsqrt.d -0", "fsqrt.d", NZERO, "", NZERO, 0);
}

static void test_rounding(void)
{
	static const char *const pn[5] = { "fadd.d tie rne", "fadd.d tie rtz", "fadd.d tie rdn",
					   "fadd.d tie rup", "fadd.d tie rmm" };
	static const char *const dn[5] = { "fsub.d tie dyn rne", "fsub.d tie dyn rtz",
					   "fsub.d tie dyn rdn", "fsub.d tie dyn rup",
					   "fsub.d tie dyn rmm" };
	static const u64 pos[5] = { ONE, ONE, ONE, ONE + 1, ONE + 1 };
	static const u64 neg[5] = { MONE, MONE, MONE + 1, MONE, MONE + 1 };
	struct fres p[5];

	p[0] = FOP2(D, DX, "fadd.d", ONE, ULP_HALF, ", rne");
	p[1] = FOP2(D, DX, "fadd.d", ONE, ULP_HALF, ", rtz");
	p[2] = FOP2(D, DX, "fadd.d", ONE, ULP_HALF, ", rdn");
	p[3] = FOP2(D, DX, "fadd.d", ONE, ULP_HALF, ", rup");
	p[4] = FOP2(D, DX, "fadd.d", ONE, ULP_HALF, ", rmm");
	for (int i = 0; i < 5; i++)
		check_fres(pn[i], p[i], ~0UL, pos[i], NX);
	for (u64 rm = 0; rm < 5; rm++) {
		struct fres r;
		csr_write(frm, rm);
		r = FOP2(D, DX, "fsub.d", MONE, ULP_HALF, ", dyn");
		csr_write(frm, 0);
		check_fres(dn[rm], r, ~0UL, neg[rm], NX);
	}
	T2("fmul.d overflow rne", "fmul.d", DMAX, TWO, ", rne", PINF, OF | NX);
	T2("fmul.d overflow rtz", "fmul.d", DMAX, TWO, ", rtz", DMAX, OF | NX);
	T2("fmul.d underflow rne", "fmul.d", MINSUB, HALF, ", rne", 0, UF | NX);
	T2("fmul.d underflow rup", "fmul.d", MINSUB, HALF, ", rup", MINSUB, UF | NX);
	T2("fmul.d exact subnormal", "fmul.d", MINNORM, HALF, "", 0x0008000000000000, 0);
	T2("fadd.d subnormals", "fadd.d", MINSUB, 0x000fffffffffffff, "", MINNORM, 0);
	expect_trap(TRAP_SKIP);
	asm volatile(".insn r 0x53, 5, 0x01, ft2, ft0, ft1");   /* fadd.d rm=5 */
	check_trap_tval("fadd.d rm=5 is illegal", CAUSE_ILLEGAL, 0x02105153);
	csr_write(frm, 6);
	expect_trap(TRAP_SKIP);
	asm volatile("fmul.d ft2, ft0, ft1, dyn" ::: "ft2");
	csr_write(frm, 0);
	check_trap("fmul.d dyn with frm=6 is illegal", CAUSE_ILLEGAL);
}

static void test_nan_minmax_class(void)
{
	T2("qNaN in, canonical out", "fadd.d", 0x7ff8000000012345, ONE, "", QNAN, 0);
	T2("sNaN in, canonical out, NV", "fmul.d", SNAN, ONE, "", QNAN, NV);
	T2("fmin.d 1, qNaN = 1", "fmin.d", ONE, QNAN, "", ONE, 0);
	T2("fmax.d sNaN, 1 = 1 NV", "fmax.d", SNAN, ONE, "", ONE, NV);
	T2("fmax.d NaN, NaN = canonical", "fmax.d", SNAN, 0xfff8000000000000, "", QNAN, NV);
	T2("fmin.d -0, +0 = -0", "fmin.d", NZERO, 0, "", NZERO, 0);
	T2("fmax.d -0, +0 = +0", "fmax.d", NZERO, 0, "", 0, 0);
	static const struct { const char *name; u64 v, cls; } c[] = {
		{ "fclass.d -inf", NINF, 1 << 0 },
		{ "fclass.d -normal", MONE, 1 << 1 },
		{ "fclass.d -subnormal", 0x800fffffffffffff, 1 << 2 },
		{ "fclass.d -0", NZERO, 1 << 3 },
		{ "fclass.d +0", 0, 1 << 4 },
		{ "fclass.d +subnormal", MINSUB, 1 << 5 },
		{ "fclass.d +normal", MINNORM, 1 << 6 },
		{ "fclass.d +inf", PINF, 1 << 7 },
		{ "fclass.d sNaN", 0x7ff4000000000000, 1 << 8 },
		{ "fclass.d qNaN", QNAN, 1 << 9 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(c); i++)
		check_fres(c[i].name, FTOI(D, "fclass.d", c[i].v, ""), ~0UL, c[i].cls, 0);
}

static void test_cvt(void)
{
	TI("fcvt.w.d 2.5 rne = 2", "fcvt.w.d", 0x4004000000000000, ", rne", 2, NX);
	TI("fcvt.w.d -2.5 rmm = -3", "fcvt.w.d", 0xc004000000000000, ", rmm", -3, NX);
	TI("fcvt.w.d NaN NV", "fcvt.w.d", QNAN, ", rtz", 0x7fffffff, NV);
	TI("fcvt.w.d 2^31 NV", "fcvt.w.d", 0x41e0000000000000, ", rtz", 0x7fffffff, NV);
	TI("fcvt.w.d -2^31-0.5 rtz = -2^31 NX", "fcvt.w.d", 0xc1e0000000100000, ", rtz",
	   0xffffffff80000000, NX);
	TI("fcvt.w.d -inf NV", "fcvt.w.d", NINF, ", rtz", 0xffffffff80000000, NV);
	TI("fcvt.wu.d 2^32-1", "fcvt.wu.d", 0x41efffffffe00000, ", rtz", 0xffffffffffffffff, 0);
	TI("fcvt.wu.d 2^32 NV", "fcvt.wu.d", 0x41f0000000000000, ", rtz", 0xffffffffffffffff, NV);
	TI("fcvt.wu.d -3 NV", "fcvt.wu.d", 0xc008000000000000, ", rtz", 0, NV);
	TI("fcvt.l.d 2^63 NV", "fcvt.l.d", 0x43e0000000000000, ", rtz", 0x7fffffffffffffff, NV);
	TI("fcvt.l.d -2^63", "fcvt.l.d", 0xc3e0000000000000, ", rtz", 0x8000000000000000, 0);
	TI("fcvt.l.d NaN NV", "fcvt.l.d", QNAN, ", rtz", 0x7fffffffffffffff, NV);
	TI("fcvt.l.d -inf NV", "fcvt.l.d", NINF, ", rtz", 0x8000000000000000, NV);
	TI("fcvt.l.d 1.5 rdn", "fcvt.l.d", 0x3ff8000000000000, ", rdn", 1, NX);
	TI("fcvt.lu.d -1 NV", "fcvt.lu.d", MONE, ", rtz", 0, NV);
	TI("fcvt.lu.d +inf NV", "fcvt.lu.d", PINF, ", rtz", ~0UL, NV);
	TI("fcvt.lu.d NaN NV", "fcvt.lu.d", SNAN, ", rtz", ~0UL, NV);
	TI("fcvt.lu.d 2^64-2048", "fcvt.lu.d", 0x43efffffffffffff, ", rtz", 0xfffffffffffff800, 0);
	TF("fcvt.d.w -1", "fcvt.d.w", 0xffffffff, "", MONE, 0);
	TF("fcvt.d.w -2^31", "fcvt.d.w", 0x80000000, "", 0xc1e0000000000000, 0);
	TF("fcvt.d.wu 2^32-1", "fcvt.d.wu", 0xffffffff, "", 0x41efffffffe00000, 0);
	TF("fcvt.d.l 2^63-1 rounds", "fcvt.d.l", 0x7fffffffffffffff, "", 0x43e0000000000000, NX);
	TF("fcvt.d.lu 2^64-1 rtz", "fcvt.d.lu", ~0UL, ", rtz", 0x43efffffffffffff, NX);
	TF("fcvt.d.l -3", "fcvt.d.l", -3, "", 0xc008000000000000, 0);
	/* double <-> single */
	check_fres("fcvt.s.d 1/3 rounds", FOP1(D, "fmv.x.w", "fcvt.s.d", 0x3fd5555555555555, ""),
		   M32, 0x3eaaaaab, NX);
	check_fres("fcvt.s.d 1e300 overflows", FOP1(D, "fmv.x.w", "fcvt.s.d", 0x7e37e43c8800759c, ""),
		   M32, 0x7f800000, OF | NX);
	check_fres("fcvt.s.d NaN -> canonical single",
		   FOP1(D, "fmv.x.w", "fcvt.s.d", 0xfff8000000000001, ""), M32, 0x7fc00000, 0);
	check_fres("fcvt.s.d sNaN -> NV", FOP1(D, "fmv.x.w", "fcvt.s.d", SNAN, ""),
		   M32, 0x7fc00000, NV);
	check_fres("fcvt.s.d tiny -> UF|NX", FOP1(D, "fmv.x.w", "fcvt.s.d", 0x3690000000000000, ""),
		   M32, 0, UF | NX);
	check("fcvt.s.d result NaN-boxed",
	      FOP1(D, DX, "fcvt.s.d", ONE, "").v, 0xffffffff3f800000);
	check_fres("fcvt.d.s 1.0 exact", FOP1("fmv.w.x", DX, "fcvt.d.s", 0x3f800000, ""),
		   ~0UL, ONE, 0);
	check_fres("fcvt.d.s subnormal single is normal double",
		   FOP1("fmv.w.x", DX, "fcvt.d.s", 0x00000001, ""), ~0UL, 0x36a0000000000000, 0);
	check_fres("fcvt.d.s sNaN -> canonical NV",
		   FOP1("fmv.w.x", DX, "fcvt.d.s", 0x7f800001, ""), ~0UL, QNAN, NV);
	check_fres("fcvt.d.s of unboxed -> canonical NaN",
		   FOP1(D, DX, "fcvt.d.s", 0x000000003f800000, ""), ~0UL, QNAN, 0);
	check("fmv.x.d / fmv.d.x keep all bits", FTOI(D, "fmv.x.d", 0xfff0123456789abc, "").v,
	      0xfff0123456789abc);
}

static void test_sgnj_fma_cmp_mem(void)
{
	T2("fsgnj.d", "fsgnj.d", ONE, NZERO, "", MONE, 0);
	T2("fsgnjn.d", "fsgnjn.d", MONE, MONE, "", ONE, 0);
	T2("fsgnjx.d", "fsgnjx.d", MONE, NZERO, "", ONE, 0);
	T2("fsgnjx.d (+,+)", "fsgnjx.d", TWO, ONE, "", TWO, 0);
	T3("fmadd.d 2*3+1", "fmadd.d", TWO, THREE, ONE, "", 0x401c000000000000, 0);
	T3("fmsub.d 2*3-1", "fmsub.d", TWO, THREE, ONE, "", 0x4014000000000000, 0);
	T3("fnmsub.d -(2*3)+1", "fnmsub.d", TWO, THREE, ONE, "", 0xc014000000000000, 0);
	T3("fnmadd.d -(2*3)-1", "fnmadd.d", TWO, THREE, ONE, "", 0xc01c000000000000, 0);
	/* (1+2^-27)^2 - (1+2^-26) = 2^-54 exactly */
	T3("fmsub.d is fused", "fmsub.d", 0x3ff0000002000000, 0x3ff0000002000000, 0x3ff0000004000000,
	   "", 0x3c90000000000000, 0);
	T3("fnmadd.d 0*inf+qNaN NV", "fnmadd.d", 0, NINF, QNAN, "", QNAN, NV);
	TC("feq.d -0, +0", "feq.d", NZERO, 0, 1, 0);
	TC("feq.d qNaN no flags", "feq.d", QNAN, QNAN, 0, 0);
	TC("flt.d qNaN NV", "flt.d", QNAN, ONE, 0, NV);
	TC("fle.d sNaN NV", "fle.d", SNAN, ONE, 0, NV);
	TC("flt.d -1, 1", "flt.d", MONE, ONE, 1, 0);
	TC("fle.d 1, 1", "fle.d", ONE, ONE, 1, 0);

	volatile u64 buf[3] = { 0x400921fb54442d18, 0, 0 };
	u64 r;
	asm volatile("fld ft0, 0(%1)\n fsd ft0, 16(%1)\n ld %0, 16(%1)"
		     : "=&r"(r) : "r"(buf) : "ft0", "memory");
	check("fld/fsd round trip", r, 0x400921fb54442d18);
	asm volatile("fmv.d.x ft0, %1\n fsd ft0, -8(%2)\n fld ft1, -8(%2)\n fmv.x.d %0, ft1"
		     : "=&r"(r) : "r"(SNAN), "r"(&buf[2]) : "ft0", "ft1", "memory");
	check("fsd/fld keep sNaN bits", r, SNAN);
	asm volatile("fmv.w.x ft0, %1\n fsd ft0, 8(%2)\n ld %0, 8(%2)"
		     : "=&r"(r) : "r"(0x3f800000UL), "r"(buf) : "ft0", "memory");
	check("fsd of a single stores the boxed bits", r, 0xffffffff3f800000);
}

int main(void);
int main(void)
{
	test_arith();
	test_rounding();
	test_nan_minmax_class();
	test_cvt();
	test_sgnj_fma_cmp_mem();
	return 0;
}
