/* SPDX-License-Identifier: MIT */
/* Unit tests for the learning switch core (net/switch_core.h), with fake ports. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net/switch_core.h"

static int failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

#define SEC 1000000000ull

static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static void mac_n(uint8_t mac[6], unsigned n)
{
    const uint8_t base[6] = {0x52, 0x54, 0x00, 0, 0, 0};

    memcpy(mac, base, 6);
    mac[3] = (uint8_t)(n >> 16);
    mac[4] = (uint8_t)(n >> 8);
    mac[5] = (uint8_t)n;
}

/* A 60-byte frame dst <- src whose payload starts with tag. */
static size_t frame(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint8_t tag)
{
    memset(buf, 0, 60);
    memcpy(buf, dst, 6);
    memcpy(buf + 6, src, 6);
    buf[12] = 0x08;
    buf[14] = tag;
    return 60;
}

/* Pop the port's oldest frame; its tag, or -1 when the queue is empty. */
static int take(struct mq_switch *sw, int port)
{
    size_t len;
    const uint8_t *f = mq_switch_port_peek(sw, port, &len);
    int tag;

    if (!f)
        return -1;
    tag = len > 14 ? f[14] : -2;
    mq_switch_port_pop(sw, port);
    return tag;
}

static void test_learn_and_flood(void)
{
    struct mq_switch *sw = mq_switch_new(NULL);
    uint8_t a[6], b[6], c[6], buf[64];
    int pa, pb, pc;

    mac_n(a, 1);
    mac_n(b, 2);
    mac_n(c, 3);
    pa = mq_switch_port_add(sw);
    pb = mq_switch_port_add(sw);
    pc = mq_switch_port_add(sw);
    CHECK(pa == 0 && pb == 1 && pc == 2 && mq_switch_port_count(sw) == 3);
    /* Unknown destination: flooded to every other port. */
    CHECK(mq_switch_input(sw, pa, buf, frame(buf, b, a, 1), 0) == 2);
    CHECK(take(sw, pb) == 1 && take(sw, pc) == 1 && take(sw, pa) == -1);
    CHECK(mq_switch_mac_lookup(sw, a, 0) == pa);
    /* b answers a: a is known, so only pa gets it; b is learned. */
    CHECK(mq_switch_input(sw, pb, buf, frame(buf, a, b, 2), 1) == 1);
    CHECK(take(sw, pa) == 2 && take(sw, pc) == -1 && take(sw, pb) == -1);
    CHECK(mq_switch_input(sw, pa, buf, frame(buf, b, a, 3), 2) == 1);
    CHECK(take(sw, pb) == 3 && take(sw, pc) == -1);
    /* Broadcast floods even when everything is known. */
    CHECK(mq_switch_input(sw, pc, buf, frame(buf, BCAST, c, 4), 3) == 2);
    CHECK(take(sw, pa) == 4 && take(sw, pb) == 4 && take(sw, pc) == -1);
    /* A frame for a station on the ingress port is filtered. */
    CHECK(mq_switch_input(sw, pb, buf, frame(buf, b, c, 5), 4) == 0);
    CHECK(mq_switch_mac_lookup(sw, c, 4) == pb); /* c moved to pb */
    CHECK(take(sw, pa) == -1);
    /* Removing a port forgets its stations: frames for them flood again. */
    mq_switch_port_remove(sw, pb);
    CHECK(mq_switch_mac_lookup(sw, b, 5) == -1 && mq_switch_mac_lookup(sw, c, 5) == -1);
    CHECK(mq_switch_input(sw, pa, buf, frame(buf, b, a, 6), 5) == 1);
    CHECK(take(sw, pc) == 6);
    CHECK(mq_switch_port_add(sw) == pb); /* the number is reused */
    mq_switch_free(sw);
}

static void test_aging(void)
{
    struct mq_switch_config cfg = {.aging_ns = 10 * SEC};
    struct mq_switch *sw = mq_switch_new(&cfg);
    uint8_t a[6], b[6], buf[64];
    int pa = mq_switch_port_add(sw), pb = mq_switch_port_add(sw), pc = mq_switch_port_add(sw);

    mac_n(a, 1);
    mac_n(b, 2);
    mq_switch_input(sw, pa, buf, frame(buf, BCAST, a, 1), 0);
    CHECK(mq_switch_mac_lookup(sw, a, 9 * SEC) == pa);
    CHECK(mq_switch_mac_lookup(sw, a, 10 * SEC) == -1);
    /* Seen again: fresh. */
    mq_switch_input(sw, pa, buf, frame(buf, BCAST, a, 1), 8 * SEC);
    CHECK(mq_switch_mac_lookup(sw, a, 17 * SEC) == pa);
    CHECK(mq_switch_mac_count(sw, 17 * SEC) == 1);
    mq_switch_age(sw, 30 * SEC);
    CHECK(mq_switch_mac_count(sw, 30 * SEC) == 0);
    while (take(sw, pb) >= 0 || take(sw, pc) >= 0)
        ;
    /* Aged out: unicast to a floods again. */
    CHECK(mq_switch_input(sw, pb, buf, frame(buf, a, b, 7), 30 * SEC) == 2);
    CHECK(take(sw, pa) == 7 && take(sw, pc) == 7);
    mq_switch_free(sw);
}

