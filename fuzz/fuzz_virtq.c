/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the split virtqueue walker (virtio 1.2 section 2.7):
 * random ring contents and ring addresses in a small guest RAM, popped,
 * copied and pushed; every chain handed out must lie inside RAM.
 *
 * Input: 12 bytes of parameters (see struct params), then guest RAM.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/le.h"
#include "util/log.h"
#include "virtio/virtqueue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_BASE 0x80000000ull
#define RAM_SIZE 0x10000ull
#define PARAM_BYTES 12
#define MAX_CAP 256

static struct mq_guest_mem gm;
static uint8_t copybuf[RAM_SIZE];

/* Harness invariant checks: a failure here is a bug in the code under test. */
#define INVARIANT(c)                                                           \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

static void check_chain(const struct mq_virtq_chain *c)
{
    uint64_t rlen = 0, wlen = 0;

    INVARIANT(c->nsegs <= c->cap);
    INVARIANT(c->nread <= c->nsegs);
    for (unsigned i = 0; i < c->nsegs; i++) {
        const struct mq_virtq_seg *s = &c->segs[i];
        INVARIANT(mq_guest_mem_contains(&gm, s->gpa, s->len));
        INVARIANT(s->write == (i >= c->nread));
        if (s->write)
            wlen += s->len;
        else
            rlen += s->len;
    }
    INVARIANT(rlen == c->read_len && wlen == c->write_len);
}

/* Ring address: an offset into RAM, or (high bit) somewhere else entirely. */
static uint64_t ring_addr(const uint8_t *p)
{
    uint16_t v = mq_get_le16(p);

    if (v & 0x8000)
        return (uint64_t)(v & 0x7fff) << 20;
    return RAM_BASE + (v & 0x7fff) * 2ull;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mq_virtq_seg segs[MAX_CAP];
    struct mq_virtq_chain chain = {.segs = segs};
    struct mq_virtq q;
    uint32_t qsize;
    int ret;

    if (!gm.host) {
        mq_log_set_level(MQ_LOG_ERROR);
        if (mq_guest_mem_init(&gm, RAM_BASE, RAM_SIZE))
            abort();
    }
    if (size < PARAM_BYTES)
        return 0;
    memset(gm.host, 0, RAM_SIZE);
    memcpy(gm.host, data + PARAM_BYTES, MQ_MIN(size - PARAM_BYTES, RAM_SIZE));

    /* data[0]: log2 size (low 4 bits, up to 32768), event idx, indirect. */
    qsize = 1u << (data[0] & 15);
    chain.cap = (unsigned)data[1] + 1;
    ret = mq_virtq_setup(&q, &gm, qsize, ring_addr(data + 2), ring_addr(data + 4),
                         ring_addr(data + 6), data[0] & 0x40, data[0] & 0x80);
    if (ret)
        return 0;
    q.last_avail_idx = q.used_idx = mq_get_le16(data + 8);

    /* Pop until empty or broken, bounded: at most qsize chains can be pending. */
    for (uint32_t n = 0; n <= qsize; n++) {
        ret = mq_virtq_pop(&q, &gm, &chain);
        if (ret <= 0) {
            INVARIANT(ret == 0 || q.broken);
            break;
        }
        check_chain(&chain);
        INVARIANT(chain.head < qsize);
        /* Copy through the chain at an input-chosen offset. */
        uint64_t off = data[10] % (chain.read_len + 1u);
        uint64_t len = MQ_MIN(chain.read_len - off, (uint64_t)sizeof(copybuf));
        INVARIANT(mq_virtq_chain_read(&gm, &chain, off, copybuf, len) == 0);
        off = data[11] % (chain.write_len + 1u);
        len = MQ_MIN(chain.write_len - off, (uint64_t)sizeof(copybuf));
        INVARIANT(mq_virtq_chain_write(&gm, &chain, off, copybuf, len) == 0);
        INVARIANT(mq_virtq_chain_read(&gm, &chain, 0, copybuf, chain.read_len + 1ull) ==
                  -ERANGE);
        INVARIANT(mq_virtq_push(&q, &gm, chain.head, chain.write_len) == 0);
        mq_virtq_should_notify(&q, &gm);
    }
    if (q.broken)
        INVARIANT(mq_virtq_pop(&q, &gm, &chain) == -EIO);
    return 0;
}
