/* SPDX-License-Identifier: MIT */
/* Constants shared by the assembly and C parts of the test runtime. */
#ifndef ISA_ASM_H
#define ISA_ASM_H

#define MAX_HARTS 4
/* a7 values of the runtime's own ecalls: return from run_mode(), and an
 * S-mode handler reporting an unexpected trap to M. */
#define MAGIC_RET    0x5254
#define MAGIC_SCRASH 0x5343

#endif
