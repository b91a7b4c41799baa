/* SPDX-License-Identifier: MIT */
/*
 * Logging. Every message names the subsystem and the object; guest-triggered
 * messages go through mq_log_ratelimited() so a hostile guest cannot flood
 * the host log.
 */
#ifndef MQ_UTIL_LOG_H
#define MQ_UTIL_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"

enum mq_log_level {
    MQ_LOG_ERROR,
    MQ_LOG_WARN,
    MQ_LOG_INFO,
    MQ_LOG_DEBUG,
};

/* Messages above this level are dropped. Default MQ_LOG_WARN. */
void mq_log_set_level(enum mq_log_level level);
enum mq_log_level mq_log_get_level(void);

/* Print "maquina: <subsys>: <message>\n" to stderr. Thread-safe. */
void mq_log(enum mq_log_level level, const char *subsys, const char *fmt, ...)
    MQ_PRINTF(3, 4);

/*
 * Rate limit state for one message site: at most burst messages, then one
 * per interval; the number suppressed is reported with the next one printed.
 */
struct mq_ratelimit {
    uint64_t window_start_ns;
    unsigned printed;
    unsigned suppressed;
};

void mq_log_ratelimited(struct mq_ratelimit *rl, enum mq_log_level level,
                        const char *subsys, const char *fmt, ...) MQ_PRINTF(4, 5);

#define mq_err(subsys, ...) mq_log(MQ_LOG_ERROR, subsys, __VA_ARGS__)
#define mq_warn(subsys, ...) mq_log(MQ_LOG_WARN, subsys, __VA_ARGS__)
#define mq_info(subsys, ...) mq_log(MQ_LOG_INFO, subsys, __VA_ARGS__)
#define mq_debug(subsys, ...) mq_log(MQ_LOG_DEBUG, subsys, __VA_ARGS__)

/* Rate-limited warning for guest-triggered conditions, one limiter per site. */
#define mq_guest_warn(subsys, ...)                                             \
    do {                                                                       \
        static struct mq_ratelimit mq_rl_;                                     \
        mq_log_ratelimited(&mq_rl_, MQ_LOG_WARN, subsys, __VA_ARGS__);         \
    } while (0)

#endif
