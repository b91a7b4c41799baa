/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for fpu.c: hand-written IEEE 754 / RISC-V vectors, the
 * QEMU-generated reference vectors in fpu_ref/vectors.txt (see
 * fpu_ref/refprog.c), and host fast path against the software path.
 * Every check runs with the host fast path both on and off. A fourth test
 * compares the software path under RNE/RTZ/RDN/RUP with the host FPU
 * (x86-64 and AArch64 round IEEE-correctly in all four modes and, like
 * RISC-V, detect tininess after rounding on x86).
 *
 * Usage: fpu_test [vectors.txt]. Without an argument the file is looked up
 * via $MQ_FPU_VECTORS, then next to this source file (__FILE__ is relative
 * to the compiler's working directory, which is also where meson runs
 * tests: the build root).
 */
#include "cpu/riscv/fpu.h"

#include <fenv.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fpu_ref/refgen.h"

static unsigned failures;
static unsigned checks;

#define NX RV_FFLAG_NX
#define UF RV_FFLAG_UF
#define OF RV_FFLAG_OF
#define DZ RV_FFLAG_DZ
#define NV RV_FFLAG_NV

/* Run operation `op` (an RG_* id) through the public API. 32-bit results
 * are returned zero-extended, as the reference generator prints them. */
static uint64_t call_op(unsigned op, const uint64_t v[3], unsigned rm,
                        unsigned *fl)
{
    uint32_t a32 = (uint32_t)v[0], b32 = (uint32_t)v[1], c32 = (uint32_t)v[2];
    uint64_t a = v[0], b = v[1], c = v[2];

    switch (op) {
    case RG_FADD_S: return rv_f32_add(a32, b32, rm, fl);
    case RG_FSUB_S: return rv_f32_sub(a32, b32, rm, fl);
    case RG_FMUL_S: return rv_f32_mul(a32, b32, rm, fl);
    case RG_FDIV_S: return rv_f32_div(a32, b32, rm, fl);
    case RG_FSQRT_S: return rv_f32_sqrt(a32, rm, fl);
    case RG_FMADD_S: return rv_f32_muladd(a32, b32, c32, false, false, rm, fl);
    case RG_FMSUB_S: return rv_f32_muladd(a32, b32, c32, false, true, rm, fl);
    case RG_FNMSUB_S: return rv_f32_muladd(a32, b32, c32, true, false, rm, fl);
    case RG_FNMADD_S: return rv_f32_muladd(a32, b32, c32, true, true, rm, fl);
    case RG_FMIN_S: return rv_f32_min(a32, b32, fl);
    case RG_FMAX_S: return rv_f32_max(a32, b32, fl);
    case RG_FEQ_S: return rv_f32_eq(a32, b32, fl);
    case RG_FLT_S: return rv_f32_lt(a32, b32, fl);
    case RG_FLE_S: return rv_f32_le(a32, b32, fl);
    case RG_FCLASS_S: return rv_f32_classify(a32);
    case RG_FCVT_W_S: return (uint32_t)rv_f32_to_i32(a32, rm, fl);
    case RG_FCVT_WU_S: return rv_f32_to_u32(a32, rm, fl);
    case RG_FCVT_L_S: return (uint64_t)rv_f32_to_i64(a32, rm, fl);
    case RG_FCVT_LU_S: return rv_f32_to_u64(a32, rm, fl);
    case RG_FCVT_S_W: return rv_i32_to_f32((int32_t)a32, rm, fl);
    case RG_FCVT_S_WU: return rv_u32_to_f32(a32, rm, fl);
    case RG_FCVT_S_L: return rv_i64_to_f32((int64_t)a, rm, fl);
    case RG_FCVT_S_LU: return rv_u64_to_f32(a, rm, fl);
    case RG_FCVT_D_S: return rv_f32_to_f64(a32, fl);
    case RG_FADD_D: return rv_f64_add(a, b, rm, fl);
    case RG_FSUB_D: return rv_f64_sub(a, b, rm, fl);
    case RG_FMUL_D: return rv_f64_mul(a, b, rm, fl);
    case RG_FDIV_D: return rv_f64_div(a, b, rm, fl);
    case RG_FSQRT_D: return rv_f64_sqrt(a, rm, fl);
    case RG_FMADD_D: return rv_f64_muladd(a, b, c, false, false, rm, fl);
    case RG_FMSUB_D: return rv_f64_muladd(a, b, c, false, true, rm, fl);
    case RG_FNMSUB_D: return rv_f64_muladd(a, b, c, true, false, rm, fl);
    case RG_FNMADD_D: return rv_f64_muladd(a, b, c, true, true, rm, fl);
    case RG_FMIN_D: return rv_f64_min(a, b, fl);
    case RG_FMAX_D: return rv_f64_max(a, b, fl);
    case RG_FEQ_D: return rv_f64_eq(a, b, fl);
    case RG_FLT_D: return rv_f64_lt(a, b, fl);
    case RG_FLE_D: return rv_f64_le(a, b, fl);
    case RG_FCLASS_D: return rv_f64_classify(a);
    case RG_FCVT_W_D: return (uint32_t)rv_f64_to_i32(a, rm, fl);
    case RG_FCVT_WU_D: return rv_f64_to_u32(a, rm, fl);
    case RG_FCVT_L_D: return (uint64_t)rv_f64_to_i64(a, rm, fl);
    case RG_FCVT_LU_D: return rv_f64_to_u64(a, rm, fl);
    case RG_FCVT_D_W: return rv_i32_to_f64((int32_t)a32, rm, fl);
    case RG_FCVT_D_WU: return rv_u32_to_f64(a32, rm, fl);
    case RG_FCVT_D_L: return rv_i64_to_f64((int64_t)a, rm, fl);
    case RG_FCVT_D_LU: return rv_u64_to_f64(a, rm, fl);
    case RG_FCVT_S_D: return rv_f64_to_f32(a, rm, fl);
    default:
        abort();
    }
}

static const char *const rm_names[] = { "rne", "rtz", "rdn", "rup", "rmm" };

/* Check one vector under both paths; `what` names its origin. */
static void check(const char *what, unsigned op, const uint64_t v[3],
                  unsigned rm, uint64_t want, unsigned want_fl)
{
    for (int fast = 0; fast < 2; fast++) {
        unsigned fl = 0;
        rv_fpu_set_host_fast(fast);
        uint64_t got = call_op(op, v, rm, &fl);
        checks++;
        if (got == want && fl == want_fl)
            continue;
        if (++failures <= 40) {
            printf("FAIL %s: %s.%s", what, rg_ops[op].name, rm_names[rm]);
            for (unsigned i = 0; i < rg_ops[op].nargs; i++)
                printf(" %#" PRIx64, v[i]);
            printf(" -> %#" PRIx64 "/%#x, want %#" PRIx64 "/%#x (fast %s)\n",
                   got, fl, want, want_fl, fast ? "on" : "off");
        }
    }
    rv_fpu_set_host_fast(true);
}

/* ---- (1) hand-written vectors ------------------------------------------- */

struct hand_vec {
    uint8_t op;
    uint8_t rm;
    uint64_t a, b, c;
    uint64_t res;
    unsigned flags;
};

#define RNE RV_RM_RNE
#define RTZ RV_RM_RTZ
#define RDN RV_RM_RDN
#define RUP RV_RM_RUP
#define RMM RV_RM_RMM

