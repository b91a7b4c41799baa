#!/usr/bin/env python3
"""Host-side helpers for scripts/guest/build-default.sh.

Everything here runs on the build host (any architecture) and never executes
riscv64 code. Standard library only.

  kernel  VMLINUZ OUT        write a plain RISC-V Image; print what the input was
  applets BUSYBOX            print the applet names compiled into a busybox binary
  modules MODDIR OUTDIR M..  close M.. over their dependencies (read from each
                             module's .modinfo), decompress them into OUTDIR,
                             print "name status" lines in load order
  cpio    SPEC OUT           write a cpio "newc" archive from a gen_init_cpio-
                             like spec, byte-for-byte reproducible
"""

import gzip
import lzma
import os
import struct
import sys

RISCV_MAGIC = b"RISCV\0\0\0"   # offset 0x30 (deprecated magic, still written)
RISCV_MAGIC2 = b"RSC\x05"      # offset 0x38
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
XZ_MAGIC = b"\xfd7zXZ\0"


def die(msg):
    sys.stderr.write("guest-tool: %s\n" % msg)
    sys.exit(1)


def is_riscv_image(data):
    return data[0x30:0x38] == RISCV_MAGIC and data[0x38:0x3C] == RISCV_MAGIC2


def zstd_decompress(data):
    # The standard library has no zstd before Python 3.14: use the host tool.
    import subprocess
    try:
        return subprocess.run(["zstd", "-dc"], input=data, check=True,
                              stdout=subprocess.PIPE).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        die("zstd decompression failed (is zstd installed?): %s" % e)


def decompress_any(data):
    """Return (kind, decompressed) for gzip/xz/zstd data, or (None, data)."""
    if data.startswith(GZIP_MAGIC):
        return "gzip", gzip.decompress(data)
    if data.startswith(XZ_MAGIC):
        return "xz", lzma.decompress(data)
    if data.startswith(ZSTD_MAGIC):
        return "zstd", zstd_decompress(data)
    return None, data


def cmd_kernel(src, out):
    data = open(src, "rb").read()
    desc = []
    for _ in range(3):
        if is_riscv_image(data):
            if data[:2] == b"MZ" and data[0x40:0x44] == b"PE\0\0":
                desc.append("plain RISC-V Image with EFI stub (PE/COFF header)")
            else:
                desc.append("plain RISC-V Image")
            break
        if data[:2] == b"MZ" and data[4:8] == b"zimg":
            # EFI zboot: MZ, "zimg", payload offset, payload size, 2 x pad,
            # compression type string (NUL padded) at 0x18.
            off, size = struct.unpack_from("<II", data, 8)
            ctype = data[0x18:0x20].rstrip(b"\0").decode("ascii", "replace")
            desc.append("EFI zboot (%s payload)" % ctype)
            data = data[off:off + size]
            kind, data = decompress_any(data)
            if kind is None:
                die("unsupported EFI zboot compression %r" % ctype)
            continue
        kind, data2 = decompress_any(data)
        if kind is None:
            break
        desc.append("%s-compressed" % kind)
        data = data2
    if not is_riscv_image(data):
        die("%s: no RISC-V Image header (magic RISCV at 0x30, RSC\\x05 at 0x38)"
            " after: %s" % (src, ", ".join(desc) or "nothing recognised"))
    text_offset, image_size = struct.unpack_from("<QQ", data, 8)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, out)
    print("%s; text_offset=0x%x image_size=%d file_size=%d"
          % (" -> ".join(desc), text_offset, image_size, len(data)))


