#!/usr/bin/env bash
# --guest and --anonymous (run through with-server.sh samba with share1
# "guest ok = yes", unknown users mapped to guest, the guest account the
# test user):
#  - --guest: upload, download and server-side copy, identical, the
#    warning that nothing is signed or encrypted said once per run, --json
#    signing "none"; --anonymous on a share closed to anonymous users: the
#    share's refusal (exit 5);
#  - a user login that the server turns into a guest session is still
#    refused (exit 4, "logged the user in as guest");
#  - --guest or --anonymous with -U, -A, -k, --sign, --encrypt, each other,
#    or a user in the URL: usage errors (exit 1);
#  - against fakesmb.py (guest sessions only): a server-side copy (copychunk,
#    the whole file); copychunk answers that never make progress: streamed
#    instead (--method=auto), said (forced copychunk); a login that never ends said as a guest login;
#    dir-name-unpaired-surrogate: a
#    tree whose listing holds a name that is not valid UTF-16: that file
#    reported ("not valid UTF-16"), counted failed (exit 7), the rest of the
#    tree copied identical, nothing written under the U+FFFD name.
#
#   guest.sh PATH/TO/smbcopy PATH/TO/fakesmb.py
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
fakesmb=${2:?usage: $0 PATH/TO/smbcopy PATH/TO/fakesmb.py}
copy_init guest
unset SMB_PASSWORD
gurl=smb://$SMBW_TEST_HOST:$SMBW_TEST_PORT/$SMBW_TEST_SHARE

warned() { # the warning of the last run_json_v, once
    [[ "$(grep -c "^smbcopy: warning: $1 session with .*: nothing is signed or encrypted$" "$work/last.err")" == 1 ]]
}

make_random "$work/g.bin" $((3 << 20))
run_json_v --guest "$work/g.bin" "$gurl/g.bin"
if ((rc == 0)) && warned guest && [[ "$(json_get "$work/last.json" signing)" == none ]]; then
    pass "--guest upload: exit 0, the warning once, signing none"
else
    fail "--guest upload: exit $rc, signing $(json_get "$work/last.json" signing): $(grep -v '\] ' "$work/last.err" | head -3)"
fi
same_file "--guest upload" "$work/g.bin" "$share/g.bin"
run_json_v --guest "$gurl/g.bin" "$work/g2.bin"
if ((rc != 0)) || ! warned guest; then
    fail "--guest download: exit $rc: $(grep -v '\] ' "$work/last.err" | head -3)"
fi
same_file "--guest download" "$work/g.bin" "$work/g2.bin"
run_json_v --guest "$gurl/g.bin" "$gurl/g3.bin"
if ((rc == 0)) && [[ "$(json_get "$work/last.json" method)" == copychunk ]]; then
    pass "--guest server-side: exit 0, copychunk"
else
    fail "--guest server-side: exit $rc, method $(json_get "$work/last.json" method)"
fi
same_file "--guest server-side" "$work/g.bin" "$share/g3.bin"
run_json_v --anonymous "$gurl/g.bin" "$work/g4.bin"
if ((rc == 5)) && warned anonymous && grep -q "STATUS_ACCESS_DENIED" "$work/last.err" && [[ ! -e "$work/g4.bin" ]]; then
    pass "--anonymous on a share closed to anonymous users: refused by the share (exit 5)"
else
    fail "--anonymous: exit $rc: $(grep -v '\] ' "$work/last.err" | head -3)"
fi

# A user login the server answers with a guest session: refused.
SMB_PASSWORD=wrong run_json_v -U nosuchuser "$gurl/g.bin" "$work/g5.bin"
if ((rc == 4)) && grep -q "logged the user in as guest" "$work/last.err" && [[ ! -e "$work/g5.bin" ]]; then
    pass "a user login turned guest by the server: refused (exit 4)"
else
    fail "a user login turned guest: exit $rc: $(grep -v '\] ' "$work/last.err" | head -3)"
fi

# Usage errors.
echo "username = u" >"$work/auth"
chmod 600 "$work/auth"
for args in "--guest -U u" "--guest -A $work/auth" "--guest -k" "--guest --sign" \
    "--anonymous --encrypt" "--guest --anonymous"; do
    # shellcheck disable=SC2086 # the words of args are options
    run_json_v $args "$gurl/g.bin" "$work/g6.bin"
    if ((rc == 1)) && grep -q "do not go together" "$work/last.err"; then
        pass "$args: usage error (exit 1)"
    else
        fail "$args: exit $rc: $(head -2 "$work/last.err")"
    fi
done
run_json_v --guest "smb://someone@$SMBW_TEST_HOST:$SMBW_TEST_PORT/$SMBW_TEST_SHARE/g.bin" "$work/g6.bin"
if ((rc == 1)) && grep -q "names a user" "$work/last.err" && [[ ! -e "$work/g6.bin" ]]; then
    pass "--guest with a user in the URL: usage error (exit 1)"
else
    fail "--guest with a user in the URL: exit $rc: $(head -2 "$work/last.err")"
