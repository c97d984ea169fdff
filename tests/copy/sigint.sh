#!/usr/bin/env bash
# SIGINT during a server-side copy with two requests in flight (run through
# with-server.sh samba): smbcopy
# stops within a few seconds with exit 130; with --resume the partial file and
# its record are kept (the record updated on the way out, every byte below it
# correct) and a second --resume completes the copy identically; without
# --resume nothing is left.
#
#   sigint.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/copy/common.sh
source "$here/common.sh"
need_smbcopy "${1:-}"
need_env SMBW_TEST_HOST SMBW_TEST_PORT SMBW_TEST_USER SMBW_TEST_PASS SMBW_TEST_SHARE \
    SMBW_TEST_SHARE_PATH

work=$(mktemp -d "${TMPDIR:-/tmp}/copy-sigint.XXXXXX")
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
make_random "$share/src.bin" $((256 << 20))

# interrupt NAME [ARGS...]: starts a slow server-side copy to NAME, waits for
# its first record with progress, sends SIGINT; sets bg_rc (999: hung).
interrupt() {
    local name=$1 i d=
    shift
    "$smbcopy" -q "$@" --depth=2 --chunk-size=4K "$url/src.bin" "$url/$name" </dev/null \
        >"$work/bg.out" 2>"$work/bg.err" &
    bg=$!
    for ((i = 0; i < 200; i++)); do
        d=$(sed -n 's/^done \([0-9]\{20\}\)$/\1/p' "$share/.$name.smbcopy.state" 2>/dev/null || true)
        [[ -n "$d" ]] && ((10#$d > 0)) && break
        sleep 0.1
    done
    # The signal must reach a copy in progress: one that never wrote a record
    # with progress, or that already ended, proves nothing.
    if [[ -z "$d" ]] || ((10#$d == 0)); then
        fail "$name: no resume record with progress within 20 s: $(cat "$work/bg.err")"
    fi
    if ! kill -0 "$bg" 2>/dev/null; then
        fail "$name: the copy ended before the signal (too fast to interrupt)"
    fi
    kill -INT "$bg" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$bg" 2>/dev/null || break
        sleep 0.1
    done
    bg_rc=999
    if kill -0 "$bg" 2>/dev/null; then
        kill -9 "$bg"
        wait "$bg" || true
    else
        set +e
        wait "$bg"
        bg_rc=$?
        set -e
    fi
    bg=
}

interrupt i1.bin
if ((bg_rc == 130)); then
    pass "SIGINT: exit 130: $(cat "$work/bg.err")"
else
    fail "SIGINT during copychunk: exit $bg_rc (999: still running 10 s later)"
fi
if [[ -z "$(leftovers "$share")" && ! -e "$share/i1.bin" ]]; then
    pass "SIGINT without --resume: nothing left"
else
    fail "SIGINT without --resume: left $(ls -a "$share")"
fi

interrupt i2.bin --resume
if ((bg_rc == 130)); then
    pass "SIGINT --resume: exit 130"
else
    fail "SIGINT --resume during copychunk: exit $bg_rc (999: still running 10 s later)"
fi
d=$(sed -n 's/^done \([0-9]\{20\}\)$/\1/p' "$share/.i2.bin.smbcopy.state" 2>/dev/null || true)
d=$((10#${d:-0}))
if ((d > 0)) && cmp -s -n "$d" "$share/src.bin" "$share/.i2.bin.smbcopy.part"; then
    pass "SIGINT --resume: record kept at $d, the bytes below it are right"
else
    fail "SIGINT --resume: record at '$d' or partial file wrong"
fi
run_json --resume "$url/src.bin" "$url/i2.bin"
if ((rc == 0)) && [[ "$(json_get "$work/last.json" resumed_bytes)" == "$d" ]]; then
    pass "SIGINT --resume: completed from $d"
else
    fail "SIGINT --resume: $(cat "$work/last.json") $(cat "$work/last.err")"
fi
same_file "SIGINT --resume" "$share/src.bin" "$share/i2.bin"

finish
