/* SPDX-License-Identifier: MIT */
/*
 * Decoder for 32-bit RV64GC instructions (unprivileged spec chapter 24,
 * "RV32/64G Instruction Set Listings", and privileged spec chapter 9):
 * turns an instruction word into a handler plus register numbers and a
 * sign-extended immediate, once, so the interpreter never decodes twice.
 */
#include "cpu/riscv/exec.h"

static inline uint32_t bits(uint32_t v, unsigned hi, unsigned lo)
{
    return (v >> lo) & ((1u << (hi - lo + 1)) - 1);
}

/* Sign-extend the low width bits of v (unsigned arithmetic: no UB on shifts). */
static inline int32_t sext(uint32_t v, unsigned width)
{
    uint32_t m = 1u << (width - 1);

    v &= (width == 32) ? ~0u : (1u << width) - 1;
    return (int32_t)((v ^ m) - m);
}

static inline int32_t imm_i(uint32_t r)
{
    return sext(r >> 20, 12);
}

static inline int32_t imm_s(uint32_t r)
{
    return sext(bits(r, 31, 25) << 5 | bits(r, 11, 7), 12);
}

static inline int32_t imm_b(uint32_t r)
{
    return sext(bits(r, 31, 31) << 12 | bits(r, 7, 7) << 11 | bits(r, 30, 25) << 5 |
                    bits(r, 11, 8) << 1,
                13);
}

static inline int32_t imm_j(uint32_t r)
{
    return sext(bits(r, 31, 31) << 20 | bits(r, 19, 12) << 12 | bits(r, 20, 20) << 11 |
                    bits(r, 30, 21) << 1,
                21);
}

#define H(n) rv_exec_##n

static rv_exec_fn decode_load(uint32_t f3)
{
    static const rv_exec_fn t[8] = {H(lb), H(lh), H(lw), H(ld), H(lbu), H(lhu), H(lwu), NULL};
    return t[f3];
}

static rv_exec_fn decode_store(uint32_t f3)
{
    static const rv_exec_fn t[8] = {H(sb), H(sh), H(sw), H(sd)};
    return t[f3];
}

static rv_exec_fn decode_branch(uint32_t f3)
{
    static const rv_exec_fn t[8] = {H(beq), H(bne), NULL, NULL,
                                    H(blt), H(bge), H(bltu), H(bgeu)};
    return t[f3];
}

static rv_exec_fn decode_op_imm(uint32_t r, struct rv_insn *in)
{
    uint32_t f3 = bits(r, 14, 12), hi6 = bits(r, 31, 26);

    switch (f3) {
    case 0: return H(addi);
    case 1:
        in->imm &= 63;
        return hi6 == 0 ? H(slli) : NULL;
    case 2: return H(slti);
    case 3: return H(sltiu);
    case 4: return H(xori);
    case 5:
        in->imm &= 63;
        return hi6 == 0 ? H(srli) : hi6 == 0x10 ? H(srai) : NULL;
    case 6: return H(ori);
    default: return H(andi);
    }
}

static rv_exec_fn decode_op_imm32(uint32_t r, struct rv_insn *in)
{
    uint32_t f3 = bits(r, 14, 12), f7 = bits(r, 31, 25);

    switch (f3) {
    case 0: return H(addiw);
    case 1:
        in->imm &= 31;
        return f7 == 0 ? H(slliw) : NULL;
    case 5:
        in->imm &= 31;
        return f7 == 0 ? H(srliw) : f7 == 0x20 ? H(sraiw) : NULL;
    default: return NULL;
    }
}

static rv_exec_fn decode_op(uint32_t r)
{
    static const rv_exec_fn base[8] = {H(add), H(sll), H(slt), H(sltu),
                                       H(xor), H(srl), H(or), H(and)};
    static const rv_exec_fn mext[8] = {H(mul), H(mulh), H(mulhsu), H(mulhu),
                                       H(div), H(divu), H(rem), H(remu)};
    uint32_t f3 = bits(r, 14, 12), f7 = bits(r, 31, 25);

    if (f7 == 0)
        return base[f3];
    if (f7 == 1)
        return mext[f3];
    if (f7 == 0x20)
        return f3 == 0 ? H(sub) : f3 == 5 ? H(sra) : NULL;
    return NULL;
}

static rv_exec_fn decode_op32(uint32_t r)
{
    static const rv_exec_fn base[8] = {H(addw), H(sllw), NULL, NULL, NULL, H(srlw)};
    static const rv_exec_fn mext[8] = {H(mulw), NULL, NULL, NULL,
                                       H(divw), H(divuw), H(remw), H(remuw)};
    uint32_t f3 = bits(r, 14, 12), f7 = bits(r, 31, 25);

    if (f7 == 0)
        return base[f3];
    if (f7 == 1)
        return mext[f3];
    if (f7 == 0x20)
        return f3 == 0 ? H(subw) : f3 == 5 ? H(sraw) : NULL;
    return NULL;
}

