#!/usr/bin/env bash
# Local destinations that are not regular files (run through with-server.sh
# samba). smbcopy must never replace them: a symbolic link to a file is
# written through (the link stays, its target gets the data, as cp does), a
# dangling link is refused, a FIFO and a character device are written into
# as streams and stay what they are, a socket is refused. smbcopy runs as
# the unprivileged user "nobody" (when the test runs as root) in a private
# directory; the device node is made there by the test and /dev is never
# touched. A directory where a file would go, locally or on the share, is
# never replaced ("is a directory: not replacing it"), for one file (exit 2
# locally, 5 on the share) and inside a tree (a failed file, exit 7), the
# directory and what it holds kept, no temporary name left.
#
#   destinations.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init dest

reader=
stop_children() {
    if [[ -n "$reader" ]]; then
        kill "$reader" 2>/dev/null || true
    fi
}
on_exit stop_children
make_random "$share/f.bin" $((3 << 20))
printf 'new\n' >"$share/small.txt"
mkdir -p "$share/tree/sub"
printf 'tree a\n' >"$share/tree/a.txt"
printf 'tree b\n' >"$share/tree/sub/b.txt"

# Everything smbcopy writes lives in $dl, owned by the user it runs as.
dl=$work/dl
mkdir "$dl"
as_user=()
if (($(id -u) == 0)); then
    chown nobody "$work" "$dl"
    as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi
