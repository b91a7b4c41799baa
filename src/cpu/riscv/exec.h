/* SPDX-License-Identifier: MIT */
/*
 * The interpreter's instruction handlers. Each executes one decoded
 * instruction: it updates registers and pc, or raises a trap and returns.
 */
#ifndef MQ_CPU_RISCV_EXEC_H
#define MQ_CPU_RISCV_EXEC_H

#include "cpu/riscv/hart_internal.h"

#define RV_INT_HANDLERS(X)                                                          \
    X(lui) X(auipc) X(jal) X(jalr)                                                  \
    X(beq) X(bne) X(blt) X(bge) X(bltu) X(bgeu)                                     \
    X(lb) X(lh) X(lw) X(ld) X(lbu) X(lhu) X(lwu)                                    \
    X(sb) X(sh) X(sw) X(sd)                                                         \
    X(addi) X(slti) X(sltiu) X(xori) X(ori) X(andi) X(slli) X(srli) X(srai)         \
    X(addiw) X(slliw) X(srliw) X(sraiw)                                             \
    X(add) X(sub) X(sll) X(slt) X(sltu) X(xor) X(srl) X(sra) X(or) X(and)           \
    X(addw) X(subw) X(sllw) X(srlw) X(sraw)                                         \
    X(mul) X(mulh) X(mulhsu) X(mulhu) X(div) X(divu) X(rem) X(remu)                 \
    X(mulw) X(divw) X(divuw) X(remw) X(remuw)                                       \
    X(fence) X(fence_i) X(pause)                                                             \
    X(ecall) X(ebreak) X(wfi) X(sfence_vma)                                         \
    X(csrrw) X(csrrs) X(csrrc) X(csrrwi) X(csrrsi) X(csrrci)                        \
    X(lr_w) X(sc_w) X(lr_d) X(sc_d)                                                 \
    X(amoswap_w) X(amoadd_w) X(amoxor_w) X(amoand_w) X(amoor_w)                     \
    X(amomin_w) X(amomax_w) X(amominu_w) X(amomaxu_w)                               \
    X(amoswap_d) X(amoadd_d) X(amoxor_d) X(amoand_d) X(amoor_d)                     \
    X(amomin_d) X(amomax_d) X(amominu_d) X(amomaxu_d)

#define RV_FP_HANDLERS(X)                                                           \
    X(flw) X(fld) X(fsw) X(fsd)                                                     \
    X(fmadd_s) X(fmsub_s) X(fnmsub_s) X(fnmadd_s)                                   \
    X(fmadd_d) X(fmsub_d) X(fnmsub_d) X(fnmadd_d)                                   \
    X(fadd_s) X(fsub_s) X(fmul_s) X(fdiv_s) X(fsqrt_s)                              \
    X(fadd_d) X(fsub_d) X(fmul_d) X(fdiv_d) X(fsqrt_d)                              \
    X(fsgnj_s) X(fsgnjn_s) X(fsgnjx_s) X(fsgnj_d) X(fsgnjn_d) X(fsgnjx_d)           \
    X(fmin_s) X(fmax_s) X(fmin_d) X(fmax_d)                                         \
    X(fcvt_s_d) X(fcvt_d_s)                                                         \
    X(feq_s) X(flt_s) X(fle_s) X(feq_d) X(flt_d) X(fle_d)                           \
    X(fcvt_w_s) X(fcvt_wu_s) X(fcvt_l_s) X(fcvt_lu_s)                               \
    X(fcvt_w_d) X(fcvt_wu_d) X(fcvt_l_d) X(fcvt_lu_d)                               \
    X(fcvt_s_w) X(fcvt_s_wu) X(fcvt_s_l) X(fcvt_s_lu)                               \
    X(fcvt_d_w) X(fcvt_d_wu) X(fcvt_d_l) X(fcvt_d_lu)                               \
    X(fmv_x_w) X(fclass_s) X(fmv_w_x) X(fmv_x_d) X(fclass_d) X(fmv_d_x)

/*
 * The semantics of the common integer instructions, written once: exec.c
 * makes handlers of them and interp.c inlines them into its dispatch loop.
 * The expressions use h (the hart), in (the decoded instruction) and pc.
 */
