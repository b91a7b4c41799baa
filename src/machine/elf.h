/* SPDX-License-Identifier: MIT */
/*
 * ELF loader for firmware and kernels given as ELF files (-bios/-kernel style).
 *
 * Format: System V ABI, ELF-64 Object File Format 1.5 (ELF header, program
 * header table) with the RISC-V psABI (EM_RISCV = 243). Only what a boot
 * loader needs: PT_LOAD segments placed at their physical addresses.
 */
#ifndef MQ_MACHINE_ELF_H
#define MQ_MACHINE_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/guest_mem.h"

/* More program headers than this is not a firmware or kernel image. */
#define MQ_ELF_MAX_PHNUM 256

/*
 * True when data starts with the ELF magic. Says nothing about whether
 * mq_elf_load() will accept it (class, machine, ...): that way a file that
 * is an ELF for the wrong machine gets the loader's precise error instead of
 * being tried as a raw binary. data may be NULL when len is 0.
 */
bool mq_elf_probe(const uint8_t *data, size_t len);

/*
 * Load a 64-bit little-endian RISC-V ELF (ET_EXEC, or ET_DYN at its linked
 * addresses) into guest RAM. Each PT_LOAD segment with p_memsz > 0 is placed
 * at p_paddr, as QEMU does for -bios and -kernel: p_filesz bytes are copied
 * from the file and the rest up to p_memsz is zeroed.
 *
 * Every header field is validated and every segment checked against the file
 * and against RAM before anything is written, so a rejected file leaves guest
 * RAM untouched. Writes go through the guest-memory accessors so the code
 * tracker sees them.
 *
 * data/len: the whole file, owned by the caller, only read.
 * entry:    out, the entry point (e_entry, moved from virtual to physical when
 *           the executable segment holding it has p_vaddr != p_paddr).
 * lowest:   out, lowest guest address written.
 * highest:  out, one past the highest guest address written.
 *           entry, lowest and highest may each be NULL.
 * err:      out, one line naming the problem on failure; may be NULL.
 *
 * Returns 0, -ENOEXEC (not an ELF, or an ELF this machine cannot run),
 * -EINVAL (malformed ELF) or -ERANGE (a segment is not inside RAM).
 * Not thread-safe against other writers of the same guest RAM.
 */
int mq_elf_load(const uint8_t *data, size_t len, struct mq_guest_mem *gm,
                uint64_t *entry, uint64_t *lowest, uint64_t *highest, char *err,
                size_t errlen);

#endif
