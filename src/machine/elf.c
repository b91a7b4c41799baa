/* SPDX-License-Identifier: MIT */
/*
 * ELF loader: places the PT_LOAD segments of a RISC-V ELF-64 file in guest RAM.
 *
 * Format: System V ABI / ELF-64 Object File Format 1.5, sections "ELF Header"
 * and "Program Header Table"; machine and flags from the RISC-V ELF psABI.
 * Fields are read with explicit little-endian loads at their spec offsets,
 * never by casting the file to a struct.
 */
#include "machine/elf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/compiler.h"
#include "util/le.h"

/* e_ident and ELF header (ELF-64 spec, figure 2 and table 2). */
#define EI_CLASS 4
#define EI_DATA 5
#define EI_VERSION 6
#define ELFCLASS32 1
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ELFDATA2MSB 2
#define EV_CURRENT 1

#define EH_TYPE 16
#define EH_MACHINE 18
#define EH_VERSION 20
#define EH_ENTRY 24
#define EH_PHOFF 32
#define EH_PHENTSIZE 54
#define EH_PHNUM 56
#define EH_SIZE 64

#define ET_REL 1
#define ET_EXEC 2
#define ET_DYN 3
#define ET_CORE 4
#define EM_RISCV 243

/* Extended numbering: the real count is in section header 0 (sh_info). */
#define PN_XNUM 0xffff

/* Program header (ELF-64 spec, figure 6). */
#define PH_TYPE 0
#define PH_FLAGS 4
#define PH_OFFSET 8
#define PH_VADDR 16
#define PH_PADDR 24
#define PH_FILESZ 32
#define PH_MEMSZ 40
#define PH_SIZE 56

#define PT_LOAD 1
#define PF_X 1

struct elf_seg {
    unsigned index; /* program header index, for messages */
    uint32_t flags;
    uint64_t offset;
    uint64_t vaddr;
    uint64_t paddr;
    uint64_t filesz;
    uint64_t memsz;
};

static void MQ_PRINTF(3, 4) set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

bool mq_elf_probe(const uint8_t *data, size_t len)
{
    return len >= 4 && memcmp(data, "\177ELF", 4) == 0;
}

static const char *type_name(uint16_t type)
{
    switch (type) {
    case ET_REL:
        return "relocatable object";
    case ET_CORE:
        return "core dump";
    default:
        return "unknown type";
    }
}

/* Checks the ELF header; on success fills the program header table place. */
static int check_header(const uint8_t *data, size_t len, uint64_t *phoff,
                        unsigned *phnum, char *err, size_t errlen)
{
    uint16_t type, machine, phentsize, nph;
    uint64_t off;

    if (!mq_elf_probe(data, len)) {
        set_err(err, errlen, "not an ELF file");
        return -ENOEXEC;
    }
    if (len < EH_SIZE) {
        set_err(err, errlen, "truncated ELF header (%zu bytes, need %d)", len, EH_SIZE);
        return -EINVAL;
    }
    if (data[EI_CLASS] == ELFCLASS32) {
        set_err(err, errlen, "32-bit ELF (only 64-bit RISC-V ELF is supported)");
        return -ENOEXEC;
    }
    if (data[EI_CLASS] != ELFCLASS64) {
        set_err(err, errlen, "ELF with invalid class %u", data[EI_CLASS]);
        return -EINVAL;
    }
    if (data[EI_DATA] == ELFDATA2MSB) {
        set_err(err, errlen, "big-endian ELF (RISC-V is little-endian)");
        return -ENOEXEC;
    }
    if (data[EI_DATA] != ELFDATA2LSB) {
        set_err(err, errlen, "ELF with invalid data encoding %u", data[EI_DATA]);
        return -EINVAL;
    }
    if (data[EI_VERSION] != EV_CURRENT || mq_get_le32(data + EH_VERSION) != EV_CURRENT) {
        set_err(err, errlen, "ELF with unknown version %u", data[EI_VERSION]);
        return -EINVAL;
    }
    machine = mq_get_le16(data + EH_MACHINE);
    if (machine != EM_RISCV) {
        set_err(err, errlen, "ELF for another architecture (machine %u)", machine);
        return -ENOEXEC;
    }
    type = mq_get_le16(data + EH_TYPE);
    if (type != ET_EXEC && type != ET_DYN) {
        set_err(err, errlen, "ELF type %u (%s) cannot be loaded; need an executable",
                type, type_name(type));
        return -ENOEXEC;
    }

    off = mq_get_le64(data + EH_PHOFF);
    phentsize = mq_get_le16(data + EH_PHENTSIZE);
    nph = mq_get_le16(data + EH_PHNUM);
    if (nph == 0) {
        set_err(err, errlen, "ELF has no program headers");
        return -EINVAL;
    }
    if (phentsize != PH_SIZE) {
        set_err(err, errlen, "ELF program header size %u (expected %d)", phentsize,
                PH_SIZE);
        return -EINVAL;
    }
    if (nph == PN_XNUM || nph > MQ_ELF_MAX_PHNUM) {
        set_err(err, errlen, "ELF has too many program headers (%u, limit %d)", nph,
                MQ_ELF_MAX_PHNUM);
        return -EINVAL;
    }
    /* nph * PH_SIZE cannot overflow: nph <= MQ_ELF_MAX_PHNUM. */
    if (!mq_range_ok(off, (uint64_t)nph * PH_SIZE, len)) {
        set_err(err, errlen,
                "truncated program header table (%u entries at offset 0x%llx, "
                "file is 0x%zx bytes)",
                nph, (unsigned long long)off, len);
        return -EINVAL;
    }
    *phoff = off;
    *phnum = nph;
    return 0;
}

