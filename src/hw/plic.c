/* SPDX-License-Identifier: MIT */
/*
 * The RISC-V PLIC: level-triggered gateways, priorities, pending bits,
 * per-context enables, thresholds and claim/complete, following the RISC-V
 * PLIC Specification 1.0.0 (chapters 3-9 and the memory map of chapter 3).
 *
 * Gateway model for level-triggered sources: while the input is high and
 * the source is not in service (claimed and not yet completed) its pending
 * bit is set; when the input drops before a claim the request is withdrawn.
 * A claim clears pending and puts the source in service; a completion takes
 * it out of service and re-raises pending if the input is still high.
 *
 * A context's output is high when some source is pending, enabled for it
 * and has a priority above its threshold; a claim returns the highest such
 * priority, the lowest ID on ties, or 0. The threshold applies to claims too,
 * as on QEMU's virt board.
 *
 * Locking: one mutex protects everything. Context outputs are driven with
 * it held so level changes arrive in order; lock order is device -> PLIC ->
 * hart and the ctx_irq receiver never calls back into the PLIC.
 */
#include "hw/plic.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/state.h"

#define PLIC_STATE_VERSION 1u
#define PLIC_PRIO_MASK 7u /* 3 priority bits, WARL 0..7 */

#define PLIC_PENDING_BASE 0x1000u
#define PLIC_ENABLE_BASE 0x2000u
#define PLIC_ENABLE_STRIDE 0x80u
#define PLIC_CONTEXT_BASE 0x200000u
#define PLIC_CONTEXT_STRIDE 0x1000u

struct mq_plic {
    pthread_mutex_t lock;
    unsigned nsources;
    unsigned nwords; /* 32-bit words of a source bitmap */
    unsigned ncontexts;
    void (*ctx_irq)(void *opaque, unsigned ctx, bool level);
    void *opaque;

    uint8_t *priority;    /* [nsources] */
    uint32_t *level;      /* [nwords] input line levels */
    uint32_t *pending;    /* [nwords] */
    uint32_t *in_service; /* [nwords] claimed, not yet completed */
    uint32_t *enable;     /* [ncontexts * nwords] */
    uint8_t *threshold;   /* [ncontexts] */
    bool *out;            /* [ncontexts] output levels last driven */
};

static bool bit_test(const uint32_t *map, unsigned n)
{
    return (map[n / 32] >> (n % 32)) & 1u;
}

static void bit_assign(uint32_t *map, unsigned n, bool v)
{
    if (v)
        map[n / 32] |= 1u << (n % 32);
    else
        map[n / 32] &= ~(1u << (n % 32));
}

/* Bits of bitmap word w that name existing sources (ID 0 is reserved). */
static uint32_t valid_mask(const struct mq_plic *p, unsigned w)
{
    uint32_t mask = UINT32_MAX;
    unsigned first = w * 32;

    if (p->nsources - first < 32)
        mask = (1u << (p->nsources - first)) - 1u;
    if (w == 0)
        mask &= ~1u;
    return mask;
}

static uint32_t *ctx_enable(struct mq_plic *p, unsigned ctx)
{
    return &p->enable[(size_t)ctx * p->nwords];
}

/* The source a claim by ctx would return, or 0. Lock held. */
static unsigned plic_best(struct mq_plic *p, unsigned ctx)
{
    const uint32_t *en = ctx_enable(p, ctx);
    unsigned best = 0, best_prio = p->threshold[ctx];

    for (unsigned w = 0; w < p->nwords; w++) {
        uint32_t bits = p->pending[w] & en[w];

        while (bits) {
            unsigned src = w * 32 + (unsigned)__builtin_ctz(bits);

            bits &= bits - 1;
            /* Strictly greater: on ties the lower ID, seen first, wins. */
            if (p->priority[src] > best_prio) {
                best = src;
                best_prio = p->priority[src];
            }
        }
    }
    return best;
}

static void plic_update_ctx(struct mq_plic *p, unsigned ctx)
{
    bool level = plic_best(p, ctx) != 0;

    if (level != p->out[ctx]) {
        p->out[ctx] = level;
        if (p->ctx_irq)
            p->ctx_irq(p->opaque, ctx, level);
    }
}

/* Re-evaluate the contexts a change of source src can affect. */
static void plic_update_source(struct mq_plic *p, unsigned src)
{
    for (unsigned ctx = 0; ctx < p->ncontexts; ctx++) {
        if (bit_test(ctx_enable(p, ctx), src))
            plic_update_ctx(p, ctx);
    }
}

static void plic_update_all(struct mq_plic *p)
{
    for (unsigned ctx = 0; ctx < p->ncontexts; ctx++)
        plic_update_ctx(p, ctx);
}

