#!/usr/bin/env python3
"""Boot time side by side: maquina and QEMU (qemu-system-riscv64 -M virt,
TCG) on the same default guest (same kernel, initramfs, memory, harts),
from process start to the guest's `maquina-guest: ready` line. Prints the
median, min and max of N runs each, and the ratio maquina/QEMU.

usage: bench/boot.py MAQUINA [--runs N] [--smp N]
"""
import argparse
import os
import pty
import select
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST = os.path.join(os.environ.get('MAQUINA_CACHE', os.path.join(ROOT, '.cache', 'guest')),
                     'default')
FW = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin'
MARK = b'maquina-guest: ready'


def boot_time(argv, timeout=600):
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    t0 = time.monotonic()
    buf = b''
    try:
        while time.monotonic() - t0 < timeout:
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                try:
                    buf += os.read(fd, 65536)
                except OSError:
                    break
                if MARK in buf:
                    return time.monotonic() - t0
            buf = buf[-4096:]
        raise RuntimeError('no boot marker from ' + argv[0])
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('maquina')
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--smp', type=int, default=1)
    a = ap.parse_args()
    subprocess.run([os.path.join(ROOT, 'scripts', 'guest', 'build-default.sh')], check=True,
                   stdout=subprocess.DEVNULL)
    mq = [a.maquina, 'run', '--kernel', GUEST + '/Image', '--initrd',
          GUEST + '/initramfs.cpio.gz', '--append', 'console=ttyS0', '--memory', '512M',
          '--smp', str(a.smp)]
    qemu = ['qemu-system-riscv64', '-M', 'virt', '-m', '512M', '-smp', str(a.smp),
            '-nographic', '-bios', FW, '-kernel', GUEST + '/Image', '-initrd',
            GUEST + '/initramfs.cpio.gz', '-append', 'console=ttyS0']
    res = {'maquina': [], 'qemu': []}
    for _ in range(a.runs):  # interleaved, so both see the same machine load
        res['maquina'].append(boot_time(mq))
        res['qemu'].append(boot_time(qemu))
    print(f'boot to the guest shell, {a.smp} hart(s), 512 MiB, {a.runs} runs each')
    print(f'{"":10} {"median":>8} {"min":>8} {"max":>8}')
    for k, v in res.items():
        print(f'{k:10} {statistics.median(v):7.1f}s {min(v):7.1f}s {max(v):7.1f}s')
    print(f'ratio maquina/qemu (medians): '
          f'{statistics.median(res["maquina"]) / statistics.median(res["qemu"]):.2f}')


if __name__ == '__main__':
    main()
