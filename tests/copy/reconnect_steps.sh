#!/usr/bin/env bash
# A dropped connection outside the data step of a file copied the one-file
# way (issue 12; run through with-server.sh samba): tests/common/cut_proxy.py
# cuts at the Kth CREATE, SET_INFO or CLOSE request (not forwarded) of a
# download, an upload and a server-side copy (--method=copychunk) of a file
# large enough for a resume record, for every K the copy reaches: the source's
# open, the destination's stat, the temporary file's create, the resume
# record's create, size and removal, the source's close, the commit (rename,
# times, close); then again with --after-forward (each of those requests
# carried out by the server, the cut before its answer: a create that got
# through, a rename that got through, told by the names). Each cut run
# finishes with exit 0, identical bytes, one reconnect in --json and nothing
# left under a temporary name.
# Then a refused reclaim asked again until the server lets the old open go
# (the old connection held 0.4 s, PreviousSessionId zeroed).
# Then the batch replacing an existing copy, cut at a commit and a CREATE.
# Then two branches of the small-file batch (smbcopy -r up), reached
# deterministically (before only by timing) with --after-forward (the request
# carried out by the server, its answer cut):
#  - a commit (CLOSE) that got through before the drop: the file is counted
#    as copied ("its commit got through before the drop" with -v);
#  - a CREATE+WRITE that got through, its open held by the lost connection
#    (--hold-server --hold-from-create: the server sees the drop only once the
#    reconnected client asks for a name again, however slow its login): the resent CREATE
#    finds the name still held (STATUS_DELETE_PENDING or a sharing
#    violation) and is sent again until the name is free.
#
#   reconnect_steps.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init reconnect-steps

size=$((3 * 1024 * 1024 + 4321))
make_random "$work/src.bin" "$size"
cp "$work/src.bin" "$share/src.bin"
chown "$SMBW_TEST_USER:" "$share/src.bin" 2>/dev/null || true

proxy_pid=
stop_proxy() {
    if [[ -n "$proxy_pid" ]]; then
        kill "$proxy_pid" 2>/dev/null || true
        wait "$proxy_pid" 2>/dev/null || true
    fi
    proxy_pid=
}
on_exit stop_proxy

# proxy ARGS...: a new cut_proxy.py in front of the server; sets purl
# (share1's URL through it) and plog (its log of cuts).
proxy() {
    stop_proxy
    rm -f "$work/proxy.port" "$work/proxy.log"
    plog=$work/proxy.log
    "$py" "$common_dir/cut_proxy.py" --port-file "$work/proxy.port" --log "$plog" \
        --timeout 60 "$@" "$SMBW_TEST_HOST" "$SMBW_TEST_PORT" &
    proxy_pid=$!
    local i
    for ((i = 0; i < 200; i++)); do
        [[ -s "$work/proxy.port" ]] && break
        sleep 0.05
    done
    [[ -s "$work/proxy.port" ]] || {
        echo "FAIL: cut_proxy.py did not start" >&2
        exit 1
    }
    purl=smb://$SMBW_TEST_USER@$SMBW_TEST_HOST:$(cat "$work/proxy.port")/$SMBW_TEST_SHARE
}

cuts() {
    if [[ -f "$plog" ]]; then grep -c '^cut ' "$plog"; else echo 0; fi
}

# one KIND CMD K [--after-forward]: one copy of KIND (down, up, cc) through a
# proxy that cuts at the Kth request CMD (or, --after-forward, once the
# server carried it out, before its answer). Returns 1 when the copy never
# sent a Kth one.
one() {
    local kind=$1 cmd=$2 k=$3 src dst out
    rm -f "$work/out.bin" "$share/out.bin"
    proxy --command "$cmd" --at "$k" "${@:4}"
    case $kind in
    down) src=$purl/src.bin dst=$work/out.bin out=$work/out.bin ;;
    up) src=$work/src.bin dst=$purl/out.bin out=$share/out.bin ;;
    cc) src=$purl/src.bin dst=$purl/out.bin out=$share/out.bin ;;
    esac
    local extra=()
    [[ $kind == cc ]] && extra=(--method=copychunk)
    set +e
    "$smbcopy" --json -vv --retry-wait=0.1 "${extra[@]}" "$src" "$dst" \
        >"$work/last.json" 2>"$work/last.err" </dev/null
    rc=$?
    set -e
    stop_proxy
    local what="$kind, cut at $cmd $k${4:+ ($4)}" n rec left
    n=$(cuts)
    if ((n == 0)); then
        ((rc == 0)) || fail "$what: no cut, exit $rc: $(grep smbcopy: "$work/last.err" | tr '\n' '|')"
        return 1
    fi
    rec=$(json_get "$work/last.json" reconnects)
    left=$(leftovers "$share"; leftovers "$work")
    if grep -q 'its rename got through before the drop' "$work/last.err"; then
        renamed_through="$renamed_through $kind"
    fi
    if ((rc == 0)) && cmp -s "$work/src.bin" "$out" && [[ "$rec" == 1 && -z "$left" ]]; then
        pass "$what: exit 0, identical, 1 reconnect in --json, no leftovers"
    else
        fail "$what: exit $rc, reconnects=$rec, leftovers '$left', $(cmp "$work/src.bin" "$out" 2>&1 | head -1): $(grep smbcopy: "$work/last.err" | tr '\n' '|')"
    fi
    return 0
}