void mq_plic_set_irq(struct mq_plic *p, unsigned source, bool level)
{
    bool pend;

    if (source == 0 || source >= p->nsources)
        return;
    pthread_mutex_lock(&p->lock);
    bit_assign(p->level, source, level);
    pend = level && !bit_test(p->in_service, source);
    if (pend != bit_test(p->pending, source)) {
        bit_assign(p->pending, source, pend);
        plic_update_source(p, source);
    }
    pthread_mutex_unlock(&p->lock);
}

static void plic_irq_line_set(void *opaque, unsigned line, bool level)
{
    mq_plic_set_irq(opaque, line, level);
}

struct mq_irq mq_plic_irq(struct mq_plic *p, unsigned source)
{
    return (struct mq_irq){.set = plic_irq_line_set, .opaque = p, .line = source};
}

static uint32_t plic_claim(struct mq_plic *p, unsigned ctx)
{
    unsigned src = plic_best(p, ctx);

    if (src) {
        bit_assign(p->pending, src, false);
        bit_assign(p->in_service, src, true);
        plic_update_source(p, src);
    }
    return src;
}

static void plic_complete(struct mq_plic *p, unsigned ctx, uint32_t src)
{
    /* Spec: a completion for a source not enabled for the context is
     * silently ignored; one for a source not in service has no effect. */
    if (src == 0 || src >= p->nsources || !bit_test(ctx_enable(p, ctx), src) ||
        !bit_test(p->in_service, src)) {
        mq_guest_warn("plic", "context %u: completion of source %u ignored "
                      "(not claimed or not enabled)", ctx, src);
        return;
    }
    bit_assign(p->in_service, src, false);
    if (bit_test(p->level, src)) {
        bit_assign(p->pending, src, true);
        plic_update_source(p, src);
    }
}

static uint32_t plic_read_ctx(struct mq_plic *p, unsigned ctx, unsigned reg)
{
    if (reg == 0)
        return p->threshold[ctx];
    if (reg == 4)
        return plic_claim(p, ctx);
    return 0;
}

static void plic_write_ctx(struct mq_plic *p, unsigned ctx, unsigned reg, uint32_t val)
{
    if (reg == 0) {
        p->threshold[ctx] = (uint8_t)(val & PLIC_PRIO_MASK);
        plic_update_ctx(p, ctx);
    } else if (reg == 4) {
        plic_complete(p, ctx, val);
    }
}

