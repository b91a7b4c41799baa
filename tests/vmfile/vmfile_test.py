#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The single-file VM end to end: maquina create/info/config/clone/export/
import/img, with qemu-img and qemu-io as the independent judges.
Formats: docs/file-format.md; qcow2: QEMU docs/interop/qcow2.txt.

usage: vmfile_test.py TEST MAQUINA VMFILE_TOOL   (TEST: see TESTS at the bottom)
"""
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

MQ = TOOL = None
FAILURES = []
EXT_TYPE = 0x6D71766D


def run(*args, check=True, cwd=None):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} -> {p.returncode}\n{p.stdout}{p.stderr}")
    return p


def mq(*args, **kw):
    return run(MQ, *args, **kw)


def tool(*args, **kw):
    return run(TOOL, *args, **kw)


def expect(cond, msg):
    if not cond:
        FAILURES.append(msg)
        print("FAIL:", msg)


def expect_fail(p, words, what):
    """A refused command: exit 2, one line on stderr naming the problem."""
    err = p.stderr.strip()
    expect(p.returncode == 2, f"{what}: exit {p.returncode}, want 2 ({err})")
    expect(len(err.splitlines()) == 1, f"{what}: want one error line, got {err!r}")
    for w in words:
        expect(w.lower() in err.lower(), f"{what}: error {err!r} does not mention {w!r}")


def qemu_check(img):
    p = run("qemu-img", "check", img, check=False)
    expect(p.returncode == 0 and "No errors" in p.stdout,
           f"qemu-img check {img}: rc={p.returncode}\n{p.stdout}{p.stderr}")


def qinfo(img, *extra):
    return json.loads(run("qemu-img", "info", *extra, "--output=json", img).stdout)


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def info_json(vm):
    return json.loads(mq("info", vm, "--json").stdout)


def header_exts(path):
    """(type, data) of every qcow2 header extension, read straight from the file."""
    with open(path, "rb") as f:
        h = f.read(65536)
    assert h[:4] == b"QFI\xfb"
    off = struct.unpack(">I", h[100:104])[0]
    out = []
    while True:
        t, n = struct.unpack(">II", h[off:off + 8])
        if t == 0:
            return out
        out.append((t, h[off + 8:off + 8 + n]))
        off += 8 + (n + 7) // 8 * 8


def set_config_bytes(path, payload):
    """Replace our extension's payload in place (test helper writing bad configs)."""
    with open(path, "r+b") as f:
        h = bytearray(f.read(65536))
        hlen = struct.unpack(">I", h[100:104])[0]
        assert struct.unpack(">Q", h[8:16])[0] == 0, "helper handles no backing file"
        exts = [(t, payload if t == EXT_TYPE else d) for t, d in header_exts(path)]
        area = b""
        for t, d in exts:
            area += struct.pack(">II", t, len(d)) + d + b"\0" * ((8 - len(d) % 8) % 8)
        area += b"\0" * 8
        h[hlen:hlen + len(area)] = area
        f.seek(0)
        f.write(h[:hlen + len(area)])


def make_vm(d, name="demo.vm", *extra):
    kernel = os.path.join(d, "vmlinux")
    if not os.path.exists(kernel):
        open(kernel, "wb").write(b"\0" * 4096)
    mq("create", os.path.join(d, name), "--disk-size", "64M", "-m", "256M", "--smp", "2",
       "--kernel", kernel, "--append", "console=ttyS0 root=/dev/vda", *extra)
    return os.path.join(d, name)


def can_import():
    return run(MQ, "import", "--help", check=False).returncode == 0


def do_import(archive, outdir):
    """maquina import when the command is wired, else the same library call."""
    if can_import():
        return mq("import", archive, "-o", outdir, check=False)
    return tool("import", archive, outdir, check=False)

# ---------------------------------------------------------------- tests


