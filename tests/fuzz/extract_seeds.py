#!/usr/bin/env python3
"""Cuts recorded Samba streams (corpus/client/samba-*) into seeds for the
decoder fuzz targets, plus a few synthetic seeds for what Samba does not send
in the scripted session (create contexts, VALIDATE_NEGOTIATE_INFO output,
transform frames). Stdlib only; deterministic output names (content hash).

extract_seeds.py CORPUS_DIR"""
import glob
import hashlib
import os
import struct
import sys

MAX_PER_TARGET = 64
MAX_BYTES_PER_TARGET = 90 * 1024

NEGOTIATE, SESSION_SETUP, CREATE, IOCTL, QUERY_DIRECTORY = 0, 1, 5, 11, 14
FSCTL_RESUME_KEY, FSCTL_COPYCHUNK_WRITE, FSCTL_ALLOC = 0x00140078, 0x001480F2, 0x000940CF
FSCTL_COPYCHUNK = 0x001440F2


def frames(stream):
    off = 0
    while off + 4 <= len(stream):
        n = int.from_bytes(stream[off + 1:off + 4], "big")
        yield stream[off + 4:off + 4 + n]
        off += 4 + n


def messages(frame):
    off = 0
    while off + 64 <= len(frame):
        nxt = struct.unpack_from("<I", frame, off + 20)[0]
        end = off + nxt if nxt else len(frame)
        yield frame[off:end]
        if not nxt:
            break
        off = end


class Out:
    def __init__(self, root):
        self.root = root
        self.seeds = {}
        self.kinds = {}

    def add(self, target, data, kind=None):
        h = hashlib.sha1(data).hexdigest()[:16]
        self.seeds.setdefault(target, {})[h] = data
        self.kinds.setdefault(target, {}).setdefault(h, kind)

    def write(self):
        for target, seeds in sorted(self.seeds.items()):
            d = os.path.join(self.root, target)
            os.makedirs(d, exist_ok=True)
            for f in glob.glob(os.path.join(d, "seed-*")):
                os.unlink(f)
            total = kept = 0
            # one seed of each kind first (smallest), then the rest by size,
            # so the caps keep variety rather than bulk
            first = {}
            for h, data in sorted(seeds.items(), key=lambda kv: (len(kv[1]), kv[0])):
                first.setdefault(self.kinds[target][h], h)
            firsts = set(first.values())
            order = sorted(seeds.items(), key=lambda kv: (kv[0] not in firsts, len(kv[1]), kv[0]))
            for i, (h, data) in enumerate(order):
                if i >= MAX_PER_TARGET or total + len(data) > MAX_BYTES_PER_TARGET:
                    break
                with open(os.path.join(d, "seed-" + h), "wb") as f:
                    f.write(data)
                total += len(data)
                kept += 1
            print(f"extract_seeds: {target}: {kept} of {len(seeds)} seeds, {total} bytes")


def buffer_at(msg, off_pos, len_pos, off_size=2, len_size=2):
    fmt = {2: "<H", 4: "<I"}
    off = struct.unpack_from(fmt[off_size], msg, off_pos)[0]
    n = struct.unpack_from(fmt[len_size], msg, len_pos)[0]
    return msg[off:off + n] if n else b""


def ctx(name, data, last):
    """One SMB2_CREATE_CONTEXT, 8-byte aligned."""
    name_off = 16
    data_off = (name_off + len(name) + 7) & ~7
    body = bytearray(data_off + len(data))
    body[name_off:name_off + len(name)] = name
    body[data_off:] = data
    size = (len(body) + 7) & ~7
    struct.pack_into("<IHHHHI", body, 0, 0 if last else size, name_off, len(name), 0,
                     data_off if data else 0, len(data))
    return bytes(body) + b"\0" * (0 if last else size - len(body))


def u16z(s):
    return s.encode("utf-16-le") + b"\0\0"


def dfs_referral(version, targets=("\\srv2\\share", "\\srv3\\data")):
    """RESP_GET_DFS_REFERRAL with two entries: v1 inline ShareName, v2-4
    offsets into a string buffer after the entries."""
    path = "\\srv1\\dfs\\link"
    hdr = struct.pack("<HHI", 28, len(targets), 2)
    if version == 1:
        body = b""
        for t in targets:
            name = u16z(t)
            body += struct.pack("<HHHH", 1, 8 + len(name), 0, 0) + name
        return hdr + body
    fixed = 22 if version == 2 else 34
    entries, strings = b"", b""
    base = fixed * len(targets)
    for i, t in enumerate(targets):
        here = fixed * i
        o_path = base + len(strings) - here
        strings += u16z(path)
        o_alt = base + len(strings) - here
        strings += u16z(path)
        o_node = base + len(strings) - here
        strings += u16z(t)
        e = struct.pack("<HHHH", version, fixed, 0, 4 if version == 4 and i == 0 else 0)
        if version == 2:
            e += struct.pack("<I", 0)
        e += struct.pack("<IHHH", 300, o_path, o_alt, o_node)
        entries += e.ljust(fixed, b"\0")
    return hdr + entries + strings


def dfs_name_list():
    """A v3 domain referral entry with two expanded names (2.2.5.3.2)."""
    e = struct.pack("<HHHHIHHH", 3, 18, 0, 2, 60, 18, 2, 30)
    return struct.pack("<HHI", 0, 1, 0) + e + u16z("\\corp") + u16z("\\dc1") + u16z("\\dc2")


