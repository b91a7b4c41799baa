/* SPDX-License-Identifier: MIT */
/*
 * IEEE 754 binary32/binary64 arithmetic with RISC-V "F" and "D" semantics,
 * as pure functions (unprivileged spec, chapters "F" and "D"; IEEE 754-2019).
 *
 * Contract shared by every function below:
 *  - Values are raw IEEE bit patterns. Single-precision values are the low
 *    32 bits; NaN-boxing is the hart's business, not ours.
 *  - rm is a static rounding mode 0..4 (RV_RM_*). The hart resolves the
 *    dynamic mode from frm and rejects reserved modes before calling; other
 *    values are a caller bug (they behave like RTZ).
 *  - flags must not be NULL. Exception flags (RV_FFLAG_*) are ORed into
 *    *flags, never cleared, so the hart can pass &fflags directly.
 *  - Every NaN result is the canonical NaN (RISC-V does not propagate NaN
 *    payloads); a signaling NaN operand raises NV.
 *  - Tininess is detected after rounding; UF is raised only when the result
 *    is both tiny and inexact.
 *  - No function changes global or host floating-point state (the host fast
 *    path computes its flags without fenv), so all are thread-safe, except
 *    rv_fpu_set_host_fast().
 */
#ifndef MQ_CPU_RISCV_FPU_H
#define MQ_CPU_RISCV_FPU_H

#include <stdbool.h>
#include <stdint.h>

/* fflags bits (spec: "Floating-Point Control and Status Register"). */
enum {
    RV_FFLAG_NX = 1,  /* inexact */
    RV_FFLAG_UF = 2,  /* underflow */
    RV_FFLAG_OF = 4,  /* overflow */
    RV_FFLAG_DZ = 8,  /* divide by zero */
    RV_FFLAG_NV = 16, /* invalid operation */
};

/* Rounding modes as encoded in the rm field and in frm. */
enum {
    RV_RM_RNE = 0, /* to nearest, ties to even */
    RV_RM_RTZ = 1, /* towards zero */
    RV_RM_RDN = 2, /* down, towards -inf */
    RV_RM_RUP = 3, /* up, towards +inf */
    RV_RM_RMM = 4, /* to nearest, ties to max magnitude */
};

#define RV_F32_CANONICAL_NAN 0x7fc00000u
#define RV_F64_CANONICAL_NAN 0x7ff8000000000000ull

/* fclass result bits: exactly one is set. */
enum {
    RV_FCLASS_NEG_INF = 1 << 0,
    RV_FCLASS_NEG_NORMAL = 1 << 1,
    RV_FCLASS_NEG_SUBNORMAL = 1 << 2,
    RV_FCLASS_NEG_ZERO = 1 << 3,
    RV_FCLASS_POS_ZERO = 1 << 4,
    RV_FCLASS_POS_SUBNORMAL = 1 << 5,
    RV_FCLASS_POS_NORMAL = 1 << 6,
    RV_FCLASS_POS_INF = 1 << 7,
    RV_FCLASS_SNAN = 1 << 8,
    RV_FCLASS_QNAN = 1 << 9,
};

/*
 * binary32. The binary64 set further down behaves identically.
 */

/* fadd.s / fsub.s: a + b, a - b. inf - inf raises NV; an exact zero sum of
 * opposite-signed operands is +0, or -0 under RDN. */
uint32_t rv_f32_add(uint32_t a, uint32_t b, unsigned rm, unsigned *flags);
uint32_t rv_f32_sub(uint32_t a, uint32_t b, unsigned rm, unsigned *flags);
/* fmul.s: a * b. 0 * inf raises NV. */
uint32_t rv_f32_mul(uint32_t a, uint32_t b, unsigned rm, unsigned *flags);
/* fdiv.s: a / b. finite / 0 raises DZ and gives a signed infinity;
 * 0 / 0 and inf / inf raise NV. */
uint32_t rv_f32_div(uint32_t a, uint32_t b, unsigned rm, unsigned *flags);
/* fsqrt.s: sqrt(-0) = -0; any other negative operand raises NV. */
uint32_t rv_f32_sqrt(uint32_t a, unsigned rm, unsigned *flags);
/*
 * a*b+c with one rounding; negate_product/negate_addend give fmsub (0,1),
 * fnmsub (1,0), fnmadd (1,1): the signs of the product and of c are flipped
 * before the fused operation (so exact zero results follow the usual sum
 * rules). inf*0 raises NV even when c is a quiet NaN (spec requirement).
 */
uint32_t rv_f32_muladd(uint32_t a, uint32_t b, uint32_t c,
                       bool negate_product, bool negate_addend,
                       unsigned rm, unsigned *flags);
/* fmin.s / fmax.s (IEEE 754-2019 minimumNumber/maximumNumber): one NaN
 * operand gives the other operand, two NaNs give the canonical NaN, a
 * signaling NaN raises NV, and -0 < +0. */
uint32_t rv_f32_min(uint32_t a, uint32_t b, unsigned *flags);
uint32_t rv_f32_max(uint32_t a, uint32_t b, unsigned *flags);
/* feq.s is quiet (NV only for a signaling NaN); flt.s / fle.s signal
 * (NV for any NaN). Any NaN operand makes the result false. */
