/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for rv_hart_save / rv_hart_load: random machine states saved
 * and loaded into another hart must read back identically through every
 * CSR and then execute identically; hostile streams are refused with a
 * message and leave the hart bit for bit unchanged.
 */
#include <errno.h>
#include <inttypes.h>

#include "cpu/riscv/hart_stress.h"
#include "util/state_testutil.h"

static int failures, count;

#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        count++;                                                                  \
        if (cond) {                                                               \
            printf("ok %d - ", count);                                            \
        } else {                                                                  \
            printf("not ok %d - ", count);                                        \
            failures++;                                                           \
        }                                                                         \
        printf(__VA_ARGS__);                                                      \
        printf("\n");                                                             \
    } while (0)

/* Field indexes of section version 1, in the order rv_hart_save writes them. */
enum {
    F_HARTID, F_MISA, F_MAX_SATP, F_PRIV, F_WFI, F_PC,
    F_X1,
    F_F0 = F_X1 + 31,
    F_INSTRET = F_F0 + 32, F_CYCLE_OFFSET, F_INSTRET_OFFSET,
    F_PMPADDR0,
    F_PMPCFG = F_PMPADDR0 + RV_PMP_COUNT,
    F_FFLAGS, F_FRM, F_MIP, F_MENVCFG, F_SENVCFG, F_MSTATUS, F_MEDELEG, F_MIDELEG, F_MIE,
    F_MTVEC, F_STVEC, F_MSCRATCH, F_SSCRATCH, F_MEPC, F_SEPC, F_MCAUSE, F_SCAUSE, F_MTVAL,
    F_STVAL, F_SATP, F_MCOUNTEREN, F_SCOUNTEREN, F_MCOUNTINHIBIT, F_STIMECMP,
    F_COUNT,
};

static struct stress_board a, b;

static int save_fn(void *dev, struct mq_state_writer *w)
{
    return rv_hart_save(dev, w);
}

static int load_fn(void *dev, struct mq_state_reader *r)
{
    return rv_hart_load(dev, r);
}

/*
 * Everything the guest can observe: registers, pc, mode, WFI, every CSR
 * number as the CSR instructions read it (counters included), plus the
 * derived state the fast paths use. Returns a description of the first
 * difference, or NULL.
 */
static const char *differ(struct rv_hart *x, struct rv_hart *y)
{
    static char why[96];

    for (unsigned i = 0; i < 32; i++) {
        if (x->x[i] != y->x[i] || x->f[i] != y->f[i]) {
            snprintf(why, sizeof(why), "x%u/f%u", i, i);
            return why;
        }
    }
    if (x->pc != y->pc || x->priv != y->priv || x->wfi != y->wfi)
        return "pc, priv or wfi";
    for (unsigned csr = 0; csr < 0x1000; csr++) {
        uint64_t vx = 0, vy = 0;
        bool okx = rv_csr_read(x, csr, &vx), oky = rv_csr_read(y, csr, &vy);
        if (okx != oky || vx != vy) {
            snprintf(why, sizeof(why), "CSR 0x%03x: 0x%" PRIx64 " vs 0x%" PRIx64, csr, vx, vy);
            return why;
        }
    }
    if (x->mip_sw != y->mip_sw || x->mcountinhibit != y->mcountinhibit ||
        x->instret != y->instret)
        return "mip_sw, mcountinhibit or instret";
    if (x->data_key != y->data_key || x->fetch_key != y->fetch_key ||
        x->pmp_active != y->pmp_active || memcmp(x->pmp_lo, y->pmp_lo, sizeof(x->pmp_lo)) ||
        memcmp(x->pmp_hi, y->pmp_hi, sizeof(x->pmp_hi)))
        return "derived state (keys, PMP ranges)";
    return NULL;
}

/* B gets A's RAM and MMIO registers, as a snapshot restore would give it. */
static void copy_memory(void)
{
    memcpy(b.ram.host, a.ram.host, STRESS_RAM_SIZE);
    mq_guest_mem_written(&b.ram, STRESS_RAM_BASE, STRESS_RAM_SIZE);
    b.mmio = a.mmio;
}

