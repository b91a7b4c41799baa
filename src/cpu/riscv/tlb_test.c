/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the software TLB and the page walker: fills, stale
 * entries until sfence.vma, flush on satp writes, permission keys per
 * mode (SUM, MXR, MPRV), A/D updates, superpage alignment, and decoded
 * instruction invalidation when code is written.
 */
#include <inttypes.h>

#include "cpu/riscv/exec.h"
#include "cpu/riscv/hart_stress.h"

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

#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_U 0x10
#define PTE_A 0x40
#define PTE_D 0x80

#define ROOT (STRESS_RAM_BASE + 0x100000)
#define L1 (ROOT + 0x1000)
#define L0 (ROOT + 0x2000)
#define DATA (STRESS_RAM_BASE + 0x10000)
#define VA 0x40001000ull /* VPN2 = 1, VPN1 = 0, VPN0 = 1 */

static struct stress_board b;

static uint64_t rd64(uint64_t pa)
{
    return mq_get_le64(b.ram.host + (pa - STRESS_RAM_BASE));
}

static void wr64(uint64_t pa, uint64_t v)
{
    mq_put_le64(b.ram.host + (pa - STRESS_RAM_BASE), v);
}

static uint64_t pte(uint64_t pa, uint64_t flags)
{
    return ((pa >> 12) << 10) | flags;
}

/* Sv39: VA -> DATA with the given leaf flags; hart in S mode, traps to M. */
static void setup(uint64_t leaf_flags)
{
    struct rv_hart *h = b.hart;

    rv_hart_reset(h);
    memset(b.ram.host + 0x100000, 0, 0x3000);
    wr64(ROOT + 1 * 8, pte(L1, PTE_V));
    wr64(L1 + 0 * 8, pte(L0, PTE_V));
    wr64(L0 + 1 * 8, pte(DATA, leaf_flags));
    wr64(DATA, 0x1111111111111111ull);
    wr64(DATA + 0x1000, 0x2222222222222222ull);
    /* PMP entry 0: everything, RWX, so S and U may run. */
    rv_csr_write(h, 0x3b0, ~0ull);
    rv_csr_write(h, 0x3a0, 0x1f);
    rv_csr_write(h, 0x180, (8ull << 60) | (ROOT >> 12));
    h->priv = RV_PRIV_S;
    rv_update_mode(h);
}

