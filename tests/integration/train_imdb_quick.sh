#!/bin/sh
# Integration: the main job's pipeline on the real IMDB data, shrunk to seconds.
#   train_imdb_quick.sh SWARMFORMER_BINARY WORK_DIR
# Trains enhanced-small on 480 reviews for 10 steps, evaluates on 480 test reviews, then checks
# the run directory (report, checkpoints, metrics), that --resume of the finished run re-evaluates
# to the same test figures, and that a second run without --resume refuses to overwrite it.
# Exits 77 (skipped) where ../shared/data (or $SF_DATA / $SF_VOCAB) is not present.
set -eu
binary="$1"
work="$2"
here="$(cd "$(dirname "$0")" && pwd)"
data="${SF_DATA:-$here/../../../shared/data/imdb}"
vocab="${SF_VOCAB:-$here/../../../shared/data/vocab/bert-base-uncased-vocab.txt}"
if [ ! -e "$data" ] || [ ! -e "$vocab" ]; then
  echo "skipped: IMDB data or vocabulary not found ($data, $vocab)"
  exit 77
fi
rm -rf "$work"
mkdir -p "$work"
out="$work/run"
"$binary" train --preset enhanced-small --data "$data" --vocab "$vocab" --out "$out" --cache-dir "$work/cache" \
  --no-progress --threads 1 --set max_train_examples=480 --set max_eval_examples=480 --set epochs=1 \
  --set log_every=5 --set batch_size=48 > "$work/first.json"
for file in report.md report.json config.json metrics.jsonl last.safetensors best.safetensors; do
  [ -s "$out/$file" ] || { echo "FAIL: $out/$file missing"; exit 1; }
done
grep -q '"type":"validation"' "$out/metrics.jsonl" || { echo "FAIL: no validation line in metrics.jsonl"; exit 1; }
# 480 test examples evaluated, accuracy a number in [0, 1].
python3 - "$out/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
test = report["test"]
assert test["examples"] == 480, test
assert 0.0 <= test["accuracy"] <= 1.0, test
assert report["steps"] == 10, report["steps"]
PY
# A finished run resumed: re-evaluated, same figures.
"$binary" train --data "$data" --vocab "$vocab" --out "$out" --cache-dir "$work/cache" --no-progress --threads 1 \
  --resume > "$work/second.json"
python3 - "$work/first.json" "$work/second.json" <<'PY'
import json, sys
first, second = (json.load(open(path))["test"] for path in sys.argv[1:3])
assert first == second, (first, second)
PY
# Without --resume the run directory is never overwritten.
if "$binary" train --data "$data" --vocab "$vocab" --out "$out" --no-progress > "$work/third.txt" 2>&1; then
  echo "FAIL: a second train into $out succeeded"; exit 1
fi
grep -q "already holds a run" "$work/third.txt" || { echo "FAIL: unclear error"; cat "$work/third.txt"; exit 1; }
echo "train_imdb_quick: passed"
