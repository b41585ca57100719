#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Benchmark of the original aio task pool series: four qcow2 images of
# SIZE (default 4G, 64 KiB clusters) filled by the real qemu-io with 64 KiB
# writes of 0xff in sequential, reverse, random and random-within-each-MiB
# order (fixed seed), so the host layout is QEMU's.  Then
#   qemu-img bench -c 4096 -d 1 -f qcow2 -s 1m
# on the disk with O_DIRECT (-n -t none) and on tmpfs (-t writeback), for
# our qemu-img with the task pool limited to 1 and at its default of 8,
# and for the system's qemu-img, in the same run, taking turns run by
# run.  Medians of RUNS.
#
#   tests/bench/fragmented.sh [SIZE] [RUNS]
#
# Then the same with -w (in-place overwrites of the fragmented clusters).
# Not a test: it prints a table.
set -euo pipefail
size=${1:-4G}
runs=${2:-3}
here=$(cd "$(dirname "$0")/../.." && pwd)
ours=${QEMU_IMG:-$here/build/qemu-img/qemu-img}
theirs=${REAL_QEMU_IMG:-/usr/bin/qemu-img}
real_io=${REAL_QEMU_IO:-/usr/bin/qemu-io}
disk=$(mktemp -d "$here/build/bench-frag.XXXXXX")
shm=$(mktemp -d /dev/shm/bench-frag.XXXXXX)
trap 'rm -rf "$disk" "$shm"; "$here/tests/bench/memwarm.sh" stop' EXIT
"$here/tests/bench/memwarm.sh" start

bytes=$(numfmt --from=iec "$size")
n=$((bytes / 65536))
offsets() {     # order -> one offset per line
    case $1 in
    seq) seq 0 $((n - 1)) ;;
    reverse) seq $((n - 1)) -1 0 ;;
    rand) seq 0 $((n - 1)) | shuf --random-source=<(yes 42) ;;
    part-rand)  # random order inside each 1 MiB group, groups in order
        for g in $(seq 0 $((n / 16 - 1))); do
            seq $((g * 16)) $((g * 16 + 15)) | shuf --random-source=<(yes $g)
        done ;;
    esac | awk '{ printf "write -q -P 0xff %.0f 64k\n", $1 * 65536 }'
}
for order in seq reverse rand part-rand; do
    "$theirs" create -q -f qcow2 "$disk/$order.qcow2" "$size"
    { offsets $order; echo quit; } | "$real_io" -f qcow2 "$disk/$order.qcow2" > /dev/null
    cp "$disk/$order.qcow2" "$shm/"
done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
secs() { "$@" | sed -n 's/Run completed in \([0-9.]*\) seconds./\1/p'; }
for rw in read write; do
bench_args="-c 4096 -d 1 -s 1m"
[ $rw = write ] && bench_args="$bench_args -w"
echo "== $rw"
printf '%-10s %-6s %10s %10s %10s %9s %9s\n' image where "ours/1 s" "ours s" \
    "7.2 s" "pool/1" "vs 7.2"
for where in disk tmpfs; do
    if [ $where = disk ]; then dir=$disk; io="-n -t none"; file_opts=",file.aio=native,file.cache.direct=on"
    else dir=$shm; io="-t writeback"; file_opts=""; fi
    for order in seq reverse rand part-rand; do
        f=$dir/$order.qcow2
        # the three take turns, and the one that starts a round rotates:
        # the virtual disk's host caches favour whoever reads second
        r1=() r8=() rq=()
        for i in $(seq "$runs"); do
            for k in 0 1 2; do
                case $(( (i + k) % 3 )) in
                0) r1+=("$(secs "$ours" bench $bench_args $io --image-opts \
                       "driver=qcow2,x-max-workers=1,file.filename=$f$file_opts")") ;;
                1) r8+=("$(secs "$ours" bench $bench_args $io -f qcow2 "$f")") ;;
                2) rq+=("$(secs "$theirs" bench $bench_args $io -f qcow2 "$f")") ;;
                esac
            done
        done
        t1=$(printf '%s\n' "${r1[@]}" | median)
        t8=$(printf '%s\n' "${r8[@]}" | median)
        tq=$(printf '%s\n' "${rq[@]}" | median)
        printf '%-10s %-6s %10s %10s %10s %8.2fx %8.2fx\n' "$order" "$where" \
            "$t1" "$t8" "$tq" "$(echo "$t1 / $t8" | bc -l)" \
            "$(echo "$tq / $t8" | bc -l)"
    done
done
done
echo "($size images, 64 KiB clusters, $(nproc) cores, median of $runs runs)"
