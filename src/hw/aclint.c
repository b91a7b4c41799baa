/* SPDX-License-Identifier: MIT */
/*
 * The CLINT: machine software interrupt pending bits (ACLINT MSWI) and the
 * machine timer registers mtimecmp/mtime (ACLINT MTIMER), in the
 * SiFive-compatible layout of RISC-V ACLINT Specification 1.0, sections 2.1
 * (MTIMER register map) and 3.1 (MSWI register map).
 *
 * mtime is the machine timebase; mtimecmp values are mirrored here so
 * reads return what was written, and forwarded to the harts, which compare
 * them with mtime themselves.
 *
 * Locking: one mutex serialises register accesses so that mtimecmp halves
 * and forwarded values stay consistent; the hart callbacks run with it held
 * (lock order CLINT -> hart).
 */
#include "hw/aclint.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "util/log.h"
#include "util/state.h"

#define ACLINT_STATE_VERSION 1u
#define MSWI_BASE 0x0000u
#define MTIMECMP_BASE 0x4000u
#define MTIME_BASE 0xbff8u
#define MTIMER_END 0xc000u

struct mq_aclint {
    pthread_mutex_t lock;
    struct mq_timebase *tb;
    unsigned nharts;
    void (*set_msip)(void *opaque, unsigned hart, bool level);
    void (*set_mtimecmp)(void *opaque, unsigned hart, uint64_t value);
    void *opaque;
    bool *msip;         /* [nharts] */
    uint64_t *mtimecmp; /* [nharts] */
};

/* Replace the 32-bit half of old selected by byte offset off (4-aligned). */
static uint64_t deposit_half(uint64_t old, uint64_t off, uint32_t val)
{
    unsigned shift = (off & 4) ? 32 : 0;

    return (old & ~((uint64_t)UINT32_MAX << shift)) | ((uint64_t)val << shift);
}

static uint64_t pick(uint64_t v, uint64_t off, unsigned size)
{
    return size == 8 ? v : (uint32_t)(v >> ((off & 4) ? 32 : 0));
}

static uint32_t mswi_read(struct mq_aclint *c, uint64_t off)
{
    uint64_t hart = (off - MSWI_BASE) / 4;

    return hart < c->nharts ? c->msip[hart] : 0;
}

static void mswi_write(struct mq_aclint *c, uint64_t off, uint32_t val)
{
    uint64_t hart = (off - MSWI_BASE) / 4;

    if (hart >= c->nharts) {
        mq_guest_warn("aclint", "msip write for missing hart %llu ignored",
                      (unsigned long long)hart);
        return;
    }
    /* Bits 31:1 are hardwired to zero. */
    c->msip[hart] = val & 1u;
    if (c->set_msip)
        c->set_msip(c->opaque, (unsigned)hart, c->msip[hart]);
}

static uint64_t aclint_read_locked(struct mq_aclint *c, uint64_t off, unsigned size)
{
    if (off < MTIMECMP_BASE) {
        uint64_t v = mswi_read(c, off);
        if (size == 8)
            v |= (uint64_t)mswi_read(c, off + 4) << 32;
        return v;
    }
    if (off < MTIME_BASE) {
        uint64_t hart = (off - MTIMECMP_BASE) / 8;
        return hart < c->nharts ? pick(c->mtimecmp[hart], off, size) : 0;
    }
    if (off < MTIMER_END)
        return pick(mq_timebase_read(c->tb), off, size);
    return 0;
}

static void aclint_write_locked(struct mq_aclint *c, uint64_t off, unsigned size,
                                uint64_t val)
{
    if (off < MTIMECMP_BASE) {
        mswi_write(c, off, (uint32_t)val);
        if (size == 8)
            mswi_write(c, off + 4, (uint32_t)(val >> 32));
        return;
    }
    if (off < MTIME_BASE) {
        uint64_t hart = (off - MTIMECMP_BASE) / 8;
        if (hart >= c->nharts) {
            mq_guest_warn("aclint", "mtimecmp write for missing hart %llu ignored",
                          (unsigned long long)hart);
            return;
        }
        c->mtimecmp[hart] =
            size == 8 ? val : deposit_half(c->mtimecmp[hart], off, (uint32_t)val);
        if (c->set_mtimecmp)
            c->set_mtimecmp(c->opaque, (unsigned)hart, c->mtimecmp[hart]);
        return;
    }
    if (off < MTIMER_END) {
        uint64_t now = mq_timebase_read(c->tb);
        mq_timebase_set(c->tb, size == 8 ? val : deposit_half(now, off, (uint32_t)val));
        /* Deadlines derived from mtimecmp moved: let every hart recompute. */
        for (unsigned h = 0; h < c->nharts && c->set_mtimecmp; h++)
            c->set_mtimecmp(c->opaque, h, c->mtimecmp[h]);
        return;
    }
    mq_guest_warn("aclint", "write to reserved offset 0x%llx ignored",
                  (unsigned long long)off);
}

static bool access_ok(uint64_t off, unsigned size)
{
    return (size == 4 || size == 8) && !(off & (size - 1)) &&
           mq_range_ok(off, size, MQ_ACLINT_REGION_SIZE);
}

