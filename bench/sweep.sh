#!/usr/bin/env bash
# Time against file size and against one-way delay, as CSV for bench/plot.gp
# (issue 10). One private Samba share (ext4 or whatever BENCH_TMP is on), page
# cache warm, the contenders alternating inside every round:
#
#   server-side copy of one file on the share
#     smbcopy      smbcopy smb://.../big smb://.../big.sc (defaults; --json must
#                  say copychunk)
#     smbc_splice  libsmbclient's smbc_splice (bench/splice.c)
#     smbclient    smbclient -c 'scopy big big.scopy' (Samba's own client)
#     cp           local cp in the share's directory (no network: the floor)
#   download of the same file to a local file (size sweep only)
#     smbcopy      smbcopy smb://.../big LOCAL (defaults: signed SMB 3.1.1)
#     smbclient    smbclient --client-protection=sign -c 'get big LOCAL'
#     cp           local cp of the share's file to the same local directory
#
# Size sweep: every size of SIZES_MIB up to MAX_SIZE_MIB. Delay sweep: a copy
# of DELAY_SIZE_MIB (capped at MAX_SIZE_MIB) with DELAYS_MS one-way delay per
# direction through bench/latency_proxy.py (0 = straight to Samba, no proxy).
# Downloads are not swept over delay: bulk data through the Python proxy
# measures the proxy, not SMB (bench/README.md).
#
# Before every timed run the destination is removed and `sync` runs (not
# timed). Round 1 of every size and delay checks every copy with cmp.
#
# Output, in OUT (default: the work directory, kept):
#   raw.csv     sweep,contender,size_mib,delay_ms,round,seconds (every run)
#   median.csv  sweep,contender,x,median_s,min_s,max_s,runs,median_mib_s
#               (x = size in MiB for sweep size/download, delay in ms for delay)
#   meta.txt    machine, load averages at start and end, knobs
# Usage: [BUILD=build-rel] [ROUNDS=5] [SIZES_MIB="64 128 ... 4096"] [MAX_SIZE_MIB=4096]
#        [DELAY_SIZE_MIB=1024] [DELAYS_MS="0 1 5 10"] [OUT=DIR] bench/sweep.sh
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZES_MIB=${SIZES_MIB:-64 128 256 512 1024 2048 4096}
MAX_SIZE_MIB=${MAX_SIZE_MIB:-4096}
DELAY_SIZE_MIB=${DELAY_SIZE_MIB:-1024}
DELAYS_MS=${DELAYS_MS:-0 1 5 10}
if ((DELAY_SIZE_MIB > MAX_SIZE_MIB)); then
    DELAY_SIZE_MIB=$MAX_SIZE_MIB
fi
sizes=()
for s in $SIZES_MIB; do
    if ((s <= MAX_SIZE_MIB)); then
        sizes+=("$s")
    fi
