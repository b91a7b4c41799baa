/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the RISC-V Linux Image loader and the boot layout
 * (src/machine/linux_image.c): the input is loaded as a kernel Image into a
 * 4 MiB guest RAM at RAM + 2 MiB, and its bytes 64..111 are also used as the
 * sizes given to mq_boot_layout(), whose result must stay inside RAM and
 * never overlap.
 */
#include <stdint.h>
#include <stdlib.h>

#include "machine/linux_image.h"
#include "util/le.h"

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (4ull << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Absent parts (size 0) have no place to check. */
static int inside(uint64_t base, uint64_t size, uint64_t addr, uint64_t len)
{
    return len == 0 || (addr >= base && len <= size && addr - base <= size - len);
}

static int disjoint(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen == 0 || blen == 0 || a + alen <= b || b + blen <= a;
}

static void fuzz_layout(const uint8_t *p)
{
    struct mq_boot_layout l;
    uint64_t base = mq_get_le64(p) & ~0xfffull;
    uint64_t size = mq_get_le64(p + 8);
    uint64_t sz[4];
    char err[256];

    /* Mostly small values, so the success path is reached too. */
    for (int i = 0; i < 4; i++) {
        uint64_t v = mq_get_le64(p + 16 + 8 * i);
        sz[i] = (p[16 + 8 * i] & 1) ? v : v >> 36;
    }
    if (!(p[0] & 1))
        size >>= 30;
    if (mq_boot_layout(base, size, sz[0], sz[1], sz[2], sz[3], &l, err, sizeof(err)))
        return;
    /* Harness invariants, not parser behaviour: stop the run if broken. */
    if (!inside(base, size, l.fw_addr, l.fw_size) ||
        !inside(base, size, l.kernel_addr, l.kernel_size) ||
        !inside(base, size, l.initrd_addr, l.initrd_size) ||
        !inside(base, size, l.dtb_addr, l.dtb_size))
        abort();
    if (!disjoint(l.fw_addr, l.fw_size, l.kernel_addr, l.kernel_size) ||
        !disjoint(l.kernel_addr, l.kernel_size, l.initrd_addr, l.initrd_size) ||
        !disjoint(l.initrd_addr, l.initrd_size, l.dtb_addr, l.dtb_size) ||
        !disjoint(l.kernel_addr, l.kernel_size, l.dtb_addr, l.dtb_size) ||
        !disjoint(l.fw_addr, l.fw_size, l.dtb_addr, l.dtb_size) ||
        !disjoint(l.fw_addr, l.fw_size, l.initrd_addr, l.initrd_size))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mq_guest_mem gm;
    static int ready;
    struct mq_linux_image_info info;
    char err[256];

    if (!ready) {
        if (mq_guest_mem_init(&gm, RAM_BASE, RAM_SIZE) != 0)
            abort();
        ready = 1;
    }
    mq_linux_image_probe(data, size);
    if (mq_linux_image_load(data, size, &gm, RAM_BASE + (2ull << 20), &info, err,
                            sizeof(err)) == 0) {
        if (info.image_size < size || info.image_size > (2ull << 20))
            abort();
    }
    if (size >= 112)
        fuzz_layout(data + 64);
    return 0;
}
