#!/usr/bin/env bash
# Fuzzes every parser with libFuzzer under AddressSanitizer + UndefinedBehaviorSanitizer:
#
#   scripts/fuzz.sh [SECONDS [NAME...]]      # default 60 s each, every harness of tests/fuzz
#   scripts/fuzz.sh 600                      # the 10-minute runs recorded in docs/reliability.md
#
# Installs clang + libfuzzer-14-dev (scripts/setup.sh), builds build-fuzz with clang
# (-DSF_FUZZ=ON -DSF_SANITIZE=ON), and runs each harness from its growing corpus
# build-fuzz/corpus/NAME (seeded from tests/fuzz/corpus/NAME); a crash, leak, sanitizer report,
# timeout (10 s) or an exception other than sf::Error is saved in build-fuzz/findings/NAME/.
# One line per harness: executions, coverage (edges), corpus size, findings. Exits 1 on a finding.
# A finding: reproduce with build-fuzz/bin/fuzz_NAME FILE, fix the code, and add FILE to
# tests/fuzz/corpus/NAME/, where CTest keeps running it (fuzz_corpus_NAME).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
[[ $# -gt 0 ]] && shift
names=("$@")
((${#names[@]})) || names=(tokenizer safetensors jsonl csv tar config set_override)

SF_WITH_FUZZ=1 SF_PACKAGES_ONLY=1 scripts/setup.sh
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DSF_FUZZ=ON -DSF_SANITIZE=ON -DSF_WITH_MPI=OFF -DSF_BUILD_APPS=OFF -DSF_BUILD_BENCHMARKS=OFF \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
targets=()
for name in "${names[@]}"; do targets+=("fuzz_$name"); done
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]}"

status=0
for name in "${names[@]}"; do
  corpus="build-fuzz/corpus/$name" findings="build-fuzz/findings/$name" log="build-fuzz/findings/$name.log"
  mkdir -p "$corpus" "$findings"
  cp -n "tests/fuzz/corpus/$name"/* "$corpus"/
  result=ok
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "build-fuzz/bin/fuzz_$name" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$findings/" -print_final_stats=1 >"$log" 2>&1 || { result=FINDING; status=1; }
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
  coverage="$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || true)"
  printf '%-13s %-7s %10s executions in %s s, coverage %5s edges, corpus %4s inputs, findings %s\n' "$name" \
    "$result" "${runs:-?}" "$seconds" "${coverage:-?}" "$(find "$corpus" -type f | wc -l)" \
    "$(find "$findings" -type f | wc -l)"
done
exit "$status"
