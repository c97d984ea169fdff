#!/usr/bin/env bash
# smbcopy's security behaviour end to end (issue 4), against the private
# Samba (and KDC) described by SMBW_TEST_* / SMBW_KRB5_* (run through
# tests/testbed/with-server.sh or tests/security/with-kdc.sh):
#
#   smbcopy_security.sh MODE PATH/TO/smbcopy PATH/TO/tamper_proxy.py
#
#   default    an ordinary Samba: --sign works, --json reports signing,
#              encryption and cipher (default, --encrypt, --cipher), a
#              tampered signed or encrypted READ response fails the download
#              and leaves no destination, -vvv logs the protocol but never the
#              password
#   downlevel  a Samba limited to SMB 2.1 (SAMBA_MAX_PROTOCOL=SMB2_10):
#              --encrypt fails cleanly before any file is touched, --sign works
#   kerberos   with-kdc.sh: -k --service-host round trip, a clean failure
#              without a ticket, --kerberos-fallback only when asked
#
# Every check can fail; every wait is bounded (timeout(1), --timeout, the
# proxy's own lifetime).
set -euo pipefail

mode=${1:?usage: smbcopy_security.sh default|downlevel|kerberos SMBCOPY TAMPER_PROXY}
smbcopy=${2:?usage: smbcopy_security.sh MODE SMBCOPY TAMPER_PROXY}
proxy_py=${3:?usage: smbcopy_security.sh MODE SMBCOPY TAMPER_PROXY}
case $mode in
default | downlevel | kerberos) ;;
*)
    echo "FAIL: unknown mode $mode" >&2
    exit 1
    ;;
esac
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "$smbcopy"
[[ -f "$proxy_py" ]] || {
    echo "FAIL: $proxy_py not found" >&2
    exit 1
}
need=()
if [[ $mode == kerberos ]]; then
    need+=(KRB5CCNAME KRB5_CONFIG SMBW_KRB5_SERVICE_HOST)
fi
copy_init sec "${need[@]}"
proxy_pid=
# shellcheck disable=SC2317 # run by on_exit
stop_proxy() {
    if [[ -n "$proxy_pid" ]]; then
        kill "$proxy_pid" 2>/dev/null || true
        wait "$proxy_pid" 2>/dev/null || true
    fi
}
on_exit stop_proxy

hostport=$SMBW_TEST_HOST:$SMBW_TEST_PORT

# Runs smbcopy with a bounded lifetime; stdout/stderr to $work/NAME.{out,err};
# sets rc.
run() { # name args...
    local name=$1
    shift
    set +e
    timeout -k 5 120 "$smbcopy" --timeout=30 --no-progress "$@" \
        >"$work/$name.out" 2>"$work/$name.err" </dev/null
    rc=$?
    set -e
}

rc_ok() { # name what
    if ((rc == 0)); then
        pass "$2: exit 0"
    else
        fail "$2: exit $rc: $(tail -n 3 "$work/$1.err")"
    fi
}

# Checks the --json object of run NAME: KEY=VALUE pairs, VALUE in JSON.
json_is() { # name key=json-value...
    local name=$1
    shift
    if "$py" - "$work/$name.out" "$@" <<'PY'; then
import json, sys
text = open(sys.argv[1], encoding="utf-8").read().strip()
assert text, "no JSON on stdout"
obj = json.loads(text.splitlines()[-1])
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    assert k in obj, "missing %s in %s" % (k, obj)
    assert obj[k] == json.loads(v), "%s is %r, wanted %s (%s)" % (k, obj[k], v, obj)
print("  json:", {k: obj.get(k) for k in ("dialect", "signing", "encryption", "cipher", "ok")})
PY
        pass "$name: --json has $*"
    else
        fail "$name: --json: $(cat "$work/$name.out")"
    fi
}