#define RV_RS1 (h->x[in->rs1])
#define RV_RS2 (h->x[in->rs2])
#define RV_IMM ((int64_t)in->imm)

/* Division never traps: x/0 = all ones, x%0 = x, overflow gives the dividend. */
static inline uint64_t rv_div_s64(int64_t a, int64_t b)
{
    if (b == 0)
        return UINT64_MAX;
    if (a == INT64_MIN && b == -1)
        return (uint64_t)a;
    return (uint64_t)(a / b);
}

static inline uint64_t rv_rem_s64(int64_t a, int64_t b)
{
    if (b == 0)
        return (uint64_t)a;
    if (a == INT64_MIN && b == -1)
        return 0;
    return (uint64_t)(a % b);
}

static inline uint64_t rv_div_s32(int32_t a, int32_t b)
{
    if (b == 0)
        return UINT64_MAX;
    if (a == INT32_MIN && b == -1)
        return rv_sext32((uint32_t)a);
    return rv_sext32((uint32_t)(a / b));
}

static inline uint64_t rv_rem_s32(int32_t a, int32_t b)
{
    if (b == 0)
        return rv_sext32((uint32_t)a);
    if (a == INT32_MIN && b == -1)
        return 0;
    return rv_sext32((uint32_t)(a % b));
}

/* X(name, value written to rd); the instruction then falls through. */
#define RV_ALU_OPS(X)                                                               \
    X(lui, (uint64_t)RV_IMM)                                                        \
    X(auipc, pc + (uint64_t)RV_IMM)                                                 \
    X(addi, RV_RS1 + (uint64_t)RV_IMM)                                              \
    X(slti, (int64_t)RV_RS1 < RV_IMM)                                               \
    X(sltiu, RV_RS1 < (uint64_t)RV_IMM)                                             \
    X(xori, RV_RS1 ^ (uint64_t)RV_IMM)                                              \
    X(ori, RV_RS1 | (uint64_t)RV_IMM)                                               \
    X(andi, RV_RS1 & (uint64_t)RV_IMM)                                              \
    X(slli, RV_RS1 << (in->imm & 63))                                               \
    X(srli, RV_RS1 >> (in->imm & 63))                                               \
    X(srai, (uint64_t)((int64_t)RV_RS1 >> (in->imm & 63)))                          \
    X(addiw, rv_sext32(RV_RS1 + (uint64_t)RV_IMM))                                  \
    X(slliw, rv_sext32((uint32_t)RV_RS1 << (in->imm & 31)))                         \
    X(srliw, rv_sext32((uint32_t)RV_RS1 >> (in->imm & 31)))                         \
    X(sraiw, rv_sext32((uint32_t)((int32_t)RV_RS1 >> (in->imm & 31))))              \
    X(add, RV_RS1 + RV_RS2)                                                         \
    X(sub, RV_RS1 - RV_RS2)                                                         \
    X(sll, RV_RS1 << (RV_RS2 & 63))                                                 \
    X(slt, (int64_t)RV_RS1 < (int64_t)RV_RS2)                                       \
    X(sltu, RV_RS1 < RV_RS2)                                                        \
    X(xor, RV_RS1 ^ RV_RS2)                                                         \
    X(srl, RV_RS1 >> (RV_RS2 & 63))                                                 \
    X(sra, (uint64_t)((int64_t)RV_RS1 >> (RV_RS2 & 63)))                            \
    X(or, RV_RS1 | RV_RS2)                                                          \
    X(and, RV_RS1 & RV_RS2)                                                         \
    X(addw, rv_sext32(RV_RS1 + RV_RS2))                                             \
    X(subw, rv_sext32(RV_RS1 - RV_RS2))                                             \
    X(sllw, rv_sext32((uint32_t)RV_RS1 << (RV_RS2 & 31)))                           \
    X(srlw, rv_sext32((uint32_t)RV_RS1 >> (RV_RS2 & 31)))                           \
    X(sraw, rv_sext32((uint32_t)((int32_t)RV_RS1 >> (RV_RS2 & 31))))                \
    X(mul, RV_RS1 * RV_RS2)                                                         \
    X(mulh, (uint64_t)(((__int128)(int64_t)RV_RS1 * (__int128)(int64_t)RV_RS2) >> 64)) \
    X(mulhsu,                                                                       \
      (uint64_t)(((__int128)(int64_t)RV_RS1 * (__int128)(unsigned __int128)RV_RS2) >> 64)) \
    X(mulhu, (uint64_t)(((unsigned __int128)RV_RS1 * RV_RS2) >> 64))                \
    X(mulw, rv_sext32(RV_RS1 * RV_RS2))                                             \
    X(div, rv_div_s64((int64_t)RV_RS1, (int64_t)RV_RS2))                            \
    X(divu, RV_RS2 ? RV_RS1 / RV_RS2 : UINT64_MAX)                                  \
    X(rem, rv_rem_s64((int64_t)RV_RS1, (int64_t)RV_RS2))                            \
    X(remu, RV_RS2 ? RV_RS1 % RV_RS2 : RV_RS1)                                      \
    X(divw, rv_div_s32((int32_t)RV_RS1, (int32_t)RV_RS2))                           \
    X(divuw, (uint32_t)RV_RS2 ? rv_sext32((uint32_t)RV_RS1 / (uint32_t)RV_RS2) : UINT64_MAX) \
    X(remw, rv_rem_s32((int32_t)RV_RS1, (int32_t)RV_RS2))                           \
    X(remuw, (uint32_t)RV_RS2 ? rv_sext32((uint32_t)RV_RS1 % (uint32_t)RV_RS2) : rv_sext32(RV_RS1))

