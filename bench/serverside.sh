#!/usr/bin/env bash
# Server-side copy of SIZE_MIB on one Samba share, same run, page cache warm,
# median of ROUNDS, every method in every round:
#   smbcopy smb->smb      (--json must say "copychunk")
#   smbw_copy_file        (bench/ccbench.c, library default depth; process time and
#                          the call alone)
#   smbc_splice           (bench/splice.c against libsmbclient; process wall time,
#                          and the smbc_splice call alone)
#   smbclient scopy       (Samba's own client command)
#   cp                    (local, on the share's directory)
# Before every timed copy the destination is removed and `sync` runs (outside
# the timing), the same for every method; the order of the methods rotates
# from round to round. With DURABLE=1 every timed command
# is followed by `sync` inside its timing (no tool here flushes by itself:
# smbcopy sends FLUSH only with --sync).
# Usage: [BUILD=build] [ROUNDS=5] [SIZE_MIB=1024] bench/serverside.sh
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_init
bench_samba_start
share=$SMBW_TEST_SHARE_PATH
bench_make_file "$share/big"
bench_cc_smbwire ccbench
read -ra smbclient_flags < <(pkg-config --cflags --libs smbclient)
gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$bench_work/splice" "$bench_root/bench/splice.c" \
    "${smbclient_flags[@]}" || bench_die "could not build bench/splice.c"
srv=smb://$SMBW_TEST_HOST:$SMBW_TEST_PORT/$SMBW_TEST_SHARE

t_sc=() t_libp=() t_lib=() t_sp=() t_spcall=() t_scopy=() t_cp=()
# One timed copy per contender; each starts from the same state: every
# copy removed and synced (untimed), only the source left. The order rotates from round to round: the first copy after the
# last round's took up to 3x longer whichever tool it was (seen with cp and
# with smbcopy: the disk still busy with what the sync before it started).
run_sc() {
    reset_all
    bench_time t "$SMBCOPY" --json -q "$SHARE_URL/big" "$SHARE_URL/big.sc"
    grep -q '"method":"copychunk"' "$bench_work/last.out" ||
        bench_die "smbcopy did not copy server-side: $(cat "$bench_work/last.out")"
    t_sc+=("$t")
}
run_lib() {
    reset_all
    bench_time t "$bench_work/ccbench" -r 1 big big.lib
    t_libp+=("$t")
    t_lib+=("$(sed -n 's/.* seconds=\([0-9.]*\) .*/\1/p' "$bench_work/last.out")")
}
run_sp() {
    reset_all
    bench_time t env SMB_USER="$SMBW_TEST_USER" "$bench_work/splice" "$srv/big" "$srv/big.sp"
    t_sp+=("$t")
    t_spcall+=("$(cat "$bench_work/last.out")")
}
run_scopy() {
    reset_all
    bench_time t smbclient "//$SMBW_TEST_HOST/$SMBW_TEST_SHARE" -p "$SMBW_TEST_PORT" \
        -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" -c "scopy big big.scopy"
    t_scopy+=("$t")
}
run_cp() {
    reset_all
    bench_time t cp "$share/big" "$share/big.cp"
    t_cp+=("$t")
}
reset_all() {
    bench_reset "$share"/big.sc "$share"/big.lib "$share"/big.sp "$share"/big.scopy "$share"/big.cp
}
contenders=(run_sc run_lib run_sp run_scopy run_cp)
n=${#contenders[@]}
for ((r = 1; r <= ROUNDS; r++)); do
    for ((i = 0; i < n; i++)); do
        "${contenders[$(((r - 1 + i) % n))]}"
    done
    if ((r == 1)); then
        # Check every result once (the timed copies were removed as we
        # went: redo them untimed).
        reset_all
        "$SMBCOPY" -q "$SHARE_URL/big" "$SHARE_URL/big.sc"
        cp "$share/big" "$share/big.cp"
        "$bench_work/ccbench" -r 1 big big.lib >/dev/null
        SMB_USER=$SMBW_TEST_USER "$bench_work/splice" "$srv/big" "$srv/big.sp" >/dev/null
        smbclient "//$SMBW_TEST_HOST/$SMBW_TEST_SHARE" -p "$SMBW_TEST_PORT" \
            -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" -c "scopy big big.scopy" >/dev/null
        for f in big.sc big.lib big.sp big.scopy big.cp; do
            cmp "$share/big" "$share/$f" || bench_die "$f differs from the source"
        done
    fi
done
reset_all

echo
if [[ "$DURABLE" == 1 ]]; then
    echo "## server-side copy of $SIZE_MIB MiB, durable: each command followed by sync, timed"
else
    echo "## server-side copy of $SIZE_MIB MiB (page cache warm, sync before each run, not timed)"
fi
echo
bench_table_head
bench_row "smbcopy smb->smb (process, defaults: no FLUSH)" "${t_sc[@]}"
bench_row "ccbench: smbw_copy_file, default depth (process)" "${t_libp[@]}"
bench_row "ccbench: smbw_copy_file, default depth (call only, no sync)" "${t_lib[@]}"
bench_row "libsmbclient smbc_splice (process)" "${t_sp[@]}"
bench_row "libsmbclient smbc_splice (call only, no sync)" "${t_spcall[@]}"
bench_row "smbclient scopy (process)" "${t_scopy[@]}"
bench_row "local cp on the share directory" "${t_cp[@]}"
echo
bench_load_end
