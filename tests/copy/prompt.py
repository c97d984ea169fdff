#!/usr/bin/env python3
"""smbcopy's password prompt on a terminal (run through with-server.sh samba).

    prompt.py PATH/TO/smbcopy

smbcopy runs on a pseudo-terminal with no password anywhere (no
SMB_PASSWORD, none in the URL). It must print "Password for USER@...: " and
turn echo off on the terminal (checked from the master side with tcgetattr,
bounded by 20 s) before it reads; only then the password is typed. The copy
must succeed and the password must never appear in what the terminal showed.
Exit status 0 when every check passed.
"""
import os
import pty
import select
import signal
import sys
import tempfile
import termios
import time


def main():
    smbcopy = sys.argv[1]
    env = {k: v for k, v in os.environ.items() if k != "SMB_PASSWORD"}
    user, pw = env["SMBW_TEST_USER"], env["SMBW_TEST_PASS"]
    url = "smb://%s@%s:%s/%s/prompt.bin" % (user, env["SMBW_TEST_HOST"], env["SMBW_TEST_PORT"],
                                          env["SMBW_TEST_SHARE"])
    work = tempfile.mkdtemp(prefix="copy-prompt.", dir=env.get("TMPDIR") or None)
    src = os.path.join(work, "src.bin")
    data = os.urandom(200000)
    with open(src, "wb") as fh:
        fh.write(data)
    failures = []
    pid, master = pty.fork()
    if pid == 0:
        os.execve(smbcopy, [smbcopy, "--no-progress", src, url], env)
    shown = b""
    deadline = time.monotonic() + 20

    def read_some(timeout):
        nonlocal shown
        r, _, _ = select.select([master], [], [], timeout)
        if r:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            shown += chunk
        return True

    while b"Password for " not in shown and time.monotonic() < deadline:
        if not read_some(0.1):
            break
    if b"Password for " not in shown:
        failures.append("no prompt: %r" % shown)
    else:
        # Echo must be off before we type (the prompt is printed first).
        echo_off = False
        while time.monotonic() < deadline:
            if not termios.tcgetattr(master)[3] & termios.ECHO:
                echo_off = True
                break
            read_some(0.05)
        if not echo_off:
            failures.append("echo was never turned off on the terminal")
        os.write(master, pw.encode() + b"\n")
    while time.monotonic() < deadline + 40:
        if not read_some(0.2):
            break
    status = None
    for _ in range(100):
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
        time.sleep(0.1)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        failures.append("smbcopy did not finish")
    elif not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        failures.append("smbcopy exit status %r: %r" % (status, shown))
    if pw.encode() in shown:
        failures.append("the password appeared on the terminal: %r" % shown)
    dst = os.path.join(env["SMBW_TEST_SHARE_PATH"], "prompt.bin")
    try:
        with open(dst, "rb") as fh:
            if fh.read() != data:
                failures.append("the copy differs")
    except OSError as e:
        failures.append("no copy on the share: %s" % e)
    for f in failures:
        print("FAIL %s" % f, file=sys.stderr)
    if not failures:
        print("ok   prompted (%r), echo off, password not shown, copy identical"
              % shown.split(b"\n")[0].strip())
    os.unlink(src)
    os.rmdir(work)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
