#!/usr/bin/env bash
# The input-side study of issue 14: enhanced-small from scratch at L = 256 with each input change
# alone and all together, at the preset's budget (8 epochs, early stopping), the checkpoint chosen
# on validation, then evaluated once on the 25,000 test reviews. docs/results.md tabulates it.
#
#   scripts/input_side.sh                       # every row in turn, 1 thread
#   SF_THREADS=2 scripts/input_side.sh
#   SF_ROWS="together baseline" scripts/input_side.sh
#   SF_BINARY=path/to/swarmformer scripts/input_side.sh   # finish a study with the binary it began with
#
# Each run lives in runs/input-side/ROW; a finished run (report.json present) is skipped and an
# interrupted one resumes from its last checkpoint, so the script can be re-run at any time.
# "windows" trains nothing: it re-evaluates the baseline's chosen checkpoint with eval_windows = 4,
# and "together-one-window" the together run's checkpoint with eval_windows = 1.
set -euo pipefail
cd "$(dirname "$0")/.."

data="${SF_DATA:-../shared/data/imdb}"
vocab="${SF_VOCAB:-../shared/data/vocab/bert-base-uncased-vocab.txt}"
threads="${SF_THREADS:-1}"
root="${SF_INPUT_DIR:-runs/input-side}"
binary="${SF_BINARY:-build/bin/swarmformer}"
rows=(${SF_ROWS:-together baseline head-tail ema no-padding-mask windows together-one-window})
mkdir -p "$root"

# Every row states all four input settings, so the study means the same whatever the preset's
# defaults are (the enhanced presets adopted the "together" settings after this study).
settings_of() {  # the --set arguments of a row
  local base="--set mask_padding=true --set truncation=head --set ema_decay=0 --set eval_windows=1"
  case "$1" in
    baseline) echo "$base" ;;
    no-padding-mask) echo "$base --set mask_padding=false" ;;
    head-tail) echo "$base --set truncation=head_tail" ;;
    ema) echo "$base --set ema_decay=0.998" ;;
    together) echo "$base --set truncation=head_tail --set ema_decay=0.998 --set eval_windows=4" ;;
    *) echo "input_side: unknown row '$1'" >&2; exit 2 ;;
  esac
}

for row in "${rows[@]}"; do
  out="$root/$row"
  if [[ "$row" == windows || "$row" == together-one-window ]]; then
    source_run=baseline windows=4
    [[ "$row" == together-one-window ]] && source_run=together windows=1
    [[ -e "$root/$source_run/report.json" && ! -e "$out/test.json" ]] || continue
    mkdir -p "$out"
    "$binary" eval --checkpoint "$root/$source_run/best.safetensors" --data "$data" --vocab "$vocab" \
      --set eval_windows=$windows --threads "$threads" > "$out/test.json.part"
    mv "$out/test.json.part" "$out/test.json"
    continue
  fi
  [[ -e "$out/report.json" ]] && continue
  resume=()
  [[ -e "$out/last.safetensors" ]] && resume=(--resume)
  # shellcheck disable=SC2046
  "$binary" train --preset enhanced-small --data "$data" --vocab "$vocab" --out "$out" --cache-dir "$root/cache" \
    --threads "$threads" --no-progress "${resume[@]}" $(settings_of "$row") 2>&1 | tee -a "$root/$row.log" | grep -E "^epoch [0-9]+:|error" || true
done
echo "input_side: done; reports in $root/*/report.md"
