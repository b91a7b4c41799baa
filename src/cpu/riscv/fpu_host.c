/* SPDX-License-Identifier: MIT */
/*
 * The FPU's host fast path: round-to-nearest-even add/sub/mul/div/sqrt
 * (and binary32 fused multiply-add) on the host FPU, used only when the
 * result is provably identical to the software path in fpu.c (finite
 * operands, results safely above the subnormal range, exactness from
 * error-free transforms, no fenv). RISC-V unprivileged spec chapters 11-12.
 */
#include <string.h>

#include "cpu/riscv/fpu_host.h"

typedef unsigned __int128 u128;

bool rv_fpu_fast_enabled = true;

bool rv_fpu_host_fast_available(void)
{
    return RV_FPU_HOST_FAST;
}

bool rv_fpu_set_host_fast(bool on)
{
    bool old = rv_fpu_fast_enabled;
    rv_fpu_fast_enabled = on;
    return old;
}

/* ---- host fast path ---------------------------------------------------- */

#if RV_FPU_HOST_FAST
static inline double f64_from_bits(uint64_t v)
{
    double d;
    memcpy(&d, &v, sizeof(d));
    return d;
}

static inline uint64_t f64_bits(double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof(v));
    return v;
}

static inline float f32_from_bits(uint32_t v)
{
    float d;
    memcpy(&d, &v, sizeof(d));
    return d;
}

static inline uint32_t f32_bits(float d)
{
    uint32_t v;
    memcpy(&v, &d, sizeof(v));
    return v;
}

static inline bool f64_finite(uint64_t a)
{
    return ((a >> 52) & 0x7ff) != 0x7ff;
}

static inline bool f32_finite(uint32_t a)
{
    return ((a >> 23) & 0xff) != 0xff;
}

/*
 * A result strictly above the smallest normal and finite cannot have
 * overflowed or be tiny (a value that rounds to exactly 2^emin may be tiny,
 * so that one is excluded), and its flags can only be NX.
 */
static inline bool f64_safe_result(uint64_t r)
{
    uint64_t mag = r & ~(1ull << 63);
    return mag > 0x0010000000000000ull && mag < 0x7ff0000000000000ull;
}

static inline bool f32_safe_result(uint32_t r)
{
    uint32_t mag = r & ~(1u << 31);
    return mag > 0x00800000u && mag < 0x7f800000u;
}

/* Odd part of the integer significand of a finite non-zero binary64. */
static inline uint64_t f64_odd_sig(uint64_t a)
{
    uint64_t m = a & ((1ull << 52) - 1);
    if ((a >> 52) & 0x7ff)
        m |= 1ull << 52;
    return m >> __builtin_ctzll(m);
}

/* Knuth's TwoSum: the rounding error of s = x + y, exact without overflow. */
static inline bool f64_sum_inexact(double x, double y, double s)
{
    double yy = s - x;
    double xx = s - yy;
    return (x - xx) + (y - yy) != 0;
}

static inline bool f32_sum_inexact(float x, float y, float s)
{
    float yy = s - x;
    float xx = s - yy;
    return (x - xx) + (y - yy) != 0;
}

bool rv_fpu_fast_f64_add(uint64_t a, uint64_t b, uint64_t *res,
                         unsigned *flags)
{
    if (!f64_finite(a) || !f64_finite(b))
        return false;
    double x = f64_from_bits(a), y = f64_from_bits(b), s = x + y;
    uint64_t r = f64_bits(s);
    if (!f64_safe_result(r))
        return false;
    if (f64_sum_inexact(x, y, s))
        *flags |= RV_FFLAG_NX;
    *res = r;
    return true;
}

bool rv_fpu_fast_f64_mul(uint64_t a, uint64_t b, uint64_t *res,
                         unsigned *flags)
{
    if (!f64_finite(a) || !f64_finite(b))
        return false;
    uint64_t r = f64_bits(f64_from_bits(a) * f64_from_bits(b));
    if (!f64_safe_result(r))
        return false;
    /* In the normal range the product is exact iff the product of the odd
     * parts of the significands fits in 53 bits. */
    u128 p = (u128)f64_odd_sig(a) * f64_odd_sig(b);
    if (p >> 53)
        *flags |= RV_FFLAG_NX;
    *res = r;
    return true;
}

