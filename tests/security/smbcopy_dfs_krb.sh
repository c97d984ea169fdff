#!/usr/bin/env bash
# smbcopy -k through DFS (with-kdc.sh samba-dfs: the private MIT KDC and the
# two DFS servers in one network namespace): the ticket for each server is
# asked for that server's own name, cifs/127.0.0.1 for the root and
# cifs/127.0.0.2 for the target of the link "remote"; upload and download
# through that link with no password anywhere, bytes identical, and the
# credential cache then holds a ticket for cifs/127.0.0.2; a server-side copy
# on server 2 over two connections (--connections=2) logs both in.
#
#   smbcopy_dfs_krb.sh PATH/TO/smbcopy
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init dfskrb SMBW_TEST_HOST2 SMBW_TEST_DFS_SHARE SMBW_TEST_S2_SHARE_PATH KRB5CCNAME \
    SMBW_KRB5_REALM SMBW_KRB5_SERVICE_HOST
export SMB_PASSWORD=
dfs=smb://$SMBW_TEST_HOST:$SMBW_TEST_PORT/$SMBW_TEST_DFS_SHARE
s2a=$SMBW_TEST_S2_SHARE_PATH

make_random "$work/src.bin" $((1024 * 1024 + 333))
run_json -k "$work/src.bin" "$dfs/remote/krb-up.bin"
if ((rc == 0)); then
    pass "-k upload through remote: exit 0"
else
    fail "-k upload through remote exited $rc: $(cat "$work/last.err")"
fi
same_file "-k upload through remote" "$work/src.bin" "$s2a/krb-up.bin"
got=$(json_get "$work/last.json" dst_resolved)
if [[ "$got" == "smb://$SMBW_TEST_HOST2:$SMBW_TEST_PORT/share1/krb-up.bin" ]]; then
    pass "-k: dst_resolved $got"
else
    fail "-k: dst_resolved '$got'"
fi
run_json -k "$dfs/remote/krb-up.bin" "$work/down.bin"
if ((rc == 0)); then
    pass "-k download through remote: exit 0"
else
    fail "-k download through remote exited $rc: $(cat "$work/last.err")"
fi
same_file "-k download through remote" "$work/src.bin" "$work/down.bin"
# A server-side copy on server 2 between two links over two connections: the
# second (a lane) logs in to server 2 with Kerberos too (cifs/127.0.0.2, not
# the --service-host that names server 1's principal).
fallocate -l $((128 << 20)) "$s2a/krb-lanes.bin"
chown "$SMBW_TEST_USER" "$s2a/krb-lanes.bin"
if "$smbcopy" -k --service-host="$SMBW_KRB5_SERVICE_HOST" --connections=2 --no-progress -v \
    "$dfs/remote/krb-lanes.bin" "$dfs/failover/krb-lanes2.bin" >/dev/null 2>"$work/lanes.err" \
    </dev/null; then
    same_file "-k --connections=2 through DFS" "$s2a/krb-lanes.bin" "$s2a/krb-lanes2.bin"
else
    fail "-k --connections=2 through DFS: exit $?: $(tail -n 3 "$work/lanes.err")"
fi
if grep -q "connection 2 of 2" "$work/lanes.err"; then
    fail "-k --connections=2: $(grep "connection 2 of 2" "$work/lanes.err")"
else
    pass "-k --connections=2: the second connection logged in to server 2"
fi
rm -f "$s2a/krb-lanes.bin" "$s2a/krb-lanes2.bin"
tickets=$(klist 2>&1)
for h in "$SMBW_TEST_HOST" "$SMBW_TEST_HOST2"; do
    if grep -q "cifs/$h@$SMBW_KRB5_REALM" <<<"$tickets"; then
        pass "a ticket for cifs/$h"
    else
        fail "no ticket for cifs/$h: $tickets"
    fi
done
finish
