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
