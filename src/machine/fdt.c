/* SPDX-License-Identifier: MIT */
/*
 * Device tree for the virt board, written with libfdt's sequential-write API.
 *
 * Format: Devicetree Specification v0.4; bindings named in fdt.h. The tree
 * has the shape of QEMU's riscv virt board (node names, compatibles, cell
 * sizes, interrupt wiring) because stock OpenSBI and Linux are tested there:
 *   /chosen, /aliases, /memory@..., /cpus (cpu@N with riscv,cpu-intc child,
 *   cpu-map), /soc (clint, plic, serial, rtc, test, virtio_mmio@...),
 *   /poweroff and /reboot (syscon-poweroff/-reboot on the test device).
 * Phandles are numbered up front so nodes can refer to later ones.
 */
#include "machine/fdt.h"

#include <errno.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/compiler.h"
#include "util/le.h"

/* Local interrupt causes (privileged spec, mip/mie bits) used in wiring. */
#define IRQ_M_SOFT 3
#define IRQ_M_TIMER 7
#define IRQ_S_EXT 9
#define IRQ_M_EXT 11

/* PLIC sources are numbered 1..1023 (PLIC spec, "Interrupt Sources"). */
#define PLIC_MAX_NDEV 1023

/* Extension names are at most this long (longest standard ones are ~10). */
#define MAX_EXT_LEN 32

/* Bail out of a node writer on the first libfdt error (a negative FDT_ERR_*). */
#define TRY(expr)                                                              \
    do {                                                                       \
        int try_ret_ = (expr);                                                 \
        if (try_ret_ < 0)                                                      \
            return try_ret_;                                                   \
    } while (0)

static void MQ_PRINTF(3, 4) set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Phandles: cpu and intc per hart, then the PLIC and the syscon. */
static uint32_t ph_cpu(uint32_t hart) { return 1 + 2 * hart; }
static uint32_t ph_intc(uint32_t hart) { return 2 + 2 * hart; }
static uint32_t ph_plic(const struct mq_fdt_machine *m) { return 1 + 2 * m->num_harts; }
static uint32_t ph_syscon(const struct mq_fdt_machine *m) { return 2 + 2 * m->num_harts; }

/*
 * Splits an ISA string into riscv,isa-extensions: a NUL-separated list of
 * the single-letter extensions (including the base "i") followed by the
 * multi-letter ones. Returns the list length, or 0 when the string does not
 * follow the riscv,isa binding pattern.
 */
static size_t isa_extensions(const char *isa, char *out, size_t outlen)
{
    size_t o = 0, n;
    const char *p;

    if (strncmp(isa, "rv64i", 5) != 0 && strncmp(isa, "rv32i", 5) != 0)
        return 0;
    /* Single letters, starting with the base "i". */
    for (p = isa + 4; *p && *p != '_'; p++) {
        if (*p < 'a' || *p > 'z' || *p == 'g' || o + 2 > outlen)
            return 0;
        out[o++] = *p;
        out[o++] = '\0';
    }
    while (*p == '_') {
        p++;
        n = strcspn(p, "_");
        if (n == 0 || n > MAX_EXT_LEN || o + n + 1 > outlen)
            return 0;
        for (size_t i = 0; i < n; i++) {
            bool ok = (p[i] >= 'a' && p[i] <= 'z') || (i > 0 && p[i] >= '0' && p[i] <= '9');
            if (!ok)
                return 0;
        }
        memcpy(out + o, p, n);
        o += n;
        out[o++] = '\0';
        p += n;
    }
    return *p == '\0' ? o : 0;
}

static bool region_ok(uint64_t base, uint64_t size)
{
    return size != 0 && base + size - 1 >= base;
}

static bool irq_ok(const struct mq_fdt_machine *m, uint32_t irq)
{
    return irq >= 1 && irq <= m->plic_ndev;
}

