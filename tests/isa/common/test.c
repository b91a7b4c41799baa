/* SPDX-License-Identifier: MIT */
/* Console, TAP collection and the C side of the M/S trap handlers of the ISA
 * test programs. */
#include "test.h"

volatile struct trap_rec trap_rec;
volatile int trap_expect;
volatile int trap_action;
void (*volatile m_irq_hook)(struct trap_frame *f);
void (*volatile s_irq_hook)(struct trap_frame *f);
void (*volatile trap_hook)(struct trap_frame *f);

struct mode_ctx {
	u64 ra, sp, s[12], pad[2];
};
extern struct mode_ctx mode_ctx[MAX_HARTS];

u64 hartid(void)
{
	u64 h;
	asm volatile("mv %0, tp" : "=r"(h));
	return h;
}

void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;
	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

/* ---- console ---- */

void putch(char c)
{
	volatile unsigned char *uart = (volatile unsigned char *)UART_BASE;
	while (!(uart[5] & 0x20))
		;
	uart[0] = (unsigned char)c;
}

void puts_raw(const char *s)
{
	while (*s)
		putch(*s++);
}

void put_hex(u64 v)
{
	char buf[19];
	int i = 18;
	buf[i] = 0;
	do {
		buf[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	buf[--i] = 'x';
	buf[--i] = '0';
	puts_raw(&buf[i]);
}

void put_dec(u64 v)
{
	char buf[21];
	int i = 20;
	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	puts_raw(&buf[i]);
}

void syscon_exit(int code)
{
	u32 v = code == 0 ? 0x5555 : (((u32)code << 16) | 0x3333);
	for (;;)
		mmio_write32(SYSCON_BASE, v);
}

/* ---- TAP ---- */

#define TAP_BUF 65536
static char tap_buf[TAP_BUF];
static size_t tap_len;
static unsigned tap_count, tap_failed;

static void buf_putc(char c)
{
	if (tap_len < TAP_BUF - 1)
		tap_buf[tap_len++] = c;
}

static void buf_puts(const char *s)
{
	while (*s)
		buf_putc(*s++);
}

static void buf_dec(u64 v)
{
	char b[21];
	int i = 20;
	b[i] = 0;
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	buf_puts(&b[i]);
}

static void buf_hex(u64 v)
{
	char b[19];
	int i = 18;
	b[i] = 0;
	do {
		b[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	buf_puts("0x");
	buf_puts(&b[i]);
}

static void tap_begin(int ok, const char *name)
{
	tap_count++;
	if (!ok)
		tap_failed++;
	buf_puts(ok ? "ok " : "not ok ");
	buf_dec(tap_count);
	buf_puts(" - ");
	buf_puts(name);
}

void check(const char *name, u64 got, u64 expected)
{
	tap_begin(got == expected, name);
	if (got != expected) {
		buf_puts(" # got ");
		buf_hex(got);
		buf_puts(" expected ");
		buf_hex(expected);
	}
	buf_putc('\n');
}

void check2(const char *name, u64 got, u64 expected, u64 got2, u64 expected2)
{
	int ok = got == expected && got2 == expected2;
	tap_begin(ok, name);
	if (!ok) {
		buf_puts(" # got ");
		buf_hex(got);
		buf_puts(" / ");
		buf_hex(got2);
		buf_puts(" expected ");
		buf_hex(expected);
		buf_puts(" / ");
		buf_hex(expected2);
	}
	buf_putc('\n');
}

void check_true(const char *name, int cond)
{
	tap_result(name, cond, "condition false");
}

void tap_result(const char *name, int ok, const char *note)
{
	tap_begin(ok, name);
	if (!ok && note) {
		buf_puts(" # ");
		buf_puts(note);
	}
	buf_putc('\n');
}

static void tap_flush(unsigned plan)
{
	puts_raw("1..");
	put_dec(plan);
	putch('\n');
	tap_buf[tap_len] = 0;
	puts_raw(tap_buf);
}

void tap_done(void)
{
	tap_flush(tap_count);
	syscon_exit(tap_failed ? 1 : 0);
}

static __attribute__((noreturn)) void crash(const char *what, u64 cause,
					    u64 epc, u64 tval)
{
	tap_begin(0, "unexpected trap");
	buf_puts(" # in ");
	buf_puts(what);
	buf_puts(" cause=");
	buf_hex(cause);
	buf_puts(" epc=");
	buf_hex(epc);
	buf_puts(" tval=");
	buf_hex(tval);
	buf_puts(" hart=");
	buf_dec(hartid());
	buf_putc('\n');
	tap_done();
}

void check_trap(const char *name, u64 cause)
{
	trap_expect = 0;
	if (trap_rec.count == 1 && trap_rec.cause == cause) {
		tap_result(name, 1, 0);
		return;
	}
	tap_begin(0, name);
	buf_puts(" # got ");
	buf_dec(trap_rec.count);
	buf_puts(" traps cause ");
	buf_hex(trap_rec.cause);
	buf_puts(" expected cause ");
	buf_hex(cause);
	buf_putc('\n');
}

void check_trap_tval(const char *name, u64 cause, u64 tval)
{
	trap_expect = 0;
	if (trap_rec.count == 1 && trap_rec.cause == cause && trap_rec.tval == tval) {
		tap_result(name, 1, 0);
		return;
	}
	tap_begin(0, name);
	buf_puts(" # got ");
	buf_dec(trap_rec.count);
	buf_puts(" traps cause ");
	buf_hex(trap_rec.cause);
	buf_puts(" tval ");
	buf_hex(trap_rec.tval);
	buf_puts(" expected cause ");
	buf_hex(cause);
	buf_puts(" tval ");
	buf_hex(tval);
	buf_putc('\n');
}

void check_trap_level(const char *name, u64 cause, u64 level)
{
	trap_expect = 0;
	if (trap_rec.count == 1 && trap_rec.cause == cause && trap_rec.level == level) {
		tap_result(name, 1, 0);
		return;
	}
	tap_begin(0, name);
	buf_puts(" # got ");
	buf_dec(trap_rec.count);
	buf_puts(" traps cause ");
	buf_hex(trap_rec.cause);
	buf_puts(" taken in mode ");
	buf_dec(trap_rec.level);
	buf_puts(" expected cause ");
	buf_hex(cause);
	buf_puts(" in mode ");
	buf_dec(level);
	buf_putc('\n');
}

void check_no_trap(const char *name)
{
	trap_expect = 0;
	if (trap_rec.count == 0) {
		tap_result(name, 1, 0);
		return;
	}
	tap_begin(0, name);
	buf_puts(" # unexpected trap cause ");
	buf_hex(trap_rec.cause);
	buf_puts(" epc ");
	buf_hex(trap_rec.epc);
	buf_puts(" tval ");
	buf_hex(trap_rec.tval);
	buf_putc('\n');
}

__attribute__((weak)) void secondary_main(u64 hart)
{
	for (;;)
		asm volatile("wfi");
}

/* ---- trap handlers ---- */

/* Unwind to the caller of run_mode() as if fn had returned `val`. */
static void return_to_m(struct trap_frame *f, u64 val)
{
	struct mode_ctx *c = &mode_ctx[hartid()];
	static const int sreg[12] = { 8, 9, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27 };
	for (int i = 0; i < 12; i++)
		f->x[sreg[i]] = c->s[i];
	f->x[1] = c->ra;
	f->x[2] = c->sp;
	f->x[10] = val;
	f->epc = c->ra;
	/* Back in M with MIE = 0, whatever the lower mode left in MPIE. */
	f->status = (f->status & ~(MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_MPIE)) | MSTATUS_MPP;
}

/* Length of the instruction at the trapping pc, read the way the trapping
 * mode fetched it: through MPRV with MPP (still the trapping mode), MXR and
 * SUM, all in one asm block so no stack access happens in between. */
static u64 m_insn_len(u64 epc)
{
	u64 half, tmp;
	asm volatile(
		"li %1, %3\n"
		"csrs mstatus, %1\n"
		"lhu %0, 0(%2)\n"
		"csrc mstatus, %1\n"
		: "=&r"(half), "=&r"(tmp)
		: "r"(epc), "i"(MSTATUS_MPRV | MSTATUS_MXR | MSTATUS_SUM)
		: "memory");
	return (half & 3) == 3 ? 4 : 2;
}

static u64 s_insn_len(u64 epc)
{
	u64 half, tmp, old;
	asm volatile(
		"li %1, %4\n"
		"csrrs %2, sstatus, %1\n"
		"lhu %0, 0(%3)\n"
		"csrw sstatus, %2\n"
		: "=&r"(half), "=&r"(tmp), "=&r"(old)
		: "r"(epc), "i"(MSTATUS_MXR | MSTATUS_SUM)
		: "memory");
	return (half & 3) == 3 ? 4 : 2;
}

static void record(struct trap_frame *f, u64 level, u64 prev)
{
	trap_rec.count++;
	trap_rec.cause = f->cause;
	trap_rec.epc = f->epc;
	trap_rec.tval = f->tval;
	trap_rec.level = level;
	trap_rec.prev = prev;
	trap_rec.status = f->status;
	trap_expect = 0;
}

void m_trap_c(struct trap_frame *f);
void m_trap_c(struct trap_frame *f)
{
	u64 cause = f->cause;
	u64 prev = (f->status >> 11) & 3;

	if ((cause == CAUSE_ECALL_U || cause == CAUSE_ECALL_S ||
	     cause == CAUSE_ECALL_M) && f->x[17] == MAGIC_RET) {
		return_to_m(f, f->x[10]);
		return;
	}
	if (cause == CAUSE_ECALL_S && f->x[17] == MAGIC_SCRASH)
		crash("S-mode handler", f->x[10], f->x[11], f->x[12]);
	if (cause & CAUSE_INTR) {
		if (m_irq_hook) {
			m_irq_hook(f);
			return;
		}
		crash("M-mode (interrupt)", cause, f->epc, f->tval);
	}
	if (!trap_expect)
		crash("M-mode", cause, f->epc, f->tval);
	record(f, PRV_M, prev);
	if (trap_hook)
		trap_hook(f);
	switch (trap_action) {
	case TRAP_SKIP:
		f->epc += prev == PRV_M ? ((*(volatile uint16_t *)f->epc & 3) == 3 ? 4 : 2)
					: m_insn_len(f->epc);
		break;
	case TRAP_RET_RA:
		f->epc = f->x[1];
		break;
	default:
		return_to_m(f, RUN_TRAPPED);
		break;
	}
}

static __attribute__((noreturn)) void s_ecall(u64 a7, u64 a0, u64 a1, u64 a2)
{
	register u64 r7 asm("a7") = a7;
	register u64 r0 asm("a0") = a0;
	register u64 r1 asm("a1") = a1;
	register u64 r2 asm("a2") = a2;
	asm volatile("ecall" :: "r"(r7), "r"(r0), "r"(r1), "r"(r2) : "memory");
	for (;;)
		;
}

void s_trap_c(struct trap_frame *f);
void s_trap_c(struct trap_frame *f)
{
	u64 cause = f->cause;

	if (cause & CAUSE_INTR) {
		if (s_irq_hook) {
			s_irq_hook(f);
			return;
		}
		s_ecall(MAGIC_SCRASH, cause, f->epc, f->tval);
	}
	if (cause == CAUSE_ECALL_U && f->x[17] == MAGIC_RET)
		s_ecall(MAGIC_RET, f->x[10], 0, 0);
	if (!trap_expect)
		s_ecall(MAGIC_SCRASH, cause, f->epc, f->tval);
	record(f, PRV_S, (f->status & MSTATUS_SPP) ? PRV_S : PRV_U);
	if (trap_hook)
		trap_hook(f);
	switch (trap_action) {
	case TRAP_SKIP:
		f->epc += s_insn_len(f->epc);
		break;
	case TRAP_RET_RA:
		f->epc = f->x[1];
		break;
	default:
		s_ecall(MAGIC_RET, RUN_TRAPPED, 0, 0);
	}
}