def t_create(d):
    vm = make_vm(d, "demo.vm", "--net", "user,hostfwd=tcp::2222-:22")
    qemu_check(vm)
    qi = qinfo(vm)
    expect(qi["format"] == "qcow2", f"format {qi['format']}")
    expect(qi["virtual-size"] == 64 << 20, f"virtual size {qi['virtual-size']}")
    expect(qi["format-specific"]["data"]["compat"] == "1.1", "not qcow2 v3")
    exts = dict(header_exts(vm))
    expect(EXT_TYPE in exts, "config extension 0x6d71766d missing from the header")
    cfg = json.loads(exts[EXT_TYPE])
    expect(cfg["memory"] == 256 << 20 and cfg["harts"] == 2, f"config {cfg}")
    mac = cfg["nics"][0]["mac"]
    first = int(mac.split(":")[0], 16)
    expect(first & 2 and not first & 1, f"MAC {mac} not locally administered unicast")
    # QEMU keeps unknown extensions when it rewrites the header.
    run("qemu-img", "resize", vm, "128M")
    run("qemu-img", "snapshot", "-c", "by-qemu", vm)
    run("qemu-img", "amend", "-o", "lazy_refcounts=on", vm)
    qemu_check(vm)
    expect(dict(header_exts(vm)).get(EXT_TYPE) == exts[EXT_TYPE],
           "qemu-img did not preserve the config extension")
    j = info_json(vm)
    expect(j["config"]["uuid"] == cfg["uuid"], "config lost after qemu-img rewrote the header")
    expect(j["virtual_size"] == 128 << 20, f"virtual size after resize {j['virtual_size']}")
    # No silent overwrite; --force replaces.
    before = sha(vm)
    expect_fail(mq("create", vm, "--disk-size", "1G", check=False), ["exists", "--force"],
                "create over an existing file")
    expect(sha(vm) == before, "refused create changed the file")
    mq("create", vm, "--disk-size", "1G", "--force")
    expect(qinfo(vm)["virtual-size"] == 1 << 30, "--force did not replace the file")
    expect(not [f for f in os.listdir(d) if ".tmp-" in f], "temporary files left behind")
    # Relative kernel paths are stored absolute.
    cwdvm = os.path.join(d, "rel.vm")
    run(MQ, "create", "rel.vm", "--disk-size", "16M", "--kernel", "vmlinux", cwd=d)
    expect(info_json(cwdvm)["config"]["boot"]["kernel"] == os.path.realpath(
        os.path.join(d, "vmlinux")), "kernel path not stored absolute")


def t_info(d):
    vm = make_vm(d, "demo.vm", "--net", "user")
    run("qemu-io", "-c", "write -P 0x11 0 1M", vm)
    tool("snapshot", vm, "with-state", "100000")
    run("qemu-img", "snapshot", "-c", "disk-only", vm)
    j = info_json(vm)
    expect(set(j) == {"file", "config", "virtual_size", "allocated_size", "backing_file",
                      "live_linked_clones", "snapshots"}, f"info keys {sorted(j)}")
    expect(j["virtual_size"] == 64 << 20, "virtual_size")
    expect(j["allocated_size"] == os.stat(vm).st_blocks * 512, "allocated_size != st_blocks")
    expect(j["backing_file"] is None, "backing_file should be null")
    snaps = {s["name"]: s for s in j["snapshots"]}
    expect(set(snaps) == {"with-state", "disk-only"}, f"snapshots {list(snaps)}")
    if "with-state" in snaps and "disk-only" in snaps:
        expect(snaps["with-state"]["has_machine_state"] and
               snaps["with-state"]["vm_state_size"] == 100000, "with-state snapshot state")
        expect(not snaps["disk-only"]["has_machine_state"], "qemu-img snapshot has no state")
        expect(snaps["disk-only"]["date"].endswith("Z") and
               abs(snaps["disk-only"]["date_sec"] - time.time()) < 600, "snapshot date")
    c = j["config"]
    expect(c["version"] == 1 and c["name"] == "demo" and len(c["uuid"]) == 36, f"config {c}")
    text = mq("info", vm).stdout
    for word in ["name:", "demo", "memory:", "256M", "harts:", "virtual size:", "allocated:",
                 "with-state", "disk-only", "nic 0:", "console=ttyS0"]:
        expect(word in text, f"info text lacks {word!r}:\n{text}")


