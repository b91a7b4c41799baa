#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Whole-machine snapshots of a running VM, on the stock Debian guest.

A .vm file (maquina create, 256 MiB, a blank 64 MiB system disk) boots; the
guest sets a marker in RAM (a shell variable), starts a counter process (a
shell loop writing a number to /tmp/counter every second) and writes a
marker to the first sector of /dev/vda. `maquina snapshot t.vm save s1`
reaches the running VM through its control socket. Then everything is
changed (variable, counter killed, disk sector) and `snapshot load s1`
brings it back: the variable, the same counter process still counting, and
the disk sector (read past the page cache) are as saved, and the guest
keeps running. The same with --smp 2. After poweroff: qemu-img check
passes, qemu-img snapshot -l lists s1 with its machine state, and
`maquina run t.vm --restore s1` starts at the saved moment; so does a copy
of t.vm in another directory, and a VM exported with `maquina export` and
recreated with `maquina import`. Save/load times and the file growth are
printed as diagnostics.
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guestlib  # noqa: E402

COUNTER = "(i=0; while true; do i=$((i+1)); echo $i > /tmp/counter; sleep 1; done) & PID=$!"


def mq(args, *argv, check=True, timeout=600):
    r = subprocess.run([args.maquina] + list(argv), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout)
    out = r.stdout.decode("utf-8", "replace")
    if check and r.returncode != 0:
        raise guestlib.GuestError("maquina %s exited %d: %s" % (" ".join(argv), r.returncode,
                                                                out))
    return r.returncode, out


def disk_sector(g):
    """The first bytes of /dev/vda, past the page cache."""
    g.run("sync; echo 3 > /proc/sys/vm/drop_caches", check=True)
    return g.run("dd if=/dev/vda bs=512 count=1 2>/dev/null | head -c 16; echo").out.strip()


def counter(g):
    return int(g.run("cat /tmp/counter", check=True).out.strip())


def set_markers(g):
    g.run("MARK=saved-state; " + COUNTER, check=True)
    g.run("printf 'disk-saved-0001' | dd of=/dev/vda bs=512 conv=sync 2>/dev/null; sync",
          check=True)
    time.sleep(2.5)
    return g.run("echo $PID", check=True).out.strip()


def change_markers(g):
    g.run("MARK=changed; kill $PID; wait $PID 2>/dev/null; true", check=True)
    g.run("printf 'disk-changed-002' | dd of=/dev/vda bs=512 conv=sync 2>/dev/null; sync",
          check=True)


def check_restored(tap, g, pid, what):
    """The RAM, process and disk markers as set_markers left them."""
    tap.eq(g.run("echo $MARK").out.strip(), "saved-state", what + ": shell variable as saved")
    tap.eq(g.run("echo $PID").out.strip(), pid, what + ": same counter pid")
    tap.eq(g.run("kill -0 %s && echo alive" % pid).out.strip(), "alive",
           what + ": counter process alive")
    a = counter(g)
    time.sleep(2.5)
    b = counter(g)
    tap.ok(b > a, what + ": counter keeps counting (%d -> %d)" % (a, b))
    tap.eq(disk_sector(g), "disk-saved-0001", what + ": disk sector as saved")


def round_trip(tap, args, g, vm, what):
    """save, change, load on the running VM; returns the counter pid."""
    pid = set_markers(g)
    size0 = os.path.getsize(vm)
    t = time.monotonic()
    rc, out = mq(args, "snapshot", vm, "save", "s1", check=False)
    t_save = time.monotonic() - t
    tap.eq(rc, 0, what + ": snapshot save on the running VM", out)
    tap.diag("%s: save %.2f s, file grew %.1f MiB" %
             (what, t_save, (os.path.getsize(vm) - size0) / 1048576))
    change_markers(g)
    tap.eq(g.run("echo $MARK").out.strip(), "changed", what + ": variable changed")
    tap.eq(disk_sector(g), "disk-changed-002", what + ": disk changed")
    t = time.monotonic()
    rc, out = mq(args, "snapshot", vm, "load", "s1", check=False)
    tap.eq(rc, 0, what + ": snapshot load on the running VM", out)
    tap.diag("%s: load %.2f s" % (what, time.monotonic() - t))
    # The console shell sat at its prompt when saved: give it a fresh line.
    wait_prompt(g)
    check_restored(tap, g, pid, what)
    return pid


def wait_prompt(g, timeout=120):
    """Press Enter until the restored shell answers with a prompt (input typed
    before maquina puts the terminal in raw mode is discarded, as in a shell)."""
    deadline = time.monotonic() + timeout
    while True:
        g.sendline("")
        try:
            g.expect(guestlib.PROMPT, 5)
            return
        except guestlib.GuestError:
            if time.monotonic() > deadline or g.proc.poll() is not None:
                raise


