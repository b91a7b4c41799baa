/* SPDX-License-Identifier: MIT */
/* Tests of virtio-net against a fake backend: transmit, receive (with and without MRG_RXBUF), flow control, link state, bad chains. */
#include "virtio/virtio_net.h"

#include <stdlib.h>
#include <time.h>

#include "virtio/virtio_test_driver.h"
#include "util/state_testutil.h"

#define HDR MQ_VIRTIO_NET_HDR_BYTES
#define QSIZE 256u
#define RXQ MQ_VIRTIO_NET_RXQ
#define TXQ MQ_VIRTIO_NET_TXQ
#define TXBUF (TD_DATA)
#define TXBUF2 (TD_DATA + 0x1000)
#define RXBUF (TD_DATA + 0x40000)
#define RXBUF2 (TD_DATA + 0x50000)
#define RXBUF3 (TD_DATA + 0x60000)
#define BIG (TD_DATA + 0x100000)

static const uint8_t test_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

/* ---- a fake backend ---- */

struct fake_nb {
    struct mq_net_backend nb;
    uint8_t last[MQ_VIRTIO_NET_MAX_FRAME + 64];
    size_t last_len;
    unsigned sent;
    int send_ret;
    unsigned rx_ready;      /* atomic: the loop thread calls it */
    bool closed;
};

static int fake_send(struct mq_net_backend *nb, const uint8_t *frame, size_t len)
{
    struct fake_nb *f = (struct fake_nb *)nb;

    if (f->send_ret)
        return f->send_ret;
    if (len <= sizeof(f->last)) {
        memcpy(f->last, frame, len);
        f->last_len = len;
    }
    __atomic_fetch_add(&f->sent, 1, __ATOMIC_RELEASE);
    return 0;
}

static void fake_rx_ready(struct mq_net_backend *nb)
{
    struct fake_nb *f = (struct fake_nb *)nb;

    __atomic_fetch_add(&f->rx_ready, 1, __ATOMIC_RELEASE);
}

static void fake_close(struct mq_net_backend *nb)
{
    ((struct fake_nb *)nb)->closed = true;
}

static const struct mq_net_backend_ops fake_ops = {
    .kind = "fake",
    .send = fake_send,
    .rx_ready = fake_rx_ready,
    .close = fake_close,
};

/* ---- environment ---- */

struct env {
    struct td t;
    struct fake_nb *f;
};

static uint64_t all_features = ~0ull;
static uint64_t no_mrg = ~(1ull << MQ_VIRTIO_NET_F_MRG_RXBUF);

static void env_init(struct env *e, uint64_t accept, struct mq_event_loop *loop)
{
    e->f = calloc(1, sizeof(*e->f));
    e->f->nb.ops = &fake_ops;
    CHECK_EQ(td_create(&e->t), 0);
    CHECK_EQ(mq_virtio_net_create(e->t.vdev, loop, &e->f->nb, test_mac), 0);
    CHECK(e->f->nb.receive != NULL);
    if (accept)
        CHECK_EQ(td_init(&e->t, accept, 2, QSIZE), 0);
}

static void env_fini(struct env *e)
{
    td_destroy(&e->t);
    /* The device owned the backend and closed it. */
    CHECK(e->f->closed);
    free(e->f);
}

static bool deliver(struct env *e, const uint8_t *frame, size_t len)
{
    return e->f->nb.receive(e->f->nb.receive_opaque, frame, len);
}

static struct mq_virtio_net_stats stats(struct env *e)
{
    struct mq_virtio_net_stats s;

    CHECK_EQ(mq_virtio_net_get_stats(e->t.vdev, &s), 0);
    return s;
}

static void make_frame(uint8_t *buf, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seed + i * 7);
}

static void put_tx_hdr(struct env *e, uint64_t gpa, uint8_t flags, uint8_t gso)
{
    uint8_t h[HDR] = {flags, gso};

    CHECK_EQ(mq_guest_mem_write(&e->t.gm, gpa, h, sizeof(h)), 0);
}

