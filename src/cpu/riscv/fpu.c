/* SPDX-License-Identifier: MIT */
/*
 * IEEE 754 binary32/binary64 arithmetic with RISC-V semantics (unprivileged
 * spec, "F" and "D" chapters; IEEE 754-2019 sections 4, 5 and 7).
 *
 * The software path is format-generic: an operand is unpacked into sign,
 * unbiased exponent and a 64-bit significand normalised so that bit 62 is
 * the leading one (value = sig * 2^(exp - 62)). Wide intermediates use
 * unsigned __int128, and everything below the rounding position is kept as
 * a sticky ("jammed") low bit, so each operation rounds exactly once in
 * fp_round_pack(). The host fast path sits in front of it (see fpu.h).
 */
#include "cpu/riscv/fpu.h"
#include "cpu/riscv/fpu_host.h"

#include <string.h>

/*
 * The host fast path needs host arithmetic that is plain binary32/binary64
 * with no excess precision (x87 would round twice): SSE2 math on x86-64,
 * or AArch64.
 */
typedef unsigned __int128 u128;

struct fp_fmt {
    unsigned mbits; /* stored mantissa bits */
    unsigned ebits; /* exponent field bits */
    int bias;
};

static const struct fp_fmt FMT32 = { 23, 8, 127 };
static const struct fp_fmt FMT64 = { 52, 11, 1023 };

enum fp_class { FP_ZERO, FP_FINITE, FP_INF, FP_QNAN, FP_SNAN };

struct fp_unp {
    enum fp_class cls;
    bool sign;
    int32_t exp; /* unbiased; for FP_FINITE only */
    uint64_t sig; /* bit 62 set; for FP_FINITE only */
};

/* ---- bit-level helpers ------------------------------------------------ */

static inline uint64_t fp_sign_bit(const struct fp_fmt *f)
{
    return 1ull << (f->mbits + f->ebits);
}

static inline uint64_t fp_emask(const struct fp_fmt *f)
{
    return (1ull << f->ebits) - 1;
}

static inline uint64_t fp_mmask(const struct fp_fmt *f)
{
    return (1ull << f->mbits) - 1;
}

static inline uint64_t fp_default_nan(const struct fp_fmt *f)
{
    return (fp_emask(f) << f->mbits) | (1ull << (f->mbits - 1));
}

static inline uint64_t fp_inf(const struct fp_fmt *f, bool sign)
{
    return (sign ? fp_sign_bit(f) : 0) | (fp_emask(f) << f->mbits);
}

static inline uint64_t fp_zero(const struct fp_fmt *f, bool sign)
{
    return sign ? fp_sign_bit(f) : 0;
}

static inline bool fp_is_nan(const struct fp_fmt *f, uint64_t a)
{
    uint64_t mag = a & (fp_sign_bit(f) - 1);
    return mag > (fp_emask(f) << f->mbits);
}

static inline bool fp_is_snan(const struct fp_fmt *f, uint64_t a)
{
    return fp_is_nan(f, a) && !((a >> (f->mbits - 1)) & 1);
}

/* x >> n, ORing every bit shifted out into bit 0 (n may exceed 63). */
static inline uint64_t shr_jam64(uint64_t x, unsigned n)
{
    if (n == 0)
        return x;
    if (n >= 64)
        return x != 0;
    return (x >> n) | ((x << (64 - n)) != 0);
}

static inline u128 shr_jam128(u128 x, unsigned n)
{
    if (n == 0)
        return x;
    if (n >= 128)
        return x != 0;
    return (x >> n) | ((x << (128 - n)) != 0);
}

static inline unsigned clz128(u128 x)
{
    uint64_t hi = (uint64_t)(x >> 64);
    return hi ? (unsigned)__builtin_clzll(hi)
              : 64 + (unsigned)__builtin_clzll((uint64_t)x);
}

static struct fp_unp fp_unpack(const struct fp_fmt *f, uint64_t a)
{
    struct fp_unp u = { .sign = (a & fp_sign_bit(f)) != 0 };
    uint64_t e = (a >> f->mbits) & fp_emask(f);
    uint64_t m = a & fp_mmask(f);

