#!/usr/bin/env bash
# The ablation of issue 8: enhanced-small with each of its eight enhancements switched off alone,
# plus all on and original-small, every one trained with the same shortened budget and the same
# seeds, then tabulated into docs/ablation.md by scripts/ablation_table.py.
#
#   scripts/ablation.sh                         # 10 models x 2 seeds, 2 runs at a time, 1 thread each
#   SF_SEEDS="1 2 3" SF_JOBS=4 scripts/ablation.sh
#   SF_BUDGET="--set max_train_examples=22500 --set epochs=8" scripts/ablation.sh   # full schedule
#   SF_BINARY=path/to/swarmformer scripts/ablation.sh   # finish a sweep with the binary it began with
#
# Each run lives in runs/ablation/NAME-seedS; a finished run (report.json present) is skipped,
# an interrupted one resumes from its last checkpoint, so the script can be re-run at any time.
# Seeds go round-robin (all models with the first seed before any with the second), so a partial
# sweep still covers every model.
set -euo pipefail
cd "$(dirname "$0")/.."

data="${SF_DATA:-../shared/data/imdb}"
vocab="${SF_VOCAB:-../shared/data/vocab/bert-base-uncased-vocab.txt}"
seeds=(${SF_SEEDS:-1 2})
jobs="${SF_JOBS:-2}"
budget=(${SF_BUDGET:---set max_train_examples=10000 --set epochs=2})
root="${SF_ABLATION_DIR:-runs/ablation}"
binary="${SF_BINARY:-build/bin/swarmformer}"   # pin one build for a whole sweep
mkdir -p "$root"

# name | preset | the one switch that differs from enhanced-small (plus what it forces: the
# relative position bias belongs to the local attention, so without it there is none)
models=(
  "all-on|enhanced-small|"
  "original|original-small|"
  "no-local-attention|enhanced-small|local_attention=false position=none"
  "no-multi-head-cluster-attention|enhanced-small|multi_head_cluster_attention=false"
  "no-dynamic-routing|enhanced-small|dynamic_routing=false"
  "no-gated-feedback|enhanced-small|gated_feedback=false"
  "no-pre-layer-norm|enhanced-small|pre_layer_norm=false"
  "no-tied-qkv|enhanced-small|tied_qkv=false"
  "no-pyramid|enhanced-small|pyramid=false"
  "no-gumbel-softmax|enhanced-small|gumbel_softmax=false"
)

# One line per run: NAME PRESET SEED SETTINGS..., seeds round-robin.
queue="$root/queue.txt"
: > "$queue"
for seed in "${seeds[@]}"; do
  for entry in "${models[@]}"; do
    IFS='|' read -r name preset switch <<< "$entry"
    echo "$name $preset $seed $switch" >> "$queue"
  done
done

# Token caches are keyed by the reviews they hold and written atomically (temporary file, rename),
# so workers may share one.
cache="$root/cache"

run_one() {  # run_one NAME PRESET SEED [KEY=VALUE...]
  local name="$1" preset="$2" seed="$3"
  shift 3
  local out="$root/$name-seed$seed"
  [[ -e "$out/report.json" ]] && return 0
  local settings=(--set "seed=$seed" "${budget[@]}")
  local setting
  for setting in "$@"; do settings+=(--set "$setting"); done
  local resume=()
  [[ -e "$out/last.safetensors" ]] && resume=(--resume)
  echo "ablation: start $name seed $seed ($(date +%H:%M:%S))"
  if "$binary" train --preset "$preset" --data "$data" --vocab "$vocab" --out "$out" \
       --cache-dir "$cache" --threads 1 --no-progress "${resume[@]}" "${settings[@]}" \
       > "$out.log" 2>&1; then
    echo "ablation: done  $name seed $seed ($(date +%H:%M:%S))"
  else
    echo "ablation: FAILED $name seed $seed, see $out.log" >&2
  fi
}

# Workers take runs from the queue in order; a lock file hands out the next line.
worker() {
  while true; do
    local line
    line=$(flock "$queue.lock" bash -c 'head -n 1 "$1"; sed -i 1d "$1"' _ "$queue")
    [[ -z "$line" ]] && return 0
    run_one $line
  done
}
for ((index = 0; index < jobs; index++)); do worker & done
wait

python3 scripts/ablation_table.py "$root" > docs/ablation-table.md
echo "ablation: table in docs/ablation-table.md"
