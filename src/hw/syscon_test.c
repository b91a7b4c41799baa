/* SPDX-License-Identifier: MIT */
/* Unit tests of the SiFive test finisher (syscon poweroff/reboot). */
#include "hw/syscon.h"

#include "hw/hw_test.h"
#include "util/state_testutil.h"

static unsigned calls;
static enum mq_syscon_action last_action;
static int last_code;

static void action(void *opaque, enum mq_syscon_action a, int code)
{
    (void)opaque;
    calls++;
    last_action = a;
    last_code = code;
}

static void test_codes(void)
{
    struct mq_syscon *s = mq_syscon_create(action, NULL);
    uint64_t v;

    CHECK(s != NULL);
    CHECK_EQ(dev_rd(&mq_syscon_ops, s, 0, 4), 0);

    dev_wr(&mq_syscon_ops, s, 0, 4, 0x5555);
    CHECK_EQ(calls, 1);
    CHECK(last_action == MQ_SYSCON_POWEROFF);
    CHECK_EQ(last_code, 0);

    dev_wr(&mq_syscon_ops, s, 0, 4, (42u << 16) | 0x3333);
    CHECK_EQ(calls, 2);
    CHECK(last_action == MQ_SYSCON_POWEROFF);
    CHECK_EQ(last_code, 42);

    dev_wr(&mq_syscon_ops, s, 0, 4, 0xffff3333u);
    CHECK_EQ(calls, 3);
    CHECK_EQ(last_code, 0xffff);

    dev_wr(&mq_syscon_ops, s, 0, 4, 0x7777);
    CHECK_EQ(calls, 4);
    CHECK(last_action == MQ_SYSCON_REBOOT);
    CHECK_EQ(last_code, 0);

    /* OpenSBI's 16-bit stores. */
    dev_wr(&mq_syscon_ops, s, 0, 2, 0x5555);
    CHECK_EQ(calls, 5);
    CHECK(last_action == MQ_SYSCON_POWEROFF);
    CHECK_EQ(last_code, 0);
    dev_wr(&mq_syscon_ops, s, 0, 2, 0x7777);
    CHECK_EQ(calls, 6);
    CHECK(last_action == MQ_SYSCON_REBOOT);
    CHECK_EQ(dev_rd(&mq_syscon_ops, s, 0, 2), 0);
    calls = 4;

    /* Unknown values and other offsets are ignored. */
    dev_wr(&mq_syscon_ops, s, 0, 4, 0x1234);
    dev_wr(&mq_syscon_ops, s, 0, 4, 0);
    dev_wr(&mq_syscon_ops, s, 4, 4, 0x5555);
    dev_wr(&mq_syscon_ops, s, 0xffc, 4, 0x7777);
    dev_wr(&mq_syscon_ops, s, 2, 2, 0x5555);
    CHECK_EQ(calls, 4);
    CHECK_EQ(dev_rd(&mq_syscon_ops, s, 0xffc, 4), 0);

    /* Only aligned 32-bit accesses reach the device. */
    CHECK(mq_syscon_ops.write(s, 2, 4, 0x5555) < 0);
    CHECK(mq_syscon_ops.write(s, 1, 2, 0x5555) < 0);
    CHECK(mq_syscon_ops.write(s, 0, 1, 0x55) < 0);
    CHECK(mq_syscon_ops.read(s, 0, 8, &v) < 0);
    CHECK_EQ(calls, 4);
    mq_syscon_ops.destroy(s);
}

static void test_null_action(void)
{
    struct mq_syscon *s = mq_syscon_create(NULL, NULL);

    CHECK(s != NULL);
    dev_wr(&mq_syscon_ops, s, 0, 4, 0x5555);
    mq_syscon_ops.destroy(s);
}

static void test_save_load(void)
{
    struct mq_syscon *s = mq_syscon_create(action, NULL);
    struct mqt_blob b;

    CHECK_EQ(mqt_save(mq_syscon_ops.save, s, &b), 0);
    CHECK_EQ(mqt_load(mq_syscon_ops.load, s, &b), 0);
    /* Still works after the load. */
    calls = 0;
    dev_wr(&mq_syscon_ops, s, 0, 4, 0x7777);
    CHECK_EQ(calls, 1);
    CHECK_EQ(last_action, MQ_SYSCON_REBOOT);
    mqt_set_version(&b, 2);
    CHECK_EQ(mqt_load(mq_syscon_ops.load, s, &b), -EPROTONOSUPPORT);
    CHECK(strstr(mqt_errmsg, "version 2 is not supported") != NULL);
    mqt_free(&b);
    mq_syscon_ops.destroy(s);
}

int main(void)
{
    RUN(test_codes);
    RUN(test_null_action);
    RUN(test_save_load);
    return hw_test_failures ? 1 : 0;
}
