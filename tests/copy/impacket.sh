#!/usr/bin/env bash
# Against impacket's server (SMB 2.0.2, no server-side copy; run through
# with-server.sh impacket): --method=auto falls back to streaming and the copy
# is identical; a forced --method=copychunk or clone fails with one
# "smbcopy:" line and a non-zero exit and leaves no destination behind. A
# tree of small files smb -> smb (which smbcopy would copy many at a time
# server-side) falls back to streaming file by file: all copied, identical.
#
#   impacket.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init imp

size=$((3 << 20 | 12345))
make_random "$share/src.bin" "$size"

# auto: the server refuses server-side copy, so the data is streamed.
run_json --method=auto "$url/src.bin" "$url/auto.bin"
if ((rc == 0)); then
    pass "auto: exit 0"
else
    fail "auto: exit $rc: $(cat "$work/last.err")"
fi
same_file "auto" "$share/src.bin" "$share/auto.bin"
method=$(json_get "$work/last.json" method)
wire=$(json_get "$work/last.json" wire_bytes)
if [[ "$method" == stream ]]; then
    pass "auto: method stream"
else
    fail "auto: method '$method', expected stream"
fi
# Streamed: the data went both ways over the wire.
if [[ "$wire" =~ ^[0-9]+$ ]] && ((wire >= 2 * size)); then
    pass "auto: $wire bytes on the wire for $size bytes"
else
    fail "auto: wire_bytes '$wire' for a streamed copy of $size bytes"
fi

# Forced server-side methods fail clearly and leave nothing.
for m in copychunk clone; do
    run_json --method=$m "$url/src.bin" "$url/forced-$m.bin"
    if ((rc == 5)); then
        pass "--method=$m: exit $rc (the server refused)"
    else
        fail "--method=$m: exit $rc, want 5 (the server refused)"
    fi
    if [[ "$(wc -l <"$work/last.err")" -eq 1 ]] && grep -q "^smbcopy: .*$m" "$work/last.err"; then
        pass "--method=$m: $(cat "$work/last.err")"
    else
        fail "--method=$m: stderr is not one clear 'smbcopy:' line: $(cat "$work/last.err")"
    fi
    if [[ -e "$share/forced-$m.bin" || -n "$(leftovers "$share")" ]]; then
        fail "--method=$m: left behind: $(ls -a "$share")"
    else
        pass "--method=$m: no destination left"
    fi
    if [[ "$(json_get "$work/last.json" ok)" == false ]]; then
        pass "--method=$m: --json ok false"
    else
        fail "--method=$m: --json $(cat "$work/last.json")"
    fi
done

# A tree of small files smb -> smb: the server gives no resume key, so the
# small-files batch sends each file the one-file way (streamed).
mkdir -p "$share/tree/sub"
for ((i = 1; i <= 12; i++)); do
    make_random "$share/tree/f$i" $((i * 301))
done
make_random "$share/tree/sub/g" 5000
run_json -r "$url/tree" "$url/tree2"
if ((rc == 0)) && diff -r "$share/tree" "$share/tree2" >/dev/null &&
    [[ "$(json_get "$work/last.json" files)" == 13 &&
        "$(json_get "$work/last.json" method)" == stream ]]; then
    pass "tree smb -> smb: exit 0, 13 files streamed, identical"
else
    fail "tree smb -> smb: exit $rc, $(cat "$work/last.json") $(cat "$work/last.err")"
fi
if [[ -z "$(leftovers "$share")" ]]; then
    pass "tree smb -> smb: no leftovers"
else
    fail "tree smb -> smb: leftovers $(leftovers "$share")"
fi

finish
