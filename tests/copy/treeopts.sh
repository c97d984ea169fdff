#!/usr/bin/env bash
# Tree copies as rsync and robocopy users expect them (issue 9): symbolic
# links in a local source followed (a loop and a dangling link are failed
# entries, exit 7), --no-follow, -u/--update, --dry-run, --exclude, and a
# tree copy killed in the middle then finished with -u; -u and --dry-run from
# a share decide from its listing, opening no file. The temporary files
# and resume records of an unfinished smbcopy (.NAME.smbcopy.part,
# .NAME.smbcopy.state) in a source tree are skipped with a warning, up and
# down; names that only look like them are copied.
# Run through with-server.sh samba.
#
#   treeopts.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init treeopts

# json_num KEY: a number member of the last --json object.
json_num() {
    json_get "$work/last.json" "$1"
}

# ---- symbolic links -------------------------------------------------------
src=$work/links
outside=$work/outside
mkdir -p "$src/d" "$outside/sub"
echo "plain" >"$src/plain.txt"
echo "target file" >"$outside/t.txt"
echo "in outside/sub" >"$outside/sub/deep.txt"
ln -s "$outside/t.txt" "$src/file-link"
ln -s "$outside" "$src/dir-link"
ln -s "$work/nowhere" "$src/dangling"
ln -s .. "$src/d/up" # leads back to the tree's root: a loop
echo "in d" >"$src/d/x.txt"

run_json -r "$src" "$url/links"
if ((rc == 7)); then
    pass "links: exit 7"
else
    fail "links: exit $rc (want 7): $(cat "$work/last.err")"
fi
if grep -q "dangling: not copied: symbolic link cannot be followed (dangling" "$work/last.err" &&
    grep -q "d/up: not copied: symbolic link loop (it leads back to .*links)" "$work/last.err"; then
    pass "links: the dangling link and the loop are reported"
else
    fail "links: messages: $(cat "$work/last.err")"
fi
if [[ "$(json_num failed)" == 2 && "$(json_num files)" == 5 ]]; then
    pass "links: 5 files copied, 2 failed"
else
    fail "links: files $(json_num files) failed $(json_num failed)"
fi
same_file "links: link to a file copied as the file" "$outside/t.txt" "$share/links/file-link"
same_file "links: link to a directory copied as it" "$outside/sub/deep.txt" \
    "$share/links/dir-link/sub/deep.txt"
same_file "links: plain file" "$src/plain.txt" "$share/links/plain.txt"
same_file "links: file below the loop's directory" "$src/d/x.txt" "$share/links/d/x.txt"
if [[ ! -e "$share/links/dangling" && ! -e "$share/links/d/up" ]]; then
    pass "links: nothing written for the dangling link and the loop"
else
    fail "links: dangling or loop entry written"
fi

set +e
"$smbcopy" --json -r --no-follow "$src" "$url/nofollow" >"$work/last.json" 2>"$work/last.err" </dev/null
rc=$?
set -e
if ((rc == 0)) && [[ "$(json_num files)" == 2 && "$(json_num skipped)" == 4 ]] &&
    [[ "$(grep -c 'warning: skipping symbolic link' "$work/last.err")" == 4 ]]; then
    pass "--no-follow: exit 0, 2 files, 4 links skipped with a warning"
else
    fail "--no-follow: exit $rc files $(json_num files) skipped $(json_num skipped): $(cat "$work/last.err")"
fi
if [[ ! -e "$share/nofollow/file-link" && ! -e "$share/nofollow/dir-link" ]]; then
    pass "--no-follow: no link followed"
else
    fail "--no-follow: a link was followed"
fi

# ---- -u, --dry-run, --exclude ---------------------------------------------
t=$work/tree
mkdir -p "$t/a/b" "$t/build" "$t/keep"
for i in 1 2 3 4 5 6; do
    head -c $((i * 700)) /dev/urandom >"$t/a/f$i.c"
    head -c $((i * 300)) /dev/urandom >"$t/a/b/g$i.c"
done
echo obj >"$t/a/f1.o"
echo obj >"$t/a/b/g1.o"
echo out >"$t/build/out.bin"
echo keep >"$t/keep/k.txt"
# 12 .c files, 2 .o, build/out.bin, keep/k.txt: 16 files.

run_json -r -n "$t" "$url/dry"
if ((rc == 0)) && [[ "$(json_num files)" == 16 ]] && [[ ! -e "$share/dry" ]] &&
    [[ "$(grep -c ' -> ' "$work/last.err")" == 16 ]]; then
    pass "--dry-run: 16 files listed, nothing written"
