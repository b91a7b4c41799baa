/* SPDX-License-Identifier: MIT */
/* Unit tests of the 16550A UART against the PC16550D datasheet register semantics. */
#include "hw/uart16550.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "hw/hw_test.h"
#include "util/state_testutil.h"

enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3,
       MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

struct tx_rec {
    uint8_t buf[256];
    size_t len;
};

static void tx_record(void *opaque, const uint8_t *buf, size_t len)
{
    struct tx_rec *t = opaque;

    for (size_t i = 0; i < len && t->len < sizeof(t->buf); i++)
        t->buf[t->len++] = buf[i];
}

static struct rec_irq irq;
static struct tx_rec txr;

static struct mq_uart16550 *new_uart(void)
{
    memset(&irq, 0, sizeof(irq));
    memset(&txr, 0, sizeof(txr));
    return mq_uart16550_create(rec_irq_line(&irq), tx_record, &txr);
}

static uint8_t rd(struct mq_uart16550 *u, unsigned reg)
{
    return (uint8_t)dev_rd(&mq_uart16550_ops, u, reg, 1);
}

static void wr(struct mq_uart16550 *u, unsigned reg, uint8_t v)
{
    dev_wr(&mq_uart16550_ops, u, reg, 1, v);
}

static void test_reset_values(void)
{
    struct mq_uart16550 *u = new_uart();

    CHECK(u != NULL);
    CHECK_EQ(rd(u, IER), 0);
    CHECK_EQ(rd(u, IIR), 0x01); /* no interrupt, FIFOs off */
    CHECK_EQ(rd(u, LCR), 0);
    CHECK_EQ(rd(u, MCR), 0);
    CHECK_EQ(rd(u, LSR), 0x60); /* THRE | TEMT */
    CHECK_EQ(rd(u, MSR) & 0xf0, 0xb0); /* CTS, DSR, DCD from the host side */
    CHECK_EQ(rd(u, SCR), 0);
    CHECK_EQ(rd(u, 8), 0); /* beyond the registers */
    CHECK(!irq.level);
    mq_uart16550_ops.destroy(u);
}

static void test_scratch_dlab_ier(void)
{
    struct mq_uart16550 *u = new_uart();

    wr(u, SCR, 0xa5);
    CHECK_EQ(rd(u, SCR), 0xa5);
    wr(u, SCR, 0x5a);
    CHECK_EQ(rd(u, SCR), 0x5a);

    /* Divisor latches behind DLAB; IER keeps its own value. */
    wr(u, IER, 0x05);
    wr(u, LCR, 0x83);
    wr(u, DLL, 0x0c);
    wr(u, DLM, 0x01);
    CHECK_EQ(rd(u, DLL), 0x0c);
    CHECK_EQ(rd(u, DLM), 0x01);
    wr(u, LCR, 0x03);
    CHECK_EQ(rd(u, LCR), 0x03);
    CHECK_EQ(rd(u, IER), 0x05);
    CHECK(txr.len == 0); /* DLL write did not transmit */

    /* Linux's 8250 probe: IER bits 4-7 read as zero on a 16550A. */
    wr(u, IER, 0xff);
    CHECK_EQ(rd(u, IER), 0x0f);
    wr(u, IER, 0x00);
    CHECK_EQ(rd(u, IER), 0x00);
    mq_uart16550_ops.destroy(u);
}

static void test_tx_and_thre_irq(void)
{
    struct mq_uart16550 *u = new_uart();

    wr(u, THR, 'h');
    wr(u, THR, 'i');
    CHECK_EQ(txr.len, 2);
    CHECK(memcmp(txr.buf, "hi", 2) == 0);
    CHECK_EQ(rd(u, LSR) & 0x60, 0x60);
    CHECK(!irq.level); /* THRE interrupt not enabled */

    /* Enabling ETBEI with THR empty raises THRE at once. */
    wr(u, IER, 0x02);
    CHECK(irq.level);
    CHECK_EQ(rd(u, IIR), 0x02);
    /* Reading IIR that reports THRE clears it. */
    CHECK(!irq.level);
    CHECK_EQ(rd(u, IIR), 0x01);
    /* Writing THR empties at once and re-raises. */
    wr(u, THR, 'x');
    CHECK(irq.level);
    CHECK_EQ(rd(u, IIR), 0x02);
    CHECK(!irq.level);
    /* Linux's UART_BUG_THRE test: toggling ETBEI re-raises. */
    wr(u, IER, 0x00);
    wr(u, IER, 0x02);
    CHECK_EQ(rd(u, IIR) & 0x0f, 0x02);
    wr(u, IER, 0x00);
    CHECK(!irq.level);
    mq_uart16550_ops.destroy(u);
}

