/* SPDX-License-Identifier: MIT */
/* C extension on RV64: every compressed encoding, including the RV64-only
 * ones (c.ld/c.sd/c.ldsp/c.sdsp, c.addiw/c.addw/c.subw, 6-bit shamts), and
 * the reserved encodings that must raise illegal instruction with mtval = the
 * 16 instruction bits. Unprivileged spec chapter "C" (RVC tables). */
#include "test.h"

#define CLOBBERS "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "t0", "t1", "memory"
/* Run `body` (which leaves its result in a0) and return a0. */
#define C(body) ({ u64 r_; asm volatile(".option push\n.option rvc\n" body \
	"\n.option pop\n mv %0, a0" : "=r"(r_) :: CLOBBERS); r_; })
#define CI(body, in) ({ u64 r_; asm volatile("mv a0, %1\n .option push\n.option rvc\n" body \
	"\n.option pop\n mv %0, a0" : "=r"(r_) : "r"((u64)(in)) : CLOBBERS); r_; })
#define CII(body, in, in2) ({ u64 r_; asm volatile("mv a0, %1\n mv a1, %2\n" \
	".option push\n.option rvc\n" body "\n.option pop\n mv %0, a0" \
	: "=r"(r_) : "r"((u64)(in)), "r"((u64)(in2)) : CLOBBERS); r_; })

static u64 buf[80] __attribute__((aligned(64)));

static void test_q0(void)
{
	volatile u64 *b = buf;

	check("c.addi4spn a0, sp, 16", C("mv t0, sp\n c.addi4spn a0, sp, 16\n sub a0, a0, t0"), 16);
	check("c.addi4spn a0, sp, 1020", C("mv t0, sp\n c.addi4spn a0, sp, 1020\n sub a0, a0, t0"), 1020);
	check("c.addi4spn raw 0x1008 (a0, sp, 32)",
	      C("mv t0, sp\n .2byte 0x1008\n sub a0, a0, t0"), 32);
	check("c.addi4spn raw 0x0408 (a0, sp, 512)",
	      C("mv t0, sp\n .2byte 0x0408\n sub a0, a0, t0"), 512);
	b[1] = 0xfedcba9880000001;
	check("c.lw sign-extends", CI("c.lw a0, 8(a0)", buf), 0xffffffff80000001);
	check("c.lw offset 124", (b[15] = 0x7fff0000, CI("c.lw a0, 120(a0)", buf)), 0x7fff0000);
	check("c.ld", CI("c.ld a0, 8(a0)", buf), 0xfedcba9880000001);
	b[31] = 0x1122334455667788;
	check("c.ld offset 248", CI("c.ld a0, 248(a0)", buf), 0x1122334455667788);
	b[2] = 0;
	CII("c.sw a1, 16(a0)", buf, 0xaaaaaaaa12345678);
	check("c.sw", b[2], 0x12345678);
	CII("c.sd a1, 24(a0)", buf, 0xaaaaaaaa12345678);
	check("c.sd", b[3], 0xaaaaaaaa12345678);
	b[4] = 0x400921fb54442d18;
	check("c.fld / c.fsd", CI("c.fld fa0, 32(a0)\n c.fsd fa0, 40(a0)\n c.ld a0, 40(a0)", buf),
	      0x400921fb54442d18);
	check("c.fld fs1 offset 248 (raw 0x3d04? via as)",
	      (b[31] = 0x3ff0000000000000, CI("c.fld fs1, 248(a0)\n fmv.x.d a0, fs1", buf)),
	      0x3ff0000000000000);
}

