#!/usr/bin/env python3
"""No function of lib/ or tools/ is longer than LIMIT lines without a reason.

usage: funclen.py SOURCE_ROOT [--top N]

A function is counted from the first line of its signature to its closing
brace. The sources are clang-formatted (BreakBeforeBraces: Linux), so a
function body opens with a "{" alone in column 0 and closes with the first
"}" in column 0 after it. Functions listed in ALLOWED may be longer, each
with its reason; an entry that no longer needs to be there is reported (not
failed). --top N prints the N longest functions (for the record) and does
not fail.
"""
import os
import re
import sys

LIMIT = 120

# "path:function": why it may be longer than LIMIT.
ALLOWED = {}

NAME = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*\(')


def functions(path):
    """(name, first line, length) of each function defined in path."""
    with open(path, encoding='utf-8', errors='replace') as f:
        lines = f.read().split('\n')
    out = []
    i = 0
    while i < len(lines):
        if lines[i] != '{':
            i += 1
            continue
        # The signature: the lines above, up to a blank line, a preprocessor
        # line, the end of a comment or of a previous declaration.
        j = i - 1
        while j > 0:
            prev = lines[j - 1].rstrip()
            if (not prev or prev.startswith('#') or prev.endswith('*/') or prev.endswith(';')
                    or prev.endswith('}') or prev.startswith('//')):
                break
            j -= 1
        m = None
        for m in NAME.finditer(' '.join(lines[j:i])):
            if not m.group(1).startswith('__attribute'):
                break
        k = i + 1
        while k < len(lines) and not lines[k].startswith('}'):
            k += 1
        if m:
            out.append((m.group(1), j + 1, k - j + 1))
        i = k + 1
    return out


def main(argv):
    root = argv[1]
    top = int(argv[3]) if len(argv) > 3 and argv[2] == '--top' else None
    found = []
    for sub in ('lib', 'tools'):
        for d, _, files in os.walk(os.path.join(root, sub)):
            for fn in sorted(files):
                if fn.endswith('.c'):
                    p = os.path.join(d, fn)
                    rel = os.path.relpath(p, root)
                    found += [(n, rel, line, ln) for n, line, ln in functions(p)]
    if len(found) < 100:
        print('funclen: only %d functions found: the scan is broken' % len(found))
        return 1
    found.sort(key=lambda x: -x[3])
    if top is not None:
        for n, rel, line, ln in found[:top]:
            print('%4d  %s (%s:%d)' % (ln, n, rel, line))
        return 0
    bad = []
    for n, rel, line, ln in found:
        key = '%s:%s' % (rel, n)
        if ln > LIMIT and key not in ALLOWED:
            bad.append('%s:%d: %s is %d lines' % (rel, line, n, ln))
    long_keys = {'%s:%s' % (rel, n) for n, rel, _, ln in found if ln > LIMIT}
    for key in sorted(set(ALLOWED) - long_keys):
        print('funclen: note: %s is no longer over %d lines; drop it from ALLOWED' % (key, LIMIT))
    if bad:
        print('\n'.join(bad))
        print('funclen: the functions above are over %d lines: split them into named steps, '
              'or add them to ALLOWED with the reason' % LIMIT)
        return 1
    print('funclen: %d functions in lib/ and tools/; the longest: %s (%s, %d lines)' %
          (len(found), found[0][0], found[0][1], found[0][3]))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
