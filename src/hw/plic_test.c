/* SPDX-License-Identifier: MIT */
/* Unit tests of the PLIC against the RISC-V PLIC specification's register semantics. */
#include "hw/plic.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "hw/hw_test.h"
#include "util/state_testutil.h"

#define NSRC 96
#define NCTX 4

#define PRIO(s) (4u * (s))
#define PENDING(w) (0x1000u + 4u * (w))
#define ENABLE(c, w) (0x2000u + 0x80u * (c) + 4u * (w))
#define THRESHOLD(c) (0x200000u + 0x1000u * (c))
#define CLAIM(c) (0x200004u + 0x1000u * (c))

static bool ctx_level[NCTX];
static unsigned ctx_changes[NCTX];

static void ctx_irq(void *opaque, unsigned ctx, bool level)
{
    (void)opaque;
    if (ctx < NCTX) {
        ctx_level[ctx] = level;
        ctx_changes[ctx]++;
    }
}

static struct mq_plic *new_plic(void)
{
    memset(ctx_level, 0, sizeof(ctx_level));
    memset(ctx_changes, 0, sizeof(ctx_changes));
    return mq_plic_create(NSRC, NCTX, ctx_irq, NULL);
}

static uint32_t rd(struct mq_plic *p, uint64_t off)
{
    return (uint32_t)dev_rd(&mq_plic_ops, p, off, 4);
}

static void wr(struct mq_plic *p, uint64_t off, uint32_t v)
{
    dev_wr(&mq_plic_ops, p, off, 4, v);
}

static void test_create_limits(void)
{
    errno = 0;
    CHECK(mq_plic_create(1, 1, NULL, NULL) == NULL && errno == EINVAL);
    CHECK(mq_plic_create(MQ_PLIC_MAX_SOURCES + 1, 1, NULL, NULL) == NULL);
    CHECK(mq_plic_create(32, 0, NULL, NULL) == NULL);
    CHECK(mq_plic_create(32, MQ_PLIC_MAX_CONTEXTS + 1, NULL, NULL) == NULL);

    struct mq_plic *p = mq_plic_create(MQ_PLIC_MAX_SOURCES, MQ_PLIC_MAX_CONTEXTS, NULL, NULL);
    CHECK(p != NULL);
    /* Last source, last context. */
    wr(p, PRIO(1023), 1);
    wr(p, ENABLE(MQ_PLIC_MAX_CONTEXTS - 1, 31), 0x80000000u);
    mq_plic_set_irq(p, 1023, true);
    CHECK_EQ(rd(p, PENDING(31)), 0x80000000u);
    CHECK_EQ(rd(p, CLAIM(MQ_PLIC_MAX_CONTEXTS - 1)), 1023);
    mq_plic_ops.destroy(p);
}