# A failed run: exit status want_rc, exactly one stderr line, "smbcopy: ..."
# matching the extended regex pattern (case-insensitive).
one_clean_line() { # name want_rc pattern
    local name=$1 want=$2 pat=$3 lines
    lines=$(wc -l <"$work/$name.err")
    if ((rc == want)); then
        pass "$name: exit status $rc"
    else
        fail "$name: exit status $rc (wanted $want); stderr: $(cat "$work/$name.err")"
    fi
    if ((lines == 1)) && grep -qE '^smbcopy: ' "$work/$name.err" &&
        grep -qiE "$pat" "$work/$name.err"; then
        pass "$name: one line: $(cat "$work/$name.err")"
    else
        fail "$name: wanted one 'smbcopy:' line matching /$pat/, got: $(cat "$work/$name.err")"
    fi
}

no_local_dst() { # what dir name
    local left
    left=$(find "$2" -maxdepth 1 \( -name "$3" -o -name ".$3.smbcopy.*" \) -printf '%f ')
    if [[ -z "$left" ]]; then
        pass "$1: no destination file and no .part/.state in $2"
    else
        fail "$1: left behind in $2: $left"
    fi
}

# Starts tamper_proxy.py in front of the server with the given options;
# sets proxy_port and proxy_report.
start_proxy() { # args...
    local pdir
    pdir=$(mktemp -d "$work/proxy.XXXXXX")
    proxy_report=$pdir/report
    : >"$proxy_report"
    "$py" "$proxy_py" --target "$hostport" --port-file "$pdir/port" --report "$proxy_report" \
        --timeout 90 "$@" 2>"$pdir/proxy.err" &
    proxy_pid=$!
    local i
    for ((i = 0; i < 150; i++)); do
        if [[ -s "$pdir/port" ]]; then
            proxy_port=$(cat "$pdir/port")
            return 0
        fi
        kill -0 "$proxy_pid" 2>/dev/null || break
        sleep 0.1
    done
    fail "tamper_proxy.py did not listen within 15 s: $(cat "$pdir/proxy.err")"
    echo "$checks checks, $failures failed" >&2
    exit 1
}
# shellcheck disable=SC2317 # run by on_exit
stop_proxy() {
    local i
    # It exits by itself once the client has gone; bounded wait, then kill.
    for ((i = 0; i < 100; i++)); do
        kill -0 "$proxy_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$proxy_pid" 2>/dev/null || true
    wait "$proxy_pid" 2>/dev/null || true
    proxy_pid=
}

head -c $((1024 * 1024 + 777)) /dev/urandom >"$work/src.bin"