renamed_through=
for after in "" --after-forward; do
    for kind in down up cc; do
        for cmd in CREATE SET_INFO CLOSE; do
            k=1
            while one "$kind" "$cmd" "$k" $after; do
                k=$((k + 1))
                ((k <= 20)) || break
            done
            ((k > 1)) || [[ $kind == down && $cmd == SET_INFO ]] ||
                fail "$kind: no $cmd request to cut"
        done
    done
done
# A commit carried out whose answer was lost: the names told that the rename
# got through (-vv says so), for the upload and the server-side copy.
for kind in up cc; do
    if [[ " $renamed_through " == *" $kind "* ]]; then
        pass "$kind: a commit carried out before the cut was found done by the names"
    else
        fail "$kind: no run found its rename carried out before the cut"
    fi
done

# ---- a refused reclaim asked again ------------------------------------------
# A download cut at its second READ; the server keeps the lost connection
# (and so the source's durable open, live, not disconnected) for 0.4 s from
# the reconnect's first CREATE, and is not told that the new session replaces
# the old one (PreviousSessionId zeroed, so a dialect below 3.1.1). The first
# reclaim is refused (the old open is live), and it is asked again every
# 20 ms within 1 s: once the server sees the drop the durable open is
# disconnected and the reclaim gets it back. A client that gave up at the
# first refusal (or after one more connection) would open the file again by
# its path instead.
rm -f "$work/out.bin"
proxy --command READ --at 2 --hold-server 0.4 --hold-from-create --no-previous-session
set +e
"$smbcopy" --json -vv --retry-wait=0.1 --max-protocol=SMB3_02 "$purl/src.bin" "$work/out.bin" \
    >"$work/last.json" 2>"$work/last.err" </dev/null
rc=$?
set -e
stop_proxy
rec=$(json_get "$work/last.json" reconnects)
if ((rc == 0)) && cmp -s "$work/src.bin" "$work/out.bin" && [[ "$(cuts)" == 1 && "$rec" == 1 ]]; then
    pass "reclaim asked again: exit 0, identical, 1 cut, 1 reconnect"
else
    fail "reclaim asked again: exit $rc, $(cuts) cut(s), reconnects=$rec: $(grep smbcopy: "$work/last.err" | tr '\n' '|')"
fi
if grep -q 'reconnect: durable src.bin not reclaimed' "$work/last.err" &&
    grep -q 'reconnect: src.bin reclaimed durably' "$work/last.err" &&
    ! grep -q 'opened again by its path' "$work/last.err"; then
    pass "reclaim asked again: refused while the old open was live, then reclaimed durably"
else
    fail "reclaim asked again: not refused then reclaimed: $(grep -i 'reclaim\|by its path\|reconnect:' "$work/last.err" | tr '\n' '|')"
fi

# ---- the small-file batch ---------------------------------------------------
mkdir -p "$work/many"
for i in $(seq 1 40); do
    head -c $((i * 53)) /dev/urandom >"$work/many/f$i.txt"
