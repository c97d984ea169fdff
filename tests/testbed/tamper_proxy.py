#!/usr/bin/env python3
"""Loopback TCP proxy for the security tests (stdlib only).

Forwards bytes between a client and TARGET in both directions. Server-to-client
traffic is split into NetBIOS session frames (4-byte header: 0x00 + 24-bit
big-endian length) so that one byte of one chosen SMB2 frame can be altered:

  * only frames that are protected are candidates: signed SMB2 messages
    (ProtocolId FE 'S' 'M' 'B' with SMB2_FLAGS_SIGNED 0x00000008) and
    encrypted ones (TRANSFORM_HEADER, ProtocolId FD 'S' 'M' 'B');
  * --tamper-command / --tamper-min-size narrow the candidates (the command is
    only visible in signed plaintext frames, never in encrypted ones);
  * --tamper-after-frames N lets N candidates through untouched and alters the
    next one; only one frame per run is ever altered.

Where the byte is flipped (--tamper-where):
  body       the last byte of the frame: message body (past the 64-byte SMB2
             header) or ciphertext (past the 52-byte TRANSFORM_HEADER)
  signature  the first byte of the Signature field (header offset 48) or of
             the TRANSFORM_HEADER Signature (offset 4)

Downgrade attacks on the unprotected NEGOTIATE exchange (--alter-negotiate):
  guid       flip a byte of ServerGuid in the server's NEGOTIATE response
             (caught by the 3.1.1 pre-auth hash or 3.0.x VALIDATE_NEGOTIATE)
  downgrade  rewrite dialect 0x0311 as 0x0302 in the client's NEGOTIATE
             request, so the server picks 3.0.2 although both speak 3.1.1

Stripping encryption (--strip-transform): an attacker who cannot decrypt
answers the client's first encrypted request itself, in plaintext. The first
encrypted server frame (TRANSFORM_HEADER) is replaced by an unencrypted SMB2
response: status SUCCESS, the frame's SessionId, the command named by
--strip-command (default TREE_CONNECT, the first request a session that
encrypts sends) and the MessageId the client used for it, predicted from the
last plaintext request the proxy saw (its MessageId plus its CreditCharge).
The client must refuse a plaintext response on an encrypted session.

Without any --tamper-*, --alter-* or --strip-* option the proxy is passive. --log FILE appends every
byte it forwards (both directions) to FILE, for "is this visible on the wire"
checks. --report FILE gets one line per altered frame.

Lifetime is bounded: the proxy exits when the first client connection has
closed (unless --keep-listening) or after --timeout seconds, whichever comes
first. The listening port is written to --port-file once it accepts.
"""

import argparse
import os
import select
import socket
import sys
import threading
import time

SMB2_MAGIC = b"\xfeSMB"
TRANSFORM_MAGIC = b"\xfdSMB"
SMB2_HDR_LEN = 64
TRANSFORM_HDR_LEN = 52
SMB2_FLAGS_SIGNED = 0x00000008

COMMANDS = {
    "NEGOTIATE": 0x00, "SESSION_SETUP": 0x01, "LOGOFF": 0x02, "TREE_CONNECT": 0x03,
    "TREE_DISCONNECT": 0x04, "CREATE": 0x05, "CLOSE": 0x06, "FLUSH": 0x07, "READ": 0x08,
    "WRITE": 0x09, "LOCK": 0x0A, "IOCTL": 0x0B, "CANCEL": 0x0C, "ECHO": 0x0D,
    "QUERY_DIRECTORY": 0x0E, "CHANGE_NOTIFY": 0x0F, "QUERY_INFO": 0x10, "SET_INFO": 0x11,
    "OPLOCK_BREAK": 0x12,
}
COMMAND_NAMES = {v: k for k, v in COMMANDS.items()}


def parse_command(text):
    key = text.upper()
    if key in COMMANDS:
        return COMMANDS[key]
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError("unknown SMB2 command %r" % text) from None
    if not 0 <= value <= 0xFFFF:
        raise argparse.ArgumentTypeError("command out of range: %r" % text)
    return value


