#!/usr/bin/env bash
# Read-only and hard-linked destinations (run through with-server.sh samba).
# A read-only destination (a local file whose owner has no write permission,
# a file on the share with the DOS read-only attribute) is not replaced
# without -f: "read-only", exit 2 (a failed file, exit 7, in a tree), the
# file untouched; with -f it is replaced. A local destination with another
# hard link is replaced under its name with a warning that the other link
# keeps the old data.
#
#   readonly.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init readonly

printf 'new data\n' >"$share/new.txt"
printf 'new data\n' >"$work/new.txt"

# 1. A local 0444 file.
printf 'old\n' >"$work/ro.txt"
chmod 0444 "$work/ro.txt"
run_json "$url/new.txt" "$work/ro.txt"
if ((rc == 2)) && grep -q "read-only" "$work/last.err" && [[ "$(cat "$work/ro.txt")" == old ]]; then
    pass "local 0444: refused: $(cat "$work/last.err")"
else
    fail "local 0444: exit $rc, content $(cat "$work/ro.txt"): $(cat "$work/last.err")"
fi
run_json -f "$url/new.txt" "$work/ro.txt"
if ((rc == 0)) && cmp -s "$share/new.txt" "$work/ro.txt"; then
    pass "local 0444 with -f: replaced"
else
    fail "local 0444 with -f: exit $rc: $(cat "$work/last.err")"
fi

# 2. A local file with another hard link.
printf 'old\n' >"$work/linked.txt"
ln "$work/linked.txt" "$work/other-link.txt"
set +e
"$smbcopy" --no-progress "$url/new.txt" "$work/linked.txt" </dev/null >/dev/null 2>"$work/link.err"
rc=$?
set -e
if ((rc == 0)) && grep -q "has 2 hard links" "$work/link.err" &&
    cmp -s "$share/new.txt" "$work/linked.txt" && [[ "$(cat "$work/other-link.txt")" == old ]]; then
    pass "hard-linked destination: replaced with a warning: $(cat "$work/link.err")"
else
    fail "hard-linked destination: exit $rc: $(cat "$work/link.err")"
fi

# 3. A file on the share with the DOS read-only attribute.
printf 'old\n' >"$share/ro.txt"
chown --reference="$share" "$share/ro.txt"
smbclient "//$SMBW_TEST_HOST/$SMBW_TEST_SHARE" -p "$SMBW_TEST_PORT" \
    -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" -c 'setmode ro.txt +r' >/dev/null 2>&1
if smbclient "//$SMBW_TEST_HOST/$SMBW_TEST_SHARE" -p "$SMBW_TEST_PORT" \
    -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" -c 'allinfo ro.txt' 2>/dev/null | grep -q 'attributes: R'; then
    pass "share file marked read-only"
else
    fail "could not mark the share file read-only"
fi
run_json "$work/new.txt" "$url/ro.txt"
if ((rc == 2)) && grep -q "read-only" "$work/last.err" && [[ "$(cat "$share/ro.txt")" == old ]]; then
    pass "share read-only attribute: refused: $(cat "$work/last.err")"
else
    fail "share read-only attribute: exit $rc, content $(cat "$share/ro.txt"): $(cat "$work/last.err")"
fi
run_json -f "$work/new.txt" "$url/ro.txt"
if ((rc == 0)) && cmp -s "$work/new.txt" "$share/ro.txt"; then
    pass "share read-only attribute with -f: replaced"
else
    fail "share read-only attribute with -f: exit $rc: $(cat "$work/last.err")"
fi

# 4. In a tree: the read-only file fails (exit 7), the rest is copied.
mkdir -p "$work/tree" "$work/dl/tree"
printf 'a\n' >"$work/tree/a.txt"
printf 'b\n' >"$work/tree/b.txt"
run_json -r "$work/tree" "$url/"
printf 'old\n' >"$work/dl/tree/a.txt"
chmod 0444 "$work/dl/tree/a.txt"
run_json -r "$url/tree" "$work/dl/"
if ((rc == 7)) && [[ "$(cat "$work/dl/tree/a.txt")" == old ]] &&
    cmp -s "$work/tree/b.txt" "$work/dl/tree/b.txt"; then
    pass "tree: the read-only file failed (exit 7), the rest copied"
else
    fail "tree: exit $rc: $(cat "$work/last.err")"
fi
if [[ -z "$(leftovers "$work"; leftovers "$share")" ]]; then
    pass "nothing left over"
else
    fail "left over: $(leftovers "$work"; leftovers "$share")"
fi

finish
