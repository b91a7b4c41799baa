/* SPDX-License-Identifier: MIT */
/* The boot ROM at 0x1000: reset vector and the OpenSBI fw_dynamic info block. */
#ifndef MQ_MACHINE_BOOTROM_H
#define MQ_MACHINE_BOOTROM_H

#include <stddef.h>
#include <stdint.h>

#define MQ_BOOTROM_BASE 0x1000ull
#define MQ_BOOTROM_SIZE 0x1000ull

/* S-mode is the mode OpenSBI starts the next stage in (fw_dynamic next_mode). */
#define MQ_FW_DYNAMIC_NEXT_MODE_S 1

/*
 * Write the ROM image into rom (MQ_BOOTROM_SIZE bytes): every hart runs
 * the reset vector with a0 = mhartid, a1 = dtb_addr, a2 = the address of
 * an fw_dynamic info block naming next_addr, then jumps to entry.
 */
void mq_bootrom_build(uint8_t *rom, uint64_t entry, uint64_t dtb_addr, uint64_t next_addr,
                      unsigned next_mode);

#endif
