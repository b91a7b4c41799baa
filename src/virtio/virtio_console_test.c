/* SPDX-License-Identifier: MIT */
/* Tests of virtio-console: output to the host, input with flow control, bad buffers, a threaded stream. */
#include "virtio/virtio_console.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "virtio/virtio_test_driver.h"
#include "util/state_testutil.h"

#define QSIZE 64u
#define RXQ MQ_VIRTIO_CONSOLE_RXQ
#define TXQ MQ_VIRTIO_CONSOLE_TXQ
#define TXBUF (TD_DATA)
#define TXBUF2 (TD_DATA + 0x1000)
#define RXBUF (TD_DATA + 0x10000)
#define BIG (TD_DATA + 0x100000)

/* ---- host end ---- */

struct host {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint8_t out[1 << 20];
    size_t out_len;
    unsigned space;         /* rx_space calls */
};

static void host_to_host(void *opaque, const uint8_t *buf, size_t len)
{
    struct host *h = opaque;

    pthread_mutex_lock(&h->lock);
    if (len <= sizeof(h->out) - h->out_len) {
        memcpy(h->out + h->out_len, buf, len);
        h->out_len += len;
    }
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

static void host_rx_space(void *opaque)
{
    struct host *h = opaque;

    pthread_mutex_lock(&h->lock);
    h->space++;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

static unsigned host_space(struct host *h)
{
    unsigned n;

    pthread_mutex_lock(&h->lock);
    n = h->space;
    pthread_mutex_unlock(&h->lock);
    return n;
}

static size_t host_out_len(struct host *h)
{
    size_t n;

    pthread_mutex_lock(&h->lock);
    n = h->out_len;
    pthread_mutex_unlock(&h->lock);
    return n;
}

struct env {
    struct td t;
    struct host *h;
    struct mq_virtio_console *c;
};

static void env_init(struct env *e, bool init, struct mq_event_loop *loop)
{
    struct mq_virtio_console_host host = {host_to_host, host_rx_space, NULL};

    e->h = calloc(1, sizeof(*e->h));
    pthread_mutex_init(&e->h->lock, NULL);
    pthread_cond_init(&e->h->cond, NULL);
    host.opaque = e->h;
    CHECK_EQ(td_create(&e->t), 0);
    CHECK_EQ(mq_virtio_console_create(e->t.vdev, loop, &host, &e->c), 0);
    if (init)
        CHECK_EQ(td_init(&e->t, ~0ull, 2, QSIZE), 0);
}

static void env_fini(struct env *e)
{
    td_destroy(&e->t);
    pthread_cond_destroy(&e->h->cond);
    pthread_mutex_destroy(&e->h->lock);
    free(e->h);
}

static bool tx_submit(struct env *e, const struct td_buf *b, unsigned n)
{
    uint32_t id, len;
    uint16_t head = td_add(&e->t, TXQ, b, n);

    td_kick(&e->t, TXQ);
    for (int i = 0; i < 5000; i++) {
        struct timespec ts = {0, 1000000};
        if (td_used(&e->t, TXQ, &id, &len)) {
            CHECK_EQ(id, head);
            CHECK_EQ(len, 0);
            return true;
        }
        if (td_status(&e->t) & MQ_VIRTIO_STATUS_NEEDS_RESET)
            return false;
        nanosleep(&ts, NULL);
    }
    return false;
}

static uint16_t rx_post(struct env *e, uint64_t gpa, uint32_t len, bool kick)
{
    struct td_buf b = {gpa, len, true};
    uint16_t head = td_add(&e->t, RXQ, &b, 1);

    if (kick)
        td_kick(&e->t, RXQ);
    return head;
}

static void put(struct env *e, uint64_t gpa, const char *s)
{
    CHECK_EQ(mq_guest_mem_write(&e->t.gm, gpa, s, strlen(s)), 0);
}

static bool guest_equals(struct env *e, uint64_t gpa, const char *s)
{
    const uint8_t *p = mq_guest_mem_ptr(&e->t.gm, gpa, strlen(s));

    return p && memcmp(p, s, strlen(s)) == 0;
}

/* ---- tests ---- */

static void test_config(void)
{
    struct env e;
    uint64_t f;

    env_init(&e, false, NULL);
    CHECK_EQ(td_rd(&e.t, MQ_VIRTIO_MMIO_DEVICE_ID), MQ_VIRTIO_ID_CONSOLE);
    f = td_device_features(&e.t);
    CHECK(f & (1ull << MQ_VIRTIO_F_VERSION_1));
    /* No SIZE, MULTIPORT or EMERG_WRITE. */
    CHECK_EQ(f & 7, 0);
    CHECK_EQ(td_rd(&e.t, MQ_VIRTIO_MMIO_CONFIG + MQ_VIRTIO_CONSOLE_CFG_MAX_NR_PORTS), 1);
    CHECK_EQ(td_rd(&e.t, MQ_VIRTIO_MMIO_CONFIG + MQ_VIRTIO_CONSOLE_CFG_COLS), 0);
    /* emerg_wr without the feature: ignored. */
    td_wr(&e.t, MQ_VIRTIO_MMIO_CONFIG + MQ_VIRTIO_CONSOLE_CFG_EMERG_WR, 'x');
    CHECK_EQ(host_out_len(e.h), 0);
    CHECK_EQ(td_init(&e.t, ~0ull, 2, QSIZE), 0);
    env_fini(&e);

    struct mq_virtio_console *c;
    struct td t;
    struct mq_virtio_console_host nohost = {0};
    CHECK_EQ(td_create(&t), 0);
    CHECK_EQ(mq_virtio_console_create(t.vdev, NULL, &nohost, &c), -EINVAL);
    CHECK_EQ(mq_virtio_console_create(t.vdev, NULL, NULL, &c), -EINVAL);
    td_destroy(&t);
    CHECK_EQ(mq_virtio_console_from_host(NULL, (const uint8_t *)"x", 1), 0);
}

static void test_output(void)
{
    struct env e;
    struct mq_virtio_console_stats s;

    env_init(&e, true, NULL);
    put(&e, TXBUF, "hello, ");
    struct td_buf one[] = {{TXBUF, 7, false}};
    CHECK(tx_submit(&e, one, 1));
    put(&e, TXBUF, "wor");
    put(&e, TXBUF2, "ld\r\n");
    struct td_buf two[] = {{TXBUF, 3, false}, {TXBUF2, 4, false}};
    CHECK(tx_submit(&e, two, 2));
    CHECK_EQ(e.h->out_len, 14);
    CHECK(memcmp(e.h->out, "hello, world\r\n", 14) == 0);
    CHECK(e.t.irq_level);
    CHECK_EQ(td_ack_irq(&e.t), MQ_VIRTIO_ISR_QUEUE);
    /* Empty chains and writable buffers: nothing output, completed. */
    struct td_buf wonly[] = {{TXBUF, 16, true}};
    CHECK(tx_submit(&e, wonly, 1));
    struct td_buf zero[] = {{TXBUF, 0, false}};
    CHECK(tx_submit(&e, zero, 1));
    CHECK_EQ(e.h->out_len, 14);

    /* A chain above the cap: the first 64 KiB are output, the rest counted. */
    uint8_t *big = malloc(MQ_VIRTIO_CONSOLE_MAX_TX_CHAIN + 100);
    for (size_t i = 0; i < MQ_VIRTIO_CONSOLE_MAX_TX_CHAIN + 100; i++)
        big[i] = (uint8_t)(i * 13);
    CHECK_EQ(mq_guest_mem_write(&e.t.gm, BIG, big, MQ_VIRTIO_CONSOLE_MAX_TX_CHAIN + 100), 0);
    struct td_buf huge[] = {{BIG, MQ_VIRTIO_CONSOLE_MAX_TX_CHAIN + 100, false}};
    CHECK(tx_submit(&e, huge, 1));
    CHECK_EQ(e.h->out_len, 14 + MQ_VIRTIO_CONSOLE_MAX_TX_CHAIN);
    CHECK(memcmp(e.h->out + 14, big, MQ_VIRTIO_CONSOLE_MAX_TX_CHAIN) == 0);
    free(big);
    mq_virtio_console_get_stats(e.c, &s);
    CHECK_EQ(s.tx_bytes, 14 + MQ_VIRTIO_CONSOLE_MAX_TX_CHAIN);
    CHECK_EQ(s.tx_dropped, 100);

    /* A buffer outside RAM: needs reset, no output. */
    struct td_buf outside[] = {{TD_RAM_BASE + TD_RAM_SIZE - 4, 8, false}};
    CHECK(!tx_submit(&e, outside, 1));
    CHECK(td_status(&e.t) & MQ_VIRTIO_STATUS_NEEDS_RESET);
    CHECK_EQ(e.h->out_len, 14 + MQ_VIRTIO_CONSOLE_MAX_TX_CHAIN);
    env_fini(&e);
}

static void test_input(void)
{
    struct env e;
    uint32_t id, len;
    uint16_t h1, h2, h3;
    struct mq_virtio_console_stats s;

    /* Before the driver is up nothing is taken; DRIVER_OK tells the host to retry. */
    env_init(&e, false, NULL);
    CHECK_EQ(mq_virtio_console_from_host(e.c, (const uint8_t *)"early", 5), 0);
    CHECK_EQ(td_init(&e.t, ~0ull, 2, QSIZE), 0);
    CHECK_EQ(e.h->space, 1);
    /* No buffers yet. */
    CHECK_EQ(mq_virtio_console_from_host(e.c, (const uint8_t *)"abcdefghij", 10), 0);
    h1 = rx_post(&e, RXBUF, 4, false);
    h2 = rx_post(&e, RXBUF + 0x100, 4, true);
    CHECK_EQ(e.h->space, 2);
    CHECK_EQ(mq_virtio_console_from_host(e.c, (const uint8_t *)"abcdefghij", 10), 8);
    CHECK(td_used(&e.t, RXQ, &id, &len));
    CHECK_EQ(id, h1);
    CHECK_EQ(len, 4);
    CHECK(td_used(&e.t, RXQ, &id, &len));
    CHECK_EQ(id, h2);
    CHECK_EQ(len, 4);
    CHECK(guest_equals(&e, RXBUF, "abcd"));
    CHECK(guest_equals(&e, RXBUF + 0x100, "efgh"));
    CHECK(e.t.irq_level);
    td_ack_irq(&e.t);
    /* The rest after the driver posts again. */
    h3 = rx_post(&e, RXBUF + 0x200, 4096, true);
    CHECK_EQ(e.h->space, 3);
    CHECK_EQ(mq_virtio_console_from_host(e.c, (const uint8_t *)"ij", 2), 2);
    CHECK(td_used(&e.t, RXQ, &id, &len));
    CHECK_EQ(id, h3);
    CHECK_EQ(len, 2);
    CHECK(guest_equals(&e, RXBUF + 0x200, "ij"));
    mq_virtio_console_get_stats(e.c, &s);
    CHECK_EQ(s.rx_bytes, 10);
    /* A buffer split over two descriptors is filled across both. */
    struct td_buf split[] = {{RXBUF, 2, true}, {RXBUF + 0x100, 10, true}};
    td_add(&e.t, RXQ, split, 2);
    td_kick(&e.t, RXQ);
    CHECK_EQ(mq_virtio_console_from_host(e.c, (const uint8_t *)"xyz", 3), 3);
    CHECK(td_used(&e.t, RXQ, &id, &len));
    CHECK_EQ(len, 3);
    CHECK(guest_equals(&e, RXBUF, "xy"));
    CHECK(guest_equals(&e, RXBUF + 0x100, "z"));
    CHECK(!(td_status(&e.t) & MQ_VIRTIO_STATUS_NEEDS_RESET));
    env_fini(&e);

    /* A receive buffer with nothing writable: needs reset. */
    env_init(&e, true, NULL);
    struct td_buf ro[] = {{RXBUF, 16, false}};
    td_add(&e.t, RXQ, ro, 1);
    td_kick(&e.t, RXQ);
    CHECK_EQ(mq_virtio_console_from_host(e.c, (const uint8_t *)"abc", 3), 0);
    CHECK(td_status(&e.t) & MQ_VIRTIO_STATUS_NEEDS_RESET);
    CHECK(td_ack_irq(&e.t) & MQ_VIRTIO_ISR_CONFIG);
    CHECK_EQ(mq_virtio_console_from_host(e.c, (const uint8_t *)"abc", 3), 0);
    /* Reset brings it back. */
    CHECK_EQ(td_init(&e.t, ~0ull, 2, QSIZE), 0);
    rx_post(&e, RXBUF, 16, true);
    CHECK_EQ(mq_virtio_console_from_host(e.c, (const uint8_t *)"abc", 3), 3);
    env_fini(&e);

    /* A receive buffer outside RAM: needs reset. */
    env_init(&e, true, NULL);
    rx_post(&e, TD_RAM_BASE - 16, 16, true);
    CHECK_EQ(mq_virtio_console_from_host(e.c, (const uint8_t *)"abc", 3), 0);
    CHECK(td_status(&e.t) & MQ_VIRTIO_STATUS_NEEDS_RESET);
    env_fini(&e);
}

/* ---- a stream from a host thread to a driver on the main thread, through an I/O thread ---- */

#define STREAM_BYTES 200000u
#define RX_BUF_BYTES 64u

struct feeder {
    struct env *e;
    uint8_t data[STREAM_BYTES];
};

static void *feed(void *opaque)
{
    struct feeder *f = opaque;
    struct host *h = f->e->h;
    size_t sent = 0;

    while (sent < STREAM_BYTES) {
        pthread_mutex_lock(&h->lock);
        unsigned space = h->space;
        pthread_mutex_unlock(&h->lock);
        size_t n = mq_virtio_console_from_host(f->e->c, f->data + sent, STREAM_BYTES - sent);
        sent += n;
        if (sent == STREAM_BYTES || n)
            continue;
        /* Nothing taken: wait for rx_space (it may already have come). */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 5;
        pthread_mutex_lock(&h->lock);
        while (h->space == space) {
            if (pthread_cond_timedwait(&h->cond, &h->lock, &ts)) {
                pthread_mutex_unlock(&h->lock);
                return (void *)1; /* a lost wakeup */
            }
        }
        pthread_mutex_unlock(&h->lock);
    }
    return NULL;
}

static void test_stream(void)
{
    struct mq_event_loop *loop;
    struct env e;
    struct feeder *f = malloc(sizeof(*f));
    uint8_t *got = malloc(STREAM_BYTES);
    size_t got_len = 0;
    pthread_t th;
    void *res = (void *)2;

    CHECK_EQ(mq_event_loop_create(&loop), 0);
    CHECK_EQ(mq_event_loop_start(loop, "cons-test"), 0);
    env_init(&e, true, loop);
    f->e = &e;
    for (size_t i = 0; i < STREAM_BYTES; i++)
        f->data[i] = (uint8_t)(i * 31 + (i >> 8));
    /* Only a few buffers, so the feeder runs out again and again. */
    for (unsigned i = 0; i < 4; i++)
        rx_post(&e, RXBUF + RX_BUF_BYTES * i, RX_BUF_BYTES, i == 3);
    CHECK_EQ(pthread_create(&th, NULL, feed, f), 0);
    for (int idle = 0; got_len < STREAM_BYTES && idle < 50000;) {
        uint32_t id, len;
        if (!td_used(&e.t, RXQ, &id, &len)) {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
            idle++;
            continue;
        }
        idle = 0;
        uint64_t gpa = RXBUF + RX_BUF_BYTES * (id % 4);
        if (len > RX_BUF_BYTES || got_len + len > STREAM_BYTES)
            break;
        CHECK_EQ(mq_guest_mem_read(&e.t.gm, gpa, got + got_len, len), 0);
        got_len += len;
        /* Re-post the buffer (same descriptor slot order as td_add allocates). */
        rx_post(&e, gpa, RX_BUF_BYTES, true);
    }
    pthread_join(th, &res);
    CHECK(res == NULL);
    CHECK_EQ(got_len, STREAM_BYTES);
    CHECK(memcmp(got, f->data, STREAM_BYTES) == 0);

    /* Output through the loop as well. */
    put(&e, TXBUF, "through the loop");
    struct td_buf one[] = {{TXBUF, 16, false}};
    CHECK(tx_submit(&e, one, 1));
    CHECK_EQ(host_out_len(e.h), 16);
    CHECK(host_space(e.h) > 0);
    td_wr(&e.t, MQ_VIRTIO_MMIO_STATUS, 0);
    env_fini(&e);
    mq_event_loop_destroy(loop);
    free(f);
    free(got);
}

static void test_save_load(void)
{
    struct env e, f;
    struct mqt_blob b;
    uint32_t id, len;
    uint16_t head;
    size_t n;
    unsigned last = 0;

    env_init(&e, true, NULL);
    put(&e, TXBUF, "before");
    struct td_buf one[] = {{TXBUF, 6, false}};
    CHECK(tx_submit(&e, one, 1));
    rx_post(&e, RXBUF, 16, true);
    CHECK_EQ(mq_virtio_console_from_host(e.c, (const uint8_t *)"in", 2), 2);
    CHECK(td_used(&e.t, RXQ, &id, &len));
    /* Input the driver has no buffer for, then a buffer posted and not kicked. */
    CHECK_EQ(mq_virtio_console_from_host(e.c, (const uint8_t *)"x", 1), 0);
    head = rx_post(&e, RXBUF + 0x100, 16, false);
    td_ack_irq(&e.t);
    CHECK_EQ(mqt_save(mq_virtio_mmio_ops.save, e.t.mmio, &b), 0);

    /* Restore into a fresh device over a copy of the RAM, as a new VM process would. */
    env_init(&f, false, NULL);
    memcpy(f.t.gm.host, e.t.gm.host, TD_RAM_SIZE);
    memcpy(f.t.q, e.t.q, sizeof(f.t.q));
    CHECK_EQ(mqt_load(mq_virtio_mmio_ops.load, f.t.mmio, &b), 0);
    CHECK(td_status(&f.t) & MQ_VIRTIO_STATUS_DRIVER_OK);
    /* The resume's receive notify tells the host end there is room now. */
    mq_virtio_dev_resume(f.t.vdev);
    CHECK_EQ(host_space(f.h), 1);
    CHECK_EQ(mq_virtio_console_from_host(f.c, (const uint8_t *)"after", 5), 5);
    CHECK(td_used(&f.t, RXQ, &id, &len));
    CHECK_EQ(id, head);
    CHECK_EQ(len, 5);
    CHECK(guest_equals(&f, RXBUF + 0x100, "after"));
    put(&f, TXBUF, "-out");
    struct td_buf two[] = {{TXBUF, 4, false}};
    CHECK(tx_submit(&f, two, 1));
    CHECK_EQ(host_out_len(f.h), 4);
    CHECK(memcmp(f.h->out, "-out", 4) == 0);

    /* The model's version is the last field: a newer layout is refused. */
    while (mqt_field(&b, last + 1, &n))
        last++;
    CHECK_EQ(mqt_load_with(mq_virtio_mmio_ops.load, f.t.mmio, &b, last, 2), -EPROTONOSUPPORT);
    CHECK(strstr(mqt_errmsg, "virtio-console state version 2 is not supported"));
    CHECK_EQ(td_status(&f.t), 0);
    mqt_free(&b);
    env_fini(&f);
    env_fini(&e);
}

int main(void)
{
    mq_log_set_level(MQ_LOG_ERROR);
    test_config();
    test_output();
    test_input();
    test_stream();
    test_save_load();
    return td_finish("virtio_console_test");
}
