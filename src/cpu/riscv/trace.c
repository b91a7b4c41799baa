/* SPDX-License-Identifier: MIT */
/* Instruction trace lines for `maquina run --trace`. */
#include <inttypes.h>

#include "cpu/riscv/hart_internal.h"

void rv_trace_insn(struct rv_hart *h, unsigned priv, uint64_t pc, uint32_t raw,
                   unsigned len)
{
    static const char priv_name[4] = {'U', 'S', '?', 'M'};

    fprintf(h->trace, "%u %c %016" PRIx64 " %0*" PRIx32, h->hartid, priv_name[priv & 3],
            pc, len == 4 ? 8 : 4, raw);
}

/* Which register file the destination of a 32-bit instruction is in. */
static char dest_kind(uint32_t w)
{
    unsigned op = w & 0x7f, f7 = w >> 25;

    switch (op) {
    case 0x63: case 0x23: case 0x27: case 0x0f: return 0; /* branch, store, fence */
    case 0x07: case 0x43: case 0x47: case 0x4b: case 0x4f: return 'f';
    case 0x53:
        /* Compares, classify/moves to x, and conversions to integer write x. */
        if ((f7 & 0x7e) == 0x50 || (f7 & 0x7e) == 0x60 || (f7 & 0x7e) == 0x70)
            return 'x';
        return 'f';
    case 0x73: return ((w >> 12) & 7) ? 'x' : 0; /* CSR ops; ecall etc. write nothing */
    default: return 'x';
    }
}

void rv_trace_dest(struct rv_hart *h, uint32_t raw, unsigned len)
{
    uint32_t w = len == 2 ? rv_rvc_expand((uint16_t)raw) : raw;
    unsigned rd = (w >> 7) & 31;
    char kind = w ? dest_kind(w) : 0;

    if (kind == 'x' && rd != 0)
        fprintf(h->trace, " x%u=%016" PRIx64, rd, h->x[rd]);
    else if (kind == 'f')
        fprintf(h->trace, " f%u=%016" PRIx64, rd, h->f[rd]);
}
