"""Parity of the C++ ORIGINAL SwarmFormer with a PyTorch implementation written from docs/design.md §5.

For each case: `swarmformer init` writes a checkpoint, the PyTorch model (swarmformer_reference.py)
loads it by state_dict name, both run the same token ids in eval mode, and the logits must agree to

    |logit_cpp - logit_torch| <= ATOL + RTOL * |logit_torch|,   ATOL = RTOL = 1e-5   (float32)

Each config runs twice: with the checkpoint exactly as `swarmformer init` writes it, and with a
"stressed" checkpoint (same names and shapes, larger weights, written by Python without
sf_checksum) on which the logits depend strongly enough on the input to expose small mistakes.

Negative control: the same comparison is run against a deliberately broken PyTorch model (one of
the two rolls flipped, so both shift by +1) and must FAIL on the stressed checkpoints, proving the
tolerance can see a one-token misalignment. Parameter counts of the presets are checked too (small 4,302,850, base 6,749,186).

Usage: test_parity.py PATH/TO/swarmformer [--workdir DIR]
Exit 0 when everything agrees, 1 on any mismatch, 2 on a usage or setup error.
"""

import argparse
import json
import math
import os
import random
import struct
import subprocess
import sys
import tempfile
import time

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swarmformer_reference as ref  # noqa: E402

ATOL = 1e-5
RTOL = 1e-5
EXPECTED_PARAMS = {"original-small": 4_302_850, "original-base": 6_749_186}

# (name, init arguments, seed). The tiny configs keep the test fast and vary S, layers and T;
# the last case is the full original-small preset.
CASES = [
    ("tiny-d32-L64-S8", ["--preset", "original-small", "--set", "d_model=32", "--set", "seq_len=64",
                         "--set", "vocab_size=1000"], 11),
    ("tiny-d24-L48-S4-3layers-T2", ["--preset", "original-small", "--set", "d_model=24", "--set", "seq_len=48",
                                    "--set", "cluster_size=4", "--set", "num_layers=3", "--set", "local_steps=2",
                                    "--set", "vocab_size=500"], 3),
    ("original-small", ["--preset", "original-small"], 7),
]


class Mismatch(Exception):
    pass


def run(binary, args, stdin=None):
    result = subprocess.run([binary] + args, capture_output=True, text=True, input=stdin)
    if result.returncode != 0:
        raise RuntimeError(f"`{' '.join([binary] + args)}` exited {result.returncode}:\n{result.stderr}{result.stdout}")
    return result.stdout


