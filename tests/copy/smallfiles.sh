#!/usr/bin/env bash
# Small files onto a share in few round trips (issue 9), against the private
# Samba of with-server.sh; the share path must be on a file system the test
# may fill (run-smallfiles.sh mounts a small tmpfs for it):
#
#   smallfiles.sh PATH/TO/smbcopy
#
# - A file that one request carries costs two round trips when its directory
#   was made by the run (CREATE+delete mark+WRITE compounded; mark cleared,
#   times, attributes and CLOSE compounded: no resume record, no lookup of
#   the destination, no temporary name), and the files of a tree are in
#   flight together (more requests outstanding at once than one file has),
#   three when it replaces a file (one lookup more). Round trips are counted
#   from smbcopy's -vvv trace (a request not sent as a later member of a
#   compound starts one), as the difference between trees of 6 and 3 files,
#   so the fixed cost of a run cancels out.
# - -u over unchanged copies asks nothing per file (each directory of
#   copies is listed once) and copies a changed file.
# - Downloads take 2 round trips per small file (CREATE+READ compounded,
#   then the CLOSE that also answers whether the file changed), the files of
#   a tree in flight together; streamed
#   smb -> smb copies 4; server-side copies of a tree 5 requests per file,
#   the files in flight together (the resume key rides with the source's
#   CREATE, the destination's CREATE goes with it).
# - The copies are identical, keep the source's modification time, and are
#   not left hidden (Samba marks a new dot file hidden; the final
#   attributes replace that).
# - A rename the server refuses in the commit of a file replacing another
#   (a sticky directory, the old file another user's): the batch removes its
#   temporary file, the usual way tries and is refused too; that file is
#   reported once (exit 7) and left as it was, the others replaced, nothing
#   left behind; upload and server-side.
# - A file larger than one request still gets its resume record (--resume
#   works for it: tests/copy/resume.sh).
# - On a full share the WRITE of a small file fails after its CREATE made
#   the temporary file: the error names the destination, the exit status is
#   that of a server error, and no temporary file is left.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init smallfiles

mktree() { # DIR N: N small files of different sizes
    mkdir -p "$1"
    local i
    for ((i = 1; i <= $2; i++)); do
        head -c $((i * 1000)) /dev/urandom >"$1/f$i.txt"
        touch -d "2011-0$i-0$i 10:00:00" "$1/f$i.txt"
    done
}
mktree "$work/t3" 3
mktree "$work/t6" 6

# round_trips ARGS...: smbcopy -vvv ARGS; prints the round trips it made.
round_trips() {
    "$smbcopy" -vvv --no-progress "$@" </dev/null 2>"$work/trace" >/dev/null || {
        echo "smbcopy $* failed: $(grep -v '\[trace\]' "$work/trace" | tail -3)" >&2
        return 1
    }
    grep -E '\[trace\] -> ' "$work/trace" | grep -vc ' compound$' || true
}

# in_flight: the most requests of the last trace outstanding at once (an
# interim STATUS_PENDING is not an answer).
in_flight() {
    grep -E '\[trace\] (->|<-) ' "$work/trace" | grep -v STATUS_PENDING |
        awk '/\] -> /{n++; if (n > m) m = n} /\] <- /{n--} END{print m + 0}'
}

# 1. Into directories the run makes: 2 round trips per file, the files in
#    flight together (one file alone has at most 3 requests outstanding).
a=$(round_trips -r "$work/t3" "$url/n3")
b=$(round_trips -r "$work/t6" "$url/n6")
if ((b - a == 6)); then
    pass "new directory: 2 round trips per small file ($a for 3 files, $b for 6)"
else
    fail "new directory: $((b - a)) round trips for 3 more files ($a for 3, $b for 6), wanted 6"
fi
m=$(in_flight)
if ((m >= 9)); then
    pass "upload: the files in flight together ($m requests outstanding at most)"
else
    fail "upload: at most $m requests outstanding for 6 small files, wanted >= 9 (files one by one?)"
fi
# 2. Over existing files: the existing directory is listed once and no file
#    is looked up on its own, so still 2 round trips per file (3 when each
#    was looked up), the files together (each written under its temporary
#    name and renamed over the old one in its commit). (As cp -r, a second run copies into the existing n3 as
#    n3/t3, a new directory; a third one replaces the files of n3/t3.)
round_trips -r "$work/t3" "$url/n3" >/dev/null
round_trips -r "$work/t6" "$url/n6" >/dev/null
a=$(round_trips -r "$work/t3" "$url/n3")
b=$(round_trips -r "$work/t6" "$url/n6")
m=$(in_flight)
if ((b - a == 6 && m >= 9)) && diff -r "$work/t6" "$share/n6/t6" >/dev/null &&
    [[ -z "$(leftovers "$share/n6")" ]]; then
    pass "replacing: 2 round trips per small file ($a for 3 files, $b for 6), the files together ($m requests outstanding at most), identical"
