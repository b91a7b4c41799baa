/* SPDX-License-Identifier: MIT */
/* Unit tests for the DHCP server (net/dhcp_server.h): whole exchanges as frames. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net/dhcp_server.h"
#include "util/le.h"

static int failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const uint8_t SRV_MAC[6] = {0x02, 0x6d, 0x71, 0x00, 0x05, 0x01};

static uint16_t csum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;

    for (size_t i = 0; i + 1 < n; i += 2)
        s += mq_get_be16(p + i);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* A DHCP request frame from mac; opts: extra option bytes (ending with 255). */
static size_t dhcp_frame(uint8_t *f, const uint8_t mac[6], uint8_t type, uint32_t ciaddr,
                         uint32_t req_ip, uint32_t server_id)
{
    uint8_t *ip = f + 14, *udp = ip + 20, *b = udp + 8, *o = b + 240;
    size_t ulen;

    memset(f, 0, 600);
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    mq_put_be16(f + 12, 0x0800);
    b[0] = 1;
    b[1] = 1;
    b[2] = 6;
    mq_put_be32(b + 4, 0x12345678);
    mq_put_be32(b + 12, ciaddr);
    memcpy(b + 28, mac, 6);
    mq_put_be32(b + 236, 0x63825363);
    *o++ = 53, *o++ = 1, *o++ = type;
    if (req_ip)
        *o++ = 50, *o++ = 4, mq_put_be32(o, req_ip), o += 4;
    if (server_id)
        *o++ = 54, *o++ = 4, mq_put_be32(o, server_id), o += 4;
    *o++ = 255;
    ulen = (size_t)(o - udp);
    ip[0] = 0x45;
    mq_put_be16(ip + 2, (uint16_t)(20 + ulen));
    ip[8] = 64;
    ip[9] = 17;
    mq_put_be32(ip + 12, ciaddr);
    mq_put_be32(ip + 16, 0xffffffff);
    mq_put_be16(ip + 10, csum(ip, 20));
    mq_put_be16(udp, 68);
    mq_put_be16(udp + 2, 67);
    mq_put_be16(udp + 4, (uint16_t)ulen);
    return 14 + 20 + ulen;
}

/* The reply's message type (option 53), its yiaddr in *yi; -1 if not a DHCP reply. */
static int reply_type(const uint8_t *f, int len, uint32_t *yi)
{
    const uint8_t *b = f + 42, *o = b + 240;

    if (len < 42 + 240 + 3 || b[0] != 2 || csum(f + 14, 20) != 0)
        return -1;
    *yi = mq_get_be32(b + 16);
    for (int i = 0; o + i + 2 < f + len && o[i] != 255; i += 2 + o[i + 1]) {
        if (o[i] == 53)
            return o[i + 2];
    }
    return -1;
}

/* The 4-byte option code of a reply, or 0. */
static uint32_t reply_opt(const uint8_t *f, int len, uint8_t code)
{
    const uint8_t *o = f + 42 + 240;

    for (int i = 0; o + i + 2 < f + len && o[i] != 255; i += 2 + o[i + 1]) {
        if (o[i] == code && o[i + 1] == 4)
            return mq_get_be32(o + i + 2);
    }
    return 0;
}

static struct mq_dhcp_server *new_server(uint32_t router)
{
    struct mq_dhcp_server_config c = {
        .net = IP(10, 0, 5, 0), .mask = 0xffffff00u, .server_ip = IP(10, 0, 5, 1),
        .router = router, .dns = router ? IP(10, 0, 5, 3) : 0,
        .pool_start = IP(10, 0, 5, 10), .pool_end = IP(10, 0, 5, 12), .lease_secs = 100,
    };

    memcpy(c.server_mac, SRV_MAC, 6);
    return mq_dhcp_server_new(&c);
}

