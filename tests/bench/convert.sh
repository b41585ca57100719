#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The convert matrix of the convert issue, ours against the system's
# qemu-img 7.2 (its default and -m 8 -W) in the same run, variants taking
# turns, medians of RUNS, peak RSS (max over the runs), every output
# checked against the source with the real `qemu-img compare`.
#
# Corpus, made here from files on this machine (nothing downloaded):
#   os.raw        ext4 "OS disk" of SIZE, about half full (os-disk.sh)
#   os.qcow2      the same as qcow2; os-zlib.qcow2, os-zstd.qcow2 compressed
#   frag.qcow2    SIZE written by the real qemu-io in 64 KiB writes of random
#                 data in random order (seed 42): clusters scattered
#   zeros.raw     SIZE of data, every other MiB all zeroes but allocated
#   empty.qcow2   100 GiB, nothing allocated
# Cases: qcow2/zlib/zstd/frag -> raw, empty -> raw, zeros -> raw,
# raw -> qcow2 -c with zlib and with zstd (output sizes compared too).
#
#   tests/bench/convert.sh [SIZE=4G] [RUNS=5] [WHERE="tmpfs disk"]
#   CASES=REGEX runs only the cases whose name matches (e.g. CASES='zlib')
#
# Prints a table per place; CSV to $BENCH_CSV (default: convert.csv in the
# current directory) and, when gnuplot is installed, a PNG next to it.
# Not a test: nothing here passes or fails on time.
set -euo pipefail
size=${1:-4G}
runs=${2:-5}
where_list=${3:-"tmpfs disk"}
here=$(cd "$(dirname "$0")/../.." && pwd)
ours=${QEMU_IMG:-$here/build/qemu-img/qemu-img}
theirs=${REAL_QEMU_IMG:-/usr/bin/qemu-img}
real_io=${REAL_QEMU_IO:-/usr/bin/qemu-io}
csv=${BENCH_CSV:-$PWD/convert.csv}
dirs=()
cleanup() { rm -rf "${dirs[@]}"; "$here/tests/bench/memwarm.sh" stop; }
trap cleanup EXIT
"$here/tests/bench/memwarm.sh" start

