/* SPDX-License-Identifier: MIT */
/* M extension: multiplication and division, including the division by zero
 * and overflow results of unprivileged spec table 13.1 (chapter "M"). */
#include "ops.h"

#define MIN64 0x8000000000000000
#define MIN32W 0xffffffff80000000

int main(void);
int main(void)
{
	T_RR("mul", 6, 7, 42);
	T_RR("mul", 0x7fffffffffffffff, 2, 0xfffffffffffffffe);
	T_RR("mul", -3, 5, -15);
	T_RR("mul", 0x100000001, 0x100000001, 0x200000001);
	T_RR("mulh", -1, -1, 0);
	T_RR("mulh", MIN64, MIN64, 0x4000000000000000);
	T_RR("mulh", -2, 3, -1);
	T_RR("mulh", 0x7fffffffffffffff, 0x7fffffffffffffff, 0x3fffffffffffffff);
	T_RR("mulhu", -1, -1, 0xfffffffffffffffe);
	T_RR("mulhu", MIN64, 4, 2);
	T_RR("mulhu", -2, 3, 2);
	T_RR("mulhsu", -1, -1, -1);
	T_RR("mulhsu", 2, -1, 1);
	T_RR("mulhsu", -2, 3, -1);
	T_RR("mulhsu", MIN64, -1, 0x8000000000000000);
	T_RR("mulw", 0x7fffffff, 2, -2);
	T_RR("mulw", 0x100000003, 0x500000002, 6);
	T_RR("mulw", 0x10000, 0x10000, 0);
	T_RR("mulw", 0x8000, 0x10000, MIN32W);

	T_RR("div", 7, -2, -3);
	T_RR("div", -7, 2, -3);
	T_RR("div", 42, 6, 7);
	T_RRN("div", "by zero", 5, 0, -1);
	T_RRN("div", "overflow", MIN64, -1, MIN64);
	T_RR("divu", -1, 2, 0x7fffffffffffffff);
	T_RR("divu", 7, 2, 3);
	T_RRN("divu", "by zero", 5, 0, 0xffffffffffffffff);
	T_RR("rem", 7, -2, 1);
	T_RR("rem", -7, 2, -1);
	T_RRN("rem", "by zero", -5, 0, -5);
	T_RRN("rem", "overflow", MIN64, -1, 0);
	T_RR("remu", -1, 10, 5);
	T_RRN("remu", "by zero", -5, 0, -5);

	T_RR("divw", 0x1fffffff9, 2, -3);
	T_RR("divw", 0x7fffffff, 0xffffffff00000010, 0x7ffffff);
	T_RRN("divw", "by zero", 5, 0x100000000, -1);
	T_RRN("divw", "overflow", 0x80000000, 0xffffffff, MIN32W);
	T_RR("divuw", 0xffffffff, 2, 0x7fffffff);
	T_RR("divuw", 0x80000000, 1, MIN32W);
	T_RRN("divuw", "by zero", 5, 0, -1);
	T_RR("remw", -7, 2, -1);
	T_RR("remw", 0x500000007, 0x300000003, 1);
	T_RRN("remw", "by zero", 0x1234567880000001, 0, 0xffffffff80000001);
	T_RRN("remw", "overflow", 0x80000000, -1, 0);
	T_RR("remuw", 0xfffffff9, 10, 9);
	T_RR("remuw", 0x80000005, 0x80000000, 5);
	T_RRN("remuw", "by zero", 0x1234567880000001, 0, 0xffffffff80000001);
	return 0;
}
