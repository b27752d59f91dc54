#!/usr/bin/env python3
"""Training and inference speed of this project against PyTorch, side by side, in one go.

    /usr/bin/python3 benchmarks/compare_pytorch.py [--binary build/bin/swarmformer]
        [--presets original-small original-base enhanced-small enhanced-base]
        [--threads 1 2] [--steps 10] [--batch 48] [--rounds 1] [--autocast bf16]

For every preset and thread count it runs, each in a fresh process (so peak RSS is its own):
  ours:    swarmformer bench --preset P --threads T --batch B --steps K --json
  PyTorch: the same model (tests/parity/swarmformer_reference.py for original-*,
           tests/parity/swarmformer_enhanced_reference.py for enhanced-*; both written from docs/design.md §5,
           checked logit for logit against ours by the parity tests, the same parameter count and
           so the same FLOPs), the same random ids, a training step of forward + cross-entropy +
           backward + gradient clipping + AdamW in train mode (dropout on; for enhanced-* also the
           Gumbel-softmax routing noise at the temperature of step 0, as `swarmformer bench`), and
           an inference forward under torch.no_grad() in eval mode, timed over the whole batch and
           in sub-batches of 512 tokens (as ours runs it), the faster counting; torch.set_num_threads(T) and
           OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = T (its BLAS pool included), and
           OpenBLAS's AVX-512 kernels (OPENBLAS_CORETYPE=SkylakeX; --openblas-coretype to change).
With --autocast bf16 both sides run their matrix products in bfloat16 (fp32 accumulation, fp32
master weights): ours `bench --set precision=bf16`, PyTorch its forward and loss under
torch.autocast('cpu', dtype=torch.bfloat16) (oneDNN's bf16 kernels; the backward follows the
forward's dtypes), the optimizer in fp32 on both sides.
Both report medians over K steps after 2 warm-up steps; with --rounds R each side runs R times,
alternating with the other, and keeps its best run (the least disturbed on a shared machine).
The table gives tokens/s and the ratios ours / PyTorch (higher is better for speed, lower for memory).

Needs Debian's python3-torch (run with /usr/bin/python3). The default presets are the original
variant's; name enhanced-small / enhanced-base to compare the enhanced variant. The PyTorch local
attention is computed in blocks of max(2w, 16) queries against the keys around them (O(L·w) memory,
like ours), not as a dense L×L matrix.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def reference_models():
    """{preset: (reference module, model class)} of the PyTorch models in tests/parity/."""
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    sys.path.insert(0, os.path.join(ROOT, "tests", "parity"))
    import swarmformer_enhanced_reference as enhanced
    import swarmformer_reference as original

    models = {name: (original, original.SwarmFormer) for name in original.PRESETS}
    models.update({name: (enhanced, enhanced.EnhancedSwarmFormer) for name in enhanced.PRESETS})
    return models


def torch_worker(preset, threads, batch, steps, autocast):
    """Runs in a child process; prints one JSON object like `swarmformer bench --json`."""
    import contextlib

    import torch

    def precision():
        if autocast == "bf16":
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    torch.set_num_threads(threads)
    torch.manual_seed(1)
    reference, model_class = reference_models()[preset]
    config = reference.PRESETS[preset]
    model = model_class(config)  # an enhanced model's training_step stays 0: τ = gumbel_temperature_start
    if autocast == "bf16":
        # PyTorch 1.13's CPU autocast leaves layer_norm to its input's dtype, and its CPU kernel
        # refuses a bfloat16 input with float32 weights ("expected scalar type BFloat16 but found
        # Float"): give LayerNorm float32 inputs, as autocast's policy intends for normalisations.
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.register_forward_pre_hook(lambda _, inputs: tuple(t.float() for t in inputs))
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "embed" not in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=1e-4)
    generator = torch.Generator().manual_seed(3)
    ids = torch.randint(1000, config.vocab_size, (batch, config.seq_len), generator=generator)
    labels = torch.arange(batch) % 2

    def train_step():
        with precision():
            loss = torch.nn.functional.cross_entropy(model(ids), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # as ours does
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def infer_step():
        with torch.no_grad(), precision():
            model(ids)

    # Ours runs inference in sub-batches of about 512 tokens (SwarmFormer::forward); PyTorch gets
    # the same chance, and the faster of its two ways counts.
    sub_batch = max(1, 512 // config.seq_len)

    def infer_step_in_sub_batches():
        with torch.no_grad(), precision():
            for begin in range(0, batch, sub_batch):
                model(ids[begin:begin + sub_batch])

    def median_seconds(body):
        seconds = []
        for step in range(2 + steps):
            started = time.perf_counter()
            body()
            if step >= 2:
                seconds.append(time.perf_counter() - started)
        return statistics.median(seconds)

    model.train()
    train_seconds = median_seconds(train_step)
    model.eval()
    whole_seconds = median_seconds(infer_step)
    sub_batched_seconds = median_seconds(infer_step_in_sub_batches)
    infer_seconds = min(whole_seconds, sub_batched_seconds)
    tokens = batch * config.seq_len
    print(json.dumps({"preset": preset, "threads": threads, "batch": batch, "seq_len": config.seq_len,
                      "parameters": reference.parameter_count(model),
                      "train_tokens_per_s": tokens / train_seconds, "infer_tokens_per_s": tokens / infer_seconds,
                      "infer_tokens_per_s_whole_batch": tokens / whole_seconds,
                      "infer_tokens_per_s_sub_batches": tokens / sub_batched_seconds,
                      "train_ms_per_step": 1000.0 * train_seconds,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


def torch_environment(threads, openblas_coretype):
    """torch.set_num_threads sets OpenMP's threads, but Debian's PyTorch calls its BLAS through the
    generic libblas.so.3 (OpenBLAS here), whose own pool would still start one thread per core:
    a '1-thread' PyTorch then ran its GEMMs on 2 threads, and at 2 threads 4 threads fought for
    2 cores. Each BLAS/OpenMP pool gets the thread count explicitly.
    Debian's OpenBLAS 0.3.21 does not know Zen 5 and falls back to its SSE3 (Prescott) kernels,
    18 GFLOP/s on a 12288 x 128 x 128 product against 98 with its AVX-512 (SkylakeX) kernels,
    so PyTorch gets those by default: the baseline is PyTorch at its best on this machine."""
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    if openblas_coretype:
        env["OPENBLAS_CORETYPE"] = openblas_coretype
    else:
        env.pop("OPENBLAS_CORETYPE", None)
    return env


def best_of(runs):
    """The least disturbed of several runs: highest throughputs, lowest peak RSS, each on its own."""
    best = dict(runs[0])
    for key in ("train_tokens_per_s", "infer_tokens_per_s"):
        best[key] = max(run[key] for run in runs)
    best["peak_rss_mb"] = min(run["peak_rss_mb"] for run in runs)
    return best


def run_json(command, env=None):
    result = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "bin", "swarmformer"))
    parser.add_argument("--presets", nargs="+", default=["original-small", "original-base"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=1,
                        help="run each side this many times, alternating, and keep each side's best run "
                             "(on a shared machine the best run is the least disturbed one)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON lines too")
    parser.add_argument("--openblas-coretype", default="SkylakeX",
                        help="OPENBLAS_CORETYPE for PyTorch's BLAS (default SkylakeX, its AVX-512 kernels; "
                             "'' leaves OpenBLAS's own choice)")
    parser.add_argument("--autocast", choices=["fp32", "bf16"], default="fp32",
                        help="bf16: both sides multiply in bfloat16 (ours precision=bf16, PyTorch torch.autocast)")
    parser.add_argument("--torch-worker", nargs=2, metavar=("PRESET", "THREADS"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    known = reference_models()
    unknown = [preset for preset in arguments.presets + ([arguments.torch_worker[0]] if arguments.torch_worker else [])
               if preset not in known]
    if unknown:
        parser.error(f"no PyTorch model for preset(s) {', '.join(unknown)}; the presets are {', '.join(sorted(known))}")
    if arguments.rounds < 1 or arguments.steps < 1:
        parser.error(f"--rounds and --steps must be at least 1, got --rounds {arguments.rounds} --steps {arguments.steps}")
    if arguments.torch_worker:
        torch_worker(arguments.torch_worker[0], int(arguments.torch_worker[1]), arguments.batch, arguments.steps,
                     arguments.autocast)
        return

    rows = []
    for preset in arguments.presets:
        for threads in arguments.threads:
            ours_runs, their_runs = [], []
            for _ in range(arguments.rounds):  # alternating, so both sides meet the same machine
                ours_runs.append(run_json([arguments.binary, "bench", "--preset", preset, "--threads", str(threads),
                                           "--batch", str(arguments.batch), "--steps", str(arguments.steps),
                                           "--set", f"precision={arguments.autocast}", "--json"]))
                their_runs.append(run_json([sys.executable, os.path.abspath(__file__), "--torch-worker", preset,
                                            str(threads), "--batch", str(arguments.batch), "--steps",
                                            str(arguments.steps), "--autocast", arguments.autocast],
                                           env=torch_environment(threads, arguments.openblas_coretype)))
                if arguments.json:
                    print(json.dumps({"ours": ours_runs[-1], "pytorch": their_runs[-1]}), flush=True)
            rows.append((preset, threads, best_of(ours_runs), best_of(their_runs)))

    import torch  # only for its version in the header
    coretype = arguments.openblas_coretype or "OpenBLAS's own choice"
    arithmetic = "bf16 (ours precision=bf16, PyTorch autocast)" if arguments.autocast == "bf16" else "fp32"
    print(f"PyTorch {torch.__version__} (OpenBLAS kernels: {coretype}), {arithmetic}, batch {arguments.batch}, "
          f"median of {arguments.steps} steps after 2 warm-up, best of {arguments.rounds} alternating round(s)")
    header = ("| preset | threads | train tok/s ours | train tok/s PyTorch | train ratio | infer tok/s ours | "
              "infer tok/s PyTorch | infer ratio | peak RSS MB ours | peak RSS MB PyTorch | RSS ratio |")
    print(header)
    print("|" + " --- |" * 2 + " ---: |" * 9)
    for preset, threads, ours, theirs in rows:
        print(f"| {preset} | {threads} | {ours['train_tokens_per_s']:,.0f} | {theirs['train_tokens_per_s']:,.0f} | "
              f"{ours['train_tokens_per_s'] / theirs['train_tokens_per_s']:.2f} | {ours['infer_tokens_per_s']:,.0f} | "
              f"{theirs['infer_tokens_per_s']:,.0f} | {ours['infer_tokens_per_s'] / theirs['infer_tokens_per_s']:.2f} | "
              f"{ours['peak_rss_mb']:.0f} | {theirs['peak_rss_mb']:.0f} | {ours['peak_rss_mb'] / theirs['peak_rss_mb']:.2f} |")
    for preset in arguments.presets:
        by_threads = {t: (o, p) for name, t, o, p in rows if name == preset}
        if 1 in by_threads and 2 in by_threads:
            ours_speedup = by_threads[2][0]["train_tokens_per_s"] / by_threads[1][0]["train_tokens_per_s"]
            torch_speedup = by_threads[2][1]["train_tokens_per_s"] / by_threads[1][1]["train_tokens_per_s"]
            print(f"{preset}: 2-thread training speed-up ours {ours_speedup:.2f}x, PyTorch {torch_speedup:.2f}x")


if __name__ == "__main__":
    main()
