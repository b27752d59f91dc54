"""The ENHANCED SwarmFormer in plain PyTorch, written from docs/design.md §5 (the eight changes), with the
C++ model (swarmformer/model/src/blocks_enhanced.cpp, model.cpp) consulted only where the design leaves a
choice open (which tensor a gate reads, the ε of a mean, how ties are broken).

Its state_dict names are the C++ checkpoint's, so a checkpoint written by `swarmformer init` loads
here by name (all switches on; names of layer N):

    embedding.embed.weight                      [V, D]
    position_embedding                          [L, D]      only with position = "learned"
    layers.N.local.{norm, query, key, value}.{weight, bias},  layers.N.local.gate.{weight, bias} [D, 2D]
    layers.N.local.relative_bias                [H_local, 2w+1]   only with position = "relative"
    layers.N.router.norm.{weight, bias},  layers.N.router.projection.weight  (no bias)
    layers.N.router.prototypes                  [C_N, D]
    layers.N.router.token_gate.{weight, bias}   [1, D], [1]
    layers.N.cluster_attention.norm.{weight, bias}
    layers.N.cluster_attention.attention.{qkv | query, key, value}.{weight, bias},  .output.{weight, bias}
    layers.N.feedback.{token_norm, cluster_norm}.{weight, bias},  .mlp.{0, 3}.{weight, bias},  .gate.{weight, bias}
    final_norm.{weight, bias},  classifier.{weight, bias}

A switch that is off puts the original component back under its original name (local_agg,
global_attn, broadcast; swarmformer_reference.py), and pre_layer_norm off drops every norm.

Shapes: x [B, L, D] tokens, keep [B, L] (True for real tokens, False for padding), clusters
[B, C_l, D] with C_l = (L / S) / f^l under the pyramid, H heads, w window, T local steps.

Train mode does the training computation (dropout, Gumbel noise at the annealed temperature of
`model.training_step`); eval mode is the deterministic path (no dropout, no noise).
"""

import json
import math
import os
import sys
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swarmformer_reference as original  # noqa: E402  (the original blocks and the safetensors reader)


@dataclass
class EnhancedConfig:
    """Every field of the C++ SwarmFormerConfig the enhanced model uses; defaults = enhanced-small."""
    vocab_size: int = 30522
    d_model: int = 128
    seq_len: int = 256
    cluster_size: int = 8
    num_layers: int = 2
    local_steps: int = 2
    num_classes: int = 2
    pad_id: int = 0
    embedding_dropout: float = 0.3
    local_dropout: float = 0.2
    attention_dropout: float = 0.1
    attention_output_dropout: float = 0.1
    broadcast_dropout: float = 0.1
    classifier_dropout: float = 0.3
    local_attention: bool = True
    multi_head_cluster_attention: bool = True
    dynamic_routing: bool = True
    gated_feedback: bool = True
    pre_layer_norm: bool = True
    tied_qkv: bool = True
    pyramid: bool = True
    gumbel_softmax: bool = True
    local_window: int = 8
    local_heads: int = 4
    position: str = "relative"
    cluster_heads: int = 4
    routing_token_fraction: float = 0.5
    feedback_hidden: int = 64
    pyramid_factor: int = 2
    gumbel_temperature_start: float = 1.0
    gumbel_temperature_end: float = 0.5
    gumbel_anneal_steps: int = 2000
    gumbel_hard: bool = False
    mask_padding: bool = True

    @classmethod
    def from_dict(cls, fields):
        """The fields of a C++ config dict (its "variant" key is checked by the caller)."""
        return cls(**{name: fields[name] for name in cls.__dataclass_fields__ if name in fields})

    def clusters_at(self, layer):
        """C_l = C / f^l with the pyramid (integer division each layer, as the C++), else C."""
        count = self.seq_len // self.cluster_size
        for _ in range(layer if self.pyramid else 0):
            count //= self.pyramid_factor
        return count

    def gumbel_temperature(self, step):
        """τ annealed linearly from start to end over gumbel_anneal_steps, then constant."""
        if self.gumbel_anneal_steps <= 0:
            return self.gumbel_temperature_end
        progress = min(max(step / self.gumbel_anneal_steps, 0.0), 1.0)
        return self.gumbel_temperature_start + (self.gumbel_temperature_end - self.gumbel_temperature_start) * progress


PRESETS = {
    "enhanced-small": EnhancedConfig(),
    "enhanced-base": EnhancedConfig(d_model=192, seq_len=768, cluster_size=4),
}


def layer_norm(config):
    """Pre-LN (enhancement 5): LayerNorm(D) before a block, or nothing when the switch is off."""
    return nn.LayerNorm(config.d_model, eps=1e-5) if config.pre_layer_norm else nn.Identity()


