#!/bin/sh
# Boot the default maquina guest (scripts/guest/build-default.sh) on QEMU's
# riscv64 virt board: the reference that maquina's own virt board is held to.
#
# usage: scripts/guest/run-qemu.sh [options] [-- extra qemu arguments]
#   --disk FILE     virtio-blk disk (raw, or qcow2 when the name ends in .qcow2)
#   --net           virtio-net with QEMU user networking (slirp: 10.0.2.0/24)
#   --rng           virtio-rng fed from the host's /dev/urandom
#   --hvc SOCKET    virtio console (hvc0) on a UNIX socket (server, nowait)
#   --all           --net --rng (and --disk if given)
#   --smp N         harts (default 2)      --mem SIZE  RAM (default 512M)
#   --append ARGS   more kernel command line after "console=ttyS0 panic=-1"
#   --dry-run       print the QEMU command instead of running it
# environment: MAQUINA_CACHE (as build-default.sh), QEMU (default
#   qemu-system-riscv64), OPENSBI (default Debian's fw_dynamic.bin)
# The console is the 16550 UART on stdio (-nographic): Ctrl-A X quits QEMU.
# panic=-1 with -no-reboot makes a guest panic end QEMU instead of hanging.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
CACHE=${MAQUINA_CACHE:-$repo/.cache/guest}
QEMU=${QEMU:-qemu-system-riscv64}
OPENSBI=${OPENSBI:-/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin}
img=$CACHE/default/Image
initrd=$CACHE/default/initramfs.cpio.gz

disk="" net=0 rng=0 hvc="" smp=2 mem=512M append="" dry=0
while [ $# -gt 0 ]; do
    case "$1" in
    --disk) disk=$2; shift ;;
    --net) net=1 ;;
    --rng) rng=1 ;;
    --hvc) hvc=$2; shift ;;
    --all) net=1; rng=1 ;;
    --smp) smp=$2; shift ;;
    --mem) mem=$2; shift ;;
    --append) append=$2; shift ;;
    --dry-run) dry=1 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-qemu: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

for f in "$img" "$initrd"; do
    [ -f "$f" ] || { echo "run-qemu: $f missing: run scripts/guest/build-default.sh" >&2; exit 1; }
done
[ -f "$OPENSBI" ] || { echo "run-qemu: $OPENSBI missing (Debian package opensbi)" >&2; exit 1; }

set -- -M virt -m "$mem" -smp "$smp" -nographic -no-reboot \
    -bios "$OPENSBI" -kernel "$img" -initrd "$initrd" \
    -append "console=ttyS0 panic=-1${append:+ $append}" "$@"
if [ -n "$disk" ]; then
    case "$disk" in *.qcow2) fmt=qcow2 ;; *) fmt=raw ;; esac
    set -- "$@" -drive "file=$disk,format=$fmt,if=none,id=d0" -device virtio-blk-device,drive=d0
fi
if [ "$net" = 1 ]; then
    set -- "$@" -netdev user,id=n0 -device virtio-net-device,netdev=n0
fi
if [ "$rng" = 1 ]; then
    set -- "$@" -object rng-random,filename=/dev/urandom,id=rng0 -device virtio-rng-device,rng=rng0
fi
if [ -n "$hvc" ]; then
    set -- "$@" -chardev "socket,id=hvc0,path=$hvc,server=on,wait=off" \
        -device virtio-serial-device -device virtconsole,chardev=hvc0
fi

if [ "$dry" = 1 ]; then
    echo "$QEMU $*"
    exit 0
fi
exec "$QEMU" "$@"