def t_config(d):
    vm = make_vm(d)
    data = os.path.join(d, "data.raw")
    open(data, "wb").truncate(8 << 20)
    mq("config", vm, "set", "memory=1G", "smp=4", "name=renamed", "append=quiet",
       "net+=user,hostfwd=tcp::2223-:22", f"disk+={data},ro,serial=D1")
    got = {k: mq("config", vm, "get", k).stdout.strip()
           for k in ["memory", "smp", "name", "append"]}
    expect(got == {"memory": "1G", "smp": "4", "name": "renamed", "append": "quiet"},
           f"get after set: {got}")
    disk = mq("config", vm, "get", "disk").stdout.strip()
    expect(disk == "0 data.raw,ro,serial=D1,format=raw", f"disk list {disk!r}")
    net = mq("config", vm, "get", "net").stdout.split()
    expect(len(net) == 3 and net[2] == "user,hostfwd=tcp::2223-:22", f"net list {net}")
    everything = mq("config", vm, "get").stdout
    expect("memory=1G" in everything and "uuid=" in everything, "get without key")
    # All or nothing: one bad assignment changes nothing.
    before = sha(vm)
    expect_fail(mq("config", vm, "set", "memory=2G", "smp=99", check=False), ["smp"],
                "smp=99")
    expect_fail(mq("config", vm, "set", "memory=3M", check=False), ["memory"], "memory=3M")
    expect_fail(mq("config", vm, "set", "memory=1G+1", check=False), ["memory"], "memory junk")
    expect_fail(mq("config", vm, "set", "kernel=/nonexistent", check=False), ["kernel"],
                "missing kernel")
    expect_fail(mq("config", vm, "set", "bogus=1", check=False), ["unknown key"], "bogus key")
    expect_fail(mq("config", vm, "set", "net+=nonsense", check=False), ["net"], "bad net")
    expect_fail(mq("config", vm, "set", "disk-=7", check=False), ["no such disk"], "disk-=7")
    expect(sha(vm) == before, "a refused config set changed the file")
    mq("config", vm, "set", "disk-=0", f"net-={net[1]}", "append=", "kernel=")
    expect(mq("config", vm, "get", "disk").stdout.strip() == "", "disk-= did not remove")
    expect(mq("config", vm, "get", "net").stdout.strip() == "", "net-= by MAC did not remove")
    expect(mq("config", vm, "get", "kernel").stdout.strip() == "", "kernel= did not clear")
    qemu_check(vm)
    expect_fail(mq("config", vm, "get", "nope", check=False), ["unknown key"], "get nope")


def t_lock(d):
    vm = make_vm(d)
    holder = subprocess.Popen([TOOL, "hold", vm, "20"], stdout=subprocess.PIPE, text=True)
    try:
        expect(holder.stdout.readline().strip() == "locked", "holder did not lock")
        before = sha(vm)
        expect_fail(mq("config", vm, "set", "memory=1G", check=False), ["in use"],
                    "config set while running")
        expect_fail(mq("info", vm, check=False), ["written by another process"],
                    "info while running")
        # QEMU sees our lock as a running writer, and we see each other.
        p = run("qemu-img", "info", vm, check=False)
        expect(p.returncode != 0 and "lock" in p.stderr, f"qemu-img info ignored the lock: {p.stderr}")
        run("qemu-img", "info", "-U", vm)
        expect(sha(vm) == before, "file changed while locked")
    finally:
        holder.kill()
        holder.wait()
    mq("config", vm, "set", "memory=1G")
    # Shared holders (info, export) coexist with each other but not with a writer.
    holder = subprocess.Popen([TOOL, "hold", vm, "20", "shared"], stdout=subprocess.PIPE,
                              text=True)
    try:
        expect(holder.stdout.readline().strip() == "locked", "shared holder did not lock")
        mq("info", vm)
        expect_fail(mq("config", vm, "set", "memory=2G", check=False), ["in use"],
                    "config set while shared-locked")
    finally:
        holder.kill()
        holder.wait()


