"""The ORIGINAL SwarmFormer in plain PyTorch, written from docs/design.md §5 (not from the C++ code).

Its state_dict names are the reference model's, which the C++ model also uses, so a checkpoint
written by `swarmformer init` loads here by name:

    embedding.embed.weight
    layers.N.local_agg.mlp.{0,3}.{weight,bias}
    layers.N.local_agg.gate_net.{0,2}.{weight,bias}
    layers.N.global_attn.{query,key,value}.{weight,bias}
    layers.N.broadcast.linear.{weight,bias}
    layers.N.broadcast.gate_net.{0,2}.{weight,bias}
    classifier.{weight,bias}

Shapes: x [B, L, D] tokens, c [B, C, D] clusters with C = L / S.
"""

import json
import math
import struct
from dataclasses import dataclass

import torch
import torch.nn as nn


@dataclass
class OriginalConfig:
    vocab_size: int = 30522
    d_model: int = 128
    seq_len: int = 256
    cluster_size: int = 8
    num_layers: int = 2
    local_steps: int = 3
    num_classes: int = 2
    embedding_dropout: float = 0.4
    local_dropout: float = 0.3
    attention_dropout: float = 0.3
    attention_output_dropout: float = 0.3
    broadcast_dropout: float = 0.1
    classifier_dropout: float = 0.4

    @classmethod
    def from_dict(cls, fields):
        """Picks the fields this model uses from a C++ config dict (extra enhanced keys ignored)."""
        known = {name: fields[name] for name in cls.__dataclass_fields__ if name in fields}
        return cls(**known)


PRESETS = {
    "original-small": OriginalConfig(),
    "original-base": OriginalConfig(d_model=192, seq_len=768, cluster_size=4),
}


def gate_network(d_model):
    return nn.Sequential(nn.Linear(2 * d_model, d_model), nn.GELU(), nn.Linear(d_model, d_model), nn.Sigmoid())


class TokenEmbedding(nn.Module):
    """Embedding(V, D) -> Dropout. No positional embedding."""

    def __init__(self, config):
        super().__init__()
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.dropout = nn.Dropout(config.embedding_dropout)

    def forward(self, ids):
        return self.dropout(self.embed(ids))


class LocalSwarmAggregator(nn.Module):
    """x = drop(x); n = (roll(x,+1) + x + roll(x,-1)) / 3; u = drop(mlp(n));
    g = gate_net([x, u]); x + g * (u - x)."""

    # The two circular shifts along L; the parity test swaps one of them as a negative control.
    shifts = (1, -1)

    def __init__(self, config):
        super().__init__()
        d = config.d_model
        self.mlp = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Dropout(config.local_dropout), nn.Linear(d, d))
        self.dropout = nn.Dropout(config.local_dropout)
        self.gate_net = gate_network(d)

    def forward(self, x):
        x = self.dropout(x)
        left = torch.roll(x, shifts=self.shifts[0], dims=1)
        right = torch.roll(x, shifts=self.shifts[1], dims=1)
        neighbors = (left + x + right) / 3.0
        update = self.dropout(self.mlp(neighbors))
        gate = self.gate_net(torch.cat([x, update], dim=-1))
        return x + gate * (update - x)


class GlobalClusterAttention(nn.Module):
    """drop(softmax(Q K^T / sqrt(D)) with dropout on the weights, times V). No output projection, no residual."""

    def __init__(self, config):
        super().__init__()
        d = config.d_model
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d)
        self.value = nn.Linear(d, d)
        self.scale = 1.0 / math.sqrt(d)
        self.attention_dropout = nn.Dropout(config.attention_dropout)
        self.output_dropout = nn.Dropout(config.attention_output_dropout)

    def forward(self, clusters):
        q, k, v = self.query(clusters), self.key(clusters), self.value(clusters)
        weights = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * self.scale, dim=-1)
        weights = self.attention_dropout(weights)
        return self.output_dropout(torch.matmul(weights, v))


