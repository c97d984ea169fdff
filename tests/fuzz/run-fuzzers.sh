#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time.
#
#   run-fuzzers.sh [TARGET...]        (default: every target)
#
# Environment:
#   FUZZ_SECONDS   seconds per target (default 30)
#   FUZZ_BUILD     build directory (default build-fuzz in the source tree)
#   FUZZ_SEED      libFuzzer seed (default 1; 0 = random)
#
# Each target starts from a copy of its committed corpus (tests/fuzz/corpus/
# TARGET) so new inputs do not pollute the tree; run with FUZZ_KEEP=1 to keep
# the work directory. Any crash, leak, timeout or sanitizer report fails the
# script (non-zero); the reproducer is copied to FUZZ_BUILD/fuzz-findings/.
# Prints executions per target.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
seconds=${FUZZ_SECONDS:-30}
build=${FUZZ_BUILD:-$src/build-fuzz}
targets=("$@")
if ((${#targets[@]} == 0)); then
    targets=(response negotiate ntlm spnego create_ctx dirent fsctl transform client dfs)
fi

command -v clang >/dev/null || {
    echo "run-fuzzers: clang not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 1
}
if [[ ! -f "$build/build.ninja" ]]; then
    CC=clang meson setup "$build" "$src" -Dfuzzing=true -Dinstall=false -Dtools=false \
        -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized
fi
ninja_targets=()
for t in "${targets[@]}"; do
    ninja_targets+=("tests/fuzz/fuzz_$t")
done
ninja -C "$build" "${ninja_targets[@]}"

work=$(mktemp -d "${TMPDIR:-/tmp}/smbw-fuzz.XXXXXX")
cleanup() {
    if [[ "${FUZZ_KEEP:-0}" == 1 ]]; then
        echo "run-fuzzers: kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
findings=$build/fuzz-findings
mkdir -p "$findings"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
summary=()
for t in "${targets[@]}"; do
    corpus=$work/corpus-$t
    mkdir -p "$corpus" "$work/art-$t"
    cp "$here/corpus/$t/"* "$corpus/"
    log=$work/$t.log
    echo "run-fuzzers: fuzz_$t for ${seconds}s"
    set +e
    # -timeout: one input taking over 10 s is a hang; -rss_limit_mb bounds memory.
    # A fixed seed (FUZZ_SEED, default 1) makes a short CI run the prefix of a
    # longer run with the same seed: what a longer run found clean stays clean.
    "$build/tests/fuzz/fuzz_$t" "$corpus" -seed="${FUZZ_SEED:-1}" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$work/art-$t/" >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    summary+=("$(printf '%-12s %10s execs %8s/s  rc %d' "$t" "${execs:-?}" "${rate:-?}" "$rc")")
    if ((rc == 0)); then
        echo "run-fuzzers: ok $t"
    else
        echo "run-fuzzers: FAIL $t"
        failed+=("$t")
        echo "run-fuzzers: fuzz_$t FAILED (exit $rc); last lines of its log:" >&2
        tail -n 40 "$log" >&2
        cp "$work/art-$t/"* "$findings/" 2>/dev/null || true
    fi
done

echo "run-fuzzers: ${seconds}s per target"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]} > 0)); then
    echo "run-fuzzers: findings in ${failed[*]} (reproducers in $findings)" >&2
    exit 1
fi
echo "run-fuzzers: no findings"
