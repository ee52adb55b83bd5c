"""A small 2-layer GPT built in Python, Megatron-annotated, planned on model=2
and run on one device and on 2 MPI ranks against a numpy reference."""

import numpy as np

import partita as pt
from partita import P, nn
from reference import np_block, np_layer_norm

B, S, D, H, FF, LAYERS = 2, 8, 16, 4, 32, 2


def build_gpt(rng):
    g = pt.Graph("gpt")
    x = g.input("x", (B, S, D), sharding=P(None, None, None))
    params = []
    for i in range(LAYERS):
        p = nn.transformer_params(g, f"l{i}", D, FF, rng=rng)
        params.append(p)
        x = nn.transformer_block(x, p, heads=H)
        pt.annotate(g, nn.megatron_specs(f"l{i}"))
    fs, fb = g.param("lnf_s", np.ones(D, np.float32)), g.param("lnf_b", np.zeros(D, np.float32))
    g.output(pt.ops.layer_norm(x, fs, fb), "y")
    return g


def test_megatron_plan_two_all_reduces_per_block(rng):
    g = build_gpt(rng)
    c = pt.compile(g, mesh=pt.Mesh({"model": 2}))
    plan = c.plan
    assert plan.count("all_reduce") == 2 * LAYERS, plan.text
    assert {r.collective for r in plan.reshards} == {"all_reduce"}, plan.text
    for r in plan.reshards:
        assert r.bytes == B * S * D * 4 and r.local_bytes == r.bytes
    # Heads are split: the attention output is [B, H/2, S, D/H] per device.
    att = [t for n, t in plan.tensors.items() if n.startswith("attention")]
    assert att and all(t.local_shape == (B, H // 2, S, D // H) for t in att)
    # The text rendering names every collective.
    text = pt.visualize(plan)
    assert text.count("all_reduce{model}") == 2 * LAYERS


def reference(g, x):
    p = {n: v for n, v in g.params.items()}
    want = x
    for i in range(LAYERS):
        want = np_block(want, {k.split(".", 1)[1]: v for k, v in p.items()
                               if k.startswith(f"l{i}.")}, H)
    return np_layer_norm(want, p["lnf_s"], p["lnf_b"])


def test_run_matches_numpy(rng):
    g = build_gpt(rng)
    c = pt.compile(g, mesh={"model": 2})
    x = rng.standard_normal((B, S, D)).astype(np.float32)
    (y,) = c.run({"x": x})
    np.testing.assert_allclose(y, reference(g, x), rtol=1e-4, atol=1e-4)


def test_megatron_on_two_ranks(rng):
    g = build_gpt(rng)
    c = pt.compile(g, mesh={"model": 2})
    # The SPMD program each rank runs: heads and the MLP split in two, two
    # all-reduces per block, nothing else communicated.
    spmd = c.mlir("partitioned")
    assert spmd.count("collectives.all_reduce") == 2 * LAYERS, spmd
    assert "collectives.all_gather" not in spmd
    assert f"tensor<{D}x{D // 2}xf32>" in spmd  # a column block of wq
    x = rng.standard_normal((B, S, D)).astype(np.float32)
    (y,) = c.run({"x": x}, ranks=2)
    assert y.shape == (B, S, D) and y.dtype == np.float32
    np.testing.assert_allclose(y, reference(g, x), rtol=1e-4, atol=1e-4)


def test_trains_through_the_attention_composite(rng):
    # The graph holds graph.attention composites (causal): their gradient
    # rule recomputes the probabilities. On one device the loss falls; with
    # the Megatron annotations on model=2 ranks every loss and trained weight
    # matches one device (--check) and that device's run.
    g = build_gpt(rng)
    x = rng.standard_normal((B, S, D)).astype(np.float32)
    y = rng.standard_normal((B, S, D)).astype(np.float32)
    one = pt.train(g, loss="mse", optimizer="adamw", lr=1e-2)
    losses = one.fit({"x": x}, y, steps=5)
    assert losses[-1] < 0.9 * losses[0], losses
    ranks = pt.train(build_gpt(np.random.default_rng(0)), loss="mse", optimizer="sgd", lr=0.1,
                     mesh=pt.Mesh({"model": 2}), check=True)
    ref = pt.train(build_gpt(np.random.default_rng(0)), loss="mse", optimizer="sgd", lr=0.1)
    got, want = ranks.fit({"x": x}, y, steps=3), ref.fit({"x": x}, y, steps=3)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert "parameters: OK" in ranks.report, ranks.report
