/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the ELF loader: ELF-64 files built byte by byte in the test,
 * one valid file and one file per class of bad input, each checked for its
 * error message and for leaving guest RAM untouched.
 */
#include "machine/elf.h"

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

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (1ull << 20)
#define FILL 0xa5

/* A small test ELF: header, up to 4 program headers, then segment data. */
#define PHOFF 64
#define DATA_OFF 0x200
#define FILE_SIZE 0x400

struct test_elf {
    uint8_t b[FILE_SIZE];
    size_t len;
};

static void put_phdr(struct test_elf *e, unsigned i, uint32_t type, uint32_t flags,
                     uint64_t off, uint64_t vaddr, uint64_t paddr, uint64_t filesz,
                     uint64_t memsz)
{
    uint8_t *ph = e->b + PHOFF + i * 56;

    mq_put_le32(ph + 0, type);
    mq_put_le32(ph + 4, flags);
    mq_put_le64(ph + 8, off);
    mq_put_le64(ph + 16, vaddr);
    mq_put_le64(ph + 24, paddr);
    mq_put_le64(ph + 32, filesz);
    mq_put_le64(ph + 40, memsz);
    mq_put_le64(ph + 48, 8);
}

/*
 * Valid file: segment 0 is text (0x100 bytes at RAM + 0x1000, entry there),
 * segment 1 a PT_NOTE that must be ignored, segment 2 is data + bss
 * (0x80 bytes from the file, 0x1000 in memory at RAM + 0x4000).
 */
static void make_valid(struct test_elf *e)
{
    memset(e, 0, sizeof(*e));
    memcpy(e->b, "\177ELF", 4);
    e->b[4] = 2; /* ELFCLASS64 */
    e->b[5] = 1; /* little-endian */
    e->b[6] = 1; /* EV_CURRENT */
    mq_put_le16(e->b + 16, 2);   /* ET_EXEC */
    mq_put_le16(e->b + 18, 243); /* EM_RISCV */
    mq_put_le32(e->b + 20, 1);
    mq_put_le64(e->b + 24, RAM_BASE + 0x1000);
    mq_put_le64(e->b + 32, PHOFF);
    mq_put_le16(e->b + 52, 64);
    mq_put_le16(e->b + 54, 56);
    mq_put_le16(e->b + 56, 3);
    put_phdr(e, 0, 1, 5, DATA_OFF, RAM_BASE + 0x1000, RAM_BASE + 0x1000, 0x100, 0x100);
    put_phdr(e, 1, 4, 4, 0, 0, 0, 0x10, 0x10);
    put_phdr(e, 2, 1, 6, DATA_OFF + 0x100, RAM_BASE + 0x4000, RAM_BASE + 0x4000, 0x80,
             0x1000);
    for (unsigned i = 0; i < 0x180; i++)
        e->b[DATA_OFF + i] = (uint8_t)(i * 7 + 1);
    e->len = FILE_SIZE;
}

static struct mq_guest_mem gm;

static void fill_ram(void)
{
    memset(gm.host, FILL, gm.size);
}

static int ram_untouched(void)
{
    for (uint64_t i = 0; i < gm.size; i++) {
        if (gm.host[i] != FILL)
            return 0;
    }
    return 1;
}

static void test_valid(void)
{
    struct test_elf e;
    uint64_t entry = 0, lo = 0, hi = 0;
    char err[256] = "";
    int ret;

    make_valid(&e);
    CHECK(mq_elf_probe(e.b, e.len));
    fill_ram();
    ret = mq_elf_load(e.b, e.len, &gm, &entry, &lo, &hi, err, sizeof(err));
    CHECK(ret == 0);
    if (ret)
        fprintf(stderr, "  error: %s\n", err);
    CHECK(entry == RAM_BASE + 0x1000);
    CHECK(lo == RAM_BASE + 0x1000);
    CHECK(hi == RAM_BASE + 0x5000);
    CHECK(memcmp(gm.host + 0x1000, e.b + DATA_OFF, 0x100) == 0);
    CHECK(memcmp(gm.host + 0x4000, e.b + DATA_OFF + 0x100, 0x80) == 0);
    /* bss zeroed, and nothing around the segments written. */
    for (unsigned i = 0x80; i < 0x1000; i++)
        CHECK(gm.host[0x4000 + i] == 0);
    CHECK(gm.host[0xfff] == FILL && gm.host[0x1100] == FILL);
    CHECK(gm.host[0x3fff] == FILL && gm.host[0x5000] == FILL);

    /* NULL outputs are allowed. */
    CHECK(mq_elf_load(e.b, e.len, &gm, NULL, NULL, NULL, NULL, 0) == 0);

    /* ET_DYN loads at its linked addresses too. */
    mq_put_le16(e.b + 16, 3);
    CHECK(mq_elf_load(e.b, e.len, &gm, &entry, NULL, NULL, err, sizeof(err)) == 0);
}

