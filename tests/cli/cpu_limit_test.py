#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""--cpu-limit: a guest that never idles stays under its share of the host CPU.

The guest is a four-instruction firmware loop (count in a register, store
it to RAM, jump back) that keeps every hart busy. Host CPU of the maquina
process is read from /proc/PID/stat (utime + stime) over a window:
--cpu-limit 25% must stay at or below 30% of one core over 10 s, 2 harts
under --cpu-limit 50% at or below 60%, and without a limit the same loop
must use clearly more (else the measurement proves nothing).
"""
import os
import struct
import subprocess
import sys
import tempfile
import time

LOOP = [0x00000317, 0x00128293, 0x10533023, 0xff9ff06f]
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def measure(maquina, fw, extra, seconds):
    p = subprocess.Popen([maquina, "run", "--firmware", fw, "--console", "none", "--no-rng"]
                         + extra, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    try:
        time.sleep(1.0)
        if p.poll() is not None:
            raise RuntimeError("maquina exited: " + p.stderr.read().decode())
        c0, t0 = cpu_seconds(p.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_seconds(p.pid), time.monotonic()
    finally:
        p.kill()
        p.wait()
    return 100.0 * (c1 - c0) / (t1 - t0)


def main():
    maquina = sys.argv[1]
    n = 0
    failed = 0

    def ok(cond, what):
        nonlocal n, failed
        n += 1
        failed += not cond
        print("%s %d - %s" % ("ok" if cond else "not ok", n, what), flush=True)

    with tempfile.TemporaryDirectory(prefix="mq-cpulimit-") as tmp:
        fw = os.path.join(tmp, "loop.bin")
        with open(fw, "wb") as f:
            f.write(struct.pack("<4I", *LOOP))
        limited = measure(maquina, fw, ["--cpu-limit", "25%"], 10)
        ok(limited <= 30, "--cpu-limit 25%%: busy guest used %.1f%% of a core over 10 s" % limited)
        smp = measure(maquina, fw, ["--smp", "2", "--cpu-limit", "50%"], 5)
        ok(smp <= 60, "--smp 2 --cpu-limit 50%%: %.1f%% of a core" % smp)
        free = measure(maquina, fw, [], 5)
        ok(free >= 35 and free > 1.3 * limited,
           "without a limit the same guest uses more: %.1f%% of a core" % free)
        r = subprocess.run([maquina, "run", "--firmware", fw, "--cpu-limit", "0%"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        ok(r.returncode == 2 and b"cpu-limit" in r.stdout, "--cpu-limit 0% is refused")
    print("1..%d" % n)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
