#!/usr/bin/env python3
"""Compare our expansion of every 16-bit RVC encoding with GNU binutils.

objdump disassembles each compressed instruction to the text of its base
equivalent; it must equal objdump's text of our 32-bit expansion. Known
differences are normalised below: aliases objdump picks differently for
the two forms, and HINT encodings (rd = x0 and the like) that objdump
names by their C mnemonic. Encodings binutils rejects must be illegal for
us too (expansion 0, printed as unimp). c.addi16sp with a zero immediate
is reserved by the specification but accepted by binutils: we follow the
specification.

usage: rvc_oracle_test.py RVC_DUMP OBJDUMP
"""
import re
import subprocess
import sys
import tempfile
import os

SPEC_RESERVED_BINUTILS_ACCEPTS = {0x6101}  # c.addi16sp sp, 0

NORMALISE = [
    (r'^add (x\d+),(x\d+),0$', r'mv \1,\2'),       # c.addi rd, 0 (hint)
    (r'^mv (x\d+),(x\d+)$', r'add \1,x0,\2'),      # c.mv is add rd, x0, rs2
    (r'^c\.nop (-?\w+)$', r'li x0,\1'),            # c.nop imm (hint)
    (r'^c\.li x0,0$', r'nop'),
    (r'^c\.li x0,(-?\w+)$', r'li x0,\1'),
    (r'^c\.lui x0,(\w+)$', r'lui x0,\1'),
    (r'^c\.slli x0,(\w+)$', r'sll x0,x0,\1'),
    (r'^c\.slli64 (x\d+)$', r'sll \1,\1,0x0'),
    (r'^c\.srli64 (x\d+)$', r'srl \1,\1,0x0'),
    (r'^c\.srai64 (x\d+)$', r'sra \1,\1,0x0'),
    (r'^c\.mv x0,(x\d+)$', r'add x0,x0,\1'),
    (r'^c\.add x0,(x\d+)$', r'add x0,x0,\1'),
    (r'^\.2byte .*$', r'unimp'),
]


def disasm(objdump, path):
    out = subprocess.run([objdump, '-D', '-z', '-b', 'binary', '-m', 'riscv:rv64',
                          '-M', 'numeric', path], check=True, capture_output=True,
                         text=True).stdout
    texts = {}
    for line in out.splitlines():
        m = re.match(r'\s*([0-9a-f]+):\s+[0-9a-f]+\s+(.*)$', line)
        if m and int(m.group(1), 16) % 4 == 0:
            texts[int(m.group(1), 16) // 4] = re.sub(r'\s+', ' ',
                                                    m.group(2).split('#')[0].strip())
    return texts


def normalise(t):
    for pat, rep in NORMALISE:
        t = re.sub(pat, rep, t)
    return t


def main():
    dump, objdump = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as d:
        c16, c32 = os.path.join(d, 'c16.bin'), os.path.join(d, 'c32.bin')
        subprocess.run([dump, c16, c32], check=True)
        a, b = disasm(objdump, c16), disasm(objdump, c32)
    vals = [v for v in range(65536) if v & 3 != 3]
    bad = []
    legal = 0
    for i, v in enumerate(vals):
        ta, tb = normalise(a.get(i, '?')), normalise(b.get(i, '?'))
        if v in SPEC_RESERVED_BINUTILS_ACCEPTS:
            ta = 'unimp'
        if ta != 'unimp':
            legal += 1
        if ta != tb:
            bad.append(f'0x{v:04x}: binutils "{ta}", maquina "{tb}"')
    print('1..1')
    print(f'# {len(vals)} encodings, {legal} legal, {len(vals) - legal} reserved')
    for line in bad[:40]:
        print('# ' + line)
    print(('ok' if not bad else 'not ok') +
          f' 1 - every RVC encoding expands as binutils decodes it ({len(bad)} mismatches)')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