def restore_run(tap, args, vm, pid, what):
    """run VM --restore s1: the machine starts at the saved moment."""
    with guestlib.Guest(args, extra=[vm, "--restore", "s1"], name=what) as g:
        wait_prompt(g)
        check_restored(tap, g, pid, what)
        tap.eq(g.poweroff(), 0, what + ": poweroff")


def create_vm(args, path, smp):
    mq(args, "create", path, "--disk-size", "64M", "--memory", "256M", "--smp", str(smp),
       "--kernel", args.kernel, "--initrd", args.initrd, "--append", "console=ttyS0")


def qemu_checks(tap, vm):
    qemu_img = shutil.which("qemu-img")
    if not qemu_img:
        tap.skip("qemu-img check", "qemu-img is not installed")
        return
    r = subprocess.run([qemu_img, "check", vm], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    tap.eq(r.returncode, 0, "qemu-img check finds the file consistent",
           r.stdout.decode())
    r = subprocess.run([qemu_img, "snapshot", "-l", vm], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    listing = r.stdout.decode()
    row = [l for l in listing.splitlines() if re.search(r"\bs1\b", l)]
    tap.ok(r.returncode == 0 and row and not re.search(r"\s0 B\s", row[0]),
           "qemu-img snapshot -l lists s1 with its machine state", listing)


def main():
    args = guestlib.guest_args(__doc__)
    tap = guestlib.Tap()
    with guestlib.tmpdir() as tmp:
        # A private registry, so the test never meets another user's VMs.
        os.environ["XDG_RUNTIME_DIR"] = os.path.join(tmp, "run")
        os.mkdir(os.environ["XDG_RUNTIME_DIR"], 0o700)
        vm = os.path.join(tmp, "t.vm")
        pid = None
        with tap.guarded("1 hart"):
            create_vm(args, vm, 1)
            with guestlib.Guest(args, extra=[vm], name="t") as g:
                g.boot()
                rc, out = mq(args, "snapshot", vm, "save", "s1", check=False)
                tap.ok(rc == 0, "snapshot save of a booted VM")
                rc, out = mq(args, "snapshot", vm, "save", "s1", check=False)
                tap.ok(rc != 0 and "already" in out, "a second save of s1 is refused", out)
                rc, out = mq(args, "snapshot", vm, "delete", "s1", check=False)
                tap.eq(rc, 0, "snapshot delete on the running VM", out)
                rc, out = mq(args, "snapshot", vm, "load", "nope", check=False)
                tap.ok(rc != 0 and "nope" in out, "load of a missing tag is refused", out)
                pid = round_trip(tap, args, g, vm, "1 hart")
                rc, out = mq(args, "snapshot", "t", "list")
                tap.ok("s1" in out and "MiB" in out, "snapshot list by name shows s1", out)
                tap.eq(g.poweroff(), 0, "1 hart: poweroff")
        with tap.guarded("offline file"):
            qemu_checks(tap, vm)
            rc, out = mq(args, "snapshot", vm, "list", "--json")
            tap.ok('"s1"' in out, "snapshot list --json of the stopped VM", out)
        if pid:
            with tap.guarded("--restore"):
                restore_run(tap, args, vm, pid, "--restore")
            with tap.guarded("copied file"):
                other = os.path.join(tmp, "elsewhere")
                os.mkdir(other)
                copy = os.path.join(other, "t.vm")
                shutil.copy(vm, copy)
                restore_run(tap, args, copy, pid, "copy in another directory")
            with tap.guarded("export/import"):
                archive = os.path.join(tmp, "t.vmx")
                mq(args, "export", vm, "-o", archive)
                dest = os.path.join(tmp, "imported")
                os.mkdir(dest)
                mq(args, "import", archive, "-o", dest)
                restore_run(tap, args, os.path.join(dest, "t.vm"), pid, "imported VM")
        with tap.guarded("2 harts"):
            vm2 = os.path.join(tmp, "smp.vm")
            create_vm(args, vm2, 2)
            with guestlib.Guest(args, extra=[vm2], name="smp") as g:
                tap.eq(g.boot(), 2, "2 harts: boots with 2 harts")
                round_trip(tap, args, g, vm2, "2 harts")
                tap.eq(g.poweroff(), 0, "2 harts: poweroff")
            qemu_checks(tap, vm2)
    tap.done()


if __name__ == "__main__":
    main()
