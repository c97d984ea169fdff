#!/usr/bin/env bash
# Copychunk pipeline depth sweep for a server-side copy of SIZE_MIB, on plain
# loopback and through bench/latency_proxy.py (fixed one-way delay per
# direction), with bench/ccbench.c (smbw_copy_file, opts.depth). Then, at the
# largest delay, the request shape: chunks per request x chunk size.
# Usage: [BUILD=build] [ROUNDS=5] [DEPTHS=1,2,4,8,16] [DELAYS_MS="0 1 5"] bench/depth.sh
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEPTHS=${DEPTHS:-1,2,4,8,16}
DELAYS_MS=${DELAYS_MS:-0 1 5}
SHAPES=${SHAPES:-16:1048576,256:65536,256:1048576}
SHAPE_DEPTHS=${SHAPE_DEPTHS:-1,4}

bench_init
bench_samba_start
share=$SMBW_TEST_SHARE_PATH
bench_make_file "$share/big"
bench_cc_smbwire ccbench

# start_proxy DELAY_MS: starts the proxy in front of Samba, sets proxy_port.
start_proxy() {
    local pf=$bench_work/proxy.port
    rm -f "$pf"
    python3 "$bench_root/bench/latency_proxy.py" --delay-ms "$1" \
        --upstream "127.0.0.1:$SMBW_TEST_PORT" --port-file "$pf" >/dev/null &
    proxy_pid=$!
    bench_pids+=("$proxy_pid")
    proxy_port=$(bench_wait_port "$pf" "latency proxy")
}

stop_proxy() {
    kill "$proxy_pid" 2>/dev/null || true
    wait "$proxy_pid" 2>/dev/null || true
}

# table KEY FILE: markdown rows grouped by KEY (a field of ccbench's lines).
table() {
    local key=$1 file=$2 k
    local -a keys
    mapfile -t keys < <(awk -v key="$key" '!/^#/ {
            for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
            print f[key] }' "$file" | awk '!seen[$0]++')
    for k in "${keys[@]}"; do
        local -a secs
        mapfile -t secs < <(awk -v key="$key" -v want="$k" '!/^#/ {
                for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
                if (f[key] == want) print f["seconds"] }' "$file")
        local extra
        extra=$(awk -v key="$key" -v want="$k" '!/^#/ {
                for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
                if (f[key] == want) line = "requests " f["requests"] ", retries " f["retries"] ", final " f["final_cpr"] "x" f["final_chunk"] }
                END { print line }' "$file")
        bench_row "$key=$k ($extra)" "${secs[@]}"
    done
}

run() {
    "$bench_work/ccbench" -H 127.0.0.1 -P "$1" -s -r "$ROUNDS" "${@:2}" big big.cc
}

echo
for delay in $DELAYS_MS; do
    port=$SMBW_TEST_PORT
    if [[ "$delay" != 0 ]]; then
        start_proxy "$delay"
        port=$proxy_port
    fi
    out=$bench_work/depth-$delay.txt
    run "$port" -d "$DEPTHS" >"$out" || bench_die "ccbench failed at delay $delay ms"
    cmp "$share/big" "$share/big.cc" || bench_die "copy differs at delay $delay ms"
    echo "## depth sweep, one-way delay $delay ms ($(head -n 1 "$out" | tr -d '#'))"
    echo
    bench_table_head
    table depth "$out"
    echo
    if [[ "$delay" != 0 ]]; then
        stop_proxy
    fi
done

last=${DELAYS_MS##* }
port=$SMBW_TEST_PORT
if [[ "$last" != 0 ]]; then
    start_proxy "$last"
    port=$proxy_port
fi
for d in ${SHAPE_DEPTHS//,/ }; do
    out=$bench_work/shape-$d.txt
    run "$port" -d "$d" -c "$SHAPES" >"$out" || bench_die "ccbench failed (shapes)"
    cmp "$share/big" "$share/big.cc" || bench_die "copy differs (shapes)"
    echo "## request shape (cpr:chunk), depth $d, one-way delay $last ms"
    echo
    bench_table_head
    # One key per shape: cpr and chunk together.
    awk '/^#/ { next } {
            for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
            $0 = $0 " shape=" f["cpr"] "x" f["chunk"]; print }' "$out" >"$out.k"
    table shape "$out.k"
    echo
done
if [[ "$last" != 0 ]]; then
    stop_proxy
fi
bench_reset "$share/big.cc"
bench_load_end
