/* SPDX-License-Identifier: MIT */
/*
 * The virt board (QEMU-virt-compatible memory map, DESIGN.md): creates RAM,
 * the boot ROM, CLINT, PLIC, UART, RTC and syscon, wires their interrupt
 * lines to the harts, loads the boot images and builds the device tree.
 */
#include "machine/virt.h"
#include "machine/virt_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/aclint.h"
#include "hw/goldfish_rtc.h"
#include "hw/plic.h"
#include "hw/syscon.h"
#include "hw/uart16550.h"
#include "machine/bootrom.h"
#include "machine/elf.h"
#include "machine/fdt.h"
#include "machine/linux_image.h"
#include "mem/bus.h"
#include "mem/guest_mem.h"
#include "mem/rom.h"
#include "block/blockdev.h"
#include "util/file.h"
#include "util/log.h"
#include "net/net.h"
#include "util/chardev.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_console.h"
#include "virtio/virtio_input.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_mmio.h"
#include "virtio/virtio_rng.h"

/* ---- interrupt wiring ---- */

static void clint_set_msip(void *opaque, unsigned hart, bool level)
{
    struct mq_virt *m = opaque;

    if (hart < m->nharts)
        rv_hart_set_irq(m->harts[hart], RV_IRQ_MSI, level);
}

static void clint_set_mtimecmp(void *opaque, unsigned hart, uint64_t value)
{
    struct mq_virt *m = opaque;

    if (hart < m->nharts)
        rv_hart_set_mtimecmp(m->harts[hart], value);
}

/* PLIC context 2h is hart h's M-mode external interrupt, 2h+1 its S-mode one. */
static void plic_ctx_irq(void *opaque, unsigned ctx, bool level)
{
    struct mq_virt *m = opaque;
    unsigned hart = ctx / 2;

    if (hart < m->nharts)
        rv_hart_set_irq(m->harts[hart], ctx & 1 ? RV_IRQ_SEI : RV_IRQ_MEI, level);
}

static void syscon_action(void *opaque, enum mq_syscon_action action, int code)
{
    struct mq_virt *m = opaque;

    if (m->cfg.power)
        m->cfg.power(m->cfg.power_opaque,
                     action == MQ_SYSCON_REBOOT ? MQ_VIRT_REBOOT : MQ_VIRT_POWEROFF, code);
}

static void uart_tx(void *opaque, const uint8_t *buf, size_t len)
{
    struct mq_virt *m = opaque;

    if (m->cfg.console_out)
        m->cfg.console_out(m->cfg.console_opaque, buf, len);
}

/* ---- construction ---- */

static int add_device(struct mq_virt *m, uint64_t base, uint64_t size,
                      const struct mq_dev_ops *ops, void *dev, char *err, size_t errlen)
{
    int ret;

    if (!dev) {
        snprintf(err, errlen, "virt: cannot create device %s: out of memory", ops->name);
        return -ENOMEM;
    }
    ret = mq_bus_add(&m->bus, base, size, ops, dev);
    if (ret) {
        if (ops->destroy)
            ops->destroy(dev);
        snprintf(err, errlen, "virt: cannot map %s at 0x%llx: %s", ops->name,
                 (unsigned long long)base, strerror(-ret));
    }
    return ret;
}

/* Map all virtio-mmio slots; each starts empty (device id 0), as on QEMU. */
static int create_virtio_slots(struct mq_virt *m, char *err, size_t errlen)
{
    for (unsigned i = 0; i < VIRT_VIRTIO_SLOTS; i++) {
        int ret;
        m->virtio_irq[i] = mq_plic_irq(m->plic, VIRT_VIRTIO_IRQ_BASE + i);
        ret = mq_virtio_mmio_create(&m->ram, &m->virtio_irq[i], &m->virtio[i]);
        if (ret) {
            snprintf(err, errlen, "virt: cannot create virtio slot %u: %s", i, strerror(-ret));
            return ret;
        }
        ret = add_device(m, VIRT_VIRTIO_BASE + 0x1000ull * i, MQ_VIRTIO_MMIO_SIZE,
                         &mq_virtio_mmio_ops, m->virtio[i], err, errlen);
        if (ret) {
            m->virtio[i] = NULL;
            return ret;
        }
    }
    return 0;
}

