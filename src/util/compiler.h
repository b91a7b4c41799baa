/* SPDX-License-Identifier: MIT */
/* Compiler helpers shared by every subsystem. */
#ifndef MQ_UTIL_COMPILER_H
#define MQ_UTIL_COMPILER_H

#include <stddef.h>

#define MQ_PUBLIC __attribute__((visibility("default")))
#define MQ_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define MQ_NORETURN __attribute__((noreturn))
#define MQ_UNUSED __attribute__((unused))
#define MQ_ALWAYS_INLINE inline __attribute__((always_inline))
#define MQ_NOINLINE __attribute__((noinline))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define MQ_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define MQ_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MQ_MAX(a, b) ((a) > (b) ? (a) : (b))

/* True when [off, off + len) lies inside [0, size); cannot overflow. */
static inline int mq_range_ok(unsigned long long off, unsigned long long len,
                              unsigned long long size)
{
    return len <= size && off <= size - len;
}

#endif