static void test_registers(void)
{
    struct mq_plic *p = new_plic();

    /* Priority: 3 bits, WARL; source 0 hardwired to 0. */
    wr(p, PRIO(0), 7);
    CHECK_EQ(rd(p, PRIO(0)), 0);
    wr(p, PRIO(5), 0xffffffffu);
    CHECK_EQ(rd(p, PRIO(5)), 7);
    wr(p, PRIO(95), 3);
    CHECK_EQ(rd(p, PRIO(95)), 3);
    wr(p, PRIO(96), 3); /* beyond the last source: a hole */
    CHECK_EQ(rd(p, PRIO(96)), 0);

    /* Enables: bit 0 of word 0 and bits past the last source are zero. */
    wr(p, ENABLE(1, 0), 0xffffffffu);
    CHECK_EQ(rd(p, ENABLE(1, 0)), 0xfffffffeu);
    wr(p, ENABLE(1, 2), 0xffffffffu);
    CHECK_EQ(rd(p, ENABLE(1, 2)), 0xffffffffu);
    wr(p, ENABLE(1, 3), 0xffffffffu);
    CHECK_EQ(rd(p, ENABLE(1, 3)), 0);
    wr(p, ENABLE(NCTX, 0), 0xffffffffu); /* missing context */
    CHECK_EQ(rd(p, ENABLE(NCTX, 0)), 0);

    /* Thresholds: WARL 0..7; unused context words read 0. */
    wr(p, THRESHOLD(2), 0x1f);
    CHECK_EQ(rd(p, THRESHOLD(2)), 7);
    CHECK_EQ(rd(p, THRESHOLD(2) + 8), 0);
    CHECK_EQ(rd(p, THRESHOLD(NCTX)), 0);
    CHECK_EQ(rd(p, CLAIM(NCTX)), 0);
    CHECK_EQ(rd(p, 0x3fffffc), 0);

    /* Pending is read-only. */
    wr(p, PENDING(0), 0xffffffffu);
    CHECK_EQ(rd(p, PENDING(0)), 0);

    /* Only aligned 32-bit accesses reach the device. */
    uint64_t v;
    CHECK(mq_plic_ops.read(p, 2, 4, &v) < 0);
    CHECK(mq_plic_ops.read(p, 0, 8, &v) < 0);
    mq_plic_ops.destroy(p);
}

static void test_claim_priority_and_ties(void)
{
    struct mq_plic *p = new_plic();

    wr(p, PRIO(3), 2);
    wr(p, PRIO(10), 5);
    wr(p, PRIO(40), 5);
    wr(p, PRIO(41), 1);
    wr(p, ENABLE(1, 0), (1u << 3) | (1u << 10));
    wr(p, ENABLE(1, 1), (1u << (40 - 32)) | (1u << (41 - 32)));

    mq_plic_set_irq(p, 3, true);
    mq_plic_set_irq(p, 40, true);
    mq_plic_set_irq(p, 41, true);
    mq_plic_set_irq(p, 10, true);
    CHECK_EQ(rd(p, PENDING(0)), (1u << 3) | (1u << 10));
    CHECK_EQ(rd(p, PENDING(1)), (1u << 8) | (1u << 9));
    CHECK(ctx_level[1]);
    CHECK(!ctx_level[0]);

    /* Highest priority first; 10 and 40 tie at 5: the lower ID wins. */
    CHECK_EQ(rd(p, CLAIM(1)), 10);
    CHECK_EQ(rd(p, PENDING(0)), 1u << 3); /* claimed: no longer pending */
    CHECK_EQ(rd(p, CLAIM(1)), 40);
    CHECK_EQ(rd(p, CLAIM(1)), 3);
    CHECK_EQ(rd(p, CLAIM(1)), 41);
    CHECK_EQ(rd(p, CLAIM(1)), 0);
    CHECK(!ctx_level[1]);

    /* Completing a source whose line is still high makes it pending again. */
    wr(p, CLAIM(1), 10);
    CHECK(ctx_level[1]);
    CHECK_EQ(rd(p, CLAIM(1)), 10);
    /* A level source that dropped stays quiet after completion. */
    mq_plic_set_irq(p, 3, false);
    wr(p, CLAIM(1), 3);
    CHECK_EQ(rd(p, PENDING(0)), 0);
    mq_plic_ops.destroy(p);
}

