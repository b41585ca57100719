#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Copies to, from and between NBD exports, side by side in one run:
#   clients  ours (default, no -W), nbdcopy (default, and --flush: qemu-img
#            flushes), 7.2's qemu-img convert -n -m 8 -W
#   servers  nbdkit memory (the target) and 7.2's qemu-nbd -e 4 (raw files
#            on tmpfs, source and target)
#   data     an OS disk of SIZE (ext4 from /usr, half full: os-disk.sh)
#            and a sparse disk (SIZE, 1 MiB of data every 64 MiB)
#   links    unix sockets, and TCP through a link with a one-way delay of
#            DELAY_US (tests/netstorage/netns-latency.sh; needs root)
# Directions: file -> NBD (nbdkit memory), NBD (qemu-nbd) -> file, and
# NBD (qemu-nbd) -> NBD (nbdkit memory).  Variants take turns run by run;
# medians of RUNS; every copy is checked (md5 of what arrived).
#
#   tests/bench/nbd.sh [SIZE=1G] [RUNS=5] [DELAY_US=500] [LINKS="unix tcp"]
#   OURS_Q="connections=2 queue-depth=4": more variants of ours, with these
#   URL options (each one a variant)
#
# Not a test: prints a table (and CSV to $BENCH_CSV if set).
set -euo pipefail
size=${1:-1G}
runs=${2:-5}
delay=${3:-500}
links=${4:-"unix tcp"}
here=$(cd "$(dirname "$0")/../.." && pwd)
ours=${QEMU_IMG:-$here/build/qemu-img/qemu-img}
theirs=${REAL_QEMU_IMG:-/usr/bin/qemu-img}
theirs_nbd=${REAL_QEMU_NBD:-/usr/bin/qemu-nbd}
ns=$here/tests/netstorage
name=bn$$
shm=$(mktemp -d /dev/shm/bench-nbd.XXXXXX)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    "$ns/netns-latency.sh" stop "$name" >/dev/null 2>&1 || true
    rm -rf "$shm"
    "$here/tests/bench/memwarm.sh" stop
}
trap cleanup EXIT
"$here/tests/bench/memwarm.sh" start
cp "$ours" "$shm/qemu-img"; ours=$shm/qemu-img

"$here/tests/bench/os-disk.sh" "$shm/os.raw" "$size" >/dev/null
bytes=$(stat -c %s "$shm/os.raw")
python3 - "$shm/sparse.raw" "$bytes" <<'PY'
import os, sys
with open(sys.argv[1], 'wb') as f:
    f.truncate(int(sys.argv[2]))
    for off in range(0, int(sys.argv[2]), 64 << 20):
        f.seek(off)
        f.write(os.urandom(1 << 20))
PY
declare -A sums
for d in os sparse; do sums[$d]=$(md5sum < "$shm/$d.raw" | cut -d' ' -f1); done

# run a command on the client side of LINK
on() { local link=$1; shift; if [ "$link" = tcp ]; then ip netns exec "$name-c" "$@"; else "$@"; fi; }
# servers: qemu-nbd exporting FILE, nbdkit memory; URL of each per link
serve() {   # LINK KIND NAME ARGS...: start, set URL[$NAME]
    local link=$1 kind=$2 id=$3 pidf=$shm/$3.pid listen pre=()
    shift 3
    if [ "$link" = tcp ]; then
        pre=(ip netns exec "$name-s")
        listen=(-b 10.199.0.2 -p 10809)
        [ "$kind" = nbdkit ] && listen=(-i 10.199.0.2 -p 10810)
        url[$id]="nbd://10.199.0.2:${listen[3]}"
    else
        listen=(-k "$shm/$id.sock")
        [ "$kind" = nbdkit ] && listen=(-U "$shm/$id.sock")
        url[$id]="nbd+unix:///?socket=$shm/$id.sock"
    fi
    rm -f "$pidf" "$shm/$id.sock"
    if [ "$kind" = nbdkit ]; then
        "${pre[@]}" nbdkit -P "$pidf" "${listen[@]}" "$@"
    else
        "${pre[@]}" "$theirs_nbd" --fork --pid-file="$pidf" "${listen[@]}" "$@"
    fi
    for _ in $(seq 300); do [ -s "$pidf" ] && break; sleep 0.01; done
    pids+=("$(cat "$pidf")")
}
stop_last() {     # the last server started, and wait until it is gone
    local p=${pids[-1]}
    unset 'pids[-1]'
    kill "$p"
    for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.01; done
}
stop_servers() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.01; done
    done
    pids=()
}
declare -A url

variants=("ours|ours" "nbdcopy|nbdcopy" "nbdcopy --flush|nbdcopy --flush"
          "7.2 -m 8 -W|7.2")
