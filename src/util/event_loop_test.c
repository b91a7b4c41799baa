/* SPDX-License-Identifier: MIT */
/* Tests of the I/O thread event loop: calls, notifiers, fd watches, timers, removal and stop. */
#include "util/event_loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static unsigned load(const unsigned *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void inc(unsigned *p)
{
    __atomic_fetch_add(p, 1, __ATOMIC_ACQ_REL);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Wait up to 5 s for *p to reach want. */
static bool wait_for(const unsigned *p, unsigned want)
{
    for (int i = 0; i < 5000; i++) {
        if (load(p) >= want)
            return true;
        sleep_ms(1);
    }
    return false;
}

struct order {
    struct mq_event_loop *loop;
    unsigned seq[8];
    unsigned n;
    bool on_loop_thread;
};

static struct order ord;

static void record(void *opaque)
{
    ord.seq[ord.n++] = (unsigned)(uintptr_t)opaque;
    ord.on_loop_thread = mq_event_loop_in_thread(ord.loop);
}

static void test_calls(void)
{
    struct mq_event_loop *loop;

    CHECK(mq_event_loop_create(&loop) == 0);
    ord = (struct order){.loop = loop};
    /* Queued before start: run once the loop runs, in order. */
    CHECK(mq_event_loop_call(loop, record, (void *)1) == 0);
    CHECK(mq_event_loop_start(loop, "test-loop") == 0);
    CHECK(mq_event_loop_start(loop, "test-loop") == -EBUSY);
    CHECK(mq_event_loop_call(loop, record, (void *)2) == 0);
    mq_event_loop_call_sync(loop, record, (void *)3);
    CHECK(ord.n == 3);
    CHECK(ord.seq[0] == 1 && ord.seq[1] == 2 && ord.seq[2] == 3);
    CHECK(ord.on_loop_thread);
    CHECK(!mq_event_loop_in_thread(loop));
    /* Calls queued right before stop still run. */
    CHECK(mq_event_loop_call(loop, record, (void *)4) == 0);
    CHECK(mq_event_loop_stop(loop) == 0);
    CHECK(ord.n == 4 && ord.seq[3] == 4);
    CHECK(mq_event_loop_stop(loop) == -EINVAL);
    /* A stopped loop runs sync calls on the caller. */
    mq_event_loop_call_sync(loop, record, (void *)5);
    CHECK(ord.n == 5 && !ord.on_loop_thread);
    mq_event_loop_destroy(loop);
}

struct kick_state {
    unsigned runs;
    unsigned kicks_done;
    struct mq_notifier *n;
};

static void on_kick(void *opaque)
{
    struct kick_state *ks = opaque;
    inc(&ks->runs);
}

static void *kicker(void *opaque)
{
    struct kick_state *ks = opaque;

    for (int i = 0; i < 1000; i++)
        mq_notifier_kick(ks->n);
    inc(&ks->kicks_done);
    return NULL;
}

static void test_notifier(void)
{
    struct mq_event_loop *loop;
    struct kick_state ks = {0};
    pthread_t t[2];

    CHECK(mq_event_loop_create(&loop) == 0);
    CHECK(mq_notifier_create(loop, on_kick, &ks, &ks.n) == 0);
    /* Not started: kicks coalesce into one run of run_once. */
    mq_notifier_kick(ks.n);
    mq_notifier_kick(ks.n);
    CHECK(mq_event_loop_run_once(loop, 1000) == 1);
    CHECK(load(&ks.runs) == 1);
    CHECK(mq_event_loop_run_once(loop, 0) == 0);

    CHECK(mq_event_loop_start(loop, "test-kick") == 0);
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, kicker, &ks);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    /* At least one run after the last kick; never more runs than kicks. */
    CHECK(wait_for(&ks.runs, 2));
    mq_event_loop_call_sync(loop, on_kick, &(struct kick_state){0});
    CHECK(load(&ks.runs) <= 2001);
    mq_notifier_destroy(ks.n);
    CHECK(mq_event_loop_stop(loop) == 0);
    mq_event_loop_destroy(loop);
}

struct pipe_state {
    int fds[2];
    unsigned reads;
    unsigned writes;
    char last;
    struct mq_fd_watch *w;
};

static void on_readable(void *opaque, int fd)
{
    struct pipe_state *ps = opaque;
    char c;

    if (read(fd, &c, 1) == 1) {
        ps->last = c;
        inc(&ps->reads);
    }
}

static void on_writable(void *opaque, int fd)
{
    struct pipe_state *ps = opaque;

    inc(&ps->writes);
    /* Level-triggered: stop asking once told. */
    mq_fd_watch_set_events(__atomic_load_n(&ps->w, __ATOMIC_ACQUIRE), MQ_EV_READ);
}

