"""A 2-layer MLP built in Python: Megatron annotations, plans, single-device run."""

import numpy as np
import pytest

import partita as pt
from partita import P


def build_mlp(rng, batch=8, d=16, hidden=32):
    g = pt.Graph("mlp")
    x = g.input("x", (batch, d), "f32")
    w1 = g.param("w1", rng.standard_normal((d, hidden)).astype(np.float32))
    b1 = g.param("b1", rng.standard_normal(hidden).astype(np.float32))
    w2 = g.param("w2", rng.standard_normal((hidden, d)).astype(np.float32))
    b2 = g.param("b2", rng.standard_normal(d).astype(np.float32))
    h = pt.ops.relu(x @ w1 + b1, name="h")
    g.output(h @ w2 + b2, "y")
    return g


def reference(g, x):
    p = g.params
    return np.maximum(x @ p["w1"] + p["b1"], 0) @ p["w2"] + p["b2"]


def test_shapes_are_inferred(rng):
    g = build_mlp(rng)
    assert g["h"].shape == (8, 32) and g["h"].dtype == "f32"
    assert g["y"].shape == (8, 16)
    assert [t.name for t in g.outputs] == ["y"]


def test_megatron_plan_has_one_all_reduce(rng):
    g = build_mlp(rng)
    pt.annotate(g, {"w1": P(None, "model"), "b1": P("model"), "w2": P("model", None)})
    c = pt.compile(g, mesh=pt.Mesh({"model": 2}))
    plan = c.plan
    assert plan.count("all_reduce") == 1, plan.text
    assert plan["h"].spec.axes() == ["model"] and plan["h"].local_shape == (8, 16)
    r = plan.collectives[0]
    assert r.collective == "all_reduce" and r.axes == ("model",)
    assert r.dtype == "f32" and r.bytes == 8 * 16 * 4 and r.group_size == 2
    assert r.sent_bytes == r.local_bytes  # ring all-reduce: 2 (n-1)/n with n = 2
    assert plan["y"].replicated
    # The stages are all there.
    assert "graph.matmul" in c.mlir("imported")
    assert "sharding.constraint" in c.mlir("annotated")
    assert "sharding.shardings" in c.mlir("propagated")


def test_data_parallel_plan_has_no_collectives(rng):
    g = build_mlp(rng)
    pt.shard(g["x"], P("data", None))
    c = pt.compile(g, mesh={"data": 2})
    assert c.plan.reshards == []
    assert c.plan["y"].spec == P("data", None)
    assert c.plan["w1"].replicated
    assert c.plan["y"].block(1) == (slice(4, 8), slice(0, 16))


def test_run_matches_numpy(rng):
    g = build_mlp(rng)
    pt.annotate(g, {"w1": P(None, "model"), "w2": P("model", None)})
    c = pt.compile(g, mesh=pt.Mesh({"model": 2}))
    x = rng.standard_normal((8, 16)).astype(np.float32)
    (y,) = c.run({"x": x})
    assert y.dtype == np.float32 and y.shape == (8, 16)
    np.testing.assert_allclose(y, reference(g, x), rtol=1e-5, atol=1e-5)
    # List inputs and float64 arrays (cast like numpy's same_kind) work too.
    (y2,) = c.run([x.astype(np.float64)])
    np.testing.assert_allclose(y2, y)
    assert "llvm.func" in c.mlir("lowered")


def test_run_without_mesh(rng):
    g = build_mlp(rng)
    c = pt.compile(g)
    assert c.plan is None
    x = rng.standard_normal((8, 16)).astype(np.float32)
    np.testing.assert_allclose(c.run(x)[0], reference(g, x), rtol=1e-5, atol=1e-5)


def test_priorities_pick_the_winner(rng):
    g = pt.Graph("conflict")
    x = g.input("x", (8, 8))
    y = pt.ops.relu(x, name="y")
    g.output(y * 2.0, "z")
    # Two conflicting closed annotations meet at relu; priority 0 wins.
    pt.annotate(g, {"x": P("a", None, priority=1), "y": P(None, "a", priority=0)})
    plan = pt.compile(g, mesh={"a": 2}).plan
    assert plan["y"].spec == P(None, "a")
    assert [r.tensor for r in plan.reshards] == ["x"]


