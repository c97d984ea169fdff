#!/usr/bin/env bash
# A real server restart in the middle of a copy (issue 12): the private smbd
# (every process of it) is killed with SIGKILL while a download, an upload and
# a server-side copy (copychunk) are under way, and a new smbd with the same
# configuration is started on the same port. The new server knows none of
# the durable handles: their reclaim (DH2C) fails, the files are opened again
# by their path (checked to be the same files) and the copy goes on (from its
# contiguous mark where the writes in flight cannot be sent again); each
# finishes with exit 0 and identical bytes. Each case asserts that the
# restart happened while the copy was running (smbcopy alive at the kill, a
# reconnect in --json), so it cannot pass without one.
#
#   restart.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init restart
testbed=$(cd "$here/../testbed" && pwd)

# 4 KiB requests, one in flight: about 3 s for 32 MiB streamed on the test
# machine, and 5 s for 512 MiB by copychunk (16 chunks per request), so the
# kill 0.3 s after the temporary file appears lands mid-copy.
make_random "$work/src.bin" $((32 << 20))
cp "$work/src.bin" "$share/src.bin"
make_random "$work/big.bin" $((512 << 20))
cp "$work/big.bin" "$share/big.bin"
chown "$SMBW_TEST_USER:" "$share/src.bin" "$share/big.bin" 2>/dev/null || true

# An smbd of our own serving the same directory, started as the testbed
# starts its own, so that it can be killed and started again on its port.
tb=$work/tb
stop_tb() { bash "$testbed/samba.sh" stop "$tb" >/dev/null 2>&1 || true; }
on_exit stop_tb
SAMBA_SHARE1_PATH=$share bash "$testbed/samba.sh" start "$tb" >"$work/tb.out" 2>&1 || {
    cat "$work/tb.out" >&2
    fail "cannot start the private smbd"
    finish
}
port=$(sed -n 's/^export SMBW_TEST_PORT=//p' "$tb/env" | tr -d "'\"")
url=smb://$SMBW_TEST_USER@127.0.0.1:$port/$SMBW_TEST_SHARE

# Kills every process of the private smbd (it runs in a session of its own)
# and starts a new one with the same configuration on the same port.
session_pids() { ps -eo pid=,sid= | awk -v s="$1" '$2 == s { print $1 }'; }
restart_smbd() {
    local pid i p
    pid=$(cat "$tb/run/testbed-smbd.pid")
    # Again until none is left: the children serving the connections too.
    for ((i = 0; i < 100; i++)); do
        [[ -z "$(session_pids "$pid")" ]] && break
        for p in $(session_pids "$pid"); do
            kill -KILL "$p" 2>/dev/null || true
        done
        sleep 0.05
    done
    [[ -z "$(session_pids "$pid")" ]] || fail "smbd processes left after SIGKILL"
    rm -f "$tb/run/testbed-smbd.pid"
    SAMBA_PORT=$port SAMBA_SHARE1_PATH=$share bash "$testbed/samba.sh" start "$tb" \
        >>"$work/tb.out" 2>&1 || fail "the new smbd did not start on port $port"
    newpid=$(cat "$tb/run/testbed-smbd.pid")
}

# restart_case WHAT SRC PART DST SMBCOPY-ARGS...: runs smbcopy slowly (4
# KiB requests, one in flight), restarts smbd once PART (its temporary file)
# exists and the copy has run a little, and checks the outcome (DST the same
# bytes as the local SRC).
restart_case() {
    local what=$1 src=$2 part=$3 dst=$4 i cpid oldpid
    shift 4
    rm -f "$dst"
    "$smbcopy" --json -vv --retries=20 --retry-wait=0.2 --chunk-size=4K --depth=1 "$@" \
        >"$work/last.json" 2>"$work/last.err" </dev/null &
    cpid=$!
    for ((i = 0; i < 400; i++)); do
        [[ -e "$part" ]] && break
        sleep 0.025
    done
    sleep 0.3
    oldpid=$(cat "$tb/run/testbed-smbd.pid")
    if ! kill -0 "$cpid" 2>/dev/null || [[ ! -e "$part" ]]; then
        wait "$cpid" || true
        fail "$what: the copy was over before the restart (make it slower)"
        return
    fi
    restart_smbd
    set +e
    wait "$cpid"
    rc=$?
    set -e
    local rec
    rec=$(json_get "$work/last.json" reconnects)
    [[ "$newpid" != "$oldpid" ]] && pass "$what: smbd $oldpid killed mid-copy, $newpid started on port $port" ||
        fail "$what: smbd not restarted"
    ((rc == 0)) && pass "$what: exit 0" || fail "$what: exit $rc: $(tail -n 5 "$work/last.err" | tr '\n' '|')"
    same_file "$what" "$src" "$dst"
    [[ "$rec" =~ ^[1-9] ]] && pass "$what: $rec reconnect(s) in --json" ||
        fail "$what: reconnects=$rec in --json"
    if grep -q "reconnect: durable .* not reclaimed" "$work/last.err" &&
        grep -q "reconnect: .* opened again by its path (the same file)" "$work/last.err" &&
        ! grep -q "reclaimed durably" "$work/last.err"; then
        pass "$what: the durable reclaim failed, the files were opened again by path"
    else
        fail "$what: no failed reclaim and reopen by path: $(grep -i 'reclaim\|opened again\|reconnect' "$work/last.err" | tr '\n' '|')"
    fi
}

restart_case "download" "$work/src.bin" "$work/.down.bin.smbcopy.part" "$work/down.bin" \
    "$url/src.bin" "$work/down.bin"
restart_case "upload" "$work/src.bin" "$share/.up.bin.smbcopy.part" "$share/up.bin" \
    "$work/src.bin" "$url/up.bin"
# The reopened temporary file is at its final size: the writes in flight are
# sent again, else the copy goes back to its contiguous mark.
if grep -q "continuing .*up.bin at byte\|request(s) sent again after the reconnect, 0 failed" "$work/last.err"; then
    pass "upload: went on from its mark or with its writes sent again"
else
    fail "upload: neither continued from its mark nor sent its writes again"
fi
restart_case "server-side copy" "$work/big.bin" "$share/.cc.bin.smbcopy.part" "$share/cc.bin" \
    --method=copychunk "$url/big.bin" "$url/cc.bin"
if grep -q "continuing .*cc.bin at byte" "$work/last.err"; then
    pass "server-side copy: continued from its contiguous mark"
else
    fail "server-side copy: did not continue from its mark: $(grep -i 'continuing' "$work/last.err" | tr '\n' '|')"
fi
[[ -z "$(leftovers "$share")" ]] && pass "no leftovers on the share" ||
    fail "leftovers: $(leftovers "$share")"
finish
