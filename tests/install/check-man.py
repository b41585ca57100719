#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The manual pages and the tools agree (TAP).

usage: check-man.py SOURCE_ROOT BUILD_ROOT

- qemu-img: for each command, every option of its syntax line in
  `qemu-img --help` and every option its getopt table accepts
  (qemu-img/CMD.c) appears in that command's section of qemu-img.rst,
  whose syntax line is the help's, verbatim; every command of the help
  has a section and every section a command.
- qemu-io: every command of `qemu-io -c help` appears with its syntax
  verbatim; every option of `qemu-io --help` is described.
- qemu-nbd: every option of `qemu-nbd --help` is described.
"""
import os
import re
import subprocess
import sys

src, build = sys.argv[1], sys.argv[2]
results = []


def check(name, problems):
    results.append((name, problems))


def run(*argv):
    return subprocess.run(argv, capture_output=True, text=True).stdout


def rst(page):
    return open(os.path.join(src, 'docs', 'man', page + '.rst')).read()


def opts_of(text):
    """The options named in a text: -x and --long-name."""
    return set(re.findall(r'(?<![\w-])(--[a-z][a-z-]*|-[A-Za-z])(?![\w-])',
                          text))


def getopt_table(path):
    """Options a tool's getopt call accepts (help excluded)."""
    c = open(path).read()
    m = re.search(r'getopt_long\(argc, argv, "([^"]*)"', c)
    shorts = {'-' + ch for ch in (m.group(1) if m else '')
              if ch.isalpha()} - {'-h'}
    longs = {'--' + n for n in re.findall(
        r'\{ "([a-z-]+)", (?:no|required|optional)_argument', c)}
    return shorts | (longs - {'--help'})


# ---- qemu-img
img = os.path.join(build, 'qemu-img', 'qemu-img')
helptext = run(img, '--help')
syntax = {}
inside = False
for line in helptext.splitlines():
    if line.startswith('Command syntax:'):
        inside = True
        continue
    if inside:
        if not line.strip():
            break
        syntax[line.split()[0]] = line.strip()
page = rst('qemu-img')
body = page.split('\nCOMMANDS\n', 1)[1].split('\nEXIT STATUS\n', 1)[0]
sections = {}
for m in re.finditer(r'^([a-z]+)\n-+\n(.*?)(?=^[a-z]+\n-+\n|\Z)', body,
                     re.S | re.M):
    sections[m.group(1)] = m.group(2)
check('qemu-img: a section for each command of --help, no other',
      sorted(set(syntax) ^ set(sections)))
for cmd in sorted(syntax):
    sec = sections.get(cmd, '')
    problems = []
    if 'qemu-img ' + syntax[cmd] not in sec:
        problems.append('syntax line differs from --help')
    # common options are described once, in COMMON PARAMETERS
    common = opts_of(page.split('\nCOMMON PARAMETERS\n', 1)[1]
                     .split('\nCOMMANDS\n', 1)[0])
    described = opts_of(re.sub(r'^    qemu-img .*$', '', sec, flags=re.M))
    for o in sorted(opts_of(syntax[cmd]) - described - common):
        problems.append('%s in --help, not described' % o)
    path = os.path.join(src, 'qemu-img', cmd + '.c')
    if os.path.exists(path):
        for o in sorted(getopt_table(path) - described - common):
            problems.append('%s accepted (%s.c), not in the page' % (o, cmd))
    check('qemu-img %s: options as --help and the code' % cmd, problems)
top = opts_of(page.split('\nSTANDARD OPTIONS\n', 1)[1]
              .split('\nIMAGE NAMES\n', 1)[0])
check('qemu-img: standard options',
      sorted(getopt_table(os.path.join(src, 'qemu-img', 'main.c')) -
             top - {'--help'}))

# ---- qemu-io
io = os.path.join(build, 'qemu-io', 'qemu-io')
page = rst('qemu-io')
missing = []
cmds = run(io, '-c', 'help')
for line in cmds.splitlines():
    if ' -- ' in line:
        synopsis = line.split(' -- ')[0].strip()
        if '``%s``' % synopsis not in page:
            missing.append(synopsis)
check('qemu-io: every command with its syntax', missing)
opts = page.split('\nOPTIONS\n', 1)[1].split('\nCOMMANDS\n', 1)[0]
check('qemu-io: every option of --help described',
      sorted(opts_of(run(io, '--help')) - opts_of(opts)))

# ---- qemu-nbd
nbd = os.path.join(build, 'qemu-nbd', 'qemu-nbd')
page = rst('qemu-nbd')
opts = page.split('\nOPTIONS\n', 1)[1].split('\nEXAMPLES\n', 1)[0]
check('qemu-nbd: every option of --help described',
      sorted(opts_of(run(nbd, '--help')) - opts_of(opts)))
check('qemu-nbd: every option accepted (main.c) described',
      sorted(getopt_table(os.path.join(src, 'qemu-nbd', 'main.c')) -
             opts_of(opts) - {'--help'}))

print('1..%d' % len(results))
for i, (name, problems) in enumerate(results, 1):
    print('%sok %d - %s' % ('not ' if problems else '', i, name))
    for p in problems:
        print('# ' + str(p))
sys.exit(1 if any(p for _, p in results) else 0)
