/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the instruction decoder. Every 16-bit parcel and every
 * 32-bit word of the input is decoded; decoding must always produce a
 * handler and the right length, and a compressed instruction must expand
 * to a 32-bit instruction that decodes to a legal handler.
 */
#include <stdint.h>
#include <stdlib.h>

#include "cpu/riscv/exec.h"
#include "util/le.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rv_insn in;

    for (size_t i = 0; i + 2 <= size; i += 2) {
        uint16_t c = mq_get_le16(data + i);
        uint32_t full = rv_rvc_expand(c);
        rv_decode16(c, &in);
        if (!in.fn || in.len != 2)
            abort();
        if (full && (c & 3) != 3) {
            struct rv_insn x;
            rv_decode32(full, &x);
            if (x.fn == rv_exec_illegal || in.fn == rv_exec_illegal)
                abort(); /* an expansion must be a legal instruction */
        }
        if (i + 4 <= size) {
            rv_decode32(mq_get_le32(data + i), &in);
            if (!in.fn || in.len != 4)
                abort();
        }
    }
    return 0;
}