/* The next free slot's device, or NULL (with err) when all are taken. */
static struct mq_virtio_dev *next_slot(struct mq_virt *m, const char *what, char *err,
                                       size_t errlen)
{
    if (m->virtio_used >= VIRT_VIRTIO_SLOTS) {
        snprintf(err, errlen, "virt: no free virtio slot for %s (the board has %u)", what,
                 VIRT_VIRTIO_SLOTS);
        return NULL;
    }
    return mq_virtio_mmio_dev(m->virtio[m->virtio_used++]);
}

static int add_disk(struct mq_virt *m, unsigned i, char *err, size_t errlen)
{
    const struct mq_virt_disk *d = &m->cfg.disks[i];
    struct mq_virtio_blk_config bc = {.serial = d->serial};
    struct mq_virtio_dev *vdev;
    char why[256];
    int ret;

    ret = mq_blockdev_open(d->path, d->format, d->read_only ? MQ_BLOCKDEV_RDONLY : 0,
                           &m->disks[i], why, sizeof(why));
    if (ret) {
        snprintf(err, errlen, "%s", why);
        return ret;
    }
    vdev = next_slot(m, d->path, err, errlen);
    if (!vdev)
        return -ENOSPC;
    m->disk_dev[i] = vdev;
    ret = mq_virtio_blk_create(vdev, m->cfg.loop, m->disks[i], &bc);
    if (ret)
        snprintf(err, errlen, "virt: %s: cannot create the virtio disk: %s", d->path,
                 strerror(-ret));
    return ret;
}

static int add_nic(struct mq_virt *m, unsigned i, char *err, size_t errlen)
{
    uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + i)};
    struct mq_net_backend *nb;
    struct mq_virtio_dev *vdev;
    char why[256];
    int ret;

    if (m->cfg.has_mac[i])
        memcpy(mac, m->cfg.macs[i], 6);
    vdev = next_slot(m, m->cfg.nets[i], err, errlen);
    if (!vdev)
        return -ENOSPC;
    m->nic_dev[i] = vdev;
    ret = mq_net_backend_create(m->cfg.nets[i], &nb, why, sizeof(why));
    if (ret) {
        snprintf(err, errlen, "%s", why);
        return ret;
    }
    /* On success the NIC owns the backend and closes it. */
    ret = mq_virtio_net_create(vdev, m->cfg.loop, nb, mac);
    if (ret) {
        mq_net_backend_close(nb);
        snprintf(err, errlen, "virt: --net %s: cannot create the NIC: %s", m->cfg.nets[i],
                 strerror(-ret));
    }
    return ret;
}

/* hvc0 host side: guest output to the chardev, chardev input to the guest. */
static void hvc_to_host(void *opaque, const uint8_t *buf, size_t len)
{
    struct mq_virt *m = opaque;

    mq_chardev_write(m->hvc_chr, buf, len);
}

static void hvc_rx_space(void *opaque)
{
    struct mq_virt *m = opaque;

    mq_chardev_input_space(m->hvc_chr);
}

static size_t hvc_deliver(void *opaque, const uint8_t *buf, size_t len)
{
    struct mq_virt *m = opaque;

    return m->hvc ? mq_virtio_console_from_host(m->hvc, buf, len) : 0;
}

static int add_hvc(struct mq_virt *m, char *err, size_t errlen)
{
    const struct mq_virtio_console_host host = {
        .to_host = hvc_to_host, .rx_space = hvc_rx_space, .opaque = m};
    const struct mq_chardev_hooks hooks = {.deliver = hvc_deliver, .name = "hvc0", .opaque = m};
    struct mq_virtio_dev *vdev = next_slot(m, "hvc0", err, errlen);
    char why[256];
    int ret;

    if (!vdev)
        return -ENOSPC;
    ret = mq_virtio_console_create(vdev, m->cfg.loop, &host, &m->hvc);
    if (ret) {
        snprintf(err, errlen, "virt: cannot create virtio-console: %s", strerror(-ret));
        return ret;
    }
    ret = mq_chardev_open(m->cfg.hvc, m->cfg.loop, &hooks, &m->hvc_chr, why, sizeof(why));
    if (ret)
        snprintf(err, errlen, "--hvc %s: %s", m->cfg.hvc, why);
    return ret;
}