def t_clone_full(d):
    vm = make_vm(d, "base.vm", "--net", "user")
    run("qemu-io", "-c", "write -P 0x5a 1M 2M", vm)
    tool("snapshot", vm, "s1", "65536")
    run("qemu-io", "-c", "write -P 0x33 0 64k", vm)
    full = os.path.join(d, "full.vm")
    mq("clone", vm, full)
    qemu_check(vm)
    qemu_check(full)
    run("qemu-img", "compare", vm, full)
    a, b = info_json(vm), info_json(full)
    expect(b["config"]["uuid"] != a["config"]["uuid"], "clone kept the uuid")
    expect(b["config"]["nics"][0]["mac"] != a["config"]["nics"][0]["mac"], "clone kept the MAC")
    expect(b["config"]["name"] == "full", f"clone name {b['config']['name']}")
    expect([s["name"] for s in b["snapshots"]] == ["s1"] and
           b["snapshots"][0]["vm_state_size"] == 65536, "snapshots not kept")
    run("qemu-img", "compare", "-s", f"{vm}", f"{full}")
    # Snapshot contents survive: qemu-img reads the snapshot in both.
    for img in (vm, full):
        run("qemu-img", "convert", "-l", "s1", "-O", "raw", img, img + ".s1.raw")
    expect(sha(vm + ".s1.raw") == sha(full + ".s1.raw"), "snapshot data differs in clone")
    nosnap = os.path.join(d, "nosnap.vm")
    mq("clone", vm, nosnap, "--no-snapshots")
    qemu_check(nosnap)
    run("qemu-img", "compare", vm, nosnap)
    expect(info_json(nosnap)["snapshots"] == [], "--no-snapshots kept snapshots")
    expect_fail(mq("clone", vm, full, check=False), ["exists"], "clone onto existing")


def t_clone_linked(d):
    vm = make_vm(d, "base.vm", "--net", "user")
    run("qemu-io", "-c", "write -P 0x5a 0 4M", vm)
    base_sha = sha(vm)
    sub = os.path.join(d, "sub")
    os.mkdir(sub)
    lc = os.path.join(d, "linked.vm")
    lc2 = os.path.join(sub, "linked2.vm")
    mq("clone", vm, lc, "--linked")
    mq("clone", vm, lc2, "--linked")
    qemu_check(vm)
    qemu_check(lc)
    qemu_check(lc2)
    qi = qinfo(lc)
    expect(qi.get("backing-filename") == "base.vm" and
           qi.get("backing-filename-format") == "qcow2", f"linked backing {qi}")
    expect(qinfo(lc2).get("backing-filename") == os.path.realpath(vm),
           "clone in another directory should name the base absolutely")
    run("qemu-img", "compare", vm, lc)
    base_after_register = sha(vm)
    j = info_json(vm)
    expect(sorted(j["live_linked_clones"]) == sorted([os.path.realpath(lc),
                                                      os.path.realpath(lc2)]),
           f"base lists {j['live_linked_clones']}")
    # Writes through our block layer go to the clone only.
    tool("write", lc, "0", "0xee", "65536")
    expect(sha(vm) == base_after_register, "writing the linked clone changed the base")
    run("qemu-io", "-c", "read -P 0xee 0 64k", "-c", "read -P 0x5a 64k 64k", lc)
    run("qemu-io", "-r", "-c", "read -P 0x5a 0 64k", vm)
    qemu_check(lc)
    expect(info_json(lc)["config"]["uuid"] != j["config"]["uuid"], "linked clone kept uuid")
    # The base refuses writers while clones live.
    p = tool("open-write", vm, check=False)
    expect(p.returncode == 1 and "linked clone" in p.stderr, f"base opened for writing: {p.stderr}")
    p = mq("config", vm, "set", "memory=512M", check=False)
    expect(p.returncode == 0 and "linked clone" in p.stderr, f"config set on base: {p.stderr}")
    expect(base_sha != sha(vm), "sanity: config set rewrote the header")
    run("qemu-io", "-c", "read -P 0xee 0 64k", lc)
    os.unlink(lc)
    os.unlink(lc2)
    tool("open-write", vm)
    expect(info_json(vm)["live_linked_clones"] == [], "deleted clones still counted")


