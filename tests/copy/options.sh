#!/usr/bin/env bash
# smbcopy options end to end (run through with-server.sh samba with
# SAMBA_MAX_PROTOCOL=SMB3_02, so a client floor above it cannot be met):
#  - --min-protocol / --max-protocol: the dialect used is inside the range;
#    a floor the server cannot meet fails with exit 6 and creates nothing;
#  - --progress: drawn on stderr when it is a terminal (a pty from script(1))
#    by default and with --progress, never with --no-progress or -q, and not
#    by default when stderr is not a terminal;
#  - -r --resume skips files whose destination already matches (skipped in
#    --json, 0 bytes) and copies the one that changed;
#  - -k against a server without Kerberos fails (exit 4) unless
#    --kerberos-fallback, which logs in with NTLM;
#  - modification and access times (local->smb), attributes and creation
#    time (smb->smb) are preserved by default and not with --no-preserve.
#
#   options.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init options SMBW_TEST_SERVER_MAX_PROTOCOL
[[ "$SMBW_TEST_SERVER_MAX_PROTOCOL" == SMB3_02 ]] || {
    echo "FAIL: run with SAMBA_MAX_PROTOCOL=SMB3_02 (got $SMBW_TEST_SERVER_MAX_PROTOCOL)" >&2
    exit 1
}
command -v script >/dev/null || {
    echo "FAIL: script(1) not found (util-linux)" >&2
    exit 1
}

make_random "$work/src.bin" $((3 << 20))

# --- dialect range ----------------------------------------------------------
# dialect_case WHAT WANT_DIALECT OPTIONS...
dialect_case() {
    local what=$1 want=$2 d
    shift 2
    rm -f "$share/proto.bin"
    run_json "$@" "$work/src.bin" "$url/proto.bin"
    d=$(json_get "$work/last.json" dialect)
    if ((rc == 0)) && [[ "$d" == "$want" ]]; then
        pass "$what: dialect $d"
    else
        fail "$what: exit $rc, dialect '$d' (want $want): $(cat "$work/last.err")"
    fi
    same_file "$what" "$work/src.bin" "$share/proto.bin"
}
dialect_case "no range" SMB3_02
dialect_case "--max-protocol=SMB2_10" SMB2_10 --max-protocol=SMB2_10
dialect_case "--min-protocol=SMB3_00" SMB3_02 --min-protocol=SMB3_00
dialect_case "--min-protocol=SMB2_02 --max-protocol=SMB2_02" SMB2_02 \
    --min-protocol=SMB2_02 --max-protocol=SMB2_02

rm -f "$share/floor.bin"
run_json --min-protocol=SMB3_11 "$work/src.bin" "$url/floor.bin"
if ((rc == 6)) && [[ "$(wc -l <"$work/last.err")" -eq 1 ]] &&
    grep -q '^smbcopy: ' "$work/last.err"; then
    pass "--min-protocol=SMB3_11 against a 3.0.2 server: exit 6: $(cat "$work/last.err")"
else
    fail "--min-protocol=SMB3_11 against a 3.0.2 server: exit $rc: $(cat "$work/last.err")"
fi
if [[ -e "$share/floor.bin" || -n "$(leftovers "$share")" ]]; then
    fail "--min-protocol=SMB3_11: something was created: $(ls -a "$share")"
else
    pass "--min-protocol=SMB3_11: nothing created"
fi

