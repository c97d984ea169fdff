#!/usr/bin/env bash
# Runs smallfiles.sh against a Samba whose share is a small tmpfs (32 MiB),
# which the test can fill. Needs root (mount).
#   run-smallfiles.sh WITH_SERVER_SH SMALLFILES_SH SMBCOPY
set -euo pipefail

with_server=$1
script=$2
smbcopy=$3
mnt=$(mktemp -d "${TMPDIR:-/tmp}/smbw-smallfiles.XXXXXX")
cleanup() {
    umount "$mnt" 2>/dev/null || true
    rmdir "$mnt" 2>/dev/null || true
}
trap cleanup EXIT
if ! mount -t tmpfs -o size=32m tmpfs "$mnt"; then
    echo "run-smallfiles: cannot mount a tmpfs on $mnt (root needed): FAILED" >&2
    exit 1
fi
bash "$with_server" samba "SAMBA_SHARE1_PATH=$mnt" -- bash "$script" "$smbcopy"
