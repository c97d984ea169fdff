#!/usr/bin/env bash
# Trees of many files (issue 9): smbcopy -r against smbclient's recursive
# mput/mget on one private Samba share, page cache warm, median of ROUNDS,
# the contenders alternating inside every round:
#   local -> smb   smbcopy -r TREE smb://.../t.sc    smbclient 'recurse on; mput *'
#   smb -> local   smbcopy -r smb://.../t DIR         smbclient 'recurse on; mget *'
#   smb -> smb     smbcopy -r smb://.../t smb://.../t.ss (server-side, same share)
#   -u             smbcopy -r -u over the unchanged local -> smb copy
#   empty files    EMPTY (default 10000) empty files local -> smb, files/s
# With DELAY_MS=N (e.g. 5) the SMB traffic goes through bench/latency_proxy.py
# with N ms one-way delay (both tools).
# TREE defaults to /usr/include (thousands of small files, symlinks, and
# names differing only in case, which a case-insensitive share cannot hold
# apart: smbcopy reports those and exits 7; that is expected here).
# Round 1 checks the copies: diff -r of every destination against the source,
# where the only differences allowed are the names smbcopy reported as
# collisions (smbclient's copies are not checked: it overwrites those).
# With CONNECTIONS="1 2 3 4" smbcopy's upload, download and smb -> smb run
# also with --connections=N for each N (in every round, alternating with the
# rest), in rows of their own; this is how --connections=auto for trees was
# chosen (docs/performance.md section 6).
# WHAT picks the measurements (default all: "up down ss empty"; up includes
# smbclient's mput and the -u run, down smbclient's mget), e.g. WHAT=up with
# DELAY_MS=5, where smbclient's mget of /usr/include takes minutes a round.
# Usage: [BUILD=build-rel] [ROUNDS=5] [TREE=/usr/include] [DELAY_MS=0]
#        [CONNECTIONS="1 2"] [EMPTY=10000] [WHAT="up down ss empty"] bench/tree.sh
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TREE=${TREE:-/usr/include}
DELAY_MS=${DELAY_MS:-0}
EMPTY=${EMPTY:-10000}
CONNECTIONS=${CONNECTIONS:-}
WHAT=${WHAT:-up down ss empty}
want() { [[ " $WHAT " == *" $1 "* ]]; }
[[ -d "$TREE" ]] || bench_die "TREE=$TREE is not a directory"
TREE=$(cd "$TREE" && pwd)
base=$(basename "$TREE")
command -v smbclient >/dev/null || bench_die "smbclient not installed"

bench_init
bench_samba_start
share=$SMBW_TEST_SHARE_PATH
host=$SMBW_TEST_HOST port=$SMBW_TEST_PORT
if ((DELAY_MS > 0)); then
    python3 "$bench_root/bench/latency_proxy.py" --delay-ms "$DELAY_MS" \
        --upstream "$host:$port" --port-file "$bench_work/proxy.port" >/dev/null 2>&1 &
    bench_pids+=($!)
    for _ in $(seq 100); do
        [[ -s "$bench_work/proxy.port" ]] && break
        sleep 0.1
    done
    port=$(cat "$bench_work/proxy.port")
fi
url=smb://$SMBW_TEST_USER@$host:$port/$SMBW_TEST_SHARE
smbc=(smbclient "//$host/$SMBW_TEST_SHARE" -p "$port" -U "$SMBW_TEST_USER%$SMBW_TEST_PASS")

nfiles=$(find -L "$TREE" -type f 2>/dev/null | wc -l)
ndirs=$(find -L "$TREE" -type d 2>/dev/null | wc -l)
mib=$(du -sLm "$TREE" 2>/dev/null | cut -f1)
echo "# tree: $TREE, $nfiles files, $ndirs directories, $mib MiB (links followed); delay ${DELAY_MS} ms one way"
cat -- $(find "$TREE" -type f 2>/dev/null) >/dev/null 2>&1 || true # warm the cache

# The source on the share for the smb -> * directions: smbcopy's own upload.
"$SMBCOPY" -q -r "$TREE" "$url/t" 2>"$bench_work/seed.err" || (($? == 7)) ||
    bench_die "seeding the share failed: $(cat "$bench_work/seed.err")"
