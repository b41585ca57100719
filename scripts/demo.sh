#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The main job on a generated sample: an "OS disk" (an ext4 file system
# filled from /usr/share/doc, made with mke2fs -d) compressed to qcow2 by
# our qemu-img (convert -c, compressing on every core), then converted
# back to raw with progress, checked with our compare (and the system's
# qemu-img check when it is installed), and described by info and map;
# then served by our qemu-nbd and copied through NBD; last, a live mirror
# through our qemu-storage-daemon while a guest writes over NBD.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
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

# A live storage migration: our qemu-storage-daemon serves the disk to a
# "guest" over NBD while a mirror job copies it to another image; the
# guest keeps writing; at the pivot the export moves to the copy.
qsd=$build/storage-daemon/qemu-storage-daemon
io=$build/qemu-io/qemu-io
echo
echo "== live mirror: a guest writes through our qemu-storage-daemon's NBD export"
cp sample.qcow2 live.qcow2
"$img" create -q -f qcow2 copy.qcow2 256M
# the guest: forty 1 MiB writes, each with its own pattern, spread over
# the disk, through the export
cat > guest.sh <<EOG
for i in \$(seq 1 40); do
    "$io" -f raw -c "write -P \$i \$((i * 6))M 1M" \\
        "nbd+unix:///live?socket=$dir/qsd-nbd.sock" > /dev/null
    sleep 0.05
done
touch "$dir/guest.done"
EOG
python3 "$here/../tests/qemu-iotests/qsd-qmp.py" "$qsd" \
    --blockdev '{"driver": "qcow2", "node-name": "src", "file": {"driver": "file", "filename": "live.qcow2"}}' \
    --blockdev '{"driver": "qcow2", "node-name": "dst", "file": {"driver": "file", "filename": "copy.qcow2"}}' \
    --nbd-server "addr.type=unix,addr.path=$dir/qsd-nbd.sock" \
    --export type=nbd,id=disk,node-name=src,name=live,writable=on <<EOT
{"execute": "qmp_capabilities"}
# the guest starts writing; the mirror starts (64 MiB/s, to overlap)
sh bash guest.sh > guest.log 2>&1 &
{"execute": "blockdev-mirror", "arguments": {"job-id": "live", "device": "src", "target": "dst", "sync": "full", "speed": 67108864}}
wait BLOCK_JOB_READY
sh while [ ! -e "$dir/guest.done" ]; do sleep 0.1; done; echo "guest: 40 writes done"
{"execute": "query-block-jobs"}
# in sync: pivot, the export now serves the copy
{"execute": "job-complete", "arguments": {"id": "live"}}
wait BLOCK_JOB_COMPLETED
events
{"execute": "query-block-exports"}
EOT
echo "\$ qemu-img compare live.qcow2 copy.qcow2"
"$img" compare live.qcow2 copy.qcow2
echo "\$ qemu-io -c 'read -P 40 240M 1M' copy.qcow2    # the guest's last write"
"$io" -c "read -P 40 240M 1M" copy.qcow2 | head -1