else
    fail "replacing: $((b - a)) round trips for 3 more files ($a for 3, $b for 6), wanted 6; $m outstanding at most (wanted >= 9)"
fi
#    Into existing directories whose files are gone (a run that made the
#    directories and stopped, or new files for an existing tree): the
#    directory's listing says the names are free, so the files go together
#    in the batch of small files, not one by one.
rm -f "$share/n3/t3"/* "$share/n6/t6"/*
a=$(round_trips -r "$work/t3" "$url/n3")
rm -f "$share/n6/t6"/*
b=$(round_trips -r "$work/t6" "$url/n6")
m=$(in_flight)
if ((b - a == 6 && m >= 9)) && diff -r "$work/t6" "$share/n6/t6" >/dev/null; then
    pass "into existing directories: 2 round trips per small file, the files together ($m requests outstanding at most)"
else
    fail "into existing directories: $((b - a)) round trips for 3 more files, $m outstanding at most (wanted 6, >= 9)"
fi

# 2a. -u over unchanged copies: each directory listed once, no request per
#     file; a changed file is copied again.
a=$(round_trips -u -r "$work/t3" "$url/n3")
b=$(round_trips -u -r "$work/t6" "$url/n6")
if ((b - a == 0)); then
    pass "-u, nothing changed: no round trip per file ($a for 3 files, $b for 6)"
else
    fail "-u, nothing changed: $((b - a)) round trips for 3 more files ($a for 3, $b for 6), wanted 0"
fi
cp -p "$work/t6/f2.txt" "$work/f2.saved"
echo changed >>"$work/t6/f2.txt"
round_trips -u -r "$work/t6" "$url/n6" >/dev/null
if cmp -s "$work/t6/f2.txt" "$share/n6/t6/f2.txt"; then
    pass "-u: the changed file copied"
else
    fail "-u: the changed file not copied"
fi
cp -p "$work/f2.saved" "$work/t6/f2.txt" # and back (another size: copied again)
round_trips -u -r "$work/t6" "$url/n6" >/dev/null

# 2b. Downloads: CREATE+READ compounded, then CLOSE (the change check in its
#     answer): 2 round trips per small file.
#     (n3 holds 6 files by now, n6 12, in as many directories.)
a=$(round_trips -r "$url/n3" "$work/d3")
b=$(round_trips -r "$url/n6" "$work/d6")
if ((b - a == 12)) && diff -r "$work/t6" "$work/d6/t6" >/dev/null; then
    pass "download: 2 round trips per small file ($a for 6 files, $b for 12), identical"
else
    fail "download: $((b - a)) round trips for 6 more files ($a for 6, $b for 12), wanted 12; or differs"
fi
m=$(in_flight)
if ((m >= 6)); then
    pass "download: the files in flight together ($m requests outstanding at most)"
else
    fail "download: at most $m requests outstanding for 12 small files, wanted >= 6 (files one by one?)"
fi
bad=""
for f in "$work"/t6/*.txt; do
    [[ "$(stat -c %Y "$f")" == "$(stat -c %Y "$work/d6/t6/$(basename "$f")")" ]] || bad+=" $(basename "$f")"
done
if [[ -z "$bad" ]] && [[ -z "$(find "$work/d6" -name '*.smbcopy.*')" ]]; then
    pass "download: modification times kept, no temporary file left"
else
    fail "download: modification time differs for:$bad, or a temporary file was left"
fi
# 2c. Streamed through smbcopy on one server (--method=stream): read with the
#     open, written with the create, source closed, committed: 4 per file.
a=$(round_trips --method=stream -r "$url/n3" "$url/s3")
b=$(round_trips --method=stream -r "$url/n6" "$url/s6")
if ((b - a == 24)) && diff -r "$work/t6" "$share/s6/t6" >/dev/null; then
    pass "smb -> smb streamed: 4 round trips per small file ($a for 6 files, $b for 12), identical"
else
    fail "smb -> smb streamed: $((b - a)) round trips for 6 more files ($a for 6, $b for 12), wanted 24; or differs"
fi

# 2d. Server-side (copychunk), the files of a tree in flight together: the
#     source's CREATE with its resume key and the provisional destination
#     CREATE sent together, then the copychunk, the source's CLOSE, the
#     commit: 5 requests (compounds) per file, 4 steps one after another.
a=$(round_trips -r "$url/n3" "$url/c3")
b=$(round_trips -r "$url/n6" "$url/c6")
if ((b - a == 30)) && diff -r "$work/t6" "$share/c6/t6" >/dev/null; then
    pass "server-side: 5 requests per small file ($a for 6 files, $b for 12), identical"
else
    fail "server-side: $((b - a)) requests for 6 more files ($a for 6, $b for 12), wanted 30; or differs"
fi
m=$(in_flight)
if ((m >= 12)); then
    pass "server-side: the files in flight together ($m requests outstanding at most)"
else
    fail "server-side: at most $m requests outstanding for 12 small files, wanted >= 12 (files one by one?)"
fi
# Again over the copies (c3 and c6 exist: into c3/n3 and c6/n6), then once
# more: every file replaced the same way under its temporary name, renamed
# over the old one in its commit: still 5 requests per file, together.
round_trips -r "$url/n3" "$url/c3" >/dev/null
round_trips -r "$url/n6" "$url/c6" >/dev/null
a=$(round_trips -r "$url/n3" "$url/c3")
b=$(round_trips -r "$url/n6" "$url/c6")
m=$(in_flight)
if ((b - a == 30 && m >= 12)) && diff -r "$share/n6" "$share/c6/n6" >/dev/null &&
    [[ -z "$(leftovers "$share/c6")" ]]; then
    pass "server-side over the copies: 5 requests per small file ($a for 6, $b for 12), together ($m outstanding), identical, no leftovers"
else
    fail "server-side over the copies: $((b - a)) requests for 6 more files (wanted 30), $m outstanding at most; $(diff -r "$share/n6" "$share/c6/n6" 2>&1 | head -2) $(leftovers "$share/c6")"
fi

# 2e. A rename refused in the commit of a file replacing another: in a
#     sticky directory a file of root's cannot be renamed over by the test
#     user (Samba answers STATUS_ACCESS_DENIED; an open of the old file that
#     does not share DELETE does not stop Samba's rename). The batch's commit
#     is refused, its temporary file removed, the usual way refused as well.
mkdir -p "$work/rf/r"
for i in 1 2 3 4 5; do echo "old $i" >"$work/rf/r/f$i"; done
mkdir "$share/rf-up" "$share/rf-ss" "$share/rf-new" # each gets r
chown "$SMBW_TEST_USER:" "$share/rf-up" "$share/rf-ss" "$share/rf-new"
run_json -r "$work/rf/r" "$url/rf-up" || fail "uploading rf: exit $rc"
run_json -r "$work/rf/r" "$url/rf-ss" || fail "uploading rf again: exit $rc"
for i in 1 2 3 4 5; do echo "new $i" >"$work/rf/r/f$i"; done
run_json -r "$work/rf/r" "$url/rf-new" || fail "uploading the new rf: exit $rc"
for d in rf-up/r rf-ss/r; do
    chown root: "$share/$d" "$share/$d/f3"
    chmod 1777 "$share/$d"
    chmod 666 "$share/$d/f3"
done
for how in upload server-side; do
    case $how in
    upload) src=$work/rf/r dst=rf-up ;;
    server-side) src=$url/rf-new/r dst=rf-ss ;;
    esac
    set +e
    "$smbcopy" -vvv --no-progress -r "$src" "$url/$dst" </dev/null 2>"$work/trace" >/dev/null
    rc=$?
    set -e
    said=$(grep -c "^smbcopy: rename to .*/$dst/r/f3: access denied (STATUS_ACCESS_DENIED)$" "$work/trace" || true)
    refused=$(grep -c '\[trace\] <- SET_INFO .*STATUS_ACCESS_DENIED' "$work/trace" || true)
    same=$(for i in 1 2 4 5; do cat "$share/$dst/r/f$i"; done)
    if ((rc == 7 && said == 1 && refused == 2)) && [[ "$(cat "$share/$dst/r/f3")" == "old 3" &&
        "$same" == "$(printf 'new %s\n' 1 2 4 5)" && -z "$(leftovers "$share/$dst")" ]]; then
        pass "$how, a refused rename over a file: the batch's commit and the usual way refused (2 refusals), reported once, exit 7, that file as it was, the others replaced, no leftovers"
    else
        fail "$how, a refused rename over a file: exit $rc, said $said, $refused refusals (wanted 2), f3 '$(cat "$share/$dst/r/f3")', others '$same', leftovers '$(leftovers "$share/$dst")'"
    fi
