#!/usr/bin/env bash
# Sparse files through the streaming path (issue 17 item 10): holes are
# neither read nor sent, the destination keeps them, the content is the same.
#  1. upload of a 1 GiB local file with three data regions (SEEK_DATA /
#     SEEK_HOLE): identical, under 4 MiB on the wire, the server's copy
#     occupies under 64 MiB;
#  2. a local file whose data ends long before its size (a trailing hole):
#     the size is exact;
#  3. download of a server file marked sparse (FSCTL_SET_SPARSE through the
#     driver; QUERY_ALLOCATED_RANGES): identical, little on the wire, the
#     local copy occupies little;
#  4. the same file smb -> smb between two shares with --method=stream;
#  5. a file without holes still goes whole (its bytes all on the wire).
# usage: sparse.sh SMBCOPY CC_DRIVER
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "$1"
driver=${2:?usage: $0 SMBCOPY CC_DRIVER}
copy_init sparse SMBW_TEST_SHARE2 SMBW_TEST_SHARE2_PATH

mib=$((1024 * 1024))
# used FILE: bytes the file occupies on disk.
used() { echo $(($(stat -c '%b * %B' "$1"))); }
# run NAME ARGS...: smbcopy --json ARGS, expecting success.
run() {
    local name=$1
    shift
    if "$smbcopy" --json -q "$@" >"$work/$name.json" 2>"$work/$name.err"; then
        return 0
    fi
    fail "$name: exit $?: $(cat "$work/$name.err")"
    return 1
}
# small_wire NAME LIMIT: the run's wire bytes are below LIMIT.
small_wire() {
    local w
    w=$(json_get "$work/$1.json" wire_bytes)
    if [[ -n "$w" ]] && ((w < $2)); then
        pass "$1: $w bytes on the wire"
    else
        fail "$1: ${w:-?} bytes on the wire, wanted under $2"
    fi
}
small_disk() { # what file limit
    local u
    u=$(used "$2")
    if ((u < $3)); then
        pass "$1: occupies $u bytes"
    else
        fail "$1: occupies $u bytes, wanted under $3 (holes filled)"
    fi
}

# 1. upload
src=$work/sparse.bin
truncate -s 1G "$src"
head -c "$mib" /dev/urandom | dd of="$src" conv=notrunc status=none
head -c 100000 /dev/urandom | dd of="$src" bs=1 seek=$((512 * mib + 12345)) conv=notrunc \
    status=none
head -c 4096 /dev/urandom | dd of="$src" bs=4096 seek=$((1024 * 256 - 1)) conv=notrunc \
    status=none
if run up "$src" "$url/sparse.bin"; then
    same_file "up" "$src" "$share/sparse.bin"
    small_wire up $((4 * mib))
    small_disk "up: the server's copy" "$share/sparse.bin" $((64 * mib))
    # FSCTL_SET_SPARSE on the temporary dot name made Samba store it hidden;
    # the final file must not be.
    attrs=$(smbclient "//$SMBW_TEST_HOST/$SMBW_TEST_SHARE" -p "$SMBW_TEST_PORT" \
        -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" -c 'allinfo sparse.bin' 2>&1 |
        sed -n 's/^attributes: \([A-Z]*\) .*/\1/p')
    if [[ -n "$attrs" && "$attrs" != *H* ]]; then
        pass "up: attributes $attrs (not hidden)"
    else
        fail "up: attributes '${attrs:-?}' (hidden, or not read)"
    fi
fi

# 2. trailing hole
tail_src=$work/tail.bin
head -c 4096 /dev/urandom >"$tail_src"
truncate -s $((100 * mib)) "$tail_src"
if run tail "$tail_src" "$url/tail.bin"; then
    same_file "tail" "$tail_src" "$share/tail.bin"
    [[ $(stat -c %s "$share/tail.bin") == $((100 * mib)) ]] && pass "tail: size exact" ||
        fail "tail: size $(stat -c %s "$share/tail.bin")"
    small_wire tail "$mib"
fi

# 3. download of a file the server knows to be sparse
srv=$share/srv.bin
truncate -s 1G "$srv"
head -c 200000 /dev/urandom | dd of="$srv" bs=1 seek=$((512 * mib)) conv=notrunc status=none
chown --reference="$share" "$srv"
if "$driver" set-sparse srv.bin 2>"$work/set-sparse.err"; then
    if run down "$url/srv.bin" "$work/down.bin"; then
        same_file "down" "$srv" "$work/down.bin"
        small_wire down $((4 * mib))
        small_disk "down: the local copy" "$work/down.bin" $((64 * mib))
    fi
    # 4. smb -> smb, streamed between two shares
    if run s2s --method=stream "$url/srv.bin" "$base/$SMBW_TEST_SHARE2/srv.bin"; then
        same_file "s2s" "$srv" "$SMBW_TEST_SHARE2_PATH/srv.bin"
        small_wire s2s $((4 * mib))
        small_disk "s2s: the second share's copy" "$SMBW_TEST_SHARE2_PATH/srv.bin" $((64 * mib))
    fi
else
    fail "set-sparse: $(cat "$work/set-sparse.err")"
fi

# 5. no holes: everything goes
head -c $((3 * mib)) /dev/urandom >"$work/dense.bin"
if run dense "$work/dense.bin" "$url/dense.bin"; then
    same_file "dense" "$work/dense.bin" "$share/dense.bin"
    w=$(json_get "$work/dense.json" wire_bytes)
    ((w >= 3 * mib)) && pass "dense: all $w bytes sent" || fail "dense: only $w bytes sent"
fi
finish
