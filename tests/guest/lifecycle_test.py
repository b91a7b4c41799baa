#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""VM lifecycle from the CLI: start, list, console, pause/resume, kill, stop.

Three VMs from one template (`maquina create` with the default guest's
kernel and initramfs, then three `maquina clone --linked`), all under a
temporary XDG_RUNTIME_DIR. Checks:
- `start` of all three returns with "started (pid N)"; `list --json` shows
  three running VMs; a second `start` of a running name is refused;
- the control socket is mode 0600 in a 0700 directory, the console socket
  0600; garbage on the control socket gets error replies and the VM runs on;
- kill -9 of one leaves the two others running and `list` drops it;
- `stop --force` ends another one and `list` drops it;
- `console` through a pty: a command runs and its output comes back, Ctrl-A d
  detaches (the VM runs on), a second attach works;
- a shell loop printing a counter every second (seen in the console log)
  stops while the VM is paused and goes on after `resume`;
- `stop` (power button, forced after the timeout when the machine has none)
  ends the last one; `list` is then empty.
Every process started is killed on every path (the test is their
subreaper, so VMs detached by `start` are reaped here too).
"""
import ctypes
import json
import os
import pty
import re
import select
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guestlib  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36
TICK = re.compile(rb"tick (\d+)")


class Env:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.env = dict(os.environ)
        self.env["XDG_RUNTIME_DIR"] = os.path.join(tmp, "run")
        os.mkdir(self.env["XDG_RUNTIME_DIR"], 0o700)
        self.regdir = os.path.join(self.env["XDG_RUNTIME_DIR"], "maquina", "vm")
        self.pids = set()

    def mq(self, *argv, timeout=180):
        r = subprocess.run([self.args.maquina] + list(argv), env=self.env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        r.out = r.stdout.decode("utf-8", "replace")
        r.err = r.stderr.decode("utf-8", "replace")
        print("# $ maquina %s -> %d" % (" ".join(argv), r.returncode), flush=True)
        for line in (r.out + r.err).splitlines()[:12]:
            print("#   " + line, flush=True)
        return r

    def list(self):
        r = self.mq("list", "--json")
        return {v["name"]: v for v in json.loads(r.out)} if r.returncode == 0 else {}

    def reap(self):
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    def cleanup(self):
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        while self.pids and time.monotonic() < deadline:
            self.reap()
            self.pids = {p for p in self.pids if alive(p)}
            time.sleep(0.1)
        self.reap()


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def wait_gone(env, pid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        env.reap()
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


def read_log(path):
    try:
        with open(path, "rb") as f:
            return guestlib.strip_ansi(f.read())
    except OSError:
        return b""


def wait_log(path, pattern, timeout, start=0):
    """Wait until pattern appears in the log after offset start; return the match end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = read_log(path)
        mo = pattern.search(data, start)
        if mo:
            return mo.end()
        time.sleep(0.5)
    raise guestlib.GuestError("timed out after %.0fs waiting for %r in %s; log tail:\n%s"
                              % (timeout, pattern.pattern, path,
                                 read_log(path)[-2000:].decode("utf-8", "replace")))


def last_tick(path):
    ticks = TICK.findall(read_log(path))
    return int(ticks[-1]) if ticks else -1