def parse_target(text):
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError("target must be HOST:PORT, got %r" % text)
    return host, int(port)


class Tamperer:
    """Decides which server-to-client frame to alter (at most one per run)."""

    def __init__(self, args):
        self.enabled = (args.tamper_after_frames is not None or args.tamper_command is not None
                        or args.tamper_min_size is not None)
        self.skip = args.tamper_after_frames or 0
        self.command = args.tamper_command
        self.min_size = args.tamper_min_size or 0
        self.where = args.tamper_where
        self.report_path = args.report
        self.alter_negotiate = args.alter_negotiate
        self.strip = args.strip_transform
        self.strip_command = args.strip_command
        self.next_mid = None  # MessageId after the last plaintext request
        self.lock = threading.Lock()
        self.seen = 0  # server-to-client frames seen
        self.done = False

    def _describe(self, frame):
        """(kind, command) of a frame, or (None, None) when not protected."""
        if len(frame) >= TRANSFORM_HDR_LEN + 1 and frame[:4] == TRANSFORM_MAGIC:
            return "encrypted", None
        if len(frame) >= SMB2_HDR_LEN and frame[:4] == SMB2_MAGIC:
            flags = int.from_bytes(frame[16:20], "little")
            if flags & SMB2_FLAGS_SIGNED:
                return "signed", int.from_bytes(frame[12:14], "little")
        return None, None

    def _report(self, text):
        if self.report_path:
            with open(self.report_path, "a", encoding="ascii") as rep:
                rep.write(text + "\n")

    def process_request(self, frame):
        """Client-to-server frames: --strip-transform watches the message ids
        of plaintext requests; --alter-negotiate downgrade rewrites one."""
        if self.strip and len(frame) >= SMB2_HDR_LEN and frame[:4] == SMB2_MAGIC:
            charge = max(1, int.from_bytes(frame[6:8], "little"))
            mid = int.from_bytes(frame[24:32], "little")
            with self.lock:
                self.next_mid = mid + charge
        if self.alter_negotiate != "downgrade":
            return frame
        if len(frame) < SMB2_HDR_LEN + 36 or frame[:4] != SMB2_MAGIC:
            return frame
        if int.from_bytes(frame[12:14], "little") != COMMANDS["NEGOTIATE"]:
            return frame
        body = SMB2_HDR_LEN
        count = int.from_bytes(frame[body + 2:body + 4], "little")
        altered = bytearray(frame)
        changed = False
        for i in range(count):
            pos = body + 36 + 2 * i
            if pos + 2 <= len(frame) and frame[pos:pos + 2] == b"\x11\x03":
                altered[pos:pos + 2] = b"\x02\x03"
                changed = True
        if changed:
            with self.lock:
                self._report("altered negotiate-request dialect 0x0311->0x0302")
        return bytes(altered)

    def _strip(self, frame):
        """A plaintext response in place of the encrypted frame (see above)."""
        session_id = frame[44:52]
        hdr = bytearray(SMB2_HDR_LEN)
        hdr[0:4] = SMB2_MAGIC
        hdr[4:6] = SMB2_HDR_LEN.to_bytes(2, "little")
        hdr[6:8] = (1).to_bytes(2, "little")  # CreditCharge
        hdr[12:14] = self.strip_command.to_bytes(2, "little")
        hdr[14:16] = (1).to_bytes(2, "little")  # CreditResponse
        hdr[16:20] = (0x00000001).to_bytes(4, "little")  # SERVER_TO_REDIR
        hdr[24:32] = self.next_mid.to_bytes(8, "little")
        hdr[40:48] = session_id
        if self.strip_command == COMMANDS["TREE_CONNECT"]:
            # StructureSize 16, ShareType DISK, ShareFlags 0, Capabilities 0,
            # MaximalAccess: full.
            body = (16).to_bytes(2, "little") + b"\x01\x00" + bytes(8) + \
                (0x001F01FF).to_bytes(4, "little")
        else:
            body = (4).to_bytes(2, "little") + bytes(2)  # an ECHO-sized body
        self._report("stripped transform: plaintext command=%s mid=%d session=0x%s"
                     % (COMMAND_NAMES.get(self.strip_command, "?"), self.next_mid,
                        session_id[::-1].hex()))
        return bytes(hdr) + body

    def process(self, frame):
        """Returns the server-to-client frame to forward (possibly altered)."""
        if (self.strip and len(frame) >= TRANSFORM_HDR_LEN and frame[:4] == TRANSFORM_MAGIC):
            with self.lock:
                self.seen += 1
                if not self.done and self.next_mid is not None:
                    self.done = True
                    return self._strip(frame)
                return frame
        if (self.alter_negotiate == "guid" and len(frame) >= SMB2_HDR_LEN + 24
                and frame[:4] == SMB2_MAGIC
                and int.from_bytes(frame[12:14], "little") == COMMANDS["NEGOTIATE"]):
            altered = bytearray(frame)
            altered[SMB2_HDR_LEN + 8] ^= 0x01  # ServerGuid[0]
            with self.lock:
                self.seen += 1
                self._report("altered negotiate-response ServerGuid")
            return bytes(altered)
        with self.lock:
            self.seen += 1
            index = self.seen
            if not self.enabled or self.done:
                return frame
            kind, command = self._describe(frame)
            if kind is None:
                return frame
            if self.command is not None and command != self.command:
                return frame
            if len(frame) < self.min_size:
                return frame
            if self.skip > 0:
                self.skip -= 1
                return frame
            if self.where == "signature":
                pos = 4 if kind == "encrypted" else 48
            else:
                pos = len(frame) - 1
                floor = TRANSFORM_HDR_LEN if kind == "encrypted" else SMB2_HDR_LEN
                if pos < floor:
                    return frame  # no body to alter: not a candidate
            altered = bytearray(frame)
            altered[pos] ^= 0x5A
            self.done = True
            name = COMMAND_NAMES.get(command, "?") if command is not None else "-"
            self._report("tampered frame=%d kind=%s command=%s size=%d offset=%d"
                         % (index, kind, name, len(frame), pos))
            return bytes(altered)


