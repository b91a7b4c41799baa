/* SPDX-License-Identifier: MIT */
/*
 * The A extension (unprivileged spec chapter 8): LR/SC and AMOs on guest
 * RAM, atomic across harts running on different host threads. AMOs use the
 * host's atomic instructions on the RAM mapping; LR/SC is built on a host
 * compare-and-swap against the value LR observed. Every access is
 * sequentially consistent, which satisfies any aq/rl combination.
 */
#include "cpu/riscv/exec.h"

#define RS1 (h->x[in->rs1])
#define RS2 (h->x[in->rs2])

static void note_code_write(struct rv_hart *h, uint64_t pa, unsigned size)
{
    mq_guest_mem_written(h->ram, pa, size);
}

static uint64_t do_lr(struct rv_hart *h, const struct rv_insn *in, unsigned size)
{
    uint64_t pa, val;
    void *p = rv_amo_ptr(h, RS1, size, false, &pa);

    if (!p)
        return h->pc;
    if (size == 4)
        val = rv_sext32(__atomic_load_n((uint32_t *)p, __ATOMIC_SEQ_CST));
    else
        val = __atomic_load_n((uint64_t *)p, __ATOMIC_SEQ_CST);
    h->lr_valid = true;
    h->lr_addr = pa;
    h->lr_size = size;
    h->lr_value = val;
    rv_set_x(h, in->rd, val);
    return h->pc + in->len;
}

static uint64_t do_sc(struct rv_hart *h, const struct rv_insn *in, unsigned size)
{
    uint64_t pa;
    void *p = rv_amo_ptr(h, RS1, size, true, &pa);
    bool ok = false;

    if (!p)
        return h->pc;
    if (h->lr_valid && h->lr_addr == pa && h->lr_size == size) {
        if (size == 4) {
            uint32_t expected = (uint32_t)h->lr_value;
            ok = __atomic_compare_exchange_n((uint32_t *)p, &expected, (uint32_t)RS2, false,
                                             __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        } else {
            uint64_t expected = h->lr_value;
            ok = __atomic_compare_exchange_n((uint64_t *)p, &expected, RS2, false,
                                             __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        }
        if (ok)
            note_code_write(h, pa, size);
    }
    h->lr_valid = false;
    rv_set_x(h, in->rd, ok ? 0 : 1);
    return h->pc + in->len;
}

uint64_t rv_exec_lr_w(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    return do_lr(h, in, 4);
}

uint64_t rv_exec_lr_d(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    return do_lr(h, in, 8);
}

uint64_t rv_exec_sc_w(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    return do_sc(h, in, 4);
}

uint64_t rv_exec_sc_d(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)
{
    return do_sc(h, in, 8);
}

/* min/max have no host fetch-op: compare-and-swap loop. */
#define DEF_AMO_CAS(name, type, stype, pick)                                          \
    static type name(type *p, type v)                                                 \
    {                                                                                 \
        type old = __atomic_load_n(p, __ATOMIC_SEQ_CST);                              \
        for (;;) {                                                                    \
            type a = old, b = v;                                                      \
            type next = (pick);                                                       \
            if (__atomic_compare_exchange_n(p, &old, next, false, __ATOMIC_SEQ_CST,   \
                                            __ATOMIC_SEQ_CST))                        \
                return a;                                                             \
        }                                                                             \
    }

DEF_AMO_CAS(amo_min32, uint32_t, int32_t, (int32_t)a < (int32_t)b ? a : b)
DEF_AMO_CAS(amo_max32, uint32_t, int32_t, (int32_t)a > (int32_t)b ? a : b)
DEF_AMO_CAS(amo_minu32, uint32_t, uint32_t, a < b ? a : b)
DEF_AMO_CAS(amo_maxu32, uint32_t, uint32_t, a > b ? a : b)
DEF_AMO_CAS(amo_min64, uint64_t, int64_t, (int64_t)a < (int64_t)b ? a : b)
DEF_AMO_CAS(amo_max64, uint64_t, int64_t, (int64_t)a > (int64_t)b ? a : b)
DEF_AMO_CAS(amo_minu64, uint64_t, uint64_t, a < b ? a : b)
DEF_AMO_CAS(amo_maxu64, uint64_t, uint64_t, a > b ? a : b)

#define DEF_AMO_W(name, expr)                                                         \
    uint64_t rv_exec_##name##_w(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)              \
    {                                                                                 \
        uint64_t pa;                                                                  \
        uint32_t *p = rv_amo_ptr(h, RS1, 4, true, &pa);                               \
        uint32_t v = (uint32_t)RS2;                                                   \
        if (!p)                                                                       \
            return h->pc;                                                                   \
        uint32_t old = (expr);                                                        \
        note_code_write(h, pa, 4);                                                    \
        rv_set_x(h, in->rd, rv_sext32(old));                                          \
        return pc + in->len;                                                             \
    }

#define DEF_AMO_D(name, expr)                                                         \
    uint64_t rv_exec_##name##_d(struct rv_hart *h, const struct rv_insn *in, uint64_t pc)              \
    {                                                                                 \
        uint64_t pa;                                                                  \
        uint64_t *p = rv_amo_ptr(h, RS1, 8, true, &pa);                               \
        uint64_t v = RS2;                                                             \
        if (!p)                                                                       \
            return h->pc;                                                                   \
        uint64_t old = (expr);                                                        \
        note_code_write(h, pa, 8);                                                    \
        rv_set_x(h, in->rd, old);                                                     \
        return pc + in->len;                                                             \
    }

DEF_AMO_W(amoswap, __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST))
DEF_AMO_W(amoadd, __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST))
DEF_AMO_W(amoxor, __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST))
DEF_AMO_W(amoand, __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST))
DEF_AMO_W(amoor, __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST))
DEF_AMO_W(amomin, amo_min32(p, v))
DEF_AMO_W(amomax, amo_max32(p, v))
DEF_AMO_W(amominu, amo_minu32(p, v))
DEF_AMO_W(amomaxu, amo_maxu32(p, v))
DEF_AMO_D(amoswap, __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST))
DEF_AMO_D(amoadd, __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST))
DEF_AMO_D(amoxor, __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST))
DEF_AMO_D(amoand, __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST))
DEF_AMO_D(amoor, __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST))
DEF_AMO_D(amomin, amo_min64(p, v))
DEF_AMO_D(amomax, amo_max64(p, v))
DEF_AMO_D(amominu, amo_minu64(p, v))
DEF_AMO_D(amomaxu, amo_maxu64(p, v))
