/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the RISC-V Linux Image loader and the boot layout: headers
 * built in the test (valid, bad magic, compressed, bad sizes) and layouts that
 * fit, overlap or are too large for RAM.
 */
#include "machine/linux_image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/le.h"

static int failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

#define MIB (1ull << 20)
#define RAM_BASE 0x80000000ull
#define IMG_LEN 0x3000
#define FILL 0xa5

static uint8_t img[IMG_LEN];

/* An Image like Debian's: EFI "MZ" stub, text_offset 2 MiB, bss past the file. */
static void make_image(void)
{
    memset(img, 0, sizeof(img));
    img[0] = 'M';
    img[1] = 'Z';
    mq_put_le64(img + 0x08, 2 * MIB);
    mq_put_le64(img + 0x10, 0x5000);
    mq_put_le64(img + 0x18, 0);
    mq_put_le32(img + 0x20, 2); /* v0.2 */
    memcpy(img + 0x30, "RISCV\0\0\0", 8);
    memcpy(img + 0x38, "RSC\x05", 4);
    for (unsigned i = 64; i < IMG_LEN; i++)
        img[i] = (uint8_t)(i * 13 + 5);
}

static void expect_parse_error(const char *name, size_t len, int want_ret,
                               const char *want_msg)
{
    struct mq_linux_image_info info;
    char err[256] = "";
    int ret = mq_linux_image_parse(len ? img : NULL, len, &info, err, sizeof(err));

    if (ret != want_ret || !strstr(err, want_msg)) {
        fprintf(stderr, "parse '%s': ret %d (want %d), err '%s' (want '%s')\n", name,
                ret, want_ret, err, want_msg);
        failures++;
    }
}

static void test_parse(void)
{
    struct mq_linux_image_info info;
    char err[256] = "";

    make_image();
    CHECK(mq_linux_image_probe(img, IMG_LEN));
    CHECK(mq_linux_image_parse(img, IMG_LEN, &info, err, sizeof(err)) == 0);
    CHECK(info.text_offset == 2 * MIB);
    CHECK(info.image_size == 0x5000);
    CHECK(info.version == 2);
    CHECK(info.flags == 0);

    /* Only magic2 (future headers), only magic (v0.1): both accepted. */
    memset(img + 0x30, 0, 8);
    CHECK(mq_linux_image_parse(img, IMG_LEN, &info, err, sizeof(err)) == 0);
    make_image();
    memset(img + 0x38, 0, 4);
    CHECK(mq_linux_image_parse(img, IMG_LEN, &info, err, sizeof(err)) == 0);

    /* Trailing data past image_size: the file length wins. */
    make_image();
    mq_put_le64(img + 0x10, 0x1000);
    CHECK(mq_linux_image_parse(img, IMG_LEN, &info, err, sizeof(err)) == 0);
    CHECK(info.image_size == IMG_LEN);
}

