/* SPDX-License-Identifier: MIT */
/*
 * The virtual network's DHCPv4 server (net/dhcp_server.h): RFC 2131
 * section 4.3 server behaviour, RFC 2132 options, RFC 826 ARP replies
 * for the server address. Relays (giaddr), option overload and client
 * identifiers are not supported: a lease belongs to the client's MAC,
 * which must also be the frame's source address.
 */
#include "net/dhcp_server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/le.h"

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define IP_HLEN 20
#define UDP_HLEN 8
#define BOOTP_FIXED 236 /* op .. file, before the magic cookie */
#define BOOTP_MIN 300   /* RFC 1542 section 3.3: pad replies to this */
#define DHCP_MAGIC 0x63825363u
#define OFFER_HOLD_S 60
#define DECLINE_HOLD_S 600

enum { DISCOVER = 1, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM };

enum lease_state { FREE, OFFERED, BOUND, DECLINED };

struct lease {
    uint8_t mac[6];
    uint32_t ip;
    enum lease_state state;
    uint64_t expires;
};

struct mq_dhcp_server {
    struct mq_dhcp_server_config cfg;
    struct lease leases[MQ_DHCP_SERVER_MAX_LEASES];
};

/* What a request says, read once from the frame. */
struct request {
    const uint8_t *eth_src;
    uint8_t type;
    uint32_t xid, ciaddr, giaddr;
    uint16_t flags;
    uint8_t chaddr[6];
    uint32_t req_ip, server_id; /* options 50 and 54; 0: absent */
};

