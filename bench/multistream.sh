#!/usr/bin/env bash
# Downloads and uploads of SIZE_MIB over one connection against several
# (bench/xferbench.c: N connections, each its own session, tree and open and
# one contiguous part of the file, all driven by one thread with 16 requests
# of 1 MiB in flight each, as smbcopy's stream engine drives one), signed
# (smbcopy's default) and encrypted (AES-128-GCM). Each transfer starts from
# the same state (the destination removed, sync, untimed); the order of the
# connection counts rotates from round to round; median of ROUNDS. Times
# include connecting, logging in and opening every connection.
# Usage: [BUILD=build] [ROUNDS=5] [SIZE_MIB=1024] [CONNS="1,2,3"] bench/multistream.sh
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONNS=${CONNS:-1,2,3}

bench_init
bench_samba_start
share=$SMBW_TEST_SHARE_PATH
bench_make_file "$share/big"
cp "$share/big" "$bench_work/up.src"
bench_cc_smbwire xferbench
export SMB_PASSWORD=$SMBW_TEST_PASS

declare -A secs=()
IFS=, read -ra counts <<<"$CONNS"
n=${#counts[@]}
for mode in signed encrypted; do
    enc=()
    [[ $mode == encrypted ]] && enc=(-e)
    for op in get put; do
        for ((r = 1; r <= ROUNDS; r++)); do
            for ((i = 0; i < n; i++)); do
                j=${counts[$(((r - 1 + i) % n))]}
                bench_reset "$bench_work/dl.out" "$share/up.dst"
                if [[ $op == get ]]; then
                    "$bench_work/xferbench" "${enc[@]}" -r 1 -j "$j" get big "$bench_work/dl.out" \
                        >"$bench_work/x.out" || bench_die "xferbench get -j $j failed"
                    ((r > 1)) || cmp "$share/big" "$bench_work/dl.out" ||
                        bench_die "download over $j connection(s) differs"
                else
                    "$bench_work/xferbench" "${enc[@]}" -r 1 -j "$j" put "$bench_work/up.src" up.dst \
                        >"$bench_work/x.out" || bench_die "xferbench put -j $j failed"
                    ((r > 1)) || cmp "$bench_work/up.src" "$share/up.dst" ||
                        bench_die "upload over $j connection(s) differs"
                fi
                secs[$mode $op $j]+=" $(sed -n 's/.* seconds=\([0-9.]*\) .*/\1/p' "$bench_work/x.out")"
            done
        done
    done
done
bench_reset "$bench_work/dl.out" "$share/up.dst"

echo
echo "## $SIZE_MIB MiB download (get) and upload (put), one vs several connections (process-internal time, setup included)"
echo
bench_table_head
for mode in signed encrypted; do
    for op in get put; do
        for j in "${counts[@]}"; do
            read -ra vals <<<"${secs[$mode $op $j]}"
            bench_row "$mode $op, $j connection(s)" "${vals[@]}"
        done
    done
done
echo
bench_load_end
