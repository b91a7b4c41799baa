/* SPDX-License-Identifier: MIT */
/*
 * Operand generator and operation table shared by the reference-vector
 * generator (refprog.c, run bare-metal under qemu-system-riscv64) and by
 * fpu_test.c. Both sides derive operand tuple `idx` of operation `op` from
 * the same seed, so vectors.txt stores only results and flags; a per-op
 * checksum of the operands guards against the two sides drifting apart.
 *
 * Integer-only code: it must produce identical bits on any host.
 */
#ifndef MQ_CPU_RISCV_FPU_REF_REFGEN_H
#define MQ_CPU_RISCV_FPU_REF_REFGEN_H

#include <stdbool.h>
#include <stdint.h>

/* Operand/result types. */
enum rg_type { RG_F32, RG_F64, RG_I32, RG_U32, RG_I64, RG_U64, RG_BOOL, RG_CLASS };

struct rg_op {
    const char *name;   /* RISC-V mnemonic */
    uint8_t nargs;
    uint8_t arg;        /* enum rg_type of every operand */
    uint8_t res;        /* enum rg_type of the result */
    uint8_t has_rm;     /* run under all five rounding modes */
};

#define RG_OPS(X)                                                           \
    X(FADD_S, "fadd.s", 2, RG_F32, RG_F32, 1)                               \
    X(FSUB_S, "fsub.s", 2, RG_F32, RG_F32, 1)                               \
    X(FMUL_S, "fmul.s", 2, RG_F32, RG_F32, 1)                               \
    X(FDIV_S, "fdiv.s", 2, RG_F32, RG_F32, 1)                               \
    X(FSQRT_S, "fsqrt.s", 1, RG_F32, RG_F32, 1)                             \
    X(FMADD_S, "fmadd.s", 3, RG_F32, RG_F32, 1)                             \
    X(FMSUB_S, "fmsub.s", 3, RG_F32, RG_F32, 1)                             \
    X(FNMSUB_S, "fnmsub.s", 3, RG_F32, RG_F32, 1)                           \
    X(FNMADD_S, "fnmadd.s", 3, RG_F32, RG_F32, 1)                           \
    X(FMIN_S, "fmin.s", 2, RG_F32, RG_F32, 0)                               \
    X(FMAX_S, "fmax.s", 2, RG_F32, RG_F32, 0)                               \
    X(FEQ_S, "feq.s", 2, RG_F32, RG_BOOL, 0)                                \
    X(FLT_S, "flt.s", 2, RG_F32, RG_BOOL, 0)                                \
    X(FLE_S, "fle.s", 2, RG_F32, RG_BOOL, 0)                                \
    X(FCLASS_S, "fclass.s", 1, RG_F32, RG_CLASS, 0)                         \
    X(FCVT_W_S, "fcvt.w.s", 1, RG_F32, RG_I32, 1)                           \
    X(FCVT_WU_S, "fcvt.wu.s", 1, RG_F32, RG_U32, 1)                         \
    X(FCVT_L_S, "fcvt.l.s", 1, RG_F32, RG_I64, 1)                           \
    X(FCVT_LU_S, "fcvt.lu.s", 1, RG_F32, RG_U64, 1)                         \
    X(FCVT_S_W, "fcvt.s.w", 1, RG_I32, RG_F32, 1)                           \
    X(FCVT_S_WU, "fcvt.s.wu", 1, RG_U32, RG_F32, 1)                         \
    X(FCVT_S_L, "fcvt.s.l", 1, RG_I64, RG_F32, 1)                           \
    X(FCVT_S_LU, "fcvt.s.lu", 1, RG_U64, RG_F32, 1)                         \
    X(FCVT_D_S, "fcvt.d.s", 1, RG_F32, RG_F64, 0)                           \
    X(FADD_D, "fadd.d", 2, RG_F64, RG_F64, 1)                               \
    X(FSUB_D, "fsub.d", 2, RG_F64, RG_F64, 1)                               \
    X(FMUL_D, "fmul.d", 2, RG_F64, RG_F64, 1)                               \
    X(FDIV_D, "fdiv.d", 2, RG_F64, RG_F64, 1)                               \
    X(FSQRT_D, "fsqrt.d", 1, RG_F64, RG_F64, 1)                             \
    X(FMADD_D, "fmadd.d", 3, RG_F64, RG_F64, 1)                             \
    X(FMSUB_D, "fmsub.d", 3, RG_F64, RG_F64, 1)                             \
    X(FNMSUB_D, "fnmsub.d", 3, RG_F64, RG_F64, 1)                           \
    X(FNMADD_D, "fnmadd.d", 3, RG_F64, RG_F64, 1)                           \
    X(FMIN_D, "fmin.d", 2, RG_F64, RG_F64, 0)                               \
    X(FMAX_D, "fmax.d", 2, RG_F64, RG_F64, 0)                               \
    X(FEQ_D, "feq.d", 2, RG_F64, RG_BOOL, 0)                                \
    X(FLT_D, "flt.d", 2, RG_F64, RG_BOOL, 0)                                \
    X(FLE_D, "fle.d", 2, RG_F64, RG_BOOL, 0)                                \
    X(FCLASS_D, "fclass.d", 1, RG_F64, RG_CLASS, 0)                         \
    X(FCVT_W_D, "fcvt.w.d", 1, RG_F64, RG_I32, 1)                           \
    X(FCVT_WU_D, "fcvt.wu.d", 1, RG_F64, RG_U32, 1)                         \
    X(FCVT_L_D, "fcvt.l.d", 1, RG_F64, RG_I64, 1)                           \
    X(FCVT_LU_D, "fcvt.lu.d", 1, RG_F64, RG_U64, 1)                         \
    X(FCVT_D_W, "fcvt.d.w", 1, RG_I32, RG_F64, 1)                           \
    X(FCVT_D_WU, "fcvt.d.wu", 1, RG_U32, RG_F64, 1)                         \
    X(FCVT_D_L, "fcvt.d.l", 1, RG_I64, RG_F64, 1)                           \
    X(FCVT_D_LU, "fcvt.d.lu", 1, RG_U64, RG_F64, 1)                         \
    X(FCVT_S_D, "fcvt.s.d", 1, RG_F64, RG_F32, 1)

