#!/usr/bin/env bash
# Server-side copy with smbcopy against Samba on the ordinary file system
# (run through tests/testbed/with-server.sh samba):
#  - smb->smb copies of 0 B, 1 B, 16 MiB, 16 MiB+1, 256 MiB: identical, method
#    copychunk, and the library's counters (--json wire_bytes) show that under
#    1% of the data crossed the wire;
#  - a sparse 5 GiB file with data past 4 GiB: identical, few bytes on the
#    wire, and the copy stays sparse;
#  - across shares of one session: still copychunk;
#  - one copy split over two connections (--connections=2);
#  - --connections=auto (the default): two connections for a copy of 2 GiB
#    or more (the first 64 MiB over one, the next over two, the rest over the
#    faster; a preallocated 2 GiB file), one below; --connections=1 one
#    (NEGOTIATE requests counted in the -vvv trace);
#  - --copychunk-ioctl=read (FSCTL_SRV_COPYCHUNK) and --depth/--chunk-size;
#  - a forced --method=clone on a share without block refcounting fails with
#    one message and leaves nothing behind.
#
#   serverside.sh PATH/TO/smbcopy PATH/TO/copy_cc_driver
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
driver=${2:?usage: $0 PATH/TO/smbcopy PATH/TO/copy_cc_driver}
copy_init ss SMBW_TEST_SHARE2 SMBW_TEST_SHARE2_PATH

url2=$base/$SMBW_TEST_SHARE2
share2=$SMBW_TEST_SHARE2_PATH

# check_copy WHAT SRC_PATH DST_PATH SIZE [METHOD]: after run_json.
check_copy() {
    local what=$1 s=$2 d=$3 size=$4 want=${5:-copychunk} method wire bytes
    if ((rc != 0)); then
        fail "$what: exit $rc: $(cat "$work/last.err")"
        return
    fi
    method=$(json_get "$work/last.json" method)
    wire=$(json_get "$work/last.json" wire_bytes)
    bytes=$(json_get "$work/last.json" bytes)
    same_file "$what" "$s" "$d"
    if [[ "$method" == "$want" ]]; then
        pass "$what: method $method"
    else
        fail "$what: method '$method', expected $want"
    fi
    if [[ "$bytes" == "$size" ]]; then
        pass "$what: bytes $bytes"
    else
        fail "$what: --json bytes '$bytes', expected $size"
    fi
    if ((size >= 1048576)); then
        if [[ "$wire" =~ ^[0-9]+$ ]] && ((wire * 100 < size)); then
            pass "$what: $wire bytes on the wire for $size bytes (< 1%)"
        else
            fail "$what: wire_bytes '$wire' for $size bytes (not < 1%)"
        fi
    fi
    if [[ -n "$(leftovers "$(dirname "$d")")" ]]; then
        fail "$what: leftovers: $(leftovers "$(dirname "$d")")"
    fi
}

# 1. sizes, smb->smb in one share
for size in 0 1 $((16 << 20)) $((16 << 20 | 1)) $((256 << 20)); do
    make_random "$share/src-$size.bin" "$size"
    run_json "$url/src-$size.bin" "$url/dst-$size.bin"
    check_copy "smb->smb $size B" "$share/src-$size.bin" "$share/dst-$size.bin" "$size"
    echo "     $(cat "$work/last.json")"
done

# 2. across shares of one session
run_json "$url/src-$((16 << 20 | 1)).bin" "$url2/across.bin"
check_copy "share1->share2" "$share/src-$((16 << 20 | 1)).bin" "$share2/across.bin" $((16 << 20 | 1))

# 2b. one copy split over two connections (--connections=2)
run_json --connections=2 "$url/src-$((256 << 20)).bin" "$url/two-conns.bin"
check_copy "--connections=2" "$share/src-$((256 << 20)).bin" "$share/two-conns.bin" $((256 << 20))
reqs=$(json_get "$work/last.json" requests)
# 16 copychunk requests of 16 MiB and the second connection's resume key (the
# first connection's came with the source's open, smbw_file_open_source).
if [[ "$reqs" =~ ^[0-9]+$ ]] && ((reqs >= 17)); then
    pass "--connections=2: $reqs requests (a resume key for the second connection)"
