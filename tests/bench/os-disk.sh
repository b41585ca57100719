#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A realistic "OS disk" for benchmarks, from files on this machine (nothing
# downloaded): an ext4 file system of SIZE made by mke2fs -d from a tree of
# files taken from SRC (default /usr) in sorted order until about FILL
# percent of SIZE (default 50) is used.  The tree is hard links (or copies
# across file systems) in a scratch directory, so SRC is only read.
#
#   tests/bench/os-disk.sh OUT.raw [SIZE=4G] [FILL=50] [SRC=/usr]
#
# Deterministic for a given machine: the same files in the same order.
set -euo pipefail
out=$1
size=${2:-4G}
fill=${3:-50}
src=${4:-/usr}
command -v mke2fs >/dev/null || { echo "os-disk.sh: mke2fs not found (e2fsprogs)" >&2; exit 1; }
stage=$(mktemp -d "$(dirname "$out")/.os-disk.XXXXXX")
trap 'rm -rf "$stage"' EXIT
budget=$(( $(numfmt --from=iec "$size") * fill / 100 ))

python3 - "$src" "$stage/root" "$budget" <<'PY'
import os, shutil, sys
src, dst, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
used = 0
os.makedirs(dst)
for top, dirs, files in os.walk(src):
    dirs.sort()
    for f in sorted(files):
        p = os.path.join(top, f)
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if not os.path.isfile(p) or os.path.islink(p):
            continue
        # ext4 rounds each file to 4 KiB blocks
        cost = (st.st_size + 4095) // 4096 * 4096 + 4096
        if used + cost > budget:
            continue
        q = os.path.join(dst, os.path.relpath(p, src))
        os.makedirs(os.path.dirname(q), exist_ok=True)
        try:
            os.link(p, q)
        except OSError:
            try:
                shutil.copyfile(p, q)
            except OSError:
                continue
        used += cost
    if used >= budget * 0.99:
        break
PY
rm -f "$out"
mke2fs -q -t ext4 -E lazy_itable_init=0,lazy_journal_init=0 -d "$stage/root" \
    "$out" "$size"
