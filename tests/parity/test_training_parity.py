"""Step-by-step TRAINING parity of the C++ trainer with PyTorch, for both SwarmFormer variants.

The C++ side is `swarmformer trace`, which runs the trainer's own step functions
(swarmformer/training/include/sf/swarmformer/training_step.hpp): forward, cross-entropy (mean over the
batch), backward, global-norm clipping (factor clip / (norm + 1e-6) when below 1), the learning
rate of the preset's schedule (5% linear warmup, then cosine to 0 over the run), AdamW (β 0.9 /
0.999, ε 1e-8) with weight decay on the weights of rank >= 2 that are not embeddings. The PyTorch
side is the reference model of this folder (swarmformer_reference.py, swarmformer_enhanced_reference.py)
trained by torch.optim.AdamW and torch.nn.utils.clip_grad_norm_ with the same rules, written here.

Both start from the same safetensors (`swarmformer init`) and see the same 30 batches of 8 real
IMDB training reviews (labels balanced), tokenized by the C++ tokenizer (equal to BERT's).
Dropout is 0 and the Gumbel noise off, so both compute the same function.

  float64 on both sides: every step's loss and every final parameter tensor agree within 1e-9
      relative (|a - b|_max <= 1e-9 |b|_max per tensor; the losses |a - b| <= 1e-9 |b|)
  float32 on both sides: every step's loss within 1e-3 relative

Negative controls, in float64, each a deliberately wrong PyTorch training that must FAIL:
β2 = 0.998 instead of 0.999; the clipping threshold 1% higher (the clip is set where some steps
clip and some do not, and the test checks both happen); the classifier bias's update skipped at one
step.

Usage: test_training_parity.py PATH/TO/swarmformer [--workdir DIR]
Data: $SF_DATA_DIR (default ../shared/data next to the source tree) with imdb/train.jsonl.gz and
vocab/bert-base-uncased-vocab.txt; exit 77 (skipped) when they are missing.
"""

import argparse
import gzip
import json
import math
import os
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swarmformer_enhanced_reference as enhanced  # noqa: E402
import swarmformer_reference as original  # noqa: E402
import test_parity as base  # noqa: E402

STEPS, BATCH = 30, 8
NOISE_OFF = ["embedding_dropout=0", "local_dropout=0", "attention_dropout=0", "attention_output_dropout=0",
             "broadcast_dropout=0", "classifier_dropout=0"]
# The clip sits among the gradient norms of these runs (measured: original 0.012-0.096, enhanced
# 1.08-2.73), so some steps clip and some do not; the test checks that both happen.
VARIANTS = [("original-small", original, NOISE_OFF + ["gradient_clip=0.04"]),
            ("enhanced-small", enhanced, NOISE_OFF + ["gumbel_softmax=false", "gradient_clip=1.8"])]
TOLERANCE = {"fp64": 1e-9, "fp32": 1e-3}


class Skip(Exception):
    pass


def data_directory():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("SF_DATA_DIR") or os.path.normpath(os.path.join(here, "..", "..", "..", "shared", "data"))


