/* SPDX-License-Identifier: MIT */
/*
 * The switch process of a virtual network (net/switchd.h). One thread
 * polls the listening socket, the VM ports and the NAT uplink's socket
 * pair; frames go through the switch core into per-port queues, which are
 * flushed with non-blocking sends: a VM that does not read loses frames
 * at its own port and never stalls the others. libslirp runs on the user
 * backend's own thread and reaches this one through a socket pair.
 */
#include "net/switchd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/dhcp_server.h"
#include "net/netdir.h"
#include "net/switch_core.h"
#include "util/clock.h"
#include "util/log.h"
#if MQ_HAVE_SLIRP
#include "net/user.h"
#endif

#define SUBSYS "net-switch"
#define MAX_CLIENTS (MQ_SWITCHD_MAX_PORTS + 8)
#define BATCH 64              /* frames read from one port per round */
#define HELLO_TIMEOUT_NS 5000000000ull
#define AGE_EVERY_NS 10000000000ull

enum client_kind { CL_FREE, CL_HELLO, CL_VM };

struct client {
    enum client_kind kind;
    int fd;
    int port;
    uint64_t since_ns;
};

struct switchd {
    const struct mq_switchd_config *cfg;
    struct mq_switch *sw;
    struct client cl[MAX_CLIENTS];
    unsigned nvms;
    struct mq_dhcp_server *dhcp;
    int dhcp_port;
    struct mq_net_backend *uplink;
    int uplink_port;
    int up_fd[2];   /* [0] switch side, [1] slirp thread side */
    bool up_wanted; /* atomic: slirp holds a frame back */
    bool stop;
    uint8_t *buf;
    uint64_t last_age_ns;
    struct pollfd pfd[MAX_CLIENTS + 3];
};

static uint64_t now_ns(void)
{
    return mq_clock_monotonic_ns();
}

/* ---- the NAT uplink ---- */

