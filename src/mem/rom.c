/* SPDX-License-Identifier: MIT */
/* Read-only memory: answers reads of any size, refuses writes. */
#include "mem/rom.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/le.h"

struct rom {
    uint64_t size;
    uint8_t data[];
};

static int rom_read(void *dev, uint64_t off, unsigned size, uint64_t *val)
{
    struct rom *rom = dev;
    uint8_t buf[8] = {0};

    memcpy(buf, rom->data + off, size);
    *val = mq_get_le64(buf);
    return 0;
}

static int rom_write(void *dev, uint64_t off, unsigned size, uint64_t val)
{
    return -EACCES;
}

static void rom_destroy(void *dev)
{
    free(dev);
}

static const struct mq_dev_ops rom_ops = {
    .name = "rom",
    .min_access = 1,
    .max_access = 8,
    .read = rom_read,
    .write = rom_write,
    .destroy = rom_destroy,
};

int mq_rom_add(struct mq_bus *bus, uint64_t base, uint64_t size, const void *data,
               uint64_t len, uint8_t **contents)
{
    struct rom *rom;
    int ret;

    if (len > size)
        return -EINVAL;
    rom = calloc(1, sizeof(*rom) + size);
    if (!rom)
        return -ENOMEM;
    rom->size = size;
    if (len)
        memcpy(rom->data, data, len);
    ret = mq_bus_add(bus, base, size, &rom_ops, rom);
    if (ret)
        free(rom);
    else if (contents)
        *contents = rom->data;
    return ret;
}
