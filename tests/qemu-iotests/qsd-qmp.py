#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run a QMP transcript against a qemu-storage-daemon and print what it
answers, normalised, so that the same transcript gives the same output
with our daemon and with 7.2's (the differential iotests).

usage: qsd-qmp.py DAEMON [DAEMON-ARGS...] < TRANSCRIPT

The daemon gets a QMP monitor on a unix socket of its own (its other
options are DAEMON-ARGS).  Transcript lines:
  {...}            a command: its reply is printed
  raw TEXT         bytes sent as they are (bad JSON); one reply is printed
  wait EVENT [K=V..]  wait (30 s at most) until EVENT came (with data
                   members K of value V), and for the events sent with it;
                   print nothing
  events           print the events that came since the last 'events',
                   in order, without timestamps
  node NAME KEY..  the members KEY.. of node NAME in query-named-block-nodes
                   (7.2 lists the nodes in an order of its own)
  mask KEY..       from here on, print the values of members KEY as "N"
                   (a job's offset and len, when a guest writes meanwhile)
  sh CMD           run CMD in a shell, print its output
  kill             SIGKILL the daemon (a crash in the middle of a job) and
                   end the transcript there
  # ...            printed as it is (a heading)
The daemon is sent 'quit' at the end; its exit status is printed.
Normalised: timestamps dropped, generated node names ('#block123') as
'#blockN', the version as "VERSION", object keys sorted.
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time


MASKED = set()


def norm(obj):
    if isinstance(obj, dict):
        if 'qemu' in obj and 'package' in obj:
            return 'VERSION'
        return {k: 'N' if k in MASKED else norm(v)
                for k, v in obj.items() if k != 'timestamp'}
    if isinstance(obj, list):
        return [norm(v) for v in obj]
    if isinstance(obj, str):
        return re.sub(r'#block[0-9]+', '#blockN', obj)
    return obj


def show(prefix, obj):
    print(prefix + json.dumps(norm(obj), sort_keys=True))


class Qmp:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        for _ in range(300):
            try:
                self.sock.connect(path)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise SystemExit('cannot connect to ' + path)
        self.buf = b''
        self.events = []

    def read(self, timeout=30):
        self.sock.settimeout(timeout)
        while b'\n' not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def reply(self):
        while True:
            msg = self.read()
            if msg is None:
                return None
            if 'event' in msg:
                self.events.append(msg)
                continue
            return msg

    def wait_event(self, spec):
        name, *conds = spec.split()
        want = dict(c.split('=', 1) for c in conds)

        def match(e):
            data = e.get('data', {})
            return e['event'] == name and \
                all(str(data.get(k)) == v for k, v in want.items())

        deadline = time.time() + 30
        while not any(match(e) for e in self.events):
            left = deadline - time.time()
            if left <= 0:
                print('timeout waiting for ' + spec)
                return
            msg = self.read(left)
            if msg is None:
                return
            if 'event' in msg:
                self.events.append(msg)
            else:
                show('unexpected: ', msg)
        # what the daemon sent with it (events written one by one) comes
        # before the reply to a command sent now: read up to that
        self.sock.sendall(b'{"execute": "query-version"}\n')
        self.reply()


def main():
    tmp = tempfile.mkdtemp(prefix='qsd-qmp.')
    path = os.path.join(tmp, 'qmp.sock')
    cmd = sys.argv[1:] + ['--chardev',
                          'socket,id=qmp0,path=%s,server=on,wait=off' % path,
                          '--monitor', 'chardev=qmp0']
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
    try:
        run(proc, path)
    finally:
        if proc.poll() is None:
            proc.kill()
            print('daemon killed')


def run(proc, path):
    qmp = Qmp(path)
    show('greeting: ', qmp.read())
    for line in sys.stdin:
        line = line.rstrip('\n')
        if not line.strip():
            continue
        if line.startswith('#'):
            print(line)
        elif line.startswith('{'):
            print('-> ' + line)
            qmp.sock.sendall(line.encode() + b'\n')
            show('<- ', qmp.reply())
        elif line.startswith('raw '):
            print('-> ' + line[4:])
            qmp.sock.sendall(line[4:].encode() + b'\n')
            show('<- ', qmp.reply())
        elif line.startswith('wait '):
            qmp.wait_event(line[5:])
        elif line == 'events':
            for e in qmp.events:
                show('event: ', {'event': e['event'],
                                 'data': e.get('data', {})})
            qmp.events = []
        elif line.startswith('node '):
            # one node of query-named-block-nodes (whose order 7.2 does
            # not fix): the members named after the node name
            words = line.split()
            print('-> query-named-block-nodes: ' + ' '.join(words[1:]))
            qmp.sock.sendall(b'{"execute": "query-named-block-nodes"}\n')
            nodes = qmp.reply().get('return', [])
            found = [n for n in nodes if n.get('node-name') == words[1]]
            if not found:
                print('<- no node %s' % words[1])
            for n in found:
                show('<- ', {k: n.get(k) for k in words[2:]})
        elif line.startswith('mask '):
            MASKED.update(line.split()[1:])
        elif line == 'kill':
            proc.kill()
            print('daemon killed: %s' % proc.wait(30))
            if os.path.exists(path):
                os.unlink(path)
            os.rmdir(os.path.dirname(path))
            return
        elif line.startswith('sh '):
            out = subprocess.run(line[3:], shell=True, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            sys.stdout.write(out.stdout)
        else:
            raise SystemExit('bad transcript line: ' + line)
        sys.stdout.flush()
    qmp.sock.sendall(b'{"execute": "quit"}\n')
    qmp.reply()
    try:
        rc = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = 'timeout'
    print('daemon exit: %s' % rc)
    tmp = os.path.dirname(path)
    os.rmdir(tmp) if not os.listdir(tmp) else None


if __name__ == '__main__':
    main()