/* binary32 constants */
#define S_ONE 0x3f800000
#define S_TWO 0x40000000
#define S_HALF 0x3f000000
#define S_MAX 0x7f7fffff
#define S_INF 0x7f800000
#define S_NINF 0xff800000
#define S_QNAN 0x7fc00000
#define S_SNAN 0x7f800001
#define S_NZERO 0x80000000
/* binary64 constants */
#define D_ONE 0x3ff0000000000000
#define D_NONE 0xbff0000000000000
#define D_HALF 0x3fe0000000000000
#define D_MAX 0x7fefffffffffffff
#define D_INF 0x7ff0000000000000
#define D_NINF 0xfff0000000000000
#define D_QNAN 0x7ff8000000000000
#define D_SNAN 0x7ff0000000000001
#define D_NZERO 0x8000000000000000

#define V1(op, rm, a, res, fl) { RG_##op, rm, a, 0, 0, res, fl }
#define V2(op, rm, a, b, res, fl) { RG_##op, rm, a, b, 0, res, fl }
#define V3(op, rm, a, b, c, res, fl) { RG_##op, rm, a, b, c, res, fl }

static const struct hand_vec hand_vecs[] = {
    /* add/sub: exact, ties in every mode, signed zeros, specials */
    V2(FADD_S, RNE, S_ONE, S_ONE, S_TWO, 0),
    V2(FADD_S, RNE, S_ONE, 0x33800000, S_ONE, NX),      /* 1 + ulp/2: tie to even */
    V2(FADD_S, RMM, S_ONE, 0x33800000, 0x3f800001, NX), /* tie away */
    V2(FADD_S, RUP, S_ONE, 0x33800000, 0x3f800001, NX),
    V2(FADD_S, RTZ, S_ONE, 0x33800000, S_ONE, NX),
    V2(FADD_S, RDN, S_ONE, 0x33800000, S_ONE, NX),
    V2(FADD_S, RNE, 0x3f800001, 0x33800000, 0x3f800002, NX), /* tie, odd */
    V2(FADD_S, RNE, S_ONE, 0x33c00000, 0x3f800001, NX),
    V2(FADD_S, RMM, 0xbf800000, 0xb3800000, 0xbf800001, NX),
    V2(FADD_S, RNE, 0xbf800000, 0xb3800000, 0xbf800000, NX),
    V2(FADD_S, RDN, 0xbf800000, 0xb3800000, 0xbf800001, NX),
    V2(FADD_S, RUP, 0xbf800000, 0xb3800000, 0xbf800000, NX),
    V2(FSUB_S, RNE, S_ONE, S_ONE, 0, 0),
    V2(FSUB_S, RDN, S_ONE, S_ONE, S_NZERO, 0), /* x - x = -0 under RDN */
    V2(FADD_S, RDN, S_ONE, 0xbf800000, S_NZERO, 0),
    V2(FADD_S, RNE, S_NZERO, S_NZERO, S_NZERO, 0),
    V2(FADD_S, RNE, 0, S_NZERO, 0, 0),
    V2(FADD_S, RDN, 0, S_NZERO, S_NZERO, 0),
    V2(FSUB_S, RNE, S_NZERO, 0, S_NZERO, 0),
    V2(FADD_S, RNE, S_INF, S_NINF, S_QNAN, NV),
    V2(FSUB_S, RNE, S_INF, S_INF, S_QNAN, NV),
    V2(FADD_S, RNE, S_INF, S_ONE, S_INF, 0),
    V2(FADD_S, RNE, S_QNAN, S_ONE, S_QNAN, 0),
    V2(FADD_S, RNE, 0x7fc12345, S_ONE, S_QNAN, 0), /* no payload propagation */
    V2(FADD_S, RNE, S_ONE, S_SNAN, S_QNAN, NV),
    V2(FADD_S, RNE, 0xffc00000, S_SNAN, S_QNAN, NV),
    V2(FADD_S, RNE, S_MAX, S_MAX, S_INF, OF | NX),
    V2(FADD_S, RTZ, S_MAX, S_MAX, S_MAX, OF | NX),
    V2(FADD_S, RDN, S_MAX, S_MAX, S_MAX, OF | NX),
    V2(FADD_S, RUP, S_MAX, S_MAX, S_INF, OF | NX),
    V2(FADD_S, RMM, S_MAX, S_MAX, S_INF, OF | NX),
    V2(FADD_S, RDN, 0xff7fffff, 0xff7fffff, S_NINF, OF | NX),
    V2(FADD_S, RUP, 0xff7fffff, 0xff7fffff, 0xff7fffff, OF | NX),
    V2(FADD_S, RTZ, 0xff7fffff, 0xff7fffff, 0xff7fffff, OF | NX),
    V2(FADD_S, RNE, 0x00000001, 0x00000001, 0x00000002, 0), /* subnormal, exact */
    V2(FSUB_S, RNE, 0x00800000, 0x00000001, 0x007fffff, 0),
    V2(FADD_S, RNE, 0x007fffff, 0x00000001, 0x00800000, 0),
    V2(FADD_D, RNE, D_ONE, 0x3ca0000000000000, D_ONE, NX),
    V2(FADD_D, RMM, D_ONE, 0x3ca0000000000000, 0x3ff0000000000001, NX),
    V2(FADD_D, RNE, 0x3fb999999999999a, 0x3fc999999999999a, 0x3fd3333333333334, NX),
    V2(FADD_D, RDN, D_ONE, D_NONE, D_NZERO, 0),
    V2(FSUB_D, RDN, 0x4010000000000000, 0x4010000000000000, D_NZERO, 0),
    V2(FSUB_D, RUP, 0x4010000000000000, 0x4010000000000000, 0, 0),
    V2(FADD_D, RNE, D_MAX, D_MAX, D_INF, OF | NX),
    V2(FADD_D, RTZ, D_MAX, D_MAX, D_MAX, OF | NX),
    V2(FADD_D, RDN, 0xffefffffffffffff, 0xffefffffffffffff, D_NINF, OF | NX),
    V2(FADD_D, RNE, D_INF, D_NINF, D_QNAN, NV),
    V2(FADD_D, RNE, D_SNAN, D_ONE, D_QNAN, NV),
    V2(FADD_D, RNE, 0x7ff8dead00000000, D_ONE, D_QNAN, 0),
    V2(FADD_D, RNE, 0x0000000000000001, 0x8000000000000002, 0x8000000000000001, 0),

    /* mul: underflow, tininess after rounding, overflow */
    V2(FMUL_S, RNE, 0x40400000, S_HALF, 0x3fc00000, 0),
    V2(FMUL_S, RNE, 0x00800000, S_HALF, 0x00400000, 0), /* exact subnormal: no UF */
    V2(FMUL_S, RNE, 0x00800001, S_HALF, 0x00400000, UF | NX), /* tie to even */
    V2(FMUL_S, RUP, 0x00800001, S_HALF, 0x00400001, UF | NX),
    V2(FMUL_S, RMM, 0x00800001, S_HALF, 0x00400001, UF | NX),
    /* (1 - 2^-24) * 2^-126 rounds to 2^-126 but is tiny after rounding */
    V2(FMUL_S, RNE, 0x3f7fffff, 0x00800000, 0x00800000, UF | NX),
    V2(FMUL_S, RTZ, 0x3f7fffff, 0x00800000, 0x007fffff, UF | NX),
    V2(FMUL_S, RNE, 0x00000001, S_HALF, 0, UF | NX), /* to zero */
    V2(FMUL_S, RUP, 0x00000001, S_HALF, 0x00000001, UF | NX),
    V2(FMUL_S, RMM, 0x00000001, S_HALF, 0x00000001, UF | NX),
    V2(FMUL_S, RDN, 0x80000001, S_HALF, 0x80000001, UF | NX),
    V2(FMUL_S, RNE, 0x7f000000, S_TWO, S_INF, OF | NX),
    V2(FMUL_S, RTZ, 0x7f000000, S_TWO, S_MAX, OF | NX),
    V2(FMUL_S, RUP, 0xff000000, S_TWO, 0xff7fffff, OF | NX),
    V2(FMUL_S, RNE, 0, S_INF, S_QNAN, NV),
    V2(FMUL_S, RNE, S_NZERO, 0x40a00000, S_NZERO, 0),
    V2(FMUL_S, RNE, S_NINF, S_NINF, S_INF, 0),
    V2(FMUL_D, RNE, 0x0010000000000001, D_HALF, 0x0008000000000000, UF | NX),
    V2(FMUL_D, RUP, 0x0010000000000001, D_HALF, 0x0008000000000001, UF | NX),
    V2(FMUL_D, RNE, 0x3fefffffffffffff, 0x0010000000000000, 0x0010000000000000, UF | NX),
    V2(FMUL_D, RDN, 0x3fefffffffffffff, 0x0010000000000000, 0x000fffffffffffff, UF | NX),
    V2(FMUL_D, RNE, 0x7fe0000000000000, 0x4000000000000000, D_INF, OF | NX),
    V2(FMUL_D, RDN, 0x7fe0000000000000, 0x4000000000000000, D_MAX, OF | NX),
    V2(FMUL_D, RNE, D_INF, 0, D_QNAN, NV),
    V2(FMUL_D, RNE, 0x4008000000000000, 0x3fd5555555555555, D_ONE, NX), /* 1 - 2^-54: tie */
    V2(FMUL_D, RTZ, 0x4008000000000000, 0x3fd5555555555555, 0x3fefffffffffffff, NX),

    /* div */
    V2(FDIV_S, RNE, S_ONE, 0x40400000, 0x3eaaaaab, NX),
    V2(FDIV_S, RTZ, S_ONE, 0x40400000, 0x3eaaaaaa, NX),
    V2(FDIV_S, RDN, S_ONE, 0x40400000, 0x3eaaaaaa, NX),
    V2(FDIV_S, RUP, S_ONE, 0x40400000, 0x3eaaaaab, NX),
    V2(FDIV_S, RMM, S_ONE, 0x40400000, 0x3eaaaaab, NX),
    V2(FDIV_S, RDN, 0xbf800000, 0x40400000, 0xbeaaaaab, NX),
    V2(FDIV_S, RNE, 0x40c00000, 0x40400000, S_TWO, 0),
    V2(FDIV_S, RNE, S_ONE, 0, S_INF, DZ),
    V2(FDIV_S, RNE, S_ONE, S_NZERO, S_NINF, DZ),
    V2(FDIV_S, RNE, 0, 0, S_QNAN, NV),
    V2(FDIV_S, RNE, S_INF, S_NINF, S_QNAN, NV),
    V2(FDIV_S, RNE, S_INF, 0, S_INF, 0), /* inf / 0: no DZ */
    V2(FDIV_S, RNE, S_ONE, S_INF, 0, 0),
    V2(FDIV_S, RNE, 0, 0xbf800000, S_NZERO, 0),
    V2(FDIV_S, RNE, S_MAX, S_HALF, S_INF, OF | NX),
    V2(FDIV_S, RNE, 0x00800000, 0x41000000, 0x00100000, 0),
    V2(FDIV_D, RNE, D_ONE, 0x4008000000000000, 0x3fd5555555555555, NX),
    V2(FDIV_D, RUP, D_ONE, 0x4008000000000000, 0x3fd5555555555556, NX),
    V2(FDIV_D, RNE, D_ONE, 0, D_INF, DZ),
    V2(FDIV_D, RNE, D_QNAN, 0, D_QNAN, 0),
    V2(FDIV_D, RNE, D_SNAN, 0, D_QNAN, NV),
    V2(FDIV_D, RNE, 0x0000000000000001, 0x4000000000000000, 0, UF | NX),
    V2(FDIV_D, RUP, 0x0000000000000001, 0x4000000000000000, 1, UF | NX),

    /* sqrt */
    V1(FSQRT_S, RNE, 0x40800000, S_TWO, 0),
    V1(FSQRT_S, RNE, S_TWO, 0x3fb504f3, NX),
    V1(FSQRT_S, RTZ, S_TWO, 0x3fb504f3, NX),
    V1(FSQRT_S, RUP, S_TWO, 0x3fb504f4, NX),
    V1(FSQRT_S, RMM, S_TWO, 0x3fb504f3, NX),
    V1(FSQRT_S, RNE, S_NZERO, S_NZERO, 0),
    V1(FSQRT_S, RNE, 0, 0, 0),
    V1(FSQRT_S, RNE, 0xbf800000, S_QNAN, NV),
    V1(FSQRT_S, RNE, 0x80000001, S_QNAN, NV),
    V1(FSQRT_S, RNE, S_NINF, S_QNAN, NV),
    V1(FSQRT_S, RNE, S_INF, S_INF, 0),
    V1(FSQRT_S, RNE, S_SNAN, S_QNAN, NV),
    V1(FSQRT_S, RNE, 0xffc00000, S_QNAN, 0),
    V1(FSQRT_S, RNE, 0x00000002, 0x1a800000, 0), /* sqrt(2^-148) = 2^-74 */
    V1(FSQRT_D, RNE, 0x4000000000000000, 0x3ff6a09e667f3bcd, NX),
    V1(FSQRT_D, RTZ, 0x4000000000000000, 0x3ff6a09e667f3bcc, NX),
    V1(FSQRT_D, RUP, 0x4000000000000000, 0x3ff6a09e667f3bcd, NX),
    V1(FSQRT_D, RNE, 0x4022000000000000, 0x4008000000000000, 0),
    V1(FSQRT_D, RNE, D_NZERO, D_NZERO, 0),
    V1(FSQRT_D, RNE, D_NONE, D_QNAN, NV),
    V1(FSQRT_D, RNE, 0x0000000000000001, 0x1e60000000000000, 0), /* 2^-537 */

    /* fused multiply-add: one rounding, invalid cases, zero signs */
    V3(FMADD_S, RNE, 0, S_INF, S_QNAN, S_QNAN, NV), /* 0*inf + qNaN */
    V3(FMADD_S, RNE, S_INF, 0, S_ONE, S_QNAN, NV),
    V3(FMADD_S, RNE, S_INF, S_ONE, S_NINF, S_QNAN, NV),
    V3(FMSUB_S, RNE, S_INF, S_ONE, S_INF, S_QNAN, NV),
    V3(FMADD_S, RNE, S_INF, S_ONE, S_INF, S_INF, 0),
    V3(FMADD_S, RNE, S_ONE, S_ONE, S_QNAN, S_QNAN, 0),
    V3(FMADD_S, RNE, S_ONE, S_ONE, S_SNAN, S_QNAN, NV),
    V3(FMADD_S, RNE, S_ONE, S_ONE, 0xbf800000, 0, 0),
    V3(FMADD_S, RDN, S_ONE, S_ONE, 0xbf800000, S_NZERO, 0),
    V3(FNMADD_S, RNE, S_ONE, S_ONE, S_ONE, 0xc0000000, 0),
    V3(FMSUB_S, RNE, S_TWO, 0x40400000, S_ONE, 0x40a00000, 0),
    V3(FNMSUB_S, RNE, S_TWO, 0x40400000, S_ONE, 0xc0a00000, 0),
    /* (1+2^-23)^2 - 1 = 2^-22 + 2^-46: a tie only a fused op sees */
    V3(FMADD_S, RNE, 0x3f800001, 0x3f800001, 0xbf800000, 0x34800000, NX),
    V3(FMADD_S, RUP, 0x3f800001, 0x3f800001, 0xbf800000, 0x34800001, NX),
    V3(FMADD_S, RMM, 0x3f800001, 0x3f800001, 0xbf800000, 0x34800001, NX),
    V3(FNMADD_S, RNE, 0, S_ONE, 0, S_NZERO, 0),  /* -(+0) - (+0) */
    V3(FNMADD_S, RNE, 0, S_ONE, S_NZERO, 0, 0),  /* -(+0) - (-0) */
    V3(FNMADD_S, RDN, 0, S_ONE, S_NZERO, S_NZERO, 0),
    V3(FMSUB_S, RNE, 0, S_ONE, 0, 0, 0),
    V3(FMSUB_S, RDN, 0, S_ONE, 0, S_NZERO, 0),
    V3(FMADD_S, RNE, 0, 0x40a00000, S_ONE, S_ONE, 0),
    V3(FMADD_S, RNE, 0x00800000, S_HALF, 0, 0x00400000, 0),
    V3(FMADD_S, RNE, S_MAX, S_TWO, 0xff7fffff, S_MAX, 0),
    V3(FMADD_S, RNE, S_MAX, S_TWO, 0, S_INF, OF | NX),
    V3(FMADD_D, RNE, 0, D_INF, D_QNAN, D_QNAN, NV),
    V3(FMADD_D, RNE, 0x3ff0000000000001, 0x3ff0000000000001, D_NONE, 0x3cc0000000000000, NX),
    V3(FMADD_D, RUP, 0x3ff0000000000001, 0x3ff0000000000001, D_NONE, 0x3cc0000000000001, NX),
    V3(FNMSUB_D, RNE, D_ONE, D_ONE, D_ONE, 0, 0),
    V3(FNMSUB_D, RDN, D_ONE, D_ONE, D_ONE, D_NZERO, 0),
    V3(FMADD_D, RNE, 0x0010000000000001, D_HALF, 0, 0x0008000000000000, UF | NX),
    V3(FMADD_D, RNE, 0x0010000000000000, D_HALF, 0x8000000000000001, 0x0007ffffffffffff, 0),

    /* min/max: minimumNumber/maximumNumber, -0 < +0 */
    V2(FMIN_S, RNE, S_NZERO, 0, S_NZERO, 0),
    V2(FMIN_S, RNE, 0, S_NZERO, S_NZERO, 0),
    V2(FMAX_S, RNE, S_NZERO, 0, 0, 0),
    V2(FMAX_S, RNE, 0, S_NZERO, 0, 0),
    V2(FMIN_S, RNE, S_QNAN, S_ONE, S_ONE, 0),
    V2(FMAX_S, RNE, S_ONE, 0xffc00000, S_ONE, 0),
    V2(FMIN_S, RNE, S_SNAN, S_ONE, S_ONE, NV),
    V2(FMIN_S, RNE, S_QNAN, S_QNAN, S_QNAN, 0),
    V2(FMAX_S, RNE, 0x7fc12345, 0xffc00001, S_QNAN, 0),
    V2(FMIN_S, RNE, S_SNAN, S_QNAN, S_QNAN, NV),
    V2(FMIN_S, RNE, S_ONE, S_TWO, S_ONE, 0),
    V2(FMAX_S, RNE, S_NINF, S_ONE, S_ONE, 0),
    V2(FMIN_S, RNE, 0xc0000000, 0xbf800000, 0xc0000000, 0),
    V2(FMIN_D, RNE, D_NZERO, 0, D_NZERO, 0),
    V2(FMAX_D, RNE, D_NZERO, 0, 0, 0),
    V2(FMAX_D, RNE, D_SNAN, D_NONE, D_NONE, NV),
    V2(FMIN_D, RNE, D_QNAN, D_SNAN, D_QNAN, NV),
    V2(FMAX_D, RNE, D_MAX, D_INF, D_INF, 0),

    /* comparisons: feq quiet, flt/fle signaling */
    V2(FEQ_S, RNE, S_QNAN, S_ONE, 0, 0),
    V2(FEQ_S, RNE, S_SNAN, S_ONE, 0, NV),
    V2(FEQ_S, RNE, S_QNAN, S_QNAN, 0, 0),
    V2(FLT_S, RNE, S_QNAN, S_ONE, 0, NV),
    V2(FLE_S, RNE, S_ONE, S_QNAN, 0, NV),
    V2(FEQ_S, RNE, S_NZERO, 0, 1, 0),
    V2(FLT_S, RNE, S_NZERO, 0, 0, 0),
    V2(FLE_S, RNE, S_NZERO, 0, 1, 0),
    V2(FLE_S, RNE, 0, S_NZERO, 1, 0),
    V2(FLT_S, RNE, S_ONE, S_TWO, 1, 0),
    V2(FLT_S, RNE, 0xc0000000, 0xbf800000, 1, 0),
    V2(FLT_S, RNE, 0xbf800000, 0xc0000000, 0, 0),
    V2(FLE_S, RNE, S_TWO, S_TWO, 1, 0),
    V2(FLT_S, RNE, S_NINF, S_INF, 1, 0),
    V2(FLT_S, RNE, 0x80000001, 0x00000001, 1, 0),
    V2(FEQ_D, RNE, D_ONE, D_ONE, 1, 0),
    V2(FEQ_D, RNE, D_SNAN, D_SNAN, 0, NV),
    V2(FLT_D, RNE, D_NONE, D_ONE, 1, 0),
    V2(FLE_D, RNE, D_QNAN, D_ONE, 0, NV),

    /* classify: one vector per class */
    V1(FCLASS_S, RNE, S_NINF, 1 << 0, 0),
    V1(FCLASS_S, RNE, 0xbf800000, 1 << 1, 0),
    V1(FCLASS_S, RNE, 0x807fffff, 1 << 2, 0),
    V1(FCLASS_S, RNE, S_NZERO, 1 << 3, 0),
    V1(FCLASS_S, RNE, 0, 1 << 4, 0),
    V1(FCLASS_S, RNE, 0x00000001, 1 << 5, 0),
    V1(FCLASS_S, RNE, S_MAX, 1 << 6, 0),
    V1(FCLASS_S, RNE, S_INF, 1 << 7, 0),
    V1(FCLASS_S, RNE, S_SNAN, 1 << 8, 0),
    V1(FCLASS_S, RNE, 0xffc00000, 1 << 9, 0),
    V1(FCLASS_D, RNE, D_NINF, 1 << 0, 0),
    V1(FCLASS_D, RNE, D_NONE, 1 << 1, 0),
    V1(FCLASS_D, RNE, 0x800fffffffffffff, 1 << 2, 0),
    V1(FCLASS_D, RNE, D_NZERO, 1 << 3, 0),
    V1(FCLASS_D, RNE, 0, 1 << 4, 0),
    V1(FCLASS_D, RNE, 1, 1 << 5, 0),
    V1(FCLASS_D, RNE, 0x0010000000000000, 1 << 6, 0),
    V1(FCLASS_D, RNE, D_INF, 1 << 7, 0),
    V1(FCLASS_D, RNE, 0x7ff4000000000000, 1 << 8, 0),
    V1(FCLASS_D, RNE, D_QNAN, 1 << 9, 0),

    /* float -> int: rounding, RMM ties, saturation edges */
    V1(FCVT_W_S, RNE, 0x40200000, 2, NX), /* 2.5 */
    V1(FCVT_W_S, RMM, 0x40200000, 3, NX),
    V1(FCVT_W_S, RUP, 0x40200000, 3, NX),
    V1(FCVT_W_S, RDN, 0x40200000, 2, NX),
    V1(FCVT_W_S, RTZ, 0x40200000, 2, NX),
    V1(FCVT_W_S, RNE, 0xc0200000, 0xfffffffe, NX), /* -2.5 */
    V1(FCVT_W_S, RMM, 0xc0200000, 0xfffffffd, NX),
    V1(FCVT_W_S, RDN, 0xc0200000, 0xfffffffd, NX),
    V1(FCVT_W_S, RUP, 0xc0200000, 0xfffffffe, NX),
    V1(FCVT_W_S, RNE, 0x3fc00000, 2, NX), /* 1.5 */
    V1(FCVT_W_S, RNE, 0x3f000000, 0, NX), /* 0.5 */
    V1(FCVT_W_S, RMM, 0x3f000000, 1, NX),
    V1(FCVT_W_S, RUP, 0x00000001, 1, NX),
    V1(FCVT_W_S, RDN, 0x80000001, 0xffffffff, NX),
    V1(FCVT_W_S, RNE, S_NZERO, 0, 0),
    V1(FCVT_W_S, RNE, 0x4f000000, 0x7fffffff, NV), /* 2^31 */
    V1(FCVT_W_S, RNE, 0xcf000000, 0x80000000, 0),  /* -2^31 */
    V1(FCVT_W_S, RNE, 0xcf000001, 0x80000000, NV),
    V1(FCVT_W_S, RNE, 0x4effffff, 0x7fffff80, 0),
    V1(FCVT_W_S, RNE, S_QNAN, 0x7fffffff, NV),
    V1(FCVT_W_S, RNE, 0xffc00000, 0x7fffffff, NV), /* negative NaN too */
    V1(FCVT_W_S, RNE, S_SNAN, 0x7fffffff, NV),
    V1(FCVT_W_S, RNE, S_INF, 0x7fffffff, NV),
    V1(FCVT_W_S, RNE, S_NINF, 0x80000000, NV),
    V1(FCVT_WU_S, RNE, 0xbf800000, 0, NV),        /* -1 */
    V1(FCVT_WU_S, RTZ, 0xbe99999a, 0, NX),        /* -0.3 */
    V1(FCVT_WU_S, RNE, 0xbe99999a, 0, NX),
    V1(FCVT_WU_S, RDN, 0xbe99999a, 0, NV),        /* rounds to -1 */
    V1(FCVT_WU_S, RNE, 0xbf333333, 0, NV),        /* -0.7 */
    V1(FCVT_WU_S, RTZ, 0xbf333333, 0, NX),
    V1(FCVT_WU_S, RNE, 0xbf000000, 0, NX),        /* -0.5: tie to even 0 */
    V1(FCVT_WU_S, RMM, 0xbf000000, 0, NV),
    V1(FCVT_WU_S, RNE, 0x4f800000, 0xffffffff, NV), /* 2^32 */
    V1(FCVT_WU_S, RNE, 0x4f7fffff, 0xffffff00, 0),
    V1(FCVT_WU_S, RNE, S_QNAN, 0xffffffff, NV),
    V1(FCVT_WU_S, RNE, S_NINF, 0, NV),
    V1(FCVT_WU_S, RNE, S_NZERO, 0, 0),
    V1(FCVT_L_S, RNE, 0x5f000000, 0x7fffffffffffffff, NV), /* 2^63 */
    V1(FCVT_L_S, RNE, 0xdf000000, 0x8000000000000000, 0),
    V1(FCVT_L_S, RNE, 0xdf000001, 0x8000000000000000, NV),
    V1(FCVT_L_S, RNE, 0x5effffff, 0x7fffff8000000000, 0),
    V1(FCVT_L_S, RNE, S_QNAN, 0x7fffffffffffffff, NV),
    V1(FCVT_LU_S, RNE, 0x5f800000, 0xffffffffffffffff, NV), /* 2^64 */
    V1(FCVT_LU_S, RNE, 0x5f7fffff, 0xffffff0000000000, 0),
    V1(FCVT_LU_S, RNE, 0xbf800000, 0, NV),
    V1(FCVT_LU_S, RNE, S_NINF, 0, NV),
    V1(FCVT_LU_S, RNE, 0xffc00000, 0xffffffffffffffff, NV),
    V1(FCVT_W_D, RNE, 0x41dfffffffe00000, 0x7fffffff, NV), /* 2^31 - 0.5 */
    V1(FCVT_W_D, RTZ, 0x41dfffffffe00000, 0x7fffffff, NX),
    V1(FCVT_W_D, RNE, 0xc1e0000000100000, 0x80000000, NX), /* -2^31 - 0.5 */
    V1(FCVT_W_D, RMM, 0xc1e0000000100000, 0x80000000, NV),
    V1(FCVT_W_D, RDN, 0xc1e0000000100000, 0x80000000, NV),
    V1(FCVT_W_D, RUP, 0xc1e0000000100000, 0x80000000, NX),
    V1(FCVT_W_D, RNE, 0x41e0000000000000, 0x7fffffff, NV),
    V1(FCVT_W_D, RNE, D_QNAN, 0x7fffffff, NV),
    V1(FCVT_WU_D, RNE, 0x41efffffffe00000, 0xffffffff, 0), /* 2^32 - 1 */
    V1(FCVT_WU_D, RNE, 0x41effffffff00000, 0xffffffff, NV), /* 2^32 - 0.5 */
    V1(FCVT_WU_D, RTZ, 0x41effffffff00000, 0xffffffff, NX),
    V1(FCVT_WU_D, RNE, 0xbfe0000000000000, 0, NX), /* -0.5 */
    V1(FCVT_WU_D, RMM, 0xbfe0000000000000, 0, NV),
    V1(FCVT_L_D, RNE, 0x43e0000000000000, 0x7fffffffffffffff, NV),
    V1(FCVT_L_D, RNE, 0xc3e0000000000000, 0x8000000000000000, 0),
    V1(FCVT_L_D, RNE, 0x43dfffffffffffff, 0x7ffffffffffffc00, 0),
    V1(FCVT_L_D, RNE, 0xc3e0000000000001, 0x8000000000000000, NV),
    V1(FCVT_L_D, RMM, 0x4004000000000000, 3, NX), /* 2.5 */
    V1(FCVT_L_D, RNE, 0x4004000000000000, 2, NX),
    V1(FCVT_LU_D, RNE, 0x43f0000000000000, 0xffffffffffffffff, NV),
    V1(FCVT_LU_D, RNE, 0x43efffffffffffff, 0xfffffffffffff800, 0),
    V1(FCVT_LU_D, RNE, 0xbfe0000000000000, 0, NX),
    V1(FCVT_LU_D, RMM, 0xbfe0000000000000, 0, NV),
    V1(FCVT_LU_D, RNE, D_NONE, 0, NV),
    V1(FCVT_LU_D, RNE, D_SNAN, 0xffffffffffffffff, NV),

    /* int -> float */
    V1(FCVT_S_W, RNE, 0x1000001, 0x4b800000, NX), /* 2^24 + 1: tie */
    V1(FCVT_S_W, RMM, 0x1000001, 0x4b800001, NX),
    V1(FCVT_S_W, RUP, 0x1000001, 0x4b800001, NX),
    V1(FCVT_S_W, RDN, 0x1000001, 0x4b800000, NX),
    V1(FCVT_S_W, RNE, 0x1000003, 0x4b800002, NX), /* tie to even, up */
    V1(FCVT_S_W, RDN, 0xfeffffff, 0xcb800001, NX), /* -(2^24 + 1) */
    V1(FCVT_S_W, RMM, 0xfeffffff, 0xcb800001, NX),
    V1(FCVT_S_W, RNE, 0x80000000, 0xcf000000, 0),
    V1(FCVT_S_W, RNE, 0, 0, 0),
    V1(FCVT_S_W, RNE, 0xffffffff, 0xbf800000, 0),
    V1(FCVT_S_WU, RNE, 0xffffffff, 0x4f800000, NX),
    V1(FCVT_S_WU, RTZ, 0xffffffff, 0x4f7fffff, NX),
    V1(FCVT_S_L, RNE, 0x8000000000000000, 0xdf000000, 0),
    V1(FCVT_S_L, RNE, 0x7fffffffffffffff, 0x5f000000, NX),
    V1(FCVT_S_L, RTZ, 0x7fffffffffffffff, 0x5effffff, NX),
    V1(FCVT_S_LU, RNE, 0xffffffffffffffff, 0x5f800000, NX),
    V1(FCVT_S_LU, RDN, 0xffffffffffffffff, 0x5f7fffff, NX),
    V1(FCVT_D_W, RNE, 0x80000000, 0xc1e0000000000000, 0),
    V1(FCVT_D_W, RNE, 0x7fffffff, 0x41dfffffffc00000, 0),
    V1(FCVT_D_WU, RNE, 0xffffffff, 0x41efffffffe00000, 0),
    V1(FCVT_D_L, RNE, 0x20000000000001, 0x4340000000000000, NX),
    V1(FCVT_D_L, RMM, 0x20000000000001, 0x4340000000000001, NX),
    V1(FCVT_D_L, RNE, 0x7fffffffffffffff, 0x43e0000000000000, NX),
    V1(FCVT_D_L, RTZ, 0x7fffffffffffffff, 0x43dfffffffffffff, NX),
    V1(FCVT_D_L, RNE, 0x8000000000000000, 0xc3e0000000000000, 0),
    V1(FCVT_D_LU, RNE, 0xffffffffffffffff, 0x43f0000000000000, NX),
    V1(FCVT_D_LU, RTZ, 0xffffffffffffffff, 0x43efffffffffffff, NX),

    /* float <-> double */
    V1(FCVT_D_S, RNE, S_SNAN, D_QNAN, NV),
    V1(FCVT_D_S, RNE, 0xffc12345, D_QNAN, 0),
    V1(FCVT_D_S, RNE, 0x00000001, 0x36a0000000000000, 0),
    V1(FCVT_D_S, RNE, S_NZERO, D_NZERO, 0),
    V1(FCVT_D_S, RNE, S_NINF, D_NINF, 0),
    V1(FCVT_D_S, RNE, 0x3dcccccd, 0x3fb99999a0000000, 0),
    V1(FCVT_S_D, RNE, 0x7e37e43c8800759c, S_INF, OF | NX), /* 1e300 */
    V1(FCVT_S_D, RTZ, 0x7e37e43c8800759c, S_MAX, OF | NX),
    V1(FCVT_S_D, RDN, 0xfe37e43c8800759c, 0xff800000, OF | NX),
    V1(FCVT_S_D, RNE, D_SNAN, S_QNAN, NV),
    V1(FCVT_S_D, RNE, 0x7ff8dead00000000, S_QNAN, 0),
    V1(FCVT_S_D, RNE, 0x36a0000000000000, 0x00000001, 0),
    V1(FCVT_S_D, RNE, 0x3690000000000000, 0, UF | NX), /* 2^-150: tie to 0 */
    V1(FCVT_S_D, RMM, 0x3690000000000000, 1, UF | NX),
    V1(FCVT_S_D, RNE, 0x3fb999999999999a, 0x3dcccccd, NX),
    V1(FCVT_S_D, RTZ, 0x3fb999999999999a, 0x3dcccccc, NX),
    /* 2^-126 (1 - 2^-25): not tiny under RNE/RUP/RMM, tiny under RTZ/RDN */
    V1(FCVT_S_D, RNE, 0x380ffffff0000000, 0x00800000, NX),
    V1(FCVT_S_D, RUP, 0x380ffffff0000000, 0x00800000, NX),
    V1(FCVT_S_D, RMM, 0x380ffffff0000000, 0x00800000, NX),
    V1(FCVT_S_D, RTZ, 0x380ffffff0000000, 0x007fffff, UF | NX),
    V1(FCVT_S_D, RDN, 0x380ffffff0000000, 0x007fffff, UF | NX),
    /* 2^-126 - 2^-150: tiny, yet rounds to 2^-126 under RNE */
    V1(FCVT_S_D, RNE, 0x380fffffe0000000, 0x00800000, UF | NX),
    V1(FCVT_S_D, RTZ, 0x380fffffe0000000, 0x007fffff, UF | NX),
    V1(FCVT_S_D, RNE, 0x47efffffe0000000, S_MAX, 0),
    V1(FCVT_S_D, RNE, 0x47effffff0000000, S_INF, OF | NX), /* max + ulp/2 */
    V1(FCVT_S_D, RTZ, 0x47effffff0000000, S_MAX, NX),
};