static void test_rx_fifo_and_trigger(void)
{
    struct mq_uart16550 *u = new_uart();
    uint8_t data[20];

    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)('a' + i);

    /* FIFOs off: one holding register. */
    CHECK_EQ(mq_uart16550_rx(u, data, 3), 1);
    CHECK(!mq_uart16550_rx_ready(u));
    CHECK_EQ(rd(u, LSR) & 0x01, 1);
    CHECK_EQ(rd(u, RBR), 'a');
    CHECK_EQ(rd(u, LSR) & 0x01, 0);
    CHECK(mq_uart16550_rx_ready(u));

    /* FIFOs on, trigger level 8, RX data interrupt enabled. */
    wr(u, FCR, 0x87);
    CHECK_EQ(rd(u, IIR), 0xc1);
    wr(u, IER, 0x01);
    CHECK_EQ(mq_uart16550_rx(u, data, 4), 4);
    CHECK(irq.level);
    CHECK_EQ(rd(u, IIR), 0xcc); /* below trigger: character timeout */
    CHECK_EQ(mq_uart16550_rx(u, data + 4, 16), 12);
    CHECK_EQ(rd(u, IIR), 0xc4); /* at or above trigger: data available */
    CHECK(!mq_uart16550_rx_ready(u));
    for (unsigned i = 0; i < 16; i++)
        CHECK_EQ(rd(u, RBR), data[i]);
    CHECK_EQ(rd(u, LSR) & 0x01, 0);
    CHECK(!irq.level);
    CHECK_EQ(rd(u, IIR), 0xc1);

    /* FCR RX reset empties the FIFO and lowers the line. */
    CHECK_EQ(mq_uart16550_rx(u, data, 5), 5);
    CHECK(irq.level);
    wr(u, FCR, 0x83);
    CHECK_EQ(rd(u, LSR) & 0x01, 0);
    CHECK(!irq.level);
    /* Clearing FCR bit 0 turns the FIFO off and reports it in IIR. */
    wr(u, FCR, 0x00);
    CHECK_EQ(rd(u, IIR), 0x01);
    mq_uart16550_ops.destroy(u);
}

static void test_loopback_and_overrun(void)
{
    struct mq_uart16550 *u = new_uart();
    uint8_t b = 'z';

    /* Linux's 8250 loopback probe: RTS -> CTS, OUT2 -> DCD. */
    wr(u, MCR, 0x1a);
    CHECK_EQ(rd(u, MSR) & 0xf0, 0x90);
    wr(u, MCR, 0x1d); /* DTR, OUT1, OUT2: DSR, RI, DCD */
    CHECK_EQ(rd(u, MSR), 0xe0 | 0x03); /* DCTS, DDSR latched; RI rose: no TERI */
    CHECK_EQ(rd(u, MSR) & 0x0f, 0);    /* reading MSR cleared them */
    wr(u, MCR, 0x19); /* RI falls: trailing edge */
    CHECK_EQ(rd(u, MSR) & 0x0f, 0x04);

    /* Host input is refused in loopback; bytes sent come back. */
    CHECK(!mq_uart16550_rx_ready(u));
    CHECK_EQ(mq_uart16550_rx(u, &b, 1), 0);
    wr(u, FCR, 0x01);
    wr(u, IER, 0x05);
    for (unsigned i = 0; i < 16; i++)
        wr(u, THR, (uint8_t)i);
    CHECK_EQ(txr.len, 0);
    CHECK_EQ(rd(u, LSR) & 0x03, 0x01); /* data, no overrun yet */
    /* A 17th byte overflows the FIFO: OE and a line-status interrupt. */
    wr(u, THR, 0xff);
    CHECK(irq.level);
    CHECK_EQ(rd(u, IIR), 0xc6);
    CHECK_EQ(rd(u, LSR) & 0x03, 0x03);
    CHECK_EQ(rd(u, LSR) & 0x02, 0); /* reading LSR cleared OE */
    CHECK_EQ(rd(u, IIR), 0xc4);     /* data remains (trigger level 1) */
    for (unsigned i = 0; i < 16; i++)
        CHECK_EQ(rd(u, RBR), i); /* the overflowing byte was lost */
    CHECK(!irq.level);

    /* Leaving loopback reconnects the host. */
    wr(u, MCR, 0x00);
    CHECK(mq_uart16550_rx_ready(u));
    wr(u, THR, 'q');
    CHECK_EQ(txr.len, 1);
    mq_uart16550_ops.destroy(u);
}