/* X(name, condition): pc + imm when it holds, else the next instruction. */
#define RV_BRANCH_OPS(X)                                                            \
    X(beq, RV_RS1 == RV_RS2)                                                        \
    X(bne, RV_RS1 != RV_RS2)                                                        \
    X(blt, (int64_t)RV_RS1 < (int64_t)RV_RS2)                                       \
    X(bge, (int64_t)RV_RS1 >= (int64_t)RV_RS2)                                      \
    X(bltu, RV_RS1 < RV_RS2)                                                        \
    X(bgeu, RV_RS1 >= RV_RS2)

/* X(name, access function of hart_internal.h): rd = memory[rs1 + imm]. */
#define RV_LOAD_OPS(X)                                                              \
    X(lb, rv_load_s8) X(lh, rv_load_s16) X(lw, rv_load_s32) X(ld, rv_load_u64)     \
    X(lbu, rv_load_u8) X(lhu, rv_load_u16) X(lwu, rv_load_u32)

/* X(name, access function): memory[rs1 + imm] = rs2. */
#define RV_STORE_OPS(X)                                                             \
    X(sb, rv_store_u8) X(sh, rv_store_u16) X(sw, rv_store_u32) X(sd, rv_store_u64)

/*
 * Ops of the dispatch loop (struct rv_insn.op). RV_OP_C is or'ed in for a
 * compressed instruction, so the inline copies know their length.
 */
#define RV_OP_ENUM2(n, x) RV_OP_##n,
enum rv_fast_op {
    RV_OP_DECODE, /* slot not decoded yet */
    RV_OP_CALL,   /* no inline copy: call in->fn */
    RV_OP_NOP,    /* an ALU instruction with rd = x0 */
    RV_OP_PAGE_END, /* the sentinel slot past the end of a decoded page */
    RV_OP_jal,
    RV_OP_jalr,
    RV_OP_j,  /* jal with rd = x0 */
    RV_OP_jr, /* jalr with rd = x0 */
    RV_ALU_OPS(RV_OP_ENUM2) RV_BRANCH_OPS(RV_OP_ENUM2) RV_LOAD_OPS(RV_OP_ENUM2)
    RV_STORE_OPS(RV_OP_ENUM2)
    RV_OP_COUNT,
    RV_OP_C = 0x80,
};
#undef RV_OP_ENUM2

#define RV_DECLARE_HANDLER(n) \
    uint64_t rv_exec_##n(struct rv_hart *h, const struct rv_insn *in, uint64_t pc);
RV_INT_HANDLERS(RV_DECLARE_HANDLER)
RV_FP_HANDLERS(RV_DECLARE_HANDLER)
#undef RV_DECLARE_HANDLER

#endif
