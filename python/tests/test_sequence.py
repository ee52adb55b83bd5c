"""Sequence parallelism from Python (docs/sequence.md): a causal attention
layer with its sequence split over seq=2 runs on 2 ranks under each
attention form like numpy, and the plan names the form."""

import numpy as np
import pytest

import partita as pt
from partita import P

B, S, D, HEADS = 2, 16, 32, 4


def build(rng):
    g = pt.Graph("attention")
    x = g.input("x", (B, S, D))
    w = {n: g.param(n, rng.standard_normal((D, D)).astype(np.float32) / np.sqrt(D))
         for n in ("wq", "wk", "wv", "wo")}
    g.output(pt.nn.attention_layer(x, w["wq"], w["wk"], w["wv"], w["wo"], HEADS), "y")
    pt.annotate(g, {"x": P(None, "seq", None)})
    return g


def reference(g, x):
    p = g.params
    heads = lambda t: t.reshape(B, S, HEADS, D // HEADS).transpose(0, 2, 1, 3)
    q, k, v = (heads(x @ p[n]) for n in ("wq", "wk", "wv"))
    s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(D // HEADS)
    s = np.where(np.tril(np.ones((S, S), bool)), s, -np.inf)
    e = np.exp(s - s.max(-1, keepdims=True))
    o = (e / e.sum(-1, keepdims=True)) @ v
    return o.transpose(0, 2, 1, 3).reshape(B, S, D) @ p["wo"]


@pytest.mark.parametrize("form", ["gather", "ulysses", "ring", "zigzag"])
def test_attention_forms_on_two_ranks(rng, form):
    g = build(rng)
    c = pt.compile(g, mesh={"seq": 2}, attention=form)
    assert f": {form} (requested" in str(c.plan)
    x = rng.standard_normal((B, S, D)).astype(np.float32)
    np.testing.assert_allclose(c.run(x, ranks=2)[0], reference(g, x), rtol=1e-4, atol=1e-4)


def test_auto_picks_ulysses_and_bad_forms_are_refused(rng):
    g = build(rng)
    assert ": ulysses (auto: heads 4 divide over {seq} (2))" in str(
        pt.compile(g, mesh={"seq": 2}).plan)
    with pytest.raises(ValueError, match="unknown attention form 'flash'"):
        pt.compile(g, mesh={"seq": 2}, attention="flash")
    with pytest.raises(ValueError, match="attention forms apply to inference"):
        pt.compile(g, mesh={"seq": 2}, attention="ring", loss="mean")