static void test_random_round_trip(void)
{
    unsigned saved = 0, loaded = 0, same = 0, ran_same = 0, rounds = 150;
    const char *first_diff = NULL;

    for (unsigned seed = 1; seed <= rounds; seed++) {
        struct stress_rng ra = {seed}, rb = {seed + 100000}, rc = {seed * 7};
        struct mqt_blob blob;
        const char *d;

        rv_hart_reset(a.hart);
        stress_fill_code(&a, &rc);
        stress_randomize(&a, &ra);
        /* The reservation is dropped on load: drop it on the reference too. */
        a.hart->lr_valid = false;
        /* Run a little so counters, FP flags and trap CSRs are not reset values. */
        stress_run(&a, 500);
        stress_randomize(&b, &rb); /* B starts from some other state */
        copy_memory();
        if (mqt_save(save_fn, a.hart, &blob) != 0)
            continue;
        saved++;
        /*
         * The TLB is a cache the architecture lets drop entries at any time;
         * A's may hold translations random stores made stale, B's is empty.
         */
        rv_tlb_flush(a.hart);
        if (mqt_load(load_fn, b.hart, &blob) == 0) {
            loaded++;
            d = differ(a.hart, b.hart);
            if (!d)
                same++;
            else if (!first_diff)
                first_diff = d;
            stress_run(&a, 3000);
            stress_run(&b, 3000);
            d = differ(a.hart, b.hart);
            if (!d && !memcmp(a.ram.host, b.ram.host, STRESS_RAM_SIZE))
                ran_same++;
            else if (!first_diff)
                first_diff = d ? d : "RAM";
        } else if (!first_diff) {
            first_diff = mqt_errmsg;
        }
        mqt_free(&blob);
    }
    CHECK(saved == rounds, "%u/%u random states saved", saved, rounds);
    CHECK(loaded == rounds, "%u/%u loaded into a hart in another state%s%s", loaded, rounds,
          first_diff ? ": " : "", first_diff ? first_diff : "");
    CHECK(same == rounds, "%u/%u read back identically (registers, every CSR, derived state)",
          same, rounds);
    CHECK(ran_same == rounds, "%u/%u then ran 3000 instructions identically (state and RAM)",
          ran_same, rounds);
}

/* A hand-made state with something in every field, Sv39 paging on. */
static void known_state(struct rv_hart *h)
{
    rv_hart_reset(h);
    for (unsigned i = 1; i < 32; i++)
        h->x[i] = 0x1000ull * i + i;
    for (unsigned i = 0; i < 32; i++)
        h->f[i] = 0xffffffff00000000ull | i;
    rv_csr_write(h, 0x3b0, 0x3fffffffffffffull);
    rv_csr_write(h, 0x3a0, 0x1f);
    rv_csr_write(h, 0x001, 0x15);
    rv_csr_write(h, 0x002, 3);
    rv_csr_write(h, 0x300, (1ull << 11) | (3ull << 13) | (1ull << 18) | (1ull << 5));
    rv_csr_write(h, 0x302, 0xb1ff);
    rv_csr_write(h, 0x303, 0x222);
    rv_csr_write(h, 0x304, 0xaaa);
    rv_csr_write(h, 0x305, STRESS_RAM_BASE + 0x101);
    rv_csr_write(h, 0x105, STRESS_RAM_BASE + 0x200);
    rv_csr_write(h, 0x341, STRESS_RAM_BASE + 0x300);
    rv_csr_write(h, 0x141, STRESS_RAM_BASE + 0x400);
    rv_csr_write(h, 0x180, (8ull << 60) | (0x1234ull << 44) | 0x80100);
    rv_csr_write(h, 0x30a, (1ull << 63) | 1);
    rv_csr_write(h, 0x14d, 0x123456789ull);
    rv_csr_write(h, 0x306, 7);
    rv_csr_write(h, 0xb02, 1000000);
    h->priv = RV_PRIV_S;
    h->pc = STRESS_RAM_BASE + 0x1002;
    rv_update_mode(h);
}

/* Load good with field index set to v into h: refused, message has want, h unchanged. */
static void refuse(struct rv_hart *h, const struct mqt_blob *good, unsigned index, uint64_t v,
                   const char *want, const char *what)
{
    struct rv_hart *before = malloc(sizeof(*h));
    int ret;

    memcpy(before, h, sizeof(*h));
    ret = mqt_load_with(load_fn, h, good, index, v);
    CHECK(ret == -EINVAL && strstr(mqt_errmsg, want) && !memcmp(before, h, sizeof(*h)),
          "%s refused, hart unchanged (%d: %s)", what, ret, mqt_errmsg);
    free(before);
}

