/* SPDX-License-Identifier: MIT */
/*
 * The host side of the serial console: guest output to stdout, a file or
 * nowhere; host input from stdin, with the terminal in raw mode and
 * QEMU-style escape keys (Ctrl-A x quits, Ctrl-A h helps, Ctrl-A a sends
 * Ctrl-A). The terminal is restored on every exit path, including fatal
 * signals.
 */
#ifndef MQ_VM_CONSOLE_H
#define MQ_VM_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "util/event_loop.h"

struct mq_console;

struct mq_console_hooks {
    /* Deliver input to the guest; returns bytes accepted (may be fewer). */
    size_t (*deliver)(void *opaque, const uint8_t *buf, size_t len);
    /* The user pressed Ctrl-A x. Called on the event loop thread. */
    void (*quit)(void *opaque);
    void *opaque;
};

/* A detached console's log is rotated (LOG -> LOG.1) past this size. */
#define MQ_CONSOLE_LOG_MAX (1u << 20)

/*
 * mode: "stdio", "file:PATH", "none" or "detached:LOG,SOCKET". Input is
 * read from stdin only in stdio mode, on the given event loop. Detached
 * (for `maquina start`): output goes to LOG, rotated to LOG.1 past
 * MQ_CONSOLE_LOG_MAX, and to the one client of the Unix socket SOCKET
 * (mode 0600, util/chardev.h socket:), whose input goes to the guest;
 * escape keys are the client's business (`maquina console`).
 * 0 or -errno with err filled.
 */
int mq_console_create(const char *mode, struct mq_event_loop *loop,
                      const struct mq_console_hooks *hooks, struct mq_console **out,
                      char *err, size_t errlen);

/* Guest output. Thread-safe (called from hart threads). */
void mq_console_write(struct mq_console *c, const uint8_t *buf, size_t len);

/* The guest side has room for input again. Thread-safe. */
void mq_console_input_space(struct mq_console *c);

/* Stop input, restore the terminal and free. */
void mq_console_destroy(struct mq_console *c);

#endif
