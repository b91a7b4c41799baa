/* SPDX-License-Identifier: MIT */
/* RV64I base integer instructions (unprivileged spec chapters 2 and 5). */
#include "ops.h"

static u64 mem[4] __attribute__((aligned(16)));

static void test_arith(void)
{
	T_RR("add", 1, 2, 3);
	T_RR("add", 0x7fffffffffffffff, 1, 0x8000000000000000);
	T_RR("add", -1, 1, 0);
	T_RR("sub", 3, 5, -2);
	T_RR("sub", 0, 0x8000000000000000, 0x8000000000000000);
	T_RI("addi", 5, -6, -1);
	T_RI("addi", 0, 2047, 2047);
	T_RI("addi", 0, -2048, -2048);
	T_RR("slt", -1, 1, 1);
	T_RR("slt", 1, -1, 0);
	T_RR("sltu", -1, 1, 0);
	T_RR("sltu", 1, -1, 1);
	T_RI("slti", 0, -1, 0);
	T_RI("slti", -5, -4, 1);
	T_RI("sltiu", 0, -1, 1); /* immediate sign-extends, then compares unsigned */
	T_RI("sltiu", 0, 1, 1);
	T_RI("sltiu", 1, 1, 0);
	T_RR("and", 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0x0f000f000f000f00);
	T_RR("or", 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xfff0fff0fff0fff0);
	T_RR("xor", 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xf0f0f0f0f0f0f0f0);
	T_RI("andi", 0x123456789abcdef0, -16, 0x123456789abcdef0);
	T_RI("andi", 0x123456789abcdef0, 0x7ff, 0x6f0);
	T_RI("ori", 0x1200, -2048, 0xfffffffffffffa00);
	T_RI("xori", 0x00ff00ff, -1, 0xffffffffff00ff00);
}

static void test_shifts(void)
{
	T_RR("sll", 1, 63, 0x8000000000000000);
	T_RR("sll", 1, 64, 1);        /* only rs2[5:0] is used */
	T_RR("sll", 3, 0x41, 6);
	T_RR("srl", 0x8000000000000000, 63, 1);
	T_RR("srl", 0x8000000000000000, 64 + 4, 0x0800000000000000);
	T_RR("sra", 0x8000000000000000, 63, -1);
	T_RR("sra", 0x8000000000000000, 65, 0xc000000000000000);
	T_RR("sra", 0x4000000000000000, 62, 1);
	T_RI("slli", 1, 63, 0x8000000000000000);
	T_RI("slli", 0xff, 32, 0xff00000000);
	T_RI("srli", 0xf000000000000000, 60, 0xf);
	T_RI("srli", -1, 0, -1);
	T_RI("srai", 0xf000000000000000, 60, -1);
	T_RI("srai", 0x7000000000000000, 60, 7);
}

static void test_word(void)
{
	T_RR("addw", 0x7fffffff, 1, 0xffffffff80000000);
	T_RR("addw", 0xffffffff00000001, 0x100000001, 2);
	T_RR("addw", 0xffffffff, 0, -1);
	T_RR("subw", 0, 0x80000000, 0xffffffff80000000);
	T_RR("subw", 0x100000000, 1, -1);
	T_RI("addiw", 0x7fffffff, 1, 0xffffffff80000000);
	T_RI("addiw", 0xffffffff, 0, -1);             /* sext.w */
	T_RI("addiw", 0x123456780000000f, -16, -1);
	T_RR("sllw", 1, 31, 0xffffffff80000000);
	T_RR("sllw", 1, 32, 1);                        /* only rs2[4:0] */
	T_RR("sllw", 1, 33, 2);
	T_RR("sllw", 0xffffffff00000003, 1, 6);
	T_RR("srlw", 0xffffffff80000000, 31, 1);
	T_RR("srlw", 0x80000000, 0, 0xffffffff80000000);
	T_RR("srlw", 0x80000000, 32, 0xffffffff80000000);
	T_RR("srlw", 0xffffffff00000010, 4, 1);
	T_RR("sraw", 0x80000000, 31, -1);
	T_RR("sraw", 0x80000000, 36, 0xfffffffff8000000);
	T_RR("sraw", 0x7fffffff00000040, 6, 1);
	T_RI("slliw", 1, 31, 0xffffffff80000000);
	T_RI("slliw", 0x80000001, 0, 0xffffffff80000001);
	T_RI("slliw", 0x1ffffffff, 4, 0xfffffffffffffff0);
	T_RI("srliw", 0xffffffff80000000, 31, 1);
	T_RI("srliw", 0x80000000, 0, 0xffffffff80000000);
	T_RI("srliw", 0xffffffff, 4, 0x0fffffff);
	T_RI("sraiw", 0x80000000, 31, -1);
	T_RI("sraiw", 0x80000000, 4, 0xfffffffff8000000);
	T_RI("sraiw", 0xffffffff7fffffff, 30, 1);
}