# ---------------------------------------------------------------------------
mode_default() {
    # --sign works against an ordinary Samba (signing offered by default).
    run sign-up --sign --json "$work/src.bin" "$url/signed.bin"
    rc_ok sign-up "--sign local->smb"
    same_file "--sign local->smb" "$work/src.bin" "$share/signed.bin"
    json_is sign-up 'ok=true' 'dialect="SMB3_11"' 'signing="AES-128-GMAC"' 'encryption=false' \
        'cipher="none"'

    # Default: 3.1.1, signed with AES-128-GMAC, not encrypted.
    run default-down --json "$url/signed.bin" "$work/default.bin"
    rc_ok default-down "default smb->local"
    same_file "default smb->local" "$work/src.bin" "$work/default.bin"
    json_is default-down 'ok=true' 'dialect="SMB3_11"' 'signing="AES-128-GMAC"' \
        'encryption=false' 'cipher="none"'

    # SMB 3.0 for contrast: AES-128-CMAC.
    run smb30 --json --max-protocol=SMB3_00 "$work/src.bin" "$url/smb30.bin"
    rc_ok smb30 "SMB3_00"
    json_is smb30 'dialect="SMB3_00"' 'signing="AES-128-CMAC"' 'encryption=false' 'cipher="none"'

    # --encrypt: encrypted, a cipher named.
    run enc --encrypt --json "$work/src.bin" "$url/enc.bin"
    rc_ok enc "--encrypt"
    same_file "--encrypt local->smb" "$work/src.bin" "$share/enc.bin"
    json_is enc 'ok=true' 'encryption=true' 'cipher="AES-128-GCM"'

    # --cipher=AES-256-GCM --encrypt: that cipher, both directions.
    run enc256 --cipher=AES-256-GCM --encrypt --json "$url/enc.bin" "$work/enc256.bin"
    rc_ok enc256 "--cipher=AES-256-GCM"
    same_file "--cipher=AES-256-GCM smb->local" "$work/src.bin" "$work/enc256.bin"
    json_is enc256 'encryption=true' 'cipher="AES-256-GCM"'
    run ccm --cipher=aes-128-ccm,AES-256-GCM --encrypt --json "$work/src.bin" "$url/ccm.bin"
    json_is ccm 'ok=true' 'encryption=true' 'cipher="AES-128-CCM"'

    # Two connections (one per host spelling): both reported, same values.
    run two --json "$url/enc.bin" \
        "smb://$SMBW_TEST_USER@localhost:$SMBW_TEST_PORT/$SMBW_TEST_SHARE/two.bin"
    rc_ok two "two connections"
    json_is two 'ok=true' 'method="stream"' 'signing="AES-128-GMAC"' 'encryption=false'

    # A bad --cipher is a usage error.
    run badcipher --cipher=AES-512-GCM "$work/src.bin" "$url/never.bin"
    one_clean_line badcipher 1 'AES-512-GCM'

    # Tampering proxy: a download whose Nth READ response is altered must
    # fail with one line and leave nothing behind. Small chunks, so data
    # has reached the .part file before the altered response arrives.
    local kind where
    for kind in signed encrypted; do
        for where in body signature; do
            local name=tamper-$kind-$where extra=() sel=()
            if [[ $kind == encrypted ]]; then
                extra=(--encrypt)
                sel=(--tamper-min-size 60000) # only READ responses are this big
            else
                extra=(--sign)
                sel=(--tamper-command READ)
            fi
            mkdir -p "$work/$name"
            start_proxy "${sel[@]}" --tamper-after-frames 3 --tamper-where "$where"
            run "$name" "${extra[@]}" --chunk-size=64K \
                "smb://$SMBW_TEST_USER@127.0.0.1:$proxy_port/$SMBW_TEST_SHARE/signed.bin" \
                "$work/$name/down.bin"
            stop_proxy
            if grep -q tampered "$proxy_report"; then
                pass "$name: the proxy altered a frame ($(head -n 1 "$proxy_report"))"
            else
                fail "$name: the proxy altered nothing"
            fi
            one_clean_line "$name" 6 'signature|decrypt'
            no_local_dst "$name" "$work/$name" down.bin
        done
    done

    # Control: the same download through a passive proxy works.
    mkdir -p "$work/passive"
    start_proxy
    run passive --sign --chunk-size=64K \
        "smb://$SMBW_TEST_USER@127.0.0.1:$proxy_port/$SMBW_TEST_SHARE/signed.bin" \
        "$work/passive/down.bin"
    stop_proxy
    rc_ok passive "passive proxy download"
    same_file "passive proxy download" "$work/src.bin" "$work/passive/down.bin"

    # With --resume the partial file is kept (not under the final name) and
    # a later --resume run without the attacker completes it.
    mkdir -p "$work/resume"
    start_proxy --tamper-command READ --tamper-after-frames 3
    run tamper-resume --resume --chunk-size=64K --depth=1 \
        "smb://$SMBW_TEST_USER@127.0.0.1:$proxy_port/$SMBW_TEST_SHARE/signed.bin" \
        "$work/resume/down.bin"
    stop_proxy
    one_clean_line tamper-resume 6 'signature'
    if [[ ! -e "$work/resume/down.bin" && -f "$work/resume/.down.bin.smbcopy.part" ]]; then
        pass "tamper --resume: .part kept, no final name"
    else
        fail "tamper --resume: wanted only .part: $(ls -A "$work/resume")"
    fi
    run resume-finish --resume "$url/signed.bin" "$work/resume/down.bin"
    rc_ok resume-finish "--resume after the attack"
    same_file "--resume after the attack" "$work/src.bin" "$work/resume/down.bin"

    # -vvv: protocol lines, never the password (from SMB_PASSWORD and -U).
    run verbose -vvv "$work/src.bin" "$url/verbose.bin"
    rc_ok verbose "-vvv"
    if grep -q '^smbcopy: \[trace\] .*SESSION_SETUP' "$work/verbose.err" &&
        grep -q '^smbcopy: \[info\] ' "$work/verbose.err"; then
        pass "-vvv logs SESSION_SETUP ($(wc -l <"$work/verbose.err") lines)"
    else
        fail "-vvv has no SESSION_SETUP trace line: $(head -n 5 "$work/verbose.err")"
    fi
    if grep -qF -- "$SMBW_TEST_PASS" "$work/verbose.err"; then
        fail "-vvv output contains the password"
    else
        pass "-vvv output does not contain the password"
    fi
    run verbose-u -vvv -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" "$url/verbose.bin" "$work/verbose.bin"
    if ((rc == 0)) && grep -q 'SESSION_SETUP' "$work/verbose-u.err" &&
        ! grep -qF -- "$SMBW_TEST_PASS" "$work/verbose-u.err"; then
        pass "-vvv -U USER%PASSWORD: logged, password absent"
    else
        fail "-vvv -U: exit $rc, password present or no SESSION_SETUP"
    fi
    # -v (info) has no trace lines; -q silences the log.
    run verbose1 -v "$work/src.bin" "$url/verbose1.bin"
    if ((rc == 0)) && grep -q '^smbcopy: \[info\] ' "$work/verbose1.err" &&
        ! grep -q '\[trace\]\|\[debug\]' "$work/verbose1.err"; then
        pass "-v logs info lines only"
    else
        fail "-v: exit $rc: $(head -n 5 "$work/verbose1.err")"
    fi
    run verboseq -vvv -q "$work/src.bin" "$url/verboseq.bin"
    if ((rc == 0)) && [[ ! -s "$work/verboseq.err" ]]; then
        pass "-vvv -q prints nothing"
    else
        fail "-vvv -q: exit $rc: $(head -n 5 "$work/verboseq.err")"
    fi
}

