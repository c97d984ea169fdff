#!/usr/bin/env bash
# A dropped connection in the middle of a copy (issue 12; run through
# with-server.sh samba). smbcopy goes through tests/common/cut_proxy.py,
# which resets the connection at a chosen point and accepts again:
#  - mid-download (after N bytes from the server), once and three times: the
#    reads in flight are sent again by the library (replay), the copy never
#    goes back to its mark;
#  - a cut during the reconnect's authentication (its SESSION_SETUP): that
#    try fails, the next one goes on;
#  - mid-upload (after N bytes from the client), once and three times: the
#    temporary file is a durable open set to its final size first, so the
#    writes in flight are sent again too and the copy never goes back to its
#    mark;
#  - mid-copychunk (at the Kth IOCTL request), once and three times, also
#    over two connections (--connections=2: either one cut);
#  - a tree (-r) uploaded and downloaded with three cuts in its files' data;
#  - a tree of many small files with cuts in its compounds, also with
#    --connections=2 (each connection reconnects on its own);
#  each finishes with exit 0, identical bytes, no leftovers, and --json
#  counting the reconnects (as many as the proxy's cuts);
#  - --retries=0: the drop ends the run with exit 3 as before (the proxy did
#    cut: its log says so), also for a streamed copy between two connections;
#  - a server that comes back with a lower dialect (the proxy sends the new
#    connection to a second smbd capped at SMB 2.1), an older signing
#    algorithm (AES-128-CMAC after AES-128-GMAC) or without the encryption
#    the first one required: refused with a clean error naming it, exit
#    non-zero, nothing left under the final name.
#  - the server restarted, simulated (the proxy sends the new connection to another smbd
#    serving the same directory, which knows none of our opens): download and
#    upload reopen their files by name (no durable handle to reclaim there),
#    check them, and finish identical;
#  - a second client (smbclient) opening the temporary file of an upload:
#    the lease break is acknowledged at once, the open answered in well
#    under Samba's break timeout (milliseconds measured);
#  - retries exhausted (nothing answers after the cut): exit 3 after
#    --retries tries, the partial file and resume record kept with --resume,
#    and a later --resume completes the copy from the record.
#
#   reconnect.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init reconnect
testbed=$(cd "$here/../testbed" && pwd)

size=$((48 * 1024 * 1024))
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

