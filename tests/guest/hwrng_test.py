#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""virtio-rng as the guest's hardware RNG, and the virtio console (hvc0).

Boots once with `--hvc socket:PATH` (maquina serves the virtio console on a
UNIX socket). Guest checks: virtio_rng.0 is the current hwrng
(/sys/class/misc/hw_random); `head -c 64 /dev/hwrng | od` gives 64 bytes,
not all the same, and a second read differs from the first. hvc0: the
guest has /dev/hvc0; a line written to it from the serial shell arrives on
the socket; the shell the init runs on hvc0 answers a command typed on the
socket. Then `poweroff` (status 0).

--no-hvc leaves out --hvc and the hvc0 checks (reported as skipped), for
running the hwrng checks alone.
"""
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guestlib  # noqa: E402


def od_bytes(text):
    return re.findall(r"\b[0-9a-f]{2}\b", text)


class HvcSocket:
    """The host side of the virtio console on a UNIX socket."""

    def __init__(self, path, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.s.settimeout(0.5)
        self.buf = b""

    def expect(self, needle, timeout=60, poke=None):
        """Wait for needle; send poke (bytes) every 5 s of silence."""
        deadline = time.monotonic() + timeout
        quiet = time.monotonic()
        while needle not in self.buf:
            if time.monotonic() > deadline:
                return False
            try:
                data = self.s.recv(65536)
                if not data:
                    return False
                self.buf += data
                quiet = time.monotonic()
            except socket.timeout:
                if poke and time.monotonic() - quiet > 5:
                    self.s.sendall(poke)
                    quiet = time.monotonic()
        return True

    def close(self):
        self.s.close()


def main():
    args = guestlib.guest_args(__doc__, extra=lambda ap: ap.add_argument(
        "--no-hvc", action="store_true", help="leave out the virtio console checks"))
    tap = guestlib.Tap()
    with guestlib.tmpdir() as tmp:
        hvc_path = os.path.join(tmp, "hvc0.sock")
        extra = [] if args.no_hvc else ["--hvc", "socket:" + hvc_path]
        with tap.guarded("hwrng and hvc0"), guestlib.Guest(args, extra=extra, name="rng") as g:
            g.boot()
            r = g.run("cat /sys/class/misc/hw_random/rng_available"
                      " /sys/class/misc/hw_random/rng_current")
            current = r.lines[-1].strip() if r.lines else ""
            tap.ok(r.status == 0 and current == "virtio_rng.0",
                   "virtio_rng.0 is the current hwrng", r.out)
            r = g.run("head -c 64 /dev/hwrng | od -An -tx1 -v")
            first = od_bytes(r.out)
            tap.eq(len(first), 64, "head -c 64 /dev/hwrng gives 64 bytes", r.out)
            tap.ok(len(set(first)) > 8, "the bytes are not constant (%d distinct)" % len(set(first)),
                   r.out)
            r = g.run("head -c 64 /dev/hwrng | od -An -tx1 -v")
            second = od_bytes(r.out)
            tap.ok(len(second) == 64 and second != first, "a second read gives different bytes",
                   r.out)

            if args.no_hvc:
                tap.skip("hvc0 checks", "--no-hvc")
                tap.eq(g.poweroff(), 0, "poweroff ends maquina with status 0")
                tap.done()
            r = g.run("ls -l /dev/hvc0 && cat /sys/class/tty/hvc0/dev")
            tap.ok(r.status == 0, "the guest has /dev/hvc0", r.out)
            hvc = None
            try:
                hvc = HvcSocket(hvc_path)
                r = g.run("echo from-serial-$((5*5)) > /dev/hvc0")
                tap.ok(r.status == 0 and hvc.expect(b"from-serial-25", 60),
                       "a line written to /dev/hvc0 arrives on the socket",
                       hvc.buf[-500:].decode("utf-8", "replace"))
                hvc.s.sendall(b"\recho hvc-$((6*7))-ok\r")
                tap.ok(hvc.expect(b"hvc-42-ok", 120, poke=b"\r"),
                       "the shell on hvc0 answers a command sent on the socket",
                       hvc.buf[-500:].decode("utf-8", "replace"))
            except OSError as e:
                tap.ok(False, "connect to the hvc0 socket %s" % hvc_path, repr(e))
            finally:
                if hvc:
                    hvc.close()
            tap.eq(g.poweroff(), 0, "poweroff ends maquina with status 0")
    tap.done()


if __name__ == "__main__":
    main()