# ---------------------------------------------------------------------------
mode_downlevel() {
    local before after
    before=$(find "$share" -mindepth 1 | LC_ALL=C sort)
    # local -> smb: refused at login, nothing created on the share.
    run enc-up --encrypt --json "$work/src.bin" "$url/enc.bin"
    one_clean_line enc-up 6 'encrypt'
    after=$(find "$share" -mindepth 1 | LC_ALL=C sort)
    if [[ "$before" == "$after" ]]; then
        pass "--encrypt vs SMB 2.1: nothing created on the share"
    else
        fail "--encrypt vs SMB 2.1: the share changed: $after"
    fi
    json_is enc-up 'ok=false' 'exit_code=6'

    # smb -> local: refused before the local file is created.
    cp "$work/src.bin" "$share/plain.bin"
    mkdir -p "$work/down"
    run enc-down --encrypt "$url/plain.bin" "$work/down/plain.bin"
    one_clean_line enc-down 6 'encrypt'
    no_local_dst "--encrypt smb->local vs SMB 2.1" "$work/down" plain.bin

    # --sign works (HMAC-SHA256 on 2.1).
    run sign --sign --json "$work/src.bin" "$url/signed.bin"
    rc_ok sign "--sign vs SMB 2.1"
    same_file "--sign vs SMB 2.1" "$work/src.bin" "$share/signed.bin"
    json_is sign 'dialect="SMB2_10"' 'signing="HMAC-SHA256"' 'encryption=false' 'cipher="none"'
}