static void test_fd_watch(void)
{
    struct mq_event_loop *loop;
    struct pipe_state ps = {0};
    struct mq_fd_watch *wout;

    CHECK(pipe(ps.fds) == 0);
    CHECK(mq_event_loop_create(&loop) == 0);
    CHECK(mq_event_loop_add_fd(loop, -1, MQ_EV_READ, on_readable, NULL, &ps, &ps.w) == -EBADF);
    CHECK(mq_event_loop_start(loop, "test-fd") == 0);
    CHECK(mq_event_loop_add_fd(loop, ps.fds[0], MQ_EV_READ, on_readable, NULL, &ps, &ps.w) == 0);
    CHECK(write(ps.fds[1], "x", 1) == 1);
    CHECK(wait_for(&ps.reads, 1));
    CHECK(ps.last == 'x');
    mq_fd_watch_remove(ps.w);
    /* Removed: further data is not consumed. */
    CHECK(write(ps.fds[1], "y", 1) == 1);
    sleep_ms(20);
    CHECK(load(&ps.reads) == 1);

    /* Added with no events first so ps.w is set before the callback can run. */
    CHECK(mq_event_loop_add_fd(loop, ps.fds[1], 0, NULL, on_writable, &ps, &wout) == 0);
    __atomic_store_n(&ps.w, wout, __ATOMIC_RELEASE);
    CHECK(mq_fd_watch_set_events(wout, MQ_EV_WRITE) == 0);
    CHECK(wait_for(&ps.writes, 1));
    sleep_ms(20);
    CHECK(load(&ps.writes) == 1);
    mq_fd_watch_remove(wout);
    CHECK(mq_event_loop_stop(loop) == 0);
    mq_event_loop_destroy(loop);
    close(ps.fds[0]);
    close(ps.fds[1]);
}

struct timer_state {
    unsigned fired;
    struct mq_timer *t;
    struct mq_timer *victim;
};

static void on_timer(void *opaque)
{
    struct timer_state *ts = opaque;
    inc(&ts->fired);
}

/* A callback that removes another source and itself from the loop thread. */
static void on_timer_remove(void *opaque)
{
    struct timer_state *ts = opaque;

    inc(&ts->fired);
    mq_timer_destroy(ts->victim);
    mq_timer_destroy(ts->t);
}

static void test_timers(void)
{
    struct mq_event_loop *loop;
    struct timer_state one = {0}, periodic = {0}, cancelled = {0}, remover = {0};

    CHECK(mq_event_loop_create(&loop) == 0);
    CHECK(mq_timer_create(loop, on_timer, &one, &one.t) == 0);
    CHECK(mq_timer_create(loop, on_timer, &periodic, &periodic.t) == 0);
    CHECK(mq_timer_create(loop, on_timer, &cancelled, &cancelled.t) == 0);
    CHECK(mq_timer_create(loop, on_timer_remove, &remover, &remover.t) == 0);
    remover.victim = cancelled.t;
    CHECK(mq_event_loop_start(loop, "test-timer") == 0);

    CHECK(mq_timer_arm(one.t, 2000000, 0) == 0);
    CHECK(mq_timer_arm(periodic.t, 1000000, 1000000) == 0);
    CHECK(mq_timer_arm(cancelled.t, 200000000, 0) == 0);
    mq_timer_cancel(cancelled.t);
    CHECK(wait_for(&one.fired, 1));
    CHECK(wait_for(&periodic.fired, 5));
    mq_timer_cancel(periodic.t);
    sleep_ms(20);
    unsigned p = load(&periodic.fired);
    sleep_ms(20);
    CHECK(load(&periodic.fired) == p);
    CHECK(load(&one.fired) == 1);

    /* Destroying sources from inside a callback. */
    CHECK(mq_timer_arm(remover.t, 0, 1000000) == 0);
    CHECK(wait_for(&remover.fired, 1));
    sleep_ms(20);
    CHECK(load(&remover.fired) == 1);
    CHECK(load(&cancelled.fired) == 0);

    mq_timer_destroy(one.t);
    mq_timer_destroy(periodic.t);
    CHECK(mq_event_loop_stop(loop) == 0);
    mq_event_loop_destroy(loop);
}

static void try_stop_inside(void *opaque)
{
    struct mq_event_loop *loop = opaque;
    CHECK(mq_event_loop_stop(loop) == -EDEADLK);
}

static void test_stop_from_loop(void)
{
    struct mq_event_loop *loop;

    CHECK(mq_event_loop_create(&loop) == 0);
    CHECK(mq_event_loop_start(loop, "test-stop") == 0);
    mq_event_loop_call_sync(loop, try_stop_inside, loop);
    mq_event_loop_destroy(loop); /* stops it */
    mq_event_loop_destroy(NULL);
}

int main(void)
{
    test_calls();
    test_notifier();
    test_fd_watch();
    test_timers();
    test_stop_from_loop();
    if (failures) {
        fprintf(stderr, "event_loop_test: %d failures\n", failures);
        return 1;
    }
    printf("event_loop_test: ok\n");
    return 0;
}