static void test_exchange(void)
{
    struct mq_dhcp_server *s = new_server(IP(10, 0, 5, 2));
    uint8_t a[6] = {0x52, 0x54, 0, 0, 0, 1}, b[6] = {0x52, 0x54, 0, 0, 0, 2};
    uint8_t c[6] = {0x52, 0x54, 0, 0, 0, 3}, d[6] = {0x52, 0x54, 0, 0, 0, 4};
    uint8_t f[600], out[MQ_DHCP_SERVER_REPLY_MAX];
    uint32_t yi = 0;
    int n;

    n = mq_dhcp_server_input(s, f, dhcp_frame(f, a, 1, 0, 0, 0), 0, out, sizeof(out));
    CHECK(reply_type(out, n, &yi) == 2 && yi == IP(10, 0, 5, 10));
    CHECK(memcmp(out, a, 6) == 0 && memcmp(out + 6, SRV_MAC, 6) == 0);
    CHECK(reply_opt(out, n, 3) == IP(10, 0, 5, 2) && reply_opt(out, n, 6) == IP(10, 0, 5, 3));
    CHECK(reply_opt(out, n, 1) == 0xffffff00u && reply_opt(out, n, 54) == IP(10, 0, 5, 1));
    CHECK(mq_dhcp_server_lease_of(s, a, 0) == 0); /* offered, not bound */
    n = mq_dhcp_server_input(s, f, dhcp_frame(f, a, 3, 0, yi, IP(10, 0, 5, 1)), 1, out,
                             sizeof(out));
    CHECK(reply_type(out, n, &yi) == 5 && yi == IP(10, 0, 5, 10));
    CHECK(mq_dhcp_server_lease_of(s, a, 1) == IP(10, 0, 5, 10));
    /* b gets the next address; a asking again gets the same one. */
    n = mq_dhcp_server_input(s, f, dhcp_frame(f, b, 1, 0, IP(10, 0, 5, 10), 0), 2, out,
                             sizeof(out));
    CHECK(reply_type(out, n, &yi) == 2 && yi == IP(10, 0, 5, 11));
    n = mq_dhcp_server_input(s, f, dhcp_frame(f, a, 1, 0, 0, 0), 3, out, sizeof(out));
    CHECK(reply_type(out, n, &yi) == 2 && yi == IP(10, 0, 5, 10));
    /* Renewal (unicast, ciaddr set). */
    n = mq_dhcp_server_input(s, f, dhcp_frame(f, a, 3, IP(10, 0, 5, 10), 0, 0), 4, out,
                             sizeof(out));
    CHECK(reply_type(out, n, &yi) == 5 && mq_get_be32(out + 30) == IP(10, 0, 5, 10));
    /* c asks for a's address: NAK (broadcast). */
    n = mq_dhcp_server_input(s, f, dhcp_frame(f, c, 3, 0, IP(10, 0, 5, 10), 0), 5, out,
                             sizeof(out));
    CHECK(reply_type(out, n, &yi) == 6 && out[0] == 0xff);
    /* A request for another server: silent. */
    CHECK(mq_dhcp_server_input(s, f, dhcp_frame(f, b, 3, 0, IP(10, 0, 5, 11), IP(9, 9, 9, 9)),
                               6, out, sizeof(out)) == 0);
    /* The pool (3 addresses) runs out: d gets no offer until leases expire. */
    n = mq_dhcp_server_input(s, f, dhcp_frame(f, c, 1, 0, 0, 0), 7, out, sizeof(out));
    CHECK(reply_type(out, n, &yi) == 2);
    n = mq_dhcp_server_input(s, f, dhcp_frame(f, b, 1, 0, 0, 0), 7, out, sizeof(out));
    CHECK(reply_type(out, n, &yi) == 2);
    CHECK(mq_dhcp_server_input(s, f, dhcp_frame(f, d, 1, 0, 0, 0), 8, out, sizeof(out)) == 0);
    /* Release of a's lease frees its address for d. */
    CHECK(mq_dhcp_server_input(s, f, dhcp_frame(f, a, 7, IP(10, 0, 5, 10), 0, IP(10, 0, 5, 1)),
                               9, out, sizeof(out)) == 0);
    n = mq_dhcp_server_input(s, f, dhcp_frame(f, d, 1, 0, 0, 0), 10, out, sizeof(out));
    CHECK(reply_type(out, n, &yi) == 2 && yi == IP(10, 0, 5, 10));
    /* Much later everything expired: a gets an address again. */
    n = mq_dhcp_server_input(s, f, dhcp_frame(f, a, 1, 0, 0, 0), 1000, out, sizeof(out));
    CHECK(reply_type(out, n, &yi) == 2);
    CHECK(mq_dhcp_server_lease_count(s, 1000) == 0);
    mq_dhcp_server_free(s);
}

