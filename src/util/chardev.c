/* SPDX-License-Identifier: MIT */
/*
 * Host character backends (none, file, Unix socket, pty) with a bounded
 * output queue flushed from the event loop and flow-controlled input.
 *
 * Threading: the output queue and `connected` are under out_lock (writers
 * are hart and I/O threads); everything else belongs to the loop thread,
 * or to the opener/closer while no loop callback can run.
 */
#include "util/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "util/log.h"

#define SUBSYS "chardev"
#define IN_BUF 1024u
/* How often a pty without a reader is checked for one. */
#define PTY_POLL_NS (200ull * 1000 * 1000)

enum chr_kind { CHR_NONE, CHR_FILE, CHR_SOCKET, CHR_PTY };

struct mq_chardev {
    enum chr_kind kind;
    struct mq_chardev_hooks hooks;
    const char *name;
    struct mq_event_loop *loop;
    char *path;                     /* file, socket or pty slave path */
    int listen_fd;                  /* socket: -1 otherwise */
    int io_fd;                      /* file, client socket or pty master; -1: none */
    struct mq_fd_watch *listen_watch;
    struct mq_fd_watch *io_watch;   /* client or pty master while connected */
    struct mq_notifier *out_kick;
    struct mq_notifier *space_kick;
    struct mq_timer *pty_timer;
    /* Output queue: a ring of MQ_CHARDEV_OUT_QUEUE bytes. */
    pthread_mutex_t out_lock;
    uint8_t *out_buf;
    size_t out_head, out_len;
    bool connected;                 /* output is accepted */
    bool want_write;                /* loop: the last write would block */
    /* Input not yet taken by the device (loop thread). */
    uint8_t in_buf[IN_BUF];
    size_t in_len;
    bool in_paused;
    struct mq_chardev_stats stats;  /* atomic counters */
};

#define STAT_ADD(c, field, v) __atomic_fetch_add(&(c)->stats.field, (v), __ATOMIC_RELAXED)

static void errf(char *err, size_t errlen, const char *fmt, ...) MQ_PRINTF(3, 4);

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- output ---- */

static void set_connected(struct mq_chardev *c, bool connected)
{
    pthread_mutex_lock(&c->out_lock);
    c->connected = connected;
    if (!connected) {
        /* What was queued for the last reader is nobody's now. */
        STAT_ADD(c, out_dropped, c->out_len);
        c->out_head = c->out_len = 0;
    }
    pthread_mutex_unlock(&c->out_lock);
}

static void update_events(struct mq_chardev *c)
{
    unsigned ev = (c->in_paused ? 0 : MQ_EV_READ) | (c->want_write ? MQ_EV_WRITE : 0);

    if (c->io_watch && c->kind != CHR_FILE)
        mq_fd_watch_set_events(c->io_watch, ev);
}

static ssize_t write_some(struct mq_chardev *c, const uint8_t *buf, size_t len)
{
    /* A socket whose client went away must give EPIPE, not kill the VM with SIGPIPE. */
    if (c->kind == CHR_SOCKET)
        return send(c->io_fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    return write(c->io_fd, buf, len);
}

static void hangup(struct mq_chardev *c);

/*
 * Write out the queue (loop thread, or the writer itself without a loop).
 * The bytes [head, head + len) are stable without the lock: writers only
 * append past them and only this function consumes.
 */
static void flush_out(struct mq_chardev *c)
{
    for (;;) {
        const uint8_t *p;
        size_t n;
        ssize_t w;

        pthread_mutex_lock(&c->out_lock);
        n = MQ_MIN(c->out_len, MQ_CHARDEV_OUT_QUEUE - c->out_head);
        p = c->out_buf + c->out_head;
        pthread_mutex_unlock(&c->out_lock);
        if (n == 0 || c->io_fd < 0)
            break;
        w = write_some(c, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->want_write) {
                c->want_write = true;
                update_events(c);
            }
            return;
        }
        if (w <= 0) {
            if (c->kind == CHR_FILE) {
                mq_log(MQ_LOG_WARN, SUBSYS, "%s: writing %s failed: %s; output dropped",
                       c->name, c->path, w < 0 ? strerror(errno) : "no progress");
                set_connected(c, false);
            } else {
                hangup(c);
            }
            return;
        }
        STAT_ADD(c, out_bytes, (uint64_t)w);
        pthread_mutex_lock(&c->out_lock);
        c->out_head = (c->out_head + (size_t)w) % MQ_CHARDEV_OUT_QUEUE;
        c->out_len -= (size_t)w;
        if (c->out_len == 0)
            c->out_head = 0;
        pthread_mutex_unlock(&c->out_lock);
    }
    if (c->want_write) {
        c->want_write = false;
        update_events(c);
    }
}

