# The shell tests' one library (sourced, not executed): checks and their
# tally, the prologue of a test run through tests/testbed/with-server.sh
# (which exports SMBW_TEST_*), exit hooks, and the smbcopy helpers. A script
# in tests/DIR sources it as
#   here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
#   source "$here/../common/common.sh"
# shellcheck shell=bash

failures=0
checks=0
pass() {
    checks=$((checks + 1))
    echo "ok   $*"
}
fail() {
    checks=$((checks + 1))
    failures=$((failures + 1))
    echo "FAIL $*" >&2
}
# finish: the tally; the script's status (run it last): 0 only when at least
# one check ran and none failed.
finish() {
    echo "$((checks - failures)) of $checks checks passed"
    ((failures == 0 && checks > 0))
}

need_env() {
    local v
    for v in "$@"; do
        [[ -n "${!v:-}" ]] || {
            echo "FAIL: $v is not set (run through tests/testbed/with-server.sh)" >&2
            exit 1
        }
    done
}

# on_exit CMD: CMD (a command line, eval'd) runs when the script exits, the
# latest registered first, before $work is removed.
exit_hooks=()
on_exit() {
    exit_hooks=("$1" "${exit_hooks[@]}")
}
run_exit_hooks() {
    local h
    for h in "${exit_hooks[@]}"; do
        eval "$h" || true
    done
    if [[ -n "${work:-}" ]]; then
        rm -rf "$work"
    fi
}

# copy_init NAME [VAR...]: the common start of a test run through
# with-server.sh: the server variables (and VARs) must be set; makes $work
# (removed on exit, after the on_exit hooks), exports SMB_PASSWORD and sets
# base (the server's URL), url (share1's URL) and share (share1's path).
# shellcheck disable=SC2034 # used by the scripts that source this file
copy_init() {
    local name=$1
    shift
    need_env SMBW_TEST_HOST SMBW_TEST_PORT SMBW_TEST_USER SMBW_TEST_PASS SMBW_TEST_SHARE \
        SMBW_TEST_SHARE_PATH "$@"
    work=$(mktemp -d "${TMPDIR:-/tmp}/copy-$name.XXXXXX")
    trap run_exit_hooks EXIT
    export SMB_PASSWORD=$SMBW_TEST_PASS
    base=smb://$SMBW_TEST_USER@$SMBW_TEST_HOST:$SMBW_TEST_PORT
    url=$base/$SMBW_TEST_SHARE
    share=$SMBW_TEST_SHARE_PATH
}

need_smbcopy() {
    smbcopy=${1:?usage: $0 PATH/TO/smbcopy}
    [[ -x "$smbcopy" ]] || {
        echo "FAIL: $smbcopy is not an executable" >&2
        exit 1
    }
}

py=python3
[[ -x /usr/bin/python3 ]] && py=/usr/bin/python3

sha() {
    sha256sum <"$1" | cut -d' ' -f1
}

same_file() { # what a b
    if [[ -f "$2" && -f "$3" ]] && cmp -s "$2" "$3"; then
        pass "$1: identical"
    else
        fail "$1: $2 and $3 differ or are missing"
    fi
}

# json_get FILE KEY: a member of the last JSON object in FILE ("" if none).
json_get() {
    "$py" - "$1" "$2" <<'PY'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read().strip()
obj = json.loads(text.splitlines()[-1]) if text else {}
v = obj.get(sys.argv[2], "")
print("null" if v is None else (str(v).lower() if isinstance(v, bool) else v))
PY
}

# Runs smbcopy with --json; sets rc, and leaves stdout/stderr in
# $work/last.json / $work/last.err ($work is set by the test script).
# shellcheck disable=SC2154,SC2034
run_json() {
    set +e
    "$smbcopy" --json -q "$@" >"$work/last.json" 2>"$work/last.err" </dev/null
    rc=$?
    set -e
}

# run_json_v ARGS...: run_json with -v instead of -q (the messages and the
# library's log land in $work/last.err).
run_json_v() {
    set +e
    "$smbcopy" --json -v --no-progress "$@" >"$work/last.json" 2>"$work/last.err" </dev/null
    rc=$?
    set -e
}

