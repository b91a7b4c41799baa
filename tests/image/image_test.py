#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""qcow2 interop tests: qemu-img and qemu-io judge the files our block layer
writes, and we read what they write. Spec: QEMU docs/interop/qcow2.txt.

usage: image_test.py TEST QCOW2_TOOL   (TEST: see TESTS at the bottom)
"""
import hashlib
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import time

TOOL = None
FAILURES = []


def run(*args, check=True, cwd=None):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} -> {p.returncode}\n{p.stdout}{p.stderr}")
    return p


def tool(*args, **kw):
    return run(TOOL, *args, **kw)


def expect(cond, msg):
    if not cond:
        FAILURES.append(msg)
        print("FAIL:", msg)


def qemu_check(img, allow_leaks=False):
    """qemu-img check: exit 0 clean, 3 leaks only; anything else is corruption."""
    p = run("qemu-img", "check", img, check=False)
    ok = p.returncode == 0 or (allow_leaks and p.returncode == 3)
    expect(ok and "ERROR" not in p.stdout + p.stderr,
           f"qemu-img check {img}: rc={p.returncode}\n{p.stdout}{p.stderr}")
    return p


def same_as_qemu(img, raw, snapshot=None):
    out = img + ".qemu.raw"
    args = ["qemu-img", "convert", "-O", "raw"]
    if snapshot:
        args += ["-l", snapshot]
    run(*args, img, out)
    a, b = open(out, "rb").read(), open(raw, "rb").read()
    os.unlink(out)
    return a == b


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


# ---------------------------------------------------------------- tests

def t_workload(d):
    """Random write/discard/zero workload vs a shadow copy, several cluster sizes."""
    seed = random.randrange(1, 1 << 30)
    print("seed", seed)
    for cs, size, nops in [(65536, "64M", 600), (4096, "16M", 400), (512, "4M", 300),
                           (2 << 20, "32M", 60)]:
        img, shadow = f"{d}/w{cs}.qcow2", f"{d}/w{cs}.raw"
        tool("create", img, size, cs)
        tool("workload", img, shadow, seed, nops, cs)
        qemu_check(img)
        expect(same_as_qemu(img, shadow), f"cluster {cs}: qemu-img convert differs from shadow")
        # A second session on the same file: reopen, more ops, still clean.
        tool("workload", img, shadow, seed + 1, nops // 2, cs)
        qemu_check(img)
        expect(same_as_qemu(img, shadow), f"cluster {cs}: second session differs")
    # Growth of the refcount table: 512-byte clusters, one table cluster covers 8 MiB.
    img = f"{d}/grow.qcow2"
    tool("create", img, "32M", 512)
    tool("write", img, 0, "24M", 0x5a)
    qemu_check(img)
    tool("dump", img, f"{d}/grow.raw")
    expect(same_as_qemu(img, f"{d}/grow.raw"), "refcount table growth: data differs")
    hdr = open(img, "rb").read(72)
    expect(struct.unpack(">I", hdr[56:60])[0] > 1, "refcount table did not grow")


def t_snapshots(d):
    img = f"{d}/s.qcow2"
    tool("create", img, "16M")
    vm = {}
    states = {}
    for i, name in enumerate(["boot", "mid", "late"]):
        tool("workload", img, f"{d}/cur.raw", 100 + i, 200, 65536)
        vm[name] = os.urandom(random.randrange(1, 3 << 20))
        open(f"{d}/{name}.vm", "wb").write(vm[name])
        tool("snap-create", img, name, f"{d}/{name}.vm")
        states[name] = open(f"{d}/cur.raw", "rb").read()
        qemu_check(img)
    listing = run("qemu-img", "snapshot", "-l", img).stdout
    for name in states:
        expect(name in listing, f"qemu-img snapshot -l lacks {name}: {listing}")
        open(f"{d}/want.raw", "wb").write(states[name])
        expect(same_as_qemu(img, f"{d}/want.raw", snapshot=name),
               f"qemu-img convert -l {name} differs from the disk at snapshot time")
        tool("snap-vmstate", img, name, f"{d}/got.vm")
        expect(open(f"{d}/got.vm", "rb").read() == vm[name], f"vmstate of {name} differs")
    # Apply in a mixed order with writes in between; qemu agrees each time.
    for name in ["boot", "late", "mid"]:
        tool("write", img, 4096, 8192, 0xee)
        tool("snap-apply", img, name)
        qemu_check(img)
        tool("dump", img, f"{d}/now.raw")
        expect(open(f"{d}/now.raw", "rb").read() == states[name], f"apply {name}: wrong disk")
        expect(same_as_qemu(img, f"{d}/now.raw"), f"apply {name}: qemu sees another disk")
    tool("snap-delete", img, "mid")
    qemu_check(img)
    expect("mid" not in run("qemu-img", "snapshot", "-l", img).stdout, "mid still listed")
    # qemu creates a snapshot of our file, we apply it; we create, qemu applies.
    tool("write", img, 0, 65536, 0x42)
    tool("dump", img, f"{d}/q.raw")
    run("qemu-img", "snapshot", "-c", "byqemu", img)
    tool("write", img, 0, "1M", 0x43)
    tool("snap-apply", img, "byqemu")
    qemu_check(img)
    expect(same_as_qemu(img, f"{d}/q.raw"), "applying a qemu-made snapshot")
    tool("snap-create", img, "byus")
    tool("write", img, 0, "2M", 0x44)
    run("qemu-img", "snapshot", "-a", "byus", img)
    expect(same_as_qemu(img, f"{d}/q.raw"), "qemu applying our snapshot")
    qemu_check(img)
    for name in ["boot", "late", "byqemu", "byus"]:
        tool("snap-delete", img, name)
        qemu_check(img)
    p = qemu_check(img)
    expect("leaked" not in p.stdout, "clusters leaked after deleting every snapshot")
    # Writes after all that still COW correctly.
    tool("workload", img, f"{d}/cur.raw", 7, 200, 65536)
    qemu_check(img)
    expect(same_as_qemu(img, f"{d}/cur.raw"), "workload after snapshots")


def t_backing(d):
    os.makedirs(f"{d}/chain")
    run("qemu-img", "create", "-f", "raw", f"{d}/chain/base.raw", "8M")
    run("qemu-io", "-f", "raw", "-c", "write -P 0x11 0 3M", f"{d}/chain/base.raw")
    run("qemu-img", "create", "-f", "qcow2", "-b", "base.raw", "-F", "raw",
        f"{d}/chain/mid.qcow2")
    run("qemu-io", "-c", "write -P 0x22 2M 2M", "-c", "write -z 1M 64k", f"{d}/chain/mid.qcow2")
    # Relative backing names resolve against the image's directory, not the cwd.
    tool("create", f"{d}/chain/top.qcow2", 0, 65536, "mid.qcow2", "qcow2")
    tool("workload", f"{d}/chain/top.qcow2", f"{d}/top.raw", 3, 400, 65536, cwd="/")
    qemu_check(f"{d}/chain/top.qcow2")
    qemu_check(f"{d}/chain/mid.qcow2")
    expect(same_as_qemu(f"{d}/chain/top.qcow2", f"{d}/top.raw"), "backing chain differs")
    base_sum = sha(f"{d}/chain/base.raw")
    mid_sum = sha(f"{d}/chain/mid.qcow2")
    tool("workload", f"{d}/chain/top.qcow2", f"{d}/top.raw", 4, 200, 65536)
    expect(sha(f"{d}/chain/mid.qcow2") == mid_sum and sha(f"{d}/chain/base.raw") == base_sum,
           "backing files were modified")
    # A snapshot on an overlay.
    tool("snap-create", f"{d}/chain/top.qcow2", "s1")
    qemu_check(f"{d}/chain/top.qcow2")
    # Loops and overlong chains are refused with a clear error.
    run("qemu-img", "create", "-f", "qcow2", f"{d}/a.qcow2", "1M")
    run("qemu-img", "create", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", f"{d}/b.qcow2")
    run("qemu-img", "rebase", "-u", "-b", "b.qcow2", "-F", "qcow2", f"{d}/a.qcow2")
    p = tool("info", f"{d}/b.qcow2", check=False)
    expect(p.returncode != 0 and "loop" in p.stderr, f"backing loop not refused: {p.stderr}")
    prev = None
    for i in range(20):
        args = ["qemu-img", "create", "-f", "qcow2"]
        if prev:
            args += ["-b", prev, "-F", "qcow2"]
        run(*args, f"{d}/l{i}.qcow2", "1M")
        prev = f"l{i}.qcow2"
    p = tool("info", f"{d}/l19.qcow2", check=False)
    expect(p.returncode != 0 and "deeper" in p.stderr, f"deep chain not refused: {p.stderr}")
    p = tool("info", f"{d}/l10.qcow2", check=False)
    expect(p.returncode == 0, f"chain of 11 refused: {p.stderr}")


def t_read_qemu(d):
    """Images qemu-img created and qemu-io wrote, in several layouts."""
    layouts = [
        ["-o", "cluster_size=65536"],
        ["-o", "cluster_size=4096"],
        ["-o", "cluster_size=512,refcount_bits=1"],
        ["-o", "cluster_size=2M,refcount_bits=64"],
        ["-o", "compat=0.10"],
        ["-o", "lazy_refcounts=on"],
        ["-o", "preallocation=metadata"],
    ]
    for i, opts in enumerate(layouts):
        img = f"{d}/q{i}.qcow2"
        run("qemu-img", "create", "-f", "qcow2", *opts, img, "12M")
        run("qemu-io", "-c", "write -P 0x61 0 100k", "-c", "write -P 0x62 1M 3M",
            "-c", "write -z 2M 512k", "-c", "discard 3M 64k", "-c", "write -P 0x63 11M 999",
            img)
        tool("dump", img, f"{d}/q{i}.raw")
        expect(same_as_qemu(img, f"{d}/q{i}.raw"), f"reading qemu image {opts} differs")
        # And we can keep writing to it.
        tool("workload", img, f"{d}/q{i}.raw", 40 + i, 200, 65536)
        qemu_check(img)
        expect(same_as_qemu(img, f"{d}/q{i}.raw"), f"writing qemu image {opts} differs")


def t_compressed(d):
    src = f"{d}/src.qcow2"
    tool("create", src, "8M")
    tool("workload", src, f"{d}/src.raw", 11, 300, 65536)
    for ctype in ["zlib", "zstd"]:
        img = f"{d}/c-{ctype}.qcow2"
        run("qemu-img", "convert", "-c", "-O", "qcow2", "-o", f"compression_type={ctype}",
            src, img)
        info = run("qemu-img", "info", img).stdout
        expect(f"compression type: {ctype}" in info, f"{ctype}: not a {ctype} image")
        tool("dump", img, f"{d}/c.raw")
        expect(open(f"{d}/c.raw", "rb").read() == open(f"{d}/src.raw", "rb").read(),
               f"{ctype}: compressed read differs")
        # Overwriting compressed clusters frees them correctly.
        tool("workload", img, f"{d}/c2.raw", 12, 300, 65536)
        qemu_check(img)
        expect(same_as_qemu(img, f"{d}/c2.raw"), f"{ctype}: writes over compressed clusters")
        # Compressed clusters shared with a snapshot.
        img2 = f"{d}/c2-{ctype}.qcow2"
        run("qemu-img", "convert", "-c", "-O", "qcow2", "-o", f"compression_type={ctype}",
            src, img2)
        tool("snap-create", img2, "before")
        tool("workload", img2, f"{d}/c3.raw", 13, 200, 65536)
        qemu_check(img2)
        expect(same_as_qemu(img2, f"{d}/src.raw", snapshot="before"), f"{ctype}: snapshot")
        tool("snap-delete", img2, "before")
        qemu_check(img2)


def t_extensions(d):
    img = f"{d}/e.qcow2"
    run("qemu-img", "create", "-f", "raw", f"{d}/base.raw", "4M")
    tool("create", img, 0, 65536, "base.raw", "raw", "0x6d710001", "cpus=2 mem=256M")
    qemu_check(img)
    expect(tool("ext-get", img, "0x6d710001").stdout.strip() == "cpus=2 mem=256M",
           "extension not read back")
    tool("ext-set", img, "0x6d710001", "x" * 5000)
    tool("ext-set", img, "0x6d710002", "second")
    qemu_check(img)
    info = run("qemu-img", "info", img).stdout
    expect("backing file: base.raw" in info, f"backing name lost by ext-set: {info}")
    expect(tool("ext-get", img, "0x6d710001").stdout.strip() == "x" * 5000, "replace failed")
    # qemu rewrites the header on snapshot creation and must keep our extensions.
    run("qemu-img", "snapshot", "-c", "q", img)
    expect(tool("ext-get", img, "0x6d710002").stdout.strip() == "second",
           "qemu-img dropped our extension")
    tool("ext-set", img, "0x6d710002")
    p = tool("ext-get", img, "0x6d710002", check=False)
    expect(p.returncode != 0, "removed extension still present")
    p = tool("ext-set", img, "0x6d710003", "y" * 70000, check=False)
    expect(p.returncode != 0, "oversized extension accepted")
    qemu_check(img)
    p = tool("ext-set", img, "0xe2792aca", "qcow2", check=False)
    expect(p.returncode != 0, "spec-defined extension type accepted")


def t_crash(d):
    """SIGKILL a writer at random points: no corruption, flushed writes survive."""
    seed0 = random.randrange(1, 1 << 30)
    print("seed", seed0)
    size = 32 << 20
    for it in range(10):
        seed = seed0 + it
        img, log = f"{d}/k{it}.qcow2", f"{d}/k{it}.log"
        tool("create", img, size, [65536, 4096, 512][it % 3])
        proc = subprocess.Popen([TOOL, "crash-writer", img, str(seed), log],
                                stderr=subprocess.PIPE)
        time.sleep(random.uniform(0.1, 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        lines = open(log).read().split()
        last = int(lines[-1]) if lines else -1
        qemu_check(img, allow_leaks=True)
        tool("crash-expect", size, seed, last, f"{d}/exp.raw", f"{d}/mask.raw")
        run("qemu-img", "convert", "-O", "raw", img, f"{d}/got.raw")
        exp = open(f"{d}/exp.raw", "rb").read()
        got = open(f"{d}/got.raw", "rb").read()
        mask = open(f"{d}/mask.raw", "rb").read()
        bad = [i for i in range(0, size, 512)
               if exp[i:i + 512] != got[i:i + 512] and 1 not in mask[i:i + 512]]
        expect(not bad, f"crash {it}: {len(bad)} sectors lost after op {last}, first {bad[:3]}")
        print(f"crash {it}: killed after op {last}")
        # The survivor is still usable by us.
        tool("workload", img, f"{d}/after.raw", seed, 50, 65536)
        qemu_check(img, allow_leaks=True)


def t_crash_snapshots(d):
    """SIGKILL during writes and snapshot create/delete. Snapshot updates run
    under the dirty bit; after a kill inside one, a read-write open by us must
    repair the image so that qemu-img check is clean."""
    seed0 = random.randrange(1, 1 << 30)
    print("seed", seed0)
    size = 16 << 20
    for it in range(8):
        seed = seed0 + it
        img, log = f"{d}/k{it}.qcow2", f"{d}/k{it}.log"
        tool("create", img, size, [65536, 4096][it % 2])
        proc = subprocess.Popen([TOOL, "crash-writer", img, str(seed), log, "snap"],
                                stderr=subprocess.PIPE)
        time.sleep(random.uniform(0.2, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        lines = open(log).read().split()
        last = int(lines[-1]) if lines else -1
        dirty = struct.unpack(">Q", open(img, "rb").read(80)[72:80])[0] & 1
        if not dirty:
            qemu_check(img, allow_leaks=True)
        tool("open-rw", img)  # repairs a dirty image
        qemu_check(img, allow_leaks=not dirty)
        tool("crash-expect", size, seed, last, f"{d}/exp.raw", f"{d}/mask.raw")
        run("qemu-img", "convert", "-O", "raw", img, f"{d}/got.raw")
        exp = open(f"{d}/exp.raw", "rb").read()
        got = open(f"{d}/got.raw", "rb").read()
        mask = open(f"{d}/mask.raw", "rb").read()
        bad = [i for i in range(0, size, 512)
               if exp[i:i + 512] != got[i:i + 512] and 1 not in mask[i:i + 512]]
        expect(not bad, f"crash {it}: {len(bad)} sectors lost after op {last}")
        print(f"crash {it}: killed after op {last}, dirty={dirty}, "
              f"{len(run('qemu-img', 'snapshot', '-l', img).stdout.splitlines())} lines of snapshots")


def patch(src, dst, off, data):
    b = bytearray(open(src, "rb").read())
    b[off:off + len(data)] = data
    open(dst, "wb").write(bytes(b))


def t_corrupt(d):
    good = f"{d}/good.qcow2"
    tool("create", good, "4M", 65536)
    tool("write", good, 0, 200000, 0x33)
    tool("snap-create", good, "s")
    raw = open(good, "rb").read()
    size = len(raw)
    be32, be64 = (lambda v: struct.pack(">I", v)), (lambda v: struct.pack(">Q", v))
    snap_off = struct.unpack(">Q", raw[64:72])[0]
    cases = [
        ("magic", 0, b"QFI\xfc", "magic"),
        ("version 1", 4, be32(1), "version"),
        ("version 4", 4, be32(4), "version"),
        ("cluster_bits 8", 20, be32(8), "cluster_bits"),
        ("cluster_bits 22", 20, be32(22), "cluster_bits"),
        ("size huge", 24, be64(1 << 62), "size"),
        ("crypt", 32, be32(1), "crypt"),
        ("l1_size small", 36, be32(0), "l1_size"),
        ("l1_size huge", 36, be32(0x7fffffff), "l1_size"),
        ("l1 beyond end", 40, be64(size * 4), "l1_table_offset"),
        ("l1 over header", 40, be64(0), "l1_table_offset"),
        ("l1 unaligned", 40, be64(65536 + 8), "l1_table_offset"),
        ("rct beyond end", 48, be64(1 << 40), "refcount_table_offset"),
        ("rct over header", 48, be64(0), "refcount_table_offset"),
        ("rct clusters 0", 56, be32(0), "refcount_table_clusters"),
        ("rct clusters huge", 56, be32(1 << 20), "refcount_table_clusters"),
        ("nb_snapshots huge", 60, be32(1 << 24), "nb_snapshots"),
        ("snapshots beyond end", 64, be64(1 << 40), "snapshots_offset"),
        ("snapshots over header", 64, be64(0), "snapshots_offset"),
        ("unknown incompat", 72, be64(1 << 40), "incompatible"),
        ("external data file", 72, be64(1 << 2), "external data"),
        ("extended l2", 72, be64(1 << 4), "extended L2"),
        ("refcount_order 7", 96, be32(7), "refcount_order"),
        ("header_length odd", 100, be32(107), "header_length"),
        ("header_length huge", 100, be32(1 << 20), "header_length"),
        ("snapshot extra huge", snap_off + 36, be32(1 << 30), "extra_data_size"),
        ("snapshot l1 beyond", snap_off, be64(1 << 40), "l1_table_offset"),
        ("snapshot garbage", snap_off, os.urandom(64), "snapshot"),
        ("extension length", 112, be32(0x6d71ffff) + be32(1 << 20), "extension"),
    ]
    for name, off, data, word in cases:
        img = f"{d}/bad.qcow2"
        patch(good, img, off, data)
        before = sha(img)
        for cmd in ["info", "open-rw"]:
            p = tool(cmd, img, "qcow2", check=False)
            msg = p.stderr.strip()
            if name == "snapshot garbage" and p.returncode == 0:
                continue  # random bytes can happen to form a valid entry
            expect(p.returncode != 0, f"{name}: {cmd} accepted a corrupt file")
            expect(word.lower() in msg.lower() and "\n" not in msg,
                   f"{name}: unclear error {msg!r}")
        expect(sha(img) == before, f"{name}: file was modified")
    # The corrupt bit: readable, not writable.
    img = f"{d}/bad.qcow2"
    patch(good, img, 72, be64(1 << 1))
    before = sha(img)
    expect(tool("info", img, check=False).returncode == 0, "corrupt bit: read-only open failed")
    p = tool("open-rw", img, check=False)
    expect(p.returncode != 0 and "corrupt" in p.stderr, "corrupt bit: read-write allowed")
    expect(sha(img) == before, "corrupt bit: file was modified")
    # A corrupt L2 entry found while running stops writes but leaves the file alone.
    l1_off = struct.unpack(">Q", raw[40:48])[0]
    l2_off = struct.unpack(">Q", raw[l1_off:l1_off + 8])[0] & 0x00fffffffffffe00
    patch(good, img, l2_off, be64(0x8000000000000000 | (size * 16)))
    before = sha(img)
    p = tool("write", img, 0, 100, 1, check=False)
    expect(p.returncode != 0, "write through a corrupt L2 entry succeeded")
    expect(sha(img) == before, "corrupt L2 entry: file was modified")
    # The dirty bit: a read-write open rebuilds the refcounts.
    patch(good, img, 72, be64(1))
    b = bytearray(open(img, "rb").read())
    rct = struct.unpack(">Q", b[48:56])[0]
    blk = struct.unpack(">Q", b[rct:rct + 8])[0]
    b[blk + 2 * 7:blk + 2 * 7 + 2] = be32(9)[2:]  # wrong refcount for cluster 7
    open(img, "wb").write(bytes(b))
    p = run("qemu-img", "check", img, check=False)
    expect(p.returncode != 0, "dirty test image was not inconsistent")
    tool("open-rw", img)
    qemu_check(img)
    info = run("qemu-img", "info", img).stdout
    expect("corrupt: false" in info, "dirty repair")
    tool("dump", img, f"{d}/rep.raw")
    tool("dump", good, f"{d}/good.raw")
    expect(open(f"{d}/rep.raw", "rb").read() == open(f"{d}/good.raw", "rb").read(),
           "dirty repair changed the data")


TESTS = {
    "workload": t_workload,
    "snapshots": t_snapshots,
    "backing": t_backing,
    "read_qemu": t_read_qemu,
    "compressed": t_compressed,
    "extensions": t_extensions,
    "crash": t_crash,
    "crash_snapshots": t_crash_snapshots,
    "corrupt": t_corrupt,
}


def main():
    global TOOL
    if len(sys.argv) != 3 or sys.argv[1] not in TESTS:
        print(__doc__, "tests:", " ".join(TESTS), file=sys.stderr)
        return 2
    TOOL = os.path.abspath(sys.argv[2])
    with tempfile.TemporaryDirectory(prefix="mq-image-") as d:
        try:
            TESTS[sys.argv[1]](d)
        except AssertionError as e:
            FAILURES.append(str(e))
            print("FAIL:", e)
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
