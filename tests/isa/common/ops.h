/* SPDX-License-Identifier: MIT */
/* Macros that run one instruction on given operands and check the result. */
#ifndef ISA_OPS_H
#define ISA_OPS_H

#include "test.h"

/* Integer register-register / register-immediate / one-operand forms. */
#define RR(op, a, b) ({ u64 r_; asm volatile(op " %0, %1, %2" : "=r"(r_) \
	: "r"((u64)(a)), "r"((u64)(b))); r_; })
#define RI(op, a, imm) ({ u64 r_; asm volatile(op " %0, %1, %2" : "=r"(r_) \
	: "r"((u64)(a)), "i"(imm)); r_; })

#define T_RR(op, a, b, exp) check(op " " #a ", " #b, RR(op, a, b), (u64)(exp))
#define T_RRN(op, note, a, b, exp) check(op " " note " " #a ", " #b, RR(op, a, b), (u64)(exp))
#define T_RI(op, a, imm, exp) check(op " " #a ", " #imm, RI(op, a, imm), (u64)(exp))

#endif
