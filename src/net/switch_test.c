/* SPDX-License-Identifier: MIT */
/*
 * The switch backend (net/switch.c) against a switch process run on a
 * thread (net/switchd.c): frames both ways, DHCP through the switch, a
 * NIC that stops taking frames (the sender never blocks, the switch
 * drops), malformed frames, the handshake, and reconnection after the
 * switch restarts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "net/net.h"
#include "net/net_stats.h"
#include "net/netdir.h"
#include "net/switchd.h"
#include "util/clock.h"
#include "net/switch_core.h"
#include "util/le.h"
#include "switch_test_nic.h"

static int failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static const uint8_t MAC1[6] = {0x52, 0x54, 0, 0, 0, 1}, MAC2[6] = {0x52, 0x54, 0, 0, 0, 2};

struct sd {
    struct mq_switchd_config cfg;
    pthread_t thread;
    int ret;
    char err[256];
};

static void *sd_thread(void *opaque)
{
    struct sd *s = opaque;

    s->ret = mq_switchd_run(&s->cfg, s->err, sizeof(s->err));
    return NULL;
}

static int sd_start_opts(struct sd *s, const char *dir, bool nat)
{
    char err[256], ok[8] = {0};
    int p[2];

    memset(s, 0, sizeof(*s));
    snprintf(s->cfg.name, sizeof(s->cfg.name), "T");
    s->cfg.net = 0x0a000500u;
    s->cfg.mask = 0xffffff00u;
    s->cfg.dhcp = true;
    s->cfg.nat = nat;
    snprintf(s->cfg.sock_path, sizeof(s->cfg.sock_path), "%s/T.sock", dir);
    snprintf(s->cfg.state_path, sizeof(s->cfg.state_path), "%s/T.state", dir);
    if (mq_switchd_listen(s->cfg.sock_path, &s->cfg.listen_fd, err, sizeof(err))) {
        fprintf(stderr, "listen: %s\n", err);
        return -1;
    }
    s->cfg.stop_fd = eventfd(0, EFD_CLOEXEC);
    if (pipe(p))
        return -1;
    s->cfg.ready_fd = p[1];
    pthread_create(&s->thread, NULL, sd_thread, s);
    if (read(p[0], ok, sizeof(ok) - 1) < 2 || strncmp(ok, "ok", 2)) {
        fprintf(stderr, "switchd did not start: %s\n", ok);
        return -1;
    }
    close(p[0]);
    return 0;
}

static int sd_start(struct sd *s, const char *dir)
{
    return sd_start_opts(s, dir, false);
}

static void sd_stop(struct sd *s)
{
    uint64_t one = 1;

    if (write(s->cfg.stop_fd, &one, sizeof(one)) != sizeof(one))
        perror("stop");
    pthread_join(s->thread, NULL);
    close(s->cfg.stop_fd);
}

static size_t eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint8_t tag)
{
    memset(f, 0, 64);
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x88;
    f[13] = 0xb5; /* IEEE local experimental ethertype */
    f[14] = tag;
    return 64;
}

/* A DHCPDISCOVER from mac (IP header checksum filled in). */
static size_t discover(uint8_t *f, const uint8_t mac[6])
{
    uint8_t *ip = f + 14, *udp = ip + 20, *b = udp + 8;
    uint32_t sum = 0;

    memset(f, 0, 400);
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x08;
    b[0] = b[1] = 1;
    b[2] = 6;
    memcpy(b + 28, mac, 6);
    mq_put_be32(b + 236, 0x63825363);
    b[240] = 53, b[241] = 1, b[242] = 1, b[243] = 255;
    ip[0] = 0x45;
    mq_put_be16(ip + 2, 20 + 8 + 244);
    ip[8] = 64;
    ip[9] = 17;
    memset(ip + 16, 0xff, 4);
    for (int i = 0; i < 20; i += 2)
        sum += mq_get_be16(ip + i);
    sum = (sum & 0xffff) + (sum >> 16);
    mq_put_be16(ip + 10, (uint16_t)~sum);
    mq_put_be16(udp, 68);
    mq_put_be16(udp + 2, 67);
    mq_put_be16(udp + 4, 8 + 244);
    return 14 + 20 + 8 + 244;
}

static int status_ports(void)
{
    char reply[MQ_NETDIR_MSG_MAX], err[256], v[16];
    int fd;

    if (mq_netdir_connect("T", "status", &fd, reply, sizeof(reply), err, sizeof(err)))
        return -1;
    close(fd);
    return mq_netdir_kv(reply, "ports", v, sizeof(v)) ? atoi(v) : -1;
}