class Logger:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.fh = open(path, "ab") if path else None

    def write(self, data):
        if self.fh is not None:
            with self.lock:
                self.fh.write(data)
                self.fh.flush()

    def close(self):
        if self.fh is not None:
            self.fh.close()


def send_all(sock, data, deadline):
    view = memoryview(data)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("send timed out")
        _, writable, _ = select.select([], [sock], [], min(remaining, 1.0))
        if writable:
            sent = sock.send(view)
            view = view[sent:]


PARENT = os.getppid()


def orphaned():
    """True once the process that started the proxy is gone (a test that
    crashed must not leave the proxy behind until its timeout)."""
    return os.getppid() != PARENT


def pump(src, dst, deadline, logger, hook, stop):
    """Copies src to dst until EOF, an error, the deadline or stop is set.
    With a hook, the stream is cut into NetBIOS frames and each frame's
    payload goes through hook(payload) -> payload first."""
    buf = bytearray()
    try:
        while not stop.is_set() and not orphaned():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            readable, _, _ = select.select([src], [], [], min(remaining, 0.5))
            if not readable:
                continue
            data = src.recv(65536)
            if not data:
                break
            if hook is None:
                logger.write(data)
                send_all(dst, data, deadline)
                continue
            buf += data
            while len(buf) >= 4:
                flen = int.from_bytes(buf[1:4], "big")
                if buf[0] != 0 or len(buf) < 4 + flen:
                    if buf[0] != 0:  # not a session message: pass through as is
                        out = bytes(buf)
                        buf.clear()
                        logger.write(out)
                        send_all(dst, out, deadline)
                    break
                frame = bytes(buf[4:4 + flen])
                del buf[:4 + flen]
                payload = hook(frame)
                out = bytes([0]) + len(payload).to_bytes(3, "big") + payload
                logger.write(out)
                send_all(dst, out, deadline)
    except (OSError, TimeoutError):
        pass
    finally:
        stop.set()
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve_one(client, args, deadline, logger, tamperer):
    try:
        server = socket.create_connection(args.target, timeout=max(1.0, deadline - time.monotonic()))
    except OSError as exc:
        print("tamper_proxy: cannot reach %s:%d: %s" % (args.target[0], args.target[1], exc),
              file=sys.stderr)
        client.close()
        return
    for s in (client, server):
        s.setblocking(True)
        s.settimeout(None)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    stop = threading.Event()
    up_hook = (tamperer.process_request
               if tamperer.alter_negotiate == "downgrade" or tamperer.strip else None)
    up = threading.Thread(target=pump, args=(client, server, deadline, logger, up_hook, stop),
                          daemon=True)
    down = threading.Thread(target=pump,
                            args=(server, client, deadline, logger, tamperer.process, stop),
                            daemon=True)
    up.start()
    down.start()
    up.join(max(0.0, deadline - time.monotonic()) + 1)
    down.join(max(0.0, deadline - time.monotonic()) + 1)
    client.close()
    server.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen-port", type=int, default=0, help="port on 127.0.0.1 (0: any)")
    ap.add_argument("--port-file", help="write the listening port here once ready")
    ap.add_argument("--target", type=parse_target, required=True, help="HOST:PORT of the server")
    ap.add_argument("--tamper-after-frames", type=int, metavar="N",
                    help="let N protected server frames through, alter the next one")
    ap.add_argument("--tamper-command", type=parse_command, metavar="CMD",
                    help="only signed frames of this SMB2 command (name or number)")
    ap.add_argument("--tamper-min-size", type=int, metavar="BYTES",
                    help="only frames of at least this many bytes")
    ap.add_argument("--tamper-where", choices=("body", "signature"), default="body")
    ap.add_argument("--alter-negotiate", choices=("guid", "downgrade"),
                    help="attack the unprotected NEGOTIATE exchange (see above)")
    ap.add_argument("--strip-transform", action="store_true",
                    help="answer the first encrypted request in plaintext (see above)")
    ap.add_argument("--strip-command", type=parse_command, default=COMMANDS["TREE_CONNECT"],
                    metavar="CMD", help="command of the plaintext answer (default TREE_CONNECT)")
    ap.add_argument("--log", help="append every forwarded byte to this file")
    ap.add_argument("--report", help="append a line per altered frame to this file")
    ap.add_argument("--timeout", type=float, default=120.0, help="maximum lifetime in seconds")
    ap.add_argument("--keep-listening", action="store_true",
                    help="serve further connections (until --timeout)")
    args = ap.parse_args()
    if args.tamper_after_frames is not None and args.tamper_after_frames < 0:
        ap.error("--tamper-after-frames must be >= 0")

    deadline = time.monotonic() + args.timeout
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.listen_port))
    listener.listen(8)
    port = listener.getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w", encoding="ascii") as fh:
            fh.write("%d\n" % port)
        os.replace(tmp, args.port_file)

    logger = Logger(args.log)
    tamperer = Tamperer(args)
    workers = []
    try:
        while time.monotonic() < deadline and not orphaned():
            readable, _, _ = select.select([listener], [], [], min(0.5, deadline - time.monotonic()))
            if not readable:
                continue
            client, _ = listener.accept()
            if not args.keep_listening:
                listener.close()
                serve_one(client, args, deadline, logger, tamperer)
                break
            t = threading.Thread(target=serve_one, args=(client, args, deadline, logger, tamperer),
                                 daemon=True)
            t.start()
            workers.append(t)
    finally:
        for t in workers:
            t.join(max(0.0, deadline - time.monotonic()) + 1)
        listener.close()
        logger.close()
    if time.monotonic() >= deadline:
        print("tamper_proxy: lifetime of %.0f s reached" % args.timeout, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
