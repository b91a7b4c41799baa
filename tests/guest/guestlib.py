# SPDX-License-Identifier: MIT
"""Drive a maquina guest over its serial console, for the tests in tests/guest.

Standard library only. The pieces:

- ``guest_args()`` parses the common command line (``--maquina``,
  ``--guest-cache``, ``--build-guest``: meson passes them, see meson.build;
  ``--kernel``, ``--initrd`` for other guests by hand) with the environment
  as fallback (``MAQUINA``, ``MAQUINA_CACHE``, ``MAQUINA_KERNEL``,
  ``MAQUINA_INITRD``), and runs ``scripts/guest/build-default.sh`` first so
  that a missing or stale default guest is built (cached: about a second when
  it is current). The kernel and initramfs default to the builder's outputs
  in the cache. A build failure is a test failure, never a skip.
- ``Guest`` starts ``maquina run`` on a pseudo-terminal (so stdin is a terminal
  to maquina, as for a user at a shell, and escape keys can be sent), waits for
  patterns with timeouts, runs shell commands and returns their exit status and
  output, sends raw keys, waits for the process to exit. It always kills the
  child when it is closed (``with Guest(...) as g:``), and keeps the whole
  console transcript; ``tail()`` gives the last 4 KiB for failure reports.
- ``Tap`` prints TAP for meson (``ok N - what``, diagnostics as ``# ...``)
  and turns an exception into a ``not ok`` line with the console tail.

Typical test::

    args = guestlib.guest_args(__doc__)
    tap = guestlib.Tap()
    with tap.guarded(), guestlib.Guest(args, smp=2) as g:
        g.boot()
        tap.ok(g.run("nproc").out == "2", "nproc is 2")
        tap.eq(g.poweroff(), 0, "poweroff ends maquina with status 0")
    tap.done()
"""

import argparse
import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD_DEFAULT = os.path.join(REPO, "scripts", "guest", "build-default.sh")

MARKER = b"maquina-guest: ready"
HARTS_LINE = re.compile(rb"maquina-guest: kernel (\S+), (\d+) harts")
PROMPT = re.compile(rb"maquina:[^\r\n#]*# ")
# CSI sequences (ESC [ ... final), other two-byte escapes, and the BEL/NUL
# padding some line editors emit.
ANSI = re.compile(rb"\x1b\[[0-9;?<=>]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78DEHMc]|[\x00\x07]")

BOOT_TIMEOUT = float(os.environ.get("MAQUINA_GUEST_BOOT_TIMEOUT", "300"))
CMD_TIMEOUT = float(os.environ.get("MAQUINA_GUEST_CMD_TIMEOUT", "120"))
TAIL_BYTES = 4096


class GuestError(Exception):
    """A wait timed out, the process ended too early, or a command failed.
    The message carries the console tail."""


def bail(msg):
    """Stop the whole test: TAP 'Bail out!' (meson counts it as a failure)."""
    print("Bail out! " + msg, flush=True)
    sys.exit(1)


def strip_ansi(data):
    return ANSI.sub(b"", data)


# --- inputs ----------------------------------------------------------------

def guest_args(description=None, argv=None, extra=None):
    """Parse the common test arguments and make sure the default guest exists.

    extra: optional function(parser) adding test-specific options.
    Returns the argparse namespace with .maquina, .kernel, .initrd absolute.
    """
    ap = argparse.ArgumentParser(description=(description or "").split("\n")[0])
    ap.add_argument("--maquina", default=os.environ.get("MAQUINA"),
                    help="the maquina binary (env MAQUINA)")
    ap.add_argument("--guest-cache", metavar="DIR",
                    help="the default guest's cache (env MAQUINA_CACHE wins; else the"
                         " builder's default, .cache/guest in the source tree)")
    ap.add_argument("--kernel", default=os.environ.get("MAQUINA_KERNEL"),
                    help="guest kernel Image (env MAQUINA_KERNEL; default: the default guest)")
    ap.add_argument("--initrd", default=os.environ.get("MAQUINA_INITRD"),
                    help="guest initramfs (env MAQUINA_INITRD; default: the default guest)")
    ap.add_argument("--build-guest", default=BUILD_DEFAULT, metavar="SCRIPT",
                    help="builder run first so the default guest exists "
                         "(default scripts/guest/build-default.sh; 'none' to skip)")
    ap.add_argument("--keep-log", metavar="FILE",
                    help="also write the raw console output of every boot to FILE")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="echo the console output to stderr as it arrives")
    if extra:
        extra(ap)
    args = ap.parse_args(argv)
    if not args.maquina:
        ap.error("--maquina (or MAQUINA) is required")
    args.maquina = os.path.abspath(args.maquina)
    if not os.access(args.maquina, os.X_OK):
        bail("maquina binary %s is missing or not executable" % args.maquina)
    ensure_guest(args)
    return args


