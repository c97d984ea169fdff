#!/usr/bin/env bash
# smbcopy under faults, against the Samba that with-server.sh started:
#  1. the serving smbd killed mid-download, mid-upload and mid-copychunk:
#     with --retries=0 smbcopy exits 3 (connection error) and the final name
#     is absent; with reconnecting on (the default) it connects again, opens
#     the files again by name and finishes: exit 0, identical;
#  2. smbcopy itself SIGKILLed mid-download and mid-upload (once its resume
#     record shows progress): the final name is absent; `smbcopy --resume`
#     then keeps what the record vouches for (resumed_bytes > 0, said on
#     stderr) and completes it, identical (sha256).
# The fault is placed deterministically: once the temporary
# .NAME.smbcopy.part exists and has data, smbcopy is SIGSTOPped, the fault is
# applied, and smbcopy continued. A copy that ends before that is a failure.
#   smbcopy_faults.sh SMBCOPY
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init faults
port=$SMBW_TEST_PORT
sdir=$share
cpid=
stop_copy() {
    if [[ -n "$cpid" ]]; then
        kill -KILL "$cpid" 2>/dev/null || true
        kill -CONT "$cpid" 2>/dev/null || true
    fi
}
on_exit stop_copy

size_mib=512
echo "making a ${size_mib} MiB source"
head -c "${size_mib}M" /dev/urandom >"$sdir/big.bin"
chmod 0666 "$sdir/big.bin"
cp "$sdir/big.bin" "$work/local.bin"
want=$(sha256sum <"$work/local.bin" | cut -d' ' -f1)

