/* SPDX-License-Identifier: MIT */
/*
 * Test-only helpers for device save/load tests: save one device into a
 * one-section stream, load it back, and reach into a saved field to make it
 * illegal (the checksum is fixed up so the device's own checks are what
 * refuses it). Not part of any library; tests link zlib through mq_util.
 */
#ifndef MQ_UTIL_STATE_TESTUTIL_H
#define MQ_UTIL_STATE_TESTUTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/compiler.h"
#include "util/le.h"
#include "util/state.h"

#define MQT_SECTION "dev"

struct mqt_blob {
    uint8_t *data;
    size_t len;
};

/* The message of the last failed mqt_save() / mqt_load(). */
static char mqt_errmsg[512];

/* Save dev with its save op into b (freed with mqt_free). 0 or the save error. */
static MQ_UNUSED int mqt_save(int (*save)(void *dev, struct mq_state_writer *w), void *dev,
                              struct mqt_blob *b)
{
    struct mq_state_writer *w;
    const void *data;
    size_t len;
    int ret;

    b->data = NULL;
    b->len = 0;
    mqt_errmsg[0] = '\0';
    ret = mq_state_writer_create(&w);
    if (ret)
        return ret;
    ret = mq_state_begin_section(w, MQT_SECTION);
    if (!ret)
        ret = save(dev, w);
    if (!ret)
        ret = mq_state_end_section(w);
    if (!ret)
        ret = mq_state_writer_finish(w, &data, &len);
    if (!ret) {
        b->data = malloc(len);
        if (!b->data) {
            ret = -ENOMEM;
        } else {
            memcpy(b->data, data, len);
            b->len = len;
        }
    } else {
        snprintf(mqt_errmsg, sizeof(mqt_errmsg), "%s", mq_state_writer_errmsg(w));
    }
    mq_state_writer_free(w);
    return ret;
}

/* Load dev from b with its load op; every field must be consumed. 0 or the error. */
static MQ_UNUSED int mqt_load(int (*load)(void *dev, struct mq_state_reader *r), void *dev,
                              const struct mqt_blob *b)
{
    struct mq_state_reader *r;
    int ret;

    mqt_errmsg[0] = '\0';
    ret = mq_state_reader_open(b->data, b->len, &r);
    if (!ret)
        ret = mq_state_open_section(r, MQT_SECTION);
    if (!ret) {
        ret = load(dev, r);
        int close = mq_state_close_section(r);
        if (!ret)
            ret = close;
    }
    if (ret && r)
        snprintf(mqt_errmsg, sizeof(mqt_errmsg), "%s", mq_state_reader_errmsg(r));
    mq_state_reader_free(r);
    return ret;
}

static MQ_UNUSED void mqt_free(struct mqt_blob *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

static MQ_UNUSED void mqt_fix_crc(struct mqt_blob *b)
{
    mq_put_le32(b->data + b->len - 4,
                (uint32_t)crc32(crc32(0, Z_NULL, 0), b->data, (uInt)(b->len - 4)));
}

/*
 * Pointer to the value of field index (0-based) of the stream's first
 * section, and its size in bytes (for a bytes field: its payload), or NULL.
 * Write through it, then call mqt_fix_crc().
 */
static MQ_UNUSED uint8_t *mqt_field(struct mqt_blob *b, unsigned index, size_t *size)
{
    size_t pos = 16, end;
    uint8_t nlen;

    if (b->len < pos + 1)
        return NULL;
    nlen = b->data[pos];
    pos += 1 + nlen + 4;
    end = pos + 8 + (size_t)mq_get_le64(b->data + pos);
    pos += 8;
    for (unsigned i = 0; pos < end; i++) {
        uint8_t tag = b->data[pos++];
        size_t n;
        uint8_t *val = b->data + pos;

        switch (tag) {
        case 1: n = 1; break;
        case 2: n = 2; break;
        case 3: n = 4; break;
        case 4: n = 8; break;
        case 5:
            n = mq_get_le32(val);
            val += 4;
            pos += 4;
            break;
        default:
            return NULL; /* RAM fields are not walked */
        }
        if (i == index) {
            *size = n;
            return val;
        }
        pos += n;
    }
    return NULL;
}

/* Set an integer field (u8..u64) to v and fix the checksum. False when there is none. */
static MQ_UNUSED bool mqt_set(struct mqt_blob *b, unsigned index, uint64_t v)
{
    size_t n;
    uint8_t *p = mqt_field(b, index, &n);

    if (!p)
        return false;
    for (size_t i = 0; i < n && i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    mqt_fix_crc(b);
    return true;
}

/* Change the first section's version and fix the checksum. */
static MQ_UNUSED void mqt_set_version(struct mqt_blob *b, uint32_t v)
{
    mq_put_le32(b->data + 16 + 1 + b->data[16], v);
    mqt_fix_crc(b);
}

/* Save, change field index to v, load into dev: the load's result (expected to fail). */
static MQ_UNUSED int mqt_load_with(int (*load)(void *dev, struct mq_state_reader *r),
                                   void *dev, const struct mqt_blob *good, unsigned index,
                                   uint64_t v)
{
    struct mqt_blob b = {malloc(good->len), good->len};
    int ret = -ENOENT;

    if (!b.data)
        return -ENOMEM;
    memcpy(b.data, good->data, good->len);
    if (mqt_set(&b, index, v))
        ret = mqt_load(load, dev, &b);
    mqt_free(&b);
    return ret;
}

#endif
