#!/usr/bin/env python3
"""Boot the default guest on QEMU and check it works; time the boot.

usage: scripts/guest/qemu-check.py [--bench N [--append ARGS]] [--timeout S]
                                   [--keep-log FILE]

Functional check (default): boots scripts/guest/run-qemu.sh with a virtio
disk (an ext4 image made with mkfs.ext4 -d), virtio-net (user networking),
virtio-rng and a virtio console, then on the serial console checks:
the "maquina-guest: ready" marker and a shell prompt, 2 harts in
/proc/cpuinfo, /dev/vda mounts as ext4 and holds the expected file, the
virtio hwrng is registered and gives bytes, udhcpc configured eth0, hvc0 has
a shell, ^C interrupts a foreground command, and poweroff ends QEMU.

--bench N: boots N times with no extra devices and prints the time from
starting QEMU to the marker and to the first prompt, and the guest uptime
at the marker (min / median / max).

A small expect-like reader over a pty; no third-party modules.
"""

import argparse
import os
import pty
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_QEMU = os.path.join(HERE, "run-qemu.sh")
MARKER = b"maquina-guest: ready"
PROMPT = re.compile(rb"maquina:[^\r\n]*# ")
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


class Timeout(Exception):
    pass


class Console:
    """Spawn a command on a pty and expect output from it."""

    def __init__(self, argv, log=None):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave,
                                     stderr=slave, close_fds=True,
                                     start_new_session=True)
        os.close(slave)
        self.buf = b""
        self.log = log
        self.t0 = time.monotonic()

    def _read(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout()
        r, _, _ = select.select([self.master], [], [], min(left, 0.5))
        if r:
            try:
                data = os.read(self.master, 65536)
            except OSError:          # EIO: the other side closed
                data = b""
            if not data:
                raise EOFError("QEMU exited; last output:\n"
                               + self.buf[-2000:].decode("utf-8", "replace"))
            if self.log:
                self.log.write(data)
                self.log.flush()
            self.buf += data

    def expect(self, pattern, timeout):
        """Wait for pattern (bytes or regex, matched on the output with ANSI
        escapes removed); consume through the match and return
        (text before it, match object)."""
        if isinstance(pattern, bytes):
            pattern = re.compile(re.escape(pattern))
        deadline = time.monotonic() + timeout
        while True:
            clean = ANSI.sub(b"", self.buf)
            mo = pattern.search(clean)
            if mo:
                self.buf = clean[mo.end():]
                return clean[:mo.start()], mo
            try:
                self._read(deadline)
            except Timeout:
                raise Timeout("timed out after %.0fs waiting for %r; last output:\n%s"
                              % (timeout, pattern.pattern,
                                 clean[-2000:].decode("utf-8", "replace")))

    def send(self, text):
        os.write(self.master, text.encode() if isinstance(text, str) else text)

    def run(self, cmd, timeout=30):
        """Run a shell command on the guest console; return (status, output).
        The markers are pasted together by the guest shell so that the echo
        of the command line never matches them."""
        self.seq = getattr(self, "seq", 0) + 1
        tag = "%d" % self.seq
        self.send('echo "@@B""EGIN-%s"; %s; echo "@@E""ND-%s $?"\r' % (tag, cmd, tag))
        self.expect(re.compile(rb"@@BEGIN-" + tag.encode() + rb"\r*\n"), timeout)
        out, mo = self.expect(re.compile(rb"@@END-" + tag.encode() + rb" (\d+)"), timeout)
        self.expect(PROMPT, timeout)
        return int(mo.group(1)), out.replace(b"\r", b"").decode("utf-8", "replace")

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Timeout("QEMU did not exit within %ds" % timeout)

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        os.close(self.master)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check(cond, what, detail=""):
    if cond:
        print("ok   " + what)
    else:
        fail(what + ("\n" + detail if detail else ""))


def make_disk(tmp):
    """A small ext4 image with one known file, made without mounting."""
    mkfs = shutil.which("mkfs.ext4") or "/sbin/mkfs.ext4"
    content = os.path.join(tmp, "content")
    os.makedirs(content)
    with open(os.path.join(content, "hello.txt"), "w") as f:
        f.write("maquina-disk-ok\n")
    disk = os.path.join(tmp, "disk.img")
    subprocess.run([mkfs, "-q", "-F", "-L", "maquina", "-d", content, disk, "32M"],
                   check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, E2FSPROGS_FAKE_TIME="0"))
    return disk


def boot(extra, log):
    t0 = time.monotonic()
    con = Console([RUN_QEMU] + extra, log=log)
    con.t0 = t0
    return con


