#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# convert -c: a compressible raw image of SIZE (default 512M, text-like
# data) into a compressed qcow2, zlib and zstd, ours against the system's
# qemu-img in the same run (tmpfs, median of RUNS), and a byte comparison
# of the two results.  Compression runs on every core while clusters are
# still allocated in order, so the images are identical.
#
#   tests/bench/convert-compress.sh [SIZE] [RUNS]
set -euo pipefail
size=${1:-512M}
runs=${2:-3}
here=$(cd "$(dirname "$0")/../.." && pwd)
ours=${QEMU_IMG:-$here/build/qemu-img/qemu-img}
theirs=${REAL_QEMU_IMG:-/usr/bin/qemu-img}
dir=$(mktemp -d /dev/shm/bench-cc.XXXXXX)
trap 'rm -rf "$dir"; "$here/tests/bench/memwarm.sh" stop' EXIT
"$here/tests/bench/memwarm.sh" start

python3 - "$dir/src.raw" "$(numfmt --from=iec "$size")" <<'PY'
import random, sys
r = random.Random(1)
words = [bytes(r.choice(b'abcdefghijklmnop') for _ in range(8)) for _ in range(512)]
with open(sys.argv[1], 'wb') as f:
    for i in range(int(sys.argv[2]) >> 20):
        f.write(b''.join(r.choice(words) for _ in range(1 << 17)))
PY
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
secs() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
printf '%-6s %10s %10s %9s\n' type "ours s" "7.2 s" "vs 7.2"
for ct in zlib zstd; do
    o=() t=()
    for i in $(seq "$runs"); do
        o+=("$(secs "$ours" convert -c -o compression_type=$ct -O qcow2 "$dir/src.raw" "$dir/o.qcow2")")
        t+=("$(secs "$theirs" convert -c -o compression_type=$ct -O qcow2 "$dir/src.raw" "$dir/t.qcow2")")
    done
    om=$(printf '%s\n' "${o[@]}" | median)
    tm=$(printf '%s\n' "${t[@]}" | median)
    same=$(cmp -s "$dir/o.qcow2" "$dir/t.qcow2" && echo "byte-identical" || echo "DIFFERENT")
    printf '%-6s %10.2f %10.2f %8.2fx  (%s)\n' $ct "$om" "$tm" "$(echo "$tm / $om" | bc -l)" "$same"
done
echo "($size source, $(nproc) cores, median of $runs runs)"
