/* SPDX-License-Identifier: MIT */
/*
 * Test scaffolding for user_test.c: a fake guest NIC on a user-network
 * backend (receive queue, push-back), Ethernet/ARP/IPv4/UDP/TCP frame
 * builders and parsers with checksum checks, and loopback host sockets.
 * Static functions, for one test program only.
 */
#ifndef MQ_NET_USER_TEST_GUEST_H
#define MQ_NET_USER_TEST_GUEST_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"
#include "net/net_stats.h"
#include "util/clock.h"

static int failures;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);  \
            failures++;                                                               \
        }                                                                             \
    } while (0)

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define GUEST_IP IP(10, 0, 2, 15)
#define GW_IP IP(10, 0, 2, 2)
#define DNS_IP IP(10, 0, 2, 3)
#define ETH_HLEN 14
#define IP_HLEN 20
#define TCP_HLEN 20
#define UDP_HLEN 8
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define WAIT_MS 3000

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* ---- byte helpers ---- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint32_t sum_bytes(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += get16(p + i);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* Checksum over the IPv4 pseudo header and the transport segment. */
static uint16_t l4_sum(uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *seg,
                       size_t len)
{
    uint8_t ph[12];

    put32(ph, src);
    put32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = proto;
    put16(ph + 10, (uint16_t)len);
    return fold(sum_bytes(sum_bytes(0, ph, sizeof(ph)), seg, len));
}

/* ---- the fake guest's receive side ---- */

#define RXQ_MAX 1024

struct guest {
    struct mq_net_backend *nb;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint8_t *frames[RXQ_MAX];
    size_t lens[RXQ_MAX];
    unsigned head, count;
    bool refuse;
    unsigned refused;
    unsigned refuse_every; /* refuse every Nth frame, then kick rx_ready (0: never) */
    unsigned calls;
    bool kick;
    unsigned bad_checksums;
};

static bool guest_receive(void *opaque, const uint8_t *frame, size_t len)
{
    struct guest *g = opaque;
    uint8_t *copy;

    pthread_mutex_lock(&g->lock);
    g->calls++;
    if (g->refuse_every && g->calls % g->refuse_every == 0) {
        g->refused++;
        g->kick = true;
        pthread_cond_signal(&g->cond);
        pthread_mutex_unlock(&g->lock);
        return false;
    }
    if (g->refuse || g->count == RXQ_MAX) {
        g->refused++;
        pthread_mutex_unlock(&g->lock);
        return false;
    }
    copy = malloc(len);
    if (!copy)
        abort();
    memcpy(copy, frame, len);
    g->frames[(g->head + g->count) % RXQ_MAX] = copy;
    g->lens[(g->head + g->count) % RXQ_MAX] = len;
    g->count++;
    pthread_cond_signal(&g->cond);
    pthread_mutex_unlock(&g->lock);
    return true;
}

/* Every IPv4 frame from slirp must carry correct IP, UDP and TCP checksums. */
static void check_checksums(struct guest *g, const uint8_t *f, size_t len)
{
    const uint8_t *ip = f + ETH_HLEN, *l4;
    size_t ihl, tot;

    if (len < ETH_HLEN + IP_HLEN || get16(f + 12) != ETH_P_IP)
        return;
    ihl = (size_t)(ip[0] & 15) * 4;
    tot = get16(ip + 2);
    if (ihl < IP_HLEN || tot < ihl || ETH_HLEN + tot > len) {
        g->bad_checksums++;
        return;
    }
    if (fold(sum_bytes(0, ip, ihl)) != 0xffff)
        g->bad_checksums++;
    l4 = ip + ihl;
    if (ip[9] == 6 || (ip[9] == 17 && get16(l4 + 6) != 0)) {
        if (l4_sum(get32(ip + 12), get32(ip + 16), ip[9], l4, tot - ihl) != 0xffff)
            g->bad_checksums++;
    }
}

static void guest_send(struct guest *g, const uint8_t *f, size_t len)
{
    int ret;

    /* The backend's ring is bounded: retry briefly when it is full. */
    for (int tries = 0; tries < 2000; tries++) {
        ret = mq_net_send(g->nb, f, len);
        if (ret != -ENOBUFS)
            break;
        usleep(1000);
    }
    CHECK(ret == 0);
}

static void build_arp(uint8_t *f, uint16_t op, const uint8_t *dst_mac, const uint8_t *tha,
                      uint32_t sip, uint32_t tip)
{
    memcpy(f, dst_mac, 6);
    memcpy(f + 6, guest_mac, 6);
    put16(f + 12, ETH_P_ARP);
    put16(f + 14, 1);        /* Ethernet */
    put16(f + 16, ETH_P_IP);
    f[18] = 6;
    f[19] = 4;
    put16(f + 20, op);
    memcpy(f + 22, guest_mac, 6);
    put32(f + 28, sip);
    memcpy(f + 32, tha, 6);
    put32(f + 38, tip);
}

#define ARP_LEN 42

/* Answer slirp's "who has 10.0.2.15" so it can reach the fake guest. */
static bool auto_answer_arp(struct guest *g, const uint8_t *f, size_t len)
{
    uint8_t reply[ARP_LEN];

    if (len < ARP_LEN || get16(f + 12) != ETH_P_ARP || get16(f + 20) != 1 ||
        get32(f + 38) != GUEST_IP)
        return false;
    build_arp(reply, 2, f + 6, f + 22, GUEST_IP, get32(f + 28));
    guest_send(g, reply, sizeof(reply));
    return true;
}

typedef bool frame_match_fn(const uint8_t *f, size_t len, const void *arg);

/*
 * Wait up to timeout_ms for a frame matching match (others are discarded,
 * ARP requests for the guest answered). Copies it into out (up to outcap)
 * and returns its length, or 0 on timeout.
 */
static size_t wait_frame(struct guest *g, frame_match_fn *match, const void *arg, uint8_t *out,
                         size_t outcap, int timeout_ms)
{
    uint64_t deadline = mq_clock_monotonic_ns() + (uint64_t)timeout_ms * 1000000u;

    pthread_mutex_lock(&g->lock);
    for (;;) {
        while (g->count == 0) {
            struct timespec ts;

            /* Like a NIC whose guest refilled its ring: say so after a refusal. */
            if (g->kick) {
                g->kick = false;
                pthread_mutex_unlock(&g->lock);
                mq_net_rx_ready(g->nb);
                pthread_mutex_lock(&g->lock);
                continue;
            }
            if (mq_clock_monotonic_ns() >= deadline) {
                pthread_mutex_unlock(&g->lock);
                return 0;
            }
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 20 * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&g->cond, &g->lock, &ts);
        }
        uint8_t *f = g->frames[g->head];
        size_t len = g->lens[g->head];
        bool hit;

        g->head = (g->head + 1) % RXQ_MAX;
        g->count--;
        pthread_mutex_unlock(&g->lock);
        check_checksums(g, f, len);
        hit = !auto_answer_arp(g, f, len) && match(f, len, arg);
        if (hit) {
            size_t n = len < outcap ? len : outcap;
            memcpy(out, f, n);
        }
        free(f);
        if (hit)
            return len;
        pthread_mutex_lock(&g->lock);
    }
}

