/* SPDX-License-Identifier: MIT */
/* F extension: arithmetic, rounding modes (static and dynamic), fflags,
 * NaN boxing and canonical NaNs, fmin/fmax, fclass, conversions with
 * saturation, sign injection, fused multiply-add, fcsr aliasing and
 * mstatus.FS. Unprivileged spec chapter "F" (IEEE 754-2008 semantics). */
#include "fp.h"

#define M32 0xffffffffUL
#define ONE    0x3f800000UL
#define TWO    0x40000000UL
#define THREE  0x40400000UL
#define HALF   0x3f000000UL
#define MONE   0xbf800000UL
#define PINF   0x7f800000UL
#define NINF   0xff800000UL
#define QNAN   0x7fc00000UL
#define SNAN   0x7f800001UL
#define FMAX   0x7f7fffffUL
#define MINNORM 0x00800000UL
#define MINSUB 0x00000001UL
#define NZERO  0x80000000UL
#define ULP_HALF 0x33800000UL   /* 2^-24: half an ulp of 1.0 */

#define T1(name, op, a, rm, exp, fl) \
	check_fres(name, FOP1("fmv.w.x", "fmv.x.w", op, a, rm), M32, exp, fl)
#define T2(name, op, a, b, rm, exp, fl) \
	check_fres(name, FOP2("fmv.w.x", "fmv.x.w", op, a, b, rm), M32, exp, fl)
#define T3(name, op, a, b, c, rm, exp, fl) \
	check_fres(name, FOP3("fmv.w.x", "fmv.x.w", op, a, b, c, rm), M32, exp, fl)
#define TI(name, op, a, rm, exp, fl) \
	check_fres(name, FTOI("fmv.w.x", op, a, rm), ~0UL, exp, fl)
#define TC(name, op, a, b, exp, fl) \
	check_fres(name, FCMP("fmv.w.x", op, a, b), ~0UL, exp, fl)
#define TF(name, op, x, rm, exp, fl) \
	check_fres(name, ITOF("fmv.x.w", op, x, rm), M32, exp, fl)

static void test_arith(void)
{
	T2("fadd.s 1+2", "fadd.s", ONE, TWO, "", THREE, 0);
	T2("fsub.s 1-2", "fsub.s", ONE, TWO, "", MONE, 0);
	T2("fmul.s 2*3", "fmul.s", TWO, THREE, "", 0x40c00000, 0);
	T2("fdiv.s 1/3 rne", "fdiv.s", ONE, THREE, ", rne", 0x3eaaaaab, NX);
	T2("fdiv.s 1/3 rtz", "fdiv.s", ONE, THREE, ", rtz", 0x3eaaaaaa, NX);
	T2("fdiv.s 1/0 = +inf DZ", "fdiv.s", ONE, 0, "", PINF, DZ);
	T2("fdiv.s -1/0 = -inf DZ", "fdiv.s", MONE, 0, "", NINF, DZ);
	T2("fdiv.s 0/0 = NaN NV", "fdiv.s", 0, 0, "", QNAN, NV);
	T2("fsub.s inf-inf = NaN NV", "fsub.s", PINF, PINF, "", QNAN, NV);
	T2("fmul.s 0*inf = NaN NV", "fmul.s", 0, PINF, "", QNAN, NV);
	T1("fsqrt.s 4", "fsqrt.s", 0x40800000, "", TWO, 0);
	T1("fsqrt.s 2", "fsqrt.s", TWO, "", 0x3fb504f3, NX);
	T1("fsqrt.s -1 = NaN NV", "fsqrt.s", MONE, "", QNAN, NV);
	T1("fsqrt.s -0 = -0", "fsqrt.s", NZERO, "", NZERO, 0);
	T1("fsqrt.s +inf", "fsqrt.s", PINF, "", PINF, 0);
}

