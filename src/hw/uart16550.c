/* SPDX-License-Identifier: MIT */
/*
 * A 16550A UART: registers, 16-byte FIFOs, interrupt identification and
 * loopback, following the National Semiconductor PC16550D datasheet
 * (sections 8.4-8.10: register descriptions, Table IV interrupt control).
 *
 * The host side is fast: a byte written to THR is handed to the host at
 * once, so the transmitter is always empty (THRE and TEMT read 1) and the
 * TX FIFO never holds data. The receiver timeout (IIR 0x0C: data below the
 * trigger level and no activity for four character times) is approximated:
 * host input arrives in bursts through mq_uart16550_rx(), and by the time a
 * hart can look at the registers the burst is over, so data below the
 * trigger level is reported as a timeout at once.
 *
 * Locking: one mutex per UART protects all registers. The interrupt line is
 * driven with the mutex held so that level changes reach the interrupt
 * controller in order; lock order is UART -> PLIC -> hart, and the irq
 * receiver never calls back into the UART. tx() and the rx-space callback
 * run outside the mutex.
 */
#include "hw/uart16550.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/state.h"

#define UART_FIFO_SIZE 16u
#define UART_STATE_VERSION 1u

/* Register offsets (DLAB selects DLL/DLM at 0/1). */
enum {
    REG_RBR_THR = 0,
    REG_IER = 1,
    REG_IIR_FCR = 2,
    REG_LCR = 3,
    REG_MCR = 4,
    REG_LSR = 5,
    REG_MSR = 6,
    REG_SCR = 7,
};

#define IER_ERBFI 0x01u /* received data available */
#define IER_ETBEI 0x02u /* transmitter holding register empty */
#define IER_ELSI 0x04u  /* receiver line status */
#define IER_EDSSI 0x08u /* modem status */
#define IER_MASK 0x0fu  /* bits 4-7 read 0 on a 16550A (Linux probes this) */

#define IIR_NO_INT 0x01u
#define IIR_ID_MSR 0x00u
#define IIR_ID_THRE 0x02u
#define IIR_ID_RDA 0x04u
#define IIR_ID_RLS 0x06u
#define IIR_ID_TIMEOUT 0x0cu
#define IIR_FIFO_ON 0xc0u

#define FCR_ENABLE 0x01u
#define FCR_RX_RESET 0x02u
#define FCR_TX_RESET 0x04u
#define FCR_KEEP 0xc9u /* enable, DMA mode select, RX trigger level */

#define LCR_DLAB 0x80u

#define MCR_DTR 0x01u
#define MCR_RTS 0x02u
#define MCR_OUT1 0x04u
#define MCR_OUT2 0x08u
#define MCR_LOOP 0x10u
#define MCR_MASK 0x1fu

#define LSR_DR 0x01u
#define LSR_OE 0x02u
#define LSR_ERRORS 0x1eu /* OE, PE, FE, BI: cleared by reading LSR */
#define LSR_THRE 0x20u
#define LSR_TEMT 0x40u

#define MSR_DCTS 0x01u
#define MSR_DDSR 0x02u
#define MSR_TERI 0x04u
#define MSR_DDCD 0x08u
#define MSR_CTS 0x10u
#define MSR_DSR 0x20u
#define MSR_RI 0x40u
#define MSR_DCD 0x80u
/* Outside loopback the host side is always connected and ready. */
#define MSR_HOST_LINES (MSR_CTS | MSR_DSR | MSR_DCD)

struct mq_uart16550 {
    pthread_mutex_t lock;
    struct mq_irq irq;
    bool irq_level;

    void (*tx)(void *opaque, const uint8_t *buf, size_t len);
    void *tx_opaque;
    void (*rx_space)(void *opaque);
    void *rx_space_opaque;

    uint8_t rx_fifo[UART_FIFO_SIZE];
    unsigned rx_head;
    unsigned rx_count;
    uint8_t rbr; /* last byte read, returned again when the FIFO is empty */

    uint8_t ier;
    uint8_t fcr;
    uint8_t lcr;
    uint8_t mcr;
    uint8_t lsr_err; /* sticky error bits of LSR */
    uint8_t msr_lines; /* MSR bits 4-7 */
    uint8_t msr_delta; /* MSR bits 0-3 */
    uint8_t scr;
    uint8_t dll;
    uint8_t dlm;
    /* THRE interrupt latch: set when THR empties, cleared by reading IIR. */
    bool thr_ipending;
};

