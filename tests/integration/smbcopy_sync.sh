#!/usr/bin/env bash
# smbcopy's durability choice (issue 10 "Defaults", issue 16), against the
# private Samba described by SMBW_TEST_* (run through with-server.sh):
#
#   smbcopy_sync.sh PATH/TO/smbcopy
#
# - By default nothing is synced: no SMB2 FLUSH is sent (the -vvv trace of an
#   upload and of a server-side copy shows none) and a download makes no
#   fsync/fdatasync/sync/syncfs call (strace -f).
# - --sync sends a FLUSH for each remote destination before the rename, and
#   fsyncs a local destination's temporary file before the rename and its
#   directory after it.
# - --no-sync is still accepted and cancels an earlier --sync.
# Every copy is checked byte for byte.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init sync
command -v strace >/dev/null || {
    echo "FAIL: strace is not installed (tests/testbed/install-deps.sh installs it)" >&2
    exit 1
}

# strace and LeakSanitizer cannot both trace the process: no leak check in
# the traced runs of a sanitizer build (ignored by other builds).
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0

head -c $((3 * 1024 * 1024 + 777)) /dev/urandom >"$work/src.bin"
cp "$work/src.bin" "$share/src.bin"

# Runs smbcopy -vvv (the trace logs every request as "-> COMMAND mid ...");
# counts the FLUSH requests into flushes; checks the copy.
traced() { # name dst-path-on-disk args...
    local name=$1 ondisk=$2
    shift 2
    rm -f "$ondisk"
    if timeout -k 5 120 "$smbcopy" --timeout=30 --no-progress -vvv "$@" \
        >"$work/$name.out" 2>"$work/$name.err" </dev/null; then
        if cmp -s "$work/src.bin" "$ondisk"; then
            pass "$name: copied"
        else
            fail "$name: $ondisk differs or is missing"
        fi
    else
        fail "$name: exit $?: $(tail -n 3 "$work/$name.err")"
    fi
    flushes=$(grep -c -- '-> FLUSH ' "$work/$name.err" || true)
    # The trace must be there at all, or "no FLUSH" proves nothing.
    if ! grep -q -- '-> CREATE ' "$work/$name.err"; then
        fail "$name: no request trace in -vvv output"
    fi
}
want_flushes() { # name want
    if ((flushes == $2)); then
        pass "$1: $flushes FLUSH request(s)"
    else
        fail "$1: $flushes FLUSH request(s), wanted $2"
    fi
}

# ---- remote destinations: FLUSH only with --sync -------------------------
traced up-default "$share/up1.bin" "$work/src.bin" "$url/up1.bin"
want_flushes up-default 0
traced up-sync "$share/up2.bin" --sync "$work/src.bin" "$url/up2.bin"
want_flushes up-sync 1
traced up-sync-nosync "$share/up3.bin" --sync --no-sync "$work/src.bin" "$url/up3.bin"
want_flushes up-sync-nosync 0
traced ss-default "$share/ss1.bin" "$url/src.bin" "$url/ss1.bin"
want_flushes ss-default 0
traced ss-sync "$share/ss2.bin" --sync "$url/src.bin" "$url/ss2.bin"
want_flushes ss-sync 1

# ---- local destinations: fsync only with --sync --------------------------
# strace -y prints the path behind each descriptor; the rename is traced too,
# to see the order.
stracerun() { # name dst args...
    local name=$1 dst=$2
    shift 2
    rm -f "$dst"
    if timeout -k 5 120 strace -f -y -qq -o "$work/$name.strace" \
        -e trace=fsync,fdatasync,sync,syncfs,sync_file_range,rename,renameat,renameat2 \
        "$smbcopy" --timeout=30 -q "$@" >"$work/$name.out" 2>"$work/$name.err" </dev/null; then
        if cmp -s "$work/src.bin" "$dst"; then
            pass "$name: copied"
        else
            fail "$name: $dst differs or is missing"
        fi
    else
        fail "$name: exit $?: $(tail -n 3 "$work/$name.err")"
    fi
}
# Checks the trace of run NAME: with want=none, a rename and no sync call of
# any kind; with want=sync, fsync of the temporary file, then the rename,
# then fsync of the directory.
check_trace() { # name dir base want
    if python3 - "$work/$1.strace" "$2" "$3" "$4" <<'PY'; then
import re, sys
path, d, base, want = sys.argv[1:]
lines = open(path).read().splitlines()
syncs = [i for i, l in enumerate(lines)
         if re.match(r"^\d+ +(fsync|fdatasync|sync|syncfs|sync_file_range)\(", l)]
renames = [i for i, l in enumerate(lines) if re.match(r"^\d+ +rename(at2?)?\(", l)]
assert len(renames) == 1, "want one rename, trace:\n" + "\n".join(lines)
if want == "none":
    assert not syncs, "sync calls without --sync:\n" + "\n".join(lines)
else:
    part = "%s/.%s.smbcopy.part" % (d, base)
    f = [i for i in syncs if re.search(r"fsync\(\d+<%s>\) += 0" % re.escape(part), lines[i])]
    g = [i for i in syncs if re.search(r"fsync\(\d+<%s>\) += 0" % re.escape(d), lines[i])]
    assert f and f[0] < renames[0], "no fsync of %s before the rename:\n%s" % (part, "\n".join(lines))
    assert g and g[0] > renames[0], "no fsync of %s after the rename:\n%s" % (d, "\n".join(lines))
PY
        if [[ $4 == none ]]; then
            pass "$1: rename, no sync call"
        else
            pass "$1: fsync of the file, rename, fsync of the directory"
        fi
    else
        fail "$1: strace shows the wrong sync calls"
    fi
}
d=$work/down
mkdir "$d"
stracerun down-default "$d/d1.bin" "$url/src.bin" "$d/d1.bin"
check_trace down-default "$d" d1.bin none
stracerun down-sync "$d/d2.bin" --sync "$url/src.bin" "$d/d2.bin"
check_trace down-sync "$d" d2.bin sync
stracerun down-sync-nosync "$d/d3.bin" --sync --no-sync "$url/src.bin" "$d/d3.bin"
check_trace down-sync-nosync "$d" d3.bin none
stracerun local-sync "$d/d4.bin" --sync "$work/src.bin" "$d/d4.bin"
check_trace local-sync "$d" d4.bin sync

finish
