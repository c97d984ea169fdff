#!/usr/bin/env bash
# Runs a command against a private test server:
#
#   with-server.sh samba|impacket|samba-dfs [VAR=VALUE ...] -- CMD [ARGS...]
#
# Makes a temporary directory, starts the server with the VAR=VALUE knobs in
# its environment (see samba.sh), exports the SMBW_TEST_* variables, runs CMD
# and stops the server afterwards (also when CMD fails or a signal arrives).
# Exits with CMD's status. A server that cannot start is a failure (exit 1),
# never a skip. SMBW_KEEP_TESTBED=1 keeps the directory for inspection.
# samba-dfs (two servers and a DFS namespace, samba-dfs.sh) runs the servers
# and CMD in a private network namespace (unshare -n) with lo up and
# 127.0.0.2 added, so that two smbd can listen on one port.
# shellcheck disable=SC2317 # cleanup/on_signal run from traps
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
    echo "usage: $0 samba|impacket|samba-dfs [VAR=VALUE ...] -- CMD [ARGS...]" >&2
    exit 2
}

(($# >= 1)) || usage
kind=$1
shift
case $kind in
samba | impacket) ;;
samba-dfs)
    if [[ "${SMBW_IN_NETNS:-}" != 1 ]]; then
        SMBW_IN_NETNS=1 exec unshare -n -- bash "$0" "$kind" "$@"
    fi
    ip link set lo up
    ip addr add 127.0.0.2/32 dev lo
    ;;
*) usage ;;
esac
script=$here/$kind.sh

while (($# > 0)) && [[ "$1" != "--" ]]; do
    if [[ "$1" =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then
        export "${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
    else
        echo "with-server: not a VAR=VALUE knob: $1" >&2
        usage
    fi
    shift
done
(($# >= 2)) || usage
shift # the --

tb_dir=$(mktemp -d "${TMPDIR:-/tmp}/smbw-$kind.XXXXXX")
watchdog_pid=

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    bash "$script" stop "$tb_dir" || true
    if [[ -n "$watchdog_pid" ]]; then
        kill "$watchdog_pid" 2>/dev/null || true
    fi
    if [[ "${SMBW_KEEP_TESTBED:-0}" == 1 ]]; then
        echo "with-server: kept $tb_dir" >&2
    else
        rm -rf "$tb_dir"
    fi
    exit "$rc"
}
on_signal() {
    echo "with-server: got SIG$1, stopping the $kind server" >&2
    case $1 in
    INT) exit 130 ;;
    HUP) exit 129 ;;
    *) exit 143 ;;
    esac
}
trap cleanup EXIT
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

if ! bash "$script" start "$tb_dir" >"$tb_dir.start.log" 2>&1; then
    cat "$tb_dir.start.log" >&2
    rm -f "$tb_dir.start.log"
    echo "with-server: FAILED to start the $kind test server (a missing server is a failure)" >&2
    exit 1
fi
cat "$tb_dir.start.log"
rm -f "$tb_dir.start.log"

# If this script is killed without a chance to clean up (SIGKILL from a test
# runner's timeout), a detached watchdog stops the server once we are gone.
# shellcheck disable=SC2016 # expanded by the inner bash
setsid bash -c '
    while kill -0 "$1" 2>/dev/null; do sleep 1; done
    bash "$2" stop "$3" || true
    [[ "${SMBW_KEEP_TESTBED:-0}" == 1 ]] || rm -rf "$3"
' with-server-watchdog "$$" "$script" "$tb_dir" </dev/null >/dev/null 2>&1 &
watchdog_pid=$!

# shellcheck source=/dev/null
source "$tb_dir/env"

set +e
"$@"
status=$?
set -e
if ((status != 0)); then
    for log in "$tb_dir/log/smbd.log" "$tb_dir/log/impacket.log"; do
        if [[ -f "$log" ]]; then
            echo "--- with-server: last lines of $log" >&2
            tail -n 40 "$log" >&2
        fi
    done
fi
exit "$status"
