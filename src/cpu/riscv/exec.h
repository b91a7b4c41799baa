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

#define RV_DECLARE_HANDLER(n) \
    uint64_t rv_exec_##n(struct rv_hart *h, const struct rv_insn *in, uint64_t pc);
RV_INT_HANDLERS(RV_DECLARE_HANDLER)
RV_FP_HANDLERS(RV_DECLARE_HANDLER)
#undef RV_DECLARE_HANDLER

#endif
