#!/usr/bin/env bash
# Runs a command against a private MIT KDC plus a Kerberos-accepting Samba:
#
#   with-kdc.sh [samba-dfs] [VAR=VALUE ...] -- CMD [ARGS...]
#
# Starts tests/testbed/kdc.sh in a temporary directory (which also kinits the
# test user into a private credential cache), then hands over to
# tests/testbed/with-server.sh samba with the KDC's smbd lines appended to
# SAMBA_EXTRA_GLOBAL, the KDC's variables (KRB5_CONFIG, KRB5CCNAME,
# SMBW_KRB5_*) exported and the VAR=VALUE knobs passed on. Stops the KDC
# afterwards, also on failure or a signal. A KDC or server that cannot start
# is a failure (exit 1), never a skip. With samba-dfs the KDC, the two DFS
# servers (with-server.sh samba-dfs) and CMD share one private network
# namespace (unshare -n, lo up): the KDC listens on its 127.0.0.1 there.
# shellcheck disable=SC2317 # cleanup/on_signal run from traps
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
testbed=$(cd "$here/../testbed" && pwd)

usage() {
    echo "usage: $0 [samba-dfs] [VAR=VALUE ...] -- CMD [ARGS...]" >&2
    exit 2
}

kind=samba
if [[ "${1:-}" == samba-dfs ]]; then
    kind=samba-dfs
    if [[ "${SMBW_IN_NETNS:-}" != 1 ]]; then
        SMBW_IN_NETNS=1 exec unshare -n -- bash "$0" "$@"
    fi
    ip link set lo up
    shift
fi

knobs=()
while (($# > 0)) && [[ "$1" != "--" ]]; do
    [[ "$1" =~ ^[A-Za-z_][A-Za-z0-9_]*=.*$ ]] || usage
    knobs+=("$1")
    shift
done
(($# >= 2)) || usage
shift # the --

kdc_dir=$(mktemp -d "${TMPDIR:-/tmp}/smbw-kdc.XXXXXX")
watchdog_pid=

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    bash "$testbed/kdc.sh" stop "$kdc_dir" || true
    if [[ -n "$watchdog_pid" ]]; then
        kill "$watchdog_pid" 2>/dev/null || true
    fi
    if [[ "${SMBW_KEEP_TESTBED:-0}" == 1 ]]; then
        echo "with-kdc: kept $kdc_dir" >&2
    else
        rm -rf "$kdc_dir"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if ! bash "$testbed/kdc.sh" start "$kdc_dir"; then
    echo "with-kdc: FAILED to start the KDC (a missing server is a failure)" >&2
    tail -n 20 "$kdc_dir"/log/*.log "$kdc_dir"/log/*.out >&2 2>/dev/null || true
    exit 1
fi

# Stops the KDC if this script dies without cleaning up (SIGKILL).
# shellcheck disable=SC2016 # expanded by the inner bash
setsid bash -c '
    while kill -0 "$1" 2>/dev/null; do sleep 1; done
    bash "$2" stop "$3" || true
    [[ "${SMBW_KEEP_TESTBED:-0}" == 1 ]] || rm -rf "$3"
' with-kdc-watchdog "$$" "$testbed/kdc.sh" "$kdc_dir" </dev/null >/dev/null 2>&1 &
watchdog_pid=$!

# shellcheck source=/dev/null
source "$kdc_dir/env"
extra=$(cat "$kdc_dir/samba-global")
if [[ -n "${SAMBA_EXTRA_GLOBAL:-}" ]]; then
    extra="$SAMBA_EXTRA_GLOBAL"$'\n'"$extra"
fi

set +e
bash "$testbed/with-server.sh" "$kind" "SAMBA_EXTRA_GLOBAL=$extra" "${knobs[@]}" -- "$@"
status=$?
set -e
if ((status != 0)); then
    echo "--- with-kdc: last lines of the KDC log" >&2
    tail -n 20 "$kdc_dir/log/kdc.log" >&2 2>/dev/null || true
fi
exit "$status"