static void test_fill_and_sfence(void)
{
    struct rv_hart *h = b.hart;
    uint64_t v = 0;

    setup(PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
    CHECK(rv_load_u64(h, VA, &v) && v == 0x1111111111111111ull, "load through Sv39");
    CHECK(h->tlb_r[rv_tlb_index(VA)].tag == (VA | h->data_key), "read TLB entry filled");
    wr64(L0 + 8, pte(DATA + 0x1000, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D));
    CHECK(rv_load_u64(h, VA, &v) && v == 0x1111111111111111ull,
          "changed PTE not seen before sfence.vma (TLB hit)");
    rv_tlb_flush_page(h, VA);
    CHECK(rv_load_u64(h, VA, &v) && v == 0x2222222222222222ull,
          "sfence.vma of the page makes the new PTE visible");
    wr64(L0 + 8, pte(DATA, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D));
    rv_csr_write(h, 0x180, (8ull << 60) | (ROOT >> 12));
    CHECK(rv_load_u64(h, VA, &v) && v == 0x1111111111111111ull, "satp write flushes the TLB");
}

static void test_permissions(void)
{
    struct rv_hart *h = b.hart;
    uint64_t v;

    setup(PTE_V | PTE_R | PTE_A | PTE_D);
    CHECK(rv_load_u64(h, VA, &v), "read-only page reads");
    CHECK(!rv_store_u64(h, VA + 8, 5) && h->mcause == RV_EXC_STORE_PAGE && h->mtval == VA + 8,
          "store to read-only page: store page fault, mtval = VA");
    CHECK(rd64(DATA + 8) == 0, "faulting store wrote nothing");

    setup(PTE_V | PTE_X | PTE_A | PTE_D);
    h->priv = RV_PRIV_S;
    rv_update_mode(h);
    CHECK(!rv_load_u64(h, VA, &v) && h->mcause == RV_EXC_LOAD_PAGE, "execute-only page: load faults");
    h->priv = RV_PRIV_S;
    rv_csr_write(h, 0x300, 1ull << 19); /* MXR */
    CHECK(rv_load_u64(h, VA, &v) && v == 0x1111111111111111ull, "MXR makes X pages readable");

    setup(PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
    h->priv = RV_PRIV_U;
    rv_update_mode(h);
    CHECK(rv_load_u64(h, VA, &v), "U reads a U page");
    h->priv = RV_PRIV_S;
    rv_update_mode(h);
    CHECK(!rv_load_u64(h, VA, &v) && h->mcause == RV_EXC_LOAD_PAGE,
          "S cannot read a U page without SUM, even with a U TLB entry cached");
    h->priv = RV_PRIV_S;
    rv_csr_write(h, 0x300, 1ull << 18); /* SUM */
    CHECK(rv_load_u64(h, VA, &v), "S reads a U page with SUM");

    setup(PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
    h->priv = RV_PRIV_M;
    rv_csr_write(h, 0x300, (1ull << 17) | (1ull << 11)); /* MPRV, MPP = S */
    CHECK(rv_load_u64(h, VA, &v) && v == 0x1111111111111111ull,
          "M with MPRV and MPP=S translates loads");
    rv_csr_write(h, 0x300, 0);
    CHECK(!rv_load_u64(h, VA, &v) && h->mcause == RV_EXC_LOAD_ACCESS,
          "M without MPRV uses physical addresses (VA is not RAM: access fault)");
}

static void test_ad_bits(void)
{
    struct rv_hart *h = b.hart;
    uint64_t v;

    setup(PTE_V | PTE_R | PTE_W);
    CHECK(rv_load_u64(h, VA, &v), "load from page without A");
    CHECK((rd64(L0 + 8) & (PTE_A | PTE_D)) == PTE_A, "load sets A only");
    CHECK(rv_store_u64(h, VA, 7), "store");
    CHECK((rd64(L0 + 8) & (PTE_A | PTE_D)) == (PTE_A | PTE_D), "store sets D");
}

static void test_superpage(void)
{
    struct rv_hart *h = b.hart;
    uint64_t v;

    /* A 2 MiB leaf at level 1 whose PPN is not 2 MiB aligned is a page fault. */
    setup(PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
    wr64(L1, pte(STRESS_RAM_BASE + 0x1000, PTE_V | PTE_R | PTE_A | PTE_D));
    CHECK(!rv_load_u64(h, 0x40000000, &v) && h->mcause == RV_EXC_LOAD_PAGE,
          "misaligned 2 MiB superpage faults");
    setup(PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
    wr64(L1, pte(STRESS_RAM_BASE, PTE_V | PTE_R | PTE_A | PTE_D));
    CHECK(rv_load_u64(h, 0x40000000 + 0x10000, &v) && v == 0x1111111111111111ull,
          "aligned 2 MiB superpage maps its offset");
}

/* addi a0, a0, 1 ; then jump back: patching the first word must be seen. */
static void test_code_invalidation(void)
{
    struct rv_hart *h = b.hart;
    uint64_t code = STRESS_RAM_BASE + 0x20000;

    rv_hart_reset(h);
    mq_put_le32(b.ram.host + 0x20000, 0x00150513); /* addi a0, a0, 1 */
    mq_put_le32(b.ram.host + 0x20004, 0xffdff06f); /* j -4 */
    h->pc = code;
    h->x[10] = 0;
    rv_hart_run(h, 10);
    CHECK(h->x[10] == 5, "loop ran from the decoded cache (a0 = %" PRIu64 ")", h->x[10]);
    /* Another agent (DMA) rewrites the instruction: addi a0, a0, 16. */
    uint32_t patched = 0x01050513;
    mq_guest_mem_write(&b.ram, code, &patched, 4);
    h->pc = code;
    h->x[10] = 0;
    rv_hart_run(h, 10);
    CHECK(h->x[10] == 80, "rewritten instruction is decoded again (a0 = %" PRIu64 ")",
          h->x[10]);
    /* The hart itself stores over its code (sw t0, 0(t1)) and runs it. */
    mq_put_le32(b.ram.host + 0x20100, 0x00532023); /* sw t0, 0(t1) */
    mq_put_le32(b.ram.host + 0x20104, 0x00000013); /* nop, to be overwritten */
    mq_guest_mem_written(&b.ram, code + 0x100, 8);
    h->pc = code + 0x100;
    h->x[5] = 0x00150513; /* addi a0, a0, 1 */
    h->x[6] = code + 0x104;
    h->x[10] = 0;
    rv_hart_run(h, 2);
    CHECK(h->x[10] == 1, "store to the current code page is seen by the next fetch");
}

int main(void)
{
    if (stress_board_init(&b) != 0) {
        fprintf(stderr, "tlb_test: cannot create the board\n");
        return 1;
    }
    test_fill_and_sfence();
    test_permissions();
    test_ad_bits();
    test_superpage();
    test_code_invalidation();
    printf("1..%d\n", count);
    stress_board_destroy(&b);
    return failures ? 1 : 0;
}