# proxy ARGS...: a new cut_proxy.py in front of the server (on port
# $proxy_port when set); sets purl (share1's URL through it) and plog (its
# log of cuts).
proxy() {
    stop_proxy
    rm -f "$work/proxy.port" "$work/proxy.log"
    plog=$work/proxy.log
    "$py" "$common_dir/cut_proxy.py" --port-file "$work/proxy.port" --log "$plog" \
        --listen-port "${proxy_port:-0}" --timeout 170 "$@" "$SMBW_TEST_HOST" "$SMBW_TEST_PORT" &
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

# run_json without -q: smbcopy's messages (reconnected, continuing at byte N)
# land in last.err.
run_json_loud() {
    set +e
    "$smbcopy" --json "$@" >"$work/last.json" 2>"$work/last.err" </dev/null
    rc=$?
    set -e
}

cuts() {
    if [[ -f "$plog" ]]; then grep -c '^cut ' "$plog"; else echo 0; fi
}

# expect_ok WHAT CUTS DST_FILE: exit 0, identical to the source, the proxy cut
# CUTS times and --json counts as many reconnects.
expect_ok() {
    local what=$1 n=$2 out=$3 rec
    rec=$(json_get "$work/last.json" reconnects)
    if ((rc == 0)); then
        pass "$what: exit 0"
    else
        fail "$what: exit $rc: $(tr '\n' '|' <"$work/last.err")"
    fi
    same_file "$what" "$work/src.bin" "$out"
    if [[ "$(cuts)" == "$n" && "$rec" == "$n" ]]; then
        pass "$what: $n cut(s), $rec reconnect(s) in --json"
    else
        fail "$what: proxy cut $(cuts) time(s), --json says reconnects=$rec (wanted $n)"
    fi
}

# ---- download -------------------------------------------------------------
proxy --down $((16 * 1024 * 1024))
run_json_loud -vv --retry-wait=0.1 "$purl/src.bin" "$work/down1.bin"
expect_ok "download, one cut" 1 "$work/down1.bin"
# The source is a durable open (a lease R|H: read only) and is reclaimed
# (DH2C), not opened again by name.
if grep -q "src.bin: lease granted (state RH, v2)" "$work/last.err" &&
    grep -q "reconnect: src.bin reclaimed durably with its lease" "$work/last.err" &&
    ! grep -q "cannot be opened again\|not reclaimed" "$work/last.err"; then
    pass "download: the source held a lease R|H and was reclaimed durably"
else
    fail "download: source not reclaimed durably: $(grep -i 'lease\|reclaim\|reconnect' "$work/last.err" | tr '\n' '|')"
fi

proxy --down $((10 * 1024 * 1024)) --cuts 3
run_json_loud --retry-wait=0.1 "$purl/src.bin" "$work/down3.bin"
expect_ok "download, three cuts" 3 "$work/down3.bin"
# Only READs were in flight at each cut: the library sent them again (replay)
# and the copy never went back to its contiguous mark.
if grep -q "continuing" "$work/last.err"; then
    fail "download: went back to its mark instead of replaying: $(tr '\n' '|' <"$work/last.err")"
else
    pass "download: the reads in flight were sent again (no restart from the mark)"
fi
[[ -z "$(leftovers "$work")" ]] && pass "download: no leftovers" ||
    fail "download: leftovers: $(leftovers "$work")"

# ---- a cut during the reconnect's authentication ---------------------------
# The download is cut, then the reconnect's first try is cut at its second
# SESSION_SETUP (NTLM's AUTHENTICATE): that try fails, the second one logs in
# and the reads are sent again (no return to the mark: with a cut taken as
# final, smbcopy's own round went on from its mark instead): exit 0,
# identical, one reconnect, two cuts.
proxy --down $((16 * 1024 * 1024)) --command SESSION_SETUP --at 2 --cuts 2 --count-after-cut
run_json_loud --retry-wait=0.1 "$purl/src.bin" "$work/downauth.bin"
rec=$(json_get "$work/last.json" reconnects)
if ((rc == 0)) && cmp -s "$work/src.bin" "$work/downauth.bin" && [[ "$(cuts)" == 2 && "$rec" == 1 ]] &&
    grep -q "cut at request 2 of command 1" "$plog" && grep -q "reconnect try 1 failed" "$work/last.err" &&
    ! grep -q "continuing" "$work/last.err"; then
    pass "cut during the reconnect's authentication: try 1 failed, try 2 went on with the reads sent again; exit 0, identical"
else
    fail "cut during authentication: exit $rc, $(cuts) cut(s), reconnects=$rec: $(tr '\n' '|' <"$work/last.err") $(tr '\n' '|' <"$plog")"
fi

# ---- upload ---------------------------------------------------------------
proxy --up $((16 * 1024 * 1024))
run_json --retry-wait=0.1 "$work/src.bin" "$purl/up1.bin"
expect_ok "upload, one cut" 1 "$share/up1.bin"

proxy --up $((10 * 1024 * 1024)) --cuts 3
run_json_loud --retry-wait=0.1 "$work/src.bin" "$purl/up3.bin"
expect_ok "upload, three cuts" 3 "$share/up3.bin"
# The temporary file is a durable open at its final size (and the resume
# record at its own): the WRITEs in flight lie inside the end of file and the
# library sends them again; the copy never goes back to its mark.
if grep -q "continuing" "$work/last.err"; then
    fail "upload: went back to its mark instead of replaying: $(tr '\n' '|' <"$work/last.err")"
else
    pass "upload: the writes in flight were sent again (no restart from the mark)"
fi
[[ -z "$(leftovers "$share")" ]] && pass "upload: no leftovers" ||
    fail "upload: leftovers: $(leftovers "$share")"

# ---- server-side copy (copychunk) -----------------------------------------
proxy --command IOCTL --at 3
run_json_loud -vv --retry-wait=0.1 --method=copychunk "$purl/src.bin" "$purl/cc1.bin"
expect_ok "copychunk, one cut" 1 "$share/cc1.bin"
# Source and temporary destination are durable opens (no lanes for 48 MiB):
# both reclaimed (DH2C), the copychunk continued from the contiguous mark.
if grep -q "reconnect: src.bin reclaimed durably with its lease" "$work/last.err" &&
    grep -q "reconnect: .cc1.bin.smbcopy.part reclaimed durably with its lease" "$work/last.err" &&
    grep -q "continuing" "$work/last.err" &&
    ! grep -q "cannot be opened again\|not reclaimed" "$work/last.err"; then
    pass "copychunk: source and destination reclaimed durably, continued from the mark"
else
    fail "copychunk: not reclaimed durably: $(grep -i 'lease\|reclaim\|reconnect\|continuing' "$work/last.err" | tr '\n' '|')"
fi
[[ "$(json_get "$work/last.json" method)" == copychunk ]] && pass "copychunk: method copychunk" ||
    fail "copychunk: method $(json_get "$work/last.json" method)"

proxy --command IOCTL --at 3 --cuts 3
run_json --retry-wait=0.1 --method=copychunk "$purl/src.bin" "$purl/cc3.bin"
expect_ok "copychunk, three cuts" 3 "$share/cc3.bin"

# ---- server-side copy over two connections (--connections=2) ---------------
# Each connection carries its own copychunks; the proxy cuts at the Kth IOCTL
# counted over both, so the connection cut is sometimes smbcopy's first one
# and sometimes the further one. Either is brought back (never replaced:
# "copying over fewer" would say so) with its opens of the source and of the
# temporary file, which are durable on both connections (a lease R|H, which
# the other connection's opens, for writing too, do not break): reclaimed
# durably where the server keeps such an open, else opened again by path
# and found the same file. Samba keeps a durable open only while no other
# open of the file exists (4.17: never with two; 4.22: the source's read
# opens, not the temporary file's), so both outcomes are seen here. The copy
# goes on from its contiguous mark over the same two connections. Before, a
# cut of the further connection while the first one still had copychunks in
# flight ended smbcopy with a crash (SIGSEGV: their answers arrived in a copy
# engine already gone); later the further connection was replaced by a new
# one. 288 MiB: two lanes (64 MiB each at least) also after three cuts.
for i in 1 2 3 4 5 6; do cat "$work/src.bin"; done >"$share/lanes-src.bin"
chown "$SMBW_TEST_USER:" "$share/lanes-src.bin" 2>/dev/null || true
back='(reclaimed durably with its lease|opened again by its path \(the same file\))'
lanes_case() { # WHAT CUTS AT
    local what=$1 n=$2 at=$3 rec src_back tmp_back how
    proxy --command IOCTL --at "$at" --cuts "$n"
    run_json_loud -v --retry-wait=0.1 --method=copychunk --connections=2 --chunk-size=256K \
        --depth=2 "$purl/lanes-src.bin" "$purl/$what.bin"
    rec=$(json_get "$work/last.json" reconnects)
    src_back=$(grep -cE "reconnect: lanes-src\.bin $back" "$work/last.err" || true)
    tmp_back=$(grep -cE "reconnect: \.$what\.bin\.smbcopy\.part $back" "$work/last.err" || true)
    how=$(grep -oE "reconnect: (lanes-src|\.$what\.bin\.smbcopy\.part)[^ ]* (reclaimed durably( once more)?|opened again by its path)" \
        "$work/last.err" | sed 's/reconnect: //' | sort | uniq -c | tr -s ' ' | tr '\n' ';')
    if ((rc == 0)) && cmp -s "$share/lanes-src.bin" "$share/$what.bin" &&
        [[ "$(cuts)" == "$n" && "$rec" == "$n" ]] &&
        [[ "$src_back" == "$n" && "$tmp_back" == "$n" ]] &&
        ! grep -q "copying over fewer" "$work/last.err" &&
        [[ "$(json_get "$work/last.json" method)" == copychunk ]]; then
        pass "copychunk over 2 connections, $n cut(s): exit 0, identical, $rec reconnect(s), the cut connection's files back:$how"
    else
        fail "copychunk over 2 connections, $n cut(s): exit $rc, $(cuts) cut(s), reconnects=$rec, back: src $src_back tmp $tmp_back: $(grep -v '\[debug' "$work/last.err" | tr '\n' '|')"
    fi
    rm -f "$share/$what.bin"
}
lanes_case lanes1 1 12
lanes_case lanes3 3 8
# A lane that cannot come back: the second connection is cut at its 4th
# IOCTL and every connection after the cut goes to a closed port. smbcopy
# does not replace it (a new connection could be weaker): it warns and
# copies the rest over the first connection from the contiguous mark: exit
# 0, identical, server-side.
proxy --conn 2 --command IOCTL --at 4 --then "127.0.0.1:1"
run_json_loud -v --retry-wait=0.1 --method=copychunk --connections=2 --chunk-size=256K \
    --depth=2 "$purl/lanes-src.bin" "$purl/fewer.bin"
if ((rc == 0)) && cmp -s "$share/lanes-src.bin" "$share/fewer.bin" && [[ "$(cuts)" == 1 ]] &&
    grep -q "connection 2 of 2: .*copying over fewer" "$work/last.err" &&
    [[ "$(json_get "$work/last.json" method)" == copychunk ]]; then
    pass "a lane that cannot come back: $(grep -o 'connection 2 of 2: .*copying over fewer' "$work/last.err" | head -1); exit 0, identical"
else
    fail "a lane that cannot come back: exit $rc, $(cuts) cut(s): $(grep -v '\[debug' "$work/last.err" | tr '\n' '|')"
fi
rm -f "$share/fewer.bin"

# ---- a tree (-r), cuts in the data of its files ---------------------------
mkdir -p "$work/tree/sub"
for i in 1 2 3; do make_random "$work/tree/f$i.bin" $((9 * 1024 * 1024)); done
make_random "$work/tree/sub/g.bin" $((9 * 1024 * 1024))
echo small >"$work/tree/sub/small.txt"
proxy --up $((7 * 1024 * 1024)) --cuts 3
run_json --retry-wait=0.1 -r "$work/tree" "$purl/tree"
rec=$(json_get "$work/last.json" reconnects)
if ((rc == 0)) && diff -r "$work/tree" "$share/tree" >/dev/null && [[ "$(cuts)" == 3 && "$rec" == 3 ]]; then
    pass "tree upload, three cuts: exit 0, identical tree, 3 reconnects"
else
    fail "tree upload, three cuts: exit $rc, $(cuts) cut(s), reconnects=$rec: $(tr '\n' '|' <"$work/last.err")"
fi
proxy --down $((7 * 1024 * 1024)) --cuts 3
run_json --retry-wait=0.1 -r "$purl/tree" "$work/tree-back"
rec=$(json_get "$work/last.json" reconnects)
if ((rc == 0)) && diff -r "$work/tree" "$work/tree-back" >/dev/null && [[ "$(cuts)" == 3 && "$rec" == 3 ]]; then
    pass "tree download, three cuts: exit 0, identical tree, 3 reconnects"
else
    fail "tree download, three cuts: exit $rc, $(cuts) cut(s), reconnects=$rec: $(tr '\n' '|' <"$work/last.err")"
fi

# ---- a tree of many small files (many in flight, compounds) ---------------
# Cuts in the compounds of the small-file batch: its CREATE+SET_INFO+WRITE
# (CREATE), its commits (CLOSE), the CREATE+READ of a download, and the
# directory listing. Before the batch reconnected, one cut ended the run
# (exit 3, "copy to ...: network I/O error").
mkdir -p "$work/many/d1" "$work/many/d2"
for i in $(seq 1 150); do
    head -c $((i * 37)) /dev/urandom >"$work/many/d1/f$i.txt"
    echo "x$i" >"$work/many/d2/g$i.txt"
done
# With many_conns=2 the files go over two connections (--connections=2),
# each cut drops one of them, which comes back on its own; -v must show
# both connections used.
many_conns=1
many_case() { # WHAT DIR(up|down) PROXY-ARGS...
    local what=$1 dir=$2 rec from to
    shift 2
    proxy "$@" --cuts 3
    local run=(run_json --retry-wait=0.1 -r)
    ((many_conns == 1)) || run=(run_json_v --retry-wait=0.1 -r --connections="$many_conns")
    if [[ $dir == up ]]; then
        from=$work/many to=$share/many-$what
        "${run[@]}" "$work/many" "$purl/many-$what"
    else
        from=$share/many-up-create to=$work/many-$what
        "${run[@]}" "$purl/many-up-create" "$work/many-$what"
    fi
    rec=$(json_get "$work/last.json" reconnects)
    if ((rc == 0)) && diff -r "$from" "$to" >/dev/null && [[ "$(cuts)" == 3 && "$rec" == 3 ]] &&
        [[ -z "$(find "$to" -name '.*')" ]]; then
        pass "many small files, $what: three cuts, exit 0, identical, 3 reconnects, no leftovers"
    else
        fail "many small files, $what: exit $rc, $(cuts) cut(s), reconnects=$rec: $(grep -v '\[' "$work/last.err" | tr '\n' '|')"
    fi
    if ((many_conns > 1)); then
        if lanes_used "$many_conns"; then
            pass "many small files, $what: $many_conns connections used: $lanes"
        else
            fail "many small files, $what: not $many_conns connections: $lanes"
        fi
    fi
}
many_case up-create up --command CREATE --at 30
many_case up-commit up --command CLOSE --at 20
many_case down-read down --command READ --at 30
many_case down-list down --command QUERY_DIRECTORY --at 2
many_conns=2
many_case up-create-2c up --command CREATE --at 30
many_case up-commit-2c up --command CLOSE --at 20
many_case down-read-2c down --command READ --at 30
many_conns=1

# ---- --retries=0: the old behaviour ---------------------------------------
proxy --down $((16 * 1024 * 1024))
run_json --retries=0 "$purl/src.bin" "$work/noretry.bin"
if ((rc == 3)) && [[ "$(cuts)" == 1 && ! -e "$work/noretry.bin" ]]; then
    pass "--retries=0: exit 3 after the cut, nothing under the final name"
else
    fail "--retries=0: exit $rc, $(cuts) cut(s): $(tr '\n' '|' <"$work/last.err")"
fi

# A streamed copy between two connections (the source through the proxy, the
# destination straight to the server) whose source drops with --retries=0:
# exit 3, nothing under the final name, no crash. Before, the copy engine
# returned while the destination's writes were still in flight, and their
# answers later arrived in freed memory (seen under ASan).
durl=smb://$SMBW_TEST_USER@$SMBW_TEST_HOST:$SMBW_TEST_PORT/$SMBW_TEST_SHARE
proxy --down $((16 * 1024 * 1024))
run_json --retries=0 --method=stream "$purl/src.bin" "$durl/noretry-stream.bin"
if ((rc == 3)) && [[ "$(cuts)" == 1 && ! -e "$share/noretry-stream.bin" ]]; then
    pass "--retries=0, stream between two connections: exit 3 after the cut, nothing under the final name"
else
    fail "--retries=0, stream between two connections: exit $rc, $(cuts) cut(s): $(tr '\n' '|' <"$work/last.err" | cut -c1-600)"
fi

# ---- a server that comes back with a lower dialect --------------------------
tb2=$work/tb2
stop_tb2() { bash "$testbed/samba.sh" stop "$tb2" >/dev/null 2>&1 || true; }
on_exit stop_tb2
SAMBA_MAX_PROTOCOL=SMB2_10 bash "$testbed/samba.sh" start "$tb2" >"$work/tb2.out" 2>&1 || {
    cat "$work/tb2.out" >&2
    fail "second smbd (SMB 2.1) did not start"
    finish
    exit 1
}
tb2_port=$(sed -n 's/^export SMBW_TEST_PORT=//p' "$tb2/env" | tr -d "'\"")
proxy --down $((16 * 1024 * 1024)) --then "127.0.0.1:$tb2_port"
run_json --retry-wait=0.1 "$purl/src.bin" "$work/lower.bin"
err=$(json_get "$work/last.json" error)
if ((rc != 0)) && [[ "$err" == *"refused"*"SMB2_10"* || "$err" == *"refused"*"2.1"* ]] &&
    [[ ! -e "$work/lower.bin" ]]; then
    pass "lower dialect after the cut: refused (exit $rc): $err"
else
    fail "lower dialect after the cut: exit $rc, error '$err': $(tr '\n' '|' <"$work/last.err")"
fi


# ---- a server that comes back with weaker protection -----------------------
# Two smbd serve the same directory; the proxy sends the first connection to
# one and, after the cut, the new one to the other, which offers less: an
# older signing algorithm (server smb3 signing algorithms = AES-128-CMAC
# where the first signed with AES-128-GMAC), or no encryption where the
# first required it. (A Samba that does not sign cannot be had: smbcopy asks
# for signing and Samba signs whenever asked; the library's check of an
# unsigned new session is the same one that refuses the unencrypted one.) smbcopy is
# run without --sign or --encrypt: what the first session had is what it
# holds the reconnect to. Expected: refused with a clean error that names
# the reconnect, exit non-zero, nothing under the final name, no
# "reconnected".
weaker_case() { # WHAT first|then ENV...: ENV makes the smbd that the proxy sends to first or then
    local what=$1 which=$2 tb=$work/tb-$1 port err
    shift 2
    env "$@" SAMBA_SHARE1_PATH="$share" bash "$testbed/samba.sh" start "$tb" >"$work/$what.out" 2>&1 || {
        cat "$work/$what.out" >&2
        fail "smbd for '$what' did not start"
        return
    }
    port=$(sed -n 's/^export SMBW_TEST_PORT=//p' "$tb/env" | tr -d "'\"")
    if [[ $which == first ]]; then
        SMBW_TEST_PORT=$port proxy --down $((16 * 1024 * 1024)) --then "127.0.0.1:$SMBW_TEST_PORT"
    else
        proxy --down $((16 * 1024 * 1024)) --then "127.0.0.1:$port"
    fi
    run_json_loud --retry-wait=0.1 "$purl/src.bin" "$work/weaker-$what.bin"
    err=$(json_get "$work/last.json" error)
    if ((rc != 0)) && [[ "$(cuts)" == 1 && "$err" == *"reconnect"* && ! -e "$work/weaker-$what.bin" ]] &&
        ! grep -q "reconnected" "$work/last.err"; then
        pass "server back with $what: refused (exit $rc): $err"
    else
        fail "server back with $what: exit $rc, $(cuts) cut(s), error '$err': $(grep -v '\[' "$work/last.err" | tr '\n' '|')"
    fi
    bash "$testbed/samba.sh" stop "$tb" >/dev/null 2>&1 || true
}
stop_weaker() {
    local d
    for d in "$work"/tb-*; do
        [[ -d "$d" ]] && bash "$testbed/samba.sh" stop "$d" >/dev/null 2>&1 || true
    done
}
on_exit stop_weaker
weaker_case cmac-signing then SAMBA_EXTRA_GLOBAL="server smb3 signing algorithms = AES-128-CMAC"
weaker_case no-encryption first SAMBA_ENCRYPT=required

# ---- the server restarted mid-copy ------------------------------------------
# After the cut the proxy sends the new connection to another smbd serving the
# same directory (a restarted server: none of our opens, sessions or trees
# exist there). The durable handle cannot be reclaimed there: the files are
# opened again by name, found to be the same files (on-disk id), and what was
# in flight is sent again.
tb3=$work/tb3
stop_tb3() { bash "$testbed/samba.sh" stop "$tb3" >/dev/null 2>&1 || true; }
on_exit stop_tb3
SAMBA_SHARE1_PATH=$share bash "$testbed/samba.sh" start "$tb3" >"$work/tb3.out" 2>&1 || {
    cat "$work/tb3.out" >&2
    fail "second smbd (same share directory) did not start"
    finish
    exit 1
}
tb3_port=$(sed -n 's/^export SMBW_TEST_PORT=//p' "$tb3/env" | tr -d "'\"")
proxy --down $((16 * 1024 * 1024)) --then "127.0.0.1:$tb3_port"
run_json_loud --retry-wait=0.1 "$purl/src.bin" "$work/restart-down.bin"
expect_ok "download, server restarted" 1 "$work/restart-down.bin"
proxy --up $((16 * 1024 * 1024)) --then "127.0.0.1:$tb3_port"
run_json_loud --retry-wait=0.1 "$work/src.bin" "$purl/restart-up.bin"
expect_ok "upload, server restarted" 1 "$share/restart-up.bin"

[[ -z "$(leftovers "$share")" ]] && pass "server restarted: no leftovers" ||
    fail "server restarted: leftovers: $(leftovers "$share")"

# ---- a second client opens the file during a copy --------------------------
# The temporary file of an upload is a durable open with a lease R|W|H
# (3.x): smbclient opening it makes the server break the lease, which smbcopy
# acknowledges at once while it streams (-vv says so), so the second client's
# open is answered (here with a sharing violation: smbcopy's open shares no
# writing) long before Samba's 35 s break timeout. Its time is measured
# beside an open of an idle file. The second client logs in before the copy
# starts (a login took 5 s under CI's load, by when the copy had finished):
# smbclient reads its commands from a FIFO, its output line-buffered; one
# command at a time (it reads its input through a buffer, and a second line
# sent with the first waits there until more input or the end).
open_ms() { # NAME: milliseconds smbclient takes to log in and open NAME
    local t0 t1
    t0=$(date +%s%N)
    smbclient "//127.0.0.1/$SMBW_TEST_SHARE" -p "$SMBW_TEST_PORT" \
        -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" -c "open \"$1\"" >"$work/open.out" 2>&1 || true
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}
said() { # PATTERN: wait (up to 60 s) for the FIFO client to print PATTERN
    local i
    for ((i = 0; i < 3000; i++)); do
        grep -Eq "$1" "$work/second.out" && return 0
        sleep 0.02
    done
    return 1
}
head -c $((768 << 20)) /dev/zero >"$work/big0.bin"
idle_ms=$(open_ms src.bin)
rm -f "$work/second.fifo"
mkfifo "$work/second.fifo"
stdbuf -oL smbclient "//127.0.0.1/$SMBW_TEST_SHARE" -p "$SMBW_TEST_PORT" \
    -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" <"$work/second.fifo" >"$work/second.out" 2>&1 &
sc_pid=$!
exec 9>"$work/second.fifo"
(trap '' PIPE && echo pwd >&9) || true
said '^Current directory is' || fail "second client: smbclient did not log in within 60 s: $(tr '\n' '|' <"$work/second.out")"
"$smbcopy" -vv "$work/big0.bin" "$url/big0.bin" >/dev/null 2>"$work/second.err" </dev/null &
cp_pid=$!
for ((i = 0; i < 500; i++)); do
    [[ -s "$share/.big0.bin.smbcopy.part" ]] && break
    sleep 0.02
done
t0=$(date +%s%N)
(trap '' PIPE && echo 'open ".big0.bin.smbcopy.part"' >&9) || true
said '[Oo]pen file' || true
t1=$(date +%s%N)
busy_ms=$(((t1 - t0) / 1000000))
exec 9>&-
# smbclient ends at the end of its input; never waited for without bound.
for ((i = 0; i < 3000; i++)); do
    kill -0 "$sc_pid" 2>/dev/null || break
    sleep 0.02
done
kill "$sc_pid" 2>/dev/null || true
wait "$sc_pid" || true
grep -v '^Current directory is\|^Try "help"' "$work/second.out" >"$work/open.out" || true
set +e
wait "$cp_pid"
rc=$?
set -e
if ((rc == 0)) && cmp -s "$work/big0.bin" "$share/big0.bin"; then
    pass "second client: the copy finished, identical"
else
    fail "second client: copy exit $rc: $(tr '\n' '|' <"$work/second.err")"
fi
# Answered with a sharing violation: while smbcopy still held its open (an
# open left waiting for the break until the copy closed the file would find
# no such file: it was renamed by then; seen so with the acknowledgement
# disabled).
if grep -q "lease break to state .* acknowledged" "$work/second.err" &&
    grep -q SHARING_VIOLATION "$work/open.out" && ((busy_ms < 10000)); then
    pass "second client: lease break acknowledged, its open answered in $busy_ms ms (logged in before; idle file with login: $idle_ms ms; $(tr '\n' ' ' <"$work/open.out"))"
else
    fail "second client: open took $busy_ms ms (idle $idle_ms ms): $(tr '\n' ' ' <"$work/open.out"), breaks acknowledged: $(grep -c "break to .* acknowledged" "$work/second.err")"
fi
# The temporary file held a lease (R|W|H, version 2), not a batch oplock,
# and the server answered the acknowledgment.
if grep -q "smbcopy.part: lease granted (state RWH, v2)" "$work/second.err" &&
    grep -q "lease break acknowledgment answered" "$work/second.err"; then
    pass "second client: the temporary file's lease granted (RWH), its break acknowledgment answered"
else
    fail "second client: no lease on the temporary file: $(grep -E "lease|durable" "$work/second.err" | tr '\n' '|')"
fi
rm -f "$work/big0.bin" "$share/big0.bin" "$work/second.fifo"

# ---- retries exhausted ------------------------------------------------------
# After the cut nothing answers any more (the proxy sends new connections to a
# closed port): --retries=2 tries, then a clear error, exit 3, and with
# --resume the partial file and its record (on the local disk, brought up to
# the contiguous mark) stay; a later --resume through the same URL keeps what
# the record vouches for and completes the copy.
proxy --down $((16 * 1024 * 1024)) --then "127.0.0.1:1"
run_json_loud --retries=2 --retry-wait=0.1 --resume "$purl/src.bin" "$work/gone.bin"
err=$(json_get "$work/last.json" error)
tries=$(grep -c "reconnect try" "$work/last.err" || true)
if ((rc == 3)) && [[ -n "$err" && "$tries" == 2 && ! -e "$work/gone.bin" ]] &&
    grep -q "giving up after 2 reconnect tries" "$work/last.err"; then
    pass "retries exhausted: exit 3 after 2 tries: $err"
else
    fail "retries exhausted: exit $rc, $tries tries, error '$err': $(tr '\n' '|' <"$work/last.err")"
fi
kept=$(record_done "$work/.gone.bin.smbcopy.state")
if [[ -f "$work/.gone.bin.smbcopy.part" && -n "$kept" ]] && ((kept > 0)); then
    pass "retries exhausted: the partial file and its resume record (done $kept) are kept"
else
    fail "retries exhausted: record done '$kept', kept: $(leftovers "$work" | tr '\n' ' ')"
fi
# The record names the source as it was given: come back through a proxy on
# the same port, which now cuts nothing.
proxy_port=$(cat "$work/proxy.port")
proxy
proxy_port=
run_json --resume "$purl/src.bin" "$work/gone.bin"
resumed=$(json_get "$work/last.json" resumed_bytes)
if ((rc == 0)) && [[ -n "$resumed" ]] && ((resumed > 0)); then
    pass "retries exhausted, then --resume: exit 0, $resumed bytes kept"
else
    fail "retries exhausted, then --resume: exit $rc, resumed_bytes '$resumed': $(tr '\n' '|' <"$work/last.err")"
fi
same_file "retries exhausted, then --resume" "$work/src.bin" "$work/gone.bin"
[[ -z "$(leftovers "$work")" ]] && pass "--resume: no leftovers" ||
    fail "--resume: leftovers: $(leftovers "$work")"

finish
