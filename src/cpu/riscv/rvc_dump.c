/* SPDX-License-Identifier: MIT */
/*
 * Writes every 16-bit RVC encoding (quadrants 0-2) and our 32-bit expansion
 * of it into two files, one per 4-byte slot, for rvc_oracle_test.py to
 * compare through GNU objdump. Test scaffolding only.
 */
#include <stdio.h>

#include "cpu/riscv/hart_internal.h"
#include "util/le.h"

int main(int argc, char **argv)
{
    FILE *c16, *c32;

    if (argc != 3) {
        fprintf(stderr, "usage: rvc_dump C16_FILE C32_FILE\n");
        return 2;
    }
    c16 = fopen(argv[1], "wb");
    c32 = fopen(argv[2], "wb");
    if (!c16 || !c32) {
        perror("rvc_dump");
        return 1;
    }
    for (unsigned v = 0; v < 65536; v++) {
        uint8_t a[4], b[4];
        if ((v & 3) == 3)
            continue;
        mq_put_le16(a, (uint16_t)v);
        mq_put_le16(a + 2, 0x0001); /* c.nop keeps every slot 4 bytes */
        mq_put_le32(b, rv_rvc_expand((uint16_t)v));
        if (fwrite(a, 4, 1, c16) != 1 || fwrite(b, 4, 1, c32) != 1) {
            perror("rvc_dump");
            return 1;
        }
    }
    return fclose(c16) || fclose(c32) ? 1 : 0;
}
