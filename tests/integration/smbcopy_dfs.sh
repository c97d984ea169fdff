#!/usr/bin/env bash
# smbcopy through DFS paths against two Samba servers (with-server.sh
# samba-dfs; tests/testbed/samba-dfs.sh): upload, download and smb->smb copy
# through a link to a share on server 2, a link to another share on server 1,
# a link whose first target is down and an interlink, bytes identical; a copy
# between two DFS paths that lead to one server is server-side ("copychunk"
# in --json); --json names where SRC and DST lead; --connections=2 and auto
# open their further connections to the target server; trees (-r) go up, down
# and between the servers through links; a referral loop fails
# cleanly (exit code and message, nothing written).
#
#   smbcopy_dfs.sh PATH/TO/smbcopy
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init dfs SMBW_TEST_HOST2 SMBW_TEST_DFS_SHARE SMBW_TEST_S2_SHARE_PATH SMBW_TEST_SHARE2_PATH
dfs=$base/$SMBW_TEST_DFS_SHARE
h1=$SMBW_TEST_HOST h2=$SMBW_TEST_HOST2 port=$SMBW_TEST_PORT
s1b=$SMBW_TEST_SHARE2_PATH    # server 1, share2
s2a=$SMBW_TEST_S2_SHARE_PATH  # server 2, share1

make_random "$work/src.bin" $((3 * 1024 * 1024 + 777))

# link -> directory on the server that holds its target, expected resolved URL
declare -A dir=([remote]=$s2a [local]=$s1b [failover]=$s2a [inter]=$s1b)
declare -A at=([remote]="$h2:$port/share1" [local]="$h1:$port/share2"
    [failover]="$h2:$port/share1" [inter]="$h1:$port/share2")
for link in remote local failover inter; do
    run_json "$work/src.bin" "$dfs/$link/up-$link.bin"
    if ((rc == 0)); then pass "$link: upload exit 0"; else fail "$link: upload exited $rc: $(cat "$work/last.err")"; fi
    same_file "$link: upload" "$work/src.bin" "${dir[$link]}/up-$link.bin"
    got=$(json_get "$work/last.json" dst_resolved)
    if [[ "$got" == "smb://${at[$link]}/up-$link.bin" ]]; then
        pass "$link: --json dst_resolved $got"
    else
        fail "$link: --json dst_resolved '$got', wanted smb://${at[$link]}/up-$link.bin"
    fi
    rm -f "$work/down.bin"
    run_json "$dfs/$link/up-$link.bin" "$work/down.bin"
    if ((rc == 0)); then pass "$link: download exit 0"; else fail "$link: download exited $rc: $(cat "$work/last.err")"; fi
    same_file "$link: download" "$work/src.bin" "$work/down.bin"
    got=$(json_get "$work/last.json" src_resolved)
    [[ "$got" == "smb://${at[$link]}/up-$link.bin" ]] && pass "$link: --json src_resolved" ||
        fail "$link: --json src_resolved '$got'"
done

# smb -> smb through DFS in both directions between the servers: streamed.
run_json "$dfs/local/up-local.bin" "$dfs/remote/from-local.bin"
((rc == 0)) && pass "local->remote exit 0" || fail "local->remote exited $rc: $(cat "$work/last.err")"
same_file "local->remote" "$work/src.bin" "$s2a/from-local.bin"
m=$(json_get "$work/last.json" method)
[[ "$m" == stream ]] && pass "server 1 -> server 2 streams" || fail "server 1 -> server 2 method '$m'"
run_json "$dfs/remote/up-remote.bin" "$dfs/inter/from-remote.bin"
((rc == 0)) && pass "remote->inter exit 0" || fail "remote->inter exited $rc: $(cat "$work/last.err")"
same_file "remote->inter" "$work/src.bin" "$s1b/from-remote.bin"

