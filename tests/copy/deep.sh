#!/usr/bin/env bash
# A tree 200 directories deep (run through with-server.sh samba), with a
# file at every level: -r copies all of it in every direction (upload,
# server-side across shares, download), as cp -r does, and the copies are
# identical (diff -r).
#
#   deep.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init deep SMBW_TEST_SHARE2 SMBW_TEST_SHARE2_PATH

share2=$SMBW_TEST_SHARE2_PATH
levels=200

d=$work/deep
for ((i = 1; i <= levels; i++)); do
    d=$d/d$i
    mkdir -p "$d"
    printf 'level %d\n' "$i" >"$d/f$i.txt"
    # a sibling at some levels, so the walk comes back up and goes on
    if ((i % 50 == 0)); then
        mkdir "$d/../side$i"
        printf 'side %d\n' "$i" >"$d/../side$i/s.txt"
    fi
done
nfiles=$(find "$work/deep" -type f | wc -l)

# check WHAT SRC_DIR COPY_DIR
check() {
    local what=$1 n
    n=$(json_get "$work/last.json" files)
    if ((rc == 0)) && [[ "$n" == "$nfiles" ]] && diff -r "$2" "$3" >/dev/null; then
        pass "$what: $n files, $levels levels, identical"
    else
        fail "$what: exit $rc, $n of $nfiles files: $(head -c 600 "$work/last.err")"
    fi
}
run_json -r "$work/deep" "$base/$SMBW_TEST_SHARE/"
check "upload" "$work/deep" "$share/deep"
run_json -r "$base/$SMBW_TEST_SHARE/deep" "$base/$SMBW_TEST_SHARE2/"
check "server-side" "$share/deep" "$share2/deep"
mkdir "$work/dl"
run_json -r "$base/$SMBW_TEST_SHARE2/deep" "$work/dl/"
check "download" "$work/deep" "$work/dl/deep"
left=$(leftovers "$work"; leftovers "$share"; leftovers "$share2")
if [[ -z "$left" ]]; then
    pass "nothing left over"
else
    fail "left over: $left"
fi

finish
