#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Keep the guest's free memory backed by the host while a benchmark runs.
#
# This VM reports free memory to the hypervisor (virtio-balloon free page
# reporting, /sys/module/page_reporting): a 2 MiB block freed for about two
# seconds is handed back and the host unmaps it.  The next process to touch
# it takes a host fault per page, which made copying into the page cache up
# to 8x slower for whichever run came after a big delete: writing 479 MB to
# ganesha went from 0.4-0.7 s to 1.5-1.7 s for both qemu-imgs alike once a
# few gigabytes had been written and freed, and tmpfs targets showed the
# same.  That is the machine, not the tools under test, and it swamped the
# differences between them.
#
#   memwarm.sh start   stop reporting (order above the largest block) and
#                      touch most of the free memory once, so it is backed
#   memwarm.sh stop    put reporting back as it was
#
# start saves the previous setting; a start while one is in force keeps
# the saved value, and the first stop restores it.
# BENCH_MEMWARM=0 turns both into no-ops (to measure the cold machine).
set -euo pipefail
param=/sys/module/page_reporting/parameters/page_reporting_order
state=/run/bench-memwarm.order

[ "${BENCH_MEMWARM:-1}" = 0 ] && exit 0

case ${1:-} in
start)
    if [ -w "$param" ] && [ ! -e "$state" ]; then
        cat "$param" > "$state"
        # orders run to 10 on x86-64: 11 reports nothing
        echo 11 > "$param" 2>/dev/null || rm -f "$state"
    fi
    avail=$(( $(awk '/^MemAvailable:/ {print $2}' /proc/meminfo) * 1024 ))
    want=$(( avail - (4 << 30) ))
    [ "$want" -gt $((16 << 30)) ] && want=$((16 << 30))
    if [ "$want" -gt 0 ]; then
        python3 -c 'import sys
b = bytearray(int(sys.argv[1]))
for i in range(0, len(b), 4096):
    b[i] = 1' "$want"
    fi
    ;;
stop)
    if [ -e "$state" ]; then
        cat "$state" > "$param" 2>/dev/null || true
        rm -f "$state"
    fi
    ;;
*)
    sed -n '3,22p' "$0"
    exit 2
    ;;
esac