static void test_hand(void)
{
    for (size_t i = 0; i < sizeof(hand_vecs) / sizeof(hand_vecs[0]); i++) {
        const struct hand_vec *h = &hand_vecs[i];
        uint64_t v[3] = { h->a, h->b, h->c };
        char what[32];
        snprintf(what, sizeof(what), "hand #%zu", i);
        check(what, h->op, v, h->rm, h->res, h->flags);
    }
}

/* Flags are ORed in, never cleared. */
static void test_sticky_flags(void)
{
    unsigned fl = NV | DZ;
    rv_f32_add(0x3f800000, 0x3f800000, RNE, &fl);
    rv_f64_mul(D_ONE, D_ONE, RNE, &fl);
    rv_f64_to_i64(D_ONE, RNE, &fl);
    checks++;
    if (fl != (NV | DZ)) {
        failures++;
        printf("FAIL sticky flags: %#x\n", fl);
    }
}

/* ---- (2) QEMU reference vectors ------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 22, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

static char *find_vectors(int argc, char **argv, char *path, size_t size)
{
    size_t len;
    char *text;

    if (argc > 1)
        snprintf(path, size, "%s", argv[1]);
    else if (getenv("MQ_FPU_VECTORS"))
        snprintf(path, size, "%s", getenv("MQ_FPU_VECTORS"));
    else {
        const char *slash = strrchr(__FILE__, '/');
        int dirlen = slash ? (int)(slash - __FILE__) : 1;
        snprintf(path, size, "%.*s/fpu_ref/vectors.txt", dirlen,
                 slash ? __FILE__ : ".");
    }
    text = read_file(path, &len);
    return text;
}

/* Parse one entry of a vector line (format: fpu_ref/refprog.c). */
static bool parse_entry(char **pp, bool first, uint64_t r0, unsigned fl0,
                        uint64_t *r, unsigned *fl)
{
    char *p = *pp, *end;

    while (*p == ' ')
        p++;
    if (*p == '.' || *p == '+' || *p == '-') {
        if (first)
            return false;
        *r = r0 + (*p == '+') - (*p == '-');
        p++;
    } else {
        *r = strtoull(p, &end, 16);
        if (end == p)
            return false;
        p = end;
    }
    *fl = first ? 0 : fl0;
    if (*p == '/') {
        *fl = (unsigned)strtoul(p + 1, &end, 16);
        if (end == p + 1)
            return false;
        p = end;
    }
    *pp = p;
    return true;
}

