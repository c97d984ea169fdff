#!/usr/bin/env bash
# Source and destination the same file (run through with-server.sh samba):
# the same URL, another spelling of it (case on a case-insensitive share,
# "localhost" for 127.0.0.1, DST as the directory), the same local path in
# another spelling, a hard link. Each is refused as cp does: "... are the
# same file", exit 1, the file untouched (same inode, same content) and
# nothing left over. Two different files still copy.
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

finish
