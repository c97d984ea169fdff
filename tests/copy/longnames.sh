#!/usr/bin/env bash
# Names of 242 to 255 bytes (run through with-server.sh samba): the
# temporary and record names must not add to the length, so every name the
# destination can hold copies, in every direction (upload, download,
# server-side), without a warning, with --resume, and an interrupted copy
# of such a name continues with --resume. A 255-byte UTF-8 name (2-byte
# characters) checks that the shortened temporary name is cut at a character
# boundary.
#
#   longnames.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init longnames

mkdir -p "$work/dl" "$share/up" "$share/cc"
chown --reference="$share" "$share/up" "$share/cc"

rep() { # rep STRING N
    local s=
    for ((i = 0; i < $2; i++)); do s+=$1; done
    printf '%s' "$s"
}
n255=$(rep a 251).bin
n242=$(rep b 238).bin
n241=$(rep c 237).bin
u255=$(rep é 125)xxxxx # 125 * 2 + 5 = 255 bytes
for n in "$n255" "$n242" "$n241" "$u255"; do
    make_random "$work/$n" $((100000 + ${#n}))
done

# copy WHAT SRC DST LOCALSRC LOCALDST
copy() {
    local what=$1 src=$2 dst=$3 lsrc=$4 ldst=$5
    # Not -q: a warning (such as "cannot keep the resume record") must show.
    set +e
    "$smbcopy" --no-progress --resume "$src" "$dst" </dev/null >"$work/last.out" 2>"$work/last.err"
    rc=$?
    set -e
    if ((rc == 0)) && [[ ! -s "$work/last.err" ]] && cmp -s "$lsrc" "$ldst"; then
        pass "$what ($(printf '%s' "$(basename "$ldst")" | wc -c) bytes): copied, no warning"
    else
        fail "$what: exit $rc: $(cat "$work/last.err")"
    fi
}
for n in "$n255" "$n242" "$n241" "$u255"; do
    copy "upload" "$work/$n" "$url/up/" "$work/$n" "$share/up/$n"
    copy "download" "$url/up/$n" "$work/dl/" "$share/up/$n" "$work/dl/$n"
    copy "server-side" "$url/up/$n" "$url/cc/$n" "$share/up/$n" "$share/cc/$n"
done
left=$(leftovers "$work"; leftovers "$share")
if [[ -z "$left" ]]; then
    pass "nothing left over"
else
    fail "left over: $left"
fi

# Interrupted copies of a 255-byte name continue with --resume.
# interrupt DIR SRC DST: a copy held (common.sh held) once its record in DIR
# shows progress, then SIGINT while it is held; sets bg_rc, psrc, pdst.
interrupt() {
    held "$1/.*.smbcopy.state" "$2" "$3" --resume
    kill -INT "$bg" 2>/dev/null || true
    hold_release
    wait_bg
}
big=big-$(rep a 247).bin # 255 bytes
make_random "$work/$big" $((192 << 20))
# resume_case WHAT DIR SRC DST LOCALSRC LOCALDST
resume_case() {
    local what=$1 dir=$2 src=$3 dst=$4 lsrc=$5 ldst=$6 part
    interrupt "$dir" "$src" "$dst"
    part=$(find "$dir" -maxdepth 1 -name '*.smbcopy.part' | head -1)
    if ((bg_rc == 130)) && [[ -n "$part" ]] && ! grep -q "resume record" "$work/bg.err"; then
        pass "$what: interrupted, partial file with a $(printf %s "$(basename "$part")" | wc -c)-byte name kept"
    else
        fail "$what: exit $bg_rc, part '$part': $(cat "$work/bg.err")"
    fi
    run_json --resume "$psrc" "$pdst"
    hold_stop
    local resumed
    resumed=$(json_get "$work/last.json" resumed_bytes)
    if ((rc == 0)) && [[ -n "$resumed" && "$resumed" != 0 ]] && cmp -s "$lsrc" "$ldst"; then
        pass "$what: --resume continued at $resumed and completed"
    else
        fail "$what: --resume exit $rc, resumed '$resumed': $(cat "$work/last.err")"
    fi
}
resume_case "upload" "$share/up" "$work/$big" "$url/up/$big" "$work/$big" "$share/up/$big"
resume_case "download" "$work/dl" "$url/up/$big" "$work/dl/$big" "$share/up/$big" \
    "$work/dl/$big"
left=$(leftovers "$work"; leftovers "$share")
if [[ -z "$left" ]]; then
    pass "nothing left over after the resumed copies"
else
    fail "left over: $left"
fi

finish
