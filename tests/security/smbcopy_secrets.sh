#!/usr/bin/env bash
# smbcopy keeps secrets out of other users' sight (issue 18), against the
# private Samba described by SMBW_TEST_* (run through with-server.sh):
#
#   smbcopy_secrets.sh PATH/TO/smbcopy
#
# - While smbcopy runs (held by a listener that accepts the connection and
#   never answers), /proc/PID/cmdline shows the user name of `-U USER%PASS`
#   (every form: -U X, -UX, --user=X, --user X, repeated) and of a URL's
#   `USER:PASS@`, but never the password.
# - Core dumps are off while it runs: the process is not dumpable (its /proc
#   entries belong to root although it runs as another user) and its core
#   size limit is 0, unless SMBWIRE_ALLOW_CORE_DUMPS=1.
# - Against Samba, -U user%pass and a URL password still log in after the
#   burn, and once logged in smbcopy's memory holds no copy of the password
#   (read through /proc/PID/mem while it is blocked writing into a FIFO).
# - An -A file readable by group or others gets a warning (not with -q), an
#   unreadable one a clear error with exit status 2.
#
# When run as root, the held smbcopy runs as uid/gid 65534 (setpriv) from a
# copy in a world-readable directory, so "not dumpable" is visible as a
# change of owner. Every wait is bounded.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init secrets
held_pid=
listener_pid=
stop_held() {
    if [[ -n "$held_pid" ]]; then
        kill -KILL "$held_pid" 2>/dev/null || true
        wait "$held_pid" 2>/dev/null || true
        held_pid=
    fi
    if [[ -n "$listener_pid" ]]; then
        kill "$listener_pid" 2>/dev/null || true
        wait "$listener_pid" 2>/dev/null || true
        listener_pid=
    fi
}
on_exit stop_held

# ---- the smbcopy that is held: as another user when we are root ---------
runas=()
held_uid=$(id -u)
held_bin=$smbcopy
if ((EUID == 0)); then
    held_uid=65534
    runas=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
    # The build tree may not be reachable by uid 65534: run a copy of
    # smbcopy (and of libsmbwire, found through its $ORIGIN/../../lib
    # runpath or LD_LIBRARY_PATH) from a world-readable directory.
    pub=$work/pub
    mkdir -p "$pub/bin/smbcopy" "$pub/lib"
    cp "$smbcopy" "$pub/bin/smbcopy/smbcopy"
    lib=$(ldd "$smbcopy" | awk '$1 ~ /^libsmbwire\.so/ { print $3 }')
    if [[ -n "$lib" ]]; then
        cp "$(readlink -f "$lib")" "$pub/lib/$(basename "$lib")"
    fi
    chmod -R a+rX "$pub"
    chmod 0711 "$work"
    held_bin=$pub/bin/smbcopy/smbcopy
    export LD_LIBRARY_PATH=$pub/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi

# A listener that accepts one connection, reads the first bytes the client
# sends (its NEGOTIATE), says so by creating a file, and then never answers.
cat >"$work/listener.py" <<'PY'
import os, socket, sys, time
port_file, got_file = sys.argv[1], sys.argv[2]
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.bind(("127.0.0.1", 0))
ls.listen(1)
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % ls.getsockname()[1])
os.rename(port_file + ".tmp", port_file)
ls.settimeout(60)
conn, _ = ls.accept()
conn.settimeout(60)
data = conn.recv(4096)
open(got_file, "w").close()
time.sleep(120 if data else 0)
PY

wait_for_file() { # path seconds
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [[ -e "$1" ]] && return 0
        sleep 0.1
    done
    return 1
}

# Starts a listener and smbcopy (with env assignments ENV... then the
# arguments, in which @PORT@ becomes the listener's port), and waits until
# smbcopy has connected and sent its first request: by then option parsing
# and the burn are long done. Sets held_pid and port.
hold() { # name [VAR=VALUE...] -- args...
    local name=$1
    shift
    local envs=()
    while [[ "$1" != "--" ]]; do
        envs+=("$1")
        shift
    done
    shift
    rm -f "$work/port" "$work/got"
    "$py" "$work/listener.py" "$work/port" "$work/got" &
    listener_pid=$!
    if ! wait_for_file "$work/port" 30; then
        fail "$name: the listener did not start"
        return 1
    fi
    port=$(cat "$work/port")
    local args=("${@//@PORT@/$port}")
    env -u SMB_PASSWORD "${envs[@]}" "${runas[@]}" "$held_bin" --timeout=100 -q "${args[@]}" \
        >"$work/$name.out" 2>"$work/$name.err" </dev/null &
    held_pid=$!
    if ! wait_for_file "$work/got" 30; then
        fail "$name: smbcopy never sent a request: $(cat "$work/$name.err")"
        return 1
    fi
    if ! kill -0 "$held_pid" 2>/dev/null; then
        fail "$name: smbcopy is not running: $(cat "$work/$name.err")"
        return 1
    fi
}

