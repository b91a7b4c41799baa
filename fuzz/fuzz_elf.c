/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the ELF loader (src/machine/elf.c): arbitrary bytes are
 * loaded into a 1 MiB guest RAM; a success must only have written inside RAM
 * and report an entry inside the loaded range.
 */
#include <stdint.h>
#include <stdlib.h>

#include "machine/elf.h"

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (1ull << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mq_guest_mem gm;
    static int ready;
    uint64_t entry = 0, lo = 0, hi = 0;
    char err[256];

    if (!ready) {
        if (mq_guest_mem_init(&gm, RAM_BASE, RAM_SIZE) != 0)
            abort();
        ready = 1;
    }
    mq_elf_probe(data, size);
    if (mq_elf_load(data, size, &gm, &entry, &lo, &hi, err, sizeof(err)) == 0) {
        /* Harness invariants, not parser behaviour: stop the run if broken. */
        if (lo < RAM_BASE || hi > RAM_BASE + RAM_SIZE || lo >= hi)
            abort();
        if (entry < lo || entry >= hi)
            abort();
    }
    return 0;
}
