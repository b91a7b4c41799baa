#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The interactive console: raw terminal, Ctrl-A escape keys, terminal restored.

maquina runs on a pseudo-terminal, as under a user's shell. Checks:
- while it runs the terminal is raw (no canonical mode, echo or signals);
- ^C reaches the guest (it interrupts `sleep 1000` there) and does not stop
  maquina;
- Ctrl-A h prints the escape-key help and sends nothing to the guest;
- Ctrl-A a sends one literal Ctrl-A (0x01) to the guest;
- Ctrl-A x ends maquina with status 0 and a message, and the terminal modes
  are exactly those from before the run (termios compared field by field);
- SIGTERM to maquina also restores the terminal (no full boot needed).
One boot, plus a short start for the SIGTERM case.
"""
import os
import re
import signal
import sys
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guestlib  # noqa: E402

CTRL_A = b"\x01"
FIELDS = ("iflag", "oflag", "cflag", "lflag", "ispeed", "ospeed", "cc")


def termios_diff(a, b):
    return ", ".join("%s %r -> %r" % (name, x, y)
                     for name, x, y in zip(FIELDS, a, b) if x != y) or "same"


def is_raw(t):
    lflag = t[3]
    return not (lflag & (termios.ICANON | termios.ECHO | termios.ISIG))


def escapes(args, tap):
    with tap.guarded("escape keys"), guestlib.Guest(args, name="console") as g:
        g.boot()
        tap.ok(True, "boots to the shell in %.0fs" % g.elapsed())
        now = g.termios_now()
        tap.ok(is_raw(now), "the terminal is raw while maquina runs",
               termios_diff(g.termios_before, now))

        # ^C goes to the guest's foreground job, not to maquina.
        g.sendline("echo '__MQ_'\"SLEEPING\"; sleep 1000")
        g.expect(re.compile(rb"__MQ_SLEEPING\r*\n"))
        # ash forks `sleep` after printing the marker; a ^C landing before the
        # child runs can be lost, so wait a moment and repeat it if needed.
        for _ in range(5):
            time.sleep(1.0)
            g.send(b"\x03")
            if guestlib.PROMPT.search(g.drain(quiet=2.0, timeout=15)):
                break
        tap.ok(g.proc.poll() is None, "^C interrupts `sleep 1000` in the guest, maquina runs on")
        r = g.run("echo $((6*7))")
        tap.eq(r.out, "42", "the shell works after ^C")

        # Ctrl-A h: help on maquina's terminal, nothing to the guest.
        g.send(CTRL_A + b"h")
        mo = g.expect(re.compile(rb"(?i)ctrl-?a"), 30)
        help_text = mo.group(0) + g.drain(quiet=1.0, timeout=10)
        tap.ok(re.search(rb"\bx\b", help_text) and re.search(rb"\bh\b", help_text)
               and re.search(rb"\ba\b", help_text),
               "Ctrl-A h prints the escape-key help (x, h, a)",
               help_text.decode("utf-8", "replace"))
        r = g.run("echo after-help")
        tap.eq((r.status, r.out), (0, "after-help"),
               "Ctrl-A h sends nothing to the guest (the next command line is intact)")

        # Ctrl-A a: one literal Ctrl-A reaches the guest.
        r = g.run("IFS= read -r L; printf %s \"$L\" | od -An -tx1",
                  input=CTRL_A + b"az\r")
        tap.ok(r.status == 0 and r.lines and r.lines[-1].split() == ["01", "7a"],
               "Ctrl-A a sends one Ctrl-A (0x01) to the guest", r.out)

        # Ctrl-A x: quit with status 0 and a message; terminal restored.
        g.send(CTRL_A + b"x")
        status = g.wait_exit(60)
        tap.eq(status, 0, "Ctrl-A x ends maquina with status 0")
        g.drain(quiet=0.2, timeout=2)
        tail = g.tail(600)
        tap.ok(re.search(r"(?i)maquina", tail.split("after-help")[-1]),
               "Ctrl-A x prints a message", tail)
        after = g.termios_now()
        tap.ok(after == g.termios_before, "Ctrl-A x restores the terminal modes",
               termios_diff(g.termios_before, after))


def sigterm(args, tap):
    """SIGTERM while the kernel boots: the terminal must be restored."""
    with tap.guarded("SIGTERM"), guestlib.Guest(args, name="sigterm") as g:
        g.expect(re.compile(rb"Linux version"), guestlib.BOOT_TIMEOUT)
        deadline = time.monotonic() + 30
        while not is_raw(g.termios_now()) and time.monotonic() < deadline:
            g.drain(quiet=0.2, timeout=0.5)
        tap.ok(is_raw(g.termios_now()), "the terminal is raw once the guest runs")
        os.kill(g.proc.pid, signal.SIGTERM)
        status = g.wait_exit(60)
        tap.ok(status != 0, "SIGTERM stops maquina (status %d)" % status)
        after = g.termios_now()
        tap.ok(after == g.termios_before, "SIGTERM restores the terminal modes",
               termios_diff(g.termios_before, after))


def main():
    args = guestlib.guest_args(__doc__)
    tap = guestlib.Tap()
    escapes(args, tap)
    sigterm(args, tap)
    tap.done()


if __name__ == "__main__":
    main()
