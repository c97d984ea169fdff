#!/usr/bin/env bash
# Download and upload throughput of smbcopy against smbclient get/put, same
# run, page-cached, median of ROUNDS (the order of the contenders rotates
# from round to round). Three client settings against one
# private Samba 4.17:
#   signed     SMB 3.1.1, signed (smbcopy's default; smbclient --client-protection=sign,
#              and smbclient's own default, which does not sign)
#   encrypted  SMB 3.1.1, encrypted (smbcopy --encrypt; smbclient --client-protection=encrypt)
#   smb2_10    SMB 2.1, signed (--max-protocol=SMB2_10 / -m SMB2_10 --client-protection=sign)
# By default neither smbcopy nor smbclient waits for the destination's disk
# (smbcopy --sync would: fsync locally, SMB2 FLUSH remotely). DURABLE=1 times
# every command followed by `sync`.
#   nosync     as signed, with an explicit --no-sync (the default since issue 10)
# DELAY_MS=N (e.g. 5) sends both tools' traffic through bench/delay_proxy.c,
# N ms one way in each direction (full bandwidth, unlike latency_proxy.py).
# Usage: [BUILD=build] [DURABLE=0] [ROUNDS=5] [SIZE_MIB=1024] [DELAY_MS=0] [CONFIGS="signed encrypted smb2_10 nosync"] bench/throughput.sh
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONFIGS=${CONFIGS:-signed encrypted smb2_10}
DELAY_MS=${DELAY_MS:-0}

bench_init
bench_samba_start
port=$SMBW_TEST_PORT
if [[ $DELAY_MS != 0 ]]; then
    bench_delay_proxy "$DELAY_MS"
    port=$bench_proxy_port
fi
share=$SMBW_TEST_SHARE_PATH
bench_make_file "$share/big"
cp "$share/big" "$bench_work/up.src"
cat "$bench_work/up.src" >/dev/null
dl=$bench_work/dl.out

smbclient_run() {
    smbclient "//$SMBW_TEST_HOST/$SMBW_TEST_SHARE" -p "$port" \
        -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" "$@"
}

# One timed transfer per contender, each from the same state: the download
# and the upload removed and synced (untimed). The order rotates from round
# to round (a fixed order gave one slot copies up to 3x slower, whichever
# tool had it). The first download and upload are checked.
reset_all() {
    bench_reset "$dl" "$share/up.dst"
}
# run_timed TIMES SRC DST CMD...: CMD timed from the common state, its time
# appended to the array TIMES; the first time, DST must equal SRC (unless
# SRC is empty).
run_timed() {
    local -n _times=$1
    local src=$2 dst=$3
    shift 3
    reset_all
    bench_time t "$@"
    _times+=("$t")
    if [[ -n "$src" ]] && ((${#_times[@]} == 1)); then
        cmp "$src" "$dst" || bench_die "$dst differs from $src after: $*"
    fi
}
run_scdl() {
    run_timed t_scdl "$share/big" "$dl" "$SMBCOPY" --json -q "${sc_opts[@]}" "$SHARE_URL/big" "$dl"
    dialect=$(sed -n 's/.*"dialect":"\([^"]*\)".*/\1/p' "$bench_work/last.out")
}
run_clg() { run_timed t_clg "" "" smbclient_run "${cl_opts[@]}" -c "get big $dl"; }
run_cldg() { run_timed t_cldg "" "" smbclient_run -c "get big $dl"; }
run_scup() {
    run_timed t_scup "$bench_work/up.src" "$share/up.dst" \
        "$SMBCOPY" --json -q "${sc_opts[@]}" "$bench_work/up.src" "$SHARE_URL/up.dst"
}
run_clp() { run_timed t_clp "" "" smbclient_run "${cl_opts[@]}" -c "put $bench_work/up.src up.dst"; }
run_cldp() { run_timed t_cldp "" "" smbclient_run -c "put $bench_work/up.src up.dst"; }

echo
echo "Samba $(smbd --version | cut -d' ' -f2), smbclient $(smbclient --version | cut -d' ' -f2), file $SIZE_MIB MiB random, one-way delay $DELAY_MS ms"

for cfg in $CONFIGS; do
    sc_opts=()
    cl_opts=()
    cl_default=0
    case $cfg in
    signed)
        cl_opts=(--client-protection=sign)
        cl_default=1
        ;;
    encrypted)
        sc_opts=(--encrypt)
        cl_opts=(--client-protection=encrypt)
        ;;
    smb2_10)
        sc_opts=(--max-protocol=SMB2_10)
        cl_opts=(-m SMB2_10 --client-protection=sign)
        ;;
    nosync)
        # like signed, with smbcopy's (default) --no-sync spelled out
        sc_opts=(--no-sync)
        cl_opts=(--client-protection=sign)
        ;;
    *) bench_die "unknown config $cfg" ;;
    esac
    t_scdl=() t_clg=() t_cldg=() t_scup=() t_clp=() t_cldp=()
    dialect='?'
    contenders=(run_scdl run_clg run_scup run_clp)
    if ((cl_default)); then
        contenders+=(run_cldg run_cldp)
    fi
    n=${#contenders[@]}
    for ((r = 1; r <= ROUNDS; r++)); do
        for ((i = 0; i < n; i++)); do
            "${contenders[$(((r - 1 + i) % n))]}"
        done
    done
    reset_all
    echo
    echo "## $cfg (smbcopy dialect $dialect; smbcopy ${sc_opts[*]:-(defaults)}; smbclient ${cl_opts[*]})"
    echo
    bench_table_head
    bench_row "download smbcopy" "${t_scdl[@]}"
    bench_row "download smbclient get" "${t_clg[@]}"
    if ((cl_default)); then
        bench_row "download smbclient get (default: unsigned)" "${t_cldg[@]}"
    fi
    bench_row "upload smbcopy" "${t_scup[@]}"
    bench_row "upload smbclient put" "${t_clp[@]}"
    if ((cl_default)); then
        bench_row "upload smbclient put (default: unsigned)" "${t_cldp[@]}"
    fi
done
echo
bench_load_end
