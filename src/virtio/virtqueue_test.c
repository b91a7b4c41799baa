/* SPDX-License-Identifier: MIT */
/* Tests of the split virtqueue walker: good chains, indirect tables, event idx and every malformed case. */
#include "virtio/virtqueue.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/le.h"
#include "util/log.h"
#include "util/state_testutil.h"

static int failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_) {                                                        \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n",        \
                    __FILE__, __LINE__, #a, a_, #b, b_);                       \
            failures++;                                                        \
        }                                                                      \
    } while (0)

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (2ull << 20)
#define QSIZE 8u
#define DESC (RAM_BASE + 0x1000)
#define AVAIL (RAM_BASE + 0x2000)
#define USED (RAM_BASE + 0x3000)
#define TABLE (RAM_BASE + 0x4000)
#define DATA (RAM_BASE + 0x100000)

/* A minimal driver side writing rings straight into guest RAM. */
struct drv {
    struct mq_guest_mem gm;
    struct mq_virtq q;
    uint16_t avail_idx;
    struct mq_virtq_seg segs[64];
    struct mq_virtq_chain chain;
};

static void put_desc(struct drv *d, uint64_t table, uint32_t i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    uint8_t raw[16];

    mq_put_le64(raw, addr);
    mq_put_le32(raw + 8, len);
    mq_put_le16(raw + 12, flags);
    mq_put_le16(raw + 14, next);
    CHECK_EQ(mq_guest_mem_write(&d->gm, table + 16ull * i, raw, 16), 0);
}

static void put16(struct drv *d, uint64_t gpa, uint16_t v)
{
    uint8_t raw[2];

    mq_put_le16(raw, v);
    CHECK_EQ(mq_guest_mem_write(&d->gm, gpa, raw, 2), 0);
}

static uint16_t get16(struct drv *d, uint64_t gpa)
{
    uint8_t raw[2] = {0};

    CHECK_EQ(mq_guest_mem_read(&d->gm, gpa, raw, 2), 0);
    return mq_get_le16(raw);
}

static uint32_t get32(struct drv *d, uint64_t gpa)
{
    uint8_t raw[4] = {0};

    CHECK_EQ(mq_guest_mem_read(&d->gm, gpa, raw, 4), 0);
    return mq_get_le32(raw);
}

static void make_avail(struct drv *d, uint16_t head)
{
    put16(d, AVAIL + 4 + 2 * (d->avail_idx % QSIZE), head);
    d->avail_idx++;
    put16(d, AVAIL + 2, d->avail_idx);
}

static void setup(struct drv *d, bool event_idx, bool indirect)
{
    memset(d, 0, sizeof(*d));
    CHECK_EQ(mq_guest_mem_init(&d->gm, RAM_BASE, RAM_SIZE), 0);
    CHECK_EQ(mq_virtq_setup(&d->q, &d->gm, QSIZE, DESC, AVAIL, USED, event_idx, indirect), 0);
    d->chain.segs = d->segs;
    d->chain.cap = MQ_ARRAY_SIZE(d->segs);
}

static void teardown(struct drv *d)
{
    mq_guest_mem_destroy(&d->gm);
}

static int pop(struct drv *d)
{
    return mq_virtq_pop(&d->q, &d->gm, &d->chain);
}

static void test_good_chain(void)
{
    struct drv d;
    uint8_t buf[64], out[64];

    setup(&d, false, false);
    CHECK_EQ(pop(&d), 0);
    put_desc(&d, DESC, 3, DATA, 10, MQ_VIRTQ_DESC_F_NEXT, 5);
    put_desc(&d, DESC, 5, DATA + 100, 20, MQ_VIRTQ_DESC_F_NEXT, 0);
    put_desc(&d, DESC, 0, DATA + 200, 30, MQ_VIRTQ_DESC_F_WRITE, 7);
    make_avail(&d, 3);
    CHECK_EQ(pop(&d), 1);
    CHECK_EQ(d.chain.head, 3);
    CHECK_EQ(d.chain.nsegs, 3);
    CHECK_EQ(d.chain.nread, 2);
    CHECK_EQ(d.chain.read_len, 30);
    CHECK_EQ(d.chain.write_len, 30);
    CHECK_EQ(d.segs[1].gpa, DATA + 100);
    CHECK(d.segs[2].write);
    CHECK_EQ(pop(&d), 0);

    /* Scatter/gather copies cross segment boundaries. */
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)i;
    CHECK_EQ(mq_guest_mem_write(&d.gm, DATA, buf, 10), 0);
    CHECK_EQ(mq_guest_mem_write(&d.gm, DATA + 100, buf + 10, 20), 0);
    CHECK_EQ(mq_virtq_chain_read(&d.gm, &d.chain, 5, out, 20), 0);
    CHECK(memcmp(out, buf + 5, 20) == 0);
    CHECK_EQ(mq_virtq_chain_read(&d.gm, &d.chain, 25, out, 6), -ERANGE);
    CHECK_EQ(mq_virtq_chain_write(&d.gm, &d.chain, 0, buf, 30), 0);
    CHECK_EQ(mq_virtq_chain_write(&d.gm, &d.chain, 1, buf, 30), -ERANGE);
    CHECK_EQ(mq_guest_mem_read(&d.gm, DATA + 200, out, 30), 0);
    CHECK(memcmp(out, buf, 30) == 0);

    CHECK_EQ(mq_virtq_push(&d.q, &d.gm, 3, 30), 0);
    CHECK_EQ(get16(&d, USED + 2), 1);
    CHECK_EQ(get32(&d, USED + 4), 3);
    CHECK_EQ(get32(&d, USED + 8), 30);
    CHECK_EQ(mq_virtq_push(&d.q, &d.gm, QSIZE, 0), -ERANGE);
    teardown(&d);
}

