#!/usr/bin/env bash
# smbconform's credentials, each way issue 11 names (run through
# tests/security/with-kdc.sh: a KDC and a Kerberos-accepting Samba):
#
#   smbconform-creds.sh SMBCONFORM
#
# -U with SMB_PASSWORD, -A FILE, the password in the URL, the prompt (on a
# pty, through script(1)), and -k from the credential cache: each runs one
# case that passes and reports how it authenticated (--json server.auth);
# a wrong password, no password without a terminal, and -k without a ticket
# exit 3 (the run could not start) without running a case.
set -euo pipefail

bin=${1:?usage: $0 SMBCONFORM}
: "${SMBW_TEST_HOST:?run through with-kdc.sh}" "${SMBW_TEST_PORT:?}" "${KRB5CCNAME:?}"
command -v script >/dev/null || {
    echo "FAIL: script(1) not found (util-linux)" >&2
    exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
bad() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}
hp=$SMBW_TEST_HOST:$SMBW_TEST_PORT
url=smb://$hp/$SMBW_TEST_SHARE
case=resume_key_stable

# ok NAME AUTH CMD...: exit 0, the one case passed, server.auth = AUTH.
ok() {
    local name=$1 auth=$2 rc=0
    shift 2
    "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null || rc=$?
    if ((rc != 0)); then
        bad "$name: exit $rc: $(tail -n 3 "$tmp/$name.err")"
        return
    fi
    python3 - "$tmp/$name.out" "$auth" "$name" <<'EOF' || fails=$((fails + 1))
import json, sys
out, auth, name = sys.argv[1:]
text = open(out).read()
rep = json.loads(text[text.index("{"):])
c = rep["cases"]
if len(c) != 1 or c[0]["result"] != "pass" or rep["server"]["auth"] != auth:
    print(f"FAIL: {name}: expected one passing case as {auth}: {c} {rep['server'].get('auth')}",
          file=sys.stderr)
    sys.exit(1)
EOF
}
# refused NAME CMD...: exit 3, no case run.
refused() {
    local name=$1 rc=0
    shift
    "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null || rc=$?
    ((rc == 3)) || bad "$name: exit $rc, expected 3 ($(tail -n 2 "$tmp/$name.err"))"
    ! grep -q "PASS\|FAIL" "$tmp/$name.out" || bad "$name: a case ran"
}

ok user-env NTLMv2 env SMB_PASSWORD="$SMBW_TEST_PASS" \
    "$bin" -U "$SMBW_TEST_USER" --only=$case --json "$url"
printf 'username = %s\npassword = %s\n' "$SMBW_TEST_USER" "$SMBW_TEST_PASS" >"$tmp/auth"
chmod 0600 "$tmp/auth"
ok authfile NTLMv2 env -u SMB_PASSWORD "$bin" -A "$tmp/auth" --only=$case --json "$url"
ok url-password NTLMv2 env -u SMB_PASSWORD \
    "$bin" --only=$case --json "smb://$SMBW_TEST_USER:$SMBW_TEST_PASS@$hp/$SMBW_TEST_SHARE"
# The prompt needs a terminal: script(1) gives one, the password comes on it.
rc=0
printf '%s\n' "$SMBW_TEST_PASS" | env -u SMB_PASSWORD timeout 120 script -qec \
    "$(printf '%q ' "$bin" -U "$SMBW_TEST_USER" --only=$case --json "$url")" /dev/null \
    >"$tmp/prompt.out" 2>&1 || rc=$?
if ((rc != 0)) || ! grep -q '"result": *"pass"' "$tmp/prompt.out"; then
    bad "the password prompt: exit $rc: $(tail -n 3 "$tmp/prompt.out")"
fi
# -k: the service principal cifs/localhost (the URL's host).
ok kerberos Kerberos env -u SMB_PASSWORD \
    "$bin" -k --only=$case --json "smb://localhost:$SMBW_TEST_PORT/$SMBW_TEST_SHARE"

refused wrong-password env SMB_PASSWORD=wrong-password "$bin" -U "$SMBW_TEST_USER" --only=$case "$url"
refused no-password-no-tty env -u SMB_PASSWORD "$bin" -U "$SMBW_TEST_USER" --only=$case "$url"
refused kerberos-no-ticket env -u SMB_PASSWORD KRB5CCNAME=FILE:"$tmp/no-such-ccache" \
    "$bin" -k --only=$case "smb://localhost:$SMBW_TEST_PORT/$SMBW_TEST_SHARE"

if ((fails > 0)); then
    echo "smbconform-creds.sh: $fails check(s) failed" >&2
    exit 1
fi
echo "smbconform-creds.sh: all checks passed"
