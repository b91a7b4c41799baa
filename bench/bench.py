#!/usr/bin/env python3
"""maquina's benchmark suite: the same guest on maquina and on QEMU
(qemu-system-riscv64 -M virt, TCG), back to back, N runs each, and the
guest CPU program natively on the host. Prints a table of medians with
min/max and the ratio maquina/QEMU; with --docs also writes the generated
section of docs/PERFORMANCE.md and docs/perf-chart.png (gnuplot).

usage: bench/bench.py [--maquina PATH] [--runs N] [--quick] [--only W,W]
                      [--docs] [--out DIR]
workloads: boot1 boot2 cpu native disk net idle snapshot (default: all)
environment: BENCH_RUNS (default for --runs), MAQUINA_CACHE (guest cache),
             QEMU (default qemu-system-riscv64)

Standard library only. See bench/README.md for what each workload does.
"""
import argparse
import atexit
import datetime
import gzip
import json
import os
import platform
import pty
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, 'bench')
CACHE = os.environ.get('MAQUINA_CACHE', os.path.join(ROOT, '.cache', 'guest'))
GUEST = os.path.join(CACHE, 'default')
FW = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin'
QEMU = os.environ.get('QEMU', 'qemu-system-riscv64')
MEM_MIB = 512
CLK_TCK = os.sysconf('SC_CLK_TCK')

ALL = ['boot1', 'boot2', 'cpu', 'native', 'disk', 'net', 'idle', 'snapshot']

# --- child processes: every one is killed on every exit path ---------------

LIVE = set()


def kill_all():
    for pid in list(LIVE):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
        LIVE.discard(pid)


atexit.register(kill_all)


def on_signal(sig, _frame):
    kill_all()
    sys.stderr.write('bench: stopped by signal %d\n' % sig)
    os._exit(128 + sig)


for _s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(_s, on_signal)


class Failed(Exception):
    pass


class Guest:
    """One emulator process on a pty: console lines with host timestamps
    (seconds since the process was started), the console log in a file."""

    def __init__(self, argv, log):
        self.argv = argv
        self.log = open(log, 'wb')
        self.log.write(('$ ' + ' '.join(argv) + '\n').encode())
        self.buf = b''
        self.lines = []          # (time, text)
        self.status = None
        self.t_exit = None
        self.t0 = time.monotonic()
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        LIVE.add(pid)

    def _poll(self, timeout):
        if self.fd is None:
            return False
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b''
        t = time.monotonic() - self.t0
        if not data:
            self._reap(t)
            return False
        self.buf += data
        while b'\n' in self.buf:
            line, self.buf = self.buf.split(b'\n', 1)
            text = line.decode('utf-8', 'replace').strip('\r\n ')
            self.log.write(b'[%8.3f] %s\n' % (t, text.encode()))
            self.lines.append((t, text))
        return True

    def _reap(self, t):
        os.close(self.fd)
        self.fd = None
        _, st = os.waitpid(self.pid, 0)
        LIVE.discard(self.pid)
        self.t_exit = t
        self.status = os.waitstatus_to_exitcode(st)

    def expect(self, pattern, timeout):
        """Wait for a console line matching pattern: (time, match)."""
        rx = re.compile(pattern)
        seen = 0
        deadline = time.monotonic() + timeout
        while True:
            for t, line in self.lines[seen:]:
                m = rx.search(line)
                if m:
                    self.lines = self.lines[self.lines.index((t, line)) + 1:]
                    return t, m
            seen = len(self.lines)
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failed('timeout (%ds) waiting for /%s/' % (timeout, pattern))
            if not self._poll(min(left, 1.0)):
                # a last partial line
                if self.buf:
                    self.lines.append((self.t_exit, self.buf.decode('utf-8', 'replace')))
                    self.buf = b''
                    continue
                raise Failed('exited (status %s) before /%s/' % (self.status, pattern))
            for t, line in self.lines[seen:]:
                if 'FAILED' in line or 'Kernel panic' in line:
                    raise Failed('guest: ' + line)

    def send(self, text):
        os.write(self.fd, text.encode())

    def wait_exit(self, timeout):
        deadline = time.monotonic() + timeout
        while self.fd is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failed('timeout (%ds) waiting for the emulator to exit' % timeout)
            self._poll(min(left, 1.0))
        return self.t_exit

    def close(self):
        if self.fd is not None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
            self._reap(time.monotonic() - self.t0)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def proc_cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK   # utime + stime


def proc_status_kib(pid, key):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    raise Failed('no %s in /proc/%d/status' % (key, pid))


# --- the guest -------------------------------------------------------------

