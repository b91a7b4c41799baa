/* SPDX-License-Identifier: MIT */
/*
 * The user-mode network backend: a libslirp NAT stack (DHCP, DNS
 * forwarding, TCP/UDP through host sockets, hostfwd) driven from a thread
 * of its own, because libslirp is not thread-safe. API: libslirp 4.7
 * <slirp/libslirp.h> (SlirpConfig version 4).
 *
 * Threading: everything that touches the Slirp instance runs on the
 * backend thread, except slirp_new()/slirp_add_hostfwd() before the thread
 * starts and slirp_cleanup() after it is joined. Guest frames cross over
 * through a bounded slot ring under ub->lock; rx_ready, link and stop are
 * atomic flags plus an eventfd kick.
 */
#include "net/user.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <slirp/libslirp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"

/* Guest frames waiting for the backend thread; beyond this the NIC is told -ENOBUFS. */
#define TX_SLOTS 256
/* Frames the NIC pushed back; beyond this the oldest is dropped (TCP retransmits). */
#define RX_PENDING_MAX 256
/* A timer re-armed in the past must not starve the poll loop. */
#define TIMER_FIRES_PER_ROUND 64

struct tx_slot {
    size_t len;
    uint8_t data[MQ_NET_USER_MAX_FRAME];
};

struct rx_frame {
    uint8_t *data;
    size_t len;
};

struct user_timer {
    struct user_timer *next;
    SlirpTimerCb cb; /* timer_new() API; NULL for timer_new_opaque() timers */
    SlirpTimerId id;
    void *cb_opaque;
    bool armed;
    int64_t expire_ms; /* in clock_get_ns() / 1e6, as libslirp computes it */
};

struct user_backend {
    struct mq_net_backend nb; /* first: the ops cast back to user_backend */
    Slirp *slirp;
    int wake_fd;

    /*
     * lock guards the ring indices and started. Slots between tx_head and
     * tx_tail belong to the thread; the one at tx_head stays in use while
     * slirp_input() reads it, which is safe because senders only write at
     * tx_tail and refuse when the ring is full.
     */
    pthread_mutex_t lock;
    struct tx_slot *tx;
    uint64_t tx_head, tx_tail;
    bool started;
    pthread_t thread;

    /* Backend thread only. */
    struct rx_frame rx_pending[RX_PENDING_MAX];
    unsigned rx_head, rx_count;
    struct user_timer *timers;
    struct pollfd *pfds;
    unsigned npfds, cap_pfds;

    /* Atomics, any thread. */
    bool stop;
    bool rx_ready;
    bool link_up;

    struct mq_net_stats stats; /* each field updated with atomic adds */
};

static inline struct user_backend *to_user(struct mq_net_backend *nb)
{
    return (struct user_backend *)nb;
}

#define STAT_ADD(ub, field, n) __atomic_fetch_add(&(ub)->stats.field, (n), __ATOMIC_RELAXED)

