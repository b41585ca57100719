# SPDX-License-Identifier: GPL-2.0-or-later
"""
Hostile-input test: images made corrupt, truncated or crafted on purpose,
and every command a user runs on them, with our tools and 7.2's side by
side.  What must hold for every run of ours:

  - no signal and no hang (a timeout of 20 s; 7.2 hangs on some loops);
  - where 7.2 fails cleanly, ours fails too, and if 7.2's message names
    the image, ours does;
  - nothing is written but the command's own target: the commands run in
    a private mount namespace where the whole file system is read-only
    but one output directory (a write elsewhere fails there, and a
    'Read-only file system' message 7.2 does not print is a finding);
    the inputs are hashed before and after;
  - a repair (check -r all) that says it succeeded leaves an image 7.2's
    check passes (leaks allowed).

    hostile.py gen WORK COUNT SEED        make bases and cases (outside)
    hostile.py run WORK                   run them (inside the namespace)

The tools come from the environment: QEMU_IMG, QEMU_IO (ours) and
REAL_QEMU_IMG, REAL_QEMU_IO (7.2's).
"""
import hashlib
import os
import random
import struct
import subprocess
import sys

MiB = 1 << 20
TIMEOUT = 20
# 7.2 itself hangs on a backing file naming itself (14 commands): its
# answer only tells whether it fails, so it gets less time than ours
REAL_TIMEOUT = 3

OURS = (os.environ['QEMU_IMG'], os.environ['QEMU_IO'])
REAL = (os.environ['REAL_QEMU_IMG'], os.environ['REAL_QEMU_IO'])


def sh(*args, **kw):
    return subprocess.run(list(args), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=True, **kw)


def real_img(*args):
    sh(REAL[0], *args)


def real_io(*args):
    sh(REAL[1], *args)


# ---- bases: every layout 7.2 writes, small ----

def make_bases(d):
    """name -> file, all qcow2 unless named .raw, in directory d"""
    os.makedirs(d, exist_ok=True)
    os.chdir(d)
    real_img('create', '-q', '-f', 'raw', 'base.raw', '2M')
    real_io('-f', 'raw', '-c', 'write -P 0x11 0 64k', '-c',
            'write -P 0x22 1M 4k', 'base.raw')
    layouts = {
        'v3-64k': 'cluster_size=65536',
        'v2-512': 'compat=0.10,cluster_size=512',
        'extl2-16k': 'extended_l2=on,cluster_size=16384',
        'rc1-4k': 'refcount_bits=1,cluster_size=4096',
        'rc64-512': 'refcount_bits=64,cluster_size=512',
        'zstd-4k': 'compression_type=zstd,cluster_size=4096',
        'lazy-4k': 'lazy_refcounts=on,cluster_size=4096',
    }
    for name, opts in layouts.items():
        f = name + '.qcow2'
        real_img('create', '-q', '-f', 'qcow2', '-o', opts, f, '2M')
        real_io('-c', 'write -P 0x33 0 8k', '-c', 'write -c -P 0x44 64k 64k',
                '-c', 'write -z 128k 64k', '-c', 'write -P 0x55 1M 4k', f)
    real_img('snapshot', '-c', 's1', 'v3-64k.qcow2')
    real_io('-c', 'write -P 0x66 0 4k', 'v3-64k.qcow2')
    real_img('snapshot', '-c', 's2', 'v3-64k.qcow2')
    real_img('bitmap', '--add', 'rc1-4k.qcow2', 'b1')
    real_img('bitmap', '--add', '-g', '512', 'rc1-4k.qcow2', 'b2')
    real_img('create', '-q', '-f', 'qcow2', '-b', 'v3-64k.qcow2', '-F',
             'qcow2', 'overlay.qcow2')
    real_io('-c', 'write -P 0x77 4k 4k', 'overlay.qcow2')
    real_img('create', '-q', '-f', 'qcow2', '-o',
             'data_file=base-data.raw', 'datafile.qcow2', '2M')
    real_io('-c', 'write -P 0x88 0 64k', 'datafile.qcow2')
    return sorted(f for f in os.listdir('.') if f != 'base-data.raw')


# ---- where things are in a qcow2 image ----

