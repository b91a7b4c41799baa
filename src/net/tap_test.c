/* SPDX-License-Identifier: MIT */
/*
 * The tap backend (net/tap.c) in a network namespace of its own: the test
 * unshares one (CLONE_NEWNET, so nothing touches the host's interfaces),
 * opens tap=mqtap0 there, gives the kernel's side 192.168.77.1/24 and
 * plays a guest at 192.168.77.2: an ARP request and an ICMP echo must be
 * answered by the kernel. Needs root; prints a TAP skip line otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "util/le.h"
#include "switch_test_nic.h"

static int n, failed;

static void ok(int cond, const char *what)
{
    printf("%s %d - %s\n", cond ? "ok" : "not ok", ++n, what);
    failed += !cond;
}

static const uint8_t GMAC[6] = {0x52, 0x54, 0, 0, 0x77, 2};

static int if_setup(const char *ifname)
{
    struct ifreq ifr;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(0xc0a84d01); /* 192.168.77.1 */
    if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
        ret = -errno;
    sin->sin_addr.s_addr = htonl(0xffffff00);
    if (!ret && ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
        ret = -errno;
    if (!ret && ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        ret = -errno;
    ifr.ifr_flags |= IFF_UP;
    if (!ret && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        ret = -errno;
    close(s);
    return ret;
}

static uint16_t csum(const uint8_t *p, size_t len)
{
    uint32_t s = 0;

    for (size_t i = 0; i + 1 < len; i += 2)
        s += mq_get_be16(p + i);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

int main(void)
{
    struct mq_net_backend *nb;
    struct nic nic;
    uint8_t f[128], hmac[6];
    char err[256];
    int ret;

    if (geteuid() != 0) {
        printf("1..0 # SKIP needs root (CAP_NET_ADMIN) to create a network namespace and a tap device\n");
        return 0;
    }
    if (unshare(CLONE_NEWNET) < 0) {
        printf("1..0 # SKIP cannot create a network namespace: %s\n", strerror(errno));
        return 0;
    }
    ret = mq_net_backend_create("tap=mqtap0", &nb, err, sizeof(err));
    ok(ret == 0, "tap=mqtap0 opens in a fresh network namespace");
    if (ret) {
        printf("# %s\n1..%d\n", err, n);
        return 1;
    }
    nic_init(&nic);
    nic.filter = 0x0806;
    mq_net_set_receiver(nb, nic_receive, &nic);
    ok(if_setup("mqtap0") == 0, "the kernel side gets 192.168.77.1/24 and goes up");

    /* ARP: who has 192.168.77.1, tell 192.168.77.2. */
    memset(f, 0, sizeof(f));
    memset(f, 0xff, 6);
    memcpy(f + 6, GMAC, 6);
    mq_put_be16(f + 12, 0x0806);
    mq_put_be16(f + 14, 1);
    mq_put_be16(f + 16, 0x0800);
    f[18] = 6, f[19] = 4;
    mq_put_be16(f + 20, 1);
    memcpy(f + 22, GMAC, 6);
    mq_put_be32(f + 28, 0xc0a84d02);
    mq_put_be32(f + 38, 0xc0a84d01);
    ok(mq_net_send(nb, f, 60) == 0, "an ARP request goes into the tap");
    ok(nic_wait(&nic, 1, 3000) && mq_get_be16(nic.last + 20) == 2 &&
       mq_get_be32(nic.last + 28) == 0xc0a84d01 && memcmp(nic.last, GMAC, 6) == 0,
       "the kernel's ARP reply comes out of the tap");
    memcpy(hmac, nic.last + 22, 6);

    /* ICMP echo request 192.168.77.2 -> .1. */
    pthread_mutex_lock(&nic.lock);
    nic.filter = 0x0800;
    nic.n = 0;
    pthread_mutex_unlock(&nic.lock);
    memset(f, 0, sizeof(f));
    memcpy(f, hmac, 6);
    memcpy(f + 6, GMAC, 6);
    mq_put_be16(f + 12, 0x0800);
    f[14] = 0x45;
    mq_put_be16(f + 16, 20 + 8 + 32);
    f[22] = 64;
    f[23] = 1;
    mq_put_be32(f + 26, 0xc0a84d02);
    mq_put_be32(f + 30, 0xc0a84d01);
    mq_put_be16(f + 24, csum(f + 14, 20));
    f[34] = 8;
    mq_put_be16(f + 38, 0x4d51);
    mq_put_be16(f + 40, 1);
    memcpy(f + 42, "maquina tap test payload 32 byte", 32);
    mq_put_be16(f + 36, csum(f + 34, 40));
    ok(mq_net_send(nb, f, 14 + 60) == 0, "an ICMP echo request goes into the tap");
    ok(nic_wait(&nic, 1, 3000) && nic.last[23] == 1 && nic.last[34] == 0 &&
       memcmp(nic.last + 42, "maquina tap test payload 32 byte", 32) == 0,
       "the kernel's echo reply comes out of the tap");
    mq_net_backend_close(nb);
    printf("1..%d\n", n);
    return failed ? 1 : 0;
}
