#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Boot the default guest on one hart to its shell, run a few commands, power off.

Checks: the init marker and a prompt; the init counts 1 hart; `echo $((6*7))`
gives 42; `uname -m` is riscv64; /proc/cpuinfo lists one hart; a failing
command's status reaches the test; a 500-character command line reaches the
guest intact and 200 lines of output come back complete (console flow
control both ways); `poweroff` ends maquina with status 0 and the terminal
modes are as before the run. One boot.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guestlib  # noqa: E402


def main():
    args = guestlib.guest_args(__doc__)
    tap = guestlib.Tap()
    with tap.guarded("boot"), guestlib.Guest(args) as g:
        harts = g.boot()
        tap.ok(True, "boots to the shell prompt in %.0fs" % g.elapsed())
        tap.eq(harts, 1, "the init counts 1 hart")

        r = g.run("echo $((6*7))")
        tap.eq((r.status, r.out), (0, "42"), "echo $((6*7)) gives 42")
        r = g.run("uname -m")
        tap.eq((r.status, r.out), (0, "riscv64"), "uname -m is riscv64")
        r = g.run("grep -c ^processor /proc/cpuinfo")
        tap.eq((r.status, r.out), (0, "1"), "/proc/cpuinfo lists 1 hart")
        r = g.run("grep -m1 ^isa /proc/cpuinfo; grep -m1 ^mmu /proc/cpuinfo")
        tap.diag(r.out)
        r = g.run("ls /nonexistent-path 2>/dev/null")
        tap.ok(r.status != 0, "a failing command's exit status is seen (%d)" % r.status)

        long_arg = "".join("abcdefghijklmnopqrstuvwxyz"[(i * 7) % 26] for i in range(500))
        r = g.run("s=%s; echo ${#s} ${s:490}" % long_arg)
        tap.eq(r.out, "500 " + long_arg[490:], "a 500-character command line arrives intact")
        r = g.run("seq 1 200")
        tap.eq(r.lines, [str(i) for i in range(1, 201)], "200 lines of output arrive in order")

        before = g.termios_before
        tap.eq(g.poweroff(), 0, "poweroff ends maquina with status 0")
        tap.eq(g.termios_now(), before, "the terminal modes are restored after poweroff")
    tap.done()


if __name__ == "__main__":
    main()