fi

# fakesmb.py (guest sessions only): start_fake SCENARIO sets fport.
fake_pid=
stop_fake() {
    [[ -z "$fake_pid" ]] || kill "$fake_pid" 2>/dev/null || true
    fake_pid=
}
on_exit stop_fake
start_fake() {
    stop_fake
    rm -f "$work/fake.port"
    "$py" "$fakesmb" --port-file "$work/fake.port" --timeout 60 "$1" >"$work/fake.log" 2>&1 &
    fake_pid=$!
    for ((i = 0; i < 100; i++)); do
        [[ -s "$work/fake.port" ]] && break
        sleep 0.05
    done
    fport=$(cat "$work/fake.port")
}
"$py" -c 'import sys; sys.stdout.buffer.write(bytes(((i * 7 + 3 + (i >> 8)) & 0xFF) for i in range(65536)))' >"$work/src.expected"

# A server-side copy on the fake server (its resume key asked for in the
# compound of the source's CREATE; the fake serves one connection, so the
# copy is judged by what smbcopy and the fake say, the fake checking the
# client's requests).
start_fake normal
run_json_v --guest "smb://127.0.0.1:$fport/share/src.bin" "smb://127.0.0.1:$fport/share/dst.bin"
m=$(json_get "$work/last.json" method)
b=$(json_get "$work/last.json" bytes)
set +e
wait "$fake_pid"
frc=$?
set -e
fake_pid=
if ((rc == 0 && frc == 0)) && [[ "$m" == copychunk && "$b" == 65536 ]]; then
    pass "fakesmb: server-side copy: exit 0, copychunk, 65536 bytes, no rule broken by the client"
else
    fail "fakesmb: server-side copy: exit $rc, method '$m', bytes '$b', fake exit $frc: $(grep -v '\] ' "$work/last.err" | head -3)"
fi

# A server whose copychunk answers keep saying 0 bytes written: --method=auto
# streams the file instead (before: "network I/O error", exit 3); a forced
# --method=copychunk says so (exit 5).
start_fake copychunk-no-progress
run_json_v --guest "smb://127.0.0.1:$fport/share/src.bin" "smb://127.0.0.1:$fport/share/dst.bin"
if ((rc == 0)) && [[ "$(json_get "$work/last.json" method)" == stream &&
    "$(json_get "$work/last.json" bytes)" == 65536 ]]; then
    pass "fakesmb: copychunk that makes no progress: streamed instead (exit 0)"
else
    fail "fakesmb: copychunk without progress: exit $rc, method $(json_get "$work/last.json" method): $(grep -v '\] ' "$work/last.err" | head -3)"
fi
start_fake copychunk-no-progress
run_json_v --guest --method=copychunk "smb://127.0.0.1:$fport/share/src.bin" "smb://127.0.0.1:$fport/share/dst.bin"
if ((rc == 5)) && grep -q "copychunk is not available: server-side copy makes no progress" "$work/last.err"; then
    pass "fakesmb: copychunk that makes no progress, forced: said so (exit 5)"
else
    fail "fakesmb: copychunk without progress, forced: exit $rc: $(grep -v '\] ' "$work/last.err" | head -3)"
fi

# A login that never ends is said as a guest login.
start_fake ss-pending-forever
run_json_v --guest --timeout 1 "smb://127.0.0.1:$fport/share/src.bin" "$work/never.bin"
if ((rc == 3)) && grep -q "^smbcopy: log in to smb://127.0.0.1:$fport as guest: timed out" "$work/last.err"; then
    pass "fakesmb: a login that never ends: 'log in to ... as guest: timed out' (exit 3)"
else
    fail "fakesmb: login never ends: exit $rc: $(grep -v '\] ' "$work/last.err" | head -3)"
fi

# A listing with a name that is not valid UTF-16.
start_fake dir-name-unpaired-surrogate
mkdir "$work/fk" # the share's root is copied into it, as fk/share
run_json_v -r --guest "smb://127.0.0.1:$fport/share/" "$work/fk/"
printf 'hello from fakesmb\n' >"$work/small.expected"
if ((rc == 7)) && [[ "$(json_get "$work/last.json" failed)" == 1 ]] &&
    grep -q "^smbcopy: copy smb://.*/share/bad.*\.txt: its name on the server is not valid UTF-16 (shown with U+FFFD), so no request can name it; not copied$" "$work/last.err" &&
    cmp -s "$work/src.expected" "$work/fk/share/src.bin" &&
    cmp -s "$work/small.expected" "$work/fk/share/small.txt" &&
    [[ -d "$work/fk/share/sub" && -z "$(find "$work/fk" -name 'bad*')" ]]; then
    pass "a name not valid UTF-16 in a listing: reported, failed 1, exit 7, the rest copied identical"
else
    fail "a name not valid UTF-16: exit $rc, failed $(json_get "$work/last.json" failed), got $(find "$work/fk" | tr '\n' ' '): $(grep -v '\] ' "$work/last.err" | head -3)"
fi

finish
