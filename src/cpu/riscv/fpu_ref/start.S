/* SPDX-License-Identifier: MIT */
/* Bare-metal entry for refprog: stack, FPU on, run main, power off. */
    .section .text.init
    .globl _start
_start:
    la sp, stack_top
    li t0, 0x6000          /* mstatus.FS = Dirty: enable the FPU */
    csrs mstatus, t0
    csrwi fcsr, 0
    call main
    li t0, 0x100000        /* sifive_test: 0x5555 = pass, power off */
    li t1, 0x5555
    sw t1, 0(t0)
1:  wfi
    j 1b

    .section .bss
    .balign 16
    .space 65536
stack_top:
