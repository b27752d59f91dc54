#!/usr/bin/env bash
# What pretraining buys (issue 15): enhanced-small fine-tuned (preset enhanced-small-finetune) from
# each epoch of a masked-LM pretraining run, and the same recipe from scratch, each checkpoint
# chosen on validation and tested once on the 25,000 test reviews; then the table and the curve.
#
#   scripts/pretraining_study.sh [PRETRAIN_RUN [--set key=value ...]]   # default runs/enhanced-small-pretrain
#   SF_THREADS=2 SF_ROWS="scratch epoch-1" scripts/pretraining_study.sh runs/enhanced-small-pretrain
#   SF_STUDY_DIR=runs/study-lr6e-4 SF_ROWS=epoch-1 scripts/pretraining_study.sh RUN --set learning_rate=6e-4
# Arguments after PRETRAIN_RUN go to every `train` (another fine-tuning recipe: give it its own
# SF_STUDY_DIR; SF_CACHE_DIR shares a token cache between studies).
#
# The pretraining run must keep its epochs' weights (keep_epoch_checkpoints, on in the preset
# enhanced-small-pretrain): row epoch-N fine-tunes PRETRAIN_RUN/epoch-N.safetensors. Each run
# lives in runs/pretraining-study/ROW; a finished one is skipped and an interrupted one resumed.
# scripts/pretraining_points.py prints the table and draws pretraining-study.png.
set -euo pipefail
cd "$(dirname "$0")/.."

pretrained="${1:-runs/enhanced-small-pretrain}"
[[ $# -gt 0 ]] && shift
extra=("$@")
data="${SF_DATA:-../shared/data/imdb}"
vocab="${SF_VOCAB:-../shared/data/vocab/bert-base-uncased-vocab.txt}"
threads="${SF_THREADS:-1}"
root="${SF_STUDY_DIR:-runs/pretraining-study}"
binary="${SF_BINARY:-build/bin/swarmformer}"
if [[ -n "${SF_ROWS:-}" ]]; then
  rows=($SF_ROWS)
else
  rows=(scratch)
  for file in "$pretrained"/epoch-*.safetensors; do
    [[ -e "$file" ]] && rows+=("$(basename "$file" .safetensors)")
  done
fi
mkdir -p "$root"

for row in "${rows[@]}"; do
  out="$root/$row"
  [[ -e "$out/report.json" ]] && continue
  start=()
  if [[ -e "$out/last.safetensors" ]]; then
    start=(--resume)
  elif [[ "$row" != scratch ]]; then
    [[ -e "$pretrained/$row.safetensors" ]] || { echo "pretraining_study: no $pretrained/$row.safetensors" >&2; exit 1; }
    start=(--init-from "$pretrained/$row.safetensors")
  fi
  "$binary" train --preset enhanced-small-finetune --data "$data" --vocab "$vocab" --out "$out" \
    --cache-dir "${SF_CACHE_DIR:-$root/cache}" --threads "$threads" --no-progress "${start[@]}" "${extra[@]}" 2>&1 | tee -a "$root/$row.log" |
    grep -E "^epoch [0-9]+:|error|init-from" || true
done
python3 scripts/pretraining_points.py "$pretrained" "$root"