/*
 * The power button comes last, so it moves no other device's slot. A
 * convenience, not worth refusing a machine whose slots are all taken.
 */
static int add_input(struct mq_virt *m, char *err, size_t errlen)
{
    struct mq_virtio_dev *vdev;
    int ret;

    if (m->virtio_used >= VIRT_VIRTIO_SLOTS) {
        mq_info("virt", "all %u virtio slots taken: no virtio-input power button",
                VIRT_VIRTIO_SLOTS);
        return 0;
    }
    vdev = next_slot(m, "the power button", err, errlen);
    ret = mq_virtio_input_create(vdev, m->cfg.loop, &m->input);
    if (ret)
        snprintf(err, errlen, "virt: cannot create virtio-input: %s", strerror(-ret));
    return ret;
}

static int create_virtio_devices(struct mq_virt *m, char *err, size_t errlen)
{
    struct mq_virtio_dev *vdev;
    int ret;

    for (unsigned i = 0; i < m->cfg.ndisks; i++) {
        ret = add_disk(m, i, err, errlen);
        if (ret)
            return ret;
    }
    for (unsigned i = 0; i < m->cfg.nnets; i++) {
        ret = add_nic(m, i, err, errlen);
        if (ret)
            return ret;
    }
    if (!m->cfg.no_rng) {
        vdev = next_slot(m, "the random number generator", err, errlen);
        if (!vdev)
            return -ENOSPC;
        ret = mq_virtio_rng_create(vdev, m->cfg.loop);
        if (ret) {
            snprintf(err, errlen, "virt: cannot create virtio-rng: %s", strerror(-ret));
            return ret;
        }
    }
    if (m->cfg.hvc) {
        ret = add_hvc(m, err, errlen);
        if (ret)
            return ret;
    }
    if (!m->cfg.no_input)
        return add_input(m, err, errlen);
    return 0;
}

static int create_devices(struct mq_virt *m, char *err, size_t errlen)
{
    struct mq_aclint *clint;
    int ret;

    m->plic = mq_plic_create(VIRT_PLIC_NDEV + 1, 2 * m->nharts, plic_ctx_irq, m);
    ret = add_device(m, VIRT_PLIC_BASE, MQ_PLIC_REGION_SIZE, &mq_plic_ops, m->plic, err,
                     errlen);
    if (ret)
        return ret;
    clint = mq_aclint_create(&m->timebase, m->nharts, clint_set_msip, clint_set_mtimecmp, m);
    ret = add_device(m, VIRT_CLINT_BASE, MQ_ACLINT_REGION_SIZE, &mq_aclint_ops, clint, err,
                     errlen);
    if (ret)
        return ret;
    m->uart = mq_uart16550_create(mq_plic_irq(m->plic, VIRT_UART_IRQ), uart_tx, m);
    ret = add_device(m, VIRT_UART_BASE, MQ_UART16550_REGION_SIZE, &mq_uart16550_ops,
                     m->uart, err, errlen);
    if (ret)
        return ret;
    ret = add_device(m, VIRT_RTC_BASE, MQ_GOLDFISH_RTC_REGION_SIZE, &mq_goldfish_rtc_ops,
                     mq_goldfish_rtc_create(mq_plic_irq(m->plic, VIRT_RTC_IRQ)), err,
                     errlen);
    if (ret)
        return ret;
    ret = add_device(m, VIRT_SYSCON_BASE, MQ_SYSCON_REGION_SIZE, &mq_syscon_ops,
                     mq_syscon_create(syscon_action, m), err, errlen);
    if (!ret)
        ret = create_virtio_slots(m, err, errlen);
    if (!ret)
        ret = create_virtio_devices(m, err, errlen);
    return ret;
}

static int create_harts(struct mq_virt *m, char *err, size_t errlen)
{
    for (unsigned i = 0; i < m->nharts; i++) {
        struct rv_hart_config hc = {
            .hartid = i,
            .bus = &m->bus,
            .timebase = &m->timebase,
            .reset_pc = MQ_BOOTROM_BASE,
            .max_satp_mode = m->cfg.max_satp_mode,
        };
        m->harts[i] = rv_hart_create(&hc);
        if (!m->harts[i]) {
            snprintf(err, errlen, "virt: cannot create hart %u: out of memory", i);
            return -ENOMEM;
        }
    }
    return 0;
}

