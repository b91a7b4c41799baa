#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Snapshot save and load time and file growth of a running VM.

For each guest memory size: create a .vm, boot the default Debian guest,
optionally fill part of its RAM with random data (a tmpfs file from
/dev/urandom: incompressible, the worst case), then time
`maquina snapshot VM save` and `load` from the host (wall clock of the CLI
command, which returns when the VM runs again) and measure how much the
file grew. Prints a Markdown table.

    python3 bench/snapshot_bench.py --maquina build/maquina \\
        --case 256M:0 --case 256M:64 --case 1G:0 --case 1G:256
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "guest"))
import guestlib  # noqa: E402


def mq(maquina, *argv):
    t = time.monotonic()
    r = subprocess.run([maquina] + list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=1800)
    if r.returncode:
        raise RuntimeError("maquina %s: %s" % (" ".join(argv), r.stdout.decode()))
    return time.monotonic() - t


def one_case(args, tmp, memory, fill_mib):
    vm = os.path.join(tmp, "bench-%s-%d.vm" % (memory, fill_mib))
    mq(args.maquina, "create", vm, "--disk-size", "64M", "--memory", memory,
       "--kernel", args.kernel, "--initrd", args.initrd, "--append", "console=ttyS0")
    with guestlib.Guest(args, extra=[vm], name=memory) as g:
        g.boot()
        if fill_mib:
            g.run("dd if=/dev/urandom of=/dev/shm/fill bs=1M count=%d 2>/dev/null" % fill_mib,
                  timeout=1800, check=True)
        used = g.run("free -m | awk '/Mem:/ {print $3}'").out.strip()
        size0 = os.path.getsize(vm)
        t_save = mq(args.maquina, "snapshot", vm, "save", "s1")
        growth = os.path.getsize(vm) - size0
        t_load = mq(args.maquina, "snapshot", vm, "load", "s1")
        g.run("true", check=True)  # the guest answers after the load
        g.poweroff(force=True)
    os.unlink(vm)
    return used, t_save, t_load, growth


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--maquina", required=True)
    ap.add_argument("--guest-cache")
    ap.add_argument("--case", action="append", metavar="MEM:FILL_MIB",
                    help="guest memory and MiB of random data to put in RAM (repeatable)")
    a = ap.parse_args()
    argv = ["--maquina", a.maquina] + (["--guest-cache", a.guest_cache] if a.guest_cache else [])
    args = guestlib.guest_args(argv=argv)
    cases = a.case or ["256M:0", "256M:64", "1G:0", "1G:256"]
    print("| guest RAM | random data in RAM | guest RAM used (free -m) | save | load | file growth |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory(prefix="mq-snapbench-") as tmp:
        os.environ["XDG_RUNTIME_DIR"] = os.path.join(tmp, "run")
        os.mkdir(os.environ["XDG_RUNTIME_DIR"], 0o700)
        for c in cases:
            memory, fill = c.split(":")
            used, t_save, t_load, growth = one_case(args, tmp, memory, int(fill))
            print("| %s | %s MiB | %s MiB | %.2f s | %.2f s | %.1f MiB |" %
                  (memory, fill, used, t_save, t_load, growth / 1048576), flush=True)


if __name__ == "__main__":
    main()
