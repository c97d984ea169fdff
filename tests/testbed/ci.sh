#!/usr/bin/env bash
# The README's test command (and what .ci/run executes): install the
# dependencies, then, each from a fresh build directory:
#   1. build-ci     (gcc, debugoptimized, gcov): every test — unit, integration,
#                   security, copy, hostile, faults, fuzz-corpus replays — then
#                   the line coverage of lib/ (gcovr), which must not fall
#                   below the floor in tests/testbed/coverage-floor
#   1b. build-ci    the server-facing suites (samba, security, integration)
#                   again against Samba from bookworm-backports (SMBW_SAMBA=backports)
#   2. build-rel    (gcc, release, -Werror): build + unit tests;
#      build-dbg    (gcc, debug -O0, -Werror): build + unit tests
#   3. build-asan   (gcc, ASan+UBSan): every test again under the sanitizers
#   4. build-ci     valgrind memcheck setup: the unit suite
#   5. build-fuzz   (clang, libFuzzer+ASan+UBSan): each fuzzer for
#                   FUZZ_SECONDS (default 20) — any finding fails. The libFuzzer
#                   seed (FUZZ_SEED) is derived from the commit unless given, so
#                   each commit explores new ground; it is printed for replays.
# and end with one line "N passed, N failed" summing meson's test counts over
# every stage (the fuzz stage counts one test per target, the coverage floor
# one test). Skipped tests count as failed: a missing server or tool is a
# failure here, never a skip; so is a run that counted no test at all.
#
# SMBW_CI_STAGES (default "main backports release debug asan valgrind fuzz") selects
# stages; an unknown name is an error.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
all_stages="main backports release debug asan valgrind fuzz"
stages=${SMBW_CI_STAGES:-$all_stages}
jobs=${SMBW_TEST_JOBS:-2}
mult=${SMBW_TIMEOUT_MULTIPLIER:-1}
logs=()
extra_passed=0
extra_failed=0
notes=()

summary_fail() {
    echo "ci: $1" >&2
    echo "0 passed, 1 failed"
    exit 1
}

for st in $stages; do
    if [[ " $all_stages " != *" $st "* ]]; then
        summary_fail "unknown stage '$st' in SMBW_CI_STAGES (known: $all_stages)"
    fi
done
if [[ -z "${stages//[[:space:]]/}" ]]; then
    summary_fail "SMBW_CI_STAGES selects no stage (known: $all_stages)"
fi

has_stage() {
    [[ " $stages " == *" $1 "* ]]
}

# meson test in $1 with extra arguments; its log is counted at the end.
run_meson_tests() {
    local build=$1 name=$2
    shift 2
    echo "ci: === stage $name: meson test $* ==="
    set +e
    meson test -C "$build" --print-errorlogs --num-processes "$jobs" \
        --timeout-multiplier "$mult" --logbase "ci-$name" "$@"
    local rc=$?
    set -e
    # meson appends the setup's name to the log base (ci-asan-sanitize.json).
    local log
    log=$(find "$build/meson-logs" -maxdepth 1 -name "ci-$name*.json" | head -n 1)
    logs+=("${log:-$build/meson-logs/ci-$name.json}:$rc:$name")
}

fresh_build() {
    local dir=$1
    shift
    rm -rf "$dir"
    meson setup "$dir" "$@" || summary_fail "meson setup $dir failed"
    ninja -C "$dir" || summary_fail "build $dir failed"
}

start=$(date +%s)
bash tests/testbed/install-deps.sh || summary_fail "installing dependencies failed"

# The versions this run used: package versions move between machines.
echo "ci: versions:"
{
    echo "  $(openssl version 2>/dev/null || echo 'openssl: not found')"
    echo "  libssl-dev $(dpkg-query -W -f='${Version}' libssl-dev 2>/dev/null)," \
        "libssl3 $(dpkg-query -W -f='${Version}' libssl3 2>/dev/null)"
    echo "  samba $(dpkg-query -W -f='${Version}' samba 2>/dev/null)," \
        "libkrb5-dev $(dpkg-query -W -f='${Version}' libkrb5-dev 2>/dev/null)," \
        "check $(dpkg-query -W -f='${Version}' check 2>/dev/null)"
    echo "  $(gcc --version | head -n 1); $(clang --version | head -n 1)"
    echo "  meson $(meson --version), ninja $(ninja --version)"
} || true

if has_stage main || has_stage valgrind; then
    fresh_build build-ci -Db_coverage=true
