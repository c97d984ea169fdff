#!/usr/bin/env bash
# Two private Samba servers and a DFS namespace between them (issue 13).
# Runs inside the private network namespace that with-server.sh makes for the
# kind samba-dfs (unshare -n, lo up, 127.0.0.2 added): the machine's own
# network is untouched.
#
#   samba-dfs.sh start DIR   server 1 on 127.0.0.1 (DIR/s1) and server 2 on
#                            127.0.0.2 (DIR/s2), both on port DFS_PORT (44445:
#                            not 445, so a client must reach a referral's target
#                            on the port of the referring connection); writes
#                            DIR/env (server 1's SMBW_TEST_* plus the DFS ones)
#   samba-dfs.sh stop DIR    stops both
#
# Server 1's share "dfs" is a DFS root (msdfs root = yes) with the links
#   remote    -> \\127.0.0.2\share1           a share on server 2
#   local     -> \\127.0.0.1\share2           another share on server 1
#   failover  -> \\127.0.0.3\share1, \\127.0.0.2\share1  (the first is down)
#   inter     -> \\127.0.0.2\dfs2\back        a link on server 2 (interlink),
#                which leads to \\127.0.0.1\share2
#   loop      -> \\127.0.0.2\dfs2\loop2 -> \\127.0.0.1\dfs\loop  (a loop)
#   self      -> \\127.0.0.1\dfs\self       (a target naming the link itself)
# Server 2's share "dfs2" is a DFS root holding back and loop2.
# Exported besides server 1's variables: SMBW_TEST_HOST2, SMBW_TEST_DFS_SHARE,
# SMBW_TEST_DFS_SHARE2, SMBW_TEST_S2_SHARE_PATH (server 2's share1).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/testbed/lib.sh
source "$here/lib.sh"

DFS_PORT=${DFS_PORT:-44445}

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}

start() {
    local dir=$1
    [[ "${SMBW_IN_NETNS:-}" == 1 ]] ||
        tb_die "samba-dfs.sh runs in the namespace with-server.sh samba-dfs makes"
    mkdir -p "$dir/s1/dfs" "$dir/s2/dfs2"
    dir=$(cd "$dir" && pwd)
    chmod 0755 "$dir"
    local dfs1=$dir/s1/dfs dfs2=$dir/s2/dfs2
    ln -sfn 'msdfs:127.0.0.1\share2' "$dfs2/back"
    ln -sfn 'msdfs:127.0.0.1\dfs\loop' "$dfs2/loop2"
    ln -sfn 'msdfs:127.0.0.2\share1' "$dfs1/remote"
    ln -sfn 'msdfs:127.0.0.1\share2' "$dfs1/local"
    ln -sfn 'msdfs:127.0.0.3\share1,127.0.0.2\share1' "$dfs1/failover"
    ln -sfn 'msdfs:127.0.0.2\dfs2\back' "$dfs1/inter"
    ln -sfn 'msdfs:127.0.0.2\dfs2\loop2' "$dfs1/loop"
    ln -sfn 'msdfs:127.0.0.1\dfs\self' "$dfs1/self"
    chmod 0755 "$dfs1" "$dfs2"

    local root='    read only = no\n    guest ok = no\n    msdfs root = yes\n'
    SAMBA_ADDR=127.0.0.2 SAMBA_PORT=$DFS_PORT \
        SAMBA_EXTRA_CONF="[dfs2]\n    path = $dfs2\n$root" \
        bash "$here/samba.sh" start "$dir/s2"
    SAMBA_ADDR=127.0.0.1 SAMBA_PORT=$DFS_PORT \
        SAMBA_EXTRA_CONF="[dfs]\n    path = $dfs1\n$root" \
        bash "$here/samba.sh" start "$dir/s1"
    # The roots take files too (a file beside the links, opened with the DFS
    # path form and SMB2_FLAGS_DFS_OPERATIONS).
    chown "$SMBW_TB_USER:" "$dfs1" "$dfs2"
    {
        cat "$dir/s1/env"
        printf 'export SMBW_TEST_DFS_PATH=%q\n' "$dfs1"
        echo "export SMBW_TEST_HOST2=127.0.0.2"
        echo "export SMBW_TEST_DFS_SHARE=dfs SMBW_TEST_DFS_SHARE2=dfs2"
        printf 'export SMBW_TEST_S2_SHARE_PATH=%q\n' "$dir/s2/share1"
    } >"$dir/env.tmp"
    mv "$dir/env.tmp" "$dir/env"
    echo "samba-dfs: DFS root \\\\127.0.0.1\\dfs -> 127.0.0.2 on port $DFS_PORT"
}

stop() {
    local dir=$1
    [[ -d "$dir" ]] || return 0
    bash "$here/samba.sh" stop "$dir/s1" || true
    bash "$here/samba.sh" stop "$dir/s2" || true
}

(($# == 2)) || usage
case $1 in
start) start "$2" ;;
stop) stop "$2" ;;
*) usage ;;
esac