for q in ${OURS_Q:-}; do variants+=("ours $q|ours?$q"); done
nv=${#variants[@]}
declare -A times

copy() {    # LINK VARIANT SRC DST
    local link=$1 how=$2 src=$3 dst=$4 q="" sep
    case "$how" in
    ours*)
        [ "$how" != "${how#ours?}" ] && q=${how#ours?}
        # shellcheck disable=SC2329
        addq() { case "$1" in nbd*\?*) echo "$1&$q" ;; nbd*) echo "$1?$q" ;; *) echo "$1" ;; esac; }
        if [ -n "$q" ]; then src=$(addq "$src"); dst=$(addq "$dst"); fi
        on "$link" "$ours" convert -n -f raw -O raw "$src" "$dst" ;;
    "nbdcopy --flush") on "$link" nbdcopy --flush "$src" "$dst" ;;
    nbdcopy) on "$link" nbdcopy "$src" "$dst" ;;
    7.2) on "$link" "$theirs" convert -n -m 8 -W -f raw -O raw "$src" "$dst" ;;
    esac
}
timed() {   # KEY CMD...
    local key=$1 s e; shift
    s=$(date +%s.%N)
    "$@"
    e=$(date +%s.%N)
    times[$key]+=" $(echo "$e - $s" | bc)"
}
check() {   # WHAT DATA LABEL
    local got
    case "$1" in
    mem) got=$(on "$link" "$theirs" convert -f raw -O raw "${url[mem]}" "$shm/check.raw" &&
               md5sum < "$shm/check.raw" | cut -d' ' -f1) ;;
    file) got=$(md5sum < "$shm/out.raw" | cut -d' ' -f1) ;;
    esac
    rm -f "$shm/check.raw"
    [ "$got" = "${sums[$2]}" ] || { echo "MISMATCH: $3" >&2; exit 1; }
}

for link in $links; do
    if [ "$link" = tcp ]; then
        "$ns/netns-latency.sh" start "$name" "$delay" --dir "$shm/wire" >/dev/null
        rtt=$(ip netns exec "$name-c" ping -c 20 -i 0.05 -q 10.199.0.2 | tail -1 | awk -F/ '{print $5}')
        echo "TCP through a ${delay} us link (ping RTT $rtt ms)"
    else
        echo "unix sockets"
    fi
    for data in os sparse; do
        cp "$shm/$data.raw" "$shm/src.raw"
        serve "$link" qemu-nbd src -t -e 4 -r -f raw "$shm/src.raw"
        for r in $(seq 1 "$runs"); do
            for k in $(seq 0 $((nv - 1))); do
                IFS='|' read -r label how <<<"${variants[$(( (k + r) % nv ))]}"
                # file -> NBD: a fresh nbdkit memory each time
                serve "$link" nbdkit mem memory "$size"
                timed "$link|$data|file->nbd|$label" copy "$link" "$how" "$shm/$data.raw" "${url[mem]}"
                check mem "$data" "$label file->nbd"
                stop_last
                # NBD -> file
                rm -f "$shm/out.raw"; truncate -s "$bytes" "$shm/out.raw"
                timed "$link|$data|nbd->file|$label" copy "$link" "$how" "${url[src]}" "$shm/out.raw"
                check file "$data" "$label nbd->file"
                rm -f "$shm/out.raw"
                # NBD -> NBD
                serve "$link" nbdkit mem memory "$size"
                timed "$link|$data|nbd->nbd|$label" copy "$link" "$how" "${url[src]}" "${url[mem]}"
                check mem "$data" "$label nbd->nbd"
                stop_last
            done
        done
        stop_servers
    done
    [ "$link" = tcp ] && "$ns/netns-latency.sh" stop "$name" >/dev/null
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
printf '%-5s %-7s %-10s %-26s %7s %12s %10s\n' link data direction variant median \
    "vs nbdcopy-f" "vs 7.2 -W"
for link in $links; do
    for data in os sparse; do
        for dir in file-\>nbd nbd-\>file nbd-\>nbd; do
            bf=$(echo "${times["$link|$data|$dir|nbdcopy --flush"]}" | median)
            b7=$(echo "${times["$link|$data|$dir|7.2 -m 8 -W"]}" | median)
            for v in "${variants[@]}"; do
                IFS='|' read -r label _ <<<"$v"
                m=$(echo "${times["$link|$data|$dir|$label"]}" | median)
                printf '%-5s %-7s %-10s %-26s %7.2f %11.2fx %9.2fx\n' "$link" "$data" "$dir" \
                    "$label" "$m" "$(echo "$bf / $m" | bc -l)" "$(echo "$b7 / $m" | bc -l)"
                if [ -n "${BENCH_CSV:-}" ]; then
                    echo "nbd,$link,$data,$dir,$label,$m,${times["$link|$data|$dir|$label"]# }" >> "$BENCH_CSV"
                fi
            done
        done
    done
done