# Every link as a copy's source and as its destination: failover (server 2)
# -> local (server 1) and inter (server 1) -> remote (server 2), streamed.
for pair in failover:local inter:remote; do
    from=${pair%:*} to=${pair#*:}
    run_json "$dfs/$from/up-$from.bin" "$dfs/$to/from-$from.bin"
    if ((rc == 0)); then pass "$from->$to exit 0"; else fail "$from->$to exited $rc: $(cat "$work/last.err")"; fi
    same_file "$from->$to" "$work/src.bin" "${dir[$to]}/from-$from.bin"
    m=$(json_get "$work/last.json" method)
    if [[ "$m" == stream ]]; then pass "$from->$to streams"; else fail "$from->$to method '$m'"; fi
done

# Two DFS paths that lead to one server: server-side copy.
run_json "$dfs/local/up-local.bin" "$dfs/inter/sscopy-1.bin"
((rc == 0)) && pass "local->inter exit 0" || fail "local->inter exited $rc: $(cat "$work/last.err")"
same_file "local->inter (server 1)" "$work/src.bin" "$s1b/sscopy-1.bin"
m=$(json_get "$work/last.json" method)
[[ "$m" == copychunk ]] && pass "server 1 via two DFS paths: copychunk" ||
    fail "server 1 via two DFS paths: method '$m'"
run_json "$dfs/remote/up-remote.bin" "$dfs/failover/sscopy-2.bin"
((rc == 0)) && pass "remote->failover exit 0" || fail "remote->failover exited $rc: $(cat "$work/last.err")"
same_file "remote->failover (server 2)" "$work/src.bin" "$s2a/sscopy-2.bin"
m=$(json_get "$work/last.json" method)
[[ "$m" == copychunk ]] && pass "server 2 via two DFS paths: copychunk" ||
    fail "server 2 via two DFS paths: method '$m'"

# --connections with DFS paths: the further connections (lanes) of a
# server-side copy open to the server the paths lead to (server 2 here, whose
# share1 alone holds the file: a lane opened on server 1 could not open it and
# smbcopy would warn and go on over one connection). One more NEGOTIATE in
# the -vvv trace than with --connections=1, no warning, bytes identical; the
# default (auto) on 2 GiB measures one connection against two.
lanes_used() { # what size dst [options...]: sets n (NEGOTIATEs in -vvv)
    local what=$1 size=$2 dst=$3
    shift 3
    rm -f "$s2a/$dst"
    if "$smbcopy" --no-progress -vvv "$@" "$dfs/remote/$size" "$dfs/failover/$dst" \
        >/dev/null 2>"$work/lanes.err" </dev/null; then
        same_file "$what" "$s2a/$size" "$s2a/$dst"
    else
        fail "$what: exit $?: $(tail -n 3 "$work/lanes.err")"
    fi
    if grep -q "connection [0-9] of [0-9]" "$work/lanes.err"; then
        fail "$what: $(grep "connection [0-9] of [0-9]" "$work/lanes.err" | head -n 1)"
    else
        pass "$what: every connection opened"
    fi
    n=$(grep -c -- '-> NEGOTIATE ' "$work/lanes.err" || true)
    rm -f "$s2a/$dst"
}
# Preallocated (unwritten extents read as zeros, not sparse): quick to copy.
fallocate -l $((128 << 20)) "$s2a/lanes-128m"
fallocate -l $((2 << 30)) "$s2a/lanes-2g"
chown "$SMBW_TEST_USER" "$s2a/lanes-128m" "$s2a/lanes-2g"
lanes_used "--connections=1, DFS, 128 MiB" lanes-128m lanes-one.bin --connections=1
one=$n
lanes_used "--connections=2, DFS, 128 MiB" lanes-128m lanes-two.bin --connections=2
if ((n == one + 1)); then
    pass "--connections=2 through DFS: one more connection ($one -> $n NEGOTIATEs)"
else
    fail "--connections=2 through DFS: $n NEGOTIATEs, wanted $((one + 1))"
fi
lanes_used "default (auto), DFS, 2 GiB" lanes-2g lanes-auto.bin
if ((n == one + 1)) && grep -Eq "1 connection [0-9.]+ ms, 2 connections [0-9.]+ ms per 64 MiB" \
    "$work/lanes.err"; then
    pass "auto through DFS: $(grep -Eo '1 connection .*' "$work/lanes.err")"
else
    fail "auto through DFS: $n NEGOTIATEs (wanted $((one + 1))), no measurement of 1 against 2"
fi
rm -f "$s2a/lanes-128m" "$s2a/lanes-2g"

# A tree (-r) through links: up through remote, down again, and from remote
# (server 2) to local (server 1); every file identical (diff -r).
mkdir -p "$work/tree/a/b"
for i in 1 2 3; do make_random "$work/tree/a/f$i" $((i * 1000 + 7)); done
make_random "$work/tree/a/b/g" $((300 * 1024))
tree_same() { # what a b
    if diff -r "$2" "$3" >/dev/null 2>&1; then pass "$1: trees identical"; else fail "$1: trees differ"; fi
}
run_json -r "$work/tree" "$dfs/remote/tree"
if ((rc == 0)); then pass "-r up through remote: exit 0"; else fail "-r up through remote exited $rc: $(cat "$work/last.err")"; fi
tree_same "-r up through remote" "$work/tree" "$s2a/tree"
run_json -r "$dfs/remote/tree" "$work/tree-back"
if ((rc == 0)); then pass "-r down through remote: exit 0"; else fail "-r down through remote exited $rc: $(cat "$work/last.err")"; fi
tree_same "-r down through remote" "$work/tree" "$work/tree-back"
run_json -r "$dfs/remote/tree" "$dfs/local/tree2"
if ((rc == 0)); then pass "-r remote->local: exit 0"; else fail "-r remote->local exited $rc: $(cat "$work/last.err")"; fi
tree_same "-r remote->local" "$work/tree" "$s1b/tree2"

# A referral loop: a clear error, nothing written anywhere.
run_json "$work/src.bin" "$dfs/loop/never.bin"
if ((rc != 0)) && grep -q "loop" "$work/last.err"; then
    pass "loop: exit $rc, $(head -c 160 "$work/last.err")"
else
    fail "loop: exit $rc, stderr: $(cat "$work/last.err")"
fi
if [[ -z "$(find "$s1b" "$s2a" -name 'never*')" ]]; then pass "loop: nothing written"; else fail "loop: files left"; fi
finish
