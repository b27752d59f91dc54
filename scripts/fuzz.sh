#!/usr/bin/env bash
# Fuzzes every parser with libFuzzer under AddressSanitizer + UndefinedBehaviorSanitizer:
#
#   scripts/fuzz.sh [SECONDS [NAME...]]      # default 60 s each, every harness of tests/fuzz
#   scripts/fuzz.sh 600                      # the 10-minute runs recorded in docs/reliability.md
#   scripts/fuzz.sh 0                        # only build
#
# Installs clang + libfuzzer-14-dev (scripts/setup.sh), builds SF_FUZZ_BUILD_DIR (default
# build-fuzz) with clang (-DSF_FUZZ=ON -DSF_SANITIZE=ON) and runs the harnesses, SF_FUZZ_JOBS
# (default: one per core) at a time, each from its growing corpus DIR/corpus/NAME (seeded from
# tests/fuzz/corpus/NAME); a crash, leak, sanitizer report, timeout (10 s), more than 2 GB of
# memory or an exception other than sf::Error is saved in DIR/findings/NAME/.
# One line per harness: executions, coverage (edges), corpus size, findings. Exits 1 on a finding.
# A finding: reproduce with DIR/bin/fuzz_NAME FILE, fix the code, and add FILE to
# tests/fuzz/corpus/NAME/, where CTest keeps running it (fuzz_corpus_NAME).
# scripts/test.sh reuses this build for its sanitizer tests (SF_FUZZ_EXTRA_TARGETS: more targets).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
[[ $# -gt 0 ]] && shift
names=("$@")
((${#names[@]})) || names=(tokenizer safetensors jsonl csv tar config set_override)
build="${SF_FUZZ_BUILD_DIR:-build-fuzz}"
jobs="${SF_FUZZ_JOBS:-$(nproc)}"

SF_WITH_FUZZ=1 SF_PACKAGES_ONLY=1 scripts/setup.sh
# A folder configured with another compiler (an older GCC sanitizer build) starts afresh.
if [[ -f "$build/CMakeCache.txt" ]] && ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++' "$build/CMakeCache.txt"; then
  rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DSF_FUZZ=ON -DSF_SANITIZE=ON -DSF_WITH_MPI=OFF -DSF_BUILD_APPS=OFF -DSF_BUILD_BENCHMARKS=OFF \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
targets=()
for name in "${names[@]}"; do targets+=("fuzz_$name"); done
# shellcheck disable=SC2206
targets+=(${SF_FUZZ_EXTRA_TARGETS:-})
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"
((seconds > 0)) || exit 0

# fuzz NAME: one harness for $seconds; writes its line to $build/findings/NAME.line.
fuzz() {
  local name="$1"
  local corpus="$build/corpus/$name" findings="$build/findings/$name" log="$build/findings/$name.log"
  mkdir -p "$corpus" "$findings"
  cp -n "tests/fuzz/corpus/$name"/* "$corpus"/
  touch "$findings.started"  # findings counts only what this run saves, not earlier runs' files
  local result=ok
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/bin/fuzz_$name" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$findings/" -print_final_stats=1 >"$log" 2>&1 || result=FINDING
  local runs coverage
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
  coverage="$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || true)"
  printf '%-13s %-7s %10s executions in %s s, coverage %5s edges, corpus %4s inputs, findings %s\n' "$name" \
    "$result" "${runs:-?}" "$seconds" "${coverage:-?}" "$(find "$corpus" -type f | wc -l)" \
    "$(find "$findings" -type f -newer "$findings.started" | wc -l)" >"$build/findings/$name.line"
}

mkdir -p "$build/findings"
running=0
for name in "${names[@]}"; do
  if ((running >= jobs)); then wait -n || true; running=$((running - 1)); fi
  fuzz "$name" &
  running=$((running + 1))
done
wait
status=0
for name in "${names[@]}"; do
  cat "$build/findings/$name.line"
  grep -q ' ok ' "$build/findings/$name.line" || status=1
done
exit "$status"
