#!/usr/bin/env bash
# How many connections (lanes) a server-side copy should use, and from which
# size: the measurement behind smbcopy's --connections=auto (issue 10).
# smbcopy smb://.../big smb://.../big.N --connections=N for every size of
# SIZES_MIB and every N of LANES, whole-process wall time (so the cost of
# opening the extra connections, sessions and opens is counted), median of
# ROUNDS, the lane counts alternating inside every round, plus the default
# (--connections=auto, label "auto") and local cp for reference.
# Output: markdown table on stdout; OUT/lanes.csv (size_mib,lanes,median_s,
# min_s,max_s,runs) and, with gnuplot, OUT/lanes.png (time relative to one lane).
# A second connection is opened only when the copy is at least 2 x 64 MiB
# (N x 64 MiB for N), and auto only from 2 GiB on (tools/smbcopy/smbcopy.h).
# Usage: [BUILD=build-rel] [ROUNDS=5] [SIZES_MIB="256 512 1024 2048 4096"] [LANES="1 2 3 4"]
#        [MAX_SIZE_MIB=4096] [OUT=DIR] bench/lanes.sh
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZES_MIB=${SIZES_MIB:-256 512 1024 2048 4096}
LANES=${LANES:-1 2 3 4}
MAX_SIZE_MIB=${MAX_SIZE_MIB:-4096}
sizes=
for s in $SIZES_MIB; do
    if ((s <= MAX_SIZE_MIB)); then
        sizes+=" $s"
    fi
done
[[ -n "$sizes" ]] || bench_die "no size in SIZES_MIB ($SIZES_MIB) is <= MAX_SIZE_MIB ($MAX_SIZE_MIB)"
SIZES_MIB=$sizes

bench_init
OUT=${OUT:-$bench_work/out}
mkdir -p "$OUT"
bench_samba_start
share=$SMBW_TEST_SHARE_PATH
raw=$bench_work/lanes.raw
: >"$raw"

for size in $SIZES_MIB; do
    SIZE_MIB=$size bench_make_file "$share/big"
    for ((r = 1; r <= ROUNDS; r++)); do
        for n in $LANES auto; do
            bench_reset "$share/big.l"
            bench_time t "$SMBCOPY" --json -q --connections="$n" "$SHARE_URL/big" "$SHARE_URL/big.l"
            grep -q '"method":"copychunk"' "$bench_work/last.out" ||
                bench_die "smbcopy did not copy server-side: $(cat "$bench_work/last.out")"
            if ((r == 1)); then
                cmp "$share/big" "$share/big.l" || bench_die "$n lanes, $size MiB: copy differs"
            fi
            echo "$size $n $t" >>"$raw"
        done
        bench_reset "$share/big.l" "$share/big.cp"
        bench_time t cp "$share/big" "$share/big.cp"
        echo "$size cp $t" >>"$raw"
        rm -f "$share/big.cp"
    done
done

echo
echo "## server-side copy over N connections (smbcopy --connections=N, process wall time)"
echo
echo "| size MiB | lanes | median s | range s | vs 1 lane | runs (s) |"
echo "|---|---|---|---|---|---|"
echo "size_mib,lanes,median_s,min_s,max_s,runs" >"$OUT/lanes.csv"
for size in $SIZES_MIB; do
    one=
    for n in $LANES auto cp; do
        mapfile -t v < <(awk -v s="$size" -v n="$n" '$1 == s && $2 == n { print $3 }' "$raw")
        read -r med lo hi < <(bench_stats "${v[@]}")
        [[ "$n" == 1 ]] && one=$med
        rel=$(awk -v m="$med" -v o="${one:-0}" 'BEGIN { if (o > 0) printf "%.2f", m / o; else print "-" }')
        echo "| $size | $n | $med | $lo-$hi | $rel | ${v[*]} |"
        echo "$size,$n,$med,$lo,$hi,${#v[@]}" >>"$OUT/lanes.csv"
    done
done
echo
bench_load_end

if command -v gnuplot >/dev/null; then
    dat=$OUT/lanes-rel.dat
    # size, then time / 1-lane time for each of LANES, auto, cp.
    cols=($LANES auto cp)
    awk -F, -v cols="${cols[*]}" 'BEGIN { nc = split(cols, C, " ") }
        NR > 1 { m[$1, $2] = $3; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
        END { for (i = 1; i <= n; i++) { s = order[i]; line = s
                for (k = 1; k <= nc; k++) line = line " " ((m[s, "1"] > 0) ? m[s, C[k]] / m[s, "1"] : 0)
                print line } }' "$OUT/lanes.csv" >"$dat"
    plot=""
    for ((k = 0; k < ${#cols[@]}; k++)); do
        [[ -n "$plot" ]] && plot+=", "
        title=${cols[k]}
        case $title in
        cp) title="local cp" ;;
        auto) title="--connections=auto" ;;
        *) title="$title lane(s)" ;;
        esac
        plot+="'$dat' using 1:$((k + 2)) with linespoints title '$title'"
    done
    gnuplot <<GP
set terminal pngcairo size 900,600 enhanced font 'sans,11'
set output '$OUT/lanes.png'
set title "Server-side copy over N connections: time relative to one connection${NOTE:+\\n{/*0.8 $NOTE\}}"
set logscale x 2
set xlabel 'file size (MiB)'
set ylabel 'median time / median time of 1 lane'
set grid
set key top right
plot $plot
GP
fi