def t_export_import(d):
    vm = make_vm(d, "demo.vm", "--net", "user")
    data = os.path.join(d, "data.qcow2")
    raw = os.path.join(d, "scratch.raw")
    run("qemu-img", "create", "-f", "qcow2", data, "32M")
    open(raw, "wb").truncate(16 << 20)
    run("qemu-io", "-c", "write -P 0x42 1M 3M", vm)
    run("qemu-io", "-c", "write -P 0x43 0 1M", data)
    with open(raw, "r+b") as f:
        f.seek(5 << 20)
        f.write(os.urandom(1 << 20))
    tool("snapshot", vm, "snap", "4096")
    mq("config", vm, "set", f"disk+={data},serial=data", f"disk+={raw},ro")
    # An extra disk outside the .vm's directory: stored absolute, rewritten on import.
    other = tempfile.mkdtemp(dir=d, prefix="x")
    far = os.path.join(other, "far.raw")
    open(far, "wb").write(b"far" * 1000)
    mq("config", vm, "set", f"disk+={far}")
    arch = os.path.join(d, "demo.vmx")
    mq("export", vm, "-o", arch)
    expect(os.path.getsize(arch) < 6 << 20, f"archive not compressed: {os.path.getsize(arch)}")
    out = os.path.join(d, "restored")
    p = do_import(arch, out)
    expect(p.returncode == 0, f"import failed: {p.stderr}")
    new = os.path.join(out, "demo.vm")
    for src, dst in [(data, "data.qcow2"), (raw, "scratch.raw"), (far, "far.raw")]:
        expect(sha(src) == sha(os.path.join(out, dst)), f"{dst} differs after import")
    qemu_check(new)
    run("qemu-img", "compare", vm, new)
    run("qemu-img", "convert", "-l", "snap", "-O", "raw", new, new + ".snap")
    run("qemu-img", "convert", "-l", "snap", "-O", "raw", vm, vm + ".snap")
    expect(sha(vm + ".snap") == sha(new + ".snap"), "snapshot lost in export")
    a, b = info_json(vm)["config"], info_json(new)["config"]
    expect([x["path"] for x in b["disks"]] == ["data.qcow2", "scratch.raw", "far.raw"],
           f"imported disk paths {b['disks']}")
    for x in a["disks"]:
        x["path"] = os.path.basename(x["path"])
    expect(a == b, f"config differs after import:\n{a}\n{b}")
    expect(os.path.getsize(os.path.join(out, "scratch.raw")) == 16 << 20, "raw size")
    expect(os.stat(os.path.join(out, "scratch.raw")).st_blocks * 512 < 8 << 20,
           "imported raw disk is not sparse")
    # A .vm whose disks sit beside it comes back byte-identical.
    simple = make_vm(d, "simple.vm")
    run("qemu-io", "-c", "write -P 0x99 0 2M", simple)
    mq("export", simple, "-o", os.path.join(d, "simple.vmx"))
    p = do_import(os.path.join(d, "simple.vmx"), os.path.join(d, "again"))
    expect(p.returncode == 0, f"import failed: {p.stderr}")
    expect(sha(simple) == sha(os.path.join(d, "again", "simple.vm")),
           "simple .vm not byte-identical after export/import")
    # Never replaces existing files.
    p = do_import(os.path.join(d, "simple.vmx"), os.path.join(d, "again"))
    expect(p.returncode != 0 and "exists" in p.stderr, f"import over existing: {p.stderr}")
    expect_fail(mq("export", simple, "-o", os.path.join(d, "simple.vmx"), check=False),
                ["exists"], "export over existing archive")


