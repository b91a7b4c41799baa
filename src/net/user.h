/* SPDX-License-Identifier: MIT */
/* The user-mode (NAT) network backend on libslirp; private to src/net. */
#ifndef MQ_NET_USER_H
#define MQ_NET_USER_H

#include <stddef.h>

#include "net/net.h"
#include "net/net_spec.h"
#include "net/net_stats.h"

/* libslirp's default MTU; the largest frame either way is this plus an
 * Ethernet header and one VLAN tag. */
#define MQ_NET_USER_MTU 1500
#define MQ_NET_USER_MAX_FRAME (MQ_NET_USER_MTU + 14 + 4)
#define MQ_NET_ETH_HLEN 14

/*
 * Start a libslirp stack for spec and open its hostfwd listeners. The
 * stack's thread starts with the first frame from the guest. 0, or -errno
 * with a one-line reason in err (e.g. -EADDRINUSE for a busy host port).
 */
int mq_net_user_create(const struct mq_net_user_spec *spec, struct mq_net_backend **out,
                       char *err, size_t errlen);

/* Counters of a user backend; -ENOTSUP if nb is another kind. */
int mq_net_user_get_stats(struct mq_net_backend *nb, struct mq_net_stats *out);

#endif
