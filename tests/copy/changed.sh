#!/usr/bin/env bash
# A source that changes while it is copied (run through with-server.sh
# samba): grown or truncated mid-copy, on upload and on download. smbcopy
# must say "source changed during copy" with exit 2 (a local-file class
# error, not a network one), never give the final name to the mix of old
# and new data, and leave nothing behind; a rerun then copies the file as it
# is now.
#
#   changed.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init changed

mkdir "$work/dl"
size=$((48 << 20))

# change WHAT HOW SRCFILE PARTDIR FINAL ARGS...: a slow copy; once its
# partial file has data, SRCFILE is grown or truncated (HOW).
change() {
    local what=$1 how=$2 file=$3 dir=$4 final=$5 i part= bg
    shift 5
    make_random "$file" "$size"
    chown --reference="$share" "$file" 2>/dev/null || true
    "$smbcopy" --no-progress --depth=1 --chunk-size=4K "$@" </dev/null >"$work/bg.out" \
        2>"$work/bg.err" &
    bg=$!
    for ((i = 0; i < 400; i++)); do
        part=$(find "$dir" -maxdepth 1 -name '*.smbcopy.part' -size +0 | head -1)
        [[ -n "$part" ]] && break
        sleep 0.025
    done
    if [[ "$how" == grow ]]; then
        head -c 100000 /dev/urandom >>"$file"
    else
        truncate -s $((size / 2)) "$file"
    fi
    set +e
    wait "$bg"
    rc=$?
    set -e
    if [[ -z "$part" ]]; then
        fail "$what: the copy ended before the change (exit $rc)"
    elif ((rc == 2)) && grep -q "source changed during copy" "$work/bg.err" &&
        [[ ! -e "$final" && -z "$(leftovers "$dir")" ]]; then
        pass "$what: $(cat "$work/bg.err")"
    else
        fail "$what: exit $rc, final $(ls -l "$final" 2>&1): $(cat "$work/bg.err")"
    fi
    run_json "$@"
    if ((rc == 0)) && cmp -s "$file" "$final"; then
        pass "$what: a rerun copies it as it is now"
    else
        fail "$what: rerun exit $rc: $(cat "$work/last.err")"
    fi
    rm -f "$final"
}

change "upload, source grown" grow "$work/up.bin" "$share" "$share/up.bin" "$work/up.bin" "$url/up.bin"
change "upload, source truncated" truncate "$work/up.bin" "$share" "$share/up.bin" \
    "$work/up.bin" "$url/up.bin"
change "download, source grown" grow "$share/down.bin" "$work/dl" "$work/dl/down.bin" \
    "$url/down.bin" "$work/dl/down.bin"
change "download, source truncated" truncate "$share/down.bin" "$work/dl" "$work/dl/down.bin" \
    "$url/down.bin" "$work/dl/down.bin"

finish
