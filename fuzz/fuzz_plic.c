/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the PLIC register decoder: random accesses to every
 * region (priorities, pending, enables, thresholds, claim/complete, holes)
 * interleaved with source level changes, checking that a claim returns a
 * valid source exactly when the context's output is high.
 *
 * Input: records of an opcode byte and operands:
 *   op & 3 == 0  read:  region selector and index (3 bytes)
 *   op & 3 == 1  write: region selector and index (3 bytes), value (4 bytes)
 *   op & 3 == 2  set source level: source (1 byte), level = op bit 2
 *   op & 3 == 3  claim check on context (op >> 2) & 7, or reset when op == 0xff
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "hw/plic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(c)                                                         \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

#define NSRC 96
#define NCTX 4

struct input {
    const uint8_t *p;
    size_t left;
};

static uint8_t next_byte(struct input *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

static bool ctx_level[NCTX];

static void ctx_irq(void *opaque, unsigned ctx, bool level)
{
    (void)opaque;
    FUZZ_ASSERT(ctx < NCTX);
    FUZZ_ASSERT(ctx_level[ctx] != level);
    ctx_level[ctx] = level;
}

/* An aligned offset in one of the PLIC regions, including ones just past
 * the implemented sources and contexts. */
static uint64_t pick_offset(struct input *in)
{
    uint8_t sel = next_byte(in);
    unsigned idx = next_byte(in) | (unsigned)next_byte(in) << 8;

    switch (sel & 7) {
    case 0:
        return 4u * (idx % 1024);
    case 1:
        return 0x1000u + 4u * (idx % 32);
    case 2:
        return 0x2000u + 0x80u * ((idx >> 5) % (NCTX + 2)) + 4u * (idx % 32);
    case 3:
        return 0x200000u + 0x1000u * ((idx >> 2) % (NCTX + 2)) + 4u * (idx % 4);
    case 4:
        return 0x200000u + 0x1000u * ((idx >> 10) % (NCTX + 2)) + 4u * (idx % 1024);
    default:
        /* Anywhere in the 64 MiB window QEMU's virt board maps. */
        return (((uint64_t)sel << 18 | (uint64_t)idx << 2) % MQ_PLIC_REGION_SIZE) & ~3ull;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};
    struct mq_plic *p;

    for (unsigned c = 0; c < NCTX; c++)
        ctx_level[c] = false;
    p = mq_plic_create(NSRC, NCTX, ctx_irq, NULL);
    if (!p)
        return 0;
    while (in.left) {
        uint8_t op = next_byte(&in);
        uint64_t off, v = 0;

        switch (op & 3) {
        case 0:
            off = pick_offset(&in);
            FUZZ_ASSERT(mq_plic_ops.read(p, off, 4, &v) == 0);
            FUZZ_ASSERT(v <= UINT32_MAX);
            break;
        case 1:
            off = pick_offset(&in);
            for (unsigned i = 0; i < 4; i++)
                v |= (uint64_t)next_byte(&in) << (8 * i);
            FUZZ_ASSERT(mq_plic_ops.write(p, off, 4, v) == 0);
            break;
        case 2:
            mq_plic_set_irq(p, next_byte(&in), op & 4);
            break;
        default:
            if (op == 0xff) {
                mq_plic_ops.reset(p);
                for (unsigned c = 0; c < NCTX; c++)
                    FUZZ_ASSERT(!ctx_level[c]);
                break;
            }
            unsigned ctx = (op >> 2) % NCTX;
            bool was = ctx_level[ctx];
            FUZZ_ASSERT(mq_plic_ops.read(p, 0x200004u + 0x1000u * ctx, 4, &v) == 0);
            FUZZ_ASSERT(v < NSRC);
            FUZZ_ASSERT((v != 0) == was);
            break;
        }
    }
    mq_plic_ops.destroy(p);
    return 0;
}