def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def prepare(work):
    """Compile guestbench (riscv64 static and host) and make the benchmark
    initramfs: the default initramfs + a gzip'd cpio with /bench/init and
    /bench/guestbench (the kernel unpacks concatenated archives in order)."""
    if not (os.path.exists(GUEST + '/Image') and os.path.exists(GUEST + '/initramfs.cpio.gz')):
        run([os.path.join(ROOT, 'scripts', 'guest', 'build-default.sh')],
            stdout=subprocess.DEVNULL)
    src = os.path.join(BENCH, 'guestbench', 'guestbench.c')
    flags = ['-O2', '-Wall', '-Wextra', '-Werror']
    run(['riscv64-linux-gnu-gcc', '-static'] + flags + ['-o', work + '/guestbench-riscv64',
                                                       src, '-lm'])
    run(['gcc'] + flags + ['-o', work + '/guestbench-host', src, '-lm'])
    spec = work + '/bench.spec'
    with open(spec, 'w') as f:
        f.write('dir /bench 755 0 0\n')
        f.write('file /bench/init %s 755 0 0\n' % os.path.join(BENCH, 'guest', 'init'))
        f.write('file /bench/guestbench %s/guestbench-riscv64 755 0 0\n' % work)
    run([sys.executable, os.path.join(ROOT, 'scripts', 'guest', 'guest-tool.py'), 'cpio', spec,
         work + '/bench.cpio'])
    initrd = work + '/initramfs-bench.cpio.gz'
    with open(initrd + '.tmp', 'wb') as out:
        with open(GUEST + '/initramfs.cpio.gz', 'rb') as f:
            shutil.copyfileobj(f, out)
        with open(work + '/bench.cpio', 'rb') as f:
            out.write(gzip.compress(f.read(), 9, mtime=0))
    os.replace(initrd + '.tmp', initrd)
    return initrd


class Emu:
    """Command lines for one emulator; disks are (path, format, serial)."""

    def __init__(self, name, initrd, maquina=None):
        self.name, self.initrd, self.maquina = name, initrd, maquina

    def argv(self, append, smp=1, disks=(), net=False, monitor=None):
        k = GUEST + '/Image'
        if self.name == 'maquina':
            a = [self.maquina, 'run', '--kernel', k, '--initrd', self.initrd,
                 '--append', append, '--memory', '%dM' % MEM_MIB, '--smp', str(smp)]
            for path, fmt, serial in disks:
                a += ['--disk', '%s,format=%s,serial=%s' % (path, fmt, serial)]
            if net:
                a += ['--net', 'user']
            return a
        a = [QEMU, '-M', 'virt', '-m', '%dM' % MEM_MIB, '-smp', str(smp), '-nographic',
             '-no-reboot', '-bios', FW, '-kernel', k, '-initrd', self.initrd,
             '-append', append,
             # maquina always has a virtio-rng; give QEMU the same devices
             '-object', 'rng-random,filename=/dev/urandom,id=rng0',
             '-device', 'virtio-rng-device,rng=rng0']
        for i, (path, fmt, serial) in enumerate(disks):
            a += ['-drive', 'file=%s,if=none,format=%s,id=d%d' % (path, fmt, i),
                  '-device', 'virtio-blk-device,drive=d%d,serial=%s' % (i, serial)]
        if net:
            a += ['-netdev', 'user,id=n0', '-device', 'virtio-net-device,netdev=n0']
        if monitor:
            a += ['-monitor', 'unix:%s,server=on,wait=off' % monitor]
        return a


# --- workloads: each returns {metric: value} for one run on one emulator ----

class Ctx:
    def __init__(self, a, work, logdir):
        self.quick, self.work, self.logdir = a.quick, work, logdir
        self.scale = 8 if a.quick else 1
        self.disk_mib = 16 if a.quick else 128
        self.disk_ops = 400 if a.quick else 2000
        self.net_mib = 4 if a.quick else 32
        self.idle_s = 5 if a.quick else 30
        self.boot_timeout = 300
        self.seq = 0

    def log(self, emu, wl):
        self.seq += 1
        return os.path.join(self.logdir, '%03d-%s-%s.log' % (self.seq, wl, emu.name))


CMDLINE = 'console=ttyS0 rdinit=/bench/init'


def finish(g, res, ctx):
    """The common end: the guest's meminfo line, the host's view of peak RSS,
    then let the guest power off and wait for the process to end."""
    t, m = g.expect(r'maquina-bench: meminfo MemTotal (\d+) kB MemFree (\d+) kB', 120)
    hwm = proc_status_kib(g.pid, 'VmHWM')
    used = MEM_MIB * 1024 - int(m.group(2))
    res['_rss'] = hwm / 1024
    res['_guest_used'] = used / 1024
    g.send('\n')
    g.wait_exit(60)
    if g.status not in (0, None):
        raise Failed('exit status %s' % g.status)
    return res