def test_open_dims_and_multi_axis(rng):
    g = pt.Graph("multi")
    x = g.input("x", (8, 4))
    g.output(pt.ops.exp(x), "y")
    pt.shard(x, P(("data", "model"), pt.OPEN))
    plan = pt.compile(g, mesh={"data": 2, "model": 2}).plan
    assert plan["x"].local_shape == (2, 4)
    assert plan["y"].spec == P(("data", "model"), None)
    blocks = plan["x"].blocks()
    assert blocks[((6, 8), (0, 4))] == [3]


def test_dtensor_placements(rng):
    g = pt.Graph("dt", mesh={"data": 2, "model": 2})
    x = g.input("x", (8, 4))
    g.output(pt.ops.tanh(x), "y")
    pt.shard(x, [pt.Shard(0), pt.Replicate()])
    plan = pt.compile(g).plan
    assert plan["x"].spec == P("data", None)


def test_ops_cover_the_dialect(rng):
    """A graph through many op families, run against numpy."""
    g = pt.Graph("many")
    x = g.input("x", (2, 3, 4))
    i = g.input("i", (2,), "i64")
    o = pt.ops
    outs = {
        "sm": o.softmax(x, axis=1),
        "ln": o.layer_norm(x, g.param("s", np.full(4, 2.0, np.float32))),
        "tr": o.transpose(x, (2, 0, 1)),
        "rs": x.reshape(6, 4),
        "sum": o.sum(x, axis=-1),
        "mean": x.mean(axis=(0, 2), keepdims=True),
        "mx": o.reduce_max(x, axis=1),
        "am": o.argmax(x, axis=2),
        "cat": o.concat([x, x], axis=0),
        "sl": x[:, 1:, ::2],
        "ga": o.gather(x, i, axis=1),
        "wh": o.where(x > 0.0, x, -x),
        "sq": o.sqrt(abs(x) + 1.0),
        "cl": o.clip(x, -0.5, 0.5),
        "cs": o.cumsum(x, 2),
        "ps": 2.0 - x / 4.0,
        "pw": x ** 2.0,
        "cast": o.cast(x, "i32"),
    }
    s0, s1 = o.split(x, [1, 3], axis=2)
    outs["s1"] = s1
    vals, idx = o.topk(x, 2, axis=-1)
    outs["tv"] = vals
    for n, t in outs.items():
        g.output(t, n)
    xv = rng.standard_normal((2, 3, 4)).astype(np.float32)
    iv = np.array([2, 0], np.int64)
    res = dict(zip(outs, pt.compile(g).run({"x": xv, "i": iv})))
    e = np.exp(xv - xv.max(1, keepdims=True))
    mu, var = xv.mean(-1, keepdims=True), xv.var(-1, keepdims=True)
    want = {
        "sm": e / e.sum(1, keepdims=True),
        "ln": (xv - mu) / np.sqrt(var + 1e-5) * 2.0,
        "tr": xv.transpose(2, 0, 1), "rs": xv.reshape(6, 4), "sum": xv.sum(-1),
        "mean": xv.mean((0, 2), keepdims=True), "mx": xv.max(1), "am": xv.argmax(2),
        "cat": np.concatenate([xv, xv]), "sl": xv[:, 1:, ::2], "ga": xv[:, iv],
        "wh": np.abs(xv), "sq": np.sqrt(np.abs(xv) + 1), "cl": np.clip(xv, -0.5, 0.5),
        "cs": np.cumsum(xv, 2), "ps": 2 - xv / 4, "pw": xv ** 2,
        "cast": xv.astype(np.int32), "s1": xv[:, :, 1:],
        "tv": -np.sort(-xv, -1)[..., :2],
    }
    for n, w in want.items():
        np.testing.assert_allclose(res[n], w, rtol=1e-5, atol=1e-5, err_msg=n)
    assert res["am"].dtype == np.int64 and res["cast"].dtype == np.int32
