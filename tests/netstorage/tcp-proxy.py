#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""tcp-proxy.py - forward TCP connections on loopback, for error tests.

    tcp-proxy.py --to HOST:PORT [--accept N] [--port-file FILE]

Listens on a free port of 127.0.0.1 (written to FILE, or printed), forwards
the first N connections (default: all) to HOST:PORT and closes every later
one as soon as it is accepted: a server that takes a limited number of
connections from one client.  Runs until killed.
"""
import argparse
import socket
import sys
import threading


def pump(src, dst):
    try:
        while True:
            data = src.recv(1 << 16)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--to', required=True)
    ap.add_argument('--accept', type=int, default=-1)
    ap.add_argument('--port-file')
    a = ap.parse_args()
    host, port = a.to.rsplit(':', 1)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('127.0.0.1', 0))
    ls.listen(16)
    p = str(ls.getsockname()[1])
    if a.port_file:
        with open(a.port_file + '.tmp', 'w') as f:
            f.write(p + '\n')
        import os
        os.rename(a.port_file + '.tmp', a.port_file)
    else:
        print(p, flush=True)
    n = 0
    while True:
        c, _ = ls.accept()
        n += 1
        if 0 <= a.accept < n:
            c.close()
            continue
        try:
            s = socket.create_connection((host, int(port)))
        except OSError as e:
            print('tcp-proxy: %s: %s' % (a.to, e), file=sys.stderr)
            c.close()
            continue
        for x, y in ((c, s), (s, c)):
            threading.Thread(target=pump, args=(x, y), daemon=True).start()


if __name__ == '__main__':
    main()