# The NUL-separated argument strings of the held smbcopy: none contains the
# secret; the user name and the rest of the command line are there.
cmdline_check() { # name secret... -- wanted...
    local name=$1
    shift
    cp "/proc/$held_pid/cmdline" "$work/$name.cmdline"
    if "$py" - "$work/$name.cmdline" "$@" <<'PY'; then
import sys
raw = open(sys.argv[1], "rb").read()
args = sys.argv[2:]
sep = args.index("--")
secrets, wanted = args[:sep], args[sep + 1:]
shown = raw.replace(b"\0", b" ").decode("utf-8", "replace")
for s in secrets:
    assert s.encode() not in raw, "secret %r visible in %r" % (s, shown)
strings = raw.split(b"\0")
for w in wanted:
    assert w.encode() in strings, "argument %r missing from %r" % (w, shown)
print("  cmdline:", shown.strip())
PY
        pass "$name: /proc/PID/cmdline has the user names, no password"
    else
        fail "$name: /proc/PID/cmdline"
    fi
}

# Core dumps off: not dumpable (the /proc/PID entries then belong to root
# while the process runs as held_uid) and RLIMIT_CORE 0 (soft and hard).
dumps_off() { # name
    local owner soft hard
    owner=$(stat -c %u "/proc/$held_pid/status")
    read -r soft hard < <(awk '/^Max core file size/ { print $5, $6 }' "/proc/$held_pid/limits")
    if ((held_uid != 0)) && [[ "$owner" == 0 ]]; then
        pass "$1: not dumpable (/proc/PID owned by root, process uid $held_uid)"
    else
        fail "$1: dumpable: /proc/PID owned by $owner, process uid $held_uid"
    fi
    if [[ "$soft" == 0 && "$hard" == 0 ]]; then
        pass "$1: core size limit 0"
    else
        fail "$1: core size limit is $soft/$hard"
    fi
}

user=$SMBW_TEST_USER
url_at() { # user-part -> URL on the listener
    printf 'smb://%s@127.0.0.1:@PORT@/%s' "$1" "$SMBW_TEST_SHARE"
}

# ---- 1. -U USER%PASS in every form ---------------------------------------
if hold u-separate -- -U "$user%Secret-One" "smb://127.0.0.1:@PORT@/share/f" "$work/o1"; then
    cmdline_check u-separate Secret-One -- -U "$user" "smb://127.0.0.1:$port/share/f"
    dumps_off u-separate
fi
stop_held

if hold u-forms -- "-qU$user%Secret-Two" --user "WORK\\$user%Secret-Three" \
    "--user=$user%Secret-Four" "smb://127.0.0.1:@PORT@/share/f" "$work/o2"; then
    cmdline_check u-forms Secret-Two Secret-Three Secret-Four -- \
        "-qU$user" "WORK\\$user" "--user=$user" --user
fi
stop_held

# ---- 2. a password in the URL (SRC and DST, with a domain) ---------------
if hold url -- "$(url_at "$user:Secret-Five")/f" "$(url_at "WORK;$user:Secret-Six")/g"; then
    cmdline_check url Secret-Five Secret-Six -- \
        "smb://$user@127.0.0.1:$port/$SMBW_TEST_SHARE/f" \
        "smb://WORK;$user@127.0.0.1:$port/$SMBW_TEST_SHARE/g"
    dumps_off url
fi
stop_held

# ---- 3. core dumps on request: still burnt, dumpable ---------------------
if hold allow SMBWIRE_ALLOW_CORE_DUMPS=1 -- -U "$user%Secret-Seven" \
    "smb://127.0.0.1:@PORT@/share/f" "$work/o3"; then
    cmdline_check allow Secret-Seven -- "$user"
    owner=$(stat -c %u "/proc/$held_pid/status")
    if [[ "$owner" == "$held_uid" ]]; then
        pass "allow: SMBWIRE_ALLOW_CORE_DUMPS=1 leaves the process dumpable"
    else
        fail "allow: /proc/PID owned by $owner, not $held_uid: not dumpable"
    fi
    want_hard=$(ulimit -H -c) # 1024-byte blocks; /proc/PID/limits says bytes
    [[ "$want_hard" == unlimited ]] || want_hard=$((want_hard * 1024))
    hard=$(awk '/^Max core file size/ { print $6 }' "/proc/$held_pid/limits")
    if [[ "$hard" == "$want_hard" ]]; then
        pass "allow: hard core size limit kept ($hard)"
    else
        fail "allow: hard core size limit $hard, inherited $want_hard"
    fi