done

# 2f. Listings: each directory of a share listed with its CREATE and
#     QUERY_DIRECTORY requests in one compound (CLOSE sent after, not
#     waited for): 2 requests per directory; the directories below listed
#     ahead of the walk, several in flight at once; for -u (the copies'
#     listings) and for downloads (the source's).
mkdirs() { # DIR N: N directories of one small file each
    local i
    for ((i = 1; i <= $2; i++)); do
        mkdir -p "$1/d$i"
        echo "file $i" >"$1/d$i/f.txt"
    done
}
mkdirs "$work/w4" 4
mkdirs "$work/w8" 8
# u4 is a copy of w4, u4/w4 another (the second run copies into u4).
for n in 4 8; do
    for i in 1 2; do
        run_json -r "$work/w$n" "$url/u$n" || fail "uploading w$n: exit $rc"
    done
done
lone_queries() { grep -E '\[trace\] -> QUERY_DIRECTORY' "$work/trace" | grep -vc ' compound$' || true; }
listings_in_flight() { # the most compounds (CREATE) of the trace outstanding at once
    grep -E '\[trace\] (->|<-) CREATE' "$work/trace" | grep -v STATUS_PENDING |
        awk '/\] -> /{n++; if (n > m) m = n} /\] <- /{n--} END{print m + 0}'
}
for dir in update download; do
    case $dir in
    update)
        a=$(round_trips -u -r "$work/w4" "$url/u4")
        b=$(round_trips -u -r "$work/w8" "$url/u8")
        ;;
    download)
        a=$(round_trips -r "$url/u4/w4" "$work/l4")
        b=$(round_trips -r "$url/u8/w8" "$work/l8")
        ;;
    esac
    q=$(lone_queries)
    m=$(listings_in_flight)
    want=8 # 4 more directories, 2 requests each (the directory's times
    # come from its parent's listing: no request of their own)
    [[ $dir == download ]] && want=16 # and 2 per file
    if ((b - a == want && q == 0 && m >= 3)); then
        pass "$dir: a directory listed in one compound, listings ahead ($((b - a)) requests for 4 more directories, at most $m in flight)"
    else
        fail "$dir: $((b - a)) requests for 4 more directories (wanted $want), $q QUERY_DIRECTORY outside a compound, at most $m listings in flight (wanted >= 3)"
    fi
