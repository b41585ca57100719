# SPDX-License-Identifier: GPL-2.0-or-later
"""
Rewrite parts of a qcow2 header for tests of hostile images:

    qcow2-craft.py IMAGE data-file NAME     the data file name extension
    qcow2-craft.py IMAGE backing NAME       the backing file name (no format)
    qcow2-craft.py IMAGE field OFF SIZE VAL a big-endian header field
    qcow2-craft.py IMAGE ext TYPE HEX       an extension (hex bytes; '' drops)
    qcow2-craft.py IMAGE ext-field TYPE OFF SIZE VAL
                                            a big-endian field of an extension
    qcow2-craft.py IMAGE snapshot-extra IDX N
                                            entry IDX's extra data cut or
                                            zero-padded to N bytes (the table
                                            is rewritten in place)

The header extensions and the backing file name that follows them are
rewritten in place (the first cluster), lengths and offsets kept right;
bits that say a feature is used are not touched.
"""
import struct, sys

img, op = sys.argv[1], sys.argv[2]
f = open(img, 'r+b')
head = f.read(1 << 16)
version = struct.unpack('>I', head[4:8])[0]
cluster = 1 << struct.unpack('>I', head[20:24])[0]
hdr_len = struct.unpack('>I', head[100:104])[0] if version >= 3 else 72


def field(off, size):
    return int.from_bytes(head[off:off + size], 'big')


def parse_exts():
    exts, pos = [], hdr_len
    while pos + 8 <= cluster:
        t, n = struct.unpack('>II', head[pos:pos + 8])
        if t == 0:
            break
        exts.append([t, head[pos + 8:pos + 8 + n]])
        pos += 8 + (n + 7) // 8 * 8
    return exts


def write_exts(exts, backing):
    out = b''
    for t, data in exts:
        out += struct.pack('>II', t, len(data)) + data
        out += b'\0' * (-len(data) % 8)
    out += b'\0' * 8
    f.seek(hdr_len)
    if backing is not None:
        f.seek(8)
        f.write(struct.pack('>QI', hdr_len + len(out) if backing else 0,
                            len(backing)))
        f.seek(hdr_len)
        out += backing
    assert hdr_len + len(out) <= cluster
    f.write(out)


def set_ext(exts, t, data):
    exts[:] = [e for e in exts if e[0] != t]
    if data:
        exts.append([t, data])


exts = parse_exts()
bofs, blen = field(8, 8), field(16, 4)
backing = head[bofs:bofs + blen] if bofs else b''
if op == 'data-file':
    set_ext(exts, 0x44415441, sys.argv[3].encode())
    write_exts(exts, backing)
elif op == 'backing':
    set_ext(exts, 0xe2792aca, b'')      # no backing format
    write_exts(exts, sys.argv[3].encode())
elif op == 'field':
    off, size, val = (int(x, 0) for x in sys.argv[3:6])
    f.seek(off)
    f.write(val.to_bytes(size, 'big'))
elif op == 'ext':
    set_ext(exts, int(sys.argv[3], 0), bytes.fromhex(sys.argv[4]))
    write_exts(exts, backing)
elif op == 'ext-field':
    t, off, size, val = (int(x, 0) for x in sys.argv[3:7])
    for e in exts:
        if e[0] == t:
            e[1] = e[1][:off] + val.to_bytes(size, 'big') + e[1][off + size:]
    write_exts(exts, backing)
elif op == 'snapshot-extra':
    idx, n = int(sys.argv[3]), int(sys.argv[4])
    nb, off = field(60, 4), field(64, 8)
    f.seek(off)
    tab = f.read(1 << 20)
    pos, entries = 0, []
    for i in range(nb):
        pos = (pos + 7) // 8 * 8
        h = tab[pos:pos + 40]
        idl, nml = struct.unpack('>HH', h[12:16])
        ext = struct.unpack('>I', h[36:40])[0]
        extra = tab[pos + 40:pos + 40 + ext]
        names = tab[pos + 40 + ext:pos + 40 + ext + idl + nml]
        entries.append([h, extra, names])
        pos += 40 + ext + idl + nml
    old_len = pos
    e = entries[idx]
    e[1] = (e[1] + bytes(n))[:n]
    e[0] = e[0][:36] + struct.pack('>I', n)
    out = b''
    for h, extra, names in entries:
        out += b'\0' * (-len(out) % 8) + h + extra + names
    f.seek(off)
    f.write(out + bytes(max(0, old_len - len(out))))
else:
    sys.exit('unknown operation ' + op)
