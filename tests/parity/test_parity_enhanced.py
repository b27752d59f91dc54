"""Parity of the C++ ENHANCED SwarmFormer with a PyTorch implementation written from docs/design.md §5.

For each case: `swarmformer init` writes a checkpoint, the PyTorch model
(swarmformer_enhanced_reference.py) loads it by state_dict name, both run the same token ids in
eval mode, and the logits must agree to the tolerance of the original's test (test_parity.py):

    |logit_cpp - logit_torch| <= ATOL + RTOL * |logit_torch|,   ATOL = RTOL = 1e-5   (float32)

Each config runs twice: the checkpoint exactly as `swarmformer init` writes it (relative bias zero,
so positions only enter through the window edges), and a "stressed" checkpoint (same names and
shapes, larger weights, a random relative bias, sharper routing; written by Python without
sf_checksum) on which the logits depend strongly enough on the input to expose small mistakes.

Negative controls, each a deliberately broken PyTorch model that must FAIL on every stressed
checkpoint it applies to: the relative bias mirrored (β[h, i - j + w] instead of β[h, j - i + w]);
padding keys visible in the local attention; the token gate off (every real token writes to the
clusters, p = 1); learned positions shifted by one; padding counted in uniform clusters; one roll
of the original local step flipped (the last two for the ablation paths). Parameter counts and every name and shape of the two presets are checked
against `swarmformer info` (enhanced-small 4,279,052, enhanced-base 6,710,284), and the training
path (dropout, Gumbel noise) is run once to check it is finite and reaches every parameter.

Usage: test_parity_enhanced.py PATH/TO/swarmformer [--workdir DIR]
Exit 0 when everything agrees, 1 on any mismatch, 2 on a usage or setup error.
"""

import contextlib
import json
import math
import os
import random
import sys

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swarmformer_enhanced_reference as ref  # noqa: E402
import test_parity as base  # noqa: E402  (ids, comparison, safetensors writing: shared with the original's test)

Mismatch = base.Mismatch
EXPECTED_PARAMS = {"enhanced-small": 4_279_052, "enhanced-base": 6_710_284}


def preset(name, *overrides):
    arguments = ["--preset", name]
    for assignment in overrides:
        arguments += ["--set", assignment]
    return arguments


# (name, init arguments, seed). The tiny configs vary S, layers, T, w, heads, p and the pyramid, and
# two switch the ablation paths (learned positions, untied QKV, hard routing, no padding mask, the
# original components back); the last case is the full enhanced-small preset.
CASES = [
    ("tiny-d32-L64-S8", preset("enhanced-small", "d_model=32", "seq_len=64", "vocab_size=1000"), 11),
    ("tiny-d24-L48-S4-3layers-T3-w5-pyramid12-6-3",
     preset("enhanced-small", "d_model=24", "seq_len=48", "cluster_size=4", "num_layers=3", "local_steps=3",
            "local_window=5", "local_heads=2", "cluster_heads=3", "feedback_hidden=16", "routing_token_fraction=0.3",
            "vocab_size=500"), 3),
    ("tiny-d32-L60-S5-f3-untied-learned-hard-unmasked",
     preset("enhanced-small", "d_model=32", "seq_len=60", "cluster_size=5", "pyramid_factor=3", "local_window=3",
            "local_heads=8", "tied_qkv=false", "position=learned", "gumbel_hard=true", "mask_padding=false",
            "vocab_size=800"), 5),
    ("tiny-d32-L64-S8-original-components",
     preset("enhanced-small", "d_model=32", "seq_len=64", "vocab_size=1000", "local_attention=false",
            "position=none", "dynamic_routing=false", "multi_head_cluster_attention=false", "gated_feedback=false",
            "pre_layer_norm=false"), 13),
    ("enhanced-small", preset("enhanced-small"), 7),
]


# ---- negative controls: deliberately broken variants of the reference -------------------------

@contextlib.contextmanager
def patched(owner, name, replacement):
    saved = getattr(owner, name)
    setattr(owner, name, replacement)
    try:
        yield
    finally:
        setattr(owner, name, saved)


def mirrored_bias(model):
    correct = ref.banded_attention
    return patched(ref, "banded_attention", lambda q, k, v, window, bias=None, keep=None:
                   correct(q, k, v, window, None if bias is None else bias.flip(-1), keep))


def padding_keys_visible(model):
    correct = ref.banded_attention
    return patched(ref, "banded_attention", lambda q, k, v, window, bias=None, keep=None:
                   correct(q, k, v, window, bias, None))


def token_gate_off(model):
    correct = ref.top_fraction_mask
    return patched(ref, "top_fraction_mask", lambda scores, keep, fraction: correct(scores, keep, 1.0))