static void test_upper(void)
{
	u64 r, a, b;

	asm volatile("lui %0, 0x80000" : "=r"(r));
	check("lui 0x80000 sign-extends", r, 0xffffffff80000000);
	asm volatile("lui %0, 0x7ffff" : "=r"(r));
	check("lui 0x7ffff", r, 0x7ffff000);
	asm volatile("lui %0, 0xfffff" : "=r"(r));
	check("lui 0xfffff", r, 0xfffffffffffff000);
	asm volatile("1: auipc %0, 0\n la %1, 1b" : "=r"(a), "=r"(b));
	check("auipc 0 = pc", a, b);
	asm volatile("1: auipc %0, 1\n la %1, 1b" : "=r"(a), "=r"(b));
	check("auipc 1 = pc + 0x1000", a - b, 0x1000);
	asm volatile("1: auipc %0, 0xfffff\n la %1, 1b" : "=r"(a), "=r"(b));
	check("auipc -1 = pc - 0x1000", b - a, 0x1000);
	asm volatile("1: auipc %0, 0x80000\n la %1, 1b" : "=r"(a), "=r"(b));
	check("auipc 0x80000 = pc - 2GiB", b - a, 0x80000000);
}

static void test_jumps(void)
{
	u64 link, here, r;

	asm volatile(".option push\n.option norvc\n"
		     "la %1, 1f\n"
		     "jal %0, 2f\n"
		     "1: li %2, 1\n j 3f\n"
		     "2: li %2, 2\n"
		     "3:\n.option pop\n"
		     : "=&r"(link), "=&r"(here), "=&r"(r));
	check("jal link = pc + 4", link, here);
	check("jal jumps", r, 2);

	asm volatile(".option push\n.option norvc\n"
		     "la t0, 2f\n addi t0, t0, 1\n"
		     "la %1, 1f\n"
		     "jalr %0, 0(t0)\n"
		     "1: li %2, 1\n j 3f\n"
		     "2: li %2, 2\n"
		     "3:\n.option pop\n"
		     : "=&r"(link), "=&r"(here), "=&r"(r) :: "t0");
	check("jalr clears bit 0", r, 2);
	check("jalr link = pc + 4", link, here);

	asm volatile(".option push\n.option norvc\n"
		     "la t0, 2f\n addi t0, t0, -8\n"
		     "jalr x0, 8(t0)\n"
		     "li %0, 1\n j 3f\n"
		     "2: li %0, 2\n"
		     "3:\n.option pop\n"
		     : "=&r"(r) :: "t0");
	check("jalr with offset", r, 2);

	asm volatile(".option push\n.option norvc\n"
		     "la t0, 2f\n"
		     "la %1, 1f\n"
		     "jalr t0, 0(t0)\n"
		     "1: li %2, 1\n j 3f\n"
		     "2: li %2, 2\n"
		     "3: mv %0, t0\n.option pop\n"
		     : "=&r"(link), "=&r"(here), "=&r"(r) :: "t0");
	check("jalr rd == rs1 uses old rs1", r, 2);
	check("jalr rd == rs1 link", link, here);
}

#define BR(op, a, b) ({ u64 r_; asm volatile("li %0, 1\n" op " %1, %2, 1f\n li %0, 0\n1:" \
	: "=&r"(r_) : "r"((u64)(a)), "r"((u64)(b))); r_; })
#define T_BR(op, a, b, taken) check(op " " #a ", " #b, BR(op, a, b), taken)

