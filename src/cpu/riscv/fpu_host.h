/* SPDX-License-Identifier: MIT */
/*
 * Internal to the FPU: the host fast path for round-to-nearest-even
 * arithmetic (fpu_host.c) and host helpers shared with the software path
 * (fpu.c). Each fast function returns false when it cannot prove the host
 * result identical to the software one; the caller then falls back.
 */
#ifndef MQ_CPU_RISCV_FPU_HOST_H
#define MQ_CPU_RISCV_FPU_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/riscv/fpu.h"

#if defined(__x86_64__) && defined(__SSE2_MATH__)
#define RV_FPU_HOST_OK 1
#elif defined(__aarch64__)
#define RV_FPU_HOST_OK 1
#else
#define RV_FPU_HOST_OK 0
#endif

#ifndef RV_FPU_HOST_FAST
#define RV_FPU_HOST_FAST RV_FPU_HOST_OK
#endif

#if RV_FPU_HOST_FAST && !RV_FPU_HOST_OK
#error "RV_FPU_HOST_FAST needs x86-64 with SSE2 math, or AArch64"
#endif
#if defined(__x86_64__)
#include <emmintrin.h>
#endif


/* Host square roots: correctly rounded hardware instructions, without the
 * errno handling that sqrt() carries. */
static inline double host_sqrt64(double x)
{
#if defined(__x86_64__)
    return _mm_cvtsd_f64(_mm_sqrt_sd(_mm_setzero_pd(), _mm_set_sd(x)));
#elif defined(__aarch64__)
    double r;
    __asm__("fsqrt %d0, %d1" : "=w"(r) : "w"(x));
    return r;
#else
    return __builtin_sqrt(x);
#endif
}

#if RV_FPU_HOST_FAST
static inline float host_sqrt32(float x)
{
#if defined(__x86_64__)
    return _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(x)));
#else
    float r;
    __asm__("fsqrt %s0, %s1" : "=w"(r) : "w"(x));
    return r;
#endif
}
#endif

/* Run-time switch (tests compare both paths); see rv_fpu_set_host_fast(). */
extern bool rv_fpu_fast_enabled;

static inline bool rv_fpu_fast_on(unsigned rm)
{
    return rm == RV_RM_RNE && rv_fpu_fast_enabled;
}

#if RV_FPU_HOST_FAST
bool rv_fpu_fast_f64_add(uint64_t a, uint64_t b, uint64_t *res, unsigned *flags);
bool rv_fpu_fast_f64_mul(uint64_t a, uint64_t b, uint64_t *res, unsigned *flags);
bool rv_fpu_fast_f64_div(uint64_t a, uint64_t b, uint64_t *res, unsigned *flags);
bool rv_fpu_fast_f64_sqrt(uint64_t a, uint64_t *res, unsigned *flags);
bool rv_fpu_fast_f32_add(uint32_t a, uint32_t b, uint32_t *res, unsigned *flags);
bool rv_fpu_fast_f32_mul(uint32_t a, uint32_t b, uint32_t *res, unsigned *flags);
bool rv_fpu_fast_f32_div(uint32_t a, uint32_t b, uint32_t *res, unsigned *flags);
bool rv_fpu_fast_f32_sqrt(uint32_t a, uint32_t *res, unsigned *flags);
bool rv_fpu_fast_f32_muladd(uint32_t a, uint32_t b, uint32_t c, bool neg_prod, bool neg_add, uint32_t *res, unsigned *flags);
#endif

/*
 * Return the host result when the fast path is on and `call` (which stores
 * into fast_r, declared here with `type`) accepts the operands.
 */
#if RV_FPU_HOST_FAST
#define FAST_TRY(type, call)                                                 \
    do {                                                                     \
        type fast_r;                                                         \
        if (rv_fpu_fast_on(rm) && (call))                                           \
            return fast_r;                                                   \
    } while (0)
#else
#define FAST_TRY(type, call) ((void)0)
#endif

#endif
