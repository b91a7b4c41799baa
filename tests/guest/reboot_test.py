#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reboot the default guest in the same maquina process, then power off.

Checks: `reboot` (busybox init's orderly reboot) makes the init marker
appear a second time in the same process; the kernel's boot id changed and a
file left in the tmpfs /tmp before the reboot is gone (a fresh boot, not a
resumed one); the shell works again; `poweroff` then ends maquina with
status 0 and the terminal modes are as before. Two boots in one run.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guestlib  # noqa: E402


def main():
    args = guestlib.guest_args(__doc__)
    tap = guestlib.Tap()
    with tap.guarded("reboot"), guestlib.Guest(args) as g:
        g.boot()
        tap.ok(True, "first boot reaches the shell in %.0fs" % g.elapsed())
        r = g.run("cat /proc/sys/kernel/random/boot_id; echo before > /tmp/left-behind",
                  check=True)
        boot_id = r.out.strip()
        tap.ok(len(boot_id) == 36, "first boot id %s" % boot_id)

        pid = g.proc.pid
        g.sendline("reboot")
        g.boot()
        tap.ok(g.proc.poll() is None and g.proc.pid == pid,
               "reboot: the marker appears a second time in the same process")
        r = g.run("echo $((6*7))")
        tap.eq((r.status, r.out), (0, "42"), "the shell works after the reboot")
        r = g.run("cat /proc/sys/kernel/random/boot_id")
        tap.ok(r.out.strip() != boot_id and len(r.out.strip()) == 36,
               "the boot id changed", "before %s, after %s" % (boot_id, r.out))
        r = g.run("test -e /tmp/left-behind")
        tap.ok(r.status != 0, "/tmp starts empty after the reboot")
        r = g.run("cut -d' ' -f1 /proc/uptime")
        tap.diag("guest uptime after the reboot: %s s" % r.out)

        before = g.termios_before
        tap.eq(g.poweroff(), 0, "poweroff after the reboot ends maquina with status 0")
        tap.eq(g.termios_now(), before, "the terminal modes are restored after poweroff")
    tap.done()


if __name__ == "__main__":
    main()
