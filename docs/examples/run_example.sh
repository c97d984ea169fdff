#!/usr/bin/env bash
# Runs the README's example against the server with-server.sh started.
set -euo pipefail
exe=$1
printf 'hello from the example\n' > "$SMBW_TEST_SHARE_PATH/example.txt"
chmod 0644 "$SMBW_TEST_SHARE_PATH/example.txt"
out=$(SMB_PASSWORD=$SMBW_TEST_PASS "$exe" "$SMBW_TEST_HOST" "$SMBW_TEST_PORT" "$SMBW_TEST_USER" \
    "$SMBW_TEST_SHARE" example.txt)
echo "$out"
grep -q 'SMB3_11, signed: AES-128-GMAC, read 23 bytes: hello from the example' <<<"$out"
# and a clean error for a missing file
if SMB_PASSWORD=$SMBW_TEST_PASS "$exe" "$SMBW_TEST_HOST" "$SMBW_TEST_PORT" "$SMBW_TEST_USER" \
    "$SMBW_TEST_SHARE" missing.txt 2>/tmp/example.err.$$; then
    echo "missing file did not fail" >&2
    exit 1
fi
grep -q 'SMBW_ENOENT' /tmp/example.err.$$
rm -f /tmp/example.err.$$
