#!/usr/bin/env python3
"""fakesmb.py: a scriptable, hostile SMB2 server for smbwire's tests.

    fakesmb.py [--port-file FILE] [--timeout SECONDS] SCENARIO
    fakesmb.py --list

Listens on a free loopback port (printed on stdout and, with --port-file,
written to FILE atomically), serves ONE client connection well enough for a
real smbwire client to get through NEGOTIATE (SMB 2.0.2), a guest
SESSION_SETUP (SPNEGO + NTLMSSP, no signing), TREE_CONNECT, CREATE, READ,
WRITE, QUERY_INFO, SET_INFO, QUERY_DIRECTORY, IOCTL (resume key, copychunk),
compounds and CLOSE on a small in-memory file system, and misbehaves in
exactly ONE way, named by SCENARIO.

Exit status: 0 when the client disconnected after the scenario's fault was
delivered (or, for the positive scenarios, after a normal session); 3 when
the client went away before the fault could be delivered; 4 on the overall
timeout; 2 on usage errors; 1 on an internal error. It never outlives
--timeout seconds (default 30).

Python 3 standard library only.
"""

import argparse
import os
import select
import socket
import struct
import sys
import time

# ---- protocol constants (MS-SMB2, MS-ERREF, MS-FSCC) ----------------------

NEGOTIATE, SESSION_SETUP, LOGOFF, TREE_CONNECT, TREE_DISCONNECT = 0, 1, 2, 3, 4
CREATE, CLOSE, FLUSH, READ, WRITE, LOCK, IOCTL, CANCEL, ECHO = 5, 6, 7, 8, 9, 10, 11, 12, 13
QUERY_DIRECTORY, CHANGE_NOTIFY, QUERY_INFO, SET_INFO = 14, 15, 16, 17
OPLOCK_BREAK = 18

FLAGS_SERVER_TO_REDIR = 0x1
FLAGS_ASYNC = 0x2
FLAGS_RELATED = 0x4

STATUS_SUCCESS = 0
STATUS_PENDING = 0x00000103
STATUS_NO_MORE_FILES = 0x80000006
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_INVALID_DEVICE_REQUEST = 0xC0000010
STATUS_END_OF_FILE = 0xC0000011
STATUS_MORE_PROCESSING_REQUIRED = 0xC0000016
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
STATUS_OBJECT_NAME_COLLISION = 0xC0000035
STATUS_NOT_SUPPORTED = 0xC00000BB
STATUS_INVALID_INFO_CLASS = 0xC0000003
STATUS_INVALID_HANDLE = 0xC0000008
STATUS_INVALID_TOKEN = 0xC0000465
STATUS_OFFLOAD_READ_FLT_NOT_SUPPORTED = 0xC000A2A1
STATUS_OFFLOAD_WRITE_FLT_NOT_SUPPORTED = 0xC000A2A2
FSCTL_OFFLOAD_READ = 0x00094264
FSCTL_OFFLOAD_WRITE = 0x00098268
TOKEN_TYPE_ZERO_DATA = 0xFFFF0001
TOKEN_TYPE_FAKESMB = 0x00F4C001  # a vendor token type (any value but ZERO_DATA)
ODX_MAX_READ = 1 << 20  # TransferLength at most this: the client must continue
ODX_MAX_WRITE = 384 << 10  # LengthWritten at most this: partial writes
ODX_DEFAULT_TTL_MS = 30000  # TokenTimeToLive 0 asks for the server's default
ODX_EXPIRE_TTL_MS = 250  # mode expire: a short default, and each OFFLOAD_WRITE takes 100 ms
ODX_MODES = {
    "ok": "copychunk refused; ODX with partial transfer lengths and partial writes, tokens "
          "invalidated when their source range is written, the zero-data token for zeros",
    "expire": "as ok, but tokens live %d ms and each OFFLOAD_WRITE takes 100 ms: later writes "
              "of a token get STATUS_INVALID_TOKEN (it expired) and the client must read again"
              % ODX_EXPIRE_TTL_MS,
    "invalidate": "as ok, but the first OFFLOAD_READ of big.bin is followed by another writer "
                  "changing bytes inside that token's source range (the token is invalidated); "
                  "the client must read again and copy the new bytes",
    "refuse": "copychunk and ODX refused (STATUS_OFFLOAD_READ_FLT_NOT_SUPPORTED)",
    "refuse-write": "copychunk refused, OFFLOAD_READ gives tokens but OFFLOAD_WRITE is refused "
                    "(STATUS_OFFLOAD_WRITE_FLT_NOT_SUPPORTED)",
    "badlen": "OFFLOAD_READ claims a TransferLength larger than the range asked",
}
# Offset of the bytes the other writer changes in mode invalidate (inside the
# first 1 MiB token of big.bin), and what it writes there.
ODX_CHANGE_AT = 700000
ODX_CHANGE = b"changed by another writer"

FSCTL_DFS_GET_REFERRALS = 0x00060194
STATUS_PATH_NOT_COVERED = 0xC0000257
STATUS_NOT_FOUND = 0xC0000225
FSCTL_SRV_REQUEST_RESUME_KEY = 0x00140078
FSCTL_SRV_COPYCHUNK = 0x001440F2
FSCTL_SRV_COPYCHUNK_WRITE = 0x001480F2

ATTR_DIRECTORY = 0x10
ATTR_NORMAL = 0x80

HDR = 64
RELATED_FID = b"\xff" * 16
FILE_DIRECTORY_INFORMATION = 0x01
FILE_ID_BOTH_DIRECTORY_INFORMATION = 0x25
SESSION_ID = 0x0000100000000021
TREE_ID = 7
FILETIME = 133000000000000000  # some day in 2022

# ---- tiny DER / SPNEGO / NTLMSSP builders ---------------------------------


def der(tag, content):
    n = len(content)
    if n < 0x80:
        ln = bytes([n])
    elif n <= 0xFF:
        ln = bytes([0x81, n])
    else:
        ln = bytes([0x82]) + struct.pack(">H", n)
    return bytes([tag]) + ln + content


OID_NTLMSSP = bytes([0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0A])


def neg_token_resp(state, token=None, mech=True):
    """NegTokenResp (RFC 4178): [1] SEQUENCE { [0] negState, [1] mech, [2] token }."""
    inner = der(0xA0, der(0x0A, bytes([state])))
    if mech:
        inner += der(0xA1, der(0x06, OID_NTLMSSP))
    if token is not None:
        inner += der(0xA2, der(0x04, token))
    return der(0xA1, der(0x30, inner))


def av(av_id, value):
    return struct.pack("<HH", av_id, len(value)) + value


def ntlm_challenge(variant=None):
    """CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2) with NTLMv2 target info."""
    tname = "FAKE".encode("utf-16le")
    tinfo = (
        av(2, "FAKE".encode("utf-16le"))
        + av(1, "FAKESRV".encode("utf-16le"))
        + av(7, struct.pack("<Q", FILETIME))
        + av(0, b"")
    )
    if variant == "avpair-overrun":
        # the NetBIOS computer name claims 200 bytes, far past the target info
        tinfo = av(2, "FAKE".encode("utf-16le")) + struct.pack("<HH", 1, 200) + b"AB" + av(0, b"")
    elif variant == "no-eol":
        tinfo = av(2, "FAKE".encode("utf-16le")) + av(7, struct.pack("<Q", FILETIME))
    flags = (
        0x00000001  # UNICODE
        | 0x00000004  # REQUEST_TARGET
        | 0x00000010  # SIGN
        | 0x00000200  # NTLM
        | 0x00008000  # ALWAYS_SIGN
        | 0x00080000  # EXTENDED_SESSIONSECURITY
        | 0x00800000  # TARGET_INFO
        | 0x02000000  # VERSION
        | 0x20000000  # 128
        | 0x40000000  # KEY_EXCH
        | 0x80000000  # 56
    )
    payload = 56
    ti_off = payload + len(tname)
    ti_len = len(tinfo)
    sig = b"NTLMSSP\x00"
    if variant == "bad-signature":
        sig = b"NTLMSSQ\x00"
    if variant == "targetinfo-outside":
        ti_off = 60000
    msg = (
        sig
        + struct.pack("<I", 2)
        + struct.pack("<HHI", len(tname), len(tname), payload)
        + struct.pack("<I", flags)
        + b"\x11\x22\x33\x44\x55\x66\x77\x88"
        + b"\x00" * 8
        + struct.pack("<HHI", ti_len, ti_len, ti_off)
        + b"\x06\x01\xb1\x1d\x00\x00\x00\x0f"
        + tname
        + tinfo
    )
    return msg


# ---- SMB2 message builders ------------------------------------------------


def smb2_hdr(cmd, mid, status=0, credits=1, flags=FLAGS_SERVER_TO_REDIR, sid=0, tid=0,
             async_id=None, next_cmd=0):
    if async_id is not None:
        flags |= FLAGS_ASYNC
        tail = struct.pack("<Q", async_id)
    else:
        tail = struct.pack("<II", 0xFEFF, tid)
    return (
        b"\xfeSMB"
        + struct.pack("<HHIHHIIQ", HDR, 0, status, cmd, credits, flags, next_cmd, mid)
        + tail
        + struct.pack("<Q", sid)
        + b"\x00" * 16
    )


