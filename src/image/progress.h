/* SPDX-License-Identifier: MIT */
/*
 * A one-line progress bar on stderr for long copies (convert, clone,
 * export, import), drawn only when stderr is a terminal and at most ten
 * times a second. Not thread-safe: one bar per thread.
 */
#ifndef MQ_IMAGE_PROGRESS_H
#define MQ_IMAGE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"

struct mq_progress {
    const char *label;
    uint64_t total;
    uint64_t done;
    uint64_t last_draw_ns;
    bool enabled;
};

/* enabled = stderr is a terminal and show is true. p may be NULL. */
MQ_PUBLIC void mq_progress_start(struct mq_progress *p, const char *label, uint64_t total,
                                 bool show);
/* Add n bytes; redraws when due. p may be NULL. */
MQ_PUBLIC void mq_progress_add(struct mq_progress *p, uint64_t n);
/* Draw 100% (only when ok) and end the line. p may be NULL. */
MQ_PUBLIC void mq_progress_end(struct mq_progress *p, bool ok);

#endif
