/* SPDX-License-Identifier: MIT */
/*
 * A small, strict DHCPv4 server (RFC 2131, options RFC 2132) for a
 * virtual network: leases by client MAC from one address pool, answers
 * DISCOVER/REQUEST/RELEASE/DECLINE/INFORM, and ARP requests for its own
 * address (clients unicast renewals to it). It sees whole Ethernet frames
 * and returns whole frames; anything malformed or not for it is ignored.
 *
 * Pure: the caller passes the time, no sockets, no randomness, so the
 * fuzz target (fuzz/fuzz_dhcp_server.c) replays exactly. Not thread-safe.
 */
#ifndef MQ_NET_DHCP_SERVER_H
#define MQ_NET_DHCP_SERVER_H

#include <stddef.h>
#include <stdint.h>

/* Room a reply needs: Ethernet + IPv4 + UDP + a 300-byte BOOTP minimum. */
#define MQ_DHCP_SERVER_REPLY_MAX 590u
#define MQ_DHCP_SERVER_MAX_LEASES 1024u

/* Addresses in host byte order. */
struct mq_dhcp_server_config {
    uint32_t net, mask;
    uint32_t server_ip;            /* inside net; answers ARP, server identifier */
    uint8_t server_mac[6];
    uint32_t router;               /* option 3; 0: none */
    uint32_t dns;                  /* option 6; 0: none */
    uint32_t pool_start, pool_end; /* inclusive, inside net */
    uint32_t lease_secs;           /* 0: 3600 */
};

struct mq_dhcp_server;

/* NULL on out of memory or an inconsistent configuration. */
struct mq_dhcp_server *mq_dhcp_server_new(const struct mq_dhcp_server_config *cfg);
void mq_dhcp_server_free(struct mq_dhcp_server *s);

/*
 * A frame seen on the network at now_s (seconds, any epoch, not going
 * back). Returns the length of the reply frame written to out (cap bytes,
 * at least MQ_DHCP_SERVER_REPLY_MAX for a reply to be possible), 0 when
 * there is nothing to answer, -EINVAL for a malformed DHCP or ARP packet.
 */
int mq_dhcp_server_input(struct mq_dhcp_server *s, const uint8_t *frame, size_t len,
                         uint64_t now_s, uint8_t *out, size_t cap);

/* The address bound (ACKed, unexpired) to mac, or 0. */
uint32_t mq_dhcp_server_lease_of(const struct mq_dhcp_server *s, const uint8_t mac[6],
                                 uint64_t now_s);
unsigned mq_dhcp_server_lease_count(const struct mq_dhcp_server *s, uint64_t now_s);

#endif
