/* SPDX-License-Identifier: MIT */
/*
 * Interpreter handlers for the F and D extensions (unprivileged spec
 * chapters 11-12): register file NaN-boxing, mstatus.FS gating and dirty
 * tracking, rounding-mode resolution, fflags accrual. Arithmetic itself is
 * in fpu.c.
 */
#include "cpu/riscv/exec.h"
#include "cpu/riscv/fpu.h"

#define BOX32 0xffffffff00000000ull

/* A single value is valid only when NaN-boxed; otherwise it reads as the canonical NaN. */
static inline uint32_t f32_reg(const struct rv_hart *h, unsigned r)
{
    uint64_t v = h->f[r];

    return (v & BOX32) == BOX32 ? (uint32_t)v : RV_F32_CANONICAL_NAN;
}

static inline void set_f32(struct rv_hart *h, unsigned r, uint32_t v)
{
    h->f[r] = BOX32 | v;
    h->mstatus |= MSTATUS_FS;
}

static inline void set_f64(struct rv_hart *h, unsigned r, uint64_t v)
{
    h->f[r] = v;
    h->mstatus |= MSTATUS_FS;
}

static inline void accrue(struct rv_hart *h, unsigned flags)
{
    if (flags) {
        h->fflags |= flags;
        h->mstatus |= MSTATUS_FS;
    }
}

static bool fp_off(struct rv_hart *h, const struct rv_insn *in)
{
    if (likely(h->mstatus & MSTATUS_FS))
        return false;
    /* The instruction bits are not kept for FP; re-read them for mtval. */
    rv_raise(h, RV_EXC_ILLEGAL, 0);
    return true;
}

/* Resolve the rounding mode; false (with a trap raised) when it is invalid. */
static bool get_rm(struct rv_hart *h, const struct rv_insn *in, unsigned *rm)
{
    unsigned m = (unsigned)in->imm & 7;

    if (m == 7)
        m = h->frm;
    if (m > 4) {
        rv_raise(h, RV_EXC_ILLEGAL, 0);
        return false;
    }
    *rm = m;
    return true;
}

uint64_t rv_exec_flw(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    uint64_t v;

    if (fp_off(h, in) || !rv_load_u32(h, h->x[in->rs1] + (uint64_t)(int64_t)in->imm, &v))
        return h->pc;
    set_f32(h, in->rd, (uint32_t)v);
    return pc + in->len;
}

uint64_t rv_exec_fld(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    uint64_t v;

    if (fp_off(h, in) || !rv_load_u64(h, h->x[in->rs1] + (uint64_t)(int64_t)in->imm, &v))
        return h->pc;
    set_f64(h, in->rd, v);
    return pc + in->len;
}

uint64_t rv_exec_fsw(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    /* fsw stores the low 32 bits whatever the boxing (spec 11.5). */
    if (fp_off(h, in) ||
        !rv_store_u32(h, h->x[in->rs1] + (uint64_t)(int64_t)in->imm, (uint32_t)h->f[in->rs2]))
        return h->pc;
    return pc + in->len;
}

uint64_t rv_exec_fsd(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    if (fp_off(h, in) || !rv_store_u64(h, h->x[in->rs1] + (uint64_t)(int64_t)in->imm, h->f[in->rs2]))
        return h->pc;
    return pc + in->len;
}

#define FP_PROLOGUE(rm)                                                               \
    unsigned rm, flags = 0;                                                           \
    if (fp_off(h, in) || !get_rm(h, in, &rm))                                         \
        return h->pc;

/* Binary arithmetic with rounding. */
#define DEF_FP_BIN(name, fn, get, set)                                                \
    uint64_t rv_exec_##name(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)                  \
    {                                                                                 \
        FP_PROLOGUE(rm)                                                               \
        set(h, in->rd, fn(get(h, in->rs1), get(h, in->rs2), rm, &flags));             \
        accrue(h, flags);                                                             \
        return pc + in->len;                                                             \
    }

#define F64(h, r) ((h)->f[r])

DEF_FP_BIN(fadd_s, rv_f32_add, f32_reg, set_f32)
DEF_FP_BIN(fsub_s, rv_f32_sub, f32_reg, set_f32)
DEF_FP_BIN(fmul_s, rv_f32_mul, f32_reg, set_f32)
DEF_FP_BIN(fdiv_s, rv_f32_div, f32_reg, set_f32)
DEF_FP_BIN(fadd_d, rv_f64_add, F64, set_f64)
DEF_FP_BIN(fsub_d, rv_f64_sub, F64, set_f64)
DEF_FP_BIN(fmul_d, rv_f64_mul, F64, set_f64)
DEF_FP_BIN(fdiv_d, rv_f64_div, F64, set_f64)

