# Helpers for the server-side copy tests (sourced, not executed). The tests
# run through tests/testbed/with-server.sh, which exports SMBW_TEST_*.
# shellcheck shell=bash

failures=0
checks=0
pass() {
    checks=$((checks + 1))
    echo "ok   $*"
}
fail() {
    checks=$((checks + 1))
    failures=$((failures + 1))
    echo "FAIL $*" >&2
}
finish() {
    echo "$((checks - failures)) of $checks checks passed"
    ((failures == 0 && checks > 0))
}

need_env() {
    local v
    for v in "$@"; do
        [[ -n "${!v:-}" ]] || {
            echo "FAIL: $v is not set (run through tests/testbed/with-server.sh)" >&2
            exit 1
        }
    done
}

# copy_init NAME [VAR...]: the common start of a test run through
# with-server.sh: the server variables (and VARs) must be set; makes $work
# (removed on exit), exports SMB_PASSWORD and sets base (the server's URL),
# url (share1's URL) and share (share1's path).
# shellcheck disable=SC2034 # used by the scripts that source this file
copy_init() {
    local name=$1
    shift
    need_env SMBW_TEST_HOST SMBW_TEST_PORT SMBW_TEST_USER SMBW_TEST_PASS SMBW_TEST_SHARE \
        SMBW_TEST_SHARE_PATH "$@"
    work=$(mktemp -d "${TMPDIR:-/tmp}/copy-$name.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    export SMB_PASSWORD=$SMBW_TEST_PASS
    base=smb://$SMBW_TEST_USER@$SMBW_TEST_HOST:$SMBW_TEST_PORT
    url=$base/$SMBW_TEST_SHARE
    share=$SMBW_TEST_SHARE_PATH
}

need_smbcopy() {
    smbcopy=${1:?usage: $0 PATH/TO/smbcopy}
    [[ -x "$smbcopy" ]] || {
        echo "FAIL: $smbcopy is not an executable" >&2
        exit 1
    }
}

py=python3
[[ -x /usr/bin/python3 ]] && py=/usr/bin/python3

sha() {
    sha256sum <"$1" | cut -d' ' -f1
}

same_file() { # what a b
    if [[ -f "$2" && -f "$3" ]] && cmp -s "$2" "$3"; then
        pass "$1: identical"
    else
        fail "$1: $2 and $3 differ or are missing"
    fi
}

# json_get FILE KEY: a member of the last JSON object in FILE ("" if none).
json_get() {
    "$py" - "$1" "$2" <<'PY'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read().strip()
obj = json.loads(text.splitlines()[-1]) if text else {}
v = obj.get(sys.argv[2], "")
print("null" if v is None else (str(v).lower() if isinstance(v, bool) else v))
PY
}

# Runs smbcopy with --json; sets rc, and leaves stdout/stderr in
# $work/last.json / $work/last.err ($work is set by the test script).
# shellcheck disable=SC2154,SC2034
run_json() {
    set +e
    "$smbcopy" --json -q "$@" >"$work/last.json" 2>"$work/last.err" </dev/null
    rc=$?
    set -e
}

# Random file of SIZE bytes at PATH.
make_random() {
    head -c "$2" /dev/urandom >"$1"
}

# Leftovers of smbcopy (temporary or state files) under DIR, one per line.
leftovers() {
    find "$1" -name '*.smbcopy.part' -o -name '*.smbcopy.state'
}