/* Submit a transmit chain and wait for its completion (or none). Returns whether it completed. */
static bool tx_submit(struct env *e, const struct td_buf *b, unsigned n, bool wait)
{
    uint32_t id, len;
    uint16_t head = td_add(&e->t, TXQ, b, n);
    bool done = false;

    td_kick(&e->t, TXQ);
    for (int i = 0; i < (wait ? 5000 : 1) && !done; i++) {
        struct timespec ts = {0, 1000000};
        done = td_used(&e->t, TXQ, &id, &len);
        if (!done && wait)
            nanosleep(&ts, NULL);
    }
    if (done) {
        CHECK_EQ(id, head);
        CHECK_EQ(len, 0);
    }
    return done;
}

static uint16_t rx_post(struct env *e, uint64_t gpa, uint32_t len, bool kick)
{
    struct td_buf b = {gpa, len, true};
    uint16_t head = td_add(&e->t, RXQ, &b, 1);

    if (kick)
        td_kick(&e->t, RXQ);
    return head;
}

static uint16_t num_buffers_at(struct env *e, uint64_t gpa)
{
    uint8_t h[HDR];

    CHECK_EQ(mq_guest_mem_read(&e->t.gm, gpa, h, sizeof(h)), 0);
    /* flags, gso_type, hdr_len, gso_size, csum_start, csum_offset all zero */
    for (unsigned i = 0; i < 10; i++)
        CHECK_EQ(h[i], 0);
    return mq_get_le16(h + 10);
}

static bool guest_equals(struct env *e, uint64_t gpa, const uint8_t *buf, size_t len)
{
    const uint8_t *p = mq_guest_mem_ptr(&e->t.gm, gpa, len);

    return p && memcmp(p, buf, len) == 0;
}

static uint16_t cfg16(struct env *e, uint32_t off)
{
    uint64_t v = 0;

    CHECK_EQ(mq_virtio_mmio_ops.read(e->t.mmio, MQ_VIRTIO_MMIO_CONFIG + off, 2, &v), 0);
    return (uint16_t)v;
}

static uint8_t cfg8(struct env *e, uint32_t off)
{
    uint64_t v = 0;

    CHECK_EQ(mq_virtio_mmio_ops.read(e->t.mmio, MQ_VIRTIO_MMIO_CONFIG + off, 1, &v), 0);
    return (uint8_t)v;
}

/* ---- tests ---- */

static void test_config(void)
{
    struct env e;
    uint64_t f;

    env_init(&e, 0, NULL);
    CHECK_EQ(td_rd(&e.t, MQ_VIRTIO_MMIO_DEVICE_ID), MQ_VIRTIO_ID_NET);
    f = td_device_features(&e.t);
    CHECK(f & (1ull << MQ_VIRTIO_NET_F_MAC));
    CHECK(f & (1ull << MQ_VIRTIO_NET_F_STATUS));
    CHECK(f & (1ull << MQ_VIRTIO_NET_F_MRG_RXBUF));
    CHECK(f & (1ull << MQ_VIRTIO_F_VERSION_1));
    /* Nothing we do not implement: no CSUM, GSO, CTRL_VQ, MQ. */
    CHECK(!(f & ((1ull << 0) | (1ull << 1) | (1ull << 7) | (1ull << 11) | (1ull << 17) |
                 (1ull << 22))));
    for (unsigned i = 0; i < 6; i++)
        CHECK_EQ(cfg8(&e, MQ_VIRTIO_NET_CFG_MAC + i), test_mac[i]);
    CHECK_EQ(cfg16(&e, MQ_VIRTIO_NET_CFG_STATUS), MQ_VIRTIO_NET_S_LINK_UP);
    /* The MAC is read-only with VERSION_1. */
    CHECK_EQ(mq_virtio_mmio_ops.write(e.t.mmio, MQ_VIRTIO_MMIO_CONFIG, 1, 0xff), 0);
    CHECK_EQ(cfg8(&e, 0), test_mac[0]);
    /* Beyond the config space reads 0. */
    CHECK_EQ(td_rd(&e.t, MQ_VIRTIO_MMIO_CONFIG + MQ_VIRTIO_NET_CFG_SIZE), 0);
    CHECK_EQ(mq_virtio_net_get_stats(NULL, &(struct mq_virtio_net_stats){0}), -EINVAL);
    CHECK_EQ(td_init(&e.t, all_features, 2, QSIZE), 0);
    env_fini(&e);
}