def error_body():
    # ERROR (2.2.2): StructureSize 9, ErrorContextCount, Reserved, ByteCount, ErrorData
    return struct.pack("<HBBI", 9, 0, 0, 0) + b"\x00"


def frame(msg):
    return struct.pack(">I", len(msg)) + msg


def times(size, attrs):
    alloc = (size + 4095) // 4096 * 4096
    return struct.pack("<QQQQQQI", FILETIME, FILETIME, FILETIME, FILETIME, alloc, size, attrs)


class Request:
    def __init__(self, msg):
        self.msg = msg
        (self.ss, self.charge, self.status, self.cmd, self.credits, self.flags, self.next_cmd,
         self.mid) = struct.unpack_from("<HHIHHIIQ", msg, 4)
        self.tid = struct.unpack_from("<I", msg, 36)[0]
        self.sid = struct.unpack_from("<Q", msg, 40)[0]
        self.body = msg[HDR:]

    def u16(self, off):
        return struct.unpack_from("<H", self.body, off)[0]

    def u32(self, off):
        return struct.unpack_from("<I", self.body, off)[0]

    def u64(self, off):
        return struct.unpack_from("<Q", self.body, off)[0]


class Node:
    def __init__(self, data=None, is_dir=False):
        self.data = bytearray(data or b"")
        self.is_dir = is_dir


def frames_in(buf):
    """The number of complete frames in buf (each a 4-byte length, then data)."""
    n, at = 0, 0
    while len(buf) - at >= 4:
        flen = struct.unpack_from(">I", buf, at)[0] & 0xFFFFFF
        if len(buf) - at < 4 + flen:
            break
        n, at = n + 1, at + 4 + flen
    return n


def has_odx(buf):
    """Whether buf holds a complete FSCTL_OFFLOAD_READ/WRITE request."""
    at = 0
    while len(buf) - at >= 4:
        flen = struct.unpack_from(">I", buf, at)[0] & 0xFFFFFF
        if len(buf) - at < 4 + flen:
            break
        if flen >= HDR + 8 and buf[at + 4 + 12] == IOCTL and struct.unpack_from(
                "<I", buf, at + 4 + HDR + 4)[0] in (FSCTL_OFFLOAD_READ, FSCTL_OFFLOAD_WRITE):
            return True
        at += 4 + flen
    return False


def pattern(n, seed):
    return bytes(((i * 7 + seed + (i >> 8)) & 0xFF) for i in range(n))


# ---- scenarios ---------------------------------------------------------------
# name -> (command that triggers the fault, description). The mutation itself is
# in Server.fault(). "normal", "slow-1byte" and "read-pending-then-ok" are
# positive controls: the client must complete every step.

SCENARIOS = {
    "normal": (None, "well-behaved server (positive control)"),
    "slow-1byte": (None, "every byte of every response sent on its own (must still work)"),
    "read-pending-then-ok": (READ, "READ: interim STATUS_PENDING, then the answer (must work)"),
    "neg-frame-too-long": (NEGOTIATE, "transport length 0xFFFFFF (16 MiB - 1)"),
    "neg-frame-type": (NEGOTIATE, "transport frame type 0x85 instead of 0"),
    "neg-frame-zero": (NEGOTIATE, "transport frame of length 0"),
    "neg-truncated-header": (NEGOTIATE, "frame of 40 bytes: a cut SMB2 header"),
    "neg-smb1-protocol": (NEGOTIATE, "protocol id 0xFF 'SMB' (SMB1)"),
    "neg-compressed": (NEGOTIATE, "protocol id 0xFC 'SMB' (compression not negotiated)"),
    "neg-transform": (NEGOTIATE, "protocol id 0xFD 'SMB' (transform, no session)"),
    "neg-header-ss": (NEGOTIATE, "header StructureSize 65"),
    "neg-body-ss": (NEGOTIATE, "NEGOTIATE response StructureSize 64"),
    "neg-dialect-not-offered": (NEGOTIATE, "dialect 0x0222, never offered"),
    "neg-dialect-wildcard": (NEGOTIATE, "dialect 0x02FF (the SMB1 wildcard)"),
    "neg-zero-sizes": (NEGOTIATE, "MaxTransact/MaxRead/MaxWrite all 0"),
    "neg-secbuf-outside": (NEGOTIATE, "security buffer length past the end of the packet"),
    "neg-secbuf-overflow": (NEGOTIATE, "security buffer offset 0xFFFF, length 0xFFFF"),
    "neg-spnego-malformed": (NEGOTIATE, "NegTokenInit2 hint that is not DER"),
    "neg-unknown-mid": (NEGOTIATE, "response with a message id never sent"),
    "neg-wrong-command": (NEGOTIATE, "response command SESSION_SETUP for a NEGOTIATE"),
    "neg-request-flag": (NEGOTIATE, "response without SMB2_FLAGS_SERVER_TO_REDIR"),
    "neg-silent": (NEGOTIATE, "never answers NEGOTIATE"),
    "neg-close": (NEGOTIATE, "closes the connection instead of answering NEGOTIATE"),
    "zero-credits": (NEGOTIATE, "grants 0 credits, and never more"),
    "ss-spnego-malformed": (SESSION_SETUP, "SPNEGO reply with a DER length past its end"),
    "ss-spnego-trailing": (SESSION_SETUP, "valid SPNEGO reply followed by a stray byte"),
    "ss-ntlm-bad-signature": (SESSION_SETUP, "NTLMSSP CHALLENGE with a wrong signature"),
    "ss-ntlm-targetinfo-outside": (SESSION_SETUP, "CHALLENGE TargetInfo offset past its end"),
    "ss-ntlm-avpair-overrun": (SESSION_SETUP, "CHALLENGE AV pair longer than TargetInfo"),
    "ss-ntlm-no-eol": (SESSION_SETUP, "CHALLENGE AV pairs without MsvAvEOL"),
    "ss-token-outside": (SESSION_SETUP, "SESSION_SETUP security buffer past the packet"),
    "ss-session-id-zero": (SESSION_SETUP, "SESSION_SETUP response with SessionId 0"),
    "ss-duplicate-response": (SESSION_SETUP, "the same SESSION_SETUP response sent twice"),
    "ss-garbage-after-frame": (SESSION_SETUP, "16 junk bytes after a valid frame"),
    "ss-pending-forever": (SESSION_SETUP, "interim STATUS_PENDING, then silence"),
    "tree-wrong-ss": (TREE_CONNECT, "TREE_CONNECT response StructureSize 17"),
    "tree-short-body": (TREE_CONNECT, "TREE_CONNECT response body cut to 8 bytes"),
    "create-ctx-outside": (CREATE, "create contexts length past the packet"),
    "create-ctx-overflow": (CREATE, "create contexts offset 0xFFFFFFF8 (wraps)"),
    "create-ctx-next-loop": (CREATE, "create context Next = 8 (inside itself: a loop)"),
    "create-ctx-name-outside": (CREATE, "create context name past the context"),
    "read-data-outside": (READ, "READ DataLength past the end of the packet"),
    "read-offset-in-header": (READ, "READ DataOffset 16 (inside the SMB2 header)"),
    "read-length-overflow": (READ, "READ DataLength 0xFFFFFFF0"),
    "read-more-than-asked": (READ, "READ returns 4 KiB more data than asked"),
    "read-close-mid-response": (READ, "half a READ response, then the connection closes"),
    "read-pending-forever": (READ, "READ: interim STATUS_PENDING, then silence"),
    "read-pending-drip": (READ, "READ: a new interim STATUS_PENDING every 0.3 s (for 5 s)"),
    "read-frame-partial-stall": (READ, "transport header promises more bytes than ever come"),
    "write-count-more": (WRITE, "WRITE Count larger than the data sent"),
    "write-count-zero": (WRITE, "WRITE succeeds with Count 0 (no progress)"),
    "ss-not-guest": (SESSION_SETUP, "guest login answered as a full user: no signatures follow"),
    "dir-next-loop": (QUERY_DIRECTORY, "FileIdBothDirectoryInformation NextEntryOffset 8"),
    "dir-next-past-end": (QUERY_DIRECTORY, "NextEntryOffset past the output buffer"),
    "dir-name-overrun": (QUERY_DIRECTORY, "FileNameLength past the entry"),
    "dir-output-outside": (QUERY_DIRECTORY, "OutputBufferLength past the packet"),
    "dir-endless-dots": (QUERY_DIRECTORY, "every QUERY_DIRECTORY returns '.' and '..' (for 5 s)"),
    "dir-name-unpaired-surrogate": (QUERY_DIRECTORY, "a listed name 'bad<U+D800>.txt' (not "
                                    "valid UTF-16; NTFS allows it): listed, marked"),
    "ioctl-output-outside": (IOCTL, "resume key IOCTL OutputCount past the packet"),
    "ioctl-output-overflow": (IOCTL, "IOCTL OutputOffset 0xFFFFFFF0 (wraps)"),
    "ioctl-output-more-than-max": (IOCTL, "IOCTL output larger than MaxOutputResponse"),
    "resume-key-short": (IOCTL, "SRV_REQUEST_RESUME_KEY output of 8 bytes"),
    "resume-key-context-overflow": (IOCTL, "resume key ContextLength 0xFFFFFFFF"),
    "copychunk-no-progress": (IOCTL, "every copychunk succeeds with 0 bytes written"),
    "copychunk-claims-more": (IOCTL, "copychunk TotalBytesWritten larger than asked"),
    "copychunk-too-many-chunks": (IOCTL, "copychunk ChunksWritten larger than sent"),
    "copychunk-limits-zero": (IOCTL, "copychunk limits reply (0, 0, 0)"),
    "copychunk-pending-forever": (IOCTL, "copychunk: interim STATUS_PENDING, then silence"),
    "dfs-referral-outside": (CREATE, "DFS share: CREATE -> STATUS_PATH_NOT_COVERED, referral "
                             "NetworkAddressOffset past its buffer"),
    "dfs-referral-empty": (CREATE, "DFS share: CREATE -> STATUS_PATH_NOT_COVERED, referral "
                           "with no entry"),
    "dfs-referral-self": (CREATE, "DFS share: CREATE -> STATUS_PATH_NOT_COVERED, referral "
                          "whose only target is the path asked about"),
    "dfs-bounce": (CREATE, "DFS shares: every CREATE -> STATUS_PATH_NOT_COVERED, referrals "
                   "(TTL 0) alternately a new share \\HOST\\bN and STATUS_NOT_FOUND"),
    "compound-next-misaligned": (CREATE, "compound response NextCommand not 8-byte aligned"),
    "compound-next-past-end": (CREATE, "compound response NextCommand past the frame"),
    "compound-next-tiny": (CREATE, "compound response NextCommand 8 (inside the header)"),
    # SMB 3.0 with SMB2_GLOBAL_CAP_LEASING: the client asks for durable v2
    # handles with leases (test_hostile turns its reconnect policy on).
    "lease-ctx-bad-length": (CREATE, "SMB 3.0: lease answer (RqLs) with DataLength 40"),
    "durable-ctx-bad-length": (CREATE, "SMB 3.0: durable v2 answer (DH2Q) with DataLength 4"),
    "lease-break-unknown-key": (READ, "SMB 3.0: a lease break (ack required) for a key never "
                                "granted before the READ answer; any acknowledgment fails"),
    "lease-break-storm": (READ, "SMB 3.0: 400 lease breaks before the READ answer: from the "
                          "state granted to it without H (ack required) 200 times, 200 for "
                          "unknown keys; exactly one acknowledgment, of that state, expected"),
    # SMB 2.0.2, the client asking for durable handles (and so for a batch
    # oplock, and for QFid: its reconnect policy is on).
    "qfid-ctx-bad-length": (CREATE, "QFid answer with DataLength 8 (32 expected, the id is 16)"),
    "qfid-ctx-bad-offset": (CREATE, "QFid answer with its DataOffset past the context"),
    "oplock-break-bad-size": (READ, "an oplock break notification with StructureSize 25 "
                              "before the READ answer"),
    "oplock-break-unknown-fid": (READ, "an oplock break (to level II) for a FileId never "
                                 "given, before the READ answer; any acknowledgment fails"),
    "oplock-break-not-held": (READ, "the source granted level II only; breaks to level II "
                              "and (twice) to none before the READ answer; any "
                              "acknowledgment fails"),
    "oplock-break-storm": (READ, "600 oplock breaks before the READ answer: batch to II 200 "
                           "times, 200 for unknown FileIds, 200 to none; exactly one "
                           "acknowledgment (level II) expected"),
    "oplock-break-in-flight": (READ, "a break of the source's batch oplock to none; the READ "
                               "is answered only after its acknowledgment (level none)"),
}


