#!/usr/bin/env bash
# impacket's SMB server (SMB 2.0.2 only, no server-side copy) for the tests.
#
#   impacket.sh start DIR   serves DIR/share1 as share1 on a free loopback port
#                           for user smbwtest and writes DIR/env.
#   impacket.sh stop DIR    stops that instance only.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/testbed/lib.sh
source "$here/lib.sh"

SMBSERVER=${IMPACKET_SMBSERVER:-/usr/share/doc/python3-impacket/examples/smbserver.py}

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}

start() {
    local dir=$1
    [[ -f "$SMBSERVER" ]] || tb_die "$SMBSERVER not found: run tests/testbed/install-deps.sh"
    if [[ -f "$dir/run/testbed-impacket.pid" ]]; then
        tb_die "$dir already has a running instance (stop it first)"
    fi
    mkdir -p "$dir"/{log,run,share1}
    dir=$(cd "$dir" && pwd)
    local py attempt port pid i
    py=$(tb_python)
    for attempt in 1 2 3 4 5; do
        port=$(tb_free_port)
        setsid "$py" "$SMBSERVER" -ip 127.0.0.1 -port "$port" -smb2support \
            -username "$SMBW_TB_USER" -password "$SMBW_TB_PASS" \
            share1 "$dir/share1" </dev/null >>"$dir/log/impacket.log" 2>&1 &
        pid=$!
        echo "$pid" >"$dir/run/testbed-impacket.pid"
        # impacket needs a second or two to import and bind.
        for ((i = 0; i < 300; i++)); do
            if ! kill -0 "$pid" 2>/dev/null; then
                break
            fi
            if tb_port_accepts "$port" && tb_pid_listens_on "$pid" "$port"; then
                export SMBW_TEST_HOST=127.0.0.1 SMBW_TEST_PORT=$port
                export SMBW_TEST_USER=$SMBW_TB_USER SMBW_TEST_PASS=$SMBW_TB_PASS
                export SMBW_TEST_SHARE=share1 SMBW_TEST_SHARE2=
                export SMBW_TEST_SHARE_PATH=$dir/share1 SMBW_TEST_SHARE2_PATH=
                export SMBW_TEST_SERVER=impacket SMBW_TEST_SERVER_MAX_PROTOCOL=SMB2_02
                tb_write_env "$dir"
                echo "impacket: smbserver pid $pid listening on 127.0.0.1:$port ($dir)"
                return 0
            fi
            sleep 0.1
        done
        tb_stop_pidfile "$dir/run/testbed-impacket.pid" "$SMBSERVER" 5
        echo "impacket: smbserver did not listen on port $port (attempt $attempt)" >&2
    done
    tail -n 30 "$dir/log/impacket.log" >&2 2>/dev/null || true
    tb_die "could not start impacket's smbserver in $dir"
}

stop() {
    local dir=$1
    [[ -d "$dir" ]] || return 0
    dir=$(cd "$dir" && pwd)
    tb_stop_pidfile "$dir/run/testbed-impacket.pid" "$SMBSERVER" 10
}

(($# == 2)) || usage
case $1 in
start) start "$2" ;;
stop) stop "$2" ;;
*) usage ;;
esac
