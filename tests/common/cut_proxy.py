#!/usr/bin/env python3
"""cut_proxy.py: a loopback TCP proxy that drops connections on purpose.

    cut_proxy.py --port-file FILE [--listen-port P] [--up N] [--down N]
                 [--command NAME|NUMBER --at K [--after-forward]]
                 [--conn N] [--hold-server S] [--cuts M] [--then HOST:PORT]
                 [--no-previous-session]
                 [--log FILE] [--timeout S] HOST PORT

Forwards bytes both ways between each client and HOST:PORT and cuts (RST on
both sides: SO_LINGER 0, then close) the connection in flight:

  --up N       once the client has sent N bytes on one connection;
  --down N     once the server has sent N bytes on one connection;
  --command C --at K
               when the client sends its Kth request of SMB2 command C
               (a name such as READ, WRITE, IOCTL, CREATE, or its number),
               counted over every connection of the run; that request is
               not forwarded. Requests of an encrypted session cannot be
               seen and are not counted.
  --after-forward
               with --command: the Kth request is forwarded, and the cut
               comes when the server's final answer to it (same MessageId,
               not STATUS_PENDING) arrives, which the client never gets: the
               server carried the request out, the client cannot know.
  --hold-server S
               after each cut the server's side of the connection is closed
               (RST) only S seconds later: the server keeps the lost
               connection's opens (and their share modes, delete marks)
               that long, while the client already comes back.
  --hold-from-create
               with --hold-server S: the S seconds count from the first
               CREATE request sent on a connection accepted after the cut
               (at most 60 s after the cut), not from the cut: the old
               opens are still there when the client's reconnect, however
               slow its login, asks for a name again.
  --no-previous-session
               zero the PreviousSessionId of every SESSION_SETUP request
               (MS-SMB2 2.2.5), as from a client that does not name the
               session a reconnect replaces: the server then keeps the old
               session (and, with --hold-server, its opens) until it sees its
               connection drop. Client bytes are forwarded by whole frames
               in this mode. Breaks the pre-authentication hash of SMB 3.1.1
               sessions: use it with a client limited to 3.0.2 or below.
  --conn N     with --command: count only the requests of the Nth
               connection accepted (1 for the first), e.g. to cut one lane
               of a copy over several connections.
  --count-after-cut
               count those requests only once another trigger (--up,
               --down) has cut: e.g. --down N --command SESSION_SETUP --at 2
               --cuts 2 --count-after-cut cuts a download, then the
               reconnect in the middle of its authentication.

After a cut it keeps accepting; the counters start again on the new
connection (--at counts K more requests), so up to --cuts M cuts (default 1)
happen in one run. With --then HOST:PORT, connections accepted after the
first cut go to that server instead (a server that "came back" different).
Each cut is logged to --log as "cut REASON" (one line). The listening port
is written to FILE (atomically) once it accepts. It exits after --timeout
seconds (default 120). --listen-port P listens on P (default: a free port),
e.g. to come back on the port of an earlier run. Python 3 standard library
only.
"""

import argparse
import os
import select
import socket
import struct
import time

COMMANDS = {
    "NEGOTIATE": 0, "SESSION_SETUP": 1, "LOGOFF": 2, "TREE_CONNECT": 3,
    "TREE_DISCONNECT": 4, "CREATE": 5, "CLOSE": 6, "FLUSH": 7, "READ": 8,
    "WRITE": 9, "LOCK": 10, "IOCTL": 11, "CANCEL": 12, "ECHO": 13,
    "QUERY_DIRECTORY": 14, "CHANGE_NOTIFY": 15, "QUERY_INFO": 16,
    "SET_INFO": 17, "OPLOCK_BREAK": 18,
}