def cmd_applets(path):
    """busybox keeps its applet names in one sorted, NUL-separated string
    (applet_names[] in the generated applet_tables.h); with the test applet
    enabled, as in Debian's build, it starts with "[" and "[[". Accept the
    first such run that is long, sorted and contains "sh"."""
    data = open(path, "rb").read()
    names = None
    start = data.find(b"[\0[[\0")
    while start >= 0 and names is None:
        cand = []
        pos = start
        while len(cand) <= 1000:
            end = data.find(b"\0", pos)
            if end <= pos:
                break
            try:
                cand.append(data[pos:end].decode("ascii"))
            except UnicodeDecodeError:
                break
            pos = end + 1
        if len(cand) > 20 and "sh" in cand and cand == sorted(cand):
            names = cand
        else:
            start = data.find(b"[\0[[\0", start + 1)
    if names is None:
        die("%s: applet name table not found" % path)
    if names != sorted(names):
        die("applet table is not sorted: parse error")
    for must in ("sh", "mount", "insmod", "udhcpc", "cttyhack", "setsid",
                 "poweroff", "reboot"):
        if must not in names:
            die("busybox lacks the %r applet" % must)
    for n in names:
        if n != "busybox":
            print(n)


# --- kernel modules ------------------------------------------------------

def modname(path):
    base = os.path.basename(path)
    for ext in (".ko.xz", ".ko.zst", ".ko.gz", ".ko"):
        if base.endswith(ext):
            return base[:-len(ext)].replace("-", "_")
    return None


def read_ko(path):
    data = open(path, "rb").read()
    kind, data = decompress_any(data)
    if data[:4] != b"\x7fELF":
        die("%s: not an ELF module after decompression" % path)
    return data


def modinfo(elf):
    """Parse the .modinfo section of an ELF64 little-endian module."""
    if elf[4] != 2 or elf[5] != 1:
        die("only ELF64 little-endian modules are supported")
    (e_shoff,) = struct.unpack_from("<Q", elf, 0x28)
    e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", elf, 0x3A)

    def sh(i):
        return struct.unpack_from("<IIQQQQIIQQ", elf, e_shoff + i * e_shentsize)
    strtab = sh(e_shstrndx)
    info = {}
    for i in range(e_shnum):
        s = sh(i)
        nstart = strtab[4] + s[0]
        name = elf[nstart:elf.index(b"\0", nstart)]
        if name == b".modinfo":
            raw = elf[s[4]:s[4] + s[5]]
            for item in raw.split(b"\0"):
                if b"=" in item:
                    k, v = item.decode("utf-8", "replace").split("=", 1)
                    info.setdefault(k, []).append(v)
    return info


def cmd_modules(moddir, outdir, wanted):
    builtin = set()
    bpath = os.path.join(moddir, "modules.builtin")
    if os.path.exists(bpath):
        for line in open(bpath):
            n = modname(line.strip())
            if n:
                builtin.add(n)
    index = {}
    for root, _, files in os.walk(os.path.join(moddir, "kernel")):
        for f in files:
            n = modname(f)
            if n:
                index[n] = os.path.join(root, f)
    builtin_alias = {}
    bmi = os.path.join(moddir, "modules.builtin.modinfo")
    if os.path.exists(bmi):
        for item in open(bmi, "rb").read().split(b"\0"):
            item = item.decode("utf-8", "replace")
            if ".alias=" in item:
                mod, alias = item.split(".alias=", 1)
                builtin_alias.setdefault(alias.replace("-", "_"), mod)
    os.makedirs(outdir, exist_ok=True)
    order = []        # load order
    alias_cache = {}

    def resolve_alias(alias):
        """Map a module alias (e.g. softdep "crc32c") to a module name.
        Look at likely candidates first, then at every module."""
        if alias in builtin_alias:
            return builtin_alias[alias]
        key = alias[len("crypto_"):] if alias.startswith("crypto_") else alias
        likely = sorted(n for n in index if key in n)
        rest = sorted(n for n in index if key not in n)
        for n in likely + rest:
            if n not in alias_cache:
                alias_cache[n] = [a.replace("-", "_") for a in
                                  modinfo(read_ko(index[n])).get("alias", [])]
            if alias in alias_cache[n]:
                return n
        return None
    status = {}
    visiting = set()

    def visit(name, optional_reason=None):
        name = name.replace("-", "_")
        if name in status:
            return
        if name in builtin:
            status[name] = "builtin"
            order.append(name)
            return
        if name not in index:
            real = resolve_alias(name)
            if real is not None:
                visit(real, optional_reason)
                status[name] = "alias of " + real
                return
            if optional_reason:
                status[name] = "absent"
                order.append(name)
                return
            die("module %s is neither built in nor in %s" % (name, moddir))
        if name in visiting:
            die("dependency cycle at %s" % name)
        visiting.add(name)
        elf = read_ko(index[name])
        info = modinfo(elf)
        # softdep "pre:" modules must be loaded before this one
        for sd in info.get("softdep", []):
            words = sd.split()
            mode = None
            for w in words:
                if w in ("pre:", "post:"):
                    mode = w
                elif mode == "pre:":
                    visit(w, "softdep")
        for dep in info.get("depends", []):
            for d in filter(None, dep.split(",")):
                visit(d)
        visiting.discard(name)
        with open(os.path.join(outdir, name + ".ko"), "wb") as f:
            f.write(elf)
        status[name] = "module " + os.path.relpath(index[name], moddir)
        order.append(name)

    for w in wanted:
        optional = w.endswith("?")
        visit(w.rstrip("?"), "optional" if optional else None)
    for n in order:
        print(n, status[n])