static void test_threshold_masks(void)
{
    struct mq_plic *p = new_plic();

    wr(p, PRIO(7), 3);
    wr(p, ENABLE(0, 0), 1u << 7);
    wr(p, THRESHOLD(0), 3);
    mq_plic_set_irq(p, 7, true);
    CHECK(!ctx_level[0]); /* priority must exceed the threshold */
    CHECK_EQ(rd(p, CLAIM(0)), 0);
    wr(p, THRESHOLD(0), 2);
    CHECK(ctx_level[0]);
    wr(p, THRESHOLD(0), 7);
    CHECK(!ctx_level[0]);
    wr(p, THRESHOLD(0), 0);
    CHECK(ctx_level[0]);
    /* Priority 0 never interrupts. */
    wr(p, PRIO(7), 0);
    CHECK(!ctx_level[0]);
    CHECK_EQ(rd(p, CLAIM(0)), 0);
    /* Disabling the source in a context hides it there only. */
    wr(p, PRIO(7), 1);
    wr(p, ENABLE(2, 0), 1u << 7);
    CHECK(ctx_level[0] && ctx_level[2]);
    wr(p, ENABLE(0, 0), 0);
    CHECK(!ctx_level[0] && ctx_level[2]);
    /* A claim from one context withdraws the request from all. */
    CHECK_EQ(rd(p, CLAIM(2)), 7);
    CHECK(!ctx_level[2]);
    mq_plic_ops.destroy(p);
}

static void test_complete_ignored(void)
{
    struct mq_plic *p = new_plic();

    wr(p, PRIO(5), 1);
    wr(p, PRIO(6), 1);
    wr(p, ENABLE(1, 0), (1u << 5) | (1u << 6));
    mq_plic_set_irq(p, 5, true);
    mq_plic_set_irq(p, 6, true);
    CHECK_EQ(rd(p, CLAIM(1)), 5);
    /* Completing a source that was not claimed changes nothing. */
    wr(p, CLAIM(1), 6);
    CHECK_EQ(rd(p, PENDING(0)), 1u << 6);
    /* Completion of invalid IDs is ignored. */
    wr(p, CLAIM(1), 0);
    wr(p, CLAIM(1), 96);
    wr(p, CLAIM(1), 0xffffffffu);
    /* Completion from a context where the source is not enabled is ignored. */
    wr(p, CLAIM(0), 5);
    CHECK_EQ(rd(p, PENDING(0)), 1u << 6); /* 5 still in service */
    CHECK_EQ(rd(p, CLAIM(1)), 6);
    CHECK_EQ(rd(p, CLAIM(1)), 0);
    /* The real completion re-arms source 5. */
    wr(p, CLAIM(1), 5);
    CHECK_EQ(rd(p, CLAIM(1)), 5);
    mq_plic_ops.destroy(p);
}

static void test_irq_line_and_reset(void)
{
    struct mq_plic *p = new_plic();
    struct mq_irq line = mq_plic_irq(p, 10);

    wr(p, PRIO(10), 4);
    wr(p, ENABLE(3, 0), 1u << 10);
    mq_irq_set(&line, true);
    CHECK(ctx_level[3]);
    mq_irq_set(&line, false); /* withdrawn before the claim */
    CHECK(!ctx_level[3]);
    CHECK_EQ(rd(p, CLAIM(3)), 0);
    /* Out-of-range sources are ignored. */
    mq_plic_set_irq(p, 0, true);
    mq_plic_set_irq(p, 96, true);
    mq_plic_set_irq(p, 100000, true);
    CHECK_EQ(rd(p, PENDING(0)), 0);

    mq_irq_set(&line, true);
    CHECK(ctx_level[3]);
    mq_plic_ops.reset(p);
    CHECK(!ctx_level[3]);
    CHECK_EQ(rd(p, PRIO(10)), 0);
    CHECK_EQ(rd(p, ENABLE(3, 0)), 0);
    CHECK_EQ(rd(p, PENDING(0)), 1u << 10); /* the line is still high */
    mq_plic_ops.destroy(p);
}

#define TOGGLES 20000u

struct toggler {
    struct mq_plic *p;
    unsigned source;
};

static void *toggle_source(void *arg)
{
    struct toggler *t = arg;

    for (unsigned i = 0; i < TOGGLES; i++)
        mq_plic_set_irq(t->p, t->source, i & 1);
    mq_plic_set_irq(t->p, t->source, true);
    return NULL;
}

/* Device threads toggle lines while the hart claims and completes: every
 * claim names an enabled source, and after the storm each source with its
 * line left high is claimed exactly once more. */