bytes=$(numfmt --from=iec "$size")
mib=$((bytes >> 20))
median() { tr ' ' '\n' | grep . | sort -g |
    awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

make_corpus() {     # DIR
    local d=$1
    "$here/tests/bench/os-disk.sh" "$d/os.raw" "$size" >/dev/null
    "$theirs" convert -O qcow2 "$d/os.raw" "$d/os.qcow2"
    "$theirs" convert -c -W -O qcow2 -o compression_type=zlib "$d/os.raw" "$d/os-zlib.qcow2"
    "$theirs" convert -c -W -O qcow2 -o compression_type=zstd "$d/os.raw" "$d/os-zstd.qcow2"
    "$theirs" create -q -f qcow2 "$d/empty.qcow2" 100G
    "$theirs" create -q -f qcow2 "$d/frag.qcow2" "$size"
    { seq 0 $((bytes / 65536 - 1)) | shuf --random-source=<(yes 42) |
        awk '{ printf "write -q -P %d %.0f 64k\n", $1 % 251 + 1, $1 * 65536 }'
      echo quit; } | "$real_io" -f qcow2 "$d/frag.qcow2" >/dev/null
    python3 - "$d/zeros.raw" "$mib" <<'PY'
import os, sys
data = os.urandom(1 << 20)
zero = bytes(1 << 20)
with open(sys.argv[1], 'wb') as f:
    for i in range(int(sys.argv[2])):
        f.write(zero if i % 2 else data)
    f.flush()
    os.fsync(f.fileno())
PY
}

# case|source|source format|output format|extra options
cases=(
    "qcow2->raw|os.qcow2|qcow2|raw|"
    "zlib->raw|os-zlib.qcow2|qcow2|raw|"
    "zstd->raw|os-zstd.qcow2|qcow2|raw|"
    "frag->raw|frag.qcow2|qcow2|raw|"
    "empty100G->raw|empty.qcow2|qcow2|raw|"
    "zeros->raw|zeros.raw|raw|raw|"
    "raw->zlib -c|os.raw|raw|qcow2|-c -o compression_type=zlib"
    "raw->zstd -c|os.raw|raw|qcow2|-c -o compression_type=zstd"
)
variants=("ours|$ours|" "7.2|$theirs|" "7.2 -m 8 -W|$theirs|-m 8 -W")

echo "place,case,variant,median_s,peak_rss_kib,out_bytes,runs" > "$csv"
for where in $where_list; do
    if [ "$where" = tmpfs ]; then
        d=$(mktemp -d /dev/shm/bench-convert.XXXXXX)
    else
        d=$(mktemp -d "$here/build/bench-convert.XXXXXX")
    fi
    dirs+=("$d")
    make_corpus "$d"
    # let the corpus's writeback settle before anything is timed
    sync; sleep 5
    echo "== $where: $size OS disk ($(du -h "$d/os.qcow2" | cut -f1) as qcow2," \
         "zlib $(du -h "$d/os-zlib.qcow2" | cut -f1), zstd $(du -h "$d/os-zstd.qcow2" | cut -f1))," \
         "medians of $runs runs"
    printf '%-15s %-12s %9s %7s %9s %12s %9s\n' case variant "median s" "min s" "RSS MiB" "out MiB" "vs best"
    for c in "${cases[@]}"; do
        IFS='|' read -r name src sfmt ofmt extra <<<"$c"
        [[ "$name" =~ ${CASES:-.} ]] || continue
        declare -A t=() rss=() out=()
        nv=${#variants[@]}
        for r in $(seq 1 "$runs"); do
            for k in $(seq 0 $((nv - 1))); do
                IFS='|' read -r label bin opts <<<"${variants[$(( (k + r) % nv ))]}"
                rm -f "$d/out"
                [ "$where" = disk ] && sync && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
                # shellcheck disable=SC2086
                m=$( { /usr/bin/time -f "%e %M" "$bin" convert $opts $extra \
                        -f "$sfmt" -O "$ofmt" "$d/$src" "$d/out" ; } 2>&1 | tail -n1)
                t[$label]+=" ${m% *}"
                [ "${m#* }" -gt "${rss[$label]:-0}" ] && rss[$label]=${m#* }
                out[$label]=$(du -B1 "$d/out" | cut -f1)
                if [ "$r" = 1 ] && ! "$theirs" compare -q -f "$sfmt" -F "$ofmt" \
                        "$d/$src" "$d/out"; then
                    echo "MISMATCH: $name $label" >&2
                    exit 1
                fi
            done
        done
        rm -f "$d/out"
        best=""
        for v in "7.2" "7.2 -m 8 -W"; do
            m=$(echo "${t[$v]}" | median)
            if [ -z "$best" ] || [ "$(echo "$m < $best" | bc)" = 1 ]; then best=$m; fi
        done
        for v in "${variants[@]}"; do
            label=${v%%|*}
            m=$(echo "${t[$label]}" | median)
            mn=$(echo "${t[$label]}" | tr ' ' '\n' | grep . | sort -g | head -1)
            printf '%-15s %-12s %9.2f %7.2f %9.1f %12.1f %8.2fx\n' "$name" "$label" "$m" "$mn" \
                "$(echo "${rss[$label]} / 1024" | bc -l)" \
                "$(echo "${out[$label]} / 1048576" | bc -l)" \
                "$(echo "$best / $m" | bc -l)"
            echo "$where,$name,$label,$m,${rss[$label]},${out[$label]},${t[$label]# }" >> "$csv"
        done
        unset t rss out
    done
    rm -rf "$d"
done

"$here/tests/bench/convert-plot.sh" "$csv" "qemu-img convert: ours vs 7.2 ($size, $runs runs)"
echo "csv: $csv"