def layout(data):
    """(name, offset, length) of the regions of a qcow2 image"""
    if len(data) < 104 or data[:4] != b'QFI\xfb':
        return [('start', 0, min(len(data), 512))]
    be = lambda o, n: int.from_bytes(data[o:o + n], 'big')
    cs = 1 << min(be(20, 4), 21)
    regions = [('header', 0, 104)]
    hdr_len = be(100, 4) if be(4, 4) >= 3 else 72
    regions.append(('extensions', hdr_len, 256))
    l1, l1n = be(40, 8), be(36, 4)
    regions.append(('l1', l1, min(l1n * 8, 64)))
    if l1 + 8 <= len(data):
        l2 = be(l1, 8) & 0x00fffffffffffe00
        regions.append(('l2', l2, min(cs, 256)))
    rt = be(48, 8)
    regions.append(('reftable', rt, 64))
    if rt + 8 <= len(data):
        regions.append(('refblock', be(rt, 8) & ~0x1ff, 128))
    if be(60, 4):
        regions.append(('snapshots', be(64, 8), 160))
    return [r for r in regions if r[1] < len(data)]


HEADER_FIELDS = [  # offset, size
    (4, 4), (8, 8), (16, 4), (20, 4), (24, 8), (32, 4), (36, 4), (40, 8),
    (48, 8), (56, 4), (60, 4), (64, 8), (72, 8), (80, 8), (88, 8), (96, 4),
    (100, 4), (104, 1),
]
EXTREMES = [0, 1, 2, 7, 9, 0x1ff, 0x200, 0x10000, 0x7fffffff, 0x80000000,
            0xffffffff, 0x8000000000000000, 0xffffffffffffffff,
            0x00fffffffffffe00]


def set_be(data, off, size, val):
    val &= (1 << (8 * size)) - 1
    data[off:off + size] = val.to_bytes(size, 'big')


def ext_block(exts):
    out = b''
    for t, payload in exts:
        out += struct.pack('>II', t, len(payload)) + payload
        out += b'\0' * (-len(payload) % 8)
    return out + b'\0' * 8


def with_extensions(data, exts, backing=None):
    """data with its extension area replaced (v3 images)"""
    d = bytearray(data)
    hdr_len = int.from_bytes(d[100:104], 'big')
    block = ext_block(exts)
    if backing is not None:
        set_be(d, 8, 8, hdr_len + len(block))
        set_be(d, 16, 4, len(backing))
        block += backing
    d[hdr_len:hdr_len + len(block)] = block
    return bytes(d)


VICTIM = '/etc/hostname'    # never to be written; reading is harmless


def crafted(bases):
    """(name, bytes) of images made to mislead, from v3-64k"""
    base = open('v3-64k.qcow2', 'rb').read()
    out = []
    names = {
        'json-raw-raw': 'json:{"driver":"raw","file":{"driver":"raw",'
                        '"file":{"driver":"file","filename":"base.raw"}}}',
        'json-victim': 'json:{"driver":"raw","file":{"driver":"file",'
                       '"filename":"%s"}}' % VICTIM,
        'json-blkdebug': 'json:{"driver":"blkdebug","image":{"driver":'
                         '"file","filename":"base.raw"}}',
        'nbd-url': 'nbd://127.0.0.1:1/x',
        'self': None,           # the image's own name
        'absolute': VICTIM,
        'json-broken': 'json:{"driver":',
        'nul': 'base.raw\0../x',
    }
    for tag, name in names.items():
        b = (name or 'backing-self.qcow2').encode()
        # as a backing file (no format: probing), and as a data file
        out.append(('backing-' + tag,
                    with_extensions(base, [], backing=b)))
        b = (name or 'datafile-self.qcow2').encode()
        d = bytearray(with_extensions(base, [(0x44415441, b)]))
        set_be(d, 72, 8, int.from_bytes(d[72:80], 'big') | 4)
        out.append(('datafile-' + tag, bytes(d)))
    # extensions that lie
    for tag, exts in {
        'bitmaps-2g': [(0x23852875, struct.pack('>IIQQ', 0x80000000, 0,
                                                1 << 16, 3 << 16))],
        'bitmaps-huge-dir': [(0x23852875, struct.pack('>IIQQ', 1, 0,
                                                      1 << 40, 3 << 16))],
        'crypto-no-method': [(0x0537be77, struct.pack('>QQ', 1 << 16, 592))],
        'feature-table-odd': [(0x6803f857, b'\0\x1fname' + b'\xff' * 41)],
        'ext-too-long': [(0xe2792aca, b'q' * 40)],
        'ext-len-2g': [(0x12345678, b'')],
    }.items():
        d = with_extensions(base, exts)
        if tag == 'ext-len-2g':
            d = bytearray(d)
            hl = int.from_bytes(d[100:104], 'big')
            set_be(d, hl + 4, 4, 0x7ffffff0)
            d = bytes(d)
        out.append(('ext-' + tag, d))
    # a snapshot's L1 table where no table can be: 2^63 and more (check
    # once counted it as a negative offset, and crashed), unaligned, huge
    snaps = int.from_bytes(base[64:72], 'big')
    for tag, off, size, val in (
            ('l1-2-63', 0, 8, 0x8000000000000000),
            ('l1-high', 0, 8, 0xfe2055f440000000),
            ('l1-unaligned', 0, 8, 0x10200),
            ('l1-size-huge', 8, 4, 0xffffffff)):
        d = bytearray(base)
        set_be(d, snaps + off, size, val)
        out.append(('snapshot-' + tag, bytes(d)))
    # sector 0 of other formats in front of a raw disk
    raw = open('base.raw', 'rb').read()
    for tag, magic in {
        'vmdk': b'KDMV', 'vdi': b'\0' * 64 + struct.pack('<I', 0xbeda107f),
        'vpc': b'conectix', 'qed': b'QED\0', 'luks': b'LUKS\xba\xbe\0\x01',
        'qcow1': b'QFI\xfb\0\0\0\x01', 'vhdx': b'vhdxfile',
    }.items():
        out.append(('magic-' + tag + '.raw', magic + raw[len(magic):]))
    return out