static void test_tx(void)
{
    struct env e;
    uint8_t frame[1514];
    struct mq_virtio_net_stats s;

    env_init(&e, all_features, NULL);
    /* Header and frame in one buffer, as Linux sends with any_header_sg. */
    make_frame(frame, sizeof(frame), 1);
    put_tx_hdr(&e, TXBUF, 0, 0);
    CHECK_EQ(mq_guest_mem_write(&e.t.gm, TXBUF + HDR, frame, 60), 0);
    struct td_buf one[] = {{TXBUF, HDR + 60, false}};
    CHECK(tx_submit(&e, one, 1, false));
    CHECK_EQ(e.f->sent, 1);
    CHECK_EQ(e.f->last_len, 60);
    CHECK(memcmp(e.f->last, frame, 60) == 0);
    CHECK(e.t.irq_level);
    CHECK_EQ(td_ack_irq(&e.t), MQ_VIRTIO_ISR_QUEUE);

    /* Header apart, frame split over three buffers. */
    make_frame(frame, sizeof(frame), 9);
    put_tx_hdr(&e, TXBUF, 0, 0);
    CHECK_EQ(mq_guest_mem_write(&e.t.gm, TXBUF2, frame, sizeof(frame)), 0);
    struct td_buf split[] = {
        {TXBUF, HDR, false},
        {TXBUF2, 100, false},
        {TXBUF2 + 100, 1000, false},
        {TXBUF2 + 1100, 414, false},
    };
    CHECK(tx_submit(&e, split, 4, false));
    CHECK_EQ(e.f->sent, 2);
    CHECK_EQ(e.f->last_len, 1514);
    CHECK(memcmp(e.f->last, frame, 1514) == 0);

    /* A header split in the middle works too. */
    put_tx_hdr(&e, TXBUF, 0, 0);
    struct td_buf hsplit[] = {{TXBUF, 5, false}, {TXBUF + 5, HDR - 5, false}, {TXBUF2, 14, false}};
    CHECK(tx_submit(&e, hsplit, 3, false));
    CHECK_EQ(e.f->last_len, 14);

    /* The largest frame. */
    put_tx_hdr(&e, BIG, 0, 0);
    struct td_buf big[] = {{BIG, HDR + MQ_VIRTIO_NET_MAX_FRAME, false}};
    CHECK(tx_submit(&e, big, 1, false));
    CHECK_EQ(e.f->sent, 4);
    CHECK_EQ(e.f->last_len, MQ_VIRTIO_NET_MAX_FRAME);

    s = stats(&e);
    CHECK_EQ(s.tx_frames, 4);
    CHECK_EQ(s.tx_bytes, 60 + 1514 + 14 + MQ_VIRTIO_NET_MAX_FRAME);
    CHECK_EQ(s.tx_dropped, 0);
    env_fini(&e);
}

