#!/usr/bin/env bash
# PNG plots (gnuplot, package gnuplot-nox) from bench/sweep.sh's median.csv:
#   serverside-size.png   server-side copy: time against file size (log-log)
#   download-size.png     download: time against file size (log-log)
#   serverside-delay.png  server-side copy: time against one-way delay
# Each point is the median of the rounds, the bar the range (min-max).
# Usage: bench/plot.sh DIR [NOTE]   (DIR holds median.csv; NOTE goes under the titles)
set -euo pipefail

dir=${1:?usage: bench/plot.sh DIR [NOTE]}
note=${2:-}
csv=$dir/median.csv
[[ -s "$csv" ]] || {
    echo "plot: no $csv" >&2
    exit 1
}
command -v gnuplot >/dev/null || {
    echo "plot: gnuplot is missing (apt-get install gnuplot-nox; bench/run.sh installs it)" >&2
    exit 1
}
dat=$(mktemp -d)
trap 'rm -rf "$dat"' EXIT
# One file per sweep and contender: x median min max.
awk -F, -v d="$dat" 'NR > 1 { f = d "/" $1 "-" $2 ".dat"; print $3, $4, $5, $6 > f }' "$csv"

# series SWEEP: the gnuplot plot clauses for every contender of SWEEP.
series() {
    local sweep=$1 c first=1 out=""
    for c in smbcopy smbc_splice smbclient cp; do
        local f=$dat/$sweep-$c.dat
        [[ -s "$f" ]] || continue
        ((first)) || out+=", "
        first=0
        out+="'$f' using 1:2:3:4 with yerrorlines title '$(label "$sweep" "$c")'"
    done
    echo "$out"
}
label() {
    case "$1:$2" in
    download:smbcopy) echo "smbcopy (signed 3.1.1)" ;;
    download:smbclient) echo "smbclient get (signed)" ;;
    download:cp) echo "cp (local, no network)" ;;
    *:smbclient) echo "smbclient scopy" ;;
    *:cp) echo "cp (local, no network)" ;;
    *:smbcopy) echo "smbcopy (defaults)" ;;
    *:smbc_splice) echo 'smbc\_splice' ;;
    *) echo "$2" ;;
    esac
}

sub=""
[[ -n "$note" ]] && sub="\\n{/*0.8 $note}"
common="set terminal pngcairo size 900,600 enhanced font 'sans,11'
set datafile separator ' '
set grid
set key top left
set ylabel 'seconds (median; bar: min-max)'"

gnuplot <<GP
$common
set output '$dir/serverside-size.png'
set title "Server-side copy on one Samba share: time against file size$sub"
set logscale xy 2
set xlabel 'file size (MiB)'
set format y '%g'
plot $(series size)
GP

if [[ -n "$(series download)" ]]; then
    gnuplot <<GP
$common
set output '$dir/download-size.png'
set title "Download (share to local file): time against file size$sub"
set logscale xy 2
set xlabel 'file size (MiB)'
set format y '%g'
plot $(series download)
GP
fi

if [[ -n "$(series delay)" ]]; then
    gnuplot <<GP
$common
set output '$dir/serverside-delay.png'
set title "Server-side copy: time against one-way delay$sub"
set xlabel 'one-way delay per direction (ms; 0 = no proxy)'
set xrange [-0.5:*]
set yrange [0:*]
plot $(series delay)
GP
fi
ls "$dir"/*.png
