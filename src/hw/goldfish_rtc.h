/* SPDX-License-Identifier: MIT */
/*
 * The Goldfish real-time clock (device tree compatible
 * "google,goldfish-rtc") as Linux's rtc-goldfish driver uses it.
 */
#ifndef MQ_HW_GOLDFISH_RTC_H
#define MQ_HW_GOLDFISH_RTC_H

#include "mem/bus.h"
#include "util/irq.h"

#define MQ_GOLDFISH_RTC_REGION_SIZE 0x1000u

struct mq_goldfish_rtc;

/*
 * Create an RTC reading the host wall clock (plus an offset the guest sets
 * by writing the time) and start its alarm thread. irq is the alarm
 * interrupt output (level); it is driven with the device lock held, from a
 * hart thread or the alarm thread, so its receiver must not call back into
 * the RTC (lock order: RTC -> PLIC -> hart). Returns NULL with errno set.
 * mq_goldfish_rtc_ops.destroy stops the thread and frees the device.
 */
struct mq_goldfish_rtc *mq_goldfish_rtc_create(struct mq_irq irq);

/* Register access: 32-bit only. */
extern const struct mq_dev_ops mq_goldfish_rtc_ops;

#endif
