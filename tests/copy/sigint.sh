#!/usr/bin/env bash
# SIGINT during a server-side copy with two requests in flight (run through
# with-server.sh samba): smbcopy stops within a few seconds with exit 130;
# with --resume the partial file and its record are kept (the record updated
# on the way out, every byte below it correct) and a second --resume
# completes the copy identically; without --resume nothing is left.
# The signal reaches the copy at a known point, whatever its speed: the copy
# runs through freeze_proxy.py, which holds every byte once the resume record
# shows progress; SIGINT is sent while it is held, then the held bytes go on.
#
#   sigint.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init sigint
make_random "$share/src.bin" $((256 << 20))

# interrupt NAME [ARGS...]: a server-side copy to NAME held once its record
# shows progress, then SIGINT while it is held; sets bg_rc, psrc, pdst.
interrupt() {
    local name=$1
    shift
    held "$share/.$name.smbcopy.state" "$url/src.bin" "$url/$name" "$@" --depth=2
    kill -INT "$bg" 2>/dev/null || true
    hold_release
    wait_bg
}

interrupt i1.bin
if ((bg_rc == 130)); then
    pass "SIGINT: exit 130: $(cat "$work/bg.err")"
else
    fail "SIGINT during copychunk: exit $bg_rc: $(cat "$work/bg.err")"
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
    fail "SIGINT --resume during copychunk: exit $bg_rc: $(cat "$work/bg.err")"
fi
d=$(record_done "$share/.i2.bin.smbcopy.state")
d=${d:-0}
if ((d > 0)) && cmp -s -n "$d" "$share/src.bin" "$share/.i2.bin.smbcopy.part"; then
    pass "SIGINT --resume: record kept at $d, the bytes below it are right"
else
    fail "SIGINT --resume: record at '$d' or partial file wrong"
fi
run_json --resume "$psrc" "$pdst"
hold_stop
if ((rc == 0)) && [[ "$(json_get "$work/last.json" resumed_bytes)" == "$d" ]]; then
    pass "SIGINT --resume: completed from $d"
else
    fail "SIGINT --resume: $(cat "$work/last.json") $(cat "$work/last.err")"
fi
same_file "SIGINT --resume" "$share/src.bin" "$share/i2.bin"

finish
