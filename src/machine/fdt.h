/* SPDX-License-Identifier: MIT */
/*
 * Device tree generator for the virt board: turns a description of the
 * machine (harts, RAM, CLINT, PLIC, UART, RTC, syscon, virtio-mmio slots,
 * boot arguments) into a flattened device tree blob with libfdt.
 *
 * Format: Devicetree Specification v0.4 (flattened blob, /chosen, /cpus,
 * /memory); bindings from Linux Documentation/devicetree/bindings:
 * riscv/cpus.yaml and riscv/extensions.yaml, interrupt-controller/
 * riscv,cpu-intc.yaml and sifive,plic-1.0.0.yaml, timer/sifive,clint.yaml,
 * serial/8250.yaml (ns16550a), rtc/google,goldfish-rtc.txt, virtio/mmio.yaml,
 * power/reset/syscon-poweroff.yaml and syscon-reboot.yaml. Node names and
 * wiring follow QEMU's riscv virt board so stock OpenSBI and Linux find
 * everything where they expect it.
 */
#ifndef MQ_MACHINE_FDT_H
#define MQ_MACHINE_FDT_H

#include <stddef.h>
#include <stdint.h>

/* Limits that keep a description sane; the board stays far below them. */
#define MQ_FDT_MAX_HARTS 512
#define MQ_FDT_MAX_VIRTIO 32
#define MQ_FDT_MAX_ISA_LEN 512
#define MQ_FDT_MAX_RNG_SEED 512

/* Each virtio-mmio slot is one page of registers (virtio 1.2, 4.2.2). */
#define MQ_FDT_VIRTIO_SLOT_SIZE 0x1000ull
#define MQ_FDT_RTC_SIZE 0x1000ull
#define MQ_FDT_SYSCON_SIZE 0x1000ull

/* Values the syscon test device takes for power off and reboot (QEMU's). */
#define MQ_FDT_POWEROFF_VALUE 0x5555
#define MQ_FDT_REBOOT_VALUE 0x7777

/*
 * The blob is packed. OpenSBI grows it in place (reserved-memory and other
 * fixups) before passing it on to Linux, so the caller must keep at least
 * this much free RAM after it, e.g. by giving mq_boot_layout() a dtb_size of
 * fdt_totalsize() + MQ_FDT_FIXUP_ROOM.
 */
#define MQ_FDT_FIXUP_ROOM (64u << 10)

/*
 * Everything the device tree describes. Addresses and IRQ numbers come from
 * the board (the only place that knows them). Pointers are borrowed for the
 * duration of mq_fdt_build() only.
 */
struct mq_fdt_machine {
    /* Harts 0 .. num_harts-1, all alike. */
    uint32_t num_harts;
    /*
     * ISA string in the riscv,isa binding form: lowercase, "rv64i" or
     * "rv32i" base, single-letter extensions, then "_"-separated multi-letter
     * ones, e.g. "rv64imafdc_zicsr_zifencei_zicntr_sstc". No "g": spell it out.
     * riscv,isa-base and riscv,isa-extensions are derived from it.
     */
    const char *isa;
    const char *mmu_type;   /* "riscv,sv39", "riscv,sv48", "riscv,sv57"; NULL: none */
    uint32_t timebase_freq; /* mtime ticks per second, e.g. 10000000 */

    uint64_t ram_base, ram_size;

    uint64_t clint_base, clint_size;
    uint64_t plic_base, plic_size;
    uint32_t plic_ndev; /* sources 1..plic_ndev; every irq below is one of them */

    uint64_t uart_base, uart_size;
    uint32_t uart_irq;
    uint32_t uart_clock; /* input clock in Hz, sets the baud rate divisor */

    int has_rtc; /* goldfish RTC at rtc_base, MQ_FDT_RTC_SIZE bytes */
    uint64_t rtc_base;
    uint32_t rtc_irq;

    int has_syscon; /* sifive,test syscon with poweroff and reboot nodes */
    uint64_t syscon_base;

    /* Slot n at virtio_base + n * MQ_FDT_VIRTIO_SLOT_SIZE, irq virtio_irq_base + n. */
    uint32_t num_virtio;
    uint64_t virtio_base;
    uint32_t virtio_irq_base;

    /* /chosen */
    const char *bootargs;              /* NULL: no bootargs property */
    uint64_t initrd_start, initrd_end; /* [start, end) in RAM; both 0: none */
    const uint8_t *rng_seed;           /* NULL or rng_seed_len bytes for the kernel */
    size_t rng_seed_len;
};

/*
 * Build the device tree for m into buf (bufsize bytes, caller-owned). The
 * description is validated first (ISA string syntax, sizes, address
 * overflow, IRQs within 1..plic_ndev, initrd inside RAM); the resulting
 * blob's size is fdt_totalsize(buf).
 *
 * Returns 0, -EINVAL (bad description) or -ENOSPC (bufsize too small), with
 * one line in err (may be NULL). Thread-safe: touches only buf and err.
 */
int mq_fdt_build(const struct mq_fdt_machine *m, void *buf, size_t bufsize, char *err,
                 size_t errlen);

#endif