/* Kernel-style ELF linked high: entry moves with the executable segment. */
static void test_virtual_entry(void)
{
    struct test_elf e;
    uint64_t entry = 0;
    char err[256] = "";

    make_valid(&e);
    mq_put_le64(e.b + 24, 0xffffffff80000010ull);
    put_phdr(&e, 0, 1, 5, DATA_OFF, 0xffffffff80000000ull, RAM_BASE + 0x1000, 0x100,
             0x100);
    CHECK(mq_elf_load(e.b, e.len, &gm, &entry, NULL, NULL, err, sizeof(err)) == 0);
    CHECK(entry == RAM_BASE + 0x1010);
}

typedef void (*corrupt_fn)(struct test_elf *e);

static void c_not_elf(struct test_elf *e) { e->b[1] = 'X'; }
static void c_short(struct test_elf *e) { e->len = 40; }
static void c_empty(struct test_elf *e) { e->len = 0; }
static void c_class32(struct test_elf *e) { e->b[4] = 1; }
static void c_class_bad(struct test_elf *e) { e->b[4] = 7; }
static void c_big_endian(struct test_elf *e) { e->b[5] = 2; }
static void c_version(struct test_elf *e) { e->b[6] = 0; }
static void c_machine(struct test_elf *e) { mq_put_le16(e->b + 18, 62); }
static void c_type_rel(struct test_elf *e) { mq_put_le16(e->b + 16, 1); }
static void c_phentsize(struct test_elf *e) { mq_put_le16(e->b + 54, 32); }
static void c_phnum0(struct test_elf *e) { mq_put_le16(e->b + 56, 0); }
static void c_phnum_huge(struct test_elf *e) { mq_put_le16(e->b + 56, 0xffff); }
static void c_phoff_past(struct test_elf *e) { mq_put_le64(e->b + 32, FILE_SIZE - 100); }
static void c_phoff_wrap(struct test_elf *e) { mq_put_le64(e->b + 32, UINT64_MAX - 8); }
static void c_ph_truncated(struct test_elf *e) { e->len = PHOFF + 56 + 20; }

static void c_filesz_gt_memsz(struct test_elf *e)
{
    mq_put_le64(e->b + PHOFF + 2 * 56 + 32, 0x2000);
}

static void c_data_past_file(struct test_elf *e)
{
    mq_put_le64(e->b + PHOFF + 2 * 56 + 8, FILE_SIZE - 0x10);
}

static void c_offset_wrap(struct test_elf *e)
{
    mq_put_le64(e->b + PHOFF + 2 * 56 + 8, UINT64_MAX - 0x10);
}

static void c_below_ram(struct test_elf *e)
{
    mq_put_le64(e->b + PHOFF + 2 * 56 + 24, RAM_BASE - 0x800);
}

static void c_past_ram(struct test_elf *e)
{
    mq_put_le64(e->b + PHOFF + 2 * 56 + 24, RAM_BASE + RAM_SIZE - 0x800);
}

static void c_paddr_wrap(struct test_elf *e)
{
    mq_put_le64(e->b + PHOFF + 2 * 56 + 24, UINT64_MAX - 0x7ff);
}

static void c_memsz_huge(struct test_elf *e)
{
    mq_put_le64(e->b + PHOFF + 2 * 56 + 40, UINT64_MAX);
}

static void c_overlap(struct test_elf *e)
{
    mq_put_le64(e->b + PHOFF + 2 * 56 + 24, RAM_BASE + 0x1080);
}

static void c_no_load(struct test_elf *e)
{
    mq_put_le32(e->b + PHOFF + 0 * 56, 4);
    mq_put_le32(e->b + PHOFF + 2 * 56, 6);
}

static void c_entry_outside(struct test_elf *e)
{
    mq_put_le64(e->b + 24, RAM_BASE + 0x3000);
}