def imdb_batches(binary, seq_len):
    """STEPS * BATCH training reviews, negative and positive alternating, as id rows and labels."""
    directory = data_directory()
    reviews = os.path.join(directory, "imdb", "train.jsonl.gz")
    vocab = os.path.join(directory, "vocab", "bert-base-uncased-vocab.txt")
    if not (os.path.isfile(reviews) and os.path.isfile(vocab)):
        raise Skip(f"IMDB or the BERT vocabulary not found under {directory} (set SF_DATA_DIR)")
    wanted = STEPS * BATCH // 2
    by_label = {0: [], 1: []}
    with gzip.open(reviews, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if len(by_label[row["label"]]) < wanted:
                by_label[row["label"]].append(row["text"].replace("\n", " "))
            if all(len(texts) == wanted for texts in by_label.values()):
                break
    texts, labels = [], []
    for index in range(wanted):
        for label in (0, 1):
            texts.append(by_label[label][index])
            labels.append(label)
    output = base.run(binary, ["tokenize", "--vocab", vocab, "--seq-len", str(seq_len)], stdin="\n".join(texts) + "\n")
    ids = [[int(token) for token in line.split()] for line in output.splitlines()]
    if len(ids) != len(texts):
        raise RuntimeError(f"tokenize returned {len(ids)} rows for {len(texts)} texts")
    return ids, labels


def learning_rate(step, total, base_rate, warmup_fraction):
    """The trainer's warmup_cosine schedule (make_schedule + LRSchedule::learning_rate), minimum 0."""
    warmup = min(int(math.floor(warmup_fraction * total + 0.5)), total - 1)
    if step < warmup:
        return base_rate * step / warmup
    progress = min(1.0, (step - warmup) / (total - warmup))
    return base_rate * 0.5 * (1.0 + math.cos(math.pi * progress))


def reference_training(module, init_path, ids, labels, training, dtype, control=None):
    """Trains the PyTorch reference STEPS steps; returns (losses, final state_dict, gradient norms)."""
    tensors, metadata = original.read_safetensors(init_path)
    fields = json.loads(metadata["config"])["model"]
    if module is original:
        model = original.SwarmFormer(original.OriginalConfig.from_dict(fields))
    else:
        model = enhanced.EnhancedSwarmFormer(enhanced.EnhancedConfig.from_dict(fields))
    original.load_strictly(model, tensors, init_path)
    model = model.to(dtype).train()
    def is_decayed(name, parameter):  # nn::decay_groups: weights of rank >= 2 that are not embeddings
        return parameter.dim() >= 2 and "embed" not in name
    decayed = [p for name, p in model.named_parameters() if is_decayed(name, p)]
    others = [p for name, p in model.named_parameters() if not is_decayed(name, p)]
    beta2 = 0.998 if control == "beta2" else 0.999
    optimizer = torch.optim.AdamW([{"params": decayed, "weight_decay": training["weight_decay"]},
                                   {"params": others, "weight_decay": 0.0}],
                                  lr=training["learning_rate"], betas=(0.9, beta2), eps=1e-8)
    clip = training["gradient_clip"] * (1.01 if control == "clip" else 1.0)
    ids_tensor = torch.tensor(ids, dtype=torch.long)
    labels_tensor = torch.tensor(labels, dtype=torch.long)
    losses, norms = [], []
    for step in range(STEPS):
        rate = learning_rate(step, STEPS, training["learning_rate"], training["warmup_fraction"])
        for group in optimizer.param_groups:
            group["lr"] = rate
        rows = slice(step * BATCH, (step + 1) * BATCH)
        if hasattr(model, "training_step"):
            model.training_step = step
        loss = F.cross_entropy(model(ids_tensor[rows]), labels_tensor[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), clip)))
        bias_before = model.classifier.bias.detach().clone()
        optimizer.step()
        if control == "skip-bias" and step == STEPS // 2:
            with torch.no_grad():
                model.classifier.bias.copy_(bias_before)
        losses.append(loss.item())
    return losses, {name: value.detach() for name, value in model.state_dict().items()}, norms


def compare(case, losses_cpp, losses_torch, params_cpp, params_torch, tolerance):
    """Raises base.Mismatch naming the first step or tensor outside `tolerance`; returns the worst
    relative differences (loss, parameters)."""
    worst_loss = 0.0
    for step, (a, b) in enumerate(zip(losses_cpp, losses_torch)):
        relative = abs(a - b) / abs(b)
        worst_loss = max(worst_loss, relative)
        if not relative <= tolerance:
            raise base.Mismatch(f"{case}: the loss of step {step} differs: C++ {a!r}, PyTorch {b!r} "
                                f"(relative {relative:.3e} > {tolerance:g})")
    worst_parameter = 0.0
    if params_cpp is not None:
        for name, expected in params_torch.items():
            actual = params_cpp[name].to(expected.dtype)
            scale = expected.abs().max().item()
            relative = (actual - expected).abs().max().item() / max(scale, 1e-300)
            worst_parameter = max(worst_parameter, relative)
            if not relative <= tolerance:
                raise base.Mismatch(f"{case}: final parameter {name} differs: max |d| / max |ref| = {relative:.3e} "
                                    f"> {tolerance:g}")
    return worst_loss, worst_parameter


