/* SPDX-License-Identifier: MIT */
/* The switch (VM-to-VM) and tap network backends; private to src/net. */
#ifndef MQ_NET_SWITCH_H
#define MQ_NET_SWITCH_H

#include <stddef.h>

#include "net/net.h"
#include "net/net_spec.h"
#include "net/net_stats.h"

/*
 * Join the virtual network spec->name (`maquina net create NAME`) through
 * its switch's socket. Fails when the network does not exist; once joined,
 * a switch that goes away is retried every second (frames meanwhile are
 * dropped). 0, or -errno with a one-line reason in err.
 */
int mq_net_switch_create(const struct mq_net_switch_spec *spec, struct mq_net_backend **out,
                         char *err, size_t errlen);

/* A tap device (/dev/net/tun, IFF_TAP | IFF_NO_PI): needs CAP_NET_ADMIN or an owned device. */
int mq_net_tap_create(const struct mq_net_tap_spec *spec, struct mq_net_backend **out,
                      char *err, size_t errlen);

/* Counters of a switch or tap backend; -ENOTSUP for another kind. */
int mq_net_fd_get_stats(struct mq_net_backend *nb, struct mq_net_stats *out);

#endif
