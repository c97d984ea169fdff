#!/usr/bin/env bash
# A 1 GiB download, upload and server-side copy (copychunk, also over two
# connections) through
# tests/common/cut_proxy.py, without a cut and with three cuts (after each
# 300 MiB of the stream, or at every 20th IOCTL: with SIZE_MIB under about
# 320 the copychunk run sends fewer and is not cut), ROUNDS rounds, each copy
# checked identical. Prints one line per run: label, exit code, smbcopy's
# --json seconds and reconnects, and the proxy's cut count. Both kinds go
# through the proxy, so the difference is the cost of the cuts. Run as root
# from the repository root, on a release build:
#   meson setup build-rel --buildtype=release -Dtests=false && ninja -C build-rel
#   bash tests/testbed/with-server.sh samba -- bash bench/reconnect.sh
# Knobs: BUILD (default build-rel), ROUNDS (default 3), SIZE_MIB (default 1024).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/common/common.sh
source "$root/tests/common/common.sh"
copy_init cutbench
smbcopy=$root/${BUILD:-build-rel}/tools/smbcopy/smbcopy
rounds=${ROUNDS:-3}
size=$((${SIZE_MIB:-1024} * 1024 * 1024))
head -c "$size" /dev/urandom >"$share/big.bin"
cp "$share/big.bin" "$work/big.bin"
pp=
stop_proxy() { [[ -z "$pp" ]] || { kill "$pp" 2>/dev/null || true; wait "$pp" 2>/dev/null || true; }; }
on_exit stop_proxy
proxy() {
    stop_proxy
    rm -f "$work/p" "$work/log"
    "$py" "$common_dir/cut_proxy.py" --port-file "$work/p" --log "$work/log" --timeout 900 "$@" \
        "$SMBW_TEST_HOST" "$SMBW_TEST_PORT" &
    pp=$!
    for _ in $(seq 200); do [[ -s "$work/p" ]] && break; sleep 0.05; done
    purl=smb://$SMBW_TEST_USER@$SMBW_TEST_HOST:$(cat "$work/p")/$SMBW_TEST_SHARE
}
run() { # run LABEL OUT ARGS...
    local label=$1 out=$2 rc=0
    shift 2
    rm -f "$work/out.bin" "$share/out.bin" "$share/cc.bin"
    sync
    "$smbcopy" --json -q --retry-wait=0.1 "$@" >"$work/j" 2>"$work/e" || rc=$?
    cmp -s "$out" "$work/big.bin" || label="$label DIFFERS"
    echo "$label rc=$rc seconds=$(json_get "$work/j" seconds)" \
        "reconnects=$(json_get "$work/j" reconnects) cuts=$(grep -c cut "$work/log" 2>/dev/null || echo 0)"
}
cut=$((size * 300 / 1024))
for ((r = 1; r <= rounds; r++)); do
    proxy
    run "download nocut" "$work/out.bin" "$purl/big.bin" "$work/out.bin"
    proxy --down "$cut" --cuts 3
    run "download 3cuts" "$work/out.bin" "$purl/big.bin" "$work/out.bin"
    proxy
    run "upload nocut" "$share/out.bin" "$work/big.bin" "$purl/out.bin"
    proxy --up "$cut" --cuts 3
    run "upload 3cuts" "$share/out.bin" "$work/big.bin" "$purl/out.bin"
    proxy
    run "copychunk nocut" "$share/cc.bin" --method=copychunk "$purl/big.bin" "$purl/cc.bin"
    proxy --command IOCTL --at 20 --cuts 3
    run "copychunk 3cuts" "$share/cc.bin" --method=copychunk "$purl/big.bin" "$purl/cc.bin"
    # Over two connections (--connections=2): the IOCTLs are counted over
    # both, so a cut hits one or the other; the cut one is brought back.
    proxy
    run "lanes nocut" "$share/cc.bin" --method=copychunk --connections=2 "$purl/big.bin" \
        "$purl/cc.bin"
    proxy --command IOCTL --at 20 --cuts 3
    run "lanes 3cuts" "$share/cc.bin" --method=copychunk --connections=2 "$purl/big.bin" \
        "$purl/cc.bin"
done
