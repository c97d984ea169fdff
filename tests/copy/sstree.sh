#!/usr/bin/env bash
# A tree of small files copied server-side between two shares of one
# server (issue 9): the files that one copychunk chunk carries are in
# flight together (source CREATE with its resume key and the provisional
# destination CREATE sent together, one copychunk, the source's CLOSE, the
# commit), the rest go the one-file way, and nothing of the per-file
# reporting is lost.
# Run through with-server.sh samba with SAMBA_EXTRA_SHARE2='case sensitive = yes':
# the source is on share2 (case-sensitive: it holds a case-only pair apart),
# the destination on share1 (Samba's default, case-insensitive).
#
#   sstree.sh PATH/TO/smbcopy
#
# - The copy is identical to the source on disk (diff -r), but for the
#   second name of a case-only pair, which is reported (exit 7, --json
#   "collisions", failed 1) and not written over the first; empty files,
#   files of exactly 1 MiB (the most one chunk carries) and one byte more
#   (the one-file way) included; times kept.
# - A name the destination share refuses (a file whose name ends with a
#   dot, which Samba lists under a mangled name; and one that it cannot
#   list) ends as the one-file way ends it.
# - --json: method copychunk, files, bytes; a tree of 1 MiB files has under
#   1% of its data on the wire.
# - Several files in flight at once (-vvv trace: requests outstanding at
#   once; one file alone has at most 4: its two opens).
# - With --connections=2 the same, the files over two connections.
# - A server that refuses copychunk: every file still copied (streamed by
#   the one-file way after the first refusal).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init sstree SMBW_TEST_SHARE2 SMBW_TEST_SHARE2_PATH
ci=$SMBW_TEST_SHARE_PATH  # case-insensitive share (destination)
cs=$SMBW_TEST_SHARE2_PATH # case-sensitive share (source)
src=$cs/src
mkdir -p "$src/plain/sub" "$src/empty" "$src/big" "$src/inc/netfilter"
for ((i = 1; i <= 40; i++)); do
    make_random "$src/plain/f$i.txt" $((i * 97))
    touch -d "2012-03-0$((i % 9 + 1)) 1$((i % 10)):00:00" "$src/plain/f$i.txt"
done
for ((i = 1; i <= 8; i++)); do
    make_random "$src/plain/sub/g$i" $((i * 4099))
done
: >"$src/empty/e1"
: >"$src/empty/e2"
: >"$src/empty/.hidden-empty"
make_random "$src/big/at1" $((1 << 20))
make_random "$src/big/at2" $((1 << 20))
make_random "$src/big/over" $(((1 << 20) + 1))
echo "upper CONNMARK" >"$src/inc/netfilter/xt_CONNMARK.h"
echo "lower connmark, a longer text" >"$src/inc/netfilter/xt_connmark.h"
echo "trailing dot" >"$src/inc/dot."
chown -R "$SMBW_TEST_USER:" "$src" 2>/dev/null || true
nfiles=$(find "$src" -type f | wc -l)

# in_flight: the most requests of the last -vvv trace outstanding at once
# (an interim STATUS_PENDING is not an answer).
in_flight() {
    grep -E '\[trace\] (->|<-) ' "$work/trace" | grep -v STATUS_PENDING |
        awk '/\] -> /{n++; if (n > m) m = n} /\] <- /{n--} END{print m + 0}'
}

# 1. The tree, with a -vvv trace.
set +e
"$smbcopy" -vvv --json --no-progress -r "$base/$SMBW_TEST_SHARE2/src" "$url/d1" \
    </dev/null >"$work/last.json" 2>"$work/trace"
rc=$?
set -e
grep -v '\[trace\]' "$work/trace" >"$work/last.err" || true
if ((rc == 7)); then
    pass "tree: exit 7 (one case-only collision)"
else
    fail "tree: exit $rc, wanted 7: $(tail -3 "$work/last.err")"
fi
if grep -q "xt_connmark.h: not copied: its name collides with .*xt_CONNMARK.h" "$work/last.err"; then
    pass "tree: the collision reported: $(grep collides "$work/last.err")"
else
    fail "tree: no collision message: $(cat "$work/last.err")"
fi
files=$(json_get "$work/last.json" files)
failed=$(json_get "$work/last.json" failed)
method=$(json_get "$work/last.json" method)
coll=$(json_get "$work/last.json" collisions)
# Failed: the collision and the trailing-dot name (see 2).
if [[ "$failed" == 2 && "$files" == $((nfiles - 2)) && "$method" == copychunk &&
    "$coll" == *xt_connmark.h* ]]; then
    pass "tree: --json files $files, failed 2, method $method, collisions $coll"
else
    fail "tree: --json files '$files' (wanted $((nfiles - 2))), failed '$failed' (wanted 2), method '$method', collisions '$coll'"