static void test_modem_status_irq(void)
{
    struct mq_uart16550 *u = new_uart();

    wr(u, IER, 0x08);
    CHECK(!irq.level);
    wr(u, MCR, 0x10); /* entering loopback drops CTS/DSR/DCD: deltas */
    CHECK(irq.level);
    CHECK_EQ(rd(u, IIR), 0x00);
    rd(u, MSR);
    CHECK(!irq.level);
    CHECK_EQ(rd(u, IIR), 0x01);
    mq_uart16550_ops.destroy(u);
}

static void test_priorities(void)
{
    struct mq_uart16550 *u = new_uart();
    uint8_t b = 1;

    wr(u, FCR, 0x01);
    wr(u, MCR, 0x10);
    rd(u, MSR);
    wr(u, IER, 0x0f);
    CHECK_EQ(rd(u, IIR), 0xc2); /* THRE (raised by enabling ETBEI) */
    for (unsigned i = 0; i < 17; i++)
        wr(u, THR, b); /* overrun */
    wr(u, MCR, 0x12); /* CTS change */
    CHECK_EQ(rd(u, IIR), 0xc6); /* line status first */
    rd(u, LSR);
    CHECK_EQ(rd(u, IIR), 0xc4); /* then received data */
    for (unsigned i = 0; i < 16; i++)
        rd(u, RBR);
    CHECK_EQ(rd(u, IIR), 0xc2); /* then THRE (re-armed by the THR writes) */
    CHECK_EQ(rd(u, IIR), 0xc0); /* then modem status */
    rd(u, MSR);
    CHECK_EQ(rd(u, IIR), 0xc1);
    CHECK(!irq.level);
    mq_uart16550_ops.destroy(u);
}

static unsigned space_calls;

static void on_space(void *opaque)
{
    (void)opaque;
    space_calls++;
}

static void test_rx_space_cb_and_reset(void)
{
    struct mq_uart16550 *u = new_uart();
    uint8_t data[4] = {1, 2, 3, 4};

    space_calls = 0;
    mq_uart16550_set_rx_space_cb(u, on_space, NULL);
    wr(u, FCR, 0x01);
    CHECK_EQ(mq_uart16550_rx(u, data, 4), 4);
    rd(u, RBR);
    rd(u, RBR);
    rd(u, RBR);
    CHECK_EQ(space_calls, 0);
    rd(u, RBR);
    CHECK_EQ(space_calls, 1);
    rd(u, RBR); /* empty FIFO: returns the last byte again, no new call */
    CHECK_EQ(space_calls, 1);

    wr(u, IER, 0x03);
    CHECK(irq.level);
    wr(u, SCR, 0x77);
    mq_uart16550_ops.reset(u);
    CHECK(!irq.level);
    CHECK_EQ(rd(u, SCR), 0);
    CHECK_EQ(rd(u, IER), 0);
    CHECK_EQ(rd(u, IIR), 0x01);
    mq_uart16550_ops.destroy(u);
}

#define STREAM_LEN 20000u