# --- cpio newc -----------------------------------------------------------

def cmd_cpio(spec, out):
    """Spec lines (like the kernel's gen_init_cpio):
        dir   NAME MODE UID GID
        file  NAME SRC MODE UID GID
        slink NAME TARGET MODE UID GID
        nod   NAME MODE UID GID c|b MAJ MIN
    Modes are octal. mtime is SOURCE_DATE_EPOCH (default 0)."""
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    ino = 721
    chunks = []

    def entry(name, mode, uid, gid, nlink, body, rmaj=0, rmin=0):
        nonlocal ino
        name_b = name.encode() + b"\0"
        hdr = "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X" % (
            ino, mode, uid, gid, nlink, mtime, len(body), 0, 0, rmaj, rmin,
            len(name_b), 0)
        ino += 1
        rec = hdr.encode() + name_b
        rec += b"\0" * (-len(rec) % 4)
        rec += body
        rec += b"\0" * (-len(rec) % 4)
        chunks.append(rec)

    seen = set()
    for lineno, line in enumerate(open(spec), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        w = line.split()
        kind, name = w[0], w[1].lstrip("/")
        if name in seen:
            die("%s:%d: duplicate entry %s" % (spec, lineno, name))
        seen.add(name)
        try:
            if kind == "dir":
                entry(name, 0o040000 | int(w[2], 8), int(w[3]), int(w[4]), 2, b"")
            elif kind == "file":
                body = open(w[2], "rb").read()
                entry(name, 0o100000 | int(w[3], 8), int(w[4]), int(w[5]), 1, body)
            elif kind == "slink":
                entry(name, 0o120000 | int(w[3], 8), int(w[4]), int(w[5]), 1,
                      w[2].encode())
            elif kind == "nod":
                t = {"c": 0o020000, "b": 0o060000}[w[5]]
                entry(name, t | int(w[2], 8), int(w[3]), int(w[4]), 1, b"",
                      int(w[6]), int(w[7]))
            else:
                die("%s:%d: unknown entry type %s" % (spec, lineno, kind))
        except (IndexError, ValueError, KeyError):
            die("%s:%d: malformed line: %s" % (spec, lineno, line))
    ino = 0
    entry("TRAILER!!!", 0, 0, 0, 1, b"")
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        for c in chunks:
            f.write(c)
    os.replace(tmp, out)


def main(argv):
    if len(argv) < 2:
        die(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "kernel" and len(args) == 2:
        cmd_kernel(*args)
    elif cmd == "applets" and len(args) == 1:
        cmd_applets(*args)
    elif cmd == "modules" and len(args) >= 3:
        cmd_modules(args[0], args[1], args[2:])
    elif cmd == "cpio" and len(args) == 2:
        cmd_cpio(*args)
    else:
        die("bad usage\n" + __doc__)


if __name__ == "__main__":
    main(sys.argv)