    if (e == fp_emask(f)) {
        if (m == 0)
            u.cls = FP_INF;
        else
            u.cls = (m >> (f->mbits - 1)) ? FP_QNAN : FP_SNAN;
        return u;
    }
    if (e == 0) {
        if (m == 0) {
            u.cls = FP_ZERO;
            return u;
        }
        unsigned sh = (unsigned)__builtin_clzll(m) - 1;
        u.cls = FP_FINITE;
        u.sig = m << sh;
        u.exp = 1 - f->bias - (int32_t)(sh - (62 - f->mbits));
        return u;
    }
    u.cls = FP_FINITE;
    u.sig = (m | (1ull << f->mbits)) << (62 - f->mbits);
    u.exp = (int32_t)e - f->bias;
    return u;
}

/*
 * Drop the low `drop` bits of sig (1 <= drop <= 63) under rounding mode rm.
 * Returns the rounded quotient (may carry into a new top bit).
 */
static inline uint64_t fp_round_bits(uint64_t sig, unsigned drop, bool sign,
                                     unsigned rm, bool *inexact)
{
    uint64_t q = sig >> drop;
    uint64_t rem = sig & ((1ull << drop) - 1);
    uint64_t half = 1ull << (drop - 1);
    bool inc;

    *inexact = rem != 0;
    if (rem == 0)
        return q;
    switch (rm) {
    case RV_RM_RNE:
        inc = rem > half || (rem == half && (q & 1));
        break;
    case RV_RM_RDN:
        inc = sign;
        break;
    case RV_RM_RUP:
        inc = !sign;
        break;
    case RV_RM_RMM:
        inc = rem >= half;
        break;
    default: /* RV_RM_RTZ */
        inc = false;
        break;
    }
    return q + inc;
}

static uint64_t fp_overflow(const struct fp_fmt *f, bool sign, unsigned rm,
                            unsigned *flags)
{
    *flags |= RV_FFLAG_OF | RV_FFLAG_NX;
    bool to_max = rm == RV_RM_RTZ || (rm == RV_RM_RDN && !sign) ||
                  (rm == RV_RM_RUP && sign);
    if (to_max)
        return fp_inf(f, sign) - 1;
    return fp_inf(f, sign);
}

/*
 * Round sign * sig * 2^(exp - 62) (sig has bit 62 set; bits below the
 * format's precision act as guard/sticky bits) into format f.
 */
static uint64_t fp_round_pack(const struct fp_fmt *f, bool sign, int32_t exp,
                              uint64_t sig, unsigned rm, unsigned *flags)
{
    const int32_t emin = 1 - f->bias;
    const unsigned drop = 62 - f->mbits;
    uint64_t sbit = sign ? fp_sign_bit(f) : 0;
    bool inexact;
    uint64_t m;

    if (exp < emin) {
        /* Tiny after rounding unless rounding to full precision with an
         * unbounded exponent carries up to 2^emin. */
        bool tiny = true;
        if (exp == emin - 1) {
            bool dummy;
            m = fp_round_bits(sig, drop, sign, rm, &dummy);
            tiny = (m >> (f->mbits + 1)) == 0;
        }
        sig = shr_jam64(sig, (unsigned)(emin - exp));
        m = fp_round_bits(sig, drop, sign, rm, &inexact);
        if (inexact)
            *flags |= RV_FFLAG_NX | (tiny ? RV_FFLAG_UF : 0);
        /* m == 2^mbits carries into the exponent field: smallest normal. */
        return sbit | m;
    }
    m = fp_round_bits(sig, drop, sign, rm, &inexact);
    if (m >> (f->mbits + 1)) {
        m >>= 1;
        exp++;
    }
    if (exp > f->bias)
        return fp_overflow(f, sign, rm, flags);
    if (inexact)
        *flags |= RV_FFLAG_NX;
    return sbit | ((uint64_t)(exp + f->bias) << f->mbits) | (m & fp_mmask(f));
}

