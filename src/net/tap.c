/* SPDX-License-Identifier: MIT */
/*
 * The tap network backend: the guest NIC's frames on a Linux tap device
 * (Documentation/networking/tuntap.rst), opened from /dev/net/tun with
 * IFF_TAP | IFF_NO_PI, so each read or write is one bare Ethernet frame.
 * Creating a device needs CAP_NET_ADMIN; a persistent device owned by the
 * user (ip tuntap add ... user U) opens without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "net/fd_backend.h"
#include "net/switch.h"
#include "net/switch_core.h"

static const struct mq_net_fd_ops tap_fops = {
    .kind = "tap",
};

int mq_net_tap_create(const struct mq_net_tap_spec *spec, struct mq_net_backend **out,
                      char *err, size_t errlen)
{
    struct mq_net_fd_backend *fb;
    struct ifreq ifr;
    int fd, ret;

    *out = NULL;
    fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        ret = -errno;
        mq_net_errf(err, errlen, "--net tap=%s: /dev/net/tun: %s", spec->ifname,
                    strerror(errno));
        return ret;
    }
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", spec->ifname);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        ret = -errno;
        mq_net_errf(err, errlen, "--net tap=%s: TUNSETIFF: %s%s", spec->ifname, strerror(errno),
                    errno == EPERM ? " (needs root, or a tap device created for you with "
                                     "'ip tuntap add dev IFNAME mode tap user $USER')" :
                    errno == EBUSY ? " (another program has the device open)" : "");
        close(fd);
        return ret;
    }
    fb = calloc(1, sizeof(*fb));
    if (!fb) {
        close(fd);
        mq_net_errf(err, errlen, "--net tap=%s: out of memory", spec->ifname);
        return -ENOMEM;
    }
    snprintf(fb->what, sizeof(fb->what), "tap=%s", spec->ifname);
    ret = mq_net_fd_backend_start(fb, &tap_fops, fd, false, MQ_SWITCH_MAX_FRAME, err, errlen);
    if (ret) {
        free(fb);
        return ret;
    }
    *out = &fb->nb;
    return 0;
}