#if MQ_HAVE_SLIRP
/* libslirp's thread: a frame from the host side into the switch. */
static bool uplink_receive(void *opaque, const uint8_t *frame, size_t len)
{
    struct switchd *d = opaque;

    if (send(d->up_fd[1], frame, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
        return true;
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
        return true; /* dropped */
    /* Flag first, then retry: a drain between the two is seen by the retry. */
    __atomic_store_n(&d->up_wanted, true, __ATOMIC_SEQ_CST);
    return send(d->up_fd[1], frame, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0;
}
#endif

static int uplink_start(struct switchd *d, char *err, size_t errlen)
{
#if MQ_HAVE_SLIRP
    struct mq_net_user_spec u;
    int ret;

    memset(&u, 0, sizeof(u));
    u.net = d->cfg->net;
    u.mask = d->cfg->mask;
    u.host = d->cfg->net | MQ_SWITCHD_NAT_HOST;
    u.dns = d->cfg->net | MQ_SWITCHD_NAT_DNS;
    u.dhcp_start = d->cfg->net | 15;
    u.no_dhcp = d->cfg->dhcp;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, d->up_fd) < 0) {
        ret = -errno;
        mq_net_errf(err, errlen, "net create %s: socketpair: %s", d->cfg->name, strerror(errno));
        return ret;
    }
    ret = mq_net_user_create(&u, &d->uplink, err, errlen);
    if (ret)
        return ret;
    mq_net_set_receiver(d->uplink, uplink_receive, d);
    d->uplink_port = mq_switch_port_add(d->sw);
    return 0;
#else
    mq_net_errf(err, errlen, "net create %s: --nat needs libslirp (install libslirp-dev "
                "and rebuild)", d->cfg->name);
    return -ENOTSUP;
#endif
}

static int dhcp_start(struct switchd *d, char *err, size_t errlen)
{
    uint32_t sip = d->cfg->net | MQ_SWITCHD_DHCP_HOST;
    struct mq_dhcp_server_config c = {
        .net = d->cfg->net, .mask = d->cfg->mask, .server_ip = sip,
        .server_mac = {0x02, 0x6d, 0x71, (uint8_t)(sip >> 16), (uint8_t)(sip >> 8),
                       (uint8_t)sip},
        .router = d->cfg->nat ? d->cfg->net | MQ_SWITCHD_NAT_HOST : 0,
        .dns = d->cfg->nat ? d->cfg->net | MQ_SWITCHD_NAT_DNS : 0,
        .pool_start = d->cfg->net | MQ_SWITCHD_POOL_FIRST,
        .pool_end = (d->cfg->net | ~d->cfg->mask) - 1,
    };

    d->dhcp = mq_dhcp_server_new(&c);
    if (!d->dhcp) {
        mq_net_errf(err, errlen, "net create %s: cannot set up the DHCP server", d->cfg->name);
        return -ENOMEM;
    }
    d->dhcp_port = mq_switch_port_add(d->sw);
    return 0;
}

/* Frames queued to the internal ports: answer DHCP, hand the rest to slirp. */
static void flush_internal(struct switchd *d)
{
    uint8_t reply[MQ_DHCP_SERVER_REPLY_MAX];
    const uint8_t *f;
    size_t len;

    while (d->dhcp && (f = mq_switch_port_peek(d->sw, d->dhcp_port, &len))) {
        int n = mq_dhcp_server_input(d->dhcp, f, len, now_ns() / 1000000000ull, reply,
                                     sizeof(reply));

        mq_switch_port_pop(d->sw, d->dhcp_port);
        if (n > 0)
            mq_switch_input(d->sw, d->dhcp_port, reply, (size_t)n, now_ns());
    }
    while (d->uplink && (f = mq_switch_port_peek(d->sw, d->uplink_port, &len))) {
        mq_net_send(d->uplink, f, len); /* -ENOBUFS: dropped, TCP recovers */
        mq_switch_port_pop(d->sw, d->uplink_port);
    }
}

static void read_uplink(struct switchd *d)
{
    for (int i = 0; i < BATCH; i++) {
        ssize_t n = recv(d->up_fd[0], d->buf, MQ_SWITCH_MAX_FRAME + 1, MSG_DONTWAIT);

        if (n <= 0)
            break;
        mq_switch_input(d->sw, d->uplink_port, d->buf, (size_t)n, now_ns());
    }
    if (__atomic_exchange_n(&d->up_wanted, false, __ATOMIC_SEQ_CST))
        mq_net_rx_ready(d->uplink);
}

/* ---- VM ports ---- */

static void client_close(struct switchd *d, struct client *c, const char *why)
{
    if (c->kind == CL_VM) {
        mq_log(MQ_LOG_INFO, SUBSYS, "%s: port %d left (%s)", d->cfg->name, c->port, why);
        mq_switch_port_remove(d->sw, c->port);
        d->nvms--;
    }
    close(c->fd);
    c->kind = CL_FREE;
    c->fd = -1;
}

/*
 * Socket buffers as large as the VM side's (switch.c): a burst a VM could
 * send must fit on the way out to another VM too, or the port queue drops
 * it. The FORCE variant works for root only; others get the system maximum.
 */
static void set_bufs(int fd)
{
    int v = 4 << 20;

    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

static void accept_clients(struct switchd *d)
{
    for (int k = 0; k < 16; k++) {
        int fd = accept4(d->cfg->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct ucred cr;
        socklen_t crlen = sizeof(cr);
        unsigned i;

        if (fd < 0)
            return;
        /* The directory is private already; this also keeps out a root-owned mistake. */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0 ||
            (cr.uid != geteuid() && cr.uid != 0)) {
            close(fd);
            continue;
        }
        for (i = 0; i < MAX_CLIENTS && d->cl[i].kind != CL_FREE; i++)
            ;
        if (i == MAX_CLIENTS) {
            close(fd);
            continue;
        }
        set_bufs(fd);
        d->cl[i] = (struct client){.kind = CL_HELLO, .fd = fd, .port = -1, .since_ns = now_ns()};
    }
}

static void reply(struct client *c, const char *text)
{
    if (send(c->fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        mq_log(MQ_LOG_DEBUG, SUBSYS, "handshake reply: %s", strerror(errno));
}

static void status_text(struct switchd *d, char *out, size_t len)
{
    uint64_t frames = 0, full = 0, bad = 0;
    char a[16];

    /* Counters of the ports connected now (a port's go when it leaves). */
    for (int p = 0; p < MQ_SWITCHD_MAX_PORTS + 2; p++) {
        struct mq_switch_port_stats st = mq_switch_port_stats(d->sw, p);

        frames += st.rx_frames;
        full += st.tx_queue_full;
        bad += st.rx_malformed;
    }
    snprintf(out, len, "%s ok\nname=%s\nsubnet=%s/%d\ndhcp=%s\nnat=%s\npid=%d\nports=%u\n"
             "leases=%u\nframes=%llu\ndropped_queue_full=%llu\ndropped_malformed=%llu\n",
             MQ_NETDIR_MAGIC, d->cfg->name, mq_net_ipv4_str(d->cfg->net, a),
             __builtin_popcount(d->cfg->mask), d->cfg->dhcp ? "on" : "off",
             d->cfg->nat ? "on" : "off", (int)getpid(), d->nvms,
             d->dhcp ? mq_dhcp_server_lease_count(d->dhcp, now_ns() / 1000000000ull) : 0,
             (unsigned long long)frames, (unsigned long long)full, (unsigned long long)bad);
}

static void hello(struct switchd *d, struct client *c)
{
    char msg[MQ_NETDIR_MSG_MAX];
    ssize_t n = recv(c->fd, msg, sizeof(msg) - 1, MSG_DONTWAIT);
    int port;

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0) {
        client_close(d, c, "closed");
        return;
    }
    msg[n] = '\0';
    if (!strcmp(msg, MQ_NETDIR_MAGIC " port")) {
        if (d->nvms >= MQ_SWITCHD_MAX_PORTS || (port = mq_switch_port_add(d->sw)) < 0) {
            reply(c, MQ_NETDIR_MAGIC " error the network has no free port");
            client_close(d, c, "full");
            return;
        }
        c->kind = CL_VM;
        c->port = port;
        d->nvms++;
        snprintf(msg, sizeof(msg), "%s ok port=%d", MQ_NETDIR_MAGIC, port);
        reply(c, msg);
        mq_log(MQ_LOG_INFO, SUBSYS, "%s: port %d joined", d->cfg->name, port);
        return;
    }
    if (!strcmp(msg, MQ_NETDIR_MAGIC " status")) {
        status_text(d, msg, sizeof(msg));
        reply(c, msg);
    } else if (!strcmp(msg, MQ_NETDIR_MAGIC " stop")) {
        reply(c, MQ_NETDIR_MAGIC " ok stopping");
        d->stop = true;
    } else {
        reply(c, MQ_NETDIR_MAGIC " error expected 'MQSW1 port', 'MQSW1 status' or "
              "'MQSW1 stop'");
    }
    client_close(d, c, "done");
}

static void read_vm(struct switchd *d, struct client *c)
{
    for (int i = 0; i < BATCH; i++) {
        ssize_t n = recv(c->fd, d->buf, MQ_SWITCH_MAX_FRAME + 1, MSG_DONTWAIT);

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            client_close(d, c, n == 0 ? "closed" : strerror(errno));
            return;
        }
        /* Malformed frames (bad size or source) are counted and dropped here. */
        mq_switch_input(d->sw, c->port, d->buf, (size_t)n, now_ns());
    }
}

static void flush_vm(struct switchd *d, struct client *c)
{
    const uint8_t *f;
    size_t len;

    while ((f = mq_switch_port_peek(d->sw, c->port, &len))) {
        if (send(c->fd, f, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
                return; /* the port's queue holds the rest (bounded: drops beyond) */
            if (errno != EMSGSIZE) {
                client_close(d, c, strerror(errno));
                return;
            }
        }
        mq_switch_port_pop(d->sw, c->port);
    }
}

/* ---- the loop ---- */

static void write_state(const struct switchd *d)
{
    char tmp[300], a[16];
    FILE *f;
    int fd;

    if (!d->cfg->state_path[0])
        return;
    snprintf(tmp, sizeof(tmp), "%s.tmp", d->cfg->state_path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return;
    }
    fprintf(f, "name=%s\nsubnet=%s/%d\ndhcp=%s\nnat=%s\npid=%d\nsocket=%s\n", d->cfg->name,
            mq_net_ipv4_str(d->cfg->net, a), __builtin_popcount(d->cfg->mask),
            d->cfg->dhcp ? "on" : "off", d->cfg->nat ? "on" : "off", (int)getpid(),
            d->cfg->sock_path);
    if (fclose(f) == 0)
        rename(tmp, d->cfg->state_path);
    else
        unlink(tmp);
}

static void signal_ready(const struct mq_switchd_config *cfg, const char *err)
{
    char msg[600];
    int n;

    if (cfg->ready_fd < 0)
        return;
    n = snprintf(msg, sizeof(msg), "%s\n", err ? err : "ok");
    if (write(cfg->ready_fd, msg, (size_t)MQ_MIN(n, (int)sizeof(msg) - 1)) < 0)
        mq_log(MQ_LOG_WARN, SUBSYS, "ready pipe: %s", strerror(errno));
    close(cfg->ready_fd);
}

static void poll_round(struct switchd *d)
{
    struct client *map[MAX_CLIENTS];
    unsigned n = 3, nc = 0;
    uint64_t t;

    d->pfd[0] = (struct pollfd){.fd = d->cfg->stop_fd, .events = POLLIN};
    d->pfd[1] = (struct pollfd){.fd = d->cfg->listen_fd, .events = POLLIN};
    d->pfd[2] = (struct pollfd){.fd = d->uplink ? d->up_fd[0] : -1, .events = POLLIN};
    for (unsigned i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = &d->cl[i];
        short ev = POLLIN;

        if (c->kind == CL_FREE)
            continue;
        if (c->kind == CL_VM && mq_switch_port_queued(d->sw, c->port))
            ev |= POLLOUT;
        d->pfd[n++] = (struct pollfd){.fd = c->fd, .events = ev};
        map[nc++] = c;
    }
    if (poll(d->pfd, n, 1000) < 0) {
        if (errno != EINTR)
            usleep(10000);
        return;
    }
    if (d->pfd[0].revents) {
        d->stop = true;
        return;
    }
    if (d->pfd[1].revents & POLLIN)
        accept_clients(d);
    if (d->pfd[2].revents & POLLIN)
        read_uplink(d);
    for (unsigned i = 0; i < nc; i++) {
        struct client *c = map[i];

        if (!(d->pfd[3 + i].revents & (POLLIN | POLLHUP | POLLERR)) || c->kind == CL_FREE)
            continue;
        if (c->kind == CL_HELLO)
            hello(d, c);
        else
            read_vm(d, c);
    }
    flush_internal(d);
    t = now_ns();
    for (unsigned i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = &d->cl[i];

        if (c->kind == CL_VM)
            flush_vm(d, c);
        else if (c->kind == CL_HELLO && t - c->since_ns > HELLO_TIMEOUT_NS)
            client_close(d, c, "no handshake");
    }
    if (t - d->last_age_ns > AGE_EVERY_NS) {
        mq_switch_age(d->sw, t);
        d->last_age_ns = t;
    }
}

static void cleanup(struct switchd *d, struct stat *bound)
{
    struct stat st;

    for (unsigned i = 0; i < MAX_CLIENTS; i++) {
        if (d->cl[i].kind != CL_FREE)
            client_close(d, &d->cl[i], "switch stopping");
    }
    /* Unlink only our own socket: a new network of the same name may have replaced it. */
    if (d->cfg->sock_path[0] && bound && stat(d->cfg->sock_path, &st) == 0 &&
        st.st_ino == bound->st_ino && st.st_dev == bound->st_dev) {
        unlink(d->cfg->sock_path);
        if (d->cfg->state_path[0])
            unlink(d->cfg->state_path);
    }
    close(d->cfg->listen_fd);
    mq_net_backend_close(d->uplink);
    if (d->up_fd[0] >= 0)
        close(d->up_fd[0]);
    if (d->up_fd[1] >= 0)
        close(d->up_fd[1]);
    mq_dhcp_server_free(d->dhcp);
    mq_switch_free(d->sw);
    free(d->buf);
    free(d);
}

int mq_switchd_run(const struct mq_switchd_config *cfg, char *err, size_t errlen)
{
    struct mq_switch_config sc = {.max_ports = MQ_SWITCHD_MAX_PORTS + 2};
    struct switchd *d = calloc(1, sizeof(*d));
    struct stat bound, *bp = NULL;
    int ret = -ENOMEM;

    if (!d) {
        mq_net_errf(err, errlen, "net create %s: out of memory", cfg->name);
        signal_ready(cfg, err);
        close(cfg->listen_fd);
        return -ENOMEM;
    }
    d->cfg = cfg;
    d->up_fd[0] = d->up_fd[1] = -1;
    d->dhcp_port = d->uplink_port = -1;
    if (cfg->sock_path[0] && stat(cfg->sock_path, &bound) == 0)
        bp = &bound;
    d->sw = mq_switch_new(&sc);
    d->buf = malloc(MQ_SWITCH_MAX_FRAME + 1);
    if (!d->sw || !d->buf) {
        mq_net_errf(err, errlen, "net create %s: out of memory", cfg->name);
        goto out;
    }
    if ((cfg->dhcp && (ret = dhcp_start(d, err, errlen))) ||
        (cfg->nat && (ret = uplink_start(d, err, errlen))))
        goto out;
    write_state(d);
    signal_ready(cfg, NULL);
    mq_log(MQ_LOG_INFO, SUBSYS, "%s: serving on %s", cfg->name, cfg->sock_path);
    while (!d->stop)
        poll_round(d);
    mq_log(MQ_LOG_INFO, SUBSYS, "%s: stopped", cfg->name);
    cleanup(d, bp);
    return 0;
out:
    signal_ready(cfg, err);
    cleanup(d, bp);
    return ret;
}

int mq_switchd_listen(const char *path, int *fd, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    mode_t old;
    int s, ret;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        mq_net_errf(err, errlen, "net: %s: path too long for a socket", path);
        return -ENAMETOOLONG;
    }
    strcpy(sa.sun_path, path);
    s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) {
        ret = -errno;
        mq_net_errf(err, errlen, "net: socket: %s", strerror(errno));
        return ret;
    }
    old = umask(0177);
    ret = bind(s, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (ret < 0 || chmod(path, 0600) < 0 || listen(s, 64) < 0) {
        ret = -errno;
        mq_net_errf(err, errlen, "net: %s: %s", path, strerror(errno));
        close(s);
        return ret;
    }
    *fd = s;
    return 0;
}

int mq_switchd_parse_subnet(const char *s, uint32_t *net, uint32_t *mask, char *err,
                            size_t errlen)
{
    char addr[32];
    const char *slash = strchr(s, '/');
    struct in_addr in;
    char *end;
    long p;

    if (!slash || (size_t)(slash - s) >= sizeof(addr)) {
        mq_net_errf(err, errlen, "--subnet %s: expected ADDRESS/PREFIX, e.g. 10.0.5.0/24", s);
        return -EINVAL;
    }
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    errno = 0;
    p = strtol(slash + 1, &end, 10);
    if (inet_pton(AF_INET, addr, &in) != 1 || *end || end == slash + 1 || errno ||
        p < 8 || p > 27) {
        mq_net_errf(err, errlen, "--subnet %s: expected an IPv4 network with a prefix of "
                    "8 to 27, e.g. 10.0.5.0/24", s);
        return -EINVAL;
    }
    *mask = ~0u << (32 - p);
    *net = ntohl(in.s_addr);
    if (*net & ~*mask) {
        mq_net_errf(err, errlen, "--subnet %s: the address has host bits set", s);
        return -EINVAL;
    }
    if ((*net >> 24) == 0 || (*net >> 24) == 127 || (*net >> 24) >= 224) {
        mq_net_errf(err, errlen, "--subnet %s: not in 0/8, 127/8 or 224/3", s);
        return -EINVAL;
    }
    return 0;
}