def ensure_guest(args):
    """Run the default-guest builder (cached, fast when current) and fill in
    args.kernel / args.initrd. Any failure ends the test with 'Bail out!',
    which meson counts as a failure."""
    cache = os.environ.get("MAQUINA_CACHE") or args.guest_cache
    if args.build_guest and args.build_guest != "none":
        env = dict(os.environ)
        if cache:
            env["MAQUINA_CACHE"] = os.path.abspath(cache)
        t0 = time.monotonic()
        r = subprocess.run([args.build_guest], env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = r.stdout.decode("utf-8", "replace")
        if r.returncode != 0:
            for line in out.splitlines()[-40:]:
                print("# " + line)
            bail("building the default guest failed (%s exited %d);"
                             " with no network and an empty cache run it once where the"
                             " Debian mirror is reachable" % (args.build_guest, r.returncode))
        paths = dict(re.findall(r"^\s*(kernel|initramfs):\s*(\S+)\s*$", out, re.M))
        summary = re.search(r"^maquina default guest: .*$", out, re.M)
        print("# default guest ready in %.1fs: %s" % (time.monotonic() - t0,
              summary.group(0) if summary else "?"))
        args.kernel = args.kernel or paths.get("kernel")
        args.initrd = args.initrd or paths.get("initramfs")
    elif cache:
        args.kernel = args.kernel or os.path.join(cache, "default", "Image")
        args.initrd = args.initrd or os.path.join(cache, "default", "initramfs.cpio.gz")
    for what in ("kernel", "initrd"):
        path = getattr(args, what)
        if not path or not os.path.isfile(path):
            bail("guest %s %r does not exist" % (what, path))
        setattr(args, what, os.path.abspath(path))


def maquina_help(args):
    """The text of `maquina run --help` (to check whether a flag exists)."""
    r = subprocess.run([args.maquina, "run", "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return r.stdout.decode("utf-8", "replace")


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the guest ---------------------------------------------------------------

class Result:
    """What Guest.run returns: .status (int), .out (str, stripped of ANSI
    escapes and CRs, trailing newline removed), .lines."""

    def __init__(self, status, out):
        self.status = status
        self.out = out

    @property
    def lines(self):
        return self.out.splitlines()

    def __repr__(self):
        return "Result(status=%d, out=%r)" % (self.status, self.out)


class Guest:
    """One `maquina run` of the default guest on a pseudo-terminal.

    Arguments: the namespace from guest_args(); memory ('512M'), smp (int),
    append (kernel command line), extra (more `maquina run` arguments),
    stderr ('pty': mixed into the console like a user's terminal, or a file
    path: kept apart, see .stderr_text()), raw_pty (put the pty in raw mode
    before starting, as if the caller's terminal were already raw; default
    False: a fresh terminal in cooked mode, as a user's shell gives).
    """

    def __init__(self, args, memory=None, smp=None, append="console=ttyS0",
                 extra=(), stderr="pty", raw_pty=False, name="guest"):
        self.args = args
        self.name = name
        self.argv = [args.maquina, "run", "--kernel", args.kernel, "--initrd", args.initrd,
                     "--append", append]
        if memory:
            self.argv += ["-m", str(memory)]
        if smp:
            self.argv += ["--smp", str(smp)]
        self.argv += list(extra)
        self.stderr_mode = stderr
        self.raw_pty = raw_pty
        self.proc = None
        self.master = None
        self.buf = b""          # unconsumed output, ANSI escapes removed
        self.transcript = b""   # everything, raw
        self.seq = 0
        self.status = None
        self.t0 = None
        self.boots = 0
        self.log = open(args.keep_log, "ab") if getattr(args, "keep_log", None) else None
        self.verbose = getattr(args, "verbose", False)

    # -- process ----------------------------------------------------------

    def start(self):
        self.master, slave = pty.openpty()
        # A conventional 80x24 terminal; the guest does not see this size
        # (the serial line has none), maquina may.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, b"\x18\x00\x50\x00\x00\x00\x00\x00")
        if self.raw_pty:
            import tty
            tty.setraw(slave)
        self.termios_before = termios.tcgetattr(self.master)
        err = slave
        self._errfile = None
        if self.stderr_mode != "pty":
            self._errfile = open(self.stderr_mode, "wb")
            err = self._errfile

        def make_ctty():
            # The pty becomes the controlling terminal of maquina's new
            # session, as a terminal window's is for a shell's job.
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.say("$ " + " ".join(self.argv))
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdin=slave, stdout=slave, stderr=err,
                                     close_fds=True, start_new_session=True,
                                     preexec_fn=make_ctty)
        os.close(slave)
        if self._errfile:
            self._errfile.close()
        return self

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        """Kill maquina if it still runs (TERM, then KILL) and close the pty."""
        if self.proc and self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 30)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    pass
        if self.master is not None:
            # Collect what is still in the pty for the transcript.
            try:
                while select.select([self.master], [], [], 0)[0]:
                    data = os.read(self.master, 65536)
                    if not data:
                        break
                    self._got(data)
            except OSError:
                pass
            os.close(self.master)
            self.master = None
        if self.log:
            self.log.close()
            self.log = None

    def say(self, msg):
        print("# [%s] %s" % (self.name, msg), flush=True)

    def elapsed(self):
        return time.monotonic() - self.t0

    def termios_now(self):
        """The termios of maquina's terminal (the pty), as a list."""
        return termios.tcgetattr(self.master)

    def stderr_text(self):
        if self.stderr_mode == "pty":
            return ""
        with open(self.stderr_mode, "rb") as f:
            return f.read().decode("utf-8", "replace")

    # -- output -------------------------------------------------------------

    def _got(self, data):
        self.transcript += data
        if self.log:
            self.log.write(data)
            self.log.flush()
        if self.verbose:
            sys.stderr.buffer.write(data)
            sys.stderr.flush()

    def _read(self, deadline):
        """Read what is there (waiting at most until deadline). Returns False
        on end of file (maquina closed the terminal: it exited)."""
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        r, _, _ = select.select([self.master], [], [], min(left, 0.5))
        if not r:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:          # EIO: every slave side is closed
            data = b""
        if not data:
            return False
        self._got(data)
        # Strip escapes over a window that may hold a sequence cut in two.
        self.buf = strip_ansi(self.buf + data)
        return True

    def tail(self, n=TAIL_BYTES):
        """The last n bytes of console output, ANSI escapes removed, as text."""
        text = strip_ansi(self.transcript[-(n + 256):])[-n:]
        text = re.sub(rb"\r+\n", b"\n", text).replace(b"\r", b"\n")
        return text.decode("utf-8", "replace")

    def fail(self, msg):
        extra = ""
        if self.proc and self.proc.poll() is not None:
            extra = " (maquina exited with status %d)" % self.proc.returncode
        err = self.stderr_text() if self.stderr_mode != "pty" else ""
        raise GuestError("%s%s\n--- last %d bytes of console output ---\n%s"
                         "\n--- end of console output ---%s"
                         % (msg, extra, TAIL_BYTES, self.tail(),
                            ("\n--- stderr ---\n" + err[-2000:]) if err else ""))

    def expect(self, pattern, timeout=CMD_TIMEOUT):
        """Wait for pattern (bytes, str or compiled bytes regex) in the output
        (ANSI escapes removed). Consumes through the match; returns the match
        object (mo.before holds the bytes before it)."""
        if isinstance(pattern, str):
            pattern = pattern.encode()
        if isinstance(pattern, bytes):
            pattern = re.compile(re.escape(pattern))
        deadline = time.monotonic() + timeout
        while True:
            mo = pattern.search(self.buf)
            if mo:
                before = self.buf[:mo.start()]
                self.buf = self.buf[mo.end():]
                return _Match(mo, before)
            if time.monotonic() >= deadline:
                self.fail("timed out after %.0fs waiting for %r" % (timeout, pattern.pattern))
            if not self._read(deadline):
                self.fail("maquina closed the console while waiting for %r" % pattern.pattern)

    def drain(self, quiet=0.5, timeout=10):
        """Read until no output for `quiet` seconds (or timeout); return all
        the output not consumed yet (ANSI escapes removed) and consume it.
        Only for output with no pattern to wait for."""
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline:
            n = len(self.transcript)
            if not self._read(min(deadline, time.monotonic() + quiet)):
                break
            if len(self.transcript) != n:
                last = time.monotonic()
            elif time.monotonic() - last >= quiet:
                break
        out, self.buf = self.buf, b""
        return out

    # -- input --------------------------------------------------------------

    def send(self, data):
        """Send raw bytes (or str) to maquina's terminal, as typed keys."""
        if isinstance(data, str):
            data = data.encode()
        while data:
            n = os.write(self.master, data)
            data = data[n:]

    def sendline(self, line):
        self.send(line.encode() + b"\r" if isinstance(line, str) else line + b"\r")

    # -- guest-level helpers -------------------------------------------------

    def boot(self, timeout=BOOT_TIMEOUT):
        """Wait for the init marker and the first shell prompt. Returns the
        number of harts the init reported. Times go to the TAP log."""
        if self.proc is None:
            self.start()
        t = time.monotonic()
        mo = self.expect(HARTS_LINE, timeout)
        harts = int(mo.group(2))
        self.expect(MARKER, max(10, timeout - (time.monotonic() - t)))
        t_marker = time.monotonic() - t
        self.expect(PROMPT, 120)
        self.boots += 1
        self.say("boot %d: kernel %s, %d harts, marker after %.1fs, prompt after %.1fs"
                 % (self.boots, mo.group(1).decode(), harts, t_marker, time.monotonic() - t))
        self.harts = harts
        return harts

    def run(self, cmd, timeout=CMD_TIMEOUT, check=False, input=None):
        """Run a shell command on the console shell; return Result(status, out).

        The command is framed by two markers that the guest shell puts
        together from quoted halves, so the echo of the command line can
        never match them; the output between them is the command's, with
        ANSI escapes and CRs removed. Waits for the next prompt so that the
        shell is ready for the following command. check=True raises when
        the status is not 0. input: bytes typed once the command runs (the
        guest tty is back in cooked mode then and buffers them), e.g. for a
        command that reads a line.

        cmd must be a complete command list that may be followed by "; "
        (so it must not end with "&"; write "job & wait" or "{ job & }")."""
        self.seq += 1
        n = self.seq
        self.sendline("echo '__MQ_'\"BEGIN_%d\"; %s; echo '__MQ_'\"DONE_%d_$?\"" % (n, cmd, n))
        self.expect(re.compile(rb"__MQ_BEGIN_%d\r*\n" % n), timeout)
        if input is not None:
            self.send(input)
        mo = self.expect(re.compile(rb"__MQ_DONE_%d_(\d+)\r*\n" % n), timeout)
        self.expect(PROMPT, timeout)
        out = mo.before.replace(b"\r", b"").decode("utf-8", "replace")
        if out.endswith("\n"):
            out = out[:-1]
        res = Result(int(mo.group(1)), out)
        if check and res.status != 0:
            self.fail("command %r exited with %d:\n%s" % (cmd, res.status, out))
        return res

    def wait_exit(self, timeout=120):
        """Wait for maquina to exit (reading the console meanwhile so it never
        blocks on a full pty); return its exit status (negative: signal)."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() >= deadline:
                self.fail("maquina did not exit within %.0fs" % timeout)
            if not self._read(min(deadline, time.monotonic() + 0.5)):
                try:
                    self.proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    self.fail("maquina closed its terminal but did not exit within %.0fs"
                              % timeout)
        self.status = self.proc.returncode
        return self.status

    def poweroff(self, timeout=120, force=False):
        """`poweroff` in the guest; return maquina's exit status."""
        self.sendline("poweroff -f" if force else "poweroff")
        return self.wait_exit(timeout)


class _Match:
    """A regex match on the console plus the text before it."""

    def __init__(self, mo, before):
        self.mo = mo
        self.before = before

    def group(self, *a):
        return self.mo.group(*a)


# --- TAP ---------------------------------------------------------------------

class Tap:
    """Minimal TAP producer: numbered ok / not ok lines, plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.t0 = time.monotonic()

    def ok(self, cond, what, detail=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, what), flush=True)
        if not cond:
            self.failed += 1
            if detail is not None:
                self.diag(detail)
        return bool(cond)

    def eq(self, got, want, what, detail=None):
        """ok when got == want; on failure shows both (and detail)."""
        good = got == want
        msg = "got %r, want %r" % (got, want)
        if detail is not None:
            msg += "\n" + str(detail)
        return self.ok(good, what, None if good else msg)

    def skip(self, what, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, what, why), flush=True)

    def diag(self, text):
        for line in str(text).splitlines() or [""]:
            print("# " + line, flush=True)

    @contextlib.contextmanager
    def guarded(self, what="guest session"):
        """Turn an exception into a 'not ok' line with its details (the
        console tail for a GuestError); the test goes on after the block."""
        try:
            yield
        except GuestError as e:
            self.ok(False, "%s: %s" % (what, str(e).splitlines()[0]), str(e))
        except Exception:
            self.ok(False, "%s: unexpected error" % what, traceback.format_exc())

    def done(self):
        print("1..%d" % self.n, flush=True)
        print("# %d checks, %d failed, %.1fs" % (self.n, self.failed, time.monotonic() - self.t0),
              flush=True)
        sys.exit(1 if self.failed or self.n == 0 else 0)


def tmpdir(prefix="maquina-guest-"):
    """A temporary directory removed at exit (a context manager)."""
    return tempfile.TemporaryDirectory(prefix=prefix)
