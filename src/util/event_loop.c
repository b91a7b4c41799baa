/* SPDX-License-Identifier: MIT */
/* The VM's I/O thread: epoll dispatch of fd watches, eventfd notifiers, timerfd timers and queued calls. */
#include "util/event_loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "util/log.h"

enum source_kind { SRC_WAKE, SRC_FD, SRC_NOTIFIER, SRC_TIMER };

/*
 * One epoll registration. epoll_event.data.ptr points here, so a source is
 * freed only by the loop thread after the current batch of events has been
 * dispatched (a removed source is marked dead and parked on loop->dead).
 */
struct source {
    enum source_kind kind;
    int fd;
    bool dead;
    struct mq_event_loop *loop;
    mq_event_fd_fn *read_fn;
    mq_event_fd_fn *write_fn;
    mq_event_fn *fn;
    void *opaque;
    struct source *next_dead;
};

struct mq_fd_watch {
    struct source src;
};

struct mq_notifier {
    struct source src;
};

struct mq_timer {
    struct source src;
};

struct call {
    mq_event_fn *fn;
    void *opaque;
    bool sync;
    bool done;       /* sync calls: set under loop->lock when fn returned */
    struct call *next;
};

struct mq_event_loop {
    int epfd;
    struct source wake;      /* eventfd kicked when calls are queued or stop is asked */
    pthread_mutex_t lock;    /* protects calls, running, stop_req */
    pthread_cond_t done_cond;
    struct call *calls_head, *calls_tail;
    bool running;            /* loop thread started and not yet leaving */
    bool stop_req;
    pthread_t thread;
    struct source *dead;     /* loop thread only */
};

/* The loop whose callbacks the current thread is running, if any. */
static __thread struct mq_event_loop *current_loop;

#define MAX_EVENTS 64

static void wake_loop(struct mq_event_loop *loop)
{
    uint64_t one = 1;

    /* EAGAIN means the counter is already nonzero: the loop will wake. */
    if (write(loop->wake.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        mq_warn("event_loop", "wake eventfd write failed: %s", strerror(errno));
}

static void drain_fd(int fd, uint64_t *count)
{
    uint64_t v = 0;

    *count = 0;
    if (read(fd, &v, sizeof(v)) == sizeof(v))
        *count = v;
}

int mq_event_loop_create(struct mq_event_loop **out)
{
    struct mq_event_loop *loop;
    struct epoll_event ev;
    int ret;

    loop = calloc(1, sizeof(*loop));
    if (!loop)
        return -ENOMEM;
    loop->wake.fd = -1;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        ret = -errno;
        goto err_free;
    }
    loop->wake.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->wake.fd < 0) {
        ret = -errno;
        goto err_epoll;
    }
    loop->wake.kind = SRC_WAKE;
    loop->wake.loop = loop;
    ev.events = EPOLLIN;
    ev.data.ptr = &loop->wake;
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wake.fd, &ev) < 0) {
        ret = -errno;
        goto err_wake;
    }
    pthread_mutex_init(&loop->lock, NULL);
    pthread_cond_init(&loop->done_cond, NULL);
    *out = loop;
    return 0;

err_wake:
    close(loop->wake.fd);
err_epoll:
    close(loop->epfd);
err_free:
    free(loop);
    return ret;
}

static void free_source(struct source *src)
{
    if (src->kind == SRC_NOTIFIER || src->kind == SRC_TIMER)
        close(src->fd);
    free(src);
}

static void free_dead(struct mq_event_loop *loop)
{
    while (loop->dead) {
        struct source *src = loop->dead;
        loop->dead = src->next_dead;
        free_source(src);
    }
}

/* Run every queued call; new calls queued meanwhile run in the next round. */
static void run_calls(struct mq_event_loop *loop)
{
    struct call *list;

    pthread_mutex_lock(&loop->lock);
    list = loop->calls_head;
    loop->calls_head = loop->calls_tail = NULL;
    pthread_mutex_unlock(&loop->lock);

    while (list) {
        struct call *c = list;
        list = c->next;
        c->fn(c->opaque);
        if (c->sync) {
            pthread_mutex_lock(&loop->lock);
            c->done = true;
            pthread_cond_broadcast(&loop->done_cond);
            pthread_mutex_unlock(&loop->lock);
        } else {
            free(c);
        }
    }
}

static void dispatch(struct mq_event_loop *loop, struct source *src, uint32_t events)
{
    uint64_t count;

    if (src->dead)
        return;
    switch (src->kind) {
    case SRC_WAKE:
        drain_fd(src->fd, &count);
        run_calls(loop);
        break;
    case SRC_NOTIFIER:
        drain_fd(src->fd, &count);
        if (count)
            src->fn(src->opaque);
        break;
    case SRC_TIMER:
        /* A timer cancelled after the event was queued reads nothing. */
        drain_fd(src->fd, &count);
        if (count)
            src->fn(src->opaque);
        break;
    case SRC_FD:
        if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) && src->read_fn)
            src->read_fn(src->opaque, src->fd);
        if ((events & (EPOLLOUT | EPOLLERR)) && src->write_fn && !src->dead)
            src->write_fn(src->opaque, src->fd);
        break;
    }
}

