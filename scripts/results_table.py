#!/usr/bin/env python3
"""Markdown rows of run reports, for docs/results.md: one row per run directory (or eval JSON).

    python3 scripts/results_table.py runs/input-side/baseline runs/input-side/together ...
    python3 scripts/results_table.py --label "windows=4" runs/input-side/windows/test.json

A run directory contributes its report.json (written by `swarmformer train`): the test metrics, the
protocol (checkpoint chosen on validation, or on test under the published protocol), the best
epoch, validation accuracy, training wall time, tokens/s and processes x threads. A JSON file
written by `swarmformer eval` contributes its test metrics only. Standard library only.
"""
import argparse
import json
import pathlib
import sys


def percent(value):
    return f"{100.0 * value:.2f}%"


def row_of(path, label):
    path = pathlib.Path(path)
    if path.is_dir():
        report = json.loads((path / "report.json").read_text())
        test = report["test"]
        chosen = report.get("checkpoint_chosen_on", "validation")
        validation = report.get("validation") or {}
        return [label or path.name, percent(test["accuracy"]), percent(test["precision"]), percent(test["recall"]),
                percent(test["f1"]), "test (published protocol)" if chosen != "validation" else "validation",
                str(report["best_epoch"]), percent(validation["accuracy"]) if chosen == "validation" and validation else "",
                f"{report['wall_time_seconds']:,.0f} s", f"{report['tokens_per_second']:,.0f}", report["parallelism"]]
    result = json.loads(path.read_text())
    return [label or path.parent.name, percent(result["accuracy"]), percent(result["precision"]),
            percent(result["recall"]), percent(result["f1"]), result.get("checkpoint_chosen_on", "validation"),
            "", "", "(evaluation only)", "", ""]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run directories or `swarmformer eval` JSON files")
    parser.add_argument("--label", action="append", default=[], help="a label per run, in order (default: folder name)")
    args = parser.parse_args()
    header = ["run", "test accuracy", "precision", "recall", "F1", "checkpoint chosen on", "best epoch",
              "validation accuracy", "training wall time", "tokens/s", "processes x threads"]
    print("| " + " | ".join(header) + " |")
    print("| --- " * 1 + "| ---: " * 4 + "| --- | ---: | ---: | ---: | ---: | --- |")
    for index, run in enumerate(args.runs):
        label = args.label[index] if index < len(args.label) else None
        print("| " + " | ".join(row_of(run, label)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
