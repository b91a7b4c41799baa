/* SPDX-License-Identifier: MIT */
/*
 * The C extension: expansion of each 16-bit instruction to its 32-bit
 * equivalent (unprivileged spec chapter 16, RVC instruction listings for
 * RV64). Reserved encodings expand to 0 (illegal); HINT encodings expand to
 * the instruction they are a hint of, which has no architectural effect.
 */
#include "cpu/riscv/hart_internal.h"

static inline uint32_t bits(uint32_t v, unsigned hi, unsigned lo)
{
    return (v >> lo) & ((1u << (hi - lo + 1)) - 1);
}

static inline int32_t sext(uint32_t v, unsigned width)
{
    uint32_t m = 1u << (width - 1);

    v &= (1u << width) - 1;
    return (int32_t)((v ^ m) - m);
}

static uint32_t enc_i(int32_t imm, unsigned rs1, unsigned f3, unsigned rd, unsigned op)
{
    return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}

static uint32_t enc_s(int32_t imm, unsigned rs2, unsigned rs1, unsigned f3, unsigned op)
{
    uint32_t u = (uint32_t)imm;
    return bits(u, 11, 5) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | bits(u, 4, 0) << 7 |
           op;
}

static uint32_t enc_r(unsigned f7, unsigned rs2, unsigned rs1, unsigned f3, unsigned rd,
                      unsigned op)
{
    return f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}

static uint32_t enc_b(int32_t imm, unsigned rs2, unsigned rs1, unsigned f3)
{
    uint32_t u = (uint32_t)imm;
    return bits(u, 12, 12) << 31 | bits(u, 10, 5) << 25 | rs2 << 20 | rs1 << 15 |
           f3 << 12 | bits(u, 4, 1) << 8 | bits(u, 11, 11) << 7 | 0x63;
}

static uint32_t enc_j(int32_t imm, unsigned rd)
{
    uint32_t u = (uint32_t)imm;
    return bits(u, 20, 20) << 31 | bits(u, 10, 1) << 21 | bits(u, 11, 11) << 20 |
           bits(u, 19, 12) << 12 | rd << 7 | 0x6f;
}

enum {
    OP_LOAD = 0x03, OP_LOAD_FP = 0x07, OP_IMM = 0x13, OP_IMM32 = 0x1b, OP_STORE = 0x23,
    OP_STORE_FP = 0x27, OP_OP = 0x33, OP_LUI = 0x37, OP_OP32 = 0x3b, OP_JALR = 0x67,
    OP_SYSTEM = 0x73,
};

/* Quadrant 0: stack-pointer based addi and register-based loads/stores. */
static uint32_t expand_q0(uint32_t c)
{
    unsigned rd_ = 8 + bits(c, 4, 2), rs1_ = 8 + bits(c, 9, 7);
    uint32_t uimm_w = bits(c, 12, 10) << 3 | bits(c, 6, 6) << 2 | bits(c, 5, 5) << 6;
    uint32_t uimm_d = bits(c, 12, 10) << 3 | bits(c, 6, 5) << 6;

    switch (bits(c, 15, 13)) {
    case 0: { /* c.addi4spn */
        uint32_t nzuimm = bits(c, 12, 11) << 4 | bits(c, 10, 7) << 6 | bits(c, 6, 6) << 2 |
                          bits(c, 5, 5) << 3;
        if (nzuimm == 0)
            return 0;
        return enc_i((int32_t)nzuimm, 2, 0, rd_, OP_IMM);
    }
    case 1: return enc_i((int32_t)uimm_d, rs1_, 3, rd_, OP_LOAD_FP); /* c.fld */
    case 2: return enc_i((int32_t)uimm_w, rs1_, 2, rd_, OP_LOAD);    /* c.lw */
    case 3: return enc_i((int32_t)uimm_d, rs1_, 3, rd_, OP_LOAD);    /* c.ld */
    case 5: return enc_s((int32_t)uimm_d, rd_, rs1_, 3, OP_STORE_FP); /* c.fsd */
    case 6: return enc_s((int32_t)uimm_w, rd_, rs1_, 2, OP_STORE);    /* c.sw */
    case 7: return enc_s((int32_t)uimm_d, rd_, rs1_, 3, OP_STORE);    /* c.sd */
    default: return 0; /* 4: reserved */
    }
}

static uint32_t expand_q1_alu(uint32_t c)
{
    unsigned rd_ = 8 + bits(c, 9, 7), rs2_ = 8 + bits(c, 4, 2);
    uint32_t shamt = bits(c, 12, 12) << 5 | bits(c, 6, 2);
    int32_t imm6 = sext(bits(c, 12, 12) << 5 | bits(c, 6, 2), 6);

    switch (bits(c, 11, 10)) {
    case 0: return enc_i((int32_t)shamt, rd_, 5, rd_, OP_IMM);              /* c.srli */
    case 1: return enc_i((int32_t)(shamt | 0x400), rd_, 5, rd_, OP_IMM);    /* c.srai */
    case 2: return enc_i(imm6, rd_, 7, rd_, OP_IMM);                        /* c.andi */
    default: break;
    }
    if (!bits(c, 12, 12)) {
        static const unsigned f3[4] = {0, 4, 6, 7}; /* sub xor or and */
        unsigned op = bits(c, 6, 5);
        return enc_r(op == 0 ? 0x20 : 0, rs2_, rd_, f3[op], rd_, OP_OP);
    }
    switch (bits(c, 6, 5)) {
    case 0: return enc_r(0x20, rs2_, rd_, 0, rd_, OP_OP32); /* c.subw */
    case 1: return enc_r(0, rs2_, rd_, 0, rd_, OP_OP32);    /* c.addw */
    default: return 0;                                      /* reserved */
    }
}

