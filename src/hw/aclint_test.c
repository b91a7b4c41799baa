/* SPDX-License-Identifier: MIT */
/* Unit tests of the CLINT (ACLINT MSWI + MTIMER, SiFive layout). */
#include "hw/aclint.h"

#include <errno.h>
#include <string.h>

#include "hw/hw_test.h"
#include "util/state_testutil.h"

#define NHARTS 3
#define MSIP(h) (4u * (h))
#define MTIMECMP(h) (0x4000u + 8u * (h))
#define MTIME 0xbff8u

static bool msip[NHARTS];
static unsigned msip_calls;
static uint64_t mtimecmp[NHARTS];
static unsigned mtimecmp_calls;

static void set_msip(void *opaque, unsigned hart, bool level)
{
    (void)opaque;
    if (hart < NHARTS)
        msip[hart] = level;
    msip_calls++;
}

static void set_mtimecmp(void *opaque, unsigned hart, uint64_t value)
{
    (void)opaque;
    if (hart < NHARTS)
        mtimecmp[hart] = value;
    mtimecmp_calls++;
}

static struct mq_timebase tb;

static struct mq_aclint *new_clint(void)
{
    memset(msip, 0, sizeof(msip));
    memset(mtimecmp, 0, sizeof(mtimecmp));
    msip_calls = mtimecmp_calls = 0;
    mq_timebase_init(&tb, 10000000);
    return mq_aclint_create(&tb, NHARTS, set_msip, set_mtimecmp, NULL);
}

static uint64_t rd(struct mq_aclint *c, uint64_t off, unsigned size)
{
    return dev_rd(&mq_aclint_ops, c, off, size);
}

static void wr(struct mq_aclint *c, uint64_t off, unsigned size, uint64_t v)
{
    dev_wr(&mq_aclint_ops, c, off, size, v);
}

static void test_create_limits(void)
{
    mq_timebase_init(&tb, 10000000);
    errno = 0;
    CHECK(mq_aclint_create(&tb, 0, NULL, NULL, NULL) == NULL && errno == EINVAL);
    CHECK(mq_aclint_create(&tb, MQ_ACLINT_MAX_HARTS + 1, NULL, NULL, NULL) == NULL);
    CHECK(mq_aclint_create(NULL, 1, NULL, NULL, NULL) == NULL);

    struct mq_aclint *c = mq_aclint_create(&tb, MQ_ACLINT_MAX_HARTS, NULL, NULL, NULL);
    CHECK(c != NULL);
    /* The last hart's mtimecmp sits right below mtime. */
    wr(c, MTIMECMP(MQ_ACLINT_MAX_HARTS - 1), 8, 1234);
    CHECK_EQ(rd(c, 0xbff0, 8), 1234);
    wr(c, MSIP(MQ_ACLINT_MAX_HARTS - 1), 4, 1);
    CHECK_EQ(rd(c, 0x3ff8, 4), 1);
    CHECK_EQ(rd(c, 0x3ffc, 4), 0); /* no hart 4095 */
    mq_aclint_ops.destroy(c);
}

static void test_msip(void)
{
    struct mq_aclint *c = new_clint();

    CHECK_EQ(rd(c, MSIP(1), 4), 0);
    wr(c, MSIP(1), 4, 0xffffffffu); /* only bit 0 is writable */
    CHECK(msip[1]);
    CHECK_EQ(rd(c, MSIP(1), 4), 1);
    wr(c, MSIP(1), 4, 2);
    CHECK(!msip[1]);
    CHECK_EQ(rd(c, MSIP(1), 4), 0);
    /* A 64-bit access covers two harts. */
    wr(c, MSIP(0), 8, 0x100000001ull);
    CHECK(msip[0] && msip[1]);
    CHECK_EQ(rd(c, MSIP(0), 8), 0x100000001ull);
    /* Missing harts read 0; writes are ignored. */
    unsigned calls = msip_calls;
    wr(c, MSIP(NHARTS), 4, 1);
    CHECK_EQ(rd(c, MSIP(NHARTS), 4), 0);
    CHECK_EQ(msip_calls, calls);
    mq_aclint_ops.destroy(c);
}

static void test_mtimecmp(void)
{
    struct mq_aclint *c = new_clint();

    /* Reset value: all ones, no interrupt pending. */
    CHECK_EQ(rd(c, MTIMECMP(2), 8), UINT64_MAX);
    CHECK_EQ(rd(c, MTIMECMP(2), 4), UINT32_MAX);
    CHECK_EQ(rd(c, MTIMECMP(2) + 4, 4), UINT32_MAX);

    wr(c, MTIMECMP(2), 8, 0x0123456789abcdefull);
    CHECK_EQ(mtimecmp[2], 0x0123456789abcdefull);
    CHECK_EQ(rd(c, MTIMECMP(2), 8), 0x0123456789abcdefull);
    CHECK_EQ(rd(c, MTIMECMP(2), 4), 0x89abcdefu);
    CHECK_EQ(rd(c, MTIMECMP(2) + 4, 4), 0x01234567u);

    /* RV32-style update through two halves; every write is forwarded. */
    unsigned calls = mtimecmp_calls;
    wr(c, MTIMECMP(1), 4, 0xffffffffu);
    wr(c, MTIMECMP(1) + 4, 4, 0x00000002u);
    wr(c, MTIMECMP(1), 4, 0x00000010u);
    CHECK_EQ(mtimecmp_calls, calls + 3);
    CHECK_EQ(mtimecmp[1], 0x0000000200000010ull);
    CHECK_EQ(rd(c, MTIMECMP(1), 8), 0x0000000200000010ull);
    CHECK_EQ(mtimecmp[2], 0x0123456789abcdefull); /* neighbours untouched */

    /* Missing harts read 0; writes are ignored. */
    calls = mtimecmp_calls;
    wr(c, MTIMECMP(NHARTS), 8, 5);
    CHECK_EQ(rd(c, MTIMECMP(NHARTS), 8), 0);
    CHECK_EQ(mtimecmp_calls, calls);
    mq_aclint_ops.destroy(c);
}