static void on_out_kick(void *opaque)
{
    flush_out(opaque);
}

void mq_chardev_write(struct mq_chardev *c, const uint8_t *buf, size_t len)
{
    size_t n = 0, tail, first;
    bool was_empty;

    if (!c || !len)
        return;
    pthread_mutex_lock(&c->out_lock);
    if (c->connected) {
        n = MQ_MIN(len, MQ_CHARDEV_OUT_QUEUE - c->out_len);
        tail = (c->out_head + c->out_len) % MQ_CHARDEV_OUT_QUEUE;
        first = MQ_MIN(n, MQ_CHARDEV_OUT_QUEUE - tail);
        memcpy(c->out_buf + tail, buf, first);
        memcpy(c->out_buf, buf + first, n - first);
    }
    was_empty = c->out_len == 0;
    c->out_len += n;
    pthread_mutex_unlock(&c->out_lock);
    if (n < len)
        STAT_ADD(c, out_dropped, len - n);
    if (!n || !was_empty)
        return;
    if (c->out_kick)
        mq_notifier_kick(c->out_kick);
    else if (c->kind == CHR_FILE)
        flush_out(c); /* no loop: a file is written at once (tests, tools) */
}

/* ---- input ---- */

/* Offer pending input to the device; true when all of it was taken. */
static bool deliver_pending(struct mq_chardev *c)
{
    size_t n;

    if (!c->in_len)
        return true;
    n = c->hooks.deliver ? c->hooks.deliver(c->hooks.opaque, c->in_buf, c->in_len) : c->in_len;
    n = MQ_MIN(n, c->in_len);
    memmove(c->in_buf, c->in_buf + n, c->in_len - n);
    c->in_len -= n;
    return c->in_len == 0;
}

static void on_io_read(void *opaque, int fd)
{
    struct mq_chardev *c = opaque;
    ssize_t n;

    if (c->in_paused) {
        /* Reading is off: only a hangup or an error wakes us (epoll always reports those). */
        hangup(c);
        return;
    }
    n = read(fd, c->in_buf, sizeof(c->in_buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0) {
        /* EOF on a socket, EIO on a pty master whose slave closed. */
        hangup(c);
        return;
    }
    STAT_ADD(c, in_bytes, (uint64_t)n);
    c->in_len = (size_t)n;
    if (!deliver_pending(c)) {
        c->in_paused = true;
        update_events(c);
    }
}

static void on_io_write(void *opaque, int fd)
{
    flush_out(opaque);
}

static void on_space(void *opaque)
{
    struct mq_chardev *c = opaque;

    if (c->in_paused && deliver_pending(c)) {
        c->in_paused = false;
        update_events(c);
    }
}

void mq_chardev_input_space(struct mq_chardev *c)
{
    if (c && c->space_kick)
        mq_notifier_kick(c->space_kick);
}

/* ---- connections ---- */

static unsigned io_events(const struct mq_chardev *c)
{
    return (c->in_paused ? 0 : MQ_EV_READ) | (c->want_write ? MQ_EV_WRITE : 0);
}

static int start_io(struct mq_chardev *c)
{
    int ret;

    c->want_write = false;
    ret = mq_event_loop_add_fd(c->loop, c->io_fd, io_events(c), on_io_read, on_io_write, c,
                               &c->io_watch);
    if (ret)
        return ret;
    set_connected(c, true);
    return 0;
}

/* The reader went away (loop thread). */
static void hangup(struct mq_chardev *c)
{
    set_connected(c, false);
    mq_fd_watch_remove(c->io_watch);
    c->io_watch = NULL;
    c->want_write = false;
    if (c->kind == CHR_SOCKET) {
        close(c->io_fd);
        c->io_fd = -1;
        mq_log(MQ_LOG_INFO, SUBSYS, "%s: client of %s disconnected", c->name, c->path);
    } else if (c->kind == CHR_PTY) {
        /* Keep the master; look for a new reader from time to time. */
        mq_timer_arm(c->pty_timer, PTY_POLL_NS, PTY_POLL_NS);
    }
}

static void on_accept(void *opaque, int fd)
{
    struct mq_chardev *c = opaque;
    int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    int ret;

    if (cfd < 0)
        return; /* EAGAIN, or the client gave up already */
    if (c->io_fd >= 0) {
        static const char busy[] = "maquina: console already in use\r\n";
        ssize_t r = send(cfd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)r;
        close(cfd);
        return;
    }
    c->io_fd = cfd;
    ret = start_io(c);
    if (ret) {
        mq_log(MQ_LOG_WARN, SUBSYS, "%s: cannot watch the client of %s: %s", c->name, c->path,
               strerror(-ret));
        close(cfd);
        c->io_fd = -1;
        return;
    }
    mq_log(MQ_LOG_INFO, SUBSYS, "%s: client connected to %s", c->name, c->path);
}

/* A pty master reports POLLHUP while nobody has the slave open. */
static bool pty_has_reader(int master)
{
    struct pollfd p = {.fd = master, .events = POLLIN};

    return poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP);
}

