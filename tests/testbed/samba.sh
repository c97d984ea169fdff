#!/usr/bin/env bash
# Private Samba smbd on loopback for the tests.
#
#   samba.sh start DIR   creates DIR/{etc,lib,log,run,share1,share2}, a private
#                        smb.conf, the user smbwtest, starts smbd on a free high
#                        port and writes DIR/env (source it for SMBW_TEST_*).
#   samba.sh stop DIR    stops that instance only.
#
# Knobs (environment, at start):
#   SAMBA_MAX_PROTOCOL   server max protocol (SMB2_02 .. SMB3_11; default: Samba's)
#   SAMBA_MIN_PROTOCOL   server min protocol (default SMB2_02)
#   SAMBA_SIGNING        server signing (auto, mandatory, disabled ...)
#   SAMBA_ENCRYPT        server smb encrypt (off, desired, required ...)
#   SAMBA_EXTRA_GLOBAL   extra [global] lines ("\n" escapes allowed)
#   SAMBA_SHARE1_PATH    directory to share as share1 (default DIR/share1)
#   SAMBA_EXTRA_SHARE1   extra [share1] lines ("\n" escapes allowed)
#   SAMBA_EXTRA_SHARE2   extra [share2] lines (e.g. "case sensitive = yes")
#   SAMBA_ADDR           the loopback address to bind (default: interface lo,
#                        reached as 127.0.0.1); another one, e.g. 127.0.0.2,
#                        must exist (a private network namespace, samba-dfs.sh)
#   SAMBA_PORT           the port (default: a free high port)
#   SAMBA_EXTRA_CONF     extra lines at the end of smb.conf (more shares)
#   SMBW_SAMBA           which Samba: "system" (default, Debian 12's 4.17) or
#                        "backports" (bookworm-backports' 4.22, chrooted into the
#                        Debian root that samba-root.sh builds once and caches)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/testbed/lib.sh
source "$here/lib.sh"

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}

write_conf() {
    local dir=$1 port=$2 share1=$3 conf=$1/etc/smb.conf
    {
        echo "[global]"
        echo "    workgroup = WORKGROUP"
        echo "    netbios name = SMBWTEST"
        echo "    server role = standalone server"
        echo "    security = user"
        echo "    map to guest = never"
        echo "    passdb backend = tdbsam:$dir/lib/private/passdb.tdb"
        echo "    private dir = $dir/lib/private"
        echo "    lock directory = $dir/lib/lock"
        echo "    state directory = $dir/lib/state"
        echo "    cache directory = $dir/lib/cache"
        echo "    pid directory = $dir/run"
        echo "    ncalrpc dir = $dir/run/ncalrpc"
        echo "    binddns dir = $dir/lib/bind-dns"
        echo "    usershare path ="
        echo "    log file = $dir/log/smbd.log"
        echo "    max log size = 0"
        echo "    log level = ${SAMBA_LOG_LEVEL:-1}"
        echo "    smb ports = $port"
        if [[ -n "${SAMBA_ADDR:-}" ]]; then
            echo "    interfaces = $SAMBA_ADDR/32"
        else
            echo "    interfaces = lo"
        fi
        echo "    bind interfaces only = yes"
        echo "    disable netbios = yes"
        echo "    server min protocol = ${SAMBA_MIN_PROTOCOL:-SMB2_02}"
        if [[ -n "${SAMBA_MAX_PROTOCOL:-}" ]]; then
            echo "    server max protocol = $SAMBA_MAX_PROTOCOL"
        fi
        if [[ -n "${SAMBA_SIGNING:-}" ]]; then
            echo "    server signing = $SAMBA_SIGNING"
        fi
        if [[ -n "${SAMBA_ENCRYPT:-}" ]]; then
            echo "    server smb encrypt = $SAMBA_ENCRYPT"
        fi
        echo "    load printers = no"
        echo "    printcap name = /dev/null"
        echo "    disable spoolss = yes"
        echo "    unix charset = UTF-8"
        if [[ -n "${SAMBA_EXTRA_GLOBAL:-}" ]]; then
            printf '%b\n' "$SAMBA_EXTRA_GLOBAL"
        fi
        echo
        echo "[share1]"
        echo "    path = $share1"
        echo "    read only = no"
        echo "    guest ok = no"
        echo "    valid users = $SMBW_TB_USER"
        echo "    create mask = 0644"
        echo "    directory mask = 0755"
        if [[ -n "${SAMBA_EXTRA_SHARE1:-}" ]]; then
            printf '%b\n' "$SAMBA_EXTRA_SHARE1"
        fi
        echo
        echo "[share2]"
        echo "    path = $dir/share2"
        echo "    read only = no"
        echo "    guest ok = no"
        echo "    valid users = $SMBW_TB_USER"
        echo "    create mask = 0644"
        echo "    directory mask = 0755"
        if [[ -n "${SAMBA_EXTRA_SHARE2:-}" ]]; then
            printf '%b\n' "$SAMBA_EXTRA_SHARE2"
        fi
        if [[ -n "${SAMBA_EXTRA_CONF:-}" ]]; then
            echo
            printf '%b\n' "$SAMBA_EXTRA_CONF"
        fi
    } >"$conf"
}