chown -R "$SMBW_TEST_USER:" "$share"

# timed VAR CMD...: like bench_time, but exit 7 (files not copied because
# their names collide on the destination) counts as done.
timed() {
    local -n _t=$1
    shift
    local t0 t1 rc=0
    t0=$EPOCHREALTIME
    "$@" >"$bench_work/last.out" 2>"$bench_work/last.err" || rc=$?
    t1=$EPOCHREALTIME
    if ((rc != 0 && rc != 7)); then
        echo "bench: failed ($rc): $*" >&2
        tail -n 5 "$bench_work/last.err" >&2
        return 1
    fi
    _t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

# check SRC DST JSON: diff -r, every difference must be a reported collision.
check() {
    local src=$1 dst=$2 json=$3 extra
    extra=$(diff -rq "$src" "$dst" 2>&1 | grep -v '^Only in .*: ' || true)
    [[ -z "$extra" ]] || bench_die "$dst differs from $src: $(head -n 5 <<<"$extra")"
    local only missing=0
    while IFS= read -r only; do
        missing=$((missing + 1))
        local name=${only##*: }
        grep -qF "$name" "$json" ||
            bench_die "$only, and smbcopy did not report it as a collision"
    done < <(diff -rq "$src" "$dst" 2>&1 | grep '^Only in ' || true)
    echo "# checked $dst: identical except $missing reported name collision(s)"
}

rm_share() { rm -rf "${@/#/$share/}"; }

t_up=() t_upc=() t_down=() t_downc=() t_ss=() t_upd=()
declare -A t_cup=() t_cdown=() t_css=()
# conn_round R: the upload, download and smb -> smb with each --connections
# of CONNECTIONS (round 1 checks the copies).
conn_round() {
    local r=$1 n t
    for n in $CONNECTIONS; do
        rm_share "t.c$n" "t.ssc$n"
        rm -rf "$bench_work/d.c$n"
        sync
        timed t "$SMBCOPY" --json -q -r --connections="$n" "$TREE" "$url/t.c$n"
        t_cup[$n]+="$t "
        ((r > 1)) || check "$TREE" "$share/t.c$n" "$bench_work/last.out"
        sync
        timed t "$SMBCOPY" --json -q -r --connections="$n" "$url/t" "$bench_work/d.c$n"
        t_cdown[$n]+="$t "
        ((r > 1)) || check "$share/t" "$bench_work/d.c$n" "$bench_work/last.out"
        sync
        timed t "$SMBCOPY" --json -q -r --connections="$n" "$url/t" "$url/t.ssc$n"
        t_css[$n]+="$t "
        ((r > 1)) || check "$share/t" "$share/t.ssc$n" "$bench_work/last.out"
        rm_share "t.c$n" "t.ssc$n"
        rm -rf "$bench_work/d.c$n"
    done
}
for ((r = 1; r <= ROUNDS; r++)); do
    if want up; then
        rm_share t.sc t.smbc
        # t.sc exists, so (as with cp -r) the tree lands in t.sc/$base, and the
        # -u run below, the same command, finds it there.
        mkdir "$share/t.sc"
        chown "$SMBW_TEST_USER:" "$share/t.sc"
        sync
        timed t "$SMBCOPY" --json -q -r "$TREE" "$url/t.sc"
        t_up+=("$t")
        ((r > 1)) || { cp "$bench_work/last.out" "$bench_work/up.json"; chown -R "$SMBW_TEST_USER:" "$share"; }
        sync
        timed t "${smbc[@]}" -c "prompt off; recurse on; lcd $TREE; mkdir t.smbc; cd t.smbc; mput *"
        t_upc+=("$t")

        sync
        timed t "$SMBCOPY" --json -q -r -u "$TREE" "$url/t.sc"
        t_upd+=("$t")
    fi

    if want down; then
        rm -rf "$bench_work/d.sc" "$bench_work/d.smbc"
        mkdir -p "$bench_work/d.smbc"
        sync
        timed t "$SMBCOPY" --json -q -r "$url/t" "$bench_work/d.sc"
        t_down+=("$t")
        ((r > 1)) || cp "$bench_work/last.out" "$bench_work/down.json"
        sync
        timed t "${smbc[@]}" -c "prompt off; recurse on; lcd $bench_work/d.smbc; cd t; mget *"
        t_downc+=("$t")
    fi

    if want ss; then
        rm_share t.ss
        sync
        timed t "$SMBCOPY" --json -q -r "$url/t" "$url/t.ss"
        t_ss+=("$t")
        ((r > 1)) || cp "$bench_work/last.out" "$bench_work/ss.json"
    fi

    conn_round "$r"

    if ((r == 1)); then
        want up && check "$TREE" "$share/t.sc/$base" "$bench_work/up.json"
        want down && check "$share/t" "$bench_work/d.sc" "$bench_work/down.json"
        if want ss; then
            check "$share/t" "$share/t.ss" "$bench_work/ss.json"
            grep -q '"method":"copychunk"\|"method":"clone"' "$bench_work/ss.json" ||
                bench_die "smb->smb was not server-side: $(cat "$bench_work/ss.json")"
        fi
    fi
done

# EMPTY empty files in one directory, local -> smb.
t_empty=()
if want empty; then
    mkdir -p "$bench_work/empty"
    (cd "$bench_work/empty" && seq -f 'e%05.0f' "$EMPTY" | xargs touch)
    for ((r = 1; r <= ROUNDS; r++)); do
        rm_share empty
        sync
        timed t "$SMBCOPY" -q -r "$bench_work/empty" "$url/empty"
        t_empty+=("$t")
    done
    [[ $(find "$share/empty" -type f | wc -l) == "$EMPTY" ]] || bench_die "empty files missing"
fi

med() { bench_stats "$@" | cut -d' ' -f1; }
row() { # label times... (no times: no row)
    local label=$1
    shift
    (($# > 0)) || return 0
    read -r m lo hi < <(bench_stats "$@")
    echo "| $label | $m | $lo-$hi | $* |"
}
echo
echo "## trees: $TREE ($nfiles files, $mib MiB), delay ${DELAY_MS} ms one way, median of $ROUNDS"
echo
echo "| what | median s | range s | runs (s) |"
echo "|---|---|---|---|"
row "local -> smb: smbcopy -r" "${t_up[@]}"
row "local -> smb: smbclient mput" "${t_upc[@]}"
row "local -> smb: smbcopy -r -u, nothing changed" "${t_upd[@]}"
row "smb -> local: smbcopy -r" "${t_down[@]}"
row "smb -> local: smbclient mget" "${t_downc[@]}"
row "smb -> smb (server-side): smbcopy -r" "${t_ss[@]}"
row "$EMPTY empty files local -> smb: smbcopy -r" "${t_empty[@]}"
for n in $CONNECTIONS; do
    # shellcheck disable=SC2086 # the runs, one word each
    row "local -> smb: smbcopy -r --connections=$n" ${t_cup[$n]}
    # shellcheck disable=SC2086
    row "smb -> local: smbcopy -r --connections=$n" ${t_cdown[$n]}
    # shellcheck disable=SC2086
    row "smb -> smb: smbcopy -r --connections=$n" ${t_css[$n]}
done
echo
medv() { (($# > 0)) && med "$@" || echo 0; }
awk -v up="$(medv "${t_up[@]}")" -v upc="$(medv "${t_upc[@]}")" \
    -v dn="$(medv "${t_down[@]}")" -v dnc="$(medv "${t_downc[@]}")" \
    -v ss="$(medv "${t_ss[@]}")" -v upd="$(medv "${t_upd[@]}")" \
    -v em="$(medv "${t_empty[@]}")" -v n="$EMPTY" 'BEGIN {
    printf "ratios (issue 9 targets):"
    if (upc > 0) printf " up/mput %.2f (<= 0.33 at 0 ms, <= 0.2 at 5 ms),", up / upc
    if (dnc > 0) printf " down/mget %.2f (<= 0.5),", dn / dnc
    if (ss > 0 && up > 0) printf " smb->smb/up %.2f (<= 0.5),", ss / up
    if (upd > 0 && up > 0) printf " -u/up %.2f (<= 0.1),", upd / up
    if (em > 0) printf " empty files %.0f/s (>= 1000)", n / em
    printf "\n" }'
bench_load_end
