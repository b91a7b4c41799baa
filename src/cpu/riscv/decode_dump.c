/* SPDX-License-Identifier: MIT */
/*
 * Writes N pseudo-random 32-bit instruction words (biased to the RV64GC
 * major opcodes) to a binary file and, for each, the name of the handler
 * our decoder picks ("illegal" when none) to a text file, for
 * decode_oracle_test.py to compare with GNU objdump. Test scaffolding only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/riscv/exec.h"
#include "util/le.h"

struct named {
    rv_exec_fn fn;
    const char *name;
};

#define RV_NAME(n) {rv_exec_##n, #n},
static const struct named names[] = {
    RV_INT_HANDLERS(RV_NAME) RV_FP_HANDLERS(RV_NAME)
    {rv_exec_mret, "mret"}, {rv_exec_sret, "sret"}, {rv_exec_illegal, "illegal"},
};

static const char *handler_name(rv_exec_fn fn)
{
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].fn == fn)
            return names[i].name;
    }
    return "?";
}

int main(int argc, char **argv)
{
    static const uint8_t majors[] = {0x03, 0x07, 0x0f, 0x13, 0x17, 0x1b, 0x23, 0x27,
                                     0x2f, 0x33, 0x37, 0x3b, 0x43, 0x47, 0x4b, 0x4f,
                                     0x53, 0x63, 0x67, 0x6f, 0x73};
    unsigned long n = argc > 3 ? strtoul(argv[3], NULL, 0) : 200000;
    uint64_t s = 0x64656330646531ull;
    FILE *bin, *txt;

    if (argc < 3) {
        fprintf(stderr, "usage: decode_dump WORDS_FILE NAMES_FILE [COUNT]\n");
        return 2;
    }
    bin = fopen(argv[1], "wb");
    txt = fopen(argv[2], "w");
    if (!bin || !txt) {
        perror("decode_dump");
        return 1;
    }
    for (unsigned long i = 0; i < n; i++) {
        struct rv_insn in;
        uint8_t b[4];
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t w = (uint32_t)(s >> 32);
        /* Mostly known opcodes, with sparse funct fields to hit valid encodings. */
        w = (w & ~0x7fu) | majors[(s >> 8) % sizeof(majors)];
        if ((s >> 16) & 1)
            w &= ~0xfe000000u | ((uint32_t)((s >> 20) & 0x3) << 25) |
                 ((uint32_t)((s >> 22) & 0x7c) << 25);
        rv_decode32(w, &in);
        mq_put_le32(b, w);
        fwrite(b, 4, 1, bin);
        fprintf(txt, "%08x %s\n", w, handler_name(in.fn));
    }
    return fclose(bin) || fclose(txt) ? 1 : 0;
}