samba_root=""

# Runs a Samba program: the system's, or the one in the backports root, with
# /proc, /dev and the given paths (or /tmp when a path lies below it) bound
# into the root at the same place, in a mount namespace of its own that ends
# with the process (nothing stays mounted). The process keeps its PID.
#   in_samba PATHS... -- CMD [ARGS...]
# SMBW_IN_SAMBA_EXEC=1: replace the calling (sub)shell instead of forking.
in_samba() {
    local -a paths=()
    while (($# > 0)) && [[ "$1" != "--" ]]; do
        case $1 in
        /tmp | /tmp/*) paths+=(/tmp) ;;
        *) paths+=("$1") ;;
        esac
        shift
    done
    shift
    local -a pre=()
    if [[ "${SMBW_IN_SAMBA_EXEC:-}" == 1 ]]; then
        pre=(exec)
    fi
    if [[ -z "$samba_root" ]]; then
        "${pre[@]}" "$@"
        return
    fi
    # shellcheck disable=SC2016 # expanded by the inner shell
    "${pre[@]}" unshare --mount --propagation slave -- bash -c '
        set -e
        r=$1 n=$2
        shift 2
        mount --rbind /proc "$r/proc"
        mount --rbind /dev "$r/dev"
        # The host names the host knows: smbd looks up its own name at every
        # login (NTLM target info); unknown in the root, it went to DNS and
        # waited 5 s for an answer where no name server answers (CI).
        [[ -e "$r/etc/hosts" ]] || : >"$r/etc/hosts"
        mount --bind /etc/hosts "$r/etc/hosts"
        declare -A seen=()
        for ((i = 0; i < n; i++)); do
            p=$1
            shift
            [[ -z "${seen[$p]:-}" ]] || continue
            seen[$p]=1
            mkdir -p "$r$p"
            mount --rbind "$p" "$r$p"
        done
        exec chroot "$r" "$@"' in_samba "$samba_root" "${#paths[@]}" "${paths[@]}" "$@"
}

# The test user inside the root, with the host's uid and gid.
root_user() {
    local pw gr
    pw=$(getent passwd "$SMBW_TB_USER") || tb_die "no user $SMBW_TB_USER"
    gr=$(getent group "$(id -g "$SMBW_TB_USER")") || tb_die "no group for $SMBW_TB_USER"
    (
        flock 9
        grep -q "^$SMBW_TB_USER:" "$samba_root/etc/passwd" || echo "$pw" >>"$samba_root/etc/passwd"
        grep -q "^${gr%%:*}:" "$samba_root/etc/group" || echo "$gr" >>"$samba_root/etc/group"
    ) 9>"$samba_root/.smbwire-users.lock"
}

start() {
    local dir=$1
    ((EUID == 0)) || tb_die "samba.sh must run as root (smbd switches to the test user)"
    if [[ -f "$dir/run/testbed-smbd.pid" ]]; then
        tb_die "$dir already has a running instance (stop it first)"
    fi
    mkdir -p "$dir"/{etc,lib/private,lib/lock,lib/state,lib/cache,lib/bind-dns,log,run,share2}
    dir=$(cd "$dir" && pwd)
    chmod 0755 "$dir"
    chmod 0700 "$dir/lib/private"
    local share1=${SAMBA_SHARE1_PATH:-$dir/share1}
    mkdir -p "$share1"
    share1=$(cd "$share1" && pwd)

    tb_ensure_user
    case ${SMBW_SAMBA:-system} in
    system)
        command -v smbd >/dev/null || tb_die "smbd not found: run tests/testbed/install-deps.sh"
        ;;
    backports)
        samba_root=$(bash "$here/samba-root.sh" ensure) ||
            tb_die "cannot build the Samba backports root (tests/testbed/samba-root.sh)"
        root_user
        ;;
    *) tb_die "SMBW_SAMBA must be system or backports, not '$SMBW_SAMBA'" ;;
    esac
    chown "$SMBW_TB_USER:" "$share1" "$dir/share2"
    chmod 0755 "$share1" "$dir/share2"

    local conf=$dir/etc/smb.conf attempt port pid i addr=${SAMBA_ADDR:-127.0.0.1}
    for attempt in 1 2 3 4 5; do
        port=${SAMBA_PORT:-$(tb_free_port)}
        write_conf "$dir" "$port" "$share1"
        if ((attempt == 1)); then
            in_samba "$dir" -- testparm -s "$conf" >"$dir/log/testparm.out" 2>&1 ||
                tb_die "testparm rejects $conf: $(tail -n 5 "$dir/log/testparm.out")"
            printf '%s\n%s\n' "$SMBW_TB_PASS" "$SMBW_TB_PASS" |
                in_samba "$dir" -- smbpasswd -c "$conf" -a -s "$SMBW_TB_USER" \
                    >"$dir/log/smbpasswd.out" 2>&1 ||
                tb_die "smbpasswd failed: $(cat "$dir/log/smbpasswd.out")"
        fi
        # setsid: smbd's own SIGTERM handling with --no-process-group would
        # otherwise hit our process group (the test runner).
        SMBW_IN_SAMBA_EXEC=1 in_samba "$dir" "$share1" -- \
            setsid smbd --foreground --no-process-group -s "$conf" \
            </dev/null >>"$dir/log/smbd.out" 2>&1 &
        pid=$!
        echo "$pid" >"$dir/run/testbed-smbd.pid"
        for ((i = 0; i < 100; i++)); do
            if ! kill -0 "$pid" 2>/dev/null; then
                break
            fi
            if tb_port_accepts "$port" "$addr" && tb_pid_listens_on "$pid" "$port"; then
                export SMBW_TEST_HOST=$addr SMBW_TEST_PORT=$port
                export SMBW_TEST_USER=$SMBW_TB_USER SMBW_TEST_PASS=$SMBW_TB_PASS
                export SMBW_TEST_SHARE=share1 SMBW_TEST_SHARE2=share2
                export SMBW_TEST_SHARE_PATH=$share1 SMBW_TEST_SHARE2_PATH=$dir/share2
                export SMBW_TEST_SERVER=samba
                SMBW_TEST_SAMBA_VERSION=$(in_samba "$dir" -- smbd --version 2>/dev/null |
                    sed -n 's/^Version //p')
                export SMBW_TEST_SAMBA_VERSION
                # The server runs from the root that was asked for: never a
                # silent run against the other version.
                if [[ -n "$samba_root" && "$(readlink "/proc/$pid/root")" != "$samba_root" ]]; then
                    tb_stop_pidfile "$dir/run/testbed-smbd.pid" "$conf" 5
                    tb_die "smbd (pid $pid) does not run in $samba_root"
                fi
                export SMBW_TEST_SERVER_MAX_PROTOCOL=${SAMBA_MAX_PROTOCOL:-SMB3_11}
                tb_write_env "$dir"
                echo "samba $SMBW_TEST_SAMBA_VERSION: smbd pid $pid listening on $addr:$port ($dir)"
                return 0
            fi
            sleep 0.1
        done
        # Not listening: it died (port taken in between?) or hangs. Clean up, retry.
        tb_stop_pidfile "$dir/run/testbed-smbd.pid" "$conf" 5
        echo "samba: smbd did not listen on port $port (attempt $attempt)" >&2
    done
    echo "--- $dir/log/smbd.log (tail)" >&2
    tail -n 30 "$dir/log/smbd.log" >&2 2>/dev/null || true
    tail -n 10 "$dir/log/smbd.out" >&2 2>/dev/null || true
    tb_die "could not start smbd in $dir"
}

stop() {
    local dir=$1
    [[ -d "$dir" ]] || return 0
    dir=$(cd "$dir" && pwd)
    tb_stop_pidfile "$dir/run/testbed-smbd.pid" "$dir/etc/smb.conf" 10
}

(($# == 2)) || usage
case $1 in
start) start "$2" ;;
stop) stop "$2" ;;
*) usage ;;
esac
