/* SPDX-License-Identifier: MIT */
/*
 * The RISC-V Platform-Level Interrupt Controller as on QEMU's virt board
 * (device tree compatible "sifive,plic-1.0.0", "riscv,plic0").
 */
#ifndef MQ_HW_PLIC_H
#define MQ_HW_PLIC_H

#include <stdbool.h>
#include <stdint.h>

#include "mem/bus.h"
#include "util/irq.h"

/* Interrupt IDs including the reserved ID 0: sources 1..1023 at most. */
#define MQ_PLIC_MAX_SOURCES 1024u
#define MQ_PLIC_MAX_CONTEXTS 15872u
/* Enough for every context; the board may map more (QEMU: 0x4000000). */
#define MQ_PLIC_REGION_SIZE 0x4000000u

struct mq_plic;

/*
 * Create a PLIC. nsources counts interrupt IDs including the reserved ID 0,
 * so sources 1..nsources-1 exist and the device tree's riscv,ndev is
 * nsources - 1 (QEMU virt: 96 and 95); 2..MQ_PLIC_MAX_SOURCES. ncontexts is
 * 1..MQ_PLIC_MAX_CONTEXTS (QEMU virt: 2 per hart, 2h = M-mode, 2h+1 =
 * S-mode). ctx_irq is called when a context's interrupt output (MEIP or
 * SEIP of its hart) changes level; it is called with the PLIC lock held
 * and must not call back into the PLIC. Every source is level-triggered.
 * Returns NULL with errno set (EINVAL, ENOMEM). Free with mq_plic_ops.destroy.
 */
struct mq_plic *mq_plic_create(unsigned nsources, unsigned ncontexts,
                               void (*ctx_irq)(void *opaque, unsigned ctx, bool level),
                               void *opaque);

/*
 * Set the level of an interrupt source's input. Thread-safe; callable with
 * a device lock held (lock order: device -> PLIC -> hart). Source 0 and
 * sources out of range are ignored.
 */
void mq_plic_set_irq(struct mq_plic *p, unsigned source, bool level);

/* An interrupt line for a device, driving source of p. */
struct mq_irq mq_plic_irq(struct mq_plic *p, unsigned source);

/* Register access: 32-bit only (the bus splits or widens other sizes). */
extern const struct mq_dev_ops mq_plic_ops;

#endif
