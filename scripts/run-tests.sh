#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run every test: the GTest unit tests (meson), the iotests with our
# binaries, and the iotests against the system's qemu-img/qemu-io (the
# oracle that keeps the golden files honest).  Prints one summary line,
# "N passed, M failed", counting every unit test case and iotest.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$here/build}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

pass=0 fail=0 skip=0

# Unit tests: count TAP results of every GTest case.
echo "=== unit tests"
meson test -C "$build" --suite unit --print-errorlogs >"$log" 2>&1
unit_rc=$?
tap=$(find "$build/meson-logs" -name testlog.txt)
up=$(grep -cE '^ok [0-9]+' "$tap" || true)
uf=$(grep -cE '^not ok [0-9]+' "$tap" || true)
grep -E '^(ok|not ok) [0-9]+' "$tap" | sed 's/^/  /'
if [ $unit_rc -ne 0 ] && [ "$uf" -eq 0 ]; then
    cat "$log"
    uf=1        # a crash before any TAP line still counts as a failure
fi
pass=$((pass + up)); fail=$((fail + uf))

run_iotests() {
    local title=$1; shift
    echo "=== $title"
    "$here/tests/qemu-iotests/check" "$@" | tee "$log"
    local line
    line=$(tail -n1 "$log")
    local p f s
    read -r p _ f _ s _ <<<"$(echo "$line" | tr ',' ' ')"
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
}

oracle="oracle: system qemu-img $(qemu-img --version 2>/dev/null | head -n1 | awk '{print $3}')"
for fmt in raw qcow2; do
    # each test declares its formats; the rest are not run for this one
    BUILD_DIR=$build run_iotests "iotests -$fmt (ours)" -$fmt
    run_iotests "iotests -$fmt ($oracle)" -$fmt -oracle
done
# network protocols: each test starts its own server on loopback
for proto in nfs iscsi nbd; do
    BUILD_DIR=$build run_iotests "iotests -$proto (ours)" -raw -$proto
    run_iotests "iotests -$proto ($oracle)" -raw -$proto -oracle
done

echo
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
