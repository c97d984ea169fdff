#!/usr/bin/env bash
# Source and destination the same file (run through with-server.sh samba):
# the same URL, another spelling of it (case on a case-insensitive share,
# "localhost" for 127.0.0.1, DST as the directory), the same local path in
# another spelling, a hard link. Each is refused as cp does: "... are the
# same file", exit 1, the file untouched (same inode, same content) and
# nothing left over. Two different files still copy.
# A directory copied into itself (-r), as cp refuses it: DST inside SRC, DST
# an existing directory holding SRC (the copy would be SRC/SRC), DST inside
# SRC through another spelling (case, a symbolic link on the server, "..",
# the share root as SRC); "cannot copy a directory, SRC, into itself, DST"
# (or "... are the same directory"), exit 1, nothing written. A directory
# copied next to itself or to another share still copies.
#
#   samefile.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init samefile

u=$SMBW_TEST_USER
p=$SMBW_TEST_PORT
s=$SMBW_TEST_SHARE
make_random "$share/same.bin" $((1 << 20))
make_random "$work/same.bin" $((1 << 20))
ln "$work/same.bin" "$work/hardlink.bin"
rsum=$(sha "$share/same.bin")
lsum=$(sha "$work/same.bin")
rino=$(stat -c %i "$share/same.bin")
lino=$(stat -c %i "$work/same.bin")

# refused WHAT SRC DST
refused() {
    local what=$1
    run_json "$2" "$3"
    if ((rc == 1)) && grep -q "are the same file" "$work/last.err" &&
        [[ "$(sha "$share/same.bin")" == "$rsum" && "$(stat -c %i "$share/same.bin")" == "$rino" ]] &&
        [[ "$(sha "$work/same.bin")" == "$lsum" && "$(stat -c %i "$work/same.bin")" == "$lino" ]] &&
        [[ -z "$(leftovers "$share"; leftovers "$work")" ]]; then
        pass "$what: refused: $(cat "$work/last.err")"
    else
        fail "$what: exit $rc: $(cat "$work/last.err")"
    fi
}
refused "same URL" "smb://$u@127.0.0.1:$p/$s/same.bin" "smb://$u@127.0.0.1:$p/$s/same.bin"
refused "URL in another case" "smb://$u@127.0.0.1:$p/$s/same.bin" "smb://$u@127.0.0.1:$p/$s/SAME.BIN"
refused "localhost vs 127.0.0.1" "smb://$u@127.0.0.1:$p/$s/same.bin" "smb://$u@localhost:$p/$s/same.bin"
refused "DST the directory" "smb://$u@127.0.0.1:$p/$s/same.bin" "smb://$u@127.0.0.1:$p/$s/"
refused "same local path" "$work/same.bin" "$work/./same.bin"
refused "local DST the directory" "$work/same.bin" "$work/"
refused "hard link" "$work/same.bin" "$work/hardlink.bin"

# Different files still copy.
run_json "smb://$u@127.0.0.1:$p/$s/same.bin" "smb://$u@localhost:$p/$s/other.bin"
if ((rc == 0)) && cmp -s "$share/same.bin" "$share/other.bin"; then
    pass "different files on one server copy"
else
    fail "different files: exit $rc: $(cat "$work/last.err")"
fi
run_json "$work/same.bin" "$work/copy.bin"
if ((rc == 0)) && cmp -s "$work/same.bin" "$work/copy.bin"; then
    pass "different local files copy"
else
    fail "different local files: exit $rc: $(cat "$work/last.err")"
fi

# ---- a directory into itself ------------------------------------------------
for root in "$share" "$work"; do
    mkdir -p "$root/d/x"
    echo a >"$root/d/a"
    echo b >"$root/d/x/b"
done
ln -s d "$share/ln"
chown -R "$u:" "$share/d" 2>/dev/null || true
snap() { (cd "$1" && find . ! -name 'last.*' | LC_ALL=C sort); }
before_r=$(snap "$share")
before_l=$(snap "$work")
# into_itself WHAT PATTERN SRC DST
into_itself() {
    local what=$1 pat=$2
    run_json -r "$3" "$4"
    if ((rc == 1)) && grep -q "$pat" "$work/last.err" &&
        [[ "$(snap "$share")" == "$before_r" && "$(snap "$work")" == "$before_l" ]]; then
        pass "$what: refused: $(cat "$work/last.err")"
    else
        fail "$what: exit $rc: $(cat "$work/last.err"); new: $(diff <(echo "$before_r"; echo "$before_l") <(snap "$share"; snap "$work") | grep '^>' | head -5 | tr '\n' ' ')"
    fi
}
b="smb://$u@127.0.0.1:$p/$s"
inside='cannot copy a directory, .*, into itself, '
into_itself "share: DST inside SRC" "$inside" "$b/d" "$b/d/sub"
into_itself "share: DST the directory holding SRC" "$inside.*/d/d\$" "$b/d" "$b/d"
into_itself "share: DST inside SRC in another case" "$inside" "$b/d" "$b/D/X/sub"
into_itself "share: DST inside SRC through a link" "$inside" "$b/d" "$b/ln/sub"
into_itself "share: SRC a link, DST inside its target" "$inside" "$b/ln" "$b/d/x/sub"
into_itself "share: SRC the share root" "$inside" "$b" "$b/d/sub"
into_itself "share: DST SRC itself" "are the same directory" "$b/d" "$b/"
into_itself "share: localhost for 127.0.0.1" "$inside" "$b/d" "smb://$u@localhost:$p/$s/d/sub"
into_itself "local: DST inside SRC" "$inside" "$work/d" "$work/d/sub"
into_itself "local: DST the directory holding SRC" "$inside" "$work/d" "$work/d"
into_itself "local: DST inside SRC through .." "$inside" "$work/d" "$work/d/x/../sub"
into_itself "local: DST SRC itself" "are the same directory" "$work/d/x" "$work/d"
run_json -r "$b/d" "$b/e"
if ((rc == 0)) && diff -r "$share/d" "$share/e" >/dev/null; then
    pass "a directory next to itself on the share copies"
else
    fail "a directory next to itself: exit $rc: $(cat "$work/last.err")"
fi
run_json -r "$b/d" "smb://$u@127.0.0.1:$p/$SMBW_TEST_SHARE2/d"
if ((rc == 0)) && diff -r "$share/d" "$SMBW_TEST_SHARE2_PATH/d" >/dev/null; then
    pass "a directory to another share of the server copies"
else
    fail "a directory to another share: exit $rc: $(cat "$work/last.err")"
fi
run_json -r "$work/d" "$work/e"
if ((rc == 0)) && diff -r "$work/d" "$work/e" >/dev/null; then
    pass "a local directory next to itself copies"
else
    fail "a local directory next to itself: exit $rc: $(cat "$work/last.err")"
fi

finish
