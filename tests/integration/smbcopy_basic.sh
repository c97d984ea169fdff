#!/usr/bin/env bash
# smbcopy end to end against the server described by SMBW_TEST_* (run through
# tests/testbed/with-server.sh): local->smb, smb->local, smb->smb (same share
# and across shares) with identical checksums, --json fields, credentials from
# SMB_PASSWORD, -U and -A, and clean failures (wrong password, missing source)
# that leave no destination behind.
#
#   smbcopy_basic.sh PATH/TO/smbcopy
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init basic SMBW_TEST_SHARE2 SMBW_TEST_SHARE2_PATH
listing() {
    (cd "$1" && find . -mindepth 1 | LC_ALL=C sort)
}

# --help / --version
if "$smbcopy" --help >"$work/help.out" 2>&1 && grep -q -- '--json' "$work/help.out"; then
    pass "--help"
else
    fail "--help did not exit 0 or does not mention --json"
fi
if "$smbcopy" --version >"$work/version.out" 2>&1 && [[ -s "$work/version.out" ]]; then
    pass "--version"
else
    fail "--version"
fi

# 1. local -> smb (odd size, several MiB)
head -c $((5 * 1024 * 1024 + 4321)) /dev/urandom >"$work/src.bin"
if "$smbcopy" -q "$work/src.bin" "$url/up.bin"; then
    pass "local->smb exit 0"
else
    fail "local->smb exited $?"
fi
same_file "local->smb" "$work/src.bin" "$share/up.bin"

# 2. smb -> local
if "$smbcopy" -q "$url/up.bin" "$work/down.bin"; then
    pass "smb->local exit 0"
else
    fail "smb->local exited $?"
fi
same_file "smb->local" "$work/src.bin" "$work/down.bin"

# 3. smb -> smb, same share, with --json
if "$smbcopy" --json "$url/up.bin" "$url/copy.bin" >"$work/json.out" 2>"$work/json.err"; then
    pass "smb->smb exit 0"
else
    fail "smb->smb exited $?: $(cat "$work/json.err")"
fi
same_file "smb->smb" "$work/src.bin" "$share/copy.bin"
size=$(stat -c %s "$work/src.bin")
if "$py" - "$work/json.out" "$size" <<'PY'; then
import json, sys
text = open(sys.argv[1], encoding="utf-8").read().strip()
obj = json.loads(text.splitlines()[-1]) if text else None
assert isinstance(obj, dict), "no JSON object on stdout: %r" % text
for key in ("method", "bytes", "files", "seconds", "dialect"):
    assert key in obj, "missing %s in %s" % (key, obj)
assert isinstance(obj["method"], str) and obj["method"], obj
assert obj["bytes"] == int(sys.argv[2]), obj
assert obj["files"] == 1, obj
assert isinstance(obj["seconds"], (int, float)) and obj["seconds"] >= 0, obj
assert obj["dialect"] in ("SMB2_02", "SMB2_10", "SMB3_00", "SMB3_02", "SMB3_11"), obj
print("json:", obj)
PY
    pass "--json has method/bytes/files/seconds/dialect"
else
    fail "--json output: $(cat "$work/json.out")"
fi

# 4. smb -> smb across shares of one server (Samba always has share2)
url2=$base/$SMBW_TEST_SHARE2
if "$smbcopy" -q "$url/up.bin" "$url2/other.bin"; then
    pass "smb->smb across shares exit 0"
else
    fail "smb->smb across shares exited $?"
fi
same_file "smb->smb across shares" "$work/src.bin" "$SMBW_TEST_SHARE2_PATH/other.bin"

# 5. a 0-byte file, credentials through -U instead of SMB_PASSWORD
: >"$work/empty.bin"
if env -u SMB_PASSWORD "$smbcopy" -q -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" \
    "$work/empty.bin" "smb://$SMBW_TEST_HOST:$SMBW_TEST_PORT/$SMBW_TEST_SHARE/empty.bin" \
    </dev/null; then
    pass "0-byte local->smb with -U"
else
    fail "0-byte local->smb with -U exited $?"
fi
if [[ -f "$share/empty.bin" && ! -s "$share/empty.bin" ]]; then
    pass "0-byte file on the server"
else
    fail "0-byte file missing or not empty on the server"
fi

# 6. credentials from an authentication file (smbclient's format)
printf 'username = %s\npassword = %s\n' "$SMBW_TEST_USER" "$SMBW_TEST_PASS" >"$work/auth"
chmod 600 "$work/auth"
if env -u SMB_PASSWORD "$smbcopy" -q -A "$work/auth" \
    "smb://$SMBW_TEST_HOST:$SMBW_TEST_PORT/$SMBW_TEST_SHARE/up.bin" "$work/down-a.bin" \
    </dev/null; then
    pass "smb->local with -A"
