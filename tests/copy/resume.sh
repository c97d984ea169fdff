#!/usr/bin/env bash
# smbcopy killed mid-copy, then --resume (run through with-server.sh samba):
#  - SIGKILL during a server-side copy, a streamed download (record on the
#    local disk) and a streamed upload (record on the share): the final name
#    is absent, the partial file and its record are kept, and --resume
#    continues from the record, says so, and ends identical with no leftovers;
#  - a record that no longer describes the source (source changed, or the
#    partial file belongs to another source) makes --resume start over;
#  - SIGINT without --resume removes the partial file and the record; with
#    --resume it keeps both, the record brought up to date.
# Each copy is stopped at a known point, whatever its speed: its SMB traffic
# goes through freeze_proxy.py (common.sh hold_*), which holds every byte once
# the resume record shows progress; the signal is sent while it holds, so the
# copy cannot have finished and its record is never empty. The --resume runs
# use the same proxy URL (the record names the source URL).
#
#   resume.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init resume

make_random "$share/src.bin" $((256 << 20))
cp "$share/src.bin" "$work/src.bin"

# killed_then_resumed WHAT SRC DST DST_DIR DST_NAME EXPECTED [SMBCOPY ARGS...]
killed_then_resumed() {
    local what=$1 src=$2 dst=$3 ddir=$4 dname=$5 expected=$6 done_at resumed
    shift 6
    held "$ddir/.$dname.smbcopy.state" "$src" "$dst" "$@"
    stop_bg KILL
    hold_release
    if [[ -e "$ddir/$dname" ]]; then
        fail "$what: the final name exists after SIGKILL"
    else
        pass "$what: final name absent after SIGKILL"
    fi
    if [[ -f "$ddir/.$dname.smbcopy.part" && -f "$ddir/.$dname.smbcopy.state" ]]; then
        pass "$what: partial file and record kept"
    else
        fail "$what: partial file or record missing: $(ls -a "$ddir")"
    fi
    done_at=$(record_done "$ddir/.$dname.smbcopy.state")
    set +e
    "$smbcopy" --json --no-progress "$@" --resume "$psrc" "$pdst" </dev/null \
        >"$work/last.json" 2>"$work/last.err"
    rc=$?
    set -e
    resumed=$(json_get "$work/last.json" resumed_bytes)
    if ((rc == 0)); then
        pass "$what: --resume exit 0"
    else
        fail "$what: --resume exit $rc: $(cat "$work/last.err")"
    fi
    if grep -q "^smbcopy: resuming .* at byte $done_at of" "$work/last.err" &&
        [[ "$resumed" == "$done_at" ]]; then
        pass "$what: resumed at byte $done_at (said so, resumed_bytes $resumed)"
    else
        fail "$what: did not say it resumed at $done_at: $(cat "$work/last.err") $(cat "$work/last.json")"
    fi
    same_file "$what" "$expected" "$ddir/$dname"
    if [[ -z "$(leftovers "$ddir")" ]]; then
        pass "$what: no leftovers"
    else
        fail "$what: leftovers: $(leftovers "$ddir")"
    fi
}

# 1. SIGKILL during a server-side copy (copychunk), then --resume.
killed_then_resumed "server-side" "$url/src.bin" "$url/k1.bin" "$share" k1.bin "$share/src.bin"
if [[ "$(json_get "$work/last.json" method)" == copychunk ]]; then
    pass "server-side: resumed with copychunk"
else
    fail "server-side: resumed with $(json_get "$work/last.json" method)"
fi

# 1b. The same with the copy split over two connections: the record holds the
#     first offset not known written across both parts. One request in flight
#     per lane: at the default depth each lane has its whole half in flight,
#     so the server could reach the record's first write only after the last
#     copychunk, and the hold would come too late on a loaded machine.
killed_then_resumed "server-side, 2 connections" "$url/src.bin" "$url/k1c.bin" "$share" k1c.bin \
    "$share/src.bin" --connections=2 --depth=1

# 2. SIGKILL during a streamed download (record on the local disk).
killed_then_resumed "download" "$url/src.bin" "$work/k2.bin" "$work" k2.bin "$share/src.bin" \
    --method=stream

# 3. SIGKILL during a streamed upload (record on the share).
killed_then_resumed "upload" "$work/src.bin" "$url/k3.bin" "$share" k3.bin "$work/src.bin"

