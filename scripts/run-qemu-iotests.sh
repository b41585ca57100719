#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run QEMU's own iotests (tests/qemu-iotests of a QEMU git directory) on
# our binaries, or on the system's 7.2 ones for the baseline.  Nothing of
# QEMU's is kept here: the tests and python/ are extracted from the given
# commit into a temporary directory and removed afterwards.
#
#   scripts/run-qemu-iotests.sh [options] QEMU_GIT_DIR [TEST...]
#     -c COMMIT     commit to take the tests from (default b67b00e6b4, v7.2.0)
#     -f FMTS       formats, comma separated (default raw,qcow2)
#     -p PROTO      protocol: file (default) or nbd (images served by the
#                   qemu-nbd under test, as QEMU's ./check -nbd does)
#     --system      run 7.2's binaries (/usr/bin) instead of ours
#     -b BUILD      our build directory (default build/)
#     -k DIR        keep the extracted tree and the .out.bad files in DIR
#
# Tests that need a VM get a QEMU_PROG that answers only the runner's
# questions and fails to start; those that need the storage daemon get
# ours (7.2's with --system).  Prints "PASS|FAIL|NOTRUN format
# test [reason]" per test and "N passed, M failed, K not run".
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
commit=b67b00e6b4
fmts=raw,qcow2
proto=file
system=0
build=$here/build
keep=
while [ $# -gt 0 ]; do
    case "$1" in
    -c) commit=$2; shift ;;
    -f) fmts=$2; shift ;;
    -p) proto=$2; shift ;;
    --system) system=1 ;;
    -b) build=$2; shift ;;
    -k) keep=$2; shift ;;
    -h|--help) sed -n '3,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
    shift
done
[ $# -ge 1 ] || { echo "usage: $0 [options] QEMU_GIT_DIR [TEST...]" >&2; exit 2; }
git_dir=$1
shift

if [ -n "$keep" ]; then
    tree=$keep
    mkdir -p "$tree"
else
    tree=$(mktemp -d)
    trap 'rm -rf "$tree"' EXIT
fi
git --git-dir="$git_dir" archive "$commit" tests/qemu-iotests python |
    tar -x -C "$tree" || exit 2

# a VM (and, for now, qemu-nbd and the storage daemon) is not ours
stubs=$tree/stubs
mkdir -p "$stubs"
cat >"$stubs/qemu-system-x86_64" <<'EOF'
#!/bin/sh
case "$*" in
*"-machine help"*)
    echo "Supported machines are:"
    echo "pc                   Standard PC (default)"
    exit 0 ;;
*"format=help"*)
    # _require_drivers asks the VM; the block layer's list is qemu-img's
    "$QEMU_IMG_PROG" --help | grep '^Supported formats:'
    exit 0 ;;
esac
echo "$(basename "$0"): not available in this run" >&2
exit 1
EOF
chmod +x "$stubs/qemu-system-x86_64"
cp "$stubs/qemu-system-x86_64" "$stubs/qemu-nbd"
cp "$stubs/qemu-system-x86_64" "$stubs/qemu-storage-daemon"

export QEMU_PROG=$stubs/qemu-system-x86_64
export QSD_PROG=$stubs/qemu-storage-daemon
if [ "$system" = 1 ]; then
    export QEMU_IMG_PROG=/usr/bin/qemu-img QEMU_IO_PROG=/usr/bin/qemu-io
    export QEMU_NBD_PROG=/usr/bin/qemu-nbd
    [ -x /usr/bin/qemu-storage-daemon ] &&
        QSD_PROG=/usr/bin/qemu-storage-daemon
else
    [ -x "$build/storage-daemon/qemu-storage-daemon" ] &&
        QSD_PROG=$build/storage-daemon/qemu-storage-daemon
    export QEMU_IMG_PROG=$build/qemu-img/qemu-img
    export QEMU_IO_PROG=$build/qemu-io/qemu-io
    export QEMU_NBD_PROG=$stubs/qemu-nbd
    [ -x "$build/qemu-nbd/qemu-nbd" ] && QEMU_NBD_PROG=$build/qemu-nbd/qemu-nbd
fi

pass=0 fail=0 notrun=0
cd "$tree/tests/qemu-iotests" || exit 2
for fmt in ${fmts//,/ }; do
    log=$tree/check-$fmt.log
    ./check -"$fmt" -"$proto" "$@" >"$log" 2>&1
    # keep each format's differences apart (the next run reuses scratch/)
    mkdir -p "$tree/bad-$fmt"
    find . -name '*.out.bad' -exec mv -t "$tree/bad-$fmt" {} + 2>/dev/null
    # the runner's result lines: "NNN ... \rNNN   pass|fail|not run
    # [start] [end]   time   reason"
    while IFS=$'\t' read -r name status reason; do
        case $status in
        pass) echo "PASS $fmt $name"; pass=$((pass + 1)) ;;
        fail) echo "FAIL $fmt $name ${reason%% (see*}" \
                "${keep:+(see $tree/bad-$fmt/$name.out.bad)}"
              fail=$((fail + 1)) ;;
        "not run") echo "NOTRUN $fmt $name $reason"; notrun=$((notrun + 1)) ;;
        esac
    done < <(python3 - "$log" <<'PY'
import re, sys
for line in open(sys.argv[1], errors='replace'):
    line = line.rstrip('\n').split('\r')[-1]
    m = re.match(r'^(\S+)\s+(pass|fail|not run)\s+\[[^]]*\]\s+\[[^]]*\]'
                 r'\s+\S+\s*(.*)$', line)
    if m:
        print('\t'.join(m.groups()))
PY
)
done
echo "$pass passed, $fail failed, $notrun not run"
[ "$fail" -eq 0 ]
