/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio transport, version 2 (virtio 1.2 section 4.2): the register
 * block a board maps at each virtio-mmio slot. A slot without a device
 * model reads as device ID 0, which drivers skip, so a board can map all
 * of its slots.
 */
#ifndef MQ_VIRTIO_VIRTIO_MMIO_H
#define MQ_VIRTIO_VIRTIO_MMIO_H

#include "mem/bus.h"
#include "util/irq.h"
#include "virtio/virtio_dev.h"

/* Bytes of the register block (registers 0x000-0x0ff, config from 0x100). */
#define MQ_VIRTIO_MMIO_SIZE 0x200

#define MQ_VIRTIO_MMIO_MAGIC 0x74726976u /* "virt" */
#define MQ_VIRTIO_MMIO_VERSION 2u
#define MQ_VIRTIO_MMIO_VENDOR 0x5551414du /* "MAQU" */

/* Register offsets (virtio 1.2 section 4.2.2). */
#define MQ_VIRTIO_MMIO_MAGIC_VALUE 0x000
#define MQ_VIRTIO_MMIO_VERSION_REG 0x004
#define MQ_VIRTIO_MMIO_DEVICE_ID 0x008
#define MQ_VIRTIO_MMIO_VENDOR_ID 0x00c
#define MQ_VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define MQ_VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define MQ_VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define MQ_VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define MQ_VIRTIO_MMIO_QUEUE_SEL 0x030
#define MQ_VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define MQ_VIRTIO_MMIO_QUEUE_NUM 0x038
#define MQ_VIRTIO_MMIO_QUEUE_READY 0x044
#define MQ_VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define MQ_VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define MQ_VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define MQ_VIRTIO_MMIO_STATUS 0x070
#define MQ_VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define MQ_VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define MQ_VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define MQ_VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define MQ_VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define MQ_VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define MQ_VIRTIO_MMIO_SHM_SEL 0x0ac
#define MQ_VIRTIO_MMIO_SHM_LEN_LOW 0x0b0
#define MQ_VIRTIO_MMIO_SHM_LEN_HIGH 0x0b4
#define MQ_VIRTIO_MMIO_SHM_BASE_LOW 0x0b8
#define MQ_VIRTIO_MMIO_SHM_BASE_HIGH 0x0bc
#define MQ_VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define MQ_VIRTIO_MMIO_CONFIG 0x100

struct mq_virtio_mmio;

/*
 * Create an empty slot whose interrupt is irq (level: InterruptStatus !=
 * 0). gm must outlive the device. 0 or -ENOMEM.
 */
int mq_virtio_mmio_create(struct mq_guest_mem *gm, const struct mq_irq *irq,
                          struct mq_virtio_mmio **out);

/* The device core, for a model to attach to (mq_virtio_blk_create() etc.). */
struct mq_virtio_dev *mq_virtio_mmio_dev(struct mq_virtio_mmio *mmio);

/*
 * Bus ops: map with mq_bus_add(bus, base, MQ_VIRTIO_MMIO_SIZE,
 * &mq_virtio_mmio_ops, mmio). reset is a device reset, destroy frees the
 * slot and its model.
 */
extern const struct mq_dev_ops mq_virtio_mmio_ops;

/* Free the slot and its model (what mq_virtio_mmio_ops.destroy does). NULL ok. */
void mq_virtio_mmio_destroy(struct mq_virtio_mmio *mmio);

#endif
