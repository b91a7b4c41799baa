/* SPDX-License-Identifier: MIT */
/*
 * Linux RISC-V kernel Image loader and the boot memory layout (firmware,
 * kernel, initrd, device tree) of the virt board.
 *
 * Format: Linux Documentation/arch/riscv/boot-image-header.rst, the 64-byte
 * header at the start of arch/riscv/boot/Image (header version 0.2).
 * Placement follows DESIGN.md ("The virt board") in the spirit of QEMU's
 * hw/riscv/boot.c.
 */
#ifndef MQ_MACHINE_LINUX_IMAGE_H
#define MQ_MACHINE_LINUX_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/guest_mem.h"

#define MQ_LINUX_IMAGE_HEADER_SIZE 64

/* A kernel needing more memory than this is a corrupt header, not a kernel. */
#define MQ_LINUX_IMAGE_MAX_SIZE (1ull << 30)

/*
 * rv64 Linux maps itself with 2 MiB pages and stops very early (before any
 * console) when its physical load address is not 2 MiB aligned.
 */
#define MQ_LINUX_IMAGE_ALIGN (2ull << 20)

struct mq_linux_image_info {
    uint64_t text_offset; /* load offset from the start of RAM the kernel expects */
    uint64_t image_size;  /* bytes of memory the kernel occupies from its load
                             address (text, data, bss); >= the file length */
    uint64_t flags;       /* header flags; bit 0 (big-endian) is always 0 here */
    uint32_t version;     /* header version, major << 16 | minor */
};

/*
 * True when data carries the RISC-V Image magic ("RISCV\0\0\0" at 0x30 or
 * "RSC\x05" at 0x38). data may be NULL when len is 0.
 */
bool mq_linux_image_probe(const uint8_t *data, size_t len);

/*
 * Parse and validate the Image header of the len bytes at data (owned by the
 * caller, only read). Fills *info on success. Compressed kernels (gzip, zstd,
 * xz, bzip2, lz4, lzma, lzo, EFI zboot) and ELF vmlinux files are recognised
 * and rejected with a message saying what to do.
 *
 * Returns 0, -ENOEXEC (not an uncompressed RISC-V Image) or -EINVAL (header
 * fields out of range). On failure err (may be NULL) holds one line.
 */
int mq_linux_image_parse(const uint8_t *data, size_t len,
                         struct mq_linux_image_info *info, char *err, size_t errlen);

/*
 * Parse the Image and copy it to guest RAM at addr, zeroing the rest of its
 * image_size (the kernel's bss). addr must be MQ_LINUX_IMAGE_ALIGN aligned and
 * [addr, addr + image_size) must be RAM. Nothing is written on failure.
 * info (may be NULL) receives the parsed header.
 *
 * Returns 0, the errors of mq_linux_image_parse(), -EINVAL (misaligned addr)
 * or -ERANGE (the kernel does not fit in RAM at addr).
 */
int mq_linux_image_load(const uint8_t *data, size_t len, struct mq_guest_mem *gm,
                        uint64_t addr, struct mq_linux_image_info *info, char *err,
                        size_t errlen);

/* Where the kernel goes, relative to the start of RAM (DESIGN.md). */
#define MQ_BOOT_KERNEL_OFFSET (2ull << 20)

/* The device tree goes at a 2 MiB boundary, as QEMU places it. */
#define MQ_BOOT_DTB_ALIGN (2ull << 20)

/*
 * QEMU keeps the device tree below 3 GiB so that 32-bit software can reach
 * it; we do the same so a guest sees the same addresses under both.
 */
#define MQ_BOOT_DTB_LIMIT (3ull << 30)

/* Guest physical placement of everything loaded before the first instruction. */
struct mq_boot_layout {
    uint64_t fw_addr, fw_size;         /* RAM start */
    uint64_t kernel_addr, kernel_size; /* RAM + 2 MiB */
    uint64_t initrd_addr, initrd_size; /* just below the DTB; 0, 0 when none */
    uint64_t dtb_addr, dtb_size;       /* top of RAM (below 3 GiB), 2 MiB aligned */
};

/*
 * Compute the boot layout for RAM [ram_base, ram_base + ram_size):
 * firmware at RAM start, kernel at RAM + 2 MiB, device tree at the highest
 * 2 MiB boundary that holds it (below 3 GiB), initrd right below the device
 * tree, page aligned, so a kernel growing upward and an initrd at the top keep
 * the most room between them.
 *
 * Sizes are memory footprints: for an ELF firmware pass highest - lowest
 * (its bss counts), for a kernel Image pass info.image_size. fw_size,
 * kernel_size and initrd_size may be 0 (absent); dtb_size may not.
 *
 * Returns 0, or -EINVAL (bad RAM range, no DTB) / -ENOSPC (something does not
 * fit or two parts overlap) with one line in err, e.g.
 * "initrd of 300 MiB does not fit in 256 MiB of RAM".
 */
int mq_boot_layout(uint64_t ram_base, uint64_t ram_size, uint64_t fw_size,
                   uint64_t kernel_size, uint64_t initrd_size, uint64_t dtb_size,
                   struct mq_boot_layout *out, char *err, size_t errlen);

#endif