static void test_q1(void)
{
	check("c.nop", CI("c.nop", 5), 5);
	check("c.addi a0, -1", CI("c.addi a0, -1", 5), 4);
	check("c.addi a0, 31", CI("c.addi a0, 31", 1), 32);
	check("c.addi a0, -32", CI("c.addi a0, -32", 0), -32);
	check("c.addiw a0, 1 sign-extends", CI("c.addiw a0, 1", 0x7fffffff), 0xffffffff80000000);
	check("c.addiw a0, 0 is sext.w", CI("c.addiw a0, 0", 0x12345678ffffffff), -1);
	check("c.addiw raw 0x357d (a0, -1)", CI(".2byte 0x357d", 0x100000000), -1);
	check("c.addiw raw 0x2085 on ra (ra, 1)",
	      C("mv t1, ra\n li ra, 0xffffffff\n .2byte 0x2085\n mv a0, ra\n mv ra, t1"), 0);
	check("c.li a0, -32", C("c.li a0, -32"), -32);
	check("c.li a0, 31", C("c.li a0, 31"), 31);
	check("c.addi16sp sp, 496", C("mv t0, sp\n c.addi16sp sp, 496\n sub a0, sp, t0\n mv sp, t0"), 496);
	check("c.addi16sp sp, -512", C("mv t0, sp\n c.addi16sp sp, -512\n sub a0, sp, t0\n mv sp, t0"),
	      -512);
	check("c.lui a0, 0x1f", C("c.lui a0, 0x1f"), 0x1f000);
	check("c.lui a0, 1", C("c.lui a0, 1"), 0x1000);
	check("c.lui a0, 0xfffe0 sign-extends", C("c.lui a0, 0xfffe0"), 0xfffffffffffe0000);
	check("c.lui raw 0x757d (a0, 0xfffff)", C(".2byte 0x757d"), 0xfffffffffffff000);
	check("c.srli a0, 63", CI("c.srli a0, 63", 0x8000000000000000), 1);
	check("c.srli a0, 32", CI("c.srli a0, 32", 0xffff000000000000), 0xffff0000);
	check("c.srli a0, 1", CI("c.srli a0, 1", 0x8000000000000000), 0x4000000000000000);
	check("c.srai a0, 63", CI("c.srai a0, 63", 0x8000000000000000), -1);
	check("c.srai a0, 33", CI("c.srai a0, 33", 0x8000000000000000), 0xffffffffc0000000);
	check("c.srai raw 0x957d (a0, 63)", CI(".2byte 0x957d", 0x4000000000000000), 0);
	check("c.andi a0, -32", CI("c.andi a0, -32", 0x12345), 0x12340);
	check("c.andi a0, 15", CI("c.andi a0, 15", 0x12345), 5);
	check("c.andi a0, -1", CI("c.andi a0, -1", 0x8000000000000001), 0x8000000000000001);
	check("c.sub", CII("c.sub a0, a1", 3, 5), -2);
	check("c.xor", CII("c.xor a0, a1", 0xff00, 0x0ff0), 0xf0f0);
	check("c.or", CII("c.or a0, a1", 0xff00, 0x0ff0), 0xfff0);
	check("c.and", CII("c.and a0, a1", 0xff00, 0x0ff0), 0x0f00);
	check("c.subw sign-extends", CII("c.subw a0, a1", 0, 0x80000000), 0xffffffff80000000);
	check("c.subw ignores upper bits", CII("c.subw a0, a1", 0x100000005, 0x200000003), 2);
	check("c.addw sign-extends", CII("c.addw a0, a1", 0x7fffffff, 1), 0xffffffff80000000);
	check("c.addw ignores upper bits", CII("c.addw a0, a1", 0xffffffff00000001, 0x1), 2);
	check("c.j forward", C("li a0, 1\n c.j 1f\n li a0, 2\n1:"), 1);
	check("c.j backward", C("li a0, 0\n c.j 2f\n1: li a0, 7\n c.j 3f\n2: c.j 1b\n3:"), 7);
	check("c.beqz taken", CI("c.beqz a0, 1f\n li a0, 9\n1:", 0), 0);
	check("c.beqz not taken", CI("c.beqz a0, 1f\n li a0, 9\n1:", 3), 9);
	check("c.bnez taken", CI("c.bnez a0, 1f\n li a0, 9\n1:", 3), 3);
	check("c.bnez not taken", CI("c.bnez a0, 1f\n li a0, 9\n1:", 0), 9);
	check("c.bnez on 2^63", CI("c.bnez a0, 1f\n li a0, 9\n1:", 0x8000000000000000),
	      0x8000000000000000);
}