static void test_arp_and_junk(void)
{
    struct mq_dhcp_server *s = new_server(0);
    uint8_t a[6] = {0x52, 0x54, 0, 0, 0, 1};
    uint8_t f[600], out[MQ_DHCP_SERVER_REPLY_MAX];
    uint32_t yi;
    size_t len;
    int n;

    memset(f, 0, 60);
    memset(f, 0xff, 6);
    memcpy(f + 6, a, 6);
    mq_put_be16(f + 12, 0x0806);
    mq_put_be16(f + 14, 1);
    mq_put_be16(f + 16, 0x0800);
    f[18] = 6, f[19] = 4;
    mq_put_be16(f + 20, 1);
    memcpy(f + 22, a, 6);
    mq_put_be32(f + 28, IP(10, 0, 5, 10));
    mq_put_be32(f + 38, IP(10, 0, 5, 1));
    n = mq_dhcp_server_input(s, f, 42, 0, out, sizeof(out));
    CHECK(n == 60 && mq_get_be16(out + 20) == 2 && memcmp(out + 22, SRV_MAC, 6) == 0 &&
          memcmp(out, a, 6) == 0 && mq_get_be32(out + 38) == IP(10, 0, 5, 10));
    mq_put_be32(f + 38, IP(10, 0, 5, 7)); /* not ours */
    CHECK(mq_dhcp_server_input(s, f, 42, 0, out, sizeof(out)) == 0);
    CHECK(mq_dhcp_server_input(s, f, 30, 0, out, sizeof(out)) == -EINVAL);

    /* No router: no option 3 or 6. */
    len = dhcp_frame(f, a, 1, 0, 0, 0);
    n = mq_dhcp_server_input(s, f, len, 0, out, sizeof(out));
    CHECK(reply_type(out, n, &yi) == 2 && reply_opt(out, n, 3) == 0 && reply_opt(out, n, 6) == 0);
    /* Every truncation of a good request is refused or ignored, never read past. */
    for (size_t cut = 0; cut < len; cut++)
        CHECK(mq_dhcp_server_input(s, f, cut, 0, out, sizeof(out)) <= 0);
    /* Bad header checksum, wrong chaddr, no end option, bad type. */
    f[24] ^= 1;
    CHECK(mq_dhcp_server_input(s, f, len, 0, out, sizeof(out)) == -EINVAL);
    f[24] ^= 1;
    f[42 + 28] ^= 2;
    CHECK(mq_dhcp_server_input(s, f, len, 0, out, sizeof(out)) == -EINVAL);
    f[42 + 28] ^= 2;
    f[len - 1] = 0;
    CHECK(mq_dhcp_server_input(s, f, len, 0, out, sizeof(out)) == -EINVAL);
    len = dhcp_frame(f, a, 9, 0, 0, 0);
    CHECK(mq_dhcp_server_input(s, f, len, 0, out, sizeof(out)) == -EINVAL);
    /* An option running past the end. */
    len = dhcp_frame(f, a, 1, 0, 0, 0);
    f[len - 1] = 12;
    f[len] = 200;
    mq_put_be16(f + 14 + 20 + 4, (uint16_t)(mq_get_be16(f + 38) + 1));
    CHECK(mq_dhcp_server_input(s, f, len + 1, 0, out, sizeof(out)) == -EINVAL);
    /* Small output buffer: no reply. */
    len = dhcp_frame(f, a, 1, 0, 0, 0);
    CHECK(mq_dhcp_server_input(s, f, len, 0, out, 100) == 0);
    /* A unicast frame for someone else: ignored. */
    f[0] = 0x52;
    CHECK(mq_dhcp_server_input(s, f, len, 0, out, sizeof(out)) == 0);
    mq_dhcp_server_free(s);
}

int main(void)
{
    test_exchange();
    test_arp_and_junk();
    if (failures) {
        fprintf(stderr, "dhcp_server_test: %d failure(s)\n", failures);
        return 1;
    }
    printf("dhcp_server_test: ok\n");
    return 0;
}
