#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# convert to and from a real iSCSI target (tgtd, thin-provisioned file-
# backed LUN) through a link with a fixed one-way delay (tests/netstorage/
# netns-latency.sh; default 500 us), ours against the system's qemu-img
# 7.2 in the same run, taking turns run by run.  The data: an OS disk of
# SIZE (ext4 from /usr, half full; tests/bench/os-disk.sh).
#   write: local qcow2 -> the LUN
#   read:  the LUN -> new local raw file (on tmpfs)
#   nfs2iscsi: raw image on NFS (ganesha, same server) -> the LUN, the
#              seed's template deployment
# Variants: 7.2 -m 1, 7.2 -m 8 -W, ours -m 8 -W (and ours with the URL
# query strings in OURS_Q, e.g. OURS_Q="?sessions=2 ?queue-depth=4").
# Medians of RUNS; each result is checked.
#
#   tests/bench/iscsi.sh [SIZE=1G] [RUNS=5] [DELAY_US=500]
#
# Needs root (network namespaces).  Not a test: it prints a table and
# writes CSV to $BENCH_CSV if set.
set -euo pipefail
size=${1:-1G}
runs=${2:-5}
delay=${3:-500}
here=$(cd "$(dirname "$0")/../.." && pwd)
ours=${QEMU_IMG:-$here/build/qemu-img/qemu-img}
theirs=${REAL_QEMU_IMG:-/usr/bin/qemu-img}
ns=$here/tests/netstorage
name=bi$$
work=$(mktemp -d "$here/build/bench-iscsi.XXXXXX")
shm=$(mktemp -d /dev/shm/bench-iscsi.XXXXXX)
cleanup() {
    "$ns/iscsi-server.sh" stop "$work/tgt" >/dev/null 2>&1 || true
    "$ns/nfs-server.sh" stop "$work/nfs" >/dev/null 2>&1 || true
    "$ns/netns-latency.sh" stop "$name" >/dev/null 2>&1 || true
    rm -rf "$work" "$shm"
    "$here/tests/bench/memwarm.sh" stop
}
trap cleanup EXIT
"$here/tests/bench/memwarm.sh" start

cp "$ours" "$work/qemu-img"; ours=$work/qemu-img

"$ns/netns-latency.sh" start "$name" "$delay" --dir "$work/wire" >/dev/null
eval "$("$ns/nfs-server.sh" start --dir "$work/nfs" --mode netns --netns "$name-s")" >/dev/null
eval "$("$ns/iscsi-server.sh" start --dir "$work/tgt" --netns "$name-s" \
    --addr 10.199.0.2 --port 3260 --size "$size")" >/dev/null
C=(ip netns exec "$name-c")
LUN="iscsi://10.199.0.2:3260/$IQN/1"
NFS=nfs://10.199.0.2/export

"$here/tests/bench/os-disk.sh" "$work/os.raw" "$size" >/dev/null
"$theirs" convert -f raw -O qcow2 "$work/os.raw" "$work/os.qcow2"
cp "$work/os.raw" "$EXPORT_DIR/src.raw"
bytes=$(stat -c %s "$work/os.raw")
# what the LUN holds before each copy to it: other data, not zeroes
python3 -c "import sys; b = b'e' * (1 << 20); f = open(sys.argv[1], 'wb')
for _ in range(int(sys.argv[2]) >> 20): f.write(b)" "$work/junk" "$bytes"
sum=$(md5sum < "$work/os.raw")
lunsum() { head -c "$bytes" "$work/tgt/lun1.img" | md5sum; }
rtt=$("${C[@]}" ping -c 20 -i 0.05 -q 10.199.0.2 | tail -1 | awk -F/ '{print $5}')
echo "iSCSI (tgtd) through a ${delay} us link (ping RTT ${rtt} ms), $size OS disk" \
     "($(du -h "$work/os.qcow2" | cut -f1) allocated), medians of $runs runs"

variants=("7.2 -m 1|$theirs|-m 1|" "7.2 -m 8 -W|$theirs|-m 8 -W|"
          "ours -m 8 -W|$ours|-m 8 -W|")
for q in ${OURS_Q:-}; do
    variants+=("ours -m 8 -W $q|$ours|-m 8 -W|$q")
done
nv=${#variants[@]}
declare -A times
timed() {   # KEY CMD...: run, add the wall time to times[KEY]
    local key=$1 s e; shift
    s=$(date +%s.%N)
    "$@"
    e=$(date +%s.%N)
    times[$key]+=" $(echo "$e - $s" | bc)"
}
for r in $(seq 1 "$runs"); do
    for k in $(seq 0 $((nv - 1))); do
        v=${variants[$(( (k + r) % nv ))]}
        IFS='|' read -r label bin opts q <<<"$v"
        # the LUN holds the last copy: fill it with other data first
        cp "$work/junk" "$work/tgt/lun1.img"
        # shellcheck disable=SC2086
        timed "write|$label" "${C[@]}" "$bin" convert $opts -f qcow2 -O raw "$work/os.qcow2" "$LUN$q"
        [ "$(lunsum)" = "$sum" ] || { echo "MISMATCH: $label write" >&2; exit 1; }
        rm -f "$shm/out.raw"
        # shellcheck disable=SC2086
        timed "read|$label" "${C[@]}" "$bin" convert $opts -f raw -O raw "$LUN$q" "$shm/out.raw"
        [ "$(md5sum < "$shm/out.raw")" = "$sum" ] || { echo "MISMATCH: $label read" >&2; exit 1; }
        rm -f "$shm/out.raw"
        cp "$work/junk" "$work/tgt/lun1.img"
        # shellcheck disable=SC2086
        timed "nfs2iscsi|$label" "${C[@]}" "$bin" convert $opts -f raw -O raw "$NFS/src.raw" "$LUN$q"
        [ "$(lunsum)" = "$sum" ] || { echo "MISMATCH: $label nfs2iscsi" >&2; exit 1; }
    done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
printf '%-10s %-28s %8s %10s %10s\n' dir variant median "vs 7.2 -m1" "vs 7.2 -W"
for dir in write read nfs2iscsi; do
    b1=$(echo "${times["$dir|7.2 -m 1"]}" | median)
    b8=$(echo "${times["$dir|7.2 -m 8 -W"]}" | median)
    for v in "${variants[@]}"; do
        IFS='|' read -r label _ _ _ <<<"$v"
        m=$(echo "${times["$dir|$label"]}" | median)
        printf '%-10s %-28s %8.2f %9.2fx %9.2fx\n' "$dir" "$label" "$m" \
            "$(echo "$b1 / $m" | bc -l)" "$(echo "$b8 / $m" | bc -l)"
        if [ -n "${BENCH_CSV:-}" ]; then echo "iscsi,$dir,$label,$m,${times["$dir|$label"]# }" >> "$BENCH_CSV"; fi
    done
done
