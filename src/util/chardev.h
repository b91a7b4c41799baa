/* SPDX-License-Identifier: MIT */
/*
 * Host character backends: where a guest byte stream (a virtio console
 * port, later a serial port) goes and where its input comes from.
 *
 * Specifications:
 *   none          output discarded, no input
 *   file:PATH     output appended to PATH (created 0644, truncated), no input
 *   socket:PATH   listen on a Unix stream socket (mode 0600, a stale socket
 *                 at PATH is replaced), one client at a time; output while
 *                 no client is connected is dropped
 *   pty           a pseudo-terminal in raw mode; its slave path is
 *                 announced ("maquina: hvc0 is /dev/pts/N"); output
 *                 before the slave was first opened waits in the pty's
 *                 buffer (a few KiB, then the queue, then dropped); output
 *                 after a reader closed the slave is dropped until the
 *                 next one opens it (checked every 200 ms)
 *
 * Output never blocks the writer: it is queued (up to MQ_CHARDEV_OUT_QUEUE
 * bytes) and written from the event loop; what does not fit is dropped
 * and counted. Input is read on the event loop and handed to hooks->deliver;
 * when that takes less than offered, reading pauses until
 * mq_chardev_input_space() is called.
 */
#ifndef MQ_UTIL_CHARDEV_H
#define MQ_UTIL_CHARDEV_H

#include <stddef.h>
#include <stdint.h>

#include "util/event_loop.h"

#define MQ_CHARDEV_OUT_QUEUE (64u << 10)

struct mq_chardev;

struct mq_chardev_hooks {
    /*
     * Input for the device: return how many of the len bytes it took.
     * Fewer than len pauses reading; the rest is offered again after
     * mq_chardev_input_space(). Runs on the loop thread. NULL: input is
     * read and discarded.
     */
    size_t (*deliver)(void *opaque, const uint8_t *buf, size_t len);
    /*
     * A line for the user (the pty's path), without newline. Called from
     * mq_chardev_open(). NULL: printed on stderr.
     */
    void (*notice)(void *opaque, const char *line);
    /* Name in messages, e.g. "hvc0"; NULL: "chardev". Must outlive the chardev. */
    const char *name;
    void *opaque;
};

struct mq_chardev_stats {
    uint64_t out_bytes;    /* written to the host side */
    uint64_t out_dropped;  /* queue full, nobody connected, write error, or "none" */
    uint64_t in_bytes;     /* read from the host side */
};

/*
 * Open a backend from spec (see above). loop runs the I/O; it is required
 * for socket and pty and may be NULL for none and file (output is then
 * written synchronously by mq_chardev_write). hooks is copied. On error
 * returns -errno with a one-line reason in err (which may be NULL).
 */
int mq_chardev_open(const char *spec, struct mq_event_loop *loop,
                    const struct mq_chardev_hooks *hooks, struct mq_chardev **out, char *err,
                    size_t errlen);

/* Output. Thread-safe, never blocks for long (see above). */
void mq_chardev_write(struct mq_chardev *c, const uint8_t *buf, size_t len);

/* The device has room for input again. Thread-safe; cheap when nothing is pending. */
void mq_chardev_input_space(struct mq_chardev *c);

/* The pty's slave path or the socket's path; NULL for none and file. */
const char *mq_chardev_path(const struct mq_chardev *c);

/* Snapshot of the counters. Thread-safe. */
void mq_chardev_get_stats(struct mq_chardev *c, struct mq_chardev_stats *out);

/*
 * Stop all I/O, write out what is queued for a file, remove the socket
 * path and free. No other call on c may run concurrently or follow; not
 * from a callback of c itself. NULL is allowed.
 */
void mq_chardev_close(struct mq_chardev *c);

#endif