static void test_tx_malformed(void)
{
    struct env e;
    struct mq_virtio_net_stats s;

    env_init(&e, all_features, NULL);
    put_tx_hdr(&e, TXBUF, 0, 0);
    /* Header only, a runt, a frame over 64 KiB: each dropped and completed. */
    struct td_buf hdr_only[] = {{TXBUF, HDR, false}};
    CHECK(tx_submit(&e, hdr_only, 1, false));
    struct td_buf runt[] = {{TXBUF, HDR + 13, false}};
    CHECK(tx_submit(&e, runt, 1, false));
    put_tx_hdr(&e, BIG, 0, 0);
    struct td_buf huge[] = {{BIG, HDR + MQ_VIRTIO_NET_MAX_FRAME + 1, false}};
    CHECK(tx_submit(&e, huge, 1, false));
    /* Offloads never offered. */
    put_tx_hdr(&e, TXBUF, MQ_VIRTIO_NET_HDR_F_NEEDS_CSUM, 0);
    struct td_buf ok[] = {{TXBUF, HDR + 60, false}};
    CHECK(tx_submit(&e, ok, 1, false));
    put_tx_hdr(&e, TXBUF, 0, 1 /* TCPV4 */);
    CHECK(tx_submit(&e, ok, 1, false));
    /* Unknown flag bits are ignored. */
    put_tx_hdr(&e, TXBUF, 0x80, 0);
    CHECK(tx_submit(&e, ok, 1, false));
    CHECK_EQ(e.f->sent, 1);
    /* The backend refusing (full): dropped. */
    put_tx_hdr(&e, TXBUF, 0, 0);
    e.f->send_ret = -ENOBUFS;
    CHECK(tx_submit(&e, ok, 1, false));
    e.f->send_ret = 0;
    /* Writable buffers in a transmit chain are ignored. */
    struct td_buf with_w[] = {{TXBUF, HDR + 60, false}, {RXBUF, 100, true}};
    CHECK(tx_submit(&e, with_w, 2, false));
    CHECK_EQ(e.f->sent, 2);
    s = stats(&e);
    CHECK_EQ(s.tx_dropped, 6);
    CHECK_EQ(s.tx_frames, 2);
    CHECK(!(td_status(&e.t) & MQ_VIRTIO_STATUS_NEEDS_RESET));

    /* Shorter than a header: needs reset. */
    struct td_buf tiny[] = {{TXBUF, HDR - 4, false}};
    CHECK(!tx_submit(&e, tiny, 1, false));
    CHECK(td_status(&e.t) & MQ_VIRTIO_STATUS_NEEDS_RESET);
    CHECK(td_ack_irq(&e.t) & MQ_VIRTIO_ISR_CONFIG);
    CHECK_EQ(e.f->sent, 2);
    /* Reset and a new probe bring it back. */
    CHECK_EQ(td_init(&e.t, all_features, 2, QSIZE), 0);
    put_tx_hdr(&e, TXBUF, 0, 0);
    CHECK(tx_submit(&e, ok, 1, false));
    CHECK_EQ(e.f->sent, 3);
    env_fini(&e);

    /* No readable bytes at all (only writable): needs reset. */
    env_init(&e, all_features, NULL);
    struct td_buf only_w[] = {{TXBUF, 100, true}};
    CHECK(!tx_submit(&e, only_w, 1, false));
    CHECK(td_status(&e.t) & MQ_VIRTIO_STATUS_NEEDS_RESET);
    env_fini(&e);

    /* A buffer outside RAM: needs reset, nothing sent. */
    env_init(&e, all_features, NULL);
    struct td_buf outside[] = {{TXBUF, HDR, false}, {TD_RAM_BASE - 64, 64, false}};
    CHECK(!tx_submit(&e, outside, 2, false));
    CHECK(td_status(&e.t) & MQ_VIRTIO_STATUS_NEEDS_RESET);
    CHECK_EQ(e.f->sent, 0);
    env_fini(&e);
}

static void test_rx_single(void)
{
    struct env e;
    uint8_t frame[1514];
    uint32_t id, len;
    uint16_t head;
    struct mq_virtio_net_stats s;

    env_init(&e, no_mrg, NULL);
    make_frame(frame, sizeof(frame), 3);
    /* Linux's small buffers without MRG_RXBUF: header + 1518 bytes. */
    head = rx_post(&e, RXBUF, HDR + 1518, true);
    CHECK(deliver(&e, frame, 60));
    CHECK(td_used(&e.t, RXQ, &id, &len));
    CHECK_EQ(id, head);
    CHECK_EQ(len, HDR + 60);
    CHECK_EQ(num_buffers_at(&e, RXBUF), 1);
    CHECK(guest_equals(&e, RXBUF + HDR, frame, 60));
    CHECK(e.t.irq_level);
    CHECK_EQ(td_ack_irq(&e.t), MQ_VIRTIO_ISR_QUEUE);

    /* A frame too big for the one buffer: dropped, the buffer stays posted. */
    head = rx_post(&e, RXBUF, HDR + 100, true);
    CHECK(deliver(&e, frame, 101));
    CHECK(!td_used(&e.t, RXQ, &id, &len));
    /* The next frame that fits takes it. */
    CHECK(deliver(&e, frame, 100));
    CHECK(td_used(&e.t, RXQ, &id, &len));
    CHECK_EQ(id, head);
    CHECK_EQ(len, HDR + 100);

    /* Runt and oversized frames from the backend are dropped. */
    rx_post(&e, RXBUF, HDR + 1518, true);
    CHECK(deliver(&e, frame, 13));
    CHECK(!td_used(&e.t, RXQ, &id, &len));
    s = stats(&e);
    CHECK_EQ(s.rx_frames, 2);
    CHECK_EQ(s.rx_bytes, 160);
    CHECK_EQ(s.rx_dropped, 2);
    env_fini(&e);
}

