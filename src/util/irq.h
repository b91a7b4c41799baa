/* SPDX-License-Identifier: MIT */
/*
 * An interrupt line: how a device raises an interrupt without knowing who
 * receives it. The board connects each device's line to an interrupt
 * controller input (PLIC source, hart MIP bit).
 */
#ifndef MQ_UTIL_IRQ_H
#define MQ_UTIL_IRQ_H

#include <stdbool.h>

struct mq_irq {
    /* Called with the new level; may be called from any thread. */
    void (*set)(void *opaque, unsigned line, bool level);
    void *opaque;
    unsigned line;
};

static inline void mq_irq_set(const struct mq_irq *irq, bool level)
{
    if (irq && irq->set)
        irq->set(irq->opaque, irq->line, level);
}

#endif
