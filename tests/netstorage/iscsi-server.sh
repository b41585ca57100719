#!/bin/bash
# iscsi-server.sh - run a userspace iSCSI target (tgtd from Debian's "tgt")
# on loopback, with file-backed LUNs, no authentication.
#
#   iscsi-server.sh start [--dir DIR] [--addr 127.0.0.1] [--port 3261|auto]
#                        [--netns NS] [--size 1G] [--luns 1] [--blocksize 512]
#                        [--thin 1|0] [--tune] [--iqn IQN]
#   iscsi-server.sh stop   DIR [--rm]
#   iscsi-server.sh status DIR
#
# start prints shell assignments (also kept in DIR/env):
#   DIR=... TGTD_PID=... PORTAL=127.0.0.1:3261 IQN=... ISCSI_URL=iscsi://127.0.0.1:3261/IQN/1
#   TGT_IPC_SOCKET=...   (export it to use tgtadm on this instance)
# Several instances can run at once: each has its own DIR (control socket)
# and its own port.  Without --dir a new DIR is made with mktemp under /tmp.
# Calling start again with the same DIR while it runs just prints its env.
#
# Run as root (tgtd is a plain userspace daemon, but --netns needs root).
# Packages: tgt (tgtd, tgtadm), iproute2 (ss, ip).
set -euo pipefail

die() { echo "iscsi-server.sh: $*" >&2; exit 1; }

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# true if process $1 listens on TCP port $2 (in its own netns)
listening() {
    local pid=$1 port=$2
    if [ -n "${NETNS:-}" ]; then
        ip netns exec "$NETNS" ss -Htlnp "sport = :$port" 2>/dev/null | grep -q "pid=$pid,"
    else
        ss -Htlnp "sport = :$port" 2>/dev/null | grep -q "pid=$pid,"
    fi
}

pick_port() {
    local p
    for _ in $(seq 1 200); do
        p=$(( 20000 + RANDOM % 20000 ))
        if [ -n "${NETNS:-}" ]; then
            ip netns exec "$NETNS" ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
        else
            ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
        fi
    done
    die "no free port found"
}

cmd_status() {
    local dir=$1
    [ -f "$dir/env" ] || { echo "not started ($dir/env missing)"; return 1; }
    # shellcheck disable=SC1091
    . "$dir/env"
    if alive "$TGTD_PID" && listening "$TGTD_PID" "$PORT"; then
        echo "running"; cat "$dir/env"; return 0
    fi
    echo "stopped"; return 1
}

cmd_stop() {
    local dir=$1 rm=${2:-}
    if [ -f "$dir/env" ]; then
        # shellcheck disable=SC1091
        . "$dir/env"
        if alive "$TGTD_PID" && grep -q tgtd "/proc/$TGTD_PID/cmdline" 2>/dev/null; then
            # tgtd ignores SIGTERM/SIGINT.  Clean way: delete targets, then
            # "delete system"; fall back to SIGKILL.
            export TGT_IPC_SOCKET
            for tid in $(tgtadm --lld iscsi --mode target --op show 2>/dev/null |
                         sed -n 's/^Target \([0-9]*\):.*/\1/p'); do
                tgtadm --lld iscsi --mode target --op delete --force --tid "$tid" || true
            done
            tgtadm --op delete --mode system >/dev/null 2>&1 || true
            for _ in $(seq 1 30); do alive "$TGTD_PID" || break; sleep 0.1; done
            if alive "$TGTD_PID" && [ "$(ps -o stat= -p "$TGTD_PID")" != Z ]; then
                kill -KILL "$TGTD_PID" 2>/dev/null || true
            fi
        fi
        rm -f "$dir"/tgtd.sock.* 
        echo "stopped tgtd ${TGTD_PID:-?} ($dir)"
    fi
    if [ "$rm" = "--rm" ]; then rm -rf "$dir"; fi
}