static int aclint_read(void *dev, uint64_t off, unsigned size, uint64_t *val)
{
    struct mq_aclint *c = dev;

    if (!access_ok(off, size))
        return -EINVAL;
    pthread_mutex_lock(&c->lock);
    *val = aclint_read_locked(c, off, size);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

static int aclint_write(void *dev, uint64_t off, unsigned size, uint64_t val)
{
    struct mq_aclint *c = dev;

    if (!access_ok(off, size))
        return -EINVAL;
    pthread_mutex_lock(&c->lock);
    aclint_write_locked(c, off, size, val);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

static void aclint_reset(void *dev)
{
    struct mq_aclint *c = dev;

    pthread_mutex_lock(&c->lock);
    for (unsigned h = 0; h < c->nharts; h++) {
        c->msip[h] = false;
        /* All ones: no timer interrupt pending at reset. */
        c->mtimecmp[h] = UINT64_MAX;
        if (c->set_msip)
            c->set_msip(c->opaque, h, false);
        if (c->set_mtimecmp)
            c->set_mtimecmp(c->opaque, h, UINT64_MAX);
    }
    pthread_mutex_unlock(&c->lock);
}

/*
 * Snapshot, section version 1: nharts (u32, must match), then per hart msip
 * (bool) and mtimecmp (u64, in mtime ticks). mtime itself is not here: the
 * timebase belongs to the board, which saves it and restores it with
 * mq_timebase_set() before this device is loaded, so the deadlines the
 * harts derive from mtimecmp below are computed against the right clock.
 */
static int aclint_save(void *dev, struct mq_state_writer *w)
{
    struct mq_aclint *c = dev;

    pthread_mutex_lock(&c->lock);
    mq_state_set_version(w, ACLINT_STATE_VERSION);
    mq_state_put_u32(w, c->nharts);
    for (unsigned h = 0; h < c->nharts; h++) {
        mq_state_put_bool(w, c->msip[h]);
        mq_state_put_u64(w, c->mtimecmp[h]);
    }
    pthread_mutex_unlock(&c->lock);
    return mq_state_writer_error(w);
}

static int aclint_load(void *dev, struct mq_state_reader *r)
{
    struct mq_aclint *c = dev;
    bool *msip = NULL;
    uint64_t *cmp = NULL;
    uint32_t nharts;

    if (mq_state_expect_version(r, ACLINT_STATE_VERSION, ACLINT_STATE_VERSION))
        return mq_state_reader_error(r);
    nharts = mq_state_get_u32(r);
    if (!mq_state_reader_error(r) && nharts != c->nharts)
        mq_state_reader_fail(r, -EINVAL, "saved CLINT has %u harts, this one %u", nharts,
                             c->nharts);
    if (mq_state_reader_error(r))
        return mq_state_reader_error(r);
    msip = calloc(c->nharts, sizeof(*msip));
    cmp = calloc(c->nharts, sizeof(*cmp));
    if (!msip || !cmp) {
        mq_state_reader_fail(r, -ENOMEM, "out of memory");
        goto out;
    }
    for (unsigned h = 0; h < c->nharts; h++) {
        msip[h] = mq_state_get_bool(r);
        cmp[h] = mq_state_get_u64(r);
    }
    if (mq_state_reader_error(r))
        goto out;
    pthread_mutex_lock(&c->lock);
    for (unsigned h = 0; h < c->nharts; h++) {
        c->msip[h] = msip[h];
        c->mtimecmp[h] = cmp[h];
        /* Hand the values to the harts, as a register write would. */
        if (c->set_msip)
            c->set_msip(c->opaque, h, msip[h]);
        if (c->set_mtimecmp)
            c->set_mtimecmp(c->opaque, h, cmp[h]);
    }
    pthread_mutex_unlock(&c->lock);
out:
    free(cmp);
    free(msip);
    return mq_state_reader_error(r);
}

static void aclint_destroy(void *dev)
{
    struct mq_aclint *c = dev;

    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c->mtimecmp);
    free(c->msip);
    free(c);
}

struct mq_aclint *mq_aclint_create(struct mq_timebase *tb, unsigned nharts,
                                   void (*set_msip)(void *opaque, unsigned hart,
                                                    bool level),
                                   void (*set_mtimecmp)(void *opaque, unsigned hart,
                                                        uint64_t value),
                                   void *opaque)
{
    struct mq_aclint *c;
    int err;

    if (!tb || nharts == 0 || nharts > MQ_ACLINT_MAX_HARTS) {
        errno = EINVAL;
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->tb = tb;
    c->nharts = nharts;
    c->set_msip = set_msip;
    c->set_mtimecmp = set_mtimecmp;
    c->opaque = opaque;
    c->msip = calloc(nharts, sizeof(*c->msip));
    c->mtimecmp = malloc(nharts * sizeof(*c->mtimecmp));
    if (!c->msip || !c->mtimecmp) {
        err = ENOMEM;
        goto fail;
    }
    for (unsigned h = 0; h < nharts; h++)
        c->mtimecmp[h] = UINT64_MAX;
    err = pthread_mutex_init(&c->lock, NULL);
    if (err)
        goto fail;
    return c;

fail:
    free(c->mtimecmp);
    free(c->msip);
    free(c);
    errno = err;
    return NULL;
}

const struct mq_dev_ops mq_aclint_ops = {
    .name = "aclint",
    .min_access = 4,
    .max_access = 8,
    .read = aclint_read,
    .write = aclint_write,
    .reset = aclint_reset,
    .save = aclint_save,
    .load = aclint_load,
    .destroy = aclint_destroy,
};