/* Receive capacity: the FIFO, or the single holding register in 16450 mode. */
static unsigned rx_capacity(const struct mq_uart16550 *u)
{
    return (u->fcr & FCR_ENABLE) ? UART_FIFO_SIZE : 1u;
}

static unsigned rx_trigger(const struct mq_uart16550 *u)
{
    static const unsigned levels[4] = {1, 4, 8, 14};

    return (u->fcr & FCR_ENABLE) ? levels[u->fcr >> 6] : 1u;
}

/* True when a refused host producer could push everything it has again. */
static bool rx_drained(const struct mq_uart16550 *u)
{
    return u->rx_count == 0 && !(u->mcr & MCR_LOOP);
}

/* Highest-priority pending interrupt, PC16550D Table IV. */
static uint8_t uart_iir_id(const struct mq_uart16550 *u)
{
    if ((u->ier & IER_ELSI) && (u->lsr_err & LSR_ERRORS))
        return IIR_ID_RLS;
    if ((u->ier & IER_ERBFI) && u->rx_count)
        return u->rx_count >= rx_trigger(u) ? IIR_ID_RDA : IIR_ID_TIMEOUT;
    if ((u->ier & IER_ETBEI) && u->thr_ipending)
        return IIR_ID_THRE;
    if ((u->ier & IER_EDSSI) && (u->msr_delta & 0x0fu))
        return IIR_ID_MSR;
    return IIR_NO_INT;
}

/* Drive the output line to match the interrupt state. Lock held. */
static void uart_update_irq(struct mq_uart16550 *u)
{
    bool level = uart_iir_id(u) != IIR_NO_INT;

    if (level != u->irq_level) {
        u->irq_level = level;
        mq_irq_set(&u->irq, level);
    }
}

static void rx_clear(struct mq_uart16550 *u)
{
    u->rx_head = 0;
    u->rx_count = 0;
}