def split_heads(x, heads):
    """[B, L, D] -> [B, H, L, D/H]"""
    batch, length, width = x.shape
    return x.reshape(batch, length, heads, width // heads).permute(0, 2, 1, 3)


def merge_heads(x):
    """[B, H, L, D/H] -> [B, L, D]"""
    batch, heads, length, head_width = x.shape
    return x.permute(0, 2, 1, 3).reshape(batch, length, heads * head_width)


def banded_attention(q, k, v, window, relative_bias=None, key_keep=None):
    """Local attention, each query i sees keys j with |i - j| <= w (no wrap-around):

        s_ij = q_i·k_j / sqrt(Dh) + β[h, j - i + w]      (β [H, 2w+1], optional)
        s_ij = -inf  where |i - j| > w, j outside [0, L) or key j is padding
        p_i = softmax_j(s_i)   (a query with no visible key gets p_i = 0),   o_i = Σ_j p_ij v_j

    q, k, v [B, H, L, Dh] -> [B, H, L, Dh]. Computed in blocks of E = max(2w, 16) queries, each
    against the E + 2w keys around it (overlapping windows of the padded keys, `unfold`), so memory
    is O(B·H·L·(E + 2w)), not O(B·H·L²); E trades fewer, larger matmuls against masked entries
    (E + 2w scores per query where 2w + 1 are needed).
    """
    batch, heads, length, head_width = q.shape
    w = window
    block = max(2 * w, 16)
    blocks = -(-length // block)
    padded = blocks * block
    span = block + 2 * w
    q_blocks = F.pad(q, (0, 0, 0, padded - length)).reshape(batch, heads, blocks, block, head_width)

    def neighbourhoods(t):  # [B, H, L, Dh] -> [B, H, n, E + 2w, Dh]: keys b·E - w ... b·E + E + w - 1 of block b
        return F.pad(t, (0, 0, w, padded - length + w)).unfold(2, span, block).transpose(-1, -2)

    k_blocks, v_blocks = neighbourhoods(k), neighbourhoods(v)
    scores = torch.matmul(q_blocks, k_blocks.transpose(-1, -2)) / math.sqrt(head_width)  # [B, H, n, E, E + 2w]

    # Query i = b·E + r, key j = b·E - w + c: the relative offset j - i + w is c - r.
    device = q.device
    row = torch.arange(block, device=device).reshape(block, 1)
    column = torch.arange(span, device=device).reshape(1, span)
    offset = column - row                                                        # [E, E + 2w]
    key_position = torch.arange(blocks, device=device).reshape(blocks, 1, 1) * block - w + column  # [n, 1, E + 2w]
    visible = (offset >= 0) & (offset <= 2 * w) & (key_position >= 0) & (key_position < length)  # [n, E, E + 2w]
    if key_keep is not None:
        keep = F.pad(key_keep.to(q.dtype), (w, padded - length + w)).unfold(1, span, block) > 0  # [B, n, E + 2w]
        visible = visible.unsqueeze(0) & keep.unsqueeze(2)                       # [B, n, E, E + 2w]
    visible = visible.unsqueeze(-4)                                              # [B or 1, 1, n, E, E + 2w]
    if relative_bias is not None:
        scores = scores + relative_bias[:, offset.clamp(0, 2 * w)].unsqueeze(1)  # [H, 1, E, E + 2w]
    # A finite "minus infinity", then zeroing: rows without a visible key give 0, never NaN.
    scores = scores.masked_fill(~visible, torch.finfo(scores.dtype).min)
    probabilities = torch.softmax(scores, dim=-1) * visible
    output = torch.matmul(probabilities, v_blocks)                               # [B, H, n, E, Dh]
    return output.reshape(batch, heads, padded, head_width)[:, :, :length]


class LocalAttentionBlock(nn.Module):
    """Enhancement 1 (with 5): windowed multi-head attention and a sigmoid gate, one local step.

        h = LN(x);  q, k, v = Linear(h) in H heads;  o = banded_attention(q, k, v, w, β, keep)
        u = drop(o);  g = σ(gate([h, u]))            (gate: Linear(2D, D))
        x ← x + g ⊙ u                  with pre-LN (a gated residual branch)
        x ← x + g ⊙ (u − x)            without (the original's gated interpolation, h = x)
    No output projection: the gate plays that role.
    """

    def __init__(self, config):
        super().__init__()
        d = config.d_model
        self.config = config
        self.norm = layer_norm(config)
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        if config.position == "relative":
            self.relative_bias = nn.Parameter(torch.zeros(config.local_heads, 2 * config.local_window + 1))
        else:
            self.relative_bias = None
        self.gate = nn.Linear(2 * d, d)
        self.dropout = nn.Dropout(config.local_dropout)

    def forward(self, x, keep):
        heads = self.config.local_heads
        h = self.norm(x)
        attended = banded_attention(split_heads(self.query(h), heads), split_heads(self.key(h), heads),
                                    split_heads(self.value(h), heads), self.config.local_window,
                                    self.relative_bias, keep)
        update = self.dropout(merge_heads(attended))
        gate = torch.sigmoid(self.gate(torch.cat([h, update], dim=-1)))
        return x + gate * update if self.config.pre_layer_norm else x + gate * (update - x)


def top_fraction_mask(scores, keep, fraction):
    """1 for the ceil(p · n_real) real tokens of each row with the highest scores (ties to the earlier
    token), 0 elsewhere. scores [B, L] -> [B, L, 1]; not differentiable (a selection)."""
    with torch.no_grad():
        batch, length = scores.shape
        real = keep if keep is not None else torch.ones_like(scores, dtype=torch.bool)
        chosen = torch.ceil(fraction * real.sum(dim=1).double()).long()          # [B]
        ranked = scores.masked_fill(~real, float("-inf"))
        order = torch.sort(ranked, dim=1, descending=True, stable=True).indices  # stable: earlier first
        rank = torch.empty_like(order).scatter_(1, order, torch.arange(length).expand(batch, length))
        return (rank < chosen.unsqueeze(1)).to(scores.dtype).unsqueeze(-1)


def gumbel_softmax(logits, temperature, hard):
    """Enhancement 8: softmax((z + γ) / τ), γ = -log(-log u) ~ Gumbel(0, 1), u clamped to
    [1e-10, 1 - 1e-7] as the C++; hard: one-hot of the argmax forward, soft gradient backward
    (straight-through: y_hard - stopgrad(y_soft) + y_soft)."""
    uniform = torch.rand_like(logits).clamp(1e-10, 1.0 - 1e-7)
    soft = torch.softmax((logits - torch.log(-torch.log(uniform))) / temperature, dim=-1)
    if not hard:
        return soft
    one_hot = F.one_hot(soft.argmax(dim=-1), logits.shape[-1]).to(soft.dtype)
    return one_hot - soft.detach() + soft


class Router(nn.Module):
    """Enhancement 3 (with 8): attention-based dynamic routing with a token gate.

        h = LN(x);  z = (h W) Pᵀ / sqrt(D)                  W [D, D] no bias, prototypes P [C_l, D]
        A = softmax(z)                  evaluation (one-hot argmax of z with gumbel_hard)
        A = gumbel_softmax(z, τ, hard)  training with the gumbel_softmax switch
        s = σ(token_gate(h)) [B, L, 1];  m = top_fraction_mask(s, keep, p)
        ω = A ⊙ (s ⊙ m);  c_k = Σ_i ω_ik h_i / (Σ_i ω_ik + 1e-6)        (the assignment-weighted mean)
    Returns (A [B, L, C_l], clusters [B, C_l, D]).
    """

    def __init__(self, config, clusters):
        super().__init__()
        d = config.d_model
        self.config = config
        self.norm = layer_norm(config)
        self.projection = nn.Linear(d, d, bias=False)
        self.prototypes = nn.Parameter(torch.randn(clusters, d))
        self.token_gate = nn.Linear(d, 1)

    def forward(self, x, keep, temperature):
        h = self.norm(x)
        logits = torch.matmul(self.projection(h), self.prototypes.t()) / math.sqrt(self.config.d_model)
        if self.training and self.config.gumbel_softmax:
            assignments = gumbel_softmax(logits, temperature, self.config.gumbel_hard)
        elif self.config.gumbel_hard:
            assignments = F.one_hot(logits.argmax(dim=-1), logits.shape[-1]).to(logits.dtype)
        else:
            assignments = torch.softmax(logits, dim=-1)
        scores = torch.sigmoid(self.token_gate(h))                                     # [B, L, 1]
        selected = top_fraction_mask(scores.squeeze(-1), keep, self.config.routing_token_fraction)
        weights = assignments * (scores * selected)                                    # [B, L, C_l]
        totals = weights.sum(dim=1).unsqueeze(-1) + 1e-6                               # [B, C_l, 1]
        return assignments, torch.matmul(weights.transpose(1, 2), h) / totals


class MultiHeadAttention(nn.Module):
    """Enhancements 2 and 6: over clusters c [B, C, D], no mask:
        q, k, v = c W_qᵀ + b_q, ... (tied: one Linear `qkv`, q = k = v);  per head of Dh = D/H:
        O_h = drop(softmax(q_h k_hᵀ / sqrt(Dh))) v_h;  y = concat_h(O_h) W_oᵀ + b_o   (`output`)"""

    def __init__(self, config):
        super().__init__()
        d = config.d_model
        self.heads = config.cluster_heads
        self.tied = config.tied_qkv
        if self.tied:
            self.qkv = nn.Linear(d, d)
        else:
            self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.output = nn.Linear(d, d)
        self.dropout = nn.Dropout(config.attention_dropout)

    def forward(self, c):
        if self.tied:
            q = k = v = split_heads(self.qkv(c), self.heads)
        else:
            q, k, v = (split_heads(layer(c), self.heads) for layer in (self.query, self.key, self.value))
        weights = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1]), dim=-1)
        return self.output(merge_heads(torch.matmul(self.dropout(weights), v)))