# --- progress ---------------------------------------------------------------
# on_tty OUTFILE SMBCOPY-ARGS...: runs smbcopy with stdin/stdout/stderr on a
# pty (script -q -e: the command's exit status; -c: the command).
on_tty() {
    local out=$1 cmd q
    shift
    cmd=$(printf '%q ' "$smbcopy" "$@")
    set +e
    SMB_PASSWORD=$SMBW_TEST_PASS timeout 120 script -qec "$cmd" /dev/null >"$out" 2>&1 </dev/null
    rc=$?
    set -e
}
# progress_case WHAT WANT(yes|no) tty|notty ARGS...
progress_case() {
    local what=$1 want=$2 mode=$3 out=$work/progress.out drawn=no
    shift 3
    rm -f "$share/prog.bin"
    if [[ "$mode" == tty ]]; then
        on_tty "$out" "$@" "$work/src.bin" "$url/prog.bin"
    else
        set +e
        "$smbcopy" "$@" "$work/src.bin" "$url/prog.bin" >"$out" 2>&1 </dev/null
        rc=$?
        set -e
    fi
    # The bar: "[####----] NN% done/total rate/s ETA ..."
    if grep -aq '%.*ETA' "$out"; then
        drawn=yes
    fi
    if ((rc == 0)) && [[ "$drawn" == "$want" ]]; then
        pass "$what: progress drawn: $drawn"
    else
        fail "$what: exit $rc, progress drawn: $drawn (want $want): $(head -c 600 "$out" | cat -v)"
    fi
    same_file "$what" "$work/src.bin" "$share/prog.bin"
}
progress_case "terminal, default" yes tty
progress_case "terminal, --progress" yes tty --progress
progress_case "terminal, --no-progress" no tty --no-progress
progress_case "terminal, -q" no tty -q
progress_case "no terminal, default" no notty
progress_case "no terminal, --progress" yes notty --progress

# --- -r --resume skips files that are already there --------------------------
mkdir -p "$work/tree/sub"
for i in 1 2 3; do
    make_random "$work/tree/f$i.bin" $((i * 70000))
    make_random "$work/tree/sub/g$i.bin" $((i * 50000))
done
rm -rf "${share:?}/tree"
run_json -r "$work/tree" "$url/"
if ((rc == 0)) && [[ "$(json_get "$work/last.json" files)" == 6 ]]; then
    pass "-r: 6 files copied"
else
    fail "-r: exit $rc: $(cat "$work/last.json") $(cat "$work/last.err")"
fi
run_json -r --resume "$work/tree" "$url/"
if ((rc == 0)) && [[ "$(json_get "$work/last.json" skipped)" == 6 &&
    "$(json_get "$work/last.json" bytes)" == 0 ]]; then
    pass "-r --resume again: all 6 skipped, 0 bytes"
else
    fail "-r --resume again: exit $rc: $(cat "$work/last.json") $(cat "$work/last.err")"
fi
make_random "$work/tree/sub/g2.bin" 100001 # another size and time
touch -d '2003-04-05 06:07:08' "$work/tree/sub/g2.bin"
run_json -r --resume "$work/tree" "$url/"
if ((rc == 0)) && [[ "$(json_get "$work/last.json" skipped)" == 5 &&
    "$(json_get "$work/last.json" bytes)" == 100001 ]]; then
    pass "-r --resume after one change: 5 skipped, the changed file copied"
else
    fail "-r --resume after one change: exit $rc: $(cat "$work/last.json") $(cat "$work/last.err")"
fi
if diff -r "$work/tree" "$share/tree" >"$work/diff.out" 2>&1; then
    pass "-r --resume: the trees are identical"
else
    fail "-r --resume: trees differ: $(head -c 600 "$work/diff.out")"
fi

# --- --kerberos-fallback: this Samba offers no Kerberos ------------------------
export KRB5CCNAME=FILE:$work/no-such-ccache KRB5_CONFIG=/dev/null
rm -f "$share/krb.bin"
run_json -k "$work/src.bin" "$url/krb.bin"
if ((rc == 4)) && [[ ! -e "$share/krb.bin" ]]; then
    pass "-k without a Kerberos server: exit 4, nothing created: $(cat "$work/last.err")"
else
    fail "-k without a Kerberos server: exit $rc: $(cat "$work/last.err")"
fi
run_json -k --kerberos-fallback "$work/src.bin" "$url/krb.bin"
if ((rc == 0)); then
    pass "-k --kerberos-fallback: NTLM login, exit 0"
