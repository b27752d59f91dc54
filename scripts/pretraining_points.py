#!/usr/bin/env python3
"""The table and the curve of scripts/pretraining_study.sh: test accuracy after fine-tuning against
the pretraining time it started from.

    python3 scripts/pretraining_points.py PRETRAIN_RUN STUDY_DIR [--png FILE]

PRETRAIN_RUN is a `swarmformer pretrain` run directory (its metrics.jsonl and config.json);
STUDY_DIR holds the fine-tuning runs: `scratch` and `epoch-N` (fine-tuned from epoch N's weights).
Pretraining time at epoch N is the sum of its logged training windows (tokens / tokens per second),
validation excluded. Prints a markdown table; draws the PNG with gnuplot (run without a shell) when
gnuplot is installed. Standard library only.
"""
import argparse
import json
import pathlib
import shutil
import subprocess
import sys


def pretraining_points(run):
    """{epoch: (step, hours, masked-token accuracy)} from a pretraining run's metrics."""
    config = json.loads((run / "config.json").read_text())
    tokens_per_step = config["training"]["batch_size"] * config["model"]["seq_len"]
    seconds, previous_step, points = 0.0, 0, {}
    for line in (run / "metrics.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry["type"] == "train":
            if entry["step"] <= previous_step:  # a resumed run repeats nothing, but be safe
                continue
            seconds += (entry["step"] - previous_step) * tokens_per_step / max(entry["tokens_per_second"], 1.0)
            previous_step = entry["step"]
        elif entry["type"] == "validation" and entry["step"] == previous_step:
            points[entry["epoch"]] = (entry["step"], seconds / 3600.0, entry["masked_token_accuracy"])
    return points


def quoted(path):
    """A gnuplot single-quoted string (a quote inside is doubled)."""
    return "'" + str(path).replace("'", "''") + "'"


def percent(value):
    return f"{100.0 * value:.2f}%"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pretrain_run")
    parser.add_argument("study_dir")
    parser.add_argument("--png", help="where to draw the curve (default STUDY_DIR/pretraining-study.png)")
    args = parser.parse_args()
    run, study = pathlib.Path(args.pretrain_run), pathlib.Path(args.study_dir)
    points = pretraining_points(run)
    rows = []
    for directory in sorted(study.iterdir()):
        report_path = directory / "report.json"
        if not directory.is_dir() or not report_path.exists():
            continue
        report = json.loads(report_path.read_text())
        if directory.name == "scratch":
            epoch, step, hours, mlm = 0, 0, 0.0, None
        elif directory.name.startswith("epoch-") and int(directory.name[6:]) in points:
            epoch = int(directory.name[6:])
            step, hours, mlm = points[epoch]
        else:
            continue
        rows.append((epoch, step, hours, mlm, report))
    rows.sort(key=lambda row: row[0])
    print("| fine-tuned from | pretraining steps | pretraining hours | masked-token accuracy | validation accuracy "
          "| test accuracy | precision | recall | F1 | fine-tuning wall time | processes x threads |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for epoch, step, hours, mlm, report in rows:
        test, validation = report["test"], report.get("validation") or {}
        print("| " + " | ".join([
            "scratch" if epoch == 0 else f"pretraining epoch {epoch}", f"{step:,}", f"{hours:.2f}",
            percent(mlm) if mlm is not None else "", percent(validation.get("accuracy", 0.0)),
            percent(test["accuracy"]), percent(test["precision"]), percent(test["recall"]), percent(test["f1"]),
            f"{report['wall_time_seconds']:,.0f} s", report["parallelism"]]) + " |")
    png = pathlib.Path(args.png) if args.png else study / "pretraining-study.png"
    if rows and shutil.which("gnuplot"):
        data = study / "pretraining-study.dat"
        data.write_text("".join(f"{hours:.4f} {100.0 * report['test']['accuracy']:.3f}\n"
                                for _, _, hours, _, report in rows))
        scratch = [100.0 * report["test"]["accuracy"] for epoch, _, _, _, report in rows if epoch == 0]
        script = "\n".join([
            "set terminal pngcairo size 800,480", f"set output {quoted(png)}",
            "set title 'enhanced-small: IMDB test accuracy after fine-tuning'",
            "set xlabel 'masked-LM pretraining (hours of training)'", "set ylabel 'test accuracy (%)'", "set grid",
            "set key bottom right",
            f"plot {quoted(data)} using 1:2 with linespoints pointtype 7 title 'fine-tuned (same recipe)'" +
            (f", {scratch[0]} with lines dashtype 2 title 'same recipe from scratch'" if scratch else ""), ""])
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
        print(f"\ncurve: {png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