static rv_exec_fn decode_system(uint32_t r, struct rv_insn *in)
{
    uint32_t f3 = bits(r, 14, 12);
    static const rv_exec_fn csr[8] = {NULL, H(csrrw), H(csrrs), H(csrrc),
                                      NULL, H(csrrwi), H(csrrsi), H(csrrci)};

    if (f3 != 0) {
        in->imm = (int32_t)bits(r, 31, 20); /* CSR number, unsigned */
        return csr[f3];
    }
    switch (r) {
    case 0x00000073: return H(ecall);
    case 0x00100073: return H(ebreak);
    case 0x10200073: return rv_exec_sret;
    case 0x30200073: return rv_exec_mret;
    case 0x10500073: return H(wfi);
    default: break;
    }
    if (bits(r, 31, 25) == 0x09 && bits(r, 11, 7) == 0)
        return H(sfence_vma);
    return NULL;
}

static rv_exec_fn decode_amo(uint32_t r)
{
    static const rv_exec_fn w[32] = {
        [0x00] = H(amoadd_w), [0x01] = H(amoswap_w), [0x02] = H(lr_w), [0x03] = H(sc_w),
        [0x04] = H(amoxor_w), [0x08] = H(amoor_w), [0x0c] = H(amoand_w),
        [0x10] = H(amomin_w), [0x14] = H(amomax_w), [0x18] = H(amominu_w),
        [0x1c] = H(amomaxu_w)};
    static const rv_exec_fn d[32] = {
        [0x00] = H(amoadd_d), [0x01] = H(amoswap_d), [0x02] = H(lr_d), [0x03] = H(sc_d),
        [0x04] = H(amoxor_d), [0x08] = H(amoor_d), [0x0c] = H(amoand_d),
        [0x10] = H(amomin_d), [0x14] = H(amomax_d), [0x18] = H(amominu_d),
        [0x1c] = H(amomaxu_d)};
    uint32_t f3 = bits(r, 14, 12), f5 = bits(r, 31, 27);

    if (f5 == 0x02 && bits(r, 24, 20) != 0) /* lr with rs2 != 0 is reserved */
        return NULL;
    if (f3 == 2)
        return w[f5];
    if (f3 == 3)
        return d[f5];
    return NULL;
}

/* Rounding modes 5 and 6 are reserved; 7 (dynamic) is checked at run time. */
static bool rm_ok(uint32_t rm)
{
    return rm != 5 && rm != 6;
}

static rv_exec_fn decode_fma(uint32_t r, struct rv_insn *in)
{
    static const rv_exec_fn s[4] = {H(fmadd_s), H(fmsub_s), H(fnmsub_s), H(fnmadd_s)};
    static const rv_exec_fn d[4] = {H(fmadd_d), H(fmsub_d), H(fnmsub_d), H(fnmadd_d)};
    uint32_t fmt = bits(r, 26, 25), rm = bits(r, 14, 12), which = bits(r, 3, 2);

    if (!rm_ok(rm) || fmt > 1)
        return NULL;
    in->imm = (int32_t)(rm | bits(r, 31, 27) << 8);
    return fmt ? d[which] : s[which];
}

static rv_exec_fn decode_fp_cvt_int(uint32_t f7, uint32_t rs2)
{
    static const rv_exec_fn to_int[2][4] = {
        {H(fcvt_w_s), H(fcvt_wu_s), H(fcvt_l_s), H(fcvt_lu_s)},
        {H(fcvt_w_d), H(fcvt_wu_d), H(fcvt_l_d), H(fcvt_lu_d)}};
    static const rv_exec_fn from_int[2][4] = {
        {H(fcvt_s_w), H(fcvt_s_wu), H(fcvt_s_l), H(fcvt_s_lu)},
        {H(fcvt_d_w), H(fcvt_d_wu), H(fcvt_d_l), H(fcvt_d_lu)}};

    if (rs2 > 3)
        return NULL;
    return (f7 & 0x7e) == 0x60 ? to_int[f7 & 1][rs2] : from_int[f7 & 1][rs2];
}

