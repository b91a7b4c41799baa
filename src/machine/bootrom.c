/* SPDX-License-Identifier: MIT */
/*
 * The boot ROM contents. The reset vector follows the RISC-V boot
 * convention OpenSBI expects (a0 hart id, a1 device tree) and passes the
 * fw_dynamic info block (OpenSBI docs/firmware/fw_dynamic.md, version 2).
 */
#include "machine/bootrom.h"

#include <string.h>

#include "util/le.h"

#define FW_DYNAMIC_MAGIC 0x4942534full /* "OSBI" */
#define FW_DYNAMIC_VERSION 2

/* Offsets of the data words after the code. */
enum { ROM_ENTRY = 24, ROM_DTB = 32, ROM_INFO = 40 };

void mq_bootrom_build(uint8_t *rom, uint64_t entry, uint64_t dtb_addr, uint64_t next_addr,
                      unsigned next_mode)
{
    static const uint32_t code[6] = {
        0x00000297, /* auipc t0, 0 */
        0x02828613, /* addi  a2, t0, 40      (fw_dynamic info) */
        0xf1402573, /* csrr  a0, mhartid */
        0x0202b583, /* ld    a1, 32(t0)      (device tree) */
        0x0182b283, /* ld    t0, 24(t0)      (entry) */
        0x00028067, /* jr    t0 */
    };

    memset(rom, 0, MQ_BOOTROM_SIZE);
    for (unsigned i = 0; i < 6; i++)
        mq_put_le32(rom + 4 * i, code[i]);
    mq_put_le64(rom + ROM_ENTRY, entry);
    mq_put_le64(rom + ROM_DTB, dtb_addr);
    /* struct fw_dynamic_info: magic, version, next_addr, next_mode, options, boot_hart */
    mq_put_le64(rom + ROM_INFO + 0, FW_DYNAMIC_MAGIC);
    mq_put_le64(rom + ROM_INFO + 8, FW_DYNAMIC_VERSION);
    mq_put_le64(rom + ROM_INFO + 16, next_addr);
    mq_put_le64(rom + ROM_INFO + 24, next_mode);
    mq_put_le64(rom + ROM_INFO + 32, 0);
    /* Any hart may win the boot lottery. */
    mq_put_le64(rom + ROM_INFO + 40, UINT64_MAX);
}