static int check_config(const struct mq_virt_config *cfg, char *err, size_t errlen)
{
    if (cfg->nharts < 1 || cfg->nharts > MQ_VIRT_MAX_HARTS) {
        snprintf(err, errlen, "virt: %u harts requested; this board has 1 to %u",
                 cfg->nharts, MQ_VIRT_MAX_HARTS);
        return -EINVAL;
    }
    if (cfg->ram_size < (16ull << 20) || cfg->ram_size > MQ_VIRT_MAX_RAM ||
        cfg->ram_size % MQ_PAGE_SIZE) {
        snprintf(err, errlen,
                 "virt: memory size %llu bytes is not possible (16 MiB to %llu GiB, "
                 "a multiple of 4 KiB)",
                 (unsigned long long)cfg->ram_size,
                 (unsigned long long)(MQ_VIRT_MAX_RAM >> 30));
        return -EINVAL;
    }
    if (!cfg->firmware && !cfg->kernel) {
        snprintf(err, errlen, "virt: nothing to boot: give firmware or a kernel");
        return -EINVAL;
    }
    return 0;
}

int mq_virt_create(const struct mq_virt_config *cfg, struct mq_virt **out, char *err,
                   size_t errlen)
{
    struct mq_virt *m;
    int ret;

    ret = check_config(cfg, err, errlen);
    if (ret)
        return ret;
    m = calloc(1, sizeof(*m));
    if (!m) {
        snprintf(err, errlen, "virt: out of memory");
        return -ENOMEM;
    }
    m->cfg = *cfg;
    m->nharts = cfg->nharts;
    mq_timebase_init(&m->timebase, MQ_VIRT_TIMEBASE_HZ);
    ret = mq_guest_mem_init(&m->ram, MQ_VIRT_RAM_BASE, cfg->ram_size);
    if (ret) {
        snprintf(err, errlen, "virt: cannot map %llu MiB of guest RAM: %s",
                 (unsigned long long)(cfg->ram_size >> 20), strerror(-ret));
        free(m);
        return ret;
    }
    mq_bus_init(&m->bus, &m->ram);
    ret = mq_rom_add(&m->bus, MQ_BOOTROM_BASE, MQ_BOOTROM_SIZE, NULL, 0, &m->rom);
    if (ret)
        snprintf(err, errlen, "virt: cannot map the boot ROM: %s", strerror(-ret));
    if (!ret)
        ret = create_harts(m, err, errlen);
    if (!ret)
        ret = create_devices(m, err, errlen);
    if (!ret)
        ret = mq_virt_reset(m, err, errlen);
    if (ret) {
        mq_virt_destroy(m);
        return ret;
    }
    *out = m;
    return 0;
}

void mq_virt_destroy(struct mq_virt *m)
{
    if (!m)
        return;
    for (unsigned i = 0; i < m->nharts; i++)
        rv_hart_destroy(m->harts[i]);
    /* hvc input stops first; then devices; the disks outlive virtio-blk. */
    mq_chardev_close(m->hvc_chr);
    m->hvc_chr = NULL;
    mq_bus_destroy_devices(&m->bus);
    for (unsigned i = 0; i < VIRT_VIRTIO_SLOTS; i++)
        mq_blockdev_close(m->disks[i]);
    mq_guest_mem_destroy(&m->ram);
    free(m);
}

unsigned mq_virt_nharts(const struct mq_virt *m)
{
    return m->nharts;
}

struct rv_hart *mq_virt_hart(struct mq_virt *m, unsigned i)
{
    return i < m->nharts ? m->harts[i] : NULL;
}

size_t mq_virt_console_in(struct mq_virt *m, const uint8_t *buf, size_t len)
{
    return mq_uart16550_rx(m->uart, buf, len);
}

int mq_virt_power_button(struct mq_virt *m)
{
    if (!m->input)
        return -ENODEV;
    return mq_virtio_input_press_key(m->input, MQ_INPUT_KEY_POWER);
}

