#!/usr/bin/env python3
"""TCP proxy that adds a fixed one-way delay in each direction.

    latency_proxy.py --delay-ms 5 --upstream 127.0.0.1:PORT [--listen-port 0] [--port-file F]

Every byte read from one side is written to the other side `delay` seconds
after it was read; order is kept (one queue and one writer per direction), so
the round trip grows by twice the delay and nothing is reordered. Bandwidth is
not limited beyond what Python manages (fine for server-side copy traffic,
which is small; bulk data through it measures the proxy). The listening port
is printed on stdout (and written to --port-file) once it accepts.
Python 3 standard library only.
"""

import argparse
import collections
import os
import socket
import sys
import threading
import time


def pump(src, dst, delay):
    """Reads from src, forwards each piece to dst `delay` seconds later."""
    queue = collections.deque()
    cond = threading.Condition()
    state = {"eof": False}

    def reader():
        try:
            while True:
                data = src.recv(1 << 20)
                if not data:
                    break
                with cond:
                    queue.append((time.monotonic() + delay, data))
                    cond.notify()
        except OSError:
            pass
        with cond:
            state["eof"] = True
            cond.notify()

    def writer():
        try:
            while True:
                with cond:
                    while not queue and not state["eof"]:
                        cond.wait()
                    if not queue:
                        break
                    due, data = queue.popleft()
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    threads = [threading.Thread(target=reader, daemon=True), threading.Thread(target=writer, daemon=True)]
    for t in threads:
        t.start()
    return threads


def serve(client, upstream, delay):
    try:
        server = socket.create_connection(upstream)
    except OSError as exc:
        print(f"latency_proxy: upstream {upstream}: {exc}", file=sys.stderr)
        client.close()
        return
    for s in (client, server):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threads = pump(client, server, delay) + pump(server, client, delay)
    for t in threads:
        t.join()
    client.close()
    server.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--delay-ms", type=float, required=True, help="one-way delay per direction")
    ap.add_argument("--upstream", required=True, help="HOST:PORT to forward to")
    ap.add_argument("--listen-port", type=int, default=0)
    ap.add_argument("--port-file")
    args = ap.parse_args()
    host, _, port = args.upstream.rpartition(":")
    upstream = (host, int(port))
    delay = args.delay_ms / 1000.0

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", args.listen_port))
    lsock.listen(16)
    port = lsock.getsockname()[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    print(port, flush=True)
    while True:
        client, _ = lsock.accept()
        threading.Thread(target=serve, args=(client, upstream, delay), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
