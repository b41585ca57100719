#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Install every Debian package the build, the tests and the demo need.
# Idempotent: does nothing when all are present.  Needs root (or sudo)
# only when something is missing.
set -euo pipefail

packages=(
    # build
    gcc meson ninja-build pkg-config
    libglib2.0-dev zlib1g-dev libdeflate-dev libaio-dev libiscsi-dev libnfs-dev
    libzstd-dev liburing-dev libnbd-dev
    # manual pages (rst2man) and bash completion's directory; man and
    # bash-completion itself for the install test
    python3-docutils bash-completion man-db
    # sanitizer runtime for `make check SANITIZE=1` (gcc's libasan/libubsan)
    libasan8 libubsan1
    # tests: the reference oracle (with its nfs/iscsi drivers) and helpers;
    # qemu-system-common has 7.2's qemu-storage-daemon, the jobs' oracle
    qemu-utils qemu-block-extra qemu-system-common bc e2fsprogs
    # tests: real servers on loopback (nfs-ganesha + a private rpcbind,
    # tgtd) and the client tools used to check them
    nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils tgt libiscsi-bin
    iproute2 util-linux iputils-ping
    # tests: NBD servers and clients to check ours against (nbdkit with its
    # memory/file/sparse-random plugins; nbdinfo, nbdcopy)
    nbdkit libnbd-bin python3-libnbd
    # benchmarks
    hyperfine
)

# `install-deps.sh fuzz`: also what the libFuzzer build needs
if [ "${1:-}" = fuzz ]; then
    packages+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "install-deps: installing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then
        SUDO=sudo
    else
        echo "install-deps: not root and no sudo; please install: ${missing[*]}" >&2
        exit 1
    fi
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
