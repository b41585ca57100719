#!/bin/bash
# nfs-server.sh - run NFS-Ganesha (userspace NFSv3 + NFSv4 server, VFS FSAL)
# exporting DIR/export as /export, in the foreground under our control.
#
#   nfs-server.sh start [--dir DIR] [--mode loopback|netns] [--netns NS]
#                      [--addr 127.0.0.1] [--nfs-port N|auto] [--mnt-port N|auto]
#                      [--v4-minors "0, 1"]   (NFSv4 minor versions served;
#                                             default ganesha's: 0, 1, 2)
#                      [--v4-lease SECONDS]   (NFSv4 lease; default 60)
#   nfs-server.sh stop   DIR [--rm]
#   nfs-server.sh status DIR
#
# Ganesha 4.3 (Debian 12) refuses to start unless it can register with a
# portmapper ("Cannot register NFS V3 on TCP", fatal).  Both modes therefore
# run a private rpcbind inside a private mount namespace (tmpfs on /run, so
# /run/rpcbind.sock and /run/rpcbind.lock never touch the host's /run):
#
#  --mode loopback (default): ganesha in the CURRENT network namespace bound
#     to --addr (127.0.0.1) on --nfs-port/--mnt-port (default auto = free
#     ports).  rpcbind lives in an empty network namespace of its own and is
#     only a registration sink reached over its unix socket, so nothing
#     answers on port 111.  Clients must name the ports:
#         nfs://127.0.0.1/export/FILE?nfsport=N&mountport=M
#     (libnfs >= 4.0 URL syntax: nfs-ls, nfs-cp, nfs_parse_url_full()).
#     QEMU's nfs driver can NOT be used (it rejects nfsport/mountport).
#  --mode netns: ganesha + rpcbind inside network namespace --netns NS
#     (created with lo up if missing), ports 2049/20048 by default, rpcbind on
#     111 inside the namespace.  Clients run with `ip netns exec NS ...` and
#     plain URLs nfs://127.0.0.1/export/FILE (QEMU works), or from a peer
#     namespace (see netns-latency.sh).
#
# start prints shell assignments (also kept in DIR/env): DIR, GANESHA_PID,
# RPCBIND_PID, NFS_PORT, MNT_PORT, NETNS, EXPORT_DIR, NFS_URL (prefix,
# append FILE[?query]), NFS_QUERY (the ?nfsport=..&mountport=.. part).
# Packages: nfs-ganesha nfs-ganesha-vfs rpcbind iproute2 util-linux.
set -euo pipefail

die() { echo "nfs-server.sh: $*" >&2; exit 1; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1")" != Z ]; }

in_ns() { if [ -n "${NETNS:-}" ]; then ip netns exec "$NETNS" "$@"; else "$@"; fi; }

listening() {  # pid port
    in_ns ss -Htlnp "sport = :$2" 2>/dev/null | grep -q "pid=$1,"
}

pick_port() {
    local p
    for _ in $(seq 1 200); do
        p=$(( 20000 + RANDOM % 20000 ))
        in_ns ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
    done
    die "no free port"
}

plugins_dir() {
    local d
    for d in /usr/lib/x86_64-linux-gnu/ganesha /usr/lib/$(uname -m)-linux-gnu/ganesha \
             /usr/lib64/ganesha /usr/lib/ganesha; do
        [ -e "$d/libfsalvfs.so" ] && { echo "$d"; return; }
    done
    d=$(dpkg -L nfs-ganesha-vfs 2>/dev/null | grep 'libfsalvfs.so$' | head -1)
    [ -n "$d" ] || die "libfsalvfs.so not found (apt-get install nfs-ganesha-vfs)"
    dirname "$d"
}

cmd_status() {
    local dir=$1
    [ -f "$dir/env" ] || { echo "not started"; return 1; }
    # shellcheck disable=SC1091
    . "$dir/env"
    if alive "$GANESHA_PID" && listening "$GANESHA_PID" "$NFS_PORT"; then
        echo running; cat "$dir/env"; return 0
    fi
    echo stopped; return 1
}

