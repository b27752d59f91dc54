#!/bin/sh
# Integration: the main job's pipeline on the real IMDB data, shrunk to seconds.
#   train_imdb_quick.sh SWARMFORMER_BINARY WORK_DIR
# Trains enhanced-small on 480 reviews for 10 steps, evaluates on 480 test reviews, then checks
# the run directory (report, checkpoints, metrics), that --resume of the finished run re-evaluates
# to the same test figures, and that a second run without --resume refuses to overwrite it.
# Exits 77 (skipped) where ../shared/data (or $SF_DATA / $SF_VOCAB) is not present.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/common.sh"
require_data "$data" "$vocab"
out="$work/run"
"$binary" train --preset enhanced-small --data "$data" --vocab "$vocab" --out "$out" --cache-dir "$work/cache" \
  --no-progress --threads 1 --set max_train_examples=480 --set max_eval_examples=480 --set epochs=1 \
  --set log_every=5 --set batch_size=48 --set eval_every_steps=5 > "$work/first.json"
for file in report.md report.json config.json metrics.jsonl last.safetensors best.safetensors; do
  [ -s "$out/$file" ] || { echo "FAIL: $out/$file missing"; exit 1; }
done
# eval_every_steps=5 over 10 steps: a validation at step 5 and one at the end of the epoch.
[ "$(grep -c '"type":"validation"' "$out/metrics.jsonl")" = 2 ] || { echo "FAIL: expected 2 validation lines in metrics.jsonl"; exit 1; }
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
# `eval` of the chosen checkpoint on the same 480 test reviews gives the report's figures; with
# precision=bf16 it names that arithmetic and stays within bfloat16's reach of them.
"$binary" eval --checkpoint "$out/best.safetensors" --data "$data" --vocab "$vocab" --max-examples 480 --threads 1 \
  > "$work/eval_fp32.json"
"$binary" eval --checkpoint "$out/best.safetensors" --data "$data" --vocab "$vocab" --max-examples 480 --threads 1 \
  --set precision=bf16 > "$work/eval_bf16.json"
python3 - "$work/first.json" "$work/eval_fp32.json" "$work/eval_bf16.json" <<'PY'
import json, sys
trained, exact, rounded = (json.load(open(path)) for path in sys.argv[1:4])
trained = trained["test"]
assert exact["examples"] == 480 and exact["accuracy"] == trained["accuracy"], (exact, trained)
assert exact["arithmetic"] == "float32", exact["arithmetic"]
assert rounded["arithmetic"].startswith("bfloat16 products"), rounded["arithmetic"]
assert abs(rounded["loss"] - exact["loss"]) < 0.02 and abs(rounded["accuracy"] - exact["accuracy"]) < 0.03, (rounded, exact)
PY
if "$binary" eval --checkpoint "$out/best.safetensors" --data "$data" --vocab "$vocab" --set precision=fp16 \
    > "$work/eval_bad.txt" 2>&1; then
  echo "FAIL: eval accepted precision=fp16"; exit 1
fi
grep -q "precision must be fp32, bf16 or auto" "$work/eval_bad.txt" || { echo "FAIL: unclear error"; cat "$work/eval_bad.txt"; exit 1; }
# Without --resume the run directory is never overwritten.
if "$binary" train --data "$data" --vocab "$vocab" --out "$out" --no-progress > "$work/third.txt" 2>&1; then
  echo "FAIL: a second train into $out succeeded"; exit 1
fi
grep -q "already holds a run" "$work/third.txt" || { echo "FAIL: unclear error"; cat "$work/third.txt"; exit 1; }
# The published protocol chooses on test: refused without --select-on-test, labelled when given.
published="$work/published"
if "$binary" train --config "$here/../../configs/original-small-published.json" --data "$data" --vocab "$vocab" \
    --out "$published" --no-progress > "$work/refused.txt" 2>&1; then
  echo "FAIL: checkpoint_selection=test ran without --select-on-test"; exit 1
fi
grep -q "pass --select-on-test" "$work/refused.txt" || { echo "FAIL: unclear refusal"; cat "$work/refused.txt"; exit 1; }
if "$binary" train --preset enhanced-small --select-on-test --data "$data" --vocab "$vocab" --out "$published" \
    --no-progress > "$work/refused2.txt" 2>&1; then
  echo "FAIL: --select-on-test accepted with a config that chooses on validation"; exit 1
fi
"$binary" train --config "$here/../../configs/original-small-published.json" --select-on-test --data "$data" \
  --vocab "$vocab" --out "$published" --cache-dir "$work/cache" --no-progress --threads 1 \
  --set max_train_examples=96 --set max_eval_examples=96 --set epochs=1 > "$work/published.json"
head -3 "$published/report.md" | grep -q "chosen on test (published protocol)" || { echo "FAIL: report.md not labelled"; exit 1; }
python3 - "$published/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
assert report["checkpoint_chosen_on"] == "test (published protocol)", report["checkpoint_chosen_on"]
data = report["data"]
assert data["validation_examples"] == data["test_examples"] == 96, data
augmented = data["augmentation"]  # 96 reviews + about 30% + 30% copies + 24 concatenations
assert augmented["original"] == 96 and augmented["concatenate"] == 24, augmented
assert data["train_examples"] == augmented["total"] > 96 + 24, data
PY
echo "train_imdb_quick: passed"