/* Round sign * x * 2^lsb_exp (x != 0) into format f. */
static uint64_t fp_round_pack128(const struct fp_fmt *f, bool sign,
                                 int32_t lsb_exp, u128 x, unsigned rm,
                                 unsigned *flags)
{
    unsigned top = 127 - clz128(x);
    uint64_t sig;

    if (top > 62)
        sig = (uint64_t)shr_jam128(x, top - 62);
    else
        sig = (uint64_t)x << (62 - top);
    return fp_round_pack(f, sign, lsb_exp + (int32_t)top, sig, rm, flags);
}

/* NaN result of a two- or three-operand operation: NV if any is signaling. */
static uint64_t fp_nan_result(const struct fp_fmt *f, const struct fp_unp *u,
                              unsigned n, unsigned *flags)
{
    for (unsigned i = 0; i < n; i++)
        if (u[i].cls == FP_SNAN)
            *flags |= RV_FFLAG_NV;
    return fp_default_nan(f);
}

static inline bool fp_cls_nan(enum fp_class c)
{
    return c == FP_QNAN || c == FP_SNAN;
}

static uint64_t fp_invalid(const struct fp_fmt *f, unsigned *flags)
{
    *flags |= RV_FFLAG_NV;
    return fp_default_nan(f);
}

/* Sign of an exact zero sum of two operands whose signs are sa and sb. */
static inline bool fp_zero_sum_sign(bool sa, bool sb, unsigned rm)
{
    return sa == sb ? sa : rm == RV_RM_RDN;
}

/* ---- software operations --------------------------------------------- */

static uint64_t fp_add(const struct fp_fmt *f, uint64_t a, uint64_t b,
                       bool negate_b, unsigned rm, unsigned *flags)
{
    struct fp_unp u[2] = { fp_unpack(f, a), fp_unpack(f, b) };
    struct fp_unp *x = &u[0], *y = &u[1];

    if (negate_b) {
        y->sign = !y->sign;
        b ^= fp_sign_bit(f);
    }
    if (fp_cls_nan(x->cls) || fp_cls_nan(y->cls))
        return fp_nan_result(f, u, 2, flags);
    if (x->cls == FP_INF) {
        if (y->cls == FP_INF && x->sign != y->sign)
            return fp_invalid(f, flags);
        return a;
    }
    if (y->cls == FP_INF)
        return b;
    if (y->cls == FP_ZERO) {
        if (x->cls == FP_ZERO)
            return fp_zero(f, fp_zero_sum_sign(x->sign, y->sign, rm));
        return a;
    }
    if (x->cls == FP_ZERO)
        return b;

    if (x->exp < y->exp) {
        struct fp_unp *t = x;
        x = y;
        y = t;
    }
    uint64_t ysig = shr_jam64(y->sig, (unsigned)(x->exp - y->exp));
    int32_t exp = x->exp;
    bool sign = x->sign;
    uint64_t s;

    if (x->sign == y->sign) {
        s = x->sig + ysig; /* < 2^64 */
        if (s >> 63) {
            s = shr_jam64(s, 1);
            exp++;
        }
    } else {
        if (x->sig >= ysig) {
            s = x->sig - ysig;
        } else {
            s = ysig - x->sig;
            sign = y->sign;
        }
        if (s == 0)
            return fp_zero(f, rm == RV_RM_RDN);
        unsigned sh = (unsigned)__builtin_clzll(s) - 1;
        s <<= sh;
        exp -= (int32_t)sh;
    }
    return fp_round_pack(f, sign, exp, s, rm, flags);
}

static uint64_t fp_mul(const struct fp_fmt *f, uint64_t a, uint64_t b,
                       unsigned rm, unsigned *flags)
{
    struct fp_unp u[2] = { fp_unpack(f, a), fp_unpack(f, b) };
    bool sign = u[0].sign != u[1].sign;

    if (fp_cls_nan(u[0].cls) || fp_cls_nan(u[1].cls))
        return fp_nan_result(f, u, 2, flags);
    if (u[0].cls == FP_INF || u[1].cls == FP_INF) {
        if (u[0].cls == FP_ZERO || u[1].cls == FP_ZERO)
            return fp_invalid(f, flags);
        return fp_inf(f, sign);
    }
    if (u[0].cls == FP_ZERO || u[1].cls == FP_ZERO)
        return fp_zero(f, sign);
    u128 p = (u128)u[0].sig * u[1].sig;
    return fp_round_pack128(f, sign, u[0].exp + u[1].exp - 124, p, rm, flags);
}

