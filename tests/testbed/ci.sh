#!/usr/bin/env bash
# The README's test command (and what .ci/run executes): install the
# dependencies, build from scratch in build-ci/, run every test (unit and
# integration against private servers started by the tests themselves) and end
# with one line "N passed, N failed". Skipped tests count as failed: a missing
# server or tool is a failure here, never a skip.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
build="build-ci"

summary_fail() {
    echo "ci: $1" >&2
    echo "0 passed, 1 failed"
    exit 1
}

bash tests/testbed/install-deps.sh || summary_fail "installing dependencies failed"

rm -rf "$build" # always a fresh configuration
meson setup "$build" || summary_fail "meson setup failed"
ninja -C "$build" || summary_fail "build failed"

set +e
meson test -C "$build" --print-errorlogs --num-processes "${SMBW_TEST_JOBS:-2}" \
    --timeout-multiplier "${SMBW_TIMEOUT_MULTIPLIER:-1}"
test_rc=$?
set -e

python3 - "$build/meson-logs/testlog.json" "$test_rc" <<'PY'
import json, sys
path, rc = sys.argv[1], int(sys.argv[2])
passed = failed = 0
bad = []
try:
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            t = json.loads(line)
            if t.get("result") in ("OK", "EXPECTEDFAIL"):
                passed += 1
            else:
                failed += 1
                bad.append("%s (%s)" % (t.get("name"), t.get("result")))
except OSError as e:
    print("ci: no test log: %s" % e, file=sys.stderr)
if passed + failed == 0:
    failed = 1  # no tests ran at all: that is a failure
    bad.append("no tests ran")
if rc != 0 and not bad:
    failed += 1  # meson failed for a reason the log does not show
    bad.append("meson test exited with status %d" % rc)
for b in bad:
    print("ci: not passed: %s" % b)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