static void test_mtime(void)
{
    struct mq_aclint *c = new_clint();
    uint64_t t0, t1;

    t0 = rd(c, MTIME, 8);
    t1 = rd(c, MTIME, 8);
    CHECK(t1 >= t0);
    CHECK(t0 < 10000000); /* started at 0 less than a second ago */

    /* A write sets the counter and re-announces every mtimecmp. */
    wr(c, MTIMECMP(0), 8, 77);
    unsigned calls = mtimecmp_calls;
    wr(c, MTIME, 8, 0x0000000500000000ull);
    CHECK_EQ(mtimecmp_calls, calls + NHARTS);
    CHECK_EQ(mtimecmp[0], 77);
    t0 = rd(c, MTIME, 8);
    CHECK(t0 >= 0x0000000500000000ull && t0 < 0x0000000500000000ull + 10000000);
    CHECK_EQ(rd(c, MTIME + 4, 4), 5);
    CHECK_EQ(mq_timebase_read(&tb) >> 32, 5);

    /* 32-bit halves. */
    wr(c, MTIME + 4, 4, 9);
    CHECK_EQ(rd(c, MTIME + 4, 4), 9);
    wr(c, MTIME, 4, 0);
    t0 = rd(c, MTIME, 8);
    CHECK(t0 >= 0x0000000900000000ull && t0 < 0x0000000900000000ull + 10000000);
    mq_aclint_ops.destroy(c);
}

static void test_holes_reset_and_sizes(void)
{
    struct mq_aclint *c = new_clint();
    uint64_t v;

    CHECK_EQ(rd(c, 0xc000, 4), 0);
    CHECK_EQ(rd(c, 0xfff8, 8), 0);
    wr(c, 0xc000, 4, 1);
    CHECK(mq_aclint_ops.read(c, 0x4004, 8, &v) < 0); /* misaligned */
    CHECK(mq_aclint_ops.read(c, 0, 2, &v) < 0);
    CHECK(mq_aclint_ops.write(c, 0x10000, 4, 0) < 0);

    wr(c, MSIP(2), 4, 1);
    wr(c, MTIMECMP(2), 8, 3);
    mq_aclint_ops.reset(c);
    CHECK(!msip[2]);
    CHECK_EQ(mtimecmp[2], UINT64_MAX);
    CHECK_EQ(rd(c, MSIP(2), 4), 0);
    CHECK_EQ(rd(c, MTIMECMP(2), 8), UINT64_MAX);
    mq_aclint_ops.destroy(c);
}

static void test_save_load(void)
{
    struct mq_aclint *c = new_clint();
    struct mqt_blob b, again;

    wr(c, MSIP(1), 4, 1);
    wr(c, MTIMECMP(0), 8, 0x1122334455667788ull);
    wr(c, MTIMECMP(2), 8, 12345);
    CHECK_EQ(mqt_save(mq_aclint_ops.save, c, &b), 0);
    mq_aclint_ops.reset(c);
    CHECK(!msip[1]);
    CHECK_EQ(mtimecmp[0], UINT64_MAX);

    msip_calls = mtimecmp_calls = 0;
    CHECK_EQ(mqt_load(mq_aclint_ops.load, c, &b), 0);
    /* The harts got every restored value back through the callbacks. */
    CHECK_EQ(msip_calls, NHARTS);
    CHECK_EQ(mtimecmp_calls, NHARTS);
    CHECK(!msip[0] && msip[1] && !msip[2]);
    CHECK_EQ(mtimecmp[0], 0x1122334455667788ull);
    CHECK_EQ(mtimecmp[1], UINT64_MAX);
    CHECK_EQ(mtimecmp[2], 12345);
    CHECK_EQ(rd(c, MSIP(1), 4), 1);
    CHECK_EQ(rd(c, MTIMECMP(0), 8), 0x1122334455667788ull);
    CHECK_EQ(rd(c, MTIMECMP(2), 8), 12345);
    CHECK_EQ(mqt_save(mq_aclint_ops.save, c, &again), 0);
    CHECK(again.len == b.len && !memcmp(again.data, b.data, b.len));
    mqt_free(&again);

    /* Fields: nharts, then msip and mtimecmp per hart. */
    wr(c, MTIMECMP(2), 8, 99);
    CHECK_EQ(mqt_load_with(mq_aclint_ops.load, c, &b, 0, NHARTS + 1), -EINVAL);
    CHECK(strstr(mqt_errmsg, "harts") != NULL);
    CHECK_EQ(mqt_load_with(mq_aclint_ops.load, c, &b, 3, 2), -EINVAL);
    CHECK_EQ(rd(c, MTIMECMP(2), 8), 99);
    mqt_set_version(&b, 7);
    CHECK_EQ(mqt_load(mq_aclint_ops.load, c, &b), -EPROTONOSUPPORT);
    mqt_free(&b);
    mq_aclint_ops.destroy(c);
}

int main(void)
{
    RUN(test_create_limits);
    RUN(test_msip);
    RUN(test_mtimecmp);
    RUN(test_mtime);
    RUN(test_holes_reset_and_sizes);
    RUN(test_save_load);
    return hw_test_failures ? 1 : 0;
}