static void test_hostile(void)
{
    struct rv_hart *h = b.hart, *before, *sv39;
    struct rv_hart_config cfg = {.bus = &b.bus, .timebase = &b.tb,
                                 .reset_pc = STRESS_RAM_BASE, .max_satp_mode = 8};
    struct mqt_blob good, bad;
    uint64_t mstatus, misa = 0;
    int ret;

    known_state(a.hart);
    mstatus = a.hart->mstatus;
    rv_csr_read(a.hart, 0x301, &misa);
    CHECK(mqt_save(save_fn, a.hart, &good) == 0, "known state saved");
    CHECK(mqt_field(&good, F_COUNT - 1, &(size_t){0}) && !mqt_field(&good, F_COUNT, &(size_t){0}),
          "the section has the %u fields the test expects", (unsigned)F_COUNT);
    known_state(h);
    rv_csr_write(h, 0x340, 42); /* differs from A: a load would change it */

    refuse(h, &good, F_PRIV, 2, "privilege mode 2", "priv 2");
    refuse(h, &good, F_SATP, (5ull << 60) | 0x80100, "mode 5 is not offered", "satp mode 5");
    refuse(h, &good, F_MISA, misa & ~(1ull << 2), "misa", "misa without C");
    refuse(h, &good, F_HARTID, 1, "of hart 1, this is hart 0", "hart ID 1 into hart 0");
    refuse(h, &good, F_MAX_SATP, 8, "offering Bare and Sv39, this one offers Bare, Sv39 and Sv48",
           "max satp mode Sv39 into an Sv48 hart");
    refuse(h, &good, F_MSTATUS, (mstatus & ~MSTATUS_MPP) | (2ull << 11), "MPP = 2",
           "mstatus MPP 2");
    refuse(h, &good, F_MSTATUS, (mstatus & ~MSTATUS_UXL) | (1ull << 32), "mstatus",
           "mstatus UXL 32");
    refuse(h, &good, F_MSTATUS, mstatus | (1ull << 15), "mstatus", "mstatus XS set");
    refuse(h, &good, F_MSTATUS, mstatus | MSTATUS_SD, "mstatus", "mstatus SD stored");
    refuse(h, &good, F_PMPCFG, 0x1a, "pmp0cfg 0x1a", "pmpcfg W without R");
    refuse(h, &good, F_PMPCFG, 0x7f, "pmp0cfg 0x7f", "pmpcfg reserved bits");
    refuse(h, &good, F_PMPADDR0 + 3, 1ull << 60, "pmpaddr3", "pmpaddr above bit 54");
    refuse(h, &good, F_MEPC, STRESS_RAM_BASE + 1, "mepc", "odd mepc");
    refuse(h, &good, F_MTVEC, STRESS_RAM_BASE + 2, "mtvec", "mtvec mode 2");
    refuse(h, &good, F_MEDELEG, 1ull << 11, "medeleg", "delegated ecall from M");
    refuse(h, &good, F_MIE, 1ull << 12, "mie", "mie bit 12");
    refuse(h, &good, F_MIP, 1ull << 7, "mip", "software MTIP");
    refuse(h, &good, F_FRM, 8, "frm", "frm 8");
    refuse(h, &good, F_FFLAGS, 0x20, "fflags", "fflags bit 5");
    refuse(h, &good, F_MCOUNTINHIBIT, 1, "mcountinhibit", "mcountinhibit set");
    refuse(h, &good, F_MENVCFG, 2, "menvcfg", "menvcfg reserved bit");
    refuse(h, &good, F_PC, STRESS_RAM_BASE + 1, "not 2-byte aligned", "odd pc");

    /* Not -EINVAL but refused all the same: a non-boolean WFI flag, a newer version. */
    before = malloc(sizeof(*h));
    memcpy(before, h, sizeof(*h));
    ret = mqt_load_with(load_fn, h, &good, F_WFI, 2);
    CHECK(ret < 0 && mqt_errmsg[0] && !memcmp(before, h, sizeof(*h)),
          "WFI flag 2 refused, hart unchanged (%s)", mqt_errmsg);
    bad.data = malloc(good.len);
    bad.len = good.len;
    memcpy(bad.data, good.data, good.len);
    mqt_set_version(&bad, 2);
    ret = mqt_load(load_fn, h, &bad);
    CHECK(ret == -EPROTONOSUPPORT && strstr(mqt_errmsg, "version 2") &&
          !memcmp(before, h, sizeof(*h)), "section version 2 refused, hart unchanged (%s)",
          mqt_errmsg);
    mqt_free(&bad);

    /* A Sv39-only hart refuses a snapshot of an Sv48 one, and Sv48 in satp. */
    sv39 = rv_hart_create(&cfg);
    memcpy(before, sv39, sizeof(*sv39));
    ret = mqt_load(load_fn, sv39, &good);
    CHECK(ret == -EINVAL && strstr(mqt_errmsg, "this one offers Bare and Sv39") &&
          !memcmp(before, sv39, sizeof(*sv39)), "Sv48 hart's state refused by an Sv39 hart (%s)",
          mqt_errmsg);
    bad.data = malloc(good.len);
    bad.len = good.len;
    memcpy(bad.data, good.data, good.len);
    mqt_set(&bad, F_MAX_SATP, 8);
    refuse(sv39, &bad, F_SATP, (9ull << 60) | 0x80100, "mode 9 is not offered",
           "satp Sv48 on an Sv39 hart");
    mqt_free(&bad);
    rv_hart_destroy(sv39);
    free(before);

    /* The good stream still loads after all that. */
    CHECK(mqt_load(load_fn, h, &good) == 0 && !differ(a.hart, h),
          "the unmodified stream loads and reads back identically");
    mqt_free(&good);
}