static void test_concurrent_lines(void)
{
    struct mq_plic *p = mq_plic_create(NSRC, NCTX, NULL, NULL);
    struct toggler t[3] = {{p, 1}, {p, 33}, {p, 95}};
    pthread_t th[3];
    bool seen[NSRC] = {false};

    for (unsigned i = 0; i < 3; i++) {
        wr(p, PRIO(t[i].source), 1 + i);
        wr(p, ENABLE(0, t[i].source / 32), rd(p, ENABLE(0, t[i].source / 32)) |
                                               1u << (t[i].source % 32));
    }
    for (unsigned i = 0; i < 3; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, toggle_source, &t[i]), 0);
    for (unsigned i = 0; i < TOGGLES; i++) {
        uint32_t id = rd(p, CLAIM(0));
        CHECK(id == 0 || id == 1 || id == 33 || id == 95);
        if (id)
            wr(p, CLAIM(0), id);
    }
    for (unsigned i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    for (;;) {
        uint32_t id = rd(p, CLAIM(0));
        if (!id || id >= NSRC || seen[id])
            break;
        seen[id] = true;
    }
    CHECK(seen[1] && seen[33] && seen[95]);
    CHECK_EQ(rd(p, CLAIM(0)), 0);
    mq_plic_ops.destroy(p);
}

/* Every side-effect-free register of a PLIC with NSRC sources and NCTX contexts. */
struct plic_regs {
    uint32_t prio[NSRC];
    uint32_t pending[3];
    uint32_t enable[NCTX][3];
    uint32_t threshold[NCTX];
};

static void read_regs(struct mq_plic *p, struct plic_regs *r)
{
    for (unsigned s = 0; s < NSRC; s++)
        r->prio[s] = rd(p, PRIO(s));
    for (unsigned w = 0; w < 3; w++) {
        r->pending[w] = rd(p, PENDING(w));
        for (unsigned c = 0; c < NCTX; c++)
            r->enable[c][w] = rd(p, ENABLE(c, w));
    }
    for (unsigned c = 0; c < NCTX; c++)
        r->threshold[c] = rd(p, THRESHOLD(c));
}

static void test_save_load(void)
{
    struct mq_plic *p = new_plic();
    struct plic_regs before, after;
    struct mqt_blob b, again;

    wr(p, PRIO(5), 3);
    wr(p, PRIO(10), 6);
    wr(p, PRIO(40), 1);
    wr(p, PRIO(95), 7);
    wr(p, ENABLE(0, 0), (1u << 5) | (1u << 10));
    wr(p, ENABLE(1, 1), 1u << 8);  /* source 40 */
    wr(p, ENABLE(2, 2), 1u << 31); /* source 95, masked by the threshold below */
    wr(p, THRESHOLD(2), 7);
    wr(p, THRESHOLD(3), 2);
    mq_plic_set_irq(p, 5, true);
    mq_plic_set_irq(p, 10, true);
    mq_plic_set_irq(p, 40, true);
    mq_plic_set_irq(p, 95, true);
    CHECK_EQ(rd(p, CLAIM(0)), 10); /* 10 in service, 5 still pending */
    CHECK(ctx_level[0] && ctx_level[1] && !ctx_level[2] && !ctx_level[3]);
    read_regs(p, &before);
    CHECK_EQ(mqt_save(mq_plic_ops.save, p, &b), 0);

    mq_plic_ops.reset(p);
    CHECK(!ctx_level[0] && !ctx_level[1]);
    memset(ctx_changes, 0, sizeof(ctx_changes));
    CHECK_EQ(mqt_load(mq_plic_ops.load, p, &b), 0);
    /* Every output is driven once, to its restored level. */
    for (unsigned c = 0; c < NCTX; c++)
        CHECK_EQ(ctx_changes[c], 1);
    CHECK(ctx_level[0] && ctx_level[1] && !ctx_level[2] && !ctx_level[3]);
    read_regs(p, &after);
    CHECK(!memcmp(&before, &after, sizeof(before)));
    CHECK_EQ(mqt_save(mq_plic_ops.save, p, &again), 0);
    CHECK(again.len == b.len && !memcmp(again.data, b.data, b.len));
    mqt_free(&again);

    /* Claim state survived: 10 is still in service, its completion re-arms it. */
    CHECK_EQ(rd(p, CLAIM(0)), 5);
    wr(p, CLAIM(0), 10);
    CHECK_EQ(rd(p, CLAIM(0)), 10);
    CHECK_EQ(rd(p, CLAIM(1)), 40);
    CHECK_EQ(rd(p, CLAIM(2)), 0);
    mqt_free(&b);
    mq_plic_ops.destroy(p);
}