def wl_boot(ctx, emu, smp):
    name = 'boot%d' % smp
    with Guest(emu.argv(CMDLINE + ' bench=boot', smp=smp), ctx.log(emu, name)) as g:
        t_user, _ = g.expect(r'maquina-bench: userspace', ctx.boot_timeout)
        t_exit = g.wait_exit(60)
        if g.status != 0:
            raise Failed('exit status %s' % g.status)
        return {'%s-userspace' % name: t_user, '%s-exit' % name: t_exit}


GB = r'^GB (\S+) (\S+) (\S+) (\S+)'


# the guest program's check values: {name: {emulator: set of values}}
CHECKS = {}


def read_gb(g, end, timeout, who=None):
    res = {}
    deadline = time.monotonic() + timeout
    while True:
        t, m = g.expect(r'^GB(-END)? ?(\S+) ?(\S*) ?(\S*) ?(\S*)',
                        max(1, deadline - time.monotonic()))
        if m.group(1):
            return t, res
        res[m.group(2)] = float(m.group(3))
        if who and m.group(5).strip('0'):
            CHECKS.setdefault(m.group(2), {}).setdefault(who, set()).add(m.group(5))


def check_mismatches():
    """Kernels whose results differ between maquina, QEMU and native."""
    bad = []
    for name, per in sorted(CHECKS.items()):
        vals = set().union(*per.values())
        if len(vals) > 1:
            bad.append('%s: %s' % (name, ', '.join('%s %s' % (e, '/'.join(sorted(v)))
                                                    for e, v in sorted(per.items()))))
    return bad


def wl_cpu(ctx, emu):
    with Guest(emu.argv(CMDLINE + ' quiet bench=cpu bench.scale=%d' % ctx.scale),
               ctx.log(emu, 'cpu')) as g:
        t_start, _ = g.expect(r'^GB-START cpu', ctx.boot_timeout)
        t_end, res = read_gb(g, 'cpu', 1800, emu.name)
        res = {'cpu-' + k: v for k, v in res.items()}
        res['cpu-total-hostclock'] = t_end - t_start
        return finish(g, res, ctx)


def wl_native(ctx, _emu):
    out = subprocess.run([ctx.work + '/guestbench-host', 'cpu', str(ctx.scale)], check=True,
                         stdout=subprocess.PIPE, timeout=600).stdout.decode()
    res = {}
    for m in re.finditer(r'^GB (\S+) (\S+) (\S+) (\S+)', out, re.M):
        res['cpu-' + m.group(1)] = float(m.group(2))
        if m.group(4).strip('0'):
            CHECKS.setdefault(m.group(1), {}).setdefault('native', set()).add(m.group(4))
    return res


def wl_disk(ctx, emu):
    raw = os.path.join(ctx.work, 'disk.raw')
    qcow = os.path.join(ctx.work, 'disk.qcow2')
    size = (ctx.disk_mib + 16) << 20
    for p in (raw, qcow):
        if os.path.exists(p):
            os.unlink(p)
    with open(raw, 'wb') as f:
        f.truncate(size)
    run(['qemu-img', 'create', '-q', '-f', 'qcow2', qcow, str(size)])
    disks = [(raw, 'raw', 'raw'), (qcow, 'qcow2', 'qcow2')]
    try:
        with Guest(emu.argv(CMDLINE + ' quiet bench=disk bench.mib=%d bench.ops=%d'
                            % (ctx.disk_mib, ctx.disk_ops), disks=disks),
                   ctx.log(emu, 'disk')) as g:
            res = {}
            for _ in disks:
                g.expect(r'^GB-START disk', ctx.boot_timeout)
                _, r = read_gb(g, 'disk', 900)
                res.update(r)
            if len(res) != 8:
                raise Failed('expected 8 disk results, got %s' % sorted(res))
            return finish(g, res, ctx)
    finally:
        for p in (raw, qcow):
            if os.path.exists(p):
                os.unlink(p)


class Sink(threading.Thread):
    """A host TCP listener on 127.0.0.1 (the guest's 10.0.2.2): counts the
    bytes until EOF, answers with the count, closes."""

    def __init__(self):
        super().__init__(daemon=True)
        self.ls = socket.socket()
        self.ls.bind(('127.0.0.1', 0))
        self.ls.listen(1)
        self.ls.settimeout(600)
        self.port = self.ls.getsockname()[1]
        self.bytes, self.seconds, self.error = 0, None, None

    def run(self):
        try:
            c, _ = self.ls.accept()
            c.settimeout(300)
            t0 = None
            while True:
                d = c.recv(1 << 20)
                if t0 is None:
                    t0 = time.monotonic()
                if not d:
                    break
                self.bytes += len(d)
            self.seconds = time.monotonic() - t0
            c.sendall(b'%d\n' % self.bytes)
            c.close()
        except OSError as e:
            self.error = e
        finally:
            self.ls.close()


