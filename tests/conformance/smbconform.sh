#!/usr/bin/env bash
# smbconform against the testbed Samba (run through tests/testbed/with-server.sh):
#
#   smbconform.sh SMBCONFORM EXPECTED_TABLE
#
# 1. The whole catalogue with --json and --junit: exit 0, a JSON report whose
#    cases are exactly --list's, summary counts that add up, a JUnit file
#    with one testcase per case, no scratch directory left on the share, and
#    every case's result equal to the expected table's row for this Samba
#    version (tests/conformance/smbconform-samba.expected).
# 2. The runner's contract: --strict exits 1 on a failing case and 0 on a
#    passing one; a case cut off by --timeout (or hanging: the test hook
#    SMBCONFORM_TEST_HANG) is an error, spoils no other case and leaves no
#    litter; bad options and --only matching nothing exit 2; a server that
#    cannot be reached exits 3.
set -euo pipefail

bin=$1
table=$2
: "${SMBW_TEST_HOST:?run through with-server.sh}" "${SMBW_TEST_SHARE:?}"
# The expected table's rows are chosen by this version: Samba's ("4.17.12"),
# or the server's kind for others ("impacket").
# SMBCONFORM_TAGS adds words a row may name instead ("btrfs": the share is
# btrfs with vfs_btrfs, tests/conformance/smbconform-btrfs.sh;
# "encrypt-session", "encrypt-share": the server requires encryption).
# SMBCONFORM_ONLY (globs separated by spaces) runs only the cases they match
# (--only): the table's other rows are not checked then.
version=${SMBW_TEST_SAMBA_VERSION:-${SMBW_TEST_SERVER:?testbed/samba.sh or impacket.sh exports it}}
version="$version${SMBCONFORM_TAGS:+ $SMBCONFORM_TAGS}"
url="smb://$SMBW_TEST_HOST:$SMBW_TEST_PORT/$SMBW_TEST_SHARE"
export SMB_PASSWORD=$SMBW_TEST_PASS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
bad() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}
no_litter() {
    local left
    left=$(find "$SMBW_TEST_SHARE_PATH" ${SMBW_TEST_SHARE2_PATH:+"$SMBW_TEST_SHARE2_PATH"} \
        -mindepth 1 -maxdepth 1 \
        -name 'smbconform-*' | head -5)
    [[ -z "$left" ]] || bad "$1: scratch left on the share: $left"
}

# ---- 1. the catalogue against the expected table -------------------------
only=()
read -r -a globs <<<"${SMBCONFORM_ONLY:-}"
for g in "${globs[@]}"; do
    only+=(--only="$g")
done
"$bin" --list "${only[@]}" >"$tmp/list"
rc=0
other=()
[[ -z "${SMBW_TEST_SHARE2:-}" ]] || other=(--other-share="$SMBW_TEST_SHARE2")
"$bin" -U "$SMBW_TEST_USER" "${other[@]}" "${only[@]}" --json --junit="$tmp/junit.xml" \
    "$url" >"$tmp/out.json" \
    2>"$tmp/err" || rc=$?
cat "$tmp/err" >&2
((rc == 0)) || bad "smbconform exited $rc (expected 0: the run completed)"
no_litter "full run"
python3 - "$tmp/out.json" "$tmp/list" "$tmp/junit.xml" "$table" "$version" "${#only[@]}" <<'EOF' || fails=$((fails + 1))
import json, sys, xml.etree.ElementTree as ET
out, listf, junit, table, version, nonly = sys.argv[1:]
problems = []
try:
    rep = json.load(open(out))
except Exception as e:
    print(f"FAIL: the --json report does not parse: {e}", file=sys.stderr)
    sys.exit(1)
listed = [l.split("\t")[0] for l in open(listf).read().splitlines() if l]
names = [c["name"] for c in rep["cases"]]
if names != listed:
    problems.append(f"cases in the report {names} differ from --list {listed}")
for c in rep["cases"]:
    for k in ("name", "spec", "result", "expected", "got", "seconds"):
        if k not in c:
            problems.append(f"{c.get('name')}: no '{k}' in the report")
    if c["result"] == "fail" and not (c["expected"] and c["got"]):
        problems.append(f"{c['name']}: a failure without expected/got")
    if c["result"] in ("skip", "error") and not c.get("reason"):
        problems.append(f"{c['name']}: {c['result']} without a reason")
s = rep["summary"]
counts = {r: sum(1 for c in rep["cases"] if c["result"] == r) for r in ("pass", "fail", "skip", "error")}
if s["total"] != len(names) or any(s[r] != counts[r] for r in counts):
    problems.append(f"summary {s} does not match the cases {counts}")
for k in ("dialect", "capabilities", "security_mode", "max_read"):
    if k not in rep["server"]:
        problems.append(f"no server.{k}")
j = ET.parse(junit).getroot()
if len(j.findall("testcase")) != len(names) or int(j.get("failures")) != counts["fail"]:
    problems.append("the JUnit file does not match the report")
