/* SPDX-License-Identifier: MIT */
/*
 * The SiFive test finisher as on QEMU's virt board (device tree compatible
 * "sifive,test1", "sifive,test0", "syscon"): the guest powers off or resets
 * the machine by writing a code to offset 0.
 */
#ifndef MQ_HW_SYSCON_H
#define MQ_HW_SYSCON_H

#include "mem/bus.h"

#define MQ_SYSCON_REGION_SIZE 0x1000u

/* Values the guest writes (Linux takes them from the syscon-poweroff and
 * syscon-reboot device tree nodes; OpenSBI uses them directly). */
#define MQ_SYSCON_FINISHER_FAIL 0x3333u  /* (code << 16) | FAIL: exit status code */
#define MQ_SYSCON_FINISHER_PASS 0x5555u  /* power off, status 0 */
#define MQ_SYSCON_FINISHER_RESET 0x7777u /* reset the machine */

enum mq_syscon_action {
    MQ_SYSCON_POWEROFF,
    MQ_SYSCON_REBOOT,
};

struct mq_syscon;

/*
 * Create the device. action(opaque, action, code) is called from the hart
 * thread that wrote the request, with no device lock held; code is the
 * exit status for MQ_SYSCON_POWEROFF (0 for PASS, the upper 16 bits of the
 * value for FAIL) and 0 for MQ_SYSCON_REBOOT. action must be thread-safe
 * (several harts may write at once) and should only record the request:
 * stopping the harts is the VM's job. action may be NULL. Returns NULL with
 * errno set. Free with mq_syscon_ops.destroy.
 */
struct mq_syscon *mq_syscon_create(void (*action)(void *opaque,
                                                  enum mq_syscon_action action, int code),
                                   void *opaque);

/* Register access: 16- or 32-bit (the bus widens byte stores). */
extern const struct mq_dev_ops mq_syscon_ops;

#endif
