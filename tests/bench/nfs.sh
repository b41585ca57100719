#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# convert to and from a real NFS server (ganesha) through a link with a
# fixed one-way delay (tests/netstorage/netns-latency.sh; default 500 us,
# RTT about 1.2 ms), ours against the system's qemu-img 7.2 in the same
# run, taking turns run by run.  The data: an OS disk of SIZE (ext4 from
# /usr, half full; tests/bench/os-disk.sh).
#   write: local qcow2 -> new raw image on NFS
#   read:  raw image on NFS -> new local raw file (on tmpfs); ours skips
#          the holes where the server has NFSv4.2 SEEK (ganesha has), 7.2
#          reads them
# Variants: 7.2 with -m 1 and -m 8 -W, ours with -m 8 -W (defaults: two
# connections of queue-depth 4), ours on each count of libnfs connections
# per image in CONNS, and ours with the URL query strings in OURS_Q
# (e.g. OURS_Q="?queue-depth=8 ?queue-depth=16").  Medians of RUNS; each
# result is checked.
#
#   tests/bench/nfs.sh [SIZE=1G] [RUNS=5] [DELAY_US=500] [CONNS="1 4"]
#
# Needs root (network namespaces).  Not a test: it prints a table and
# writes CSV to $BENCH_CSV if set.
set -euo pipefail
size=${1:-1G}
runs=${2:-5}
delay=${3:-500}
conns=${4:-"1 4"}
here=$(cd "$(dirname "$0")/../.." && pwd)
ours=${QEMU_IMG:-$here/build/qemu-img/qemu-img}
theirs=${REAL_QEMU_IMG:-/usr/bin/qemu-img}
ns=$here/tests/netstorage
name=bn$$
work=$(mktemp -d "$here/build/bench-nfs.XXXXXX")
shm=$(mktemp -d /dev/shm/bench-nfs.XXXXXX)
cleanup() {
    "$ns/nfs-server.sh" stop "$work/nfs" >/dev/null 2>&1 || true
    "$ns/netns-latency.sh" stop "$name" >/dev/null 2>&1 || true
    rm -rf "$work" "$shm"
    "$here/tests/bench/memwarm.sh" stop
}
trap cleanup EXIT
"$here/tests/bench/memwarm.sh" start

# private copy: a rebuild during the run must not change the binary
cp "$ours" "$work/qemu-img"; ours=$work/qemu-img

"$ns/netns-latency.sh" start "$name" "$delay" --dir "$work/wire" >/dev/null
eval "$("$ns/nfs-server.sh" start --dir "$work/nfs" --mode netns --netns "$name-s")" >/dev/null
C=(ip netns exec "$name-c")
U=nfs://10.199.0.2/export

"$here/tests/bench/os-disk.sh" "$work/os.raw" "$size" >/dev/null
"$theirs" convert -f raw -O qcow2 "$work/os.raw" "$work/os.qcow2"
cp "$work/os.raw" "$EXPORT_DIR/src.raw"
sum=$(md5sum < "$work/os.raw")
rtt=$("${C[@]}" ping -c 20 -i 0.05 -q 10.199.0.2 | tail -1 | awk -F/ '{print $5}')
echo "NFS through a ${delay} us link (ping RTT ${rtt} ms), $size OS disk" \
     "($(du -h "$work/os.qcow2" | cut -f1) allocated), medians of $runs runs"

variants=("7.2 -m 1|$theirs|-m 1|" "7.2 -m 8 -W|$theirs|-m 8 -W|")
variants+=("ours -m 8 -W|$ours|-m 8 -W|")
for c in $conns; do
    variants+=("ours -m 8 -W, $c conn|$ours|-m 8 -W|?connections=$c")
done
for q in ${OURS_Q:-}; do
    variants+=("ours -m 8 -W $q|$ours|-m 8 -W|$q")
done
nv=${#variants[@]}
declare -A times
seqno=0
for r in $(seq 1 "$runs"); do
    for k in $(seq 0 $((nv - 1))); do
        v=${variants[$(( (k + r) % nv ))]}
        IFS='|' read -r label bin opts q <<<"$v"
        seqno=$((seqno + 1))
        # write: a new image each time (a name never reused on the server)
        dst=dst$seqno.raw
        s=$(date +%s.%N)
        # shellcheck disable=SC2086
        "${C[@]}" "$bin" convert $opts -f qcow2 -O raw "$work/os.qcow2" "$U/$dst$q"
        e=$(date +%s.%N)
        times["write|$label"]+=" $(echo "$e - $s" | bc)"
        [ "$(md5sum < "$EXPORT_DIR/$dst")" = "$sum" ] || { echo "MISMATCH: $label write" >&2; exit 1; }
        # ganesha keeps the file open after it is removed here: empty it
        # first, or every run leaves 0.5 GiB of dirty pages to write back
        truncate -s 0 "$EXPORT_DIR/$dst"
        rm -f "$EXPORT_DIR/$dst"
        # read
        rm -f "$shm/out.raw"
        s=$(date +%s.%N)
        # shellcheck disable=SC2086
        "${C[@]}" "$bin" convert $opts -f raw -O raw "$U/src.raw$q" "$shm/out.raw"
        e=$(date +%s.%N)
        times["read|$label"]+=" $(echo "$e - $s" | bc)"
        [ "$(md5sum < "$shm/out.raw")" = "$sum" ] || { echo "MISMATCH: $label read" >&2; exit 1; }
    done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
printf '%-6s %-24s %8s %10s %10s\n' dir variant median "vs 7.2 -m1" "vs 7.2 -W"
for dir in write read; do
    b1=$(echo "${times["$dir|7.2 -m 1"]}" | median)
    b8=$(echo "${times["$dir|7.2 -m 8 -W"]}" | median)
    for v in "${variants[@]}"; do
        IFS='|' read -r label _ _ _ <<<"$v"
        m=$(echo "${times["$dir|$label"]}" | median)
        printf '%-6s %-24s %8.2f %9.2fx %9.2fx\n' "$dir" "$label" "$m" \
            "$(echo "$b1 / $m" | bc -l)" "$(echo "$b8 / $m" | bc -l)"
        if [ -n "${BENCH_CSV:-}" ]; then echo "nfs,$dir,$label,$m,${times["$dir|$label"]# }" >> "$BENCH_CSV"; fi
    done
done
