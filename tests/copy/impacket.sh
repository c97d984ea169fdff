#!/usr/bin/env bash
# Against impacket's server (SMB 2.0.2, no server-side copy; run through
# with-server.sh impacket): --method=auto falls back to streaming and the copy
# is identical; a forced --method=copychunk or clone fails with one
# "smbcopy:" line and a non-zero exit and leaves no destination behind.
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

finish
