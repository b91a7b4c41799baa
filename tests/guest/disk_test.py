#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""virtio-blk disks: ext4 images made on the host, read and written by the guest.

The host makes ext4 images with `mkfs.ext4 -d` (e2fsprogs), each holding a
file with known content, and boots once with

    --disk a.img,serial=MQ-A-0001          (raw, read-write, 32 MiB) -> vda
    --disk b.img,ro,serial=MQ-B-0002       (raw, read-only, 16 MiB) -> vdb
    --disk c.qcow2,format=qcow2            (qcow2, read-write, 24 MiB) -> vdc,
                                           only when qemu-img is installed

Guest checks: the disks appear as vda, vdb (, vdc) with the right sizes
(/sys/block/vdX/size) and serials (/sys/block/vdX/serial); vdb is read-only
(/sys/block/vdb/ro); vda mounts as ext4, the known file reads back, the
guest writes a small file and 1 MiB of random data (hashing it), syncs and
unmounts; vdb mounts with -o ro and reads back, but a file write fails,
`mount -o remount,rw` fails and a raw write to /dev/vdb fails; on vdc the
known file reads back and a file is written. Then `poweroff` (status 0).
Host checks: `debugfs -R 'cat ...'` reads the guest's new file from a.img,
the 1 MiB file dumped with debugfs has the guest's sha256, `e2fsck -fn`
finds a.img clean, b.img is byte-for-byte unchanged, and for c.qcow2
`qemu-img check` passes and the guest's file reads back after
`qemu-img convert` to raw.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guestlib  # noqa: E402

A_TEXT = "maquina-disk-a: read me from the guest\n"
B_TEXT = "maquina-disk-b: read-only content\n"
C_TEXT = "maquina-disk-c: qcow2 content\n"


def tool(name):
    path = shutil.which(name) or shutil.which(name, path="/sbin:/usr/sbin")
    if not path:
        guestlib.bail("%s is required (Debian package e2fsprogs / qemu-utils)" % name)
    return path


def mkext4(tmp, name, size_mib, files):
    content = os.path.join(tmp, name + ".d")
    os.makedirs(content)
    for fname, text in files.items():
        with open(os.path.join(content, fname), "w") as f:
            f.write(text)
    img = os.path.join(tmp, name)
    subprocess.run([tool("mkfs.ext4"), "-q", "-F", "-L", name[:16], "-d", content,
                    img, "%dM" % size_mib], check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, E2FSPROGS_FAKE_TIME="1700000000"))
    return img


