#!/usr/bin/env bash
# Names that differ only in case (issue 9): a case-insensitive destination
# cannot hold them apart, so the second one is reported, counted as failed,
# listed in --json "collisions", the exit status is 7, and nothing the run
# wrote is overwritten. A case-sensitive destination copies both.
# Run through with-server.sh samba with SAMBA_EXTRA_SHARE2='case sensitive = yes':
# share1 is Samba's default (case-insensitive), share2 case-sensitive.
#
#   collisions.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init collide SMBW_TEST_SHARE2 SMBW_TEST_SHARE2_PATH
ci=$SMBW_TEST_SHARE_PATH   # case-insensitive share
cs=$SMBW_TEST_SHARE2_PATH  # case-sensitive share

# The tree: three case-only pairs (files, directories, non-ASCII names) among
# ordinary files. In byte order the upper-case spelling comes first, so the
# lower-case one is the second of each pair.
src=$work/src
mkdir -p "$src/inc/netfilter" "$src/inc/Dir" "$src/inc/dir" "$src/plain/sub"
echo "upper CONNMARK" >"$src/inc/netfilter/xt_CONNMARK.h"
echo "lower connmark, a longer text" >"$src/inc/netfilter/xt_connmark.h"
echo "dscp" >"$src/inc/netfilter/xt_DSCP.h"
echo "in Dir" >"$src/inc/Dir/x"
echo "in dir" >"$src/inc/dir/y"
echo "CAFE upper" >"$src/inc/CAF$(printf '\xc3\x89')"
echo "cafe lower" >"$src/inc/caf$(printf '\xc3\xa9')"
for i in 1 2 3 4 5; do
    head -c $((i * 1000)) /dev/urandom >"$src/plain/f$i"
    head -c $((i * 333)) /dev/urandom >"$src/plain/sub/g$i"
done
want_collisions=$(printf '%s\n' "inc/caf$(printf '\xc3\xa9')" inc/dir inc/netfilter/xt_connmark.h)

# check_collided WHAT DST_DIR [SRC_PREFIX]: after a copy of $src's tree into
# DST_DIR on a case-insensitive destination.
check_collided() {
    local what=$1 d=$2
    if ((rc == 7)); then
        pass "$what: exit 7"
    else
        fail "$what: exit $rc (want 7): $(head -c 1500 "$work/last.err")"
    fi
    local n
    n=$(grep -c 'not copied: its name collides with' "$work/last.err" || true)
    if ((n == 3)); then
        pass "$what: three collisions reported"
    else
        fail "$what: $n collision messages: $(cat "$work/last.err")"
    fi
    if grep -q "xt_connmark.h: not copied: its name collides with .*xt_CONNMARK.h on the destination" \
        "$work/last.err"; then
        pass "$what: message names both files"
    else
        fail "$what: message: $(cat "$work/last.err")"
    fi
    local got
    got=$("$py" - "$work/last.json" <<'PY'
import json, sys
obj = json.loads(open(sys.argv[1], encoding="utf-8").read().strip().splitlines()[-1])
for c in sorted(obj["collisions"]):
    i = c.find("inc/")
    print(c[i:] if i >= 0 else c)
print("failed=%d" % obj["failed"])
PY
)
    if [[ "$got" == "$want_collisions"$'\n'"failed=3" ]]; then
        pass "$what: --json lists the three, failed 3"
    else
        fail "$what: --json collisions/failed: $got"
    fi
    # The first of each pair is whole and was not overwritten.
    same_file "$what: xt_CONNMARK.h" "$src/inc/netfilter/xt_CONNMARK.h" \
        "$d/inc/netfilter/xt_CONNMARK.h"
    same_file "$what: CAFÉ" "$src/inc/CAF$(printf '\xc3\x89')" "$d/inc/CAF$(printf '\xc3\x89')"
    same_file "$what: Dir/x" "$src/inc/Dir/x" "$d/inc/Dir/x"
    if [[ ! -e "$d/inc/Dir/y" ]]; then
        pass "$what: nothing of the colliding directory was merged in"
    else
        fail "$what: inc/Dir/y exists"
    fi
    same_file "$what: xt_DSCP.h" "$src/inc/netfilter/xt_DSCP.h" "$d/inc/netfilter/xt_DSCP.h"
    if diff -r "$src/plain" "$d/plain" >"$work/diff.out" 2>&1; then
        pass "$what: the rest of the tree is identical"
    else
        fail "$what: $(head -n 5 "$work/diff.out")"
    fi
    if [[ -z "$(leftovers "$d")" ]]; then
        pass "$what: no leftovers"
    else
        fail "$what: leftovers: $(leftovers "$d" | head -n 3)"
    fi
}

# 1. local -> case-insensitive share (into the share root: share1/src),
#    twice (the second run meets its own earlier copies: still no overwrite
#    of the first of a pair).
run_json -r "$src" "$base/$SMBW_TEST_SHARE/"
check_collided "local->smb" "$ci/src"
run_json -r "$src" "$base/$SMBW_TEST_SHARE/"
check_collided "local->smb again" "$ci/src"

# check_all WHAT DST_DIR: every file copied, nothing reported.
check_all() {
    local what=$1 d=$2
    if ((rc == 0)) && [[ "$(json_get "$work/last.json" files)" == 17 ]] &&
        ! grep -q collides "$work/last.err"; then
        pass "$what: exit 0, 17 files"
    else
        fail "$what: exit $rc, files $(json_get "$work/last.json" files): $(head -c 1500 "$work/last.err")"
    fi
    if diff -r "$src" "$d" >"$work/diff.out" 2>&1; then
        pass "$what: identical"
    else
        fail "$what: $(head -n 5 "$work/diff.out")"
    fi
}

# 2. local -> case-sensitive share: every file copied, twice (files already
#    there under both spellings are no collision).
for round in 1 2; do
    run_json -r "$src" "$base/$SMBW_TEST_SHARE2/"
    check_all "local->case-sensitive smb (round $round)" "$cs/src"
done

# 3. smb (case-sensitive share2, holding both spellings) -> smb
#    (case-insensitive share1), server-side.
run_json -r "$base/$SMBW_TEST_SHARE2/src" "$base/$SMBW_TEST_SHARE/t3"
check_collided "smb->smb" "$ci/t3"

# 4. smb (case-sensitive) -> local (ext4, case-sensitive): both spellings.
#    (This kernel mounts no case-insensitive local file system to test the
#    other way: no vfat, no ext4 casefold; the check is the same one, by
#    device and inode instead of the share's IndexNumber.)
run_json -r "$base/$SMBW_TEST_SHARE2/src" "$work/t4"
check_all "smb->local" "$work/t4"

finish