else
    fail "-k --kerberos-fallback: exit $rc: $(cat "$work/last.err")"
fi
same_file "-k --kerberos-fallback" "$work/src.bin" "$share/krb.bin"
unset KRB5CCNAME KRB5_CONFIG

# --- times and attributes: preserved by default, not with --no-preserve -----
# allinfo NAME FIELD: a line of smbclient's allinfo for share1/NAME.
allinfo() {
    smbclient "//127.0.0.1/$SMBW_TEST_SHARE" -p "$SMBW_TEST_PORT" \
        -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" -c "allinfo \"$1\"" 2>/dev/null |
        sed -n "s/^$2:[[:space:]]*//p"
}
make_random "$work/times.bin" 90000
touch -m -d '2002-03-04 05:06:07' "$work/times.bin"
touch -a -d '2004-05-06 07:08:09' "$work/times.bin"
want_m=$(stat -c %Y "$work/times.bin")
want_a=$(stat -c %X "$work/times.bin")
rm -f "$share/times-p.bin" "$share/times-np.bin"
"$smbcopy" -q "$work/times.bin" "$url/times-p.bin" </dev/null &&
    "$smbcopy" -q --no-preserve "$work/times.bin" "$url/times-np.bin" </dev/null ||
    fail "local->smb copies for the time checks failed"
if [[ "$(stat -c %Y "$share/times-p.bin")" == "$want_m" &&
    "$(stat -c %X "$share/times-p.bin")" == "$want_a" ]]; then
    pass "local->smb: modification and access times preserved"
else
    fail "local->smb: times $(stat -c '%Y %X' "$share/times-p.bin"), want $want_m $want_a"
fi
if [[ "$(stat -c %Y "$share/times-np.bin")" != "$want_m" &&
    "$(stat -c %X "$share/times-np.bin")" != "$want_a" ]]; then
    pass "local->smb --no-preserve: neither time copied"
else
    fail "local->smb --no-preserve: times $(stat -c '%Y %X' "$share/times-np.bin") copied"
fi
# smb->smb: the hidden attribute and the creation time go along by default.
smbclient "//127.0.0.1/$SMBW_TEST_SHARE" -p "$SMBW_TEST_PORT" \
    -U "$SMBW_TEST_USER%$SMBW_TEST_PASS" -c "setmode times-p.bin +h" >/dev/null 2>&1 ||
    fail "smbclient setmode failed"
src_attr=$(allinfo times-p.bin attributes)
src_ctime=$(allinfo times-p.bin create_time)
sleep 1 # a new file's creation time must differ from the source's
"$smbcopy" -q "$url/times-p.bin" "$url/times-ss.bin" </dev/null &&
    "$smbcopy" -q --no-preserve "$url/times-p.bin" "$url/times-ssnp.bin" </dev/null ||
    fail "smb->smb copies for the attribute checks failed"
if [[ "$src_attr" == *H* && "$(allinfo times-ss.bin attributes)" == "$src_attr" &&
    -n "$src_ctime" && "$(allinfo times-ss.bin create_time)" == "$src_ctime" ]]; then
    pass "smb->smb: attributes ($src_attr) and creation time preserved"
else
    fail "smb->smb: attributes '$(allinfo times-ss.bin attributes)' (source '$src_attr')," \
        "creation '$(allinfo times-ss.bin create_time)' (source '$src_ctime')"
fi
if [[ "$(allinfo times-ssnp.bin attributes)" != *H* &&
    "$(allinfo times-ssnp.bin create_time)" != "$src_ctime" ]]; then
    pass "smb->smb --no-preserve: neither the attribute nor the creation time copied"
else
    fail "smb->smb --no-preserve: attributes '$(allinfo times-ssnp.bin attributes)'," \
        "creation '$(allinfo times-ssnp.bin create_time)'"
fi

finish
