#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Host CPU used by N idle VMs together.

Creates a template .vm with the default guest, N linked clones, starts them
detached (`maquina start`), waits until every guest printed its ready line,
lets them settle, then reads utime+stime of every maquina process from
/proc over the window and prints the total as % of one host core.

    python3 bench/idle_vms.py --maquina build/maquina --vms 5 --seconds 30
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

TICK = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--maquina", required=True)
    ap.add_argument("--vms", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--memory", default="256M")
    a = ap.parse_args()
    args = guestlib.guest_args(argv=["--maquina", a.maquina])
    m = args.maquina
    with tempfile.TemporaryDirectory(prefix="mq-idle-") as tmp:
        os.environ["XDG_RUNTIME_DIR"] = os.path.join(tmp, "run")
        os.mkdir(os.environ["XDG_RUNTIME_DIR"], 0o700)
        base = os.path.join(tmp, "base.vm")
        subprocess.run([m, "create", base, "--disk-size", "64M", "--memory", a.memory,
                        "--kernel", args.kernel, "--initrd", args.initrd,
                        "--append", "console=ttyS0"], check=True, stdout=subprocess.DEVNULL)
        names = ["idle%d" % i for i in range(a.vms)]
        try:
            for n in names:
                subprocess.run([m, "clone", "--linked", base, os.path.join(tmp, n + ".vm")],
                               check=True, stdout=subprocess.DEVNULL)
                subprocess.run([m, "start", os.path.join(tmp, n + ".vm")], check=True,
                               stdout=subprocess.DEVNULL)
            logs = [os.path.join(os.environ["XDG_RUNTIME_DIR"], "maquina", "vm", n + ".log")
                    for n in names]
            deadline = time.monotonic() + 900
            while not all(os.path.exists(l) and b"maquina-guest: ready" in open(l, "rb").read()
                          for l in logs):
                if time.monotonic() > deadline:
                    sys.exit("guests did not boot")
                time.sleep(2)
            time.sleep(10)  # let boot-time work (module loading, crng) finish
            pids = []
            for n in names:
                out = subprocess.run([m, "status", n, "--json"], stdout=subprocess.PIPE,
                                     check=True).stdout.decode()
                import json
                pids.append(json.loads(out)["pid"])
            c0, t0 = sum(cpu(p) for p in pids), time.monotonic()
            time.sleep(a.seconds)
            c1, t1 = sum(cpu(p) for p in pids), time.monotonic()
            total = 100 * (c1 - c0) / (t1 - t0)
            print("%d idle VMs (%s each): %.2f%% of one host core together over %.0f s "
                  "(%.2f%% each)" % (a.vms, a.memory, total, t1 - t0, total / a.vms))
        finally:
            for n in names:
                subprocess.run([m, "stop", n, "--force"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