else
    fail "--dry-run: exit $rc files $(json_num files), exists: $(ls "$share" | tr '\n' ' ')"
fi

run_json -r --exclude='*.o' --exclude=build "$t" "$url/ex"
if ((rc == 0)) && [[ "$(json_num files)" == 13 && "$(json_num skipped)" == 3 ]] &&
    [[ ! -e "$share/ex/a/f1.o" && ! -e "$share/ex/a/b/g1.o" && ! -e "$share/ex/build" ]]; then
    pass "--exclude: *.o and build/ left out (13 files, 3 skipped)"
else
    fail "--exclude: exit $rc files $(json_num files) skipped $(json_num skipped)"
fi
run_json -r --exclude='a/b/*.c' "$t" "$url/ex2"
if ((rc == 0)) && [[ "$(json_num files)" == 10 ]] && [[ -e "$share/ex2/a/f2.c" ]] &&
    [[ ! -e "$share/ex2/a/b/g2.c" && -e "$share/ex2/a/b/g1.o" ]]; then
    pass "--exclude with '/': matched against the relative path"
else
    fail "--exclude a/b/*.c: exit $rc files $(json_num files)"
fi

# Into the share root: the copy is share1/tree, the same on every run.
run_json -r "$t" "$url/"
[[ $rc == 0 ]] || fail "-u: first copy exit $rc"
# A changed file (new content and time), an untouched one, and a new one.
head -c 5000 /dev/urandom >"$t/a/f3.c"
touch -d '2020-01-02 03:04:05' "$t/a/f3.c"
echo new >"$t/keep/new.txt"
run_json -r -u "$t" "$url/"
if ((rc == 0)) && [[ "$(json_num files)" == 2 && "$(json_num skipped)" == 15 ]]; then
    pass "-u: the changed and the new file copied, 15 skipped"
else
    fail "-u: exit $rc files $(json_num files) skipped $(json_num skipped)"
fi
if diff -r "$t" "$share/tree" >"$work/diff.out" 2>&1; then
    pass "-u: identical afterwards"
else
    fail "-u: $(head -n 5 "$work/diff.out")"
fi
# Directory times: the copy's equal the source's, also where -u copied a
# new file into a directory (keep/) after its listing was taken.
dir_times() { # dir_times ROOT: each directory's relative path and mtime (to 100 ns)
    (cd "$1" && find . -type d -printf '%p %T@\n' | sed -E 's/(\.[0-9]{7})[0-9]*$/\1/' | sort)
}
if [[ "$(dir_times "$t")" == "$(dir_times "$share/tree")" ]]; then
    pass "-u: directory times equal the source's"
else
    fail "-u: directory times differ: $(diff <(dir_times "$t") <(dir_times "$share/tree") | head -n 4)"
fi
# An unchanged tree: from each directory's listing, no directory made or
# looked up again, no times set again (one listing per directory; the root,
# which no listing of this run shows, is looked up, listed and its times
# set: 4 CREATEs and a SET_INFO, and the command line's lookup).
"$smbcopy" -r -u -vvv "$t" "$url/" 2>"$work/u.trace" >/dev/null || fail "-u unchanged: exit $?"
ndirs=$(find "$t" -type d | wc -l)
if (($(grep -c -- '-> SET_INFO' "$work/u.trace") <= 1)) &&
    (($(grep -c '<- CREATE.*STATUS_OBJECT_NAME_COLLISION' "$work/u.trace") <= 1)) &&
    (($(grep -c -- '-> CREATE' "$work/u.trace") <= ndirs + 4)) &&
    [[ "$(dir_times "$t")" == "$(dir_times "$share/tree")" ]]; then
    pass "-u over an unchanged tree: no directory made or its times set again"
else
    fail "-u unchanged: $(grep -c -- '-> CREATE' "$work/u.trace") CREATEs for $ndirs directories, $(grep -c -- '-> SET_INFO' "$work/u.trace") SET_INFOs, $(grep -c '<- CREATE.*STATUS_OBJECT_NAME_COLLISION' "$work/u.trace") collisions"
fi
run_json -r -u -n "$t" "$url/"
if ((rc == 0)) && [[ "$(json_num files)" == 0 ]]; then
    pass "-u --dry-run over an unchanged tree: nothing to copy"
else
    fail "-u -n: exit $rc files $(json_num files)"
