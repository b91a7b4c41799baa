/* SPDX-License-Identifier: MIT */
/*
 * The SiFive-compatible CLINT: an ACLINT MSWI device at +0 and an ACLINT
 * MTIMER device with mtimecmp at +0x4000 and mtime at +0xbff8, as on QEMU's
 * virt board (device tree compatible "riscv,clint0" / "sifive,clint0").
 */
#ifndef MQ_HW_ACLINT_H
#define MQ_HW_ACLINT_H

#include <stdbool.h>
#include <stdint.h>

#include "mem/bus.h"
#include "util/clock.h"

#define MQ_ACLINT_MAX_HARTS 4095u
#define MQ_ACLINT_REGION_SIZE 0x10000u

struct mq_aclint;

/*
 * Create a CLINT for nharts harts (1..MQ_ACLINT_MAX_HARTS). tb is the
 * machine timebase read and written as mtime; it is borrowed and must
 * outlive the device. The device does not raise timer interrupts itself:
 * set_mtimecmp(opaque, hart, value) is called on every mtimecmp write (and
 * for every hart after an mtime write, so sleepers recompute deadlines), and
 * set_msip(opaque, hart, level) on every msip write; the hart compares mtime
 * with mtimecmp. Both are called from hart threads with the device lock
 * held (lock order: CLINT -> hart) and must not call back into the device;
 * either may be NULL. Reset (mq_aclint_ops.reset, not creation) also calls
 * them with the reset values: msip 0, mtimecmp UINT64_MAX.
 * Returns NULL with errno set (EINVAL, ENOMEM). Free with mq_aclint_ops.destroy.
 */
struct mq_aclint *mq_aclint_create(struct mq_timebase *tb, unsigned nharts,
                                   void (*set_msip)(void *opaque, unsigned hart,
                                                    bool level),
                                   void (*set_mtimecmp)(void *opaque, unsigned hart,
                                                        uint64_t value),
                                   void *opaque);

/* Register access: 32- and 64-bit (two 32-bit halves also work). */
extern const struct mq_dev_ops mq_aclint_ops;

#endif
