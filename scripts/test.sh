#!/usr/bin/env bash
# Sets up, builds, and runs every test that is not labelled slow; then builds the unit tests
# again with clang, AddressSanitizer + UndefinedBehaviorSanitizer, runs them once more, and fuzzes
# each parser for 30 seconds.
#
#   scripts/test.sh            # what CI runs
#   SF_SKIP_SANITIZERS=1 scripts/test.sh   # the Release tests only
#   SF_FUZZ_SECONDS=0 scripts/test.sh      # no timed fuzzing
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"

scripts/setup.sh
(cd build && ctest --output-on-failure -j"$jobs" -LE slow)

if [[ "${SF_SKIP_SANITIZERS:-0}" != 1 ]]; then
  # One clang build with ASan + UBSan and libFuzzer's coverage (scripts/fuzz.sh) serves both the
  # unit tests and the fuzzers. It keeps -O1 so the suites stay fast, and builds only the
  # executables of the tests labelled unit (no CLI, no MPI, no gradcheck suite).
  SF_FUZZ_BUILD_DIR=build-sanitize SF_FUZZ_EXTRA_TARGETS="test_core test_autograd test_nn test_swarmformer" \
    scripts/fuzz.sh 0
  (cd build-sanitize && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -j"$jobs" -L unit -LE slow)
  # Then every parser is fuzzed for SF_FUZZ_SECONDS (default 30) from its seed corpus.
  SF_FUZZ_BUILD_DIR=build-sanitize scripts/fuzz.sh "${SF_FUZZ_SECONDS:-30}"
fi
echo "test: all passed"
