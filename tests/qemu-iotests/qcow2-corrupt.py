# SPDX-License-Identifier: GPL-2.0-or-later
"""
Damage one thing in a qcow2 image (16-bit refcounts, the first L2 table
and refcount block) for the qemu-img check tests:

    qcow2-corrupt.py IMAGE ACTION

ACTION: leak, leak-rc, rc-zero, rc-low, copied, copied-l1, misaligned,
misaligned-zero, reserved-l2, reserved-l1, past-eof, copied-compressed,
rt-reserved, rb-outside, dirty, corrupt-bit, bitmap-entry (see below).
"""
import struct, sys
img, act = sys.argv[1], sys.argv[2]
f = open(img, 'r+b')
def rd(off, n): f.seek(off); return f.read(n)
def wr(off, b): f.seek(off); f.write(b)
def q(off): return struct.unpack('>Q', rd(off, 8))[0]
def wq(off, v): wr(off, struct.pack('>Q', v))
h = rd(0, 104)
cb = struct.unpack('>I', h[20:24])[0]; cs = 1 << cb
l1_size = struct.unpack('>I', h[36:40])[0]; l1_off = struct.unpack('>Q', h[40:48])[0]
rt_off = struct.unpack('>Q', h[48:56])[0]
order = struct.unpack('>I', h[96:100])[0]
assert order == 4
def refblock0(): return q(rt_off) & ~0x1ff
def rc_off(cluster): return refblock0() + 2 * cluster
def get_rc(cluster): return struct.unpack('>H', rd(rc_off(cluster), 2))[0]
def set_rc(cluster, v): wr(rc_off(cluster), struct.pack('>H', v))
l2 = q(l1_off) & 0x00fffffffffffe00
def l2e(i): return q(l2 + 8 * i)
def set_l2e(i, v): wq(l2 + 8 * i, v)
if act == 'leak':            # drop the first data cluster's L2 entry
    set_l2e(0, 0)
elif act == 'leak-rc':       # refcount 2 on a data cluster (leak of one)
    c = (l2e(0) & 0x00fffffffffffe00) >> cb; set_rc(c, 2)
elif act == 'rc-zero':       # refcount 0 on a referenced data cluster
    c = (l2e(0) & 0x00fffffffffffe00) >> cb; set_rc(c, 0)
elif act == 'rc-low':        # a snapshot-shared cluster at refcount 1
    c = (l2e(1) & 0x00fffffffffffe00) >> cb; set_rc(c, 1)
elif act == 'copied':        # COPIED flag off on a refcount-1 cluster
    set_l2e(0, l2e(0) & ~(1 << 63))
elif act == 'copied-l1':
    wq(l1_off, q(l1_off) & ~(1 << 63))
elif act == 'misaligned':    # data cluster offset not aligned
    set_l2e(0, l2e(0) + 512)
elif act == 'misaligned-zero':
    set_l2e(0, (l2e(0) + 512) | 1)
elif act == 'reserved-l2':
    set_l2e(0, l2e(0) | 2)
elif act == 'reserved-l1':
    wq(l1_off, q(l1_off) | 1)
elif act == 'past-eof':      # an L2 entry beyond the end of the file
    set_l2e(2, (1 << 63) | (1 << 40))
elif act == 'copied-compressed':
    for i in range(512):
        e = l2e(i)
        if e & (1 << 62):
            set_l2e(i, e | (1 << 63)); break
elif act == 'rt-reserved':
    wq(rt_off, q(rt_off) | 1)
elif act == 'rb-outside':
    wq(rt_off + 8, 1 << 40)
elif act == 'dirty':
    inc = q(72); wq(72, inc | 1)
elif act == 'corrupt-bit':
    inc = q(72); wq(72, inc | 2)
elif act == 'bitmap-entry':  # first bitmap in use, its first table entry
    pos = struct.unpack('>I', h[100:104])[0]     # "all ones" on a data cluster
    while True:
        t, n = struct.unpack('>II', rd(pos, 8))
        if t == 0x23852875:
            dir_off = q(pos + 8 + 16)
            break
        if t == 0:
            sys.exit('no bitmaps')
        pos += 8 + (n + 7) // 8 * 8
    table = q(dir_off)
    flags = struct.unpack('>I', rd(dir_off + 12, 4))[0]
    wr(dir_off + 12, struct.pack('>I', flags | 1))
    wq(table, q(table) | 1)
else:
    sys.exit('unknown action ' + act)
