/* SPDX-License-Identifier: MIT */
/*
 * Reference-vector generator: runs bare-metal on qemu-system-riscv64 -M virt
 * and prints, for every operation in refgen.h and every operand tuple, the
 * result bits and fflags the (emulated) RISC-V FPU produces under each
 * rounding mode. Output format (parsed by fpu_test.c):
 *
 *   op <mnemonic> <tuples> <operand checksum, hex>
 *   <entry> [<entry> ...]        one line per tuple; 5 entries if has_rm
 *
 * The first entry is "<result hex>[/<fflags hex>]" (fflags omitted when 0).
 * Later entries are relative to the first: the result is "." (same), "+" or
 * "-" (one more or less, as an integer) or hex; "/<fflags>" is present only
 * when the flags differ from the first entry's.
 */
#include <stdint.h>

#include "refgen.h"

#define UART_THR ((volatile uint8_t *)0x10000000)

static void out_c(char c)
{
    *UART_THR = (uint8_t)c;
}

static void out_s(const char *s)
{
    while (*s)
        out_c(*s++);
}

static void out_hex(uint64_t v)
{
    char buf[17];
    int n = 0;
    do {
        buf[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    while (n)
        out_c(buf[--n]);
}

static inline float f32_of(uint64_t v)
{
    union { uint32_t u; float f; } x = { .u = (uint32_t)v };
    return x.f;
}

static inline uint64_t bits_f32(float f)
{
    union { uint32_t u; float f; } x = { .f = f };
    return x.u;
}

static inline double f64_of(uint64_t v)
{
    union { uint64_t u; double f; } x = { .u = v };
    return x.f;
}

static inline uint64_t bits_f64(double f)
{
    union { uint64_t u; double f; } x = { .f = f };
    return x.u;
}

/* Every instruction runs with the dynamic rounding mode (the assembler's
 * default), set just before it; fflags are cleared before and read after. */
#define PRE "fsrm %[rm]\n\tcsrw fflags, zero\n\t"
#define POST "\n\tfrflags %[fl]"
#define OUTS(r, fl) [fl] "=&r"(fl)

#define OP_FFF(ins, T, cv)                                                   \
    { T x = cv(v[0]), y = cv(v[1]), z;                                        \
      __asm__ volatile(PRE ins " %[z], %[x], %[y]" POST                       \
                       : [z] "=&f"(z), OUTS(z, fl)                            \
                       : [x] "f"(x), [y] "f"(y), [rm] "r"(rm));               \
      res = sizeof(T) == 4 ? bits_f32((float)z) : bits_f64((double)z); break; }
#define OP_FF(ins, T, cv)                                                    \
    { T x = cv(v[0]), z;                                                      \
      __asm__ volatile(PRE ins " %[z], %[x]" POST                             \
                       : [z] "=&f"(z), OUTS(z, fl) : [x] "f"(x), [rm] "r"(rm)); \
      res = sizeof(T) == 4 ? bits_f32((float)z) : bits_f64((double)z); break; }
#define OP_FFFF(ins, T, cv)                                                  \
    { T x = cv(v[0]), y = cv(v[1]), w = cv(v[2]), z;                          \
      __asm__ volatile(PRE ins " %[z], %[x], %[y], %[w]" POST                 \
                       : [z] "=&f"(z), OUTS(z, fl)                            \
                       : [x] "f"(x), [y] "f"(y), [w] "f"(w), [rm] "r"(rm));   \
      res = sizeof(T) == 4 ? bits_f32((float)z) : bits_f64((double)z); break; }
#define OP_XFF(ins, T, cv)                                                   \
    { T x = cv(v[0]), y = cv(v[1]); uint64_t z;                               \
      __asm__ volatile(PRE ins " %[z], %[x], %[y]" POST                       \
                       : [z] "=&r"(z), OUTS(z, fl)                            \
                       : [x] "f"(x), [y] "f"(y), [rm] "r"(rm));               \
      res = z; break; }
#define OP_XF(ins, T, cv, mask)                                              \
    { T x = cv(v[0]); uint64_t z;                                             \
      __asm__ volatile(PRE ins " %[z], %[x]" POST                             \
                       : [z] "=&r"(z), OUTS(z, fl) : [x] "f"(x), [rm] "r"(rm)); \
      res = z & (mask); break; }
#define OP_FX(ins, T)                                                        \
    { uint64_t x = v[0]; T z;                                                 \
      __asm__ volatile(PRE ins " %[z], %[x]" POST                             \
                       : [z] "=&f"(z), OUTS(z, fl) : [x] "r"(x), [rm] "r"(rm)); \
      res = sizeof(T) == 4 ? bits_f32((float)z) : bits_f64((double)z); break; }

#define M32 0xffffffffull
#define M64 ~0ull

static uint64_t run(unsigned op, const uint64_t v[3], unsigned long rm,
                    unsigned *flags)
{
    unsigned long fl;
    uint64_t res;

    switch (op) {
    case RG_FADD_S: OP_FFF("fadd.s", float, f32_of)
    case RG_FSUB_S: OP_FFF("fsub.s", float, f32_of)
    case RG_FMUL_S: OP_FFF("fmul.s", float, f32_of)
    case RG_FDIV_S: OP_FFF("fdiv.s", float, f32_of)
    case RG_FSQRT_S: OP_FF("fsqrt.s", float, f32_of)
    case RG_FMADD_S: OP_FFFF("fmadd.s", float, f32_of)
    case RG_FMSUB_S: OP_FFFF("fmsub.s", float, f32_of)
    case RG_FNMSUB_S: OP_FFFF("fnmsub.s", float, f32_of)
    case RG_FNMADD_S: OP_FFFF("fnmadd.s", float, f32_of)
    case RG_FMIN_S: OP_FFF("fmin.s", float, f32_of)
    case RG_FMAX_S: OP_FFF("fmax.s", float, f32_of)
    case RG_FEQ_S: OP_XFF("feq.s", float, f32_of)
    case RG_FLT_S: OP_XFF("flt.s", float, f32_of)
    case RG_FLE_S: OP_XFF("fle.s", float, f32_of)
    case RG_FCLASS_S: OP_XF("fclass.s", float, f32_of, M64)
    case RG_FCVT_W_S: OP_XF("fcvt.w.s", float, f32_of, M32)
    case RG_FCVT_WU_S: OP_XF("fcvt.wu.s", float, f32_of, M32)
    case RG_FCVT_L_S: OP_XF("fcvt.l.s", float, f32_of, M64)
    case RG_FCVT_LU_S: OP_XF("fcvt.lu.s", float, f32_of, M64)
    case RG_FCVT_S_W: OP_FX("fcvt.s.w", float)
    case RG_FCVT_S_WU: OP_FX("fcvt.s.wu", float)
    case RG_FCVT_S_L: OP_FX("fcvt.s.l", float)
    case RG_FCVT_S_LU: OP_FX("fcvt.s.lu", float)
    case RG_FCVT_D_S:
        { float x = f32_of(v[0]); double z;
          __asm__ volatile(PRE "fcvt.d.s %[z], %[x]" POST
                           : [z] "=&f"(z), OUTS(z, fl) : [x] "f"(x), [rm] "r"(rm));
          res = bits_f64(z); break; }
    case RG_FADD_D: OP_FFF("fadd.d", double, f64_of)
    case RG_FSUB_D: OP_FFF("fsub.d", double, f64_of)
    case RG_FMUL_D: OP_FFF("fmul.d", double, f64_of)
    case RG_FDIV_D: OP_FFF("fdiv.d", double, f64_of)
    case RG_FSQRT_D: OP_FF("fsqrt.d", double, f64_of)
    case RG_FMADD_D: OP_FFFF("fmadd.d", double, f64_of)
    case RG_FMSUB_D: OP_FFFF("fmsub.d", double, f64_of)
    case RG_FNMSUB_D: OP_FFFF("fnmsub.d", double, f64_of)
    case RG_FNMADD_D: OP_FFFF("fnmadd.d", double, f64_of)
    case RG_FMIN_D: OP_FFF("fmin.d", double, f64_of)
    case RG_FMAX_D: OP_FFF("fmax.d", double, f64_of)
    case RG_FEQ_D: OP_XFF("feq.d", double, f64_of)
    case RG_FLT_D: OP_XFF("flt.d", double, f64_of)
    case RG_FLE_D: OP_XFF("fle.d", double, f64_of)
    case RG_FCLASS_D: OP_XF("fclass.d", double, f64_of, M64)
    case RG_FCVT_W_D: OP_XF("fcvt.w.d", double, f64_of, M32)
    case RG_FCVT_WU_D: OP_XF("fcvt.wu.d", double, f64_of, M32)
    case RG_FCVT_L_D: OP_XF("fcvt.l.d", double, f64_of, M64)
    case RG_FCVT_LU_D: OP_XF("fcvt.lu.d", double, f64_of, M64)
    case RG_FCVT_D_W: OP_FX("fcvt.d.w", double)
    case RG_FCVT_D_WU: OP_FX("fcvt.d.wu", double)
    case RG_FCVT_D_L: OP_FX("fcvt.d.l", double)
    case RG_FCVT_D_LU: OP_FX("fcvt.d.lu", double)
    case RG_FCVT_S_D:
        { double x = f64_of(v[0]); float z;
          __asm__ volatile(PRE "fcvt.s.d %[z], %[x]" POST
                           : [z] "=&f"(z), OUTS(z, fl) : [x] "f"(x), [rm] "r"(rm));
          res = bits_f32(z); break; }
    default:
        res = 0;
        fl = 0xff;
        break;
    }
    *flags = (unsigned)fl;
    return res;
}

static void out_entry(uint64_t r, unsigned fl, uint64_t r0, unsigned fl0,
                      int first)
{
    if (first)
        out_hex(r);
    else if (r == r0)
        out_c('.');
    else if (r == r0 + 1)
        out_c('+');
    else if (r == r0 - 1)
        out_c('-');
    else
        out_hex(r);
    if (first ? fl != 0 : fl != fl0) {
        out_c('/');
        out_hex(fl);
    }
}

int main(void);

int main(void)
{
    for (unsigned op = 0; op < RG_NUM_OPS; op++) {
        const struct rg_op *o = &rg_ops[op];
        uint64_t sum = RG_CHECKSUM_INIT, v[3];

        for (unsigned i = 0; i < RG_TUPLES; i++) {
            rg_tuple(op, i, v);
            sum = rg_checksum_step(sum, v);
        }
        out_s("op ");
        out_s(o->name);
        out_c(' ');
        out_hex(RG_TUPLES);
        out_c(' ');
        out_hex(sum);
        out_c('\n');
        for (unsigned i = 0; i < RG_TUPLES; i++) {
            uint64_t r0 = 0;
            unsigned fl0 = 0, nrm = o->has_rm ? 5 : 1;
            rg_tuple(op, i, v);
            for (unsigned rm = 0; rm < nrm; rm++) {
                unsigned fl;
                uint64_t r = run(op, v, rm, &fl);
                if (rm == 0) {
                    r0 = r;
                    fl0 = fl;
                } else {
                    out_c(' ');
                }
                out_entry(r, fl, r0, fl0, rm == 0);
            }
            out_c('\n');
        }
    }
    out_s("end\n");
    return 0;
}
