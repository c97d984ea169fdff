#!/usr/bin/env bash
# Samba's own server-side copy tests (smbtorture smb2.ioctl: the resume key and
# copy_chunk ones) against the testbed Samba, for the comparison in
# docs/conformance.md. Not a CI test: smbtorture's results depend on what the
# testbed user may do (three fail in their setup, see docs/conformance.md).
#
#   bash tests/testbed/with-server.sh samba -- bash tests/conformance/smbtorture-ioctl.sh
#
# Prints one line per test: NAME success|failure|error|skip [first reason].
set -euo pipefail
: "${SMBW_TEST_HOST:?run through tests/testbed/with-server.sh samba}"
command -v smbtorture >/dev/null || {
    echo "smbtorture not found (package samba-testsuite; tests/testbed/install-deps.sh)" >&2
    exit 1
}
mapfile -t names < <(smbtorture --list smb2.ioctl 2>/dev/null |
    grep -E 'copy_chunk|resume_key' | awk -F. '{print $1 "." $2 "." $3}' | sort -u)
echo "$(smbtorture --version 2>/dev/null | head -1) against Samba $SMBW_TEST_SAMBA_VERSION: ${#names[@]} tests"
for t in "${names[@]}"; do
    out=$(timeout 120 smbtorture "//$SMBW_TEST_HOST/$SMBW_TEST_SHARE" -p "$SMBW_TEST_PORT" \
        -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" --option=torture:share2="$SMBW_TEST_SHARE2" \
        "$t" 2>&1 || true)
    r=$(grep -oE '^(success|failure|error|skip)' <<<"$out" | tail -1 || true)
    why=$(grep -A1 -E '^(failure|error|skip)' <<<"$out" | sed -n 2p | cut -c1-160 || true)
    echo "$t ${r:-unknown}${why:+ $why}"
done