def wl_net(ctx, emu):
    sink = Sink()
    sink.start()
    try:
        with Guest(emu.argv(CMDLINE + ' quiet bench=net bench.port=%d bench.mib=%d'
                            % (sink.port, ctx.net_mib), net=True),
                   ctx.log(emu, 'net')) as g:
            g.expect(r'^GB-START send', ctx.boot_timeout)
            _, res = read_gb(g, 'send', 600)
            sink.join(30)
            if sink.bytes != ctx.net_mib << 20:
                raise Failed('host received %d bytes of %d (%s)'
                             % (sink.bytes, ctx.net_mib << 20, sink.error))
            res['net-send-hostclock'] = ctx.net_mib / sink.seconds
            return finish(g, res, ctx)
    finally:
        try:
            sink.ls.close()
        except OSError:
            pass


def wl_idle(ctx, emu):
    with Guest(emu.argv(CMDLINE + ' quiet bench=idle'), ctx.log(emu, 'idle')) as g:
        g.expect(r'maquina-bench: idle', ctx.boot_timeout)
        time.sleep(2)                       # let the boot's last work settle
        c0, t0 = proc_cpu_seconds(g.pid), time.monotonic()
        time.sleep(ctx.idle_s)
        c1, t1 = proc_cpu_seconds(g.pid), time.monotonic()
        g.send('\n')
        g.expect(r'maquina-bench: awake', 60)
        res = {'idle-cpu': 100.0 * (c1 - c0) / (t1 - t0)}
        finish(g, res, ctx)
        res['idle-rss'] = res['_rss']
        res['idle-overhead'] = res['_rss'] - res['_guest_used']
        return res