def t_archive_damage(d):
    vm = make_vm(d, "demo.vm")
    extra = os.path.join(d, "extra.raw")
    open(extra, "wb").write(os.urandom(300000))
    mq("config", vm, "set", f"disk+={extra}")
    run("qemu-io", "-c", "write -P 0x42 0 1M", vm)
    arch = os.path.join(d, "demo.vmx")
    mq("export", vm, "-o", arch)
    good = open(arch, "rb").read()
    n = len(good)
    cases = []
    for pos in [0, 9, 17, 30, 60, n // 3, n // 2, n - 300, n - 41, n - 30, n - 1]:
        b = bytearray(good)
        b[pos] ^= 0x40
        cases.append((f"flip@{pos}", bytes(b)))
    for cut in [10, 24, 100, n // 2, n - 48, n - 1]:
        cases.append((f"cut@{cut}", good[:cut]))
    cases.append(("trailing", good + b"x"))
    for name, blob in cases:
        bad = os.path.join(d, "bad.vmx")
        open(bad, "wb").write(blob)
        out = os.path.join(d, "out-" + name)
        p = do_import(bad, out)
        expect(p.returncode != 0, f"{name}: damaged archive accepted")
        expect(not os.path.exists(out) or os.listdir(out) == [],
               f"{name}: files left behind: {os.listdir(out) if os.path.exists(out) else ''}")
        if can_import():
            expect(len(p.stderr.strip().splitlines()) == 1, f"{name}: {p.stderr!r}")
    # An existing directory keeps its own files and gets nothing new.
    keep = os.path.join(d, "keep")
    os.mkdir(keep)
    open(os.path.join(keep, "mine"), "w").write("x")
    open(os.path.join(d, "bad.vmx"), "wb").write(good[:n // 2])
    do_import(os.path.join(d, "bad.vmx"), keep)
    expect(os.listdir(keep) == ["mine"], f"existing dir touched: {os.listdir(keep)}")
    p = do_import(arch, os.path.join(d, "fine"))
    expect(p.returncode == 0, f"good archive refused: {p.stderr}")


def t_convert(d):
    raw = os.path.join(d, "in.raw")
    with open(raw, "wb") as f:
        f.truncate(24 << 20)
        for off in [0, 3 << 20, 10 << 20, (24 << 20) - 4096]:
            f.seek(off)
            f.write(os.urandom(4096 * 3 if off < (20 << 20) else 4096))
    ours_q, qemu_q = os.path.join(d, "ours.qcow2"), os.path.join(d, "qemu.qcow2")
    mq("img", "convert", "-f", "raw", "-O", "qcow2", raw, ours_q)
    run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qemu_q)
    qemu_check(ours_q)
    run("qemu-img", "compare", ours_q, qemu_q)
    expect(os.stat(ours_q).st_size < 4 << 20, "qcow2 output not sparse")
    ours_r, qemu_r = os.path.join(d, "ours.raw"), os.path.join(d, "qemu.raw")
    mq("img", "convert", "-O", "raw", qemu_q, ours_r)
    run("qemu-img", "convert", "-O", "raw", qemu_q, qemu_r)
    expect(sha(ours_r) == sha(qemu_r) == sha(raw), "raw output differs from qemu-img's")
    expect(os.stat(ours_r).st_blocks * 512 < 4 << 20, "raw output not sparse")
    # A qcow2 written by qemu-io with a backing chain flattens.
    top = os.path.join(d, "top.qcow2")
    run("qemu-img", "create", "-f", "qcow2", "-b", qemu_q, "-F", "qcow2", top)
    run("qemu-io", "-c", "write -P 0x77 8M 1M", top)
    flat = os.path.join(d, "flat.qcow2")
    mq("img", "convert", top, flat)
    run("qemu-img", "compare", top, flat)
    expect("backing-filename" not in qinfo(flat), "converted image kept a backing file")
    text = mq("img", "info", top).stdout
    expect("qcow2" in text and "backing file:" in text and str(24 << 20) in text,
           f"img info: {text}")
    vm = make_vm(d)
    expect("maquina vm:     yes" in mq("img", "info", vm).stdout, "img info of a .vm")
    expect_fail(mq("img", "convert", "-O", "vmdk", raw, flat, check=False), ["vmdk"], "bad -O")
    expect_fail(mq("img", "convert", raw, raw, check=False), ["same file"], "convert onto self")
    expect_fail(mq("img", "convert", os.path.join(d, "missing"), flat, check=False),
                ["missing"], "missing source")


BAD_CONFIGS = [
    (b"{not json", "JSON"),
    (b"", "empty"),
    (b"[1,2]", "object"),
    (b'{"version":1}', "missing"),
    (b'{"version":99}', "newer"),
    (b'{"version":"1"}', "version"),
    (None, "memory", {"memory": "1G"}),
    (None, "memory", {"memory": 1 << 60}),
    (None, "memory", {"memory": (1 << 30) + 1}),
    (None, "memory", {"memory": 1.5e9}),
    (None, "harts", {"harts": 0}),
    (None, "harts", {"harts": 9}),
    (None, "harts", {"harts": 123456789012345678901234567890}),
    (None, "harts", {"harts": True}),
    (None, "unknown key", {"extra": 1}),
    (None, "name", {"name": "x" * 100}),
    (None, "name", {"name": "bad\nname"}),
    (None, "uuid", {"uuid": "not-a-uuid"}),
    (None, "disks", {"disks": [{"path": "a"}] * 7}),
    (None, "disks", {"disks": "a.raw"}),
    (None, "format", {"disks": [{"path": "a", "format": "vmdk"}]}),
    (None, "serial", {"disks": [{"path": "a", "serial": "s" * 21}]}),
    (None, "mac", {"nics": [{"net": "user"}]}),
    (None, "mac", {"nics": [{"net": "user", "mac": "01:00:00:00:00:01"}]}),
    (None, "net", {"nics": [{"net": "bogus", "mac": "02:00:00:00:00:01"}]}),
    (None, "kernel", {"boot": {"kernel": "relative/Image"}}),
    (None, "boot", {"boot": {"kernel": "/k", "bios": "/x"}}),
    (None, "linked_clones", {"linked_clones": [1]}),
]


def t_corrupt_config(d):
    vm = make_vm(d)
    good = json.loads(dict(header_exts(vm))[EXT_TYPE])
    for i, case in enumerate(BAD_CONFIGS):
        blob, word = case[0], case[1]
        if blob is None:
            cfg = dict(good)
            cfg.update(case[2])
            blob = json.dumps(cfg).encode()
        victim = os.path.join(d, f"bad{i}.vm")
        open(victim, "wb").write(open(vm, "rb").read())
        set_config_bytes(victim, blob)
        qemu_check(victim)
        before = sha(victim)
        for args in (["info", victim], ["config", victim, "get"],
                     ["config", victim, "set", "memory=1G"],
                     ["clone", victim, victim + ".clone"],
                     ["export", victim, "-o", victim + ".vmx"]):
            expect_fail(mq(*args, check=False), [victim, word], f"{args[0]} of config {blob[:60]!r}")
        expect(sha(victim) == before, f"config {blob[:60]!r}: file changed")
        expect(not os.path.exists(victim + ".clone") and not os.path.exists(victim + ".vmx"),
               "output left behind for a corrupt .vm")
    # Not a .vm: a plain qcow2 and a raw file.
    plain = os.path.join(d, "plain.qcow2")
    run("qemu-img", "create", "-f", "qcow2", plain, "1M")
    expect_fail(mq("info", plain, check=False), ["not a .vm"], "info of plain qcow2")
    junk = os.path.join(d, "junk.vm")
    open(junk, "wb").write(b"hello" * 100)
    expect_fail(mq("info", junk, check=False), ["not a .vm"], "info of a text file")


def t_board(d):
    vm = make_vm(d, "demo.vm", "--net", "user,hostfwd=tcp::2224-:22")
    data = os.path.join(d, "data.raw")
    open(data, "wb").truncate(1 << 20)
    mq("config", vm, "set", f"disk+={data},ro,serial=S")
    lines = tool("board", vm).stdout.splitlines()
    expect("ram 268435456" in lines and "harts 2" in lines, f"board {lines}")
    expect(f"disk {vm} qcow2 rw -" in lines, f"disk 0 is not the .vm: {lines}")
    expect(f"disk {os.path.realpath(d)}/data.raw raw ro S" in lines, f"extra disk: {lines}")
    expect(any(l.startswith("nic ") and l.endswith("user,hostfwd=tcp::2224-:22") for l in lines),
           f"nic: {lines}")
    expect("firmware -" in lines and f"kernel {os.path.realpath(d)}/vmlinux" in lines,
           f"boot: {lines}")


def t_cli_errors(d):
    vm = make_vm(d)
    cases = [
        (["create"], ["NAME.vm"]),
        (["create", os.path.join(d, "x.vm")], ["--disk-size"]),
        (["create", os.path.join(d, "x.vm"), "--disk-size", "lots"], ["--disk-size"]),
        (["create", os.path.join(d, "x.vm"), "--disk-size", "1G", "--smp", "0"], ["smp"]),
        (["create", os.path.join(d, "x.vm"), "--disk-size", "1G", "--kernel", "/nope"],
         ["kernel"]),
        (["create", os.path.join(d, "x.vm"), "--disk-size", "1G", "--disk", "/nope.raw"],
         ["disk"]),
        (["create", os.path.join(d, "x.vm"), "--disk-size", "1G", "--bogus"], ["--bogus"]),
        (["info"], ["NAME.vm"]),
        (["info", os.path.join(d, "missing.vm")], ["missing.vm"]),
        (["config", vm], ["usage"]),
        (["config", vm, "frob"], ["frob"]),
        (["config", vm, "set"], ["KEY=VALUE"]),
        (["clone", vm], ["NEW.vm"]),
        (["clone", vm, os.path.join(d, "l.vm"), "--linked", "--no-snapshots"], ["--no-snapshots"]),
        (["export", vm], ["-o"]),
        (["export", vm, "-o", os.path.join(d, "a.vmx"), "--level", "50"], ["--level"]),
        (["img"], ["convert"]),
        (["img", "frob"], ["frob"]),
        (["img", "info"], ["FILE"]),
    ]
    for args, words in cases:
        expect_fail(mq(*args, check=False), words, " ".join(args))
    expect(not os.path.exists(os.path.join(d, "x.vm")), "failed create left a file")
    for cmd in ["create", "info", "config", "clone", "export", "img"]:
        p = mq(cmd, "--help", check=False)
        expect(p.returncode == 0 and "Example" in p.stdout, f"{cmd} --help")


TESTS = {
    "create": t_create,
    "info": t_info,
    "config": t_config,
    "lock": t_lock,
    "clone_full": t_clone_full,
    "clone_linked": t_clone_linked,
    "export_import": t_export_import,
    "archive_damage": t_archive_damage,
    "convert": t_convert,
    "corrupt_config": t_corrupt_config,
    "board": t_board,
    "cli_errors": t_cli_errors,
}


def main():
    global MQ, TOOL
    if len(sys.argv) != 4 or sys.argv[1] not in TESTS:
        print(__doc__, "tests:", " ".join(TESTS), file=sys.stderr)
        return 2
    MQ, TOOL = os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    with tempfile.TemporaryDirectory(prefix="mq-vmfile-") as d:
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