static int iterate(struct mq_event_loop *loop, int timeout_ms)
{
    struct epoll_event evs[MAX_EVENTS];
    int n;

    n = epoll_wait(loop->epfd, evs, MAX_EVENTS, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++)
        dispatch(loop, evs[i].data.ptr, evs[i].events);
    free_dead(loop);
    return n;
}

static void *loop_thread(void *opaque)
{
    struct mq_event_loop *loop = opaque;
    bool stop = false;

    current_loop = loop;
    while (!stop) {
        int ret = iterate(loop, -1);
        if (ret < 0) {
            mq_err("event_loop", "epoll_wait failed: %s", strerror(-ret));
            break;
        }
        pthread_mutex_lock(&loop->lock);
        stop = loop->stop_req;
        pthread_mutex_unlock(&loop->lock);
    }
    /*
     * Leave: after running is cleared under the lock no call can be queued
     * for this thread, so draining once more runs every call that was.
     */
    pthread_mutex_lock(&loop->lock);
    loop->running = false;
    pthread_mutex_unlock(&loop->lock);
    run_calls(loop);
    free_dead(loop);
    current_loop = NULL;
    return NULL;
}

int mq_event_loop_start(struct mq_event_loop *loop, const char *name)
{
    int ret;

    pthread_mutex_lock(&loop->lock);
    if (loop->running) {
        pthread_mutex_unlock(&loop->lock);
        return -EBUSY;
    }
    loop->running = true;
    loop->stop_req = false;
    pthread_mutex_unlock(&loop->lock);
    ret = -pthread_create(&loop->thread, NULL, loop_thread, loop);
    if (ret) {
        pthread_mutex_lock(&loop->lock);
        loop->running = false;
        pthread_mutex_unlock(&loop->lock);
        return ret;
    }
    if (name)
        pthread_setname_np(loop->thread, name);
    /* Calls queued while the loop was stopped run now. */
    wake_loop(loop);
    return 0;
}

int mq_event_loop_stop(struct mq_event_loop *loop)
{
    pthread_t thread;

    if (mq_event_loop_in_thread(loop))
        return -EDEADLK;
    pthread_mutex_lock(&loop->lock);
    if (!loop->running || loop->stop_req) {
        pthread_mutex_unlock(&loop->lock);
        return -EINVAL;
    }
    loop->stop_req = true;
    thread = loop->thread;
    pthread_mutex_unlock(&loop->lock);
    wake_loop(loop);
    pthread_join(thread, NULL);
    return 0;
}

void mq_event_loop_destroy(struct mq_event_loop *loop)
{
    if (!loop)
        return;
    mq_event_loop_stop(loop);
    while (loop->calls_head) {
        struct call *c = loop->calls_head;
        loop->calls_head = c->next;
        if (!c->sync)
            free(c);
    }
    close(loop->wake.fd);
    close(loop->epfd);
    pthread_cond_destroy(&loop->done_cond);
    pthread_mutex_destroy(&loop->lock);
    free(loop);
}

int mq_event_loop_run_once(struct mq_event_loop *loop, int timeout_ms)
{
    struct mq_event_loop *prev = current_loop;
    int ret;

    current_loop = loop;
    ret = iterate(loop, timeout_ms);
    current_loop = prev;
    return ret;
}

bool mq_event_loop_in_thread(const struct mq_event_loop *loop)
{
    return current_loop == loop;
}

static void enqueue_locked(struct mq_event_loop *loop, struct call *c)
{
    c->next = NULL;
    if (loop->calls_tail)
        loop->calls_tail->next = c;
    else
        loop->calls_head = c;
    loop->calls_tail = c;
}

int mq_event_loop_call(struct mq_event_loop *loop, mq_event_fn *fn, void *opaque)
{
    struct call *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    c->fn = fn;
    c->opaque = opaque;
    pthread_mutex_lock(&loop->lock);
    enqueue_locked(loop, c);
    pthread_mutex_unlock(&loop->lock);
    wake_loop(loop);
    return 0;
}

void mq_event_loop_call_sync(struct mq_event_loop *loop, mq_event_fn *fn, void *opaque)
{
    struct call c = {.fn = fn, .opaque = opaque, .sync = true};

    if (mq_event_loop_in_thread(loop)) {
        fn(opaque);
        return;
    }
    pthread_mutex_lock(&loop->lock);
    if (!loop->running) {
        pthread_mutex_unlock(&loop->lock);
        fn(opaque);
        return;
    }
    enqueue_locked(loop, &c);
    pthread_mutex_unlock(&loop->lock);
    wake_loop(loop);
    pthread_mutex_lock(&loop->lock);
    while (!c.done)
        pthread_cond_wait(&loop->done_cond, &loop->lock);
    pthread_mutex_unlock(&loop->lock);
}

