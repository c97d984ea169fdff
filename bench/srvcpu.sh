#!/usr/bin/env bash
# Where the time of a download or upload goes: wall time, the client's CPU
# (user + system, /usr/bin/time) and the CPU of the smbd process that served
# the connection (the main smbd's cutime + cstime before and after: each
# connection has its own smbd child, reaped by the main one), smbcopy against
# smbclient get/put with the same protection, rounds alternating. A transfer
# whose smbd CPU is close to its wall time is bound by the server.
#   signed     SMB 3.1.1 signed (smbcopy's default; smbclient --client-protection=sign)
#   encrypted  smbcopy --encrypt --cipher=AES-128-GCM; smbclient --client-protection=encrypt
# Usage: [BUILD=build-rel] [ROUNDS=3] [SIZE_MIB=1024] [CONFIGS="signed encrypted"]
#        [DIRS="up down"] [SMBCOPY_OPTS=...] bench/srvcpu.sh
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONFIGS=${CONFIGS:-signed encrypted}
DIRS=${DIRS:-up down}
read -ra sc_extra <<<"${SMBCOPY_OPTS:-}"
[[ -x /usr/bin/time ]] || bench_die "/usr/bin/time is missing (package time)"

bench_init
bench_samba_start
main_pid=$(cat "$bench_tb/run/testbed-smbd.pid")
share=$SMBW_TEST_SHARE_PATH
bench_make_file "$share/big"
cp "$share/big" "$bench_work/up.src"
cat "$bench_work/up.src" >/dev/null
dl=$bench_work/dl.out
tick=$(getconf CLK_TCK)

# The CPU seconds of the main smbd's reaped children, once it has no child
# left (the last connection's smbd has exited and been waited for; at most 5 s).
children_cpu() {
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -z "$(pgrep -P "$main_pid" smbd || true)" ]] && break
        sleep 0.05
    done
    awk -v t="$tick" '{ sub(/^.*\) /, ""); printf "%.2f", ($14 + $15) / t }' "/proc/$main_pid/stat"
}

# one TOOL DIR: one timed transfer; prints "wall client-cpu smbd-cpu".
one() {
    local tool=$1 dir=$2 c0 c1 t src=$SHARE_URL/big dst=$dl clc="get big $dl"
    local -a cmd
    if [[ $dir == up ]]; then
        src=$bench_work/up.src dst=$SHARE_URL/up.dst clc="put $bench_work/up.src up.dst"
    fi
    bench_reset "$dl" "$share/up.dst"
    if [[ $tool == smbcopy ]]; then
        cmd=("$SMBCOPY" -q "${sc[@]}" "${sc_extra[@]}" "$src" "$dst")
    else
        cmd=(smbclient "//$SMBW_TEST_HOST/$SMBW_TEST_SHARE" -p "$SMBW_TEST_PORT"
            -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" "${cl[@]}" -c "$clc")
    fi
    c0=$(children_cpu)
    bench_time t /usr/bin/time -o "$bench_work/time.out" -f '%U %S' "${cmd[@]}"
    c1=$(children_cpu)
    awk -v w="$t" -v a="$c0" -v b="$c1" '{ printf "%s %.2f %.2f\n", w, $1 + $2, b - a }' \
        "$bench_work/time.out"
}

echo
echo "Samba $(smbd --version | cut -d' ' -f2), smbclient $(smbclient --version | cut -d' ' -f2), file $SIZE_MIB MiB random"
for cfg in $CONFIGS; do
    case $cfg in
    signed) sc=() cl=(--client-protection=sign) ;;
    encrypted) sc=(--encrypt --cipher=AES-128-GCM) cl=(--client-protection=encrypt) ;;
    *) bench_die "unknown config $cfg" ;;
    esac
    for dir in $DIRS; do
        declare -A rows=()
        for ((r = 1; r <= ROUNDS; r++)); do
            for tool in $( ((r % 2)) && echo "smbcopy smbclient" || echo "smbclient smbcopy"); do
                rows[$tool]+="$(one "$tool" "$dir")"$'\n'
            done
        done
        echo
        echo "## $cfg, $dir ($ROUNDS rounds; seconds: median [min-max])"
        echo
        echo "| tool | wall | client CPU | smbd CPU | smbd CPU / wall |"
        echo "|---|---|---|---|---|"
        for tool in smbcopy smbclient; do
            printf '%s' "${rows[$tool]}" | sort -g | awk -v tool="$tool" '
                { w[NR] = $1; c[NR] = $2; s[NR] = $3 }
                function med(a, n,   i, j, t, b) {
                    for (i = 1; i <= n; i++) b[i] = a[i]
                    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
                        if (b[j] < b[i]) { t = b[i]; b[i] = b[j]; b[j] = t }
                    return (n % 2) ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
                }
                END {
                    mw = med(w, NR); mc = med(c, NR); ms = med(s, NR)
                    printf "| %s | %.3f [%.3f-%.3f] | %.2f | %.2f | %.2f |\n", tool, mw, w[1], w[NR], mc, ms, ms / mw
                }'
        done
        unset rows
    done
done
echo
bench_load_end
