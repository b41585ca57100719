#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Print the persistent bitmaps of a qcow2 image, read straight from the
file (independent of both qemu-img implementations): for each bitmap in
directory order its name, granularity, flags, and the byte ranges of the
disk its set bits cover, plus a count of its table's entry kinds.

usage: qcow2-bitmaps.py IMAGE
       qcow2-bitmaps.py IMAGE --set-entry NAME INDEX VALUE
       qcow2-bitmaps.py IMAGE --set-dir NAME FIELD VALUE
       qcow2-bitmaps.py IMAGE --get-entry NAME INDEX
The second form overwrites entry INDEX of bitmap NAME's table with VALUE
(all ones: 1; reserved bits for corruption tests), the third a field of
its directory entry (table_size, flags, type, granularity_bits); the
fourth prints the table entry (for a data cluster: its offset).
"""
DIR_FIELDS = {'table_size': (8, '>I'), 'flags': (12, '>I'),
              'type': (16, '>B'), 'granularity_bits': (17, '>B')}
import struct
import sys


def main(path, set_entry=None):
    writing = set_entry and set_entry[0] != '--get-entry'
    with open(path, 'r+b' if writing else 'rb') as f:
        hdr = f.read(112)
        magic, version = struct.unpack('>II', hdr[:8])
        if magic != 0x514649fb or version < 3:
            print('not a qcow2 v3 image')
            return 1
        cluster_bits, = struct.unpack('>I', hdr[20:24])
        size, = struct.unpack('>Q', hdr[24:32])
        autoclear, = struct.unpack('>Q', hdr[88:96])
        hlen, = struct.unpack('>I', hdr[100:104])
        cs = 1 << cluster_bits
        f.seek(hlen)
        ext = None
        while True:
            m, ln = struct.unpack('>II', f.read(8))
            if m == 0:
                break
            data = f.read((ln + 7) & ~7)
            if m == 0x23852875:
                ext = struct.unpack('>IIQQ', data[:24])
        if ext is None:
            print('no bitmaps extension')
            return 0
        if not set_entry:
            print('autoclear bitmaps bit: %d' % (autoclear & 1))
        nb, _, dsize, doff = ext
        f.seek(doff)
        d = f.read(dsize)
        pos = 0
        for _ in range(nb):
            toff, tsize, flags, typ, gbits, nsize, extra = \
                struct.unpack('>QIIBBHI', d[pos:pos + 24])
            name = d[pos + 24 + extra:pos + 24 + extra + nsize].decode()
            pos += (24 + extra + nsize + 7) & ~7
            if set_entry and set_entry[1] == name:
                if set_entry[0] == '--get-entry':
                    f.seek(toff + 8 * int(set_entry[2]))
                    print(struct.unpack('>Q', f.read(8))[0])
                    return 0
                if set_entry[0] == '--set-entry':
                    where, fmt = toff + 8 * int(set_entry[2]), '>Q'
                else:
                    rel, fmt = DIR_FIELDS[set_entry[2]]
                    where = doff + pos - ((24 + extra + nsize + 7) & ~7) + rel
                f.seek(where)
                f.write(struct.pack(fmt, int(set_entry[3], 0)))
                return 0
            if set_entry:
                continue
            names = [n for b, n in ((1, 'in-use'), (2, 'auto')) if flags & b]
            print('bitmap %s granularity %d flags [%s] type %d' %
                  (name, 1 << gbits, ' '.join(names), typ))
            f.seek(toff)
            table = struct.unpack('>%dQ' % tsize, f.read(tsize * 8))
            kinds = {'zero': 0, 'ones': 0, 'data': 0}
            bits = []
            for e in table:
                off = e & 0x00fffffffffffe00
                if off:
                    kinds['data'] += 1
                    f.seek(off)
                    bits.append(f.read(cs))
                elif e & 1:
                    kinds['ones'] += 1
                    bits.append(b'\xff' * cs)
                else:
                    kinds['zero'] += 1
                    bits.append(b'\0' * cs)
            raw = b''.join(bits)
            nbits = (size + (1 << gbits) - 1) >> gbits
            ranges, start = [], None
            for i in range(nbits):
                on = raw[i >> 3] >> (i & 7) & 1
                if on and start is None:
                    start = i
                if not on and start is not None:
                    ranges.append((start, i))
                    start = None
            if start is not None:
                ranges.append((start, nbits))
            tail = any(raw[i >> 3] >> (i & 7) & 1
                       for i in range(nbits, ((nbits + 7) >> 3) * 8))
            print('  table: %(zero)d zero, %(ones)d ones, %(data)d data'
                  % kinds + ('; tail bits set' if tail else ''))
            for a, b in ranges:
                print('  dirty %d..%d' % (a << gbits, min(b << gbits, size)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2:6] if len(sys.argv) > 2 else None))
