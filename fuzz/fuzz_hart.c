/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the whole hart. The first 8 bytes seed a random machine
 * state (privilege, paging, PMP, CSRs, registers); the rest are the
 * instructions it executes. Guard pages around guest RAM and the
 * sanitizers catch any escape; the instruction budget must hold.
 */
#include <stdint.h>
#include <stdlib.h>

#include "cpu/riscv/hart_stress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct stress_board board;
static int board_ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct stress_rng r = {0};

    if (size < 8)
        return 0;
    if (!board_ready) {
        if (stress_board_init(&board) != 0)
            abort();
        board_ready = 1;
    }
    r.s = mq_get_le64(data);
    rv_hart_reset(board.hart);
    mq_guest_mem_clear(&board.ram);
    size -= 8;
    if (size > STRESS_CODE_SIZE)
        size = STRESS_CODE_SIZE;
    mq_guest_mem_write(&board.ram, STRESS_RAM_BASE, data + 8, size);
    stress_randomize(&board, &r);
    /* Start in the fuzzer's code, not at a random place. */
    board.hart->pc = STRESS_RAM_BASE;
    if (stress_run(&board, 5000) == UINT64_MAX)
        abort();
    return 0;
}
