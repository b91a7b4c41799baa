/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the CLINT register decoder: random 32- and 64-bit
 * accesses anywhere in its 64 KiB window, checking that mtimecmp reads
 * back what the hart was last told and msip stays a single bit.
 *
 * Input: records of an opcode byte and operands:
 *   op & 3 == 0  read:  offset (2 bytes), size = op bit 2 ? 8 : 4
 *   op & 3 == 1  write: offset (2 bytes), value (8 bytes), size as above
 *   op & 3 == 2  check mtimecmp and msip of hart (op >> 2) % NHARTS
 *   op & 3 == 3  reset
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "hw/aclint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(c)                                                         \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

#define NHARTS 5

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

static uint64_t hart_cmp[NHARTS];
static bool hart_msip[NHARTS];

static void set_msip(void *opaque, unsigned hart, bool level)
{
    (void)opaque;
    FUZZ_ASSERT(hart < NHARTS);
    hart_msip[hart] = level;
}

static void set_mtimecmp(void *opaque, unsigned hart, uint64_t value)
{
    (void)opaque;
    FUZZ_ASSERT(hart < NHARTS);
    hart_cmp[hart] = value;
}

static uint64_t rd(struct mq_aclint *c, uint64_t off, unsigned size)
{
    uint64_t v = 0;

    FUZZ_ASSERT(mq_aclint_ops.read(c, off, size, &v) == 0);
    FUZZ_ASSERT(size == 8 || v <= UINT32_MAX);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};
    struct mq_timebase tb;
    struct mq_aclint *c;

    mq_timebase_init(&tb, 10000000);
    for (unsigned h = 0; h < NHARTS; h++) {
        hart_cmp[h] = UINT64_MAX;
        hart_msip[h] = false;
    }
    c = mq_aclint_create(&tb, NHARTS, set_msip, set_mtimecmp, NULL);
    if (!c)
        return 0;
    while (in.left) {
        uint8_t op = next_byte(&in);
        unsigned sz = (op & 4) ? 8 : 4;
        uint64_t off, v = 0;
        unsigned h;

        switch (op & 3) {
        case 0:
            off = (next_byte(&in) | (uint64_t)next_byte(&in) << 8) & ~(uint64_t)(sz - 1);
            rd(c, off, sz);
            break;
        case 1:
            off = (next_byte(&in) | (uint64_t)next_byte(&in) << 8) & ~(uint64_t)(sz - 1);
            for (unsigned i = 0; i < 8; i++)
                v |= (uint64_t)next_byte(&in) << (8 * i);
            FUZZ_ASSERT(mq_aclint_ops.write(c, off, sz, v) == 0);
            break;
        case 2:
            h = (op >> 2) % NHARTS;
            FUZZ_ASSERT(rd(c, 0x4000u + 8u * h, 8) == hart_cmp[h]);
            FUZZ_ASSERT(rd(c, 4u * h, 4) == hart_msip[h]);
            break;
        default:
            mq_aclint_ops.reset(c);
            for (h = 0; h < NHARTS; h++)
                FUZZ_ASSERT(hart_cmp[h] == UINT64_MAX && !hart_msip[h]);
            break;
        }
    }
    mq_aclint_ops.destroy(c);
    return 0;
}
