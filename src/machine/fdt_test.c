/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the device tree generator: trees for 1 and 4 harts with the
 * virt board's map are checked with libfdt (fdt_check_full) and by looking up
 * every node and property OpenSBI and Linux need; bad descriptions and short
 * buffers must fail cleanly.
 *
 * NOTE: comparing with QEMU is manual, since it needs QEMU:
 *   ./fdt_test /tmp/mq.dtb    (writes the 2-hart, 256 MiB tree)
 *   qemu-system-riscv64 -M virt,dumpdtb=/tmp/q.dtb -smp 2 -m 256M
 *   diff <(dtc -I dtb -O dts /tmp/q.dtb) <(dtc -I dtb -O dts /tmp/mq.dtb)
 * Expected differences: QEMU also has pmu, fw-cfg, flash, pci and
 * platform-bus nodes, lists virtio slots in descending order and assigns
 * phandles in creation order; we add /aliases, riscv,isa-base and
 * riscv,isa-extensions.
 */
#include "machine/fdt.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/le.h"

static int failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

#define BUFSIZE (64 * 1024)

static const uint8_t seed[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

/* The virt board's map (DESIGN.md), as the board file would fill it in. */
static void virt_machine(struct mq_fdt_machine *m, uint32_t harts)
{
    memset(m, 0, sizeof(*m));
    m->num_harts = harts;
    m->isa = "rv64imafdc_zicsr_zifencei_zicntr_sstc";
    m->mmu_type = "riscv,sv48";
    m->timebase_freq = 10000000;
    m->ram_base = 0x80000000;
    m->ram_size = 256ull << 20;
    m->clint_base = 0x2000000;
    m->clint_size = 0x10000;
    m->plic_base = 0xc000000;
    m->plic_size = 0x600000;
    m->plic_ndev = 95;
    m->uart_base = 0x10000000;
    m->uart_size = 0x100;
    m->uart_irq = 10;
    m->uart_clock = 3686400;
    m->has_rtc = 1;
    m->rtc_base = 0x101000;
    m->rtc_irq = 11;
    m->has_syscon = 1;
    m->syscon_base = 0x100000;
    m->num_virtio = 8;
    m->virtio_base = 0x10001000;
    m->virtio_irq_base = 1;
    m->bootargs = "console=ttyS0 root=/dev/vda rw";
    m->initrd_start = 0x8e000000;
    m->initrd_end = 0x8f400000;
    m->rng_seed = seed;
    m->rng_seed_len = sizeof(seed);
}

static uint32_t get_u32(const void *fdt, int node, const char *name)
{
    int len = 0;
    const void *p = fdt_getprop(fdt, node, name, &len);

    if (!p || len != 4) {
        fprintf(stderr, "missing u32 property %s\n", name);
        failures++;
        return 0xdeadbeef;
    }
    return mq_get_be32(p);
}

static uint64_t get_u64(const void *fdt, int node, const char *name)
{
    int len = 0;
    const void *p = fdt_getprop(fdt, node, name, &len);

    if (!p || len != 8) {
        fprintf(stderr, "missing u64 property %s\n", name);
        failures++;
        return 0;
    }
    return mq_get_be64(p);
}

static int str_is(const void *fdt, int node, const char *name, const char *want)
{
    const char *s = fdt_getprop(fdt, node, name, NULL);

    return s && strcmp(s, want) == 0;
}

/* reg = <base size> in 2+2 cells. */
static int reg_is(const void *fdt, int node, uint64_t base, uint64_t size)
{
    int len = 0;
    const uint8_t *p = fdt_getprop(fdt, node, "reg", &len);

    return p && len == 16 && mq_get_be64(p) == base && mq_get_be64(p + 8) == size;
}

static void check_cpus(const void *fdt, uint32_t harts)
{
    int cpus = fdt_path_offset(fdt, "/cpus");
    int map;
    char path[64];

    CHECK(cpus >= 0);
    CHECK(get_u32(fdt, cpus, "#address-cells") == 1);
    CHECK(get_u32(fdt, cpus, "#size-cells") == 0);
    CHECK(get_u32(fdt, cpus, "timebase-frequency") == 10000000);
    for (uint32_t h = 0; h < harts; h++) {
        int cpu, intc;

        snprintf(path, sizeof(path), "/cpus/cpu@%x", h);
        cpu = fdt_path_offset(fdt, path);
        CHECK(cpu >= 0);
        CHECK(str_is(fdt, cpu, "device_type", "cpu"));
        CHECK(get_u32(fdt, cpu, "reg") == h);
        CHECK(str_is(fdt, cpu, "status", "okay"));
        CHECK(fdt_node_check_compatible(fdt, cpu, "riscv") == 0);
        CHECK(str_is(fdt, cpu, "riscv,isa", "rv64imafdc_zicsr_zifencei_zicntr_sstc"));
        CHECK(str_is(fdt, cpu, "riscv,isa-base", "rv64i"));
        CHECK(str_is(fdt, cpu, "mmu-type", "riscv,sv48"));
        CHECK(fdt_stringlist_count(fdt, cpu, "riscv,isa-extensions") == 10);
        CHECK(fdt_stringlist_search(fdt, cpu, "riscv,isa-extensions", "i") == 0);
        CHECK(fdt_stringlist_search(fdt, cpu, "riscv,isa-extensions", "c") == 5);
        CHECK(fdt_stringlist_search(fdt, cpu, "riscv,isa-extensions", "zicsr") == 6);
        CHECK(fdt_stringlist_search(fdt, cpu, "riscv,isa-extensions", "sstc") == 9);

        intc = fdt_subnode_offset(fdt, cpu, "interrupt-controller");
        CHECK(intc >= 0);
        CHECK(fdt_node_check_compatible(fdt, intc, "riscv,cpu-intc") == 0);
        CHECK(get_u32(fdt, intc, "#interrupt-cells") == 1);
        CHECK(fdt_getprop(fdt, intc, "interrupt-controller", NULL) != NULL);
        CHECK(fdt_get_phandle(fdt, intc) != 0);

        snprintf(path, sizeof(path), "/cpus/cpu-map/cluster0/core%u", h);
        map = fdt_path_offset(fdt, path);
        CHECK(map >= 0);
        CHECK(fdt_node_offset_by_phandle(fdt, get_u32(fdt, map, "cpu")) == cpu);
    }
    snprintf(path, sizeof(path), "/cpus/cpu@%x", harts);
    CHECK(fdt_path_offset(fdt, path) == -FDT_ERR_NOTFOUND);
}

/* interrupts-extended must be <intc(h) a intc(h) b> for each hart, in order. */
static void check_per_hart(const void *fdt, int node, uint32_t harts, uint32_t a,
                           uint32_t b)
{
    int len = 0;
    const uint8_t *p = fdt_getprop(fdt, node, "interrupts-extended", &len);
    char path[64];

    CHECK(p && len == (int)harts * 16);
    if (!p || len != (int)harts * 16)
        return;
    for (uint32_t h = 0; h < harts; h++) {
        int intc;

        snprintf(path, sizeof(path), "/cpus/cpu@%x/interrupt-controller", h);
        intc = fdt_path_offset(fdt, path);
        CHECK(fdt_node_offset_by_phandle(fdt, mq_get_be32(p + 16 * h)) == intc);
        CHECK(mq_get_be32(p + 16 * h + 4) == a);
        CHECK(fdt_node_offset_by_phandle(fdt, mq_get_be32(p + 16 * h + 8)) == intc);
        CHECK(mq_get_be32(p + 16 * h + 12) == b);
    }
}

static void check_plic_device(const void *fdt, int plic, const char *path,
                              const char *compat, uint64_t base, uint64_t size,
                              uint32_t irq)
{
    int node = fdt_path_offset(fdt, path);

    CHECK(node >= 0);
    if (node < 0) {
        fprintf(stderr, "  missing %s\n", path);
        return;
    }
    CHECK(fdt_node_check_compatible(fdt, node, compat) == 0);
    CHECK(reg_is(fdt, node, base, size));
    CHECK(get_u32(fdt, node, "interrupts") == irq);
    CHECK(fdt_node_offset_by_phandle(fdt, get_u32(fdt, node, "interrupt-parent")) == plic);
}

static void check_tree(const void *fdt, uint32_t harts)
{
    int node, plic, test, len;
    const void *p;
    char path[64];

    CHECK(fdt_check_full(fdt, fdt_totalsize(fdt)) == 0);
    CHECK(fdt_totalsize(fdt) < BUFSIZE);
    CHECK(get_u32(fdt, 0, "#address-cells") == 2);
    CHECK(get_u32(fdt, 0, "#size-cells") == 2);
    CHECK(fdt_node_check_compatible(fdt, 0, "riscv-virtio") == 0);

    node = fdt_path_offset(fdt, "/chosen");
    CHECK(node >= 0);
    CHECK(str_is(fdt, node, "bootargs", "console=ttyS0 root=/dev/vda rw"));
    CHECK(str_is(fdt, node, "stdout-path", "/soc/serial@10000000"));
    CHECK(get_u64(fdt, node, "linux,initrd-start") == 0x8e000000);
    CHECK(get_u64(fdt, node, "linux,initrd-end") == 0x8f400000);
    p = fdt_getprop(fdt, node, "rng-seed", &len);
    CHECK(p && len == 8 && memcmp(p, seed, 8) == 0);
    CHECK(fdt_path_offset(fdt, fdt_getprop(fdt, node, "stdout-path", NULL)) >= 0);
    CHECK(str_is(fdt, fdt_path_offset(fdt, "/aliases"), "serial0", "/soc/serial@10000000"));

    node = fdt_path_offset(fdt, "/memory@80000000");
    CHECK(node >= 0 && str_is(fdt, node, "device_type", "memory"));
    CHECK(reg_is(fdt, node, 0x80000000, 256ull << 20));

    check_cpus(fdt, harts);

    node = fdt_path_offset(fdt, "/soc");
    CHECK(node >= 0 && fdt_node_check_compatible(fdt, node, "simple-bus") == 0);
    CHECK(fdt_getprop(fdt, node, "ranges", &len) && len == 0);

    node = fdt_path_offset(fdt, "/soc/clint@2000000");
    CHECK(node >= 0 && fdt_node_check_compatible(fdt, node, "riscv,clint0") == 0);
    CHECK(fdt_node_check_compatible(fdt, node, "sifive,clint0") == 0);
    CHECK(reg_is(fdt, node, 0x2000000, 0x10000));
    check_per_hart(fdt, node, harts, 3, 7);

    plic = fdt_path_offset(fdt, "/soc/plic@c000000");
    CHECK(plic >= 0 && fdt_node_check_compatible(fdt, plic, "sifive,plic-1.0.0") == 0);
    CHECK(fdt_node_check_compatible(fdt, plic, "riscv,plic0") == 0);
    CHECK(reg_is(fdt, plic, 0xc000000, 0x600000));
    CHECK(get_u32(fdt, plic, "riscv,ndev") == 95);
    CHECK(get_u32(fdt, plic, "#interrupt-cells") == 1);
    CHECK(get_u32(fdt, plic, "#address-cells") == 0);
    CHECK(fdt_getprop(fdt, plic, "interrupt-controller", NULL) != NULL);
    check_per_hart(fdt, plic, harts, 11, 9);

    check_plic_device(fdt, plic, "/soc/serial@10000000", "ns16550a", 0x10000000, 0x100,
                      10);
    CHECK(get_u32(fdt, fdt_path_offset(fdt, "/soc/serial@10000000"), "clock-frequency") ==
          3686400);
    check_plic_device(fdt, plic, "/soc/rtc@101000", "google,goldfish-rtc", 0x101000,
                      0x1000, 11);
    for (uint32_t i = 0; i < 8; i++) {
        snprintf(path, sizeof(path), "/soc/virtio_mmio@%x", 0x10001000 + i * 0x1000);
        check_plic_device(fdt, plic, path, "virtio,mmio", 0x10001000 + i * 0x1000, 0x1000,
                          1 + i);
    }

    test = fdt_path_offset(fdt, "/soc/test@100000");
    CHECK(test >= 0 && fdt_node_check_compatible(fdt, test, "syscon") == 0);
    CHECK(fdt_node_check_compatible(fdt, test, "sifive,test0") == 0);
    CHECK(reg_is(fdt, test, 0x100000, 0x1000));
    node = fdt_node_offset_by_compatible(fdt, -1, "syscon-poweroff");
    CHECK(node >= 0);
    CHECK(fdt_node_offset_by_phandle(fdt, get_u32(fdt, node, "regmap")) == test);
    CHECK(get_u32(fdt, node, "offset") == 0 && get_u32(fdt, node, "value") == 0x5555);
    node = fdt_node_offset_by_compatible(fdt, -1, "syscon-reboot");
    CHECK(node >= 0);
    CHECK(fdt_node_offset_by_phandle(fdt, get_u32(fdt, node, "regmap")) == test);
    CHECK(get_u32(fdt, node, "offset") == 0 && get_u32(fdt, node, "value") == 0x7777);
}

static void test_build(uint32_t harts)
{
    struct mq_fdt_machine m;
    static uint8_t buf[BUFSIZE];
    char err[256] = "";
    int ret;

    virt_machine(&m, harts);
    ret = mq_fdt_build(&m, buf, sizeof(buf), err, sizeof(err));
    CHECK(ret == 0);
    if (ret) {
        fprintf(stderr, "  %u harts: %s\n", harts, err);
        return;
    }
    check_tree(buf, harts);
}

/* Optional parts absent: no rtc, syscon, virtio, initrd, bootargs, seed. */
static void test_minimal(void)
{
    struct mq_fdt_machine m;
    static uint8_t buf[BUFSIZE];
    char err[256] = "";
    int node;

    virt_machine(&m, 1);
    m.has_rtc = 0;
    m.has_syscon = 0;
    m.num_virtio = 0;
    m.initrd_start = m.initrd_end = 0;
    m.bootargs = NULL;
    m.rng_seed = NULL;
    m.rng_seed_len = 0;
    m.mmu_type = NULL;
    CHECK(mq_fdt_build(&m, buf, sizeof(buf), err, sizeof(err)) == 0);
    CHECK(fdt_check_full(buf, fdt_totalsize(buf)) == 0);
    node = fdt_path_offset(buf, "/chosen");
    CHECK(fdt_getprop(buf, node, "linux,initrd-start", NULL) == NULL);
    CHECK(fdt_getprop(buf, node, "bootargs", NULL) == NULL);
    CHECK(fdt_node_offset_by_compatible(buf, -1, "virtio,mmio") == -FDT_ERR_NOTFOUND);
    CHECK(fdt_node_offset_by_compatible(buf, -1, "syscon-poweroff") == -FDT_ERR_NOTFOUND);
    CHECK(fdt_getprop(buf, fdt_path_offset(buf, "/cpus/cpu@0"), "mmu-type", NULL) == NULL);
}

/* The maximum hart count builds and passes the full check. */
static void test_max_harts(void)
{
    struct mq_fdt_machine m;
    static uint8_t buf[1 << 20];
    char err[256] = "";

    virt_machine(&m, MQ_FDT_MAX_HARTS);
    CHECK(mq_fdt_build(&m, buf, sizeof(buf), err, sizeof(err)) == 0);
    CHECK(fdt_check_full(buf, fdt_totalsize(buf)) == 0);
}

typedef void (*mutate_fn)(struct mq_fdt_machine *m);

static void b_harts0(struct mq_fdt_machine *m) { m->num_harts = 0; }
static void b_harts_many(struct mq_fdt_machine *m) { m->num_harts = MQ_FDT_MAX_HARTS + 1; }
static void b_isa_null(struct mq_fdt_machine *m) { m->isa = NULL; }
static void b_isa_upper(struct mq_fdt_machine *m) { m->isa = "RV64IMAFDC"; }
static void b_isa_g(struct mq_fdt_machine *m) { m->isa = "rv64gc"; }
static void b_isa_e(struct mq_fdt_machine *m) { m->isa = "rv64emac"; }
static void b_isa_bare(struct mq_fdt_machine *m) { m->isa = "rv64"; }
static void b_isa_empty_ext(struct mq_fdt_machine *m) { m->isa = "rv64imac__zicsr"; }
static void b_isa_trailing(struct mq_fdt_machine *m) { m->isa = "rv64imac_"; }
static void b_isa_digit(struct mq_fdt_machine *m) { m->isa = "rv64imac_1zicsr"; }
static void b_isa_space(struct mq_fdt_machine *m) { m->isa = "rv64imac zicsr"; }
static void b_mmu(struct mq_fdt_machine *m) { m->mmu_type = "sv39"; }
static void b_timebase(struct mq_fdt_machine *m) { m->timebase_freq = 0; }
static void b_ndev0(struct mq_fdt_machine *m) { m->plic_ndev = 0; }
static void b_ndev_big(struct mq_fdt_machine *m) { m->plic_ndev = 1024; }
static void b_ram0(struct mq_fdt_machine *m) { m->ram_size = 0; }
static void b_ram_wrap(struct mq_fdt_machine *m) { m->ram_base = UINT64_MAX - 0xfff; }
static void b_uart_irq0(struct mq_fdt_machine *m) { m->uart_irq = 0; }
static void b_rtc_irq(struct mq_fdt_machine *m) { m->rtc_irq = 96; }
static void b_virtio_irq(struct mq_fdt_machine *m) { m->virtio_irq_base = 90; }
static void b_virtio_irq_max(struct mq_fdt_machine *m) { m->virtio_irq_base = UINT32_MAX; }
static void b_virtio_many(struct mq_fdt_machine *m) { m->num_virtio = 1000; }
static void b_virtio_wrap(struct mq_fdt_machine *m) { m->virtio_base = UINT64_MAX - 0x2fff; }
static void b_initrd_outside(struct mq_fdt_machine *m) { m->initrd_end = 0x90001000; }
static void b_initrd_below(struct mq_fdt_machine *m) { m->initrd_start = 0x1000; }
static void b_initrd_inverted(struct mq_fdt_machine *m) { m->initrd_end = m->initrd_start; }
static void b_seed_big(struct mq_fdt_machine *m) { m->rng_seed_len = 4096; }
static void b_seed_null(struct mq_fdt_machine *m) { m->rng_seed = NULL; }

static const struct {
    const char *name;
    mutate_fn mutate;
    const char *msg;
} bad_cases[] = {
    { "0 harts", b_harts0, "0 harts" },
    { "too many harts", b_harts_many, "513 harts" },
    { "isa NULL", b_isa_null, "ISA string" },
    { "isa upper", b_isa_upper, "ISA string \"RV64IMAFDC\"" },
    { "isa g", b_isa_g, "no \"g\"" },
    { "isa e", b_isa_e, "ISA string" },
    { "isa bare", b_isa_bare, "ISA string" },
    { "isa __", b_isa_empty_ext, "ISA string" },
    { "isa trailing _", b_isa_trailing, "ISA string" },
    { "isa digit", b_isa_digit, "ISA string" },
    { "isa space", b_isa_space, "ISA string" },
    { "mmu", b_mmu, "unknown mmu-type \"sv39\"" },
    { "timebase", b_timebase, "timebase-frequency is 0" },
    { "ndev 0", b_ndev0, "PLIC with 0 sources" },
    { "ndev 1024", b_ndev_big, "PLIC with 1024 sources" },
    { "ram 0", b_ram0, "address range" },
    { "ram wrap", b_ram_wrap, "address range" },
    { "uart irq 0", b_uart_irq0, "IRQ outside PLIC sources 1..95" },
    { "rtc irq 96", b_rtc_irq, "IRQ outside" },
    { "virtio irqs", b_virtio_irq, "virtio-mmio slots do not fit" },
    { "virtio irq max", b_virtio_irq_max, "virtio-mmio slots do not fit" },
    { "virtio many", b_virtio_many, "1000 virtio-mmio slots" },
    { "virtio wrap", b_virtio_wrap, "virtio-mmio slots do not fit" },
    { "initrd outside", b_initrd_outside, "initrd 0x8e000000-0x90001000 is not inside RAM" },
    { "initrd below", b_initrd_below, "is not inside RAM" },
    { "initrd inverted", b_initrd_inverted, "is not inside RAM" },
    { "seed big", b_seed_big, "rng-seed" },
    { "seed null", b_seed_null, "rng-seed" },
};

static void test_bad_descriptions(void)
{
    static uint8_t buf[BUFSIZE];

    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        struct mq_fdt_machine m;
        char err[256] = "";
        int ret;

        virt_machine(&m, 2);
        bad_cases[i].mutate(&m);
        ret = mq_fdt_build(&m, buf, sizeof(buf), err, sizeof(err));
        if (ret != -EINVAL || !strstr(err, bad_cases[i].msg)) {
            fprintf(stderr, "case '%s': ret %d, err '%s' (want '%s')\n",
                    bad_cases[i].name, ret, err, bad_cases[i].msg);
            failures++;
        }
    }
}

