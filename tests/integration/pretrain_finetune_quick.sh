#!/bin/sh
# Integration: self-pretraining then fine-tuning, on a small slice of the real IMDB files.
#   pretrain_finetune_quick.sh SWARMFORMER_BINARY WORK_DIR
# Builds a folder with 200 training, 100 test and 300 unlabelled reviews (the unlabelled ones
# include a copy of a test review), pretrains a small enhanced model 12 steps, checks the run
# directory and that the test copy was kept out of the corpus, resumes it bit for bit, then
# fine-tunes from its best checkpoint with --init-from for 2 epochs, keeping each epoch's weights,
# and checks what was loaded.
# Exits 77 (skipped) where ../shared/data (or $SF_DATA / $SF_VOCAB) is not present.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/common.sh"
require_data "$data/train.jsonl.gz" "$data/unsup.jsonl.gz" "$vocab"
mkdir -p "$work/imdb"
python3 - "$data" "$work/imdb" <<'PY'
import gzip, itertools, json, sys
source, target = sys.argv[1:3]
def rows(name, count, both_labels):
    with gzip.open(f"{source}/{name}.jsonl.gz", "rt", encoding="utf-8") as handle:
        lines = [json.loads(line) for line in handle]
    if both_labels:  # half of each class
        return [r for r in lines if r["label"] == 0][:count // 2] + [r for r in lines if r["label"] == 1][:count // 2]
    return lines[:count]
test = rows("test", 100, True)
unsup = rows("unsup", 299, False) + [{"id": "train/unsup/copy", "text": test[3]["text"]}]
for name, part in (("train", rows("train", 200, True)), ("test", test), ("unsup", unsup)):
    with open(f"{target}/{name}.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in part)
PY
small="--set d_model=32 --set seq_len=64 --set cluster_size=8 --set local_heads=2 --set cluster_heads=2 --set feedback_hidden=16"
out="$work/pretrain"
# shellcheck disable=SC2086
"$binary" pretrain --preset enhanced-small --data "$work/imdb" --vocab "$vocab" --out "$out" --no-progress --threads 1 \
  $small --set max_steps=12 --set batch_size=16 --set log_every=4 --set eval_every_steps=6 --set validation_fraction=0.05 \
  --set learning_rate=2e-3 > "$work/pretrain.json"
for file in report.md report.json config.json metrics.jsonl last.safetensors best.safetensors; do
  [ -s "$out/$file" ] || { echo "FAIL: $out/$file missing"; exit 1; }
done
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
report = json.load(open(f"{out}/report.json"))
assert report["task"] == "masked_lm", report["task"]
data = report["data"]
assert data["test_copies_removed"] == 1, data            # the unlabelled copy of a test review
assert data["train_texts"] + data["validation_texts"] == 200 + 299, data
lines = [json.loads(line) for line in open(f"{out}/metrics.jsonl")]
train = [line for line in lines if line["type"] == "train"]
assert len(train) == 3 and train[0]["loss"] > train[-1]["loss"] > 0, train   # it learns
assert 9.0 < train[0]["loss"] < 12.0, train[0]                                # about ln(30522) at the start
validation = [line for line in lines if line["type"] == "validation"]
assert len(validation) == 2 and all(0.0 <= v["masked_token_accuracy"] <= 1.0 for v in validation), validation
PY
# Resume: 6 steps, then 6 more, equals the 12 straight, bit for bit.
half="$work/half"
# shellcheck disable=SC2086
"$binary" pretrain --preset enhanced-small --data "$work/imdb" --vocab "$vocab" --out "$half" --no-progress --threads 1 \
  $small --set max_steps=6 --set batch_size=16 --set log_every=4 --set eval_every_steps=6 --set validation_fraction=0.05 \
  --set learning_rate=2e-3 > /dev/null
"$binary" pretrain --data "$work/imdb" --vocab "$vocab" --out "$half" --no-progress --threads 1 --resume \
  --set max_steps=12 > /dev/null
python3 - "$out/metrics.jsonl" "$half/metrics.jsonl" <<'PY'
import json, sys
def last_losses(path):
    return [json.loads(line)["last_loss"] for line in open(path) if '"train"' in line]
straight, resumed = last_losses(sys.argv[1]), last_losses(sys.argv[2])
assert straight[-1] == resumed[-1], (straight, resumed)
PY
# Fine-tune from the pretrained encoder, into a folder whose name has a quote and a space (the
# curves are drawn without a shell).
tuned="$work/fine tune's run"
# shellcheck disable=SC2086
"$binary" train --preset enhanced-small --data "$work/imdb" --vocab "$vocab" --out "$tuned" --no-progress --threads 1 \
  $small --set epochs=2 --set batch_size=16 --set keep_epoch_checkpoints=true --init-from "$out/best.safetensors" \
  > "$work/finetune.json" 2> "$work/finetune.log"
[ -s "$tuned/curves.png" ] || { echo "FAIL: no curves.png in $tuned"; cat "$tuned/curves.log"; exit 1; }
grep -q "init-from .*loaded .* tensors; new: classifier.weight, classifier.bias" "$work/finetune.log" || {
  echo "FAIL: --init-from did not report the classifier as new"; cat "$work/finetune.log"; exit 1; }
python3 - "$tuned/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
init = report["init_from"]
assert init["new"] == ["classifier.weight", "classifier.bias"], init
assert all(name.startswith(("mlm_head.", "classifier.")) for name in init["unused"]), init
assert len(init["fnv1a64"]) == 16 and init["loaded"] > 50, init
assert report["test"]["examples"] == 100, report["test"]
# keep_epoch_checkpoints: one file per epoch, and the best checkpoint is byte for byte the one of its epoch.
directory = sys.argv[1].rsplit("/", 1)[0]
for epoch in (1, 2):
    data = open(f"{directory}/epoch-{epoch}.safetensors", "rb").read()
    header = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])
    assert json.loads(header["__metadata__"]["epoch"]) == epoch, header["__metadata__"]
