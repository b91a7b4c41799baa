/* SPDX-License-Identifier: MIT */
/*
 * The SiFive test finisher ("sifive,test1"): a write-only register at
 * offset 0 whose low 16 bits select pass (power off, status 0), fail (power
 * off with the status in the upper 16 bits) or reset, as QEMU's virt board
 * implements it and as OpenSBI's sifive test driver and Linux's
 * syscon-poweroff/syscon-reboot drivers use it. Reads return 0.
 *
 * OpenSBI writes it with 16-bit stores (writew), Linux's syscon drivers
 * with 32-bit ones, so both sizes are accepted, as on QEMU.
 *
 * The device has no mutable state after creation, so it needs no lock.
 */
#include "hw/syscon.h"

#include <errno.h>
#include <stdlib.h>

#include "util/log.h"
#include "util/state.h"

#define SYSCON_STATE_VERSION 1u

struct mq_syscon {
    void (*action)(void *opaque, enum mq_syscon_action action, int code);
    void *opaque;
};

static bool access_ok(uint64_t off, unsigned size)
{
    return (size == 2 || size == 4) && !(off & (size - 1));
}

static int syscon_read(void *dev, uint64_t off, unsigned size, uint64_t *val)
{
    if (!access_ok(off, size))
        return -EINVAL;
    *val = 0;
    return 0;
}

static void syscon_request(struct mq_syscon *s, enum mq_syscon_action action, int code)
{
    if (s->action)
        s->action(s->opaque, action, code);
}

static int syscon_write(void *dev, uint64_t off, unsigned size, uint64_t val)
{
    struct mq_syscon *s = dev;
    uint32_t status = (uint32_t)val & 0xffffu;
    int code = (int)(((uint32_t)val >> 16) & 0xffffu);

    if (!access_ok(off, size))
        return -EINVAL;
    if (size == 2)
        code = 0;
    if (off != 0) {
        mq_guest_warn("syscon", "write 0x%x to unimplemented offset 0x%llx ignored",
                      (uint32_t)val, (unsigned long long)off);
        return 0;
    }
    switch (status) {
    case MQ_SYSCON_FINISHER_PASS:
        syscon_request(s, MQ_SYSCON_POWEROFF, 0);
        break;
    case MQ_SYSCON_FINISHER_FAIL:
        syscon_request(s, MQ_SYSCON_POWEROFF, code);
        break;
    case MQ_SYSCON_FINISHER_RESET:
        syscon_request(s, MQ_SYSCON_REBOOT, 0);
        break;
    default:
        mq_guest_warn("syscon", "unknown request 0x%x ignored", (uint32_t)val);
        break;
    }
    return 0;
}

/*
 * Snapshot, section version 1: no fields. The section still exists so that
 * a machine whose board has this device finds it, and a future version
 * with state has a version to bump.
 */
static int syscon_save(void *dev, struct mq_state_writer *w)
{
    mq_state_set_version(w, SYSCON_STATE_VERSION);
    return mq_state_writer_error(w);
}

static int syscon_load(void *dev, struct mq_state_reader *r)
{
    return mq_state_expect_version(r, SYSCON_STATE_VERSION, SYSCON_STATE_VERSION);
}

static void syscon_destroy(void *dev)
{
    free(dev);
}

struct mq_syscon *mq_syscon_create(void (*action)(void *opaque,
                                                  enum mq_syscon_action action, int code),
                                   void *opaque)
{
    struct mq_syscon *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->action = action;
    s->opaque = opaque;
    return s;
}

const struct mq_dev_ops mq_syscon_ops = {
    .name = "syscon",
    .min_access = 2,
    .max_access = 4,
    .read = syscon_read,
    .write = syscon_write,
    .save = syscon_save,
    .load = syscon_load,
    .destroy = syscon_destroy,
};
