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
# The copies are slowed down with --depth=1 --chunk-size=4K so they last
# several seconds.
#
#   resume.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/copy/common.sh
source "$here/common.sh"
need_smbcopy "${1:-}"
need_env SMBW_TEST_HOST SMBW_TEST_PORT SMBW_TEST_USER SMBW_TEST_PASS SMBW_TEST_SHARE \
    SMBW_TEST_SHARE_PATH

work=$(mktemp -d "${TMPDIR:-/tmp}/copy-resume.XXXXXX")
bg=
cleanup() {
    if [[ -n "$bg" ]]; then
        kill -9 "$bg" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
export SMB_PASSWORD=$SMBW_TEST_PASS
url=smb://$SMBW_TEST_USER@$SMBW_TEST_HOST:$SMBW_TEST_PORT/$SMBW_TEST_SHARE
share=$SMBW_TEST_SHARE_PATH
slow=(--depth=1 --chunk-size=4K)

make_random "$share/src.bin" $((256 << 20))
cp "$share/src.bin" "$work/src.bin"

# record_done FILE: the done offset of a resume record ("" when unreadable).
record_done() {
    local d
    d=$(sed -n 's/^done \([0-9]\{20\}\)$/\1/p' "$1" 2>/dev/null || true)
    [[ -n "$d" ]] && echo $((10#$d))
    return 0
}

# start_bg ARGS...: smbcopy in the background (pid in $bg).
start_bg() {
    "$smbcopy" -q "$@" </dev/null >"$work/bg.out" 2>"$work/bg.err" &
    bg=$!
}

# wait_record FILE: until the record says some data is done (bounded: 20 s).
wait_record() {
    local i d
    for ((i = 0; i < 200; i++)); do
        d=$(record_done "$1")
        if [[ -n "$d" ]] && ((d > 0)); then
            return 0
        fi
        kill -0 "$bg" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# stop_bg SIGNAL: sends it and waits (bounded: 20 s); sets bg_rc.
stop_bg() {
    local i
    kill -s "$1" "$bg" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
        kill -0 "$bg" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$bg" 2>/dev/null; then
        fail "smbcopy still runs 20 s after SIG$1 (killed)"
        kill -9 "$bg" 2>/dev/null || true
    fi
    set +e
    wait "$bg"
    bg_rc=$?
    set -e
    bg=
}

# killed_then_resumed WHAT SRC DST DST_DIR DST_NAME EXPECTED [SMBCOPY ARGS...]
killed_then_resumed() {
    local what=$1 src=$2 dst=$3 ddir=$4 dname=$5 expected=$6 done_at resumed
    shift 6
    start_bg "$@" "${slow[@]}" "$src" "$dst"
    if wait_record "$ddir/.$dname.smbcopy.state"; then
        pass "$what: resume record written while copying ($(record_done "$ddir/.$dname.smbcopy.state") bytes done)"
    else
        fail "$what: no resume record with progress (smbcopy: $(cat "$work/bg.err"))"
    fi
    stop_bg KILL
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
    "$smbcopy" --json --no-progress "$@" --resume "$src" "$dst" </dev/null \
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
#     first offset not known written across both parts.
killed_then_resumed "server-side, 2 connections" "$url/src.bin" "$url/k1c.bin" "$share" k1c.bin \
    "$share/src.bin" --connections=2

# 2. SIGKILL during a streamed download (record on the local disk).
killed_then_resumed "download" "$url/src.bin" "$work/k2.bin" "$work" k2.bin "$share/src.bin" \
    --method=stream

# 3. SIGKILL during a streamed upload (record on the share).
killed_then_resumed "upload" "$work/src.bin" "$url/k3.bin" "$share" k3.bin "$work/src.bin"

# 4. The record no longer describes the source: --resume starts over.
start_bg "${slow[@]}" "$url/src.bin" "$url/k4.bin"
wait_record "$share/.k4.bin.smbcopy.state" ||
    fail "another source: no resume record with progress (smbcopy: $(cat "$work/bg.err"))"
stop_bg KILL
make_random "$share/other.bin" $((3 << 20))
run_json --resume "$url/other.bin" "$url/k4.bin"
if ((rc == 0)) && [[ "$(json_get "$work/last.json" resumed_bytes)" == 0 ]]; then
    pass "another source: --resume started over"
else
    fail "another source: exit $rc, $(cat "$work/last.json") $(cat "$work/last.err")"
fi
same_file "another source" "$share/other.bin" "$share/k4.bin"
start_bg "${slow[@]}" "$url/src.bin" "$url/k5.bin"
wait_record "$share/.k5.bin.smbcopy.state" ||
    fail "changed source: no resume record with progress (smbcopy: $(cat "$work/bg.err"))"
stop_bg KILL
touch -d '2001-02-03 04:05:06' "$share/src.bin" # same size, other time
run_json --resume "$url/src.bin" "$url/k5.bin"
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

# 5. SIGINT without --resume: partial file and record removed, exit 130.
start_bg --method=stream "${slow[@]}" "$url/src.bin" "$work/i1.bin"
wait_record "$work/.i1.bin.smbcopy.state" || fail "SIGINT: no record before the signal"
stop_bg INT
if ((bg_rc == 130)) && [[ -z "$(leftovers "$work")" && ! -e "$work/i1.bin" ]]; then
    pass "SIGINT without --resume: exit 130, nothing left"
else
    fail "SIGINT without --resume: exit $bg_rc, $(ls -a "$work") $(cat "$work/bg.err")"
fi

# 6. SIGINT with --resume: both kept, the record written once more on the way out.
start_bg --resume --method=stream "${slow[@]}" "$url/src.bin" "$work/i2.bin"
wait_record "$work/.i2.bin.smbcopy.state" || fail "SIGINT --resume: no record before the signal"
sleep 0.3
stop_bg INT
d=$(record_done "$work/.i2.bin.smbcopy.state")
psize=$(stat -c %s "$work/.i2.bin.smbcopy.part" 2>/dev/null || echo 0)
if ((bg_rc == 130)) && [[ -n "$d" ]] && ((d > 0 && d <= psize)) &&
    cmp -s -n "$d" "$work/.i2.bin.smbcopy.part" "$share/src.bin"; then
    pass "SIGINT with --resume: exit 130, record kept at $d of $psize bytes, all correct"
else
    fail "SIGINT with --resume: exit $bg_rc, record '$d', part $psize: $(cat "$work/bg.err")"
fi
run_json --resume "$url/src.bin" "$work/i2.bin"
if ((rc == 0)) && [[ "$(json_get "$work/last.json" resumed_bytes)" == "$d" ]]; then
    pass "SIGINT with --resume: resumed at $d"
else
    fail "SIGINT with --resume: $(cat "$work/last.json") $(cat "$work/last.err")"
fi
same_file "SIGINT with --resume" "$share/src.bin" "$work/i2.bin"

finish
