#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The house limits, kept by `make check`:
#   - no source file (.c, .h) over 1200 lines;
#   - no function over 150 lines unless the line right above its
#     signature is a one-line comment giving the reason:
#         /* Long: <why it stays one function> */
#   - block/ never prints: no printf, fprintf, puts, error_report or
#     warn_report there (messages go through bdrv_message(), block.h).
# Prints each breach as FILE:LINE: message; exit 1 if there is any.
# With --tap, the result is one TAP test (meson runs it so in `make check`).
#
#   scripts/check-limits.sh [--tap] [DIR]   (default: the repository)
set -euo pipefail
tap=false
if [ "${1:-}" = --tap ]; then
    tap=true
    shift
fi
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
max_file=1200
max_func=150
cd "$root"
if git rev-parse --git-dir >/dev/null 2>&1; then
    files=$(git ls-files '*.c' '*.h')
else
    files=$(find . -name '*.[ch]' -not -path './build*' | sed 's|^\./||')
fi
status=0
report=$(mktemp)
trap 'rm -f "$report"' EXIT
for f in $files; do
    [ -f "$f" ] || continue
    n=$(wc -l < "$f")
    if [ "$n" -gt "$max_file" ]; then
        echo "$f:1: $n lines, over the limit of $max_file" >>"$report"
        status=1
    fi
    # A function: a signature that starts in column 0 (a name and "(",
    # not ending in ";"), continued on indented lines, then "{" alone in
    # column 0; the body ends at the first "}" in column 0.
    awk -v max="$max_func" -v file="$f" '
        in_body && /^}/ {
            len = NR - sig_line + 1
            if (len > max && reason !~ /^\/\* Long: .+\*\/$/) {
                printf "%s:%d: function %s is %d lines (over %d) with " \
                       "no /* Long: ... */ reason above it\n",
                       file, sig_line, name, len, max
                bad = 1
            }
            in_body = 0; sig_line = 0; next
        }
        in_body { next }
        /^{/ && sig_line { in_body = 1; next }
        /^[A-Za-z_].*\(/ && !/;[[:space:]]*$/ {
            sig_line = NR; reason = prev
            name = $0; sub(/\(.*/, "", name); sub(/.*[ *]/, "", name)
            prev = $0; next
        }
        !/^[[:space:]]/ { sig_line = 0 }
        { prev = $0 }
        END { exit bad }
    ' "$f" >>"$report" || status=1
done
# block/ never prints (block.c's message helpers print nothing either)
for f in $files; do
    case $f in block/*.c) ;; *) continue ;; esac
    grep -nE '(^|[^_a-z.])(f?printf|puts|fputs|error_report(_err)?|warn_report)[[:space:]]*\(' "$f" |
        grep -vE '^[0-9]+:[[:space:]]*(/?\*)' |
        sed "s|^\([0-9]*\):.*|$f:\1: block/ never prints: use bdrv_message()|" >>"$report" || true
done
grep -q 'never prints' "$report" && status=1
if $tap; then
    echo "1..1"
    sed 's/^/# /' "$report"
    if [ $status -eq 0 ]; then
        echo "ok 1 - files and functions within the limits"
    else
        echo "not ok 1 - files or functions over the limits"
    fi
else
    cat "$report"
fi
exit $status
