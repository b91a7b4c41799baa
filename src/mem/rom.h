/* SPDX-License-Identifier: MIT */
/* Read-only memory region (boot ROM): a device that answers reads only. */
#ifndef MQ_MEM_ROM_H
#define MQ_MEM_ROM_H

#include <stdint.h>

#include "mem/bus.h"

/*
 * Map a copy of data[0..len) as ROM of size bytes (zero-filled) at base.
 * When contents is non-NULL it receives the ROM's own buffer, which the
 * board (never the guest) may rewrite while no hart runs, e.g. on reset.
 */
int mq_rom_add(struct mq_bus *bus, uint64_t base, uint64_t size, const void *data,
               uint64_t len, uint8_t **contents);

#endif
