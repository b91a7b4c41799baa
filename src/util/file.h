/* SPDX-License-Identifier: MIT */
/* Whole-file reads for images the user names (firmware, kernel, initrd). */
#ifndef MQ_UTIL_FILE_H
#define MQ_UTIL_FILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Read all of path into a new malloc'd buffer. Files larger than max_len
 * are refused with -EFBIG. On error returns -errno and writes a one-line
 * reason naming the file into err.
 */
int mq_read_file(const char *path, uint64_t max_len, uint8_t **data, size_t *len,
                 char *err, size_t errlen);

#endif