assert open(f"{directory}/best.safetensors", "rb").read() == \
    open(f"{directory}/epoch-{report['best_epoch']}.safetensors", "rb").read(), "best differs from its epoch's file"
PY
# explain: JSON per layer and the routing picture, drawn without a shell into a folder with a quote.
"$binary" explain --checkpoint "$tuned/best.safetensors" --vocab "$vocab" --png "$tuned/routing.png" --top 2 \
  "A wonderful film." "Dull." > "$work/explain.json"
[ -s "$tuned/routing.png" ] || { echo "FAIL: explain drew no routing.png"; cat "$tuned/routing.png.log"; exit 1; }
python3 - "$work/explain.json" <<'PY'
import json, sys
explanations = json.load(open(sys.argv[1]))
assert len(explanations) == 2, len(explanations)
first = explanations[0]
assert first["pieces"][0] == "[CLS]" and first["pieces"][-1] == "[SEP]", first["pieces"]
assert len(first["layers"]) == 2 and all(len(layer["routing"]) == len(first["pieces"]) for layer in first["layers"])
assert all(len(entry["clusters"]) == 2 for entry in first["layers"][0]["routing"])
PY
# A checkpoint of another shape is refused with every mismatch named.
if "$binary" train --preset enhanced-small --data "$work/imdb" --vocab "$vocab" --out "$work/bad" --no-progress \
    --init-from "$out/best.safetensors" > "$work/bad.log" 2>&1; then
  echo "FAIL: a d_model=32 checkpoint initialized a d_model=128 model"; exit 1
fi
grep -q "shape mismatch for 'embedding.embed.weight'" "$work/bad.log" || { echo "FAIL: unclear mismatch error"; cat "$work/bad.log"; exit 1; }
echo "pretrain_finetune_quick: passed"
