/* SPDX-License-Identifier: MIT */
/*
 * Internal to the machine-state stream (state_writer.c, state.c): format
 * constants, field tags, name rules, checksum and error formatting shared
 * by the writer and the reader. See state.h for the format.
 */
#ifndef MQ_UTIL_STATE_INT_H
#define MQ_UTIL_STATE_INT_H

#include "util/state.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "util/le.h"

static const char state_magic[8] = "MQSTATE";

#define HEADER_BYTES 16u   /* magic, format version, flags */
#define TRAILER_BYTES 5u   /* end marker, CRC-32 */
#define SECTION_FIXED 13u  /* name length, version, payload length (name excluded) */
#define ERRMSG_BYTES 320u
/* zstd level 1: the guest is paused while RAM is saved, so speed matters most. */
#define RAM_ZSTD_LEVEL 1

enum field_tag {
    TAG_U8 = 1,
    TAG_U16 = 2,
    TAG_U32 = 3,
    TAG_U64 = 4,
    TAG_BYTES = 5,
    TAG_RAM = 6,
};

static const char *tag_name(unsigned tag)
{
    static const char *const names[] = {"?", "u8", "u16", "u32", "u64", "bytes", "RAM"};

    return tag < MQ_ARRAY_SIZE(names) ? names[tag] : "unknown field type";
}

static inline bool name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("._@:+/-", c) != NULL;
}

static inline bool name_ok(const char *name, size_t len)
{
    if (len == 0 || len > MQ_STATE_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        /* strchr would match the terminating NUL: refuse it explicitly. */
        if (name[i] == '\0' || !name_char_ok(name[i]))
            return false;
    }
    return true;
}

static inline uint32_t crc32_of(const uint8_t *p, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);

    /* zlib takes a uInt length: feed large streams in pieces. */
    while (len) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        crc = crc32(crc, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)crc;
}

static inline bool page_is_zero(const uint8_t *p)
{
    /* Blocks of 64 bytes OR-ed together: vectorizes, exits early on data. */
    for (size_t off = 0; off < MQ_STATE_PAGE_SIZE; off += 64) {
        uint64_t acc = 0, v;
        for (size_t i = 0; i < 64; i += 8) {
            memcpy(&v, p + off + i, 8);
            acc |= v;
        }
        if (acc)
            return false;
    }
    return true;
}

MQ_PRINTF(5, 0)
static inline void format_error(char *dst, const char *section, int *err, int e, const char *fmt,
                         va_list ap)
{
    int n = 0;

    if (*err)
        return;
    *err = e < 0 ? e : -EINVAL;
    if (section)
        n = snprintf(dst, ERRMSG_BYTES, "section '%s': ", section);
    if (n < 0 || (unsigned)n >= ERRMSG_BYTES)
        n = 0;
    vsnprintf(dst + n, ERRMSG_BYTES - (size_t)n, fmt, ap);
}

#endif