def mutate(rnd, name, data):
    """one corrupt variant of data: (tag, bytes)"""
    regions = layout(data)
    kind = rnd.choice(['truncate', 'flip', 'flip', 'field', 'field',
                       'region-zero', 'region-ones'])
    d = bytearray(data)
    if kind == 'truncate':
        cut = rnd.choice([rnd.randrange(len(d)), 0, 72, 104, 512, 4096,
                          65536, len(d) // 2, len(d) - 1])
        return 'truncate-%d' % cut, bytes(d[:min(cut, len(d))])
    if kind == 'field' and data[:4] == b'QFI\xfb':
        off, size = rnd.choice(HEADER_FIELDS)
        val = rnd.choice(EXTREMES + [rnd.getrandbits(8 * size)])
        set_be(d, off, size, val)
        return 'field-%d-%x' % (off, val), bytes(d)
    rname, roff, rlen = rnd.choice(regions)
    rlen = max(1, min(rlen, len(d) - roff))
    if kind == 'region-zero':
        d[roff:roff + rlen] = bytes(rlen)
        return 'zero-' + rname, bytes(d)
    if kind == 'region-ones':
        d[roff:roff + rlen] = b'\xff' * rlen
        return 'ones-' + rname, bytes(d)
    for _ in range(rnd.randint(1, 8)):
        i = roff + rnd.randrange(rlen)
        d[i] ^= 1 << rnd.randrange(8)
    return 'flip-' + rname, bytes(d)


def gen(work, count, seed):
    rnd = random.Random(seed)
    bases_dir = os.path.join(work, 'bases')
    bases = make_bases(bases_dir)
    cases = []
    for tag, data in crafted(bases):
        cases.append((tag if tag.endswith('.raw') else tag + '.qcow2', data))
    i = 0
    while len(cases) < count:
        b = rnd.choice(bases)
        data = open(b, 'rb').read()
        tag, d = mutate(rnd, b, data)
        ext = '.raw' if b.endswith('.raw') else '.qcow2'
        cases.append(('%04d-%s-%s%s' % (i, b.split('.')[0], tag, ext), d))
        i += 1
    # cases sit beside the bases: relative backing and data file names work
    for name, data in cases[:count]:
        open(name, 'wb').write(data)
    with open(os.path.join(work, 'cases.list'), 'w') as f:
        f.write('\n'.join(n for n, _ in cases[:count]) + '\n')


# ---- running ----

def commands(case, out):
    """(name, argv builder(tool), target) of every command on one case;
    a target is copied from the case first and is the only file the
    command may change"""
    fmt = 'raw' if case.endswith('.raw') else 'qcow2'
    t = os.path.join(out, 'target.' + fmt)
    conv = os.path.join(out, 'conv.img')
    return [
        ('info', lambda T: [T[0], 'info', case], None),
        ('info-json', lambda T: [T[0], 'info', '--output=json',
                                 '--backing-chain', case], None),
        ('check', lambda T: [T[0], 'check', case], None),
        ('map', lambda T: [T[0], 'map', '--output=json', case], None),
        ('measure', lambda T: [T[0], 'measure', '-O', 'qcow2', case], None),
        ('snapshot-l', lambda T: [T[0], 'snapshot', '-l', case], None),
        ('compare', lambda T: [T[0], 'compare', case, case], None),
        ('convert-raw', lambda T: [T[0], 'convert', '-O', 'raw', case, conv],
         conv),
        ('convert-qcow2', lambda T: [T[0], 'convert', '-c', '-O', 'qcow2',
                                     case, conv], conv),
        ('io-read', lambda T: [T[1], '-r', '-c', 'read 0 1M', '-c',
                               'read 1000 70000', case], None),
        ('io-write', lambda T: [T[1], '-f', fmt, '-c', 'write -P 9 0 64k',
                                '-c', 'write -z 1M 64k', '-c',
                                'discard 64k 64k', t], t),
        ('check-r', lambda T: [T[0], 'check', '-r', 'all', t], t),
        ('amend', lambda T: [T[0], 'amend', '-o', 'lazy_refcounts=on', t], t),
        ('resize', lambda T: [T[0], 'resize', t, '+1M'], t),
        ('snapshot-c', lambda T: [T[0], 'snapshot', '-c', 'n', t], t),
        ('bitmap', lambda T: [T[0], 'bitmap', '--add', t, 'nb'], t),
        ('rebase-u', lambda T: [T[0], 'rebase', '-u', '-b', '', t], t),
    ]


def run_one(argv, cwd, timeout=TIMEOUT):
    try:
        p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True,
                           errors='replace', timeout=timeout)
        return p.returncode, p.stderr + p.stdout
    except subprocess.TimeoutExpired:
        return 'timeout', ''


def copy_target(bases, case, target):
    if target is None:
        return
    if os.path.exists(target):
        os.unlink(target)
    if target.endswith(('.qcow2', '.raw')):
        with open(os.path.join(bases, case), 'rb') as s, \
             open(target, 'wb') as d:
            d.write(s.read())


def run(work):
    bases = os.path.join(work, 'bases')
    out = os.path.join(work, 'out')
    cases = open(os.path.join(work, 'cases.list')).read().split()
    problems = []
    # the targets' backing and data files, by the same relative names:
    # links to the read-only originals
    for f in os.listdir(bases):
        os.symlink(os.path.join(bases, f), os.path.join(out, f))
    runs = 0
    for case in cases:
        for cname, argv, target in commands(case, out):
            results = {}
            for who, tools in (('ours', OURS), ('7.2', REAL)):
                copy_target(bases, case, target)
                results[who] = run_one(argv(tools), bases,
                                       TIMEOUT if who == 'ours'
                                       else REAL_TIMEOUT)
                if who == 'ours' and cname == 'check-r' and \
                   results[who][0] == 0:
                    rc, _ = run_one([REAL[0], 'check', target], bases)
                    if rc not in (0, 3):
                        problems.append('%s %s: repaired image fails 7.2 '
                                        'check (%s)' % (case, cname, rc))
            runs += 1
            (orc, oout), (rrc, rout) = results['ours'], results['7.2']
            where = '%s %s' % (case, cname)
            if orc == 'timeout':
                problems.append(where + ': hang')
                continue
            if orc < 0 or orc >= 128:
                problems.append('%s: signal/abort (exit %s): %s' %
                                (where, orc, oout[-300:]))
                continue
            if 'Read-only file system' in oout and \
               'Read-only file system' not in rout:
                problems.append(where + ': tried to write outside its '
                                'target: ' + oout[-300:])
            real_failed = rrc != 'timeout' and 0 < rrc < 128
            # a repair 7.2 fails and ours completes was checked above
            if real_failed and orc == 0 and cname != 'check-r':
                problems.append('%s: 7.2 fails (%s), ours succeeds' %
                                (where, rout.strip()[-200:]))
            if real_failed and case in rout and case not in oout and \
               orc != 0:
                problems.append('%s: our message does not name the image: '
                                '%s' % (where, oout.strip()[-200:]))
            if orc != 0 and not oout.strip():
                problems.append(where + ': failed without a message')
    print('%d cases, %d commands run by each tool' % (len(cases), runs))
    return problems


def hash_tree(d):
    h = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            if not os.path.islink(p):
                h[p] = hashlib.sha256(open(p, 'rb').read()).hexdigest()
    return h


def main():
    if sys.argv[1] == 'gen':
        gen(os.path.abspath(sys.argv[2]), int(sys.argv[3]),
            int(sys.argv[4]))
    elif sys.argv[1] == 'hash':
        for p, v in sorted(hash_tree(sys.argv[2]).items()):
            print(v, p)
    elif sys.argv[1] == 'run':
        problems = run(os.path.abspath(sys.argv[2]))
        for p in problems:
            print('PROBLEM', p)
        print('%d problems' % len(problems))
        sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