static void test_load_refuses(void)
{
    /* 40 sources: the second bitmap word has only 8 valid bits. */
    struct mq_plic *p = mq_plic_create(40, NCTX, ctx_irq, NULL);
    struct mqt_blob b, bad;
    uint8_t *prio;
    size_t n;

    wr(p, PRIO(39), 2);
    CHECK_EQ(mqt_save(mq_plic_ops.save, p, &b), 0);
    wr(p, PRIO(39), 5);
    /* Fields: nsources, ncontexts, priorities, level/in-service per word,
     * then per context threshold and enable words. */
    CHECK_EQ(mqt_load_with(mq_plic_ops.load, p, &b, 0, 41), -EINVAL);
    CHECK(strstr(mqt_errmsg, "41 sources") != NULL);
    CHECK_EQ(mqt_load_with(mq_plic_ops.load, p, &b, 1, NCTX + 1), -EINVAL);
    CHECK_EQ(mqt_load_with(mq_plic_ops.load, p, &b, 3, 1), -EINVAL);       /* source 0 */
    CHECK_EQ(mqt_load_with(mq_plic_ops.load, p, &b, 5, 1u << 8), -EINVAL); /* source 40 */
    CHECK_EQ(mqt_load_with(mq_plic_ops.load, p, &b, 6, 1u << 8), -EINVAL); /* claimed 40 */
    CHECK(strstr(mqt_errmsg, "in-service") != NULL);
    CHECK_EQ(mqt_load_with(mq_plic_ops.load, p, &b, 7, 8), -EINVAL);       /* threshold */
    CHECK_EQ(mqt_load_with(mq_plic_ops.load, p, &b, 9, 1u << 9), -EINVAL); /* enable */
    CHECK_EQ(mqt_load_with(mq_plic_ops.load, p, &b, 3, 2), 0);             /* source 1: fine */
    wr(p, PRIO(39), 5);
    for (unsigned i = 0; i < 2; i++) {
        bad = (struct mqt_blob){malloc(b.len), b.len};
        memcpy(bad.data, b.data, b.len);
        prio = mqt_field(&bad, 2, &n);
        CHECK(prio != NULL && n == 40);
        if (prio) {
            prio[i == 0 ? 0 : 39] = i == 0 ? 1 : 8;
            mqt_fix_crc(&bad);
            CHECK_EQ(mqt_load(mq_plic_ops.load, p, &bad), -EINVAL);
        }
        mqt_free(&bad);
    }
    CHECK_EQ(rd(p, PRIO(39)), 5); /* untouched by every refused load */
    mqt_free(&b);
    mq_plic_ops.destroy(p);
}

int main(void)
{
    RUN(test_create_limits);
    RUN(test_registers);
    RUN(test_claim_priority_and_ties);
    RUN(test_threshold_masks);
    RUN(test_complete_ignored);
    RUN(test_irq_line_and_reset);
    RUN(test_concurrent_lines);
    RUN(test_save_load);
    RUN(test_load_refuses);
    return hw_test_failures ? 1 : 0;
}