# The expected table: first row whose version prefix matches.
rows = {}
known = set()
for line in open(table):
    line = line.split("#", 1)[0].split()
    if not line:
        continue
    name, result = line[0], line[1]
    ver = line[2] if len(line) > 2 else ""
    known.add(name)
    words = version.split()
    if name not in rows and all(any(w.startswith(v) for w in words) for v in ver.split("+")):
        rows[name] = result
got = {c["name"]: c for c in rep["cases"]}
for name, c in got.items():
    want = rows.get(name)
    if want is None:
        problems.append(f"{name}: no row in {table} (result {c['result']})")
    elif c["result"] != want:
        problems.append(f"{name}: {c['result']}, the table expects {want} for {version}"
                        f" (expected: {c['expected']}; got: {c['got']}; {c.get('reason')})")
for name in sorted(known - set(got)) if nonly == "0" else []:
    problems.append(f"{name}: in {table} but not run")
for p in problems:
    print("FAIL:", p, file=sys.stderr)
print(f"smbconform against {version}: {counts}", file=sys.stderr)
sys.exit(1 if problems else 0)
EOF

# ---- 2. the runner's contract (against Samba, whose findings it uses) -----
if [[ -z "${SMBW_TEST_SAMBA_VERSION:-}" || -n "${SMBCONFORM_TAGS:-}" ]]; then
    if ((fails > 0)); then
        echo "smbconform.sh: $fails check(s) failed" >&2
        exit 1
    fi
    echo "smbconform.sh: all checks passed"
    exit 0
fi
run() { "$bin" -U "$SMBW_TEST_USER" "$@" "$url" >"$tmp/o" 2>"$tmp/e"; }
rc=0
run --strict --only=resume_key_max_output_zero --only=copychunk_unknown_key || rc=$?
((rc == 1)) || bad "--strict with a failing case exited $rc, expected 1"
rc=0
run --strict --only='copychunk_unknown_*' || rc=$?
((rc == 0)) || bad "--strict with passing cases exited $rc, expected 0"
rc=0
run --json --timeout=0.001 --only=copychunk_max_total_accepted --only=copychunk_unknown_key || rc=$?
((rc == 0)) || bad "a run with cases cut off exited $rc, expected 0"
python3 - "$tmp/o" <<'EOF' || fails=$((fails + 1))
import json, sys
rep = json.load(open(sys.argv[1]))
# Either the case's own 1 ms waits or the runner's limit ends it: an error.
bad = [c for c in rep["cases"] if c["result"] != "error" or not c["reason"]]
if len(rep["cases"]) != 2 or bad:
    print("FAIL: --timeout=0.001 should end both cases as error:", rep["cases"], file=sys.stderr)
    sys.exit(1)
EOF
no_litter "cases cut off by --timeout"
# A case that hangs (the test hook SMBCONFORM_TEST_HANG stops it after its
# scratch directory was made) ends at its time limit as error; the next case
# is unaffected and nothing is left on the share.
rc=0
SMBCONFORM_TEST_HANG=copychunk_unknown_key run --json --timeout=3 \
    --only=copychunk_unknown_key --only=copychunk_key_of_closed_open || rc=$?
((rc == 0)) || bad "a run with a hanging case exited $rc, expected 0"
python3 - "$tmp/o" <<'EOF' || fails=$((fails + 1))
import json, sys
c = json.load(open(sys.argv[1]))["cases"]
ok = (len(c) == 2 and c[0]["result"] == "error" and "time limit" in (c[0]["reason"] or "")
      and 2.5 < c[0]["seconds"] < 20 and c[1]["result"] == "pass")
if not ok:
    print("FAIL: a hanging case should end as error at its 3 s limit, the next pass:", c, file=sys.stderr)
    sys.exit(1)
EOF
no_litter "a hanging case"
rc=0
"$bin" --no-such-option "$url" >/dev/null 2>&1 || rc=$?
((rc == 2)) || bad "an unknown option exited $rc, expected 2"
rc=0
"$bin" --only='nothing_matches_*' "$url" >/dev/null 2>&1 || rc=$?
((rc == 2)) || bad "--only matching nothing exited $rc, expected 2"
rc=0
"$bin" -U "$SMBW_TEST_USER" --timeout=5 "smb://127.0.0.1:1/$SMBW_TEST_SHARE" >/dev/null 2>&1 || rc=$?
((rc == 3)) || bad "an unreachable server exited $rc, expected 3"
rc=0
SMB_PASSWORD=wrong-password "$bin" -U "$SMBW_TEST_USER" "$url" >/dev/null 2>&1 || rc=$?
((rc == 3)) || bad "a failed login exited $rc, expected 3"

if ((fails > 0)); then
    echo "smbconform.sh: $fails check(s) failed" >&2
    exit 1
fi
echo "smbconform.sh: all checks passed"