static void test_all(const char *dir)
{
    struct mq_net_backend *b1, *b2, *nb_none;
    struct nic n1, n2;
    struct sd s;
    static uint8_t f[MQ_SWITCH_MAX_FRAME + 16];
    char err[256], reply[MQ_NETDIR_MSG_MAX];
    uint64_t t0;
    int fd, ok = 0;

    CHECK(sd_start(&s, dir) == 0);
    CHECK(mq_net_backend_create("switch=T,mac=52:54:00:00:00:01", &b1, err, sizeof(err)) == 0);
    CHECK(mq_net_backend_create("switch=T,mac=52:54:00:00:00:02", &b2, err, sizeof(err)) == 0);
    CHECK(b1->has_mac && memcmp(b1->mac, MAC1, 6) == 0);
    CHECK(mq_net_backend_create("switch=nope", &nb_none,
                                err, sizeof(err)) == -ENOENT);
    CHECK(strstr(err, "maquina net create nope") != NULL);
    nic_init(&n1);
    nic_init(&n2);
    n1.filter = n2.filter = 0x88b5;
    mq_net_set_receiver(b1, nic_receive, &n1);
    mq_net_set_receiver(b2, nic_receive, &n2);
    CHECK(status_ports() == 2);

    /* Broadcast from 1 reaches 2; then unicast back. */
    CHECK(mq_net_send(b1, f, eth(f, (const uint8_t *)"\xff\xff\xff\xff\xff\xff", MAC1, 1)) == 0);
    CHECK(nic_wait(&n2, 1, 3000) && n2.last[14] == 1);
    CHECK(mq_net_send(b2, f, eth(f, MAC1, MAC2, 2)) == 0);
    CHECK(nic_wait(&n1, 1, 3000) && n1.last[14] == 2 && memcmp(n1.last + 6, MAC2, 6) == 0);

    /* DHCP through the switch: the offer comes back to MAC1. */
    n1.filter = 0x0800;
    CHECK(mq_net_send(b1, f, discover(f, MAC1)) == 0);
    CHECK(nic_wait(&n1, 2, 3000) && memcmp(n1.last, MAC1, 6) == 0 &&
          mq_get_be32(n1.last + 42 + 16) == 0x0a00050au);
    n1.filter = 0x88b5;

    /* Bad sizes are refused by the backend itself. */
    CHECK(mq_net_send(b1, f, 10) == -EINVAL);
    CHECK(mq_net_send(b1, f, MQ_SWITCH_MAX_FRAME + 1) == -EMSGSIZE);

    /* NIC 2 takes nothing: 30000 frames to it never block the sender. */
    pthread_mutex_lock(&n2.lock);
    n2.refuse = true;
    pthread_mutex_unlock(&n2.lock);
    t0 = mq_clock_monotonic_ns();
    for (int i = 0; i < 30000; i++)
        ok += mq_net_send(b1, f, eth(f, MAC2, MAC1, 3)) == 0;
    CHECK(mq_clock_monotonic_ns() - t0 < 5000000000ull);
    CHECK(ok > 0);
    usleep(300000);
    pthread_mutex_lock(&n2.lock);
    n2.refuse = false;
    pthread_mutex_unlock(&n2.lock);
    mq_net_rx_ready(b2);
    usleep(500000);
    /* Some got through, the bounded queues dropped the rest. */
    CHECK(nic_count(&n2) > 1 && nic_count(&n2) - 1 < (unsigned)ok);
    printf("# refused NIC: %d sent, %u delivered after rx_ready\n", ok, nic_count(&n2) - 1);

    /* Capacity of the path backend -> switch -> backend with full-size
     * frames, the sender backing off when its socket is full. */
    {
        unsigned before = nic_count(&n2), sent = 0;
        uint64_t dt;

        t0 = mq_clock_monotonic_ns();
        eth(f, MAC2, MAC1, 6);
        while (sent < 20000) {
            if (mq_net_send(b1, f, 1514) == 0)
                sent++;
            else
                usleep(50);
        }
        /* Until all are in, or none came for 200 ms (the rest were dropped). */
        for (unsigned last = 0; nic_count(&n2) != last && !nic_wait(&n2, before + 20000, 200);)
            last = nic_count(&n2);
        dt = mq_clock_monotonic_ns() - t0;
        /* A loaded host may drop some at the bounded queues, never most. */
        CHECK(nic_count(&n2) - before > 10000);
        printf("# 20000 frames of 1514 bytes through the switch in %.3f s: %.0f MB/s, "
               "%u delivered\n", dt / 1e9, 20000 * 1514 / (dt / 1e3), nic_count(&n2) - before);
    }

    /* A raw client: a bad handshake is refused. */
    CHECK(mq_netdir_connect("T", "bogus", &fd, reply, sizeof(reply), err, sizeof(err)) ==
          -EPROTO);

    /* The switch restarts: both backends come back on their own. */
    sd_stop(&s);
    CHECK(s.ret == 0);
    CHECK(access(s.cfg.sock_path, F_OK) != 0); /* its socket is gone with it */
    usleep(200000);
    CHECK(mq_net_send(b1, f, eth(f, MAC2, MAC1, 4)) < 0);
    CHECK(sd_start(&s, dir) == 0);
    for (int i = 0; i < 60 && status_ports() != 2; i++)
        usleep(100000);
    CHECK(status_ports() == 2);
    {
        unsigned before = nic_count(&n2);

        CHECK(mq_net_send(b1, f, eth(f, MAC2, MAC1, 5)) == 0);
        CHECK(nic_wait(&n2, before + 1, 3000) && n2.last[14] == 5);
    }
    mq_net_backend_close(b1);
    mq_net_backend_close(b2);
    for (int i = 0; i < 30 && status_ports() != 0; i++)
        usleep(100000);
    CHECK(status_ports() == 0);
    /* "stop" ends the switch like net delete does. */
    CHECK(mq_netdir_connect("T", "stop", &fd, reply, sizeof(reply), err, sizeof(err)) == 0);
    close(fd);
    pthread_join(s.thread, NULL);
    close(s.cfg.stop_fd);
    CHECK(access(s.cfg.sock_path, F_OK) != 0 && access(s.cfg.state_path, F_OK) != 0);
}

