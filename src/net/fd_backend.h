/* SPDX-License-Identifier: MIT */
/*
 * A network backend on a file descriptor that carries one Ethernet frame
 * per read and write: a SOCK_SEQPACKET socket to a switch process or a tap
 * device. Shared by switch.c and tap.c; private to src/net.
 *
 * Threading: send() runs on the caller's thread and never blocks
 * (non-blocking write; a full socket or device drops the frame, as a full
 * NIC ring would). Frames to the guest are read on the backend's own
 * thread; when the NIC refuses one, the thread holds it and stops reading
 * until rx_ready, so the switch's bounded port queue takes the overflow.
 */
#ifndef MQ_NET_FD_BACKEND_H
#define MQ_NET_FD_BACKEND_H

#include <pthread.h>
#include <stdbool.h>

#include "net/net.h"
#include "net/net_stats.h"

struct mq_net_fd_backend;

struct mq_net_fd_ops {
    const char *kind;
    /* Backend thread: a new fd after the old one failed, or -errno (retried each second). */
    int (*reconnect)(struct mq_net_fd_backend *fb);
};

struct mq_net_fd_backend {
    struct mq_net_backend nb; /* first */
    const struct mq_net_fd_ops *fops;
    char what[96];            /* for messages: "switch=lan0", "tap=tap0" */
    bool is_socket;           /* send()/recv() with MSG_NOSIGNAL, else write()/read() */
    size_t max_frame;
    pthread_mutex_t lock;     /* guards fd for senders against the thread's reconnects */
    int fd;                   /* -1: disconnected */
    int wake_fd;
    pthread_t thread;
    bool stop, rx_ready, link_up; /* atomics */
    uint8_t *rx_buf;
    size_t held;              /* thread only: a frame refused by the NIC, its length */
    struct mq_net_stats stats;
};

/* Set up fb around fd (owned) and start its thread. 0 or -errno (fd closed).
 * Frames read before the NIC installs its receiver are dropped. */
int mq_net_fd_backend_start(struct mq_net_fd_backend *fb, const struct mq_net_fd_ops *fops,
                            int fd, bool is_socket, size_t max_frame, char *err,
                            size_t errlen);

#endif
