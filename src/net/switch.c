/* SPDX-License-Identifier: MIT */
/*
 * The switch network backend: a VM NIC as one port of a virtual network's
 * switch process (net/switchd.h), over the network's SOCK_SEQPACKET socket,
 * one Ethernet frame per message (protocol in net/netdir.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/fd_backend.h"
#include "net/netdir.h"
#include "net/switch.h"
#include "net/switch_core.h"
#include "util/log.h"

/* Socket buffers: room for bursts (about 1700 full frames) so TCP rarely sees a drop. */
#define SWITCH_SOCKBUF (4 << 20)

struct switch_backend {
    struct mq_net_fd_backend fb; /* first */
    char name[MQ_NET_SWITCH_NAME_MAX + 1];
};

/* Bigger buffers than the default 208 KiB; the FORCE variant works for root only. */
static void set_bufs(int fd)
{
    int v = SWITCH_SOCKBUF;

    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

static int join(const char *name, int *fd, char *err, size_t errlen)
{
    char reply[MQ_NETDIR_MSG_MAX];
    int ret = mq_netdir_connect(name, "port", fd, reply, sizeof(reply), err, errlen);

    if (ret)
        return ret;
    set_bufs(*fd);
    return 0;
}

static int switch_reconnect(struct mq_net_fd_backend *fb)
{
    struct switch_backend *sb = (struct switch_backend *)fb;
    char err[256];
    int fd, ret = join(sb->name, &fd, err, sizeof(err));

    return ret ? ret : fd;
}

static const struct mq_net_fd_ops switch_fops = {
    .kind = "switch",
    .reconnect = switch_reconnect,
};

int mq_net_switch_create(const struct mq_net_switch_spec *spec, struct mq_net_backend **out,
                         char *err, size_t errlen)
{
    struct switch_backend *sb;
    char why[256];
    int fd, ret;

    *out = NULL;
    ret = join(spec->name, &fd, why, sizeof(why));
    if (ret) {
        mq_net_errf(err, errlen, "--net switch=%s: %s", spec->name,
                    strncmp(why, "net: ", 5) == 0 ? why + 5 : why);
        return ret;
    }
    sb = calloc(1, sizeof(*sb));
    if (!sb) {
        close(fd);
        mq_net_errf(err, errlen, "--net switch=%s: out of memory", spec->name);
        return -ENOMEM;
    }
    snprintf(sb->name, sizeof(sb->name), "%s", spec->name);
    snprintf(sb->fb.what, sizeof(sb->fb.what), "switch=%s", spec->name);
    ret = mq_net_fd_backend_start(&sb->fb, &switch_fops, fd, true, MQ_SWITCH_MAX_FRAME, err,
                                  errlen);
    if (ret) {
        free(sb);
        return ret;
    }
    if (spec->has_mac) {
        sb->fb.nb.has_mac = true;
        memcpy(sb->fb.nb.mac, spec->mac, 6);
    }
    *out = &sb->fb.nb;
    return 0;
}
