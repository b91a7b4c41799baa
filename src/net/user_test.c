/* SPDX-License-Identifier: MIT */
/*
 * Tests of the libslirp user backend (net/user.c) driven by a fake guest
 * that builds Ethernet/ARP/IPv4/UDP/TCP frames by hand (RFC 826, 791, 768,
 * 793, 2131/2132 for DHCP). Only loopback addresses are used on the host:
 * 10.0.2.2 is the host's 127.0.0.1 inside the virtual network.
 */
#include "net/user_test_guest.h"

/* ---- DHCP ---- */

#define BOOTP_LEN 548 /* what slirp expects at least: 236 + cookie + 308 option bytes */
#define DHCP_XID 0x5a17c0deu

static size_t build_dhcp(uint8_t *f, uint8_t type, uint32_t req_ip, uint32_t server)
{
    uint8_t b[BOOTP_LEN], *o;

    memset(b, 0, sizeof(b));
    b[0] = 1; /* BOOTREQUEST */
    b[1] = 1;
    b[2] = 6;
    put32(b + 4, DHCP_XID);
    memcpy(b + 28, guest_mac, 6);
    put32(b + 236, 0x63825363u);
    o = b + 240;
    *o++ = 53, *o++ = 1, *o++ = type;
    if (req_ip) {
        *o++ = 50, *o++ = 4;
        put32(o, req_ip);
        o += 4;
    }
    if (server) {
        *o++ = 54, *o++ = 4;
        put32(o, server);
        o += 4;
    }
    *o++ = 55, *o++ = 3, *o++ = 1, *o++ = 3, *o++ = 6; /* mask, router, DNS */
    *o = 255;
    return build_udp(f, bcast_mac, 0, 0xffffffffu, 68, 67, b, sizeof(b));
}

struct dhcp_reply {
    uint8_t type;
    uint32_t yiaddr, mask, router, dns, server;
    char hostname[64];
};

static bool parse_dhcp(const uint8_t *f, size_t len, struct dhcp_reply *r)
{
    const uint8_t *ip = f + ETH_HLEN, *udp, *b, *end;

    if (len < ETH_HLEN + IP_HLEN + UDP_HLEN + 240 || get16(f + 12) != ETH_P_IP || ip[9] != 17)
        return false;
    udp = ip + (ip[0] & 15) * 4;
    if (get16(udp) != 67 || get16(udp + 2) != 68)
        return false;
    b = udp + UDP_HLEN;
    end = f + len;
    if (b + 240 > end || b[0] != 2 || get32(b + 4) != DHCP_XID || get32(b + 236) != 0x63825363u)
        return false;
    memset(r, 0, sizeof(*r));
    r->yiaddr = get32(b + 16);
    for (const uint8_t *o = b + 240; o < end && *o != 255;) {
        if (*o == 0) {
            o++;
            continue;
        }
        if (o + 2 > end || o + 2 + o[1] > end)
            return false;
        if (o[0] == 53 && o[1] == 1)
            r->type = o[2];
        if (o[0] == 12 && o[1] < sizeof(r->hostname)) {
            memcpy(r->hostname, o + 2, o[1]);
            r->hostname[o[1]] = '\0';
        }
        if (o[1] >= 4) {
            uint32_t v = get32(o + 2);
            if (o[0] == 1)
                r->mask = v;
            else if (o[0] == 3)
                r->router = v;
            else if (o[0] == 6)
                r->dns = v;
            else if (o[0] == 54)
                r->server = v;
        }
        o += 2 + o[1];
    }
    return true;
}

static bool match_dhcp(const uint8_t *f, size_t len, const void *arg)
{
    struct dhcp_reply r;

    return parse_dhcp(f, len, &r) && r.type == *(const uint8_t *)arg;
}