# run NAME ARGS...: smbcopy as the unprivileged user; sets rc, out in $work/NAME.err
run() {
    local name=$1
    shift
    if ((${#as_user[@]} > 0)); then
        chown -R -h nobody "$dl"
    fi
    set +e
    timeout 60 "${as_user[@]}" env SMB_PASSWORD="$SMB_PASSWORD" "$smbcopy" -q "$@" \
        </dev/null >"$work/$name.out" 2>"$work/$name.err"
    rc=$?
    set -e
}

# 1. A symbolic link to a regular file: written through, the link stays.
printf 'old target\n' >"$dl/target.txt"
ln -s target.txt "$dl/link"
run link "$url/f.bin" "$dl/link"
if ((rc == 0)) && [[ -L "$dl/link" && "$(readlink "$dl/link")" == target.txt ]] &&
    cmp -s "$share/f.bin" "$dl/target.txt"; then
    pass "symlink to a file: written through, the link kept"
else
    fail "symlink to a file: exit $rc, $(ls -l "$dl" | tr '\n' ' ') $(cat "$work/link.err")"
fi
if [[ -z "$(leftovers "$dl")" ]]; then
    pass "symlink to a file: nothing left over"
else
    fail "symlink to a file: left $(leftovers "$dl")"
fi

# 2. A dangling symbolic link: refused with exit 2, left as it is.
ln -s nowhere.txt "$dl/dangling"
run dangling "$url/small.txt" "$dl/dangling"
if ((rc == 2)) && [[ -L "$dl/dangling" && ! -e "$dl/nowhere.txt" ]] &&
    grep -q "dangling symbolic link" "$work/dangling.err"; then
    pass "dangling symlink: refused: $(cat "$work/dangling.err")"
else
    fail "dangling symlink: exit $rc, $(ls -l "$dl" | tr '\n' ' ') $(cat "$work/dangling.err")"
fi

# 3. A FIFO: streamed into, stays a FIFO.
mkfifo "$dl/fifo"
timeout 30 cat "$dl/fifo" >"$work/fifo.data" &
reader=$!
run fifo "$url/f.bin" "$dl/fifo"
wait "$reader" || true
reader=
if ((rc == 0)) && [[ -p "$dl/fifo" ]] && cmp -s "$share/f.bin" "$work/fifo.data"; then
    pass "FIFO: streamed into, still a FIFO"
else
    fail "FIFO: exit $rc, $(ls -l "$dl/fifo") $(cat "$work/fifo.err")"
fi

# 4. A symbolic link to a FIFO: the same through the link.
ln -s fifo "$dl/fifolink"
timeout 30 cat "$dl/fifo" >"$work/fifolink.data" &
reader=$!
run fifolink "$url/small.txt" "$dl/fifolink"
wait "$reader" || true
reader=
if ((rc == 0)) && [[ -L "$dl/fifolink" && -p "$dl/fifo" ]] &&
    cmp -s "$share/small.txt" "$work/fifolink.data"; then
    pass "symlink to a FIFO: streamed into, both kept"
else
    fail "symlink to a FIFO: exit $rc, $(ls -l "$dl" | tr '\n' ' ') $(cat "$work/fifolink.err")"
fi

# 4b. A FIFO whose reader never reads: smbcopy blocks in write(); one SIGTERM
# ends it (exit 130) and the FIFO stays.
mkfifo "$dl/stuck"
((${#as_user[@]} == 0)) || chown -h nobody "$dl/stuck"
sleep 60 <"$dl/stuck" &
reader=$!
set +e
"${as_user[@]}" env SMB_PASSWORD="$SMB_PASSWORD" "$smbcopy" -q "$url/f.bin" "$dl/stuck" \
    </dev/null >"$work/stuck.out" 2>"$work/stuck.err" &
pid=$!
set -e
sleep 2 # long enough to fill the pipe (3 MiB against 64 KiB) and block
kill -TERM "$pid" 2>/dev/null || true
for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    fail "FIFO that is never read: one SIGTERM did not end smbcopy within 10 s"
else
    set +e
    wait "$pid"
    rc=$?
    set -e
    if ((rc == 130)) && [[ -p "$dl/stuck" ]]; then
        pass "FIFO that is never read: one SIGTERM ends smbcopy (exit 130), the FIFO stays"
    else
        fail "FIFO that is never read: exit $rc: $(cat "$work/stuck.err")"
    fi
fi
kill "$reader" 2>/dev/null || true
wait "$reader" 2>/dev/null || true
reader=

# 5. A character device (a private null device made here): written into,
# stays a device.
if (($(id -u) == 0)); then
    mknod -m 666 "$dl/null" c 1 3
    run chr "$url/f.bin" "$dl/null"
    if ((rc == 0)) && [[ -c "$dl/null" ]]; then
        pass "character device: written into, still a device"
    else
        fail "character device: exit $rc, $(ls -l "$dl/null") $(cat "$work/chr.err")"
    fi
else
    fail "character device: the test must run as root to make the device node"
fi

# 6. A socket: refused (exit 2), kept.
"$py" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$dl/sock"
run sock "$url/small.txt" "$dl/sock"
if ((rc == 2)) && [[ -S "$dl/sock" ]] && grep -q "socket" "$work/sock.err"; then
    pass "socket: refused: $(cat "$work/sock.err")"
else
    fail "socket: exit $rc, $(ls -l "$dl/sock") $(cat "$work/sock.err")"
fi

# 7. A tree copied into an existing tree whose file is a link: written
# through, as cp -r does.
mkdir -p "$dl/tree/sub"
printf 'old b\n' >"$dl/b-elsewhere.txt"
ln -s ../../b-elsewhere.txt "$dl/tree/sub/b.txt"
run tree -r "$url/tree" "$dl"
if ((rc == 0)) && [[ -L "$dl/tree/sub/b.txt" ]] && cmp -s "$share/tree/sub/b.txt" \
    "$dl/b-elsewhere.txt" && cmp -s "$share/tree/a.txt" "$dl/tree/a.txt"; then
    pass "tree: a link in the destination tree is written through"
else
    fail "tree: exit $rc, $(ls -lR "$dl/tree" | tr '\n' ' ') $(cat "$work/tree.err")"
fi

# 8. Upload from a link source still works (the source side follows links).
ln -s target.txt "$dl/srclink"
run up "$dl/srclink" "$url/up.bin"
if ((rc == 0)) && cmp -s "$dl/target.txt" "$share/up.bin"; then
    pass "upload through a source link"
else
    fail "upload through a source link: exit $rc $(cat "$work/up.err")"
fi

# 9. /dev/stdout as DST writes to standard output (a pipe here) as a
# stream; /dev is only read (smbcopy runs as nobody, who cannot change it).
set +e
timeout 60 "${as_user[@]}" env SMB_PASSWORD="$SMB_PASSWORD" "$smbcopy" -q "$url/small.txt" \
    /dev/stdout </dev/null 2>"$work/stdout.err" | cat >"$work/stdout.data"
rc=${PIPESTATUS[0]}
set -e
if ((rc == 0)) && cmp -s "$share/small.txt" "$work/stdout.data"; then
    pass "/dev/stdout (a pipe): streamed"
else
    fail "/dev/stdout: exit $rc: $(cat "$work/stdout.err")"
fi

# 10. Sources that are not regular files: a clear message, nothing written.
mkfifo "$dl/srcfifo"
run srcfifo "$dl/srcfifo" "$url/fromfifo.bin"
if ((rc == 2)) && grep -q "not a regular file (a FIFO)" "$work/srcfifo.err" &&
    [[ ! -e "$share/fromfifo.bin" ]]; then
    pass "FIFO source: $(cat "$work/srcfifo.err")"
else
    fail "FIFO source: exit $rc: $(cat "$work/srcfifo.err")"
fi
if (($(id -u) == 0)); then
    mknod -m 444 "$dl/zero" c 1 5
    run srczero "$dl/zero" "$url/fromzero.bin"
    if ((rc == 2)) && grep -q "not a regular file (a character device)" "$work/srczero.err" &&
        [[ ! -e "$share/fromzero.bin" ]]; then
        pass "character device source: $(cat "$work/srczero.err")"
    else
        fail "character device source: exit $rc: $(cat "$work/srczero.err")"
    fi
fi
for arg in src dst; do
    if [[ $arg == src ]]; then
        run dash - "$url/dash.bin"
    else
        run dash "$url/small.txt" -
    fi
    if ((rc == 1)) && grep -q "'-' (standard input or output) is not supported" "$work/dash.err" &&
        [[ ! -e "$share/dash.bin" && ! -e "$dl/-" && ! -e "./-" ]]; then
        pass "'-' as $arg: $(cat "$work/dash.err")"
    else
        fail "'-' as $arg: exit $rc: $(cat "$work/dash.err")"
    fi
done

# 11. A directory where a file would go: refused before anything is written.
mkdir -p "$dl/dirs/f.bin" "$share/dirs/f.bin"
printf 'keep\n' | tee "$dl/dirs/f.bin/keep" >"$share/dirs/f.bin/keep"
cp "$share/f.bin" "$dl/f.bin"
chown -R "$SMBW_TEST_USER:" "$share/dirs" 2>/dev/null || true
# kept WHERE: the directory WHERE/dirs/f.bin and its file are still there,
# and WHERE/dirs holds nothing else.
kept() {
    [[ -d "$1/dirs/f.bin" && "$(cat "$1/dirs/f.bin/keep")" == keep &&
        "$(cd "$1/dirs" && find . | LC_ALL=C sort | tr '\n' ' ')" == ". ./f.bin ./f.bin/keep " ]]
}
mkdir -p "$dl/srcdirs/dirs" "$share/srcdirs/dirs"
cp "$share/f.bin" "$dl/srcdirs/dirs/f.bin"
cp "$share/f.bin" "$share/srcdirs/dirs/f.bin"
for end in local share; do
    if [[ $end == local ]]; then
        root=$dl to=$dl want=2 src=$url/f.bin tree=$url/srcdirs/dirs
    else
        root=$share to=$url/ want=5 src=$dl/f.bin tree=$dl/srcdirs/dirs
    fi
    run isdir "$src" "${to%/}/dirs"
    if ((rc == want)) && grep -q "dirs/f.bin is a directory: not replacing it" "$work/isdir.err" &&
        kept "$root"; then
        pass "a $end directory where a file would go: refused (exit $rc): $(cat "$work/isdir.err")"
    else
        fail "a $end directory where a file would go: exit $rc (want $want): $(cat "$work/isdir.err"); $(ls -la "$root/dirs" | tr '\n' ' ')"
    fi
    # In a tree (SRC's dirs merged into the existing dirs): the file fails
    # (exit 7), the directory is kept.
    run isdir-tree -r "$tree" "$to"
    if ((rc == 7)) && grep -q "dirs/f.bin is a directory: not replacing it" "$work/isdir-tree.err" &&
        kept "$root"; then
        pass "a $end directory where a tree's file would go: the file failed (exit 7), kept"
    else
        fail "a $end directory in a tree: exit $rc: $(cat "$work/isdir-tree.err"); $(ls -la "$root/dirs" | tr '\n' ' ')"
    fi
done

finish
