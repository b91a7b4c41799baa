/* SPDX-License-Identifier: MIT */
/*
 * Linux RISC-V kernel Image: header parsing, loading into guest RAM, and the
 * placement of firmware, kernel, initrd and device tree in RAM.
 *
 * Format: Linux Documentation/arch/riscv/boot-image-header.rst (header v0.2).
 * Header layout (all little-endian):
 *   0x00 code0, 0x04 code1 (u32, "MZ" when the kernel has an EFI stub)
 *   0x08 text_offset, 0x10 image_size, 0x18 flags (u64)
 *   0x20 version (u32: major << 16 | minor), 0x24 res1 (u32), 0x28 res2 (u64)
 *   0x30 magic "RISCV\0\0\0" (deprecated since v0.2)
 *   0x38 magic2 "RSC\x05", 0x3c res3 (PE header offset)
 */
#include "machine/linux_image.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/compiler.h"
#include "util/le.h"

#define HDR_TEXT_OFFSET 0x08
#define HDR_IMAGE_SIZE 0x10
#define HDR_FLAGS 0x18
#define HDR_VERSION 0x20
#define HDR_MAGIC 0x30
#define HDR_MAGIC2 0x38

#define FLAG_BE 1ull

#define KIB (1ull << 10)
#define MIB (1ull << 20)

static void MQ_PRINTF(3, 4) set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Human-readable size for messages: "256 MiB", "1.5 MiB", "300 KiB", "17 bytes". */
struct size_str {
    char s[32];
};

static struct size_str fmt_size(uint64_t n)
{
    struct size_str r;

    if (n >= MIB && n % MIB == 0)
        snprintf(r.s, sizeof(r.s), "%llu MiB", (unsigned long long)(n / MIB));
    else if (n >= MIB)
        snprintf(r.s, sizeof(r.s), "%.1f MiB", (double)n / (double)MIB);
    else if (n >= KIB && n % KIB == 0)
        snprintf(r.s, sizeof(r.s), "%llu KiB", (unsigned long long)(n / KIB));
    else
        snprintf(r.s, sizeof(r.s), "%llu bytes", (unsigned long long)n);
    return r;
}

static bool has_magic(const uint8_t *data, size_t len)
{
    if (len < MQ_LINUX_IMAGE_HEADER_SIZE)
        return false;
    /* v0.1 headers have only magic; magic may disappear after v0.2. */
    return memcmp(data + HDR_MAGIC, "RISCV\0\0\0", 8) == 0 ||
           memcmp(data + HDR_MAGIC2, "RSC\x05", 4) == 0;
}

bool mq_linux_image_probe(const uint8_t *data, size_t len)
{
    return has_magic(data, len);
}

/*
 * Names the compression of a compressed kernel (vmlinuz, Image.gz, ...), or
 * NULL. Magic numbers are those of the formats the kernel build can produce.
 */
static const char *compression_of(const uint8_t *d, size_t len)
{
    static const struct {
        const char *name;
        const char *magic;
        size_t len;
    } magics[] = {
        { "gzip", "\x1f\x8b", 2 },
        { "zstd", "\x28\xb5\x2f\xfd", 4 },
        { "xz", "\xfd" "7zXZ\0", 6 },
        { "bzip2", "BZh", 3 },
        { "lz4", "\x02\x21\x4c\x18", 4 },
        { "lz4", "\x04\x22\x4d\x18", 4 },
        { "lzo", "\x89LZO", 4 },
        { "lzma", "\x5d\0\0", 3 },
    };

    for (size_t i = 0; i < MQ_ARRAY_SIZE(magics); i++) {
        if (len >= magics[i].len && memcmp(d, magics[i].magic, magics[i].len) == 0)
            return magics[i].name;
    }
    return NULL;
}

/*
 * EFI zboot (CONFIG_EFI_ZBOOT): a PE file whose header says "zimg" at offset
 * 4 and names the payload compression at offset 24. Copies that name out.
 */
static bool is_efi_zboot(const uint8_t *d, size_t len, char *comp, size_t complen)
{
    size_t n = 0;

    if (len < 32 + 8 || memcmp(d, "MZ", 2) != 0 || memcmp(d + 4, "zimg", 4) != 0)
        return false;
    while (n + 1 < complen && n < 32 && d[24 + n] >= 'a' && d[24 + n] <= 'z') {
        comp[n] = (char)d[24 + n];
        n++;
    }
    comp[n] = '\0';
    if (n == 0)
        snprintf(comp, complen, "unknown");
    return true;
}

