# Helpers shared by the testbed scripts (sourced, not executed).
# shellcheck shell=bash

# shellcheck disable=SC2034 # used by the scripts that source this file
SMBW_TB_USER=smbwtest
# shellcheck disable=SC2034
SMBW_TB_PASS=smbw-Pass1

tb_die() {
    echo "testbed: $*" >&2
    exit 1
}

tb_python() {
    if [[ -x /usr/bin/python3 ]]; then
        echo /usr/bin/python3
    else
        command -v python3
    fi
}

# Prints a TCP port on 127.0.0.1 that could be bound just now.
tb_free_port() {
    "$(tb_python)" - <<'PY'
import random, socket
for _ in range(200):
    port = random.randint(20000, 60999)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("no free port found")
PY
}

# True when ${2:-127.0.0.1}:$1 accepts a TCP connection.
tb_port_accepts() {
    (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null
}

# True when process $1 (alive) owns a socket listening on TCP port $2.
tb_pid_listens_on() {
    local pid=$1 port=$2 hexport inode fd
    hexport=$(printf '%04X' "$port")
    local -a inodes=()
    # /proc/net/tcp: local_address is HEXIP:HEXPORT, st 0A = LISTEN, inode is field 10.
    while read -r _ local _ st _ _ _ _ _ inode _; do
        if [[ "$st" == "0A" && "${local##*:}" == "$hexport" ]]; then
            inodes+=("$inode")
        fi
    done < <(tail -n +2 /proc/net/tcp; tail -n +2 /proc/net/tcp6 2>/dev/null || true)
    ((${#inodes[@]} > 0)) || return 1
    for fd in /proc/"$pid"/fd/*; do
        local target
        target=$(readlink "$fd" 2>/dev/null) || continue
        for inode in "${inodes[@]}"; do
            [[ "$target" == "socket:[$inode]" ]] && return 0
        done
    done
    return 1
}

# Session id of a process (field 6 of /proc/PID/stat), empty if gone.
tb_sid_of() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    # after "comm) ": state ppid pgrp session ...
    read -r _ _ _ sid _ <<<"$stat"
    echo "$sid"
}

# PIDs of every process in session $1.
tb_session_pids() {
    local sid=$1 p
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        if [[ "$(tb_sid_of "$p")" == "$sid" ]]; then
            echo "$p"
        fi
    done
}

# True when process $1 exists and its command line mentions $2.
tb_pid_matches() {
    local pid=$1 needle=$2 cmdline
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ "$cmdline" == *"$needle"* ]]
}

# Stops the server whose pid (a session leader started with setsid) is in
# file $1 and whose command line mentions $2: SIGTERM, wait up to $3 seconds,
# then SIGKILL whatever of that session is left. Touches nothing else.
tb_stop_pidfile() {
    local pidfile=$1 needle=$2 wait_s=${3:-10} pid i
    [[ -f "$pidfile" ]] || return 0
    pid=$(cat "$pidfile")
    [[ "$pid" =~ ^[0-9]+$ ]] || {
        rm -f "$pidfile"
        return 0
    }
    if ! tb_pid_matches "$pid" "$needle"; then
        rm -f "$pidfile"
        return 0
    fi
    local sid
    sid=$(tb_sid_of "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < wait_s * 10; i++)); do
        tb_pid_matches "$pid" "$needle" || break
        sleep 0.1
    done
    if [[ "$sid" == "$pid" ]]; then
        local p
        for p in $(tb_session_pids "$sid"); do
            kill -KILL "$p" 2>/dev/null || true
        done
    elif tb_pid_matches "$pid" "$needle"; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

# Writes DIR/env from the current SMBW_TEST_* values.
tb_write_env() {
    local dir=$1 v
    : >"$dir/env.tmp"
    for v in SMBW_TEST_HOST SMBW_TEST_PORT SMBW_TEST_USER SMBW_TEST_PASS SMBW_TEST_SHARE \
        SMBW_TEST_SHARE2 SMBW_TEST_SHARE_PATH SMBW_TEST_SHARE2_PATH SMBW_TEST_SERVER \
        SMBW_TEST_SERVER_MAX_PROTOCOL SMBW_TEST_SAMBA_VERSION; do
        printf 'export %s=%q\n' "$v" "${!v-}" >>"$dir/env.tmp"
    done
    mv "$dir/env.tmp" "$dir/env"
}

# Creates the Unix test user if missing (safe when run concurrently).
tb_ensure_user() {
    if ! id -u "$SMBW_TB_USER" >/dev/null 2>&1; then
        local nologin=/usr/sbin/nologin
        [[ -x "$nologin" ]] || nologin=/bin/false
        useradd -M -s "$nologin" "$SMBW_TB_USER" 2>/dev/null || id -u "$SMBW_TB_USER" >/dev/null ||
            tb_die "cannot create user $SMBW_TB_USER"
    fi
}