class Link:
    """One client connection and its server connection."""

    def __init__(self, client, server):
        self.client = client
        self.server = server
        self.up = 0  # bytes client -> server
        self.down = 0  # bytes server -> client
        self.frame = b""  # client bytes not yet split into frames
        self.down_frame = b""  # server bytes not yet split into frames
        self.watch = None  # --after-forward: MessageId whose answer cuts
        self.watch_k = 0  # ... of the Kth request
        self.late = False  # accepted after a cut
        self.index = 0  # 1 for the first connection accepted
        self.hold = b""  # --no-previous-session: client bytes of a partial frame

    def commands(self, data):
        """SMB2 commands of the complete frames in data (client side);
        returns [(command, start offset in data of its frame, MessageId,
        Status)] (the start is negative when the frame began in earlier
        data, forwarded already)."""
        out, self.frame = self.split(self.frame, data)
        return out

    def answers(self, data):
        """As commands, for the server's side."""
        out, self.down_frame = self.split(self.down_frame, data)
        return out

    @staticmethod
    def split(pending, data):
        out = []
        buf = pending + data
        base = len(pending)
        pos = 0
        while len(buf) - pos >= 4:
            n = struct.unpack(">I", buf[pos:pos + 4])[0] & 0xFFFFFF
            if len(buf) - pos < 4 + n:
                break
            msg = buf[pos + 4:pos + 4 + n]
            off = 0
            while len(msg) - off >= 64 and msg[off:off + 4] == b"\xfeSMB":
                out.append((struct.unpack("<H", msg[off + 12:off + 14])[0],
                            pos - base,
                            struct.unpack("<Q", msg[off + 24:off + 32])[0],
                            struct.unpack("<I", msg[off + 8:off + 12])[0]))
                nxt = struct.unpack("<I", msg[off + 20:off + 24])[0]
                if nxt == 0 or nxt < 64:
                    break
                off += nxt
            pos += 4 + n
        return out, buf[pos:]


def zero_previous_session(data):
    """The complete frames of data with PreviousSessionId zeroed in their
    SESSION_SETUP requests, and the bytes of an incomplete last frame."""
    out = bytearray()
    pos = 0
    while len(data) - pos >= 4:
        n = struct.unpack(">I", data[pos:pos + 4])[0] & 0xFFFFFF
        if len(data) - pos < 4 + n:
            break
        frame = bytearray(data[pos:pos + 4 + n])
        if n >= 64 + 24 and frame[4:8] == b"\xfeSMB" and \
                struct.unpack("<H", frame[16:18])[0] == COMMANDS["SESSION_SETUP"]:
            frame[4 + 64 + 16:4 + 64 + 24] = bytes(8)
        out += frame
        pos += 4 + n
    return bytes(out), data[pos:]