done
((${#sizes[@]} > 0)) || bench_die "no size in SIZES_MIB ($SIZES_MIB) is <= MAX_SIZE_MIB ($MAX_SIZE_MIB)"

bench_init
OUT=${OUT:-$bench_work/out}
mkdir -p "$OUT"
raw=$OUT/raw.csv
echo "sweep,contender,size_mib,delay_ms,round,seconds" >"$raw"
{
    echo "date: $(date -u +%FT%TZ)"
    echo "machine: $(uname -r), $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo) RAM"
    echo "cpu: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "samba: $(smbd --version 2>/dev/null || echo unknown)"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "rounds: $ROUNDS; sizes (MiB): ${sizes[*]}; delay sweep size: $DELAY_SIZE_MIB MiB; delays (ms): $DELAYS_MS"
    echo "build: $BUILD; work directory: $bench_work"
} >"$OUT/meta.txt"
bench_samba_start
share=$SMBW_TEST_SHARE_PATH
local_dir=$bench_work/local
mkdir -p "$local_dir"
read -ra smbclient_flags < <(pkg-config --cflags --libs smbclient)
gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$bench_work/splice" "$bench_root/bench/splice.c" \
    "${smbclient_flags[@]}" || bench_die "could not build bench/splice.c"

proxy_pid=
# start_proxy DELAY_MS: the latency proxy in front of Samba; sets port.
start_proxy() {
    local pf=$bench_work/proxy.port
    rm -f "$pf"
    python3 "$bench_root/bench/latency_proxy.py" --delay-ms "$1" \
        --upstream "127.0.0.1:$SMBW_TEST_PORT" --port-file "$pf" >/dev/null &
    proxy_pid=$!
    bench_pids+=("$proxy_pid")
    port=$(bench_wait_port "$pf" "latency proxy")
}
stop_proxy() {
    if [[ -n "$proxy_pid" ]]; then
        kill "$proxy_pid" 2>/dev/null || true
        wait "$proxy_pid" 2>/dev/null || true
        proxy_pid=
    fi
}

# record SWEEP CONTENDER SIZE DELAY ROUND SECONDS
record() {
    echo "$1,$2,$3,$4,$5,$6" >>"$raw"
}

smbclient_run() { # port command
    smbclient "//$SMBW_TEST_HOST/$SMBW_TEST_SHARE" -p "$1" -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" \
        --client-protection=sign -c "$2"
}

# serverside SWEEP SIZE DELAY PORT: one round of the four server-side contenders.
serverside() {
    local sweep=$1 size=$2 delay=$3 p=$4 r=$5 t
    local url=smb://$SMBW_TEST_USER@$SMBW_TEST_HOST:$p/$SMBW_TEST_SHARE
    local srv=smb://$SMBW_TEST_HOST:$p/$SMBW_TEST_SHARE

    bench_reset "$share/big.sc"
    bench_time t "$SMBCOPY" --json -q "$url/big" "$url/big.sc"
    grep -q '"method":"copychunk"' "$bench_work/last.out" ||
        bench_die "smbcopy did not copy server-side: $(cat "$bench_work/last.out")"
    record "$sweep" smbcopy "$size" "$delay" "$r" "$t"

    bench_reset "$share/big.sp"
    bench_time t env SMB_USER="$SMBW_TEST_USER" "$bench_work/splice" "$srv/big" "$srv/big.sp"
    record "$sweep" smbc_splice "$size" "$delay" "$r" "$t"

    bench_reset "$share/big.scopy"
    bench_time t smbclient_run "$p" "scopy big big.scopy"
    record "$sweep" smbclient "$size" "$delay" "$r" "$t"

    bench_reset "$share/big.cp"
    bench_time t cp "$share/big" "$share/big.cp"
    record "$sweep" cp "$size" "$delay" "$r" "$t"

    if ((r == 1)); then
        local f
        for f in big.sc big.sp big.scopy big.cp; do
            cmp "$share/big" "$share/$f" || bench_die "$sweep: $f differs from the source ($size MiB, $delay ms)"
        done
    fi
    rm -f "$share/big.sc" "$share/big.sp" "$share/big.scopy" "$share/big.cp"
}

# download SIZE ROUND: one round of the download contenders.
download() {
    local size=$1 r=$2 t
    bench_reset "$local_dir/dl.sc"
    bench_time t "$SMBCOPY" -q "$SHARE_URL/big" "$local_dir/dl.sc"
    record download smbcopy "$size" 0 "$r" "$t"

    bench_reset "$local_dir/dl.smbclient"
    bench_time t smbclient_run "$SMBW_TEST_PORT" "get big $local_dir/dl.smbclient"
    record download smbclient "$size" 0 "$r" "$t"

    bench_reset "$local_dir/dl.cp"
    bench_time t cp "$share/big" "$local_dir/dl.cp"
    record download cp "$size" 0 "$r" "$t"

    if ((r == 1)); then
        local f
        for f in dl.sc dl.smbclient dl.cp; do
            cmp "$share/big" "$local_dir/$f" || bench_die "download: $f differs ($size MiB)"
        done
    fi
    rm -f "$local_dir"/dl.*
}

for size in "${sizes[@]}"; do
    echo "# size $size MiB: making the file" >&2
    SIZE_MIB=$size bench_make_file "$share/big"
    for ((r = 1; r <= ROUNDS; r++)); do
        echo "# size $size MiB, round $r/$ROUNDS" >&2
        serverside size "$size" 0 "$SMBW_TEST_PORT" "$r"
        download "$size" "$r"
    done
done

SIZE_MIB=$DELAY_SIZE_MIB bench_make_file "$share/big"
for delay in $DELAYS_MS; do
    port=$SMBW_TEST_PORT
    if [[ "$delay" != 0 ]]; then
        start_proxy "$delay"
    fi
    for ((r = 1; r <= ROUNDS; r++)); do
        echo "# delay $delay ms ($DELAY_SIZE_MIB MiB), round $r/$ROUNDS" >&2
        serverside delay "$DELAY_SIZE_MIB" "$delay" "$port" "$r"
    done
    stop_proxy
done
bench_reset "$share/big"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"

# Medians per (sweep, contender, x).
awk -F, 'NR > 1 {
        x = ($1 == "delay") ? $4 : $3
        k = $1 "," $2 "," x
        if (!(k in n)) { order[++nk] = k; size[k] = $3 }
        v[k, ++n[k]] = $6
    }
    END {
        print "sweep,contender,x,median_s,min_s,max_s,runs,median_mib_s"
        for (i = 1; i <= nk; i++) {
            k = order[i]; c = n[k]
            for (a = 1; a <= c; a++) s[a] = v[k, a]
            for (a = 2; a <= c; a++) { t = s[a]; b = a - 1
                while (b >= 1 && s[b] > t) { s[b + 1] = s[b]; b-- } s[b + 1] = t }
            m = (c % 2) ? s[(c + 1) / 2] : (s[c / 2] + s[c / 2 + 1]) / 2
            printf "%s,%.3f,%.3f,%.3f,%d,%.0f\n", k, m, s[1], s[c], c, size[k] / m
        }
    }' "$raw" >"$OUT/median.csv"
cat "$OUT/meta.txt"
echo
column -s, -t "$OUT/median.csv"