else
    fail "--connections=2: requests '$reqs' (expected >= 17: the second resume key)"
fi
echo "     $(cat "$work/last.json")"

# 2c. --connections=auto: how many connections smbcopy opened for a copy (one
#     NEGOTIATE each in the -vvv trace); every copy checked.
conns_used() { # what want src dst [options...]
    local what=$1 want=$2 src=$3 dst=$4 n
    shift 4
    rm -f "$share/$dst"
    if "$smbcopy" --no-progress -vvv "$@" "$url/$src" "$url/$dst" >/dev/null 2>"$work/conns.err" </dev/null; then
        same_file "$what" "$share/$src" "$share/$dst"
    else
        fail "$what: exit $?: $(tail -n 3 "$work/conns.err")"
    fi
    n=$(grep -c -- '-> NEGOTIATE ' "$work/conns.err" || true)
    if ((n == want)); then
        pass "$what: $n connection(s)"
    else
        fail "$what: $n connection(s) (NEGOTIATE requests), wanted $want"
    fi
}
big=big-2g.bin
# Preallocated (unwritten extents read as zeros): copy_file_range on the
# server copies it quickly, and it is not sparse, so all of it is copied.
fallocate -l $((2 << 30)) "$share/$big"
chown "$SMBW_TEST_USER" "$share/$big"
conns_used "default, 2 GiB" 2 "$big" auto-default.bin
# auto measured one connection against two on the first 2 x 64 MiB and said
# which it kept for the rest.
if grep -Eq "1 connection [0-9.]+ ms, 2 connections [0-9.]+ ms per 64 MiB: the rest over [12]$" \
    "$work/conns.err"; then
    pass "default, 2 GiB: $(grep -Eo '1 connection .*' "$work/conns.err")"
else
    fail "default, 2 GiB: no measurement of 1 against 2 connections in the -vvv output"
fi
conns_used "--connections=1, 2 GiB" 1 "$big" auto-one.bin --connections=1
conns_used "default, 16 MiB" 1 "src-$((16 << 20)).bin" auto-small.bin
conns_used "default, 256 MiB" 1 "src-$((256 << 20)).bin" auto-256m.bin
rm -f "$share"/auto-*.bin "$share/$big"

# 3. FSCTL_SRV_COPYCHUNK (destination opened with read access), a small
#    pipeline and small chunks
run_json --copychunk-ioctl=read "$url/src-$((16 << 20 | 1)).bin" "$url/read-ioctl.bin"
check_copy "--copychunk-ioctl=read" "$share/src-$((16 << 20 | 1)).bin" "$share/read-ioctl.bin" \
    $((16 << 20 | 1))
run_json --copychunk-ioctl=write --depth=1 --chunk-size=64K "$url/src-$((16 << 20 | 1)).bin" \
    "$url/small-chunks.bin"
check_copy "--depth=1 --chunk-size=64K" "$share/src-$((16 << 20 | 1)).bin" \
    "$share/small-chunks.bin" $((16 << 20 | 1))
reqs=$(json_get "$work/last.json" requests)
# 16 MiB + 1 in 64 KiB chunks, 16 per request: at least 17 copychunk requests.
if [[ "$reqs" =~ ^[0-9]+$ ]] && ((reqs >= 17)); then
    pass "--chunk-size=64K: $reqs requests"
else
    fail "--chunk-size=64K: requests '$reqs' (expected >= 17)"
fi

# 4. a sparse file over 4 GiB: data at 0, 1 GiB+12345, past 4 GiB and at the end
sparse=$share/sparse.bin
truncate -s 5G "$sparse"
for off in 0 $((1 << 30 | 12345)) $((4 << 30 | 4095)) $(((5 << 30) - (1 << 20))); do
    head -c $((1 << 20)) /dev/urandom |
        dd of="$sparse" bs=1M seek="$off" oflag=seek_bytes conv=notrunc status=none
done
size=$(stat -c %s "$sparse")
# Samba answers FSCTL_QUERY_ALLOCATED_RANGES with the real data ranges only for
# files marked sparse over SMB (its DOS attributes).
chown "$SMBW_TEST_USER" "$sparse" # smbd opens it for writing as the test user
if "$driver" set-sparse sparse.bin; then
    pass "sparse 5 GiB: source marked sparse"