static uint32_t plic_read_locked(struct mq_plic *p, uint64_t off)
{
    if (off < PLIC_PENDING_BASE) {
        unsigned src = (unsigned)(off / 4);
        return (src != 0 && src < p->nsources) ? p->priority[src] : 0;
    }
    if (off < PLIC_ENABLE_BASE) {
        unsigned w = (unsigned)((off - PLIC_PENDING_BASE) / 4);
        return w < p->nwords ? p->pending[w] : 0;
    }
    if (off < PLIC_CONTEXT_BASE) {
        unsigned ctx = (unsigned)((off - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE);
        unsigned w = (unsigned)((off - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE / 4);
        return (ctx < p->ncontexts && w < p->nwords) ? ctx_enable(p, ctx)[w] : 0;
    }
    uint64_t ctx = (off - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE;
    if (ctx >= p->ncontexts)
        return 0;
    return plic_read_ctx(p, (unsigned)ctx,
                         (unsigned)((off - PLIC_CONTEXT_BASE) % PLIC_CONTEXT_STRIDE));
}

static void plic_write_locked(struct mq_plic *p, uint64_t off, uint32_t val)
{
    if (off < PLIC_PENDING_BASE) {
        unsigned src = (unsigned)(off / 4);
        if (src != 0 && src < p->nsources) {
            p->priority[src] = (uint8_t)(val & PLIC_PRIO_MASK);
            plic_update_all(p);
        }
        return;
    }
    if (off < PLIC_ENABLE_BASE) {
        mq_guest_warn("plic", "write 0x%x to read-only pending word at 0x%llx ignored",
                      val, (unsigned long long)off);
        return;
    }
    if (off < PLIC_CONTEXT_BASE) {
        unsigned ctx = (unsigned)((off - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE);
        unsigned w = (unsigned)((off - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE / 4);
        if (ctx < p->ncontexts && w < p->nwords) {
            ctx_enable(p, ctx)[w] = val & valid_mask(p, w);
            plic_update_ctx(p, ctx);
        }
        return;
    }
    uint64_t ctx = (off - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE;
    if (ctx < p->ncontexts)
        plic_write_ctx(p, (unsigned)ctx,
                       (unsigned)((off - PLIC_CONTEXT_BASE) % PLIC_CONTEXT_STRIDE), val);
}

static int plic_read(void *dev, uint64_t off, unsigned size, uint64_t *val)
{
    struct mq_plic *p = dev;

    /* The bus only sends aligned 32-bit accesses; anything else is a bug. */
    if (size != 4 || (off & 3))
        return -EINVAL;
    pthread_mutex_lock(&p->lock);
    *val = plic_read_locked(p, off);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

static int plic_write(void *dev, uint64_t off, unsigned size, uint64_t val)
{
    struct mq_plic *p = dev;

    if (size != 4 || (off & 3))
        return -EINVAL;
    pthread_mutex_lock(&p->lock);
    plic_write_locked(p, off, (uint32_t)val);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

static void plic_reset(void *dev)
{
    struct mq_plic *p = dev;

    pthread_mutex_lock(&p->lock);
    for (unsigned s = 0; s < p->nsources; s++)
        p->priority[s] = 0;
    for (unsigned w = 0; w < p->nwords; w++) {
        p->in_service[w] = 0;
        /* Input levels belong to the devices; a line still high stays pending. */
        p->pending[w] = p->level[w];
    }
    for (size_t i = 0; i < (size_t)p->ncontexts * p->nwords; i++)
        p->enable[i] = 0;
    for (unsigned c = 0; c < p->ncontexts; c++)
        p->threshold[c] = 0;
    plic_update_all(p);
    pthread_mutex_unlock(&p->lock);
}

/*
 * Snapshot, section version 1: nsources, ncontexts (u32, must match this
 * PLIC), the priorities (bytes, one per source ID), then per bitmap word
 * the input levels and the in-service bits (u32), then per context its
 * threshold (u8) and enable words (u32). Pending bits are not stored: the
 * gateway keeps pending == level & ~in_service at all times (see the top of
 * this file), so they are rebuilt from the two.
 */
static int plic_save(void *dev, struct mq_state_writer *w)
{
    struct mq_plic *p = dev;

    pthread_mutex_lock(&p->lock);
    mq_state_set_version(w, PLIC_STATE_VERSION);
    mq_state_put_u32(w, p->nsources);
    mq_state_put_u32(w, p->ncontexts);
    mq_state_put_bytes(w, p->priority, p->nsources);
    for (unsigned i = 0; i < p->nwords; i++) {
        mq_state_put_u32(w, p->level[i]);
        mq_state_put_u32(w, p->in_service[i]);
    }
    for (unsigned c = 0; c < p->ncontexts; c++) {
        mq_state_put_u8(w, p->threshold[c]);
        for (unsigned i = 0; i < p->nwords; i++)
            mq_state_put_u32(w, ctx_enable(p, c)[i]);
    }
    pthread_mutex_unlock(&p->lock);
    return mq_state_writer_error(w);
}

/* The restored arrays, checked before any of them reaches the device. */
struct plic_saved {
    uint8_t *priority;
    uint32_t *level, *in_service, *enable;
    uint8_t *threshold;
};

static void plic_saved_free(struct plic_saved *s)
{
    free(s->priority);
    free(s->level);
    free(s->in_service);
    free(s->enable);
    free(s->threshold);
}

/* One bitmap word; bits naming source 0 or IDs >= nsources are refused. */
static uint32_t plic_get_word(struct mq_state_reader *r, const struct mq_plic *p, unsigned w,
                              const char *what)
{
    uint32_t v = mq_state_get_u32(r);

    if (v & ~valid_mask(p, w)) {
        mq_state_reader_fail(r, -EINVAL, "%s word %u (0x%08x) names sources that do not "
                             "exist (%u sources)", what, w, v, p->nsources);
        return 0;
    }
    return v;
}

static int plic_read_saved(struct mq_plic *p, struct mq_state_reader *r, struct plic_saved *s)
{
    uint32_t nsources = mq_state_get_u32(r), ncontexts = mq_state_get_u32(r);

    if (mq_state_reader_error(r))
        return mq_state_reader_error(r);
    if (nsources != p->nsources || ncontexts != p->ncontexts) {
        mq_state_reader_fail(r, -EINVAL, "saved PLIC has %u sources and %u contexts, this "
                             "one %u and %u", nsources, ncontexts, p->nsources, p->ncontexts);
        return mq_state_reader_error(r);
    }
    s->priority = malloc(p->nsources);
    s->level = calloc(p->nwords, sizeof(*s->level));
    s->in_service = calloc(p->nwords, sizeof(*s->in_service));
    s->enable = calloc((size_t)p->ncontexts * p->nwords, sizeof(*s->enable));
    s->threshold = calloc(p->ncontexts, sizeof(*s->threshold));
    if (!s->priority || !s->level || !s->in_service || !s->enable || !s->threshold) {
        mq_state_reader_fail(r, -ENOMEM, "out of memory");
        return mq_state_reader_error(r);
    }
    mq_state_get_bytes(r, s->priority, p->nsources);
    for (unsigned i = 0; i < p->nsources && !mq_state_reader_error(r); i++) {
        if (s->priority[i] > PLIC_PRIO_MASK || (i == 0 && s->priority[i]))
            mq_state_reader_fail(r, -EINVAL, "source %u has priority %u (0..%u, source 0 "
                                 "none)", i, s->priority[i], PLIC_PRIO_MASK);
    }
    for (unsigned i = 0; i < p->nwords; i++) {
        s->level[i] = plic_get_word(r, p, i, "level");
        s->in_service[i] = plic_get_word(r, p, i, "in-service");
    }
    for (unsigned c = 0; c < p->ncontexts && !mq_state_reader_error(r); c++) {
        s->threshold[c] = mq_state_get_u8(r);
        if (s->threshold[c] > PLIC_PRIO_MASK)
            mq_state_reader_fail(r, -EINVAL, "context %u has threshold %u (0..%u)", c,
                                 s->threshold[c], PLIC_PRIO_MASK);
        for (unsigned i = 0; i < p->nwords; i++)
            s->enable[(size_t)c * p->nwords + i] = plic_get_word(r, p, i, "enable");
    }
    return mq_state_reader_error(r);
}

static int plic_load(void *dev, struct mq_state_reader *r)
{
    struct mq_plic *p = dev;
    struct plic_saved s = {0};

    if (mq_state_expect_version(r, PLIC_STATE_VERSION, PLIC_STATE_VERSION) ||
        plic_read_saved(p, r, &s)) {
        plic_saved_free(&s);
        return mq_state_reader_error(r);
    }
    pthread_mutex_lock(&p->lock);
    memcpy(p->priority, s.priority, p->nsources);
    for (unsigned i = 0; i < p->nwords; i++) {
        p->level[i] = s.level[i];
        p->in_service[i] = s.in_service[i];
        p->pending[i] = s.level[i] & ~s.in_service[i];
    }
    memcpy(p->enable, s.enable, (size_t)p->ncontexts * p->nwords * sizeof(*p->enable));
    memcpy(p->threshold, s.threshold, p->ncontexts);
    /* Drive every output, changed or not: the harts' MEIP/SEIP follow the restored state. */
    for (unsigned c = 0; c < p->ncontexts; c++) {
        p->out[c] = plic_best(p, c) != 0;
        if (p->ctx_irq)
            p->ctx_irq(p->opaque, c, p->out[c]);
    }
    pthread_mutex_unlock(&p->lock);
    plic_saved_free(&s);
    return 0;
}

static void plic_destroy(void *dev)
{
    struct mq_plic *p = dev;

    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p->out);
    free(p->threshold);
    free(p->enable);
    free(p->in_service);
    free(p->pending);
    free(p->level);
    free(p->priority);
    free(p);
}

struct mq_plic *mq_plic_create(unsigned nsources, unsigned ncontexts,
                               void (*ctx_irq)(void *opaque, unsigned ctx, bool level),
                               void *opaque)
{
    struct mq_plic *p;
    int err;

    if (nsources < 2 || nsources > MQ_PLIC_MAX_SOURCES || ncontexts == 0 ||
        ncontexts > MQ_PLIC_MAX_CONTEXTS) {
        errno = EINVAL;
        return NULL;
    }
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->nsources = nsources;
    p->nwords = (nsources + 31) / 32;
    p->ncontexts = ncontexts;
    p->ctx_irq = ctx_irq;
    p->opaque = opaque;
    p->priority = calloc(nsources, sizeof(*p->priority));
    p->level = calloc(p->nwords, sizeof(*p->level));
    p->pending = calloc(p->nwords, sizeof(*p->pending));
    p->in_service = calloc(p->nwords, sizeof(*p->in_service));
    p->enable = calloc((size_t)ncontexts * p->nwords, sizeof(*p->enable));
    p->threshold = calloc(ncontexts, sizeof(*p->threshold));
    p->out = calloc(ncontexts, sizeof(*p->out));
    if (!p->priority || !p->level || !p->pending || !p->in_service || !p->enable ||
        !p->threshold || !p->out) {
        err = ENOMEM;
        goto fail;
    }
    err = pthread_mutex_init(&p->lock, NULL);
    if (err)
        goto fail;
    return p;

fail:
    free(p->out);
    free(p->threshold);
    free(p->enable);
    free(p->in_service);
    free(p->pending);
    free(p->level);
    free(p->priority);
    free(p);
    errno = err;
    return NULL;
}

const struct mq_dev_ops mq_plic_ops = {
    .name = "plic",
    .min_access = 4,
    .max_access = 4,
    .read = plic_read,
    .write = plic_write,
    .reset = plic_reset,
    .save = plic_save,
    .load = plic_load,
    .destroy = plic_destroy,
};
