#!/usr/bin/env python3
"""Loopback recording proxy for fuzz seeds (stdlib only).

record_proxy.py PORTFILE UPSTREAM_PORT OUT

Listens on 127.0.0.1 (a free port, written to PORTFILE), accepts ONE client,
relays it to 127.0.0.1:UPSTREAM_PORT and writes every byte the server sent
to OUT: the server's stream as the client saw it, which fuzz_client and
test_alloc replay. Exits when both directions are closed, or after 60 s."""
import os
import selectors
import socket
import sys
import time


def main():
    portfile, upstream, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    lst.settimeout(30)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(lst.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    cli, _ = lst.accept()
    srv = socket.create_connection(("127.0.0.1", upstream), timeout=10)
    sel = selectors.DefaultSelector()
    sel.register(cli, selectors.EVENT_READ, srv)
    sel.register(srv, selectors.EVENT_READ, cli)
    recorded = bytearray()
    open_dirs = 2
    deadline = time.monotonic() + 60
    while open_dirs and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            src, dst = key.fileobj, key.data
            data = src.recv(65536)
            if src is srv:
                recorded += data
            if not data:
                sel.unregister(src)
                open_dirs -= 1
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                continue
            dst.sendall(data)
    with open(out, "wb") as f:
        f.write(recorded)
    print(f"record_proxy: {len(recorded)} server bytes -> {out}")


if __name__ == "__main__":
    main()
