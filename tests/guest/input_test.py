#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The power button: virtio-input KEY_POWER, pressed by SIGPWR to maquina.

Boot 1 (the default init starts busybox acpid): the guest has the input
device "maquina power button" (EV_KEY, KEY_POWER only) as
/dev/input/event0 and acpid runs; SIGPWR to maquina makes the guest print
"maquina: power button, shutting down" and power off, and maquina exits
with status 0 within the timeout.

Boot 2 (maquina.noacpid on the kernel command line: no acpid): SIGPWR
delivers the key to the guest (a reader of /dev/input/event0 sees
KEY_POWER down, SYN, up, SYN and the device's interrupt count grows) and
nothing acts on it: maquina keeps running and the shell answers; then
`poweroff` (status 0).
"""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guestlib  # noqa: E402

SHUTDOWN_LINE = "maquina: power button, shutting down"
EV_SYN, EV_KEY, KEY_POWER = 0, 1, 116
# Which virtioN is the input device (virtio device ID 18 = 0x0012).
FIND_INPUT = ("for d in /sys/bus/virtio/devices/*; do"
              " [ \"$(cat $d/device)\" = 0x0012 ] && basename $d; done")


def said(g, text):
    """Did the console show text at any time so far?"""
    return text.encode() in guestlib.strip_ansi(g.transcript)


def input_irqs(g, name):
    """The interrupt count of virtio device name (e.g. virtio1) in /proc/interrupts."""
    r = g.run("grep -w %s /proc/interrupts" % name)
    m = re.match(r"\s*\d+:\s+(\d+)", r.out)
    return int(m.group(1)) if m else -1


def check_device(tap, g):
    r = g.run("cat /proc/bus/input/devices")
    tap.ok('N: Name="maquina power button"' in r.out and "B: EV=3" in r.out
           and "event0" in r.out,
           "the guest has the maquina power button (EV_SYN + EV_KEY) as event0", r.out)
    # KEY=10000000000000 0: bit 116 of the key bitmap, printed as 64-bit words.
    tap.ok(re.search(r"B: KEY=10000000000000 0\b", r.out) is not None,
           "its only key is KEY_POWER", r.out)


def boot_with_acpid(tap, args):
    with tap.guarded("power button with acpid"), guestlib.Guest(args, name="acpid") as g:
        g.boot()
        tap.ok(said(g, "maquina-guest: acpid on /dev/input/event0 (maquina power button)"),
               "the init started acpid on the power button")
        check_device(tap, g)
        r = g.run("pidof acpid")
        tap.ok(r.status == 0, "acpid runs (pid %s)" % r.out.strip(), r.out)
        t = time.monotonic()
        os.kill(g.proc.pid, signal.SIGPWR)
        g.expect(SHUTDOWN_LINE, 120)
        tap.ok(True, "SIGPWR: the guest prints %r after %.1fs" % (SHUTDOWN_LINE,
                                                                    time.monotonic() - t))
        status = g.wait_exit(120)
        tap.eq(status, 0, "maquina exits with status 0 %.1fs after SIGPWR"
               % (time.monotonic() - t))


def parse_events(out):
    """(type, code, value) of each 24-byte struct input_event dumped by od -tu2."""
    words = [int(w) for w in out.split()]
    return [(words[i + 8], words[i + 9], words[i + 10] | words[i + 11] << 16)
            for i in range(0, len(words) - 11, 12)]


def boot_without_acpid(tap, args):
    with tap.guarded("power button without acpid"), \
            guestlib.Guest(args, append="console=ttyS0 maquina.noacpid", name="noacpid") as g:
        g.boot()
        tap.ok(said(g, "maquina-guest: acpid not started (maquina.noacpid)"),
               "maquina.noacpid: the init leaves acpid out")
        r = g.run("pidof acpid")
        tap.ok(r.status != 0, "no acpid runs", r.out)
        name = g.run(FIND_INPUT).out.strip()
        tap.ok(re.fullmatch(r"virtio\d+", name) is not None, "the input device is %s" % name)
        before = input_irqs(g, name)
        # Four events of 24 bytes (struct input_event on a 64-bit guest).
        g.run("{ dd if=/dev/input/event0 of=/tmp/ev bs=24 count=4 2>/dev/null & }")
        time.sleep(1)
        os.kill(g.proc.pid, signal.SIGPWR)
        events = []
        for _ in range(30):
            time.sleep(1)
            r = g.run("od -An -tu2 -v /tmp/ev")
            events = parse_events(r.out)
            if len(events) >= 4:
                break
        tap.eq(events, [(EV_KEY, KEY_POWER, 1), (EV_SYN, 0, 0), (EV_KEY, KEY_POWER, 0),
                        (EV_SYN, 0, 0)],
               "the guest gets KEY_POWER down, SYN, up, SYN")
        after = input_irqs(g, name)
        tap.ok(after > before, "the device interrupted the guest (%d -> %d)" % (before, after))
        g.drain(quiet=3, timeout=10)
        tap.ok(g.proc.poll() is None, "nothing acts on the key: maquina keeps running")
        tap.ok(not said(g, SHUTDOWN_LINE), "and the shutdown script did not run")
        r = g.run("echo $((6*7))")
        tap.eq((r.status, r.out), (0, "42"), "the shell still answers")
        tap.eq(g.poweroff(), 0, "poweroff then ends maquina with status 0")


def main():
    args = guestlib.guest_args(__doc__)
    tap = guestlib.Tap()
    boot_with_acpid(tap, args)
    boot_without_acpid(tap, args)
    tap.done()


if __name__ == "__main__":
    main()
