#!/usr/bin/env bash
# Two builds of smbcopy against each other on a tree (before/after a change):
# upload (local -> smb, into a new directory), download (smb -> local), -u over an unchanged copy on the share, and the
# server-side copy (smb -> smb, one share); with WHAT also downu (-u of a download
# over an unchanged local copy), ssu (-u of a server-side copy over an unchanged
# copy on the share), upagain and downagain (the copy again, without -u, over an
# existing copy: every file replaced); alternating A and B inside every
# round (the order swapped from round to round), medians of ROUNDS. Every
# copy starts from the same synced state; round 1 checks the copies with
# diff -r. BENCH_TMP=/dev/shm keeps the share and the download in memory
# (the disk's writeback otherwise dominates and drifts from round to round).
# TREE defaults to /usr/include (names that collide on a case-insensitive
# share: smbcopy reports them and exits 7, which counts as done here).
# Usage: BUILD=after BUILD_A=before [ROUNDS=5] [TREE=/usr/include] [DELAY_MS=0]
#        [WHAT="up down update ss"] bench/treeab.sh
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TREE=${TREE:-/usr/include}
WHAT=${WHAT:-up down update ss}
[[ -d "$TREE" ]] || bench_die "TREE=$TREE is not a directory"
[[ -n "${BUILD_A:-}" ]] || bench_die "BUILD_A (the build to compare with) is not set"
case $BUILD_A in
/*) ;;
*) BUILD_A=$bench_root/$BUILD_A ;;
esac
SMBCOPY_A=$BUILD_A/tools/smbcopy/smbcopy
[[ -x "$SMBCOPY_A" ]] || bench_die "no $SMBCOPY_A"

bench_init
echo "# A: $BUILD_A, B: $BUILD; tree $TREE"
bench_samba_start
share=$SMBW_TEST_SHARE_PATH
find "$TREE" -type f -exec cat -- {} + >/dev/null 2>&1 || true # warm the cache

# run7 VAR CMD...: bench_time, where exit 7 (names that collide on the
# destination, reported) counts as done.
run7() {
    local -n _r=$1
    shift
    local t0 rc=0
    t0=$EPOCHREALTIME
    "$@" >"$bench_work/last.out" 2>"$bench_work/last.err" || rc=$?
    ((rc == 0 || rc == 7)) || {
        tail -n 3 "$bench_work/last.err" >&2
        bench_die "failed ($rc): $*"
    }
    _r=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
}
# The share's copies: t (the source of down and ss), u/<tree> (for -u).
run7 _ "$SMBCOPY" -q -r "$TREE" "$SHARE_URL/t"
run7 _ "$SMBCOPY" -q -r "$TREE" "$SHARE_URL/u"
run7 _ "$SMBCOPY" -q -r -u "$TREE" "$SHARE_URL/u"
if [[ " $WHAT " == *" downu "* ]]; then
    mkdir -p "$bench_work/du"
    run7 _ "$SMBCOPY" -q -r "$SHARE_URL/t" "$bench_work/du/"
fi
if [[ " $WHAT " == *" ssu "* ]]; then
    mkdir -p "$share/su"
    chown "$SMBW_TEST_USER:" "$share/su"
    run7 _ "$SMBCOPY" -q -r "$SHARE_URL/t" "$SHARE_URL/su/"
fi
if [[ " $WHAT " == *" upagain "* ]]; then
    mkdir -p "$share/ua"
    chown "$SMBW_TEST_USER:" "$share/ua"
    run7 _ "$SMBCOPY" -q -r "$TREE" "$SHARE_URL/ua/"
fi
if [[ " $WHAT " == *" downagain "* ]]; then
    mkdir -p "$bench_work/da"
    run7 _ "$SMBCOPY" -q -r "$SHARE_URL/t" "$bench_work/da/"
fi
chown -R "$SMBW_TEST_USER:" "$share"
sync

# DELAY_MS=N: the timed copies go through bench/delay_proxy.c (N ms one way);
# the copies made above to start from went direct.
if ((${DELAY_MS:-0} > 0)); then
    bench_delay_proxy "$DELAY_MS"
    echo "# timed copies through a ${DELAY_MS} ms one-way delay"
fi
declare -A times
t=0
for ((r = 1; r <= ROUNDS; r++)); do
    for who in $( ((r % 2)) && echo "a b" || echo "b a"); do
        bin=$SMBCOPY
        [[ $who == a ]] && bin=$SMBCOPY_A
        for w in $WHAT; do
            case $w in
            up)
                rm -rf "$share/up"
                sync
                run7 t "$bin" -q -r "$TREE" "$SHARE_URL/up"
                if ((r == 1)) && ! diff -r "$TREE" "$share/up" >/dev/null 2>&1; then
                    # only the names reported as colliding may differ
                    grep -q 'collides with' "$bench_work/last.err" ||
                        bench_die "$who: upload differs"
                fi
                ;;
            down)
                rm -rf "$bench_work/dl"
                sync
                run7 t "$bin" -q -r "$SHARE_URL/t" "$bench_work/dl"
                if ((r == 1)) && ! diff -r "$share/t" "$bench_work/dl" >/dev/null; then
                    bench_die "$who: download differs"
                fi
                ;;
            update)
                sync
                run7 t "$bin" -q -r -u --json "$TREE" "$SHARE_URL/u"
                # nothing changed: nothing copied
                grep -q '"files":0,' "$bench_work/last.out" ||
                    bench_die "$who: -u copied files: $(head -c 300 "$bench_work/last.out")"
                ;;
            downu | ssu)
                sync
                to=$bench_work/du/
                [[ $w == ssu ]] && to=$SHARE_URL/su/
                run7 t "$bin" -q -r -u --json "$SHARE_URL/t" "$to"
                grep -q '"files":0,' "$bench_work/last.out" ||
                    bench_die "$who: $w copied files: $(head -c 300 "$bench_work/last.out")"
                ;;
            upagain)
                sync
                run7 t "$bin" -q -r "$TREE" "$SHARE_URL/ua/"
                ;;
            downagain)
                sync
                run7 t "$bin" -q -r "$SHARE_URL/t" "$bench_work/da/"
                if ((r == 1)) && ! diff -r "$share/t" "$bench_work/da/t" >/dev/null; then
                    bench_die "$who: download again differs"
                fi
                ;;
            ss)
                rm -rf "$share/ss"
                sync
                run7 t "$bin" -q -r "$SHARE_URL/t" "$SHARE_URL/ss"
                if ((r == 1)) && ! diff -r "$share/t" "$share/ss" >/dev/null; then
                    bench_die "$who: server-side copy differs"
                fi
                ;;
            *) bench_die "unknown WHAT $w" ;;
            esac
            times[$w.$who]+="$t "
        done
    done
done
rm -rf "$bench_work/dl" "$bench_work/du" "$bench_work/da" "$share/ss" "$share/up" "$share/su" "$share/ua"
echo
echo "| what | A median s | A range | B median s | B range | B / A |"
echo "|---|---|---|---|---|---|"
for w in $WHAT; do
    read -ra ta <<<"${times[$w.a]}"
    read -ra tb <<<"${times[$w.b]}"
    read -r ma la ha < <(bench_stats "${ta[@]}")
    read -r mb lb hb < <(bench_stats "${tb[@]}")
    awk -v w="$w" -v ma="$ma" -v la="$la" -v ha="$ha" -v mb="$mb" -v lb="$lb" -v hb="$hb" 'BEGIN {
        printf "| %s | %.3f | %.3f-%.3f | %.3f | %.3f-%.3f | %.2f |\n", w, ma, la, ha, mb, lb, hb, mb / ma }'
done
echo
for w in $WHAT; do
    echo "# $w runs, A: ${times[$w.a]}"
    echo "# $w runs, B: ${times[$w.b]}"
done
bench_load_end
