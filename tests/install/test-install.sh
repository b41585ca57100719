#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# make install, tested (TAP): install the build into a temporary DESTDIR
# and use what was installed, not the build tree: the tools run, each
# man page renders without a warning, a program builds against the
# library through pkg-config and reads an image, bash completion
# completes, only the public headers are there, and uninstall removes
# everything it installed.
#
# usage: test-install.sh SOURCE_ROOT BUILD_ROOT PREFIX BINDIR LIBDIR
#        INCLUDEDIR MANDIR SANITIZE
set -u
src=$1 build=$2 prefix=$3 bindir=$4 libdir=$5 incdir=$6 mandir=$7
sanitize=$8
# meson gives the directories relative to the prefix or absolute
abs() { case $1 in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
bindir=$(abs "$bindir") libdir=$(abs "$libdir") incdir=$(abs "$incdir")
mandir=$(abs "$mandir")

tmp=$(mktemp -d)
# the build's record of a real make install (make uninstall reads it) is
# put back as it was
log=$build/meson-logs/install-log.txt
[ -f "$log" ] && cp -p "$log" "$tmp/saved-install-log.txt"
restore_log() {
    if [ -f "$tmp/saved-install-log.txt" ]; then
        cp -p "$tmp/saved-install-log.txt" "$log"
    else
        rm -f "$log"
    fi
    rm -rf "$tmp"
}
trap restore_log EXIT
D=$tmp/dest
n=0 failed=0
ok() {
    n=$((n + 1))
    if [ "$1" = 0 ]; then echo "ok $n - $2"; else
        echo "not ok $n - $2"; failed=1; fi
}
echo "1..9"

if meson install -C "$build" --no-rebuild --destdir "$D" >"$tmp/install.log" 2>&1
then ok 0 "meson install into a DESTDIR"; else
    sed 's/^/# /' "$tmp/install.log"; ok 1 "meson install into a DESTDIR"; fi

# 1. the installed tools work together
rc=0
(
    set -e
    cd "$tmp"
    "$D$bindir/qemu-img" --version | grep -q "qemu-img version"
    "$D$bindir/qemu-img" create -q -f qcow2 a.qcow2 4M
    "$D$bindir/qemu-io" -c "write -P 0x5a 1M 64k" a.qcow2 >/dev/null
    "$D$bindir/qemu-img" convert -O raw a.qcow2 a.raw
    "$D$bindir/qemu-img" compare -q a.qcow2 a.raw
    "$D$bindir/qemu-nbd" --version | grep -q "qemu-nbd"
) >"$tmp/tools.log" 2>&1 || rc=1
[ $rc = 0 ] || sed 's/^/# /' "$tmp/tools.log"
ok $rc "installed qemu-img, qemu-io and qemu-nbd run"

# 2. man pages: present, rendered without warnings, with their names
rc=0
for page in man1/qemu-img.1 man1/qemu-io.1 man8/qemu-nbd.8; do
    f=$D$mandir/$page
    if [ ! -f "$f" ]; then echo "# missing $page"; rc=1; continue; fi
    warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)
    if [ -n "$warn" ]; then echo "# $page: $warn" | head -5; rc=1; fi
    name=$(basename "$page" | sed 's/\.[0-9]$//')
    LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$f" 2>/dev/null |
        grep -q "^ *$name - " || { echo "# $page: no NAME line"; rc=1; }
done
ok $rc "man pages render without warnings (man -l)"

# 3. the library: versioned soname, linker name
so=$(ls "$D$libdir"/libqemublock.so.0.* 2>/dev/null | head -1)
rc=0
[ -n "$so" ] && [ -L "$D$libdir/libqemublock.so.0" ] &&
    [ -L "$D$libdir/libqemublock.so" ] &&
    readelf -d "$so" | grep -q 'SONAME.*\[libqemublock\.so\.0\]' || rc=1
ok $rc "libqemublock.so.0 with its soname and links"