static void test_parse_errors(void)
{
    make_image();
    memset(img + 0x30, 0, 8);
    memset(img + 0x38, 0, 4);
    expect_parse_error("bad magic", IMG_LEN, -ENOEXEC, "not a RISC-V Linux Image");

    make_image();
    expect_parse_error("short", 63, -ENOEXEC, "file too small");
    expect_parse_error("empty", 0, -ENOEXEC, "file too small");

    make_image();
    mq_put_le64(img + 0x10, 0);
    expect_parse_error("image_size 0", IMG_LEN, -EINVAL, "image_size 0");

    make_image();
    mq_put_le64(img + 0x10, UINT64_MAX);
    expect_parse_error("image_size huge", IMG_LEN, -EINVAL, "more than the 1024 MiB limit");

    make_image();
    mq_put_le64(img + 0x10, MQ_LINUX_IMAGE_MAX_SIZE + 1);
    expect_parse_error("image_size limit+1", IMG_LEN, -EINVAL, "limit");

    make_image();
    mq_put_le64(img + 0x08, 0x123);
    expect_parse_error("text_offset", IMG_LEN, -EINVAL, "invalid text_offset 0x123");

    make_image();
    mq_put_le64(img + 0x18, 1);
    expect_parse_error("big-endian", IMG_LEN, -ENOEXEC, "big-endian");

    memset(img, 0, sizeof(img));
    memcpy(img, "\x1f\x8b\x08\x00", 4);
    expect_parse_error("gzip", IMG_LEN, -ENOEXEC, "kernel is gzip-compressed");
    memcpy(img, "\x28\xb5\x2f\xfd", 4);
    expect_parse_error("zstd", IMG_LEN, -ENOEXEC, "kernel is zstd-compressed");
    memcpy(img, "\xfd" "7zXZ\0", 6);
    expect_parse_error("xz", IMG_LEN, -ENOEXEC, "kernel is xz-compressed");

    memset(img, 0, sizeof(img));
    memcpy(img, "MZ\0\0zimg", 8);
    memcpy(img + 24, "gzip", 4);
    expect_parse_error("zboot", IMG_LEN, -ENOEXEC, "EFI zboot image (gzip-compressed");

    memset(img, 0, sizeof(img));
    memcpy(img, "\177ELF\2\1\1", 7);
    expect_parse_error("elf", IMG_LEN, -ENOEXEC, "ELF file (vmlinux)");
}

static void test_load(void)
{
    struct mq_guest_mem gm;
    struct mq_linux_image_info info = { 0 };
    char err[256] = "";
    int ret;

    CHECK(mq_guest_mem_init(&gm, RAM_BASE, 4 * MIB) == 0);
    memset(gm.host, FILL, gm.size);
    make_image();

    ret = mq_linux_image_load(img, IMG_LEN, &gm, RAM_BASE + 2 * MIB, &info, err,
                              sizeof(err));
    CHECK(ret == 0);
    CHECK(info.image_size == 0x5000);
    CHECK(memcmp(gm.host + 2 * MIB, img, IMG_LEN) == 0);
    for (unsigned i = IMG_LEN; i < 0x5000; i++)
        CHECK(gm.host[2 * MIB + i] == 0);
    CHECK(gm.host[2 * MIB + 0x5000] == FILL);
    CHECK(gm.host[2 * MIB - 1] == FILL);

    /* Failures write nothing. */
    memset(gm.host, FILL, gm.size);
    ret = mq_linux_image_load(img, IMG_LEN, &gm, RAM_BASE + 0x1000, NULL, err,
                              sizeof(err));
    CHECK(ret == -EINVAL && strstr(err, "not 2 MiB aligned"));

    /* Kernel larger than all of RAM. */
    mq_put_le64(img + 0x10, 8 * MIB);
    ret = mq_linux_image_load(img, IMG_LEN, &gm, RAM_BASE, NULL, err, sizeof(err));
    CHECK(ret == -ERANGE && strstr(err, "kernel of 8 MiB does not fit in 4 MiB of RAM"));

    /* Fits in RAM but not at this address. */
    mq_put_le64(img + 0x10, 3 * MIB);
    ret = mq_linux_image_load(img, IMG_LEN, &gm, RAM_BASE + 2 * MIB, NULL, err,
                              sizeof(err));
    CHECK(ret == -ERANGE && strstr(err, "kernel of 3 MiB at 0x80200000 does not fit"));

    /* Address outside RAM, including one where addr + size wraps. */
    mq_put_le64(img + 0x10, 0x5000);
    ret = mq_linux_image_load(img, IMG_LEN, &gm, 0, NULL, err, sizeof(err));
    CHECK(ret == -ERANGE);
    ret = mq_linux_image_load(img, IMG_LEN, &gm, 0xffffffffffe00000ull, NULL, err,
                              sizeof(err));
    CHECK(ret == -ERANGE);

    for (uint64_t i = 0; i < gm.size; i++) {
        if (gm.host[i] != FILL) {
            fprintf(stderr, "failed load wrote RAM at +0x%llx\n", (unsigned long long)i);
            failures++;
            break;
        }
    }
    mq_guest_mem_destroy(&gm);
}