cmd_start() {
    local dir="" addr=127.0.0.1 port=3261 size=1G luns=1 bs=512 thin=1 tune=0
    local iqn=""
    NETNS=""
    while [ $# -gt 0 ]; do
        case $1 in
            --dir) dir=$2; shift 2 ;;
            --addr) addr=$2; shift 2 ;;
            --port) port=$2; shift 2 ;;
            --netns) NETNS=$2; shift 2 ;;
            --size) size=$2; shift 2 ;;
            --luns) luns=$2; shift 2 ;;
            --blocksize) bs=$2; shift 2 ;;
            --thin) thin=$2; shift 2 ;;
            --tune) tune=1; shift ;;
            --iqn) iqn=$2; shift 2 ;;
            *) die "unknown option $1" ;;
        esac
    done
    command -v tgtd >/dev/null || die "tgtd not found (apt-get install tgt)"
    local made=""
    if [ -z "$dir" ]; then dir=$(mktemp -d /tmp/netstorage-iscsi.XXXXXX); made=1; fi
    mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
    if ( cmd_status "$dir" ) >/dev/null 2>&1; then cat "$dir/env"; return 0; fi
    [ "$port" = auto ] && port=$(pick_port)
    [ -n "$iqn" ] || iqn="iqn.2024-01.org.example.netstorage:p$port"

    # The control socket is $TGT_IPC_SOCKET.0 (tgtd appends ".<control port>").
    # Keep the path short: unix socket paths are limited to 107 bytes.
    local sock="$dir/tgtd.sock"
    rm -f "$sock".0 "$sock".0.lock
    local -a pre=()
    [ -n "$NETNS" ] && pre=(ip netns exec "$NETNS")
    # -f: foreground (no pid file is written in this mode; we keep $!).
    local host=$addr
    case $addr in *:*) host="[$addr]" ;; esac   # IPv6: portal=[::1]:3261
    TGT_IPC_SOCKET=$sock "${pre[@]}" tgtd -f --iscsi "portal=$host:$port" \
        </dev/null >"$dir/tgtd.log" 2>&1 &
    local pid=$!
    export TGT_IPC_SOCKET=$sock
    local ok=0
    for _ in $(seq 1 50); do
        alive "$pid" || break
        if [ -S "$sock.0" ] && listening "$pid" "$port"; then ok=1; break; fi
        sleep 0.1
    done
    if [ $ok != 1 ]; then
        # tgtd does NOT exit when the portal cannot be bound; it just logs.
        kill -KILL "$pid" 2>/dev/null || true
        cat "$dir/tgtd.log" >&2
        [ -n "$made" ] && rm -rf "$dir"
        die "tgtd did not come up on $host:$port"
    fi

    tgtadm --lld iscsi --mode target --op new --tid 1 --targetname "$iqn"
    local i
    for i in $(seq 1 "$luns"); do
        [ -f "$dir/lun$i.img" ] || truncate -s "$size" "$dir/lun$i.img"
        tgtadm --lld iscsi --mode logicalunit --op new --tid 1 --lun "$i" \
            --backing-store "$dir/lun$i.img" --blocksize "$bs"
        # thin_provisioning cannot be given at creation (--params is refused
        # for "op new"); it must be an update.  Enables LBPME/LBPRZ, the
        # Logical Block Provisioning VPD page (UNMAP, WRITE SAME(10/16) with
        # UNMAP) and makes GET LBA STATUS report holes (SEEK_HOLE on the file).
        if [ "$thin" = 1 ]; then
            tgtadm --lld iscsi --mode logicalunit --op update --tid 1 --lun "$i" \
                --params thin_provisioning=1
        fi
    done
    tgtadm --lld iscsi --mode target --op bind --tid 1 --initiator-address ALL
    if [ "$tune" = 1 ]; then
        # Defaults are InitialR2T=Yes, MaxRecvDataSegmentLength=8192,
        # FirstBurstLength=65536, MaxBurstLength=262144.  The initiator
        # (libiscsi 1.19) still caps MaxBurstLength/FirstBurstLength at 256 KiB
        # and MaxOutstandingR2T at 1, but this removes the 8 KiB PDUs and the
        # R2T before the first burst.
        local kv
        for kv in InitialR2T=No ImmediateData=Yes MaxRecvDataSegmentLength=262144 \
                  MaxXmitDataSegmentLength=262144 FirstBurstLength=262144 \
                  MaxBurstLength=16776192; do
            tgtadm --lld iscsi --mode target --op update --tid 1 \
                --name "${kv%%=*}" --value "${kv#*=}"
        done
    fi
    cat >"$dir/env" <<EOF
DIR=$dir
TGTD_PID=$pid
NETNS=$NETNS
PORT=$port
PORTAL=$host:$port
IQN=$iqn
ISCSI_URL=iscsi://$host:$port/$iqn/1
TGT_IPC_SOCKET=$sock
EOF
    cat "$dir/env"
}

case ${1:-} in
    start) shift; cmd_start "$@" ;;
    stop) shift; [ $# -ge 1 ] || die "usage: stop DIR [--rm]"; cmd_stop "$@" ;;
    status) shift; [ $# -ge 1 ] || die "usage: status DIR"; NETNS=""; cmd_status "$1" ;;
    *) sed -n '2,22p' "$0"; exit 2 ;;
esac
