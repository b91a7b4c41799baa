/* SPDX-License-Identifier: MIT */
/*
 * Network backends: where a guest NIC's Ethernet frames go. A NIC model
 * (virtio-net) sends frames with mq_net_send() and receives them through
 * the receive callback it installs. Backends: user (libslirp NAT),
 * switch (VM-to-VM), tap.
 *
 * Threading: mq_net_send() may be called from any thread (it copies the
 * frame). The receive callback runs on the backend's own thread; the NIC
 * must hand the frame to its guest queue and return quickly, or return
 * false ("no room") so the backend keeps the frame and retries after
 * mq_net_rx_ready() is called.
 */
#ifndef MQ_NET_NET_H
#define MQ_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mq_net_backend;

/* Frame to the guest; return false to push back (no room in the guest ring). */
typedef bool mq_net_receive_fn(void *opaque, const uint8_t *frame, size_t len);

struct mq_net_backend_ops {
    const char *kind; /* "user", "switch", "tap" */
    int (*send)(struct mq_net_backend *nb, const uint8_t *frame, size_t len);
    void (*rx_ready)(struct mq_net_backend *nb);
    void (*set_link)(struct mq_net_backend *nb, bool up);
    void (*close)(struct mq_net_backend *nb);
};

struct mq_net_backend {
    const struct mq_net_backend_ops *ops;
    mq_net_receive_fn *receive;
    void *receive_opaque;
    /* The backend's specification names the NIC's MAC (switch=NAME,mac=...):
     * the NIC uses it instead of its default. Set before create returns. */
    bool has_mac;
    uint8_t mac[6];
};

/*
 * Create a backend from a user specification (the value of --net, e.g.
 * "user", "user,hostfwd=tcp:127.0.0.1:2222-:22", "switch=lan0", "tap=tap0").
 * On error returns -errno
 * with a one-line reason in err.
 */
int mq_net_backend_create(const char *spec, struct mq_net_backend **out, char *err,
                          size_t errlen);

static inline void mq_net_set_receiver(struct mq_net_backend *nb, mq_net_receive_fn *fn,
                                       void *opaque)
{
    /* Opaque first: a backend thread that sees fn (acquire) sees its opaque too. */
    nb->receive_opaque = opaque;
    __atomic_store_n(&nb->receive, fn, __ATOMIC_RELEASE);
}

/* Frame from the guest. 0, or -errno (dropped). Thread-safe. */
static inline int mq_net_send(struct mq_net_backend *nb, const uint8_t *frame, size_t len)
{
    return nb->ops->send(nb, frame, len);
}

/* The NIC has room again after refusing a frame. Thread-safe. */
static inline void mq_net_rx_ready(struct mq_net_backend *nb)
{
    if (nb->ops->rx_ready)
        nb->ops->rx_ready(nb);
}

void mq_net_backend_close(struct mq_net_backend *nb);

#endif
