#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Boot the default guest with --smp 2 and --smp 4 and run a parallel workload.

For each N: the init counts N harts; /proc/cpuinfo lists N processors, `nproc`
and /sys/devices/system/cpu/online agree; then N jobs, job j pinned to hart j
with taskset, each (a) hashes a generated stream (`seq | sed | sha256sum`)
and (b) runs an arithmetic loop in sh, and reports the hart it ran on
(field 39 of /proc/self/stat) and its start and end times. The test checks
every result against the value computed here in Python, that each job ran on
its own hart, and that the jobs overlapped in time (they really ran in
parallel). `poweroff` ends each run with status 0. One boot per N.
"""
import hashlib
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guestlib  # noqa: E402

HARTS = (2, 4)
SEQ_LINES = 20000     # lines hashed per job
LOOP_ITERS = 3000     # sh arithmetic loop iterations per job

JOB = ("t0=$(cut -d' ' -f1 /proc/uptime); "
       "h=$(seq 1 %d | sed \"s/^/mq$j-/\" | sha256sum | cut -d' ' -f1); "
       "i=0; s=$j; while [ $i -lt %d ]; do s=$(( (s * 1103515245 + 12345 + i) %% 2147483648 )); "
       "i=$((i + 1)); done; "
       "cpu=$(cut -d' ' -f39 /proc/self/stat); "
       "echo \"job $j cpu $cpu sha $h sum $s t $t0 $(cut -d' ' -f1 /proc/uptime)\"")


def expected(j):
    data = "".join("mq%d-%d\n" % (j, i) for i in range(1, SEQ_LINES + 1)).encode()
    s = j
    for i in range(LOOP_ITERS):
        s = (s * 1103515245 + 12345 + i) % 2147483648
    return hashlib.sha256(data).hexdigest(), s


def check_smp(args, tap, n):
    with tap.guarded("--smp %d" % n), guestlib.Guest(args, smp=n, name="smp%d" % n) as g:
        harts = g.boot()
        tap.ok(True, "--smp %d: boots to the shell in %.0fs" % (n, g.elapsed()))
        tap.eq(harts, n, "--smp %d: the init counts %d harts" % (n, n))
        r = g.run("grep -c ^processor /proc/cpuinfo")
        tap.eq(r.out, str(n), "--smp %d: /proc/cpuinfo lists %d processors" % (n, n))
        r = g.run("nproc")
        tap.eq(r.out, str(n), "--smp %d: nproc agrees" % n)
        r = g.run("cat /sys/devices/system/cpu/online")
        tap.eq(r.out, "0-%d" % (n - 1), "--smp %d: all harts online" % n)

        # The job script goes to a file first so the command line stays short.
        job = JOB % (SEQ_LINES, LOOP_ITERS)
        g.run("printf '%%s\\n' %s > /tmp/job.sh" % shquote(job), check=True)
        t = time.monotonic()
        r = g.run("for j in $(seq 0 %d); do j=$j taskset -c $j sh /tmp/job.sh > /tmp/out.$j & done;"
                  " wait; cat /tmp/out.*" % (n - 1), timeout=900)
        took = time.monotonic() - t
        tap.eq(r.status, 0, "--smp %d: %d parallel jobs finish (%.1fs)" % (n, n, took), r.out)
        jobs = {}
        for line in r.lines:
            mo = re.match(r"job (\d+) cpu (\d+) sha ([0-9a-f]{64}) sum (\d+) t ([0-9.]+) ([0-9.]+)$",
                          line.strip())
            if mo:
                jobs[int(mo.group(1))] = mo
        tap.eq(sorted(jobs), list(range(n)), "--smp %d: every job reported" % n, r.out)
        for j in range(n):
            mo = jobs.get(j)
            if not mo:
                continue
            sha, total = expected(j)
            tap.ok(mo.group(3) == sha and int(mo.group(4)) == total,
                   "--smp %d: job %d computed the right hash and sum" % (n, j),
                   "got sha %s sum %s, want sha %s sum %d" % (mo.group(3), mo.group(4), sha, total))
            tap.eq(int(mo.group(2)), j, "--smp %d: job %d ran on hart %d" % (n, j, j))
        if len(jobs) == n:
            starts = [float(m.group(5)) for m in jobs.values()]
            ends = [float(m.group(6)) for m in jobs.values()]
            tap.diag("--smp %d: job times (guest clock): %s" % (n, ", ".join(
                "%.2f-%.2f" % (float(m.group(5)), float(m.group(6))) for m in jobs.values())))
            tap.ok(max(starts) < min(ends), "--smp %d: the jobs overlapped in time" % n,
                   "starts %s ends %s" % (starts, ends))
        tap.eq(g.poweroff(), 0, "--smp %d: poweroff ends maquina with status 0" % n)


def shquote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def main():
    args = guestlib.guest_args(__doc__)
    tap = guestlib.Tap()
    for n in HARTS:
        check_smp(args, tap, n)
    tap.done()


if __name__ == "__main__":
    main()