void mq_virt_set_console_space_cb(struct mq_virt *m, void (*cb)(void *opaque), void *opaque)
{
    mq_uart16550_set_rx_space_cb(m->uart, cb, opaque);
}

/* ---- boot images ---- */

struct boot_images {
    uint8_t *fw, *kernel, *initrd;
    size_t fw_len, kernel_len, initrd_len;
    uint64_t fw_entry, fw_extent; /* extent: bytes from RAM base the firmware covers */
    uint64_t kernel_mem;          /* memory the kernel occupies */
    bool fw_is_elf;
};

static void free_images(struct boot_images *im)
{
    free(im->fw);
    free(im->kernel);
    free(im->initrd);
}

static int read_images(struct mq_virt *m, struct boot_images *im, char *err, size_t errlen)
{
    const char *fw = m->cfg.firmware ? m->cfg.firmware : m->cfg.default_firmware;
    uint64_t max = m->cfg.ram_size;
    int ret = 0;

    if (fw)
        ret = mq_read_file(fw, max, &im->fw, &im->fw_len, err, errlen);
    if (!ret && m->cfg.kernel)
        ret = mq_read_file(m->cfg.kernel, max, &im->kernel, &im->kernel_len, err, errlen);
    if (!ret && m->cfg.initrd)
        ret = mq_read_file(m->cfg.initrd, max, &im->initrd, &im->initrd_len, err, errlen);
    if (ret == -EFBIG) {
        /* Say it in the user's terms: the image is bigger than the guest RAM. */
        size_t n = strlen(err);
        snprintf(err + n, errlen - n, " (the guest RAM size)");
    }
    return ret;
}

static int load_firmware(struct mq_virt *m, struct boot_images *im, char *err,
                         size_t errlen)
{
    const char *name = m->cfg.firmware ? m->cfg.firmware : m->cfg.default_firmware;
    char why[256];
    uint64_t lo, hi;
    int ret;

    if (!im->fw)
        return 0;
    if (mq_elf_probe(im->fw, im->fw_len)) {
        ret = mq_elf_load(im->fw, im->fw_len, &m->ram, &im->fw_entry, &lo, &hi, why,
                          sizeof(why));
        if (ret) {
            snprintf(err, errlen, "%s: %s", name, why);
            return ret;
        }
        im->fw_is_elf = true;
        im->fw_extent = hi > MQ_VIRT_RAM_BASE ? hi - MQ_VIRT_RAM_BASE : 0;
        return 0;
    }
    if (im->fw_len >= 4 && !memcmp(im->fw, "\177ELF", 4)) {
        /* Looks like ELF but the probe refused it: let the loader say why. */
        mq_elf_load(im->fw, im->fw_len, &m->ram, &im->fw_entry, &lo, &hi, why, sizeof(why));
        snprintf(err, errlen, "%s: %s", name, why);
        return -ENOEXEC;
    }
    if (m->cfg.firmware_elf_only) {
        snprintf(err, errlen, "%s: not an ELF file", name);
        return -ENOEXEC;
    }
    if (mq_guest_mem_write(&m->ram, MQ_VIRT_RAM_BASE, im->fw, im->fw_len) != 0) {
        snprintf(err, errlen, "%s: firmware of %zu bytes does not fit in RAM", name,
                 im->fw_len);
        return -EFBIG;
    }
    im->fw_entry = MQ_VIRT_RAM_BASE;
    im->fw_extent = im->fw_len;
    return 0;
}

static int load_kernel(struct mq_virt *m, struct boot_images *im, uint64_t addr,
                       char *err, size_t errlen)
{
    struct mq_linux_image_info info;
    char why[256];
    int ret;

    ret = mq_linux_image_load(im->kernel, im->kernel_len, &m->ram, addr, &info, why,
                              sizeof(why));
    if (ret)
        snprintf(err, errlen, "%s: %s", m->cfg.kernel, why);
    return ret;
}

static int kernel_mem_size(struct mq_virt *m, struct boot_images *im, char *err,
                           size_t errlen)
{
    struct mq_linux_image_info info;
    char why[256];
    int ret;

    if (!im->kernel)
        return 0;
    ret = mq_linux_image_parse(im->kernel, im->kernel_len, &info, why, sizeof(why));
    if (ret) {
        snprintf(err, errlen, "%s: %s", m->cfg.kernel, why);
        return ret;
    }
    im->kernel_mem = info.image_size;
    return 0;
}

