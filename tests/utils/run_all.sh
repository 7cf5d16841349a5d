#!/usr/bin/env bash
# `make test`: run the given make targets in order, stop at the first failure, and end with
# one summary line ("SUMMARY: N passed, N failed, N skipped") added up over all steps.
# Each step's output is shown and kept in tests/output/logs/<step>.log.
#   tests/utils/run_all.sh STEP...
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root" || exit 1
logs="$root/tests/output/logs"
mkdir -p "$logs"

# Steps that prepare rather than test: their success is not counted as a test.
setup_steps=" venvs layout "
# Steps that must run at least one test.
test_steps=" sanity units emulator-tests integration "

total_passed=0 total_failed=0 total_skipped=0
report=()
started=$SECONDS

summary() {
    echo
    echo "================================ make test summary ================================"
    printf '%s\n' "${report[@]}"
    echo "total time: $((SECONDS - started))s"
    echo "SUMMARY: ${total_passed} passed, ${total_failed} failed, ${total_skipped} skipped"
}

for step in "$@"; do
    echo
    echo "================================ make ${step} ================================"
    step_start=$SECONDS
    make REQUIRE_TESTS=1 "$step" 2>&1 | tee "$logs/$step.log"
    rc=${PIPESTATUS[0]}
    elapsed=$((SECONDS - step_start))
    read -r passed failed skipped < <(python3 "$root/tests/utils/count_results.py" "$logs/$step.log" "$rc")
    if [[ "$setup_steps" != *" $step "* ]] && (( passed + failed + skipped == 0 )); then
        # A step with no countable tests (the demo) counts as one check.
        if [[ "$test_steps" == *" $step "* ]]; then
            (( rc == 0 )) && rc=1 && echo "ERROR: step '$step' ran no tests"
            failed=1
        elif (( rc == 0 )); then passed=1; else failed=1; fi
    fi
    if (( rc != 0 && failed == 0 )); then
        failed=1
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    total_skipped=$((total_skipped + skipped))
    status=OK
    (( rc == 0 )) || status="FAILED (exit $rc)"
    report+=("$(printf '%-16s %-16s %5ss   %s passed, %s failed, %s skipped' "$step" "$status" "$elapsed" "$passed" "$failed" "$skipped")")
    if (( rc != 0 )); then
        echo
        echo "ERROR: make test stopped: step '$step' failed (exit $rc); its full output is in tests/output/logs/$step.log"
        summary
        exit "$rc"
    fi
done

summary
