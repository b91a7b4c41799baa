/* SPDX-License-Identifier: MIT */
/* The virt board's private state, shared by virt.c and virt_snapshot.c. */
#ifndef MQ_MACHINE_VIRT_INT_H
#define MQ_MACHINE_VIRT_INT_H

#include "machine/virt.h"
#include "mem/bus.h"
#include "mem/guest_mem.h"
#include "util/clock.h"
#include "util/irq.h"

struct mq_plic;
struct mq_uart16550;
struct mq_virtio_mmio;
struct mq_blockdev;
struct mq_chardev;
struct mq_virtio_console;
struct mq_virtio_dev;
struct mq_virtio_input;

/* The memory map (DESIGN.md, "The virt board"). */
#define VIRT_SYSCON_BASE 0x00100000ull
#define VIRT_RTC_BASE 0x00101000ull
#define VIRT_CLINT_BASE 0x02000000ull
#define VIRT_PLIC_BASE 0x0c000000ull
#define VIRT_UART_BASE 0x10000000ull
#define VIRT_VIRTIO_BASE 0x10001000ull
#define VIRT_VIRTIO_SLOTS MQ_VIRT_VIRTIO_SLOTS
#define VIRT_UART_IRQ 10
#define VIRT_RTC_IRQ 11
#define VIRT_VIRTIO_IRQ_BASE 1
#define VIRT_PLIC_NDEV 95
#define VIRT_UART_CLOCK 3686400
#define VIRT_DTB_MAX (64 * 1024)
#define VIRT_ISA "rv64imafdc_zicsr_zifencei_zicntr_sstc"

struct mq_virt {
    struct mq_virt_config cfg;
    struct mq_guest_mem ram;
    struct mq_bus bus;
    struct mq_timebase timebase;
    struct rv_hart *harts[MQ_VIRT_MAX_HARTS];
    unsigned nharts;
    struct mq_plic *plic;
    struct mq_uart16550 *uart;
    uint8_t *rom; /* the boot ROM device's contents */
    struct mq_virtio_mmio *virtio[VIRT_VIRTIO_SLOTS];
    struct mq_irq virtio_irq[VIRT_VIRTIO_SLOTS];
    unsigned virtio_used; /* slots given a device so far */
    struct mq_blockdev *disks[VIRT_VIRTIO_SLOTS];
    struct mq_virtio_dev *disk_dev[VIRT_VIRTIO_SLOTS]; /* vda.. */
    struct mq_virtio_dev *nic_dev[VIRT_VIRTIO_SLOTS];  /* eth0.. */
    /* Guest clock while stopped (pause, snapshot): mtime to resume from. */
    bool clock_stopped;
    uint64_t stopped_mtime;
    struct mq_chardev *hvc_chr;
    struct mq_virtio_console *hvc;
    struct mq_virtio_input *input; /* the power button; NULL: none */
};

#endif
