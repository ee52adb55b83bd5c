"""Sequence parallelism from Python (docs/sequence.md): a causal attention
layer with its sequence split over seq=2 runs on 2 ranks under each
attention form like numpy, and the plan names the form."""

import re

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


def test_auto_is_priced_and_bad_forms_are_refused(rng):
    g = build(rng)
    # auto prices every form that applies on this machine and takes the
    # fastest: the chosen form is the first listed, the rest slower.
    plan = str(pt.compile(g, mesh={"seq": 2}).plan)
    m = re.search(r": (\w+) \(auto on '[^']+': (\w+) ([0-9.]+) (\w+)((?: < \w+ [0-9.]+ \w+)*)\)",
                  plan)
    assert m, plan
    assert m.group(1) == m.group(2)
    listed = [m.group(2)] + re.findall(r"< (\w+)", m.group(5))
    # 4 heads over 2 ranks: ulysses, ring and gather apply (zigzag if causal).
    assert {"gather", "ulysses", "ring"} <= set(listed) <= {"gather", "ulysses", "ring", "zigzag"}
    assert len(listed) == len(set(listed))
    with pytest.raises(ValueError, match="unknown attention form 'flash'"):
        pt.compile(g, mesh={"seq": 2}, attention="flash")
    with pytest.raises(ValueError, match="attention forms apply to inference"):
        pt.compile(g, mesh={"seq": 2}, attention="ring", loss="mean")