static int reject_not_image(const uint8_t *data, size_t len, char *err, size_t errlen)
{
    const char *comp = compression_of(data, len);
    char zcomp[16];

    if (comp) {
        set_err(err, errlen,
                "kernel is %s-compressed; decompress it to a plain Image first", comp);
    } else if (is_efi_zboot(data, len, zcomp, sizeof(zcomp))) {
        set_err(err, errlen,
                "kernel is an EFI zboot image (%s-compressed payload); extract the "
                "plain Image first",
                zcomp);
    } else if (len >= 4 && memcmp(data, "\177ELF", 4) == 0) {
        set_err(err, errlen, "kernel is an ELF file (vmlinux), not a RISC-V Image");
    } else if (len < MQ_LINUX_IMAGE_HEADER_SIZE) {
        set_err(err, errlen, "file too small for a RISC-V Linux Image (%zu bytes, header "
                "is %d)", len, MQ_LINUX_IMAGE_HEADER_SIZE);
    } else {
        set_err(err, errlen, "not a RISC-V Linux Image (no \"RISCV\" magic at 0x30 or "
                "\"RSC\\x05\" at 0x38)");
    }
    return -ENOEXEC;
}

int mq_linux_image_parse(const uint8_t *data, size_t len,
                         struct mq_linux_image_info *info, char *err, size_t errlen)
{
    uint64_t text_offset, image_size, flags;

    if (!has_magic(data, len))
        return reject_not_image(data, len, err, errlen);

    text_offset = mq_get_le64(data + HDR_TEXT_OFFSET);
    image_size = mq_get_le64(data + HDR_IMAGE_SIZE);
    flags = mq_get_le64(data + HDR_FLAGS);

    if (flags & FLAG_BE) {
        set_err(err, errlen, "big-endian kernel Image is not supported");
        return -ENOEXEC;
    }
    if (image_size == 0) {
        set_err(err, errlen, "Image header has image_size 0");
        return -EINVAL;
    }
    if (image_size > MQ_LINUX_IMAGE_MAX_SIZE || len > MQ_LINUX_IMAGE_MAX_SIZE) {
        set_err(err, errlen, "Image needs 0x%llx bytes, more than the %s limit",
                (unsigned long long)MQ_MAX(image_size, (uint64_t)len),
                fmt_size(MQ_LINUX_IMAGE_MAX_SIZE).s);
        return -EINVAL;
    }
    /* The kernel expects to sit this far into RAM; a wild value is corruption. */
    if (text_offset % MQ_PAGE_SIZE || text_offset > MQ_LINUX_IMAGE_MAX_SIZE) {
        set_err(err, errlen, "Image header has invalid text_offset 0x%llx",
                (unsigned long long)text_offset);
        return -EINVAL;
    }

    info->text_offset = text_offset;
    /* image_size covers bss, so it exceeds the file; trailing data may not. */
    info->image_size = MQ_MAX(image_size, (uint64_t)len);
    info->flags = flags;
    info->version = mq_get_le32(data + HDR_VERSION);
    return 0;
}

int mq_linux_image_load(const uint8_t *data, size_t len, struct mq_guest_mem *gm,
                        uint64_t addr, struct mq_linux_image_info *info, char *err,
                        size_t errlen)
{
    struct mq_linux_image_info hdr;
    uint8_t *dst;
    int ret;

    ret = mq_linux_image_parse(data, len, &hdr, err, errlen);
    if (ret)
        return ret;
    if (addr % MQ_LINUX_IMAGE_ALIGN) {
        set_err(err, errlen, "kernel load address 0x%llx is not 2 MiB aligned",
                (unsigned long long)addr);
        return -EINVAL;
    }
    dst = mq_guest_mem_ptr(gm, addr, hdr.image_size);
    if (!dst) {
        if (mq_guest_mem_contains(gm, addr, 0) && hdr.image_size > gm->size) {
            set_err(err, errlen, "kernel of %s does not fit in %s of RAM",
                    fmt_size(hdr.image_size).s, fmt_size(gm->size).s);
        } else {
            set_err(err, errlen,
                    "kernel of %s at 0x%llx does not fit in RAM 0x%llx-0x%llx (%s)",
                    fmt_size(hdr.image_size).s, (unsigned long long)addr,
                    (unsigned long long)gm->base,
                    (unsigned long long)(gm->base + gm->size), fmt_size(gm->size).s);
        }
        return -ERANGE;
    }
    memcpy(dst, data, len);
    /* Linux clears its own bss, but RAM reused across a reset holds old data. */
    memset(dst + len, 0, hdr.image_size - len);
    mq_guest_mem_written(gm, addr, hdr.image_size);
    if (info)
        *info = hdr;
    return 0;
}

/* One placed part of the boot layout, for the overlap check. */
struct part {
    const char *name;
    uint64_t addr, size;
};

static int check_fits(const char *name, uint64_t size, uint64_t room, uint64_t ram_size,
                      const char *where, char *err, size_t errlen)
{
    if (size <= room)
        return 0;
    set_err(err, errlen, "%s of %s does not fit in %s of RAM%s", name,
            fmt_size(size).s, fmt_size(ram_size).s, where);
    return -ENOSPC;
}