static uint32_t epoll_mask(unsigned events)
{
    uint32_t mask = 0;

    if (events & MQ_EV_READ)
        mask |= EPOLLIN | EPOLLRDHUP;
    if (events & MQ_EV_WRITE)
        mask |= EPOLLOUT;
    return mask;
}

static int add_source(struct mq_event_loop *loop, struct source *src, uint32_t mask)
{
    struct epoll_event ev = {.events = mask, .data.ptr = src};

    src->loop = loop;
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, src->fd, &ev) < 0)
        return -errno;
    return 0;
}

/* Runs on the loop thread, or on the only thread using a stopped loop. */
static void remove_source_here(void *opaque)
{
    struct source *src = opaque;
    struct mq_event_loop *loop = src->loop;

    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, src->fd, NULL);
    src->dead = true;
    if (current_loop == loop) {
        /* Events for src may still sit in the batch being dispatched. */
        src->next_dead = loop->dead;
        loop->dead = src;
    } else {
        free_source(src);
    }
}

static void remove_source(struct source *src)
{
    mq_event_loop_call_sync(src->loop, remove_source_here, src);
}

int mq_event_loop_add_fd(struct mq_event_loop *loop, int fd, unsigned events,
                         mq_event_fd_fn *read_fn, mq_event_fd_fn *write_fn,
                         void *opaque, struct mq_fd_watch **out)
{
    struct mq_fd_watch *w;
    int ret;

    if (fd < 0)
        return -EBADF;
    w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->src.kind = SRC_FD;
    w->src.fd = fd;
    w->src.read_fn = read_fn;
    w->src.write_fn = write_fn;
    w->src.opaque = opaque;
    ret = add_source(loop, &w->src, epoll_mask(events));
    if (ret) {
        free(w);
        return ret;
    }
    *out = w;
    return 0;
}

int mq_fd_watch_set_events(struct mq_fd_watch *w, unsigned events)
{
    struct epoll_event ev = {.events = epoll_mask(events), .data.ptr = &w->src};

    if (epoll_ctl(w->src.loop->epfd, EPOLL_CTL_MOD, w->src.fd, &ev) < 0)
        return -errno;
    return 0;
}

void mq_fd_watch_remove(struct mq_fd_watch *w)
{
    if (w)
        remove_source(&w->src);
}

static int create_fd_source(struct mq_event_loop *loop, enum source_kind kind, int fd,
                            mq_event_fn *fn, void *opaque, struct source **out)
{
    struct source *src;
    int ret;

    if (fd < 0)
        return errno ? -errno : -EIO;
    /* mq_notifier and mq_timer are a bare struct source. */
    src = calloc(1, sizeof(struct mq_notifier));
    if (!src) {
        close(fd);
        return -ENOMEM;
    }
    src->kind = kind;
    src->fd = fd;
    src->fn = fn;
    src->opaque = opaque;
    ret = add_source(loop, src, EPOLLIN);
    if (ret) {
        free_source(src);
        return ret;
    }
    *out = src;
    return 0;
}

int mq_notifier_create(struct mq_event_loop *loop, mq_event_fn *fn, void *opaque,
                       struct mq_notifier **out)
{
    struct source *src = NULL;
    int ret;

    ret = create_fd_source(loop, SRC_NOTIFIER, eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
                           fn, opaque, &src);
    if (ret)
        return ret;
    *out = (struct mq_notifier *)src;
    return 0;
}

void mq_notifier_kick(struct mq_notifier *n)
{
    uint64_t one = 1;
    int saved = errno;

    /* EAGAIN: the counter is saturated, a wakeup is pending anyway. */
    if (write(n->src.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        mq_warn("event_loop", "notifier eventfd write failed: %s", strerror(errno));
    errno = saved;
}

void mq_notifier_destroy(struct mq_notifier *n)
{
    if (n)
        remove_source(&n->src);
}

int mq_timer_create(struct mq_event_loop *loop, mq_event_fn *fn, void *opaque,
                    struct mq_timer **out)
{
    struct source *src = NULL;
    int ret;

    ret = create_fd_source(loop, SRC_TIMER,
                           timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK),
                           fn, opaque, &src);
    if (ret)
        return ret;
    *out = (struct mq_timer *)src;
    return 0;
}

static struct timespec ns_to_ts(uint64_t ns)
{
    return (struct timespec){.tv_sec = (time_t)(ns / 1000000000u),
                             .tv_nsec = (long)(ns % 1000000000u)};
}

int mq_timer_arm(struct mq_timer *t, uint64_t delay_ns, uint64_t period_ns)
{
    struct itimerspec its = {
        .it_value = ns_to_ts(delay_ns ? delay_ns : 1),
        .it_interval = ns_to_ts(period_ns),
    };

    if (timerfd_settime(t->src.fd, 0, &its, NULL) < 0)
        return -errno;
    return 0;
}

void mq_timer_cancel(struct mq_timer *t)
{
    struct itimerspec its = {0};

    timerfd_settime(t->src.fd, 0, &its, NULL);
}

void mq_timer_destroy(struct mq_timer *t)
{
    if (t)
        remove_source(&t->src);
}