fi
stop_held

# ---- 4. the burnt arguments still log in (real Samba) --------------------
share=$SMBW_TEST_SHARE_PATH
hp=$SMBW_TEST_HOST:$SMBW_TEST_PORT
head -c 70000 /dev/urandom >"$share/secret-src.bin"
run() { # name args...
    local name=$1
    shift
    set +e
    env -u SMB_PASSWORD timeout -k 5 120 "$smbcopy" --timeout=30 --no-progress "$@" \
        >"$work/$name.out" 2>"$work/$name.err" </dev/null
    rc=$?
    set -e
}
same() { # name local-copy
    if ((rc == 0)) && cmp -s "$share/secret-src.bin" "$2"; then
        pass "$1: copied"
    else
        fail "$1: exit $rc, copy differs or missing: $(cat "$work/$1.err")"
    fi
}
run login-u -U "$user%$SMBW_TEST_PASS" "smb://$hp/$SMBW_TEST_SHARE/secret-src.bin" "$work/d1"
same login-u "$work/d1"
run login-url "smb://$user:$SMBW_TEST_PASS@$hp/$SMBW_TEST_SHARE/secret-src.bin" "$work/d2"
same login-url "$work/d2"
run login-url-dst "$share/secret-src.bin" \
    "smb://$user:$SMBW_TEST_PASS@$hp/$SMBW_TEST_SHARE/secret-up.bin"
same login-url-dst "$share/secret-up.bin"
# A wrong password in the URL is really used (not dropped by the burn).
run login-url-wrong "smb://$user:not-$SMBW_TEST_PASS@$hp/$SMBW_TEST_SHARE/secret-src.bin" \
    "$work/d3"
if ((rc == 4)); then
    pass "login-url-wrong: exit 4 (authentication)"
else
    fail "login-url-wrong: exit $rc, wanted 4: $(cat "$work/login-url-wrong.err")"
fi

# ---- 5. no copy of the password in memory once both ends are logged in ---
# smbcopy downloads into a FIFO whose reader never reads: once it has opened
# the FIFO (both logins done) it blocks. Then its memory is searched for the
# password (UTF-8 and UTF-16LE), and for the user name as a control. The
# environment must not carry the password (SMBW_TEST_PASS is unset).
cat >"$work/memscan.py" <<'PY'
import os, re, sys, time
pid, fifo, secret, user = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # held open, never read
deadline = time.monotonic() + 30
def opened():
    try:
        return any(os.readlink("/proc/%s/fd/%s" % (pid, f)) == fifo
                   for f in os.listdir("/proc/%s/fd" % pid))
    except OSError:
        return False
while not opened():
    if time.monotonic() > deadline or not os.path.exists("/proc/" + pid):
        sys.exit("smbcopy never opened the FIFO")
    time.sleep(0.05)
def find(needle):
    hits = []
    with open("/proc/%s/maps" % pid) as m, open("/proc/%s/mem" % pid, "rb", 0) as mem:
        for line in m:
            f = line.split()
            name = f[5] if len(f) > 5 else "anonymous"
            if not f[1].startswith("r") or name in ("[vvar]", "[vsyscall]", "[vdso]"):
                continue
            a, b = (int(x, 16) for x in f[0].split("-"))
            if b - a > 1 << 30:
                continue  # a sanitizer's shadow memory (terabytes, reserved)
            try:
                mem.seek(a)
                data = mem.read(b - a)
            except OSError:
                continue
            for enc in ("utf-8", "utf-16-le"):
                if needle.encode(enc) in data:
                    hits.append("%s in %s" % (enc, name))
    return hits
