#!/usr/bin/env bash
# smbconform against the testbed Samba serving a btrfs share with
# `vfs objects = btrfs` (FILE_SUPPORTS_BLOCK_REFCOUNTING: the clone_* cases
# run): the whole catalogue compared with the expected table, whose rows
# tagged "btrfs" apply here first. Needs root (loop mount).
#
#   smbconform-btrfs.sh SMBCONFORM EXPECTED_TABLE WITH_SERVER
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=${1:?usage: $0 SMBCONFORM EXPECTED_TABLE WITH_SERVER}
table=${2:?}
with_server=${3:?}
((EUID == 0)) || {
    echo "FAIL: smbconform-btrfs.sh must run as root (loop mount)" >&2
    exit 1
}
command -v mkfs.btrfs >/dev/null || {
    echo "FAIL: mkfs.btrfs not found (btrfs-progs; tests/testbed/install-deps.sh)" >&2
    exit 1
}
top=$(mktemp -d "${TMPDIR:-/tmp}/smbconform-btrfs.XXXXXX")
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
    env SMBCONFORM_TAGS=btrfs bash "$here/smbconform.sh" "$bin" "$table"