static void test_rx_mergeable(void)
{
    struct env e;
    uint8_t frame[200];
    uint32_t id, len;
    uint16_t h1, h2, h3;

    env_init(&e, all_features, NULL);
    make_frame(frame, sizeof(frame), 5);
    /* Two small buffers: 62 bytes each carry the header + 50, then 50 more. */
    h1 = rx_post(&e, RXBUF, HDR + 50, false);
    h2 = rx_post(&e, RXBUF2, HDR + 50, true);
    CHECK(deliver(&e, frame, 100));
    CHECK(td_used(&e.t, RXQ, &id, &len));
    CHECK_EQ(id, h1);
    CHECK_EQ(len, HDR + 50);
    CHECK(td_used(&e.t, RXQ, &id, &len));
    CHECK_EQ(id, h2);
    CHECK_EQ(len, 50);
    CHECK(!td_used(&e.t, RXQ, &id, &len));
    CHECK_EQ(num_buffers_at(&e, RXBUF), 2);
    CHECK(guest_equals(&e, RXBUF + HDR, frame, 50));
    CHECK(guest_equals(&e, RXBUF2, frame + 50, 50));
    CHECK(e.t.irq_level);
    td_ack_irq(&e.t);

    /* A small frame in a big mergeable buffer: num_buffers 1. */
    h1 = rx_post(&e, RXBUF, 4096, true);
    CHECK(deliver(&e, frame, 42));
    CHECK(td_used(&e.t, RXQ, &id, &len));
    CHECK_EQ(id, h1);
    CHECK_EQ(len, HDR + 42);
    CHECK_EQ(num_buffers_at(&e, RXBUF), 1);

    /* Not enough buffers: nothing consumed, the backend is told to retry. */
    h1 = rx_post(&e, RXBUF, HDR + 50, true);
    CHECK(!deliver(&e, frame, 150));
    CHECK(!td_used(&e.t, RXQ, &id, &len));
    CHECK_EQ(e.f->rx_ready, 0);
    h2 = rx_post(&e, RXBUF2, HDR + 50, true);
    CHECK_EQ(e.f->rx_ready, 1);
    CHECK(!deliver(&e, frame, 150));
    h3 = rx_post(&e, RXBUF3, HDR + 50, true);
    CHECK_EQ(e.f->rx_ready, 2);
    CHECK(deliver(&e, frame, 150));
    CHECK(td_used(&e.t, RXQ, &id, &len));
    CHECK_EQ(id, h1);
    CHECK_EQ(len, HDR + 50);
    CHECK(td_used(&e.t, RXQ, &id, &len));
    CHECK_EQ(id, h2);
    CHECK_EQ(len, HDR + 50);
    CHECK(td_used(&e.t, RXQ, &id, &len));
    CHECK_EQ(id, h3);
    CHECK_EQ(len, HDR + 150 - 2 * (HDR + 50));
    CHECK_EQ(num_buffers_at(&e, RXBUF), 3);
    CHECK(guest_equals(&e, RXBUF + HDR, frame, 50));
    CHECK(guest_equals(&e, RXBUF2, frame + 50, 62));
    CHECK(guest_equals(&e, RXBUF3, frame + 112, 38));
    /* A kick after a delivery does not bother the backend. */
    rx_post(&e, RXBUF, 4096, true);
    CHECK_EQ(e.f->rx_ready, 2);
    CHECK(!(td_status(&e.t) & MQ_VIRTIO_STATUS_NEEDS_RESET));
    env_fini(&e);
}