static int check_machine(const struct mq_fdt_machine *m, char *err, size_t errlen)
{
    if (m->num_harts == 0 || m->num_harts > MQ_FDT_MAX_HARTS) {
        set_err(err, errlen, "device tree: %u harts (need 1..%d)", m->num_harts,
                MQ_FDT_MAX_HARTS);
        return -EINVAL;
    }
    if (!m->isa || strnlen(m->isa, MQ_FDT_MAX_ISA_LEN + 1) > MQ_FDT_MAX_ISA_LEN) {
        set_err(err, errlen, "device tree: missing or overlong ISA string");
        return -EINVAL;
    }
    if (m->mmu_type && strcmp(m->mmu_type, "riscv,sv39") != 0 &&
        strcmp(m->mmu_type, "riscv,sv48") != 0 && strcmp(m->mmu_type, "riscv,sv57") != 0) {
        set_err(err, errlen, "device tree: unknown mmu-type \"%s\"", m->mmu_type);
        return -EINVAL;
    }
    if (m->timebase_freq == 0) {
        set_err(err, errlen, "device tree: timebase-frequency is 0");
        return -EINVAL;
    }
    if (m->plic_ndev == 0 || m->plic_ndev > PLIC_MAX_NDEV) {
        set_err(err, errlen, "device tree: PLIC with %u sources (need 1..%d)",
                m->plic_ndev, PLIC_MAX_NDEV);
        return -EINVAL;
    }
    if (!region_ok(m->ram_base, m->ram_size) || !region_ok(m->clint_base, m->clint_size) ||
        !region_ok(m->plic_base, m->plic_size) || !region_ok(m->uart_base, m->uart_size) ||
        (m->has_rtc && !region_ok(m->rtc_base, MQ_FDT_RTC_SIZE)) ||
        (m->has_syscon && !region_ok(m->syscon_base, MQ_FDT_SYSCON_SIZE))) {
        set_err(err, errlen, "device tree: empty or wrapping address range");
        return -EINVAL;
    }
    if (!irq_ok(m, m->uart_irq) || (m->has_rtc && !irq_ok(m, m->rtc_irq))) {
        set_err(err, errlen, "device tree: device IRQ outside PLIC sources 1..%u",
                m->plic_ndev);
        return -EINVAL;
    }
    if (m->num_virtio > MQ_FDT_MAX_VIRTIO) {
        set_err(err, errlen, "device tree: %u virtio-mmio slots (limit %d)",
                m->num_virtio, MQ_FDT_MAX_VIRTIO);
        return -EINVAL;
    }
    /* Both checks bounded: num_virtio <= MQ_FDT_MAX_VIRTIO, irq_base <= 1023. */
    if (m->num_virtio &&
        (!irq_ok(m, m->virtio_irq_base) ||
         m->plic_ndev - m->virtio_irq_base < m->num_virtio - 1 ||
         !region_ok(m->virtio_base, m->num_virtio * MQ_FDT_VIRTIO_SLOT_SIZE))) {
        set_err(err, errlen, "device tree: virtio-mmio slots do not fit (IRQs %u+%u of "
                "1..%u, or addresses wrap)", m->virtio_irq_base, m->num_virtio,
                m->plic_ndev);
        return -EINVAL;
    }
    if (m->initrd_start || m->initrd_end) {
        /* An initrd Linux cannot reach fails late and silently: refuse it here. */
        if (m->initrd_end <= m->initrd_start || m->initrd_start < m->ram_base ||
            !mq_range_ok(m->initrd_start - m->ram_base, m->initrd_end - m->initrd_start,
                         m->ram_size)) {
            set_err(err, errlen, "device tree: initrd 0x%llx-0x%llx is not inside RAM",
                    (unsigned long long)m->initrd_start,
                    (unsigned long long)m->initrd_end);
            return -EINVAL;
        }
    }
    if (m->rng_seed_len > MQ_FDT_MAX_RNG_SEED || (m->rng_seed_len && !m->rng_seed)) {
        set_err(err, errlen, "device tree: bad rng-seed (%zu bytes, limit %d)",
                m->rng_seed_len, MQ_FDT_MAX_RNG_SEED);
        return -EINVAL;
    }
    return 0;
}

/* reg = <base size> with #address-cells = #size-cells = 2. */
static int prop_reg(void *fdt, uint64_t base, uint64_t size)
{
    uint8_t cells[16];

    mq_put_be64(cells, base);
    mq_put_be64(cells + 8, size);
    return fdt_property(fdt, "reg", cells, sizeof(cells));
}

/* A string-list literal: sizeof keeps the NUL between and after the strings. */
#define PROP_STRS(fdt, name, lit) fdt_property(fdt, name, lit, sizeof(lit))