static void test_dhcp(void)
{
    struct guest g;
    uint8_t f[1600], rx[1600];
    struct dhcp_reply r;
    uint8_t want;
    size_t n;

    guest_init(&g, "user");
    guest_send(&g, f, build_dhcp(f, 1 /* DISCOVER */, 0, 0));
    want = 2; /* OFFER */
    n = wait_frame(&g, match_dhcp, &want, rx, sizeof(rx), WAIT_MS);
    CHECK(n > 0);
    if (n && parse_dhcp(rx, n, &r)) {
        CHECK(r.yiaddr == GUEST_IP);
        CHECK(r.router == GW_IP);
        CHECK(r.dns == DNS_IP);
        CHECK(r.mask == IP(255, 255, 255, 0));
        CHECK(r.server == GW_IP);
        CHECK(memcmp(rx, guest_mac, 6) == 0 || memcmp(rx, bcast_mac, 6) == 0);
    }
    guest_send(&g, f, build_dhcp(f, 3 /* REQUEST */, GUEST_IP, GW_IP));
    want = 5; /* ACK */
    n = wait_frame(&g, match_dhcp, &want, rx, sizeof(rx), WAIT_MS);
    CHECK(n > 0);
    if (n && parse_dhcp(rx, n, &r)) {
        CHECK(r.yiaddr == GUEST_IP);
        CHECK(r.router == GW_IP);
        CHECK(r.dns == DNS_IP);
    }
    guest_fini(&g);
}

/* DHCP on a custom network with a custom DHCP start. */
static void test_dhcp_custom_net(void)
{
    struct guest g;
    uint8_t f[1600], rx[1600], want = 2;
    struct dhcp_reply r;
    size_t n;

    guest_init(&g, "user,net=192.168.76.0/24,dhcpstart=192.168.76.9,dns=192.168.76.53,"
                   "hostname=vm1");
    guest_send(&g, f, build_dhcp(f, 1, 0, 0));
    n = wait_frame(&g, match_dhcp, &want, rx, sizeof(rx), WAIT_MS);
    CHECK(n > 0);
    if (n && parse_dhcp(rx, n, &r)) {
        CHECK(r.yiaddr == IP(192, 168, 76, 9));
        CHECK(r.router == IP(192, 168, 76, 2));
        CHECK(r.dns == IP(192, 168, 76, 53));
        CHECK(strcmp(r.hostname, "vm1") == 0);
    }
    guest_fini(&g);
}

/* ---- ARP ---- */

static bool match_arp_reply(const uint8_t *f, size_t len, const void *arg)
{
    return len >= ARP_LEN && get16(f + 12) == ETH_P_ARP && get16(f + 20) == 2 &&
           get32(f + 28) == *(const uint32_t *)arg;
}

/* ARP for addr; returns true and fills mac when answered. */
static bool arp_resolve(struct guest *g, uint32_t addr, uint8_t mac[6], int timeout_ms)
{
    static const uint8_t zero[6];
    uint8_t f[ARP_LEN], rx[128];
    size_t n;

    build_arp(f, 1, bcast_mac, zero, GUEST_IP, addr);
    guest_send(g, f, sizeof(f));
    n = wait_frame(g, match_arp_reply, &addr, rx, sizeof(rx), timeout_ms);
    if (!n)
        return false;
    CHECK(memcmp(rx, guest_mac, 6) == 0);
    CHECK(memcmp(rx + 32, guest_mac, 6) == 0);
    CHECK(get32(rx + 38) == GUEST_IP);
    memcpy(mac, rx + 22, 6);
    return true;
}

static void test_arp(void)
{
    struct guest g;
    uint8_t mac[6];

    guest_init(&g, "user");
    CHECK(arp_resolve(&g, GW_IP, mac, WAIT_MS));
    CHECK(mac[0] == 0x52 && mac[1] == 0x55); /* slirp's 52:55:<ip> host MAC */
    CHECK(get32(mac + 2) == GW_IP);
    CHECK(arp_resolve(&g, DNS_IP, mac, WAIT_MS));
    /* Nobody else lives on the virtual network. */
    CHECK(!arp_resolve(&g, IP(10, 0, 2, 77), mac, 300));
    guest_fini(&g);
}