def padding_in_uniform_clusters(model):
    correct = ref.uniform_clusters
    return patched(ref, "uniform_clusters", lambda x, clusters, keep: correct(x, clusters, None))


def one_roll_flipped(model):
    return patched(ref.original.LocalSwarmAggregator, "shifts", (1, 1))


@contextlib.contextmanager
def positions_shifted(model):
    saved = model.position_embedding.data.clone()
    model.position_embedding.data = torch.roll(saved, shifts=1, dims=0)
    try:
        yield
    finally:
        model.position_embedding.data = saved


# (name, applies to this config, breakage(model) -> a context in which the reference is wrong)
CONTROLS = [
    ("relative bias mirrored", lambda c: c.local_attention and c.position == "relative", mirrored_bias),
    ("padding keys visible", lambda c: c.local_attention and c.mask_padding, padding_keys_visible),
    ("token gate off (p = 1)", lambda c: c.dynamic_routing and c.routing_token_fraction < 1.0, token_gate_off),
    ("learned positions shifted by one", lambda c: c.position == "learned", positions_shifted),
    ("padding counted in the uniform clusters", lambda c: not c.dynamic_routing and c.mask_padding,
     padding_in_uniform_clusters),
    ("one roll flipped (original local step)", lambda c: not c.local_attention, one_roll_flipped),
]


# ---- checks ----------------------------------------------------------------------------------

def check_presets(binary):
    """Parameter count, names and shapes of each preset: PyTorch, C++ `info` and the expected count."""
    for name, expected in EXPECTED_PARAMS.items():
        model = ref.EnhancedSwarmFormer(ref.PRESETS[name])
        info = json.loads(base.run(binary, ["info", "--preset", name]))
        torch_shapes = {key: list(value.shape) for key, value in model.state_dict().items()}
        cpp_shapes = info["parameter_shapes"]
        if torch_shapes != cpp_shapes:
            differing = sorted(key for key in set(torch_shapes) | set(cpp_shapes)
                               if torch_shapes.get(key) != cpp_shapes.get(key))
            raise Mismatch(f"{name}: parameter names or shapes differ from `swarmformer info`: " +
                           ", ".join(f"{key} torch {torch_shapes.get(key)} C++ {cpp_shapes.get(key)}"
                                     for key in differing[:8]))
        counted, cpp = ref.parameter_count(model), int(info["params"])
        print(f"  params {name}: PyTorch {counted:,}  C++ {cpp:,}  expected {expected:,} "
              f"({len(torch_shapes)} tensors, names and shapes equal)")
        if counted != expected or cpp != expected:
            raise Mismatch(f"parameter count of {name}: PyTorch {counted:,}, C++ {cpp:,}, expected {expected:,}")


