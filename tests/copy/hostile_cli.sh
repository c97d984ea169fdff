#!/usr/bin/env bash
# smbcopy itself against every scenario of the hostile fake server
# (fakesmb.py, which serves guest sessions: --guest): for each, a download of
# src.bin to a local directory, an upload of a local file of 300,000 bytes
# (more than one request) and a server-side copy of src.bin on the fake
# server, each with --timeout 1:
#  - the run ends (no crash: an exit status of smbcopy's own, 0-7), within
#    10 s;
#  - a failure is said in smbcopy's words: its last line starts "smbcopy: ";
#  - a failed download leaves nothing in the local directory, a finished one
#    is the fake's src.bin byte for byte.
# (The library's own answer to each scenario is checked by tests/hostile.)
#
#   hostile_cli.sh PATH/TO/smbcopy PATH/TO/fakesmb.py
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
fakesmb=${2:?usage: $0 PATH/TO/smbcopy PATH/TO/fakesmb.py}
work=$(mktemp -d "${TMPDIR:-/tmp}/copy-hostile-cli.XXXXXX")
trap run_exit_hooks EXIT
unset SMB_PASSWORD

fake_pid=
stop_fake() {
    [[ -z "$fake_pid" ]] || kill "$fake_pid" 2>/dev/null || true
    [[ -z "$fake_pid" ]] || wait "$fake_pid" 2>/dev/null || true
    fake_pid=
}
on_exit stop_fake
"$py" -c 'import sys; sys.stdout.buffer.write(bytes(((i * 7 + 3 + (i >> 8)) & 0xFF) for i in range(65536)))' >"$work/src.expected"

head -c 300000 /dev/urandom >"$work/up.bin"
mapfile -t scenarios < <("$py" "$fakesmb" --list | awk '{print $1}')
((${#scenarios[@]} > 50)) || fail "fakesmb.py --list gave ${#scenarios[@]} scenarios"
bad=0 runs=0
for sc in "${scenarios[@]}"; do
    for how in download upload server-side; do
        stop_fake
        rm -rf "$work/d" "$work/fake.port"
        mkdir "$work/d"
        "$py" "$fakesmb" --port-file "$work/fake.port" --timeout 30 "$sc" >/dev/null 2>&1 &
        fake_pid=$!
        for ((i = 0; i < 100; i++)); do
            [[ -s "$work/fake.port" ]] && break
            sleep 0.05
        done
        u="smb://127.0.0.1:$(cat "$work/fake.port")/share"
        src=$u/src.bin dst=$work/d/out.bin
        [[ $how == server-side ]] && dst=$u/dst.bin
        [[ $how == upload ]] && src=$work/up.bin dst=$u/up.bin
        start=$(date +%s%N)
        set +e
        timeout 30 "$smbcopy" -q --guest --timeout 1 "$src" "$dst" </dev/null >/dev/null 2>"$work/err"
        rc=$?
        set -e
        ms=$((($(date +%s%N) - start) / 1000000))
        runs=$((runs + 1))
        why=
        if ((rc > 7)); then
            why="exit $rc"
        elif ((ms > 10000)); then
            why="took $ms ms"
        elif ((rc != 0)) && [[ "$(tail -1 "$work/err")" != smbcopy:\ * ]]; then
            why="last line not smbcopy's: $(tail -1 "$work/err")"
        elif [[ $how == download ]] && ((rc != 0)) && [[ -n "$(ls -A "$work/d")" ]]; then
            why="left behind: $(ls -A "$work/d" | tr '\n' ' ')"
        elif [[ $how == download ]] && ((rc == 0)) && ! cmp -s "$work/src.expected" "$work/d/out.bin"; then
            why="exit 0, but the copy differs from src.bin"
        fi
        if [[ -n "$why" ]]; then
            fail "$sc, $how: $why ($(tail -1 "$work/err"))"
            bad=$((bad + 1))
        fi
    done
done
if ((bad == 0)); then
    pass "$runs runs over ${#scenarios[@]} scenarios: each ended within 10 s with smbcopy's own exit status and words, nothing half-written left"
fi

finish