/* One received character; overrun when the receiver is full. Lock held. */
static void rx_push(struct mq_uart16550 *u, uint8_t b)
{
    if (u->rx_count < rx_capacity(u)) {
        u->rx_fifo[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = b;
        u->rx_count++;
        return;
    }
    u->lsr_err |= LSR_OE;
    /* 16450 mode: the new character overwrites the holding register;
     * FIFO mode: the FIFO is kept and the character in the shift register is lost. */
    if (!(u->fcr & FCR_ENABLE))
        u->rx_fifo[u->rx_head] = b;
}

static uint8_t rx_pop(struct mq_uart16550 *u)
{
    if (u->rx_count) {
        u->rbr = u->rx_fifo[u->rx_head];
        u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
        u->rx_count--;
    }
    return u->rbr;
}

/* MSR bits 4-7 for a given MCR: looped back from MCR, or the host's. */
static uint8_t msr_lines_for(uint8_t mcr)
{
    uint8_t lines = MSR_HOST_LINES;

    if (mcr & MCR_LOOP) {
        lines = 0;
        if (mcr & MCR_RTS)
            lines |= MSR_CTS;
        if (mcr & MCR_DTR)
            lines |= MSR_DSR;
        if (mcr & MCR_OUT1)
            lines |= MSR_RI;
        if (mcr & MCR_OUT2)
            lines |= MSR_DCD;
    }
    return lines;
}

/* Recompute MSR bits 4-7 from MCR (loopback) or the host; latch deltas. */
static void uart_update_msr(struct mq_uart16550 *u)
{
    uint8_t lines = msr_lines_for(u->mcr);
    uint8_t changed;

    changed = lines ^ u->msr_lines;
    if (changed & MSR_CTS)
        u->msr_delta |= MSR_DCTS;
    if (changed & MSR_DSR)
        u->msr_delta |= MSR_DDSR;
    if ((changed & MSR_RI) && !(lines & MSR_RI)) /* trailing edge only */
        u->msr_delta |= MSR_TERI;
    if (changed & MSR_DCD)
        u->msr_delta |= MSR_DDCD;
    u->msr_lines = lines;
}

static void uart_reset_locked(struct mq_uart16550 *u)
{
    rx_clear(u);
    u->rbr = 0;
    u->ier = 0;
    u->fcr = 0;
    u->lcr = 0;
    u->mcr = 0;
    u->lsr_err = 0;
    u->msr_lines = MSR_HOST_LINES;
    u->msr_delta = 0;
    u->scr = 0;
    u->dll = 0;
    u->dlm = 0;
    u->thr_ipending = false;
    uart_update_irq(u);
}

static uint8_t uart_read_reg(struct mq_uart16550 *u, unsigned reg)
{
    uint8_t v, id;

    switch (reg) {
    case REG_RBR_THR:
        return (u->lcr & LCR_DLAB) ? u->dll : rx_pop(u);
    case REG_IER:
        return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
    case REG_IIR_FCR:
        id = uart_iir_id(u);
        /* Reading IIR while it reports THRE clears that source. */
        if (id == IIR_ID_THRE)
            u->thr_ipending = false;
        return id | ((u->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0);
    case REG_LCR:
        return u->lcr;
    case REG_MCR:
        return u->mcr;
    case REG_LSR:
        v = (u->rx_count ? LSR_DR : 0) | u->lsr_err | LSR_THRE | LSR_TEMT;
        u->lsr_err = 0;
        return v;
    case REG_MSR:
        v = u->msr_lines | u->msr_delta;
        u->msr_delta = 0;
        return v;
    default:
        return u->scr;
    }
}

static void uart_write_fcr(struct mq_uart16550 *u, uint8_t val)
{
    /* Changing the enable bit clears both FIFOs (datasheet, FCR bit 0). */
    if ((val ^ u->fcr) & FCR_ENABLE)
        rx_clear(u);
    if (!(val & FCR_ENABLE)) {
        /* The other FCR bits are only programmed while bit 0 is set. */
        u->fcr = 0;
        return;
    }
    if (val & FCR_RX_RESET)
        rx_clear(u);
    /* FCR_TX_RESET: the TX FIFO is always empty, nothing to reset. */
    u->fcr = val & FCR_KEEP;
}

/*
 * Returns true when the byte in *out must be transmitted to the host once
 * the lock is dropped.
 */
static bool uart_write_reg(struct mq_uart16550 *u, unsigned reg, uint8_t val, uint8_t *out)
{
    switch (reg) {
    case REG_RBR_THR:
        if (u->lcr & LCR_DLAB) {
            u->dll = val;
            return false;
        }
        /* The byte leaves at once, so THR is empty again right away. */
        u->thr_ipending = true;
        if (u->mcr & MCR_LOOP) {
            rx_push(u, val);
            return false;
        }
        *out = val;
        return true;
    case REG_IER:
        if (u->lcr & LCR_DLAB) {
            u->dlm = val;
            return false;
        }
        /* Enabling ETBEI while THR is empty raises THRE at once; Linux's
         * 8250 startup relies on that to detect a working THRE interrupt. */
        if ((val & ~u->ier) & IER_ETBEI)
            u->thr_ipending = true;
        u->ier = val & IER_MASK;
        return false;
    case REG_IIR_FCR:
        uart_write_fcr(u, val);
        return false;
    case REG_LCR:
        u->lcr = val;
        return false;
    case REG_MCR:
        u->mcr = val & MCR_MASK;
        uart_update_msr(u);
        return false;
    case REG_LSR:
    case REG_MSR:
        /* Read-only status (LSR writes are a factory test mode): ignore. */
        return false;
    default:
        u->scr = val;
        return false;
    }
}

static int uart_read(void *dev, uint64_t off, unsigned size, uint64_t *val)
{
    struct mq_uart16550 *u = dev;
    void (*cb)(void *) = NULL;
    void *cb_opaque = NULL;
    bool was_drained;

    if (off >= 8) {
        *val = 0;
        return 0;
    }
    pthread_mutex_lock(&u->lock);
    was_drained = rx_drained(u);
    *val = uart_read_reg(u, (unsigned)off);
    uart_update_irq(u);
    if (!was_drained && rx_drained(u)) {
        cb = u->rx_space;
        cb_opaque = u->rx_space_opaque;
    }
    pthread_mutex_unlock(&u->lock);
    if (cb)
        cb(cb_opaque);
    return 0;
}

static int uart_write(void *dev, uint64_t off, unsigned size, uint64_t val)
{
    struct mq_uart16550 *u = dev;
    void (*cb)(void *) = NULL;
    void *cb_opaque = NULL;
    bool was_drained, send;
    uint8_t byte = 0;

    if (off >= 8) {
        mq_guest_warn("uart16550", "write 0x%02x to unimplemented offset 0x%llx ignored",
                      (unsigned)(val & 0xffu), (unsigned long long)off);
        return 0;
    }
    pthread_mutex_lock(&u->lock);
    was_drained = rx_drained(u);
    send = uart_write_reg(u, (unsigned)off, (uint8_t)val, &byte);
    uart_update_irq(u);
    if (!was_drained && rx_drained(u)) {
        cb = u->rx_space;
        cb_opaque = u->rx_space_opaque;
    }
    pthread_mutex_unlock(&u->lock);
    /* tx is set once at creation, so reading it unlocked is safe. */
    if (send && u->tx)
        u->tx(u->tx_opaque, &byte, 1);
    if (cb)
        cb(cb_opaque);
    return 0;
}

size_t mq_uart16550_rx(struct mq_uart16550 *u, const uint8_t *buf, size_t len)
{
    size_t n = 0;

    pthread_mutex_lock(&u->lock);
    if (!(u->mcr & MCR_LOOP)) {
        while (n < len && u->rx_count < rx_capacity(u))
            rx_push(u, buf[n++]);
        uart_update_irq(u);
    }
    pthread_mutex_unlock(&u->lock);
    return n;
}

bool mq_uart16550_rx_ready(struct mq_uart16550 *u)
{
    bool ready;

    pthread_mutex_lock(&u->lock);
    ready = !(u->mcr & MCR_LOOP) && u->rx_count < rx_capacity(u);
    pthread_mutex_unlock(&u->lock);
    return ready;
}

void mq_uart16550_set_rx_space_cb(struct mq_uart16550 *u, void (*cb)(void *opaque),
                                  void *opaque)
{
    pthread_mutex_lock(&u->lock);
    u->rx_space = cb;
    u->rx_space_opaque = opaque;
    pthread_mutex_unlock(&u->lock);
}

static void uart_reset(void *dev)
{
    struct mq_uart16550 *u = dev;

    pthread_mutex_lock(&u->lock);
    uart_reset_locked(u);
    pthread_mutex_unlock(&u->lock);
}

/*
 * Snapshot, section version 1: IER, FCR, LCR, MCR, LSR error bits, MSR
 * deltas, SCR, DLL, DLM, RBR (u8 each), the THRE latch (bool), the receive
 * count (u8) and the receive FIFO oldest byte first (16 bytes). MSR bits
 * 4-7 and the interrupt level are derived from these on load.
 */
static int uart_save(void *dev, struct mq_state_writer *w)
{
    struct mq_uart16550 *u = dev;
    uint8_t fifo[UART_FIFO_SIZE] = {0};

    pthread_mutex_lock(&u->lock);
    mq_state_set_version(w, UART_STATE_VERSION);
    /* Linearized so the stream does not depend on where the ring starts. */
    for (unsigned i = 0; i < u->rx_count; i++)
        fifo[i] = u->rx_fifo[(u->rx_head + i) % UART_FIFO_SIZE];
    mq_state_put_u8(w, u->ier);
    mq_state_put_u8(w, u->fcr);
    mq_state_put_u8(w, u->lcr);
    mq_state_put_u8(w, u->mcr);
    mq_state_put_u8(w, u->lsr_err);
    mq_state_put_u8(w, u->msr_delta);
    mq_state_put_u8(w, u->scr);
    mq_state_put_u8(w, u->dll);
    mq_state_put_u8(w, u->dlm);
    mq_state_put_u8(w, u->rbr);
    mq_state_put_bool(w, u->thr_ipending);
    mq_state_put_u8(w, (uint8_t)u->rx_count);
    mq_state_put_bytes(w, fifo, sizeof(fifo));
    pthread_mutex_unlock(&u->lock);
    return mq_state_writer_error(w);
}

/* Refuse register values the guest could never have produced. */
static int uart_check_state(struct mq_state_reader *r, const struct mq_uart16550 *s)
{
    unsigned cap = rx_capacity(s);

    if (s->ier & ~IER_MASK)
        mq_state_reader_fail(r, -EINVAL, "IER 0x%02x has reserved bits set", s->ier);
    else if ((s->fcr & ~FCR_KEEP) || (s->fcr && !(s->fcr & FCR_ENABLE)))
        mq_state_reader_fail(r, -EINVAL, "FCR 0x%02x is not a programmable value", s->fcr);
    else if (s->mcr & ~MCR_MASK)
        mq_state_reader_fail(r, -EINVAL, "MCR 0x%02x has reserved bits set", s->mcr);
    else if (s->lsr_err & ~LSR_ERRORS)
        mq_state_reader_fail(r, -EINVAL, "LSR error bits 0x%02x are not error bits",
                             s->lsr_err);
    else if (s->msr_delta & ~0x0fu)
        mq_state_reader_fail(r, -EINVAL, "MSR deltas 0x%02x beyond bits 0-3", s->msr_delta);
    else if (s->rx_count > cap)
        mq_state_reader_fail(r, -EINVAL, "%u received bytes, the receiver holds %u",
                             s->rx_count, cap);
    return mq_state_reader_error(r);
}

static int uart_load(void *dev, struct mq_state_reader *r)
{
    struct mq_uart16550 *u = dev;
    struct mq_uart16550 s = {0}; /* register values only: the lock is never used */
    void (*cb)(void *) = NULL;
    void *cb_opaque = NULL;

    if (mq_state_expect_version(r, UART_STATE_VERSION, UART_STATE_VERSION))
        return mq_state_reader_error(r);
    s.ier = mq_state_get_u8(r);
    s.fcr = mq_state_get_u8(r);
    s.lcr = mq_state_get_u8(r);
    s.mcr = mq_state_get_u8(r);
    s.lsr_err = mq_state_get_u8(r);
    s.msr_delta = mq_state_get_u8(r);
    s.scr = mq_state_get_u8(r);
    s.dll = mq_state_get_u8(r);
    s.dlm = mq_state_get_u8(r);
    s.rbr = mq_state_get_u8(r);
    s.thr_ipending = mq_state_get_bool(r);
    s.rx_count = mq_state_get_u8(r);
    mq_state_get_bytes(r, s.rx_fifo, sizeof(s.rx_fifo));
    if (mq_state_reader_error(r) || uart_check_state(r, &s))
        return mq_state_reader_error(r);

    pthread_mutex_lock(&u->lock);
    memcpy(u->rx_fifo, s.rx_fifo, sizeof(u->rx_fifo));
    u->rx_head = 0;
    u->rx_count = s.rx_count;
    u->rbr = s.rbr;
    u->ier = s.ier;
    u->fcr = s.fcr;
    u->lcr = s.lcr;
    u->mcr = s.mcr;
    u->lsr_err = s.lsr_err;
    u->msr_lines = msr_lines_for(s.mcr);
    u->msr_delta = s.msr_delta;
    u->scr = s.scr;
    u->dll = s.dll;
    u->dlm = s.dlm;
    u->thr_ipending = s.thr_ipending;
    /* Drive the line even when the level looks unchanged: the receiver was reset too. */
    u->irq_level = uart_iir_id(u) != IIR_NO_INT;
    mq_irq_set(&u->irq, u->irq_level);
    /* A host producer refused before the load may push again. */
    if (rx_drained(u)) {
        cb = u->rx_space;
        cb_opaque = u->rx_space_opaque;
    }
    pthread_mutex_unlock(&u->lock);
    if (cb)
        cb(cb_opaque);
    return 0;
}

static void uart_destroy(void *dev)
{
    struct mq_uart16550 *u = dev;

    if (!u)
        return;
    pthread_mutex_destroy(&u->lock);
    free(u);
}

struct mq_uart16550 *mq_uart16550_create(struct mq_irq irq,
                                         void (*tx)(void *opaque, const uint8_t *buf,
                                                    size_t len),
                                         void *tx_opaque)
{
    struct mq_uart16550 *u = calloc(1, sizeof(*u));
    int err;

    if (!u)
        return NULL;
    err = pthread_mutex_init(&u->lock, NULL);
    if (err) {
        free(u);
        errno = err;
        return NULL;
    }
    u->irq = irq;
    u->tx = tx;
    u->tx_opaque = tx_opaque;
    /* Power-on state without touching the line: it starts low. */
    u->msr_lines = MSR_HOST_LINES;
    return u;
}

const struct mq_dev_ops mq_uart16550_ops = {
    .name = "uart16550",
    .min_access = 1,
    .max_access = 1,
    .read = uart_read,
    .write = uart_write,
    .reset = uart_reset,
    .save = uart_save,
    .load = uart_load,
    .destroy = uart_destroy,
};