static int test_reference(int argc, char **argv)
{
    char path[4096];
    char *text = find_vectors(argc, argv, path, sizeof(path));
    unsigned nvec = 0, nops = 0;

    if (!text) {
        printf("FAIL reference: cannot read %s (pass the path of "
               "fpu_ref/vectors.txt as argument or in $MQ_FPU_VECTORS)\n",
               path);
        failures++;
        return 0;
    }
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    while (line) {
        char name[32];
        unsigned tuples;
        uint64_t sum;
        if (line[0] == '#') {
            line = strtok_r(NULL, "\n", &save);
            continue;
        }
        if (strcmp(line, "end") == 0)
            break;
        if (sscanf(line, "op %31s %x %" SCNx64, name, &tuples, &sum) != 3)
            goto bad;
        unsigned op;
        for (op = 0; op < RG_NUM_OPS; op++)
            if (strcmp(rg_ops[op].name, name) == 0)
                break;
        if (op == RG_NUM_OPS)
            goto bad;
        nops++;

        uint64_t my_sum = RG_CHECKSUM_INIT, v[3];
        for (unsigned i = 0; i < tuples; i++) {
            rg_tuple(op, i, v);
            my_sum = rg_checksum_step(my_sum, v);
        }
        if (my_sum != sum) {
            printf("FAIL reference: operand checksum mismatch for %s "
                   "(refgen.h changed? rerun fpu_ref/gen.sh)\n", name);
            failures++;
            free(text);
            return 0;
        }
        for (unsigned i = 0; i < tuples; i++) {
            line = strtok_r(NULL, "\n", &save);
            if (!line)
                goto bad;
            rg_tuple(op, i, v);
            uint64_t r0 = 0;
            unsigned fl0 = 0, nrm = rg_ops[op].has_rm ? 5 : 1;
            char *p = line;
            for (unsigned rm = 0; rm < nrm; rm++) {
                uint64_t r;
                unsigned fl;
                if (!parse_entry(&p, rm == 0, r0, fl0, &r, &fl))
                    goto bad;
                if (rm == 0) {
                    r0 = r;
                    fl0 = fl;
                }
                check("qemu", op, v, rm, r, fl);
                nvec++;
            }
        }
        line = strtok_r(NULL, "\n", &save);
    }
    free(text);
    if (nops != RG_NUM_OPS) {
        printf("FAIL reference: %u of %u operations in %s\n", nops,
               RG_NUM_OPS, path);
        failures++;
    }
    printf("reference: %u vectors, %u operations from %s\n", nvec, nops, path);
    return (int)nvec;
bad:
    printf("FAIL reference: malformed line in %s: %.60s\n", path,
           line ? line : "(eof)");
    failures++;
    free(text);
    return 0;
}