static void test_rx_flow_control(void)
{
    struct env e;
    uint8_t frame[64];
    uint32_t id, len;
    struct mq_virtio_net_stats s;

    /* Before the driver is up: the backend keeps the frame. */
    env_init(&e, 0, NULL);
    make_frame(frame, sizeof(frame), 7);
    CHECK(!deliver(&e, frame, 64));
    CHECK_EQ(td_init(&e.t, all_features, 2, QSIZE), 0);
    /* DRIVER_OK looks at the queues: no buffers yet, so no news for the backend... */
    CHECK_EQ(e.f->rx_ready, 1);
    /* ...but it asked, and gets nothing until buffers come. */
    CHECK(!deliver(&e, frame, 64));
    CHECK_EQ(e.f->rx_ready, 1);
    rx_post(&e, RXBUF, 2048, true);
    CHECK_EQ(e.f->rx_ready, 2);
    CHECK(deliver(&e, frame, 64));
    CHECK(td_used(&e.t, RXQ, &id, &len));
    CHECK_EQ(len, HDR + 64);
    s = stats(&e);
    CHECK_EQ(s.rx_no_buffer, 2);
    CHECK_EQ(s.rx_frames, 1);

    /* A frame larger than a whole ring of tiny buffers is dropped, not retried forever. */
    env_fini(&e);
    env_init(&e, 0, NULL);
    CHECK_EQ(td_init(&e.t, all_features, 2, 4), 0);
    for (int i = 0; i < 4; i++)
        rx_post(&e, RXBUF + 0x100 * i, HDR + 4, i == 3);
    CHECK(deliver(&e, frame, 64));
    CHECK(!td_used(&e.t, RXQ, &id, &len));
    CHECK_EQ(stats(&e).rx_dropped, 1);
    /* The buffers are still there for a frame that fits. */
    CHECK(deliver(&e, frame, 20));
    CHECK(td_used(&e.t, RXQ, &id, &len));
    CHECK(td_used(&e.t, RXQ, &id, &len));
    CHECK(!td_used(&e.t, RXQ, &id, &len));
    env_fini(&e);
}

static void test_rx_bad_buffers(void)
{
    struct env e;
    uint8_t frame[64] = {0};
    uint32_t id, len;

    /* A receive buffer shorter than the header: needs reset. */
    env_init(&e, all_features, NULL);
    rx_post(&e, RXBUF, HDR - 1, true);
    CHECK(deliver(&e, frame, 64));
    CHECK(td_status(&e.t) & MQ_VIRTIO_STATUS_NEEDS_RESET);
    CHECK(!td_used(&e.t, RXQ, &id, &len));
    /* Nothing more is taken until the reset. */
    CHECK(!deliver(&e, frame, 64));
    CHECK_EQ(td_init(&e.t, all_features, 2, QSIZE), 0);
    rx_post(&e, RXBUF, 2048, true);
    CHECK(deliver(&e, frame, 64));
    CHECK(td_used(&e.t, RXQ, &id, &len));
    env_fini(&e);

    /* A second mergeable buffer shorter than the header: needs reset too. */
    env_init(&e, all_features, NULL);
    rx_post(&e, RXBUF, HDR + 10, false);
    rx_post(&e, RXBUF2, 4, true);
    CHECK(deliver(&e, frame, 64));
    CHECK(td_status(&e.t) & MQ_VIRTIO_STATUS_NEEDS_RESET);
    env_fini(&e);

    /* A receive buffer outside RAM: needs reset, no crash. */
    env_init(&e, all_features, NULL);
    rx_post(&e, TD_RAM_BASE + TD_RAM_SIZE - 16, 64, true);
    CHECK(deliver(&e, frame, 64));
    CHECK(td_status(&e.t) & MQ_VIRTIO_STATUS_NEEDS_RESET);
    env_fini(&e);
}

