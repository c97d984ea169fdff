#!/usr/bin/env bash
# Exploratory: a server-side copy of SIZE_MIB split across two connections
# (bench/ccbench.c -j 2: two smbw_conn, each its own session, tree and opens,
# one thread each, smbw_copy_range on disjoint halves) against one connection
# (-j 1 -R, the same code path) and local cp on the share, same run, median of
# ROUNDS, configurations interleaved within each round. smbd serves each TCP
# connection in its own process, so two connections can use both server cores.
# Usage: [BUILD=build] [ROUNDS=5] [SIZE_MIB=1024] bench/multiconn.sh
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# label|ccbench arguments
CONFIGS=(
    "1 connection, depth 4|-j 1 -R -d 4"
    "2 connections, depth 4 each|-j 2 -d 4"
    "2 connections, depth 1 each|-j 2 -d 1"
    "2 connections, depth 2 each|-j 2 -d 2"
)

bench_init
bench_samba_start
share=$SMBW_TEST_SHARE_PATH
bench_make_file "$share/big"
bench_cc_smbwire ccbench

declare -A secs=()
t_cp=()
for ((r = 1; r <= ROUNDS; r++)); do
    for cfg in "${CONFIGS[@]}"; do
        label=${cfg%%|*}
        read -ra args <<<"${cfg#*|}"
        # ccbench removes the destination and syncs (-s) before timing.
        "$bench_work/ccbench" -s -r 1 "${args[@]}" big big.mc >"$bench_work/mc.out" ||
            bench_die "ccbench ${args[*]} failed"
        if ((r == 1)); then
            cmp "$share/big" "$share/big.mc" || bench_die "$label: copy differs"
        fi
        secs[$label]+=" $(sed -n 's/.* seconds=\([0-9.]*\) .*/\1/p' "$bench_work/mc.out")"
    done
    bench_reset "$share/big.mc" "$share/big.cp"
    bench_time t cp "$share/big" "$share/big.cp"
    t_cp+=("$t")
    bench_reset "$share/big.cp"
done

echo
echo "## $SIZE_MIB MiB server-side copy, one vs two connections (copychunk; time from create to last close)"
echo
bench_table_head
for cfg in "${CONFIGS[@]}"; do
    label=${cfg%%|*}
    read -ra vals <<<"${secs[$label]}"
    bench_row "$label" "${vals[@]}"
done
bench_row "local cp on the share directory" "${t_cp[@]}"
echo
bench_load_end
