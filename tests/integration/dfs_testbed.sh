#!/usr/bin/env bash
# The DFS testbed itself (tests/testbed/samba-dfs.sh), checked with Samba's own
# client: run with DFS_PORT=445, since smbclient reaches every referral target
# on port 445 whatever -p says. Each link but the loop must lead to the share
# its symlink names: an upload through it lands in that share's directory.
set -euo pipefail
fail=0
for link in remote local failover inter; do
    smbclient "//$SMBW_TEST_HOST/$SMBW_TEST_DFS_SHARE" -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" \
        -c "cd $link; put /etc/hostname via-$link" >/dev/null 2>&1 || true
done
check() {
    if [[ -f "$1" ]]; then
        echo "ok: $1"
    else
        echo "FAIL: $1 missing"
        fail=1
    fi
}
check "$SMBW_TEST_S2_SHARE_PATH/via-remote"
check "$SMBW_TEST_S2_SHARE_PATH/via-failover"
check "$SMBW_TEST_SHARE2_PATH/via-local"
check "$SMBW_TEST_SHARE2_PATH/via-inter"
exit "$fail"