done
# same_copy WHAT ORIG TIMES COPY DIR...: COPY identical to ORIG (diff -r),
# and each DIR below COPY ("" for COPY itself) has the modification time of
# the same DIR below TIMES.
same_copy() {
    local what=$1 orig=$2 times=$3 copy=$4 d bad=""
    shift 4
    for d in "$@"; do
        [[ "$(stat -c %Y "$times$d")" == "$(stat -c %Y "$copy$d")" ]] || bad+=" ${d:-/}"
    done
    if diff -r "$orig" "$copy" >/dev/null && [[ -z "$bad" ]]; then
        pass "$what: identical, every directory's modification time kept"
    else
        fail "$what: differs, or directory modification times differ for:$bad"
    fi
}
same_copy "download of the directory tree" "$work/w8" "$share/u8/w8" "$work/l8" \
    /d1 /d2 /d3 /d4 /d5 /d6 /d7 /d8

# 2g. A directory's times wait for its files without holding up the walk:
#     uploading into a new destination costs each directory of one small
#     file 4 requests (the directory's CREATE, the file's 2, the directory's
#     times in one compound), and every directory's modification time is the
#     source's, however the files of several directories were in flight.
rm -rf "${share:?}/g4" "${share:?}/g8"
a=$(round_trips -r "$work/w4" "$url/g4")
b=$(round_trips -r "$work/w8" "$url/g8")
if ((b - a == 16)); then
    pass "upload: 4 requests per directory of one small file ($a for 4 directories, $b for 8)"
else
    fail "upload: $((b - a)) requests for 4 more directories of one small file, wanted 16"
fi
mkdir -p "$work/wg/a/b" "$work/wg/c"
for d in wg wg/a wg/a/b wg/c; do
    for ((i = 1; i <= 40; i++)); do echo "$d $i" >"$work/$d/f$i.txt"; done
done
touch -d '2001-02-03 04:05:06' "$work/wg/a/b"
touch -d '2002-03-04 05:06:07' "$work/wg/a"
touch -d '2003-04-05 06:07:08' "$work/wg/c"
touch -d '2004-05-06 07:08:09' "$work/wg"
rm -rf "${share:?}/gg" "$work/lg"
run_json -r "$work/wg" "$url/gg" || fail "uploading wg: exit $rc"
same_copy "upload of 4 directories of 40 files" "$work/wg" "$work/wg" "$share/gg" "" /a /a/b /c
run_json -r "$url/gg" "$work/lg" || fail "downloading gg: exit $rc"
same_copy "download of 4 directories of 40 files" "$work/wg" "$work/wg" "$work/lg" "" /a /a/b /c