static void test_link(void)
{
    struct env e;
    uint8_t frame[64] = {0};
    uint32_t gen, id, len;
    unsigned raises;

    env_init(&e, all_features, NULL);
    gen = td_rd(&e.t, MQ_VIRTIO_MMIO_CONFIG_GENERATION);
    raises = e.t.irq_raises;
    mq_virtio_net_set_link(e.t.vdev, false);
    CHECK_EQ(cfg16(&e, MQ_VIRTIO_NET_CFG_STATUS), 0);
    CHECK(td_rd(&e.t, MQ_VIRTIO_MMIO_CONFIG_GENERATION) != gen);
    CHECK_EQ(e.t.irq_raises, raises + 1);
    CHECK_EQ(td_ack_irq(&e.t), MQ_VIRTIO_ISR_CONFIG);
    /* Same state again: no interrupt. */
    mq_virtio_net_set_link(e.t.vdev, false);
    CHECK_EQ(e.t.irq_raises, raises + 1);
    CHECK(!e.t.irq_level);

    /* Down: both directions dropped. */
    put_tx_hdr(&e, TXBUF, 0, 0);
    struct td_buf ok[] = {{TXBUF, HDR + 60, false}};
    CHECK(tx_submit(&e, ok, 1, false));
    CHECK_EQ(e.f->sent, 0);
    rx_post(&e, RXBUF, 2048, true);
    CHECK(deliver(&e, frame, 64));
    CHECK(!td_used(&e.t, RXQ, &id, &len));
    CHECK_EQ(stats(&e).rx_dropped, 1);
    CHECK_EQ(stats(&e).tx_dropped, 1);
    td_ack_irq(&e.t);

    raises = e.t.irq_raises;
    mq_virtio_net_set_link(e.t.vdev, true);
    CHECK_EQ(cfg16(&e, MQ_VIRTIO_NET_CFG_STATUS), MQ_VIRTIO_NET_S_LINK_UP);
    CHECK_EQ(e.t.irq_raises, raises + 1);
    CHECK_EQ(td_ack_irq(&e.t), MQ_VIRTIO_ISR_CONFIG);
    CHECK(tx_submit(&e, ok, 1, false));
    CHECK_EQ(e.f->sent, 1);
    CHECK(deliver(&e, frame, 64));
    CHECK(td_used(&e.t, RXQ, &id, &len));
    env_fini(&e);

    /* Before DRIVER_OK a link change bumps the generation without an interrupt. */
    env_init(&e, 0, NULL);
    mq_virtio_net_set_link(e.t.vdev, false);
    CHECK(!e.t.irq_level);
    CHECK_EQ(cfg16(&e, MQ_VIRTIO_NET_CFG_STATUS), 0);
    env_fini(&e);
}

static bool wait_for(const unsigned *counter, unsigned value)
{
    for (int i = 0; i < 5000; i++) {
        struct timespec ts = {0, 1000000};
        if (__atomic_load_n(counter, __ATOMIC_ACQUIRE) >= value)
            return true;
        nanosleep(&ts, NULL);
    }
    return false;
}

/* With an I/O thread: transmit and the rx_ready call happen on the loop. */
static void test_event_loop(void)
{
    struct mq_event_loop *loop;
    struct env e;
    uint8_t frame[64];

    CHECK_EQ(mq_event_loop_create(&loop), 0);
    CHECK_EQ(mq_event_loop_start(loop, "net-test"), 0);
    env_init(&e, all_features, loop);
    for (unsigned round = 1; round <= 3; round++) {
        put_tx_hdr(&e, TXBUF, 0, 0);
        struct td_buf ok[] = {{TXBUF, HDR + 60, false}};
        CHECK(tx_submit(&e, ok, 1, true));
        CHECK(wait_for(&e.f->sent, round));
    }
    make_frame(frame, sizeof(frame), 2);
    CHECK(!deliver(&e, frame, 64));
    rx_post(&e, RXBUF, 2048, true);
    CHECK(wait_for(&e.f->rx_ready, 1));
    CHECK(deliver(&e, frame, 64));
    /* Reset while the loop runs, then tear down. */
    td_wr(&e.t, MQ_VIRTIO_MMIO_STATUS, 0);
    env_fini(&e);
    mq_event_loop_destroy(loop);
}

static void test_create_errors(void)
{
    struct td t;
    struct fake_nb f = {.nb.ops = &fake_ops};

    CHECK_EQ(td_create(&t), 0);
    CHECK_EQ(mq_virtio_net_create(t.vdev, NULL, NULL, test_mac), -EINVAL);
    CHECK_EQ(mq_virtio_net_create(t.vdev, NULL, &f.nb, NULL), -EINVAL);
    CHECK_EQ(mq_virtio_net_create(NULL, NULL, &f.nb, test_mac), -EINVAL);
    CHECK(!f.closed);
    /* set_link on a device that is not a virtio-net is ignored. */
    mq_virtio_net_set_link(t.vdev, false);
    td_destroy(&t);
}

/* Index of the model's first field (its version): the one before the 6-byte MAC. */
static unsigned model_version_index(struct mqt_blob *b)
{
    size_t n;

    for (unsigned i = 1; mqt_field(b, i, &n); i++) {
        if (n == 6)
            return i - 1;
    }
    return 0;
}