bool rv_fpu_fast_f64_div(uint64_t a, uint64_t b, uint64_t *res,
                         unsigned *flags)
{
    if (!f64_finite(a) || !f64_finite(b))
        return false;
    uint64_t r = f64_bits(f64_from_bits(a) / f64_from_bits(b));
    if (!f64_safe_result(r))
        return false;
    /* q = a/b exactly iff q*b == a; since q*b is within 2^-52 of a
     * relatively, comparing odd parts of the significands decides it. */
    u128 p = (u128)f64_odd_sig(r) * f64_odd_sig(b);
    if (p != f64_odd_sig(a))
        *flags |= RV_FFLAG_NX;
    *res = r;
    return true;
}

bool rv_fpu_fast_f64_sqrt(uint64_t a, uint64_t *res, unsigned *flags)
{
    /* Positive, non-zero, finite: the root is always a normal number. */
    if (a == 0 || a >= 0x7ff0000000000000ull)
        return false;
    uint64_t r = f64_bits(host_sqrt64(f64_from_bits(a)));
    uint64_t o = f64_odd_sig(r);
    if ((u128)o * o != f64_odd_sig(a))
        *flags |= RV_FFLAG_NX;
    *res = r;
    return true;
}

bool rv_fpu_fast_f32_add(uint32_t a, uint32_t b, uint32_t *res,
                         unsigned *flags)
{
    if (!f32_finite(a) || !f32_finite(b))
        return false;
    float x = f32_from_bits(a), y = f32_from_bits(b), s = x + y;
    uint32_t r = f32_bits(s);
    if (!f32_safe_result(r))
        return false;
    if (f32_sum_inexact(x, y, s))
        *flags |= RV_FFLAG_NX;
    *res = r;
    return true;
}

bool rv_fpu_fast_f32_mul(uint32_t a, uint32_t b, uint32_t *res,
                         unsigned *flags)
{
    if (!f32_finite(a) || !f32_finite(b))
        return false;
    /* The binary64 product of two binary32 values is exact. */
    double p = (double)f32_from_bits(a) * (double)f32_from_bits(b);
    float s = (float)p;
    uint32_t r = f32_bits(s);
    if (!f32_safe_result(r))
        return false;
    if ((double)s != p)
        *flags |= RV_FFLAG_NX;
    *res = r;
    return true;
}

bool rv_fpu_fast_f32_div(uint32_t a, uint32_t b, uint32_t *res,
                         unsigned *flags)
{
    if (!f32_finite(a) || !f32_finite(b))
        return false;
    float x = f32_from_bits(a), y = f32_from_bits(b), q = x / y;
    uint32_t r = f32_bits(q);
    if (!f32_safe_result(r))
        return false;
    if ((double)q * (double)y != (double)x) /* exact binary64 product */
        *flags |= RV_FFLAG_NX;
    *res = r;
    return true;
}

bool rv_fpu_fast_f32_sqrt(uint32_t a, uint32_t *res, unsigned *flags)
{
    if (a == 0 || a >= 0x7f800000u)
        return false;
    float x = f32_from_bits(a), s = host_sqrt32(x);
    if ((double)s * (double)s != (double)x)
        *flags |= RV_FFLAG_NX;
    *res = f32_bits(s);
    return true;
}

/*
 * binary32 fused multiply-add: the binary64 product is exact and TwoSum gives
 * the error of the binary64 sum s. If s is exact, rounding it to binary32 is
 * the single rounding we want. If not, s and the exact sum lie on the same
 * side of every binary32 rounding boundary unless s is itself a midpoint
 * between two binary32 values (midpoints are binary64 values), so only that
 * case is left to the software path.
 */
bool rv_fpu_fast_f32_muladd(uint32_t a, uint32_t b, uint32_t c, bool neg_prod,
                            bool neg_add, uint32_t *res, unsigned *flags)
{
    if (!f32_finite(a) || !f32_finite(b) || !f32_finite(c))
        return false;
    double p = (double)f32_from_bits(a) * (double)f32_from_bits(b);
    double z = (double)f32_from_bits(c);
    if (neg_prod)
        p = -p;
    if (neg_add)
        z = -z;
    double s = p + z;
    bool sum_inexact = f64_sum_inexact(p, z, s);
    if (sum_inexact && (f64_bits(s) & 0x1fffffffu) == 0x10000000u)
        return false;
    float r = (float)s;
    uint32_t rb = f32_bits(r);
    if (!f32_safe_result(rb))
        return false;
    if (sum_inexact || (double)r != s)
        *flags |= RV_FFLAG_NX;
    *res = rb;
    return true;
}
#endif /* RV_FPU_HOST_FAST */