static uint64_t fp_div(const struct fp_fmt *f, uint64_t a, uint64_t b,
                       unsigned rm, unsigned *flags)
{
    struct fp_unp u[2] = { fp_unpack(f, a), fp_unpack(f, b) };
    bool sign = u[0].sign != u[1].sign;

    if (fp_cls_nan(u[0].cls) || fp_cls_nan(u[1].cls))
        return fp_nan_result(f, u, 2, flags);
    if (u[0].cls == FP_INF) {
        if (u[1].cls == FP_INF)
            return fp_invalid(f, flags);
        return fp_inf(f, sign);
    }
    if (u[1].cls == FP_INF)
        return fp_zero(f, sign);
    if (u[1].cls == FP_ZERO) {
        if (u[0].cls == FP_ZERO)
            return fp_invalid(f, flags);
        *flags |= RV_FFLAG_DZ;
        return fp_inf(f, sign);
    }
    if (u[0].cls == FP_ZERO)
        return fp_zero(f, sign);
    /* sig_a / sig_b lies in (1/2, 2); 64 extra quotient bits are plenty. */
    u128 num = (u128)u[0].sig << 64;
    u128 q = num / u[1].sig;
    bool rem = num - q * u[1].sig != 0;
    return fp_round_pack128(f, sign, u[0].exp - u[1].exp - 64, q | rem, rm,
                            flags);
}

/*
 * floor(sqrt(x)) for x in [2^124, 2^126); *rem_nz: remainder != 0.
 * The host square root of the top 64 bits is only an estimate (relative
 * error near 2^-52); one integer Newton step brings it to the floor or one
 * above, and the exact correction below settles it.
 */
static uint64_t isqrt128(u128 x, bool *rem_nz)
{
    double hi = (double)(uint64_t)(x >> 64);
    uint64_t r = (uint64_t)(host_sqrt64(hi) * 4294967296.0);

    r = (uint64_t)(((u128)r + (uint64_t)(x / r)) >> 1);
    while ((u128)r * r > x)
        r--;
    while ((u128)(r + 1) * (r + 1) <= x)
        r++;
    *rem_nz = (u128)r * r != x;
    return r;
}

static uint64_t fp_sqrt(const struct fp_fmt *f, uint64_t a, unsigned rm,
                        unsigned *flags)
{
    struct fp_unp u = fp_unpack(f, a);

    if (fp_cls_nan(u.cls))
        return fp_nan_result(f, &u, 1, flags);
    if (u.cls == FP_ZERO)
        return a;
    if (u.sign)
        return fp_invalid(f, flags);
    if (u.cls == FP_INF)
        return a;
    /* value = X * 2^(e2 - 124) with e2 even and X in [2^124, 2^126). */
    int32_t odd = u.exp & 1;
    int32_t e2 = u.exp - odd;
    u128 x = (u128)u.sig << (62 + odd);
    bool rem;
    uint64_t r = isqrt128(x, &rem);
    return fp_round_pack(f, false, e2 / 2, r | rem, rm, flags);
}

