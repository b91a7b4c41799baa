/* SPDX-License-Identifier: MIT */
/*
 * Random instruction stress: at least 10^7 random 32-bit and 16-bit
 * instruction words executed in every privilege mode, with paging off,
 * Sv39 and Sv48, random PMP and CSR state. The hart must never crash,
 * never run past its instruction budget, keep x0 zero, and never touch
 * host memory outside guest RAM (guard pages fault; ASan builds check
 * the rest). Deterministic: the seed is fixed unless given as argv[1].
 */
#include <inttypes.h>

#include "cpu/riscv/hart_stress.h"

#define ROUNDS 20000
#define BUDGET 600

int main(int argc, char **argv)
{
    struct stress_board b;
    struct stress_rng r = {.s = argc > 1 ? strtoull(argv[1], NULL, 0) : 0x6d617175696e61ull};
    uint64_t total = 0, per_priv[4] = {0};

    if (stress_board_init(&b) != 0) {
        fprintf(stderr, "random_insn_test: cannot create the board\n");
        return 1;
    }
    for (unsigned round = 0; round < ROUNDS; round++) {
        if (round % 16 == 0)
            stress_fill_code(&b, &r);
        stress_randomize(&b, &r);
        unsigned priv = b.hart->priv;
        uint64_t n = stress_run(&b, BUDGET);
        if (n == UINT64_MAX) {
            printf("not ok 1 - invariant broken in round %u (pc=0x%" PRIx64 ")\n", round,
                   b.hart->pc);
            return 1;
        }
        total += n;
        per_priv[priv] += n;
    }
    printf("1..2\n");
    printf("# %" PRIu64 " instructions: U %" PRIu64 ", S %" PRIu64 ", M %" PRIu64 "\n", total,
           per_priv[0], per_priv[1], per_priv[3]);
    printf("%s 1 - at least 10^7 random instructions executed\n",
           total >= 10000000 ? "ok" : "not ok");
    printf("%s 2 - every privilege mode ran instructions\n",
           per_priv[0] && per_priv[1] && per_priv[3] ? "ok" : "not ok");
    stress_board_destroy(&b);
    return total >= 10000000 && per_priv[0] && per_priv[1] && per_priv[3] ? 0 : 1;
}
