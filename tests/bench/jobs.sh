#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Block jobs, ours against QEMU 7.2's qemu-storage-daemon (Debian's
# qemu-system-common) in the same run: a full mirror (time to READY and
# to complete) and a full backup (time to complete) of a realistic
# qcow2 "OS disk" into a new qcow2 and into a new raw image, idle (no
# guest writing).  Ours runs through the C API (tests/bench/job-bench);
# 7.2's daemon is driven over QMP (blockdev-add, blockdev-mirror or
# blockdev-backup, job-complete), timed from the command to the event.
# Every target is compared with the source by the real qemu-img.
#
#   tests/bench/jobs.sh [SIZE=1G] [RUNS=3] [DIR=a new directory in /var/tmp]
#
# Then both daemons (ours and 7.2's) through the same QMP: the source
# exported over NBD (unix socket) and read whole by nbdcopy; and a full
# mirror while a guest (7.2's qemu-io, 1 MiB writes at random offsets)
# writes through that export, timed to READY and to the pivot; the
# target is compared with the source once both daemons are gone.
#
# Medians of RUNS; the ratio is 7.2's time over ours (above 1: we are
# faster).  Not a test: nothing here passes or fails on time.
set -euo pipefail
size=${1:-1G}
runs=${2:-3}
here=$(cd "$(dirname "$0")/../.." && pwd)
bench=${JOB_BENCH:-$here/build/tests/bench/job-bench}
qsd=${QSD:-/usr/bin/qemu-storage-daemon}
our_qsd=${OUR_QSD:-$here/build/storage-daemon/qemu-storage-daemon}
io=${REAL_QEMU_IO:-/usr/bin/qemu-io}
img=${REAL_QEMU_IMG:-/usr/bin/qemu-img}
dir=${3:-$(mktemp -d /var/tmp/jobs-bench.XXXXXX)}
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    rm -rf "$dir"
    "$here/tests/bench/memwarm.sh" stop
}
trap cleanup EXIT
"$here/tests/bench/memwarm.sh" start
[ -x "$bench" ] || { echo "build first: $bench missing" >&2; exit 1; }
[ -x "$qsd" ] || { echo "no $qsd (qemu-system-common)" >&2; exit 1; }

"$here/tests/bench/os-disk.sh" "$dir/os.raw" "$size" > /dev/null
"$img" convert -O qcow2 "$dir/os.raw" "$dir/src.qcow2"
rm -f "$dir/os.raw"

# A python QMP client on socket $1 (negotiated: cmd(), wait() for an
# event, a failed job ends it), then the script on stdin with "$@" as
# sys.argv[1:]
qmp_py() {
    { cat <<'PY'
import json, random, socket, subprocess, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
f = s.makefile('rw')
def recv():
    return json.loads(f.readline())
def cmd(name, **args):
    f.write(json.dumps({'execute': name, 'arguments': args}) + '\n'); f.flush()
    while True:
        m = recv()
        if 'return' in m: return m
        if 'error' in m: sys.exit('qmp: ' + m['error']['desc'])
def wait(event):
    while True:
        m = recv()
        if m.get('event') == event: return
        if m.get('event') == 'BLOCK_JOB_COMPLETED' and m['data'].get('error'):
            sys.exit('job: ' + m['data']['error'])
recv(); cmd('qmp_capabilities')
PY
      cat; } | python3 - "$@"
}

# QMP for 7.2's daemon: JOB TARGET_FMT -> "ready S complete S"
theirs() {
    local job=$1 fmt=$2 sock=$dir/qmp.sock
    rm -f "$sock"
    "$qsd" --chardev socket,id=m,path="$sock",server=on,wait=off \
        --monitor chardev=m & pid=$!
    for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
    qmp_py "$sock" "$job" "$dir/src.qcow2" "$dir/dst.$fmt" "$fmt" <<'PY'
sock, job, src, dst, fmt = sys.argv[1:]
cmd('blockdev-add', **{'node-name': 'src', 'driver': 'qcow2',
    'file': {'driver': 'file', 'filename': src}})
cmd('blockdev-add', **{'node-name': 'dst', 'driver': fmt,
    'file': {'driver': 'file', 'filename': dst}})
t0 = time.monotonic()
if job == 'mirror':
    cmd('blockdev-mirror', **{'job-id': 'j', 'device': 'src', 'target': 'dst',
        'sync': 'full'})
    wait('BLOCK_JOB_READY'); ready = time.monotonic() - t0
    cmd('job-complete', id='j')
else:
    cmd('blockdev-backup', **{'job-id': 'j', 'device': 'src', 'target': 'dst',
        'sync': 'full'})
    ready = None
wait('BLOCK_JOB_COMPLETED'); done = time.monotonic() - t0
print('ready %.3f complete %.3f' % (ready if ready is not None else done, done))
cmd('quit')
PY
    wait "$pid" 2>/dev/null || true
    pid=
}

