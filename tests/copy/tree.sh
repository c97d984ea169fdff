#!/usr/bin/env bash
# Recursive copies (-r) of a tree of 1,000 small files in nested directories
# (run through with-server.sh samba): local->smb, smb->smb (server-side,
# across shares) and smb->local, each compared with diff -r on the server's
# file system paths, with no temporary or record files left; then the same
# with --connections=2 (the small files over two connections, as -v says).
#
#   tree.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init tree SMBW_TEST_SHARE2 SMBW_TEST_SHARE2_PATH
share2=$SMBW_TEST_SHARE2_PATH

# 1,000 files: 10 top-level files, and 10 directories of 3 levels with
# 11 + 22 + 66 files each (sizes 0 .. ~8 KiB).
"$py" - "$work/tree" <<'PY'
import os, sys
root = sys.argv[1]
rnd = open("/dev/urandom", "rb")
n = 0
def files(d, k):
    global n
    os.makedirs(d, exist_ok=True)
    for i in range(k):
        with open(os.path.join(d, "f%03d.dat" % i), "wb") as f:
            f.write(rnd.read((n * 131) % 8200))
        n += 1
files(root, 10)
for a in range(10):
    files(os.path.join(root, "d%d" % a), 11)
    for b in range(2):
        files(os.path.join(root, "d%d" % a, "s%d" % b), 11)
        for c in range(3):
            files(os.path.join(root, "d%d" % a, "s%d" % b, "t%d" % c), 11)
os.makedirs(os.path.join(root, "empty", "deeper"))
assert n == 1000, n
PY
count=$(find "$work/tree" -type f | wc -l)
if ((count == 1000)); then
    pass "source tree: 1000 files"
else
    fail "source tree: $count files"
fi

# copy_tree WHAT SRC DST SRC_DIR DST_DIR [ARGS...]
copy_tree() {
    local what=$1 src=$2 dst=$3 sdir=$4 ddir=$5 secs files
    shift 5
    run_json -r "$@" "$src" "$dst"
    secs=$(json_get "$work/last.json" seconds)
    files=$(json_get "$work/last.json" files)
    if ((rc == 0)) && [[ "$files" == 1000 ]]; then
        pass "$what: exit 0, 1000 files in $secs s, method $(json_get "$work/last.json" method)"
    else
        fail "$what: exit $rc, files '$files': $(head -c 2000 "$work/last.err")"
    fi
    if diff -r "$sdir" "$ddir" >"$work/diff.out" 2>&1; then
        pass "$what: diff -r finds no difference"
    else
        fail "$what: trees differ: $(head -n 5 "$work/diff.out")"
    fi
    if [[ -z "$(leftovers "$ddir")" ]]; then
        pass "$what: no leftovers"
    else
        fail "$what: leftovers: $(leftovers "$ddir" | head -n 3)"
    fi
}

copy_tree "local->smb" "$work/tree" "$base/$SMBW_TEST_SHARE/tree" "$work/tree" "$share/tree"
copy_tree "smb->smb" "$base/$SMBW_TEST_SHARE/tree" "$base/$SMBW_TEST_SHARE2/tree" \
    "$share/tree" "$share2/tree"
if [[ "$(json_get "$work/last.json" method)" == copychunk ]]; then
    pass "smb->smb: server-side (copychunk)"
else
    fail "smb->smb: method $(json_get "$work/last.json" method)"
fi
copy_tree "smb->local" "$base/$SMBW_TEST_SHARE2/tree" "$work/back" "$share2/tree" "$work/back"
if diff -r "$work/tree" "$work/back" >/dev/null; then
    pass "round trip: identical to the original"
else
    fail "round trip: differs from the original"
fi

# The same three copies with --connections=2: the small files spread over
# two connections (each its own session), -v says how many went over each.
copy_tree2() { # WHAT SRC DST SRC_DIR DST_DIR
    local what="$1, --connections=2"
    run_json_v -r --connections=2 "$2" "$3"
    if ((rc == 0)) && [[ "$(json_get "$work/last.json" files)" == 1000 ]]; then
        pass "$what: exit 0, 1000 files"
    else
        fail "$what: exit $rc, files '$(json_get "$work/last.json" files)': $(grep -v '\[' "$work/last.err" | head -c 2000)"
    fi
    if lanes_used 2; then
        pass "$what: two connections used: $lanes"
    else
        fail "$what: not two connections: $lanes"
    fi
    if diff -r "$4" "$5" >"$work/diff.out" 2>&1 && [[ -z "$(leftovers "$5")" ]]; then
        pass "$what: diff -r finds no difference, no leftovers"
    else
        fail "$what: trees differ or leftovers: $(head -n 5 "$work/diff.out") $(leftovers "$5" | head -n 3)"
    fi
}
copy_tree2 "local->smb" "$work/tree" "$base/$SMBW_TEST_SHARE/tree2" "$work/tree" "$share/tree2"
copy_tree2 "smb->smb" "$base/$SMBW_TEST_SHARE/tree2" "$base/$SMBW_TEST_SHARE2/tree2" \
    "$share/tree2" "$share2/tree2"
if [[ "$(json_get "$work/last.json" method)" == copychunk ]]; then
    pass "smb->smb, --connections=2: server-side (copychunk)"
else
    fail "smb->smb, --connections=2: method $(json_get "$work/last.json" method)"
fi
copy_tree2 "smb->local" "$base/$SMBW_TEST_SHARE2/tree2" "$work/back2" "$share2/tree2" "$work/back2"

finish