fi
dotmsg=$(grep -v collides "$work/last.err" | grep -i "dot\|~" || true)
if [[ $(wc -l <<<"$dotmsg") == 1 && -n "$dotmsg" ]]; then
    pass "tree: the trailing-dot name reported once: $dotmsg"
else
    fail "tree: trailing-dot name: '$dotmsg'; all: $(cat "$work/last.err")"
fi
# diff -r against the source on disk: only the collided name differs (the
# trailing-dot name is listed mangled by Samba: see 2).
out=$(diff -r "$src" "$ci/d1" 2>&1 || true)
rest=$(grep -v "^Only in $src/inc/netfilter: xt_connmark.h\$" <<<"$out" |
    grep -v "^Only in $src/inc: dot\.\$" | grep -v "^Only in $ci/d1/inc: " || true)
if [[ -z "$rest" ]] && cmp -s "$src/inc/netfilter/xt_CONNMARK.h" "$ci/d1/inc/netfilter/xt_CONNMARK.h"; then
    pass "tree: identical to the source (but the collided name), the first of the pair kept"
else
    fail "tree: differs: $out"
fi
bad=""
for f in "$src"/plain/*.txt; do
    [[ "$(stat -c %Y "$f")" == "$(stat -c %Y "$ci/d1/plain/$(basename "$f")")" ]] || bad+=" $(basename "$f")"
done
if [[ -z "$bad" && -z "$(leftovers "$ci")" ]]; then
    pass "tree: modification times kept, no leftovers"
else
    fail "tree: modification time differs for:$bad, or leftovers: $(leftovers "$ci")"
fi
m=$(in_flight)
if ((m >= 16)); then
    pass "tree: the files in flight together ($m requests outstanding at most)"
else
    fail "tree: at most $m requests outstanding, wanted >= 16 (files one by one?)"
fi

# 1b. The same tree with --connections=2: the small files over two
#     connections (-v says how many went over each), the same outcome.
run_json_v -r --connections=2 "$base/$SMBW_TEST_SHARE2/src" "$url/d2"
if ((rc == 7)) && [[ "$(json_get "$work/last.json" failed)" == 2 &&
    "$(json_get "$work/last.json" files)" == $((nfiles - 2)) &&
    "$(json_get "$work/last.json" collisions)" == *xt_connmark.h* ]] &&
    grep -q "xt_connmark.h: not copied: its name collides with .*xt_CONNMARK.h" "$work/last.err"; then
    pass "--connections=2: exit 7, the collision reported, files $((nfiles - 2)), failed 2"
else
    fail "--connections=2: exit $rc, $(cat "$work/last.json"): $(grep -v '\[' "$work/last.err")"
fi
if lanes_used 2; then
    pass "--connections=2: two connections used: $lanes"
else
    fail "--connections=2: not two connections: $lanes"
fi
out=$(diff -r "$ci/d1" "$ci/d2" 2>&1 || true)
if [[ -z "$out" && -z "$(leftovers "$ci")" ]] &&
    cmp -s "$src/inc/netfilter/xt_CONNMARK.h" "$ci/d2/inc/netfilter/xt_CONNMARK.h"; then
    pass "--connections=2: the same copy as over one connection, no leftovers"
else
    fail "--connections=2: differs from the copy over one: $out $(leftovers "$ci")"
fi

# 2. The trailing-dot name: what the listing gave ends as the one-file way
#    ends it (--sync: every file the one-file way).
run_json "$base/$SMBW_TEST_SHARE2/src/inc" "$url/d1-one" -r --sync
one_rc=$rc
one=$(cd "$ci/d1-one" 2>/dev/null && find . -type f | sort | tr '\n' ' ')
many=$(cd "$ci/d1/inc" && find . -type f | sort | tr '\n' ' ')
if [[ "$one" == "$many" ]]; then
    pass "tree: the trailing-dot name ends as the one-file way ends it (exit $one_rc; files: $many)"
else
    fail "tree: files '$many', the one-file way made '$one'"
fi

# 3. Under 1% of the data on the wire: a tree of 1 MiB files.
mkdir -p "$cs/mib"
for ((i = 1; i <= 8; i++)); do
    make_random "$cs/mib/m$i" $((1 << 20))
done
run_json -r "$base/$SMBW_TEST_SHARE2/mib" "$url/d3"
wire=$(json_get "$work/last.json" wire_bytes)
bytes=$(json_get "$work/last.json" bytes)
if ((rc == 0)) && [[ "$bytes" == $((8 << 20)) ]] && ((wire > 0 && wire * 100 < bytes)) &&
    diff -r "$cs/mib" "$ci/d3" >/dev/null; then
    pass "1 MiB files: $wire bytes on the wire for $bytes (< 1%), identical"
else
    fail "1 MiB files: exit $rc, wire_bytes '$wire' for '$bytes' bytes, or differs"
fi

finish