# ---------------------------------------------------------------------------
mode_kerberos() {
    local kurl=smb://$hostport/$SMBW_TEST_SHARE svc=$SMBW_KRB5_SERVICE_HOST
    local good_cc=$KRB5CCNAME nocc=FILE:$work/no-such-ccache

    # -k with the ticket from KRB5CCNAME, no password anywhere.
    SMB_PASSWORD='' run krb-up -k --service-host="$svc" --json "$work/src.bin" "$kurl/krb.bin"
    rc_ok krb-up "-k local->smb"
    same_file "-k local->smb" "$work/src.bin" "$share/krb.bin"
    json_is krb-up 'ok=true' 'dialect="SMB3_11"' 'signing="AES-128-GMAC"'
    SMB_PASSWORD='' run krb-down -k --service-host="$svc" --encrypt --json "$kurl/krb.bin" \
        "$work/krb.bin"
    rc_ok krb-down "-k --encrypt smb->local"
    same_file "-k round trip" "$work/src.bin" "$work/krb.bin"
    json_is krb-down 'ok=true' 'encryption=true'

    # An unknown service principal: a clean failure naming it.
    mkdir -p "$work/nospn"
    run krb-nospn -k --service-host=no-such-host.smbw.test "$kurl/krb.bin" "$work/nospn/x.bin"
    one_clean_line krb-nospn 4 'no-such-host\.smbw\.test'
    no_local_dst "-k unknown SPN" "$work/nospn" x.bin

    # No ticket: a clean failure mentioning Kerberos, even with a password
    # at hand (no silent downgrade), and nothing created.
    local before after
    before=$(find "$share" -mindepth 1 | LC_ALL=C sort)
    KRB5CCNAME=$nocc run krb-noticket -k --service-host="$svc" "$work/src.bin" "$kurl/nt.bin"
    one_clean_line krb-noticket 4 'kerberos'
    KRB5CCNAME=$nocc run krb-noticket-pw -k --service-host="$svc" -U "$SMBW_TEST_USER" \
        "$work/src.bin" "$kurl/nt.bin"
    one_clean_line krb-noticket-pw 4 'kerberos'
    after=$(find "$share" -mindepth 1 | LC_ALL=C sort)
    if [[ "$before" == "$after" ]]; then
        pass "-k without a ticket: nothing created on the share"
    else
        fail "-k without a ticket: the share changed: $after"
    fi

    # --kerberos-fallback with a password: NTLM, the copy succeeds.
    KRB5CCNAME=$nocc run krb-fallback -k --kerberos-fallback --service-host="$svc" \
        -U "$SMBW_TEST_USER" --json "$work/src.bin" "$kurl/fallback.bin"
    rc_ok krb-fallback "--kerberos-fallback"
    same_file "--kerberos-fallback" "$work/src.bin" "$share/fallback.bin"
    json_is krb-fallback 'ok=true' 'signing="AES-128-GMAC"'
    # ...but not with a wrong password.
    KRB5CCNAME=$nocc SMB_PASSWORD=wrong-password run krb-fallback-bad -k --kerberos-fallback \
        --service-host="$svc" -U "$SMBW_TEST_USER" "$work/src.bin" "$kurl/fallback2.bin"
    one_clean_line krb-fallback-bad 4 'log in'
    if [[ ! -e "$share/fallback2.bin" ]]; then
        pass "failed fallback left no file"
    else
        fail "failed fallback left $share/fallback2.bin"
    fi

    # The ticket cache was not needed by the failures above and still works.
    KRB5CCNAME=$good_cc SMB_PASSWORD='' run krb-again -k --service-host="$svc" "$kurl/krb.bin" \
        "$work/krb2.bin"
    same_file "-k again" "$work/src.bin" "$work/krb2.bin"
}

"mode_$mode"
echo "smbcopy_security $mode"
finish
