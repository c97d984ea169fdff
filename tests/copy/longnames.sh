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
# shellcheck source=tests/copy/common.sh
source "$here/common.sh"
need_smbcopy "${1:-}"
need_env SMBW_TEST_HOST SMBW_TEST_PORT SMBW_TEST_USER SMBW_TEST_PASS SMBW_TEST_SHARE \
    SMBW_TEST_SHARE_PATH

work=$(mktemp -d "${TMPDIR:-/tmp}/copy-longnames.XXXXXX")
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
# interrupt DIR ARGS...: starts a slow copy, waits for a record in DIR with
# progress, sends SIGINT, waits (bg_rc: 999 when it hung).
interrupt() {
    local dir=$1 i d= rec
    shift
    "$smbcopy" -q --resume --depth=1 --chunk-size=4K "$@" </dev/null >"$work/bg.out" \
        2>"$work/bg.err" &
    bg=$!
    for ((i = 0; i < 300; i++)); do
        rec=$(find "$dir" -maxdepth 1 -name '*.smbcopy.state' | head -1)
        d=$(sed -n 's/^done \([0-9]\{20\}\)$/\1/p' "$rec" 2>/dev/null || true)
        [[ -n "$d" ]] && ((10#$d > 0)) && break
        sleep 0.1
    done
    kill -INT "$bg" 2>/dev/null || true
    bg_rc=999
    for ((i = 0; i < 100; i++)); do
        kill -0 "$bg" 2>/dev/null || break
        sleep 0.1
    done
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
    run_json --resume "$src" "$dst"
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
