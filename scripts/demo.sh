#!/bin/sh
# `make demo`: build the default Debian guest (cached after the first run) and
# boot it on maquina with an interactive console. Ctrl-A x quits, Ctrl-A h
# lists the escape keys; `poweroff` in the guest ends maquina.
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${MAQUINA_CACHE:-$ROOT/.cache/guest}

"$ROOT/scripts/guest/build-default.sh"
GUEST=$CACHE/default
echo "maquina demo: booting Debian's riscv64 kernel with a busybox initramfs."
echo "maquina demo: Ctrl-A x quits, Ctrl-A h helps; 'poweroff' in the guest ends the VM."
exec "$ROOT/$BUILD/maquina" run \
    --kernel "$GUEST/Image" \
    --initrd "$GUEST/initramfs.cpio.gz" \
    --append "console=ttyS0 quiet" \
    --memory 512M --smp 2
