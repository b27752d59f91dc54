#!/usr/bin/env python3
"""Tabulate the ablation runs of scripts/ablation.sh as Markdown.

    python3 scripts/ablation_table.py runs/ablation [--bench] > docs/ablation-table.md

Reads RUN_ROOT/NAME-seedS/report.json for every run, asks `swarmformer flops` for the analytic
FLOPs of each model, and with --bench measures training and inference tokens/s of each model with
`swarmformer bench` (1 thread, median of 10 steps), one model at a time, so the speed column does
not carry the load of the sweep's concurrent runs. Standard library only.
"""
import argparse
import json
import math
import pathlib
import re
import statistics
import subprocess
import sys

BINARY = pathlib.Path(__file__).resolve().parent.parent / "build" / "bin" / "swarmformer"

# name -> (preset, switch) ; the order of the table
MODELS = [
    ("all-on", "enhanced-small", None),
    ("original", "original-small", None),
    ("no-local-attention", "enhanced-small", "local_attention=false position=none"),
    ("no-multi-head-cluster-attention", "enhanced-small", "multi_head_cluster_attention=false"),
    ("no-dynamic-routing", "enhanced-small", "dynamic_routing=false"),
    ("no-gated-feedback", "enhanced-small", "gated_feedback=false"),
    ("no-pre-layer-norm", "enhanced-small", "pre_layer_norm=false"),
    ("no-tied-qkv", "enhanced-small", "tied_qkv=false"),
    ("no-pyramid", "enhanced-small", "pyramid=false"),
    ("no-gumbel-softmax", "enhanced-small", "gumbel_softmax=false"),
]


def run_json(arguments):
    output = subprocess.run([str(BINARY), *arguments], check=True, capture_output=True, text=True).stdout
    return json.loads(output)


def model_arguments(preset, switch):
    arguments = ["--preset", preset]
    for setting in (switch or "").split():
        arguments += ["--set", setting]
    return arguments


def mean_and_spread(values):
    """'mean ± sample standard deviation' in percent, or the single value."""
    if not values:
        return "–"
    if len(values) == 1:
        return f"{100 * values[0]:.2f}"
    return f"{100 * statistics.mean(values):.2f} ± {100 * statistics.stdev(values):.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=pathlib.Path)
    parser.add_argument("--bench", action="store_true", help="measure tokens/s with swarmformer bench")
    arguments = parser.parse_args()

    runs = {}
    for report_path in sorted(arguments.root.glob("*-seed*/report.json")):
        match = re.fullmatch(r"(.+)-seed(\d+)", report_path.parent.name)
        if not match:
            continue
        report = json.loads(report_path.read_text())
        runs.setdefault(match.group(1), []).append((int(match.group(2)), report))
    if not runs:
        sys.exit(f"ablation_table: no finished runs (report.json) under {arguments.root}")

    any_report = next(iter(runs.values()))[0][1]
    training = any_report["config"]["training"]
    seeds = sorted({seed for entries in runs.values() for seed, _ in entries})
    print(f"Budget of every run: {training.get('max_train_examples')} training reviews, "
          f"{training['epochs']} epochs, batch {training['batch_size']}, L = {any_report['data']['seq_len']}, "
          f"validation {any_report['data']['validation_examples']} reviews, test {any_report['data']['test_examples']} "
          f"reviews; seeds {', '.join(map(str, seeds))}; 1 thread per run.\n")

    header = ["model", "switched off", "parameters", "forward GFLOPs/seq", "train-step GFLOPs/seq",
              "validation acc %", "test acc %", "Δ test vs all-on", "test acc per seed"]
    if arguments.bench:
        header += ["train tok/s", "infer tok/s"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))

    reference_test = None
    for name, preset, switch in MODELS:
        entries = sorted(runs.get(name, []), key=lambda entry: entry[0])
        flops = run_json(["flops", *model_arguments(preset, switch)])
        validation = [report["validation"]["accuracy"] for _, report in entries]
        test = [report["test"]["accuracy"] for _, report in entries]
        parameters = entries[0][1]["parameters"] if entries else "–"
        if name == "all-on" and test:
            reference_test = statistics.mean(test)
        delta = "–"
        if test and reference_test is not None and name != "all-on":
            delta = f"{100 * (statistics.mean(test) - reference_test):+.2f}"
        per_seed = ", ".join(f"{100 * report['test']['accuracy']:.2f} (s{seed})" for seed, report in entries) or "–"
        row = [name, switch.split("=")[0] if switch else ("(enhanced-small)" if name == "all-on" else "(original-small)"),
               f"{parameters:,}" if isinstance(parameters, int) else parameters,
               f"{flops['forward_flops'] / 1e9:.3f}", f"{flops['training_step_flops'] / 1e9:.3f}",
               mean_and_spread(validation), mean_and_spread(test), delta, per_seed]
        if arguments.bench:
            speed = run_json(["bench", *model_arguments(preset, switch), "--threads", "1", "--steps", "10", "--json"])
            row += [f"{speed['train_tokens_per_s']:,.0f}", f"{speed['infer_tokens_per_s']:,.0f}"]
        print("| " + " | ".join(row) + " |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
