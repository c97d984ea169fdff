#!/bin/sh
# The library waits in one place: poll() is called only by lib/io/loop.c's
# poll_fds, behind io_wait_any (connections) and io_wait_fd (a socket still
# connecting). A second poll, select or epoll wait in lib/ fails this check
# (issue 8 item 3).
#
# usage: one_wait.sh SOURCE_ROOT
set -u
root=${1:?usage: one_wait.sh SOURCE_ROOT}
cd "$root" || exit 2
# Drop // comments, one-line /* */ comments and the " * ..." lines of block
# comments (line numbers stay), then list every call.
hits=$(for f in $(find lib -name '*.[ch]' | sort); do
    sed -e 's://.*$::' -e 's:/\*.*\*/::g' -e 's:^[[:space:]]*\*[[:space:]].*$::' "$f" |
        grep -nE '\<(poll|ppoll|select|pselect|epoll_wait|epoll_pwait)[[:space:]]*\(' |
        sed "s|^|$f:|"
done)
n=$(printf '%s\n' "$hits" | grep -c .)
if [ "$n" -ne 1 ] || ! printf '%s\n' "$hits" | grep -q '^lib/io/loop\.c:.*return poll(pfd, n, to);'; then
    printf '%s\n' "$hits"
    echo "one_wait: expected exactly one poll() call in lib/, in lib/io/loop.c's poll_fds;" \
        "found $n. Wait through io_wait_any or io_wait_fd instead." >&2
    exit 1
fi
echo "one_wait: the one poll() call of lib/ is $(printf '%s' "$hits" | cut -d: -f1-2)"
