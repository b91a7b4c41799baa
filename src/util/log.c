/* SPDX-License-Identifier: MIT */
/* Logging to stderr with per-site rate limiting. */
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "util/clock.h"

static enum mq_log_level log_level = MQ_LOG_WARN;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void mq_log_set_level(enum mq_log_level level)
{
    log_level = level;
}

enum mq_log_level mq_log_get_level(void)
{
    return log_level;
}

MQ_PRINTF(3, 0)
static void log_v(const char *subsys, unsigned suppressed, const char *fmt,
                  va_list ap)
{
    char msg[1024];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "maquina: %s: %s", subsys, msg);
    if (suppressed)
        fprintf(stderr, " (%u similar messages suppressed)", suppressed);
    fputc('\n', stderr);
    pthread_mutex_unlock(&log_lock);
}

void mq_log(enum mq_log_level level, const char *subsys, const char *fmt, ...)
{
    va_list ap;

    if (level > log_level)
        return;
    va_start(ap, fmt);
    log_v(subsys, 0, fmt, ap);
    va_end(ap);
}

#define RATELIMIT_BURST 10
#define RATELIMIT_INTERVAL_NS 5000000000ull

void mq_log_ratelimited(struct mq_ratelimit *rl, enum mq_log_level level,
                        const char *subsys, const char *fmt, ...)
{
    uint64_t now = mq_clock_monotonic_ns();
    uint64_t start = __atomic_load_n(&rl->window_start_ns, __ATOMIC_RELAXED);
    unsigned suppressed;
    va_list ap;

    if (level > log_level)
        return;
    /* Several threads may share one site: the counters are atomic. */
    if (now - start > RATELIMIT_INTERVAL_NS &&
        __atomic_compare_exchange_n(&rl->window_start_ns, &start, now, false,
                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        __atomic_store_n(&rl->printed, 0, __ATOMIC_RELAXED);
    if (__atomic_fetch_add(&rl->printed, 1, __ATOMIC_RELAXED) >= RATELIMIT_BURST) {
        __atomic_fetch_add(&rl->suppressed, 1, __ATOMIC_RELAXED);
        return;
    }
    suppressed = __atomic_exchange_n(&rl->suppressed, 0, __ATOMIC_RELAXED);
    va_start(ap, fmt);
    log_v(subsys, suppressed, fmt, ap);
    va_end(ap);
}
