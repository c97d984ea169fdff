# Helpers shared by the benchmark scripts (sourced, not executed).
# shellcheck shell=bash
#
# Environment knobs common to every script:
#   BUILD     meson build directory (default: build; a release build is best)
#   ROUNDS    rounds per measurement (default 5; the tables show the median)
#   SIZE_MIB  size of the test file in MiB (default 1024)
#   KEEP      1 keeps the work directory (default: removed on exit)
#   DURABLE   1 times every command followed by `sync` (data on disk), to
#             compare `smbcopy --sync` (fsync / FLUSH before its rename) with
#             tools that do not flush; default 0 (page cache)

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in
/*) ;;
*) BUILD=$bench_root/$BUILD ;;
esac
ROUNDS=${ROUNDS:-5}
DURABLE=${DURABLE:-0}
SIZE_MIB=${SIZE_MIB:-1024}
SMBCOPY=$BUILD/tools/smbcopy/smbcopy

bench_work=
bench_tb=
bench_pids=()

bench_die() {
    echo "bench: $*" >&2
    exit 1
}

bench_cleanup() {
    local pid
    for pid in "${bench_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ -n "$bench_tb" ]]; then
        bash "$bench_root/tests/testbed/samba.sh" stop "$bench_tb" >/dev/null 2>&1 || true
    fi
    if [[ -n "$bench_work" && "${KEEP:-0}" != 1 ]]; then
        rm -rf "$bench_work"
    fi
}

# Creates the work directory and installs the cleanup trap.
bench_init() {
    ((EUID == 0)) || bench_die "run as root (the testbed starts smbd)"
    [[ -x "$SMBCOPY" ]] || bench_die "no $SMBCOPY: meson setup $BUILD --buildtype=release && ninja -C $BUILD"
    # BENCH_TMP=/dev/shm keeps the share and the local files in memory, which
    # takes the disk (and its writeback) out of the comparison.
    bench_work=$(mktemp -d "${BENCH_TMP:-/tmp}/smbw-bench.XXXXXX")
    chmod 0755 "$bench_work"
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo) RAM"
    echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# build: $BUILD, rounds: $ROUNDS, size: $SIZE_MIB MiB, durable (sync timed): $DURABLE"
}

# Starts a private Samba (testbed knobs such as SAMBA_MAX_PROTOCOL apply) and
# exports its SMBW_TEST_* variables.
bench_samba_start() {
    bench_tb=$bench_work/tb
    bash "$bench_root/tests/testbed/samba.sh" start "$bench_tb" >"$bench_work/samba.out" 2>&1 ||
        bench_die "samba did not start: $(cat "$bench_work/samba.out")"
    # shellcheck source=/dev/null
    source "$bench_tb/env"
    export SMB_PASSWORD=$SMBW_TEST_PASS
    export SHARE_URL=smb://$SMBW_TEST_USER@$SMBW_TEST_HOST:$SMBW_TEST_PORT/$SMBW_TEST_SHARE
}

# bench_wait_port FILE WHAT: waits (at most 5 s) until a proxy has written
# its port to FILE and prints it; gives up with "WHAT did not start".
bench_wait_port() {
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -s "$1" ]] && break
        sleep 0.05
    done
    [[ -s "$1" ]] || bench_die "$2 did not start"
    cat "$1"
}

# bench_delay_proxy MS: bench/delay_proxy.c (built here) in front of the
# Samba of bench_samba_start, adding MS ms one way in each direction at full
# bandwidth; sets bench_proxy_port and points SHARE_URL at it.
bench_delay_proxy() {
    local pf=$bench_work/delay_proxy.port
    gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$bench_work/delay_proxy" \
        "$bench_root/bench/delay_proxy.c" || bench_die "could not build bench/delay_proxy.c"
    rm -f "$pf"
    "$bench_work/delay_proxy" --delay-ms "$1" --upstream "127.0.0.1:$SMBW_TEST_PORT" \
        --port-file "$pf" >/dev/null &
    bench_pids+=("$!")
    bench_proxy_port=$(bench_wait_port "$pf" "delay proxy")
    export SHARE_URL=smb://$SMBW_TEST_USER@$SMBW_TEST_HOST:$bench_proxy_port/$SMBW_TEST_SHARE
}

# bench_make_file PATH: SIZE_MIB of random data, owned by the test user, in
# the page cache.
bench_make_file() {
    head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$1"
    chown "$SMBW_TEST_USER:" "$1"
    cat "$1" >/dev/null
}

# Removes a file, then flushes dirty data so every timed run starts alike.
bench_reset() {
    rm -f "$@"
    sync
}

# bench_time VAR CMD...: runs CMD (stdout to $bench_work/last.out, stderr to
# $bench_work/last.err), then `sync` when DURABLE=1, and stores the wall-clock
# seconds in VAR. Fails if CMD fails.
bench_time() {
    local -n _out=$1
    shift
    local t0 t1
    t0=$EPOCHREALTIME
    if ! "$@" >"$bench_work/last.out" 2>"$bench_work/last.err"; then
        echo "bench: failed: $*" >&2
        cat "$bench_work/last.err" >&2
        return 1
    fi
    if [[ "$DURABLE" == 1 ]]; then
        sync
    fi
    t1=$EPOCHREALTIME
    _out=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

# Prints "median min max" of the numbers given as arguments.
bench_stats() {
    printf '%s\n' "$@" | sort -g | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "- - -"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%.3f %.3f %.3f\n", m, v[1], v[NR]
        }'
}

# bench_row LABEL SECONDS...: one markdown table row with time and MiB/s.
bench_row() {
    local label=$1
    shift
    local med lo hi
    read -r med lo hi < <(bench_stats "$@")
    awk -v l="$label" -v m="$med" -v lo="$lo" -v hi="$hi" -v s="$SIZE_MIB" -v all="$*" 'BEGIN {
        printf "| %s | %.3f | %.3f-%.3f | %.0f | %.0f-%.0f | %s |\n",
            l, m, lo, hi, s / m, s / hi, s / lo, all }'
}

bench_table_head() {
    echo "| what | median s | range s | median MiB/s | range MiB/s | runs (s) |"
    echo "|---|---|---|---|---|---|"
}

bench_load_end() {
    echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# Compiles bench/NAME.c against the build tree's libsmbwire into $bench_work/NAME.
bench_cc_smbwire() {
    local name=$1
    gcc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$bench_root/include" \
        -o "$bench_work/$name" "$bench_root/bench/$name.c" \
        -L"$BUILD/lib" -lsmbwire -Wl,-rpath,"$BUILD/lib" -pthread ||
        bench_die "could not build bench/$name.c"
}