static void test_branches(void)
{
	T_BR("beq", 5, 5, 1);
	T_BR("beq", 5, 6, 0);
	T_BR("bne", 5, 6, 1);
	T_BR("bne", -1, -1, 0);
	T_BR("blt", -1, 0, 1);
	T_BR("blt", 0, -1, 0);
	T_BR("blt", 3, 3, 0);
	T_BR("bge", 3, 3, 1);
	T_BR("bge", -1, 0, 0);
	T_BR("bge", 0x7fffffffffffffff, 0x8000000000000000, 1);
	T_BR("bltu", 0, -1, 1);
	T_BR("bltu", -1, 0, 0);
	T_BR("bgeu", -1, 0, 1);
	T_BR("bgeu", 0, -1, 0);
	T_BR("bgeu", 7, 7, 1);
	u64 r;
	asm volatile("li %0, 0\n beq zero, zero, 2f\n1: li %0, 1\n j 3f\n"
		     "2: beqz %0, 1b\n3:" : "=&r"(r));
	check("backward branch", r, 1);
}

static void test_loads(void)
{
	volatile u64 *m = mem;
	u64 r;
	void *p = (void *)&mem[1];

	m[0] = 0x8081828384858687;
	m[1] = 0xf0e0d0c0b0a09080;
	asm volatile("lb %0, 0(%1)" : "=r"(r) : "r"(p));
	check("lb sign-extends", r, 0xffffffffffffff80);
	asm volatile("lbu %0, 0(%1)" : "=r"(r) : "r"(p));
	check("lbu zero-extends", r, 0x80);
	asm volatile("lb %0, -1(%1)" : "=r"(r) : "r"(p));
	check("lb negative offset", r, 0xffffffffffffff80);
	asm volatile("lbu %0, -2(%1)" : "=r"(r) : "r"(p));
	check("lbu negative offset", r, 0x81);
	asm volatile("lh %0, 0(%1)" : "=r"(r) : "r"(p));
	check("lh", r, 0xffffffffffff9080);
	asm volatile("lhu %0, 0(%1)" : "=r"(r) : "r"(p));
	check("lhu", r, 0x9080);
	asm volatile("lh %0, 2(%1)" : "=r"(r) : "r"(p));
	check("lh offset 2", r, 0xffffffffffffb0a0);
	asm volatile("lw %0, 0(%1)" : "=r"(r) : "r"(p));
	check("lw sign-extends", r, 0xffffffffb0a09080);
	asm volatile("lwu %0, 0(%1)" : "=r"(r) : "r"(p));
	check("lwu zero-extends", r, 0xb0a09080);
	asm volatile("lw %0, -4(%1)" : "=r"(r) : "r"(p));
	check("lw negative offset", r, 0xffffffff80818283);
	asm volatile("ld %0, 0(%1)" : "=r"(r) : "r"(p));
	check("ld", r, 0xf0e0d0c0b0a09080);
	asm volatile("ld %0, -8(%1)" : "=r"(r) : "r"(p));
	check("ld negative offset", r, 0x8081828384858687);
	m[2] = 0x7f;
	asm volatile("lb %0, 16(%1)" : "=r"(r) : "r"(mem));
	check("lb positive", r, 0x7f);
}

static void test_stores(void)
{
	volatile u64 *m = mem;
	u64 v = 0x1122334455667788;

	m[0] = 0;
	m[1] = 0;
	asm volatile("sb %0, 3(%1)" :: "r"(v), "r"(mem) : "memory");
	check("sb", m[0], 0x88000000);
	asm volatile("sh %0, 6(%1)" :: "r"(v), "r"(mem) : "memory");
	check("sh", m[0], 0x7788000088000000);
	asm volatile("sw %0, 8(%1)" :: "r"(v), "r"(mem) : "memory");
	check("sw", m[1], 0x55667788);
	asm volatile("sd %0, 0(%1)" :: "r"(v), "r"(mem) : "memory");
	check("sd", m[0], 0x1122334455667788);
	asm volatile("sw %0, -4(%1)" :: "r"(0xaabbccddUL), "r"(&mem[2]) : "memory");
	check("sw negative offset", m[1], 0xaabbccdd55667788);
}

static void test_misc(void)
{
	u64 r;
	asm volatile("addi x0, x0, 5\n mv %0, x0" : "=r"(r));
	check("x0 stays zero", r, 0);
	asm volatile("li %0, 7\n fence\n fence rw, rw\n fence.tso\n fence i, o" : "=r"(r) :: "memory");
	check("fence variants", r, 7);
	asm volatile("li %0, 9\n .4byte 0x0000000f" : "=r"(r)); /* fence with pred=succ=0 */
	check("fence 0,0 is a no-op", r, 9);
}

int main(void);
int main(void)
{
	test_arith();
	test_shifts();
	test_word();
	test_upper();
	test_jumps();
	test_branches();
	test_loads();
	test_stores();
	test_misc();
	return 0;
}
