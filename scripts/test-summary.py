#!/usr/bin/env python3
"""Print the closing "N passed, N failed" line over meson test logs.

A TAP test counts each of its "ok"/"not ok" lines; any other test counts
once. A TAP test that failed without reporting a failing case (crash,
timeout, missing plan) counts one extra failure so it can never hide.
"""
import json
import re
import sys

TAP_LINE = re.compile(r'^(not ok|ok)\b(.*)$')


def count_log(path):
    passed = failed = skipped = 0
    failures = []
    try:
        lines = open(path, encoding='utf-8', errors='replace').read().splitlines()
    except FileNotFoundError:
        print(f'test-summary: {path}: no test log (the suite did not run)')
        return 0, 1, 0, [path]
    for line in lines:
        if not line.strip():
            continue
        rec = json.loads(line)
        name = rec.get('name', '?')
        result = rec.get('result', 'ERROR')
        tap_pass = tap_fail = 0
        out_text = rec.get('stdout') or rec.get('stdo') or ''
        # TAP output is recognised by its plan line ("1..N").
        if re.search(r'^1\.\.\d+\s*$', out_text, re.M):
            for out in out_text.splitlines():
                m = TAP_LINE.match(out.strip())
                if not m:
                    continue
                if '# SKIP' in m.group(2).upper():
                    skipped += 1
                elif m.group(1) == 'ok':
                    tap_pass += 1
                else:
                    tap_fail += 1
                    failures.append(f'{name}:{m.group(2).strip()}')
        if tap_pass or tap_fail:
            passed += tap_pass
            failed += tap_fail
            if result not in ('OK', 'EXPECTEDFAIL') and tap_fail == 0:
                failed += 1
                failures.append(name)
        elif result in ('OK', 'EXPECTEDFAIL'):
            passed += 1
        elif result == 'SKIP':
            skipped += 1
        else:
            failed += 1
            failures.append(name)
    return passed, failed, skipped, failures


def main():
    total_p = total_f = total_s = 0
    all_failures = []
    for path in sys.argv[1:]:
        p, f, s, fl = count_log(path)
        print(f'test-summary: {path}: {p} passed, {f} failed, {s} skipped')
        total_p += p
        total_f += f
        total_s += s
        all_failures += fl
    for name in all_failures[:50]:
        print(f'FAILED: {name}')
    line = f'{total_p} passed, {total_f} failed'
    if total_s:
        line += f', {total_s} skipped'
    print(line)
    return 1 if total_f else 0


if __name__ == '__main__':
    sys.exit(main())
