#!/usr/bin/env bash
# The progress bar fits the terminal (run through with-server.sh samba): a
# slow download with --progress on a pty of 40, 80 and 200 columns, and one
# resized from 200 to 40 columns while it runs. No drawn line may be wider
# than the terminal minus one column (it would wrap and leave stale lines);
# at 200 columns the line uses the room.
#
#   progress.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init progress

long=a-rather-long-file-name-for-the-progress-bar-$(printf 'x%.0s' {1..60}).bin
make_random "$share/$long" $((80 << 20))

for sizes in 40 80 200 "200 40"; do
    rm -f "$work/$long"
    # shellcheck disable=SC2086
    if out=$("$py" "$here/progress_pty.py" $sizes -- "$smbcopy" --progress --depth=1 \
        --chunk-size=4K "$url/$long" "$work/$long" 2>&1); then
        pass "terminal of $sizes columns: $(echo "$out" | tr '\n' ' ')"
    else
        fail "terminal of $sizes columns: $out"
    fi
done
if cmp -s "$share/$long" "$work/$long"; then
    pass "copies complete"
else
    fail "copy differs"
fi
finish