def functional(args, log):
    tmp = tempfile.mkdtemp(prefix="maquina-guest-")
    con = None
    try:
        disk = make_disk(tmp)
        hvc_path = os.path.join(tmp, "hvc0.sock")
        con = boot(["--disk", disk, "--net", "--rng", "--hvc", hvc_path], log)
        con.expect(MARKER, args.timeout)
        t_marker = time.monotonic() - con.t0
        con.expect(PROMPT, 30)
        t_prompt = time.monotonic() - con.t0
        print("ok   marker after %.2fs, shell prompt after %.2fs" % (t_marker, t_prompt))

        st, out = con.run("grep -c ^processor /proc/cpuinfo")
        check(st == 0 and out.strip() == "2", "2 harts in /proc/cpuinfo", out)

        st, out = con.run("ls -l /dev/vda && mount -t ext4 /dev/vda /mnt && cat /mnt/hello.txt"
                          " && grep ' /mnt ' /proc/mounts && umount /mnt")
        check(st == 0 and "maquina-disk-ok" in out and " ext4 " in out,
              "/dev/vda mounts as ext4 and holds hello.txt", out)

        st, out = con.run("cat /sys/class/misc/hw_random/rng_available"
                          " /sys/class/misc/hw_random/rng_current;"
                          " dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1")
        words = out.split()
        check(st == 0 and "virtio_rng.0" in words and len(re.findall(r"\b[0-9a-f]{2}\b", out)) >= 16,
              "virtio-rng is the hwrng and /dev/hwrng gives bytes", out)

        st, out = con.run("ip -4 addr show dev eth0; ip route; cat /etc/resolv.conf")
        check(st == 0 and "inet 10.0.2.15/24" in out and "default via 10.0.2.2" in out
              and "nameserver 10.0.2.3" in out, "udhcpc configured eth0, route and DNS", out)

        st, out = con.run("cat /etc/hostname; hostname; cat /proc/cmdline")
        check(st == 0 and out.split()[:2] == ["maquina", "maquina"], "hostname maquina", out)

        # hvc0: QEMU serves the virtio console on a UNIX socket.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(hvc_path)
        s.settimeout(1)
        s.sendall(b"\recho hvc-$((6*7))-ok\r")
        got = b""
        deadline = time.monotonic() + 20
        while b"hvc-42-ok" not in got and time.monotonic() < deadline:
            try:
                got += s.recv(4096)
            except socket.timeout:
                s.sendall(b"\r")
        s.close()
        check(b"hvc-42-ok" in got, "a shell answers on hvc0", got.decode("utf-8", "replace"))

        # Job control on the console: ^C interrupts a foreground command.
        con.send("sleep 1000\r")
        time.sleep(1)
        con.send(b"\x03")
        con.expect(PROMPT, 10)
        st, out = con.run("true")
        check(st == 0, "^C interrupts a foreground command (controlling tty)")

        t = time.monotonic()
        con.send("poweroff\r")
        rc = con.wait_exit(60)
        check(rc == 0, "poweroff ends QEMU (exit %d after %.1fs)" % (rc, time.monotonic() - t))
    finally:
        if con:
            con.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def bench(args, log):
    marks, prompts, guest = [], [], []
    extra = ["--append", args.append] if args.append else []
    for i in range(args.bench):
        con = boot(extra, log)
        try:
            _, mo = con.expect(re.compile(rb"maquina-guest: up ([0-9.]+)s"), args.timeout)
            guest.append(float(mo.group(1)))
            con.expect(MARKER, 30)
            marks.append(time.monotonic() - con.t0)
            con.expect(PROMPT, 30)
            prompts.append(time.monotonic() - con.t0)
            con.send("poweroff -f\r")
            con.wait_exit(30)
        finally:
            con.kill()
        print("boot %d: marker %.2fs, prompt %.2fs, guest uptime at marker %.2fs"
              % (i + 1, marks[-1], prompts[-1], guest[-1]))
    for name, v in (("marker", marks), ("prompt", prompts), ("guest uptime", guest)):
        print("%s: min %.2fs median %.2fs max %.2fs (n=%d)"
              % (name, min(v), statistics.median(v), max(v), len(v)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", type=int, metavar="N", help="boot N times and time them")
    ap.add_argument("--append", metavar="ARGS", help="--bench: more kernel command line")
    ap.add_argument("--timeout", type=float, default=300, help="seconds to wait for the marker")
    ap.add_argument("--keep-log", metavar="FILE", help="write the raw console output to FILE")
    args = ap.parse_args()
    log = open(args.keep_log, "wb") if args.keep_log else None
    try:
        if args.bench:
            bench(args, log)
        else:
            functional(args, log)
            print("PASS")
    except (Timeout, EOFError) as e:
        fail(str(e))


if __name__ == "__main__":
    main()