class ClusterSelfAttention(nn.Module):
    """c ← c + drop(MHA(LN(c)))  (pre-LN residual block over the clusters)."""

    def __init__(self, config):
        super().__init__()
        self.norm = layer_norm(config)
        self.attention = MultiHeadAttention(config)
        self.dropout = nn.Dropout(config.attention_output_dropout)

    def forward(self, clusters):
        return clusters + self.dropout(self.attention(self.norm(clusters)))


class GatedFeedback(nn.Module):
    """Enhancement 4: cluster-to-token update through a gated residual MLP. t [B, L, D] is what each
    token reads from the clusters:
        u = t + MLP(LN_c(t))         MLP = Linear(D, hidden)–GELU–Dropout(0)–Linear(hidden, D)
        g = σ(gate([LN_t(x), u]));   x ← x + drop(g ⊙ u)"""

    def __init__(self, config):
        super().__init__()
        d, hidden = config.d_model, config.feedback_hidden
        self.token_norm = layer_norm(config)
        self.cluster_norm = layer_norm(config)
        self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Dropout(0.0), nn.Linear(hidden, d))
        self.gate = nn.Linear(2 * d, d)
        self.dropout = nn.Dropout(config.broadcast_dropout)

    def forward(self, x, cluster_tokens):
        update = cluster_tokens + self.mlp(self.cluster_norm(cluster_tokens))
        gate = torch.sigmoid(self.gate(torch.cat([self.token_norm(x), update], dim=-1)))
        return x + self.dropout(gate * update)