/* ---- (3) fast path against software path --------------------------------- */

/* Mostly normal numbers in a range where results stay normal, so the fast
 * path really runs, plus the generator's edge cases. */
static uint64_t fast_operand(struct rg_rng *r, bool f64)
{
    uint64_t x = rg_next(r);
    unsigned mb = f64 ? 52 : 23, eb = f64 ? 11 : 8;
    uint64_t bias = (1ull << (eb - 1)) - 1;

    switch (rg_below(r, 8)) {
    case 0:
        return rg_float(r, mb, eb);
    case 1: /* any bit pattern */
        return f64 ? x : (uint32_t)x;
    case 2: /* short mantissa: exact results */
        x &= ~((1ull << (mb - rg_below(r, 8))) - 1);
        /* fall through */
    default: {
        uint64_t e = bias - 60 + rg_below(r, 121);
        return (x & ((1ull << (mb + 1)) - 1) & ~(1ull << mb))
            | ((x >> 63) << (mb + eb)) | (e << mb);
    }
    }
}

static void test_fast_vs_soft(unsigned n)
{
    static const uint8_t ops[] = {
        RG_FADD_S, RG_FSUB_S, RG_FMUL_S, RG_FDIV_S, RG_FSQRT_S,
        RG_FMADD_S, RG_FMSUB_S, RG_FNMSUB_S, RG_FNMADD_S,
        RG_FADD_D, RG_FSUB_D, RG_FMUL_D, RG_FDIV_D, RG_FSQRT_D,
    };
    struct rg_rng r = { 0x5eed };
    unsigned bad = 0, inexact = 0, normal = 0;

    if (!rv_fpu_host_fast_available()) {
        printf("fast path: not compiled in, skipped\n");
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        unsigned op = ops[i % sizeof(ops)];
        bool f64 = rg_ops[op].arg == RG_F64;
        uint64_t v[3];
        for (unsigned k = 0; k < 3; k++)
            v[k] = fast_operand(&r, f64);
        if (op == RG_FSQRT_S || op == RG_FSQRT_D)
            v[0] &= f64 ? ~(1ull << 63) : ~(1ull << 31);
        if (rg_ops[op].nargs == 3 && rg_below(&r, 2)) {
            /* near-cancelling addend */
            unsigned mb = f64 ? 52 : 23;
            uint64_t emask = f64 ? 0x7ff : 0xff, bias = emask >> 1;
            uint64_t e = ((v[0] >> mb) & emask) + ((v[1] >> mb) & emask) - bias;
            if (e > 0 && e < emask)
                v[2] = (v[2] & ~(emask << mb)) | (e << mb);
        }
        unsigned fs = 0, ff = 0;
        rv_fpu_set_host_fast(false);
        uint64_t soft = call_op(op, v, RV_RM_RNE, &fs);
        rv_fpu_set_host_fast(true);
        uint64_t fast = call_op(op, v, RV_RM_RNE, &ff);
        checks++;
        inexact += (fs & NX) != 0;
        /* normal results above the smallest normal: fast-path territory */
        if (f64)
            normal += (soft & ~(1ull << 63)) > 0x0010000000000000ull &&
                      (soft & ~(1ull << 63)) < 0x7ff0000000000000ull;
        else
            normal += (soft & 0x7fffffffu) > 0x00800000u &&
                      (soft & 0x7fffffffu) < 0x7f800000u;
        if (soft != fast || fs != ff) {
            failures++;
            if (++bad <= 20)
                printf("FAIL fast path: %s %#" PRIx64 " %#" PRIx64
                       " %#" PRIx64 ": fast %#" PRIx64 "/%#x, soft %#"
                       PRIx64 "/%#x\n", rg_ops[op].name, v[0], v[1], v[2],
                       fast, ff, soft, fs);
        }
    }
    printf("fast path: %u random RNE inputs compared (%u with normal "
           "results, %u inexact), %u mismatches\n", n, normal, inexact, bad);
}