static void test_q2(void)
{
	volatile u64 *b = buf;

	check("c.slli a0, 63", CI("c.slli a0, 63", 3), 0x8000000000000000);
	check("c.slli a0, 32", CI("c.slli a0, 32", 0x1234), 0x123400000000);
	check("c.slli a0, 1", CI("c.slli a0, 1", 0x40000000), 0x80000000);
	b[31] = 0xffffffff87654321;
	check("c.lwsp offset 252", CI("mv t0, sp\n mv sp, a0\n c.lwsp a0, 252(sp)\n mv sp, t0", buf),
	      0xffffffffffffffff);
	check("c.lwsp offset 248", CI("mv t0, sp\n mv sp, a0\n c.lwsp a0, 248(sp)\n mv sp, t0", buf),
	      0xffffffff87654321);
	check("c.ldsp offset 504", (b[63] = 0x0123456789abcdef,
	      CI("mv t0, sp\n mv sp, a0\n c.ldsp a0, 504(sp)\n mv sp, t0", buf)), 0x0123456789abcdef);
	check("c.ldsp into ra (rd != x8..x15)",
	      CI("mv t0, sp\n mv t1, ra\n mv sp, a0\n c.ldsp ra, 504(sp)\n mv a0, ra\n"
		 "mv ra, t1\n mv sp, t0", buf), 0x0123456789abcdef);
	CII("mv t0, sp\n mv sp, a0\n c.swsp a1, 252(sp)\n c.sdsp a1, 0(sp)\n mv sp, t0",
	    buf, 0x5555555511223344);
	check("c.swsp offset 252", b[31] >> 32, 0x11223344);
	check("c.sdsp offset 0", b[0], 0x5555555511223344);
	CII("mv t0, sp\n mv sp, a0\n c.sdsp a1, 504(sp)\n mv sp, t0", buf, 0x600d);
	check("c.sdsp offset 504", b[63], 0x600d);
	b[10] = 0x4000000000000000;
	check("c.fldsp / c.fsdsp",
	      CI("mv t0, sp\n mv sp, a0\n c.fldsp ft3, 80(sp)\n c.fsdsp ft3, 488(sp)\n"
		 "c.ldsp a0, 488(sp)\n mv sp, t0", buf), 0x4000000000000000);
	check("c.fldsp offset 504", (b[63] = 0x3ff8000000000000,
	      CI("mv t0, sp\n mv sp, a0\n c.fldsp ft4, 504(sp)\n mv sp, t0\n fmv.x.d a0, ft4", buf)),
	      0x3ff8000000000000);
	check("c.mv", CII("c.mv a0, a1", 1, 0xabc), 0xabc);
	check("c.add", CII("c.add a0, a1", 0x7fffffffffffffff, 1), 0x8000000000000000);
	check("c.jr", C("la t0, 1f\n li a0, 1\n c.jr t0\n li a0, 2\n1:"), 1);
	check("c.jr clears bit 0", C("la t0, 1f\n addi t0, t0, 1\n li a0, 1\n c.jr t0\n li a0, 2\n1:"),
	      1);
	check("c.jalr links pc + 2",
	      C("mv t1, ra\n la t0, 2f\n la a1, 1f\n c.jalr t0\n1: c.j 3f\n"
		"2: sub a0, ra, a1\n c.jr ra\n3: mv ra, t1"), 0);
	check("c.jalr with ra as rs1 uses the old value",
	      C("mv t1, ra\n la ra, 2f\n c.jalr ra\n1: c.j 3f\n"
		"2: la a1, 1b\n sub a0, ra, a1\n c.jr ra\n3: mv ra, t1"), 0);
}

static void test_ebreak(void)
{
	u64 pc;

	expect_trap(TRAP_SKIP);
	asm volatile(".option push\n.option rvc\n la %0, 1f\n1: c.ebreak\n .option pop"
		     : "=&r"(pc) :: "memory");
	check_trap("c.ebreak raises breakpoint", CAUSE_BREAKPOINT);
	check("c.ebreak mepc = its address", trap_rec.epc, pc);
	check("c.ebreak mtval = its address", trap_rec.tval, pc);
}

struct bad { const char *name; u64 bits; };

static void test_illegal(void)
{
	static const struct bad bad[] = {
		{ "0x0000 is illegal", 0x0000 },
		{ "c.addi4spn with zero imm (0x0008)", 0x0008 },
		{ "c.lwsp rd=0 (0x4002)", 0x4002 },
		{ "c.ldsp rd=0 (0x6002)", 0x6002 },
		{ "c.jr rs1=0 (0x8002)", 0x8002 },
		{ "c.addi16sp zero imm (0x6101)", 0x6101 },
		{ "c.lui zero imm (0x6501)", 0x6501 },
		{ "c.addiw rd=0 (0x2001)", 0x2001 },
		{ "c.addiw rd=0 imm 5 (0x2015)", 0x2015 },
		{ "reserved CA funct2=10 (0x9c41)", 0x9c41 },
		{ "reserved CA funct2=11 (0x9c61)", 0x9c61 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		/* Copy the halfword into a code slot followed by a return. */
		static volatile uint16_t slot[4] __attribute__((aligned(8), section(".data")));
		slot[0] = (uint16_t)bad[i].bits;
		slot[1] = 0x8082;   /* c.jr ra (c.ret) */
		asm volatile("fence.i" ::: "memory");
		expect_trap(TRAP_RET_RA);
		asm volatile("jalr ra, 0(%0)" :: "r"(slot) : "ra", "memory");
		check_trap_tval(bad[i].name, CAUSE_ILLEGAL, bad[i].bits);
	}
	/* Valid neighbours of the reserved encodings execute from the slot. */
	static volatile uint16_t slot2[4] __attribute__((aligned(8), section(".data")));
	u64 r;
	slot2[0] = 0x4505;  /* c.li a0, 1 */
	slot2[1] = 0x8082;
	asm volatile("fence.i\n li a0, 0\n jalr ra, 0(%1)\n mv %0, a0"
		     : "=r"(r) : "r"(slot2) : "ra", "a0", "memory");
	check("c.li executed from a data slot after fence.i", r, 1);
}

int main(void);
int main(void)
{
	test_q0();
	test_q1();
	test_q2();
	test_ebreak();
	test_illegal();
	return 0;
}