cmdline = open("/proc/%s/cmdline" % pid, "rb").read()
assert secret.encode() not in cmdline, "password in /proc/PID/cmdline"
assert find(user), "the control failed: user name %r not found in memory" % user
hits = find(secret)
assert not hits, "password still in memory: %s" % ", ".join(hits)
print("  memory: user name found, password not found")
PY
head -c $((4 * 1024 * 1024)) /dev/urandom >"$share/secret-big.bin"
mem_case() { # name [VAR=VALUE...] -- args...
    local name=$1 envs=()
    shift
    while [[ "$1" != "--" ]]; do
        envs+=("$1")
        shift
    done
    shift
    rm -f "$work/fifo"
    mkfifo "$work/fifo"
    # Reading another process's memory: root may; the same user only when it
    # is dumpable.
    ((EUID == 0)) || envs+=(SMBWIRE_ALLOW_CORE_DUMPS=1)
    env -u SMB_PASSWORD -u SMBW_TEST_PASS "${envs[@]}" "$smbcopy" --timeout=60 -q "$@" \
        "$work/fifo" >"$work/$name.out" 2>"$work/$name.err" </dev/null &
    held_pid=$!
    if "$py" "$work/memscan.py" "$held_pid" "$work/fifo" "$SMBW_TEST_PASS" "$user"; then
        pass "$name: no copy of the password in memory after login"
    else
        fail "$name: $(cat "$work/$name.err")"
    fi
    stop_held
}
mem_case mem-u -- -U "$user%$SMBW_TEST_PASS" "smb://$hp/$SMBW_TEST_SHARE/secret-big.bin"
mem_case mem-url -- "smb://$user:$SMBW_TEST_PASS@$hp/$SMBW_TEST_SHARE/secret-big.bin"
# A sanitizer runtime keeps its own copy of the initial environment (read
# from /proc/self/environ into a buffer of its own), out of smbcopy's reach.
if grep -qa __asan_init "$smbcopy"; then
    echo "note mem-env: not checked in a sanitizer build (its runtime copies the environment)"
else
    mem_case mem-env "SMB_PASSWORD=$SMBW_TEST_PASS" -- \
        "smb://$user@$hp/$SMBW_TEST_SHARE/secret-big.bin"
fi
printf 'username = %s\npassword = %s\n' "$user" "$SMBW_TEST_PASS" >"$work/auth-mem"
chmod 600 "$work/auth-mem"
mem_case mem-authfile -- -A "$work/auth-mem" "smb://$hp/$SMBW_TEST_SHARE/secret-big.bin"

# ---- 6. authentication files ---------------------------------------------
auth=$work/auth
printf 'username = %s\npassword = %s\n' "$user" "$SMBW_TEST_PASS" >"$auth"
src_url=smb://$hp/$SMBW_TEST_SHARE/secret-src.bin
auth_run() { # name mode [options...]
    local name=$1 mode=$2
    shift 2
    chmod "$mode" "$auth"
    rm -f "$work/$name.bin"
    run "$name" -A "$auth" "$@" "$src_url" "$work/$name.bin"
    same "$name" "$work/$name.bin"
}
auth_run auth-600 600
if [[ ! -s "$work/auth-600.err" ]]; then
    pass "auth-600: no warning"
else
    fail "auth-600: unexpected stderr: $(cat "$work/auth-600.err")"
fi
for m in 644:everyone 604:everyone 640:"its group"; do
    mode=${m%%:*}
    who=${m#*:}
    auth_run "auth-$mode" "$mode"
    want="smbcopy: warning: authentication file $auth is readable by $who (mode 0$mode); restrict it with chmod 600"
    if [[ "$(cat "$work/auth-$mode.err")" == "$want" ]]; then
        pass "auth-$mode: warning"
    else
        fail "auth-$mode: stderr is '$(cat "$work/auth-$mode.err")', wanted '$want'"
    fi
done
auth_run auth-644-q 644 -q
if [[ ! -s "$work/auth-644-q.err" ]]; then
    pass "auth-644 -q: no warning"
else
    fail "auth-644 -q: stderr: $(cat "$work/auth-644-q.err")"
fi
# Unreadable (as a user other than root, who could read it anyway).
chmod 000 "$auth"
set +e
env -u SMB_PASSWORD "${runas[@]}" "$held_bin" --timeout=30 -A "$auth" "$src_url" "$work/nope" \
    >"$work/auth-000.out" 2>"$work/auth-000.err" </dev/null
rc=$?
set -e
want="smbcopy: authentication file $auth: cannot open it: Permission denied"
# Only smbcopy's own lines: a coverage build run as another user adds gcov's
# "profiling: ... Cannot open" lines.
if ((rc == 2)) && [[ "$(grep -v '^profiling:' "$work/auth-000.err")" == "$want" ]] &&
    [[ ! -e "$work/nope" ]]; then
    pass "auth-000: exit 2, '$want'"
else
    fail "auth-000: exit $rc, stderr '$(cat "$work/auth-000.err")', wanted 2 and '$want'"
fi

finish
