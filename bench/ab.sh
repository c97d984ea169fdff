#!/usr/bin/env bash
# Two builds of smbcopy against each other (before/after a change), download
# and upload of one page-cached file, alternating inside every round so that
# outside load hits both alike; smbclient with the same protection runs in
# each round too, as a yardstick of the machine's state. Medians of ROUNDS.
#   signed     SMB 3.1.1 signed (smbcopy's default; smbclient --client-protection=sign)
#   encrypted  smbcopy --encrypt --cipher=AES-128-GCM; smbclient --client-protection=encrypt
# DELAY_MS=N (e.g. 5): all traffic through bench/delay_proxy.c, N ms one way.
# SMBCOPY_OPTS_A / SMBCOPY_OPTS_B: extra options for build A / B only.
# Usage: BUILD=after BUILD_A=before [ROUNDS=7] [SIZE_MIB=1024] [DELAY_MS=0] [CONFIGS="signed encrypted"] bench/ab.sh
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONFIGS=${CONFIGS:-signed encrypted}
[[ -n "${BUILD_A:-}" ]] || bench_die "BUILD_A (the build to compare with) is not set"
case $BUILD_A in
/*) ;;
*) BUILD_A=$bench_root/$BUILD_A ;;
esac
SMBCOPY_A=$BUILD_A/tools/smbcopy/smbcopy
[[ -x "$SMBCOPY_A" ]] || bench_die "no $SMBCOPY_A"

bench_init
echo "# A: $BUILD_A, B: $BUILD"
bench_samba_start
port=$SMBW_TEST_PORT
if [[ ${DELAY_MS:-0} != 0 ]]; then
    bench_delay_proxy "$DELAY_MS"
    port=$bench_proxy_port
    echo "# one-way delay: $DELAY_MS ms (bench/delay_proxy.c)"
fi
read -ra opts_a <<<"${SMBCOPY_OPTS_A:-}"
read -ra opts_b <<<"${SMBCOPY_OPTS_B:-}"
share=$SMBW_TEST_SHARE_PATH
bench_make_file "$share/big"
cp "$share/big" "$bench_work/up.src"
cat "$bench_work/up.src" >/dev/null
dl=$bench_work/dl.out

for cfg in $CONFIGS; do
    case $cfg in
    signed) sc=() cl=(--client-protection=sign) ;;
    encrypted) sc=(--encrypt --cipher=AES-128-GCM) cl=(--client-protection=encrypt) ;;
    *) bench_die "unknown config $cfg" ;;
    esac
    t_ad=() t_bd=() t_cd=() t_au=() t_bu=() t_cu=()
    for ((r = 1; r <= ROUNDS; r++)); do
        # the order of A and B alternates from round to round
        for who in $( ((r % 2)) && echo "a b" || echo "b a"); do
            bin=$SMBCOPY
            ex=("${opts_b[@]}")
            if [[ $who == a ]]; then
                bin=$SMBCOPY_A
                ex=("${opts_a[@]}")
            fi
            bench_reset "$dl"
            bench_time t "$bin" -q "${sc[@]}" "${ex[@]}" "$SHARE_URL/big" "$dl"
            cmp -s "$share/big" "$dl" || bench_die "$who: download differs"
            [[ $who == a ]] && t_ad+=("$t") || t_bd+=("$t")
            bench_reset "$share/up.dst"
            bench_time t "$bin" -q "${sc[@]}" "${ex[@]}" "$bench_work/up.src" "$SHARE_URL/up.dst"
            cmp -s "$bench_work/up.src" "$share/up.dst" || bench_die "$who: upload differs"
            [[ $who == a ]] && t_au+=("$t") || t_bu+=("$t")
        done
        bench_reset "$dl"
        bench_time t smbclient "//$SMBW_TEST_HOST/$SMBW_TEST_SHARE" -p "$port" \
            -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" "${cl[@]}" -c "get big $dl"
        t_cd+=("$t")
        bench_reset "$share/up.dst"
        bench_time t smbclient "//$SMBW_TEST_HOST/$SMBW_TEST_SHARE" -p "$port" \
            -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" "${cl[@]}" -c "put $bench_work/up.src up.dst"
        t_cu+=("$t")
    done
    bench_reset "$dl" "$share/up.dst"
    echo
    echo "## $cfg, $SIZE_MIB MiB (smbcopy ${sc[*]:-(defaults)}; smbclient ${cl[*]})"
    echo
    bench_table_head
    bench_row "download smbcopy A" "${t_ad[@]}"
    bench_row "download smbcopy B" "${t_bd[@]}"
    bench_row "download smbclient get" "${t_cd[@]}"
    bench_row "upload smbcopy A" "${t_au[@]}"
    bench_row "upload smbcopy B" "${t_bu[@]}"
    bench_row "upload smbclient put" "${t_cu[@]}"
done
echo
bench_load_end
