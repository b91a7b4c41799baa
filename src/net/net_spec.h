/* SPDX-License-Identifier: MIT */
/*
 * The --net option: parses a backend specification such as
 * "user,hostfwd=tcp:127.0.0.1:2222-:22" into a plain struct. The user
 * options follow QEMU's user networking ("-netdev user", QEMU System
 * Emulation User's Guide, "Network options"), except that a hostfwd rule
 * without HOSTADDR listens on 127.0.0.1, never on all interfaces.
 *
 *   user[,net=ADDR[/PREFIX|/MASK]][,host=ADDR][,dns=ADDR][,dhcpstart=ADDR]
 *       [,restrict=on|off][,ipv6=on|off][,hostname=NAME]
 *       [,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...
 *   switch=NAME[,mac=52:54:00:xx:xx:xx]
 *   tap=IFNAME
 *
 * The parser is pure (no clock, no allocation, no system calls) so the
 * fuzz target replays exactly.
 */
#ifndef MQ_NET_NET_SPEC_H
#define MQ_NET_NET_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

/* Longest accepted specification; longer ones are refused, not truncated. */
#define MQ_NET_SPEC_MAX_LEN 4096
#define MQ_NET_MAX_HOSTFWD 32
/* libslirp 4.7 keeps the DHCP host name in a 33-byte buffer and truncates silently. */
#define MQ_NET_HOSTNAME_MAX 32
#define MQ_NET_SWITCH_NAME_MAX 63
#define MQ_NET_IFNAME_MAX 15 /* IFNAMSIZ - 1 on Linux */
/* A hostfwd rule as written, kept for error messages (longer ones are refused). */
#define MQ_NET_HOSTFWD_TEXT_MAX 79

enum mq_net_kind {
    MQ_NET_KIND_USER,
    MQ_NET_KIND_SWITCH,
    MQ_NET_KIND_TAP,
};

/* IPv4 addresses below are in host byte order. */
struct mq_net_hostfwd {
    bool udp;
    uint32_t host_addr;
    uint16_t host_port;  /* 1-65535 */
    uint32_t guest_addr; /* inside the virtual network; the DHCP start if not given */
    uint16_t guest_port; /* 1-65535 */
    char text[MQ_NET_HOSTFWD_TEXT_MAX + 1]; /* "hostfwd=..." as the user wrote it */
};

struct mq_net_user_spec {
    uint32_t net;        /* network address, host bits clear (default 10.0.2.0) */
    uint32_t mask;       /* contiguous netmask (default 255.255.255.0) */
    uint32_t host;       /* gateway, aliases the host's loopback (default net + 2) */
    uint32_t dns;        /* DNS forwarder (default net + 3) */
    uint32_t dhcp_start; /* first DHCP lease, the guest address (default net + 15) */
    bool restricted;     /* restrict=on: no connections leave the virtual network */
    bool ipv6;           /* ipv6=on (default, as QEMU): fec0::/64 */
    char hostname[MQ_NET_HOSTNAME_MAX + 1]; /* DHCP host name; empty: none */
    bool no_dhcp;        /* not from --net: a switch's NAT uplink when it serves DHCP */
    unsigned n_hostfwd;
    struct mq_net_hostfwd hostfwd[MQ_NET_MAX_HOSTFWD];
};

struct mq_net_switch_spec {
    char name[MQ_NET_SWITCH_NAME_MAX + 1];
    bool has_mac;
    uint8_t mac[6];
};

struct mq_net_tap_spec {
    char ifname[MQ_NET_IFNAME_MAX + 1];
};

struct mq_net_spec {
    enum mq_net_kind kind;
    union {
        struct mq_net_user_spec user;
        struct mq_net_switch_spec sw;
        struct mq_net_tap_spec tap;
    } u;
};

/*
 * Parse spec (NUL-terminated, not NULL) into *out (fully overwritten,
 * padding included, so equal inputs give byte-equal results). Returns 0,
 * or -EINVAL with a one-line reason starting with "--net" in err
 * (err may be NULL when errlen is 0). Thread-safe.
 */
int mq_net_spec_parse(const char *spec, struct mq_net_spec *out, char *err,
                      size_t errlen);

/*
 * Format a one-line error into err (NULL or errlen 0: nothing). Control
 * characters become '?', since messages quote user text. For backends too.
 */
void mq_net_errf(char *err, size_t errlen, const char *fmt, ...) MQ_PRINTF(3, 4);

/* name is a valid switch (network) name: 1-63 of [A-Za-z0-9_.-], not starting with '.' or '-'. */
bool mq_net_switch_name_valid(const char *name);

/* "a.b.c.d" for a host-order address; buf must hold 16 bytes. Returns buf. */
const char *mq_net_ipv4_str(uint32_t addr, char buf[16]);

#endif