uint64_t rv_exec_fsqrt_s(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    FP_PROLOGUE(rm)
    set_f32(h, in->rd, rv_f32_sqrt(f32_reg(h, in->rs1), rm, &flags));
    accrue(h, flags);
    return pc + in->len;
}

uint64_t rv_exec_fsqrt_d(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    FP_PROLOGUE(rm)
    set_f64(h, in->rd, rv_f64_sqrt(h->f[in->rs1], rm, &flags));
    accrue(h, flags);
    return pc + in->len;
}

#define DEF_FP_FMA(name, fn, get, set, neg_prod, neg_add)                             \
    uint64_t rv_exec_##name(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)                  \
    {                                                                                 \
        FP_PROLOGUE(rm)                                                               \
        unsigned rs3 = ((unsigned)in->imm >> 8) & 31;                                 \
        set(h, in->rd,                                                                \
            fn(get(h, in->rs1), get(h, in->rs2), get(h, rs3), neg_prod, neg_add, rm,  \
               &flags));                                                              \
        accrue(h, flags);                                                             \
        return pc + in->len;                                                             \
    }

DEF_FP_FMA(fmadd_s, rv_f32_muladd, f32_reg, set_f32, false, false)
DEF_FP_FMA(fmsub_s, rv_f32_muladd, f32_reg, set_f32, false, true)
DEF_FP_FMA(fnmsub_s, rv_f32_muladd, f32_reg, set_f32, true, false)
DEF_FP_FMA(fnmadd_s, rv_f32_muladd, f32_reg, set_f32, true, true)
DEF_FP_FMA(fmadd_d, rv_f64_muladd, F64, set_f64, false, false)
DEF_FP_FMA(fmsub_d, rv_f64_muladd, F64, set_f64, false, true)
DEF_FP_FMA(fnmsub_d, rv_f64_muladd, F64, set_f64, true, false)
DEF_FP_FMA(fnmadd_d, rv_f64_muladd, F64, set_f64, true, true)

/* Sign injection: pure bit operations, no flags. */
#define DEF_FP_SGNJ(name, type, get, set, signbit, expr)                              \
    uint64_t rv_exec_##name(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)                  \
    {                                                                                 \
        if (fp_off(h, in))                                                            \
            return h->pc;                                                                   \
        type a = get(h, in->rs1), b = get(h, in->rs2);                                \
        type s = (expr) & (signbit);                                                  \
        set(h, in->rd, (a & ~(signbit)) | s);                                         \
        return pc + in->len;                                                             \
    }

DEF_FP_SGNJ(fsgnj_s, uint32_t, f32_reg, set_f32, 0x80000000u, b)
DEF_FP_SGNJ(fsgnjn_s, uint32_t, f32_reg, set_f32, 0x80000000u, ~b)
DEF_FP_SGNJ(fsgnjx_s, uint32_t, f32_reg, set_f32, 0x80000000u, a ^ b)
DEF_FP_SGNJ(fsgnj_d, uint64_t, F64, set_f64, 1ull << 63, b)
DEF_FP_SGNJ(fsgnjn_d, uint64_t, F64, set_f64, 1ull << 63, ~b)
DEF_FP_SGNJ(fsgnjx_d, uint64_t, F64, set_f64, 1ull << 63, a ^ b)

#define DEF_FP_NORM(name, fn, get, set)                                               \
    uint64_t rv_exec_##name(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)                  \
    {                                                                                 \
        unsigned flags = 0;                                                           \
        if (fp_off(h, in))                                                            \
            return h->pc;                                                                   \
        set(h, in->rd, fn(get(h, in->rs1), get(h, in->rs2), &flags));                 \
        accrue(h, flags);                                                             \
        return pc + in->len;                                                             \
    }

DEF_FP_NORM(fmin_s, rv_f32_min, f32_reg, set_f32)
DEF_FP_NORM(fmax_s, rv_f32_max, f32_reg, set_f32)
DEF_FP_NORM(fmin_d, rv_f64_min, F64, set_f64)
DEF_FP_NORM(fmax_d, rv_f64_max, F64, set_f64)

#define DEF_FP_CMP(name, fn, get)                                                     \
    uint64_t rv_exec_##name(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)                  \
    {                                                                                 \
        unsigned flags = 0;                                                           \
        if (fp_off(h, in))                                                            \
            return h->pc;                                                                   \
        rv_set_x(h, in->rd, fn(get(h, in->rs1), get(h, in->rs2), &flags) ? 1 : 0);    \
        accrue(h, flags);                                                             \
        return pc + in->len;                                                             \
    }

DEF_FP_CMP(feq_s, rv_f32_eq, f32_reg)
DEF_FP_CMP(flt_s, rv_f32_lt, f32_reg)
DEF_FP_CMP(fle_s, rv_f32_le, f32_reg)
DEF_FP_CMP(feq_d, rv_f64_eq, F64)
DEF_FP_CMP(flt_d, rv_f64_lt, F64)
DEF_FP_CMP(fle_d, rv_f64_le, F64)

