/* SPDX-License-Identifier: MIT */
/*
 * Parser for the --net backend specification; option names and the
 * hostfwd rule syntax follow QEMU's user networking (QEMU System Emulation
 * User's Guide, "Network options", -netdev user).
 */
#include "net/net_spec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A piece of the specification: not NUL-terminated. p == NULL: absent. */
struct tok {
    const char *p;
    size_t n;
};

#define TOK_FMT "%.*s"
#define TOK_ARG(t) (int)(t).n, (t).p

/* Where each user option was given, for "given twice" and for messages. */
struct user_ctx {
    struct tok net, host, dns, dhcp, restrict_, ipv6, hostname;
    struct tok hostfwd[MQ_NET_MAX_HOSTFWD];
};

void mq_net_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    /* Messages quote user text: keep them one line and free of terminal escapes. */
    for (char *p = err; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
}

const char *mq_net_ipv4_str(uint32_t addr, char buf[16])
{
    snprintf(buf, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff,
             (addr >> 8) & 0xff, addr & 0xff);
    return buf;
}

static bool tok_eq(struct tok t, const char *s)
{
    size_t n = strlen(s);

    return t.n == n && memcmp(t.p, s, n) == 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Split t at the first c: *left gets the part before, *right after. */
static bool tok_split(struct tok t, char c, struct tok *left, struct tok *right)
{
    const char *at = memchr(t.p, c, t.n);

    if (!at)
        return false;
    left->p = t.p;
    left->n = (size_t)(at - t.p);
    right->p = at + 1;
    right->n = t.n - left->n - 1;
    return true;
}

/*
 * Strict dotted quad, decimal only: inet_aton would read "010" as octal and
 * "10.2" as 10.0.0.2, which is never what a user of --net means.
 */
static bool parse_ipv4(struct tok t, uint32_t *out)
{
    uint32_t addr = 0;
    size_t i = 0;

    for (int part = 0; part < 4; part++) {
        unsigned v = 0, digits = 0;

        if (part > 0) {
            if (i >= t.n || t.p[i] != '.')
                return false;
            i++;
        }
        while (i < t.n && is_digit(t.p[i]) && digits < 4) {
            v = v * 10 + (unsigned)(t.p[i] - '0');
            digits++;
            i++;
        }
        if (digits == 0 || digits > 3 || v > 255)
            return false;
        addr = addr << 8 | v;
    }
    if (i != t.n)
        return false;
    *out = addr;
    return true;
}

/* Decimal number, saturating at UINT32_MAX so overlong input cannot wrap. */
static bool parse_uint(struct tok t, uint32_t *out)
{
    uint64_t v = 0;

    if (t.n == 0)
        return false;
    for (size_t i = 0; i < t.n; i++) {
        if (!is_digit(t.p[i]))
            return false;
        v = v * 10 + (uint64_t)(t.p[i] - '0');
        if (v > UINT32_MAX)
            v = UINT32_MAX;
    }
    *out = (uint32_t)v;
    return true;
}

static bool parse_bool(struct tok t, bool *out)
{
    if (tok_eq(t, "on") || tok_eq(t, "yes") || tok_eq(t, "true")) {
        *out = true;
        return true;
    }
    if (tok_eq(t, "off") || tok_eq(t, "no") || tok_eq(t, "false")) {
        *out = false;
        return true;
    }
    return false;
}

static uint32_t prefix_to_mask(uint32_t prefix)
{
    return prefix == 0 ? 0 : ~0u << (32 - prefix);
}

static bool mask_is_contiguous(uint32_t mask)
{
    /* Ones then zeros: the inverted mask plus one is a power of two. */
    uint32_t inv = ~mask;

    return (inv & (inv + 1)) == 0;
}

static unsigned mask_to_prefix(uint32_t mask)
{
    unsigned n = 0;

    while (n < 32 && (mask & (0x80000000u >> n)))
        n++;
    return n;
}

/* [lo, hi] intersects [net, net | ~mask]. */
static bool net_overlaps(uint32_t net, uint32_t mask, uint32_t lo, uint32_t hi)
{
    return net <= hi && (net | ~mask) >= lo;
}

/* "net=ADDR/PREFIX" or "net=ADDR/MASK". */
static int parse_net(struct tok opt, struct tok val, struct mq_net_user_spec *u,
                     char *err, size_t errlen)
{
    struct tok a, m;
    uint32_t addr, mask, prefix;
    char buf[16];

    if (!tok_split(val, '/', &a, &m)) {
        mq_net_errf(err, errlen,
                    "--net user: " TOK_FMT ": give the prefix length, e.g. net=10.0.2.0/24",
                    TOK_ARG(opt));
        return -EINVAL;
    }
    if (!parse_ipv4(a, &addr)) {
        mq_net_errf(err, errlen, "--net user: " TOK_FMT ": '" TOK_FMT
                    "' is not an IPv4 address", TOK_ARG(opt), TOK_ARG(a));
        return -EINVAL;
    }
    if (parse_uint(m, &prefix)) {
        if (prefix < 1 || prefix > 30) {
            mq_net_errf(err, errlen, "--net user: " TOK_FMT
                        ": prefix length " TOK_FMT " is not 1-30", TOK_ARG(opt), TOK_ARG(m));
            return -EINVAL;
        }
        mask = prefix_to_mask(prefix);
    } else if (parse_ipv4(m, &mask)) {
        if (!mask_is_contiguous(mask) || mask_to_prefix(mask) < 1 ||
            mask_to_prefix(mask) > 30) {
            mq_net_errf(err, errlen, "--net user: " TOK_FMT ": netmask " TOK_FMT
                        " is not a contiguous /1 to /30 mask", TOK_ARG(opt), TOK_ARG(m));
            return -EINVAL;
        }
    } else {
        mq_net_errf(err, errlen, "--net user: " TOK_FMT ": '" TOK_FMT
                    "' is neither a prefix length nor a netmask", TOK_ARG(opt), TOK_ARG(m));
        return -EINVAL;
    }
    if (addr & ~mask) {
        mq_net_errf(err, errlen, "--net user: " TOK_FMT
                    ": the address has host bits set (did you mean %s/%u?)", TOK_ARG(opt),
                    mq_net_ipv4_str(addr & mask, buf), mask_to_prefix(mask));
        return -EINVAL;
    }
    /* 0/8 (this host), 127/8 (loopback), 224/3 (multicast, reserved). */
    if (net_overlaps(addr, mask, 0x00000000u, 0x00ffffffu) ||
        net_overlaps(addr, mask, 0x7f000000u, 0x7fffffffu) ||
        net_overlaps(addr, mask, 0xe0000000u, 0xffffffffu)) {
        mq_net_errf(err, errlen, "--net user: " TOK_FMT
                    ": overlaps 0.0.0.0/8, 127.0.0.0/8 or 224.0.0.0/3", TOK_ARG(opt));
        return -EINVAL;
    }
    u->net = addr;
    u->mask = mask;
    return 0;
}

enum port_err { PORT_OK, PORT_MISSING, PORT_NOT_NUMBER, PORT_RANGE };

static enum port_err parse_port(struct tok t, uint16_t *out)
{
    uint32_t v;

    if (t.n == 0)
        return PORT_MISSING;
    if (!parse_uint(t, &v))
        return PORT_NOT_NUMBER;
    if (v < 1 || v > 65535)
        return PORT_RANGE;
    *out = (uint16_t)v;
    return PORT_OK;
}

static int port_error(enum port_err e, struct tok opt, const char *which, struct tok t,
                      char *err, size_t errlen)
{
    switch (e) {
    case PORT_MISSING:
        mq_net_errf(err, errlen, "--net user: " TOK_FMT ": %s port is missing",
                    TOK_ARG(opt), which);
        break;
    case PORT_NOT_NUMBER:
        mq_net_errf(err, errlen, "--net user: " TOK_FMT ": %s port '" TOK_FMT
                    "' is not a number", TOK_ARG(opt), which, TOK_ARG(t));
        break;
    default:
        mq_net_errf(err, errlen, "--net user: " TOK_FMT ": %s port " TOK_FMT
                    " is not 1-65535", TOK_ARG(opt), which, TOK_ARG(t));
        break;
    }
    return -EINVAL;
}

/* "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT" (the part after "hostfwd="). */
static int parse_hostfwd(struct tok opt, struct tok val, struct mq_net_hostfwd *fw,
                         char *err, size_t errlen)
{
    struct tok proto, rest, host, guest, haddr, hport, gaddr, gport;
    enum port_err pe;

    if (!tok_split(val, ':', &proto, &rest) || !tok_split(rest, '-', &host, &guest) ||
        !tok_split(host, ':', &haddr, &hport) || !tok_split(guest, ':', &gaddr, &gport)) {
        mq_net_errf(err, errlen, "--net user: " TOK_FMT
                    ": expected hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT",
                    TOK_ARG(opt));
        return -EINVAL;
    }
    if (tok_eq(proto, "udp")) {
        fw->udp = true;
    } else if (!tok_eq(proto, "tcp") && proto.n != 0) {
        mq_net_errf(err, errlen, "--net user: " TOK_FMT ": protocol '" TOK_FMT
                    "' is not tcp or udp", TOK_ARG(opt), TOK_ARG(proto));
        return -EINVAL;
    }
    /* Unlike QEMU, an empty HOSTADDR is loopback: never expose the guest by default. */
    fw->host_addr = 0x7f000001u;
    if (haddr.n && !parse_ipv4(haddr, &fw->host_addr)) {
        mq_net_errf(err, errlen, "--net user: " TOK_FMT ": host address '" TOK_FMT
                    "' is not an IPv4 address", TOK_ARG(opt), TOK_ARG(haddr));
        return -EINVAL;
    }
    pe = parse_port(hport, &fw->host_port);
    if (pe != PORT_OK)
        return port_error(pe, opt, "host", hport, err, errlen);
    fw->guest_addr = 0; /* resolved to dhcp_start once the network is known */
    if (gaddr.n && !parse_ipv4(gaddr, &fw->guest_addr)) {
        mq_net_errf(err, errlen, "--net user: " TOK_FMT ": guest address '" TOK_FMT
                    "' is not an IPv4 address", TOK_ARG(opt), TOK_ARG(gaddr));
        return -EINVAL;
    }
    pe = parse_port(gport, &fw->guest_port);
    if (pe != PORT_OK)
        return port_error(pe, opt, "guest", gport, err, errlen);
    return 0;
}

/* RFC 1123 host name characters; the name goes into DHCP option 12. */
static bool valid_hostname(struct tok t)
{
    if (t.n == 0 || t.n > MQ_NET_HOSTNAME_MAX || t.p[0] == '-' || t.p[0] == '.')
        return false;
    for (size_t i = 0; i < t.n; i++) {
        char c = t.p[i];
        if (!(is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

static void tok_copy(char *dst, struct tok t)
{
    memcpy(dst, t.p, t.n);
    dst[t.n] = '\0';
}

static int set_once(struct tok *slot, struct tok opt, struct tok key, char *err,
                    size_t errlen)
{
    if (slot->p) {
        mq_net_errf(err, errlen, "--net user: " TOK_FMT ": " TOK_FMT " is given twice",
                    TOK_ARG(opt), TOK_ARG(key));
        return -EINVAL;
    }
    *slot = opt;
    return 0;
}

static int parse_addr_opt(struct tok opt, struct tok val, uint32_t *out, char *err,
                          size_t errlen)
{
    if (!parse_ipv4(val, out)) {
        mq_net_errf(err, errlen, "--net user: " TOK_FMT ": '" TOK_FMT
                    "' is not an IPv4 address", TOK_ARG(opt), TOK_ARG(val));
        return -EINVAL;
    }
    return 0;
}

static int parse_bool_opt(struct tok opt, struct tok key, struct tok val, bool *out,
                          char *err, size_t errlen)
{
    if (!parse_bool(val, out)) {
        mq_net_errf(err, errlen, "--net user: " TOK_FMT ": expected " TOK_FMT "=on|off",
                    TOK_ARG(opt), TOK_ARG(key));
        return -EINVAL;
    }
    return 0;
}

static int parse_user_hostfwd(struct user_ctx *c, struct mq_net_user_spec *u,
                              struct tok opt, struct tok val, char *err, size_t errlen)
{
    struct mq_net_hostfwd *fw;

    if (u->n_hostfwd >= MQ_NET_MAX_HOSTFWD) {
        mq_net_errf(err, errlen, "--net user: " TOK_FMT ": more than %d hostfwd rules",
                    TOK_ARG(opt), MQ_NET_MAX_HOSTFWD);
        return -EINVAL;
    }
    if (opt.n > MQ_NET_HOSTFWD_TEXT_MAX) {
        mq_net_errf(err, errlen, "--net user: %.*s...: hostfwd rule longer than %d characters",
                    40, opt.p, MQ_NET_HOSTFWD_TEXT_MAX);
        return -EINVAL;
    }
    fw = &u->hostfwd[u->n_hostfwd];
    if (parse_hostfwd(opt, val, fw, err, errlen) < 0)
        return -EINVAL;
    tok_copy(fw->text, opt);
    c->hostfwd[u->n_hostfwd++] = opt;
    return 0;
}

/* One "key=value" of the user backend. */
static int parse_user_option(struct user_ctx *c, struct mq_net_user_spec *u,
                             struct tok opt, char *err, size_t errlen)
{
    struct tok key, val;

    if (!tok_split(opt, '=', &key, &val)) {
        mq_net_errf(err, errlen, "--net user: '" TOK_FMT "': expected key=value",
                    TOK_ARG(opt));
        return -EINVAL;
    }
    if (tok_eq(key, "hostfwd"))
        return parse_user_hostfwd(c, u, opt, val, err, errlen);
    if (tok_eq(key, "net"))
        return set_once(&c->net, opt, key, err, errlen) ?: parse_net(opt, val, u, err, errlen);
    if (tok_eq(key, "host"))
        return set_once(&c->host, opt, key, err, errlen)
                   ?: parse_addr_opt(opt, val, &u->host, err, errlen);
    if (tok_eq(key, "dns"))
        return set_once(&c->dns, opt, key, err, errlen)
                   ?: parse_addr_opt(opt, val, &u->dns, err, errlen);
    if (tok_eq(key, "dhcpstart"))
        return set_once(&c->dhcp, opt, key, err, errlen)
                   ?: parse_addr_opt(opt, val, &u->dhcp_start, err, errlen);
    if (tok_eq(key, "restrict"))
        return set_once(&c->restrict_, opt, key, err, errlen)
                   ?: parse_bool_opt(opt, key, val, &u->restricted, err, errlen);
    if (tok_eq(key, "ipv6"))
        return set_once(&c->ipv6, opt, key, err, errlen)
                   ?: parse_bool_opt(opt, key, val, &u->ipv6, err, errlen);
    if (tok_eq(key, "hostname")) {
        if (set_once(&c->hostname, opt, key, err, errlen))
            return -EINVAL;
        if (!valid_hostname(val)) {
            mq_net_errf(err, errlen, "--net user: " TOK_FMT ": a host name is 1-%d letters, "
                        "digits, '-' or '.'", TOK_ARG(opt), MQ_NET_HOSTNAME_MAX);
            return -EINVAL;
        }
        tok_copy(u->hostname, val);
        return 0;
    }
    mq_net_errf(err, errlen, "--net user: " TOK_FMT ": unknown option (expected hostfwd, "
                "net, host, dns, dhcpstart, restrict, ipv6 or hostname)", TOK_ARG(opt));
    return -EINVAL;
}

/* addr is a usable unicast address of the virtual network. */
static bool in_net(const struct mq_net_user_spec *u, uint32_t addr)
{
    return (addr & u->mask) == u->net && addr != u->net && addr != (u->net | ~u->mask);
}

static int check_in_net(const struct mq_net_user_spec *u, struct tok opt, uint32_t addr,
                        const char *what, char *err, size_t errlen)
{
    char a[16], n[16];

    if (in_net(u, addr))
        return 0;
    mq_net_errf(err, errlen, "--net user: " TOK_FMT ": %s %s is not a host address of %s/%u",
                TOK_ARG(opt), what, mq_net_ipv4_str(addr, a), mq_net_ipv4_str(u->net, n),
                mask_to_prefix(u->mask));
    return -EINVAL;
}

static bool hostfwd_clash(const struct mq_net_hostfwd *a, const struct mq_net_hostfwd *b)
{
    return a->udp == b->udp && a->host_port == b->host_port &&
           (a->host_addr == b->host_addr || a->host_addr == 0 || b->host_addr == 0);
}

/* Defaults that depend on net=, then the checks that need the whole line. */
static int finish_user(const struct user_ctx *c, struct mq_net_user_spec *u, char *err,
                       size_t errlen)
{
    struct tok net_opt = c->net.p ? c->net : (struct tok){ "net=10.0.2.0/24", 15 };
    char a[16];

    if (!c->host.p)
        u->host = u->net | 2;
    if (!c->dns.p)
        u->dns = u->net | 3;
    if (!c->dhcp.p)
        u->dhcp_start = u->net | 15;
    if (check_in_net(u, c->host.p ? c->host : net_opt, u->host, "host", err, errlen) ||
        check_in_net(u, c->dns.p ? c->dns : net_opt, u->dns, "dns", err, errlen) ||
        check_in_net(u, c->dhcp.p ? c->dhcp : net_opt, u->dhcp_start, "dhcpstart", err,
                     errlen))
        return -EINVAL;
    if (u->dhcp_start == u->host || u->dhcp_start == u->dns) {
        mq_net_errf(err, errlen, "--net user: dhcpstart %s is also the host or dns address",
                    mq_net_ipv4_str(u->dhcp_start, a));
        return -EINVAL;
    }
    for (unsigned i = 0; i < u->n_hostfwd; i++) {
        struct mq_net_hostfwd *fw = &u->hostfwd[i];

        if (!fw->guest_addr)
            fw->guest_addr = u->dhcp_start;
        if (check_in_net(u, c->hostfwd[i], fw->guest_addr, "guest address", err, errlen))
            return -EINVAL;
        if (fw->guest_addr == u->host || fw->guest_addr == u->dns) {
            mq_net_errf(err, errlen, "--net user: " TOK_FMT
                        ": guest address %s is the host or dns address",
                        TOK_ARG(c->hostfwd[i]), mq_net_ipv4_str(fw->guest_addr, a));
            return -EINVAL;
        }
        for (unsigned j = 0; j < i; j++) {
            if (hostfwd_clash(&u->hostfwd[j], fw)) {
                mq_net_errf(err, errlen, "--net user: " TOK_FMT
                            ": %s host port %u is already forwarded by %s",
                            TOK_ARG(c->hostfwd[i]), fw->udp ? "udp" : "tcp", fw->host_port,
                            u->hostfwd[j].text);
                return -EINVAL;
            }
        }
    }
    return 0;
}

/* Calls fn on each comma-separated option after the first; empty ones are errors. */
static int for_each_option(struct tok rest, const char *kind, char *err, size_t errlen,
                           int (*fn)(void *ctx, struct tok opt, char *err, size_t errlen),
                           void *ctx)
{
    while (rest.p) {
        struct tok opt = rest, next = { NULL, 0 };
        int ret;

        if (tok_split(rest, ',', &opt, &next) == false)
            next.p = NULL;
        if (opt.n == 0) {
            mq_net_errf(err, errlen, "--net %s: empty option (two commas in a row or a "
                        "trailing comma)", kind);
            return -EINVAL;
        }
        ret = fn(ctx, opt, err, errlen);
        if (ret < 0)
            return ret;
        rest = next;
    }
    return 0;
}

struct user_parse {
    struct user_ctx ctx;
    struct mq_net_user_spec *u;
};

static int user_option_cb(void *opaque, struct tok opt, char *err, size_t errlen)
{
    struct user_parse *p = opaque;

    return parse_user_option(&p->ctx, p->u, opt, err, errlen);
}

static int parse_user(struct tok rest, struct mq_net_user_spec *u, char *err, size_t errlen)
{
    struct user_parse p;

    memset(&p, 0, sizeof(p));
    p.u = u;
    u->net = 0x0a000200u; /* 10.0.2.0/24, QEMU's default */
    u->mask = 0xffffff00u;
    u->ipv6 = true;
    if (for_each_option(rest, "user", err, errlen, user_option_cb, &p) < 0)
        return -EINVAL;
    return finish_user(&p.ctx, u, err, errlen);
}

static int hex_digit(char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "xx:xx:xx:xx:xx:xx", a unicast, nonzero address. */
static bool parse_mac(struct tok t, uint8_t mac[6])
{
    if (t.n != 17)
        return false;
    for (int i = 0; i < 6; i++) {
        int hi = hex_digit(t.p[i * 3]), lo = hex_digit(t.p[i * 3 + 1]);

        if (hi < 0 || lo < 0 || (i < 5 && t.p[i * 3 + 2] != ':'))
            return false;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    if (mac[0] & 1)
        return false;
    return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) != 0;
}

/* Switch names become socket names: keep them to a safe file-name alphabet. */
static bool valid_switch_name(struct tok t)
{
    if (t.n == 0 || t.n > MQ_NET_SWITCH_NAME_MAX || t.p[0] == '.' || t.p[0] == '-')
        return false;
    for (size_t i = 0; i < t.n; i++) {
        char c = t.p[i];
        if (!(is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
              c == '_' || c == '.'))
            return false;
    }
    return true;
}

bool mq_net_switch_name_valid(const char *name)
{
    struct tok t = { name, strnlen(name, MQ_NET_SWITCH_NAME_MAX + 1) };

    return valid_switch_name(t) && name[t.n] == '\0';
}

static int switch_option_cb(void *opaque, struct tok opt, char *err, size_t errlen)
{
    struct mq_net_switch_spec *sw = opaque;
    struct tok key, val;

    if (!tok_split(opt, '=', &key, &val) || !tok_eq(key, "mac")) {
        mq_net_errf(err, errlen, "--net switch: " TOK_FMT ": unknown option (expected mac)",
                    TOK_ARG(opt));
        return -EINVAL;
    }
    if (sw->has_mac) {
        mq_net_errf(err, errlen, "--net switch: " TOK_FMT ": mac is given twice", TOK_ARG(opt));
        return -EINVAL;
    }
    if (!parse_mac(val, sw->mac)) {
        mq_net_errf(err, errlen, "--net switch: " TOK_FMT
                    ": expected a unicast MAC address like 52:54:00:12:34:56", TOK_ARG(opt));
        return -EINVAL;
    }
    sw->has_mac = true;
    return 0;
}

static int parse_switch(struct tok name, struct tok rest, struct mq_net_switch_spec *sw,
                        char *err, size_t errlen)
{
    if (!valid_switch_name(name)) {
        mq_net_errf(err, errlen, "--net switch=" TOK_FMT ": a switch name is 1-%d letters, "
                    "digits, '-', '_' or '.'", TOK_ARG(name), MQ_NET_SWITCH_NAME_MAX);
        return -EINVAL;
    }
    tok_copy(sw->name, name);
    return for_each_option(rest, "switch", err, errlen, switch_option_cb, sw);
}

static int parse_tap(struct tok ifname, struct tok rest, struct mq_net_tap_spec *tap,
                     char *err, size_t errlen)
{
    bool ok = ifname.n > 0 && ifname.n <= MQ_NET_IFNAME_MAX && !tok_eq(ifname, ".") &&
              !tok_eq(ifname, "..");

    /* Linux's dev_valid_name(): no '/', ':' or white space. */
    for (size_t i = 0; ok && i < ifname.n; i++) {
        unsigned char c = (unsigned char)ifname.p[i];
        ok = c > ' ' && c < 0x7f && c != '/' && c != ':';
    }
    if (!ok) {
        mq_net_errf(err, errlen, "--net tap=" TOK_FMT ": an interface name is 1-%d "
                    "printable characters without '/' or ':'", TOK_ARG(ifname),
                    MQ_NET_IFNAME_MAX);
        return -EINVAL;
    }
    if (rest.p) {
        mq_net_errf(err, errlen, "--net tap: " TOK_FMT ": tap takes no options",
                    TOK_ARG(rest));
        return -EINVAL;
    }
    tok_copy(tap->ifname, ifname);
    return 0;
}

int mq_net_spec_parse(const char *spec, struct mq_net_spec *out, char *err, size_t errlen)
{
    size_t len = strnlen(spec, MQ_NET_SPEC_MAX_LEN + 1);
    struct tok all = { spec, len }, first, rest = { NULL, 0 }, key, val;

    memset(out, 0, sizeof(*out));
    mq_net_errf(err, errlen, "%s", "");
    if (len == 0) {
        mq_net_errf(err, errlen, "--net: empty specification (try --net user)");
        return -EINVAL;
    }
    if (len > MQ_NET_SPEC_MAX_LEN) {
        mq_net_errf(err, errlen, "--net: specification longer than %d characters",
                    MQ_NET_SPEC_MAX_LEN);
        return -EINVAL;
    }
    if (!tok_split(all, ',', &first, &rest)) {
        first = all;
        rest.p = NULL;
    }
    if (tok_eq(first, "user")) {
        out->kind = MQ_NET_KIND_USER;
        return parse_user(rest, &out->u.user, err, errlen);
    }
    if (tok_split(first, '=', &key, &val) && tok_eq(key, "switch")) {
        out->kind = MQ_NET_KIND_SWITCH;
        return parse_switch(val, rest, &out->u.sw, err, errlen);
    }
    if (tok_split(first, '=', &key, &val) && tok_eq(key, "tap")) {
        out->kind = MQ_NET_KIND_TAP;
        return parse_tap(val, rest, &out->u.tap, err, errlen);
    }
    mq_net_errf(err, errlen, "--net: unknown backend '" TOK_FMT
                "' (expected user, switch=NAME or tap=IFNAME)", (int)MQ_MIN(first.n, 64),
                first.p);
    return -EINVAL;
}