static void wake(struct user_backend *ub)
{
    uint64_t one = 1;

    /* EAGAIN means the counter is already nonzero: the thread will wake anyway. */
    if (write(ub->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        mq_log(MQ_LOG_WARN, "net", "user: wake eventfd write failed: %s", strerror(errno));
}

static int64_t now_ms(void)
{
    return (int64_t)(mq_clock_monotonic_ns() / 1000000u);
}

/* ---- frames to the guest ---- */

static bool deliver(struct user_backend *ub, const uint8_t *frame, size_t len)
{
    mq_net_receive_fn *fn = ub->nb.receive;

    if (!fn || !fn(ub->nb.receive_opaque, frame, len)) {
        STAT_ADD(ub, rx_deferred, 1);
        return false;
    }
    STAT_ADD(ub, rx_frames, 1);
    STAT_ADD(ub, rx_bytes, len);
    return true;
}

static void rx_drop_oldest(struct user_backend *ub)
{
    free(ub->rx_pending[ub->rx_head].data);
    ub->rx_pending[ub->rx_head].data = NULL;
    ub->rx_head = (ub->rx_head + 1) % RX_PENDING_MAX;
    ub->rx_count--;
    STAT_ADD(ub, rx_dropped, 1);
}

static void rx_queue(struct user_backend *ub, const uint8_t *frame, size_t len)
{
    struct rx_frame *f;
    uint8_t *copy;

    if (ub->rx_count == RX_PENDING_MAX)
        rx_drop_oldest(ub);
    copy = malloc(len ? len : 1);
    if (!copy) {
        STAT_ADD(ub, rx_dropped, 1);
        return;
    }
    memcpy(copy, frame, len);
    f = &ub->rx_pending[(ub->rx_head + ub->rx_count) % RX_PENDING_MAX];
    f->data = copy;
    f->len = len;
    ub->rx_count++;
}

/* Deliver held frames in order until the NIC refuses one. */
static void rx_flush(struct user_backend *ub)
{
    while (ub->rx_count) {
        struct rx_frame *f = &ub->rx_pending[ub->rx_head];

        if (!deliver(ub, f->data, f->len))
            return;
        free(f->data);
        f->data = NULL;
        ub->rx_head = (ub->rx_head + 1) % RX_PENDING_MAX;
        ub->rx_count--;
    }
}

static void rx_discard_all(struct user_backend *ub)
{
    while (ub->rx_count)
        rx_drop_oldest(ub);
}

/* ---- libslirp callbacks (all on the backend thread, or before/after it) ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    struct user_backend *ub = opaque;

    if (!__atomic_load_n(&ub->link_up, __ATOMIC_RELAXED) ||
        __atomic_load_n(&ub->stop, __ATOMIC_RELAXED)) {
        STAT_ADD(ub, rx_dropped, 1);
        return (ssize_t)len;
    }
    /* Frames already held go first, so the guest sees slirp's order. */
    if (ub->rx_count == 0 && deliver(ub, buf, len))
        return (ssize_t)len;
    rx_queue(ub, buf, len);
    return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    mq_guest_warn("net", "user: guest error: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
    return (int64_t)mq_clock_monotonic_ns();
}

static struct user_timer *timer_add(struct user_backend *ub, SlirpTimerCb cb, SlirpTimerId id,
                                    void *cb_opaque)
{
    struct user_timer *t = calloc(1, sizeof(*t));

    /* libslirp has no failure path for timer creation; NULL makes timer_mod a no-op. */
    if (!t) {
        mq_log(MQ_LOG_ERROR, "net", "user: out of memory for a slirp timer");
        return NULL;
    }
    t->cb = cb;
    t->id = id;
    t->cb_opaque = cb_opaque;
    t->next = ub->timers;
    ub->timers = t;
    return t;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    return timer_add(opaque, cb, SLIRP_TIMER_RA, cb_opaque);
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    return timer_add(opaque, NULL, id, cb_opaque);
}

static void cb_timer_free(void *timer, void *opaque)
{
    struct user_backend *ub = opaque;

    for (struct user_timer **p = &ub->timers; *p; p = &(*p)->next) {
        if (*p == timer) {
            *p = (*p)->next;
            free(timer);
            return;
        }
    }
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    struct user_timer *t = timer;

    if (!t)
        return;
    t->expire_ms = expire_ms;
    t->armed = true;
}

/* We rebuild the poll set from slirp_pollfds_fill() every round. */
static void cb_register_poll_fd(int fd, void *opaque)
{
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
}

static void cb_notify(void *opaque)
{
    wake(opaque);
}

static const SlirpCb user_slirp_cb = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
    .timer_new_opaque = cb_timer_new_opaque,
};

/* ---- the backend thread ---- */

static int cb_add_poll(int fd, int events, void *opaque)
{
    struct user_backend *ub = opaque;
    short ev = 0;

    if (ub->npfds == ub->cap_pfds) {
        unsigned cap = ub->cap_pfds * 2;
        struct pollfd *p = realloc(ub->pfds, cap * sizeof(*p));

        /* -1 tells libslirp the socket is not polled this round; it retries next round. */
        if (!p)
            return -1;
        ub->pfds = p;
        ub->cap_pfds = cap;
    }
    if (events & SLIRP_POLL_IN)
        ev |= POLLIN;
    if (events & SLIRP_POLL_OUT)
        ev |= POLLOUT;
    if (events & SLIRP_POLL_PRI)
        ev |= POLLPRI;
    /* POLLERR and POLLHUP are always reported. */
    ub->pfds[ub->npfds] = (struct pollfd){ .fd = fd, .events = ev };
    return (int)ub->npfds++;
}

static int cb_get_revents(int idx, void *opaque)
{
    struct user_backend *ub = opaque;
    short rev;
    int out = 0;

    if (idx < 1 || (unsigned)idx >= ub->npfds)
        return 0;
    rev = ub->pfds[idx].revents;
    if (rev & POLLIN)
        out |= SLIRP_POLL_IN;
    if (rev & POLLOUT)
        out |= SLIRP_POLL_OUT;
    if (rev & POLLPRI)
        out |= SLIRP_POLL_PRI;
    if (rev & (POLLERR | POLLNVAL))
        out |= SLIRP_POLL_ERR;
    if (rev & POLLHUP)
        out |= SLIRP_POLL_HUP;
    return out;
}

/* Feed queued guest frames to slirp. */
static void drain_tx(struct user_backend *ub)
{
    for (;;) {
        struct tx_slot *slot;

        pthread_mutex_lock(&ub->lock);
        if (ub->tx_head == ub->tx_tail) {
            pthread_mutex_unlock(&ub->lock);
            return;
        }
        slot = &ub->tx[ub->tx_head % TX_SLOTS];
        pthread_mutex_unlock(&ub->lock);

        slirp_input(ub->slirp, slot->data, (int)slot->len);

        pthread_mutex_lock(&ub->lock);
        ub->tx_head++;
        pthread_mutex_unlock(&ub->lock);
    }
}

static void run_timers(struct user_backend *ub)
{
    for (int fired = 0; fired < TIMER_FIRES_PER_ROUND; fired++) {
        int64_t now = now_ms();
        struct user_timer *t;

        for (t = ub->timers; t; t = t->next) {
            if (t->armed && t->expire_ms <= now)
                break;
        }
        if (!t)
            return;
        /* The callback may re-arm or free t: do not touch it afterwards. */
        t->armed = false;
        if (t->cb)
            t->cb(t->cb_opaque);
        else
            slirp_handle_timer(ub->slirp, t->id, t->cb_opaque);
    }
}

/* Milliseconds until the earliest armed timer, or UINT32_MAX. */
static uint32_t timers_timeout(struct user_backend *ub)
{
    int64_t now = now_ms(), best = INT64_MAX;

    for (struct user_timer *t = ub->timers; t; t = t->next) {
        if (t->armed && t->expire_ms < best)
            best = t->expire_ms;
    }
    if (best == INT64_MAX)
        return UINT32_MAX;
    if (best <= now)
        return 0;
    return best - now >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)(best - now);
}