/* 1 + 2^-24 is a tie between 1 and 1 + 2^-23; -1 - 2^-24 likewise. */
static void test_rounding(void)
{
	static const char *const names[5][2] = {
		{ "rne static: 1+2^-24", "rne static: -1-2^-24" },
		{ "rtz static: 1+2^-24", "rtz static: -1-2^-24" },
		{ "rdn static: 1+2^-24", "rdn static: -1-2^-24" },
		{ "rup static: 1+2^-24", "rup static: -1-2^-24" },
		{ "rmm static: 1+2^-24", "rmm static: -1-2^-24" },
	};
	static const char *const dnames[5] = {
		"rne dynamic (frm=0)", "rtz dynamic (frm=1)", "rdn dynamic (frm=2)",
		"rup dynamic (frm=3)", "rmm dynamic (frm=4)",
	};
	static const u64 pos[5] = { ONE, ONE, ONE, 0x3f800001, 0x3f800001 };
	static const u64 neg[5] = { MONE, MONE, 0xbf800001, MONE, 0xbf800001 };
	struct fres p[5], n[5];

	p[0] = FOP2("fmv.w.x", "fmv.x.w", "fadd.s", ONE, ULP_HALF, ", rne");
	p[1] = FOP2("fmv.w.x", "fmv.x.w", "fadd.s", ONE, ULP_HALF, ", rtz");
	p[2] = FOP2("fmv.w.x", "fmv.x.w", "fadd.s", ONE, ULP_HALF, ", rdn");
	p[3] = FOP2("fmv.w.x", "fmv.x.w", "fadd.s", ONE, ULP_HALF, ", rup");
	p[4] = FOP2("fmv.w.x", "fmv.x.w", "fadd.s", ONE, ULP_HALF, ", rmm");
	n[0] = FOP2("fmv.w.x", "fmv.x.w", "fsub.s", MONE, ULP_HALF, ", rne");
	n[1] = FOP2("fmv.w.x", "fmv.x.w", "fsub.s", MONE, ULP_HALF, ", rtz");
	n[2] = FOP2("fmv.w.x", "fmv.x.w", "fsub.s", MONE, ULP_HALF, ", rdn");
	n[3] = FOP2("fmv.w.x", "fmv.x.w", "fsub.s", MONE, ULP_HALF, ", rup");
	n[4] = FOP2("fmv.w.x", "fmv.x.w", "fsub.s", MONE, ULP_HALF, ", rmm");
	for (int i = 0; i < 5; i++) {
		check_fres(names[i][0], p[i], M32, pos[i], NX);
		check_fres(names[i][1], n[i], M32, neg[i], NX);
	}
	for (u64 rm = 0; rm < 5; rm++) {
		struct fres a, b;
		csr_write(frm, rm);
		a = FOP2("fmv.w.x", "fmv.x.w", "fadd.s", ONE, ULP_HALF, ", dyn");
		b = FOP2("fmv.w.x", "fmv.x.w", "fsub.s", MONE, ULP_HALF, ", dyn");
		csr_write(frm, 0);
		check2(dnames[rm], a.v & M32, pos[rm], b.v & M32, neg[rm]);
	}
	/* Not a tie: 1 + 0.75 ulp. */
	T2("rne non-tie rounds up", "fadd.s", ONE, 0x33c00000, ", rne", 0x3f800001, NX);
	T2("rtz non-tie truncates", "fadd.s", ONE, 0x33c00000, ", rtz", ONE, NX);
	/* Overflow per rounding mode. */
	T2("overflow rne = +inf", "fmul.s", FMAX, TWO, ", rne", PINF, OF | NX);
	T2("overflow rtz = max", "fmul.s", FMAX, TWO, ", rtz", FMAX, OF | NX);
	T2("overflow rdn = max", "fmul.s", FMAX, TWO, ", rdn", FMAX, OF | NX);
	T2("overflow rup = +inf", "fmul.s", FMAX, TWO, ", rup", PINF, OF | NX);
	T2("neg overflow rup = -max", "fmul.s", FMAX | NZERO, TWO, ", rup", FMAX | NZERO, OF | NX);
	T2("neg overflow rdn = -inf", "fmul.s", FMAX | NZERO, TWO, ", rdn", NINF, OF | NX);
}

