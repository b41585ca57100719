#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Benchmark: reading a compressed qcow2 (zlib and zstd) with large requests,
# our qemu-img with the per-request task pool limited to 1 (serial
# decompression) and at its default of 8, against the system's qemu-img,
# in the same run.  Not a test: it prints medians and ratios.
#
#   tests/bench/compressed-read.sh [SIZE_MIB] [RUNS]
#
# The data is made from files on this machine (executables and libraries:
# compressible, not trivial), nothing is downloaded.  Work happens on
# /dev/shm so the disk does not hide the CPU cost.
set -euo pipefail
size_mib=${1:-512}
runs=${2:-5}
here=$(cd "$(dirname "$0")/../.." && pwd)
ours=${QEMU_IMG:-$here/build/qemu-img/qemu-img}
theirs=${REAL_QEMU_IMG:-/usr/bin/qemu-img}
dir=$(mktemp -d /dev/shm/bench.XXXXXX)
trap 'rm -rf "$dir"; "$here/tests/bench/memwarm.sh" stop' EXIT
"$here/tests/bench/memwarm.sh" start

find /usr/lib /usr/bin -type f -size +100k 2>/dev/null | sort | xargs cat 2>/dev/null |
    head -c $((size_mib * 1024 * 1024)) > "$dir/data.raw" || true
"$theirs" convert -c -O qcow2 "$dir/data.raw" "$dir/zlib.qcow2"
"$theirs" convert -c -O qcow2 -o compression_type=zstd "$dir/data.raw" "$dir/zstd.qcow2"

count=$size_mib    # 1 MiB requests, one at a time: parallelism is inside
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() {         # command... -> median seconds over $runs runs
    local i
    for i in $(seq "$runs"); do
        "$@" | sed -n 's/Run completed in \([0-9.]*\) seconds./\1/p'
    done | median
}

printf '%-6s %14s %14s %14s %10s %10s\n' image "ours -m1 (s)" "ours (s)" \
    "qemu-img (s)" "pool/1" "vs 7.2"
for img in zlib zstd; do
    f=$dir/$img.qcow2
    t1=$(measure "$ours" bench -c "$count" -d 1 -s 1M --image-opts \
        "driver=qcow2,x-max-workers=1,file.filename=$f")
    t8=$(measure "$ours" bench -c "$count" -d 1 -s 1M -f qcow2 "$f")
    tq=$(measure "$theirs" bench -c "$count" -d 1 -s 1M -f qcow2 "$f")
    printf '%-6s %14s %14s %14s %9.2fx %9.2fx\n' "$img" "$t1" "$t8" "$tq" \
        "$(echo "$t1 / $t8" | bc -l)" "$(echo "$tq / $t8" | bc -l)"
done
echo "($size_mib MiB of data, $(nproc) cores, median of $runs runs; pool/1 is our"
echo " default pool against the pool limited to one task)"