class Console:
    """`maquina console NAME` on a pseudo-terminal, expect-style."""

    def __init__(self, env, name):
        self.env = env
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execve(env.args.maquina, [env.args.maquina, "console", name], env.env)
            finally:
                os._exit(127)
        self.buf = b""

    def read(self, t):
        r, _, _ = select.select([self.fd], [], [], t)
        if not r:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:
            return False
        self.buf = guestlib.strip_ansi(self.buf + data)
        return True

    def expect(self, pattern, timeout=60):
        if isinstance(pattern, bytes):
            pattern = re.compile(re.escape(pattern))
        deadline = time.monotonic() + timeout
        while True:
            mo = pattern.search(self.buf)
            if mo:
                self.buf = self.buf[mo.end():]
                return mo
            if time.monotonic() > deadline or not self.read(0.5):
                raise guestlib.GuestError("console: no %r; got:\n%s" % (
                    pattern.pattern, self.buf[-1500:].decode("utf-8", "replace")))

    def send(self, data):
        os.write(self.fd, data)

    def wait(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read(0.2)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.pid = None
                return os.waitstatus_to_exitcode(status)
        return None

    def close(self):
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.pid = None
        os.close(self.fd)


def make_vms(env, tap):
    a = env.args
    base = os.path.join(env.tmp, "base.vm")
    r = env.mq("create", base, "--disk-size", "64M", "-m", "256M", "--kernel", a.kernel,
               "--initrd", a.initrd, "--append", "console=ttyS0")
    tap.eq(r.returncode, 0, "create the template base.vm", r.err)
    for name in ("v1", "v2", "v3"):
        r = env.mq("clone", base, os.path.join(env.tmp, name + ".vm"), "--linked")
        tap.eq(r.returncode, 0, "clone --linked %s.vm" % name, r.err)


def start_all(env, tap):
    pids = {}
    for name in ("v1", "v2", "v3"):
        r = env.mq("start", os.path.join(env.tmp, name + ".vm"), "--wait", "120")
        mo = re.search(r"^%s started \(pid (\d+)\)" % name, r.out, re.M)
        tap.ok(r.returncode == 0 and mo, "start %s" % name, r.out + r.err)
        if mo:
            pids[name] = int(mo.group(1))
            env.pids.add(pids[name])
    vms = env.list()
    tap.eq(sorted(vms), ["v1", "v2", "v3"], "list shows the three VMs")
    tap.ok(all(v["state"] == "running" for v in vms.values()), "all three are running",
           json.dumps(vms, indent=1))
    r = env.mq("start", os.path.join(env.tmp, "v1.vm"))
    tap.ok(r.returncode != 0 and "already running" in r.err,
           "a second start of a running name is refused", r.err)
    return pids, vms


def check_sockets(env, tap, vms):
    sock = vms["v1"]["socket"]
    tap.eq(oct(stat.S_IMODE(os.stat(sock).st_mode)), "0o600", "control socket mode 0600")
    tap.ok(stat.S_ISSOCK(os.stat(sock).st_mode), "the control socket is a socket")
    tap.eq(oct(stat.S_IMODE(os.stat(env.regdir).st_mode)), "0o700",
           "registry directory mode 0700")
    cons = os.path.join(env.regdir, "v1.console")
    tap.eq(oct(stat.S_IMODE(os.stat(cons).st_mode)), "0o600", "console socket mode 0600")

    # Garbage: bad bytes, broken JSON, an over-long line, then a real request.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(sock)
    s.sendall(b"\x00\xff\xfe garbage {{{\n[1,2]\n{\"cmd\": 5}\n" + b"x" * 200000 + b"\n"
              b"{\"id\": 9, \"cmd\": \"status\"}\n")
    replies, data = [], b""
    while len(replies) < 5:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
        while b"\n" in data:
            line, data = data.split(b"\n", 1)
            replies.append(json.loads(line))
    s.close()
    codes = [r.get("error", {}).get("code") for r in replies[:4]]
    tap.eq(codes, ["parse-error", "invalid-request", "invalid-request", "request-too-long"],
           "garbage gets error replies", replies)
    tap.ok(len(replies) == 5 and replies[4].get("ok") and replies[4].get("id") == 9,
           "and a request after it is answered", replies[-1:])
    r = env.mq("status", "v1")
    tap.ok(r.returncode == 0 and re.search(r"state:\s+running", r.out),
           "the VM runs on after garbage on its control socket")


def kill_and_stop(env, tap, pids):
    os.kill(pids["v3"], signal.SIGKILL)
    tap.ok(wait_gone(env, pids["v3"], 30), "kill -9 ends v3")
    vms = env.list()
    tap.eq(sorted(vms), ["v1", "v2"], "list no longer shows v3")
    tap.ok(all(vms[n]["state"] == "running" for n in vms), "v1 and v2 run on")
    r = env.mq("stop", "v2", "--force")
    tap.ok(r.returncode == 0 and "stopped" in r.out, "stop --force v2", r.out + r.err)
    tap.ok(wait_gone(env, pids["v2"], 30), "the v2 process ended")
    tap.eq(sorted(env.list()), ["v1"], "list shows only v1")


def console_session(env, tap, log):
    wait_log(log, guestlib.PROMPT, guestlib.BOOT_TIMEOUT)
    tap.ok(True, "v1 booted to its shell (seen in the console log)")
    c = Console(env, "v1")
    try:
        c.expect(b"attached to the console of v1", 20)
        c.send(b"\r")
        c.expect(guestlib.PROMPT, 30)
        c.send(b"echo \"sum=$((6*7))\"\r")
        c.expect(b"sum=42", 30)
        tap.ok(True, "console: a command's output comes back")
        r = env.mq("console", "v1")
        tap.ok(r.returncode == 1 and "already in use" in r.out,
               "a second terminal is refused while one is attached", r.out + r.err)
        c.send(b"\x01d")
        c.expect(b"detached from v1", 20)
        tap.eq(c.wait(), 0, "Ctrl-A d detaches with status 0")
    finally:
        c.close()
    r = env.mq("status", "v1")
    tap.ok(re.search(r"state:\s+running", r.out), "v1 runs on after the detach")
    c = Console(env, "v1")
    try:
        c.expect(b"attached to the console of v1", 20)
        c.send(b"echo \"again-$((1+1))\"\r")
        c.expect(b"again-2", 30)
        tap.ok(True, "a second attach works")
        # The counter: one line a second, on the console (so in the log).
        c.send(b"i=0; while true; do i=$((i+1)); echo \"tick $i\"; sleep 1; done &\r")
        c.expect(TICK, 30)
        c.send(b"\x01d")
        c.expect(b"detached from v1", 20)
        c.wait()
    finally:
        c.close()


def pause_resume(env, tap, log):
    wait_log(log, re.compile(rb"tick 3\b"), 60)
    r = env.mq("pause", "v1")
    tap.ok(r.returncode == 0 and "paused" in r.out, "pause v1", r.err)
    r = env.mq("status", "v1")
    tap.ok(re.search(r"state:\s+paused", r.out), "status says paused")
    time.sleep(1.5)      # output already on its way settles
    t1 = last_tick(log)
    time.sleep(5)
    t2 = last_tick(log)
    tap.eq(t2, t1, "no tick while paused (5 s)")
    r = env.mq("resume", "v1")
    tap.ok(r.returncode == 0 and "resumed" in r.out, "resume v1", r.err)
    wait_log(log, re.compile(rb"tick %d\b" % (t2 + 2)), 60)
    tap.ok(last_tick(log) >= t2 + 2, "the counter goes on after resume (%d -> %d)"
           % (t2, last_tick(log)))


def final_stop(env, tap, pid):
    r = env.mq("stop", "v1", "--timeout", "10", timeout=120)
    tap.ok(r.returncode == 0 and "stopped" in r.out, "stop v1 (power button, or forced "
           "after the timeout)", r.out + r.err)
    tap.ok(wait_gone(env, pid, 30), "the v1 process ended")
    r = env.mq("list")
    tap.ok("no VM is running" in r.out, "list is empty", r.out)


def main():
    args = guestlib.guest_args(__doc__)
    tap = guestlib.Tap()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    with guestlib.tmpdir("mq-life-") as tmp:
        env = Env(args, tmp)
        try:
            with tap.guarded("lifecycle"):
                make_vms(env, tap)
                pids, vms = start_all(env, tap)
                check_sockets(env, tap, vms)
                kill_and_stop(env, tap, pids)
                log = vms["v1"]["console_log"]
                console_session(env, tap, log)
                pause_resume(env, tap, log)
                final_stop(env, tap, pids["v1"])
        finally:
            for name in ("v1", "v2", "v3"):
                err = os.path.join(env.regdir, name + ".err")
                text = read_log(err).decode("utf-8", "replace").strip()
                if text:
                    tap.diag("%s.err:\n%s" % (name, text[-1500:]))
            env.cleanup()
    tap.done()


if __name__ == "__main__":
    main()
