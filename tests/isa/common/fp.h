/* SPDX-License-Identifier: MIT */
/* Macros that run one FP instruction on raw bit patterns and return the
 * result bits and the fflags it raised. */
#ifndef ISA_FP_H
#define ISA_FP_H

#include "test.h"

struct fres {
	u64 v;
	u64 fl;
};

#define NX 1
#define UF 2
#define OF 4
#define DZ 8
#define NV 16

/* in: "fmv.w.x" (boxes a single) or "fmv.d.x"; out: "fmv.x.w" or "fmv.x.d";
 * rm: "" (dynamic) or ", rtz" etc. */
#define FOP1(in, out, op, a, rm) ({ struct fres r_; asm volatile( \
	in " ft0, %2\n csrw fflags, zero\n" op " ft2, ft0" rm "\n" \
	"csrr %1, fflags\n" out " %0, ft2" \
	: "=r"(r_.v), "=r"(r_.fl) : "r"((u64)(a)) : "ft0", "ft2"); r_; })
#define FOP2(in, out, op, a, b, rm) ({ struct fres r_; asm volatile( \
	in " ft0, %2\n" in " ft1, %3\n csrw fflags, zero\n" op " ft2, ft0, ft1" rm "\n" \
	"csrr %1, fflags\n" out " %0, ft2" \
	: "=r"(r_.v), "=r"(r_.fl) : "r"((u64)(a)), "r"((u64)(b)) : "ft0", "ft1", "ft2"); r_; })
#define FOP3(in, out, op, a, b, c, rm) ({ struct fres r_; asm volatile( \
	in " ft0, %2\n" in " ft1, %3\n" in " ft2, %4\n csrw fflags, zero\n" \
	op " ft3, ft0, ft1, ft2" rm "\n" \
	"csrr %1, fflags\n" out " %0, ft3" \
	: "=r"(r_.v), "=r"(r_.fl) : "r"((u64)(a)), "r"((u64)(b)), "r"((u64)(c)) \
	: "ft0", "ft1", "ft2", "ft3"); r_; })
/* FP -> integer register (fcvt.*.s, fclass, fmv.x.*). */
#define FTOI(in, op, a, rm) ({ struct fres r_; asm volatile( \
	in " ft0, %2\n csrw fflags, zero\n" op " %0, ft0" rm "\n csrr %1, fflags" \
	: "=&r"(r_.v), "=&r"(r_.fl) : "r"((u64)(a)) : "ft0"); r_; })
/* Comparisons. */
#define FCMP(in, op, a, b) ({ struct fres r_; asm volatile( \
	in " ft0, %2\n" in " ft1, %3\n csrw fflags, zero\n" op " %0, ft0, ft1\n csrr %1, fflags" \
	: "=&r"(r_.v), "=&r"(r_.fl) : "r"((u64)(a)), "r"((u64)(b)) : "ft0", "ft1"); r_; })
/* Integer register -> FP. */
#define ITOF(out, op, x, rm) ({ struct fres r_; asm volatile( \
	"csrw fflags, zero\n" op " ft2, %2" rm "\n csrr %1, fflags\n" out " %0, ft2" \
	: "=&r"(r_.v), "=&r"(r_.fl) : "r"((u64)(x)) : "ft2"); r_; })

static inline void check_fres(const char *name, struct fres r, u64 mask, u64 v, u64 fl)
{
	check2(name, r.v & mask, v & mask, r.fl, fl);
}

#endif