static void *producer(void *arg)
{
    struct mq_uart16550 *u = arg;
    unsigned sent = 0;

    while (sent < STREAM_LEN) {
        uint8_t chunk[7];
        unsigned n = MQ_MIN(STREAM_LEN - sent, (unsigned)sizeof(chunk));

        for (unsigned i = 0; i < n; i++)
            chunk[i] = (uint8_t)((sent + i) * 7u);
        sent += (unsigned)mq_uart16550_rx(u, chunk, n);
        if (!mq_uart16550_rx_ready(u))
            sched_yield();
    }
    return NULL;
}

/* Host input from another thread while the "hart" drains the FIFO: every
 * byte arrives once, in order. */
static void test_rx_concurrent(void)
{
    struct mq_uart16550 *u = new_uart();
    pthread_t t;
    unsigned got = 0;

    wr(u, FCR, 0xc1);
    wr(u, IER, 0x01);
    CHECK_EQ(pthread_create(&t, NULL, producer, u), 0);
    while (got < STREAM_LEN) {
        if (rd(u, LSR) & 0x01) {
            uint8_t b = rd(u, RBR);
            if (b != (uint8_t)(got * 7u)) {
                CHECK_EQ(b, (uint8_t)(got * 7u));
                break;
            }
            got++;
        } else {
            sched_yield();
        }
    }
    pthread_join(t, NULL);
    CHECK_EQ(got, STREAM_LEN);
    CHECK_EQ(rd(u, LSR) & 0x03, 0); /* empty, never overrun */
    CHECK(!rec_irq_level(&irq));
    mq_uart16550_ops.destroy(u);
}

/* Two UARTs with their own lines, for comparing a restored UART with the original. */
static struct rec_irq irq_b;

/* Every register read in lockstep on both UARTs, side effects included. */
static void check_same_reads(struct mq_uart16550 *a, struct mq_uart16550 *b)
{
    static const unsigned order[] = {IIR, LSR, MSR, IER, LCR, MCR, SCR, RBR, IIR, RBR, LSR,
                                     RBR, RBR, RBR, IIR, LSR, MSR};

    for (size_t i = 0; i < MQ_ARRAY_SIZE(order); i++)
        CHECK_EQ(rd(a, order[i]), rd(b, order[i]));
    wr(a, LCR, 0x80);
    wr(b, LCR, 0x80);
    CHECK_EQ(rd(a, DLL), rd(b, DLL));
    CHECK_EQ(rd(a, DLM), rd(b, DLM));
}

static void test_save_load(void)
{
    struct mq_uart16550 *u = new_uart();
    struct mq_uart16550 *c = mq_uart16550_create(rec_irq_line(&irq_b), NULL, NULL);
    struct mqt_blob b, again;

    /* Divisor, FIFO at trigger 14, loopback off, modem lines, scratch. */
    wr(u, LCR, 0x80);
    wr(u, DLL, 0x0c);
    wr(u, DLM, 0x01);
    wr(u, LCR, 0x1b);
    wr(u, FCR, 0xc1);
    wr(u, MCR, 0x0b);
    wr(u, SCR, 0x5a);
    wr(u, IER, 0x0d);
    /* Seven bytes in, two read: the ring starts mid-buffer, data below the trigger. */
    CHECK_EQ(mq_uart16550_rx(u, (const uint8_t *)"abcdefg", 7), 7);
    CHECK_EQ(rd(u, RBR), 'a');
    CHECK_EQ(rd(u, RBR), 'b');
    CHECK(irq.level);

    CHECK_EQ(mqt_save(mq_uart16550_ops.save, u, &b), 0);
    CHECK_EQ(mqt_load(mq_uart16550_ops.load, c, &b), 0);
    CHECK(rec_irq_level(&irq_b)); /* the clone raised its line */

    /* Reset drops the line; load raises it again, to the saved level. */
    mq_uart16550_ops.reset(u);
    CHECK(!irq.level);
    space_calls = 0;
    mq_uart16550_set_rx_space_cb(u, on_space, NULL);
    CHECK_EQ(mqt_load(mq_uart16550_ops.load, u, &b), 0);
    CHECK(irq.level);
    CHECK_EQ(space_calls, 0); /* bytes still waiting: no room signalled */
    CHECK_EQ(rd(u, LCR), 0x1b);

    /* Saving the restored UART gives the same stream. */
    CHECK_EQ(mqt_save(mq_uart16550_ops.save, u, &again), 0);
    CHECK_EQ(again.len, b.len);
    CHECK(!memcmp(again.data, b.data, b.len));
    mqt_free(&again);

    check_same_reads(u, c);
    /* Restoring an empty receiver tells a refused host producer to push again. */
    mq_uart16550_ops.reset(c);
    CHECK_EQ(mqt_save(mq_uart16550_ops.save, c, &again), 0);
    space_calls = 0;
    CHECK_EQ(mqt_load(mq_uart16550_ops.load, u, &again), 0);
    CHECK_EQ(space_calls, 1);
    CHECK(!irq.level);
    mqt_free(&again);
    mq_uart16550_ops.destroy(c);
    mqt_free(&b);
    mq_uart16550_ops.destroy(u);
}