def check_training_path():
    """Train mode (used by benchmarks/compare_pytorch.py): finite loss, a gradient for every
    parameter, and noise (two forwards of the same ids differ). Not a parity check: the C++ draws
    its dropout and Gumbel noise from its own generator."""
    torch.manual_seed(5)
    for hard in (False, True):
        config = ref.EnhancedConfig(vocab_size=300, d_model=16, seq_len=32, cluster_size=4, local_window=3,
                                    local_heads=2, cluster_heads=2, feedback_hidden=8, gumbel_hard=hard)
        model = ref.EnhancedSwarmFormer(config).train()
        model.training_step = 1000  # halfway through the anneal: τ = 0.75
        ids = torch.randint(1, config.vocab_size, (4, config.seq_len))
        ids[1, 20:] = config.pad_id
        loss = torch.nn.functional.cross_entropy(model(ids), torch.tensor([0, 1, 0, 1]))
        loss.backward()
        silent = [name for name, p in model.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
        if not math.isfinite(loss.item()) or silent:
            raise Mismatch(f"train mode (gumbel_hard={hard}): loss {loss.item()}, parameters without a gradient: {silent}")
        with torch.no_grad():
            if torch.equal(model(ids), model(ids)):
                raise Mismatch(f"train mode (gumbel_hard={hard}): two forwards agree exactly; no dropout or Gumbel noise")
    print("  train mode: finite loss, every parameter gets a gradient, noise present (soft and hard Gumbel)")


def stressed_weights(tensors, seed):
    """Weights redrawn at larger scale (see test_parity.stressed_weights for why): Linear
    W ~ N(0, (gain/sqrt(fan_in))^2) with gain 3 for the local query/key, 2 for the tied cluster qkv
    and the token gate, 1 for the classifier, 1.2 otherwise; biases N(0, 0.3^2); LayerNorm weights
    1 + N(0, 0.2^2); relative bias N(0, 1) (positions matter); prototypes N(0, 2^2) (sharper routing);
    learned positions N(0, 0.5^2). Logits stay O(1), where float32 is well conditioned."""
    generator = torch.Generator().manual_seed(seed)
    gains = {"query": 3.0, "key": 3.0, "qkv": 2.0, "token_gate": 2.0, "classifier": 1.0}

    def normal(shape, scale, mean=0.0):
        return mean + scale * torch.randn(shape, generator=generator)

    result = {}
    for name, tensor in tensors.items():
        if name == "embedding.embed.weight":
            result[name] = normal(tensor.shape, 1.0)
        elif name == "position_embedding":
            result[name] = normal(tensor.shape, 0.5)
        elif name.endswith("relative_bias"):
            result[name] = normal(tensor.shape, 1.0)
        elif name.endswith("prototypes"):
            result[name] = normal(tensor.shape, 2.0)
        elif name.endswith(".bias"):
            result[name] = normal(tensor.shape, 0.3)
        elif tensor.dim() == 1:  # LayerNorm weight
            result[name] = normal(tensor.shape, 0.2, mean=1.0)
        else:
            gain = next((g for key, g in gains.items() if f"{key}." in name or name.startswith(key)), 1.2)
            result[name] = normal(tensor.shape, gain / math.sqrt(tensor.shape[1]))
    return result


def check_checkpoint(binary, workdir, name, checkpoint, seed, require_controls):
    model = ref.load_checkpoint(checkpoint)
    config = model.config

    rows = base.make_id_rows(config.seq_len, config.vocab_size, random.Random(seed * 1000 + 17))
    ids_path = os.path.join(workdir, name.replace(" ", "-") + ".ids")
    with open(ids_path, "w") as handle:
        handle.write("".join(" ".join(map(str, row)) + "\n" for row in rows))
    lines = [line for line in base.run(binary, ["forward", "--checkpoint", checkpoint, "--ids", ids_path]).splitlines()
             if line.strip()]
    if len(lines) != len(rows):
        raise Mismatch(f"{name}: C++ printed {len(lines)} logit lines for {len(rows)} id lines")
    cpp = torch.tensor([json.loads(line) for line in lines], dtype=torch.float64)

    batch = base.to_batch(rows, config.seq_len)
    with torch.no_grad():
        reference = model(batch).to(torch.float64)
        reference64 = model.double()(batch)  # informational: float32 rounding in the reference itself
        model.float()
        controls = []
        for control, applies, breakage in CONTROLS:
            if applies(config):
                with breakage(model):
                    controls.append((control, model(batch).to(torch.float64)))
    max_abs = base.compare(name, cpp, reference)

    notes = []
    for control, broken in controls:
        difference = (cpp - broken).abs().max().item()
        try:
            base.compare(f"{name} ({control})", cpp, broken)
            rejected = False
        except Mismatch:
            rejected = True
        if require_controls and not rejected:
            raise Mismatch(f"{name}: the negative control '{control}' (max |d| {difference:.3e}) passed the "
                           f"tolerance; this comparison cannot see that mistake")
        notes.append(f"{control} {difference:.1e} {'rejected' if rejected else 'NOT rejected'}")
    print(f"  {name}: {len(rows)} rows, seq_len {config.seq_len}, logits up to {reference.abs().max().item():.3g}, "
          f"max |C++ - torch32| = {max_abs:.3e}, |C++ - torch64| = {(cpp - reference64).abs().max().item():.3e}")
    kind = "must be rejected" if require_controls else "informational: init weights, relative bias still zero"
    print(f"      controls ({kind}): {'; '.join(notes) if notes else 'none apply'}")
    return max_abs


def check_case(binary, workdir, name, init_args, seed):
    """The checkpoint exactly as `swarmformer init` writes it, then the same names and shapes with
    stressed weights written by Python."""
    checkpoint = os.path.join(workdir, f"{name}.safetensors")
    base.run(binary, ["init"] + init_args + ["--seed", str(seed), "--out", checkpoint])
    worst = check_checkpoint(binary, workdir, f"{name} init", checkpoint, seed, require_controls=False)

    tensors, metadata = ref.read_safetensors(checkpoint)
    stressed = os.path.join(workdir, f"{name}-stressed.safetensors")
    base.write_safetensors(stressed, stressed_weights(tensors, seed), metadata["config"])
    return max(worst, check_checkpoint(binary, workdir, f"{name} stressed", stressed, seed, require_controls=True))


def run_checks(binary, workdir):
    check_presets(binary)
    check_training_path()
    return max(check_case(binary, workdir, *case) for case in CASES)


def main():
    return base.run_parity("parity (enhanced)", __doc__, CASES, run_checks)


if __name__ == "__main__":
    sys.exit(main())