/* Reads and checks one PT_LOAD header against the file and guest RAM. */
static int check_segment(const uint8_t *ph, unsigned index, size_t len,
                         const struct mq_guest_mem *gm, struct elf_seg *s, char *err,
                         size_t errlen)
{
    s->index = index;
    s->flags = mq_get_le32(ph + PH_FLAGS);
    s->offset = mq_get_le64(ph + PH_OFFSET);
    s->vaddr = mq_get_le64(ph + PH_VADDR);
    s->paddr = mq_get_le64(ph + PH_PADDR);
    s->filesz = mq_get_le64(ph + PH_FILESZ);
    s->memsz = mq_get_le64(ph + PH_MEMSZ);

    if (s->filesz > s->memsz) {
        set_err(err, errlen,
                "segment %u has file size 0x%llx larger than memory size 0x%llx", index,
                (unsigned long long)s->filesz, (unsigned long long)s->memsz);
        return -EINVAL;
    }
    if (!mq_range_ok(s->offset, s->filesz, len)) {
        set_err(err, errlen,
                "segment %u data at offset 0x%llx (size 0x%llx) is past the end of the "
                "file (0x%zx bytes)",
                index, (unsigned long long)s->offset, (unsigned long long)s->filesz, len);
        return -EINVAL;
    }
    if (!mq_guest_mem_contains(gm, s->paddr, s->memsz)) {
        set_err(err, errlen,
                "segment %u at 0x%llx (size 0x%llx) is outside RAM 0x%llx-0x%llx", index,
                (unsigned long long)s->paddr, (unsigned long long)s->memsz,
                (unsigned long long)gm->base, (unsigned long long)(gm->base + gm->size));
        return -ERANGE;
    }
    return 0;
}

/* Both segments are known to lie inside RAM, so the ends cannot overflow. */
static bool segs_overlap(const struct elf_seg *a, const struct elf_seg *b)
{
    return a->paddr < b->paddr + b->memsz && b->paddr < a->paddr + a->memsz;
}

/*
 * The ELF entry is a virtual address. When the executable segment holding it
 * is linked at a virtual address other than where it is loaded, move the
 * entry by the same amount (what QEMU does too), since the hart starts with
 * translation off.
 */
static uint64_t physical_entry(uint64_t e_entry, const struct elf_seg *segs, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const struct elf_seg *s = &segs[i];

        if ((s->flags & PF_X) && s->vaddr != s->paddr && e_entry >= s->vaddr &&
            e_entry - s->vaddr < s->memsz)
            return e_entry - s->vaddr + s->paddr;
    }
    return e_entry;
}

static bool entry_loaded(uint64_t entry, const struct elf_seg *segs, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (entry >= segs[i].paddr && entry - segs[i].paddr < segs[i].memsz)
            return true;
    }
    return false;
}

static int copy_segment(struct mq_guest_mem *gm, const uint8_t *data,
                        const struct elf_seg *s)
{
    /* check_segment() made sure the whole range is RAM; NULL cannot happen. */
    uint8_t *dst = mq_guest_mem_ptr(gm, s->paddr, s->memsz);

    if (!dst)
        return -EFAULT;
    memcpy(dst, data + s->offset, s->filesz);
    memset(dst + s->filesz, 0, s->memsz - s->filesz);
    mq_guest_mem_written(gm, s->paddr, s->memsz);
    return 0;
}

int mq_elf_load(const uint8_t *data, size_t len, struct mq_guest_mem *gm,
                uint64_t *entry, uint64_t *lowest, uint64_t *highest, char *err,
                size_t errlen)
{
    struct elf_seg segs[MQ_ELF_MAX_PHNUM];
    uint64_t phoff, e_entry, lo = UINT64_MAX, hi = 0;
    unsigned phnum, nseg = 0;
    int ret;

    ret = check_header(data, len, &phoff, &phnum, err, errlen);
    if (ret)
        return ret;

    /* Pass 1: validate everything; nothing is written until all is known good. */
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = data + phoff + (uint64_t)i * PH_SIZE;
        struct elf_seg *s = &segs[nseg];

        if (mq_get_le32(ph + PH_TYPE) != PT_LOAD || mq_get_le64(ph + PH_MEMSZ) == 0)
            continue;
        ret = check_segment(ph, i, len, gm, s, err, errlen);
        if (ret)
            return ret;
        for (unsigned j = 0; j < nseg; j++) {
            if (segs_overlap(&segs[j], s)) {
                set_err(err, errlen, "segments %u and %u overlap at 0x%llx",
                        segs[j].index, i,
                        (unsigned long long)MQ_MAX(segs[j].paddr, s->paddr));
                return -EINVAL;
            }
        }
        lo = MQ_MIN(lo, s->paddr);
        hi = MQ_MAX(hi, s->paddr + s->memsz);
        nseg++;
    }
    if (nseg == 0) {
        set_err(err, errlen, "ELF has no loadable segments");
        return -EINVAL;
    }
    e_entry = physical_entry(mq_get_le64(data + EH_ENTRY), segs, nseg);
    if (!entry_loaded(e_entry, segs, nseg)) {
        set_err(err, errlen, "entry point 0x%llx is not inside any loaded segment",
                (unsigned long long)e_entry);
        return -EINVAL;
    }

    /* Pass 2: write. */
    for (unsigned i = 0; i < nseg; i++) {
        if (copy_segment(gm, data, &segs[i]) != 0) {
            set_err(err, errlen, "internal error: segment %u left RAM after its check",
                    segs[i].index);
            return -EFAULT;
        }
    }

    if (entry)
        *entry = e_entry;
    if (lowest)
        *lowest = lo;
    if (highest)
        *highest = hi;
    return 0;
}