static uint64_t fp_muladd(const struct fp_fmt *f, uint64_t a, uint64_t b,
                          uint64_t c, bool neg_prod, bool neg_add,
                          unsigned rm, unsigned *flags)
{
    struct fp_unp u[3] = { fp_unpack(f, a), fp_unpack(f, b), fp_unpack(f, c) };
    bool psign = (u[0].sign != u[1].sign) != neg_prod;
    bool csign = u[2].sign != neg_add;
    bool pinf = u[0].cls == FP_INF || u[1].cls == FP_INF;
    bool pzero = u[0].cls == FP_ZERO || u[1].cls == FP_ZERO;

    /* inf * 0 is invalid even when c is a quiet NaN. */
    if (pinf && pzero)
        return fp_invalid(f, flags);
    if (fp_cls_nan(u[0].cls) || fp_cls_nan(u[1].cls) || fp_cls_nan(u[2].cls))
        return fp_nan_result(f, u, 3, flags);
    if (pinf) {
        if (u[2].cls == FP_INF && csign != psign)
            return fp_invalid(f, flags);
        return fp_inf(f, psign);
    }
    if (u[2].cls == FP_INF)
        return fp_inf(f, csign);
    if (pzero) {
        if (u[2].cls == FP_ZERO)
            return fp_zero(f, fp_zero_sum_sign(psign, csign, rm));
        return c ^ (neg_add ? fp_sign_bit(f) : 0);
    }

    /* Exact product: P * 2^(pexp - 124), P in [2^124, 2^126). */
    u128 p = (u128)u[0].sig * u[1].sig;
    int32_t pexp = u[0].exp + u[1].exp;
    if (u[2].cls == FP_ZERO)
        return fp_round_pack128(f, psign, pexp - 124, p, rm, flags);

    /* Addend on the same scale: C * 2^(cexp - 124), C in [2^124, 2^125). */
    u128 cc = (u128)u[2].sig << 62;
    int32_t exp;
    if (pexp >= u[2].exp) {
        cc = shr_jam128(cc, (unsigned)(pexp - u[2].exp));
        exp = pexp;
    } else {
        p = shr_jam128(p, (unsigned)(u[2].exp - pexp));
        exp = u[2].exp;
    }
    u128 s;
    bool sign = psign;
    if (psign == csign) {
        s = p + cc; /* < 2^127 */
    } else if (p >= cc) {
        s = p - cc;
    } else {
        s = cc - p;
        sign = csign;
    }
    if (s == 0)
        return fp_zero(f, rm == RV_RM_RDN);
    return fp_round_pack128(f, sign, exp - 124, s, rm, flags);
}

/* Order-preserving key for non-NaN values (-0 sorts just below +0). */
static inline uint64_t fp_order_key(const struct fp_fmt *f, uint64_t a)
{
    uint64_t top = fp_sign_bit(f);
    return (a & top) ? ~a & ((top << 1) - 1) : a | top;
}

static uint64_t fp_minmax(const struct fp_fmt *f, uint64_t a, uint64_t b,
                          bool want_max, unsigned *flags)
{
    bool an = fp_is_nan(f, a), bn = fp_is_nan(f, b);

    if (fp_is_snan(f, a) || fp_is_snan(f, b))
        *flags |= RV_FFLAG_NV;
    if (an && bn)
        return fp_default_nan(f);
    if (an)
        return b;
    if (bn)
        return a;
    bool a_less = fp_order_key(f, a) < fp_order_key(f, b);
    return a_less != want_max ? a : b;
}

static inline bool fp_both_zero(const struct fp_fmt *f, uint64_t a, uint64_t b)
{
    return ((a | b) & (fp_sign_bit(f) - 1)) == 0;
}

static bool fp_eq(const struct fp_fmt *f, uint64_t a, uint64_t b,
                  unsigned *flags)
{
    if (fp_is_nan(f, a) || fp_is_nan(f, b)) {
        if (fp_is_snan(f, a) || fp_is_snan(f, b))
            *flags |= RV_FFLAG_NV;
        return false;
    }
    return a == b || fp_both_zero(f, a, b);
}

static bool fp_lt(const struct fp_fmt *f, uint64_t a, uint64_t b,
                  bool or_equal, unsigned *flags)
{
    if (fp_is_nan(f, a) || fp_is_nan(f, b)) {
        *flags |= RV_FFLAG_NV;
        return false;
    }
    if (fp_both_zero(f, a, b))
        return or_equal;
    uint64_t ka = fp_order_key(f, a), kb = fp_order_key(f, b);
    return or_equal ? ka <= kb : ka < kb;
}

static unsigned fp_classify(const struct fp_fmt *f, uint64_t a)
{
    bool sign = (a & fp_sign_bit(f)) != 0;
    uint64_t e = (a >> f->mbits) & fp_emask(f);
    uint64_t m = a & fp_mmask(f);

    if (e == fp_emask(f)) {
        if (m == 0)
            return sign ? RV_FCLASS_NEG_INF : RV_FCLASS_POS_INF;
        return (m >> (f->mbits - 1)) ? RV_FCLASS_QNAN : RV_FCLASS_SNAN;
    }
    if (e == 0) {
        if (m == 0)
            return sign ? RV_FCLASS_NEG_ZERO : RV_FCLASS_POS_ZERO;
        return sign ? RV_FCLASS_NEG_SUBNORMAL : RV_FCLASS_POS_SUBNORMAL;
    }
    return sign ? RV_FCLASS_NEG_NORMAL : RV_FCLASS_POS_NORMAL;
}

