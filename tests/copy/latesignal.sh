#!/usr/bin/env bash
# A signal that comes once a file has its final name (run through
# with-server.sh samba): what is reported must be true. strace delivers
# SIGINT exactly as smbcopy renames the temporary file over the final name.
#  - A single file: the copy is complete, so exit 0, "ok": true, files 1,
#    and a note that the interrupt came after the copy was complete.
#  - A tree: the first file is complete and counts as copied (files 1), the
#    run stops there with exit 130 and nothing else is written; the same
#    with the files over two connections (--connections=2).
#
#   latesignal.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init late
command -v strace >/dev/null || {
    echo "FAIL: strace is needed (tests/testbed/install-deps.sh installs it)" >&2
    exit 1
}

make_random "$share/one.bin" 1000000
mkdir -p "$share/t"
for i in 1 2 3; do make_random "$share/t/f$i.bin" 100000; done
chown -R --reference="$share" "$share/t"

# late N ARGS...: smbcopy --json, SIGINT on entering its Nth rename.
late() {
    local n=$1
    shift
    set +e
    # LeakSanitizer cannot work under ptrace: in a sanitizer build the leak
    # check is left to the other tests (the rest of ASan stays on).
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        strace -o /dev/null -e trace=rename,renameat,renameat2 \
            -e inject=rename,renameat,renameat2:signal=SIGINT:when="$n" \
            "$smbcopy" --json "$@" </dev/null >"$work/last.json" 2>"$work/last.err"
    rc=$?
    set -e
}

late 1 "$url/one.bin" "$work/one.bin"
if ((rc == 0)) && [[ "$(json_get "$work/last.json" ok)" == true ]] &&
    [[ "$(json_get "$work/last.json" files)" == 1 ]] && cmp -s "$share/one.bin" "$work/one.bin" &&
    grep -q "after the copy was complete" "$work/last.err"; then
    pass "single file, signal at the rename: exit 0, ok, the file counted: $(cat "$work/last.err")"
else
    fail "single file, signal at the rename: exit $rc: $(cat "$work/last.json") $(cat "$work/last.err")"
fi

mkdir "$work/dl"
late 1 -r "$url/t" "$work/dl/"
n=$(find "$work/dl" -type f | wc -l)
if ((rc == 130)) && [[ "$(json_get "$work/last.json" files)" == 1 ]] &&
    [[ "$(json_get "$work/last.json" ok)" == false ]] && ((n == 1)) &&
    cmp -s "$share/t/f1.bin" "$work/dl/t/f1.bin" && [[ -z "$(leftovers "$work")" ]]; then
    pass "tree, signal at the first rename: exit 130, the completed file counted"
else
    fail "tree: exit $rc, $n files: $(cat "$work/last.json") $(cat "$work/last.err")"
fi

# The same over two connections (--connections=2: the files dealt out over
# both; -v shows the second session): the signal stops every connection.
mkdir "$work/dl2"
late 1 -r -v --no-progress --connections=2 "$url/t" "$work/dl2/"
n=$(find "$work/dl2" -type f | wc -l)
sessions=$(grep -c "\] session 0x[0-9a-f]* established" "$work/last.err" || true)
if ((rc == 130)) && [[ "$(json_get "$work/last.json" files)" == 1 ]] &&
    [[ "$(json_get "$work/last.json" ok)" == false ]] && ((n == 1 && sessions == 2)) &&
    grep -q "^smbcopy: small files over 2 connections: " "$work/last.err" &&
    [[ -z "$(leftovers "$work")" ]]; then
    pass "tree over two connections, signal at the first rename: exit 130, the completed file counted"
else
    fail "tree over two connections: exit $rc, $n files, $sessions sessions: $(cat "$work/last.json") $(grep -v '\[' "$work/last.err")"
fi

finish