static int node_chosen(void *fdt, const struct mq_fdt_machine *m, const char *uart_path)
{
    TRY(fdt_begin_node(fdt, "chosen"));
    if (m->bootargs)
        TRY(fdt_property_string(fdt, "bootargs", m->bootargs));
    TRY(fdt_property_string(fdt, "stdout-path", uart_path));
    if (m->initrd_start || m->initrd_end) {
        TRY(fdt_property_u64(fdt, "linux,initrd-start", m->initrd_start));
        TRY(fdt_property_u64(fdt, "linux,initrd-end", m->initrd_end));
    }
    if (m->rng_seed_len)
        TRY(fdt_property(fdt, "rng-seed", m->rng_seed, (int)m->rng_seed_len));
    TRY(fdt_end_node(fdt));

    /* Linux numbers 8250 ports by alias: serial0 becomes ttyS0. */
    TRY(fdt_begin_node(fdt, "aliases"));
    TRY(fdt_property_string(fdt, "serial0", uart_path));
    return fdt_end_node(fdt);
}

static int node_memory(void *fdt, const struct mq_fdt_machine *m)
{
    char name[32];

    snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)m->ram_base);
    TRY(fdt_begin_node(fdt, name));
    TRY(fdt_property_string(fdt, "device_type", "memory"));
    TRY(prop_reg(fdt, m->ram_base, m->ram_size));
    return fdt_end_node(fdt);
}

static int node_cpu(void *fdt, const struct mq_fdt_machine *m, uint32_t hart,
                    const char *exts, size_t extlen)
{
    char name[32];

    snprintf(name, sizeof(name), "cpu@%x", hart);
    TRY(fdt_begin_node(fdt, name));
    TRY(fdt_property_string(fdt, "device_type", "cpu"));
    TRY(fdt_property_u32(fdt, "reg", hart));
    TRY(fdt_property_string(fdt, "status", "okay"));
    TRY(fdt_property_string(fdt, "compatible", "riscv"));
    /* Old kernels and OpenSBI read riscv,isa; Linux >= 6.6 prefers the pair. */
    TRY(fdt_property_string(fdt, "riscv,isa", m->isa));
    TRY(fdt_property_string(fdt, "riscv,isa-base", m->isa[2] == '6' ? "rv64i" : "rv32i"));
    TRY(fdt_property(fdt, "riscv,isa-extensions", exts, (int)extlen));
    if (m->mmu_type)
        TRY(fdt_property_string(fdt, "mmu-type", m->mmu_type));
    TRY(fdt_property_u32(fdt, "phandle", ph_cpu(hart)));

    TRY(fdt_begin_node(fdt, "interrupt-controller"));
    TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
    TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
    TRY(fdt_property_string(fdt, "compatible", "riscv,cpu-intc"));
    TRY(fdt_property_u32(fdt, "phandle", ph_intc(hart)));
    TRY(fdt_end_node(fdt));

    return fdt_end_node(fdt);
}

static int node_cpus(void *fdt, const struct mq_fdt_machine *m)
{
    char exts[MQ_FDT_MAX_ISA_LEN + 2];
    size_t extlen = isa_extensions(m->isa, exts, sizeof(exts));
    char name[32];

    if (extlen == 0)
        return -FDT_ERR_BADVALUE; /* checked by mq_fdt_build() first */
    TRY(fdt_begin_node(fdt, "cpus"));
    TRY(fdt_property_u32(fdt, "#address-cells", 1));
    TRY(fdt_property_u32(fdt, "#size-cells", 0));
    TRY(fdt_property_u32(fdt, "timebase-frequency", m->timebase_freq));
    for (uint32_t h = 0; h < m->num_harts; h++)
        TRY(node_cpu(fdt, m, h, exts, extlen));

    /* One cluster of single-thread cores, as QEMU describes one socket. */
    TRY(fdt_begin_node(fdt, "cpu-map"));
    TRY(fdt_begin_node(fdt, "cluster0"));
    for (uint32_t h = 0; h < m->num_harts; h++) {
        snprintf(name, sizeof(name), "core%u", h);
        TRY(fdt_begin_node(fdt, name));
        TRY(fdt_property_u32(fdt, "cpu", ph_cpu(h)));
        TRY(fdt_end_node(fdt));
    }
    TRY(fdt_end_node(fdt));
    TRY(fdt_end_node(fdt));
    return fdt_end_node(fdt);
}