# 4. only the public headers
expected="block/block-backend.h block/block.h block/blockjob.h
block/dirty-bitmap.h block/job.h
util/aio.h util/coroutine.h util/cutils.h util/error.h util/iov.h
util/osdep.h util/qobject.h util/queue.h"
got=$(cd "$D$incdir/qemu-block" 2>/dev/null && find . -type f | sed 's|^\./||' |
      sort | tr '\n' ' ')
[ "$got" = "$(echo $expected | tr ' ' '\n' | sort | tr '\n' ' ')" ]
rc=$?
[ $rc = 0 ] || echo "# installed headers: $got"
ok $rc "the public headers, and only those"

# 5. an embedder's program through pkg-config, run on an image
rc=0
# the .pc file as installed, its prefix moved to where DESTDIR put it
mkdir -p "$tmp/pc"
sed "s|^prefix=.*|prefix=$D$prefix|" "$D$libdir/pkgconfig/qemu-block.pc" \
    >"$tmp/pc/qemu-block.pc"
export PKG_CONFIG_PATH=$tmp/pc
extra=
[ "$sanitize" = none ] || extra="-fsanitize=$sanitize"
# shellcheck disable=SC2046
if cc -Wall -Wextra -Werror $extra -o "$tmp/image-sum" \
       "$src/examples/image-sum.c" \
       $(pkg-config --cflags --libs qemu-block) 2>"$tmp/cc.log"; then
    readelf -d "$tmp/image-sum" | grep -q 'NEEDED.*libqemublock\.so\.0' ||
        { echo "# not linked against the shared library"; rc=1; }
    out=$(cd "$tmp" && ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 \
          LD_LIBRARY_PATH=$D$libdir ./image-sum a.qcow2 2>&1)
    want=$(python3 -c '
import sys
h = 0xcbf29ce484222325
for b in open(sys.argv[1], "rb").read():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print("format qcow2\nsize 4194304\nfnv1a64 %016x" % h)' "$tmp/a.raw")
    [ "$out" = "$want" ] || { echo "# got: $out" | head -5; rc=1; }
else
    sed 's/^/# /' "$tmp/cc.log" | head -20; rc=1
fi
ok $rc "a program built with pkg-config --cflags --libs qemu-block reads an image"

# 6. bash completion
rc=0
comp=$(find "$D" -path '*bash-completion/completions/qemu-img' | head -1)
if [ -z "$comp" ] || [ ! -f /usr/share/bash-completion/bash_completion ]; then
    echo "# completion file or bash-completion missing"; rc=1
else
    got=$(PATH=$D$bindir:$PATH bash -c '
        . /usr/share/bash-completion/bash_completion
        . "$1"
        complete_words() {
            COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
            COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
            COMPREPLY=(); _qemu_img qemu-img "${COMP_WORDS[-1]}" \
                "${COMP_WORDS[-2]}"
            echo "${COMPREPLY[*]}"
        }
        complete_words qemu-img co
        complete_words qemu-img check -r ""
        complete_words qemu-img convert -O q
        complete_words qemu-img resize --sh' bash "$comp")
    want="commit compare convert
leaks all
qcow2
--shrink"
    [ "$got" = "$want" ] || { echo "# got: $got" | head -8; rc=1; }
fi
ok $rc "bash completion of commands, options and formats"

# 7. the pkg-config file names what an embedder needs
rc=0
pkg-config --exists qemu-block &&
    [ "$(pkg-config --modversion qemu-block)" != "" ] &&
    pkg-config --cflags qemu-block | grep -q -- "-I$D$incdir/qemu-block" ||
    rc=1
ok $rc "pkg-config qemu-block: version and include directory"

# 8. make uninstall (meson's uninstall, from the log of the install
# above) removes every file installed
rc=0
ninja -C "$build" uninstall >"$tmp/uninstall.log" 2>&1 || rc=1
left=$(find "$D" -type f -o -type l | head -5)
[ -z "$left" ] || { echo "# left: $left"; rc=1; }
[ $rc = 0 ] || sed 's/^/# /' "$tmp/uninstall.log" | tail -5
ok $rc "uninstall removes every installed file"
exit $failed
