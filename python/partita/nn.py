"""Building blocks: a pre-LayerNorm transformer block and an MLP, with the
Megatron-LM tensor-parallel annotations for them.

    params = nn.transformer_params(g, "l0", d_model=64, d_ff=256, rng=rng)
    x = nn.transformer_block(x, params, heads=4)
    annotate(g, nn.megatron_specs("l0"))

Parameter names are ``<prefix>.<name>``: ln1_scale, ln1_bias, wq, wk, wv, wo,
ln2_scale, ln2_bias, w1, b1, w2, b2 (weights are [in, out]).
"""

from __future__ import annotations

import numpy as np

from . import ops
from .graph import Graph, Tensor
from .mesh import P

_NAMES = ("ln1_scale", "ln1_bias", "wq", "wk", "wv", "wo", "ln2_scale", "ln2_bias",
          "w1", "b1", "w2", "b2")


def transformer_params(g: Graph, prefix: str, d_model: int, d_ff: int,
                       rng: np.random.Generator | None = None, dtype=np.float32,
                       scale: float = 0.1) -> dict[str, Tensor]:
    """Random parameters of one block (returns name -> Tensor)."""
    rng = rng if rng is not None else np.random.default_rng(0)

    def rand(*shape):
        return (rng.standard_normal(shape) * scale).astype(dtype)

    values = {
        "ln1_scale": 1 + rand(d_model), "ln1_bias": rand(d_model),
        "wq": rand(d_model, d_model), "wk": rand(d_model, d_model),
        "wv": rand(d_model, d_model), "wo": rand(d_model, d_model),
        "ln2_scale": 1 + rand(d_model), "ln2_bias": rand(d_model),
        "w1": rand(d_model, d_ff), "b1": rand(d_ff), "w2": rand(d_ff, d_model),
        "b2": rand(d_model),
    }
    return {k: g.param(f"{prefix}.{k}", v) for k, v in values.items()}


def mlp(x: Tensor, w1: Tensor, b1: Tensor | None, w2: Tensor, b2: Tensor | None,
        activation=ops.gelu) -> Tensor:
    """``activation(x @ w1 + b1) @ w2 + b2``."""
    return ops.linear(activation(ops.linear(x, w1, b1)), w2, b2)


def attention_layer(x: Tensor, wq, wk, wv, wo, heads: int, causal: bool = True) -> Tensor:
    """Multi-head self-attention over x: [batch, seq, d_model]."""
    q = ops.split_heads(x @ wq, heads)
    k = ops.split_heads(x @ wk, heads)
    v = ops.split_heads(x @ wv, heads)
    return ops.merge_heads(ops.attention(q, k, v, causal=causal)) @ wo


def transformer_block(x: Tensor, p: dict[str, Tensor], heads: int, causal: bool = True,
                      epsilon: float = 1e-5) -> Tensor:
    """Pre-LN block: ``x + attn(ln1(x))``, then ``x + mlp(ln2(x))``."""
    h = ops.layer_norm(x, p["ln1_scale"], p["ln1_bias"], epsilon=epsilon)
    x = x + attention_layer(h, p["wq"], p["wk"], p["wv"], p["wo"], heads, causal)
    h = ops.layer_norm(x, p["ln2_scale"], p["ln2_bias"], epsilon=epsilon)
    return x + mlp(h, p["w1"], p["b1"], p["w2"], p["b2"])


def megatron_specs(prefix: str, axis: str = "model") -> dict[str, P]:
    """Megatron-LM tensor parallelism for one block: Q/K/V and the first MLP
    weight split by columns (heads, hidden units), the output projections by
    rows; one all-reduce after attention and one after the MLP."""
    return {
        f"{prefix}.wq": P(None, axis), f"{prefix}.wk": P(None, axis),
        f"{prefix}.wv": P(None, axis), f"{prefix}.wo": P(axis, None),
        f"{prefix}.w1": P(None, axis), f"{prefix}.b1": P(axis),
        f"{prefix}.w2": P(axis, None),
    }


def moe_router_z_loss(logits: Tensor) -> Tensor:
    """The router z-loss of ST-MoE (docs/experts.md): the mean over the
    tokens of logsumexp(``logits`` [T, E])^2, which keeps the router's
    logits small (stable softmax in low precision). A mean over the
    tokens: with them split over mesh axes it is all-reduced there, so
    every rank sees the global value. Add it, scaled (ST-MoE: 1e-3), to
    the model's loss output."""
    z = ops.logsumexp(logits, axis=-1)
    return ops.mean(z * z)


def moe_load_balancing_loss(logits: Tensor, indices: Tensor, num_experts: int) -> Tensor:
    """The Switch/GShard load-balancing auxiliary loss of a top-k router
    (docs/experts.md): E * sum_i f_i * P_i, with f_i the fraction of the
    T*k assignments routed to expert i (``indices`` [T, k], from
    ``ops.moe_gate``) and P_i the mean router probability of expert i
    (softmax of ``logits`` [T, E]). Its sums over the tokens are ordinary
    reductions: with the tokens split over mesh axes they are all-reduced
    there, so every rank sees the global value. Add it, scaled, to the
    model's loss output."""
    t, k = indices.shape
    probs = ops.softmax(logits, axis=-1)
    experts = logits.graph.const(np.arange(num_experts, dtype=np.int64), "i64")
    # One-hot by comparison: no float constant the training would update.
    chosen = ops.cast(ops.equal(ops.reshape(indices, (t, k, 1)), experts), "f32")
    fraction = ops.sum(chosen, axis=[0, 1]) * (1.0 / (t * k))
    return ops.sum(fraction * ops.mean(probs, axis=0)) * float(num_experts)