ours() {
    "$bench" "$1" "$dir/src.qcow2" "$dir/dst.$2"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# CASE WHAT: a table row from the times in t[theirs.WHAT], t[ours.WHAT]
row() {
    local a b
    a=$(echo "${t[theirs.$2]}" | tr ' ' '\n' | grep . | median)
    b=$(echo "${t[ours.$2]}" | tr ' ' '\n' | grep . | median)
    printf '%-14s %-9s %9.3fs %9.3fs %6.2fx\n' "$1" "$2" "$a" "$b" \
        "$(echo "$a / $b" | bc -l)"
}

vsize=$("$img" info --output=json "$dir/src.qcow2" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
printf '%-14s %-9s %10s %10s %7s\n' case what 7.2 ours ratio
for job in mirror backup; do
    for fmt in qcow2 raw; do
        declare -A t=()
        for r in $(seq "$runs"); do
            for who in theirs ours; do
                rm -f "$dir/dst.$fmt"
                "$img" create -q -f "$fmt" "$dir/dst.$fmt" "$vsize"
                sync
                out=$($who "$job" "$fmt")
                "$img" compare -q -f qcow2 -F "$fmt" "$dir/src.qcow2" \
                    "$dir/dst.$fmt" || { echo "$who $job $fmt: differs" >&2; exit 1; }
                t[$who.ready]+="$(echo "$out" | awk '{print $2}') "
                t[$who.done]+="$(echo "$out" | awk '{print $4}') "
            done
        done
        for what in ready done; do
            [ "$job" = backup ] && [ "$what" = ready ] && continue
            row "$job->$fmt" "$what"
        done
        unset t
    done
done

# ---- both daemons through QMP: an NBD export, and a mirror under a guest

# DAEMON CASE -> "read S" (nbdcopy of the export) or "ready S complete S"
# (mirror to dst.qcow2 while a guest writes through the export)
daemon_run() {
    local daemon=$1 case=$2 sock=$dir/qmp.sock nbd=$dir/nbd.sock
    rm -f "$sock" "$nbd"
    "$daemon" --chardev socket,id=m,path="$sock",server=on,wait=off \
        --monitor chardev=m \
        --blockdev "{\"driver\": \"qcow2\", \"node-name\": \"src\", \"file\": {\"driver\": \"file\", \"filename\": \"$dir/src.qcow2\"}}" \
        --blockdev "{\"driver\": \"qcow2\", \"node-name\": \"dst\", \"file\": {\"driver\": \"file\", \"filename\": \"$dir/dst.qcow2\"}}" \
        --nbd-server addr.type=unix,addr.path="$nbd" \
        --export type=nbd,id=e,node-name=src,name=src,writable=on & pid=$!
    for _ in $(seq 100); do [ -S "$sock" ] && [ -S "$nbd" ] && break; sleep 0.05; done
    qmp_py "$sock" "$case" "nbd+unix:///src?socket=$nbd" "$io" "$vsize" <<'PY'
sock, case, url, io, vsize = sys.argv[1:]
t0 = time.monotonic()
if case == 'read':
    subprocess.run(['nbdcopy', url, 'null:'], check=True)
    print('read %.3f' % (time.monotonic() - t0))
else:
    # the guest: 1 MiB writes at random offsets until the pivot
    rnd = random.Random(1)
    cmds = []
    for i in range(400):
        cmds += ['-c', 'write -P %d %d 1M' % (i % 255 + 1,
                 rnd.randrange(int(vsize) >> 20) << 20)]
    guest = subprocess.Popen([io, '-f', 'raw'] + cmds + [url],
                             stdout=subprocess.DEVNULL)
    cmd('blockdev-mirror', **{'job-id': 'j', 'device': 'src',
        'target': 'dst', 'sync': 'full'})
    wait('BLOCK_JOB_READY'); ready = time.monotonic() - t0
    guest.wait()
    cmd('job-complete', id='j')
    wait('BLOCK_JOB_COMPLETED'); done = time.monotonic() - t0
    print('ready %.3f complete %.3f' % (ready, done))
cmd('quit')
PY
    wait "$pid" 2>/dev/null || true
    pid=
}

if [ -x "$our_qsd" ] && command -v nbdcopy > /dev/null; then
    "$img" convert -O qcow2 "$dir/src.qcow2" "$dir/pristine.qcow2"
    for case in read mirror; do
        declare -A t=()
        for r in $(seq "$runs"); do
            for who in theirs ours; do
                daemon=$qsd
                [ "$who" = ours ] && daemon=$our_qsd
                cp "$dir/pristine.qcow2" "$dir/src.qcow2"
                rm -f "$dir/dst.qcow2"
                "$img" create -q -f qcow2 "$dir/dst.qcow2" "$vsize"
                sync
                out=$(daemon_run "$daemon" "$case")
                if [ "$case" = mirror ]; then
                    "$img" compare -q "$dir/src.qcow2" "$dir/dst.qcow2" ||
                        { echo "$who mirror under a guest: differs" >&2; exit 1; }
                    t[$who.ready]+="$(echo "$out" | awk '{print $2}') "
                    t[$who.done]+="$(echo "$out" | awk '{print $4}') "
                else
                    t[$who.read]+="$(echo "$out" | awk '{print $2}') "
                fi
            done
        done
        for what in read ready done; do
            [ -n "${t[theirs.$what]:-}" ] || continue
            row "qsd-$case" "$what"
        done
        unset t
    done
fi