static void test_bad_rm(void)
{
	expect_trap(TRAP_SKIP);
	asm volatile(".insn r 0x53, 5, 0x00, ft2, ft0, ft1");
	check_trap_tval("fadd.s rm=5 is illegal (mtval = insn)", CAUSE_ILLEGAL, 0x00105153);
	expect_trap(TRAP_SKIP);
	asm volatile(".insn r 0x53, 6, 0x00, ft2, ft0, ft1");
	check_trap("fadd.s rm=6 is illegal", CAUSE_ILLEGAL);
	for (u64 f = 5; f <= 7; f++) {
		csr_write(frm, f);
		expect_trap(TRAP_SKIP);
		asm volatile("fadd.s ft2, ft0, ft1, dyn" ::: "ft2");
		csr_write(frm, 0);
		check_trap(f == 5 ? "dyn with frm=5 is illegal" :
			   f == 6 ? "dyn with frm=6 is illegal" : "dyn with frm=7 is illegal",
			   CAUSE_ILLEGAL);
	}
	csr_write(frm, 5);
	expect_trap(TRAP_SKIP);
	asm volatile("fadd.s ft2, ft0, ft1, rtz" ::: "ft2");
	csr_write(frm, 0);
	check_no_trap("static rm works while frm holds 5");
}

static void test_flags(void)
{
	u64 fl;

	T2("subnormal result exact: no flags", "fmul.s", MINNORM, HALF, "", 0x00400000, 0);
	T2("tiny inexact: UF|NX, rne -> 0", "fmul.s", MINSUB, HALF, ", rne", 0, UF | NX);
	T2("tiny inexact rup -> min subnormal", "fmul.s", MINSUB, HALF, ", rup", MINSUB, UF | NX);
	T2("subnormal inputs add", "fadd.s", MINSUB, MINSUB, "", 2, 0);
	T2("subnormal * 2^23 = min normal", "fmul.s", MINSUB, 0x4b000000, "", MINNORM, 0);
	T2("min normal - min subnormal", "fsub.s", MINNORM, MINSUB, "", 0x007fffff, 0);
	/* Accrual: flags stay set until cleared. */
	asm volatile("csrw fflags, zero\n"
		     "fmv.w.x ft0, %1\n fmv.w.x ft1, zero\n fdiv.s ft2, ft0, ft0\n"
		     "fdiv.s ft2, ft0, ft1\n"
		     "fmv.w.x ft1, %2\n fmul.s ft2, ft1, ft1\n"
		     "csrr %0, fflags"
		     : "=&r"(fl) : "r"(ONE), "r"(FMAX) : "ft0", "ft1", "ft2");
	check("fflags accrue (DZ then OF|NX)", fl, DZ | OF | NX);
	asm volatile("fmv.w.x ft0, %1\n fsqrt.s ft0, ft0\n fmv.w.x ft1, %2\n fdiv.s ft1, ft1, ft0\n"
		     "csrr %0, fflags" : "=&r"(fl) : "r"(MONE), "r"(ONE) : "ft0", "ft1");
	check("fflags accrue NV on top", fl, DZ | OF | NX | NV);
	csr_write(fflags, 0);
}

static void test_nan(void)
{
	u64 v;

	T2("qNaN input gives canonical NaN, no flags", "fadd.s", 0x7fc12345, ONE, "", QNAN, 0);
	T2("sNaN input gives canonical NaN, NV", "fadd.s", SNAN, ONE, "", QNAN, NV);
	T2("negative NaN input gives canonical NaN", "fmul.s", 0xffc00001, ONE, "", QNAN, 0);
	/* Results are NaN-boxed: upper 32 bits all ones. */
	check("fadd.s result is NaN-boxed",
	      FOP2("fmv.w.x", "fmv.x.d", "fadd.s", ONE, ONE, "").v, 0xffffffff40000000);
	check("fmv.w.x result is NaN-boxed",
	      FOP1("fmv.w.x", "fmv.x.d", "fmv.s", ONE, "").v, 0xffffffff3f800000);
	/* Improperly boxed operands read as the canonical NaN. */
	check_fres("unboxed operand of fadd.s is canonical NaN",
		   FOP2("fmv.d.x", "fmv.x.w", "fadd.s", 0x000000003f800000, 0xffffffff3f800000, ""),
		   M32, QNAN, 0);
	check_fres("partly boxed (0x7fffffff upper) reads as NaN",
		   FOP2("fmv.d.x", "fmv.x.w", "fmul.s", 0x7fffffff3f800000, 0xffffffff3f800000, ""),
		   M32, QNAN, 0);
	check("fsgnj.s with unboxed rs1 -> canonical NaN with rs2 sign",
	      FOP2("fmv.d.x", "fmv.x.d", "fsgnj.s", 0x1234567840000000, 0xffffffffbf800000, "").v,
	      0xffffffffffc00000);
	check("fclass.s of unboxed value = quiet NaN",
	      FTOI("fmv.d.x", "fclass.s", 0x0000000000000000, "").v, 0x200);
	/* Transfers do not check boxing. */
	check("fmv.x.w of unboxed takes low 32 bits",
	      FTOI("fmv.d.x", "fmv.x.w", 0x12345678c0000000, "").v, 0xffffffffc0000000);
	asm volatile("fmv.d.x ft0, %1\n fsw ft0, 0(%2)\n lwu %0, 0(%2)" : "=&r"(v)
		     : "r"(0x00000000deadbeefUL), "r"(&(u32[2]){0, 0}) : "ft0", "memory");
	check("fsw of unboxed stores low 32 bits", v, 0xdeadbeef);
}