cmd_stop() {
    local dir=$1 rm=${2:-}
    if [ -f "$dir/env" ]; then
        # shellcheck disable=SC1091
        . "$dir/env"
        local p
        # SIGTERM = clean shutdown of ganesha (takes ~2 s); the wrapper then
        # stops rpcbind and its tmpfs /run disappears with the mount namespace.
        for p in ${GANESHA_PID:-}; do alive "$p" && kill -TERM "$p" 2>/dev/null || true; done
        for _ in $(seq 1 100); do alive "${GANESHA_PID:-}" || break; sleep 0.1; done
        alive "${GANESHA_PID:-}" && kill -KILL "$GANESHA_PID" 2>/dev/null || true
        for p in ${RPCBIND_PID:-}; do alive "$p" && kill -TERM "$p" 2>/dev/null || true; done
        for _ in $(seq 1 30); do alive "${RPCBIND_PID:-}" || break; sleep 0.1; done
        alive "${RPCBIND_PID:-}" && kill -KILL "$RPCBIND_PID" 2>/dev/null || true
        for p in ${WRAPPER_PID:-}; do alive "$p" && kill -TERM "$p" 2>/dev/null || true; done
        echo "stopped ganesha ${GANESHA_PID:-?} rpcbind ${RPCBIND_PID:-?} ($dir)"
    fi
    if [ "$rm" = "--rm" ]; then rm -rf "$dir"; fi
}

cmd_start() {
    local dir="" mode=loopback addr="" nfsport="" mntport="" minors="" lease=""
    NETNS=""
    while [ $# -gt 0 ]; do
        case $1 in
            --dir) dir=$2; shift 2 ;;
            --mode) mode=$2; shift 2 ;;
            --netns) NETNS=$2; shift 2 ;;
            --addr) addr=$2; shift 2 ;;
            --nfs-port) nfsport=$2; shift 2 ;;
            --mnt-port) mntport=$2; shift 2 ;;
            --v4-minors) minors="Minor_Versions = $2;"; shift 2 ;;
            --v4-lease) lease="Lease_Lifetime = $2;"; shift 2 ;;
            *) die "unknown option $1" ;;
        esac
    done
    command -v ganesha.nfsd >/dev/null || die "ganesha.nfsd not found (apt-get install nfs-ganesha nfs-ganesha-vfs)"
    command -v rpcbind >/dev/null || [ -x /sbin/rpcbind ] || die "rpcbind not found (apt-get install rpcbind)"
    case $mode in
        loopback) [ -z "$NETNS" ] || die "--netns needs --mode netns"
                  : "${addr:=127.0.0.1}" "${nfsport:=auto}" "${mntport:=auto}" ;;
        netns) [ -n "$NETNS" ] || die "--mode netns needs --netns NS"
               : "${nfsport:=2049}" "${mntport:=20048}"
               if ! ip netns list | grep -qw "^$NETNS"; then
                   ip netns add "$NETNS"
               fi
               ip -n "$NETNS" link set lo up ;;
        *) die "bad --mode $mode" ;;
    esac
    if [ -z "$dir" ]; then dir=$(mktemp -d /tmp/netstorage-nfs.XXXXXX); fi
    mkdir -p "$dir/export" "$dir/recov"; dir=$(cd "$dir" && pwd)
    if ( cmd_status "$dir" ) >/dev/null 2>&1; then cat "$dir/env"; return 0; fi
    [ "$nfsport" = auto ] && nfsport=$(pick_port)
    [ "$mntport" = auto ] && { mntport=$(pick_port); [ "$mntport" != "$nfsport" ] || mntport=$(pick_port); }

    # Bind_addr: inside a namespace that only has lo, a literal 127.0.0.1
    # fails to parse ("No IP address found for 127.0.0.1": ganesha resolves
    # with AI_ADDRCONFIG), so netns mode leaves it at the wildcard.
    local bind=""
    [ -n "$addr" ] && bind="Bind_addr = $addr;"
    cat >"$dir/ganesha.conf" <<EOF
