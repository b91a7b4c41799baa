#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""kill -9 of maquina in the middle of guest writes to a qcow2 disk.

A .vm file boots the Debian guest, whose shell writes numbered 4 KiB blocks
to /dev/vda in a loop, each with `dd conv=fsync` (so the guest's virtio-blk
driver sends a FLUSH after it) and prints "flushed N" once dd returned. The
host sends SIGKILL to maquina at a random moment, then checks the file:
`qemu-img check` finds no corruption (leaked clusters are allowed: exit
status 0 or 3), and every block the guest reported flushed reads back with
its number after `qemu-img convert -O raw`. Twice, each boot continuing
where the last stopped, with a snapshot created in between so that the
writes also go through copy-on-write of shared clusters.
"""
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guestlib  # noqa: E402

BLOCK = 4096
FLUSHED = re.compile(rb"flushed (\d+)\r*\n")


def writer(start):
    return ("i=%d; while true; do printf 'block-%%08d' $i | "
            "dd of=/dev/vda bs=4096 seek=$i conv=sync,fsync 2>/dev/null && echo flushed $i; "
            "i=$((i+1)); done" % start)


def last_flushed(g, settle):
    """Read the console for settle seconds; the highest N of 'flushed N'."""
    end = time.monotonic() + settle
    while time.monotonic() < end:
        g._read(min(end, time.monotonic() + 0.5))
    found = [int(n) for n in FLUSHED.findall(g.transcript)]
    return max(found) if found else 0


def check_file(tap, vm, tmp, first, last, what):
    r = subprocess.run(["qemu-img", "check", vm], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    tap.ok(r.returncode in (0, 3), "%s: qemu-img check: no corruption (status %d)"
           % (what, r.returncode), r.stdout.decode())
    raw = os.path.join(tmp, "check.raw")
    subprocess.run(["qemu-img", "convert", "-U", "-O", "raw", vm, raw], check=True)
    bad = []
    with open(raw, "rb") as f:
        for i in range(first, last + 1):
            f.seek(i * BLOCK)
            if f.read(14) != b"block-%08d" % i:
                bad.append(i)
    os.unlink(raw)
    tap.ok(not bad, "%s: all %d flushed blocks (%d..%d) are in the file"
           % (what, last - first + 1, first, last), "missing: %r" % bad[:20])


def main():
    args = guestlib.guest_args(__doc__)
    tap = guestlib.Tap()
    if not shutil.which("qemu-img"):
        guestlib.bail("qemu-img is required (Debian package qemu-utils)")
    rng = random.Random(os.environ.get("MAQUINA_CRASH_SEED", str(time.time())))
    with guestlib.tmpdir() as tmp:
        os.environ["XDG_RUNTIME_DIR"] = os.path.join(tmp, "run")
        os.mkdir(os.environ["XDG_RUNTIME_DIR"], 0o700)
        vm = os.path.join(tmp, "crash.vm")
        subprocess.run([args.maquina, "create", vm, "--disk-size", "64M", "--memory", "256M",
                        "--kernel", args.kernel, "--initrd", args.initrd,
                        "--append", "console=ttyS0"], check=True, stdout=subprocess.DEVNULL)
        start = 1
        for round_ in (1, 2):
            what = "kill %d" % round_
            with tap.guarded(what), guestlib.Guest(args, extra=[vm], name=what) as g:
                g.boot()
                g.sendline(writer(start))
                settle = rng.uniform(4, 12)
                last = last_flushed(g, settle)
                g.proc.send_signal(signal.SIGKILL)
                g.proc.wait(30)
                tap.ok(last >= start, "%s: guest flushed blocks up to %d before SIGKILL "
                       "after %.1fs" % (what, last, settle))
            if last >= start:
                check_file(tap, vm, tmp, start, last, what)
                start = last + 1
            if round_ == 1:
                # Later writes copy clusters the snapshot shares.
                r = subprocess.run([args.maquina, "snapshot", vm, "save", "after-kill-1"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                tap.eq(r.returncode, 0, "disk snapshot of the killed VM's file",
                       r.stdout.decode())
    tap.done()


if __name__ == "__main__":
    main()
