/* SPDX-License-Identifier: MIT */
/*
 * Frame-per-message file descriptor backends (net/fd_backend.h): the
 * common part of the switch and tap backends.
 */
#include "net/fd_backend.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net_spec.h"
#include "net/switch.h"
#include "util/log.h"

#define SUBSYS "net"
#define RX_BATCH 64
#define RECONNECT_MS 1000

#define STAT_ADD(fb, field, n) __atomic_fetch_add(&(fb)->stats.field, (n), __ATOMIC_RELAXED)

static void wake(struct mq_net_fd_backend *fb)
{
    uint64_t one = 1;

    if (write(fb->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        mq_log(MQ_LOG_WARN, SUBSYS, "%s: wake eventfd: %s", fb->what, strerror(errno));
}

/* The NIC's receive callback; false: no room, hold the frame. */
static bool deliver(struct mq_net_fd_backend *fb, const uint8_t *f, size_t len)
{
    mq_net_receive_fn *fn = __atomic_load_n(&fb->nb.receive, __ATOMIC_ACQUIRE);

    /* No NIC yet (the thread runs from creation on): nobody to give it to. */
    if (!fn || !__atomic_load_n(&fb->link_up, __ATOMIC_RELAXED)) {
        STAT_ADD(fb, rx_dropped, 1);
        return true;
    }
    if (!fn(fb->nb.receive_opaque, f, len)) {
        STAT_ADD(fb, rx_deferred, 1);
        return false;
    }
    STAT_ADD(fb, rx_frames, 1);
    STAT_ADD(fb, rx_bytes, len);
    return true;
}

static void disconnect(struct mq_net_fd_backend *fb, const char *why)
{
    pthread_mutex_lock(&fb->lock);
    if (fb->fd >= 0)
        close(fb->fd);
    fb->fd = -1;
    pthread_mutex_unlock(&fb->lock);
    fb->held = 0;
    mq_log(MQ_LOG_WARN, SUBSYS, "%s: lost (%s)%s", fb->what, why,
           fb->fops->reconnect ? "; reconnecting every second" : "");
}

/* Read and deliver up to a batch; stop at a refused frame. */
static void rx_some(struct mq_net_fd_backend *fb, int fd)
{
    for (int i = 0; i < RX_BATCH && !fb->held; i++) {
        ssize_t n = fb->is_socket ? recv(fd, fb->rx_buf, fb->max_frame + 1, MSG_DONTWAIT)
                                  : read(fd, fb->rx_buf, fb->max_frame + 1);

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n < 0 || (n == 0 && fb->is_socket)) {
            disconnect(fb, n == 0 ? "the switch closed the connection" : strerror(errno));
            return;
        }
        if ((size_t)n < 14 || (size_t)n > fb->max_frame) {
            mq_guest_warn(SUBSYS, "%s: dropped a %zd-byte frame (not 14-%zu bytes)", fb->what,
                          n, fb->max_frame);
            STAT_ADD(fb, rx_dropped, 1);
            continue;
        }
        if (!deliver(fb, fb->rx_buf, (size_t)n))
            fb->held = (size_t)n;
    }
}

static void try_reconnect(struct mq_net_fd_backend *fb)
{
    int fd = fb->fops->reconnect(fb);

    if (fd < 0)
        return;
    pthread_mutex_lock(&fb->lock);
    fb->fd = fd;
    pthread_mutex_unlock(&fb->lock);
    mq_log(MQ_LOG_WARN, SUBSYS, "%s: connected again", fb->what);
}

static void *fd_thread(void *opaque)
{
    struct mq_net_fd_backend *fb = opaque;

    while (!__atomic_load_n(&fb->stop, __ATOMIC_ACQUIRE)) {
        struct pollfd p[2] = {{.fd = fb->wake_fd, .events = POLLIN}};
        int fd = fb->fd; /* only this thread changes it */
        int timeout = -1;

        if (__atomic_exchange_n(&fb->rx_ready, false, __ATOMIC_ACQ_REL) && fb->held) {
            if (deliver(fb, fb->rx_buf, fb->held))
                fb->held = 0;
        }
        if (!__atomic_load_n(&fb->link_up, __ATOMIC_RELAXED))
            fb->held = 0;
        if (fd < 0 && fb->fops->reconnect) {
            try_reconnect(fb);
            fd = fb->fd;
            if (fd < 0)
                timeout = RECONNECT_MS;
        }
        p[1] = (struct pollfd){.fd = fd >= 0 && !fb->held ? fd : -1, .events = POLLIN};
        if (poll(p, 2, timeout) < 0 && errno != EINTR) {
            usleep(10000);
            continue;
        }
        if (p[0].revents & POLLIN) {
            uint64_t v;
            if (read(fb->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                usleep(1000);
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
            rx_some(fb, fd);
    }
    return NULL;
}

/* The backend thread, with every signal blocked (they belong to the VM's threads). */
static int start_thread(struct mq_net_fd_backend *fb)
{
    sigset_t all, old;
    int ret;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    ret = pthread_create(&fb->thread, NULL, fd_thread, fb);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (ret)
        return -ret;
    pthread_setname_np(fb->thread, "mq-net-fd");
    return 0;
}

static int fd_send(struct mq_net_backend *nb, const uint8_t *frame, size_t len)
{
    struct mq_net_fd_backend *fb = (struct mq_net_fd_backend *)nb;
    ssize_t n;
    int ret = 0;

    if (len < 14 || len > fb->max_frame) {
        STAT_ADD(fb, tx_dropped, 1);
        mq_guest_warn(SUBSYS, "%s: dropped a %zu-byte frame from the guest (not 14-%zu bytes)",
                      fb->what, len, fb->max_frame);
        return len < 14 ? -EINVAL : -EMSGSIZE;
    }
    if (!__atomic_load_n(&fb->link_up, __ATOMIC_RELAXED)) {
        STAT_ADD(fb, tx_dropped, 1);
        return -ENETDOWN;
    }
    pthread_mutex_lock(&fb->lock);
    if (fb->fd < 0) {
        ret = -ENOTCONN;
        goto out;
    }
    n = fb->is_socket ? send(fb->fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL)
                      : write(fb->fd, frame, len);
    if (n < 0)
        ret = errno == EAGAIN || errno == EWOULDBLOCK ? -ENOBUFS : -errno;
out:
    pthread_mutex_unlock(&fb->lock);
    if (ret) {
        /* A broken connection is noticed (and reconnected) by the thread's read. */
        STAT_ADD(fb, tx_dropped, 1);
        return ret;
    }
    STAT_ADD(fb, tx_frames, 1);
    STAT_ADD(fb, tx_bytes, len);
    return 0;
}

static void fd_rx_ready(struct mq_net_backend *nb)
{
    struct mq_net_fd_backend *fb = (struct mq_net_fd_backend *)nb;

    __atomic_store_n(&fb->rx_ready, true, __ATOMIC_RELEASE);
    wake(fb);
}

static void fd_set_link(struct mq_net_backend *nb, bool up)
{
    struct mq_net_fd_backend *fb = (struct mq_net_fd_backend *)nb;

    __atomic_store_n(&fb->link_up, up, __ATOMIC_RELAXED);
    wake(fb);
}

static void fd_close(struct mq_net_backend *nb)
{
    struct mq_net_fd_backend *fb = (struct mq_net_fd_backend *)nb;

    __atomic_store_n(&fb->stop, true, __ATOMIC_RELEASE);
    wake(fb);
    pthread_join(fb->thread, NULL);
    if (fb->fd >= 0)
        close(fb->fd);
    close(fb->wake_fd);
    pthread_mutex_destroy(&fb->lock);
    free(fb->rx_buf);
    free(fb);
}

static const struct mq_net_backend_ops fd_ops = {
    .kind = "fd",
    .send = fd_send,
    .rx_ready = fd_rx_ready,
    .set_link = fd_set_link,
    .close = fd_close,
};

int mq_net_fd_backend_start(struct mq_net_fd_backend *fb, const struct mq_net_fd_ops *fops,
                            int fd, bool is_socket, size_t max_frame, char *err,
                            size_t errlen)
{
    int ret;

    fb->nb.ops = &fd_ops;
    fb->fops = fops;
    fb->fd = fd;
    fb->is_socket = is_socket;
    fb->max_frame = max_frame;
    fb->link_up = true;
    fb->rx_buf = malloc(max_frame + 1);
    fb->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!fb->rx_buf || fb->wake_fd < 0) {
        int e = fb->rx_buf ? errno : ENOMEM;

        mq_net_errf(err, errlen, "--net %s: %s", fb->what, strerror(e));
        close(fd);
        if (fb->wake_fd >= 0)
            close(fb->wake_fd);
        free(fb->rx_buf);
        return -e;
    }
    pthread_mutex_init(&fb->lock, NULL);
    ret = start_thread(fb);
    if (ret) {
        mq_net_errf(err, errlen, "--net %s: cannot start the backend thread: %s", fb->what,
                    strerror(-ret));
        close(fd);
        close(fb->wake_fd);
        pthread_mutex_destroy(&fb->lock);
        free(fb->rx_buf);
        return ret;
    }
    return 0;
}

int mq_net_fd_get_stats(struct mq_net_backend *nb, struct mq_net_stats *out)
{
    struct mq_net_fd_backend *fb = (struct mq_net_fd_backend *)nb;

    if (nb->ops != &fd_ops)
        return -ENOTSUP;
#define LOAD(f) out->f = __atomic_load_n(&fb->stats.f, __ATOMIC_RELAXED)
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