static void poll_once(struct user_backend *ub)
{
    uint32_t timeout = UINT32_MAX;
    int n;

    ub->pfds[0] = (struct pollfd){ .fd = ub->wake_fd, .events = POLLIN };
    ub->npfds = 1;
    slirp_pollfds_fill(ub->slirp, &timeout, cb_add_poll, ub);
    timeout = MQ_MIN(timeout, timers_timeout(ub));
    n = poll(ub->pfds, ub->npfds, timeout == UINT32_MAX ? -1 : (int)MQ_MIN(timeout, INT_MAX));
    if (n < 0 && errno != EINTR) {
        mq_log(MQ_LOG_WARN, "net", "user: poll failed: %s", strerror(errno));
        /* Do not spin on a persistent error (e.g. ENOMEM). */
        usleep(10000);
    }
    slirp_pollfds_poll(ub->slirp, n < 0, cb_get_revents, ub);
    if (n > 0 && (ub->pfds[0].revents & POLLIN)) {
        uint64_t v;
        if (read(ub->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
            mq_log(MQ_LOG_WARN, "net", "user: wake eventfd read failed: %s",
                   strerror(errno));
    }
}

static void *user_thread(void *opaque)
{
    struct user_backend *ub = opaque;

    while (!__atomic_load_n(&ub->stop, __ATOMIC_ACQUIRE)) {
        drain_tx(ub);
        if (__atomic_exchange_n(&ub->rx_ready, false, __ATOMIC_ACQ_REL))
            rx_flush(ub);
        if (!__atomic_load_n(&ub->link_up, __ATOMIC_RELAXED))
            rx_discard_all(ub);
        run_timers(ub);
        poll_once(ub);
    }
    return NULL;
}

/*
 * Called with ub->lock held, on the first frame from the guest: by then
 * the NIC has installed its receive callback (a plain store in
 * mq_net_set_receiver()), and pthread_create() publishes it to the thread.
 * All signals are blocked on the thread: libslirp writes to sockets whose
 * peer may be gone, and the SIGPIPE must not kill the VM; other signals
 * belong to the threads that expect them.
 */
static int start_thread(struct user_backend *ub)
{
    sigset_t all, old;
    int ret;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    ret = pthread_create(&ub->thread, NULL, user_thread, ub);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (ret != 0) {
        /* Retried on every guest frame: rate-limit the message. */
        static struct mq_ratelimit rl;
        mq_log_ratelimited(&rl, MQ_LOG_ERROR, "net", "user: cannot start the network thread: %s",
                           strerror(ret));
        return -ret;
    }
    pthread_setname_np(ub->thread, "mq-net-user");
    ub->started = true;
    return 0;
}

/* ---- backend ops ---- */

static int user_send(struct mq_net_backend *nb, const uint8_t *frame, size_t len)
{
    struct user_backend *ub = to_user(nb);
    struct tx_slot *slot;
    bool was_empty;
    int ret;

    if (len < MQ_NET_ETH_HLEN || len > MQ_NET_USER_MAX_FRAME) {
        STAT_ADD(ub, tx_dropped, 1);
        mq_guest_warn("net", "user: dropped a %zu-byte frame from the guest (not %d-%d bytes)",
                      len, MQ_NET_ETH_HLEN, MQ_NET_USER_MAX_FRAME);
        return len < MQ_NET_ETH_HLEN ? -EINVAL : -EMSGSIZE;
    }
    if (!__atomic_load_n(&ub->link_up, __ATOMIC_RELAXED)) {
        STAT_ADD(ub, tx_dropped, 1);
        return -ENETDOWN;
    }
    pthread_mutex_lock(&ub->lock);
    if (!ub->started && (ret = start_thread(ub)) < 0) {
        pthread_mutex_unlock(&ub->lock);
        STAT_ADD(ub, tx_dropped, 1);
        return ret;
    }
    if (ub->tx_tail - ub->tx_head >= TX_SLOTS) {
        pthread_mutex_unlock(&ub->lock);
        STAT_ADD(ub, tx_dropped, 1);
        return -ENOBUFS;
    }
    slot = &ub->tx[ub->tx_tail % TX_SLOTS];
    memcpy(slot->data, frame, len);
    slot->len = len;
    /* The thread only sleeps after seeing the ring empty: kick on that edge only. */
    was_empty = ub->tx_head == ub->tx_tail;
    ub->tx_tail++;
    pthread_mutex_unlock(&ub->lock);
    STAT_ADD(ub, tx_frames, 1);
    STAT_ADD(ub, tx_bytes, len);
    if (was_empty)
        wake(ub);
    return 0;
}

static void user_rx_ready(struct mq_net_backend *nb)
{
    struct user_backend *ub = to_user(nb);

    __atomic_store_n(&ub->rx_ready, true, __ATOMIC_RELEASE);
    wake(ub);
}

static void user_set_link(struct mq_net_backend *nb, bool up)
{
    struct user_backend *ub = to_user(nb);

    __atomic_store_n(&ub->link_up, up, __ATOMIC_RELAXED);
    wake(ub);
}

static void user_free(struct user_backend *ub)
{
    if (ub->slirp)
        slirp_cleanup(ub->slirp);
    rx_discard_all(ub);
    while (ub->timers)
        cb_timer_free(ub->timers, ub);
    if (ub->wake_fd >= 0)
        close(ub->wake_fd);
    pthread_mutex_destroy(&ub->lock);
    free(ub->pfds);
    free(ub->tx);
    free(ub);
}

static void user_close(struct mq_net_backend *nb)
{
    struct user_backend *ub = to_user(nb);
    bool started;

    pthread_mutex_lock(&ub->lock);
    started = ub->started;
    pthread_mutex_unlock(&ub->lock);
    __atomic_store_n(&ub->stop, true, __ATOMIC_RELEASE);
    if (started) {
        wake(ub);
        pthread_join(ub->thread, NULL);
    }
    user_free(ub);
}

static const struct mq_net_backend_ops user_ops = {
    .kind = "user",
    .send = user_send,
    .rx_ready = user_rx_ready,
    .set_link = user_set_link,
    .close = user_close,
};

/* ---- creation ---- */

static struct in_addr in4(uint32_t host_order)
{
    return (struct in_addr){ .s_addr = htonl(host_order) };
}

/* QEMU's IPv6 defaults: prefix fec0::/64, host fec0::2, DNS fec0::3. */
static struct in6_addr in6_fec0(uint8_t last)
{
    struct in6_addr a;

    memset(&a, 0, sizeof(a));
    a.s6_addr[0] = 0xfe;
    a.s6_addr[1] = 0xc0;
    a.s6_addr[15] = last;
    return a;
}

static int add_hostfwds(struct user_backend *ub, const struct mq_net_user_spec *spec,
                        char *err, size_t errlen)
{
    for (unsigned i = 0; i < spec->n_hostfwd; i++) {
        const struct mq_net_hostfwd *fw = &spec->hostfwd[i];
        char a[16];
        int e;

        errno = 0;
        if (slirp_add_hostfwd(ub->slirp, fw->udp, in4(fw->host_addr), fw->host_port,
                              in4(fw->guest_addr), fw->guest_port) == 0)
            continue;
        /* libslirp keeps the bind()/listen() errno; fall back to a generic reason. */
        e = errno ? errno : EADDRNOTAVAIL;
        mq_net_errf(err, errlen, "--net user: %s: cannot listen on %s %s:%u: %s%s", fw->text,
                    fw->udp ? "udp" : "tcp", mq_net_ipv4_str(fw->host_addr, a),
                    fw->host_port, strerror(e),
                    e == EADDRINUSE ? " (another program or VM uses this port)" : "");
        return -e;
    }
    return 0;
}

int mq_net_user_create(const struct mq_net_user_spec *spec, struct mq_net_backend **out,
                       char *err, size_t errlen)
{
    struct user_backend *ub;
    SlirpConfig cfg;
    int ret;

    *out = NULL;
    ub = calloc(1, sizeof(*ub));
    if (!ub) {
        mq_net_errf(err, errlen, "--net user: out of memory");
        return -ENOMEM;
    }
    ub->wake_fd = -1;
    ub->nb.ops = &user_ops;
    ub->link_up = true;
    pthread_mutex_init(&ub->lock, NULL);
    ub->tx = calloc(TX_SLOTS, sizeof(*ub->tx));
    ub->cap_pfds = 16;
    ub->pfds = calloc(ub->cap_pfds, sizeof(*ub->pfds));
    if (!ub->tx || !ub->pfds) {
        mq_net_errf(err, errlen, "--net user: out of memory");
        ret = -ENOMEM;
        goto fail;
    }
    ub->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ub->wake_fd < 0) {
        ret = -errno;
        mq_net_errf(err, errlen, "--net user: eventfd: %s", strerror(errno));
        goto fail;
    }

    memset(&cfg, 0, sizeof(cfg));
    cfg.version = 4;
    cfg.restricted = spec->restricted;
    cfg.in_enabled = true;
    cfg.vnetwork = in4(spec->net);
    cfg.vnetmask = in4(spec->mask);
    cfg.vhost = in4(spec->host);
    cfg.vdhcp_start = in4(spec->dhcp_start);
    cfg.vnameserver = in4(spec->dns);
    cfg.in6_enabled = spec->ipv6;
    cfg.vprefix_addr6 = in6_fec0(0);
    cfg.vprefix_len = 64;
    cfg.vhost6 = in6_fec0(2);
    cfg.vnameserver6 = in6_fec0(3);
    cfg.vhostname = spec->hostname[0] ? spec->hostname : NULL;
    cfg.if_mtu = MQ_NET_USER_MTU;
    cfg.if_mru = MQ_NET_USER_MTU;
    /* NOTE: 10.0.2.2 reaches the host's 127.0.0.1 (QEMU's behaviour; restrict=on stops it). */
    cfg.disable_host_loopback = false;
    /* libslirp's protocol emulation (FTP, IRC...) is documented as unsafe. */
    cfg.enable_emu = false;
    /* A switch's uplink when the switch runs its own DHCP server. */
    cfg.disable_dhcp = spec->no_dhcp;

    ub->slirp = slirp_new(&cfg, &user_slirp_cb, ub);
    if (!ub->slirp) {
        mq_net_errf(err, errlen, "--net user: libslirp could not create the network");
        ret = -ENOMEM;
        goto fail;
    }
    ret = add_hostfwds(ub, spec, err, errlen);
    if (ret < 0)
        goto fail;
    *out = &ub->nb;
    return 0;

fail:
    user_free(ub);
    return ret;
}

int mq_net_user_get_stats(struct mq_net_backend *nb, struct mq_net_stats *out)
{
    struct user_backend *ub = to_user(nb);

    if (nb->ops != &user_ops)
        return -ENOTSUP;
#define LOAD(f) out->f = __atomic_load_n(&ub->stats.f, __ATOMIC_RELAXED)
    LOAD(tx_frames);
    LOAD(tx_bytes);
    LOAD(tx_dropped);
    LOAD(rx_frames);
    LOAD(rx_bytes);
    LOAD(rx_deferred);
    LOAD(rx_dropped);
#undef LOAD
    return 0;
}
