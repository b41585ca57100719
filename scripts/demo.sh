#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A real job on a generated sample image: create a raw disk, fill it with
# a recognisable OS-like layout (boot sector, data runs, holes) through
# qemu-io, read it back with pattern checks, and show qemu-img info.
# (When convert lands, this becomes a convert of a compressed qcow2.)
set -euo pipefail
build=${BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build}
img_tool=$build/qemu-img/qemu-img
io_tool=$build/qemu-io/qemu-io
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
img=$dir/sample.raw

echo "\$ qemu-img create -f raw sample.raw 256M"
"$img_tool" create -f raw "$img" 256M
echo
echo "\$ qemu-io: write a boot sector, 64 MiB of data, zeroes and a hole"
"$io_tool" -f raw -c "write -P 0xeb 0 512" -c "write -P 0x55 1M 64M" \
    -c "write -z -u 80M 16M" -c "aio_write -P 0x77 128M 8M" \
    -c "aio_write -P 0x78 136M 8M" -c "aio_flush" -c "flush" "$img"
echo
echo "\$ qemu-io: read everything back with pattern verification"
"$io_tool" -r -f raw -c "read -P 0xeb 0 512" -c "read -P 0x55 1M 64M" \
    -c "read -P 0 80M 16M" -c "read -P 0x77 128M 8M" \
    -c "read -P 0x78 136M 8M" -c "read -P 0 200M 56M" -c "map" "$img"
echo
echo "\$ qemu-img info sample.raw"
"$img_tool" info "$img"
echo
echo "\$ qemu-img info --output=json sample.raw"
"$img_tool" info --output=json "$img"
