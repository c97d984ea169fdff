#!/usr/bin/env python3
"""Every public function that returns a status documents its errors.

usage: errdocs.py INCLUDE_DIR

A function declared in include/smbwire/*.h that returns int (0 or a negative
SMBW_E* code) must have, in the comment right above it (or above the group of
declarations it belongs to), the word "Errors" or "Never fails". Functions
returning anything else (getters, names, void) are not checked.
"""
import glob
import os
import re
import sys


def main(incdir):
    bad, n = [], 0
    for h in sorted(glob.glob(os.path.join(incdir, 'smbwire', '*.h'))):
        lines = open(h).read().split('\n')
        for i, line in enumerate(lines):
            if not re.match(r'^int (smbw_\w+)\(', line):
                continue
            n += 1
            name = re.match(r'^int (smbw_\w+)\(', line).group(1)
            # Up over the declarations of the group to the comment above it.
            j = i - 1
            while j >= 0 and lines[j].strip() and '*/' not in lines[j]:
                j -= 1
            comment = []
            if j >= 0 and '*/' in lines[j]:
                while j >= 0:
                    comment.insert(0, lines[j])
                    if '/*' in lines[j]:
                        break
                    j -= 1
            text = ' '.join(comment)
            if 'Errors' not in text and 'Never fails' not in text:
                bad.append('%s:%d: %s' % (os.path.relpath(h, incdir), i + 1, name))
    if n < 10:
        sys.exit('errdocs: only %d functions found in %s: the scan is broken' % (n, incdir))
    if bad:
        print('errdocs: public functions whose comment does not list their errors ("Errors: ..."):')
        for b in bad:
            print('  ' + b)
        sys.exit(1)
    print('errdocs: the %d status-returning public functions list their errors' % n)


if __name__ == '__main__':
    main(sys.argv[1])
