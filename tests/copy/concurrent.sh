#!/usr/bin/env bash
# Two smbcopy runs to the same destination at once (run through
# with-server.sh samba): the second finds the first's temporary file and,
# before, removed it as a stale one and wrote its own, so that the first
# renamed the second's half-written file to the final name (a local
# destination) or lost its own (a share: delete pending). Now the first
# holds its temporary file (locally an flock, on a share an open that does
# not share DELETE) and the second, with or without --resume, stops with
# "its temporary file ... is in use", touching nothing; the first then
# finishes, identical, no leftovers. A temporary file that nobody holds (a
# run killed with SIGKILL) is still removed as a stale one.
# Upload, download and server-side copy; the first run is held mid-copy by
# freeze_proxy.py (common.sh held; --pass-breaks, so that it answers the
# break of its lease the second run's open causes, as a running copy does),
# the second goes to the server directly (a server-side second run copies
# another source, the same bytes, so that the held run's own source is not
# in the way).
#
#   concurrent.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init concurrent

make_random "$share/src.bin" $((256 << 20))
cp "$share/src.bin" "$work/src.bin"
cp "$share/src.bin" "$share/src2.bin"
mkdir "$work/down"
hold_args=(--pass-breaks)

# identity PATH: device and inode ("" when absent): the same file, though
# the held run's last requests may still change its size.
identity() {
    stat -c '%d %i' "$1" 2>/dev/null || true
}

# second WHAT SRC DST PART FINAL CODE [ARGS...]: smbcopy ARGS SRC DST while
# the first run holds PART: exit CODE, the message, PART untouched, FINAL
# absent.
second() {
    local what=$1 src=$2 dst=$3 part=$4 final=$5 code=$6 before after
    shift 6
    before=$(identity "$part")
    set +e
    "$smbcopy" --no-progress "$@" "$src" "$dst" </dev/null >"$work/second.out" 2>"$work/second.err"
    rc=$?
    set -e
    after=$(identity "$part")
    if ((rc == code)) && grep -q "^smbcopy: copy to .*: its temporary file .*\.smbcopy\.part is in use (another smbcopy copying to the same file?); left alone, not copied$" "$work/second.err"; then
        pass "$what: the second run stops (exit $rc), saying the temporary file is in use"
    else
        fail "$what: the second run: exit $rc (expected $code): $(cat "$work/second.err")"
    fi
    if [[ -n "$before" && "$before" == "$after" ]]; then
        pass "$what: the first run's temporary file untouched"
    else
        fail "$what: the first run's temporary file changed: '$before' -> '$after'"
    fi
    if [[ -e "$final" ]]; then
        fail "$what: the final name exists while the first run is held"
    else
        pass "$what: the final name absent"
    fi
}

# both WHAT SRC DST DDIR DNAME CODE [SRC2]: the first run held, a second
# (from SRC2, by default SRC) with and without --resume, the first let go.
both() {
    local what=$1 src=$2 dst=$3 ddir=$4 dname=$5 code=$6 src2=${7:-$2}
    held "$ddir/.$dname.smbcopy.state" "$src" "$dst" --no-progress
    second "$what" "$src2" "$dst" "$ddir/.$dname.smbcopy.part" "$ddir/$dname" "$code"
    second "$what, --resume" "$src2" "$dst" "$ddir/.$dname.smbcopy.part" "$ddir/$dname" "$code" \
        --resume
    hold_release
    wait_bg
    hold_stop
    ended "$what: the first run" "$bg_rc" "$work/bg.err" "$ddir" "$dname"
}

# ended WHAT RC ERRFILE DDIR DNAME: a run that had to succeed: exit 0, the
# copy identical, no leftovers.
ended() {
    local what=$1 code=$2 err=$3 ddir=$4 dname=$5
    if ((code == 0)); then
        pass "$what: exit 0"
    else
        fail "$what: exit $code: $(cat "$err")"
    fi
    same_file "$what" "$work/src.bin" "$ddir/$dname"
    if [[ -z "$(leftovers "$ddir")" ]]; then
        pass "$what: no leftovers"
    else
        fail "$what: leftovers: $(leftovers "$ddir")"
    fi
}

# stale WHAT SRC DST DDIR DNAME: the first run killed, its temporary file
# left, held by nobody: the second removes it and copies.
stale() {
    local what=$1 src=$2 dst=$3 ddir=$4 dname=$5
    rm -f "$ddir/$dname"
    held "$ddir/.$dname.smbcopy.state" "$src" "$dst" --no-progress
    stop_bg KILL
    hold_stop
    if [[ -e "$ddir/.$dname.smbcopy.part" ]]; then
        pass "$what: a killed run's temporary file left"
    else
        fail "$what: no temporary file after SIGKILL: $(ls -a "$ddir")"
    fi
    run_json "$src" "$dst"
    ended "$what: a later run, removing it as a stale one" "$rc" "$work/last.err" "$ddir" "$dname"
}

both upload "$work/src.bin" "$url/up.bin" "$share" up.bin 5
both download "$url/src.bin" "$work/down/down.bin" "$work/down" down.bin 2
both server-side "$url/src.bin" "$url/ss.bin" "$share" ss.bin 5 "$url/src2.bin"

stale upload "$work/src.bin" "$url/up.bin" "$share" up.bin
stale download "$url/src.bin" "$work/down/down.bin" "$work/down" down.bin
stale server-side "$url/src.bin" "$url/ss.bin" "$share" ss.bin

finish