#define RG_ENUM(id, name, n, arg, res, rm) RG_##id,
enum rg_op_id { RG_OPS(RG_ENUM) RG_NUM_OPS };
#undef RG_ENUM

#define RG_ENTRY(id, name, n, arg, res, rm) { name, n, arg, res, rm },
static const struct rg_op rg_ops[RG_NUM_OPS] = { RG_OPS(RG_ENTRY) };
#undef RG_ENTRY

/* Operand tuples per operation (each under five modes when has_rm). */
#define RG_TUPLES 2000

struct rg_rng {
    uint64_t s;
};

/* splitmix64 */
static inline uint64_t rg_next(struct rg_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline unsigned rg_below(struct rg_rng *r, unsigned n)
{
    return (unsigned)(rg_next(r) % n);
}

/* A value of a binary format with `mb` mantissa and `eb` exponent bits,
 * biased towards the places where arithmetic gets interesting. */
static inline uint64_t rg_float(struct rg_rng *r, unsigned mb, unsigned eb)
{
    uint64_t emax = (1ull << eb) - 1, mmask = (1ull << mb) - 1;
    uint64_t bias = emax >> 1;
    uint64_t sign = (rg_next(r) & 1) << (mb + eb);
    uint64_t m = rg_next(r) & mmask, e;
    unsigned k;

    switch (rg_below(r, 20)) {
    case 0:
        return sign;
    case 1:
        return sign | (emax << mb);
    case 2: /* quiet NaN, sometimes canonical */
        m = (rg_next(r) & 1) ? 0 : m;
        return sign | (emax << mb) | (1ull << (mb - 1)) | m;
    case 3: /* signaling NaN */
        m &= mmask >> 1;
        return sign | (emax << mb) | (m ? m : 1);
    case 4: /* subnormal */
        return sign | (m ? m : 1);
    case 5: /* extreme subnormals */
        k = rg_below(r, 4);
        m = k == 0 ? 1 : k == 1 ? mmask : k == 2 ? (1ull << (mb - 1)) : (m >> rg_below(r, mb));
        return sign | (m ? m : 1);
    case 6: /* around the smallest normal */
        e = rg_below(r, 3);
        return sign | (e << mb) | (e == 1 ? (m & 0xf) : (mmask - (m & 0xf)));
    case 7: /* around the largest finite */
        e = emax - 1 - rg_below(r, 2);
        return sign | (e << mb) | (mmask - (m & 0xf));
    case 8: /* near 1 */
        e = bias - 3 + rg_below(r, 7);
        return sign | (e << mb) | m;
    case 9: /* short mantissa: exact results and ties */
        k = rg_below(r, mb + 1);
        m = k == mb ? 0 : (m >> k) << k;
        e = bias - 20 + rg_below(r, 41);
        return sign | (e << mb) | m;
    case 10: /* integer-ish: exponent in [-2, 66], fraction pattern */
    case 11: {
        static const uint8_t hot[] = { 0, 1, 22, 23, 24, 30, 31, 32, 52, 53, 62, 63, 64 };
        int ue = (rg_next(r) & 1) ? hot[rg_below(r, sizeof(hot))] : (int)rg_below(r, 69) - 2;
        e = bias + (uint64_t)ue;
        if (ue >= 0 && (unsigned)ue < mb) {
            unsigned fb = mb - (unsigned)ue; /* fraction bits */
            uint64_t fmask = (1ull << fb) - 1, half = 1ull << (fb - 1);
            switch (rg_below(r, 5)) {
            case 0: m &= ~fmask; break;
            case 1: m = (m & ~fmask) | half; break;
            case 2: m = (m & ~fmask) | (half + 1); break;
            case 3: m = (m & ~fmask) | (half - 1); break;
            default: break;
            }
        }
        if (ue >= 30 && rg_below(r, 2))
            m = rg_below(r, 2) ? mmask - rg_below(r, 3) : rg_below(r, 3);
        return sign | (e << mb) | m;
    }
    case 12: /* near overflow */
        e = emax - 1 - rg_below(r, 4);
        return sign | (e << mb) | m;
    case 13: /* near underflow */
        e = 1 + rg_below(r, 4);
        return sign | (e << mb) | m;
    default: /* anything finite and normal */
        e = 1 + rg_next(r) % (emax - 1);
        return sign | (e << mb) | m;
    }
}

/* An integer, biased to extremes and to values that round with ties. */
static inline uint64_t rg_int(struct rg_rng *r)
{
    uint64_t v = rg_next(r);
    unsigned k = rg_below(r, 64);

    switch (rg_below(r, 8)) {
    case 0: { /* extremes of every integer type, +-1 */
        static const uint64_t ext[] = {
            0, 1, ~0ull, 0x7fffffffull, 0x80000000ull, 0xffffffffull,
            0xffffffff80000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull,
        };
        return ext[rg_below(r, sizeof(ext) / sizeof(ext[0]))] + rg_below(r, 3) - 1;
    }
    case 1: /* powers of two +- small */
        return (1ull << k) + rg_below(r, 5) - 2;
    case 2:
    case 3: { /* ties (and near-ties) at 24 or 53 bits of precision */
        unsigned p = rg_below(r, 2) ? 24 : 53;
        unsigned len = p + 1 + rg_below(r, 64 - p);
        uint64_t top = len == 64 ? v : (v & ((1ull << len) - 1)) | (1ull << (len - 1));
        unsigned below = len - p; /* bits below the rounding point */
        uint64_t half = 1ull << (below - 1);
        top &= ~((half << 1) - 1);
        uint64_t tail = rg_below(r, 3) == 0 ? (v % half) : 0;
        return top | half | (rg_below(r, 2) ? tail : 0);
    }
    case 4: /* short value */
        return v >> (64 - (k ? k : 1));
    case 5: /* short negative */
        return -(v >> (64 - (k ? k : 1)));
    default:
        return v >> rg_below(r, 40);
    }
}

static inline uint64_t rg_operand(struct rg_rng *r, enum rg_type t)
{
    switch (t) {
    case RG_F32:
        return rg_float(r, 23, 8);
    case RG_F64:
        return rg_float(r, 52, 11);
    case RG_I32:
    case RG_U32:
        return (uint32_t)rg_int(r);
    default:
        return rg_int(r);
    }
}

/*
 * Derive operand tuple idx of op: the first operand is random; later ones
 * are often tied to it (equal, negated, a few ulps apart, shifted exponent,
 * or for fused multiply-add an addend near the product) to hit cancellation
 * and ties.
 */
static inline void rg_tuple(unsigned op, unsigned idx, uint64_t v[3])
{
    const struct rg_op *o = &rg_ops[op];
    struct rg_rng r = { ((uint64_t)op << 32 | idx) * 0xd1342543de82ef95ull + 12345 };
    bool f64 = o->arg == RG_F64;
    unsigned mb = f64 ? 52 : 23, eb = f64 ? 11 : 8;
    uint64_t sign = 1ull << (mb + eb), emask = ((1ull << eb) - 1) << mb;

    for (unsigned i = 0; i < 3; i++)
        v[i] = i < o->nargs ? rg_operand(&r, (enum rg_type)o->arg) : 0;
    if (o->arg != RG_F32 && o->arg != RG_F64)
        return;
    if (o->nargs >= 2) {
        switch (rg_below(&r, 10)) {
        case 0: v[1] = v[0]; break;
        case 1: v[1] = v[0] ^ sign; break;
        case 2: v[1] = v[0] + rg_below(&r, 5) - 2; break;
        case 3: v[1] = (v[0] ^ sign) + rg_below(&r, 5) - 2; break;
        case 4: { /* same binade or a few binades apart */
            int64_t e = (int64_t)((v[0] & emask) >> mb) + (int64_t)rg_below(&r, 2 * mb + 7) - (int64_t)mb - 3;
            if (e > 0 && e < (int64_t)(emask >> mb))
                v[1] = (v[1] & ~emask) | ((uint64_t)e << mb);
            break;
        }
        default: break;
        }
    }
    if (o->nargs == 3 && rg_below(&r, 2)) {
        /* Addend of magnitude close to the product, often opposite sign. */
        int64_t bias = (int64_t)(emask >> (mb + 1));
        int64_t e = (int64_t)((v[0] & emask) >> mb) + (int64_t)((v[1] & emask) >> mb) - bias + (int64_t)rg_below(&r, 5) - 2;
        if (e > 0 && e < (int64_t)(emask >> mb))
            v[2] = (v[2] & ~emask) | ((uint64_t)e << mb);
        uint64_t psign = (v[0] ^ v[1]) & sign;
        if (rg_below(&r, 4))
            v[2] = (v[2] & ~sign) | (psign ^ ((op == RG_FMADD_S || op == RG_FMADD_D || op == RG_FNMADD_S || op == RG_FNMADD_D) ? sign : 0));
        if (rg_below(&r, 3) == 0) /* same mantissa as the first factor */
            v[2] = (v[2] & ~((1ull << mb) - 1)) | (v[0] & ((1ull << mb) - 1));
    }
}

/* FNV-1a over the operand tuples of one op. */
static inline uint64_t rg_checksum_step(uint64_t h, const uint64_t v[3])
{
    for (unsigned i = 0; i < 3; i++)
        for (unsigned b = 0; b < 64; b += 8)
            h = (h ^ ((v[i] >> b) & 0xff)) * 0x100000001b3ull;
    return h;
}

#define RG_CHECKSUM_INIT 0xcbf29ce484222325ull

#endif
