/* SPDX-License-Identifier: MIT */
/*
 * The VM's I/O thread: an epoll loop with fd watches, cross-thread
 * notifiers (eventfd), timers (timerfd) and calls run on the loop thread.
 *
 * Threading: every function here may be called from any thread unless it
 * says otherwise. Callbacks run on the loop thread (the thread started by
 * mq_event_loop_start(), or the caller of mq_event_loop_run_once() when the
 * loop is not started), one at a time, so state touched only by callbacks
 * of one loop needs no lock.
 *
 * Removal: after mq_fd_watch_remove(), mq_notifier_destroy() or
 * mq_timer_destroy() returns, the callback is not running and will not run
 * again (when called from a callback of the same loop, the callback being
 * removed may be the one running; it is freed after it returns).
 */
#ifndef MQ_UTIL_EVENT_LOOP_H
#define MQ_UTIL_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct mq_event_loop;
struct mq_fd_watch;
struct mq_notifier;
struct mq_timer;

typedef void mq_event_fn(void *opaque);
typedef void mq_event_fd_fn(void *opaque, int fd);

/* Create a loop (not yet running). 0 or -errno. */
int mq_event_loop_create(struct mq_event_loop **out);

/*
 * Stop the loop if running and free it. Every watch, notifier and timer
 * must have been removed first; queued calls that never ran are dropped.
 * Not from the loop thread. NULL is allowed.
 */
void mq_event_loop_destroy(struct mq_event_loop *loop);

/* Run the loop on a new thread named name (up to 15 chars). 0 or -errno. */
int mq_event_loop_start(struct mq_event_loop *loop, const char *name);

/*
 * Stop the loop thread and wait for it. Calls queued before the stop run
 * first. -EDEADLK when called from the loop thread, -EINVAL when the loop
 * is not running, else 0.
 */
int mq_event_loop_stop(struct mq_event_loop *loop);

/*
 * For a loop that is not started (tests, single-threaded tools): wait up
 * to timeout_ms (-1: forever, 0: poll) for events and dispatch them on the
 * calling thread. Returns the number of events dispatched or -errno.
 */
int mq_event_loop_run_once(struct mq_event_loop *loop, int timeout_ms);

/* True when called from this loop's thread (or inside its run_once). */
bool mq_event_loop_in_thread(const struct mq_event_loop *loop);

/*
 * Queue fn(opaque) to run on the loop thread, in FIFO order with other
 * calls. Returns at once. 0 or -ENOMEM.
 */
int mq_event_loop_call(struct mq_event_loop *loop, mq_event_fn *fn, void *opaque);

/*
 * Run fn(opaque) on the loop thread and wait for it to finish. Runs it
 * directly when called from the loop thread or when the loop is not
 * started. Must not be called with a lock held that loop callbacks take.
 */
void mq_event_loop_call_sync(struct mq_event_loop *loop, mq_event_fn *fn, void *opaque);

#define MQ_EV_READ 1u
#define MQ_EV_WRITE 2u

/*
 * Watch fd (not owned: the caller closes it after removing the watch).
 * read_fn runs when fd is readable (or has an error or hangup) and
 * MQ_EV_READ is in events; write_fn when writable and MQ_EV_WRITE is set.
 * Either callback may be NULL. 0 or -errno.
 */
int mq_event_loop_add_fd(struct mq_event_loop *loop, int fd, unsigned events,
                         mq_event_fd_fn *read_fn, mq_event_fd_fn *write_fn,
                         void *opaque, struct mq_fd_watch **out);

/* Change which events are watched (e.g. MQ_EV_WRITE only while output is queued). */
int mq_fd_watch_set_events(struct mq_fd_watch *w, unsigned events);

/* Stop watching and free the watch. NULL is allowed. */
void mq_fd_watch_remove(struct mq_fd_watch *w);

/*
 * A notifier: any thread calls mq_notifier_kick() (cheap, lock-free,
 * async-signal-safe) and fn runs on the loop thread. Kicks coalesce: many
 * kicks before fn runs produce one call; a kick during fn produces another.
 */
int mq_notifier_create(struct mq_event_loop *loop, mq_event_fn *fn, void *opaque,
                       struct mq_notifier **out);
void mq_notifier_kick(struct mq_notifier *n);
/* NULL is allowed. */
void mq_notifier_destroy(struct mq_notifier *n);

/* A timer on CLOCK_MONOTONIC; fn runs on the loop thread when it expires. */
int mq_timer_create(struct mq_event_loop *loop, mq_event_fn *fn, void *opaque,
                    struct mq_timer **out);
/*
 * Fire after delay_ns (0 means as soon as possible), then every period_ns
 * when period_ns is nonzero. Replaces any earlier arming. 0 or -errno.
 */
int mq_timer_arm(struct mq_timer *t, uint64_t delay_ns, uint64_t period_ns);
/* Disarm. An expiry already being dispatched may still run its callback. */
void mq_timer_cancel(struct mq_timer *t);
/* NULL is allowed. */
void mq_timer_destroy(struct mq_timer *t);

#endif