/* Quadrant 1: immediates, ALU, jumps and branches. */
static uint32_t expand_q1(uint32_t c)
{
    unsigned rd = bits(c, 11, 7), rs1_ = 8 + bits(c, 9, 7);
    int32_t imm6 = sext(bits(c, 12, 12) << 5 | bits(c, 6, 2), 6);

    switch (bits(c, 15, 13)) {
    case 0: return enc_i(imm6, rd, 0, rd, OP_IMM); /* c.addi / c.nop / hints */
    case 1: /* c.addiw */
        if (rd == 0)
            return 0;
        return enc_i(imm6, rd, 0, rd, OP_IMM32);
    case 2: return enc_i(imm6, 0, 0, rd, OP_IMM); /* c.li */
    case 3:
        if (rd == 2) { /* c.addi16sp */
            int32_t imm = sext(bits(c, 12, 12) << 9 | bits(c, 6, 6) << 4 | bits(c, 5, 5) << 6 |
                                   bits(c, 4, 3) << 7 | bits(c, 2, 2) << 5,
                               10);
            if (imm == 0)
                return 0;
            return enc_i(imm, 2, 0, 2, OP_IMM);
        }
        if (imm6 == 0) /* c.lui with zero immediate is reserved */
            return 0;
        return ((uint32_t)imm6 << 12) | rd << 7 | OP_LUI;
    case 4: return expand_q1_alu(c);
    case 5: { /* c.j */
        int32_t off = sext(bits(c, 12, 12) << 11 | bits(c, 11, 11) << 4 | bits(c, 10, 9) << 8 |
                               bits(c, 8, 8) << 10 | bits(c, 7, 7) << 6 | bits(c, 6, 6) << 7 |
                               bits(c, 5, 3) << 1 | bits(c, 2, 2) << 5,
                           12);
        return enc_j(off, 0);
    }
    default: { /* 6: c.beqz, 7: c.bnez */
        int32_t off = sext(bits(c, 12, 12) << 8 | bits(c, 11, 10) << 3 | bits(c, 6, 5) << 6 |
                               bits(c, 4, 3) << 1 | bits(c, 2, 2) << 5,
                           9);
        return enc_b(off, 0, rs1_, bits(c, 15, 13) == 6 ? 0 : 1);
    }
    }
}

static uint32_t expand_q2_misc(uint32_t c)
{
    unsigned rd = bits(c, 11, 7), rs2 = bits(c, 6, 2);

    if (!bits(c, 12, 12)) {
        if (rs2 == 0) /* c.jr; rs1 = 0 reserved */
            return rd ? enc_i(0, rd, 0, 0, OP_JALR) : 0;
        return enc_r(0, rs2, 0, 0, rd, OP_OP); /* c.mv */
    }
    if (rs2 == 0) {
        if (rd == 0) /* c.ebreak */
            return 0x00100073;
        return enc_i(0, rd, 0, 1, OP_JALR); /* c.jalr */
    }
    return enc_r(0, rs2, rd, 0, rd, OP_OP); /* c.add */
}

/* Quadrant 2: shifts, stack-pointer based loads/stores, jr/jalr/mv/add. */
static uint32_t expand_q2(uint32_t c)
{
    unsigned rd = bits(c, 11, 7), rs2 = bits(c, 6, 2);
    uint32_t lsp_w = bits(c, 12, 12) << 5 | bits(c, 6, 4) << 2 | bits(c, 3, 2) << 6;
    uint32_t lsp_d = bits(c, 12, 12) << 5 | bits(c, 6, 5) << 3 | bits(c, 4, 2) << 6;
    uint32_t ssp_w = bits(c, 12, 9) << 2 | bits(c, 8, 7) << 6;
    uint32_t ssp_d = bits(c, 12, 10) << 3 | bits(c, 9, 7) << 6;

    switch (bits(c, 15, 13)) {
    case 0: /* c.slli */
        return enc_i((int32_t)(bits(c, 12, 12) << 5 | rs2), rd, 1, rd, OP_IMM);
    case 1: return enc_i((int32_t)lsp_d, 2, 3, rd, OP_LOAD_FP); /* c.fldsp */
    case 2: return rd ? enc_i((int32_t)lsp_w, 2, 2, rd, OP_LOAD) : 0; /* c.lwsp */
    case 3: return rd ? enc_i((int32_t)lsp_d, 2, 3, rd, OP_LOAD) : 0; /* c.ldsp */
    case 4: return expand_q2_misc(c);
    case 5: return enc_s((int32_t)ssp_d, rs2, 2, 3, OP_STORE_FP); /* c.fsdsp */
    case 6: return enc_s((int32_t)ssp_w, rs2, 2, 2, OP_STORE);    /* c.swsp */
    default: return enc_s((int32_t)ssp_d, rs2, 2, 3, OP_STORE);   /* c.sdsp */
    }
}

uint32_t rv_rvc_expand(uint16_t c16)
{
    uint32_t c = c16;

    switch (c & 3) {
    case 0: return expand_q0(c);
    case 1: return expand_q1(c);
    case 2: return expand_q2(c);
    default: return 0; /* not a compressed instruction */
    }
}

void rv_decode16(uint16_t raw, struct rv_insn *in)
{
    uint32_t full = rv_rvc_expand(raw);

    if (full == 0) {
        in->fn = rv_exec_illegal;
        in->imm = raw;
        in->rd = in->rs1 = in->rs2 = 0;
    } else {
        rv_decode32(full, in);
        if (in->fn == rv_exec_illegal)
            in->imm = raw; /* mtval carries the 16-bit encoding */
    }
    in->len = 2;
}
