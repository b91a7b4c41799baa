/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the 16550A UART register decoder: random register
 * accesses interleaved with host input, checking that the interrupt line
 * always agrees with IIR and that THR is always empty.
 *
 * Input: a sequence of records, each an opcode byte followed by operands:
 *   op & 3 == 0  read  reg (1 byte: offset & 0x0f)
 *   op & 3 == 1  write reg, value (2 bytes)
 *   op & 3 == 2  host input: n (1 byte, & 31), then n data bytes
 *   op & 3 == 3  op >> 2 selects: IIR/line check, LSR check, rx_ready, reset
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "hw/uart16550.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(c)                                                         \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

struct input {
    const uint8_t *p;
    size_t left;
};

static uint8_t next_byte(struct input *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

static bool line_level;
static size_t tx_bytes;

static void line_set(void *opaque, unsigned line, bool level)
{
    (void)opaque;
    (void)line;
    /* The device only reports changes. */
    FUZZ_ASSERT(level != line_level);
    line_level = level;
}

static void tx(void *opaque, const uint8_t *buf, size_t len)
{
    (void)opaque;
    (void)buf;
    tx_bytes += len;
}

static uint8_t rd(struct mq_uart16550 *u, uint64_t off)
{
    uint64_t v = 0;

    FUZZ_ASSERT(mq_uart16550_ops.read(u, off, 1, &v) == 0);
    FUZZ_ASSERT(v <= 0xff);
    return (uint8_t)v;
}

static void check(struct mq_uart16550 *u, unsigned what)
{
    bool before = line_level;
    uint8_t lcr, v;

    switch (what % 4) {
    case 0:
        /* IIR bit 0 is 0 exactly when the line is up (value before the read). */
        v = rd(u, 2);
        FUZZ_ASSERT(!(v & 1) == before);
        FUZZ_ASSERT((v & 0x30) == 0);
        break;
    case 1:
        v = rd(u, 5);
        FUZZ_ASSERT((v & 0x60) == 0x60); /* transmitter always empty */
        break;
    case 2:
        (void)mq_uart16550_rx_ready(u);
        lcr = rd(u, 3);
        (void)lcr;
        break;
    default:
        mq_uart16550_ops.reset(u);
        FUZZ_ASSERT(!line_level);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};
    struct mq_irq irq = {.set = line_set};
    struct mq_uart16550 *u;

    line_level = false;
    tx_bytes = 0;
    u = mq_uart16550_create(irq, tx, NULL);
    if (!u)
        return 0;
    while (in.left) {
        uint8_t op = next_byte(&in);
        uint8_t buf[32];
        unsigned n;

        switch (op & 3) {
        case 0:
            rd(u, next_byte(&in) & 0x0f);
            break;
        case 1: {
            uint64_t off = next_byte(&in) & 0x0f;
            FUZZ_ASSERT(mq_uart16550_ops.write(u, off, 1, next_byte(&in)) == 0);
            break;
        }
        case 2:
            n = next_byte(&in) & 31;
            for (unsigned i = 0; i < n; i++)
                buf[i] = next_byte(&in);
            FUZZ_ASSERT(mq_uart16550_rx(u, buf, n) <= n);
            break;
        default:
            check(u, op >> 2);
            break;
        }
    }
    mq_uart16550_ops.destroy(u);
    return 0;
}
