#!/usr/bin/env python3
"""progress_pty.py COLS [COLS2] -- CMD...: runs CMD with its stderr on a pty of
COLS columns (changed to COLS2 after 0.6 s of output has been
read, when given) and checks every progress line drawn: none may be wider
than the terminal minus one column (so none wraps), and at 200 columns the
line must use more than 80. Prints a summary; exit 0 when all lines fit."""
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time


def setsize(fd, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))


def main():
    sep = sys.argv.index("--")
    sizes = [int(a) for a in sys.argv[1:sep]]
    cmd = sys.argv[sep + 1:]
    master, slave = pty.openpty()
    setsize(slave, sizes[0])
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=slave, close_fds=True)
    os.close(slave)
    out = {sizes[0]: b""}
    cur = sizes[0]
    t0 = time.monotonic()
    deadline = t0 + 120
    while time.monotonic() < deadline:
        # Resized once a few lines were drawn at the first width (not after
        # a fixed time: a slow start, under a sanitizer or load, would leave
        # the first width without lines).
        if len(sizes) > 1 and cur == sizes[0] and out[cur].count(b"\r") >= 3:
            setsize(master, sizes[1])
            time.sleep(0.3)  # a redraw in flight may still use the old width
            cur = sizes[1]
            out[cur] = b""
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            out[cur] += data
        elif proc.poll() is not None:
            break
    rc = proc.wait(timeout=10)
    ok = rc == 0
    for cols, data in out.items():
        lines = [seg.split(b"\x1b[K")[0] for seg in data.split(b"\r")]
        lines = [ln for ln in lines if ln.strip() and b"\n" not in ln]
        widest = max((len(ln) for ln in lines), default=0)
        bad = [ln for ln in lines if len(ln) > cols - 1]
        good = len(lines) >= 2 and not bad and (cols < 200 or widest > 80)
        print("%d columns: %d progress lines, widest %d%s" %
              (cols, len(lines), widest, "" if good else " -- TOO WIDE or too few: %r" % bad[:2]))
        ok = ok and good
    print("exit status %d" % rc)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
