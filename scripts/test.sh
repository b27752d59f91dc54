#!/usr/bin/env bash
# Sets up, builds, and runs every test that is not labelled slow; then builds the unit tests
# again with AddressSanitizer + UndefinedBehaviorSanitizer and runs them once more.
#
#   scripts/test.sh            # what CI runs
#   SF_SKIP_SANITIZERS=1 scripts/test.sh   # the Release tests only
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"

scripts/setup.sh
(cd build && ctest --output-on-failure -j"$jobs" -LE slow)

if [[ "${SF_SKIP_SANITIZERS:-0}" != 1 ]]; then
  # The sanitizer build keeps -O1 so the suites stay fast, and builds only the executables of
  # the tests labelled unit (no CLI, no MPI, no gradcheck suite): that keeps CI under 25 minutes.
  cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSF_SANITIZE=ON -DSF_BUILD_BENCHMARKS=OFF \
    -DSF_WITH_MPI=OFF -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
  cmake --build build-sanitize -j"$jobs" --target test_core test_autograd test_nn test_swarmformer fuzz_tokenizer \
    fuzz_safetensors fuzz_jsonl fuzz_csv fuzz_tar fuzz_config fuzz_set_override
  (cd build-sanitize && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -j"$jobs" -L unit -LE slow)
fi
echo "test: all passed"