static void guest_init(struct guest *g, const char *spec)
{
    char err[256];
    int ret;

    memset(g, 0, sizeof(*g));
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
    ret = mq_net_backend_create(spec, &g->nb, err, sizeof(err));
    if (ret != 0) {
        fprintf(stderr, "FAIL: mq_net_backend_create(%s): %d %s\n", spec, ret, err);
        exit(1);
    }
    mq_net_set_receiver(g->nb, guest_receive, g);
}

static void guest_fini(struct guest *g)
{
    mq_net_backend_close(g->nb);
    CHECK(g->bad_checksums == 0);
    while (g->count) {
        free(g->frames[g->head]);
        g->head = (g->head + 1) % RXQ_MAX;
        g->count--;
    }
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
}

/* ---- IPv4 builders ---- */

static size_t build_ipv4(uint8_t *f, const uint8_t *dst_mac, uint32_t src, uint32_t dst,
                         uint8_t proto, size_t l4_len)
{
    static uint16_t ident = 1;
    uint8_t *ip = f + ETH_HLEN;

    memcpy(f, dst_mac, 6);
    memcpy(f + 6, guest_mac, 6);
    put16(f + 12, ETH_P_IP);
    memset(ip, 0, IP_HLEN);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(IP_HLEN + l4_len));
    put16(ip + 4, ident++);
    ip[8] = 64;
    ip[9] = proto;
    put32(ip + 12, src);
    put32(ip + 16, dst);
    put16(ip + 10, (uint16_t)~fold(sum_bytes(0, ip, IP_HLEN)));
    return ETH_HLEN + IP_HLEN + l4_len;
}