static rv_exec_fn decode_op_fp(uint32_t r, struct rv_insn *in)
{
    uint32_t f7 = bits(r, 31, 25), rm = bits(r, 14, 12), rs2 = bits(r, 24, 20);
    bool dbl = f7 & 1;

    in->imm = (int32_t)rm;
    switch (f7 & 0x7e) {
    case 0x00: return !rm_ok(rm) ? NULL : dbl ? H(fadd_d) : H(fadd_s);
    case 0x04: return !rm_ok(rm) ? NULL : dbl ? H(fsub_d) : H(fsub_s);
    case 0x08: return !rm_ok(rm) ? NULL : dbl ? H(fmul_d) : H(fmul_s);
    case 0x0c: return !rm_ok(rm) ? NULL : dbl ? H(fdiv_d) : H(fdiv_s);
    case 0x2c: return !rm_ok(rm) || rs2 ? NULL : dbl ? H(fsqrt_d) : H(fsqrt_s);
    case 0x10:
        if (rm > 2)
            return NULL;
        return dbl ? (rm == 0 ? H(fsgnj_d) : rm == 1 ? H(fsgnjn_d) : H(fsgnjx_d))
                   : (rm == 0 ? H(fsgnj_s) : rm == 1 ? H(fsgnjn_s) : H(fsgnjx_s));
    case 0x14:
        if (rm > 1)
            return NULL;
        return dbl ? (rm ? H(fmax_d) : H(fmin_d)) : (rm ? H(fmax_s) : H(fmin_s));
    case 0x20: /* fcvt.s.d (f7 0x20, rs2 1) and fcvt.d.s (f7 0x21, rs2 0) */
        if (!rm_ok(rm) || rs2 != (dbl ? 0u : 1u))
            return NULL;
        return dbl ? H(fcvt_d_s) : H(fcvt_s_d);
    case 0x50:
        if (rm > 2)
            return NULL;
        return dbl ? (rm == 2 ? H(feq_d) : rm == 1 ? H(flt_d) : H(fle_d))
                   : (rm == 2 ? H(feq_s) : rm == 1 ? H(flt_s) : H(fle_s));
    case 0x60:
    case 0x68: return rm_ok(rm) ? decode_fp_cvt_int(f7, rs2) : NULL;
    case 0x70:
        if (rs2 != 0 || rm > 1)
            return NULL;
        return dbl ? (rm ? H(fclass_d) : H(fmv_x_d)) : (rm ? H(fclass_s) : H(fmv_x_w));
    case 0x78:
        if (rs2 != 0 || rm != 0)
            return NULL;
        return dbl ? H(fmv_d_x) : H(fmv_w_x);
    default: return NULL;
    }
}

static rv_exec_fn decode_major(uint32_t r, struct rv_insn *in)
{
    uint32_t f3 = bits(r, 14, 12);

    switch (bits(r, 6, 0)) {
    case 0x37: in->imm = (int32_t)(r & 0xfffff000); return H(lui);
    case 0x17: in->imm = (int32_t)(r & 0xfffff000); return H(auipc);
    case 0x6f: in->imm = imm_j(r); return H(jal);
    case 0x67: return f3 == 0 ? H(jalr) : NULL;
    case 0x63: in->imm = imm_b(r); return decode_branch(f3);
    case 0x03: return decode_load(f3);
    case 0x23: in->imm = imm_s(r); return decode_store(f3);
    case 0x13: return decode_op_imm(r, in);
    case 0x1b: return decode_op_imm32(r, in);
    case 0x33: return decode_op(r);
    case 0x3b: return decode_op32(r);
    case 0x0f:
        if (r == 0x0100000f) /* pause (Zihintpause): fence w, 0 */
            return H(pause);
        return f3 == 0 ? H(fence) : f3 == 1 ? H(fence_i) : NULL;
    case 0x73: return decode_system(r, in);
    case 0x2f: return decode_amo(r);
    case 0x07: return f3 == 2 ? H(flw) : f3 == 3 ? H(fld) : NULL;
    case 0x27:
        in->imm = imm_s(r);
        return f3 == 2 ? H(fsw) : f3 == 3 ? H(fsd) : NULL;
    case 0x43:
    case 0x47:
    case 0x4b:
    case 0x4f: return decode_fma(r, in);
    case 0x53: return decode_op_fp(r, in);
    default: return NULL;
    }
}

void rv_decode32(uint32_t raw, struct rv_insn *in)
{
    rv_exec_fn fn;

    in->rd = (uint8_t)bits(raw, 11, 7);
    in->rs1 = (uint8_t)bits(raw, 19, 15);
    in->rs2 = (uint8_t)bits(raw, 24, 20);
    in->imm = imm_i(raw);
    in->len = 4;
    fn = (raw & 3) == 3 ? decode_major(raw, in) : NULL;
    if (!fn) {
        fn = rv_exec_illegal;
        in->imm = (int32_t)raw; /* mtval carries the instruction bits */
    }
    in->fn = fn;
}
