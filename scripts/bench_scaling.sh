#!/usr/bin/env bash
# Data-parallel scaling of `swarmformer train`: tokens/s on 1 process and on N MPI ranks with the
# same global batch, one TBB thread per rank (docs/distributed.md, "Measured scaling").
#
#   scripts/bench_scaling.sh [BUILD_DIR]      # default build
#   SF_PRESET=enhanced-base SF_RANKS=2 SF_STEPS=30 SF_REPEATS=3 scripts/bench_scaling.sh build-mpi
#   SF_EXTRA="--set allreduce_overlap=false" scripts/bench_scaling.sh   # extra train arguments
#
# Each run trains SF_STEPS steps on IMDB (SF_DATA, default ../shared/data/imdb) with log_every=5;
# a run's figure is the median tokens/s over its 5-step windows, the first window (warm-up)
# left out. Runs alternate 1 process / N ranks, SF_REPEATS times; the table lists every pair,
# the load average before it, and the medians (the efficiency's is the median of the pairs').
# Efficiency = tokens/s(N) / (N x tokens/s(1)). On a shared machine, run it under `nice -n -15`
# (as root) so that other users' jobs disturb it less.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
binary=$build/bin/swarmformer
preset=${SF_PRESET:-enhanced-small}
ranks=${SF_RANKS:-2}
steps=${SF_STEPS:-30}
repeats=${SF_REPEATS:-3}
batch=${SF_BATCH:-48}
data=${SF_DATA:-../shared/data/imdb}
vocab=${SF_VOCAB:-../shared/data/vocab/bert-base-uncased-vocab.txt}
work=$(mktemp -d /tmp/sf-scaling.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Median tokens/s of a run's windows after the first.
window_median() {
  python3 - "$1" <<'PYTHON'
import json, statistics, sys
rates = [entry["tokens_per_second"] for entry in map(json.loads, open(sys.argv[1])) if entry.get("type") == "train"]
print(f"{statistics.median(rates[1:]):.0f}" if len(rates) > 1 else "nan")
PYTHON
}

run_once() {  # run_once RANKS INDEX [STEPS] -> prints tokens/s
  local count=$1 out=$work/run-$1-$2 steps=${3:-$steps}
  local command=("$binary" train --preset "$preset" --data "$data" --vocab "$vocab" --out "$out" --cache-dir "$work/cache"
    --no-progress --threads 1 --set "batch_size=$batch" --set "max_steps=$steps" --set log_every=5
    --set max_eval_examples=48 --set "check_parameters_every=$steps")
  # shellcheck disable=SC2206
  command+=(${SF_EXTRA:-})
  if [[ $count == 1 ]]; then
    "${command[@]}" > "$out.log" 2>&1
  else
    mpirun --allow-run-as-root --oversubscribe --bind-to core --map-by core -np "$count" "${command[@]}" > "$out.log" 2>&1
  fi
  window_median "$out/metrics.jsonl"
}

run_once 1 warmup 1 > /dev/null || true  # tokenizes IMDB into the shared cache once
one=() many=()
printf "| repeat | load before | 1 process tokens/s | %s ranks tokens/s | efficiency |\n| ---: | ---: | ---: | ---: | ---: |\n" "$ranks"
for repeat in $(seq 1 "$repeats"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  single=$(run_once 1 "$repeat")
  multiple=$(run_once "$ranks" "$repeat")
  one+=("$single") many+=("$multiple")
  printf "| %s | %s | %s | %s | %.1f%% |\n" "$repeat" "$load" "$single" "$multiple" \
    "$(python3 -c "print(100 * $multiple / ($ranks * $single))")"
done
python3 - "$ranks" "${one[*]}" "${many[*]}" <<'PYTHON'
import statistics, sys
ranks, one, many = int(sys.argv[1]), [float(v) for v in sys.argv[2].split()], [float(v) for v in sys.argv[3].split()]
efficiency = statistics.median(100 * m / (ranks * o) for o, m in zip(one, many))
print(f"| median | | {statistics.median(one):.0f} | {statistics.median(many):.0f} | {efficiency:.1f}% |")
PYTHON