/* ---- TCP from the guest to a host server on 127.0.0.1 ---- */

static int accept_timeout(int lfd, int timeout_ms)
{
    if (!fd_readable(lfd, timeout_ms))
        return -1;
    return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

static void test_tcp_to_host(void)
{
    struct guest g;
    uint8_t gw_mac[6], f[1600], rx[1600];
    struct tcp_view v;
    struct tcp_seg s;
    struct tcp_want w;
    uint16_t port;
    uint32_t iss = 1000, irs;
    char buf[16];
    int lfd, cfd;
    size_t n;

    lfd = host_listen(&port);
    guest_init(&g, "user");
    CHECK(arp_resolve(&g, GW_IP, gw_mac, WAIT_MS));

    s = (struct tcp_seg){ GUEST_IP, GW_IP, 40000, port, iss, 0, TCP_SYN, NULL, 0 };
    guest_send(&g, f, build_tcp(f, gw_mac, &s));
    w = (struct tcp_want){ .sport = port, .dport = 40000, .flags_any = TCP_SYN | TCP_RST };
    n = wait_frame(&g, match_tcp, &w, rx, sizeof(rx), WAIT_MS);
    CHECK(n > 0);
    if (!n || !parse_tcp(rx, n, &v)) {
        fprintf(stderr, "FAIL: no SYN/ACK from 10.0.2.2:%u\n", port);
        goto out;
    }
    CHECK(v.flags == (TCP_SYN | TCP_ACK));
    CHECK(v.ack == iss + 1);
    CHECK(v.src == GW_IP && v.dst == GUEST_IP);
    irs = v.seq;

    cfd = accept_timeout(lfd, WAIT_MS);
    CHECK(cfd >= 0);
    if (cfd < 0)
        goto out;

    /* ACK, then "hello" to the host. */
    s = (struct tcp_seg){ GUEST_IP, GW_IP, 40000, port, iss + 1, irs + 1, TCP_ACK, NULL, 0 };
    guest_send(&g, f, build_tcp(f, gw_mac, &s));
    s.flags = TCP_ACK | TCP_PSH;
    s.data = "hello";
    s.dlen = 5;
    guest_send(&g, f, build_tcp(f, gw_mac, &s));
    CHECK(fd_readable(cfd, WAIT_MS));
    CHECK(recv(cfd, buf, sizeof(buf), MSG_DONTWAIT) == 5 && memcmp(buf, "hello", 5) == 0);

    /* "world" back to the guest. */
    CHECK(send(cfd, "world", 5, MSG_NOSIGNAL) == 5);
    w = (struct tcp_want){ .sport = port, .dport = 40000, .with_data = true };
    n = wait_frame(&g, match_tcp, &w, rx, sizeof(rx), WAIT_MS);
    CHECK(n > 0);
    if (n && parse_tcp(rx, n, &v)) {
        CHECK(v.dlen == 5 && memcmp(v.data, "world", 5) == 0);
        CHECK(v.seq == irs + 1);
        CHECK(v.ack == iss + 6);
    }
    s = (struct tcp_seg){ GUEST_IP, GW_IP, 40000, port, iss + 6, irs + 6, TCP_ACK, NULL, 0 };
    guest_send(&g, f, build_tcp(f, gw_mac, &s));

    /* The host closes: the guest sees a FIN. */
    close(cfd);
    w = (struct tcp_want){ .sport = port, .dport = 40000, .flags_any = TCP_FIN };
    CHECK(wait_frame(&g, match_tcp, &w, rx, sizeof(rx), WAIT_MS) > 0);
out:
    guest_fini(&g);
    close(lfd);
}

/* ---- bulk TCP host -> guest, with the NIC pushing back every 7th frame ---- */

#define BULK_BYTES (1u << 20)

static uint8_t bulk_byte(uint32_t off)
{
    return (uint8_t)(off * 7u % 251u);
}

static void *bulk_writer(void *arg)
{
    int fd = *(int *)arg;
    uint8_t chunk[8192];

    for (uint32_t off = 0; off < BULK_BYTES;) {
        size_t n = sizeof(chunk);
        ssize_t w;

        for (size_t i = 0; i < n; i++)
            chunk[i] = bulk_byte(off + (uint32_t)i);
        w = send(fd, chunk, n, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (uint32_t)w;
    }
    shutdown(fd, SHUT_WR);
    return NULL;
}

static void test_tcp_bulk(void)
{
    struct guest g;
    uint8_t gw_mac[6], f[1600], rx[1600];
    struct tcp_view v;
    struct tcp_seg s;
    struct tcp_want w;
    struct mq_net_stats st;
    uint16_t port;
    uint32_t iss = 1, irs, got = 0;
    bool fin = false, data_ok = true;
    pthread_t writer;
    int lfd, cfd;
    size_t n;

    lfd = host_listen(&port);
    guest_init(&g, "user");
    g.refuse_every = 7;
    CHECK(arp_resolve(&g, GW_IP, gw_mac, WAIT_MS));
    s = (struct tcp_seg){ GUEST_IP, GW_IP, 40002, port, iss, 0, TCP_SYN, NULL, 0 };
    guest_send(&g, f, build_tcp(f, gw_mac, &s));
    w = (struct tcp_want){ .sport = port, .dport = 40002, .flags_any = TCP_SYN };
    n = wait_frame(&g, match_tcp, &w, rx, sizeof(rx), WAIT_MS);
    cfd = accept_timeout(lfd, WAIT_MS);
    CHECK(n > 0 && cfd >= 0);
    if (!n || cfd < 0 || !parse_tcp(rx, n, &v))
        goto out;
    irs = v.seq;
    s = (struct tcp_seg){ GUEST_IP, GW_IP, 40002, port, iss + 1, irs + 1, TCP_ACK, NULL, 0 };
    guest_send(&g, f, build_tcp(f, gw_mac, &s));
    if (pthread_create(&writer, NULL, bulk_writer, &cfd) != 0)
        abort();

    /* A minimal receiver: take in-order data, ACK everything cumulatively. */
    w = (struct tcp_want){ .sport = port, .dport = 40002 };
    while (!fin && (n = wait_frame(&g, match_tcp, &w, rx, sizeof(rx), WAIT_MS)) > 0) {
        if (!parse_tcp(rx, n, &v))
            continue;
        if (v.seq == irs + 1 + got) {
            for (size_t i = 0; i < v.dlen && data_ok; i++)
                data_ok = v.data[i] == bulk_byte(got + (uint32_t)i);
            got += (uint32_t)v.dlen;
            fin = v.flags & TCP_FIN;
        }
        s.ack = irs + 1 + got + (fin ? 1 : 0);
        guest_send(&g, f, build_tcp(f, gw_mac, &s));
    }
    pthread_join(writer, NULL);
    CHECK(data_ok);
    CHECK(got == BULK_BYTES);
    CHECK(fin);
    CHECK(mq_net_backend_get_stats(g.nb, &st) == 0);
    CHECK(st.rx_deferred > 0 && st.rx_dropped == 0);
    if (got != BULK_BYTES || !fin)
        fprintf(stderr, "bulk: got %u of %u bytes, fin %d\n", got, BULK_BYTES, fin);
out:
    if (cfd >= 0)
        close(cfd);
    guest_fini(&g);
    close(lfd);
}

/* restrict=on: the guest cannot reach the host; slirp answers with a RST. */
static void test_restrict(void)
{
    struct guest g;
    uint8_t gw_mac[6], f[1600], rx[1600];
    struct tcp_view v;
    struct tcp_seg s;
    struct tcp_want w;
    uint16_t port;
    size_t n;
    int lfd;

    lfd = host_listen(&port);
    guest_init(&g, "user,restrict=on");
    CHECK(arp_resolve(&g, GW_IP, gw_mac, WAIT_MS));
    s = (struct tcp_seg){ GUEST_IP, GW_IP, 40001, port, 5000, 0, TCP_SYN, NULL, 0 };
    guest_send(&g, f, build_tcp(f, gw_mac, &s));
    w = (struct tcp_want){ .sport = port, .dport = 40001, .flags_any = TCP_SYN | TCP_RST };
    n = wait_frame(&g, match_tcp, &w, rx, sizeof(rx), WAIT_MS);
    CHECK(n > 0);
    if (n && parse_tcp(rx, n, &v))
        CHECK((v.flags & TCP_RST) && !(v.flags & TCP_SYN));
    CHECK(!fd_readable(lfd, 300)); /* no connection reached the host */
    guest_fini(&g);
    close(lfd);
}

/* ---- hostfwd: host 127.0.0.1:PORT -> guest :22 ---- */

static void test_hostfwd(void)
{
    struct guest g;
    uint8_t f[1600], rx[1600];
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct tcp_view v;
    struct tcp_seg s;
    struct tcp_want w;
    uint16_t port = free_port(SOCK_STREAM);
    char spec[96], buf[16];
    uint8_t gw_mac[6];
    int cfd;
    size_t n;

    snprintf(spec, sizeof(spec), "user,hostfwd=tcp:127.0.0.1:%u-:22", port);
    guest_init(&g, spec);
    /* The guest speaks first, as a real one would (this also starts the backend). */
    CHECK(arp_resolve(&g, GW_IP, gw_mac, WAIT_MS));

    sa.sin_port = htons(port);
    cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(cfd >= 0 && connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);

    w = (struct tcp_want){ .dport = 22, .flags_any = TCP_SYN };
    n = wait_frame(&g, match_tcp, &w, rx, sizeof(rx), WAIT_MS);
    if (!n || !parse_tcp(rx, n, &v)) {
        fprintf(stderr, "FAIL: no SYN reached the guest's port 22\n");
        failures++;
        goto out;
    }
    CHECK(v.flags == TCP_SYN);
    CHECK(v.dst == GUEST_IP && v.src == GW_IP && v.dport == 22);

    /* Finish the handshake and send "ping" through to the host. */
    s = (struct tcp_seg){ GUEST_IP, GW_IP, 22, v.sport, 7000, v.seq + 1, TCP_SYN | TCP_ACK,
                          NULL, 0 };
    guest_send(&g, f, build_tcp(f, gw_mac, &s));
    s.seq = 7001;
    s.flags = TCP_ACK | TCP_PSH;
    s.data = "ping";
    s.dlen = 4;
    guest_send(&g, f, build_tcp(f, gw_mac, &s));
    CHECK(fd_readable(cfd, WAIT_MS));
    CHECK(recv(cfd, buf, sizeof(buf), MSG_DONTWAIT) == 4 && memcmp(buf, "ping", 4) == 0);
out:
    if (cfd >= 0)
        close(cfd);
    guest_fini(&g);
}

static void test_hostfwd_busy(void)
{
    struct mq_net_backend *nb = NULL;
    char spec[96], err[256], want[64];
    uint16_t port;
    int lfd = host_listen(&port), ret;

    snprintf(spec, sizeof(spec), "user,hostfwd=tcp:127.0.0.1:%u-:22", port);
    ret = mq_net_backend_create(spec, &nb, err, sizeof(err));
    CHECK(ret == -EADDRINUSE);
    CHECK(nb == NULL);
    snprintf(want, sizeof(want), "hostfwd=tcp:127.0.0.1:%u-:22", port);
    CHECK(strstr(err, want) != NULL);
    CHECK(strstr(err, "in use") != NULL);
    if (ret != -EADDRINUSE || !strstr(err, "in use"))
        fprintf(stderr, "got %d: %s\n", ret, err);
    mq_net_backend_close(nb);
    close(lfd);

    /* The same for udp: bind a datagram socket first. */
    {
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sa);
        int ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        CHECK(ufd >= 0 && bind(ufd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
              getsockname(ufd, (struct sockaddr *)&sa, &sl) == 0);
        snprintf(spec, sizeof(spec), "user,hostfwd=udp::%u-:53", ntohs(sa.sin_port));
        ret = mq_net_backend_create(spec, &nb, err, sizeof(err));
        CHECK(ret == -EADDRINUSE);
        CHECK(strstr(err, "cannot listen on udp 127.0.0.1:") != NULL);
        close(ufd);
    }
}

/* ---- UDP both ways: guest -> 10.0.2.2:port (host 127.0.0.1), host -> hostfwd ---- */

struct udp_want {
    uint16_t dport;
};

static bool match_udp(const uint8_t *f, size_t len, const void *arg)
{
    const struct udp_want *w = arg;
    const uint8_t *ip = f + ETH_HLEN;

    return len >= ETH_HLEN + IP_HLEN + UDP_HLEN && get16(f + 12) == ETH_P_IP && ip[9] == 17 &&
           (ip[0] & 15) == 5 && get16(ip + IP_HLEN + 2) == w->dport;
}

static void test_udp(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    uint16_t fwd_port = free_port(SOCK_DGRAM), host_port;
    uint8_t f[1600], rx[1600], gw_mac[6];
    struct udp_want w = { .dport = 5555 };
    struct guest g;
    char spec[96], buf[16];
    int hfd, cfd;
    size_t n;

    /* A host UDP service on 127.0.0.1. */
    hfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(hfd >= 0 && bind(hfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
          getsockname(hfd, (struct sockaddr *)&sa, &sl) == 0);
    host_port = ntohs(sa.sin_port);

    snprintf(spec, sizeof(spec), "user,hostfwd=udp::%u-:5555", fwd_port);
    guest_init(&g, spec);
    CHECK(arp_resolve(&g, GW_IP, gw_mac, WAIT_MS));

    /* Guest -> host service. */
    guest_send(&g, f, build_udp(f, gw_mac, GUEST_IP, GW_IP, 4444, host_port,
                                (const uint8_t *)"up", 2));
    CHECK(fd_readable(hfd, WAIT_MS));
    CHECK(recv(hfd, buf, sizeof(buf), MSG_DONTWAIT) == 2 && memcmp(buf, "up", 2) == 0);

    /* Host -> forwarded port -> guest :5555. */
    cfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sa.sin_port = htons(fwd_port);
    CHECK(cfd >= 0 && sendto(cfd, "down", 4, 0, (struct sockaddr *)&sa, sizeof(sa)) == 4);
    n = wait_frame(&g, match_udp, &w, rx, sizeof(rx), WAIT_MS);
    CHECK(n > 0);
    if (n) {
        const uint8_t *ip = rx + ETH_HLEN;
        CHECK(get32(ip + 16) == GUEST_IP);
        CHECK(get16(ip + IP_HLEN + 4) == UDP_HLEN + 4);
        CHECK(memcmp(ip + IP_HLEN + UDP_HLEN, "down", 4) == 0);
    }
    close(cfd);
    close(hfd);
    guest_fini(&g);
}

/* ---- hostile frames ---- */

static void test_bad_frames(void)
{
    struct guest g;
    struct mq_net_stats st;
    uint8_t *big = calloc(1, 70000), f[1600], mac[6];
    size_t n;

    if (!big)
        abort();
    guest_init(&g, "user,restrict=on");
    CHECK(mq_net_send(g.nb, big, 0) == -EINVAL);
    CHECK(mq_net_send(g.nb, big, 13) == -EINVAL);
    CHECK(mq_net_send(g.nb, big, 1519) == -EMSGSIZE);
    CHECK(mq_net_send(g.nb, big, 9000) == -EMSGSIZE);
    CHECK(mq_net_send(g.nb, big, 70000) == -EMSGSIZE);
    CHECK(mq_net_backend_get_stats(g.nb, &st) == 0);
    CHECK(st.tx_dropped == 5 && st.tx_frames == 0);

    /* Malformed frames that pass the size check go to slirp; none may crash it. */
    memset(f, 0, sizeof(f));
    memcpy(f, bcast_mac, 6);
    memcpy(f + 6, guest_mac, 6);
    put16(f + 12, ETH_P_ARP);
    guest_send(&g, f, ETH_HLEN);              /* ARP without a body */
    guest_send(&g, f, ETH_HLEN + 10);         /* truncated ARP */
    put16(f + 12, ETH_P_IP);
    guest_send(&g, f, ETH_HLEN);              /* IPv4 without a header */
    f[14] = 0x45;
    guest_send(&g, f, ETH_HLEN + 10);         /* truncated IPv4 header */
    f[14] = 0x4f;                             /* IHL 60 bytes in a 34-byte frame */
    guest_send(&g, f, ETH_HLEN + 20);
    n = build_udp(f, bcast_mac, GUEST_IP, GW_IP, 1234, 9, (const uint8_t *)"x", 1);
    put16(f + ETH_HLEN + 2, 1400);            /* IP total length beyond the frame */
    guest_send(&g, f, n);
    n = build_udp(f, bcast_mac, GUEST_IP, GW_IP, 1234, 9, (const uint8_t *)"x", 1);
    put16(f + ETH_HLEN + IP_HLEN + 4, 1000);  /* UDP length beyond the datagram */
    guest_send(&g, f, n);
    n = build_udp(f, bcast_mac, 0, 0xffffffffu, 68, 67, (const uint8_t *)"x", 1);
    guest_send(&g, f, n);                     /* DHCP far too short */
    put16(f + 12, 0x86dd);
    memset(f + 14, 0x60, 8);
    guest_send(&g, f, ETH_HLEN + 8);          /* truncated IPv6 */
    put16(f + 12, 0x88f8);
    guest_send(&g, f, ETH_HLEN + 3);          /* NC-SI, truncated */

    /* Still alive and answering. */
    CHECK(arp_resolve(&g, GW_IP, mac, WAIT_MS));
    /* The backend counts a frame after the NIC took it: allow it a moment. */
    for (int i = 0; i < 100; i++) {
        CHECK(mq_net_backend_get_stats(g.nb, &st) == 0);
        if (st.rx_frames >= 1)
            break;
        usleep(10000);
    }
    CHECK(st.tx_frames == 11 && st.rx_frames >= 1);
    guest_fini(&g);
    free(big);
}

/* ---- backpressure: the NIC refuses frames, then says it has room ---- */

static bool match_any_arp_reply(const uint8_t *f, size_t len, const void *arg)
{
    return len >= ARP_LEN && get16(f + 12) == ETH_P_ARP && get16(f + 20) == 2;
}

/* Count ARP replies until timeout_ms of silence; *from_dns: how many came from 10.0.2.3. */
static unsigned count_frames(struct guest *g, int timeout_ms, unsigned *from_dns)
{
    uint8_t rx[128];
    unsigned n = 0;

    if (from_dns)
        *from_dns = 0;
    while (wait_frame(g, match_any_arp_reply, NULL, rx, sizeof(rx), timeout_ms)) {
        if (from_dns && get32(rx + 28) == DNS_IP)
            (*from_dns)++;
        n++;
    }
    return n;
}

static void test_backpressure(void)
{
    static const uint8_t zero[6];
    struct guest g;
    struct mq_net_stats st;
    uint8_t f[ARP_LEN];
    unsigned got, from_dns;

    guest_init(&g, "user");
    g.refuse = true;
    build_arp(f, 1, bcast_mac, zero, GUEST_IP, GW_IP);
    guest_send(&g, f, sizeof(f));
    usleep(200000);
    CHECK(mq_net_backend_get_stats(g.nb, &st) == 0);
    CHECK(st.rx_deferred >= 1 && st.rx_frames == 0 && st.rx_dropped == 0);
    pthread_mutex_lock(&g.lock);
    g.refuse = false;
    pthread_mutex_unlock(&g.lock);
    /* Nothing arrives until the NIC says it has room. */
    CHECK(count_frames(&g, 200, NULL) == 0);
    mq_net_rx_ready(g.nb);
    CHECK(count_frames(&g, 500, NULL) == 1);

    /*
     * 300 replies held back, the first 44 from the DNS address: the oldest
     * 44 are dropped, so the 256 kept all come from the gateway.
     */
    pthread_mutex_lock(&g.lock);
    g.refuse = true;
    pthread_mutex_unlock(&g.lock);
    build_arp(f, 1, bcast_mac, zero, GUEST_IP, DNS_IP);
    for (int i = 0; i < 44; i++)
        guest_send(&g, f, sizeof(f));
    build_arp(f, 1, bcast_mac, zero, GUEST_IP, GW_IP);
    for (int i = 0; i < 256; i++)
        guest_send(&g, f, sizeof(f));
    for (int i = 0; i < 100; i++) {
        CHECK(mq_net_backend_get_stats(g.nb, &st) == 0);
        if (st.rx_dropped >= 44)
            break;
        usleep(20000);
    }
    CHECK(st.rx_dropped == 44);
    pthread_mutex_lock(&g.lock);
    g.refuse = false;
    pthread_mutex_unlock(&g.lock);
    mq_net_rx_ready(g.nb);
    got = count_frames(&g, 500, &from_dns);
    CHECK(got == 256);
    CHECK(from_dns == 0);
    CHECK(mq_net_backend_get_stats(g.nb, &st) == 0);
    CHECK(st.rx_frames == 257 && st.tx_frames == 301);
    guest_fini(&g);
}

static void test_link_down(void)
{
    struct guest g;
    uint8_t f[ARP_LEN], mac[6];
    static const uint8_t zero[6];

    guest_init(&g, "user");
    g.nb->ops->set_link(g.nb, false);
    build_arp(f, 1, bcast_mac, zero, GUEST_IP, GW_IP);
    CHECK(mq_net_send(g.nb, f, sizeof(f)) == -ENETDOWN);
    g.nb->ops->set_link(g.nb, true);
    CHECK(arp_resolve(&g, GW_IP, mac, WAIT_MS));
    guest_fini(&g);
}

/* Close with traffic in flight and without ever starting the thread. */
static void test_close_busy(void)
{
    struct guest g;
    uint8_t f[ARP_LEN];
    static const uint8_t zero[6];

    guest_init(&g, "user");
    guest_fini(&g);

    guest_init(&g, "user");
    g.refuse = true;
    build_arp(f, 1, bcast_mac, zero, GUEST_IP, GW_IP);
    for (int i = 0; i < 50; i++)
        guest_send(&g, f, sizeof(f));
    guest_fini(&g);
}

int main(void)
{
    struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        { "dhcp", test_dhcp },
        { "dhcp_custom_net", test_dhcp_custom_net },
        { "arp", test_arp },
        { "tcp_to_host", test_tcp_to_host },
        { "tcp_bulk", test_tcp_bulk },
        { "restrict", test_restrict },
        { "hostfwd", test_hostfwd },
        { "hostfwd_busy", test_hostfwd_busy },
        { "udp", test_udp },
        { "bad_frames", test_bad_frames },
        { "backpressure", test_backpressure },
        { "link_down", test_link_down },
        { "close_busy", test_close_busy },
    };

    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        int before = failures;

        tests[i].fn();
        printf("%s: %s\n", tests[i].name, failures == before ? "ok" : "FAILED");
    }
    if (failures) {
        fprintf(stderr, "net_user_test: %d failure(s)\n", failures);
        return 1;
    }
    return 0;
}
