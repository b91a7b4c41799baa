/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the hw/ unit tests: a check macro that reports and
 * counts failures, ops-table accessors and a recording interrupt line.
 */
#ifndef MQ_HW_TEST_H
#define MQ_HW_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mem/bus.h"
#include "util/irq.h"

static int hw_test_failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            hw_test_failures++;                                                \
        }                                                                      \
    } while (0)

#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        unsigned long long a_ = (unsigned long long)(a);                       \
        unsigned long long b_ = (unsigned long long)(b);                       \
        if (a_ != b_) {                                                        \
            fprintf(stderr, "%s:%d: check failed: %s == %s (0x%llx != 0x%llx)\n", \
                    __FILE__, __LINE__, #a, #b, a_, b_);                       \
            hw_test_failures++;                                                \
        }                                                                      \
    } while (0)

#define RUN(test)                                                              \
    do {                                                                       \
        int before_ = hw_test_failures;                                        \
        test();                                                                \
        printf("%s %s\n", hw_test_failures == before_ ? "ok  " : "FAIL", #test); \
    } while (0)

static inline uint64_t dev_rd(const struct mq_dev_ops *ops, void *dev, uint64_t off,
                              unsigned size)
{
    uint64_t v = 0xdeadbeefdeadbeefull;

    CHECK_EQ(ops->read(dev, off, size, &v), 0);
    return v;
}

static inline void dev_wr(const struct mq_dev_ops *ops, void *dev, uint64_t off,
                          unsigned size, uint64_t val)
{
    CHECK_EQ(ops->write(dev, off, size, val), 0);
}

/* An interrupt line that records its level and the number of changes. */
struct rec_irq {
    bool level;
    unsigned raises;
    unsigned lowers;
};

static inline void rec_irq_set(void *opaque, unsigned line, bool level)
{
    struct rec_irq *r = opaque;

    (void)line;
    __atomic_store_n(&r->level, level, __ATOMIC_SEQ_CST);
    if (level)
        __atomic_add_fetch(&r->raises, 1, __ATOMIC_SEQ_CST);
    else
        __atomic_add_fetch(&r->lowers, 1, __ATOMIC_SEQ_CST);
}

static inline struct mq_irq rec_irq_line(struct rec_irq *r)
{
    return (struct mq_irq){.set = rec_irq_set, .opaque = r, .line = 0};
}

static inline bool rec_irq_level(struct rec_irq *r)
{
    return __atomic_load_n(&r->level, __ATOMIC_SEQ_CST);
}

#endif
