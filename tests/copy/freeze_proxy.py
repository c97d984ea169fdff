#!/usr/bin/env python3
"""freeze_proxy.py: a loopback TCP proxy that can make a server go silent.

    freeze_proxy.py --port-file FILE --freeze-file FLAG [--timeout S] HOST PORT

Forwards bytes both ways between each client and HOST:PORT. Once the file
FLAG exists, it forwards nothing more in either direction but keeps every
connection open and reads (and drops) what the client sends: to the client
the server has gone silent without closing anything. The listening port is
written to FILE (atomically) once it accepts. It exits after --timeout
seconds (default 120). Python 3 standard library only.
"""

import argparse
import os
import select
import socket
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--freeze-file", required=True)
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
    while time.monotonic() < deadline:
        frozen = os.path.exists(a.freeze_file)
        r, _, _ = select.select([ls] + list(peer), [], [], 0.05)
        for s in r:
            if s is ls:
                c, _ = ls.accept()
                u = socket.create_connection((a.host, a.port))
                peer[c] = u
                peer[u] = c
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
                s.close()
                o.close()
                continue
            if not frozen:
                try:
                    peer[s].sendall(data)
                except OSError:
                    pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