/*
 * Float to integer of `width` bits. Returns the two's complement bit
 * pattern (the caller truncates to 32 bits where needed).
 */
static uint64_t fp_to_int(const struct fp_fmt *f, uint64_t a, bool is_signed,
                          unsigned width, unsigned rm, unsigned *flags)
{
    struct fp_unp u = fp_unpack(f, a);
    uint64_t max_pos, max_neg; /* largest magnitudes allowed */

    if (is_signed) {
        max_pos = (1ull << (width - 1)) - 1;
        max_neg = 1ull << (width - 1);
    } else {
        max_pos = width == 64 ? ~0ull : (1ull << width) - 1;
        max_neg = 0;
    }
    uint64_t sat_neg = is_signed ? -max_neg : 0;

    if (fp_cls_nan(u.cls)) {
        *flags |= RV_FFLAG_NV;
        return max_pos;
    }
    if (u.cls == FP_ZERO)
        return 0;
    if (u.cls == FP_INF) {
        *flags |= RV_FFLAG_NV;
        return u.sign ? sat_neg : max_pos;
    }

    /* Round |value| = sig * 2^(exp - 62) to an integer magnitude. */
    bool big = false, inexact = false;
    uint64_t mag;
    if (u.exp >= 64) {
        big = true;
        mag = 0;
    } else if (u.exp >= 62) {
        mag = u.sig << (u.exp - 62);
    } else if (u.exp >= -1) {
        mag = fp_round_bits(u.sig, (unsigned)(62 - u.exp), u.sign, rm,
                            &inexact);
    } else {
        /* |value| < 1/2: only directed rounding away from zero gives 1. */
        inexact = true;
        mag = (rm == RV_RM_RDN && u.sign) || (rm == RV_RM_RUP && !u.sign);
    }

    if (u.sign ? (big || mag > max_neg) : (big || mag > max_pos)) {
        *flags |= RV_FFLAG_NV;
        return u.sign ? sat_neg : max_pos;
    }
    if (inexact)
        *flags |= RV_FFLAG_NX;
    return u.sign ? -mag : mag;
}

static uint64_t fp_from_int(const struct fp_fmt *f, uint64_t mag, bool sign,
                            unsigned rm, unsigned *flags)
{
    if (mag == 0)
        return 0;
    return fp_round_pack128(f, sign, 0, mag, rm, flags);
}

/* Convert between formats (only FMT32 <-> FMT64). */
static uint64_t fp_convert(const struct fp_fmt *to, const struct fp_fmt *from,
                           uint64_t a, unsigned rm, unsigned *flags)
{
    struct fp_unp u = fp_unpack(from, a);

    switch (u.cls) {
    case FP_QNAN:
    case FP_SNAN:
        return fp_nan_result(to, &u, 1, flags);
    case FP_INF:
        return fp_inf(to, u.sign);
    case FP_ZERO:
        return fp_zero(to, u.sign);
    default:
        return fp_round_pack(to, u.sign, u.exp, u.sig, rm, flags);
    }
}

/* ---- public API ----------------------------------------------------------- */

uint32_t rv_f32_add(uint32_t a, uint32_t b, unsigned rm, unsigned *flags)
{
    FAST_TRY(uint32_t, rv_fpu_fast_f32_add(a, b, &fast_r, flags));
    return (uint32_t)fp_add(&FMT32, a, b, false, rm, flags);
}

uint32_t rv_f32_sub(uint32_t a, uint32_t b, unsigned rm, unsigned *flags)
{
    FAST_TRY(uint32_t, rv_fpu_fast_f32_add(a, b ^ 0x80000000u, &fast_r, flags));
    return (uint32_t)fp_add(&FMT32, a, b, true, rm, flags);
}