# Waits (bounded) until FILE exists with data; 0 when seen, 1 otherwise. For
# a .NAME.smbcopy.part with RECORD=1, also until its resume record
# (.NAME.smbcopy.state) says some data is done, so that a --resume has
# something to keep.
wait_part() {
    local file=$1 record=${2:-0} i d
    for ((i = 0; i < 1000; i++)); do
        if [[ -s "$file" ]]; then
            ((record)) || return 0
            d=$(sed -n 's/^done \([0-9]\{20\}\)$/\1/p' "${file%.part}.state" 2>/dev/null || true)
            [[ -n "$d" ]] && ((10#$d > 0)) && return 0
        fi
        if ! kill -0 "$cpid" 2>/dev/null; then
            return 1
        fi
        sleep 0.01
    done
    return 1
}

# PIDs of the smbd processes serving established connections on our port.
serving_smbds() {
    ss -tnpH state established "( sport = :$port )" |
        grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u
}

# Runs smbcopy ARGS in the background; stops it once PART has data; applies
# FAULT (kill-smbd | kill-smbcopy); returns smbcopy's exit status via $rc.
run_with_fault() {
    local fault=$1 part=$2
    shift 2
    "$smbcopy" --quiet --timeout=10 "$@" &
    cpid=$!
    local record=0
    [[ "$fault" == kill-smbcopy ]] && record=1
    if ! wait_part "$part" "$record"; then
        wait "$cpid" || true
        cpid=
        fail "$fault $*: the copy ended before the fault could be applied"
        rc=255
        return
    fi
    kill -STOP "$cpid"
    if [[ "$fault" == kill-smbd ]]; then
        local p n=0
        for p in $(serving_smbds); do
            kill -KILL "$p"
            n=$((n + 1))
        done
        ((n > 0)) || fail "no smbd serves port $port"
        kill -CONT "$cpid"
    else
        kill -KILL "$cpid"
        kill -CONT "$cpid" 2>/dev/null || true
    fi
    rc=0
    # bounded: smbcopy's own --timeout (10 s) covers every network wait
    wait "$cpid" || rc=$?
    cpid=
}

check_killed_smbd() {
    local what=$1 final=$2
    if ((rc != 3)); then
        fail "$what: smbcopy exit $rc after its smbd was killed (wanted 3)"
    fi
    if [[ -e "$final" ]]; then
        fail "$what: the final name $final exists after a failed copy"
    fi
    pass "$what: exit $rc, $final absent"
}

# --- 1. smbd killed mid-copy, --retries=0 -----------------------------------
run_with_fault kill-smbd "$work/.dl.bin.smbcopy.part" --retries=0 --method=stream \
    "$url/big.bin" "$work/dl.bin"
check_killed_smbd "kill smbd mid-download" "$work/dl.bin"

run_with_fault kill-smbd "$sdir/.ul.bin.smbcopy.part" --retries=0 "$work/local.bin" "$url/ul.bin"
check_killed_smbd "kill smbd mid-upload" "$sdir/ul.bin"

run_with_fault kill-smbd "$sdir/.cc.bin.smbcopy.part" --retries=0 --method=copychunk --depth=1 \
    "$url/big.bin" "$url/cc.bin"
check_killed_smbd "kill smbd mid-copychunk" "$sdir/cc.bin"

# --- 1b. the same with reconnecting on (the default): the new smbd has no
# open of ours, so smbcopy opens the files again by name, checks they are the
# same files and continues from its mark: exit 0, identical.
check_reconnected() {
    local what=$1 final=$2 got
    got=$(sha256sum <"$final" 2>/dev/null | cut -d' ' -f1)
    if ((rc == 0)) && [[ "$got" == "$want" ]]; then
        pass "$what: reconnected, exit 0, identical (sha256)"
    else
        fail "$what: exit $rc, sha256 '$got' (wanted $want)"
    fi
}
run_with_fault kill-smbd "$work/.rdl0.bin.smbcopy.part" --retry-wait=0.1 --method=stream \
    "$url/big.bin" "$work/rdl0.bin"
check_reconnected "kill smbd mid-download, reconnect" "$work/rdl0.bin"

run_with_fault kill-smbd "$sdir/.rul0.bin.smbcopy.part" --retry-wait=0.1 "$work/local.bin" \
    "$url/rul0.bin"
check_reconnected "kill smbd mid-upload, reconnect" "$sdir/rul0.bin"

run_with_fault kill-smbd "$sdir/.rcc0.bin.smbcopy.part" --retry-wait=0.1 --method=copychunk \
    --depth=1 "$url/big.bin" "$url/rcc0.bin"
check_reconnected "kill smbd mid-copychunk, reconnect" "$sdir/rcc0.bin"

# --- 2. smbcopy SIGKILLed, then --resume ------------------------------------
resume_case() {
    local what=$1 part=$2 final=$3 src=$4 dst=$5
    rm -f "$part" "$final"
    run_with_fault kill-smbcopy "$part" --method=stream "$src" "$dst"
    if [[ -e "$final" ]]; then
        fail "$what: the final name exists after SIGKILL"
    fi
    if [[ ! -e "$part" ]]; then
        fail "$what: no partial file $part left to resume"
    fi
    local got resumed part_size
    part_size=$(stat -c %s "$part" 2>/dev/null || echo 0)
    if ! timeout 120 "$smbcopy" --json --no-progress --timeout=10 --resume --method=stream \
        "$src" "$dst" >"$work/resume.json" 2>"$work/resume.err"; then
        fail "$what: smbcopy --resume failed: $(cat "$work/resume.err")"
        return
    fi
    # Something must have been kept from the killed run (at most what the
    # partial file held), and smbcopy must have said where it resumed.
    resumed=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["resumed_bytes"])' \
        "$work/resume.json" 2>/dev/null || echo "")
    got=$(sha256sum <"$final" | cut -d' ' -f1)
    if [[ ! "$resumed" =~ ^[0-9]+$ ]] || ((resumed == 0 || resumed > part_size)); then
        fail "$what: resumed_bytes '$resumed' (partial file had $part_size bytes)"
    elif ! grep -q "^smbcopy: resuming .* at byte $resumed of" "$work/resume.err"; then
        fail "$what: no 'resuming at byte $resumed' line: $(cat "$work/resume.err")"
    elif [[ "$got" != "$want" ]]; then
        fail "$what: resumed copy differs (sha256 $got, wanted $want)"
    elif [[ -e "$part" ]]; then
        fail "$what: the partial file is still there after --resume"
    else
        pass "$what: final absent after SIGKILL; --resume kept $resumed bytes and completed it (sha256 equal)"
    fi
}

resume_case "SIGKILL smbcopy mid-download" "$work/.rdl.bin.smbcopy.part" "$work/rdl.bin" \
    "$url/big.bin" "$work/rdl.bin"
resume_case "SIGKILL smbcopy mid-upload" "$sdir/.rul.bin.smbcopy.part" "$sdir/rul.bin" \
    "$work/local.bin" "$url/rul.bin"

rm -f "$sdir"/big.bin "$sdir"/rul.bin "$sdir"/.*.smbcopy.part
finish