/* A section cut short after three fields: the reader's error, the hart untouched. */
static int save_truncated(void *dev, struct mq_state_writer *w)
{
    struct rv_hart *h = dev;

    mq_state_set_version(w, 1);
    mq_state_put_u32(w, h->hartid);
    mq_state_put_u64(w, 0);
    mq_state_put_u8(w, 9);
    return mq_state_writer_error(w);
}

static void test_truncated(void)
{
    struct rv_hart *h = b.hart, *before = malloc(sizeof(*h));
    struct mqt_blob t;
    uint64_t misa = 0;
    int ret;

    known_state(h);
    memcpy(before, h, sizeof(*h));
    rv_csr_read(h, 0x301, &misa);
    CHECK(mqt_save(save_truncated, h, &t) == 0, "truncated section written");
    mqt_set(&t, F_MISA, misa);
    ret = mqt_load(load_fn, h, &t);
    CHECK(ret < 0 && mqt_errmsg[0] && !memcmp(before, h, sizeof(*h)),
          "truncated section refused, hart unchanged (%d: %s)", ret, mqt_errmsg);
    mqt_free(&t);
    free(before);
}

/* WFI survives, mtimecmp and the device-driven mip lines are left to the devices. */
static void test_wfi_and_device_state(void)
{
    struct mqt_blob blob;
    uint64_t mip = 0;

    rv_hart_reset(a.hart);
    rv_csr_write(a.hart, 0x304, 1ull << RV_IRQ_MSI);
    rv_csr_write(a.hart, 0x300, MSTATUS_MIE);
    /* The handler is a nop, so one instruction after the wake-up leaves mcause alone. */
    rv_csr_write(a.hart, 0x305, STRESS_RAM_BASE + 0x800);
    mq_put_le32(b.ram.host + 0x800, 0x00000013);
    mq_guest_mem_written(&b.ram, STRESS_RAM_BASE + 0x800, 4);
    a.hart->wfi = true;
    rv_hart_set_mtimecmp(a.hart, 5555);
    CHECK(mqt_save(save_fn, a.hart, &blob) == 0, "hart in WFI saved");
    rv_hart_reset(b.hart);
    rv_hart_set_mtimecmp(b.hart, 1234);
    rv_hart_set_irq(b.hart, RV_IRQ_MEI, true);
    CHECK(mqt_load(load_fn, b.hart, &blob) == 0 && rv_hart_in_wfi(b.hart), "WFI restored");
    CHECK(rv_hart_get_mtimecmp(b.hart) == 1234, "mtimecmp left to the CLINT's load");
    rv_csr_read(b.hart, 0x344, &mip);
    CHECK(mip == (1ull << RV_IRQ_MEI), "device-driven mip lines left to the devices' loads");
    rv_hart_set_irq(b.hart, RV_IRQ_MEI, false);
    CHECK(rv_hart_run(b.hart, 100) == RV_RUN_WFI, "restored hart waits for an interrupt");
    rv_hart_set_irq(b.hart, RV_IRQ_MSI, true);
    rv_hart_run(b.hart, 1);
    CHECK(!rv_hart_in_wfi(b.hart) && b.hart->mcause == ((1ull << 63) | RV_IRQ_MSI),
          "and wakes for the enabled interrupt");
    rv_hart_set_irq(b.hart, RV_IRQ_MSI, false);
    mqt_free(&blob);
}

int main(void)
{
    if (stress_board_init(&a) || stress_board_init(&b)) {
        printf("Bail out! cannot create the test boards\n");
        return 1;
    }
    /* A stopped clock (0 Hz): time and the timers read the same on both harts. */
    mq_timebase_init(&a.tb, 0);
    mq_timebase_init(&b.tb, 0);
    test_random_round_trip();
    test_hostile();
    test_truncated();
    test_wfi_and_device_state();
    printf("1..%d\n", count);
    stress_board_destroy(&a);
    stress_board_destroy(&b);
    return failures ? 1 : 0;
}
