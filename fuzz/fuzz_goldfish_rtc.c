/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the Goldfish RTC register decoder: random 32-bit accesses
 * (time and alarm updates, interrupt enable/acknowledge, holes) while the
 * alarm thread runs, checking that the flag registers stay single bits and
 * the interrupt line is only up while enabled.
 *
 * Input: records of an opcode byte and operands:
 *   op & 3 == 0  read:  offset (1 byte, & 0x3c, plus hole offsets)
 *   op & 3 == 1  write: offset (1 byte), value (4 bytes)
 *   op & 3 == 2  check flag registers and the line
 *   op & 3 == 3  reset
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "hw/goldfish_rtc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(c)                                                         \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

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

static bool line_level;

static void line_set(void *opaque, unsigned line, bool level)
{
    (void)opaque;
    (void)line;
    __atomic_store_n(&line_level, level, __ATOMIC_SEQ_CST);
}

static uint64_t pick_offset(struct input *in)
{
    uint8_t b = next_byte(in);

    /* Mostly the eight registers; sometimes a hole anywhere in the page. */
    return (b & 0x80) ? ((uint64_t)b << 4 & 0xffc) : (b & 0x1c);
}

static uint64_t rd(struct mq_goldfish_rtc *r, uint64_t off)
{
    uint64_t v = 0;

    FUZZ_ASSERT(mq_goldfish_rtc_ops.read(r, off, 4, &v) == 0);
    FUZZ_ASSERT(v <= UINT32_MAX);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};
    struct mq_irq irq = {.set = line_set};
    struct mq_goldfish_rtc *r;

    line_level = false;
    r = mq_goldfish_rtc_create(irq);
    if (!r)
        return 0;
    while (in.left) {
        uint8_t op = next_byte(&in);
        uint64_t off, v = 0;

        switch (op & 3) {
        case 0:
            rd(r, pick_offset(&in));
            break;
        case 1:
            off = pick_offset(&in);
            for (unsigned i = 0; i < 4; i++)
                v |= (uint64_t)next_byte(&in) << (8 * i);
            FUZZ_ASSERT(mq_goldfish_rtc_ops.write(r, off, 4, v) == 0);
            break;
        case 2: {
            uint64_t enabled = rd(r, 0x10);
            FUZZ_ASSERT(enabled <= 1 && rd(r, 0x18) <= 1);
            /* The alarm thread may raise the line, but never while disabled. */
            if (!enabled)
                FUZZ_ASSERT(!__atomic_load_n(&line_level, __ATOMIC_SEQ_CST));
            break;
        }
        default:
            mq_goldfish_rtc_ops.reset(r);
            FUZZ_ASSERT(!__atomic_load_n(&line_level, __ATOMIC_SEQ_CST));
            break;
        }
    }
    mq_goldfish_rtc_ops.destroy(r);
    return 0;
}
