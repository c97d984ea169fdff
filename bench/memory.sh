#!/usr/bin/env bash
# Peak resident memory (GNU time's "Maximum resident set size") of smbcopy for
# a SIZE_MIB download (smb->local), upload (local->smb) and server-side copy
# (smb->smb), median of ROUNDS.
# Usage: [BUILD=build] [ROUNDS=5] [SIZE_MIB=1024] bench/memory.sh
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_init
bench_samba_start
share=$SMBW_TEST_SHARE_PATH
bench_make_file "$share/big"
cp "$share/big" "$bench_work/up.src"

# rss SRC DST: prints "KiB seconds method" for one smbcopy run.
rss() {
    /usr/bin/time -v -o "$bench_work/time.out" "$SMBCOPY" --json -q "$1" "$2" >"$bench_work/json.out" ||
        bench_die "smbcopy $1 $2 failed"
    local kb sec method
    kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$bench_work/time.out")
    sec=$(sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p' "$bench_work/json.out")
    method=$(sed -n 's/.*"method":"\([^"]*\)".*/\1/p' "$bench_work/json.out")
    echo "$kb $sec $method"
}

declare -A kib=() how=()
for ((r = 1; r <= ROUNDS; r++)); do
    bench_reset "$bench_work/dl.out"
    read -r k _ m < <(rss "$SHARE_URL/big" "$bench_work/dl.out")
    kib[download]+=" $k" how[download]=$m
    bench_reset "$bench_work/dl.out" "$share/up.dst"
    read -r k _ m < <(rss "$bench_work/up.src" "$SHARE_URL/up.dst")
    kib[upload]+=" $k" how[upload]=$m
    bench_reset "$share/up.dst" "$share/big.cc"
    read -r k _ m < <(rss "$SHARE_URL/big" "$SHARE_URL/big.cc")
    kib[serverside]+=" $k" how[serverside]=$m
    bench_reset "$share/big.cc"
done

echo
echo "## smbcopy peak RSS, $SIZE_MIB MiB file"
echo
echo "| transfer | method | median MiB | range MiB | runs (KiB) |"
echo "|---|---|---|---|---|"
for what in download upload serverside; do
    read -ra v <<<"${kib[$what]}"
    read -r med lo hi < <(bench_stats "${v[@]}")
    awk -v w="$what" -v m="${how[$what]}" -v med="$med" -v lo="$lo" -v hi="$hi" -v all="${v[*]}" \
        'BEGIN { printf "| %s | %s | %.1f | %.1f-%.1f | %s |\n", w, m, med / 1024, lo / 1024, hi / 1024, all }'
done
echo
bench_load_end