/* Every buffer size below what is needed fails with -ENOSPC, never overruns. */
static void test_small_buffers(void)
{
    struct mq_fdt_machine m;
    static uint8_t full[BUFSIZE];
    char err[256] = "";
    uint32_t need;

    virt_machine(&m, 2);
    CHECK(mq_fdt_build(&m, full, sizeof(full), err, sizeof(err)) == 0);
    need = fdt_totalsize(full);
    for (uint32_t size = 0; size < need; size += (size < 128 ? 1 : 97)) {
        uint8_t *buf = malloc(size ? size : 1);
        int ret = mq_fdt_build(&m, buf, size, err, sizeof(err));

        if (ret != -ENOSPC) {
            fprintf(stderr, "bufsize %u: ret %d (%s)\n", size, ret, err);
            failures++;
        }
        free(buf);
    }
    {
        uint8_t *buf = malloc(need);
        CHECK(mq_fdt_build(&m, buf, need, err, sizeof(err)) == 0);
        CHECK(memcmp(buf, full, need) == 0);
        free(buf);
    }
}

static int dump(const char *path)
{
    struct mq_fdt_machine m;
    static uint8_t buf[BUFSIZE];
    char err[256] = "";
    FILE *f;

    virt_machine(&m, 2);
    m.initrd_start = m.initrd_end = 0;
    m.bootargs = NULL;
    if (mq_fdt_build(&m, buf, sizeof(buf), err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, fdt_totalsize(buf), f) != fdt_totalsize(buf)) {
        perror(path);
        return 1;
    }
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return dump(argv[1]);
    test_build(1);
    test_build(4);
    test_minimal();
    test_max_harts();
    test_bad_descriptions();
    test_small_buffers();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("fdt_test: all passed\n");
    return 0;
}