def debugfs_cat(img, path):
    r = subprocess.run([tool("debugfs"), "-R", "cat " + path, img],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return r.stdout


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    args = guestlib.guest_args(__doc__)
    tap = guestlib.Tap()
    qemu_img = shutil.which("qemu-img")
    with guestlib.tmpdir() as tmp:
        a = mkext4(tmp, "a.img", 32, {"hello.txt": A_TEXT})
        b = mkext4(tmp, "b.img", 16, {"ro.txt": B_TEXT})
        b_sha = sha256_file(b)
        disks = ["--disk", a + ",serial=MQ-A-0001", "--disk", b + ",ro,serial=MQ-B-0002"]
        c = None
        if qemu_img:
            c_raw = mkext4(tmp, "c.raw", 24, {"c.txt": C_TEXT})
            c = os.path.join(tmp, "c.qcow2")
            subprocess.run([qemu_img, "convert", "-f", "raw", "-O", "qcow2", c_raw, c], check=True)
            os.unlink(c_raw)
            disks += ["--disk", c + ",format=qcow2"]

        guest_sha = None
        with tap.guarded("disks in the guest"), guestlib.Guest(args, extra=disks, name="disk") as g:
            g.boot()
            r = g.run("cd /sys/block && for d in vd*; do echo $d $(cat $d/size) $(cat $d/ro)"
                      " $(cat $d/serial 2>/dev/null); done")
            got = {l.split()[0]: l.split()[1:] for l in r.lines if l.startswith("vd")}
            tap.eq(sorted(got), ["vda", "vdb"] + (["vdc"] if c else []),
                   "the disks appear as vda, vdb%s in order" % (", vdc" if c else ""), r.out)
            tap.eq(got.get("vda"), ["65536", "0", "MQ-A-0001"],
                   "vda: 32 MiB, read-write, serial MQ-A-0001")
            tap.eq(got.get("vdb"), ["32768", "1", "MQ-B-0002"],
                   "vdb: 16 MiB, read-only, serial MQ-B-0002")
            if c:
                tap.eq((got.get("vdc") or [None])[:2], ["49152", "0"], "vdc (qcow2): 24 MiB, read-write")

            r = g.run("mount -t ext4 /dev/vda /mnt && cat /mnt/hello.txt")
            tap.eq((r.status, r.out), (0, A_TEXT.strip()), "vda mounts as ext4 and hello.txt reads back")
            r = g.run("echo written-by-guest > /mnt/new.txt"
                      " && head -c 1048576 /dev/urandom > /mnt/rand.bin"
                      " && sha256sum /mnt/rand.bin && sync && umount /mnt", timeout=300)
            mo = re.search(r"\b([0-9a-f]{64})\s+/mnt/rand.bin", r.out)
            tap.ok(r.status == 0 and mo, "the guest writes to vda, syncs and unmounts", r.out)
            guest_sha = mo.group(1) if mo else None

            r = g.run("mkdir -p /mnt2 && mount -t ext4 -o ro /dev/vdb /mnt2 && cat /mnt2/ro.txt")
            tap.eq((r.status, r.out), (0, B_TEXT.strip()), "vdb mounts with -o ro and ro.txt reads back")
            r = g.run("echo x > /mnt2/x.txt")
            tap.ok(r.status != 0, "a file write on the read-only vdb fails", r.out)
            r = g.run("mount -o remount,rw /mnt2")
            tap.ok(r.status != 0, "remounting vdb read-write fails", r.out)
            r = g.run("umount /mnt2; dd if=/dev/zero of=/dev/vdb bs=4096 count=1 conv=fsync")
            tap.ok(r.status != 0, "a raw write to /dev/vdb fails", r.out)

            if c:
                r = g.run("mount -t ext4 /dev/vdc /mnt && cat /mnt/c.txt"
                          " && echo qcow2-written-by-guest > /mnt/c-new.txt && sync && umount /mnt")
                tap.eq((r.status, r.out), (0, C_TEXT.strip()),
                       "vdc (qcow2) mounts, c.txt reads back, a new file is written")
            tap.eq(g.poweroff(), 0, "poweroff ends maquina with status 0")

        # The host reads back what the guest wrote.
        tap.eq(debugfs_cat(a, "/new.txt"), b"written-by-guest\n",
               "host: debugfs reads the guest's new.txt from a.img")
        dump = os.path.join(tmp, "rand.bin")
        subprocess.run([tool("debugfs"), "-R", "dump /rand.bin " + dump, a],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        host_sha = sha256_file(dump) if os.path.exists(dump) else None
        tap.ok(guest_sha and host_sha == guest_sha,
               "host: the 1 MiB file has the sha256 the guest computed",
               "guest %s host %s" % (guest_sha, host_sha))
        r = subprocess.run([tool("e2fsck"), "-fn", a], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        tap.eq(r.returncode, 0, "host: e2fsck -fn finds a.img clean",
               r.stdout.decode("utf-8", "replace"))
        tap.eq(sha256_file(b), b_sha, "host: the read-only b.img is unchanged")
        if c:
            r = subprocess.run([qemu_img, "check", c], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            tap.eq(r.returncode, 0, "host: qemu-img check passes on c.qcow2",
                   r.stdout.decode("utf-8", "replace"))
            c_out = os.path.join(tmp, "c-out.raw")
            subprocess.run([qemu_img, "convert", "-O", "raw", c, c_out], check=True)
            tap.eq(debugfs_cat(c_out, "/c-new.txt"), b"qcow2-written-by-guest\n",
                   "host: the guest's file reads back from c.qcow2")
        else:
            tap.skip("qcow2 disk", "qemu-img not installed")
    tap.done()


if __name__ == "__main__":
    main()