def check_variant(binary, workdir, preset, module, overrides):
    settings = []
    for assignment in overrides:
        settings += ["--set", assignment]
    config = json.loads(base.run(binary, ["info", "--preset", preset] + settings))["config"]
    ids, labels = imdb_batches(binary, config["seq_len"])
    ids_path, labels_path = os.path.join(workdir, f"{preset}.ids"), os.path.join(workdir, f"{preset}.labels")
    with open(ids_path, "w") as handle:
        handle.write("\n".join(" ".join(map(str, row)) for row in ids) + "\n")
    with open(labels_path, "w") as handle:
        handle.write("\n".join(map(str, labels)) + "\n")
    init_path = os.path.join(workdir, f"{preset}-init.safetensors")
    base.run(binary, ["init", "--preset", preset, "--seed", "5", "--out", init_path] + settings)
    training = json.loads(base.run(binary, ["info", "--preset", preset] + settings))["training"]
    results = {}
    for precision, dtype in (("fp64", torch.float64), ("fp32", torch.float32)):
        final_path = os.path.join(workdir, f"{preset}-{precision}-final.safetensors")
        trace = base.run(binary, ["trace", "--preset", preset, "--init", init_path, "--ids", ids_path, "--labels",
                                  labels_path, "--batch", str(BATCH), "--out", final_path, "--threads", "1",
                                  "--set", f"precision={precision}"] + settings)
        steps = [json.loads(line) for line in trace.splitlines()]
        losses_cpp = [entry["loss"] for entry in steps]
        params_cpp, _ = original.read_safetensors(final_path)
        losses_torch, params_torch, norms = reference_training(module, init_path, ids, labels, training, dtype)
        clipped = sum(norm > training["gradient_clip"] for norm in norms)
        if not 0 < clipped < STEPS:
            raise base.Mismatch(f"{preset}: {clipped} of {STEPS} steps clipped; the clipping control needs some of "
                                f"each (gradient norms {min(norms):.3f}..{max(norms):.3f}, clip "
                                f"{training['gradient_clip']})")
        worst = compare(f"{preset} {precision}", losses_cpp, losses_torch,
                        params_cpp if precision == "fp64" else None, params_torch, TOLERANCE[precision])
        print(f"  {preset} {precision}: {STEPS} steps, loss {losses_cpp[0]:.6f} -> {losses_cpp[-1]:.6f}, "
              f"{clipped} steps clipped; worst relative |d|: loss {worst[0]:.2e}"
              + (f", parameters {worst[1]:.2e}" if precision == "fp64" else ""))
        results[precision] = (losses_cpp, params_cpp)
    losses_cpp, params_cpp = results["fp64"]
    for control in ("beta2", "clip", "skip-bias"):
        losses_torch, params_torch, _ = reference_training(module, init_path, ids, labels, training, torch.float64, control)
        try:
            compare(f"{preset} control {control}", losses_cpp, losses_torch, params_cpp, params_torch, TOLERANCE["fp64"])
        except base.Mismatch as error:
            print(f"  control {control}: rejected as it must be ({str(error).split(': ', 1)[1][:90]}...)")
            continue
        raise base.Mismatch(f"{preset}: the negative control '{control}' was NOT rejected: the comparison cannot see it")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary", help="path to the built swarmformer CLI")
    parser.add_argument("--workdir", help="directory for the checkpoints and id files (default: a temporary one)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.time()
    print(f"training parity: torch {torch.__version__}, {STEPS} steps of {BATCH} IMDB reviews")
    try:
        with tempfile.TemporaryDirectory(prefix="sf_training_parity_") as temporary:
            workdir = args.workdir or temporary
            os.makedirs(workdir, exist_ok=True)
            for preset, module, overrides in VARIANTS:
                check_variant(args.binary, workdir, preset, module, overrides)
    except Skip as reason:
        print(f"training parity: SKIPPED, {reason}")
        return 77
    except base.Mismatch as error:
        print(f"PARITY FAILURE: {error}", file=sys.stderr)
        return 1
    except (RuntimeError, ValueError, KeyError) as error:
        print(f"PARITY ERROR: {error}", file=sys.stderr)
        return 1
    print(f"training parity: OK, {time.time() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