def make_id_rows(seq_len, vocab_size, rng):
    """Lines of token ids covering: full length, short, padding inside, too long (truncated),
    empty (all padding), a single token, the largest id."""
    def tokens(count):
        return [rng.randrange(1, vocab_size) for _ in range(count)]

    rows = [
        tokens(seq_len),                                                  # full length, no padding
        tokens(seq_len // 3),                                             # shorter than seq_len
        [t if rng.random() > 0.3 else 0 for t in tokens(seq_len)],        # zeros inside
        tokens(seq_len + 7),                                              # truncated to seq_len
        [],                                                               # empty line: all padding
        [0],                                                              # explicit padding only
        [vocab_size - 1],                                                 # one token, the last id
        tokens(rng.randrange(2, seq_len)) + [0, 0, 0],                    # random length, trailing zeros
        [vocab_size - 1] * (seq_len // 2) + tokens(seq_len // 2),         # a repeated token then random
    ]
    return rows


def to_batch(rows, seq_len):
    batch = torch.zeros(len(rows), seq_len, dtype=torch.long)
    for index, row in enumerate(rows):
        row = row[:seq_len]
        if row:
            batch[index, :len(row)] = torch.tensor(row, dtype=torch.long)
    return batch


def compare(name, cpp, torch_logits):
    """Max abs difference; raises Mismatch naming the worst element if outside the tolerance."""
    if cpp.shape != torch_logits.shape:
        raise Mismatch(f"{name}: C++ logits shape {tuple(cpp.shape)} != PyTorch {tuple(torch_logits.shape)}")
    difference = (cpp - torch_logits).abs()
    allowed = ATOL + RTOL * torch_logits.abs()
    bad = ~(difference <= allowed)  # written so that a NaN on either side counts as outside
    max_abs = difference.max().item()
    if bad.any():
        excess = torch.nan_to_num(difference - allowed, nan=float("inf")).flatten()
        worst = int(torch.argmax(excess))
        row, column = divmod(worst, cpp.shape[1])
        raise Mismatch(f"{name}: {int(bad.sum())} of {bad.numel()} logits outside |d| <= {ATOL} + {RTOL}|ref|; "
                       f"max |d| = {max_abs:.3e}; worst row {row} class {column}: "
                       f"C++ {cpp[row, column].item():.9g} vs PyTorch {torch_logits[row, column].item():.9g}")
    return max_abs


def check_parameter_counts(binary):
    for preset, expected in EXPECTED_PARAMS.items():
        counted = ref.parameter_count(ref.SwarmFormer(ref.PRESETS[preset]))
        info = json.loads(run(binary, ["info", "--preset", preset]))
        cpp = int(info["params"])
        print(f"  params {preset}: PyTorch {counted:,}  C++ {cpp:,}  expected {expected:,}")
        if counted != expected or cpp != expected:
            raise Mismatch(f"parameter count of {preset}: PyTorch {counted:,}, C++ {cpp:,}, expected {expected:,}")


def write_safetensors(path, tensors, config_json):
    """A plain safetensors file (as a PyTorch user would write one: no sf_checksum), with the model
    config in __metadata__ and listed in sf_json_keys so `swarmformer forward` finds it."""
    header, blobs, offset = {}, [], 0
    for name, tensor in tensors.items():
        data = tensor.to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt", "config": config_json, "sf_json_keys": json.dumps(["config"])}
    encoded = json.dumps(header).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def stressed_weights(tensors, seed):
    """Weights redrawn at larger scale. At PyTorch's default init the logits hardly depend on the
    input (near-uniform cluster attention, small gates, mean pooling), so details such as the
    attention scale or the cluster-to-token order would hide below the tolerance; with these
    weights they do not. Linear W ~ N(0, (gain/sqrt(fan_in))^2), biases ~ N(0, 0.3^2).
    Moderate on purpose: much larger weights (logits ~50) make float32 itself ill-conditioned
    (PyTorch float32 vs float64 then differ by ~1e-3), which would test rounding, not the model."""
    generator = torch.Generator().manual_seed(seed)
    gains = {"query": 3.0, "key": 3.0, "classifier": 1.0}
    result = {}
    for name, tensor in tensors.items():
        if name == "embedding.embed.weight":
            result[name] = torch.randn(tensor.shape, generator=generator)
        elif name.endswith(".bias"):
            result[name] = 0.3 * torch.randn(tensor.shape, generator=generator)
        else:
            gain = next((g for key, g in gains.items() if f"{key}." in name or name.startswith(key)), 1.2)
            result[name] = gain / math.sqrt(tensor.shape[1]) * torch.randn(tensor.shape, generator=generator)
    return result


def check_checkpoint(binary, workdir, name, checkpoint, seed, require_control):
    model = ref.load_checkpoint(checkpoint)
    config = model.config

    rows = make_id_rows(config.seq_len, config.vocab_size, random.Random(seed * 1000 + 17))
    ids_path = os.path.join(workdir, name.replace(" ", "-") + ".ids")
    with open(ids_path, "w") as handle:
        handle.write("".join(" ".join(map(str, row)) + "\n" for row in rows))

    lines = [line for line in run(binary, ["forward", "--checkpoint", checkpoint, "--ids", ids_path]).splitlines()
             if line.strip()]
    if len(lines) != len(rows):
        raise Mismatch(f"{name}: C++ printed {len(lines)} logit lines for {len(rows)} id lines")
    cpp = torch.tensor([json.loads(line) for line in lines], dtype=torch.float64)

    batch = to_batch(rows, config.seq_len)
    with torch.no_grad():
        reference = model(batch).to(torch.float64)
        reference64 = model.double()(batch)  # informational: float32 rounding in the reference itself
        model.float()
        # Negative control: one roll flipped, so both shift by +1.
        ref.LocalSwarmAggregator.shifts = (1, 1)
        try:
            broken = model(batch).to(torch.float64)
        finally:
            ref.LocalSwarmAggregator.shifts = (1, -1)
    max_abs = compare(name, cpp, reference)
    control = (cpp - broken).abs().max().item()
    try:
        compare(f"{name} (control)", cpp, broken)
        control_caught = False
    except Mismatch:
        control_caught = True
    if require_control and not control_caught:
        raise Mismatch(f"{name}: the negative control (one roll flipped, max |d| {control:.3e}) passed the "
                       f"tolerance; this comparison cannot see a one-token shift")
    print(f"  {name}: {len(rows)} rows, seq_len {config.seq_len}, logits up to {reference.abs().max().item():.3g}, "
          f"max |C++ - torch32| = {max_abs:.3e}, |C++ - torch64| = {(cpp - reference64).abs().max().item():.3e}; "
          f"flipped-roll control max |d| = {control:.3e} ({'rejected' if control_caught else 'NOT rejected'})")
    return max_abs


def check_case(binary, workdir, name, init_args, seed):
    """The checkpoint exactly as `swarmformer init` writes it, then the same names and shapes with
    stressed weights written by Python."""
    checkpoint = os.path.join(workdir, f"{name}.safetensors")
    run(binary, ["init"] + init_args + ["--seed", str(seed), "--out", checkpoint])
    worst = check_checkpoint(binary, workdir, f"{name} init", checkpoint, seed, require_control=False)

    tensors, metadata = ref.read_safetensors(checkpoint)
    stressed = os.path.join(workdir, f"{name}-stressed.safetensors")
    write_safetensors(stressed, stressed_weights(tensors, seed), metadata["config"])
    return max(worst, check_checkpoint(binary, workdir, f"{name} stressed", stressed, seed, require_control=True))


def run_parity(label, description, cases, run_checks):
    """The command line shared by the parity scripts: parses `binary [--workdir DIR]`, sets up
    float32 single-threaded torch, runs run_checks(binary, workdir) -> worst |d| and prints the
    verdict. Exit status 0 when everything agrees, 1 on a mismatch or error, 2 on bad usage."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary", help="path to the built swarmformer CLI")
    parser.add_argument("--workdir", help="directory for checkpoints and id files (default: a temporary one)")
    args = parser.parse_args()
    if not (os.path.isfile(args.binary) and os.access(args.binary, os.X_OK)):
        print(f"parity: {args.binary} is not an executable file", file=sys.stderr)
        return 2

    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(0)
    start = time.time()
    print(f"{label}: torch {torch.__version__}, tolerance |d| <= {ATOL} + {RTOL}|ref| (float32)")
    try:
        with tempfile.TemporaryDirectory(prefix="sf_parity_") as temporary:
            workdir = args.workdir or temporary
            os.makedirs(workdir, exist_ok=True)
            worst = run_checks(args.binary, workdir)
    except Mismatch as error:
        print(f"PARITY FAILURE: {error}", file=sys.stderr)
        return 1
    except (RuntimeError, ValueError, KeyError) as error:
        print(f"PARITY ERROR: {error}", file=sys.stderr)
        return 1
    print(f"{label}: OK, {len(cases)} cases, max |d| = {worst:.3e}, {time.time() - start:.1f} s")
    return 0


def run_checks(binary, workdir):
    check_parameter_counts(binary)
    return max(check_case(binary, workdir, *case) for case in CASES)


def main():
    return run_parity("parity", __doc__, CASES, run_checks)


if __name__ == "__main__":
    sys.exit(main())
