#!/usr/bin/env python3
"""freeze_proxy.py: a loopback TCP proxy that can make a server go silent.

    freeze_proxy.py --port-file FILE --freeze-file FLAG [--hold [--pass-breaks]]
                    [--freeze-on-record STATE] [--timeout S] HOST PORT

Forwards bytes both ways between each client and HOST:PORT. Once the file
FLAG exists, it forwards nothing more in either direction but keeps every
connection open: to the client the server has gone silent without closing
anything. By default it reads (and drops) what the client sends meanwhile;
with --hold it reads nothing while frozen (the bytes wait in the sockets and
in the proxy) and forwards everything, in order, once FLAG is removed: a
pause, not a loss.

--pass-breaks (with --hold): the client stays able to answer the server's
oplock and lease breaks while the rest is held. What the client sends is
forwarded as ever; of what the server sends, whole NetBIOS frames are
forwarded (or held), and a break notification (an SMB2 OPLOCK_BREAK with
MessageId 0xFFFFFFFFFFFFFFFF) goes through even while frozen. A copy held
this way does not keep another client's conflicting open waiting for the
break's time-out.

--freeze-on-record STATE freezes at a known point of a copy: before it
forwards anything from the server, the proxy looks at smbcopy's resume
record STATE (a path or a glob); once the record says some data is done ("done N", N > 0), it
creates FLAG itself and holds from there. So the copy in flight cannot
finish, whatever its speed, and the record on disk already shows progress.
It does so once: after FLAG is removed the proxy forwards as usual (a later
--resume run can go through it, under the same URL).

The listening port is written to FILE (atomically) once it accepts. It exits
after --timeout seconds (default 120). Python 3 standard library only.
"""

import argparse
import glob
import os
import re
import select
import socket
import time


def record_done(pattern):
    """The largest done offset of the resume records that match pattern (a
    glob), or 0 when none can be read."""
    best = 0
    for path in glob.glob(pattern):
        try:
            with open(path, encoding="ascii", errors="replace") as f:
                m = re.search(r"^done (\d{20})$", f.read(), re.M)
        except OSError:
            continue
        if m:
            best = max(best, int(m.group(1)))
    return best


def frames(buf):
    """The whole NetBIOS session frames at the start of buf, and the rest."""
    out = []
    while len(buf) >= 4:
        n = 4 + int.from_bytes(buf[1:4], "big")
        if len(buf) < n:
            break
        out.append(buf[:n])
        buf = buf[n:]
    return out, buf


def is_break(frame):
    """Whether frame is an SMB2 oplock or lease break notification."""
    h = frame[4:]
    return (
        len(h) >= 64
        and h[:4] == b"\xfeSMB"
        and int.from_bytes(h[12:14], "little") == 0x12
        and h[24:32] == b"\xff" * 8
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--freeze-file", required=True)
    ap.add_argument("--hold", action="store_true")
    ap.add_argument("--pass-breaks", action="store_true")
    ap.add_argument("--freeze-on-record")
    ap.add_argument("--timeout", type=float, default=120.0)
    a = ap.parse_args()
    deadline = time.monotonic() + a.timeout
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(tmp, a.port_file)
    peer = {}  # socket -> the other end
    servers = set()  # the server ends
    held = {}  # socket -> bytes read from it and not forwarded yet (--hold)
    record_spent = False  # --freeze-on-record froze once already
    partial = {}  # --pass-breaks: server socket -> the start of a frame
    passing = a.hold and a.pass_breaks
    while time.monotonic() < deadline:
        frozen = os.path.exists(a.freeze_file)
        if a.hold and not frozen:
            for s, data in list(held.items()):
                del held[s]
                if s in peer:
                    try:
                        peer[s].sendall(data)
                    except OSError:
                        pass
        readable = list(peer) if not (a.hold and frozen) or passing else []
        r, _, _ = select.select([ls] + readable, [], [], 0.05)
        for s in r:
            if s is ls:
                c, _ = ls.accept()
                u = socket.create_connection((a.host, a.port))
                peer[c] = u
                peer[u] = c
                servers.add(u)
                continue
            if s not in peer:
                continue
            try:
                data = s.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                o = peer.pop(s)
                peer.pop(o, None)
                servers.discard(s)
                servers.discard(o)
                held.pop(s, None)
                held.pop(o, None)
                partial.pop(s, None)
                partial.pop(o, None)
                s.close()
                o.close()
                continue
            if (
                not frozen
                and a.freeze_on_record
                and not record_spent
                and s in servers
                and record_done(a.freeze_on_record) > 0
            ):
                with open(a.freeze_file, "w", encoding="ascii") as f:
                    f.write("frozen on the record\n")
                frozen = True
                record_spent = True
            if passing and s in servers:
                whole, partial[s] = frames(partial.get(s, b"") + data)
                out = b""
                for fr in whole:
                    if frozen and not is_break(fr):
                        held[s] = held.get(s, b"") + fr
                    else:
                        out += fr
                if out:
                    try:
                        peer[s].sendall(out)
                    except OSError:
                        pass
                continue
            if frozen and not passing:
                if a.hold:
                    held[s] = held.get(s, b"") + data
                continue
            try:
                peer[s].sendall(data)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