static void test_save_load(void)
{
    static const uint8_t other_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x57};
    struct env e, other;
    struct mqt_blob b;
    uint8_t frame[300];
    uint32_t id, len;
    uint16_t head;
    unsigned ready, vi;

    env_init(&e, all_features, NULL);
    /* Traffic both ways first, so the ring indexes are not at their start. */
    put_tx_hdr(&e, TXBUF, 0, 0);
    struct td_buf ok[] = {{TXBUF, HDR + 60, false}};
    CHECK(tx_submit(&e, ok, 1, false));
    make_frame(frame, sizeof(frame), 5);
    rx_post(&e, RXBUF, 2048, true);
    CHECK(deliver(&e, frame, 100));
    CHECK(td_used(&e.t, RXQ, &id, &len));
    /* A buffer posted but not used yet, and the link down: both must survive. */
    head = rx_post(&e, RXBUF2, 2048, true);
    mq_virtio_net_set_link(e.t.vdev, false);
    td_ack_irq(&e.t);
    CHECK_EQ(mqt_save(mq_virtio_mmio_ops.save, e.t.mmio, &b), 0);
    mq_virtio_mmio_ops.reset(e.t.mmio);
    mq_virtio_net_set_link(e.t.vdev, true);
    CHECK_EQ(td_status(&e.t), 0);
    CHECK_EQ(mqt_load(mq_virtio_mmio_ops.load, e.t.mmio, &b), 0);
    CHECK(td_status(&e.t) & MQ_VIRTIO_STATUS_DRIVER_OK);
    CHECK_EQ(cfg16(&e, MQ_VIRTIO_NET_CFG_STATUS), 0);
    for (unsigned i = 0; i < 6; i++)
        CHECK_EQ(cfg8(&e, MQ_VIRTIO_NET_CFG_MAC + i), test_mac[i]);
    /* The resume's receive notify asks the backend for the frames it held back. */
    ready = e.f->rx_ready;
    mq_virtio_dev_resume(e.t.vdev);
    CHECK_EQ(e.f->rx_ready, ready + 1);
    /* Link down as saved: dropped both ways. */
    CHECK(deliver(&e, frame, 64));
    CHECK(!td_used(&e.t, RXQ, &id, &len));
    mq_virtio_net_set_link(e.t.vdev, true);
    CHECK_EQ(td_ack_irq(&e.t), MQ_VIRTIO_ISR_CONFIG);
    /* The buffer posted before the snapshot takes the next frame. */
    CHECK(deliver(&e, frame, 200));
    CHECK(td_used(&e.t, RXQ, &id, &len));
    CHECK_EQ(id, head);
    CHECK_EQ(len, HDR + 200);
    CHECK_EQ(num_buffers_at(&e, RXBUF2), 1);
    CHECK(guest_equals(&e, RXBUF2 + HDR, frame, 200));
    CHECK(tx_submit(&e, ok, 1, false));
    CHECK_EQ(e.f->sent, 2);

    /* Another MAC: refused with both named, the device left reset. */
    other.f = calloc(1, sizeof(*other.f));
    other.f->nb.ops = &fake_ops;
    CHECK_EQ(td_create(&other.t), 0);
    CHECK_EQ(mq_virtio_net_create(other.t.vdev, NULL, &other.f->nb, other_mac), 0);
    CHECK_EQ(mqt_load(mq_virtio_mmio_ops.load, other.t.mmio, &b), -EINVAL);
    CHECK(strstr(mqt_errmsg, "the device has MAC 52:54:00:12:34:57, the snapshot was taken "
                             "with 52:54:00:12:34:56"));
    CHECK_EQ(td_status(&other.t), 0);
    env_fini(&other);

    /* A newer model layout and a link flag that is not a boolean. */
    vi = model_version_index(&b);
    CHECK(vi > 0);
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, e.t.mmio, &b, vi, 2), -EPROTONOSUPPORT);
    CHECK(strstr(mqt_errmsg, "virtio-net state version 2 is not supported"));
    CHECK_EQ(td_status(&e.t), 0);
    CHECK(mqt_load_with(mq_virtio_mmio_ops.load, e.t.mmio, &b, vi + 2, 2) < 0);
    CHECK_EQ(td_status(&e.t), 0);
    mqt_free(&b);
    env_fini(&e);
}

int main(void)
{
    mq_log_set_level(MQ_LOG_ERROR);
    test_config();
    test_tx();
    test_tx_malformed();
    test_rx_single();
    test_rx_mergeable();
    test_rx_flow_control();
    test_rx_bad_buffers();
    test_link();
    test_event_loop();
    test_create_errors();
    test_save_load();
    return td_finish("virtio_net_test");
}
