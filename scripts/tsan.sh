#!/usr/bin/env bash
# Runs the unit tests and 2-thread trainings under ThreadSanitizer:
#
#   scripts/tsan.sh            # about 15 minutes on 2 cores; exits 1 on any ThreadSanitizer report
#
# ThreadSanitizer sees a happens-before edge only where both sides are instrumented, and Debian's
# libtbb is not: against it every hand-off of a task to a worker looks like a data race (762
# reports in test_core). So this script builds oneTBB itself, from Debian's own source package of
# the installed version (`apt-get source onetbb`, with a deb-src list private to build-tsan/),
# with oneTBB's TBB_SANITIZE=thread, and links the project against that build. No suppressions.
#
# Then it builds build-tsan with clang -fsanitize=thread (-DSF_SANITIZE_THREAD=ON; MPI off: Open
# MPI is not instrumented either), runs test_core, test_autograd, test_nn and test_swarmformer,
# and trains both variants for a few dozen steps on 2 threads (fp32 and bf16, a checkpoint, a
# resume, an eval) on a small generated dataset. One line per run: its status and report count.
# Logs: build-tsan/tsan-logs/. TSAN_OPTIONS may add options (e.g. halt_on_error=1).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
build="$root/build-tsan"
tbb_prefix="$build/onetbb-install"

SF_WITH_TSAN=1 SF_PACKAGES_ONLY=1 scripts/setup.sh

# 1. oneTBB with ThreadSanitizer, the same upstream version as the installed libtbb-dev.
if [[ ! -f "$tbb_prefix/lib/cmake/TBB/TBBConfig.cmake" ]]; then
  version="$(dpkg-query -W -f='${Version}' libtbb-dev)"
  source_dir="$build/onetbb-source"
  apt_dir="$build/apt"
  mkdir -p "$apt_dir/lists/partial" "$source_dir"
  . /etc/os-release
  cat >"$apt_dir/onetbb-source.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $VERSION_CODENAME $VERSION_CODENAME-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  apt_options=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt_dir" -o "Dir::State::Lists=$apt_dir/lists")
  apt-get "${apt_options[@]}" update -qq
  (cd "$source_dir" && apt-get "${apt_options[@]}" source -qq "onetbb=$version" >/dev/null 2>&1)
  tbb_source="$(find "$source_dir" -mindepth 1 -maxdepth 1 -type d | head -1)"
  echo "tsan: building $(basename "$tbb_source") ($version) with -fsanitize=thread"
  cmake -S "$tbb_source" -B "$build/onetbb-build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ -DTBB_SANITIZE=thread -DTBB_TEST=OFF -DTBB_EXAMPLES=OFF -DTBBMALLOC_BUILD=OFF \
    -DTBB_STRICT=OFF -DCMAKE_INSTALL_PREFIX="$tbb_prefix" >/dev/null
  cmake --build "$build/onetbb-build" -j"$(nproc)" >/dev/null
  cmake --install "$build/onetbb-build" >/dev/null
fi

# 2. The project with ThreadSanitizer, linked against that oneTBB (its RUNPATH finds it).
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DSF_SANITIZE_THREAD=ON -DSF_WITH_MPI=OFF -DSF_BUILD_BENCHMARKS=OFF -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DTBB_DIR="$tbb_prefix/lib/cmake/TBB" >/dev/null
cmake --build "$build" -j"$(nproc)" --target test_core test_autograd test_nn test_swarmformer swarmformer >/dev/null

logs="$build/tsan-logs"
rm -rf "$logs" && mkdir -p "$logs"
export TSAN_OPTIONS="second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
status=0
# run NAME COMMAND...: runs under TSan, prints one line, remembers any failure or report.
run() {
  local name="$1"; shift
  local started=$SECONDS result=ok
  "$@" >"$logs/$name.log" 2>&1 || result="FAILED (exit $?)"
  local reports
  reports="$(grep -c '^WARNING: ThreadSanitizer' "$logs/$name.log" || true)"
  if [[ "$result" != ok || "$reports" != 0 ]]; then status=1; fi
  printf '%-34s %-16s %3s ThreadSanitizer reports  %4s s\n' "$name" "$result" "$reports" "$((SECONDS - started))"
}

ldd "$build/bin/test_core" | grep -q "$tbb_prefix/lib/libtbb" || { echo "tsan: not linked against $tbb_prefix"; exit 1; }
for suite in test_core test_autograd test_nn test_swarmformer; do
  run "$suite" "$build/bin/$suite" --report_level=short
done

# 3. Trainings on 2 threads: a generated two-class dataset (the label is which word list a text
# draws more from) and its vocabulary, so the run needs no downloaded data.
data="$build/tsan-data"
mkdir -p "$data"
{ printf '%s\n' '[PAD]' '[UNK]' '[CLS]' '[SEP]' '[MASK]'; printf 'word%d\n' $(seq 0 199); } >"$data/vocab.txt"
for split in train:600:1 test:200:2; do
  IFS=: read -r name count seed <<<"$split"
  awk -v count="$count" -v seed="$seed" 'BEGIN {
    srand(seed)
    for (row = 0; row < count; ++row) {
      label = row % 2; text = ""; words = 20 + int(rand() * 120)
      for (w = 0; w < words; ++w) {
        pool = (rand() < 0.6) ? label : 1 - label
        text = text (w ? " " : "") "word" (pool * 100 + int(rand() * 100))
      }
      printf "{\"text\": \"%s\", \"label\": %d}\n", text, label
    }
  }' >"$data/$name.jsonl"
done
common=(--data "$data" --vocab "$data/vocab.txt" --no-progress --threads 2 --set epochs=2 --set batch_size=16
  --set eval_batch_size=32 --set seq_len=128 --set vocab_size=205 --set log_every=5 --set checkpoint_every_steps=10)
rm -rf "$build/tsan-runs"
run train_enhanced_fp32 "$build/bin/swarmformer" train --preset enhanced-small --out "$build/tsan-runs/enhanced" "${common[@]}" --set max_steps=40
run train_enhanced_resume "$build/bin/swarmformer" train --preset enhanced-small --out "$build/tsan-runs/enhanced" "${common[@]}" --set max_steps=60 --resume
run train_enhanced_bf16 "$build/bin/swarmformer" train --preset enhanced-small --out "$build/tsan-runs/enhanced-bf16" "${common[@]}" --set max_steps=30 --set precision=bf16
run train_original_fp32 "$build/bin/swarmformer" train --preset original-small --out "$build/tsan-runs/original" "${common[@]}" --set max_steps=30
run eval_enhanced "$build/bin/swarmformer" eval --checkpoint "$build/tsan-runs/enhanced/best.safetensors" --data "$data" \
  --vocab "$data/vocab.txt" --threads 2
exit "$status"
