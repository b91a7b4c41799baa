/* SPDX-License-Identifier: MIT */
/*
 * A 16550A UART with byte-wide registers (device tree compatible "ns16550a",
 * reg-shift 0, reg-io-width 1), as on QEMU's virt board.
 */
#ifndef MQ_HW_UART16550_H
#define MQ_HW_UART16550_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/bus.h"
#include "util/irq.h"

/* Registers occupy offsets 0..7; the board may map a larger region (QEMU: 0x100). */
#define MQ_UART16550_REGION_SIZE 0x100u

struct mq_uart16550;

/*
 * Create a UART in its power-on state. irq is the interrupt output (a level
 * line; it is driven while the device lock is held, so its receiver must not
 * call back into this UART). tx receives every byte the guest transmits, one
 * call per THR write, called from the hart thread outside the device lock;
 * tx may be NULL (output is dropped). Returns NULL with errno set on failure.
 * Free with mq_uart16550_ops.destroy.
 */
struct mq_uart16550 *mq_uart16550_create(struct mq_irq irq,
                                         void (*tx)(void *opaque, const uint8_t *buf,
                                                    size_t len),
                                         void *tx_opaque);

/*
 * Host input: push up to len bytes into the receive FIFO. Returns the number
 * accepted (0 when the FIFO is full or the UART is in loopback mode, where
 * the real chip disconnects its serial input). Thread-safe: the host I/O
 * thread calls it while harts access the registers.
 */
size_t mq_uart16550_rx(struct mq_uart16550 *u, const uint8_t *buf, size_t len);

/* True when mq_uart16550_rx() would accept at least one byte. Thread-safe. */
bool mq_uart16550_rx_ready(struct mq_uart16550 *u);

/*
 * Optional flow-control wake-up: cb is called (from a hart thread, outside
 * the device lock, so it may call mq_uart16550_rx() directly) when the guest
 * has drained the receive FIFO or left loopback mode, i.e. when a producer
 * that was refused may push again. cb may be NULL to disable it.
 */
void mq_uart16550_set_rx_space_cb(struct mq_uart16550 *u, void (*cb)(void *opaque),
                                  void *opaque);

/* Register access: 1-byte accesses only (the bus splits wider ones). */
extern const struct mq_dev_ops mq_uart16550_ops;

#endif
