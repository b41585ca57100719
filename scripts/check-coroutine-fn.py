#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Reject calls to coroutine functions from functions not marked coroutine_fn.

A function may yield if its name contains "_co_" (or it is one of the
yielding primitives below); it must then only be called from a function
marked coroutine_fn.  This is a textual check: it finds function
definitions at column 0 and scans their bodies.  Exit 1 on violations.
"""
import re
import sys
from pathlib import Path

YIELDING = {"qemu_coroutine_yield", "qemu_co_mutex_lock", "qemu_co_queue_wait",
            "co_waiter_wait", "qemu_co_sleep_ns", "thread_pool_co_submit",
            "laio_co_submit", "luring_co_submit", "luring_co_flush"}
# QEMU's names for wake-up and set-up helpers that contain "_co_" but never
# yield: callable from any context (callbacks, bottom halves, set-up).
NON_YIELDING = {"aio_co_wake", "aio_co_schedule", "qemu_co_queue_init",
                "qemu_co_queue_next", "qemu_co_queue_restart_all",
                "qemu_co_queue_empty", "qemu_co_mutex_init",
                "qemu_co_mutex_assert_locked", "co_waiter_init",
                "co_waiter_finish"}
DEF_RE = re.compile(r'^([A-Za-z_][\w \*]*?)\b(\w+)\s*\(([^;{]*?)\)\s*$', re.M)
CALL_RE = re.compile(r'\b(\w+)\s*\(')


def yields(name):
    if name in NON_YIELDING:
        return False
    return "_co_" in name or name in YIELDING


def strip_comments(text):
    text = re.sub(r'/\*.*?\*/', lambda m: '\n' * m.group(0).count('\n'),
                  text, flags=re.S)
    return re.sub(r'"(\\.|[^"\\])*"', '""', text)


def check(path):
    text = strip_comments(path.read_text())
    lines = text.split('\n')
    errors = []
    i = 0
    while i < len(lines):
        # a definition: "type name(args)" or "type\nname(args)" then "{" line
        if lines[i].startswith('{') and i > 0:
            j = i - 1
            head = lines[j]
            while j > 0 and '(' not in head.split(')')[0] and j > i - 6:
                j -= 1
                head = lines[j] + ' ' + head
            sig = ' '.join(lines[max(0, j - 1):i])
            m = re.search(r'(\w+)\s*\([^()]*(\([^()]*\)[^()]*)*\)\s*$', sig)
            name = m.group(1) if m else '?'
            marked = 'coroutine_fn' in sig
            k = i + 1
            depth = 1
            while k < len(lines) and depth:
                depth += lines[k].count('{') - lines[k].count('}')
                if depth and not marked:
                    for c in CALL_RE.findall(lines[k]):
                        if yields(c) and c != name:
                            errors.append(f"{path}:{k + 1}: {name}() calls "
                                          f"{c}() but is not coroutine_fn")
                k += 1
            i = k
            continue
        i += 1
    return errors


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else '.')
    errors = []
    for sub in ('util', 'block', 'qemu-img', 'qemu-io'):
        for path in sorted((root / sub).rglob('*.c')):
            errors += check(path)
    # TAP, so the test runner counts it like the GTest cases
    print("1..1")
    for e in errors:
        print(f"# {e}")
    print(f"{'not ok' if errors else 'ok'} 1 /lint/coroutine-fn "
          f"({len(errors)} violation(s))")
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
