#!/usr/bin/env bash
# Instructions per byte of a download and an upload, smbcopy against smbclient
# with the same protection (issue 10: "no extra copies of payloads ...
# measure instructions per byte"). The client process only (user space and
# the libraries it calls; the kernel and smbd are not counted), counted by
# valgrind's callgrind (total Ir): this machine's VM exposes no hardware
# counters to perf (`perf stat -e instructions` says "not supported"), and an
# instruction count does not depend on the machine's load.
#   signed     SMB 3.1.1 signed (smbcopy's default: AES-128-GMAC where offered;
#              smbclient --client-protection=sign)
#   encrypted  smbcopy --encrypt --cipher=AES-128-GCM; smbclient
#              --client-protection=encrypt (Samba's default cipher order
#              puts AES-128-GCM first)
#   encrypted256  smbcopy --encrypt --cipher=AES-256-GCM; smbclient
#              --client-protection=encrypt with client smb3 encryption
#              algorithms = AES-256-GCM (the only one it offers)
# SMBCOPY_OPTS adds options to every smbcopy command (e.g. "--depth=4").
# Usage: [BUILD=build-rel] [SIZE_MIB=32] [CONFIGS="signed encrypted encrypted256"] [SMBCOPY_OPTS=...] bench/instructions.sh
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZE_MIB=${SIZE_MIB:-32}
CONFIGS=${CONFIGS:-signed encrypted}
read -ra sc_extra <<<"${SMBCOPY_OPTS:-}"
command -v valgrind >/dev/null || bench_die "valgrind is missing (tests/testbed/install-deps.sh installs it)"

bench_init
bench_samba_start
share=$SMBW_TEST_SHARE_PATH
SIZE_MIB=$SIZE_MIB bench_make_file "$share/big"
cp "$share/big" "$bench_work/up.src"
bytes=$((SIZE_MIB * 1024 * 1024))

# ir NAME CMD...: total instructions (Ir) of CMD under callgrind.
ir() {
    local name=$1 out=$bench_work/cg.$1
    shift
    valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >"$bench_work/$name.out" 2>"$bench_work/$name.err" ||
        bench_die "$name failed: $(tail -n 5 "$bench_work/$name.err")"
    awk '/^(summary|totals):/ { print $2; exit }' "$out"
}

cl=(smbclient "//$SMBW_TEST_HOST/$SMBW_TEST_SHARE" -p "$SMBW_TEST_PORT"
    -U "$SMBW_TEST_USER%$SMBW_TEST_PASS")

echo
echo "## instructions per byte, $SIZE_MIB MiB, client process only (callgrind Ir)"
echo
echo "| setting | transfer | smbcopy Ir | smbcopy Ir/byte | smbclient Ir | smbclient Ir/byte | smbcopy / smbclient |"
echo "|---|---|---|---|---|---|---|"
for cfg in $CONFIGS; do
    case $cfg in
    signed) sc=() prot=sign clo=() ;;
    encrypted) sc=(--encrypt --cipher=AES-128-GCM) prot=encrypt clo=() ;;
    encrypted256)
        sc=(--encrypt --cipher=AES-256-GCM) prot=encrypt
        clo=(--option="client smb3 encryption algorithms=AES-256-GCM")
        ;;
    *) bench_die "unknown config $cfg" ;;
    esac
    for dir in download upload; do
        rm -f "$bench_work/dl.sc" "$bench_work/dl.cl" "$share/up.sc" "$share/up.cl"
        if [[ $dir == download ]]; then
            a=$(ir "sc-$cfg-$dir" "$SMBCOPY" -q "${sc[@]}" "${sc_extra[@]}" "$SHARE_URL/big" "$bench_work/dl.sc")
            b=$(ir "cl-$cfg-$dir" "${cl[@]}" "${clo[@]}" --client-protection="$prot" -c "get big $bench_work/dl.cl")
            cmp -s "$share/big" "$bench_work/dl.sc" || bench_die "smbcopy download differs"
            cmp -s "$share/big" "$bench_work/dl.cl" || bench_die "smbclient download differs"
        else
            a=$(ir "sc-$cfg-$dir" "$SMBCOPY" -q "${sc[@]}" "${sc_extra[@]}" "$bench_work/up.src" "$SHARE_URL/up.sc")
            b=$(ir "cl-$cfg-$dir" "${cl[@]}" "${clo[@]}" --client-protection="$prot" -c "put $bench_work/up.src up.cl")
            cmp -s "$bench_work/up.src" "$share/up.sc" || bench_die "smbcopy upload differs"
            cmp -s "$bench_work/up.src" "$share/up.cl" || bench_die "smbclient upload differs"
        fi
        awk -v c="$cfg" -v d="$dir" -v a="$a" -v b="$b" -v n="$bytes" 'BEGIN {
            printf "| %s | %s | %d | %.2f | %d | %.2f | %.2f |\n", c, d, a, a / n, b, b / n, a / b }'
    done
done
echo
bench_load_end