else
    fail "sparse 5 GiB: could not mark the source sparse"
fi
for conns in 1 2; do
    run_json --connections="$conns" "$url/sparse.bin" "$url/sparse-copy.bin"
    echo "     $(cat "$work/last.json")"
    if ((rc == 0)); then
        pass "sparse 5 GiB, $conns connection(s): exit 0"
        if [[ "$(json_get "$work/last.json" method)" == copychunk ]]; then
            pass "sparse 5 GiB, $conns connection(s): method copychunk"
        else
            fail "sparse 5 GiB, $conns connection(s): method $(json_get "$work/last.json" method)"
        fi
        wire=$(json_get "$work/last.json" wire_bytes)
        if [[ "$wire" =~ ^[0-9]+$ ]] && ((wire * 100 < size)); then
            pass "sparse 5 GiB, $conns connection(s): $wire bytes on the wire (< 1%)"
        else
            fail "sparse 5 GiB, $conns connection(s): wire_bytes '$wire'"
        fi
        if [[ "$(stat -c %s "$share/sparse-copy.bin")" == "$size" ]]; then
            pass "sparse 5 GiB, $conns connection(s): size $size"
        else
            fail "sparse 5 GiB, $conns connection(s): size $(stat -c %s "$share/sparse-copy.bin"), expected $size"
        fi
        # Byte for byte, without reading GiBs of holes: outside the data extents
        # of both files (SEEK_DATA/SEEK_HOLE) both read as zeros.
        if "$py" - "$sparse" "$share/sparse-copy.bin" <<'PY'; then
import os, sys
def extents(path):
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    out, pos = [], 0
    while pos < size:
        try:
            a = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError:
            break
        b = os.lseek(fd, a, os.SEEK_HOLE)
        out.append((a, b))
        pos = b
    os.close(fd)
    return size, out
(sa, ea), (sb, eb) = extents(sys.argv[1]), extents(sys.argv[2])
assert sa == sb, (sa, sb)
ranges = sorted(ea + eb)
with open(sys.argv[1], "rb") as fa, open(sys.argv[2], "rb") as fb:
    checked = 0
    for a, b in ranges:
        fa.seek(a)
        fb.seek(a)
        while a < b:
            n = min(b - a, 1 << 22)
            assert fa.read(n) == fb.read(n), "differ in [%d, %d)" % (a, a + n)
            a += n
            checked += n
print("compared %d bytes in %d data extents; the rest are holes in both" % (checked, len(ranges)))
PY
            pass "sparse 5 GiB, $conns connection(s): identical"
        else
            fail "sparse 5 GiB, $conns connection(s): copies differ"
        fi
        alloc=$(($(stat -c '%b * %B' "$share/sparse-copy.bin")))
        if ((alloc < 64 << 20)); then
            pass "sparse 5 GiB, $conns connection(s): the copy stays sparse ($alloc bytes allocated)"
        else
            fail "sparse 5 GiB, $conns connection(s): the copy is not sparse ($alloc bytes allocated of $size)"
        fi
    else
        fail "sparse 5 GiB, $conns connection(s): exit $rc: $(cat "$work/last.err")"
    fi
    rm -f "$share/sparse-copy.bin"
done
rm -f "$sparse"

# 5. a forced clone where the share has no block refcounting (ext4 etc.)
run_json --method=clone "$url/src-1.bin" "$url/clone.bin"
if ((rc == 5)) && [[ "$(wc -l <"$work/last.err")" -eq 1 ]] &&
    grep -q '^smbcopy: .*clone' "$work/last.err"; then
    pass "forced clone without block refcounting: exit $rc, $(cat "$work/last.err")"
else
    fail "forced clone without block refcounting: exit $rc, stderr: $(cat "$work/last.err")"
fi
if [[ -e "$share/clone.bin" || -n "$(leftovers "$share")" ]]; then
    fail "forced clone: something was left behind: $(ls -a "$share")"
else
    pass "forced clone: nothing left behind"
fi
if [[ "$(json_get "$work/last.json" ok)" == false ]]; then
    pass "forced clone: --json ok false"
else
    fail "forced clone: --json $(cat "$work/last.json")"
fi

finish