static void test_layout(void)
{
    struct mq_boot_layout l;
    char err[256] = "";
    int ret;

    /* 256 MiB: like qemu -m 256M with a Debian kernel and a 20 MiB initrd. */
    ret = mq_boot_layout(RAM_BASE, 256 * MIB, 0x46000, 0x1e6c000, 20 * MIB, 0x2000,
                         &l, err, sizeof(err));
    CHECK(ret == 0);
    CHECK(l.fw_addr == RAM_BASE && l.fw_size == 0x46000);
    CHECK(l.kernel_addr == RAM_BASE + 2 * MIB && l.kernel_size == 0x1e6c000);
    CHECK(l.dtb_addr == RAM_BASE + 254 * MIB && l.dtb_size == 0x2000);
    CHECK(l.initrd_addr == RAM_BASE + 234 * MIB && l.initrd_size == 20 * MIB);

    /* Unaligned initrd size: start page aligned, still below the DTB. */
    ret = mq_boot_layout(RAM_BASE, 256 * MIB, 0x46000, 0x1e6c000, 12345, 0x2000, &l,
                         err, sizeof(err));
    CHECK(ret == 0 && l.initrd_addr % 4096 == 0);
    CHECK(l.initrd_addr + l.initrd_size <= l.dtb_addr);

    /* Without initrd. */
    ret = mq_boot_layout(RAM_BASE, 256 * MIB, 0x46000, 0x1e6c000, 0, 0x2000, &l, err,
                         sizeof(err));
    CHECK(ret == 0 && l.initrd_addr == 0 && l.initrd_size == 0);

    /* 8 GiB: the DTB stays below 3 GiB, as QEMU keeps it. */
    ret = mq_boot_layout(RAM_BASE, 8192 * MIB, 0x46000, 0x1e6c000, 20 * MIB, 0x2000,
                         &l, err, sizeof(err));
    CHECK(ret == 0 && l.dtb_addr == 0xbfe00000ull);
    CHECK(l.initrd_addr + l.initrd_size <= l.dtb_addr);

    /* RAM above 3 GiB: the DTB goes to the top of RAM. */
    ret = mq_boot_layout(0x100000000ull, 64 * MIB, 0, 8 * MIB, 0, 0x2000, &l, err,
                         sizeof(err));
    CHECK(ret == 0 && l.dtb_addr == 0x100000000ull + 62 * MIB);

    /* Each part too large on its own. */
    ret = mq_boot_layout(RAM_BASE, 256 * MIB, 0x46000, 0x1e6c000, 300 * MIB, 0x2000,
                         &l, err, sizeof(err));
    CHECK(ret == -ENOSPC && strstr(err, "initrd of 300 MiB does not fit in 256 MiB of RAM"));
    ret = mq_boot_layout(RAM_BASE, 32 * MIB, 0x46000, 31 * MIB, 0, 0x2000, &l, err,
                         sizeof(err));
    CHECK(ret == -ENOSPC && strstr(err, "kernel of 31 MiB does not fit in 32 MiB of RAM"));
    ret = mq_boot_layout(RAM_BASE, 1 * MIB, 0, 64, 0, 0x2000, &l, err, sizeof(err));
    CHECK(ret == -ENOSPC && strstr(err, "kernel of 64 bytes does not fit"));
    ret = mq_boot_layout(RAM_BASE, 16 * MIB, 17 * MIB, 0, 0, 0x2000, &l, err,
                         sizeof(err));
    CHECK(ret == -ENOSPC && strstr(err, "firmware of 17 MiB"));
    ret = mq_boot_layout(RAM_BASE, 16 * MIB, 0, 0, 0, 17 * MIB, &l, err, sizeof(err));
    CHECK(ret == -ENOSPC && strstr(err, "device tree of 17 MiB"));

    /* Each fits alone, together they collide. */
    ret = mq_boot_layout(RAM_BASE, 64 * MIB, 0x46000, 40 * MIB, 30 * MIB, 0x2000, &l,
                         err, sizeof(err));
    CHECK(ret == -ENOSPC && strstr(err, "kernel (40 MiB at 0x80200000) and initrd"));
    CHECK(strstr(err, "overlap"));
    ret = mq_boot_layout(RAM_BASE, 64 * MIB, 3 * MIB, 8 * MIB, 0, 0x2000, &l, err,
                         sizeof(err));
    CHECK(ret == -ENOSPC && strstr(err, "firmware (3 MiB at 0x80000000) and kernel"));
    ret = mq_boot_layout(RAM_BASE, 64 * MIB, 0, 62 * MIB, 0, 0x2000, &l, err,
                         sizeof(err));
    CHECK(ret == -ENOSPC && strstr(err, "kernel (62 MiB at 0x80200000) and device tree"));
    ret = mq_boot_layout(RAM_BASE, 64 * MIB, 0, 8 * MIB, 63 * MIB, 0x2000, &l, err,
                         sizeof(err));
    CHECK(ret == -ENOSPC && strstr(err, "initrd of 63 MiB does not fit"));

    /* Bad arguments. */
    ret = mq_boot_layout(RAM_BASE, 0, 0, 0, 0, 0x2000, &l, err, sizeof(err));
    CHECK(ret == -EINVAL);
    ret = mq_boot_layout(UINT64_MAX - 4095, 8192, 0, 0, 0, 0x2000, &l, err, sizeof(err));
    CHECK(ret == -EINVAL);
    ret = mq_boot_layout(RAM_BASE, 64 * MIB, 0, 0, 0, 0, &l, err, sizeof(err));
    CHECK(ret == -EINVAL);

    /* Sizes near UINT64_MAX must not wrap any check. */
    ret = mq_boot_layout(RAM_BASE, 64 * MIB, UINT64_MAX, UINT64_MAX, UINT64_MAX,
                         UINT64_MAX, &l, err, sizeof(err));
    CHECK(ret == -ENOSPC);
    ret = mq_boot_layout(RAM_BASE, 64 * MIB, 0, 0, UINT64_MAX - 10, 0x2000, &l, err,
                         sizeof(err));
    CHECK(ret == -ENOSPC);

    /* Tiny RAM not 2 MiB aligned: DTB falls back to page alignment. */
    ret = mq_boot_layout(0x80001000ull, 1 * MIB, 0x1000, 0, 0, 0x2000, &l, err,
                         sizeof(err));
    CHECK(ret == 0 && l.dtb_addr >= 0x80001000ull && l.dtb_addr % 4096 == 0);
    CHECK(l.dtb_addr + l.dtb_size <= 0x80001000ull + MIB);
}

/* The Debian kernel Image, when a path is given in MQ_TEST_KERNEL; else skipped. */
static void test_real_kernel(void)
{
    const char *path = getenv("MQ_TEST_KERNEL");
    struct mq_linux_image_info info;
    char err[256] = "";
    uint8_t *buf;
    long n;
    FILE *f;

    if (!path || !(f = fopen(path, "rb"))) {
        printf("SKIP: set MQ_TEST_KERNEL to a RISC-V Image to parse a real kernel\n");
        return;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n > 0 ? (size_t)n : 1);
    CHECK(buf && n > 0 && fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    CHECK(mq_linux_image_parse(buf, (size_t)n, &info, err, sizeof(err)) == 0);
    printf("%s: text_offset 0x%llx image_size 0x%llx version %u.%u %s\n", path,
           (unsigned long long)info.text_offset, (unsigned long long)info.image_size,
           info.version >> 16, info.version & 0xffff, err);
    free(buf);
}

int main(void)
{
    test_parse();
    test_parse_errors();
    test_load();
    test_layout();
    test_real_kernel();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("linux_image_test: all passed\n");
    return 0;
}