done
# batch_case WHAT PATTERN PROXY-ARGS...: an upload of the tree through the
# proxy (smbcopy given the options in the array batch_opts too); exit 0,
# identical, one cut and one reconnect, no leftovers, and the -v message
# PATTERN said.
batch_opts=()
batch_case() {
    local what=$1 pat=$2 rec to=$share/many-$1
    shift 2
    proxy "$@"
    set +e
    "$smbcopy" --json -v --retry-wait=0.1 "${batch_opts[@]}" -r "$work/many" "$purl/many-$what" \
        >"$work/last.json" 2>"$work/last.err" </dev/null
    rc=$?
    set -e
    stop_proxy
    rec=$(json_get "$work/last.json" reconnects)
    if ((rc == 0)) && diff -r "$work/many" "$to" >/dev/null && [[ "$(cuts)" == 1 && "$rec" == 1 ]] &&
        [[ -z "$(find "$to" -name '.*')" ]]; then
        pass "batch, $what: exit 0, identical, 1 reconnect, no leftovers"
    else
        fail "batch, $what: exit $rc, $(cuts) cut(s), reconnects=$rec: $(grep smbcopy: "$work/last.err" | grep -v '\[' | tr '\n' '|')"
    fi
    if grep -Eq "$pat" "$work/last.err"; then
        pass "batch, $what: $(grep -E "$pat" "$work/last.err" | head -1)"
    else
        fail "batch, $what: no \"$pat\" in the -v log; proxy: $(tr '\n' '|' <"$plog")"
    fi
}
batch_case commit-through 'its commit got through before the drop: copied' \
    --command CLOSE --at 5 --after-forward
# The name a cut CREATE made is still held when the reconnect asks for it:
# the server keeps the old connection (--hold-server) and is not told that
# the new session replaces the old one (PreviousSessionId zeroed by the
# proxy, which needs a dialect below 3.1.1: the pre-authentication hash).
batch_opts=(--max-protocol=SMB3_02)
batch_case create-held 'the name is still held after the drop \((STATUS_DELETE_PENDING|STATUS_SHARING_VIOLATION)\)' \
    --command CREATE --at 5 --after-forward --hold-server 1.2 --hold-from-create --no-previous-session
# The same cut with PreviousSessionId as the client sent it: the server ends
# the old session before it answers the reconnect's login, so the name is
# free at once (nothing held, nothing waited for).
batch_opts=()
batch_case create-freed 'reconnected' \
    --command CREATE --at 5 --after-forward --hold-server 1.2 --hold-from-create
if grep -q 'still held after the drop' "$work/last.err"; then
    fail "batch, create-freed: the name was held although the login named the old session: $(grep 'still held' "$work/last.err" | head -1)"
else
    pass "batch, create-freed: the name was free after the reconnect (the old session ended by the server)"
fi
# The batch replacing files of an existing copy (each written under its
# temporary name and renamed over the old one in its commit), cut at a
# commit that got through, at a CREATE that got through and at one that did
# not: exit 0, identical, one reconnect, nothing left under a temporary name.
mkdir -p "$share/rp"
chown "$SMBW_TEST_USER:" "$share/rp"
"$smbcopy" -r -q "$work/many" "$url/rp/" </dev/null || fail "replace: first copy exit $?"
# Server-side likewise (the share's copy of the tree, changed, copied by
# the server over rp/many), cut at a commit that got through and at a
# copychunk.
mkdir -p "$share/src"
for spec in "up CLOSE 5 --after-forward" "up CREATE 5 --after-forward" "up CREATE 6" \
    "ss CLOSE 9 --after-forward" "ss IOCTL 5"; do
    read -r kind cmd k after <<<"$spec"
    for i in $(seq 1 40); do
        head -c $((i * 53 + 7)) /dev/urandom >"$work/many/f$i.txt"
    done
    from=$work/many
    if [[ $kind == ss ]]; then
        rm -rf "$share/src/many"
        cp -a "$work/many" "$share/src/"
        chown -R "$SMBW_TEST_USER:" "$share/src"
    fi
    proxy --command "$cmd" --at "$k" ${after:+"$after"}
    [[ $kind == ss ]] && from=$purl/src/many
    set +e
    "$smbcopy" --json -v --retry-wait=0.1 -r "$from" "$purl/rp/" \
        >"$work/last.json" 2>"$work/last.err" </dev/null
    rc=$?
    set -e
    stop_proxy
    rec=$(json_get "$work/last.json" reconnects)
    if ((rc == 0)) && diff -r "$work/many" "$share/rp/many" >/dev/null &&
        [[ "$(cuts)" == 1 && "$rec" == 1 && -z "$(find "$share/rp" -name '.*')" ]]; then
        pass "replace, cut at $spec: exit 0, identical, 1 reconnect, no leftovers"
    else
        fail "replace, cut at $spec: exit $rc, $(cuts) cut(s), reconnects=$rec: $(grep smbcopy: "$work/last.err" | grep -v '\[' | tr '\n' '|')"
    fi
done

finish