class TiedGlobalClusterAttention(nn.Module):
    """The original single-head cluster attention (scale 1/sqrt(D), no output projection, no
    residual) with enhancement 6 alone: one projection `qkv` for q = k = v."""

    def __init__(self, config):
        super().__init__()
        self.qkv = nn.Linear(config.d_model, config.d_model)
        self.scale = 1.0 / math.sqrt(config.d_model)
        self.attention_dropout = nn.Dropout(config.attention_dropout)
        self.output_dropout = nn.Dropout(config.attention_output_dropout)

    def forward(self, clusters):
        q = self.qkv(clusters)
        weights = self.attention_dropout(torch.softmax(torch.matmul(q, q.transpose(-2, -1)) * self.scale, dim=-1))
        return self.output_dropout(torch.matmul(weights, q))


def uniform_clusters(x, clusters, keep):
    """Contiguous groups of L / C_l tokens; the mean over each group's real tokens when padding is
    masked (an all-padding group is 0). [B, L, D] -> [B, C_l, D]."""
    batch, length, d = x.shape
    grouped = x.reshape(batch, clusters, length // clusters, d)
    if keep is None:
        return grouped.mean(dim=2)
    weights = keep.to(x.dtype).reshape(batch, clusters, length // clusters, 1)
    return (grouped * weights).sum(dim=2) / weights.sum(dim=2).clamp(min=1.0)


class SwarmFormerLayer(nn.Module):
    """T local steps (shared weights) -> clusters (routed, or contiguous groups) -> attention among
    clusters -> every token reads its cluster(s): t = A c (routed) or c_{⌊i/S_l⌋} -> token update."""

    def __init__(self, config, layer_index):
        super().__init__()
        self.config = config
        self.clusters = config.clusters_at(layer_index)
        if config.local_attention:
            self.local = LocalAttentionBlock(config)
        else:
            self.local_agg = original.LocalSwarmAggregator(config)
        if config.dynamic_routing:
            self.router = Router(config, self.clusters)
        if config.multi_head_cluster_attention:
            self.cluster_attention = ClusterSelfAttention(config)
        else:
            self.global_attn = (TiedGlobalClusterAttention if config.tied_qkv else original.GlobalClusterAttention)(config)
        if config.gated_feedback:
            self.feedback = GatedFeedback(config)
        else:
            self.broadcast = original.BroadcastUpdater(config)

    def forward(self, x, keep, temperature):
        config = self.config
        for _ in range(config.local_steps):
            x = self.local(x, keep) if config.local_attention else self.local_agg(x)
        if config.dynamic_routing:
            assignments, clusters = self.router(x, keep, temperature)
        else:
            clusters = uniform_clusters(x, self.clusters, keep)
        clusters = self.cluster_attention(clusters) if config.multi_head_cluster_attention else self.global_attn(clusters)
        if config.dynamic_routing:
            cluster_tokens = torch.matmul(assignments, clusters)                          # [B, L, D]
        else:
            cluster_tokens = clusters.repeat_interleave(x.shape[1] // self.clusters, dim=1)
        return self.feedback(x, cluster_tokens) if config.gated_feedback else self.broadcast(x, cluster_tokens)


class TokenEmbedding(nn.Module):
    """The container of `embed` (so the name reads embedding.embed.weight, as in the original)."""

    def __init__(self, config):
        super().__init__()
        self.embed = nn.Embedding(config.vocab_size, config.d_model)


class EnhancedSwarmFormer(nn.Module):
    """ids [B, L] -> logits [B, classes]:
        keep = ids != pad_id (when mask_padding);  x = drop(embed(ids) [+ position_embedding])
        x = layers(x);  x = final_norm(x) (pre-LN);  pooled = Σ_i keep_i x_i / max(Σ_i keep_i, 1)
        (mean over all L without masking);  logits = classifier(drop(pooled))"""

    def __init__(self, config):
        super().__init__()
        if config.seq_len % config.cluster_size != 0:
            raise ValueError(f"seq_len {config.seq_len} is not divisible by cluster_size {config.cluster_size}")
        if config.position not in ("relative", "learned", "none"):
            raise ValueError(f"position must be 'relative', 'learned' or 'none', got {config.position!r}")
        if config.position == "relative" and not config.local_attention:
            raise ValueError("position 'relative' is a bias of the local attention; it needs local_attention")
        for layer in range(config.num_layers):
            if config.clusters_at(layer) < 1:
                raise ValueError(f"the pyramid falls below one cluster at layer {layer}")
        self.config = config
        self.training_step = 0  # drives the Gumbel temperature, as SwarmFormer::set_training_step
        self.embedding = TokenEmbedding(config)
        if config.position == "learned":
            self.position_embedding = nn.Parameter(0.02 * torch.randn(config.seq_len, config.d_model))
        self.dropout = nn.Dropout(config.embedding_dropout)
        self.layers = nn.ModuleList([SwarmFormerLayer(config, index) for index in range(config.num_layers)])
        if config.pre_layer_norm:
            self.final_norm = nn.LayerNorm(config.d_model, eps=1e-5)
        self.classifier_dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(config.d_model, config.num_classes)

    def forward(self, ids):
        config = self.config
        if ids.dim() != 2 or ids.shape[1] != config.seq_len:
            raise ValueError(f"ids must be [B, seq_len = {config.seq_len}], got {list(ids.shape)}")
        keep = ids != config.pad_id if config.mask_padding else None
        x = self.embedding.embed(ids)
        if config.position == "learned":
            x = x + self.position_embedding
        x = self.dropout(x)
        temperature = config.gumbel_temperature(self.training_step)
        for layer in self.layers:
            x = layer(x, keep, temperature)
        if config.pre_layer_norm:
            x = self.final_norm(x)
        if keep is None:
            pooled = x.mean(dim=1)
        else:
            weights = keep.to(x.dtype).unsqueeze(-1)
            pooled = (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return self.classifier(self.classifier_dropout(pooled))


parameter_count = original.parameter_count
read_safetensors = original.read_safetensors


def load_checkpoint(path):
    """An EnhancedSwarmFormer (eval mode, float32) with the checkpoint's weights, its config from the
    file's `config` metadata. Fails if names or shapes differ in either direction."""
    tensors, metadata = read_safetensors(path)
    if "config" not in metadata:
        raise ValueError(f"{path}: no 'config' in the safetensors metadata")
    fields = json.loads(metadata["config"])
    fields = fields.get("model", fields)
    if fields.get("variant") != "enhanced":
        raise ValueError(f"{path}: variant {fields.get('variant')!r}; this reference is the enhanced model only "
                         f"(swarmformer_reference.py has the original)")
    return original.load_strictly(EnhancedSwarmFormer(EnhancedConfig.from_dict(fields)), tensors, path)