/* ---- (4) software path against the host FPU in directed modes ------------ */

#if defined(__x86_64__) || defined(__aarch64__)
#define HOST_ORACLE 1

/* Volatile operands and results keep the compiler from moving the
 * operation across fesetround()/fetestexcept(). */
static volatile double ho_da, ho_db, ho_dc, ho_dr;
static volatile float ho_fa, ho_fb, ho_fc, ho_fr;
static volatile int64_t ho_i;

static double d_of(uint64_t v)
{
    double d;
    memcpy(&d, &v, sizeof(d));
    return d;
}

static float f_of(uint64_t v)
{
    uint32_t u = (uint32_t)v;
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

static uint64_t bits_d(double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof(v));
    return v;
}

static uint64_t bits_f(float f)
{
    uint32_t v;
    memcpy(&v, &f, sizeof(v));
    return v;
}

/* Host result of op under rm (not RMM); false if the host cannot do it. */
static bool host_op(unsigned op, const uint64_t v[3], unsigned rm,
                    uint64_t *res, unsigned *fl)
{
    static const int modes[] = { FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD,
                                 FE_UPWARD };
    bool ok = true;

    ho_da = d_of(v[0]);
    ho_db = d_of(v[1]);
    ho_dc = d_of(v[2]);
    ho_fa = f_of(v[0]);
    ho_fb = f_of(v[1]);
    ho_fc = f_of(v[2]);
    ho_i = (int64_t)v[0];
    fesetround(modes[rm]);
    feclearexcept(FE_ALL_EXCEPT);
    switch (op) {
    case RG_FADD_D: ho_dr = ho_da + ho_db; break;
    case RG_FSUB_D: ho_dr = ho_da - ho_db; break;
    case RG_FMUL_D: ho_dr = ho_da * ho_db; break;
    case RG_FDIV_D: ho_dr = ho_da / ho_db; break;
    case RG_FSQRT_D: ho_dr = sqrt(ho_da); break;
    case RG_FMADD_D: ho_dr = fma(ho_da, ho_db, ho_dc); break;
    case RG_FNMADD_D: ho_dr = fma(-ho_da, ho_db, -ho_dc); break;
    case RG_FADD_S: ho_fr = ho_fa + ho_fb; break;
    case RG_FSUB_S: ho_fr = ho_fa - ho_fb; break;
    case RG_FMUL_S: ho_fr = ho_fa * ho_fb; break;
    case RG_FDIV_S: ho_fr = ho_fa / ho_fb; break;
    case RG_FSQRT_S: ho_fr = sqrtf(ho_fa); break;
    case RG_FMADD_S: ho_fr = fmaf(ho_fa, ho_fb, ho_fc); break;
    case RG_FCVT_S_D: ho_fr = (float)ho_da; break;
    case RG_FCVT_S_L: ho_fr = (float)ho_i; break;
    case RG_FCVT_D_L: ho_dr = (double)ho_i; break;
    default: ok = false; break;
    }
    int ex = fetestexcept(FE_ALL_EXCEPT);
    fesetround(FE_TONEAREST);
    *res = rg_ops[op].res == RG_F64 ? bits_d(ho_dr) : bits_f(ho_fr);
    *fl = ((ex & FE_INEXACT) ? NX : 0) | ((ex & FE_UNDERFLOW) ? UF : 0) |
          ((ex & FE_OVERFLOW) ? OF : 0) | ((ex & FE_DIVBYZERO) ? DZ : 0) |
          ((ex & FE_INVALID) ? NV : 0);
    return ok;
}

