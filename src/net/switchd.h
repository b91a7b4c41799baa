/* SPDX-License-Identifier: MIT */
/*
 * The switch process of a virtual network: a learning switch
 * (net/switch_core.h) whose ports are the VMs connected to NAME.sock
 * (net/netdir.h), plus optionally the DHCP server (net/dhcp_server.h)
 * and a libslirp NAT uplink (net/user.c) as internal ports.
 * `maquina net create` runs it in a detached process; tests run it on a
 * thread.
 */
#ifndef MQ_NET_SWITCHD_H
#define MQ_NET_SWITCHD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/net_spec.h"

/* Gateway (NAT), DNS and DHCP server addresses inside the subnet. */
#define MQ_SWITCHD_DHCP_HOST 1
#define MQ_SWITCHD_NAT_HOST 2
#define MQ_SWITCHD_NAT_DNS 3
#define MQ_SWITCHD_POOL_FIRST 10
#define MQ_SWITCHD_MAX_PORTS 64

struct mq_switchd_config {
    char name[MQ_NET_SWITCH_NAME_MAX + 1];
    uint32_t net, mask; /* host order */
    bool dhcp, nat;
    int listen_fd;      /* bound, listening AF_UNIX SOCK_SEQPACKET; closed by run */
    int stop_fd;        /* readable: stop (a pipe or eventfd); -1: only "stop" */
    int ready_fd;       /* "ok\n" or "error ...\n" written then closed; -1: none */
    char sock_path[108];  /* unlinked at exit when still ours; "" none */
    char state_path[256]; /* written when ready, unlinked at exit; "" none */
};

/*
 * Serve until stopped (stop_fd, or a "stop" request). 0, or -errno with
 * a reason in err when it could not start (also sent to ready_fd).
 */
int mq_switchd_run(const struct mq_switchd_config *cfg, char *err, size_t errlen);

/* A listening SOCK_SEQPACKET socket at path, mode 0600. 0 or -errno with err. */
int mq_switchd_listen(const char *path, int *fd, char *err, size_t errlen);

/* Parse "A.B.C.D/P" (P 8-27): the subnet rules of `net create`. */
int mq_switchd_parse_subnet(const char *s, uint32_t *net, uint32_t *mask, char *err,
                            size_t errlen);

#endif