static void test_queue_full(void)
{
    struct mq_switch_config cfg = {.queue_frames = 4, .queue_bytes = 1000};
    struct mq_switch *sw = mq_switch_new(&cfg);
    uint8_t a[6], b[6], buf[64];
    int pa = mq_switch_port_add(sw), pb = mq_switch_port_add(sw);
    struct mq_switch_port_stats st;

    mac_n(a, 1);
    mac_n(b, 2);
    mq_switch_input(sw, pb, buf, frame(buf, BCAST, b, 0), 0);
    CHECK(take(sw, pa) == 0);
    /* pb never drains: four fit, the rest are dropped, the input never blocks. */
    for (int i = 0; i < 10; i++)
        mq_switch_input(sw, pa, buf, frame(buf, b, a, (uint8_t)i), 1);
    CHECK(mq_switch_port_queued(sw, pb) == 4);
    st = mq_switch_port_stats(sw, pb);
    CHECK(st.tx_frames == 4 && st.tx_queue_full == 6);
    CHECK(take(sw, pb) == 0 && take(sw, pb) == 1);
    CHECK(mq_switch_input(sw, pa, buf, frame(buf, b, a, 42), 1) == 1);
    CHECK(take(sw, pb) == 2 && take(sw, pb) == 3 && take(sw, pb) == 42 && take(sw, pb) == -1);
    /* The byte bound: 16 * 60 > 1000 with frames_limit raised. */
    mq_switch_free(sw);
    cfg.queue_frames = 100;
    sw = mq_switch_new(&cfg);
    pa = mq_switch_port_add(sw);
    pb = mq_switch_port_add(sw);
    for (int i = 0; i < 20; i++)
        mq_switch_input(sw, pa, buf, frame(buf, b, a, (uint8_t)i), 1);
    CHECK(mq_switch_port_queued(sw, pb) == 1000 / 60);
    mq_switch_free(sw);
}

static void test_malformed(void)
{
    struct mq_switch *sw = mq_switch_new(NULL);
    uint8_t a[6], b[6], big[MQ_SWITCH_MAX_FRAME + 1];
    int pa = mq_switch_port_add(sw), pb = mq_switch_port_add(sw);
    const uint8_t zero[6] = {0};

    mac_n(a, 1);
    mac_n(b, 2);
    frame(big, b, a, 1);
    CHECK(mq_switch_input(sw, pa, big, 13, 0) == -EINVAL);
    CHECK(mq_switch_input(sw, pa, big, 0, 0) == -EINVAL);
    CHECK(mq_switch_input(sw, pa, NULL, 60, 0) == -EINVAL);
    CHECK(mq_switch_input(sw, pa, big, MQ_SWITCH_MAX_FRAME + 1, 0) == -EINVAL);
    CHECK(mq_switch_input(sw, pa, big, 14, 0) == 1);
    CHECK(mq_switch_input(sw, pa, big, MQ_SWITCH_MAX_FRAME, 0) == 1);
    /* Multicast and zero sources are dropped and not learned. */
    frame(big, b, BCAST, 1);
    CHECK(mq_switch_input(sw, pa, big, 60, 0) == -EINVAL);
    frame(big, b, zero, 1);
    CHECK(mq_switch_input(sw, pa, big, 60, 0) == -EINVAL);
    CHECK(mq_switch_mac_count(sw, 0) == 1);
    CHECK(mq_switch_port_stats(sw, pa).rx_malformed == 6);
    CHECK(mq_switch_input(sw, 7, big, 60, 0) == -ENOENT);
    CHECK(mq_switch_input(sw, -1, big, 60, 0) == -ENOENT);
    mq_switch_port_remove(sw, 7); /* harmless */
    mq_switch_port_pop(sw, 7);
    CHECK(mq_switch_port_queued(sw, pb) == 2);
    mq_switch_free(sw);
}

static void test_many(void)
{
    struct mq_switch_config cfg = {.max_ports = 64, .mac_capacity = 256, .queue_frames = 8};
    struct mq_switch *sw = mq_switch_new(&cfg);
    uint8_t m[6], buf[64];
    int ports[64];

    for (int i = 0; i < 64; i++)
        ports[i] = mq_switch_port_add(sw);
    CHECK(mq_switch_port_add(sw) == -ENOSPC);
    /* 1000 stations on 64 ports in a 256-slot table: it fills (3/4) and
     * the rest flood, never loop or crash; learned ones forward. */
    for (unsigned n = 0; n < 1000; n++) {
        mac_n(m, n + 10);
        mq_switch_input(sw, ports[n % 64], buf, frame(buf, BCAST, m, 1), n);
        for (int i = 0; i < 64; i++)
            while (take(sw, ports[i]) >= 0)
                ;
    }
    CHECK(mq_switch_mac_count(sw, 1000) == 192);
    mac_n(m, 10);
    CHECK(mq_switch_mac_lookup(sw, m, 1000) == ports[0]);
    for (int i = 0; i < 64; i += 2)
        mq_switch_port_remove(sw, ports[i]);
    CHECK(mq_switch_mac_count(sw, 1000) == 96);
    mq_switch_age(sw, 1000);
    CHECK(mq_switch_mac_count(sw, 1000) == 96);
    mac_n(m, 11);
    CHECK(mq_switch_mac_lookup(sw, m, 1000) == ports[1]);
    mq_switch_free(sw);
}

int main(void)
{
    test_learn_and_flood();
    test_aging();
    test_queue_full();
    test_malformed();
    test_many();
    if (failures) {
        fprintf(stderr, "switch_core_test: %d failure(s)\n", failures);
        return 1;
    }
    printf("switch_core_test: ok\n");
    return 0;
}