def main():
    root = sys.argv[1]
    out = Out(root)
    for path in sorted(glob.glob(os.path.join(root, "client", "samba-*"))):
        stream = open(path, "rb").read()
        tokens = []
        for fr in frames(stream):
            for m in messages(fr):
                if len(m) < 64 or m[:4] != b"\xfeSMB":
                    continue
                cmd = struct.unpack_from("<H", m, 12)[0]
                status = struct.unpack_from("<I", m, 8)[0]
                out.add("response", m, (cmd, status))
                body = m[64:]
                if cmd == NEGOTIATE and status == 0:
                    out.add("negotiate", body)
                    hint = buffer_at(m, 64 + 56, 64 + 58)
                    out.add("spnego", b"\x00" + hint)
                    out.add("spnego", b"\x04" + hint)
                elif cmd == SESSION_SETUP:
                    tok = buffer_at(m, 64 + 4, 64 + 6)
                    if tok:
                        tokens.append(tok)
                        out.add("spnego", b"\x01" + tok)
                    i = tok.find(b"NTLMSSP\x00\x02\x00\x00\x00")
                    if i >= 0:
                        out.add("ntlm", tok[i:])
                elif cmd == CREATE and status == 0:
                    out.add("create_ctx", b"\x01" + body)
                elif cmd == QUERY_DIRECTORY and status == 0:
                    out.add("dirent", buffer_at(m, 64 + 2, 64 + 4, 2, 4))
                elif cmd == IOCTL:
                    out.add("fsctl", b"\x05" + body)
                    code = struct.unpack_from("<I", m, 64 + 4)[0]
                    o = buffer_at(m, 64 + 32, 64 + 36, 4, 4)
                    sel = {FSCTL_RESUME_KEY: 0, FSCTL_COPYCHUNK_WRITE: 1, FSCTL_COPYCHUNK: 1,
                           FSCTL_ALLOC: 2}.get(code)
                    if sel is not None:
                        out.add("fsctl", bytes([sel]) + o)
        if len(tokens) >= 2:
            out.add("spnego", b"\x02" + tokens[0])
            out.add("spnego", b"\x03" + struct.pack("<H", len(tokens[0])) + tokens[0] + tokens[1])
    # Synthetic seeds.
    chain = ctx(b"MxAc", b"\0" * 8, False) + ctx(b"QFid", b"\x11" * 32, True)
    out.add("create_ctx", b"\x00" + chain)
    out.add("create_ctx", b"\x00" + ctx(b"RqLs", b"\x22" * 32, True))
    # Lease v2 answers (MS-SMB2 2.2.14.2.11), alone and after DH2Q as Samba
    # sends them; a lease break notification (2.2.23.2) and the answer to a
    # lease break acknowledgment (2.2.25.2), each after a 64-byte header.
    lease2 = bytes(range(16)) + struct.pack("<IIQ16sHH", 7, 0, 0, b"\0" * 16, 1, 0)
    out.add("create_ctx", b"\x00" + ctx(b"RqLs", lease2, True))
    out.add("create_ctx", b"\x00" + ctx(b"DH2Q", struct.pack("<II", 60000, 0), False) +
            ctx(b"RqLs", lease2, True))
    hdr = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ16s", 64, 0, 0, 18, 0, 1, 0, 2**64 - 1, 0, 0, 0,
                                   b"\0" * 16)
    out.add("create_ctx", b"\x00" + hdr + struct.pack("<HHI16sIIIII", 44, 2, 1, bytes(range(16)),
                                                       7, 3, 0, 0, 0))
    out.add("create_ctx", b"\x00" + hdr + struct.pack("<HHI16sIQ", 36, 0, 0, bytes(range(16)), 3, 0))
    # VALIDATE_NEGOTIATE_INFO output: Capabilities, Guid, SecurityMode, Dialect.
    out.add("fsctl", b"\x03" + struct.pack("<I16sHH", 0x2f, b"\x42" * 16, 1, 0x0302))
    out.add("fsctl", b"\x02" + struct.pack("<QQQQ", 0, 4096, 65536, 8192))
    out.add("fsctl", b"\x01" + struct.pack("<III", 16, 1048576, 16777216))
    # ODX outputs (MS-FSCC 2.3.42, 2.3.44): OFFLOAD_READ with a vendor token and
    # with the zero-data token (big-endian header), OFFLOAD_WRITE.
    tok = struct.pack(">IHH", 0x00F4C001, 0, 32) + bytes(range(32)).ljust(504, b"\0")
    ztok = struct.pack(">IHH", 0xFFFF0001, 0, 0) + bytes(504)
    out.add("fsctl", b"\x04" + struct.pack("<IIQ", 528, 0, 1 << 20) + tok)
    out.add("fsctl", b"\x04" + struct.pack("<IIQ", 528, 1, 65536) + ztok)
    out.add("fsctl", b"\x04" + struct.pack("<IIQ", 16, 0, 393216))
    # Transform: plaintexts to encrypt (bit 7 set) per cipher, and frames.
    sample = next(iter(out.seeds.get("response", {}).values()), b"\xfeSMB" + b"\0" * 60)
    for cipher in range(4):
        out.add("transform", bytes([0x80 | cipher]) + sample[:256])
        hdr = b"\xfdSMB" + b"\x33" * 16 + b"\x44" * 16 + struct.pack("<IHHQ", 64, 0, 1, 7)
        out.add("transform", bytes([cipher]) + hdr + b"\x55" * 64)
    out.add("transform", b"\x80")
    # DFS referral responses (MS-DFSC 2.2.4, 2.2.5.x), one of each version, as
    # the first two bytes (path length asked about) and the FSCTL output.
    for version in (1, 2, 3, 4):
        out.add("dfs", struct.pack("<H", 64) + dfs_referral(version))
    out.add("dfs", struct.pack("<H", 0) + dfs_name_list())
    out.write()


if __name__ == "__main__":
    main()