def rst(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--listen-port", type=int, default=0)
    ap.add_argument("--up", type=int, default=0)
    ap.add_argument("--down", type=int, default=0)
    ap.add_argument("--command")
    ap.add_argument("--at", type=int, default=0)
    ap.add_argument("--count-after-cut", action="store_true")
    ap.add_argument("--conn", type=int, default=0)
    ap.add_argument("--after-forward", action="store_true")
    ap.add_argument("--hold-server", type=float, default=0.0)
    ap.add_argument("--hold-from-create", action="store_true")
    ap.add_argument("--no-previous-session", action="store_true")
    ap.add_argument("--cuts", type=int, default=1)
    ap.add_argument("--then")
    ap.add_argument("--log")
    ap.add_argument("--timeout", type=float, default=120.0)
    a = ap.parse_args()
    cmd = None
    if a.command is not None:
        cmd = COMMANDS.get(a.command.upper())
        if cmd is None:
            cmd = int(a.command, 0)
        if a.at <= 0:
            ap.error("--command needs --at K (K >= 1)")
    if a.after_forward and cmd is None:
        ap.error("--after-forward needs --command")
    target = (a.host, a.port)
    then = None
    if a.then:
        h, p = a.then.rsplit(":", 1)
        then = (h, int(p))
    deadline = time.monotonic() + a.timeout
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.listen_port))
    ls.listen(8)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(tmp, a.port_file)
    links = {}  # socket -> Link
    # [time to close (None: from the next CREATE), latest time, server
    # socket] after a cut (--hold-server)
    held = []
    cuts = 0
    seen = 0  # requests of cmd since the last cut
    accepted = 0

    def log(reason):
        if a.log:
            with open(a.log, "a", encoding="ascii") as f:
                f.write("cut %s\n" % reason)

    def drop(link, reason):
        nonlocal cuts, seen
        cuts += 1
        seen = 0
        log(reason)
        for s in (link.client, link.server):
            links.pop(s, None)
            if s is link.server and a.hold_server > 0:
                now = time.monotonic()
                held.append([None if a.hold_from_create else now + a.hold_server,
                             now + 60.0, s])
            else:
                rst(s)

    def close(link):
        for s in (link.client, link.server):
            links.pop(s, None)
            s.close()

    while time.monotonic() < deadline:
        now = time.monotonic()
        for item in [h for h in held if min(h[0] or h[1], h[1]) <= now]:
            held.remove(item)
            rst(item[2])
        r, _, _ = select.select([ls] + list(links), [], [], 0.05 if held else 0.2)
        for s in r:
            if s is ls:
                c, _ = ls.accept()
                dest = then if then and cuts > 0 else target
                try:
                    sv = socket.create_connection(dest, timeout=5)
                except OSError:
                    c.close()
                    continue
                link = Link(c, sv)
                link.late = cuts > 0
                accepted += 1
                link.index = accepted
                links[c] = link
                links[sv] = link
                continue
            link = links.get(s)
            if link is None:
                continue  # cut earlier in this round
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                close(link)
                continue
            armed = cuts < a.cuts
            if s is link.client and a.no_previous_session:
                data, link.hold = zero_previous_session(link.hold + data)
                if not data:
                    continue
            if s is link.client:
                cmds = link.commands(data) if cmd is not None or a.hold_from_create else []
                if link.late and any(c_ == COMMANDS["CREATE"] for c_, _, _, _ in cmds):
                    for h in held:
                        if h[0] is None:
                            h[0] = time.monotonic() + a.hold_server
                if armed and cmd is not None and (cuts > 0 or not a.count_after_cut) and \
                        a.conn in (0, link.index):
                    for c_, start, mid, _ in cmds:
                        if c_ != cmd:
                            continue
                        seen += 1
                        if seen >= a.at and a.after_forward:
                            if link.watch is None:
                                link.watch = mid
                                link.watch_k = seen
                            continue
                        if seen >= a.at:
                            try:
                                link.server.sendall(data[:max(0, start)])
                            except OSError:
                                pass
                            drop(link, "at request %d of command %d" % (seen, cmd))
                            break
                    if link.client not in links:
                        continue
                link.up += len(data)
                if armed and a.up and link.up >= a.up:
                    keep = len(data) - (link.up - a.up)
                    try:
                        link.server.sendall(data[:keep])
                    except OSError:
                        pass
                    drop(link, "after %d bytes up" % a.up)
                    continue
                dst = link.server
            else:
                if link.watch is not None or (a.after_forward and armed):
                    cut_at = None
                    for _, start, mid, status in link.answers(data):
                        if link.watch is not None and mid == link.watch and \
                                status != 0x103:  # not STATUS_PENDING
                            cut_at = start
                            break
                    if cut_at is not None:
                        try:
                            link.client.sendall(data[:max(0, cut_at)])
                        except OSError:
                            pass
                        drop(link, "after forwarding request %d of command %d"
                             % (link.watch_k, cmd))
                        continue
                link.down += len(data)
                if armed and a.down and link.down >= a.down:
                    keep = len(data) - (link.down - a.down)
                    try:
                        link.client.sendall(data[:keep])
                    except OSError:
                        pass
                    drop(link, "after %d bytes down" % a.down)
                    continue
                dst = link.client
            try:
                dst.sendall(data)
            except OSError:
                close(link)
    for link in set(links.values()):
        close(link)
    for _, _, sock in held:
        rst(sock)


if __name__ == "__main__":
    main()