uint32_t rv_f32_mul(uint32_t a, uint32_t b, unsigned rm, unsigned *flags)
{
    FAST_TRY(uint32_t, rv_fpu_fast_f32_mul(a, b, &fast_r, flags));
    return (uint32_t)fp_mul(&FMT32, a, b, rm, flags);
}

uint32_t rv_f32_div(uint32_t a, uint32_t b, unsigned rm, unsigned *flags)
{
    FAST_TRY(uint32_t, rv_fpu_fast_f32_div(a, b, &fast_r, flags));
    return (uint32_t)fp_div(&FMT32, a, b, rm, flags);
}

uint32_t rv_f32_sqrt(uint32_t a, unsigned rm, unsigned *flags)
{
    FAST_TRY(uint32_t, rv_fpu_fast_f32_sqrt(a, &fast_r, flags));
    return (uint32_t)fp_sqrt(&FMT32, a, rm, flags);
}

uint32_t rv_f32_muladd(uint32_t a, uint32_t b, uint32_t c,
                       bool negate_product, bool negate_addend,
                       unsigned rm, unsigned *flags)
{
    FAST_TRY(uint32_t, rv_fpu_fast_f32_muladd(a, b, c, negate_product, negate_addend,
                                       &fast_r, flags));
    return (uint32_t)fp_muladd(&FMT32, a, b, c, negate_product,
                               negate_addend, rm, flags);
}

uint64_t rv_f64_add(uint64_t a, uint64_t b, unsigned rm, unsigned *flags)
{
    FAST_TRY(uint64_t, rv_fpu_fast_f64_add(a, b, &fast_r, flags));
    return fp_add(&FMT64, a, b, false, rm, flags);
}

uint64_t rv_f64_sub(uint64_t a, uint64_t b, unsigned rm, unsigned *flags)
{
    FAST_TRY(uint64_t, rv_fpu_fast_f64_add(a, b ^ (1ull << 63), &fast_r, flags));
    return fp_add(&FMT64, a, b, true, rm, flags);
}

uint64_t rv_f64_mul(uint64_t a, uint64_t b, unsigned rm, unsigned *flags)
{
    FAST_TRY(uint64_t, rv_fpu_fast_f64_mul(a, b, &fast_r, flags));
    return fp_mul(&FMT64, a, b, rm, flags);
}

uint64_t rv_f64_div(uint64_t a, uint64_t b, unsigned rm, unsigned *flags)
{
    FAST_TRY(uint64_t, rv_fpu_fast_f64_div(a, b, &fast_r, flags));
    return fp_div(&FMT64, a, b, rm, flags);
}

uint64_t rv_f64_sqrt(uint64_t a, unsigned rm, unsigned *flags)
{
    FAST_TRY(uint64_t, rv_fpu_fast_f64_sqrt(a, &fast_r, flags));
    return fp_sqrt(&FMT64, a, rm, flags);
}

/* NOTE: no host fast path: detecting inexactness of a host fma result
 * needs more work than the software path itself. */
uint64_t rv_f64_muladd(uint64_t a, uint64_t b, uint64_t c,
                       bool negate_product, bool negate_addend,
                       unsigned rm, unsigned *flags)
{
    return fp_muladd(&FMT64, a, b, c, negate_product, negate_addend, rm,
                     flags);
}

uint64_t rv_f32_to_f64(uint32_t a, unsigned *flags)
{
    return fp_convert(&FMT64, &FMT32, a, RV_RM_RNE, flags);
}

uint32_t rv_f64_to_f32(uint64_t a, unsigned rm, unsigned *flags)
{
    return (uint32_t)fp_convert(&FMT32, &FMT64, a, rm, flags);
}

/*
 * The remaining wrappers only pick the format; they are generated, one line
 * per public function.
 */
#define DEF_MINMAX(name, T, fmt, want_max)                                   \
    T name(T a, T b, unsigned *flags)                                        \
    {                                                                        \
        return (T)fp_minmax(&fmt, a, b, want_max, flags);                    \
    }
#define DEF_CMP(name, T, expr)                                               \
    bool name(T a, T b, unsigned *flags)                                     \
    {                                                                        \
        return expr;                                                         \
    }