bool rv_f32_eq(uint32_t a, uint32_t b, unsigned *flags);
bool rv_f32_lt(uint32_t a, uint32_t b, unsigned *flags);
bool rv_f32_le(uint32_t a, uint32_t b, unsigned *flags);
/* fclass.s: the 10-bit RV_FCLASS_* mask; raises nothing. */
unsigned rv_f32_classify(uint32_t a);
/*
 * fcvt.{w,wu,l,lu}.s. Out-of-range results saturate and raise NV (and not
 * NX): NaN and too-large positive values give the type's maximum, too-large
 * negative values (and, for unsigned types, negative values that round to a
 * non-zero integer) give the minimum. In-range inexact results raise NX.
 * 32-bit results come back as int32_t/uint32_t; the hart sign-extends.
 */
int32_t rv_f32_to_i32(uint32_t a, unsigned rm, unsigned *flags);
uint32_t rv_f32_to_u32(uint32_t a, unsigned rm, unsigned *flags);
int64_t rv_f32_to_i64(uint32_t a, unsigned rm, unsigned *flags);
uint64_t rv_f32_to_u64(uint32_t a, unsigned rm, unsigned *flags);
/* fcvt.s.{w,wu,l,lu}: NX when the integer is not representable. */
uint32_t rv_i32_to_f32(int32_t v, unsigned rm, unsigned *flags);
uint32_t rv_u32_to_f32(uint32_t v, unsigned rm, unsigned *flags);
uint32_t rv_i64_to_f32(int64_t v, unsigned rm, unsigned *flags);
uint32_t rv_u64_to_f32(uint64_t v, unsigned rm, unsigned *flags);

/*
 * binary64: same semantics as the binary32 functions of the same name.
 */
uint64_t rv_f64_add(uint64_t a, uint64_t b, unsigned rm, unsigned *flags);
uint64_t rv_f64_sub(uint64_t a, uint64_t b, unsigned rm, unsigned *flags);
uint64_t rv_f64_mul(uint64_t a, uint64_t b, unsigned rm, unsigned *flags);
uint64_t rv_f64_div(uint64_t a, uint64_t b, unsigned rm, unsigned *flags);
uint64_t rv_f64_sqrt(uint64_t a, unsigned rm, unsigned *flags);
uint64_t rv_f64_muladd(uint64_t a, uint64_t b, uint64_t c,
                       bool negate_product, bool negate_addend,
                       unsigned rm, unsigned *flags);
uint64_t rv_f64_min(uint64_t a, uint64_t b, unsigned *flags);
uint64_t rv_f64_max(uint64_t a, uint64_t b, unsigned *flags);
bool rv_f64_eq(uint64_t a, uint64_t b, unsigned *flags);
bool rv_f64_lt(uint64_t a, uint64_t b, unsigned *flags);
bool rv_f64_le(uint64_t a, uint64_t b, unsigned *flags);
unsigned rv_f64_classify(uint64_t a);
int32_t rv_f64_to_i32(uint64_t a, unsigned rm, unsigned *flags);
uint32_t rv_f64_to_u32(uint64_t a, unsigned rm, unsigned *flags);
int64_t rv_f64_to_i64(uint64_t a, unsigned rm, unsigned *flags);
uint64_t rv_f64_to_u64(uint64_t a, unsigned rm, unsigned *flags);
uint64_t rv_i32_to_f64(int32_t v, unsigned rm, unsigned *flags);
uint64_t rv_u32_to_f64(uint32_t v, unsigned rm, unsigned *flags);
uint64_t rv_i64_to_f64(int64_t v, unsigned rm, unsigned *flags);
uint64_t rv_u64_to_f64(uint64_t v, unsigned rm, unsigned *flags);

/* fcvt.d.s: always exact; NaN gives the canonical NaN (NV if signaling). */
uint64_t rv_f32_to_f64(uint32_t a, unsigned *flags);
/* fcvt.s.d: rounds; may raise NX, UF, OF, NV. */
uint32_t rv_f64_to_f32(uint64_t a, unsigned rm, unsigned *flags);

/*
 * Host fast path. When fpu.c is built with RV_FPU_HOST_FAST=1 (the default
 * on x86-64 and AArch64 hosts), RNE add/sub/mul/div/sqrt, and binary32
 * muladd, run on the host FPU when the operands are finite and the result is
 * a normal number above the smallest normal, where host and software results
 * are provably identical; everything else takes the software path.
 *
 * WARNING: the fast path assumes the host floating-point environment is in
 * its default state (round to nearest, no flush-to-zero/denormals-are-zero),
 * which maquina never changes; code that calls fesetround() or sets
 * MXCSR.FTZ/DAZ on a hart thread must restore it first.
 *
 * rv_fpu_host_fast_available: whether the fast path was compiled in.
 * rv_fpu_set_host_fast: switch it off (false) or back on at run time, so
 * tests can compare both paths. Not thread-safe: call it only while no other
 * thread uses these functions. Returns the previous setting.
 */
bool rv_fpu_host_fast_available(void);
bool rv_fpu_set_host_fast(bool on);

#endif