# 4. The record no longer describes the source: --resume starts over (the
#    same proxy URL, so only the source differs).
held "$share/.k4.bin.smbcopy.state" "$url/src.bin" "$url/k4.bin"
stop_bg KILL
hold_release
make_random "$share/other.bin" $((3 << 20))
run_json --resume "$(via_proxy "$url/other.bin")" "$pdst"
if ((rc == 0)) && [[ "$(json_get "$work/last.json" resumed_bytes)" == 0 ]]; then
    pass "another source: --resume started over"
else
    fail "another source: exit $rc, $(cat "$work/last.json") $(cat "$work/last.err")"
fi
same_file "another source" "$share/other.bin" "$share/k4.bin"
held "$share/.k5.bin.smbcopy.state" "$url/src.bin" "$url/k5.bin"
stop_bg KILL
hold_release
# Same size, other time, set by another client through the server: the
# killed run's source was a durable open, which Samba keeps (for its
# timeout) with the file's share-mode entry, and while that entry lives
# Samba answers opens with the write time it holds, not one set on its disk
# behind its back (touch), so such a change would be seen only at the
# close (exit 2, "source changed during copy"; nothing copied wrong).
chown "$SMBW_TEST_USER:" "$share/src.bin" 2>/dev/null || true
smbclient "//127.0.0.1/$SMBW_TEST_SHARE" -p "$SMBW_TEST_PORT" -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" \
    -c 'utimes src.bin -1 -1 "2001:02:03-04:05:06" -1' >"$work/utimes.out" 2>&1 ||
    fail "smbclient utimes: $(cat "$work/utimes.out")"
run_json --resume "$psrc" "$pdst"
if ((rc == 0)) && [[ "$(json_get "$work/last.json" resumed_bytes)" == 0 ]]; then
    pass "changed source: --resume started over"
else
    fail "changed source: exit $rc, $(cat "$work/last.json") $(cat "$work/last.err")"
fi
same_file "changed source" "$share/src.bin" "$share/k5.bin"
if [[ -z "$(leftovers "$share")" ]]; then
    pass "no leftovers on the share"
else
    fail "leftovers on the share: $(leftovers "$share")"
fi

# 5. SIGINT without --resume: partial file and record removed, exit 130. The
#    signal is sent while the proxy holds the copy, then the held bytes go on.
held "$work/.i1.bin.smbcopy.state" "$url/src.bin" "$work/i1.bin" --method=stream
kill -INT "$bg" 2>/dev/null || true
hold_release
wait_bg
if ((bg_rc == 130)) && [[ -z "$(leftovers "$work")" && ! -e "$work/i1.bin" ]]; then
    pass "SIGINT without --resume: exit 130, nothing left"
else
    fail "SIGINT without --resume: exit $bg_rc, $(ls -a "$work") $(cat "$work/bg.err")"
fi

# 6. SIGINT with --resume: both kept, the record written once more on the way out.
held "$work/.i2.bin.smbcopy.state" "$url/src.bin" "$work/i2.bin" --resume --method=stream
kill -INT "$bg" 2>/dev/null || true
hold_release
wait_bg
d=$(record_done "$work/.i2.bin.smbcopy.state")
psize=$(stat -c %s "$work/.i2.bin.smbcopy.part" 2>/dev/null || echo 0)
if ((bg_rc == 130)) && [[ -n "$d" ]] && ((d > 0 && d <= psize)) &&
    cmp -s -n "$d" "$work/.i2.bin.smbcopy.part" "$share/src.bin"; then
    pass "SIGINT with --resume: exit 130, record kept at $d of $psize bytes, all correct"
else
    fail "SIGINT with --resume: exit $bg_rc, record '$d', part $psize: $(cat "$work/bg.err")"
fi
run_json --resume "$psrc" "$work/i2.bin"
if ((rc == 0)) && [[ "$(json_get "$work/last.json" resumed_bytes)" == "$d" ]]; then
    pass "SIGINT with --resume: resumed at $d"
else
    fail "SIGINT with --resume: $(cat "$work/last.json") $(cat "$work/last.err")"
fi
hold_stop
same_file "SIGINT with --resume" "$share/src.bin" "$work/i2.bin"

finish