def maquina_snapshot_help(maquina):
    try:
        p = subprocess.run([maquina, 'snapshot', '--help'], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout.decode('utf-8', 'replace') if p.returncode == 0 else None


class Monitor:
    """QEMU's HMP monitor on a Unix socket."""

    def __init__(self, path, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > deadline:
                    raise Failed('no QEMU monitor at ' + path)
                time.sleep(0.2)
        self.s.settimeout(300)
        self.read_prompt()

    def read_prompt(self):
        buf = b''
        while not buf.endswith(b'(qemu) '):
            d = self.s.recv(4096)
            if not d:
                raise Failed('QEMU monitor closed')
            buf += d
        return buf.decode('utf-8', 'replace')

    def command(self, cmd):
        t0 = time.monotonic()
        self.s.sendall(cmd.encode() + b'\n')
        out = self.read_prompt()
        t = time.monotonic() - t0
        body = out.split('\n', 1)[1] if '\n' in out else ''
        if re.search(r'[Ee]rror|not|fail', body.replace('(qemu) ', '')):
            raise Failed('%s: %s' % (cmd, body.strip()))
        return t

    def close(self):
        self.s.close()


def wl_snapshot(ctx, emu):
    disk = os.path.join(ctx.work, 'snap.qcow2')
    vm = os.path.join(ctx.work, 'snap.vm')
    for p in (disk, vm):
        if os.path.exists(p):
            os.unlink(p)
    append = CMDLINE + ' quiet bench=idle'
    try:
        if emu.name == 'qemu':
            run(['qemu-img', 'create', '-q', '-f', 'qcow2', disk, '64M'])
            mon = os.path.join(ctx.work, 'qemu-monitor.sock')
            if os.path.exists(mon):
                os.unlink(mon)
            with Guest(emu.argv(append, disks=[(disk, 'qcow2', 'snap')], monitor=mon),
                       ctx.log(emu, 'snapshot')) as g:
                g.expect(r'maquina-bench: idle', ctx.boot_timeout)
                m = Monitor(mon)
                try:
                    res = {'snapshot-save': m.command('savevm bench'),
                           'snapshot-restore': m.command('loadvm bench')}
                finally:
                    m.close()
                g.send('\n')                # the restored guest still answers
                g.expect(r'maquina-bench: awake', 60)
                finish(g, res, ctx)
                return res
        helptext = maquina_snapshot_help(emu.maquina)
        if helptext is None:
            raise NotAvailable('`maquina snapshot --help` fails')
        run([emu.maquina, 'create', vm, '--disk-size', '64M', '--memory', '%dM' % MEM_MIB,
             '--kernel', GUEST + '/Image', '--initrd', emu.initrd, '--append', append],
            stdout=subprocess.DEVNULL)
        with Guest([emu.maquina, 'run', vm], ctx.log(emu, 'snapshot')) as g:
            g.expect(r'maquina-bench: idle', ctx.boot_timeout)
            res = {}
            for key, verb in (('snapshot-save', 'save'), ('snapshot-restore', 'load')):
                t0 = time.monotonic()
                p = subprocess.run([emu.maquina, 'snapshot', vm, verb, 'bench'],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
                if p.returncode != 0:
                    raise Failed('maquina snapshot %s: %s' % (verb, p.stdout.decode().strip()))
                res[key] = time.monotonic() - t0
            g.send('\n')
            g.expect(r'maquina-bench: awake', 60)
            finish(g, res, ctx)
            return res
    finally:
        for p in (disk, vm):
            if os.path.exists(p):
                os.unlink(p)


class NotAvailable(Exception):
    pass


# --- the table ---------------------------------------------------------------

# metric -> (label, unit, better): better is 'low' or 'high'
def describe(metric):
    m = re.match(r'boot(\d)-(userspace|exit)$', metric)
    if m:
        what = 'first userspace line' if m.group(2) == 'userspace' else 'poweroff (exit)'
        return 'boot, %s hart%s: start to %s' % (m.group(1), 's' if m.group(1) != '1' else '',
                                                 what), 's', 'low'
    if metric.startswith('cpu-chase-'):
        return 'cpu: pointer chase %s' % metric[10:], 'ns/load', 'low'
    if metric.startswith('cpu-'):
        n = metric[4:]
        labels = {'total': 'cpu: whole program with setup (guest clock)',
                  'total-hostclock': 'cpu: whole program with setup (host clock)'}
        return labels.get(n, 'cpu: ' + n), 's', 'low'
    m = re.match(r'disk-(\w+)-(seq|rand)(read|write)-(\w+)$', metric)
    if m:
        unit = 'MiB/s' if m.group(2) == 'seq' else 'IOPS'
        return 'disk %s: %s %s %s' % (m.group(1), 'sequential' if m.group(2) == 'seq'
                                      else 'random', m.group(3), m.group(4)), unit, 'high'
    if metric == 'net-send':
        return 'net: guest to host TCP (guest clock)', 'MiB/s', 'high'
    if metric == 'net-send-hostclock':
        return 'net: guest to host TCP (host clock)', 'MiB/s', 'high'
    if metric == 'idle-cpu':
        return 'idle: host CPU of an idle guest', '% of a core', 'low'
    if metric == 'idle-rss':
        return 'memory: peak RSS (idle guest)', 'MiB', 'low'
    if metric == 'idle-overhead':
        return 'memory: peak RSS - guest RAM in use', 'MiB', 'low'
    if metric == 'snapshot-save':
        return 'snapshot: save (idle guest)', 's', 'low'
    if metric == 'snapshot-restore':
        return 'snapshot: restore (idle guest)', 's', 'low'
    return metric, '', 'low'


def fmt(v):
    if v is None:
        return '-'
    if abs(v) >= 100:
        return '%.0f' % v
    if abs(v) >= 10:
        return '%.1f' % v
    if abs(v) >= 1:
        return '%.2f' % v
    return '%.3g' % v


def summarize(results, notes):
    """rows: (metric, label, unit, better, {emu: (median, min, max, n)})"""
    metrics = []
    for emu in ('maquina', 'qemu', 'native'):
        for mt in results.get(emu, {}):
            if not mt.startswith('_') and mt not in metrics:
                metrics.append(mt)
    def order(mt):
        w = mt.split('-')[0]
        return ALL.index(w) if w in ALL else len(ALL)
    metrics.sort(key=order)     # stable: the guest program's order within a workload
    rows = []
    for mt in metrics:
        label, unit, better = describe(mt)
        cols = {}
        for emu in ('maquina', 'qemu', 'native'):
            v = results.get(emu, {}).get(mt, [])
            if v:
                cols[emu] = (statistics.median(v), min(v), max(v), len(v))
        rows.append((mt, label, unit, better, cols))
    return rows


def ratio(cols, a, b):
    if a in cols and b in cols and cols[b][0]:
        return cols[a][0] / cols[b][0]
    return None


def table_text(rows, notes):
    head = ['workload', 'unit', 'maquina med [min-max]', 'QEMU med [min-max]',
            'maquina/QEMU', 'native', 'maquina/native', 'QEMU/native']
    out = []
    for mt, label, unit, better, cols in rows:
        def cell(e):
            if e not in cols:
                return notes.get((mt.split('-')[0], e), '-')
            med, lo, hi, n = cols[e]
            return '%s [%s-%s]' % (fmt(med), fmt(lo), fmt(hi)) if n > 1 else fmt(med)
        r = ratio(cols, 'maquina', 'qemu')
        out.append([label, unit + (' (lower is better)' if better == 'low' else
                                   ' (higher is better)'),
                    cell('maquina'), cell('qemu'), fmt(r) if r else '-',
                    fmt(cols['native'][0]) if 'native' in cols else '',
                    fmt(ratio(cols, 'maquina', 'native')) if 'native' in cols else '',
                    fmt(ratio(cols, 'qemu', 'native')) if 'native' in cols else ''])
    return head, out


def print_table(head, body):
    w = [max(len(str(r[i])) for r in [head] + body) for i in range(len(head))]
    for r in [head] + body:
        print('  '.join(str(c).ljust(w[i]) for i, c in enumerate(r)).rstrip())


def md_table(head, body):
    lines = ['| ' + ' | '.join(head) + ' |', '|' + ' --- |' * len(head)]
    for r in body:
        lines.append('| ' + ' | '.join(str(c) for c in r) + ' |')
    return '\n'.join(lines)


def machine_description():
    info, cores = {}, 0
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                k, _, v = line.partition(':')
                k = k.strip()
                if k == 'processor':
                    cores += 1
                info.setdefault(k, v.strip())
    except OSError:
        pass
    model = info.get('model name', '?')
    if 'cpu MHz' in info:
        model += ' at %.0f MHz' % float(info['cpu MHz'])
    if 'cache size' in info:
        model += ', %s cache' % info['cache size']
    if 'hypervisor' in info.get('flags', '').split():
        model += ' (a virtual machine)'
    mem = '?'
    try:
        with open('/proc/meminfo') as f:
            mem = '%.0f GiB' % (int(f.readline().split()[1]) / 1048576)
    except OSError:
        pass
    osname = '?'
    try:
        with open('/etc/os-release') as f:
            for line in f:
                if line.startswith('PRETTY_NAME='):
                    osname = line.split('=', 1)[1].strip().strip('"')
    except OSError:
        pass
    load = open('/proc/loadavg').read().split()[:3]
    return '%s, %d logical CPUs, %s RAM, %s, kernel %s; load average at the start %s' % (
        model, cores, mem, osname, platform.release(), ' '.join(load))


def versions(maquina):
    q = subprocess.run([QEMU, '--version'], stdout=subprocess.PIPE).stdout.decode().split('\n')[0]
    bt = '?'
    d = os.path.dirname(os.path.realpath(maquina))
    while d != '/' and not os.path.isdir(os.path.join(d, 'meson-info')):
        d = os.path.dirname(d)
    info = os.path.join(d, 'meson-info', 'intro-buildoptions.json')
    try:
        for o in json.load(open(info)):
            if o['name'] == 'buildtype':
                bt = o['value']
    except (OSError, ValueError):
        pass
    rev = subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
    gcc = subprocess.run(['riscv64-linux-gnu-gcc', '--version'],
                         stdout=subprocess.PIPE).stdout.decode().split('\n')[0]
    krel = '?'
    try:
        for line in open(GUEST + '/manifest.txt'):
            if line.startswith('kernel-release '):
                krel = line.split()[1]
    except OSError:
        pass
    return {'qemu': q, 'buildtype': bt, 'rev': rev or '?', 'cross-gcc': gcc, 'kernel': krel}


def chart(rows, png, work):
    """Bars: how many times the QEMU figure maquina's is (time: maquina/QEMU,
    throughput: QEMU/maquina), so higher means maquina is worse."""
    data = os.path.join(work, 'chart.dat')
    n = 0
    with open(data, 'w') as f:
        for mt, label, unit, better, cols in rows:
            r = ratio(cols, 'maquina', 'qemu')
            if r is None or mt.endswith('hostclock') or mt in ('cpu-total',):
                continue
            if better == 'high':
                r = 1 / r
            f.write('"%s" %.4f\n' % (label.replace('"', "'"), r))
            n += 1
    if n == 0:
        return False
    gp = os.path.join(work, 'chart.gp')
    with open(gp, 'w') as f:
        f.write('''set terminal pngcairo size 1100,%d font "sans,10"
set output "%s"
set title "maquina cost relative to QEMU TCG (1 = same; above 1 = maquina slower or bigger)"
set style fill solid 0.8
set boxwidth 0.7
set yrange [*:*] reverse
set logscale x 2
set ytics nomirror
set grid xtics
set xlabel "maquina / QEMU (log scale)"
unset key
set offsets 0,0,0.5,0.5
plot "%s" using (1):0:(1):($2):($0-0.35):($0+0.35):ytic(1) with boxxyerror lc rgb "#3070b0", \\
     "" using ($2):0:(sprintf("%%.2f", $2)) with labels left offset 0.5,0
''' % (120 + 26 * n, png, data))
    subprocess.run(['gnuplot', gp], check=True, timeout=60)
    return True


BEGIN = '<!-- BEGIN generated by bench/bench.py: do not edit by hand -->'
END = '<!-- END generated by bench/bench.py -->'


def write_docs(md_path, section):
    text = open(md_path).read() if os.path.exists(md_path) else '# Performance\n\n'
    block = BEGIN + '\n' + section.rstrip() + '\n' + END
    if BEGIN in text and END in text:
        pre = text.split(BEGIN)[0]
        post = text.split(END, 1)[1]
        text = pre + block + post
    else:
        head, _, rest = text.partition('\n\n')
        text = head + '\n\n' + block + '\n\n' + rest
    with open(md_path + '.tmp', 'w') as f:
        f.write(text)
    os.replace(md_path + '.tmp', md_path)


# --- main ----------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--maquina', default=os.path.join(ROOT, 'build', 'src', 'cli', 'maquina'))
    ap.add_argument('--runs', type=int, default=int(os.environ.get('BENCH_RUNS', '3')))
    ap.add_argument('--quick', action='store_true',
                    help='small workloads (1/8 size, 5 s idle), 1 run unless --runs')
    ap.add_argument('--only', default=','.join(ALL), help='comma-separated: ' + ' '.join(ALL))
    ap.add_argument('--emus', default='maquina,qemu',
                    help='which emulators to run: maquina,qemu (default both)')
    ap.add_argument('--docs', action='store_true',
                    help='write docs/PERFORMANCE.md (generated section) and docs/perf-chart.png')
    ap.add_argument('--out', default=os.path.join(ROOT, '.cache', 'bench'),
                    help='work directory: binaries, initramfs, logs, results')
    a = ap.parse_args()
    if a.quick and 'BENCH_RUNS' not in os.environ and '--runs' not in sys.argv:
        a.runs = 1
    only = [w for w in a.only.split(',') if w]
    for w in only:
        if w not in ALL:
            ap.error('unknown workload %s' % w)
    if not os.access(a.maquina, os.X_OK):
        ap.error('%s is not built (make)' % a.maquina)
    a.maquina = os.path.abspath(a.maquina)
    work = os.path.abspath(a.out)
    os.makedirs(work, exist_ok=True)
    stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S')
    logdir = os.path.join(work, 'logs', stamp)
    os.makedirs(logdir)
    started = datetime.datetime.now(datetime.timezone.utc)
    machine = machine_description()
    initrd = prepare(work)
    ver = versions(a.maquina)
    if ver['buildtype'] not in ('release', 'debugoptimized', 'plain', 'minsize'):
        print('bench: warning: maquina build type is %s (not optimized)' % ver['buildtype'])
    ctx = Ctx(a, work, logdir)
    emus = [e for e in (Emu('maquina', initrd, a.maquina), Emu('qemu', initrd))
            if e.name in a.emus.split(',')]
    funcs = {'boot1': lambda c, e: wl_boot(c, e, 1), 'boot2': lambda c, e: wl_boot(c, e, 2),
             'cpu': wl_cpu, 'disk': wl_disk, 'net': wl_net, 'idle': wl_idle,
             'snapshot': wl_snapshot}
    results = {'maquina': {}, 'qemu': {}, 'native': {}}
    notes = {}
    retried = []
    print('bench: %d run(s)%s, logs in %s' % (a.runs, ' (quick)' if a.quick else '', logdir))
    for i in range(a.runs):
        for w in only:
            if w == 'native':
                order = [None]
            else:
                order = emus if i % 2 == 0 else emus[::-1]   # alternate who goes first
            for emu in order:
                who = emu.name if emu else 'native'
                if (w, who) in notes and notes[(w, who)] == 'not available':
                    continue
                t0 = time.monotonic()
                res = None
                for attempt in (1, 2):     # one retry: the machine is shared
                    try:
                        res = (wl_native(ctx, None) if w == 'native' else funcs[w](ctx, emu))
                        break
                    except NotAvailable as e:
                        notes[(w, who)] = 'not available'
                        print('bench: run %d %-8s %-7s not available: %s' % (i + 1, w, who, e))
                        break
                    except (Failed, subprocess.SubprocessError, OSError) as e:
                        print('bench: run %d %-8s %-7s FAILED%s: %s' % (
                            i + 1, w, who, ' (retrying once)' if attempt == 1 else '', e))
                        retried.append('%s/%s run %d: %s' % (w, who, i + 1, e))
                        if attempt == 2:
                            notes[(w, who)] = 'failed'
                if res is None:
                    continue
                for k, v in res.items():
                    results[who].setdefault(k, []).append(v)
                print('bench: run %d %-8s %-7s %5.1fs  %s' % (
                    i + 1, w, who, time.monotonic() - t0,
                    ' '.join('%s=%s' % (k, fmt(v)) for k, v in res.items()
                             if not k.startswith('_'))))
                sys.stdout.flush()
    for emu in results:
        results[emu].pop('_rss', None)
        results[emu].pop('_guest_used', None)
    rows = summarize(results, notes)
    head, body = table_text(rows, notes)
    for (w, who), n in sorted(notes.items()):
        if not any(w == r[0].split('-')[0] for r in rows):
            label = {'snapshot': 'snapshot: save/restore', 'boot1': 'boot, 1 hart',
                     'boot2': 'boot, 2 harts'}.get(w, w)
            body.append([label, '', n if who == 'maquina' else '-',
                         n if who == 'qemu' else '-', '-', '', '', ''])
    print()
    print_table(head, body)
    mismatches = check_mismatches()
    for b in mismatches:
        print('bench: WARNING: the guest program computed different results: ' + b)
    finished = datetime.datetime.now(datetime.timezone.utc)
    cmd = ('BENCH_RUNS=%d make bench' % a.runs) if a.docs and not a.quick else 'python3 bench/bench.py ' + ' '.join(
        sys.argv[1:])
    with open(os.path.join(work, 'results-%s.json' % stamp), 'w') as f:
        json.dump({'results': results, 'notes': {'%s/%s' % k: v for k, v in notes.items()},
                   'machine': machine, 'versions': ver, 'runs': a.runs, 'quick': a.quick,
                   'started': started.isoformat(), 'finished': finished.isoformat()}, f, indent=1)
    if a.docs:
        png = os.path.join(ROOT, 'docs', 'perf-chart.png')
        have_chart = chart(rows, png, work)
        section = docs_section(head, body, a, ctx, machine, ver, started, finished, cmd,
                               have_chart, mismatches, retried)
        write_docs(os.path.join(ROOT, 'docs', 'PERFORMANCE.md'), section)
        print('\nbench: wrote docs/PERFORMANCE.md' + (' and docs/perf-chart.png'
                                                      if have_chart else ''))
    bad = [k for k, v in notes.items() if v == 'failed']
    return 1 if bad or mismatches else 0


def docs_section(head, body, a, ctx, machine, ver, started, finished, cmd, have_chart,
                 mismatches, retried):
    mode = 'quick mode: 1/8-size workloads; ' if a.quick else ''
    s = ['## Benchmark suite: maquina against QEMU (%s)' % started.strftime('%Y-%m-%d'), '',
         'Generated by `%s` (%s%d run%s of each workload, maquina and QEMU back to back, '
         'alternating which goes first), from %s to %s UTC.'
         % (cmd, mode, a.runs, 's' if a.runs > 1 else '',
            started.strftime('%Y-%m-%d %H:%M'), finished.strftime('%H:%M')), '',
         '- machine: %s' % machine,
         '- maquina: %s build at %s; peer: %s (`-M virt`, TCG)' % (ver['buildtype'], ver['rev'],
                                                                 ver['qemu']),
         '- guest: Debian kernel %s, the default busybox initramfs + bench/guest/init and '
         'guestbench (%s, `-static -O2`), %d MiB, 1 hart unless said, OpenSBI fw_dynamic; '
         'native: the same program built with the host\'s `gcc -O2`'
         % (ver['kernel'], ver['cross-gcc'], MEM_MIB),
         '- sizes: CRC32 over %d MiB, disk %d MiB sequential + %d random 4 KiB ops, '
         'net %d MiB, idle %d s' % (64 // ctx.scale, ctx.disk_mib, ctx.disk_ops, ctx.net_mib,
                                    ctx.idle_s), '',
         'Cells are the median [min-max] of the runs. Ratios are of the medians: for times '
         'below 1 means maquina is faster; for MiB/s and IOPS above 1 means maquina is faster. '
         'The numbers are only as quiet as the machine was (the load average above). '
         'What each row measures: bench/README.md.', '',
         md_table(head, body), '']
    if mismatches:
        s += ['**The guest program computed different results** (an emulator bug):', '']
        s += ['- ' + b for b in mismatches] + ['']
    elif any(len(per) > 1 for per in CHECKS.values()):
        names = {'maquina': 'maquina', 'qemu': 'QEMU', 'native': 'the host'}
        who = [names[e] for e in ('maquina', 'qemu', 'native')
               if any(e in per for per in CHECKS.values())]
        s += ['Every CPU kernel computed the same check value on %s.'
              % (', '.join(who[:-1]) + ' and ' + who[-1]), '']
    if retried:
        s += ['Failed attempts (each retried once; the console logs were in '
              '`.cache/bench/logs/`):', '']
        s += ['- ' + r for r in retried] + ['']
    s += ['Load average at the end: %s.' % ' '.join(open('/proc/loadavg').read().split()[:3]),
          '']
    if have_chart:
        s += ['![maquina relative to QEMU](perf-chart.png)', '']
    return '\n'.join(s)


if __name__ == '__main__':
    try:
        sys.exit(main())
    finally:
        kill_all()
