#!/usr/bin/env python3
"""Bad input to `maquina run`: each case must end with exit status 2 and a
single error line that names the problem (and the file, for file problems),
without running a guest.

usage: run_errors_test.py MAQUINA HELLO_ELF
"""
import os
import struct
import subprocess
import sys
import tempfile


def elf64(machine=243, segments=((0x80000000, b'\x13\x00\x00\x00'),), cls=2, endian=1):
    """A minimal ELF with the given PT_LOAD segments (vaddr = paddr)."""
    phoff, phnum = 64, len(segments)
    data_off = phoff + 56 * phnum
    hdr = b'\x7fELF' + bytes([cls, endian, 1, 0]) + bytes(8)
    hdr += struct.pack('<HHIQQQIHHHHHH', 2, machine, 1, segments[0][0], phoff, 0, 0,
                       64, 56, phnum, 64, 0, 0)
    ph = b''
    body = b''
    for addr, content in segments:
        ph += struct.pack('<IIQQQQQQ', 1, 7, data_off + len(body), addr, addr,
                          len(content), len(content), 4)
        body += content
    return hdr + ph + body


def main():
    maquina, hello = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp()

    def f(name, content):
        p = os.path.join(tmp, name)
        with open(p, 'wb') as fh:
            fh.write(content)
        return p

    text = f('notes.txt', b'hello, this is not a program\n')
    empty = f('empty.elf', b'')
    x86 = f('x86.elf', elf64(machine=62))
    elf32 = f('elf32.elf', elf64(cls=1))
    outside = f('outside.elf', elf64(segments=((0x1000, b'\x13\x00\x00\x00'),)))
    huge = f('huge.elf', elf64(segments=((0x80000000, bytes(17 << 20)),)))
    trunc = f('trunc.elf', elf64()[:70])
    missing = os.path.join(tmp, 'missing.elf')
    qcow_bad = f('bad.qcow2', b'QFI\xfb' + bytes([0, 0, 0, 9]) + bytes(504))
    disk = f('disk.img', bytes(1 << 16))

    cases = [
        ('missing file', ['--bios', missing], [missing, 'No such file']),
        ('directory', ['--bios', tmp], [tmp, 'directory']),
        ('not an ELF', ['--bios', text], [text, 'not an ELF']),
        ('empty file', ['--bios', empty], [empty]),
        ('ELF for another architecture', ['--bios', x86], [x86, 'architecture']),
        ('32-bit ELF', ['--bios', elf32], [elf32, '32-bit']),
        ('segment outside RAM', ['--bios', outside], [outside, 'outside RAM']),
        ('segment larger than RAM', ['-m', '16M', '--bios', huge], [huge]),
        ('truncated ELF', ['--bios', trunc], [trunc]),
        ('missing kernel', ['--kernel', missing], [missing]),
        ('not a kernel', ['--kernel', text], [text]),
        ('unknown option', ['--bios', hello, '--frobnicate'], ['--frobnicate']),
        ('option without value', ['--bios'], ['--bios']),
        ('nothing to boot', [], ['nothing to boot']),
        ('stray argument', ['--bios', hello, 'extra'], ['extra']),
        ('smp 0', ['--bios', hello, '--smp', '0'], ['--smp']),
        ('smp too many', ['--bios', hello, '--smp', '99'], ['--smp']),
        ('smp garbage', ['--bios', hello, '--smp', 'two'], ['--smp']),
        ('memory garbage', ['--bios', hello, '-m', '12X'], ['--memory']),
        ('memory too small', ['--bios', hello, '-m', '1M'], ['--memory']),
        ('memory too large', ['--bios', hello, '-m', '100T'], ['--memory']),
        ('memory not page multiple', ['--bios', hello, '-m', '17000001'], ['--memory']),
        ('bad console', ['--bios', hello, '--console', 'tty9'], ['--console']),
        ('unwritable console file', ['--bios', hello, '--console',
                                     'file:/nonexistent/dir/log'], ['/nonexistent/dir/log']),
        ('unwritable trace', ['--bios', hello, '--trace', '/nonexistent/t'], ['/nonexistent/t']),
        ('bad max-insns', ['--bios', hello, '--max-insns', '-5'], ['--max-insns']),
        ('initrd without kernel', ['--bios', hello, '--initrd', text], ['--initrd']),
        ('two firmwares', ['--bios', hello, '--firmware', hello], ['--bios']),
        ('missing disk', ['--bios', hello, '--disk', missing], [missing]),
        ('disk is a directory', ['--bios', hello, '--disk', tmp], [tmp]),
        ('disk without path', ['--bios', hello, '--disk', ',ro'], ['--disk']),
        ('disk bad option', ['--bios', hello, '--disk', disk + ',fast'], ['fast']),
        ('disk bad format', ['--bios', hello, '--disk', disk + ',format=vmdk'], ['vmdk']),
        ('disk serial too long', ['--bios', hello, '--disk', disk + ',serial=' + 'x' * 21],
         ['serial']),
        ('corrupt qcow2 disk', ['--bios', hello, '--disk', qcow_bad], [qcow_bad]),
        ('too many disks', ['--bios', hello] + ['--disk', disk] * 9, ['--disk']),
    ]
    print(f'1..{len(cases) + 2}')
    failed = 0
    n = 0
    for name, args, needles in cases:
        n += 1
        r = subprocess.run([maquina, 'run'] + args, capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        ok = (r.returncode == 2 and len(lines) == 1 and r.stdout == '' and
              all(x in lines[0] for x in needles))
        if not ok:
            failed += 1
            print(f'not ok {n} - {name}: status {r.returncode}, stderr {r.stderr!r}, '
                  f'stdout {r.stdout[:200]!r}')
        else:
            print(f'ok {n} - {name}: {lines[0]}')
    # The good program still works, and --help documents every flag.
    n += 1
    r = subprocess.run([maquina, 'run', '--bios', hello], capture_output=True, text=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    ok = r.returncode == 0 and 'Hello from maquina!' in r.stdout
    failed += not ok
    print(f'{"ok" if ok else "not ok"} {n} - hello.elf runs and exits 0')
    n += 1
    r = subprocess.run([maquina, 'run', '--help'], capture_output=True, text=True, timeout=30)
    flags = ['--bios', '--firmware', '--kernel', '--initrd', '--append', '--memory', '--smp',
             '--console', '--trace', '--max-insns']
    ok = r.returncode == 0 and all(fl in r.stdout for fl in flags) and 'Example' in r.stdout
    failed += not ok
    print(f'{"ok" if ok else "not ok"} {n} - run --help documents every flag with examples')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