class BroadcastUpdater(nn.Module):
    """gu = drop(linear(r)); g = gate_net([x, gu]); x + g * gu."""

    def __init__(self, config):
        super().__init__()
        d = config.d_model
        self.linear = nn.Linear(d, d)
        self.dropout = nn.Dropout(config.broadcast_dropout)
        self.gate_net = gate_network(d)

    def forward(self, x, cluster_tokens):
        update = self.dropout(self.linear(cluster_tokens))
        gate = self.gate_net(torch.cat([x, update], dim=-1))
        return x + gate * update


class SwarmFormerLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.local_steps = config.local_steps
        self.cluster_size = config.cluster_size
        self.local_agg = LocalSwarmAggregator(config)
        self.global_attn = GlobalClusterAttention(config)
        self.broadcast = BroadcastUpdater(config)

    def forward(self, x):
        for _ in range(self.local_steps):  # the same aggregator T times
            x = self.local_agg(x)
        batch, length, d = x.shape
        count = length // self.cluster_size
        clusters = x.reshape(batch, count, self.cluster_size, d).mean(dim=2)  # contiguous chunks
        clusters = self.global_attn(clusters)
        cluster_tokens = clusters.repeat_interleave(self.cluster_size, dim=1)  # [B, L, D]
        return self.broadcast(x, cluster_tokens)


class SwarmFormer(nn.Module):
    def __init__(self, config):
        super().__init__()
        if config.seq_len % config.cluster_size != 0:
            raise ValueError(f"seq_len {config.seq_len} is not divisible by cluster_size {config.cluster_size}")
        self.config = config
        self.embedding = TokenEmbedding(config)
        self.layers = nn.ModuleList([SwarmFormerLayer(config) for _ in range(config.num_layers)])
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(config.d_model, config.num_classes)

    def forward(self, ids):
        x = self.embedding(ids)
        for layer in self.layers:
            x = layer(x)
        pooled = x.mean(dim=1)  # over all L positions, padding included
        return self.classifier(self.dropout(pooled))


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


# ---- safetensors, read with json + struct only (no dependency on the safetensors package) ----

_DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
           "I64": torch.int64, "I32": torch.int32}


def read_safetensors(path):
    """Returns (tensors: dict name -> torch.Tensor, metadata: dict)."""
    with open(path, "rb") as handle:
        blob = handle.read()
    (header_size,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_size].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    data = blob[8 + header_size:]
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = _DTYPES[entry["dtype"]]
        raw = bytearray(data[begin:end])  # a writable copy; frombuffer warns on read-only bytes
        tensor = torch.frombuffer(raw, dtype=dtype) if end > begin else torch.empty(0, dtype=dtype)
        tensors[name] = tensor.reshape(entry["shape"]).clone()
    return tensors, metadata


def load_checkpoint(path):
    """A SwarmFormer (eval mode, float32) with the checkpoint's weights; its config from the
    file's `config` metadata. Fails if names or shapes differ in either direction."""
    tensors, metadata = read_safetensors(path)
    if "config" not in metadata:
        raise ValueError(f"{path}: no 'config' in the safetensors metadata")
    fields = json.loads(metadata["config"])
    fields = fields.get("model", fields)
    if fields.get("variant", "original") != "original":
        raise ValueError(f"{path}: variant {fields.get('variant')!r}, this reference is the original model only")
    return load_strictly(SwarmFormer(OriginalConfig.from_dict(fields)), tensors, path)


def load_strictly(model, tensors, path):
    """Loads `tensors` (name -> tensor, from `path`) into `model` in eval mode; every name and shape
    must match in both directions."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ValueError(f"{path}: state_dict names differ; missing {missing}, unexpected {unexpected}")
    for name, value in expected.items():
        if tuple(value.shape) != tuple(tensors[name].shape):
            raise ValueError(f"{path}: {name} has shape {tuple(tensors[name].shape)}, expected {tuple(value.shape)}")
    model.load_state_dict({name: t.to(torch.float32) for name, t in tensors.items()}, strict=True)
    return model.eval()
