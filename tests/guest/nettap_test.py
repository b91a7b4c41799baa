#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`--net tap=IFNAME` end to end, in a network namespace of its own.

Root only (prints a TAP skip line otherwise): `ip netns add` makes a fresh
namespace, maquina runs inside it (`ip netns exec`) with --net tap=mqtap0,
so the tap device and all traffic stay in that namespace. The namespace
side of the tap gets 192.168.77.1/24, the guest 192.168.77.2/24: the guest
pings the namespace, which learns the guest's MAC; then the namespace fetches 1 MiB from busybox nc in the guest
(sha256 compared). After poweroff the tap device is gone; the namespace is
deleted on every path.
"""
import hashlib
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guestlib  # noqa: E402

FETCH = r"""
import hashlib, socket, sys
s = socket.create_connection(("192.168.77.2", 5000), timeout=120)
h, n = hashlib.sha256(), 0
while True:
    b = s.recv(65536)
    if not b:
        break
    h.update(b)
    n += len(b)
print(n, h.hexdigest())
"""


def sh(*argv, check=False):
    r = subprocess.run(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300)
    if check and r.returncode:
        raise RuntimeError("%s: %s" % (" ".join(argv), r.stdout.decode()))
    return r.returncode, r.stdout.decode()


def main():
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root (ip netns add, a tap device in it)")
        return
    args = guestlib.guest_args(__doc__)
    tap = guestlib.Tap()
    ns = "mqtap-%d" % os.getpid()
    code, out = sh("ip", "netns", "add", ns)
    if code:
        print("1..0 # SKIP cannot create a network namespace: %s" % out.strip())
        return
    tmp = tempfile.mkdtemp(prefix="mq-nettap-")
    wrapper = os.path.join(tmp, "maquina-in-ns")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec ip netns exec %s %s \"$@\"\n" % (ns, args.maquina))
    os.chmod(wrapper, 0o755)
    real = args.maquina
    args.maquina = wrapper
    inns = ["ip", "netns", "exec", ns]
    try:
        with tap.guarded("tap"), guestlib.Guest(args, memory="256M", name="tap",
                                                 extra=["--net", "tap=mqtap0"]) as g:
            g.boot()
            code, out = sh(*inns, "ip", "link", "show", "mqtap0")
            tap.ok(code == 0, "maquina created mqtap0 inside the namespace", out)
            code, host_out = sh("ip", "link", "show", "mqtap0")
            tap.ok(code != 0, "the host's own namespace has no mqtap0", host_out)
            sh(*inns, "ip", "addr", "add", "192.168.77.1/24", "dev", "mqtap0", check=True)
            sh(*inns, "ip", "link", "set", "mqtap0", "up", check=True)
            g.run("killall udhcpc; ip addr flush dev eth0; ip addr add 192.168.77.2/24 dev eth0;"
                  " ip link set eth0 up")
            r = g.run("ping -c 3 -W 5 192.168.77.1", timeout=60)
            tap.ok(r.status == 0 and " 0% packet loss" in r.out,
                   "the guest pings the namespace side of the tap", r.out)
            code, out = sh(*inns, "ip", "neigh", "show", "dev", "mqtap0")
            tap.ok("192.168.77.2 lladdr 52:54:00:12:34:56" in out,
                   "the namespace learned the guest's MAC over the tap", out)
            r = g.run("head -c 1048576 /dev/urandom > /tmp/f && sha256sum /tmp/f"
                      " && (nc -l -p 5000 < /tmp/f > /dev/null &) ; sleep 1", timeout=120)
            m = re.search(r"\b([0-9a-f]{64})\s+/tmp/f", r.out)
            code, out = sh(*inns, sys.executable, "-c", FETCH)
            tap.ok(m and code == 0 and out.split() == ["1048576", m.group(1)],
                   "1 MiB from nc in the guest over the tap, sha256 matches",
                   "guest %s\nnamespace %s" % (r.out, out))
            tap.eq(g.poweroff(), 0, "poweroff ends maquina with status 0")
            code, out = sh(*inns, "ip", "link", "show", "mqtap0")
            tap.ok(code != 0, "the tap device is gone after maquina exits", out)
    finally:
        args.maquina = real
        sh("ip", "netns", "del", ns)
        tap.ok(ns not in sh("ip", "netns", "list")[1], "the namespace %s is deleted" % ns)
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    tap.done()


if __name__ == "__main__":
    main()
