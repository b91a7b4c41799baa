/* SPDX-License-Identifier: MIT */
/* Two harts (run with --smp 2): atomic counters with amoadd.w and lr.w/sc.w,
 * a spinlock built on amoswap.w.aq / sw.rl, an SC that must fail after the
 * other hart stored to the reservation set, and an MSIP IPI that wakes the
 * other hart from wfi. Unprivileged spec "A" (8.2, 8.3); privileged 3.3.3. */
#include "test.h"

#define ITERS 1000000
#define LOCK_ITERS 100000

static volatile u32 counter_amo __attribute__((aligned(64)));
static volatile u32 counter_lrsc __attribute__((aligned(64)));
static volatile u32 lock __attribute__((aligned(64)));
static volatile u64 plain_counter __attribute__((aligned(64)));
static volatile u32 resv_word __attribute__((aligned(64)));
static volatile u32 go, phase1_done, resv_go, resv_done, ipi_ready, ipi_woken;
static volatile u64 h1_hartid = ~0UL, h1_arg = ~0UL, h1_mip;

static u64 mtime(void) { return mmio_read64(CLINT_MTIME); }

static void add_amo(void)
{
	for (int i = 0; i < ITERS; i++)
		asm volatile("amoadd.w zero, %1, (%0)" :: "r"(&counter_amo), "r"(1) : "memory");
}

static void add_lrsc(void)
{
	for (int i = 0; i < ITERS; i++) {
		u32 tmp, fail;
		asm volatile("1: lr.w %0, (%2)\n"
			     "addiw %0, %0, 1\n"
			     "sc.w %1, %0, (%2)\n"
			     "bnez %1, 1b"
			     : "=&r"(tmp), "=&r"(fail) : "r"(&counter_lrsc) : "memory");
	}
}

static void add_locked(void)
{
	for (int i = 0; i < LOCK_ITERS; i++) {
		u32 old;
		do {
			asm volatile("amoswap.w.aq %0, %1, (%2)" : "=r"(old)
				     : "r"(1), "r"(&lock) : "memory");
		} while (old);
		plain_counter = plain_counter + 1;
		asm volatile("amoswap.w.rl zero, zero, (%0)" :: "r"(&lock) : "memory");
	}
}

/* Spin until *flag is nonzero, at most `ticks` of mtime; returns the flag. */
static u32 wait_flag(volatile u32 *flag, u64 ticks)
{
	u64 end = mtime() + ticks;
	while (!*flag && mtime() < end)
		;
	return *flag;
}

void secondary_main(u64 hart)
{
	if (hart != 1)
		for (;;)
			asm volatile("wfi");
	h1_arg = hart;
	h1_hartid = csr_read(mhartid);
	wait_flag(&go, ~0UL >> 1);
	add_amo();
	add_lrsc();
	add_locked();
	asm volatile("fence rw, rw" ::: "memory");
	phase1_done = 1;

	/* Store into hart 0's reservation set when told to. */
	wait_flag(&resv_go, ~0UL >> 1);
	resv_word = 0x1111;
	asm volatile("fence rw, rw" ::: "memory");
	resv_done = 1;

	/* Sleep until hart 0 sends a software interrupt. MIE = 0, so wfi
	 * only wakes up; no trap is taken. */
	csr_write(mie, 1UL << IRQ_MSI);
	ipi_ready = 1;
	while (!(csr_read(mip) & (1UL << IRQ_MSI)))
		asm volatile("wfi");
	h1_mip = csr_read(mip);
	mmio_write32(CLINT_MSIP(1), 0);
	csr_write(mie, 0);
	ipi_woken = 1;
	for (;;)
		asm volatile("wfi");
}

int main(void);
int main(void)
{
	const u64 timeout = 30UL * 10000000UL;   /* 30 s of mtime */
	u32 sc, loaded;

	go = 1;
	add_amo();
	add_lrsc();
	add_locked();
	if (!wait_flag(&phase1_done, timeout)) {
		tap_result("hart 1 finished its increments", 0, "timeout: is hart 1 running?");
		tap_done();
	}
	tap_result("hart 1 finished its increments", 1, 0);
	check("hart 1 started with a0 = 1", h1_arg, 1);
	check("hart 1 mhartid = 1", h1_hartid, 1);
	check("amoadd.w counter = 2,000,000", counter_amo, 2 * ITERS);
	check("lr.w/sc.w counter = 2,000,000", counter_lrsc, 2 * ITERS);
	check("amoswap spinlock counter = 200,000", plain_counter, 2 * LOCK_ITERS);
	check("lock released", lock, 0);

	resv_word = 0x2222;
	asm volatile("lr.w %0, (%3)\n"
		     "sw %4, 0(%2)\n"                  /* resv_go = 1 */
		     "1: lw t0, 0(%5)\n beqz t0, 1b\n" /* until resv_done */
		     "sc.w %1, %6, (%3)\n"
		     : "=&r"(loaded), "=&r"(sc)
		     : "r"(&resv_go), "r"(&resv_word), "r"(1), "r"(&resv_done), "r"(0x3333)
		     : "t0", "memory");
	check("lr.w read the old value", loaded, 0x2222);
	check_true("sc.w fails after the other hart stored to the reservation set", sc != 0);
	check("the other hart's store is kept", resv_word, 0x1111);

	if (!wait_flag(&ipi_ready, timeout)) {
		tap_result("hart 1 waiting in wfi", 0, "timeout");
		tap_done();
	}
	/* Give hart 1 time to reach wfi, then wake it. */
	u64 t = mtime() + 10000;
	while (mtime() < t)
		;
	check("hart 1 not woken before the IPI", ipi_woken, 0);
	mmio_write32(CLINT_MSIP(1), 1);
	check_true("MSIP IPI wakes hart 1 from wfi", wait_flag(&ipi_woken, timeout));
	check("hart 1 saw mip.MSIP", h1_mip & (1UL << IRQ_MSI), 1UL << IRQ_MSI);
	check("hart 1 cleared its msip", mmio_read32(CLINT_MSIP(1)), 0);
	check("hart 0 msip untouched", mmio_read32(CLINT_MSIP(0)), 0);
	return 0;
}
