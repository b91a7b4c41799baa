/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the block backends: the format-independent open path
 * (used again for backing files) and full-transfer file I/O helpers.
 */
#ifndef MQ_BLOCK_BLOCK_INT_H
#define MQ_BLOCK_BLOCK_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "block/blockdev.h"
#include "util/compiler.h"

/* Backing chains deeper than this are refused (also stops loops early). */
#define MQ_BLOCK_MAX_CHAIN 16

/* The files opened so far along one backing chain, newest first. */
struct mq_open_chain {
    dev_t dev;
    ino_t ino;
    unsigned depth;
    const struct mq_open_chain *prev;
};

int mq_block_open_chain(const char *path, const char *format, unsigned flags,
                        const struct mq_open_chain *chain, struct mq_blockdev **out,
                        char *err, size_t errlen);

/* Backends take ownership of fd (closed on failure too). */
int mq_raw_open_fd(const char *path, int fd, unsigned flags, struct mq_blockdev **out,
                   char *err, size_t errlen);
int qcow2_open_fd(const char *path, int fd, unsigned flags, const struct mq_open_chain *chain,
                  struct mq_blockdev **out, char *err, size_t errlen);

/* snprintf into err when err is non-NULL. */
void mq_block_seterr(char *err, size_t errlen, const char *fmt, ...) MQ_PRINTF(3, 4);

/*
 * pread until len bytes or end of file; returns the number of bytes read
 * (short only at end of file) or -errno. EINTR is retried.
 */
int64_t mq_pread_full(int fd, void *buf, size_t len, uint64_t off);
/* pwrite all len bytes or return -errno. */
int mq_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
/* pread exactly len bytes; -EIO when the file ends first. */
int mq_pread_exact(int fd, void *buf, size_t len, uint64_t off);

#endif
