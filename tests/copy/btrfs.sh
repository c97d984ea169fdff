#!/usr/bin/env bash
# Server-side copy on a btrfs share with `vfs objects = btrfs` (Samba then
# reports FILE_SUPPORTS_BLOCK_REFCOUNTING): smbcopy clones, with --method=auto
# too, in a few requests, and the copy is identical. Needs root (loop mount).
#
#   btrfs.sh PATH/TO/smbcopy PATH/TO/with-server.sh
# makes a 1 GiB btrfs image, mounts it, runs itself through with-server.sh
# with the mount as share1, and always unmounts and removes the image.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"

if [[ "${1:-}" == --inner ]]; then
    need_smbcopy "${2:-}"
    copy_init btrfs
    size=$((256 << 20 | 4321))
    make_random "$share/src.bin" "$size"
    sync # a clone or copychunk of data just written is slow until it is flushed
    for m in auto clone; do
        run_json --method=$m "$url/src.bin" "$url/copy-$m.bin"
        echo "     $(cat "$work/last.json")"
        if ((rc == 0)); then
            pass "--method=$m: exit 0"
        else
            fail "--method=$m: exit $rc: $(cat "$work/last.err")"
            continue
        fi
        same_file "--method=$m" "$share/src.bin" "$share/copy-$m.bin"
        method=$(json_get "$work/last.json" method)
        secs=$(json_get "$work/last.json" seconds)
        wire=$(json_get "$work/last.json" wire_bytes)
        # auto must clone too: the README promises clone first where the
        # share supports it.
        if [[ "$method" == clone ]]; then
            pass "--method=$m: method $method"
        else
            fail "--method=$m: method '$method', want clone"
        fi
        if [[ "$wire" =~ ^[0-9]+$ ]] && ((wire * 100 < size)); then
            pass "--method=$m: $wire bytes on the wire"
        else
            fail "--method=$m: wire_bytes '$wire'"
        fi
        # A clone is a few FSCTLs for the whole file; copychunk of the same
        # size would take at least 16 (16 MiB per request). No wall-clock
        # bound: it would race under the sanitizers.
        reqs=$(json_get "$work/last.json" requests)
        if [[ "$reqs" =~ ^[0-9]+$ ]] && ((reqs >= 1 && reqs < 16)); then
            pass "--method=$m: $reqs request(s), $secs s"
        else
            fail "--method=$m: requests '$reqs' (a clone takes a few)"
        fi
    done
    if [[ -z "$(leftovers "$share")" ]]; then
        pass "no leftovers"
    else
        fail "leftovers: $(leftovers "$share")"
    fi
    finish
    exit
fi

need_smbcopy "${1:-}"
with_server=${2:?usage: $0 PATH/TO/smbcopy PATH/TO/with-server.sh}
((EUID == 0)) || {
    echo "FAIL: btrfs.sh must run as root (loop mount)" >&2
    exit 1
}
command -v mkfs.btrfs >/dev/null || {
    echo "FAIL: mkfs.btrfs not found (btrfs-progs; tests/testbed/install-deps.sh)" >&2
    exit 1
}
top=$(mktemp -d "${TMPDIR:-/tmp}/copy-btrfs-img.XXXXXX")
mnt=$top/mnt
cleanup() {
    local i
    if mountpoint -q "$mnt"; then
        for ((i = 0; i < 20; i++)); do
            umount "$mnt" 2>/dev/null && break
            sleep 0.5
        done
        mountpoint -q "$mnt" && umount -l "$mnt"
    fi
    rm -rf "$top"
}
trap cleanup EXIT
chmod 0755 "$top" # smbd serves the share as the test user
mkdir "$mnt"
truncate -s 1G "$top/img"
mkfs.btrfs -q "$top/img"
mount -o loop "$top/img" "$mnt"
bash "$with_server" samba "SAMBA_SHARE1_PATH=$mnt" 'SAMBA_EXTRA_SHARE1=vfs objects = btrfs' -- \
    bash "$here/btrfs.sh" --inner "$smbcopy"
