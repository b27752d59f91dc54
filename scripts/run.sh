#!/usr/bin/env bash
# The main job: set up (Debian packages + Release build), find or fetch IMDB and the BERT
# vocabulary, train a SwarmFormer on it, evaluate on the 25,000 test reviews, print the report.
#
#   scripts/run.sh                          # enhanced-small, full schedule (about 45 min on 1 core)
#   scripts/run.sh --preset original-small  # the reference model (4,302,850 parameters)
#   scripts/run.sh --quick                  # a small model of 20,000 reviews in under 5 minutes (2 cores)
#   scripts/run.sh --pretrain               # masked-LM pretraining on IMDB's own 75,000 texts, then fine-tuning
#   scripts/run.sh --preset original-small --set epochs=4 --threads 2   # extra args go to `train`
#
# --pretrain pretrains enhanced-small on the training and unlabelled reviews (never the test split;
# preset enhanced-small-pretrain, 3 epochs, runs/enhanced-small-pretrain) and fine-tunes its best
# checkpoint (runs/enhanced-small-finetuned); both steps resume where they were interrupted.
# The run directory is runs/PRESET (runs/PRESET-quick for --quick). Running the same command
# again after an interruption resumes it from runs/PRESET/last.safetensors; a finished run is
# only re-evaluated. Data: $SF_DATA (default ../shared/data/imdb, else downloaded once into
# data-cache/ from the original Stanford source) and $SF_VOCAB (default the vocab/ folder next
# to it, else downloaded).
set -euo pipefail
cd "$(dirname "$0")/.."

preset=enhanced-small
quick=0
pretrain=0
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --preset) preset="$2"; shift 2 ;;
    --quick) quick=1; shift ;;
    --pretrain) pretrain=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) extra+=("$1"); shift ;;
  esac
done

scripts/setup.sh >/dev/null

# ---- data ------------------------------------------------------------------------------------
fetch() {  # fetch URL FILE: download once, atomically
  local url="$1" file="$2"
  [[ -s "$file" ]] && return 0
  mkdir -p "$(dirname "$file")"
  echo "run: downloading $url" >&2
  if command -v curl >/dev/null; then curl -fL --retry 3 -o "$file.part" "$url"
  else wget -q -O "$file.part" "$url"; fi
  mv "$file.part" "$file"
}

data="${SF_DATA:-}"
if [[ -z "$data" ]]; then
  if [[ -e ../shared/data/imdb/train.jsonl.gz || -e ../shared/data/imdb/aclImdb_v1.tar.gz ]]; then
    data=../shared/data/imdb
    [[ -e $data/train.jsonl.gz ]] || data=$data/aclImdb_v1.tar.gz
  else
    data=data-cache/aclImdb_v1.tar.gz
    fetch https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz "$data"
  fi
fi
vocab="${SF_VOCAB:-}"
if [[ -z "$vocab" ]]; then
  if [[ -e ../shared/data/vocab/bert-base-uncased-vocab.txt ]]; then
    vocab=../shared/data/vocab/bert-base-uncased-vocab.txt
  else
    vocab=data-cache/bert-base-uncased-vocab.txt
    fetch https://huggingface.co/bert-base-uncased/resolve/main/vocab.txt "$vocab"
  fi
fi
[[ -e "$data" ]] || { echo "run: dataset not found: $data (set SF_DATA)" >&2; exit 1; }
[[ -e "$vocab" ]] || { echo "run: vocabulary not found: $vocab (set SF_VOCAB)" >&2; exit 1; }

# ---- train + evaluate ------------------------------------------------------------------------
out="runs/$preset"
settings=()
if [[ $quick == 1 ]]; then
  out="runs/$preset-quick"
  # enhanced-small at L = 128 (head + tail of each review), 20,000 reviews x 2 epochs at a higher
  # learning rate and less dropout, validated every 125 steps on 2,000 held-out reviews, tested on
  # 2,000 test reviews.
  settings=(--set seq_len=128 --set truncation=head_tail --set max_train_examples=20000 --set max_eval_examples=2000
            --set epochs=2 --set batch_size=32 --set learning_rate=1.5e-3 --set embedding_dropout=0.1
            --set local_dropout=0.1 --set classifier_dropout=0.1 --set eval_every_steps=125 --set log_every=25
            --set ema_decay=0.998 --set eval_windows=1)
fi
mkdir -p runs
if [[ $pretrain == 1 ]]; then
  # Pretraining (resumable; skipped once its report exists), then fine-tuning from its best
  # checkpoint with the preset enhanced-small-finetune (the encoder's weights, a fresh classifier).
  pretrained=runs/enhanced-small-pretrain
  if [[ ! -e "$pretrained/report.json" ]]; then
    resume=()
    [[ -e "$pretrained/last.safetensors" ]] && resume=(--resume)
    build/bin/swarmformer pretrain --preset enhanced-small-pretrain --data "$data" --vocab "$vocab" --out "$pretrained" \
      --cache-dir data-cache/tokens "${resume[@]}"
  fi
  preset=enhanced-small-finetune
  out=runs/enhanced-small-finetuned
  settings=(--init-from "$pretrained/best.safetensors")
  [[ -e "$out/last.safetensors" ]] && settings=()  # a resumed run continues from its own weights
fi
resume=()
[[ -e "$out/last.safetensors" ]] && resume=(--resume)

build/bin/swarmformer train --preset "$preset" --data "$data" --vocab "$vocab" --out "$out" \
  --cache-dir data-cache/tokens "${resume[@]}" "${settings[@]}" "${extra[@]}"

echo
cat "$out/report.md"
echo "run: report in $out/report.md, curves in $out/curves.png, model in $out/best.safetensors"