# Faults that apply to every matching request, not only the first one.
STICKY = ("dir-endless-dots", "copychunk-no-progress", "dfs-bounce")
# How long the endless scenarios keep it up before behaving (so a client
# that does not bound its wait still ends, and fails on time instead).
ENDLESS_SECONDS = 5.0


class Server:
    def __init__(self, scenario, sock, odx=None, dfs_ttl=None):
        self.scenario = scenario
        self.odx = odx
        self.dfs_ttl = dfs_ttl  # --dfs-ttl: the share "dfs" is a DFS root
        self.bounces = 0  # dfs-bounce: referrals asked for
        self.tokens = {}  # token id -> dict(node, off, len, zero, expires)
        # What the ODX tests check, served as the file odx-stats.txt: the most
        # ODX requests received and not yet answered (pipelining), tokens
        # issued, STATUS_INVALID_TOKEN answers, bytes offloaded.
        self.odx_stats = {"peak": 0, "reads": 0, "writes": 0, "invalid": 0, "written": 0}
        self.odx_changed = False
        self.trigger = SCENARIOS[scenario][0]
        self.sock = sock
        self.fired = scenario in ("normal", "slow-1byte")
        self.stalled = False
        self.closed = False
        self.fs = {
            "": Node(is_dir=True),
            "src.bin": Node(pattern(65536, 3)),
            "small.txt": Node(b"hello from fakesmb\n"),
            "sub": Node(is_dir=True),
        }
        if scenario == "dir-name-unpaired-surrogate":
            self.fs["bad\ud800.txt"] = Node(b"unnamable\n")
        if odx:
            self.fs["big.bin"] = Node(bytes(range(256)) * (32 << 10) + b"tail!")  # 8 MiB + 5
            self.fs["zero.bin"] = Node(bytes(2 << 20))
            self.fs["odx-stats.txt"] = Node(b"")
            self.odx_stat()
        self.opens = {}
        self.next_fid = 1
        self.last_fid = None
        self.async_id = 0x51
        self.session_legs = 0
        self.timer = None  # repeated output: dict(data, interval, next, end, final)
        self.first_fault = None
        # lease-*/durable-*: SMB 3.0 with leasing; the last lease key
        # granted, the lease break acknowledgments received, what the client
        # did wrong (exit status 5).
        self.leasing = scenario.startswith(("lease-", "durable-"))
        self.lease_key = None
        self.lease_granted = 0
        self.lease_acks = 0
        self.violation = None
        # qfid-*/oplock-*: SMB 2.0.2, QFid answered when asked; the oplock
        # level granted per open, the oplock break acknowledgments received
        # (FileId, level), a READ answer held until an acknowledgment.
        self.qfid = scenario.startswith(("qfid-", "oplock-"))
        self.oplocks = {}
        self.oplock_acks = []
        self.held = None

    # -- output -------------------------------------------------------------

    def send(self, data):
        if self.scenario == "slow-1byte":
            for i in range(len(data)):
                self.sock.sendall(data[i:i + 1])
                if i % 64 == 63:
                    time.sleep(0.0005)
        else:
            self.sock.sendall(data)

    def grant(self, req):
        if self.scenario == "zero-credits":
            return 0
        return max(1, req.credits)

    def reply(self, req, body, status=0, sid=None, tid=None, credits=None, async_id=None):
        return smb2_hdr(
            req.cmd, req.mid, status=status,
            credits=self.grant(req) if credits is None else credits,
            sid=req.sid if sid is None else sid,
            tid=req.tid if tid is None else tid,
            async_id=async_id,
        ) + body

    def error(self, req, status):
        return self.reply(req, error_body(), status=status)

    # -- file system helpers -------------------------------------------------

    def fid_of(self, raw):
        if raw == RELATED_FID and self.last_fid is not None:
            raw = self.last_fid
        return self.opens.get(raw)

    # -- command handlers (normal behaviour) ---------------------------------

    def do_negotiate(self, req, secbuf=b""):
        dialect, caps = (0x0300, 0x2) if self.leasing else (0x0202, 0)  # 0x2: LEASING
        body = struct.pack(
            "<HHHH16sIIIIQQHHI",
            65, 1, dialect, 0, b"fakesmb-guid-016", caps,
            65536, 65536, 65536, FILETIME, FILETIME,
            HDR + 64, len(secbuf), 0,
        ) + (secbuf or b"\x00")
        return self.reply(req, body)

    def do_session_setup(self, req, token=None, status=None, flags=0, guest=True):
        self.session_legs += 1
        if self.session_legs == 1:
            if token is None:
                token = neg_token_resp(1, ntlm_challenge())
            st = STATUS_MORE_PROCESSING_REQUIRED if status is None else status
        else:
            if token is None:
                token = neg_token_resp(0, None, mech=False)
            st = STATUS_SUCCESS if status is None else status
            flags = 0x0001 if guest else 0  # SMB2_SESSION_FLAG_IS_GUEST
        body = struct.pack("<HHHH", 9, flags, HDR + 8, len(token)) + token
        return self.reply(req, body, status=st, sid=SESSION_ID)

    def do_tree_connect(self, req):
        caps = 0x8 if self.scenario.startswith("dfs-") else 0  # SMB2_SHARE_CAP_DFS
        if self.dfs_ttl is not None:
            off, n = req.u16(4), req.u16(6)
            share = req.msg[off:off + n].decode("utf-16-le").rsplit("\\", 1)[-1]
            caps = 0x8 if share.lower() == "dfs" else 0
        body = struct.pack("<HBBIII", 16, 1, 0, 0, caps, 0x001F01FF)
        return self.reply(req, body, tid=TREE_ID)

    def req_contexts(self, req):
        """The request's create contexts: {name: data}."""
        off, n = req.u32(48), req.u32(52)
        chain, out = req.msg[off:off + n], {}
        while len(chain) >= 16:
            nxt, noff, nlen, _, doff, dlen = struct.unpack_from("<IHHHHI", chain, 0)
            out[bytes(chain[noff:noff + nlen])] = bytes(chain[doff:doff + dlen])
            if not nxt:
                break
            chain = chain[nxt:]
        return out

    def lease_answer(self, req):
        """DH2Q and RqLs answers for what the request asked (lease granted
        as asked, epoch 1), broken as the scenario says."""
        asked = self.req_contexts(req)
        items = []
        if b"DH2Q" in asked:
            dh2q = struct.pack("<II", 60000, 0)
            if self.scenario == "durable-ctx-bad-length":
                dh2q = dh2q[:4]
            items.append((b"DH2Q", dh2q))
        if b"RqLs" in asked and len(asked[b"RqLs"]) >= 20:
            key, state = asked[b"RqLs"][:16], struct.unpack_from("<I", asked[b"RqLs"], 16)[0]
            self.lease_key, self.lease_granted = key, state
            rqls = key + struct.pack("<IIQ16sHH", state, 0, 0, b"\0" * 16, 1, 0)
            if self.scenario == "lease-ctx-bad-length":
                rqls += b"\0" * (40 - len(rqls)) if len(rqls) < 40 else b""
                rqls = rqls[:40]
            items.append((b"RqLs", rqls))
        out = b""
        for i, (name, data) in enumerate(items):
            c = bytearray(24 + len(data))
            struct.pack_into("<IHHHHI4s", c, 0, 0, 16, 4, 0, 24, len(data), name)
            c[24:] = data
            if i + 1 < len(items):
                c += b"\0" * ((-len(c)) % 8)
                struct.pack_into("<I", c, 0, len(c))
            out += bytes(c)
        return out

    def lease_break(self, key, cur, new, ack=True):
        hdr = smb2_hdr(OPLOCK_BREAK, 0xFFFFFFFFFFFFFFFF, credits=0)
        return frame(hdr + struct.pack("<HHI16sIIIII", 44, 2, 1 if ack else 0, key, cur, new,
                                       0, 0, 0))

    def qfid_answer(self, req, raw_fid, first):
        """The QFid answer (2.2.14.2.9) when the request asked for it (on-disk
        id from the FileId), broken on the first CREATE as the scenario says."""
        if b"QFid" not in self.req_contexts(req):
            return b""
        data = raw_fid[:8] + b"fakesmbv" + b"\0" * 16
        doff = 24
        if first and self.scenario == "qfid-ctx-bad-length":
            data = data[:8]
        if first and self.scenario == "qfid-ctx-bad-offset":
            doff = 0xFFF0
        c = struct.pack("<IHHHHI4s", 0, 16, 4, 0, doff, len(data), b"QFid")
        return c + b"\0" * 4 + data

    def oplock_break(self, raw_fid, level):
        hdr = smb2_hdr(OPLOCK_BREAK, 0xFFFFFFFFFFFFFFFF, credits=0)
        ss = 25 if self.scenario == "oplock-break-bad-size" else 24
        return frame(hdr + struct.pack("<HBBI16s", ss, level, 0, 0, raw_fid))

    def do_oplock_ack(self, req):
        """OPLOCK_BREAK acknowledgment (2.2.24.1): recorded, checked, answered."""
        fid, level = req.body[8:24], req.body[2]
        self.oplock_acks.append((fid, level))
        want = 0 if self.scenario == "oplock-break-in-flight" else 1
        if fid not in self.oplocks:
            self.violation = "oplock break acknowledged for an unknown FileId"
        elif level != want:
            self.violation = "oplock break acknowledged with level %d, not %d" % (level, want)
        else:
            self.oplocks[fid] = level
        return self.reply(req, req.body[:24])

    def do_lease_ack(self, req):
        """LEASE_BREAK_ACK: counted, checked, answered (2.2.25.2)."""
        if req.ss == 64 and len(req.body) >= 24 and req.u16(0) == 24:
            return self.do_oplock_ack(req)
        if req.ss != 64 or len(req.body) < 36 or req.u16(0) != 36:
            return self.error(req, STATUS_NOT_SUPPORTED)
        self.lease_acks += 1
        key, state = req.body[8:24], req.u32(24)
        if key != self.lease_key:
            self.violation = "lease break acknowledged for a key never granted"
        elif state != self.lease_granted & ~0x2:
            self.violation = "lease break acknowledged with state 0x%x, not 0x%x" % (
                state, self.lease_granted & ~0x2)
        return self.reply(req, req.body[:36])

    def outcome(self):
        """Exit status once the client went away."""
        if self.scenario == "lease-break-storm" and self.lease_acks != 1 and not self.violation:
            self.violation = "%d lease break acknowledgments, not 1" % self.lease_acks
        if self.scenario == "lease-break-unknown-key" and self.lease_acks:
            self.violation = "an unknown lease key acknowledged"
        n, want = len(self.oplock_acks), {"oplock-break-storm": 1, "oplock-break-in-flight": 1}
        if self.scenario.startswith("oplock-") and n != want.get(self.scenario, 0) \
                and not self.violation:
            self.violation = "%d oplock break acknowledgments, not %d" % (
                n, want.get(self.scenario, 0))
        if self.violation:
            print("fakesmb: client violation: " + self.violation, file=sys.stderr)
            return 5
        return 0 if self.fired else 3

    def do_create(self, req, ctx=b""):
        if self.leasing and not ctx:
            ctx = self.lease_answer(req)
        disp = req.u32(36)
        name_off, name_len = req.u16(44), req.u16(46)
        raw = req.msg[name_off:name_off + name_len] if name_len else b""
        name = raw.decode("utf-16le").replace("\\", "/").strip("/")
        node = self.fs.get(name)
        action = 1  # FILE_OPENED
        # A request related to a failed CREATE must not reach the open
        # before it (a related CLOSE would close that one).
        self.last_fid = None
        if node is None:
            if disp in (1, 4):  # FILE_OPEN, FILE_OVERWRITE
                return self.error(req, STATUS_OBJECT_NAME_NOT_FOUND)
            node = Node(is_dir=bool(req.u32(40) & 1))
            self.fs[name] = node
            action = 2  # FILE_CREATED
        else:
            if disp == 2:  # FILE_CREATE
                return self.error(req, STATUS_OBJECT_NAME_COLLISION)
            if disp in (0, 4, 5):
                node.data = bytearray()
                action = 3 if disp != 0 else 0
        raw_fid = struct.pack("<QQ", self.next_fid, 0xF00D0000 + self.next_fid)
        self.next_fid += 1
        self.opens[raw_fid] = {"name": name, "node": node, "listed": False, "doc": False}
        self.last_fid = raw_fid
        attrs = ATTR_DIRECTORY if node.is_dir else ATTR_NORMAL
        lease = self.leasing and b"RqLs" in ctx
        level = 0xFF if lease else 0
        if self.qfid and not ctx:
            ctx = self.qfid_answer(req, raw_fid, not self.fired)
            level = req.body[3] if req.body[3] in (1, 8, 9) else 0  # as asked
            if self.scenario == "oplock-break-not-held" and level:
                level = 1
            self.oplocks[raw_fid] = level
        body = struct.pack("<HBBI", 89, level, 0, action) + times(len(node.data),
                                                                               attrs)
        body += struct.pack("<I", 0) + raw_fid
        if ctx:
            body += struct.pack("<II", HDR + 88 + 0, len(ctx))
            body += ctx
        else:
            body += struct.pack("<II", 0, 0)
        return self.reply(req, body)

    def do_close(self, req):
        o = self.fid_of(req.body[8:24])
        if o is None:
            return self.error(req, STATUS_INVALID_HANDLE)
        for k, v in list(self.opens.items()):
            if v is o:
                del self.opens[k]
        if o["doc"]:
            self.fs.pop(o["name"], None)
        node = o["node"]
        attrs = ATTR_DIRECTORY if node.is_dir else ATTR_NORMAL
        body = struct.pack("<HHI", 60, req.u16(2), 0) + times(len(node.data), attrs)
        return self.reply(req, body)

    def do_read(self, req, extra=0):
        length, off = req.u32(4), req.u64(8)
        o = self.fid_of(req.body[16:32])
        if o is None:
            return self.error(req, STATUS_INVALID_HANDLE)
        data = bytes(o["node"].data[off:off + length])
        if not data:
            return self.error(req, STATUS_END_OF_FILE)
        data += b"\xaa" * extra
        body = struct.pack("<HBBIII", 17, HDR + 16, 0, len(data), 0, 0) + data
        return self.reply(req, body)

    def do_write(self, req, count_extra=0):
        data_off, length, off = req.u16(2), req.u32(4), req.u64(8)
        o = self.fid_of(req.body[16:32])
        if o is None:
            return self.error(req, STATUS_INVALID_HANDLE)
        data = req.msg[data_off:data_off + length]
        self.odx_invalidate(o["node"], off, len(data))
        buf = o["node"].data
        if len(buf) < off:
            buf.extend(b"\x00" * (off - len(buf)))
        buf[off:off + len(data)] = data
        body = struct.pack("<HHIIHH", 17, 0, len(data) + count_extra, 0, 0, 0)
        return self.reply(req, body)

    def do_query_info(self, req):
        info_type, cls = req.body[2], req.body[3]
        o = self.fid_of(req.body[24:40])
        if o is None:
            return self.error(req, STATUS_INVALID_HANDLE)
        node = o["node"]
        if info_type == 1 and cls == 34:  # FileNetworkOpenInformation
            data = times(len(node.data), ATTR_DIRECTORY if node.is_dir else ATTR_NORMAL)
            data += b"\x00" * 4
        elif info_type == 2 and cls == 5:  # FileFsAttributeInformation
            fsname = "FAKEFS".encode("utf-16le")
            data = struct.pack("<III", 0x0000000F, 255, len(fsname)) + fsname
        else:
            return self.error(req, STATUS_NOT_SUPPORTED)
        body = struct.pack("<HHI", 9, HDR + 8, len(data)) + data
        return self.reply(req, body)

    def do_set_info(self, req):
        info_type, cls = req.body[2], req.body[3]
        length, off = req.u32(4), req.u16(8)
        data = req.msg[off:off + length]
        o = self.fid_of(req.body[16:32])
        if o is None:
            return self.error(req, STATUS_INVALID_HANDLE)
        if info_type == 1 and cls == 20 and len(data) >= 8:  # FileEndOfFileInformation
            size = struct.unpack_from("<Q", data)[0]
            buf = o["node"].data
            if size < len(buf):
                del buf[size:]
            else:
                buf.extend(b"\x00" * (size - len(buf)))
        elif info_type == 1 and cls == 13 and data:  # FileDispositionInformation
            o["doc"] = data[0] != 0
        return self.reply(req, struct.pack("<H", 2))

    def dir_entries(self, o, info_class=FILE_ID_BOTH_DIRECTORY_INFORMATION):
        """The entries of directory o in info_class layout: FileDirectoryInformation
        (64 bytes before the name) or FileIdBothDirectoryInformation (104)."""
        prefix = o["name"] + "/" if o["name"] else ""
        names = [".", ".."]
        for n in sorted(self.fs):
            if n and n.startswith(prefix) and "/" not in n[len(prefix):]:
                names.append(n[len(prefix):])
        out = []
        for i, n in enumerate(names):
            node = self.fs.get(prefix + n) if n not in (".", "..") else Node(is_dir=True)
            raw = n.encode("utf-16le", "surrogatepass")
            attrs = ATTR_DIRECTORY if node.is_dir else ATTR_NORMAL
            e = struct.pack("<II", 0, i) + struct.pack(
                "<QQQQQQ", FILETIME, FILETIME, FILETIME, FILETIME, len(node.data),
                (len(node.data) + 4095) // 4096 * 4096)
            if info_class == FILE_DIRECTORY_INFORMATION:
                e += struct.pack("<II", attrs, len(raw)) + raw
            else:
                e += struct.pack("<IIIBB", attrs, len(raw), 0, 0, 0) + b"\x00" * 24
                e += struct.pack("<HQ", 0, i + 1) + raw
            out.append(bytearray(e))
        return out

    def pack_dir(self, entries):
        blob = bytearray()
        for i, e in enumerate(entries):
            if i + 1 < len(entries):
                pad = (-len(e)) % 8
                e = e + b"\x00" * pad
                struct.pack_into("<I", e, 0, len(e))
            blob += e
        return blob

    def do_query_directory(self, req, mutate=None):
        flags = req.body[3]
        o = self.fid_of(req.body[8:24])
        if o is None:
            return self.error(req, STATUS_INVALID_HANDLE)
        if req.body[2] not in (FILE_DIRECTORY_INFORMATION, FILE_ID_BOTH_DIRECTORY_INFORMATION):
            return self.error(req, STATUS_INVALID_INFO_CLASS)
        if flags & 0x01:
            o["listed"] = False
        if o["listed"]:
            return self.error(req, STATUS_NO_MORE_FILES)
        o["listed"] = True
        blob = self.pack_dir(self.dir_entries(o, req.body[2]))
        out_len = len(blob)
        if mutate:
            blob, out_len = mutate(blob)
        body = struct.pack("<HHI", 9, HDR + 8, out_len) + bytes(blob)
        return self.reply(req, body)

    def ioctl_body(self, req, output, out_count=None, out_off=None):
        body = struct.pack(
            "<HHI16sIIIIII", 49, 0, req.u32(4), req.body[8:24],
            0, 0, HDR + 48 if out_off is None else out_off,
            len(output) if out_count is None else out_count, 0, 0,
        ) + output
        return body

    # -- offloaded data transfer (MS-FSCC 2.3.41-2.3.44, 2.3.79) --------------

    def odx_invalidate(self, node, off, length):
        """A write to a token's source range ends the token (point in time)."""
        for tid, t in list(self.tokens.items()):
            if t["node"] is node and off < t["off"] + t["len"] and t["off"] < off + length:
                del self.tokens[tid]

    def odx_stat(self, key=None, add=0):
        if key:
            self.odx_stats[key] += add
        text = " ".join("%s=%d" % kv for kv in sorted(self.odx_stats.items())) + "\n"
        self.fs["odx-stats.txt"].data[:] = text.encode()

    def do_offload(self, req, ctl, o, inp):
        if o is None:
            return self.error(req, STATUS_INVALID_HANDLE)
        if self.odx == "refuse":
            return self.error(req, STATUS_OFFLOAD_READ_FLT_NOT_SUPPORTED)
        now = time.monotonic()
        if ctl == FSCTL_OFFLOAD_READ:
            # FSCTL_OFFLOAD_READ_INPUT (MS-FSCC 2.3.41)
            if len(inp) < 32:
                return self.error(req, STATUS_INVALID_PARAMETER)
            size, flags, ttl, _, off, length = struct.unpack_from("<IIIIQQ", inp)
            data = o["node"].data
            if size != 32 or flags != 0 or length == 0 or off >= len(data):
                return self.error(req, STATUS_INVALID_PARAMETER)
            tl = min(length, ODX_MAX_READ, len(data) - off)
            if self.odx == "badlen":
                tl = length + 4096
            if ttl == 0:
                ttl = ODX_EXPIRE_TTL_MS if self.odx == "expire" else ODX_DEFAULT_TTL_MS
            # The token is a point-in-time copy of the range (MS-FSCC 2.3.79):
            # the zero-data token when the range holds only zeros.
            zero = not any(data[off:off + tl])
            tid = os.urandom(32)
            self.tokens[tid] = {"node": o["node"], "off": off, "len": tl, "zero": zero,
                                "expires": now + ttl / 1000.0}
            self.odx_stat("reads", 1)
            flags = 0
            if zero and not any(data[off + tl:]):
                flags = 1  # OFFLOAD_READ_FLAG_ALL_ZERO_BEYOND_CURRENT_RANGE
            ttype = TOKEN_TYPE_ZERO_DATA if zero else TOKEN_TYPE_FAKESMB
            token = struct.pack(">IHH", ttype, 0, len(tid)) + tid.ljust(504, b"\x00")
            out = struct.pack("<IIQ", 16 + 512, flags, tl) + token
            if self.odx == "invalidate" and not self.odx_changed and not zero \
                    and off <= ODX_CHANGE_AT < off + tl:
                # Another writer changes the source after the token was
                # taken: the token no longer describes the file.
                self.odx_changed = True
                self.odx_invalidate(o["node"], ODX_CHANGE_AT, len(ODX_CHANGE))
                data[ODX_CHANGE_AT:ODX_CHANGE_AT + len(ODX_CHANGE)] = ODX_CHANGE
            return self.reply(req, self.ioctl_body(req, out))
        # FSCTL_OFFLOAD_WRITE_INPUT (MS-FSCC 2.3.43)
        if len(inp) < 32 + 512:
            return self.error(req, STATUS_INVALID_PARAMETER)
        if self.odx == "refuse-write":
            return self.error(req, STATUS_OFFLOAD_WRITE_FLT_NOT_SUPPORTED)
        size, flags, off, length, toff = struct.unpack_from("<IIQQQ", inp)
        ttype, _, idlen = struct.unpack_from(">IHH", inp, 32)
        if size != 544 or flags != 0 or idlen > 504 or length == 0:
            return self.error(req, STATUS_INVALID_PARAMETER)
        if self.odx == "expire":
            time.sleep(0.1)
            now = time.monotonic()
        tid = bytes(inp[40:40 + idlen])
        t = self.tokens.get(tid)
        if t is not None and now >= t["expires"]:
            del self.tokens[tid]
            t = None
        if t is None or (t["zero"] != (ttype == TOKEN_TYPE_ZERO_DATA)):
            self.odx_stat("invalid", 1)
            return self.error(req, STATUS_INVALID_TOKEN)
        if toff >= t["len"]:
            return self.error(req, STATUS_INVALID_PARAMETER)
        n = min(length, t["len"] - toff, ODX_MAX_WRITE)
        buf = o["node"].data
        if off + n > len(buf):  # the target range must lie inside the file
            return self.error(req, STATUS_INVALID_PARAMETER)
        src = t["node"].data
        s = t["off"] + toff
        self.odx_invalidate(o["node"], off, n)
        buf[off:off + n] = bytes(n) if t["zero"] else src[s:s + n]
        self.odx_stat("writes", 1)
        self.odx_stat("written", n)
        out = struct.pack("<IIQ", 16, 0, n)
        return self.reply(req, self.ioctl_body(req, out))

    def dfs_referral(self, inp):
        """RESP_GET_DFS_REFERRAL (MS-DFSC 2.2.4) for REQ_GET_DFS_REFERRAL inp,
        broken as the scenario says: one v3 entry, strings after it."""
        path16 = inp[2:]
        end = len(path16)
        for i in range(0, len(path16) - 1, 2):
            if path16[i:i + 2] == b"\0\0":
                end = i
                break
        path16 = path16[:end]
        if self.scenario == "dfs-referral-empty":
            return struct.pack("<HHI", len(path16), 0, 2)
        if self.dfs_ttl is not None or self.scenario == "dfs-bounce":
            # --dfs-ttl: \HOST\dfs\LINK\... -> \HOST\share with the TTL asked
            # for; dfs-bounce: the whole path -> \HOST\bN, TTL 0.
            parts = path16.decode("utf-16-le").split("\\")
            bounce = self.scenario == "dfs-bounce"
            if not bounce:
                path16 = "\\".join(parts[:4]).encode("utf-16-le")
            node = ("\\%s\\%s" % (parts[1], "b%d" % self.bounces if bounce else "share")).encode(
                "utf-16-le")
            strings = path16 + b"\0\0" + node + b"\0\0"
            ttl = 0 if bounce else self.dfs_ttl
            entry = struct.pack("<HHHHIHHH", 3, 34, 0, 0, ttl, 34, 34, 34 + len(path16) + 2)
            return struct.pack("<HHI", len(path16), 1, 2) + entry + b"\0" * 16 + strings
        node = path16 if self.scenario == "dfs-referral-self" else "\\srv2\\share".encode(
            "utf-16-le")
        strings = path16 + b"\0\0"
        o_node = 34 + len(strings)
        strings += node + b"\0\0"
        if self.scenario == "dfs-referral-outside":
            o_node = 0xFFF0
        entry = struct.pack("<HHHHIHHH", 3, 34, 0, 0, 300, 34, 34, o_node) + b"\0" * 16
        return struct.pack("<HHI", len(path16), 1, 2) + entry + strings

    def do_ioctl(self, req, fault=None):
        ctl = req.u32(4)
        in_off, in_count = req.u32(24), req.u32(28)
        inp = req.msg[in_off:in_off + in_count]
        o = self.fid_of(req.body[8:24])
        if self.odx and ctl in (FSCTL_OFFLOAD_READ, FSCTL_OFFLOAD_WRITE):
            return self.do_offload(req, ctl, o, inp)
        if self.odx and ctl in (FSCTL_SRV_REQUEST_RESUME_KEY, FSCTL_SRV_COPYCHUNK,
                                FSCTL_SRV_COPYCHUNK_WRITE):
            return self.error(req, STATUS_INVALID_DEVICE_REQUEST)
        if ctl == FSCTL_DFS_GET_REFERRALS and self.scenario == "dfs-bounce":
            self.bounces += 1
            if self.bounces % 2 == 0:
                return self.error(req, STATUS_NOT_FOUND)
        if ctl == FSCTL_DFS_GET_REFERRALS and (self.scenario.startswith("dfs-")
                                               or self.dfs_ttl is not None):
            return self.reply(req, self.ioctl_body(req, self.dfs_referral(inp)))
        if ctl == FSCTL_SRV_REQUEST_RESUME_KEY:
            if o is None:
                return self.error(req, STATUS_INVALID_HANDLE)
            raw = req.body[8:24]
            if raw == RELATED_FID:  # the CREATE before it in the compound
                raw = self.last_fid
            key = b"RK" + raw + b"\x00" * 6
            out = key + struct.pack("<I", 0) + b"\x00" * 4
            return self.reply(req, self.ioctl_body(req, out))
        if ctl in (FSCTL_SRV_COPYCHUNK, FSCTL_SRV_COPYCHUNK_WRITE):
            if o is None or len(inp) < 32:
                return self.error(req, STATUS_INVALID_PARAMETER)
            src = self.opens.get(inp[2:18])
            count = struct.unpack_from("<I", inp, 24)[0]
            chunks = []
            for i in range(count):
                chunks.append(struct.unpack_from("<QQI", inp, 32 + 24 * i))
            total = sum(c[2] for c in chunks)
            if count > 256 or total > 16 << 20 or any(c[2] == 0 or c[2] > 1 << 20 for c in chunks):
                out = struct.pack("<III", 256, 1 << 20, 16 << 20)
                return self.reply(req, self.ioctl_body(req, out), status=STATUS_INVALID_PARAMETER)
            if src is None:
                return self.error(req, STATUS_OBJECT_NAME_NOT_FOUND)
            for s_off, d_off, ln in chunks:
                data = bytes(src["node"].data[s_off:s_off + ln])
                buf = o["node"].data
                if len(buf) < d_off:
                    buf.extend(b"\x00" * (d_off - len(buf)))
                buf[d_off:d_off + len(data)] = data
            out = struct.pack("<III", count, 0, total)
            return self.reply(req, self.ioctl_body(req, out))
        return self.error(req, STATUS_INVALID_DEVICE_REQUEST)

    def handle_normal(self, req):
        cmd = req.cmd
        if cmd == NEGOTIATE:
            return self.do_negotiate(req)
        if cmd == SESSION_SETUP:
            return self.do_session_setup(req)
        if cmd == TREE_CONNECT:
            return self.do_tree_connect(req)
        if cmd == CREATE:
            return self.do_create(req)
        if cmd == CLOSE:
            return self.do_close(req)
        if cmd == READ:
            return self.do_read(req)
        if cmd == WRITE:
            return self.do_write(req)
        if cmd == QUERY_INFO:
            return self.do_query_info(req)
        if cmd == SET_INFO:
            return self.do_set_info(req)
        if cmd == QUERY_DIRECTORY:
            return self.do_query_directory(req)
        if cmd == IOCTL:
            return self.do_ioctl(req)
        if cmd == OPLOCK_BREAK:
            return self.do_lease_ack(req)
        if cmd in (LOGOFF, TREE_DISCONNECT, ECHO, FLUSH):
            return self.reply(req, struct.pack("<HH", 4, 0))
        return self.error(req, STATUS_NOT_SUPPORTED)

    # -- faults -------------------------------------------------------------
    # Each returns a list of actions: bytes (send), "close", "stall".

    def fault(self, req):
        s = self.scenario
        normal = self.handle_normal
        if s in ("lease-ctx-bad-length", "durable-ctx-bad-length"):
            return [frame(normal(req))]  # do_create breaks the context
        if s == "lease-break-unknown-key":
            return [self.lease_break(b"\x99" * 16, 0x7, 0x3), frame(normal(req))]
        if s == "lease-break-storm":
            if self.lease_key is None or not self.lease_granted & 0x2:
                raise RuntimeError("lease-break-storm: no lease with H was asked for")
            cur = self.lease_granted
            acts = []
            for i in range(200):
                acts.append(self.lease_break(self.lease_key, cur, cur & ~0x2))
                acts.append(self.lease_break(struct.pack("<QQ", i, 0x5107), 0x7, 0x1))
            return acts + [frame(normal(req))]
        if s.startswith("qfid-"):
            return [frame(normal(req))]  # do_create breaks the context
        if s.startswith("oplock-"):
            fid = req.body[16:32]
            if self.oplocks.get(fid) != (1 if s == "oplock-break-not-held" else 9):
                raise RuntimeError("%s: the READ's open holds oplock %r" % (s, self.oplocks.get(fid)))
            if s == "oplock-break-in-flight":
                self.held = frame(normal(req))
                return [self.oplock_break(fid, 0)]
            if s == "oplock-break-storm":
                acts = []
                for i in range(200):
                    acts.append(self.oplock_break(fid, 1))
                    acts.append(self.oplock_break(struct.pack("<QQ", 0x7000 + i, 0x5107), 1))
                acts += [self.oplock_break(fid, 0) for _ in range(200)]
                return acts + [frame(normal(req))]
            if s == "oplock-break-not-held":
                acts = [self.oplock_break(fid, 1), self.oplock_break(fid, 0),
                        self.oplock_break(fid, 0)]
                return acts + [frame(normal(req))]
            if s == "oplock-break-unknown-fid":
                return [self.oplock_break(b"\x77" * 16, 1), frame(normal(req))]
            return [self.oplock_break(fid, 1), frame(normal(req))]  # bad-size
        if s == "read-pending-then-ok":
            interim = self.reply(req, error_body(), status=STATUS_PENDING, credits=0,
                                 async_id=self.async_id)
            return [frame(interim), frame(normal(req))]
        if s == "read-pending-drip":
            interim = self.reply(req, error_body(), status=STATUS_PENDING, credits=0,
                                 async_id=self.async_id)
            t = time.monotonic()
            self.timer = {"data": frame(interim), "interval": 0.3, "next": t + 0.3,
                          "end": t + ENDLESS_SECONDS, "final": frame(normal(req))}
            return [frame(interim)]
        if s == "read-frame-partial-stall":
            f = frame(normal(req))
            return [f[:len(f) // 2], "stall"]
        if s.startswith("dfs-referral-") or s == "dfs-bounce":
            return [frame(self.error(req, STATUS_PATH_NOT_COVERED))]
        if s == "write-count-zero":
            return [frame(self.do_write(req, count_extra=-req.u32(4)))]
        if s == "ss-not-guest":
            if self.session_legs == 0:
                return None  # the CHALLENGE leg is normal
            return [frame(self.do_session_setup(req, guest=False))]
        if s == "dir-endless-dots":
            if self.first_fault is None:
                self.first_fault = time.monotonic()
            if time.monotonic() - self.first_fault > ENDLESS_SECONDS:
                return [frame(self.error(req, STATUS_NO_MORE_FILES))]
            o = self.fid_of(req.body[8:24])
            blob = self.pack_dir(self.dir_entries(o, req.body[2])[:2])
            body = struct.pack("<HHI", 9, HDR + 8, len(blob)) + bytes(blob)
            return [frame(self.reply(req, body))]
        if s == "copychunk-no-progress":
            if req.u32(4) not in (FSCTL_SRV_COPYCHUNK, FSCTL_SRV_COPYCHUNK_WRITE):
                return None
            body = self.ioctl_body(req, struct.pack("<III", 0, 0, 0))
            return [frame(self.reply(req, body))]
        if s == "resume-key-context-overflow":
            if req.u32(4) != FSCTL_SRV_REQUEST_RESUME_KEY:
                return None
            out = b"RK" + b"\x00" * 22 + struct.pack("<I", 0xFFFFFFFF) + b"\x00" * 4
            return [frame(self.reply(req, self.ioctl_body(req, out)))]
        # negotiate-level
        if s == "neg-frame-too-long":
            return [b"\x00\xff\xff\xff" + normal(req)]
        if s == "neg-frame-type":
            m = normal(req)
            return [b"\x85" + struct.pack(">I", len(m))[1:] + m]
        if s == "neg-frame-zero":
            return [b"\x00\x00\x00\x00"]
        if s == "neg-truncated-header":
            return [frame(normal(req)[:40])]
        if s in ("neg-smb1-protocol", "neg-compressed", "neg-transform"):
            m = bytearray(normal(req))
            m[0] = {"neg-smb1-protocol": 0xFF, "neg-compressed": 0xFC, "neg-transform": 0xFD}[s]
            return [frame(bytes(m))]
        if s == "neg-header-ss":
            m = bytearray(normal(req))
            struct.pack_into("<H", m, 4, 65)
            return [frame(bytes(m))]
        if s == "neg-body-ss":
            m = bytearray(normal(req))
            struct.pack_into("<H", m, HDR, 64)
            return [frame(bytes(m))]
        if s in ("neg-dialect-not-offered", "neg-dialect-wildcard"):
            m = bytearray(normal(req))
            struct.pack_into("<H", m, HDR + 4, 0x0222 if s == "neg-dialect-not-offered" else 0x02FF)
            return [frame(bytes(m))]
        if s == "neg-zero-sizes":
            m = bytearray(normal(req))
            struct.pack_into("<III", m, HDR + 28, 0, 0, 0)
            return [frame(bytes(m))]
        if s == "neg-secbuf-outside":
            m = bytearray(self.do_negotiate(req, b"\x60\x02\x05\x00"))
            struct.pack_into("<H", m, HDR + 58, 4000)
            return [frame(bytes(m))]
        if s == "neg-secbuf-overflow":
            m = bytearray(self.do_negotiate(req, b"\x60\x02\x05\x00"))
            struct.pack_into("<HH", m, HDR + 56, 0xFFFF, 0xFFFF)
            return [frame(bytes(m))]
        if s == "neg-spnego-malformed":
            return [frame(self.do_negotiate(req, b"\x60\x84\x7f\xff\xff\xff\x06\x06"))]
        if s == "neg-unknown-mid":
            m = bytearray(normal(req))
            struct.pack_into("<Q", m, 24, req.mid + 7)
            return [frame(bytes(m))]
        if s == "neg-wrong-command":
            m = bytearray(normal(req))
            struct.pack_into("<H", m, 12, SESSION_SETUP)
            return [frame(bytes(m))]
        if s == "neg-request-flag":
            m = bytearray(normal(req))
            struct.pack_into("<I", m, 16, 0)
            return [frame(bytes(m))]
        if s in ("neg-silent", "ss-pending-forever", "read-pending-forever",
                 "copychunk-pending-forever"):
            if s == "neg-silent":
                return ["stall"]
            interim = self.reply(req, error_body(), status=STATUS_PENDING, credits=0,
                                 async_id=self.async_id)
            return [frame(interim), "stall"]
        if s == "neg-close":
            return ["close"]
        if s == "zero-credits":
            return [frame(normal(req))]
        # session setup
        if s.startswith("ss-"):
            if s == "ss-spnego-malformed":
                tok = b"\xa1\x82\x01\x00\x30\x03\x0a\x01\x01"
                return [frame(self.do_session_setup(req, token=tok))]
            if s == "ss-spnego-trailing":
                tok = neg_token_resp(1, ntlm_challenge()) + b"\x00"
                return [frame(self.do_session_setup(req, token=tok))]
            if s.startswith("ss-ntlm-"):
                variant = s[len("ss-ntlm-"):]
                tok = neg_token_resp(1, ntlm_challenge(variant))
                return [frame(self.do_session_setup(req, token=tok))]
            if s == "ss-token-outside":
                m = bytearray(normal(req))
                struct.pack_into("<H", m, HDR + 6, len(m) - HDR + 100)
                return [frame(bytes(m))]
            if s == "ss-session-id-zero":
                m = bytearray(normal(req))
                struct.pack_into("<Q", m, 40, 0)
                return [frame(bytes(m))]
            if s == "ss-duplicate-response":
                f = frame(normal(req))
                return [f + f]
            if s == "ss-garbage-after-frame":
                return [frame(normal(req)) + b"\xde\xad\xbe\xef" * 4]
        if s == "tree-wrong-ss":
            m = bytearray(normal(req))
            struct.pack_into("<H", m, HDR, 17)
            return [frame(bytes(m)) + b"\x00"]
        if s == "tree-short-body":
            return [frame(normal(req)[:HDR + 8])]
        if s.startswith("create-ctx-"):
            # one valid-looking context: Next, NameOffset, NameLength, Reserved,
            # DataOffset, DataLength, name "MxAc", padding, 8 bytes of data
            ctx = bytearray(struct.pack("<IHHHHI", 0, 16, 4, 0, 24, 8) + b"MxAc" + b"\x00" * 4
                            + b"\x00" * 8)
            if s == "create-ctx-next-loop":
                ctx = ctx + ctx
                struct.pack_into("<I", ctx, 0, 8)
            if s == "create-ctx-name-outside":
                struct.pack_into("<HH", ctx, 4, 16, 200)
            m = bytearray(self.do_create(req, bytes(ctx)))
            if s == "create-ctx-outside":
                struct.pack_into("<I", m, HDR + 84, 4096)
            if s == "create-ctx-overflow":
                struct.pack_into("<II", m, HDR + 80, 0xFFFFFFF8, 16)
            return [frame(bytes(m))]
        if s.startswith("compound-next-"):
            return None  # a lone CREATE: the fault waits for a compound (handle_compound)
        if s.startswith("read-"):
            if s == "read-more-than-asked":
                return [frame(self.do_read(req, extra=4096))]
            m = bytearray(normal(req))
            if s == "read-data-outside":
                struct.pack_into("<I", m, HDR + 4, req.u32(4) + 64)
            elif s == "read-offset-in-header":
                m[HDR + 2] = 16
            elif s == "read-length-overflow":
                struct.pack_into("<I", m, HDR + 4, 0xFFFFFFF0)
            elif s == "read-close-mid-response":
                f = frame(bytes(m))
                return [f[:len(f) // 2], "close"]
            return [frame(bytes(m))]
        if s == "write-count-more":
            return [frame(self.do_write(req, count_extra=1))]
        if s.startswith("dir-"):
            def mut(blob):
                if s == "dir-next-loop":
                    struct.pack_into("<I", blob, 0, 8)
                elif s == "dir-next-past-end":
                    struct.pack_into("<I", blob, 0, (len(blob) + 8) & ~7)
                elif s == "dir-name-overrun":
                    struct.pack_into("<I", blob, 60, 4096)
                elif s == "dir-output-outside":
                    return blob, len(blob) + 512
                return blob, len(blob)

            return [frame(self.do_query_directory(req, mutate=mut))]
        if s.startswith("ioctl-") or s == "resume-key-short":
            ctl = req.u32(4)
            if ctl != FSCTL_SRV_REQUEST_RESUME_KEY:
                return None  # not yet: wait for the resume key request
            m = bytearray(normal(req))
            if s == "ioctl-output-outside":
                struct.pack_into("<I", m, HDR + 36, 4000)
            elif s == "ioctl-output-overflow":
                struct.pack_into("<II", m, HDR + 32, 0xFFFFFFF0, 0x20)
            elif s == "ioctl-output-more-than-max":
                max_out = req.u32(44)
                out = b"\x00" * (max_out + 64)
                return [frame(self.reply(req, self.ioctl_body(req, out)))]
            elif s == "resume-key-short":
                return [frame(self.reply(req, self.ioctl_body(req, b"RK012345")))]
            return [frame(bytes(m))]
        if s.startswith("copychunk-"):
            ctl = req.u32(4)
            if ctl not in (FSCTL_SRV_COPYCHUNK, FSCTL_SRV_COPYCHUNK_WRITE):
                return None
            m = bytearray(normal(req))
            out = HDR + 48
            if s == "copychunk-claims-more":
                total = struct.unpack_from("<I", m, out + 8)[0]
                struct.pack_into("<I", m, out + 8, total + 1)
            elif s == "copychunk-too-many-chunks":
                n = struct.unpack_from("<I", m, out)[0]
                struct.pack_into("<I", m, out, n + 1)
            elif s == "copychunk-limits-zero":
                body = self.ioctl_body(req, struct.pack("<III", 0, 0, 0))
                return [frame(self.reply(req, body, status=STATUS_INVALID_PARAMETER))]
            return [frame(bytes(m))]
        raise RuntimeError("scenario %s has no fault for command %d" % (s, req.cmd))

    # -- dispatch -------------------------------------------------------------

    def handle_compound(self, reqs):
        msgs = []
        for r in reqs:
            # A broken listing in a compound (smbw_dir_list's CREATE and
            # QUERY_DIRECTORY requests) is broken as it is alone.
            sticky = self.scenario in STICKY
            if (self.scenario.startswith("dir-") and (not self.fired or sticky) and
                    r.cmd == self.trigger):
                acts = self.fault(r)
                if acts is not None and len(acts) == 1 and isinstance(acts[0], bytes):
                    self.fired = True
                    msgs.append(bytearray(acts[0][4:]))
                    continue
            msgs.append(bytearray(self.handle_normal(r)))
        fault = None
        if self.scenario.startswith("compound-next-") and not self.fired:
            fault = self.scenario
            self.fired = True
        out = bytearray()
        for i, m in enumerate(msgs):
            if i + 1 < len(msgs):
                m += b"\x00" * ((-len(m)) % 8)
                nxt = len(m)
                if i == 0 and fault == "compound-next-misaligned":
                    nxt = len(m) + 4
                elif i == 0 and fault == "compound-next-past-end":
                    nxt = len(m) + 4096
                elif i == 0 and fault == "compound-next-tiny":
                    nxt = 8
                struct.pack_into("<I", m, 20, nxt)
            out += m
        return [frame(bytes(out))]

    def handle_frame(self, data):
        reqs = []
        off = 0
        while True:
            if len(data) - off < HDR or data[off:off + 4] != b"\xfeSMB":
                raise RuntimeError("client sent a malformed request")
            nxt = struct.unpack_from("<I", data, off + 20)[0]
            end = off + nxt if nxt else len(data)
            reqs.append(Request(bytes(data[off:end])))
            if not nxt:
                break
            off = end
        if len(reqs) > 1:
            return self.handle_compound(reqs)
        req = reqs[0]
        if req.cmd == OPLOCK_BREAK and self.held:
            held, self.held = self.held, None  # the READ answer after the ack's
            return [frame(self.handle_normal(req)), held]
        sticky = self.scenario in STICKY
        if (not self.fired or sticky) and self.trigger is not None and req.cmd == self.trigger:
            acts = self.fault(req)
            if acts is not None:
                self.fired = True
                return acts
        return [frame(self.handle_normal(req))]

    def run(self, deadline):
        buf = bytearray()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return 4
            wait = min(left, 1.0)
            if self.timer:
                now = time.monotonic()
                if now >= self.timer["end"]:
                    try:
                        self.send(self.timer["final"])
                    except ConnectionError:
                        return self.outcome()
                    self.timer = None
                    continue
                if now >= self.timer["next"]:
                    try:
                        self.send(self.timer["data"])
                    except ConnectionError:
                        return self.outcome()
                    self.timer["next"] = now + self.timer["interval"]
                wait = max(0.0, min(wait, self.timer["next"] - now))
            r, _, _ = select.select([self.sock], [], [], wait)
            if not r:
                continue
            try:
                chunk = self.sock.recv(1 << 20)
            except ConnectionError:
                chunk = b""
            if not chunk:
                return self.outcome()
            while self.odx and has_odx(buf + chunk) and select.select([self.sock], [], [], 0.02)[0]:
                # Gather what a pipelining client sent with it (a slight delay
                # that lets the pipelining count above see the requests).
                try:
                    more = self.sock.recv(1 << 20)
                except ConnectionError:
                    more = b""
                if not more:
                    break
                chunk += more
            try:
                self.process(buf, chunk)
            except ConnectionError:
                return self.outcome()
            if self.closed:
                return 0

    def process(self, buf, chunk):
        """Answers every complete request frame in buf + chunk."""
        if self.stalled:
            return  # swallow everything, answer nothing
        buf += chunk
        while len(buf) >= 4 and not self.stalled:
            flen = struct.unpack_from(">I", buf, 0)[0] & 0xFFFFFF
            if len(buf) < 4 + flen:
                break
            data = bytes(buf[4:4 + flen])
            del buf[:4 + flen]
            if self.odx and len(data) >= HDR + 8 and data[12] == IOCTL \
                    and struct.unpack_from("<I", data, HDR + 4)[0] in (FSCTL_OFFLOAD_READ,
                                                                      FSCTL_OFFLOAD_WRITE):
                # This request and the complete ones behind it were all sent
                # before this one was answered.
                self.odx_stats["peak"] = max(self.odx_stats["peak"], 1 + frames_in(buf))
                self.odx_stat()
            for act in self.handle_frame(data):
                if act == "close":
                    self.sock.close()
                    self.closed = True
                    return
                if act == "stall":
                    self.stalled = True
                    buf.clear()
                    break
                self.send(act)


def main():
    ap = argparse.ArgumentParser(description="hostile fake SMB2 server for smbwire tests")
    ap.add_argument("scenario", nargs="?")
    ap.add_argument("--port-file")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("--odx", choices=sorted(ODX_MODES),
                    help="serve offloaded data transfer (with scenario normal): "
                    + "; ".join("%s: %s" % kv for kv in sorted(ODX_MODES.items())))
    ap.add_argument("--dfs-ttl", type=int,
                    help="the share dfs is a DFS root: its links lead to share, "
                    "referrals with this TimeToLive (with scenario normal)")
    args = ap.parse_args()
    if args.list:
        for name, (_, desc) in SCENARIOS.items():
            print("%-28s %s" % (name, desc))
        return 0
    if args.scenario not in SCENARIOS:
        print("fakesmb: unknown scenario %r (see --list)" % args.scenario, file=sys.stderr)
        return 2
    deadline = time.monotonic() + args.timeout
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    port = ls.getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    print(port, flush=True)
    ls.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        conn, _ = ls.accept()
    except socket.timeout:
        return 4
    ls.close()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    srv = Server(args.scenario, conn, odx=args.odx, dfs_ttl=args.dfs_ttl)
    try:
        rc = srv.run(deadline)
    finally:
        if not srv.closed:
            conn.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())