static size_t build_udp(uint8_t *f, const uint8_t *dst_mac, uint32_t src, uint32_t dst,
                        uint16_t sport, uint16_t dport, const uint8_t *data, size_t dlen)
{
    uint8_t *udp = f + ETH_HLEN + IP_HLEN;

    put16(udp, sport);
    put16(udp + 2, dport);
    put16(udp + 4, (uint16_t)(UDP_HLEN + dlen));
    put16(udp + 6, 0);
    memcpy(udp + UDP_HLEN, data, dlen);
    put16(udp + 6, (uint16_t)~l4_sum(src, dst, 17, udp, UDP_HLEN + dlen));
    return build_ipv4(f, dst_mac, src, dst, 17, UDP_HLEN + dlen);
}

struct tcp_seg {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    const void *data;
    size_t dlen;
};

static size_t build_tcp(uint8_t *f, const uint8_t *dst_mac, const struct tcp_seg *s)
{
    uint8_t *tcp = f + ETH_HLEN + IP_HLEN;
    size_t hlen = TCP_HLEN + ((s->flags & TCP_SYN) ? 4 : 0);

    memset(tcp, 0, hlen);
    put16(tcp, s->sport);
    put16(tcp + 2, s->dport);
    put32(tcp + 4, s->seq);
    put32(tcp + 8, s->ack);
    tcp[12] = (uint8_t)(hlen / 4) << 4;
    tcp[13] = s->flags;
    put16(tcp + 14, 65535);
    if (s->flags & TCP_SYN) { /* MSS 1460 */
        tcp[20] = 2;
        tcp[21] = 4;
        put16(tcp + 22, 1460);
    }
    if (s->dlen)
        memcpy(tcp + hlen, s->data, s->dlen);
    put16(tcp + 16, (uint16_t)~l4_sum(s->src, s->dst, 6, tcp, hlen + s->dlen));
    return build_ipv4(f, dst_mac, s->src, s->dst, 6, hlen + s->dlen);
}

/* A received TCP segment, parsed. */
struct tcp_view {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    const uint8_t *data;
    size_t dlen;
};

static bool parse_tcp(const uint8_t *f, size_t len, struct tcp_view *v)
{
    const uint8_t *ip = f + ETH_HLEN, *tcp;
    size_t ihl, tot, thl;

    if (len < ETH_HLEN + IP_HLEN + TCP_HLEN || get16(f + 12) != ETH_P_IP || ip[9] != 6)
        return false;
    ihl = (size_t)(ip[0] & 15) * 4;
    tot = get16(ip + 2);
    if (ihl < IP_HLEN || ETH_HLEN + tot > len || tot < ihl + TCP_HLEN)
        return false;
    tcp = ip + ihl;
    thl = (size_t)(tcp[12] >> 4) * 4;
    if (thl < TCP_HLEN || ihl + thl > tot)
        return false;
    v->src = get32(ip + 12);
    v->dst = get32(ip + 16);
    v->sport = get16(tcp);
    v->dport = get16(tcp + 2);
    v->seq = get32(tcp + 4);
    v->ack = get32(tcp + 8);
    v->flags = tcp[13];
    v->data = tcp + thl;
    v->dlen = tot - ihl - thl;
    return true;
}

/* Match a TCP segment to (dport, sport); flags_any: at least one of these flags set. */
struct tcp_want {
    uint16_t sport; /* 0: any */
    uint16_t dport;
    uint8_t flags_any; /* 0: any segment */
    bool with_data;
};

static bool match_tcp(const uint8_t *f, size_t len, const void *arg)
{
    const struct tcp_want *w = arg;
    struct tcp_view v;

    if (!parse_tcp(f, len, &v) || v.dport != w->dport || (w->sport && v.sport != w->sport))
        return false;
    if (w->flags_any && !(v.flags & w->flags_any))
        return false;
    return !w->with_data || v.dlen > 0;
}

/* ---- host-side sockets (loopback only) ---- */

static int host_listen(uint16_t *port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        perror("host_listen");
        exit(1);
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

static bool fd_readable(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    return poll(&p, 1, timeout_ms) == 1;
}

/* A port that was free a moment ago (the test is the only user of it). */
static uint16_t free_port(int type)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        perror("free_port");
        exit(1);
    }
    close(fd);
    return ntohs(sa.sin_port);
}

#endif
