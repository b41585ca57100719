#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The main job on a generated sample: an "OS disk" (an ext4 file system
# filled from /usr/share/doc, made with mke2fs -d) compressed to qcow2 by
# our qemu-img (convert -c, compressing on every core), then converted
# back to raw with progress, checked with our compare (and the system's
# qemu-img check when it is installed), and described by info and map;
# then served by our qemu-nbd and copied through NBD.
set -euo pipefail
build=${BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build}
img=$build/qemu-img/qemu-img
nbd=$build/qemu-nbd/qemu-nbd
dir=$(mktemp -d)
cleanup() {
    [ -s "$dir/nbd.pid" ] && kill "$(cat "$dir/nbd.pid")" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
cd "$dir"

echo "== making a sample 256 MiB OS-like disk (ext4 from /usr/share/doc)"
truncate -s 256M disk.raw
if command -v mke2fs >/dev/null && mke2fs -q -t ext4 -d /usr/share/doc disk.raw 2>/dev/null; then
    :
else
    # no mke2fs: scatter some real file contents instead
    find /usr/share/doc -type f | head -2000 | xargs cat 2>/dev/null |
        head -c 64M | dd of=disk.raw conv=notrunc status=none
fi
echo
echo "\$ qemu-img convert -c -O qcow2 disk.raw sample.qcow2"
start=$(date +%s.%N)
"$img" convert -c -O qcow2 disk.raw sample.qcow2
echo "(took $(echo "$(date +%s.%N) - $start" | bc | cut -c1-5) s)"
if [ -x /usr/bin/qemu-img ]; then
    echo "\$ /usr/bin/qemu-img check sample.qcow2    # QEMU 7.2's own check"
    /usr/bin/qemu-img check sample.qcow2
fi
echo
echo "\$ qemu-img info sample.qcow2"
"$img" info sample.qcow2
echo
echo "\$ qemu-img convert -p -O raw sample.qcow2 converted.raw"
start=$(date +%s.%N)
"$img" convert -p -O raw sample.qcow2 converted.raw
echo "(took $(echo "$(date +%s.%N) - $start" | bc | cut -c1-5) s)"
echo
echo "\$ qemu-img compare -f qcow2 -F raw sample.qcow2 converted.raw"
"$img" compare -f qcow2 -F raw sample.qcow2 converted.raw
echo
echo "\$ qemu-img info converted.raw"
"$img" info converted.raw
echo
echo "\$ qemu-img map converted.raw | head -5"
"$img" map -f raw converted.raw | head -5
echo
echo "\$ qemu-nbd --fork --pid-file=nbd.pid -t -r -f qcow2 -k $dir/nbd.sock sample.qcow2"
"$nbd" --fork --pid-file="$dir/nbd.pid" -t -r -f qcow2 -k "$dir/nbd.sock" sample.qcow2
echo "\$ qemu-img convert -p -O raw nbd+unix:///?socket=$dir/nbd.sock from-nbd.raw"
start=$(date +%s.%N)
"$img" convert -p -O raw "nbd+unix:///?socket=$dir/nbd.sock" from-nbd.raw
echo "(took $(echo "$(date +%s.%N) - $start" | bc | cut -c1-5) s)"
echo "\$ qemu-img compare -f raw -F raw disk.raw from-nbd.raw"
"$img" compare -f raw -F raw disk.raw from-nbd.raw
