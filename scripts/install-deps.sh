#!/bin/sh
# Install the Debian 12 packages maquina needs to build and test, when they
# are missing. As root this runs apt-get; otherwise it lists what is missing.
# With --bench, also those of the benchmark suite (make bench): the riscv64
# Linux cross compiler for the guest program and gnuplot for the chart.
set -eu

PACKAGES="meson ninja-build gcc clang libclang-rt-14-dev pkg-config python3
libfdt-dev libslirp-dev libglib2.0-dev libzstd-dev zlib1g-dev libjson-c-dev
gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf binutils-riscv64-unknown-elf
opensbi u-boot-qemu qemu-system-misc qemu-utils device-tree-compiler
e2fsprogs cpio gzip xz-utils zstd dpkg-dev ca-certificates"
BENCH_PACKAGES="gcc-riscv64-linux-gnu libc6-dev-riscv64-cross gnuplot-nox"
if [ "${1:-}" = --bench ]; then
    PACKAGES="$PACKAGES $BENCH_PACKAGES"
fi

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "maquina: missing packages:$missing" >&2
    echo "maquina: install them with: sudo apt-get install$missing" >&2
    exit 1
fi

echo "maquina: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