static uint64_t align_down(uint64_t v, uint64_t a)
{
    return v - v % a;
}

int mq_boot_layout(uint64_t ram_base, uint64_t ram_size, uint64_t fw_size,
                   uint64_t kernel_size, uint64_t initrd_size, uint64_t dtb_size,
                   struct mq_boot_layout *out, char *err, size_t errlen)
{
    struct mq_boot_layout l = { 0 };
    uint64_t top, kroom;
    int ret;

    if (ram_size == 0 || ram_base + ram_size < ram_base) {
        set_err(err, errlen, "invalid RAM range 0x%llx (+0x%llx)",
                (unsigned long long)ram_base, (unsigned long long)ram_size);
        return -EINVAL;
    }
    if (dtb_size == 0) {
        set_err(err, errlen, "no device tree to place");
        return -EINVAL;
    }

    /* Each part alone first, so the message names the part that is too big. */
    kroom = ram_size > MQ_BOOT_KERNEL_OFFSET ? ram_size - MQ_BOOT_KERNEL_OFFSET : 0;
    ret = check_fits("firmware", fw_size, ram_size, ram_size, "", err, errlen);
    if (!ret && kernel_size)
        ret = check_fits("kernel", kernel_size, kroom, ram_size,
                         " (it is loaded at RAM + 2 MiB)", err, errlen);
    if (!ret)
        ret = check_fits("initrd", initrd_size, ram_size, ram_size, "", err, errlen);
    if (!ret)
        ret = check_fits("device tree", dtb_size, ram_size, ram_size, "", err, errlen);
    if (ret)
        return ret;

    top = ram_base + ram_size;
    if (ram_base < MQ_BOOT_DTB_LIMIT)
        top = MQ_MIN(top, MQ_BOOT_DTB_LIMIT);
    if (dtb_size > top - ram_base) {
        set_err(err, errlen, "device tree of %s does not fit in RAM below 3 GiB",
                fmt_size(dtb_size).s);
        return -ENOSPC;
    }
    l.dtb_addr = align_down(top - dtb_size, MQ_BOOT_DTB_ALIGN);
    if (l.dtb_addr < ram_base) /* RAM not 2 MiB aligned: settle for a page. */
        l.dtb_addr = align_down(top - dtb_size, MQ_PAGE_SIZE);
    if (l.dtb_addr < ram_base) {
        set_err(err, errlen, "device tree of %s does not fit in %s of RAM",
                fmt_size(dtb_size).s, fmt_size(ram_size).s);
        return -ENOSPC;
    }
    l.dtb_size = dtb_size;

    if (initrd_size) {
        if (initrd_size > l.dtb_addr - ram_base) {
            set_err(err, errlen,
                    "initrd of %s does not fit in %s of RAM below the device tree",
                    fmt_size(initrd_size).s, fmt_size(ram_size).s);
            return -ENOSPC;
        }
        l.initrd_addr = align_down(l.dtb_addr - initrd_size, MQ_PAGE_SIZE);
        if (l.initrd_addr < ram_base) {
            set_err(err, errlen, "initrd of %s does not fit in %s of RAM",
                    fmt_size(initrd_size).s, fmt_size(ram_size).s);
            return -ENOSPC;
        }
        l.initrd_size = initrd_size;
    }

    l.fw_addr = ram_base;
    l.fw_size = fw_size;
    l.kernel_addr = ram_base + MQ_BOOT_KERNEL_OFFSET;
    l.kernel_size = kernel_size;

    /* Every part is now inside RAM, so addr + size cannot overflow. */
    const struct part parts[] = {
        { "firmware", l.fw_addr, l.fw_size },
        { "kernel", l.kernel_addr, l.kernel_size },
        { "initrd", l.initrd_addr, l.initrd_size },
        { "device tree", l.dtb_addr, l.dtb_size },
    };
    for (size_t i = 0; i < MQ_ARRAY_SIZE(parts); i++) {
        for (size_t j = i + 1; j < MQ_ARRAY_SIZE(parts); j++) {
            const struct part *a = &parts[i], *b = &parts[j];

            if (a->size == 0 || b->size == 0)
                continue;
            if (a->addr < b->addr + b->size && b->addr < a->addr + a->size) {
                set_err(err, errlen,
                        "%s (%s at 0x%llx) and %s (%s at 0x%llx) overlap: %s of RAM "
                        "is too small for them",
                        a->name, fmt_size(a->size).s, (unsigned long long)a->addr,
                        b->name, fmt_size(b->size).s, (unsigned long long)b->addr,
                        fmt_size(ram_size).s);
                return -ENOSPC;
            }
        }
    }
    *out = l;
    return 0;
}