static const uint8_t BCAST_MAC[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

struct mq_dhcp_server *mq_dhcp_server_new(const struct mq_dhcp_server_config *cfg)
{
    struct mq_dhcp_server *s;
    const struct mq_dhcp_server_config *c = cfg;

    if (!c || (c->net & ~c->mask) || (c->server_ip & c->mask) != c->net ||
        (c->pool_start & c->mask) != c->net || (c->pool_end & c->mask) != c->net ||
        c->pool_start > c->pool_end || (c->server_mac[0] & 1))
        return NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cfg = *c;
    if (!s->cfg.lease_secs)
        s->cfg.lease_secs = 3600;
    return s;
}

void mq_dhcp_server_free(struct mq_dhcp_server *s)
{
    free(s);
}

/* ---- leases ---- */

static bool active(const struct lease *l, uint64_t now)
{
    return l->state != FREE && now < l->expires;
}

static struct lease *lease_by_mac(struct mq_dhcp_server *s, const uint8_t mac[6])
{
    for (unsigned i = 0; i < MQ_DHCP_SERVER_MAX_LEASES; i++) {
        struct lease *l = &s->leases[i];
        if (l->state != FREE && l->state != DECLINED && memcmp(l->mac, mac, 6) == 0)
            return l;
    }
    return NULL;
}

/* The active lease holding ip, or NULL. */
static struct lease *lease_by_ip(struct mq_dhcp_server *s, uint32_t ip, uint64_t now)
{
    for (unsigned i = 0; i < MQ_DHCP_SERVER_MAX_LEASES; i++) {
        if (active(&s->leases[i], now) && s->leases[i].ip == ip)
            return &s->leases[i];
    }
    return NULL;
}

static bool in_pool(const struct mq_dhcp_server *s, uint32_t ip)
{
    return ip >= s->cfg.pool_start && ip <= s->cfg.pool_end && ip != s->cfg.server_ip &&
           ip != s->cfg.router && ip != s->cfg.dns;
}

/* ip may go to mac: in the pool, and nobody else holds it. */
static bool ip_free_for(struct mq_dhcp_server *s, uint32_t ip, const uint8_t mac[6],
                        uint64_t now)
{
    struct lease *l;

    if (!in_pool(s, ip))
        return false;
    l = lease_by_ip(s, ip, now);
    return !l || (l->state != DECLINED && memcmp(l->mac, mac, 6) == 0);
}

static struct lease *slot_for(struct mq_dhcp_server *s, const uint8_t mac[6], uint64_t now)
{
    struct lease *l = lease_by_mac(s, mac), *oldest = NULL;

    if (l)
        return l;
    for (unsigned i = 0; i < MQ_DHCP_SERVER_MAX_LEASES; i++) {
        l = &s->leases[i];
        if (l->state == FREE)
            return l;
        if (!active(l, now) && (!oldest || l->expires < oldest->expires))
            oldest = l;
    }
    return oldest; /* NULL: every slot holds an active lease */
}

/* The address to offer mac: its old one, the one it asks for, or the lowest free. */
static uint32_t choose_ip(struct mq_dhcp_server *s, const struct request *r, uint64_t now)
{
    struct lease *l = lease_by_mac(s, r->chaddr);
    uint32_t n = 0;

    if (l && ip_free_for(s, l->ip, r->chaddr, now))
        return l->ip;
    if (r->req_ip && ip_free_for(s, r->req_ip, r->chaddr, now))
        return r->req_ip;
    /* Bounded: at most one probe per lease slot plus one can fail. */
    for (uint32_t ip = s->cfg.pool_start; ip <= s->cfg.pool_end && n <= MQ_DHCP_SERVER_MAX_LEASES + 3;
         ip++, n++) {
        if (ip_free_for(s, ip, r->chaddr, now))
            return ip;
        if (ip == UINT32_MAX)
            break;
    }
    return 0;
}

static bool lease_set(struct mq_dhcp_server *s, const uint8_t mac[6], uint32_t ip,
                      enum lease_state st, uint64_t until, uint64_t now)
{
    struct lease *l = slot_for(s, mac, now);

    if (!l)
        return false;
    memcpy(l->mac, mac, 6);
    l->ip = ip;
    l->state = st;
    l->expires = until;
    return true;
}

uint32_t mq_dhcp_server_lease_of(const struct mq_dhcp_server *s, const uint8_t mac[6],
                                 uint64_t now_s)
{
    for (unsigned i = 0; i < MQ_DHCP_SERVER_MAX_LEASES; i++) {
        const struct lease *l = &s->leases[i];
        if (l->state == BOUND && active(l, now_s) && memcmp(l->mac, mac, 6) == 0)
            return l->ip;
    }
    return 0;
}

unsigned mq_dhcp_server_lease_count(const struct mq_dhcp_server *s, uint64_t now_s)
{
    unsigned n = 0;

    for (unsigned i = 0; i < MQ_DHCP_SERVER_MAX_LEASES; i++)
        n += s->leases[i].state == BOUND && active(&s->leases[i], now_s);
    return n;
}

/* ---- parsing ---- */

static uint16_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += mq_get_be16(p + i);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* Options after the magic cookie; every length checked against the end. */
static int parse_options(const uint8_t *p, size_t len, struct request *r)
{
    size_t i = 0;
    bool end = false;

    while (i < len && !end) {
        uint8_t code = p[i++], olen;

        if (code == 0)
            continue;
        if (code == 255) {
            end = true;
            break;
        }
        if (i >= len)
            return -EINVAL;
        olen = p[i++];
        if (olen > len - i)
            return -EINVAL;
        switch (code) {
        case 53:
            if (olen != 1 || r->type)
                return -EINVAL;
            r->type = p[i];
            break;
        case 50:
            if (olen != 4)
                return -EINVAL;
            r->req_ip = mq_get_be32(p + i);
            break;
        case 54:
            if (olen != 4)
                return -EINVAL;
            r->server_id = mq_get_be32(p + i);
            break;
        case 52: /* option overload: not supported, refuse rather than misread */
            return -EINVAL;
        default:
            break;
        }
        i += olen;
    }
    if (!end || r->type < DISCOVER || r->type > INFORM)
        return -EINVAL;
    return 0;
}

/* IPv4 + UDP to port 67 + BOOTREQUEST. 0: a request in *r; 1: not DHCP; -EINVAL. */
static int parse_dhcp(const uint8_t *f, size_t len, struct request *r)
{
    const uint8_t *ip = f + ETH_HLEN, *udp, *b;
    size_t ihl, tot, ulen;

    if (len < ETH_HLEN + IP_HLEN || (ip[0] >> 4) != 4 || ip[9] != 17)
        return 1;
    ihl = (size_t)(ip[0] & 15) * 4;
    tot = mq_get_be16(ip + 2);
    if (ihl < IP_HLEN || tot < ihl + UDP_HLEN || tot > len - ETH_HLEN)
        return 1;
    udp = ip + ihl;
    if (mq_get_be16(udp + 2) != 67)
        return 1;
    /* From here on it is meant for a DHCP server: be strict. */
    if ((mq_get_be16(ip + 6) & 0x3fff) != 0 || csum_add(0, ip, ihl) != 0xffff)
        return -EINVAL; /* fragment or bad header checksum */
    ulen = mq_get_be16(udp + 4);
    if (ulen < UDP_HLEN + BOOTP_FIXED + 4 || ulen > tot - ihl)
        return -EINVAL;
    b = udp + UDP_HLEN;
    if (b[0] != 1 || b[1] != 1 || b[2] != 6 || mq_get_be32(b + BOOTP_FIXED) != DHCP_MAGIC)
        return -EINVAL;
    memset(r, 0, sizeof(*r));
    r->eth_src = f + 6;
    r->xid = mq_get_be32(b + 4);
    r->flags = mq_get_be16(b + 10);
    r->ciaddr = mq_get_be32(b + 12);
    r->giaddr = mq_get_be32(b + 24);
    memcpy(r->chaddr, b + 28, 6);
    if (r->giaddr || memcmp(r->chaddr, r->eth_src, 6) != 0 || (r->chaddr[0] & 1))
        return -EINVAL;
    return parse_options(b + BOOTP_FIXED + 4, ulen - UDP_HLEN - BOOTP_FIXED - 4, r);
}

/* ---- replies ---- */

static size_t put_opt32(uint8_t *p, uint8_t code, uint32_t v)
{
    p[0] = code;
    p[1] = 4;
    mq_put_be32(p + 2, v);
    return 6;
}

/* A whole reply frame; returns its length. cap checked by the caller. */
static size_t build_reply(const struct mq_dhcp_server *s, const struct request *r, uint8_t type,
                          uint32_t yiaddr, uint8_t *out)
{
    const struct mq_dhcp_server_config *c = &s->cfg;
    uint8_t *ip = out + ETH_HLEN, *udp = ip + IP_HLEN, *b = udp + UDP_HLEN;
    uint8_t *o = b + BOOTP_FIXED + 4;
    size_t blen, ulen;
    uint32_t dst_ip;
    const uint8_t *dst_mac;
    uint32_t sum;

    memset(out, 0, MQ_DHCP_SERVER_REPLY_MAX);
    b[0] = 2;
    b[1] = 1;
    b[2] = 6;
    mq_put_be32(b + 4, r->xid);
    mq_put_be16(b + 10, r->flags);
    mq_put_be32(b + 12, r->ciaddr);
    mq_put_be32(b + 16, yiaddr);
    memcpy(b + 28, r->chaddr, 6);
    mq_put_be32(b + BOOTP_FIXED, DHCP_MAGIC);
    *o++ = 53;
    *o++ = 1;
    *o++ = type;
    o += put_opt32(o, 54, c->server_ip);
    if (type != NAK) {
        if (type != ACK || r->type != INFORM) {
            o += put_opt32(o, 51, s->cfg.lease_secs);
            o += put_opt32(o, 58, s->cfg.lease_secs / 2);
            o += put_opt32(o, 59, s->cfg.lease_secs / 8 * 7);
        }
        o += put_opt32(o, 1, c->mask);
        o += put_opt32(o, 28, c->net | ~c->mask);
        if (c->router)
            o += put_opt32(o, 3, c->router);
        if (c->dns)
            o += put_opt32(o, 6, c->dns);
    }
    *o++ = 255;
    blen = (size_t)(o - b);
    if (blen < BOOTP_MIN)
        blen = BOOTP_MIN;
    ulen = UDP_HLEN + blen;

    /* RFC 2131 section 4.1: where the reply goes. */
    if (type == NAK || (!r->ciaddr && (r->flags & 0x8000))) {
        dst_ip = 0xffffffffu;
        dst_mac = BCAST_MAC;
    } else {
        dst_ip = r->ciaddr ? r->ciaddr : yiaddr;
        dst_mac = r->chaddr;
    }
    memcpy(out, dst_mac, 6);
    memcpy(out + 6, c->server_mac, 6);
    mq_put_be16(out + 12, ETH_P_IP);
    ip[0] = 0x45;
    mq_put_be16(ip + 2, (uint16_t)(IP_HLEN + ulen));
    ip[8] = 64;
    ip[9] = 17;
    mq_put_be32(ip + 12, c->server_ip);
    mq_put_be32(ip + 16, dst_ip);
    mq_put_be16(ip + 10, (uint16_t)~csum_add(0, ip, IP_HLEN));
    mq_put_be16(udp, 67);
    mq_put_be16(udp + 2, 68);
    mq_put_be16(udp + 4, (uint16_t)ulen);
    /* Pseudo-header: addresses, protocol, UDP length. */
    sum = csum_add(0, ip + 12, 8);
    sum += 17 + (uint32_t)ulen;
    sum = csum_add(sum, udp, ulen);
    mq_put_be16(udp + 6, (uint16_t)(~sum ? ~sum : 0xffff));
    return ETH_HLEN + IP_HLEN + ulen;
}

static int answer(struct mq_dhcp_server *s, const struct request *r, uint64_t now,
                  uint8_t *out)
{
    uint32_t want;
    struct lease *l;

    switch (r->type) {
    case DISCOVER:
        want = choose_ip(s, r, now);
        if (!want || !lease_set(s, r->chaddr, want, OFFERED, now + OFFER_HOLD_S, now))
            return 0; /* pool exhausted: stay silent (section 4.3.1) */
        return (int)build_reply(s, r, OFFER, want, out);
    case REQUEST:
        if (r->server_id && r->server_id != s->cfg.server_ip) {
            /* The client took another server's offer: forget ours. */
            l = lease_by_mac(s, r->chaddr);
            if (l && l->state == OFFERED)
                l->state = FREE;
            return 0;
        }
        want = r->req_ip ? r->req_ip : r->ciaddr;
        if (!want)
            return -EINVAL;
        if (!ip_free_for(s, want, r->chaddr, now)) {
            /* INIT-REBOOT for another network's address: silent (section 4.3.2). */
            if (!r->server_id && (want & s->cfg.mask) != s->cfg.net)
                return 0;
            return (int)build_reply(s, r, NAK, 0, out);
        }
        if (!lease_set(s, r->chaddr, want, BOUND, now + s->cfg.lease_secs, now))
            return (int)build_reply(s, r, NAK, 0, out);
        return (int)build_reply(s, r, ACK, want, out);
    case RELEASE:
    case DECLINE:
        if (r->server_id != s->cfg.server_ip)
            return 0;
        l = lease_by_mac(s, r->chaddr);
        if (!l)
            return 0;
        if (r->type == RELEASE) {
            if (l->ip == r->ciaddr)
                l->state = FREE;
        } else if (l->ip == r->req_ip) {
            /* Someone else uses it: keep it out of the pool for a while. */
            l->state = DECLINED;
            l->expires = now + DECLINE_HOLD_S;
            memset(l->mac, 0, 6);
        }
        return 0;
    case INFORM:
        if (!r->ciaddr)
            return -EINVAL;
        return (int)build_reply(s, r, ACK, 0, out);
    default:
        return 0; /* server messages sent by a client: ignore */
    }
}

/* RFC 826 request for our address: the reply. */
static int arp_reply(const struct mq_dhcp_server *s, const uint8_t *f, size_t len, uint8_t *out)
{
    const uint8_t *a = f + ETH_HLEN;

    if (len < ETH_HLEN + 28)
        return -EINVAL;
    if (mq_get_be16(a) != 1 || mq_get_be16(a + 2) != ETH_P_IP || a[4] != 6 || a[5] != 4)
        return -EINVAL;
    if (mq_get_be16(a + 6) != 1 || mq_get_be32(a + 24) != s->cfg.server_ip)
        return 0;
    if (a[8] & 1)
        return -EINVAL; /* a multicast sender hardware address */
    memset(out, 0, 60);
    memcpy(out, a + 8, 6);
    memcpy(out + 6, s->cfg.server_mac, 6);
    mq_put_be16(out + 12, ETH_P_ARP);
    mq_put_be16(out + 14, 1);
    mq_put_be16(out + 16, ETH_P_IP);
    out[18] = 6;
    out[19] = 4;
    mq_put_be16(out + 20, 2);
    memcpy(out + 22, s->cfg.server_mac, 6);
    mq_put_be32(out + 28, s->cfg.server_ip);
    memcpy(out + 32, a + 8, 10); /* target: the asker's MAC and IP */
    return 60;
}

int mq_dhcp_server_input(struct mq_dhcp_server *s, const uint8_t *frame, size_t len,
                         uint64_t now_s, uint8_t *out, size_t cap)
{
    struct request r;
    int ret;

    if (!frame || len < ETH_HLEN || cap < MQ_DHCP_SERVER_REPLY_MAX)
        return len < ETH_HLEN ? -EINVAL : 0;
    if (memcmp(frame, BCAST_MAC, 6) != 0 && memcmp(frame, s->cfg.server_mac, 6) != 0)
        return 0;
    switch (mq_get_be16(frame + 12)) {
    case ETH_P_ARP:
        return arp_reply(s, frame, len, out);
    case ETH_P_IP:
        ret = parse_dhcp(frame, len, &r);
        if (ret)
            return ret < 0 ? ret : 0;
        return answer(s, &r, now_s, out);
    default:
        return 0;
    }
}