static void test_minmax(void)
{
	T2("fmin.s 1, qNaN = 1", "fmin.s", ONE, QNAN, "", ONE, 0);
	T2("fmax.s qNaN, 1 = 1", "fmax.s", QNAN, ONE, "", ONE, 0);
	T2("fmin.s qNaN, qNaN = canonical", "fmin.s", 0x7fc00123, 0xffc00000, "", QNAN, 0);
	T2("fmin.s sNaN, 1 = 1 with NV", "fmin.s", SNAN, ONE, "", ONE, NV);
	T2("fmax.s 1, sNaN = 1 with NV", "fmax.s", ONE, SNAN, "", ONE, NV);
	T2("fmin.s -0, +0 = -0", "fmin.s", NZERO, 0, "", NZERO, 0);
	T2("fmin.s +0, -0 = -0", "fmin.s", 0, NZERO, "", NZERO, 0);
	T2("fmax.s -0, +0 = +0", "fmax.s", NZERO, 0, "", 0, 0);
	T2("fmax.s +0, -0 = +0", "fmax.s", 0, NZERO, "", 0, 0);
	T2("fmin.s -1, 2", "fmin.s", MONE, TWO, "", MONE, 0);
	T2("fmax.s -inf, -1", "fmax.s", NINF, MONE, "", MONE, 0);
}