fi
if has_stage main; then
    find build-ci -name '*.gcda' -delete
    run_meson_tests build-ci main
    # Line coverage of lib/ by everything the main stage ran; the floor is a
    # number in the repository that only goes up.
    floor=$(tr -d '[:space:]' <tests/testbed/coverage-floor)
    echo "ci: === stage main: line coverage of lib/ (floor ${floor} %) ==="
    set +e
    python3 tests/testbed/coverage.py build-ci "$floor"
    cov_rc=$?
    set -e
    # A note counts as one failed test in the summary below.
    if ((cov_rc == 0)); then
        extra_passed=$((extra_passed + 1))
    else
        notes+=("main: line coverage of lib/ below the floor of ${floor} % (or not measured)")
    fi
fi
if has_stage backports; then
    # The same server-facing suites against the second Samba version
    # (bookworm-backports, chrooted; built once and cached by samba-root.sh).
    bash tests/testbed/samba-root.sh ensure >/dev/null ||
        summary_fail "building the Samba backports root failed"
    echo "ci: backports Samba: $(bash tests/testbed/samba-root.sh version)"
    [[ -d build-ci ]] || fresh_build build-ci -Db_coverage=true
    SMBW_SAMBA=backports run_meson_tests build-ci backports --suite samba --suite security \
        --suite integration --no-suite impacket
fi
if has_stage release; then
    fresh_build build-rel --buildtype=release
    run_meson_tests build-rel release --suite unit
fi
if has_stage debug; then
    fresh_build build-dbg --buildtype=debug
    run_meson_tests build-dbg debug --suite unit
fi
if has_stage asan; then
    fresh_build build-asan -Db_sanitize=address,undefined -Db_lundef=false
    run_meson_tests build-asan asan --setup sanitize
fi
if has_stage valgrind; then
    # (the lint checks are shell scripts over our sources, not our programs:
    # valgrind would report the shell's own leaks)
    run_meson_tests build-ci valgrind --setup valgrind --suite unit --no-suite lint
fi
if has_stage fuzz; then
    # A seed per commit: every commit explores new ground, and the printed
    # seed replays a run (same seed, same FUZZ_SECONDS, same corpus).
    if [[ -z "${FUZZ_SEED:-}" ]]; then
        commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo 0)
        FUZZ_SEED=$(((16#${commit:0:7} % 2147483646) + 1))
    fi
    echo "ci: === stage fuzz: ${FUZZ_SECONDS:-20} s per target, seed $FUZZ_SEED ==="
    echo "ci: replay with: FUZZ_SEED=$FUZZ_SEED FUZZ_SECONDS=${FUZZ_SECONDS:-20}" \
        "bash tests/fuzz/run-fuzzers.sh"
    rm -rf build-fuzz
    set +e
    FUZZ_SEED=$FUZZ_SEED FUZZ_SECONDS=${FUZZ_SECONDS:-20} FUZZ_BUILD="$root/build-fuzz" \
        bash tests/fuzz/run-fuzzers.sh 2>&1 | tee build-fuzz.log
    fuzz_rc=${PIPESTATUS[0]}
    set -e
    n_ok=$(grep -c '^run-fuzzers: ok ' build-fuzz.log || true)
    n_bad=$(grep -c '^run-fuzzers: FAIL ' build-fuzz.log || true)
    if ((fuzz_rc != 0 && n_bad == 0)); then
        notes+=("fuzz stage exited with status $fuzz_rc") # counts as one failure
    fi
    extra_passed=$((extra_passed + n_ok))
    extra_failed=$((extra_failed + n_bad))
fi

python3 - "$extra_passed" "$extra_failed" "$(($(date +%s) - start))" "${logs[@]}" \
    "${notes[@]+"${notes[@]}"}" <<'PY'
import json, sys
passed, failed, secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
bad = []
for arg in sys.argv[4:]:
    if ":" not in arg or not arg.split(":")[0].endswith(".json"):
        bad.append(arg)
        failed += 1
        continue
    path, rc, name = arg.rsplit(":", 2)
    rc = int(rc)
    p = f = 0
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                t = json.loads(line)
                if t.get("result") in ("OK", "EXPECTEDFAIL"):
                    p += 1
                else:
                    f += 1
                    bad.append("%s: %s (%s)" % (name, t.get("name"), t.get("result")))
    except OSError as e:
        print("ci: no test log for stage %s: %s" % (name, e), file=sys.stderr)
    if p + f == 0:
        f = 1
        bad.append("%s: no tests ran" % name)
    if rc != 0 and f == 0:
        f = 1
        bad.append("%s: meson test exited with status %d" % (name, rc))
    print("ci: stage %s: %d passed, %d failed" % (name, p, f))
    passed += p
    failed += f
if passed + failed == 0:
    failed = 1
    bad.append("no test was counted at all")
for b in bad:
    print("ci: not passed: %s" % b)
print("ci: %d s in all" % secs)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