#define DEF_CLASS(name, T, fmt)                                              \
    unsigned name(T a)                                                       \
    {                                                                        \
        return fp_classify(&fmt, a);                                         \
    }
/* Float to integer type RT. The bit pattern is first truncated to UT
 * (the unsigned type of RT's width), so no out-of-range conversion happens
 * before the final (GNU C: modulo) one. */
#define DEF_TO_INT(name, T, fmt, RT, UT, is_signed, width)                   \
    RT name(T a, unsigned rm, unsigned *flags)                               \
    {                                                                        \
        return (RT)(UT)fp_to_int(&fmt, a, is_signed, width, rm, flags);      \
    }
/* Integer type IT to float; the magnitude is taken in uint64_t, so the most
 * negative value cannot overflow. */
#define DEF_FROM_INT(name, T, fmt, IT, is_signed)                            \
    T name(IT v, unsigned rm, unsigned *flags)                               \
    {                                                                        \
        uint64_t x = is_signed ? (uint64_t)(int64_t)v : (uint64_t)v;         \
        bool neg = is_signed && (int64_t)x < 0;                              \
        return (T)fp_from_int(&fmt, neg ? -x : x, neg, rm, flags);           \
    }

DEF_MINMAX(rv_f32_min, uint32_t, FMT32, false)
DEF_MINMAX(rv_f32_max, uint32_t, FMT32, true)
DEF_MINMAX(rv_f64_min, uint64_t, FMT64, false)
DEF_MINMAX(rv_f64_max, uint64_t, FMT64, true)

DEF_CMP(rv_f32_eq, uint32_t, fp_eq(&FMT32, a, b, flags))
DEF_CMP(rv_f32_lt, uint32_t, fp_lt(&FMT32, a, b, false, flags))
DEF_CMP(rv_f32_le, uint32_t, fp_lt(&FMT32, a, b, true, flags))
DEF_CMP(rv_f64_eq, uint64_t, fp_eq(&FMT64, a, b, flags))
DEF_CMP(rv_f64_lt, uint64_t, fp_lt(&FMT64, a, b, false, flags))
DEF_CMP(rv_f64_le, uint64_t, fp_lt(&FMT64, a, b, true, flags))

DEF_CLASS(rv_f32_classify, uint32_t, FMT32)
DEF_CLASS(rv_f64_classify, uint64_t, FMT64)

DEF_TO_INT(rv_f32_to_i32, uint32_t, FMT32, int32_t, uint32_t, true, 32)
DEF_TO_INT(rv_f32_to_u32, uint32_t, FMT32, uint32_t, uint32_t, false, 32)
DEF_TO_INT(rv_f32_to_i64, uint32_t, FMT32, int64_t, uint64_t, true, 64)
DEF_TO_INT(rv_f32_to_u64, uint32_t, FMT32, uint64_t, uint64_t, false, 64)
DEF_TO_INT(rv_f64_to_i32, uint64_t, FMT64, int32_t, uint32_t, true, 32)
DEF_TO_INT(rv_f64_to_u32, uint64_t, FMT64, uint32_t, uint32_t, false, 32)
DEF_TO_INT(rv_f64_to_i64, uint64_t, FMT64, int64_t, uint64_t, true, 64)
DEF_TO_INT(rv_f64_to_u64, uint64_t, FMT64, uint64_t, uint64_t, false, 64)

DEF_FROM_INT(rv_i32_to_f32, uint32_t, FMT32, int32_t, true)
DEF_FROM_INT(rv_u32_to_f32, uint32_t, FMT32, uint32_t, false)
DEF_FROM_INT(rv_i64_to_f32, uint32_t, FMT32, int64_t, true)
DEF_FROM_INT(rv_u64_to_f32, uint32_t, FMT32, uint64_t, false)
DEF_FROM_INT(rv_i32_to_f64, uint64_t, FMT64, int32_t, true)
DEF_FROM_INT(rv_u32_to_f64, uint64_t, FMT64, uint32_t, false)
DEF_FROM_INT(rv_i64_to_f64, uint64_t, FMT64, int64_t, true)
DEF_FROM_INT(rv_u64_to_f64, uint64_t, FMT64, uint64_t, false)
