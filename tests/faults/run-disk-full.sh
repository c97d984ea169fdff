#!/usr/bin/env bash
# Runs test_faults disk-full against a Samba whose share is a small tmpfs
# (8 MiB), so writes end in STATUS_DISK_FULL. Needs root (mount).
#   run-disk-full.sh WITH_SERVER_SH TEST_FAULTS
set -euo pipefail

with_server=$1
test_faults=$2
mnt=$(mktemp -d "${TMPDIR:-/tmp}/smbw-diskfull.XXXXXX")
cleanup() {
    umount "$mnt" 2>/dev/null || true
    rmdir "$mnt" 2>/dev/null || true
}
trap cleanup EXIT
if ! mount -t tmpfs -o size=8m tmpfs "$mnt"; then
    echo "run-disk-full: cannot mount a tmpfs on $mnt (root needed): FAILED" >&2
    exit 1
fi
bash "$with_server" samba "SAMBA_SHARE1_PATH=$mnt" -- "$test_faults" disk-full
