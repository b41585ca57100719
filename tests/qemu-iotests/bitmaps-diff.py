#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Differential test of persistent bitmaps: one random sequence (fixed by
the seed) of qemu-io writes / write -z / discard / compressed writes,
qemu-img bitmap actions and resizes, applied to two copies of the same
image, one with our tools and one with the real 7.2 ones.  After every
step the exit codes, the messages (node names and file names aside) and
the bitmaps read straight from the files (qcow2-bitmaps.py) must be the
same, and the real qemu-img check must find our image clean.

    bitmaps-diff.py OURS_IMG OURS_IO REAL_IMG REAL_IO SEED [STEPS]

Prints "seed N: ok" or what differed, exit 1.
"""
import os
import random
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, r.stderr


def dump(path):
    return subprocess.run([sys.executable, os.path.join(HERE,
                                                        'qcow2-bitmaps.py'),
                           path], capture_output=True, text=True).stdout


def norm(msg, image):
    msg = re.sub(r"^\S*qemu-(img|io): ", r"qemu-\1: ", msg, flags=re.M)
    msg = msg.replace(image, 'IMAGE')
    return re.sub(r"persistent in '[^']*'", "persistent in 'NODE'", msg)


def main(ours_img, ours_io, real_img, real_io, seed, steps=25):
    rnd = random.Random(seed)
    size = rnd.choice([1, 3, 40]) * 1024 * 1024 + rnd.choice([0, 512, 4096])
    cluster = rnd.choice([512, 4096, 65536])
    images = {'ours': 'ours.qcow2', 'real': 'real.qcow2'}
    tools = {'ours': (ours_img, ours_io), 'real': (real_img, real_io)}
    for path in images.values():
        subprocess.run([real_img, 'create', '-q', '-f', 'qcow2', '-o',
                        'cluster_size=%d' % cluster, path, str(size)],
                       check=True)
        # one bitmap from the start, so that writes have something to mark
        subprocess.run([real_img, 'bitmap', '--add', path, 'a'], check=True)
    names = ['a', 'b', 'c']
    for step in range(steps):
        k = rnd.random()
        new_size = size
        if k < 0.35:
            op = rnd.choice(['write', 'write -z', 'discard', 'write -c'])
            off = rnd.randrange(0, size)
            length = rnd.randrange(1, min(2 << 20, size - off) + 1)
            if op == 'write -c':
                off, length = off // cluster * cluster, cluster
                if off + length > size:
                    continue
            argv = lambda t, f: [tools[t][1], '-c',
                                 '%s %d %d' % (op, off, length), f]
        elif k < 0.85:
            act = rnd.choice(['--add', '--add', '--remove', '--clear',
                              '--enable', '--disable', '--merge'])
            name = rnd.choice(names)
            extra = []
            if act == '--add' and rnd.random() < 0.5:
                extra = ['-g', rnd.choice(['512', '4k', '64k', '1M'])]
            if act == '--merge':
                extra = [rnd.choice(names)]
            argv = lambda t, f: ([tools[t][0], 'bitmap', act] + extra +
                                 [f, name])
        else:
            new_size = rnd.choice([size // 2 // 512 * 512,
                                   size + rnd.choice([512, 1 << 20])])
            shrink = ['--shrink'] if new_size < size else []
            argv = lambda t, f: ([tools[t][0], 'resize'] + shrink +
                                 [f, str(new_size)])
        got = {}
        for t, path in images.items():
            rc, msg = run(argv(t, path))
            got[t] = (rc, norm(msg, path), dump(path))
        if got['ours'] != got['real']:
            print('seed %d step %d: %s' % (seed, step,
                                           ' '.join(argv('ours', 'IMAGE'))))
            for t in ('ours', 'real'):
                print('--- %s: exit %d\n%s%s' % ((t,) + got[t]))
            return 1
        if got['ours'][0] == 0:
            size = new_size
        rc, msg = run([real_img, 'check', '-q', images['ours']])
        if rc != 0:
            print('seed %d step %d: check exit %d\n%s' % (seed, step, rc,
                                                           msg))
            return 1
    print('seed %d: ok' % seed)
    return 0


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:5], int(sys.argv[5]),
                  *(int(a) for a in sys.argv[6:7])))