fi
# Down and server-side: a file whose copy matches is skipped from the
# share's listing (its size and times), never opened: one listing per
# directory (its CREATE; server-side also the copy's), plus at most 10 more:
# the command line's two paths, the check that DST is not inside SRC (SRC
# and each directory above DST), the root's times. Opening each of the 17
# files would add 17.
mkdir -p "$work/down" "$share/ss"
chown --reference="$share" "$share/ss"
run_json -r "$url/tree" "$work/down/"
[[ $rc == 0 ]] || fail "-u down: first copy exit $rc"
run_json -r "$url/tree" "$url/ss/"
[[ $rc == 0 ]] || fail "-u server-side: first copy exit $rc"
nfiles=$(find "$t" -type f | wc -l)
for what in down server-side; do
    # a listing per directory of the source, and one of the copy on a share
    if [[ $what == down ]]; then to=$work/down/ per=1; else to=$url/ss/ per=2; fi
    "$smbcopy" -r -u --json -vvv "$url/tree" "$to" 2>"$work/u.trace" >"$work/last.json" ||
        fail "-u $what: exit $?"
    ncreate=$(grep -c -- '-> CREATE' "$work/u.trace" || true)
    if [[ "$(json_num files)" == 0 && "$(json_num skipped)" == "$nfiles" ]] &&
        ((ncreate <= per * ndirs + 10)); then
        pass "-u $what over an unchanged tree: $nfiles skipped, no file opened ($ncreate CREATEs for $ndirs directories)"
    else
        fail "-u $what: files $(json_num files) skipped $(json_num skipped) (want $nfiles), $ncreate CREATEs for $ndirs directories"
    fi
done
# -u server-side, files whose names the copy's listing cannot settle
# (non-ASCII, not listed: the share may fold them to another listed name):
# each is looked up once by the walk, and that lookup is what the copy goes
# on with: 3 CREATEs per file (the lookup, the source's, the copy's), as the
# difference between 6 and 3 such files (4 before: looked up twice).
for n in 3 6; do
    mkdir -p "$share/nu$n" "$share/cu$n/nu$n"
    for ((i = 1; i <= n; i++)); do echo "$i" >"$share/nu$n/$(printf '\xc3\xbc')$i"; done
    chown -R --reference="$share" "$share/nu$n" "$share/cu$n"
    "$smbcopy" -r -u -vvv --no-progress "$url/nu$n" "$url/cu$n" 2>"$work/u.trace" >/dev/null ||
        fail "-u non-ASCII names, $n files: exit $?"
    nc[n]=$(grep -c -- '-> CREATE' "$work/u.trace" || true)
done
if ((nc[6] - nc[3] == 9)) && diff -r "$share/nu6" "$share/cu6/nu6" >/dev/null; then
    pass "-u server-side, non-ASCII names not listed: looked up once, 3 CREATEs per file (${nc[3]} for 3, ${nc[6]} for 6), identical"
else
    fail "-u server-side, non-ASCII names not listed: $((nc[6] - nc[3])) CREATEs for 3 more files (want 9), $(diff -r "$share/nu6" "$share/cu6/nu6" 2>&1 | head -2)"
fi
# --dry-run of a download into an empty directory: every file listed from
# the share's listing, none opened, nothing written.
mkdir -p "$work/dry-down"
"$smbcopy" -r -n --json -vvv "$url/tree" "$work/dry-down/" 2>"$work/u.trace" >"$work/last.json" ||
    fail "--dry-run down: exit $?"
ncreate=$(grep -c -- '-> CREATE' "$work/u.trace" || true)
if [[ "$(json_num files)" == "$nfiles" && "$(grep -c ' -> smb\| -> /' "$work/u.trace")" == "$nfiles" ]] &&
    [[ -z "$(ls -A "$work/dry-down")" ]] && ((ncreate <= ndirs + 10)); then
    pass "--dry-run down: $nfiles files listed, none opened ($ncreate CREATEs for $ndirs directories), nothing written"
else
    fail "--dry-run down: files $(json_num files) (want $nfiles), $ncreate CREATEs, written: $(ls -A "$work/dry-down" | tr '\n' ' ')"
fi
# A changed source file is still copied by a -u download.
head -c 777 /dev/urandom >"$share/tree/a/f2.c"
run_json -r -u "$url/tree" "$work/down/"
if ((rc == 0)) && [[ "$(json_num files)" == 1 ]] && cmp -s "$share/tree/a/f2.c" "$work/down/tree/a/f2.c"; then
    pass "-u down: the changed file copied"