/* interrupts-extended = <intc(h) a intc(h) b> for every hart h. */
static int prop_per_hart_irqs(void *fdt, const struct mq_fdt_machine *m, uint32_t a,
                              uint32_t b)
{
    size_t len = (size_t)m->num_harts * 16;
    void *cells;

    /* Reserve the property in place: no large buffer on the stack. */
    TRY(fdt_property_placeholder(fdt, "interrupts-extended", (int)len, &cells));
    for (uint32_t h = 0; h < m->num_harts; h++) {
        uint8_t *c = (uint8_t *)cells + (size_t)h * 16;

        mq_put_be32(c, ph_intc(h));
        mq_put_be32(c + 4, a);
        mq_put_be32(c + 8, ph_intc(h));
        mq_put_be32(c + 12, b);
    }
    return 0;
}

static int node_clint(void *fdt, const struct mq_fdt_machine *m)
{
    char name[32];

    snprintf(name, sizeof(name), "clint@%llx", (unsigned long long)m->clint_base);
    TRY(fdt_begin_node(fdt, name));
    TRY(PROP_STRS(fdt, "compatible", "sifive,clint0\0riscv,clint0"));
    TRY(prop_reg(fdt, m->clint_base, m->clint_size));
    /* Machine software (IPI) and machine timer per hart; OpenSBI owns both. */
    TRY(prop_per_hart_irqs(fdt, m, IRQ_M_SOFT, IRQ_M_TIMER));
    return fdt_end_node(fdt);
}

static int node_plic(void *fdt, const struct mq_fdt_machine *m)
{
    char name[32];

    snprintf(name, sizeof(name), "plic@%llx", (unsigned long long)m->plic_base);
    TRY(fdt_begin_node(fdt, name));
    TRY(PROP_STRS(fdt, "compatible", "sifive,plic-1.0.0\0riscv,plic0"));
    TRY(fdt_property_u32(fdt, "#address-cells", 0));
    TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
    TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
    TRY(prop_reg(fdt, m->plic_base, m->plic_size));
    /*
     * Context 2h is hart h's M-mode, 2h+1 its S-mode: the order of this list
     * is the PLIC context numbering (OpenSBI hides the M contexts from Linux).
     */
    TRY(prop_per_hart_irqs(fdt, m, IRQ_M_EXT, IRQ_S_EXT));
    TRY(fdt_property_u32(fdt, "riscv,ndev", m->plic_ndev));
    TRY(fdt_property_u32(fdt, "phandle", ph_plic(m)));
    return fdt_end_node(fdt);
}

static int node_plic_device(void *fdt, const struct mq_fdt_machine *m, const char *name,
                            uint64_t base, uint64_t size, uint32_t irq)
{
    TRY(fdt_begin_node(fdt, name));
    TRY(prop_reg(fdt, base, size));
    TRY(fdt_property_u32(fdt, "interrupts", irq));
    TRY(fdt_property_u32(fdt, "interrupt-parent", ph_plic(m)));
    return 0; /* caller adds its properties and ends the node */
}

static int node_devices(void *fdt, const struct mq_fdt_machine *m, const char *uart_name)
{
    char name[48];

    TRY(node_plic_device(fdt, m, uart_name, m->uart_base, m->uart_size, m->uart_irq));
    TRY(fdt_property_string(fdt, "compatible", "ns16550a"));
    TRY(fdt_property_u32(fdt, "clock-frequency", m->uart_clock));
    TRY(fdt_end_node(fdt));

    if (m->has_rtc) {
        snprintf(name, sizeof(name), "rtc@%llx", (unsigned long long)m->rtc_base);
        TRY(node_plic_device(fdt, m, name, m->rtc_base, MQ_FDT_RTC_SIZE, m->rtc_irq));
        TRY(fdt_property_string(fdt, "compatible", "google,goldfish-rtc"));
        TRY(fdt_end_node(fdt));
    }
    if (m->has_syscon) {
        snprintf(name, sizeof(name), "test@%llx", (unsigned long long)m->syscon_base);
        TRY(fdt_begin_node(fdt, name));
        /* OpenSBI drives sifive,test* directly; Linux uses the syscon nodes. */
        TRY(PROP_STRS(fdt, "compatible", "sifive,test1\0sifive,test0\0syscon"));
        TRY(prop_reg(fdt, m->syscon_base, MQ_FDT_SYSCON_SIZE));
        TRY(fdt_property_u32(fdt, "phandle", ph_syscon(m)));
        TRY(fdt_end_node(fdt));
    }
    /* Ascending addresses: Linux probes in tree order, so slot 0 is virtio0. */
    for (uint32_t i = 0; i < m->num_virtio; i++) {
        uint64_t base = m->virtio_base + i * MQ_FDT_VIRTIO_SLOT_SIZE;

        snprintf(name, sizeof(name), "virtio_mmio@%llx", (unsigned long long)base);
        TRY(node_plic_device(fdt, m, name, base, MQ_FDT_VIRTIO_SLOT_SIZE,
                             m->virtio_irq_base + i));
        TRY(fdt_property_string(fdt, "compatible", "virtio,mmio"));
        TRY(fdt_end_node(fdt));
    }
    return 0;
}