else
    fail "smb->local with -A exited $?"
fi
same_file "smb->local with -A" "$work/src.bin" "$work/down-a.bin"

# expect_clean_failure WHAT WANT_EXIT LOCAL_DIR_TO_WATCH CMD...: exit status
# WANT_EXIT (the README's table), exactly one "smbcopy: ..." line on stderr,
# and the watched directory unchanged.
expect_clean_failure() {
    local what=$1 want=$2 watch=$3 before after rc
    shift 3
    before=$(listing "$watch")
    set +e
    "$@" >"$work/fail.out" 2>"$work/fail.err" </dev/null
    rc=$?
    set -e
    after=$(listing "$watch")
    if ((rc == want)); then
        pass "$what: exit status $rc"
    else
        fail "$what: exit status $rc, want $want"
    fi
    if [[ "$(wc -l <"$work/fail.err")" -eq 1 ]] && grep -q '^smbcopy: ' "$work/fail.err"; then
        pass "$what: one line on stderr: $(cat "$work/fail.err")"
    else
        fail "$what: stderr is not one 'smbcopy: ...' line: $(cat "$work/fail.err")"
    fi
    if [[ "$before" == "$after" ]]; then
        pass "$what: nothing left behind"
    else
        fail "$what: destination directory changed: $(diff <(echo "$before") <(echo "$after") || true)"
    fi
}

# 7. wrong password: nothing is created on the share
expect_clean_failure "wrong password" 4 "$share" \
    env SMB_PASSWORD=not-the-password "$smbcopy" -q "$work/src.bin" "$url/nope.bin"
if [[ -e "$share/nope.bin" ]]; then
    fail "wrong password: nope.bin exists"
else
    pass "wrong password: no nope.bin"
fi

# 8. missing sources, both directions
mkdir "$work/dst"
expect_clean_failure "missing smb source" 5 "$work/dst" \
    "$smbcopy" -q "$url/does-not-exist.bin" "$work/dst/out.bin"
expect_clean_failure "missing local source" 2 "$share" \
    "$smbcopy" -q "$work/does-not-exist.bin" "$url/out.bin"

# 9. a port nobody listens on fails cleanly too (exit 3): a socket bound to it
# but never listening is held for the rest of the script, so the port is
# certainly closed and nobody else can take it.
coproc HOLD { "$py" -c 'import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
sys.stdin.read()'; }
read -r closed_port <&"${HOLD[0]}"
expect_clean_failure "connection refused" 3 "$work/dst" \
    "$smbcopy" -q "smb://$SMBW_TEST_USER@127.0.0.1:$closed_port/$SMBW_TEST_SHARE/up.bin" \
    "$work/dst/x.bin"

# 10. --no-sync: the same result, in both directions
if "$smbcopy" -q --no-sync "$work/src.bin" "$url/nosync.bin" &&
    "$smbcopy" -q --no-sync "$url/nosync.bin" "$work/nosync-back.bin"; then
    same_file "--no-sync upload" "$work/src.bin" "$share/nosync.bin"
    same_file "--no-sync download" "$work/src.bin" "$work/nosync-back.bin"
else
    fail "--no-sync copies failed"
fi

# 11. times are preserved in every direction, and --no-preserve opts out
mtime() { stat -c %Y "$1"; }
old=978307200 # 2001-01-01
head -c 70000 /dev/urandom >"$work/old.bin"
touch -d @"$old" "$work/old.bin"
if ! { "$smbcopy" -q "$work/old.bin" "$url/old-up.bin" &&
    "$smbcopy" -q "$url/old-up.bin" "$url/old-ss.bin" &&
    "$smbcopy" -q "$url/old-ss.bin" "$work/old-down.bin" &&
    "$smbcopy" -q --no-preserve "$url/old-ss.bin" "$url/old-np.bin" &&
    "$smbcopy" -q --no-preserve "$work/old.bin" "$work/old-np-local.bin"; }; then
    fail "copies for the time checks failed"
fi
for f in "$share/old-up.bin" "$share/old-ss.bin" "$work/old-down.bin"; do
    if [[ -f "$f" && "$(mtime "$f")" == "$old" ]]; then
        pass "modification time preserved: ${f##*/}"
    else
        fail "modification time not preserved: ${f##*/} ($(mtime "$f" 2>/dev/null || echo missing))"
    fi
done
for f in "$share/old-np.bin" "$work/old-np-local.bin"; do
    if [[ -f "$f" && "$(mtime "$f")" != "$old" ]]; then
        pass "--no-preserve leaves the time alone: ${f##*/}"
    else
        fail "--no-preserve still copied the time of ${f##*/}"
    fi
done
same_file "--no-preserve contents" "$work/old.bin" "$share/old-np.bin"

finish
