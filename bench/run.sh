#!/usr/bin/env bash
# Every benchmark in one command, on a fresh Debian 12 machine, as root, from
# any directory:
#
#   bash bench/run.sh
#
# 1. installs what it needs: tests/testbed/install-deps.sh (Samba, smbclient,
#    libsmbclient-dev, gnuplot-nox, GNU time, the compiler, meson...);
# 2. builds a release tree (BUILD, default build-rel: --buildtype=release
#    -Dtests=false) unless SKIP_BUILD=1;
# 3. runs bench/sweep.sh (time against file size and against one-way delay,
#    CSV) and bench/plot.sh (PNG plots), then every other script of bench/
#    (serverside, throughput, depth, multiconn, multistream, lanes, memory,
#    instructions, tree), each starting
#    its own private Samba from tests/testbed/, each writing its markdown
#    tables to OUT/NAME.md (stderr to OUT/NAME.err);
# 4. writes OUT/README.md: machine, load average before and after, the
#    knobs, the median table and the plots.
#
# Knobs (environment):
#   OUT           result directory (default bench/results/DATE-run)
#   ROUNDS        rounds per measurement (default 5)
#   MAX_SIZE_MIB  largest file of the size sweep (default 4096; sizes are
#                 64, 128, ... 4096 MiB up to it); also caps SIZE_MIB
#   SIZE_MIB      file size of the other scripts (default 1024)
#   DELAYS_MS     one-way delays of the delay sweep (default "0 1 5 10")
#   BENCHES       which to run (default "sweep serverside throughput depth
#                 multiconn multistream lanes memory instructions tree"; instructions
#                 runs under callgrind on INSTR_SIZE_MIB, default 32)
#   NOTE          a line printed under every plot title and on top of
#                 OUT/README.md (e.g. "noisy preliminary run, load 3.2")
#   QUICK=1       a short pass to check the tooling: ROUNDS=2,
#                 MAX_SIZE_MIB=256, SIZE_MIB=128, tree.sh over /usr/include/linux
#                 and 1000 empty files
# The whole default run takes about 40-60 minutes on the 2-core testbed
# machine; QUICK=1 about 10.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
((EUID == 0)) || {
    echo "bench/run.sh: run as root (it installs packages and starts smbd)" >&2
    exit 1
}

if [[ "${QUICK:-0}" == 1 ]]; then
    : "${ROUNDS:=2}" "${MAX_SIZE_MIB:=256}" "${SIZE_MIB:=128}" "${TREE:=/usr/include/linux}" "${EMPTY:=1000}"
    export EMPTY
fi
export ROUNDS=${ROUNDS:-5}
export MAX_SIZE_MIB=${MAX_SIZE_MIB:-4096}
SIZE_MIB=${SIZE_MIB:-1024}
if ((SIZE_MIB > MAX_SIZE_MIB)); then
    SIZE_MIB=$MAX_SIZE_MIB
fi
export SIZE_MIB
export DELAYS_MS=${DELAYS_MS:-0 1 5 10}
export BUILD=${BUILD:-build-rel}
BENCHES=${BENCHES:-sweep serverside throughput depth multiconn multistream lanes memory instructions tree}
OUT=${OUT:-$root/bench/results/$(date -u +%F)-run}
NOTE=${NOTE:-}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

log() { echo "bench/run.sh: $*" >&2; }

log "installing dependencies (tests/testbed/install-deps.sh)"
bash tests/testbed/install-deps.sh >"$OUT/install.log" 2>&1 || {
    cat "$OUT/install.log" >&2
    exit 1
}

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building $BUILD (release)"
    if [[ ! -d "$BUILD" ]]; then
        meson setup "$BUILD" --buildtype=release -Dtests=false >"$OUT/build.log" 2>&1 ||
            { cat "$OUT/build.log" >&2; exit 1; }
    fi
    ninja -C "$BUILD" >>"$OUT/build.log" 2>&1 || { tail -n 30 "$OUT/build.log" >&2; exit 1; }
fi

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%FT%TZ)
for b in $BENCHES; do
    case $b in
    sweep)
        log "sweep: sizes up to $MAX_SIZE_MIB MiB, delays $DELAYS_MS ms, $ROUNDS rounds"
        OUT=$OUT/sweep bash bench/sweep.sh >"$OUT/sweep.md" 2>"$OUT/sweep.err" ||
            { tail -n 20 "$OUT/sweep.err" >&2; exit 1; }
        bash bench/plot.sh "$OUT/sweep" "$NOTE" >/dev/null
        ;;
    tree)
        log "tree"
        TREE=${TREE:-/usr/include} bash bench/tree.sh >"$OUT/tree.md" 2>"$OUT/tree.err" ||
            { tail -n 20 "$OUT/tree.err" >&2; exit 1; }
        ;;
    lanes)
        log "lanes"
        OUT=$OUT/lanes NOTE=$NOTE bash bench/lanes.sh >"$OUT/lanes.md" 2>"$OUT/lanes.err" ||
            { tail -n 20 "$OUT/lanes.err" >&2; exit 1; }
        ;;
    instructions)
        log "instructions (callgrind, ${INSTR_SIZE_MIB:-32} MiB)"
        SIZE_MIB=${INSTR_SIZE_MIB:-32} bash bench/instructions.sh >"$OUT/instructions.md" \
            2>"$OUT/instructions.err" || { tail -n 20 "$OUT/instructions.err" >&2; exit 1; }
        ;;
    serverside | throughput | depth | multiconn | multistream | memory)
        log "$b ($SIZE_MIB MiB)"
        bash "bench/$b.sh" >"$OUT/$b.md" 2>"$OUT/$b.err" || { tail -n 20 "$OUT/$b.err" >&2; exit 1; }
        ;;
    *)
        echo "bench/run.sh: unknown benchmark '$b'" >&2
        exit 1
        ;;
    esac
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

{
    echo "# Benchmark run $started"
    echo
    [[ -n "$NOTE" ]] && echo "**$NOTE**" && echo
    echo "- command: \`$(for v in QUICK ROUNDS MAX_SIZE_MIB SIZE_MIB DELAYS_MS BENCHES NOTE; do
        [[ -n "${!v:-}" ]] && printf '%s=%q ' "$v" "${!v}"
    done)bash bench/run.sh\`"
    echo "- commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "- machine: $(uname -r), $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo) RAM"
    echo "- smbd $(smbd --version 2>/dev/null || echo unknown), smbclient $(smbclient --version 2>/dev/null || echo unknown)"
    echo "- load average (1, 5, 15 min) before: $load_start; after: $load_end"
    echo "- outputs: one NAME.md per script (markdown tables, every run), sweep/raw.csv, sweep/median.csv, sweep/*.png"
    if [[ -s "$OUT/sweep/median.csv" ]]; then
        echo
        echo "## Sweep medians"
        echo
        echo "| sweep | contender | x (MiB or ms) | median s | min s | max s | runs | MiB/s |"
        echo "|---|---|---|---|---|---|---|---|"
        awk -F, 'NR > 1 { printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' \
            "$OUT/sweep/median.csv"
        echo
        for p in serverside-size download-size serverside-delay; do
            [[ -s "$OUT/sweep/$p.png" ]] && echo "![$p](sweep/$p.png)" && echo
        done
        [[ -s "$OUT/lanes/lanes.png" ]] && echo "![lanes](lanes/lanes.png)" && echo
    fi
} >"$OUT/README.md"
log "done: $OUT/README.md"