static void test_wraparound(void)
{
    struct drv d;

    setup(&d, false, false);
    d.q.last_avail_idx = d.q.used_idx = 65534;
    d.avail_idx = 65534;
    put_desc(&d, DESC, 1, DATA, 4, 0, 0);
    for (int i = 0; i < 4; i++) {
        make_avail(&d, 1);
        CHECK_EQ(pop(&d), 1);
        CHECK_EQ(mq_virtq_push(&d.q, &d.gm, 1, 0), 0);
    }
    CHECK_EQ(d.q.last_avail_idx, 2);
    CHECK_EQ(get16(&d, USED + 2), 2);
    teardown(&d);
}

static void test_indirect(void)
{
    struct drv d;

    setup(&d, false, true);
    put_desc(&d, TABLE, 0, DATA, 16, MQ_VIRTQ_DESC_F_NEXT, 2);
    put_desc(&d, TABLE, 2, DATA + 16, 512, MQ_VIRTQ_DESC_F_NEXT | MQ_VIRTQ_DESC_F_WRITE, 1);
    put_desc(&d, TABLE, 1, DATA + 600, 1, MQ_VIRTQ_DESC_F_WRITE, 0);
    put_desc(&d, DESC, 4, TABLE, 3 * 16, MQ_VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(&d, 4);
    CHECK_EQ(pop(&d), 1);
    CHECK_EQ(d.chain.head, 4);
    CHECK_EQ(d.chain.nsegs, 3);
    CHECK_EQ(d.chain.read_len, 16);
    CHECK_EQ(d.chain.write_len, 513);

    /* Direct descriptors followed by an indirect one are accepted too. */
    put_desc(&d, DESC, 5, DATA + 800, 8, MQ_VIRTQ_DESC_F_NEXT, 4);
    make_avail(&d, 5);
    CHECK_EQ(pop(&d), 1);
    CHECK_EQ(d.chain.nsegs, 4);
    CHECK_EQ(d.chain.read_len, 24);
    teardown(&d);

    /* Without the feature an indirect descriptor is an error. */
    setup(&d, false, false);
    put_desc(&d, TABLE, 0, DATA, 16, 0, 0);
    put_desc(&d, DESC, 4, TABLE, 16, MQ_VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(&d, 4);
    CHECK_EQ(pop(&d), -EINVAL);
    CHECK_EQ(pop(&d), -EIO);
    teardown(&d);
}

/* Pops the chain headed by head and expects err, then a broken queue. */
static void expect_error(struct drv *d, uint16_t head, int err)
{
    make_avail(d, head);
    CHECK_EQ(pop(d), err);
    CHECK(d->q.broken);
    CHECK_EQ(pop(d), -EIO);
}

static void test_malformed(void)
{
    struct drv d;

    /* next >= size */
    setup(&d, false, true);
    put_desc(&d, DESC, 0, DATA, 4, MQ_VIRTQ_DESC_F_NEXT, QSIZE);
    expect_error(&d, 0, -ERANGE);
    teardown(&d);

    /* head >= size */
    setup(&d, false, true);
    expect_error(&d, QSIZE + 3, -ERANGE);
    teardown(&d);

    /* A loop: 0 -> 1 -> 0. */
    setup(&d, false, true);
    put_desc(&d, DESC, 0, DATA, 4, MQ_VIRTQ_DESC_F_NEXT, 1);
    put_desc(&d, DESC, 1, DATA, 4, MQ_VIRTQ_DESC_F_NEXT, 0);
    expect_error(&d, 0, -ELOOP);
    teardown(&d);

    /* A self loop inside an indirect table. */
    setup(&d, false, true);
    put_desc(&d, TABLE, 1, DATA, 4, MQ_VIRTQ_DESC_F_NEXT, 1);
    put_desc(&d, TABLE, 0, DATA, 4, MQ_VIRTQ_DESC_F_NEXT, 1);
    put_desc(&d, DESC, 2, TABLE, 32, MQ_VIRTQ_DESC_F_INDIRECT, 0);
    expect_error(&d, 2, -ELOOP);
    teardown(&d);

    /* next beyond the indirect table's own size. */
    setup(&d, false, true);
    put_desc(&d, TABLE, 0, DATA, 4, MQ_VIRTQ_DESC_F_NEXT, 2);
    put_desc(&d, DESC, 2, TABLE, 32, MQ_VIRTQ_DESC_F_INDIRECT, 0);
    expect_error(&d, 2, -ERANGE);
    teardown(&d);

    /* Nested indirect. */
    setup(&d, false, true);
    put_desc(&d, TABLE, 0, TABLE + 256, 16, MQ_VIRTQ_DESC_F_INDIRECT, 0);
    put_desc(&d, DESC, 2, TABLE, 16, MQ_VIRTQ_DESC_F_INDIRECT, 0);
    expect_error(&d, 2, -EINVAL);
    teardown(&d);

    /* Indirect length zero, not a multiple of 16, with NEXT set. */
    setup(&d, false, true);
    put_desc(&d, DESC, 2, TABLE, 0, MQ_VIRTQ_DESC_F_INDIRECT, 0);
    expect_error(&d, 2, -EINVAL);
    teardown(&d);
    setup(&d, false, true);
    put_desc(&d, DESC, 2, TABLE, 17, MQ_VIRTQ_DESC_F_INDIRECT, 0);
    expect_error(&d, 2, -EINVAL);
    teardown(&d);
    setup(&d, false, true);
    put_desc(&d, DESC, 2, TABLE, 16, MQ_VIRTQ_DESC_F_INDIRECT | MQ_VIRTQ_DESC_F_NEXT, 3);
    expect_error(&d, 2, -EINVAL);
    teardown(&d);

    /* Indirect table outside RAM, and straddling its end. */
    setup(&d, false, true);
    put_desc(&d, DESC, 2, RAM_BASE - 4096, 16, MQ_VIRTQ_DESC_F_INDIRECT, 0);
    expect_error(&d, 2, -EFAULT);
    teardown(&d);
    setup(&d, false, true);
    put_desc(&d, DESC, 2, RAM_BASE + RAM_SIZE - 16, 32, MQ_VIRTQ_DESC_F_INDIRECT, 0);
    expect_error(&d, 2, -EFAULT);
    teardown(&d);

    /* Readable after writable. */
    setup(&d, false, true);
    put_desc(&d, DESC, 0, DATA, 4, MQ_VIRTQ_DESC_F_WRITE | MQ_VIRTQ_DESC_F_NEXT, 1);
    put_desc(&d, DESC, 1, DATA, 4, 0, 0);
    expect_error(&d, 0, -EPROTO);
    teardown(&d);

    /* Buffers outside RAM: below, above, straddling the end, wrapping 2^64. */
    static const struct {
        uint64_t addr;
        uint32_t len;
    } bad[] = {
        {0x1000, 4},
        {RAM_BASE + RAM_SIZE, 1},
        {RAM_BASE + RAM_SIZE - 4, 8},
        {0xfffffffffffffff0ull, 0x20},
        {RAM_BASE, 0xffffffffu},
    };
    for (unsigned i = 0; i < MQ_ARRAY_SIZE(bad); i++) {
        setup(&d, false, true);
        put_desc(&d, DESC, 6, bad[i].addr, bad[i].len, 0, 0);
        expect_error(&d, 6, -EFAULT);
        teardown(&d);
    }

    /* More segments than the caller's capacity. */
    setup(&d, false, true);
    d.chain.cap = 2;
    put_desc(&d, DESC, 0, DATA, 4, MQ_VIRTQ_DESC_F_NEXT, 1);
    put_desc(&d, DESC, 1, DATA, 4, MQ_VIRTQ_DESC_F_NEXT, 2);
    put_desc(&d, DESC, 2, DATA, 4, 0, 0);
    expect_error(&d, 0, -ENOBUFS);
    teardown(&d);

    /* avail idx running ahead by more than the queue size. */
    setup(&d, false, true);
    put16(&d, AVAIL + 2, QSIZE + 1);
    CHECK_EQ(pop(&d), -EBADMSG);
    CHECK_EQ(pop(&d), -EIO);
    teardown(&d);
    /* Exactly the queue size ahead is fine. */
    setup(&d, false, true);
    put_desc(&d, DESC, 0, DATA, 4, 0, 0);
    for (unsigned i = 0; i < QSIZE; i++)
        make_avail(&d, 0);
    for (unsigned i = 0; i < QSIZE; i++)
        CHECK_EQ(pop(&d), 1);
    CHECK_EQ(pop(&d), 0);
    teardown(&d);

    /* After a reset and setup the queue works again. */
    setup(&d, false, true);
    expect_error(&d, QSIZE, -ERANGE);
    CHECK_EQ(mq_virtq_setup(&d.q, &d.gm, QSIZE, DESC, AVAIL, USED, false, true), 0);
    CHECK(!d.q.broken);
    teardown(&d);
}

/* Total length above 4 GiB - 1: 4097 descriptors of 1 MiB in one indirect table. */
static void test_length_overflow(void)
{
    struct drv d;
    static struct mq_virtq_seg many[8192];
    const uint32_t n = 4097;

    setup(&d, false, true);
    d.chain.segs = many;
    d.chain.cap = MQ_ARRAY_SIZE(many);
    for (uint32_t i = 0; i < n; i++)
        put_desc(&d, TABLE, i, RAM_BASE, 1u << 20, i + 1 < n ? MQ_VIRTQ_DESC_F_NEXT : 0,
                 (uint16_t)(i + 1));
    put_desc(&d, DESC, 1, TABLE, n * 16, MQ_VIRTQ_DESC_F_INDIRECT, 0);
    expect_error(&d, 1, -EOVERFLOW);
    teardown(&d);
}

static void test_setup_checks(void)
{
    struct mq_guest_mem gm;
    struct mq_virtq q;

    CHECK_EQ(mq_guest_mem_init(&gm, RAM_BASE, RAM_SIZE), 0);
    CHECK_EQ(mq_virtq_setup(&q, &gm, 0, DESC, AVAIL, USED, false, false), -EINVAL);
    CHECK_EQ(mq_virtq_setup(&q, &gm, 6, DESC, AVAIL, USED, false, false), -EINVAL);
    CHECK_EQ(mq_virtq_setup(&q, &gm, 65536, DESC, AVAIL, USED, false, false), -EINVAL);
    CHECK_EQ(mq_virtq_setup(&q, &gm, 8, DESC + 8, AVAIL, USED, false, false), -EINVAL);
    CHECK_EQ(mq_virtq_setup(&q, &gm, 8, DESC, AVAIL + 1, USED, false, false), -EINVAL);
    CHECK_EQ(mq_virtq_setup(&q, &gm, 8, DESC, AVAIL, USED + 2, false, false), -EINVAL);
    CHECK_EQ(q.size, 0);
    CHECK_EQ(mq_virtq_setup(&q, &gm, 8, 0x1000, AVAIL, USED, false, false), -EFAULT);
    /* The used ring's trailing avail_event must fit too: 6 + 8 * 8 = 70 bytes. */
    CHECK_EQ(mq_virtq_setup(&q, &gm, 8, DESC, AVAIL, RAM_BASE + RAM_SIZE - 68, false, false),
             -EFAULT);
    CHECK_EQ(mq_virtq_setup(&q, &gm, 8, DESC, AVAIL, RAM_BASE + RAM_SIZE - 72, false, false),
             0);
    CHECK_EQ(mq_virtq_setup(&q, &gm, 32768, RAM_BASE + RAM_SIZE - 0x40000, AVAIL, USED, false,
                            false),
             -EFAULT);
    mq_guest_mem_destroy(&gm);
}

static void test_event_idx(void)
{
    struct drv d;
    const uint64_t used_event = AVAIL + 4 + 2 * QSIZE;
    const uint64_t avail_event = USED + 4 + 8 * QSIZE;

    setup(&d, true, false);
    put_desc(&d, DESC, 0, DATA, 4, 0, 0);
    /* An empty pop publishes avail_event = last_avail_idx. */
    put16(&d, avail_event, 0xabcd);
    CHECK_EQ(pop(&d), 0);
    CHECK_EQ(get16(&d, avail_event), 0);
    make_avail(&d, 0);
    make_avail(&d, 0);
    CHECK_EQ(pop(&d), 1);
    CHECK_EQ(get16(&d, avail_event), 1);
    CHECK_EQ(pop(&d), 1);
    CHECK_EQ(get16(&d, avail_event), 2);

    /* First decision always notifies. */
    CHECK_EQ(mq_virtq_push(&d.q, &d.gm, 0, 0), 0);
    CHECK(mq_virtq_should_notify(&d.q, &d.gm));
    /* Driver wants an interrupt only once used idx passes 3 (used_event = 2). */
    put16(&d, used_event, 2);
    CHECK(!mq_virtq_should_notify(&d.q, &d.gm)); /* nothing new */
    CHECK_EQ(mq_virtq_push(&d.q, &d.gm, 0, 0), 0); /* used idx 2: event 2 not crossed */
    CHECK(!mq_virtq_should_notify(&d.q, &d.gm));
    make_avail(&d, 0);
    CHECK_EQ(pop(&d), 1);
    CHECK_EQ(mq_virtq_push(&d.q, &d.gm, 0, 0), 0); /* used idx 3: crosses 2 */
    CHECK(mq_virtq_should_notify(&d.q, &d.gm));
    teardown(&d);

    /* Without event idx: VIRTQ_AVAIL_F_NO_INTERRUPT. */
    setup(&d, false, false);
    CHECK_EQ(mq_virtq_push(&d.q, &d.gm, 0, 0), 0);
    CHECK(mq_virtq_should_notify(&d.q, &d.gm));
    put16(&d, AVAIL, MQ_VIRTQ_AVAIL_F_NO_INTERRUPT);
    CHECK(!mq_virtq_should_notify(&d.q, &d.gm));
    teardown(&d);
}

/* The queue as a one-section device for the mqt_ helpers. */
static struct mq_guest_mem *vq_gm;

static int vq_save(void *q, struct mq_state_writer *w)
{
    mq_state_set_version(w, 1);
    mq_virtq_save(q, w);
    return mq_state_writer_error(w);
}

static int vq_load(void *q, struct mq_state_reader *r)
{
    return mq_virtq_load(q, vq_gm, r);
}

static void test_save_load(void)
{
    struct drv d;
    struct mq_virtq copy, before;
    struct mqt_blob b;

    setup(&d, true, true);
    vq_gm = &d.gm;
    put_desc(&d, DESC, 0, DATA, 4, 0, 0);
    for (int i = 0; i < 3; i++) {
        make_avail(&d, 0);
        CHECK_EQ(pop(&d), 1);
        CHECK_EQ(mq_virtq_push(&d.q, &d.gm, 0, 4), 0);
        mq_virtq_should_notify(&d.q, &d.gm);
    }
    make_avail(&d, 0);
    CHECK_EQ(pop(&d), 1); /* one chain in flight: the caller's policy, not the queue's */
    CHECK_EQ(mq_virtq_in_flight(&d.q), 1);
    before = d.q;
    CHECK_EQ(mqt_save(vq_save, &d.q, &b), 0);

    memset(&copy, 0x5a, sizeof(copy));
    CHECK_EQ(mqt_load(vq_load, &copy, &b), 0);
    CHECK_EQ(copy.size, before.size);
    CHECK_EQ(copy.desc_gpa, before.desc_gpa);
    CHECK_EQ(copy.avail_gpa, before.avail_gpa);
    CHECK_EQ(copy.used_gpa, before.used_gpa);
    CHECK(copy.event_idx && copy.indirect && !copy.broken);
    CHECK_EQ(copy.last_avail_idx, 4);
    CHECK_EQ(copy.used_idx, 3);
    CHECK_EQ(copy.signalled_used, before.signalled_used);
    CHECK(copy.signalled_used_valid);
    /* The restored queue carries on where the original stopped. */
    CHECK_EQ(mq_virtq_push(&copy, &d.gm, 0, 4), 0);
    CHECK_EQ(get16(&d, USED + 2), 4);
    make_avail(&d, 0);
    CHECK_EQ(mq_virtq_pop(&copy, &d.gm, &d.chain), 1);
    CHECK_EQ(copy.last_avail_idx, 5);

    /* Fields: size, desc, avail, used, event_idx, indirect, broken,
     * last_avail_idx, used_idx, signalled_used, signalled_used_valid. */
    copy = before;
    CHECK_EQ(mqt_load_with(vq_load, &copy, &b, 0, 3), -EINVAL);     /* not a power of 2 */
    CHECK_EQ(mqt_load_with(vq_load, &copy, &b, 0, 65536), -EINVAL); /* too big */
    CHECK_EQ(mqt_load_with(vq_load, &copy, &b, 1, DESC + 8), -EINVAL);
    CHECK_EQ(mqt_load_with(vq_load, &copy, &b, 2, RAM_BASE - 2), -EFAULT);
    CHECK_EQ(mqt_load_with(vq_load, &copy, &b, 3, RAM_BASE + RAM_SIZE - 4), -EFAULT);
    CHECK(strstr(mqt_errmsg, "refused") != NULL);
    CHECK_EQ(mqt_load_with(vq_load, &copy, &b, 4, 2), -EINVAL);
    CHECK_EQ(mqt_load_with(vq_load, &copy, &b, 7, 3 + QSIZE + 1), -EINVAL);
    CHECK(strstr(mqt_errmsg, "in flight") != NULL);
    CHECK_EQ(mqt_load_with(vq_load, &copy, &b, 7, 3 + QSIZE), 0); /* a full queue is fine */
    CHECK_EQ(copy.last_avail_idx, 3 + QSIZE);
    copy = before;
    CHECK_EQ(mqt_load_with(vq_load, &copy, &b, 7, 2), -EINVAL);   /* used ahead of avail */
    CHECK_EQ(copy.last_avail_idx, before.last_avail_idx);          /* untouched */
    mqt_free(&b);

    /* A queue that is not set up saves zeros and must load as zeros. */
    mq_virtq_reset(&d.q);
    CHECK_EQ(mqt_save(vq_save, &d.q, &b), 0);
    copy = before;
    CHECK_EQ(mqt_load(vq_load, &copy, &b), 0);
    CHECK_EQ(copy.size, 0);
    CHECK_EQ(copy.used_idx, 0);
    CHECK_EQ(mqt_load_with(vq_load, &copy, &b, 8, 1), -EINVAL);
    mqt_free(&b);
    teardown(&d);
}

int main(void)
{
    /* Malformed-ring tests warn by design; keep the output readable. */
    mq_log_set_level(MQ_LOG_ERROR);
    test_good_chain();
    test_wraparound();
    test_indirect();
    test_malformed();
    test_length_overflow();
    test_setup_checks();
    test_event_idx();
    test_save_load();
    if (failures) {
        fprintf(stderr, "virtqueue_test: %d failures\n", failures);
        return 1;
    }
    printf("virtqueue_test: ok\n");
    return 0;
}