# 2e. --connections=2: the small files of an upload, a download and a
#     server-side tree spread over two connections (-v says how many went
#     over each), the copies identical.
for dir in up down ss; do
    case $dir in
    up) run_json_v -r --connections=2 "$work/t6" "$url/m6" && got=$share/m6 ;;
    down) run_json_v -r --connections=2 "$url/m6" "$work/m6" && got=$work/m6 ;;
    ss) run_json_v -r --connections=2 "$url/m6" "$url/k6" && got=$share/k6 ;;
    esac
    if ((rc == 0)) && lanes_used 2 && diff -r "$work/t6" "$got" >/dev/null &&
        [[ -z "$(leftovers "$got")" ]]; then
        pass "--connections=2, $dir: identical, $lanes"
    else
        fail "--connections=2, $dir: exit $rc, $lanes, or differs: $(grep -v '\[' "$work/last.err")"
    fi
done
rm -rf "${share:?}/m6" "${share:?}/k6"

# 3. What the copies are.
ok=1
for d in n6 n6/t6; do
    for f in "$work"/t6/*.txt; do
        n=$(basename "$f")
        if ! cmp -s "$f" "$share/$d/$n"; then
            fail "content of $d/$n differs"
            ok=0
        elif [[ "$(stat -c %Y "$f")" != "$(stat -c %Y "$share/$d/$n")" ]]; then
            fail "$d/$n: modification time $(stat -c %y "$share/$d/$n"), wanted $(stat -c %y "$f")"
            ok=0
        fi
    done
done
((ok)) && pass "6 files identical (made and replaced), modification times kept"
attrs=$(smbclient "//$SMBW_TEST_HOST/$SMBW_TEST_SHARE" -p "$SMBW_TEST_PORT" \
    -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" -c 'allinfo n6\t6\f1.txt' 2>&1 |
    sed -n 's/^attributes: \([A-Z]*\) .*/\1/p')
if [[ -n "$attrs" && "$attrs" != *H* ]]; then
    pass "attributes $attrs (not hidden)"
else
    fail "attributes '${attrs:-?}' (hidden, or not read)"
fi
if [[ -z "$(leftovers "$share")" ]]; then
    pass "no leftovers"
else
    fail "leftovers: $(leftovers "$share")"
fi

# 4. A file of more than one request keeps its resume record while copied:
#    seen in the trace as more round trips than a small file has.
head -c $((3 << 20)) /dev/urandom >"$work/big.bin"
n=$(round_trips "$work/big.bin" "$url/n3/big.bin")
if ((n >= 10)) && cmp -s "$work/big.bin" "$share/n3/big.bin"; then
    pass "a 3 MiB file: $n round trips (record and data), identical"
else
    fail "a 3 MiB file: $n round trips, or differs"
fi

# 5. A full share: the CREATE succeeds, the WRITE is refused.
rm -rf "${share:?}/n3" "${share:?}/n6" "${share:?}/s3" "${share:?}/s6" "${share:?}/c3" "${share:?}/c6"
free_kib=$(df --output=avail -k "$share" | tail -1)
if ((free_kib > 256 * 1024)); then
    fail "the share has $free_kib KiB free: run this test through run-smallfiles.sh (small tmpfs)"
else
    head -c $(((free_kib - 64) * 1024)) /dev/zero >"$share/filler" 2>/dev/null || true
    head -c 800000 /dev/urandom >"$work/small.bin"
    set +e
    "$smbcopy" --no-progress "$work/small.bin" "$url/small.bin" </dev/null >/dev/null \
        2>"$work/full.err"
    rc=$?
    set -e
    if ((rc == 5)) && grep -q "small.bin" "$work/full.err" &&
        grep -qi "disk full\|DISK_FULL\|no space" "$work/full.err"; then
        pass "full share: exit 5, $(head -1 "$work/full.err")"
    else
        fail "full share: exit $rc: $(cat "$work/full.err")"
    fi
    if [[ ! -e "$share/small.bin" && -z "$(leftovers "$share")" ]]; then
        pass "full share: no final name, no temporary file left"
    else
        fail "full share: left $(ls -a "$share")"
    fi
    rm -f "$share/filler"
fi
finish