/* The option of code in a DHCP reply frame (4-byte value), or 0. */
static uint32_t opt4(const uint8_t *f, size_t len, uint8_t code)
{
    for (size_t i = 42 + 240; i + 6 <= len && f[i] != 255; i += 2 + f[i + 1]) {
        if (f[i] == code && f[i + 1] == 4)
            return mq_get_be32(f + i + 2);
    }
    return 0;
}

/* --dhcp --nat: the offer names the slirp gateway, which answers ARP through the switch. */
static void test_nat(const char *dir)
{
#if MQ_HAVE_SLIRP
    struct mq_net_backend *b;
    struct nic n;
    struct sd s;
    static uint8_t f[512];
    char err[256];

    CHECK(sd_start_opts(&s, dir, true) == 0);
    CHECK(mq_net_backend_create("switch=T,mac=52:54:00:00:00:01", &b, err, sizeof(err)) == 0);
    nic_init(&n);
    n.filter = 0x0800;
    mq_net_set_receiver(b, nic_receive, &n);
    CHECK(mq_net_send(b, f, discover(f, MAC1)) == 0);
    CHECK(nic_wait(&n, 1, 3000));
    CHECK(opt4(n.last, n.last_len, 3) == 0x0a000502u && opt4(n.last, n.last_len, 6) == 0x0a000503u);
    /* Exactly one offer: libslirp's own DHCP is off. */
    usleep(300000);
    CHECK(nic_count(&n) == 1);

    pthread_mutex_lock(&n.lock);
    n.filter = 0x0806;
    n.n = 0;
    pthread_mutex_unlock(&n.lock);
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    memcpy(f + 6, MAC1, 6);
    mq_put_be16(f + 12, 0x0806);
    mq_put_be16(f + 14, 1);
    mq_put_be16(f + 16, 0x0800);
    f[18] = 6, f[19] = 4;
    mq_put_be16(f + 20, 1);
    memcpy(f + 22, MAC1, 6);
    mq_put_be32(f + 28, 0x0a00050au);
    mq_put_be32(f + 38, 0x0a000502u);
    CHECK(mq_net_send(b, f, 60) == 0);
    CHECK(nic_wait(&n, 1, 3000) && mq_get_be16(n.last + 20) == 2 &&
          mq_get_be32(n.last + 28) == 0x0a000502u);
    mq_net_backend_close(b);
    sd_stop(&s);
#else
    printf("# no libslirp: the NAT uplink is not tested\n");
#endif
}

int main(void)
{
    char tmp[] = "/tmp/switch_test.XXXXXX", dir[256], err[256];

    if (!mkdtemp(tmp))
        return 1;
    setenv("XDG_RUNTIME_DIR", tmp, 1);
    if (mq_netdir_get(dir, sizeof(dir), true, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    test_all(dir);
    test_nat(dir);
    /* The switch removed its socket and state file: only the directories are left. */
    rmdir(dir);
    *strrchr(dir, '/') = '\0';
    rmdir(dir);
    if (rmdir(tmp) != 0)
        fprintf(stderr, "switch_test: %s not empty\n", tmp), failures++;
    if (failures) {
        fprintf(stderr, "switch_test: %d failure(s)\n", failures);
        return 1;
    }
    printf("switch_test: ok\n");
    return 0;
}