static void test_load_refuses(void)
{
    struct mq_uart16550 *u = new_uart();
    struct mqt_blob b;

    wr(u, FCR, 0x01);
    CHECK_EQ(mq_uart16550_rx(u, (const uint8_t *)"xy", 2), 2);
    CHECK_EQ(mqt_save(mq_uart16550_ops.save, u, &b), 0);
    wr(u, SCR, 0x77);
    /* Field order: IER FCR LCR MCR LSR MSRd SCR DLL DLM RBR THRE count FIFO. */
    CHECK_EQ(mqt_load_with(mq_uart16550_ops.load, u, &b, 0, 0x10), -EINVAL);
    CHECK(strstr(mqt_errmsg, "IER") != NULL);
    CHECK_EQ(mqt_load_with(mq_uart16550_ops.load, u, &b, 1, 0x02), -EINVAL);
    CHECK_EQ(mqt_load_with(mq_uart16550_ops.load, u, &b, 1, 0x07), -EINVAL);
    CHECK_EQ(mqt_load_with(mq_uart16550_ops.load, u, &b, 3, 0x20), -EINVAL);
    CHECK_EQ(mqt_load_with(mq_uart16550_ops.load, u, &b, 4, 0x01), -EINVAL);
    CHECK_EQ(mqt_load_with(mq_uart16550_ops.load, u, &b, 5, 0x10), -EINVAL);
    CHECK_EQ(mqt_load_with(mq_uart16550_ops.load, u, &b, 10, 2), -EINVAL);
    CHECK_EQ(mqt_load_with(mq_uart16550_ops.load, u, &b, 11, 17), -EINVAL);
    CHECK(strstr(mqt_errmsg, "17 received bytes") != NULL);
    /* Two bytes but the FIFO off: the 16450 holding register takes one. */
    CHECK_EQ(mqt_load_with(mq_uart16550_ops.load, u, &b, 1, 0x00), -EINVAL);
    {
        struct mqt_blob v = {malloc(b.len), b.len};
        memcpy(v.data, b.data, b.len);
        mqt_set_version(&v, 2);
        CHECK_EQ(mqt_load(mq_uart16550_ops.load, u, &v), -EPROTONOSUPPORT);
        mqt_free(&v);
    }
    /* Nothing of a refused stream reached the device. */
    CHECK_EQ(rd(u, SCR), 0x77);
    CHECK_EQ(rd(u, RBR), 'x');
    mqt_free(&b);
    mq_uart16550_ops.destroy(u);
}

int main(void)
{
    RUN(test_reset_values);
    RUN(test_scratch_dlab_ier);
    RUN(test_tx_and_thre_irq);
    RUN(test_rx_fifo_and_trigger);
    RUN(test_loopback_and_overrun);
    RUN(test_modem_status_irq);
    RUN(test_priorities);
    RUN(test_rx_space_cb_and_reset);
    RUN(test_rx_concurrent);
    RUN(test_save_load);
    RUN(test_load_refuses);
    return hw_test_failures ? 1 : 0;
}