static int node_soc(void *fdt, const struct mq_fdt_machine *m, const char *uart_name)
{
    TRY(fdt_begin_node(fdt, "soc"));
    TRY(fdt_property_u32(fdt, "#address-cells", 2));
    TRY(fdt_property_u32(fdt, "#size-cells", 2));
    TRY(fdt_property_string(fdt, "compatible", "simple-bus"));
    TRY(fdt_property(fdt, "ranges", NULL, 0));
    TRY(node_clint(fdt, m));
    TRY(node_plic(fdt, m));
    TRY(node_devices(fdt, m, uart_name));
    return fdt_end_node(fdt);
}

static int node_syscon_action(void *fdt, const struct mq_fdt_machine *m,
                              const char *name, const char *compat, uint32_t value)
{
    TRY(fdt_begin_node(fdt, name));
    TRY(fdt_property_string(fdt, "compatible", compat));
    TRY(fdt_property_u32(fdt, "regmap", ph_syscon(m)));
    TRY(fdt_property_u32(fdt, "offset", 0));
    TRY(fdt_property_u32(fdt, "value", value));
    return fdt_end_node(fdt);
}

static int write_tree(void *fdt, size_t bufsize, const struct mq_fdt_machine *m)
{
    char uart_name[32], uart_path[40];

    snprintf(uart_name, sizeof(uart_name), "serial@%llx", (unsigned long long)m->uart_base);
    snprintf(uart_path, sizeof(uart_path), "/soc/%s", uart_name);

    TRY(fdt_create(fdt, (int)bufsize));
    TRY(fdt_finish_reservemap(fdt));
    TRY(fdt_begin_node(fdt, ""));
    TRY(fdt_property_u32(fdt, "#address-cells", 2));
    TRY(fdt_property_u32(fdt, "#size-cells", 2));
    /* QEMU's board compatible: software that knows QEMU virt knows us. */
    TRY(fdt_property_string(fdt, "compatible", "riscv-virtio"));
    TRY(fdt_property_string(fdt, "model", "riscv-virtio,maquina"));
    TRY(node_chosen(fdt, m, uart_path));
    TRY(node_memory(fdt, m));
    TRY(node_cpus(fdt, m));
    TRY(node_soc(fdt, m, uart_name));
    if (m->has_syscon) {
        TRY(node_syscon_action(fdt, m, "poweroff", "syscon-poweroff",
                               MQ_FDT_POWEROFF_VALUE));
        TRY(node_syscon_action(fdt, m, "reboot", "syscon-reboot", MQ_FDT_REBOOT_VALUE));
    }
    TRY(fdt_end_node(fdt));
    return fdt_finish(fdt);
}

int mq_fdt_build(const struct mq_fdt_machine *m, void *buf, size_t bufsize, char *err,
                 size_t errlen)
{
    char exts[MQ_FDT_MAX_ISA_LEN + 2];
    int ret;

    ret = check_machine(m, err, errlen);
    if (ret)
        return ret;
    if (isa_extensions(m->isa, exts, sizeof(exts)) == 0) {
        set_err(err, errlen,
                "device tree: ISA string \"%s\" is not of the form rv64i<letters>"
                "[_<extension>...] (lowercase, no \"g\")",
                m->isa);
        return -EINVAL;
    }
    /* libfdt sizes are int; a blob this large would be a bug anyway. */
    if (bufsize > INT32_MAX)
        bufsize = INT32_MAX;

    ret = write_tree(buf, bufsize, m);
    if (ret == -FDT_ERR_NOSPACE) {
        set_err(err, errlen, "device tree: does not fit in a %zu-byte buffer", bufsize);
        return -ENOSPC;
    }
    if (ret < 0) {
        set_err(err, errlen, "device tree: libfdt: %s", fdt_strerror(ret));
        return -EINVAL;
    }
    return 0;
}