NFS_CORE_PARAM {
    $bind
    NFS_Port = $nfsport;
    MNT_Port = $mntport;
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
    Protocols = 3, 4;
    mount_path_pseudo = true;
    Plugins_Dir = $(plugins_dir);
}
NFS_KRB5 { Active_krb5 = false; }
NFSv4 {
    $minors
    $lease
    Graceless = true;
    RecoveryRoot = $dir/recov;
}
EXPORT {
    Export_Id = 1;
    Path = $dir/export;
    Pseudo = /export;
    Protocols = 3, 4;
    Transports = TCP;
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    FSAL { Name = VFS; }
}
LOG { Default_Log_Level = EVENT; }
EOF
    local rpcbind_cmd="rpcbind -f"
    [ "$mode" = loopback ] && rpcbind_cmd="unshare --net rpcbind -f"
    cat >"$dir/inner.sh" <<EOF
#!/bin/sh
# runs in a private mount namespace (and in \$NETNS for --mode netns)
D=$dir
mount -t tmpfs -o size=8m,mode=755 tmpfs /run || exit 1
mkdir -p /run/rpcbind
$rpcbind_cmd </dev/null >\$D/rpcbind.log 2>&1 &
RPC=\$!
echo \$RPC > \$D/rpcbind.pid
i=0; while [ ! -S /run/rpcbind.sock ] && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i+1)); done
ganesha.nfsd -F -f \$D/ganesha.conf -L \$D/ganesha.log -p \$D/ganesha.pid -N NIV_EVENT </dev/null >\$D/ganesha.stdout 2>&1 &
G=\$!
echo \$G > \$D/ganesha.pid2
trap 'kill -TERM \$G 2>/dev/null' TERM INT
wait \$G
kill -TERM \$RPC 2>/dev/null
wait \$RPC
EOF
    rm -f "$dir/rpcbind.pid" "$dir/ganesha.pid2"
    : >"$dir/ganesha.log"
    local -a pre=()
    [ "$mode" = netns ] && pre=(ip netns exec "$NETNS")
    "${pre[@]}" unshare --mount --propagation private sh "$dir/inner.sh" \
        </dev/null >"$dir/wrapper.log" 2>&1 &
    local wpid=$! gpid="" ok=0
    for _ in $(seq 1 100); do
        alive "$wpid" || break
        [ -z "$gpid" ] && [ -s "$dir/ganesha.pid2" ] && gpid=$(cat "$dir/ganesha.pid2")
        if [ -n "$gpid" ] && listening "$gpid" "$nfsport" && listening "$gpid" "$mntport"; then
            ok=1; break
        fi
        sleep 0.1
    done
    if [ $ok != 1 ]; then
        cat "$dir/wrapper.log" "$dir/ganesha.stdout" 2>/dev/null >&2 || true
        grep -E 'CRIT|MAJ|FATAL' "$dir/ganesha.log" | grep -v -E 'DBUS|krb5|principal' >&2 || true
        [ -n "$gpid" ] && kill -KILL "$gpid" 2>/dev/null || true
        [ -s "$dir/rpcbind.pid" ] && kill -KILL "$(cat "$dir/rpcbind.pid")" 2>/dev/null || true
        die "ganesha did not come up (see $dir/ganesha.log)"
    fi
    local host=${addr:-127.0.0.1} query="?nfsport=$nfsport&mountport=$mntport"
    [ "$mode" = netns ] && query=""
    cat >"$dir/env" <<EOF
DIR=$dir
MODE=$mode
NETNS=$NETNS
GANESHA_PID=$gpid
RPCBIND_PID=$(cat "$dir/rpcbind.pid")
WRAPPER_PID=$wpid
NFS_PORT=$nfsport
MNT_PORT=$mntport
EXPORT_DIR=$dir/export
NFS_URL=nfs://$host/export/
NFS_QUERY='$query'
EOF
    cat "$dir/env"
}

case ${1:-} in
    start) shift; cmd_start "$@" ;;
    stop) shift; [ $# -ge 1 ] || die "usage: stop DIR [--rm]"; cmd_stop "$@" ;;
    status) shift; [ $# -ge 1 ] || die "usage: status DIR"; NETNS=""; cmd_status "$1" ;;
    *) sed -n '2,33p' "$0"; exit 2 ;;
esac
