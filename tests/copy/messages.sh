#!/usr/bin/env bash
# Error messages name the user's paths and the cause (run through
# with-server.sh samba), never smbcopy's temporary files: a missing local or
# remote directory ("no such directory"), a name the server refuses
# ("invalid"), a missing share ("no such share"), no password and no
# terminal, and cifs:// or //HOST/SHARE arguments (a hint to write smb://).
#
#   messages.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init messages

hp=$SMBW_TEST_HOST:$SMBW_TEST_PORT
url=smb://$SMBW_TEST_USER@$hp/$SMBW_TEST_SHARE
printf 'data\n' >"$share/f.txt"
printf 'data\n' >"$work/f.txt"

# says WHAT WANT_RC PATTERN ARGS...: one line on stderr matching PATTERN,
# not naming a temporary file.
says() {
    local what=$1 want=$2 pat=$3
    shift 3
    run_json "$@"
    if ((rc == want)) && grep -q -- "$pat" "$work/last.err" && ! grep -q "smbcopy\.part" "$work/last.err" &&
        (($(wc -l <"$work/last.err") == 1)); then
        pass "$what: $(cat "$work/last.err")"
    else
        fail "$what: exit $rc (want $want), want '$pat': $(cat "$work/last.err")"
    fi
}
says "download into a missing directory" 2 "no such directory $work/nodir" \
    "$url/f.txt" "$work/nodir/new.txt"
says "upload into a missing directory" 5 "no such directory smb://$hp/$SMBW_TEST_SHARE/nodir" \
    "$work/f.txt" "$url/nodir/new.txt"
says "upload to a name the server refuses" 5 "refused the name as invalid" \
    "$work/f.txt" "$url/bad%3Aname.txt"
says "missing share" 5 "no such share" "$work/f.txt" "smb://$SMBW_TEST_USER@$hp/noshare/x.txt"
says "cifs:// URL" 1 "smb://" "$work/f.txt" "cifs://$hp/$SMBW_TEST_SHARE/x.txt"
says "//HOST/SHARE path" 1 "smb://" "$work/f.txt" "//$SMBW_TEST_HOST/$SMBW_TEST_SHARE/x.txt"

# No password anywhere and no terminal to ask on.
set +e
env -u SMB_PASSWORD setsid "$smbcopy" -q "$url/f.txt" "$work/np.txt" </dev/null >/dev/null \
    2>"$work/np.err"
rc=$?
set -e
if ((rc == 4)) && grep -q "no password given and no terminal to ask on" "$work/np.err"; then
    pass "no password, no terminal: $(cat "$work/np.err")"
else
    fail "no password, no terminal: exit $rc: $(cat "$work/np.err")"
fi
if [[ -z "$(leftovers "$work"; leftovers "$share")" ]]; then
    pass "nothing left over"
else
    fail "left over: $(leftovers "$work"; leftovers "$share")"
fi

finish