# lanes_used N: whether the last run_json_v spread the small files of its
# tree over N connections: smbcopy's "small files over N connections: A,
# B... files" with every count above 0, and N sessions established in the
# library's log. Sets lanes (the line, or what was found instead).
lanes_used() {
    local n=$1 line counts sessions
    line=$(grep "^smbcopy: small files over $n connections: " "$work/last.err" | tail -1 || true)
    sessions=$(grep -c "\] session 0x[0-9a-f]* established" "$work/last.err" || true)
    lanes="${line:-no 'small files over $n connections' line}; $sessions session(s) established"
    [[ -n "$line" ]] || return 1
    counts=${line#*connections: }
    counts=${counts% files}
    [[ "$(tr ',' '\n' <<<"$counts" | awk '$1 > 0' | wc -l)" == "$n" ]] || return 1
    ((sessions >= n))
}

# Random file of SIZE bytes at PATH.
make_random() {
    head -c "$2" /dev/urandom >"$1"
}

# Leftovers of smbcopy (temporary or state files) under DIR, one per line.
leftovers() {
    find "$1" -name '*.smbcopy.part' -o -name '*.smbcopy.state'
}

# record_done FILE: the done offset of a resume record ("" when unreadable).
record_done() {
    local d
    d=$(sed -n 's/^done \([0-9]\{20\}\)$/\1/p' "$1" 2>/dev/null || true)
    [[ -n "$d" ]] && echo $((10#$d))
    return 0
}

# ---- a copy in the background, held at a known point ------------------------
common_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bg=
proxy_pid=
hold_args=()
# shellcheck disable=SC2317 # run by on_exit
stop_bg_children() {
    if [[ -n "$bg" ]]; then
        kill -9 "$bg" 2>/dev/null || true
    fi
    if [[ -n "$proxy_pid" ]]; then
        kill "$proxy_pid" 2>/dev/null || true
        wait "$proxy_pid" 2>/dev/null || true
    fi
}

# start_bg ARGS...: smbcopy -q ARGS in the background (pid in $bg, output in
# $work/bg.out and $work/bg.err; killed on exit).
start_bg() {
    [[ " ${exit_hooks[*]} " == *" stop_bg_children "* ]] || on_exit stop_bg_children
    "$smbcopy" -q "$@" </dev/null >"$work/bg.out" 2>"$work/bg.err" &
    bg=$!
}

# wait_bg: waits for $bg to exit (bounded: 20 s, then SIGKILL and a failed
# check); sets bg_rc. stop_bg SIGNAL: sends SIGNAL first.
wait_bg() {
    local i
    for ((i = 0; i < 200; i++)); do
        kill -0 "$bg" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$bg" 2>/dev/null; then
        fail "smbcopy still runs 20 s later (killed)"
        kill -9 "$bg" 2>/dev/null || true
    fi
    set +e
    wait "$bg"
    # shellcheck disable=SC2034 # read by the scripts
    bg_rc=$?
    set -e
    bg=
}
stop_bg() {
    kill -s "$1" "$bg" 2>/dev/null || true
    wait_bg
}

# hold_start RECORD: freeze_proxy.py --hold between smbcopy and the server;
# it freezes (holds every byte, closes nothing) once smbcopy's resume record
# RECORD (a path, or a glob such as "$dir/.*.smbcopy.state") says some data is
# done. Sets purl: share1's URL through the proxy. hold_args: more options
# of freeze_proxy.py (--pass-breaks).
# A copy started on $purl is then stopped at a known point: it has recorded
# progress and cannot finish, however fast it runs. The proxy holds once;
# after hold_release it forwards as usual, so a --resume run can use the same
# $purl (the record names its source URL, port included).
hold_start() {
    [[ " ${exit_hooks[*]} " == *" stop_bg_children "* ]] || on_exit stop_bg_children
    hold_stop
    rm -f "$work/freeze" "$work/proxy.port"
    "$py" "$common_dir/freeze_proxy.py" --hold "${hold_args[@]}" --freeze-on-record "$1" \
        --port-file "$work/proxy.port" --freeze-file "$work/freeze" --timeout 170 \
        "$SMBW_TEST_HOST" "$SMBW_TEST_PORT" &
    proxy_pid=$!
    local i
    for ((i = 0; i < 300; i++)); do
        [[ -s "$work/proxy.port" ]] && break
        sleep 0.05
    done
    [[ -s "$work/proxy.port" ]] || {
        echo "FAIL: freeze_proxy.py did not start" >&2
        exit 1
    }
    # shellcheck disable=SC2034 # read by the scripts
    purl=smb://$SMBW_TEST_USER@127.0.0.1:$(cat "$work/proxy.port")/$SMBW_TEST_SHARE
}

# hold_wait: until the proxy froze with the copy $bg still running (bounded:
# 60 s); returns 1 otherwise.
hold_wait() {
    local i
    for ((i = 0; i < 600; i++)); do
        [[ -e "$work/freeze" ]] && break
        kill -0 "$bg" 2>/dev/null || return 1
        sleep 0.1
    done
    [[ -e "$work/freeze" ]] && kill -0 "$bg" 2>/dev/null
}

# via_proxy URL: URL with share1's URL through the proxy ($purl) in place of
# the direct one ($url); a local path unchanged.
via_proxy() {
    echo "${1/#"$url"/$purl}"
}

# hold_release: the proxy forwards what it held and everything after.
hold_release() {
    rm -f "$work/freeze"
}

# hold_stop: the proxy ends (its connections close).
hold_stop() {
    if [[ -n "$proxy_pid" ]]; then
        kill "$proxy_pid" 2>/dev/null || true
        wait "$proxy_pid" 2>/dev/null || true
        proxy_pid=
    fi
}

# held RECORD SRC DST [ARGS...]: smbcopy ARGS SRC DST in the background
# (start_bg) with its SMB traffic through the holding proxy (hold_start
# RECORD), until the proxy holds it, still running, with RECORD showing
# progress (a failed check otherwise). Sets psrc and pdst: SRC and DST through
# the proxy, for the --resume run that follows.
held() {
    local record=$1 src=$2 dst=$3
    shift 3
    hold_start "$record"
    psrc=$(via_proxy "$src")
    pdst=$(via_proxy "$dst")
    start_bg "$@" "$psrc" "$pdst"
    if hold_wait; then
        pass "$dst: held mid-copy with $(record_done "$(compgen -G "$record" | head -1)") bytes recorded"
    else
        fail "$dst: not held mid-copy: $(cat "$work/bg.err")"
    fi
}