static void test_fclass(void)
{
	static const struct { const char *name; u64 v, cls; } c[] = {
		{ "fclass.s -inf", NINF, 1 << 0 },
		{ "fclass.s -normal", MONE, 1 << 1 },
		{ "fclass.s -subnormal", 0x80000001, 1 << 2 },
		{ "fclass.s -0", NZERO, 1 << 3 },
		{ "fclass.s +0", 0, 1 << 4 },
		{ "fclass.s +subnormal", 0x007fffff, 1 << 5 },
		{ "fclass.s +normal", FMAX, 1 << 6 },
		{ "fclass.s +inf", PINF, 1 << 7 },
		{ "fclass.s sNaN", SNAN, 1 << 8 },
		{ "fclass.s qNaN", 0xffc00000, 1 << 9 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(c); i++)
		check_fres(c[i].name, FTOI("fmv.w.x", "fclass.s", c[i].v, ""), ~0UL, c[i].cls, 0);
}

static void test_cvt(void)
{
	TI("fcvt.w.s 1.5 rne = 2", "fcvt.w.s", 0x3fc00000, ", rne", 2, NX);
	TI("fcvt.w.s 2.5 rne = 2", "fcvt.w.s", 0x40200000, ", rne", 2, NX);
	TI("fcvt.w.s -1.5 rne = -2", "fcvt.w.s", 0xbfc00000, ", rne", -2, NX);
	TI("fcvt.w.s 2.5 rmm = 3", "fcvt.w.s", 0x40200000, ", rmm", 3, NX);
	TI("fcvt.w.s -2.5 rdn = -3", "fcvt.w.s", 0xc0200000, ", rdn", -3, NX);
	TI("fcvt.w.s 1.9 rtz = 1", "fcvt.w.s", 0x3ff33333, ", rtz", 1, NX);
	TI("fcvt.w.s 1.1 rup = 2", "fcvt.w.s", 0x3f8ccccd, ", rup", 2, NX);
	TI("fcvt.w.s NaN = 2^31-1 NV", "fcvt.w.s", QNAN, ", rtz", 0x7fffffff, NV);
	TI("fcvt.w.s +inf = 2^31-1 NV", "fcvt.w.s", PINF, ", rtz", 0x7fffffff, NV);
	TI("fcvt.w.s -inf = -2^31 NV", "fcvt.w.s", NINF, ", rtz", 0xffffffff80000000, NV);
	TI("fcvt.w.s 3e9 = 2^31-1 NV", "fcvt.w.s", 0x4f32d05e, ", rtz", 0x7fffffff, NV);
	TI("fcvt.w.s -2^31 exact", "fcvt.w.s", 0xcf000000, ", rtz", 0xffffffff80000000, 0);
	TI("fcvt.wu.s 3e9 (sign-extended)", "fcvt.wu.s", 0x4f32d05e, ", rtz", 0xffffffffb2d05e00, 0);
	TI("fcvt.wu.s -1 = 0 NV", "fcvt.wu.s", MONE, ", rtz", 0, NV);
	TI("fcvt.wu.s -0.5 rtz = 0 NX", "fcvt.wu.s", 0xbf000000, ", rtz", 0, NX);
	TI("fcvt.wu.s NaN = 2^32-1 NV", "fcvt.wu.s", QNAN, ", rtz", 0xffffffffffffffff, NV);
	TI("fcvt.wu.s +inf = 2^32-1 NV", "fcvt.wu.s", PINF, ", rtz", 0xffffffffffffffff, NV);
	TI("fcvt.l.s NaN = 2^63-1 NV", "fcvt.l.s", SNAN, ", rtz", 0x7fffffffffffffff, NV);
	TI("fcvt.l.s -inf = -2^63 NV", "fcvt.l.s", NINF, ", rtz", 0x8000000000000000, NV);
	TI("fcvt.l.s 2^63 = 2^63-1 NV", "fcvt.l.s", 0x5f000000, ", rtz", 0x7fffffffffffffff, NV);
	TI("fcvt.l.s -2^63 exact", "fcvt.l.s", 0xdf000000, ", rtz", 0x8000000000000000, 0);
	TI("fcvt.l.s 3e9", "fcvt.l.s", 0x4f32d05e, ", rtz", 3000000000, 0);
	TI("fcvt.lu.s -1 = 0 NV", "fcvt.lu.s", MONE, ", rtz", 0, NV);
	TI("fcvt.lu.s NaN = 2^64-1 NV", "fcvt.lu.s", QNAN, ", rtz", ~0UL, NV);
	TI("fcvt.lu.s 2^64 = 2^64-1 NV", "fcvt.lu.s", 0x5f800000, ", rtz", ~0UL, NV);
	TI("fcvt.lu.s 2^63", "fcvt.lu.s", 0x5f000000, ", rtz", 0x8000000000000000, 0);
	TF("fcvt.s.w -1", "fcvt.s.w", -1, "", MONE, 0);
	TF("fcvt.s.w 2^31-1 rounds NX", "fcvt.s.w", 0x7fffffff, "", 0x4f000000, NX);
	TF("fcvt.s.w 2^31-1 rtz", "fcvt.s.w", 0x7fffffff, ", rtz", 0x4effffff, NX);
	TF("fcvt.s.w ignores upper bits", "fcvt.s.w", 0xffffffff00000005, "", 0x40a00000, 0);
	TF("fcvt.s.wu 2^32-1", "fcvt.s.wu", 0xffffffff, "", 0x4f800000, NX);
	TF("fcvt.s.l -1", "fcvt.s.l", -1, "", MONE, 0);
	TF("fcvt.s.lu 2^64-1", "fcvt.s.lu", -1, "", 0x5f800000, NX);
	TF("fcvt.s.l -2^63", "fcvt.s.l", 0x8000000000000000, "", 0xdf000000, 0);
	check("fmv.x.w sign-extends", FTOI("fmv.w.x", "fmv.x.w", 0x80000000, "").v, 0xffffffff80000000);
	check("fmv.x.w positive", FTOI("fmv.w.x", "fmv.x.w", 0x7fc00001, "").v, 0x7fc00001);
	check("fmv.w.x/fmv.x.w keep sNaN payload",
	      FTOI("fmv.w.x", "fmv.x.w", SNAN, "").v, SNAN);
}

static void test_sgnj_fma(void)
{
	T2("fsgnj.s 1, -2", "fsgnj.s", ONE, 0xc0000000, "", MONE, 0);
	T2("fsgnjn.s 1, -2", "fsgnjn.s", ONE, 0xc0000000, "", ONE, 0);
	T2("fsgnjn.s 1, 2", "fsgnjn.s", ONE, TWO, "", MONE, 0);
	T2("fsgnjx.s -1, -2", "fsgnjx.s", MONE, 0xc0000000, "", ONE, 0);
	T2("fsgnjx.s -1, 2", "fsgnjx.s", MONE, TWO, "", MONE, 0);
	T2("fsgnj.s keeps sNaN quiet (no NV)", "fsgnj.s", SNAN, NZERO, "", 0xff800001, 0);
	T3("fmadd.s 2*3+1", "fmadd.s", TWO, THREE, ONE, "", 0x40e00000, 0);
	T3("fmsub.s 2*3-1", "fmsub.s", TWO, THREE, ONE, "", 0x40a00000, 0);
	T3("fnmsub.s -(2*3)+1", "fnmsub.s", TWO, THREE, ONE, "", 0xc0a00000, 0);
	T3("fnmadd.s -(2*3)-1", "fnmadd.s", TWO, THREE, ONE, "", 0xc0e00000, 0);
	T3("fmadd.s -2*3+1", "fmadd.s", 0xc0000000, THREE, ONE, "", 0xc0a00000, 0);
	T3("fnmadd.s -(-2*3)-1", "fnmadd.s", 0xc0000000, THREE, ONE, "", 0x40a00000, 0);
	/* (1+2^-12)^2 - (1+2^-11) = 2^-24 exactly: only a fused op gets it. */
	T3("fmsub.s is fused (single rounding)", "fmsub.s", 0x3f800800, 0x3f800800, 0x3f801000, "",
	   0x33800000, 0);
	T3("fmadd.s inf*0+qNaN = NaN NV", "fmadd.s", PINF, 0, QNAN, "", QNAN, NV);
	T3("fmadd.s 1*1+qNaN = NaN", "fmadd.s", ONE, ONE, QNAN, "", QNAN, 0);
	T3("fmadd.s x*y-x*y = +0 rne", "fmadd.s", TWO, THREE, 0xc0c00000, ", rne", 0, 0);
	T3("fmadd.s x*y-x*y = -0 rdn", "fmadd.s", TWO, THREE, 0xc0c00000, ", rdn", NZERO, 0);
}

static void test_cmp_mem(void)
{
	TC("feq.s 1, 1", "feq.s", ONE, ONE, 1, 0);
	TC("feq.s -0, +0", "feq.s", NZERO, 0, 1, 0);
	TC("feq.s qNaN quiet", "feq.s", QNAN, ONE, 0, 0);
	TC("feq.s sNaN sets NV", "feq.s", SNAN, ONE, 0, NV);
	TC("flt.s qNaN sets NV", "flt.s", QNAN, ONE, 0, NV);
	TC("fle.s qNaN sets NV", "fle.s", ONE, QNAN, 0, NV);
	TC("flt.s -inf, max", "flt.s", NINF, FMAX, 1, 0);
	TC("flt.s 1, 1", "flt.s", ONE, ONE, 0, 0);
	TC("fle.s -0, +0", "fle.s", NZERO, 0, 1, 0);
	TC("fle.s 2, 1", "fle.s", TWO, ONE, 0, 0);

	volatile u32 buf[4] = { 0x40490fdb, 0, 0, 0 };
	u64 r, boxed;
	asm volatile("flw ft0, 0(%2)\n fsw ft0, 8(%2)\n fmv.x.d %1, ft0\n lwu %0, 8(%2)"
		     : "=&r"(r), "=&r"(boxed) : "r"(buf) : "ft0", "memory");
	check("flw/fsw round trip", r, 0x40490fdb);
	check("flw NaN-boxes", boxed, 0xffffffff40490fdb);
	asm volatile("fmv.w.x ft1, %1\n fsw ft1, -4(%2)\n lwu %0, -4(%2)"
		     : "=&r"(r) : "r"(SNAN), "r"(&buf[3]) : "ft1", "memory");
	check("fsw negative offset keeps sNaN bits", r, SNAN);
}

static void test_fcsr(void)
{
	u64 a, b, c;

	csr_write(fcsr, 0xff);
	a = csr_read(frm);
	b = csr_read(fflags);
	check2("fcsr=0xff -> frm=7, fflags=0x1f", a, 7, b, 0x1f);
	csr_write(fcsr, 0xffffffff);
	check("fcsr bits above 7 read 0", csr_read(fcsr), 0xff);
	csr_write(frm, 2);
	csr_write(fflags, 0x3);
	check("frm and fflags compose fcsr", csr_read(fcsr), (2 << 5) | 3);
	asm volatile("fsrm %0, %1" : "=r"(c) : "r"(4UL));
	check2("fsrm swaps frm", c, 2, csr_read(fcsr), (4 << 5) | 3);
	asm volatile("fsflags %0, %1" : "=r"(c) : "r"(0x10UL));
	check2("fsflags swaps fflags", c, 3, csr_read(fcsr), (4 << 5) | 0x10);
	csr_write(frm, 0xff);
	check("frm keeps 3 bits", csr_read(frm), 7);
	asm volatile("fscsr %0, zero" : "=r"(c));
	check("fscsr returns the old fcsr", c, (7 << 5) | 0x10);
	check("fcsr cleared", csr_read(fcsr), 0);
}

static void test_fs(void)
{
	u64 st;

	csr_clear(mstatus, MSTATUS_FS);
	expect_trap(TRAP_SKIP);
	asm volatile("fadd.s ft0, ft1, ft2" ::: "ft0");
	check_trap("FS=0: fadd.s is illegal", CAUSE_ILLEGAL);
	expect_trap(TRAP_SKIP);
	asm volatile("flw ft0, 0(sp)" ::: "ft0");
	check_trap("FS=0: flw is illegal", CAUSE_ILLEGAL);
	expect_trap(TRAP_SKIP);
	asm volatile("fmv.x.w t0, ft0" ::: "t0");
	check_trap("FS=0: fmv.x.w is illegal", CAUSE_ILLEGAL);
	expect_trap(TRAP_SKIP);
	asm volatile("csrr t0, fcsr" ::: "t0");
	check_trap("FS=0: csrr fcsr is illegal", CAUSE_ILLEGAL);
	expect_trap(TRAP_SKIP);
	asm volatile("csrwi fflags, 1");
	check_trap("FS=0: csrwi fflags is illegal", CAUSE_ILLEGAL);
	check("FS=0: SD clear", csr_read(mstatus) & MSTATUS_SD, 0);

	csr_set(mstatus, 1UL << 13);   /* Initial */
	st = csr_read(mstatus);
	check("FS=Initial: SD clear", st & (MSTATUS_SD | MSTATUS_FS), 1UL << 13);
	asm volatile("fmv.w.x ft0, zero" ::: "ft0");
	st = csr_read(mstatus);
	check("FP register write sets FS=Dirty and SD",
	      st & (MSTATUS_SD | MSTATUS_FS), MSTATUS_SD | MSTATUS_FS);
	csr_clear(mstatus, MSTATUS_FS);
	csr_set(mstatus, 2UL << 13);   /* Clean */
	csr_write(fflags, 0);
	st = csr_read(mstatus);
	check("fcsr write sets FS=Dirty", st & (MSTATUS_SD | MSTATUS_FS), MSTATUS_SD | MSTATUS_FS);
	check("sstatus.FS mirrors mstatus.FS", csr_read(sstatus) & (MSTATUS_SD | MSTATUS_FS),
	      MSTATUS_SD | MSTATUS_FS);
}

int main(void);
int main(void)
{
	test_arith();
	test_rounding();
	test_bad_rm();
	test_flags();
	test_nan();
	test_minmax();
	test_fclass();
	test_cvt();
	test_sgnj_fma();
	test_cmp_mem();
	test_fcsr();
	test_fs();
	return 0;
}