uint64_t rv_exec_fcvt_s_d(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    FP_PROLOGUE(rm)
    set_f32(h, in->rd, rv_f64_to_f32(h->f[in->rs1], rm, &flags));
    accrue(h, flags);
    return pc + in->len;
}

uint64_t rv_exec_fcvt_d_s(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    FP_PROLOGUE(rm)
    (void)rm;
    set_f64(h, in->rd, rv_f32_to_f64(f32_reg(h, in->rs1), &flags));
    accrue(h, flags);
    return pc + in->len;
}

/* Float to integer: 32-bit results are sign-extended into rd. */
#define DEF_FP_TO_INT(name, fn, get, conv)                                            \
    uint64_t rv_exec_##name(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)                  \
    {                                                                                 \
        FP_PROLOGUE(rm)                                                               \
        rv_set_x(h, in->rd, conv(fn(get(h, in->rs1), rm, &flags)));                   \
        accrue(h, flags);                                                             \
        return pc + in->len;                                                             \
    }

#define SEXT32(v) rv_sext32((uint32_t)(v))
#define AS_U64(v) ((uint64_t)(v))

DEF_FP_TO_INT(fcvt_w_s, rv_f32_to_i32, f32_reg, SEXT32)
DEF_FP_TO_INT(fcvt_wu_s, rv_f32_to_u32, f32_reg, SEXT32)
DEF_FP_TO_INT(fcvt_l_s, rv_f32_to_i64, f32_reg, AS_U64)
DEF_FP_TO_INT(fcvt_lu_s, rv_f32_to_u64, f32_reg, AS_U64)
DEF_FP_TO_INT(fcvt_w_d, rv_f64_to_i32, F64, SEXT32)
DEF_FP_TO_INT(fcvt_wu_d, rv_f64_to_u32, F64, SEXT32)
DEF_FP_TO_INT(fcvt_l_d, rv_f64_to_i64, F64, AS_U64)
DEF_FP_TO_INT(fcvt_lu_d, rv_f64_to_u64, F64, AS_U64)

#define DEF_INT_TO_FP(name, fn, type, set)                                            \
    uint64_t rv_exec_##name(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)                  \
    {                                                                                 \
        FP_PROLOGUE(rm)                                                               \
        set(h, in->rd, fn((type)h->x[in->rs1], rm, &flags));                          \
        accrue(h, flags);                                                             \
        return pc + in->len;                                                             \
    }

DEF_INT_TO_FP(fcvt_s_w, rv_i32_to_f32, int32_t, set_f32)
DEF_INT_TO_FP(fcvt_s_wu, rv_u32_to_f32, uint32_t, set_f32)
DEF_INT_TO_FP(fcvt_s_l, rv_i64_to_f32, int64_t, set_f32)
DEF_INT_TO_FP(fcvt_s_lu, rv_u64_to_f32, uint64_t, set_f32)
DEF_INT_TO_FP(fcvt_d_w, rv_i32_to_f64, int32_t, set_f64)
DEF_INT_TO_FP(fcvt_d_wu, rv_u32_to_f64, uint32_t, set_f64)
DEF_INT_TO_FP(fcvt_d_l, rv_i64_to_f64, int64_t, set_f64)
DEF_INT_TO_FP(fcvt_d_lu, rv_u64_to_f64, uint64_t, set_f64)

uint64_t rv_exec_fmv_x_w(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    if (fp_off(h, in))
        return h->pc;
    /* Moves the raw low bits, boxed or not. */
    rv_set_x(h, in->rd, rv_sext32((uint32_t)h->f[in->rs1]));
    return pc + in->len;
}

uint64_t rv_exec_fmv_x_d(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    if (fp_off(h, in))
        return h->pc;
    rv_set_x(h, in->rd, h->f[in->rs1]);
    return pc + in->len;
}

uint64_t rv_exec_fmv_w_x(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    if (fp_off(h, in))
        return h->pc;
    set_f32(h, in->rd, (uint32_t)h->x[in->rs1]);
    return pc + in->len;
}

uint64_t rv_exec_fmv_d_x(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    if (fp_off(h, in))
        return h->pc;
    set_f64(h, in->rd, h->x[in->rs1]);
    return pc + in->len;
}

uint64_t rv_exec_fclass_s(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    if (fp_off(h, in))
        return h->pc;
    rv_set_x(h, in->rd, rv_f32_classify(f32_reg(h, in->rs1)));
    return pc + in->len;
}

uint64_t rv_exec_fclass_d(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    if (fp_off(h, in))
        return h->pc;
    rv_set_x(h, in->rd, rv_f64_classify(h->f[in->rs1]));
    return pc + in->len;
}
