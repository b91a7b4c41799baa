#!/bin/sh
# /etc/acpi/PWRF/00000080 of the maquina default guest: busybox acpid runs
# it (cwd /etc/acpi, output to its log file) when the power button, KEY_POWER
# on the virtio-input device, is pressed; `maquina stop` presses it.
# Built by scripts/guest/build-default.sh; see docs/devices.md.
echo "maquina: power button, shutting down" > /dev/console
sync
poweroff -f
