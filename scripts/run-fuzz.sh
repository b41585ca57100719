#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run one libFuzzer target of build-fuzz/ (make fuzz):
#   scripts/run-fuzz.sh BUILD_DIR TARGET
# from its seed corpora (tests/fuzz/meson.build names them), for
# FUZZ_TIME seconds or FUZZ_RUNS executions.  New inputs go to
# BUILD_DIR/corpus-TARGET (kept between runs), crashes to
# BUILD_DIR/crash-TARGET/.  Prints the executions, their rate and the
# coverage reached; exits non-zero on a finding.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
build=$1 target=$2
bin="$build/tests/fuzz/$target"
corpus="$build/corpus-$target"
crashes="$build/crash-$target"
mkdir -p "$corpus" "$crashes"

seeds=()
case $target in
fuzz-options) seeds=("$here/tests/fuzz/corpus-options") ;;
fuzz-qcow2) seeds=("$here/tests/fuzz/corpus-qcow2") ;;
fuzz-nbd-server|fuzz-qmp) seeds=("$here/tests/fuzz/corpus-${target#fuzz-}") ;;
*) seeds=("$here/tests/fuzz/corpus-qcow2"
          "$here/tests/fuzz/corpus-${target#fuzz-}") ;;
esac

limit=(-max_total_time="${FUZZ_TIME:-60}")
[ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# leaks are findings too; inputs up to 256 KiB; 2 GiB of memory at most
"$bin" -seed=1 "${limit[@]}" -rss_limit_mb=2048 -max_len=262144 \
    -artifact_prefix="$crashes/" -print_final_stats=1 \
    "$corpus" "${seeds[@]}" >"$log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
echo "$target: ${runs:-?} executions, ${rate:-?}/s, ${cov:-cov: ?}, exit $rc"
if [ $rc -ne 0 ]; then
    grep -A30 'ERROR: \|==ERROR\|runtime error' "$log" | head -60
fi
exit $rc