static void on_pty_timer(void *opaque)
{
    struct mq_chardev *c = opaque;

    if (c->io_watch || !pty_has_reader(c->io_fd))
        return;
    if (start_io(c) == 0)
        mq_timer_cancel(c->pty_timer);
}

/* ---- opening ---- */

static int open_file(struct mq_chardev *c, const char *path, char *err, size_t errlen)
{
    c->io_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (c->io_fd < 0) {
        int e = errno;
        errf(err, errlen, "%s: cannot open %s: %s", c->name, path, strerror(e));
        return -e;
    }
    c->connected = true;
    return 0;
}

static int bind_socket(struct mq_chardev *c, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int e;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        errf(err, errlen, "%s: socket path %s longer than %zu bytes", c->name, path,
             sizeof(sa.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (lstat(path, &st) == 0) {
        /* A socket left by an earlier run is replaced; anything else is kept. */
        if (!S_ISSOCK(st.st_mode)) {
            errf(err, errlen, "%s: %s exists and is not a socket", c->name, path);
            return -EEXIST;
        }
        unlink(path);
    }
    c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->listen_fd < 0)
        goto fail;
    /*
     * Linux creates the socket file with the socket inode's mode (less
     * umask): make it 0600 before bind so no other user can connect in
     * the window before the chmod.
     */
    if (fchmod(c->listen_fd, 0600) != 0 ||
        bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        goto fail;
    if (chmod(path, 0600) != 0 || listen(c->listen_fd, 1) != 0) {
        e = errno;
        unlink(path);
        errno = e;
        goto fail;
    }
    return 0;

fail:
    e = errno;
    errf(err, errlen, "%s: cannot listen on %s: %s", c->name, path, strerror(e));
    return -e;
}

struct start_arg {
    struct mq_chardev *c;
    int ret;
};

static void start_on_loop(void *opaque)
{
    struct start_arg *a = opaque;
    struct mq_chardev *c = a->c;

    if (c->kind == CHR_SOCKET) {
        a->ret = mq_event_loop_add_fd(c->loop, c->listen_fd, MQ_EV_READ, on_accept, NULL, c,
                                      &c->listen_watch);
        return;
    }
    /* pty: look for a reader at once, then periodically until one is found. */
    a->ret = mq_timer_create(c->loop, on_pty_timer, c, &c->pty_timer);
    if (!a->ret)
        a->ret = mq_timer_arm(c->pty_timer, 0, PTY_POLL_NS);
}

/*
 * Install the socket's or pty's watch from the loop thread, so the loop's
 * callbacks are ordered after every field the opener set (epoll itself
 * gives no such ordering to the sanitizers).
 */
static int start_loop_io(struct mq_chardev *c)
{
    struct start_arg a = {c, 0};

    mq_event_loop_call_sync(c->loop, start_on_loop, &a);
    return a.ret;
}

static int open_socket(struct mq_chardev *c, const char *path, char *err, size_t errlen)
{
    int ret = bind_socket(c, path, err, errlen);

    if (ret)
        return ret;
    ret = start_loop_io(c);
    if (ret) {
        unlink(path);
        errf(err, errlen, "%s: cannot watch %s: %s", c->name, path, strerror(-ret));
    }
    return ret;
}

static int open_pty(struct mq_chardev *c, char *err, size_t errlen)
{
    char slave[128], line[192];
    struct termios t;
    int ret;

    c->io_fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (c->io_fd < 0 || grantpt(c->io_fd) != 0 || unlockpt(c->io_fd) != 0 ||
        ptsname_r(c->io_fd, slave, sizeof(slave)) != 0)
        goto fail;
    /* Raw: the guest's line discipline does echo and CR/LF already. */
    if (tcgetattr(c->io_fd, &t) != 0)
        goto fail;
    cfmakeraw(&t);
    if (tcsetattr(c->io_fd, TCSANOW, &t) != 0)
        goto fail;
    c->path = strdup(slave);
    if (!c->path) {
        errno = ENOMEM;
        goto fail;
    }
    ret = start_loop_io(c);
    if (ret) {
        errf(err, errlen, "%s: pty timer: %s", c->name, strerror(-ret));
        return ret;
    }
    snprintf(line, sizeof(line), "maquina: %s is %s", c->name, slave);
    if (c->hooks.notice)
        c->hooks.notice(c->hooks.opaque, line);
    else
        fprintf(stderr, "%s\n", line);
    return 0;

fail:
    ret = -errno;
    errf(err, errlen, "%s: cannot create a pty: %s", c->name, strerror(-ret));
    return ret;
}

static int open_kind(struct mq_chardev *c, const char *spec, char *err, size_t errlen)
{
    if (!strcmp(spec, "none")) {
        c->kind = CHR_NONE;
        return 0;
    }
    if (!strncmp(spec, "file:", 5) && spec[5]) {
        c->kind = CHR_FILE;
        c->path = strdup(spec + 5);
        return c->path ? open_file(c, c->path, err, errlen) : -ENOMEM;
    }
    if (!strncmp(spec, "socket:", 7) && spec[7]) {
        c->kind = CHR_SOCKET;
        if (!c->loop)
            goto need_loop;
        c->path = strdup(spec + 7);
        return c->path ? open_socket(c, c->path, err, errlen) : -ENOMEM;
    }
    if (!strcmp(spec, "pty")) {
        c->kind = CHR_PTY;
        if (!c->loop)
            goto need_loop;
        return open_pty(c, err, errlen);
    }
    errf(err, errlen, "%s: unknown backend '%s' (use none, file:PATH, socket:PATH or pty)",
         c->name, spec);
    return -EINVAL;

need_loop:
    errf(err, errlen, "%s: %s needs an event loop", c->name, spec);
    return -EINVAL;
}

int mq_chardev_open(const char *spec, struct mq_event_loop *loop,
                    const struct mq_chardev_hooks *hooks, struct mq_chardev **out, char *err,
                    size_t errlen)
{
    struct mq_chardev *c = calloc(1, sizeof(*c));
    int ret;

    *out = NULL;
    if (!c) {
        errf(err, errlen, "chardev: out of memory");
        return -ENOMEM;
    }
    if (hooks)
        c->hooks = *hooks;
    c->name = c->hooks.name ? c->hooks.name : "chardev";
    c->loop = loop;
    c->listen_fd = c->io_fd = -1;
    pthread_mutex_init(&c->out_lock, NULL);
    c->out_buf = malloc(MQ_CHARDEV_OUT_QUEUE);
    if (!c->out_buf || !spec) {
        ret = c->out_buf ? -EINVAL : -ENOMEM;
        errf(err, errlen, "chardev: %s", strerror(-ret));
        goto fail;
    }
    if (loop) {
        ret = mq_notifier_create(loop, on_out_kick, c, &c->out_kick);
        if (!ret)
            ret = mq_notifier_create(loop, on_space, c, &c->space_kick);
        if (ret) {
            errf(err, errlen, "%s: %s", c->name, strerror(-ret));
            goto fail;
        }
    }
    ret = open_kind(c, spec, err, errlen);
    if (ret)
        goto fail;
    *out = c;
    return 0;

fail:
    mq_chardev_close(c);
    return ret;
}

const char *mq_chardev_path(const struct mq_chardev *c)
{
    return c && (c->kind == CHR_SOCKET || c->kind == CHR_PTY) ? c->path : NULL;
}

void mq_chardev_get_stats(struct mq_chardev *c, struct mq_chardev_stats *out)
{
    out->out_bytes = __atomic_load_n(&c->stats.out_bytes, __ATOMIC_RELAXED);
    out->out_dropped = __atomic_load_n(&c->stats.out_dropped, __ATOMIC_RELAXED);
    out->in_bytes = __atomic_load_n(&c->stats.in_bytes, __ATOMIC_RELAXED);
}

/*
 * On the loop thread, so no callback of c is running (a hangup may be
 * removing io_watch); after it no callback of c runs any more.
 */
static void stop_loop_io(void *opaque)
{
    struct mq_chardev *c = opaque;

    mq_fd_watch_remove(c->listen_watch);
    mq_fd_watch_remove(c->io_watch);
    mq_timer_destroy(c->pty_timer);
    mq_notifier_destroy(c->out_kick);
    mq_notifier_destroy(c->space_kick);
    c->listen_watch = c->io_watch = NULL;
    c->pty_timer = NULL;
    c->out_kick = c->space_kick = NULL;
}

void mq_chardev_close(struct mq_chardev *c)
{
    if (!c)
        return;
    if (c->loop)
        mq_event_loop_call_sync(c->loop, stop_loop_io, c);
    else
        stop_loop_io(c);
    if (c->kind == CHR_FILE && c->io_fd >= 0 && c->out_buf)
        flush_out(c); /* the end of the guest's output is worth the wait */
    if (c->io_fd >= 0)
        close(c->io_fd);
    if (c->listen_fd >= 0) {
        close(c->listen_fd);
        unlink(c->path);
    }
    pthread_mutex_destroy(&c->out_lock);
    free(c->out_buf);
    free(c->path);
    free(c);
}