static bool is_nan_of(enum rg_type t, uint64_t v)
{
    if (t == RG_F64)
        return (v & ~(1ull << 63)) > 0x7ff0000000000000ull;
    return ((uint32_t)v & 0x7fffffffu) > 0x7f800000u;
}

static void test_host_oracle(unsigned per_op)
{
    static const uint8_t ops[] = {
        RG_FADD_D, RG_FSUB_D, RG_FMUL_D, RG_FDIV_D, RG_FSQRT_D, RG_FMADD_D,
        RG_FNMADD_D, RG_FADD_S, RG_FSUB_S, RG_FMUL_S, RG_FDIV_S, RG_FSQRT_S,
        RG_FMADD_S, RG_FCVT_S_D, RG_FCVT_S_L, RG_FCVT_D_L,
    };
    /* Not unsigned 64-bit conversions: compilers build them from several
     * instructions that, e.g., turn 0 into -0 under RDN. */
    struct rg_rng r = { 0x0ac1e };
    unsigned n = 0, bad = 0;

    rv_fpu_set_host_fast(false);
    for (size_t k = 0; k < sizeof(ops); k++) {
        unsigned op = ops[k];
        const struct rg_op *o = &rg_ops[op];
        for (unsigned i = 0; i < per_op; i++) {
            uint64_t v[3];
            rg_tuple(op, rg_below(&r, 1000000) + RG_TUPLES, v);
            if (o->arg == RG_F32 || o->arg == RG_F64) {
                bool nan = false;
                if (rg_below(&r, 2))
                    for (unsigned j = 0; j < 3; j++)
                        v[j] = fast_operand(&r, o->arg == RG_F64);
                for (unsigned j = 0; j < o->nargs; j++)
                    nan |= is_nan_of((enum rg_type)o->arg, v[j]);
                if (nan) /* NaN rules differ on the host */
                    continue;
            }
            unsigned rm = i % 4;
            uint64_t want, got;
            unsigned want_fl, got_fl = 0;
            if (!host_op(op, v, rm, &want, &want_fl))
                continue;
            got = call_op(op, v, rm, &got_fl);
            n++;
            bool both_nan = is_nan_of((enum rg_type)o->res, want) &&
                            is_nan_of((enum rg_type)o->res, got);
            if ((got == want || both_nan) && got_fl == want_fl)
                continue;
            failures++;
            if (++bad <= 20)
                printf("FAIL host oracle: %s.%s %#" PRIx64 " %#" PRIx64
                       " %#" PRIx64 " -> %#" PRIx64 "/%#x, host %#" PRIx64
                       "/%#x\n", o->name, rm_names[rm], v[0], v[1], v[2],
                       got, got_fl, want, want_fl);
        }
    }
    rv_fpu_set_host_fast(true);
    checks += n;
    printf("host oracle: %u vectors in RNE/RTZ/RDN/RUP, %u mismatches\n", n,
           bad);
}
#endif

int main(int argc, char **argv)
{
    test_hand();
    printf("hand-written: %zu vectors\n", sizeof(hand_vecs) / sizeof(hand_vecs[0]));
    test_sticky_flags();
    test_reference(argc, argv);
    test_fast_vs_soft(1000000);
#ifdef HOST_ORACLE
    test_host_oracle(40000);
#endif
    printf("%u checks, %u failures\n", checks, failures);
    return failures ? 1 : 0;
}