static const struct {
    const char *name;
    corrupt_fn corrupt;
    int ret;
    const char *msg; /* expected substring of the error */
} bad_cases[] = {
    { "not ELF", c_not_elf, -ENOEXEC, "not an ELF file" },
    { "empty", c_empty, -ENOEXEC, "not an ELF file" },
    { "short", c_short, -EINVAL, "truncated ELF header" },
    { "32-bit", c_class32, -ENOEXEC, "32-bit ELF" },
    { "bad class", c_class_bad, -EINVAL, "invalid class 7" },
    { "big-endian", c_big_endian, -ENOEXEC, "big-endian ELF" },
    { "version", c_version, -EINVAL, "unknown version" },
    { "machine", c_machine, -ENOEXEC, "ELF for another architecture (machine 62)" },
    { "ET_REL", c_type_rel, -ENOEXEC, "ELF type 1 (relocatable object)" },
    { "phentsize", c_phentsize, -EINVAL, "program header size 32" },
    { "phnum 0", c_phnum0, -EINVAL, "no program headers" },
    { "phnum huge", c_phnum_huge, -EINVAL, "too many program headers" },
    { "phoff past end", c_phoff_past, -EINVAL, "truncated program header table" },
    { "phoff wrap", c_phoff_wrap, -EINVAL, "truncated program header table" },
    { "ph truncated", c_ph_truncated, -EINVAL, "truncated program header table" },
    { "filesz > memsz", c_filesz_gt_memsz, -EINVAL,
      "segment 2 has file size 0x2000 larger than memory size 0x1000" },
    { "data past file", c_data_past_file, -EINVAL, "segment 2 data at offset" },
    { "offset wrap", c_offset_wrap, -EINVAL, "past the end of the file" },
    { "below RAM", c_below_ram, -ERANGE,
      "segment 2 at 0x7ffff800 (size 0x1000) is outside RAM 0x80000000-0x80100000" },
    { "past RAM", c_past_ram, -ERANGE, "segment 2 at 0x800ff800" },
    { "paddr wrap", c_paddr_wrap, -ERANGE, "is outside RAM" },
    { "memsz huge", c_memsz_huge, -ERANGE, "is outside RAM" },
    { "overlap", c_overlap, -EINVAL, "segments 0 and 2 overlap at 0x80001080" },
    { "no PT_LOAD", c_no_load, -EINVAL, "no loadable segments" },
    { "entry outside", c_entry_outside, -EINVAL, "entry point 0x80003000" },
};

static void test_bad_inputs(void)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        struct test_elf e;
        char err[256] = "";
        uint64_t entry = 0x1234;
        int ret;

        make_valid(&e);
        bad_cases[i].corrupt(&e);
        fill_ram();
        ret = mq_elf_load(e.len ? e.b : NULL, e.len, &gm, &entry, NULL, NULL, err,
                          sizeof(err));
        if (ret != bad_cases[i].ret || !strstr(err, bad_cases[i].msg)) {
            fprintf(stderr, "case '%s': ret %d (want %d), err '%s' (want '%s')\n",
                    bad_cases[i].name, ret, bad_cases[i].ret, err, bad_cases[i].msg);
            failures++;
        }
        CHECK(strchr(err, '\n') == NULL);
        CHECK(entry == 0x1234);
        if (!ram_untouched()) {
            fprintf(stderr, "case '%s': guest RAM was written\n", bad_cases[i].name);
            failures++;
        }
    }
}

/* A tiny error buffer truncates the message but stays terminated. */
static void test_small_errbuf(void)
{
    struct test_elf e;
    char err[8];

    make_valid(&e);
    c_machine(&e);
    memset(err, 'x', sizeof(err));
    CHECK(mq_elf_load(e.b, e.len, &gm, NULL, NULL, NULL, err, sizeof(err)) == -ENOEXEC);
    CHECK(err[7] == '\0');
}

/* The stock OpenSBI ELF when the opensbi package is installed; skipped otherwise. */
static void test_opensbi_elf(void)
{
    static const char path[] = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.elf";
    struct mq_guest_mem big;
    uint64_t entry = 0, lo = 0, hi = 0;
    char err[256] = "";
    uint8_t *buf;
    long n;
    FILE *f = fopen(path, "rb");

    if (!f) {
        printf("SKIP: %s not installed\n", path);
        return;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n > 0 ? (size_t)n : 1);
    CHECK(buf && n > 0 && fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    CHECK(mq_guest_mem_init(&big, RAM_BASE, 16ull << 20) == 0);
    CHECK(mq_elf_load(buf, (size_t)n, &big, &entry, &lo, &hi, err, sizeof(err)) == 0);
    if (err[0])
        fprintf(stderr, "  opensbi: %s\n", err);
    CHECK(entry == RAM_BASE);
    CHECK(lo == RAM_BASE);
    CHECK(hi > lo && hi < RAM_BASE + (2ull << 20));
    mq_guest_mem_destroy(&big);
    free(buf);
}

int main(void)
{
    if (mq_guest_mem_init(&gm, RAM_BASE, RAM_SIZE) != 0) {
        fprintf(stderr, "cannot map guest RAM\n");
        return 1;
    }
    test_valid();
    test_virtual_entry();
    test_bad_inputs();
    test_small_errbuf();
    test_opensbi_elf();
    mq_guest_mem_destroy(&gm);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("elf_test: all passed\n");
    return 0;
}
