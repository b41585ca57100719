#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Sequential allocating writes: qemu-img bench -w into a fresh, empty
# qcow2 image of SIZE (default 1G) on tmpfs (-t writeback) and on the disk
# (-t none, O_DIRECT), with our qemu-img and the system's, alternating, in
# the same run; medians of RUNS.  Also checks that both wrote the same
# image (byte for byte).  Not a test: it prints a table.
#
#   tests/bench/write-alloc.sh [SIZE] [RUNS]
set -euo pipefail
size=${1:-1G}
runs=${2:-5}
here=$(cd "$(dirname "$0")/../.." && pwd)
ours=${QEMU_IMG:-$here/build/qemu-img/qemu-img}
theirs=${REAL_QEMU_IMG:-/usr/bin/qemu-img}
disk=$(mktemp -d "$here/build/bench-walloc.XXXXXX")
shm=$(mktemp -d /dev/shm/bench-walloc.XXXXXX)
trap 'rm -rf "$disk" "$shm"; "$here/tests/bench/memwarm.sh" stop' EXIT
"$here/tests/bench/memwarm.sh" start

count=$(( $(numfmt --from=iec "$size") / (1 << 20) ))
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
one() {     # tool dir io-args -> seconds
    local tool=$1 dir=$2
    shift 2
    rm -f "$dir/w.qcow2"
    "$theirs" create -q -f qcow2 "$dir/w.qcow2" "$size"
    "$tool" bench -w -c "$count" -d 1 -s 1m --pattern=0x5a "$@" -f qcow2 \
        "$dir/w.qcow2" | sed -n 's/Run completed in \([0-9.]*\) seconds./\1/p'
}
printf '%-6s %-6s %10s %10s %9s\n' where depth "ours s" "7.2 s" "vs 7.2"
for where in tmpfs disk; do
    if [ $where = tmpfs ]; then dir=$shm; io="-t writeback"; else dir=$disk; io="-t none"; fi
    for depth in 1 16; do
        o=() t=()
        for i in $(seq "$runs"); do
            o+=("$(one "$ours" "$dir" $io -d $depth)")
            cp "$dir/w.qcow2" "$dir/ours.qcow2"
            t+=("$(one "$theirs" "$dir" $io -d $depth)")
        done
        same=$(cmp -s "$dir/w.qcow2" "$dir/ours.qcow2" && echo same || echo "layout differs")
        om=$(printf '%s\n' "${o[@]}" | median)
        tm=$(printf '%s\n' "${t[@]}" | median)
        printf '%-6s %-6s %10s %10s %8.2fx  (%s)\n' $where $depth "$om" "$tm" \
            "$(echo "$tm / $om" | bc -l)" "$same"
    done
done
echo "($size, 1 MiB writes, 64 KiB clusters, $(nproc) cores, median of $runs runs)"