else
    fail "-u down after a change: exit $rc files $(json_num files)"
fi
cp "$share/tree/a/f2.c" "$t/a/f2.c"
touch -r "$share/tree/a/f2.c" "$t/a/f2.c"
# A download again over the whole copy (no -u): the existing plain files are
# replaced as new ones are, many in flight (the small-file batch: several
# files opened, each a CREATE with its READ, with no CLOSE between), the
# changed one too.
head -c 999 /dev/urandom >"$share/tree/a/f4.c"
"$smbcopy" -r -vvv "$url/tree" "$work/down/" 2>"$work/u.trace" >/dev/null || fail "down again: exit $?"
# the longest run of file opens (a CREATE with its READ) with no CLOSE between
inflight=$(awk '/-> CREATE/ { c = 1; next }
    /-> READ/ && c { run++; if (run > max) max = run } /-> CLOSE/ { run = 0 } { c = 0 }
    END { print max + 0 }' "$work/u.trace")
if diff -r "$share/tree" "$work/down/tree" >/dev/null && ((${inflight:-0} >= 2)) &&
    [[ -z "$(leftovers "$work/down")" ]]; then
    pass "down again over the copy: identical, $inflight files in flight at once, no leftovers"
else
    fail "down again: $(diff -r "$share/tree" "$work/down/tree" 2>&1 | head -3), ${inflight:-0} in flight"
fi
# The same into the existing directories with their files gone (as a first
# run that made the directories and stopped leaves them).
find "$work/down/tree" -type f -delete
"$smbcopy" -r -vvv "$url/tree" "$work/down/" 2>"$work/u.trace" >/dev/null || fail "down into the directories: exit $?"
inflight=$(awk '/-> CREATE/ { c = 1; next }
    /-> READ/ && c { run++; if (run > max) max = run } /-> CLOSE/ { run = 0 } { c = 0 }
    END { print max + 0 }' "$work/u.trace")
if diff -r "$share/tree" "$work/down/tree" >/dev/null && ((inflight >= 2)); then
    pass "down into the existing directories: identical, $inflight files in flight at once"
else
    fail "down into the directories: $(diff -r "$share/tree" "$work/down/tree" 2>&1 | head -3), $inflight in flight"
fi
cp "$share/tree/a/f4.c" "$t/a/f4.c"
touch -r "$share/tree/a/f4.c" "$t/a/f4.c"

# ---- killed in the middle, finished with -u --------------------------------
k=$work/kill
mkdir -p "$k"
for i in 1 2 3 4 5; do head -c 100000 /dev/urandom >"$k/a$i"; done
head -c $((300 << 20)) /dev/zero >"$k/m_big"
for i in 1 2 3 4 5; do head -c 100000 /dev/urandom >"$k/z$i"; done
# A subdirectory (its small files may or may not have landed before the
# kill) and both directories' times in the past: the killed run cannot have
# set kill's times (m_big is not finished); -u sets them.
mkdir -p "$k/b_dir"
head -c 1000 /dev/urandom >"$k/b_dir/f1"
head -c 2000 /dev/urandom >"$k/b_dir/f2"
touch -d '2001-02-03 04:05:06' "$k/b_dir" "$k"
set +e
"$smbcopy" -q -r --chunk-size=65536 "$k" "$url/" </dev/null >/dev/null 2>&1 &
pid=$!
set -e
# Wait (bounded) until the big file's copy is under way, then kill -9.
for ((i = 0; i < 600; i++)); do
    if [[ -n "$(find "$share/kill" -name '*m_big*.smbcopy.part' 2>/dev/null)" ]]; then
        break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
kill -KILL "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
if [[ -e "$share/kill/a5" && ! -e "$share/kill/m_big" ]]; then
    pass "kill: killed while copying m_big (a1..a5 done)"
else
    fail "kill: not caught mid-tree: $(ls -a "$share/kill" 2>&1 | tr '\n' ' ')"
fi
if [[ "$(stat -c %Y "$share/kill")" != "$(stat -c %Y "$k")" ]]; then
    pass "kill: the interrupted run left the times of the directory it was in"
else
    fail "kill: the directory's times were set although its files were not all copied"
fi
run_json -r -u "$k" "$url/"
sk=$(json_num skipped) fi_=$(json_num files)
if ((rc == 0 && sk >= 5 && fi_ >= 6 && sk + fi_ == 13)); then
    pass "kill: -u skips the $sk done (a1..a5 at least), copies the other $fi_"
else
    fail "kill: -u exit $rc files $(json_num files) skipped $(json_num skipped): $(cat "$work/last.err")"
fi
if diff -r "$k" "$share/kill" >"$work/diff.out" 2>&1 && [[ -z "$(leftovers "$share/kill")" ]]; then
    pass "kill: identical after -u, no leftovers"
else
    fail "kill: $(head -n 5 "$work/diff.out") $(leftovers "$share/kill")"
fi
# dir_mtimes_ok WHAT: the copies of kill and kill/b_dir have the source's mtimes.
dir_mtimes_ok() {
    if [[ "$(stat -c %Y "$share/kill")" == "$(stat -c %Y "$k")" &&
        "$(stat -c %Y "$share/kill/b_dir")" == "$(stat -c %Y "$k/b_dir")" ]]; then
        pass "kill: $1"
    else
        fail "kill: $1: kill $(stat -c %Y "$share/kill") (want $(stat -c %Y "$k")), b_dir $(stat -c %Y "$share/kill/b_dir") (want $(stat -c %Y "$k/b_dir"))"
    fi
}
dir_mtimes_ok "-u set both directories' times"
# Directory times left wrong (as by a run interrupted after its last file):
# a -u that finds every file done still sets them.
touch -d '2010-01-01 00:00:00' "$share/kill" "$share/kill/b_dir"
run_json -r -u "$k" "$url/"
if ((rc == 0)) && [[ "$(json_num skipped)" == 13 && "$(json_num files)" == 0 ]]; then
    pass "kill: -u over the finished tree skips all 13"
else
    fail "kill: -u exit $rc files $(json_num files) skipped $(json_num skipped)"
fi
dir_mtimes_ok "-u with every file skipped set both directories' times again"

# ---- an unfinished copy's files in the source tree ---------------------------
u=$work/unfinished
mkdir -p "$u/sub"
echo data >"$u/a.txt"
echo partial >"$u/.a.txt.smbcopy.part"
echo record >"$u/sub/.b.bin.smbcopy.state"
echo partial >"$u/sub/.b.bin.smbcopy.part"
for n in x.smbcopy.part .smbcopy.part .smbcopy.state .c.smbcopy.part.txt; do
    echo "look-alike $n" >"$u/sub/$n"
done
run_json_v -r "$u" "$url/"
nwarn=$(grep -c "an unfinished copy of smbcopy's" "$work/last.err" || true)
if ((rc == 0)) && [[ "$(json_num skipped)" == 3 && "$(json_num files)" == 5 && "$nwarn" == 3 ]] &&
    [[ ! -e "$share/unfinished/.a.txt.smbcopy.part" && ! -e "$share/unfinished/sub/.b.bin.smbcopy.state" ]] &&
    cmp -s "$u/a.txt" "$share/unfinished/a.txt" && cmp -s "$u/sub/.smbcopy.part" "$share/unfinished/sub/.smbcopy.part" &&
    cmp -s "$u/sub/.c.smbcopy.part.txt" "$share/unfinished/sub/.c.smbcopy.part.txt"; then
    pass "unfinished: up: the 3 files of unfinished copies skipped with a warning, the 5 others copied"
else
    fail "unfinished: up: exit $rc files $(json_num files) skipped $(json_num skipped), $nwarn warnings: $(cat "$work/last.err")"
fi
# Down: the share's tree holding such files (as a run still going on, or
# killed, leaves them).
cp "$u/.a.txt.smbcopy.part" "$u/sub/.b.bin.smbcopy.state" "$u/sub/.b.bin.smbcopy.part" "$share/unfinished/" 2>/dev/null || true
chown -R --reference="$share" "$share/unfinished"
mkdir -p "$work/unfinished-back"
run_json -r "$url/unfinished" "$work/unfinished-back/"
got=$(cd "$work/unfinished-back/unfinished" && find . -regex '.*/\.[^/]+\.smbcopy\.\(part\|state\)' | wc -l)
if ((rc == 0)) && [[ "$(json_num skipped)" == 3 && "$got" == 0 ]] &&
    cmp -s "$u/sub/x.smbcopy.part" "$work/unfinished-back/unfinished/sub/x.smbcopy.part"; then
    pass "unfinished: down: skipped likewise"
else
    fail "unfinished: down: exit $rc skipped $(json_num skipped), $got copied: $(cat "$work/last.err")"
fi

finish