static int build_fdt(struct mq_virt *m, const struct mq_boot_layout *l, uint8_t *dtb,
                     char *err, size_t errlen)
{
    struct mq_fdt_machine fm = {
        .num_harts = m->nharts,
        .isa = VIRT_ISA,
        .mmu_type = m->cfg.max_satp_mode == 8 ? "riscv,sv39" : "riscv,sv48",
        .timebase_freq = MQ_VIRT_TIMEBASE_HZ,
        .ram_base = MQ_VIRT_RAM_BASE,
        .ram_size = m->cfg.ram_size,
        .clint_base = VIRT_CLINT_BASE,
        .clint_size = MQ_ACLINT_REGION_SIZE,
        .plic_base = VIRT_PLIC_BASE,
        .plic_size = MQ_PLIC_REGION_SIZE,
        .plic_ndev = VIRT_PLIC_NDEV,
        .uart_base = VIRT_UART_BASE,
        .uart_size = MQ_UART16550_REGION_SIZE,
        .uart_irq = VIRT_UART_IRQ,
        .uart_clock = VIRT_UART_CLOCK,
        .has_rtc = 1,
        .rtc_base = VIRT_RTC_BASE,
        .rtc_irq = VIRT_RTC_IRQ,
        .has_syscon = 1,
        .syscon_base = VIRT_SYSCON_BASE,
        .num_virtio = VIRT_VIRTIO_SLOTS,
        .virtio_base = VIRT_VIRTIO_BASE,
        .virtio_irq_base = VIRT_VIRTIO_IRQ_BASE,
        .bootargs = m->cfg.append,
    };
    char why[256];
    int ret;

    if (l->initrd_size) {
        fm.initrd_start = l->initrd_addr;
        fm.initrd_end = l->initrd_addr + l->initrd_size;
    }
    ret = mq_fdt_build(&fm, dtb, VIRT_DTB_MAX, why, sizeof(why));
    if (ret)
        snprintf(err, errlen, "virt: device tree: %s", why);
    return ret;
}

static int load_images(struct mq_virt *m, char *err, size_t errlen)
{
    struct boot_images im = {0};
    struct mq_boot_layout l;
    uint8_t *dtb = NULL;
    uint64_t entry, next_addr = 0;
    int ret;

    ret = read_images(m, &im, err, errlen);
    if (!ret)
        ret = load_firmware(m, &im, err, errlen);
    if (!ret)
        ret = kernel_mem_size(m, &im, err, errlen);
    if (!ret)
        ret = mq_boot_layout(MQ_VIRT_RAM_BASE, m->cfg.ram_size, im.fw_extent, im.kernel_mem,
                             im.initrd_len, VIRT_DTB_MAX, &l, err, errlen);
    if (ret)
        goto out;
    if (im.kernel) {
        ret = load_kernel(m, &im, l.kernel_addr, err, errlen);
        if (ret)
            goto out;
        next_addr = l.kernel_addr;
    }
    if (im.initrd)
        mq_guest_mem_write(&m->ram, l.initrd_addr, im.initrd, im.initrd_len);
    dtb = calloc(1, VIRT_DTB_MAX);
    ret = dtb ? build_fdt(m, &l, dtb, err, errlen) : -ENOMEM;
    if (ret)
        goto out;
    mq_guest_mem_write(&m->ram, l.dtb_addr, dtb, VIRT_DTB_MAX);
    entry = im.fw ? im.fw_entry : l.kernel_addr;
    mq_bootrom_build(m->rom, entry, l.dtb_addr, next_addr, MQ_FW_DYNAMIC_NEXT_MODE_S);
out:
    free(dtb);
    free_images(&im);
    return ret;
}

int mq_virt_reset(struct mq_virt *m, char *err, size_t errlen)
{
    int ret;

    mq_guest_mem_clear(&m->ram);
    ret = load_images(m, err, errlen);
    if (ret)
        return ret;
    mq_bus_reset_devices(&m->bus);
    mq_timebase_set(&m->timebase, 0);
    for (unsigned i = 0; i < m->nharts; i++)
        rv_hart_reset(m->harts[i]);
    return 0;
}
